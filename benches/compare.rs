//! Whole processes side by side, kubectl-graceful against what people run today, with the distance a
//! network has (see `support/distance.rs`: each byte half an RTT each way, each new connection one RTT)
//! and at scale:
//!
//! | case | kubectl-graceful | yardstick |
//! |---|---|---|
//! | start-up | `--version` | `kubectl version --client` |
//! | one failed pod, at 0 / 25 / 100 ms RTT | `explain POD` | `kubectl describe pod` + `kubectl logs --previous` |
//! | failing pods (300 / 1,000 / 3,000, with 10,000 other events) | `explain -A` | `kubectl describe pods -A` |
//! | pods (100 / 1,000 / 10,000, a workload per 5 pods) | `diagnose -A` | `kubectl get deploy,sts,ds,pdb,svc,hpa,pods -A -o json` |
//! | a restart | `restart deploy/NAME` | `kubectl rollout restart` + `kubectl rollout status` |
//!
//! and restart's wait on its own (`restart-wait`): how long after its completion condition (the last old
//! pod gone, seen in kubesim's store every millisecond) the process exits, and how many requests it
//! sends, for a short and a long wait (old pods that take 1 s or 60 s of sim time to stop).
//!
//! Each row: median wall time, CPU (user + system) and peak memory (VmHWM, sampled every ms) of the
//! process(es), the
//! ratio ours / yardstick, and for the distance rows the wall time in RTTs and the TCP connections the
//! run opened.
//!
//! `cargo bench --bench compare` runs the full series (release build; `BENCH_RUNS`, default 5;
//! `BENCH_CASES=restart,diagnose` runs only those of `startup`, `explain`, `restart`, `restart-wait`,
//! `explain-all`, `diagnose`; `BENCH_DEBUG=1` prints the requests of each restart-wait run, timed
//! from the moment the last old pod was gone, and of one more diagnose run per size, timed from its
//! start: where a wall time goes).
//! Without `--bench` (what `cargo test` does: `test = true` in Cargo.toml) it is a smoke run: tiny
//! sizes, one run, no timing checked — only that every command works on every case.

#[path = "support/distance.rs"]
mod distance;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use distance::Distance;
use kubesim::scenarios::{self, CrashLoop};
use kubesim::{Sim, SimOptions};

/// One process run.
#[derive(Clone, Copy)]
struct Run {
    wall: Duration,
    cpu: Duration,
    max_rss_kib: u64,
    /// When wait4 returned (the process had exited).
    ended: Instant,
}

