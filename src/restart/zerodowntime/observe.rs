//! Watching a restart from the traffic's side: the EndpointSlices (`discovery.k8s.io/v1`) of the Services
//! that select the target, by their `kubernetes.io/service-name` label, and the target's pods.
//!
//! Every time is the API server's, so the record holds against any API server whatever this machine's
//! clock says: a pod's deletion is `deletionTimestamp` − `deletionGracePeriodSeconds`, an exit is the
//! container's `finishedAt`, and an endpoint's change is the time of the slice write that carried it
//! (its newest `managedFields` entry: the API server stamps the manager's entry when an update changes
//! the object). All are seconds precision.
//!
//! What the pods do is read from the pod objects (the final state arrives with the DELETED event);
//! `FailedPreStopHook` events, read once at the end, say that a hook did not pause.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use futures::stream::BoxStream;
use futures::StreamExt;
use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Event as CoreEvent, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::ListParams;
use kube::runtime::watcher::{self, Event};
use kube::Api;
use tokio::sync::watch as signal;
use tokio::time::Instant;

use super::judge::{ContainerTrack, PodTrack, ServiceTrack, Timeline};
use crate::client::Kube;
use crate::podspec;
use crate::restart::api::{self, Contact, Stop};
use crate::restart::evict::FINAL_READ;
use crate::restart::track::Tracker;
use crate::restart::wait::{self, Cache, Keyed};

/// The label the EndpointSlice controller puts on a Service's slices.
pub(crate) const SERVICE_NAME: &str = "kubernetes.io/service-name";
/// How long the watches may take to list what is there before the restart starts.
const SYNC: Duration = Duration::from_secs(10);
/// After the restart: how long to wait for the last endpoint changes (a pod may vanish before the
/// slice write that removes it arrives).
const DRAIN: Duration = Duration::from_secs(3);

impl Keyed for EndpointSlice {
    fn object_meta(&self) -> &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
        &self.metadata
    }
}

/// The target as the observation sees it.
#[derive(Debug, Clone)]
pub(crate) struct Subject {
    pub ns: String,
    /// Selects the target's pods.
    pub pod_selector: String,
    /// The pods' labels (the template's), which Services select.
    pub labels: BTreeMap<String, String>,
    pub desired: i32,
    pub max_unavailable: i32,
    /// `--endpoint-margin`, seconds.
    pub margin: f64,
}

/// How the observation began.
pub(crate) enum Begin {
    /// No Service selects the target.
    NotApplicable(String),
    /// It cannot be observed (the reason), though the Services are known.
    Unknown {
        services: Vec<String>,
        reason: String,
    },
    Watching(Box<Observer>),
}

/// A Service whose (non-empty) selector matches `labels`.
pub(crate) fn selects(svc: &Service, labels: &BTreeMap<String, String>) -> bool {
    svc.spec
        .as_ref()
        .and_then(|s| s.selector.as_ref())
        .is_some_and(|sel| !sel.is_empty() && sel.iter().all(|(k, v)| labels.get(k) == Some(v)))
}

enum Change {
    Slices(Box<Event<EndpointSlice>>),
    Pods(Box<Event<Pod>>),
}

/// One of the target's pods, as last seen.
#[derive(Debug, Clone, Default)]
struct PodSeen {
    name: String,
    deleted_at: Option<Timestamp>,
    /// (container, declared ports, preStop pause).
    containers: Vec<(String, Vec<i32>, Option<i64>)>,
    /// Containers' `finishedAt` since the deletion.
    exits: BTreeMap<String, Timestamp>,
}

impl PodSeen {
    fn update(&mut self, p: &Pod) {
        self.name = p.metadata.name.clone().unwrap_or_default();
        if let (Some(t), None) = (&p.metadata.deletion_timestamp, self.deleted_at) {
            let grace = p.metadata.deletion_grace_period_seconds.unwrap_or(0);
            self.deleted_at = Some(t.0 - jiff::SignedDuration::from_secs(grace));
        }
        if let Some(spec) = &p.spec {
            self.containers = spec
                .containers
                .iter()
                .map(|c| {
                    let ports = c.ports.iter().flatten().map(|p| p.container_port).collect();
                    let pause = podspec::prestop(c).and_then(|p| p.pause).filter(|s| *s > 0);
                    (c.name.clone(), ports, pause)
                })
                .collect();
        }
        let Some(deleted) = self.deleted_at else {
            return;
        };
        for c in p
            .status
            .iter()
            .flat_map(|s| s.container_statuses.iter().flatten())
        {
            let finished = c
                .state
                .as_ref()
                .and_then(|s| s.terminated.as_ref())
                .and_then(|t| t.finished_at.as_ref());
            if let Some(f) = finished.filter(|f| f.0 >= deleted) {
                self.exits.entry(c.name.clone()).or_insert(f.0);
            }
        }
    }
}

