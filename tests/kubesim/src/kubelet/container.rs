//! One container's life on a simulated node, in milliseconds (kubesim's sim clock, or the test
//! bed's wall clock): image pull, creation and config errors, readiness, crashes, probes, the stop
//! sequence and the restart back-off, with upstream's semantics (pkg/kubelet/kuberuntime:
//! kuberuntime_container.go `killContainer`, kuberuntime_manager.go `doBackOff`;
//! pkg/util/flowcontrol/backoff.go).
//!
//! Pure: [`Container::step`] moves it to `now` and returns the kubelet events it would record;
//! [`Container::next_wake`] says when something happens next. kubesim's kubelet and the test
//! bed's drive the same code.

use crate::behavior::Behavior;

/// Restart back-off: 10 s doubling to 5 min; an entry older than 2 × max (10 min) is forgotten.
pub const BACKOFF_INITIAL_MS: i64 = 10_000;
pub const BACKOFF_MAX_MS: i64 = 300_000;
/// The kubelet's PLEG notices an exit within its relist period (1 s), then syncs the pod.
pub const RELIST_MS: i64 = 1_000;
/// `minimumGracePeriodInSeconds`: a container always gets 2 s after SIGTERM.
pub const MIN_GRACE_MS: i64 = 2_000;

#[derive(Debug, Clone, PartialEq)]
pub struct Terminated {
    pub exit_code: i32,
    pub reason: String,
    pub message: Option<String>,
    pub started_at: i64,
    pub finished_at: i64,
    pub container_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum State {
    Waiting {
        reason: String,
        message: Option<String>,
    },
    Running {
        started_at: i64,
    },
    Terminated(Terminated),
}

/// A kubelet event about this container (`involvedObject.fieldPath` names it).
#[derive(Debug, Clone, PartialEq)]
pub struct Ev {
    pub warning: bool,
    pub reason: String,
    pub message: String,
}

fn normal(reason: &str, message: String) -> Ev {
    Ev {
        warning: false,
        reason: reason.into(),
        message,
    }
}
fn warning(reason: &str, message: String) -> Ev {
    Ev {
        warning: true,
        reason: reason.into(),
        message,
    }
}

/// A probe's timing (defaults as the API server fills them in).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Probe {
    pub period_ms: i64,
    pub failure_threshold: i64,
    /// The probe's own `terminationGracePeriodSeconds`, when set.
    pub grace_ms: Option<i64>,
}

/// What the kubelet reads from the container's spec.
#[derive(Debug, Clone, Default)]
pub struct Spec {
    pub name: String,
    pub image: String,
    pub init: bool,
    /// An init container with `restartPolicy: Always` (native sidecar).
    pub sidecar: bool,
    pub has_pre_stop: bool,
    pub pre_stop_ms: i64,
    pub has_post_start: bool,
    pub readiness: Option<Probe>,
    pub liveness: Option<Probe>,
    pub startup: Option<Probe>,
    pub fallback_to_logs: bool,
}

/// One container instance (what the runtime would hold: its id, log and start).
#[derive(Debug, Clone, PartialEq)]
pub struct Instance {
    pub id: String,
    pub log: String,
    pub started_at: i64,
}

/// An ongoing stop: preStop until `term_at`, SIGTERM, exit at `exit_at` with `exit`.
#[derive(Debug, Clone, PartialEq)]
struct Stop {
    term_at: i64,
    exit_at: i64,
    exit: (i32, String),
    /// Restart after it (a probe or postStart kill) or not (pod deletion).
    restart: bool,
    exceeded_event: bool,
}

#[derive(Debug, Clone, PartialEq)]
enum Phase {
    /// The first pull from `from`: `Pulling` announced once, the image there at `at`.
    Pulling {
        from: i64,
        at: i64,
        announced: bool,
    },
    /// Creating until `at` (after the pull, or at once for a restart).
    Creating {
        at: i64,
    },
    /// The image cannot be pulled: next attempt at `retry`, ImagePullBackOff shown from `show_backoff`.
    PullFailing {
        retry: i64,
        show_backoff: i64,
        backoff: i64,
    },
    /// CreateContainerConfigError, retried every 10 s (event only).
    ConfigError {
        retry: i64,
    },
    Running {
        ready_at: Option<i64>,
        crash_at: Option<i64>,
        /// Next failing probe (liveness, startup or readiness) and how many failed so far.
        probe_at: Option<i64>,
        probe_fails: i64,
        started_at_time: Option<i64>,
    },
    Stopping(Stop),
    /// Exited; a new instance starts at `at` (None: never).
    Exited {
        restart_at: Option<i64>,
    },
}

#[derive(Debug, Clone)]
pub struct Container {
    pub spec: Spec,
    pub behavior: Behavior,
    pub state: State,
    pub last_state: Option<Terminated>,
    pub restart_count: i32,
    pub ready: bool,
    pub started: bool,
    pub current: Option<Instance>,
    pub previous: Option<Instance>,
    /// The pod's `terminationGracePeriodSeconds` (probe and postStart kills use it).
    pub pod_grace_ms: i64,
    phase: Phase,
    /// flowcontrol.Backoff entry: (current back-off, last update = finishedAt it was set from).
    backoff: Option<(i64, i64)>,
    /// `pod_NS(UID)` as the kubelet names the pod in back-off messages.
    pod_ref: String,
    ids: u64,
}

