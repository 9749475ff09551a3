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
    } else if reason == "Evicted" && message.contains("The node had condition") {
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

/// What rules the nodes out, in a few words each, and what to do, for each reason the scheduler
/// gives (`pkg/scheduler/framework/plugins/*`).
fn scheduling_reasons(ctx: &Ctx, msg: &str) -> (Vec<String>, Vec<String>) {
    let mut what: Vec<String> = Vec::new();
    let mut todo: Vec<String> = Vec::new();
    let mut add = |w: String, t: String| {
        if !what.contains(&w) {
            what.push(w);
        }
        if !todo.contains(&t) {
            todo.push(t);
        }
    };
    let low = msg.to_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| low.contains(w));
    for part in msg.split("Insufficient ").skip(1) {
        let r: String = part
            .chars()
            .take_while(|c| !matches!(c, ',' | '.'))
            .collect();
        add(
            format!("not enough free {r}"),
            format!("no node has the {r} the pod requests free: lower its {r} requests or add nodes (requests count, not use)"),
        );
    }
    if has(&[
        "unbound immediate persistentvolumeclaims",
        "persistentvolumeclaim \"",
    ]) {
        let claims = ClaimFacts::names_in(ctx.pod);
        let first = claims.first().cloned().unwrap_or_default();
        let known = &ctx.extra.claims;
        let names = if known.is_empty() {
            nonempty(&claims.join(", "), "its claims").to_string()
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
        let missing = known.iter().find(|c| !c.exists);
        match missing {
            Some(c) => add(
                format!("claim {} does not exist", c.name),
                format!("create PersistentVolumeClaim {} (or fix claimName in the pod's volumes); this is not a capacity problem", c.name),
            ),
            None => add(
                format!("claim {names} is not bound"),
                format!("the pod waits for {names} to be bound: check that {class} exists and can provision, or that a matching PersistentVolume exists (`kubectl describe pvc {first}`); this is not a capacity problem"),
            ),
        }
    }
    if has(&["node affinity/selector"]) {
        add(
            "its nodeSelector/affinity match no node".into(),
            "no node matches the pod's nodeSelector/affinity: fix them or label nodes to match"
                .into(),
        );
    }
    if has(&["untolerated taint", "taints that the pod didn't tolerate"]) {
        add(
            "taints it does not tolerate".into(),
            "the nodes carry taints the pod does not tolerate (`kubectl describe nodes` lists them): schedule it where it belongs, or add a toleration if it is meant to run on those nodes".into(),
        );
    }
    if has(&["free ports"]) {
        add(
            "its hostPort is taken".into(),
            "the pod's hostPort is taken on every node: drop hostPort, or run fewer such pods than nodes".into(),
        );
    }
    if has(&["too many pods"]) {
        add(
            "the nodes are at their pod limit".into(),
            "the nodes are at their pod limit (max pods): add nodes".into(),
        );
    }
    if has(&["anti-affinity", "pod affinity"]) {
        add(
            "pod (anti-)affinity rules".into(),
            "pod (anti-)affinity rules leave no node: add nodes or relax the rules (preferred instead of required)".into(),
        );
    }
    if has(&["topology spread"]) {
        add(
            "topology spread constraints".into(),
            "topologySpreadConstraints leave no node: add nodes in the missing zones, or use whenUnsatisfiable: ScheduleAnyway".into(),
        );
    }
    if has(&[
        "persistentvolume's node affinity",
        "volume node affinity conflict",
        "volume zone",
    ]) {
        add(
            "its volume is in another zone or on another node".into(),
            "the pod's volume lives in a zone/node where the pod cannot run: schedule it there, or use a StorageClass with volumeBindingMode: WaitForFirstConsumer".into(),
        );
    }
    if has(&["available persistent volumes to bind"]) {
        add(
            "no PersistentVolume matches its claim".into(),
            "no PersistentVolume matches the claim (size, access mode, class, node): create one, or use a provisioning StorageClass".into(),
        );
    }
    if has(&["were unschedulable"]) {
        add(
            "nodes are cordoned".into(),
            "nodes are cordoned (unschedulable): uncordon them when their maintenance is over"
                .into(),
        );
    }
    (what, todo)
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
    let (what, todo) = scheduling_reasons(ctx, &text);
    let action = if todo.is_empty() {
        "read the scheduler's reasons: free or add capacity, or relax nodeSelector/affinity/tolerations as it says".to_string()
    } else {
        todo.join("; ")
    };
    // The scheduler's own words are in the evidence; the summary only names what rules the nodes out.
    let why = if what.is_empty() {
        nonempty(&text, "the scheduler found no node").to_string()
    } else {
        what.join(", ")
    };
    Some(verdict(
        Cause::Unschedulable,
        Severity::Failure,
        format!("no node can run it: {why}"),
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
    // Its own block below says why; here only which cause it is.
    let inner = c.verdict.as_ref().map(|v| v.cause.id()).unwrap_or_default();
    Some(verdict(
        Cause::InitFailed,
        Severity::Failure,
        format!(
            "init container {} fails, so the app containers never start",
            c.name
        ),
        vec![format!("init container {} fails: [{inner}]", c.name)],
        format!("fix init container {} (see its block below)", c.name),
    ))
}
