//! Wall-clock comparison against what people run today, on the simulated API server with a per-request
//! latency like a real cluster's round trip:
//!
//! - `kubectl graceful explain POD` vs `kubectl describe pod POD` + `kubectl logs --previous POD`;
//! - `kubectl graceful explain deploy/NAME` over several failing pods (the gather runs in parallel);
//! - `kubectl graceful diagnose -n NS` live;
//! - start-up: `kubectl graceful --version`.
//!
//! Run: `cargo bench --bench compare` (release build). Options by environment: `BENCH_RUNS` (default 10),
//! `BENCH_LATENCY_MS` (default 25). Prints a table of median / min / max and API requests per run.

use std::process::Command;
use std::time::{Duration, Instant};

use kubesim::{Sim, SimOptions};

const SCENARIO: &str = r#"
apiVersion: v1
kind: Pod
metadata:
  name: api-0
  namespace: shop
  uid: 6f1c2a7e-1111-4c8e-9a55-0a0a0a0a0a01
  labels: {app: api}
  annotations:
    kubesim.io/previous-logs: |
      app: "starting api\nloading config\npanic: assignment to entry in nil map\ngoroutine 1 [running]:\nmain.main()\n"
    kubesim.io/logs: |
      app: "starting api\n"
spec:
  nodeName: node-1
  containers:
  - name: app
    image: shop/api:1.4
    resources: {limits: {memory: 256Mi}}
status:
  phase: Running
  conditions:
  - {type: Ready, status: "False"}
  containerStatuses:
  - name: app
    image: shop/api:1.4
    ready: false
    restartCount: 5
    state: {waiting: {reason: CrashLoopBackOff, message: "back-off 2m40s restarting failed container=app pod=api-0_shop(6f1c2a7e-1111-4c8e-9a55-0a0a0a0a0a01)"}}
    lastState: {terminated: {exitCode: 2, reason: Error, startedAt: "2026-01-01T10:00:00Z", finishedAt: "2026-01-01T10:00:04Z"}}
---
apiVersion: v1
kind: Event
metadata: {namespace: shop, name: api-0.1}
involvedObject: {kind: Pod, name: api-0, namespace: shop, uid: 6f1c2a7e-1111-4c8e-9a55-0a0a0a0a0a01}
type: Warning
reason: BackOff
message: Back-off restarting failed container app in pod api-0_shop(6f1c2a7e-1111-4c8e-9a55-0a0a0a0a0a01)
count: 31
firstTimestamp: "2026-01-01T09:40:00Z"
lastTimestamp: "2026-01-01T10:00:10Z"
source: {component: kubelet, host: node-1}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 6
  selector: {matchLabels: {app: web}}
  template:
    metadata:
      labels: {app: web}
      annotations:
        kubesim.io/behavior: |
          app: {crashAfter: 2s, exitCode: 1, message: "config key db.url missing", logs: "boot\nerror: config key db.url missing\n"}
    spec:
      containers:
      - name: app
        image: shop/web:2.0
        ports: [{containerPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
"#;

struct Stats {
    name: String,
    times: Vec<Duration>,
    requests: usize,
}

fn run_n(sim: &Sim, name: &str, runs: usize, mut f: impl FnMut()) -> Stats {
    f(); // warm-up (page cache, TLS session setup on the server side)
    sim.clear_requests();
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        f();
        times.push(t.elapsed());
    }
    times.sort();
    Stats {
        name: name.to_string(),
        times,
        requests: sim.requests().len() / runs,
    }
}

fn cmd(program: &str, args: &[&str], kubeconfig: &std::path::Path) {
    let out = Command::new(program)
        .args(args)
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .env("NO_COLOR", "1")
        .output()
        .expect("run command");
    // explain exits 1 when it explained a failure; anything else is a broken benchmark.
    let code = out.status.code().unwrap_or(-1);
    assert!(code == 0 || code == 1, "{program} {args:?}: {out:?}");
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo bench -- --list` / `cargo test --benches` discovery: nothing to list
    }
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let latency = Duration::from_millis(
        std::env::var("BENCH_LATENCY_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(25),
    );
    let sim = Sim::start(SimOptions {
        time_scale: 20.0,
        scenario_yaml: vec![SCENARIO.to_string()],
        ..Default::default()
    })
    .expect("start kubesim");
    // Let the Deployment's pods crash at least once.
    sim.wait_until(Duration::from_secs(30), |s| {
        s.list("v1", "Pod", Some("shop"))
            .iter()
            .filter(|p| {
                p["status"]["containerStatuses"][0]["restartCount"]
                    .as_i64()
                    .unwrap_or(0)
                    > 0
            })
            .count()
            >= 6
    });
    sim.faults().set_latency(latency);
    let kc = sim.kubeconfig_path().to_path_buf();
    let me = env!("CARGO_BIN_EXE_kubectl-graceful");
    let kubectl = "/usr/bin/kubectl";

    let mut results = vec![run_n(&sim, "kubectl graceful explain api-0", runs, || {
        cmd(me, &["explain", "api-0", "-n", "shop"], &kc)
    })];
    if std::path::Path::new(kubectl).exists() {
        results.push(run_n(
            &sim,
            "kubectl describe pod + logs --previous",
            runs,
            || {
                cmd(kubectl, &["describe", "pod", "api-0", "-n", "shop"], &kc);
                cmd(kubectl, &["logs", "--previous", "api-0", "-n", "shop"], &kc);
            },
        ));
    }
    results.push(run_n(
        &sim,
        "kubectl graceful explain deploy/web (6 pods)",
        runs,
        || cmd(me, &["explain", "deploy/web", "-n", "shop"], &kc),
    ));
    results.push(run_n(
        &sim,
        "kubectl graceful diagnose -n shop",
        runs,
        || cmd(me, &["diagnose", "-n", "shop"], &kc),
    ));
    sim.faults().set_latency(Duration::ZERO);
    results.push(run_n(
        &sim,
        "kubectl graceful --version (start-up)",
        runs * 2,
        || {
            let out = Command::new(me).arg("--version").output().expect("run");
            assert!(out.status.success());
        },
    ));

    println!("\nlatency per API request: {latency:?}, runs: {runs}\n");
    println!(
        "{:<46} {:>10} {:>10} {:>10} {:>9}",
        "command", "median", "min", "max", "requests"
    );
    for r in &results {
        let ms = |d: Duration| format!("{:.1}ms", d.as_secs_f64() * 1000.0);
        println!(
            "{:<46} {:>10} {:>10} {:>10} {:>9}",
            r.name,
            ms(r.times[r.times.len() / 2]),
            ms(r.times[0]),
            ms(*r.times.last().unwrap()),
            r.requests
        );
    }
}
