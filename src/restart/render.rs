//! Everything the restart shows: live progress on stderr (indicatif on a terminal, plain lines otherwise),
//! NDJSON `RestartEvent`s on stdout with `-o json`, the plan (`--dry-run`) and the final summary table.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use serde_json::{json, Value};

use super::preflight::{Finding, Severity};
use super::status::PodFailure;
use super::zerodowntime::{Verdict as ZeroVerdict, ZeroDowntime};
use crate::error::Result;
use crate::explain::PodReport;
use crate::output::{Printer, Style};

pub const API_VERSION: &str = "graceful.kubectl.io/v1alpha1";

/// Where one target stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum State {
    /// Not started yet.
    Pending,
    Running,
    Complete,
    Failed,
    /// Failed, then returned to its previous template.
    RolledBack,
    /// A signal (Ctrl-C, SIGTERM) arrived while it was running.
    Interrupted,
    /// Its outcome could not be observed (the API server stopped answering).
    Unknown,
    /// Not started because an earlier target failed or the run was interrupted.
    Skipped,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Pending => "Pending",
            State::Running => "Running",
            State::Complete => "Complete",
            State::Failed => "Failed",
            State::RolledBack => "RolledBack",
            State::Interrupted => "Interrupted",
            State::Unknown => "Unknown",
            State::Skipped => "Skipped",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetState {
    pub target: String,
    pub namespace: String,
    /// RollingUpdate, Recreate, OnDelete (pods evicted one by one) or Eviction (pod targets).
    pub strategy: String,
    pub state: State,
    pub ready: i32,
    pub desired: i32,
    /// What it waits for, or how it ended.
    pub phase: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verdict: Option<String>,
    /// Every change this target needs was made; only waiting was left (an interrupted run need not
    /// restart it again).
    #[serde(skip)]
    pub settled: bool,
    /// Failed because another restart of the same target took over.
    #[serde(skip)]
    pub takeover: bool,
    #[serde(skip)]
    pub started: Option<Instant>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub elapsed_seconds: Option<f64>,
    /// Could its restart have dropped traffic (null: not checked).
    pub zero_downtime: Option<ZeroDowntime>,
}

impl TargetState {
    pub fn new(target: String, namespace: &str, strategy: &str, desired: i32) -> Self {
        TargetState {
            target,
            namespace: namespace.to_string(),
            settled: false,
            takeover: false,
            strategy: strategy.to_string(),
            state: State::Pending,
            ready: 0,
            desired,
            phase: String::new(),
            verdict: None,
            started: None,
            elapsed_seconds: None,
            zero_downtime: None,
        }
    }

    fn elapsed(&self) -> Option<Duration> {
        match (self.elapsed_seconds, self.started) {
            (Some(s), _) => Some(Duration::from_secs_f64(s)),
            (None, Some(t)) => Some(t.elapsed()),
            _ => None,
        }
    }
}

