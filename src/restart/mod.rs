//! `kubectl graceful restart`: restart workloads one after another, each only when the previous one is
//! complete (every new pod Ready, old pods gone, optionally stable for a while), failing fast with the
//! reason a new pod fails.
//!
//! Where each part lives (this file only runs the steps in order: resolve, preflight, trigger and wait per
//! target, decide on a rollback, handle signals, summarise):
//! - [`options`]: the only code that sees clap: `RestartArgs` → validated [`Options`];
//! - [`plan`]: options → resolved targets, what preflight needs (gathered in parallel), the ordered steps
//!   and their description;
//! - [`preflight`]: restart's policy over diagnose's before-restart rules (rule id → Warning/Risk/Blocked;
//!   the checks themselves are `diagnose/rules/restart.rs`); risks need `--force`;
//! - [`trigger`]: the `kubectl.kubernetes.io/restartedAt` strategic merge patch, as `kubectl rollout
//!   restart`, and who changed it back (managedFields);
//! - [`status`]: pure completion (stricter than `kubectl rollout status`) and failure detection;
//! - [`wait`]: watch-based waiting (resumes dropped watches, relists after 410);
//! - [`evict`]: one-at-a-time replacement through the Eviction API (OnDelete, pods), [`backup`]: a bare
//!   pod's manifest saved before its eviction;
//! - `rollback.rs`: a failed target back to its previous pod template, awaited like a rollout;
//! - [`api`]: deadlines on every request and when the API server last answered;
//! - [`interrupt`]: what SIGINT/SIGTERM do (critical sections finished first, resume commands);
//! - [`zerodowntime`]: the Services' endpoints watched during each target's restart, judged for the
//!   endpoint-removal race (`--no-endpoint-check`, `--endpoint-margin`, `--probe`);
//! - [`track`]: the run's state (each target's [`model::TargetState`]), changed only there, each change a
//!   typed event;
//! - [`model`]: every serialised type (the NDJSON events below, the plan, the [`model::RunOutcome`] that
//!   gives the exit code);
//! - [`render`]: all text (progress bars and lines, NDJSON, findings, plan and summary tables); it keeps
//!   no state of the run.
//!
//! The workload itself (fetching by kind, rollout and PDB arithmetic, owners) is [`crate::workload`].
//!
//! # JSON schema (`-o json`)
//! One object per line, each `{"apiVersion": "graceful.kubectl.io/v1alpha1", "kind": "RestartEvent",
//! "type": T, "time": RFC3339, "namespace": NS, "target": "deploy/web", …}` (the target's namespace;
//! `NS/KIND/NAME` outside the run's namespace) with `type`:
//! - `PreflightFinding`: `rule`, `severity` (Warning|Risk|Blocked), `message`, `fix`;
//! - `TargetStarted`: `strategy`, `desired`, `restartedAt`, `detail`;
//! - `PodEvicted` / `EvictionBlocked`: `pod` (and `reason`, `retryInSeconds`);
//! - `PodSaved` / `PodRecreated`: `pod`, `path` (a bare pod's manifest, saved before its eviction);
//! - `PodReady`: `pod`, `ready`, `desired`;
//! - `TargetComplete`: `ready`, `desired`, `elapsedSeconds`;
//! - `TargetFailed`: `reason`, `verdict`, `failure` (`pod`, `container`, `reason`, `exitCode`, `message`,
//!   `restarts`, `cause`: explain's cause id when it tells more, e.g. `liveness-probe`) or null, `explain`
//!   (the `explain` PodReport of the failing pod) or null, `ready`, `desired`, `elapsedSeconds`;
//! - `TargetUnknown`: `verdict`, `ready`, `desired`, `elapsedSeconds` (the API server stopped answering);
//! - `RollbackStarted` / `RollbackComplete` (`succeeded`, `detail`);
//! - `Interrupted`: `signal` (SIGINT|SIGTERM), `resume` (command lines), `unfinished` (left undone by a
//!   second signal);
//! - `ZeroDowntime`: `zeroDowntime` (below);
//! - `Summary` (last line): `result` (Complete|Failed|Unknown|Interrupted, or Refused by preflight),
//!   `targets`: [{`target`, `namespace`, `strategy`, `state`
//!   (Pending|Running|Complete|Failed|RolledBack|Unknown|Interrupted|Skipped),
//!   `ready`, `desired`, `phase`, `verdict`, `elapsedSeconds`, `zeroDowntime`}].
//!
//! `zeroDowntime` ([`zerodowntime::ZeroDowntime`]; null with `--no-endpoint-check`, for a target that never
//! started, or after an interruption): `verdict` (ok|at-risk|violated|not-applicable|unknown),
//! `podsReplaced`, `raced`, `minReadyEndpoints` (or null), `desiredReplicas`, `worstMarginSeconds` (or
//! null), `marginSeconds`, `services`, `summary`, `evidence` (lines), `fix` (absent when ok), `probe`
//! (null without `--probe`: `requests`, `failed`, `worstLatencyMs`, `failures`, `path`, `stopped`).
//!
//! With `--dry-run -o json` a single `RestartPlan` object: `{apiVersion, kind: RestartPlan, namespace,
//! steps: [{order, target, strategy, pods, action, disruption, findings}]}`.

