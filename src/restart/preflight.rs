//! Preflight: what could go wrong before anything is written. diagnose's rules look ahead at each
//! target's restart ([`crate::diagnose::rules::before_restart`]: their checks are in
//! `diagnose/rules/restart.rs`, their ids and rationales in its registry); this file is restart's policy
//! over their ids: what only warns, what needs `--force` (a risk), what stops the target even with it
//! (blocked), and the order findings are shown in.

use super::model::{Gate, PreflightFinding};
use crate::diagnose::context::{Context, Restart};
use crate::diagnose::rules::before_restart;
use crate::workload::Workload;

/// Every rule that looks ahead at a restart, its gate, in the order findings are shown: what makes the
/// target impossible or down first, then what the restart must know about.
const POLICY: &[(&str, Gate)] = &[
    ("deployment-paused", Gate::Blocked),
    ("recreate-strategy", Gate::Risk),
    ("single-replica", Gate::Risk),
    ("rollout-all-unavailable", Gate::Risk),
    ("readiness-missing", Gate::Risk),
    ("pdb-overlap", Gate::Blocked),
    ("pdb-blocks-eviction", Gate::Blocked),
    ("pdb-exhausted", Gate::Warning),
    ("bare-pod", Gate::Risk),
    ("hpa-present", Gate::Warning),
    ("restart-in-progress", Gate::Risk),
    ("gitops-managed", Gate::Risk),
];

/// A rule's gate; a rule the policy does not name (a new one) needs `--force` until it does.
pub(crate) fn gate(rule: &str) -> Gate {
    POLICY
        .iter()
        .find(|(id, _)| *id == rule)
        .map_or(Gate::Risk, |(_, g)| *g)
}

fn order(rule: &str) -> usize {
    POLICY
        .iter()
        .position(|(id, _)| *id == rule)
        .unwrap_or(POLICY.len())
}

