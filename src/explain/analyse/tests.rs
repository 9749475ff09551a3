//! Unit tests of the analysis on the saved fixtures: details the corpus (tests/explain/corpus.rs, every
//! fixture through the binary, live and offline) does not state, and edge cases built from them.

use super::*;
use crate::explain::offline;
use k8s_openapi::api::core::v1::Pod;

fn load(name: &str) -> offline::Loaded {
    let path = format!(
        "{}/tests/fixtures/explain/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).expect("fixture exists");
    offline::parse(&text, &path).expect("fixture parses")
}

fn report_with(name: &str, logs: &Logs) -> PodReport {
    let l = load(name);
    let extra = Extra {
        events: if l.had_events {
            EventSource::File
        } else {
            EventSource::NotInFile(name.into())
        },
        ..Default::default()
    };
    analyse(&l.pods[0], &l.events, logs, &extra)
}

fn report(name: &str) -> PodReport {
    report_with(name, &Logs::default())
}

fn container<'a>(r: &'a PodReport, name: &str) -> &'a ContainerReport {
    r.containers
        .iter()
        .find(|c| c.name == name)
        .expect("container in report")
}

fn verdict_of<'a>(r: &'a PodReport, name: &str) -> &'a Verdict {
    container(r, name).verdict.as_ref().expect("a verdict")
}

/// The verdict of `r`'s container `name`, which must blame `cause`.
#[track_caller]
fn blamed<'a>(r: &'a PodReport, name: &str, cause: Cause) -> &'a Verdict {
    let v = verdict_of(r, name);
    assert_eq!(v.cause, cause, "{v:?}");
    v
}

fn evidence(v: &Verdict) -> String {
    v.evidence.join("\n")
}

/// Asserts that `text` contains `part`, showing `text` if not.
#[track_caller]
fn has(text: &str, part: &str) {
    assert!(text.contains(part), "{text:?} lacks {part:?}");
}

#[test]
fn oom_killed_names_the_limit_and_request() {
    let r = report("oom-killed.yaml");
    let v = blamed(&r, "app", Cause::OomKilled);
    has(&v.summary, "256Mi");
    has(&evidence(v), "request 128Mi");
    let c = container(&r, "app");
    assert_eq!(c.back_off.as_deref(), Some("40s"));
    let t = c.last_termination.as_ref().expect("last termination");
    assert_eq!(t.exit_code, 137);
    assert_eq!(t.signal.as_deref(), Some("SIGKILL"));
    assert_eq!(t.ran_for_seconds, Some(133));
    assert!(!r.healthy);
    assert_eq!(r.owner.as_deref(), Some("Deployment/web"));
}

#[test]
fn oom_without_a_limit_is_the_node() {
    let r = report("node-oom.yaml");
    blamed(&r, "worker", Cause::NodeOom);
    // Recovered and ready now, but the restart is still a failure to explain.
    assert!(!r.healthy);
}

#[test]
fn grace_period_exceeded_with_a_shell_entry_point() {
    let r = report("grace-shell.yaml");
    let v = blamed(&r, "app", Cause::GracePeriodExceeded);
    let ev = evidence(v);
    has(&ev, "30s after the stop began");
    has(&ev, "does not forward SIGTERM");
    has(&v.action, "exec");
    assert!(r.notes.iter().any(|n| n.contains("being deleted")));
}

#[test]
fn grace_period_exceeded_by_a_long_pre_stop_hook() {
    let r = report("grace-prestop.yaml");
    let v = blamed(&r, "envoy", Cause::GracePeriodExceeded);
    has(&evidence(v), "preStop hook");
    has(&evidence(v), "45s");
    has(&v.action, "terminationGracePeriodSeconds");
}

#[test]
fn liveness_restarts_are_told_apart_from_oom_and_grace() {
    let r = report("liveness.yaml");
    let v = blamed(&r, "cart", Cause::LivenessProbe);
    has(&v.summary, "3 failures recorded");
    let ev = evidence(v);
    has(&ev, "statuscode: 500");
    has(&ev, "same as the readiness probe");
    has(&ev, "httpGet :8080/healthz");
}

