//! Rules for the stop sequence: an instance the kubelet stopped (deleted pod, probe, definition
//! change) — clean, SIGKILLed at the grace period, or with a failed preStop hook — and a container
//! still running in a pod being deleted.

use super::super::events::EventRecord;
use super::super::facts::{self, SpecFacts};
use super::super::model::{Cause, Severity, Verdict};
use super::context::Subject;
use super::timeline::stop_time;
use super::words::{event_line, ts_text, verdict};

/// The fix for a preStop hook that fails: for a pause, one that needs nothing from the image.
fn pre_stop_fix(spec: &SpecFacts) -> String {
    match spec.pre_stop_seconds() {
        Some(pause) => format!(
            "make the preStop pause run without the image's help: the native `lifecycle.preStop.sleep: {{seconds: {pause}}}` (Kubernetes 1.30+, needs no shell), or the exec form of a binary that is in the image; without the pause, SIGTERM races the endpoint removal and requests fail during rollouts"
        ),
        None => "make the preStop hook run a command the image has (the exec form of a binary in the image), or drop it; for a pause before SIGTERM use the native `lifecycle.preStop.sleep` (Kubernetes 1.30+)".to_string(),
    }
}

/// What the failed hook's message says about the cause, when the kubelet still wrote it (older
/// kubelets include the command and the runtime's error; recent ones only "PreStopHook failed").
fn hook_failure_detail(msg: &str) -> Option<&'static str> {
    let low = msg.to_lowercase();
    if low.contains("no such file or directory") || low.contains("executable file not found") {
        Some("the hook's command does not exist in the image")
    } else if low.contains("permission denied") {
        Some("the hook's command is not executable in the image")
    } else {
        None
    }
}

/// The hook as written and, when the event still says it, why it failed.
fn hook_evidence(spec: &SpecFacts, failed: &[&EventRecord], ev: &mut Vec<String>) {
    if let Some(h) = spec.pre_stop_text() {
        ev.push(format!("preStop hook: {h}"));
    }
    if let Some(d) = failed.iter().find_map(|e| hook_failure_detail(&e.message)) {
        ev.push(d.to_string());
    }
}

pub fn stopped(s: &Subject) -> Option<Verdict> {
    let i = s.instance.as_ref()?;
    let stop = stop_time(s.ctx, i)?;
    let spec = s.spec;
    let code = i.code();
    let grace = stop.grace;
    let pre_stop_fail = i.with_reason("FailedPreStopHook");
    let exceeded: Vec<_> = i
        .pod_events
        .iter()
        .chain(i.events.iter())
        .copied()
        .filter(|e| e.reason == "ExceededGracePeriod")
        .collect();
    let mut ev = Vec::new();
    match i.killing {
        Some(k) => ev.push(event_line(k)),
        None => ev.push(format!(
            "the pod's deletion was requested at {} (deletionTimestamp minus its {grace}s grace period)",
            stop.at.map(ts_text).unwrap_or_default()
        )),
    }
    let elapsed = match (stop.at, i.finished) {
        (Some(a), Some(f)) => Some(f.saturating_sub(a)),
        _ => None,
    };
    match elapsed {
        Some(e) => ev.push(format!(
            "{} ended {} after the stop began: {}",
            i.label(),
            facts::human_secs(e.max(0)),
            i.exit()
        )),
        None => ev.push(i.line()),
    }
    ev.extend(pre_stop_fail.iter().map(|e| event_line(e)));
    ev.extend(exceeded.iter().map(|e| event_line(e)));
    let why = if stop.by_deletion {
        "the pod was deleted"
    } else if i.kill_message().contains("definition changed") {
        "its definition changed"
    } else {
        "the kubelet stopped it"
    };
    if code == 137 {
        if let Some(e) = elapsed {
            if e + 3 < grace {
                ev.push(format!("the grace period was {grace}s"));
                return Some(verdict(
                    Cause::Unclear,
                    Severity::Failure,
                    format!(
                        "SIGKILLed {} after the stop began, before the {grace}s grace period ended",
                        facts::human_secs(e.max(0))
                    ),
                    ev,
                    "check for a forced deletion (`--grace-period`/`--force`), a shorter grace period on the delete call, or an OOM kill the runtime did not report",
                ));
            }
        }
        return Some(grace_exceeded(spec, grace, why, ev));
    }
    if !pre_stop_fail.is_empty() {
        hook_evidence(spec, &pre_stop_fail, &mut ev);
        return Some(verdict(
            Cause::PreStopHook,
            Severity::Warning,
            format!("the preStop hook failed when {why}; the app then got SIGTERM and exited with {code}"),
            ev,
            pre_stop_fix(spec),
        ));
    }
    if code == 0 || code == 143 {
        let how = if code == 0 {
            "exited 0 on SIGTERM"
        } else {
            "died of SIGTERM (exit 143: it did not handle the signal, but stopped in time)"
        };
        return Some(verdict(
            Cause::Stopped,
            Severity::Info,
            format!("stopped because {why}; the app shut down on its own ({how})"),
            ev,
            "nothing to fix",
        ));
    }
    Some(verdict(
        Cause::AppError,
        Severity::Warning,
        format!("stopped because {why}, and the app exited with {code} while shutting down"),
        ev,
        "check the app's shutdown path (the log of the previous instance)",
    ))
}

