//! Before a restart (`kubectl graceful restart`'s preflight): what the rules see when the workload's pods
//! are about to be replaced. Each check here belongs to a rule of the registry: the restart-only rules
//! (`hpa-present`, `restart-in-progress`, `gitops-managed`, `pdb-exhausted`) and the look-ahead of
//! rules a plain `diagnose` checks its own way (`single-replica` here asks whether *this restart* has
//! downtime, `readiness-missing` whether waiting for Ready proves anything). Findings carry `advice`
//! (what to do before restarting) instead of YAML; how much each rule stops the restart is restart's
//! policy. Pure: the live object and its namespace's pods come in the [`Restart`].

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;

use super::Hit;
use crate::diagnose::context::{Context, Restart};
use crate::selector::Selector;
use crate::target::Kind;
use crate::workload::{owner, pdb, progress, Object, Strategy, Workload};
use crate::workload::{FIELD_MANAGER, RESTARTED_AT};

fn advised(field: &str, message: String, advice: impl Into<String>) -> Vec<Hit> {
    vec![Hit {
        field: field.into(),
        message,
        advice: Some(advice.into()),
        ..Default::default()
    }]
}

pub(super) fn paused(w: &Workload, _cx: &Context, r: &Restart) -> Vec<Hit> {
    if !w.paused {
        return vec![];
    }
    let target = &r.target;
    advised(
        "spec.paused",
        format!(
            "{target} is paused: the controller would not roll any pod (kubectl refuses it too)"
        ),
        format!("run `kubectl rollout resume {target}` first"),
    )
}

pub(super) fn recreate(w: &Workload, _cx: &Context, r: &Restart) -> Vec<Hit> {
    if w.strategy != Strategy::Recreate {
        return vec![];
    }
    advised(
        "spec.strategy.type",
        format!(
            "{} uses strategy Recreate: every pod stops before the new ones start (downtime)",
            r.target
        ),
        "switch to RollingUpdate, or pass --force to accept the downtime",
    )
}

/// One replica whose restart takes it down: no surge (or pods evicted one by one).
pub(super) fn single_replica(w: &Workload, _cx: &Context, r: &Restart) -> Vec<Hit> {
    let o = &r.object;
    let rolls_pods = matches!(o.kind(), Kind::Deployment | Kind::StatefulSet);
    if !rolls_pods || w.strategy == Strategy::Recreate || o.desired() != 1 {
        return vec![];
    }
    let surge = o.surge_unavailable().map_or(0, |(surge, _)| surge);
    if surge > 0 && w.strategy != Strategy::OnDelete {
        return vec![];
    }
    advised(
        "spec.replicas",
        format!("{} has 1 replica and no surge: its only pod goes away before the new one is Ready (downtime)", r.target),
        "set replicas ≥ 2 (or maxSurge ≥ 1 for a Deployment), or pass --force to accept the downtime",
    )
}

pub(super) fn all_unavailable(w: &Workload, _cx: &Context, r: &Restart) -> Vec<Hit> {
    let o = &r.object;
    let replicas = o.desired();
    if replicas <= 1 || o.kind() != Kind::Deployment || !w.strategy.is_rolling() {
        return vec![];
    }
    let Some((surge, unav)) = o.surge_unavailable() else {
        return vec![];
    };
    if surge != 0 || unav < replicas {
        return vec![];
    }
    advised(
        "spec.strategy.rollingUpdate",
        format!(
            "{} has maxSurge 0 and maxUnavailable {unav}: all {replicas} pods may stop at once (downtime)",
            r.target
        ),
        "lower maxUnavailable or allow a surge, or pass --force to accept the downtime",
    )
}

