//! `kubectl graceful restart`: restart workloads one after another, each only when the previous one is
//! complete (every new pod Ready, old pods gone, optionally stable for a while), failing fast with the
//! reason a new pod fails.
//!
//! - [`plan`]: flags → validated options → ordered steps (gather, in parallel) and their description;
//! - [`preflight`]: pure risk checks (diagnose rule ids), risks need `--force`;
//! - [`trigger`]: the `kubectl.kubernetes.io/restartedAt` strategic merge patch, as `kubectl rollout restart`;
//! - [`status`]: pure completion (stricter than `kubectl rollout status`) and failure detection;
//! - [`wait`]: watch-based waiting (resumes dropped watches, relists after 410);
//! - [`evict`]: one-at-a-time replacement through the Eviction API (OnDelete, pods);
//! - [`render`]: progress, NDJSON events, plan and summary tables.
//!
//! # JSON schema (`-o json`)
//! One object per line, each `{"apiVersion": "graceful.kubectl.io/v1alpha1", "kind": "RestartEvent",
//! "type": T, "time": RFC3339, "namespace": NS, "target": "deploy/web", …}` with `type`:
//! - `PreflightFinding`: `rule`, `severity` (Warning|Risk|Blocked), `message`, `fix`;
//! - `TargetStarted`: `strategy`, `desired`, `restartedAt`, `detail`;
//! - `PodEvicted` / `EvictionBlocked`: `pod` (and `reason`, `retryInSeconds`);
//! - `PodReady`: `pod`, `ready`, `desired`;
//! - `TargetComplete`: `ready`, `desired`, `elapsedSeconds`;
//! - `TargetFailed`: `reason`, `verdict`, `failure` (`pod`, `container`, `reason`, `exitCode`, `message`,
//!   `restarts`) or null, `explain` (the `explain` PodReport of the failing pod) or null, `ready`, `desired`,
//!   `elapsedSeconds`;
//! - `RollbackStarted` / `RollbackComplete` (`succeeded`, `detail`);
//! - `Interrupted`: `resume` (command lines);
//! - `Summary` (last line): `result` (Complete|Failed|Interrupted, or Refused by preflight), `targets`:
//!   [{`target`, `strategy`, `state` (Pending|Running|Complete|Failed|RolledBack|Interrupted|Skipped),
//!   `ready`, `desired`, `phase`, `verdict`, `elapsedSeconds`}].
//!
//! With `--dry-run -o json` a single `RestartPlan` object: `{apiVersion, kind: RestartPlan, namespace,
//! steps: [{order, target, strategy, pods, action, disruption, findings}]}`.

pub mod evict;
pub mod plan;
pub mod preflight;
pub mod render;
pub mod status;
pub mod trigger;
pub mod wait;
pub mod workload;

use futures::stream::FuturesUnordered;
use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{DeleteParams, ListParams};
use kube::Api;
use serde_json::json;
use tokio::time::Instant;

use crate::cli::{GlobalArgs, RestartArgs};
use crate::client::Kube;
use crate::error::{Error, Result};
use crate::exit::Exit;
use crate::output::Printer;
use crate::settings::OutputSettings;
use crate::target::Kind;
use evict::Evictor;
use plan::{Options, Step, Subject};
use preflight::Severity;
use render::{Reporter, State, TargetState};
use status::Expect;
use wait::{Outcome, RolloutWait};
use workload::{Strategy, Workload};

