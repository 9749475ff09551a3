//! The pure core: a pod, its events, its log tails and the facts around it in, one [`PodReport`]
//! out. No I/O here; live mode and offline `-f` mode both end up in [`analyse`].
//!
//! Verdicts come from ordered rule tables ([`rules`]: first match wins), one file per cause family:
//! [`termination`] (exit codes, OOM, the runtime), [`probes`] (probes and the postStart hook),
//! [`shutdown`] (the stop sequence and preStop), [`waiting`] (images, configuration, volumes),
//! [`removal`], [`jobs`] and [`scheduling`] (pod-level). The timeline of an instance is in
//! [`timeline`], the wording in [`words`].

pub(crate) mod container;
pub(crate) mod context;
pub(crate) mod inputs;
pub(crate) mod jobs;
pub(crate) mod probes;
pub(crate) mod removal;
pub(crate) mod rules;
pub(crate) mod scheduling;
pub(crate) mod shutdown;
pub(crate) mod termination;
pub(crate) mod timeline;
pub(crate) mod waiting;
pub(crate) mod words;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{ContainerStatus, Pod};

use super::events::{EventIndex, EventRecord};
use super::facts::{self, SpecFacts};
use super::model::*;
use context::{Ctx, PodSubject};
pub use inputs::{ClaimFacts, EventSource, Extra, JobFailure, Logs, NodeFacts, OwnerFacts, Unread};
use words::{ts_text, verdict};

/// Explains one pod. `events` may hold events of other objects too: only this pod's are used.
pub fn analyse(pod: &Pod, events: &[EventRecord], logs: &Logs, extra: &Extra) -> PodReport {
    analyse_indexed(pod, &EventIndex::new(events.to_vec()), logs, extra)
}

/// As [`analyse`], with the events already indexed (one index for many pods).
pub(crate) fn analyse_indexed(
    pod: &Pod,
    index: &EventIndex,
    logs: &Logs,
    extra: &Extra,
) -> PodReport {
    let meta = &pod.metadata;
    let namespace = meta.namespace.clone().unwrap_or_else(|| "default".into());
    let name = meta.name.clone().unwrap_or_default();
    let uid = meta.uid.clone().unwrap_or_default();
    let (events, recreated) = index.for_pod(
        &namespace,
        &name,
        Some(uid.as_str()).filter(|u| !u.is_empty()),
    );
    let ctx = Ctx::new(pod, events, extra);
    let spec = pod.spec.as_ref();
    let status = pod.status.as_ref();

    let statuses = |v: Option<&Vec<ContainerStatus>>| v.cloned().unwrap_or_default();
    let init_st = statuses(status.and_then(|s| s.init_container_statuses.as_ref()));
    let app_st = statuses(status.and_then(|s| s.container_statuses.as_ref()));
    let eph_st = statuses(status.and_then(|s| s.ephemeral_container_statuses.as_ref()));
    let mut containers = Vec::new();
    let mut push = |name: &str, ctype: ContainerType, st: Option<&ContainerStatus>| {
        if extra.container.as_deref().is_some_and(|c| c != name) {
            return;
        }
        let spec = SpecFacts::find(pod, name).unwrap_or_default();
        containers.push(container::report(&ctx, name, ctype, &spec, st, logs));
    };
    let find = |v: &[ContainerStatus], n: &str| v.iter().find(|x| x.name == n).cloned();
    match spec {
        Some(s) => {
            for c in s.init_containers.iter().flatten() {
                push(
                    &c.name,
                    ContainerType::Init,
                    find(&init_st, &c.name).as_ref(),
                );
            }
            for c in &s.containers {
                push(&c.name, ContainerType::App, find(&app_st, &c.name).as_ref());
            }
            for c in s.ephemeral_containers.iter().flatten() {
                push(
                    &c.name,
                    ContainerType::Ephemeral,
                    find(&eph_st, &c.name).as_ref(),
                );
            }
        }
        None => {
            for st in &init_st {
                push(&st.name, ContainerType::Init, Some(st));
            }
            for st in &app_st {
                push(&st.name, ContainerType::App, Some(st));
            }
        }
    }

    let pod_verdict = rules::pod_verdict(&PodSubject {
        ctx: &ctx,
        containers: &containers,
    });
    if let Some(pv) = &pod_verdict {
        settle_under_pod_verdict(pv, &mut containers);
    }

    let phase = status
        .and_then(|s| s.phase.clone())
        .unwrap_or_else(|| "Unknown".into());
    let app_total = spec.map(|s| s.containers.len()).unwrap_or(app_st.len());
    let app_ready = app_st.iter().filter(|s| s.ready).count();
    let worst = pod_verdict
        .iter()
        .chain(containers.iter().filter_map(|c| c.verdict.as_ref()))
        .map(|v| v.severity)
        .max();
    let pod_ready = ctx.cond("Ready").is_none_or(|c| c.status == "True");
    let healthy = worst.is_none_or(|s| s == Severity::Info)
        && (phase == "Succeeded" || (phase == "Running" && app_ready == app_total && pod_ready));
    let restarts: i32 = app_st
        .iter()
        .chain(init_st.iter())
        .map(|s| s.restart_count)
        .sum();
    let had_trouble = restarts > 0 || worst.is_some();
    let notes = notes(&ctx, recreated, &uid, had_trouble);
    // Left unexplained while a section it needed could not be read: the exit code must not be 0.
    let unchecked =
        if !healthy && worst.is_none_or(|s| s < Severity::Warning) && phase != "Succeeded" {
            extra.unread.iter().map(|u| u.section.clone()).collect()
        } else {
            Vec::new()
        };

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
            .or_else(|| {
                crate::workload::owner::controller_of(meta)
                    .map(|o| format!("{}/{}", o.kind, o.name))
            })
            .map(|o| deployment_of(&o, meta.labels.as_ref())),
        ready: format!("{app_ready}/{app_total}"),
        restarts,
        healthy,
        verdict: pod_verdict,
        containers,
        events: event_summaries,
        notes,
        unchecked,
    }
}

