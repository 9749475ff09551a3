//! The `Workload` model every rule runs over: one shape for Deployments, StatefulSets, DaemonSets,
//! ReplicaSets, Jobs, CronJobs and bare Pods, live or from manifests, plus the PodDisruptionBudgets,
//! HorizontalPodAutoscalers and Services related to it and the Kubernetes version to advise for.

use std::collections::BTreeMap;
use std::fmt;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::batch::v1::{CronJob, Job, JobSpec};
use k8s_openapi::api::core::v1::{Pod, PodSpec, PodTemplateSpec, Service};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde::Serialize;

use crate::selector::Selector;
use crate::target::Kind;

/// A Kubernetes `major.minor` version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct KubeVersion {
    pub major: u32,
    pub minor: u32,
}

impl KubeVersion {
    /// The version assumed offline without `--kube-version`.
    pub const DEFAULT: KubeVersion = KubeVersion {
        major: 1,
        minor: 33,
    };

    pub const fn new(major: u32, minor: u32) -> Self {
        KubeVersion { major, minor }
    }

    /// Parses `v1.33.2`, `1.29`, `v1.30.1-gke.100`, `1.28+`.
    pub fn parse(s: &str) -> Option<KubeVersion> {
        let s = s.trim().trim_start_matches(['v', 'V']);
        let mut parts = s.split('.');
        let major = digits(parts.next()?)?;
        let minor = digits(parts.next()?)?;
        Some(KubeVersion { major, minor })
    }

    pub fn at_least(self, major: u32, minor: u32) -> bool {
        self >= KubeVersion::new(major, minor)
    }
}

fn digits(s: &str) -> Option<u32> {
    let d: String = s.chars().take_while(|c| c.is_ascii_digit()).collect();
    d.parse().ok()
}

impl fmt::Display for KubeVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// How a workload replaces its pods.
#[derive(Debug, Clone, PartialEq)]
pub enum Strategy {
    /// Deployment `RollingUpdate` (defaults 25%/25%), DaemonSet (0/1), StatefulSet (surge always 0).
    RollingUpdate {
        max_surge: IntOrString,
        max_unavailable: IntOrString,
        /// Whether the user wrote the values (false = API defaults).
        explicit: bool,
    },
    /// Deployment `Recreate`: every old pod goes before any new one starts.
    Recreate,
    /// StatefulSet/DaemonSet `OnDelete`: nothing rolls until pods are deleted.
    OnDelete,
    /// Pods, ReplicaSets, Jobs, CronJobs: no rollout.
    None,
}

/// PDBs, HPAs and Services of a namespace (or several), before matching. `None` = could not be read.
#[derive(Debug, Clone, Default)]
pub struct Related {
    pub pdbs: Option<Vec<PodDisruptionBudget>>,
    pub hpas: Option<Vec<HorizontalPodAutoscaler>>,
    pub services: Option<Vec<Service>>,
}

