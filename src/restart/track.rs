//! The run's state: where each target stands ([`TargetState`]), changed only here, as the restart
//! reports what happened. Each change becomes a typed [`Event`] that the renderer shows (a line, a
//! progress bar, an NDJSON event); the renderer keeps no state of the run.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::model::{Event, PodFailure, PreflightFinding, RunOutcome, State, TargetState};
use super::render::{Note, Reporter};
use super::zerodowntime::ZeroDowntime;
use crate::explain::PodReport;
use crate::signal::Signal;

/// Tracks every target of one run; shared by all running targets.
pub(crate) struct Tracker {
    pub reporter: Reporter,
    /// The run's namespace (`-n`, else the context's).
    pub namespace: String,
    states: Mutex<Vec<TargetState>>,
}

impl Tracker {
    pub(crate) fn new(reporter: Reporter, namespace: String, states: Vec<TargetState>) -> Self {
        reporter.prepare(states.len());
        Tracker {
            reporter,
            namespace,
            states: Mutex::new(states),
        }
    }

    pub(crate) fn is_json(&self) -> bool {
        self.reporter.is_json()
    }

    pub(crate) fn snapshot(&self) -> Vec<TargetState> {
        self.states.lock().map(|s| s.clone()).unwrap_or_default()
    }

    fn with_state<R>(&self, i: usize, f: impl FnOnce(&mut TargetState) -> R) -> Option<R> {
        let mut s = self.states.lock().ok()?;
        s.get_mut(i).map(f)
    }

    fn state(&self, i: usize) -> TargetState {
        self.with_state(i, |s| s.clone())
            .unwrap_or_else(|| TargetState::new(String::new(), &self.namespace, "", 0))
    }

    /// Shows an event of target `i` (run-wide without one).
    fn emit(&self, i: Option<usize>, event: Event) {
        let state = i.map(|i| self.state(i));
        self.reporter
            .show(i, state.as_ref(), &self.namespace, &event);
    }

    /// A line on stderr between the events: a warning always, a note never with `-o json`.
    pub(crate) fn note(&self, note: Note) {
        if note.is_warning() {
            self.reporter.warn(&note.text());
        } else {
            self.reporter.log(&note.text());
        }
    }

    /// Preflight's findings on a target (shown by its name: the target has not started).
    pub(crate) fn findings(&self, target: &str, findings: &[PreflightFinding]) {
        for f in findings {
            self.reporter
                .finding(target, &self.namespace, &Event::PreflightFinding(f.clone()));
        }
    }

    pub(crate) fn started(&self, i: usize, detail: &str, restarted_at: Option<&str>) {
        let (desired, strategy) = self
            .with_state(i, |s| {
                s.state = State::Running;
                s.started = Some(Instant::now());
                s.phase = "starting".into();
                (s.desired, s.strategy.clone())
            })
            .unwrap_or_default();
        self.emit(
            Some(i),
            Event::TargetStarted {
                strategy,
                desired,
                restarted_at: restarted_at.map(str::to_string),
                detail: detail.to_string(),
            },
        );
    }

    /// Updates counts and phase; shown only when something changed.
    pub(crate) fn progress(&self, i: usize, ready: i32, desired: i32, phase: &str) {
        let changed = self
            .with_state(i, |s| {
                let changed = s.ready != ready || s.desired != desired || s.phase != phase;
                s.ready = ready;
                s.desired = desired;
                s.phase = phase.to_string();
                changed
            })
            .unwrap_or_default();
        if changed {
            let target = self.state(i).target;
            self.reporter.progress(
                i,
                &target,
                &format!("{ready}/{desired} new pods Ready — {phase}"),
            );
        }
    }

    /// Progress of the restart, or (`rollback`) of a rollback, shown without changing the target's counts.
    pub(crate) fn progress_of(
        &self,
        rollback: bool,
        i: usize,
        ready: i32,
        desired: i32,
        phase: &str,
    ) {
        if !rollback {
            return self.progress(i, ready, desired, phase);
        }
        let msg = format!("rollback: {ready}/{desired} previous pods Ready — {phase}");
        let changed = self
            .with_state(i, |s| {
                let changed = s.phase != msg;
                s.phase = msg.clone();
                changed
            })
            .unwrap_or_default();
        if changed {
            self.reporter.progress(i, &self.state(i).target, &msg);
        }
    }

    pub(crate) fn pod_ready(&self, i: usize, pod: &str, ready: i32, desired: i32) {
        self.emit(
            Some(i),
            Event::PodReady {
                pod: pod.to_string(),
                ready,
                desired,
            },
        );
    }

    /// Every change the target needs is made; what is left is waiting (shown as its phase).
    pub(crate) fn settled(&self, i: usize, phase: &str) {
        self.with_state(i, |s| {
            s.settled = true;
            s.phase = phase.to_string();
        });
        self.reporter.status(i, phase);
    }

    /// A bare pod's manifest was saved before its eviction.
    pub(crate) fn saved(&self, i: usize, pod: &str, path: &std::path::Path) {
        self.emit(
            Some(i),
            Event::PodSaved {
                pod: pod.to_string(),
                path: path.display().to_string(),
            },
        );
    }

