//! Thresholds and helpers over the pod spec shared by the rules: field paths, fixes as YAML, and the
//! folding of one rule's per-container findings into one.

use k8s_openapi::api::core::v1::{Container, LifecycleHandler, Probe};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::fix::Fix;
use super::Hit;
use crate::diagnose::context::Context;
use crate::workload::Workload;

// ---------------------------------------------------------------------------------------------
// Thresholds (documented in the rationales).

/// Grace period when the pod spec does not set one.
pub(crate) const DEFAULT_GRACE: i64 = 30;
/// Seconds an application needs after SIGTERM to finish in-flight requests, at least.
pub(crate) const MIN_DRAIN: i64 = 5;
/// Seconds a suggested grace period leaves after the preStop pause.
pub(crate) const DRAIN: i64 = 20;
/// Grace periods below this (and above 0) are too short to drain.
pub(crate) const SHORT_GRACE: i64 = 5;
/// Grace periods above this slow every rollout and drain.
pub(crate) const LONG_GRACE: i64 = 300;
/// A liveness `initialDelaySeconds` at least this long says "slow start".
pub(crate) const SLOW_START: i32 = 30;
/// A failing pod staying in endpoints longer than this is flagged.
pub(crate) const SLOW_REMOVAL: i32 = 30;
/// A preStop pause shorter than this does not cover endpoint propagation.
pub(crate) const MIN_PAUSE: i64 = 3;
/// Recommended preStop pause.
pub(crate) const PAUSE: i64 = 10;

// ---------------------------------------------------------------------------------------------
// Helpers over the pod spec.

pub(super) fn containers(w: &Workload) -> &[Container] {
    &w.pod_spec().containers
}

pub(super) fn grace(w: &Workload) -> i64 {
    w.pod_spec()
        .termination_grace_period_seconds
        .unwrap_or(DEFAULT_GRACE)
}

/// The pod-level YAML that makes the grace period fit a `pause`-second preStop pause plus a drain,
/// when the current one does not.
pub(super) fn grace_for_pause(w: &Workload, pause: i64) -> Option<String> {
    let g = grace(w);
    (g < pause.saturating_add(MIN_DRAIN)).then(|| {
        format!(
            "terminationGracePeriodSeconds: {}   # preStop {pause}s + time to drain",
            pause.saturating_add(DRAIN)
        )
    })
}

