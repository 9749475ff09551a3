//! explain live: the real binary against kubesim over HTTPS (served fixtures, controllers and a
//! kubelet that crash, get killed and get evicted), judged against the real kubectl where it shows
//! the same facts.

use std::time::Duration;

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

use super::{bin, container_cause, fixture, json_with, pod_cause, pod_names};

use kubesim::{Sim, SimOptions};

/// Every static fixture with a pod that a cluster would serve as is. (Pods caught while being deleted —
/// grace-shell, grace-prestop, pre-stop, preempted, taint — are gone once their containers stopped, on
/// a real cluster as in the simulator: they are covered from saved YAML and by the scripted server.)
pub(super) const STATIC: &[&str] = &[
    "oom-killed.yaml",
    "node-oom.yaml",
    "liveness.yaml",
    "readiness.yaml",
    "startup.yaml",
    "post-start.yaml",
    "app-error.yaml",
    "multi-container.yaml",
    "sigterm.yaml",
    "completed.yaml",
    "image-pull.yaml",
    "config-error.yaml",
    "start-error.yaml",
    "init-failed.yaml",
    "unschedulable.yaml",
    "evicted.yaml",
    "node-shutdown.yaml",
    "node-lost.yaml",
    "deadline.yaml",
    "recreated.yaml",
    "events-expired.yaml",
    "healthy.yaml",
];

pub(super) fn static_sim() -> Sim {
    let docs: Vec<String> = STATIC
        .iter()
        .map(|f| std::fs::read_to_string(fixture(f)).expect("fixture"))
        .collect();
    Sim::start(SimOptions {
        scenario_yaml: docs,
        ..Default::default()
    })
    .expect("simulator starts")
}

pub(super) fn live(sim: &Sim) -> Command {
    let mut c = bin();
    c.arg("--kubeconfig").arg(sim.kubeconfig_path());
    c
}

pub(super) fn live_json(sim: &Sim, args: &[&str]) -> (Option<i32>, Value, String) {
    json_with(sim.kubeconfig_path(), args)
}

fn find_pod<'a>(r: &'a Value, name: &str) -> &'a Value {
    r["pods"]
        .as_array()
        .expect("pods")
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("pod {name} in report"))
}

#[test]
fn live_every_cause_against_the_simulator() {
    let sim = static_sim();
    for (pod, container, cause) in [
        ("web-7d4b9c-x2x8k", "app", "oom-killed"),
        ("batch-worker", "worker", "node-oom"),
        ("cart-6f8d-q1w2e", "cart", "liveness-probe"),
        ("search-0", "search", "readiness-probe"),
        ("billing-1", "billing", "startup-probe"),
        ("worker-abc", "worker", "post-start-hook"),
        ("orders-0", "orders", "app-error"),
        ("zoo", "missing", "command-not-found"),
        ("zoo", "noexec", "not-executable"),
        ("zoo", "segv", "signal"),
        ("cron-runner", "runner", "sigterm"),
        ("api-6b7c-zzzzz", "api", "completed-unexpectedly"),
        ("web-new-1", "web", "image-pull"),
        ("payments-0", "payments", "config-error"),
        ("gw-1", "gw", "start-error"),
        ("db-0", "db", "app-error"),
    ] {
        let (code, r, err) = live_json(&sim, &[pod]);
        assert_eq!(code, Some(1), "{pod}: {err}");
        assert_eq!(
            container_cause(&r, container),
            cause,
            "{pod}/{container}: {r}"
        );
    }
    for (pod, cause) in [
        ("shop-db-client", "init-failed"),
        ("analytics-0", "unschedulable"),
        ("report-7f9-kk2lm", "evicted"),
        ("queue-2", "node-shutdown"),
        ("ingest-3", "node-lost"),
        ("nightly-report-x7k2p", "deadline-exceeded"),
    ] {
        let (code, r, err) = live_json(&sim, &[pod]);
        assert_eq!(code, Some(1), "{pod}: {err}");
        assert_eq!(pod_cause(&r), cause, "{pod}: {r}");
    }
    let (code, r, _) = live_json(&sim, &["fine-1"]);
    assert_eq!(code, Some(0));
    assert_eq!(r["pods"][0]["healthy"], true);
}

