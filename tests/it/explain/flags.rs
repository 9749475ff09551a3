//! kubectl's habits and "never green on what could not be checked" (issue 12): `-c` against a workload's
//! pods, `--tail -1`, and a pod left unexplained because the reads it needs were refused.

use std::time::Duration;

use predicates::prelude::*;

use super::bin;
use super::live::{live, CRASHY};
use super::scripted::{fake_run, list, served, EVENTS, NEW_EVENTS, PODS};
use crate::support::fake_api::{FakeApi as Fake, Route};

#[test]
fn live_container_filter_on_a_workload_names_the_containers_there_are() {
    let sim = kubesim::Sim::with_scenario(CRASHY);
    assert!(
        sim.wait_until(Duration::from_secs(20), |s| !s
            .list("v1", "Pod", Some("default"))
            .is_empty()),
        "the deployment's pod exists"
    );
    live(&sim)
        .args(["explain", "deploy/crashy", "-c", "nope"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains(
            "container \"nope\" is not in deployment crashy (containers: app)",
        ));
    // The same for a selector sweep.
    live(&sim)
        .args(["explain", "-l", "app=crashy", "-c", "nope"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("(containers: app)"));
    live(&sim)
        .args(["explain", "deploy/crashy", "-c", "app"])
        .assert()
        .code(predicate::in_iter([0, 1]));
}

#[test]
fn scripted_tail_minus_one_reads_every_line_and_other_negatives_are_refused() {
    let (pod, events) = served("app-error.yaml");
    let fake = Fake::start(vec![
        Route::get(&format!("{PODS}/orders-0"), pod.to_string()),
        Route::get(EVENTS, list("EventList", "v1", events)),
        Route::get(&format!("{PODS}/orders-0/log"), "a\nb\nc\n".into()),
    ]);
    let (code, r, err) = fake_run(&fake, &["orders-0", "--tail", "-1"]);
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(
        r["pods"][0]["containers"][0]["logs"]
            .as_array()
            .map(Vec::len),
        Some(3)
    );
    let log = fake
        .seen()
        .into_iter()
        .find(|s| s.path().ends_with("/log"))
        .expect("a log request");
    assert!(!log.target.contains("tailLines"), "{}", log.target);

    let (code, _, err) = fake_run(&fake, &["orders-0", "--tail", "-2"]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("--tail -2: give a number of lines, or -1 for all of them"),
        "{err}"
    );
}

#[test]
fn scripted_a_pod_left_unexplained_because_events_were_refused_is_exit_2() {
    // Still starting by its status; what the events would say (FailedScheduling, FailedMount, …) is
    // unknown: never exit 0 on that.
    let (pod, _) = served("starting.yaml");
    let name = pod["metadata"]["name"].as_str().expect("name").to_string();
    let fake = Fake::start(vec![
        Route::get(&format!("{PODS}/{name}"), pod.to_string()),
        Route::get(EVENTS, String::new()).status(403),
        Route::get(NEW_EVENTS, String::new()).status(403),
    ]);
    let (code, r, err) = fake_run(&fake, &[&name]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains(&format!("pod default/{name} (events)")),
        "{err}"
    );
    // The report is still printed, with the reason in its notes.
    assert!(
        r["pods"][0]["notes"]
            .to_string()
            .contains("events: forbidden"),
        "{r}"
    );

    // A failure explained from the status alone stays exit 1 (the verdict stands without events).
    let (pod, _) = served("app-error.yaml");
    let fake = Fake::start(vec![
        Route::get(&format!("{PODS}/orders-0"), pod.to_string()),
        Route::get(EVENTS, String::new()).status(403),
        Route::get(NEW_EVENTS, String::new()).status(403),
        Route::get(&format!("{PODS}/orders-0/log"), "x\n".into()),
    ]);
    let (code, _, err) = fake_run(&fake, &["orders-0"]);
    assert_eq!(code, Some(1), "{err}");
}

#[test]
fn offline_a_healthy_pod_names_its_namespace_and_file_input_never_claims_a_failed_read() {
    bin()
        .args(["explain", "-f", &super::fixture("readiness-gate.yaml")])
        .assert()
        .stdout(predicate::str::contains("could not be read").not())
        .stdout(predicate::str::contains(
            "readiness-gate.yaml holds no events",
        ));
}
