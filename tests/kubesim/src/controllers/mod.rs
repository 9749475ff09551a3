//! Workload controllers on the sim clock, one file each, listed in [`registry`]:
//! Deployment, ReplicaSet, StatefulSet, DaemonSet, Job, Endpoints for Services, and the
//! disruption controller's PodDisruptionBudget status. [`Ctrl::tick`] runs each over the objects
//! it watches, in the order of [`registry`], whenever something changed and every 250 ms (for
//! time-based conditions: minReadySeconds, progress deadlines).
//!
//! To add a controller: a file with a function that reconciles one object, and a [`Controller`]
//! line in [`registry`] naming the storage of the objects it reconciles. Static objects (loaded
//! with a status) are skipped here, for every controller.

mod daemonset;
mod deployment;
mod disruption;
mod endpoints;
mod job;
mod replicaset;
mod statefulset;

use crate::behavior::{BEHAVIOR, ROLLOUT_BEHAVIOR};
use crate::registry;
use crate::store::Store;
use crate::util::{self, fmt_ts};
use serde_json::{json, Map, Value};

/// What a controller sees besides the store: the sim time and the Kubernetes version kubesim
/// serves (behaviour that changed between versions follows it).
#[derive(Debug, Clone, Copy)]
pub struct Ctx {
    pub now: i64,
    /// The served minor version (`--server-version v1.35.4` → 35).
    pub minor: u32,
}

/// One controller: reconciles the objects of one storage (`"deployments"`…).
pub struct Controller {
    /// The storage of the objects it reconciles.
    pub watches: &'static str,
    /// Brings one object (and what it owns) one step closer to its spec and writes its status.
    /// Objects loaded with a status (static, served as loaded) are never passed to it.
    pub sync: fn(&mut Store, &Value, &Ctx),
    /// Whether the result depends on the clock, not only on the store. A controller that does not
    /// is skipped while the store has not changed since its last pass (a pass over 2,000 Services
    /// × 1,000 pods each holds the store's lock for seconds: every request would wait).
    pub time_based: bool,
}

/// The controllers kubesim runs, in the order they run in a pass.
pub fn registry() -> Vec<Controller> {
    let timed = |watches, sync| Controller {
        watches,
        sync,
        time_based: true,
    };
    vec![
        timed("deployments", |s, o, c| deployment::deployment(s, o, c.now)),
        timed("replicasets", |s, o, c| replicaset::replicaset(s, o, c.now)),
        timed("statefulsets", statefulset::statefulset),
        timed("daemonsets", |s, o, c| daemonset::daemonset(s, o, c.now)),
        Controller {
            watches: "services",
            sync: |s, o, c| endpoints::endpoints(s, o, c.now),
            time_based: false,
        },
        timed("jobs", |s, o, c| job::job(s, o, c.now)),
        timed("poddisruptionbudgets", |s, o, c| {
            disruption::pdb_status(s, o, c.now)
        }),
    ]
}

/// Every controller of [`registry`], and the version they follow; then, over the whole store, the
/// EndpointSlice controller ([`crate::endpointslices`]) and what the service proxy routes by.
pub struct Ctrl {
    controllers: Vec<Controller>,
    /// The store's resourceVersion when each controller's last pass began (for skipping the ones
    /// that are not time-based); then the same for the whole-store passes.
    pass_rv: Vec<Option<u64>>,
    slices_rv: Option<u64>,
    pub minor: u32,
    /// What the service proxy routes by (`svcproxy`).
    pub proxy: crate::svcproxy::Routes,
}

impl Default for Ctrl {
    fn default() -> Self {
        let controllers = registry();
        Ctrl {
            pass_rv: vec![None; controllers.len()],
            slices_rv: None,
            controllers,
            minor: 33,
            proxy: Default::default(),
        }
    }
}

impl Ctrl {
    /// Controllers following Kubernetes `version` (`v1.35.4`).
    pub fn for_version(version: &str) -> Ctrl {
        let minor = version
            .trim_start_matches('v')
            .split('.')
            .nth(1)
            .and_then(|m| m.parse().ok())
            .unwrap_or(33);
        Ctrl {
            minor,
            ..Ctrl::default()
        }
    }