#[test]
fn live_namespace_sweep_lists_only_unhealthy_pods_worst_first() {
    let sim = static_sim();
    let (code, r, err) = live_json(&sim, &[]);
    assert_eq!(code, Some(1), "{err}");
    let names = pod_names(&r);
    assert!(!names.contains(&"fine-1"), "{names:?}");
    assert!(names.contains(&"web-7d4b9c-x2x8k"));
    assert!(names.contains(&"search-0"));
    // Failures before warnings (readiness only).
    let pos = |n: &str| names.iter().position(|x| *x == n).expect("listed");
    assert!(pos("zoo") < pos("search-0"), "{names:?}");
    // -A finds the same pods.
    let (_, all, _) = live_json(&sim, &["-A"]);
    assert_eq!(all["pods"].as_array().map(Vec::len), Some(names.len()));
}

#[test]
fn live_events_from_the_server_and_logs_of_the_previous_instance() {
    let sim = static_sim();
    let (_, r, _) = live_json(&sim, &["cart-6f8d-q1w2e"]);
    let p = find_pod(&r, "cart-6f8d-q1w2e");
    let reasons: Vec<&str> = p["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["reason"].as_str())
        .collect();
    assert!(
        reasons.contains(&"Unhealthy") && reasons.contains(&"Killing"),
        "{reasons:?}"
    );

    let (_, r, _) = live_json(&sim, &["orders-0", "--tail", "2"]);
    let c = &r["pods"][0]["containers"][0];
    assert_eq!(c["logsFrom"], "previous");
    let logs = c["logs"].as_array().expect("logs");
    assert_eq!(logs.len(), 2, "{logs:?}");
    assert!(c["verdict"]["evidence"]
        .to_string()
        .contains("ECONNREFUSED"));

    let (_, r, _) = live_json(&sim, &["orders-0", "--no-logs"]);
    assert_eq!(r["pods"][0]["containers"][0]["logs"], serde_json::json!([]));
}

#[test]
fn live_human_report_for_a_workload_target() {
    let sim = Sim::with_scenario(CRASHY);
    let ok = sim.wait_until(std::time::Duration::from_secs(20), |s| {
        s.list("v1", "Pod", Some("default")).iter().any(|p| {
            p["status"]["containerStatuses"][0]["restartCount"]
                .as_i64()
                .unwrap_or(0)
                >= 1
        })
    });
    assert!(ok, "the simulated pod restarted");
    let (code, r, err) = live_json(&sim, &["deploy/crashy"]);
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(container_cause(&r, "app"), "app-error", "{r}");
    live(&sim)
        .args(["explain", "deploy/crashy"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "the application exited with code 3",
        ));
}

pub(super) const CRASHY: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: crashy, namespace: default}
spec:
  replicas: 1
  selector: {matchLabels: {app: crashy}}
  template:
    metadata:
      labels: {app: crashy}
      annotations:
        kubesim.io/behavior: '{"app": {"crashAfter": "2s", "exitCode": 3, "message": "config file /etc/crashy.toml: missing key port", "logs": "loading config\nfatal: missing key port\n"}}'
    spec:
      containers:
      - {name: app, image: shop/crashy:1}
"#;

#[test]
fn live_degrades_without_permission_for_logs_or_events() {
    let sim = static_sim();
    let alice = sim.add_user("alice");
    sim.deny("alice", "get", "pods/log");
    let (code, r, err) = json_with(&alice, &["orders-0"]);
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(container_cause(&r, "orders"), "app-error");
    assert!(
        r["pods"][0]["notes"]
            .to_string()
            .contains("logs: forbidden"),
        "{r}"
    );

    let bob = sim.add_user("bob");
    sim.deny("bob", "list", "events");
    let (code, r, err) = json_with(&bob, &["cart-6f8d-q1w2e"]);
    assert_eq!(code, Some(1), "{err}");
    let notes = r["pods"][0]["notes"].to_string();
    assert!(notes.contains("events: forbidden"), "{notes}");
    // Without the events, the restart is not pinned on the liveness probe: it says so.
    assert_eq!(container_cause(&r, "cart"), "unclear");
}