pub(super) fn container_field(w: &Workload, names: &[String], rest: &str) -> String {
    let base = format!("{}.containers[{}]", w.pod_spec_field(), names.join(", "));
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
pub(super) fn pod_spec_fix(w: &Workload, body: &str) -> Fix {
    Fix::workload(nest(w.pod_spec_path(), body))
}

/// One container's share of a fix: YAML inside the container, and YAML at the pod-spec level.
#[derive(Debug, Clone, Default)]
pub(super) struct ContainerFix {
    pub body: String,
    pub pod: Option<String>,
}

impl ContainerFix {
    pub(crate) fn body(body: impl Into<String>) -> ContainerFix {
        ContainerFix {
            body: body.into(),
            pod: None,
        }
    }

    pub(crate) fn with_pod(mut self, pod: Option<String>) -> ContainerFix {
        self.pod = pod;
        self
    }
}

/// One container's finding before folding.
pub(super) struct PerContainer {
    pub container: String,
    pub message: String,
    /// The field below the container (`lifecycle.preStop`).
    pub field: String,
    pub fix: Option<ContainerFix>,
}

/// Folds one rule's per-container findings: containers with the same message and field become one
/// finding, whose fix patches each of them.
pub(super) fn fold(w: &Workload, items: Vec<PerContainer>) -> Vec<Hit> {
    // (message, field, [(container, its fix)])
    type Group = (String, String, Vec<(String, Option<ContainerFix>)>);
    let mut groups: Vec<Group> = Vec::new();
    for it in items {
        match groups
            .iter_mut()
            .find(|(m, f, _)| *m == it.message && *f == it.field)
        {
            Some((_, _, cs)) => cs.push((it.container, it.fix)),
            None => groups.push((it.message, it.field, vec![(it.container, it.fix)])),
        }
    }
    groups
        .into_iter()
        .map(|(message, field, cs)| {
            let names: Vec<String> = cs.iter().map(|(n, _)| n.clone()).collect();
            let fix = fold_fix(w, &cs);
            Hit {
                containers: names.clone(),
                field: container_field(w, &names, &field),
                message,
                fix,
                advice: None,
            }
        })
        .collect()
}

fn fold_fix(w: &Workload, cs: &[(String, Option<ContainerFix>)]) -> Option<Fix> {
    if cs.iter().all(|(_, f)| f.is_none()) {
        return None;
    }
    let mut body = String::new();
    // Pod-level lines: each once (the same message gives the same values).
    let mut pod_lines: Vec<&str> = Vec::new();
    for (_, f) in cs {
        if let Some(p) = f.as_ref().and_then(|f| f.pod.as_deref()) {
            if !pod_lines.contains(&p) {
                pod_lines.push(p);
            }
        }
    }
    for p in &pod_lines {
        body.push_str(p);
        body.push('\n');
    }
    let with_body: Vec<&(String, Option<ContainerFix>)> = cs
        .iter()
        .filter(|(_, f)| f.as_ref().is_some_and(|f| !f.body.is_empty()))
        .collect();
    if !with_body.is_empty() {
        body.push_str("containers:\n");
        for (name, f) in with_body {
            body.push_str(&format!("- name: {name}\n"));
            body.push_str(&indent(
                &f.as_ref().map(|f| f.body.clone()).unwrap_or_default(),
                2,
            ));
            body.push('\n');
        }
    }
    Some(pod_spec_fix(w, body.trim_end()))
}

pub(crate) use crate::podspec::{argv, base, prestop, shell_script, sleep_seconds, words};

pub(super) fn native_sleep_supported(cx: &Context) -> bool {
    cx.version.at_least(1, 30)
}

/// `null` lines that remove the handler types a hook or probe has, so a patch replaces it.
fn clear_handlers(present: &[(&str, bool)], keep: &str) -> String {
    present
        .iter()
        .filter(|(name, has)| *has && *name != keep)
        .map(|(name, _)| format!("\n    {name}: null"))
        .collect()
}

fn prestop_present(c: &Container) -> Vec<(&'static str, bool)> {
    let h: Option<&LifecycleHandler> = c.lifecycle.as_ref().and_then(|l| l.pre_stop.as_ref());
    vec![
        ("exec", h.is_some_and(|h| h.exec.is_some())),
        ("httpGet", h.is_some_and(|h| h.http_get.is_some())),
        ("tcpSocket", h.is_some_and(|h| h.tcp_socket.is_some())),
        ("sleep", h.is_some_and(|h| h.sleep.is_some())),
    ]
}

/// The preStop pause to paste into a container, per version, replacing whatever hook it has.
pub(super) fn pause_body(cx: &Context, c: &Container, seconds: i64) -> String {
    let present = prestop_present(c);
    if native_sleep_supported(cx) {
        format!(
            "lifecycle:\n  preStop:\n    sleep:\n      seconds: {seconds}{}",
            clear_handlers(&present, "sleep")
        )
    } else {
        format!(
            "lifecycle:\n  preStop:\n    exec:\n      command: [\"sleep\", \"{seconds}\"]   # needs a sleep binary in the image{}",
            clear_handlers(&present, "exec")
        )
    }
}

/// An exec preStop hook to paste, replacing whatever hook the container has.
pub(super) fn exec_prestop_body(c: &Container, command: &str) -> String {
    format!(
        "lifecycle:\n  preStop:\n    exec:\n      command: {command}{}",
        clear_handlers(&prestop_present(c), "exec")
    )
}

pub(super) fn probe_handler_eq(a: &Probe, b: &Probe) -> bool {
    a.exec == b.exec && a.http_get == b.http_get && a.tcp_socket == b.tcp_socket && a.grpc == b.grpc
}

/// `null` lines (at probe level, two spaces in) removing the other handler types of a probe.
pub(super) fn clear_probe_handlers(p: Option<&Probe>, keep: &str) -> String {
    let Some(p) = p else {
        return String::new();
    };
    [
        ("exec", p.exec.is_some()),
        ("httpGet", p.http_get.is_some()),
        ("tcpSocket", p.tcp_socket.is_some()),
        ("grpc", p.grpc.is_some()),
    ]
    .iter()
    .filter(|(name, has)| *has && *name != keep)
    .map(|(name, _)| format!("\n  {name}: null"))
    .collect()
}

pub(super) fn probe_budget(p: &Probe) -> i32 {
    p.failure_threshold
        .unwrap_or(3)
        .saturating_mul(p.period_seconds.unwrap_or(10))
}

pub(super) fn probe_kill_budget(p: &Probe) -> i32 {
    p.initial_delay_seconds
        .unwrap_or(0)
        .saturating_add(probe_budget(p))
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

/// A port as a probe names it: its name when it has one, else the number.
pub(super) fn port_yaml(p: &IntOrString) -> String {
    match p {
        IntOrString::Int(n) => n.to_string(),
        IntOrString::String(s) => yaml_scalar(s),
    }
}

pub(super) fn hit(field: String, message: String, fix: Option<Fix>) -> Hit {
    Hit {
        containers: vec![],
        field,
        message,
        fix,
        advice: None,
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

/// `s` as a YAML scalar, quoted only where serde_yaml would quote it.
pub(super) fn yaml_scalar(s: &str) -> String {
    // Most scalars here are names (`web`, `app.kubernetes.io/name`), which serde_yaml writes as they
    // are; asking it costs a whole serializer per scalar (a twentieth of `diagnose -f` on 10,000
    // workloads). Words a YAML reader could take for something else go the long way.
    if is_plain_name(s) {
        return s.to_string();
    }
    serde_yaml::to_string(s)
        .map(|t| t.trim_end().to_string())
        .unwrap_or_else(|_| format!("{s:?}"))
}

/// A lower-case letter, then lower-case letters, digits, `-`, `.` and `/`, not ending in
/// punctuation, and no word a YAML 1.1 or 1.2 reader takes for a boolean, null or number.
fn is_plain_name(s: &str) -> bool {
    let b = s.as_bytes();
    b.first().is_some_and(u8::is_ascii_lowercase)
        && b.last().is_some_and(u8::is_ascii_alphanumeric)
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || b"-./".contains(c))
        && !matches!(
            s,
            "true"
                | "false"
                | "yes"
                | "no"
                | "y"
                | "n"
                | "on"
                | "off"
                | "null"
                | "inf"
                | "nan"
                | "infinity"
        )
}

/// A YAML flow sequence of strings: `["sh", "-c", "exec app"]`.
pub(super) fn yaml_list(items: &[String]) -> String {
    serde_json::to_string(items).unwrap_or_else(|_| "[]".into())
}

pub(super) fn is_percent(v: &IntOrString) -> Option<i64> {
    match v {
        IntOrString::String(s) => s.trim().strip_suffix('%')?.trim().parse().ok(),
        IntOrString::Int(_) => None,
    }
}

/// The labels that pick this workload's pods: its selector's matchLabels, else the pod labels (None: it
/// has neither, so nothing can select its pods).
pub(super) fn pod_selector_labels(w: &Workload) -> Option<Vec<(String, String)>> {
    let from_selector = w
        .selector
        .as_ref()
        .and_then(|s| s.match_labels.as_ref())
        .filter(|m| !m.is_empty());
    let m = from_selector.or(w.pod_labels().filter(|m| !m.is_empty()))?;
    Some(m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
}

/// `matchLabels:` lines, indented by `n`.
pub(super) fn match_labels_yaml(w: &Workload, n: usize) -> Option<String> {
    let pad = " ".repeat(n);
    Some(
        pod_selector_labels(w)?
            .iter()
            .map(|(k, v)| format!("{pad}{}: {}", yaml_scalar(k), yaml_scalar(v)))
            .collect::<Vec<_>>()
            .join("\n"),
    )
}

/// A new PodDisruptionBudget for the workload's pods that allows one eviction at a time.
pub(super) fn new_pdb(w: &Workload, cx: &Context) -> Option<String> {
    let unhealthy = if cx.version.at_least(1, 27) {
        "\n  unhealthyPodEvictionPolicy: AlwaysAllow"
    } else {
        ""
    };
    Some(format!(
        "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata:\n  name: {}\n  namespace: {}\nspec:\n  maxUnavailable: 1{unhealthy}\n  selector:\n    matchLabels:\n{}\n",
        yaml_scalar(w.name.trim_end_matches('*')),
        yaml_scalar(&w.namespace),
        match_labels_yaml(w, 6)?
    ))
}

#[cfg(test)]
mod tests {
    use super::yaml_scalar;

    /// The short cut writes exactly what serde_yaml writes, over every string of up to four
    /// characters from an alphabet of letters, digits and YAML punctuation, and the words YAML
    /// readers take for booleans, nulls and numbers.
    #[test]
    fn yaml_scalar_quotes_exactly_as_serde_yaml_does() {
        let alphabet: Vec<char> = "aeinoyxAY01-./_: ".chars().collect();
        let mut all: Vec<String> = vec![String::new()];
        let mut last = vec![String::new()];
        for _ in 0..4 {
            last = last
                .iter()
                .flat_map(|p| alphabet.iter().map(move |c| format!("{p}{c}")))
                .collect();
            all.extend(last.iter().cloned());
        }
        let words =
            "y Y yes Yes YES n N no No NO true True TRUE false False FALSE on On ON off Off \
                     OFF null Null NULL ~ .inf .nan inf nan infinity 0x1f 0o17 1e3 1_000 12:30 \
                     web app.kubernetes.io/name my-app-1 a.b.c- v1.2.3";
        all.extend(words.split(' ').map(str::to_string));
        for s in &all {
            let long = serde_yaml::to_string(s).unwrap().trim_end().to_string();
            assert_eq!(yaml_scalar(s), long, "{s:?}");
        }
    }
}