fn notes(ctx: &Ctx, recreated: bool, uid: &str, had_trouble: bool) -> Vec<String> {
    let extra = ctx.extra;
    let mut notes: Vec<String> = extra.unread.iter().map(|u| u.note()).collect();
    match &extra.events {
        EventSource::Unreadable => notes.push("events could not be read: the verdict rests on the pod's status alone".into()),
        EventSource::NotInFile(file) => notes.push(format!(
            "{file} holds no events: the verdict rests on the pod's status alone (save them too with `kubectl get pod,events -o yaml`)"
        )),
        EventSource::Read | EventSource::File if ctx.events.is_empty() && had_trouble => notes.push(
            "no events for this pod: events expire after about an hour, so the verdict rests on the pod's status alone".into(),
        ),
        _ => {}
    }
    if recreated {
        notes.push(format!(
            "the pod was deleted and recreated with the same name: events of the earlier pod are not counted (this pod's uid is {uid})"
        ));
    }
    if let Some((req, g)) = ctx.deletion {
        notes.push(format!(
            "the pod is being deleted: requested at {} with a grace period of {g}s",
            ts_text(req)
        ));
    }
    notes
}

/// When the whole pod was removed (evicted, preempted, node shutdown, …), a container that died of
/// SIGTERM or an unexplained SIGKILL, exited 0, or was lost by the runtime, was stopped as part of
/// that: the pod's verdict is the cause, and the container only says how it went. Container verdicts
/// never contradict the pod's.
fn settle_under_pod_verdict(pv: &Verdict, containers: &mut [ContainerReport]) {
    let removal = matches!(
        pv.cause,
        Cause::Evicted
            | Cause::ApiEviction
            | Cause::Preempted
            | Cause::TaintEviction
            | Cause::NodeShutdown
            | Cause::NodeLost
            | Cause::PodGc
            | Cause::DeadlineExceeded
            | Cause::AdmissionRejected
    );
    if !removal {
        return;
    }
    // The kubelet's own stops (eviction, node shutdown) use their own grace period, not the pod's.
    let kubelet_stop = matches!(pv.cause, Cause::Evicted | Cause::NodeShutdown);
    for c in containers.iter_mut() {
        let Some(v) = &c.verdict else { continue };
        // Only how it went stays: the instance and the kubelet's events, not the advice of a cause
        // that was not one.
        let evidence: Vec<String> = v
            .evidence
            .iter()
            .filter(|e| {
                e.starts_with("the container")
                    || e.starts_with("the previous instance")
                    || e.starts_with("event ")
            })
            .cloned()
            .collect();
        let settled = match v.cause {
            Cause::Sigterm | Cause::Unclear | Cause::ContainerLost | Cause::CompletedUnexpectedly => {
                Some(verdict(
                    Cause::Stopped,
                    Severity::Info,
                    format!("stopped as part of the pod's removal ({})", pv.cause.id()),
                    evidence,
                    "see the pod's verdict",
                ))
            }
            Cause::GracePeriodExceeded if kubelet_stop => Some(verdict(
                Cause::Stopped,
                Severity::Info,
                format!(
                    "killed as part of the pod's removal ({}), with the kubelet's own grace period rather than the pod's",
                    pv.cause.id()
                ),
                evidence,
                "see the pod's verdict",
            )),
            Cause::Terminating if pv.cause == Cause::NodeLost => Some(verdict(
                Cause::Terminating,
                Severity::Info,
                format!("{} cannot be stopped: no kubelet on its unreachable node runs preStop, SIGTERM or SIGKILL", c.name),
                Vec::new(),
                "see the pod's verdict",
            )),
            _ => None,
        };
        if let Some(s) = settled {
            c.verdict = Some(s);
        }
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