/// The watches and what they recorded so far.
pub(crate) struct Observer {
    kube: Kube,
    subject: Subject,
    services: Vec<String>,
    /// The Services that select the target, as read (diagnose's rules word the fix from them).
    selected: Vec<Service>,
    events: BoxStream<'static, (bool, watcher::Result<Change>)>,
    slices: Cache<EndpointSlice>,
    pods: Cache<Pod>,
    seen: BTreeMap<String, PodSeen>,
    /// Per Service: the pods (UIDs) in its ready endpoints now.
    ready: BTreeMap<String, BTreeSet<String>>,
    /// Pods that were in some ready endpoints since the observation began.
    ever_ready: BTreeSet<String>,
    /// (pod UID, Service) → when it left that Service's ready endpoints (None: time unknown).
    left: BTreeMap<(String, String), Option<Timestamp>>,
    tracks: Vec<ServiceTrack>,
    /// Why the observation stopped before the restart did (a watch refused …).
    lost: Option<String>,
    /// Pods gone from the list taken when the restart ended whose deletion the watch has not shown yet.
    vanished: BTreeSet<String>,
    notes: Vec<String>,
}

/// See [`Observer::settled`].
fn caught_up(
    vanished: &BTreeSet<String>,
    seen: &BTreeMap<String, PodSeen>,
    ever_ready: &BTreeSet<String>,
    ready: &BTreeMap<String, BTreeSet<String>>,
) -> bool {
    vanished
        .iter()
        .all(|uid| seen.get(uid).is_some_and(|p| p.deleted_at.is_some()))
        && seen
            .iter()
            .filter(|(uid, p)| p.deleted_at.is_some() && ever_ready.contains(*uid))
            .all(|(uid, _)| ready.values().all(|r| !r.contains(uid)))
}

/// The time of the slice write: its newest `managedFields` entry.
fn written_at(s: &EndpointSlice) -> Option<Timestamp> {
    s.metadata
        .managed_fields
        .iter()
        .flatten()
        .filter_map(|m| m.time.as_ref().map(|t| t.0))
        .max()
}

/// The pods (UIDs, or addresses without a pod) in a Service's ready endpoints. A missing `ready`
/// condition counts as ready, as the API documents.
fn ready_of<'a>(slices: impl Iterator<Item = &'a EndpointSlice>, svc: &str) -> BTreeSet<String> {
    slices
        .filter(|s| {
            s.metadata
                .labels
                .as_ref()
                .and_then(|l| l.get(SERVICE_NAME))
                .is_some_and(|n| n == svc)
        })
        .flat_map(|s| s.endpoints.iter())
        .filter(|e| e.conditions.as_ref().and_then(|c| c.ready).unwrap_or(true))
        .map(|e| {
            e.target_ref
                .as_ref()
                .and_then(|r| r.uid.clone())
                .unwrap_or_else(|| e.addresses.join(","))
        })
        .collect()
}

/// Watch errors that will not heal (permission, missing resource), as a reason; others are retried.
fn fatal(
    kube: &Kube,
    e: watcher::Error,
    what: &str,
    ns: &str,
    tracker: &Tracker,
) -> Option<String> {
    let not_served = matches!(&e,
        watcher::Error::InitialListFailed(kube::Error::Api(s)) | watcher::Error::WatchStartFailed(kube::Error::Api(s))
        if s.code == 404);
    match wait::check_watch_error(kube, e, what, ns, tracker) {
        Ok(()) => None,
        Err(_) if not_served && what.starts_with("endpointslices") => Some(
            "the API server does not serve discovery.k8s.io/v1 EndpointSlices (Kubernetes 1.21+)"
                .into(),
        ),
        // The reason fills one table cell and one JSON string: one line, the hint kept after a
        // semicolon ("…: forbidden: …; ask your cluster admin for access, …").
        Err(e) => {
            let e = e.to_string();
            let parts: Vec<&str> = e.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
            Some(format!("cannot watch {what}: {}", parts.join("; ")))
        }
    }
}