pub fn fmt_elapsed(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

fn now_rfc3339() -> String {
    jiff::Timestamp::now()
        .round(jiff::Unit::Millisecond)
        .map_or_else(|_| jiff::Timestamp::now().to_string(), |t| t.to_string())
}

/// One `RestartEvent` object (a line of `-o json`).
pub fn event(type_: &str, target: Option<&str>, namespace: &str, extra: Value) -> Value {
    let mut v = json!({
        "apiVersion": API_VERSION,
        "kind": "RestartEvent",
        "type": type_,
        "time": now_rfc3339(),
        "namespace": namespace,
    });
    if let (Some(t), Some(m)) = (target, v.as_object_mut()) {
        m.insert("target".into(), Value::String(t.to_string()));
    }
    if let (Value::Object(add), Some(m)) = (extra, v.as_object_mut()) {
        m.extend(add);
    }
    v
}

/// Reports progress; shared by all running targets.
pub struct Reporter {
    pub printer: Printer,
    pub namespace: String,
    json: bool,
    multi: Option<MultiProgress>,
    bars: Mutex<Vec<Option<ProgressBar>>>,
    states: Mutex<Vec<TargetState>>,
}

impl Reporter {
    pub fn new(printer: Printer, namespace: String, states: Vec<TargetState>) -> Self {
        let json = printer.is_machine();
        let multi = (!json && printer.settings.interactive)
            .then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
        let n = states.len();
        Reporter {
            printer,
            namespace,
            json,
            multi,
            bars: Mutex::new(vec![None; n]),
            states: Mutex::new(states),
        }
    }

    pub fn is_json(&self) -> bool {
        self.json
    }

    pub fn snapshot(&self) -> Vec<TargetState> {
        self.states.lock().map(|s| s.clone()).unwrap_or_default()
    }

    fn with_state<R>(&self, i: usize, f: impl FnOnce(&mut TargetState) -> R) -> Option<R> {
        let mut s = self.states.lock().ok()?;
        s.get_mut(i).map(f)
    }

    fn target(&self, i: usize) -> String {
        self.with_state(i, |s| s.target.clone()).unwrap_or_default()
    }

    /// Emits a JSON event (with `-o json`), in the target's namespace.
    pub fn emit(&self, type_: &str, i: Option<usize>, extra: Value) {
        if !self.json {
            return;
        }
        let (target, ns) =
            match i.and_then(|i| self.with_state(i, |s| (s.target.clone(), s.namespace.clone()))) {
                Some((t, ns)) => (Some(t), ns),
                None => (None, self.namespace.clone()),
            };
        let _ = self
            .printer
            .json_line(&event(type_, target.as_deref(), &ns, extra));
    }

    /// A log line on stderr (never with `-o json`, where events carry everything).
    pub fn log(&self, line: &str) {
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

    pub fn warn(&self, line: &str) {
        match &self.multi {
            Some(m) => {
                let _ = m.println(format!("warning: {line}"));
            }
            None => crate::output::warn(line),
        }
    }

    pub fn findings(&self, target: &str, findings: &[Finding], forced: bool) {
        for f in findings {
            let sev = match f.severity {
                Severity::Warning => "warning",
                Severity::Risk if forced => "risk (--force)",
                Severity::Risk => "risk",
                Severity::Blocked => "blocked",
            };
            if self.json {
                let _ = self.printer.json_line(&event(
                    "PreflightFinding",
                    Some(target),
                    &self.namespace,
                    json!({"rule": f.rule, "severity": f.severity, "message": f.message, "fix": f.fix}),
                ));
            } else {
                crate::output::note(&format!(
                    "{target}: {sev} [{}] {}\n    fix: {}",
                    f.rule, f.message, f.fix
                ));
            }
        }
    }

    pub fn started(&self, i: usize, detail: &str, restarted_at: Option<&str>) {
        let (target, desired, strategy) = self
            .with_state(i, |s| {
                s.state = State::Running;
                s.started = Some(Instant::now());
                s.phase = "starting".into();
                (s.target.clone(), s.desired, s.strategy.clone())
            })
            .unwrap_or_default();
        self.emit(
            "TargetStarted",
            Some(i),
            json!({"strategy": strategy, "desired": desired, "restartedAt": restarted_at, "detail": detail}),
        );
        self.log(&format!("{target}: {detail}"));
        if let Some(m) = &self.multi {
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
            bar.set_prefix(target);
            bar.set_message(format!("0/{desired} new pods Ready — starting"));
            bar.enable_steady_tick(Duration::from_millis(120));
            if let Ok(mut bars) = self.bars.lock() {
                if let Some(slot) = bars.get_mut(i) {
                    *slot = Some(bar);
                }
            }
        }
    }

    /// Updates counts and phase; prints a plain line only when something changed.
    pub fn progress(&self, i: usize, ready: i32, desired: i32, phase: &str) {
        let changed = self
            .with_state(i, |s| {
                let changed = s.ready != ready || s.desired != desired || s.phase != phase;
                s.ready = ready;
                s.desired = desired;
                s.phase = phase.to_string();
                (changed, s.target.clone())
            })
            .unwrap_or_default();
        if !changed.0 {
            return;
        }
        let msg = format!("{ready}/{desired} new pods Ready — {phase}");
        if let Some(bar) = self.bar(i) {
            bar.set_message(msg);
        } else {
            self.log(&format!("{}: {msg}", changed.1));
        }
    }

    /// Progress of the restart, or (`rollback`) of a rollback, shown without changing the target's counts.
    pub fn progress_of(&self, rollback: bool, i: usize, ready: i32, desired: i32, phase: &str) {
        if !rollback {
            return self.progress(i, ready, desired, phase);
        }
        let msg = format!("rollback: {ready}/{desired} previous pods Ready — {phase}");
        let changed = self
            .with_state(i, |s| {
                let changed = s.phase != msg;
                s.phase = msg.clone();
                (changed, s.target.clone())
            })
            .unwrap_or_default();
        if changed.0 {
            match self.bar(i) {
                Some(bar) => bar.set_message(msg),
                None => self.log(&format!("{}: {msg}", changed.1)),
            }
        }
    }

    fn bar(&self, i: usize) -> Option<ProgressBar> {
        self.bars.lock().ok()?.get(i).cloned().flatten()
    }

    pub fn pod_ready(&self, i: usize, pod: &str, ready: i32, desired: i32) {
        self.emit(
            "PodReady",
            Some(i),
            json!({"pod": pod, "ready": ready, "desired": desired}),
        );
    }

    /// Every change the target needs is made; what is left is waiting (shown as its phase).
    pub fn settled(&self, i: usize, phase: &str) {
        self.with_state(i, |s| {
            s.settled = true;
            s.phase = phase.to_string();
        });
        if let Some(bar) = self.bar(i) {
            bar.set_message(phase.to_string());
        }
    }

    /// A bare pod's manifest was saved before its eviction.
    pub fn saved(&self, i: usize, pod: &str, path: &std::path::Path) {
        self.emit(
            "PodSaved",
            Some(i),
            json!({"pod": pod, "path": path.display().to_string()}),
        );
        self.log(&format!(
            "{}: saved the manifest of pod {pod} to {} (it has no controller: `kubectl create -f` it if the restart is stopped before the pod is created again)",
            self.target(i),
            path.display()
        ));
    }

    /// A bare pod was created again from its saved manifest.
    pub fn recreated(&self, i: usize, pod: &str, path: &std::path::Path) {
        self.emit(
            "PodRecreated",
            Some(i),
            json!({"pod": pod, "path": path.display().to_string()}),
        );
        self.log(&format!(
            "{}: created pod {pod} again (it has no controller)",
            self.target(i)
        ));
    }

    pub fn evicting(&self, i: usize, pod: &str) {
        self.emit("PodEvicted", Some(i), json!({"pod": pod}));
        self.log(&format!("{}: evicted pod {pod}", self.target(i)));
    }

    pub fn eviction_blocked(&self, i: usize, pod: &str, reason: &str, retry: Duration) {
        self.emit(
            "EvictionBlocked",
            Some(i),
            json!({"pod": pod, "reason": reason, "retryInSeconds": retry.as_secs_f64()}),
        );
        let line = format!(
            "{}: eviction of pod {pod} refused ({reason}); retrying in {}",
            self.target(i),
            fmt_elapsed(retry)
        );
        match self.bar(i) {
            Some(bar) => bar.set_message(line),
            None => self.log(&line),
        }
    }

    fn finish(&self, i: usize, state: State, phase: &str, verdict: Option<String>) -> TargetState {
        let s = self
            .with_state(i, |s| {
                s.state = state;
                s.phase = phase.to_string();
                if verdict.is_some() {
                    s.verdict = verdict;
                }
                s.elapsed_seconds = s.started.map(|t| t.elapsed().as_secs_f64());
                s.clone()
            })
            .unwrap_or_else(|| TargetState::new(String::new(), "", "", 0));
        if let Some(bar) = self.bar(i) {
            bar.finish_and_clear();
        }
        s
    }

    pub fn complete(&self, i: usize) {
        let s = self.finish(
            i,
            State::Complete,
            "all new pods Ready, old pods gone",
            None,
        );
        self.emit(
            "TargetComplete",
            Some(i),
            json!({"ready": s.ready, "desired": s.desired, "elapsedSeconds": s.elapsed_seconds}),
        );
        let el = s.elapsed().map(fmt_elapsed).unwrap_or_default();
        self.log(&format!(
            "{}: complete, {}/{} new pods Ready in {el}",
            s.target, s.ready, s.desired
        ));
    }

    /// A failed target, with `explain`'s report on the failing pod when there is one.
    pub fn failed(
        &self,
        i: usize,
        reason: &str,
        failure: Option<&PodFailure>,
        verdict: String,
        explain: Option<&PodReport>,
    ) {
        let s = self.finish(i, State::Failed, reason, Some(verdict.clone()));
        if reason == super::wait::TAKEN_OVER {
            self.with_state(i, |s| s.takeover = true);
        }
        self.emit(
            "TargetFailed",
            Some(i),
            json!({"reason": reason, "failure": failure, "verdict": verdict, "explain": explain,
                   "ready": s.ready, "desired": s.desired, "elapsedSeconds": s.elapsed_seconds}),
        );
        // An error (forbidden, unreachable …) ends the run with its own `error:` line: not twice.
        if self.json || reason == super::ERROR {
            return;
        }
        let p = &self.printer;
        let mut text = format!(
            "{}: {} {reason}\n    {}",
            s.target,
            p.paint("FAILED:", Style::Error),
            verdict
        );
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

    /// A target whose outcome could not be observed.
    pub fn unknown(&self, i: usize, verdict: &str) {
        let s = self.finish(i, State::Unknown, "not observed", Some(verdict.to_string()));
        self.emit(
            "TargetUnknown",
            Some(i),
            json!({"verdict": verdict, "ready": s.ready, "desired": s.desired, "elapsedSeconds": s.elapsed_seconds}),
        );
        if !self.json {
            let p = &self.printer;
            self.log(&format!(
                "{}: {} {verdict}",
                s.target,
                p.paint("UNKNOWN:", Style::Warning)
            ));
        }
    }

    /// The zero-downtime verdict of a target (a `ZeroDowntime` event, a log line).
    pub fn zero_downtime(&self, i: usize, z: ZeroDowntime) {
        let target = self
            .with_state(i, |s| {
                s.zero_downtime = Some(z.clone());
                s.target.clone()
            })
            .unwrap_or_default();
        let line = format!(
            "{target}: zero downtime {}: {}",
            z.verdict.as_str(),
            z.summary
        );
        let applicable = !matches!(z.verdict, super::zerodowntime::Verdict::NotApplicable);
        self.emit("ZeroDowntime", Some(i), json!({ "zeroDowntime": z }));
        // "No Service selects it" says nothing about the rollout: the summary table row is enough.
        if applicable {
            self.log(&line);
        }
    }

    pub fn rollback_started(&self, i: usize, detail: &str) {
        self.with_state(i, |s| s.phase = "rolling back".into());
        self.emit("RollbackStarted", Some(i), json!({"detail": detail}));
        self.log(&format!("{}: rolling back: {detail}", self.target(i)));
    }

    pub fn rolled_back(&self, i: usize, ok: bool, detail: &str) {
        self.with_state(i, |s| {
            if ok {
                s.state = State::RolledBack;
            }
            s.phase = detail.to_string();
        });
        self.emit(
            "RollbackComplete",
            Some(i),
            json!({"succeeded": ok, "detail": detail}),
        );
        self.log(&format!("{}: {detail}", self.target(i)));
    }

    /// Marks targets that never started; running ones become Interrupted when `interrupted`.
    pub fn close(&self, interrupted: bool) {
        if let Ok(mut states) = self.states.lock() {
            for s in states.iter_mut() {
                match s.state {
                    State::Pending => s.state = State::Skipped,
                    State::Running if interrupted => {
                        s.state = State::Interrupted;
                        s.elapsed_seconds = s.started.map(|t| t.elapsed().as_secs_f64());
                    }
                    _ => {}
                }
            }
        }
        if let Ok(bars) = self.bars.lock() {
            for b in bars.iter().flatten() {
                b.finish_and_clear();
            }
        }
    }
}

/// Greedy word wrap at spaces: lines of at most `width` columns (a longer word stays whole on its own
/// line), continuation lines indented by `indent`.
pub fn wrap(text: &str, width: usize, indent: &str) -> String {
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
pub fn summary_table(p: &Printer, states: &[TargetState]) -> Result<()> {
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

/// One planned step, for `--dry-run` and the `RestartPlan` document.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanRow {
    pub order: usize,
    pub target: String,
    pub strategy: String,
    pub pods: i32,
    pub action: String,
    pub disruption: String,
    pub findings: Vec<Finding>,
}

pub fn plan_table(p: &Printer, rows: &[PlanRow]) -> Result<()> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_carry_the_schema() {
        let e = event(
            "TargetStarted",
            Some("deploy/web"),
            "shop",
            json!({"desired": 3}),
        );
        assert_eq!(e["apiVersion"], API_VERSION);
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
