//! From the command line to an ordered plan: resolve targets (names, `-l`, `--all`, `--pods`), gather what
//! preflight needs (in parallel), and describe each step (what it will do, the disruption to expect).

use std::time::Duration;

use futures::future::try_join_all;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::api::ListParams;
use kube::Api;

use super::preflight::{self, surge_unavailable, Finding};
use super::render::PlanRow;
use super::workload::{Strategy, Workload};
use crate::cli::{OutputFormat, RestartArgs};
use crate::client::Kube;
use crate::error::{Error, Result};
use crate::settings::{parse_duration, parse_duration_opt};
use crate::target::{Kind, Target};

/// Validated options.
#[derive(Debug, Clone)]
pub struct Options {
    pub targets: Vec<Target>,
    pub selector: Option<String>,
    pub all: bool,
    pub pods: bool,
    pub parallel: usize,
    pub stable_for: Option<Duration>,
    pub timeout: Duration,
    pub dry_run: bool,
    pub force: bool,
    pub rollback: bool,
}

/// The target kinds `restart` accepts.
pub const KINDS: &[Kind] = &[
    Kind::Deployment,
    Kind::StatefulSet,
    Kind::DaemonSet,
    Kind::Pod,
];

impl Options {
    pub fn from_args(a: &RestartArgs) -> Result<Options> {
        let targets = a
            .targets
            .iter()
            .map(|t| Target::parse(t, None, KINDS))
            .collect::<Result<Vec<_>>>()?;
        if let Some(s) = &a.selector {
            crate::selector::Selector::parse(s)?;
        }
        let sources = [!targets.is_empty(), a.selector.is_some(), a.all]
            .iter()
            .filter(|b| **b)
            .count();
        if sources == 0 {
            return Err(Error::usage(
                "nothing to restart: name targets (deploy/NAME sts/NAME ds/NAME pod/NAME), or use -l SELECTOR or --all",
            ));
        }
        if sources > 1 {
            return Err(Error::usage(
                "use either TARGETs, -l SELECTOR or --all, not several of them",
            ));
        }
        if a.pods
            && a.selector.is_none()
            && (targets.is_empty() || targets.iter().any(|t| t.kind != Kind::Pod))
        {
            return Err(Error::usage(
                "--pods replaces pods selected with -l SELECTOR (or pod/NAME targets); with workload targets, drop --pods",
            ));
        }
        if a.parallel == 0 {
            return Err(Error::usage("--parallel must be at least 1"));
        }
        if a.output == OutputFormat::Yaml {
            return Err(Error::usage(
                "restart reports a stream of events: use -o json (one event per line), or the default table",
            ));
        }
        let timeout = parse_duration(&a.timeout, "--timeout")?;
        if timeout.is_zero() {
            return Err(Error::usage(
                "--timeout must be positive (e.g. 5m): a restart never waits forever",
            ));
        }
        let stable_for = match &a.stable_for {
            Some(s) => parse_duration_opt(s, "--stable-for")?,
            None => None,
        };
        const LONGEST: Duration = Duration::from_secs(7 * 24 * 3600);
        for (flag, d) in [("--timeout", Some(timeout)), ("--stable-for", stable_for)] {
            if d.is_some_and(|d| d > LONGEST) {
                return Err(Error::usage(format!("{flag} may be at most 7 days")));
            }
        }
        let mut seen = Vec::new();
        for t in &targets {
            if seen.contains(t) {
                return Err(Error::usage(format!("{t} is named twice")));
            }
            seen.push(t.clone());
        }
        Ok(Options {
            targets,
            selector: a.selector.clone(),
            all: a.all,
            pods: a.pods,
            parallel: a.parallel,
            stable_for,
            timeout,
            dry_run: a.dry_run,
            force: a.force,
            rollback: a.rollback_on_failure,
        })
    }
}

/// What one step restarts.
#[derive(Debug, Clone)]
pub enum Subject {
    Workload(Box<Workload>),
    Pod(Box<Pod>),
}

#[derive(Debug, Clone)]
pub struct Step {
    pub target: Target,
    pub subject: Subject,
    pub findings: Vec<Finding>,
}

impl Step {
    pub fn display(&self) -> String {
        self.target.to_string()
    }

    pub fn strategy(&self) -> &'static str {
        match &self.subject {
            Subject::Workload(w) => w.strategy().as_str(),
            Subject::Pod(_) => "Eviction",
        }
    }

    pub fn pods(&self) -> i32 {
        match &self.subject {
            Subject::Workload(w) => w.expected_new(),
            Subject::Pod(_) => 1,
        }
    }
}

