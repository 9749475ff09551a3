//! explain live against a tiny scripted API server on 127.0.0.1: pins the call sequence (the pod,
//! its events and the early log read in one round trip, then everything else at once) and how each
//! section degrades.

use predicates::prelude::*;
use serde_json::Value;

use super::{bin, container_cause, fixture, json_with, pod_names};
use crate::support::fake_api::{FakeApi as Fake, Route};

use std::time::Duration;

/// The fixture's pod and events as the API serves them.
pub(super) fn served(name: &str) -> (Value, Vec<Value>) {
    let text = std::fs::read_to_string(fixture(name)).expect("fixture");
    let v: Value = serde_yaml::from_str(&text).expect("yaml");
    let items = if v["kind"] == "List" {
        v["items"].as_array().cloned().unwrap_or_default()
    } else {
        vec![v]
    };
    let pod = items
        .iter()
        .find(|i| i["kind"] == "Pod")
        .cloned()
        .expect("a pod");
    let events = items.into_iter().filter(|i| i["kind"] == "Event").collect();
    (pod, events)
}

pub(super) fn list(kind: &str, api_version: &str, items: Vec<Value>) -> String {
    serde_json::json!({"kind": kind, "apiVersion": api_version, "metadata": {}, "items": items})
        .to_string()
}

pub(super) fn fake_run(fake: &Fake, args: &[&str]) -> (Option<i32>, Value, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    json_with(&fake.kubeconfig(dir.path()), args)
}

pub(super) const PODS: &str = "/api/v1/namespaces/default/pods";
pub(super) const EVENTS: &str = "/api/v1/namespaces/default/events";
pub(super) const NEW_EVENTS: &str = "/apis/events.k8s.io/v1/namespaces/default/events";

#[test]
fn scripted_pod_events_and_log_go_out_in_one_round_trip() {
    let (pod, events) = served("app-error.yaml");
    let slow = Duration::from_millis(400);
    let fake = Fake::start(vec![
        Route::get(&format!("{PODS}/orders-0"), pod.to_string()).delay(slow),
        Route::get(EVENTS, list("EventList", "v1", events)).delay(slow),
        Route::get(
            &format!("{PODS}/orders-0/log"),
            "connecting to postgres at db:5432\nError: connect ECONNREFUSED 10.96.0.15:5432\n"
                .into(),
        )
        .delay(slow),
        Route::get(NEW_EVENTS, list("EventList", "events.k8s.io/v1", vec![])).delay(slow),
    ]);
    let (code, r, err) = fake_run(&fake, &["orders-0", "--tail", "5"]);
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(container_cause(&r, "orders"), "app-error");
    let c = &r["pods"][0]["containers"][0];
    assert_eq!(c["logsFrom"], "previous");
    assert_eq!(c["logs"].as_array().map(Vec::len), Some(2));

    let seen = fake.seen();
    assert!(
        seen.iter().all(|s| s.method == "GET"),
        "explain only reads: {seen:?}"
    );
    // The pod GET, its events and the previous log go out together: none waits for the pod.
    let pod_get = seen
        .iter()
        .find(|s| s.path() == format!("{PODS}/orders-0"))
        .expect("the pod GET");
    let ev = seen
        .iter()
        .find(|s| s.path() == EVENTS)
        .expect("an events list");
    let logs: Vec<_> = seen.iter().filter(|s| s.path().ends_with("/log")).collect();
    assert_eq!(logs.len(), 1, "the early log read was used: {seen:?}");
    let log = logs[0];
    for early in [ev, log] {
        assert!(
            early.arrived < pod_get.answered,
            "{} waited for the pod: {seen:?}",
            early.target
        );
    }
    assert!(log.target.contains("previous=true"), "{}", log.target);
    assert!(log.target.contains("tailLines=5"), "{}", log.target);
    // The pod has one container, so the API server picks it (ValidateContainer in
    // pkg/registry/core/pod/strategy.go); naming it would need the pod first.
    assert!(!log.target.contains("container="), "{}", log.target);
    assert!(
        ev.target
            .contains("fieldSelector=involvedObject.name%3Dorders-0"),
        "{}",
        ev.target
    );
}

