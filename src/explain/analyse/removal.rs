//! Pod-level rules for a pod that something removed: the kubelet's evictions (node pressure and
//! storage limits), preemption, node shutdown, the taint manager, a lost node, the pod garbage
//! collector and the Eviction API.

use super::super::facts;
use super::super::model::{Cause, Severity, Verdict};
use super::context::{Ctx, PodSubject};
use super::words::{event_line, quoted_after, verdict};

/// `pod status: REASON: MESSAGE` and the DisruptionTarget condition (its message only when new).
pub fn status_evidence(ctx: &Ctx) -> Vec<String> {
    let (reason, message) = ctx.status_reason();
    let mut ev = Vec::new();
    if !reason.is_empty() {
        ev.push(format!("pod status: {reason}: {}", message.trim()));
    }
    if let Some((r, m)) = ctx.disruption() {
        if m.trim() == message.trim() || m.trim().is_empty() {
            ev.push(format!("condition DisruptionTarget=True, reason {r}"));
        } else {
            ev.push(format!(
                "condition DisruptionTarget=True, reason {r}: {}",
                m.trim()
            ));
        }
    }
    ev
}

/// What the kubelet's eviction message says was exhausted (`pkg/kubelet/eviction/helpers.go`).
#[derive(Debug, PartialEq)]
enum Eviction {
    /// `The node was low on resource: R.`
    NodePressure(String),
    /// `Pod ephemeral local storage usage exceeds the total limit of containers L.`
    PodStorageLimit(String),
    /// `Usage of EmptyDir volume "V" exceeds the limit "L".`
    EmptyDir(String, String),
    /// `Container C exceeded its local ephemeral storage limit "L".`
    ContainerStorageLimit(String, String),
}

fn eviction_kind(message: &str) -> Option<Eviction> {
    if let Some(r) = message.split("low on resource: ").nth(1) {
        let r = r.split(['.', ',']).next().unwrap_or("").trim();
        return Some(Eviction::NodePressure(
            r.trim_matches(['[', ']']).to_string(),
        ));
    }
    if let Some(l) = message
        .split("exceeds the total limit of containers ")
        .nth(1)
    {
        return Some(Eviction::PodStorageLimit(
            l.trim().trim_end_matches('.').to_string(),
        ));
    }
    if message.starts_with("Usage of EmptyDir volume") {
        let v = quoted_after(message, "EmptyDir volume ")?.to_string();
        let l = quoted_after(message, "exceeds the limit ")?.to_string();
        return Some(Eviction::EmptyDir(v, l));
    }
    if message.contains("exceeded its local ephemeral storage limit") {
        let c = message
            .strip_prefix("Container ")?
            .split_whitespace()
            .next()?
            .to_string();
        let l = quoted_after(message, "storage limit ")?.to_string();
        return Some(Eviction::ContainerStorageLimit(c, l));
    }
    None
}

/// "Container app was using 1Gi, request is 256Mi" → "container app was using 1Gi, 4.0× its request of 256Mi".
fn usage_lines(message: &str) -> Vec<String> {
    message
        .split("Container ")
        .skip(1)
        .filter_map(|rest| {
            let name: String = rest.chars().take_while(|c| !c.is_whitespace()).collect();
            let used: String = rest
                .split("was using ")
                .nth(1)?
                .chars()
                .take_while(|c| *c != ',' && !c.is_whitespace())
                .collect();
            // `request is R` (current kubelets) or `which exceeds its request of R` (before 1.21).
            let request = rest
                .split("request is ")
                .nth(1)
                .or_else(|| rest.split("exceeds its request of ").nth(1))
                .map(|r| {
                    r.chars()
                        .take_while(|c| *c != ',' && !c.is_whitespace())
                        .collect::<String>()
                        .trim_end_matches('.')
                        .to_string()
                });
            Some(
                match request.as_deref().filter(|r| !r.is_empty() && *r != "0") {
                    Some(req) => {
                        let ratio = match (facts::parse_quantity(&used), facts::parse_quantity(req))
                        {
                            (Some(u), Some(r)) if r > 0.0 => {
                                format!(", {:.1}× its request of {req}", u / r)
                            }
                            _ => format!(", request {req}"),
                        };
                        format!("container {name} was using {used}{ratio}")
                    }
                    None => format!("container {name} was using {used} with no request"),
                },
            )
        })
        .collect()
}