/// Every container counts before a restart (not only those that serve traffic): the restart waits for
/// Ready, which without a probe only means started.
pub(super) fn readiness(w: &Workload, _cx: &Context, r: &Restart) -> Vec<Hit> {
    if w.kind == Kind::Pod {
        return vec![];
    }
    let missing: Vec<String> = w
        .pod_spec()
        .containers
        .iter()
        .filter(|c| c.readiness_probe.is_none())
        .map(|c| c.name.clone())
        .collect();
    if missing.is_empty() {
        return vec![];
    }
    let one = missing.len() == 1;
    vec![Hit {
        field: format!(
            "{}.containers[{}].readinessProbe",
            w.pod_spec_field(),
            missing.join(", ")
        ),
        message: format!(
            "container{} {} of {} {} no readiness probe: Ready only means started, so waiting for it proves nothing",
            if one { "" } else { "s" },
            missing.join(", "),
            r.target,
            if one { "has" } else { "have" }
        ),
        advice: Some("add a readinessProbe, or pass --force".into()),
        containers: missing,
        ..Default::default()
    }]
}

/// The budgets that apply: only when pods are evicted (OnDelete, pod targets); a pod the Eviction API
/// lets go without its budget (pending, terminating) is not held by them.
fn budgets<'a>(cx: &'a Context, r: &Restart) -> &'a [PodDisruptionBudget] {
    let applies = match &r.object {
        Object::Pod(p) => !pdb::ignores_budgets(p),
        o => o.strategy() == Strategy::OnDelete,
    };
    match (&cx.pdbs, applies) {
        (Some(p), true) => p,
        _ => &[],
    }
}

/// The Eviction API refuses a pod that more than one budget selects (500 "This pod has more than one
/// PodDisruptionBudget, which the eviction subresource does not support", `eviction.go`).
pub(super) fn pdb_overlap(_w: &Workload, cx: &Context, r: &Restart) -> Vec<Hit> {
    let matching = budgets(cx, r);
    if matching.len() < 2 {
        return vec![];
    }
    let names: Vec<&str> = matching.iter().map(pdb::name).collect();
    advised(
        "PodDisruptionBudget",
        format!(
            "PodDisruptionBudgets {} all select the pods of {}: the Eviction API refuses a pod with more than one budget",
            names.join(", "),
            r.target
        ),
        "keep one PodDisruptionBudget per pod (narrow or merge their selectors)",
    )
}

/// What one budget means for the evictions of this restart.
enum Budget {
    /// It never allows one, however healthy the pods are.
    Never { message: String, advice: String },
    /// It allows none right now: evictions wait until pods are healthy.
    NotNow { message: String, advice: String },
}

fn budget_verdicts(cx: &Context, r: &Restart) -> Vec<Budget> {
    match &r.object {
        Object::Pod(p) => pod_budgets(p, budgets(cx, r), &r.namespace_pods, &r.target),
        o => budgets(cx, r)
            .iter()
            .filter_map(|b| counted(b, &r.target, o.desired(), o.desired()))
            .collect(),
    }
}

/// `expected`: the pods the budget expects; `covered`: the pods it selects (all healthy at best).
fn counted(b: &PodDisruptionBudget, target: &str, expected: i32, covered: i32) -> Option<Budget> {
    let name = pdb::name(b);
    if pdb::allowed(b, expected, covered, false) <= 0 {
        Some(Budget::Never {
            message: format!(
                "PodDisruptionBudget {name} allows no eviction of {target}'s {covered} pod{} even when all are healthy: evictions would wait forever",
                if covered == 1 { "" } else { "s" }
            ),
            advice: format!("relax PodDisruptionBudget {name} (e.g. maxUnavailable: 1) for the restart, or scale up first; a Deployment can instead roll with surge (`kubectl graceful restart deploy/…`)"),
        })
    } else if pdb::allowed(b, expected, covered, true) <= 0 {
        Some(Budget::NotNow {
            message: format!(
                "PodDisruptionBudget {name} allows no disruption right now: evictions will wait until pods are healthy"
            ),
            advice: "wait for the pods covered by the budget to become healthy".into(),
        })
    } else {
        None
    }
}