pub(crate) mod api;
pub(crate) mod backup;
pub(crate) mod evict;
pub(crate) mod interrupt;
pub(crate) mod model;
pub(crate) mod options;
pub(crate) mod plan;
pub(crate) mod preflight;
pub(crate) mod render;
mod rollback;
pub(crate) mod status;
pub(crate) mod track;
pub(crate) mod trigger;
pub(crate) mod wait;

pub(crate) mod zerodowntime;

use futures::stream::FuturesUnordered;
use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::api::ListParams;
use kube::Api;
use tokio::time::Instant;

use crate::client::Kube;
use crate::error::{Error, Result};
use crate::exit::Exit;
use crate::output::Printer;
use crate::signal::{Signal, Signals};
use crate::target::Kind;
use crate::workload::{Object, Strategy};
use api::{Contact, Stop};
use evict::Evictor;
use interrupt::Interrupt;
use model::{Gate, RunOutcome, State, TargetState};
pub(crate) use options::Options;
use plan::{Step, Subject};
use render::{Note, Reporter};
use status::Expect;
use track::Tracker;
use wait::{Outcome, RolloutWait};

/// The failure reason of a target stopped by an error (the error itself is reported at the end).
pub(crate) const ERROR: &str = "error";

/// A signal before any target started: nothing was changed.
fn stopped_early(s: Signal, printer: &Printer, ns: &str) -> Result<Exit> {
    let outcome = RunOutcome::Interrupted(s);
    let tracker = Tracker::new(Reporter::new(*printer, false), ns.to_string(), vec![]);
    tracker.interrupted(s, &[], &[]);
    tracker.summary(outcome, &[]);
    render::stopped_before_any_change(s);
    Ok(outcome.exit())
}

