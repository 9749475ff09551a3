//! [`Workload`]: one normalised shape for Deployments, StatefulSets, DaemonSets, ReplicaSets,
//! ReplicationControllers, Jobs, CronJobs and bare Pods, live or from manifests: what the object itself
//! says about its pods and its rollout, nothing about its surroundings (those are diagnose's
//! [`crate::diagnose::Context`]) and nothing of its status (that is the live [`super::Object`]).
//! diagnose's rules and restart's plan read it, with the [`Origin`] it was read at.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::batch::v1::{CronJob, Job, JobSpec};
use k8s_openapi::api::core::v1::{Pod, PodSpec, PodTemplateSpec, ReplicationController};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};

use super::rollout::{self, Strategy};
use crate::source::Origin;
use crate::target::Kind;

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
            super::owner::controller_or_first_owner(meta).map(|o| format!("{}/{}", o.kind, o.name));
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
        w.strategy = rollout::deployment(spec.strategy.as_ref());
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
        w.strategy = rollout::statefulset(spec.update_strategy.as_ref());
        w
    }

    pub fn from_daemonset(d: &DaemonSet) -> Workload {
        let spec = d.spec.clone().unwrap_or_default();
        let mut w = Workload::base(Kind::DaemonSet, &d.metadata, spec.template);
        w.revision_history_limit = spec.revision_history_limit;
        w.min_ready_seconds = spec.min_ready_seconds.unwrap_or(0);
        w.selector = Some(spec.selector);
        w.strategy = rollout::daemonset(spec.update_strategy.as_ref());
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

    /// The pod spec (empty when the manifest has none). Borrowed: the rules read it many times
    /// per workload, and a copy each time was a sixth of `diagnose -f`'s time.
    pub fn pod_spec(&self) -> &PodSpec {
        static EMPTY: std::sync::LazyLock<PodSpec> = std::sync::LazyLock::new(PodSpec::default);
        self.template.spec.as_ref().unwrap_or(&EMPTY)
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
