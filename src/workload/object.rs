//! [`Object`]: a workload as the API server serves it, status included, of any kind. restart watches and
//! judges its status; [`Object::workload`] normalises its spec into a [`Workload`] for the rules.

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{Pod, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};

use super::rollout::{self, Strategy};
use crate::target::Kind;
use crate::workload::Workload;

/// The pod-template annotation `kubectl rollout restart` sets.
pub const RESTARTED_AT: &str = "kubectl.kubernetes.io/restartedAt";

/// The field manager of this tool's writes (restart's patch): managedFields tell our writes from others'.
pub const FIELD_MANAGER: &str = "kubectl-graceful";

/// One workload object of any kind the commands name.
#[derive(Debug, Clone)]
pub enum Object {
    Deployment(Deployment),
    StatefulSet(StatefulSet),
    DaemonSet(DaemonSet),
    ReplicaSet(ReplicaSet),
    // Boxed: the largest types, rarely fetched (clippy's large_enum_variant).
    Job(Box<Job>),
    CronJob(Box<CronJob>),
    Pod(Pod),
}

impl Object {
    pub fn kind(&self) -> Kind {
        match self {
            Object::Deployment(_) => Kind::Deployment,
            Object::StatefulSet(_) => Kind::StatefulSet,
            Object::DaemonSet(_) => Kind::DaemonSet,
            Object::ReplicaSet(_) => Kind::ReplicaSet,
            Object::Job(_) => Kind::Job,
            Object::CronJob(_) => Kind::CronJob,
            Object::Pod(_) => Kind::Pod,
        }
    }

    pub fn meta(&self) -> &ObjectMeta {
        match self {
            Object::Deployment(o) => &o.metadata,
            Object::StatefulSet(o) => &o.metadata,
            Object::DaemonSet(o) => &o.metadata,
            Object::ReplicaSet(o) => &o.metadata,
            Object::Job(o) => &o.metadata,
            Object::CronJob(o) => &o.metadata,
            Object::Pod(o) => &o.metadata,
        }
    }

    pub fn name(&self) -> &str {
        self.meta().name.as_deref().unwrap_or("")
    }

    /// The spec, normalised (what the rules and the plan read).
    pub fn workload(&self) -> Workload {
        match self {
            Object::Deployment(o) => Workload::from_deployment(o),
            Object::StatefulSet(o) => Workload::from_statefulset(o),
            Object::DaemonSet(o) => Workload::from_daemonset(o),
            Object::ReplicaSet(o) => Workload::from_replicaset(o),
            Object::Job(o) => Workload::from_job(o),
            Object::CronJob(o) => Workload::from_cronjob(o),
            Object::Pod(o) => Workload::from_pod(o),
        }
    }

    /// The label selector of its pods (None: a CronJob, a Pod, or a Job without one).
    pub fn selector(&self) -> Option<&LabelSelector> {
        match self {
            Object::Deployment(o) => o.spec.as_ref().map(|s| &s.selector),
            Object::StatefulSet(o) => o.spec.as_ref().map(|s| &s.selector),
            Object::DaemonSet(o) => o.spec.as_ref().map(|s| &s.selector),
            Object::ReplicaSet(o) => o.spec.as_ref().map(|s| &s.selector),
            Object::Job(o) => o.spec.as_ref().and_then(|s| s.selector.as_ref()),
            Object::CronJob(_) | Object::Pod(_) => None,
        }
    }

    /// The pod template of the kinds that roll one out (Deployments, StatefulSets, DaemonSets).
    pub fn template(&self) -> Option<&PodTemplateSpec> {
        match self {
            Object::Deployment(o) => o.spec.as_ref().map(|s| &s.template),
            Object::StatefulSet(o) => o.spec.as_ref().map(|s| &s.template),
            Object::DaemonSet(o) => o.spec.as_ref().map(|s| &s.template),
            _ => None,
        }
    }

    /// The current value of the restart annotation on the pod template.
    pub fn restarted_at(&self) -> Option<&str> {
        self.template()
            .and_then(|t| t.metadata.as_ref())
            .and_then(|m| m.annotations.as_ref())
            .and_then(|a| a.get(RESTARTED_AT))
            .map(String::as_str)
    }

    pub fn generation(&self) -> i64 {
        self.meta().generation.unwrap_or(0)
    }