#[test]
fn scripted_early_log_names_the_container_given_with_c() {
    let (pod, events) = served("app-error.yaml");
    let fake = Fake::start(vec![
        Route::get(&format!("{PODS}/orders-0"), pod.to_string()),
        Route::get(EVENTS, list("EventList", "v1", events)),
        Route::get(&format!("{PODS}/orders-0/log"), "boom\n".into()),
    ]);
    let (code, r, err) = fake_run(&fake, &["orders-0", "-c", "orders"]);
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(
        r["pods"][0]["containers"][0]["logs"],
        serde_json::json!(["boom"])
    );
    let seen = fake.seen();
    let logs: Vec<_> = seen.iter().filter(|s| s.path().ends_with("/log")).collect();
    assert_eq!(logs.len(), 1, "{seen:?}");
    assert!(
        logs[0].target.contains("container=orders"),
        "{}",
        logs[0].target
    );
}

#[test]
fn scripted_failed_early_log_is_read_again_by_container_name() {
    // A pod of several containers: the API server refuses a log read that names none (400), so the
    // early read fails and the log is asked for again by name, costing a round trip, not the log.
    let (pod, events) = served("app-error.yaml");
    let refused = crate::support::fake_api::status_body(
        400,
        "BadRequest",
        "a container name must be specified for pod orders-0, choose one of: [orders sidecar]",
    );
    let fake = Fake::start(vec![
        Route::get(&format!("{PODS}/orders-0"), pod.to_string()),
        Route::get(EVENTS, list("EventList", "v1", events)),
        Route::get(&format!("{PODS}/orders-0/log"), refused).status(400),
    ]);
    let (code, r, err) = fake_run(&fake, &["orders-0"]);
    assert_eq!(code, Some(1), "{err}");
    let seen = fake.seen();
    let logs: Vec<_> = seen.iter().filter(|s| s.path().ends_with("/log")).collect();
    assert_eq!(logs.len(), 2, "{seen:?}");
    assert!(!logs[0].target.contains("container="), "{}", logs[0].target);
    assert!(
        logs[1].target.contains("container=orders"),
        "{}",
        logs[1].target
    );
    let notes = r["pods"][0]["notes"].to_string();
    assert!(notes.contains("logs of container orders"), "{notes}");
}

#[test]
fn scripted_forbidden_logs_degrade_with_a_note() {
    let (pod, events) = served("app-error.yaml");
    let fake = Fake::start(vec![
        Route::get(&format!("{PODS}/orders-0"), pod.to_string()),
        Route::get(EVENTS, list("EventList", "v1", events)),
        Route::get(&format!("{PODS}/orders-0/log"), String::new()).status(403),
    ]);
    let (code, r, err) = fake_run(&fake, &["orders-0"]);
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(container_cause(&r, "orders"), "app-error");
    let notes = r["pods"][0]["notes"].to_string();
    assert!(notes.contains("logs: forbidden"), "{notes}");
    assert_eq!(r["pods"][0]["containers"][0]["logs"], serde_json::json!([]));
    // RBAC refuses pods/log for the whole pod: the early read's 403 is the answer, not asked twice.
    let seen = fake.seen();
    assert_eq!(
        seen.iter().filter(|s| s.path().ends_with("/log")).count(),
        1,
        "{seen:?}"
    );
}