#[test]
fn liveness_without_its_killing_event_needs_enough_failures_and_a_kill_signal() {
    let l = load("liveness.yaml");
    let unhealthy: Vec<EventRecord> = l
        .events
        .iter()
        .filter(|e| e.reason == "Unhealthy")
        .cloned()
        .collect();
    let extra = Extra {
        events: EventSource::Read,
        ..Default::default()
    };
    let r = analyse(&l.pods[0], &unhealthy, &Logs::default(), &extra);
    let v = blamed(&r, "cart", Cause::LivenessProbe);
    has(&evidence(v), "the Killing event is gone");

    // The app exiting 1 on its own is not the probe's doing, even while the probe was failing.
    let mut pod = l.pods[0].clone();
    if let Some(t) = pod
        .status
        .as_mut()
        .and_then(|s| s.container_statuses.as_mut())
        .and_then(|c| c.first_mut())
        .and_then(|c| c.last_state.as_mut())
        .and_then(|s| s.terminated.as_mut())
    {
        t.exit_code = 1;
    }
    let r = analyse(&pod, &unhealthy, &Logs::default(), &extra);
    blamed(&r, "cart", Cause::AppError);
}

#[test]
fn readiness_failures_never_restart() {
    let r = report("readiness.yaml");
    let v = blamed(&r, "search", Cause::ReadinessProbe);
    assert_eq!(v.severity, Severity::Warning);
    has(&v.summary, "42 failures");
    has(&evidence(v), "never restart");
    assert!(!r.healthy);
}

#[test]
fn startup_probe_never_succeeding() {
    let r = report("startup.yaml");
    let v = blamed(&r, "billing", Cause::StartupProbe);
    has(&v.summary, "30s");
    assert_eq!(container(&r, "billing").back_off.as_deref(), Some("1m20s"));
}

#[test]
fn post_start_and_pre_stop_hooks() {
    let r = report("post-start.yaml");
    blamed(&r, "worker", Cause::PostStartHook);
    has(&evidence(verdict_of(&r, "worker")), "/bin/register");
    let r = report("pre-stop.yaml");
    let v = blamed(&r, "front", Cause::PreStopHook);
    has(&evidence(v), "PreStopHook failed");
    has(&v.summary, "when the pod was deleted");
}

#[test]
fn app_error_with_message_and_log_lines() {
    let logs = Logs {
        previous: BTreeMap::from([(
            "orders".to_string(),
            vec![
                "starting orders service v2.3".to_string(),
                "Error: connect ECONNREFUSED 10.96.0.15:5432".to_string(),
            ],
        )]),
        ..Default::default()
    };
    let r = report_with("app-error.yaml", &logs);
    let c = container(&r, "orders");
    let v = c.verdict.as_ref().expect("verdict");
    assert_eq!(v.cause, Cause::AppError);
    has(&v.summary, "code 1");
    has(&v.summary, "ECONNREFUSED");
    has(&evidence(v), "log: Error: connect ECONNREFUSED");
    assert_eq!(c.logs_from.as_deref(), Some("previous"));
    assert_eq!(c.back_off.as_deref(), Some("5m0s"));
    assert!(c
        .termination_message
        .as_deref()
        .is_some_and(|m| m.contains("postgres")));
}

#[test]
fn several_containers_several_causes() {
    let r = report("multi-container.yaml");
    blamed(&r, "missing", Cause::CommandNotFound);
    blamed(&r, "noexec", Cause::NotExecutable);
    let segv = verdict_of(&r, "segv");
    assert_eq!(segv.cause, Cause::Signal);
    has(&segv.summary, "segmentation fault");
    has(&verdict_of(&r, "abort").summary, "SIGABRT");
    let silent = verdict_of(&r, "silent");
    assert_eq!(silent.cause, Cause::AppError);
    has(&evidence(silent), "terminationMessagePolicy is File");
    has(&silent.action, "FallbackToLogsOnError");
    assert!(container(&r, "fine").verdict.is_none());
    assert!(!container(&r, "fine").matters());
    assert_eq!(r.ready, "1/6");
    assert_eq!(r.restarts, 10);
}

