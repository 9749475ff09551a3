//! The EndpointSlice controller and the service proxy, against a running simulator (and kubectl).

use kubesim::scenarios::patched;
use kubesim::Sim;
use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

/// The Deployment `web` (fixtures/web.yaml) of 2 pods serving on the port `http`, behind a Service;
/// `pre_stop` seconds of preStop sleep (0: none), the app exits on SIGTERM after `sigterm_exit`.
fn web(pre_stop: u32, sigterm_exit: &str) -> String {
    let lifecycle = if pre_stop > 0 {
        format!(", lifecycle: {{preStop: {{sleep: {{seconds: {pre_stop}}}}}}}")
    } else {
        String::new()
    };
    let deployment = patched(
        include_str!("fixtures/web.yaml"),
        &format!(
            r#"
spec:
  replicas: 2
  template:
    metadata: {{annotations: {{kubesim.io/behavior: '{{"sigtermExit": "{sigterm_exit}"}}'}}}}
    spec:
      terminationGracePeriodSeconds: 30
      containers: [{{name: app, image: shop/web:1, ports: [{{name: http, containerPort: 8080}}]{lifecycle}}}]
"#
        ),
    );
    format!(
        "{deployment}---\n{}",
        include_str!("fixtures/web-service.yaml")
    )
}

fn slices(sim: &Sim) -> Vec<Value> {
    sim.list("discovery.k8s.io/v1", "EndpointSlice", Some("default"))
}

fn endpoints(sim: &Sim) -> Vec<Value> {
    slices(sim)
        .iter()
        .flat_map(|s| s["endpoints"].as_array().cloned().unwrap_or_default())
        .collect()
}

fn ready_count(sim: &Sim) -> usize {
    endpoints(sim)
        .iter()
        .filter(|e| e["conditions"]["ready"] == true)
        .count()
}

#[test]
fn a_service_gets_a_slice_of_its_ready_pods() {
    let sim = Sim::with_scenario_at(&web(0, "0s"), 20.0);
    assert!(sim.wait_until(Duration::from_secs(20), |s| ready_count(s) == 2));
    let sl = slices(&sim);
    assert_eq!(sl.len(), 1, "{sl:#?}");
    let s = &sl[0];
    assert!(s["metadata"]["name"].as_str().unwrap().starts_with("web-"));
    assert_eq!(s["addressType"], "IPv4");
    assert_eq!(s["metadata"]["labels"]["kubernetes.io/service-name"], "web");
    assert_eq!(
        s["metadata"]["labels"]["endpointslice.kubernetes.io/managed-by"],
        "endpointslice-controller.k8s.io"
    );
    assert_eq!(s["metadata"]["labels"]["team"], "shop");
    assert_eq!(s["metadata"]["ownerReferences"][0]["kind"], "Service");
    // The named targetPort resolved to the container's port.
    assert_eq!(
        s["ports"],
        serde_json::json!([{"name": "http", "port": 8080, "protocol": "TCP"}])
    );
    let m = &s["metadata"]["managedFields"][0];
    assert_eq!(m["manager"], "kube-controller-manager");
    assert!(m["time"].as_str().is_some());
}

#[test]
fn a_terminating_pod_stays_in_the_slice_not_ready_until_it_is_gone() {
    // A 20 s preStop: the pod terminates slowly.
    let sim = Sim::with_scenario_at(&web(20, "0s"), 10.0);
    assert!(sim.wait_until(Duration::from_secs(20), |s| ready_count(s) == 2));
    let victim = endpoints(&sim)[0]["targetRef"]["name"]
        .as_str()
        .unwrap()
        .to_string();
    sim.delete("v1", "Pod", Some("default"), &victim);
    let is_victim = |e: &Value| e["targetRef"]["name"] == victim.as_str();
    assert!(
        sim.wait_until(Duration::from_secs(10), |s| endpoints(s)
            .iter()
            .any(|e| is_victim(e) && e["conditions"]["terminating"] == true)),
        "{:#?}",
        slices(&sim)
    );
    let e = endpoints(&sim).into_iter().find(is_victim).unwrap();
    assert_eq!(e["conditions"]["ready"], false, "{e:#}");
    // Gone from the slice once the pod is gone (after the preStop and SIGTERM).
    assert!(sim.wait_until(Duration::from_secs(20), |s| !endpoints(s)
        .iter()
        .any(is_victim)));
    assert!(sim.wait_until(Duration::from_secs(20), |s| ready_count(s) == 2));
}

