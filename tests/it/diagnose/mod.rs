//! `kubectl graceful diagnose`: the real binary, offline on manifests (no cluster, no kubeconfig).

mod corpus;
mod documents;
mod fixes;

use std::path::PathBuf;

use crate::support::graceful;
use predicates::prelude::*;
use serde_json::Value;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/diagnose")
}

fn json_of(out: &[u8]) -> Value {
    serde_json::from_slice(out).unwrap_or_else(|e| {
        panic!("not JSON ({e}):\n{}", String::from_utf8_lossy(out));
    })
}

fn rules_of(report: &Value, name: &str) -> Vec<String> {
    report["workloads"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["name"] == name)
        .unwrap_or_else(|| panic!("no workload {name} in {report:#}"))["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn well_configured_manifest_passes_without_a_cluster() {
    graceful()
        .args(["diagnose", "-f"])
        .arg(fixtures().join("good/web.yaml"))
        .args(["--fail-on", "info"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("deployment/web"))
        .stdout(predicate::str::contains("no findings"))
        .stdout(predicate::str::contains(
            "1 workload, 0 errors, 0 warnings, 0 infos",
        ));
    // Every well-configured kind: Deployment, StatefulSet, DaemonSet, Job, CronJob, and a
    // production-grade set (HPA, native sidecar, metrics exporter, a worker with a metrics port).
    graceful()
        .args(["diagnose", "--fail-on", "info", "-f"])
        .arg(fixtures().join("good"))
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "7 workloads, 0 errors, 0 warnings, 0 infos",
        ));
}

#[test]
fn production_grade_manifest_passes_fail_on_warning() {
    graceful()
        .args(["diagnose", "--fail-on", "warning", "-f"])
        .arg(fixtures().join("good/production.yaml"))
        .assert()
        .code(0)
        .stdout(predicate::str::contains("deployment/api"))
        .stdout(predicate::str::contains("deployment/worker"));
}

#[test]
fn table_shows_findings_fixes_and_summary_and_fail_on_sets_exit_code() {
    let bad = fixtures().join("rules/prestop-exceeds-grace/bad.yaml");
    let out = graceful()
        .args(["diagnose", "-f"])
        .arg(&bad)
        .assert()
        .code(1) // an error-severity finding, --fail-on error (default)
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("SEVERITY"), "{text}");
    assert!(text.contains("error      prestop-exceeds-grace"), "{text}");
    assert!(
        text.contains("preStop pauses 30s but terminationGracePeriodSeconds is 30s"),
        "{text}"
    );
    assert!(text.contains("Fixes:"), "{text}");
    // A grace period that fits the 30s pause plus a drain.
    assert!(text.contains("terminationGracePeriodSeconds: 50"), "{text}");
    assert!(text.contains("1 workload, 1 error,"), "{text}");

    // Only warnings: exit 0 with the default --fail-on error, 1 with --fail-on warning.
    let warn = fixtures().join("rules/recreate-strategy/bad.yaml");
    graceful()
        .args(["diagnose", "-f"])
        .arg(&warn)
        .assert()
        .code(0);
    graceful()
        .args(["diagnose", "--fail-on", "warning", "-f"])
        .arg(&warn)
        .assert()
        .code(1);
    graceful()
        .args(["diagnose", "--fail-on", "never", "-f"])
        .arg(&bad)
        .assert()
        .code(0);
}

#[test]
fn json_report_schema() {
    let out = graceful()
        .args(["diagnose", "-o", "json", "-f"])
        .arg(fixtures().join("rules/pdb-blocks-eviction/bad.yaml"))
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let r = json_of(&out);
    assert_eq!(r["apiVersion"], "graceful.kubectl.io/v1alpha1");
    assert_eq!(r["kind"], "DiagnoseReport");
    assert_eq!(r["kubernetesVersion"], "1.33");
    let w = &r["workloads"][0];
    assert_eq!(w["kind"], "Deployment");
    assert_eq!(w["namespace"], "default");
    assert_eq!(w["name"], "api");
    assert!(w["source"].as_str().unwrap().ends_with("bad.yaml:2"), "{w}");
    let f = &w["findings"][0];
    assert_eq!(f["rule"], "pdb-blocks-eviction");
    assert_eq!(f["severity"], "error");
    for key in ["field", "message", "why", "fix"] {
        assert!(f[key].as_str().is_some_and(|s| !s.is_empty()), "{key}: {f}");
    }
    assert_eq!(r["summary"]["workloads"], 1);
    assert_eq!(r["summary"]["errors"], 1);
    assert_eq!(r["errors"], serde_json::json!([]));

    // YAML has the same schema.
    let out = graceful()
        .args(["diagnose", "-o", "yaml", "-f"])
        .arg(fixtures().join("good/web.yaml"))
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let y: Value = serde_yaml::from_slice(&out).unwrap();
    assert_eq!(y["kind"], "DiagnoseReport");
    assert_eq!(y["summary"]["workloads"], 1);
}

