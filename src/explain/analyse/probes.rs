//! Rules for probes and the postStart hook: a liveness or startup probe that had the container
//! restarted, a hook that got it killed, and (for a running container) readiness and startup
//! probes that still fail.

use super::super::events::EventRecord;
use super::super::facts;
use super::super::model::{Cause, ContainerType, Severity, Verdict};
use super::context::Subject;
use super::timeline::{count, in_window};
use super::words::{event_line, verdict};

pub fn post_start(s: &Subject) -> Option<Verdict> {
    let i = s.instance.as_ref()?;
    let failed = i.with_reason("FailedPostStartHook");
    if failed.is_empty() && !i.kill_message().contains("FailedPostStartHook") {
        return None;
    }
    let mut ev: Vec<String> = failed.iter().map(|e| event_line(e)).collect();
    if let Some(k) = i.killing {
        ev.push(event_line(k));
    }
    if let Some(h) = &s.spec.post_start {
        ev.push(format!("postStart hook: {}", facts::handler_text(h)));
    }
    ev.push(i.line());
    Some(verdict(
        Cause::PostStartHook,
        Severity::Failure,
        "the postStart hook failed, so the kubelet killed the container",
        ev,
        "fix the postStart hook (run it by hand with `kubectl exec`), or move the work into the entry point",
    ))
}

pub fn liveness(s: &Subject) -> Option<Verdict> {
    let i = s.instance.as_ref()?;
    let failures = i.unhealthy("Liveness probe");
    let threshold = s
        .spec
        .liveness
        .as_ref()
        .and_then(|p| p.failure_threshold)
        .unwrap_or(3);
    // Without its Killing event, only a kill signal after enough failures points at the probe.
    let by_events =
        i.killing.is_none() && matches!(i.code(), 137 | 143) && count(&failures) >= threshold;
    if !i.kill_message().contains("failed liveness probe") && !by_events {
        return None;
    }
    let mut ev = last_three(&failures);
    match i.killing {
        Some(k) => ev.push(event_line(k)),
        None => ev.push(
            "the Killing event is gone; the Unhealthy events point at the liveness probe".into(),
        ),
    }
    ev.push(i.line());
    if let Some(p) = &s.spec.liveness {
        ev.push(format!("liveness probe: {}", facts::probe_text(p)));
        if let Some(r) = &s.spec.readiness {
            if facts::same_probe(p, r) {
                ev.push("the liveness probe is the same as the readiness probe: a busy or slow app gets restarted instead of only taken out of traffic".into());
            }
        }
    }
    Some(verdict(
        Cause::LivenessProbe,
        Severity::Failure,
        format!(
            "restarted by the kubelet because the liveness probe failed ({} failures recorded)",
            count(&failures).max(1)
        ),
        ev,
        "fix what the probe checks, or loosen it (timeoutSeconds, failureThreshold, a startupProbe for slow starts); a liveness probe should not depend on other services",
    ))
}

pub fn startup(s: &Subject) -> Option<Verdict> {
    let i = s.instance.as_ref()?;
    let failures = i.unhealthy("Startup probe");
    let by_events =
        i.killing.is_none() && !failures.is_empty() && matches!(i.code(), 137 | 143 | 0);
    if !i.kill_message().contains("failed startup probe") && !by_events {
        return None;
    }
    let mut ev = last_three(&failures);
    if let Some(k) = i.killing {
        ev.push(event_line(k));
    }
    ev.push(i.line());
    let mut budget = String::new();
    if let Some(p) = &s.spec.startup {
        ev.push(format!("startup probe: {}", facts::probe_text(p)));
        let total = p.failure_threshold.unwrap_or(3) as i64 * p.period_seconds.unwrap_or(10) as i64
            + p.initial_delay_seconds.unwrap_or(0) as i64;
        budget = format!(" within {}", facts::human_secs(total));
    }
    Some(verdict(
        Cause::StartupProbe,
        Severity::Failure,
        format!("the startup probe never succeeded{budget}, so the kubelet restarted the container"),
        ev,
        "check the probe's port/path, or give the app more time to start (raise failureThreshold × periodSeconds)",
    ))
}

/// Unhealthy events of the current (running) instance with this prefix.
fn current_failures<'a>(s: &Subject<'a>, prefix: &str) -> Vec<&'a EventRecord> {
    let since = s.running_since().flatten();
    s.events
        .iter()
        .copied()
        .filter(|e| in_window(e, since, None))
        .filter(|e| e.reason == "Unhealthy" && e.message.starts_with(prefix))
        .collect()
}

/// Running, not ready: only app containers of a pod not being deleted are judged.
fn not_ready_app(s: &Subject) -> bool {
    s.running_since().is_some()
        && !s.ready()
        && s.ctype == ContainerType::App
        && s.ctx.deletion.is_none()
}

pub fn startup_pending(s: &Subject) -> Option<Verdict> {
    if !not_ready_app(s) || s.status.and_then(|st| st.started) != Some(false) {
        return None;
    }
    let failures = current_failures(s, "Startup probe");
    if failures.is_empty() {
        return None;
    }
    let mut ev: Vec<String> = failures.iter().map(|e| event_line(e)).collect();
    if let Some(p) = &s.spec.startup {
        ev.push(format!("startup probe: {}", facts::probe_text(p)));
    }
    Some(verdict(
        Cause::StartupProbe,
        Severity::Warning,
        format!(
            "the startup probe has not succeeded yet ({} failures): the container is not started, and will be restarted when the probe gives up",
            count(&failures)
        ),
        ev,
        "check that the probe's port and path are right; give slow starts more time (failureThreshold × periodSeconds)",
    ))
}

pub fn readiness(s: &Subject) -> Option<Verdict> {
    if !not_ready_app(s) {
        return None;
    }
    let failures = current_failures(s, "Readiness probe");
    if failures.is_empty() {
        return None;
    }
    let mut ev: Vec<String> = failures.iter().map(|e| event_line(e)).collect();
    if let Some(p) = &s.spec.readiness {
        ev.push(format!("readiness probe: {}", facts::probe_text(p)));
    }
    ev.push("readiness failures remove the pod from Service endpoints; they never restart the container".into());
    Some(verdict(
        Cause::ReadinessProbe,
        Severity::Warning,
        format!(
            "not ready: the readiness probe fails ({} failures); the pod gets no traffic",
            count(&failures)
        ),
        ev,
        "fix what the probe checks (the app's health endpoint, a dependency it waits for), or the probe's port/path",
    ))
}

/// Running and not ready with nothing recorded: say what was (not) seen.
pub fn not_ready_unclear(s: &Subject) -> Option<Verdict> {
    if !not_ready_app(s) || s.ctx.phase() != "Running" {
        return None;
    }
    let events = &s.ctx.extra.events;
    Some(verdict(
        Cause::Unclear,
        Severity::Warning,
        "running but not ready, and no probe failure is recorded",
        vec![if events.seen() {
            "no Unhealthy events for this container (they may have expired)".into()
        } else {
            format!("{}: a probe failure would show there", events.why_unseen())
        }],
        format!(
            "check the readiness probe with `kubectl describe pod {}` and the app's log",
            s.ctx.pod_name()
        ),
    ))
}

/// The last three probe failures as evidence lines, oldest first.
fn last_three(failures: &[&EventRecord]) -> Vec<String> {
    let from = failures.len().saturating_sub(3);
    failures[from..].iter().map(|e| event_line(e)).collect()
}