#[test]
fn exit_143_without_a_stop_is_sigterm() {
    let r = report("sigterm.yaml");
    blamed(&r, "runner", Cause::Sigterm);
}

#[test]
fn exit_0_in_a_restart_always_pod() {
    let r = report("completed.yaml");
    let v = blamed(&r, "api", Cause::CompletedUnexpectedly);
    has(&evidence(v), "--daemonize");
}

#[test]
fn exit_0_in_a_job_pod_is_fine() {
    let mut l = load("completed.yaml");
    let pod = &mut l.pods[0];
    if let Some(s) = pod.spec.as_mut() {
        s.restart_policy = Some("OnFailure".into());
    }
    // A Job's pod is not restarted after exit 0: the state itself is terminated.
    if let Some(cs) = pod
        .status
        .as_mut()
        .and_then(|s| s.container_statuses.as_mut())
        .and_then(|c| c.first_mut())
    {
        cs.state = cs.last_state.take();
        cs.restart_count = 0;
    }
    let extra = Extra::default();
    let r = analyse(pod, &[], &Logs::default(), &extra);
    assert!(container(&r, "api").verdict.is_none());
}

#[test]
fn never_started_causes() {
    let r = report("image-pull.yaml");
    let v = blamed(&r, "web", Cause::ImagePull);
    has(&v.summary, "registry.example.com/shop/web:1.4.3");
    has(&evidence(v), "not found");
    has(&v.action, "does not exist");

    let r = report("config-error.yaml");
    let v = blamed(&r, "payments", Cause::ConfigError);
    has(
        &v.summary,
        "Secret db-credentials does not exist in namespace default",
    );

    let r = report("start-error.yaml");
    let v = blamed(&r, "gw", Cause::StartError);
    has(&v.summary, "no such file or directory");
    has(&v.action, "does not exist in the image");
    // StartError's startedAt is the epoch: no bogus "ran for".
    assert_eq!(
        container(&r, "gw")
            .last_termination
            .as_ref()
            .and_then(|t| t.ran_for_seconds),
        None
    );
}

#[test]
fn init_container_failure_is_the_pod_verdict() {
    let r = report("init-failed.yaml");
    let pv = r.verdict.as_ref().expect("pod verdict");
    assert_eq!(pv.cause, Cause::InitFailed);
    has(&pv.summary, "migrate");
    let v = blamed(&r, "migrate", Cause::AppError);
    has(&v.summary, "already exists");
    assert_eq!(container(&r, "migrate").type_, ContainerType::Init);
}

