//! The human report: per pod a header line, then per container that matters a block, verdict first; and
//! the run's notes and warnings on stderr. It decides nothing: verdicts and their words come from
//! [`super::analyse`](mod@super::analyse), the `-o json|yaml` shape is [`super::model`].

use crate::error::Result;
use crate::output::{Printer, Style};

use super::facts;
use super::model::*;

/// The run's reports on stdout: `-o json|yaml`, or a block per pod and the summary line; `empty_msg`
/// when there is none.
pub(crate) fn reports(p: &Printer, reports: &[PodReport], empty_msg: Option<&str>) -> Result<()> {
    if p.is_machine() {
        return p.data(&ExplainReport::new(reports.to_vec()));
    }
    if reports.is_empty() {
        if let Some(m) = empty_msg {
            p.line(&p.paint(m, Style::Ok))?;
        }
        return Ok(());
    }
    let mut first = true;
    for r in reports {
        if !first && !r.healthy {
            p.line("")?;
        }
        first = false;
        p.print(&render_pod_report(p, r))?;
    }
    if let Some(s) = render_summary(reports) {
        p.line("")?;
        p.line(&p.paint(&s, Style::Bold))?;
    }
    Ok(())
}

/// Named targets that do not exist, each as an `error:` on stderr.
pub(crate) fn errors(errors: &[crate::error::Error]) {
    for e in errors {
        crate::report(e);
    }
}

/// The pods left unexplained because what they need could not be read: one `error:` naming them.
pub(crate) fn unchecked(reports: &[&PodReport]) {
    crate::report(&unchecked_error(reports));
}

fn unchecked_error(reports: &[&PodReport]) -> crate::error::Error {
    let pods: Vec<String> = reports
        .iter()
        .map(|r| {
            format!(
                "pod {}/{} ({})",
                r.namespace,
                r.name,
                r.unchecked.join(", ")
            )
        })
        .collect();
    crate::error::Error::other(
        format!("check {}", pods.join("; ")),
        "what it needs could not be read (see the notes); run with a user allowed to read it",
    )
}

/// Warnings about the targets (a workload without pods), on stderr.
pub(crate) fn warnings(warnings: &[String]) {
    for w in warnings {
        crate::output::warn(w);
    }
}

/// Renders one pod's report as text (ANSI colour per the printer's settings).
pub(crate) fn render_pod_report(p: &Printer, r: &PodReport) -> String {
    let mut out = String::new();
    let restarts = match r.restarts {
        1 => "1 restart".to_string(),
        n => format!("{n} restarts"),
    };
    if r.healthy {
        let mut line = format!(
            "pod {}/{}: {} ({} ready, {restarts})",
            r.namespace,
            r.name,
            p.paint("healthy", Style::Ok),
            r.ready
        );
        if r.phase == "Succeeded" {
            line = format!(
                "pod {}/{}: {} (Succeeded)",
                r.namespace,
                r.name,
                p.paint("completed", Style::Ok)
            );
        }
        out.push_str(&line);
        out.push('\n');
        // An informational pod-level verdict (e.g. evicted through the Eviction API while still
        // Ready during its grace period) is why the pod is going away: show it.
        if let Some(v) = &r.verdict {
            verdict_block(p, &mut out, "pod", v, "  ", false);
        }
        for c in r.containers.iter().filter(|c| c.verdict.is_some()) {
            if let Some(v) = &c.verdict {
                out.push_str(&format!(
                    "  container {}: {}\n",
                    c.name,
                    p.paint(&v.summary, Style::Dim)
                ));
            }
        }
        return out;
    }
    let mut header = format!(
        "{}  {}  {} ready  {restarts}",
        p.paint(&format!("pod {}/{}", r.namespace, r.name), Style::Bold),
        r.phase,
        r.ready
    );
    if let Some(n) = &r.node {
        header.push_str(&format!("  node {n}"));
    }
    if let Some(o) = &r.owner {
        header.push_str(&format!("  ({o})"));
    }
    out.push_str(&header);
    out.push('\n');
    if let Some(v) = &r.verdict {
        verdict_block(p, &mut out, "pod", v, "  ", false);
    }
    let mut shown = 0;
    for c in r.containers.iter().filter(|c| c.matters()) {
        shown += 1;
        container_block(p, &mut out, c);
    }
    if shown == 0 && r.verdict.is_none() {
        let states: Vec<String> = r
            .containers
            .iter()
            .map(|c| {
                format!(
                    "{} {}",
                    c.name,
                    c.state
                        .reason
                        .clone()
                        .unwrap_or_else(|| c.state.state.clone())
                )
            })
            .collect();
        out.push_str(&format!(
            "  {}: nothing failed yet ({})\n",
            p.paint("not ready", Style::Warning),
            states.join(", ")
        ));
    }
    if p.is_wide() && !r.events.is_empty() {
        out.push_str(&format!("  {}\n", p.paint("events:", Style::Bold)));
        for e in &r.events {
            let count = if e.count > 1 {
                format!(" (x{})", e.count)
            } else {
                String::new()
            };
            let style = if e.type_ == "Warning" {
                Style::Warning
            } else {
                Style::Dim
            };
            out.push_str(&format!(
                "    {}  {}{count}  {}\n",
                e.last_seen.as_deref().unwrap_or("-"),
                p.paint(&e.reason, style),
                e.message
            ));
        }
    }
    for n in &r.notes {
        out.push_str(&format!("  {} {n}\n", p.paint("note:", Style::Dim)));
    }
    out
}