/// [`Related`] with each selector parsed once: (namespace, selector or None = selects nothing, index).
pub struct RelatedIndex<'a> {
    related: &'a Related,
    pdbs: Option<Vec<(&'a str, Option<Selector>, usize)>>,
    services: Option<Vec<(&'a str, Option<Selector>, usize)>>,
}

impl<'a> RelatedIndex<'a> {
    pub fn new(related: &'a Related) -> Self {
        RelatedIndex {
            related,
            // A PDB with a nil selector selects nothing; an empty one selects every pod (policy/v1).
            pdbs: related.pdbs.as_ref().map(|all| {
                all.iter()
                    .enumerate()
                    .map(|(i, p)| {
                        let sel = p
                            .spec
                            .as_ref()
                            .and_then(|s| s.selector.as_ref())
                            .map(Selector::from_label_selector);
                        (p.metadata.namespace.as_deref().unwrap_or(""), sel, i)
                    })
                    .collect()
            }),
            // A Service without a selector (ExternalName, manual endpoints) selects no pods.
            services: related.services.as_ref().map(|all| {
                all.iter()
                    .enumerate()
                    .map(|(i, s)| {
                        let sel = s
                            .spec
                            .as_ref()
                            .and_then(|s| s.selector.as_ref())
                            .filter(|m| !m.is_empty())
                            .map(Selector::from_map);
                        (s.metadata.namespace.as_deref().unwrap_or(""), sel, i)
                    })
                    .collect()
            }),
        }
    }
}

/// One workload, normalised.
#[derive(Debug, Clone)]
pub struct Workload {
    pub kind: Kind,
    pub namespace: String,
    pub name: String,
    /// `file:line` for manifests, `cluster` for live objects.
    pub source: String,
    /// Read from a cluster (true) or from a manifest (false); a dump of served objects (with a
    /// `metadata.uid`, as `kubectl get -o yaml` prints them) counts as read from a cluster.
    pub live: bool,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    /// The controlling owner (`ReplicaSet/web-7d4b9c`), if any.
    pub owner: Option<String>,
    /// The replica count as written or served (None: DaemonSets, Jobs, CronJobs; Deployments default 1).
    pub replicas: Option<i32>,
    /// `spec.replicas` was written in the manifest (or is served).
    pub replicas_set: bool,
    pub strategy: Strategy,
    pub min_ready_seconds: i32,
    pub paused: bool,
    /// `spec.revisionHistoryLimit` (Deployments, StatefulSets, DaemonSets).
    pub revision_history_limit: Option<i32>,
    pub template: PodTemplateSpec,
    /// Jobs and CronJobs: the Job spec (template included).
    pub job: Option<JobSpec>,
    /// PDBs whose selector matches the pod template's labels (None: unknown, could not be read).
    pub pdbs: Option<Vec<PodDisruptionBudget>>,
    /// HPAs whose scaleTargetRef names this workload (None: unknown).
    pub hpas: Option<Vec<HorizontalPodAutoscaler>>,
    /// Services whose selector matches the pod template's labels (None: unknown).
    pub services: Option<Vec<Service>>,
    /// The Kubernetes version advice is for.
    pub version: KubeVersion,
}

fn meta_parts(
    m: &ObjectMeta,
) -> (
    String,
    String,
    BTreeMap<String, String>,
    BTreeMap<String, String>,
) {
    (
        m.namespace.clone().unwrap_or_default(),
        m.name.clone().unwrap_or_default(),
        m.labels.clone().unwrap_or_default(),
        m.annotations.clone().unwrap_or_default(),
    )
}

impl Workload {
    fn base(kind: Kind, meta: &ObjectMeta, template: PodTemplateSpec) -> Workload {
        let (namespace, name, labels, annotations) = meta_parts(meta);
        let owner =
            crate::meta::controller_or_first_owner(meta).map(|o| format!("{}/{}", o.kind, o.name));
        Workload {
            kind,
            namespace,
            name,
            source: "cluster".into(),
            live: true,
            labels,
            annotations,
            owner,
            replicas: None,
            replicas_set: false,
            strategy: Strategy::None,
            min_ready_seconds: 0,
            paused: false,
            revision_history_limit: None,
            template,
            job: None,
            pdbs: None,
            hpas: None,
            services: None,
            version: KubeVersion::DEFAULT,
        }
    }

    pub fn from_deployment(d: &Deployment) -> Workload {
        let spec = d.spec.clone().unwrap_or_default();
        let mut w = Workload::base(Kind::Deployment, &d.metadata, spec.template);
        w.replicas = Some(spec.replicas.unwrap_or(1));
        w.replicas_set = spec.replicas.is_some();
        w.min_ready_seconds = spec.min_ready_seconds.unwrap_or(0);
        w.paused = spec.paused.unwrap_or(false);
        w.revision_history_limit = spec.revision_history_limit;
        let st = spec.strategy.unwrap_or_default();
        w.strategy = match st.type_.as_deref() {
            Some("Recreate") => Strategy::Recreate,
            _ => {
                let ru = st.rolling_update.unwrap_or_default();
                Strategy::RollingUpdate {
                    explicit: ru.max_surge.is_some() || ru.max_unavailable.is_some(),
                    max_surge: ru.max_surge.unwrap_or(IntOrString::String("25%".into())),
                    max_unavailable: ru
                        .max_unavailable
                        .unwrap_or(IntOrString::String("25%".into())),
                }
            }
        };
        w
    }

    pub fn from_statefulset(s: &StatefulSet) -> Workload {
        let spec = s.spec.clone().unwrap_or_default();
        let mut w = Workload::base(Kind::StatefulSet, &s.metadata, spec.template);
        w.revision_history_limit = spec.revision_history_limit;
        w.replicas = Some(spec.replicas.unwrap_or(1));
        w.replicas_set = spec.replicas.is_some();
        w.min_ready_seconds = spec.min_ready_seconds.unwrap_or(0);
        let st = spec.update_strategy.unwrap_or_default();
        w.strategy = match st.type_.as_deref() {
            Some("OnDelete") => Strategy::OnDelete,
            _ => {
                let ru = st.rolling_update.unwrap_or_default();
                Strategy::RollingUpdate {
                    explicit: ru.max_unavailable.is_some(),
                    max_surge: IntOrString::Int(0),
                    max_unavailable: ru.max_unavailable.unwrap_or(IntOrString::Int(1)),
                }
            }
        };
        w
    }

    pub fn from_daemonset(d: &DaemonSet) -> Workload {
        let spec = d.spec.clone().unwrap_or_default();
        let mut w = Workload::base(Kind::DaemonSet, &d.metadata, spec.template);
        w.revision_history_limit = spec.revision_history_limit;
        w.min_ready_seconds = spec.min_ready_seconds.unwrap_or(0);
        let st = spec.update_strategy.unwrap_or_default();
        w.strategy = match st.type_.as_deref() {
            Some("OnDelete") => Strategy::OnDelete,
            _ => {
                let ru = st.rolling_update.unwrap_or_default();
                Strategy::RollingUpdate {
                    explicit: ru.max_surge.is_some() || ru.max_unavailable.is_some(),
                    max_surge: ru.max_surge.unwrap_or(IntOrString::Int(0)),
                    max_unavailable: ru.max_unavailable.unwrap_or(IntOrString::Int(1)),
                }
            }
        };
        w
    }

    pub fn from_replicaset(r: &ReplicaSet) -> Workload {
        let spec = r.spec.clone().unwrap_or_default();
        let mut w = Workload::base(
            Kind::ReplicaSet,
            &r.metadata,
            spec.template.unwrap_or_default(),
        );
        w.replicas = Some(spec.replicas.unwrap_or(1));
        w.replicas_set = spec.replicas.is_some();
        w.min_ready_seconds = spec.min_ready_seconds.unwrap_or(0);
        w
    }

    pub fn from_job(j: &Job) -> Workload {
        let spec = j.spec.clone().unwrap_or_default();
        let mut w = Workload::base(Kind::Job, &j.metadata, spec.template.clone());
        w.job = Some(spec);
        w
    }

    pub fn from_cronjob(c: &CronJob) -> Workload {
        let job = c
            .spec
            .as_ref()
            .and_then(|s| s.job_template.spec.clone())
            .unwrap_or_default();
        let mut w = Workload::base(Kind::CronJob, &c.metadata, job.template.clone());
        w.job = Some(job);
        w
    }

    pub fn from_pod(p: &Pod) -> Workload {
        let template = PodTemplateSpec {
            metadata: Some(ObjectMeta {
                labels: p.metadata.labels.clone(),
                annotations: p.metadata.annotations.clone(),
                ..Default::default()
            }),
            spec: p.spec.clone(),
        };
        let mut w = Workload::base(Kind::Pod, &p.metadata, template);
        w.replicas = Some(1);
        w
    }

    /// Marks the workload as read from a manifest at `source` (`file:line`).
    pub fn from_file(mut self, source: impl Into<String>, default_namespace: &str) -> Workload {
        self.source = source.into();
        self.live = false;
        if self.namespace.is_empty() {
            self.namespace = default_namespace.to_string();
        }
        self
    }

    pub fn with_version(mut self, v: KubeVersion) -> Workload {
        self.version = v;
        self
    }

    /// The pod spec (empty when the manifest has none).
    pub fn pod_spec(&self) -> PodSpec {
        self.template.spec.clone().unwrap_or_default()
    }

    pub fn pod_labels(&self) -> Option<&BTreeMap<String, String>> {
        self.template
            .metadata
            .as_ref()
            .and_then(|m| m.labels.as_ref())
    }

    /// Keeps the PDBs, HPAs and Services of `related` that concern this workload: same namespace,
    /// selector matching the pod template's labels (HPAs: scaleTargetRef naming it).
    /// For many workloads, build a [`RelatedIndex`] once and use [`Workload::relate_indexed`].
    pub fn relate(&mut self, related: &Related) {
        self.relate_indexed(&RelatedIndex::new(related));
    }

    /// [`Workload::relate`] with selectors parsed once.
    pub fn relate_indexed(&mut self, idx: &RelatedIndex<'_>) {
        let ns = self.namespace.as_str();
        let labels = self
            .template
            .metadata
            .as_ref()
            .and_then(|m| m.labels.as_ref());
        let pick = |list: &Option<Vec<(&str, Option<Selector>, usize)>>| {
            list.as_ref().map(|all| {
                all.iter()
                    .filter(|(n, sel, _)| {
                        (n.is_empty() || *n == ns)
                            && sel.as_ref().is_some_and(|s| s.matches(labels))
                    })
                    .map(|(_, _, i)| *i)
                    .collect::<Vec<usize>>()
            })
        };
        let pdbs = pick(&idx.pdbs);
        let services = pick(&idx.services);
        let (kind, name) = (self.kind.as_str(), self.name.as_str());
        let hpas = idx.related.hpas.as_ref().map(|all| {
            all.iter()
                .filter(|h| h.metadata.namespace.as_deref().unwrap_or(ns) == ns)
                .filter(|h| {
                    h.spec.as_ref().is_some_and(|s| {
                        s.scale_target_ref.kind == kind && s.scale_target_ref.name == name
                    })
                })
                .cloned()
                .collect()
        });
        let r = idx.related;
        self.pdbs = pdbs.map(|v| {
            v.into_iter()
                .filter_map(|i| r.pdbs.as_ref().and_then(|p| p.get(i)).cloned())
                .collect()
        });
        self.services = services.map(|v| {
            v.into_iter()
                .filter_map(|i| r.services.as_ref().and_then(|p| p.get(i)).cloned())
                .collect()
        });
        self.hpas = hpas;
    }

    /// The lowest replica count the workload runs at: the HPA's minReplicas when an HPA scales it.
    pub fn min_replicas(&self) -> Option<i32> {
        let hpa_min = self
            .hpas
            .iter()
            .flatten()
            .filter_map(|h| h.spec.as_ref())
            .map(|s| s.min_replicas.unwrap_or(1))
            .min();
        hpa_min.or(self.replicas)
    }

    /// `deployment/web`.
    pub fn display_name(&self) -> String {
        format!("{}/{}", self.kind.lower(), self.name)
    }

    /// The YAML path to the pod spec, as keys (`spec`, `template`, `spec`).
    pub fn pod_spec_path(&self) -> &'static [&'static str] {
        match self.kind {
            Kind::Pod => &["spec"],
            Kind::CronJob => &["spec", "jobTemplate", "spec", "template", "spec"],
            _ => &["spec", "template", "spec"],
        }
    }

    /// The dotted field path of the pod spec (`spec.template.spec`).
    pub fn pod_spec_field(&self) -> String {
        self.pod_spec_path().join(".")
    }

    /// The dotted path of the Job spec (`spec` or `spec.jobTemplate.spec`).
    pub fn job_spec_field(&self) -> &'static str {
        match self.kind {
            Kind::CronJob => "spec.jobTemplate.spec",
            _ => "spec",
        }
    }

    /// True for kinds whose pods serve long-running traffic (not Jobs/CronJobs).
    pub fn long_running(&self) -> bool {
        !matches!(self.kind, Kind::Job | Kind::CronJob)
    }
}

