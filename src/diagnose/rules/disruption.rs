//! Disruption: PodDisruptionBudgets, HPAs, bare pods, Jobs and evictions.

use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::fix::{Fix, FixTarget};
use super::helpers::*;
use super::Hit;
use crate::diagnose::context::Context;
use crate::target::Kind;
use crate::workload::rollout::{int_or_percent_text, resolve_int_or_percent};
use crate::workload::Workload;

fn pdb_target(name: &str) -> FixTarget {
    FixTarget::Object {
        kind: "PodDisruptionBudget".into(),
        name: name.to_string(),
    }
}

pub(super) fn check_pdb_missing(w: &Workload, cx: &Context) -> Vec<Hit> {
    if !matches!(
        w.kind,
        Kind::Deployment | Kind::StatefulSet | Kind::ReplicaSet
    ) {
        return vec![];
    }
    let Some(pdbs) = &cx.pdbs else {
        return vec![];
    };
    let r = cx.min_replicas(w).unwrap_or(1);
    if !pdbs.is_empty() || r < 2 {
        return vec![];
    }
    vec![hit(
        "PodDisruptionBudget".into(),
        format!(
            "{r} replicas and no PodDisruptionBudget: a node drain or cluster upgrade may evict all of them at once"
        ),
        // Without labels nothing can select the pods: no PDB to paste.
        new_pdb(w, cx).map(|pdb| Fix::default().and(FixTarget::New, pdb)),
    )]
}

pub(super) fn check_pdb_blocks(w: &Workload, cx: &Context) -> Vec<Hit> {
    let reps = cx.min_replicas(w);
    cx.pdbs
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
                zero.then(|| format!("maxUnavailable {}", int_or_percent_text(mu)))?
            } else if let Some(ma) = &spec.min_available {
                if is_percent(ma) == Some(100) {
                    format!("minAvailable {}", int_or_percent_text(ma))
                } else {
                    let r = reps?;
                    let need = resolve_int_or_percent(ma, r, true)?;
                    if need < r || r == 0 {
                        return None;
                    }
                    format!(
                        "minAvailable {} with {r} replica{}",
                        int_or_percent_text(ma),
                        if r == 1 { "" } else { "s" }
                    )
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
                format!("PodDisruptionBudget/{name}.spec"),
                format!(
                    "PodDisruptionBudget {name}: {reason} never allows an eviction{single}: node drains and cluster upgrades hang on these pods"
                ),
                Some(Fix::default().and(
                    pdb_target(&name),
                    format!(
                        "spec:\n  maxUnavailable: 1{}\n",
                        if spec.min_available.is_some() {
                            "\n  minAvailable: null   # remove minAvailable"
                        } else {
                            ""
                        }
                    ),
                )),
            ))
        })
        .collect()
}

pub(super) fn check_pdb_unhealthy_eviction(_w: &Workload, cx: &Context) -> Vec<Hit> {
    if !cx.version.at_least(1, 27) {
        return vec![];
    }
    cx.pdbs
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
                format!("PodDisruptionBudget/{name}.spec.unhealthyPodEvictionPolicy"),
                format!(
                    "PodDisruptionBudget {name} protects pods that are not Ready (policy IfHealthyBudget): a crash-looping pod counts against the budget and can block node drains"
                ),
                Some(Fix::default().and(
                    pdb_target(&name),
                    "spec:\n  unhealthyPodEvictionPolicy: AlwaysAllow\n",
                )),
            )
        })
        .collect()
}