#[test]
fn node_facts_explain_a_lost_node() {
    let l = load("liveness.yaml");
    let extra = Extra {
        events: EventSource::Read,
        node: Some(NodeFacts {
            name: "worker-1".into(),
            exists: true,
            ready: Some("Unknown".into()),
            ready_reason: Some("NodeStatusUnknown".into()),
            ready_message: Some("Kubelet stopped posting node status.".into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let r = analyse(&l.pods[0], &l.events, &Logs::default(), &extra);
    let v = r.verdict.expect("pod verdict");
    assert_eq!(v.cause, Cause::NodeLost);
    has(&evidence(&v), "Kubelet stopped posting node status.");
}

#[test]
fn job_deadline_from_the_owner() {
    let mut l = load("deadline.yaml");
    if let Some(s) = l.pods[0].status.as_mut() {
        s.reason = None;
    }
    let extra = Extra {
        owner: Some(OwnerFacts {
            kind: "Job".into(),
            name: "nightly-report".into(),
            job_failure: Some(JobFailure {
                condition: "Failed".into(),
                reason: "DeadlineExceeded".into(),
                message: "Job was active longer than specified deadline".into(),
            }),
            ..Default::default()
        }),
        ..Default::default()
    };
    let r = analyse(&l.pods[0], &[], &Logs::default(), &extra);
    let v = r.verdict.expect("pod verdict");
    assert_eq!(v.cause, Cause::DeadlineExceeded);
    has(&evidence(&v), "Job was active longer");
}

#[test]
fn events_of_the_old_pod_are_not_blamed_on_the_new_one() {
    let r = report("recreated.yaml");
    let v = verdict_of(&r, "db");
    assert_eq!(v.cause, Cause::AppError, "{v:?}");
    assert!(r.notes.iter().any(|n| n.contains("recreated")));
    assert_eq!(r.events.len(), 1);
}

#[test]
fn exit_137_without_events_is_not_called_oom() {
    let r = report("events-expired.yaml");
    let v = blamed(&r, "legacy", Cause::Unclear);
    has(&evidence(v), "not OOMKilled");
    // No events in the input at all: it says so, and never claims a read failed.
    has(&evidence(v), "the input holds no events");
    assert!(!format!("{r:?}").contains("could not be read"));

    let l = load("events-expired.yaml");
    let extra = Extra {
        events: EventSource::Read,
        ..Default::default()
    };
    let r = analyse(&l.pods[0], &[], &Logs::default(), &extra);
    assert!(
        r.notes.iter().any(|n| n.contains("events expire")),
        "{:?}",
        r.notes
    );
}

/// The kubelet's Killing event of sigterm.yaml's container after its definition changed.
fn definition_changed() -> EventRecord {
    let killing: k8s_openapi::api::core::v1::Event = serde_yaml::from_str(
        r#"
metadata: {name: x}
involvedObject: {kind: Pod, name: cron-runner, namespace: default, fieldPath: "spec.containers{runner}"}
reason: Killing
message: Container runner definition changed, will be restarted
firstTimestamp: "2026-11-23T10:00:58Z"
lastTimestamp: "2026-11-23T10:00:58Z"
"#,
    )
    .expect("event parses");
    EventRecord::from_core(&killing)
}

#[test]
fn clean_shutdown_after_a_definition_change_is_not_a_failure() {
    let l = load("sigterm.yaml");
    let events = vec![definition_changed()];
    let extra = Extra {
        events: EventSource::Read,
        ..Default::default()
    };
    let r = analyse(&l.pods[0], &events, &Logs::default(), &extra);
    let v = blamed(&r, "runner", Cause::Stopped);
    assert_eq!(v.severity, Severity::Info);
    has(&v.summary, "definition changed");
    assert!(r.healthy);
}

#[test]
fn failing_readiness_now_outranks_a_clean_stop_before() {
    let l = load("sigterm.yaml");
    let mut pod = l.pods[0].clone();
    if let Some(cs) = pod
        .status
        .as_mut()
        .and_then(|s| s.container_statuses.as_mut())
        .and_then(|c| c.first_mut())
    {
        cs.ready = false;
    }
    let unready: k8s_openapi::api::core::v1::Event = serde_yaml::from_str(
        r#"
metadata: {name: y}
involvedObject: {kind: Pod, name: cron-runner, namespace: default, fieldPath: "spec.containers{runner}"}
reason: Unhealthy
type: Warning
message: "Readiness probe failed: HTTP probe failed with statuscode: 503"
count: 4
firstTimestamp: "2026-11-23T10:01:10Z"
lastTimestamp: "2026-11-23T10:01:40Z"
"#,
    )
    .expect("event parses");
    let events = vec![definition_changed(), EventRecord::from_core(&unready)];
    let extra = Extra {
        events: EventSource::Read,
        ..Default::default()
    };
    let r = analyse(&pod, &events, &Logs::default(), &extra);
    let v = blamed(&r, "runner", Cause::ReadinessProbe);
    has(
        &evidence(v),
        "earlier: stopped because its definition changed",
    );
    assert!(r.has_findings());
}

#[test]
fn ephemeral_and_sidecar_containers() {
    let pod: Pod = serde_yaml::from_str(
        r#"
metadata: {name: dbg, namespace: default, uid: u-dbg}
spec:
  initContainers:
  - {name: proxy, image: envoy, restartPolicy: Always}
  containers:
  - {name: app, image: app}
  ephemeralContainers:
  - {name: debugger-1, image: busybox, command: [sh]}
  - {name: debugger-2, image: busybox, command: [nosuchcmd]}
status:
  phase: Running
  initContainerStatuses:
  - name: proxy
    image: envoy
    imageID: ""
    ready: false
    restartCount: 2
    state: {waiting: {reason: CrashLoopBackOff, message: "back-off 20s restarting failed container=proxy pod=dbg_default(u-dbg)"}}
    lastState: {terminated: {exitCode: 0, reason: Completed, startedAt: "2026-11-23T10:00:00Z", finishedAt: "2026-11-23T10:00:05Z"}}
  containerStatuses:
  - {name: app, image: app, imageID: "", ready: true, started: true, restartCount: 0, state: {running: {startedAt: "2026-11-23T09:00:00Z"}}}
  ephemeralContainerStatuses:
  - {name: debugger-1, image: busybox, imageID: "", ready: false, restartCount: 0, state: {terminated: {exitCode: 0, reason: Completed}}}
  - {name: debugger-2, image: busybox, imageID: "", ready: false, restartCount: 0, state: {terminated: {exitCode: 127, reason: Error}}}
"#,
    )
    .expect("pod parses");
    let r = analyse(&pod, &[], &Logs::default(), &Extra::default());
    let types: Vec<(&str, ContainerType)> = r
        .containers
        .iter()
        .map(|c| (c.name.as_str(), c.type_))
        .collect();
    assert_eq!(
        types,
        vec![
            ("proxy", ContainerType::Init),
            ("app", ContainerType::App),
            ("debugger-1", ContainerType::Ephemeral),
            ("debugger-2", ContainerType::Ephemeral),
        ]
    );
    // A native sidecar that exits 0 is restarted: it was expected to keep running.
    let v = blamed(&r, "proxy", Cause::CompletedUnexpectedly);
    has(&evidence(v), "sidecar");
    assert!(container(&r, "debugger-1").verdict.is_none());
    blamed(&r, "debugger-2", Cause::CommandNotFound);
    // The sidecar's crash loop is a failure even though the app is ready.
    assert!(!r.healthy);
    assert!(r.has_findings());
}

#[test]
fn absurd_numbers_do_not_panic() {
    let text = std::fs::read_to_string(format!(
        "{}/tests/fixtures/explain/grace-prestop.yaml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("fixture")
    .replace(
        "deletionGracePeriodSeconds: 30",
        "deletionGracePeriodSeconds: 9223372036854775807",
    )
    .replace("sleep 45", "sleep 99999999999999999999")
    .replace("exitCode: 137", "exitCode: -2147483648");
    let l = offline::parse(&text, "absurd").expect("parses");
    let r = analyse(&l.pods[0], &l.events, &Logs::default(), &Extra::default());
    assert!(!r.containers.is_empty());
    let text = text.replace(
        "exec: {command: [sh, -c, \"sleep 99999999999999999999\"]}",
        "sleep: {seconds: 9223372036854775807}",
    );
    let l = offline::parse(&text, "absurd").expect("parses");
    let _ = analyse(&l.pods[0], &l.events, &Logs::default(), &Extra::default());
}

#[test]
fn a_truncated_termination_message_is_flagged() {
    let mut l = load("app-error.yaml");
    let big = "x".repeat(4096);
    if let Some(t) = l.pods[0]
        .status
        .as_mut()
        .and_then(|s| s.container_statuses.as_mut())
        .and_then(|c| c.first_mut())
        .and_then(|c| c.last_state.as_mut())
        .and_then(|s| s.terminated.as_mut())
    {
        t.message = Some(big);
    }
    let r = analyse(&l.pods[0], &[], &Logs::default(), &Extra::default());
    has(&evidence(verdict_of(&r, "orders")), "looks truncated");
}

#[test]
fn healthy_pod_and_container_filter() {
    let r = report("healthy.yaml");
    assert!(r.healthy);
    assert_eq!(r.ready, "2/2");
    let l = load("multi-container.yaml");
    let extra = Extra {
        container: Some("segv".into()),
        ..Default::default()
    };
    let r = analyse(&l.pods[0], &[], &Logs::default(), &extra);
    assert_eq!(r.containers.len(), 1);
    assert_eq!(r.containers[0].name, "segv");
}