/// Resolves an int-or-percent against `total` like the API does (`round_up` for maxSurge).
pub fn resolve_int_or_percent(v: &IntOrString, total: i32, round_up: bool) -> Option<i32> {
    match v {
        IntOrString::Int(i) => Some(*i),
        IntOrString::String(s) => {
            let s = s.trim();
            let pct: i64 = match s.strip_suffix('%') {
                Some(p) => p.trim().parse().ok()?,
                None => s.parse().ok()?,
            };
            if !s.ends_with('%') {
                return i32::try_from(pct).ok();
            }
            let scaled = pct.checked_mul(i64::from(total))?;
            let r = if round_up {
                scaled.checked_add(99)?.div_euclid(100)
            } else {
                scaled.div_euclid(100)
            };
            i32::try_from(r).ok()
        }
    }
}

/// `25%` or `1`, for messages.
pub fn int_or_string_text(v: &IntOrString) -> String {
    match v {
        IntOrString::Int(i) => i.to_string(),
        IntOrString::String(s) => s.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(KubeVersion::parse("v1.33.2"), Some(KubeVersion::new(1, 33)));
        assert_eq!(KubeVersion::parse("1.29"), Some(KubeVersion::new(1, 29)));
        assert_eq!(
            KubeVersion::parse("v1.30.1-gke.100"),
            Some(KubeVersion::new(1, 30))
        );
        assert_eq!(KubeVersion::parse("1.28+"), Some(KubeVersion::new(1, 28)));
        assert_eq!(KubeVersion::parse("latest"), None);
        assert!(KubeVersion::new(1, 30).at_least(1, 30));
        assert!(!KubeVersion::new(1, 29).at_least(1, 30));
    }

    #[test]
    fn percentages_round_like_the_controller() {
        let p = |s: &str| IntOrString::String(s.into());
        assert_eq!(resolve_int_or_percent(&p("25%"), 2, true), Some(1));
        assert_eq!(resolve_int_or_percent(&p("25%"), 2, false), Some(0));
        assert_eq!(resolve_int_or_percent(&p("50%"), 3, false), Some(1));
        assert_eq!(resolve_int_or_percent(&p("100%"), 4, false), Some(4));
        assert_eq!(
            resolve_int_or_percent(&IntOrString::Int(2), 9, false),
            Some(2)
        );
        assert_eq!(resolve_int_or_percent(&p("x%"), 2, false), None);
    }
}