/// How the kubelet kills the containers of a pod it fails (see
/// [`Container::kill_for_pod_failure`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PodKill {
    /// The runtime removed them: `ContainerStatusUnknown`.
    Unknown,
    /// SIGKILLed: 137 `Error`.
    Killed,
}
pub use PodKill::{Killed as KILLED, Unknown as UNKNOWN};

/// Go's `time.Duration.String()` for whole seconds: `10s`, `1m20s`, `5m0s`.
pub fn go_duration(ms: i64) -> String {
    let s = ms / 1000;
    if s < 60 {
        format!("{s}s")
    } else {
        format!("{}m{}s", s / 60, s % 60)
    }
}

impl Container {
    /// Whether the app accepts connections at `now` (the service proxy asks): it runs and SIGTERM
    /// has not reached it; an app that ignores SIGTERM keeps serving until it is killed.
    pub fn accepting(&self, now: i64) -> bool {
        match &self.phase {
            Phase::Running { .. } => true,
            Phase::Stopping(s) => {
                now < s.term_at
                    || (self.behavior.sigterm_exit.is_none() && !self.behavior.dies_on_sigterm)
            }
            _ => false,
        }
    }

    pub fn new(spec: Spec, behavior: Behavior, pod_ref: String, now: i64) -> Container {
        Container {
            phase: Phase::Pulling {
                from: now,
                at: now + behavior.start_delay / 2,
                announced: false,
            },
            spec,
            behavior,
            state: State::Waiting {
                reason: "ContainerCreating".into(),
                message: None,
            },
            last_state: None,
            restart_count: 0,
            ready: false,
            started: false,
            current: None,
            previous: None,
            pod_grace_ms: 30_000,
            backoff: None,
            pod_ref,
            ids: 0,
        }
    }

    /// A container as a pod loaded with a status shows it (kubesim's static pods): its state,
    /// restarts and last state, its logs from the annotations; nothing happens by itself until
    /// the pod is deleted.
    pub fn from_status(
        spec: Spec,
        behavior: Behavior,
        pod_ref: String,
        status: &serde_json::Value,
        logs: Option<String>,
        previous_logs: Option<String>,
    ) -> Container {
        let ts = |v: &serde_json::Value, p: &str| {
            crate::util::parse_ts(v.pointer(p).and_then(|x| x.as_str()).unwrap_or("")).unwrap_or(0)
        };
        let terminated = |t: &serde_json::Value| Terminated {
            exit_code: t["exitCode"].as_i64().unwrap_or(0) as i32,
            reason: t["reason"].as_str().unwrap_or("").to_string(),
            message: t["message"].as_str().map(String::from),
            started_at: ts(t, "/startedAt"),
            finished_at: ts(t, "/finishedAt"),
            container_id: t["containerID"].as_str().map(String::from),
        };
        let mut c = Container::new(spec, behavior, pod_ref, 0);
        c.phase = Phase::Exited { restart_at: None };
        c.restart_count = status["restartCount"].as_i64().unwrap_or(0) as i32;
        c.ready = status["ready"].as_bool().unwrap_or(false);
        c.started = status["started"].as_bool().unwrap_or(c.ready);
        c.last_state = status.pointer("/lastState/terminated").map(terminated);
        let id = status["containerID"].as_str().unwrap_or("").to_string();
        let log = logs.or_else(|| c.behavior.logs.clone()).unwrap_or_default();
        if let Some(r) = status.pointer("/state/running") {
            let started_at = ts(r, "/startedAt");
            c.state = State::Running { started_at };
            c.phase = Phase::Running {
                ready_at: None,
                crash_at: None,
                probe_at: None,
                probe_fails: 0,
                started_at_time: None,
            };
            c.current = Some(Instance {
                id,
                log,
                started_at,
            });
        } else if let Some(t) = status.pointer("/state/terminated") {
            let t = terminated(t);
            c.current = Some(Instance {
                id,
                log,
                started_at: t.started_at,
            });
            c.state = State::Terminated(t);
        } else {
            let w = status.pointer("/state/waiting");
            c.state = State::Waiting {
                reason: w
                    .and_then(|w| w["reason"].as_str())
                    .unwrap_or("ContainerCreating")
                    .to_string(),
                message: w.and_then(|w| w["message"].as_str()).map(String::from),
            };
        }
        let previous = previous_logs.or_else(|| c.behavior.previous_logs.clone());
        if let Some(log) = previous {
            c.previous = Some(Instance {
                id: String::new(),
                log,
                started_at: c.last_state.as_ref().map_or(0, |t| t.started_at),
            });
        }
        c
    }

    /// A container that waits for earlier init containers shows `PodInitializing`.
    pub fn new_blocked(spec: Spec, behavior: Behavior, pod_ref: String) -> Container {
        let mut c = Container::new(spec, behavior, pod_ref, i64::MAX / 4);
        c.phase = Phase::Exited { restart_at: None };
        c.state = State::Waiting {
            reason: "PodInitializing".into(),
            message: None,
        };
        c
    }