/// Lists the Services, opens the watches and waits until they have listed what is there.
pub(crate) async fn begin(
    kube: &Kube,
    contact: &Contact,
    tracker: &Tracker,
    deadline: Instant,
    subject: Subject,
) -> Begin {
    let ns = subject.ns.clone();
    let by = deadline.min(Instant::now() + SYNC);
    let api: Api<Service> = Api::namespaced(kube.client.clone(), &ns);
    let all = match api::call(
        kube,
        contact,
        by,
        ("list", "services", Some(&ns)),
        api.list(&ListParams::default()),
    )
    .await
    {
        Ok(l) => l.items,
        Err(e) => {
            return Begin::Unknown {
                services: vec![],
                reason: format!(
                    "cannot list the Services of namespace {ns}: {}",
                    e.into_error()
                ),
            }
        }
    };
    let selected: Vec<Service> = all
        .into_iter()
        .filter(|s| selects(s, &subject.labels))
        .collect();
    let mut services: Vec<String> = selected
        .iter()
        .filter_map(|s| s.metadata.name.clone())
        .collect();
    services.sort();
    if services.is_empty() {
        return Begin::NotApplicable(format!("no Service in namespace {ns} selects its pods"));
    }
    let slices = wait::watch(
        Api::<EndpointSlice>::namespaced(kube.client.clone(), &ns),
        watcher::Config::default().labels(&format!("{SERVICE_NAME} in ({})", services.join(","))),
    );
    let pods = wait::watch_pods(kube, &ns, &subject.pod_selector);
    let events = futures::stream::select(
        slices.map(|r| (true, r.map(|e| Change::Slices(Box::new(e))))),
        pods.map(|r| (false, r.map(|e| Change::Pods(Box::new(e))))),
    )
    .boxed();
    let mut o = Observer {
        kube: kube.clone(),
        services: services.clone(),
        selected,
        subject,
        events,
        slices: Cache::default(),
        pods: Cache::default(),
        seen: BTreeMap::new(),
        ready: BTreeMap::new(),
        ever_ready: BTreeSet::new(),
        left: BTreeMap::new(),
        tracks: vec![],
        lost: None,
        vanished: BTreeSet::new(),
        notes: vec![],
    };
    let sync = tokio::time::sleep_until(by);
    tokio::pin!(sync);
    let mut last_error = String::new();
    while !(o.slices.synced && o.pods.synced) {
        tokio::select! {
            ev = o.events.next() => match ev {
                None => return Begin::Unknown { services, reason: "the watches ended before they listed anything".into() },
                Some((is_slices, Err(e))) => {
                    last_error = e.to_string();
                    let what = if is_slices { format!("endpointslices -l {SERVICE_NAME}") } else { format!("pods -l {}", o.subject.pod_selector) };
                    if let Some(reason) = fatal(kube, e, &what, &ns, tracker) {
                        return Begin::Unknown { services, reason };
                    }
                }
                Some((_, Ok(c))) => {
                    contact.heard();
                    o.apply(c);
                }
            },
            _ = &mut sync => {
                return Begin::Unknown {
                    services,
                    reason: format!(
                        "the watches on endpointslices and pods did not list in {}{}",
                        humantime::format_duration(SYNC),
                        if last_error.is_empty() { String::new() } else { format!(": {last_error}") }
                    ),
                };
            }
        }
    }
    o.start_tracks();
    Begin::Watching(Box::new(o))
}

impl Observer {
    /// The Services that select the target.
    pub(crate) fn selected_services(&self) -> Vec<Service> {
        self.selected.clone()
    }

    fn apply(&mut self, c: Change) {
        match c {
            Change::Pods(ev) => {
                let ev = *ev;
                match &ev {
                    Event::Apply(p) | Event::InitApply(p) | Event::Delete(p) => {
                        let uid = p.metadata.uid.clone().unwrap_or_default();
                        self.seen.entry(uid).or_default().update(p);
                    }
                    _ => {}
                }
                self.pods.apply(ev);
            }
            Change::Slices(ev) => {
                let ev = *ev;
                let at = match &ev {
                    Event::Apply(s) | Event::InitApply(s) => written_at(s),
                    _ => None,
                };
                self.slices.apply(ev);
                if self.slices.synced && self.pods.synced && !self.tracks.is_empty() {
                    self.endpoints_changed(at);
                }
            }
        }
    }

