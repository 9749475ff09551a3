//! Everything the restart shows: live progress on stderr (indicatif on a terminal, plain lines otherwise),
//! NDJSON `RestartEvent`s on stdout with `-o json`, the plan (`--dry-run`) and the final summary table.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use serde_json::{json, Value};

use super::preflight::{Finding, Gate};
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
                Gate::Warning => "warning",
                Gate::Risk if forced => "risk (--force)",
                Gate::Risk => "risk",
                Gate::Blocked => "blocked",
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
        self.emit("ZeroDowntime", Some(i), json!({ "zeroDowntime": z }));
        self.log(&line);
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

    /// A signal stopped the run: how to resume, and what a second signal left undone.
    pub fn interrupted(
        &self,
        signal: crate::signal::Signal,
        resume: &[String],
        unfinished: &[String],
    ) {
        self.emit(
            "Interrupted",
            None,
            json!({"signal": signal.name(), "resume": resume, "unfinished": unfinished}),
        );
    }

    /// The last event: the run's result and where every target stands.
    pub fn summary(&self, result: &str, states: &[TargetState]) {
        self.emit(
            "Summary",
            None,
            json!({"result": result, "targets": states}),
        );
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

/// `--dry-run -o json`: the one `RestartPlan` document.
pub fn plan_document(p: &Printer, namespace: &str, rows: &[PlanRow]) -> Result<()> {
    p.json_line(&json!({
        "apiVersion": API_VERSION,
        "kind": "RestartPlan",
        "namespace": namespace,
        "steps": rows,
    }))
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

/// The exact NDJSON of every `RestartEvent` and of the `RestartPlan` document (`time` blanked): the
/// schema scripts parse. Keys are sorted at every level, as they have always been printed.
#[cfg(test)]
mod ndjson_shapes {
    use super::*;
    use crate::cli::OutputFormat;
    use crate::output::capture;
    use crate::restart::zerodowntime::ProbeStats;
    use crate::signal::Signal;

    fn json_reporter(states: Vec<TargetState>) -> Reporter {
        let printer = Printer::new(crate::settings::OutputSettings {
            format: OutputFormat::Json,
            color: false,
            interactive: false,
        });
        Reporter::new(printer, "shop".into(), states)
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
            &[Finding {
                rule: "hpa-present".into(),
                severity: Gate::Warning,
                message: "HorizontalPodAutoscaler web scales deploy/web".into(),
                fix: "nothing to do".into(),
            }],
            false,
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
        r.summary("Failed", &states);
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
        r.summary("Interrupted", &[]);
        plan_document(
            &r.printer,
            "shop",
            &[PlanRow {
                order: 1,
                target: "deploy/web".into(),
                strategy: "RollingUpdate".into(),
                pods: 3,
                action: "patch restartedAt".into(),
                disruption: "none: up to 1 extra pod at a time".into(),
                findings: vec![Finding {
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
