//! restart's rollouts on kubesim, one per workload kind and strategy (Deployment, StatefulSet incl.
//! partition and OnDelete, DaemonSet, bare pods and --pods evictions), several targets in sequence or
//! in parallel, selectors, --dry-run; each checked against the pods and the real `kubectl rollout
//! status`.

use std::str::FromStr;
use std::time::Duration;

use super::common::*;
use serde_json::Value;

#[test]
fn healthy_deployment_restarts_and_returns_when_the_last_new_pod_is_ready() {
    let sim = start_settled(&[deployment("web", 3, "")], 40.0, &[("web", 3)]);
    let before = pod_uids(&sim, "web");
    let out = run(&sim, &["deploy/web"]).code(0);
    let value = assert_restarted(&sim, "Deployment", "web", 3);
    for p in pods_of(&sim, "web") {
        assert!(!before.contains(&p["metadata"]["uid"].as_str().unwrap().to_string()));
    }
    // kubectl's format: RFC 3339, seconds.
    assert!(jiff::Timestamp::from_str(&value).is_ok(), "{value}");
    let patch = sim
        .requests()
        .into_iter()
        .find(|r| r.method == "PATCH")
        .expect("a PATCH");
    assert!(patch.path.ends_with("/deployments/web"), "{}", patch.path);
    assert!(
        patch.query.contains("fieldManager=kubectl-graceful"),
        "{}",
        patch.query
    );
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(
        stdout.contains("deploy/web") && stdout.contains("Complete") && stdout.contains("3/3"),
        "{stdout}"
    );
    kubectl_rollout_status_agrees(&sim, "deploy/web");
}

fn ts(v: Option<&Value>) -> jiff::Timestamp {
    v.and_then(Value::as_str)
        .and_then(|s| s.parse().ok())
        .expect("timestamp")
}

fn ready_since(p: &Value) -> jiff::Timestamp {
    let c = p
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .unwrap()
        .iter()
        .find(|c| c["type"] == "Ready")
        .unwrap();
    ts(c.get("lastTransitionTime"))
}

