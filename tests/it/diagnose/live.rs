//! diagnose live against kubesim: a namespace or all of them, read page by page; related objects
//! found by selector and scale target; forbidden and missing APIs degrading with what was not
//! checked; and a dump of the cluster giving the same findings offline.

use predicates::prelude::*;
use serde_json::Value;

use super::{fixtures, json_of, message_of, rules_of, workload_names};
use crate::support::graceful;
use crate::support::table::{check, row};

#[test]
fn live_mode_errors_are_one_clear_line() {
    let home = tempfile::tempdir().unwrap();
    // A cluster that is not there.
    let kc = home.path().join("config");
    std::fs::write(
        &kc,
        "apiVersion: v1\nkind: Config\ncurrent-context: gone\nclusters:\n- name: gone\n  cluster: {server: \"https://127.0.0.1:1\", insecure-skip-tls-verify: true}\nusers:\n- name: u\n  user: {token: t}\ncontexts:\n- name: gone\n  context: {cluster: gone, user: u, namespace: shop}\n",
    )
    .unwrap();
    let kc = kc.display().to_string();
    #[rustfmt::skip]
    let rows = [
        row("no kubeconfig at all", &["diagnose"], 2).stderr_has("no kubeconfig found"),
        row("a cluster that is not there", &["diagnose", "--request-timeout", "5s", "--kubeconfig", &kc], 2)
            .stderr_has("cannot reach https://127.0.0.1:1"),
        // Usage errors come before any connection.
        row("targets and a selector", &["diagnose", "deploy/web", "-l", "app=web", "--kubeconfig", &kc], 2)
            .stderr_has("selector"),
        row("rules with a target", &["diagnose", "rules", "deploy/web"], 2).stderr_has("takes no targets"),
    ];
    check(&rows);
}

use kubesim::{Sim, SimOptions};

/// web and api behind Services (web with a PDB and a readiness probe), worker behind none, and an OnDelete
/// StatefulSet db in namespace data.
const LIVE_SCENARIO: &str = include_str!("../../fixtures/diagnose/live.yaml");

fn live(sim: &Sim, args: &[&str]) -> assert_cmd::assert::Assert {
    let mut c = graceful();
    c.arg("diagnose")
        .args(args)
        .arg("--kubeconfig")
        .arg(sim.kubeconfig_path());
    c.assert()
}

/// The JSON report of `diagnose ARGS…` against `sim` (its exit code not checked).
fn live_json(sim: &Sim, args: &[&str]) -> Value {
    json_of(&live(sim, args).get_output().stdout)
}

/// A Deployment `name` in `default` of `replicas` pods labelled `app: NAME` running `containers` (as
/// JSON, which is YAML too): what these tests vary, without the skeleton around it.
fn deployment(name: &str, replicas: u32, containers: Value) -> String {
    serde_json::json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": containers}}
        }
    })
    .to_string()
}

#[test]
fn live_namespace_relates_pdb_and_service_by_selector() {
    let sim = Sim::with_scenario(LIVE_SCENARIO);
    let r = live_json(&sim, &["-o", "json"]);
    assert_eq!(r["kubernetesVersion"], "1.33");
    // Only the two Deployments of namespace default: their ReplicaSets and pods are not workloads.
    let names = workload_names(&r);
    assert_eq!(names, ["api", "web", "worker"], "{r:#}");
    assert_eq!(r["workloads"][0]["source"], "cluster");
    let web = rules_of(&r, "web");
    // The Service found by selector makes web a serving workload with no preStop pause…
    assert!(web.contains(&"prestop-missing".to_string()), "{web:?}");
    let msg = message_of(&r, "web", "prestop-missing");
    assert!(msg.contains("Service web"), "{msg}");
    // …and the PDB found by selector covers it.
    assert!(!web.contains(&"pdb-missing".to_string()), "{web:?}");
    let api = rules_of(&r, "api");
    for rule in [
        "pdb-missing",
        "shell-swallows-sigterm",
        "readiness-missing",
        "prestop-missing",
    ] {
        assert!(api.contains(&rule.to_string()), "{rule} not in {api:?}");
    }
    // A worker with only a metrics port and no Service: no traffic findings.
    let worker = rules_of(&r, "worker");
    assert!(
        !worker.contains(&"prestop-missing".to_string())
            && !worker.contains(&"readiness-missing".to_string()),
        "{worker:?}"
    );
    // All lists went out, plus /version.
    let reqs = sim.requests();
    for path in [
        "/apis/apps/v1/namespaces/default/deployments",
        "/apis/policy/v1/namespaces/default/poddisruptionbudgets",
        "/api/v1/namespaces/default/services",
        "/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers",
        "/version",
    ] {
        assert!(reqs.iter().any(|q| q.path == path), "no request to {path}");
    }
}