#[test]
fn the_slice_goes_with_its_service_and_an_empty_service_keeps_a_placeholder() {
    let sim = Sim::with_scenario_at(&web(0, "0s"), 20.0);
    assert!(sim.wait_until(Duration::from_secs(20), |s| ready_count(s) == 2));
    sim.apply_yaml(
        "apiVersion: v1\nkind: Service\nmetadata: {name: none, namespace: default}\nspec:\n  selector: {app: nothing}\n  ports: [{port: 80}]\n",
    )
    .unwrap();
    assert!(
        sim.wait_until(Duration::from_secs(10), |s| slices(s).iter().any(|x| {
            x["metadata"]["labels"]["kubernetes.io/service-name"] == "none"
                && x["endpoints"] == serde_json::json!([])
        }))
    );
    sim.delete("v1", "Service", Some("default"), "web");
    assert!(sim.wait_until(Duration::from_secs(10), |s| !slices(s)
        .iter()
        .any(|x| x["metadata"]["labels"]["kubernetes.io/service-name"] == "web")));
}

fn kubectl() -> Option<PathBuf> {
    kubesim::tools::kubectl("slices and the service proxy through kubectl")
}

fn raw(sim: &Sim, path: &str) -> (bool, String) {
    let o = Command::new(kubectl().unwrap())
        .arg("--kubeconfig")
        .arg(sim.kubeconfig_path())
        .args(["get", "--raw", path])
        .output()
        .unwrap();
    (
        o.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
    )
}

#[test]
fn kubectl_reads_slices_and_goes_through_the_service_proxy() {
    if kubectl().is_none() {
        return;
    }
    let sim = Sim::with_scenario_at(&web(0, "0s"), 20.0);
    assert!(sim.wait_until(Duration::from_secs(20), |s| ready_count(s) == 2));
    let o = Command::new(kubectl().unwrap())
        .arg("--kubeconfig")
        .arg(sim.kubeconfig_path())
        .args([
            "get",
            "endpointslices",
            "-l",
            "kubernetes.io/service-name=web",
            "-o",
            "name",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{o:?}");
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("endpointslice.discovery.k8s.io/web-"));
    // By port number (the Service port 80, named http) and by port name.
    for id in ["web:80", "web:http"] {
        let (ok, out) = raw(
            &sim,
            &format!("/api/v1/namespaces/default/services/{id}/proxy/healthz"),
        );
        assert!(ok, "{id}: {out}");
        assert!(
            out.contains("GET /healthz: answered by container app of pod web-"),
            "{out}"
        );
    }
    let (ok, out) = raw(&sim, "/api/v1/namespaces/default/services/web:81/proxy/");
    assert!(!ok);
    assert!(
        out.contains("no service port 81 found for service \"web\""),
        "{out}"
    );
    let (ok, out) = raw(&sim, "/api/v1/namespaces/default/services/nope:80/proxy/");
    assert!(!ok && out.contains("services \"nope\" not found"), "{out}");
    // Forbidden like RBAC says it.
    sim.deny("kubernetes-admin", "get", "services/proxy");
    let (ok, out) = raw(&sim, "/api/v1/namespaces/default/services/web:80/proxy/");
    assert!(
        !ok && out.contains("cannot get resource \"services/proxy\""),
        "{out}"
    );
}

#[test]
fn the_proxy_reaches_a_pod_until_sigterm_and_routes_by_lagging_endpoints() {
    if kubectl().is_none() {
        return;
    }
    // The app stops accepting connections at SIGTERM (no preStop); the proxy's view trails by 20 s
    // (sim), so for that long it still picks the stopped pod every other request.
    let sim = Sim::with_scenario_at(&web(0, "30s"), 10.0);
    assert!(sim.wait_until(Duration::from_secs(20), |s| ready_count(s) == 2));
    // Settled for longer than the default lag: the proxy's view has both pods before it is frozen.
    std::thread::sleep(sim.real(Duration::from_secs(3)));
    sim.set_proxy_lag(Duration::from_secs(20));
    let victim = endpoints(&sim)[0]["targetRef"]["name"]
        .as_str()
        .unwrap()
        .to_string();
    sim.delete("v1", "Pod", Some("default"), &victim);
    let mut refused = 0;
    for _ in 0..6 {
        let (ok, out) = raw(&sim, "/api/v1/namespaces/default/services/web:80/proxy/");
        if !ok {
            assert!(
                out.contains("error trying to reach service: dial tcp 10.")
                    && out.contains(": connect: connection refused"),
                "{out}"
            );
            refused += 1;
        }
    }
    assert!((2..=4).contains(&refused), "{refused} of 6 refused");
    // With no ready address at all: the upstream message.
    sim.set_proxy_lag(Duration::ZERO);
    sim.apply_yaml(
        "apiVersion: v1\nkind: Service\nmetadata: {name: none, namespace: default}\nspec:\n  selector: {app: nothing}\n  ports: [{port: 80}]\n",
    )
    .unwrap();
    assert!(sim.wait_until(Duration::from_secs(10), |s| s
        .get("v1", "Endpoints", Some("default"), "none")
        .is_some()));
    let (ok, out) = raw(&sim, "/api/v1/namespaces/default/services/none:80/proxy/");
    assert!(
        !ok && out.contains("no endpoints available for service \"none\""),
        "{out}"
    );
}
