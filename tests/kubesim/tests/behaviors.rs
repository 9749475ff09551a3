//! Kubelet behaviours and controller strategies, checked on the objects.

use kubesim::scenarios::patched;
use kubesim::{Sim, SimOptions};
use serde_json::Value;
use std::time::Duration;

// Shared scenarios (tests/kubesim/tests/fixtures); a test states what it changes in them.
const WEB: &str = include_str!("fixtures/web.yaml");
const NEVER_READY_WEB: &str = include_str!("fixtures/never-ready-web.yaml");
const DB: &str = include_str!("fixtures/db.yaml");
const AGENT: &str = include_str!("fixtures/agent.yaml");

fn pod(sim: &Sim, name: &str) -> Value {
    sim.get("v1", "Pod", Some("default"), name)
        .unwrap_or_default()
}

fn events_for(sim: &Sim, name: &str) -> Vec<(String, String, i64)> {
    sim.list("v1", "Event", Some("default"))
        .into_iter()
        .filter(|e| e["involvedObject"]["name"] == name)
        .map(|e| {
            (
                e["reason"].as_str().unwrap().to_string(),
                e["message"].as_str().unwrap().to_string(),
                e["count"].as_i64().unwrap_or(1),
            )
        })
        .collect()
}

/// Whether one of `obj`'s status conditions satisfies `f`.
fn any_condition(obj: &Value, f: impl Fn(&Value) -> bool) -> bool {
    obj["status"]["conditions"]
        .as_array()
        .is_some_and(|cs| cs.iter().any(f))
}

/// Writes `obj` back as a client that changed its spec would: without its resourceVersion and
/// its status (an object given with a status is served as loaded, and controllers leave it alone).
fn write_back(sim: &Sim, mut obj: Value) {
    let o = obj.as_object_mut().unwrap();
    o.remove("status");
    o["metadata"]
        .as_object_mut()
        .unwrap()
        .remove("resourceVersion");
    sim.apply_yaml(&obj.to_string()).unwrap();
}

const PODS: &str = include_str!("fixtures/kubelet-behaviours.yaml");