#[test]
fn live_targets_all_namespaces_and_not_found() {
    let sim = Sim::with_scenario(LIVE_SCENARIO);
    let out = live(&sim, &["deploy/api", "-o", "json", "--fail-on", "warning"])
        .code(1)
        .get_output()
        .stdout
        .clone();
    let r = json_of(&out);
    assert_eq!(r["summary"]["workloads"], 1);
    assert_eq!(r["workloads"][0]["name"], "api");

    let r = live_json(&sim, &["-A", "-o", "json"]);
    let db = rules_of(&r, "db");
    assert!(
        db.contains(&"update-strategy-ondelete".to_string())
            && db.contains(&"single-replica".to_string()),
        "{db:?}"
    );

    live(&sim, &["sts/db", "-n", "data"]).code(0);
    // A missing target is an error; the others are still checked.
    live(&sim, &["deploy/missing", "deploy/web"])
        .code(2)
        .stdout(predicate::str::contains("deployment/web"))
        .stderr(predicate::str::contains(
            "error: deploy/missing: deployment missing not found in namespace default",
        ));

    // -l goes to the API server as a labelSelector on the workload lists.
    sim.clear_requests();
    assert_eq!(
        live_json(&sim, &["-l", "app=web", "-o", "json"])["summary"]["workloads"],
        1
    );
    assert!(sim
        .requests()
        .iter()
        .any(|q| q.path.ends_with("/deployments") && q.query.contains("labelSelector")));
}

#[test]
fn live_version_aware_advice() {
    // Two Deployments that pause before stopping: `native` with the preStop sleep action (1.30+),
    // `shell` with `sleep` in an exec hook.
    let pausing = |name: &str, pre_stop: Value| {
        let app = serde_json::json!({"name": "app", "image": "example/app:1", "lifecycle": {"preStop": pre_stop}});
        deployment(name, 2, serde_json::json!([app]))
    };
    let scenario = [
        pausing("native", serde_json::json!({"sleep": {"seconds": 10}})),
        pausing(
            "shell",
            serde_json::json!({"exec": {"command": ["sleep", "10"]}}),
        ),
    ]
    .join("\n---\n");
    let run = |version: &str| {
        let sim = Sim::start(SimOptions {
            server_version: version.to_string(),
            scenario_yaml: vec![scenario.to_string()],
            ..SimOptions::default()
        })
        .unwrap();
        live_json(&sim, &["-o", "json"])
    };
    let old = run("v1.29.0");
    assert_eq!(old["kubernetesVersion"], "1.29");
    assert!(rules_of(&old, "native").contains(&"prestop-sleep-unsupported".to_string()));
    assert!(!rules_of(&old, "shell").contains(&"prestop-sleep-native".to_string()));
    let new = run("v1.33.2");
    assert_eq!(new["kubernetesVersion"], "1.33");
    assert!(!rules_of(&new, "native").contains(&"prestop-sleep-unsupported".to_string()));
    assert!(rules_of(&new, "shell").contains(&"prestop-sleep-native".to_string()));
}

#[test]
fn live_forbidden_list_is_checked_where_possible_and_exits_2() {
    let sim = Sim::with_scenario(LIVE_SCENARIO);
    let alice = sim.add_user("alice");
    sim.deny("alice", "list", "poddisruptionbudgets");
    let mut c = graceful();
    let out = c
        .args([
            "diagnose",
            "-o",
            "json",
            "--fail-on",
            "never",
            "--kubeconfig",
        ])
        .arg(&alice)
        .assert()
        // Not green: a CI gate with the wrong service account must not pass.
        .code(2)
        .stderr(predicate::str::contains(
            "error: cannot list poddisruptionbudgets in namespace default:",
        ))
        .stderr(predicate::str::contains("not checked: pdb-missing"))
        .get_output()
        .stdout
        .clone();
    let r = json_of(&out);
    // Without PDBs, no claim about PDBs either way; the rest is checked.
    assert!(!rules_of(&r, "api").contains(&"pdb-missing".to_string()));
    assert!(rules_of(&r, "api").contains(&"shell-swallows-sigterm".to_string()));
    assert!(r["errors"][0]["source"]
        .as_str()
        .unwrap()
        .contains("poddisruptionbudgets"));
}

