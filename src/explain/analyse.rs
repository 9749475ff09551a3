//! The pure core: a pod, its events, its log tails and a little context in, one [`PodReport`] out.
//! No I/O here; live mode and offline `-f` mode both end up in [`analyse`].
//!
//! The verdict for a container comes from a timeline: the instance's start and finish, the events
//! that happened during its life (Killing with its message, Unhealthy counts, hook failures,
//! ExceededGracePeriod), the pod's deletion time and grace period, and only then the exit code.

use std::collections::BTreeMap;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{
    ContainerState, ContainerStateTerminated, ContainerStatus, Node, Pod,
};

use super::events::{self, EventRecord};
use super::facts::{self, SpecFacts};
use super::model::*;

/// Log tails per container name.
#[derive(Debug, Clone, Default)]
pub struct Logs {
    /// Of the previous instance (`kubectl logs --previous`), for restarted containers.
    pub previous: BTreeMap<String, Vec<String>>,
    /// Of the current instance, for containers that terminated and were not restarted.
    pub current: BTreeMap<String, Vec<String>>,
}

/// What the gather step learned besides the pod, events and logs.
#[derive(Debug, Clone, Default)]
pub struct Extra {
    /// Whether events could be read at all (false: forbidden, or a file without events).
    pub events_available: bool,
    pub node: Option<NodeFacts>,
    pub owner: Option<OwnerFacts>,
    /// Notes from gathering (degraded sections).
    pub notes: Vec<String>,
    /// `-c`: only this container.
    pub container: Option<String>,
}

/// The node's conditions, when the node matters.
#[derive(Debug, Clone, Default)]
pub struct NodeFacts {
    pub name: String,
    /// False when the node object no longer exists.
    pub exists: bool,
    /// The Ready condition's status (`True`, `False`, `Unknown`).
    pub ready: Option<String>,
    pub ready_reason: Option<String>,
    pub ready_message: Option<String>,
    /// Pressure conditions that are True (`MemoryPressure`, …).
    pub pressure: Vec<String>,
}

impl NodeFacts {
    pub fn from_node(n: &Node) -> NodeFacts {
        let mut f = NodeFacts {
            name: n.metadata.name.clone().unwrap_or_default(),
            exists: true,
            ..Default::default()
        };
        for c in n
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .into_iter()
            .flatten()
        {
            if c.type_ == "Ready" {
                f.ready = Some(c.status.clone());
                f.ready_reason = c.reason.clone();
                f.ready_message = c.message.clone();
            } else if c.status == "True" {
                f.pressure.push(c.type_.clone());
            }
        }
        f
    }

    pub fn missing(name: &str) -> NodeFacts {
        NodeFacts {
            name: name.to_string(),
            exists: false,
            ..Default::default()
        }
    }
}

/// The owning workload, when it explains something (a Job's deadline).
#[derive(Debug, Clone, Default)]
pub struct OwnerFacts {
    pub kind: String,
    pub name: String,
    /// A Job's `Failed` condition reason and message (`DeadlineExceeded`, `BackoffLimitExceeded`).
    pub failed_reason: Option<String>,
    pub failed_message: Option<String>,
}

struct Ctx<'a> {
    pod: &'a Pod,
    events: Vec<EventRecord>,
    extra: &'a Extra,
    restart_policy: String,
    grace: i64,
    /// When deletion was requested (deletionTimestamp − deletionGracePeriodSeconds) and that grace.
    deletion: Option<(i64, i64)>,
}

/// Explains one pod. `events` may hold events of other objects too: only this pod's are used.
pub fn analyse(pod: &Pod, events_in: &[EventRecord], logs: &Logs, extra: &Extra) -> PodReport {
    let meta = &pod.metadata;
    let namespace = meta.namespace.clone().unwrap_or_else(|| "default".into());
    let name = meta.name.clone().unwrap_or_default();
    let uid = meta.uid.clone().unwrap_or_default();
    let (events, recreated) = events::for_pod(
        events_in,
        &namespace,
        &name,
        Some(uid.as_str()).filter(|u| !u.is_empty()),
    );
    let spec = pod.spec.as_ref();
    let status = pod.status.as_ref();
    let grace = spec
        .and_then(|s| s.termination_grace_period_seconds)
        .unwrap_or(30);
    let deletion = meta.deletion_timestamp.as_ref().map(|d| {
        let g = meta.deletion_grace_period_seconds.unwrap_or(grace);
        (d.0.as_second().saturating_sub(g), g)
    });
    let ctx = Ctx {
        pod,
        events,
        extra,
        restart_policy: spec
            .and_then(|s| s.restart_policy.clone())
            .unwrap_or_else(|| "Always".into()),
        grace,
        deletion,
    };

    let mut containers = Vec::new();
    let statuses = |v: Option<&Vec<ContainerStatus>>| v.cloned().unwrap_or_default();
    let init_st = statuses(status.and_then(|s| s.init_container_statuses.as_ref()));
    let app_st = statuses(status.and_then(|s| s.container_statuses.as_ref()));
    let eph_st = statuses(status.and_then(|s| s.ephemeral_container_statuses.as_ref()));
    let mut push = |name: &str, ctype: ContainerType, st: Option<&ContainerStatus>| {
        if extra.container.as_deref().is_some_and(|c| c != name) {
            return;
        }
        let spec = SpecFacts::find(pod, name).unwrap_or_default();
        containers.push(container_report(&ctx, name, ctype, &spec, st, logs));
    };
    if let Some(s) = spec {
        for c in s.init_containers.iter().flatten() {
            push(
                &c.name,
                ContainerType::Init,
                init_st.iter().find(|x| x.name == c.name),
            );
        }
        for c in &s.containers {
            push(
                &c.name,
                ContainerType::App,
                app_st.iter().find(|x| x.name == c.name),
            );
        }
        for c in s.ephemeral_containers.iter().flatten() {
            push(
                &c.name,
                ContainerType::Ephemeral,
                eph_st.iter().find(|x| x.name == c.name),
            );
        }
    } else {
        for st in &init_st {
            push(&st.name, ContainerType::Init, Some(st));
        }
        for st in &app_st {
            push(&st.name, ContainerType::App, Some(st));
        }
    }

    let verdict = pod_verdict(&ctx, &containers);
    if let Some(pv) = &verdict {
        settle_under_pod_verdict(pv, &mut containers);
    }
    let mut notes = extra.notes.clone();
    if recreated {
        notes.push(format!(
            "the pod was deleted and recreated with the same name: events of the earlier pod are not counted (this pod's uid is {uid})"
        ));
    }
    let restarts: i32 = app_st
        .iter()
        .chain(init_st.iter())
        .map(|s| s.restart_count)
        .sum();
    let had_trouble =
        restarts > 0 || containers.iter().any(|c| c.verdict.is_some()) || verdict.is_some();
    if extra.events_available && ctx.events.is_empty() && had_trouble {
        notes.push(
            "no events for this pod: events expire after about an hour, so the verdict rests on the pod's status alone"
                .into(),
        );
    }
    if let Some((req, g)) = ctx.deletion {
        notes.push(format!(
            "the pod is being deleted: requested at {} with a grace period of {g}s",
            ts_text(req)
        ));
    }

    let phase = status
        .and_then(|s| s.phase.clone())
        .unwrap_or_else(|| "Unknown".into());
    let app_total = spec.map(|s| s.containers.len()).unwrap_or(app_st.len());
    let app_ready = app_st.iter().filter(|s| s.ready).count();
    let worst = verdict
        .iter()
        .chain(containers.iter().filter_map(|c| c.verdict.as_ref()))
        .map(|v| v.severity)
        .max();
    let pod_ready = cond(pod, "Ready").is_none_or(|c| c.status == "True");
    let healthy = worst.is_none_or(|s| s == Severity::Info)
        && (phase == "Succeeded" || (phase == "Running" && app_ready == app_total && pod_ready));

    let event_summaries = ctx
        .events
        .iter()
        .rev()
        .take(20)
        .rev()
        .map(|e| EventSummary {
            type_: e.type_.clone(),
            reason: e.reason.clone(),
            message: e.message.clone(),
            count: e.count,
            first_seen: e.first.map(facts::fmt_time),
            last_seen: e.last.map(facts::fmt_time),
            container: e.container(),
        })
        .collect();

    PodReport {
        namespace,
        name,
        uid,
        phase,
        node: spec.and_then(|s| s.node_name.clone()),
        owner: extra
            .owner
            .as_ref()
            .map(|o| format!("{}/{}", o.kind, o.name))
            .or_else(|| crate::meta::controller_of(meta).map(|o| format!("{}/{}", o.kind, o.name)))
            .map(|o| deployment_of(&o, meta.labels.as_ref())),
        ready: format!("{app_ready}/{app_total}"),
        restarts,
        healthy,
        verdict,
        containers,
        events: event_summaries,
        notes,
    }
}

