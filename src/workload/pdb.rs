//! PodDisruptionBudget arithmetic, as the disruption controller and the Eviction API do it: how many
//! disruptions a budget allows, which pods it counts, and which pods the Eviction API lets go without
//! asking it. Pure.

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::rollout::resolve_int_or_percent;

/// Disruptions a PDB allows: its status when the controller computed one (`use_status`), else from its
/// spec with `healthy` pods out of `expected`, as the disruption controller computes it
/// (`pkg/controller/disruption/disruption.go`, `getExpectedPodCount` and `updatePdbStatus`): desired
/// healthy is `expected - maxUnavailable` (at least 0) or `minAvailable` (a percentage of `expected`,
/// rounded up); nothing is allowed while `expected` is 0.
pub fn allowed(pdb: &PodDisruptionBudget, expected: i32, healthy: i32, use_status: bool) -> i32 {
    if use_status {
        if let Some(s) = &pdb.status {
            return s.disruptions_allowed;
        }
    }
    let spec = pdb.spec.clone().unwrap_or_default();
    let desired = if let Some(max) = spec.max_unavailable.as_ref() {
        (expected - resolve_int_or_percent(max, expected, true).unwrap_or(0)).max(0)
    } else if let Some(min) = spec.min_available.as_ref() {
        resolve_int_or_percent(min, expected, true).unwrap_or(0)
    } else {
        // policy/v1 requires one of the two; an empty spec behaves as minAvailable 1 would.
        1
    };
    let allowed = healthy - desired;
    if expected <= 0 || allowed <= 0 {
        0
    } else {
        allowed
    }
}

/// True when the budget counts only pods with a controller: `maxUnavailable`, or `minAvailable` as a
/// percentage. Since Kubernetes 1.23 the disruption controller skips pods without one there
/// (`getExpectedScale`: "unmanaged pods"), so they add nothing to the pods it expects.
pub fn counts_only_managed(pdb: &PodDisruptionBudget) -> bool {
    let spec = pdb.spec.as_ref();
    spec.and_then(|s| s.max_unavailable.as_ref()).is_some()
        || matches!(
            spec.and_then(|s| s.min_available.as_ref()),
            Some(IntOrString::String(_))
        )
}

/// Pending, finished and terminating pods are deleted by the Eviction API without looking at any budget
/// (`canIgnorePDB`).
pub fn ignores_budgets(pod: &Pod) -> bool {
    let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
    matches!(phase, Some("Pending" | "Succeeded" | "Failed"))
        || pod.metadata.deletion_timestamp.is_some()
}

/// Whether the Eviction API lets this pod go without consulting the budget's allowance
/// (`pkg/registry/core/pod/storage/eviction.go`): pending, finished and terminating pods always; a pod
/// that is not Ready when the budget says `unhealthyPodEvictionPolicy: AlwaysAllow`, or (the default
/// `IfHealthyBudget`) while the budget has its desired healthy pods (and desires some).
pub fn evictable_without_budget(pod: &Pod, pdb: &PodDisruptionBudget) -> bool {
    if ignores_budgets(pod) {
        return true;
    }
    let ready = pod
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
    if ready {
        return false;
    }
    let always = pdb
        .spec
        .as_ref()
        .and_then(|s| s.unhealthy_pod_eviction_policy.as_deref())
        == Some("AlwaysAllow");
    if always {
        return true;
    }
    pdb.status
        .as_ref()
        .is_some_and(|s| s.current_healthy >= s.desired_healthy && s.desired_healthy > 0)
}

/// The budget's name, `?` when it has none.
pub fn name(pdb: &PodDisruptionBudget) -> &str {
    pdb.metadata.name.as_deref().unwrap_or("?")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pdb(spec: &str) -> PodDisruptionBudget {
        serde_yaml::from_str(&format!("metadata: {{name: db}}\nspec: {spec}")).unwrap()
    }

    #[test]
    fn allowed_disruptions() {
        let p = pdb("{maxUnavailable: 1, selector: {}}");
        assert_eq!(allowed(&p, 3, 3, false), 1);
        assert_eq!(allowed(&p, 3, 2, false), 0);
        let p = pdb("{minAvailable: '50%', selector: {}}");
        assert_eq!(allowed(&p, 3, 3, false), 1);
        // Nothing expected, nothing allowed (updatePdbStatus), however many pods are healthy.
        let p = pdb("{maxUnavailable: 1, selector: {}}");
        assert_eq!(allowed(&p, 0, 1, false), 0);
        // The controller's status wins when asked for.
        let mut p = pdb("{maxUnavailable: 1, selector: {}}");
        p.status = Some(
            serde_yaml::from_str(
                "{currentHealthy: 3, desiredHealthy: 3, disruptionsAllowed: 0, expectedPods: 3}",
            )
            .unwrap(),
        );
        assert_eq!(allowed(&p, 3, 3, true), 0);
        assert_eq!(allowed(&p, 3, 3, false), 1);
    }

    #[test]
    fn what_a_budget_counts() {
        assert!(counts_only_managed(&pdb("{maxUnavailable: 1}")));
        assert!(counts_only_managed(&pdb("{minAvailable: '50%'}")));
        assert!(!counts_only_managed(&pdb("{minAvailable: 1}")));
    }
}
