//! The three restartable workload kinds behind one enum, with the few accessors the restart logic needs.
//! Pure: no API calls.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use k8s_openapi::api::core::v1::PodTemplateSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};

use crate::target::Kind;

/// The pod-template annotation `kubectl rollout restart` sets.
pub const RESTARTED_AT: &str = "kubectl.kubernetes.io/restartedAt";

#[derive(Debug, Clone)]
pub enum Workload {
    Deployment(Deployment),
    StatefulSet(StatefulSet),
    DaemonSet(DaemonSet),
}

/// How a workload replaces its pods after a template change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Strategy {
    /// The controller rolls the pods itself (RollingUpdate).
    Rolling,
    /// Deployment `Recreate`: every old pod goes before the new ones start.
    Recreate,
    /// StatefulSet/DaemonSet `OnDelete`: nothing happens until pods are deleted; we evict them one by one.
    OnDelete,
}

impl Strategy {
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::Rolling => "RollingUpdate",
            Strategy::Recreate => "Recreate",
            Strategy::OnDelete => "OnDelete",
        }
    }
}

impl Workload {
    pub fn kind(&self) -> Kind {
        match self {
            Workload::Deployment(_) => Kind::Deployment,
            Workload::StatefulSet(_) => Kind::StatefulSet,
            Workload::DaemonSet(_) => Kind::DaemonSet,
        }
    }

    pub fn meta(&self) -> &ObjectMeta {
        match self {
            Workload::Deployment(d) => &d.metadata,
            Workload::StatefulSet(s) => &s.metadata,
            Workload::DaemonSet(d) => &d.metadata,
        }
    }

    pub fn name(&self) -> &str {
        self.meta().name.as_deref().unwrap_or("")
    }

    pub fn generation(&self) -> i64 {
        self.meta().generation.unwrap_or(0)
    }

    pub fn observed_generation(&self) -> i64 {
        match self {
            Workload::Deployment(d) => d.status.as_ref().and_then(|s| s.observed_generation),
            Workload::StatefulSet(s) => s.status.as_ref().and_then(|s| s.observed_generation),
            Workload::DaemonSet(d) => d.status.as_ref().and_then(|s| s.observed_generation),
        }
        .unwrap_or(0)
    }

    pub fn template(&self) -> Option<&PodTemplateSpec> {
        match self {
            Workload::Deployment(d) => d.spec.as_ref().map(|s| &s.template),
            Workload::StatefulSet(s) => s.spec.as_ref().map(|s| &s.template),
            Workload::DaemonSet(d) => d.spec.as_ref().map(|s| &s.template),
        }
    }

    pub fn template_annotations(&self) -> Option<&BTreeMap<String, String>> {
        self.template()
            .and_then(|t| t.metadata.as_ref())
            .and_then(|m| m.annotations.as_ref())
    }

    /// The current value of the restart annotation on the pod template.
    pub fn restarted_at(&self) -> Option<&str> {
        self.template_annotations()
            .and_then(|a| a.get(RESTARTED_AT))
            .map(String::as_str)
    }

    pub fn selector(&self) -> Option<&LabelSelector> {
        match self {
            Workload::Deployment(d) => d.spec.as_ref().map(|s| &s.selector),
            Workload::StatefulSet(s) => s.spec.as_ref().map(|s| &s.selector),
            Workload::DaemonSet(d) => d.spec.as_ref().map(|s| &s.selector),
        }
    }

    /// `spec.replicas` (default 1); for a DaemonSet the desired number of scheduled pods.
    pub fn desired(&self) -> i32 {
        match self {
            Workload::Deployment(d) => d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1),
            Workload::StatefulSet(s) => s.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1),
            Workload::DaemonSet(d) => d
                .status
                .as_ref()
                .map(|s| s.desired_number_scheduled)
                .unwrap_or(0),
        }
    }

    pub fn strategy(&self) -> Strategy {
        // Only the field differs per kind; the API default (RollingUpdate) applies when it is unset.
        let t = match self {
            Workload::Deployment(d) => d
                .spec
                .as_ref()
                .and_then(|s| s.strategy.as_ref())
                .and_then(|s| s.type_.as_deref()),
            Workload::StatefulSet(s) => s
                .spec
                .as_ref()
                .and_then(|s| s.update_strategy.as_ref())
                .and_then(|s| s.type_.as_deref()),
            Workload::DaemonSet(d) => d
                .spec
                .as_ref()
                .and_then(|s| s.update_strategy.as_ref())
                .and_then(|s| s.type_.as_deref()),
        };
        match (self, t) {
            (Workload::Deployment(_), Some("Recreate")) => Strategy::Recreate,
            (Workload::StatefulSet(_) | Workload::DaemonSet(_), Some("OnDelete")) => {
                Strategy::OnDelete
            }
            _ => Strategy::Rolling,
        }
    }

    /// A StatefulSet's rolling-update partition (pods with a lower ordinal keep the old revision).
    pub fn partition(&self) -> i32 {
        match self {
            Workload::StatefulSet(s) => s
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

    /// How many pods the restart will replace: a StatefulSet's replicas above the partition.
    pub fn expected_new(&self) -> i32 {
        match self {
            Workload::StatefulSet(_) => (self.desired() - self.partition()).max(0),
            _ => self.desired(),
        }
    }

    /// A StatefulSet's `status.updateRevision`: the revision every replaced pod must carry.
    pub fn update_revision(&self) -> Option<&str> {
        match self {
            Workload::StatefulSet(s) => s.status.as_ref()?.update_revision.as_deref(),
            _ => None,
        }
    }

    pub fn paused(&self) -> bool {
        match self {
            Workload::Deployment(d) => d.spec.as_ref().and_then(|s| s.paused).unwrap_or(false),
            _ => false,
        }
    }

    pub fn from_value(kind: Kind, v: serde_json::Value) -> Result<Workload, serde_json::Error> {
        Ok(match kind {
            Kind::StatefulSet => Workload::StatefulSet(serde_json::from_value(v)?),
            Kind::DaemonSet => Workload::DaemonSet(serde_json::from_value(v)?),
            _ => Workload::Deployment(serde_json::from_value(v)?),
        })
    }
}

/// Parses a workload from YAML (test fixtures).
#[cfg(test)]
pub fn from_yaml(yaml: &str) -> Workload {
    let v: serde_json::Value = serde_yaml::from_str(yaml).expect("fixture YAML");
    let kind = match v.get("kind").and_then(|k| k.as_str()) {
        Some("StatefulSet") => Kind::StatefulSet,
        Some("DaemonSet") => Kind::DaemonSet,
        _ => Kind::Deployment,
    };
    Workload::from_value(kind, v).expect("fixture workload")
}