/// When the whole pod was removed (evicted, preempted, node shutdown, …), a container that died of
/// SIGTERM or an unexplained SIGKILL, or that the runtime lost, was stopped as part of that: the pod's
/// verdict is the cause, and the container only says how it went.
fn settle_under_pod_verdict(pv: &Verdict, containers: &mut [ContainerReport]) {
    if matches!(pv.cause, Cause::InitFailed | Cause::Unschedulable) {
        return;
    }
    for c in containers.iter_mut() {
        let Some(v) = &c.verdict else { continue };
        if !matches!(
            v.cause,
            Cause::Sigterm | Cause::Unclear | Cause::ContainerLost
        ) {
            continue;
        }
        let mut evidence = v.evidence.clone();
        evidence
            .retain(|e| !e.starts_with("no Killing event") && !e.starts_with("events could not"));
        c.verdict = Some(verdict(
            Cause::Stopped,
            Severity::Info,
            format!("stopped as part of the pod's removal ({})", pv.cause.id()),
            evidence,
            "see the pod's verdict",
        ));
    }
}

/// `ReplicaSet/web-7d4b9c` with label `pod-template-hash: 7d4b9c` → `Deployment/web`.
fn deployment_of(owner: &str, labels: Option<&BTreeMap<String, String>>) -> String {
    let Some(rs) = owner.strip_prefix("ReplicaSet/") else {
        return owner.to_string();
    };
    match labels.and_then(|l| l.get("pod-template-hash")) {
        Some(hash) => match rs.strip_suffix(&format!("-{hash}")) {
            Some(deploy) if !deploy.is_empty() => format!("Deployment/{deploy}"),
            _ => owner.to_string(),
        },
        None => owner.to_string(),
    }
}

fn ts_text(secs: i64) -> String {
    Timestamp::from_second(secs)
        .map(|t| t.to_string())
        .unwrap_or_else(|_| secs.to_string())
}

fn secs(t: &Option<k8s_openapi::apimachinery::pkg::apis::meta::v1::Time>) -> Option<i64> {
    t.as_ref().map(|t| t.0.as_second())
}

fn termination_info(t: &ContainerStateTerminated) -> Termination {
    // A runtime that never started the process reports the epoch as startedAt.
    let started = secs(&t.started_at).filter(|s| *s > 0);
    let finished = secs(&t.finished_at);
    Termination {
        reason: t.reason.clone().filter(|r| !r.is_empty()),
        exit_code: t.exit_code,
        signal: facts::exit_signal(t.exit_code, t.signal),
        started_at: t.started_at.as_ref().map(|x| facts::fmt_time(x.0)),
        finished_at: t.finished_at.as_ref().map(|x| facts::fmt_time(x.0)),
        ran_for_seconds: match (started, finished) {
            (Some(s), Some(f)) if f >= s => Some(f - s),
            _ => None,
        },
        message: t.message.clone().filter(|m| !m.trim().is_empty()),
    }
}

fn state_info(s: Option<&ContainerState>) -> StateInfo {
    let Some(s) = s else {
        return StateInfo {
            state: "unknown".into(),
            ..Default::default()
        };
    };
    if let Some(w) = &s.waiting {
        StateInfo {
            state: "waiting".into(),
            reason: w.reason.clone(),
            message: w.message.clone(),
            ..Default::default()
        }
    } else if let Some(r) = &s.running {
        StateInfo {
            state: "running".into(),
            started_at: r.started_at.as_ref().map(|t| facts::fmt_time(t.0)),
            ..Default::default()
        }
    } else if let Some(t) = &s.terminated {
        StateInfo {
            state: "terminated".into(),
            reason: t.reason.clone(),
            message: t.message.clone(),
            started_at: t.started_at.as_ref().map(|x| facts::fmt_time(x.0)),
            termination: Some(termination_info(t)),
        }
    } else {
        StateInfo {
            state: "unknown".into(),
            ..Default::default()
        }
    }
}

fn describe_exit(t: &ContainerStateTerminated) -> String {
    let info = termination_info(t);
    let mut s = format!("exit code {}", t.exit_code);
    if let Some(sig) = &info.signal {
        s.push_str(&format!(" ({sig})"));
    }
    if let Some(r) = &info.reason {
        s.push_str(&format!(", reason {r}"));
    }
    if let Some(ran) = info.ran_for_seconds {
        s.push_str(&format!(", after running {}", facts::human_secs(ran)));
    }
    if let Some(f) = &info.finished_at {
        s.push_str(&format!(", finished {f}"));
    }
    s
}

fn verdict(
    cause: Cause,
    severity: Severity,
    summary: impl Into<String>,
    evidence: Vec<String>,
    action: impl Into<String>,
) -> Verdict {
    Verdict {
        cause,
        severity,
        summary: summary.into(),
        evidence,
        action: action.into(),
    }
}

/// True when an event overlaps an instance's life `[started − 2s, finished + 5s]` (or times are unknown).
fn in_window(e: &EventRecord, started: Option<i64>, finished: Option<i64>) -> bool {
    let first = e.first.or(e.last).map(|t| t.as_second());
    let last = e.last.or(e.first).map(|t| t.as_second());
    let (Some(first), Some(last)) = (first, last) else {
        return true;
    };
    started.is_none_or(|s| last >= s - 2) && finished.is_none_or(|f| first <= f + 5)
}

fn event_line(e: &EventRecord) -> String {
    let count = if e.count > 1 {
        format!(" (x{})", e.count)
    } else {
        String::new()
    };
    let when = e
        .last
        .map(|t| format!(" at {}", facts::fmt_time(t)))
        .unwrap_or_default();
    format!("event {}{count}{when}: {}", e.reason, e.message)
}

fn count(evs: &[&EventRecord]) -> i32 {
    evs.iter().map(|e| e.count).sum()
}

