//! Everything the restart shows: live progress on stderr (indicatif on a terminal, plain lines otherwise),
//! NDJSON `RestartEvent`s on stdout with `-o json`, preflight findings, the plan (`--dry-run`), the final
//! summary table, what an interruption left and how to go on. It shows what [`super::track::Tracker`]
//! hands it (typed [`Event`]s and the targets' states) and keeps nothing of the run but its progress bars.

use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::model::{Envelope, Event, Gate, PlanRow, RestartPlan, RunOutcome, State, TargetState};
use super::zerodowntime::{Verdict as ZeroVerdict, ZeroDowntime};
use crate::error::Result;
use crate::output::{Printer, Style};
use crate::signal::Signal;

pub(crate) fn fmt_elapsed(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

/// Shows the run: NDJSON events with `-o json`, else lines and (on a terminal) a live bar per target.
pub(crate) struct Reporter {
    pub printer: Printer,
    /// `--force`: risks are shown as accepted.
    forced: bool,
    json: bool,
    multi: Option<MultiProgress>,
    bars: Mutex<Vec<Option<ProgressBar>>>,
}

impl Reporter {
    pub(crate) fn new(printer: Printer, forced: bool) -> Self {
        let json = printer.is_machine();
        let multi = (!json && printer.settings.interactive)
            .then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
        Reporter {
            printer,
            forced,
            json,
            multi,
            bars: Mutex::new(Vec::new()),
        }
    }

    /// Room for the bars of `targets` targets.
    pub(crate) fn prepare(&self, targets: usize) {
        if let Ok(mut bars) = self.bars.lock() {
            *bars = vec![None; targets];
        }
    }

    pub(crate) fn is_json(&self) -> bool {
        self.json
    }

    /// One event line with `-o json` (keys sorted at every level, as always).
    fn json_line(&self, namespace: &str, target: Option<&str>, event: &Event) {
        let envelope = Envelope::new(namespace, target, event);
        if let Ok(v) = serde_json::to_value(&envelope) {
            let _ = self.printer.json_line(&v);
        }
    }

    /// Shows an event of target `i` (whose state is `state`), or a run-wide one.
    pub(crate) fn show(
        &self,
        i: Option<usize>,
        state: Option<&TargetState>,
        run_ns: &str,
        event: &Event,
    ) {
        let target = state.map(|s| s.target.as_str());
        if self.json {
            let ns = state.map_or(run_ns, |s| s.namespace.as_str());
            return self.json_line(ns, target, event);
        }
        let t = target.unwrap_or_default();
        match event {
            Event::TargetStarted {
                detail, desired, ..
            } => {
                self.log(&format!("{t}: {detail}"));
                if let Some(i) = i {
                    self.start_bar(i, t, *desired);
                }
            }
            Event::PodSaved { pod, path } => self.log(&format!(
                "{t}: saved the manifest of pod {pod} to {path} (it has no controller: `kubectl create -f` it if the restart is stopped before the pod is created again)"
            )),
            Event::PodRecreated { pod, .. } => {
                self.log(&format!("{t}: created pod {pod} again (it has no controller)"))
            }
            Event::PodEvicted { pod } => self.log(&format!("{t}: evicted pod {pod}")),
            Event::EvictionBlocked {
                pod,
                reason,
                retry_in_seconds,
            } => {
                let line = format!(
                    "{t}: eviction of pod {pod} refused ({reason}); retrying in {}",
                    fmt_elapsed(Duration::from_secs_f64(*retry_in_seconds))
                );
                if !i.is_some_and(|i| self.set_bar(i, &line)) {
                    self.log(&line);
                }
            }
            Event::TargetComplete { ready, desired, .. } => {
                let el = state
                    .and_then(TargetState::elapsed)
                    .map(fmt_elapsed)
                    .unwrap_or_default();
                self.log(&format!(
                    "{t}: complete, {ready}/{desired} new pods Ready in {el}"
                ));
            }
            Event::TargetFailed {
                reason,
                verdict,
                explain,
                ..
            } => {
                // An error (forbidden, unreachable …) ends the run with its own `error:` line: not twice.
                if reason == super::ERROR {
                    return;
                }
                let p = &self.printer;
                let mut text = format!("{t}: {} {reason}\n    {verdict}", p.paint("FAILED:", Style::Error));
                if let Some(r) = explain {
                    // stderr: colour only when stderr is a terminal too.
                    let mut settings = p.settings;
                    settings.color = settings.color && settings.interactive;
                    let report = crate::explain::render_pod_report(&Printer::new(settings), r);
                    text.push_str("\n\n");
                    for line in report.trim_end().lines() {
                        text.push_str("    ");
                        text.push_str(line);
                        text.push('\n');
                    }
                }
                self.log(text.trim_end());
            }
            Event::TargetUnknown { verdict, .. } => {
                let p = &self.printer;
                self.log(&format!("{t}: {} {verdict}", p.paint("UNKNOWN:", Style::Warning)));
            }
            // "No Service selects it" says nothing about the rollout: the summary table row is enough.
            Event::ZeroDowntime { zero_downtime: z } if z.verdict != ZeroVerdict::NotApplicable => {
                self.log(&format!(
                    "{t}: zero downtime {}: {}",
                    z.verdict.as_str(),
                    z.summary
                ))
            }
            Event::RollbackStarted { detail } => self.log(&format!("{t}: rolling back: {detail}")),
            Event::RollbackComplete { detail, .. } => self.log(&format!("{t}: {detail}")),
            // Shown as notes and tables at the end (`interrupted`, `summary_table`).
            Event::PreflightFinding(_)
            | Event::ZeroDowntime { .. }
            | Event::PodReady { .. }
            | Event::Interrupted { .. }
            | Event::Summary { .. } => {}
        }
    }

    /// A preflight finding on `target` (not started yet).
    pub(crate) fn finding(&self, target: &str, namespace: &str, event: &Event) {
        if self.json {
            return self.json_line(namespace, Some(target), event);
        }
        let Event::PreflightFinding(f) = event else {
            return;
        };
        let sev = match f.severity {
            Gate::Warning => "warning",
            Gate::Risk if self.forced => "risk (--force)",
            Gate::Risk => "risk",
            Gate::Blocked => "blocked",
        };
        crate::output::note(&format!(
            "{target}: {sev} [{}] {}\n    fix: {}",
            f.rule, f.message, f.fix
        ));
    }

    /// A target's progress: its bar on a terminal, else a line.
    pub(crate) fn progress(&self, i: usize, target: &str, msg: &str) {
        if !self.set_bar(i, msg) {
            self.log(&format!("{target}: {msg}"));
        }
    }

    /// What a target is doing now, on its bar only.
    pub(crate) fn status(&self, i: usize, msg: &str) {
        self.set_bar(i, msg);
    }

    /// A log line on stderr (never with `-o json`, where events carry everything).
    pub(crate) fn log(&self, line: &str) {
        if self.json {
            return;
        }
        match &self.multi {
            Some(m) => {
                // Above the live bars, one line at a time, wrapped at spaces to the terminal's width.
                let width = console::Term::stderr()
                    .size_checked()
                    .map_or(usize::MAX, |(_, w)| w as usize);
                for l in line.lines() {
                    let indent: String = l.chars().take_while(|c| *c == ' ').collect();
                    let _ = m.println(wrap(l.trim_end(), width, &format!("{indent}    ")));
                }
            }
            None => crate::output::note(line),
        }
    }

    pub(crate) fn warn(&self, line: &str) {
        match &self.multi {
            Some(m) => {
                let _ = m.println(format!("warning: {line}"));
            }
            None => crate::output::warn(line),
        }
    }

    fn start_bar(&self, i: usize, target: &str, desired: i32) {
        let Some(m) = &self.multi else {
            return;
        };
        // Hidden until it belongs to the MultiProgress: a bar that draws on its own leaves a line
        // behind that nothing clears.
        let bar = m.add(ProgressBar::with_draw_target(
            None,
            ProgressDrawTarget::hidden(),
        ));
        // `wide_msg` is cut to the terminal's width: a line that wraps is never cleared completely.
        bar.set_style(
            ProgressStyle::with_template("{spinner} {prefix:.bold} {wide_msg} {elapsed}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.set_prefix(target.to_string());
        bar.set_message(format!("0/{desired} new pods Ready — starting"));
        bar.enable_steady_tick(Duration::from_millis(120));
        if let Ok(mut bars) = self.bars.lock() {
            if let Some(slot) = bars.get_mut(i) {
                *slot = Some(bar);
            }
        }
    }

    fn bar(&self, i: usize) -> Option<ProgressBar> {
        self.bars.lock().ok()?.get(i).cloned().flatten()
    }

    /// Sets the message of target `i`'s bar; false when it has none.
    fn set_bar(&self, i: usize, msg: &str) -> bool {
        match self.bar(i) {
            Some(bar) => {
                bar.set_message(msg.to_string());
                true
            }
            None => false,
        }
    }

    /// Target `i` ended: its bar goes.
    pub(crate) fn finished(&self, i: usize) {
        if let Some(bar) = self.bar(i) {
            bar.finish_and_clear();
        }
    }

    /// The run ended: every bar goes.
    pub(crate) fn finished_all(&self) {
        if let Ok(bars) = self.bars.lock() {
            for b in bars.iter().flatten() {
                b.finish_and_clear();
            }
        }
    }
}

/// `--dry-run` for people, after the plan table: nothing changed, and whether the run would be refused
/// (`Some(blocked)`).
pub(crate) fn dry_run_notes(targets: usize, ns: &str, parallel: usize, refused: Option<bool>) {
    crate::output::note(&format!(
        "dry run: nothing was changed ({targets} target{} in namespace {ns}, {})",
        super::status::plural(targets),
        if parallel > 1 {
            format!("{parallel} at a time")
        } else {
            "one after another".into()
        }
    ));
    if let Some(blocked) = refused {
        crate::output::note(refusal(blocked));
    }
}

/// Preflight refused the run.
pub(crate) fn refused(blocked: bool) {
    crate::output::note(&format!("not restarting anything: {}", refusal(blocked)));
}

fn refusal(blocked: bool) -> &'static str {
    if blocked {
        "a target is blocked (see above); --force cannot help, follow the fix"
    } else {
        "preflight found risks (see above); fix them, or pass --force to go ahead"
    }
}

/// A signal stopped the run: what it means, what a second one left undone, how to resume (people).
pub(crate) fn interrupted(sig: Signal, unfinished: &[String], resume: &[String]) {
    let note = crate::output::note;
    note(&format!(
        "{}: stopped waiting, nothing more was changed",
        stopped_by(sig)
    ));
    for u in unfinished {
        note(&format!("  LEFT UNDONE: {u}"));
    }
    for r in resume {
        note(&format!("  {r}"));
    }
}

/// `interrupted` or `terminated (SIGTERM)`.
/// A list preflight could not read: its checks are skipped (stderr, whatever the format).
pub(crate) fn preflight_skipped(s: &super::plan::Skipped) {
    crate::output::warn(&skipped_text(s));
}

fn skipped_text(s: &super::plan::Skipped) -> String {
    format!(
        "cannot list {} in {} ({}); preflight skips its {} checks",
        s.what,
        s.namespace.as_deref().unwrap_or("all namespaces"),
        s.error,
        s.what
    )
}

/// A signal before any target started: nothing was changed.
pub(crate) fn stopped_before_any_change(sig: Signal) {
    crate::output::note(&format!("{}: stopped before any change", stopped_by(sig)));
}

/// What the run says on stderr between its events (a line above the bars; never with `-o json`, where the
/// events carry everything).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Note<'a> {
    /// kubectl's "already triggered" case: a restart within the same second would change nothing.
    SameSecond { target: &'a str },
    /// A bare pod we evicted was created again by someone else meanwhile.
    PodExists { pod: &'a str },
    /// A pod left terminating by a rollback was deleted.
    DeletedStuckPod { pod: &'a str },
    /// A signal arrived inside a critical section, which is finished first (a warning).
    FinishingFirst { signal: Signal, what: &'a str },
}

impl Note<'_> {
    pub(crate) fn text(&self) -> String {
        match self {
            Note::SameSecond { target } => {
                format!("{target}: restarted within this second already; waiting for the next second")
            }
            Note::PodExists { pod } => {
                format!("pod {pod} exists already (created by someone else meanwhile)")
            }
            Note::DeletedStuckPod { pod } => format!("deleted stuck pod {pod}"),
            Note::FinishingFirst { signal, what } => format!(
                "{} received: finishing first what must not be left half done ({what}); send it again to stop at once",
                signal.name()
            ),
        }
    }

    /// Shown as `warning: …`.
    pub(crate) fn is_warning(&self) -> bool {
        matches!(self, Note::FinishingFirst { .. })
    }
}

pub(crate) fn stopped_by(sig: Signal) -> &'static str {
    if sig == Signal::Int {
        "interrupted"
    } else {
        "terminated (SIGTERM)"
    }
}

/// After the summary: what failed, what was not touched, and how to go on.
pub(crate) fn next_steps(outcome: RunOutcome, states: &[TargetState], ns: &str) {
    let note = crate::output::note;
    if outcome == RunOutcome::Unknown {
        note("restart could not observe every target: the API server stopped answering (see above); check them with `kubectl rollout status`");
    }
    if outcome != RunOutcome::Failed {
        return;
    }
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
    note(&format!(
        "restart failed at {}{}",
        failed.join(", "),
        if untouched.is_empty() {
            String::new()
        } else {
            format!("; not touched: {}", untouched.join(", "))
        }
    ));
    for s in states.iter().filter(|s| s.state == State::Failed) {
        let (target, tns) = super::undone::unqualified(s);
        if s.takeover {
            note(&format!(
                "  {target}: another restart took over; follow it with `kubectl rollout status {target} -n {tns}`"
            ));
        } else if !target.starts_with("pod/")
            && ![super::wait::REVERTED, super::wait::PAUSED, super::ERROR]
                .contains(&s.phase.as_str())
        {
            note(&format!(
                "  to go back: kubectl rollout undo {target} -n {tns} (or rerun with --rollback-on-failure)"
            ));
        }
    }
    if !untouched.is_empty() {
        note(&format!(
            "  the rest, once fixed: kubectl graceful restart {} -n {ns}",
            untouched.join(" ")
        ));
    }
}

/// Greedy word wrap at spaces: lines of at most `width` columns (a longer word stays whole on its own
/// line), continuation lines indented by `indent`.
pub(crate) fn wrap(text: &str, width: usize, indent: &str) -> String {
    let len = |s: &str| s.chars().count();
    // The text's own leading spaces stay on its first line.
    let mut line: String = text.chars().take_while(|c| *c == ' ').collect();
    let mut out = String::new();
    let mut words = 0;
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        if words > 0 && len(&line) + 1 + len(word) > width {
            out.push_str(&line);
            out.push('\n');
            line = indent.to_string();
            words = 0;
        }
        if words > 0 {
            line.push(' ');
        }
        line.push_str(word);
        words += 1;
    }
    out.push_str(&line);
    out
}

/// The width of the terminal stdout is, if it is one.
fn stdout_width() -> Option<usize> {
    let t = console::Term::stdout();
    t.is_term()
        .then(|| t.size_checked())
        .flatten()
        .map(|(_, w)| w as usize)
        .filter(|w| *w >= 20)
}

/// On a terminal, the table fits its width: only the `wrap` columns (free text) are wrapped, at spaces;
/// names, states and numbers are never broken. Elsewhere (a pipe, a file) lines stay whole.
fn fit_to_terminal(t: &mut comfy_table::Table, wrap: &[usize], width: usize) {
    use comfy_table::{ColumnConstraint, ContentArrangement};
    t.set_width(width.min(u16::MAX as usize) as u16);
    t.set_content_arrangement(ContentArrangement::Dynamic);
    for (i, col) in t.column_iter_mut().enumerate() {
        if !wrap.contains(&i) {
            col.set_constraint(ColumnConstraint::ContentWidth);
        }
    }
}

/// Columns narrower than this are not worth wrapping text into: the text goes under the table instead.
const MIN_TEXT_COLUMN: usize = 24;

/// The width the fixed columns take (content plus kubectl-like padding of 3).
fn fixed_width(rows: &[Vec<String>], header: &[&str]) -> usize {
    (0..header.len())
        .map(|c| {
            rows.iter()
                .map(|r| r[c].chars().count())
                .chain([header[c].len()])
                .max()
                .unwrap_or(0)
                + 3
        })
        .sum()
}

/// The summary table (stdout) for people. On a narrow terminal, DETAIL wraps at spaces, or goes under the
/// table, one paragraph per target, when the other columns leave too little room.
pub(crate) fn summary_table(p: &Printer, states: &[TargetState]) -> Result<()> {
    let header = ["target", "strategy", "result", "ready", "elapsed"];
    let fixed: Vec<Vec<String>> = states
        .iter()
        .map(|s| {
            vec![
                s.target.clone(),
                s.strategy.clone(),
                s.state.as_str().to_string(),
                format!("{}/{}", s.ready, s.desired),
                s.elapsed().map(fmt_elapsed).unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    let width = stdout_width();
    let below = width.is_some_and(|w| w < fixed_width(&fixed, &header) + MIN_TEXT_COLUMN);
    let mut cols: Vec<&str> = header.to_vec();
    if !below {
        cols.push("detail");
    }
    let mut t = p.table(&cols);
    for (s, f) in states.iter().zip(&fixed) {
        let zero_row = s.zero_downtime.as_ref().map(|z| zero_row(p, z, !below));
        let style = match s.state {
            State::Complete => Style::Ok,
            State::Failed | State::Interrupted => Style::Error,
            State::RolledBack | State::Unknown => Style::Warning,
            _ => Style::Dim,
        };
        let mut row = vec![
            p.cell(&f[0], Style::Bold),
            p.cell(&f[1], Style::Dim),
            p.cell(&f[2], style),
            p.cell(&f[3], Style::Info),
            p.cell(&f[4], Style::Dim),
        ];
        if !below {
            row.push(p.cell(
                s.verdict.clone().unwrap_or_else(|| s.phase.clone()),
                Style::Info,
            ));
        }
        t.add_row(row);
        if let Some(r) = zero_row {
            t.add_row(r);
        }
    }
    if let (Some(w), false) = (width, below) {
        fit_to_terminal(&mut t, &[5], w);
    }
    p.print_table(&t)?;
    if let (Some(w), true) = (width, below) {
        for s in states {
            let detail = s.verdict.clone().unwrap_or_else(|| s.phase.clone());
            if !detail.is_empty() {
                p.line(&wrap(&format!("{}: {detail}", s.target), w, "    "))?;
            }
            if let Some(z) = &s.zero_downtime {
                let line = format!("{}: zero downtime: {}", s.target, z.summary);
                p.line(&wrap(&line, w, "    "))?;
            }
        }
    }
    zero_details(p, states)
}

fn zero_style(v: ZeroVerdict) -> Style {
    match v {
        ZeroVerdict::Ok => Style::Ok,
        ZeroVerdict::AtRisk | ZeroVerdict::Unknown => Style::Warning,
        ZeroVerdict::Violated => Style::Error,
        ZeroVerdict::NotApplicable => Style::Dim,
    }
}

/// The zero-downtime line under a target's row: the verdict, the fewest ready endpoints of the desired
/// replicas, and what was seen.
fn zero_row(p: &Printer, z: &ZeroDowntime, with_detail: bool) -> Vec<comfy_table::Cell> {
    let ready = match z.min_ready_endpoints {
        Some(n) => format!("{n}/{}", z.desired_replicas),
        None => "-".into(),
    };
    let mut row = vec![
        p.cell("", Style::Dim),
        p.cell("  zero downtime", Style::Dim),
        p.cell(z.verdict.as_str(), zero_style(z.verdict)),
        p.cell(ready, Style::Info),
        p.cell("", Style::Dim),
    ];
    if with_detail {
        // The probe's count, unless the summary is about it already.
        let probe = z
            .probe
            .as_ref()
            .filter(|_| !z.summary.contains("probe requests"))
            .map(|pr| format!("; probe: {} of {} requests failed", pr.failed, pr.requests))
            .unwrap_or_default();
        row.push(p.cell(format!("{}{probe}", z.summary), Style::Info));
    }
    row
}

/// Under the table: the evidence and the fix of every zero-downtime verdict that is not ok, and what
/// the probe measured.
fn zero_details(p: &Printer, states: &[TargetState]) -> Result<()> {
    for s in states {
        let Some(z) = &s.zero_downtime else {
            continue;
        };
        let open = matches!(z.verdict, ZeroVerdict::AtRisk | ZeroVerdict::Violated);
        if !open && z.probe.is_none() {
            continue;
        }
        p.line(&format!(
            "{}: zero downtime {}",
            s.target,
            p.paint(z.verdict.as_str(), zero_style(z.verdict))
        ))?;
        if open {
            for e in &z.evidence {
                p.line(&format!("  - {e}"))?;
            }
        }
        if let Some(pr) = &z.probe {
            p.line(&format!(
                "  probe: {} requests, {} failed, worst latency {} ms, via {}{}",
                pr.requests,
                pr.failed,
                pr.worst_latency_ms,
                pr.path,
                pr.stopped
                    .as_ref()
                    .map(|w| format!("; stopped early: {w}"))
                    .unwrap_or_default()
            ))?;
            for f in &pr.failures {
                p.line(&format!("    failed: {f}"))?;
            }
        }
        if let (true, Some(fix)) = (open, &z.fix) {
            p.line("  fix:")?;
            for l in fix.lines() {
                p.line(&format!("    {l}"))?;
            }
        }
    }
    Ok(())
}

/// `--dry-run -o json`: the one `RestartPlan` document.
pub(crate) fn plan_document(p: &Printer, namespace: &str, rows: &[PlanRow]) -> Result<()> {
    // Keys sorted, as always.
    let v = serde_json::to_value(RestartPlan::new(namespace, rows))
        .map_err(|e| crate::error::Error::other("render JSON", e))?;
    p.json_line(&v)
}

pub(crate) fn plan_table(p: &Printer, rows: &[PlanRow]) -> Result<()> {
    let mut t = p.table(&[
        "#",
        "target",
        "strategy",
        "pods",
        "action",
        "expected disruption",
    ]);
    for r in rows {
        t.add_row(vec![
            p.cell(r.order, Style::Dim),
            p.cell(&r.target, Style::Bold),
            p.cell(&r.strategy, Style::Dim),
            p.cell(r.pods, Style::Info),
            p.cell(&r.action, Style::Info),
            p.cell(
                &r.disruption,
                if r.disruption.starts_with("none") {
                    Style::Ok
                } else {
                    Style::Warning
                },
            ),
        ]);
    }
    if let Some(w) = stdout_width() {
        fit_to_terminal(&mut t, &[4, 5], w);
    }
    p.print_table(&t)
}

/// The exact NDJSON of every `RestartEvent` and of the `RestartPlan` document (`time` blanked): the
/// schema scripts parse. Keys are sorted at every level, as they have always been printed.
#[cfg(test)]
mod ndjson_shapes {
    use super::*;
    use crate::cli::OutputFormat;
    use crate::output::capture;
    use crate::restart::model::{PodFailure, PreflightFinding};
    use crate::restart::track::Tracker;
    use crate::restart::zerodowntime::ProbeStats;

    fn json_reporter(states: Vec<TargetState>) -> Tracker {
        let printer = Printer::new(crate::settings::OutputSettings {
            format: OutputFormat::Json,
            color: false,
            interactive: false,
        });
        Tracker::new(Reporter::new(printer, false), "shop".into(), states)
    }

    /// Captured stdout, each line's `"time":"…"` replaced by `"time":"T"`.
    fn lines(out: &str) -> Vec<String> {
        out.lines()
            .map(|l| match l.find("\"time\":\"") {
                Some(i) => {
                    let start = i + "\"time\":\"".len();
                    let end = start + l[start..].find('"').unwrap_or(0);
                    format!("{}T{}", &l[..start], &l[end..])
                }
                None => l.to_string(),
            })
            .collect()
    }

    fn zero() -> ZeroDowntime {
        ZeroDowntime {
            verdict: ZeroVerdict::AtRisk,
            pods_replaced: 2,
            raced: 1,
            min_ready_endpoints: Some(1),
            desired_replicas: 2,
            worst_margin_seconds: Some(0.5),
            margin_seconds: 5.0,
            services: vec!["web".into()],
            summary: "1 of 2 raced".into(),
            evidence: vec!["pod web-a: left at 04:29:53Z".into()],
            fix: Some("spec: {}\n".into()),
            probe: Some(ProbeStats {
                requests: 9,
                failed: 2,
                worst_latency_ms: 8,
                failures: vec!["503: no route".into()],
                path: "/api/v1/namespaces/shop/services/web:80/proxy/".into(),
                stopped: None,
            }),
        }
    }

    #[test]
    fn every_event_keeps_its_bytes() {
        let mut second = TargetState::new("billing/sts/db".into(), "billing", "OnDelete", 1);
        second.state = State::Skipped;
        let r = json_reporter(vec![
            TargetState::new("deploy/web".into(), "shop", "RollingUpdate", 2),
            second,
        ]);
        capture::start();
        r.findings(
            "deploy/web",
            &[PreflightFinding {
                rule: "hpa-present".into(),
                severity: Gate::Warning,
                message: "HorizontalPodAutoscaler web scales deploy/web".into(),
                fix: "nothing to do".into(),
            }],
        );
        r.started(0, "patch restartedAt", Some("2026-11-23T15:54:18Z"));
        r.saved(0, "solo", std::path::Path::new("/tmp/pod-shop-solo.yaml"));
        r.evicting(0, "web-a");
        r.eviction_blocked(0, "web-a", "Cannot evict pod", Duration::from_millis(1500));
        r.recreated(0, "solo", std::path::Path::new("/tmp/pod-shop-solo.yaml"));
        r.progress(0, 1, 2, "1 of 2 updated");
        r.pod_ready(0, "web-b", 1, 2);
        r.zero_downtime(0, zero());
        r.rollback_started(
            0,
            "restoring the previous pod template (restartedAt absent)",
        );
        r.rolled_back(0, true, "rolled back: the previous pods are Ready again");
        r.failed(
            0,
            "new pod failed",
            Some(&PodFailure {
                pod: "web-b".into(),
                container: Some("app".into()),
                reason: "CrashLoopBackOff".into(),
                exit_code: Some(1),
                message: Some("panic".into()),
                restarts: 2,
                cause: None,
            }),
            "container app crash-loops".into(),
            None,
        );
        r.unknown(1, "the API server stopped answering");
        r.complete(1);
        r.interrupted(
            Signal::Term,
            &["to resume: x".into()],
            &["create it again".into()],
        );
        let mut states = r.snapshot();
        // Elapsed times depend on the clock: fixed for the comparison.
        for s in &mut states {
            s.elapsed_seconds = s.elapsed_seconds.map(|_| 1.5);
        }
        r.summary(RunOutcome::Failed, &states);
        let got = lines(&capture::finish());
        let want = [
            r#"{"apiVersion":"graceful.kubectl.io/v1alpha1","fix":"nothing to do","kind":"RestartEvent","message":"HorizontalPodAutoscaler web scales deploy/web","namespace":"shop","rule":"hpa-present","severity":"Warning","target":"deploy/web","time":"T","type":"PreflightFinding"}"#,
            r#"{"apiVersion":"graceful.kubectl.io/v1alpha1","desired":2,"detail":"patch restartedAt","kind":"RestartEvent","namespace":"shop","restartedAt":"2026-11-23T15:54:18Z","strategy":"RollingUpdate","target":"deploy/web","time":"T","type":"TargetStarted"}"#,
            r#"{"apiVersion":"graceful.kubectl.io/v1alpha1","kind":"RestartEvent","namespace":"shop","path":"/tmp/pod-shop-solo.yaml","pod":"solo","target":"deploy/web","time":"T","type":"PodSaved"}"#,
            r#"{"apiVersion":"graceful.kubectl.io/v1alpha1","kind":"RestartEvent","namespace":"shop","pod":"web-a","target":"deploy/web","time":"T","type":"PodEvicted"}"#,
            r#"{"apiVersion":"graceful.kubectl.io/v1alpha1","kind":"RestartEvent","namespace":"shop","pod":"web-a","reason":"Cannot evict pod","retryInSeconds":1.5,"target":"deploy/web","time":"T","type":"EvictionBlocked"}"#,
            r#"{"apiVersion":"graceful.kubectl.io/v1alpha1","kind":"RestartEvent","namespace":"shop","path":"/tmp/pod-shop-solo.yaml","pod":"solo","target":"deploy/web","time":"T","type":"PodRecreated"}"#,
            r#"{"apiVersion":"graceful.kubectl.io/v1alpha1","desired":2,"kind":"RestartEvent","namespace":"shop","pod":"web-b","ready":1,"target":"deploy/web","time":"T","type":"PodReady"}"#,
            r#"{"apiVersion":"graceful.kubectl.io/v1alpha1","kind":"RestartEvent","namespace":"shop","target":"deploy/web","time":"T","type":"ZeroDowntime","zeroDowntime":{"desiredReplicas":2,"evidence":["pod web-a: left at 04:29:53Z"],"fix":"spec: {}\n","marginSeconds":5.0,"minReadyEndpoints":1,"podsReplaced":2,"probe":{"failed":2,"failures":["503: no route"],"path":"/api/v1/namespaces/shop/services/web:80/proxy/","requests":9,"worstLatencyMs":8},"raced":1,"services":["web"],"summary":"1 of 2 raced","verdict":"at-risk","worstMarginSeconds":0.5}}"#,
            r#"{"apiVersion":"graceful.kubectl.io/v1alpha1","detail":"restoring the previous pod template (restartedAt absent)","kind":"RestartEvent","namespace":"shop","target":"deploy/web","time":"T","type":"RollbackStarted"}"#,
            r#"{"apiVersion":"graceful.kubectl.io/v1alpha1","detail":"rolled back: the previous pods are Ready again","kind":"RestartEvent","namespace":"shop","succeeded":true,"target":"deploy/web","time":"T","type":"RollbackComplete"}"#,
            r#"{"apiVersion":"graceful.kubectl.io/v1alpha1","desired":2,"elapsedSeconds":ELAPSED,"explain":null,"failure":{"container":"app","exitCode":1,"message":"panic","pod":"web-b","reason":"CrashLoopBackOff","restarts":2},"kind":"RestartEvent","namespace":"shop","ready":1,"reason":"new pod failed","target":"deploy/web","time":"T","type":"TargetFailed","verdict":"container app crash-loops"}"#,
            r#"{"apiVersion":"graceful.kubectl.io/v1alpha1","desired":1,"elapsedSeconds":null,"kind":"RestartEvent","namespace":"billing","ready":0,"target":"billing/sts/db","time":"T","type":"TargetUnknown","verdict":"the API server stopped answering"}"#,
            r#"{"apiVersion":"graceful.kubectl.io/v1alpha1","desired":1,"elapsedSeconds":null,"kind":"RestartEvent","namespace":"billing","ready":0,"target":"billing/sts/db","time":"T","type":"TargetComplete"}"#,
            r#"{"apiVersion":"graceful.kubectl.io/v1alpha1","kind":"RestartEvent","namespace":"shop","resume":["to resume: x"],"signal":"SIGTERM","time":"T","type":"Interrupted","unfinished":["create it again"]}"#,
            r#"{"apiVersion":"graceful.kubectl.io/v1alpha1","kind":"RestartEvent","namespace":"shop","result":"Failed","targets":[{"desired":2,"elapsedSeconds":1.5,"namespace":"shop","phase":"new pod failed","ready":1,"state":"Failed","strategy":"RollingUpdate","target":"deploy/web","verdict":"container app crash-loops","zeroDowntime":{"desiredReplicas":2,"evidence":["pod web-a: left at 04:29:53Z"],"fix":"spec: {}\n","marginSeconds":5.0,"minReadyEndpoints":1,"podsReplaced":2,"probe":{"failed":2,"failures":["503: no route"],"path":"/api/v1/namespaces/shop/services/web:80/proxy/","requests":9,"worstLatencyMs":8},"raced":1,"services":["web"],"summary":"1 of 2 raced","verdict":"at-risk","worstMarginSeconds":0.5}},{"desired":1,"namespace":"billing","phase":"all new pods Ready, old pods gone","ready":0,"state":"Complete","strategy":"OnDelete","target":"billing/sts/db","verdict":"the API server stopped answering","zeroDowntime":null}],"time":"T","type":"Summary"}"#,
        ];
        // The failed target's elapsed time is the clock's: compared as a number.
        let failed = &got[10];
        let at = failed.find("\"elapsedSeconds\":").expect("elapsedSeconds") + 17;
        let end = at + failed[at..].find(',').expect("a field follows");
        assert!(failed[at..end].parse::<f64>().is_ok(), "{failed}");
        let failed = format!("{}ELAPSED{}", &failed[..at], &failed[end..]);
        let mut got = got.clone();
        got[10] = failed;
        assert_eq!(got, want);
    }

    #[test]
    fn an_early_stop_and_the_plan_keep_their_bytes() {
        let r = json_reporter(vec![]);
        capture::start();
        r.interrupted(Signal::Int, &[], &[]);
        r.summary(RunOutcome::Interrupted(Signal::Int), &[]);
        plan_document(
            &r.reporter.printer,
            "shop",
            &[PlanRow {
                order: 1,
                target: "deploy/web".into(),
                strategy: "RollingUpdate".into(),
                pods: 3,
                action: "patch restartedAt".into(),
                disruption: "none: up to 1 extra pod at a time".into(),
                findings: vec![PreflightFinding {
                    rule: "deployment-paused".into(),
                    severity: Gate::Blocked,
                    message: "deploy/web is paused".into(),
                    fix: "run `kubectl rollout resume deploy/web` first".into(),
                }],
            }],
        )
        .expect("printed");
        assert_eq!(
            lines(&capture::finish()),
            [
                r#"{"apiVersion":"graceful.kubectl.io/v1alpha1","kind":"RestartEvent","namespace":"shop","resume":[],"signal":"SIGINT","time":"T","type":"Interrupted","unfinished":[]}"#,
                r#"{"apiVersion":"graceful.kubectl.io/v1alpha1","kind":"RestartEvent","namespace":"shop","result":"Interrupted","targets":[],"time":"T","type":"Summary"}"#,
                r#"{"apiVersion":"graceful.kubectl.io/v1alpha1","kind":"RestartPlan","namespace":"shop","steps":[{"action":"patch restartedAt","disruption":"none: up to 1 extra pod at a time","findings":[{"fix":"run `kubectl rollout resume deploy/web` first","message":"deploy/web is paused","rule":"deployment-paused","severity":"Blocked"}],"order":1,"pods":3,"strategy":"RollingUpdate","target":"deploy/web"}]}"#,
            ]
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_and_skipped_lists_keep_their_words() {
        assert_eq!(
            Note::SameSecond {
                target: "deploy/web"
            }
            .text(),
            "deploy/web: restarted within this second already; waiting for the next second"
        );
        assert_eq!(
            Note::PodExists { pod: "db-0" }.text(),
            "pod db-0 exists already (created by someone else meanwhile)"
        );
        assert_eq!(
            Note::DeletedStuckPod { pod: "web-1" }.text(),
            "deleted stuck pod web-1"
        );
        let first = Note::FinishingFirst {
            signal: Signal::Term,
            what: "pod db-0 is evicted and not created again yet",
        };
        assert_eq!(
            first.text(),
            "SIGTERM received: finishing first what must not be left half done (pod db-0 is evicted and not created again yet); send it again to stop at once"
        );
        assert!(first.is_warning() && !Note::DeletedStuckPod { pod: "p" }.is_warning());
        let skipped = super::super::plan::Skipped {
            what: "poddisruptionbudgets".into(),
            namespace: None,
            error: "forbidden".into(),
        };
        assert_eq!(
            skipped_text(&skipped),
            "cannot list poddisruptionbudgets in all namespaces (forbidden); preflight skips its poddisruptionbudgets checks"
        );
    }

    #[test]
    fn events_carry_the_schema() {
        let started = Event::TargetStarted {
            strategy: "RollingUpdate".into(),
            desired: 3,
            restarted_at: None,
            detail: String::new(),
        };
        let e = serde_json::to_value(Envelope::new("shop", Some("deploy/web"), &started)).unwrap();
        assert_eq!(e["apiVersion"], super::super::model::API_VERSION);
        assert_eq!(e["kind"], "RestartEvent");
        assert_eq!(e["type"], "TargetStarted");
        assert_eq!(e["target"], "deploy/web");
        assert_eq!(e["namespace"], "shop");
        assert_eq!(e["desired"], 3);
        assert!(e["time"].as_str().is_some_and(|t| t.ends_with('Z')));
    }

    #[test]
    fn wrapping_never_breaks_words() {
        assert_eq!(
            wrap(
                "deploy/alpha: patch restartedAt; the controller rolls",
                24,
                "    "
            ),
            "deploy/alpha: patch\n    restartedAt; the\n    controller rolls"
        );
        assert_eq!(
            wrap("averyveryverylongword x", 5, ""),
            "averyveryverylongword\nx"
        );
        assert_eq!(wrap("short", 80, "  "), "short");
        assert_eq!(wrap("  a b c", 5, "    "), "  a b\n    c");
    }

    #[test]
    fn elapsed_format() {
        assert_eq!(fmt_elapsed(Duration::from_millis(1500)), "1.5s");
        assert_eq!(fmt_elapsed(Duration::from_secs(125)), "2m05s");
    }
}
