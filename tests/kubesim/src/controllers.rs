//! Workload controllers: Deployment, ReplicaSet, StatefulSet, DaemonSet, PodDisruptionBudget status.

use crate::behavior::{BEHAVIOR, ROLLOUT_BEHAVIOR};
use crate::registry;
use crate::selectors::LabelSelector;
use crate::store::Store;
use crate::util::{self, fmt_ts, int_or_percent, template_hash};
use serde_json::{json, Map, Value};
use std::collections::HashMap;

#[derive(Default)]
pub struct Ctrl {
    /// What the service proxy routes by (`svcproxy`).
    pub proxy: crate::svcproxy::Routes,
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

fn owned_by<'a>(
    store: &'a Store,
    storage: &'static str,
    ns: &'a str,
    owner_uid: &'a str,
) -> impl Iterator<Item = &'a Value> + 'a {
    store
        .iter(storage, Some(ns))
        .filter(move |o| util::owner_uid_controller(o).as_deref() == Some(owner_uid))
}

fn insert_nonzero(m: &mut Map<String, Value>, k: &str, v: i64) {
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

/// Build a pod from a template.
#[allow(clippy::too_many_arguments)]
fn make_pod(
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

fn rollout_behavior(template: &Value, owner: Option<&Value>) -> Option<String> {
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

fn set_cond(
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

fn revision(o: &Value) -> i64 {
    util::s(
        o,
        "/metadata/annotations/deployment.kubernetes.io~1revision",
    )
    .parse()
    .unwrap_or(0)
}

impl Ctrl {
    pub fn tick(&mut self, store: &mut Store, now: i64) {
        let deps: Vec<Value> = store.iter("deployments", None).cloned().collect();
        for d in deps {
            self.deployment(store, &d, now);
        }
        let rss: Vec<Value> = store.iter("replicasets", None).cloned().collect();
        for rs in rss {
            self.replicaset(store, &rs, now);
        }
        let stss: Vec<Value> = store.iter("statefulsets", None).cloned().collect();
        for s in stss {
            self.statefulset(store, &s, now);
        }
        let dss: Vec<Value> = store.iter("daemonsets", None).cloned().collect();
        for d in dss {
            self.daemonset(store, &d, now);
        }
        let svcs: Vec<Value> = store.iter("services", None).cloned().collect();
        for sv in svcs {
            endpoints(store, &sv, now);
        }
        crate::endpointslices::sync(store, now);
        self.proxy.record(store, now);
        let jobs: Vec<Value> = store.iter("jobs", None).cloned().collect();
        for j in jobs {
            job(store, &j, now);
        }
        let pdbs: Vec<Value> = store.iter("poddisruptionbudgets", None).cloned().collect();
        for p in pdbs {
            pdb_status(store, &p, now);
        }
    }

    fn scale_rs(store: &mut Store, rs: &mut Value, n: i64, d: &Value, now: i64) {
        let cur = util::i(rs, "/spec/replicas").unwrap_or(1);
        if cur == n {
            return;
        }
        store.static_uids.remove(util::uid(rs));
        rs["spec"]["replicas"] = json!(n);
        let ann = util::obj_at(rs, &["metadata", "annotations"]);
        ann.insert(
            "deployment.kubernetes.io/desired-replicas".into(),
            json!(util::i(d, "/spec/replicas").unwrap_or(1).to_string()),
        );
        *rs = store.put("replicasets", rs.clone());
        let dir = if n > cur { "up" } else { "down" };
        store.record_event(
            d,
            None,
            "Normal",
            "ScalingReplicaSet",
            &format!(
                "Scaled {dir} replica set {} from {cur} to {n}",
                util::name(rs)
            ),
            "deployment-controller",
            "",
            now,
        );
    }

    fn deployment(&mut self, store: &mut Store, d: &Value, now: i64) {
        let uid = util::uid(d).to_string();
        if store.static_uids.contains(&uid) {
            return;
        }
        let ns = util::ns(d).to_string();
        let dname = util::name(d).to_string();
        let replicas = util::i(d, "/spec/replicas").unwrap_or(1);
        let tmpl = d.pointer("/spec/template").cloned().unwrap_or(json!({}));
        let hash = template_hash(&tmpl);
        store.first_hash.entry(uid.clone()).or_insert(hash.clone());
        let paused = util::b(d, "/spec/paused");
        let mut rss: Vec<Value> = owned_by(store, "replicasets", &ns, &uid).cloned().collect();
        rss.sort_by_key(|r| {
            (
                util::parse_ts(util::s(r, "/metadata/creationTimestamp")).unwrap_or(0),
                util::name(r).to_string(),
            )
        });
        let max_rev = rss.iter().map(revision).max().unwrap_or(0);
        let mut new_idx = rss.iter().position(|r| {
            template_hash(r.pointer("/spec/template").unwrap_or(&Value::Null)) == hash
        });
        let mut created = false;
        let min_ready = util::i(d, "/spec/minReadySeconds").unwrap_or(0);
        let strategy = util::s(d, "/spec/strategy/type").to_string();
        let surge = if strategy == "Recreate" {
            0
        } else {
            int_or_percent(
                d.pointer("/spec/strategy/rollingUpdate/maxSurge"),
                replicas,
                "25%",
                true,
            )
        };
        let mut unav = if strategy == "Recreate" {
            0
        } else {
            int_or_percent(
                d.pointer("/spec/strategy/rollingUpdate/maxUnavailable"),
                replicas,
                "25%",
                false,
            )
        };
        if surge == 0 && unav == 0 && strategy != "Recreate" {
            unav = 1;
        }
        match new_idx {
            Some(i) => {
                let r = &mut rss[i];
                let mut changed = false;
                if revision(r) < max_rev || (revision(r) == 0 && !paused) {
                    let rev = if revision(r) == 0 {
                        max_rev.max(1)
                    } else {
                        max_rev + 1
                    };
                    util::obj_at(r, &["metadata", "annotations"]).insert(
                        "deployment.kubernetes.io/revision".into(),
                        json!(rev.to_string()),
                    );
                    changed = true;
                }
                if util::i(r, "/spec/minReadySeconds").unwrap_or(0) != min_ready {
                    r["spec"]["minReadySeconds"] = json!(min_ready);
                    changed = true;
                }
                if changed {
                    store.static_uids.remove(util::uid(r));
                    *r = store.put("replicasets", r.clone());
                }
            }
            None if !paused => {
                let mut t = tmpl.clone();
                util::obj_at(&mut t, &["metadata", "labels"])
                    .insert("pod-template-hash".into(), json!(hash));
                let mut sel = d.pointer("/spec/selector").cloned().unwrap_or(json!({}));
                util::obj_at(&mut sel, &["matchLabels"])
                    .insert("pod-template-hash".into(), json!(hash));
                let mut labels = t.pointer("/metadata/labels").cloned().unwrap_or(json!({}));
                labels["pod-template-hash"] = json!(hash);
                let rs = json!({
                    "apiVersion": "apps/v1", "kind": "ReplicaSet",
                    "metadata": {
                        "name": format!("{dname}-{hash}"), "namespace": ns, "labels": labels,
                        "annotations": {
                            "deployment.kubernetes.io/revision": (max_rev + 1).to_string(),
                            "deployment.kubernetes.io/desired-replicas": replicas.to_string(),
                            "deployment.kubernetes.io/max-replicas": (replicas + surge).to_string(),
                        },
                        "ownerReferences": [util::owner_ref(d, "Deployment", "apps/v1")],
                    },
                    "spec": {"replicas": 0, "minReadySeconds": min_ready, "selector": sel, "template": t},
                });
                let def = registry::by_storage("replicasets");
                if let Ok(rs) = store.create(def, rs, now, Some("kube-controller-manager"), false) {
                    rss.push(rs);
                    new_idx = Some(rss.len() - 1);
                    created = true;
                }
            }
            None => {}
        }
        if !paused {
            if let Some(ni) = new_idx {
                if strategy == "Recreate" {
                    let mut old_pods = 0;
                    for (i, r) in rss.iter_mut().enumerate() {
                        if i == ni {
                            continue;
                        }
                        Self::scale_rs(store, r, 0, d, now);
                        old_pods += owned_by(store, "pods", &ns, util::uid(r)).count();
                    }
                    if old_pods == 0 {
                        Self::scale_rs(store, &mut rss[ni], replicas, d, now);
                    }
                } else {
                    let spec_r = |r: &Value| util::i(r, "/spec/replicas").unwrap_or(1);
                    let avail = |r: &Value| util::i(r, "/status/availableReplicas").unwrap_or(0);
                    let all: i64 = rss.iter().map(spec_r).sum();
                    let new_r = spec_r(&rss[ni]);
                    let olds_active = rss
                        .iter()
                        .enumerate()
                        .any(|(i, r)| i != ni && spec_r(r) > 0);
                    if new_r < replicas {
                        let max_total = replicas + surge;
                        if all < max_total {
                            let up = (max_total - all).min(replicas - new_r);
                            Self::scale_rs(store, &mut rss[ni], new_r + up, d, now);
                        }
                    } else if new_r > replicas {
                        Self::scale_rs(store, &mut rss[ni], replicas, d, now);
                    }
                    if olds_active {
                        let all: i64 = rss.iter().map(spec_r).sum();
                        let new_unavail = (spec_r(&rss[ni]) - avail(&rss[ni])).max(0);
                        let min_avail = replicas - unav;
                        let mut max_down = all - min_avail - new_unavail;
                        if max_down > 0 {
                            for i in 0..rss.len() {
                                if i == ni || max_down <= 0 {
                                    continue;
                                }
                                let unhealthy = spec_r(&rss[i]) - avail(&rss[i]);
                                if unhealthy <= 0 || spec_r(&rss[i]) == 0 {
                                    continue;
                                }
                                let down = max_down.min(unhealthy);
                                let target = spec_r(&rss[i]) - down;
                                Self::scale_rs(store, &mut rss[i], target, d, now);
                                max_down -= down;
                            }
                            let avail_total: i64 = rss.iter().map(avail).sum();
                            if avail_total > min_avail {
                                let mut total = avail_total - min_avail;
                                for i in 0..rss.len() {
                                    if i == ni || total <= 0 {
                                        continue;
                                    }
                                    let cur = spec_r(&rss[i]);
                                    if cur == 0 {
                                        continue;
                                    }
                                    let down = cur.min(total);
                                    Self::scale_rs(store, &mut rss[i], cur - down, d, now);
                                    total -= down;
                                }
                            }
                        }
                    }
                }
            }
        }
        // status
        let Some(mut dd) = store.get("deployments", &ns, &dname).cloned() else {
            return;
        };
        let new_rs = new_idx.map(|i| rss[i].clone());
        if let Some(nr) = &new_rs {
            let rev = revision(nr).to_string();
            if util::s(
                &dd,
                "/metadata/annotations/deployment.kubernetes.io~1revision",
            ) != rev
            {
                util::obj_at(&mut dd, &["metadata", "annotations"])
                    .insert("deployment.kubernetes.io/revision".into(), json!(rev));
            }
        }
        let st_r = |r: &Value, k: &str| util::i(r, &format!("/status/{k}")).unwrap_or(0);
        let total_spec: i64 = rss
            .iter()
            .map(|r| util::i(r, "/spec/replicas").unwrap_or(1))
            .sum();
        let actual: i64 = rss.iter().map(|r| st_r(r, "replicas")).sum();
        let updated = new_rs.as_ref().map(|r| st_r(r, "replicas")).unwrap_or(0);
        let ready: i64 = rss.iter().map(|r| st_r(r, "readyReplicas")).sum();
        let available: i64 = rss.iter().map(|r| st_r(r, "availableReplicas")).sum();
        let unavailable = (total_spec - available).max(0);
        let old = dd.get("status").cloned().unwrap_or(json!({}));
        let mut st = old.as_object().cloned().unwrap_or_default();
        st.insert(
            "observedGeneration".into(),
            json!(util::i(&dd, "/metadata/generation").unwrap_or(1)),
        );
        insert_nonzero(&mut st, "replicas", actual);
        insert_nonzero(&mut st, "updatedReplicas", updated);
        insert_nonzero(&mut st, "readyReplicas", ready);
        insert_nonzero(&mut st, "availableReplicas", available);
        insert_nonzero(&mut st, "unavailableReplicas", unavailable);
        let mut conds: Vec<Value> = old
            .get("conditions")
            .and_then(|c| c.as_array())
            .cloned()
            .unwrap_or_default();
        if available >= replicas - unav {
            set_cond(
                &mut conds,
                "Available",
                "True",
                "MinimumReplicasAvailable",
                "Deployment has minimum availability.",
                now,
                false,
            );
        } else {
            set_cond(
                &mut conds,
                "Available",
                "False",
                "MinimumReplicasUnavailable",
                "Deployment does not have minimum availability.",
                now,
                false,
            );
        }
        let old_i = |k: &str| util::i(&old, &format!("/{k}")).unwrap_or(0);
        let progress = updated > old_i("updatedReplicas")
            || (actual - updated) < (old_i("replicas") - old_i("updatedReplicas"))
            || ready > old_i("readyReplicas")
            || available > old_i("availableReplicas");
        let complete = updated == replicas && actual == replicas && available == replicas;
        let nrs_name = new_rs
            .as_ref()
            .map(|r| util::name(r).to_string())
            .unwrap_or_default();
        if paused {
            set_cond(
                &mut conds,
                "Progressing",
                "Unknown",
                "DeploymentPaused",
                "Deployment is paused",
                now,
                false,
            );
        } else if let Some(_nr) = &new_rs {
            let cur = conds.iter().find(|c| c["type"] == "Progressing").cloned();
            if complete {
                set_cond(
                    &mut conds,
                    "Progressing",
                    "True",
                    "NewReplicaSetAvailable",
                    &format!("ReplicaSet \"{nrs_name}\" has successfully progressed."),
                    now,
                    false,
                );
            } else if created {
                set_cond(
                    &mut conds,
                    "Progressing",
                    "True",
                    "NewReplicaSetCreated",
                    &format!("Created new replica set \"{nrs_name}\""),
                    now,
                    true,
                );
            } else if cur
                .as_ref()
                .is_some_and(|c| c["reason"] == "DeploymentPaused")
            {
                set_cond(
                    &mut conds,
                    "Progressing",
                    "Unknown",
                    "DeploymentResumed",
                    "Deployment is resumed",
                    now,
                    true,
                );
            } else if cur.is_none() {
                set_cond(
                    &mut conds,
                    "Progressing",
                    "True",
                    "FoundNewReplicaSet",
                    &format!("Found new replica set \"{nrs_name}\""),
                    now,
                    true,
                );
            } else if progress
                || cur
                    .as_ref()
                    .is_some_and(|c| c["reason"] == "NewReplicaSetAvailable")
            {
                set_cond(
                    &mut conds,
                    "Progressing",
                    "True",
                    "ReplicaSetUpdated",
                    &format!("ReplicaSet \"{nrs_name}\" is progressing."),
                    now,
                    true,
                );
            } else if let Some(c) = cur {
                let pds = util::i(&dd, "/spec/progressDeadlineSeconds").unwrap_or(600);
                let from =
                    util::parse_ts(c["lastUpdateTime"].as_str().unwrap_or("")).unwrap_or(now);
                if c["reason"] != "ProgressDeadlineExceeded" && from + pds * 1000 < now {
                    set_cond(
                        &mut conds,
                        "Progressing",
                        "False",
                        "ProgressDeadlineExceeded",
                        &format!("ReplicaSet \"{nrs_name}\" has timed out progressing."),
                        now,
                        false,
                    );
                }
            }
        }
        conds.sort_by_key(|c| if c["type"] == "Available" { 0 } else { 1 });
        st.insert("conditions".into(), json!(conds));
        let limit = util::i(&dd, "/spec/revisionHistoryLimit")
            .unwrap_or(10)
            .max(0) as usize;
        dd["status"] = Value::Object(st);
        store.put("deployments", dd);
        // revisionHistoryLimit: drop the oldest idle ReplicaSets once the rollout is complete
        if complete && !paused {
            let mut idle: Vec<&Value> = rss
                .iter()
                .enumerate()
                .filter(|(i, r)| {
                    Some(*i) != new_idx
                        && util::i(r, "/spec/replicas") == Some(0)
                        && util::i(r, "/status/replicas").unwrap_or(0) == 0
                })
                .map(|(_, r)| r)
                .collect();
            if idle.len() > limit {
                idle.sort_by_key(|r| revision(r));
                let drop: Vec<String> = idle[..idle.len() - limit]
                    .iter()
                    .map(|r| util::name(r).to_string())
                    .collect();
                for n in drop {
                    if owned_by(
                        store,
                        "pods",
                        &ns,
                        util::uid(store.get("replicasets", &ns, &n).unwrap_or(&Value::Null)),
                    )
                    .next()
                    .is_none()
                    {
                        cascade_delete(store, "replicasets", &ns, &n, now);
                    }
                }
            }
        }
    }

    fn replicaset(&mut self, store: &mut Store, rs: &Value, now: i64) {
        let uid = util::uid(rs).to_string();
        if store.static_uids.contains(&uid) {
            return;
        }
        let ns = util::ns(rs).to_string();
        let rname = util::name(rs).to_string();
        let want = util::i(rs, "/spec/replicas").unwrap_or(1);
        let tmpl = rs.pointer("/spec/template").cloned().unwrap_or(json!({}));
        let owner_uid = util::owner_uid_controller(rs);
        let owner = owner_uid.as_ref().and_then(|ou| {
            store
                .iter("deployments", Some(&ns))
                .find(|d| util::uid(d) == ou)
                .cloned()
        });
        let first_key = owner_uid.clone().unwrap_or(uid.clone());
        let hash = template_hash(&tmpl);
        let first = store
            .first_hash
            .entry(first_key)
            .or_insert(hash.clone())
            .clone();
        let mut active: Vec<Value> = owned_by(store, "pods", &ns, &uid)
            .filter(|p| is_active(p))
            .cloned()
            .collect();
        let diff = active.len() as i64 - want;
        if diff < 0 {
            let rb = if first != hash {
                rollout_behavior(&tmpl, owner.as_ref())
            } else {
                None
            };
            for _ in 0..(-diff) {
                let pod = make_pod(
                    &tmpl,
                    None,
                    &format!("{rname}-"),
                    &ns,
                    rs,
                    "ReplicaSet",
                    &[],
                    rb.clone(),
                );
                let def = registry::by_storage("pods");
                if let Ok(p) = store.create(def, pod, now, Some("kube-controller-manager"), false) {
                    store.record_event(
                        rs,
                        None,
                        "Normal",
                        "SuccessfulCreate",
                        &format!("Created pod: {}", util::name(&p)),
                        "replicaset-controller",
                        "",
                        now,
                    );
                }
            }
        } else if diff > 0 {
            active.sort_by_key(|p| {
                let rank_sched = if util::s(p, "/spec/nodeName").is_empty() {
                    0
                } else {
                    1
                };
                let rank_phase = match util::s(p, "/status/phase") {
                    "Pending" => 0,
                    "Unknown" => 1,
                    _ => 2,
                };
                let rank_ready = if is_ready(p) { 1 } else { 0 };
                let created =
                    util::parse_ts(util::s(p, "/metadata/creationTimestamp")).unwrap_or(0);
                (rank_sched, rank_phase, rank_ready, -created)
            });
            for p in active.iter().take(diff as usize) {
                delete_pod(store, &ns, util::name(p), None, now);
                store.record_event(
                    rs,
                    None,
                    "Normal",
                    "SuccessfulDelete",
                    &format!("Deleted pod: {}", util::name(p)),
                    "replicaset-controller",
                    "",
                    now,
                );
            }
        }
        let Some(mut r) = store.get("replicasets", &ns, &rname).cloned() else {
            return;
        };
        let min_ready = util::i(&r, "/spec/minReadySeconds").unwrap_or(0) * 1000;
        let pods: Vec<&Value> = owned_by(store, "pods", &ns, &uid)
            .filter(|p| is_active(p))
            .collect();
        let sel = LabelSelector::from_json(
            r.pointer("/spec/template/metadata")
                .map(|m| json!({"matchLabels": m.get("labels").cloned().unwrap_or(json!({}))}))
                .as_ref()
                .unwrap_or(&json!({})),
        );
        let mut st = Map::new();
        st.insert("replicas".into(), json!(pods.len()));
        insert_nonzero(
            &mut st,
            "fullyLabeledReplicas",
            pods.iter().filter(|p| sel.matches_obj(p)).count() as i64,
        );
        insert_nonzero(
            &mut st,
            "readyReplicas",
            pods.iter().filter(|p| is_ready(p)).count() as i64,
        );
        insert_nonzero(
            &mut st,
            "availableReplicas",
            pods.iter()
                .filter(|p| is_available(p, min_ready, now))
                .count() as i64,
        );
        st.insert(
            "observedGeneration".into(),
            json!(util::i(&r, "/metadata/generation").unwrap_or(1)),
        );
        r["status"] = Value::Object(st);
        store.put("replicasets", r);
    }

    fn ensure_revision(
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

    fn revision_template(store: &Store, ns: &str, rev: &str) -> Option<Value> {
        store
            .get("controllerrevisions", ns, rev)?
            .pointer("/data/spec/template")
            .cloned()
    }

    fn statefulset(&mut self, store: &mut Store, s: &Value, now: i64) {
        let uid = util::uid(s).to_string();
        if store.static_uids.contains(&uid) {
            return;
        }
        let ns = util::ns(s).to_string();
        let sname = util::name(s).to_string();
        let replicas = util::i(s, "/spec/replicas").unwrap_or(1);
        let tmpl = s.pointer("/spec/template").cloned().unwrap_or(json!({}));
        let hash = template_hash(&tmpl);
        let first = store
            .first_hash
            .entry(uid.clone())
            .or_insert(hash.clone())
            .clone();
        let update_rev = Self::ensure_revision(store, s, "StatefulSet", &tmpl, &hash, now);
        let mut current_rev = util::s(s, "/status/currentRevision").to_string();
        if current_rev.is_empty()
            || store
                .get("controllerrevisions", &ns, &current_rev)
                .is_none()
        {
            current_rev = update_rev.clone();
        }
        let strategy = util::s(s, "/spec/updateStrategy/type").to_string();
        let rolling = strategy != "OnDelete";
        let partition = util::i(s, "/spec/updateStrategy/rollingUpdate/partition").unwrap_or(0);
        let parallel = util::s(s, "/spec/podManagementPolicy") == "Parallel";
        let min_ready = util::i(s, "/spec/minReadySeconds").unwrap_or(0) * 1000;
        let rb = rollout_behavior(&tmpl, Some(s));
        let pods_of = |store: &Store| -> HashMap<i64, Value> {
            owned_by(store, "pods", &ns, &uid)
                .filter_map(|p| {
                    let n = util::name(p);
                    let ord: i64 = n.strip_prefix(&format!("{sname}-"))?.parse().ok()?;
                    Some((ord, p.clone()))
                })
                .collect()
        };
        let pods = pods_of(store);
        let rev_of =
            |p: &Value| util::s(p, "/metadata/labels/controller-revision-hash").to_string();
        // create / wait
        for i in 0..replicas {
            match pods.get(&i) {
                None => {
                    let rev = if rolling && i < partition {
                        current_rev.clone()
                    } else {
                        update_rev.clone()
                    };
                    let t = Self::revision_template(store, &ns, &rev).unwrap_or(tmpl.clone());
                    let pname = format!("{sname}-{i}");
                    let roll = if template_hash(&t) != first {
                        rb.clone()
                    } else {
                        None
                    };
                    let mut pod = make_pod(
                        &t,
                        Some(&pname),
                        "",
                        &ns,
                        s,
                        "StatefulSet",
                        &[
                            ("controller-revision-hash", rev.clone()),
                            ("statefulset.kubernetes.io/pod-name", pname.clone()),
                            ("apps.kubernetes.io/pod-index", i.to_string()),
                        ],
                        roll,
                    );
                    pod["spec"]["hostname"] = json!(pname);
                    if let Some(svc) = s.pointer("/spec/serviceName").and_then(|x| x.as_str()) {
                        pod["spec"]["subdomain"] = json!(svc);
                    }
                    if store
                        .create(
                            registry::by_storage("pods"),
                            pod,
                            now,
                            Some("kube-controller-manager"),
                            false,
                        )
                        .is_ok()
                    {
                        store.record_event(
                            s,
                            None,
                            "Normal",
                            "SuccessfulCreate",
                            &format!("create Pod {pname} in StatefulSet {sname} successful"),
                            "statefulset-controller",
                            "",
                            now,
                        );
                    }
                    if !parallel {
                        break;
                    }
                }
                Some(p) => {
                    if !parallel && (is_deleting(p) || !is_ready(p)) {
                        break;
                    }
                }
            }
        }
        let pods = pods_of(store);
        let all_ready =
            (0..replicas).all(|i| pods.get(&i).is_some_and(|p| is_ready(p) && !is_deleting(p)));
        // scale down (highest ordinal first)
        let mut extra: Vec<i64> = pods.keys().copied().filter(|o| *o >= replicas).collect();
        extra.sort_unstable_by(|a, b| b.cmp(a));
        if let Some(o) = extra.first() {
            let p = &pods[o];
            if (parallel || all_ready) && !is_deleting(p) {
                delete_pod(store, &ns, util::name(p), None, now);
                store.record_event(
                    s,
                    None,
                    "Normal",
                    "SuccessfulDelete",
                    &format!(
                        "delete Pod {} in StatefulSet {sname} successful",
                        util::name(p)
                    ),
                    "statefulset-controller",
                    "",
                    now,
                );
            }
        } else if rolling && all_ready {
            for i in (partition..replicas).rev() {
                if let Some(p) = pods.get(&i) {
                    if rev_of(p) != update_rev {
                        delete_pod(store, &ns, util::name(p), None, now);
                        break;
                    }
                }
            }
        }
        let pods = pods_of(store);
        let Some(mut ss) = store.get("statefulsets", &ns, &sname).cloned() else {
            return;
        };
        let count = pods.len() as i64;
        let ready = pods.values().filter(|p| is_ready(p)).count() as i64;
        let available = pods
            .values()
            .filter(|p| is_available(p, min_ready, now))
            .count() as i64;
        let updated = pods.values().filter(|p| rev_of(p) == update_rev).count() as i64;
        let mut current = pods.values().filter(|p| rev_of(p) == current_rev).count() as i64;
        if updated == count && ready == count && count == replicas {
            current_rev = update_rev.clone();
            current = updated;
        }
        let mut st = Map::new();
        st.insert(
            "observedGeneration".into(),
            json!(util::i(&ss, "/metadata/generation").unwrap_or(1)),
        );
        st.insert("replicas".into(), json!(count));
        insert_nonzero(&mut st, "readyReplicas", ready);
        insert_nonzero(&mut st, "currentReplicas", current);
        insert_nonzero(&mut st, "updatedReplicas", updated);
        st.insert("availableReplicas".into(), json!(available));
        st.insert("currentRevision".into(), json!(current_rev));
        st.insert("updateRevision".into(), json!(update_rev));
        st.insert("collisionCount".into(), json!(0));
        ss["status"] = Value::Object(st);
        store.put("statefulsets", ss);
    }

    fn daemonset(&mut self, store: &mut Store, ds: &Value, now: i64) {
        let uid = util::uid(ds).to_string();
        if store.static_uids.contains(&uid) {
            return;
        }
        let ns = util::ns(ds).to_string();
        let dname = util::name(ds).to_string();
        let tmpl = ds.pointer("/spec/template").cloned().unwrap_or(json!({}));
        let hash = template_hash(&tmpl);
        let first = store
            .first_hash
            .entry(uid.clone())
            .or_insert(hash.clone())
            .clone();
        Self::ensure_revision(store, ds, "DaemonSet", &tmpl, &hash, now);
        let gen = util::i(ds, "/metadata/generation").unwrap_or(1);
        let min_ready = util::i(ds, "/spec/minReadySeconds").unwrap_or(0) * 1000;
        let nodes: Vec<String> = store
            .iter("nodes", None)
            .filter(|n| {
                n.pointer("/status/conditions")
                    .and_then(|c| c.as_array())
                    .is_some_and(|c| {
                        c.iter()
                            .any(|c| c["type"] == "Ready" && c["status"] == "True")
                    })
            })
            .filter(|n| {
                let sel = tmpl
                    .pointer("/spec/nodeSelector")
                    .and_then(|x| x.as_object())
                    .cloned()
                    .unwrap_or_default();
                let l = util::labels(n);
                sel.iter().all(|(k, v)| l.get(k) == Some(v))
            })
            .map(|n| util::name(n).to_string())
            .collect();
        let rolling = util::s(ds, "/spec/updateStrategy/type") != "OnDelete";
        let max_unav = int_or_percent(
            ds.pointer("/spec/updateStrategy/rollingUpdate/maxUnavailable"),
            nodes.len() as i64,
            "1",
            true,
        )
        .max(1);
        let rb = if first != hash {
            rollout_behavior(&tmpl, Some(ds))
        } else {
            None
        };
        let by_node = |store: &Store| -> HashMap<String, Vec<Value>> {
            let mut m: HashMap<String, Vec<Value>> = HashMap::new();
            for p in owned_by(store, "pods", &ns, &uid) {
                m.entry(util::s(p, "/spec/nodeName").to_string())
                    .or_default()
                    .push(p.clone());
            }
            m
        };
        let pods = by_node(store);
        for n in &nodes {
            let ps = pods.get(n).cloned().unwrap_or_default();
            if ps.is_empty() {
                let mut pod = make_pod(
                    &tmpl,
                    None,
                    &format!("{dname}-"),
                    &ns,
                    ds,
                    "DaemonSet",
                    &[
                        ("controller-revision-hash", hash.clone()),
                        ("pod-template-generation", gen.to_string()),
                    ],
                    rb.clone(),
                );
                pod["spec"]["nodeName"] = json!(n);
                if let Ok(p) = store.create(
                    registry::by_storage("pods"),
                    pod,
                    now,
                    Some("kube-controller-manager"),
                    false,
                ) {
                    store.record_event(
                        ds,
                        None,
                        "Normal",
                        "SuccessfulCreate",
                        &format!("Created pod: {}", util::name(&p)),
                        "daemonset-controller",
                        "",
                        now,
                    );
                }
            }
        }
        if rolling {
            let pods = by_node(store);
            let mut unavailable = nodes
                .iter()
                .filter(|n| {
                    !pods.get(*n).is_some_and(|ps| {
                        ps.iter()
                            .any(|p| !is_deleting(p) && is_available(p, min_ready, now))
                    })
                })
                .count() as i64;
            let mut olds: Vec<Value> = pods
                .values()
                .flatten()
                .filter(|p| {
                    !is_deleting(p)
                        && util::s(p, "/metadata/labels/controller-revision-hash") != hash
                })
                .cloned()
                .collect();
            olds.sort_by_key(|p| (is_ready(p), util::name(p).to_string()));
            for p in olds {
                if !is_available(&p, min_ready, now) {
                    delete_pod(store, &ns, util::name(&p), None, now);
                } else if unavailable < max_unav {
                    delete_pod(store, &ns, util::name(&p), None, now);
                    unavailable += 1;
                }
            }
        }
        let pods = by_node(store);
        let Some(mut d) = store.get("daemonsets", &ns, &dname).cloned() else {
            return;
        };
        let on = |f: &dyn Fn(&Value) -> bool| {
            nodes
                .iter()
                .filter(|n| {
                    pods.get(*n)
                        .is_some_and(|ps| ps.iter().any(|p| !is_deleting(p) && f(p)))
                })
                .count() as i64
        };
        let desired = nodes.len() as i64;
        let current = nodes
            .iter()
            .filter(|n| pods.get(*n).is_some_and(|ps| !ps.is_empty()))
            .count() as i64;
        let updated = on(&|p| util::s(p, "/metadata/labels/controller-revision-hash") == hash);
        let ready = on(&is_ready);
        let available = on(&|p| is_available(p, min_ready, now));
        let mut st = Map::new();
        st.insert("currentNumberScheduled".into(), json!(current));
        st.insert("desiredNumberScheduled".into(), json!(desired));
        st.insert("numberMisscheduled".into(), json!(0));
        st.insert("numberReady".into(), json!(ready));
        st.insert("observedGeneration".into(), json!(gen));
        insert_nonzero(&mut st, "updatedNumberScheduled", updated);
        insert_nonzero(&mut st, "numberAvailable", available);
        insert_nonzero(&mut st, "numberUnavailable", desired - available);
        d["status"] = Value::Object(st);
        store.put("daemonsets", d);
    }
}

/// Compute a PDB's status from the pods it selects.
pub fn pdb_status(store: &mut Store, pdb: &Value, now: i64) {
    if store.static_uids.contains(util::uid(pdb)) {
        return;
    }
    let ns = util::ns(pdb).to_string();
    let sel = LabelSelector::from_json(pdb.pointer("/spec/selector").unwrap_or(&json!({})));
    let pods: Vec<&Value> = store
        .iter("pods", Some(&ns))
        .filter(|p| sel.matches_obj(p) && is_active(p))
        .collect();
    let expected = pods.len() as i64;
    let healthy = pods.iter().filter(|p| is_ready(p)).count() as i64;
    let desired = if let Some(m) = pdb.pointer("/spec/minAvailable") {
        int_or_percent(Some(m), expected, "0", true)
    } else if let Some(m) = pdb.pointer("/spec/maxUnavailable") {
        (expected - int_or_percent(Some(m), expected, "0", true)).max(0)
    } else {
        0
    };
    let allowed = (healthy - desired).max(0);
    let mut p = pdb.clone();
    let old = pdb.get("status").cloned().unwrap_or(json!({}));
    let (cs, reason, msg) = if allowed > 0 {
        ("True", "SufficientPods", "")
    } else {
        ("False", "InsufficientPods", "")
    };
    let ltt = old
        .pointer("/conditions/0")
        .filter(|c| c["status"] == cs)
        .map(|c| c["lastTransitionTime"].clone())
        .unwrap_or(json!(fmt_ts(now)));
    let gen = util::i(pdb, "/metadata/generation").unwrap_or(1);
    p["status"] = json!({
        "currentHealthy": healthy, "desiredHealthy": desired, "disruptionsAllowed": allowed, "expectedPods": expected,
        "observedGeneration": gen,
        "conditions": [{"type": "DisruptionAllowed", "status": cs, "reason": reason, "message": msg, "observedGeneration": gen, "lastTransitionTime": ltt}],
    });
    store.put("poddisruptionbudgets", p);
}

fn has_cond(o: &Value, typ: &str) -> bool {
    o.pointer("/status/conditions")
        .and_then(|c| c.as_array())
        .is_some_and(|a| a.iter().any(|c| c["type"] == typ && c["status"] == "True"))
}

/// A small Job controller: parallelism, completions, backoffLimit, Complete / Failed conditions.
fn job(store: &mut Store, j: &Value, now: i64) {
    let uid = util::uid(j).to_string();
    if store.static_uids.contains(&uid) || util::b(j, "/spec/suspend") {
        return;
    }
    let ns = util::ns(j).to_string();
    let jname = util::name(j).to_string();
    let parallelism = util::i(j, "/spec/parallelism").unwrap_or(1);
    let completions = util::i(j, "/spec/completions").unwrap_or(1);
    let backoff_limit = util::i(j, "/spec/backoffLimit").unwrap_or(6);
    let pods: Vec<Value> = owned_by(store, "pods", &ns, &uid).cloned().collect();
    let succeeded = pods
        .iter()
        .filter(|p| util::s(p, "/status/phase") == "Succeeded")
        .count() as i64;
    let failed_pods = pods
        .iter()
        .filter(|p| util::s(p, "/status/phase") == "Failed")
        .count() as i64;
    let restarts: i64 = pods
        .iter()
        .flat_map(|p| {
            p.pointer("/status/containerStatuses")
                .and_then(|c| c.as_array())
                .cloned()
                .unwrap_or_default()
        })
        .map(|c| util::i(&c, "/restartCount").unwrap_or(0))
        .sum();
    let failed = failed_pods + restarts;
    let active: Vec<&Value> = pods.iter().filter(|p| is_active(p)).collect();
    let finished = has_cond(j, "Complete") || has_cond(j, "Failed");
    let mut jj = j.clone();
    let mut events: Vec<(&str, &str, String)> = vec![];
    let mut new_conds: Vec<Value> = vec![];
    if !finished {
        if succeeded >= completions {
            new_conds.push(json!({"type": "SuccessCriteriaMet", "status": "True", "reason": "CompletionsReached", "message": "Reached expected number of succeeded pods", "lastProbeTime": fmt_ts(now), "lastTransitionTime": fmt_ts(now)}));
            new_conds.push(json!({"type": "Complete", "status": "True", "reason": "CompletionsReached", "message": "Reached expected number of succeeded pods", "lastProbeTime": fmt_ts(now), "lastTransitionTime": fmt_ts(now)}));
            jj["status"]["completionTime"] = json!(fmt_ts(now));
            events.push(("Normal", "Completed", "Job completed".into()));
        } else if failed > backoff_limit {
            let msg = "Job has reached the specified backoff limit";
            new_conds.push(json!({"type": "FailureTarget", "status": "True", "reason": "BackoffLimitExceeded", "message": msg, "lastProbeTime": fmt_ts(now), "lastTransitionTime": fmt_ts(now)}));
            new_conds.push(json!({"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "message": msg, "lastProbeTime": fmt_ts(now), "lastTransitionTime": fmt_ts(now)}));
            events.push(("Warning", "BackoffLimitExceeded", msg.into()));
            for p in &active {
                delete_pod(store, &ns, util::name(p), None, now);
            }
        } else {
            let want = parallelism.min(completions - succeeded);
            let tmpl = j.pointer("/spec/template").cloned().unwrap_or(json!({}));
            for _ in 0..(want - active.len() as i64).max(0) {
                let extra = [
                    ("batch.kubernetes.io/controller-uid", uid.clone()),
                    ("batch.kubernetes.io/job-name", jname.clone()),
                    ("controller-uid", uid.clone()),
                    ("job-name", jname.clone()),
                ];
                let pod = make_pod(
                    &tmpl,
                    None,
                    &format!("{jname}-"),
                    &ns,
                    j,
                    "Job",
                    &extra,
                    None,
                );
                if let Ok(p) = store.create(
                    registry::by_storage("pods"),
                    pod,
                    now,
                    Some("kube-controller-manager"),
                    false,
                ) {
                    events.push((
                        "Normal",
                        "SuccessfulCreate",
                        format!("Created pod: {}", util::name(&p)),
                    ));
                }
            }
        }
    }
    let active_now = owned_by(store, "pods", &ns, &uid)
        .filter(|p| is_active(p))
        .count() as i64;
    let ready = owned_by(store, "pods", &ns, &uid)
        .filter(|p| is_active(p) && is_ready(p))
        .count() as i64;
    let st = util::obj_at(&mut jj, &["status"]);
    st.entry("startTime").or_insert(json!(fmt_ts(now)));
    insert_nonzero(st, "active", active_now);
    insert_nonzero(st, "succeeded", succeeded);
    insert_nonzero(st, "failed", failed);
    st.insert("ready".into(), json!(ready));
    st.insert("terminating".into(), json!(0));
    st.insert("uncountedTerminatedPods".into(), json!({}));
    if !new_conds.is_empty() {
        let mut conds = st
            .get("conditions")
            .and_then(|c| c.as_array())
            .cloned()
            .unwrap_or_default();
        conds.extend(new_conds);
        st.insert("conditions".into(), json!(conds));
    }
    let jj = store.put("jobs", jj);
    for (t, r, m) in events {
        store.record_event(&jj, None, t, r, &m, "job-controller", "", now);
    }
}

/// Endpoints for a Service with a selector: ready pods in `addresses`, the others in `notReadyAddresses`.
fn endpoints(store: &mut Store, svc: &Value, now: i64) {
    if store.static_uids.contains(util::uid(svc)) {
        return;
    }
    let Some(sel) = svc
        .pointer("/spec/selector")
        .and_then(|x| x.as_object())
        .filter(|m| !m.is_empty())
    else {
        return;
    };
    let sel = LabelSelector::from_json(&json!({"matchLabels": sel}));
    let ns = util::ns(svc).to_string();
    let name = util::name(svc).to_string();
    let mut ready = vec![];
    let mut not_ready = vec![];
    for p in store.iter("pods", Some(&ns)) {
        if !sel.matches_obj(p)
            || util::s(p, "/status/podIP").is_empty()
            || !is_active(p) && !is_deleting(p)
        {
            continue;
        }
        let addr = json!({
            "ip": util::s(p, "/status/podIP"), "nodeName": util::s(p, "/spec/nodeName"),
            "targetRef": {"kind": "Pod", "namespace": ns, "name": util::name(p), "uid": util::uid(p)},
        });
        if is_ready(p) && !is_deleting(p) {
            ready.push(addr);
        } else {
            not_ready.push(addr);
        }
    }
    let ports: Vec<Value> = svc
        .pointer("/spec/ports")
        .and_then(|x| x.as_array())
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|p| {
            let mut o = json!({"port": p.get("targetPort").filter(|t| t.is_number()).cloned().or(p.get("port").cloned()).unwrap_or(json!(80)), "protocol": p.get("protocol").cloned().unwrap_or(json!("TCP"))});
            if let Some(n) = p.get("name") {
                o["name"] = n.clone();
            }
            o
        })
        .collect();
    let mut subset = serde_json::Map::new();
    if !ready.is_empty() {
        subset.insert("addresses".into(), json!(ready));
    }
    if !not_ready.is_empty() {
        subset.insert("notReadyAddresses".into(), json!(not_ready));
    }
    let subsets = if subset.is_empty() {
        json!([])
    } else {
        subset.insert("ports".into(), json!(ports));
        json!([subset])
    };
    match store.get("endpoints", &ns, &name).cloned() {
        Some(mut e) => {
            if e.get("subsets") != Some(&subsets) {
                e["subsets"] = subsets;
                store.put("endpoints", e);
            }
        }
        None => {
            let e = json!({"metadata": {"name": name, "namespace": ns, "labels": svc.pointer("/metadata/labels").cloned().unwrap_or(json!({}))}, "subsets": subsets});
            let _ = store.create(
                registry::by_storage("endpoints"),
                e,
                now,
                Some("kube-controller-manager"),
                false,
            );
        }
    }
}
