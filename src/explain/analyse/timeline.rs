//! The timeline of one container instance: which events fell within its life, when the kubelet
//! began stopping it, and what the back-off says. Verdicts rest on this order of things, never on
//! the exit code alone.

use k8s_openapi::api::core::v1::ContainerStateTerminated;

use super::super::events::EventRecord;
use super::super::facts;
use super::context::Ctx;
use super::words::{describe_exit, secs_of};

/// One terminated instance and the events of its life.
pub struct Instance<'a> {
    pub t: &'a ContainerStateTerminated,
    /// True for `lastState` (the container was restarted since), false for the current state.
    pub restarted: bool,
    pub finished: Option<i64>,
    /// This container's events that overlap the instance's life.
    pub events: Vec<&'a EventRecord>,
    /// The pod's own events (about no container) that overlap it.
    pub pod_events: Vec<&'a EventRecord>,
    /// The kubelet's Killing event for this instance, if any.
    pub killing: Option<&'a EventRecord>,
}

impl<'a> Instance<'a> {
    pub fn new(
        ctx: &'a Ctx<'a>,
        name: &str,
        t: &'a ContainerStateTerminated,
        restarted: bool,
    ) -> Instance<'a> {
        // A runtime that never started the process reports the epoch as startedAt.
        let started = secs_of(&t.started_at).filter(|s| *s > 0);
        let finished = secs_of(&t.finished_at);
        let events: Vec<&EventRecord> = ctx
            .events
            .iter()
            .filter(|e| e.is_for_container(name) && in_window(e, started, finished))
            .collect();
        let pod_events = ctx
            .events
            .iter()
            .filter(|e| e.container().is_none() && in_window(e, started, finished))
            .collect();
        let killing = events.iter().copied().rfind(|e| {
            e.reason == "Killing"
                && match (e.first.or(e.last), finished) {
                    (Some(k), Some(f)) => k.as_second() <= f + 1,
                    _ => true,
                }
        });
        Instance {
            t,
            restarted,
            finished,
            events,
            pod_events,
            killing,
        }
    }

    pub fn code(&self) -> i32 {
        self.t.exit_code
    }

    pub fn reason(&self) -> &str {
        self.t.reason.as_deref().unwrap_or("")
    }

    pub fn message(&self) -> &str {
        self.t.message.as_deref().unwrap_or("")
    }

    /// "the previous instance" or "the container".
    pub fn label(&self) -> &'static str {
        if self.restarted {
            "the previous instance"
        } else {
            "the container"
        }
    }

    /// `the previous instance: exit code 1, reason Error, …`.
    pub fn line(&self) -> String {
        format!("{}: {}", self.label(), describe_exit(self.t))
    }

    pub fn exit(&self) -> String {
        describe_exit(self.t)
    }

    pub fn with_reason(&self, reason: &str) -> Vec<&'a EventRecord> {
        self.events
            .iter()
            .copied()
            .filter(|e| e.reason == reason)
            .collect()
    }

    /// `Unhealthy` events whose message starts with `prefix` ("Liveness probe", …).
    pub fn unhealthy(&self, prefix: &str) -> Vec<&'a EventRecord> {
        self.events
            .iter()
            .copied()
            .filter(|e| e.reason == "Unhealthy" && e.message.starts_with(prefix))
            .collect()
    }

    pub fn kill_message(&self) -> &str {
        self.killing.map(|k| k.message.as_str()).unwrap_or("")
    }
}

/// True when an event overlaps an instance's life `[started − 2s, finished + 5s]` (or times are unknown).
pub fn in_window(e: &EventRecord, started: Option<i64>, finished: Option<i64>) -> bool {
    let first = e.first.or(e.last).map(|t| t.as_second());
    let last = e.last.or(e.first).map(|t| t.as_second());
    let (Some(first), Some(last)) = (first, last) else {
        return true;
    };
    started.is_none_or(|s| last >= s - 2) && finished.is_none_or(|f| first <= f + 5)
}

/// How many times these events happened.
pub fn count(evs: &[&EventRecord]) -> i32 {
    evs.iter().map(|e| e.count).sum()
}

/// When the kubelet began stopping an instance, and with which grace period.
pub struct StopAt {
    pub at: Option<i64>,
    pub grace: i64,
    /// Stopped because the pod was deleted (not a probe, not a definition change).
    pub by_deletion: bool,
}

/// The Killing event of the instance, or the pod's deletion request when the instance ended after it.
pub fn stop_time(ctx: &Ctx, inst: &Instance) -> Option<StopAt> {
    if let Some(k) = inst.killing {
        // An aggregated event (count > 1) spans several stops: take the occurrence before the finish.
        let at = match (k.first, k.last, inst.finished) {
            (_, Some(l), Some(f)) if l.as_second() <= f + 1 => Some(l.as_second()),
            (Some(fi), _, _) => Some(fi.as_second()),
            (None, l, _) => l.map(|t| t.as_second()),
        };
        return Some(StopAt {
            at,
            grace: ctx.deletion.map(|d| d.1).unwrap_or(ctx.grace),
            by_deletion: ctx.deletion.is_some() && k.message.starts_with("Stopping container"),
        });
    }
    let (req, g) = ctx.deletion?;
    match inst.finished {
        Some(f) if f + 1 >= req => Some(StopAt {
            at: Some(req),
            grace: g,
            by_deletion: true,
        }),
        _ => None,
    }
}

/// `back-off 40s restarting failed container=app pod=…` → `40s`.
pub fn parse_back_off(msg: &str) -> Option<String> {
    let rest = msg.strip_prefix("back-off ")?;
    let d = rest.split_whitespace().next()?;
    Some(d.to_string())
}

/// The back-off the kubelet uses after this many restarts (10 s doubling to 5 min), when the
/// waiting message does not say.
pub fn expected_back_off(restarts: i32) -> String {
    let exp = restarts.clamp(1, 6) - 1;
    let s = (10i64 << exp).min(300);
    format!("~{}", facts::human_secs(s))
}