#[test]
fn live_everything_forbidden_names_what_was_not_checked() {
    let sim = Sim::with_scenario(LIVE_SCENARIO);
    let bob = sim.add_user("bob");
    sim.deny("bob", "list", "*");
    let mut c = graceful();
    let assert = c
        .args(["diagnose", "--kubeconfig"])
        .arg(&bob)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "cannot list deployments in namespace default",
        ))
        .stderr(predicate::str::contains(
            "cannot list services in namespace default",
        ))
        .stderr(predicate::str::contains("not checked: bare-pod"));
    let err = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
    for what in [
        "statefulsets",
        "daemonsets",
        "replicasets",
        "jobs",
        "cronjobs",
        "pods",
    ] {
        assert!(
            err.contains(&format!("cannot list {what}")),
            "{what}: {err}"
        );
    }
}

#[test]
fn live_all_namespaces_reads_page_by_page_and_pods_as_metadata() {
    // 501 bare pods (served as loaded: a status makes them static) and a Deployment.
    let mut yaml = String::from(LIVE_SCENARIO);
    for i in 0..501 {
        yaml.push_str(&format!(
            "\n---\napiVersion: v1\nkind: Pod\nmetadata: {{name: bare-{i:03}, namespace: batch}}\nspec: {{containers: [{{name: c, image: busybox}}]}}\nstatus: {{phase: Running}}\n"
        ));
    }
    let sim = Sim::with_scenario(&yaml);
    sim.clear_requests();
    let r = live_json(&sim, &["-A", "-o", "json"]);
    let bare = r["workloads"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["kind"] == "Pod" && w["name"].as_str().unwrap().starts_with("bare-"))
        .count();
    assert_eq!(bare, 501);
    let reqs = sim.requests();
    let lists: Vec<_> = reqs
        .iter()
        .filter(|q| {
            q.method == "GET"
                && !q.watch
                && q.path.starts_with("/api")
                && !q.path.contains("/namespaces/")
        })
        .collect();
    assert!(lists.len() >= 10, "{lists:#?}");
    // Every list asks for a page (kubectl's chunk size).
    for q in &lists {
        assert!(q.query.contains("limit=500"), "{} {}", q.path, q.query);
    }
    // Pods are read as metadata only, then (501 without a controller) listed again page by page.
    let pods: Vec<_> = lists.iter().filter(|q| q.path == "/api/v1/pods").collect();
    assert!(pods
        .iter()
        .any(|q| q.accept.contains("as=PartialObjectMetadataList")));
    assert!(
        pods.iter().any(|q| q.query.contains("continue=")),
        "{pods:#?}"
    );
    // The Deployment's own pods are never read in full.
    assert!(!reqs.iter().any(|q| q.path.contains("/pods/web-")));
}

#[test]
fn live_selectorless_service_endpoints_make_a_workload_serve() {
    let app = serde_json::json!({"name": "app", "image": "example/legacy:1", "ports": [{"containerPort": 8080}]});
    let yaml = deployment("legacy", 2, serde_json::json!([app]))
        + r#"
---
apiVersion: v1
kind: Service
metadata: {name: legacy-external, namespace: default}
spec:
  ports: [{port: 80, targetPort: 8080}]
"#;
    let sim = Sim::with_scenario(&yaml);
    // No selector, no endpoints yet: nothing sends it traffic.
    let before = live_json(&sim, &["deploy/legacy", "-o", "json"]);
    assert!(!rules_of(&before, "legacy").contains(&"prestop-missing".to_string()));
    // An EndpointSlice kept by hand lists one of its pods.
    assert!(sim.wait_until(std::time::Duration::from_secs(20), |s| s
        .list("v1", "Pod", Some("default"))
        .len()
        == 2));
    let pod = sim.list("v1", "Pod", Some("default"))[0]["metadata"]["name"]
        .as_str()
        .unwrap()
        .to_string();
    sim.apply_yaml(&format!(
        "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: legacy-external-1\n  namespace: default\n  labels: {{kubernetes.io/service-name: legacy-external, endpointslice.kubernetes.io/managed-by: team-a}}\naddressType: IPv4\nports: [{{name: '', port: 8080, protocol: TCP}}]\nendpoints:\n- addresses: [10.0.0.9]\n  targetRef: {{kind: Pod, name: {pod}, namespace: default}}\n"
    ))
    .unwrap();
    let after = live_json(&sim, &["deploy/legacy", "-o", "json"]);
    let rules = rules_of(&after, "legacy");
    assert!(rules.contains(&"prestop-missing".to_string()), "{rules:?}");
    let msg = message_of(&after, "legacy", "prestop-missing");
    assert!(msg.contains("Service legacy-external"), "{msg}");
}

