//! The ReplicaSet controller (pkg/controller/replicaset): creates and deletes pods to match
//! `spec.replicas` (the least useful ones first), and counts them in its status.

use super::*;
use crate::selectors::LabelSelector;
use crate::util::template_hash;

pub(super) fn replicaset(store: &mut Store, rs: &Value, now: i64) {
    let uid = util::uid(rs).to_string();
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
    let first = store.first_template_hash(&first_key, &hash);
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
            if let Some(p) = create_pod(store, pod, now) {
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
            let created = util::parse_ts(util::s(p, "/metadata/creationTimestamp")).unwrap_or(0);
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