/// What the step will do and the disruption to expect (pure).
pub fn describe(step: &Step) -> (String, String) {
    match &step.subject {
        Subject::Pod(p) => {
            let bare = crate::meta::controller_of(&p.metadata).is_none();
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
            let (surge, unav) = surge_unavailable(w);
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

pub fn plan_rows(steps: &[Step]) -> Vec<PlanRow> {
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

/// Gets one workload.
pub async fn get_workload(kube: &Kube, kind: Kind, ns: &str, name: &str) -> Result<Workload> {
    let what = format!("{} {name}", kind.lower());
    let c = kube.client.clone();
    Ok(match kind {
        Kind::StatefulSet => Workload::StatefulSet(
            kube.call("get", &what, Some(ns), Api::namespaced(c, ns).get(name))
                .await?,
        ),
        Kind::DaemonSet => Workload::DaemonSet(
            kube.call("get", &what, Some(ns), Api::namespaced(c, ns).get(name))
                .await?,
        ),
        _ => Workload::Deployment(
            kube.call("get", &what, Some(ns), Api::namespaced(c, ns).get(name))
                .await?,
        ),
    })
}

async fn list_workloads(kube: &Kube, ns: &str, selector: Option<&str>) -> Result<Vec<Workload>> {
    let lp = match selector {
        Some(s) => ListParams::default().labels(s),
        None => ListParams::default(),
    };
    let c = || kube.client.clone();
    let (da, sa, dsa) = (
        Api::<Deployment>::namespaced(c(), ns),
        Api::<StatefulSet>::namespaced(c(), ns),
        Api::<DaemonSet>::namespaced(c(), ns),
    );
    let (d, s, ds) = futures::try_join!(
        kube.call("list", "deployments", Some(ns), da.list(&lp)),
        kube.call("list", "statefulsets", Some(ns), sa.list(&lp)),
        kube.call("list", "daemonsets", Some(ns), dsa.list(&lp)),
    )?;
    let mut out: Vec<Workload> = d.items.into_iter().map(Workload::Deployment).collect();
    out.extend(s.items.into_iter().map(Workload::StatefulSet));
    out.extend(ds.items.into_iter().map(Workload::DaemonSet));
    Ok(out)
}

/// Lists a namespace's PDBs and HPAs for preflight; a 403 degrades to a warning (and no check).
async fn policy_objects(
    kube: &Kube,
    ns: &str,
) -> Result<(Vec<PodDisruptionBudget>, Vec<HorizontalPodAutoscaler>)> {
    let lp = ListParams::default();
    let pa = Api::<PodDisruptionBudget>::namespaced(kube.client.clone(), ns);
    let ha = Api::<HorizontalPodAutoscaler>::namespaced(kube.client.clone(), ns);
    let (pdbs, hpas) = futures::join!(
        kube.call("list", "poddisruptionbudgets", Some(ns), pa.list(&lp)),
        kube.call("list", "horizontalpodautoscalers", Some(ns), ha.list(&lp)),
    );
    Ok((
        degrade(pdbs, "poddisruptionbudgets", ns)?,
        degrade(hpas, "horizontalpodautoscalers", ns)?,
    ))
}

fn degrade<T: Clone>(r: Result<kube::api::ObjectList<T>>, what: &str, ns: &str) -> Result<Vec<T>> {
    match r {
        Ok(l) => Ok(l.items),
        Err(e) if e.is_forbidden() || e.is_not_found() => {
            crate::output::warn(&format!(
                "cannot list {what} in {ns} ({e}); preflight skips its {what} checks"
            ));
            Ok(Vec::new())
        }
        Err(e) => Err(e),
    }
}

/// Resolves the targets into ordered steps, with their preflight findings.
pub async fn resolve(kube: &Kube, ns: &str, o: &Options) -> Result<Vec<Step>> {
    let pods_api: Api<Pod> = Api::namespaced(kube.client.clone(), ns);
    let subjects_fut = async {
        if o.pods {
            if let Some(sel) = &o.selector {
                let list = kube
                    .call(
                        "list",
                        &format!("pods -l {sel}"),
                        Some(ns),
                        pods_api.list(&ListParams::default().labels(sel)),
                    )
                    .await?;
                let mut pods: Vec<Pod> = list
                    .items
                    .into_iter()
                    .filter(|p| p.metadata.deletion_timestamp.is_none())
                    .collect();
                pods.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
                return Ok::<_, Error>(
                    pods.into_iter()
                        .map(|p| Subject::Pod(Box::new(p)))
                        .collect::<Vec<_>>(),
                );
            }
        }
        if o.selector.is_some() || o.all {
            let mut ws = list_workloads(kube, ns, o.selector.as_deref()).await?;
            ws.sort_by(|a, b| (a.kind(), a.name()).cmp(&(b.kind(), b.name())));
            return Ok(ws
                .into_iter()
                .map(|w| Subject::Workload(Box::new(w)))
                .collect());
        }
        let pods_api = &pods_api;
        try_join_all(o.targets.iter().map(|t| async move {
            Ok::<_, Error>(match t.kind {
                Kind::Pod => Subject::Pod(Box::new(
                    kube.call(
                        "get",
                        &format!("pod {}", t.name),
                        Some(ns),
                        pods_api.get(&t.name),
                    )
                    .await?,
                )),
                k => Subject::Workload(Box::new(get_workload(kube, k, ns, &t.name).await?)),
            })
        }))
        .await
    };
    let wants_pods = o.pods || o.targets.iter().any(|t| t.kind == Kind::Pod);
    let namespace_pods = async {
        if !wants_pods {
            return Ok(Vec::new());
        }
        let all = kube
            .call(
                "list",
                "pods",
                Some(ns),
                pods_api.list(&ListParams::default()),
            )
            .await;
        degrade(all, "pods", ns)
    };
    let (subjects, (pdbs, hpas), namespace_pods) =
        futures::try_join!(subjects_fut, policy_objects(kube, ns), namespace_pods)?;
    if subjects.is_empty() {
        let what = match &o.selector {
            Some(s) if o.pods => format!("no pods match -l {s} in namespace {ns}"),
            Some(s) => {
                format!("no Deployment, StatefulSet or DaemonSet matches -l {s} in namespace {ns}")
            }
            None => format!("no Deployment, StatefulSet or DaemonSet in namespace {ns}"),
        };
        return Err(Error::usage(what));
    }
    Ok(subjects
        .into_iter()
        .map(|s| {
            let (target, findings) = match &s {
                Subject::Workload(w) => {
                    let t = Target {
                        kind: w.kind(),
                        name: w.name().to_string(),
                    };
                    let f = preflight::check_workload(w, &t.to_string(), &pdbs, &hpas);
                    (t, f)
                }
                Subject::Pod(p) => (
                    Target {
                        kind: Kind::Pod,
                        name: p.metadata.name.clone().unwrap_or_default(),
                    },
                    preflight::check_pods(std::slice::from_ref(p), &pdbs, &namespace_pods),
                ),
            };
            Step {
                target,
                subject: s,
                findings,
            }
        })
        .collect())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::restart::workload::from_yaml;

    /// `restart EXTRA…` parsed as the command line would be.
    pub(crate) fn args(extra: &[&str]) -> RestartArgs {
        use clap::Parser;
        let mut v = vec!["kubectl-graceful", "restart"];
        v.extend_from_slice(extra);
        match crate::cli::Cli::try_parse_from(v).unwrap().command {
            crate::cli::Command::Restart(a) => a,
            _ => unreachable!(),
        }
    }

    #[test]
    fn option_validation() {
        let o = Options::from_args(&args(&["deploy/a", "sts/b", "ds/c", "--stable-for", "30s"]))
            .unwrap();
        assert_eq!(o.targets.len(), 3);
        assert_eq!(o.stable_for, Some(Duration::from_secs(30)));
        assert_eq!(o.timeout, Duration::from_secs(300));
        for (bad, needle) in [
            (vec![], "nothing to restart"),
            (vec!["deploy/a", "-l", "app=x"], "either"),
            (vec!["deploy/a", "--pods"], "--pods"),
            (vec!["--all", "--pods"], "--pods"),
            (vec!["deploy/a", "--parallel", "0"], "--parallel"),
            (vec!["deploy/a", "-o", "yaml"], "-o json"),
            (vec!["deploy/a", "--timeout", "0"], "--timeout"),
            (
                vec!["deploy/a", "--timeout", "100000000000h"],
                "at most 7 days",
            ),
            (vec!["deploy/a", "--stable-for", "30d"], "at most 7 days"),
            (vec!["deploy/a", "deploy/a"], "twice"),
            (vec!["job/a"], "not supported"),
        ] {
            let e = Options::from_args(&args(&bad)).unwrap_err().to_string();
            assert!(e.contains(needle), "{bad:?}: {e}");
        }
    }

    fn step(yaml: &str) -> Step {
        let w = from_yaml(yaml);
        Step {
            target: Target {
                kind: w.kind(),
                name: w.name().into(),
            },
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
