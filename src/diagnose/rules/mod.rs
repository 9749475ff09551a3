//! The rules: pure functions over a [`Workload`] and its [`Context`]. Each rule has a stable kebab-case
//! id, a severity, a title, a rationale (`diagnose --explain RULE`) and a generic fix; each finding
//! carries the containers, the field path, a message with the computed numbers and a [`Fix`] to paste.
//! [`check`] is the whole API of a `diagnose` run: one workload, its context, its findings (live or
//! offline alike).
//!
//! The registry is also what `kubectl graceful restart` checks before it writes ([`before_restart`]):
//! some rules look ahead at a restart too ([`Rule::before_restart`], checks in [`restart`]), and a few
//! matter only then ([`RESTART_RULES`]: `diagnose rules` lists them, a plain `diagnose` never runs them).
//! Those findings carry advice in words instead of YAML; restart decides how much each one stops it.

use serde::Serialize;

use super::context::{Context, Restart};
use crate::workload::Workload;

mod diagnosability;
mod disruption;
pub mod fix;
mod helpers;
mod probes;
mod restart;
mod rollout;
mod shutdown;
mod signals;
mod version;

pub use fix::{Fix, FixPart, FixTarget};
pub(crate) use helpers::PAUSE;

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

/// A rule's check in a `diagnose` run.
type Check = fn(&Workload, &Context) -> Vec<Hit>;
/// A rule's check before a restart of the workload.
type LookAhead = fn(&Workload, &Context, &Restart) -> Vec<Hit>;

/// One rule's description (serialized by `diagnose rules -o json` and `--explain -o json`).
pub struct Rule {
    pub id: &'static str,
    pub severity: Severity,
    pub category: &'static str,
    pub title: &'static str,
    pub rationale: &'static str,
    /// A generic fix, as YAML with comments.
    pub fix: &'static str,
    /// What it checks before a restart, when `restart`'s preflight runs it.
    pub before_restart: Option<&'static str>,
    check: Option<Check>,
    look_ahead: Option<LookAhead>,
}

impl Rule {
    /// Checked only before a restart, never by a plain `diagnose`.
    pub fn restart_only(&self) -> bool {
        self.check.is_none()
    }
}

/// The fields every registry entry starts from.
const RULE: Rule = Rule {
    id: "",
    severity: Severity::Info,
    category: "",
    title: "",
    rationale: "",
    fix: "",
    before_restart: None,
    check: None,
    look_ahead: None,
};

impl Serialize for Rule {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut r = s.serialize_struct("Rule", 8)?;
        r.serialize_field("id", self.id)?;
        r.serialize_field("severity", &self.severity)?;
        r.serialize_field("category", self.category)?;
        r.serialize_field("title", self.title)?;
        r.serialize_field("rationale", self.rationale)?;
        r.serialize_field("fix", self.fix)?;
        if let Some(b) = self.before_restart {
            r.serialize_field("beforeRestart", b)?;
        }
        if self.restart_only() {
            r.serialize_field("restartOnly", &true)?;
        }
        r.end()
    }
}

impl std::fmt::Debug for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rule").field("id", &self.id).finish()
    }
}

/// What a rule found, before the rule's metadata is attached.
#[derive(Debug, Clone, Default)]
pub struct Hit {
    /// The containers concerned (empty for workload-level findings).
    pub containers: Vec<String>,
    pub field: String,
    pub message: String,
    pub fix: Option<Fix>,
    /// What to do, in words (findings before a restart, which have no YAML to paste).
    pub advice: Option<String>,
}

/// One finding on one workload.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Finding {
    pub rule: String,
    pub severity: Severity,
    /// The container, or several joined by ", " when one finding covers them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    /// Every container the finding covers, when there are several.
    #[serde(skip_serializing_if = "is_single")]
    pub containers: Vec<String>,
    pub field: String,
    pub message: String,
    /// The rule's rationale (shared, not copied per finding).
    pub why: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<Fix>,
    /// What to do, in words (findings before a restart).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub advice: Option<String>,
}

