//! The Job controller (pkg/controller/job): parallelism, completions, backoffLimit, and the
//! Complete / Failed conditions.

use super::*;

/// When the next pod may be created after failures (backoff_utils.go
/// getRemainingTimeForFailuresCount): 10 s after the last failure, doubling for each failure
/// since the last success, at most 10 min.
fn pod_failure_backoff_until(pods: &[Value]) -> i64 {
    let finished = |p: &Value| {
        p.pointer("/status/containerStatuses")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|c| util::parse_ts(util::s(c, "/state/terminated/finishedAt")))
            .max()
            .unwrap_or_else(|| {
                util::parse_ts(util::s(p, "/metadata/creationTimestamp")).unwrap_or(0)
            })
    };
    let last_success = pods
        .iter()
        .filter(|p| util::s(p, "/status/phase") == "Succeeded")
        .map(finished)
        .max()
        .unwrap_or(i64::MIN);
    let failures: Vec<i64> = pods
        .iter()
        .filter(|p| util::s(p, "/status/phase") == "Failed")
        .map(finished)
        .filter(|t| *t > last_success)
        .collect();
    let Some(last) = failures.iter().max() else {
        return i64::MIN;
    };
    let mut backoff: i64 = 10_000;
    for _ in 1..failures.len() {
        backoff = (backoff * 2).min(600_000);
    }
    last + backoff
}

/// A small Job controller: parallelism, completions, backoffLimit, the pod failure back-off,
/// and the conditions (SuccessCriteriaMet then Complete; FailureTarget then Failed).
pub(super) fn job(store: &mut Store, j: &Value, now: i64) {
    let uid = util::uid(j).to_string();
    if util::b(j, "/spec/suspend") {
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
    // pastBackoffLimitOnFailure: with restartPolicy OnFailure the restarts of the running pods
    // count too; status.failed counts failed pods only.
    let on_failure = util::s(j, "/spec/template/spec/restartPolicy") == "OnFailure";
    let restarts: i64 = pods
        .iter()
        .filter(|p| is_active(p))
        .flat_map(|p| {
            p.pointer("/status/containerStatuses")
                .and_then(|c| c.as_array())
                .cloned()
                .unwrap_or_default()
        })
        .map(|c| util::i(&c, "/restartCount").unwrap_or(0))
        .sum();
    let failed = failed_pods;
    let exceeded =
        failed > backoff_limit || (on_failure && backoff_limit > 0 && restarts >= backoff_limit);
    let active: Vec<&Value> = pods.iter().filter(|p| is_active(p)).collect();
    // Pods still stopping: the terminal condition waits for them (1.31+: FailureTarget and
    // SuccessCriteriaMet first, Failed and Complete once none terminates).
    let terminating = pods
        .iter()
        .filter(|p| {
            is_deleting(p) && !matches!(util::s(p, "/status/phase"), "Succeeded" | "Failed")
        })
        .count() as i64;
    let finished = has_cond(j, "Complete") || has_cond(j, "Failed");
    let mut jj = j.clone();
    let mut events: Vec<(&str, &str, String)> = vec![];
    let mut new_conds: Vec<Value> = vec![];
    let cond = |typ: &str, reason: &str, msg: &str| json!({"type": typ, "status": "True", "reason": reason, "message": msg, "lastProbeTime": fmt_ts(now), "lastTransitionTime": fmt_ts(now)});
    if !finished {
        let success = "Reached expected number of succeeded pods";
        let failure = "Job has reached the specified backoff limit";
        if has_cond(j, "SuccessCriteriaMet") || succeeded >= completions {
            if !has_cond(j, "SuccessCriteriaMet") {
                new_conds.push(cond("SuccessCriteriaMet", "CompletionsReached", success));
            }
            for p in &active {
                delete_pod(store, &ns, util::name(p), None, now);
            }
            if terminating == 0 && active.is_empty() {
                new_conds.push(cond("Complete", "CompletionsReached", success));
                jj["status"]["completionTime"] = json!(fmt_ts(now));
                events.push(("Normal", "Completed", "Job completed".into()));
            }
        } else if has_cond(j, "FailureTarget") || exceeded {
            if !has_cond(j, "FailureTarget") {
                new_conds.push(cond("FailureTarget", "BackoffLimitExceeded", failure));
            }
            for p in &active {
                delete_pod(store, &ns, util::name(p), None, now);
            }
            if terminating == 0 && active.is_empty() {
                new_conds.push(cond("Failed", "BackoffLimitExceeded", failure));
                events.push(("Warning", "BackoffLimitExceeded", failure.into()));
            }
        } else if pod_failure_backoff_until(&pods) > now {
            // backoff_utils.go: a new pod waits 10 s after the last failure, doubling per
            // failure (max 10 min).
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
                if let Some(p) = create_pod(store, pod, now) {
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
    st.insert("terminating".into(), json!(terminating));
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
