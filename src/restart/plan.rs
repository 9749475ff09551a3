//! From the command line to an ordered plan: [`resolve`] reads the targets (names, `-l`, `--all`,
//! `--pods`) and what preflight needs, in parallel (the API calls; a refused list is returned as
//! [`Skipped`], never printed); [`steps`] (pure) turns them into the ordered steps with preflight's
//! findings; [`describe`] says what each step will do and the disruption to expect.

use futures::future::try_join_all;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::api::ListParams;
use kube::Api;

use super::model::PlanRow;
use super::model::PreflightFinding;
use super::options::Options;
use super::preflight;
use crate::diagnose::context::Restart;
use crate::diagnose::{KubeVersion, Related, RelatedIndex};
use crate::workload::{Object, Strategy};
use tokio::time::Instant;

use super::api::{self, Contact, Stop};
use crate::client::Kube;
use crate::error::{Error, Result};
use crate::target::{Kind, Target};

/// What one step restarts.
#[derive(Debug, Clone)]
pub(crate) enum Subject {
    Workload(Box<Object>),
    Pod(Box<Pod>),
}

#[derive(Debug, Clone)]
pub(crate) struct Step {
    pub target: Target,
    /// The namespace the target lives in.
    pub ns: String,
    /// The run's default namespace (`-n`, else the context's): targets elsewhere are shown qualified.
    pub home: String,
    pub subject: Subject,
    pub findings: Vec<PreflightFinding>,
}

impl Step {
    /// `deploy/web`, or `shop/deploy/web` outside the run's default namespace (the form `restart` accepts).
    pub(crate) fn display(&self) -> String {
        if self.ns == self.home {
            self.target.to_string()
        } else {
            format!("{}/{}", self.ns, self.target)
        }
    }

    pub(crate) fn strategy(&self) -> &'static str {
        match &self.subject {
            Subject::Workload(w) => w.strategy().name(),
            Subject::Pod(_) => "Eviction",
        }
    }

    pub(crate) fn pods(&self) -> i32 {
        match &self.subject {
            Subject::Workload(w) => w.expected_new(),
            Subject::Pod(_) => 1,
        }
    }
}

/// What the step will do and the disruption to expect (pure).
pub(crate) fn describe(step: &Step) -> (String, String) {
    match &step.subject {
        Subject::Pod(p) => {
            let bare = crate::workload::owner::controller_of(&p.metadata).is_none();
            if bare {
                (
                    "evict (Eviction API), create it again, wait until Ready".into(),
                    "this pod is down until it runs again (no controller)".into(),
                )
            } else {
                (
                    "evict (Eviction API, PDBs honoured), wait for its replacement to be Ready"
                        .into(),
                    "one pod, until its replacement is Ready".into(),
                )
            }
        }
        Subject::Workload(w) => {
            let n = w.expected_new();
            let total = w.desired();
            // Only the rolling arms below read them.
            let (surge, unav) = w.surge_unavailable().unwrap_or((0, 1));
            match (w.kind(), w.strategy()) {
                (_, Strategy::Recreate) => (
                    format!("patch restartedAt; the controller stops all {total} pods, then starts new ones"),
                    format!("downtime: all {total} pods stop before new ones start"),
                ),
                (_, Strategy::OnDelete) => (
                    format!("patch restartedAt; evict the {n} pods one at a time (Eviction API, PDBs honoured), each replacement Ready before the next"),
                    format!("1 of {total} pods at a time, until its replacement is Ready"),
                ),
                (Kind::StatefulSet, _) => {
                    let p = w.partition();
                    let which = if p > 0 {
                        format!("pods {}..{p} (partition {p}: lower ordinals keep the old template)", total - 1)
                    } else {
                        format!("pods {}..0", total - 1)
                    };
                    (
                        format!("patch restartedAt; the controller replaces {which}, highest ordinal first"),
                        format!("{unav} pod{} of {total} at a time, until its replacement is Ready", if unav == 1 { "" } else { "s" }),
                    )
                }
                (Kind::DaemonSet, _) => (
                    format!("patch restartedAt; the controller replaces the pod on each of {total} nodes"),
                    if surge > 0 {
                        "none: each node's new pod starts before the old one stops".into()
                    } else {
                        format!("{unav} node{} at a time without its pod", if unav == 1 { "" } else { "s" })
                    },
                ),
                _ => (
                    format!("patch restartedAt; the controller rolls {total} pods (maxSurge {surge}, maxUnavailable {unav})"),
                    if unav == 0 {
                        format!("none: up to {surge} extra pod{} at a time", if surge == 1 { "" } else { "s" })
                    } else {
                        format!("up to {unav} of {total} pods unavailable at a time")
                    },
                ),
            }
        }
    }
}