impl Finding {
    fn of(rule: &Rule, hit: Hit) -> Finding {
        Finding {
            rule: rule.id.to_string(),
            severity: rule.severity,
            container: (!hit.containers.is_empty()).then(|| hit.containers.join(", ")),
            containers: hit.containers,
            field: hit.field,
            message: hit.message,
            why: rule.rationale,
            fix: hit.fix,
            advice: hit.advice,
        }
    }
}

fn is_single(v: &[String]) -> bool {
    v.len() < 2
}

/// The annotation that silences rules on one workload: `graceful.kubectl.io/ignore: "rule-a,rule-b"`.
pub const IGNORE_ANNOTATION: &str = "graceful.kubectl.io/ignore";

/// Runs every rule of a `diagnose` run over a workload in its context, minus those its ignore
/// annotation names. Findings are sorted worst first, then by rule id and container.
pub fn check(w: &Workload, cx: &Context) -> Vec<Finding> {
    let ignored = ignored_by_annotation(w);
    let mut out = Vec::new();
    for rule in RULES {
        let Some(check) = rule.check else { continue };
        if ignored.iter().any(|i| i == rule.id) {
            continue;
        }
        out.extend(check(w, cx).into_iter().map(|h| Finding::of(rule, h)));
    }
    out.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.rule.cmp(&b.rule))
            .then_with(|| a.container.cmp(&b.container))
    });
    out
}

/// Runs the rules that look ahead at a restart, in registry order. The ignore annotation does not
/// apply: silencing a finding in a report must not let a restart hang on a budget it was warned of.
pub fn before_restart(w: &Workload, cx: &Context, r: &Restart) -> Vec<Finding> {
    all()
        .filter_map(|rule| Some((rule, rule.look_ahead?)))
        .flat_map(|(rule, look)| look(w, cx, r).into_iter().map(|h| Finding::of(rule, h)))
        .collect()
}

/// Every rule: those of a `diagnose` run, then those checked only before a restart.
pub fn all() -> impl Iterator<Item = &'static Rule> {
    RULES.iter().chain(RESTART_RULES)
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
    all().find(|r| r.id == id)
}