#[test]
fn directory_is_recursive_sorted_and_bad_files_do_not_stop_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join("b/nested")).unwrap();
    std::fs::copy(fixtures().join("good/web.yaml"), d.join("b/nested/web.yml")).unwrap();
    std::fs::copy(
        fixtures().join("rules/recreate-strategy/bad.yaml"),
        d.join("a-api.yaml"),
    )
    .unwrap();
    std::fs::write(d.join("broken.yaml"), "apiVersion: apps/v1\nkind: [oops\n").unwrap();
    std::fs::write(d.join("list.json"), "[1, 2]").unwrap();
    std::fs::write(
        d.join("typo.yaml"),
        "# Source: chart/templates/typo.yaml\n---\napiVersion: apps/v1\nkind: Deploymnet\nmetadata: {name: x}\n",
    )
    .unwrap();
    std::fs::write(d.join("notes.txt"), "not a manifest").unwrap();
    let out = graceful()
        .args(["diagnose", "-o", "json", "-f"])
        .arg(d)
        .assert()
        .code(2) // a bad input, reported after the findings of the good ones
        .stderr(predicate::str::contains("broken.yaml:3:1: not valid YAML"))
        .stderr(predicate::str::contains("not valid YAML"))
        .stderr(predicate::str::contains(
            "list.json:1: not a Kubernetes object",
        ))
        .stderr(predicate::str::contains(
            "typo.yaml:3: unknown kind \"Deploymnet\" in apps/v1 (did you mean Deployment?)",
        ))
        .get_output()
        .stdout
        .clone();
    let r = json_of(&out);
    let names: Vec<&str> = r["workloads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["api", "web"],
        "sorted: a-api.yaml before b/nested/web.yml"
    );
    assert!(rules_of(&r, "api").contains(&"recreate-strategy".to_string()));
    assert!(rules_of(&r, "web").is_empty());
    assert_eq!(
        r["errors"].as_array().unwrap().len(),
        3,
        "{:#}",
        r["errors"]
    );
}

#[test]
fn stdin_multi_document_like_helm_template() {
    let mut input = String::from("---\n# Source: app/templates/deploy.yaml\n");
    input.push_str(
        &std::fs::read_to_string(fixtures().join("rules/shell-swallows-sigterm/bad.yaml")).unwrap(),
    );
    input.push_str("---\n# Source: app/templates/cm.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n---\napiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\nmetadata: {name: m}\n");
    let out = graceful()
        .args(["diagnose", "-f", "-", "-o", "json"])
        .write_stdin(input)
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let r = json_of(&out);
    assert_eq!(r["summary"]["workloads"], 1);
    assert_eq!(r["workloads"][0]["source"], "<stdin>:3");
    assert!(rules_of(&r, "api").contains(&"shell-swallows-sigterm".to_string()));
}

#[test]
fn pdb_and_service_in_other_files_are_related_by_selector() {
    let dir = tempfile::tempdir().unwrap();
    let deploy = std::fs::read_to_string(fixtures().join("good/web.yaml")).unwrap();
    let (dep, rest) = deploy.split_once("\n---\n").unwrap();
    std::fs::write(dir.path().join("1-deploy.yaml"), dep).unwrap();
    std::fs::write(dir.path().join("2-rest.yaml"), rest).unwrap();
    let run = |files: &[&str]| {
        let mut c = graceful();
        c.args(["diagnose", "-o", "json"]);
        for f in files {
            c.arg("-f").arg(dir.path().join(f));
        }
        json_of(&c.assert().get_output().stdout)
    };
    assert!(rules_of(&run(&["1-deploy.yaml", "2-rest.yaml"]), "web").is_empty());
    // Without the PDB file the PDB is missing; without the Service file nothing sends it traffic.
    assert_eq!(rules_of(&run(&["1-deploy.yaml"]), "web"), ["pdb-missing"]);
}