    /// One pass: every controller over every object it watches.
    pub fn tick(&mut self, store: &mut Store, now: i64) {
        let ctx = Ctx {
            now,
            minor: self.minor,
        };
        for (c, seen) in self.controllers.iter().zip(self.pass_rv.iter_mut()) {
            // Its own writes change the store, so it runs once more after them and then rests.
            if !c.time_based && *seen == Some(store.rv) {
                continue;
            }
            *seen = Some(store.rv);
            // Objects loaded with a status are left alone by every controller: not even copied.
            let objs: Vec<Value> = store
                .iter(c.watches, None)
                .filter(|o| !store.static_uids.contains(util::uid(o)))
                .cloned()
                .collect();
            for o in objs {
                // Checked now, not when listed: an earlier sync may hand an object over.
                if !store.static_uids.contains(util::uid(&o)) {
                    (c.sync)(store, &o, &ctx);
                }
            }
        }
        // Whole-store passes: slices follow the Endpoints just written, the proxy's view follows
        // them; both depend on the store alone.
        if self.slices_rv != Some(store.rv) {
            self.slices_rv = Some(store.rv);
            crate::endpointslices::sync(store, now);
            self.proxy.record(store, now);
        } else {
            self.proxy.forget(now);
        }
    }
}

pub fn is_deleting(p: &Value) -> bool {
    p.pointer("/metadata/deletionTimestamp")
        .is_some_and(|x| !x.is_null())
}

pub fn is_active(p: &Value) -> bool {
    let ph = util::s(p, "/status/phase");
    !is_deleting(p) && ph != "Succeeded" && ph != "Failed"
}

pub fn is_ready(p: &Value) -> bool {
    ready_since(p).is_some()
}

fn ready_since(p: &Value) -> Option<i64> {
    p.pointer("/status/conditions")?
        .as_array()?
        .iter()
        .find(|c| c["type"] == "Ready" && c["status"] == "True")
        .map(|c| util::parse_ts(c["lastTransitionTime"].as_str().unwrap_or("")).unwrap_or(0))
}

pub fn is_available(p: &Value, min_ready_ms: i64, now: i64) -> bool {
    match ready_since(p) {
        Some(t) => min_ready_ms <= 0 || t + min_ready_ms <= now,
        None => false,
    }
}

pub(crate) fn owned_by<'a>(
    store: &'a Store,
    storage: &'static str,
    ns: &'a str,
    owner_uid: &'a str,
) -> impl Iterator<Item = &'a Value> + 'a {
    store
        .iter(storage, Some(ns))
        .filter(move |o| util::owner_uid_controller(o).as_deref() == Some(owner_uid))
}

pub(crate) fn insert_nonzero(m: &mut Map<String, Value>, k: &str, v: i64) {
    if v != 0 {
        m.insert(k.into(), json!(v));
    } else {
        m.remove(k);
    }
}

