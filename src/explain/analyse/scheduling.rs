//! Pod-level rules for a pod that does not get going: rejected by the kubelet at admission, not
//! schedulable (read from the scheduler's own reasons), not Ready although its containers are, or held
//! back by a failing init container.

use super::super::model::{Cause, ContainerType, Severity, Verdict};
use super::context::{Ctx, PodSubject};
use super::inputs::ClaimFacts;
use super::removal::status_evidence;
use super::words::{event_line, nonempty, verdict};

pub fn admission(p: &PodSubject) -> Option<Verdict> {
    let ctx = p.ctx;
    let (reason, message) = ctx.status_reason();
    if ctx.phase() != "Failed" {
        return None;
    }
    let node = ctx.node_name().unwrap_or("the node").to_string();
    let action = if reason.starts_with("OutOf") {
        format!("{node} did not have the free {} the pod requests when the kubelet admitted it (its capacity changed after scheduling, or something bypassed the scheduler): a controller creates a new pod; a bare pod must be recreated", reason.trim_start_matches("OutOf"))
    } else if matches!(reason, "NodeAffinity" | "NodeSelectorMismatch") {
        format!("{node}'s labels no longer match the pod's nodeSelector/affinity (changed after scheduling): fix the labels or the pod's affinity; a controller creates a new pod")
    } else if reason == "UnexpectedAdmissionError" {
        format!("a device plugin on {node} could not allocate what the pod requests (GPUs or other devices): check the device plugin's pods and the node's allocatable devices")
    } else if reason == "Evicted" && message.starts_with("The node had condition") {
        format!("{node} was under resource pressure when the pod arrived, so the kubelet refused it: see what fills the node (`kubectl describe node {node}`); a controller creates a new pod")
    } else if matches!(reason, "NodePorts" | "InvalidNodeInfo") {
        format!("{node} could not give the pod what it asks ({reason}): a controller creates a new pod; check hostPorts and the node")
    } else {
        return None;
    };
    Some(verdict(
        Cause::AdmissionRejected,
        Severity::Failure,
        format!("the kubelet on {node} rejected the pod at admission: {reason}"),
        status_evidence(ctx),
        action,
    ))
}

/// The claims the pod mounts, by name, in spec order.
fn claim_names(ctx: &Ctx) -> Vec<String> {
    ctx.pod
        .spec
        .as_ref()
        .and_then(|s| s.volumes.as_ref())
        .into_iter()
        .flatten()
        .filter_map(|v| {
            v.persistent_volume_claim
                .as_ref()
                .map(|c| c.claim_name.clone())
        })
        .collect()
}

/// `claim data-0: Pending, storage class fast` (or `… does not exist`).
pub fn claim_line(c: &ClaimFacts) -> String {
    if !c.exists {
        return format!("claim {}: does not exist", c.name);
    }
    let class = match &c.storage_class {
        Some(s) if s.is_empty() => "no storage class (static binding only)".to_string(),
        Some(s) => format!("storage class {s}"),
        None => "no storage class set (the cluster's default class, if there is one)".to_string(),
    };
    let mut s = format!(
        "claim {}: {}, {class}",
        c.name,
        c.phase.clone().unwrap_or_else(|| "phase unknown".into())
    );
    if let Some(v) = &c.volume {
        s.push_str(&format!(", volume {v}"));
    }
    if !c.access_modes.is_empty() {
        s.push_str(&format!(", {}", c.access_modes.join("/")));
    }
    s
}

