//! When is a restart complete, and when has it failed? Pure functions over the workload and its pods.
//!
//! The workload rules mirror kubectl's `rollout status` (`rollout_status.go`: DeploymentStatusViewer,
//! StatefulSetStatusViewer, DaemonSetStatusViewer) and are stricter where it is weak:
//! - the controller must have observed the generation our patch produced (not just any generation);
//! - StatefulSets count *available* replicas, not ready ones, and respect a partition;
//! - on top of the workload status, the pods themselves are checked: every pod the restart replaces carries
//!   the new `restartedAt` value and is Ready, and no old pod is left (not even a terminating one).

use k8s_openapi::api::core::v1::{ContainerStatus, Pod};

use super::model::PodFailure;
use crate::workload::{Object, RESTARTED_AT};

/// What the waiter expects of the workload after its patch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Expect {
    /// The `restartedAt` value new pods carry (`None`: the annotation is absent, e.g. after a rollback).
    pub marker: Option<String>,
    /// The generation our patch produced; the controller must have observed at least this one.
    pub generation: i64,
    /// Pods (UIDs) that existed before and are judged on readiness only, not on their restart history
    /// (a rollback brings back old pods that may have restarted long ago).
    pub exempt: std::collections::BTreeSet<String>,
}

/// Where a restart stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Still rolling; `phase` says what it waits for (kubectl-like wording).
    Waiting { phase: String },
    /// Every new pod Ready, old pods gone.
    Complete,
    /// A new pod failed (crash, image pull, OOM …).
    PodFailed(PodFailure),
    /// The workload itself reports failure (Deployment progress deadline exceeded).
    Failed { reason: String },
    /// Someone else changed the restart annotation after our patch.
    Reverted { value: Option<String> },
    /// The Deployment was paused after our patch: the controller stops rolling.
    Paused,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Progress {
    /// New pods that are Ready.
    pub ready: i32,
    /// New pods the restart should end with.
    pub desired: i32,
    pub verdict: Verdict,
}

/// Waiting reasons that mean the new pod will not come up by itself.
const FATAL_WAITING: &[&str] = &[
    "CrashLoopBackOff",
    "ErrImagePull",
    "ImagePullBackOff",
    "InvalidImageName",
    "ErrImageNeverPull",
    "CreateContainerConfigError",
    "CreateContainerError",
    "RunContainerError",
];

pub(crate) fn pod_name(p: &Pod) -> &str {
    p.metadata.name.as_deref().unwrap_or("")
}

pub(crate) fn pod_uid(p: &Pod) -> &str {
    p.metadata.uid.as_deref().unwrap_or("")
}

pub(crate) fn is_ready(p: &Pod) -> bool {
    p.metadata.deletion_timestamp.is_none()
        && p.status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

pub(crate) fn is_terminating(p: &Pod) -> bool {
    p.metadata.deletion_timestamp.is_some()
}

fn has_phase(p: &Pod, phase: &str) -> bool {
    p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some(phase)
}

/// Succeeded pods are gone as far as serving goes (and the controllers ignore them too).
fn is_finished(p: &Pod) -> bool {
    has_phase(p, "Succeeded")
}

/// True when the pod was created from the restarted template.
pub(crate) fn is_new(p: &Pod, marker: Option<&str>) -> bool {
    p.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(RESTARTED_AT))
        .map(String::as_str)
        == marker
}

/// The controller revision a StatefulSet or DaemonSet pod was created from (`controller-revision-hash`).
pub(crate) fn revision_of(p: &Pod) -> Option<&str> {
    p.metadata
        .labels
        .as_ref()
        .and_then(|l| l.get("controller-revision-hash"))
        .map(String::as_str)
}

/// A StatefulSet pod's ordinal (`db-2` → 2).
pub(crate) fn ordinal(p: &Pod) -> Option<i32> {
    pod_name(p).rsplit_once('-')?.1.parse().ok()
}

pub(crate) fn restarts(p: &Pod) -> i32 {
    all_statuses(p).map(|c| c.restart_count).sum()
}

fn all_statuses(p: &Pod) -> impl Iterator<Item = &ContainerStatus> {
    let s = p.status.as_ref();
    s.and_then(|s| s.init_container_statuses.as_ref())
        .into_iter()
        .flatten()
        .chain(
            s.and_then(|s| s.container_statuses.as_ref())
                .into_iter()
                .flatten(),
        )
}