    /// The baseline: what is ready when the restart starts.
    fn start_tracks(&mut self) {
        for svc in &self.services {
            let now = ready_of(self.slices.values(), svc);
            self.ever_ready.extend(now.iter().cloned());
            self.tracks.push(ServiceTrack {
                name: svc.clone(),
                baseline: now.len(),
                min: now.len(),
                min_at: None,
            });
            self.ready.insert(svc.clone(), now);
        }
    }

    fn endpoints_changed(&mut self, at: Option<Timestamp>) {
        for (svc, track) in self.services.iter().zip(self.tracks.iter_mut()) {
            let now = ready_of(self.slices.values(), svc);
            let before = self.ready.get(svc).cloned().unwrap_or_default();
            for gone in before.difference(&now) {
                self.left.insert((gone.clone(), svc.clone()), at);
            }
            for came in now.difference(&before) {
                self.left.remove(&(came.clone(), svc.clone()));
                self.ever_ready.insert(came.clone());
            }
            if now.len() < track.min {
                track.min = now.len();
                track.min_at = at;
            }
            self.ready.insert(svc.clone(), now);
        }
    }

    /// The watches have caught up: every pod a fresh list no longer has was seen deleted, and every
    /// deleted pod that was routed has left the ready endpoints.
    fn settled(&self) -> bool {
        caught_up(&self.vanished, &self.seen, &self.ever_ready, &self.ready)
    }

    /// When the restart is over, the pods as they are now: the waiter's watch may have seen the last
    /// deletions before ours did. Pods listed terminating are recorded at once; pods gone from the list
    /// are waited for (their DELETED event carries the containers' exits).
    async fn catch_up(&mut self, contact: &Contact) {
        let api: Api<Pod> = Api::namespaced(self.kube.client.clone(), &self.subject.ns);
        let lp = ListParams::default().labels(&self.subject.pod_selector);
        let listed = match api::call(
            &self.kube,
            contact,
            Instant::now() + FINAL_READ,
            (
                "list",
                &format!("pods -l {}", self.subject.pod_selector),
                Some(&self.subject.ns),
            ),
            api.list(&lp),
        )
        .await
        {
            Ok(l) => l.items,
            Err(_) => return, // the watches alone, then
        };
        let mut present = BTreeSet::new();
        for p in &listed {
            let uid = p.metadata.uid.clone().unwrap_or_default();
            if p.metadata.deletion_timestamp.is_some() {
                self.seen.entry(uid.clone()).or_default().update(p);
            }
            present.insert(uid);
        }
        self.vanished = self
            .seen
            .iter()
            .filter(|(uid, p)| p.deleted_at.is_none() && !present.contains(*uid))
            .map(|(uid, _)| uid.clone())
            .collect();
    }

    /// Follows the watches until `stop` says the restart is over (then a short drain), and returns the
    /// timeline and, when the observation broke off, why.
    pub(crate) async fn follow(
        mut self,
        mut stop: signal::Receiver<bool>,
        contact: &Contact,
        tracker: &Tracker,
    ) -> (Timeline, Option<String>) {
        let far = Instant::now() + Duration::from_secs(365 * 24 * 3600);
        let drain = tokio::time::sleep_until(far);
        tokio::pin!(drain);
        let mut draining = false;
        loop {
            tokio::select! {
                ev = self.events.next() => match ev {
                    None => {
                        self.lost = Some("the endpointslices and pods watches ended".into());
                        break;
                    }
                    Some((is_slices, Err(e))) => {
                        let what = if is_slices { format!("endpointslices -l {SERVICE_NAME}") } else { format!("pods -l {}", self.subject.pod_selector) };
                        if let Some(reason) = fatal(&self.kube, e, &what, &self.subject.ns, tracker) {
                            self.lost = Some(reason);
                            break;
                        }
                    }
                    Some((_, Ok(c))) => {
                        contact.heard();
                        self.apply(c);
                        if draining && self.settled() {
                            break;
                        }
                    }
                },
                _ = stop.changed(), if !draining => {
                    self.catch_up(contact).await;
                    if self.settled() {
                        break;
                    }
                    draining = true;
                    drain.as_mut().reset(Instant::now() + DRAIN);
                }
                _ = &mut drain => break,
            }
        }
        for uid in &self.vanished {
            if let Some(p) = self.seen.get(uid).filter(|p| p.deleted_at.is_none()) {
                self.notes.push(format!(
                    "pod {} went away without its deletion being seen: it is not judged",
                    p.name
                ));
            }
        }
        let failed_hooks = self.failed_prestop_hooks(contact).await;
        let lost = self.lost.take();
        (self.timeline(&failed_hooks), lost)
    }

