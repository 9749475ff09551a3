//! `kubectl graceful diagnose`, by strategy: `offline` (the real binary on manifests), `live` (the
//! real binary against kubesim), `corpus` (the library over a real-world corpus, findings compared
//! with the reviewed ones), `fixes` (every fix applied and diagnosed again); `documents` is what the
//! last two share. What the binary tests share is here.

mod corpus;
mod documents;
mod fixes;
mod live;
mod offline;

use std::path::PathBuf;

use serde_json::Value;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/diagnose")
}

/// The path of the fixture `rel` (under tests/fixtures/diagnose), as an argument.
fn fixture(rel: &str) -> String {
    fixtures().join(rel).display().to_string()
}

fn json_of(out: &[u8]) -> Value {
    serde_json::from_slice(out).unwrap_or_else(|e| {
        panic!("not JSON ({e}):\n{}", String::from_utf8_lossy(out));
    })
}

/// The names of the workloads of a report, in its order.
fn workload_names(report: &Value) -> Vec<&str> {
    report["workloads"]
        .as_array()
        .expect("workloads")
        .iter()
        .map(|w| w["name"].as_str().expect("a name"))
        .collect()
}

/// The findings of the workload `name` of a report.
fn findings_of<'r>(report: &'r Value, name: &str) -> &'r Vec<Value> {
    report["workloads"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["name"] == name)
        .unwrap_or_else(|| panic!("no workload {name} in {report:#}"))["findings"]
        .as_array()
        .unwrap()
}

fn rules_of(report: &Value, name: &str) -> Vec<String> {
    findings_of(report, name)
        .iter()
        .map(|f| f["rule"].as_str().unwrap().to_string())
        .collect()
}

/// The message of the finding `rule` of the workload `name`.
fn message_of(report: &Value, name: &str, rule: &str) -> String {
    findings_of(report, name)
        .iter()
        .find(|f| f["rule"] == rule)
        .unwrap_or_else(|| panic!("no {rule} finding for {name} in {report:#}"))["message"]
        .as_str()
        .unwrap()
        .to_string()
}