pub(crate) fn plan_rows(steps: &[Step]) -> Vec<PlanRow> {
    steps
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let (action, disruption) = describe(s);
            PlanRow {
                order: i + 1,
                target: s.display(),
                strategy: s.strategy().to_string(),
                pods: s.pods(),
                action,
                disruption,
                findings: s.findings.clone(),
            }
        })
        .collect()
}

/// Gets one workload; the request must be answered by `deadline`.
pub(crate) async fn get_workload(
    kube: &Kube,
    contact: &Contact,
    deadline: Instant,
    kind: Kind,
    ns: &str,
    name: &str,
) -> Result<Object, Stop> {
    let what = format!("{} {name}", kind.lower());
    let get = crate::workload::fetch::get(&kube.client, kind, ns, name);
    api::call(kube, contact, deadline, ("get", &what, Some(ns)), get).await
}

/// An API over one namespace, or every namespace (`-A`).
fn scoped<K>(kube: &Kube, ns: Option<&str>) -> Api<K>
where
    K: kube::Resource<Scope = kube::core::NamespaceResourceScope>,
    <K as kube::Resource>::DynamicType: Default,
{
    match ns {
        Some(ns) => Api::namespaced(kube.client.clone(), ns),
        None => Api::all(kube.client.clone()),
    }
}

/// What preflight reads, bounded by one deadline.
struct Gather<'a> {
    kube: &'a Kube,
    contact: &'a Contact,
    deadline: Instant,
    /// The lists that were refused or not served: their checks are skipped.
    skipped: std::sync::Mutex<Vec<Skipped>>,
}

/// A list preflight could not read (403, or an API the server does not serve): the checks that need it
/// are skipped, which the run says ([`super::render::preflight_skipped`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Skipped {
    /// The resource (`poddisruptionbudgets`).
    pub what: String,
    /// The namespace listed; None for all namespaces.
    pub namespace: Option<String>,
    /// The error, as one line.
    pub error: String,
}

/// What [`resolve`] found: the ordered steps (or why there are none) and what preflight could not read.
pub(crate) struct Resolved {
    pub steps: Result<Vec<Step>, Stop>,
    pub skipped: Vec<Skipped>,
}

impl Gather<'_> {
    async fn list<K>(&self, what: &str, ns: Option<&str>, lp: &ListParams) -> Result<Vec<K>, Stop>
    where
        K: kube::Resource<Scope = kube::core::NamespaceResourceScope>
            + Clone
            + serde::de::DeserializeOwned
            + std::fmt::Debug,
        <K as kube::Resource>::DynamicType: Default,
    {
        let api: Api<K> = scoped(self.kube, ns);
        Ok(api::call(
            self.kube,
            self.contact,
            self.deadline,
            ("list", what, ns),
            api.list(lp),
        )
        .await?
        .items)
    }

    async fn workloads(
        &self,
        ns: Option<&str>,
        selector: Option<&str>,
    ) -> Result<Vec<Object>, Stop> {
        let lp = match selector {
            Some(s) => ListParams::default().labels(s),
            None => ListParams::default(),
        };
        let (d, s, ds) = futures::try_join!(
            self.list::<Deployment>("deployments", ns, &lp),
            self.list::<StatefulSet>("statefulsets", ns, &lp),
            self.list::<DaemonSet>("daemonsets", ns, &lp),
        )?;
        let mut out: Vec<Object> = d.into_iter().map(Object::Deployment).collect();
        out.extend(s.into_iter().map(Object::StatefulSet));
        out.extend(ds.into_iter().map(Object::DaemonSet));
        Ok(out)
    }

    /// A namespace's (or every namespace's) PDBs and HPAs for preflight; a 403 is recorded as skipped.
    async fn policy(
        &self,
        ns: Option<&str>,
    ) -> Result<(Vec<PodDisruptionBudget>, Vec<HorizontalPodAutoscaler>), Stop> {
        let lp = ListParams::default();
        let (pdbs, hpas) = futures::join!(
            self.list::<PodDisruptionBudget>("poddisruptionbudgets", ns, &lp),
            self.list::<HorizontalPodAutoscaler>("horizontalpodautoscalers", ns, &lp),
        );
        Ok((
            self.degrade(pdbs, "poddisruptionbudgets", ns)?,
            self.degrade(hpas, "horizontalpodautoscalers", ns)?,
        ))
    }

    /// A refused (403) or unserved (404) list becomes an empty one, recorded in `skipped`; other
    /// errors stop the run.
    fn degrade<T>(
        &self,
        r: Result<Vec<T>, Stop>,
        what: &str,
        ns: Option<&str>,
    ) -> Result<Vec<T>, Stop> {
        match degraded(r, what, ns) {
            Ok((items, None)) => Ok(items),
            Ok((items, Some(s))) => {
                if let Ok(mut v) = self.skipped.lock() {
                    v.push(s);
                }
                Ok(items)
            }
            Err(e) => Err(e),
        }
    }
}