    /// The generation its controller has acted on (0 for kinds without a rollout).
    pub fn observed_generation(&self) -> i64 {
        match self {
            Object::Deployment(d) => d.status.as_ref().and_then(|s| s.observed_generation),
            Object::StatefulSet(s) => s.status.as_ref().and_then(|s| s.observed_generation),
            Object::DaemonSet(d) => d.status.as_ref().and_then(|s| s.observed_generation),
            _ => None,
        }
        .unwrap_or(0)
    }

    /// `spec.replicas` (default 1); for a DaemonSet the desired number of scheduled pods.
    pub fn desired(&self) -> i32 {
        match self {
            Object::Deployment(d) => d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1),
            Object::StatefulSet(s) => s.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1),
            Object::DaemonSet(d) => d
                .status
                .as_ref()
                .map(|s| s.desired_number_scheduled)
                .unwrap_or(0),
            Object::ReplicaSet(r) => r.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1),
            _ => 1,
        }
    }

    /// How it replaces its pods after a template change.
    pub fn strategy(&self) -> Strategy {
        match self {
            Object::Deployment(d) => {
                rollout::deployment(d.spec.as_ref().and_then(|s| s.strategy.as_ref()))
            }
            Object::StatefulSet(s) => {
                rollout::statefulset(s.spec.as_ref().and_then(|s| s.update_strategy.as_ref()))
            }
            Object::DaemonSet(d) => {
                rollout::daemonset(d.spec.as_ref().and_then(|s| s.update_strategy.as_ref()))
            }
            _ => Strategy::None,
        }
    }

    /// (maxSurge, maxUnavailable) of its rolling update in pods; None without one.
    pub fn surge_unavailable(&self) -> Option<(i32, i32)> {
        rollout::surge_unavailable(self.kind(), &self.strategy(), self.desired())
    }

    /// A StatefulSet's rolling-update partition (pods with a lower ordinal keep the old revision).
    pub fn partition(&self) -> i32 {
        match self {
            Object::StatefulSet(s) => s
                .spec
                .as_ref()
                .and_then(|s| s.update_strategy.as_ref())
                .and_then(|s| s.rolling_update.as_ref())
                .and_then(|r| r.partition)
                .unwrap_or(0)
                .max(0),
            _ => 0,
        }
    }

    /// How many pods a restart replaces: a StatefulSet's replicas above the partition.
    pub fn expected_new(&self) -> i32 {
        match self {
            Object::StatefulSet(_) => (self.desired() - self.partition()).max(0),
            _ => self.desired(),
        }
    }

    /// A StatefulSet's `status.updateRevision`: the revision every replaced pod must carry.
    pub fn update_revision(&self) -> Option<&str> {
        match self {
            Object::StatefulSet(s) => s.status.as_ref()?.update_revision.as_deref(),
            _ => None,
        }
    }

    pub fn paused(&self) -> bool {
        match self {
            Object::Deployment(d) => d.spec.as_ref().and_then(|s| s.paused).unwrap_or(false),
            _ => false,
        }
    }

    /// The object of `kind` in `v` (a JSON or YAML document of that kind): the tests' fixtures.
    #[cfg(test)]
    pub fn from_value(kind: Kind, v: serde_json::Value) -> Result<Object, serde_json::Error> {
        Ok(match kind {
            Kind::Deployment => Object::Deployment(serde_json::from_value(v)?),
            Kind::StatefulSet => Object::StatefulSet(serde_json::from_value(v)?),
            Kind::DaemonSet => Object::DaemonSet(serde_json::from_value(v)?),
            Kind::ReplicaSet => Object::ReplicaSet(serde_json::from_value(v)?),
            Kind::Job => Object::Job(Box::new(serde_json::from_value(v)?)),
            Kind::CronJob => Object::CronJob(Box::new(serde_json::from_value(v)?)),
            Kind::Pod => Object::Pod(serde_json::from_value(v)?),
        })
    }
}

/// Parses an object from YAML, its kind from its `kind` field (test fixtures).
#[cfg(test)]
pub fn from_yaml(yaml: &str) -> Object {
    let v: serde_json::Value = serde_yaml::from_str(yaml).expect("fixture YAML");
    let kind = v
        .get("kind")
        .and_then(|k| k.as_str())
        .and_then(Kind::parse)
        .unwrap_or(Kind::Deployment);
    Object::from_value(kind, v).expect("fixture workload")
}