#[test]
fn named_target_missing_from_the_input_is_an_error_like_live() {
    graceful()
        .args(["diagnose", "deploy/nope", "deploy/web", "-f"])
        .arg(fixtures().join("good/web.yaml"))
        .assert()
        .code(2)
        .stdout(predicate::str::contains("deployment/web"))
        .stderr(predicate::str::contains(
            "error: deploy/nope: deployment nope not found in the input",
        ));
}

#[test]
fn inputs_as_kubectl_reads_them() {
    let dir = tempfile::tempdir().unwrap();
    let web = std::fs::read_to_string(fixtures().join("good/web.yaml")).unwrap();
    // UTF-16 with a BOM and CRLF line ends, as Windows editors write it.
    let crlf = web.replace('\n', "\r\n");
    let utf16: Vec<u8> = [0xFF, 0xFE]
        .into_iter()
        .chain(crlf.encode_utf16().flat_map(|u| u.to_le_bytes()))
        .collect();
    std::fs::write(dir.path().join("a-web.yaml"), utf16).unwrap();
    // The same Deployment again in another file: checked once, with one warning.
    std::fs::write(dir.path().join("b-web.yaml"), format!("\u{feff}{web}")).unwrap();
    let out = graceful()
        .args(["diagnose", "-o", "json", "--fail-on", "info", "-f"])
        .arg(dir.path())
        .assert()
        .code(0)
        .stderr(predicate::str::contains(
            "objects are defined more than once; each is checked once",
        ))
        .get_output()
        .stdout
        .clone();
    let r = json_of(&out);
    assert_eq!(r["summary"]["workloads"], 1, "{r:#}");
    assert!(r["workloads"][0]["source"]
        .as_str()
        .unwrap()
        .contains("b-web.yaml:2"));
}

#[test]
fn sarif_points_at_the_file_and_line_of_each_object() {
    let dir = tempfile::tempdir().unwrap();
    let bad = std::fs::read_to_string(fixtures().join("rules/grace-period-zero/bad.yaml")).unwrap();
    // Two objects in one file: the second starts after the separator.
    let text = format!(
        "{}---\n{}",
        std::fs::read_to_string(fixtures().join("good/web.yaml"))
            .unwrap()
            .split("\n---\n")
            .next()
            .unwrap()
            .to_string()
            + "\n",
        bad
    );
    let second = text.lines().position(|l| l == "---").unwrap() + 2;
    std::fs::write(dir.path().join("k8s.yaml"), &text).unwrap();
    let out = graceful()
        .current_dir(dir.path())
        .args(["diagnose", "-o", "sarif", "-f", "k8s.yaml"])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let s = json_of(&out);
    assert_eq!(s["version"], "2.1.0");
    assert!(s["$schema"].as_str().unwrap().contains("sarif-2.1.0"));
    let run = &s["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "kubectl-graceful");
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    assert!(rules.iter().any(|r| r["id"] == "grace-period-zero"));
    let results = run["results"].as_array().unwrap();
    let zero = results
        .iter()
        .find(|r| r["ruleId"] == "grace-period-zero")
        .unwrap_or_else(|| panic!("{s:#}"));
    assert_eq!(zero["level"], "error");
    let loc = &zero["locations"][0]["physicalLocation"];
    assert_eq!(loc["artifactLocation"]["uri"], "k8s.yaml");
    assert_eq!(loc["region"]["startLine"], second as u64);
    assert_eq!(
        rules[zero["ruleIndex"].as_u64().unwrap() as usize]["id"],
        "grace-period-zero"
    );
    assert!(zero["partialFingerprints"]["graceful/v1"].is_string());
    assert_eq!(run["invocations"][0]["executionSuccessful"], true);
    // Infos are notes; an unusable input is a notification and exit 2.
    std::fs::write(dir.path().join("broken.yaml"), "kind: [oops\n").unwrap();
    let out = graceful()
        .current_dir(dir.path())
        .args([
            "diagnose",
            "-o",
            "sarif",
            "-f",
            "k8s.yaml",
            "-f",
            "broken.yaml",
        ])
        .assert()
        .code(2)
        .get_output()
        .stdout
        .clone();
    let s = json_of(&out);
    assert!(s["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["level"] == "note"));
    assert_eq!(s["runs"][0]["invocations"][0]["executionSuccessful"], false);
    assert!(
        s["runs"][0]["invocations"][0]["toolExecutionNotifications"][0]["message"]["text"]
            .as_str()
            .unwrap()
            .starts_with("broken.yaml:")
    );
}

#[test]
fn ignore_flag_and_annotation() {
    let bad = fixtures().join("rules/single-replica/bad.yaml");
    let out = graceful()
        .args([
            "diagnose",
            "-o",
            "json",
            "--ignore",
            "single-replica",
            "--ignore",
        ])
        .arg("termination-message-policy,min-ready-seconds-no-readiness")
        .arg("-f")
        .arg(&bad)
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    assert!(rules_of(&json_of(&out), "api").is_empty());

    graceful()
        .args(["diagnose", "--ignore", "single-replca", "-f"])
        .arg(&bad)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown rule \"single-replca\""))
        .stderr(predicate::str::contains("did you mean single-replica"));

    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(&bad).unwrap().replacen(
        "metadata:\n  name: api\n",
        "metadata:\n  name: api\n  annotations:\n    graceful.kubectl.io/ignore: \"single-replica,no-such-rule\"\n",
        1,
    );
    std::fs::write(dir.path().join("d.yaml"), text).unwrap();
    let out = graceful()
        .args(["diagnose", "-o", "json", "-f"])
        .arg(dir.path().join("d.yaml"))
        .assert()
        .stderr(predicate::str::contains("unknown rule \"no-such-rule\""))
        .get_output()
        .stdout
        .clone();
    let rules = rules_of(&json_of(&out), "api");
    assert!(!rules.contains(&"single-replica".to_string()), "{rules:?}");
    assert!(rules.contains(&"termination-message-policy".to_string()));
}

#[test]
fn kube_version_changes_the_advice() {
    let good = fixtures().join("good/web.yaml");
    let out = graceful()
        .args(["diagnose", "-o", "json", "--kube-version", "v1.29.4", "-f"])
        .arg(&good)
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let r = json_of(&out);
    assert_eq!(r["kubernetesVersion"], "1.29");
    assert_eq!(rules_of(&r, "web"), ["prestop-sleep-unsupported"]);

    graceful()
        .args(["diagnose", "--kube-version", "latest", "-f"])
        .arg(&good)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("invalid --kube-version"));
}

