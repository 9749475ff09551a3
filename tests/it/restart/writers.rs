//! `kubectl graceful restart` when something else acts on the workload: the controller giving up (progress
//! deadline), probes killing the new pods, a pause, another writer of the restart annotation (GitOps), a
//! second restart of the same target; and targets in several namespaces.

use std::time::Duration;

use super::common::*;
use serde_json::Value;

#[test]
fn progress_deadline_exceeded_is_explained_through_the_new_pod() {
    let yaml = deployment(
        "api",
        2,
        r#"kubesim.io/rollout-behavior: '{"*": {"neverReady": true}}'"#,
    )
    .replace(
        "  replicas: 2\n",
        "  replicas: 2\n  progressDeadlineSeconds: 20\n",
    );
    let sim = start_settled(&[yaml], 20.0, &[("api", 2)]);
    let failed = target_failed(&sim, &["deploy/api", "-o", "json"]);
    let verdict = failed["verdict"].as_str().unwrap();
    assert!(
        verdict.contains("exceeded its progress deadline"),
        "{verdict}"
    );
    assert!(verdict.contains("never became Ready"), "{verdict}");
    // explain's diagnosis of that pod, as for a crash.
    assert_eq!(
        failed["explain"]["containers"][0]["verdict"]["cause"], "readiness-probe",
        "{failed:#}"
    );
}

#[test]
fn a_liveness_probe_kill_is_named_not_read_as_exit_137() {
    let yaml = deployment(
        "api",
        2,
        r#"kubesim.io/rollout-behavior: '{"*": {"livenessFailsAfter": "2s"}}'"#,
    )
    .replace(
        "        readinessProbe: {httpGet: {path: /ready, port: 8080}, periodSeconds: 1}",
        "        readinessProbe: {httpGet: {path: /ready, port: 8080}, periodSeconds: 1}\n        livenessProbe: {httpGet: {path: /live, port: 8080}, periodSeconds: 1}",
    );
    let sim = start_settled(&[yaml], 20.0, &[("api", 2)]);
    let out = run(&sim, &["deploy/api", "--stable-for", "20s", "-o", "json"]).code(1);
    let ev = events(&out.get_output().stdout);
    let failed = ev
        .iter()
        .find(|e| e["type"] == "TargetFailed")
        .expect("TargetFailed");
    assert_eq!(failed["failure"]["cause"], "liveness-probe", "{failed:#}");
    assert_eq!(failed["failure"]["reason"], "LivenessProbe");
    let verdict = failed["verdict"].as_str().unwrap();
    assert!(
        verdict.contains("killed by its liveness probe"),
        "{verdict}"
    );
    let summary = ev.last().unwrap();
    assert!(summary["targets"][0]["verdict"]
        .as_str()
        .unwrap()
        .contains("liveness probe"));
}

#[test]
fn a_pause_during_the_restart_is_reported_at_once_with_who_paused() {
    let sim = start_settled(&[slow("web", 3)], 10.0, &[("web", 3)]);
    let started = std::time::Instant::now();
    let child = spawn_until_patched(&sim, &["deploy/web", "--timeout", "2m"]);
    kubectl(&sim, &["rollout", "pause", "deploy/web"]);
    let out = done(child);
    assert_eq!(out.code, 1, "{out}");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "not at --timeout"
    );
    assert!(
        out.stderr.contains("deploy/web was paused during the restart (spec.paused set by field manager kubectl-rollout)"),
        "{out}"
    );
    assert!(
        out.stderr
            .contains("kubectl rollout resume deploy/web -n default"),
        "{out}"
    );
}

