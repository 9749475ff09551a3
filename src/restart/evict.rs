//! Replacing pods one at a time through the Eviction API, so PodDisruptionBudgets are honoured: used for
//! `OnDelete` StatefulSets/DaemonSets, `pod/NAME` targets and `--pods`. A 429 (budget exhausted) is
//! retried with back-off and its reason shown; then the replacement (a new UID in the same slot) is
//! awaited with a watch until Ready.

use std::collections::BTreeSet;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{EvictParams, PostParams};
use kube::Api;
use tokio::time::Instant;

use super::render::Reporter;
use super::status::{self, PodFailure};
use super::wait::{check_watch_error, watch_pods, Cache, Outcome};
use crate::client::Kube;
use crate::error::{Error, Result};

/// Which pod counts as the replacement of an evicted one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Slot {
    /// StatefulSet pods and recreated bare pods keep their name.
    SameName(String),
    /// DaemonSet pods: the new pod on the same node.
    SameNode(String),
    /// ReplicaSet pods: any new pod.
    Any,
}

impl Slot {
    pub fn of(pod: &Pod) -> Slot {
        let owner = crate::meta::controller_of(&pod.metadata);
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
pub enum Replacement {
    /// The evicted pod is still there (terminating).
    OldPresent,
    /// No replacement yet, or not Ready yet (its name).
    Waiting(Option<String>),
    Ready(String),
    Failed(PodFailure),
}

/// Judges the replacement of `old_uid` from the pods now present. `known`: UIDs present before the eviction.
/// `marker`: when set, the replacement must carry this restart annotation value.
pub fn replacement(
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

pub struct Evictor<'a> {
    pub kube: &'a Kube,
    pub ns: &'a str,
    pub deadline: Instant,
    pub timeout: Duration,
    pub index: usize,
    pub reporter: &'a Reporter,
}

impl Evictor<'_> {
    /// Evicts with back-off on 429. `Ok(Err(reason))` when the deadline passed while still refused.
    async fn evict(&self, name: &str) -> Result<std::result::Result<(), String>> {
        let api: Api<Pod> = Api::namespaced(self.kube.client.clone(), self.ns);
        let mut delay = Duration::from_millis(500);
        loop {
            // Not through `kube.call`: a 429 is an answer to act on here, not an error.
            let res = match self.kube.request_timeout {
                Some(t) => {
                    match tokio::time::timeout(t, api.evict(name, &EvictParams::default())).await {
                        Ok(r) => r,
                        Err(_) => return Err(Error::timeout(format!("evict pod {name}"), t)),
                    }
                }
                None => api.evict(name, &EvictParams::default()).await,
            };
            match res {
                Ok(_) => return Ok(Ok(())),
                Err(kube::Error::Api(s)) if s.code == 404 => return Ok(Ok(())),
                Err(kube::Error::Api(s)) if s.code == 429 => {
                    let reason = eviction_reason(&s);
                    let now = Instant::now();
                    if now >= self.deadline {
                        return Ok(Err(reason));
                    }
                    // Back off, but try once more right at the deadline.
                    let wait = delay.min(self.deadline - now);
                    self.reporter
                        .eviction_blocked(self.index, name, &reason, wait);
                    tokio::time::sleep(wait).await;
                    delay = (delay * 2).min(Duration::from_secs(8));
                }
                Err(e) => {
                    return Err(self.kube.map_err(
                        e,
                        "evict",
                        &format!("pod {name}"),
                        Some(self.ns),
                    ))
                }
            }
        }
    }

    /// Evicts `pod` and waits until its replacement is Ready. A pod without a controller is created
    /// again from its spec once the old one is gone.
    /// `count`: (replaced so far including this one, total) for the PodReady event ((0, 0): none).
    pub async fn replace(
        &self,
        pod: &Pod,
        selector: &str,
        marker: Option<Option<&str>>,
        count: (i32, i32),
    ) -> Result<Outcome> {
        let name = status::pod_name(pod).to_string();
        let old_uid = status::pod_uid(pod).to_string();
        let slot = Slot::of(pod);
        let bare = crate::meta::controller_of(&pod.metadata).is_none();
        let mut events = watch_pods(self.kube, self.ns, selector);
        let mut cache: Cache<Pod> = Cache::default();
        let mut known: Option<BTreeSet<String>> = None;
        let mut recreated = false;
        let mut last_waiting: Option<String> = None;
        let sleep = tokio::time::sleep_until(self.deadline);
        tokio::pin!(sleep);
        loop {
            tokio::select! {
                ev = events.next() => {
                    match ev {
                        None => return Err(Error::other(format!("watch pods for {name}"), "the watch stream ended")),
                        Some(Err(e)) => { check_watch_error(self.kube, e, &format!("pods ({selector})"), self.ns, self.reporter)?; continue; }
                        Some(Ok(e)) => cache.apply(e),
                    }
                    if !cache.synced { continue; }
                    let pods: Vec<Pod> = cache.values().cloned().collect();
                    if known.is_none() {
                        known = Some(pods.iter().map(|p| status::pod_uid(p).to_string()).collect());
                        if let Err(reason) = self.evict(&name).await? {
                            return Ok(Outcome::Failed {
                                reason: "eviction blocked".into(),
                                failure: None,
                                verdict: format!("eviction of pod {name} was refused until --timeout ran out: {reason}"),
                            });
                        }
                        self.reporter.evicting(self.index, &name);
                        continue;
                    }
                    let Some(known) = &known else { continue };
                    match replacement(&pods, &old_uid, &slot, known, marker) {
                        Replacement::Ready(new) => {
                            if count.1 > 0 {
                                self.reporter.pod_ready(self.index, &new, count.0, count.1);
                            }
                            return Ok(Outcome::Complete);
                        }
                        Replacement::Failed(f) => {
                            let verdict = f.verdict();
                            return Ok(Outcome::Failed { reason: format!("replacement pod {} failed", f.pod), failure: Some(f), verdict });
                        }
                        Replacement::OldPresent => {}
                        Replacement::Waiting(w) => {
                            if bare && !recreated {
                                self.recreate(pod).await?;
                                recreated = true;
                            }
                            last_waiting = w;
                        }
                    }
                }
                _ = &mut sleep => {
                    let pods: Vec<&Pod> = cache.values().collect();
                    let failure = last_waiting
                        .and_then(|n| pods.iter().find(|p| status::pod_name(p) == n).map(|p| status::unready_failure(p)));
                    let t = humantime::format_duration(self.timeout);
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

    /// Creates a bare pod again from its spec (same name, labels and annotations; scheduled afresh).
    async fn recreate(&self, old: &Pod) -> Result<()> {
        let mut spec = old.spec.clone().unwrap_or_default();
        spec.node_name = None;
        let pod = Pod {
            metadata: kube::api::ObjectMeta {
                name: old.metadata.name.clone(),
                namespace: Some(self.ns.to_string()),
                labels: old.metadata.labels.clone(),
                annotations: old.metadata.annotations.clone(),
                ..Default::default()
            },
            spec: Some(spec),
            status: None,
        };
        let api: Api<Pod> = Api::namespaced(self.kube.client.clone(), self.ns);
        let name = status::pod_name(old).to_string();
        self.kube
            .call(
                "create",
                &format!("pod {name}"),
                Some(self.ns),
                api.create(&PostParams::default(), &pod),
            )
            .await?;
        self.reporter
            .log(&format!("created pod {name} again (it has no controller)"));
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