#[test]
fn rules_listing_and_explain() {
    let out = graceful()
        .args(["diagnose", "rules"])
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    for id in [
        "prestop-missing",
        "shell-swallows-sigterm",
        "readiness-missing",
        "pdb-blocks-eviction",
        "prestop-sleep-native",
    ] {
        assert!(text.contains(id), "{id} missing from:\n{text}");
    }
    let out = graceful()
        .args(["diagnose", "rules", "-o", "json"])
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let r = json_of(&out);
    assert_eq!(r["kind"], "DiagnoseRuleList");
    assert!(r["rules"].as_array().unwrap().len() >= 30);

    graceful()
        .args(["diagnose", "--explain", "prestop-missing"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "prestop-missing (warning, shutdown)",
        ))
        .stdout(predicate::str::contains("endpoints"))
        .stdout(predicate::str::contains("Fix:"));
    graceful()
        .args(["diagnose", "--explain", "prestop"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown rule \"prestop\""))
        .stderr(predicate::str::contains("prestop-missing"));
}

#[test]
fn targets_and_selector_filter_manifests() {
    let dir = fixtures().join("rules/pdb-overlap");
    let out = graceful()
        .args(["diagnose", "-o", "json", "deploy/api", "-f"])
        .arg(dir.join("bad.yaml"))
        .arg("-f")
        .arg(fixtures().join("rules/update-strategy-ondelete/bad.yaml"))
        .assert()
        .get_output()
        .stdout
        .clone();
    let r = json_of(&out);
    assert_eq!(r["summary"]["workloads"], 1, "{r:#}");
    assert_eq!(r["workloads"][0]["name"], "api");

    graceful()
        .args(["diagnose", "svc/api", "-f"])
        .arg(dir.join("bad.yaml"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown kind"));
}

#[test]
fn missing_file_is_an_error_but_others_are_checked() {
    graceful()
        .args(["diagnose", "-f", "/nonexistent/x.yaml", "-f"])
        .arg(fixtures().join("good/web.yaml"))
        .assert()
        .code(2)
        .stdout(predicate::str::contains("deployment/web"))
        .stdout(predicate::str::contains(
            "1 workload, 0 errors, 0 warnings, 0 infos; 1 input could not be used (see stderr)",
        ))
        .stderr(predicate::str::contains(
            "error: /nonexistent/x.yaml: no such file or directory",
        ));
}

#[test]
fn live_mode_errors_are_one_clear_line() {
    let home = tempfile::tempdir().unwrap();
    // No kubeconfig at all.
    graceful()
        .args(["diagnose"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no kubeconfig found"));
    // A cluster that is not there.
    let kc = home.path().join("config");
    std::fs::write(
        &kc,
        "apiVersion: v1\nkind: Config\ncurrent-context: gone\nclusters:\n- name: gone\n  cluster: {server: \"https://127.0.0.1:1\", insecure-skip-tls-verify: true}\nusers:\n- name: u\n  user: {token: t}\ncontexts:\n- name: gone\n  context: {cluster: gone, user: u, namespace: shop}\n",
    )
    .unwrap();
    graceful()
        .args(["diagnose", "--request-timeout", "5s", "--kubeconfig"])
        .arg(&kc)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot reach https://127.0.0.1:1"));
    // Usage errors come before any connection.
    graceful()
        .args(["diagnose", "deploy/web", "-l", "app=web", "--kubeconfig"])
        .arg(&kc)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("selector"));
    graceful()
        .args(["diagnose", "rules", "deploy/web"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("takes no targets"));
}

// ---------------------------------------------------------------------------------------------
// Live mode against the simulated API server.

use kubesim::{Sim, SimOptions};

const LIVE_SCENARIO: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: default, labels: {app: web}}
spec:
  replicas: 3
  minReadySeconds: 5
  strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 1, maxUnavailable: 0}}
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 45
      containers:
      - name: app
        image: example/web:1
        command: ["/app/server"]
        terminationMessagePolicy: FallbackToLogsOnError
        readinessProbe: {httpGet: {path: /ready, port: 8080}, periodSeconds: 5}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: default, labels: {app: api}}