    /// The pods whose preStop hook failed (`FailedPreStopHook` events), when some replaced pod had a
    /// pause to lose.
    async fn failed_prestop_hooks(&mut self, contact: &Contact) -> BTreeSet<String> {
        let paused = self.seen.iter().any(|(uid, p)| {
            p.deleted_at.is_some()
                && self.ever_ready.contains(uid)
                && p.containers.iter().any(|c| c.2.is_some())
        });
        if !paused {
            return BTreeSet::new();
        }
        let ns = self.subject.ns.clone();
        let api: Api<CoreEvent> = Api::namespaced(self.kube.client.clone(), &ns);
        let lp = ListParams::default().fields("reason=FailedPreStopHook");
        match api::call(
            &self.kube,
            contact,
            Instant::now() + FINAL_READ,
            ("list", "events", Some(&ns)),
            api.list(&lp),
        )
        .await
        {
            Ok(l) => l
                .items
                .into_iter()
                .filter_map(|e| e.involved_object.uid)
                .collect(),
            Err(e) => {
                let why = match e {
                    Stop::Error(e) => e.to_string(),
                    Stop::NoAnswer { last_answer, .. } => api::no_answer(last_answer),
                };
                self.notes.push(format!(
                    "the FailedPreStopHook events could not be read ({why}): preStop pauses are taken from the spec"
                ));
                BTreeSet::new()
            }
        }
    }