/// The reason a (new) pod will not become healthy by itself, if any.
pub(crate) fn pod_failure(p: &Pod) -> Option<PodFailure> {
    let name = pod_name(p).to_string();
    let restarts_total = restarts(p);
    let fail = |c: Option<&ContainerStatus>,
                reason: &str,
                exit: Option<i32>,
                msg: Option<&String>| PodFailure {
        pod: name.clone(),
        container: c.map(|c| c.name.clone()),
        reason: reason.to_string(),
        exit_code: exit,
        message: msg.filter(|m| !m.is_empty()).cloned(),
        restarts: restarts_total,
        cause: None,
    };
    // OOM first: it is the most specific verdict, whatever the container does now.
    for c in all_statuses(p) {
        for t in [
            c.state.as_ref().and_then(|s| s.terminated.as_ref()),
            c.last_state.as_ref().and_then(|s| s.terminated.as_ref()),
        ]
        .into_iter()
        .flatten()
        {
            if t.reason.as_deref() == Some("OOMKilled") {
                return Some(fail(
                    Some(c),
                    "OOMKilled",
                    Some(t.exit_code),
                    t.message.as_ref(),
                ));
            }
        }
    }
    for c in all_statuses(p) {
        let last = c.last_state.as_ref().and_then(|s| s.terminated.as_ref());
        if let Some(w) = c.state.as_ref().and_then(|s| s.waiting.as_ref()) {
            let reason = w.reason.as_deref().unwrap_or("");
            if FATAL_WAITING.contains(&reason) {
                let msg = last
                    .and_then(|t| t.message.as_ref())
                    .filter(|m| !m.is_empty())
                    .or(w.message.as_ref());
                return Some(fail(Some(c), reason, last.map(|t| t.exit_code), msg));
            }
        }
        if let Some(t) = c.state.as_ref().and_then(|s| s.terminated.as_ref()) {
            if t.exit_code != 0 {
                let reason = t.reason.as_deref().unwrap_or("Error");
                return Some(fail(Some(c), reason, Some(t.exit_code), t.message.as_ref()));
            }
        }
        if c.restart_count > 0 {
            let reason = last
                .and_then(|t| t.reason.as_deref())
                .unwrap_or("Restarted");
            return Some(fail(
                Some(c),
                reason,
                last.map(|t| t.exit_code),
                last.and_then(|t| t.message.as_ref()),
            ));
        }
    }
    let status = p.status.as_ref();
    if status.and_then(|s| s.phase.as_deref()) == Some("Failed") {
        let reason = status.and_then(|s| s.reason.as_deref()).unwrap_or("Failed");
        return Some(fail(
            None,
            reason,
            None,
            status.and_then(|s| s.message.as_ref()),
        ));
    }
    None
}

/// The new pod that explains a workload-level failure (a progress deadline exceeded): the first one that
/// failed, else the first one not Ready.
pub(crate) fn new_pod_behind(pods: &[Pod], marker: Option<&str>) -> Option<PodFailure> {
    let new: Vec<&Pod> = pods
        .iter()
        .filter(|p| is_new(p, marker) && !is_terminating(p))
        .collect();
    new.iter().find_map(|p| pod_failure(p)).or_else(|| {
        new.iter()
            .find(|p| !is_ready(p))
            .map(|p| unready_failure(p))
    })
}

/// Why a pod is not Ready (used when `--timeout` runs out): the first unready container and its state.
pub(crate) fn unready_failure(p: &Pod) -> PodFailure {
    if let Some(f) = pod_failure(p) {
        return f;
    }
    let status = p.status.as_ref();
    let unready = all_statuses(p).find(|c| !c.ready);
    let (reason, message) = match unready.and_then(|c| c.state.as_ref()) {
        Some(s) if s.waiting.is_some() => {
            let w = s.waiting.as_ref();
            (
                w.and_then(|w| w.reason.clone())
                    .unwrap_or_else(|| "Waiting".into()),
                w.and_then(|w| w.message.clone()),
            )
        }
        Some(s) if s.running.is_some() => (
            "NotReady".to_string(),
            Some("running but its readiness probe does not pass".to_string()),
        ),
        _ => match status.and_then(|s| s.phase.as_deref()) {
            Some("Pending") | None => {
                let cond = status
                    .and_then(|s| s.conditions.as_ref())
                    .and_then(|cs| cs.iter().find(|c| c.status == "False"));
                (
                    cond.and_then(|c| c.reason.clone())
                        .unwrap_or_else(|| "Pending".into()),
                    cond.and_then(|c| c.message.clone()),
                )
            }
            Some(phase) => (phase.to_string(), None),
        },
    };
    PodFailure {
        pod: pod_name(p).to_string(),
        container: unready.map(|c| c.name.clone()),
        reason,
        exit_code: None,
        message,
        restarts: restarts(p),
        cause: None,
    }
}