#[test]
fn scripted_forbidden_core_events_fall_back_to_events_k8s_io() {
    let (pod, _) = served("liveness.yaml");
    let new_events = vec![
        serde_json::json!({
            "apiVersion": "events.k8s.io/v1", "kind": "Event",
            "metadata": {"name": "cart.1", "namespace": "default"},
            "regarding": {"kind": "Pod", "name": "cart-6f8d-q1w2e", "namespace": "default", "uid": "u-liveness", "fieldPath": "spec.containers{cart}"},
            "reason": "Unhealthy", "type": "Warning",
            "note": "Liveness probe failed: HTTP probe failed with statuscode: 500",
            "eventTime": "2026-11-23T10:00:10.000000Z",
            "series": {"count": 3, "lastObservedTime": "2026-11-23T10:00:30.000000Z"}
        }),
        serde_json::json!({
            "apiVersion": "events.k8s.io/v1", "kind": "Event",
            "metadata": {"name": "cart.2", "namespace": "default"},
            "regarding": {"kind": "Pod", "name": "cart-6f8d-q1w2e", "namespace": "default", "uid": "u-liveness", "fieldPath": "spec.containers{cart}"},
            "reason": "Killing", "type": "Normal",
            "note": "Container cart failed liveness probe, will be restarted",
            "eventTime": "2026-11-23T10:00:30.000000Z"
        }),
    ];
    let fake = Fake::start(vec![
        Route::get(&format!("{PODS}/cart-6f8d-q1w2e"), pod.to_string()),
        Route::get(EVENTS, String::new()).status(403),
        Route::get(
            NEW_EVENTS,
            list("EventList", "events.k8s.io/v1", new_events),
        ),
    ]);
    let (code, r, err) = fake_run(&fake, &["cart-6f8d-q1w2e", "--no-logs"]);
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(container_cause(&r, "cart"), "liveness-probe", "{r}");
    let seen = fake.seen();
    let new = seen
        .iter()
        .find(|s| s.path() == NEW_EVENTS)
        .expect("asked events.k8s.io");
    assert!(
        new.target.contains("regarding.name%3Dcart-6f8d-q1w2e"),
        "{}",
        new.target
    );
    assert!(
        !seen.iter().any(|s| s.path().ends_with("/log")),
        "--no-logs reads no logs"
    );
}

#[test]
fn scripted_no_events_at_all_rests_on_status() {
    let (pod, _) = served("liveness.yaml");
    let fake = Fake::start(vec![
        Route::get(&format!("{PODS}/cart-6f8d-q1w2e"), pod.to_string()),
        Route::get(EVENTS, String::new()).status(403),
        Route::get(NEW_EVENTS, String::new()).status(403),
        Route::get(&format!("{PODS}/cart-6f8d-q1w2e/log"), "ok\n".into()),
    ]);
    let (code, r, err) = fake_run(&fake, &["cart-6f8d-q1w2e"]);
    assert_eq!(code, Some(1), "{err}");
    let notes = r["pods"][0]["notes"].to_string();
    assert!(notes.contains("events: forbidden"), "{notes}");
    assert!(notes.contains("rests on the pod's status alone"), "{notes}");
    // Exit 137 with reason Error and no events: never called OOM, never guessed.
    assert_eq!(container_cause(&r, "cart"), "unclear");
}

#[test]
fn scripted_missing_pod_is_exit_2() {
    let fake = Fake::start(vec![]);
    let (code, _, err) = fake_run(&fake, &["nope"]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("pod nope not found in namespace default"),
        "{err}"
    );
}

