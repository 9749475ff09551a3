//! Replacing pods one at a time through the Eviction API, so PodDisruptionBudgets are honoured: used for
//! `OnDelete` StatefulSets/DaemonSets, `pod/NAME` targets and `--pods`. A 429 (budget exhausted) is
//! retried with back-off and its reason shown; then the replacement (a new UID in the same slot) is
//! awaited with a watch until Ready.

use std::collections::BTreeSet;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{EvictParams, ListParams, PostParams};
use kube::Api;
use tokio::time::Instant;

use super::api::{self, Contact, Stop};
use super::backup::Saved;
use super::interrupt::{Interrupt, Section};
use super::model::PodFailure;
use super::render::Note;
use super::status;
use super::track::Tracker;
use super::undone;
use super::wait::{check_watch_error, watch_pods, Cache, Outcome};
use crate::client::Kube;
use crate::error::Error;

/// Which pod counts as the replacement of an evicted one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Slot {
    /// StatefulSet pods and recreated bare pods keep their name.
    SameName(String),
    /// DaemonSet pods: the new pod on the same node.
    SameNode(String),
    /// ReplicaSet pods: any new pod.
    Any,
}

impl Slot {
    pub(crate) fn of(pod: &Pod) -> Slot {
        let owner = crate::workload::owner::controller_of(&pod.metadata);
        match owner.map(|o| o.kind.as_str()) {
            Some("DaemonSet") => match pod.spec.as_ref().and_then(|s| s.node_name.clone()) {
                Some(n) => Slot::SameNode(n),
                None => Slot::Any,
            },
            Some("StatefulSet") | None => Slot::SameName(status::pod_name(pod).to_string()),
            Some(_) => Slot::Any,
        }
    }
}

/// Where a replacement stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Replacement {
    /// The evicted pod is still there (terminating).
    OldPresent,
    /// No replacement yet, or not Ready yet (its name).
    Waiting(Option<String>),
    Ready(String),
    Failed(PodFailure),
}

/// Judges the replacement of `old_uid` from the pods now present. `known`: UIDs present before the eviction.
/// `marker`: when set, the replacement must carry this restart annotation value.
pub(crate) fn replacement(
    pods: &[Pod],
    old_uid: &str,
    slot: &Slot,
    known: &BTreeSet<String>,
    marker: Option<Option<&str>>,
) -> Replacement {
    let candidates: Vec<&Pod> = pods
        .iter()
        .filter(|p| !known.contains(status::pod_uid(p)) && !status::is_terminating(p))
        .filter(|p| marker.is_none_or(|m| status::is_new(p, m)))
        .filter(|p| match slot {
            Slot::SameName(n) => status::pod_name(p) == n,
            Slot::SameNode(n) => p.spec.as_ref().and_then(|s| s.node_name.as_deref()) == Some(n),
            Slot::Any => true,
        })
        .collect();
    if let Some(f) = candidates.iter().find_map(|p| status::pod_failure(p)) {
        return Replacement::Failed(f);
    }
    if pods.iter().any(|p| status::pod_uid(p) == old_uid) {
        return Replacement::OldPresent;
    }
    match candidates.iter().find(|p| status::is_ready(p)) {
        Some(p) => Replacement::Ready(status::pod_name(p).to_string()),
        None => Replacement::Waiting(candidates.first().map(|p| status::pod_name(p).to_string())),
    }
}

/// The message of a refused eviction: the status message plus its causes (which budget, how many pods).
fn eviction_reason(s: &kube::core::Status) -> String {
    let mut parts = vec![s.message.clone()];
    if let Some(d) = &s.details {
        for c in &d.causes {
            if !c.message.is_empty() && !parts.contains(&c.message) {
                parts.push(c.message.clone());
            }
        }
    }
    parts.retain(|p| !p.is_empty());
    if parts.is_empty() {
        "too many requests (429)".into()
    } else {
        parts.join(" ")
    }
}

/// How long past its deadline a restart keeps finishing an evicted bare pod (waiting for the old one to go
/// and creating it again), on top of the pod's grace period: giving up there would lose the pod.
const RECREATE_GRACE: Duration = Duration::from_secs(30);

/// How long the last look at the cluster may take once a deadline has passed.
pub(crate) const FINAL_READ: Duration = Duration::from_secs(3);

pub(crate) struct Evictor<'a> {
    pub kube: &'a Kube,
    pub contact: &'a Contact,
    pub interrupt: &'a Interrupt,
    pub ns: &'a str,
    pub deadline: Instant,
    pub timeout: Duration,
    pub index: usize,
    pub tracker: &'a Tracker,
}

/// What became of an eviction request.
enum Evicted {
    /// Accepted (or the pod was already gone); the critical section stays open for the caller.
    Yes(Section),
    /// Refused until the deadline (the reason of the last refusal).
    Refused(String),
}

