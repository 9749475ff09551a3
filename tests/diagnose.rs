//! `kubectl graceful diagnose`: the real binary, offline on manifests (no cluster, no kubeconfig).

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/diagnose")
}

/// The binary with no kubeconfig anywhere: offline mode must not need one.
fn cmd(home: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kubectl-graceful"));
    c.env_remove("KUBECONFIG")
        .env("HOME", home)
        .env("NO_COLOR", "1")
        .env_remove("KUBERNETES_SERVICE_HOST")
        .env_remove("RUST_LOG");
    c
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
    let home = tempfile::tempdir().unwrap();
    cmd(home.path())
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
    // Every well-configured kind: Deployment, StatefulSet, DaemonSet, Job, CronJob.
    cmd(home.path())
        .args(["diagnose", "--fail-on", "info", "-f"])
        .arg(fixtures().join("good"))
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "5 workloads, 0 errors, 0 warnings, 0 infos",
        ));
}

#[test]
fn table_shows_findings_fixes_and_summary_and_fail_on_sets_exit_code() {
    let home = tempfile::tempdir().unwrap();
    let bad = fixtures().join("rules/prestop-exceeds-grace/bad.yaml");
    let out = cmd(home.path())
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
    assert!(text.contains("terminationGracePeriodSeconds: 45"), "{text}");
    assert!(text.contains("1 workload, 1 error,"), "{text}");

    // Only warnings: exit 0 with the default --fail-on error, 1 with --fail-on warning.
    let warn = fixtures().join("rules/recreate-strategy/bad.yaml");
    cmd(home.path())
        .args(["diagnose", "-f"])
        .arg(&warn)
        .assert()
        .code(0);
    cmd(home.path())
        .args(["diagnose", "--fail-on", "warning", "-f"])
        .arg(&warn)
        .assert()
        .code(1);
    cmd(home.path())
        .args(["diagnose", "--fail-on", "never", "-f"])
        .arg(&bad)
        .assert()
        .code(0);
}

#[test]
fn json_report_schema() {
    let home = tempfile::tempdir().unwrap();
    let out = cmd(home.path())
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
    let out = cmd(home.path())
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
    let home = tempfile::tempdir().unwrap();
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
    let out = cmd(home.path())
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
    let home = tempfile::tempdir().unwrap();
    let mut input = String::from("---\n# Source: app/templates/deploy.yaml\n");
    input.push_str(
        &std::fs::read_to_string(fixtures().join("rules/shell-swallows-sigterm/bad.yaml")).unwrap(),
    );
    input.push_str("---\n# Source: app/templates/cm.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n---\napiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\nmetadata: {name: m}\n");
    let out = cmd(home.path())
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
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let deploy = std::fs::read_to_string(fixtures().join("good/web.yaml")).unwrap();
    let (dep, rest) = deploy.split_once("\n---\n").unwrap();
    std::fs::write(dir.path().join("1-deploy.yaml"), dep).unwrap();
    std::fs::write(dir.path().join("2-rest.yaml"), rest).unwrap();
    let run = |files: &[&str]| {
        let mut c = cmd(home.path());
        c.args(["diagnose", "-o", "json"]);
        for f in files {
            c.arg("-f").arg(dir.path().join(f));
        }
        json_of(&c.assert().get_output().stdout)
    };
    assert!(rules_of(&run(&["1-deploy.yaml", "2-rest.yaml"]), "web").is_empty());
    // Without the PDB file the PDB is missing.
    assert_eq!(rules_of(&run(&["1-deploy.yaml"]), "web"), ["pdb-missing"]);
}

#[test]
fn ignore_flag_and_annotation() {
    let home = tempfile::tempdir().unwrap();
    let bad = fixtures().join("rules/single-replica/bad.yaml");
    let out = cmd(home.path())
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

    cmd(home.path())
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
    let out = cmd(home.path())
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
    let home = tempfile::tempdir().unwrap();
    let good = fixtures().join("good/web.yaml");
    let out = cmd(home.path())
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

    cmd(home.path())
        .args(["diagnose", "--kube-version", "latest", "-f"])
        .arg(&good)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("invalid --kube-version"));
}

#[test]
fn rules_listing_and_explain() {
    let home = tempfile::tempdir().unwrap();
    let out = cmd(home.path())
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
    let out = cmd(home.path())
        .args(["diagnose", "rules", "-o", "json"])
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let r = json_of(&out);
    assert_eq!(r["kind"], "DiagnoseRuleList");
    assert!(r["rules"].as_array().unwrap().len() >= 30);

    cmd(home.path())
        .args(["diagnose", "--explain", "prestop-missing"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "prestop-missing (warning, shutdown)",
        ))
        .stdout(predicate::str::contains("endpoints"))
        .stdout(predicate::str::contains("Fix:"));
    cmd(home.path())
        .args(["diagnose", "--explain", "prestop"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown rule \"prestop\""))
        .stderr(predicate::str::contains("prestop-missing"));
}