#[test]
fn scripted_workload_target_lists_its_pods_by_selector_worst_first() {
    let (sick, events) = served("oom-killed.yaml");
    let (fine, _) = served("healthy.yaml");
    let mut fine = fine;
    fine["metadata"]["labels"] = serde_json::json!({"app": "web"});
    let deploy = serde_json::json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "app"}]}}}
    });
    let fake = Fake::start(vec![
        Route::get(
            "/apis/apps/v1/namespaces/default/deployments/web",
            deploy.to_string(),
        ),
        Route::get(PODS, list("PodList", "v1", vec![fine, sick])),
        Route::get(EVENTS, list("EventList", "v1", events)),
        Route::get(
            &format!("{PODS}/web-7d4b9c-x2x8k/log"),
            "allocating\n".into(),
        ),
    ]);
    let (code, r, err) = fake_run(&fake, &["deploy/web"]);
    assert_eq!(code, Some(1), "{err}");
    let names = pod_names(&r);
    assert_eq!(names, vec!["web-7d4b9c-x2x8k", "fine-1"], "worst first");
    assert_eq!(r["pods"][1]["healthy"], true);
    let seen = fake.seen();
    let list_req = seen.iter().find(|s| s.path() == PODS).expect("listed pods");
    assert!(
        list_req.target.contains("labelSelector=app%3Dweb"),
        "{}",
        list_req.target
    );
    // The healthy pod cost no further calls.
    assert!(
        !seen.iter().any(|s| s.target.contains("fine-1")),
        "{seen:?}"
    );
}

#[test]
fn scripted_namespace_sweep_reads_events_once_and_skips_healthy_pods() {
    let mut pods = Vec::new();
    let mut events = Vec::new();
    for f in [
        "oom-killed.yaml",
        "liveness.yaml",
        "app-error.yaml",
        "sigterm.yaml",
        "readiness.yaml",
        "healthy.yaml",
    ] {
        let (p, e) = served(f);
        pods.push(p);
        events.extend(e);
    }
    let fake = Fake::start(vec![
        Route::get(PODS, list("PodList", "v1", pods)),
        Route::get(EVENTS, list("EventList", "v1", events)),
    ]);
    let (code, r, err) = fake_run(&fake, &["--no-logs"]);
    assert_eq!(code, Some(1), "{err}");
    let causes: Vec<(String, String)> = r["pods"]
        .as_array()
        .expect("pods")
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap_or("").to_string(),
                p["containers"][0]["verdict"]["cause"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
            )
        })
        .collect();
    for (pod, cause) in [
        ("web-7d4b9c-x2x8k", "oom-killed"),
        ("cart-6f8d-q1w2e", "liveness-probe"),
        ("orders-0", "app-error"),
        ("cron-runner", "sigterm"),
        ("search-0", "readiness-probe"),
    ] {
        assert!(
            causes.contains(&(pod.to_string(), cause.to_string())),
            "{pod} {cause}: {causes:?}"
        );
    }
    assert!(
        !causes.iter().any(|(p, _)| p == "fine-1"),
        "healthy pods are left out"
    );
    assert_eq!(
        causes.last().map(|(p, _)| p.as_str()),
        Some("search-0"),
        "warnings after failures"
    );
    let seen = fake.seen();
    let event_reads: Vec<_> = seen.iter().filter(|s| s.path() == EVENTS).collect();
    assert_eq!(event_reads.len(), 1, "{seen:?}");
    assert!(!event_reads[0].target.contains("fieldSelector"));
}

#[test]
fn scripted_human_report_shows_the_previous_log_tail() {
    let (pod, events) = served("app-error.yaml");
    let fake = Fake::start(vec![
        Route::get(&format!("{PODS}/orders-0"), pod.to_string()),
        Route::get(EVENTS, list("EventList", "v1", events)),
        Route::get(
            &format!("{PODS}/orders-0/log"),
            "starting orders service v2.3\nError: connect ECONNREFUSED 10.96.0.15:5432\n".into(),
        ),
    ]);
    let dir = tempfile::tempdir().expect("tempdir");
    bin()
        .arg("--kubeconfig")
        .arg(fake.kubeconfig(dir.path()))
        .args(["explain", "orders-0"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "container orders: the application exited with code 1",
        ))
        .stdout(predicate::str::contains(
            "log (previous instance, last 2 lines):",
        ))
        .stdout(predicate::str::contains(
            "      | Error: connect ECONNREFUSED 10.96.0.15:5432",
        ))
        .stdout(predicate::str::contains(
            "restarts:          6 (back-off 5m0s)",
        ));
}