/// The findings of one target's restart, gated and in the policy's order.
pub(crate) fn check(w: &Workload, cx: &Context, r: &Restart) -> Vec<PreflightFinding> {
    let mut out: Vec<PreflightFinding> = before_restart(w, cx, r)
        .into_iter()
        .map(|f| PreflightFinding {
            severity: gate(&f.rule),
            fix: f.advice.unwrap_or_default(),
            rule: f.rule,
            message: f.message,
        })
        .collect();
    out.sort_by_key(|f| order(&f.rule));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::{KubeVersion, Related, RelatedIndex};
    use crate::workload::{from_yaml, Object};
    use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
    use k8s_openapi::api::core::v1::Pod;
    use k8s_openapi::api::policy::v1::PodDisruptionBudget;

    /// The findings of restarting `o` in a namespace with these budgets, autoscalers and pods.
    fn look(
        o: &Object,
        target: &str,
        pdbs: &[PodDisruptionBudget],
        hpas: &[HorizontalPodAutoscaler],
        pods: &[Pod],
    ) -> Vec<PreflightFinding> {
        let related = Related {
            pdbs: Some(pdbs.to_vec()),
            hpas: Some(hpas.to_vec()),
            services: None,
            manual_endpoints: vec![],
        };
        let w = o.workload();
        let cx = RelatedIndex::new(&related).context(&w, KubeVersion::DEFAULT);
        let r = Restart {
            target: target.into(),
            object: o.clone(),
            namespace_pods: pods.to_vec(),
        };
        check(&w, &cx, &r)
    }

    fn check_workload(
        o: &Object,
        target: &str,
        pdbs: &[PodDisruptionBudget],
        hpas: &[HorizontalPodAutoscaler],
    ) -> Vec<PreflightFinding> {
        look(o, target, pdbs, hpas, &[])
    }

    /// Pods replaced one by one through the Eviction API; `namespace_pods`: every pod of the namespace.
    fn check_pods(
        pods: &[Pod],
        pdbs: &[PodDisruptionBudget],
        namespace_pods: &[Pod],
    ) -> Vec<PreflightFinding> {
        pods.iter()
            .flat_map(|p| {
                let target = format!("pod/{}", p.metadata.name.as_deref().unwrap_or(""));
                look(&Object::Pod(p.clone()), &target, pdbs, &[], namespace_pods)
            })
            .collect()
    }

    fn deploy(extra_spec: &str, container: &str) -> Object {
        from_yaml(&format!(
            r#"
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web}}
spec:
  selector: {{matchLabels: {{app: web}}}}
  {extra_spec}
  template:
    metadata: {{labels: {{app: web}}}}
    spec: {{containers: [{container}]}}
"#
        ))
    }

    const PROBED: &str = "{name: app, image: x, readinessProbe: {httpGet: {path: /, port: 80}}}";

    fn rules(f: &[PreflightFinding]) -> Vec<(&str, Gate)> {
        f.iter().map(|f| (f.rule.as_str(), f.severity)).collect()
    }

    #[test]
    fn healthy_deployment_has_no_findings() {
        let w = deploy("replicas: 3", PROBED);
        assert_eq!(w.surge_unavailable(), Some((1, 0)));
        assert!(check_workload(&w, "deploy/web", &[], &[]).is_empty());
    }

    #[test]
    fn risky_deployments() {
        let w = deploy(
            "replicas: 1\n  strategy: {rollingUpdate: {maxSurge: 0}}",
            PROBED,
        );
        assert_eq!(
            rules(&check_workload(&w, "deploy/web", &[], &[])),
            [("single-replica", Gate::Risk)]
        );
        // Default surge (25% of 1 rounds up to 1): no downtime.
        let w = deploy("replicas: 1", PROBED);
        assert!(check_workload(&w, "deploy/web", &[], &[]).is_empty());
        let w = deploy(
            "replicas: 3\n  strategy: {type: Recreate}\n  paused: true",
            "{name: app, image: x}",
        );
        let f = check_workload(&w, "deploy/web", &[], &[]);
        assert_eq!(
            rules(&f),
            [
                ("deployment-paused", Gate::Blocked),
                ("recreate-strategy", Gate::Risk),
                ("readiness-missing", Gate::Risk)
            ]
        );
        assert!(f[0].fix.contains("kubectl rollout resume deploy/web"));
    }

    #[test]
    fn all_pods_down_at_once() {
        let w = deploy(
            "replicas: 4\n  strategy: {rollingUpdate: {maxSurge: 0, maxUnavailable: '100%'}}",
            PROBED,
        );
        assert_eq!(
            rules(&check_workload(&w, "deploy/web", &[], &[])),
            [("rollout-all-unavailable", Gate::Risk)]
        );
    }

    #[test]
    fn hpa_and_gitops() {
        let mut w = deploy("replicas: 3", PROBED);
        let hpa: HorizontalPodAutoscaler = serde_yaml::from_str(
            "metadata: {name: web}\nspec: {scaleTargetRef: {kind: Deployment, name: web, apiVersion: apps/v1}, maxReplicas: 5}",
        )
        .unwrap();
        if let Object::Deployment(d) = &mut w {
            d.metadata.managed_fields = Some(
                serde_yaml::from_str("[{manager: argocd-controller, operation: Apply}]").unwrap(),
            );
        }
        let f = check_workload(&w, "deploy/web", &[], &[hpa]);
        assert_eq!(
            rules(&f),
            [
                ("hpa-present", Gate::Warning),
                ("gitops-managed", Gate::Risk)
            ]
        );
        assert!(
            f[1].message.contains("argocd-controller"),
            "{}",
            f[1].message
        );
    }

    fn pdb(spec: &str) -> PodDisruptionBudget {
        serde_yaml::from_str(&format!("metadata: {{name: db}}\nspec: {spec}")).unwrap()
    }

    #[test]
    fn pdb_blocks_single_replica_ondelete() {
        let w = from_yaml(
            r#"
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  replicas: 1
  updateStrategy: {type: OnDelete}
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: db, image: x, readinessProbe: {exec: {command: ["true"]}}}]}
"#,
        );
        let blocking = pdb("{minAvailable: 1, selector: {matchLabels: {app: db}}}");
        let f = check_workload(&w, "sts/db", &[blocking], &[]);
        assert_eq!(
            rules(&f),
            [
                ("single-replica", Gate::Risk),
                ("pdb-blocks-eviction", Gate::Blocked)
            ]
        );
        assert!(
            f[1].fix.contains("relax PodDisruptionBudget db"),
            "{}",
            f[1].fix
        );
        // A PDB for other pods is irrelevant.
        let other = pdb("{minAvailable: 1, selector: {matchLabels: {app: other}}}");
        assert_eq!(check_workload(&w, "sts/db", &[other], &[]).len(), 1);
    }

    #[test]
    fn single_pod_of_a_deployment_behind_a_strict_pdb_names_the_way_out() {
        let p: Pod = serde_yaml::from_str(
            "metadata: {name: web-5d8f-abcde, labels: {app: web}, ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web-5d8f, uid: u, controller: true}]}",
        )
        .unwrap();
        let strict = pdb("{minAvailable: 1, selector: {matchLabels: {app: web}}}");
        let f = check_pods(
            std::slice::from_ref(&p),
            std::slice::from_ref(&strict),
            std::slice::from_ref(&p),
        );
        assert_eq!(rules(&f), [("pdb-blocks-eviction", Gate::Blocked)]);
        assert!(
            f[0].fix.contains("kubectl graceful restart deploy/web"),
            "{}",
            f[0].fix
        );
        // Three pods covered: one may go.
        let mut others = vec![p.clone(), p.clone(), p.clone()];
        others[1].metadata.name = Some("b".into());
        assert!(check_pods(std::slice::from_ref(&p), &[strict], &others).is_empty());
        // A bare pod is down until it is created again.
        let bare: Pod = serde_yaml::from_str("metadata: {name: solo}").unwrap();
        assert_eq!(
            rules(&check_pods(&[bare], &[], &[])),
            [("bare-pod", Gate::Risk)]
        );
    }

    fn pod_yaml(y: &str) -> Pod {
        serde_yaml::from_str(y).unwrap()
    }

    const READY: &str = "status: {phase: Running, conditions: [{type: Ready, status: 'True'}]}";

    /// Upstream since 1.23: a budget with maxUnavailable (or a percentage) expects only pods with a
    /// controller; a bare pod alone under `maxUnavailable: 1` can never be evicted (429 forever).
    #[test]
    fn bare_pod_under_max_unavailable_is_blocked_unless_managed_pods_are_covered_too() {
        let solo = pod_yaml(&format!(
            "metadata: {{name: solo, labels: {{app: solo}}}}
{READY}"
        ));
        let budget = pdb("{maxUnavailable: 1, selector: {matchLabels: {app: solo}}}");
        let f = check_pods(
            std::slice::from_ref(&solo),
            std::slice::from_ref(&budget),
            std::slice::from_ref(&solo),
        );
        assert_eq!(
            rules(&f),
            [
                ("pdb-blocks-eviction", Gate::Blocked),
                ("bare-pod", Gate::Risk)
            ]
        );
        assert!(
            f[0].message.contains("count only pods with a controller"),
            "{}",
            f[0].message
        );
        assert!(f[0].fix.contains("integer minAvailable"), "{}", f[0].fix);
        // The controller's own status says the same: expectedPods 0.
        let mut observed = budget.clone();
        observed.status = Some(serde_yaml::from_str("{currentHealthy: 1, desiredHealthy: 0, disruptionsAllowed: 0, expectedPods: 0, observedGeneration: 0}").unwrap());
        assert_eq!(
            rules(&check_pods(
                std::slice::from_ref(&solo),
                &[observed],
                std::slice::from_ref(&solo)
            ))[0],
            ("pdb-blocks-eviction", Gate::Blocked)
        );
        // An integer minAvailable counts every pod: minAvailable 0 lets it go.
        let zero = pdb("{minAvailable: 0, selector: {matchLabels: {app: solo}}}");
        assert_eq!(
            rules(&check_pods(
                std::slice::from_ref(&solo),
                &[zero],
                std::slice::from_ref(&solo)
            )),
            [("bare-pod", Gate::Risk)]
        );
        // With two pods of a Deployment under the same budget, the bare pod fits in its allowance.
        let managed = |n: &str| {
            pod_yaml(&format!("metadata: {{name: {n}, labels: {{app: solo}}, ownerReferences: [{{apiVersion: apps/v1, kind: ReplicaSet, name: web-5d8f, uid: u, controller: true}}]}}
{READY}"))
        };
        let covered = [solo.clone(), managed("a"), managed("b")];
        assert_eq!(
            rules(&check_pods(
                std::slice::from_ref(&solo),
                &[budget],
                &covered
            )),
            [("bare-pod", Gate::Risk)]
        );
    }

    /// Eviction ignores the budget for pending pods, and for unready ones under `AlwaysAllow` (or
    /// `IfHealthyBudget` while the budget is healthy).
    #[test]
    fn unready_and_pending_pods_are_evictable_as_upstream_says() {
        let strict = "{minAvailable: 2, selector: {matchLabels: {app: web}}, unhealthyPodEvictionPolicy: POLICY}";
        let owned = "ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web-5d8f, uid: u, controller: true}]";
        let unready = pod_yaml(&format!(
            "metadata: {{name: web-a, labels: {{app: web}}, {owned}}}
status: {{phase: Running, conditions: [{{type: Ready, status: 'False'}}]}}"
        ));
        let ready = pod_yaml(&format!(
            "metadata: {{name: web-b, labels: {{app: web}}, {owned}}}
{READY}"
        ));
        let covered = [unready.clone(), ready.clone()];
        let always = pdb(&strict.replace("POLICY", "AlwaysAllow"));
        assert!(check_pods(
            std::slice::from_ref(&unready),
            std::slice::from_ref(&always),
            &covered
        )
        .is_empty());
        assert_eq!(
            rules(&check_pods(
                std::slice::from_ref(&ready),
                std::slice::from_ref(&always),
                &covered
            )),
            [("pdb-blocks-eviction", Gate::Blocked)]
        );
        let if_healthy = pdb(&strict.replace("POLICY", "IfHealthyBudget"));
        assert_eq!(
            rules(&check_pods(
                std::slice::from_ref(&unready),
                std::slice::from_ref(&if_healthy),
                &covered
            )),
            [("pdb-blocks-eviction", Gate::Blocked)],
            "an unhealthy budget protects even unready pods"
        );
        let mut healthy = if_healthy.clone();
        healthy.status = Some(
            serde_yaml::from_str(
                "{currentHealthy: 2, desiredHealthy: 2, disruptionsAllowed: 0, expectedPods: 2}",
            )
            .unwrap(),
        );
        assert!(check_pods(std::slice::from_ref(&unready), &[healthy], &covered).is_empty());
        let pending = pod_yaml(&format!(
            "metadata: {{name: web-c, labels: {{app: web}}, {owned}}}
status: {{phase: Pending}}"
        ));
        assert!(check_pods(&[pending], &[if_healthy], &covered).is_empty());
    }

    #[test]
    fn a_restart_in_progress_is_noticed() {
        let w = from_yaml(
            r#"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  generation: 5
  managedFields:
  - manager: kubectl-graceful
    operation: Update
    time: "2026-11-23T15:00:10Z"
    fieldsType: FieldsV1
    fieldsV1: {"f:spec": {"f:template": {"f:metadata": {"f:annotations": {"f:kubectl.kubernetes.io/restartedAt": {}}}}}}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}, annotations: {kubectl.kubernetes.io/restartedAt: "2026-11-23T15:00:10Z"}}
    spec: {containers: [{name: app, image: x, readinessProbe: {httpGet: {path: /, port: 80}}}]}
status: {observedGeneration: 5, replicas: 4, updatedReplicas: 1, availableReplicas: 3}
"#,
        );
        let f = check_workload(&w, "deploy/web", &[], &[]);
        assert_eq!(rules(&f), [("restart-in-progress", Gate::Risk)]);
        assert!(
            f[0].message.contains("another `kubectl graceful restart`"),
            "{}",
            f[0].message
        );
        assert!(
            f[0].message.contains("1 out of 3 new replicas"),
            "{}",
            f[0].message
        );
        // Once that rollout is complete, nothing is in progress.
        let mut done = w.clone();
        if let Object::Deployment(d) = &mut done {
            d.status = Some(serde_yaml::from_str("{observedGeneration: 5, replicas: 3, updatedReplicas: 3, availableReplicas: 3}").unwrap());
        }
        assert!(check_workload(&done, "deploy/web", &[], &[]).is_empty());
    }

    #[test]
    fn two_budgets_over_one_pod_block_its_eviction() {
        let p: Pod = serde_yaml::from_str(
            "metadata: {name: web-a, labels: {app: web}, ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web-5d8f, uid: u, controller: true}]}\nstatus: {phase: Running, conditions: [{type: Ready, status: 'True'}]}",
        )
        .unwrap();
        let a = pdb("{maxUnavailable: 1, selector: {matchLabels: {app: web}}}");
        let mut b = pdb("{maxUnavailable: 1, selector: {}}");
        b.metadata.name = Some("all".into());
        let covered = [p.clone(), p.clone(), p.clone()];
        let f = check_pods(std::slice::from_ref(&p), &[a, b], &covered);
        assert_eq!(rules(&f)[0], ("pdb-overlap", Gate::Blocked));
        assert!(f[0].message.contains("db, all"), "{}", f[0].message);
    }
}