/// What to do for each reason the scheduler gives (`pkg/scheduler/framework/plugins/*`).
fn scheduling_actions(ctx: &Ctx, msg: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut add = |s: String| {
        if !out.contains(&s) {
            out.push(s);
        }
    };
    let low = msg.to_lowercase();
    for part in msg.split("Insufficient ").skip(1) {
        let r: String = part
            .chars()
            .take_while(|c| !matches!(c, ',' | '.'))
            .collect();
        add(format!("no node has the {r} the pod requests free: lower its {r} requests or add nodes (requests count, not use)"));
    }
    if low.contains("unbound immediate persistentvolumeclaims")
        || low.contains("persistentvolumeclaim \"")
    {
        let claims = claim_names(ctx);
        let known: Vec<&ClaimFacts> = ctx.extra.claims.iter().collect();
        let text = if known.is_empty() {
            format!("claim(s) {}", nonempty(&claims.join(", "), "of the pod"))
        } else {
            known
                .iter()
                .map(|c| c.name.clone())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let class = known
            .iter()
            .find_map(|c| c.storage_class.clone().filter(|s| !s.is_empty()))
            .map(|s| format!("storage class {s}"))
            .unwrap_or_else(|| "the storage class (or the cluster's default class)".into());
        add(format!("the pod waits for {text} to be bound: check that {class} exists and can provision, or that a matching PersistentVolume exists (`kubectl describe pvc {}`); this is not a capacity problem", claims.first().cloned().unwrap_or_default()));
    }
    if low.contains("node affinity/selector") {
        add(
            "no node matches the pod's nodeSelector/affinity: fix them or label nodes to match"
                .into(),
        );
    }
    if low.contains("untolerated taint") || low.contains("taints that the pod didn't tolerate") {
        add("the nodes carry taints the pod does not tolerate (the message names them): schedule it where it belongs, or add a toleration if it is meant to run on those nodes".into());
    }
    if low.contains("free ports") {
        add("the pod's hostPort is taken on every node: drop hostPort, or run fewer such pods than nodes".into());
    }
    if low.contains("too many pods") {
        add("the nodes are at their pod limit (max pods): add nodes".into());
    }
    if low.contains("anti-affinity") || low.contains("pod affinity") {
        add("pod (anti-)affinity rules leave no node: add nodes or relax the rules (preferred instead of required)".into());
    }
    if low.contains("topology spread") {
        add("topologySpreadConstraints leave no node: add nodes in the missing zones, or use whenUnsatisfiable: ScheduleAnyway".into());
    }
    if low.contains("persistentvolume's node affinity")
        || low.contains("volume node affinity conflict")
        || low.contains("volume zone")
    {
        add("the pod's volume lives in a zone/node where the pod cannot run: schedule it there, or use a StorageClass with volumeBindingMode: WaitForFirstConsumer".into());
    }
    if low.contains("available persistent volumes to bind") {
        add("no PersistentVolume matches the claim (size, access mode, class, node): create one, or use a provisioning StorageClass".into());
    }
    if low.contains("were unschedulable") {
        add(
            "nodes are cordoned (unschedulable): uncordon them when their maintenance is over"
                .into(),
        );
    }
    out
}

pub fn unschedulable(p: &PodSubject) -> Option<Verdict> {
    let ctx = p.ctx;
    let c = ctx.cond("PodScheduled").filter(|c| c.status == "False")?;
    let msg = c.message.clone().unwrap_or_default();
    let mut ev = vec![format!(
        "condition PodScheduled=False, reason {}: {}",
        c.reason.clone().unwrap_or_default(),
        msg
    )];
    let scheduling = ctx.events_with("FailedScheduling");
    ev.extend(scheduling.iter().rev().take(2).map(|e| event_line(e)));
    for claim in &ctx.extra.claims {
        ev.push(claim_line(claim));
    }
    // The latest scheduler message is the one to read.
    let text = scheduling
        .last()
        .map(|e| e.message.clone())
        .filter(|m| m.len() >= msg.len())
        .unwrap_or(msg.clone());
    let actions = scheduling_actions(ctx, &text);
    let action = if actions.is_empty() {
        "read the scheduler's reasons: free or add capacity, or relax nodeSelector/affinity/tolerations as it says".to_string()
    } else {
        actions.join("; ")
    };
    Some(verdict(
        Cause::Unschedulable,
        Severity::Failure,
        format!(
            "no node can run it: {}",
            nonempty(&text, "the scheduler found no node")
        ),
        ev,
        action,
    ))
}

/// Not Ready although every container says it is: readiness gates, or a node that stopped reporting.
pub fn not_ready_with_ready_containers(p: &PodSubject) -> Option<Verdict> {
    let ctx = p.ctx;
    let c = ctx.cond("Ready").filter(|c| c.status != "True")?;
    let mut statuses = ctx.container_statuses().peekable();
    let all_ready = statuses.peek().is_some() && statuses.all(|c| c.ready);
    if ctx.phase() != "Running" || !all_ready {
        return None;
    }
    let gates: Vec<String> = ctx
        .pod
        .spec
        .as_ref()
        .and_then(|s| s.readiness_gates.as_ref())
        .into_iter()
        .flatten()
        .map(|g| g.condition_type.clone())
        .collect();
    let mut ev = vec![format!(
        "condition Ready={}{}, while every container reports ready",
        c.status,
        c.reason
            .as_deref()
            .map(|r| format!(" ({r})"))
            .unwrap_or_default()
    )];
    if !gates.is_empty() || c.reason.as_deref() == Some("ReadinessGatesNotReady") {
        let unmet: Vec<String> = gates
            .iter()
            .filter(|g| ctx.cond(g).is_none_or(|x| x.status != "True"))
            .cloned()
            .collect();
        ev.push(format!(
            "readiness gates not satisfied: {}",
            unmet.join(", ")
        ));
        return Some(verdict(
            Cause::Unclear,
            Severity::Warning,
            "not ready: a readiness gate is not satisfied",
            ev,
            "check the controller that sets the gate's condition (often a load-balancer controller registering the pod)",
        ));
    }
    let node = ctx.node_name().unwrap_or("").to_string();
    ev.push(if ctx.extra.node.is_some() {
        format!("node {node} reports Ready")
    } else {
        format!("node {node} could not be checked")
    });
    Some(verdict(
        Cause::Unclear,
        Severity::Warning,
        "the pod is marked not ready although its containers report ready",
        ev,
        format!("check node {node} (`kubectl describe node {node}`): a node that stops reporting has its pods marked not ready"),
    ))
}

/// An init container that fails keeps the app containers from ever starting.
pub fn init_failed(p: &PodSubject) -> Option<Verdict> {
    if !matches!(p.ctx.phase(), "Pending" | "Failed") {
        return None;
    }
    let c = p.containers.iter().find(|c| {
        c.type_ == ContainerType::Init
            && c.verdict
                .as_ref()
                .is_some_and(|v| v.severity == Severity::Failure)
    })?;
    let inner = c
        .verdict
        .as_ref()
        .map(|v| v.summary.clone())
        .unwrap_or_default();
    Some(verdict(
        Cause::InitFailed,
        Severity::Failure,
        format!(
            "init container {} fails, so the app containers never start",
            c.name
        ),
        vec![format!("{}: {inner}", c.name)],
        format!("fix init container {} (see its block below)", c.name),
    ))
}