    /// The record, for the judge.
    fn timeline(&self, failed_hooks: &BTreeSet<String>) -> Timeline {
        // The containers that serve: those declaring a port the slices carry, else the first.
        let ports: BTreeSet<i32> = self
            .slices
            .values()
            .flat_map(|s| s.ports.iter().flatten())
            .filter_map(|p| p.port)
            .collect();
        let mut notes = self.notes.clone();
        let pods = self
            .seen
            .iter()
            .filter(|(_, p)| p.deleted_at.is_some())
            .map(|(uid, p)| {
                let mut serving: Vec<&(String, Vec<i32>, Option<i64>)> = p
                    .containers
                    .iter()
                    .filter(|c| c.1.iter().any(|port| ports.contains(port)))
                    .collect();
                if serving.is_empty() {
                    serving = p.containers.iter().take(1).collect();
                }
                let left = self
                    .left
                    .iter()
                    .filter(|((u, _), _)| u == uid)
                    .filter_map(|((_, svc), t)| match t {
                        Some(t) => Some((*t, svc.clone())),
                        None => {
                            notes.push(format!(
                                "pod {}: the slice write that removed it carries no time; its deletion is taken instead",
                                p.name
                            ));
                            p.deleted_at.map(|d| (d, svc.clone()))
                        }
                    })
                    .max_by_key(|(t, _)| *t);
                PodTrack {
                    name: p.name.clone(),
                    deleted_at: p.deleted_at,
                    was_ready: self.ever_ready.contains(uid),
                    left_ready_at: left,
                    prestop_failed: failed_hooks.contains(uid),
                    containers: serving
                        .into_iter()
                        .map(|(name, _, pause)| ContainerTrack {
                            name: name.clone(),
                            pause: *pause,
                            exited_at: p.exits.get(name).copied(),
                        })
                        .collect(),
                }
            })
            .collect();
        Timeline {
            services: self.tracks.clone(),
            pods,
            desired: self.subject.desired,
            max_unavailable: self.subject.max_unavailable,
            margin: self.subject.margin,
            probe: None,
            notes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slice(yaml: &str) -> EndpointSlice {
        serde_yaml::from_str(yaml).unwrap()
    }

    #[test]
    fn ready_endpoints_by_service() {
        let a = slice(
            "metadata: {name: web-x, labels: {kubernetes.io/service-name: web}, managedFields: [{manager: kube-controller-manager, operation: Update, time: '2026-11-23T10:00:03Z'}, {manager: other, time: '2026-11-23T10:00:01Z'}]}
addressType: IPv4
endpoints:
- {addresses: [10.0.0.1], conditions: {ready: true}, targetRef: {kind: Pod, name: a, uid: ua}}
- {addresses: [10.0.0.2], conditions: {ready: false, serving: true, terminating: true}, targetRef: {kind: Pod, name: b, uid: ub}}
- {addresses: [10.0.0.3], targetRef: {kind: Pod, name: c, uid: uc}}
- {addresses: [10.0.0.9]}",
        );
        let other = slice("metadata: {name: api-y, labels: {kubernetes.io/service-name: api}}\naddressType: IPv4\nendpoints: [{addresses: [10.0.0.5]}]");
        let r = ready_of([&a, &other].into_iter(), "web");
        assert_eq!(
            r,
            BTreeSet::from(["ua".into(), "uc".into(), "10.0.0.9".into()]),
            "ready, and a missing condition counts as ready"
        );
        assert_eq!(
            written_at(&a),
            Some("2026-11-23T10:00:03Z".parse().unwrap())
        );
    }

    #[test]
    fn services_select_by_their_whole_selector() {
        let labels = BTreeMap::from([
            ("app".to_string(), "web".to_string()),
            ("tier".to_string(), "fe".to_string()),
        ]);
        let svc = |sel: &str| {
            serde_yaml::from_str::<Service>(&format!(
                "metadata: {{name: s}}\nspec: {{selector: {sel}}}"
            ))
            .unwrap()
        };
        assert!(selects(&svc("{app: web}"), &labels));
        assert!(selects(&svc("{app: web, tier: fe}"), &labels));
        assert!(!selects(&svc("{app: web, tier: be}"), &labels));
        assert!(
            !selects(&svc("{}"), &labels),
            "an empty selector selects nothing here"
        );
        let no_selector: Service = serde_yaml::from_str(
            "metadata: {name: ext}\nspec: {type: ExternalName, externalName: db.example}",
        )
        .unwrap();
        assert!(!selects(&no_selector, &labels));
    }

    #[test]
    fn caught_up_once_every_vanished_pod_was_seen_deleted_and_left_the_endpoints() {
        let t: Timestamp = "2026-11-23T10:00:00Z".parse().unwrap();
        let mut seen = BTreeMap::from([("ua".to_string(), PodSeen::default())]);
        let ever = BTreeSet::from(["ua".to_string()]);
        let mut ready = BTreeMap::from([("web".to_string(), BTreeSet::from(["ua".to_string()]))]);
        let vanished = BTreeSet::from(["ua".to_string()]);
        // The list says it is gone; the watch has not shown its deletion yet.
        assert!(!caught_up(&vanished, &seen, &ever, &ready));
        seen.get_mut("ua").unwrap().deleted_at = Some(t);
        // Deleted, but still in the ready endpoints of svc/web.
        assert!(!caught_up(&vanished, &seen, &ever, &ready));
        ready.insert("web".into(), BTreeSet::new());
        assert!(caught_up(&vanished, &seen, &ever, &ready));
    }

    #[test]
    fn a_pod_records_its_deletion_and_exits_after_it() {
        let mut p = PodSeen::default();
        let pod: Pod = serde_yaml::from_str(
            "metadata: {name: web-a, uid: ua, deletionTimestamp: '2026-11-23T10:00:30Z', deletionGracePeriodSeconds: 30}
spec:
  containers:
  - {name: app, image: x, ports: [{containerPort: 8080}], lifecycle: {preStop: {sleep: {seconds: 10}}}}
  - {name: sidecar, image: y}
status:
  containerStatuses:
  - {name: app, image: x, imageID: '', ready: false, restartCount: 0, state: {terminated: {exitCode: 0, finishedAt: '2026-11-23T10:00:11Z'}}}
  - {name: sidecar, image: y, imageID: '', ready: false, restartCount: 0, state: {terminated: {exitCode: 0, finishedAt: '2026-11-23T09:00:00Z'}}}",
        )
        .unwrap();
        p.update(&pod);
        assert_eq!(p.deleted_at, Some("2026-11-23T10:00:00Z".parse().unwrap()));
        assert_eq!(p.containers[0], ("app".into(), vec![8080], Some(10)));
        assert_eq!(p.containers[1], ("sidecar".into(), vec![], None));
        assert_eq!(
            p.exits.get("app"),
            Some(&"2026-11-23T10:00:11Z".parse().unwrap())
        );
        assert!(
            !p.exits.contains_key("sidecar"),
            "an exit before the deletion is not the shutdown"
        );
    }
}
