//! Waiting with watches, never sleep-polling: kube-runtime's `watcher` on the workload (field selector
//! `metadata.name`) and on its pods (the workload's label selector). The watcher resumes a dropped watch
//! from the last resourceVersion and relists after 410 Gone; an [`Cache`] applies its events like an
//! informer's store. Every change is judged by the pure [`status::assess`].

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;
use std::time::Duration;

use futures::stream::BoxStream;
use futures::{Stream, StreamExt};
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use k8s_openapi::api::core::v1::Pod;
use kube::runtime::watcher::{self, Event};
use kube::runtime::WatchStreamExt;
use kube::{Api, Resource};
use serde::de::DeserializeOwned;
use tokio::time::Instant;

use super::api::{self, Contact, Stop};
use super::evict::FINAL_READ;
use super::model::PodFailure;
use super::status::{self, Expect, Verdict};
use super::track::Tracker;
use super::trigger::{advice_for, annotation_writer, manager_of, Writer};

/// `Outcome::Failed` reasons the summary treats specially.
pub(crate) const TAKEN_OVER: &str = "taken over by another restart";
pub(crate) const REVERTED: &str = "restart annotation reverted";
pub(crate) const PAUSED: &str = "paused during the restart";
use crate::client::Kube;
use crate::error::{Error, Result};
use crate::workload::Object;

type StepResult<T> = std::result::Result<T, Stop>;
use crate::target::Kind;

/// How a wait ended (errors aside).
#[derive(Debug, Clone)]
pub(crate) enum Outcome {
    Complete,
    Failed {
        /// Short reason: "new pod failed", "timed out", "restart annotation reverted" …
        reason: String,
        failure: Option<PodFailure>,
        /// One line for people (the verdict for the failing pod).
        verdict: String,
    },
    /// The outcome could not be observed (the API server stopped answering): neither complete nor failed.
    Unknown {
        verdict: String,
    },
    /// Failed and already reported (then rolled back).
    Reported,
}

/// An informer-like store fed with watcher events; `synced` once the first list is complete.
pub(crate) struct Cache<K> {
    pub items: BTreeMap<String, K>,
    buffer: Option<BTreeMap<String, K>>,
    pub synced: bool,
}

impl<K> Default for Cache<K> {
    fn default() -> Self {
        Cache {
            items: BTreeMap::new(),
            buffer: None,
            synced: false,
        }
    }
}

/// Objects a [`Cache`] can hold.
pub(crate) trait Keyed {
    fn object_meta(&self) -> &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
}

impl Keyed for Pod {
    fn object_meta(&self) -> &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
        &self.metadata
    }
}

impl Keyed for Object {
    fn object_meta(&self) -> &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
        self.meta()
    }
}

impl<K: Keyed> Cache<K> {
    fn key(k: &K) -> String {
        let m = k.object_meta();
        m.uid.clone().or_else(|| m.name.clone()).unwrap_or_default()
    }

    pub(crate) fn apply(&mut self, ev: Event<K>) {
        match ev {
            Event::Init => self.buffer = Some(BTreeMap::new()),
            Event::InitApply(k) => {
                let key = Self::key(&k);
                self.buffer.get_or_insert_with(BTreeMap::new).insert(key, k);
            }
            Event::InitDone => {
                self.items = self.buffer.take().unwrap_or_default();
                self.synced = true;
            }
            Event::Apply(k) => {
                self.items.insert(Self::key(&k), k);
            }
            Event::Delete(k) => {
                self.items.remove(&Self::key(&k));
            }
        }
    }

    pub(crate) fn values(&self) -> impl Iterator<Item = &K> {
        self.items.values()
    }
}

/// A watch stream with back-off, as a boxed stream of events.
pub(crate) fn watch<K>(
    api: Api<K>,
    cfg: watcher::Config,
) -> BoxStream<'static, watcher::Result<Event<K>>>
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + 'static,
{
    watcher::watcher(api, cfg).default_backoff().boxed()
}

fn map_event<A, B>(ev: Event<A>, f: impl Fn(A) -> B) -> Event<B> {
    match ev {
        Event::Apply(a) => Event::Apply(f(a)),
        Event::Delete(a) => Event::Delete(f(a)),
        Event::Init => Event::Init,
        Event::InitApply(a) => Event::InitApply(f(a)),
        Event::InitDone => Event::InitDone,
    }
}

