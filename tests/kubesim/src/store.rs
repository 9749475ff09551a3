//! Generic object store with a global resourceVersion, watch history and broadcast.

use crate::registry::{self, ResDef};
use crate::util::{self, fmt_ts};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::Arc;
use tokio::sync::broadcast;

pub const HISTORY: usize = 10_000;

#[derive(Debug, Clone)]
pub struct ApiError {
    pub code: u16,
    pub reason: String,
    pub message: String,
    pub details: Option<Value>,
}

impl ApiError {
    pub fn new(code: u16, reason: &str, message: impl Into<String>) -> ApiError {
        ApiError {
            code,
            reason: reason.into(),
            message: message.into(),
            details: None,
        }
    }
    pub fn with_details(mut self, d: Value) -> ApiError {
        self.details = Some(d);
        self
    }
    pub fn not_found(plural: &str, name: &str) -> ApiError {
        ApiError::new(404, "NotFound", format!("{plural} \"{name}\" not found"))
            .with_details(json!({"name": name, "kind": plural}))
    }
    pub fn bad_request(msg: impl Into<String>) -> ApiError {
        ApiError::new(400, "BadRequest", msg)
    }
    pub fn to_status(&self) -> Value {
        let mut v = json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": self.message, "reason": self.reason, "code": self.code,
        });
        if let Some(d) = &self.details {
            v["details"] = d.clone();
        }
        v
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.code, self.reason, self.message)
    }
}
impl std::error::Error for ApiError {}

#[derive(Debug, Clone)]
pub struct WatchEvent {
    pub rv: u64,
    pub storage: &'static str,
    pub ns: String,
    pub typ: &'static str,
    pub obj: Value,
    pub old: Option<Value>,
}

