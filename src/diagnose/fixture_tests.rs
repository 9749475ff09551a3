//! Every rule against its fixtures: `tests/fixtures/diagnose/rules/<rule>/bad.yaml` must trigger it,
//! `good.yaml` must not; the well-configured workload must produce no finding at all.
//! A fixture may start with `# kube-version: 1.29` to advise for that version.
//! A rule that looks ahead at a restart has `before-restart/bad.yaml` and `good.yaml` too, judged
//! before a restart of the file's first workload (its other pods are the namespace's pods).

use std::path::PathBuf;

use serde::Deserialize;

use super::context::{RelatedIndex, Restart};
use super::input::{load_text, Loaded};
use super::model::KubeVersion;
use super::rules::{all, before_restart, check, Finding, RULES};
use crate::target::Kind;
use crate::workload::Object;
use crate::workload::Workload;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/diagnose")
}

/// Loads a fixture and runs every rule over every workload in it.
fn check_file(rel: &str) -> Vec<(String, Finding)> {
    let path = fixtures().join(rel);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let version = text
        .lines()
        .find_map(|l| l.strip_prefix("# kube-version:"))
        .map(|v| KubeVersion::parse(v).expect("fixture kube-version"))
        .unwrap_or(KubeVersion::DEFAULT);
    let mut loaded = Loaded::new("default", version);
    load_text(rel, &text, &mut loaded);
    assert!(loaded.errors.is_empty(), "{rel}: {:?}", loaded.errors);
    assert!(!loaded.workloads.is_empty(), "{rel}: no workload");
    let idx = RelatedIndex::new(&loaded.related);
    let mut out = Vec::new();
    for w in &loaded.workloads {
        for f in check(w, &idx.context(w, version)) {
            out.push((w.display_name(), f));
        }
    }
    out
}

/// The first workload of a fixture's text, and its findings at `version`.
fn first_of(text: &str, version: KubeVersion) -> (Workload, Vec<Finding>) {
    let mut loaded = Loaded::new("default", version);
    load_text("x", text, &mut loaded);
    let w = loaded.workloads.remove(0);
    let f = check(&w, &RelatedIndex::new(&loaded.related).context(&w, version));
    (w, f)
}

