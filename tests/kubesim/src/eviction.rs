//! The Eviction API: `POST …/pods/NAME/eviction`, as the API server decides it
//! (pkg/registry/core/pod/storage/eviction.go `Create`, `canIgnorePDB`, `checkAndDecrement`).
//!
//! - A pod that is Pending, Succeeded, Failed or already being deleted is deleted without
//!   asking any budget.
//! - More than one PodDisruptionBudget over the pod: 500.
//! - A pod that is not Ready goes without using the budget when the budget is healthy
//!   (`IfHealthyBudget`, the default: currentHealthy ≥ desiredHealthy > 0) or always
//!   (`unhealthyPodEvictionPolicy: AlwaysAllow`).
//! - Otherwise the budget must allow a disruption (its status as the disruption controller last
//!   wrote it, for the generation it observed): 429 when it does not; else the allowance is
//!   decremented and the pod listed in `status.disruptedPods` before the deletion.
//!
//! A deleted pod gets the `DisruptionTarget` condition (`EvictionByEvictionAPI`).

use crate::controllers::{delete_pod, is_deleting, is_ready};
use crate::selectors::LabelSelector;
use crate::store::{ApiError, Store};
use crate::util::{self, fmt_ts};
use serde_json::{json, Value};

fn too_many_requests(cause: String, retry_after: Option<i64>) -> ApiError {
    let mut details = json!({"causes": [{"reason": "DisruptionBudget", "message": cause}]});
    if let Some(s) = retry_after {
        details["retryAfterSeconds"] = json!(s);
    }
    ApiError::new(
        429,
        "TooManyRequests",
        "Cannot evict pod as it would violate the pod's disruption budget.",
    )
    .with_details(details)
}

/// Evict pod `ns/name` (`grace`: the eviction's `deleteOptions.gracePeriodSeconds`).
pub fn evict(
    store: &mut Store,
    ns: &str,
    name: &str,
    grace: Option<i64>,
    now: i64,
) -> Result<(), ApiError> {
    let pod = store
        .get("pods", ns, name)
        .cloned()
        .ok_or_else(|| ApiError::not_found("pods", name))?;
    let phase = util::s(&pod, "/status/phase");
    let ignores_budgets =
        matches!(phase, "Pending" | "Succeeded" | "Failed" | "") || is_deleting(&pod);
    if !ignores_budgets {
        let pdbs: Vec<Value> = store
            .iter("poddisruptionbudgets", Some(ns))
            .filter(|p| {
                let sel = p.pointer("/spec/selector").unwrap_or(&Value::Null);
                let empty = sel.as_object().is_none_or(|m| m.values().all(is_empty));
                !empty && LabelSelector::from_json(sel).matches_obj(&pod)
            })
            .cloned()
            .collect();
        if pdbs.len() > 1 {
            return Err(ApiError::new(
                500,
                "InternalError",
                "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.",
            ));
        }
        if let Some(pdb) = pdbs.first() {
            let num = |p: &str| util::i(pdb, &format!("/status/{p}")).unwrap_or(0);
            let unhealthy_may_go = !is_ready(&pod)
                && (util::s(pdb, "/spec/unhealthyPodEvictionPolicy") == "AlwaysAllow"
                    || (num("currentHealthy") >= num("desiredHealthy")
                        && num("desiredHealthy") > 0));
            if !unhealthy_may_go {
                check_and_decrement(store, pdb, name, now)?;
            }
        }
    }
    let mut p = pod;
    let st = util::obj_at(&mut p, &["status"]);
    let mut conds = st
        .get("conditions")
        .and_then(|c| c.as_array())
        .cloned()
        .unwrap_or_default();
    conds.retain(|c| c["type"] != "DisruptionTarget");
    conds.insert(0, json!({"type": "DisruptionTarget", "status": "True", "lastProbeTime": null, "lastTransitionTime": fmt_ts(now), "reason": "EvictionByEvictionAPI", "message": "Eviction API: evicting"}));
    st.insert("conditions".into(), json!(conds));
    store.put("pods", p);
    delete_pod(store, ns, name, grace, now);
    Ok(())
}

fn is_empty(v: &Value) -> bool {
    v.as_object().is_some_and(|m| m.is_empty()) || v.as_array().is_some_and(|a| a.is_empty())
}

/// eviction.go checkAndDecrement: the budget's own status decides.
fn check_and_decrement(
    store: &mut Store,
    pdb: &Value,
    pod: &str,
    now: i64,
) -> Result<(), ApiError> {
    let pname = util::name(pdb);
    let num = |p: &str| util::i(pdb, &format!("/status/{p}")).unwrap_or(0);
    if num("observedGeneration") < util::i(pdb, "/metadata/generation").unwrap_or(1) {
        return Err(too_many_requests(
            format!("The disruption budget {pname} is still being processed by the server."),
            Some(10),
        ));
    }
    let allowed = num("disruptionsAllowed");
    if allowed < 0 {
        return Err(ApiError::new(
            403,
            "Forbidden",
            format!("poddisruptionbudget.policy \"{pname}\" is forbidden: pdb disruptions allowed is negative"),
        ));
    }
    if allowed == 0 {
        let (healthy, desired) = (num("currentHealthy"), num("desiredHealthy"));
        let msg = if healthy <= desired {
            format!("The disruption budget {pname} needs {desired} healthy pods and has {healthy} currently")
        } else {
            format!("The disruption budget {pname} does not allow evicting pods currently")
        };
        return Err(too_many_requests(msg, None));
    }
    let mut p = pdb.clone();
    p["status"]["disruptionsAllowed"] = json!(allowed - 1);
    if allowed - 1 == 0 {
        if let Some(c) = p
            .pointer_mut("/status/conditions")
            .and_then(Value::as_array_mut)
            .and_then(|cs| cs.iter_mut().find(|c| c["type"] == "DisruptionAllowed"))
        {
            c["status"] = json!("False");
            c["reason"] = json!("InsufficientPods");
            c["lastTransitionTime"] = json!(fmt_ts(now));
        }
    }
    util::obj_at(&mut p, &["status", "disruptedPods"]).insert(pod.to_string(), json!(fmt_ts(now)));
    store.put("poddisruptionbudgets", p);
    Ok(())
}