fn container_report(
    ctx: &Ctx,
    name: &str,
    ctype: ContainerType,
    spec: &SpecFacts,
    st: Option<&ContainerStatus>,
    logs: &Logs,
) -> ContainerReport {
    let state = state_info(st.and_then(|s| s.state.as_ref()));
    let last_t = st
        .and_then(|s| s.last_state.as_ref())
        .and_then(|s| s.terminated.as_ref());
    let cur_t = st
        .and_then(|s| s.state.as_ref())
        .and_then(|s| s.terminated.as_ref());
    let restart_count = st.map(|s| s.restart_count).unwrap_or(0);
    let waiting = st
        .and_then(|s| s.state.as_ref())
        .and_then(|s| s.waiting.as_ref());
    let back_off = waiting
        .filter(|w| w.reason.as_deref() == Some("CrashLoopBackOff"))
        .map(|w| {
            w.message
                .as_deref()
                .and_then(parse_back_off)
                .unwrap_or_else(|| expected_back_off(restart_count))
        });
    let (log_lines, logs_from) =
        if let Some(l) = logs.previous.get(name).filter(|_| last_t.is_some()) {
            (l.clone(), Some("previous".to_string()))
        } else if let Some(l) = logs.current.get(name) {
            (l.clone(), Some("current".to_string()))
        } else {
            (Vec::new(), None)
        };
    let cev: Vec<&EventRecord> = ctx
        .events
        .iter()
        .filter(|e| e.is_for_container(name))
        .collect();

    let mut v: Option<Verdict> = None;
    if let Some(w) = waiting {
        let reason = w.reason.clone().unwrap_or_default();
        let msg = w.message.clone().unwrap_or_default();
        v = match reason.as_str() {
            "ErrImagePull" | "ImagePullBackOff" | "InvalidImageName" | "ErrImageNeverPull" => {
                Some(image_pull(spec, st, &reason, &msg, &cev))
            }
            "CreateContainerConfigError" => Some(config_error(&msg)),
            "CreateContainerError" => Some(verdict(
                Cause::CreateError,
                Severity::Failure,
                format!("the runtime cannot create the container: {}", nonempty(&msg, "no message")),
                vec![format!("waiting: CreateContainerError: {msg}")],
                "fix what the message names (a duplicate name, a bad volume or device, a missing file in a subPath mount)",
            )),
            "RunContainerError" | "StartError" | "ContainerCannotRun" => {
                let mut ev = vec![format!("waiting: {reason}: {msg}")];
                if let Some(t) = last_t {
                    ev.push(format!("last attempt: {}", describe_exit(t)));
                    if let Some(m) = t.message.as_deref().filter(|m| !m.is_empty()) {
                        ev.push(format!("runtime message: {m}"));
                    }
                }
                Some(verdict(
                    Cause::StartError,
                    Severity::Failure,
                    format!("the runtime cannot start the process: {}", nonempty(&msg, "no message")),
                    ev,
                    start_error_action(&msg),
                ))
            }
            _ => None,
        };
        if v.is_none() {
            if let Some(t) = last_t {
                v = termination_verdict(ctx, name, ctype, spec, t, true, &log_lines);
            }
        }
        if v.is_none() {
            let mounts: Vec<&EventRecord> = ctx
                .events
                .iter()
                .filter(|e| e.reason == "FailedMount" || e.reason == "FailedAttachVolume")
                .collect();
            if let Some(last) = mounts.last() {
                v = Some(verdict(
                    Cause::MountFailed,
                    Severity::Failure,
                    format!("a volume cannot be mounted: {}", last.message),
                    mounts.iter().map(|e| event_line(e)).collect(),
                    "create the missing Secret/ConfigMap/PVC, or fix the volume definition; `kubectl describe pvc` for claims",
                ));
            } else if reason == "CrashLoopBackOff" {
                v = Some(verdict(
                    Cause::Unclear,
                    Severity::Failure,
                    "the container is in a crash loop, but its last termination is not recorded",
                    vec![format!("waiting: CrashLoopBackOff: {msg}")],
                    format!("read `kubectl logs {} -c {name} --previous`", pod_name(ctx)),
                ));
            }
        }
    } else if let Some(t) = cur_t {
        v = termination_verdict(ctx, name, ctype, spec, t, false, &log_lines);
    } else if let Some(t) = last_t {
        v = termination_verdict(ctx, name, ctype, spec, t, true, &log_lines);
    }

    // Still running while the pod is being deleted: say what the kubelet is doing and what to expect.
    if v.is_none() {
        if let (Some((req, grace)), Some(Some(since))) = (ctx.deletion, running_since_of(st)) {
            if since <= req + grace {
                v = Some(terminating_verdict(name, spec, &cev, req, grace));
            }
        }
    }

    // Running but not ready: readiness (never restarts) or a startup probe still failing.
    let running_since = st
        .and_then(|s| s.state.as_ref())
        .and_then(|s| s.running.as_ref())
        .map(|r| secs(&r.started_at));
    if let Some(since) = running_since {
        let ready = st.is_some_and(|s| s.ready);
        let started = st.and_then(|s| s.started);
        let current: Vec<&EventRecord> = cev
            .iter()
            .copied()
            .filter(|e| in_window(e, since, None))
            .collect();
        let readiness: Vec<&EventRecord> = current
            .iter()
            .copied()
            .filter(|e| e.reason == "Unhealthy" && e.message.starts_with("Readiness probe"))
            .collect();
        let startup: Vec<&EventRecord> = current
            .iter()
            .copied()
            .filter(|e| e.reason == "Unhealthy" && e.message.starts_with("Startup probe"))
            .collect();
        if !ready && ctype == ContainerType::App && ctx.deletion.is_none() {
            let extra_v = if started == Some(false) && !startup.is_empty() {
                let mut ev: Vec<String> = startup.iter().map(|e| event_line(e)).collect();
                if let Some(p) = &spec.startup {
                    ev.push(format!("startup probe: {}", facts::probe_text(p)));
                }
                Some(verdict(
                    Cause::StartupProbe,
                    Severity::Warning,
                    format!(
                        "the startup probe has not succeeded yet ({} failures): the container is not started, and will be restarted when the probe gives up",
                        count(&startup)
                    ),
                    ev,
                    "check that the probe's port and path are right; give slow starts more time (failureThreshold × periodSeconds)",
                ))
            } else if !readiness.is_empty() {
                let mut ev: Vec<String> = readiness.iter().map(|e| event_line(e)).collect();
                if let Some(p) = &spec.readiness {
                    ev.push(format!("readiness probe: {}", facts::probe_text(p)));
                }
                ev.push("readiness failures remove the pod from Service endpoints; they never restart the container".into());
                Some(verdict(
                    Cause::ReadinessProbe,
                    Severity::Warning,
                    format!(
                        "not ready: the readiness probe fails ({} failures); the pod gets no traffic",
                        count(&readiness)
                    ),
                    ev,
                    "fix what the probe checks (the app's health endpoint, a dependency it waits for), or the probe's port/path",
                ))
            } else if v.is_none()
                && ctx.pod.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running")
            {
                Some(verdict(
                    Cause::Unclear,
                    Severity::Warning,
                    "running but not ready, and no probe failure is recorded",
                    vec![if ctx.extra.events_available {
                        "no Unhealthy events for this container (they may have expired)".into()
                    } else {
                        "events could not be read".into()
                    }],
                    format!(
                        "check the readiness probe with `kubectl describe pod {}` and the app's log",
                        pod_name(ctx)
                    ),
                ))
            } else {
                None
            };
            match (&mut v, extra_v) {
                (None, e) => v = e,
                (Some(cur), Some(mut e)) => {
                    if cur.severity < e.severity {
                        // A clean stop earlier matters less than what fails now.
                        e.evidence.push(format!("earlier: {}", cur.summary));
                        v = Some(e);
                    } else {
                        cur.evidence.push(format!("now: {}", e.summary));
                    }
                }
                _ => {}
            }
        }
    }

    if let Some(b) = &back_off {
        if let Some(vd) = v.as_mut() {
            vd.evidence.push(format!(
                "{restart_count} restart{}; the kubelet waits {b} before the next start (CrashLoopBackOff)",
                if restart_count == 1 { "" } else { "s" }
            ));
        }
    }

    let termination_message = last_t
        .or(cur_t)
        .and_then(|t| t.message.clone())
        .filter(|m| !m.trim().is_empty());
    ContainerReport {
        name: name.to_string(),
        type_: ctype,
        image: st
            .map(|s| s.image.clone())
            .filter(|i| !i.is_empty())
            .or(spec.image.clone()),
        ready: st.is_some_and(|s| s.ready),
        verdict: v,
        state,
        last_termination: last_t.map(termination_info),
        restart_count,
        back_off,
        termination_message,
        logs: log_lines,
        logs_from,
    }
}

fn running_since_of(st: Option<&ContainerStatus>) -> Option<Option<i64>> {
    st.and_then(|s| s.state.as_ref())
        .and_then(|s| s.running.as_ref())
        .map(|r| secs(&r.started_at))
}

/// A container still running in a pod being deleted: where it stands in the stop sequence, and
/// whether it looks likely to be SIGKILLed at the deadline.
fn terminating_verdict(
    name: &str,
    spec: &SpecFacts,
    cev: &[&EventRecord],
    req: i64,
    grace: i64,
) -> Verdict {
    let deadline = req.saturating_add(grace);
    let mut ev = vec![format!(
        "deletion requested at {}; the kubelet sends SIGKILL at {} ({grace}s grace period)",
        ts_text(req),
        ts_text(deadline)
    )];
    if let Some(k) = cev.iter().rev().find(|e| e.reason == "Killing") {
        ev.push(event_line(k));
    }
    for e in cev.iter().filter(|e| e.reason == "FailedPreStopHook") {
        ev.push(event_line(e));
    }
    let mut risks = Vec::new();
    if let Some(p) = spec.pre_stop_seconds() {
        if p >= grace {
            risks.push(format!(
                "the preStop hook ({}) takes {p}s, not less than the {grace}s grace period: it will be killed mid-hook",
                spec.pre_stop_text().unwrap_or_default()
            ));
        } else {
            ev.push(format!(
                "preStop hook ({}) takes about {p}s, then SIGTERM",
                spec.pre_stop_text().unwrap_or_default()
            ));
        }
    }
    if spec.shell_without_exec() == Some(true) {
        risks.push(format!(
            "PID 1 is a shell (`{}`) that does not forward SIGTERM: expect SIGKILL at the deadline",
            spec.command_line()
        ));
    }
    if risks.is_empty() {
        return verdict(
            Cause::Terminating,
            Severity::Info,
            format!("{name} is being stopped: the pod is being deleted"),
            ev,
            "nothing to do unless it is still running after the deadline (then check the node)",
        );
    }
    ev.extend(risks.iter().map(|r| format!("risk: {r}")));
    let action = if spec.shell_without_exec() == Some(true) {
        "start the app with `exec` in the shell command, or use the exec form, so it gets SIGTERM"
    } else {
        "raise terminationGracePeriodSeconds above the preStop pause plus the app's drain time, or shorten the hook"
    };
    verdict(
        Cause::Terminating,
        Severity::Warning,
        format!(
            "{name} is being stopped and will likely be SIGKILLed at the end of the grace period"
        ),
        ev,
        action,
    )
}

fn pod_name(ctx: &Ctx) -> String {
    let n = ctx.pod.metadata.name.clone().unwrap_or_default();
    match &ctx.pod.metadata.namespace {
        Some(ns) => format!("{n} -n {ns}"),
        None => n,
    }
}

fn nonempty<'a>(s: &'a str, default: &'a str) -> &'a str {
    if s.trim().is_empty() {
        default
    } else {
        s
    }
}

/// `back-off 40s restarting failed container=app pod=…` → `40s`.
fn parse_back_off(msg: &str) -> Option<String> {
    let rest = msg.strip_prefix("back-off ")?;
    let d = rest.split_whitespace().next()?;
    Some(d.to_string())
}

fn expected_back_off(restarts: i32) -> String {
    let exp = restarts.clamp(1, 6) - 1;
    let s = (10i64 << exp).min(300);
    format!("~{}", facts::human_secs(s))
}