pub(crate) async fn run(opts: Options, signals: &mut Signals) -> Result<Exit> {
    let printer = Printer::new(opts.output);
    let kube = tokio::select! {
        r = opts.global.connect() => r?,
        s = signals.recv() => return stopped_early(s, &printer, opts.global.namespace().unwrap_or("")),
    };
    let ns = kube.namespace.clone();
    let contact = Contact::default();
    // Preflight reads are bounded like a target: a hung API server cannot hold the run.
    let preflight_deadline = Instant::now() + opts.timeout;
    let resolved = tokio::select! {
        r = plan::resolve(&kube, &contact, preflight_deadline, &ns, &opts) => r,
        s = signals.recv() => return stopped_early(s, &printer, &ns),
    };
    for s in &resolved.skipped {
        render::preflight_skipped(s);
    }
    let steps = resolved.steps.map_err(Stop::into_error)?;
    if let Some(t) = &opts.zero.probe {
        tokio::select! {
            r = zerodowntime::probe::check(&kube, &contact, preflight_deadline, &ns, t) => r?,
            s = signals.recv() => return stopped_early(s, &printer, &ns),
        }
    }
    let states: Vec<TargetState> = steps
        .iter()
        .map(|s| TargetState::new(s.display(), &s.ns, s.strategy(), s.pods()))
        .collect();
    let tracker = Tracker::new(Reporter::new(printer, opts.force), ns.clone(), states);
    // With `--dry-run -o json` the findings are part of the one RestartPlan document.
    if !(opts.dry_run && printer.is_machine()) {
        for s in &steps {
            tracker.findings(&s.display(), &s.findings);
        }
    }
    let worst = |sev| {
        steps
            .iter()
            .any(|s| s.findings.iter().any(|f| f.severity == sev))
    };
    let (blocked, risky) = (worst(Gate::Blocked), worst(Gate::Risk));
    let refuse = blocked || (risky && !opts.force);

    if opts.dry_run {
        let rows = plan::plan_rows(&steps);
        if printer.is_machine() {
            render::plan_document(&printer, &ns, &rows)?;
        } else {
            render::plan_table(&printer, &rows)?;
            render::dry_run_notes(rows.len(), &ns, opts.parallel, refuse.then_some(blocked));
        }
        return Ok(if refuse { Exit::Findings } else { Exit::Ok });
    }
    if refuse {
        render::refused(blocked);
        tracker.close(false);
        tracker.summary(RunOutcome::Refused, &tracker.snapshot());
        return Ok(RunOutcome::Refused.exit());
    }

    let evicts = steps.iter().any(|s| match &s.subject {
        Subject::Pod(_) => true,
        Subject::Workload(w) => w.strategy() == Strategy::OnDelete,
    });
    let evict_kube = if evicts {
        kube.without_retries()?
    } else {
        kube.clone()
    };
    let probe_kube = if opts.zero.probe.is_some() {
        kube.without_retries()?
    } else {
        kube.clone()
    };
    let interrupt = Interrupt::default();
    let ctx = Ctx {
        kube: &kube,
        evict_kube: &evict_kube,
        probe_kube: &probe_kube,
        contact: &contact,
        interrupt: &interrupt,
        opts: &opts,
        tracker: &tracker,
    };
    // The first signal stops every wait at once, unless a critical section is open: that one is finished
    // first (no new write starts meanwhile). A second signal stops at once.
    let exec = execute(&ctx, &steps);
    tokio::pin!(exec);
    let mut first: Option<Signal> = None;
    let mut abandoned = Vec::new();
    let result = loop {
        tokio::select! {
            r = &mut exec => break r,
            s = signals.recv() => {
                if first.is_some() {
                    abandoned = interrupt.open_sections();
                    break Ok(());
                }
                first = Some(s);
                interrupt.set(s);
                let open = interrupt.open_sections();
                if open.is_empty() {
                    break Ok(());
                }
                for o in &open {
                    tracker.note(Note::FinishingFirst {
                        signal: s,
                        what: &o.if_abandoned,
                    });
                }
            }
            _ = interrupt.idle(), if first.is_some() => break Ok(()),
        }
    };
    let interrupted = first.is_some();
    tracker.close(interrupted);
    let states = tracker.snapshot();
    if let Some(sig) = first {
        let resume = resume_hints(&states, &steps, &ns, &opts.resume_flags);
        let unfinished: Vec<String> = abandoned.iter().map(|o| o.if_abandoned.clone()).collect();
        tracker.interrupted(sig, &resume, &unfinished);
        if !tracker.is_json() {
            render::interrupted(sig, &unfinished, &resume);
        }
    }
    let outcome = match first {
        Some(sig) => RunOutcome::Interrupted(sig),
        None => RunOutcome::of(&states),
    };
    if tracker.is_json() {
        tracker.summary(outcome, &states);
    } else {
        render::summary_table(&printer, &states)?;
        render::next_steps(outcome, &states, &ns);
    }
    result?;
    Ok(outcome.exit())
}

/// A target state's `KIND/NAME` and namespace (its display may be qualified `NS/KIND/NAME`).
pub(crate) fn unqualified(s: &TargetState) -> (&str, &str) {
    let t = s.target.as_str();
    match t.split_once('/') {
        Some((first, rest)) if rest.contains('/') => (rest, first),
        _ => (t, s.namespace.as_str()),
    }
}

/// The command lines that pick up where an interrupted run stopped.
fn resume_hints(
    states: &[TargetState],
    steps: &[Step],
    ns: &str,
    resume_flags: &str,
) -> Vec<String> {
    let mut out = Vec::new();
    for (s, step) in states.iter().zip(steps) {
        if s.state != State::Interrupted {
            continue;
        }
        let (target, tns) = unqualified(s);
        if step.target.kind == Kind::Pod {
            if s.settled {
                out.push(format!(
                    "{}: {}; follow it with `kubectl get pod {} -n {tns} -w`",
                    s.target, s.phase, step.target.name
                ));
            }
        } else if s.strategy != "OnDelete" || s.settled {
            out.push(format!(
                "{}: the controller continues on its own; follow it with `kubectl rollout status {target} -n {tns}`",
                s.target
            ));
        }
    }
    let remaining: Vec<String> = states
        .iter()
        .filter(|s| {
            matches!(s.state, State::Skipped | State::Pending)
                || (s.state == State::Interrupted
                    && !s.settled
                    && matches!(s.strategy.as_str(), "OnDelete" | "Eviction"))
        })
        .map(|s| s.target.clone())
        .collect();
    if !remaining.is_empty() {
        out.push(format!(
            "to resume: kubectl graceful restart {} -n {ns}{resume_flags}",
            remaining.join(" ")
        ));
    }
    out
}