#[test]
fn live_missing_api_degrades_and_server_errors_fail_clearly() {
    let sim = Sim::with_scenario(LIVE_SCENARIO);
    sim.faults().fail("GET", "horizontalpodautoscalers", 404, 1);
    let out = live(&sim, &["-o", "json"])
        .stderr(predicate::str::contains(
            "does not serve horizontalpodautoscalers",
        ))
        .get_output()
        .stdout
        .clone();
    assert_eq!(json_of(&out)["summary"]["workloads"], 3);

    sim.faults().fail("GET", "/deployments", 500, 1);
    live(&sim, &[]).code(2).stderr(predicate::str::contains(
        "list deployments: the API server answered 500",
    ));
}

#[test]
fn live_well_configured_workloads_have_no_findings_as_served() {
    // As served, objects carry every API default (strategy 25%/25%, probe timings, policies …).
    let mut yaml = String::new();
    for f in [
        "good/web.yaml",
        "good/db-statefulset.yaml",
        "good/batch.yaml",
    ] {
        yaml.push_str(&std::fs::read_to_string(fixtures().join(f)).unwrap());
        yaml.push_str("\n---\n");
    }
    let sim = Sim::with_scenario(&yaml);
    let out = live(&sim, &["-A", "-o", "json", "--fail-on", "info"])
        .code(0)
        .get_output()
        .stdout
        .clone();
    let r = json_of(&out);
    assert_eq!(r["summary"]["workloads"], 4, "{r:#}");
    for w in r["workloads"].as_array().unwrap() {
        assert_eq!(w["findings"], serde_json::json!([]), "{w:#}");
    }
}

#[test]
fn live_hpa_found_by_scale_target() {
    let api = serde_json::json!([{"name": "api", "image": "example/api:1"}]);
    let yaml = deployment("api", 1, api)
        + r#"
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: api, namespace: default}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: api}
  minReplicas: 3
  maxReplicas: 9
"#;
    let sim = Sim::with_scenario(&yaml);
    let rules = rules_of(&live_json(&sim, &["deploy/api", "-o", "json"]), "api");
    // The HPA keeps 3 replicas: not a single replica, but 3 replicas without a PDB.
    assert!(!rules.contains(&"single-replica".to_string()), "{rules:?}");
    assert!(rules.contains(&"pdb-missing".to_string()), "{rules:?}");
    // Live, spec.replicas is the HPA's to set: not flagged.
    assert!(
        !rules.contains(&"hpa-replicas-set".to_string()),
        "{rules:?}"
    );
}

#[test]
fn a_dump_of_the_cluster_gives_the_same_findings_offline() {
    let mut yaml = String::from(LIVE_SCENARIO);
    yaml.push_str("\n---\n");
    yaml.push_str(&std::fs::read_to_string(fixtures().join("good/web.yaml")).unwrap());
    let sim = Sim::with_scenario(&yaml);
    let live_report = live_json(&sim, &["-A", "-o", "json"]);
    // What `kubectl get deploy,sts,pdb,svc,hpa -A -o json` prints: a List of served objects.
    let mut items = Vec::new();
    for (api, kind) in [
        ("apps/v1", "Deployment"),
        ("apps/v1", "StatefulSet"),
        ("policy/v1", "PodDisruptionBudget"),
        ("v1", "Service"),
        ("autoscaling/v2", "HorizontalPodAutoscaler"),
    ] {
        for mut o in sim.list(api, kind, None) {
            o["apiVersion"] = api.into();
            o["kind"] = kind.into();
            items.push(o);
        }
    }
    assert!(items.iter().all(|o| !o["metadata"]["uid"].is_null()));
    let dump = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": items});
    let offline = json_of(
        &graceful()
            .args(["diagnose", "-o", "json", "-f", "-"])
            .write_stdin(dump.to_string())
            .assert()
            .get_output()
            .stdout,
    );
    let findings = |r: &Value| -> Vec<(String, Vec<String>)> {
        let mut v: Vec<(String, Vec<String>)> = r["workloads"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| {
                let name = format!(
                    "{}/{}",
                    w["namespace"].as_str().unwrap(),
                    w["name"].as_str().unwrap()
                );
                let rules = w["findings"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|f| f["rule"].as_str().unwrap().to_string())
                    .collect();
                (name, rules)
            })
            .collect();
        v.sort();
        v
    };
    assert_eq!(findings(&live_report).len(), 5);
    assert_eq!(findings(&offline), findings(&live_report));
}