fn image_pull(
    spec: &SpecFacts,
    st: Option<&ContainerStatus>,
    reason: &str,
    msg: &str,
    cev: &[&EventRecord],
) -> Verdict {
    let image = spec
        .image
        .clone()
        .or_else(|| st.map(|s| s.image.clone()))
        .unwrap_or_default();
    let mut ev = vec![format!(
        "waiting: {reason}: {}",
        nonempty(msg, "(no message)")
    )];
    let failed: Vec<&&EventRecord> = cev
        .iter()
        .filter(|e| e.reason == "Failed" && e.message.to_lowercase().contains("pull"))
        .collect();
    for e in failed.iter().rev().take(2).rev() {
        ev.push(event_line(e));
    }
    // The most telling text: the longest of the waiting message and the pull failures
    // ("Error: ImagePullBackOff" says less than "… rpc error: code = NotFound …").
    let registry_msg = failed
        .iter()
        .map(|e| e.message.as_str())
        .chain(std::iter::once(msg))
        .max_by_key(|m| m.len())
        .unwrap_or(msg)
        .to_string();
    let low = registry_msg.to_lowercase();
    let action = if low.contains("not found") || low.contains("manifest unknown") {
        "the image or tag does not exist: fix the name/tag (check it with `docker manifest inspect`)"
    } else if low.contains("unauthorized")
        || low.contains("denied")
        || low.contains("authentication")
        || low.contains("403")
    {
        "the registry refuses access: add or fix imagePullSecrets (or the node's registry credentials)"
    } else if reason == "InvalidImageName" {
        "the image reference is malformed: fix spec.containers[].image"
    } else {
        "check the image name, tag and registry reachability from the node; private registries need imagePullSecrets"
    };
    verdict(
        Cause::ImagePull,
        Severity::Failure,
        format!("the image {image} cannot be pulled"),
        ev,
        action,
    )
}

fn config_error(msg: &str) -> Verdict {
    // `secret "db" not found`, `configmap "x" not found`, `couldn't find key password in Secret shop/db`
    let what = if let Some(i) = msg.find("couldn't find key ") {
        msg[i..].to_string()
    } else {
        msg.to_string()
    };
    verdict(
        Cause::ConfigError,
        Severity::Failure,
        format!(
            "the container cannot be configured: {}",
            nonempty(&what, "a referenced Secret or ConfigMap is missing")
        ),
        vec![format!("waiting: CreateContainerConfigError: {msg}")],
        "create the missing Secret/ConfigMap (or key) in the pod's namespace, or mark the reference `optional: true`",
    )
}

fn start_error_action(msg: &str) -> String {
    let low = msg.to_lowercase();
    if low.contains("no such file") || low.contains("not found") {
        "the command does not exist in the image: fix command/args or the image".into()
    } else if low.contains("permission denied") {
        "the command is not executable: fix its file mode in the image (chmod +x) or the runAsUser"
            .into()
    } else {
        "fix the container's command, working directory or security context as the runtime message says".into()
    }
}

/// Explains one terminated instance (`lastState` after a restart, or the current `state`).
fn termination_verdict(
    ctx: &Ctx,
    name: &str,
    ctype: ContainerType,
    spec: &SpecFacts,
    t: &ContainerStateTerminated,
    restarted: bool,
    log_lines: &[String],
) -> Option<Verdict> {
    let code = t.exit_code;
    let reason = t.reason.clone().unwrap_or_default();
    let started = secs(&t.started_at).filter(|s| *s > 0);
    let finished = secs(&t.finished_at);
    let exit = describe_exit(t);
    let cev: Vec<&EventRecord> = ctx
        .events
        .iter()
        .filter(|e| e.is_for_container(name) && in_window(e, started, finished))
        .collect();
    let pod_ev: Vec<&EventRecord> = ctx
        .events
        .iter()
        .filter(|e| e.container().is_none() && in_window(e, started, finished))
        .collect();
    let killing = cev.iter().copied().rfind(|e| {
        e.reason == "Killing"
            && match (e.first.or(e.last), finished) {
                (Some(k), Some(f)) => k.as_second() <= f + 1,
                _ => true,
            }
    });
    let unhealthy = |prefix: &str| -> Vec<&EventRecord> {
        cev.iter()
            .copied()
            .filter(|e| e.reason == "Unhealthy" && e.message.starts_with(prefix))
            .collect()
    };
    let liveness = unhealthy("Liveness probe");
    let startup = unhealthy("Startup probe");
    let post_start_fail: Vec<&EventRecord> = cev
        .iter()
        .copied()
        .filter(|e| e.reason == "FailedPostStartHook")
        .collect();
    let pre_stop_fail: Vec<&EventRecord> = cev
        .iter()
        .copied()
        .filter(|e| e.reason == "FailedPreStopHook")
        .collect();
    let exceeded: Vec<&EventRecord> = pod_ev
        .iter()
        .chain(cev.iter())
        .copied()
        .filter(|e| e.reason == "ExceededGracePeriod")
        .collect();
    let kill_msg = killing.map(|k| k.message.clone()).unwrap_or_default();
    let restart_always = match ctype {
        ContainerType::App => ctx.restart_policy == "Always",
        ContainerType::Init => spec.restart_policy.as_deref() == Some("Always"),
        ContainerType::Ephemeral => false,
    };
    let instance = if restarted {
        "the previous instance"
    } else {
        "the container"
    };

    let mut v = if reason == "OOMKilled" {
        let mut ev = vec![format!("{instance}: {exit}")];
        match spec.memory_limit() {
            Some(limit) => {
                ev.push(format!(
                    "memory limit {limit}, request {}",
                    spec.memory_request()
                        .unwrap_or_else(|| "not set (defaults to the limit)".into())
                ));
                verdict(
                    Cause::OomKilled,
                    Severity::Failure,
                    format!("OOMKilled: the container used more than its memory limit of {limit}"),
                    ev,
                    format!("raise resources.limits.memory above the peak use (now {limit}) or reduce the app's memory (heap size, caches, leaks)"),
                )
            }
            None => {
                ev.push("no memory limit is set: the kernel's OOM killer chose this process because the node (or the pod's cgroup) ran out of memory".into());
                verdict(
                    Cause::NodeOom,
                    Severity::Failure,
                    "OOMKilled without a memory limit: the node ran out of memory",
                    ev,
                    "set resources.requests.memory to the real use (so the scheduler reserves it) and a memory limit",
                )
            }
        }
    } else if matches!(reason.as_str(), "ContainerCannotRun" | "StartError") {
        let m = t.message.clone().unwrap_or_default();
        verdict(
            Cause::StartError,
            Severity::Failure,
            format!(
                "the runtime could not start the process: {}",
                nonempty(&m, &reason)
            ),
            vec![format!("{instance}: {exit}")],
            start_error_action(&m),
        )
    } else if reason == "ContainerStatusUnknown" {
        verdict(
            Cause::ContainerLost,
            Severity::Failure,
            "the container could not be located when the pod was terminated (its node or runtime lost it)",
            vec![
                format!("{instance}: {exit}"),
                t.message.clone().unwrap_or_default(),
            ]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect(),
            "check the node's health (`kubectl describe node`); the exit code 137 here is set by the kubelet, not a real kill",
        )
    } else if reason == "DeadlineExceeded" {
        verdict(
            Cause::DeadlineExceeded,
            Severity::Failure,
            "stopped because the pod's activeDeadlineSeconds ran out",
            vec![format!("{instance}: {exit}")],
            "raise activeDeadlineSeconds, or make the work finish sooner",
        )
    } else if !post_start_fail.is_empty() || kill_msg.contains("FailedPostStartHook") {
        let mut ev: Vec<String> = post_start_fail.iter().map(|e| event_line(e)).collect();
        if let Some(k) = killing {
            ev.push(event_line(k));
        }
        if let Some(h) = &spec.post_start {
            ev.push(format!("postStart hook: {}", facts::handler_text(h)));
        }
        ev.push(format!("{instance}: {exit}"));
        verdict(
            Cause::PostStartHook,
            Severity::Failure,
            "the postStart hook failed, so the kubelet killed the container",
            ev,
            "fix the postStart hook (run it by hand with `kubectl exec`), or move the work into the entry point",
        )
    } else if kill_msg.contains("failed liveness probe")
        || (killing.is_none()
            && matches!(code, 137 | 143)
            && count(&liveness)
                >= spec
                    .liveness
                    .as_ref()
                    .and_then(|p| p.failure_threshold)
                    .unwrap_or(3))
    {
        let mut ev: Vec<String> = liveness
            .iter()
            .rev()
            .take(3)
            .rev()
            .map(|e| event_line(e))
            .collect();
        match killing {
            Some(k) => ev.push(event_line(k)),
            None => ev.push(
                "the Killing event is gone; the Unhealthy events point at the liveness probe"
                    .into(),
            ),
        }
        ev.push(format!("{instance}: {exit}"));
        if let Some(p) = &spec.liveness {
            ev.push(format!("liveness probe: {}", facts::probe_text(p)));
            if let Some(r) = &spec.readiness {
                if facts::same_probe(p, r) {
                    ev.push("the liveness probe is the same as the readiness probe: a busy or slow app gets restarted instead of only taken out of traffic".into());
                }
            }
        }
        verdict(
            Cause::LivenessProbe,
            Severity::Failure,
            format!(
                "restarted by the kubelet because the liveness probe failed ({} failures recorded)",
                count(&liveness).max(1)
            ),
            ev,
            "fix what the probe checks, or loosen it (timeoutSeconds, failureThreshold, a startupProbe for slow starts); a liveness probe should not depend on other services",
        )
    } else if kill_msg.contains("failed startup probe")
        || (killing.is_none() && !startup.is_empty() && matches!(code, 137 | 143 | 0))
    {
        let mut ev: Vec<String> = startup
            .iter()
            .rev()
            .take(3)
            .rev()
            .map(|e| event_line(e))
            .collect();
        if let Some(k) = killing {
            ev.push(event_line(k));
        }
        ev.push(format!("{instance}: {exit}"));
        let mut budget = String::new();
        if let Some(p) = &spec.startup {
            ev.push(format!("startup probe: {}", facts::probe_text(p)));
            let total = p.failure_threshold.unwrap_or(3) as i64
                * p.period_seconds.unwrap_or(10) as i64
                + p.initial_delay_seconds.unwrap_or(0) as i64;
            budget = format!(" within {}", facts::human_secs(total));
        }
        verdict(
            Cause::StartupProbe,
            Severity::Failure,
            format!("the startup probe never succeeded{budget}, so the kubelet restarted the container"),
            ev,
            "check the probe's port/path, or give the app more time to start (raise failureThreshold × periodSeconds)",
        )
    } else if let Some(stop) = stop_time(ctx, killing, finished) {
        stopped_verdict(
            spec,
            t,
            &exit,
            killing,
            stop,
            &pre_stop_fail,
            &exceeded,
            instance,
        )
    } else if code == 0 {
        if !restart_always {
            return None;
        }
        let what = if ctype == ContainerType::Init {
            "this sidecar (an init container with restartPolicy Always)"
        } else {
            "this container (the pod's restartPolicy is Always)"
        };
        verdict(
            Cause::CompletedUnexpectedly,
            Severity::Failure,
            "the process exited 0: it finished, where a long-running server was expected",
            vec![
                format!("{instance}: {exit}"),
                format!("{what} is restarted whenever it exits, even successfully"),
                format!("command: {}", nonempty(&spec.command_line(), "(the image's entry point)")),
            ],
            "make the command run in the foreground (no daemonising, no `&`), or run one-off work as a Job",
        )
    } else if code == 126 {
        verdict(
            Cause::NotExecutable,
            Severity::Failure,
            "exit 126: the command is not executable",
            vec![
                format!("{instance}: {exit}"),
                format!(
                    "command: {}",
                    nonempty(&spec.command_line(), "(the image's entry point)")
                ),
            ],
            "make the file executable in the image (chmod +x), or check the user it runs as",
        )
    } else if code == 127 {
        verdict(
            Cause::CommandNotFound,
            Severity::Failure,
            "exit 127: the command was not found",
            vec![
                format!("{instance}: {exit}"),
                format!(
                    "command: {}",
                    nonempty(&spec.command_line(), "(the image's entry point)")
                ),
            ],
            "fix command/args (a typo, a missing binary, or PATH) or use an image that has it",
        )
    } else if code == 137 {
        let mut ev = vec![
            format!("{instance}: {exit}"),
            format!(
                "reason is {}, not OOMKilled: this is not the memory limit",
                nonempty(&reason, "empty")
            ),
        ];
        if ctx.extra.events_available {
            ev.push("no Killing event during this instance's life: the kubelet did not stop it (unless the event expired)".into());
        } else {
            ev.push("events could not be read: a Killing event would tell whether the kubelet stopped it".into());
        }
        verdict(
            Cause::Unclear,
            Severity::Failure,
            "killed by SIGKILL (exit 137), cause not recorded",
            ev,
            "check for `kill -9` in the app or a supervisor, the node's kernel log (OOM outside the container's cgroup), and whether the pod was being deleted",
        )
    } else if code == 143 {
        verdict(
            Cause::Sigterm,
            Severity::Failure,
            "exit 143: the process died of SIGTERM without the kubelet stopping it",
            vec![
                format!("{instance}: {exit}"),
                "no Killing event and no pod deletion during this instance's life".into(),
            ],
            "find what sent SIGTERM (a process manager, a script's `kill`, a timeout wrapper); handle SIGTERM in the app to exit cleanly",
        )
    } else if let Some(sig) = facts::exit_signal(code, t.signal) {
        let what = match code {
            134 => "aborted (SIGABRT: a failed assertion, abort(), or a runtime's fatal error)",
            139 => "crashed with a segmentation fault (SIGSEGV: a native bug, bad memory access, or an incompatible native library)",
            135 => "crashed with a bus error (SIGBUS)",
            136 => "crashed with an arithmetic error (SIGFPE)",
            130 => "interrupted (SIGINT)",
            _ => "killed by a signal",
        };
        verdict(
            Cause::Signal,
            Severity::Failure,
            format!("exit {code}: the process {what}"),
            vec![format!("{instance}: {exit}"), format!("signal: {sig}")],
            "read the log before the crash; for native crashes check the image's libraries and architecture",
        )
    } else {
        let meaning = match code {
            1 => " (a generic error, e.g. an uncaught exception)",
            2 => " (a Go panic, or a shell usage error)",
            255 => " (often exit(-1))",
            _ => "",
        };
        // The last line of the termination message, else the last log line that looks like an error.
        let m = t
            .message
            .as_deref()
            .and_then(|m| m.lines().rev().find(|l| !l.trim().is_empty()))
            .map(str::to_string)
            .or_else(|| facts::error_lines(log_lines, 1).pop())
            .map(|l| format!(": {}", l.trim()))
            .unwrap_or_default();
        verdict(
            Cause::AppError,
            Severity::Failure,
            format!("the application exited with code {code}{meaning}{m}"),
            vec![format!("{instance}: {exit}")],
            "fix the error the application reports (see the termination message and log below)",
        )
    };

    // Shared evidence: the termination message and the log lines that look like the error.
    let msg = t.message.clone().unwrap_or_default();
    let app_like = matches!(
        v.cause,
        Cause::AppError
            | Cause::Signal
            | Cause::Unclear
            | Cause::Sigterm
            | Cause::NotExecutable
            | Cause::CommandNotFound
            | Cause::CompletedUnexpectedly
    );
    if !msg.trim().is_empty() {
        let bytes = msg.len();
        let lines = msg.lines().count();
        let policy = spec.message_policy();
        if bytes >= 4096 || (policy == "FallbackToLogsOnError" && (bytes >= 2048 || lines >= 80)) {
            v.evidence.push(format!(
                "the termination message looks truncated ({bytes} bytes, {lines} lines: the kubelet keeps at most 4096 bytes of the file, 2048 bytes or 80 lines of a log fallback)"
            ));
        }
    } else if code != 0 && app_like && spec.message_policy() == "File" {
        v.evidence.push(
            "no termination message: terminationMessagePolicy is File and the app wrote nothing to its termination-log file".into(),
        );
        v.action.push_str(
            "; set terminationMessagePolicy: FallbackToLogsOnError so the next crash leaves its log tail in the status",
        );
    }
    if app_like || v.cause == Cause::OomKilled {
        for l in facts::error_lines(log_lines, 3) {
            v.evidence.push(format!("log: {l}"));
        }
    }
    Some(v)
}