/// Pod spec defaults like the API server applies.
pub fn default_pod_spec(spec: &mut Value) {
    let s = util::obj_at(spec, &[]);
    let defaults = [
        ("restartPolicy", json!("Always")),
        ("terminationGracePeriodSeconds", json!(30)),
        ("dnsPolicy", json!("ClusterFirst")),
        ("schedulerName", json!("default-scheduler")),
        ("securityContext", json!({})),
        ("serviceAccountName", json!("default")),
        ("serviceAccount", json!("default")),
        ("enableServiceLinks", json!(true)),
        ("preemptionPolicy", json!("PreemptLowerPriority")),
        ("priority", json!(0)),
    ];
    for (k, v) in defaults {
        s.entry(k).or_insert(v);
    }
    s.entry("tolerations").or_insert(json!([
        {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
        {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}
    ]));
    for f in ["containers", "initContainers"] {
        if let Some(cs) = s.get_mut(f).and_then(|c| c.as_array_mut()) {
            for c in cs {
                let Some(c) = c.as_object_mut() else { continue };
                let image = c
                    .get("image")
                    .and_then(|x| x.as_str())
                    .unwrap_or("")
                    .to_string();
                let latest = !image.rsplit('/').next().unwrap_or("").contains(':')
                    || image.ends_with(":latest");
                c.entry("imagePullPolicy").or_insert(json!(if latest {
                    "Always"
                } else {
                    "IfNotPresent"
                }));
                c.entry("terminationMessagePath")
                    .or_insert(json!("/dev/termination-log"));
                c.entry("terminationMessagePolicy").or_insert(json!("File"));
                c.entry("resources").or_insert(json!({}));
            }
        }
    }
}

/// Creates `pod` as the controller-manager writes it (its managedFields manager); None when the
/// store refuses it (a name taken meanwhile).
pub(crate) fn create_pod(store: &mut Store, pod: Value, now: i64) -> Option<Value> {
    let pods = registry::by_storage("pods");
    store
        .create(pods, pod, now, Some("kube-controller-manager"), false)
        .ok()
}

/// Build a pod from a template.
#[allow(clippy::too_many_arguments)]
pub(crate) fn make_pod(
    template: &Value,
    name: Option<&str>,
    generate: &str,
    ns: &str,
    owner: &Value,
    kind: &str,
    extra_labels: &[(&str, String)],
    rollout: Option<String>,
) -> Value {
    let mut labels = template
        .pointer("/metadata/labels")
        .and_then(|x| x.as_object())
        .cloned()
        .unwrap_or_default();
    for (k, v) in extra_labels {
        labels.insert(k.to_string(), json!(v));
    }
    let mut ann = template
        .pointer("/metadata/annotations")
        .and_then(|x| x.as_object())
        .cloned()
        .unwrap_or_default();
    if let Some(rb) = rollout {
        ann.insert(BEHAVIOR.into(), json!(rb));
    }
    let mut spec = template.get("spec").cloned().unwrap_or(json!({}));
    default_pod_spec(&mut spec);
    let api = if kind == "Job" { "batch/v1" } else { "apps/v1" };
    let mut meta = json!({"namespace": ns, "labels": labels, "ownerReferences": [util::owner_ref(owner, kind, api)]});
    if !ann.is_empty() {
        meta["annotations"] = Value::Object(ann);
    }
    match name {
        Some(n) => meta["name"] = json!(n),
        None => {
            meta["generateName"] = json!(generate);
            meta["name"] = json!(format!("{generate}{}", util::rand_suffix(5)));
        }
    }
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec})
}

/// Graceful pod deletion (API DELETE, controllers, eviction).
pub fn delete_pod(
    store: &mut Store,
    ns: &str,
    name: &str,
    grace: Option<i64>,
    now: i64,
) -> Option<Value> {
    let pod = store.get("pods", ns, name)?.clone();
    let g =
        grace.unwrap_or_else(|| util::i(&pod, "/spec/terminationGracePeriodSeconds").unwrap_or(30));
    let phase = util::s(&pod, "/status/phase");
    let unscheduled = util::s(&pod, "/spec/nodeName").is_empty();
    if g <= 0 || unscheduled || phase == "Succeeded" || phase == "Failed" {
        return store.remove("pods", ns, name);
    }
    if is_deleting(&pod) {
        // a shorter grace period may shorten an ongoing deletion
        let cur = util::i(&pod, "/metadata/deletionGracePeriodSeconds").unwrap_or(g);
        if g >= cur {
            return Some(pod);
        }
    }
    let mut p = pod;
    let m = util::obj_at(&mut p, &["metadata"]);
    m.insert("deletionTimestamp".into(), json!(fmt_ts(now + g * 1000)));
    m.insert("deletionGracePeriodSeconds".into(), json!(g));
    Some(store.put("pods", p))
}

/// Delete an object and (for workloads) its dependents.
pub fn cascade_delete(
    store: &mut Store,
    storage: &'static str,
    ns: &str,
    name: &str,
    now: i64,
) -> Option<Value> {
    if storage == "pods" {
        return delete_pod(store, ns, name, None, now);
    }
    let obj = store.remove(storage, ns, name)?;
    let uid = util::uid(&obj).to_string();
    for dep in ["replicasets", "pods", "controllerrevisions", "jobs"] {
        let children: Vec<String> = owned_by(store, dep, ns, &uid)
            .map(|o| util::name(o).to_string())
            .collect();
        for c in children {
            cascade_delete(store, dep, ns, &c, now);
        }
    }
    Some(obj)
}

pub(crate) fn rollout_behavior(template: &Value, owner: Option<&Value>) -> Option<String> {
    template
        .pointer(&format!(
            "/metadata/annotations/{}",
            ROLLOUT_BEHAVIOR.replace('/', "~1")
        ))
        .or_else(|| {
            owner.and_then(|o| {
                o.pointer(&format!(
                    "/metadata/annotations/{}",
                    ROLLOUT_BEHAVIOR.replace('/', "~1")
                ))
            })
        })
        .and_then(|x| x.as_str())
        .map(String::from)
}

