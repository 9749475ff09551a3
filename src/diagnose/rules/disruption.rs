//! Disruption: PodDisruptionBudgets, HPAs, bare pods, Jobs and evictions.

use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::helpers::*;
use super::Hit;
use crate::diagnose::model::{int_or_string_text, resolve_int_or_percent, Workload};
use crate::target::Kind;

pub(super) fn check_pdb_missing(w: &Workload) -> Vec<Hit> {
    if !matches!(
        w.kind,
        Kind::Deployment | Kind::StatefulSet | Kind::ReplicaSet
    ) {
        return vec![];
    }
    let Some(pdbs) = &w.pdbs else {
        return vec![];
    };
    let r = w.min_replicas().unwrap_or(1);
    if !pdbs.is_empty() || r < 2 {
        return vec![];
    }
    let labels: String = w
        .pod_labels()
        .map(|l| {
            l.iter()
                .map(|(k, v)| format!("      {k}: {}", yaml_scalar(v)))
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default();
    vec![hit(
        None,
        "PodDisruptionBudget".into(),
        format!(
            "{r} replicas and no PodDisruptionBudget: a node drain or cluster upgrade may evict all of them at once"
        ),
        Some(format!(
            "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata:\n  name: {}\n  namespace: {}\nspec:\n  maxUnavailable: 1\n  selector:\n    matchLabels:\n{labels}\n",
            w.name, w.namespace
        )),
    )]
}

pub(super) fn check_pdb_blocks(w: &Workload) -> Vec<Hit> {
    let reps = w.min_replicas();
    w.pdbs
        .iter()
        .flatten()
        .filter_map(|p| {
            let name = p.metadata.name.clone().unwrap_or_default();
            let spec = p.spec.as_ref()?;
            let reason = if let Some(mu) = &spec.max_unavailable {
                let zero = match mu {
                    IntOrString::Int(0) => true,
                    IntOrString::Int(_) => false,
                    IntOrString::String(s) => is_percent(mu) == Some(0) || s.trim() == "0",
                };
                zero.then(|| format!("maxUnavailable {}", int_or_string_text(mu)))?
            } else if let Some(ma) = &spec.min_available {
                if is_percent(ma) == Some(100) {
                    format!("minAvailable {}", int_or_string_text(ma))
                } else {
                    let r = reps?;
                    let need = resolve_int_or_percent(ma, r, true)?;
                    if need < r || r == 0 {
                        return None;
                    }
                    format!("minAvailable {} with {r} replica{}", int_or_string_text(ma), if r == 1 { "" } else { "s" })
                }
            } else {
                return None;
            };
            let single = if reps == Some(1) {
                " (a PDB on a single replica)"
            } else {
                ""
            };
            Some(hit(
                None,
                format!("PodDisruptionBudget/{name}.spec"),
                format!(
                    "PodDisruptionBudget {name}: {reason} never allows an eviction{single}: node drains and cluster upgrades hang on these pods"
                ),
                Some(format!(
                    "# PodDisruptionBudget {name}\nspec:\n  maxUnavailable: 1{}\n",
                    if spec.min_available.is_some() { "\n  minAvailable: null   # remove minAvailable" } else { "" }
                )),
            ))
        })
        .collect()
}

pub(super) fn check_pdb_unhealthy_eviction(w: &Workload) -> Vec<Hit> {
    if !w.version.at_least(1, 27) {
        return vec![];
    }
    w.pdbs
        .iter()
        .flatten()
        .filter(|p| {
            p.spec
                .as_ref()
                .and_then(|s| s.unhealthy_pod_eviction_policy.as_deref())
                != Some("AlwaysAllow")
        })
        .map(|p| {
            let name = p.metadata.name.clone().unwrap_or_default();
            hit(
                None,
                format!("PodDisruptionBudget/{name}.spec.unhealthyPodEvictionPolicy"),
                format!(
                    "PodDisruptionBudget {name} protects pods that are not Ready (policy IfHealthyBudget): a crash-looping pod counts against the budget and can block node drains"
                ),
                Some(format!(
                    "# PodDisruptionBudget {name}\nspec:\n  unhealthyPodEvictionPolicy: AlwaysAllow\n"
                )),
            )
        })
        .collect()
}

pub(super) fn check_pdb_overlap(w: &Workload) -> Vec<Hit> {
    let pdbs = w.pdbs.as_deref().unwrap_or(&[]);
    if pdbs.len() < 2 {
        return vec![];
    }
    let names: Vec<String> = pdbs
        .iter()
        .filter_map(|p| p.metadata.name.clone())
        .collect();
    vec![hit(
        None,
        "PodDisruptionBudget".into(),
        format!(
            "{} PodDisruptionBudgets select these pods ({}): the Eviction API refuses pods with more than one PDB, so drains fail",
            pdbs.len(),
            names.join(", ")
        ),
        Some("# keep one PodDisruptionBudget per set of pods: delete the others or make their selectors disjoint\n".into()),
    )]
}

pub(super) fn check_hpa_replicas_set(w: &Workload) -> Vec<Hit> {
    if w.live || !w.replicas_set || w.hpas.as_ref().is_none_or(|h| h.is_empty()) {
        return vec![];
    }
    vec![hit(
        None,
        "spec.replicas".into(),
        format!(
            "spec.replicas {} is set although an HPA scales this {}: every apply resets it to {}, scaling down under load until the HPA reacts",
            w.replicas.unwrap_or(1),
            w.kind.lower(),
            w.replicas.unwrap_or(1)
        ),
        Some("spec:\n  # remove `replicas:` from the manifest; the HPA owns it\n".into()),
    )]
}

pub(super) fn check_bare_pod(w: &Workload) -> Vec<Hit> {
    if w.kind != Kind::Pod || w.owner.is_some() {
        return vec![];
    }
    vec![hit(
        None,
        "metadata.ownerReferences".into(),
        "a bare Pod: nothing recreates it after an eviction, node drain or node failure".into(),
        Some("# run it as a Deployment (or a Job for one-off work):\napiVersion: apps/v1\nkind: Deployment\nspec:\n  replicas: 2\n  template:   # the pod's metadata and spec\n".into()),
    )]
}

// ---------------------------------------------------------------------------------------------
// Jobs.

pub(super) fn check_job_disruption(w: &Workload) -> Vec<Hit> {
    let Some(job) = &w.job else {
        return vec![];
    };
    let ignores = job.pod_failure_policy.as_ref().is_some_and(|p| {
        p.rules.iter().any(|r| {
            r.action == "Ignore"
                && r.on_pod_conditions
                    .iter()
                    .flatten()
                    .any(|c| c.type_ == "DisruptionTarget")
        })
    });
    if ignores {
        return vec![];
    }
    let backoff = job.backoff_limit.unwrap_or(6);
    let path = w.job_spec_field();
    let segs: Vec<&str> = path.split('.').collect();
    Some(hit(
        None,
        format!("{path}.podFailurePolicy"),
        format!(
            "no podFailurePolicy ignoring DisruptionTarget: each eviction, preemption or node drain counts against backoffLimit {backoff} and can fail the Job"
        ),
        Some(nest(
            &segs,
            "podFailurePolicy:   # needs template.spec.restartPolicy: Never\n  rules:\n  - action: Ignore\n    onPodConditions:\n    - type: DisruptionTarget",
        )),
    ))
    .into_iter()
    .collect()
}