/// When the kubelet began stopping this instance: its Killing event, or the pod's deletion request
/// when the instance ended after it.
fn stop_time(ctx: &Ctx, killing: Option<&EventRecord>, finished: Option<i64>) -> Option<StopAt> {
    if let Some(k) = killing {
        // An aggregated event (count > 1) spans several stops: take the occurrence before the finish.
        let at = match (k.first, k.last, finished) {
            (_, Some(l), Some(f)) if l.as_second() <= f + 1 => Some(l.as_second()),
            (Some(fi), _, _) => Some(fi.as_second()),
            (None, l, _) => l.map(|t| t.as_second()),
        };
        return Some(StopAt {
            at,
            grace: ctx.deletion.map(|d| d.1).unwrap_or(ctx.grace),
            by_deletion: ctx.deletion.is_some() && k.message.starts_with("Stopping container"),
        });
    }
    let (req, g) = ctx.deletion?;
    match finished {
        Some(f) if f + 1 >= req => Some(StopAt {
            at: Some(req),
            grace: g,
            by_deletion: true,
        }),
        _ => None,
    }
}

struct StopAt {
    at: Option<i64>,
    grace: i64,
    by_deletion: bool,
}

#[allow(clippy::too_many_arguments)]
fn stopped_verdict(
    spec: &SpecFacts,
    t: &ContainerStateTerminated,
    exit: &str,
    killing: Option<&EventRecord>,
    stop: StopAt,
    pre_stop_fail: &[&EventRecord],
    exceeded: &[&EventRecord],
    instance: &str,
) -> Verdict {
    let code = t.exit_code;
    let finished = secs(&t.finished_at);
    let grace = stop.grace;
    let mut ev = Vec::new();
    match killing {
        Some(k) => ev.push(event_line(k)),
        None => ev.push(format!(
            "the pod's deletion was requested at {} (deletionTimestamp minus its {grace}s grace period)",
            stop.at.map(ts_text).unwrap_or_default()
        )),
    }
    let elapsed = match (stop.at, finished) {
        (Some(a), Some(f)) => Some(f.saturating_sub(a)),
        _ => None,
    };
    match elapsed {
        Some(e) => ev.push(format!(
            "{instance} ended {} after the stop began: {exit}",
            facts::human_secs(e.max(0))
        )),
        None => ev.push(format!("{instance}: {exit}")),
    }
    for e in pre_stop_fail {
        ev.push(event_line(e));
    }
    for e in exceeded {
        ev.push(event_line(e));
    }
    let why = if stop.by_deletion {
        "the pod was deleted"
    } else if killing.is_some_and(|k| k.message.contains("definition changed")) {
        "its definition changed"
    } else {
        "the kubelet stopped it"
    };
    if code == 137 {
        if let Some(e) = elapsed {
            if e + 3 < grace {
                ev.push(format!("the grace period was {grace}s"));
                return verdict(
                    Cause::Unclear,
                    Severity::Failure,
                    format!(
                        "SIGKILLed {} after the stop began, before the {grace}s grace period ended",
                        facts::human_secs(e.max(0))
                    ),
                    ev,
                    "check for a forced deletion (`--grace-period`/`--force`), a shorter grace period on the delete call, or an OOM kill the runtime did not report",
                );
            }
        }
        ev.push(format!("terminationGracePeriodSeconds: {grace}s"));
        let pre_stop = spec.pre_stop_seconds();
        let (likely, action) = if let Some(p) = pre_stop.filter(|p| *p >= grace) {
            (
                format!(
                    "the preStop hook ({}) takes {p}s, not less than the {grace}s grace period: the container was killed mid-hook before SIGTERM could do its work",
                    spec.pre_stop_text().unwrap_or_default()
                ),
                format!("raise terminationGracePeriodSeconds above the preStop pause plus the app's drain time (e.g. {}), or shorten the hook", p.saturating_add(15)),
            )
        } else if spec.shell_without_exec() == Some(true) {
            (
                format!(
                    "PID 1 is a shell (`{}`) that does not forward SIGTERM, so the app never heard it",
                    spec.command_line()
                ),
                "start the app with `exec` in the shell command (`sh -c 'exec java -jar app.jar'`) or use the exec form [\"java\",\"-jar\",\"app.jar\"]".to_string(),
            )
        } else if spec.shell_without_exec().is_none() {
            (
                "the app did not exit on SIGTERM within the grace period: it ignores SIGTERM, or the image's ENTRYPOINT is shell form and never forwards it".to_string(),
                format!("make the app exit on SIGTERM (check the image's ENTRYPOINT is exec form), or raise terminationGracePeriodSeconds above its real shutdown time (now {grace}s)"),
            )
        } else {
            (
                "the app did not exit on SIGTERM within the grace period: it ignores SIGTERM or shuts down too slowly".to_string(),
                format!("handle SIGTERM in the app (stop accepting, drain, exit), or raise terminationGracePeriodSeconds above its real shutdown time (now {grace}s)"),
            )
        };
        if let Some(p) = pre_stop.filter(|p| *p < grace) {
            ev.push(format!(
                "preStop hook ({}) takes about {p}s of the {grace}s",
                spec.pre_stop_text().unwrap_or_default()
            ));
        }
        ev.push(format!("likely: {likely}"));
        return verdict(
            Cause::GracePeriodExceeded,
            Severity::Failure,
            format!("killed with SIGKILL at the end of the {grace}s grace period after {why}"),
            ev,
            action,
        );
    }
    if !pre_stop_fail.is_empty() {
        if let Some(h) = spec.pre_stop_text() {
            ev.push(format!("preStop hook: {h}"));
        }
        return verdict(
            Cause::PreStopHook,
            Severity::Warning,
            format!("the preStop hook failed when {why}; the app then exited with {code}"),
            ev,
            "fix the preStop hook (does the image have the shell or binary it runs?); the native `lifecycle.preStop.sleep` needs no shell",
        );
    }
    if code == 0 || code == 143 {
        let how = if code == 0 {
            "exited 0 on SIGTERM"
        } else {
            "died of SIGTERM (exit 143: it did not handle the signal, but stopped in time)"
        };
        return verdict(
            Cause::Stopped,
            Severity::Info,
            format!("stopped because {why}; the app shut down on its own ({how})"),
            ev,
            "nothing to fix",
        );
    }
    verdict(
        Cause::AppError,
        Severity::Warning,
        format!("stopped because {why}, and the app exited with {code} while shutting down"),
        ev,
        "check the app's shutdown path (the log of the previous instance)",
    )
}