pub(crate) fn set_cond(
    conds: &mut Vec<Value>,
    typ: &str,
    status: &str,
    reason: &str,
    message: &str,
    now: i64,
    bump_update: bool,
) {
    let pos = conds.iter().position(|c| c["type"] == typ);
    if let Some(p) = pos {
        let c = &conds[p];
        if c["status"] == status && c["reason"] == reason && !bump_update {
            return;
        }
        let ltt = if c["status"] == status {
            c["lastTransitionTime"].clone()
        } else {
            json!(fmt_ts(now))
        };
        conds[p] = json!({"type": typ, "status": status, "lastUpdateTime": fmt_ts(now), "lastTransitionTime": ltt, "reason": reason, "message": message});
    } else {
        conds.push(json!({"type": typ, "status": status, "lastUpdateTime": fmt_ts(now), "lastTransitionTime": fmt_ts(now), "reason": reason, "message": message}));
    }
}

pub(crate) fn revision(o: &Value) -> i64 {
    util::s(
        o,
        "/metadata/annotations/deployment.kubernetes.io~1revision",
    )
    .parse()
    .unwrap_or(0)
}

pub(crate) fn has_cond(o: &Value, typ: &str) -> bool {
    o.pointer("/status/conditions")
        .and_then(|c| c.as_array())
        .is_some_and(|a| a.iter().any(|c| c["type"] == typ && c["status"] == "True"))
}

/// The ControllerRevision `NAME-HASH` of `owner` for `tmpl`, created when missing; its name.
pub(crate) fn ensure_revision(
    store: &mut Store,
    owner: &Value,
    kind: &str,
    tmpl: &Value,
    hash: &str,
    now: i64,
) -> String {
    let ns = util::ns(owner).to_string();
    let rev_name = format!("{}-{}", util::name(owner), hash);
    if store.get("controllerrevisions", &ns, &rev_name).is_none() {
        let uid = util::uid(owner).to_string();
        let max = owned_by(store, "controllerrevisions", &ns, &uid)
            .filter_map(|r| util::i(r, "/revision"))
            .max()
            .unwrap_or(0);
        let mut labels = tmpl
            .pointer("/metadata/labels")
            .cloned()
            .unwrap_or(json!({}));
        labels["controller-revision-hash"] = json!(hash);
        let cr = json!({
            "apiVersion": "apps/v1", "kind": "ControllerRevision",
            "metadata": {"name": rev_name, "namespace": ns, "labels": labels, "ownerReferences": [util::owner_ref(owner, kind, "apps/v1")]},
            "data": {"spec": {"template": tmpl}},
            "revision": max + 1,
        });
        let _ = store.create(
            registry::by_storage("controllerrevisions"),
            cr,
            now,
            None,
            false,
        );
    }
    rev_name
}

pub(crate) fn revision_template(store: &Store, ns: &str, rev: &str) -> Option<Value> {
    store
        .get("controllerrevisions", ns, rev)?
        .pointer("/data/spec/template")
        .cloned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// The names the test controller was handed.
    static SEEN: Mutex<Vec<String>> = Mutex::new(Vec::new());

    #[test]
    fn objects_loaded_with_a_status_are_not_handed_to_controllers() {
        let mut store = Store::new();
        let def = registry::by_storage("deployments");
        let loaded = json!({"metadata": {"name": "loaded", "namespace": "a"}, "spec": {"replicas": 1},
            "status": {"replicas": 1}});
        let created =
            json!({"metadata": {"name": "created", "namespace": "a"}, "spec": {"replicas": 1}});
        store.create(def, loaded, 0, None, true).unwrap();
        store.create(def, created, 0, None, false).unwrap();
        let mut ctrl = Ctrl {
            controllers: vec![Controller {
                watches: "deployments",
                sync: |_, obj, _| SEEN.lock().unwrap().push(util::name(obj).to_string()),
                time_based: true,
            }],
            pass_rv: vec![None],
            ..Ctrl::default()
        };
        ctrl.tick(&mut store, 0);
        assert_eq!(*SEEN.lock().unwrap(), ["created"]);
    }
}