fn grace_exceeded(spec: &SpecFacts, grace: i64, why: &str, mut ev: Vec<String>) -> Verdict {
    ev.push(format!("terminationGracePeriodSeconds: {grace}s"));
    let pre_stop = spec.pre_stop_seconds();
    let (likely, action) = if let Some(p) = pre_stop.filter(|p| *p >= grace) {
        (
            format!(
                "the preStop hook ({}) takes {p}s, not less than the {grace}s grace period: the container was killed mid-hook before SIGTERM could do its work",
                spec.pre_stop_text().unwrap_or_default()
            ),
            format!("raise terminationGracePeriodSeconds above the preStop pause plus the app's drain time (e.g. {}), or shorten the hook", p.saturating_add(15)),
        )
    } else if spec.shell_without_exec() == Some(true) {
        (
            format!(
                "PID 1 is a shell (`{}`) that does not forward SIGTERM, so the app never heard it",
                spec.command_line()
            ),
            "start the app with `exec` in the shell command (`sh -c 'exec java -jar app.jar'`) or use the exec form [\"java\",\"-jar\",\"app.jar\"]".to_string(),
        )
    } else if spec.shell_without_exec().is_none() {
        (
            "the app did not exit on SIGTERM within the grace period: it ignores SIGTERM, or the image's ENTRYPOINT is shell form and never forwards it".to_string(),
            format!("make the app exit on SIGTERM (check the image's ENTRYPOINT is exec form), or raise terminationGracePeriodSeconds above its real shutdown time (now {grace}s)"),
        )
    } else {
        (
            "the app did not exit on SIGTERM within the grace period: it ignores SIGTERM or shuts down too slowly".to_string(),
            format!("handle SIGTERM in the app (stop accepting, drain, exit), or raise terminationGracePeriodSeconds above its real shutdown time (now {grace}s)"),
        )
    };
    if let Some(p) = pre_stop.filter(|p| *p < grace) {
        ev.push(format!(
            "preStop hook ({}) takes about {p}s of the {grace}s",
            spec.pre_stop_text().unwrap_or_default()
        ));
    }
    ev.push(format!("likely: {likely}"));
    verdict(
        Cause::GracePeriodExceeded,
        Severity::Failure,
        format!("killed with SIGKILL at the end of the {grace}s grace period after {why}"),
        ev,
        action,
    )
}

/// Still running in a pod being deleted: where it stands in the stop sequence, a preStop hook that
/// already failed, and whether SIGKILL at the deadline looks likely.
pub fn terminating(s: &Subject) -> Option<Verdict> {
    let (req, grace) = s.ctx.deletion?;
    let since = s.running_since()?;
    if since.is_some_and(|t| t > req + grace) {
        return None;
    }
    let spec = s.spec;
    let name = s.name;
    let deadline = req.saturating_add(grace);
    let mut ev = vec![format!(
        "deletion requested at {}; the kubelet sends SIGKILL at {} ({grace}s grace period)",
        ts_text(req),
        ts_text(deadline)
    )];
    if let Some(k) = s.events.iter().rev().find(|e| e.reason == "Killing") {
        ev.push(event_line(k));
    }
    let hook_failed: Vec<&EventRecord> = s
        .events
        .iter()
        .copied()
        .filter(|e| e.reason == "FailedPreStopHook")
        .collect();
    ev.extend(hook_failed.iter().map(|e| event_line(e)));
    if !hook_failed.is_empty() {
        hook_evidence(spec, &hook_failed, &mut ev);
        return Some(verdict(
            Cause::PreStopHook,
            Severity::Warning,
            format!("the preStop hook of {name} failed while the pod is being deleted, so SIGTERM came right away"),
            ev,
            pre_stop_fix(spec),
        ));
    }
    let mut risks = Vec::new();
    if let Some(p) = spec.pre_stop_seconds() {
        if p >= grace {
            risks.push(format!(
                "the preStop hook ({}) takes {p}s, not less than the {grace}s grace period: it will be killed mid-hook",
                spec.pre_stop_text().unwrap_or_default()
            ));
        } else {
            ev.push(format!(
                "preStop hook ({}) takes about {p}s, then SIGTERM",
                spec.pre_stop_text().unwrap_or_default()
            ));
        }
    }
    if spec.shell_without_exec() == Some(true) {
        risks.push(format!(
            "PID 1 is a shell (`{}`) that does not forward SIGTERM: expect SIGKILL at the deadline",
            spec.command_line()
        ));
    }
    if risks.is_empty() {
        return Some(verdict(
            Cause::Terminating,
            Severity::Info,
            format!("{name} is being stopped: the pod is being deleted"),
            ev,
            "nothing to do unless it is still running after the deadline (then check the node)",
        ));
    }
    ev.extend(risks.iter().map(|r| format!("risk: {r}")));
    let action = if spec.shell_without_exec() == Some(true) {
        "start the app with `exec` in the shell command, or use the exec form, so it gets SIGTERM"
    } else {
        "raise terminationGracePeriodSeconds above the preStop pause plus the app's drain time, or shorten the hook"
    };
    Some(verdict(
        Cause::Terminating,
        Severity::Warning,
        format!(
            "{name} is being stopped and will likely be SIGKILLed at the end of the grace period"
        ),
        ev,
        action,
    ))
}
