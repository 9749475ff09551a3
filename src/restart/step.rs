//! One target's restart, in order: a bare pod is saved and replaced through an eviction; a workload is
//! read, patched (`restartedAt`, a critical section), its OnDelete pods evicted one by one, its rollout
//! awaited, and on failure it is explained and, with `--rollback-on-failure`, rolled back. Running the
//! targets `--parallel` at a time is [`execute`]; the whole run around it is `mod.rs`.

use futures::stream::FuturesUnordered;
use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::api::ListParams;
use kube::Api;
use tokio::time::Instant;

use super::api::{self, Contact, Stop};
use super::evict::{self, Evictor};
use super::interrupt::Interrupt;
use super::plan::{self, Step, Subject};
use super::render::Note;
use super::status::{self, Expect};
use super::track::Tracker;
use super::wait::{self, Outcome, RolloutWait};
use super::{backup, model, rollback, trigger, undone, zerodowntime, Options, ERROR};
use crate::client::Kube;
use crate::error::{Error, Result};
use crate::target::Kind;
use crate::workload::{Object, Strategy};

/// What every target of a run shares.
pub(super) struct Ctx<'a> {
    pub kube: &'a Kube,
    /// For evictions: the same connection without kube-client's hidden 429 retries.
    pub evict_kube: &'a Kube,
    /// For `--probe`: without retries too (a retried 503 hides a failure).
    pub probe_kube: &'a Kube,
    pub contact: &'a Contact,
    pub interrupt: &'a Interrupt,
    pub opts: &'a Options,
    pub tracker: &'a Tracker,
}