impl PodFailure {
    /// One line for people: what happened to which container.
    pub(crate) fn verdict(&self) -> String {
        let who = match &self.container {
            Some(c) => format!("container {c} of pod {}", self.pod),
            None => format!("pod {}", self.pod),
        };
        let exit = self
            .exit_code
            .map(|c| format!(" (exit code {c}{})", signal_note(c)))
            .unwrap_or_default();
        let what = match self.reason.as_str() {
            "LivenessProbe" => format!("{who} was killed by its liveness probe{exit}, {} restart{}", self.restarts, if self.restarts == 1 { "" } else { "s" }),
            "StartupProbe" => format!("{who} was killed by its startup probe{exit}: it never finished starting, {} restart{}", self.restarts, if self.restarts == 1 { "" } else { "s" }),
            "OOMKilled" => format!("{who} was OOMKilled{exit}: it exceeded its memory limit"),
            "CrashLoopBackOff" => format!(
                "{who} is crash-looping{exit}, {} restart{}",
                self.restarts,
                if self.restarts == 1 { "" } else { "s" }
            ),
            "ErrImagePull" | "ImagePullBackOff" | "InvalidImageName" | "ErrImageNeverPull" => {
                format!("{who} cannot pull its image ({})", self.reason)
            }
            "CreateContainerConfigError" => format!(
                "{who} cannot start: its configuration refers to a missing Secret/ConfigMap or key"
            ),
            "NotReady" => format!("{who} never became Ready"),
            "Error" => format!("{who} exited with an error{exit}"),
            "Completed" => format!("{who} exited{exit} although it should keep running"),
            other => format!("{who}: {other}{exit}"),
        };
        match &self.message {
            Some(m) => format!("{what}: {}", one_line(m)),
            None => what,
        }
    }
}

fn signal_note(code: i32) -> &'static str {
    match code {
        137 => ", SIGKILL",
        143 => ", SIGTERM",
        139 => ", SIGSEGV",
        134 => ", SIGABRT",
        _ => "",
    }
}

fn one_line(s: &str) -> String {
    let lines: Vec<&str> = s.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let mut out = lines.join(" | ");
    if out.len() > 300 {
        let mut cut = 300;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
        out.push('…');
    }
    out
}

/// False when the pod's controller is clearly another object (a Job's pods with the same labels, say).
/// Pods without a controller reference are given the benefit of the doubt.
pub(crate) fn may_belong_to(p: &Pod, w: &Object) -> bool {
    let Some(owner) = crate::workload::owner::controller_of(&p.metadata) else {
        return true;
    };
    match w {
        Object::Deployment(_) => {
            owner.kind == "ReplicaSet"
                && owner
                    .name
                    .strip_prefix(w.name())
                    .and_then(|rest| rest.strip_prefix('-'))
                    // `NAME-HASH`: deployment `web` does not own ReplicaSet `web-api-5d8f`.
                    .is_some_and(|hash| !hash.is_empty() && !hash.contains('-'))
        }
        _ => {
            owner.kind == w.kind().as_str()
                && w.meta().uid.as_deref().is_none_or(|uid| uid == owner.uid)
        }
    }
}