/// A watch on one workload, by name.
pub(crate) fn watch_workload(
    kube: &Kube,
    kind: Kind,
    ns: &str,
    name: &str,
) -> BoxStream<'static, watcher::Result<Event<Object>>> {
    let cfg = watcher::Config::default().fields(&format!("metadata.name={name}"));
    let c = kube.client.clone();
    match kind {
        Kind::StatefulSet => watch(Api::<StatefulSet>::namespaced(c, ns), cfg)
            .map(|r| r.map(|e| map_event(e, Object::StatefulSet)))
            .boxed(),
        Kind::DaemonSet => watch(Api::<DaemonSet>::namespaced(c, ns), cfg)
            .map(|r| r.map(|e| map_event(e, Object::DaemonSet)))
            .boxed(),
        _ => watch(Api::<Deployment>::namespaced(c, ns), cfg)
            .map(|r| r.map(|e| map_event(e, Object::Deployment)))
            .boxed(),
    }
}

/// Pods matching a label selector string.
pub(crate) fn watch_pods(
    kube: &Kube,
    ns: &str,
    selector: &str,
) -> BoxStream<'static, watcher::Result<Event<Pod>>> {
    watch(
        Api::<Pod>::namespaced(kube.client.clone(), ns),
        watcher::Config::default().labels(selector),
    )
}

/// Watch errors are retried by the watcher; only permission and missing-resource errors end the wait.
pub(crate) fn check_watch_error(
    kube: &Kube,
    e: watcher::Error,
    what: &str,
    ns: &str,
    tracker: &Tracker,
) -> Result<()> {
    let api_err = match &e {
        watcher::Error::InitialListFailed(k)
        | watcher::Error::WatchStartFailed(k)
        | watcher::Error::WatchFailed(k) => match k {
            kube::Error::Api(s) => Some(s.code),
            _ => None,
        },
        watcher::Error::WatchError(s) => Some(s.code),
        _ => None,
    };
    match (api_err, e) {
        (Some(code @ (401 | 403 | 404)), watcher::Error::InitialListFailed(k))
        | (Some(code @ (401 | 403 | 404)), watcher::Error::WatchStartFailed(k)) => {
            tracing::debug!("watch {what}: {code}");
            Err(kube.map_err(k, "watch", what, Some(ns)))
        }
        (Some(410), _) => {
            tracing::info!("watch {what}: resourceVersion expired (410 Gone), relisting");
            Ok(())
        }
        (_, e) => {
            tracing::info!("watch {what} interrupted, resuming: {e}");
            if !tracker.is_json() {
                tracing::debug!("watch error on {what}: {e}");
            }
            Ok(())
        }
    }
}

/// The innermost cause of an error, without the OS error number ("connection refused").
fn innermost(e: &(dyn std::error::Error + 'static)) -> String {
    let mut msg = e.to_string();
    let mut cur = e.source();
    while let Some(inner) = cur {
        let s = inner.to_string();
        if !s.is_empty() {
            msg = s;
        }
        cur = inner.source();
    }
    match msg.find(" (os error") {
        Some(i) => msg[..i].to_lowercase(),
        None => msg,
    }
}

/// What to wait for on one workload.
pub(crate) struct RolloutWait<'a> {
    pub kube: &'a Kube,
    pub contact: &'a Contact,
    pub ns: &'a str,
    pub kind: Kind,
    pub name: &'a str,
    pub selector: String,
    pub expect: Expect,
    pub deadline: Instant,
    pub timeout: Duration,
    pub stable_for: Option<Duration>,
    pub index: usize,
    pub tracker: &'a Tracker,
    /// Waiting for a rollback: progress is shown but the target's counts stay those of the failure.
    pub rollback: bool,
}

enum Change {
    Workload(Box<Event<Object>>),
    Pods(Box<Event<Pod>>),
}

fn merged(
    w: impl Stream<Item = watcher::Result<Event<Object>>> + Send + 'static,
    p: impl Stream<Item = watcher::Result<Event<Pod>>> + Send + 'static,
) -> BoxStream<'static, (bool, watcher::Result<Change>)> {
    futures::stream::select(
        w.map(|r| (true, r.map(|e| Change::Workload(Box::new(e))))),
        p.map(|r| (false, r.map(|e| Change::Pods(Box::new(e))))),
    )
    .boxed()
}

