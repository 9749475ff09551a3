//! End-to-end: the built plugin against a real control plane (etcd, kube-apiserver,
//! kube-controller-manager, kube-scheduler built from upstream; simulated nodes), on every
//! Kubernetes version of the test bed, with the real `kubectl rollout status` as the judge.
//!
//! Its own runner (`harness = false`): one control plane per version, started at once, and the
//! scenarios in parallel namespaces (`E2E_THREADS`, default 8), since they mostly wait on real
//! time. `cargo test --test e2e [FILTER…]` runs the scenarios whose `VERSION::name` contains a
//! filter; `E2E_K8S=1.37` limits the versions.
//!
//! The conformance scenarios (`VERSION::conformance::NAME`, see `conformance/mod.rs`) run here
//! too, sharing the control planes: each runs on the test bed and, at the same time, on a kubesim
//! of the same version, and the two traces must agree.

mod conformance;
mod support;

use serde_json::Value;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use support::manifests::{self, Meta};
use support::{is_ready, restarted_at, Cluster};

type Scenario = fn(&Cluster);

/// What one job of the runner does: an e2e scenario, or a conformance comparison.
#[derive(Clone, Copy)]
enum Job {
    E2e(Scenario),
    Conformance(&'static conformance::Scenario),
}

const SCENARIOS: &[(&str, Scenario)] = &[
    (
        "restart_deployment_rolling_update",
        restart_deployment_rolling_update,
    ),
    (
        "restart_deployment_recreate_needs_force",
        restart_deployment_recreate_needs_force,
    ),
    (
        "restart_statefulset_rolling_update",
        restart_statefulset_rolling_update,
    ),
    (
        "restart_statefulset_partition",
        restart_statefulset_partition,
    ),
    (
        "restart_statefulset_ondelete_through_evictions",
        restart_statefulset_ondelete,
    ),
    (
        "restart_daemonset_max_unavailable",
        restart_daemonset_max_unavailable,
    ),
    ("restart_daemonset_max_surge", restart_daemonset_max_surge),
    (
        "restart_three_targets_in_sequence",
        restart_three_targets_in_sequence,
    ),
    (
        "restart_bad_release_fails_fast_with_the_verdict",
        restart_bad_release_fails_fast,
    ),
    (
        "restart_rollback_on_failure_restores_the_template",
        restart_rollback_on_failure,
    ),
    (
        "restart_pods_through_evictions_and_a_pdb_refusal",
        restart_pods_and_pdb_refusal,
    ),
    (
        "restart_dry_run_sends_no_write",
        restart_dry_run_sends_no_write,
    ),
    (
        "restart_bare_pod_survives_sigint_during_the_eviction",
        restart_bare_pod_survives_sigint,
    ),
    (
        "restart_bare_pod_survives_sigterm_143_with_interrupted_and_summary",
        restart_bare_pod_survives_sigterm,
    ),
    (
        "restart_bare_pod_survives_the_timeout_during_the_eviction",
        restart_bare_pod_survives_the_timeout,
    ),
    (
        "restart_timeout_holds_while_the_api_server_hangs",
        restart_timeout_while_the_api_server_hangs,
    ),
    (
        "explain_unschedulable_insufficient_cpu",
        explain_insufficient_cpu,
    ),
    ("explain_unschedulable_node_selector", explain_node_selector),
    (
        "explain_pod_evicted_through_the_eviction_api",
        explain_eviction_api,
    ),
    (
        "explain_crash_loop_with_previous_logs",
        explain_crash_loop_previous_logs,
    ),
    ("explain_oom_killed", explain_oom_killed),
    ("explain_liveness_kill", explain_liveness_kill),
    (
        "explain_node_pressure_eviction",
        explain_node_pressure_eviction,
    ),
    ("explain_node_shutdown", explain_node_shutdown),
    ("diagnose_live_namespace", diagnose_live_namespace),
    (
        "kubelet_terminating_pod_keeps_serving_during_pre_stop",
        kubelet_terminating_pod_serves,
    ),
    (
        "kubelet_pod_answers_until_sigterm_then_refuses",
        kubelet_pod_answers_then_refuses,
    ),
    (
        "zerodowntime_no_prestop_races_the_endpoint_removal",
        zerodowntime_no_prestop_races,
    ),
    (
        "zerodowntime_prestop_pause_longer_than_the_margin_is_ok",
        zerodowntime_prestop_pause_is_ok,
    ),
    (
        "zerodowntime_recreate_leaves_no_ready_endpoint",
        zerodowntime_recreate_is_violated,
    ),
    (
        "zerodowntime_worker_no_service_selects_is_not_applicable",
        zerodowntime_worker_is_not_applicable,
    ),
    (
        "zerodowntime_without_access_to_endpointslices_is_unknown",
        zerodowntime_forbidden_is_unknown,
    ),
];

/// Scenarios that stop the test bed's API server (every namespace notices): run one at a time,
/// after the others.
const EXCLUSIVE: &[&str] = &["restart_timeout_holds_while_the_api_server_hangs"];

/// Scenarios that need nothing of the test bed's own (audit log, kubelet faults) also run on a
/// kubesim each: the same scenario passing on both back-ends (the seed of a conformance suite).
const ON_KUBESIM: &[&str] = &[
    "restart_deployment_recreate_needs_force",
    "restart_statefulset_rolling_update",
    "explain_crash_loop_with_previous_logs",
    "explain_unschedulable_node_selector",
    // Not the probing zero-downtime scenarios: at kubesim's 10× time a restart lasts a second or
    // two of real time, too few of the probe's 150 ms requests (tests/it/restart/zerodowntime.rs
    // runs them on a kubesim tuned for it).
    "zerodowntime_worker_no_service_selects_is_not_applicable",
];

fn main() {
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    if std::env::args().any(|a| a == "--list") {
        for (name, _) in SCENARIOS {
            println!("{name}: test");
        }
        for c in conformance::SCENARIOS {
            println!("conformance::{}: test", c.name);
        }
        return;
    }
    let versions: Vec<String> = std::env::var("E2E_K8S")
        .unwrap_or_else(|_| testbed::controlplane::VERSIONS.join(","))
        .split(',')
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(String::from)
        .collect();
    let on_kubesim = std::env::var("E2E_K8S").map_or(true, |v| v.contains("kubesim"));
    let all: Vec<(String, String, Job)> = versions
        .iter()
        .filter(|v| v.as_str() != "kubesim")
        .flat_map(|v| {
            SCENARIOS
                .iter()
                .map(move |(n, f)| (v.clone(), n.to_string(), Job::E2e(*f)))
                .chain(conformance::SCENARIOS.iter().map(move |c| {
                    (
                        v.clone(),
                        format!("conformance::{}", c.name),
                        Job::Conformance(c),
                    )
                }))
        })
        .chain(
            SCENARIOS
                .iter()
                .filter(|(n, _)| on_kubesim && ON_KUBESIM.contains(n))
                .map(|(n, f)| ("kubesim".to_string(), n.to_string(), Job::E2e(*f))),
        )
        .collect();
    let total = all.len();
    let jobs: Vec<(String, String, Job)> = all
        .into_iter()
        .filter(|(v, n, _)| {
            filters.is_empty()
                || filters
                    .iter()
                    .any(|f| format!("{v}::{n}").contains(f.as_str()))
        })
        .collect();
    if jobs.is_empty() {
        println!(
            "test result: ok. 0 passed; 0 failed; 0 ignored; 0 measured; {} filtered out",
            total
        );
        return;
    }
    if !gotools::require_go("the e2e suite") || !support::require_kubectl("the e2e suite") {
        println!(
            "test result: ok. 0 passed; 0 failed; {} ignored; 0 measured; 0 filtered out",
            jobs.len()
        );
        return;
    }
    let started = Instant::now();
    // Failures are reported with their message below; the default hook's backtraces (CI sets
    // RUST_BACKTRACE) would bury them.
    std::panic::set_hook(Box::new(|info| {
        let at = info.location().map(|l| l.to_string()).unwrap_or_default();
        eprintln!("e2e: panicked at {at}");
    }));
    // Start the control planes at once (each builds its binaries on first use).
    let needed: Vec<String> = {
        let mut v: Vec<String> = jobs
            .iter()
            .map(|(v, _, _)| v.clone())
            .filter(|v| v != "kubesim")
            .collect();
        v.dedup();
        v
    };
    std::thread::scope(|s| {
        for v in &needed {
            s.spawn(move || {
                let tb = testbed::Testbed::shared(v);
                let mem: u64 = tb.memory_kib().iter().map(|(_, k)| k).sum();
                eprintln!(
                    "e2e: Kubernetes {} test bed started in {:.1?} ({} MiB resident)",
                    tb.minor(),
                    tb.startup_time(),
                    mem / 1024
                );
            });
        }
    });

    let threads: usize = std::env::var("E2E_THREADS")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or(8);
    println!("\nrunning {} tests", jobs.len());
    let failures: Mutex<Vec<(String, String)>> = Mutex::default();
    let passed = AtomicUsize::new(0);
    let run_job = |(v, name, f): &(String, String, Job)| {
        let id = format!("{v}::{name}");
        let t0 = Instant::now();
        let result = std::panic::catch_unwind(AssertUnwindSafe(|| match *f {
            Job::E2e(f) => {
                let c = if v == "kubesim" {
                    Cluster::start_kubesim(kubesim::SimOptions::default(), "default")
                } else {
                    Cluster::testbed(v, &namespace_name(name, v)).expect("test bed")
                };
                f(&c);
            }
            Job::Conformance(sc) => conform(v, sc),
        }));
        match result {
            Ok(()) => {
                passed.fetch_add(1, Ordering::SeqCst);
                println!("test {id} ... ok ({:.1?})", t0.elapsed());
            }
            Err(p) => {
                let msg = p
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                println!("test {id} ... FAILED ({:.1?})", t0.elapsed());
                failures.lock().unwrap().push((id, msg));
            }
        }
    };
    // Scenarios that stop the shared API server run alone, after the others.
    let (alone, shared): (Vec<_>, Vec<_>) = jobs
        .iter()
        .partition(|(v, n, _)| v != "kubesim" && EXCLUSIVE.contains(&n.as_str()));
    let next = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..threads.min(shared.len()) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(job) = shared.get(i) else {
                    break;
                };
                run_job(job);
            });
        }
    });
    for job in alone {
        run_job(job);
    }
    let failures = failures.into_inner().unwrap();
    if !failures.is_empty() {
        println!("\nfailures:\n");
        for (id, msg) in &failures {
            println!("---- {id} ----\n{msg}\n");
        }
        println!("failures:");
        for (id, _) in &failures {
            println!("    {id}");
        }
    }
    let ok = failures.is_empty();
    println!(
        "\ntest result: {}. {} passed; {} failed; 0 ignored; 0 measured; {} filtered out; finished in {:.2}s\n",
        if ok { "ok" } else { "FAILED" },
        passed.load(Ordering::SeqCst),
        failures.len(),
        total - jobs.len(),
        started.elapsed().as_secs_f64()
    );
    if !ok {
        std::process::exit(101);
    }
}