/// Judges the restart from the workload and the pods its selector matches.
pub(crate) fn assess(w: &Object, pods: &[Pod], expect: &Expect) -> Progress {
    let marker = expect.marker.as_deref();
    let partition = w.partition();
    let replaced = |p: &Pod| match w {
        // Pods below the partition keep the old revision on purpose.
        Object::StatefulSet(_) => ordinal(p).is_none_or(|o| o >= partition),
        _ => true,
    };
    let live: Vec<&Pod> = pods
        .iter()
        .filter(|p| !is_finished(p) && may_belong_to(p, w))
        .collect();
    let new: Vec<&Pod> = live
        .iter()
        .copied()
        .filter(|p| is_new(p, marker) && !is_terminating(p))
        .collect();
    let ready = new.iter().filter(|p| is_ready(p)).count() as i32;
    let desired = w.expected_new();
    let progress = |verdict| Progress {
        ready,
        desired,
        verdict,
    };
    if w.restarted_at() != marker {
        return progress(Verdict::Reverted {
            value: w.restarted_at().map(str::to_string),
        });
    }
    if w.paused() {
        return progress(Verdict::Paused);
    }
    if let Some(f) = new
        .iter()
        .filter(|p| !expect.exempt.contains(pod_uid(p)))
        .find_map(|p| pod_failure(p))
    {
        return progress(Verdict::PodFailed(f));
    }
    match crate::workload::progress::waiting(w, expect.generation) {
        Err(reason) => return progress(Verdict::Failed { reason }),
        Ok(Some(phase)) => return progress(Verdict::Waiting { phase }),
        Ok(None) => {}
    }
    // Old pods that failed for good (evicted, node lost) do not run any more: they are gone.
    let old = live
        .iter()
        .filter(|p| replaced(p) && !is_new(p, marker) && !has_phase(p, "Failed"))
        .count();
    let terminating = live
        .iter()
        .filter(|p| is_new(p, marker) && is_terminating(p))
        .count();
    if old > 0 {
        return progress(Verdict::Waiting {
            phase: format!("{old} old pod{} still present", plural(old)),
        });
    }
    if let Some(rev) = w.update_revision() {
        let behind = new
            .iter()
            .filter(|p| replaced(p) && revision_of(p).is_some_and(|r| r != rev))
            .count();
        if behind > 0 {
            return progress(Verdict::Waiting {
                phase: format!("{behind} pod{} not yet at revision {rev}", plural(behind)),
            });
        }
    }
    if ready < desired {
        return progress(Verdict::Waiting {
            phase: format!("{ready} of {desired} new pods Ready"),
        });
    }
    if terminating > 0 {
        return progress(Verdict::Waiting {
            phase: format!("{terminating} pod{} terminating", plural(terminating)),
        });
    }
    progress(Verdict::Complete)
}

