//! Conformance traces: what a scenario made the cluster show, as sequences of normalised status
//! snapshots, and the comparison of two such traces (kubesim against the real control plane).
//!
//! A [`Recorder`] watches the scenario's namespace (one watch per resource kind, so the snapshots
//! of one track arrive in the apiserver's resourceVersion order) and, after every event, computes
//! each [`Track`]'s projection of the objects of its kind: a small JSON value without names,
//! UIDs, timestamps or hashes (revisions get aliases `r1`, `r2`… in order of appearance). A track
//! keeps a projection only when it differs from its last one, with the time it was seen.
//!
//! [`compare`] aligns two traces track by track (longest common subsequence). A state only one
//! side shows is excused when it is *transient*: it lasted less than [`TRANSIENT_MS`]. The real
//! controllers coalesce or split their status writes differently from run to run (a Deployment
//! briefly counting 5 replicas with maxSurge 1, two pod changes seen in either order), so which
//! short states appear says nothing; what lasts does. Everything else is a [`Difference`]: a state
//! that lasted on one side only, or a different final state. Scenarios make the states that
//! matter last (behaviour durations of 2 s and more) and keep the rest short.

use futures::StreamExt;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind};
use kube::runtime::watcher;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A state that lasted less than this (ms) may be missing from the other trace. Under load
/// (a 2-core machine running many scenarios) the real components and the test bed's kubelet take
/// up to about 2 s to follow a change, so states that matter last 4 s or more.
pub const TRANSIENT_MS: u64 = 2_500;

/// The objects of one kind in the namespace, by name.
pub type Objects = BTreeMap<String, Value>;

/// Computes a track's snapshot from the objects of its kind.
pub type Projector = fn(&Objects, &mut Aliases) -> Value;

/// A resource kind to watch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Kind {
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    pub plural: &'static str,
}

impl Kind {
    pub const fn new(
        group: &'static str,
        version: &'static str,
        kind: &'static str,
        plural: &'static str,
    ) -> Kind {
        Kind {
            group,
            version,
            kind,
            plural,
        }
    }
}

pub const PODS: Kind = Kind::new("", "v1", "Pod", "pods");
pub const DEPLOYMENTS: Kind = Kind::new("apps", "v1", "Deployment", "deployments");
pub const REPLICASETS: Kind = Kind::new("apps", "v1", "ReplicaSet", "replicasets");
pub const STATEFULSETS: Kind = Kind::new("apps", "v1", "StatefulSet", "statefulsets");
pub const DAEMONSETS: Kind = Kind::new("apps", "v1", "DaemonSet", "daemonsets");
pub const PDBS: Kind = Kind::new(
    "policy",
    "v1",
    "PodDisruptionBudget",
    "poddisruptionbudgets",
);
pub const JOBS: Kind = Kind::new("batch", "v1", "Job", "jobs");

/// One sequence of snapshots: `project` over the objects of `kind`. With `split`, the projection
/// is an object whose every key is a sequence of its own (`name/key`; a key that disappears shows
/// as `null`): for objects that change independently of each other (pods by name, PDBs), whose
/// interleaving says nothing.
#[derive(Clone, Copy)]
pub struct Track {
    pub name: &'static str,
    pub kind: Kind,
    pub project: Projector,
    pub split: bool,
}

/// Stable names for values that differ between clusters (revision hashes, generated names):
/// `prefix1`, `prefix2`… in the order they are first asked for.
#[derive(Debug, Default)]
pub struct Aliases {
    by_prefix: HashMap<String, Vec<String>>,
}

impl Aliases {
    pub fn of(&mut self, prefix: &str, raw: &str) -> String {
        if raw.is_empty() {
            return String::new();
        }
        let seen = self.by_prefix.entry(prefix.to_string()).or_default();
        let i = match seen.iter().position(|r| r == raw) {
            Some(i) => i,
            None => {
                seen.push(raw.to_string());
                seen.len() - 1
            }
        };
        format!("{prefix}{}", i + 1)
    }
}

/// A snapshot and when it was first seen (ms since the recording began).
#[derive(Debug, Clone, PartialEq)]
pub struct Snap {
    pub at_ms: u64,
    pub value: Value,
}

