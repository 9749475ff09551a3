//! Every type restart serialises: the NDJSON `RestartEvent`s of `-o json` ([`Event`] in its [`Envelope`]),
//! the `RestartPlan` document of `--dry-run -o json`, each target's state ([`TargetState`]), preflight
//! findings and the run's [`RunOutcome`] (which also decides the exit code). The zero-downtime verdict a
//! target carries is [`ZeroDowntime`] (`zerodowntime/mod.rs`); a failing pod's report is explain's
//! [`PodReport`]. No I/O, no text for people (that is `render.rs`).
//!
//! Keys are printed sorted at every level (each line goes through a `serde_json::Value`), as they have
//! always been; `render.rs`'s tests pin the bytes of every event.

use std::time::{Duration, Instant};

use serde::{Serialize, Serializer};

use super::zerodowntime::ZeroDowntime;
use crate::exit::Exit;
use crate::explain::PodReport;
use crate::signal::Signal;

pub(crate) const API_VERSION: &str = "graceful.kubectl.io/v1alpha1";

/// How much a preflight finding stops the restart (restart's policy over diagnose's rule ids).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub(crate) enum Gate {
    /// Worth knowing; does not stop the restart.
    Warning,
    /// Needs `--force`.
    Risk,
    /// Cannot work as asked, even with `--force`.
    Blocked,
}

/// One preflight finding as restart shows it (`PreflightFinding` events, the plan's `findings`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PreflightFinding {
    /// The `kubectl graceful diagnose` rule id (`diagnose --explain RULE`).
    pub rule: String,
    pub severity: Gate,
    pub message: String,
    /// What to do about it.
    pub fix: String,
}

/// Why one new pod counts as failed (`TargetFailed.failure`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PodFailure {
    pub pod: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    /// CrashLoopBackOff, ErrImagePull, OOMKilled, Error, NotReady …
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    pub restarts: i32,
    /// explain's cause id when it tells more than the container status (`liveness-probe`,
    /// `startup-probe`): a probe kill reads as a bare exit code 137 otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
}

/// Where one target stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub(crate) enum State {
    /// Not started yet.
    Pending,
    Running,
    Complete,
    Failed,
    /// Failed, then returned to its previous template.
    RolledBack,
    /// A signal (Ctrl-C, SIGTERM) arrived while it was running.
    Interrupted,
    /// Its outcome could not be observed (the API server stopped answering).
    Unknown,
    /// Not started because an earlier target failed or the run was interrupted.
    Skipped,
}

impl State {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            State::Pending => "Pending",
            State::Running => "Running",
            State::Complete => "Complete",
            State::Failed => "Failed",
            State::RolledBack => "RolledBack",
            State::Interrupted => "Interrupted",
            State::Unknown => "Unknown",
            State::Skipped => "Skipped",
        }
    }
}

/// One target of the run and where it stands (the `Summary`'s `targets`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TargetState {
    pub target: String,
    pub namespace: String,
    /// RollingUpdate, Recreate, OnDelete (pods evicted one by one) or Eviction (pod targets).
    pub strategy: String,
    pub state: State,
    pub ready: i32,
    pub desired: i32,
    /// What it waits for, or how it ended.
    pub phase: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verdict: Option<String>,
    /// Every change this target needs was made; only waiting was left (an interrupted run need not
    /// restart it again).
    #[serde(skip)]
    pub settled: bool,
    /// Failed because another restart of the same target took over.
    #[serde(skip)]
    pub takeover: bool,
    #[serde(skip)]
    pub started: Option<Instant>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub elapsed_seconds: Option<f64>,
    /// Could its restart have dropped traffic (null: not checked).
    pub zero_downtime: Option<ZeroDowntime>,
}

impl TargetState {
    pub(crate) fn new(target: String, namespace: &str, strategy: &str, desired: i32) -> Self {
        TargetState {
            target,
            namespace: namespace.to_string(),
            settled: false,
            takeover: false,
            strategy: strategy.to_string(),
            state: State::Pending,
            ready: 0,
            desired,
            phase: String::new(),
            verdict: None,
            started: None,
            elapsed_seconds: None,
            zero_downtime: None,
        }
    }

    /// How long it ran (so far, while it runs).
    pub(crate) fn elapsed(&self) -> Option<Duration> {
        match (self.elapsed_seconds, self.started) {
            (Some(s), _) => Some(Duration::from_secs_f64(s)),
            (None, Some(t)) => Some(t.elapsed()),
            _ => None,
        }
    }
}

/// How the whole run ended (`Summary.result`), and the exit code that says so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RunOutcome {
    /// Every target complete.
    Complete,
    /// A target failed (or was rolled back after failing).
    Failed,
    /// A target could not be observed: the API server stopped answering.
    Unknown,
    /// A signal stopped the run.
    Interrupted(Signal),
    /// Preflight refused to start.
    Refused,
}