/// Run `sc` on the test bed of `version` and on a kubesim of the same version at once; the
/// traces must agree.
fn conform(version: &str, sc: &conformance::Scenario) {
    let tb = Cluster::testbed(
        version,
        &namespace_name(&format!("conf_{}", sc.name), version),
    )
    .expect("test bed");
    let served: Value =
        serde_json::from_str(&tb.kubectl(&["get", "--raw", "/version"]).stdout).expect("/version");
    let server_version = served["gitVersion"]
        .as_str()
        .expect("gitVersion")
        .to_string();
    let (reference, candidate) = std::thread::scope(|s| {
        let real = s.spawn(|| conformance::record(&tb, sc));
        let sim = s.spawn(|| {
            let opts = kubesim::SimOptions {
                time_scale: 1.0,
                server_version: server_version.clone(),
                ..Default::default()
            };
            conformance::record(&Cluster::start_kubesim(opts, "default"), sc)
        });
        let join = |h: std::thread::ScopedJoinHandle<'_, _>| {
            h.join().unwrap_or_else(|p| std::panic::resume_unwind(p))
        };
        (join(real), join(sim))
    });
    let diffs = testbed::trace::compare(&reference, &candidate, testbed::trace::TRANSIENT_MS);
    if !diffs.is_empty() {
        let list: Vec<String> = diffs.iter().map(|d| format!("  - {d}")).collect();
        panic!(
            "kubesim ({server_version}) differs from the test bed:\n{}\ntest bed:\n{}kubesim:\n{}",
            list.join("\n"),
            reference.render(),
            candidate.render()
        );
    }
}

/// `restart_three_targets_in_sequence` on 1.37 → `restart-three-targets-in-sequence-137` (≤ 63).
fn namespace_name(name: &str, version: &str) -> String {
    let v = version.replace('.', "");
    let base: String = name.replace('_', "-").chars().take(58).collect();
    format!("{}-{v}", base.trim_end_matches('-'))
}

// ---------- manifests ----------

/// What e2e adds to a manifest: the label `tier: backend`.
const META: Meta = Meta {
    namespace: None,
    labels: Some("{tier: backend}"),
    extra_spec: None,
};

/// A Deployment whose pods are Ready 1 s after they start; `annotations` go on the template.
fn deployment(name: &str, replicas: u32, strategy: &str, annotations: &str) -> String {
    manifests::deployment(&META, name, replicas, strategy, annotations)
}

const SURGE: &str = "{type: RollingUpdate, rollingUpdate: {maxSurge: 1, maxUnavailable: 0}}";

fn statefulset(name: &str, replicas: u32, strategy: &str) -> String {
    manifests::statefulset(&META, name, replicas, strategy)
}

fn daemonset(name: &str, strategy: &str) -> String {
    manifests::daemonset(&META, name, strategy, None)
}

/// A PodDisruptionBudget for `app: NAME` (not labelled).
fn pdb(name: &str, spec: &str) -> String {
    manifests::pdb(&Meta::default(), name, &format!("{{app: {name}}}"), spec)
}

/// A bare pod running `behavior`.
fn pod(name: &str, behavior: &str, spec_extra: &str) -> String {
    format!(
        r#"
apiVersion: v1
kind: Pod
metadata:
  name: {name}
  labels: {{app: {name}}}
  annotations:
    kubesim.io/behavior: '{behavior}'
spec:
  terminationGracePeriodSeconds: 30
  {spec_extra}
  containers:
  - name: app
    image: registry.example/{name}:1.0
"#
    )
}

// ---------- checks ----------

/// Every pod of `app` is Ready and carries the workload's current restartedAt; `n` of them.
fn assert_restarted(c: &Cluster, kind: &str, app: &str, n: usize) -> String {
    let w = c.get(&[kind, app]);
    let value = restarted_at(&w).unwrap_or_else(|| panic!("{kind}/{app} has no restartedAt"));
    let pods = c.pods(&format!("app={app}"));
    let live: Vec<&Value> = pods
        .iter()
        .filter(|p| p.pointer("/metadata/deletionTimestamp").is_none())
        .collect();
    assert_eq!(
        live.len(),
        n,
        "[{}] pods of {app} after the restart: {pods:#?}",
        c.backend
    );
    for p in &live {
        assert!(
            is_ready(p),
            "[{}] not Ready when restart returned: {p:#?}",
            c.backend
        );
        assert_eq!(
            restarted_at(p).as_deref(),
            Some(value.as_str()),
            "[{}] old pod left: {p:#?}",
            c.backend
        );
    }
    value
}

