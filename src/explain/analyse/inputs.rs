//! What the analysis is given besides the pod: its log tails and the facts gathered about the objects
//! around it (node, owning Job, claims), and what could not be read. Plain data, filled live by
//! `gather` or offline from the objects in the file.

use std::collections::BTreeMap;

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Node, PersistentVolumeClaim};

/// Log tails per container name.
#[derive(Debug, Clone, Default)]
pub struct Logs {
    /// Of the previous instance (`kubectl logs --previous`), for restarted containers.
    pub previous: BTreeMap<String, Vec<String>>,
    /// Of the current instance, for containers that terminated and were not restarted.
    pub current: BTreeMap<String, Vec<String>>,
}

/// Where the events came from, which decides what their absence means.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum EventSource {
    /// Not asked for (the quick look at a pod that may be healthy).
    #[default]
    NotAsked,
    /// Read from the cluster: none for the pod means they expired.
    Read,
    /// The cluster refused or failed both event APIs.
    Unreadable,
    /// Offline: the file (named) holds no Event objects.
    NotInFile(String),
    /// Offline: the file holds events (none for a pod means they were not saved, or expired).
    File,
}

impl EventSource {
    /// True when the events that exist were seen (so a missing event is evidence of absence).
    pub fn seen(&self) -> bool {
        matches!(self, EventSource::Read | EventSource::File)
    }

    /// Why a missing event proves nothing, as a clause: "events could not be read", …
    pub fn why_unseen(&self) -> &'static str {
        match self {
            EventSource::NotInFile(_) => "the input holds no events",
            EventSource::Unreadable => "events could not be read",
            _ => "events were not read",
        }
    }
}

/// A section that could not be read live (403 or another error): it becomes a note, and when the
/// pod's state is left unexplained because of it, the exit code says so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unread {
    /// `events`, `logs`, `node node-1`, `job nightly`, `claim data-0`.
    pub section: String,
    pub forbidden: bool,
    /// The error's first line.
    pub error: String,
}

impl Unread {
    pub fn note(&self) -> String {
        let mut s = if self.forbidden {
            format!(
                "{}: forbidden ({}); this section is left out",
                self.section, self.error
            )
        } else {
            format!("{}: could not be read ({})", self.section, self.error)
        };
        // All of the pod's logs are one permission (`pods/log`): say which.
        if self.forbidden && self.section == "logs" {
            s.push_str(": run with a user allowed to get pods/log to see the log tails");
        }
        s
    }
}

/// What the analysis knows besides the pod, its events and its logs.
#[derive(Debug, Clone, Default)]
pub struct Extra {
    pub events: EventSource,
    pub node: Option<NodeFacts>,
    pub owner: Option<OwnerFacts>,
    /// The PersistentVolumeClaims the pod mounts, when they were read.
    pub claims: Vec<ClaimFacts>,
    /// Sections that could not be read.
    pub unread: Vec<Unread>,
    /// `-c`: only this container.
    pub container: Option<String>,
}

/// The node's conditions, when the node matters.
#[derive(Debug, Clone, Default)]
pub struct NodeFacts {
    pub name: String,
    /// False when the node object no longer exists.
    pub exists: bool,
    /// The Ready condition's status (`True`, `False`, `Unknown`).
    pub ready: Option<String>,
    pub ready_reason: Option<String>,
    pub ready_message: Option<String>,
    /// Pressure conditions that are True (`MemoryPressure`, …).
    pub pressure: Vec<String>,
    /// `status.nodeInfo.architecture` (`amd64`, `arm64`).
    pub architecture: Option<String>,
    /// NoExecute and NoSchedule taints, as `key=value:Effect`.
    pub taints: Vec<String>,
}

/// The taints the node lifecycle controller puts on a node it lost contact with.
pub const NODE_LOST_TAINTS: &[&str] = &[
    "node.kubernetes.io/unreachable",
    "node.kubernetes.io/not-ready",
];

impl NodeFacts {
    pub fn from_node(n: &Node) -> NodeFacts {
        let mut f = NodeFacts {
            name: n.metadata.name.clone().unwrap_or_default(),
            exists: true,
            ..Default::default()
        };
        let status = n.status.as_ref();
        for c in status
            .and_then(|s| s.conditions.as_ref())
            .into_iter()
            .flatten()
        {
            if c.type_ == "Ready" {
                f.ready = Some(c.status.clone());
                f.ready_reason = c.reason.clone();
                f.ready_message = c.message.clone();
            } else if c.status == "True" {
                f.pressure.push(c.type_.clone());
            }
        }
        f.architecture = status
            .and_then(|s| s.node_info.as_ref())
            .map(|i| i.architecture.clone())
            .filter(|a| !a.is_empty());
        f.taints = n
            .spec
            .as_ref()
            .and_then(|s| s.taints.as_ref())
            .into_iter()
            .flatten()
            .map(|t| match &t.value {
                Some(v) if !v.is_empty() => format!("{}={v}:{}", t.key, t.effect),
                _ => format!("{}:{}", t.key, t.effect),
            })
            .collect();
        f
    }