spec:
  replicas: 2
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      containers:
      - name: api
        image: example/api:1
        command: ["sh", "-c", "node server.js"]
        ports: [{containerPort: 3000}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: api, namespace: default}
spec:
  selector: {app: api}
  ports: [{port: 80, targetPort: 3000}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: worker, namespace: default, labels: {app: worker}}
spec:
  replicas: 2
  selector: {matchLabels: {app: worker}}
  template:
    metadata: {labels: {app: worker}}
    spec:
      containers:
      - name: worker
        image: example/worker:1
        ports: [{name: metrics, containerPort: 9090}]
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: web, namespace: default}
spec:
  maxUnavailable: 1
  selector: {matchLabels: {app: web}}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: data}
spec:
  serviceName: db
  replicas: 1
  updateStrategy: {type: OnDelete}
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers:
      - {name: db, image: postgres:16, terminationMessagePolicy: FallbackToLogsOnError}
"#;

fn live(sim: &Sim, args: &[&str]) -> assert_cmd::assert::Assert {
    let mut c = graceful();
    c.arg("diagnose")
        .args(args)
        .arg("--kubeconfig")
        .arg(sim.kubeconfig_path());
    c.assert()
}

#[test]
fn live_namespace_relates_pdb_and_service_by_selector() {
    let sim = Sim::with_scenario(LIVE_SCENARIO);
    let out = live(&sim, &["-o", "json"]).get_output().stdout.clone();
    let r = json_of(&out);
    assert_eq!(r["kubernetesVersion"], "1.33");
    // Only the two Deployments of namespace default: their ReplicaSets and pods are not workloads.
    let names: Vec<&str> = r["workloads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["api", "web", "worker"], "{r:#}");
    assert_eq!(r["workloads"][0]["source"], "cluster");
    let web = rules_of(&r, "web");
    // The Service found by selector makes web a serving workload with no preStop pause…
    assert!(web.contains(&"prestop-missing".to_string()), "{web:?}");
    let msg = r["workloads"][1]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "prestop-missing")
        .unwrap()["message"]
        .as_str()
        .unwrap()
        .to_string();
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

    let out = live(&sim, &["-A", "-o", "json"])
        .get_output()
        .stdout
        .clone();
    let r = json_of(&out);
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
    let out = live(&sim, &["-l", "app=web", "-o", "json"])
        .get_output()
        .stdout
        .clone();
    assert_eq!(json_of(&out)["summary"]["workloads"], 1);
    assert!(sim
        .requests()
        .iter()
        .any(|q| q.path.ends_with("/deployments") && q.query.contains("labelSelector")));
}

#[test]
fn live_version_aware_advice() {
    let scenario = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: native, namespace: default}
spec:
  replicas: 2
  selector: {matchLabels: {app: native}}
  template:
    metadata: {labels: {app: native}}
    spec:
      containers:
      - name: app
        image: example/app:1
        lifecycle: {preStop: {sleep: {seconds: 10}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: shell, namespace: default}
spec:
  replicas: 2
  selector: {matchLabels: {app: shell}}
  template:
    metadata: {labels: {app: shell}}
    spec:
      containers:
      - name: app
        image: example/app:1
        lifecycle: {preStop: {exec: {command: ["sleep", "10"]}}}
"#;
    let run = |version: &str| {
        let sim = Sim::start(SimOptions {
            server_version: version.to_string(),
            scenario_yaml: vec![scenario.to_string()],
            ..SimOptions::default()
        })
        .unwrap();
        let out = live(&sim, &["-o", "json"]).get_output().stdout.clone();
        json_of(&out)
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
    let out = live(&sim, &["-A", "-o", "json"])
        .get_output()
        .stdout
        .clone();
    let r = json_of(&out);
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
    let yaml = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: legacy, namespace: default}
spec:
  replicas: 2
  selector: {matchLabels: {app: legacy}}
  template:
    metadata: {labels: {app: legacy}}
    spec:
      containers:
      - {name: app, image: example/legacy:1, ports: [{containerPort: 8080}]}
---
apiVersion: v1
kind: Service
metadata: {name: legacy-external, namespace: default}
spec:
  ports: [{port: 80, targetPort: 8080}]
"#;
    let sim = Sim::with_scenario(yaml);
    // No selector, no endpoints yet: nothing sends it traffic.
    let before = json_of(
        &live(&sim, &["deploy/legacy", "-o", "json"])
            .get_output()
            .stdout,
    );
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
    let after = json_of(
        &live(&sim, &["deploy/legacy", "-o", "json"])
            .get_output()
            .stdout,
    );
    let rules = rules_of(&after, "legacy");
    assert!(rules.contains(&"prestop-missing".to_string()), "{rules:?}");
    let msg = after["workloads"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "prestop-missing")
        .unwrap()["message"]
        .to_string();
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
    let yaml = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: default}
spec:
  replicas: 1
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      containers: [{name: api, image: example/api:1}]
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: api, namespace: default}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: api}
  minReplicas: 3
  maxReplicas: 9