/// Waits until the restart is complete (and stable for `stable_for`), fails, or times out.
pub(crate) async fn wait_rollout(w: RolloutWait<'_>) -> StepResult<Outcome> {
    let target = format!("{}/{}", w.kind.short(), w.name);
    let mut events = merged(
        watch_workload(w.kube, w.kind, w.ns, w.name),
        watch_pods(w.kube, w.ns, &w.selector),
    );
    let mut workload: Cache<Object> = Cache::default();
    let mut pods: Cache<Pod> = Cache::default();
    let mut ready_seen: BTreeSet<String> = BTreeSet::new();
    // The last watch error, while the watches have not recovered from it.
    let mut watch_error: Option<String> = None;
    let deadline = tokio::time::sleep_until(w.deadline);
    tokio::pin!(deadline);
    // Set once complete: (when stable, the Ready new pods and their restart counts then).
    let mut stable: Option<(Instant, Vec<(String, i32)>)> = None;
    let far = Instant::now() + Duration::from_secs(365 * 24 * 3600);
    let stable_timer = tokio::time::sleep_until(far);
    tokio::pin!(stable_timer);
    loop {
        tokio::select! {
            ev = events.next() => {
                let Some((is_workload, ev)) = ev else {
                    return Err(Stop::Error(Error::other(format!("watch {target}"), "the watch stream ended")));
                };
                match ev {
                    Err(e) => {
                        let what = if is_workload { target.clone() } else { format!("pods of {target}") };
                        watch_error = Some(innermost(&e));
                        check_watch_error(w.kube, e, &what, w.ns, w.tracker)?;
                        continue;
                    }
                    Ok(Change::Workload(e)) => workload.apply(*e),
                    Ok(Change::Pods(e)) => pods.apply(*e),
                }
                w.contact.heard();
                watch_error = None;
                if !workload.synced || !pods.synced {
                    continue;
                }
                let Some(wl) = workload.values().next() else {
                    return Ok(Outcome::Failed {
                        reason: "deleted".into(),
                        failure: None,
                        verdict: format!("{target} was deleted during the restart"),
                    });
                };
                let pod_list: Vec<Pod> = pods.values().cloned().collect();
                if let Some((_, snapshot)) = &stable {
                    if let Some(f) = status::stability_failure(snapshot, &pod_list) {
                        let verdict = f.verdict();
                        return Ok(Outcome::Failed { reason: "unstable during --stable-for".into(), failure: Some(f), verdict });
                    }
                }
                let progress = status::assess(wl, &pod_list, &w.expect);
                for p in pod_list.iter().filter(|p| status::is_new(p, w.expect.marker.as_deref()) && status::is_ready(p)) {
                    if ready_seen.insert(status::pod_uid(p).to_string()) {
                        w.tracker.pod_ready(w.index, status::pod_name(p), progress.ready, progress.desired);
                    }
                }
                match progress.verdict {
                    Verdict::Complete => {
                        if stable.is_none() {
                            match w.stable_for {
                                Some(d) if !d.is_zero() => {
                                    let snapshot = pod_list.iter()
                                        .filter(|p| status::is_new(p, w.expect.marker.as_deref()) && status::is_ready(p))
                                        .map(|p| (status::pod_uid(p).to_string(), status::restarts(p)))
                                        .collect();
                                    let until = Instant::now() + d;
                                    stable = Some((until, snapshot));
                                    stable_timer.as_mut().reset(until);
                                    // --stable-for extends the deadline: stability is part of the target.
                                    deadline.as_mut().reset(w.deadline.max(until + Duration::from_secs(1)));
                                    w.tracker.progress_of(w.rollback, w.index, progress.ready, progress.desired,
                                        &format!("Ready; checking it stays Ready for {}", humantime::format_duration(d)));
                                }
                                _ => {
                                    w.tracker.progress_of(w.rollback, w.index, progress.ready, progress.desired, "complete");
                                    return Ok(Outcome::Complete);
                                }
                            }
                        }
                    }
                    Verdict::Waiting { phase } => {
                        w.tracker.progress_of(w.rollback, w.index, progress.ready, progress.desired, &phase);
                    }
                    Verdict::PodFailed(f) => {
                        w.tracker.progress_of(w.rollback, w.index, progress.ready, progress.desired, "a new pod failed");
                        let verdict = f.verdict();
                        return Ok(Outcome::Failed { reason: format!("new pod {} failed", f.pod), failure: Some(f), verdict });
                    }
                    Verdict::Failed { reason } => {
                        // The controller gave up (progress deadline): explain the new pod behind it.
                        let failure = status::new_pod_behind(&pod_list, w.expect.marker.as_deref());
                        let verdict = match &failure {
                            Some(f) => format!("{reason}: {}", f.verdict()),
                            None => reason.clone(),
                        };
                        return Ok(Outcome::Failed { reason: "progress deadline exceeded".into(), failure, verdict });
                    }
                    Verdict::Paused => {
                        let fresh = super::plan::get_workload(w.kube, w.contact, Instant::now() + FINAL_READ, w.kind, w.ns, w.name).await.ok();
                        let who = fresh
                            .as_ref()
                            .unwrap_or(wl)
                            .meta()
                            .managed_fields
                            .as_deref()
                            .and_then(|m| manager_of(m, &["f:spec"], "f:paused"));
                        let verdict = format!(
                            "{target} was paused during the restart{}: its controller stops rolling; resume it with `kubectl rollout resume {target} -n {}`",
                            who.map(|m| format!(" (spec.paused set by field manager {m})")).unwrap_or_default(),
                            w.ns
                        );
                        return Ok(Outcome::Failed { reason: PAUSED.into(), failure: None, verdict });
                    }
                    Verdict::Reverted { value } => {
                        // Read who did it from a fresh copy: a watch event may predate its managedFields.
                        let fresh = super::plan::get_workload(w.kube, w.contact, Instant::now() + FINAL_READ, w.kind, w.ns, w.name).await.ok();
                        let writer = fresh
                            .as_ref()
                            .unwrap_or(wl)
                            .meta()
                            .managed_fields
                            .as_deref()
                            .map(|m| annotation_writer(m, value.is_none()))
                            .unwrap_or(Writer::Unknown);
                        let now = value.as_deref().map(|v| format!("{v:?}")).unwrap_or_else(|| "absent".into());
                        let changed = if value.is_some() { "changed" } else { "removed" };
                        let (reason, verdict) = match writer {
                            Writer::OtherRestart => (
                                TAKEN_OVER,
                                format!("another `kubectl graceful restart` of {target} took over (restartedAt now {now}): it continues there; this one stops"),
                            ),
                            Writer::Manager(m) => (
                                REVERTED,
                                format!("field manager {m} {changed} the restart annotation (now {now}): stopping so as not to fight it; {}", advice_for(&m, &target, w.ns)),
                            ),
                            Writer::Probably(m) => (
                                REVERTED,
                                format!("the restart annotation was {changed} (now {now}), most likely by field manager {m} (it wrote the pod template last): stopping so as not to fight it; {}", advice_for(&m, &target, w.ns)),
                            ),
                            Writer::Unknown => (
                                REVERTED,
                                format!("another writer {changed} the restart annotation (now {now}); managedFields do not say who: stopping so as not to fight it"),
                            ),
                        };
                        return Ok(Outcome::Failed { reason: reason.into(), failure: None, verdict });
                    }
                }
            }
            _ = &mut stable_timer, if stable.is_some() => {
                return Ok(Outcome::Complete);
            }
            _ = &mut deadline => {
                // A last fresh look: never judge from a view the API server stopped updating.
                let fresh = futures::future::try_join(
                    super::plan::get_workload(w.kube, w.contact, Instant::now() + FINAL_READ, w.kind, w.ns, w.name),
                    list_pods_now(w.kube, w.contact, w.ns, &w.selector),
                )
                .await;
                let (wl, pod_list) = match fresh {
                    Ok(x) => x,
                    Err(stop @ (Stop::NoAnswer { .. } | Stop::Error(Error::Unreachable { .. }))) => {
                        let why = match stop {
                            Stop::Error(e) => format!("{e}; "),
                            _ => String::new(),
                        };
                        let seen = workload.values().next().map(|wl| {
                            let pl: Vec<Pod> = pods.values().cloned().collect();
                            match status::assess(wl, &pl, &w.expect).verdict {
                                Verdict::Waiting { phase } => phase,
                                _ => "not complete".into(),
                            }
                        });
                        return Ok(Outcome::Unknown {
                            verdict: format!(
                                "could not observe {target}: {why}{}{}{}",
                                api::no_answer(w.contact.last()),
                                watch_error.as_ref().map(|e| format!("; its watch failed: {e}")).unwrap_or_default(),
                                seen.map(|p| format!("; last seen: {p}")).unwrap_or_default()
                            ),
                        });
                    }
                    Err(Stop::Error(e)) if !e.is_not_found() => return Err(Stop::Error(e)),
                    Err(Stop::Error(_)) => {
                        return Ok(Outcome::Failed {
                            reason: "deleted".into(),
                            failure: None,
                            verdict: format!("{target} was deleted during the restart"),
                        })
                    }
                };
                let assessed = status::assess(&wl, &pod_list, &w.expect);
                if assessed.verdict == Verdict::Complete && stable.is_none() && w.stable_for.is_none() {
                    w.tracker.progress_of(w.rollback, w.index, assessed.ready, assessed.desired, "complete");
                    return Ok(Outcome::Complete);
                }
                let marker = w.expect.marker.as_deref();
                let unready = pod_list.iter().find(|p| status::is_new(p, marker) && !status::is_terminating(p) && !status::is_ready(p));
                let failure = unready.map(status::unready_failure);
                let phase = match assessed.verdict {
                    Verdict::Waiting { phase } => phase,
                    _ => "not complete".into(),
                };
                let verdict = match &failure {
                    Some(f) => format!("{} ({phase} after {})", f.verdict(), humantime::format_duration(w.timeout)),
                    None => format!("{phase} after {}", humantime::format_duration(w.timeout)),
                };
                return Ok(Outcome::Failed { reason: format!("timed out after {} (--timeout)", humantime::format_duration(w.timeout)), failure, verdict });
            }
        }
    }
}