pub async fn run(args: RestartArgs, global: &GlobalArgs) -> Result<Exit> {
    let opts = Options::from_args(&args)?;
    let printer = Printer::new(OutputSettings::new(args.output, global.no_color));
    let kube = crate::connect(global).await?;
    let ns = kube.namespace.clone();
    let steps = tokio::select! {
        r = plan::resolve(&kube, &ns, &opts) => r?,
        _ = tokio::signal::ctrl_c() => return Err(Error::Interrupted),
    };
    let states: Vec<TargetState> = steps
        .iter()
        .map(|s| TargetState::new(s.display(), s.strategy(), s.pods()))
        .collect();
    let reporter = Reporter::new(printer, ns.clone(), states);
    // With `--dry-run -o json` the findings are part of the one RestartPlan document.
    if !(opts.dry_run && printer.is_machine()) {
        for s in &steps {
            reporter.findings(&s.display(), &s.findings, opts.force);
        }
    }
    let worst = |sev| {
        steps
            .iter()
            .any(|s| s.findings.iter().any(|f| f.severity == sev))
    };
    let (blocked, risky) = (worst(Severity::Blocked), worst(Severity::Risk));
    let refuse = blocked || (risky && !opts.force);

    if opts.dry_run {
        let rows = plan::plan_rows(&steps);
        if printer.is_machine() {
            printer.json_line(&json!({
                "apiVersion": render::API_VERSION,
                "kind": "RestartPlan",
                "namespace": ns,
                "steps": rows,
            }))?;
        } else {
            render::plan_table(&printer, &rows)?;
            crate::output::note(&format!(
                "dry run: nothing was changed ({} target{} in namespace {ns}, {})",
                rows.len(),
                status::plural(rows.len()),
                if opts.parallel > 1 {
                    format!("{} at a time", opts.parallel)
                } else {
                    "one after another".into()
                }
            ));
            if refuse {
                crate::output::note(refusal(blocked));
            }
        }
        return Ok(if refuse { Exit::Findings } else { Exit::Ok });
    }
    if refuse {
        crate::output::note(&format!("not restarting anything: {}", refusal(blocked)));
        reporter.close(false);
        reporter.emit(
            "Summary",
            None,
            json!({"result": "Refused", "targets": reporter.snapshot()}),
        );
        return Ok(Exit::Findings);
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
    let ctx = Ctx {
        kube: &kube,
        evict_kube: &evict_kube,
        ns: &ns,
        opts: &opts,
        reporter: &reporter,
    };
    let (result, interrupted) = tokio::select! {
        r = execute(&ctx, &steps) => (r, false),
        _ = tokio::signal::ctrl_c() => (Ok(()), true),
    };
    reporter.close(interrupted);
    let states = reporter.snapshot();
    if interrupted {
        let resume = resume_hints(&states, &steps, &ns, &args);
        reporter.emit("Interrupted", None, json!({ "resume": resume }));
        if !reporter.is_json() {
            crate::output::note("interrupted: stopped waiting, nothing more was changed");
            for r in &resume {
                crate::output::note(&format!("  {r}"));
            }
        }
    }
    let overall = if interrupted {
        "Interrupted"
    } else if states
        .iter()
        .any(|s| matches!(s.state, State::Failed | State::RolledBack))
    {
        "Failed"
    } else {
        "Complete"
    };
    if reporter.is_json() {
        reporter.emit(
            "Summary",
            None,
            json!({"result": overall, "targets": states}),
        );
    } else {
        render::summary_table(&printer, &states)?;
        if overall == "Failed" {
            let failed: Vec<&str> = states
                .iter()
                .filter(|s| matches!(s.state, State::Failed | State::RolledBack))
                .map(|s| s.target.as_str())
                .collect();
            let untouched: Vec<&str> = states
                .iter()
                .filter(|s| s.state == State::Skipped)
                .map(|s| s.target.as_str())
                .collect();
            crate::output::note(&format!(
                "restart failed at {}{}",
                failed.join(", "),
                if untouched.is_empty() {
                    String::new()
                } else {
                    format!("; not touched: {}", untouched.join(", "))
                }
            ));
            for s in states.iter().filter(|s| s.state == State::Failed) {
                if !s.target.starts_with("pod/") {
                    crate::output::note(&format!(
                        "  to go back: kubectl rollout undo {} -n {ns} (or rerun with --rollback-on-failure)",
                        s.target
                    ));
                }
            }
            if !untouched.is_empty() {
                crate::output::note(&format!(
                    "  the rest, once fixed: kubectl graceful restart {} -n {ns}",
                    untouched.join(" ")
                ));
            }
        }
    }
    result?;
    Ok(match overall {
        "Interrupted" => Exit::Interrupted,
        "Failed" => Exit::Findings,
        _ => Exit::Ok,
    })
}

fn refusal(blocked: bool) -> &'static str {
    if blocked {
        "a target is blocked (see above); --force cannot help, follow the fix"
    } else {
        "preflight found risks (see above); fix them, or pass --force to go ahead"
    }
}