impl RunOutcome {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            RunOutcome::Complete => "Complete",
            RunOutcome::Failed => "Failed",
            RunOutcome::Unknown => "Unknown",
            RunOutcome::Interrupted(_) => "Interrupted",
            RunOutcome::Refused => "Refused",
        }
    }

    /// 0 complete; 1 failed or refused; 2 not observed; 130/143 for the signal that stopped it.
    pub(crate) fn exit(self) -> Exit {
        match self {
            RunOutcome::Complete => Exit::Ok,
            RunOutcome::Failed | RunOutcome::Refused => Exit::Findings,
            RunOutcome::Unknown => Exit::Error,
            RunOutcome::Interrupted(s) => s.exit(),
        }
    }

    /// The outcome of the targets' states (not interrupted).
    pub(crate) fn of(states: &[TargetState]) -> RunOutcome {
        if states
            .iter()
            .any(|s| matches!(s.state, State::Failed | State::RolledBack))
        {
            RunOutcome::Failed
        } else if states.iter().any(|s| s.state == State::Unknown) {
            RunOutcome::Unknown
        } else {
            RunOutcome::Complete
        }
    }
}

impl Serialize for RunOutcome {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

fn signal_name<S: Serializer>(sig: &Signal, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(sig.name())
}

/// What happened, one `RestartEvent` line each (`type` and the fields of the variant).
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all_fields = "camelCase")]
pub(crate) enum Event {
    PreflightFinding(PreflightFinding),
    TargetStarted {
        strategy: String,
        desired: i32,
        restarted_at: Option<String>,
        detail: String,
    },
    PodEvicted {
        pod: String,
    },
    EvictionBlocked {
        pod: String,
        reason: String,
        retry_in_seconds: f64,
    },
    /// A pod without a controller: its manifest, saved before its eviction.
    PodSaved {
        pod: String,
        path: String,
    },
    PodRecreated {
        pod: String,
        path: String,
    },
    PodReady {
        pod: String,
        ready: i32,
        desired: i32,
    },
    TargetComplete {
        ready: i32,
        desired: i32,
        elapsed_seconds: Option<f64>,
    },
    TargetFailed {
        reason: String,
        failure: Option<PodFailure>,
        verdict: String,
        /// explain's report on the failing pod.
        explain: Option<Box<PodReport>>,
        ready: i32,
        desired: i32,
        elapsed_seconds: Option<f64>,
    },
    TargetUnknown {
        verdict: String,
        ready: i32,
        desired: i32,
        elapsed_seconds: Option<f64>,
    },
    RollbackStarted {
        detail: String,
    },
    RollbackComplete {
        succeeded: bool,
        detail: String,
    },
    Interrupted {
        #[serde(serialize_with = "signal_name")]
        signal: Signal,
        /// Command lines that pick up where the run stopped.
        resume: Vec<String>,
        /// What a second signal left undone, to do by hand.
        unfinished: Vec<String>,
    },
    ZeroDowntime {
        zero_downtime: ZeroDowntime,
    },
    /// The last event.
    Summary {
        result: RunOutcome,
        targets: Vec<TargetState>,
    },
}

/// The envelope every event line has.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Envelope<'a> {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub time: String,
    /// The target's namespace, else the run's.
    pub namespace: &'a str,
    /// `KIND/NAME`, `NAMESPACE/KIND/NAME` outside the run's namespace; absent for run-wide events.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<&'a str>,
    #[serde(flatten)]
    pub event: &'a Event,
}

impl<'a> Envelope<'a> {
    pub(crate) fn new(namespace: &'a str, target: Option<&'a str>, event: &'a Event) -> Self {
        Envelope {
            api_version: API_VERSION,
            kind: "RestartEvent",
            time: now_rfc3339(),
            namespace,
            target,
            event,
        }
    }
}

fn now_rfc3339() -> String {
    jiff::Timestamp::now()
        .round(jiff::Unit::Millisecond)
        .map_or_else(|_| jiff::Timestamp::now().to_string(), |t| t.to_string())
}

/// One planned step, for `--dry-run` and the `RestartPlan` document.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PlanRow {
    pub order: usize,
    pub target: String,
    pub strategy: String,
    pub pods: i32,
    pub action: String,
    pub disruption: String,
    pub findings: Vec<PreflightFinding>,
}

/// `--dry-run -o json`: the whole plan in one document.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RestartPlan<'a> {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub namespace: &'a str,
    pub steps: &'a [PlanRow],
}

impl<'a> RestartPlan<'a> {
    pub(crate) fn new(namespace: &'a str, steps: &'a [PlanRow]) -> Self {
        RestartPlan {
            api_version: API_VERSION,
            kind: "RestartPlan",
            namespace,
            steps,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_map_to_the_documented_exit_codes() {
        assert_eq!(RunOutcome::Complete.exit(), Exit::Ok);
        assert_eq!(RunOutcome::Failed.exit(), Exit::Findings);
        assert_eq!(RunOutcome::Refused.exit(), Exit::Findings);
        assert_eq!(RunOutcome::Unknown.exit(), Exit::Error);
        assert_eq!(
            RunOutcome::Interrupted(Signal::Int).exit(),
            Exit::Interrupted
        );
        assert_eq!(
            RunOutcome::Interrupted(Signal::Term).exit(),
            Exit::Terminated
        );
        let mut states = vec![TargetState::new("deploy/a".into(), "d", "RollingUpdate", 1)];
        states[0].state = State::Unknown;
        assert_eq!(RunOutcome::of(&states), RunOutcome::Unknown);
        states.push(TargetState::new("deploy/b".into(), "d", "RollingUpdate", 1));
        states[1].state = State::RolledBack;
        assert_eq!(RunOutcome::of(&states), RunOutcome::Failed);
    }
}