fn cond<'a>(pod: &'a Pod, type_: &str) -> Option<&'a k8s_openapi::api::core::v1::PodCondition> {
    pod.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == type_)
}

fn pod_verdict(ctx: &Ctx, containers: &[ContainerReport]) -> Option<Verdict> {
    let pod = ctx.pod;
    let status = pod.status.as_ref();
    let reason = status.and_then(|s| s.reason.clone()).unwrap_or_default();
    let message = status.and_then(|s| s.message.clone()).unwrap_or_default();
    let phase = status.and_then(|s| s.phase.clone()).unwrap_or_default();
    let dt = cond(pod, "DisruptionTarget").filter(|c| c.status == "True");
    let dt_reason = dt.and_then(|c| c.reason.clone()).unwrap_or_default();
    let dt_message = dt.and_then(|c| c.message.clone()).unwrap_or_default();
    let mut ev = Vec::new();
    if !reason.is_empty() {
        ev.push(format!("pod status: {reason}: {message}"));
    }
    if dt.is_some() && dt_message.trim() == message.trim() {
        ev.push(format!(
            "condition DisruptionTarget=True, reason {dt_reason}"
        ));
    } else if dt.is_some() {
        ev.push(format!(
            "condition DisruptionTarget=True, reason {dt_reason}: {dt_message}"
        ));
    }
    let pod_events = |r: &str| -> Vec<String> {
        ctx.events
            .iter()
            .filter(|e| e.reason == r)
            .map(event_line)
            .collect()
    };

    if reason == "Evicted"
        || (dt_reason == "TerminationByKubelet" && message.contains("low on resource"))
    {
        ev.extend(pod_events("Evicted"));
        let resource = message
            .split("low on resource: ")
            .nth(1)
            .and_then(|r| r.split(['.', ',']).next())
            .unwrap_or("a resource")
            .trim()
            .to_string();
        if let Some(usage) = eviction_usage(&message) {
            ev.push(usage);
        }
        let action = match resource.as_str() {
            "memory" => "set memory requests to what the containers really use (the kubelet evicts pods using more than they requested first), and limits",
            "ephemeral-storage" => "set ephemeral-storage requests/limits, and write large or growing files to a volume instead of the container's filesystem or logs",
            _ => "set requests to what the pod really uses; check what else fills the node",
        };
        return Some(verdict(
            Cause::Evicted,
            Severity::Failure,
            format!("evicted by the kubelet: the node was low on {resource}"),
            ev,
            action,
        ));
    }
    if reason == "Preempting" || dt_reason == "PreemptionByScheduler" {
        ev.extend(pod_events("Preempted"));
        ev.extend(pod_events("Preempting"));
        return Some(verdict(
            Cause::Preempted,
            Severity::Failure,
            "preempted: removed to make room for a higher-priority pod",
            ev,
            "give this workload a higher PriorityClass, or add capacity so preemption is not needed",
        ));
    }
    if matches!(reason.as_str(), "Terminated" | "Shutdown")
        || message.contains("node shutdown")
        || dt_message.contains("node shutdown")
    {
        return Some(verdict(
            Cause::NodeShutdown,
            Severity::Failure,
            "terminated because its node shut down",
            ev,
            "run more than one replica (spread across nodes) and a PodDisruptionBudget; a controller recreates the pod elsewhere",
        ));
    }
    if dt_reason == "DeletionByTaintManager" {
        ev.extend(pod_events("TaintManagerEviction"));
        return Some(verdict(
            Cause::TaintEviction,
            Severity::Failure,
            "deleted by the taint manager: its node got a NoExecute taint the pod does not tolerate",
            ev,
            "check the node's taints (`kubectl describe node`); add a toleration only if the pod should stay",
        ));
    }
    if dt_reason == "DeletionByPodGC" {
        return Some(verdict(
            Cause::PodGc,
            Severity::Failure,
            "deleted by the pod garbage collector (its node is gone, or it was terminated on a node that went out of service)",
            ev,
            "check what happened to the node; a controller recreates the pod elsewhere",
        ));
    }
    if dt_reason == "EvictionByEvictionAPI" {
        return Some(verdict(
            Cause::ApiEviction,
            Severity::Info,
            "evicted through the Eviction API (a drain, the descheduler, or an autoscaler): a voluntary disruption",
            ev,
            "nothing to fix; a PodDisruptionBudget limits how many pods such evictions take at once",
        ));
    }
    let node_bad = ctx
        .extra
        .node
        .as_ref()
        .filter(|n| !n.exists || n.ready.as_deref().is_some_and(|r| r != "True"));
    if reason == "NodeLost" || phase == "Unknown" || node_bad.is_some() {
        if let Some(n) = node_bad {
            if n.exists {
                ev.push(format!(
                    "node {}: Ready={} {}: {}",
                    n.name,
                    n.ready.clone().unwrap_or_default(),
                    n.ready_reason.clone().unwrap_or_default(),
                    n.ready_message.clone().unwrap_or_default()
                ));
            } else {
                ev.push(format!("node {} no longer exists", n.name));
            }
        }
        ev.extend(pod_events("NodeNotReady"));
        return Some(verdict(
            Cause::NodeLost,
            Severity::Failure,
            "its node went NotReady or disappeared: the pod's real state is unknown",
            ev,
            "check the node (`kubectl describe node`, its kubelet); pods of a controller are replaced after the node's taint timeout",
        ));
    }
    if reason == "DeadlineExceeded"
        || ctx
            .extra
            .owner
            .as_ref()
            .is_some_and(|o| o.failed_reason.as_deref() == Some("DeadlineExceeded"))
    {
        if let Some(o) = &ctx.extra.owner {
            if let Some(r) = &o.failed_reason {
                ev.push(format!(
                    "{} {}: Failed, {r}: {}",
                    o.kind,
                    o.name,
                    o.failed_message.clone().unwrap_or_default()
                ));
            }
        }
        ev.extend(pod_events("DeadlineExceeded"));
        return Some(verdict(
            Cause::DeadlineExceeded,
            Severity::Failure,
            "stopped because activeDeadlineSeconds ran out",
            ev,
            "raise activeDeadlineSeconds (Job or pod), or make the work finish sooner",
        ));
    }
    if phase == "Failed"
        && (reason.starts_with("OutOf")
            || matches!(
                reason.as_str(),
                "UnexpectedAdmissionError"
                    | "NodeAffinity"
                    | "NodeSelectorMismatch"
                    | "NodePorts"
                    | "InvalidNodeInfo"
            ))
    {
        return Some(verdict(
            Cause::AdmissionRejected,
            Severity::Failure,
            format!("the kubelet rejected the pod at admission: {reason}"),
            ev,
            "the node did not fit the pod when the kubelet checked: a controller creates a new one; check the node's capacity and labels",
        ));
    }
    if let Some(c) = cond(pod, "PodScheduled").filter(|c| c.status == "False") {
        let mut ev = vec![format!(
            "condition PodScheduled=False, reason {}: {}",
            c.reason.clone().unwrap_or_default(),
            c.message.clone().unwrap_or_default()
        )];
        ev.extend(pod_events("FailedScheduling").into_iter().rev().take(2));
        let msg = c.message.clone().unwrap_or_default();
        return Some(verdict(
            Cause::Unschedulable,
            Severity::Failure,
            format!(
                "no node can run it: {}",
                nonempty(&msg, "the scheduler found no node")
            ),
            ev,
            "free or add capacity, lower the requests, or relax nodeSelector/affinity/tolerations as the scheduler's message says",
        ));
    }
    // The pod is not Ready although every container says it is: readiness gates, or a node that
    // stopped reporting (the node controller marks its pods not ready; container statuses go stale).
    let statuses = status.and_then(|s| s.container_statuses.as_ref());
    let all_containers_ready = statuses.is_some_and(|v| !v.is_empty() && v.iter().all(|c| c.ready));
    if let Some(c) = cond(pod, "Ready").filter(|c| c.status != "True") {
        if phase == "Running" && all_containers_ready {
            let gates: Vec<String> = pod
                .spec
                .as_ref()
                .and_then(|s| s.readiness_gates.as_ref())
                .into_iter()
                .flatten()
                .map(|g| g.condition_type.clone())
                .collect();
            let mut ev = vec![format!(
                "condition Ready={}{}, while every container reports ready",
                c.status,
                c.reason
                    .as_deref()
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default()
            )];
            if !gates.is_empty() || c.reason.as_deref() == Some("ReadinessGatesNotReady") {
                let unmet: Vec<String> = gates
                    .iter()
                    .filter(|g| cond(pod, g).is_none_or(|x| x.status != "True"))
                    .cloned()
                    .collect();
                ev.push(format!(
                    "readiness gates not satisfied: {}",
                    unmet.join(", ")
                ));
                return Some(verdict(
                    Cause::Unclear,
                    Severity::Warning,
                    "not ready: a readiness gate is not satisfied",
                    ev,
                    "check the controller that sets the gate's condition (often a load-balancer controller registering the pod)",
                ));
            }
            let node = pod
                .spec
                .as_ref()
                .and_then(|s| s.node_name.clone())
                .unwrap_or_default();
            ev.push(if ctx.extra.node.is_some() {
                format!("node {node} reports Ready")
            } else {
                format!("node {node} could not be checked")
            });
            return Some(verdict(
                Cause::Unclear,
                Severity::Warning,
                "the pod is marked not ready although its containers report ready",
                ev,
                format!("check node {node} (`kubectl describe node {node}`): a node that stops reporting has its pods marked not ready"),
            ));
        }
    }
    // An init container that fails keeps the app containers from ever starting.
    if phase == "Pending" || phase == "Failed" {
        if let Some(c) = containers.iter().find(|c| {
            c.type_ == ContainerType::Init
                && c.verdict
                    .as_ref()
                    .is_some_and(|v| v.severity == Severity::Failure)
        }) {
            let inner = c
                .verdict
                .as_ref()
                .map(|v| v.summary.clone())
                .unwrap_or_default();
            return Some(verdict(
                Cause::InitFailed,
                Severity::Failure,
                format!(
                    "init container {} fails, so the app containers never start",
                    c.name
                ),
                vec![format!("{}: {inner}", c.name)],
                format!("fix init container {} (see its block below)", c.name),
            ));
        }
    }
    None
}