pub fn evicted(p: &PodSubject) -> Option<Verdict> {
    let ctx = p.ctx;
    let (reason, message) = ctx.status_reason();
    let by_kubelet = ctx
        .disruption()
        .is_some_and(|(r, _)| r == "TerminationByKubelet");
    // "The node had condition: …" is a rejection at admission, told by its own rule.
    if message.contains("The node had condition") {
        return None;
    }
    if reason != "Evicted" && !(by_kubelet && message.contains("low on resource")) {
        return None;
    }
    let node = ctx.node_name().unwrap_or("its node").to_string();
    let mut ev = status_evidence(ctx);
    ev.extend(ctx.events_with("Evicted").iter().map(|e| event_line(e)));
    ev.extend(usage_lines(message));
    let (summary, action) = match eviction_kind(message) {
        Some(Eviction::NodePressure(r)) => {
            ev.push("a node-pressure eviction gives the pod at most the kubelet's eviction grace period (1s at a hard threshold), not its terminationGracePeriodSeconds".into());
            let (what, action) = match r.as_str() {
                "memory" => ("memory (MemoryPressure)", "set memory requests to what the containers really use (the kubelet evicts pods using more than they requested first), and memory limits"),
                "ephemeral-storage" | "nodefs" | "imagefs" => ("disk space (DiskPressure)", "set ephemeral-storage requests and limits on the pods that write most, and write large or growing files to a volume instead of the container's filesystem or logs; check what else fills the node's disk (images, logs)"),
                "inodes" => ("inodes (DiskPressure)", "find the pods that create many small files (caches, temp files) and move them to a volume; set ephemeral-storage limits"),
                "pids" => ("process IDs (PIDPressure)", "find the pod that forks or spawns threads without bound (a leak or a fork loop); the kubelet's podPidsLimit caps each pod"),
                _ => ("a resource", "set requests to what the pod really uses; check what else fills the node"),
            };
            (format!("evicted by the kubelet: node {node} was low on {what}"), action.to_string())
        }
        Some(Eviction::PodStorageLimit(l)) => (
            format!("evicted by the kubelet: the pod wrote more local storage than its containers' ephemeral-storage limits allow together ({l})"),
            "raise resources.limits.ephemeral-storage, or write less to the containers' filesystems, logs and emptyDir volumes (a PersistentVolume for data)".to_string(),
        ),
        Some(Eviction::EmptyDir(v, l)) => (
            format!("evicted by the kubelet: emptyDir volume {v} grew past its sizeLimit of {l}"),
            format!("raise emptyDir.sizeLimit of volume {v}, clean up what the app leaves there, or use a PersistentVolume"),
        ),
        Some(Eviction::ContainerStorageLimit(c, l)) => (
            format!("evicted by the kubelet: container {c} wrote more than its ephemeral-storage limit of {l} (its writable layer and logs)"),
            format!("raise resources.limits.ephemeral-storage of {c}, or have it write less to its filesystem and logs (a volume for data)"),
        ),
        None => (
            "evicted by the kubelet".to_string(),
            "read the eviction message; set requests and limits to what the pod really uses".to_string(),
        ),
    };
    if matches!(
        eviction_kind(message),
        Some(
            Eviction::PodStorageLimit(_)
                | Eviction::EmptyDir(..)
                | Eviction::ContainerStorageLimit(..)
        )
    ) {
        ev.push("a storage-limit eviction stops the pod with a 1s grace period".into());
    }
    Some(verdict(
        Cause::Evicted,
        Severity::Failure,
        summary,
        ev,
        action,
    ))
}