#[test]
fn three_targets_restart_strictly_in_sequence() {
    let docs = ["a", "b", "c"].map(|n| deployment(n, 2, ""));
    let sim = start_settled(&docs, 40.0, &[("a", 2), ("b", 2), ("c", 2)]);
    let out = run(&sim, &["deploy/a", "deploy/b", "deploy/c", "-o", "json"]).code(0);
    let ev = events(&out.get_output().stdout);
    let order: Vec<(String, String)> = ev
        .iter()
        .filter(|e| matches!(e["type"].as_str(), Some("TargetStarted" | "TargetComplete")))
        .map(|e| {
            (
                e["type"].as_str().unwrap().to_string(),
                e["target"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let want: Vec<(String, String)> = ["a", "b", "c"]
        .iter()
        .flat_map(|t| {
            [
                ("TargetStarted".to_string(), format!("deploy/{t}")),
                ("TargetComplete".to_string(), format!("deploy/{t}")),
            ]
        })
        .collect();
    assert_eq!(order, want);
    for e in &ev {
        assert_eq!(e["apiVersion"], "graceful.kubectl.io/v1alpha1");
        assert_eq!(e["kind"], "RestartEvent");
    }
    assert_eq!(ev.last().unwrap()["type"], "Summary");
    // The simulator's clock: the next target's new pods were created only after every new pod of the
    // previous one was Ready.
    let patches: Vec<String> = writes(&sim)
        .into_iter()
        .filter(|(m, _)| m == "PATCH")
        .map(|(_, p)| p)
        .collect();
    assert_eq!(patches.len(), 3, "{patches:?}");
    assert!(
        patches[0].ends_with("/a") && patches[1].ends_with("/b") && patches[2].ends_with("/c"),
        "{patches:?}"
    );
    for (prev, next) in [("a", "b"), ("b", "c")] {
        let last_ready = pods_of(&sim, prev).iter().map(ready_since).max().unwrap();
        let first_created = pods_of(&sim, next)
            .iter()
            .map(|p| ts(p.pointer("/metadata/creationTimestamp")))
            .min()
            .unwrap();
        assert!(
            first_created >= last_ready,
            "{next} started at {first_created} before {prev} was Ready at {last_ready}"
        );
    }
}

#[test]
fn dry_run_sends_no_write() {
    let docs = [deployment("a", 2, ""), deployment("b", 1, "")];
    let sim = start_settled(&docs, 40.0, &[("a", 2)]);
    let out = run(&sim, &["-l", "tier=backend", "--dry-run"]).code(0);
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(
        stdout.contains("deploy/a") && stdout.contains("deploy/b"),
        "{stdout}"
    );
    assert!(stdout.contains("EXPECTED DISRUPTION"), "{stdout}");
    assert!(writes(&sim).is_empty(), "{:?}", writes(&sim));
    let out = run(&sim, &["deploy/a", "--dry-run", "-o", "json"]).code(0);
    let plan: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(plan["kind"], "RestartPlan");
    assert_eq!(plan["steps"][0]["target"], "deploy/a");
    assert!(writes(&sim).is_empty());
}

#[test]
fn statefulset_restarts_every_pod() {
    let sim = start(&statefulset("db", 3, "{type: RollingUpdate}"), 40.0, None);
    settle(&sim, "db", 3);
    run(&sim, &["sts/db"]).code(0);
    assert_restarted(&sim, "StatefulSet", "db", 3);
    kubectl_rollout_status_agrees(&sim, "sts/db");
}

#[test]
fn statefulset_partition_restarts_only_the_pods_above_it() {
    let sim = start(
        &statefulset(
            "db",
            3,
            "{type: RollingUpdate, rollingUpdate: {partition: 2}}",
        ),
        40.0,
        None,
    );
    settle(&sim, "db", 3);
    let out = run(&sim, &["sts/db"]).code(0);
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(stdout.contains("1/1"), "{stdout}");
    let w = sim.get("apps/v1", "StatefulSet", Some(NS), "db").unwrap();
    let value = restarted_at(&w).unwrap();
    for p in pods_of(&sim, "db") {
        let name = p["metadata"]["name"].as_str().unwrap().to_string();
        assert!(is_ready(&p), "{name}");
        let want = if name == "db-2" {
            Some(value.clone())
        } else {
            None
        };
        assert_eq!(restarted_at(&p), want, "{name}");
    }
    kubectl_rollout_status_agrees(&sim, "sts/db");
}

#[test]
fn daemonset_restarts_on_every_node() {
    let sim = start(&daemonset("agent", "{type: RollingUpdate}"), 40.0, Some(3));
    settle(&sim, "agent", 3);
    run(&sim, &["ds/agent"]).code(0);
    assert_restarted(&sim, "DaemonSet", "agent", 3);
    kubectl_rollout_status_agrees(&sim, "ds/agent");
}

#[test]
fn ondelete_statefulset_is_replaced_through_evictions_and_waits_on_the_pdb() {
    let docs = [
        statefulset("db", 3, "{type: OnDelete}"),
        pdb("db", "maxUnavailable: 1"),
    ];
    let sim = start_settled(&docs, 40.0, &[("db", 3)]);
    // The budget refuses the first two attempts: retried with back-off, the reason shown.
    sim.faults().fail("POST", "/eviction", 429, 2);
    let out = run(&sim, &["sts/db"]).code(0);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        stderr.contains("sts/db: eviction of pod db-2 refused (") && stderr.contains("retrying in"),
        "{stderr}"
    );
    assert_restarted(&sim, "StatefulSet", "db", 3);
    let evictions: Vec<String> = writes(&sim)
        .into_iter()
        .filter(|(m, p)| m == "POST" && p.ends_with("/eviction"))
        .map(|(_, p)| p)
        .collect();
    // Highest ordinal first, each pod once (plus the two refused attempts).
    let names: Vec<&str> = evictions
        .iter()
        .map(|p| p.rsplit('/').nth(1).unwrap())
        .collect();
    assert_eq!(
        names.iter().filter(|n| **n == "db-2").count(),
        3,
        "{names:?}"
    );
    assert_eq!(names.last(), Some(&"db-0"), "{names:?}");
    assert!(
        !writes(&sim).iter().any(|(m, _)| m == "DELETE"),
        "evictions only, no DELETE"
    );
}

#[test]
fn single_replica_behind_a_strict_pdb_is_reported_before_anything_starts() {
    let docs = [
        statefulset("db", 1, "{type: OnDelete}"),
        pdb("db", "minAvailable: 1"),
    ];
    let sim = start_settled(&docs, 40.0, &[("db", 1)]);
    let out = run(&sim, &["sts/db", "--force"]).code(1);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        stderr.contains("pdb-blocks-eviction") && stderr.contains("relax PodDisruptionBudget db"),
        "{stderr}"
    );
    assert!(writes(&sim).is_empty(), "{:?}", writes(&sim));
}

#[test]
fn pod_target_is_evicted_and_replaced() {
    let sim = start_settled(&[deployment("web", 2, "")], 40.0, &[("web", 2)]);
    let victim = pods_of(&sim, "web")[0]["metadata"]["name"]
        .as_str()
        .unwrap()
        .to_string();
    sim.clear_requests();
    run(&sim, &[&format!("pod/{victim}")]).code(0);
    let pods = pods_of(&sim, "web");
    assert_eq!(pods.len(), 2);
    assert!(pods.iter().all(is_ready));
    assert!(pods
        .iter()
        .all(|p| p["metadata"]["name"] != victim.as_str()));
    assert!(writes(&sim)
        .iter()
        .any(|(m, p)| m == "POST" && p.ends_with(&format!("/pods/{victim}/eviction"))));
}

#[test]
fn a_second_restart_within_the_same_second_still_restarts() {
    let sim = start_settled(&[deployment("web", 2, "")], 40.0, &[("web", 2)]);
    // The template already carries this second's value, as after `kubectl rollout restart` just now.
    let now = jiff::Zoned::now();
    let value = now
        .strftime("%Y-%m-%dT%H:%M:%S%:z")
        .to_string()
        .replace("+00:00", "Z");
    sim.apply_yaml(&deployment(
        "web",
        2,
        &format!("kubectl.kubernetes.io/restartedAt: '{value}'"),
    ))
    .unwrap();
    settle(&sim, "web", 2);
    let before = pod_uids(&sim, "web");
    run(&sim, &["deploy/web"]).code(0);
    let after = assert_restarted(&sim, "Deployment", "web", 2);
    assert_ne!(after, value);
    assert!(pod_uids(&sim, "web").iter().all(|u| !before.contains(u)));
}

#[test]
fn old_pods_still_terminating_are_waited_for_unlike_rollout_status() {
    // The old pods ignore SIGTERM and take their whole grace period to go: `kubectl rollout status` calls
    // the rollout complete while they still terminate; restart returns only once they are gone.
    let yaml = deployment(
        "web",
        3,
        r#"kubesim.io/behavior: '{"*": {"sigtermExit": "never"}}'"#,
    )
    .replace(
        "terminationGracePeriodSeconds: 5",
        "terminationGracePeriodSeconds: 40",
    );
    let sim = start(&yaml, 20.0, None);
    settle(&sim, "web", 3);
    run(&sim, &["deploy/web"]).code(0);
    let pods = pods_of(&sim, "web");
    assert!(
        pods.iter()
            .all(|p| p.pointer("/metadata/deletionTimestamp").is_none()),
        "an old pod was still terminating when restart returned: {pods:#?}"
    );
    assert_restarted(&sim, "Deployment", "web", 3);
}

#[test]
fn parallel_runs_targets_at_the_same_time() {
    let sim = start_settled(&[slow("a", 2), slow("b", 2)], 20.0, &[("a", 2), ("b", 2)]);
    let out = run(
        &sim,
        &["deploy/a", "deploy/b", "--parallel", "2", "-o", "json"],
    )
    .code(0);
    let kinds: Vec<String> = events(&out.get_output().stdout)
        .iter()
        .filter(|e| matches!(e["type"].as_str(), Some("TargetStarted" | "TargetComplete")))
        .map(|e| e["type"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(kinds[..2], ["TargetStarted", "TargetStarted"], "{kinds:?}");
    assert_restarted(&sim, "Deployment", "a", 2);
    assert_restarted(&sim, "Deployment", "b", 2);
}

#[test]
fn selector_and_all_pick_workloads_of_the_namespace() {
    let other =
        deployment("other", 1, "").replace("labels: {tier: backend}", "labels: {tier: frontend}");
    let yaml = [
        deployment("a", 1, ""),
        statefulset("db", 1, "{type: RollingUpdate}"),
        other,
    ]
    .join("\n---\n");
    let sim = start(&yaml, 40.0, None);
    settle(&sim, "a", 1);
    settle(&sim, "db", 1);
    settle(&sim, "other", 1);
    sim.clear_requests();
    run(&sim, &["-l", "tier=backend"]).code(0);
    let patched: Vec<String> = writes(&sim)
        .into_iter()
        .filter(|(m, _)| m == "PATCH")
        .map(|(_, p)| p)
        .collect();
    assert_eq!(patched.len(), 1, "{patched:?}");
    assert!(patched[0].ends_with("/deployments/a"));
    // --all: every workload; the 1-replica StatefulSet is a downtime risk that needs --force.
    let out = run(&sim, &["--all"]).code(1);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        stderr.contains("single-replica") && stderr.contains("--force"),
        "{stderr}"
    );
    sim.clear_requests();
    let out = run(&sim, &["--all", "--force"]).code(0);
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    for t in ["deploy/a", "deploy/other", "sts/db"] {
        assert!(stdout.contains(t), "{t}: {stdout}");
    }
    assert_eq!(writes(&sim).iter().filter(|(m, _)| m == "PATCH").count(), 3);
}

#[test]
fn bare_pod_is_evicted_and_created_again() {
    let yaml = r#"
apiVersion: v1
kind: Pod
metadata: {name: solo, namespace: default, labels: {app: solo}}
spec:
  containers:
  - name: app
    image: registry.example/solo:1
    readinessProbe: {httpGet: {path: /, port: 80}}
"#;
    let sim = start(yaml, 40.0, None);
    settle(&sim, "solo", 1);
    let old_uid = pods_of(&sim, "solo")[0]["metadata"]["uid"]
        .as_str()
        .unwrap()
        .to_string();
    // No controller: downtime until it runs again, so it needs --force.
    run(&sim, &["pod/solo"]).code(1);
    run(&sim, &["pod/solo", "--force"]).code(0);
    let pods = pods_of(&sim, "solo");
    assert_eq!(pods.len(), 1);
    assert!(is_ready(&pods[0]));
    assert_ne!(pods[0]["metadata"]["uid"].as_str().unwrap(), old_uid);
}

#[test]
fn ondelete_daemonset_is_replaced_node_by_node() {
    let sim = start(&daemonset("agent", "{type: OnDelete}"), 40.0, Some(2));
    settle(&sim, "agent", 2);
    sim.clear_requests();
    run(&sim, &["ds/agent"]).code(0);
    assert_restarted(&sim, "DaemonSet", "agent", 2);
    let evictions = writes(&sim)
        .into_iter()
        .filter(|(m, p)| m == "POST" && p.ends_with("/eviction"))
        .count();
    assert_eq!(evictions, 2);
}

#[test]
fn pods_mode_replaces_selected_pods_one_at_a_time() {
    let sim = start_settled(&[deployment("web", 3, "")], 40.0, &[("web", 3)]);
    let before = pod_uids(&sim, "web");
    let out = run(&sim, &["--pods", "-l", "app=web", "-o", "json"]).code(0);
    let ev = events(&out.get_output().stdout);
    let started = ev.iter().filter(|e| e["type"] == "TargetStarted").count();
    let complete = ev.iter().filter(|e| e["type"] == "TargetComplete").count();
    assert_eq!((started, complete), (3, 3));
    // One at a time: each pod's TargetComplete comes before the next TargetStarted.
    let seq: Vec<&str> = ev
        .iter()
        .filter_map(|e| e["type"].as_str())
        .filter(|t| t.starts_with("Target"))
        .collect();
    assert_eq!(seq, ["TargetStarted", "TargetComplete"].repeat(3));
    let pods = pods_of(&sim, "web");
    assert_eq!(pods.len(), 3);
    assert!(pods
        .iter()
        .all(|p| is_ready(p)
            && !before.contains(&p["metadata"]["uid"].as_str().unwrap().to_string())));
    assert!(
        !writes(&sim).iter().any(|(m, _)| m == "PATCH"),
        "pods mode does not patch the Deployment"
    );
}

#[test]
fn waiting_uses_watches_not_polling() {
    // A slow rollout (each new pod needs 20 sim-seconds, about 2 real seconds here): the number of plain
    // requests stays small and fixed; progress arrives on watches.
    let sim = start_settled(&[slow("web", 2)], 10.0, &[("web", 2)]);
    sim.clear_requests();
    let started = std::time::Instant::now();
    run(&sim, &["deploy/web"]).code(0);
    assert!(
        started.elapsed() > Duration::from_secs(2),
        "the rollout was meant to be slow"
    );
    let reqs = sim.requests();
    let plain: Vec<String> = reqs
        .iter()
        .filter(|r| !r.watch)
        .map(|r| format!("{} {}?{}", r.method, r.path, r.query))
        .collect();
    let watches = reqs.iter().filter(|r| r.watch).count();
    assert!(
        plain.len() <= 8,
        "{} plain requests: {plain:#?}",
        plain.len()
    );
    assert!(watches >= 2, "{watches} watches");
}

#[test]
fn evictions_use_the_same_credentials() {
    let sim = start_settled(&[deployment("web", 2, "")], 40.0, &[("web", 2)]);
    let victim = pods_of(&sim, "web")[0]["metadata"]["name"]
        .as_str()
        .unwrap()
        .to_string();
    let alice = sim.add_user("alice");
    sim.deny("alice", "create", "pods/eviction");
    let out = graceful()
        .args(["restart", &format!("pod/{victim}"), "--kubeconfig"])
        .arg(&alice)
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        stderr.contains("error: forbidden") && stderr.contains("alice"),
        "{stderr}"
    );
    assert!(sim
        .requests()
        .iter()
        .any(|r| r.user == "alice" && r.path.ends_with("/eviction") && r.status == 403));
}

#[test]
fn recreate_needs_force_and_then_completes() {
    let yaml = deployment("web", 2, "").replace(
        "strategy: {rollingUpdate: {maxSurge: 1, maxUnavailable: 0}}",
        "strategy: {type: Recreate}",
    );
    let sim = start(&yaml, 40.0, None);
    settle(&sim, "web", 2);
    let out = run(&sim, &["deploy/web"]).code(1);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(stderr.contains("[recreate-strategy]"), "{stderr}");
    run(&sim, &["deploy/web", "--force"]).code(0);
    assert_restarted(&sim, "Deployment", "web", 2);
    kubectl_rollout_status_agrees(&sim, "deploy/web");
}