#[test]
fn a_gitops_controller_removing_the_annotation_is_named_with_what_to_do() {
    // As Argo CD created it (server-side apply): it manages the pod template.
    let synced = slow("web", 3).replace(
        "metadata: {name: web, namespace: default, labels: {tier: backend}}",
        r#"metadata:
  name: web
  namespace: default
  labels: {tier: backend}
  managedFields:
  - manager: argocd-controller
    operation: Apply
    apiVersion: apps/v1
    time: "2026-01-01T00:00:00Z"
    fieldsType: FieldsV1
    fieldsV1: {"f:spec": {"f:replicas": {}, "f:template": {"f:metadata": {"f:labels": {"f:app": {}}}, "f:spec": {"f:containers": {}}}}}"#,
    );
    let sim = start(&synced, 10.0, None);
    settle(&sim, "web", 3);
    let child = spawn_until_patched(&sim, &["deploy/web", "--force"]);
    patch_as_argocd(
        &sim,
        "json",
        r#"[{"op": "remove", "path": "/spec/template/metadata/annotations/kubectl.kubernetes.io~1restartedAt"}]"#,
    );
    let out = done(child);
    assert_eq!(out.code, 1, "{out}");
    assert!(out.stderr.contains("removed"), "{out}");
    assert!(out.stderr.contains("argocd-controller"), "{out}");
    assert!(out.stderr.contains("argocd app actions run"), "{out}");
    // Fighting it would be worse: no advice to undo.
    assert!(!out.stderr.contains("rollout undo"), "{out}");
}

#[test]
fn two_restarts_of_the_same_target_notice_each_other() {
    let sim = start_settled(&[slow("web", 3)], 10.0, &[("web", 3)]);
    let first = spawn(&sim, &["deploy/web"]);
    wait_for_request(&sim, |r| r.method == "PATCH");
    std::thread::sleep(Duration::from_millis(300));
    // The second notices the first, and does nothing without --force …
    let second = spawn(&sim, &["deploy/web"]);
    let second_out = done(second);
    assert_eq!(second_out.code, 1, "{second_out}");
    assert!(
        second_out.stderr.contains("[restart-in-progress]"),
        "{second_out}"
    );
    assert!(
        second_out.stderr.contains("is being restarted already")
            && second_out
                .stderr
                .contains("another `kubectl graceful restart`"),
        "{second_out}"
    );
    // … and with --force it takes over; the first says who did.
    let second = spawn(&sim, &["deploy/web", "--force"]);
    let first_out = done(first);
    let second_out = done(second);
    assert_eq!(second_out.code, 0, "{second_out}");
    assert_eq!(first_out.code, 1, "{first_out}");
    assert!(
        first_out
            .stderr
            .contains("another `kubectl graceful restart` of deploy/web took over"),
        "{first_out}"
    );
    assert!(!first_out.stderr.contains("rollout undo"), "{first_out}");
    assert!(
        first_out.stderr.contains("another restart took over"),
        "{first_out}"
    );
}

fn in_ns(yaml: &str, ns: &str) -> String {
    yaml.replace("namespace: default", &format!("namespace: {ns}"))
}