#[test]
fn sim_missing_pod_is_exit_2() {
    let sim = static_sim();
    live(&sim)
        .args(["explain", "nope"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "pod nope not found in namespace default",
        ));
}

#[test]
fn live_recreated_pod_does_not_inherit_old_events() {
    let sim = static_sim();
    let (_, r, _) = live_json(&sim, &["db-0"]);
    assert_eq!(container_cause(&r, "db"), "app-error");
    assert!(
        r["pods"][0]["notes"].to_string().contains("recreated"),
        "{r}"
    );
}

#[test]
fn live_facts_agree_with_kubectl_describe() {
    if kubesim::tools::kubectl("comparing explain with kubectl describe").is_none() {
        return;
    }
    let sim = static_sim();
    for pod in ["web-7d4b9c-x2x8k", "orders-0", "zoo", "gw-1"] {
        let text = crate::support::sim::kubectl(&sim, &["describe", "pod", pod]).stdout;
        let field = |name: &str| -> Vec<String> {
            text.lines()
                .filter_map(|l| l.trim().strip_prefix(name).map(|v| v.trim().to_string()))
                .collect()
        };
        let (_, r, _) = live_json(&sim, &[pod]);
        let containers = r["pods"][0]["containers"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert!(!containers.is_empty(), "{pod}: {r}");
        // describe lists containers in spec order, one "Restart Count:" each.
        let restarts: Vec<String> = containers
            .iter()
            .map(|c| c["restartCount"].to_string())
            .collect();
        assert_eq!(field("Restart Count:"), restarts, "{pod}: {text}");
        let exit_codes: Vec<String> = containers
            .iter()
            .filter_map(|c| c["lastTermination"]["exitCode"].as_i64())
            .map(|e| e.to_string())
            .collect();
        assert_eq!(field("Exit Code:"), exit_codes, "{pod}: {text}");
        for c in &containers {
            for reason in [&c["lastTermination"]["reason"], &c["state"]["reason"]] {
                if let Some(reason) = reason.as_str() {
                    assert!(
                        field("Reason:").iter().any(|r| r == reason),
                        "{pod} {reason}: {text}"
                    );
                }
            }
            if let Some(m) = c["lastTermination"]["message"].as_str() {
                let first = m.lines().next().unwrap_or("");
                assert!(
                    field("Message:").iter().any(|x| x == first),
                    "{pod} message {first:?}: {text}"
                );
            }
        }
    }
}

/// One Deployment per way a container fails, each told by its `kubesim.io/behavior` annotation.
const BEHAVIOURS: &str = include_str!("../../fixtures/explain/live/behaviours.yaml");

fn first_container_status(sim: &Sim, app: &str) -> Value {
    sim.list("v1", "Pod", Some("default"))
        .into_iter()
        .find(|p| p["metadata"]["labels"]["app"] == app)
        .map(|p| p["status"]["containerStatuses"][0].clone())
        .unwrap_or(Value::Null)
}

#[test]
fn live_controller_pods_behaving_badly() {
    let sim = Sim::with_scenario_at(BEHAVIOURS, 20.0);
    let waited = sim.wait_until(Duration::from_secs(30), |s| {
        let restarted = |app: &str| {
            first_container_status(s, app)["restartCount"]
                .as_i64()
                .unwrap_or(0)
                >= 1
        };
        let waiting = |app: &str, reason: &str| {
            first_container_status(s, app)["state"]["waiting"]["reason"] == reason
        };
        restarted("probe")
            && restarted("oneshot")
            && (waiting("pull", "ImagePullBackOff") || waiting("pull", "ErrImagePull"))
            && waiting("secretless", "CreateContainerConfigError")
            && s.list("v1", "Event", Some("default")).iter().any(|e| {
                e["message"]
                    .as_str()
                    .is_some_and(|m| m.starts_with("Readiness probe failed"))
            })
    });
    assert!(waited, "the simulated pods reached their states");
    for (target, cause) in [
        ("deploy/probe", "liveness-probe"),
        ("deploy/unready", "readiness-probe"),
        ("deploy/pull", "image-pull"),
        ("deploy/secretless", "config-error"),
        ("deploy/oneshot", "completed-unexpectedly"),
    ] {
        let (code, r, err) = live_json(&sim, &[target]);
        assert_eq!(code, Some(1), "{target}: {err}");
        assert_eq!(container_cause(&r, "app"), cause, "{target}: {r}");
    }
    // The registry's message decides the advice, even when the latest event only says ImagePullBackOff.
    let (_, r, _) = live_json(&sim, &["deploy/pull"]);
    assert!(
        r["pods"][0]["containers"][0]["verdict"]["action"]
            .to_string()
            .contains("does not exist"),
        "{r}"
    );
    let (_, r, _) = live_json(&sim, &["deploy/secretless"]);
    assert!(
        r["pods"][0]["containers"][0]["verdict"]["summary"]
            .to_string()
            .contains("api-token"),
        "{r}"
    );
}

#[test]
fn live_bad_release_after_a_rollout_restart() {
    if kubesim::tools::kubectl("kubectl rollout restart").is_none() {
        return;
    }
    let scenario = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: shop, namespace: default}
spec:
  replicas: 2
  selector: {matchLabels: {app: shop}}
  template:
    metadata:
      labels: {app: shop}
      annotations:
        kubesim.io/behavior: '{"app": {"readyAfter": "1s"}}'
        kubesim.io/rollout-behavior: '{"app": {"crashAfter": "3s", "reason": "OOMKilled", "logs": "warming cache\n"}}'
    spec:
      containers:
      - name: app
        image: shop/shop:2
        resources: {limits: {memory: 128Mi}}
"#;
    let sim = Sim::with_scenario_at(scenario, 20.0);
    let ready = sim.wait_until(Duration::from_secs(20), |s| {
        s.get("apps/v1", "Deployment", Some("default"), "shop")
            .is_some_and(|d| d["status"]["readyReplicas"] == 2)
    });
    assert!(ready, "the first release is ready");
    live(&sim)
        .args(["explain", "deploy/shop"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("healthy (1/1 ready, 0 restarts)"));
    crate::support::sim::kubectl(&sim, &["rollout", "restart", "deploy/shop"]);
    let crashed = sim.wait_until(Duration::from_secs(30), |s| {
        s.list("v1", "Pod", Some("default")).iter().any(|p| {
            p["status"]["containerStatuses"][0]["lastState"]["terminated"]["reason"] == "OOMKilled"
        })
    });
    assert!(crashed, "the new release crashed");
    let (code, r, err) = live_json(&sim, &["deploy/shop"]);
    assert_eq!(code, Some(1), "{err}");
    // Worst first: the crashing new pod leads, the old healthy pods follow.
    let first = &r["pods"][0];
    assert_eq!(first["healthy"], false, "{r}");
    assert_eq!(container_cause(&r, "app"), "oom-killed", "{r}");
    assert!(
        first["containers"][0]["logs"]
            .to_string()
            .contains("warming cache"),
        "{r}"
    );
}

#[test]
fn live_job_target_and_label_selector() {
    let sim = static_sim();
    let (code, r, err) = live_json(&sim, &["job/nightly-report"]);
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(pod_cause(&r), "deadline-exceeded", "{r}");
    // The Job was read because the pod failed: its condition is part of the evidence.
    assert!(
        r["pods"][0]["verdict"]["evidence"]
            .to_string()
            .contains("Job was active longer than specified deadline"),
        "{r}"
    );
    assert_eq!(r["pods"][0]["owner"], "Job/nightly-report");

    // -l reports every matching pod, healthy ones too.
    let (code, r, err) = live_json(&sim, &["-l", "app=web"]);
    assert_eq!(code, Some(1), "{err}");
    let names = pod_names(&r);
    assert_eq!(names, vec!["web-7d4b9c-x2x8k"]);
    let (code, r, _) = live_json(&sim, &["-l", "app=nothing"]);
    assert_eq!(code, Some(0));
    assert_eq!(r["pods"], serde_json::json!([]));
    live(&sim)
        .args(["explain", "-l", "app=nothing"])
        .assert()
        .code(0)
        .stdout("no pods match app=nothing in namespace default\n");
}

#[test]
fn live_a_pod_caught_while_stopping_is_warned_about_sigkill() {
    let scenario = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: stubborn, namespace: default}
spec:
  replicas: 1
  selector: {matchLabels: {app: stubborn}}
  template:
    metadata:
      labels: {app: stubborn}
      annotations:
        kubesim.io/behavior: '{"app": {"readyAfter": "1s", "sigtermExit": "never"}}'
    spec:
      terminationGracePeriodSeconds: 120
      containers:
      - name: app
        image: shop/stubborn:1
        command: [sh, -c, "java -jar /app/app.jar"]
"#;
    let sim = Sim::with_scenario(scenario);
    let pod_name = || -> Option<String> {
        sim.list("v1", "Pod", Some("default"))
            .into_iter()
            .find(|p| p["status"]["containerStatuses"][0]["ready"] == true)
            .and_then(|p| p["metadata"]["name"].as_str().map(str::to_string))
    };
    assert!(sim.wait_until(Duration::from_secs(20), |_| pod_name().is_some()));
    let name = pod_name().expect("a ready pod");
    assert!(sim.delete("v1", "Pod", Some("default"), &name));
    let stopping = sim.wait_until(Duration::from_secs(10), |s| {
        s.list("v1", "Event", Some("default"))
            .iter()
            .any(|e| e["reason"] == "Killing" && e["involvedObject"]["name"] == name.as_str())
    });
    assert!(stopping, "the kubelet began stopping the pod");
    // 120s of sim time is 12s of real time: the pod is still there, its app still running.
    let (code, r, err) = live_json(&sim, &[&name]);
    assert_eq!(code, Some(1), "{err}");
    let c = &r["pods"][0]["containers"][0];
    assert_eq!(c["verdict"]["cause"], "terminating", "{r}");
    assert_eq!(c["verdict"]["severity"], "warning");
    let ev = c["verdict"]["evidence"].to_string();
    assert!(ev.contains("Stopping container app"), "{ev}");
    assert!(ev.contains("PID 1 is a shell"), "{ev}");
}

