//! All of diagnose's text: a table per workload with its fixes and a summary line, the rule list and
//! `--explain RULE`, warnings, input errors and "no workloads" on stderr. The serialised report itself
//! is [`super::model`]; SARIF is [`super::sarif`].

use super::input::InputError;
use super::model::{DiagnoseReport, OneRule, RuleList, Summary};
use super::rules::{Finding, Rule, Severity, RULES};
use crate::error::Result;
use crate::output::{self, Printer, Style};

impl Summary {
    /// `3 workloads, 2 errors, 5 warnings, 1 info`.
    pub(crate) fn line(&self) -> String {
        let plural =
            |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        format!(
            "{}, {}, {}, {}",
            plural(self.workloads, "workload", "workloads"),
            plural(self.errors, "error", "errors"),
            plural(self.warnings, "warning", "warnings"),
            plural(self.infos, "info", "infos"),
        )
    }
}

fn style(s: Severity) -> Style {
    match s {
        Severity::Error => Style::Error,
        Severity::Warning => Style::Warning,
        Severity::Info => Style::Info,
    }
}

/// Prints the report for people: per workload a header, a table and its fixes; then the summary.
/// Buffered ([`output::Buffered`]): nothing goes to stderr while it prints.
pub(crate) fn human(p: &Printer, report: &DiagnoseReport) -> Result<()> {
    let mut out = output::Buffered::new();
    for (i, w) in report.workloads.iter().enumerate() {
        if i > 0 {
            out.line("")?;
        }
        let head = format!(
            "{}/{} {}",
            w.kind.to_lowercase(),
            w.name,
            p.paint(
                &format!("(namespace {}, {})", w.namespace, w.source),
                Style::Dim
            )
        );
        if w.findings.is_empty() {
            out.line(&format!("{head}: {}", p.paint("no findings", Style::Ok)))?;
            continue;
        }
        out.line(&p.paint(&head, Style::Bold))?;
        let mut headers = vec!["SEVERITY", "RULE", "CONTAINER", "FINDING"];
        if p.is_wide() {
            headers.push("FIELD");
        }
        let rows: Vec<Vec<(&str, Option<Style>)>> = w
            .findings
            .iter()
            .map(|f| {
                let mut row = vec![
                    (f.severity.as_str(), Some(style(f.severity))),
                    (f.rule.as_str(), Some(Style::Bold)),
                    (f.container.as_deref().unwrap_or("-"), Some(Style::Dim)),
                    (f.message.as_str(), None),
                ];
                if p.is_wide() {
                    row.push((f.field.as_str(), Some(Style::Dim)));
                }
                row
            })
            .collect();
        out.print(&p.table_text(&headers, &rows))?;
        // Fixes for errors and warnings; `-o wide` adds those of infos.
        let fixes: Vec<&Finding> = w
            .findings
            .iter()
            .filter(|f| f.fix.is_some() && (p.is_wide() || f.severity >= Severity::Warning))
            .collect();
        if !fixes.is_empty() {
            out.line(&format!("  {}", p.paint("Fixes:", Style::Bold)))?;
            for f in fixes {
                let who = match (&f.container, f.containers.len()) {
                    (Some(c), n) if n > 1 => format!(" (containers {c})"),
                    (Some(c), _) => format!(" (container {c})"),
                    (None, _) => String::new(),
                };
                out.line(&format!("  # {}{who}: {}", f.rule, f.field))?;
                let text = f.fix.as_ref().map(|x| x.text()).unwrap_or_default();
                for l in text.lines() {
                    out.line(&format!("    {}", p.paint(l, Style::Info)))?;
                }
            }
        }
    }
    if !report.workloads.is_empty() {
        out.line("")?;
    }
    let mut summary = report.summary.line();
    let info_fixes = report
        .workloads
        .iter()
        .flat_map(|w| &w.findings)
        .any(|f| f.severity == Severity::Info && f.fix.is_some());
    if info_fixes && !p.is_wide() {
        summary.push_str(" (fixes for infos: -o wide)");
    }
    match report.errors.len() {
        0 => {}
        1 => summary.push_str("; 1 input could not be used (see stderr)"),
        n => summary.push_str(&format!("; {n} inputs could not be used (see stderr)")),
    }
    out.line(&summary)?;
    out.finish()
}

/// `diagnose rules`.
pub(crate) fn rules_table(p: &Printer) -> Result<()> {
    if p.is_machine() {
        return p.data(&RuleList::all());
    }
    let mut headers = vec!["RULE", "SEVERITY", "CATEGORY", "TITLE"];
    if p.is_wide() {
        headers.push("RATIONALE");
    }
    let mut t = p.table(&headers);
    for r in RULES {
        let mut row = vec![
            p.cell(r.id, Style::Bold),
            p.cell(r.severity.as_str(), style(r.severity)),
            p.cell(r.category, Style::Dim),
            p.cell(r.title, Style::Dim),
        ];
        if p.is_wide() {
            row.push(p.cell(r.rationale, Style::Dim));
        }
        t.add_row(row);
    }
    p.print_table(&t)?;
    p.line(&format!(
        "\n{} rules. `kubectl graceful diagnose --explain RULE` for one rule's rationale and fix;\nsilence one with --ignore RULE or the workload annotation graceful.kubectl.io/ignore: \"rule-a,rule-b\".",
        RULES.len()
    ))
}