#[test]
fn targets_of_several_namespaces_restart_in_order() {
    let yaml = [
        in_ns(&deployment("api", 1, ""), "shop"),
        in_ns(&deployment("db", 1, ""), "billing"),
        deployment("web", 1, ""),
    ]
    .join("\n---\n");
    let sim = start(&yaml, 40.0, None);
    let ready_in = |ns: &str, app: &str| {
        let (ns, app) = (ns.to_string(), app.to_string());
        assert!(sim.wait_until(Duration::from_secs(30), move |s| {
            let pods: Vec<Value> = s
                .list("v1", "Pod", Some(&ns))
                .into_iter()
                .filter(|p| p["metadata"]["labels"]["app"] == app.as_str())
                .collect();
            pods.len() == 1 && pods.iter().all(is_ready)
        }));
    };
    ready_in("shop", "api");
    ready_in("billing", "db");
    ready_in("default", "web");
    let child = spawn(
        &sim,
        &["shop/deploy/api", "billing/deploy/db", "-o", "json"],
    );
    let out = done(child);
    assert_eq!(out.code, 0, "{out}");
    let ev = events(out.stdout.as_bytes());
    let finished: Vec<(String, String)> = ev
        .iter()
        .filter(|e| e["type"] == "TargetComplete")
        .map(|e| {
            (
                e["namespace"].as_str().unwrap().to_string(),
                e["target"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        finished,
        [
            ("shop".to_string(), "shop/deploy/api".to_string()),
            ("billing".to_string(), "billing/deploy/db".to_string())
        ]
    );
    for (ns, name) in [("shop", "api"), ("billing", "db")] {
        let w = sim.get("apps/v1", "Deployment", Some(ns), name).unwrap();
        assert!(restarted_at(&w).is_some(), "{ns}/{name} restarted");
    }
    let web = sim
        .get("apps/v1", "Deployment", Some("default"), "web")
        .unwrap();
    assert!(restarted_at(&web).is_none(), "default/web untouched");

    // -A with a selector: every namespace, ordered by namespace.
    let child = spawn(
        &sim,
        &["-A", "-l", "tier=backend", "--dry-run", "-o", "json"],
    );
    let out = done(child);
    assert_eq!(out.code, 0, "{out}");
    let plan: Value = serde_json::from_str(out.stdout.trim()).unwrap();
    let targets: Vec<&str> = plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["target"].as_str().unwrap())
        .collect();
    assert_eq!(
        targets,
        ["billing/deploy/db", "deploy/web", "shop/deploy/api"]
    );
}

#[test]
fn another_writer_reverting_the_annotation_is_reported_by_name() {
    if kubesim::tools::kubectl("another writer (kubectl patch)").is_none() {
        return;
    }
    let sim = start_settled(&[slow("web", 3)], 10.0, &[("web", 3)]);
    let child = spawn_until_patched(&sim, &["deploy/web"]);
    patch_as_argocd(
        &sim,
        "merge",
        r#"{"spec":{"template":{"metadata":{"annotations":{"kubectl.kubernetes.io/restartedAt":"2020-01-01T00:00:00Z"}}}}}"#,
    );
    let out = finish(child, LIMIT);
    let stderr = &out.stderr;
    assert_eq!(out.code, 1, "{out}");
    assert!(
        stderr.contains("field manager argocd-controller changed the restart annotation"),
        "{stderr}"
    );
    // What to do about it, and no advice to undo (that would fight it too).
    assert!(stderr.contains("argocd app actions run"), "{stderr}");
    assert!(!stderr.contains("rollout undo"), "{stderr}");
}

#[test]
fn paused_deployment_is_refused_even_with_force() {
    let yaml =
        deployment("web", 2, "").replace("  replicas: 2\n", "  replicas: 2\n  paused: true\n");
    let sim = start(&yaml, 40.0, None);
    sim.clear_requests();
    let out = run(&sim, &["deploy/web", "--force"]).code(1);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        stderr.contains("[deployment-paused]")
            && stderr.contains("kubectl rollout resume deploy/web"),
        "{stderr}"
    );
    assert!(stderr.contains("--force cannot help"), "{stderr}");
    assert!(writes(&sim).is_empty(), "{:?}", writes(&sim));
    // --dry-run says the same and exits 1.
    run(&sim, &["deploy/web", "--dry-run"]).code(1);
    // Refused with -o json: the finding, then a Summary that says so.
    let out = run(&sim, &["deploy/web", "-o", "json"]).code(1);
    let ev = events(&out.get_output().stdout);
    assert_eq!(ev[0]["type"], "PreflightFinding");
    assert_eq!(ev.last().unwrap()["type"], "Summary");
    assert_eq!(ev.last().unwrap()["result"], "Refused");
    assert_eq!(ev.last().unwrap()["targets"][0]["state"], "Skipped");
    // In JSON, the findings are inside the one plan document.
    let out = run(&sim, &["deploy/web", "--dry-run", "-o", "json"]).code(1);
    let plan: Value = serde_json::from_slice(&out.get_output().stdout).expect("one JSON document");
    assert_eq!(
        plan["steps"][0]["findings"][0]["rule"], "deployment-paused",
        "{plan}"
    );
    assert_eq!(
        plan["steps"][0]["findings"][0]["severity"], "Blocked",
        "{plan}"
    );
}

/// `kubectl patch deploy/web --type TYPE -p PATCH` as Argo CD's field manager: another writer.
fn patch_as_argocd(sim: &kubesim::Sim, patch_type: &str, patch: &str) {
    kubectl(
        sim,
        &[
            "patch",
            "deploy/web",
            "--field-manager",
            "argocd-controller",
            "--type",
            patch_type,
            "-p",
            patch,
        ],
    );
}
