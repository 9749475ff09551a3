//! The Job controller (pkg/controller/job): parallelism, completions, backoffLimit, and the
//! Complete / Failed conditions.

use super::*;

#[derive(Default)]
pub struct Jobs;

impl Controller for Jobs {
    fn watches(&self) -> &'static str {
        "jobs"
    }

    fn sync(&mut self, store: &mut Store, j: &Value, ctx: &Ctx) {
        job(store, j, ctx.now)
    }
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
