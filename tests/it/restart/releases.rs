//! restart of a bad release: it stops with explain's verdict on the new pod (crash, OOM kill, never
//! Ready, a crash after Ready within --stable-for), and --rollback-on-failure puts the old pods back.

use super::common::*;

fn bad_release(name: &str, behavior: &str) -> String {
    deployment(
        name,
        2,
        &format!("kubesim.io/rollout-behavior: '{behavior}'"),
    )
}

fn assert_stops_with(behavior: &str, extra: &[&str], verdict: &str) {
    let docs = [bad_release("api", behavior), deployment("later", 1, "")];
    let sim = start_settled(&docs, 40.0, &[("api", 2), ("later", 1)]);
    let mut args = vec!["deploy/api", "deploy/later"];
    args.extend_from_slice(extra);
    let out = run(&sim, &args).code(1);
    let o = out.get_output();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(text.contains(verdict), "want {verdict:?} in:\n{text}");
    // The failing pod is explained by `explain`, with what to do.
    assert!(
        text.contains("what to do:"),
        "no explain report in:\n{text}"
    );
    assert!(
        text.contains("restart failed at deploy/api; not touched: deploy/later"),
        "{text}"
    );
    assert!(
        !writes(&sim)
            .iter()
            .any(|(_, p)| p.contains("/deployments/later")),
        "later target was touched: {:?}",
        writes(&sim)
    );
}

#[test]
fn bad_release_crashing_with_exit_1_stops_with_the_verdict() {
    assert_stops_with(
        r#"{"*": {"crashAfter": "1s", "exitCode": 1, "message": "panic: config missing"}}"#,
        &[],
        "exit code 1",
    );
}

#[test]
fn bad_release_oomkilled_stops_with_the_verdict() {
    assert_stops_with(
        r#"{"*": {"crashAfter": "1s", "exitCode": 137, "reason": "OOMKilled"}}"#,
        &[],
        "OOMKilled",
    );
}

#[test]
fn bad_release_never_ready_times_out_with_the_verdict() {
    assert_stops_with(
        r#"{"*": {"neverReady": true}}"#,
        &["--timeout", "3s"],
        "never became Ready",
    );
}

#[test]
fn rollback_on_failure_restores_the_old_pods() {
    let sim = start(
        &bad_release("api", r#"{"*": {"crashAfter": "1s", "exitCode": 1}}"#),
        40.0,
        None,
    );
    settle(&sim, "api", 2);
    let out = run(&sim, &["deploy/api", "--rollback-on-failure"]).code(1);
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(stdout.contains("RolledBack"), "{stdout}");
    let d = sim.get("apps/v1", "Deployment", Some(NS), "api").unwrap();
    assert_eq!(restarted_at(&d), None, "template restored");
    let pods = pods_of(&sim, "api");
    assert_eq!(pods.len(), 2, "{pods:#?}");
    assert!(
        pods.iter()
            .all(|p| is_ready(p) && restarted_at(p).is_none()),
        "{pods:#?}"
    );
}

#[test]
fn stable_for_catches_new_pods_that_crash_after_becoming_ready() {
    let late_crash = r#"{"*": {"readyAfter": "1s", "crashAfter": "40s", "exitCode": 2, "message": "panic: nil map"}}"#;
    // Without --stable-for the restart is complete as soon as the new pods are Ready…
    let docs = [bad_release("api", late_crash)];
    let sim = start_settled(&docs, 20.0, &[("api", 2)]);
    run(&sim, &["deploy/api"]).code(0);
    // …with it, the crash two (real) seconds later fails the target.
    let sim = start_settled(&docs, 20.0, &[("api", 2)]);
    let failed = target_failed(&sim, &["deploy/api", "--stable-for", "30s", "-o", "json"]);
    assert_eq!(failed["reason"], "unstable during --stable-for", "{failed}");
    assert_eq!(failed["failure"]["exitCode"], 2, "{failed}");
    assert_eq!(
        failed["explain"]["name"], failed["failure"]["pod"],
        "{failed}"
    );
    assert!(
        failed["explain"]["containers"][0]["verdict"]["cause"].is_string(),
        "{failed}"
    );
    assert!(
        failed["verdict"].as_str().unwrap().contains("exit code 2"),
        "{failed}"
    );
}

#[test]
fn statefulset_rollback_replaces_the_stuck_pod() {
    let yaml = statefulset("db", 3, "{type: RollingUpdate}").replace(
        "metadata: {labels: {app: db}}",
        r#"metadata: {labels: {app: db}, annotations: {kubesim.io/rollout-behavior: '{"*": {"crashAfter": "1s", "exitCode": 1}}'}}"#,
    );
    let sim = start(&yaml, 40.0, None);
    settle(&sim, "db", 3);
    let out = run(&sim, &["sts/db", "--rollback-on-failure"]).code(1);
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(stdout.contains("RolledBack"), "{stdout}");
    let s = sim.get("apps/v1", "StatefulSet", Some(NS), "db").unwrap();
    assert_eq!(restarted_at(&s), None);
    let pods = pods_of(&sim, "db");
    assert_eq!(pods.len(), 3, "{pods:#?}");
    assert!(
        pods.iter()
            .all(|p| is_ready(p) && restarted_at(p).is_none()),
        "{pods:#?}"
    );
}

#[test]
fn daemonset_rollback_restores_every_node() {
    let yaml = daemonset("agent", "{type: RollingUpdate}").replace(
        "metadata: {labels: {app: agent}}",
        r#"metadata: {labels: {app: agent}, annotations: {kubesim.io/rollout-behavior: '{"*": {"imagePullError": "ErrImagePull"}}'}}"#,
    );
    let sim = start(&yaml, 40.0, Some(2));
    settle(&sim, "agent", 2);
    let out = run(&sim, &["ds/agent", "--rollback-on-failure"]).code(1);
    let o = out.get_output();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        text.contains("cannot pull its image") && text.contains("RolledBack"),
        "{text}"
    );
    let pods = pods_of(&sim, "agent");
    assert_eq!(pods.len(), 2, "{pods:#?}");
    assert!(
        pods.iter()
            .all(|p| is_ready(p) && restarted_at(p).is_none()),
        "{pods:#?}"
    );
}
