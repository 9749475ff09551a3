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
//! Each row: median wall time, CPU (user + system) and peak memory (VmHWM, sampled every ms) of the
//! process(es), the
//! ratio ours / yardstick, and for the distance rows the wall time in RTTs and the TCP connections the
//! run opened.
//!
//! `cargo bench --bench compare` runs the full series (release build; `BENCH_RUNS`, default 5;
//! `BENCH_CASES=restart,diagnose` runs only those of `startup`, `explain`, `restart`, `explain-all`,
//! `diagnose`).
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
    let wall = start.elapsed();
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
    };
    for (program, args) in steps {
        let r = run(program, args, &[0, 1]);
        total.wall += r.wall;
        total.cpu += r.cpu;
        total.max_rss_kib = total.max_rss_kib.max(r.max_rss_kib);
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
}
