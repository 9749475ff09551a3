//! The StatefulSet controller (pkg/controller/statefulset): pods `<name>-<ordinal>`,
//! ControllerRevisions, OrderedReady or Parallel, RollingUpdate from the highest ordinal down to
//! the partition, OnDelete.

use super::*;
use crate::util::template_hash;
use std::collections::HashMap;

pub(super) fn statefulset(store: &mut Store, s: &Value, ctx: &Ctx) {
    let now = ctx.now;
    let uid = util::uid(s).to_string();
    let ns = util::ns(s).to_string();
    let sname = util::name(s).to_string();
    let replicas = util::i(s, "/spec/replicas").unwrap_or(1);
    let tmpl = s.pointer("/spec/template").cloned().unwrap_or(json!({}));
    let hash = template_hash(&tmpl);
    let first = store.first_template_hash(&uid, &hash);
    let update_rev = ensure_revision(store, s, "StatefulSet", &tmpl, &hash, now);
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
    let rev_of = |p: &Value| util::s(p, "/metadata/labels/controller-revision-hash").to_string();
    let running_ready = |p: &Value| util::s(p, "/status/phase") == "Running" && is_ready(p);
    let available = |p: &Value| running_ready(p) && is_available(p, min_ready, now);
    let event = |store: &mut Store, reason: &str, msg: String| {
        store.record_event(
            s,
            None,
            "Normal",
            reason,
            &msg,
            "statefulset-controller",
            "",
            now,
        )
    };
    // The controller deletes a replica and says so (stateful_pod_control.go DeleteStatefulPod).
    let delete_replica = |store: &mut Store, p: &Value| {
        let name = util::name(p).to_string();
        delete_pod(store, &ns, &name, None, now);
        let msg = format!("delete Pod {name} in StatefulSet {sname} successful");
        event(store, "SuccessfulDelete", msg);
    };
    // stateful_set_control.go updateStatefulSet: each replica in ordinal order (processReplica);
    // OrderedReady stops at the first one that is not Running, Ready and Available.
    let pods = pods_of(store);
    for i in 0..replicas {
        match pods.get(&i) {
            Some(p) if matches!(util::s(p, "/status/phase"), "Failed" | "Succeeded") => {
                // A failed replica is deleted, and created again once it is gone.
                if !is_deleting(p) {
                    delete_replica(store, p);
                }
                if !parallel {
                    break;
                }
            }
            None => {
                // newVersionedStatefulSetPod: below the partition at the current revision.
                let rev = if rolling && i < partition {
                    current_rev.clone()
                } else {
                    update_rev.clone()
                };
                let t = revision_template(store, &ns, &rev).unwrap_or(tmpl.clone());
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
                if create_pod(store, pod, now).is_some() {
                    event(
                        store,
                        "SuccessfulCreate",
                        format!("create Pod {pname} in StatefulSet {sname} successful"),
                    );
                }
                if !parallel {
                    break;
                }
            }
            Some(p) => {
                if !parallel && (is_deleting(p) || !available(p)) {
                    break;
                }
            }
        }
    }
    // processCondemned: replicas beyond the scale, highest ordinal first, each once every
    // lower one is Available (or it is the first unavailable one).
    let pods = pods_of(store);
    let in_range = |o: &i64| *o >= 0 && *o < replicas;
    let settled = (0..replicas).all(|i| {
        pods.get(&i)
            .is_some_and(|p| !is_deleting(p) && available(p))
    });
    let mut condemned: Vec<i64> = pods.keys().copied().filter(|o| !in_range(o)).collect();
    condemned.sort_unstable_by(|a, b| b.cmp(a));
    let first_unavailable = (0..replicas)
        .chain(condemned.iter().rev().copied())
        .find(|o| pods.get(o).is_none_or(|p| is_deleting(p) || !available(p)));
    if parallel || settled {
        for o in &condemned {
            let p = &pods[o];
            if is_deleting(p) {
                if parallel {
                    continue;
                }
                break;
            }
            if !parallel && !available(p) && first_unavailable != Some(*o) {
                break;
            }
            delete_replica(store, p);
            if !parallel {
                break;
            }
        }
        // The rolling update: the highest ordinal not at the update revision, once every
        // replica is Available (OnDelete leaves that to whoever deletes the pods).
        if rolling && condemned.is_empty() && settled {
            for i in (partition..replicas).rev() {
                let Some(p) = pods.get(&i) else { break };
                if rev_of(p) != update_rev && !is_deleting(p) {
                    delete_pod(store, &ns, util::name(p), None, now);
                    break;
                }
                if !available(p) {
                    break;
                }
            }
        }
    }
    // computeReplicaStatus: created = has a phase; current/updated leave terminating pods out.
    let pods = pods_of(store);
    let Some(mut ss) = store.get("statefulsets", &ns, &sname).cloned() else {
        return;
    };
    let created: Vec<&Value> = pods
        .values()
        .filter(|p| !util::s(p, "/status/phase").is_empty())
        .collect();
    let count = created.len() as i64;
    let ready = created.iter().filter(|p| running_ready(p)).count() as i64;
    let available_n = created.iter().filter(|p| available(p)).count() as i64;
    let live = || created.iter().filter(|p| !is_deleting(p));
    let updated = live().filter(|p| rev_of(p) == update_rev).count() as i64;
    let mut current = live().filter(|p| rev_of(p) == current_rev).count() as i64;
    // completeRollingUpdate (≤ 1.35: RollingUpdate only; completeUpdate from 1.36: any strategy,
    // so an OnDelete set's currentRevision catches up too).
    let completes = rolling || ctx.minor >= 36;
    if completes && updated == replicas && ready == replicas && count == replicas {
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
    st.insert("availableReplicas".into(), json!(available_n));
    st.insert("currentRevision".into(), json!(current_rev));
    st.insert("updateRevision".into(), json!(update_rev));
    st.insert("collisionCount".into(), json!(0));
    ss["status"] = Value::Object(st);
    store.put("statefulsets", ss);
}
