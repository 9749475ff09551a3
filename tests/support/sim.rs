//! kubesim for the integration tests: starting one on a scenario, the workloads the scenarios are
//! made of, and reading back what the simulator holds and what it was asked.

use std::time::Duration;

use kubesim::{Sim, SimOptions};
use serde_json::Value;

use super::manifests::{self, Meta};
use super::{is_ready, restarted_at};

/// The namespace the scenarios use.
pub const NS: &str = "default";

/// A kubesim with the objects of `yaml`, `scale` simulated seconds a second, `nodes` nodes (None:
/// the simulator's default).
pub fn start(yaml: &str, scale: f64, nodes: Option<usize>) -> Sim {
    start_with(SimOptions {
        time_scale: scale,
        scenario_yaml: vec![yaml.to_string()],
        nodes,
        ..Default::default()
    })
}

/// A kubesim with the objects of `docs`, `scale` simulated seconds a second, returned once each
/// `(app, n)` of `ready` has `n` pods, all Ready ([`settle`]); its request log starts empty then.
pub fn start_settled(docs: &[String], scale: f64, ready: &[(&str, usize)]) -> Sim {
    let sim = start(&docs.join("\n---\n"), scale, None);
    for (app, n) in ready {
        settle(&sim, app, *n);
    }
    sim.clear_requests();
    sim
}

/// A kubesim started with `opts`; a simulator that cannot start fails the test.
pub fn start_with(opts: SimOptions) -> Sim {
    Sim::start(opts).unwrap_or_else(|e| panic!("kubesim starts: {e:#}"))
}

/// The port the simulator listens on (127.0.0.1).
pub fn port(sim: &Sim) -> u16 {
    let url = sim.url();
    url.rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no port in {url}"))
}

/// What the scenarios add to a manifest: the namespace.
const META: Meta = Meta {
    namespace: Some(NS),
    labels: None,
    extra_spec: None,
};

/// A Deployment `name` of `replicas` (label `app: name`, surge 1 / unavailable 0, a readiness
/// probe, 5 s grace, labelled `tier: backend`), its template annotated with
/// `extra_template_annotations` (flow-map entries, e.g. kubesim behaviours).
pub fn deployment(name: &str, replicas: u32, extra_template_annotations: &str) -> String {
    let meta = Meta {
        labels: Some("{tier: backend}"),
        ..META
    };
    let surge = "{rollingUpdate: {maxSurge: 1, maxUnavailable: 0}}";
    manifests::deployment(&meta, name, replicas, surge, extra_template_annotations)
}

/// A Deployment whose pods need 20 simulated seconds to become Ready.
pub fn slow(name: &str, replicas: u32) -> String {
    deployment(
        name,
        replicas,
        r#"kubesim.io/behavior: '{"*": {"readyAfter": "20s"}}'"#,
    )
}

/// A StatefulSet `name` of `replicas` with `updateStrategy: strategy` (a flow map).
pub fn statefulset(name: &str, replicas: u32, strategy: &str) -> String {
    manifests::statefulset(&META, name, replicas, strategy)
}

/// A DaemonSet `name` with `updateStrategy: strategy` (a flow map).
pub fn daemonset(name: &str, strategy: &str) -> String {
    manifests::daemonset(&META, name, strategy, None)
}

/// A PodDisruptionBudget for `app: APP` with `spec` (flow-map entries, e.g. `maxUnavailable: 0`).
pub fn pdb(app: &str, spec: &str) -> String {
    manifests::pdb(&META, app, &format!("{{app: {app}}}"), spec)
}

/// The pods labelled `app: APP` in [`NS`], terminating ones included.
pub fn pods_of(sim: &Sim, app: &str) -> Vec<Value> {
    sim.list("v1", "Pod", Some(NS))
        .into_iter()
        .filter(|p| p.pointer("/metadata/labels/app").and_then(Value::as_str) == Some(app))
        .collect()
}

/// The uids of the pods of `app` ([`pods_of`]).
pub fn pod_uids(sim: &Sim, app: &str) -> Vec<String> {
    pods_of(sim, app)
        .iter()
        .map(|p| p["metadata"]["uid"].as_str().expect("a uid").to_string())
        .collect()
}

/// Waits (up to 30 s) until there are `n` pods of `app`, all Ready.
pub fn settle(sim: &Sim, app: &str, n: usize) {
    let app = app.to_string();
    assert!(
        sim.wait_until(Duration::from_secs(30), move |s| {
            let pods = pods_of(s, &app);
            pods.len() == n && pods.iter().all(is_ready)
        }),
        "workload never became ready in the simulator"
    );
}

/// The pods of `app` all carry the workload's current restartedAt, are Ready, and there are `n`;
/// returns that restartedAt.
pub fn assert_restarted(sim: &Sim, kind: &str, app: &str, n: usize) -> String {
    let w = sim.get("apps/v1", kind, Some(NS), app).expect("workload");
    let value = restarted_at(&w).expect("template carries restartedAt");
    let pods = pods_of(sim, app);
    assert_eq!(pods.len(), n, "pods right after return: {pods:#?}");
    for p in &pods {
        assert!(is_ready(p), "not Ready when restart returned: {p:#?}");
        assert_eq!(
            restarted_at(p).as_deref(),
            Some(value.as_str()),
            "old pod left: {p:#?}"
        );
    }
    value
}

/// The writes the simulator received: (method, path), oldest first.
pub fn writes(sim: &Sim) -> Vec<(String, String)> {
    sim.requests()
        .into_iter()
        .filter(|r| !matches!(r.method.as_str(), "GET" | "HEAD"))
        .map(|r| (r.method.clone(), r.path.clone()))
        .collect()
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

/// `kubectl ARGS… --kubeconfig SIM` (isolated); the test fails when kubectl does.
pub fn kubectl(sim: &Sim, args: &[&str]) -> super::Output {
    let mut c = super::kubectl_process();
    c.args(args).arg("--kubeconfig").arg(sim.kubeconfig_path());
    let out = super::run(c, super::LIMIT);
    assert_eq!(out.code, 0, "{out}");
    out
}

/// The real `kubectl rollout status TARGET` agrees that the rollout is complete.
pub fn kubectl_rollout_status_agrees(sim: &Sim, target: &str) {
    kubectl(sim, &["rollout", "status", target, "--timeout=10s"]);
}
