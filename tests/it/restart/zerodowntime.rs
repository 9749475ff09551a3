//! Zero downtime, verified (issue 18): restart watches the EndpointSlices of the Services that select a
//! target while it rolls, and says whether the rollout could have dropped traffic.

use std::time::Duration;

use super::common::*;
use crate::support::manifests::{self, Meta};
use serde_json::Value;

/// A Deployment `web` of 3 behind Service `web` (port 80 → 8080), surge 1 / unavailable 0; its app
/// exits as soon as SIGTERM arrives. `lifecycle` is the container's (preStop), `strategy` the
/// Deployment's.
fn web(lifecycle: &str, strategy: &str) -> String {
    let meta = Meta {
        namespace: Some("default"),
        ..Meta::default()
    };
    manifests::web_behind_service(&meta, strategy, 30, "shop/web:1.0", lifecycle)
}

const ROLLING: &str = "{type: RollingUpdate, rollingUpdate: {maxSurge: 1, maxUnavailable: 0}}";

/// The scenario at scale 5, settled; the service proxy trails the endpoints by the margin (5 s), like
/// the endpoint consumers the margin stands for.
fn sim_of(yaml: &str) -> kubesim::Sim {
    let sim = start(yaml, 5.0, None);
    settle(&sim, "web", 3);
    // Settled for longer than the default lag first: the proxy's view then starts from all three.
    std::thread::sleep(sim.real(Duration::from_secs(2)));
    sim.set_proxy_lag(Duration::from_secs(5));
    sim
}

fn summary_target(stdout: &[u8]) -> Value {
    let evs = events(stdout);
    let s = evs.last().expect("events");
    assert_eq!(s["type"], "Summary", "{s:#}");
    s["targets"][0].clone()
}