/// The list, or an empty one and what was skipped when the list was refused or is not served.
fn degraded<T>(
    r: Result<Vec<T>, Stop>,
    what: &str,
    ns: Option<&str>,
) -> Result<(Vec<T>, Option<Skipped>), Stop> {
    match r {
        Err(Stop::Error(e)) if e.is_forbidden() || e.is_not_found() => Ok((
            Vec::new(),
            Some(Skipped {
                what: what.to_string(),
                namespace: ns.map(str::to_string),
                error: e.to_string(),
            }),
        )),
        r => r.map(|items| (items, None)),
    }
}

fn ns_of(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta, home: &str) -> String {
    meta.namespace.clone().unwrap_or_else(|| home.to_string())
}

/// Resolves the targets into ordered steps, with their preflight findings. `home`: the default namespace.
/// Every request must be answered by `deadline`. What could not be read is returned even when resolving
/// fails (it may be why).
pub(crate) async fn resolve(
    kube: &Kube,
    contact: &Contact,
    deadline: Instant,
    home: &str,
    o: &Options,
) -> Resolved {
    let g = Gather {
        kube,
        contact,
        deadline,
        skipped: std::sync::Mutex::new(Vec::new()),
    };
    let steps = resolve_steps(&g, home, o).await;
    Resolved {
        steps,
        skipped: g.skipped.into_inner().unwrap_or_default(),
    }
}

