//! Rollouts: strategies, replica counts, surge/unavailable rounding, pausing, history.

use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::fix::{Fix, FixTarget};
use super::helpers::*;
use super::Hit;
use crate::diagnose::context::Context;
use crate::target::Kind;
use crate::workload::rollout::{
    deployment_surge_unavailable, int_or_percent_text, resolve_int_or_percent,
};
use crate::workload::{Strategy, Workload};

pub(super) fn check_recreate(w: &Workload, _cx: &Context) -> Vec<Hit> {
    if w.strategy != Strategy::Recreate {
        return vec![];
    }
    vec![hit(
        "spec.strategy.type".into(),
        "strategy Recreate stops every old pod before a new one starts: each rollout and restart is downtime".into(),
        Some(Fix::workload("spec:\n  strategy:\n    type: RollingUpdate\n    rollingUpdate:\n      maxSurge: 1\n      maxUnavailable: 0\n")),
    )]
}

pub(super) fn check_single_replica(w: &Workload, cx: &Context) -> Vec<Hit> {
    if !matches!(
        w.kind,
        Kind::Deployment | Kind::StatefulSet | Kind::ReplicaSet
    ) {
        return vec![];
    }
    let Some(min) = cx.min_replicas(w) else {
        return vec![];
    };
    if min != 1 {
        return vec![];
    }
    // Every HPA that lets it drop to one replica (two HPAs on one workload fight, but both need it).
    let low: Vec<String> = cx
        .hpas
        .iter()
        .flatten()
        .filter(|h| {
            h.spec
                .as_ref()
                .is_some_and(|s| s.min_replicas.unwrap_or(1) < 2)
        })
        .filter_map(|h| h.metadata.name.clone())
        .collect();
    let hpa = (!low.is_empty()).then_some(&low);
    let (field, via) = match &hpa {
        Some(_) => (
            "HorizontalPodAutoscaler.spec.minReplicas".to_string(),
            " (its HPA scales down to 1)",
        ),
        None => ("spec.replicas".to_string(), ""),
    };
    // A second replica of a StatefulSet is a second database unless the app replicates: no generic fix.
    let fix = (w.kind != Kind::StatefulSet).then(|| {
        let mut fix = match &hpa {
            Some(names) => names.iter().fold(Fix::default(), |fix, name| {
                fix.and(
                    FixTarget::Object {
                        kind: "HorizontalPodAutoscaler".into(),
                        name: name.clone(),
                    },
                    "spec:\n  minReplicas: 2\n",
                )
            }),
            None => Fix::workload("spec:\n  replicas: 2\n"),
        };
        // Two replicas without a PDB would be the next finding (pdb-missing).
        if cx.pdbs.as_ref().is_some_and(|p| p.is_empty()) {
            if let Some(pdb) = new_pdb(w, cx) {
                fix = fix.and(FixTarget::New, pdb);
            }
        }
        fix
    });
    vec![hit(
        field,
        format!(
            "runs 1 replica{via}: any node drain, eviction or crash is downtime{}",
            if w.kind == Kind::StatefulSet {
                ", and a restart takes the only pod down before its replacement starts"
            } else {
                ""
            }
        ),
        fix,
    )]
}

/// The replica count rounding is judged at: the HPA's minReplicas when an HPA scales the workload
/// (the count it drops to at quiet hours), else spec.replicas.
fn rounding_replicas(w: &Workload, cx: &Context) -> i32 {
    if cx.has_hpa() {
        cx.min_replicas(w).unwrap_or(1)
    } else {
        w.replicas.unwrap_or(1)
    }
}

pub(super) fn check_rollout_all_unavailable(w: &Workload, cx: &Context) -> Vec<Hit> {
    let Strategy::RollingUpdate {
        max_surge,
        max_unavailable,
        explicit,
    } = &w.strategy
    else {
        return vec![];
    };
    match w.kind {
        Kind::Deployment => {
            let r = rounding_replicas(w, cx);
            if r < 1 {
                return vec![];
            }
            let Some((s, u)) = deployment_surge_unavailable(max_surge, max_unavailable, r) else {
                return vec![];
            };
            if u < r {
                return vec![];
            }
            let surge_note = if s > 0 {
                format!(" (maxSurge {s} adds new pods but does not hold the old ones)")
            } else {
                String::new()
            };
            vec![hit(
                "spec.strategy.rollingUpdate".into(),
                format!(
                    "maxUnavailable {} of {r} replica{} resolves to {u}: a rollout may stop every old pod before a new one is Ready{surge_note}",
                    int_or_percent_text(max_unavailable),
                    if r == 1 { "" } else { "s" },
                ),
                Some(Fix::workload("spec:\n  strategy:\n    rollingUpdate:\n      maxSurge: 1\n      maxUnavailable: 0\n")),
            )]
        }
        Kind::StatefulSet if *explicit => {
            let r = w.replicas.unwrap_or(1);
            match resolve_int_or_percent(max_unavailable, r, false) {
                Some(u) if r > 1 && u >= r => vec![hit(
                    "spec.updateStrategy.rollingUpdate.maxUnavailable".into(),
                    format!(
                        "maxUnavailable {} of {r} replicas lets a rollout stop every pod at once",
                        int_or_percent_text(max_unavailable)
                    ),
                    Some(Fix::workload(
                        "spec:\n  updateStrategy:\n    rollingUpdate:\n      maxUnavailable: 1\n",
                    )),
                )],
                _ => vec![],
            }
        }
        Kind::DaemonSet => {
            // The node count is unknown; 100% is all of them whatever it is.
            let all = matches!(max_unavailable, IntOrString::String(s) if s.trim() == "100%");
            let surge0 = resolve_int_or_percent(max_surge, 100, true) == Some(0);
            if all && surge0 {
                return vec![hit(
                    "spec.updateStrategy.rollingUpdate.maxUnavailable".into(),
                    "maxUnavailable 100% with maxSurge 0: a rollout stops the pod on every node at once".into(),
                    Some(Fix::workload("spec:\n  updateStrategy:\n    rollingUpdate:\n      maxUnavailable: 1\n")),
                )];
            }
            vec![]
        }
        _ => vec![],
    }
}

