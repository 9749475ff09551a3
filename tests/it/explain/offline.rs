//! explain offline (`-f`): saved pods (real-world failure states, `tests/fixtures/explain/`) read from
//! files and stdin, no cluster.

use serde_json::Value;

use super::{bin, container_cause, fixture, offline_json, pod_cause};
use crate::support::table::{check, row};

#[test]
fn offline_every_container_cause_from_saved_yaml() {
    for (file, container, cause) in [
        ("oom-killed.yaml", "app", "oom-killed"),
        ("node-oom.yaml", "worker", "node-oom"),
        ("grace-shell.yaml", "app", "grace-period-exceeded"),
        ("grace-prestop.yaml", "envoy", "grace-period-exceeded"),
        ("liveness.yaml", "cart", "liveness-probe"),
        ("readiness.yaml", "search", "readiness-probe"),
        ("startup.yaml", "billing", "startup-probe"),
        ("post-start.yaml", "worker", "post-start-hook"),
        ("pre-stop.yaml", "front", "pre-stop-hook"),
        ("app-error.yaml", "orders", "app-error"),
        ("sigterm.yaml", "runner", "sigterm"),
        ("completed.yaml", "api", "completed-unexpectedly"),
        ("image-pull.yaml", "web", "image-pull"),
        ("config-error.yaml", "payments", "config-error"),
        ("start-error.yaml", "gw", "start-error"),
        ("events-expired.yaml", "legacy", "unclear"),
        ("recreated.yaml", "db", "app-error"),
    ] {
        let r = offline_json(file);
        assert_eq!(container_cause(&r, container), cause, "{file}");
    }
}

#[test]
fn offline_every_pod_level_cause_from_saved_yaml() {
    for (file, cause) in [
        ("unschedulable.yaml", "unschedulable"),
        ("evicted.yaml", "evicted"),
        ("preempted.yaml", "preempted"),
        ("node-shutdown.yaml", "node-shutdown"),
        ("taint.yaml", "taint-eviction"),
        ("node-lost.yaml", "node-lost"),
        ("deadline.yaml", "deadline-exceeded"),
        ("init-failed.yaml", "init-failed"),
        // The Node in the file says Ready=Unknown: the node is lost (the other pod's node is not in
        // the file: that one says what it saw and what to check).
        ("node-not-ready.yaml", "node-lost"),
    ] {
        assert_eq!(pod_cause(&offline_json(file)), cause, "{file}");
    }
}

#[test]
fn offline_json_schema_and_facts() {
    let r = offline_json("oom-killed.yaml");
    assert_eq!(r["apiVersion"], "graceful.kubectl.io/v1alpha1");
    assert_eq!(r["kind"], "ExplainReport");
    let p = &r["pods"][0];
    assert_eq!(p["name"], "web-7d4b9c-x2x8k");
    assert_eq!(p["namespace"], "default");
    assert_eq!(p["uid"], "0b6f3d6e-oom1");
    assert_eq!(p["phase"], "Running");
    assert_eq!(p["node"], "node-1");
    assert_eq!(p["healthy"], false);
    assert_eq!(p["restarts"], 3);
    let c = &p["containers"][0];
    assert_eq!(c["type"], "app");
    assert_eq!(c["restartCount"], 3);
    assert_eq!(c["backOff"], "40s");
    assert_eq!(c["state"]["state"], "waiting");
    assert_eq!(c["state"]["reason"], "CrashLoopBackOff");
    let t = &c["lastTermination"];
    assert_eq!(t["exitCode"], 137);
    assert_eq!(t["signal"], "SIGKILL");
    assert_eq!(t["reason"], "OOMKilled");
    assert_eq!(t["ranForSeconds"], 133);
    assert_eq!(t["startedAt"], "2026-11-23T10:00:10Z");
    assert_eq!(t["finishedAt"], "2026-11-23T10:02:23Z");
    let v = &c["verdict"];
    assert_eq!(v["severity"], "failure");
    assert!(v["summary"].as_str().is_some_and(|s| s.contains("256Mi")));
    assert!(v["evidence"].as_array().is_some_and(|e| !e.is_empty()));
    assert!(v["action"].as_str().is_some_and(|s| !s.is_empty()));
    assert_eq!(p["events"][0]["reason"], "BackOff");
    assert_eq!(p["events"][0]["count"], 5);
}

#[test]
fn offline_human_report_leads_with_the_verdict() {
    #[rustfmt::skip]
    let rows = [
        row("a shell that swallows SIGTERM", &["explain", "-f", &fixture("grace-shell.yaml")], 1)
            .stdout_has("pod default/api-5c9f-abcde  Running")
            .stdout_has("container app: killed with SIGKILL at the end of the 30s grace period")
            .stdout_has("does not forward SIGTERM")
            .stdout_has("what to do: start the app with `exec`")
            .stdout_has("exit code 137 (SIGKILL)"),
    ];
    check(&rows);
}

