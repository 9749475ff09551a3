//! `kubectl graceful restart`: restart workloads one after another, each only when the previous one is
//! complete (every new pod Ready, old pods gone, optionally stable for a while), failing fast with the
//! reason a new pod fails.
//!
//! Where each part lives (this file only runs the phases in order: connect, resolve, preflight, the
//! targets, signals, summary):
//! - [`options`]: the only code that sees clap: `RestartArgs` → validated [`Options`];
//! - [`plan`]: options → resolved targets, what preflight needs (gathered in parallel), the ordered steps
//!   and their description;
//! - [`preflight`]: restart's policy over diagnose's before-restart rules (rule id → Warning/Risk/Blocked;
//!   the checks themselves are `diagnose/rules/restart.rs`); risks need `--force`;
//! - `step.rs`: one target's restart (save and evict a bare pod; patch, evict OnDelete pods, await the
//!   rollout, explain a failure, decide on a rollback), the targets run `--parallel` at a time;
//! - [`trigger`]: the `kubectl.kubernetes.io/restartedAt` strategic merge patch, as `kubectl rollout
//!   restart`, and who changed it back (managedFields);
//! - [`status`]: pure completion (stricter than `kubectl rollout status`) and failure detection;
//! - [`wait`]: watch-based waiting (resumes dropped watches, relists after 410);
//! - [`evict`]: one-at-a-time replacement through the Eviction API (OnDelete, pods), [`backup`]: a bare
//!   pod's manifest saved before its eviction;
//! - `rollback.rs`: a failed target back to its previous pod template, awaited like a rollout;
//! - [`api`]: deadlines on every request and when the API server last answered;
//! - [`interrupt`]: what SIGINT/SIGTERM do (critical sections finished first);
//! - `undone.rs`: what is left to do by hand after a stop, worded once: resume commands, and what each
//!   critical section leaves undone;
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
mod step;
pub(crate) mod track;
pub(crate) mod trigger;
mod undone;
pub(crate) mod wait;

pub(crate) mod zerodowntime;

use tokio::time::Instant;

use crate::error::Result;
use crate::exit::Exit;
use crate::output::Printer;
use crate::signal::{Signal, Signals};
use crate::workload::Strategy;
use api::{Contact, Stop};
use interrupt::Interrupt;
use model::{Gate, RunOutcome, TargetState};
pub(crate) use options::Options;
use plan::Subject;
use render::{Note, Reporter};
use track::Tracker;

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
    let ctx = step::Ctx {
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
    let exec = step::execute(&ctx, &steps);
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
        let resume = undone::resume_hints(&states, &steps, &ns, &opts.resume_flags);
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
