//! The disruption controller (pkg/controller/disruption): each PodDisruptionBudget's status.

use super::*;
use crate::selectors::LabelSelector;
use crate::util::int_or_percent;

pub struct Disruption;

impl Controller for Disruption {
    fn watches(&self) -> &'static str {
        "poddisruptionbudgets"
    }

    fn sync(&mut self, store: &mut Store, pdb: &Value, ctx: &Ctx) {
        pdb_status(store, pdb, ctx.now)
    }
}

/// Compute a PDB's status from the pods it selects.
pub fn pdb_status(store: &mut Store, pdb: &Value, now: i64) {
    if store.static_uids.contains(util::uid(pdb)) {
        return;
    }
    let ns = util::ns(pdb).to_string();
    let sel = LabelSelector::from_json(pdb.pointer("/spec/selector").unwrap_or(&json!({})));
    let pods: Vec<&Value> = store
        .iter("pods", Some(&ns))
        .filter(|p| sel.matches_obj(p) && is_active(p))
        .collect();
    let expected = pods.len() as i64;
    let healthy = pods.iter().filter(|p| is_ready(p)).count() as i64;
    let desired = if let Some(m) = pdb.pointer("/spec/minAvailable") {
        int_or_percent(Some(m), expected, "0", true)
    } else if let Some(m) = pdb.pointer("/spec/maxUnavailable") {
        (expected - int_or_percent(Some(m), expected, "0", true)).max(0)
    } else {
        0
    };
    let allowed = (healthy - desired).max(0);
    let mut p = pdb.clone();
    let old = pdb.get("status").cloned().unwrap_or(json!({}));
    let (cs, reason, msg) = if allowed > 0 {
        ("True", "SufficientPods", "")
    } else {
        ("False", "InsufficientPods", "")
    };
    let ltt = old
        .pointer("/conditions/0")
        .filter(|c| c["status"] == cs)
        .map(|c| c["lastTransitionTime"].clone())
        .unwrap_or(json!(fmt_ts(now)));
    let gen = util::i(pdb, "/metadata/generation").unwrap_or(1);
    p["status"] = json!({
        "currentHealthy": healthy, "desiredHealthy": desired, "disruptionsAllowed": allowed, "expectedPods": expected,
        "observedGeneration": gen,
        "conditions": [{"type": "DisruptionAllowed", "status": cs, "reason": reason, "message": msg, "observedGeneration": gen, "lastTransitionTime": ltt}],
    });
    store.put("poddisruptionbudgets", p);
}
