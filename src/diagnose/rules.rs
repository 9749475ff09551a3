//! The rules: pure functions over a [`Workload`]. Each rule has a stable kebab-case id, a severity, a
//! title, a rationale (`diagnose --explain RULE`) and a generic fix; each finding carries the
//! container, the field path, a message with the computed numbers and a fix as YAML to paste.

use k8s_openapi::api::core::v1::{Container, LifecycleHandler, Probe};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde::Serialize;

use super::model::{int_or_string_text, resolve_int_or_percent, Strategy, Workload};
use crate::target::Kind;

/// How bad a finding is. Ordered: `Info < Warning < Error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// One rule's description.
pub struct Rule {
    pub id: &'static str,
    pub severity: Severity,
    pub category: &'static str,
    pub title: &'static str,
    pub rationale: &'static str,
    /// A generic fix, as YAML with comments.
    pub fix: &'static str,
    check: fn(&Workload) -> Vec<Hit>,
}

impl std::fmt::Debug for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rule").field("id", &self.id).finish()
    }
}

/// What a rule found, before the rule's metadata is attached.
#[derive(Debug, Clone, Default)]
pub struct Hit {
    pub container: Option<String>,
    pub field: String,
    pub message: String,
    pub fix: Option<String>,
}

/// One finding on one workload.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Finding {
    pub rule: String,
    pub severity: Severity,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    pub field: String,
    pub message: String,
    pub why: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

/// The annotation that silences rules on one workload: `graceful.kubectl.io/ignore: "rule-a,rule-b"`.
pub const IGNORE_ANNOTATION: &str = "graceful.kubectl.io/ignore";

/// Runs every rule over a workload, minus those its ignore annotation names. Findings are sorted
/// worst first, then by rule id and container.
pub fn check_workload(w: &Workload) -> Vec<Finding> {
    let ignored = ignored_by_annotation(w);
    let mut out = Vec::new();
    for rule in RULES {
        if ignored.iter().any(|i| i == rule.id) {
            continue;
        }
        for hit in (rule.check)(w) {
            out.push(Finding {
                rule: rule.id.to_string(),
                severity: rule.severity,
                container: hit.container,
                field: hit.field,
                message: hit.message,
                why: rule.rationale.to_string(),
                fix: hit.fix,
            });
        }
    }
    out.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.rule.cmp(&b.rule))
            .then_with(|| a.container.cmp(&b.container))
    });
    out
}

/// The rule ids a workload's annotation silences (workload metadata or pod template).
pub fn ignored_by_annotation(w: &Workload) -> Vec<String> {
    let tmpl = w
        .template
        .metadata
        .as_ref()
        .and_then(|m| m.annotations.as_ref())
        .and_then(|a| a.get(IGNORE_ANNOTATION));
    w.annotations
        .get(IGNORE_ANNOTATION)
        .into_iter()
        .chain(tmpl)
        .flat_map(|v| v.split(','))
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

pub fn find_rule(id: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.id == id)
}

