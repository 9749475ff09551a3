//! The disruption controller (pkg/controller/disruption): each PodDisruptionBudget's status.

use super::*;
use crate::selectors::LabelSelector;
use crate::util::int_or_percent;

/// How long an eviction keeps a pod out of `currentHealthy` before its deletion is seen
/// (disruption.go DeletionTimeout).
const DELETION_TIMEOUT_MS: i64 = 2 * 60 * 1000;

/// The scale of the controller of `pod` (disruption.go finders: a ReplicaSet's Deployment, the
/// ReplicaSet, a StatefulSet); `None` for a pod without a controller.
fn controller_scale(store: &Store, pod: &Value) -> Option<(String, i64)> {
    let owner = pod
        .pointer("/metadata/ownerReferences")?
        .as_array()?
        .iter()
        .find(|r| r["controller"] == true)?;
    let (kind, name, ns) = (
        owner["kind"].as_str()?,
        owner["name"].as_str()?,
        util::ns(pod),
    );
    let scale = |storage: &'static str, name: &str| {
        store.get(storage, ns, name).map(|o| {
            (
                util::uid(o).to_string(),
                util::i(o, "/spec/replicas").unwrap_or(1),
            )
        })
    };
    match kind {
        "ReplicaSet" => {
            let rs = store.get("replicasets", ns, name)?;
            let deploy = rs
                .pointer("/metadata/ownerReferences")
                .and_then(Value::as_array)
                .and_then(|o| {
                    o.iter()
                        .find(|r| r["controller"] == true && r["kind"] == "Deployment")
                })
                .and_then(|r| r["name"].as_str());
            match deploy {
                Some(d) => scale("deployments", d),
                None => scale("replicasets", name),
            }
        }
        "StatefulSet" => scale("statefulsets", name),
        _ => None,
    }
}

/// The disruption controller's sync of one budget (disruption.go trySync, getExpectedPodCount,
/// countHealthyPods, updatePdbStatus). `maxUnavailable` and percentages count the owners'
/// scale, so pods without a controller are left out (since 1.23) and a surge does not raise
/// the expectation; an integer `minAvailable` counts the pods. Pods being deleted, or evicted
/// less than 2 minutes ago (`disruptedPods`), are not healthy.
pub(super) fn pdb_status(store: &mut Store, pdb: &Value, now: i64) {
    let ns = util::ns(pdb).to_string();
    let sel = LabelSelector::from_json(pdb.pointer("/spec/selector").unwrap_or(&json!({})));
    let pods: Vec<&Value> = store
        .iter("pods", Some(&ns))
        .filter(|p| sel.matches_obj(p))
        .collect();
    let by_owner_scale = || {
        let mut scales: std::collections::BTreeMap<String, i64> = Default::default();
        for p in &pods {
            if let Some((uid, n)) = controller_scale(store, p) {
                scales.insert(uid, n);
            }
        }
        scales.values().sum::<i64>()
    };
    let (expected, desired) = if let Some(m) = pdb.pointer("/spec/maxUnavailable") {
        let expected = by_owner_scale();
        let max = int_or_percent(Some(m), expected, "0", true);
        (expected, (expected - max).max(0))
    } else if let Some(m) = pdb.pointer("/spec/minAvailable") {
        if m.is_number() {
            (pods.len() as i64, m.as_i64().unwrap_or(0))
        } else {
            let expected = by_owner_scale();
            (expected, int_or_percent(Some(m), expected, "0", true))
        }
    } else {
        (0, 0)
    };
    // buildDisruptedPodMap: an evicted pod stays listed until it is deleting or 2 min passed.
    let mut disrupted = Map::new();
    if let Some(m) = pdb
        .pointer("/status/disruptedPods")
        .and_then(Value::as_object)
    {
        for (name, at) in m {
            let since = util::parse_ts(at.as_str().unwrap_or("")).unwrap_or(0);
            let pending = pods
                .iter()
                .any(|p| util::name(p) == name && !is_deleting(p));
            if pending && since + DELETION_TIMEOUT_MS > now {
                disrupted.insert(name.clone(), at.clone());
            }
        }
    }
    let healthy = pods
        .iter()
        .filter(|p| !is_deleting(p) && !disrupted.contains_key(util::name(p)) && is_ready(p))
        .count() as i64;
    let allowed = if expected <= 0 {
        0
    } else {
        (healthy - desired).max(0)
    };
    let mut p = pdb.clone();
    let old = pdb.get("status").cloned().unwrap_or(json!({}));
    let (cs, reason) = if allowed > 0 {
        ("True", "SufficientPods")
    } else {
        ("False", "InsufficientPods")
    };
    let ltt = old
        .pointer("/conditions/0")
        .filter(|c| c["status"] == cs)
        .map(|c| c["lastTransitionTime"].clone())
        .unwrap_or(json!(fmt_ts(now)));
    let gen = util::i(pdb, "/metadata/generation").unwrap_or(1);
    let mut status = json!({
        "currentHealthy": healthy, "desiredHealthy": desired, "disruptionsAllowed": allowed, "expectedPods": expected,
        "observedGeneration": gen,
        "conditions": [{"type": "DisruptionAllowed", "status": cs, "reason": reason, "message": "", "observedGeneration": gen, "lastTransitionTime": ltt}],
    });
    if !disrupted.is_empty() {
        status["disruptedPods"] = Value::Object(disrupted);
    }
    if pdb.get("status") != Some(&status) {
        p["status"] = status;
        store.put("poddisruptionbudgets", p);
    }
}