/// What a scenario made a cluster show.
#[derive(Debug, Clone, Default)]
pub struct Trace {
    pub tracks: BTreeMap<String, Vec<Snap>>,
    pub end_ms: u64,
}

impl Trace {
    /// The trace as text, one line per snapshot (for failure reports).
    pub fn render(&self) -> String {
        let mut out = String::new();
        for (name, snaps) in &self.tracks {
            out.push_str(&format!("  {name}:\n"));
            for s in snaps {
                out.push_str(&format!("    {:>6}ms {}\n", s.at_ms, s.value));
            }
        }
        out
    }
}

struct Shared {
    started: Instant,
    trace: Mutex<Trace>,
    aliases: Mutex<Aliases>,
    /// When any track last changed.
    last_change: Mutex<Instant>,
}

impl Shared {
    fn push(&self, track: &str, value: Value) {
        let at_ms = self.started.elapsed().as_millis() as u64;
        let mut t = self.trace.lock().unwrap();
        let seq = t.tracks.entry(track.to_string()).or_default();
        if seq.last().map(|s| &s.value) != Some(&value) {
            seq.push(Snap { at_ms, value });
            *self.last_change.lock().unwrap() = Instant::now();
        }
    }
}

impl Shared {
    fn push_split(&self, track: &str, value: Value) {
        let prefix = format!("{track}/");
        let known: Vec<String> = self
            .trace
            .lock()
            .unwrap()
            .tracks
            .keys()
            .filter_map(|k| k.strip_prefix(&prefix).map(String::from))
            .collect();
        let m = value.as_object().cloned().unwrap_or_default();
        let mut keys: std::collections::BTreeSet<String> = known.into_iter().collect();
        keys.extend(m.keys().cloned());
        for k in keys {
            self.push(
                &format!("{prefix}{k}"),
                m.get(&k).cloned().unwrap_or(Value::Null),
            );
        }
    }
}