#[test]
fn every_rule_triggers_on_its_bad_fixture_and_not_on_its_good_one() {
    let mut failures = Vec::new();
    for rule in RULES {
        let bad = check_file(&format!("rules/{}/bad.yaml", rule.id));
        match bad.iter().find(|(_, f)| f.rule == rule.id) {
            None => failures.push(format!("{}: bad.yaml does not trigger it", rule.id)),
            Some((_, f)) => {
                assert_eq!(f.severity, rule.severity);
                assert!(!f.message.is_empty() && !f.field.is_empty(), "{f:?}");
                if let Some(fix) = &f.fix {
                    // Every part of a fix is YAML a user can paste.
                    for part in &fix.parts {
                        let parsed: Result<serde_yaml::Value, _> = serde_yaml::from_str(&part.yaml);
                        assert!(
                            parsed.is_ok(),
                            "{}: fix is not YAML:\n{}",
                            rule.id,
                            part.yaml
                        );
                    }
                }
            }
        }
        let good = check_file(&format!("rules/{}/good.yaml", rule.id));
        if let Some((w, f)) = good.iter().find(|(_, f)| f.rule == rule.id) {
            failures.push(format!(
                "{}: good.yaml triggers it on {w}: {}",
                rule.id, f.message
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// A fixture's findings before a restart of its first workload.
fn before_restart_of(rel: &str) -> Vec<Finding> {
    let path = fixtures().join(rel);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut loaded = Loaded::new("default", KubeVersion::DEFAULT);
    load_text(rel, &text, &mut loaded);
    assert!(loaded.errors.is_empty(), "{rel}: {:?}", loaded.errors);
    // The objects as served (status, managedFields), in file order.
    let objects: Vec<Object> = serde_yaml::Deserializer::from_str(&text)
        .filter_map(|d| {
            let v = serde_json::to_value(serde_yaml::Value::deserialize(d).ok()?).ok()?;
            let kind = Kind::parse(v.get("kind")?.as_str()?)?;
            Object::from_value(kind, v).ok()
        })
        .collect();
    let object = objects
        .first()
        .unwrap_or_else(|| panic!("{rel}: no workload"))
        .clone();
    let w = loaded
        .workloads
        .iter()
        .find(|w| w.kind == object.kind() && w.name == object.name())
        .unwrap_or_else(|| panic!("{rel}: {} not loaded", object.name()));
    let cx = RelatedIndex::new(&loaded.related).context(w, KubeVersion::DEFAULT);
    let restart = Restart {
        target: format!("{}/{}", object.kind().short(), object.name()),
        namespace_pods: objects
            .iter()
            .filter_map(|o| match o {
                Object::Pod(p) => Some(p.clone()),
                _ => None,
            })
            .collect(),
        object,
    };
    before_restart(w, &cx, &restart)
}

#[test]
fn every_look_ahead_triggers_on_its_bad_fixture_and_not_on_its_good_one() {
    let mut failures = Vec::new();
    let mut checked = 0;
    for rule in all().filter(|r| r.before_restart.is_some()) {
        checked += 1;
        let bad = before_restart_of(&format!("rules/{}/before-restart/bad.yaml", rule.id));
        match bad.iter().find(|f| f.rule == rule.id) {
            None => failures.push(format!(
                "{}: before-restart/bad.yaml does not trigger it",
                rule.id
            )),
            Some(f) => assert!(
                !f.message.is_empty() && !f.field.is_empty() && f.advice.is_some(),
                "{f:?}"
            ),
        }
        let good = before_restart_of(&format!("rules/{}/before-restart/good.yaml", rule.id));
        if let Some(f) = good.iter().find(|f| f.rule == rule.id) {
            failures.push(format!(
                "{}: before-restart/good.yaml triggers it: {}",
                rule.id, f.message
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    assert!(checked >= 12, "{checked} rules look ahead");
}

/// A rule checked only before a restart is never part of a `diagnose` run: its bad fixture gives a
/// plain `diagnose` nothing of it.
#[test]
fn restart_only_rules_stay_out_of_a_diagnose_run() {
    for rule in all().filter(|r| r.restart_only()) {
        assert!(!RULES.iter().any(|r| r.id == rule.id), "{}", rule.id);
        let found = check_file(&format!("rules/{}/before-restart/bad.yaml", rule.id));
        assert!(found.iter().all(|(_, f)| f.rule != rule.id), "{}", rule.id);
    }
}

#[test]
fn no_fixture_without_a_rule() {
    for entry in std::fs::read_dir(fixtures().join("rules")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().to_string();
        assert!(
            all().any(|r| r.id == name),
            "fixture for unknown rule {name}"
        );
    }
}

#[test]
fn well_configured_workloads_have_zero_findings() {
    let mut files: Vec<String> = std::fs::read_dir(fixtures().join("good"))
        .unwrap()
        .map(|e| format!("good/{}", e.unwrap().file_name().to_string_lossy()))
        .collect();
    files.sort();
    assert!(files.len() >= 4, "{files:?}");
    for f in files {
        let found = check_file(&f);
        assert!(found.is_empty(), "{f}: {found:#?}");
    }
}

#[test]
fn numbers_in_messages() {
    let f = check_file("rules/prestop-exceeds-grace/bad.yaml");
    let m = &f
        .iter()
        .find(|(_, f)| f.rule == "prestop-exceeds-grace")
        .unwrap()
        .1;
    assert!(
        m.message.contains("30s") && m.container.as_deref() == Some("app"),
        "{m:?}"
    );
    let f = check_file("rules/rollout-percent-rounding/bad.yaml");
    let m = &f
        .iter()
        .find(|(_, f)| f.rule == "rollout-percent-rounding")
        .unwrap()
        .1;
    assert!(
        m.message.contains("rounds up to 1 pod") && m.message.contains("rounds down to 0"),
        "{m:?}"
    );
    let f = check_file("rules/liveness-without-startup/bad.yaml");
    let m = &f
        .iter()
        .find(|(_, f)| f.rule == "liveness-without-startup")
        .unwrap()
        .1;
    assert!(m.message.contains("120s (90 + 3 × 10s)"), "{m:?}");
    let f = check_file("rules/prestop-missing/bad.yaml");
    let m = &f
        .iter()
        .find(|(_, f)| f.rule == "prestop-missing")
        .unwrap()
        .1;
    assert!(m.message.contains("Service web"), "{m:?}");
    // Version-aware fix: native sleep on 1.33.
    assert!(m.fix.as_ref().unwrap().text().contains("sleep:\n"), "{m:?}");
}

#[test]
fn version_aware_fix_on_old_clusters() {
    let text = std::fs::read_to_string(fixtures().join("rules/prestop-missing/bad.yaml")).unwrap();
    let (_, f) = first_of(&text, KubeVersion::new(1, 29));
    let fix = f
        .iter()
        .find(|f| f.rule == "prestop-missing")
        .and_then(|f| f.fix.clone())
        .unwrap()
        .text();
    assert!(fix.contains("command: [\"sleep\", \"10\"]"), "{fix}");
}

#[test]
fn ignore_annotation_silences_rules() {
    let text = std::fs::read_to_string(fixtures().join("rules/single-replica/bad.yaml")).unwrap();
    let text = text.replacen("metadata:\n  name: api\n", "metadata:\n  name: api\n  annotations: {graceful.kubectl.io/ignore: \"single-replica, termination-message-policy\"}\n", 1);
    let (_, f) = first_of(&text, KubeVersion::DEFAULT);
    assert!(!f.is_empty());
    assert!(
        f.iter()
            .all(|f| f.rule != "single-replica" && f.rule != "termination-message-policy"),
        "{f:?}"
    );
}

#[test]
fn live_defaults_are_not_a_rounding_choice() {
    let text = std::fs::read_to_string(fixtures().join("rules/rollout-percent-rounding/bad.yaml"))
        .unwrap();
    let mut loaded = Loaded::new("default", KubeVersion::DEFAULT);
    load_text("x", &text, &mut loaded);
    let mut w = loaded.workloads.remove(0);
    let idx = RelatedIndex::new(&loaded.related);
    let cx = idx.context(&w, KubeVersion::DEFAULT);
    assert!(check(&w, &cx)
        .iter()
        .any(|f| f.rule == "rollout-percent-rounding"));
    // The same object served by a cluster: 25%/25% are what the API fills in.
    w.live = true;
    assert!(!check(&w, &cx)
        .iter()
        .any(|f| f.rule == "rollout-percent-rounding"));
}

#[test]
fn extreme_values_do_not_panic() {
    let text = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: x}
spec:
  replicas: 2147483647
  minReadySeconds: -5
  strategy: {rollingUpdate: {maxSurge: "9000000000000000000%", maxUnavailable: "-50%"}}
  template:
    spec:
      terminationGracePeriodSeconds: 9223372036854775807
      containers:
      - name: a
        ports: [{containerPort: 1}]
        command: ["sh", "-c", ""]
        lifecycle: {preStop: {exec: {command: ["sleep", "1e300"]}}}
        livenessProbe: {exec: {command: []}, initialDelaySeconds: 2147483647, periodSeconds: 2147483647, failureThreshold: 2147483647}
        readinessProbe: {tcpSocket: {port: 1}, initialDelaySeconds: 2147483647, periodSeconds: 2147483647, failureThreshold: 2147483647, timeoutSeconds: 2147483647}
      - name: b
        lifecycle: {preStop: {sleep: {seconds: -9223372036854775808}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: y}
spec:
  replicas: -3
  strategy: {rollingUpdate: {maxSurge: "x%", maxUnavailable: 0}}
  template: {}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: p}
spec: {minAvailable: "250%", selector: {}}
"#;
    let mut loaded = Loaded::new("default", KubeVersion::DEFAULT);
    load_text("x", text, &mut loaded);
    assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
    let idx = RelatedIndex::new(&loaded.related);
    for w in &loaded.workloads {
        for v in [KubeVersion::new(1, 20), KubeVersion::new(1, 40)] {
            let found = check(w, &idx.context(w, v));
            if w.name == "x" {
                // Nonsense numbers still produce findings (a 1e300s preStop sleep exceeds any grace).
                assert!(
                    found.iter().any(|f| f.rule == "prestop-exceeds-grace"),
                    "{found:#?}"
                );
            }
        }
    }
}

#[test]
fn live_hpa_replicas_set_reads_the_last_applied_manifest() {
    // Served objects always carry spec.replicas; kubectl's last-applied annotation tells whether the
    // manifest behind them sets it.
    let dump = |annotation: &str| {
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\n  uid: 0b3c\n  annotations: {{kubectl.kubernetes.io/last-applied-configuration: '{annotation}'}}\nspec:\n  replicas: 4\n  selector: {{matchLabels: {{app: api}}}}\n  template: {{metadata: {{labels: {{app: api}}}}, spec: {{containers: [{{name: app, image: x}}]}}}}\n---\napiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {{name: api}}\nspec: {{scaleTargetRef: {{kind: Deployment, name: api}}, minReplicas: 2, maxReplicas: 8}}\n"
        )
    };
    let rules = |text: &str| -> Vec<String> {
        let (w, f) = first_of(text, KubeVersion::DEFAULT);
        assert!(w.live);
        f.into_iter().map(|f| f.rule).collect()
    };
    let with = dump(r#"{"apiVersion":"apps/v1","kind":"Deployment","spec":{"replicas":4}}"#);
    assert!(rules(&with).contains(&"hpa-replicas-set".to_string()));
    let without = dump(r#"{"apiVersion":"apps/v1","kind":"Deployment","spec":{}}"#);
    assert!(!rules(&without).contains(&"hpa-replicas-set".to_string()));
    let not_applied = dump("");
    assert!(!rules(&not_applied).contains(&"hpa-replicas-set".to_string()));
}

#[test]
fn rounding_uses_the_hpa_minimum_when_replicas_are_unset() {
    let text = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api}\nspec:\n  strategy: {rollingUpdate: {maxSurge: 25%, maxUnavailable: 50%}}\n  selector: {matchLabels: {app: api}}\n  template: {metadata: {labels: {app: api}}, spec: {containers: [{name: app, image: x}]}}\n---\napiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: api}\nspec: {scaleTargetRef: {kind: Deployment, name: api}, minReplicas: 2, maxReplicas: 8}\n";
    let (_, f) = first_of(text, KubeVersion::DEFAULT);
    // At the HPA's minimum of 2, 50% unavailable is 1 pod and 25% surge rounds up to 1 (50%).
    let m = f
        .iter()
        .find(|f| f.rule == "rollout-percent-rounding")
        .unwrap_or_else(|| panic!("{f:#?}"));
    assert!(
        m.message.starts_with("at the HPA's minimum of 2 replicas"),
        "{}",
        m.message
    );
    // Without the HPA, spec.replicas (default 1): 50% of 1 rounds down to 0, surge up to 1.
    let alone = text.split("---").next().unwrap();
    let (_, f) = first_of(alone, KubeVersion::DEFAULT);
    assert!(
        !f.iter().any(|f| f.rule == "rollout-all-unavailable"),
        "{f:#?}"
    );
}

#[test]
fn one_replica_with_max_unavailable_one_is_down_on_every_rollout() {
    for (surge, unavailable) in [("1", "1"), ("0", "100%"), ("25%", "1")] {
        let text = format!("apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: api}}\nspec:\n  replicas: 1\n  strategy: {{rollingUpdate: {{maxSurge: {surge}, maxUnavailable: {unavailable}}}}}\n  selector: {{matchLabels: {{app: api}}}}\n  template: {{metadata: {{labels: {{app: api}}}}, spec: {{containers: [{{name: app, image: x}}]}}}}\n");
        let (_, f) = first_of(&text, KubeVersion::DEFAULT);
        let hit = f.iter().find(|f| f.rule == "rollout-all-unavailable");
        assert!(
            hit.is_some_and(|h| h.severity >= super::rules::Severity::Warning),
            "{surge}/{unavailable}: {f:#?}"
        );
    }
}

#[test]
fn helm_hook_pods_are_not_bare_pods() {
    let pod = |annotations: &str| {
        format!("apiVersion: v1\nkind: Pod\nmetadata:\n  name: chart-test\n  annotations: {{{annotations}}}\nspec:\n  restartPolicy: Never\n  containers: [{{name: t, image: busybox}}]\n")
    };
    let rules = |t: &str| -> Vec<String> {
        first_of(t, KubeVersion::DEFAULT)
            .1
            .into_iter()
            .map(|f| f.rule)
            .collect()
    };
    assert!(!rules(&pod("helm.sh/hook: test")).contains(&"bare-pod".to_string()));
    assert!(rules(&pod("team: a")).contains(&"bare-pod".to_string()));
}

/// A Deployment with one container `c` (YAML flow map) and a Service sending it port 80 → `target`.
fn served(container: &str, target: &str, grace: Option<u32>) -> String {
    let g = grace
        .map(|g| format!("      terminationGracePeriodSeconds: {g}\n"))
        .unwrap_or_default();
    format!("apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: app}}\nspec:\n  replicas: 2\n  selector: {{matchLabels: {{app: app}}}}\n  template:\n    metadata: {{labels: {{app: app}}}}\n    spec:\n{g}      containers:\n      - {container}\n---\napiVersion: v1\nkind: Service\nmetadata: {{name: app}}\nspec: {{selector: {{app: app}}, ports: [{{port: 80, targetPort: {target}}}]}}\n")
}

fn fix_of(text: &str, rule: &str) -> String {
    let (_, f) = first_of(text, KubeVersion::DEFAULT);
    f.iter()
        .find(|f| f.rule == rule)
        .and_then(|f| f.fix.as_ref())
        .unwrap_or_else(|| panic!("no {rule} fix in {f:#?}"))
        .text()
}

#[test]
fn a_pause_comes_with_a_grace_period_that_fits_it() {
    let fix = fix_of(
        &served(
            "{name: web, image: x, ports: [{containerPort: 8080}]}",
            "8080",
            Some(5),
        ),
        "prestop-missing",
    );
    assert!(fix.contains("seconds: 10"), "{fix}");
    assert!(fix.contains("terminationGracePeriodSeconds: 30"), "{fix}");
    // The default 30s already fits a 10s pause: the grace period is left alone.
    let fix = fix_of(
        &served(
            "{name: web, image: x, ports: [{containerPort: 8080}]}",
            "8080",
            None,
        ),
        "prestop-missing",
    );
    assert!(!fix.contains("terminationGracePeriodSeconds"), "{fix}");
}

#[test]
fn probe_fixes_keep_the_probe_type_and_invent_no_endpoint() {
    for probe in [
        "grpc: {port: 9090}",
        "tcpSocket: {port: 9090}",
        "exec: {command: [grpc_health_probe, -addr=:9090]}",
    ] {
        let c = format!("{{name: s, image: x, ports: [{{name: grpc, containerPort: 9090}}], readinessProbe: {{{probe}}}, livenessProbe: {{{probe}}}}}");
        let fix = fix_of(&served(&c, "grpc", None), "liveness-equals-readiness");
        assert!(
            !fix.contains("httpGet") && !fix.contains("/livez"),
            "{probe}: {fix}"
        );
        assert!(fix.contains("failureThreshold"), "{fix}");
    }
}

#[test]
fn readiness_fixes_on_databases_use_their_port_or_ping() {
    let pg = fix_of(
        &served(
            "{name: db, image: 'postgres:16', ports: [{name: pg, containerPort: 5432}]}",
            "pg",
            None,
        ),
        "readiness-missing",
    );
    assert!(
        pg.contains("pg_isready") && pg.contains("5432") && !pg.contains("httpGet"),
        "{pg}"
    );
    for image in ["redis:7", "mysql:8", "mongo:7", "rabbitmq:3"] {
        let fix = fix_of(
            &served(
                &format!("{{name: db, image: '{image}', ports: [{{containerPort: 6379}}]}}"),
                "6379",
                None,
            ),
            "readiness-missing",
        );
        assert!(
            fix.contains("tcpSocket") && fix.contains("port: 6379") && !fix.contains("httpGet"),
            "{image}: {fix}"
        );
    }
}