pub type Key = (&'static str, String, String);

pub struct Store {
    pub rv: u64,
    pub objects: BTreeMap<Key, Value>,
    pub history: VecDeque<Arc<WatchEvent>>,
    /// Per resource, how far back a watch can resume (the API server's watch cache).
    pub watch_caches: crate::watch_cache::WatchCaches,
    /// The sim time, as the control loop last saw it (when events are recorded).
    pub now_ms: i64,
    /// Watches from a resourceVersion below this get 410 Gone.
    pub floor: u64,
    pub tx: broadcast::Sender<Arc<WatchEvent>>,
    /// uids of objects loaded with a status that controllers/kubelet leave alone.
    pub static_uids: HashSet<String>,
    /// event aggregation: (involved uid, reason, message, component) -> event name
    pub event_keys: HashMap<(String, String, String, String), (String, String)>,
    pub dirty: bool,
    pub event_seq: u64,
    /// workload uid → hash of its first pod template (set at creation; `kubesim.io/rollout-behavior`
    /// applies to pods of any other template).
    pub first_hash: HashMap<String, String>,
}

impl Store {
    /// The hash of the first pod template of workload `uid`, recording `hash` as that when it has
    /// none yet.
    pub fn first_template_hash(&mut self, uid: &str, hash: &str) -> String {
        self.first_hash
            .entry(uid.to_string())
            .or_insert_with(|| hash.to_string())
            .clone()
    }
}

impl Default for Store {
    fn default() -> Self {
        Self::new()
    }
}

impl Store {
    pub fn new() -> Store {
        let (tx, _) = broadcast::channel(65_536);
        Store {
            rv: 1000,
            objects: BTreeMap::new(),
            history: VecDeque::new(),
            watch_caches: Default::default(),
            now_ms: 0,
            floor: 0,
            tx,
            static_uids: HashSet::new(),
            event_keys: HashMap::new(),
            dirty: false,
            event_seq: 0,
            first_hash: HashMap::new(),
        }
    }

    fn next_rv(&mut self) -> u64 {
        self.rv += 1;
        self.rv
    }

    fn emit(
        &mut self,
        storage: &'static str,
        ns: &str,
        typ: &'static str,
        obj: Value,
        old: Option<Value>,
    ) {
        let ev = Arc::new(WatchEvent {
            rv: self.rv,
            storage,
            ns: ns.to_string(),
            typ,
            obj,
            old,
        });
        self.watch_caches.record(storage, self.rv, self.now_ms);
        self.history.push_back(ev.clone());
        while self.history.len() > HISTORY {
            if let Some(e) = self.history.pop_front() {
                self.floor = self.floor.max(e.rv);
            }
        }
        let _ = self.tx.send(ev);
        self.dirty = true;
    }

    /// A watch of `storage` from a resourceVersion below this gets 410 Gone: the whole history
    /// was cut there (`expire_resource_versions`, or its 10 000-event cap), or the resource's
    /// watch cache window has moved past it.
    pub fn watch_floor(&self, storage: &str) -> u64 {
        self.floor.max(self.watch_caches.floor(storage))
    }

    pub fn get(&self, storage: &'static str, ns: &str, name: &str) -> Option<&Value> {
        self.objects
            .get(&(storage, ns.to_string(), name.to_string()))
    }

    pub fn list(&self, storage: &'static str, ns: Option<&str>) -> Vec<Value> {
        self.iter(storage, ns).cloned().collect()
    }

    pub fn iter<'a>(
        &'a self,
        storage: &'static str,
        ns: Option<&'a str>,
    ) -> impl Iterator<Item = &'a Value> + 'a {
        self.iter_after(storage, ns, None)
    }

    /// [`Store::iter`] from the object after `after` (namespace, name) on, in key order: a list's
    /// continue token seeks straight to its place in the ordered map, so a page does not walk the
    /// pages before it.
    pub fn iter_after<'a>(
        &'a self,
        storage: &'static str,
        ns: Option<&'a str>,
        after: Option<(&str, &str)>,
    ) -> impl Iterator<Item = &'a Value> + 'a {
        use std::ops::Bound;
        let first: Key = (storage, ns.unwrap_or("").to_string(), String::new());
        let start = match after {
            Some((n, name)) if (n, name) >= (first.1.as_str(), "") => {
                Bound::Excluded((storage, n.to_string(), name.to_string()))
            }
            _ => Bound::Included(first),
        };
        self.objects
            .range((start, Bound::Unbounded))
            .take_while(move |((st, n, _), _)| *st == storage && ns.is_none_or(|x| x == n))
            .map(|(_, v)| v)
    }

    /// [`Store::iter_after`] as the objects were at resourceVersion `rv`: the current ones with every
    /// change since `rv` undone from the history, as etcd reads at a revision. So each page of a list
    /// shows the store as it was at the first page (a consistent list). The history is whole only
    /// above [`Store::floor`]: below it the caller answers 410 Expired.
    pub fn iter_at<'a>(
        &'a self,
        storage: &'static str,
        ns: Option<&'a str>,
        after: Option<(&str, &str)>,
        rv: u64,
    ) -> Box<dyn Iterator<Item = &'a Value> + 'a> {
        let since = self.history.partition_point(|e| e.rv <= rv);
        // Each object changed since `rv` (after `after`), as it was then: None if it did not exist.
        let mut then: BTreeMap<(&'a str, &'a str), Option<&'a Value>> = BTreeMap::new();
        for e in self.history.range(since..) {
            if e.storage != storage || ns.is_some_and(|n| n != e.ns) {
                continue;
            }
            let key = (e.ns.as_str(), util::name(&e.obj));
            if after.is_some_and(|a| key <= a) {
                continue;
            }
            // The first change after `rv` tells what the object was at `rv`.
            then.entry(key).or_insert(match e.typ {
                "ADDED" => None,
                _ => e.old.as_ref(),
            });
        }
        let current = self.iter_after(storage, ns, after);
        if then.is_empty() {
            return Box::new(current);
        }
        let mut current = current.peekable();
        let mut then = then.into_iter().peekable();
        Box::new(std::iter::from_fn(move || loop {
            let c = current.peek().map(|o| (util::ns(o), util::name(o)));
            let t = then.peek().map(|(k, _)| *k);
            match (c, t) {
                (None, None) => return None,
                (Some(c), Some(t)) if t > c => return current.next(),
                (Some(_), None) => return current.next(),
                (c, Some(t)) => {
                    // The object as it was then replaces (or stands in for) the current one.
                    if c == Some(t) {
                        current.next();
                    }
                    if let Some((_, Some(was))) = then.next() {
                        return Some(was);
                    }
                }
            }
        }))
    }

    /// Create an object. `keep_status` keeps a provided status (scenario loading).
    pub fn create(
        &mut self,
        def: &ResDef,
        mut obj: Value,
        now: i64,
        manager: Option<&str>,
        keep_status: bool,
    ) -> Result<Value, ApiError> {
        let def = registry::by_storage(def.storage);
        if !obj.is_object() {
            return Err(ApiError::bad_request("body is not an object"));
        }
        obj["apiVersion"] = json!(def.api_version());
        obj["kind"] = json!(def.kind);
        let meta = util::obj_at(&mut obj, &["metadata"]);
        let mut name = meta
            .get("name")
            .and_then(|x| x.as_str())
            .unwrap_or("")
            .to_string();
        if name.is_empty() {
            if let Some(g) = meta.get("generateName").and_then(|x| x.as_str()) {
                name = format!("{g}{}", util::rand_suffix(5));
                meta.insert("name".into(), json!(name));
            }
        }
        if name.is_empty() {
            return Err(ApiError::new(422, "Invalid", format!("{} \"\" is invalid: metadata.name: Required value: name or generateName is required", def.kind))
                .with_details(json!({"kind": def.kind, "causes": [{"reason": "FieldValueRequired", "message": "Required value: name or generateName is required", "field": "metadata.name"}]})));
        }
        let ns = if def.namespaced {
            let n = meta
                .get("namespace")
                .and_then(|x| x.as_str())
                .unwrap_or("default")
                .to_string();
            meta.insert("namespace".into(), json!(n));
            n
        } else {
            meta.remove("namespace");
            String::new()
        };
        let key = (def.storage, ns.clone(), name.clone());
        if self.objects.contains_key(&key) {
            return Err(ApiError::new(
                409,
                "AlreadyExists",
                format!("{} \"{}\" already exists", plural_group(def), name),
            )
            .with_details(json!({"name": name, "group": def.group, "kind": def.plural})));
        }
        if def.namespaced && def.storage != "namespaces" && !ns.is_empty() {
            self.ensure_namespace(&ns, now);
        }
        let rv = self.next_rv();
        let meta = util::obj_at(&mut obj, &["metadata"]);
        if meta
            .get("uid")
            .and_then(|u| u.as_str())
            .unwrap_or("")
            .is_empty()
            || !keep_status
        {
            meta.insert("uid".into(), json!(util::new_uid()));
        }
        if !keep_status
            || !meta.contains_key("creationTimestamp")
            || meta["creationTimestamp"].is_null()
        {
            meta.insert("creationTimestamp".into(), json!(fmt_ts(now)));
        }
        meta.insert("resourceVersion".into(), json!(rv.to_string()));
        if def.has_generation() && !meta.contains_key("generation") {
            meta.insert("generation".into(), json!(1));
        }
        if !keep_status {
            meta.remove("deletionTimestamp");
            meta.remove("deletionGracePeriodSeconds");
        }
        if let Some(m) = manager {
            set_managed(&mut obj, m, "Update", now, None);
        }
        if def.storage == "namespaces" {
            if obj.get("status").is_none() || !keep_status {
                obj["status"] = json!({"phase": "Active"});
            }
            let n = name.clone();
            util::obj_at(&mut obj, &["metadata", "labels"])
                .insert("kubernetes.io/metadata.name".into(), json!(n));
            obj["spec"] = json!({"finalizers": ["kubernetes"]});
        }
        let has_status = obj
            .get("status")
            .map(|s| s.as_object().is_some_and(|m| !m.is_empty()))
            .unwrap_or(false);
        if keep_status && has_status && def.storage != "namespaces" && def.storage != "nodes" {
            self.static_uids.insert(util::uid(&obj).to_string());
        }
        if !keep_status && def.has_status() && def.storage != "namespaces" {
            if let Some(o) = obj.as_object_mut() {
                o.remove("status");
            }
        }
        if !keep_status && def.storage == "pods" {
            obj["status"] = json!({"phase": "Pending"});
        }
        if matches!(
            def.storage,
            "deployments" | "statefulsets" | "daemonsets" | "replicasets" | "jobs"
        ) {
            if let Some(t) = obj.pointer("/spec/template") {
                self.first_hash
                    .insert(util::uid(&obj).to_string(), util::template_hash(t));
            }
        }
        self.objects.insert(key, obj.clone());
        self.emit(def.storage, &ns, "ADDED", obj.clone(), None);
        Ok(obj)
    }

    pub fn ensure_namespace(&mut self, ns: &str, now: i64) {
        if self.get("namespaces", "", ns).is_none() {
            let def = registry::by_storage("namespaces");
            let _ = self.create(def, json!({"metadata": {"name": ns}}), now, None, false);
        }
    }

    /// Internal write (controllers, kubelet, status updates): replaces the object and bumps RV.
    pub fn put(&mut self, storage: &'static str, mut obj: Value) -> Value {
        let ns = util::ns(&obj).to_string();
        let name = util::name(&obj).to_string();
        let key = (storage, ns.clone(), name);
        let old = self.objects.get(&key).cloned();
        if let Some(o) = &old {
            if eq_ignoring_rv(o, &obj) {
                return o.clone();
            }
        }
        let rv = self.next_rv();
        util::obj_at(&mut obj, &["metadata"])
            .insert("resourceVersion".into(), json!(rv.to_string()));
        self.objects.insert(key, obj.clone());
        let typ = if old.is_some() { "MODIFIED" } else { "ADDED" };
        self.emit(storage, &ns, typ, obj.clone(), old);
        obj
    }

    /// Update through the API (PUT / patch). Checks resourceVersion if given, bumps generation on
    /// spec changes, keeps status (main resource) or spec (status subresource).
    pub fn update(
        &mut self,
        def: &ResDef,
        ns: &str,
        name: &str,
        mut obj: Value,
        sub: Option<&str>,
        now: i64,
        manager: Option<&str>,
        op: &str,
    ) -> Result<Value, ApiError> {
        if !obj.is_object() {
            return Err(ApiError::bad_request("body is not an object"));
        }
        let def = registry::by_storage(def.storage);
        let key = (def.storage, ns.to_string(), name.to_string());
        let Some(old) = self.objects.get(&key).cloned() else {
            return Err(ApiError::not_found(&plural_group(def), name));
        };
        let given_rv = util::s(&obj, "/metadata/resourceVersion").to_string();
        if !given_rv.is_empty() && given_rv != util::s(&old, "/metadata/resourceVersion") {
            return Err(ApiError::new(409, "Conflict", format!("Operation cannot be fulfilled on {} \"{}\": the object has been modified; please apply your changes to the latest version and try again", plural_group(def), name))
                .with_details(json!({"name": name, "group": def.group, "kind": def.plural})));
        }
        if util::name(&obj) != name && !util::name(&obj).is_empty() {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({}) does not match the name on the URL ({})",
                util::name(&obj),
                name
            )));
        }
        obj["apiVersion"] = json!(def.api_version());
        obj["kind"] = json!(def.kind);
        {
            let meta = util::obj_at(&mut obj, &["metadata"]);
            let om = old["metadata"].as_object().cloned().unwrap_or_default();
            for k in [
                "uid",
                "creationTimestamp",
                "namespace",
                "name",
                "deletionTimestamp",
                "deletionGracePeriodSeconds",
                "generation",
            ] {
                match om.get(k) {
                    Some(v) => {
                        meta.insert(k.into(), v.clone());
                    }
                    None => {
                        meta.remove(k);
                    }
                }
            }
            if !meta.contains_key("managedFields") {
                if let Some(mf) = om.get("managedFields") {
                    meta.insert("managedFields".into(), mf.clone());
                }
            }
        }
        match sub {
            Some("status") => {
                let st = obj.get("status").cloned();
                let mut n = old.clone();
                match st {
                    Some(s) => n["status"] = s,
                    None => {
                        n.as_object_mut().unwrap().remove("status");
                    }
                }
                n["metadata"] = obj["metadata"].clone();
                obj = n;
            }
            _ => {
                if def.has_status() && def.storage != "namespaces" {
                    match old.get("status") {
                        Some(s) => obj["status"] = s.clone(),
                        None => {
                            obj.as_object_mut().unwrap().remove("status");
                        }
                    }
                }
                if old.get("spec") != obj.get("spec") && def.storage != "events" {
                    let g = util::i(&old, "/metadata/generation").unwrap_or(1);
                    if def.has_generation() {
                        obj["metadata"]["generation"] = json!(g + 1);
                    }
                    self.static_uids.remove(util::uid(&old));
                }
            }
        }
        if let Some(m) = manager {
            set_managed(&mut obj, m, op, now, sub);
        }
        Ok(self.put(def.storage, obj))
    }

    /// Remove an object now; emits DELETED.
    pub fn remove(&mut self, storage: &'static str, ns: &str, name: &str) -> Option<Value> {
        let key = (storage, ns.to_string(), name.to_string());
        let mut obj = self.objects.remove(&key)?;
        // Kept in the history (as `old`), so that a list at an earlier resourceVersion still has it.
        let before = obj.clone();
        let rv = self.next_rv();
        util::obj_at(&mut obj, &["metadata"])
            .insert("resourceVersion".into(), json!(rv.to_string()));
        self.static_uids.remove(util::uid(&obj));
        self.emit(storage, ns, "DELETED", obj.clone(), Some(before));
        Some(obj)
    }

    /// Record a core/v1 event (aggregating repeats like the event recorder does).
    #[allow(clippy::too_many_arguments)]
    pub fn record_event(
        &mut self,
        involved: &Value,
        field_path: Option<&str>,
        typ: &str,
        reason: &str,
        message: &str,
        component: &str,
        host: &str,
        now: i64,
    ) {
        let ns = {
            let n = util::ns(involved);
            if n.is_empty() {
                "default".to_string()
            } else {
                n.to_string()
            }
        };
        let akey = (
            util::uid(involved).to_string(),
            reason.to_string(),
            message.to_string(),
            component.to_string(),
        );
        if let Some((ens, ename)) = self.event_keys.get(&akey).cloned() {
            if let Some(mut ev) = self.get("events", &ens, &ename).cloned() {
                let c = util::i(&ev, "/count").unwrap_or(1);
                ev["count"] = json!(c + 1);
                ev["lastTimestamp"] = json!(fmt_ts(now));
                self.put("events", ev);
                return;
            }
        }
        self.event_seq += 1;
        let name = format!(
            "{}.{:x}",
            util::name(involved),
            (now as u64)
                .wrapping_mul(1_000_000)
                .wrapping_add(self.event_seq)
        );
        let mut io = json!({
            "apiVersion": involved.get("apiVersion").cloned().unwrap_or(json!("v1")),
            "kind": involved.get("kind").cloned().unwrap_or(json!("Pod")),
            "name": util::name(involved),
            "uid": util::uid(involved),
            "resourceVersion": util::s(involved, "/metadata/resourceVersion"),
        });
        if !util::ns(involved).is_empty() {
            io["namespace"] = json!(util::ns(involved));
        }
        if let Some(fp) = field_path {
            io["fieldPath"] = json!(fp);
        }
        let mut source = json!({"component": component});
        if !host.is_empty() {
            source["host"] = json!(host);
        }
        let ev = json!({
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": name, "namespace": ns},
            "involvedObject": io,
            "reason": reason, "message": message, "source": source,
            "firstTimestamp": fmt_ts(now), "lastTimestamp": fmt_ts(now),
            "count": 1, "type": typ, "eventTime": null,
            "reportingComponent": component, "reportingInstance": host,
        });
        let def = registry::by_storage("events");
        if self.create(def, ev, now, None, true).is_ok() {
            self.event_keys.insert(akey, (ns, name));
        }
    }
}