    /// Let a blocked container start being created now.
    pub fn unblock(&mut self, now: i64) {
        if matches!(self.phase, Phase::Exited { restart_at: None })
            && self.current.is_none()
            && self.last_state.is_none()
            && matches!(&self.state, State::Waiting { reason, .. } if reason == "PodInitializing")
        {
            self.phase = Phase::Pulling {
                from: now,
                at: now + self.behavior.start_delay / 2,
                announced: false,
            };
            self.state = State::Waiting {
                reason: "ContainerCreating".into(),
                message: None,
            };
        }
    }

    pub fn is_running(&self) -> bool {
        matches!(self.state, State::Running { .. })
    }

    /// Has the main process exited for good (no restart pending)?
    pub fn is_done(&self) -> bool {
        matches!(self.phase, Phase::Exited { restart_at: None })
            && matches!(self.state, State::Terminated(_))
    }

    /// Init container finished successfully (or sidecar started).
    pub fn init_complete(&self) -> bool {
        if self.spec.sidecar {
            return self.started;
        }
        matches!(&self.state, State::Terminated(t) if t.exit_code == 0)
    }

    /// Has ever run (this or an earlier instance).
    pub fn ever_ran(&self) -> bool {
        self.current.is_some() || self.previous.is_some()
    }

    pub fn is_stopping(&self) -> bool {
        matches!(self.phase, Phase::Stopping(_))
    }

    pub fn next_wake(&self) -> Option<i64> {
        match &self.phase {
            Phase::Pulling {
                from,
                at,
                announced,
            } => Some(if *announced { *at } else { *from }),
            Phase::Creating { at } => Some(*at),
            Phase::PullFailing {
                retry,
                show_backoff,
                ..
            } => Some(if *show_backoff > 0 {
                *show_backoff
            } else {
                *retry
            }),
            Phase::ConfigError { retry } => Some(*retry),
            Phase::Running {
                ready_at,
                crash_at,
                probe_at,
                started_at_time,
                ..
            } => [*ready_at, *crash_at, *probe_at, *started_at_time]
                .into_iter()
                .flatten()
                .min(),
            Phase::Stopping(s) => Some(if s.term_at > 0 { s.term_at } else { s.exit_at }),
            Phase::Exited { restart_at } => *restart_at,
        }
    }

    fn new_id(&mut self) -> String {
        self.ids += 1;
        let seed = self.pod_ref.bytes().fold(0u64, |h, b| {
            h.wrapping_mul(0x100000001b3).wrapping_add(b as u64)
        });
        let a = seed ^ (self.spec.name.len() as u64).rotate_left(17);
        let b = self.ids.wrapping_mul(0x9e3779b97f4a7c15) ^ seed.rotate_left(7);
        format!(
            "containerd://{a:016x}{b:016x}{:016x}{:016x}",
            a.rotate_left(29) ^ b,
            b.rotate_left(41) ^ 0x2545f4914f6cdd1d
        )
    }

    /// Move to `now`; `restart_policy_restarts(exit_code)` says whether the pod's policy restarts
    /// an exited container. Returns the events recorded.
    pub fn step(&mut self, now: i64, restarts: &dyn Fn(&Container, i32) -> bool) -> Vec<Ev> {
        let mut evs = Vec::new();
        // A few transitions may fall due at once; 16 rounds is far more than any chain.
        for _ in 0..16 {
            if !self.step_once(now, restarts, &mut evs) {
                break;
            }
        }
        evs
    }

