//! The DaemonSet controller (pkg/controller/daemon): one pod per eligible node,
//! ControllerRevisions, RollingUpdate with maxUnavailable and maxSurge, OnDelete.

use super::*;
use crate::util::{int_or_percent, template_hash};
use std::collections::HashMap;

pub(super) fn daemonset(store: &mut Store, ds: &Value, now: i64) {
    let uid = util::uid(ds).to_string();
    let ns = util::ns(ds).to_string();
    let dname = util::name(ds).to_string();
    let tmpl = ds.pointer("/spec/template").cloned().unwrap_or(json!({}));
    let hash = template_hash(&tmpl);
    let first = store.first_template_hash(&uid, &hash);
    ensure_revision(store, ds, "DaemonSet", &tmpl, &hash, now);
    let gen = util::i(ds, "/metadata/generation").unwrap_or(1);
    let min_ready = util::i(ds, "/spec/minReadySeconds").unwrap_or(0) * 1000;
    let nodes: Vec<String> = store
        .iter("nodes", None)
        .filter(|n| util::condition_true(n, "Ready"))
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
    let desired = nodes.len() as i64;
    // util.SurgeCount / UnavailableCount: both round up; with neither, one unavailable.
    let max_surge = int_or_percent(
        ds.pointer("/spec/updateStrategy/rollingUpdate/maxSurge"),
        desired,
        "0",
        true,
    );
    let mut max_unav = int_or_percent(
        ds.pointer("/spec/updateStrategy/rollingUpdate/maxUnavailable"),
        desired,
        "1",
        true,
    );
    if max_surge == 0 && max_unav == 0 {
        max_unav = 1;
    }
    let rb = if first != hash {
        rollout_behavior(&tmpl, Some(ds))
    } else {
        None
    };
    let updated = |p: &Value| util::s(p, "/metadata/labels/controller-revision-hash") == hash;
    let available = |p: &Value| is_available(p, min_ready, now);
    // getNodesToDaemonPods: by target node (spec.nodeName, or the node affinity of a pod not
    // bound yet); pods both terminal and deleting are gone for the controller.
    let by_node = |store: &Store| -> HashMap<String, Vec<Value>> {
        let mut m: HashMap<String, Vec<Value>> = HashMap::new();
        for p in owned_by(store, "pods", &ns, &uid) {
            let terminal = matches!(util::s(p, "/status/phase"), "Failed" | "Succeeded");
            if terminal && is_deleting(p) {
                continue;
            }
            m.entry(crate::scheduler::target_node(p).to_string())
                .or_default()
                .push(p.clone());
        }
        for ps in m.values_mut() {
            // podByCreationTimestampAndPhase: bound pods first, then the oldest.
            ps.sort_by_key(|p| {
                (
                    util::s(p, "/spec/nodeName").is_empty(),
                    util::parse_ts(util::s(p, "/metadata/creationTimestamp")).unwrap_or(0),
                    util::name(p).to_string(),
                )
            });
        }
        m
    };
    let create_on = |store: &mut Store, node: &str| {
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
        // The scheduler binds it (daemon pods carry a node affinity since 1.12).
        pod["spec"]["affinity"] = json!({"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node]}]}]}}});
        if let Some(p) = create_pod(store, pod, now) {
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
    };
    let delete = |store: &mut Store, p: &Value| {
        delete_pod(store, &ns, util::name(p), None, now);
        store.record_event(
            ds,
            None,
            "Normal",
            "SuccessfulDelete",
            &format!("Deleted pod: {}", util::name(p)),
            "daemonset-controller",
            "",
            now,
        );
    };
    // manage: a failed daemon pod is deleted; a node without a running (not deleting) one gets
    // a new pod at once, even while its old one terminates.
    let pods = by_node(store);
    for n in &nodes {
        let ps = pods.get(n).cloned().unwrap_or_default();
        for p in ps
            .iter()
            .filter(|p| util::s(p, "/status/phase") == "Failed" && !is_deleting(p))
        {
            delete(store, p);
        }
        let running = ps
            .iter()
            .any(|p| !is_deleting(p) && util::s(p, "/status/phase") != "Failed");
        if !running {
            create_on(store, n);
        }
    }
    if rolling {
        rolling_update(
            store,
            &nodes,
            &by_node(store),
            max_surge,
            max_unav,
            &updated,
            &available,
            &mut |st, n| create_on(st, n),
            &mut |st, p| delete(st, p),
        );
    }
    // updateDaemonSetStatus: per node, its oldest pod counts.
    let pods = by_node(store);
    let Some(mut d) = store.get("daemonsets", &ns, &dname).cloned() else {
        return;
    };
    let (mut current, mut ready, mut available_n, mut updated_n) = (0, 0, 0, 0);
    for n in &nodes {
        let Some(p) = pods.get(n).and_then(|ps| ps.first()) else {
            continue;
        };
        current += 1;
        if is_ready(p) {
            ready += 1;
            if available(p) {
                available_n += 1;
            }
        }
        if updated(p) {
            updated_n += 1;
        }
    }
    let mut st = Map::new();
    st.insert("currentNumberScheduled".into(), json!(current));
    st.insert("desiredNumberScheduled".into(), json!(desired));
    st.insert("numberMisscheduled".into(), json!(0));
    st.insert("numberReady".into(), json!(ready));
    st.insert("observedGeneration".into(), json!(gen));
    insert_nonzero(&mut st, "updatedNumberScheduled", updated_n);
    insert_nonzero(&mut st, "numberAvailable", available_n);
    insert_nonzero(&mut st, "numberUnavailable", desired - available_n);
    d["status"] = Value::Object(st);
    store.put("daemonsets", d);
}

/// update.go rollingUpdate. Without surge, old pods are deleted while fewer than maxUnavailable
/// nodes lack an available pod (an unavailable old pod goes at once). With maxSurge, a node's new
/// pod is created first (up to maxSurge at a time, at once where the old pod is unavailable) and
/// its old pod deleted once the new one is available.
#[allow(clippy::too_many_arguments)]
fn rolling_update(
    store: &mut Store,
    nodes: &[String],
    pods: &HashMap<String, Vec<Value>>,
    max_surge: i64,
    max_unav: i64,
    updated: &dyn Fn(&Value) -> bool,
    available: &dyn Fn(&Value) -> bool,
    create_on: &mut dyn FnMut(&mut Store, &str),
    delete: &mut dyn FnMut(&mut Store, &Value),
) {
    // findUpdatedPodsOnNode: at most one new and one old pod (not deleting) per node.
    let on_node = |n: &String| -> Option<(Option<Value>, Option<Value>)> {
        let (mut new, mut old) = (None, None);
        for p in pods
            .get(n)
            .into_iter()
            .flatten()
            .filter(|p| !is_deleting(p))
        {
            let slot = if updated(p) { &mut new } else { &mut old };
            if slot.is_some() {
                return None;
            }
            *slot = Some(p.clone());
        }
        Some((new, old))
    };
    if max_surge == 0 {
        let mut unavailable = 0;
        let mut delete_now = Vec::new();
        let mut candidates = Vec::new();
        for n in nodes {
            match on_node(n) {
                None | Some((None, None)) | Some((Some(_), Some(_))) => unavailable += 1,
                Some((Some(new), None)) => {
                    if !available(&new) {
                        unavailable += 1;
                    }
                }
                Some((None, Some(old))) => {
                    if !available(&old) {
                        delete_now.push(old);
                        unavailable += 1;
                    } else if unavailable < max_unav {
                        candidates.push(old);
                    }
                }
            }
        }
        let room = (max_unav - unavailable).clamp(0, candidates.len() as i64) as usize;
        for p in delete_now.iter().chain(candidates.iter().take(room)) {
            delete(store, p);
        }
        return;
    }
    let mut surging = 0;
    let mut delete_now = Vec::new();
    let mut new_now = Vec::new();
    let mut candidates = Vec::new();
    for n in nodes {
        match on_node(n) {
            None => surging += 1,
            Some((_, None)) => {}
            Some((None, Some(old))) => {
                if !available(&old) {
                    new_now.push(n.clone());
                } else if surging < max_surge {
                    candidates.push(n.clone());
                }
            }
            Some((Some(new), Some(old))) => {
                if available(&new) {
                    delete_now.push(old);
                } else {
                    surging += 1;
                }
            }
        }
    }
    let room = (max_surge - surging).clamp(0, candidates.len() as i64) as usize;
    for p in &delete_now {
        delete(store, p);
    }
    for n in new_now.iter().chain(candidates.iter().take(room)) {
        create_on(store, n);
    }
}
