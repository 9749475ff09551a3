//! The StatefulSet controller (pkg/controller/statefulset): pods `<name>-<ordinal>`,
//! ControllerRevisions, OrderedReady or Parallel, RollingUpdate from the highest ordinal down to
//! the partition, OnDelete.

use super::*;
use crate::util::template_hash;
use std::collections::HashMap;

pub struct StatefulSets;

impl Controller for StatefulSets {
    fn watches(&self) -> &'static str {
        "statefulsets"
    }

    fn sync(&mut self, store: &mut Store, s: &Value, ctx: &Ctx) {
        statefulset(store, s, ctx)
    }
}

fn statefulset(store: &mut Store, s: &Value, ctx: &Ctx) {
    let now = ctx.now;
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
    let pods = pods_of(store);
    let rev_of = |p: &Value| util::s(p, "/metadata/labels/controller-revision-hash").to_string();
    // create / wait
    for i in 0..replicas {
        match pods.get(&i) {
            None => {
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
