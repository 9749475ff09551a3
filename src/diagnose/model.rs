//! The `Workload` model every rule runs over: one shape for Deployments, StatefulSets, DaemonSets,
//! ReplicaSets, ReplicationControllers, Jobs, CronJobs and bare Pods, live or from manifests. What
//! surrounds a workload (PDBs, HPAs, Services, the version) is its [`super::context::Context`].

use std::collections::BTreeMap;
use std::fmt;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::batch::v1::{CronJob, Job, JobSpec};
use k8s_openapi::api::core::v1::{Pod, PodSpec, PodTemplateSpec, ReplicationController};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde::Serialize;

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

/// Where a workload was read: a manifest (file, line of the object, item of a `List`) or the cluster.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origin {
    /// The file as given (`<stdin>` for `-`); None: read from the cluster.
    pub file: Option<String>,
    /// 1-based line the object starts on.
    pub line: Option<usize>,
    /// Index in a `List`'s items.
    pub item: Option<usize>,
}

impl Origin {
    pub fn file(file: &str, line: usize, item: Option<usize>) -> Origin {
        Origin {
            file: Some(file.to_string()),
            line: Some(line),
            item,
        }
    }

    /// `file:line`, `file:line (item N)`, or `cluster`.
    pub fn text(&self) -> String {
        match (&self.file, self.line) {
            (Some(f), Some(l)) => match self.item {
                Some(i) => format!("{f}:{l} (item {i})"),
                None => format!("{f}:{l}"),
            },
            (Some(f), None) => f.clone(),
            _ => "cluster".to_string(),
        }
    }
}

/// One workload, normalised: what its own object says, nothing about its surroundings.
#[derive(Debug, Clone)]
pub struct Workload {
    pub kind: Kind,
    /// The API kind as written (`ReplicationController` is checked as a [`Kind::ReplicaSet`]).
    pub kind_name: &'static str,
    pub namespace: String,
    pub name: String,
    /// `file:line` for manifests, `cluster` for live objects.
    pub source: String,
    pub origin: Origin,
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
    /// `spec.selector` (a ReplicationController's map as matchLabels); None for Pods and CronJobs.
    pub selector: Option<LabelSelector>,
    pub template: PodTemplateSpec,
    /// Jobs and CronJobs: the Job spec (template included).
    pub job: Option<JobSpec>,
}

fn meta_parts(
    m: &ObjectMeta,
) -> (
    String,
    String,
    BTreeMap<String, String>,
    BTreeMap<String, String>,
) {
    // An object created with `generateName` gets its name from the API server: shown as `prefix*`.
    let name = match (&m.name, &m.generate_name) {
        (Some(n), _) if !n.is_empty() => n.clone(),
        (_, Some(g)) if !g.is_empty() => format!("{g}*"),
        _ => String::new(),
    };
    (
        m.namespace.clone().unwrap_or_default(),
        name,
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
            kind_name: kind.as_str(),
            namespace,
            name,
            source: "cluster".into(),
            origin: Origin::default(),
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
            selector: None,
            template,
            job: None,
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
        w.selector = Some(spec.selector);
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
        w.selector = Some(spec.selector);
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
        w.selector = Some(spec.selector);
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
        w.selector = Some(spec.selector);
        w
    }

    /// A ReplicationController is checked like a ReplicaSet (no rollout of its own).
    pub fn from_replication_controller(r: &ReplicationController) -> Workload {
        let spec = r.spec.clone().unwrap_or_default();
        let mut w = Workload::base(
            Kind::ReplicaSet,
            &r.metadata,
            spec.template.unwrap_or_default(),
        );
        w.kind_name = "ReplicationController";
        w.replicas = Some(spec.replicas.unwrap_or(1));
        w.replicas_set = spec.replicas.is_some();
        w.min_ready_seconds = spec.min_ready_seconds.unwrap_or(0);
        // An RC without a selector selects its template's labels (the API server defaults it so).
        let labels = spec
            .selector
            .or_else(|| w.template.metadata.as_ref().and_then(|m| m.labels.clone()));
        w.selector = Some(LabelSelector {
            match_labels: labels,
            match_expressions: None,
        });
        w
    }

    pub fn from_job(j: &Job) -> Workload {
        let spec = j.spec.clone().unwrap_or_default();
        let mut w = Workload::base(Kind::Job, &j.metadata, spec.template.clone());
        w.selector = spec.selector.clone();
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

    /// Marks the workload as read from a manifest at `origin`.
    pub fn from_file(mut self, origin: Origin, default_namespace: &str) -> Workload {
        self.source = origin.text();
        self.origin = origin;
        self.live = false;
        if self.namespace.is_empty() {
            self.namespace = default_namespace.to_string();
        }
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

    /// `deployment/web` (`replicationcontroller/web`).
    pub fn display_name(&self) -> String {
        format!("{}/{}", self.kind_name.to_ascii_lowercase(), self.name)
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

    /// A pod that Helm runs around an install or upgrade (`helm.sh/hook`), not a service.
    pub fn is_helm_hook(&self) -> bool {
        self.annotations.contains_key("helm.sh/hook")
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