struct Ctx<'a> {
    kube: &'a Kube,
    /// For evictions: the same connection without kube-client's hidden 429 retries.
    evict_kube: &'a Kube,
    /// For `--probe`: without retries too (a retried 503 hides a failure).
    probe_kube: &'a Kube,
    contact: &'a Contact,
    interrupt: &'a Interrupt,
    opts: &'a Options,
    tracker: &'a Tracker,
}

impl<'a> Ctx<'a> {
    /// The evictor for step `index` in namespace `ns`, which must be done by `deadline`.
    fn evictor(&self, index: usize, ns: &'a str, deadline: Instant) -> Evictor<'a> {
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
}

/// Runs the steps in order, `--parallel` at a time; after a failure nothing new starts, but the targets
/// already running are finished (one target's error never abandons another one half done).
async fn execute(ctx: &Ctx<'_>, steps: &[Step]) -> Result<()> {
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
            format!(
                "the patch of {target} (restartedAt {value}) was sent but not confirmed: check it with `kubectl get {} -n {ns} -o yaml`",
                step.target
            ),
        )
        .await;
    let patched = trigger::patch_restarted_at(
        ctx.kube,
        ctx.contact,
        deadline,
        kind,
        ns,
        &name,
        Some(&value),
    )
    .await;
    let patched = match patched {
        Ok(p) => p,
        Err(Stop::NoAnswer {
            action,
            last_answer,
        }) => {
            ctx.interrupt.close(section);
            return Err(Stop::NoAnswer {
                action: format!(
                    "{action} was sent but not confirmed (check whether its pod template carries restartedAt {value}: `kubectl get {} -n {ns} -o yaml`)",
                    step.target
                ),
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
async fn list_pods(
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
fn label_selector(w: &Object) -> std::result::Result<String, Stop> {
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
fn pod_selector(p: &Pod) -> String {
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
    use crate::restart::options::tests::with_flags_to_resume;
    use crate::target::Target;

    fn step(kind: Kind, name: &str) -> Step {
        let subject = match kind {
            Kind::Pod => Subject::Pod(Box::new(
                serde_yaml::from_str(&format!("metadata: {{name: {name}}}")).unwrap(),
            )),
            _ => Subject::Workload(Box::new(crate::workload::from_yaml(&format!(
                "kind: {}\nmetadata: {{name: {name}}}\nspec: {{selector: {{}}, template: {{}}}}",
                kind.as_str()
            )))),
        };
        Step {
            target: Target {
                kind,
                name: name.into(),
            },
            ns: "shop".into(),
            home: "shop".into(),
            subject,
            findings: vec![],
        }
    }

    #[test]
    fn resume_hints_name_what_is_left() {
        let steps = [
            step(Kind::Deployment, "a"),
            step(Kind::StatefulSet, "b"),
            step(Kind::DaemonSet, "c"),
        ];
        let mut states: Vec<TargetState> = steps
            .iter()
            .map(|s| TargetState::new(s.display(), "shop", s.strategy(), 1))
            .collect();
        states[0].state = State::Complete;
        states[1].state = State::Interrupted;
        states[2].state = State::Skipped;
        let o = with_flags_to_resume();
        let hints = resume_hints(&states, &steps, "shop", &o.resume_flags);
        assert_eq!(
            hints,
            [
                "sts/b: the controller continues on its own; follow it with `kubectl rollout status sts/b -n shop`",
                "to resume: kubectl graceful restart ds/c -n shop --stable-for 30s --timeout 10m --force",
            ]
        );
        // Evictions stop with the tool: an interrupted pod target is resumed, not followed.
        let steps = [step(Kind::Pod, "p")];
        let mut states = vec![TargetState::new("pod/p".into(), "d", "Eviction", 1)];
        states[0].state = State::Interrupted;
        assert_eq!(
            resume_hints(&states, &steps, "d", ""),
            ["to resume: kubectl graceful restart pod/p -n d"]
        );
    }

    #[test]
    fn replacement_selector_drops_per_pod_labels() {
        let p: Pod = serde_yaml::from_str(
            "metadata: {name: db-0, labels: {app: db, controller-revision-hash: db-5d8f, statefulset.kubernetes.io/pod-name: db-0}}",
        )
        .unwrap();
        assert_eq!(pod_selector(&p), "app=db");
    }
}