async fn resolve_steps(g: &Gather<'_>, home: &str, o: &Options) -> Result<Vec<Step>, Stop> {
    let kube = g.kube;
    let (contact, deadline) = (g.contact, g.deadline);
    // The namespaces involved: every one with -A, else the default and those named in targets.
    let scope: Option<Vec<String>> = if o.all_namespaces {
        None
    } else {
        let mut v = vec![home.to_string()];
        for (ns, _) in &o.targets {
            if let Some(ns) = ns {
                if !v.contains(ns) {
                    v.push(ns.clone());
                }
            }
        }
        if o.targets.iter().all(|(ns, _)| ns.is_some()) && !o.targets.is_empty() {
            v.retain(|n| o.targets.iter().any(|(ns, _)| ns.as_deref() == Some(n)));
        }
        Some(v)
    };
    let listed_ns = if o.all_namespaces { None } else { Some(home) };
    let subjects_fut = async {
        if o.pods {
            if let Some(sel) = &o.selector {
                let lp = ListParams::default().labels(sel);
                let mut pods: Vec<Pod> = g
                    .list::<Pod>(&format!("pods -l {sel}"), listed_ns, &lp)
                    .await?
                    .into_iter()
                    .filter(|p| p.metadata.deletion_timestamp.is_none())
                    .collect();
                pods.sort_by(|a, b| {
                    (&a.metadata.namespace, &a.metadata.name)
                        .cmp(&(&b.metadata.namespace, &b.metadata.name))
                });
                return Ok::<_, Stop>(
                    pods.into_iter()
                        .map(|p| Subject::Pod(Box::new(p)))
                        .collect::<Vec<_>>(),
                );
            }
        }
        if o.selector.is_some() || o.all {
            let mut ws = g.workloads(listed_ns, o.selector.as_deref()).await?;
            ws.sort_by(|a, b| {
                (&a.meta().namespace, a.kind(), a.name()).cmp(&(
                    &b.meta().namespace,
                    b.kind(),
                    b.name(),
                ))
            });
            return Ok(ws
                .into_iter()
                .map(|w| Subject::Workload(Box::new(w)))
                .collect());
        }
        try_join_all(o.targets.iter().map(|(ns, t)| async move {
            let ns = ns.as_deref().unwrap_or(home);
            Ok::<_, Stop>(match t.kind {
                Kind::Pod => {
                    let api: Api<Pod> = Api::namespaced(kube.client.clone(), ns);
                    Subject::Pod(Box::new(
                        api::call(
                            kube,
                            contact,
                            deadline,
                            ("get", &format!("pod {}", t.name), Some(ns)),
                            api.get(&t.name),
                        )
                        .await?,
                    ))
                }
                k => Subject::Workload(Box::new(
                    get_workload(kube, contact, deadline, k, ns, &t.name).await?,
                )),
            })
        }))
        .await
    };
    let wants_pods = o.pods || o.targets.iter().any(|(_, t)| t.kind == Kind::Pod);
    // PDBs, HPAs and (for evictions of pods) every pod, per namespace involved.
    let policy_fut = async {
        let mut pdbs = Vec::new();
        let mut hpas = Vec::new();
        let mut pods = Vec::new();
        let namespaces: Vec<Option<&str>> = match &scope {
            None => vec![None],
            Some(v) => v.iter().map(|n| Some(n.as_str())).collect(),
        };
        let g = &g;
        let per_ns = try_join_all(namespaces.iter().map(|ns| async move {
            let lp = ListParams::default();
            let (policy, all_pods) = futures::try_join!(g.policy(*ns), async {
                if wants_pods {
                    g.degrade(g.list::<Pod>("pods", *ns, &lp).await, "pods", *ns)
                } else {
                    Ok(Vec::new())
                }
            })?;
            Ok::<_, Stop>((policy, all_pods))
        }))
        .await?;
        for ((p, h), q) in per_ns {
            pdbs.extend(p);
            hpas.extend(h);
            pods.extend(q);
        }
        Ok::<_, Stop>((pdbs, hpas, pods))
    };
    let (subjects, (pdbs, hpas, namespace_pods)) = futures::try_join!(subjects_fut, policy_fut)?;
    if subjects.is_empty() {
        let where_ = if o.all_namespaces {
            "any namespace".to_string()
        } else {
            format!("namespace {home}")
        };
        let what = match &o.selector {
            Some(s) if o.pods => format!("no pods match -l {s} in {where_}"),
            Some(s) => {
                format!("no Deployment, StatefulSet or DaemonSet matches -l {s} in {where_}")
            }
            None => format!("no Deployment, StatefulSet or DaemonSet in {where_}"),
        };
        return Err(Stop::Error(Error::usage(what)));
    }
    Ok(steps(
        subjects,
        Around {
            pdbs,
            hpas,
            namespace_pods,
        },
        home,
    ))
}

/// What surrounds the targets: their namespaces' budgets, autoscalers and (for evictions) pods.
pub(crate) struct Around {
    pub pdbs: Vec<PodDisruptionBudget>,
    pub hpas: Vec<HorizontalPodAutoscaler>,
    pub namespace_pods: Vec<Pod>,
}