#[test]
fn targets_and_selector_filter_manifests() {
    let home = tempfile::tempdir().unwrap();
    let dir = fixtures().join("rules/pdb-overlap");
    let out = cmd(home.path())
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

    cmd(home.path())
        .args(["diagnose", "svc/api", "-f"])
        .arg(dir.join("bad.yaml"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown kind"));
}

#[test]
fn missing_file_is_an_error_but_others_are_checked() {
    let home = tempfile::tempdir().unwrap();
    cmd(home.path())
        .args(["diagnose", "-f", "/nonexistent/x.yaml", "-f"])
        .arg(fixtures().join("good/web.yaml"))
        .assert()
        .code(2)
        .stdout(predicate::str::contains("deployment/web"))
        .stderr(predicate::str::contains(
            "error: /nonexistent/x.yaml: no such file or directory",
        ));
}

#[test]
fn live_mode_errors_are_one_clear_line() {
    let home = tempfile::tempdir().unwrap();
    // No kubeconfig at all.
    cmd(home.path())
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
    cmd(home.path())
        .args(["diagnose", "--request-timeout", "5s", "--kubeconfig"])
        .arg(&kc)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot reach https://127.0.0.1:1"));
    // Usage errors come before any connection.
    cmd(home.path())
        .args(["diagnose", "deploy/web", "-l", "app=web", "--kubeconfig"])
        .arg(&kc)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("selector"));
    cmd(home.path())
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

fn live(sim: &Sim, home: &Path, args: &[&str]) -> assert_cmd::assert::Assert {
    let mut c = cmd(home);
    c.arg("diagnose")
        .args(args)
        .arg("--kubeconfig")
        .arg(sim.kubeconfig_path());
    c.assert()
}

#[test]
fn live_namespace_relates_pdb_and_service_by_selector() {
    let sim = Sim::with_scenario(LIVE_SCENARIO);
    let home = tempfile::tempdir().unwrap();
    let out = live(&sim, home.path(), &["-o", "json"])
        .get_output()
        .stdout
        .clone();
    let r = json_of(&out);
    assert_eq!(r["kubernetesVersion"], "1.33");
    // Only the two Deployments of namespace default: their ReplicaSets and pods are not workloads.
    let names: Vec<&str> = r["workloads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["api", "web"], "{r:#}");
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
    let home = tempfile::tempdir().unwrap();
    let out = live(
        &sim,
        home.path(),
        &["deploy/api", "-o", "json", "--fail-on", "warning"],
    )
    .code(1)
    .get_output()
    .stdout
    .clone();
    let r = json_of(&out);
    assert_eq!(r["summary"]["workloads"], 1);
    assert_eq!(r["workloads"][0]["name"], "api");

    let out = live(&sim, home.path(), &["-A", "-o", "json"])
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

    live(&sim, home.path(), &["sts/db", "-n", "data"]).code(0);
    // A missing target is an error; the others are still checked.
    live(&sim, home.path(), &["deploy/missing", "deploy/web"])
        .code(2)
        .stdout(predicate::str::contains("deployment/web"))
        .stderr(predicate::str::contains(
            "error: deploy/missing: deployment missing not found in namespace default",
        ));

    // -l goes to the API server as a labelSelector on the workload lists.
    sim.clear_requests();
    let out = live(&sim, home.path(), &["-l", "app=web", "-o", "json"])
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
    let home = tempfile::tempdir().unwrap();
    let run = |version: &str| {
        let sim = Sim::start(SimOptions {
            server_version: version.to_string(),
            scenario_yaml: vec![scenario.to_string()],
            ..SimOptions::default()
        })
        .unwrap();
        let out = live(&sim, home.path(), &["-o", "json"])
            .get_output()
            .stdout
            .clone();
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
fn live_forbidden_list_degrades_with_a_warning() {
    let sim = Sim::with_scenario(LIVE_SCENARIO);
    let home = tempfile::tempdir().unwrap();
    let alice = sim.add_user("alice");
    sim.deny("alice", "list", "poddisruptionbudgets");
    let mut c = cmd(home.path());
    let out = c
        .args(["diagnose", "-o", "json", "--kubeconfig"])
        .arg(&alice)
        .assert()
        .stderr(predicate::str::contains("cannot list poddisruptionbudgets"))
        .get_output()
        .stdout
        .clone();
    let r = json_of(&out);
    // Without PDBs, no claim about PDBs either way.
    assert!(!rules_of(&r, "api").contains(&"pdb-missing".to_string()));
    assert!(rules_of(&r, "api").contains(&"shell-swallows-sigterm".to_string()));
}

#[test]
fn live_missing_api_degrades_and_server_errors_fail_clearly() {
    let sim = Sim::with_scenario(LIVE_SCENARIO);
    let home = tempfile::tempdir().unwrap();
    sim.faults().fail("GET", "horizontalpodautoscalers", 404, 1);
    let out = live(&sim, home.path(), &["-o", "json"])
        .stderr(predicate::str::contains(
            "does not serve horizontalpodautoscalers",
        ))
        .get_output()
        .stdout
        .clone();
    assert_eq!(json_of(&out)["summary"]["workloads"], 2);

    sim.faults().fail("GET", "/deployments", 500, 1);
    live(&sim, home.path(), &[])
        .code(2)
        .stderr(predicate::str::contains(
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
    let home = tempfile::tempdir().unwrap();
    let out = live(
        &sim,
        home.path(),
        &["-A", "-o", "json", "--fail-on", "info"],
    )
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
    let home = tempfile::tempdir().unwrap();
    let out = live(&sim, home.path(), &["deploy/api", "-o", "json"])
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
    let home = tempfile::tempdir().unwrap();
    let out = cmd(home.path())
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
    // The plain table has no FIELD column.
    let out = cmd(home.path())
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
}
