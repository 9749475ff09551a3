//! What the restart tests share: running the binary, starting kubesim with a scenario, workload manifests,
//! and reading pods, requests and events back.
#![allow(dead_code)] // each test file uses its own part

use std::time::Duration;

use assert_cmd::Command;
use kubesim::{Sim, SimOptions};
use serde_json::Value;

pub const NS: &str = "default";

pub fn bin() -> Command {
    let mut c = Command::cargo_bin("kubectl-graceful").unwrap();
    c.env_remove("KUBECONFIG")
        .env("HOME", "/nonexistent-home")
        .env_remove("KUBERNETES_SERVICE_HOST")
        .env("NO_COLOR", "1")
        .env("XDG_STATE_HOME", state_dir())
        .timeout(Duration::from_secs(120));
    c
}

pub fn start(yaml: &str, scale: f64, nodes: Option<usize>) -> Sim {
    Sim::start(SimOptions {
        time_scale: scale,
        scenario_yaml: vec![yaml.to_string()],
        nodes,
        ..Default::default()
    })
    .expect("simulator starts")
}

pub fn run(sim: &Sim, args: &[&str]) -> assert_cmd::assert::Assert {
    bin()
        .arg("restart")
        .args(args)
        .arg("--kubeconfig")
        .arg(sim.kubeconfig_path())
        .assert()
}

pub fn deployment(name: &str, replicas: u32, extra_template_annotations: &str) -> String {
    format!(
        r#"
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}, namespace: default, labels: {{tier: backend}}}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: {name}}}}}
  strategy: {{rollingUpdate: {{maxSurge: 1, maxUnavailable: 0}}}}
  template:
    metadata:
      labels: {{app: {name}}}
      annotations: {{{extra_template_annotations}}}
    spec:
      terminationGracePeriodSeconds: 5
      containers:
      - name: app
        image: registry.example/{name}:1.0
        readinessProbe: {{httpGet: {{path: /ready, port: 8080}}, periodSeconds: 1}}
"#
    )
}

pub fn pods_of(sim: &Sim, app: &str) -> Vec<Value> {
    sim.list("v1", "Pod", Some(NS))
        .into_iter()
        .filter(|p| p.pointer("/metadata/labels/app").and_then(Value::as_str) == Some(app))
        .collect()
}

pub fn ready(p: &Value) -> bool {
    p.pointer("/metadata/deletionTimestamp").is_none()
        && p.pointer("/status/conditions")
            .and_then(Value::as_array)
            .is_some_and(|cs| {
                cs.iter()
                    .any(|c| c["type"] == "Ready" && c["status"] == "True")
            })
}