pub fn preempted(p: &PodSubject) -> Option<Verdict> {
    let ctx = p.ctx;
    let (reason, _) = ctx.status_reason();
    let by_scheduler = ctx
        .disruption()
        .is_some_and(|(r, _)| r == "PreemptionByScheduler");
    if reason != "Preempting" && !by_scheduler {
        return None;
    }
    let mut ev = status_evidence(ctx);
    ev.extend(ctx.events_with("Preempted").iter().map(|e| event_line(e)));
    ev.extend(ctx.events_with("Preempting").iter().map(|e| event_line(e)));
    Some(verdict(
        Cause::Preempted,
        Severity::Failure,
        "preempted: removed to make room for a higher-priority pod",
        ev,
        "give this workload a higher PriorityClass, or add capacity so preemption is not needed",
    ))
}

pub fn node_shutdown(p: &PodSubject) -> Option<Verdict> {
    let ctx = p.ctx;
    let (reason, message) = ctx.status_reason();
    let dt_message = ctx.disruption().map(|d| d.1).unwrap_or("");
    if !(matches!(reason, "Terminated" | "Shutdown" | "NodeShutdown")
        || message.contains("node shutdown")
        || message.contains("node is shutting down")
        || dt_message.contains("node shutdown"))
    {
        return None;
    }
    let (summary, action) = if message.contains("rejected") {
        (
            "rejected: its node was shutting down when the pod arrived",
            "nothing to fix in the pod: a controller recreates it on another node",
        )
    } else {
        (
            "terminated because its node shut down",
            "run more than one replica (spread across nodes) and a PodDisruptionBudget; a controller recreates the pod elsewhere",
        )
    };
    Some(verdict(
        Cause::NodeShutdown,
        Severity::Failure,
        summary,
        status_evidence(ctx),
        action,
    ))
}

