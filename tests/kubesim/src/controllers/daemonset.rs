//! The DaemonSet controller (pkg/controller/daemon): one pod per eligible node,
//! ControllerRevisions, RollingUpdate with maxUnavailable and maxSurge, OnDelete.

use super::*;
use crate::util::{int_or_percent, template_hash};
use std::collections::HashMap;

pub struct DaemonSets;

impl Controller for DaemonSets {
    fn watches(&self) -> &'static str {
        "daemonsets"
    }

    fn sync(&mut self, store: &mut Store, ds: &Value, ctx: &Ctx) {
        daemonset(store, ds, ctx.now)
    }
}

fn daemonset(store: &mut Store, ds: &Value, now: i64) {
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
    ensure_revision(store, ds, "DaemonSet", &tmpl, &hash, now);
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
                !is_deleting(p) && util::s(p, "/metadata/labels/controller-revision-hash") != hash
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