/// `kubectl rollout status` says the same as the plugin: complete.
fn rollout_status_agrees(c: &Cluster, target: &str) {
    let out = c.kubectl(&["rollout", "status", target, "--timeout=30s"]);
    assert_eq!(
        out.code, 0,
        "[{}] kubectl rollout status {target} disagrees:\n{out}",
        c.backend
    );
}

fn ok(c: &Cluster, args: &[&str]) -> support::Output {
    let out = c.graceful(args);
    assert_eq!(out.code, 0, "[{}] {out}", c.backend);
    out
}

/// The uids of the pods that match `selector`.
fn uids(c: &Cluster, selector: &str) -> Vec<String> {
    c.pods(selector)
        .iter()
        .map(|p| p["metadata"]["uid"].to_string())
        .collect()
}

/// How many evictions of the plugin's the API server accepted (the audit log shows them).
fn evictions(c: &Cluster) -> usize {
    // Accepted ones only: a 429 while the disruption controller has not yet counted the last
    // replacement healthy is upstream's answer, and the plugin backs off and asks again.
    c.audit_events()
        .iter()
        .filter(|e| {
            e["userAgent"]
                .as_str()
                .is_some_and(|a| a.starts_with("kubectl-graceful/"))
                && e["verb"] == "create"
                && e["requestURI"]
                    .as_str()
                    .is_some_and(|u| u.contains("/eviction"))
                && e["responseStatus"]["code"]
                    .as_u64()
                    .is_some_and(|c| (200..300).contains(&c))
        })
        .count()
}

/// `graceful restart TARGET FLAGS…` exits 0, leaves `n` pods of TARGET's app, all restarted and
/// Ready ([`assert_restarted`]; `kind` is TARGET's kind for `kubectl get`), and `kubectl rollout
/// status` agrees.
fn restarts_cleanly(
    c: &Cluster,
    target: &str,
    flags: &[&str],
    kind: &str,
    n: usize,
) -> support::Output {
    let app = target.split_once('/').expect("KIND/NAME").1;
    let out = ok(c, &[&["restart", target], flags].concat());
    assert_restarted(c, kind, app, n);
    rollout_status_agrees(c, target);
    out
}

// ---------- restart ----------

fn restart_deployment_rolling_update(c: &Cluster) {
    c.apply(&deployment("web", 3, SURGE, ""));
    c.wait_ready("app=web", 3);
    let before = uids(c, "app=web");
    let out = ok(c, &["restart", "deploy/web"]);
    assert!(out.stdout.contains("Complete"), "{out}");
    assert_restarted(c, "deployment", "web", 3);
    let after = uids(c, "app=web");
    assert!(
        after.iter().all(|u| !before.contains(u)),
        "old pods left: {before:?} {after:?}"
    );
    rollout_status_agrees(c, "deploy/web");
    // The ReplicaSet controller asked for the deletions; the kubelet finished each one.
    let kubelet_deletes = c
        .audit_events()
        .into_iter()
        .filter(|e| e["user"]["username"] == "testbed-kubelet" && e["verb"] == "delete")
        .count();
    assert!(
        kubelet_deletes >= 3,
        "{kubelet_deletes} pod deletions by the kubelet"
    );
}

fn restart_deployment_recreate_needs_force(c: &Cluster) {
    c.apply(&deployment("recreate", 2, "{type: Recreate}", ""));
    c.wait_ready("app=recreate", 2);
    let refused = c.graceful(&["restart", "deploy/recreate"]);
    assert_eq!(refused.code, 1, "{refused}");
    assert!(refused.text().contains("[recreate-strategy]"), "{refused}");
    assert!(
        restarted_at(&c.get(&["deployment", "recreate"])).is_none(),
        "refused, yet patched"
    );
    restarts_cleanly(c, "deploy/recreate", &["--force"], "deployment", 2);
}

fn restart_statefulset_rolling_update(c: &Cluster) {
    c.apply(&statefulset("db", 3, "{type: RollingUpdate}"));
    c.wait_ready("app=db", 3);
    restarts_cleanly(c, "sts/db", &[], "statefulset", 3);
}

fn restart_statefulset_partition(c: &Cluster) {
    c.apply(&statefulset(
        "part",
        3,
        "{type: RollingUpdate, rollingUpdate: {partition: 2}}",
    ));
    c.wait_ready("app=part", 3);
    ok(c, &["restart", "sts/part", "--force"]);
    let value = restarted_at(&c.get(&["statefulset", "part"])).expect("restartedAt");
    for p in c.pods("app=part") {
        let name = p["metadata"]["name"].as_str().unwrap().to_string();
        let restarted = restarted_at(&p).as_deref() == Some(value.as_str());
        assert_eq!(
            restarted,
            name == "part-2",
            "{name}: only the pods at or above the partition: {p:#?}"
        );
        assert!(is_ready(&p), "{p:#?}");
    }
    rollout_status_agrees(c, "sts/part");
}

