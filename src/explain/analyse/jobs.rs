//! Pod-level rules for the pods of a Job and for activeDeadlineSeconds: the Job's outcome
//! (BackoffLimitExceeded, DeadlineExceeded, PodFailurePolicy; 1.31+ shows `FailureTarget` first,
//! while the pods terminate) explains why a failed pod is not retried, or why it was stopped.

use super::super::model::{Cause, Severity, Verdict};
use super::context::PodSubject;
use super::inputs::{JobFailure, OwnerFacts};
use super::removal::status_evidence;
use super::words::{event_line, plural, verdict};

fn job_of<'a>(p: &PodSubject<'a>) -> Option<(&'a OwnerFacts, &'a JobFailure)> {
    let o = p.ctx.extra.owner.as_ref().filter(|o| o.kind == "Job")?;
    Some((o, o.job_failure.as_ref()?))
}

fn job_line(o: &OwnerFacts, f: &JobFailure) -> String {
    format!(
        "Job {}: {}={}, reason {}: {}",
        o.name, f.condition, "True", f.reason, f.message
    )
}

pub fn deadline(p: &PodSubject) -> Option<Verdict> {
    let ctx = p.ctx;
    let (reason, _) = ctx.status_reason();
    let job = job_of(p).filter(|(_, f)| f.reason == "DeadlineExceeded");
    if reason != "DeadlineExceeded" && job.is_none() {
        return None;
    }
    let mut ev = status_evidence(ctx);
    let action = match job {
        Some((o, f)) => {
            ev.push(job_line(o, f));
            if let Some(d) = o.active_deadline_seconds {
                ev.push(format!("the Job's activeDeadlineSeconds: {d}s (counted from the Job's start, across all its retries)"));
            }
            if f.condition == "FailureTarget" {
                ev.push(
                    "the Job is failing: its pods are being terminated, then it turns Failed"
                        .into(),
                );
            }
            "raise the Job's spec.activeDeadlineSeconds, or make the work (and its retries) finish sooner"
        }
        None => "raise the pod's activeDeadlineSeconds, or make the work finish sooner",
    };
    ev.extend(
        ctx.events_with("DeadlineExceeded")
            .iter()
            .map(|e| event_line(e)),
    );
    Some(verdict(
        Cause::DeadlineExceeded,
        Severity::Failure,
        "stopped because activeDeadlineSeconds ran out",
        ev,
        action,
    ))
}

/// The Job failed for another reason: this pod is one of its failed attempts and will not be retried.
pub fn job_failed(p: &PodSubject) -> Option<Verdict> {
    let ctx = p.ctx;
    let (o, f) = job_of(p)?;
    if ctx.phase() != "Failed" && ctx.pod.metadata.deletion_timestamp.is_none() {
        return None;
    }
    let mut ev = vec![job_line(o, f)];
    let (summary, action) = match f.reason.as_str() {
        "BackoffLimitExceeded" => {
            if let (Some(limit), Some(failed)) = (o.backoff_limit, o.failed_pods) {
                ev.push(format!(
                    "backoffLimit {limit}; {} counted",
                    plural(failed.into(), "failed pod", "failed pods")
                ));
            }
            (
                format!("Job {} gave up: its pods failed more often than its backoffLimit allows", o.name),
                "fix why the pods fail (see the containers below), then re-run the Job; raise backoffLimit only for failures that retries can cure".to_string(),
            )
        }
        "PodFailurePolicy" => (
            format!("Job {} failed at once: a podFailurePolicy FailJob rule matched this failure", o.name),
            "the policy marks this exit as not worth retrying: fix its cause (see the containers below), or change the Job's podFailurePolicy rules".to_string(),
        ),
        _ => (
            format!("Job {} failed ({})", o.name, f.reason),
            "fix why the pods fail (see the containers below), then re-run the Job".to_string(),
        ),
    };
    Some(verdict(
        Cause::JobFailed,
        Severity::Failure,
        summary,
        ev,
        action,
    ))
}