/// The command lines that pick up where an interrupted run stopped.
fn resume_hints(
    states: &[TargetState],
    steps: &[Step],
    ns: &str,
    args: &RestartArgs,
) -> Vec<String> {
    let mut out = Vec::new();
    for (s, step) in states.iter().zip(steps) {
        if s.state == State::Interrupted && step.target.kind != Kind::Pod {
            out.push(format!(
                "{}: the controller continues on its own; follow it with `kubectl rollout status {} -n {ns}`",
                s.target, s.target
            ));
        }
    }
    let remaining: Vec<String> = states
        .iter()
        .filter(|s| {
            matches!(s.state, State::Skipped | State::Pending)
                || (s.state == State::Interrupted && s.strategy == "OnDelete")
                || (s.state == State::Interrupted && s.strategy == "Eviction")
        })
        .map(|s| s.target.clone())
        .collect();
    if !remaining.is_empty() {
        let mut cmd = format!("kubectl graceful restart {} -n {ns}", remaining.join(" "));
        if let Some(d) = &args.stable_for {
            cmd.push_str(&format!(" --stable-for {d}"));
        }
        if args.timeout != "5m" {
            cmd.push_str(&format!(" --timeout {}", args.timeout));
        }
        for (on, flag) in [
            (args.force, " --force"),
            (args.rollback_on_failure, " --rollback-on-failure"),
        ] {
            if on {
                cmd.push_str(flag);
            }
        }
        if args.parallel > 1 {
            cmd.push_str(&format!(" --parallel {}", args.parallel));
        }
        out.push(format!("to resume: {cmd}"));
    }
    out
}

struct Ctx<'a> {
    kube: &'a Kube,
    /// For evictions: the same connection without kube-client's hidden 429 retries.
    evict_kube: &'a Kube,
    ns: &'a str,
    opts: &'a Options,
    reporter: &'a Reporter,
}

impl<'a> Ctx<'a> {
    /// The evictor for step `index`, which must be done by `deadline`.
    fn evictor(&self, index: usize, deadline: Instant) -> Evictor<'a> {
        Evictor {
            kube: self.evict_kube,
            ns: self.ns,
            deadline,
            timeout: self.opts.timeout,
            index,
            reporter: self.reporter,
        }
    }
}

/// Runs the steps in order, `--parallel` at a time; after a failure nothing new starts.
async fn execute(ctx: &Ctx<'_>, steps: &[Step]) -> Result<()> {
    let mut running = FuturesUnordered::new();
    let mut next = 0;
    let mut failed = false;
    loop {
        while !failed && running.len() < ctx.opts.parallel && next < steps.len() {
            running.push(run_step(ctx, next, &steps[next]));
            next += 1;
        }
        match running.next().await {
            None => return Ok(()),
            Some(ok) => failed |= !ok?,
        }
    }
}

/// Restarts one target; `Ok(true)` when complete.
async fn run_step(ctx: &Ctx<'_>, i: usize, step: &Step) -> Result<bool> {
    let deadline = Instant::now() + ctx.opts.timeout;
    let evictor = ctx.evictor(i, deadline);
    let w = match &step.subject {
        Subject::Pod(p) => {
            let (detail, _) = plan::describe(step);
            ctx.reporter.started(i, &detail, None);
            let outcome = evictor.replace(p, &pod_selector(p), None, (1, 1)).await?;
            if matches!(outcome, Outcome::Complete) {
                ctx.reporter.progress(i, 1, 1, "replaced");
            }
            return Ok(finish(ctx, i, outcome).await);
        }
        Subject::Workload(w) => w,
    };
    let (kind, name) = (w.kind(), w.name().to_string());
    let fresh = plan::get_workload(ctx.kube, kind, ctx.ns, &name).await?;
    let prev = fresh.restarted_at().map(str::to_string);
    let (value, pause) = trigger::next_value(
        jiff::Timestamp::now(),
        &jiff::tz::TimeZone::system(),
        prev.as_deref(),
    );
    if !pause.is_zero() {
        // kubectl's "already triggered" case: a restart within the same second would change nothing.
        ctx.reporter.log(&format!(
            "{}: restarted within this second already; waiting for the next second",
            step.display()
        ));
        tokio::time::sleep(pause).await;
    }
    let patched = trigger::patch_restarted_at(ctx.kube, kind, ctx.ns, &name, Some(&value)).await?;
    let (detail, _) = plan::describe(&Step {
        subject: Subject::Workload(Box::new(patched.clone())),
        ..step.clone()
    });
    ctx.reporter.started(i, &detail, Some(&value));
    let selector = label_selector(&patched)?;
    let expect = Expect {
        marker: Some(value.clone()),
        generation: patched.generation(),
        exempt: Default::default(),
    };
    let mut outcome = Outcome::Complete;
    if patched.strategy() == Strategy::OnDelete {
        outcome = replace_on_delete(ctx, i, &patched, &selector, &value, &evictor).await?;
    }
    if matches!(outcome, Outcome::Complete) {
        outcome = wait::wait_rollout(RolloutWait {
            kube: ctx.kube,
            ns: ctx.ns,
            kind,
            name: &name,
            selector: selector.clone(),
            expect,
            deadline,
            timeout: ctx.opts.timeout,
            stable_for: ctx.opts.stable_for,
            index: i,
            reporter: ctx.reporter,
            rollback: false,
        })
        .await?;
    }
    let ok = finish(ctx, i, outcome).await;
    if !ok && ctx.opts.rollback {
        rollback(ctx, i, &patched, prev, &value, &selector).await?;
    }
    Ok(ok)
}