#[test]
fn kubelet_behaviours() {
    let sim = Sim::with_scenario_at(PODS, 20.0);
    assert!(sim.wait_until(Duration::from_secs(15), |s| {
        pod(s, "live")["status"]["containerStatuses"][0]["restartCount"]
            .as_i64()
            .unwrap_or(0)
            >= 1
            && pod(s, "job")["status"]["phase"] == "Failed"
            && pod(s, "init")["status"]["phase"] == "Running"
    }));
    // A liveness kill is the normal stop (kuberuntime_container.go killContainer): the app
    // handles SIGTERM at once by default, so exit 0.
    let live = pod(&sim, "live");
    let last = &live["status"]["containerStatuses"][0]["lastState"]["terminated"];
    assert_eq!(last["exitCode"], 0, "{live:#}");
    assert_eq!(last["reason"], "Completed");
    let ev = events_for(&sim, "live");
    assert!(ev
        .iter()
        .any(|(r, m, _)| r == "Killing"
            && m == "Container app failed liveness probe, will be restarted"));
    assert!(ev
        .iter()
        .any(|(r, m, c)| r == "Unhealthy" && m.starts_with("Liveness probe failed: ") && *c >= 3));

    assert!(
        sim.wait_until(Duration::from_secs(10), |s| pod(s, "slow")["status"]
            ["containerStatuses"][0]["restartCount"]
            .as_i64()
            .unwrap_or(0)
            >= 1)
    );
    let ev = events_for(&sim, "slow");
    assert!(
        ev.iter().any(|(r, m, _)| r == "Killing"
            && m == "Container app failed startup probe, will be restarted"),
        "{ev:?}"
    );
    assert!(ev
        .iter()
        .any(|(r, m, _)| r == "Unhealthy" && m.starts_with("Startup probe failed: ")));
    assert_eq!(
        pod(&sim, "slow")["status"]["containerStatuses"][0]["started"],
        false
    );
    assert!(
        sim.wait_until(Duration::from_secs(10), |s| pod(s, "deadline")["status"]
            ["reason"]
            == "DeadlineExceeded"
            && pod(s, "hook")["status"]["containerStatuses"][0]["restartCount"]
                .as_i64()
                .unwrap_or(0)
                >= 1)
    );
    let dl = pod(&sim, "deadline");
    assert_eq!(dl["status"]["phase"], "Failed");
    assert_eq!(
        dl["status"]["message"],
        "Pod was active on the node longer than the specified deadline"
    );
    assert_eq!(
        dl["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"],
        137
    );
    assert!(events_for(&sim, "deadline")
        .iter()
        .any(|(r, _, _)| r == "DeadlineExceeded"));
    let ev = events_for(&sim, "hook");
    assert!(
        ev.iter()
            .any(|(r, m, _)| r == "FailedPostStartHook" && m == "PostStartHook failed"),
        "{ev:?}"
    );
    let before = sim.list("v1", "Event", None).len();
    assert!(before > 0);
    assert_eq!(sim.expire_events(Duration::from_secs(3600)), 0);
    let pull = pod(&sim, "pull");
    let w = pull["status"]["containerStatuses"][0]["state"]["waiting"]["reason"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(w == "ImagePullBackOff" || w == "ErrImagePull", "{w}");
    assert_eq!(pull["status"]["phase"], "Pending");
    assert!(events_for(&sim, "pull")
        .iter()
        .any(|(r, m, _)| r == "Failed" && m == "Failed to pull image \"app:9\": not found"));

    let cfg = pod(&sim, "cfg");
    assert_eq!(
        cfg["status"]["containerStatuses"][0]["state"]["waiting"]["reason"],
        "CreateContainerConfigError"
    );
    assert_eq!(
        cfg["status"]["containerStatuses"][0]["state"]["waiting"]["message"],
        "secret \"db-pass\" not found"
    );

    let init = pod(&sim, "init");
    assert_eq!(
        init["status"]["initContainerStatuses"][0]["state"]["terminated"]["reason"],
        "Completed"
    );
    assert!(any_condition(&init, |c| c["type"] == "Initialized"
        && c["status"] == "True"));

    let n = sim.expire_events(Duration::ZERO);
    assert!(n >= before, "{n} < {before}");
    assert!(sim
        .list("v1", "Event", None)
        .iter()
        .all(|e| e["reason"] != "Scheduled"));
    assert!(sim
        .list("events.k8s.io/v1", "Event", None)
        .iter()
        .all(|e| e["reason"] != "Scheduled"));
    let job = pod(&sim, "job");
    let t = &job["status"]["containerStatuses"][0]["state"]["terminated"];
    assert_eq!(t["exitCode"], 3);
    assert_eq!(t["reason"], "Error");
    assert_eq!(t["message"], "bad input");
    assert_eq!(job["status"]["containerStatuses"][0]["restartCount"], 0);
}

#[test]
fn node_pressure_eviction_and_replacement() {
    let yaml = patched(WEB, "spec: {replicas: 2}");
    let sim = Sim::with_scenario_at(&yaml, 20.0);
    assert!(sim.wait_until(Duration::from_secs(10), |s| s
        .get("apps/v1", "Deployment", None, "web")
        .unwrap()["status"]["availableReplicas"]
        == 2));
    let victim = sim.list("v1", "Pod", None)[0]["metadata"]["name"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(sim.evict_for_node_pressure("default", &victim, "memory"));
    assert!(
        sim.wait_until(Duration::from_secs(10), |s| s.list("v1", "Pod", None).len()
            == 3
            && s.get("apps/v1", "Deployment", None, "web").unwrap()["status"]
                ["availableReplicas"]
                == 2)
    );
    let p = pod(&sim, &victim);
    assert_eq!(p["status"]["phase"], "Failed");
    assert_eq!(p["status"]["reason"], "Evicted");
    assert!(p["status"]["message"]
        .as_str()
        .unwrap()
        .starts_with("The node was low on resource: memory."));
    assert_eq!(
        p["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"],
        137
    );
    assert!(events_for(&sim, &victim)
        .iter()
        .any(|(r, _, _)| r == "Evicted"));
    // node shutdown
    let other = sim
        .list("v1", "Pod", None)
        .into_iter()
        .find(|p| p["status"]["phase"] == "Running")
        .unwrap();
    let (oname, onode) = (
        other["metadata"]["name"].as_str().unwrap().to_string(),
        other["spec"]["nodeName"].as_str().unwrap().to_string(),
    );
    assert!(sim.terminate_for_node_shutdown("default", &oname));
    let p = pod(&sim, &oname);
    assert_eq!(p["status"]["reason"], "Terminated");
    assert_eq!(
        p["status"]["message"],
        "Pod was terminated in response to imminent node shutdown."
    );
    assert!(any_condition(&p, |c| c["type"] == "DisruptionTarget"
        && c["reason"] == "TerminationByKubelet"));
    let n = sim.get("v1", "Node", None, &onode).unwrap();
    assert!(any_condition(&n, |c| c["type"] == "Ready" && c["status"] == "Unknown"));
    // the replacement lands on a Ready node
    assert!(sim.wait_until(Duration::from_secs(10), |s| s
        .get("apps/v1", "Deployment", None, "web")
        .unwrap()["status"]["availableReplicas"]
        == 2));
    assert!(sim
        .list("v1", "Pod", None)
        .iter()
        .filter(|p| p["status"]["phase"] == "Running")
        .all(|p| p["spec"]["nodeName"] != onode.as_str()));
}

#[test]
fn recreate_paused_and_ondelete() {
    let web = patched(WEB, "spec: {replicas: 2, strategy: {type: Recreate}}");
    let db = patched(DB, "spec: {replicas: 2, updateStrategy: {type: OnDelete}}");
    let sim = Sim::with_scenario_at(&format!("{web}---\n{db}"), 25.0);
    let avail = |s: &Sim, n: i64| {
        s.get("apps/v1", "Deployment", None, "web").unwrap()["status"]["availableReplicas"] == n
    };
    assert!(sim.wait_until(Duration::from_secs(10), |s| avail(s, 2)));
    assert!(sim.wait_until(Duration::from_secs(10), |s| s
        .get("apps/v1", "StatefulSet", None, "db")
        .unwrap()["status"]["readyReplicas"]
        == 2));
    // Recreate: all old pods go before new ones are created
    sim.apply_yaml(&web.replace("nginx:1.27", "app:2")).unwrap();
    let saw_mixed = std::cell::Cell::new(false);
    let ok = sim.wait_until(Duration::from_secs(15), |s| {
        let imgs: std::collections::HashSet<String> = s
            .list("v1", "Pod", None)
            .iter()
            .filter(|p| p["metadata"]["labels"]["app"] == "web")
            .map(|p| {
                p["spec"]["containers"][0]["image"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        if imgs.len() > 1 {
            saw_mixed.set(true);
        }
        avail(s, 2) && imgs.len() == 1 && imgs.contains("app:2")
    });
    assert!(ok);
    assert_eq!(
        sim.get("apps/v1", "Deployment", None, "web").unwrap()["metadata"]["generation"],
        2
    );
    assert!(
        !saw_mixed.get(),
        "Recreate must not run old and new pods together"
    );
    // paused: template change does not roll
    let d = sim.get("apps/v1", "Deployment", None, "web").unwrap();
    let mut d2 = d.clone();
    d2["spec"]["paused"] = true.into();
    d2["spec"]["template"]["spec"]["containers"][0]["image"] = "app:3".into();
    write_back(&sim, d2);
    std::thread::sleep(Duration::from_millis(500));
    assert!(sim
        .list("v1", "Pod", None)
        .iter()
        .filter(|p| p["metadata"]["labels"]["app"] == "web")
        .all(|p| p["spec"]["containers"][0]["image"] == "app:2"));
    let d = sim.get("apps/v1", "Deployment", None, "web").unwrap();
    assert!(any_condition(&d, |c| c["reason"] == "DeploymentPaused"));
    // OnDelete: a template change does nothing until a pod is deleted
    let s0 = sim.get("apps/v1", "StatefulSet", None, "db").unwrap();
    let mut s1 = s0.clone();
    s1["spec"]["template"]["spec"]["containers"][0]["image"] = "db:2".into();
    write_back(&sim, s1);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(pod(&sim, "db-1")["spec"]["containers"][0]["image"], "db:1");
    assert!(sim.delete("v1", "Pod", Some("default"), "db-1"));
    assert!(
        sim.wait_until(Duration::from_secs(10), |s| pod(s, "db-1")["spec"]
            ["containers"][0]["image"]
            == "db:2"
            && pod(s, "db-1")["status"]["phase"] == "Running")
    );
    assert_eq!(pod(&sim, "db-0")["spec"]["containers"][0]["image"], "db:1");
    let s = sim.get("apps/v1", "StatefulSet", None, "db").unwrap();
    assert_ne!(
        s["status"]["currentRevision"],
        s["status"]["updateRevision"]
    );
    assert_eq!(s["status"]["updatedReplicas"], 1);
}

#[test]
fn static_deployment_rolls_after_restart() {
    let sim = Sim::with_scenario_at(include_str!("fixtures/static-web.yaml"), 25.0);
    std::thread::sleep(Duration::from_millis(300));
    // served as loaded
    let d = sim
        .get("apps/v1", "Deployment", Some("shop"), "web")
        .unwrap();
    assert_eq!(d["status"]["observedGeneration"], 4);
    assert_eq!(sim.list("apps/v1", "ReplicaSet", Some("shop")).len(), 1);
    // a template change (what rollout restart does) hands it to the controllers
    let mut d2 = d.clone();
    d2["spec"]["template"]["metadata"]["annotations"] =
        serde_json::json!({"kubectl.kubernetes.io/restartedAt": "2025-01-01T11:00:00Z"});
    write_back(&sim, d2);
    assert!(sim.wait_until(Duration::from_secs(15), |s| {
        let d = s.get("apps/v1", "Deployment", Some("shop"), "web").unwrap();
        d["status"]["updatedReplicas"] == 2
            && d["status"]["availableReplicas"] == 2
            && d["status"]["replicas"] == 2
            && s.get("v1", "Pod", Some("shop"), "web-abc-0").is_none()
            && s.get("v1", "Pod", Some("shop"), "web-abc-1").is_none()
    }));
    let d = sim
        .get("apps/v1", "Deployment", Some("shop"), "web")
        .unwrap();
    assert_eq!(
        d["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
        "5"
    );
    assert_eq!(
        sim.get("apps/v1", "ReplicaSet", Some("shop"), "web-abc")
            .unwrap()["spec"]["replicas"],
        0
    );
    let evs = sim.list("v1", "Event", Some("shop"));
    assert!(evs
        .iter()
        .any(|e| e["involvedObject"]["name"] == "web-abc-0" && e["reason"] == "Killing"));
}

/// Objects given with a status are served as loaded: no controller creates pods for them or
/// rewrites their status.
#[test]
fn no_controller_touches_a_static_object() {
    let service = "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: default}\nspec: {selector: {app: web}, ports: [{port: 80}]}\n";
    let pdb = "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: web, namespace: default}\nspec: {minAvailable: 1, selector: {matchLabels: {app: web}}}\n";
    let statics = [
        ("Deployment", "web", patched(WEB, "status: {replicas: 7}")),
        ("StatefulSet", "db", patched(DB, "status: {replicas: 7}")),
        (
            "DaemonSet",
            "agent",
            patched(AGENT, "status: {numberReady: 7}"),
        ),
        (
            "Job",
            "fails",
            patched(
                include_str!("fixtures/failing-job.yaml"),
                "status: {active: 7}",
            ),
        ),
        (
            "PodDisruptionBudget",
            "web",
            patched(pdb, "status: {currentHealthy: 7}"),
        ),
        (
            "Service",
            "web",
            patched(
                service,
                "status: {loadBalancer: {ingress: [{ip: 10.0.0.7}]}}",
            ),
        ),
    ];
    let yaml: Vec<&str> = statics.iter().map(|(_, _, y)| y.as_str()).collect();
    let sim = Sim::with_scenario_at(&yaml.join("---\n"), 20.0);
    let status = |kind: &str, name: &str| match kind {
        "Service" => sim.get("v1", kind, None, name).unwrap()["status"].clone(),
        _ => get(&sim, kind, name)["status"].clone(),
    };
    let before: Vec<Value> = statics.iter().map(|(k, n, _)| status(k, n)).collect();
    // Some passes of every controller (one every 250 ms, and after each change).
    std::thread::sleep(Duration::from_millis(1500));
    let after: Vec<Value> = statics.iter().map(|(k, n, _)| status(k, n)).collect();
    assert_eq!(before, after);
    assert!(sim.list("v1", "Pod", None).is_empty());
    assert!(sim.list("apps/v1", "ReplicaSet", None).is_empty());
    assert!(sim.list("apps/v1", "ControllerRevision", None).is_empty());
    assert!(sim.get("v1", "Endpoints", Some("default"), "web").is_none());
}

#[test]
fn clock_controls_and_exceeded_grace_period() {
    let yaml = format!(
        "{}---\n{}",
        patched(NEVER_READY_WEB, "spec: {progressDeadlineSeconds: 600}"),
        include_str!("fixtures/stuck-pod.yaml")
    );
    let sim = Sim::with_scenario_at(&yaml, 10.0);
    assert!(sim.wait_until(Duration::from_secs(10), |s| s
        .get("apps/v1", "Deployment", None, "web")
        .unwrap()["status"]["availableReplicas"]
        == 1
        && pod(s, "stuck")["status"]["phase"] == "Running"));
    // bad release: the 600 s deadline passes at once with advance()
    let mut d = sim.get("apps/v1", "Deployment", None, "web").unwrap();
    d["spec"]["template"]["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"] =
        "now".into();
    write_back(&sim, d);
    std::thread::sleep(Duration::from_millis(300));
    let before = sim.now();
    sim.advance(Duration::from_secs(601));
    assert!(sim.now().duration_since(before).as_secs() >= 601);
    assert!(sim.wait_until(Duration::from_secs(5), |s| any_condition(
        &s.get("apps/v1", "Deployment", None, "web").unwrap(),
        |c| c["reason"] == "ProgressDeadlineExceeded"
    )));
    // a faster clock
    sim.set_time_scale(100.0);
    assert_eq!(sim.time_scale(), 100.0);
    assert!(sim.delete("v1", "Pod", Some("default"), "stuck"));
    assert!(sim.wait_until(Duration::from_secs(5), |s| s
        .get("v1", "Pod", None, "stuck")
        .is_none()));
    assert!(events_for(&sim, "stuck")
        .iter()
        .any(|(r, m, _)| r == "ExceededGracePeriod"
            && m == "Container runtime did not kill the pod within specified grace period."));
}

#[test]
fn jobs_complete_or_fail() {
    let sim = Sim::with_scenario_at(include_str!("fixtures/jobs.yaml"), 20.0);
    let cond = |s: &Sim, j: &str, t: &str| {
        let job = s.get("batch/v1", "Job", None, j).unwrap();
        any_condition(&job, |c| c["type"] == t && c["status"] == "True")
    };
    assert!(
        sim.wait_until(Duration::from_secs(15), |s| cond(s, "ok", "Complete")
            && cond(s, "bad", "Failed"))
    );
    let ok = sim.get("batch/v1", "Job", None, "ok").unwrap();
    assert_eq!(ok["status"]["succeeded"], 2);
    let bad = sim.get("batch/v1", "Job", None, "bad").unwrap();
    assert_eq!(bad["status"]["failed"], 2);
    let c = bad["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "Failed")
        .unwrap()
        .clone();
    assert_eq!(c["reason"], "BackoffLimitExceeded");
    let pods: Vec<Value> = sim
        .list("v1", "Pod", None)
        .into_iter()
        .filter(|p| p["metadata"]["labels"]["job-name"] == "bad")
        .collect();
    assert_eq!(pods.len(), 2);
    assert!(pods.iter().all(|p| p["status"]["phase"] == "Failed"
        && p["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 2));
}

#[test]
fn service_endpoints_follow_readiness() {
    let service = "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: default}\nspec: {selector: {app: web}, ports: [{name: http, port: 80, targetPort: 8080}]}\n";
    let yaml = format!("{service}---\n{}", patched(WEB, "spec: {replicas: 2}"));
    let sim = Sim::with_scenario_at(&yaml, 20.0);
    let addrs = |s: &Sim, k: &str| {
        s.get("v1", "Endpoints", None, "web")
            .map(|e| e["subsets"][0][k].as_array().map(|a| a.len()).unwrap_or(0))
            .unwrap_or(0)
    };
    assert!(sim.wait_until(Duration::from_secs(10), |s| addrs(s, "addresses") == 2));
    let e = sim.get("v1", "Endpoints", None, "web").unwrap();
    assert_eq!(e["subsets"][0]["ports"][0]["port"], 8080);
    assert!(
        sim.get("v1", "Service", None, "web").unwrap()["spec"]["clusterIP"]
            .as_str()
            .unwrap()
            .starts_with("10.96.")
    );
    let victim = sim.list("v1", "Pod", None)[0]["metadata"]["name"]
        .as_str()
        .unwrap()
        .to_string();
    sim.delete("v1", "Pod", Some("default"), &victim);
    assert!(
        sim.wait_until(Duration::from_secs(5), |s| addrs(s, "addresses") <= 2
            && s.get("v1", "Endpoints", None, "web").unwrap()["subsets"][0]
                ["addresses"]
                .as_array()
                .unwrap()
                .iter()
                .all(|a| a["targetRef"]["name"] != victim.as_str()))
    );
}

/// The complete example in README.md does what the README says.
#[test]
fn readme_example_scenario() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let start_i = readme.find("```yaml\n").expect("yaml block") + 8;
    let end_i = start_i + readme[start_i..].find("```").unwrap();
    let sim = Sim::with_scenario_at(&readme[start_i..end_i], 30.0);
    let dep = |s: &Sim| s.get("apps/v1", "Deployment", Some("shop"), "web").unwrap();
    assert!(sim.wait_until(Duration::from_secs(15), |s| dep(s)["status"]
        ["availableReplicas"]
        == 3));
    // the static pod and its previous log
    let p = sim.get("v1", "Pod", Some("shop"), "api-0").unwrap();
    assert_eq!(p["status"]["containerStatuses"][0]["restartCount"], 5);
    assert_eq!(
        sim.list("v1", "Event", Some("shop"))
            .iter()
            .filter(|e| e["involvedObject"]["name"] == "api-0")
            .count(),
        1
    );
    // a restart rolls out the bad release: new pods crash-loop, OOMKilled 137
    let mut d = dep(&sim);
    d["spec"]["template"]["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"] =
        "2025-03-01T11:00:00Z".into();
    write_back(&sim, d);
    assert!(sim.wait_until(Duration::from_secs(15), |s| s
        .list("v1", "Pod", Some("shop"))
        .iter()
        .any(|p| {
            let t = &p["status"]["containerStatuses"][0]["lastState"]["terminated"];
            t["reason"] == "OOMKilled"
                && t["exitCode"] == 137
                && t["message"] == "java.lang.OutOfMemoryError"
        })));
    // new pods are Ready after 2s and crash after 5s: the rollout goes through, then they crash-loop
    assert!(sim.wait_until(Duration::from_secs(15), |s| s
        .list("v1", "Pod", Some("shop"))
        .iter()
        .any(|p| {
            p["status"]["containerStatuses"][0]["state"]["waiting"]["reason"] == "CrashLoopBackOff"
        })));
}

#[test]
fn revision_history_limit_cleans_old_replicasets() {
    let yaml = patched(
        WEB,
        "spec: {replicas: 1, revisionHistoryLimit: 1, template: {spec: {terminationGracePeriodSeconds: 1}}}",
    );
    let sim = Sim::with_scenario_at(&yaml, 30.0);
    assert!(sim.wait_until(Duration::from_secs(10), |s| s
        .get("apps/v1", "Deployment", None, "web")
        .unwrap()["status"]["availableReplicas"]
        == 1));
    for i in 1..=3 {
        sim.apply_yaml(&yaml.replace("nginx:1.27", &format!("app:{i}")))
            .unwrap();
        assert!(sim.wait_until(Duration::from_secs(10), |s| {
            let d = s.get("apps/v1", "Deployment", None, "web").unwrap();
            d["status"]["observedGeneration"] == d["metadata"]["generation"]
                && d["metadata"]["generation"] == i + 1
                && d["status"]["updatedReplicas"] == 1
                && d["status"]["availableReplicas"] == 1
                && d["status"]["replicas"] == 1
        }));
    }
    assert!(sim.wait_until(Duration::from_secs(10), |s| s
        .list("apps/v1", "ReplicaSet", None)
        .len()
        == 2));
    let d = sim.get("apps/v1", "Deployment", None, "web").unwrap();
    assert_eq!(
        d["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
        "4"
    );
}

/// The "first template" of a workload is the one it was created with, even when it changes before
/// the controllers ever ran.
#[test]
fn rollout_behavior_applies_to_any_later_template() {
    let sim = Sim::with_scenario_at(NEVER_READY_WEB, 20.0);
    sim.apply_yaml(&NEVER_READY_WEB.replace("nginx:1.27", "app:2"))
        .unwrap();
    assert!(sim.wait_until(Duration::from_secs(10), |s| s
        .list("v1", "Pod", None)
        .iter()
        .any(|p| p["spec"]["containers"][0]["image"] == "app:2"
            && p["metadata"]["annotations"]["kubesim.io/behavior"]
                == r#"{"neverReady": true}"#
            && p["status"]["phase"] == "Running")));
    std::thread::sleep(Duration::from_millis(300));
    let pods = sim.list("v1", "Pod", None);
    assert!(
        pods.iter()
            .all(|p| p["status"]["containerStatuses"][0]["ready"] == false),
        "{pods:?}"
    );
}

/// The message of the scheduler's FailedScheduling event for pod `name`, once there is one.
fn failed_scheduling(sim: &Sim, name: &str) -> String {
    let find = |s: &Sim| {
        events_for(s, name)
            .into_iter()
            .find_map(|(reason, msg, _)| (reason == "FailedScheduling").then_some(msg))
    };
    assert!(sim.wait_until(Duration::from_secs(5), |s| find(s).is_some()));
    find(sim).unwrap()
}

#[test]
fn unschedulable_pods() {
    let yaml = r#"
apiVersion: v1
kind: Pod
metadata: {name: picky}
spec:
  nodeSelector: {disktype: ssd}
  containers: [{name: app, image: "app:1"}]
"#;
    let sim = Sim::with_scenario_at(yaml, 20.0);
    assert_eq!(failed_scheduling(&sim, "picky"), "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.");
    let p = pod(&sim, "picky");
    assert_eq!(p["status"]["phase"], "Pending");
    let c = &p["status"]["conditions"][0];
    assert_eq!(
        (
            c["type"].as_str(),
            c["status"].as_str(),
            c["reason"].as_str()
        ),
        (Some("PodScheduled"), Some("False"), Some("Unschedulable"))
    );
    // too big for any node
    sim.apply_yaml("apiVersion: v1\nkind: Pod\nmetadata: {name: huge}\nspec:\n  containers: [{name: app, image: \"app:1\", resources: {requests: {memory: 512Gi}}}]\n").unwrap();
    assert_eq!(failed_scheduling(&sim, "huge"), "0/3 nodes are available: 3 Insufficient memory. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.");
    // label a node: it gets scheduled
    let mut n = sim.get("v1", "Node", None, "node-2").unwrap();
    n["metadata"]["labels"]["disktype"] = "ssd".into();
    n["metadata"]
        .as_object_mut()
        .unwrap()
        .remove("resourceVersion");
    sim.apply_yaml(&serde_json::to_string(&n).unwrap()).unwrap();
    assert!(
        sim.wait_until(Duration::from_secs(5), |s| pod(s, "picky")["status"]
            ["phase"]
            == "Running")
    );
    assert_eq!(pod(&sim, "picky")["spec"]["nodeName"], "node-2");
}

#[test]
fn statefulset_partition() {
    let yaml = patched(
        DB,
        "spec: {updateStrategy: {type: RollingUpdate, rollingUpdate: {partition: 2}}}",
    );
    let sim = Sim::with_scenario_at(&yaml, 30.0);
    let sts = |s: &Sim| s.get("apps/v1", "StatefulSet", None, "db").unwrap();
    assert!(sim.wait_until(Duration::from_secs(10), |s| sts(s)["status"]
        ["readyReplicas"]
        == 3));
    assert_eq!(
        pod(&sim, "db-1")["metadata"]["labels"]["apps.kubernetes.io/pod-index"],
        "1"
    );
    sim.apply_yaml(&yaml.replace("db:1", "db:2")).unwrap();
    assert!(sim.wait_until(Duration::from_secs(10), |s| sts(s)["status"]
        ["updatedReplicas"]
        == 1
        && sts(s)["status"]["readyReplicas"] == 3
        && pod(s, "db-2")["spec"]["containers"][0]["image"] == "db:2"));
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(pod(&sim, "db-0")["spec"]["containers"][0]["image"], "db:1");
    assert_eq!(pod(&sim, "db-1")["spec"]["containers"][0]["image"], "db:1");
    let s = sts(&sim);
    assert_ne!(
        s["status"]["currentRevision"],
        s["status"]["updateRevision"]
    );
    assert_eq!(s["status"]["currentReplicas"], 2);
    // scale down removes the highest ordinal
    sim.apply_yaml(
        &yaml
            .replace("db:1", "db:2")
            .replace("replicas: 3", "replicas: 2"),
    )
    .unwrap();
    assert!(sim.wait_until(Duration::from_secs(10), |s| s
        .get("v1", "Pod", None, "db-2")
        .is_none()
        && sts(s)["status"]["replicas"] == 2));
}

#[test]
fn native_sidecar_stops_after_app() {
    let sim = Sim::with_scenario_at(include_str!("fixtures/meshed-pod.yaml"), 10.0);
    assert!(sim.wait_until(Duration::from_secs(10), |s| any_condition(
        &pod(s, "meshed"),
        |c| c["type"] == "Ready" && c["status"] == "True"
    )));
    assert_eq!(
        pod(&sim, "meshed")["status"]["initContainerStatuses"][0]["started"],
        true
    );
    assert!(sim.delete("v1", "Pod", Some("default"), "meshed"));
    // app terminated while the sidecar still runs
    assert!(sim.wait_until(Duration::from_secs(10), |s| {
        let p = pod(s, "meshed");
        p["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 0
            && p["status"]["initContainerStatuses"][0]["state"]["running"].is_object()
    }));
    assert!(sim.wait_until(Duration::from_secs(10), |s| s
        .get("v1", "Pod", None, "meshed")
        .is_none()));
}

// ---------- controllers as upstream (the conformance suite compares them with the real ones) ----------

fn restarted(yaml: &str) -> String {
    // A new template, as `kubectl rollout restart` makes one.
    yaml.replace(
        "annotations: {}",
        "annotations: {kubectl.kubernetes.io/restartedAt: \"2026-01-01T00:00:00Z\"}",
    )
}

fn get(sim: &Sim, kind: &str, name: &str) -> Value {
    let av = if kind == "PodDisruptionBudget" {
        "policy/v1"
    } else if kind == "Job" {
        "batch/v1"
    } else {
        "apps/v1"
    };
    sim.get(av, kind, Some("default"), name).unwrap_or_default()
}

const SURGING: &str = include_str!("fixtures/surging-web.yaml");

#[test]
fn a_pdb_expects_the_owners_scale_during_a_surge() {
    // disruption.go getExpectedScale: 3 from the Deployment, whatever the surge adds.
    let sim = Sim::with_scenario_at(SURGING, 10.0);
    assert!(sim.wait_until(Duration::from_secs(15), |s| {
        get(s, "PodDisruptionBudget", "web")["status"]["currentHealthy"] == 3
    }));
    sim.apply_yaml(&restarted(SURGING)).unwrap();
    let surged = std::cell::Cell::new(false);
    assert!(sim.wait_until(Duration::from_secs(20), |s| {
        let pods = s.list("v1", "Pod", Some("default")).len();
        surged.set(surged.get() || pods > 3);
        let pdb = get(s, "PodDisruptionBudget", "web");
        assert_eq!(pdb["status"]["expectedPods"], 3, "{pdb:#}");
        assert_eq!(pdb["status"]["desiredHealthy"], 2, "{pdb:#}");
        surged.get() && get(s, "Deployment", "web")["status"]["updatedReplicas"] == 3 && pods == 3
    }));
}

#[test]
fn a_replaced_pod_after_a_rollout_is_no_progress_deadline() {
    // progress.go: with the new ReplicaSet complete, no progress is estimated.
    let slow = SURGING.replace(
        "annotations: {}",
        "annotations: {kubesim.io/behavior: '{startDelay: 1s, readyAfter: 8s}'}",
    );
    let sim = Sim::with_scenario_at(&slow, 20.0);
    assert!(sim.wait_until(Duration::from_secs(20), |s| {
        any_condition(&get(s, "Deployment", "web"), |c| {
            c["reason"] == "NewReplicaSetAvailable"
        })
    }));
    let victim = sim.list("v1", "Pod", Some("default"))[0]["metadata"]["name"]
        .as_str()
        .unwrap()
        .to_string();
    sim.delete("v1", "Pod", Some("default"), &victim);
    // The replacement needs 9 s, beyond the 5 s deadline.
    sim.advance(Duration::from_secs(1));
    assert!(!sim.wait_until(Duration::from_millis(800), |s| {
        any_condition(&get(s, "Deployment", "web"), |c| {
            c["type"] == "Progressing" && c["reason"] != "NewReplicaSetAvailable"
        })
    }));
}

#[test]
fn a_daemonset_with_max_surge_starts_the_new_pod_before_the_old_one_goes() {
    // update.go rollingUpdate: never a node without an available pod.
    let agent = patched(
        AGENT,
        "spec: {updateStrategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 1, maxUnavailable: 0}}}",
    );
    let sim = Sim::with_scenario_at(&agent, 10.0);
    let available = |s: &Sim| get(s, "DaemonSet", "agent")["status"]["numberAvailable"].clone();
    assert!(sim.wait_until(Duration::from_secs(15), |s| available(s) == 3));
    sim.apply_yaml(&restarted(&agent)).unwrap();
    let two_on_a_node = std::cell::Cell::new(false);
    assert!(sim.wait_until(Duration::from_secs(30), |s| {
        let pods = s.list("v1", "Pod", Some("default"));
        for n in ["node-1", "node-2", "node-3"] {
            let on: Vec<&Value> = pods
                .iter()
                .filter(|p| kubesim::scheduler::target_node(p) == n)
                .collect();
            assert!(!on.is_empty(), "{n} without a daemon pod: {pods:#?}");
            two_on_a_node.set(two_on_a_node.get() || on.len() == 2);
        }
        let ds = get(s, "DaemonSet", "agent");
        let st = &ds["status"];
        st["observedGeneration"] == ds["metadata"]["generation"]
            && st["updatedNumberScheduled"] == 3
            && st["numberAvailable"] == 3
            && pods.len() == 3
    }));
    assert!(two_on_a_node.get(), "the surge never showed");
}

#[test]
fn a_statefulset_waits_for_min_ready_seconds_and_recreates_a_failed_replica() {
    let db = patched(DB, "spec: {minReadySeconds: 5}");
    let sim = Sim::with_scenario_at(&db, 10.0);
    let status = |s: &Sim| get(s, "StatefulSet", "db")["status"].clone();
    assert!(
        sim.wait_until(Duration::from_secs(20), |s| status(s)["availableReplicas"]
            == 3)
    );
    // processReplica: a Failed replica is deleted and created again.
    let uid = sim.get("v1", "Pod", Some("default"), "db-1").unwrap()["metadata"]["uid"].clone();
    assert!(sim.evict_for_node_pressure("default", "db-1", "memory"));
    assert!(sim.wait_until(Duration::from_secs(20), |s| {
        s.get("v1", "Pod", Some("default"), "db-1")
            .is_some_and(|p| p["metadata"]["uid"] != uid && p["status"]["phase"] == "Running")
            && status(s)["availableReplicas"] == 3
    }));
    // The rolling update: each replica Available (5 s) before the next goes.
    sim.apply_yaml(&restarted(&db)).unwrap();
    assert!(sim.wait_until(Duration::from_secs(5), |s| {
        status(s)["updateRevision"] != status(s)["currentRevision"]
    }));
    assert!(sim.wait_until(Duration::from_secs(40), |s| {
        let st = status(s);
        let n = |k: &str| st[k].as_i64().unwrap_or(0);
        assert!(
            n("availableReplicas") >= 2 || n("updatedReplicas") == 0,
            "{st:#}"
        );
        n("updatedReplicas") == 3 && n("availableReplicas") == 3
    }));
}

#[test]
fn ondelete_revisions_catch_up_from_1_36() {
    // stateful_set_utils.go: completeRollingUpdate (≤ 1.35) only for RollingUpdate;
    // completeUpdate (1.36+) for any strategy.
    let od = patched(DB, "spec: {replicas: 1, updateStrategy: {type: OnDelete}}");
    for (version, caught_up) in [("v1.35.4", false), ("v1.37.2", true)] {
        let sim = Sim::start(SimOptions {
            time_scale: 10.0,
            server_version: version.into(),
            scenario_yaml: vec![od.clone()],
            ..Default::default()
        })
        .unwrap();
        let status = |s: &Sim| get(s, "StatefulSet", "db")["status"].clone();
        assert!(sim.wait_until(Duration::from_secs(15), |s| status(s)["readyReplicas"] == 1));
        sim.apply_yaml(&restarted(&od)).unwrap();
        assert!(sim.wait_until(Duration::from_secs(5), |s| {
            status(s)["updateRevision"] != status(s)["currentRevision"]
        }));
        sim.delete("v1", "Pod", Some("default"), "db-0");
        assert!(sim.wait_until(Duration::from_secs(15), |s| {
            status(s)["updatedReplicas"] == 1 && status(s)["readyReplicas"] == 1
        }));
        std::thread::sleep(Duration::from_millis(300));
        let st = status(&sim);
        assert_eq!(
            st["currentRevision"] == st["updateRevision"],
            caught_up,
            "{version}: {st:#}"
        );
    }
}

#[test]
fn a_failed_job_pod_is_replaced_after_the_back_off_and_failure_target_comes_first() {
    let sim = Sim::with_scenario_at(include_str!("fixtures/failing-job.yaml"), 10.0);
    let failed_at = |s: &Sim| {
        s.list("v1", "Pod", Some("default"))
            .iter()
            .filter(|p| p["status"]["phase"] == "Failed")
            .count()
    };
    assert!(sim.wait_until(Duration::from_secs(10), |s| failed_at(s) == 1));
    let t0 = sim.now();
    assert!(sim.wait_until(Duration::from_secs(10), |s| {
        s.list("v1", "Pod", Some("default")).len() == 2
    }));
    let waited = sim.now().duration_since(t0);
    // backoff_utils.go: 10 s after the failure (sim time).
    assert!(waited.as_secs_f64() >= 8.0, "replaced after {waited:?}");
    assert!(sim.wait_until(Duration::from_secs(10), |s| {
        any_condition(&get(s, "Job", "fails"), |c| c["type"] == "Failed")
    }));
    let conds: Vec<String> = get(&sim, "Job", "fails")["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["type"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(conds, ["FailureTarget", "Failed"]);
}