/// A pod target's budgets, counted as the disruption controller counts them: its status when it has
/// observed the budget, else the namespace's pods the budget selects (only those with a controller for
/// `maxUnavailable` and percentages, since 1.23).
fn pod_budgets(
    p: &Pod,
    matching: &[PodDisruptionBudget],
    namespace_pods: &[Pod],
    target: &str,
) -> Vec<Budget> {
    let owner = owner::controller_of(&p.metadata);
    let mut out = Vec::new();
    for b in matching {
        if pdb::evictable_without_budget(p, b) {
            continue;
        }
        let name = pdb::name(b);
        let selector = b
            .spec
            .as_ref()
            .and_then(|s| s.selector.as_ref())
            .map(Selector::from_label_selector)
            .unwrap_or_default();
        let covered: Vec<&Pod> = namespace_pods
            .iter()
            .filter(|q| selector.matches(q.metadata.labels.as_ref()))
            .collect();
        let managed = covered
            .iter()
            .filter(|q| owner::controller_of(&q.metadata).is_some())
            .count() as i32;
        let all = (covered.len() as i32).max(1);
        let observed = b
            .status
            .as_ref()
            .filter(|s| s.observed_generation.unwrap_or(0) >= b.metadata.generation.unwrap_or(0));
        let expected = match observed {
            Some(s) => s.expected_pods,
            None if pdb::counts_only_managed(b) => managed,
            None => all,
        };
        if owner.is_none() && pdb::counts_only_managed(b) && expected <= 0 {
            out.push(Budget::Never {
                message: format!(
                    "PodDisruptionBudget {name} uses maxUnavailable or a percentage, which count only pods with a controller (Kubernetes ≥ 1.23): it expects no pod, so it never allows the eviction of {target}, which has none"
                ),
                advice: format!(
                    "give PodDisruptionBudget {name} an integer minAvailable instead (e.g. minAvailable: 0 for the restart), or run the pod under a Deployment"
                ),
            });
            continue;
        }
        match counted(b, target, expected, all) {
            // Name the way out for a Deployment's pod.
            Some(Budget::Never { message, .. })
                if owner.is_some_and(|o| o.kind == "ReplicaSet") =>
            {
                let rs = owner.map_or("", |o| o.name.as_str());
                let deploy = rs.rsplit_once('-').map_or(rs, |(d, _)| d);
                out.push(Budget::Never {
                    message,
                    advice: format!(
                        "restart its Deployment instead, which rolls with surge and needs no eviction (`kubectl graceful restart deploy/{deploy}`), or relax PodDisruptionBudget {name}"
                    ),
                });
            }
            Some(v) => out.push(v),
            None => {}
        }
    }
    out
}

pub(super) fn pdb_blocks(_w: &Workload, cx: &Context, r: &Restart) -> Vec<Hit> {
    budget_verdicts(cx, r)
        .into_iter()
        .filter_map(|v| match v {
            Budget::Never { message, advice } => Some(Hit {
                field: "PodDisruptionBudget".into(),
                message,
                advice: Some(advice),
                ..Default::default()
            }),
            Budget::NotNow { .. } => None,
        })
        .collect()
}

pub(super) fn pdb_exhausted(_w: &Workload, cx: &Context, r: &Restart) -> Vec<Hit> {
    budget_verdicts(cx, r)
        .into_iter()
        .filter_map(|v| match v {
            Budget::NotNow { message, advice } => Some(Hit {
                field: "PodDisruptionBudget.status.disruptionsAllowed".into(),
                message,
                advice: Some(advice),
                ..Default::default()
            }),
            Budget::Never { .. } => None,
        })
        .collect()
}

pub(super) fn bare_pod(w: &Workload, _cx: &Context, r: &Restart) -> Vec<Hit> {
    let Object::Pod(p) = &r.object else {
        return vec![];
    };
    if owner::controller_of(&p.metadata).is_some() {
        return vec![];
    }
    advised(
        "metadata.ownerReferences",
        format!(
            "pod {} has no controller: it is down from its eviction until it is created again (its manifest is saved first)",
            w.name
        ),
        "run it under a Deployment, or pass --force to accept the downtime",
    )
}

pub(super) fn hpa_present(_w: &Workload, cx: &Context, r: &Restart) -> Vec<Hit> {
    let Some(h) = cx.hpas.iter().flatten().next() else {
        return vec![];
    };
    advised(
        "HorizontalPodAutoscaler.spec.scaleTargetRef",
        format!(
            "HorizontalPodAutoscaler {} scales {}: the replica count may change during the restart",
            h.metadata.name.as_deref().unwrap_or("?"),
            r.target
        ),
        "nothing to do; the wait follows the current replica count",
    )
}