/// One closing line when several pods were explained: how many failed, warn, are healthy.
pub(crate) fn render_summary(reports: &[PodReport]) -> Option<String> {
    if reports.len() < 2 {
        return None;
    }
    let failing = reports
        .iter()
        .filter(|r| r.worst() == Some(Severity::Failure) || (r.phase == "Failed" && !r.healthy))
        .count();
    let warning = reports
        .iter()
        .filter(|r| r.worst() == Some(Severity::Warning) && r.phase != "Failed")
        .count();
    let healthy = reports.iter().filter(|r| r.healthy).count();
    let other = reports.len() - failing - warning - healthy;
    let mut parts = Vec::new();
    if failing > 0 {
        parts.push(format!("{failing} failing"));
    }
    if warning > 0 {
        parts.push(format!("{warning} with warnings"));
    }
    if healthy > 0 {
        parts.push(format!("{healthy} healthy"));
    }
    if other > 0 {
        parts.push(format!("{other} starting"));
    }
    Some(format!("{} pods: {}", reports.len(), parts.join(", ")))
}

fn style_of(s: Severity) -> Style {
    match s {
        Severity::Failure => Style::Error,
        Severity::Warning => Style::Warning,
        Severity::Info => Style::Ok,
    }
}

/// The verdict: summary, evidence, what to do. With `logs_below`, evidence quoting log lines is left
/// to the log tail printed under it, so no line is printed twice.
fn verdict_block(
    p: &Printer,
    out: &mut String,
    what: &str,
    v: &Verdict,
    indent: &str,
    logs_below: bool,
) {
    out.push_str(&format!(
        "{indent}{} {}\n",
        p.paint(&format!("{what}:"), Style::Bold),
        p.paint(
            &format!("{} [{}]", v.summary, v.cause.id()),
            style_of(v.severity)
        )
    ));
    for e in &v.evidence {
        if logs_below && e.starts_with("log: ") {
            continue;
        }
        out.push_str(&format!("{indent}  - {e}\n"));
    }
    out.push_str(&format!(
        "{indent}  {} {}\n",
        p.paint("what to do:", Style::Bold),
        v.action
    ));
}

fn container_block(p: &Printer, out: &mut String, c: &ContainerReport) {
    let kind = match c.type_ {
        ContainerType::App => "container",
        ContainerType::Init => "init container",
        ContainerType::Ephemeral => "ephemeral container",
    };
    let title = format!("{kind} {}", c.name);
    let start = out.len();
    match &c.verdict {
        Some(v) => verdict_block(p, out, &title, v, "  ", !c.logs.is_empty()),
        None => out.push_str(&format!(
            "  {}\n",
            p.paint(&format!("{title}:"), Style::Bold)
        )),
    }
    let field = |out: &mut String, k: &str, v: &str| {
        out.push_str(&format!("    {:<19}{v}\n", format!("{k}:")));
    };
    let mut state = c.state.state.clone();
    if let Some(r) = &c.state.reason {
        state.push_str(&format!(" ({r})"));
    }
    if let Some(s) = &c.state.started_at {
        state.push_str(&format!(" since {s}"));
    }
    if let Some(t) = &c.state.termination {
        // The reason is already in the parentheses.
        state.push_str(&format!(
            ", {}",
            termination_text(t, c.state.reason.is_none())
        ));
    }
    field(out, "state", &state);
    if let Some(t) = &c.last_termination {
        field(out, "last termination", &termination_text(t, true));
        if let (Some(s), Some(f)) = (&t.started_at, &t.finished_at) {
            field(out, "started/finished", &format!("{s} → {f}"));
        }
    }
    let mut restarts = c.restart_count.to_string();
    if let Some(b) = &c.back_off {
        restarts.push_str(&format!(" (back-off {b})"));
    }
    field(out, "restarts", &restarts);
    if let Some(m) = &c.termination_message {
        // Lines the verdict already quoted are not printed again.
        let said = out[start..].to_string();
        let mut lines = m
            .lines()
            .filter(|l| !l.trim().is_empty() && !said.contains(l.trim()));
        if let Some(first) = lines.next() {
            field(out, "message", first);
            for l in lines.take(9) {
                out.push_str(&format!("    {:<19}{l}\n", ""));
            }
        }
    }
    if !c.logs.is_empty() {
        let from = match c.logs_from.as_deref() {
            Some("previous") => "previous instance",
            _ => "current instance",
        };
        out.push_str(&format!(
            "    {}\n",
            p.paint(
                &format!("log ({from}, last {} lines):", c.logs.len()),
                Style::Dim
            )
        ));
        for l in &c.logs {
            out.push_str(&format!("      | {l}\n"));
        }
    }
}

fn termination_text(t: &Termination, with_reason: bool) -> String {
    let mut s = format!("exit code {}", t.exit_code);
    if let Some(sig) = &t.signal {
        s.push_str(&format!(" ({sig})"));
    }
    if let Some(r) = t.reason.as_ref().filter(|_| with_reason) {
        s.push_str(&format!(", {r}"));
    }
    if let Some(ran) = t.ran_for_seconds {
        s.push_str(&format!(", ran {}", facts::human_secs(ran)));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pods_left_unexplained_are_one_error_naming_what_was_not_read() {
        let pod: k8s_openapi::api::core::v1::Pod =
            serde_yaml::from_str("metadata: {name: web-1, namespace: shop}").unwrap();
        let mut r = super::super::quick_report(&pod, &Default::default());
        r.unchecked = vec!["events".into(), "logs".into()];
        let mut other = r.clone();
        other.name = "web-2".into();
        other.unchecked = vec!["node node-1".into()];
        assert_eq!(
            unchecked_error(&[&r, &other]).to_string(),
            "check pod shop/web-1 (events, logs); pod shop/web-2 (node node-1): what it needs could not be read (see the notes); run with a user allowed to read it"
        );
    }
}