/// Records tracks of a namespace until [`Recorder::finish`].
pub struct Recorder {
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Recorder {
    /// Start watching `namespace` through `kubeconfig`; returns once every watch has listed.
    pub fn start(kubeconfig: &Path, namespace: &str, tracks: &[Track]) -> anyhow::Result<Recorder> {
        let shared = Arc::new(Shared {
            started: Instant::now(),
            trace: Mutex::default(),
            aliases: Mutex::default(),
            last_change: Mutex::new(Instant::now()),
        });
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<anyhow::Result<()>>();
        let path = kubeconfig.to_path_buf();
        let ns = namespace.to_string();
        let tracks = tracks.to_vec();
        let sh = shared.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("recorder runtime");
            rt.block_on(record(sh, path, ns, tracks, ready_tx, stop_rx));
        });
        match ready_rx.recv_timeout(Duration::from_secs(60)) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(e),
            Err(_) => anyhow::bail!("the recorder's watches did not start within 60 s"),
        }
        Ok(Recorder {
            shared,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }

    /// Add a scripted observation (e.g. the answer to an eviction) to track `track`.
    pub fn note(&self, track: &str, value: Value) {
        // Notes are a log: equal consecutive notes are kept apart by their index.
        let n = self
            .shared
            .trace
            .lock()
            .unwrap()
            .tracks
            .get(track)
            .map_or(0, Vec::len);
        self.shared.push(track, json!({"n": n + 1, "note": value}));
    }

    /// Wait until no track has changed for `quiet`, at most `timeout`; `false` on timeout.
    pub fn settle(&self, quiet: Duration, timeout: Duration) -> bool {
        let end = Instant::now() + timeout;
        loop {
            if self.shared.last_change.lock().unwrap().elapsed() >= quiet {
                return true;
            }
            if Instant::now() > end {
                return false;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The latest snapshot of `track`.
    pub fn last(&self, track: &str) -> Option<Value> {
        self.shared
            .trace
            .lock()
            .unwrap()
            .tracks
            .get(track)
            .and_then(|s| s.last())
            .map(|s| s.value.clone())
    }

    /// Stop watching; the trace so far.
    pub fn finish(mut self) -> Trace {
        self.stop_now();
        let mut t = self.shared.trace.lock().unwrap().clone();
        t.end_ms = self.shared.started.elapsed().as_millis() as u64;
        t
    }

    fn stop_now(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.stop_now();
    }
}

async fn record(
    shared: Arc<Shared>,
    kubeconfig: std::path::PathBuf,
    ns: String,
    tracks: Vec<Track>,
    ready: std::sync::mpsc::Sender<anyhow::Result<()>>,
    stop: tokio::sync::oneshot::Receiver<()>,
) {
    let client = match client_for(&kubeconfig).await {
        Ok(c) => c,
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    let mut kinds: Vec<Kind> = Vec::new();
    for t in &tracks {
        if !kinds.contains(&t.kind) {
            kinds.push(t.kind);
        }
    }
    let (listed_tx, mut listed_rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    let mut tasks = Vec::new();
    for kind in kinds.clone() {
        let mine: Vec<Track> = tracks.iter().filter(|t| t.kind == kind).copied().collect();
        let api: Api<DynamicObject> =
            Api::namespaced_with(client.clone(), &ns, &api_resource(kind));
        tasks.push(tokio::spawn(watch_kind(
            shared.clone(),
            api,
            mine,
            listed_tx.clone(),
        )));
    }
    let mut listed = 0;
    let wait = tokio::time::sleep(Duration::from_secs(60));
    tokio::pin!(wait);
    while listed < kinds.len() {
        tokio::select! {
            Some(()) = listed_rx.recv() => listed += 1,
            _ = &mut wait => break,
        }
    }
    let _ = ready.send(if listed == kinds.len() {
        Ok(())
    } else {
        Err(anyhow::anyhow!("the recorder's watches did not list"))
    });
    let _ = stop.await;
    for t in tasks {
        t.abort();
    }
}

async fn client_for(kubeconfig: &Path) -> anyhow::Result<kube::Client> {
    let kc = kube::config::Kubeconfig::read_from(kubeconfig)?;
    let config =
        kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default())
            .await?;
    Ok(kube::Client::try_from(config)?)
}

fn api_resource(k: Kind) -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(k.group, k.version, k.kind), k.plural)
}

async fn watch_kind(
    shared: Arc<Shared>,
    api: Api<DynamicObject>,
    tracks: Vec<Track>,
    listed: tokio::sync::mpsc::UnboundedSender<()>,
) {
    let stream = watcher(api, watcher::Config::default());
    futures::pin_mut!(stream);
    let mut objects = Objects::new();
    let mut relisting: Option<Objects> = None;
    let mut first_list = true;
    while let Some(ev) = stream.next().await {
        let ev = match ev {
            Ok(ev) => ev,
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        };
        match ev {
            watcher::Event::Init => {
                relisting = Some(Objects::new());
                continue;
            }
            watcher::Event::InitApply(o) => {
                if let (Some(r), Some((k, v))) = (relisting.as_mut(), to_entry(&o)) {
                    r.insert(k, v);
                }
                continue;
            }
            watcher::Event::InitDone => {
                if let Some(r) = relisting.take() {
                    objects = r;
                }
                if first_list {
                    first_list = false;
                    let _ = listed.send(());
                }
            }
            watcher::Event::Apply(o) => {
                if let Some((k, v)) = to_entry(&o) {
                    objects.insert(k, v);
                }
            }
            watcher::Event::Delete(o) => {
                if let Some((k, _)) = to_entry(&o) {
                    objects.remove(&k);
                }
            }
        }
        for t in &tracks {
            let v = {
                let mut aliases = shared.aliases.lock().unwrap();
                (t.project)(&objects, &mut aliases)
            };
            if t.split {
                shared.push_split(t.name, v);
            } else {
                shared.push(t.name, v);
            }
        }
    }
}

fn to_entry(o: &DynamicObject) -> Option<(String, Value)> {
    let name = o.metadata.name.clone()?;
    Some((name, serde_json::to_value(o).ok()?))
}

// ---------- projection helpers ----------

/// A number at `ptr` (0 when missing).
pub fn num(v: &Value, ptr: &str) -> i64 {
    v.pointer(ptr).and_then(Value::as_i64).unwrap_or(0)
}

/// A string at `ptr` ("" when missing).
pub fn text<'a>(v: &'a Value, ptr: &str) -> &'a str {
    v.pointer(ptr).and_then(Value::as_str).unwrap_or("")
}