pub(crate) fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// During `--stable-for`: a new pod that was Ready at completion and is not any more, or restarted.
pub(crate) fn stability_failure(at_complete: &[(String, i32)], pods: &[Pod]) -> Option<PodFailure> {
    for (uid, restarts_then) in at_complete {
        match pods.iter().find(|p| pod_uid(p) == uid) {
            None => {
                return Some(PodFailure {
                    pod: uid.clone(),
                    container: None,
                    reason: "Deleted".into(),
                    exit_code: None,
                    message: Some("a new pod disappeared during --stable-for".into()),
                    restarts: 0,
                    cause: None,
                })
            }
            Some(p) => {
                if restarts(p) > *restarts_then {
                    return Some(pod_failure(p).unwrap_or_else(|| unready_failure(p)));
                }
                if !is_ready(p) {
                    let mut f = unready_failure(p);
                    if f.reason == "NotReady" {
                        f.message = Some("became unready during --stable-for".into());
                    }
                    return Some(f);
                }
            }
        }
    }
    None
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::workload::from_yaml;

    pub(crate) fn pod(yaml: &str) -> Pod {
        serde_yaml::from_str(yaml).expect("pod fixture")
    }

    pub(crate) fn ready_pod(name: &str, marker: &str) -> Pod {
        pod(&format!(
            r#"
metadata:
  name: {name}
  uid: uid-{name}
  annotations: {{kubectl.kubernetes.io/restartedAt: "{marker}"}}
status:
  phase: Running
  conditions: [{{type: Ready, status: "True"}}]
  containerStatuses:
  - {{name: app, ready: true, restartCount: 0, image: x, imageID: x, state: {{running: {{}}}}}}
"#
        ))
    }

    /// The restart's marker, and an older one.
    const T: &str = "2026-11-23T15:00:00Z";
    const OLD: &str = "2026-01-01T00:00:00Z";
    /// [`deploy`]'s status once its rollout is done.
    const ROLLED_OUT: &str =
        "{observedGeneration: 4, replicas: 2, updatedReplicas: 2, availableReplicas: 2}";

    fn deploy(status: &str) -> Object {
        from_yaml(&format!(
            r#"
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, generation: 4}}
spec:
  replicas: 2
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata:
      labels: {{app: web}}
      annotations: {{kubectl.kubernetes.io/restartedAt: "{T}"}}
    spec: {{containers: [{{name: app, image: x}}]}}
status: {status}
"#
        ))
    }

    /// What a restart of [`deploy`] expects.
    fn expect() -> Expect {
        expect_at(4)
    }

    /// What a restart expects of a workload at `generation`, marked with [`T`].
    fn expect_at(generation: i64) -> Expect {
        Expect {
            marker: Some(T.into()),
            generation,
            exempt: Default::default(),
        }
    }

    /// Asserts that `w` is still rolling out, in a phase whose text contains `phase` ("": any phase).
    #[track_caller]
    fn assert_waiting(w: &Object, pods: &[Pod], e: &Expect, phase: &str) {
        let p = assess(w, pods, e);
        assert!(
            matches!(&p.verdict, Verdict::Waiting { phase: now } if now.contains(phase)),
            "{p:?}"
        );
    }

    #[test]
    fn deployment_waits_for_generation_then_replicas() {
        let pods = [ready_pod("a", T), ready_pod("b", T)];
        // (status, what the phase says while waiting)
        for (status, phase) in [
            (
                "{observedGeneration: 3, replicas: 2, updatedReplicas: 2, availableReplicas: 2}",
                "generation 4",
            ),
            (
                "{observedGeneration: 4, replicas: 3, updatedReplicas: 2, availableReplicas: 2}",
                "1 old replicas",
            ),
            (
                "{observedGeneration: 4, replicas: 2, updatedReplicas: 1, availableReplicas: 2}",
                "",
            ),
            (
                "{observedGeneration: 4, replicas: 2, updatedReplicas: 2, availableReplicas: 1}",
                "",
            ),
        ] {
            assert_waiting(&deploy(status), &pods, &expect(), phase);
        }
        let w = deploy(ROLLED_OUT);
        let p = assess(&w, &pods, &expect());
        assert_eq!(p.verdict, Verdict::Complete);
        assert_eq!((p.ready, p.desired), (2, 2));
    }

    #[test]
    fn deployment_stricter_than_kubectl_on_pods() {
        let w = deploy(ROLLED_OUT);
        // An old pod still terminating: kubectl would say done, we wait.
        let mut old = ready_pod("old", OLD);
        old.metadata.deletion_timestamp = Some(
            k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(jiff::Timestamp::UNIX_EPOCH),
        );
        let pods = [ready_pod("a", T), ready_pod("b", T), old];
        assert_waiting(&w, &pods, &expect(), "1 old pod still");
        // Only one new pod Ready although the status says 2 available.
        let pods = [ready_pod("a", T)];
        assert_waiting(&w, &pods, &expect(), "");
    }

    #[test]
    fn deployment_progress_deadline_fails() {
        let w = deploy(
            "{observedGeneration: 4, replicas: 2, updatedReplicas: 1, conditions: [{type: Progressing, status: 'False', reason: ProgressDeadlineExceeded}]}",
        );
        let p = assess(&w, &[], &expect());
        assert!(
            matches!(&p.verdict, Verdict::Failed { reason } if reason.contains("progress deadline")),
            "{p:?}"
        );
    }

    #[test]
    fn reverted_annotation_is_detected() {
        let w = deploy("{observedGeneration: 4}");
        let e = Expect {
            marker: Some("2026-11-23T16:00:00Z".into()),
            generation: 4,
            exempt: Default::default(),
        };
        assert_eq!(
            assess(&w, &[], &e).verdict,
            Verdict::Reverted {
                value: Some(T.into())
            }
        );
    }

    /// The StatefulSet `db` (3 replicas, generation 2) with this update strategy and status.
    fn sts(strategy: &str, status: &str) -> Object {
        from_yaml(&format!(
            r#"
apiVersion: apps/v1
kind: StatefulSet
metadata: {{name: db, generation: 2}}
spec:
  replicas: 3
  updateStrategy: {strategy}
  selector: {{matchLabels: {{app: db}}}}
  template:
    metadata:
      annotations: {{kubectl.kubernetes.io/restartedAt: "{T}"}}
    spec: {{containers: [{{name: app, image: x}}]}}
status: {status}
"#
        ))
    }

    /// The pods db-0, db-1 and db-2 of [`sts`], Ready, with these restart markers.
    fn db_pods(markers: [&str; 3]) -> Vec<Pod> {
        ["db-0", "db-1", "db-2"]
            .into_iter()
            .zip(markers)
            .map(|(name, marker)| ready_pod(name, marker))
            .collect()
    }

    const ROLLING: &str = "{type: RollingUpdate}";
    const PARTITION_2: &str = "{type: RollingUpdate, rollingUpdate: {partition: 2}}";
    const ON_DELETE: &str = "{type: OnDelete}";

    #[test]
    fn statefulset_counts_available_and_respects_partition() {
        let e = expect_at(2);
        let all_new = db_pods([T, T, T]);
        // Ready but not available (minReadySeconds): kubectl would say done, we wait.
        let w = sts(
            ROLLING,
            "{observedGeneration: 2, replicas: 3, readyReplicas: 3, availableReplicas: 2, updatedReplicas: 3, currentRevision: a, updateRevision: b}",
        );
        assert_waiting(&w, &all_new, &e, "");
        // Revisions still differ.
        let w = sts(
            ROLLING,
            "{observedGeneration: 2, replicas: 3, readyReplicas: 3, availableReplicas: 3, updatedReplicas: 3, currentRevision: a, updateRevision: b}",
        );
        assert_waiting(&w, &all_new, &e, "revision b");
        let w = sts(
            ROLLING,
            "{observedGeneration: 2, replicas: 3, readyReplicas: 3, availableReplicas: 3, updatedReplicas: 3, currentRevision: b, updateRevision: b}",
        );
        assert_eq!(assess(&w, &all_new, &e).verdict, Verdict::Complete);

        // Partition 2: only db-2 is replaced; db-0 and db-1 keep the old template and that is fine.
        let pods = db_pods([OLD, OLD, T]);
        let w = sts(
            PARTITION_2,
            "{observedGeneration: 2, replicas: 3, readyReplicas: 3, availableReplicas: 3, updatedReplicas: 1, currentRevision: a, updateRevision: b}",
        );
        let p = assess(&w, &pods, &e);
        assert_eq!(p.verdict, Verdict::Complete, "{p:?}");
        assert_eq!((p.ready, p.desired), (1, 1));
        // …but db-2 still old is not.
        let pods = db_pods([OLD, OLD, OLD]);
        let w = sts(
            PARTITION_2,
            "{observedGeneration: 2, replicas: 3, readyReplicas: 3, availableReplicas: 3, updatedReplicas: 0}",
        );
        assert_waiting(&w, &pods, &e, "");
    }

    fn at_revision(mut p: Pod, rev: &str) -> Pod {
        p.metadata
            .labels
            .get_or_insert_with(Default::default)
            .insert("controller-revision-hash".into(), rev.into());
        p
    }

    /// Upstream (≤ 1.35) never moves `currentRevision` to `updateRevision` for OnDelete: after every pod was
    /// replaced the status still reads currentRevision db-5d8f, currentReplicas 0, updatedReplicas 3
    /// (`completeRollingUpdate` only runs for RollingUpdate). Completion comes from the pods.
    #[test]
    fn ondelete_statefulset_completes_although_current_revision_stays_old() {
        let e = expect_at(2);
        let status = "{observedGeneration: 2, replicas: 3, readyReplicas: 3, availableReplicas: 3, currentReplicas: 0, updatedReplicas: 3, currentRevision: db-5d8f, updateRevision: db-7c9d, collisionCount: 0}";
        let pods: Vec<Pod> = ["db-0", "db-1", "db-2"]
            .iter()
            .map(|n| at_revision(ready_pod(n, T), "db-7c9d"))
            .collect();
        let p = assess(&sts(ON_DELETE, status), &pods, &e);
        assert_eq!(p.verdict, Verdict::Complete, "{p:?}");
        assert_eq!((p.ready, p.desired), (3, 3));
        // A pod still at the old revision is not done, whatever its annotation says.
        let mut behind = pods.clone();
        behind[0] = at_revision(ready_pod("db-0", T), "db-5d8f");
        assert_waiting(&sts(ON_DELETE, status), &behind, &e, "revision db-7c9d");
        // Not all replaced yet: updatedReplicas says so.
        let status = "{observedGeneration: 2, replicas: 3, readyReplicas: 3, availableReplicas: 3, currentReplicas: 1, updatedReplicas: 2, currentRevision: db-5d8f, updateRevision: db-7c9d}";
        assert_waiting(&sts(ON_DELETE, status), &pods, &e, "");
        // RollingUpdate still waits for the revisions to be equal (the controller completes it there).
        let rolling = sts(
            ROLLING,
            "{observedGeneration: 2, replicas: 3, readyReplicas: 3, availableReplicas: 3, updatedReplicas: 3, currentRevision: db-5d8f, updateRevision: db-7c9d}",
        );
        assert_waiting(&rolling, &pods, &e, "");
    }

    #[test]
    fn daemonset_updated_and_available() {
        let ds = |status: &str| {
            from_yaml(&format!(
                r#"
apiVersion: apps/v1
kind: DaemonSet
metadata: {{name: agent, generation: 7}}
spec:
  selector: {{matchLabels: {{app: agent}}}}
  template:
    metadata:
      annotations: {{kubectl.kubernetes.io/restartedAt: "{T}"}}
    spec: {{containers: [{{name: app, image: x}}]}}
status: {status}
"#
            ))
        };
        let e = expect_at(7);
        let pods = [ready_pod("agent-a", T), ready_pod("agent-b", T)];
        let w = ds("{observedGeneration: 7, desiredNumberScheduled: 2, currentNumberScheduled: 2, numberMisscheduled: 0, numberReady: 2, updatedNumberScheduled: 1, numberAvailable: 2}");
        assert_waiting(&w, &pods, &e, "");
        let w = ds("{observedGeneration: 7, desiredNumberScheduled: 2, currentNumberScheduled: 2, numberMisscheduled: 0, numberReady: 2, updatedNumberScheduled: 2, numberAvailable: 1}");
        assert_waiting(&w, &pods, &e, "");
        let w = ds("{observedGeneration: 7, desiredNumberScheduled: 2, currentNumberScheduled: 2, numberMisscheduled: 0, numberReady: 2, updatedNumberScheduled: 2, numberAvailable: 2}");
        assert_eq!(assess(&w, &pods, &e).verdict, Verdict::Complete);
    }

    fn failing(cs: &str) -> Pod {
        pod(&format!(
            r#"
metadata:
  name: web-new
  annotations: {{kubectl.kubernetes.io/restartedAt: "{T}"}}
status:
  phase: Running
  containerStatuses:
  - {cs}
"#
        ))
    }

    /// Asserts that the failure's one-line verdict contains `text`.
    #[track_caller]
    fn assert_says(f: &PodFailure, text: &str) {
        assert!(f.verdict().contains(text), "{}", f.verdict());
    }

    #[test]
    fn failures_of_new_pods() {
        let p = failing("{name: app, ready: false, restartCount: 2, image: x, imageID: x, state: {waiting: {reason: CrashLoopBackOff, message: back-off 20s}}, lastState: {terminated: {exitCode: 1, reason: Error, message: 'panic: boom'}}}");
        let f = pod_failure(&p).unwrap();
        assert_eq!(
            (f.reason.as_str(), f.exit_code),
            ("CrashLoopBackOff", Some(1))
        );
        assert_says(&f, "crash-looping (exit code 1), 2 restarts: panic: boom");

        let p = failing("{name: app, ready: false, restartCount: 1, image: x, imageID: x, state: {running: {}}, lastState: {terminated: {exitCode: 137, reason: OOMKilled}}}");
        let f = pod_failure(&p).unwrap();
        assert_eq!(f.reason, "OOMKilled");
        assert_says(&f, "OOMKilled (exit code 137, SIGKILL)");

        let p = failing("{name: app, ready: false, restartCount: 0, image: x, imageID: x, state: {waiting: {reason: ImagePullBackOff, message: 'Back-off pulling image \"nope:1\"'}}}");
        let f = pod_failure(&p).unwrap();
        assert_says(&f, "cannot pull its image");

        let p = failing("{name: app, ready: false, restartCount: 1, image: x, imageID: x, state: {running: {}}, lastState: {terminated: {exitCode: 1, reason: Error}}}");
        assert_eq!(pod_failure(&p).unwrap().exit_code, Some(1));

        let p = failing("{name: app, ready: false, restartCount: 0, image: x, imageID: x, state: {running: {}}}");
        assert_eq!(pod_failure(&p), None);
        let f = unready_failure(&p);
        assert_eq!(f.reason, "NotReady");
        assert_says(&f, "never became Ready");

        // A failing new pod stops the restart.
        let w = deploy("{observedGeneration: 4, replicas: 2, updatedReplicas: 1}");
        let p = failing("{name: app, ready: false, restartCount: 0, image: x, imageID: x, state: {waiting: {reason: CreateContainerConfigError, message: 'secret \"db\" not found'}}}");
        let v = assess(&w, &[p], &expect()).verdict;
        assert!(
            matches!(&v, Verdict::PodFailed(f) if f.verdict().contains("missing Secret")),
            "{v:?}"
        );
    }

    #[test]
    fn old_pod_failures_do_not_count() {
        let w = deploy(
            "{observedGeneration: 4, replicas: 1, updatedReplicas: 1, availableReplicas: 1}",
        );
        let mut old = failing("{name: app, ready: false, restartCount: 5, image: x, imageID: x, state: {waiting: {reason: CrashLoopBackOff}}}");
        old.metadata.annotations = None;
        let v = assess(&w, &[old], &expect()).verdict;
        assert!(matches!(v, Verdict::Waiting { .. }), "{v:?}");
    }

    #[test]
    fn scaled_to_zero_is_complete_once_observed() {
        let w = from_yaml(&format!(
            "kind: Deployment\nmetadata: {{name: web, generation: 4}}\nspec: {{replicas: 0, selector: {{}}, template: {{metadata: {{annotations: {{kubectl.kubernetes.io/restartedAt: '{T}'}}}}}}}}\nstatus: {{observedGeneration: 4}}"
        ));
        let p = assess(&w, &[], &expect());
        assert_eq!((p.verdict, p.ready, p.desired), (Verdict::Complete, 0, 0));
    }

    #[test]
    fn pods_of_other_controllers_are_ignored() {
        let w = deploy(ROLLED_OUT);
        let mut job_pod = ready_pod("migrate", OLD);
        job_pod.metadata.owner_references = Some(
            serde_yaml::from_str(
                "[{apiVersion: batch/v1, kind: Job, name: migrate, uid: j, controller: true}]",
            )
            .unwrap(),
        );
        let mut other_rs = ready_pod("webhook", OLD);
        other_rs.metadata.owner_references = Some(
            serde_yaml::from_str("[{apiVersion: apps/v1, kind: ReplicaSet, name: web-api-5d8f, uid: r, controller: true}]").unwrap(),
        );
        let mut old_own = ready_pod("web-old", OLD);
        old_own.metadata.owner_references = Some(
            serde_yaml::from_str("[{apiVersion: apps/v1, kind: ReplicaSet, name: web-7c9d, uid: r2, controller: true}]").unwrap(),
        );
        let pods = [ready_pod("a", T), ready_pod("b", T), job_pod, other_rs];
        assert_eq!(assess(&w, &pods, &expect()).verdict, Verdict::Complete);
        let pods = [ready_pod("a", T), ready_pod("b", T), old_own];
        assert_waiting(&w, &pods, &expect(), "");
    }

    #[test]
    fn exempt_pods_are_judged_on_readiness_only() {
        let w = deploy(ROLLED_OUT);
        let mut restarted = ready_pod("a", T);
        restarted
            .status
            .as_mut()
            .unwrap()
            .container_statuses
            .as_mut()
            .unwrap()[0]
            .restart_count = 3;
        assert!(matches!(
            assess(&w, &[restarted.clone(), ready_pod("b", T)], &expect()).verdict,
            Verdict::PodFailed(_)
        ));
        let mut e = expect();
        e.exempt.insert("uid-a".into());
        assert_eq!(
            assess(&w, &[restarted, ready_pod("b", T)], &e).verdict,
            Verdict::Complete
        );
    }

    #[test]
    fn failed_old_pods_count_as_gone() {
        let w = deploy(ROLLED_OUT);
        let mut evicted = ready_pod("old", OLD);
        evicted.status.as_mut().unwrap().phase = Some("Failed".into());
        assert_eq!(
            assess(
                &w,
                &[ready_pod("a", T), ready_pod("b", T), evicted],
                &expect()
            )
            .verdict,
            Verdict::Complete
        );
    }

    #[test]
    fn stability() {
        let a = ready_pod("a", T);
        let snapshot = vec![("uid-a".to_string(), 0)];
        assert_eq!(stability_failure(&snapshot, std::slice::from_ref(&a)), None);
        let mut unready = a.clone();
        unready.status.as_mut().unwrap().conditions = None;
        assert!(stability_failure(&snapshot, &[unready]).is_some());
        assert!(stability_failure(&snapshot, &[]).is_some());
    }
}
