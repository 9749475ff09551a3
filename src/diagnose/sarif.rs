//! `-o sarif`: the report as SARIF 2.1.0 (OASIS), which GitHub and GitLab code scanning read. Each rule
//! is a `reportingDescriptor`; each finding a `result` at the file and line of its object (the logical
//! location names the workload and field). Inputs that could not be used become tool notifications, so
//! a broken file does not pass silently.
//!
//! Levels: error → `error`, warning → `warning`, info → `note`.

use serde_json::{json, Value};

use super::model::DiagnoseReport;
use super::rules::{Severity, RULES};
use crate::source::Origin;

pub(crate) const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";
const INFO_URI: &str = "https://github.com/kubectl-graceful/kubectl-graceful";

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// A file as a SARIF artifact URI: relative paths stay relative (to the directory the tool ran in, as
/// code scanning expects), with forward slashes and without `./`.
fn uri(file: &str) -> String {
    let f = file.replace('\\', "/");
    f.strip_prefix("./").unwrap_or(&f).to_string()
}

/// The SARIF log for a report; `origins[i]` is where workload `i` was read.
pub(crate) fn log(report: &DiagnoseReport, origins: &[Origin]) -> Value {
    let rules: Vec<Value> = RULES
        .iter()
        .map(|r| {
            json!({
                "id": r.id,
                "name": r.id,
                "shortDescription": {"text": r.title},
                "fullDescription": {"text": r.rationale},
                "help": {
                    "text": format!("{}\n\nFix:\n{}", r.rationale, r.fix),
                    "markdown": format!("{}\n\n**Fix:**\n\n```yaml\n{}```", r.rationale, r.fix),
                },
                "defaultConfiguration": {"level": level(r.severity)},
                "properties": {"tags": ["kubernetes", r.category]},
            })
        })
        .collect();
    let mut results = Vec::new();
    for (i, w) in report.workloads.iter().enumerate() {
        let origin = origins.get(i).cloned().unwrap_or_default();
        for f in &w.findings {
            let index = RULES.iter().position(|r| r.id == f.rule);
            let mut text = f.message.clone();
            if let Some(c) = &f.container {
                text = format!(
                    "{} {}/{} (container {c}): {text}",
                    w.kind, w.namespace, w.name
                );
            } else {
                text = format!("{} {}/{}: {text}", w.kind, w.namespace, w.name);
            }
            let mut location = json!({
                "logicalLocations": [{
                    "fullyQualifiedName": format!("{}/{}/{}/{}", w.kind, w.namespace, w.name, f.field),
                    "kind": "object",
                }],
            });
            if let (Some(file), Some(line)) = (&origin.file, origin.line) {
                if file != "<stdin>" {
                    location["physicalLocation"] = json!({
                        "artifactLocation": {"uri": uri(file)},
                        "region": {"startLine": line},
                    });
                }
            }
            let mut result = json!({
                "ruleId": f.rule,
                "level": level(f.severity),
                "message": {"text": text},
                "locations": [location],
                // Stable across line moves: the same finding on the same object and field.
                "partialFingerprints": {
                    "graceful/v1": format!("{}/{}/{}/{}/{}", f.rule, w.kind, w.namespace, w.name, f.field),
                },
            });
            if let Some(i) = index {
                result["ruleIndex"] = json!(i);
            }
            if let Some(fix) = &f.fix {
                result["properties"] = json!({"fix": fix.text()});
            }
            results.push(result);
        }
    }
    let notifications: Vec<Value> = report
        .errors
        .iter()
        .map(|e| {
            json!({
                "level": "error",
                "message": {"text": format!("{}: {}", e.source, e.message)},
            })
        })
        .collect();
    json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "kubectl-graceful",
                "informationUri": INFO_URI,
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "invocations": [{
                "executionSuccessful": report.errors.is_empty(),
                "toolExecutionNotifications": notifications,
            }],
            "results": results,
            "properties": {"kubernetesVersion": report.kubernetes_version},
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_relative_with_forward_slashes() {
        assert_eq!(uri("./k8s/web.yaml"), "k8s/web.yaml");
        assert_eq!(uri("k8s\\web.yaml"), "k8s/web.yaml");
        assert_eq!(uri("/abs/web.yaml"), "/abs/web.yaml");
    }
}
