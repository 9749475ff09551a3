//! `kubectl graceful restart` under faults and interruptions: signals at every phase (SIGINT, SIGTERM,
//! with and without JSON), an API server that hangs, goes away or drops and expires its watches,
//! forbidden writes and lists, evictions a PDB keeps refusing, and pods without a controller, which
//! must never be lost. Against kubesim, through the built binary.

use std::time::{Duration, Instant};

use super::common::*;
use kubesim::Sim;
use serde_json::Value;

/// A pod without a controller whose app needs 20 sim-seconds (2 s here) to stop after SIGTERM.
fn slow_stopping_bare_pod() -> String {
    r#"
apiVersion: v1
kind: Pod
metadata:
  name: solo
  namespace: default
  labels: {app: solo}
  annotations: {kubesim.io/behavior: '{"*": {"sigtermExit": "20s"}}'}
spec:
  terminationGracePeriodSeconds: 30
  containers:
  - name: app
    image: registry.example/solo:1
    readinessProbe: {httpGet: {path: /, port: 80}}
"#
    .to_string()
}

fn uid(p: &Value) -> String {
    p["metadata"]["uid"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// Writes (method, path) at or after `since`.
fn writes_since(sim: &kubesim::Sim, since: Instant) -> Vec<(String, String)> {
    sim.requests()
        .into_iter()
        .filter(|r| r.at >= since && !matches!(r.method.as_str(), "GET" | "HEAD"))
        .map(|r| (r.method.clone(), r.path.clone()))
        .collect()
}

fn evicted(r: &kubesim::RequestRecord) -> bool {
    r.method == "POST" && r.path.ends_with("/eviction") && r.status < 300
}

/// A first signal while an evicted bare pod is still terminating does not abandon it: the restart waits
/// until it is gone, creates it again from its saved manifest, and only then stops (exit 130/143).
fn signal_while_a_bare_pod_terminates(sig: &str, code: i32) {
    let sim = start(&slow_stopping_bare_pod(), 10.0, None);
    settle(&sim, "solo", 1);
    let old = uid(&pods_of(&sim, "solo")[0]);
    let state = tempfile::tempdir().unwrap();
    let child = spawn_saving_to(&sim, &["pod/solo", "--force"], state.path());
    wait_for_request(&sim, evicted);
    let signalled = Instant::now();
    signal(&child, sig);
    let out = done(child);
    assert_eq!(out.code, code, "{out}");
    assert!(
        out.stderr
            .contains("finishing first what must not be left half done"),
        "{out}"
    );
    assert!(out.stderr.contains("created pod solo again"), "{out}");
    let pods = pods_of(&sim, "solo");
    assert_eq!(pods.len(), 1, "the pod exists again: {pods:#?}");
    assert_ne!(uid(&pods[0]), old);
    // After the signal, the only write is the one that finishes the critical section.
    assert_eq!(
        writes_since(&sim, signalled),
        [(
            "POST".to_string(),
            "/api/v1/namespaces/default/pods".to_string()
        )]
    );
    // Its manifest was saved before the eviction, and the path was printed.
    let saved: Vec<_> = std::fs::read_dir(state.path().join("kubectl-graceful"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(saved.len(), 1, "{saved:?}");
    assert!(
        out.stderr.contains(&saved[0].display().to_string()),
        "{out}"
    );
    assert!(out.stdout.contains("pod/solo"), "{out}");
}

#[test]
fn sigint_while_a_bare_pod_terminates_still_creates_it_again() {
    signal_while_a_bare_pod_terminates("INT", 130);
}

#[test]
fn sigterm_while_a_bare_pod_terminates_still_creates_it_again() {
    signal_while_a_bare_pod_terminates("TERM", 143);
}

#[test]
fn a_second_signal_stops_at_once_and_says_how_to_create_the_pod_again() {
    let sim = start(&slow_stopping_bare_pod(), 10.0, None);
    settle(&sim, "solo", 1);
    let state = tempfile::tempdir().unwrap();
    let child = spawn_saving_to(&sim, &["pod/solo", "--force", "-o", "json"], state.path());
    wait_for_request(&sim, evicted);
    signal(&child, "TERM");
    std::thread::sleep(Duration::from_millis(300));
    signal(&child, "TERM");
    let out = done(child);
    assert_eq!(out.code, 143, "{out}");
    let ev: Vec<Value> = events(out.stdout.as_bytes());
    let n = ev.len();
    let saved = ev
        .iter()
        .find(|e| e["type"] == "PodSaved")
        .expect("PodSaved event")["path"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(ev[n - 2]["type"], "Interrupted", "{ev:#?}");
    assert_eq!(ev[n - 2]["signal"], "SIGTERM");
    let unfinished = ev[n - 2]["unfinished"][0].as_str().unwrap_or_default();
    assert!(
        unfinished.contains(&format!("kubectl create -f {saved}")),
        "{unfinished}"
    );
    assert_eq!(ev[n - 1]["type"], "Summary");
    assert_eq!(ev[n - 1]["targets"][0]["state"], "Interrupted");
    // No create was sent; the saved manifest creates the pod again once the old one is gone.
    assert!(!sim
        .requests()
        .iter()
        .any(|r| r.method == "POST" && r.path == "/api/v1/namespaces/default/pods"));
    let text = std::fs::read_to_string(&saved).unwrap();
    let manifest: Value = serde_yaml::from_str(&text).unwrap();
    assert_eq!(manifest["kind"], "Pod");
    assert_eq!(manifest["metadata"]["name"], "solo");
    assert!(manifest.pointer("/metadata/uid").is_none());
    assert!(sim.wait_until(Duration::from_secs(20), |s| pods_of(s, "solo").is_empty()));
    sim.apply_yaml(&text)
        .expect("the saved manifest is a valid pod");
    settle(&sim, "solo", 1);
}

#[test]
fn timeout_while_a_bare_pod_terminates_still_creates_it_again() {
    let sim = start(&slow_stopping_bare_pod(), 10.0, None);
    settle(&sim, "solo", 1);
    let old = uid(&pods_of(&sim, "solo")[0]);
    let child = spawn(&sim, &["pod/solo", "--force", "--timeout", "1s"]);
    let out = done(child);
    assert!(matches!(out.code, 0 | 1), "{out}");
    assert!(out.stderr.contains("created pod solo again"), "{out}");
    let pods = pods_of(&sim, "solo");
    assert_eq!(pods.len(), 1, "{pods:#?}");
    assert_ne!(uid(&pods[0]), old);
}

#[test]
fn a_hung_api_server_fails_the_target_at_its_timeout_as_unknown() {
    let sim = start_settled(&[slow("web", 2)], 10.0, &[("web", 2)]);
    let started = Instant::now();
    let child = spawn_until_patched(&sim, &["deploy/web", "--timeout", "4s"]);
    std::thread::sleep(Duration::from_millis(300));
    sim.faults().hang(true);
    let out = done(child);
    let took = started.elapsed();
    sim.faults().hang(false);
    // The deadline holds: --timeout plus the short final look, never the minutes of a hung request.
    assert!(took < Duration::from_secs(9), "took {took:?}\n{out}");
    // Not blamed on a pod: no failure verdict was made up from stale data.
    out.assert_unobserved("deploy/web");
}

#[test]
fn a_hung_api_server_during_preflight_is_an_error_at_the_timeout() {
    let sim = start_settled(&[slow("web", 2)], 10.0, &[("web", 2)]);
    sim.faults().hang(true);
    let started = Instant::now();
    let child = spawn(&sim, &["deploy/web", "--timeout", "2s"]);
    let out = done(child);
    sim.faults().hang(false);
    assert_eq!(out.code, 2, "{out}");
    assert!(started.elapsed() < Duration::from_secs(6));
    assert!(out.stderr.contains("did not answer"), "{out}");
}

#[test]
fn sigterm_during_preflight_stops_before_any_change() {
    let sim = start_settled(&[slow("web", 2)], 10.0, &[("web", 2)]);
    sim.faults().hang(true);
    let child = spawn(&sim, &["deploy/web", "-o", "json"]);
    std::thread::sleep(Duration::from_millis(800));
    signal(&child, "TERM");
    let out = done(child);
    sim.faults().hang(false);
    assert_eq!(out.code, 143, "{out}");
    let ev = events(out.stdout.as_bytes());
    let types: Vec<&str> = ev.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["Interrupted", "Summary"], "{out}");
    assert!(writes(&sim).is_empty(), "{:?}", writes(&sim));
}

/// SIGTERM to `child` while kubesim holds its request, which is answered 300 ms later; the run must
/// exit 143.
fn sigterm_while_held(sim: &Sim, child: std::process::Child) -> Output {
    wait_until_held(sim);
    signal(&child, "TERM");
    std::thread::sleep(Duration::from_millis(300));
    sim.faults().release();
    let out = done(child);
    assert_eq!(out.code, 143, "{out}");
    out
}

/// Waits until kubesim holds a request (one in flight, unanswered).
fn wait_until_held(sim: &kubesim::Sim) {
    assert!(
        sim.wait_until(Duration::from_secs(30), |s| s.faults().held() > 0),
        "no request was held"
    );
}

#[test]
fn sigterm_while_the_patch_is_in_flight_finishes_it_and_says_so() {
    let sim = start_settled(&[slow("web", 2)], 10.0, &[("web", 2)]);
    sim.faults().hold("PATCH", "/deployments/web");
    let child = spawn(&sim, &["deploy/web"]);
    let out = sigterm_while_held(&sim, child);
    let patches: Vec<_> = sim
        .requests()
        .into_iter()
        .filter(|r| r.method == "PATCH")
        .collect();
    assert_eq!(patches.len(), 1, "the patch was finished, once");
    assert_eq!(patches[0].status, 200);
    assert!(
        out.stderr
            .contains("kubectl rollout status deploy/web -n default"),
        "{out}"
    );
    assert!(!out.stderr.contains("to resume"), "{out}");
}

#[test]
fn sigterm_during_the_wait_exits_143_with_interrupted_and_summary_events() {
    let sim = start_settled(&[slow("a", 2), slow("b", 1)], 5.0, &[("a", 2), ("b", 1)]);
    let child = spawn_until_patched(&sim, &["deploy/a", "deploy/b", "-o", "json"]);
    std::thread::sleep(Duration::from_millis(500));
    let signalled = Instant::now();
    signal(&child, "TERM");
    let out = done(child);
    assert_eq!(out.code, 143, "{out}");
    let ev = events(out.stdout.as_bytes());
    let n = ev.len();
    assert_eq!(ev[n - 2]["type"], "Interrupted");
    assert_eq!(ev[n - 2]["signal"], "SIGTERM");
    assert_eq!(ev[n - 1]["type"], "Summary");
    assert_eq!(ev[n - 1]["result"], "Interrupted");
    assert_eq!(ev[n - 1]["targets"][0]["state"], "Interrupted");
    assert_eq!(ev[n - 1]["targets"][1]["state"], "Skipped");
    assert!(writes_since(&sim, signalled).is_empty());
}

#[test]
fn sigterm_while_an_eviction_is_refused_stops_with_the_pod_untouched() {
    // An integer minAvailable counts the unready canary too, so no eviction is allowed
    // (maxUnavailable would count only the Deployment's scale: disruption.go).
    let (sim, victim) = budget_refusing_every_eviction();
    let child = spawn(&sim, &[&format!("pod/{victim}")]);
    wait_for_request(&sim, |r| r.path.ends_with("/eviction") && r.status == 429);
    let signalled = Instant::now();
    signal(&child, "TERM");
    let out = done(child);
    assert_eq!(out.code, 143, "{out}");
    assert!(writes_since(&sim, signalled).is_empty());
    assert!(pods_of(&sim, "web")
        .iter()
        .any(|p| p["metadata"]["name"] == victim.as_str()));
    assert!(
        out.stderr
            .contains(&format!("to resume: kubectl graceful restart pod/{victim}")),
        "{out}"
    );
}

#[test]
fn sigterm_during_a_rollback_finishes_its_writes_then_stops() {
    let bad = deployment(
        "api",
        2,
        r#"kubesim.io/rollout-behavior: '{"*": {"crashAfter": "1s", "exitCode": 1}}'"#,
    );
    let sim = start(&bad, 20.0, None);
    settle(&sim, "api", 2);
    let child = spawn(&sim, &["deploy/api", "--rollback-on-failure"]);
    // The second PATCH is the rollback's: hold it, so it is in flight when the signal comes.
    wait_for_request(&sim, |r| r.method == "PATCH");
    sim.faults().hold("PATCH", "/deployments/api");
    let out = sigterm_while_held(&sim, child);
    assert!(out.stderr.contains("rolling back"), "{out}");
    let patches = sim
        .requests()
        .into_iter()
        .filter(|r| r.method == "PATCH")
        .count();
    assert_eq!(
        patches, 2,
        "the rollback's patch was sent and finished: {out}"
    );
}

#[test]
fn a_patch_without_an_answer_is_unknown_and_says_what_to_check() {
    let sim = start_settled(&[slow("web", 2)], 10.0, &[("web", 2)]);
    sim.faults().hold("PATCH", "/deployments/web");
    let started = Instant::now();
    let child = spawn(&sim, &["deploy/web", "--timeout", "2s", "-o", "json"]);
    let out = done(child);
    sim.faults().release();
    assert_eq!(out.code, 2, "{out}");
    assert!(started.elapsed() < Duration::from_secs(8));
    let ev = events(out.stdout.as_bytes());
    let unknown = ev
        .iter()
        .find(|e| e["type"] == "TargetUnknown")
        .unwrap_or_else(|| panic!("{ev:#?}"));
    let verdict = unknown["verdict"].as_str().unwrap();
    assert!(
        verdict.contains("patch deployment web was sent but not confirmed"),
        "{verdict}"
    );
    assert!(
        verdict.contains("kubectl get deploy/web -n default -o yaml"),
        "{verdict}"
    );
    assert_eq!(ev.last().unwrap()["result"], "Unknown");
}

/// The restart survives its watches being cut and its resourceVersion expiring (410 Gone).
fn survives(fault: impl Fn(&Sim)) {
    let sim = start_settled(&[slow("web", 3)], 20.0, &[("web", 3)]);
    let child = spawn(&sim, &["deploy/web"]);
    // Once the restart is under way (its PATCH arrived), break its watches, twice.
    wait_for_request(&sim, |r| r.method == "PATCH");
    std::thread::sleep(Duration::from_millis(500));
    fault(&sim);
    std::thread::sleep(Duration::from_millis(700));
    fault(&sim);
    let out = done(child);
    assert_eq!(out.code, 0, "{out}");
    assert_restarted(&sim, "Deployment", "web", 3);
    let watches = sim.requests().iter().filter(|r| r.watch).count();
    assert!(watches >= 3, "the watches were re-established: {watches}");
}

#[test]
fn dropped_watches_are_resumed() {
    survives(|s| s.faults().drop_watches());
}

#[test]
fn expired_resource_versions_are_relisted() {
    survives(|s| {
        s.faults().expire_resource_versions();
        s.faults().drop_watches();
    });
}

#[test]
fn ctrl_c_mid_rollout_exits_130_with_an_accurate_summary() {
    let sim = start_settled(&[slow("a", 3), slow("b", 1)], 5.0, &[("a", 3), ("b", 1)]);
    let child = spawn_until_patched(&sim, &["deploy/a", "deploy/b"]);
    std::thread::sleep(Duration::from_millis(500));
    sim.clear_requests();
    signal(&child, "INT");
    let out = finish(child, LIMIT);
    let (stdout, stderr) = (&out.stdout, &out.stderr);
    assert_eq!(out.code, 130, "{out}");
    let row = |t: &str| {
        stdout
            .lines()
            .find(|l| l.starts_with(t))
            .unwrap_or_else(|| panic!("{t} in {stdout}"))
            .to_string()
    };
    assert!(row("deploy/a").contains("Interrupted"), "{stdout}");
    assert!(row("deploy/b").contains("Skipped"), "{stdout}");
    assert!(
        stderr.contains("kubectl rollout status deploy/a"),
        "{stderr}"
    );
    assert!(
        stderr.contains("to resume: kubectl graceful restart deploy/b -n default"),
        "{stderr}"
    );
    assert!(
        writes(&sim).is_empty(),
        "nothing more written after Ctrl-C: {:?}",
        writes(&sim)
    );
}

#[test]
fn forbidden_patch_is_an_error_and_forbidden_preflight_lists_degrade() {
    let sim = start_settled(&[deployment("web", 2, "")], 40.0, &[("web", 2)]);
    let alice = sim.add_user("alice");
    sim.deny("alice", "list", "poddisruptionbudgets");
    sim.deny("alice", "patch", "deployments");
    let out = graceful()
        .args(["restart", "deploy/web", "--kubeconfig"])
        .arg(&alice)
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        stderr.contains("warning: cannot list poddisruptionbudgets"),
        "{stderr}"
    );
    assert!(stderr.contains("error: forbidden"), "{stderr}");
}

#[test]
fn ctrl_c_with_json_ends_with_interrupted_and_summary_events() {
    let sim = start_settled(&[slow("a", 2), slow("b", 1)], 5.0, &[("a", 2), ("b", 1)]);
    let child = spawn_until_patched(&sim, &["deploy/a", "deploy/b", "-o", "json"]);
    std::thread::sleep(Duration::from_millis(500));
    signal(&child, "INT");
    let out = finish(child, LIMIT);
    assert_eq!(out.code, 130, "{out}");
    let ev = events(out.stdout.as_bytes());
    let n = ev.len();
    assert!(n >= 3, "{ev:#?}");
    assert_eq!(ev[n - 2]["type"], "Interrupted");
    assert!(ev[n - 2]["resume"].as_array().unwrap().iter().any(|r| r
        .as_str()
        .unwrap()
        .contains("kubectl graceful restart deploy/b")));
    let summary = &ev[n - 1];
    assert_eq!(summary["type"], "Summary");
    assert_eq!(summary["result"], "Interrupted");
    assert_eq!(summary["targets"][0]["state"], "Interrupted");
    assert_eq!(summary["targets"][1]["state"], "Skipped");
}

#[test]
fn an_api_server_outage_mid_rollout_is_survived() {
    let sim = start_settled(&[slow("web", 2)], 10.0, &[("web", 2)]);
    let child = spawn_until_patched(&sim, &["deploy/web"]);
    std::thread::sleep(Duration::from_millis(300));
    sim.stop_server();
    std::thread::sleep(Duration::from_millis(1500));
    sim.restart_server();
    let out = done(child);
    assert_eq!(out.code, 0, "{out}");
    assert_restarted(&sim, "Deployment", "web", 2);
}

#[test]
fn an_api_server_that_stays_away_fails_the_target_at_its_timeout_saying_why() {
    let sim = start_settled(&[slow("web", 2)], 10.0, &[("web", 2)]);
    let child = spawn_until_patched(&sim, &["deploy/web", "--timeout", "3s"]);
    std::thread::sleep(Duration::from_millis(300));
    sim.stop_server();
    let out = done(child);
    // Not observed is not failed: exit 2, the target Unknown, and why.
    assert_eq!(out.code, 2, "{out}");
    assert!(out.stderr.contains("could not observe deploy/web"), "{out}");
    assert!(out.stderr.contains("connection refused"), "{out}");
}

#[test]
fn an_eviction_the_pdb_keeps_refusing_fails_at_the_timeout_with_its_reason() {
    // The budget covers the Deployment's pods and an unready canary: no disruption is allowed while the
    // canary is unready, so every eviction is refused (429) with the budget's reason. (An integer
    // minAvailable counts every pod, the canary too; maxUnavailable would count only the
    // Deployment's scale and allow one: disruption.go getExpectedPodCount.)
    let (sim, victim) = budget_refusing_every_eviction();
    let out = run(&sim, &[&format!("pod/{victim}"), "--timeout", "3s"]).code(1);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(stderr.contains("disruption budget"), "{stderr}");
    assert!(
        stderr.contains(&format!("eviction of pod {victim} refused")),
        "{stderr}"
    );
    assert!(
        stderr.contains("was refused until --timeout ran out"),
        "{stderr}"
    );
    // Nothing was evicted.
    assert!(pods_of(&sim, "web")
        .iter()
        .any(|p| p["metadata"]["name"] == victim.as_str()));
}

/// Two ready pods of `web` and an unready canary under one budget of `minAvailable: 2` (tier: web):
/// every eviction is refused (429) while the canary is unready. The simulator, and the pod to evict.
fn budget_refusing_every_eviction() -> (Sim, String) {
    let web =
        deployment("web", 2, "").replace("labels: {app: web}", "labels: {app: web, tier: web}");
    let canary = r#"
apiVersion: v1
kind: Pod
metadata: {name: canary, namespace: default, labels: {app: canary, tier: web}}
spec: {containers: [{name: app, image: registry.example/web:2}]}
status:
  phase: Running
  conditions: [{type: Ready, status: "False"}]
  containerStatuses: [{name: app, ready: false, restartCount: 0, image: registry.example/web:2, imageID: x, state: {running: {startedAt: "2026-01-01T00:00:00Z"}}}]
"#;
    let budget = "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: web, namespace: default}\nspec: {minAvailable: 2, selector: {matchLabels: {tier: web}}}\n";
    let sim = start(
        &[web, canary.to_string(), budget.to_string()].join("\n---\n"),
        40.0,
        None,
    );
    settle(&sim, "web", 2);
    let victim = pods_of(&sim, "web")[0]["metadata"]["name"]
        .as_str()
        .unwrap()
        .to_string();
    (sim, victim)
}