/// Equal apart from `metadata.resourceVersion` (without cloning).
fn eq_ignoring_rv(a: &Value, b: &Value) -> bool {
    let (Some(am), Some(bm)) = (a.as_object(), b.as_object()) else {
        return a == b;
    };
    if am.len() != bm.len() {
        return false;
    }
    for (k, av) in am {
        let Some(bv) = bm.get(k) else { return false };
        if k == "metadata" {
            let (Some(x), Some(y)) = (av.as_object(), bv.as_object()) else {
                if av != bv {
                    return false;
                }
                continue;
            };
            let xl = x.len() - x.contains_key("resourceVersion") as usize;
            let yl = y.len() - y.contains_key("resourceVersion") as usize;
            if xl != yl {
                return false;
            }
            for (mk, mv) in x {
                if mk == "resourceVersion" {
                    continue;
                }
                if y.get(mk) != Some(mv) {
                    return false;
                }
            }
        } else if av != bv {
            return false;
        }
    }
    true
}

pub fn plural_group(def: &ResDef) -> String {
    if def.group.is_empty() {
        def.plural.to_string()
    } else {
        format!("{}.{}", def.plural, def.group)
    }
}

/// Convert a JSON document into a managedFields `fieldsV1`-like set.
pub fn fields_of(v: &Value, depth: usize) -> Value {
    match v {
        Value::Object(m) if depth > 0 => {
            let mut out = Map::new();
            for (k, x) in m {
                if depth == 6
                    && (k == "metadata" || k == "status" || k == "apiVersion" || k == "kind")
                {
                    continue;
                }
                out.insert(format!("f:{k}"), fields_of(x, depth - 1));
            }
            Value::Object(out)
        }
        _ => json!({}),
    }
}

