//! Checks the simulator against the real kubectl (the judge).

use kubesim::scenarios::patched;
use kubesim::Sim;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

fn kubectl_bin() -> Option<PathBuf> {
    kubesim::tools::kubectl("checking kubesim against kubectl")
}

struct Out {
    ok: bool,
    stdout: String,
    stderr: String,
}

fn k(sim: &Sim, args: &[&str]) -> Out {
    let bin = kubectl_bin().unwrap();
    let o = Command::new(bin)
        .arg("--kubeconfig")
        .arg(sim.kubeconfig_path())
        .args(args)
        .output()
        .expect("running kubectl");
    Out {
        ok: o.status.success(),
        stdout: String::from_utf8_lossy(&o.stdout).into(),
        stderr: String::from_utf8_lossy(&o.stderr).into(),
    }
}

/// `kubectl rollout status TARGET --timeout=60s`.
fn rollout_status(sim: &Sim, target: &str) -> Out {
    k(sim, &["rollout", "status", target, "--timeout=60s"])
}

/// `kubectl rollout restart TARGET`, which must succeed, then [`rollout_status`] of it.
fn restart_and_watch(sim: &Sim, target: &str) -> Out {
    let o = k(sim, &["rollout", "restart", target]);
    assert!(o.ok, "{}", o.stderr);
    rollout_status(sim, target)
}

// Shared scenarios (tests/kubesim/tests/fixtures); a test states what it changes in them.
const WEB: &str = include_str!("fixtures/web.yaml");

fn ready_deploy(sim: &Sim, ns: &str, name: &str, n: i64) -> bool {
    sim.wait_until(Duration::from_secs(20), |s| {
        s.get("apps/v1", "Deployment", Some(ns), name)
            .and_then(|d| {
                d.pointer("/status/availableReplicas")
                    .and_then(|x| x.as_i64())
            })
            == Some(n)
    })
}