#[cfg(test)]
mod relate_tests {
    use super::*;

    fn yaml<T: serde::de::DeserializeOwned>(s: &str) -> T {
        serde_yaml::from_str(s).unwrap()
    }

    #[test]
    fn relates_by_namespace_selector_and_scale_target() {
        let d: Deployment = yaml(
            "metadata: {name: web, namespace: shop}\nspec: {selector: {}, template: {metadata: {labels: {app: web, tier: front}}}}",
        );
        let mut w = Workload::from_deployment(&d);
        let related = Related {
            pdbs: Some(vec![
                yaml("metadata: {name: match, namespace: shop}\nspec: {selector: {matchLabels: {app: web}}}"),
                yaml("metadata: {name: other-ns, namespace: prod}\nspec: {selector: {matchLabels: {app: web}}}"),
                yaml("metadata: {name: nil-selector, namespace: shop}\nspec: {}"),
                yaml("metadata: {name: empty-selects-all, namespace: shop}\nspec: {selector: {}}"),
                yaml("metadata: {name: other-app, namespace: shop}\nspec: {selector: {matchLabels: {app: api}}}"),
            ]),
            hpas: Some(vec![
                yaml("metadata: {name: h, namespace: shop}\nspec: {scaleTargetRef: {kind: Deployment, name: web}, minReplicas: 3, maxReplicas: 5}"),
                yaml("metadata: {name: h2, namespace: shop}\nspec: {scaleTargetRef: {kind: StatefulSet, name: web}, maxReplicas: 5}"),
            ]),
            services: Some(vec![
                yaml("metadata: {name: web, namespace: shop}\nspec: {selector: {app: web}}"),
                yaml("metadata: {name: external, namespace: shop}\nspec: {type: ExternalName, externalName: x.example.com}"),
            ]),
        };
        w.relate(&related);
        let names = |v: Vec<String>| v.join(",");
        assert_eq!(
            names(
                w.pdbs
                    .iter()
                    .flatten()
                    .filter_map(|p| p.metadata.name.clone())
                    .collect()
            ),
            "match,empty-selects-all"
        );
        assert_eq!(
            names(
                w.services
                    .iter()
                    .flatten()
                    .filter_map(|s| s.metadata.name.clone())
                    .collect()
            ),
            "web"
        );
        assert_eq!(w.hpas.as_ref().map(Vec::len), Some(1));
        assert_eq!(w.min_replicas(), Some(3));
        // Unknown (forbidden) lists stay unknown.
        w.relate(&Related::default());
        assert!(w.pdbs.is_none() && w.services.is_none() && w.hpas.is_none());
        assert_eq!(w.min_replicas(), Some(1));
    }
}