/// Runs `program args` to completion; the exit code must be one of `ok`.
fn run(program: &Path, args: &[String], ok: &[i32]) -> Run {
    let start = Instant::now();
    let child = Command::new(program)
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("HTTPS_PROXY")
        .env_remove("https_proxy")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e}", program.display()));
    let pid = child.id() as libc::pid_t;
    // Peak memory from the child's own VmHWM (its high-water mark since exec), sampled until it exits:
    // wait4's ru_maxrss would include this process's memory (kubesim's objects) inherited at spawn.
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sampler = {
        let done = done.clone();
        std::thread::spawn(move || {
            let mut peak = 0u64;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                if let Some(kib) = vm_hwm_kib(pid) {
                    peak = peak.max(kib);
                }
                std::thread::sleep(Duration::from_millis(1));
            }
            peak
        })
    };
    let mut status: libc::c_int = 0;
    // SAFETY: a zeroed rusage is valid; wait4 fills it for our own child, which std has not reaped.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let ended = Instant::now();
    let wall = ended - start;
    std::mem::forget(child); // reaped by wait4
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let peak = sampler.join().unwrap_or(0);
    assert_eq!(r, pid, "wait4");
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    if !ok.contains(&code) {
        let out = Command::new(program).args(args).output().unwrap();
        panic!(
            "{} {args:?} exited {code}:\n{}{}",
            program.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    Run {
        wall,
        cpu: tv(usage.ru_utime) + tv(usage.ru_stime),
        max_rss_kib: peak,
        ended,
    }
}

/// `VmHWM` of a running process, in KiB.
fn vm_hwm_kib(pid: libc::pid_t) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Several processes one after another (what a user types for the yardstick), as one run.
fn run_all(steps: &[(PathBuf, Vec<String>)]) -> Run {
    let mut total = Run {
        wall: Duration::ZERO,
        cpu: Duration::ZERO,
        max_rss_kib: 0,
        ended: Instant::now(),
    };
    for (program, args) in steps {
        let r = run(program, args, &[0, 1]);
        total.wall += r.wall;
        total.cpu += r.cpu;
        total.max_rss_kib = total.max_rss_kib.max(r.max_rss_kib);
        total.ended = r.ended;
    }
    total
}

/// The median wall and CPU of `runs` runs, and the largest peak memory.
fn measure(runs: usize, mut f: impl FnMut() -> Run) -> Run {
    f(); // warm-up: page cache, the server's first TLS handshake
    let mut all: Vec<Run> = (0..runs).map(|_| f()).collect();
    all.sort_by_key(|r| r.wall);
    let mut cpus: Vec<Duration> = all.iter().map(|r| r.cpu).collect();
    cpus.sort();
    Run {
        wall: all[all.len() / 2].wall,
        cpu: cpus[cpus.len() / 2],
        max_rss_kib: all.iter().map(|r| r.max_rss_kib).max().unwrap_or(0),
        ended: all[all.len() / 2].ended,
    }
}

struct Row {
    case: String,
    ours: Run,
    theirs: Option<(String, Run)>,
    rtt: Option<Duration>,
    connections: Option<usize>,
}

fn print(rows: &[Row]) {
    let ms = |d: Duration| format!("{:.0}ms", d.as_secs_f64() * 1000.0);
    let mib = |k: u64| format!("{:.1}MiB", k as f64 / 1024.0);
    println!(
        "\n{:<52} {:>9} {:>9} {:>10} {:>6} {:>6}   {:<46} {:>9} {:>10} {:>7}",
        "case",
        "ours",
        "ours CPU",
        "ours RSS",
        "RTTs",
        "conns",
        "yardstick",
        "theirs",
        "their RSS",
        "ratio"
    );
    for r in rows {
        let rtts = match r.rtt {
            Some(rtt) if !rtt.is_zero() => {
                format!("{:.1}", r.ours.wall.as_secs_f64() / rtt.as_secs_f64())
            }
            _ => "-".into(),
        };
        let conns = r.connections.map(|c| c.to_string()).unwrap_or("-".into());
        let (name, theirs, rss, ratio) = match &r.theirs {
            Some((n, t)) => (
                n.as_str(),
                ms(t.wall),
                mib(t.max_rss_kib),
                format!("{:.2}", r.ours.wall.as_secs_f64() / t.wall.as_secs_f64()),
            ),
            None => ("-", "-".into(), "-".into(), "-".into()),
        };
        println!(
            "{:<52} {:>9} {:>9} {:>10} {:>6} {:>6}   {:<46} {:>9} {:>10} {:>7}",
            r.case,
            ms(r.ours.wall),
            ms(r.ours.cpu),
            mib(r.ours.max_rss_kib),
            rtts,
            conns,
            name,
            theirs,
            rss,
            ratio
        );
    }
}

/// One crash-looping pod (with its logs and BackOff event) next to a healthy Deployment.
fn one_pod() -> String {
    let api = CrashLoop {
        namespace: "shop".into(),
        labels: Some("{app: api}".into()),
        memory_limit: Some("256Mi".into()),
        previous_logs: Some(
            "starting api\nloading config\npanic: assignment to entry in nil map\ngoroutine 1 [running]:\nmain.main()\n".into(),
        ),
        logs: Some("starting api\n".into()),
        back_off_events: Some(31),
        ..Default::default()
    };
    format!(
        "{}---\n{}",
        api.yaml(),
        scenarios::web_deployment("shop", 2, "shop/web:2.0")
    )
}

/// `failing` crash-looping pods (a BackOff event each) over 10 namespaces, and `other_events` events
/// about pods that are gone.
fn failing_pods(failing: usize, other_events: usize) -> String {
    let mut y = String::with_capacity(failing * 900 + other_events * 300);
    for i in 0..failing {
        let ns = format!("team-{}", i % 10);
        y.push_str(&format!(
            "---\napiVersion: v1\nkind: Pod\nmetadata: {{name: crash-{i}, namespace: {ns}, uid: u-crash-{i}}}\nspec:\n  nodeName: node-1\n  containers: [{{name: app, image: team/app:1}}]\nstatus:\n  phase: Running\n  containerStatuses:\n  - name: app\n    image: team/app:1\n    ready: false\n    restartCount: 4\n    state: {{waiting: {{reason: CrashLoopBackOff, message: back-off}}}}\n    lastState: {{terminated: {{exitCode: 1, reason: Error, startedAt: \"2026-01-01T10:00:00Z\", finishedAt: \"2026-01-01T10:00:03Z\"}}}}\n---\napiVersion: v1\nkind: Event\nmetadata: {{namespace: {ns}, name: crash-{i}.1}}\ninvolvedObject: {{kind: Pod, name: crash-{i}, namespace: {ns}, uid: u-crash-{i}}}\ntype: Warning\nreason: BackOff\nmessage: Back-off restarting failed container app in pod crash-{i}_{ns}\ncount: 3\nfirstTimestamp: \"2026-01-01T10:00:00Z\"\nlastTimestamp: \"2026-01-01T10:00:10Z\"\n"
        ));
    }
    for i in 0..other_events {
        let ns = format!("team-{}", i % 10);
        y.push_str(&format!(
            "---\napiVersion: v1\nkind: Event\nmetadata: {{namespace: {ns}, name: gone-{i}.1}}\ninvolvedObject: {{kind: Pod, name: gone-{i}, namespace: {ns}, uid: u-gone-{i}}}\ntype: Normal\nreason: Pulled\nmessage: Successfully pulled image\nfirstTimestamp: \"2026-01-01T10:00:00Z\"\nlastTimestamp: \"2026-01-01T10:00:00Z\"\n"
        ));
    }
    y
}

/// `pods` running pods, five per Deployment, over 10 namespaces, with a Service per Deployment.
fn workloads(pods: usize) -> String {
    let deployments = pods.div_ceil(5);
    let mut y = String::with_capacity(pods * 700 + deployments * 900);
    for d in 0..deployments {
        let ns = format!("team-{}", d % 10);
        y.push_str(&format!(
            "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: app-{d}, namespace: {ns}, generation: 1}}\nspec:\n  replicas: 5\n  selector: {{matchLabels: {{app: app-{d}}}}}\n  template:\n    metadata: {{labels: {{app: app-{d}}}}}\n    spec:\n      containers: [{{name: app, image: team/app:1, readinessProbe: {{httpGet: {{path: /, port: 8080}}}}}}]\nstatus: {{observedGeneration: 1, replicas: 5, readyReplicas: 5, updatedReplicas: 5, availableReplicas: 5}}\n---\napiVersion: v1\nkind: Service\nmetadata: {{name: app-{d}, namespace: {ns}}}\nspec:\n  selector: {{app: app-{d}}}\n  ports: [{{port: 80, targetPort: 8080}}]\n"
        ));
        for p in 0..5.min(pods - d * 5) {
            y.push_str(&format!(
                "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: app-{d}-7d4b9c-{p}\n  namespace: {ns}\n  labels: {{app: app-{d}}}\n  ownerReferences: [{{apiVersion: apps/v1, kind: ReplicaSet, name: app-{d}-7d4b9c, uid: u-rs-{d}, controller: true}}]\nspec:\n  nodeName: node-1\n  containers: [{{name: app, image: team/app:1}}]\nstatus:\n  phase: Running\n  containerStatuses: [{{name: app, image: team/app:1, ready: true, restartCount: 0, state: {{running: {{startedAt: \"2026-01-01T10:00:00Z\"}}}}}}]\n"
            ));
        }
    }
    y
}

/// Sleeps until just after the next whole second (the resolution of `restartedAt`).
fn next_second() {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    std::thread::sleep(
        Duration::from_millis(1_020) - Duration::from_millis(now.subsec_millis() as u64),
    );
}

/// Deployment `name` (2 pods, in `shop`) whose app needs `stop` (sim time) to exit after SIGTERM: a
/// restart of it waits that long for its last old pod to go.
fn stopping_deployment(name: &str, stop: &str) -> String {
    format!(
        r#"---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}, namespace: shop}}
spec:
  replicas: 2
  selector: {{matchLabels: {{app: {name}}}}}
  strategy: {{rollingUpdate: {{maxSurge: 1, maxUnavailable: 0}}}}
  template:
    metadata:
      labels: {{app: {name}}}
      annotations:
        kubesim.io/behavior: |
          app: {{readyAfter: 1s, startDelay: 1s, sigtermExit: {stop}}}
    spec:
      terminationGracePeriodSeconds: 600
      containers:
      - name: app
        image: shop/{name}:1
        readinessProbe: {{httpGet: {{path: /, port: 8080}}}}
"#
    )
}

/// The uids of the pods labelled `app={app}` in `shop`.
fn pod_uids(sim: &Sim, app: &str) -> Vec<String> {
    sim.list("v1", "Pod", Some("shop"))
        .iter()
        .filter(|p| p["metadata"]["labels"]["app"] == app)
        .filter_map(|p| p["metadata"]["uid"].as_str().map(str::to_string))
        .collect()
}

/// One restart, timed against its completion condition.
struct Wait {
    run: Run,
    /// The process's exit minus the moment its last old pod was gone, in ms (negative: it exited first).
    latency_ms: f64,
    /// The plugin's requests in the whole run, and those that were watches.
    requests: usize,
    watches: usize,
}

/// Restarts deploy/`app` and notes when its last old pod is gone: a thread reads kubesim's store every
/// millisecond (in process, so it adds no request to the plugin's count).
fn restart_wait(sim: &Sim, me: &Path, kc: &Path, app: &str) -> Wait {
    next_second();
    let old = pod_uids(sim, app);
    assert!(!old.is_empty(), "deploy/{app} has pods");
    sim.clear_requests();
    let exited = std::sync::atomic::AtomicBool::new(false);
    let (run_, gone) = std::thread::scope(|s| {
        let watcher = s.spawn(|| {
            let give_up = Duration::from_secs(60);
            let mut exited_at: Option<Instant> = None;
            loop {
                let now = pod_uids(sim, app);
                if !old.iter().any(|u| now.contains(u)) {
                    return Instant::now();
                }
                if exited.load(std::sync::atomic::Ordering::Relaxed) {
                    let t = *exited_at.get_or_insert_with(Instant::now);
                    assert!(
                        t.elapsed() < give_up,
                        "the old pods of deploy/{app} never went"
                    );
                }
                std::thread::sleep(Duration::from_millis(1));
            }
        });
        let a = args(
            &[
                "restart",
                &format!("deploy/{app}"),
                "-n",
                "shop",
                "--timeout",
                "2m",
            ],
            kc,
        );
        let r = run(me, &a, &[0]);
        exited.store(true, std::sync::atomic::Ordering::Relaxed);
        (r, watcher.join().expect("the watcher thread"))
    });
    let latency_ms = ms_after(run_.ended, gone);
    let requests = sim.requests();
    if std::env::var_os("BENCH_DEBUG").is_some() {
        for r in &requests {
            let off = ms_after(r.at, gone);
            eprintln!(
                "DEBUG {off:9.1}ms {} {} {} {}",
                r.method, r.path, r.query, r.status
            );
        }
        eprintln!("DEBUG exit {latency_ms:.1}ms");
    }
    Wait {
        run: run_,
        latency_ms,
        requests: requests.len(),
        watches: requests.iter().filter(|r| r.watch).count(),
    }
}

/// `t` minus `since` in ms, negative when `t` came first.
fn ms_after(t: Instant, since: Instant) -> f64 {
    match t.checked_duration_since(since) {
        Some(d) => d.as_secs_f64() * 1000.0,
        None => -(since - t).as_secs_f64() * 1000.0,
    }
}

/// restart-wait's table: per wait, the median wall, the median and largest latency, each run's
/// requests and watches.
fn print_waits(waits: &[(String, Vec<Wait>)]) {
    if waits.is_empty() {
        return;
    }
    println!(
        "\nrestart deploy (2 pods): exit minus the moment its last old pod was gone (the completion condition), and its requests per run\n{:<36} {:>9} {:>12} {:>12} {:>16} {:>16}",
        "wait", "wall", "latency med", "latency max", "requests", "of them watches"
    );
    let list = |v: Vec<usize>| {
        v.iter()
            .map(|n| n.to_string())
            .collect::<Vec<_>>()
            .join(",")
    };
    for (case, all) in waits {
        let (median, max) = median_max(all.iter().map(|w| w.latency_ms).collect());
        let mut walls: Vec<Duration> = all.iter().map(|w| w.run.wall).collect();
        walls.sort();
        println!(
            "{:<36} {:>7.0}ms {:>10.1}ms {:>10.1}ms {:>16} {:>16}",
            case,
            walls[walls.len() / 2].as_secs_f64() * 1000.0,
            median,
            max,
            list(all.iter().map(|w| w.requests).collect()),
            list(all.iter().map(|w| w.watches).collect())
        );
    }
}

/// Median and largest of `xs`.
fn median_max(mut xs: Vec<f64>) -> (f64, f64) {
    xs.sort_by(f64::total_cmp);
    (xs[xs.len() / 2], xs[xs.len() - 1])
}

fn sim_with(yaml: String) -> Sim {
    Sim::start(SimOptions {
        time_scale: 20.0,
        scenario_yaml: vec![yaml],
        ..Default::default()
    })
    .expect("start kubesim")
}

/// A kubeconfig for `sim` whose server is `port` on 127.0.0.1 (the distance relay).
fn kubeconfig_via(sim: &Sim, port: u16, dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(sim.kubeconfig_path()).unwrap();
    let text = text.replace(&sim.url(), &format!("https://127.0.0.1:{port}"));
    let path = dir.join(format!("kubeconfig-{port}"));
    std::fs::write(&path, text).unwrap();
    path
}

fn args(list: &[&str], kubeconfig: &Path) -> Vec<String> {
    let mut v: Vec<String> = list.iter().map(|s| s.to_string()).collect();
    v.push("--kubeconfig".into());
    v.push(kubeconfig.display().to_string());
    v
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // test discovery: nothing to list
    }
    let full = std::env::args().any(|a| a == "--bench");
    let runs: usize = match full {
        true => std::env::var("BENCH_RUNS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(5),
        false => 1,
    };
    let me = PathBuf::from(env!("CARGO_BIN_EXE_kubectl-graceful"));
    let kubectl = kubesim::tools::kubectl("the benchmark's kubectl yardsticks");
    let dir = tempfile::tempdir().unwrap();
    let mut rows = Vec::new();
    let only = std::env::var("BENCH_CASES").unwrap_or_default();
    let wanted = |case: &str| only.is_empty() || only.split(',').any(|c| c.trim() == case);

    // Start-up.
    if wanted("startup") {
        let ours = measure(runs * 2, || run(&me, &["--version".into()], &[0]));
        let theirs = kubectl.as_ref().map(|k| {
            let a = vec!["version".to_string(), "--client".to_string()];
            (
                "kubectl version --client".to_string(),
                measure(runs * 2, || run(k, &a, &[0])),
            )
        });
        rows.push(Row {
            case: "start-up: --version".into(),
            ours,
            theirs,
            rtt: None,
            connections: None,
        });
    }

    // One failed pod at a distance.
    let sim = sim_with(one_pod());
    let rtts: &[u64] = if full { &[0, 25, 100] } else { &[0, 5] };
    for &ms in rtts.iter().filter(|_| wanted("explain")) {
        let rtt = Duration::from_millis(ms);
        let relay = Distance::start(sim.url().rsplit(':').next().unwrap().parse().unwrap(), rtt);
        let kc = kubeconfig_via(&sim, relay.port, dir.path());
        let before = relay.connections();
        let ours = measure(runs, || {
            run(&me, &args(&["explain", "api-0", "-n", "shop"], &kc), &[1])
        });
        let per_run = (relay.connections() - before) / (runs + 1);
        let theirs = kubectl.as_ref().map(|k| {
            let steps = [
                (
                    k.clone(),
                    args(&["describe", "pod", "api-0", "-n", "shop"], &kc),
                ),
                (
                    k.clone(),
                    args(&["logs", "--previous", "api-0", "-n", "shop"], &kc),
                ),
            ];
            (
                "kubectl describe pod + logs --previous".to_string(),
                measure(runs, || run_all(&steps)),
            )
        });
        rows.push(Row {
            case: format!("explain one failed pod, RTT {ms}ms"),
            ours,
            theirs,
            rtt: Some(rtt),
            connections: Some(per_run),
        });
    }

    // A restart, until its new pods are Ready and the old ones gone. Each run starts in a new second:
    // `restartedAt` has seconds precision, so a restart within the second of the previous one would
    // change nothing (kubectl) or wait for the next second (kubectl-graceful).
    if wanted("restart") {
        assert!(sim.wait_until(Duration::from_secs(60), |s| s
            .get("apps/v1", "Deployment", Some("shop"), "web")
            .is_some_and(|d| d["status"]["readyReplicas"] == 2)));
        let kc = sim.kubeconfig_path().to_path_buf();
        let ours = measure(runs, || {
            next_second();
            run(
                &me,
                &args(
                    &["restart", "deploy/web", "-n", "shop", "--timeout", "2m"],
                    &kc,
                ),
                &[0],
            )
        });
        let theirs = kubectl.as_ref().map(|k| {
            let steps = [
                (
                    k.clone(),
                    args(&["rollout", "restart", "deploy/web", "-n", "shop"], &kc),
                ),
                (
                    k.clone(),
                    args(
                        &[
                            "rollout",
                            "status",
                            "deploy/web",
                            "-n",
                            "shop",
                            "--timeout=2m",
                        ],
                        &kc,
                    ),
                ),
            ];
            let measured = measure(runs, || {
                next_second();
                run_all(&steps)
            });
            (
                "kubectl rollout restart + rollout status".to_string(),
                measured,
            )
        });
        rows.push(Row {
            case: "restart deploy/web (2 pods)".into(),
            ours,
            theirs,
            rtt: None,
            connections: None,
        });
    }
    drop(sim);

    // restart's wait: from its completion condition (the last old pod gone) to the process's exit, and
    // its requests, for a short and a long wait (the old pods take 1 s or 60 s of sim time to stop).
    let mut waits: Vec<(String, Vec<Wait>)> = Vec::new();
    if wanted("restart-wait") {
        let long = if full { "60s" } else { "10s" };
        let sim = sim_with(format!(
            "{}{}",
            stopping_deployment("quick", "1s"),
            stopping_deployment("slow", long)
        ));
        let kc = sim.kubeconfig_path().to_path_buf();
        for (app, stop) in [("quick", "1s"), ("slow", long)] {
            assert!(sim.wait_until(Duration::from_secs(60), |s| s
                .get("apps/v1", "Deployment", Some("shop"), app)
                .is_some_and(|d| d["status"]["readyReplicas"] == 2)));
            restart_wait(&sim, &me, &kc, app); // warm-up
            let all: Vec<Wait> = (0..runs)
                .map(|_| restart_wait(&sim, &me, &kc, app))
                .collect();
            waits.push((
                format!("old pods stop in {stop} (sim, x{})", sim.time_scale()),
                all,
            ));
        }
    }

    // explain -A over failing pods.
    let sizes: &[(usize, usize)] = if full {
        &[(300, 10_000), (1_000, 10_000), (3_000, 10_000)]
    } else {
        &[(20, 50)]
    };
    for &(failing, events) in sizes.iter().filter(|_| wanted("explain-all")) {
        let sim = sim_with(failing_pods(failing, events));
        let kc = sim.kubeconfig_path().to_path_buf();
        let scale_runs = runs.min(3);
        let ours = measure(scale_runs, || {
            run(&me, &args(&["explain", "-A", "--no-logs"], &kc), &[1])
        });
        let theirs = kubectl.as_ref().map(|k| {
            let a = args(&["describe", "pods", "-A"], &kc);
            (
                "kubectl describe pods -A".to_string(),
                measure(scale_runs, || run(k, &a, &[0])),
            )
        });
        rows.push(Row {
            case: format!("explain -A: {failing} failing pods, {events} other events"),
            ours,
            theirs,
            rtt: None,
            connections: None,
        });
    }

    // diagnose -A over workloads.
    let sizes: &[usize] = if full { &[100, 1_000, 10_000] } else { &[50] };
    for &pods in sizes.iter().filter(|_| wanted("diagnose")) {
        let sim = sim_with(workloads(pods));
        let kc = sim.kubeconfig_path().to_path_buf();
        let scale_runs = runs.min(3);
        let ours = measure(scale_runs, || {
            run(&me, &args(&["diagnose", "-A", "-o", "json"], &kc), &[0, 1])
        });
        let theirs = kubectl.as_ref().map(|k| {
            let a = args(
                &["get", "deploy,sts,ds,pdb,svc,hpa,pods", "-A", "-o", "json"],
                &kc,
            );
            (
                "kubectl get deploy,…,pods -A -o json".to_string(),
                measure(scale_runs, || run(k, &a, &[0])),
            )
        });
        if std::env::var_os("BENCH_DEBUG").is_some() {
            sim.clear_requests();
            let t = Instant::now();
            let r = run(&me, &args(&["diagnose", "-A", "-o", "json"], &kc), &[0, 1]);
            for q in sim.requests() {
                let meta = q.accept.contains("as=PartialObjectMetadataList");
                eprintln!(
                    "DEBUG {:8.1}ms {} {}{}",
                    ms_after(q.at, t),
                    q.path,
                    q.query,
                    if meta { " (metadata only)" } else { "" }
                );
            }
            eprintln!("DEBUG exit {:8.1}ms", ms_after(r.ended, t));
        }
        rows.push(Row {
            case: format!("diagnose -A: {pods} pods, {} workloads", pods.div_ceil(5)),
            ours,
            theirs,
            rtt: None,
            connections: None,
        });
    }

    println!(
        "\n{} run(s) per case (median wall and CPU, largest peak RSS); RTT = the distance relay's round trip",
        runs
    );
    print(&rows);
    print_waits(&waits);
}