/// Rule ids close to `id` (shared words or small edit distance), for "did you mean".
pub fn near_rules(id: &str) -> Vec<&'static str> {
    let id = id.to_ascii_lowercase();
    let words: Vec<&str> = id.split(['-', '_', ' ']).filter(|w| w.len() > 2).collect();
    let mut scored: Vec<(usize, &'static str)> = all()
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
// The registry.

pub static RULES: &[Rule] = &[
    Rule {
        id: "prestop-exceeds-grace",
        severity: Severity::Error,
        category: "shutdown",
        title: "preStop pause as long as the grace period",
        rationale: "terminationGracePeriodSeconds counts from the start of the preStop hook. A hook that pauses as long as the grace period (or longer) is cut off by SIGKILL: the app never receives SIGTERM and dies mid-request.",
        fix: "terminationGracePeriodSeconds: 45   # preStop pause + drain time\n",
        check: Some(shutdown::check_prestop_exceeds_grace),
        ..RULE
    },
    Rule {
        id: "drain-budget-short",
        severity: Severity::Warning,
        category: "shutdown",
        title: "Too little time left after the preStop pause",
        rationale: "After the preStop pause the app gets SIGTERM and must finish in-flight requests before the grace period ends. Less than 5 seconds left means long requests are cut off by SIGKILL.",
        fix: "terminationGracePeriodSeconds: 40   # preStop pause + expected drain\n",
        check: Some(shutdown::check_drain_budget_short),
        ..RULE
    },
    Rule {
        id: "prestop-missing",
        severity: Severity::Warning,
        category: "shutdown",
        title: "No preStop pause on a container that serves traffic",
        rationale: "When a pod is deleted, the kubelet's SIGTERM and the removal of the pod from Service endpoints happen in parallel. Without a preStop pause the app stops listening while kube-proxy, ingress controllers and load balancers still send it requests: errors on every rollout, even with readiness probes. A container serves traffic when a Service that selects the pod targets one of its ports (metrics ports do not count), or when clients reach it on the node (hostPort, hostNetwork), where external load balancers need the pause to notice. The suggested pause comes with a grace period that fits it.",
        fix: "lifecycle:\n  preStop:\n    sleep:\n      seconds: 10   # Kubernetes 1.30+; older: exec: {command: [\"sleep\", \"10\"]}\n",
        check: Some(shutdown::check_prestop_missing),
        ..RULE
    },
    Rule {
        id: "prestop-without-pause",
        severity: Severity::Info,
        category: "shutdown",
        title: "preStop command on a serving container without a pause",
        rationale: "A preStop hook that only runs a command (e.g. `nginx -s quit`) starts the shutdown at once, while endpoints still route traffic to the pod: the endpoint-removal race remains unless the command itself waits. Put a pause before it.",
        fix: "lifecycle:\n  preStop:\n    exec:\n      command: [\"sh\", \"-c\", \"sleep 10 && nginx -s quit\"]\n",
        check: Some(shutdown::check_prestop_no_pause),
        ..RULE
    },
    Rule {
        id: "prestop-pause-short",
        severity: Severity::Info,
        category: "shutdown",
        title: "preStop pause shorter than endpoint propagation",
        rationale: "The endpoint removal takes seconds to reach every kube-proxy, ingress controller and cloud load balancer. A preStop pause under 3 seconds ends before that, so requests still arrive after SIGTERM. 5–15 seconds is typical.",
        fix: "lifecycle:\n  preStop:\n    sleep:\n      seconds: 10\n",
        check: Some(shutdown::check_prestop_pause_short),
        ..RULE
    },
    Rule {
        id: "grace-period-zero",
        severity: Severity::Error,
        category: "shutdown",
        title: "terminationGracePeriodSeconds is 0",
        rationale: "A grace period of 0 kills every container with SIGKILL immediately: no preStop hook, no SIGTERM, no drain, and the API object disappears before the process is gone.",
        fix: "terminationGracePeriodSeconds: 30\n",
        check: Some(shutdown::check_grace_zero),
        ..RULE
    },
    Rule {
        id: "grace-period-short",
        severity: Severity::Warning,
        category: "shutdown",
        title: "Very short grace period",
        rationale: "A grace period under 5 seconds leaves no room for a preStop pause and for finishing in-flight requests after SIGTERM.",
        fix: "terminationGracePeriodSeconds: 30\n",
        check: Some(shutdown::check_grace_short),
        ..RULE
    },
    Rule {
        id: "grace-period-long",
        severity: Severity::Info,
        category: "shutdown",
        title: "Very long grace period",
        rationale: "A grace period over 5 minutes means a pod that ignores SIGTERM holds every rollout, scale-down and node drain that long. Size it as preStop pause + the longest request to finish.",
        fix: "terminationGracePeriodSeconds: 60\n",
        check: Some(shutdown::check_grace_long),
        ..RULE
    },
    Rule {
        id: "shell-swallows-sigterm",
        severity: Severity::Warning,
        category: "signals",
        title: "App started under a shell without exec",
        rationale: "With `sh -c \"java -jar app.jar\"` the shell is PID 1 and receives SIGTERM; shells do not forward it, so the app keeps running until SIGKILL at the end of the grace period: no graceful shutdown, every stop takes the full grace period. `exec` in the script, or the exec form, makes the app PID 1.",
        fix: "command: [\"sh\", \"-c\"]\nargs: [\"exec java -jar app.jar\"]   # or: command: [\"java\", \"-jar\", \"app.jar\"]\n",
        check: Some(signals::check_shell_swallows),
        ..RULE
    },
    Rule {
        id: "prestop-kills-app",
        severity: Severity::Warning,
        category: "signals",
        title: "preStop sends a signal itself",
        rationale: "A preStop hook that runs kill/pkill usually works around an app that never sees the kubelet's SIGTERM (a shell as PID 1). Fix the entry point instead; the kubelet sends SIGTERM right after the hook anyway.",
        fix: "lifecycle:\n  preStop:\n    sleep:\n      seconds: 10\n",
        check: Some(signals::check_prestop_kills),
        ..RULE
    },
    Rule {
        id: "readiness-missing",
        severity: Severity::Warning,
        category: "probes",
        title: "No readinessProbe on a container that serves traffic",
        rationale: "Without a readiness probe a pod is Ready as soon as its containers start: traffic arrives before the app listens, and a rolling update removes old pods before the new ones can serve. The suggested probe checks the port the Service sends traffic to (tcpSocket, or the database's own ping), which cannot fail on an app that works; an HTTP readiness endpoint, where the app has one, is better.",
        fix: "readinessProbe:\n  tcpSocket: {port: http}   # or httpGet on the app's readiness endpoint\n  periodSeconds: 5\n  failureThreshold: 2\n",
        check: Some(probes::check_readiness_missing),
        before_restart: Some("Every container without a readinessProbe, serving or not: the restart waits for Ready, which without a probe only means started."),
        look_ahead: Some(restart::readiness),
    },
    Rule {
        id: "liveness-equals-readiness",
        severity: Severity::Warning,
        category: "probes",
        title: "livenessProbe identical to readinessProbe and as strict",
        rationale: "Readiness answers \"can I take traffic now\"; liveness \"am I stuck beyond repair\". When both run the same check and liveness gives up no later than readiness (failureThreshold × periodSeconds), a pod that is merely busy or waiting on a dependency is restarted at the moment it is taken out of rotation, which turns load into a restart storm. Keep the check (its type and port) and give liveness a budget several times longer, or point it at an endpoint that only says the process is not stuck.",
        fix: "livenessProbe:   # same handler as readiness, more patient\n  periodSeconds: 10\n  failureThreshold: 9\n",
        check: Some(probes::check_liveness_equals_readiness),
        ..RULE
    },
    Rule {
        id: "liveness-without-startup",
        severity: Severity::Warning,
        category: "probes",
        title: "Slow start guarded by initialDelaySeconds instead of a startupProbe",
        rationale: "A large liveness initialDelaySeconds (30s or more) says the app starts slowly. Its kill budget (initialDelaySeconds + failureThreshold × periodSeconds) is fixed: a start that is slower once (cold cache, busy node) is killed and loops, and every restart waits the full delay before liveness checks anything. A startupProbe holds liveness off only as long as the start really takes.",
        fix: "startupProbe:\n  httpGet: {path: /livez, port: http}\n  periodSeconds: 5\n  failureThreshold: 24   # up to 120s to start\n",
        check: Some(probes::check_liveness_without_startup),
        ..RULE
    },
    Rule {
        id: "liveness-kills-before-ready",
        severity: Severity::Error,
        category: "probes",
        title: "Liveness kills the container before readiness starts checking",
        rationale: "When readiness initialDelaySeconds is at least the liveness kill budget (initialDelaySeconds + failureThreshold × periodSeconds), an app that really needs that long to start is restarted by liveness before it can become Ready: a crash loop.",
        fix: "startupProbe:\n  httpGet: {path: /livez, port: http}\n  periodSeconds: 5\n  failureThreshold: 30\n",
        check: Some(probes::check_liveness_kills_before_ready),
        ..RULE
    },
    Rule {
        id: "readiness-slow-removal",
        severity: Severity::Warning,
        category: "probes",
        title: "A failing pod stays in endpoints for long",
        rationale: "A pod leaves Service endpoints after failureThreshold × periodSeconds of failing readiness checks. Beyond 30 seconds, requests keep going to a broken pod for that long.",
        fix: "readinessProbe:\n  periodSeconds: 5\n  failureThreshold: 2\n",
        check: Some(probes::check_readiness_slow_removal),
        ..RULE
    },
    Rule {
        id: "exec-probe-heavy",
        severity: Severity::Warning,
        category: "probes",
        title: "exec probe starts a heavy runtime",
        rationale: "An exec probe that starts java, python, node, kubectl … spawns a whole runtime on every check: CPU spikes, and under load the probe times out and fails, restarting or unreadying healthy pods. A probe served by the running app (tcpSocket on its port, or httpGet/grpc on a health endpoint it has) costs nothing.",
        fix: "readinessProbe:\n  tcpSocket: {port: http}   # or httpGet/grpc on the app's health endpoint\n  exec: null\n",
        check: Some(probes::check_exec_probe_heavy),
        ..RULE
    },
    Rule {
        id: "recreate-strategy",
        severity: Severity::Warning,
        category: "rollout",
        title: "Deployment strategy Recreate",
        rationale: "Recreate deletes every old pod before creating new ones: each rollout and `rollout restart` is downtime by design. Use RollingUpdate unless two versions truly cannot run together.",
        fix: "strategy:\n  type: RollingUpdate\n  rollingUpdate: {maxSurge: 1, maxUnavailable: 0}\n",
        check: Some(rollout::check_recreate),
        before_restart: Some("The same: the restart would stop every pod before the new ones start."),
        look_ahead: Some(restart::recreate),
    },
    Rule {
        id: "single-replica",
        severity: Severity::Warning,
        category: "rollout",
        title: "A single replica",
        rationale: "With one replica any disruption (node drain, eviction, crash, StatefulSet restart) is downtime. An HPA whose minReplicas is 1 has the same effect at quiet hours. The fix adds a replica and, when there is none, a PodDisruptionBudget; a StatefulSet gets no generic fix, as a second replica of a database is a second database unless the app replicates.",
        fix: "replicas: 2\n",
        check: Some(rollout::check_single_replica),
        before_restart: Some("Only when this restart takes the one pod down: one replica and no surge (a StatefulSet, maxSurge 0, or pods evicted one by one under OnDelete)."),
        look_ahead: Some(restart::single_replica),
    },
    Rule {
        id: "rollout-all-unavailable",
        severity: Severity::Error,
        category: "rollout",
        title: "maxUnavailable allows every pod down during a rollout",
        rationale: "The controller rounds maxSurge up and maxUnavailable down for the replica count (the HPA's minReplicas when an HPA scales the workload). When maxUnavailable resolves to the replica count (e.g. 1 replica with maxUnavailable 1 or 100%), a rollout may stop every old pod before a new one is Ready, whatever maxSurge adds: the service is down on every rollout.",
        fix: "strategy:\n  rollingUpdate: {maxSurge: 1, maxUnavailable: 0}\n",
        check: Some(rollout::check_rollout_all_unavailable),
        before_restart: Some("A Deployment of several replicas with maxSurge 0 and maxUnavailable covering them all: the restart may stop every pod at once."),
        look_ahead: Some(restart::all_unavailable),
    },
    Rule {
        id: "rollout-percent-rounding",
        severity: Severity::Info,
        category: "rollout",
        title: "maxSurge/maxUnavailable percentages round far from what they say",
        rationale: "Percentages are resolved for the actual replica count: maxSurge rounds up, maxUnavailable rounds down (25% of 2 replicas is a surge of 1 pod = 50%, and 0 unavailable). This rule spells out the numbers when they differ from the percentage by more than 10 points.",
        fix: "strategy:\n  rollingUpdate: {maxSurge: 1, maxUnavailable: 0}\n",
        check: Some(rollout::check_percent_rounding),
        ..RULE
    },
    Rule {
        id: "min-ready-seconds-no-readiness",
        severity: Severity::Info,
        category: "rollout",
        title: "minReadySeconds 0 and no readinessProbe",
        rationale: "Without a readiness probe and minReadySeconds, a new pod counts as available the instant its containers start: the rollout moves on and removes old pods even if the new ones crash seconds later.",
        fix: "minReadySeconds: 10\n",
        check: Some(rollout::check_min_ready_no_readiness),
        ..RULE
    },
    Rule {
        id: "deployment-paused",
        severity: Severity::Warning,
        category: "rollout",
        title: "Paused Deployment",
        rationale: "A paused Deployment ignores template changes, including `kubectl rollout restart`: nothing rolls until `kubectl rollout resume`.",
        fix: "paused: false   # kubectl rollout resume deployment/NAME\n",
        check: Some(rollout::check_paused),
        before_restart: Some("The same: a paused Deployment rolls nothing, and kubectl refuses to restart it too."),
        look_ahead: Some(restart::paused),
    },
    Rule {
        id: "revision-history-zero",
        severity: Severity::Warning,
        category: "rollout",
        title: "revisionHistoryLimit 0",
        rationale: "With revisionHistoryLimit 0 the controller keeps no previous ReplicaSet or ControllerRevision: a bad release cannot be rolled back with `kubectl rollout undo` (nor by `restart --rollback-on-failure`).",
        fix: "revisionHistoryLimit: 3\n",
        check: Some(rollout::check_revision_history_zero),
        ..RULE
    },
    Rule {
        id: "update-strategy-ondelete",
        severity: Severity::Warning,
        category: "rollout",
        title: "StatefulSet/DaemonSet updateStrategy OnDelete",
        rationale: "With OnDelete a template change or `rollout restart` changes nothing until each pod is deleted by hand: restarts silently do not roll.",
        fix: "updateStrategy:\n  type: RollingUpdate\n",
        check: Some(rollout::check_ondelete),
        ..RULE
    },
    Rule {
        id: "pdb-missing",
        severity: Severity::Warning,
        category: "disruption",
        title: "No PodDisruptionBudget for a multi-replica workload",
        rationale: "Without a PodDisruptionBudget, node drains and cluster upgrades may evict every replica at the same time.",
        fix: "apiVersion: policy/v1\nkind: PodDisruptionBudget\nspec:\n  maxUnavailable: 1\n  selector: {matchLabels: {app: NAME}}\n",
        check: Some(disruption::check_pdb_missing),
        ..RULE
    },
    Rule {
        id: "pdb-blocks-eviction",
        severity: Severity::Error,
        category: "disruption",
        title: "A PodDisruptionBudget that never allows an eviction",
        rationale: "maxUnavailable 0, minAvailable 100%, or minAvailable ≥ the replica count (a PDB on a single replica) means the Eviction API always answers 429: `kubectl drain` and node upgrades hang forever on these pods.",
        fix: "spec:\n  maxUnavailable: 1\n",
        check: Some(disruption::check_pdb_blocks),
        before_restart: Some("When pods are evicted one by one (OnDelete, pod targets): a budget that allows none of their evictions even with every pod healthy, counted as the disruption controller counts (its status, else the pods it selects; maxUnavailable and percentages count only pods with a controller since 1.23), skipping pods the Eviction API lets go without it (pending, terminating, unready under AlwaysAllow)."),
        look_ahead: Some(restart::pdb_blocks),
    },
    Rule {
        id: "pdb-unhealthy-eviction",
        severity: Severity::Info,
        category: "disruption",
        title: "PodDisruptionBudget protects unhealthy pods",
        rationale: "With the default unhealthyPodEvictionPolicy IfHealthyBudget, pods that are Running but not Ready can only be evicted while the budget has room: a crash-looping pod can block `kubectl drain` and node upgrades. AlwaysAllow (beta on by default 1.27, GA 1.31) lets the Eviction API remove unhealthy pods.",
        fix: "spec:\n  unhealthyPodEvictionPolicy: AlwaysAllow\n",
        check: Some(disruption::check_pdb_unhealthy_eviction),
        ..RULE
    },
    Rule {
        id: "pdb-overlap",
        severity: Severity::Error,
        category: "disruption",
        title: "Several PodDisruptionBudgets select the same pods",
        rationale: "The Eviction API refuses to evict a pod matched by more than one PodDisruptionBudget (500: \"This pod has more than one PodDisruptionBudget\"): drains fail on it.",
        fix: "# one PodDisruptionBudget per set of pods: delete the others, or make their selectors disjoint\n",
        check: Some(disruption::check_pdb_overlap),
        before_restart: Some("When pods are evicted one by one (OnDelete, pod targets): the Eviction API answers 500 for a pod with two budgets."),
        look_ahead: Some(restart::pdb_overlap),
    },
    Rule {
        id: "pdb-no-spread",
        severity: Severity::Info,
        category: "disruption",
        title: "Replicas protected by a PDB but not spread across nodes",
        rationale: "A PodDisruptionBudget limits evictions, not failures: when the one node (or zone) that holds every replica fails, is reclaimed (spot, preemptible) or is shut down, all replicas go at once and the PDB cannot help. The scheduler's default spreading is only a preference; podAntiAffinity or topologySpreadConstraints on kubernetes.io/hostname keep replicas on different nodes.",
        fix: "topologySpreadConstraints:\n- maxSkew: 1\n  topologyKey: kubernetes.io/hostname\n  whenUnsatisfiable: ScheduleAnyway\n  labelSelector: {matchLabels: {app: NAME}}\n",
        check: Some(disruption::check_pdb_no_spread),
        ..RULE
    },
    Rule {
        id: "hpa-replicas-set",
        severity: Severity::Warning,
        category: "disruption",
        title: "spec.replicas in a manifest of an HPA-scaled workload",
        rationale: "When an HPA scales a workload, a manifest that also sets spec.replicas resets the count on every apply (a sudden scale-down under load). Leave replicas out of the manifest. Live, the last `kubectl apply` (its last-applied-configuration annotation) tells whether the manifest sets it.",
        fix: "spec:\n  replicas: null   # remove it from the manifest\n",
        check: Some(disruption::check_hpa_replicas_set),
        ..RULE
    },
    Rule {
        id: "bare-pod",
        severity: Severity::Warning,
        category: "disruption",
        title: "A Pod without a controller",
        rationale: "A bare Pod is not recreated after an eviction, node drain or node failure. Run it as a Deployment (with a PodDisruptionBudget), or as a Job when it runs to completion. Helm hook pods (the helm.sh/hook annotation) are left alone.",
        fix: "kind: Deployment\n",
        check: Some(disruption::check_bare_pod),
        before_restart: Some("A pod target without a controller: it is down from its eviction until it is created again from its saved manifest."),
        look_ahead: Some(restart::bare_pod),
    },
    Rule {
        id: "job-disruption-backoff",
        severity: Severity::Info,
        category: "disruption",
        title: "Job without a podFailurePolicy that ignores disruptions",
        rationale: "Pods of a Job that are evicted, preempted or drained count as failures against backoffLimit. A podFailurePolicy rule `action: Ignore` on the DisruptionTarget condition retries them for free (requires restartPolicy: Never).",
        fix: "podFailurePolicy:\n  rules:\n  - action: Ignore\n    onPodConditions:\n    - type: DisruptionTarget\n",
        check: Some(disruption::check_job_disruption),
        ..RULE
    },
    Rule {
        id: "termination-message-policy",
        severity: Severity::Info,
        category: "diagnosability",
        title: "terminationMessagePolicy is not FallbackToLogsOnError (once per workload)",
        rationale: "With the default policy File, a container that crashes without writing /dev/termination-log leaves an empty message. FallbackToLogsOnError puts the tail of its log into the container status, where `kubectl describe` and `kubectl graceful explain` show it.",
        fix: "terminationMessagePolicy: FallbackToLogsOnError\n",
        check: Some(diagnosability::check_termination_message),
        ..RULE
    },
    Rule {
        id: "prestop-sleep-native",
        severity: Severity::Info,
        category: "version",
        title: "preStop runs a sleep binary where the native sleep action exists",
        rationale: "From Kubernetes 1.30 (beta, on by default; GA 1.34) `lifecycle.preStop.sleep` pauses without executing anything in the container: it works in distroless images and cannot fail with \"executable not found\".",
        fix: "lifecycle:\n  preStop:\n    sleep:\n      seconds: 10\n",
        check: Some(version::check_prestop_sleep_native),
        ..RULE
    },
    Rule {
        id: "prestop-sleep-unsupported",
        severity: Severity::Error,
        category: "version",
        title: "Native preStop sleep on a cluster older than 1.30",
        rationale: "`lifecycle.preStop.sleep` is alpha (off) in 1.29 and unknown before: the API server drops or rejects it and pods get no pause at all. Use an exec `sleep` there.",
        fix: "lifecycle:\n  preStop:\n    exec:\n      command: [\"sleep\", \"10\"]\n",
        check: Some(version::check_prestop_sleep_unsupported),
        ..RULE
    },
    Rule {
        id: "sidecar-not-native",
        severity: Severity::Info,
        category: "version",
        title: "A helper container that could be a native sidecar",
        rationale: "Proxies and log shippers run as regular containers get SIGTERM at the same moment as the app and may exit first, failing the app's last requests. Native sidecars (initContainers with restartPolicy: Always; on by default 1.29, GA 1.33) start before the app and stop after it.",
        fix: "initContainers:\n- name: proxy\n  image: IMAGE\n  restartPolicy: Always\n",
        check: Some(version::check_sidecar_not_native),
        ..RULE
    },
    Rule {
        id: "native-sidecar-unsupported",
        severity: Severity::Error,
        category: "version",
        title: "Native sidecar on a cluster older than 1.29",
        rationale: "initContainers with restartPolicy: Always need Kubernetes 1.29 or newer; older API servers drop the field and the pod waits forever for the never-ending init container.",
        fix: "# run the helper as a regular container on this version\n",
        check: Some(version::check_native_sidecar_unsupported),
        ..RULE
    },
];

/// Rules checked only before a restart (`kubectl graceful restart`'s preflight): a plain `diagnose`
/// never runs them, `diagnose rules` and `--explain` know them.
pub static RESTART_RULES: &[Rule] = &[
    Rule {
        id: "pdb-exhausted",
        severity: Severity::Warning,
        category: "restart",
        title: "A PodDisruptionBudget allows no disruption right now",
        rationale: "Pods about to be evicted one by one (OnDelete, pod targets) are covered by a PodDisruptionBudget that would allow an eviction when its pods are healthy, but its status allows none now (disruptionsAllowed 0): each eviction is refused with 429 and retried with back-off until enough pods are healthy again.",
        fix: "# wait until the pods of the budget are healthy: kubectl get pdb NAME\n",
        before_restart: Some("The budget's status (disruptionsAllowed) against what its spec would allow with every pod healthy."),
        look_ahead: Some(restart::pdb_exhausted),
        ..RULE
    },
    Rule {
        id: "hpa-present",
        severity: Severity::Info,
        category: "restart",
        title: "A HorizontalPodAutoscaler scales the workload",
        rationale: "An HPA may change the replica count while the restart rolls the pods. The restart follows the current count, so nothing has to change; it is said so the counts in the progress make sense.",
        fix: "# nothing to change: the restart follows the HPA's replica count\n",
        before_restart: Some("An HPA whose scaleTargetRef names the workload."),
        look_ahead: Some(restart::hpa_present),
        ..RULE
    },
    Rule {
        id: "restart-in-progress",
        severity: Severity::Warning,
        category: "restart",
        title: "Another restart is still rolling",
        rationale: "The pod template carries a restartedAt written by `kubectl rollout restart` or another `kubectl graceful restart` (managedFields say which), and that rollout is not complete: a second restart would take it over, and the first one would stop and report that it was taken over.",
        fix: "# wait for it: kubectl rollout status deployment/NAME\n",
        before_restart: Some("The manager of the restartedAt annotation (managedFields) and the rollout status of the workload."),
        look_ahead: Some(restart::in_progress),
        ..RULE
    },
    Rule {
        id: "gitops-managed",
        severity: Severity::Warning,
        category: "restart",
        title: "A controller or GitOps tool manages the workload",
        rationale: "An owning operator, or a GitOps controller (Argo CD, Flux, Helm controllers, Fleet, Config Sync: their field managers, tracking labels or annotations), manages the workload and may sync the restart annotation back, which stops the restart halfway. Restart it through that tool instead.",
        fix: "# restart through the tool, e.g.: argocd app actions run APP restart --kind Deployment --resource-name NAME\n",
        before_restart: Some("Owner references, GitOps field managers in managedFields, Argo CD and Flux labels and annotations."),
        look_ahead: Some(restart::gitops_managed),
        ..RULE
    },
];

#[cfg(test)]
mod tests {
    use super::*;
    use helpers::sleep_seconds;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn shells_without_exec() {
        use crate::podspec::shell_swallows;
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
        assert!(shell_swallows(&s(&["/usr/bin/env", "A=1", "sh", "-c", "npm start"])).is_some());
        // bash runs one simple command in place of itself.
        assert!(shell_swallows(&s(&["/usr/bin/env", "A=1", "bash", "-c", "npm start"])).is_none());
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
    fn near_matches() {
        assert!(near_rules("prestop-mising").contains(&"prestop-missing"));
        assert!(near_rules("pdb").contains(&"pdb-missing"));
        assert!(near_rules("zzzzzzzzzzzzzzzz").is_empty());
    }

    #[test]
    fn ids_are_unique_kebab_case() {
        let mut ids: Vec<&str> = all().map(|r| r.id).collect();
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