/// Rule ids close to `id` (shared words or small edit distance), for "did you mean".
pub fn near_rules(id: &str) -> Vec<&'static str> {
    let id = id.to_ascii_lowercase();
    let words: Vec<&str> = id.split(['-', '_', ' ']).filter(|w| w.len() > 2).collect();
    let mut scored: Vec<(usize, &'static str)> = RULES
        .iter()
        .filter_map(|r| {
            let d = edit_distance(&id, r.id);
            let shared = words.iter().any(|w| r.id.contains(w));
            (d <= 4 || shared).then_some((d, r.id))
        })
        .collect();
    scored.sort();
    scored.into_iter().take(5).map(|(_, id)| id).collect()
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

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

fn containers(w: &Workload) -> Vec<Container> {
    w.pod_spec().containers
}

fn grace(w: &Workload) -> i64 {
    w.pod_spec()
        .termination_grace_period_seconds
        .unwrap_or(DEFAULT_GRACE)
}

fn has_ports(c: &Container) -> bool {
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
fn serving_containers(w: &Workload) -> Vec<Container> {
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

fn container_field(w: &Workload, c: &str, rest: &str) -> String {
    let base = format!("{}.containers[{c}]", w.pod_spec_field());
    if rest.is_empty() {
        base
    } else {
        format!("{base}.{rest}")
    }
}

fn indent(text: &str, n: usize) -> String {
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
fn nest(path: &[&str], body: &str) -> String {
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
fn pod_spec_fix(w: &Workload, body: &str) -> String {
    nest(w.pod_spec_path(), body)
}

/// A fix inside one container.
fn container_fix(w: &Workload, name: &str, body: &str) -> String {
    pod_spec_fix(
        w,
        &format!("containers:\n- name: {name}\n{}", indent(body, 2)),
    )
}

/// The basename of a command word (`/bin/sh` → `sh`).
fn base(word: &str) -> &str {
    word.rsplit('/').next().unwrap_or(word)
}

fn argv(c: &Container) -> Vec<String> {
    c.command
        .iter()
        .flatten()
        .chain(c.args.iter().flatten())
        .cloned()
        .collect()
}

const SHELLS: &[&str] = &["sh", "bash", "ash", "dash", "zsh", "ksh", "busybox"];

/// The script of `sh -c SCRIPT` (also `bash -ec`, `/bin/sh -c`, `busybox sh -c`).
pub fn shell_script(argv: &[String]) -> Option<String> {
    let mut it = argv.iter().peekable();
    let mut first = it.next()?;
    // `/usr/bin/env [VAR=value …] sh -c …`
    if base(first) == "env" {
        while it
            .peek()
            .is_some_and(|w| w.contains('=') || w.starts_with('-'))
        {
            it.next();
        }
        first = it.next()?;
    }
    if !SHELLS.contains(&base(first)) {
        return None;
    }
    if base(first) == "busybox" && it.peek().is_some_and(|w| SHELLS.contains(&w.as_str())) {
        it.next();
    }
    let mut saw_c = false;
    for w in it {
        if !saw_c {
            if w.starts_with('-') && !w.starts_with("--") && w.contains('c') {
                saw_c = true;
            } else if !w.starts_with('-') {
                // `sh script.sh`: a script file, not -c.
                return None;
            }
            continue;
        }
        return Some(w.clone());
    }
    None
}

/// Words of a shell script or argv, split on whitespace and shell operators.
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| c.is_whitespace() || ";&|()`\"'".contains(c))
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// Seconds of a `sleep` argument: `5`, `5s`, `1.5`, `1m`.
fn sleep_seconds(arg: &str) -> Option<f64> {
    let (num, mult) = match arg.chars().last()? {
        's' => (&arg[..arg.len() - 1], 1.0),
        'm' => (&arg[..arg.len() - 1], 60.0),
        'h' => (&arg[..arg.len() - 1], 3600.0),
        _ => (arg, 1.0),
    };
    num.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v >= 0.0)
        .map(|v| v * mult)
}

/// What a preStop hook does, as far as the spec tells.
#[derive(Debug, Clone, PartialEq)]
pub struct PreStop {
    /// Seconds the hook pauses (native sleep, or `sleep N` in an exec hook); None: unknown (httpGet, other commands).
    pub pause: Option<i64>,
    /// The native `sleep` action.
    pub native_sleep: bool,
    /// An exec hook that runs `sleep`.
    pub exec_sleep: bool,
    /// The exec hook's words (empty for other handlers).
    pub words: Vec<String>,
}

pub fn prestop(c: &Container) -> Option<PreStop> {
    let h: &LifecycleHandler = c.lifecycle.as_ref()?.pre_stop.as_ref()?;
    if let Some(s) = &h.sleep {
        return Some(PreStop {
            pause: Some(s.seconds.max(0)),
            native_sleep: true,
            exec_sleep: false,
            words: vec![],
        });
    }
    if let Some(e) = &h.exec {
        let cmd = e.command.clone().unwrap_or_default();
        let ws: Vec<String> = match shell_script(&cmd) {
            Some(script) => words(&script),
            None => cmd.iter().flat_map(|a| words(a)).collect(),
        };
        let mut total = 0.0;
        let mut found = false;
        for (i, w) in ws.iter().enumerate() {
            if base(w) == "sleep" {
                if let Some(s) = ws.get(i + 1).and_then(|a| sleep_seconds(a)) {
                    total += s;
                    found = true;
                }
            }
        }
        return Some(PreStop {
            pause: found.then_some(total.ceil() as i64),
            native_sleep: false,
            exec_sleep: found,
            words: ws,
        });
    }
    Some(PreStop {
        pause: None,
        native_sleep: false,
        exec_sleep: false,
        words: vec![],
    })
}

fn native_sleep_supported(w: &Workload) -> bool {
    w.version.at_least(1, 30)
}

/// The preStop pause to paste, per version.
fn pause_fix(w: &Workload, seconds: i64) -> String {
    if native_sleep_supported(w) {
        format!("lifecycle:\n  preStop:\n    sleep:\n      seconds: {seconds}")
    } else {
        format!(
            "lifecycle:\n  preStop:\n    exec:\n      command: [\"sleep\", \"{seconds}\"]   # needs a sleep binary in the image"
        )
    }
}

fn probe_handler_eq(a: &Probe, b: &Probe) -> bool {
    a.exec == b.exec && a.http_get == b.http_get && a.tcp_socket == b.tcp_socket && a.grpc == b.grpc
}

fn probe_kill_budget(p: &Probe) -> i32 {
    p.initial_delay_seconds.unwrap_or(0).saturating_add(
        p.failure_threshold
            .unwrap_or(3)
            .saturating_mul(p.period_seconds.unwrap_or(10)),
    )
}

/// The probe's handler as YAML (for fixes that reuse it).
fn probe_handler_yaml(p: &Probe) -> String {
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

fn first_port(c: &Container) -> Option<String> {
    let p = c.ports.as_ref()?.first()?;
    Some(match &p.name {
        Some(n) if !n.is_empty() => n.clone(),
        _ => p.container_port.to_string(),
    })
}

fn hit(container: Option<&str>, field: String, message: String, fix: Option<String>) -> Hit {
    Hit {
        container: container.map(str::to_string),
        field,
        message,
        fix,
    }
}

// ---------------------------------------------------------------------------------------------
// Shutdown timeline.

fn check_prestop_exceeds_grace(w: &Workload) -> Vec<Hit> {
    let g = grace(w);
    containers(w)
        .iter()
        .filter_map(|c| {
            let pause = prestop(c)?.pause?;
            (pause >= g && g > 0).then(|| {
                let want = pause.saturating_add(MIN_DRAIN.max(15));
                hit(
                    Some(&c.name),
                    container_field(w, &c.name, "lifecycle.preStop"),
                    format!(
                        "preStop pauses {pause}s but terminationGracePeriodSeconds is {g}s: the container is SIGKILLed during the hook and never gets SIGTERM"
                    ),
                    Some(pod_spec_fix(
                        w,
                        &format!("terminationGracePeriodSeconds: {want}   # preStop {pause}s + time to drain"),
                    )),
                )
            })
        })
        .collect()
}

fn check_drain_budget_short(w: &Workload) -> Vec<Hit> {
    let g = grace(w);
    if g < SHORT_GRACE {
        return vec![]; // grace-period-short / grace-period-zero say it
    }
    containers(w)
        .iter()
        .filter_map(|c| {
            let pause = prestop(c)?.pause?;
            let left = g.saturating_sub(pause);
            (pause > 0 && pause < g && left < MIN_DRAIN).then(|| {
                hit(
                    Some(&c.name),
                    format!("{}.terminationGracePeriodSeconds", w.pod_spec_field()),
                    format!(
                        "preStop pauses {pause}s of a {g}s grace period: only {left}s remain after SIGTERM to finish in-flight requests (want at least {MIN_DRAIN}s)"
                    ),
                    Some(pod_spec_fix(
                        w,
                        &format!(
                            "terminationGracePeriodSeconds: {}   # preStop {pause}s + drain",
                            pause.saturating_add(20)
                        ),
                    )),
                )
            })
        })
        .collect()
}

fn check_prestop_missing(w: &Workload) -> Vec<Hit> {
    serving_containers(w)
        .iter()
        .filter(|c| prestop(c).is_none())
        .map(|c| {
            let why = if w.services.as_ref().is_some_and(|s| !s.is_empty()) {
                let names: Vec<String> = w
                    .services
                    .iter()
                    .flatten()
                    .filter_map(|s| s.metadata.name.clone())
                    .collect();
                format!("Service {} sends it traffic", names.join(", "))
            } else {
                "it declares ports".to_string()
            };
            hit(
                Some(&c.name),
                container_field(w, &c.name, "lifecycle.preStop"),
                format!(
                    "no preStop pause although {why}: SIGTERM arrives while endpoints still route requests to the pod (errors on every rollout)"
                ),
                Some(container_fix(w, &c.name, &pause_fix(w, PAUSE))),
            )
        })
        .collect()
}

fn check_prestop_no_pause(w: &Workload) -> Vec<Hit> {
    serving_containers(w)
        .iter()
        .filter_map(|c| {
            let p = prestop(c)?;
            if p.pause.is_some() || p.words.is_empty() {
                return None; // a pause, or an httpGet/tcp hook that may wait itself
            }
            let shown = short(&p.words.join(" "), 50);
            Some(hit(
                Some(&c.name),
                container_field(w, &c.name, "lifecycle.preStop.exec"),
                format!(
                    "preStop runs `{shown}` without a pause: unless that command waits for the endpoint removal, the app stops while traffic still arrives"
                ),
                Some(container_fix(
                    w,
                    &c.name,
                    &format!(
                        "lifecycle:\n  preStop:\n    exec:\n      command: [\"sh\", \"-c\", \"sleep {PAUSE} && {}\"]",
                        shown.replace('"', "\\\"")
                    ),
                )),
            ))
        })
        .collect()
}

fn check_prestop_pause_short(w: &Workload) -> Vec<Hit> {
    serving_containers(w)
        .iter()
        .filter_map(|c| {
            let pause = prestop(c)?.pause?;
            (pause < MIN_PAUSE).then(|| {
                hit(
                    Some(&c.name),
                    container_field(w, &c.name, "lifecycle.preStop"),
                    format!(
                        "preStop pauses only {pause}s: endpoint removal reaches kube-proxy, ingress controllers and load balancers in several seconds, so requests still arrive after SIGTERM"
                    ),
                    Some(container_fix(w, &c.name, &pause_fix(w, PAUSE))),
                )
            })
        })
        .collect()
}

fn check_grace_zero(w: &Workload) -> Vec<Hit> {
    if grace(w) != 0 {
        return vec![];
    }
    vec![hit(
        None,
        format!("{}.terminationGracePeriodSeconds", w.pod_spec_field()),
        "terminationGracePeriodSeconds is 0: every container is SIGKILLed at once, no preStop, no drain".into(),
        Some(pod_spec_fix(w, "terminationGracePeriodSeconds: 30")),
    )]
}

fn check_grace_short(w: &Workload) -> Vec<Hit> {
    let g = grace(w);
    if !(1..SHORT_GRACE).contains(&g) {
        return vec![];
    }
    vec![hit(
        None,
        format!("{}.terminationGracePeriodSeconds", w.pod_spec_field()),
        format!(
            "terminationGracePeriodSeconds is {g}s: too short for a preStop pause and a drain; the app is SIGKILLed mid-request"
        ),
        Some(pod_spec_fix(w, "terminationGracePeriodSeconds: 30")),
    )]
}

fn check_grace_long(w: &Workload) -> Vec<Hit> {
    let g = grace(w);
    if g <= LONG_GRACE {
        return vec![];
    }
    let reps = w.replicas.unwrap_or(1).max(1);
    let extra = if reps > 1 {
        format!(
            "; a one-at-a-time rollout of {reps} pods that hang can take {}",
            human(g.saturating_mul(i64::from(reps)))
        )
    } else {
        String::new()
    };
    vec![hit(
        None,
        format!("{}.terminationGracePeriodSeconds", w.pod_spec_field()),
        format!(
            "terminationGracePeriodSeconds is {g}s ({}): a pod that ignores SIGTERM holds every rollout and node drain that long{extra}",
            human(g)
        ),
        Some(pod_spec_fix(w, "terminationGracePeriodSeconds: 60   # preStop pause + the longest request you must finish")),
    )]
}

fn human(secs: i64) -> String {
    let (h, m, s) = (secs / 3600, (secs % 3600) / 60, secs % 60);
    match (h, m, s) {
        (0, 0, s) => format!("{s}s"),
        (0, m, 0) => format!("{m}m"),
        (0, m, s) => format!("{m}m{s}s"),
        (h, 0, 0) => format!("{h}h"),
        (h, m, _) => format!("{h}h{m}m"),
    }
}

// ---------------------------------------------------------------------------------------------
// Signals.

/// The shell of a `sh -c` entry point that keeps SIGTERM from the app, with the script.
pub fn shell_swallows(argv: &[String]) -> Option<String> {
    let script = shell_script(argv)?;
    if script.contains("trap ") || script.contains("trap\t") {
        return None; // the script handles signals itself
    }
    let last = script
        .split(['\n', ';'])
        .flat_map(|s| s.split("&&"))
        .flat_map(|s| s.split("||"))
        .map(str::trim)
        .filter(|s| !s.is_empty() && !s.starts_with('#'))
        .last()?;
    if last.starts_with("exec ") || last == "exec" {
        return None;
    }
    Some(script)
}

fn check_shell_swallows(w: &Workload) -> Vec<Hit> {
    containers(w)
        .iter()
        .filter_map(|c| {
            let av = argv(c);
            let script = shell_swallows(&av)?;
            let shell = av.first().map(|s| base(s).to_string()).unwrap_or_default();
            let field = if c.args.is_some() && shell_script(c.command.as_deref().unwrap_or(&[])).is_none() {
                container_field(w, &c.name, "args")
            } else {
                container_field(w, &c.name, "command")
            };
            let fixed = format!("exec {}", script.trim());
            Some(hit(
                Some(&c.name),
                field,
                format!(
                    "runs the app under `{shell} -c` without exec ({:?}): {shell} is PID 1 and does not forward SIGTERM, so the app is SIGKILLed when the grace period ends",
                    short(&script, 60)
                ),
                Some(container_fix(
                    w,
                    &c.name,
                    &format!(
                        "command: [\"{shell}\", \"-c\"]\nargs:\n- {}   # or exec form: command: [\"prog\", \"arg\"]",
                        yaml_scalar(&fixed)
                    ),
                )),
            ))
        })
        .collect()
}

fn short(s: &str, n: usize) -> String {
    let s = s.trim().replace('\n', " ");
    if s.chars().count() <= n {
        s
    } else {
        format!("{}…", s.chars().take(n).collect::<String>())
    }
}

fn yaml_scalar(s: &str) -> String {
    serde_yaml::to_string(s)
        .map(|t| t.trim_end().to_string())
        .unwrap_or_else(|_| format!("{s:?}"))
}

fn check_prestop_kills(w: &Workload) -> Vec<Hit> {
    containers(w)
        .iter()
        .filter_map(|c| {
            let p = prestop(c)?;
            let kills = p
                .words
                .iter()
                .any(|w| matches!(base(w), "kill" | "pkill" | "killall" | "SIGTERM" | "-TERM" | "-15"));
            kills.then(|| {
                hit(
                    Some(&c.name),
                    container_field(w, &c.name, "lifecycle.preStop.exec"),
                    "preStop sends a signal itself (kill/pkill): a sign that SIGTERM does not reach the app (shell PID 1?); the kubelet sends SIGTERM right after the hook anyway".into(),
                    Some(container_fix(
                        w,
                        &c.name,
                        &format!(
                            "# run the app so it is PID 1 (exec form, or `exec` in the shell), then pause only:\n{}",
                            pause_fix(w, PAUSE)
                        ),
                    )),
                )
            })
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Probes.

fn check_readiness_missing(w: &Workload) -> Vec<Hit> {
    serving_containers(w)
        .iter()
        .filter(|c| c.readiness_probe.is_none())
        .map(|c| {
            let port = first_port(c).unwrap_or_else(|| "8080".into());
            let port_yaml = if port.parse::<i32>().is_ok() {
                port.clone()
            } else {
                yaml_scalar(&port)
            };
            hit(
                Some(&c.name),
                container_field(w, &c.name, "readinessProbe"),
                "no readinessProbe on a container that serves traffic: it receives requests before it listens, and a rollout removes old pods before new ones can serve".into(),
                Some(container_fix(
                    w,
                    &c.name,
                    &format!(
                        "readinessProbe:\n  httpGet:\n    path: /ready   # an endpoint that answers when the app can serve\n    port: {port_yaml}\n  periodSeconds: 5\n  failureThreshold: 2"
                    ),
                )),
            )
        })
        .collect()
}

fn check_liveness_equals_readiness(w: &Workload) -> Vec<Hit> {
    containers(w)
        .iter()
        .filter_map(|c| {
            let (l, r) = (c.liveness_probe.as_ref()?, c.readiness_probe.as_ref()?);
            probe_handler_eq(l, r).then(|| {
                hit(
                    Some(&c.name),
                    container_field(w, &c.name, "livenessProbe"),
                    "livenessProbe checks the same endpoint as readinessProbe: a busy or overloaded app is restarted instead of just taken out of rotation".into(),
                    Some(container_fix(
                        w,
                        &c.name,
                        "livenessProbe:\n  httpGet:\n    path: /livez   # only \"the process is not stuck\", no dependencies\n    port: http\n  periodSeconds: 10\n  failureThreshold: 6",
                    )),
                )
            })
        })
        .collect()
}

fn startup_fix(w: &Workload, c: &Container, l: &Probe, start_secs: i32) -> String {
    let period = 5;
    let threshold =
        (start_secs.saturating_mul(2).saturating_add(period - 1) / period).clamp(6, 10_000);
    container_fix(
        w,
        &c.name,
        &format!(
            "startupProbe:   # allows {}s to start, then liveness takes over\n{}\n  periodSeconds: {period}\n  failureThreshold: {threshold}\nlivenessProbe:\n  initialDelaySeconds: 0   # the startupProbe holds it off",
            threshold.saturating_mul(period),
            indent(&probe_handler_yaml(l), 2)
        ),
    )
}

fn check_liveness_without_startup(w: &Workload) -> Vec<Hit> {
    containers(w)
        .iter()
        .filter_map(|c| {
            let l = c.liveness_probe.as_ref()?;
            if c.startup_probe.is_some() {
                return None;
            }
            let delay = l.initial_delay_seconds.unwrap_or(0);
            if delay < SLOW_START {
                return None;
            }
            let budget = probe_kill_budget(l);
            Some(hit(
                Some(&c.name),
                container_field(w, &c.name, "livenessProbe.initialDelaySeconds"),
                format!(
                    "slow start (livenessProbe.initialDelaySeconds {delay}s) without a startupProbe: a start slower than {budget}s ({delay} + {} × {}s) is killed and restarts in a loop, and every restart waits {delay}s before liveness checks anything",
                    l.failure_threshold.unwrap_or(3),
                    l.period_seconds.unwrap_or(10)
                ),
                Some(startup_fix(w, c, l, delay)),
            ))
        })
        .collect()
}

fn check_liveness_kills_before_ready(w: &Workload) -> Vec<Hit> {
    containers(w)
        .iter()
        .filter_map(|c| {
            let l = c.liveness_probe.as_ref()?;
            let r = c.readiness_probe.as_ref()?;
            if c.startup_probe.is_some() {
                return None;
            }
            let budget = probe_kill_budget(l);
            let ready_delay = r.initial_delay_seconds.unwrap_or(0);
            (ready_delay >= budget).then(|| {
                hit(
                    Some(&c.name),
                    container_field(w, &c.name, "livenessProbe"),
                    format!(
                        "the liveness kill budget is {budget}s ({} + {} × {}s) but readiness only starts checking after {ready_delay}s: an app that needs that long to start is killed before it is ever Ready",
                        l.initial_delay_seconds.unwrap_or(0),
                        l.failure_threshold.unwrap_or(3),
                        l.period_seconds.unwrap_or(10)
                    ),
                    Some(startup_fix(w, c, l, ready_delay)),
                )
            })
        })
        .collect()
}

fn check_readiness_slow_removal(w: &Workload) -> Vec<Hit> {
    containers(w)
        .iter()
        .filter_map(|c| {
            let r = c.readiness_probe.as_ref()?;
            let (ft, p, t) = (
                r.failure_threshold.unwrap_or(3),
                r.period_seconds.unwrap_or(10),
                r.timeout_seconds.unwrap_or(1),
            );
            let removal = ft.saturating_mul(p);
            let secs = removal.saturating_add(t);
            (removal > SLOW_REMOVAL).then(|| {
                hit(
                    Some(&c.name),
                    container_field(w, &c.name, "readinessProbe"),
                    format!(
                        "a failing pod stays in Service endpoints for up to {secs}s ({ft} failures × {p}s period + {t}s timeout) while requests to it fail"
                    ),
                    Some(container_fix(
                        w,
                        &c.name,
                        "readinessProbe:\n  periodSeconds: 5\n  failureThreshold: 2   # out of rotation within ~10s",
                    )),
                )
            })
        })
        .collect()
}

const HEAVY: &[&str] = &[
    "java", "jcmd", "jps", "jstat", "python", "python3", "python2", "node", "ruby", "php", "perl",
    "dotnet", "kubectl", "rails", "bundle", "npm", "npx", "mvn", "gradle",
];

fn check_exec_probe_heavy(w: &Workload) -> Vec<Hit> {
    let mut out = Vec::new();
    for c in containers(w) {
        for (name, p) in [
            ("livenessProbe", &c.liveness_probe),
            ("readinessProbe", &c.readiness_probe),
            ("startupProbe", &c.startup_probe),
        ] {
            let Some(cmd) = p
                .as_ref()
                .and_then(|p| p.exec.as_ref())
                .and_then(|e| e.command.clone())
            else {
                continue;
            };
            let ws: Vec<String> = match shell_script(&cmd) {
                Some(s) => words(&s),
                None => cmd.iter().flat_map(|a| words(a)).collect(),
            };
            if let Some(heavy) = ws.iter().map(|w| base(w)).find(|w| HEAVY.contains(w)) {
                let period = p.as_ref().and_then(|p| p.period_seconds).unwrap_or(10);
                out.push(hit(
                    Some(&c.name),
                    container_field(w, &c.name, &format!("{name}.exec")),
                    format!(
                        "{name} starts `{heavy}` every {period}s: a runtime start-up per probe burns CPU, and under load it times out and fails the probe"
                    ),
                    Some(container_fix(
                        w,
                        &c.name,
                        &format!("{name}:\n  httpGet:   # or tcpSocket / grpc: served by the running app\n    path: /healthz\n    port: http"),
                    )),
                ));
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Rollout.

fn check_recreate(w: &Workload) -> Vec<Hit> {
    if w.strategy != Strategy::Recreate {
        return vec![];
    }
    vec![hit(
        None,
        "spec.strategy.type".into(),
        "strategy Recreate stops every old pod before a new one starts: each rollout and restart is downtime".into(),
        Some("spec:\n  strategy:\n    type: RollingUpdate\n    rollingUpdate:\n      maxSurge: 1\n      maxUnavailable: 0\n".into()),
    )]
}

fn check_single_replica(w: &Workload) -> Vec<Hit> {
    if !matches!(
        w.kind,
        Kind::Deployment | Kind::StatefulSet | Kind::ReplicaSet
    ) {
        return vec![];
    }
    let Some(min) = w.min_replicas() else {
        return vec![];
    };
    if min != 1 {
        return vec![];
    }
    let (field, fix, via) = if w.hpas.as_ref().is_some_and(|h| !h.is_empty()) {
        (
            "HorizontalPodAutoscaler.spec.minReplicas".to_string(),
            "# on the HorizontalPodAutoscaler\nspec:\n  minReplicas: 2\n".to_string(),
            " (its HPA scales down to 1)",
        )
    } else {
        (
            "spec.replicas".to_string(),
            "spec:\n  replicas: 2\n".to_string(),
            "",
        )
    };
    vec![hit(
        None,
        field,
        format!(
            "runs 1 replica{via}: any node drain, eviction or crash is downtime{}",
            if w.kind == Kind::StatefulSet {
                ", and a restart takes the only pod down before its replacement starts"
            } else {
                ""
            }
        ),
        Some(fix),
    )]
}

/// (maxSurge, maxUnavailable) in pods for `replicas`, as the Deployment controller resolves them.
pub fn resolved_surge_unavailable(
    surge: &IntOrString,
    unavail: &IntOrString,
    replicas: i32,
) -> Option<(i32, i32)> {
    let s = resolve_int_or_percent(surge, replicas, true)?;
    let mut u = resolve_int_or_percent(unavail, replicas, false)?;
    if s == 0 && u == 0 {
        u = 1;
    }
    Some((s, u))
}

fn check_rollout_all_unavailable(w: &Workload) -> Vec<Hit> {
    let Strategy::RollingUpdate {
        max_surge,
        max_unavailable,
        explicit,
    } = &w.strategy
    else {
        return vec![];
    };
    match w.kind {
        Kind::Deployment => {
            let r = w.replicas.unwrap_or(1);
            if r < 1 {
                return vec![];
            }
            let Some((s, u)) = resolved_surge_unavailable(max_surge, max_unavailable, r) else {
                return vec![];
            };
            if s == 0 && u >= r {
                return vec![hit(
                    None,
                    "spec.strategy.rollingUpdate".into(),
                    format!(
                        "maxSurge {} and maxUnavailable {} of {r} replica{} resolve to 0 and {u}: a rollout may take every pod down before a new one is Ready",
                        int_or_string_text(max_surge),
                        int_or_string_text(max_unavailable),
                        if r == 1 { "" } else { "s" }
                    ),
                    Some("spec:\n  strategy:\n    rollingUpdate:\n      maxSurge: 1\n      maxUnavailable: 0\n".into()),
                )];
            }
            vec![]
        }
        Kind::StatefulSet if *explicit => {
            let r = w.replicas.unwrap_or(1);
            match resolve_int_or_percent(max_unavailable, r, false) {
                Some(u) if r > 1 && u >= r => vec![hit(
                    None,
                    "spec.updateStrategy.rollingUpdate.maxUnavailable".into(),
                    format!(
                        "maxUnavailable {} of {r} replicas lets a rollout stop every pod at once",
                        int_or_string_text(max_unavailable)
                    ),
                    Some(
                        "spec:\n  updateStrategy:\n    rollingUpdate:\n      maxUnavailable: 1\n"
                            .into(),
                    ),
                )],
                _ => vec![],
            }
        }
        Kind::DaemonSet => {
            // The node count is unknown; 100% is all of them whatever it is.
            let all = matches!(max_unavailable, IntOrString::String(s) if s.trim() == "100%");
            let surge0 = resolve_int_or_percent(max_surge, 100, true) == Some(0);
            if all && surge0 {
                return vec![hit(
                    None,
                    "spec.updateStrategy.rollingUpdate.maxUnavailable".into(),
                    "maxUnavailable 100% with maxSurge 0: a rollout stops the pod on every node at once".into(),
                    Some("spec:\n  updateStrategy:\n    rollingUpdate:\n      maxUnavailable: 1\n".into()),
                )];
            }
            vec![]
        }
        _ => vec![],
    }
}

fn is_percent(v: &IntOrString) -> Option<i64> {
    match v {
        IntOrString::String(s) => s.trim().strip_suffix('%')?.trim().parse().ok(),
        IntOrString::Int(_) => None,
    }
}

fn check_percent_rounding(w: &Workload) -> Vec<Hit> {
    let Strategy::RollingUpdate {
        max_surge,
        max_unavailable,
        explicit: true,
    } = &w.strategy
    else {
        return vec![];
    };
    if w.kind != Kind::Deployment {
        return vec![];
    }
    // Served Deployments always carry the values: the API defaults (25%/25%) are not a choice.
    let default = IntOrString::String("25%".into());
    if w.live && *max_surge == default && *max_unavailable == default {
        return vec![];
    }
    let r = w.replicas.unwrap_or(1);
    if r < 1 {
        return vec![];
    }
    let Some((s, u)) = resolved_surge_unavailable(max_surge, max_unavailable, r) else {
        return vec![];
    };
    let off = |v: &IntOrString, got: i32| {
        is_percent(v).is_some_and(|pct| {
            (i64::from(got) * 100 / i64::from(r))
                .saturating_sub(pct)
                .abs()
                > 10
        })
    };
    if !off(max_surge, s) && !off(max_unavailable, u) {
        return vec![];
    }
    let min_avail = r.saturating_sub(u).max(0);
    vec![hit(
        None,
        "spec.strategy.rollingUpdate".into(),
        format!(
            "with {r} replicas, maxSurge {} rounds up to {s} pod{} and maxUnavailable {} rounds down to {u}: a rollout runs at most {} pods and keeps at least {min_avail} available",
            int_or_string_text(max_surge),
            if s == 1 { "" } else { "s" },
            int_or_string_text(max_unavailable),
            r.saturating_add(s),
        ),
        Some(format!(
            "spec:\n  strategy:\n    rollingUpdate:   # say it in pods\n      maxSurge: {}\n      maxUnavailable: {}\n",
            s.max(1),
            if s.max(1) > 0 { 0 } else { 1 }
        )),
    )]
}

fn check_min_ready_no_readiness(w: &Workload) -> Vec<Hit> {
    if !matches!(
        w.kind,
        Kind::Deployment | Kind::StatefulSet | Kind::DaemonSet | Kind::ReplicaSet
    ) {
        return vec![];
    }
    let cs = containers(w);
    if cs.is_empty() || w.min_ready_seconds > 0 || cs.iter().any(|c| c.readiness_probe.is_some()) {
        return vec![];
    }
    vec![hit(
        None,
        "spec.minReadySeconds".into(),
        "minReadySeconds is 0 and no container has a readinessProbe: a new pod counts as available the moment it starts, so a rollout races through pods that crash seconds later".into(),
        Some("spec:\n  minReadySeconds: 10   # or better: a readinessProbe\n".into()),
    )]
}

fn check_paused(w: &Workload) -> Vec<Hit> {
    if !w.paused {
        return vec![];
    }
    vec![hit(
        None,
        "spec.paused".into(),
        "the Deployment is paused: template changes and `rollout restart` do nothing until it is resumed".into(),
        Some("# kubectl rollout resume deployment/NAME\nspec:\n  paused: false\n".into()),
    )]
}

fn check_revision_history_zero(w: &Workload) -> Vec<Hit> {
    if w.revision_history_limit != Some(0) {
        return vec![];
    }
    vec![hit(
        None,
        "spec.revisionHistoryLimit".into(),
        format!(
            "revisionHistoryLimit is 0: no previous revision is kept, so a bad rollout of this {} cannot be undone with `kubectl rollout undo`",
            w.kind.lower()
        ),
        Some("spec:\n  revisionHistoryLimit: 3\n".into()),
    )]
}

fn check_ondelete(w: &Workload) -> Vec<Hit> {
    if w.strategy != Strategy::OnDelete {
        return vec![];
    }
    vec![hit(
        None,
        "spec.updateStrategy.type".into(),
        format!(
            "updateStrategy OnDelete: a template change or restart does not roll the {}; pods change only when someone deletes them",
            w.kind.lower()
        ),
        Some("spec:\n  updateStrategy:\n    type: RollingUpdate\n".into()),
    )]
}

// ---------------------------------------------------------------------------------------------
// Disruption.

fn check_pdb_missing(w: &Workload) -> Vec<Hit> {
    if !matches!(
        w.kind,
        Kind::Deployment | Kind::StatefulSet | Kind::ReplicaSet
    ) {
        return vec![];
    }
    let Some(pdbs) = &w.pdbs else {
        return vec![];
    };
    let r = w.min_replicas().unwrap_or(1);
    if !pdbs.is_empty() || r < 2 {
        return vec![];
    }
    let labels: String = w
        .pod_labels()
        .map(|l| {
            l.iter()
                .map(|(k, v)| format!("      {k}: {}", yaml_scalar(v)))
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default();
    vec![hit(
        None,
        "PodDisruptionBudget".into(),
        format!(
            "{r} replicas and no PodDisruptionBudget: a node drain or cluster upgrade may evict all of them at once"
        ),
        Some(format!(
            "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata:\n  name: {}\n  namespace: {}\nspec:\n  maxUnavailable: 1\n  selector:\n    matchLabels:\n{labels}\n",
            w.name, w.namespace
        )),
    )]
}

fn check_pdb_blocks(w: &Workload) -> Vec<Hit> {
    let reps = w.min_replicas();
    w.pdbs
        .iter()
        .flatten()
        .filter_map(|p| {
            let name = p.metadata.name.clone().unwrap_or_default();
            let spec = p.spec.as_ref()?;
            let reason = if let Some(mu) = &spec.max_unavailable {
                let zero = match mu {
                    IntOrString::Int(0) => true,
                    IntOrString::Int(_) => false,
                    IntOrString::String(s) => is_percent(mu) == Some(0) || s.trim() == "0",
                };
                zero.then(|| format!("maxUnavailable {}", int_or_string_text(mu)))?
            } else if let Some(ma) = &spec.min_available {
                if is_percent(ma) == Some(100) {
                    format!("minAvailable {}", int_or_string_text(ma))
                } else {
                    let r = reps?;
                    let need = resolve_int_or_percent(ma, r, true)?;
                    if need < r || r == 0 {
                        return None;
                    }
                    format!("minAvailable {} with {r} replica{}", int_or_string_text(ma), if r == 1 { "" } else { "s" })
                }
            } else {
                return None;
            };
            let single = if reps == Some(1) {
                " (a PDB on a single replica)"
            } else {
                ""
            };
            Some(hit(
                None,
                format!("PodDisruptionBudget/{name}.spec"),
                format!(
                    "PodDisruptionBudget {name}: {reason} never allows an eviction{single}: node drains and cluster upgrades hang on these pods"
                ),
                Some(format!(
                    "# PodDisruptionBudget {name}\nspec:\n  maxUnavailable: 1{}\n",
                    if spec.min_available.is_some() { "\n  minAvailable: null   # remove minAvailable" } else { "" }
                )),
            ))
        })
        .collect()
}

fn check_pdb_unhealthy_eviction(w: &Workload) -> Vec<Hit> {
    if !w.version.at_least(1, 27) {
        return vec![];
    }
    w.pdbs
        .iter()
        .flatten()
        .filter(|p| {
            p.spec
                .as_ref()
                .and_then(|s| s.unhealthy_pod_eviction_policy.as_deref())
                != Some("AlwaysAllow")
        })
        .map(|p| {
            let name = p.metadata.name.clone().unwrap_or_default();
            hit(
                None,
                format!("PodDisruptionBudget/{name}.spec.unhealthyPodEvictionPolicy"),
                format!(
                    "PodDisruptionBudget {name} protects pods that are not Ready (policy IfHealthyBudget): a crash-looping pod counts against the budget and can block node drains"
                ),
                Some(format!(
                    "# PodDisruptionBudget {name}\nspec:\n  unhealthyPodEvictionPolicy: AlwaysAllow\n"
                )),
            )
        })
        .collect()
}

fn check_pdb_overlap(w: &Workload) -> Vec<Hit> {
    let pdbs = w.pdbs.as_deref().unwrap_or(&[]);
    if pdbs.len() < 2 {
        return vec![];
    }
    let names: Vec<String> = pdbs
        .iter()
        .filter_map(|p| p.metadata.name.clone())
        .collect();
    vec![hit(
        None,
        "PodDisruptionBudget".into(),
        format!(
            "{} PodDisruptionBudgets select these pods ({}): the Eviction API refuses pods with more than one PDB, so drains fail",
            pdbs.len(),
            names.join(", ")
        ),
        Some("# keep one PodDisruptionBudget per set of pods: delete the others or make their selectors disjoint\n".into()),
    )]
}

fn check_hpa_replicas_set(w: &Workload) -> Vec<Hit> {
    if w.live || !w.replicas_set || w.hpas.as_ref().is_none_or(|h| h.is_empty()) {
        return vec![];
    }
    vec![hit(
        None,
        "spec.replicas".into(),
        format!(
            "spec.replicas {} is set although an HPA scales this {}: every apply resets it to {}, scaling down under load until the HPA reacts",
            w.replicas.unwrap_or(1),
            w.kind.lower(),
            w.replicas.unwrap_or(1)
        ),
        Some("spec:\n  # remove `replicas:` from the manifest; the HPA owns it\n".into()),
    )]
}

fn check_bare_pod(w: &Workload) -> Vec<Hit> {
    if w.kind != Kind::Pod || w.owner.is_some() {
        return vec![];
    }
    vec![hit(
        None,
        "metadata.ownerReferences".into(),
        "a bare Pod: nothing recreates it after an eviction, node drain or node failure".into(),
        Some("# run it as a Deployment (or a Job for one-off work):\napiVersion: apps/v1\nkind: Deployment\nspec:\n  replicas: 2\n  template:   # the pod's metadata and spec\n".into()),
    )]
}

// ---------------------------------------------------------------------------------------------
// Jobs.

fn check_job_disruption(w: &Workload) -> Vec<Hit> {
    let Some(job) = &w.job else {
        return vec![];
    };
    let ignores = job.pod_failure_policy.as_ref().is_some_and(|p| {
        p.rules.iter().any(|r| {
            r.action == "Ignore"
                && r.on_pod_conditions
                    .iter()
                    .flatten()
                    .any(|c| c.type_ == "DisruptionTarget")
        })
    });
    if ignores {
        return vec![];
    }
    let backoff = job.backoff_limit.unwrap_or(6);
    let path = w.job_spec_field();
    let segs: Vec<&str> = path.split('.').collect();
    Some(hit(
        None,
        format!("{path}.podFailurePolicy"),
        format!(
            "no podFailurePolicy ignoring DisruptionTarget: each eviction, preemption or node drain counts against backoffLimit {backoff} and can fail the Job"
        ),
        Some(nest(
            &segs,
            "podFailurePolicy:   # needs template.spec.restartPolicy: Never\n  rules:\n  - action: Ignore\n    onPodConditions:\n    - type: DisruptionTarget",
        )),
    ))
    .into_iter()
    .collect()
}

// ---------------------------------------------------------------------------------------------
// Diagnosability.

fn check_termination_message(w: &Workload) -> Vec<Hit> {
    containers(w)
        .iter()
        .filter(|c| c.termination_message_policy.as_deref() != Some("FallbackToLogsOnError"))
        .map(|c| {
            hit(
                Some(&c.name),
                container_field(w, &c.name, "terminationMessagePolicy"),
                format!(
                    "terminationMessagePolicy is {}: when the app crashes without writing /dev/termination-log, `kubectl describe` shows no reason",
                    c.termination_message_policy.as_deref().unwrap_or("File (default)")
                ),
                Some(container_fix(w, &c.name, "terminationMessagePolicy: FallbackToLogsOnError")),
            )
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Version-aware.

fn check_prestop_sleep_native(w: &Workload) -> Vec<Hit> {
    if !native_sleep_supported(w) {
        return vec![];
    }
    containers(w)
        .iter()
        .filter_map(|c| {
            let p = prestop(c)?;
            let pause = p.pause?;
            // Only a hook that does nothing but sleep can be replaced.
            let only_sleep = p.exec_sleep
                && p.words.iter().all(|w| {
                    matches!(base(w), "sleep" | "sh" | "bash" | "ash" | "-c" | "exec")
                        || sleep_seconds(w).is_some()
                });
            only_sleep.then(|| {
                hit(
                    Some(&c.name),
                    container_field(w, &c.name, "lifecycle.preStop.exec"),
                    format!(
                        "preStop runs a `sleep {pause}` binary: Kubernetes {} has the native sleep action, which needs no shell or sleep in the image (distroless) and cannot fail to exec",
                        w.version
                    ),
                    Some(container_fix(w, &c.name, &pause_fix(w, pause))),
                )
            })
        })
        .collect()
}

fn check_prestop_sleep_unsupported(w: &Workload) -> Vec<Hit> {
    if native_sleep_supported(w) {
        return vec![];
    }
    containers(w)
        .iter()
        .filter_map(|c| {
            let p = prestop(c)?;
            p.native_sleep.then(|| {
                hit(
                    Some(&c.name),
                    container_field(w, &c.name, "lifecycle.preStop.sleep"),
                    format!(
                        "lifecycle.preStop.sleep needs Kubernetes 1.30 (beta, on by default); this cluster is {}: the field is dropped or rejected, so there is no pause",
                        w.version
                    ),
                    Some(container_fix(
                        w,
                        &c.name,
                        &format!(
                            "lifecycle:\n  preStop:\n    exec:\n      command: [\"sleep\", \"{}\"]",
                            p.pause.unwrap_or(PAUSE)
                        ),
                    )),
                )
            })
        })
        .collect()
}

const SIDECARS: &[&str] = &[
    "istio-proxy",
    "envoy",
    "linkerd-proxy",
    "cloud-sql-proxy",
    "cloudsql-proxy",
    "oauth2-proxy",
    "vault-agent",
    "fluent-bit",
    "fluentd",
    "filebeat",
    "otel-collector",
    "opentelemetry-collector",
    "datadog-agent",
    "log-shipper",
];

fn is_helper(c: &Container) -> bool {
    let img = c.image.as_deref().unwrap_or("").to_ascii_lowercase();
    let name = c.name.to_ascii_lowercase();
    SIDECARS.iter().any(|s| name.contains(s) || img.contains(s))
        || name.ends_with("-sidecar")
        || name.ends_with("-proxy")
}

fn check_sidecar_not_native(w: &Workload) -> Vec<Hit> {
    if !w.version.at_least(1, 29) {
        return vec![];
    }
    let cs = containers(w);
    if cs.len() < 2 {
        return vec![];
    }
    let apps: Vec<&Container> = cs.iter().filter(|c| !is_helper(c)).collect();
    if apps.is_empty() {
        return vec![];
    }
    cs.iter()
        .filter(|c| is_helper(c))
        .map(|c| {
            hit(
                Some(&c.name),
                format!("{}.containers[{}]", w.pod_spec_field(), c.name),
                format!(
                    "helper container {} is a regular container: on shutdown it gets SIGTERM together with {} and may stop first, failing their in-flight requests{}; a native sidecar (Kubernetes {} supports them) starts before and stops after the app",
                    c.name,
                    apps.iter().map(|a| a.name.as_str()).collect::<Vec<_>>().join(", "),
                    if w.kind == Kind::Job || w.kind == Kind::CronJob { " (and keeps a Job's pod from completing)" } else { "" },
                    w.version
                ),
                Some(pod_spec_fix(
                    w,
                    &format!(
                        "initContainers:   # move it here from containers\n- name: {}\n  image: {}\n  restartPolicy: Always",
                        c.name,
                        c.image.as_deref().unwrap_or("IMAGE")
                    ),
                )),
            )
        })
        .collect()
}

fn check_native_sidecar_unsupported(w: &Workload) -> Vec<Hit> {
    if w.version.at_least(1, 29) {
        return vec![];
    }
    w.pod_spec()
        .init_containers
        .iter()
        .flatten()
        .filter(|c| c.restart_policy.as_deref() == Some("Always"))
        .map(|c| {
            hit(
                Some(&c.name),
                format!("{}.initContainers[{}].restartPolicy", w.pod_spec_field(), c.name),
                format!(
                    "native sidecars (initContainers with restartPolicy: Always) need Kubernetes 1.29 (on by default; GA 1.33); on {} the field is dropped and the pod waits forever for this init container",
                    w.version
                ),
                Some("# on this version: run the helper as a regular container, or upgrade the cluster to 1.29+\n".into()),
            )
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The registry.

pub static RULES: &[Rule] = &[
    Rule {
        id: "prestop-exceeds-grace",
        severity: Severity::Error,
        category: "shutdown",
        title: "preStop pause as long as the grace period",
        rationale: "terminationGracePeriodSeconds counts from the start of the preStop hook. A hook that pauses as long as the grace period (or longer) is cut off by SIGKILL: the app never receives SIGTERM and dies mid-request.",
        fix: "terminationGracePeriodSeconds: 45   # preStop pause + drain time\n",
        check: check_prestop_exceeds_grace,
    },
    Rule {
        id: "drain-budget-short",
        severity: Severity::Warning,
        category: "shutdown",
        title: "Too little time left after the preStop pause",
        rationale: "After the preStop pause the app gets SIGTERM and must finish in-flight requests before the grace period ends. Less than 5 seconds left means long requests are cut off by SIGKILL.",
        fix: "terminationGracePeriodSeconds: 40   # preStop pause + expected drain\n",
        check: check_drain_budget_short,
    },
    Rule {
        id: "prestop-missing",
        severity: Severity::Warning,
        category: "shutdown",
        title: "No preStop pause on a container that serves traffic",
        rationale: "When a pod is deleted, the kubelet's SIGTERM and the removal of the pod from Service endpoints happen in parallel. Without a preStop pause the app stops listening while kube-proxy, ingress controllers and load balancers still send it requests: errors on every rollout, even with readiness probes.",
        fix: "lifecycle:\n  preStop:\n    sleep:\n      seconds: 10   # Kubernetes 1.30+; older: exec: {command: [\"sleep\", \"10\"]}\n",
        check: check_prestop_missing,
    },
    Rule {
        id: "prestop-without-pause",
        severity: Severity::Info,
        category: "shutdown",
        title: "preStop command on a serving container without a pause",
        rationale: "A preStop hook that only runs a command (e.g. `nginx -s quit`) starts the shutdown at once, while endpoints still route traffic to the pod: the endpoint-removal race remains unless the command itself waits. Put a pause before it.",
        fix: "lifecycle:\n  preStop:\n    exec:\n      command: [\"sh\", \"-c\", \"sleep 10 && nginx -s quit\"]\n",
        check: check_prestop_no_pause,
    },
    Rule {
        id: "prestop-pause-short",
        severity: Severity::Info,
        category: "shutdown",
        title: "preStop pause shorter than endpoint propagation",
        rationale: "The endpoint removal takes seconds to reach every kube-proxy, ingress controller and cloud load balancer. A preStop pause under 3 seconds ends before that, so requests still arrive after SIGTERM. 5–15 seconds is typical.",
        fix: "lifecycle:\n  preStop:\n    sleep:\n      seconds: 10\n",
        check: check_prestop_pause_short,
    },
    Rule {
        id: "grace-period-zero",
        severity: Severity::Error,
        category: "shutdown",
        title: "terminationGracePeriodSeconds is 0",
        rationale: "A grace period of 0 kills every container with SIGKILL immediately: no preStop hook, no SIGTERM, no drain, and the API object disappears before the process is gone.",
        fix: "terminationGracePeriodSeconds: 30\n",
        check: check_grace_zero,
    },
    Rule {
        id: "grace-period-short",
        severity: Severity::Warning,
        category: "shutdown",
        title: "Very short grace period",
        rationale: "A grace period under 5 seconds leaves no room for a preStop pause and for finishing in-flight requests after SIGTERM.",
        fix: "terminationGracePeriodSeconds: 30\n",
        check: check_grace_short,
    },
    Rule {
        id: "grace-period-long",
        severity: Severity::Info,
        category: "shutdown",
        title: "Very long grace period",
        rationale: "A grace period over 5 minutes means a pod that ignores SIGTERM holds every rollout, scale-down and node drain that long. Size it as preStop pause + the longest request to finish.",
        fix: "terminationGracePeriodSeconds: 60\n",
        check: check_grace_long,
    },
    Rule {
        id: "shell-swallows-sigterm",
        severity: Severity::Warning,
        category: "signals",
        title: "App started under a shell without exec",
        rationale: "With `sh -c \"java -jar app.jar\"` the shell is PID 1 and receives SIGTERM; shells do not forward it, so the app keeps running until SIGKILL at the end of the grace period: no graceful shutdown, every stop takes the full grace period. `exec` in the script, or the exec form, makes the app PID 1.",
        fix: "command: [\"sh\", \"-c\"]\nargs: [\"exec java -jar app.jar\"]   # or: command: [\"java\", \"-jar\", \"app.jar\"]\n",
        check: check_shell_swallows,
    },
    Rule {
        id: "prestop-kills-app",
        severity: Severity::Warning,
        category: "signals",
        title: "preStop sends a signal itself",
        rationale: "A preStop hook that runs kill/pkill usually works around an app that never sees the kubelet's SIGTERM (a shell as PID 1). Fix the entry point instead; the kubelet sends SIGTERM right after the hook anyway.",
        fix: "lifecycle:\n  preStop:\n    sleep:\n      seconds: 10\n",
        check: check_prestop_kills,
    },
    Rule {
        id: "readiness-missing",
        severity: Severity::Warning,
        category: "probes",
        title: "No readinessProbe on a container that serves traffic",
        rationale: "Without a readiness probe a pod is Ready as soon as its containers start: traffic arrives before the app listens, and a rolling update removes old pods before the new ones can serve.",
        fix: "readinessProbe:\n  httpGet: {path: /ready, port: http}\n  periodSeconds: 5\n  failureThreshold: 2\n",
        check: check_readiness_missing,
    },
    Rule {
        id: "liveness-equals-readiness",
        severity: Severity::Warning,
        category: "probes",
        title: "livenessProbe identical to readinessProbe",
        rationale: "Readiness answers \"can I take traffic now\"; liveness \"am I stuck beyond repair\". When both check the same endpoint, a pod that is merely busy or waiting on a dependency is restarted, which turns load into a restart storm.",
        fix: "livenessProbe:\n  httpGet: {path: /livez, port: http}\n  failureThreshold: 6\n",
        check: check_liveness_equals_readiness,
    },
    Rule {
        id: "liveness-without-startup",
        severity: Severity::Warning,
        category: "probes",
        title: "Slow start guarded by initialDelaySeconds instead of a startupProbe",
        rationale: "A large liveness initialDelaySeconds (30s or more) says the app starts slowly. Its kill budget (initialDelaySeconds + failureThreshold × periodSeconds) is fixed: a start that is slower once (cold cache, busy node) is killed and loops, and every restart waits the full delay before liveness checks anything. A startupProbe holds liveness off only as long as the start really takes.",
        fix: "startupProbe:\n  httpGet: {path: /livez, port: http}\n  periodSeconds: 5\n  failureThreshold: 24   # up to 120s to start\n",
        check: check_liveness_without_startup,
    },
    Rule {
        id: "liveness-kills-before-ready",
        severity: Severity::Error,
        category: "probes",
        title: "Liveness kills the container before readiness starts checking",
        rationale: "When readiness initialDelaySeconds is at least the liveness kill budget (initialDelaySeconds + failureThreshold × periodSeconds), an app that really needs that long to start is restarted by liveness before it can become Ready: a crash loop.",
        fix: "startupProbe:\n  httpGet: {path: /livez, port: http}\n  periodSeconds: 5\n  failureThreshold: 30\n",
        check: check_liveness_kills_before_ready,
    },
    Rule {
        id: "readiness-slow-removal",
        severity: Severity::Warning,
        category: "probes",
        title: "A failing pod stays in endpoints for long",
        rationale: "A pod leaves Service endpoints after failureThreshold × periodSeconds of failing readiness checks. Beyond 30 seconds, requests keep going to a broken pod for that long.",
        fix: "readinessProbe:\n  periodSeconds: 5\n  failureThreshold: 2\n",
        check: check_readiness_slow_removal,
    },
    Rule {
        id: "exec-probe-heavy",
        severity: Severity::Warning,
        category: "probes",
        title: "exec probe starts a heavy runtime",
        rationale: "An exec probe that starts java, python, node, kubectl … spawns a whole runtime on every check: CPU spikes, and under load the probe times out and fails, restarting or unreadying healthy pods.",
        fix: "readinessProbe:\n  httpGet: {path: /ready, port: http}\n",
        check: check_exec_probe_heavy,
    },
    Rule {
        id: "recreate-strategy",
        severity: Severity::Warning,
        category: "rollout",
        title: "Deployment strategy Recreate",
        rationale: "Recreate deletes every old pod before creating new ones: each rollout and `rollout restart` is downtime by design. Use RollingUpdate unless two versions truly cannot run together.",
        fix: "strategy:\n  type: RollingUpdate\n  rollingUpdate: {maxSurge: 1, maxUnavailable: 0}\n",
        check: check_recreate,
    },
    Rule {
        id: "single-replica",
        severity: Severity::Warning,
        category: "rollout",
        title: "A single replica",
        rationale: "With one replica any disruption (node drain, eviction, crash, StatefulSet restart) is downtime. An HPA whose minReplicas is 1 has the same effect at quiet hours.",
        fix: "replicas: 2\n",
        check: check_single_replica,
    },
    Rule {
        id: "rollout-all-unavailable",
        severity: Severity::Error,
        category: "rollout",
        title: "maxUnavailable allows every pod down with maxSurge 0",
        rationale: "The controller rounds maxSurge up and maxUnavailable down for the replica count. When maxSurge resolves to 0 and maxUnavailable to the replica count (e.g. 1 replica, maxUnavailable 1), a rollout removes every pod before a new one is Ready.",
        fix: "strategy:\n  rollingUpdate: {maxSurge: 1, maxUnavailable: 0}\n",
        check: check_rollout_all_unavailable,
    },
    Rule {
        id: "rollout-percent-rounding",
        severity: Severity::Info,
        category: "rollout",
        title: "maxSurge/maxUnavailable percentages round far from what they say",
        rationale: "Percentages are resolved for the actual replica count: maxSurge rounds up, maxUnavailable rounds down (25% of 2 replicas is a surge of 1 pod = 50%, and 0 unavailable). This rule spells out the numbers when they differ from the percentage by more than 10 points.",
        fix: "strategy:\n  rollingUpdate: {maxSurge: 1, maxUnavailable: 0}\n",
        check: check_percent_rounding,
    },
    Rule {
        id: "min-ready-seconds-no-readiness",
        severity: Severity::Info,
        category: "rollout",
        title: "minReadySeconds 0 and no readinessProbe",
        rationale: "Without a readiness probe and minReadySeconds, a new pod counts as available the instant its containers start: the rollout moves on and removes old pods even if the new ones crash seconds later.",
        fix: "minReadySeconds: 10\n",
        check: check_min_ready_no_readiness,
    },
    Rule {
        id: "deployment-paused",
        severity: Severity::Warning,
        category: "rollout",
        title: "Paused Deployment",
        rationale: "A paused Deployment ignores template changes, including `kubectl rollout restart`: nothing rolls until `kubectl rollout resume`.",
        fix: "paused: false   # kubectl rollout resume deployment/NAME\n",
        check: check_paused,
    },
    Rule {
        id: "revision-history-zero",
        severity: Severity::Warning,
        category: "rollout",
        title: "revisionHistoryLimit 0",
        rationale: "With revisionHistoryLimit 0 the controller keeps no previous ReplicaSet or ControllerRevision: a bad release cannot be rolled back with `kubectl rollout undo` (nor by `restart --rollback-on-failure`).",
        fix: "revisionHistoryLimit: 3\n",
        check: check_revision_history_zero,
    },
    Rule {
        id: "update-strategy-ondelete",
        severity: Severity::Warning,
        category: "rollout",
        title: "StatefulSet/DaemonSet updateStrategy OnDelete",
        rationale: "With OnDelete a template change or `rollout restart` changes nothing until each pod is deleted by hand: restarts silently do not roll.",
        fix: "updateStrategy:\n  type: RollingUpdate\n",
        check: check_ondelete,
    },
    Rule {
        id: "pdb-missing",
        severity: Severity::Warning,
        category: "disruption",
        title: "No PodDisruptionBudget for a multi-replica workload",
        rationale: "Without a PodDisruptionBudget, node drains and cluster upgrades may evict every replica at the same time.",
        fix: "apiVersion: policy/v1\nkind: PodDisruptionBudget\nspec:\n  maxUnavailable: 1\n  selector: {matchLabels: {app: NAME}}\n",
        check: check_pdb_missing,
    },
    Rule {
        id: "pdb-blocks-eviction",
        severity: Severity::Error,
        category: "disruption",
        title: "A PodDisruptionBudget that never allows an eviction",
        rationale: "maxUnavailable 0, minAvailable 100%, or minAvailable ≥ the replica count (a PDB on a single replica) means the Eviction API always answers 429: `kubectl drain` and node upgrades hang forever on these pods.",
        fix: "spec:\n  maxUnavailable: 1\n",
        check: check_pdb_blocks,
    },
    Rule {
        id: "pdb-unhealthy-eviction",
        severity: Severity::Info,
        category: "disruption",
        title: "PodDisruptionBudget protects unhealthy pods",
        rationale: "With the default unhealthyPodEvictionPolicy IfHealthyBudget, pods that are Running but not Ready can only be evicted while the budget has room: a crash-looping pod can block `kubectl drain` and node upgrades. AlwaysAllow (beta on by default 1.27, GA 1.31) lets the Eviction API remove unhealthy pods.",
        fix: "spec:\n  unhealthyPodEvictionPolicy: AlwaysAllow\n",
        check: check_pdb_unhealthy_eviction,
    },
    Rule {
        id: "pdb-overlap",
        severity: Severity::Error,
        category: "disruption",
        title: "Several PodDisruptionBudgets select the same pods",
        rationale: "The Eviction API refuses to evict a pod matched by more than one PodDisruptionBudget (500: \"This pod has more than one PodDisruptionBudget\"): drains fail on it.",
        fix: "# one PodDisruptionBudget per set of pods\n",
        check: check_pdb_overlap,
    },
    Rule {
        id: "hpa-replicas-set",
        severity: Severity::Warning,
        category: "disruption",
        title: "spec.replicas in a manifest of an HPA-scaled workload",
        rationale: "When an HPA scales a workload, a manifest that also sets spec.replicas resets the count on every apply (a sudden scale-down under load). Leave replicas out of the manifest.",
        fix: "# remove spec.replicas\n",
        check: check_hpa_replicas_set,
    },
    Rule {
        id: "bare-pod",
        severity: Severity::Warning,
        category: "disruption",
        title: "A Pod without a controller",
        rationale: "A bare Pod is not recreated after an eviction, node drain or node failure. Run it as a Deployment, StatefulSet or Job.",
        fix: "kind: Deployment\n",
        check: check_bare_pod,
    },
    Rule {
        id: "job-disruption-backoff",
        severity: Severity::Info,
        category: "disruption",
        title: "Job without a podFailurePolicy that ignores disruptions",
        rationale: "Pods of a Job that are evicted, preempted or drained count as failures against backoffLimit. A podFailurePolicy rule `action: Ignore` on the DisruptionTarget condition retries them for free (requires restartPolicy: Never).",
        fix: "podFailurePolicy:\n  rules:\n  - action: Ignore\n    onPodConditions:\n    - type: DisruptionTarget\n",
        check: check_job_disruption,
    },
    Rule {
        id: "termination-message-policy",
        severity: Severity::Info,
        category: "diagnosability",
        title: "terminationMessagePolicy is not FallbackToLogsOnError",
        rationale: "With the default policy File, a container that crashes without writing /dev/termination-log leaves an empty message. FallbackToLogsOnError puts the tail of its log into the container status, where `kubectl describe` and `kubectl graceful explain` show it.",
        fix: "terminationMessagePolicy: FallbackToLogsOnError\n",
        check: check_termination_message,
    },
    Rule {
        id: "prestop-sleep-native",
        severity: Severity::Info,
        category: "version",
        title: "preStop runs a sleep binary where the native sleep action exists",
        rationale: "From Kubernetes 1.30 (beta, on by default; GA 1.34) `lifecycle.preStop.sleep` pauses without executing anything in the container: it works in distroless images and cannot fail with \"executable not found\".",
        fix: "lifecycle:\n  preStop:\n    sleep:\n      seconds: 10\n",
        check: check_prestop_sleep_native,
    },
    Rule {
        id: "prestop-sleep-unsupported",
        severity: Severity::Error,
        category: "version",
        title: "Native preStop sleep on a cluster older than 1.30",
        rationale: "`lifecycle.preStop.sleep` is alpha (off) in 1.29 and unknown before: the API server drops or rejects it and pods get no pause at all. Use an exec `sleep` there.",
        fix: "lifecycle:\n  preStop:\n    exec:\n      command: [\"sleep\", \"10\"]\n",
        check: check_prestop_sleep_unsupported,
    },
    Rule {
        id: "sidecar-not-native",
        severity: Severity::Info,
        category: "version",
        title: "A helper container that could be a native sidecar",
        rationale: "Proxies and log shippers run as regular containers get SIGTERM at the same moment as the app and may exit first, failing the app's last requests. Native sidecars (initContainers with restartPolicy: Always; on by default 1.29, GA 1.33) start before the app and stop after it.",
        fix: "initContainers:\n- name: proxy\n  image: IMAGE\n  restartPolicy: Always\n",
        check: check_sidecar_not_native,
    },
    Rule {
        id: "native-sidecar-unsupported",
        severity: Severity::Error,
        category: "version",
        title: "Native sidecar on a cluster older than 1.29",
        rationale: "initContainers with restartPolicy: Always need Kubernetes 1.29 or newer; older API servers drop the field and the pod waits forever for the never-ending init container.",
        fix: "# run the helper as a regular container on this version\n",
        check: check_native_sidecar_unsupported,
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn shells_without_exec() {
        assert!(shell_swallows(&s(&["sh", "-c", "java -jar app.jar"])).is_some());
        assert!(shell_swallows(&s(&["/bin/bash", "-ec", "cd /app; npm start"])).is_some());
        assert!(shell_swallows(&s(&["/bin/sh", "-c", "exec java -jar app.jar"])).is_none());
        assert!(shell_swallows(&s(&["sh", "-c", "set -e\nmigrate && exec ./server"])).is_none());
        assert!(shell_swallows(&s(&[
            "sh",
            "-c",
            "trap 'kill $PID' TERM; ./a & PID=$!; wait"
        ]))
        .is_none());
        assert!(shell_swallows(&s(&["java", "-jar", "app.jar"])).is_none());
        assert!(shell_swallows(&s(&["sh", "/entrypoint.sh"])).is_none());
        assert!(shell_swallows(&s(&["busybox", "sh", "-c", "httpd -f"])).is_some());
        assert!(shell_swallows(&s(&["/usr/bin/env", "A=1", "bash", "-c", "npm start"])).is_some());
        assert!(shell_swallows(&s(&["/bin/sh", "-e", "-c", "exec npm start"])).is_none());
        assert!(shell_swallows(&s(&["env", "node", "server.js"])).is_none());
    }

    #[test]
    fn sleeps() {
        assert_eq!(sleep_seconds("5"), Some(5.0));
        assert_eq!(sleep_seconds("1m"), Some(60.0));
        assert_eq!(sleep_seconds("2.5s"), Some(2.5));
        assert_eq!(sleep_seconds("x"), None);
        assert_eq!(sleep_seconds("-1"), None);
    }

    #[test]
    fn rounding_like_the_deployment_controller() {
        let p = |x: &str| IntOrString::String(x.into());
        assert_eq!(
            resolved_surge_unavailable(&p("25%"), &p("25%"), 2),
            Some((1, 0))
        );
        assert_eq!(
            resolved_surge_unavailable(&IntOrString::Int(0), &p("10%"), 3),
            Some((0, 1))
        );
        assert_eq!(
            resolved_surge_unavailable(&p("0%"), &p("100%"), 4),
            Some((0, 4))
        );
    }

    #[test]
    fn near_matches() {
        assert!(near_rules("prestop-mising").contains(&"prestop-missing"));
        assert!(near_rules("pdb").contains(&"pdb-missing"));
        assert!(near_rules("zzzzzzzzzzzzzzzz").is_empty());
    }

    #[test]
    fn ids_are_unique_kebab_case() {
        let mut ids: Vec<&str> = RULES.iter().map(|r| r.id).collect();
        for id in &ids {
            assert!(
                id.chars().all(|c| c.is_ascii_lowercase() || c == '-'),
                "{id}"
            );
        }
        ids.sort();
        let n = ids.len();
        ids.dedup();
        assert_eq!(ids.len(), n);
    }
}
