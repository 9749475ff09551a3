//! The Deployment controller (pkg/controller/deployment): ReplicaSets named
//! `<deployment>-<pod-template-hash>`, revisions, RollingUpdate with maxSurge/maxUnavailable,
//! Recreate, paused, minReadySeconds, the Available and Progressing conditions
//! (progress.go), revisionHistoryLimit.

use super::*;
use crate::util::{int_or_percent, template_hash};

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

/// recreate.go oldPodsRunning: a pod of an old ReplicaSet that is not Succeeded or Failed.
fn old_pods_running(store: &Store, ns: &str, olds: &[Value]) -> bool {
    olds.iter().any(|r| {
        owned_by(store, "pods", ns, util::uid(r)).any(|p| {
            let phase = util::s(p, "/status/phase");
            phase != "Succeeded" && phase != "Failed"
        })
    })
}

pub(super) fn deployment(store: &mut Store, d: &Value, now: i64) {
    let uid = util::uid(d).to_string();
    let ns = util::ns(d).to_string();
    let dname = util::name(d).to_string();
    let replicas = util::i(d, "/spec/replicas").unwrap_or(1);
    let tmpl = d.pointer("/spec/template").cloned().unwrap_or(json!({}));
    let hash = template_hash(&tmpl);
    store.first_template_hash(&uid, &hash);
    let paused = util::b(d, "/spec/paused");
    let mut rss: Vec<Value> = owned_by(store, "replicasets", &ns, &uid).cloned().collect();
    rss.sort_by_key(|r| {
        (
            util::parse_ts(util::s(r, "/metadata/creationTimestamp")).unwrap_or(0),
            util::name(r).to_string(),
        )
    });
    let max_rev = rss.iter().map(revision).max().unwrap_or(0);
    let mut new_idx = rss
        .iter()
        .position(|r| template_hash(r.pointer("/spec/template").unwrap_or(&Value::Null)) == hash);
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
            let spec_r = |r: &Value| util::i(r, "/spec/replicas").unwrap_or(1);
            // sync.go NewRSNewReplicas: the new ReplicaSet is created at its first scale.
            let initial = if strategy == "Recreate" {
                // rolloutRecreate: the old ReplicaSets go to 0 and their pods away first.
                for r in rss.iter_mut() {
                    scale_rs(store, r, 0, d, now);
                }
                (!old_pods_running(store, &ns, &rss)).then_some(replicas)
            } else {
                let all: i64 = rss.iter().map(spec_r).sum();
                Some(if all >= replicas + surge {
                    0
                } else {
                    (replicas + surge - all).min(replicas)
                })
            };
            if let Some(initial) = initial {
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
                    "spec": {"replicas": initial, "minReadySeconds": min_ready, "selector": sel, "template": t},
                });
                let def = registry::by_storage("replicasets");
                if let Ok(rs) = store.create(def, rs, now, Some("kube-controller-manager"), false) {
                    if initial > 0 {
                        store.record_event(
                            d,
                            None,
                            "Normal",
                            "ScalingReplicaSet",
                            &format!(
                                "Scaled up replica set {} from 0 to {initial}",
                                util::name(&rs)
                            ),
                            "deployment-controller",
                            "",
                            now,
                        );
                    }
                    rss.push(rs);
                    new_idx = Some(rss.len() - 1);
                    created = true;
                }
            }
        }
        None => {}
    }
    if !paused {
        if let Some(ni) = new_idx {
            if strategy == "Recreate" {
                for (i, r) in rss.iter_mut().enumerate() {
                    if i != ni {
                        scale_rs(store, r, 0, d, now);
                    }
                }
                let olds: Vec<Value> = rss
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| *i != ni)
                    .map(|(_, r)| r.clone())
                    .collect();
                if !old_pods_running(store, &ns, &olds) {
                    scale_rs(store, &mut rss[ni], replicas, d, now);
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
                        scale_rs(store, &mut rss[ni], new_r + up, d, now);
                    }
                } else if new_r > replicas {
                    scale_rs(store, &mut rss[ni], replicas, d, now);
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
                            scale_rs(store, &mut rss[i], target, d, now);
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
                                scale_rs(store, &mut rss[i], cur - down, d, now);
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
    } else {
        // progress.go: messages name the new ReplicaSet, or the Deployment before one exists
        // (Recreate waiting for its old pods).
        let about = if new_rs.is_some() {
            format!("ReplicaSet \"{nrs_name}\"")
        } else {
            format!("Deployment \"{dname}\"")
        };
        let cur = conds.iter().find(|c| c["type"] == "Progressing").cloned();
        if complete {
            set_cond(
                &mut conds,
                "Progressing",
                "True",
                "NewReplicaSetAvailable",
                &format!("{about} has successfully progressed."),
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
        } else if cur.is_none() && new_rs.is_some() {
            set_cond(
                &mut conds,
                "Progressing",
                "True",
                "FoundNewReplicaSet",
                &format!("Found new replica set \"{nrs_name}\""),
                now,
                true,
            );
        } else if actual == updated
            && cur
                .as_ref()
                .is_some_and(|c| c["reason"] == "NewReplicaSetAvailable")
        {
            // progress.go syncRolloutStatus: only one active ReplicaSet and the last rollout
            // complete, so no rollout is running and no progress is estimated — a pod that dies
            // and is replaced slowly never makes it ProgressDeadlineExceeded.
        } else if progress {
            set_cond(
                &mut conds,
                "Progressing",
                "True",
                "ReplicaSetUpdated",
                &format!("{about} is progressing."),
                now,
                true,
            );
        } else if let Some(c) = cur {
            let pds = util::i(&dd, "/spec/progressDeadlineSeconds").unwrap_or(600);
            let from = util::parse_ts(c["lastUpdateTime"].as_str().unwrap_or("")).unwrap_or(now);
            if c["reason"] != "ProgressDeadlineExceeded" && from + pds * 1000 < now {
                set_cond(
                    &mut conds,
                    "Progressing",
                    "False",
                    "ProgressDeadlineExceeded",
                    &format!("{about} has timed out progressing."),
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