    pub fn missing(name: &str) -> NodeFacts {
        NodeFacts {
            name: name.to_string(),
            exists: false,
            ..Default::default()
        }
    }

    /// Gone, not Ready, or tainted unreachable/not-ready by the node lifecycle controller.
    pub fn is_lost(&self) -> bool {
        !self.exists
            || self.ready.as_deref().is_some_and(|r| r != "True")
            || self
                .taints
                .iter()
                .any(|t| NODE_LOST_TAINTS.iter().any(|k| t.starts_with(k)))
    }
}

/// The owning workload, and for a Job the outcome that explains its pods.
#[derive(Debug, Clone, Default)]
pub struct OwnerFacts {
    pub kind: String,
    pub name: String,
    /// The Job's terminal (or, 1.31+, interim `FailureTarget`) failure condition.
    pub job_failure: Option<JobFailure>,
    pub backoff_limit: Option<i32>,
    pub active_deadline_seconds: Option<i64>,
    /// Failed pods the Job counted.
    pub failed_pods: Option<i32>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobFailure {
    /// `Failed`, or `FailureTarget` while the pods are still being terminated.
    pub condition: String,
    /// `BackoffLimitExceeded`, `DeadlineExceeded`, `PodFailurePolicy`, `MaxFailedIndexesExceeded`, …
    pub reason: String,
    pub message: String,
}

impl OwnerFacts {
    pub fn from_job(job: &Job) -> OwnerFacts {
        let conditions: Vec<_> = job
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .into_iter()
            .flatten()
            .filter(|c| c.status == "True")
            .collect();
        // `Failed` is final; `FailureTarget` (1.31+) comes first, while the pods terminate.
        let failure = ["Failed", "FailureTarget"].iter().find_map(|t| {
            conditions
                .iter()
                .find(|c| c.type_ == *t)
                .map(|c| JobFailure {
                    condition: c.type_.clone(),
                    reason: c.reason.clone().unwrap_or_default(),
                    message: c.message.clone().unwrap_or_default(),
                })
        });
        let spec = job.spec.as_ref();
        OwnerFacts {
            kind: "Job".into(),
            name: job.metadata.name.clone().unwrap_or_default(),
            job_failure: failure,
            backoff_limit: spec.and_then(|s| s.backoff_limit),
            active_deadline_seconds: spec.and_then(|s| s.active_deadline_seconds),
            failed_pods: job.status.as_ref().and_then(|s| s.failed),
        }
    }
}

/// A PersistentVolumeClaim the pod mounts.
#[derive(Debug, Clone, Default)]
pub struct ClaimFacts {
    pub name: String,
    /// False when the claim does not exist.
    pub exists: bool,
    /// `Pending`, `Bound`, `Lost`.
    pub phase: Option<String>,
    /// `spec.storageClassName`; None means the cluster's default class (or none).
    pub storage_class: Option<String>,
    pub volume: Option<String>,
    pub access_modes: Vec<String>,
}

impl ClaimFacts {
    /// The claims a pod mounts, by name, in spec order.
    pub fn names_in(pod: &k8s_openapi::api::core::v1::Pod) -> Vec<String> {
        pod.spec
            .as_ref()
            .and_then(|s| s.volumes.as_ref())
            .into_iter()
            .flatten()
            .filter_map(|v| v.persistent_volume_claim.as_ref())
            .map(|c| c.claim_name.clone())
            .collect()
    }

    pub fn from_claim(c: &PersistentVolumeClaim) -> ClaimFacts {
        let spec = c.spec.as_ref();
        ClaimFacts {
            name: c.metadata.name.clone().unwrap_or_default(),
            exists: true,
            phase: c.status.as_ref().and_then(|s| s.phase.clone()),
            storage_class: spec.and_then(|s| s.storage_class_name.clone()),
            volume: spec
                .and_then(|s| s.volume_name.clone())
                .filter(|v| !v.is_empty()),
            access_modes: spec
                .and_then(|s| s.access_modes.clone())
                .unwrap_or_default(),
        }
    }

    pub fn missing(name: &str) -> ClaimFacts {
        ClaimFacts {
            name: name.to_string(),
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Unread;

    #[test]
    fn a_forbidden_log_read_names_the_permission() {
        let unread = |section: &str, forbidden| Unread {
            section: section.into(),
            forbidden,
            error: "pods \"web-1\" is forbidden".into(),
        };
        assert_eq!(
            unread("logs", true).note(),
            "logs: forbidden (pods \"web-1\" is forbidden); this section is left out: run with a user allowed to get pods/log to see the log tails"
        );
        assert_eq!(
            unread("node node-1", true).note(),
            "node node-1: forbidden (pods \"web-1\" is forbidden); this section is left out"
        );
        assert_eq!(
            unread("logs", false).note(),
            "logs: could not be read (pods \"web-1\" is forbidden)"
        );
    }
}