    fn step_once(
        &mut self,
        now: i64,
        restarts: &dyn Fn(&Container, i32) -> bool,
        evs: &mut Vec<Ev>,
    ) -> bool {
        let image = self.spec.image.clone();
        match self.phase.clone() {
            Phase::Pulling {
                from,
                at,
                announced,
            } => {
                if !announced {
                    evs.push(normal("Pulling", format!("Pulling image \"{image}\"")));
                    self.phase = Phase::Pulling {
                        from,
                        at,
                        announced: true,
                    };
                    return true;
                }
                if now < at {
                    return false;
                }
                if let Some(err) = self.behavior.image_pull_error.clone() {
                    self.pull_failed(at, &err, BACKOFF_INITIAL_MS, false, evs);
                    return true;
                }
                let ms = self.behavior.start_delay / 2;
                evs.push(normal(
                    "Pulled",
                    format!(
                        "Successfully pulled image \"{image}\" in {ms}ms ({ms}ms including waiting). Image size: 52428800 bytes."
                    ),
                ));
                self.phase = Phase::Creating {
                    at: at + self.behavior.start_delay - self.behavior.start_delay / 2,
                };
                true
            }
            Phase::Creating { at } if now >= at => {
                // kuberuntime_container.go startContainer: the image first, then the config.
                if let Some(err) = self.behavior.config_error.clone() {
                    evs.push(warning("Failed", format!("Error: {err}")));
                    self.state = State::Waiting {
                        reason: "CreateContainerConfigError".into(),
                        message: Some(err),
                    };
                    self.phase = Phase::ConfigError {
                        retry: at + BACKOFF_INITIAL_MS,
                    };
                } else {
                    self.start_instance(at, evs);
                }
                true
            }
            Phase::PullFailing {
                retry,
                show_backoff,
                backoff,
            } => {
                if show_backoff > 0 && now >= show_backoff {
                    evs.push(normal(
                        "BackOff",
                        format!("Back-off pulling image \"{image}\""),
                    ));
                    evs.push(warning("Failed", "Error: ImagePullBackOff".into()));
                    self.state = State::Waiting {
                        reason: "ImagePullBackOff".into(),
                        message: Some(format!("Back-off pulling image \"{image}\"")),
                    };
                    self.phase = Phase::PullFailing {
                        retry,
                        show_backoff: 0,
                        backoff,
                    };
                    return true;
                }
                if now >= retry {
                    let err = self.behavior.image_pull_error.clone().unwrap_or_default();
                    self.pull_failed(retry, &err, (backoff * 2).min(BACKOFF_MAX_MS), true, evs);
                    return true;
                }
                false
            }
            Phase::ConfigError { retry } if now >= retry => {
                let err = self.behavior.config_error.clone().unwrap_or_default();
                evs.push(warning("Failed", format!("Error: {err}")));
                self.phase = Phase::ConfigError {
                    retry: now + BACKOFF_INITIAL_MS,
                };
                true
            }
            Phase::Running {
                ready_at,
                crash_at,
                probe_at,
                probe_fails,
                started_at_time,
            } => {
                let started_at = match self.state {
                    State::Running { started_at } => started_at,
                    _ => now,
                };
                if started_at_time.is_some_and(|t| now >= t) {
                    self.started = true;
                    self.set_running(ready_at, crash_at, probe_at, probe_fails, None);
                    return true;
                }
                if let Some(t) = crash_at.filter(|&t| now >= t) {
                    let (code, reason) = if self.spec.init && !self.spec.sidecar {
                        let code = self.behavior.exit_code.unwrap_or(0) as i32;
                        let reason = self.behavior.reason.clone().unwrap_or_else(|| {
                            if code == 0 { "Completed" } else { "Error" }.into()
                        });
                        (code, reason)
                    } else {
                        let (c, r) = self.behavior.crash_exit();
                        (c as i32, r)
                    };
                    self.exit(t, started_at, code, reason, restarts, evs);
                    return true;
                }
                if ready_at.is_some_and(|t| now >= t) {
                    self.ready = true;
                    self.set_running(None, crash_at, probe_at, probe_fails, started_at_time);
                    return true;
                }
                if let Some(t) = probe_at.filter(|&t| now >= t) {
                    return self.probe_failed(t, probe_fails + 1, evs);
                }
                false
            }
            Phase::Stopping(stop) => {
                let started_at = match self.state {
                    State::Running { started_at } => started_at,
                    _ => now,
                };
                if stop.term_at > 0 && now >= stop.term_at {
                    let mut s = stop.clone();
                    s.term_at = 0;
                    self.phase = Phase::Stopping(s);
                    return true;
                }
                if stop.term_at == 0 && now >= stop.exit_at {
                    if stop.exceeded_event {
                        evs.push(warning(
                            "ExceededGracePeriod",
                            "Container runtime did not kill the pod within specified grace period."
                                .into(),
                        ));
                    }
                    let (code, reason) = stop.exit.clone();
                    if stop.restart {
                        self.exit(stop.exit_at, started_at, code, reason, restarts, evs);
                    } else {
                        self.exit(stop.exit_at, started_at, code, reason, &|_, _| false, evs);
                    }
                    return true;
                }
                false
            }
            Phase::Exited {
                restart_at: Some(at),
            } if now >= at => {
                // flowcontrol.Backoff.Next(key, finishedAt)
                let finished = match &self.state {
                    State::Terminated(t) => t.finished_at,
                    _ => now,
                };
                self.backoff = Some(match self.backoff {
                    Some((b, last)) if finished - last <= 2 * BACKOFF_MAX_MS => {
                        ((b * 2).min(BACKOFF_MAX_MS), finished)
                    }
                    _ => (BACKOFF_INITIAL_MS, finished),
                });
                if let State::Terminated(t) = &self.state {
                    self.last_state = Some(t.clone());
                }
                self.restart_count += 1;
                if self.current.is_some() {
                    self.previous = self.current.take();
                }
                evs.push(normal(
                    "Pulled",
                    format!("Container image \"{image}\" already present on machine"),
                ));
                self.start_instance(now, evs);
                true
            }
            _ => false,
        }
    }

    fn set_running(
        &mut self,
        ready_at: Option<i64>,
        crash_at: Option<i64>,
        probe_at: Option<i64>,
        probe_fails: i64,
        started_at_time: Option<i64>,
    ) {
        self.phase = Phase::Running {
            ready_at,
            crash_at,
            probe_at,
            probe_fails,
            started_at_time,
        };
    }

    fn pull_failed(
        &mut self,
        now: i64,
        err: &str,
        backoff: i64,
        announce: bool,
        evs: &mut Vec<Ev>,
    ) {
        let image = &self.spec.image;
        if announce {
            evs.push(normal("Pulling", format!("Pulling image \"{image}\"")));
        }
        evs.push(warning(
            "Failed",
            format!("Failed to pull image \"{image}\": {err}"),
        ));
        evs.push(warning("Failed", "Error: ErrImagePull".into()));
        self.state = State::Waiting {
            reason: "ErrImagePull".into(),
            message: Some(err.to_string()),
        };
        self.phase = Phase::PullFailing {
            retry: now + backoff,
            show_backoff: now + RELIST_MS,
            backoff,
        };
    }