/// Another restart (ours or `kubectl rollout restart`) whose rollout is not complete yet: a second one
/// would take it over.
pub(super) fn in_progress(_w: &Workload, _cx: &Context, r: &Restart) -> Vec<Hit> {
    let o = &r.object;
    let Some(value) = o.restarted_at() else {
        return vec![];
    };
    let key = format!("f:{RESTARTED_AT}");
    let by = o.meta().managed_fields.iter().flatten().find(|e| {
        matches!(
            e.manager.as_deref(),
            Some(FIELD_MANAGER | "kubectl-rollout")
        ) && e.fields_v1.as_ref().is_some_and(|f| {
            f.0.pointer(&format!(
                "/f:spec/f:template/f:metadata/f:annotations/{}",
                key.replace('~', "~0").replace('/', "~1")
            ))
            .is_some()
        })
    });
    let Some(by) = by else {
        return vec![];
    };
    let waiting = match progress::waiting(o, o.generation()) {
        Ok(Some(phase)) => phase,
        Ok(None) => return vec![],
        Err(failed) => failed,
    };
    let manager = by.manager.as_deref().unwrap_or("?");
    let target = &r.target;
    advised(
        "spec.template.metadata.annotations",
        format!(
            "{target} is being restarted already (restartedAt {value}, written by {}{}; {waiting}): a second restart would take it over",
            if manager == FIELD_MANAGER { "another `kubectl graceful restart`" } else { "`kubectl rollout restart`" },
            by.time.as_ref().map(|t| format!(" at {}", t.0)).unwrap_or_default(),
        ),
        format!("wait for it (`kubectl rollout status {target}`), or pass --force to restart it again"),
    )
}

const GITOPS_MANAGERS: &[&str] = &[
    "argocd-controller",
    "argocd-application-controller",
    "argo-rollouts",
    "kustomize-controller",
    "helm-controller",
    "flux",
    "fleetagent",
    "config-sync",
];

/// Who besides people manages this workload: an owning operator, a GitOps tool's field manager, its
/// tracking labels or annotations.
fn gitops_owner(o: &Object) -> Option<String> {
    let meta = o.meta();
    if let Some(owner) = owner::controller_or_first_owner(meta) {
        return Some(format!("owned by {} {}", owner.kind, owner.name));
    }
    for e in meta.managed_fields.iter().flatten() {
        if let Some(m) = e.manager.as_deref() {
            let lower = m.to_ascii_lowercase();
            if GITOPS_MANAGERS.iter().any(|g| lower.starts_with(g)) {
                return Some(format!("field manager {m}"));
            }
        }
    }
    let labels = meta.labels.clone().unwrap_or_default();
    let annotations = meta.annotations.clone().unwrap_or_default();
    if annotations
        .keys()
        .any(|k| k.starts_with("argocd.argoproj.io/"))
        || labels.contains_key("argocd.argoproj.io/instance")
    {
        return Some("Argo CD (tracking label/annotation)".into());
    }
    if labels.keys().any(|k| {
        k.starts_with("kustomize.toolkit.fluxcd.io/") || k.starts_with("helm.toolkit.fluxcd.io/")
    }) {
        return Some("Flux (toolkit labels)".into());
    }
    None
}

pub(super) fn gitops_managed(_w: &Workload, _cx: &Context, r: &Restart) -> Vec<Hit> {
    // A pod's controller is what replaces it: that is the point of evicting it, not a conflict.
    if matches!(r.object, Object::Pod(_)) {
        return vec![];
    }
    let Some(who) = gitops_owner(&r.object) else {
        return vec![];
    };
    advised(
        "metadata.managedFields",
        format!(
            "{} is managed by a controller ({who}): it may revert the restart annotation",
            r.target
        ),
        "restart through the controller (e.g. `argocd app actions run … restart`), or pass --force",
    )
}