impl Evictor<'_> {
    /// Evicts with back-off on 429. Each attempt is a critical section: a signal during a refusal's
    /// back-off stops with the pod untouched; an accepted eviction hands its open section to the caller.
    async fn evict(&self, name: &str, if_abandoned: &str) -> Result<Evicted, Stop> {
        let api: Api<Pod> = Api::namespaced(self.kube.client.clone(), self.ns);
        let mut delay = Duration::from_millis(500);
        loop {
            let section = self
                .interrupt
                .enter(self.index, if_abandoned.to_string())
                .await;
            // Not through `kube.call`: a 429 is an answer to act on here, not an error.
            // The last attempt comes right at the deadline: it still gets a short time to be answered.
            let by = self.deadline.max(Instant::now() + FINAL_READ);
            let res = match tokio::time::timeout(
                api::budget(by, self.kube.request_timeout),
                api.evict(name, &EvictParams::default()),
            )
            .await
            {
                Ok(r) => r,
                Err(_) => {
                    self.interrupt.close(section);
                    return Err(Stop::NoAnswer {
                        action: format!("evict pod {name}"),
                        last_answer: self.contact.last(),
                    });
                }
            };
            if matches!(&res, Ok(_) | Err(kube::Error::Api(_))) {
                self.contact.heard();
            }
            match res {
                Ok(_) => return Ok(Evicted::Yes(section)),
                Err(kube::Error::Api(s)) if s.code == 404 => return Ok(Evicted::Yes(section)),
                Err(kube::Error::Api(s)) if s.code == 429 => {
                    // Refused: nothing changed. After a signal the restart stops right here.
                    self.interrupt.leave(section).await;
                    let reason = eviction_reason(&s);
                    let now = Instant::now();
                    if now >= self.deadline {
                        return Ok(Evicted::Refused(reason));
                    }
                    // Back off, but try once more right at the deadline.
                    let wait = delay.min(self.deadline - now);
                    self.tracker
                        .eviction_blocked(self.index, name, &reason, wait);
                    tokio::time::sleep(wait).await;
                    delay = (delay * 2).min(Duration::from_secs(8));
                }
                Err(e) => {
                    self.interrupt.close(section);
                    return Err(Stop::Error(self.kube.map_err(
                        e,
                        "evict",
                        &format!("pod {name}"),
                        Some(self.ns),
                    )));
                }
            }
        }
    }

    /// Evicts `pod` and waits until its replacement is Ready. A pod without a controller (`saved`: its
    /// manifest on disk) is created again once the old one is gone: eviction → creation is one critical
    /// section that a first signal does not interrupt and that outlives `--timeout` by the pod's grace
    /// period, so the pod is never lost.
    /// `count`: (replaced so far including this one, total) for the PodReady event ((0, 0): none).
    pub(crate) async fn replace(
        &self,
        pod: &Pod,
        selector: &str,
        marker: Option<Option<&str>>,
        count: (i32, i32),
        saved: Option<&Saved>,
    ) -> Result<Outcome, Stop> {
        let name = status::pod_name(pod).to_string();
        let old_uid = status::pod_uid(pod).to_string();
        let slot = Slot::of(pod);
        let mut events = watch_pods(self.kube, self.ns, selector);
        let mut cache: Cache<Pod> = Cache::default();
        let mut known: Option<BTreeSet<String>> = None;
        // Open from the accepted eviction of a bare pod until it exists again.
        let mut critical: Option<Section> = None;
        let mut last_waiting: Option<String> = None;
        let sleep = tokio::time::sleep_until(self.deadline);
        tokio::pin!(sleep);
        let if_abandoned =
            |what: &str| undone::evicted_pod(self.ns, &name, what, saved.map(|s| s.path.as_path()));
        loop {
            tokio::select! {
                ev = events.next() => {
                    match ev {
                        None => return Err(Stop::Error(Error::other(format!("watch pods for {name}"), "the watch stream ended"))),
                        Some(Err(e)) => { check_watch_error(self.kube, e, &format!("pods ({selector})"), self.ns, self.tracker)?; continue; }
                        Some(Ok(e)) => { self.contact.heard(); cache.apply(e) }
                    }
                    if !cache.synced { continue; }
                    let pods: Vec<Pod> = cache.values().cloned().collect();
                    if known.is_none() {
                        known = Some(pods.iter().map(|p| status::pod_uid(p).to_string()).collect());
                        match self.evict(&name, &if_abandoned("may have been evicted (the eviction was sent, not confirmed)")).await {
                            Err(Stop::NoAnswer { action, last_answer }) => {
                                return Err(Stop::NoAnswer {
                                    action: undone::eviction_unanswered(&action, &if_abandoned("may have been evicted")),
                                    last_answer,
                                });
                            }
                            Err(e) => return Err(e),
                            Ok(Evicted::Refused(reason)) => {
                                return Ok(Outcome::Failed {
                                    reason: "eviction blocked".into(),
                                    failure: None,
                                    verdict: format!("eviction of pod {name} was refused until --timeout ran out: {reason}"),
                                });
                            }
                            Ok(Evicted::Yes(section)) => {
                                self.tracker.evicting(self.index, &name);
                                if saved.is_some() {
                                    self.interrupt.update(&section, if_abandoned("was evicted and is not created again yet"));
                                    // Finish the pod even past --timeout: its grace period plus a margin.
                                    let grace = pod.spec.as_ref().and_then(|s| s.termination_grace_period_seconds).unwrap_or(30);
                                    let until = Instant::now() + Duration::from_secs(grace.max(0) as u64) + RECREATE_GRACE;
                                    sleep.as_mut().reset(self.deadline.max(until));
                                    critical = Some(section);
                                } else {
                                    self.interrupt.leave(section).await;
                                }
                            }
                        }
                        continue;
                    }
                    let Some(known) = &known else { continue };
                    if critical.is_some() && !pods.iter().any(|p| status::pod_uid(p) == old_uid) {
                        if let Some(s) = saved {
                            self.recreate(s).await?;
                        }
                        if let Some(section) = critical.take() {
                            self.tracker.settled(self.index, "created again; waiting until it is Ready");
                            sleep.as_mut().reset(self.deadline.max(Instant::now() + Duration::from_secs(1)));
                            self.interrupt.leave(section).await;
                        }
                        continue;
                    }
                    match replacement(&pods, &old_uid, &slot, known, marker) {
                        Replacement::Ready(new) => {
                            if count.1 > 0 {
                                self.tracker.pod_ready(self.index, &new, count.0, count.1);
                            }
                            return Ok(Outcome::Complete);
                        }
                        Replacement::Failed(f) => {
                            let verdict = f.verdict();
                            return Ok(Outcome::Failed { reason: format!("replacement pod {} failed", f.pod), failure: Some(f), verdict });
                        }
                        Replacement::OldPresent => {}
                        Replacement::Waiting(w) => last_waiting = w,
                    }
                }
                _ = &mut sleep => {
                    let t = humantime::format_duration(self.timeout);
                    if let Some(section) = critical.take() {
                        // The old pod is still there (or we cannot see): say exactly how to finish by hand.
                        self.interrupt.close(section);
                        let still = self.get_pod(&name).await;
                        let what = if_abandoned("was evicted and NOT created again");
                        return Ok(match still {
                            Ok(Some(_)) => Outcome::Failed {
                                reason: "still terminating".into(),
                                failure: None,
                                verdict: format!("pod {name} was still terminating after its grace period: {what}"),
                            },
                            Ok(None) => match saved {
                                Some(s) => {
                                    self.recreate(s).await?;
                                    self.tracker.settled(self.index, "created again; not Ready by --timeout");
                                    Outcome::Failed {
                                        reason: format!("timed out after {t} (--timeout)"),
                                        failure: None,
                                        verdict: format!("pod {name} was created again at the end; it was not Ready by --timeout"),
                                    }
                                }
                                None => Outcome::Unknown { verdict: what },
                            },
                            Err(_) => Outcome::Unknown {
                                verdict: format!("{}: {what}", api::no_answer(self.contact.last())),
                            },
                        });
                    }
                    // A last fresh look: never judge from a view the API server stopped updating.
                    let pods = match self.fresh_pods(selector).await {
                        Ok(p) => p,
                        Err(_) => {
                            return Ok(Outcome::Unknown {
                                verdict: format!("could not observe the replacement of pod {name}: {}", api::no_answer(self.contact.last())),
                            })
                        }
                    };
                    if let Some(known) = &known {
                        if let Replacement::Ready(_) = replacement(&pods, &old_uid, &slot, known, marker) {
                            return Ok(Outcome::Complete);
                        }
                    }
                    let failure = last_waiting
                        .and_then(|n| pods.iter().find(|p| status::pod_name(p) == n).map(status::unready_failure));
                    let verdict = match &failure {
                        Some(f) => format!("{} (after {t})", f.verdict()),
                        None if pods.iter().any(|p| status::pod_uid(p) == old_uid) => format!("pod {name} was still terminating after {t}"),
                        None => format!("no replacement for pod {name} after {t}"),
                    };
                    return Ok(Outcome::Failed { reason: format!("timed out after {t} (--timeout)"), failure, verdict });
                }
            }
        }
    }

    /// The pods matching `selector` now, with a short deadline of their own (the target's has passed).
    async fn fresh_pods(&self, selector: &str) -> Result<Vec<Pod>, Stop> {
        let api: Api<Pod> = Api::namespaced(self.kube.client.clone(), self.ns);
        let lp = ListParams::default().labels(selector);
        let list = api::call(
            self.kube,
            self.contact,
            Instant::now() + FINAL_READ,
            ("list", &format!("pods -l {selector}"), Some(self.ns)),
            api.list(&lp),
        )
        .await?;
        Ok(list.items)
    }

    /// The pod by name now (`None`: gone), with a short deadline of its own.
    async fn get_pod(&self, name: &str) -> Result<Option<Pod>, Stop> {
        let api: Api<Pod> = Api::namespaced(self.kube.client.clone(), self.ns);
        match api::call(
            self.kube,
            self.contact,
            Instant::now() + FINAL_READ,
            ("get", &format!("pod {name}"), Some(self.ns)),
            api.get_opt(name),
        )
        .await
        {
            Ok(p) => Ok(p),
            Err(e) => Err(e),
        }
    }

    /// Creates a bare pod again from its saved manifest (scheduled afresh). A pod of that name that exists
    /// already (409) counts as created: the name is taken again, by it.
    async fn recreate(&self, saved: &Saved) -> Result<(), Stop> {
        let api: Api<Pod> = Api::namespaced(self.kube.client.clone(), self.ns);
        let name = status::pod_name(&saved.pod).to_string();
        // Creating is what makes the pod exist again: give it time even when the deadline has passed.
        let by = self.deadline.max(Instant::now() + RECREATE_GRACE);
        let res = api::call(
            self.kube,
            self.contact,
            by,
            ("create", &format!("pod {name}"), Some(self.ns)),
            api.create(&PostParams::default(), &saved.pod),
        )
        .await;
        match res {
            Ok(_) => {}
            Err(Stop::Error(Error::Api { code: 409, .. })) => {
                self.tracker.note(Note::PodExists { pod: &name });
                return Ok(());
            }
            Err(Stop::NoAnswer {
                action,
                last_answer,
            }) => {
                return Err(Stop::NoAnswer {
                    action: undone::create_unanswered(&action, &name, self.ns, &saved.path),
                    last_answer,
                })
            }
            Err(Stop::Error(e)) => {
                return Err(Stop::Error(Error::other(
                    format!("create pod {name} again"),
                    format!(
                        "{e}; its manifest is saved: `kubectl create -f {}`",
                        saved.path.display()
                    ),
                )))
            }
        }
        self.tracker.recreated(self.index, &name, &saved.path);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::restart::status::tests::{pod, ready_pod};

    #[test]
    fn statefulset_replacement_keeps_the_name() {
        let old = ready_pod("db-1", "a");
        let known: BTreeSet<String> = ["uid-db-1".to_string(), "uid-db-0".to_string()].into();
        let slot = Slot::SameName("db-1".into());
        let m = Some(Some("b"));
        assert_eq!(
            replacement(
                &[old.clone(), ready_pod("db-0", "a")],
                "uid-db-1",
                &slot,
                &known,
                m
            ),
            Replacement::OldPresent
        );
        assert_eq!(
            replacement(&[ready_pod("db-0", "a")], "uid-db-1", &slot, &known, m),
            Replacement::Waiting(None)
        );
        let mut new = ready_pod("db-1", "b");
        new.metadata.uid = Some("uid-new".into());
        assert_eq!(
            replacement(&[new.clone()], "uid-db-1", &slot, &known, m),
            Replacement::Ready("db-1".into())
        );
        // A replacement from the old template does not count when a marker is required.
        let mut stale = ready_pod("db-1", "a");
        stale.metadata.uid = Some("uid-new".into());
        assert_eq!(
            replacement(&[stale], "uid-db-1", &slot, &known, m),
            Replacement::Waiting(None)
        );
    }

    #[test]
    fn failing_replacement_is_reported() {
        let known: BTreeSet<String> = ["uid-old".to_string()].into();
        let bad = pod(r#"
metadata: {name: web-x, uid: uid-x}
status:
  phase: Running
  containerStatuses:
  - {name: app, ready: false, restartCount: 0, image: x, imageID: x, state: {waiting: {reason: ErrImagePull}}}
"#);
        let r = replacement(&[bad], "uid-old", &Slot::Any, &known, None);
        assert!(matches!(r, Replacement::Failed(f) if f.reason == "ErrImagePull"));
    }

    #[test]
    fn slots() {
        let p = pod("metadata: {name: agent-x, ownerReferences: [{apiVersion: apps/v1, kind: DaemonSet, name: agent, uid: u, controller: true}]}\nspec: {nodeName: n1, containers: []}");
        assert_eq!(Slot::of(&p), Slot::SameNode("n1".into()));
        let p = pod("metadata: {name: web-x, ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web, uid: u, controller: true}]}");
        assert_eq!(Slot::of(&p), Slot::Any);
        let p = pod("metadata: {name: solo}");
        assert_eq!(Slot::of(&p), Slot::SameName("solo".into()));
    }
}
