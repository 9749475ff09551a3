//! The resource types the simulator serves.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResDef {
    pub group: &'static str,
    pub version: &'static str,
    pub plural: &'static str,
    pub singular: &'static str,
    pub kind: &'static str,
    pub namespaced: bool,
    pub short: &'static [&'static str],
    pub subresources: &'static [&'static str],
    /// Storage key: events.k8s.io events share storage with core events.
    pub storage: &'static str,
}

impl ResDef {
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }
    pub fn list_kind(&self) -> String {
        format!("{}List", self.kind)
    }
    /// Whether the server tracks `metadata.generation` (spec changes) for this kind.
    pub fn has_generation(&self) -> bool {
        matches!(self.group, "apps" | "batch" | "policy" | "autoscaling")
            && self.plural != "controllerrevisions"
    }
    pub fn has_status(&self) -> bool {
        self.subresources.contains(&"status")
    }
}

macro_rules! r {
    ($g:expr, $v:expr, $p:expr, $s:expr, $k:expr, $ns:expr, [$($sh:expr),*], [$($sub:expr),*], $st:expr) => {
        ResDef { group: $g, version: $v, plural: $p, singular: $s, kind: $k, namespaced: $ns, short: &[$($sh),*], subresources: &[$($sub),*], storage: $st }
    };
}

// group, version, plural, singular, kind, namespaced, short names, subresources, storage
#[rustfmt::skip]
pub static RESOURCES: &[ResDef] = &[
    r!("", "v1", "namespaces", "namespace", "Namespace", false, ["ns"], ["status"], "namespaces"),
    r!("", "v1", "nodes", "node", "Node", false, ["no"], ["status"], "nodes"),
    r!("", "v1", "pods", "pod", "Pod", true, ["po"], ["status", "log", "eviction"], "pods"),
    r!("", "v1", "events", "event", "Event", true, ["ev"], [], "events"),
    r!("", "v1", "services", "service", "Service", true, ["svc"], ["status", "proxy"], "services"),
    r!("", "v1", "endpoints", "endpoints", "Endpoints", true, ["ep"], [], "endpoints"),
    r!("", "v1", "configmaps", "configmap", "ConfigMap", true, ["cm"], [], "configmaps"),
    r!("", "v1", "secrets", "secret", "Secret", true, [], [], "secrets"),
    r!("", "v1", "serviceaccounts", "serviceaccount", "ServiceAccount", true, ["sa"], [], "serviceaccounts"),
    r!("", "v1", "persistentvolumeclaims", "persistentvolumeclaim", "PersistentVolumeClaim", true, ["pvc"], ["status"], "persistentvolumeclaims"),
    r!("apps", "v1", "deployments", "deployment", "Deployment", true, ["deploy"], ["status", "scale"], "deployments"),
    r!("apps", "v1", "replicasets", "replicaset", "ReplicaSet", true, ["rs"], ["status", "scale"], "replicasets"),
    r!("apps", "v1", "statefulsets", "statefulset", "StatefulSet", true, ["sts"], ["status", "scale"], "statefulsets"),
    r!("apps", "v1", "daemonsets", "daemonset", "DaemonSet", true, ["ds"], ["status"], "daemonsets"),
    r!("apps", "v1", "controllerrevisions", "controllerrevision", "ControllerRevision", true, [], [], "controllerrevisions"),
    r!("batch", "v1", "jobs", "job", "Job", true, [], ["status"], "jobs"),
    r!("batch", "v1", "cronjobs", "cronjob", "CronJob", true, ["cj"], ["status"], "cronjobs"),
    r!("policy", "v1", "poddisruptionbudgets", "poddisruptionbudget", "PodDisruptionBudget", true, ["pdb"], ["status"], "poddisruptionbudgets"),
    r!("", "v1", "replicationcontrollers", "replicationcontroller", "ReplicationController", true, ["rc"], ["status"], "replicationcontrollers"),
    r!("discovery.k8s.io", "v1", "endpointslices", "endpointslice", "EndpointSlice", true, [], [], "endpointslices"),
    r!("autoscaling", "v2", "horizontalpodautoscalers", "horizontalpodautoscaler", "HorizontalPodAutoscaler", true, ["hpa"], ["status"], "horizontalpodautoscalers"),
    r!("events.k8s.io", "v1", "events", "event", "Event", true, ["ev"], [], "events"),
    r!("authorization.k8s.io", "v1", "selfsubjectaccessreviews", "selfsubjectaccessreview", "SelfSubjectAccessReview", false, [], [], "selfsubjectaccessreviews"),
];

pub fn groups() -> Vec<(&'static str, &'static str)> {
    let mut out: Vec<(&str, &str)> = Vec::new();
    for r in RESOURCES {
        if !r.group.is_empty() && !out.iter().any(|(g, _)| *g == r.group) {
            out.push((r.group, r.version));
        }
    }
    out
}

pub fn find(group: &str, version: &str, plural: &str) -> Option<&'static ResDef> {
    RESOURCES
        .iter()
        .find(|r| r.group == group && r.version == version && r.plural == plural)
}

/// Look up by apiVersion + kind (for scenario loading).
pub fn by_kind(api_version: &str, kind: &str) -> Option<&'static ResDef> {
    let (g, v) = match api_version.split_once('/') {
        Some((g, v)) => (g, v),
        None => ("", api_version),
    };
    RESOURCES
        .iter()
        .find(|r| r.group == g && r.version == v && r.kind == kind)
        .or_else(|| RESOURCES.iter().find(|r| r.group == g && r.kind == kind))
}

/// The primary definition for a storage key (core events for "events").
pub fn by_storage(storage: &str) -> &'static ResDef {
    RESOURCES
        .iter()
        .find(|r| r.storage == storage)
        .expect("storage")
}