/// What says the node is gone or unreachable: the node itself (live, or in the file), NodeNotReady
/// events, or the pod marked not Ready while its containers, no longer updated, still say ready.
fn node_lost_evidence(ctx: &Ctx) -> Vec<String> {
    let mut ev = Vec::new();
    if let Some(n) = ctx.extra.node.as_ref().filter(|n| n.is_lost()) {
        if !n.exists {
            ev.push(format!("node {} no longer exists", n.name));
        } else {
            ev.push(format!(
                "node {}: Ready={} {}: {}",
                n.name,
                n.ready.clone().unwrap_or_default(),
                n.ready_reason.clone().unwrap_or_default(),
                n.ready_message.clone().unwrap_or_default()
            ));
            let lost: Vec<&String> = n
                .taints
                .iter()
                .filter(|t| {
                    super::inputs::NODE_LOST_TAINTS
                        .iter()
                        .any(|k| t.starts_with(k))
                })
                .collect();
            if !lost.is_empty() {
                ev.push(format!(
                    "node taints: {}",
                    lost.iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
    }
    ev.extend(
        ctx.events_with("NodeNotReady")
            .iter()
            .map(|e| event_line(e)),
    );
    let stale =
        ctx.phase() == "Running" && ctx.cond("Ready").is_some_and(|c| c.status != "True") && {
            let mut all = ctx.container_statuses().peekable();
            all.peek().is_some() && all.all(|c| c.ready)
        };
    if stale {
        ev.push("the pod is marked not Ready while its containers still report ready: the node stopped reporting".into());
    }
    ev
}

const LOST_ACTION: &str = "check the node (`kubectl describe node`, its kubelet and network); while it is unreachable no kubelet runs the pod's stop sequence: a controller's pods are deleted after their toleration (300s by default) and replaced elsewhere, and a deleted pod stays Terminating until the node returns or its Node object is deleted (a StatefulSet's replacement waits for that)";

pub fn taint_manager(p: &PodSubject) -> Option<Verdict> {
    let ctx = p.ctx;
    if ctx.disruption().map(|d| d.0) != Some("DeletionByTaintManager") {
        return None;
    }
    let mut ev = status_evidence(ctx);
    let lost = node_lost_evidence(ctx);
    ev.extend(
        ctx.events_with("TaintManagerEviction")
            .iter()
            .map(|e| event_line(e)),
    );
    if !lost.is_empty() {
        // The unreachable/not-ready taints are the node lifecycle controller's: a lost node.
        ev.extend(lost);
        return Some(verdict(
            Cause::NodeLost,
            Severity::Failure,
            "its node became unreachable or not ready, and the taint eviction controller deleted the pod after the toleration ran out",
            ev,
            LOST_ACTION,
        ));
    }
    let taints: Vec<String> = ctx
        .extra
        .node
        .as_ref()
        .map(|n| {
            n.taints
                .iter()
                .filter(|t| t.ends_with(":NoExecute"))
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    let node = ctx.node_name().unwrap_or("").to_string();
    if !taints.is_empty() {
        ev.push(format!(
            "node {node} has NoExecute taints: {}",
            taints.join(", ")
        ));
    }
    Some(verdict(
        Cause::TaintEviction,
        Severity::Failure,
        "deleted by the taint eviction controller: its node has a NoExecute taint the pod does not tolerate",
        ev,
        format!("see why node {node} is tainted (`kubectl describe node {node}`); if the pod must run there despite the taint, give it a toleration for that taint"),
    ))
}

pub fn pod_gc(p: &PodSubject) -> Option<Verdict> {
    let ctx = p.ctx;
    if ctx.disruption().map(|d| d.0) != Some("DeletionByPodGC") {
        return None;
    }
    Some(verdict(
        Cause::PodGc,
        Severity::Failure,
        "deleted by the pod garbage collector: its node no longer exists (or was marked out of service)",
        status_evidence(ctx),
        "check what happened to the node; a controller recreates the pod elsewhere",
    ))
}

pub fn api_eviction(p: &PodSubject) -> Option<Verdict> {
    let ctx = p.ctx;
    if ctx.disruption().map(|d| d.0) != Some("EvictionByEvictionAPI") {
        return None;
    }
    Some(verdict(
        Cause::ApiEviction,
        Severity::Info,
        "evicted through the Eviction API (a drain, the descheduler, or an autoscaler): a voluntary disruption",
        status_evidence(ctx),
        "nothing to fix; a PodDisruptionBudget limits how many pods such evictions take at once",
    ))
}

pub fn node_lost(p: &PodSubject) -> Option<Verdict> {
    let ctx = p.ctx;
    let (reason, _) = ctx.status_reason();
    let node_bad = ctx.extra.node.as_ref().is_some_and(|n| n.is_lost());
    if reason != "NodeLost" && ctx.phase() != "Unknown" && !node_bad {
        return None;
    }
    let mut ev = status_evidence(ctx);
    ev.extend(node_lost_evidence(ctx));
    Some(verdict(
        Cause::NodeLost,
        Severity::Failure,
        "its node went NotReady or disappeared: the pod's real state is unknown",
        ev,
        LOST_ACTION,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eviction_messages_of_the_kubelet() {
        assert_eq!(
            eviction_kind("The node was low on resource: ephemeral-storage. Threshold quantity: 1Gi, available: 512Mi. "),
            Some(Eviction::NodePressure("ephemeral-storage".into()))
        );
        assert_eq!(
            eviction_kind(
                "Pod ephemeral local storage usage exceeds the total limit of containers 2Gi. "
            ),
            Some(Eviction::PodStorageLimit("2Gi".into()))
        );
        assert_eq!(
            eviction_kind("Usage of EmptyDir volume \"cache\" exceeds the limit \"1Gi\". "),
            Some(Eviction::EmptyDir("cache".into(), "1Gi".into()))
        );
        assert_eq!(
            eviction_kind("Container app exceeded its local ephemeral storage limit \"500Mi\". "),
            Some(Eviction::ContainerStorageLimit(
                "app".into(),
                "500Mi".into()
            ))
        );
        assert_eq!(
            usage_lines("The node was low on resource: memory. Container a was using 1Gi, request is 256Mi, has larger consumption of memory. Container b was using 300Mi, request is 0, has larger consumption of memory. "),
            vec![
                "container a was using 1Gi, 4.0× its request of 256Mi".to_string(),
                "container b was using 300Mi with no request".to_string()
            ]
        );
    }
}