#[test]
fn live_several_targets_one_missing() {
    let sim = static_sim();
    let out = live(&sim)
        .args(["explain", "orders-0", "nope", "fine-1", "-o", "json"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("pod nope not found in namespace default"),
        "{stderr}"
    );
    let r: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let names = pod_names(&r);
    assert_eq!(names, vec!["orders-0", "fine-1"]);
}

#[test]
fn live_a_node_gone_not_ready_or_missing() {
    let text = std::fs::read_to_string(fixture("node-not-ready.yaml")).expect("fixture");
    let sim = Sim::with_scenario(&text);
    let (code, r, err) = live_json(&sim, &["stream-0"]);
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(pod_cause(&r), "node-lost", "{r}");
    let ev = r["pods"][0]["verdict"]["evidence"].to_string();
    assert!(
        ev.contains(
            "node node-9: Ready=Unknown NodeStatusUnknown: Kubelet stopped posting node status."
        ),
        "{ev}"
    );

    let (code, r, err) = live_json(&sim, &["orphan-0"]);
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(pod_cause(&r), "node-lost", "{r}");
    assert!(
        r["pods"][0]["verdict"]["evidence"]
            .to_string()
            .contains("node node-gone no longer exists"),
        "{r}"
    );

    // Without permission to read nodes, the section degrades to a note.
    let carol = sim.add_user("carol");
    sim.deny("carol", "get", "nodes");
    let (_, r, _) = json_with(&carol, &["stream-0"]);
    assert!(
        r["pods"][0]["notes"]
            .to_string()
            .contains("node node-9: forbidden"),
        "{r}"
    );
}
