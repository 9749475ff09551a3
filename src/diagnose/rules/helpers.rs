//! Thresholds and helpers over the pod spec shared by the rules.

use k8s_openapi::api::core::v1::{Container, Probe};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::Hit;
use crate::diagnose::model::Workload;

// ---------------------------------------------------------------------------------------------
// Thresholds (documented in the rationales).

/// Grace period when the pod spec does not set one.
pub const DEFAULT_GRACE: i64 = 30;
/// Seconds an application needs after SIGTERM to finish in-flight requests, at least.
pub const MIN_DRAIN: i64 = 5;
/// Grace periods below this (and above 0) are too short to drain.
pub const SHORT_GRACE: i64 = 5;
/// Grace periods above this slow every rollout and drain.
pub const LONG_GRACE: i64 = 300;
/// A liveness `initialDelaySeconds` at least this long says "slow start".
pub const SLOW_START: i32 = 30;
/// A failing pod staying in endpoints longer than this is flagged.
pub const SLOW_REMOVAL: i32 = 30;
/// A preStop pause shorter than this does not cover endpoint propagation.
pub const MIN_PAUSE: i64 = 3;
/// Recommended preStop pause.
pub const PAUSE: i64 = 10;

// ---------------------------------------------------------------------------------------------
// Helpers over the pod spec.

pub(super) fn containers(w: &Workload) -> Vec<Container> {
    w.pod_spec().containers
}

pub(super) fn grace(w: &Workload) -> i64 {
    w.pod_spec()
        .termination_grace_period_seconds
        .unwrap_or(DEFAULT_GRACE)
}

pub(super) fn has_ports(c: &Container) -> bool {
    c.ports.as_ref().is_some_and(|p| !p.is_empty())
}

/// The workload receives traffic: a Service selects it, or a container declares ports.
pub fn serves_traffic(w: &Workload) -> bool {
    w.long_running()
        && (w.services.as_ref().is_some_and(|s| !s.is_empty())
            || containers(w).iter().any(has_ports))
}

/// The containers that take traffic: those with ports; when a Service selects the pods and no
/// container declares a port, the first container.
pub(super) fn serving_containers(w: &Workload) -> Vec<Container> {
    if !serves_traffic(w) {
        return vec![];
    }
    let all = containers(w);
    let with_ports: Vec<Container> = all.iter().filter(|c| has_ports(c)).cloned().collect();
    if with_ports.is_empty() {
        all.into_iter().take(1).collect()
    } else {
        with_ports
    }
}

pub(super) fn container_field(w: &Workload, c: &str, rest: &str) -> String {
    let base = format!("{}.containers[{c}]", w.pod_spec_field());
    if rest.is_empty() {
        base
    } else {
        format!("{base}.{rest}")
    }
}

pub(super) fn indent(text: &str, n: usize) -> String {
    let pad = " ".repeat(n);
    text.lines()
        .map(|l| {
            if l.is_empty() {
                String::new()
            } else {
                format!("{pad}{l}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Wraps YAML that belongs at the top level of an object.
pub(super) fn nest(path: &[&str], body: &str) -> String {
    let mut out = String::new();
    for (depth, key) in path.iter().enumerate() {
        out.push_str(&" ".repeat(depth * 2));
        out.push_str(key);
        out.push_str(":\n");
    }
    out.push_str(&indent(body, path.len() * 2));
    out.push('\n');
    out
}

/// A fix at the pod-spec level (`spec.template.spec` …).
pub(super) fn pod_spec_fix(w: &Workload, body: &str) -> String {
    nest(w.pod_spec_path(), body)
}

/// A fix inside one container.
pub(super) fn container_fix(w: &Workload, name: &str, body: &str) -> String {
    pod_spec_fix(
        w,
        &format!("containers:\n- name: {name}\n{}", indent(body, 2)),
    )
}

pub use crate::podspec::{argv, base, prestop, shell_script, sleep_seconds, words, PreStop};

pub(super) fn native_sleep_supported(w: &Workload) -> bool {
    w.version.at_least(1, 30)
}

/// The preStop pause to paste, per version.
pub(super) fn pause_fix(w: &Workload, seconds: i64) -> String {
    if native_sleep_supported(w) {
        format!("lifecycle:\n  preStop:\n    sleep:\n      seconds: {seconds}")
    } else {
        format!(
            "lifecycle:\n  preStop:\n    exec:\n      command: [\"sleep\", \"{seconds}\"]   # needs a sleep binary in the image"
        )
    }
}

pub(super) fn probe_handler_eq(a: &Probe, b: &Probe) -> bool {
    a.exec == b.exec && a.http_get == b.http_get && a.tcp_socket == b.tcp_socket && a.grpc == b.grpc
}

pub(super) fn probe_kill_budget(p: &Probe) -> i32 {
    p.initial_delay_seconds.unwrap_or(0).saturating_add(
        p.failure_threshold
            .unwrap_or(3)
            .saturating_mul(p.period_seconds.unwrap_or(10)),
    )
}

/// The probe's handler as YAML (for fixes that reuse it).
pub(super) fn probe_handler_yaml(p: &Probe) -> String {
    let h = Probe {
        exec: p.exec.clone(),
        http_get: p.http_get.clone(),
        tcp_socket: p.tcp_socket.clone(),
        grpc: p.grpc.clone(),
        ..Default::default()
    };
    serde_yaml::to_string(&h)
        .unwrap_or_default()
        .trim_end()
        .to_string()
}

pub(super) fn first_port(c: &Container) -> Option<String> {
    let p = c.ports.as_ref()?.first()?;
    Some(match &p.name {
        Some(n) if !n.is_empty() => n.clone(),
        _ => p.container_port.to_string(),
    })
}

pub(super) fn hit(
    container: Option<&str>,
    field: String,
    message: String,
    fix: Option<String>,
) -> Hit {
    Hit {
        container: container.map(str::to_string),
        field,
        message,
        fix,
    }
}

pub(super) fn short(s: &str, n: usize) -> String {
    let s = s.trim().replace('\n', " ");
    if s.chars().count() <= n {
        s
    } else {
        format!("{}…", s.chars().take(n).collect::<String>())
    }
}

pub(super) fn yaml_scalar(s: &str) -> String {
    serde_yaml::to_string(s)
        .map(|t| t.trim_end().to_string())
        .unwrap_or_else(|_| format!("{s:?}"))
}

pub(super) fn is_percent(v: &IntOrString) -> Option<i64> {
    match v {
        IntOrString::String(s) => s.trim().strip_suffix('%')?.trim().parse().ok(),
        IntOrString::Int(_) => None,
    }
}