/// "Container app was using 1Gi, request is 256Mi" → "container app was using 1Gi, 4.0× its request of 256Mi".
fn eviction_usage(message: &str) -> Option<String> {
    let i = message.find("Container ")?;
    let rest = &message[i + "Container ".len()..];
    let name: String = rest.chars().take_while(|c| !c.is_whitespace()).collect();
    let using = rest.split("was using ").nth(1)?;
    let used: String = using
        .chars()
        .take_while(|c| *c != ',' && !c.is_whitespace())
        .collect();
    let request = rest.split("request is ").nth(1).map(|r| {
        r.chars()
            .take_while(|c| *c != ',' && *c != '.' && !c.is_whitespace())
            .collect::<String>()
    });
    match request.as_deref().filter(|r| !r.is_empty()) {
        Some(req) => {
            let ratio = match (facts::parse_quantity(&used), facts::parse_quantity(req)) {
                (Some(u), Some(r)) if r > 0.0 => format!(", {:.1}× its request of {req}", u / r),
                _ => format!(", request {req}"),
            };
            Some(format!("container {name} was using {used}{ratio}"))
        }
        None => Some(format!("container {name} was using {used} with no request")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::explain::offline;

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
            events_available: l.had_events,
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

    fn evidence(v: &Verdict) -> String {
        v.evidence.join("\n")
    }

    #[test]
    fn oom_killed_names_the_limit_and_request() {
        let r = report("oom-killed.yaml");
        let v = verdict_of(&r, "app");
        assert_eq!(v.cause, Cause::OomKilled);
        assert!(v.summary.contains("256Mi"), "{}", v.summary);
        assert!(evidence(v).contains("request 128Mi"), "{}", evidence(v));
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
        assert_eq!(verdict_of(&r, "worker").cause, Cause::NodeOom);
        // Recovered and ready now, but the restart is still a failure to explain.
        assert!(!r.healthy);
    }

    #[test]
    fn grace_period_exceeded_with_a_shell_entry_point() {
        let r = report("grace-shell.yaml");
        let v = verdict_of(&r, "app");
        assert_eq!(v.cause, Cause::GracePeriodExceeded);
        let ev = evidence(v);
        assert!(ev.contains("30s after the stop began"), "{ev}");
        assert!(ev.contains("does not forward SIGTERM"), "{ev}");
        assert!(v.action.contains("exec"), "{}", v.action);
        assert!(r.notes.iter().any(|n| n.contains("being deleted")));
    }

    #[test]
    fn grace_period_exceeded_by_a_long_pre_stop_hook() {
        let r = report("grace-prestop.yaml");
        let v = verdict_of(&r, "envoy");
        assert_eq!(v.cause, Cause::GracePeriodExceeded);
        assert!(evidence(v).contains("preStop hook"), "{}", evidence(v));
        assert!(evidence(v).contains("45s"), "{}", evidence(v));
        assert!(v.action.contains("terminationGracePeriodSeconds"));
    }

    #[test]
    fn liveness_restarts_are_told_apart_from_oom_and_grace() {
        let r = report("liveness.yaml");
        let v = verdict_of(&r, "cart");
        assert_eq!(v.cause, Cause::LivenessProbe);
        assert!(v.summary.contains("3 failures recorded"), "{}", v.summary);
        let ev = evidence(v);
        assert!(ev.contains("statuscode: 500"), "{ev}");
        assert!(ev.contains("same as the readiness probe"), "{ev}");
        assert!(ev.contains("httpGet :8080/healthz"), "{ev}");
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
            events_available: true,
            ..Default::default()
        };
        let r = analyse(&l.pods[0], &unhealthy, &Logs::default(), &extra);
        let v = verdict_of(&r, "cart");
        assert_eq!(v.cause, Cause::LivenessProbe);
        assert!(evidence(v).contains("the Killing event is gone"));

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
        assert_eq!(verdict_of(&r, "cart").cause, Cause::AppError);
    }

    #[test]
    fn readiness_failures_never_restart() {
        let r = report("readiness.yaml");
        let v = verdict_of(&r, "search");
        assert_eq!(v.cause, Cause::ReadinessProbe);
        assert_eq!(v.severity, Severity::Warning);
        assert!(v.summary.contains("42 failures"));
        assert!(evidence(v).contains("never restart"));
        assert!(!r.healthy);
    }

    #[test]
    fn startup_probe_never_succeeding() {
        let r = report("startup.yaml");
        let v = verdict_of(&r, "billing");
        assert_eq!(v.cause, Cause::StartupProbe);
        assert!(v.summary.contains("30s"), "{}", v.summary);
        assert_eq!(container(&r, "billing").back_off.as_deref(), Some("1m20s"));
    }

    #[test]
    fn post_start_and_pre_stop_hooks() {
        let r = report("post-start.yaml");
        assert_eq!(verdict_of(&r, "worker").cause, Cause::PostStartHook);
        assert!(evidence(verdict_of(&r, "worker")).contains("/bin/register"));
        let r = report("pre-stop.yaml");
        let v = verdict_of(&r, "front");
        assert_eq!(v.cause, Cause::PreStopHook);
        assert!(evidence(v).contains("PreStopHook failed"));
        assert!(
            v.summary.contains("when the pod was deleted"),
            "{}",
            v.summary
        );
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
        assert!(v.summary.contains("code 1"));
        assert!(v.summary.contains("ECONNREFUSED"), "{}", v.summary);
        assert!(evidence(v).contains("log: Error: connect ECONNREFUSED"));
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
        assert_eq!(verdict_of(&r, "missing").cause, Cause::CommandNotFound);
        assert_eq!(verdict_of(&r, "noexec").cause, Cause::NotExecutable);
        let segv = verdict_of(&r, "segv");
        assert_eq!(segv.cause, Cause::Signal);
        assert!(segv.summary.contains("segmentation fault"));
        assert!(verdict_of(&r, "abort").summary.contains("SIGABRT"));
        let silent = verdict_of(&r, "silent");
        assert_eq!(silent.cause, Cause::AppError);
        assert!(evidence(silent).contains("terminationMessagePolicy is File"));
        assert!(silent.action.contains("FallbackToLogsOnError"));
        assert!(container(&r, "fine").verdict.is_none());
        assert!(!container(&r, "fine").matters());
        assert_eq!(r.ready, "1/6");
        assert_eq!(r.restarts, 10);
    }

    #[test]
    fn exit_143_without_a_stop_is_sigterm() {
        let r = report("sigterm.yaml");
        assert_eq!(verdict_of(&r, "runner").cause, Cause::Sigterm);
    }

    #[test]
    fn exit_0_in_a_restart_always_pod() {
        let r = report("completed.yaml");
        let v = verdict_of(&r, "api");
        assert_eq!(v.cause, Cause::CompletedUnexpectedly);
        assert!(evidence(v).contains("--daemonize"));
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
        let v = verdict_of(&r, "web");
        assert_eq!(v.cause, Cause::ImagePull);
        assert!(v.summary.contains("registry.example.com/shop/web:1.4.3"));
        assert!(evidence(v).contains("not found"));
        assert!(v.action.contains("does not exist"));

        let r = report("config-error.yaml");
        let v = verdict_of(&r, "payments");
        assert_eq!(v.cause, Cause::ConfigError);
        assert!(v.summary.contains("secret \"db-credentials\" not found"));

        let r = report("start-error.yaml");
        let v = verdict_of(&r, "gw");
        assert_eq!(v.cause, Cause::StartError);
        assert!(v.summary.contains("no such file or directory"));
        assert!(v.action.contains("does not exist in the image"));
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
        assert!(pv.summary.contains("migrate"));
        let v = verdict_of(&r, "migrate");
        assert_eq!(v.cause, Cause::AppError);
        assert!(v.summary.contains("already exists"), "{}", v.summary);
        assert_eq!(container(&r, "migrate").type_, ContainerType::Init);
    }

    #[test]
    fn pod_level_causes() {
        let pod_cause = |f: &str| report(f).verdict.map(|v| v.cause);
        assert_eq!(pod_cause("unschedulable.yaml"), Some(Cause::Unschedulable));
        assert_eq!(pod_cause("preempted.yaml"), Some(Cause::Preempted));
        assert_eq!(pod_cause("node-shutdown.yaml"), Some(Cause::NodeShutdown));
        assert_eq!(pod_cause("taint.yaml"), Some(Cause::TaintEviction));
        assert_eq!(pod_cause("node-lost.yaml"), Some(Cause::NodeLost));
        assert_eq!(pod_cause("deadline.yaml"), Some(Cause::DeadlineExceeded));

        let r = report("evicted.yaml");
        let v = r.verdict.as_ref().expect("pod verdict");
        assert_eq!(v.cause, Cause::Evicted);
        assert!(v.summary.contains("memory"));
        let ev = evidence(v);
        assert!(
            ev.contains("container report was using 1258291Ki, 4.8× its request of 256Mi"),
            "{ev}"
        );
        // The container's ContainerStatusUnknown is part of the eviction, not a cause of its own.
        let cv = verdict_of(&r, "report");
        assert_eq!(cv.cause, Cause::Stopped);
        assert_eq!(cv.severity, Severity::Info);
        assert!(!r.healthy);
    }

    #[test]
    fn node_facts_explain_a_lost_node() {
        let l = load("liveness.yaml");
        let extra = Extra {
            events_available: true,
            node: Some(NodeFacts {
                name: "worker-1".into(),
                exists: true,
                ready: Some("Unknown".into()),
                ready_reason: Some("NodeStatusUnknown".into()),
                ready_message: Some("Kubelet stopped posting node status.".into()),
                pressure: vec![],
            }),
            ..Default::default()
        };
        let r = analyse(&l.pods[0], &l.events, &Logs::default(), &extra);
        let v = r.verdict.expect("pod verdict");
        assert_eq!(v.cause, Cause::NodeLost);
        assert!(evidence(&v).contains("Kubelet stopped posting node status."));
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
                failed_reason: Some("DeadlineExceeded".into()),
                failed_message: Some("Job was active longer than specified deadline".into()),
            }),
            ..Default::default()
        };
        let r = analyse(&l.pods[0], &[], &Logs::default(), &extra);
        let v = r.verdict.expect("pod verdict");
        assert_eq!(v.cause, Cause::DeadlineExceeded);
        assert!(evidence(&v).contains("Job was active longer"));
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
        let v = verdict_of(&r, "legacy");
        assert_eq!(v.cause, Cause::Unclear);
        assert!(evidence(v).contains("not OOMKilled"));
        // No events in the input at all: the note says the events could not be read.
        assert!(evidence(v).contains("events could not be read"));

        let l = load("events-expired.yaml");
        let extra = Extra {
            events_available: true,
            ..Default::default()
        };
        let r = analyse(&l.pods[0], &[], &Logs::default(), &extra);
        assert!(
            r.notes.iter().any(|n| n.contains("events expire")),
            "{:?}",
            r.notes
        );
    }

    #[test]
    fn clean_shutdown_after_a_definition_change_is_not_a_failure() {
        let l = load("sigterm.yaml");
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
        let events = vec![EventRecord::from_core(&killing)];
        let extra = Extra {
            events_available: true,
            ..Default::default()
        };
        let r = analyse(&l.pods[0], &events, &Logs::default(), &extra);
        let v = verdict_of(&r, "runner");
        assert_eq!(v.cause, Cause::Stopped);
        assert_eq!(v.severity, Severity::Info);
        assert!(v.summary.contains("definition changed"));
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
        let events = vec![
            EventRecord::from_core(&killing),
            EventRecord::from_core(&unready),
        ];
        let extra = Extra {
            events_available: true,
            ..Default::default()
        };
        let r = analyse(&pod, &events, &Logs::default(), &extra);
        let v = verdict_of(&r, "runner");
        assert_eq!(v.cause, Cause::ReadinessProbe);
        assert!(evidence(v).contains("earlier: stopped because its definition changed"));
        assert!(r.has_findings());
    }

    #[test]
    fn a_container_still_stopping_is_warned_about_its_shell() {
        let text = std::fs::read_to_string(format!(
            "{}/tests/fixtures/explain/grace-shell.yaml",
            env!("CARGO_MANIFEST_DIR")
        ))
        .expect("fixture")
        .replace(
            "terminated: {exitCode: 137, reason: Error, startedAt: \"2026-11-23T08:00:00Z\", finishedAt: \"2026-11-23T10:05:30Z\"}",
            "running: {startedAt: \"2026-11-23T08:00:00Z\"}",
        );
        let l = offline::parse(&text, "stopping").expect("parses");
        let extra = Extra {
            events_available: true,
            ..Default::default()
        };
        let r = analyse(&l.pods[0], &l.events, &Logs::default(), &extra);
        let v = verdict_of(&r, "app");
        assert_eq!(v.cause, Cause::Terminating);
        assert_eq!(v.severity, Severity::Warning);
        let ev = evidence(v);
        assert!(ev.contains("SIGKILL at 2026-11-23T10:05:30Z"), "{ev}");
        assert!(ev.contains("risk: PID 1 is a shell"), "{ev}");
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
        let v = verdict_of(&r, "proxy");
        assert_eq!(v.cause, Cause::CompletedUnexpectedly);
        assert!(evidence(v).contains("sidecar"));
        assert!(container(&r, "debugger-1").verdict.is_none());
        assert_eq!(verdict_of(&r, "debugger-2").cause, Cause::CommandNotFound);
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
        assert!(evidence(verdict_of(&r, "orders")).contains("looks truncated"));
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
}
