//! diagnose offline: manifests from files, directories and stdin (no cluster, no kubeconfig), every
//! output format (table, wide, JSON, SARIF), and the flags that shape a run.

use predicates::prelude::*;
use serde_json::Value;

use super::{fixture, fixtures, json_of, rules_of, workload_names};
use crate::support::table::{check, row};
use crate::support::{graceful, stdout_of};

#[test]
fn well_configured_manifest_passes_without_a_cluster() {
    let (web, good) = (fixture("good/web.yaml"), fixture("good"));
    #[rustfmt::skip]
    let rows = [
        row("one Deployment", &["diagnose", "-f", &web, "--fail-on", "info"], 0)
            .stdout_has("deployment/web")
            .stdout_has("no findings")
            .stdout_has("1 workload, 0 errors, 0 warnings, 0 infos"),
        // Every well-configured kind: Deployment, StatefulSet, DaemonSet, Job, CronJob, and a
        // production-grade set (HPA, native sidecar, metrics exporter, a worker with a metrics port).
        row("every kind", &["diagnose", "--fail-on", "info", "-f", &good], 0)
            .stdout_has("7 workloads, 0 errors, 0 warnings, 0 infos"),
    ];
    check(&rows);
}

#[test]
fn production_grade_manifest_passes_fail_on_warning() {
    let production = fixture("good/production.yaml");
    #[rustfmt::skip]
    let rows = [
        row("production", &["diagnose", "--fail-on", "warning", "-f", &production], 0)
            .stdout_has("deployment/api")
            .stdout_has("deployment/worker"),
    ];
    check(&rows);
}

#[test]
fn table_shows_findings_fixes_and_summary_and_fail_on_sets_exit_code() {
    let bad = fixtures().join("rules/prestop-exceeds-grace/bad.yaml");
    // An error-severity finding, --fail-on error (the default): exit 1.
    let out = stdout_of(graceful().args(["diagnose", "-f"]).arg(&bad), 1);
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
    let warn = fixture("rules/recreate-strategy/bad.yaml");
    let bad = bad.display().to_string();
    #[rustfmt::skip]
    let rows = [
        row("warnings, default", &["diagnose", "-f", &warn], 0),
        row("warnings, --fail-on warning", &["diagnose", "--fail-on", "warning", "-f", &warn], 1),
        row("errors, --fail-on never", &["diagnose", "--fail-on", "never", "-f", &bad], 0),
    ];
    check(&rows);
}

#[test]
fn json_report_schema() {
    let out = stdout_of(
        graceful()
            .args(["diagnose", "-o", "json", "-f"])
            .arg(fixtures().join("rules/pdb-blocks-eviction/bad.yaml")),
        1,
    );
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
    let out = stdout_of(
        graceful()
            .args(["diagnose", "-o", "yaml", "-f"])
            .arg(fixtures().join("good/web.yaml")),
        0,
    );
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
    let names = workload_names(&r);
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
    let out = stdout_of(
        graceful()
            .args(["diagnose", "-f", "-", "-o", "json"])
            .write_stdin(input),
        0,
    );
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
    let web = fixture("good/web.yaml");
    #[rustfmt::skip]
    let rows = [
        row("one target missing", &["diagnose", "deploy/nope", "deploy/web", "-f", &web], 2)
            .stdout_has("deployment/web")
            .stderr_has("error: deploy/nope: deployment nope not found in the input"),
    ];
    check(&rows);
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
    let out = stdout_of(
        graceful()
            .current_dir(dir.path())
            .args(["diagnose", "-o", "sarif", "-f", "k8s.yaml"]),
        1,
    );
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
    let out = stdout_of(
        graceful().current_dir(dir.path()).args([
            "diagnose",
            "-o",
            "sarif",
            "-f",
            "k8s.yaml",
            "-f",
            "broken.yaml",
        ]),
        2,
    );
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
    let out = stdout_of(
        graceful()
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
            .arg(&bad),
        0,
    );
    assert!(rules_of(&json_of(&out), "api").is_empty());

    let bad_arg = bad.display().to_string();
    #[rustfmt::skip]
    let rows = [
        row("a typo in --ignore", &["diagnose", "--ignore", "single-replca", "-f", &bad_arg], 2)
            .stderr_has("unknown rule \"single-replca\"")
            .stderr_has("did you mean single-replica"),
    ];
    check(&rows);

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
    let out = stdout_of(
        graceful()
            .args(["diagnose", "-o", "json", "--kube-version", "v1.29.4", "-f"])
            .arg(&good),
        1,
    );
    let r = json_of(&out);
    assert_eq!(r["kubernetesVersion"], "1.29");
    assert_eq!(rules_of(&r, "web"), ["prestop-sleep-unsupported"]);

    let good = good.display().to_string();
    #[rustfmt::skip]
    let rows = [
        row("not a version", &["diagnose", "--kube-version", "latest", "-f", &good], 2)
            .stderr_has("invalid --kube-version"),
    ];
    check(&rows);
}

#[test]
fn rules_listing_and_explain() {
    let out = stdout_of(graceful().args(["diagnose", "rules"]), 0);
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
    let out = stdout_of(graceful().args(["diagnose", "rules", "-o", "json"]), 0);
    let r = json_of(&out);
    assert_eq!(r["kind"], "DiagnoseRuleList");
    assert!(r["rules"].as_array().unwrap().len() >= 30);

    #[rustfmt::skip]
    let rows = [
        row("explain a rule", &["diagnose", "--explain", "prestop-missing"], 0)
            .stdout_has("prestop-missing (warning, shutdown)")
            .stdout_has("endpoints")
            .stdout_has("Fix:"),
        row("explain a prefix", &["diagnose", "--explain", "prestop"], 2)
            .stderr_has("unknown rule \"prestop\"")
            .stderr_has("prestop-missing"),
    ];
    check(&rows);
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

    let bad = dir.join("bad.yaml").display().to_string();
    #[rustfmt::skip]
    let rows = [
        row("not a workload", &["diagnose", "svc/api", "-f", &bad], 2).stderr_has("unknown kind"),
    ];
    check(&rows);
}

#[test]
fn missing_file_is_an_error_but_others_are_checked() {
    let web = fixture("good/web.yaml");
    #[rustfmt::skip]
    let rows = [
        row("one file missing", &["diagnose", "-f", "/nonexistent/x.yaml", "-f", &web], 2)
            .stdout_has("deployment/web")
            .stdout_has("1 workload, 0 errors, 0 warnings, 0 infos; 1 input could not be used (see stderr)")
            .stderr_has("error: /nonexistent/x.yaml: no such file or directory"),
    ];
    check(&rows);
}

#[test]
fn wide_output_adds_the_field_column() {
    let out = stdout_of(
        graceful()
            .args(["diagnose", "-o", "wide", "-f"])
            .arg(fixtures().join("rules/grace-period-zero/bad.yaml")),
        1,
    );
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