fn names(pods: &[Value]) -> Vec<String> {
    pods.iter()
        .map(|p| p["metadata"]["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn no_prestop_and_an_app_that_exits_on_sigterm_races_the_endpoint_removal() {
    let sim = sim_of(&web("{}", ROLLING));
    let old = names(&pods_of(&sim, "web"));
    let out = run(
        &sim,
        &["deploy/web", "-o", "json", "--probe", "svc/web:80/"],
    )
    .code(0);
    let t = summary_target(&out.get_output().stdout);
    assert_eq!(t["state"], "Complete", "{t:#}");
    let z = &t["zeroDowntime"];
    crate::support::assert_no_prestop_race(z, &old, "");
    let fix = z["fix"].as_str().unwrap();
    assert!(fix.contains("seconds: 10"), "{fix}");
    // The probe went through the service proxy and saw the stopped pods refuse.
    let probe = &z["probe"];
    assert!(probe["requests"].as_u64().unwrap() >= 5, "{probe:#}");
    assert!(probe["failed"].as_u64().unwrap() >= 1, "{probe:#}");
    assert!(
        probe["failures"][0]
            .as_str()
            .unwrap()
            .starts_with("503: error trying to reach service: dial tcp "),
        "{probe:#}"
    );
    assert!(probe["path"]
        .as_str()
        .unwrap()
        .starts_with("/api/v1/namespaces/default/services/web:80/proxy/"));
    // Observed through EndpointSlices of discovery.k8s.io/v1, by the service-name label.
    assert!(sim.requests().iter().any(|r| r.path
        == "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices"
        && r.query.contains("kubernetes.io%2Fservice-name")));
    // The same verdict as a stream event.
    assert!(events(&out.get_output().stdout)
        .iter()
        .any(|e| e["type"] == "ZeroDowntime" && e["zeroDowntime"] == *z));
}

#[test]
fn a_prestop_pause_longer_than_the_margin_is_ok_and_the_probe_sees_no_failure() {
    let sim = sim_of(&web("{preStop: {sleep: {seconds: 10}}}", ROLLING));
    let out = run(&sim, &["deploy/web", "--probe", "svc/web:80/healthz"]).code(0);
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    let row = stdout
        .lines()
        .find(|l| l.contains("zero downtime"))
        .unwrap_or_else(|| panic!("no zero-downtime line: {stdout}"));
    assert!(row.contains(" ok ") && row.contains("3/3"), "{stdout}");
    assert!(
        row.contains("3 replaced pods kept serving at least 10s after leaving the ready endpoints of svc/web (margin 5s); ready endpoints never below 3"),
        "{stdout}"
    );
    assert!(row.contains("; probe: 0 of "), "{stdout}");
    assert!(
        stdout.contains("probe: ") && stdout.contains(" failed, worst latency "),
        "{stdout}"
    );
    assert!(!stdout.contains("fix:"), "{stdout}");
}

#[test]
fn recreate_takes_every_endpoint_away_at_once() {
    let sim = sim_of(&web(
        "{preStop: {sleep: {seconds: 10}}}",
        "{type: Recreate}",
    ));
    let out = run(&sim, &["deploy/web", "--force"]).code(0);
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    let row = stdout
        .lines()
        .find(|l| l.contains("zero downtime"))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(
        row.contains(" violated ") && row.contains("0/3"),
        "{stdout}"
    );
    assert!(
        row.contains("svc/web had no ready endpoint at "),
        "{stdout}"
    );
    // Evidence and the fix (diagnose's recreate-strategy) under the table.
    assert!(
        stdout.contains("deploy/web: zero downtime violated"),
        "{stdout}"
    );
    assert!(
        stdout.contains("  - svc/web: ready endpoints fell from 3 to 0"),
        "{stdout}"
    );
    assert!(stdout.contains("    [recreate-strategy] "), "{stdout}");
    assert!(stdout.contains("type: RollingUpdate"), "{stdout}");
}

#[test]
fn a_worker_no_service_selects_is_not_applicable_and_the_check_can_be_turned_off() {
    let sim = start_settled(&[deployment("worker", 2, "")], 20.0, &[("worker", 2)]);
    let out = run(&sim, &["deploy/worker", "-o", "json"]).code(0);
    let z = &summary_target(&out.get_output().stdout)["zeroDowntime"];
    assert_eq!(z["verdict"], "not-applicable", "{z:#}");
    assert_eq!(
        z["summary"],
        "no Service in namespace default selects its pods"
    );
    assert!(
        z["minReadyEndpoints"].is_null() && z["probe"].is_null(),
        "{z:#}"
    );
    // --probe checks its Service before any write.
    sim.clear_requests();
    let out = run(&sim, &["deploy/worker", "--probe", "svc/nope:80"]).code(2);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        err.contains("error: --probe svc/nope:80: service nope not found in namespace default"),
        "{err}"
    );
    assert!(writes(&sim).is_empty(), "{:?}", writes(&sim));
    sim.clear_requests();
    let out = run(
        &sim,
        &["deploy/worker", "-o", "json", "--no-endpoint-check"],
    )
    .code(0);
    let t = summary_target(&out.get_output().stdout);
    assert!(t["zeroDowntime"].is_null(), "{t:#}");
    assert!(
        !sim.requests()
            .iter()
            .any(|r| r.path.ends_with("/services") || r.path.contains("endpointslices")),
        "--no-endpoint-check reads no Service"
    );
}

#[test]
fn a_forbidden_endpointslices_watch_is_unknown_and_the_restart_still_works() {
    let sim = sim_of(&web("{}", ROLLING));
    for verb in ["list", "watch"] {
        sim.deny("kubernetes-admin", verb, "endpointslices");
    }
    let out = run(&sim, &["deploy/web", "-o", "json"]).code(0);
    let t = summary_target(&out.get_output().stdout);
    assert_eq!(t["state"], "Complete", "{t:#}");
    assert_restarted(&sim, "Deployment", "web", 3);
    let z = &t["zeroDowntime"];
    assert_eq!(z["verdict"], "unknown", "{z:#}");
    let why = z["summary"].as_str().unwrap();
    assert!(
        why.starts_with("cannot watch endpointslices -l kubernetes.io/service-name: forbidden: "),
        "{why}"
    );
    assert!(why.contains("endpointslices"), "{why}");
    assert_eq!(z["services"], serde_json::json!(["web"]));
}

#[test]
fn zero_downtime_flags_are_checked_before_touching_a_cluster() {
    for (args, needle) in [
        (
            vec!["deploy/a", "--probe", "web:80"],
            "expected svc/NAME:PORT[/PATH]",
        ),
        (vec!["deploy/a", "--probe", "svc/web"], "no port"),
        (
            vec!["deploy/a", "--endpoint-margin", "soon"],
            "--endpoint-margin",
        ),
        (vec!["deploy/a", "--endpoint-margin", "1h"], "at most 10m"),
        (
            vec!["deploy/a", "--probe", "svc/web:80", "--no-endpoint-check"],
            "cannot be used with",
        ),
    ] {
        let out = graceful().arg("restart").args(&args).assert().code(2);
        let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
        assert!(err.contains(needle), "{args:?}: {err}");
    }
}