    fn start_instance(&mut self, now: i64, evs: &mut Vec<Ev>) {
        let name = self.spec.name.clone();
        evs.push(normal("Created", format!("Created container: {name}")));
        evs.push(normal("Started", format!("Started container {name}")));
        let id = self.new_id();
        self.current = Some(Instance {
            id,
            log: self.behavior.logs.clone().unwrap_or_default(),
            started_at: now,
        });
        self.state = State::Running { started_at: now };
        self.ready = false;
        let b = &self.behavior;

        if self.spec.has_post_start && b.post_start_fails {
            evs.push(warning(
                "FailedPostStartHook",
                "PostStartHook failed".into(),
            ));
            self.started = false;
            self.set_running(None, None, None, 0, None);
            self.begin_stop(now, None, "FailedPostStartHook".into(), true, evs);
            return;
        }

        // Init containers (not sidecars) run to completion: `crashAfter` or 1 s.
        if self.spec.init && !self.spec.sidecar {
            self.started = false;
            let run = b.crash_after.unwrap_or(1000);
            self.set_running(None, Some(now + run), None, 0, None);
            return;
        }

        let crash_at = b.crash_after.map(|d| now + d);
        // Startup probe: `started` turns true once it passes; liveness and readiness wait for it.
        if let Some(p) = self.spec.startup.filter(|_| b.startup_fails) {
            self.started = false;
            self.set_running(None, crash_at, Some(now + p.period_ms), 0, None);
            return;
        }
        let started_delay = if self.spec.startup.is_some() {
            b.ready_after.max(0)
        } else {
            0
        };
        self.started = started_delay == 0;
        let ready_at = (!b.never_ready).then_some(now + b.ready_after.max(0));
        let probe_at = if let Some(d) = b
            .liveness_fails_after
            .filter(|_| self.spec.liveness.is_some())
        {
            Some(now + d)
        } else if b.never_ready {
            Some(now + self.spec.readiness.map_or(10_000, |p| p.period_ms))
        } else {
            None
        };
        self.set_running(
            ready_at,
            crash_at,
            probe_at,
            0,
            (!self.started).then_some(now + started_delay),
        );
    }

    /// A probe failed for the `fails`-th time at `at`.
    fn probe_failed(&mut self, at: i64, fails: i64, evs: &mut Vec<Ev>) -> bool {
        let Phase::Running {
            ready_at,
            crash_at,
            started_at_time,
            ..
        } = self.phase.clone()
        else {
            return false;
        };
        let b = &self.behavior;
        // Which probe fails (startup until started, then liveness, else readiness: neverReady), the
        // status its HTTP check got, and for startup and liveness the probe whose failures kill.
        let (probe, status, kills) = if b.startup_fails && !self.started {
            (
                "Startup",
                503,
                Some(self.spec.startup.expect("startup probe")),
            )
        } else if let (Some(_), Some(p)) = (b.liveness_fails_after, self.spec.liveness) {
            ("Liveness", 500, Some(p))
        } else {
            ("Readiness", 503, None)
        };
        evs.push(warning(
            "Unhealthy",
            format!("{probe} probe failed: HTTP probe failed with statuscode: {status}"),
        ));
        match kills {
            Some(p) if fails >= p.failure_threshold => {
                let why = format!(
                    "Container {} failed {} probe, will be restarted",
                    self.spec.name,
                    probe.to_lowercase()
                );
                self.begin_stop(at, p.grace_ms, why, true, evs);
            }
            _ => {
                // The next check: readiness keeps failing too, an event each period.
                let period = kills
                    .or(self.spec.readiness)
                    .map_or(10_000, |p| p.period_ms);
                self.set_running(
                    ready_at,
                    crash_at,
                    Some(at + period),
                    fails,
                    started_at_time,
                );
            }
        }
        true
    }

    /// Stop the running instance (killContainer): `Killing` event, preStop (counted in the grace
    /// period), SIGTERM, at least 2 s more, then SIGKILL. `grace_ms` None = the pod's own.
    pub fn begin_stop(
        &mut self,
        now: i64,
        grace_ms: Option<i64>,
        message: String,
        restart: bool,
        evs: &mut Vec<Ev>,
    ) {
        let grace = grace_ms.unwrap_or(self.pod_grace_ms);
        self.begin_stop_with(now, grace, message, restart, evs)
    }

    fn begin_stop_with(
        &mut self,
        now: i64,
        grace: i64,
        message: String,
        restart: bool,
        evs: &mut Vec<Ev>,
    ) {
        if !self.is_running() || self.is_stopping() {
            return;
        }
        evs.push(normal("Killing", message));
        let b = &self.behavior;
        let mut pre_stop = 0;
        if self.spec.has_pre_stop && grace > 0 {
            if b.pre_stop_fails {
                evs.push(warning("FailedPreStopHook", "PreStopHook failed".into()));
            } else {
                pre_stop = b.pre_stop.unwrap_or(self.spec.pre_stop_ms).min(grace);
            }
        }
        let term_at = now + pre_stop;
        let deadline = term_at + (grace - pre_stop).max(MIN_GRACE_MS);
        let (exit_at, exit, exceeded) = match b.sigterm_exit {
            Some(d) if term_at + d <= deadline => {
                let code = b.sigterm_code() as i32;
                let reason = if code == 0 { "Completed" } else { "Error" };
                (term_at + d, (code, reason.to_string()), false)
            }
            _ if b.exceeds_grace_period => (deadline + 2000, (137, "Error".to_string()), true),
            _ => (deadline, (137, "Error".to_string()), false),
        };
        self.phase = Phase::Stopping(Stop {
            term_at: if pre_stop > 0 { term_at } else { 0 },
            exit_at,
            exit,
            restart,
            exceeded_event: exceeded,
        });
    }