pub(super) fn check_pdb_overlap(_w: &Workload, cx: &Context) -> Vec<Hit> {
    let pdbs = cx.pdbs.as_deref().unwrap_or(&[]);
    if pdbs.len() < 2 {
        return vec![];
    }
    let names: Vec<String> = pdbs
        .iter()
        .filter_map(|p| p.metadata.name.clone())
        .collect();
    // Keep the first; the Eviction API needs exactly one PDB per pod.
    let mut fix = Fix::default();
    for n in names.iter().skip(1) {
        fix = fix.and(
            FixTarget::Delete {
                kind: "PodDisruptionBudget".into(),
                name: n.clone(),
            },
            "",
        );
    }
    vec![hit(
        "PodDisruptionBudget".into(),
        format!(
            "{} PodDisruptionBudgets select these pods ({}): the Eviction API refuses pods with more than one PDB, so drains fail",
            pdbs.len(),
            names.join(", ")
        ),
        Some(fix),
    )]
}

/// The manifest behind a live object sets spec.replicas: its `kubectl apply` annotation says so.
fn last_applied_sets_replicas(w: &Workload) -> bool {
    w.annotations
        .get("kubectl.kubernetes.io/last-applied-configuration")
        .and_then(|a| serde_json::from_str::<serde_json::Value>(a).ok())
        .is_some_and(|v| v.pointer("/spec/replicas").is_some_and(|r| !r.is_null()))
}

pub(super) fn check_hpa_replicas_set(w: &Workload, cx: &Context) -> Vec<Hit> {
    if !cx.has_hpa() {
        return vec![];
    }
    // Live objects always carry spec.replicas: only the applied manifest tells whether it is written.
    let written = if w.live {
        last_applied_sets_replicas(w)
    } else {
        w.replicas_set
    };
    if !written {
        return vec![];
    }
    let n = w.replicas.unwrap_or(1);
    vec![hit(
        "spec.replicas".into(),
        format!(
            "spec.replicas {n} is {} although an HPA scales this {}: every apply resets it to {n}, scaling down under load until the HPA reacts",
            if w.live { "in the last applied manifest" } else { "set" },
            w.kind.lower(),
        ),
        Some(Fix::workload(
            "spec:\n  replicas: null   # remove it from the manifest: the HPA owns it\n",
        )),
    )]
}

pub(super) fn check_bare_pod(w: &Workload, cx: &Context) -> Vec<Hit> {
    if w.kind != Kind::Pod || w.owner.is_some() || w.is_helm_hook() {
        return vec![];
    }
    vec![hit(
        "metadata.ownerReferences".into(),
        "a bare Pod: nothing recreates it after an eviction, node drain or node failure".into(),
        Some(pod_to_controller(w, cx)),
    )]
}

/// The pod as a Deployment with a PodDisruptionBudget, or as a Job when it runs to completion.
fn pod_to_controller(w: &Workload, cx: &Context) -> Fix {
    let mut template = w.template.clone();
    let mut spec = template.spec.clone().unwrap_or_default();
    let once = matches!(spec.restart_policy.as_deref(), Some("Never" | "OnFailure"));
    // A pod pinned to a node by name would pin every replica there.
    spec.node_name = None;
    let meta = template.metadata.get_or_insert_with(Default::default);
    let labels = meta.labels.get_or_insert_with(Default::default);
    if labels.is_empty() {
        labels.insert("app.kubernetes.io/name".into(), w.name.clone());
    }
    let selector: Vec<String> = labels
        .iter()
        .map(|(k, v)| format!("{}: {}", yaml_scalar(k), yaml_scalar(v)))
        .collect();
    let name = yaml_scalar(w.name.trim_end_matches('*'));
    let ns = yaml_scalar(&w.namespace);
    if once {
        spec.restart_policy = Some("Never".into());
        template.spec = Some(spec);
        let t = serde_yaml::to_string(&template).unwrap_or_default();
        return Fix::default().and(
            FixTarget::Replace,
            format!(
                "apiVersion: batch/v1\nkind: Job   # the pod runs to completion\nmetadata:\n  name: {name}\n  namespace: {ns}\nspec:\n  backoffLimit: 3\n  podFailurePolicy:   # evictions and drains do not count as failures\n    rules:\n    - action: Ignore\n      onPodConditions:\n      - type: DisruptionTarget\n  template:\n{}\n",
                indent(t.trim_end(), 4)
            ),
        );
    }
    spec.restart_policy = None;
    template.spec = Some(spec);
    let t = serde_yaml::to_string(&template).unwrap_or_default();
    let mut with_labels = w.clone();
    with_labels.template = template.clone();
    let fix = Fix::default().and(
        FixTarget::Replace,
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\n  namespace: {ns}\nspec:\n  replicas: 2\n  selector:\n    matchLabels:\n{}\n  template:\n{}\n",
            indent(&selector.join("\n"), 6),
            indent(t.trim_end(), 4)
        ),
    );
    match new_pdb(&with_labels, cx) {
        Some(pdb) => fix.and(FixTarget::New, pdb),
        None => fix,
    }
}