pub(super) fn check_percent_rounding(w: &Workload, cx: &Context) -> Vec<Hit> {
    let Strategy::RollingUpdate {
        max_surge,
        max_unavailable,
        explicit: true,
    } = &w.strategy
    else {
        return vec![];
    };
    if w.kind != Kind::Deployment {
        return vec![];
    }
    // Served Deployments always carry the values: the API defaults (25%/25%) are not a choice.
    let default = IntOrString::String("25%".into());
    if w.live && *max_surge == default && *max_unavailable == default {
        return vec![];
    }
    let r = rounding_replicas(w, cx);
    if r < 1 {
        return vec![];
    }
    let Some((s, u)) = deployment_surge_unavailable(max_surge, max_unavailable, r) else {
        return vec![];
    };
    if u >= r {
        return vec![]; // rollout-all-unavailable says it, louder
    }
    let off = |v: &IntOrString, got: i32| {
        is_percent(v).is_some_and(|pct| {
            (i64::from(got) * 100 / i64::from(r))
                .saturating_sub(pct)
                .abs()
                > 10
        })
    };
    if !off(max_surge, s) && !off(max_unavailable, u) {
        return vec![];
    }
    let min_avail = r.saturating_sub(u).max(0);
    let at = if cx.has_hpa() {
        format!("at the HPA's minimum of {r} replicas")
    } else {
        format!("with {r} replicas")
    };
    // "maxSurge 25% rounds up to 1 pod" for a percentage, "maxUnavailable 1" for a count.
    let said = |what: &str, v: &IntOrString, got: i32, way: &str| match v {
        IntOrString::String(p) if is_percent(v).is_some() => {
            format!(
                "{what} {p} rounds {way} to {got} pod{}",
                if got == 1 { "" } else { "s" }
            )
        }
        _ => format!("{what} {}", int_or_percent_text(v)),
    };
    vec![hit(
        "spec.strategy.rollingUpdate".into(),
        format!(
            "{at}, {} and {}: a rollout runs at most {} pods and keeps at least {min_avail} available",
            said("maxSurge", max_surge, s, "up"),
            said("maxUnavailable", max_unavailable, u, "down"),
            r.saturating_add(s),
        ),
        Some(Fix::workload(format!(
            "spec:\n  strategy:\n    rollingUpdate:   # say it in pods\n      maxSurge: {}\n      maxUnavailable: 0\n",
            s.max(1),
        ))),
    )]
}

pub(super) fn check_min_ready_no_readiness(w: &Workload, cx: &Context) -> Vec<Hit> {
    if !matches!(
        w.kind,
        Kind::Deployment | Kind::StatefulSet | Kind::DaemonSet | Kind::ReplicaSet
    ) {
        return vec![];
    }
    let cs = containers(w);
    if cs.is_empty() || w.min_ready_seconds > 0 || cs.iter().any(|c| c.readiness_probe.is_some()) {
        return vec![];
    }
    // readiness-missing already says it, with the probe to add.
    if super::probes::lacks_readiness(w, cx) {
        return vec![];
    }
    vec![hit(
        "spec.minReadySeconds".into(),
        "minReadySeconds is 0 and no container has a readinessProbe: a new pod counts as available the moment it starts, so a rollout races through pods that crash seconds later".into(),
        Some(Fix::workload("spec:\n  minReadySeconds: 10   # or better: a readinessProbe\n")),
    )]
}

pub(super) fn check_paused(w: &Workload, _cx: &Context) -> Vec<Hit> {
    if !w.paused {
        return vec![];
    }
    vec![hit(
        "spec.paused".into(),
        "the Deployment is paused: template changes and `rollout restart` do nothing until it is resumed".into(),
        Some(Fix::workload("# kubectl rollout resume deployment/NAME\nspec:\n  paused: false\n")),
    )]
}

pub(super) fn check_revision_history_zero(w: &Workload, _cx: &Context) -> Vec<Hit> {
    if w.revision_history_limit != Some(0) {
        return vec![];
    }
    vec![hit(
        "spec.revisionHistoryLimit".into(),
        format!(
            "revisionHistoryLimit is 0: no previous revision is kept, so a bad rollout of this {} cannot be undone with `kubectl rollout undo`",
            w.kind.lower()
        ),
        Some(Fix::workload("spec:\n  revisionHistoryLimit: 3\n")),
    )]
}

pub(super) fn check_ondelete(w: &Workload, _cx: &Context) -> Vec<Hit> {
    if w.strategy != Strategy::OnDelete {
        return vec![];
    }
    vec![hit(
        "spec.updateStrategy.type".into(),
        format!(
            "updateStrategy OnDelete: a template change or restart does not roll the {}; pods change only when someone deletes them",
            w.kind.lower()
        ),
        Some(Fix::workload("spec:\n  updateStrategy:\n    type: RollingUpdate\n")),
    )]
}