impl<'a> Ctx<'a> {
    /// The evictor for step `index` in namespace `ns`, which must be done by `deadline`.
    pub(super) fn evictor(&self, index: usize, ns: &'a str, deadline: Instant) -> Evictor<'a> {
        Evictor {
            kube: self.evict_kube,
            contact: self.contact,
            interrupt: self.interrupt,
            ns,
            deadline,
            timeout: self.opts.timeout,
            index,
            tracker: self.tracker,
        }
    }

    /// Sets (or with None removes) `restartedAt` on the workload; the answer must come by `deadline`.
    pub(super) async fn patch(
        &self,
        deadline: Instant,
        workload: (Kind, &str, &str),
        value: Option<&str>,
    ) -> std::result::Result<Object, Stop> {
        trigger::patch_restarted_at(self.kube, self.contact, deadline, workload, value).await
    }
}

/// Runs the steps in order, `--parallel` at a time; after a failure nothing new starts, but the targets
/// already running are finished (one target's error never abandons another one half done).
pub(super) async fn execute(ctx: &Ctx<'_>, steps: &[Step]) -> Result<()> {
    let mut running = FuturesUnordered::new();
    let mut next = 0;
    let mut failed = false;
    let mut error: Option<Error> = None;
    loop {
        while !failed && running.len() < ctx.opts.parallel && next < steps.len() {
            running.push(run_step(ctx, next, &steps[next]));
            next += 1;
        }
        match running.next().await {
            None => return error.map_or(Ok(()), Err),
            Some(Ok(ok)) => failed |= !ok,
            Some(Err(e)) => {
                failed = true;
                error.get_or_insert(e);
            }
        }
    }
}

/// Restarts one target, its Services' endpoints watched meanwhile; `Ok(true)` when complete.
async fn run_step(ctx: &Ctx<'_>, i: usize, step: &Step) -> Result<bool> {
    let deadline = Instant::now() + ctx.opts.timeout;
    let env = zerodowntime::Env {
        kube: ctx.kube,
        probe_kube: ctx.probe_kube,
        contact: ctx.contact,
        tracker: ctx.tracker,
        settings: &ctx.opts.zero,
        namespace: &ctx.tracker.namespace,
    };
    let (outcome, zero) =
        zerodowntime::alongside(&env, step, deadline, step_outcome(ctx, i, step, deadline)).await;
    let outcome = match outcome {
        Ok(o) => o,
        Err(Stop::NoAnswer {
            action,
            last_answer,
        }) => Outcome::Unknown {
            verdict: format!("{action}: {}", api::no_answer(last_answer)),
        },
        Err(Stop::Error(e)) => {
            ctx.tracker.failed(i, ERROR, None, e.to_string(), None);
            if let Some(z) = zero {
                ctx.tracker.zero_downtime(i, z);
            }
            return Err(e);
        }
    };
    let complete = finish(ctx, i, &step.ns, outcome, deadline).await;
    if let Some(z) = zero {
        ctx.tracker.zero_downtime(i, z);
    }
    Ok(complete)
}

async fn step_outcome(
    ctx: &Ctx<'_>,
    i: usize,
    step: &Step,
    deadline: Instant,
) -> std::result::Result<Outcome, Stop> {
    let ns = step.ns.as_str();
    let evictor = ctx.evictor(i, ns, deadline);
    let w = match &step.subject {
        Subject::Pod(p) => {
            let (detail, _) = plan::describe(step);
            // A pod without a controller is saved first: it must never be lost.
            let saved = match crate::workload::owner::controller_of(&p.metadata) {
                None => {
                    let s = backup::save(p, ns)?;
                    ctx.tracker.saved(i, status::pod_name(p), &s.path);
                    Some(s)
                }
                Some(_) => None,
            };
            ctx.tracker.started(i, &detail, None);
            let outcome = evictor
                .replace(p, &pod_selector(p), None, (1, 1), saved.as_ref())
                .await?;
            if matches!(outcome, Outcome::Complete) {
                ctx.tracker.progress(i, 1, 1, "replaced");
            }
            return Ok(outcome);
        }
        Subject::Workload(w) => w,
    };
    let (kind, name) = (w.kind(), w.name().to_string());
    let target = step.display();
    let fresh = plan::get_workload(ctx.kube, ctx.contact, deadline, kind, ns, &name).await?;
    let prev = fresh.restarted_at().map(str::to_string);
    let (value, pause) = trigger::next_value(
        jiff::Timestamp::now(),
        &jiff::tz::TimeZone::system(),
        prev.as_deref(),
    );
    if !pause.is_zero() {
        // kubectl's "already triggered" case: a restart within the same second would change nothing.
        ctx.tracker.note(Note::SameSecond { target: &target });
        tokio::time::sleep(pause).await;
    }
    // The patch is a critical section: once sent, its answer says what state the workload is in.
    let section = ctx
        .interrupt
        .enter(
            i,
            undone::patch_sent(&target, &value, &step.target.to_string(), ns),
        )
        .await;
    let patched = ctx.patch(deadline, (kind, ns, &name), Some(&value)).await;
    let patched = match patched {
        Ok(p) => p,
        Err(Stop::NoAnswer {
            action,
            last_answer,
        }) => {
            ctx.interrupt.close(section);
            return Err(Stop::NoAnswer {
                action: undone::patch_unanswered(&action, &value, &step.target.to_string(), ns),
                last_answer,
            });
        }
        Err(e) => {
            ctx.interrupt.close(section);
            return Err(e);
        }
    };
    let (detail, _) = plan::describe(&Step {
        subject: Subject::Workload(Box::new(patched.clone())),
        ..step.clone()
    });
    ctx.tracker.started(i, &detail, Some(&value));
    if patched.strategy() != Strategy::OnDelete {
        // The controller does the rest by itself.
        ctx.tracker
            .settled(i, "patched; the controller rolls the pods");
    }
    ctx.interrupt.leave(section).await;
    let selector = label_selector(&patched)?;
    let expect = Expect {
        marker: Some(value.clone()),
        generation: patched.generation(),
        exempt: Default::default(),
    };
    let mut outcome = Outcome::Complete;
    if patched.strategy() == Strategy::OnDelete {
        outcome = replace_on_delete(ctx, i, ns, &patched, &selector, &value, &evictor).await?;
    }
    if matches!(outcome, Outcome::Complete) {
        outcome = wait::wait_rollout(RolloutWait {
            kube: ctx.kube,
            contact: ctx.contact,
            ns,
            kind,
            name: &name,
            selector: selector.clone(),
            expect,
            deadline,
            timeout: ctx.opts.timeout,
            stable_for: ctx.opts.stable_for,
            index: i,
            tracker: ctx.tracker,
            rollback: false,
        })
        .await?;
    }
    // Rolling back would fight whoever paused or re-wrote the workload: only our own failures go back.
    let ours = matches!(&outcome, Outcome::Failed { reason, .. }
        if ![wait::TAKEN_OVER, wait::REVERTED, wait::PAUSED].contains(&reason.as_str()));
    if ours && ctx.opts.rollback {
        // Report the failure first, then go back.
        let failed_outcome = outcome.clone();
        finish(ctx, i, ns, failed_outcome, deadline).await;
        match rollback::rollback(ctx, i, ns, &patched, prev, &value, &selector).await {
            Ok(()) => {}
            Err(Stop::NoAnswer {
                action,
                last_answer,
            }) => ctx.tracker.rolled_back(
                i,
                false,
                &format!(
                    "rollback not confirmed: {action}: {}",
                    api::no_answer(last_answer)
                ),
            ),
            Err(Stop::Error(e)) => return Err(Stop::Error(e)),
        }
        return Ok(Outcome::Reported);
    }
    Ok(outcome)
}

/// Reports how a target ended; a failed pod is explained by `explain`. True when complete.
async fn finish(ctx: &Ctx<'_>, i: usize, ns: &str, outcome: Outcome, deadline: Instant) -> bool {
    match outcome {
        Outcome::Complete => {
            ctx.tracker.complete(i);
            true
        }
        Outcome::Reported => false,
        Outcome::Unknown { verdict } => {
            ctx.tracker.unknown(i, &verdict);
            false
        }
        Outcome::Failed {
            reason,
            failure,
            verdict,
        } => {
            // explain's report on the failing pod, within what is left of the deadline (at least a few
            // seconds: the verdict is worth a short wait, never a hang).
            let by = deadline.max(Instant::now() + evict::FINAL_READ * 2);
            let report = match &failure {
                Some(f) if crate::target::valid_name(&f.pod) => {
                    let opts = crate::explain::ExplainOptions {
                        tail: Some(5),
                        ..Default::default()
                    };
                    tokio::time::timeout(
                        by.saturating_duration_since(Instant::now()),
                        crate::explain::explain_pod(ctx.kube, ns, &f.pod, &opts),
                    )
                    .await
                    .ok()
                    .and_then(|r| r.ok())
                }
                _ => None,
            };
            let mut failure = failure;
            let verdict = match (failure.as_mut(), &report) {
                (Some(f), Some(r)) => probe_kill(f, r).unwrap_or(verdict),
                _ => verdict,
            };
            ctx.tracker
                .failed(i, &reason, failure.as_ref(), verdict, report.as_ref());
            false
        }
    }
}

/// A container killed by its liveness or startup probe shows only exit code 137 (or 143) in its status;
/// explain's events tell the cause. Restates the failure and returns its new verdict when explain found
/// one; leaves it as it is otherwise.
fn probe_kill(f: &mut model::PodFailure, report: &crate::explain::PodReport) -> Option<String> {
    use crate::explain::model::Cause;
    let v = report
        .containers
        .iter()
        .filter(|c| f.container.as_deref().is_none_or(|n| n == c.name))
        .find_map(|c| c.verdict.as_ref())?;
    let (reason, cause) = match v.cause {
        Cause::LivenessProbe => ("LivenessProbe", "liveness-probe"),
        Cause::StartupProbe => ("StartupProbe", "startup-probe"),
        _ => return None,
    };
    f.reason = reason.into();
    f.cause = Some(cause.into());
    f.message = Some(v.summary.clone());
    Some(f.verdict())
}

/// OnDelete: the controller waits for pods to be deleted; evict the old ones one at a time.
async fn replace_on_delete(
    ctx: &Ctx<'_>,
    i: usize,
    ns: &str,
    w: &Object,
    selector: &str,
    value: &str,
    evictor: &Evictor<'_>,
) -> std::result::Result<Outcome, Stop> {
    let (kind, name) = (w.kind(), w.name());
    if !wait::wait_observed(
        ctx.kube,
        ctx.contact,
        (kind, ns, name),
        w.generation(),
        evictor.deadline,
        ctx.tracker,
    )
    .await?
    {
        return Ok(Outcome::Failed {
            reason: "timed out".into(),
            failure: None,
            verdict: format!(
                "the {} controller did not observe the new template in time",
                kind.lower()
            ),
        });
    }
    let mut old = list_pods(ctx, ns, w, selector, evictor.deadline)
        .await?
        .into_iter()
        .filter(|p| !status::is_new(p, Some(value)) && !status::is_terminating(p))
        .collect::<Vec<_>>();
    if kind == Kind::StatefulSet {
        // Like the controller: highest ordinal first.
        old.sort_by_key(|p| std::cmp::Reverse(status::ordinal(p)));
    }
    let total = w.expected_new();
    for (k, p) in old.iter().enumerate() {
        let done = total - (old.len() - k) as i32;
        ctx.tracker.progress(
            i,
            done.max(0),
            total,
            &format!(
                "replacing pod {} ({}/{})",
                status::pod_name(p),
                k + 1,
                old.len()
            ),
        );
        let o = evictor
            .replace(p, selector, Some(Some(value)), (done + 1, total), None)
            .await?;
        if !matches!(o, Outcome::Complete) {
            return Ok(o);
        }
    }
    ctx.tracker.settled(i, "every old pod evicted");
    Ok(Outcome::Complete)
}

/// The workload's pods: its selector's, minus those another controller owns (never evict those).
pub(super) async fn list_pods(
    ctx: &Ctx<'_>,
    ns: &str,
    w: &Object,
    selector: &str,
    deadline: Instant,
) -> std::result::Result<Vec<Pod>, Stop> {
    let pods: Api<Pod> = Api::namespaced(ctx.kube.client.clone(), ns);
    Ok(api::call(
        ctx.kube,
        ctx.contact,
        deadline,
        ("list", &format!("pods -l {selector}"), Some(ns)),
        pods.list(&ListParams::default().labels(selector)),
    )
    .await?
    .items
    .into_iter()
    .filter(|p| status::may_belong_to(p, w))
    .collect())
}

/// The workload's `spec.selector` as a label selector string.
pub(super) fn label_selector(w: &Object) -> std::result::Result<String, Stop> {
    let ls = w.selector().cloned().unwrap_or_default();
    let s = crate::selector::to_query(&ls).map_err(Stop::Error)?;
    if s.is_empty() {
        return Err(Stop::Error(Error::other(
            format!("restart {} {}", w.kind().lower(), w.name()),
            "its selector is empty: refusing to treat every pod of the namespace as its pods",
        )));
    }
    Ok(s)
}

/// Labels that identify a pod's replacement (its own per-pod and per-revision labels left out).
pub(super) fn pod_selector(p: &Pod) -> String {
    const PER_POD: &[&str] = &[
        "controller-revision-hash",
        "pod-template-generation",
        "pod-template-hash",
        "statefulset.kubernetes.io/pod-name",
        "apps.kubernetes.io/pod-index",
    ];
    p.metadata
        .labels
        .iter()
        .flatten()
        .filter(|(k, _)| !PER_POD.contains(&k.as_str()))
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replacement_selector_drops_per_pod_labels() {
        let p: Pod = serde_yaml::from_str(
            "metadata: {name: db-0, labels: {app: db, controller-revision-hash: db-5d8f, statefulset.kubernetes.io/pod-name: db-0}}",
        )
        .unwrap();
        assert_eq!(pod_selector(&p), "app=db");
    }
}