/// One warning for objects defined more than once (a directory with two variants of an install, a
/// chart rendered twice): each is checked once, as its last definition.
pub(crate) fn duplicates_warning(dups: &[super::input::Duplicate]) -> Option<String> {
    if dups.is_empty() {
        return None;
    }
    let examples: Vec<String> = dups
        .iter()
        .take(3)
        .map(|(what, at)| format!("{what} ({})", at.join(", ")))
        .collect();
    Some(format!(
        "{} object{} defined more than once; each is checked once, as its last definition (what `kubectl apply` leaves): {}{}",
        dups.len(),
        if dups.len() == 1 { " is" } else { "s are" },
        examples.join("; "),
        if dups.len() > 3 { "; …" } else { "" }
    ))
}

/// What the checks had to skip or merge, on stderr as `warning: …`.
pub(crate) fn warnings(warnings: &[String]) {
    for w in warnings {
        output::warn(w);
    }
}

/// `--kube-version` given in live mode.
pub(crate) fn kube_version_ignored() {
    output::warn("--kube-version is for -f; live mode uses the server's version");
}

/// A list the server refused, as the input error it is: what was not checked.
pub(crate) fn refused(r: &super::gather::Refused) -> InputError {
    let scope = match &r.namespace {
        Some(n) => format!("namespace {n}"),
        None => "all namespaces".into(),
    };
    InputError {
        source: format!("cannot list {} in {scope}", r.what),
        message: format!("{}; not checked: {}", r.why, feeds(&r.what)),
    }
}

/// The rules a list feeds: what goes unchecked when it cannot be read.
fn feeds(what: &str) -> &'static str {
    match what {
        "poddisruptionbudgets" => "pdb-missing, pdb-blocks-eviction, pdb-unhealthy-eviction, pdb-overlap, pdb-no-spread",
        "horizontalpodautoscalers" => "hpa-replicas-set, and single-replica and rollout rounding at the HPA's minimum",
        "services" | "endpointslices" => "prestop-missing, prestop-without-pause, prestop-pause-short, readiness-missing (who serves traffic)",
        "pods" => "bare-pod (pods without a controller were not checked)",
        _ => "every rule, for this kind",
    }
}

/// The server's version could not be read: the version advised for instead.
pub(crate) fn version_unread(why: &str, instead: super::KubeVersion) -> String {
    format!("cannot read the server version ({why}); advising for Kubernetes {instead}")
}

/// An API the server does not serve: nothing there to check.
pub(crate) fn not_served(what: &str) -> String {
    format!("the server does not serve {what}; the checks that need them are skipped")
}

/// Nothing to check (stderr, so stdout stays empty).
pub(crate) fn no_workloads(scope: &str) {
    output::note(&format!("No workloads found in {scope}."));
}

/// Inputs that could not be used, on stderr as `error: SOURCE: MESSAGE` (after the findings of the
/// good inputs, whatever the format).
pub(crate) fn input_errors(errors: &[InputError]) {
    for e in errors {
        eprintln!("error: {}: {}", e.source, e.message);
    }
}

/// `diagnose --explain RULE`.
pub(crate) fn explain_rule(p: &Printer, r: &Rule) -> Result<()> {
    if p.is_machine() {
        return p.data(&OneRule::of(r));
    }
    p.line(&format!(
        "{} ({}, {})",
        p.paint(r.id, Style::Bold),
        p.paint(r.severity.as_str(), style(r.severity)),
        r.category
    ))?;
    p.line(&format!("  {}\n", r.title))?;
    p.line(&wrap(r.rationale, 96, "  "))?;
    p.line(&format!("\n{}", p.paint("Fix:", Style::Bold)))?;
    for l in r.fix.lines() {
        p.line(&format!("  {}", p.paint(l, Style::Info)))?;
    }
    Ok(())
}

fn wrap(text: &str, width: usize, indent: &str) -> String {
    let mut out = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.len() + word.len() + 1 > width {
            out.push(format!("{indent}{line}"));
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        out.push(format!("{indent}{line}"));
    }
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_line() {
        let s = Summary {
            workloads: 3,
            errors: 2,
            warnings: 5,
            infos: 1,
        };
        assert_eq!(s.line(), "3 workloads, 2 errors, 5 warnings, 1 info");
        assert_eq!(
            Summary {
                workloads: 1,
                ..Default::default()
            }
            .line(),
            "1 workload, 0 errors, 0 warnings, 0 infos"
        );
    }

    #[test]
    fn wraps() {
        assert_eq!(wrap("aaa bbb ccc", 7, "> "), "> aaa bbb\n> ccc");
    }
}