#[test]
fn offline_healthy_pod_is_one_line_and_exit_0() {
    #[rustfmt::skip]
    let rows = [
        row("healthy", &["explain", "-f", &fixture("healthy.yaml")], 0)
            .stdout_is("pod default/fine-1: healthy (2/2 ready, 0 restarts)\n"),
    ];
    check(&rows);
}

#[test]
fn offline_yaml_output_and_stdin() {
    let text = std::fs::read_to_string(fixture("liveness.yaml")).expect("fixture");
    let out = bin()
        .args(["explain", "-o", "yaml", "-f", "-"])
        .write_stdin(text)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_yaml::from_slice(&out.stdout).expect("stdout is YAML");
    assert_eq!(v["kind"], "ExplainReport");
    assert_eq!(container_cause(&v, "cart"), "liveness-probe");
}

#[test]
fn offline_container_filter_and_unknown_container() {
    let out = bin()
        .args([
            "explain",
            "-o",
            "json",
            "-c",
            "segv",
            "-f",
            &fixture("multi-container.yaml"),
        ])
        .output()
        .expect("runs");
    let v: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let cs = v["pods"][0]["containers"].as_array().expect("containers");
    assert_eq!(cs.len(), 1);
    assert_eq!(cs[0]["verdict"]["cause"], "signal");

    #[rustfmt::skip]
    let rows = [
        row("a container the pod lacks", &["explain", "-c", "nope", "-f", &fixture("multi-container.yaml")], 2)
            .stderr_has("container \"nope\" is not in pod zoo"),
    ];
    check(&rows);
}

#[test]
fn offline_malformed_input_is_exit_2_with_position() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("bad.yaml");
    std::fs::write(&bad, "apiVersion: v1\nkind: Pod\nmetadata: {name: [\n").expect("write");
    let none = dir.path().join("svc.yaml");
    std::fs::write(
        &none,
        "apiVersion: v1\nkind: Service\nmetadata: {name: web}\n",
    )
    .expect("write");
    let (bad, none) = (bad.display().to_string(), none.display().to_string());
    #[rustfmt::skip]
    let rows = [
        row("not YAML", &["explain", "-f", &bad], 2).stderr_has("bad.yaml").stderr_has("line "),
        row("no pod", &["explain", "-f", &none], 2).stderr_has("no Pod in the file"),
        row("no file", &["explain", "-f", "/nonexistent/pod.yaml"], 2)
            .stderr_has("/nonexistent/pod.yaml: no such file or directory"),
    ];
    check(&rows);
}

#[test]
fn offline_without_events_says_the_verdict_rests_on_status() {
    #[rustfmt::skip]
    let rows = [
        row("no events", &["explain", "-f", &fixture("multi-container.yaml")], 1).stdout_has("holds no events"),
    ];
    check(&rows);
}

#[test]
fn offline_a_pod_still_starting_is_not_a_failure() {
    #[rustfmt::skip]
    let rows = [
        row("starting", &["explain", "-f", &fixture("starting.yaml")], 0)
            .stdout_has("nothing failed yet (app ContainerCreating)"),
    ];
    check(&rows);
}

#[test]
fn offline_a_pod_without_status_is_not_blamed_on_anything() {
    let dir = tempfile::tempdir().expect("tempdir");
    let f = dir.path().join("manifest.yaml");
    std::fs::write(
        &f,
        "apiVersion: v1\nkind: Pod\nmetadata: {name: m}\nspec:\n  containers: [{name: app, image: x}]\n",
    )
    .expect("write");
    let out = bin()
        .args(["explain", "-o", "json", "-f"])
        .arg(&f)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0));
    let r: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(r["pods"][0]["verdict"], Value::Null);
    assert_eq!(r["pods"][0]["containers"][0]["verdict"], Value::Null);
}

#[test]
fn offline_several_pods_worst_first_with_a_summary_and_wide_events() {
    let mut text = String::new();
    for f in ["healthy.yaml", "readiness.yaml", "oom-killed.yaml"] {
        text.push_str("---\n");
        text.push_str(&std::fs::read_to_string(fixture(f)).expect("fixture"));
    }
    let out = bin()
        .args(["explain", "-o", "wide", "-f", "-"])
        .write_stdin(text)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let s = String::from_utf8_lossy(&out.stdout);
    let pos = |needle: &str| s.find(needle).unwrap_or_else(|| panic!("{needle} in {s}"));
    assert!(pos("pod default/web-7d4b9c-x2x8k") < pos("pod default/search-0"));
    assert!(pos("pod default/search-0") < pos("pod default/fine-1: healthy"));
    assert!(s.contains("BackOff (x5)"), "{s}");
    assert!(
        s.trim_end()
            .ends_with("3 pods: 1 failing, 1 with warnings, 1 healthy"),
        "{s}"
    );
}