fn restart_statefulset_ondelete(c: &Cluster) {
    // OnDelete: the plugin evicts the pods one at a time (a PDB allows one), and completion is
    // judged from the pods, since up to 1.35 status.currentRevision never catches up.
    c.apply(
        &(statefulset("od", 3, "{type: OnDelete}") + "---\n" + &pdb("od", "maxUnavailable: 1")),
    );
    c.wait_ready("app=od", 3);
    let out = ok(c, &["restart", "sts/od", "--timeout", "90s"]);
    assert!(out.stdout.contains("Complete"), "{out}");
    let sts = c.get(&["statefulset", "od"]);
    let update = sts["status"]["updateRevision"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let pods = c.pods("app=od");
    assert_eq!(pods.len(), 3, "{pods:#?}");
    for p in &pods {
        assert!(is_ready(p), "{p:#?}");
        assert_eq!(
            p["metadata"]["labels"]["controller-revision-hash"],
            update.as_str(),
            "{p:#?}"
        );
    }
    // The evictions went through the Eviction API (the audit log shows them).
    assert_eq!(evictions(c), 3, "{:?}", c.plugin_writes());
}

fn restart_daemonset_max_unavailable(c: &Cluster) {
    daemonset_restarts_cleanly(
        c,
        "agent",
        "{type: RollingUpdate, rollingUpdate: {maxUnavailable: 1}}",
    );
}

fn restart_daemonset_max_surge(c: &Cluster) {
    daemonset_restarts_cleanly(
        c,
        "surge",
        "{type: RollingUpdate, rollingUpdate: {maxSurge: 1, maxUnavailable: 0}}",
    );
}

/// A DaemonSet `name` with `strategy`, one pod on each of the 3 nodes, restarts cleanly.
fn daemonset_restarts_cleanly(c: &Cluster, name: &str, strategy: &str) {
    c.apply(&daemonset(name, strategy));
    c.wait_ready(&format!("app={name}"), 3);
    restarts_cleanly(c, &format!("ds/{name}"), &[], "daemonset", 3);
}

fn restart_three_targets_in_sequence(c: &Cluster) {
    let yaml = [
        deployment("a", 2, SURGE, ""),
        statefulset("b", 2, "{type: RollingUpdate}"),
        daemonset("c", "{type: RollingUpdate}"),
    ];
    c.apply(&yaml.join("\n---\n"));
    c.wait_ready("app=a", 2);
    c.wait_ready("app=b", 2);
    c.wait_ready("app=c", 3);
    let out = ok(c, &["restart", "deploy/a", "sts/b", "ds/c"]);
    assert_eq!(out.stdout.matches("Complete").count(), 3, "{out}");
    assert_restarted(c, "deployment", "a", 2);
    assert_restarted(c, "statefulset", "b", 2);
    assert_restarted(c, "daemonset", "c", 3);
    // Strictly one after another: no new pod of a target was created before the previous
    // target's last new pod was Ready.
    let ready_since = |p: &Value| {
        p["status"]["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["type"] == "Ready")
            .unwrap()["lastTransitionTime"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let created = |p: &Value| {
        p["metadata"]["creationTimestamp"]
            .as_str()
            .unwrap()
            .to_string()
    };
    for (prev, next) in [("a", "b"), ("b", "c")] {
        let last_ready = c
            .pods(&format!("app={prev}"))
            .iter()
            .map(ready_since)
            .max()
            .unwrap();
        let first_created = c
            .pods(&format!("app={next}"))
            .iter()
            .map(created)
            .min()
            .unwrap();
        assert!(
            first_created >= last_ready,
            "{next} started at {first_created} before {prev} was Ready at {last_ready}"
        );
    }
    for t in ["deploy/a", "sts/b", "ds/c"] {
        rollout_status_agrees(c, t);
    }
}

/// New pods crash 1 s after they start, before they could be Ready.
const BAD_RELEASE: &str = r#"kubesim.io/behavior: '{readyAfter: 1s}', kubesim.io/rollout-behavior: '{readyAfter: 30s, crashAfter: 1s, exitCode: 1, message: "panic: missing DATABASE_URL", logs: "connecting to db\npanic: missing DATABASE_URL\n"}'"#;

fn restart_bad_release_fails_fast(c: &Cluster) {
    let yaml = [
        deployment("api", 2, SURGE, BAD_RELEASE),
        deployment("later", 1, SURGE, ""),
    ];
    c.apply(&yaml.join("\n---\n"));
    c.wait_ready("app=api", 2);
    c.wait_ready("app=later", 1);
    let t0 = Instant::now();
    let out = c.graceful(&["restart", "deploy/api", "deploy/later"]);
    assert_eq!(out.code, 1, "{out}");
    assert!(
        t0.elapsed() < Duration::from_secs(120),
        "not fast: {:?}",
        t0.elapsed()
    );
    let text = out.text();
    assert!(text.contains("exit code 1"), "{out}");
    assert!(text.contains("panic: missing DATABASE_URL"), "{out}");
    assert!(text.contains("what to do:"), "no explain report: {out}");
    assert!(
        text.contains("restart failed at deploy/api; not touched: deploy/later"),
        "{out}"
    );
    assert!(
        restarted_at(&c.get(&["deployment", "later"])).is_none(),
        "later was touched"
    );
}

fn restart_rollback_on_failure(c: &Cluster) {
    c.apply(&deployment("rb", 2, SURGE, BAD_RELEASE));
    c.wait_ready("app=rb", 2);
    let out = c.graceful(&["restart", "deploy/rb", "--rollback-on-failure"]);
    assert_eq!(out.code, 1, "{out}");
    assert!(out.stdout.contains("RolledBack"), "{out}");
    assert!(
        restarted_at(&c.get(&["deployment", "rb"])).is_none(),
        "template not restored"
    );
    c.wait_ready("app=rb", 2);
    assert!(c.pods("app=rb").iter().all(|p| restarted_at(p).is_none()));
    rollout_status_agrees(c, "deploy/rb");
}

fn restart_pods_and_pdb_refusal(c: &Cluster) {
    c.apply(&(deployment("web", 2, SURGE, "") + "---\n" + &pdb("web", "minAvailable: 1")));
    c.wait_ready("app=web", 2);
    let before = uids(c, "app=web");
    ok(
        c,
        &["restart", "--pods", "-l", "app=web", "--timeout", "2m"],
    );
    c.wait_ready("app=web", 2);
    let after = uids(c, "app=web");
    assert!(
        after.iter().all(|u| !before.contains(u)),
        "not every pod was replaced: {before:?} {after:?}"
    );
    assert_eq!(evictions(c), 2, "{:?}", c.plugin_writes());

    // A budget that never allows an eviction: refused before any write.
    c.apply(&(deployment("solo", 1, SURGE, "") + "---\n" + &pdb("solo", "maxUnavailable: 0")));
    c.wait_ready("app=solo", 1);
    let writes_before = c.plugin_writes().len();
    let refused = c.graceful(&["restart", "--pods", "-l", "app=solo", "--timeout", "30s"]);
    assert_eq!(refused.code, 1, "{refused}");
    assert!(refused.text().contains("pdb-blocks-eviction"), "{refused}");
    assert_eq!(
        c.plugin_writes().len(),
        writes_before,
        "{:?}",
        c.plugin_writes()
    );
}

fn restart_dry_run_sends_no_write(c: &Cluster) {
    c.apply(&[deployment("a", 2, SURGE, ""), deployment("b", 1, SURGE, "")].join("\n---\n"));
    c.wait_ready("app=a", 2);
    c.wait_ready("app=b", 1);
    let out = ok(c, &["restart", "-l", "tier=backend", "--dry-run"]);
    assert!(
        out.stdout.contains("deploy/a") && out.stdout.contains("deploy/b"),
        "{out}"
    );
    // The audit log saw the plugin read (so it is being recorded) and write nothing.
    let reads = c
        .audit_events()
        .iter()
        .filter(|e| {
            e["user"]["username"] == "kubernetes-admin"
                && !e["userAgent"].as_str().unwrap_or("").starts_with("kubectl")
        })
        .count();
    assert!(reads > 0, "the audit log shows no request of the plugin");
    assert!(
        c.plugin_writes().is_empty(),
        "--dry-run wrote: {:?}",
        c.plugin_writes()
    );
}

// ---------- restart: signals, timeouts and a hung API server on the real control plane ----------

/// A bare pod that takes `stop` to exit after SIGTERM, Ready; its UID.
fn bare_pod(c: &Cluster, name: &str, stop: &str) -> Value {
    c.apply(&pod(name, &format!("{{readyAfter: 1s, sigtermExit: {stop}}}"), "").replace(
        "    image: registry.example/",
        "    readinessProbe: {httpGet: {path: /ready, port: 8080}, periodSeconds: 1}\n    image: registry.example/",
    ));
    c.wait_ready(&format!("app={name}"), 1);
    c.get(&["pod", name])["metadata"]["uid"].clone()
}

/// Wait until the plugin's eviction has made pod `name` terminating.
fn wait_terminating(c: &Cluster, name: &str) {
    c.wait(Duration::from_secs(60), "the pod terminating", |c| {
        let out = c.kubectl(&["get", "pod", name, "-o", "json"]);
        serde_json::from_str::<Value>(&out.stdout)
            .is_ok_and(|p| p.pointer("/metadata/deletionTimestamp").is_some())
    });
}

/// The pod exists again under a new UID and becomes Ready.
fn created_again(c: &Cluster, name: &str, old_uid: &Value, out: &support::Output) {
    // Said on stderr, or as a PodRecreated event with -o json.
    assert!(
        out.stderr.contains(&format!("created pod {name} again"))
            || out.stdout.contains("\"type\":\"PodRecreated\""),
        "[{}] {out}",
        c.backend
    );
    c.wait_ready(&format!("app={name}"), 1);
    let now = c.get(&["pod", name]);
    assert_ne!(
        &now["metadata"]["uid"], old_uid,
        "[{}] not replaced",
        c.backend
    );
}

fn restart_bare_pod_survives_sigint(c: &Cluster) {
    // Eviction → creation is a critical section: a first Ctrl-C waits for the old pod to be gone,
    // creates it again, and only then stops (130).
    let uid = bare_pod(c, "solo-int", "4s");
    let child = c.spawn_graceful(&["restart", "pod/solo-int", "--force"]);
    wait_terminating(c, "solo-int");
    support::signal(&child, "INT");
    let out = support::finish(child, Duration::from_secs(120));
    assert_eq!(out.code, 130, "[{}] {out}", c.backend);
    created_again(c, "solo-int", &uid, &out);
}

fn restart_bare_pod_survives_sigterm(c: &Cluster) {
    // SIGTERM (CI cancellation) as Ctrl-C, exit 143, the JSON stream ending in Interrupted and
    // Summary.
    let uid = bare_pod(c, "solo-term", "4s");
    let child = c.spawn_graceful(&["restart", "pod/solo-term", "--force", "-o", "json"]);
    wait_terminating(c, "solo-term");
    support::signal(&child, "TERM");
    let out = support::finish(child, Duration::from_secs(120));
    assert_eq!(out.code, 143, "[{}] {out}", c.backend);
    let events: Vec<Value> = out
        .stdout
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let n = events.len();
    assert!(n >= 2, "{out}");
    assert_eq!(events[n - 2]["type"], "Interrupted", "{out}");
    assert_eq!(events[n - 1]["type"], "Summary", "{out}");
    assert_eq!(events[n - 1]["result"], "Interrupted", "{out}");
    created_again(c, "solo-term", &uid, &out);
}

fn restart_bare_pod_survives_the_timeout(c: &Cluster) {
    // --timeout runs out while the evicted pod still terminates (6 s): the run outlives it by
    // the critical section and creates the pod again before it stops.
    let uid = bare_pod(c, "solo-timeout", "6s");
    let out = c.graceful(&["restart", "pod/solo-timeout", "--force", "--timeout", "3s"]);
    assert!(matches!(out.code, 0 | 1), "[{}] {out}", c.backend);
    created_again(c, "solo-timeout", &uid, &out);
}

/// Resumes the API server however the scenario ends.
struct Resume(&'static testbed::Testbed);
impl Drop for Resume {
    fn drop(&mut self) {
        let _ = self.0.set_apiserver_running(true);
    }
}

fn restart_timeout_while_the_api_server_hangs(c: &Cluster) {
    // SIGSTOP the real kube-apiserver mid-rollout: the kernel still accepts connections, nothing
    // answers. --timeout is a wall-clock deadline: the target is Unknown (exit 2) because the API
    // server stopped answering, not failed for a made-up reason.
    let tb = c.testbed.expect("a test bed");
    c.apply(&deployment(
        "hang",
        2,
        SURGE,
        "kubesim.io/behavior: '{readyAfter: 5s}'",
    ));
    c.wait_ready("app=hang", 2);
    let child = c.spawn_graceful(&["restart", "deploy/hang", "--timeout", "8s"]);
    c.wait(Duration::from_secs(30), "the restart patched", |c| {
        restarted_at(&c.get(&["deployment", "hang"])).is_some()
    });
    std::thread::sleep(Duration::from_millis(500));
    let t0 = Instant::now();
    tb.set_apiserver_running(false)
        .expect("SIGSTOP the apiserver");
    let resume = Resume(tb);
    let out = support::finish(child, Duration::from_secs(60));
    let took = t0.elapsed();
    drop(resume);
    assert_eq!(out.code, 2, "{out}");
    assert!(
        took < Duration::from_secs(20),
        "the deadline did not hold: {took:?}\n{out}"
    );
    out.assert_unobserved("deploy/hang");
    // The cluster answers again and the rollout completes by itself.
    c.wait_ready("app=hang", 2);
}

// ---------- explain ----------

fn explain_insufficient_cpu(c: &Cluster) {
    c.apply(&pod("hungry", "{}", "").replace(
        "    image: registry.example/hungry:1.0",
        "    image: registry.example/hungry:1.0\n    resources: {requests: {cpu: \"64\"}}",
    ));
    explains_unschedulable(c, "hungry", "Insufficient cpu");
}

fn explain_node_selector(c: &Cluster) {
    c.apply(&pod("picky", "{}", "nodeSelector: {disktype: ssd}"));
    explains_unschedulable(c, "picky", "node affinity/selector");
}

/// Once the scheduler said FailedScheduling, `explain POD` exits 1 with `[unschedulable]` and
/// `why`.
fn explains_unschedulable(c: &Cluster, pod: &str, why: &str) {
    c.wait(Duration::from_secs(60), "FailedScheduling", |c| {
        c.kubectl(&["get", "events"])
            .stdout
            .contains("FailedScheduling")
    });
    let out = c.graceful(&["explain", pod]);
    assert_eq!(out.code, 1, "{out}");
    assert!(out.text().contains("[unschedulable]"), "{out}");
    assert!(out.text().contains(why), "{out}");
}

fn explain_eviction_api(c: &Cluster) {
    // The app ignores SIGTERM, so the evicted pod stays Terminating for its 30 s grace period.
    c.apply(&pod("victim", "{readyAfter: 1s, sigtermExit: never}", ""));
    c.wait_ready("app=victim", 1);
    let eviction = format!(
        r#"{{"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {{"name": "victim", "namespace": "{}"}}}}"#,
        c.namespace
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("eviction.json");
    std::fs::write(&file, eviction).unwrap();
    let uri = format!("/api/v1/namespaces/{}/pods/victim/eviction", c.namespace);
    let out = c.kubectl(&["create", "--raw", &uri, "-f", file.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{out}");
    c.wait(Duration::from_secs(30), "Killing event", |c| {
        c.kubectl(&["get", "events"]).stdout.contains("Killing")
    });
    // The apiserver marked it (eviction.go) and the kubelet's status writes kept the condition.
    let p = c.get(&["pod", "victim"]);
    let dt = p["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "DisruptionTarget")
        .cloned();
    assert_eq!(
        dt.as_ref().map(|c| c["reason"].clone()),
        Some("EvictionByEvictionAPI".into()),
        "{p:#}"
    );
    let out = c.graceful(&["explain", "victim"]);
    assert_eq!(out.code, 0, "a voluntary disruption, not a failure: {out}");
    assert!(out.text().contains("[api-eviction]"), "{out}");
    assert!(out.text().contains("Eviction API"), "{out}");
}

fn explain_crash_loop_previous_logs(c: &Cluster) {
    c.apply(&pod(
        "crashy",
        r#"{readyAfter: 1s, crashAfter: 2s, exitCode: 2, logs: "starting\npanic: assignment to entry in nil map\n"}"#,
        "",
    ));
    c.wait(Duration::from_secs(60), "a restart", |c| {
        c.pods("app=crashy")
            .first()
            .and_then(|p| {
                p.pointer("/status/containerStatuses/0/restartCount")
                    .and_then(Value::as_i64)
            })
            .unwrap_or(0)
            >= 1
    });
    // The previous instance's log through the apiserver's proxy to the kubelet API.
    let logs = c.kubectl(&["logs", "crashy", "--previous"]);
    assert_eq!(logs.code, 0, "{logs}");
    assert!(
        logs.stdout
            .contains("panic: assignment to entry in nil map"),
        "{logs}"
    );
    let out = c.graceful(&["explain", "crashy"]);
    assert_eq!(out.code, 1, "{out}");
    assert!(out.text().contains("exit code 2"), "{out}");
    assert!(
        out.text().contains("panic: assignment to entry in nil map"),
        "log tail missing: {out}"
    );
}

fn explain_oom_killed(c: &Cluster) {
    c.apply(
        &pod(
            "oom",
            r#"{readyAfter: 1s, crashAfter: 2s, reason: OOMKilled}"#,
            "",
        )
        .replace(
            "    image: registry.example/oom:1.0",
            "    image: registry.example/oom:1.0\n    resources: {limits: {memory: 256Mi}}",
        ),
    );
    c.wait(Duration::from_secs(60), "an OOM kill", |c| {
        c.pods("app=oom").first().is_some_and(|p| {
            let st = &p["status"]["containerStatuses"][0];
            st["lastState"]["terminated"]["reason"] == "OOMKilled"
                || st["state"]["terminated"]["reason"] == "OOMKilled"
        })
    });
    let out = c.graceful(&["explain", "oom"]);
    assert_eq!(out.code, 1, "{out}");
    assert!(out.text().contains("[oom-killed]"), "{out}");
    assert!(out.text().contains("256Mi"), "{out}");
}

fn explain_liveness_kill(c: &Cluster) {
    // Liveness fails 2 s after start; 2 failures 1 s apart kill it through the normal stop: the
    // app handles SIGTERM and exits 0, and the kubelet restarts it at once.
    c.apply(&pod("alive", "{readyAfter: 1s, livenessFailsAfter: 2s}", "").replace(
        "    image: registry.example/alive:1.0",
        "    image: registry.example/alive:1.0\n    livenessProbe: {httpGet: {path: /healthz, port: 8080}, periodSeconds: 1, failureThreshold: 2}",
    ));
    c.wait(Duration::from_secs(60), "a liveness restart", |c| {
        c.pods("app=alive").first().is_some_and(|p| {
            p["status"]["containerStatuses"][0]["restartCount"]
                .as_i64()
                .unwrap_or(0)
                >= 1
        })
    });
    let p = c.get(&["pod", "alive"]);
    let last = &p["status"]["containerStatuses"][0]["lastState"]["terminated"];
    assert_eq!(
        last["exitCode"], 0,
        "a liveness kill is a normal stop: {p:#}"
    );
    let events = c.kubectl(&[
        "get",
        "events",
        "--field-selector",
        "involvedObject.name=alive",
    ]);
    assert!(
        events
            .stdout
            .contains("Container app failed liveness probe, will be restarted"),
        "{events}"
    );
    let out = c.graceful(&["explain", "alive"]);
    assert!(out.text().contains("[liveness-probe]"), "{out}");
}

fn explain_node_pressure_eviction(c: &Cluster) {
    c.apply(&deployment("hog", 1, SURGE, ""));
    c.wait_ready("app=hog", 1);
    let name = c.pods("app=hog")[0]["metadata"]["name"]
        .as_str()
        .unwrap()
        .to_string();
    let tb = c.testbed.expect("a test bed");
    tb.evict_for_node_pressure(&c.namespace, &name, "memory")
        .unwrap();
    c.wait(Duration::from_secs(30), "phase Failed", |c| {
        c.get(&["pod", &name])["status"]["phase"] == "Failed"
    });
    let out = c.graceful(&["explain", &name]);
    assert_eq!(out.code, 1, "{out}");
    assert!(out.text().contains("[evicted]"), "{out}");
    assert!(out.text().contains("memory"), "{out}");
    // The ReplicaSet controller replaced it.
    c.wait(Duration::from_secs(60), "a replacement", |c| {
        c.pods("app=hog")
            .iter()
            .any(|p| p["metadata"]["name"] != name.as_str() && is_ready(p))
    });
}

fn explain_node_shutdown(c: &Cluster) {
    c.apply(&pod("shut", "{readyAfter: 1s}", ""));
    c.wait_ready("app=shut", 1);
    c.testbed
        .expect("a test bed")
        .terminate_for_node_shutdown(&c.namespace, "shut")
        .unwrap();
    c.wait(Duration::from_secs(30), "phase Failed", |c| {
        c.get(&["pod", "shut"])["status"]["phase"] == "Failed"
    });
    let out = c.graceful(&["explain", "shut"]);
    assert_eq!(out.code, 1, "{out}");
    assert!(out.text().contains("[node-shutdown]"), "{out}");
}

// ---------- the simulated kubelet against the real controllers ----------

fn kubelet_terminating_pod_serves(c: &Cluster) {
    // A deleted pod stays Ready while its preStop runs, so the EndpointSlice controller keeps it
    // as serving and terminating (the endpoint-removal race the preStop pause is for).
    let yaml = deployment("ep", 1, SURGE, "").replace(
        "        readinessProbe:",
        "        lifecycle: {preStop: {sleep: {seconds: 4}}}\n        readinessProbe:",
    ) + "---\napiVersion: v1\nkind: Service\nmetadata: {name: ep}\nspec: {selector: {app: ep}, ports: [{port: 80}]}\n";
    c.apply(&yaml);
    c.wait_ready("app=ep", 1);
    let name = c.pods("app=ep")[0]["metadata"]["name"]
        .as_str()
        .unwrap()
        .to_string();
    let out = c.kubectl(&["delete", "pod", &name, "--wait=false"]);
    assert_eq!(out.code, 0, "{out}");
    c.wait(
        Duration::from_secs(10),
        "a serving, terminating endpoint",
        |c| {
            let slices = c.get(&["endpointslices", "-l", "kubernetes.io/service-name=ep"]);
            slices["items"].as_array().into_iter().flatten().any(|s| {
                s["endpoints"].as_array().into_iter().flatten().any(|e| {
                    e["targetRef"]["name"] == name.as_str()
                        && e["conditions"]["serving"] == true
                        && e["conditions"]["terminating"] == true
                })
            })
        },
    );
    let pod = c.get(&["pod", &name]);
    assert!(pod.pointer("/metadata/deletionTimestamp").is_some());
    let ready = pod["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["type"] == "Ready" && c["status"] == "True");
    assert!(ready, "Ready during preStop: {pod:#}");
    // After preStop and SIGTERM the kubelet removes it.
    c.wait(Duration::from_secs(30), "the pod gone", |c| {
        c.kubectl(&["get", "pod", &name]).code != 0
    });
}

fn kubelet_pod_answers_then_refuses(c: &Cluster) {
    // An app that drains for 6 s after SIGTERM: it stops accepting at once, the pod lives on.
    c.apply(
        r#"
apiVersion: v1
kind: Pod
metadata:
  name: answer
  labels: {app: answer}
  annotations: {kubesim.io/behavior: 'sigtermExit: 6s'}
spec:
  terminationGracePeriodSeconds: 30
  containers:
  - name: app
    image: registry.example/answer:1.0
    ports: [{containerPort: 8080}]
"#,
    );
    c.wait_ready("app=answer", 1);
    // Through the real apiserver's pod proxy (which refuses loopback pod IPs, hence 10.244.X.Y).
    let path = format!(
        "/api/v1/namespaces/{}/pods/answer:8080/proxy/hi",
        c.namespace
    );
    c.wait(Duration::from_secs(10), "the pod answering", |c| {
        let out = c.kubectl(&["get", "--raw", &path]);
        out.code == 0 && out.stdout == "GET /hi: answered by container app of pod answer\n"
    });
    let ip = c.get(&["pod", "answer"])["status"]["podIP"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(ip.starts_with("10.244."), "[{}] podIP {ip}", c.backend);
    let out = c.kubectl(&["delete", "pod", "answer", "--wait=false"]);
    assert_eq!(out.code, 0, "{out}");
    let mut refused = None;
    c.wait(Duration::from_secs(5), "connection refused", |c| {
        let out = c.kubectl(&["get", "--raw", &path]);
        let hit = out.code != 0 && out.stderr.contains("connection refused");
        if hit {
            refused = Some(out);
        }
        hit
    });
    // The apiserver's words (egress_selector.go tunnelHTTPConnect, proxy error responder).
    let refused = refused.expect("refused");
    assert!(
        refused
            .stderr
            .contains("error trying to reach service: proxy error from ")
            && refused.stderr.contains(&format!(
                "while dialing {ip}:8080, code 503: 503 dial tcp 127."
            )),
        "[{}] {refused}",
        c.backend
    );
    // …while the pod still drains.
    let pod = c.get(&["pod", "answer"]);
    assert!(
        pod.pointer("/metadata/deletionTimestamp").is_some(),
        "[{}] {pod:#}",
        c.backend
    );
}

// ---------- diagnose ----------

fn diagnose_live_namespace(c: &Cluster) {
    let bad = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: legacy}
spec:
  replicas: 1
  selector: {matchLabels: {app: legacy}}
  template:
    metadata: {labels: {app: legacy}}
    spec:
      containers:
      - name: app
        image: registry.example/legacy:1.0
        command: ["sh", "-c", "java -jar /app/legacy.jar"]
"#;
    c.apply(&(bad.to_string() + "---\n" + &pdb("legacy", "maxUnavailable: 0")));
    c.wait_ready("app=legacy", 1);
    let out = c.graceful(&["diagnose"]);
    assert_eq!(out.code, 1, "{out}");
    for rule in [
        "pdb-blocks-eviction",
        "shell-swallows-sigterm",
        "min-ready-seconds-no-readiness",
        "single-replica",
    ] {
        assert!(out.stdout.contains(rule), "{rule} missing: {out}");
    }
    let json = c.graceful(&["diagnose", "-o", "json"]);
    let v: Value = serde_json::from_str(&json.stdout).unwrap_or_else(|e| panic!("{e}: {json}"));
    assert!(
        v.to_string().contains(&format!("\"{}\"", c.namespace)),
        "{json}"
    );
}

// ---------- zero downtime (issue 18) on the real EndpointSlice controller and service proxy ----------

/// Deployment `web` of 3 behind Service `web` (port 80 → 8080): its app listens on 8080 and, with no
/// behaviour annotation, exits as soon as SIGTERM arrives. `lifecycle` is the container's.
fn web(strategy: &str, lifecycle: &str) -> String {
    let image = "registry.example/web:1.0";
    manifests::web_behind_service(&Meta::default(), strategy, 15, image, lifecycle)
}

/// `web` applied and its 3 pods answering through the real service proxy (the pods listen on their
/// loopback twins; the apiserver dials them through the test bed's egress proxy).
fn web_serving(c: &Cluster, strategy: &str, lifecycle: &str) -> Vec<String> {
    c.apply(&web(strategy, lifecycle));
    c.wait_ready("app=web", 3);
    let path = format!(
        "/api/v1/namespaces/{}/services/web:80/proxy/hello",
        c.namespace
    );
    c.wait(
        Duration::from_secs(20),
        "the service proxy reaching web",
        |c| {
            let out = c.kubectl(&["get", "--raw", &path]);
            out.code == 0
                && out
                    .stdout
                    .starts_with("GET /hello: answered by container app of pod web-")
        },
    );
    // …and the slice showing all three ready.
    wait_web_endpoints_ready(c);
    c.pods("app=web")
        .iter()
        .map(|p| {
            p["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect()
}

/// Until the slice of svc/web shows all three pods ready: under load its write can trail the pods'
/// Ready (and the end of a previous restart), and a restart would then start from 2 ready
/// endpoints (its minReadyEndpoints).
fn wait_web_endpoints_ready(c: &Cluster) {
    c.wait(Duration::from_secs(20), "3 ready endpoints of web", |c| {
        let slices = c.get(&["endpointslices", "-l", "kubernetes.io/service-name=web"]);
        let ready = slices["items"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|s| s["endpoints"].as_array().into_iter().flatten())
            .filter(|e| e["conditions"]["ready"] == true)
            .count();
        ready == 3
    });
}

/// The `zeroDowntime` of the only target of `-o json`'s final Summary (checked Complete).
fn zero_downtime(c: &Cluster, out: &support::Output) -> Value {
    let last = out
        .stdout
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_else(|| panic!("[{}] no output: {out}", c.backend));
    let summary: Value = serde_json::from_str(last).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(summary["type"], "Summary", "[{}] {out}", c.backend);
    let t = &summary["targets"][0];
    assert_eq!(t["state"], "Complete", "[{}] {out}", c.backend);
    t["zeroDowntime"].clone()
}

/// `restart deploy/web -o json EXTRA…`, successful: its `zeroDowntime`.
fn restart_web_json(c: &Cluster, extra: &[&str]) -> Value {
    let mut args = vec!["restart", "deploy/web", "-o", "json"];
    args.extend_from_slice(extra);
    zero_downtime(c, &ok(c, &args))
}

/// The table's zero-downtime line.
fn zero_downtime_row(c: &Cluster, out: &support::Output) -> String {
    out.stdout
        .lines()
        .find(|l| l.trim_start().starts_with("zero downtime "))
        .unwrap_or_else(|| panic!("[{}] no zero-downtime line: {out}", c.backend))
        .to_string()
}

fn zerodowntime_no_prestop_races(c: &Cluster) {
    let old = web_serving(c, SURGE, "{}");
    let z = restart_web_json(c, &["--probe", "svc/web:80/"]);
    let b = &c.backend;
    // A race by the timing (at-risk), or failed requests seen (violated).
    support::assert_no_prestop_race(&z, &old, &format!("[{b}]"));
    // The probe went through the real apiserver's service proxy; what failed is counted (the
    // apiserver routes by its own cache, milliseconds behind the slices, so how many fail is
    // timing: each failure is listed with the proxy's answer).
    let probe = &z["probe"];
    assert!(
        probe["requests"].as_u64().unwrap_or(0) >= 5,
        "[{b}] {probe:#}"
    );
    let failed = probe["failed"].as_u64().expect("probe.failed");
    let listed = probe["failures"].as_array().map_or(0, Vec::len) as u64;
    assert!(
        listed <= failed && (failed == 0) == (listed == 0),
        "[{b}] {probe:#}"
    );
    if failed > 0 {
        assert_eq!(z["verdict"], "violated", "[{b}] failed requests: {z:#}");
    }
    assert!(
        probe["path"]
            .as_str()
            .unwrap_or_default()
            .starts_with(&format!(
                "/api/v1/namespaces/{}/services/web:80/proxy/",
                c.namespace
            )),
        "[{b}] {probe:#}"
    );
    assert_restarted(c, "deployment", "web", 3);
    rollout_status_agrees(c, "deploy/web");
    // The table's line, on a second restart without the probe: the race by the timing (or an exit
    // seen before the slice write, when the write fell in the next second).
    wait_web_endpoints_ready(c);
    let out = ok(c, &["restart", "deploy/web"]);
    let row = zero_downtime_row(c, &out);
    assert!(
        (row.contains(" at-risk ")
            && row.contains(
                "3 of 3 replaced pods stopped serving less than 5s after leaving the ready endpoints of svc/web"
            ))
            || (row.contains(" violated ")
                && row.contains("exited while still in the ready endpoints of svc/web")),
        "[{b}] {out}"
    );
    assert!(row.contains("3/3"), "[{b}] {out}");
    assert!(out.stdout.contains("    [prestop-missing] "), "[{b}] {out}");
}

fn zerodowntime_prestop_pause_is_ok(c: &Cluster) {
    // A pause of 7 s: longer than the 5 s margin, and the pods keep listening through it.
    web_serving(c, SURGE, "{preStop: {sleep: {seconds: 7}}}");
    let out = ok(
        c,
        &["restart", "deploy/web", "--probe", "svc/web:80/healthz"],
    );
    let row = zero_downtime_row(c, &out);
    let b = &c.backend;
    assert!(row.contains(" ok ") && row.contains("3/3"), "[{b}] {out}");
    // 7 s, or 6 s when the slice write fell in the second after the deletion (whole seconds).
    assert!(
        ["7s", "6s"].iter().any(|m| row.contains(&format!(
            "3 replaced pods kept serving at least {m} after leaving the ready endpoints of svc/web (margin 5s); ready endpoints never below 3; probe: 0 of "
        ))),
        "[{b}] {out}"
    );
    assert!(
        out.stdout.contains(" 0 failed, worst latency ")
            && out
                .stdout
                .contains("(through the API server, not your ingress)"),
        "[{b}] {out}"
    );
    assert!(!out.stdout.contains("fix:"), "[{b}] {out}");
    assert_restarted(c, "deployment", "web", 3);
    rollout_status_agrees(c, "deploy/web");
    // The JSON, on a second restart.
    let z = restart_web_json(c, &["--probe", "svc/web:80/"]);
    assert_eq!(z["verdict"], "ok", "[{b}] {z:#}");
    assert_eq!(z["podsReplaced"], 3, "[{b}] {z:#}");
    assert_eq!(z["raced"], 0, "[{b}] {z:#}");
    // Seconds precision: the deletion time and the slice write's time are whole seconds, so
    // when the write falls in the next second the margin reads 6 s for a 7 s pause.
    assert!(
        [6.0, 7.0].contains(&z["worstMarginSeconds"].as_f64().unwrap_or(0.0)),
        "[{b}] {z:#}"
    );
    assert_eq!(z["minReadyEndpoints"], 3, "[{b}] {z:#}");
    assert!(z.get("fix").is_none_or(Value::is_null), "[{b}] {z:#}");
    assert_eq!(z["probe"]["failed"], 0, "[{b}] {z:#}");
    assert!(
        z["probe"]["requests"].as_u64().unwrap_or(0) >= 5,
        "[{b}] {z:#}"
    );
}

fn zerodowntime_recreate_is_violated(c: &Cluster) {
    web_serving(c, "{type: Recreate}", "{}");
    let z = restart_web_json(c, &["--force", "--probe", "svc/web:80/"]);
    let b = &c.backend;
    assert_eq!(z["verdict"], "violated", "[{b}] {z:#}");
    assert_eq!(z["minReadyEndpoints"], 0, "[{b}] {z:#}");
    assert_eq!(z["desiredReplicas"], 3, "[{b}] {z:#}");
    assert!(
        z["summary"]
            .as_str()
            .unwrap_or_default()
            .starts_with("svc/web had no ready endpoint at "),
        "[{b}] {z:#}"
    );
    // The Recreate fix, after the preStop one (these pods have no pause either).
    assert!(
        z["fix"].as_str().unwrap_or_default().contains(
            "\n[recreate-strategy] strategy Recreate stops every old pod before a new one starts"
        ),
        "[{b}] {z:#}"
    );
    // While no endpoint was ready the real service proxy answered 503, in ResourceLocation
    // (pkg/registry/core/service/storage/storage.go): "no endpoints available for service %q" of
    // the name; 1.35, which still routes by Endpoints, quotes the whole id ("web:80") when the
    // Endpoints have subsets but none of their addresses is ready.
    let probe = &z["probe"];
    assert!(
        probe["failed"].as_u64().unwrap_or(0) >= 1,
        "[{b}] {probe:#}"
    );
    let failures: Vec<&str> = probe["failures"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        !failures.is_empty()
            && failures.iter().all(|f| {
                f.starts_with("503: no endpoints available for service \"web")
                    || f.starts_with("503: error trying to reach service: ")
            }),
        "[{b}] {probe:#}"
    );
    assert!(
        failures.iter().any(|f| [
            "503: no endpoints available for service \"web\"",
            "503: no endpoints available for service \"web:80\""
        ]
        .contains(f)),
        "[{b}] {probe:#}"
    );
    assert_restarted(c, "deployment", "web", 3);
    rollout_status_agrees(c, "deploy/web");
    // The table's line, on a second restart without the probe.
    wait_web_endpoints_ready(c);
    let out = ok(c, &["restart", "deploy/web", "--force"]);
    let row = zero_downtime_row(c, &out);
    assert!(
        row.contains(" violated ")
            && row.contains("0/3")
            && row.contains("svc/web had no ready endpoint at "),
        "[{b}] {out}"
    );
    assert!(
        out.stdout
            .contains("  - svc/web: ready endpoints fell from 3 to 0 at "),
        "[{b}] {out}"
    );
}

fn zerodowntime_worker_is_not_applicable(c: &Cluster) {
    c.apply(&deployment("worker", 2, SURGE, ""));
    c.wait_ready("app=worker", 2);
    let b = &c.backend;
    let out = ok(c, &["restart", "deploy/worker", "-o", "json"]);
    let z = zero_downtime(c, &out);
    assert_eq!(z["verdict"], "not-applicable", "[{b}] {z:#}");
    assert_eq!(
        z["summary"],
        format!("no Service in namespace {} selects its pods", c.namespace),
        "[{b}]"
    );
    assert!(
        z["minReadyEndpoints"].is_null() && z["probe"].is_null(),
        "[{b}] {z:#}"
    );
    let out = ok(c, &["restart", "deploy/worker"]);
    let row = zero_downtime_row(c, &out);
    assert!(
        row.contains(" not-applicable ")
            && row.contains(&format!(
                "no Service in namespace {} selects its pods",
                c.namespace
            )),
        "[{b}] {out}"
    );
    assert_restarted(c, "deployment", "worker", 2);
    rollout_status_agrees(c, "deploy/worker");
}

fn zerodowntime_forbidden_is_unknown(c: &Cluster) {
    web_serving(c, SURGE, "{}");
    // Real RBAC: a ServiceAccount whose Role covers the core, apps, policy and events groups but
    // not discovery.k8s.io; the plugin acts as it through impersonation (--as).
    c.apply(&format!(
        r#"
apiVersion: v1
kind: ServiceAccount
metadata: {{name: restarter}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {{name: restarter}}
rules:
- apiGroups: ["", "apps", "policy", "events.k8s.io"]
  resources: ["*"]
  verbs: ["*"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {{name: restarter}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: restarter}}
subjects: [{{kind: ServiceAccount, name: restarter, namespace: {ns}}}]
"#,
        ns = c.namespace
    ));
    let user = format!("system:serviceaccount:{}:restarter", c.namespace);
    let denied = c.kubectl(&[
        "auth",
        "can-i",
        "list",
        "endpointslices.discovery.k8s.io",
        "--as",
        &user,
    ]);
    assert_eq!(denied.stdout.trim(), "no", "{denied}");
    let z = restart_web_json(c, &["--as", &user]);
    let b = &c.backend;
    assert_eq!(z["verdict"], "unknown", "[{b}] {z:#}");
    let why = z["summary"].as_str().unwrap_or_default();
    assert!(
        why.starts_with(&format!(
            "cannot watch endpointslices -l kubernetes.io/service-name: forbidden: user {user} cannot list endpointslices.discovery.k8s.io in namespace {}",
            c.namespace
        )),
        "[{b}] {why}"
    );
    // One line: it fills a table cell.
    assert!(
        !why.contains('\n')
            && why.ends_with(
                "; ask your cluster admin for access, or use a context that has it (--context)"
            ),
        "[{b}] {why:?}"
    );
    assert_eq!(z["services"], serde_json::json!(["web"]), "[{b}]");
    // The restart itself went through, as that user.
    assert_restarted(c, "deployment", "web", 3);
    rollout_status_agrees(c, "deploy/web");
    // The table: the reason in the zero-downtime line, which stays one line.
    let out = ok(c, &["restart", "deploy/web", "--as", &user]);
    let row = zero_downtime_row(c, &out);
    assert!(
        row.contains(" unknown ")
            && row
                .contains("cannot watch endpointslices -l kubernetes.io/service-name: forbidden: ")
            && row.ends_with(
                "; ask your cluster admin for access, or use a context that has it (--context)"
            ),
        "[{b}] {out}"
    );
    let patched_by_it = c.audit_events().into_iter().any(|e| {
        e["verb"] == "patch"
            && e["objectRef"]["resource"] == "deployments"
            && e["impersonatedUser"]["username"] == user.as_str()
    });
    assert!(
        patched_by_it,
        "[{b}] no patch of the deployment as {user} in the audit log"
    );
}