/// `"Status/Reason"` of the condition `typ` in `status.conditions` ("" when absent).
pub fn condition(v: &Value, typ: &str) -> String {
    v.pointer("/status/conditions")
        .and_then(Value::as_array)
        .and_then(|cs| cs.iter().find(|c| c["type"] == typ))
        .map(|c| {
            format!(
                "{}/{}",
                c["status"].as_str().unwrap_or(""),
                c["reason"].as_str().unwrap_or("")
            )
        })
        .unwrap_or_default()
}

/// The pod is Ready (condition True).
pub fn pod_ready(p: &Value) -> bool {
    condition(p, "Ready").starts_with("True")
}

/// The object has a deletionTimestamp.
pub fn deleting(o: &Value) -> bool {
    o.pointer("/metadata/deletionTimestamp")
        .is_some_and(|t| !t.is_null())
}

/// Number of elements of `items` per key, as a JSON object with sorted keys.
pub fn tally<I: IntoIterator<Item = String>>(items: I) -> Value {
    let mut m: BTreeMap<String, i64> = BTreeMap::new();
    for k in items {
        *m.entry(k).or_default() += 1;
    }
    json!(m)
}

/// One container status in a comparable form: state (`running`, `waiting:Reason`,
/// `terminated:Reason:code`), restarts, last state, ready.
pub fn container(c: &Value) -> Value {
    let state = |s: &Value| -> String {
        if s.get("running").is_some() {
            "running".into()
        } else if let Some(w) = s.get("waiting") {
            format!("waiting:{}", w["reason"].as_str().unwrap_or(""))
        } else if let Some(t) = s.get("terminated") {
            format!(
                "terminated:{}:{}",
                t["reason"].as_str().unwrap_or(""),
                t["exitCode"].as_i64().unwrap_or(-1)
            )
        } else {
            String::new()
        }
    };
    json!({
        "state": state(&c["state"]),
        "last": state(&c["lastState"]),
        "restarts": c["restartCount"].as_i64().unwrap_or(0),
        "ready": c["ready"].as_bool().unwrap_or(false),
    })
}

// ---------- comparison ----------

/// Which side showed a state the other did not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Only the reference (the real control plane) showed it.
    ReferenceOnly,
    /// Only the candidate (kubesim) showed it.
    CandidateOnly,
    /// The last states differ.
    Final,
}

#[derive(Debug, Clone)]
pub struct Difference {
    pub track: String,
    pub side: Side,
    pub state: Value,
    pub dwell_ms: u64,
    /// The common states around it (None at either end).
    pub prev: Option<Value>,
    pub next: Option<Value>,
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.side {
            Side::Final => write!(
                f,
                "{}: the final states differ: test bed {} / kubesim {}",
                self.track,
                self.prev.clone().unwrap_or(Value::Null),
                self.state
            ),
            side => write!(
                f,
                "{}: only {} showed {} (for {} ms), between {} and {}",
                self.track,
                if side == Side::ReferenceOnly {
                    "the test bed"
                } else {
                    "kubesim"
                },
                self.state,
                self.dwell_ms,
                self.prev.clone().unwrap_or(Value::Null),
                self.next.clone().unwrap_or(Value::Null),
            ),
        }
    }
}

/// Differences between `reference` (the real control plane) and `candidate` (kubesim), track by
/// track; a track missing on one side counts as empty there.
pub fn compare(reference: &Trace, candidate: &Trace, transient_ms: u64) -> Vec<Difference> {
    let mut out = Vec::new();
    let names: std::collections::BTreeSet<&String> = reference
        .tracks
        .keys()
        .chain(candidate.tracks.keys())
        .collect();
    let empty = Vec::new();
    for name in names {
        let a = reference.tracks.get(name).unwrap_or(&empty);
        let b = candidate.tracks.get(name).unwrap_or(&empty);
        out.extend(compare_track(
            name,
            a,
            reference.end_ms,
            b,
            candidate.end_ms,
            transient_ms,
        ));
    }
    out
}