    /// The instance exited at `at`.
    fn exit(
        &mut self,
        at: i64,
        started_at: i64,
        code: i32,
        reason: String,
        restarts: &dyn Fn(&Container, i32) -> bool,
        evs: &mut Vec<Ev>,
    ) {
        let mut message = self.behavior.message.clone();
        if message.is_none() && self.spec.fallback_to_logs && code != 0 {
            message = self
                .current
                .as_ref()
                .map(|i| i.log.clone())
                .filter(|l| !l.is_empty());
        }
        let id = self.current.as_ref().map(|i| i.id.clone());
        self.state = State::Terminated(Terminated {
            exit_code: code,
            reason,
            message,
            started_at,
            finished_at: at,
            container_id: id,
        });
        self.ready = false;
        self.started = false;
        if !restarts(self, code) {
            self.phase = Phase::Exited { restart_at: None };
            return;
        }
        // doBackOff: in back-off while now − finishedAt < the entry's back-off.
        let in_backoff = match self.backoff {
            Some((b, last)) if at - last <= 2 * BACKOFF_MAX_MS => Some(b),
            _ => None,
        };
        match in_backoff {
            None => {
                self.phase = Phase::Exited {
                    restart_at: Some(at + RELIST_MS),
                }
            }
            Some(b) => {
                let name = &self.spec.name;
                evs.push(warning(
                    "BackOff",
                    format!(
                        "Back-off restarting failed container {name} in pod {}",
                        self.pod_ref
                    ),
                ));
                if let State::Terminated(t) = &self.state {
                    self.last_state = Some(t.clone());
                }
                self.previous = self.current.take();
                self.state = State::Waiting {
                    reason: "CrashLoopBackOff".into(),
                    message: Some(format!(
                        "back-off {} restarting failed container={name} pod={}",
                        go_duration(b),
                        self.pod_ref
                    )),
                };
                self.phase = Phase::Exited {
                    restart_at: Some(at + b),
                };
            }
        }
    }

    /// The kubelet kills the container at once and will not restart it. Node-pressure eviction
    /// and node shutdown ([`UNKNOWN`]): the runtime has removed it, so its status is the
    /// kubelet's `ContainerStatusUnknown` (exit 137); `activeDeadlineSeconds` ([`KILLED`]): exit
    /// 137 `Error`.
    pub fn kill_for_pod_failure(&mut self, now: i64, how: PodKill, evs: &mut Vec<Ev>) {
        if self.is_running() {
            let name = self.spec.name.clone();
            evs.push(normal("Killing", format!("Stopping container {name}")));
            let started_at = match self.state {
                State::Running { started_at } => started_at,
                _ => now,
            };
            let unknown = how == PodKill::Unknown;
            self.state = State::Terminated(Terminated {
                exit_code: 137,
                reason: if unknown {
                    "ContainerStatusUnknown"
                } else {
                    "Error"
                }
                .into(),
                message: unknown.then(|| {
                    "The container could not be located when the pod was terminated".into()
                }),
                started_at,
                finished_at: now,
                container_id: if unknown {
                    None
                } else {
                    self.current.as_ref().map(|i| i.id.clone())
                },
            });
        }
        self.ready = false;
        self.started = false;
        self.phase = Phase::Exited { restart_at: None };
    }