pub(super) fn check_pdb_no_spread(w: &Workload, cx: &Context) -> Vec<Hit> {
    if !matches!(
        w.kind,
        Kind::Deployment | Kind::StatefulSet | Kind::ReplicaSet
    ) {
        return vec![];
    }
    let r = cx.min_replicas(w).unwrap_or(1);
    if r < 2 || cx.pdbs.as_ref().is_none_or(|p| p.is_empty()) {
        return vec![];
    }
    let spec = w.pod_spec();
    let anti = spec
        .affinity
        .as_ref()
        .and_then(|a| a.pod_anti_affinity.as_ref())
        .is_some_and(|a| {
            a.required_during_scheduling_ignored_during_execution
                .as_ref()
                .is_some_and(|t| !t.is_empty())
                || a.preferred_during_scheduling_ignored_during_execution
                    .as_ref()
                    .is_some_and(|t| !t.is_empty())
        });
    let spread = spec
        .topology_spread_constraints
        .as_ref()
        .is_some_and(|t| !t.is_empty());
    if anti || spread {
        return vec![];
    }
    // A PDB selects these pods, so they have labels.
    let Some(labels) = match_labels_yaml(w, 6) else {
        return vec![];
    };
    let pdb = cx
        .pdbs
        .iter()
        .flatten()
        .find_map(|p| p.metadata.name.clone())
        .unwrap_or_default();
    vec![hit(
        format!("{}.topologySpreadConstraints", w.pod_spec_field()),
        format!(
            "{r} replicas with PodDisruptionBudget {pdb} but no pod anti-affinity or topology spread: only the scheduler's soft default keeps them apart, and when a node that holds them all fails or is reclaimed they go at once, PDB or not"
        ),
        Some(pod_spec_fix(
            w,
            &format!(
                "topologySpreadConstraints:\n- maxSkew: 1\n  topologyKey: kubernetes.io/hostname\n  whenUnsatisfiable: ScheduleAnyway   # DoNotSchedule to require it\n  labelSelector:\n    matchLabels:\n{}",
                labels
            ),
        )),
    )]
}

// ---------------------------------------------------------------------------------------------
// Jobs.

pub(super) fn check_job_disruption(w: &Workload, _cx: &Context) -> Vec<Hit> {
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
    // podFailurePolicy requires restartPolicy Never (the API rejects it with OnFailure).
    let never = job
        .template
        .spec
        .as_ref()
        .and_then(|s| s.restart_policy.as_deref())
        == Some("Never");
    let restart = if never {
        ""
    } else {
        "\ntemplate:\n  spec:\n    restartPolicy: Never   # required by podFailurePolicy"
    };
    vec![hit(
        format!("{path}.podFailurePolicy"),
        format!(
            "no podFailurePolicy ignoring DisruptionTarget: each eviction, preemption or node drain counts against backoffLimit {backoff} and can fail the Job"
        ),
        Some(Fix::workload(nest(
            &segs,
            &format!("podFailurePolicy:\n  rules:\n  - action: Ignore\n    onPodConditions:\n    - type: DisruptionTarget{restart}"),
        ))),
    )]
}