fn dwell(seq: &[Snap], i: usize, end_ms: u64) -> u64 {
    let until = seq.get(i + 1).map_or(end_ms, |s| s.at_ms);
    until.saturating_sub(seq[i].at_ms)
}

/// Index pairs of a longest common subsequence of `a` and `b` (by value).
fn lcs(a: &[Snap], b: &[Snap]) -> Vec<(usize, usize)> {
    let (n, m) = (a.len(), b.len());
    let mut t = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            t[i][j] = if a[i].value == b[j].value {
                t[i + 1][j + 1] + 1
            } else {
                t[i + 1][j].max(t[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < n && j < m {
        if a[i].value == b[j].value {
            out.push((i, j));
            i += 1;
            j += 1;
        } else if t[i + 1][j] >= t[i][j + 1] {
            i += 1;
        } else {
            j += 1;
        }
    }
    out
}

fn compare_track(
    name: &str,
    a: &[Snap],
    a_end: u64,
    b: &[Snap],
    b_end: u64,
    transient_ms: u64,
) -> Vec<Difference> {
    let mut out = Vec::new();
    let (la, lb) = (a.last().map(|s| &s.value), b.last().map(|s| &s.value));
    if la != lb {
        out.push(Difference {
            track: name.to_string(),
            side: Side::Final,
            state: lb.cloned().unwrap_or(Value::Null),
            dwell_ms: 0,
            prev: Some(la.cloned().unwrap_or(Value::Null)),
            next: None,
        });
    }
    let common = lcs(a, b);
    for (seq, end, side, pick) in [
        (a, a_end, Side::ReferenceOnly, 0usize),
        (b, b_end, Side::CandidateOnly, 1usize),
    ] {
        let matched: Vec<usize> = common
            .iter()
            .map(|p| if pick == 0 { p.0 } else { p.1 })
            .collect();
        for i in 0..seq.len() {
            let d = dwell(seq, i, end);
            if matched.contains(&i) || d < transient_ms {
                continue;
            }
            let prev = matched.iter().rev().find(|&&m| m < i);
            let next = matched.iter().find(|&&m| m > i);
            out.push(Difference {
                track: name.to_string(),
                side,
                state: seq[i].value.clone(),
                dwell_ms: d,
                prev: prev.map(|&m| seq[m].value.clone()),
                next: next.map(|&m| seq[m].value.clone()),
            });
        }
    }
    out
}

/// Drop the fields at `paths` (JSON pointers, `*` matching any one key) from every snapshot of
/// `track`, merging the consecutive snapshots that become equal: for differences listed as
/// intended.
pub fn ignore(trace: &mut Trace, track: &str, paths: &[&str]) {
    let Some(seq) = trace.tracks.get_mut(track) else {
        return;
    };
    for s in seq.iter_mut() {
        for p in paths {
            remove_path(&mut s.value, &p.split('/').skip(1).collect::<Vec<_>>());
        }
    }
    seq.dedup_by(|b, a| a.value == b.value);
}

fn remove_path(v: &mut Value, path: &[&str]) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    let Some(m) = v.as_object_mut() else { return };
    if rest.is_empty() {
        if *first == "*" {
            m.clear();
        } else {
            m.remove(*first);
        }
        return;
    }
    let keys: Vec<String> = if *first == "*" {
        m.keys().cloned().collect()
    } else {
        vec![first.to_string()]
    };
    for k in keys {
        if let Some(x) = m.get_mut(&k) {
            remove_path(x, rest);
        }
    }
}

/// `{"a": 1}` from pairs, skipping nothing (a helper for projections).
pub fn obj(pairs: &[(&str, Value)]) -> Value {
    let mut m = Map::new();
    for (k, v) in pairs {
        m.insert((*k).to_string(), v.clone());
    }
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seq(states: &[(u64, Value)]) -> Vec<Snap> {
        states
            .iter()
            .map(|(t, v)| Snap {
                at_ms: *t,
                value: v.clone(),
            })
            .collect()
    }

    fn trace(states: &[(u64, Value)], end: u64) -> Trace {
        let mut t = Trace {
            end_ms: end,
            ..Trace::default()
        };
        t.tracks.insert("x".into(), seq(states));
        t
    }

    #[test]
    fn a_short_state_may_be_missing_on_either_side() {
        // The real controller wrote ready 1 then 2 apart; kubesim wrote them at once.
        let a = trace(
            &[
                (0, json!({"ready": 0})),
                (900, json!({"ready": 1})),
                (1_000, json!({"ready": 2})),
            ],
            5_000,
        );
        let b = trace(
            &[(0, json!({"ready": 0})), (950, json!({"ready": 2}))],
            5_000,
        );
        assert!(compare(&a, &b, TRANSIENT_MS).is_empty());
        assert!(compare(&b, &a, TRANSIENT_MS).is_empty());
    }

    #[test]
    fn a_lasting_state_on_one_side_only_is_a_difference() {
        // A deleted pod that stays Ready for its preStop (3 s) on one side only.
        let a = trace(
            &[
                (0, json!({"del": false, "ready": true})),
                (1_000, json!({"del": true, "ready": true})),
                (4_000, json!({"del": true, "ready": false})),
            ],
            6_000,
        );
        let b = trace(
            &[
                (0, json!({"del": false, "ready": true})),
                (1_000, json!({"del": true, "ready": false})),
            ],
            6_000,
        );
        let d = compare(&a, &b, TRANSIENT_MS);
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].side, Side::ReferenceOnly);
        assert_eq!(d[0].dwell_ms, 3_000);
    }

    #[test]
    fn interleavings_of_two_changes_are_transient() {
        // Old pod gone and new pod created at about the same time, in either order.
        let a = trace(
            &[
                (0, json!({"old": 1, "new": 0})),
                (100, json!({"old": 1, "new": 1})),
                (150, json!({"old": 0, "new": 1})),
            ],
            5_000,
        );
        let b = trace(
            &[
                (0, json!({"old": 1, "new": 0})),
                (100, json!({"old": 0, "new": 0})),
                (150, json!({"old": 0, "new": 1})),
            ],
            5_000,
        );
        assert!(compare(&a, &b, TRANSIENT_MS).is_empty());
    }

    #[test]
    fn a_state_that_lasted_is_a_difference_wherever_it_is() {
        // kubesim leaves a node without its daemon pod for 3 s.
        let a = trace(&[(0, json!({"withPod": 3}))], 5_000);
        let b = trace(
            &[
                (0, json!({"withPod": 3})),
                (100, json!({"withPod": 2})),
                (3_100, json!({"withPod": 3})),
            ],
            5_000,
        );
        let d = compare(&a, &b, TRANSIENT_MS);
        assert!(
            d.iter()
                .any(|d| d.side == Side::CandidateOnly && d.state == json!({"withPod": 2})),
            "{d:?}"
        );
    }

    #[test]
    fn different_final_states_are_reported() {
        let a = trace(&[(0, json!({"current": "r1"}))], 1_000);
        let b = trace(&[(0, json!({"current": "r2"}))], 1_000);
        let d = compare(&a, &b, TRANSIENT_MS);
        assert!(d.iter().any(|d| d.side == Side::Final), "{d:?}");
    }

    #[test]
    fn ignored_fields_are_dropped_and_duplicates_merged() {
        let mut t = trace(
            &[
                (0, json!({"a": 1, "m": {"x": "1", "y": 1}})),
                (10, json!({"a": 1, "m": {"x": "2", "y": 1}})),
            ],
            100,
        );
        ignore(&mut t, "x", &["/m/x"]);
        assert_eq!(t.tracks["x"].len(), 1);
        assert_eq!(t.tracks["x"][0].value, json!({"a": 1, "m": {"y": 1}}));
    }

    #[test]
    fn aliases_follow_the_order_of_appearance() {
        let mut a = Aliases::default();
        assert_eq!(a.of("r", "web-7d9f"), "r1");
        assert_eq!(a.of("r", "web-55c1"), "r2");
        assert_eq!(a.of("r", "web-7d9f"), "r1");
        assert_eq!(a.of("r", ""), "");
    }
}