pub fn set_managed(obj: &mut Value, manager: &str, op: &str, now: i64, sub: Option<&str>) {
    let fields = match sub {
        Some("status") => {
            json!({"f:status": fields_of(obj.get("status").unwrap_or(&json!({})), 5)})
        }
        _ => fields_of(obj, 6),
    };
    set_managed_fields(obj, manager, op, now, sub, fields);
}

pub fn set_managed_fields(
    obj: &mut Value,
    manager: &str,
    op: &str,
    now: i64,
    sub: Option<&str>,
    fields: Value,
) {
    let api = obj.get("apiVersion").cloned().unwrap_or(json!("v1"));
    let meta = util::obj_at(obj, &["metadata"]);
    let mut list = meta
        .get("managedFields")
        .and_then(|m| m.as_array())
        .cloned()
        .unwrap_or_default();
    list.retain(|e| {
        !(e["manager"] == json!(manager)
            && e["operation"] == json!(op)
            && e.get("subresource").and_then(|s| s.as_str()) == sub)
    });
    let mut e = json!({"manager": manager, "operation": op, "apiVersion": api, "time": fmt_ts(now), "fieldsType": "FieldsV1", "fieldsV1": fields});
    if let Some(s) = sub {
        e["subresource"] = json!(s);
    }
    list.push(e);
    meta.insert("managedFields".into(), Value::Array(list));
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn create_get_update_delete() {
        let mut st = Store::new();
        let def = registry::find("apps", "v1", "deployments").unwrap();
        let d = st
            .create(
                def,
                json!({"metadata": {"name": "web", "namespace": "shop"}, "spec": {"replicas": 1}}),
                0,
                Some("kubectl"),
                false,
            )
            .unwrap();
        assert_eq!(d["metadata"]["generation"], json!(1));
        assert!(st.get("namespaces", "", "shop").is_some());
        let err = st.create(def, d.clone(), 0, None, false).unwrap_err();
        assert_eq!(err.code, 409);
        let mut d2 = d.clone();
        d2["spec"]["replicas"] = json!(2);
        let d3 = st
            .update(def, "shop", "web", d2.clone(), None, 0, None, "Update")
            .unwrap();
        assert_eq!(d3["metadata"]["generation"], json!(2));
        // stale RV conflicts
        let err = st
            .update(def, "shop", "web", d2, None, 0, None, "Update")
            .unwrap_err();
        assert_eq!(err.code, 409);
        assert_eq!(err.reason, "Conflict");
        assert!(st.remove("deployments", "shop", "web").is_some());
        assert!(st.get("deployments", "shop", "web").is_none());
    }
    #[test]
    fn iter_after_starts_past_the_given_object_and_stays_in_its_scope() {
        let mut st = Store::new();
        let def = registry::find("", "v1", "configmaps").unwrap();
        for (ns, name) in [("a", "x"), ("b", "x"), ("b", "y"), ("b", "z"), ("c", "x")] {
            st.create(
                def,
                json!({"metadata": {"name": name, "namespace": ns}}),
                0,
                None,
                false,
            )
            .unwrap();
        }
        let keys = |it: Box<dyn Iterator<Item = &Value> + '_>| -> Vec<String> {
            it.map(|o| format!("{}/{}", util::ns(o), util::name(o)))
                .collect()
        };
        assert_eq!(
            keys(Box::new(st.iter_after(
                "configmaps",
                None,
                Some(("b", "x"))
            ))),
            ["b/y", "b/z", "c/x"]
        );
        assert_eq!(
            keys(Box::new(st.iter_after(
                "configmaps",
                Some("b"),
                Some(("b", "y"))
            ))),
            ["b/z"]
        );
        // A position before the namespace starts at its first object; one after it gives nothing.
        assert_eq!(
            keys(Box::new(st.iter_after(
                "configmaps",
                Some("b"),
                Some(("a", "x"))
            ))),
            ["b/x", "b/y", "b/z"]
        );
        assert!(keys(Box::new(st.iter_after(
            "configmaps",
            Some("b"),
            Some(("c", ""))
        )))
        .is_empty());
        assert_eq!(
            keys(Box::new(st.iter_after(
                "configmaps",
                None,
                Some(("c", "x"))
            ))),
            Vec::<String>::new(),
            "nothing of the next storage"
        );
    }

    #[test]
    fn iter_at_shows_the_objects_as_they_were_at_that_resource_version() {
        let mut st = Store::new();
        let def = registry::find("", "v1", "configmaps").unwrap();
        let cm = |name: &str, v: &str| json!({"metadata": {"name": name, "namespace": "d"}, "data": {"v": v}});
        for name in ["a", "b", "c", "e"] {
            st.create(def, cm(name, "1"), 0, None, false).unwrap();
        }
        let rv = st.rv;
        // After rv: b changes twice, c goes, d comes, a goes and comes back, e goes and comes back
        // changed.
        let b = st.get("configmaps", "d", "b").unwrap().clone();
        let mut b2 = b.clone();
        b2["data"]["v"] = json!("2");
        st.put("configmaps", b2.clone());
        b2["data"]["v"] = json!("3");
        st.put("configmaps", b2);
        st.remove("configmaps", "d", "c");
        st.create(def, cm("d", "1"), 0, None, false).unwrap();
        st.remove("configmaps", "d", "a");
        st.create(def, cm("a", "9"), 0, None, false).unwrap();
        st.remove("configmaps", "d", "e");
        st.create(def, cm("e", "9"), 0, None, false).unwrap();
        let seen = |it: Box<dyn Iterator<Item = &Value> + '_>| -> Vec<String> {
            it.map(|o| format!("{}={}", util::name(o), o["data"]["v"].as_str().unwrap()))
                .collect()
        };
        assert_eq!(
            seen(st.iter_at("configmaps", Some("d"), None, rv)),
            ["a=1", "b=1", "c=1", "e=1"]
        );
        assert_eq!(
            st.iter_at("configmaps", None, None, rv)
                .map(|o| util::s(o, "/metadata/resourceVersion").to_string())
                .collect::<Vec<_>>()[1],
            util::s(&b, "/metadata/resourceVersion"),
            "b as it was, resourceVersion included"
        );
        assert_eq!(
            seen(st.iter_at("configmaps", None, Some(("d", "b")), rv)),
            ["c=1", "e=1"],
            "a continued list starts after its last object"
        );
        assert_eq!(
            seen(st.iter_at("configmaps", Some("d"), None, st.rv)),
            ["a=9", "b=3", "d=1", "e=9"],
            "now"
        );
    }

    #[test]
    fn events_aggregate() {
        let mut st = Store::new();
        let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "default", "uid": "u1"}});
        st.record_event(
            &pod, None, "Warning", "BackOff", "x", "kubelet", "node-1", 0,
        );
        st.record_event(
            &pod, None, "Warning", "BackOff", "x", "kubelet", "node-1", 5000,
        );
        let evs = st.list("events", Some("default"));
        assert_eq!(evs.len(), 1);
        assert_eq!(evs[0]["count"], json!(2));
    }
}