    /// The pod is being deleted: stop a running instance, and never start another one.
    pub fn stop_for_deletion(&mut self, now: i64, grace: i64, evs: &mut Vec<Ev>) {
        let name = self.spec.name.clone();
        if self.is_running() {
            if let Phase::Stopping(s) = &mut self.phase {
                // A probe kill already under way: it just will not restart.
                s.restart = false;
                return;
            }
            self.begin_stop_with(now, grace, format!("Stopping container {name}"), false, evs);
        } else {
            if matches!(self.state, State::Waiting { .. }) {
                if let Some(t) = self.last_state.clone().filter(|_| self.current.is_none()) {
                    // In back-off: the last exit is the final state.
                    self.state = State::Terminated(t);
                    self.current = self.previous.take();
                }
            }
            self.phase = Phase::Exited { restart_at: None };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctr(behavior: &str, spec: Spec) -> Container {
        let ann = serde_json::json!({ crate::behavior::BEHAVIOR: behavior });
        let b = crate::behavior::for_container(Some(&ann), &spec.name);
        Container::new(spec, b, "web-1_shop(u1)".into(), 0)
    }

    fn app() -> Spec {
        Spec {
            name: "app".into(),
            image: "shop/web:1".into(),
            ..Spec::default()
        }
    }

    fn always(_: &Container, _: i32) -> bool {
        true
    }

    /// Step at every due time up to `until`, collecting the events.
    fn run_until(c: &mut Container, until: i64) -> Vec<(i64, Ev)> {
        let mut out = Vec::new();
        while let Some(t) = c.next_wake().filter(|&t| t <= until) {
            out.extend(c.step(t, &always).into_iter().map(|e| (t, e)));
        }
        out
    }

    fn reasons(evs: &[(i64, Ev)]) -> Vec<String> {
        evs.iter().map(|(_, e)| e.reason.clone()).collect()
    }

    #[test]
    fn first_restart_is_immediate_then_back_off_doubles_from_10s() {
        // kuberuntime_manager.go doBackOff: no back-off entry before the first crash.
        let mut c = ctr(
            "{startDelay: 0s, readyAfter: 0s, crashAfter: 2s, exitCode: 3}",
            app(),
        );
        run_until(&mut c, 2_000);
        assert!(
            matches!(&c.state, State::Terminated(t) if t.exit_code == 3 && t.reason == "Error")
        );
        assert_eq!(c.restart_count, 0);
        run_until(&mut c, 3_000);
        assert!(
            c.is_running(),
            "restarted right after the relist: {:?}",
            c.state
        );
        assert_eq!(c.restart_count, 1);
        assert_eq!(c.last_state.as_ref().unwrap().exit_code, 3);
        // Second crash at 5 s: CrashLoopBackOff for 10 s.
        let evs = run_until(&mut c, 5_000);
        assert!(reasons(&evs).contains(&"BackOff".to_string()));
        let State::Waiting { reason, message } = &c.state else {
            panic!("{:?}", c.state)
        };
        assert_eq!(reason, "CrashLoopBackOff");
        assert_eq!(
            message.as_deref(),
            Some("back-off 10s restarting failed container=app pod=web-1_shop(u1)")
        );
        assert_eq!(c.restart_count, 1);
        run_until(&mut c, 14_999);
        assert!(!c.is_running());
        run_until(&mut c, 15_000);
        assert!(c.is_running());
        assert_eq!(c.restart_count, 2);
        // Third crash at 17 s: 20 s.
        run_until(&mut c, 17_000);
        assert!(
            matches!(&c.state, State::Waiting { message: Some(m), .. } if m.starts_with("back-off 20s"))
        );
        assert_eq!(c.next_wake(), Some(37_000));
    }

    #[test]
    fn liveness_kill_runs_pre_stop_and_sigterm_with_the_grace_period() {
        let spec = Spec {
            has_pre_stop: true,
            pre_stop_ms: 5_000,
            liveness: Some(Probe {
                period_ms: 10_000,
                failure_threshold: 3,
                grace_ms: None,
            }),
            ..app()
        };
        let mut c = ctr(
            "{startDelay: 0s, readyAfter: 1s, livenessFailsAfter: 10s, sigtermExit: 1s}",
            spec,
        );
        let evs = run_until(&mut c, 30_000);
        let unhealthy = evs.iter().filter(|(_, e)| e.reason == "Unhealthy").count();
        assert_eq!(unhealthy, 3);
        let (t, kill) = evs.iter().find(|(_, e)| e.reason == "Killing").unwrap();
        assert_eq!(*t, 30_000);
        assert_eq!(
            kill.message,
            "Container app failed liveness probe, will be restarted"
        );
        assert!(
            c.is_running() && c.ready,
            "still running and Ready during preStop"
        );
        run_until(&mut c, 35_999);
        assert!(c.is_running());
        run_until(&mut c, 36_000);
        // The app handled SIGTERM: exit 0, not 137.
        assert_eq!(c.last_state.as_ref().map(|t| t.exit_code), None);
        assert!(
            matches!(&c.state, State::Terminated(t) if t.exit_code == 0 && t.finished_at == 36_000)
        );
    }

    #[test]
    fn deleted_pod_stays_ready_during_pre_stop_then_exits_on_sigterm() {
        let spec = Spec {
            has_pre_stop: true,
            pre_stop_ms: 3_000,
            ..app()
        };
        let mut c = ctr("{startDelay: 0s, readyAfter: 0s, sigtermExit: 2s}", spec);
        run_until(&mut c, 1_000);
        assert!(c.ready);
        let mut evs = Vec::new();
        c.stop_for_deletion(10_000, 30_000, &mut evs);
        assert_eq!(evs[0].reason, "Killing");
        assert_eq!(evs[0].message, "Stopping container app");
        run_until(&mut c, 12_999);
        assert!(c.ready && c.is_running());
        run_until(&mut c, 15_000);
        assert!(
            matches!(&c.state, State::Terminated(t) if t.exit_code == 0 && t.finished_at == 15_000)
        );
        assert!(c.is_done(), "no restart after a deletion");
    }

    #[test]
    fn pre_stop_outlasting_the_grace_period_leaves_2s_then_sigkill() {
        let spec = Spec {
            has_pre_stop: true,
            pre_stop_ms: 60_000,
            ..app()
        };
        let mut c = ctr("{startDelay: 0s, readyAfter: 0s, sigtermExit: never}", spec);
        run_until(&mut c, 0);
        let mut evs = Vec::new();
        c.stop_for_deletion(1_000, 10_000, &mut evs);
        run_until(&mut c, 100_000);
        // preStop cut at the 10 s grace period, then minimumGracePeriodInSeconds (2 s).
        assert!(
            matches!(&c.state, State::Terminated(t) if t.exit_code == 137 && t.finished_at == 13_000)
        );
    }

    #[test]
    fn image_pull_errors_alternate_err_image_pull_and_back_off() {
        let mut c = ctr(
            "{startDelay: 1s, imagePullError: 'manifest unknown'}",
            app(),
        );
        let evs = run_until(&mut c, 1_000);
        assert_eq!(reasons(&evs), ["Pulling", "Failed", "Failed"]);
        assert_eq!(
            evs[1].1.message,
            "Failed to pull image \"shop/web:1\": manifest unknown"
        );
        assert_eq!(evs[1].0, 500, "the pull takes half the start delay");
        assert!(matches!(&c.state, State::Waiting { reason, .. } if reason == "ErrImagePull"));
        run_until(&mut c, 2_000);
        assert!(matches!(&c.state, State::Waiting { reason, .. } if reason == "ImagePullBackOff"));
        run_until(&mut c, 11_000);
        assert!(matches!(&c.state, State::Waiting { reason, .. } if reason == "ErrImagePull"));
    }

    #[test]
    fn oom_crash_is_exit_137_oom_killed() {
        let mut c = ctr("{startDelay: 0s, crashAfter: 1s, reason: OOMKilled}", app());
        run_until(&mut c, 1_000);
        assert!(
            matches!(&c.state, State::Terminated(t) if t.exit_code == 137 && t.reason == "OOMKilled")
        );
    }

    #[test]
    fn the_first_start_pulls_the_image_a_restart_finds_it_present() {
        let mut c = ctr("{startDelay: 2s, readyAfter: 0s, crashAfter: 1s}", app());
        let evs = run_until(&mut c, 3_000);
        assert_eq!(
            reasons(&evs)[..4],
            ["Pulling", "Pulled", "Created", "Started"]
        );
        assert_eq!(evs[0].0, 0, "Pulling at the start");
        assert_eq!(
            (evs[1].0, evs[1].1.message.as_str()),
            (
                1_000,
                "Successfully pulled image \"shop/web:1\" in 1000ms (1000ms including waiting). Image size: 52428800 bytes."
            ),
            "the pull takes half the start delay"
        );
        assert_eq!(evs[2].0, 2_000, "created after the other half");
        let evs = run_until(&mut c, 4_000);
        let pulled = evs
            .iter()
            .find(|(_, e)| e.reason == "Pulled")
            .expect("Pulled");
        assert_eq!(
            pulled.1.message,
            "Container image \"shop/web:1\" already present on machine"
        );
    }

    #[test]
    fn a_config_error_comes_after_the_image_pull() {
        // kuberuntime_container.go startContainer: EnsureImageExists, then the container config.
        let mut c = ctr(
            "{startDelay: 1s, configError: 'secret \"db\" not found'}",
            app(),
        );
        let evs = run_until(&mut c, 1_000);
        assert_eq!(reasons(&evs), ["Pulling", "Pulled", "Failed"]);
        assert_eq!(evs[2].1.message, "Error: secret \"db\" not found");
        assert!(
            matches!(&c.state, State::Waiting { reason, .. } if reason == "CreateContainerConfigError")
        );
    }

    #[test]
    fn a_container_from_a_loaded_status_stops_normally_when_deleted() {
        let status = serde_json::json!({
            "name": "app", "ready": true, "restartCount": 3,
            "containerID": "containerd://abc",
            "state": {"running": {"startedAt": "2026-01-01T00:00:00Z"}},
            "lastState": {"terminated": {"exitCode": 2, "reason": "Error", "startedAt": "2025-12-31T23:59:00Z", "finishedAt": "2025-12-31T23:59:30Z"}},
        });
        let spec = Spec {
            has_pre_stop: true,
            pre_stop_ms: 2_000,
            ..app()
        };
        let b = crate::behavior::for_container(None, "app");
        let mut c = Container::from_status(
            spec,
            b,
            "web-1_shop(u1)".into(),
            &status,
            Some("serving\n".into()),
            Some("panic: boom\n".into()),
        );
        assert!(c.is_running() && c.ready);
        assert_eq!(c.restart_count, 3);
        assert_eq!(c.last_state.as_ref().map(|t| t.exit_code), Some(2));
        assert_eq!(
            c.previous.as_ref().map(|i| i.log.as_str()),
            Some("panic: boom\n")
        );
        assert_eq!(c.next_wake(), None, "nothing happens by itself");
        let t0 = crate::util::parse_ts("2026-01-01T01:00:00Z").unwrap();
        let mut evs = Vec::new();
        c.stop_for_deletion(t0, 30_000, &mut evs);
        assert_eq!(evs[0].reason, "Killing");
        run_until(&mut c, t0 + 2_000);
        assert!(
            matches!(&c.state, State::Terminated(t) if t.exit_code == 0 && t.finished_at == t0 + 2_000),
            "{:?}",
            c.state
        );
    }

    #[test]
    fn go_durations() {
        assert_eq!(go_duration(10_000), "10s");
        assert_eq!(go_duration(160_000), "2m40s");
        assert_eq!(go_duration(300_000), "5m0s");
    }
}