    /// A bare pod was created again from its saved manifest.
    pub(crate) fn recreated(&self, i: usize, pod: &str, path: &std::path::Path) {
        self.emit(
            Some(i),
            Event::PodRecreated {
                pod: pod.to_string(),
                path: path.display().to_string(),
            },
        );
    }

    pub(crate) fn evicting(&self, i: usize, pod: &str) {
        self.emit(
            Some(i),
            Event::PodEvicted {
                pod: pod.to_string(),
            },
        );
    }

    pub(crate) fn eviction_blocked(&self, i: usize, pod: &str, reason: &str, retry: Duration) {
        self.emit(
            Some(i),
            Event::EvictionBlocked {
                pod: pod.to_string(),
                reason: reason.to_string(),
                retry_in_seconds: retry.as_secs_f64(),
            },
        );
    }

    fn finish(&self, i: usize, state: State, phase: &str, verdict: Option<String>) -> TargetState {
        let s = self
            .with_state(i, |s| {
                s.state = state;
                s.phase = phase.to_string();
                if verdict.is_some() {
                    s.verdict = verdict;
                }
                s.elapsed_seconds = s.started.map(|t| t.elapsed().as_secs_f64());
                s.clone()
            })
            .unwrap_or_else(|| TargetState::new(String::new(), "", "", 0));
        self.reporter.finished(i);
        s
    }

    pub(crate) fn complete(&self, i: usize) {
        let s = self.finish(
            i,
            State::Complete,
            "all new pods Ready, old pods gone",
            None,
        );
        self.emit(
            Some(i),
            Event::TargetComplete {
                ready: s.ready,
                desired: s.desired,
                elapsed_seconds: s.elapsed_seconds,
            },
        );
    }

    /// A failed target, with `explain`'s report on the failing pod when there is one.
    pub(crate) fn failed(
        &self,
        i: usize,
        reason: &str,
        failure: Option<&PodFailure>,
        verdict: String,
        explain: Option<&PodReport>,
    ) {
        let s = self.finish(i, State::Failed, reason, Some(verdict.clone()));
        if reason == super::wait::TAKEN_OVER {
            self.with_state(i, |s| s.takeover = true);
        }
        self.emit(
            Some(i),
            Event::TargetFailed {
                reason: reason.to_string(),
                failure: failure.cloned(),
                verdict,
                explain: explain.map(|r| Box::new(r.clone())),
                ready: s.ready,
                desired: s.desired,
                elapsed_seconds: s.elapsed_seconds,
            },
        );
    }

    /// A target whose outcome could not be observed.
    pub(crate) fn unknown(&self, i: usize, verdict: &str) {
        let s = self.finish(i, State::Unknown, "not observed", Some(verdict.to_string()));
        self.emit(
            Some(i),
            Event::TargetUnknown {
                verdict: verdict.to_string(),
                ready: s.ready,
                desired: s.desired,
                elapsed_seconds: s.elapsed_seconds,
            },
        );
    }

    /// The zero-downtime verdict of a target.
    pub(crate) fn zero_downtime(&self, i: usize, z: ZeroDowntime) {
        self.with_state(i, |s| s.zero_downtime = Some(z.clone()));
        self.emit(Some(i), Event::ZeroDowntime { zero_downtime: z });
    }

    pub(crate) fn rollback_started(&self, i: usize, detail: &str) {
        self.with_state(i, |s| s.phase = "rolling back".into());
        self.emit(
            Some(i),
            Event::RollbackStarted {
                detail: detail.to_string(),
            },
        );
    }

    pub(crate) fn rolled_back(&self, i: usize, ok: bool, detail: &str) {
        self.with_state(i, |s| {
            if ok {
                s.state = State::RolledBack;
            }
            s.phase = detail.to_string();
        });
        self.emit(
            Some(i),
            Event::RollbackComplete {
                succeeded: ok,
                detail: detail.to_string(),
            },
        );
    }

    /// A signal stopped the run: how to resume, and what a second signal left undone.
    pub(crate) fn interrupted(&self, signal: Signal, resume: &[String], unfinished: &[String]) {
        self.emit(
            None,
            Event::Interrupted {
                signal,
                resume: resume.to_vec(),
                unfinished: unfinished.to_vec(),
            },
        );
    }

    /// The last event: the run's outcome and where every target stands.
    pub(crate) fn summary(&self, outcome: RunOutcome, states: &[TargetState]) {
        self.emit(
            None,
            Event::Summary {
                result: outcome,
                targets: states.to_vec(),
            },
        );
    }

    /// Marks targets that never started; running ones become Interrupted when `interrupted`.
    pub(crate) fn close(&self, interrupted: bool) {
        if let Ok(mut states) = self.states.lock() {
            for s in states.iter_mut() {
                match s.state {
                    State::Pending => s.state = State::Skipped,
                    State::Running if interrupted => {
                        s.state = State::Interrupted;
                        s.elapsed_seconds = s.started.map(|t| t.elapsed().as_secs_f64());
                    }
                    _ => {}
                }
            }
        }
        self.reporter.finished_all();
    }
}