/// The pods matching `selector` now, with a short deadline of their own.
async fn list_pods_now(
    kube: &Kube,
    contact: &Contact,
    ns: &str,
    selector: &str,
) -> StepResult<Vec<Pod>> {
    let api: Api<Pod> = Api::namespaced(kube.client.clone(), ns);
    let lp = kube::api::ListParams::default().labels(selector);
    Ok(api::call(
        kube,
        contact,
        Instant::now() + FINAL_READ,
        ("list", &format!("pods -l {selector}"), Some(ns)),
        api.list(&lp),
    )
    .await?
    .items)
}

/// Waits for the controller to observe `generation` (before evicting pods of an OnDelete workload, so
/// replacements get the new template).
pub(crate) async fn wait_observed(
    kube: &Kube,
    contact: &Contact,
    (kind, ns, name): (Kind, &str, &str),
    generation: i64,
    deadline: Instant,
    tracker: &Tracker,
) -> StepResult<bool> {
    let mut events = watch_workload(kube, kind, ns, name);
    let mut cache: Cache<Object> = Cache::default();
    let sleep = tokio::time::sleep_until(deadline);
    tokio::pin!(sleep);
    loop {
        tokio::select! {
            ev = events.next() => match ev {
                None => return Err(Stop::Error(Error::other(format!("watch {} {name}", kind.lower()), "the watch stream ended"))),
                Some(Err(e)) => check_watch_error(kube, e, &format!("{} {name}", kind.lower()), ns, tracker)?,
                Some(Ok(e)) => {
                    contact.heard();
                    cache.apply(e);
                    if cache.synced && cache.values().any(|w| w.observed_generation() >= generation) {
                        return Ok(true);
                    }
                }
            },
            _ = &mut sleep => {
                // A last fresh look before saying the controller did not observe it.
                let w = super::plan::get_workload(kube, contact, Instant::now() + FINAL_READ, kind, ns, name).await?;
                return Ok(w.observed_generation() >= generation);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::restart::status::tests::ready_pod;

    #[test]
    fn cache_applies_like_a_store() {
        let mut c: Cache<Pod> = Cache::default();
        c.apply(Event::Init);
        c.apply(Event::InitApply(ready_pod("a", "x")));
        assert!(!c.synced && c.items.is_empty());
        c.apply(Event::InitDone);
        assert!(c.synced);
        assert_eq!(c.items.len(), 1);
        c.apply(Event::Apply(ready_pod("b", "x")));
        c.apply(Event::Delete(ready_pod("a", "x")));
        assert_eq!(c.items.keys().collect::<Vec<_>>(), ["uid-b"]);
        // A relist (after 410 Gone) replaces everything, dropping objects deleted meanwhile.
        c.apply(Event::Init);
        c.apply(Event::InitApply(ready_pod("c", "x")));
        assert_eq!(
            c.items.len(),
            1,
            "old items stay visible until the relist is done"
        );
        c.apply(Event::InitDone);
        assert_eq!(c.items.keys().collect::<Vec<_>>(), ["uid-c"]);
    }
}