/// Reports how a target ended; a failed pod is explained by `explain`. True when complete.
async fn finish(ctx: &Ctx<'_>, i: usize, outcome: Outcome) -> bool {
    match outcome {
        Outcome::Complete => {
            ctx.reporter.complete(i);
            true
        }
        Outcome::Failed {
            reason,
            failure,
            verdict,
        } => {
            let report = match &failure {
                Some(f) if crate::target::valid_name(&f.pod) => {
                    let opts = crate::explain::ExplainOptions {
                        tail: Some(5),
                        ..Default::default()
                    };
                    crate::explain::explain_pod(ctx.kube, ctx.ns, &f.pod, &opts)
                        .await
                        .ok()
                }
                _ => None,
            };
            ctx.reporter
                .failed(i, &reason, failure.as_ref(), verdict, report.as_ref());
            false
        }
    }
}

/// OnDelete: the controller waits for pods to be deleted; evict the old ones one at a time.
async fn replace_on_delete(
    ctx: &Ctx<'_>,
    i: usize,
    w: &Workload,
    selector: &str,
    value: &str,
    evictor: &Evictor<'_>,
) -> Result<Outcome> {
    let (kind, name) = (w.kind(), w.name());
    if !wait::wait_observed(
        ctx.kube,
        kind,
        ctx.ns,
        name,
        w.generation(),
        evictor.deadline,
        ctx.reporter,
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
    let mut old = list_pods(ctx, w, selector)
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
        ctx.reporter.progress(
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
            .replace(p, selector, Some(Some(value)), (done + 1, total))
            .await?;
        if !matches!(o, Outcome::Complete) {
            return Ok(o);
        }
    }
    Ok(Outcome::Complete)
}

/// The workload's pods: its selector's, minus those another controller owns (never evict those).
async fn list_pods(ctx: &Ctx<'_>, w: &Workload, selector: &str) -> Result<Vec<Pod>> {
    let api: Api<Pod> = Api::namespaced(ctx.kube.client.clone(), ctx.ns);
    Ok(ctx
        .kube
        .call(
            "list",
            &format!("pods -l {selector}"),
            Some(ctx.ns),
            api.list(&ListParams::default().labels(selector)),
        )
        .await?
        .items
        .into_iter()
        .filter(|p| status::may_belong_to(p, w))
        .collect())
}

/// Returns the workload to the template it had before our patch. Deployments: the previous ReplicaSet
/// scales back up. StatefulSets/DaemonSets: stuck new pods are deleted so they come back on the old
/// template (a StatefulSet never replaces a broken pod by itself).
async fn rollback(
    ctx: &Ctx<'_>,
    i: usize,
    w: &Workload,
    prev: Option<String>,
    bad: &str,
    selector: &str,
) -> Result<()> {
    let (kind, name) = (w.kind(), w.name().to_string());
    ctx.reporter.rollback_started(
        i,
        &format!(
            "restoring the previous pod template (restartedAt {})",
            prev.as_deref().unwrap_or("absent")
        ),
    );
    let exempt = list_pods(ctx, w, selector)
        .await?
        .iter()
        .filter(|p| !status::is_new(p, Some(bad)))
        .map(|p| status::pod_uid(p).to_string())
        .collect();
    let patched =
        trigger::patch_restarted_at(ctx.kube, kind, ctx.ns, &name, prev.as_deref()).await?;
    let deadline = Instant::now() + ctx.opts.timeout;
    if kind != Kind::Deployment {
        let api: Api<Pod> = Api::namespaced(ctx.kube.client.clone(), ctx.ns);
        for p in list_pods(ctx, w, selector).await? {
            let stuck = status::is_new(&p, Some(bad)) && !status::is_ready(&p);
            if stuck && !status::is_terminating(&p) {
                let pn = status::pod_name(&p).to_string();
                ctx.kube
                    .call(
                        "delete",
                        &format!("pod {pn}"),
                        Some(ctx.ns),
                        api.delete(&pn, &DeleteParams::default()),
                    )
                    .await?;
                ctx.reporter.log(&format!("deleted stuck pod {pn}"));
            }
        }
        if patched.strategy() == Strategy::OnDelete {
            let evictor = ctx.evictor(i, deadline);
            for p in list_pods(ctx, w, selector).await? {
                if status::is_new(&p, Some(bad)) && !status::is_terminating(&p) {
                    let o = evictor
                        .replace(&p, selector, Some(prev.as_deref()), (0, 0))
                        .await?;
                    if let Outcome::Failed { verdict, .. } = o {
                        ctx.reporter
                            .rolled_back(i, false, &format!("rollback failed: {verdict}"));
                        return Ok(());
                    }
                }
            }
        }
    }
    let outcome = wait::wait_rollout(RolloutWait {
        kube: ctx.kube,
        ns: ctx.ns,
        kind,
        name: &name,
        selector: selector.to_string(),
        expect: Expect {
            marker: prev,
            generation: patched.generation(),
            exempt,
        },
        deadline,
        timeout: ctx.opts.timeout,
        stable_for: None,
        index: i,
        reporter: ctx.reporter,
        rollback: true,
    })
    .await?;
    match outcome {
        Outcome::Complete => {
            ctx.reporter
                .rolled_back(i, true, "rolled back: the previous pods are Ready again")
        }
        Outcome::Failed { verdict, .. } => {
            ctx.reporter
                .rolled_back(i, false, &format!("rollback did not complete: {verdict}"))
        }
    }
    Ok(())
}

/// The workload's `spec.selector` as a label selector string.
fn label_selector(w: &Workload) -> Result<String> {
    let ls = w.selector().cloned().unwrap_or_default();
    let s = crate::selector::to_query(&ls)?;
    if s.is_empty() {
        return Err(Error::other(
            format!("restart {} {}", w.kind().lower(), w.name()),
            "its selector is empty: refusing to treat every pod of the namespace as its pods",
        ));
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
    use crate::restart::plan::tests::args;
    use crate::target::Target;

    fn step(kind: Kind, name: &str) -> Step {
        let subject = match kind {
            Kind::Pod => Subject::Pod(Box::new(
                serde_yaml::from_str(&format!("metadata: {{name: {name}}}")).unwrap(),
            )),
            _ => Subject::Workload(Box::new(workload::from_yaml(&format!(
                "kind: {}\nmetadata: {{name: {name}}}\nspec: {{selector: {{}}, template: {{}}}}",
                kind.as_str()
            )))),
        };
        Step {
            target: Target {
                kind,
                name: name.into(),
            },
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
            .map(|s| TargetState::new(s.display(), s.strategy(), 1))
            .collect();
        states[0].state = State::Complete;
        states[1].state = State::Interrupted;
        states[2].state = State::Skipped;
        let a = args(&["x", "--stable-for", "30s", "--timeout", "10m", "--force"]);
        let hints = resume_hints(&states, &steps, "shop", &a);
        assert_eq!(
            hints,
            [
                "sts/b: the controller continues on its own; follow it with `kubectl rollout status sts/b -n shop`",
                "to resume: kubectl graceful restart ds/c -n shop --stable-for 30s --timeout 10m --force",
            ]
        );
        // Evictions stop with the tool: an interrupted pod target is resumed, not followed.
        let steps = [step(Kind::Pod, "p")];
        let mut states = vec![TargetState::new("pod/p".into(), "Eviction", 1)];
        states[0].state = State::Interrupted;
        assert_eq!(
            resume_hints(&states, &steps, "d", &args(&["x"])),
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