"#;
    let sim = Sim::with_scenario(yaml);
    let out = live(&sim, &["deploy/api", "-o", "json"])
        .get_output()
        .stdout
        .clone();
    let rules = rules_of(&json_of(&out), "api");
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
fn wide_output_adds_the_field_column() {
    let out = graceful()
        .args(["diagnose", "-o", "wide", "-f"])
        .arg(fixtures().join("rules/grace-period-zero/bad.yaml"))
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    let header = text.lines().find(|l| l.starts_with("SEVERITY")).unwrap();
    assert!(header.ends_with("FIELD"), "{header}");
    assert!(
        text.contains("spec.template.spec.terminationGracePeriodSeconds"),
        "{text}"
    );
    // Wide prints the fixes of infos too.
    assert!(
        text.contains("terminationMessagePolicy: FallbackToLogsOnError"),
        "{text}"
    );
    // The plain table has no FIELD column, and fixes only for errors and warnings.
    let out = graceful()
        .args(["diagnose", "-f"])
        .arg(fixtures().join("rules/grace-period-zero/bad.yaml"))
        .assert()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    assert!(
        !text
            .lines()
            .any(|l| l.starts_with("SEVERITY") && l.contains("FIELD")),
        "{text}"
    );
    assert!(text.contains("terminationGracePeriodSeconds: 30"), "{text}");
    assert!(
        !text.contains("terminationMessagePolicy: FallbackToLogsOnError"),
        "{text}"
    );
    assert!(text.contains("(fixes for infos: -o wide)"), "{text}");
}

#[test]
fn a_dump_of_the_cluster_gives_the_same_findings_offline() {
    let mut yaml = String::from(LIVE_SCENARIO);
    yaml.push_str("\n---\n");
    yaml.push_str(&std::fs::read_to_string(fixtures().join("good/web.yaml")).unwrap());
    let sim = Sim::with_scenario(&yaml);
    let live_report = json_of(&live(&sim, &["-A", "-o", "json"]).get_output().stdout);
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
