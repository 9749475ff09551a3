//! `kubectl graceful explain`, through the real binary, by strategy: `offline` (saved pods, `-f`),
//! `scripted` (a tiny scripted API server that pins the call sequence), `live` (kubesim), `flags`
//! (each flag on both), `corpus` (every real-world fixture, offline and served live). What they
//! share is here.

use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;

mod corpus;
mod flags;
mod live;
mod offline;
mod scripted;

fn fixture(name: &str) -> String {
    format!(
        "{}/tests/fixtures/explain/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// The binary under the tests' isolation policy (no kubeconfig: offline must not need one).
fn bin() -> Command {
    crate::support::graceful()
}

/// `explain ARGS… -o json` against the cluster of `kubeconfig`: exit code, report (null when
/// nothing was printed; stdout that is not JSON fails the test), stderr.
fn json_with(kubeconfig: &Path, args: &[&str]) -> (Option<i32>, Value, String) {
    let out = bin()
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .arg("explain")
        .args(args)
        .args(["-o", "json"])
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let v = if out.stdout.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}); stderr: {stderr}"))
    };
    (out.status.code(), v, stderr)
}

fn offline_json(name: &str) -> Value {
    let out = bin()
        .args(["explain", "-o", "json", "-f", &fixture(name)])
        .output()
        .expect("runs");
    assert!(
        out.status.code() == Some(0) || out.status.code() == Some(1),
        "{name}: exit {:?}, stderr {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("stdout is JSON")
}

fn container_cause(report: &Value, container: &str) -> String {
    report["pods"][0]["containers"]
        .as_array()
        .expect("containers")
        .iter()
        .find(|c| c["name"] == container)
        .and_then(|c| c["verdict"]["cause"].as_str())
        .unwrap_or("none")
        .to_string()
}

/// The names of the pods of a report, in its order.
fn pod_names(report: &Value) -> Vec<&str> {
    report["pods"]
        .as_array()
        .expect("pods")
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect()
}

fn pod_cause(report: &Value) -> String {
    report["pods"][0]["verdict"]["cause"]
        .as_str()
        .unwrap_or("none")
        .to_string()
}