/// The steps, in the targets' order, each with preflight's findings on its restart. Pure.
pub(crate) fn steps(subjects: Vec<Subject>, around: Around, home: &str) -> Vec<Step> {
    let Around {
        pdbs,
        hpas,
        namespace_pods,
    } = around;
    // diagnose's matching: each target meets the budgets and autoscalers of its own namespace.
    let related = Related {
        pdbs: Some(pdbs),
        hpas: Some(hpas),
        services: None,
        manual_endpoints: vec![],
    };
    let index = RelatedIndex::new(&related);
    subjects
        .into_iter()
        .map(|s| {
            let (object, ns) = match &s {
                Subject::Workload(w) => ((**w).clone(), ns_of(w.meta(), home)),
                Subject::Pod(p) => (Object::Pod((**p).clone()), ns_of(&p.metadata, home)),
            };
            let target = Target {
                kind: object.kind(),
                name: object.name().to_string(),
            };
            let mut w = object.workload();
            w.namespace.clone_from(&ns);
            let cx = index.context(&w, KubeVersion::DEFAULT);
            let restart = Restart {
                target: target.to_string(),
                object,
                namespace_pods: namespace_pods
                    .iter()
                    .filter(|q| ns_of(&q.metadata, home) == ns)
                    .cloned()
                    .collect(),
            };
            let findings = preflight::check(&w, &cx, &restart);
            Step {
                target,
                ns,
                home: home.to_string(),
                subject: s,
                findings,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_step_meets_what_surrounds_it_in_its_own_namespace() {
        let web = crate::workload::from_yaml(
            "kind: Deployment\nmetadata: {name: web, namespace: shop}\nspec: {replicas: 3, selector: {matchLabels: {app: web}}, template: {metadata: {labels: {app: web}}, spec: {containers: [{name: app, image: x, readinessProbe: {httpGet: {path: /, port: 80}}}]}}}",
        );
        let hpa = |ns: &str| -> HorizontalPodAutoscaler {
            serde_yaml::from_str(&format!(
                "metadata: {{name: web, namespace: {ns}}}\nspec: {{scaleTargetRef: {{kind: Deployment, name: web, apiVersion: apps/v1}}, maxReplicas: 5}}"
            ))
            .unwrap()
        };
        let plan = |hpas: Vec<HorizontalPodAutoscaler>| {
            let around = Around {
                pdbs: vec![],
                hpas,
                namespace_pods: vec![],
            };
            steps(
                vec![Subject::Workload(Box::new(web.clone()))],
                around,
                "default",
            )
        };
        let s = plan(vec![hpa("shop")]);
        assert_eq!((s[0].ns.as_str(), s[0].home.as_str()), ("shop", "default"));
        assert_eq!(s[0].target.to_string(), "deploy/web");
        assert!(s[0].findings.iter().any(|f| f.rule == "hpa-present"));
        // The same name in another namespace scales another Deployment.
        let s = plan(vec![hpa("other")]);
        assert!(!s[0].findings.iter().any(|f| f.rule == "hpa-present"));
    }

    #[test]
    fn a_refused_or_unserved_list_is_skipped_and_other_errors_stop() {
        let forbidden = Stop::Error(Error::Forbidden {
            message: "user u cannot list pods".into(),
        });
        let (items, skipped) = degraded::<Pod>(Err(forbidden), "pods", Some("shop")).unwrap();
        assert!(items.is_empty());
        assert_eq!(
            skipped,
            Some(Skipped {
                what: "pods".into(),
                namespace: Some("shop".into()),
                error: Error::Forbidden {
                    message: "user u cannot list pods".into()
                }
                .to_string(),
            })
        );
        let (items, skipped) = degraded(Ok(vec![1, 2]), "pods", None).unwrap();
        assert_eq!((items, skipped), (vec![1, 2], None));
        let other = Stop::Error(Error::other("boom", "hint"));
        assert!(degraded::<Pod>(Err(other), "pods", None).is_err());
    }
    use crate::workload::from_yaml;

    fn step(yaml: &str) -> Step {
        let w = from_yaml(yaml);
        Step {
            target: Target {
                kind: w.kind(),
                name: w.name().into(),
            },
            ns: "default".into(),
            home: "default".into(),
            subject: Subject::Workload(Box::new(w)),
            findings: vec![],
        }
    }

    #[test]
    fn plan_descriptions() {
        let d = step("kind: Deployment\nmetadata: {name: web}\nspec: {replicas: 4, selector: {}, template: {}}");
        let (action, disruption) = describe(&d);
        assert!(action.contains("maxSurge 1, maxUnavailable 1"), "{action}");
        assert_eq!(disruption, "up to 1 of 4 pods unavailable at a time");
        let d = step("kind: Deployment\nmetadata: {name: web}\nspec: {replicas: 2, strategy: {rollingUpdate: {maxUnavailable: 0}}, selector: {}, template: {}}");
        assert_eq!(describe(&d).1, "none: up to 1 extra pod at a time");
        let s = step("kind: StatefulSet\nmetadata: {name: db}\nspec: {replicas: 3, updateStrategy: {rollingUpdate: {partition: 1}}, selector: {}, template: {}}");
        assert!(
            describe(&s).0.contains("pods 2..1 (partition 1"),
            "{}",
            describe(&s).0
        );
        assert_eq!(plan_rows(&[d, s])[1].pods, 2);
        let o = step("kind: DaemonSet\nmetadata: {name: a}\nspec: {updateStrategy: {type: OnDelete}, selector: {}, template: {}}\nstatus: {desiredNumberScheduled: 2, currentNumberScheduled: 2, numberMisscheduled: 0, numberReady: 2}");
        assert!(describe(&o).0.contains("evict the 2 pods one at a time"));
    }
}