#[test]
fn get_pods_and_deployments() {
    if kubectl_bin().is_none() {
        return;
    }
    let sim = Sim::with_scenario_at(WEB, 20.0);
    assert!(ready_deploy(&sim, "default", "web", 3));
    let o = k(&sim, &["get", "pods"]);
    assert!(o.ok, "{}", o.stderr);
    let lines: Vec<&str> = o.stdout.lines().collect();
    assert!(
        lines[0].starts_with("NAME") && lines[0].contains("READY") && lines[0].contains("STATUS"),
        "{}",
        o.stdout
    );
    assert_eq!(lines.len(), 4, "{}", o.stdout);
    assert!(
        lines[1].starts_with("web-") && lines[1].contains("1/1") && lines[1].contains("Running"),
        "{}",
        o.stdout
    );
    let o = k(&sim, &["get", "deployments"]);
    assert!(o.ok, "{}", o.stderr);
    assert!(
        o.stdout.contains("web") && o.stdout.contains("3/3"),
        "{}",
        o.stdout
    );
    let o = k(&sim, &["get", "pods", "-o", "yaml"]);
    assert!(o.ok, "{}", o.stderr);
    assert!(
        o.stdout.contains("kind: List")
            && o.stdout.contains("pod-template-hash")
            && o.stdout.contains("containerID: containerd://"),
        "{}",
        o.stdout
    );
    let o = k(&sim, &["get", "po,deploy,rs,nodes,ns", "-A"]);
    assert!(o.ok, "{}", o.stderr);
    assert!(
        o.stdout.contains("node-3") && o.stdout.contains("replicaset.apps/web-"),
        "{}",
        o.stdout
    );
    let o = k(
        &sim,
        &["get", "pods", "--sort-by=.status.startTime", "-o", "wide"],
    );
    assert!(
        o.ok && o.stdout.lines().count() == 4 && o.stdout.contains("node-"),
        "{}{}",
        o.stdout,
        o.stderr
    );
    let o = k(
        &sim,
        &[
            "get",
            "pods",
            "-l",
            "app=web",
            "--field-selector",
            "status.phase=Running",
            "-o",
            "name",
        ],
    );
    assert_eq!(o.stdout.lines().count(), 3, "{}{}", o.stdout, o.stderr);
    // watch with tables (kubectl get -w)
    let bin = kubectl_bin().unwrap();
    let child = Command::new(bin)
        .arg("--kubeconfig")
        .arg(sim.kubeconfig_path())
        .args(["get", "pods", "-w", "--request-timeout=2s"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let victim = sim.list("v1", "Pod", None)[0]["metadata"]["name"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(sim.delete("v1", "Pod", Some("default"), &victim));
    let out = child.wait_with_output().unwrap();
    let w = String::from_utf8_lossy(&out.stdout);
    assert!(
        w.lines()
            .any(|l| l.starts_with(&victim) && l.contains("Terminating")),
        "{w}"
    );
    let o = k(&sim, &["get", "pod", "nope"]);
    assert!(
        !o.ok && o.stderr.contains("pods \"nope\" not found"),
        "{}",
        o.stderr
    );
}

const CRASH: &str = include_str!("fixtures/crash-api.yaml");

#[test]
fn describe_and_previous_logs_of_crash_loop() {
    if kubectl_bin().is_none() {
        return;
    }
    let sim = Sim::with_scenario_at(CRASH, 20.0);
    assert!(sim.wait_until(Duration::from_secs(20), |s| {
        s.list("v1", "Pod", Some("shop")).iter().any(|p| {
            p.pointer("/status/containerStatuses/0/restartCount")
                .and_then(|x| x.as_i64())
                .unwrap_or(0)
                >= 2
        })
    }));
    let o = k(&sim, &["-n", "shop", "get", "pods"]);
    assert!(
        o.stdout.contains("CrashLoopBackOff")
            || o.stdout.contains("Running")
            || o.stdout.contains("OOMKilled"),
        "{}",
        o.stdout
    );
    let o = k(&sim, &["-n", "shop", "describe", "pod", "-l", "app=api"]);
    assert!(o.ok, "{}", o.stderr);
    for want in [
        "Last State:     Terminated",
        "Reason:       OOMKilled",
        "Exit Code:    137",
        "Message:      heap exhausted",
        "BackOff",
        "Back-off restarting failed container app",
    ] {
        assert!(o.stdout.contains(want), "missing {want:?} in\n{}", o.stdout);
    }
    let o = k(&sim, &["-n", "shop", "logs", "deploy/api", "--previous"]);
    assert!(o.ok, "{}", o.stderr);
    assert_eq!(o.stdout, "starting api\nloading cache\n");
    let o = k(
        &sim,
        &[
            "-n",
            "shop",
            "logs",
            "deploy/api",
            "--previous",
            "--tail=1",
            "--timestamps",
        ],
    );
    assert!(
        o.ok && o.stdout.ends_with(" loading cache\n") && o.stdout.lines().count() == 1,
        "{}",
        o.stdout
    );
}

#[test]
fn rollout_restart_deployment() {
    if kubectl_bin().is_none() {
        return;
    }
    let sim = Sim::with_scenario_at(WEB, 20.0);
    assert!(ready_deploy(&sim, "default", "web", 3));
    let o = restart_and_watch(&sim, "deployment/web");
    assert!(o.ok, "{}\n{}", o.stdout, o.stderr);
    assert!(o.stdout.contains("successfully rolled out"), "{}", o.stdout);
    let d = sim
        .get("apps/v1", "Deployment", Some("default"), "web")
        .unwrap();
    assert_eq!(
        d["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
        "2"
    );
    assert!(
        d["spec"]["template"]["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"]
            .is_string()
    );
    let mf = d["metadata"]["managedFields"].as_array().unwrap();
    assert!(
        mf.iter().any(|m| m["manager"] == "kubectl-rollout"
            && m["fieldsV1"].pointer("/f:spec/f:template").is_some()),
        "{mf:?}"
    );
    let rss = sim.list("apps/v1", "ReplicaSet", Some("default"));
    assert_eq!(rss.len(), 2);
    let pods = sim.list("v1", "Pod", Some("default"));
    assert_eq!(pods.len(), 3);
    let events = sim.list("v1", "Event", Some("default"));
    assert!(events
        .iter()
        .any(|e| e["reason"] == "Killing" && e["message"] == "Stopping container app"));
    assert!(events.iter().any(|e| e["reason"] == "ScalingReplicaSet"));
}

#[test]
fn rollout_restart_statefulset_and_daemonset() {
    if kubectl_bin().is_none() {
        return;
    }
    let yaml = format!(
        "{}---\n{}",
        include_str!("fixtures/db.yaml"),
        include_str!("fixtures/agent.yaml")
    );
    let sim = Sim::with_scenario_at(&yaml, 25.0);
    let o = rollout_status(&sim, "statefulset/db");
    assert!(o.ok, "{}\n{}", o.stdout, o.stderr);
    let rev1 =
        sim.get("apps/v1", "StatefulSet", None, "db").unwrap()["status"]["updateRevision"].clone();
    let o = restart_and_watch(&sim, "statefulset/db");
    assert!(o.ok, "{}\n{}", o.stdout, o.stderr);
    assert!(
        o.stdout.contains("roll out complete") || o.stdout.contains("rolling update complete"),
        "{}",
        o.stdout
    );
    let s = sim.get("apps/v1", "StatefulSet", None, "db").unwrap();
    assert_ne!(s["status"]["updateRevision"], rev1);
    assert_eq!(
        s["status"]["currentRevision"],
        s["status"]["updateRevision"]
    );
    assert_eq!(s["status"]["updatedReplicas"], 3);
    for p in sim
        .list("v1", "Pod", None)
        .iter()
        .filter(|p| p["metadata"]["labels"]["app"] == "db")
    {
        assert_eq!(
            p["metadata"]["labels"]["controller-revision-hash"],
            s["status"]["updateRevision"]
        );
    }
    assert_eq!(
        sim.list("apps/v1", "ControllerRevision", None)
            .iter()
            .filter(|r| r["metadata"]["name"].as_str().unwrap().starts_with("db-"))
            .count(),
        2
    );

    let o = restart_and_watch(&sim, "daemonset/agent");
    assert!(o.ok, "{}\n{}", o.stdout, o.stderr);
    assert!(
        o.stdout
            .contains("daemon set \"agent\" successfully rolled out"),
        "{}",
        o.stdout
    );
    let d = sim.get("apps/v1", "DaemonSet", None, "agent").unwrap();
    assert_eq!(d["status"]["updatedNumberScheduled"], 3);
    assert_eq!(d["status"]["numberAvailable"], 3);
}

#[test]
fn bad_release_exceeds_progress_deadline() {
    if kubectl_bin().is_none() {
        return;
    }
    let yaml = patched(
        include_str!("fixtures/never-ready-web.yaml"),
        r#"
spec:
  replicas: 2
  progressDeadlineSeconds: 15
  template:
    spec:
      containers:
      - {name: app, image: "nginx:1.27", readinessProbe: {httpGet: {path: /healthz, port: 8080}, periodSeconds: 5}}
"#,
    );
    let sim = Sim::with_scenario_at(&yaml, 20.0);
    assert!(ready_deploy(&sim, "default", "web", 2));
    let o = restart_and_watch(&sim, "deployment/web");
    assert!(!o.ok, "{}", o.stdout);
    assert!(
        o.stderr.contains("exceeded its progress deadline"),
        "{}\n{}",
        o.stdout,
        o.stderr
    );
    let d = sim.get("apps/v1", "Deployment", None, "web").unwrap();
    let conds = d["status"]["conditions"].as_array().unwrap();
    assert!(conds.iter().any(|c| c["type"] == "Progressing"
        && c["status"] == "False"
        && c["reason"] == "ProgressDeadlineExceeded"));
    // old pods still serve
    assert_eq!(d["status"]["availableReplicas"], 2);
    let evs = sim.list("v1", "Event", None);
    assert!(evs.iter().any(|e| e["reason"] == "Unhealthy"
        && e["message"]
            .as_str()
            .unwrap()
            .starts_with("Readiness probe failed")));
}

#[test]
fn drain_refused_by_pdb() {
    if kubectl_bin().is_none() {
        return;
    }
    let pdb = "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: web-pdb, namespace: default}\nspec: {minAvailable: 3, selector: {matchLabels: {app: web}}}\n";
    let sim = Sim::with_scenario_at(&format!("{WEB}---\n{pdb}"), 20.0);
    assert!(ready_deploy(&sim, "default", "web", 3));
    assert!(sim.wait_until(Duration::from_secs(10), |s| s
        .get("policy/v1", "PodDisruptionBudget", None, "web-pdb")
        .is_some_and(|p| p["status"]["currentHealthy"] == 3)));
    let o = k(
        &sim,
        &["drain", "node-1", "--ignore-daemonsets", "--timeout=3s"],
    );
    assert!(!o.ok);
    assert!(
        o.stderr
            .contains("Cannot evict pod as it would violate the pod's disruption budget."),
        "{}\n{}",
        o.stdout,
        o.stderr
    );
    let n = sim.get("v1", "Node", None, "node-1").unwrap();
    assert_eq!(n["spec"]["unschedulable"], true);
    // with budget: eviction goes through and the pod gets DisruptionTarget
    let o = k(
        &sim,
        &[
            "patch",
            "pdb",
            "web-pdb",
            "--type=merge",
            "-p",
            r#"{"spec":{"minAvailable":2}}"#,
        ],
    );
    assert!(o.ok, "{}", o.stderr);
    let o = k(
        &sim,
        &["drain", "node-1", "--ignore-daemonsets", "--timeout=30s"],
    );
    assert!(o.ok, "{}\n{}", o.stdout, o.stderr);
    assert!(o.stdout.contains("evicted"), "{}", o.stdout);
}

#[test]
fn auth_errors_through_kubectl() {
    if kubectl_bin().is_none() {
        return;
    }
    let sim = Sim::with_scenario_at(CRASH, 20.0);
    let alice = sim.add_user("alice");
    sim.deny("alice", "get", "pods/log");
    assert!(sim.wait_until(Duration::from_secs(10), |s| !s
        .list("v1", "Pod", Some("shop"))
        .is_empty()));
    let pod = sim.list("v1", "Pod", Some("shop"))[0]["metadata"]["name"]
        .as_str()
        .unwrap()
        .to_string();
    let bin = kubectl_bin().unwrap();
    let o = Command::new(&bin)
        .arg("--kubeconfig")
        .arg(&alice)
        .args(["-n", "shop", "logs", &pod])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(err.contains(&format!("pods \"{pod}\" is forbidden: User \"alice\" cannot get resource \"pods/log\" in API group \"\" in the namespace \"shop\"")), "{err}");
    let o = Command::new(&bin)
        .arg("--kubeconfig")
        .arg(&alice)
        .args(["-n", "shop", "get", "pods"])
        .output()
        .unwrap();
    assert!(o.status.success());
    let o = Command::new(&bin)
        .arg("--kubeconfig")
        .arg(&alice)
        .args([
            "-n",
            "shop",
            "auth",
            "can-i",
            "get",
            "pods",
            "--subresource=log",
        ])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "no");
    let o = Command::new(&bin)
        .arg("--kubeconfig")
        .arg(&alice)
        .args(["-n", "shop", "auth", "can-i", "get", "pods"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "yes");
    let o = k(&sim, &["--token", "bogus", "get", "pods"]);
    assert!(!o.ok && o.stderr.contains("Unauthorized"), "{}", o.stderr);
    let reqs = sim.requests();
    assert!(reqs
        .iter()
        .any(|r| r.user == "alice" && r.status == 403 && r.path.ends_with("/log")));
}

#[test]
fn apply_diff_scale_delete() {
    if kubectl_bin().is_none() {
        return;
    }
    let sim = Sim::with_scenario_at("", 20.0);
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("web.yaml");
    std::fs::write(&f, WEB).unwrap();
    let f = f.to_str().unwrap();
    // kubectl's typed "create" generators send protobuf: namespaces, configmaps, secrets, serviceaccounts
    for args in [
        vec!["create", "namespace", "team"],
        vec![
            "-n",
            "team",
            "create",
            "configmap",
            "cfg",
            "--from-literal=a=b",
        ],
        vec![
            "-n",
            "team",
            "create",
            "secret",
            "generic",
            "sec",
            "--from-literal=p=q",
        ],
        vec!["-n", "team", "create", "serviceaccount", "bot"],
        vec![
            "-n",
            "team",
            "create",
            "deployment",
            "api",
            "--image=shop/api:1",
            "--replicas=2",
            "--port=8080",
        ],
        vec![
            "-n",
            "team",
            "run",
            "dbg",
            "--image=busybox:1.36",
            "--restart=Never",
            "--",
            "sleep",
            "3600",
        ],
    ] {
        let o = k(&sim, &args);
        assert!(o.ok, "{args:?}: {}", o.stderr);
    }
    assert_eq!(
        sim.get("v1", "ConfigMap", Some("team"), "cfg").unwrap()["data"]["a"],
        "b"
    );
    assert_eq!(
        sim.get("v1", "Secret", Some("team"), "sec").unwrap()["data"]["p"],
        "cQ=="
    );
    assert!(
        sim.get("v1", "Namespace", None, "team").unwrap()["metadata"]
            .get("generation")
            .is_none()
    );
    assert!(ready_deploy(&sim, "team", "api", 2));
    let dbg = sim.get("v1", "Pod", Some("team"), "dbg").unwrap();
    assert_eq!(dbg["spec"]["restartPolicy"], "Never");
    assert_eq!(
        dbg["spec"]["containers"][0]["args"],
        serde_json::json!(["sleep", "3600"])
    );
    let o = k(&sim, &["apply", "-f", f]);
    assert!(o.ok, "{}", o.stderr);
    assert!(ready_deploy(&sim, "default", "web", 3));
    std::fs::write(f, WEB.replace("replicas: 3", "replicas: 2")).unwrap();
    let o = k(&sim, &["diff", "-f", f]);
    assert!(o.stdout.contains("replicas: 2"), "{}{}", o.stdout, o.stderr);
    assert_eq!(
        sim.get("apps/v1", "Deployment", None, "web").unwrap()["spec"]["replicas"],
        3,
        "diff must not write"
    );
    let o = k(&sim, &["apply", "-f", f]);
    assert!(
        o.ok && o.stdout.contains("configured"),
        "{}{}",
        o.stdout,
        o.stderr
    );
    assert!(ready_deploy(&sim, "default", "web", 2));
    let o = k(&sim, &["scale", "deployment/web", "--replicas=1"]);
    assert!(o.ok, "{}", o.stderr);
    assert!(ready_deploy(&sim, "default", "web", 1));
    assert!(sim.wait_until(Duration::from_secs(10), |s| s
        .list("v1", "Pod", Some("default"))
        .len()
        == 1));
    let o = k(&sim, &["delete", "deployment", "web"]);
    assert!(o.ok, "{}", o.stderr);
    assert!(sim.wait_until(Duration::from_secs(10), |s| s
        .list("v1", "Pod", Some("default"))
        .is_empty()
        && s.list("apps/v1", "ReplicaSet", Some("default")).is_empty()));
}