pub fn restarted_at(v: &Value) -> Option<String> {
    v.pointer("/metadata/annotations/kubectl.kubernetes.io~1restartedAt")
        .or_else(|| {
            v.pointer("/spec/template/metadata/annotations/kubectl.kubernetes.io~1restartedAt")
        })
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// Waits until every pod of `app` is Ready and there are `n` of them.
pub fn settle(sim: &Sim, app: &str, n: usize) {
    let app = app.to_string();
    assert!(
        sim.wait_until(Duration::from_secs(30), move |s| {
            let pods = pods_of(s, &app);
            pods.len() == n && pods.iter().all(ready)
        }),
        "workload never became ready in the simulator"
    );
}

/// All pods of `app` carry the workload's current restartedAt, are Ready, and there are `n`.
pub fn assert_restarted(sim: &Sim, kind: &str, app: &str, n: usize) -> String {
    let w = sim.get("apps/v1", kind, Some(NS), app).expect("workload");
    let value = restarted_at(&w).expect("template carries restartedAt");
    let pods = pods_of(sim, app);
    assert_eq!(pods.len(), n, "pods right after return: {pods:#?}");
    for p in &pods {
        assert!(ready(p), "not Ready when restart returned: {p:#?}");
        assert_eq!(
            restarted_at(p).as_deref(),
            Some(value.as_str()),
            "old pod left: {p:#?}"
        );
    }
    value
}

pub fn kubectl_rollout_status_agrees(sim: &Sim, target: &str) {
    let out = std::process::Command::new("/usr/bin/kubectl")
        .args(["rollout", "status", target, "--timeout=10s", "--kubeconfig"])
        .arg(sim.kubeconfig_path())
        .output()
        .expect("kubectl runs");
    assert!(
        out.status.success(),
        "kubectl rollout status {target}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

pub fn writes(sim: &Sim) -> Vec<(String, String)> {
    sim.requests()
        .into_iter()
        .filter(|r| !matches!(r.method.as_str(), "GET" | "HEAD"))
        .map(|r| (r.method.clone(), r.path.clone()))
        .collect()
}

pub fn events(stdout: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

pub fn statefulset(name: &str, replicas: u32, strategy: &str) -> String {
    format!(
        r#"
apiVersion: apps/v1
kind: StatefulSet
metadata: {{name: {name}, namespace: default}}
spec:
  replicas: {replicas}
  serviceName: {name}
  selector: {{matchLabels: {{app: {name}}}}}
  updateStrategy: {strategy}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      terminationGracePeriodSeconds: 5
      containers:
      - name: db
        image: registry.example/{name}:1.0
        readinessProbe: {{tcpSocket: {{port: 5432}}, periodSeconds: 1}}
"#
    )
}

pub fn daemonset(name: &str, strategy: &str) -> String {
    format!(
        r#"
apiVersion: apps/v1
kind: DaemonSet
metadata: {{name: {name}, namespace: default}}
spec:
  selector: {{matchLabels: {{app: {name}}}}}
  updateStrategy: {strategy}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      terminationGracePeriodSeconds: 5
      containers:
      - name: agent
        image: registry.example/{name}:1.0
        readinessProbe: {{httpGet: {{path: /healthz, port: 9100}}, periodSeconds: 1}}
"#
    )
}

pub fn pdb(app: &str, spec: &str) -> String {
    format!(
        "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {{name: {app}, namespace: default}}\nspec: {{selector: {{matchLabels: {{app: {app}}}}}, {spec}}}\n"
    )
}

pub fn spawn(sim: &Sim, args: &[&str]) -> std::process::Child {
    spawn_saving_to(sim, args, &state_dir())
}

/// Where the tests' runs save bare pods' manifests (not the developer's ~/.local/state).
pub fn state_dir() -> std::path::PathBuf {
    std::env::temp_dir().join("kubectl-graceful-tests")
}

/// Runs the restart in the background, saving manifests of bare pods under `state` (XDG_STATE_HOME).
pub fn spawn_saving_to(sim: &Sim, args: &[&str], state: &std::path::Path) -> std::process::Child {
    std::process::Command::new(env!("CARGO_BIN_EXE_kubectl-graceful"))
        .arg("restart")
        .args(args)
        .arg("--kubeconfig")
        .arg(sim.kubeconfig_path())
        .env("NO_COLOR", "1")
        .env("XDG_STATE_HOME", state)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("binary runs")
}

pub fn slow(name: &str, replicas: u32) -> String {
    deployment(
        name,
        replicas,
        r#"kubesim.io/behavior: '{"*": {"readyAfter": "20s"}}'"#,
    )
}

/// Sends a signal (`"INT"`, `"TERM"`) to a child process.
pub fn signal(child: &std::process::Child, sig: &str) {
    let status = std::process::Command::new("kill")
        .args([&format!("-{sig}"), &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill -{sig}");
}

/// Waits (up to 20 s) until the request log has a request matching `f`.
pub fn wait_for_request(sim: &Sim, f: impl Fn(&kubesim::RequestRecord) -> bool) {
    assert!(
        sim.wait_until(Duration::from_secs(20), |s| s.requests().iter().any(&f)),
        "the expected request never came: {:#?}",
        sim.requests()
            .iter()
            .map(|r| format!("{} {} {}", r.method, r.path, r.status))
            .collect::<Vec<_>>()
    );
}

/// The child's exit code, stdout and stderr.
pub fn finish(child: std::process::Child) -> (Option<i32>, String, String) {
    let out = child.wait_with_output().expect("child ends");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
