//! Preflight: what could go wrong before anything is written. Pure functions over the workload, the
//! PodDisruptionBudgets and HorizontalPodAutoscalers of its namespace. Each finding names the matching
//! `diagnose` rule id. Risks need `--force`; a blocked target cannot be restarted at all as asked.

use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde::Serialize;

use super::workload::{Strategy, Workload};
use crate::selector::Selector;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Severity {
    /// Worth knowing; does not stop the restart.
    Warning,
    /// Needs `--force`.
    Risk,
    /// Cannot work as asked, even with `--force`.
    Blocked,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    /// The matching `kubectl graceful diagnose` rule id.
    pub rule: &'static str,
    pub severity: Severity,
    pub message: String,
    /// What to do about it.
    pub fix: String,
}

/// Resolves an IntOrString against a total like Kubernetes does (`round_up` for maxSurge).
pub fn resolve(v: Option<&IntOrString>, total: i32, default: &str, round_up: bool) -> i32 {
    let pct = |s: &str| -> Option<i32> {
        let n: f64 = s.strip_suffix('%')?.trim().parse().ok()?;
        let x = n * f64::from(total) / 100.0;
        Some(if round_up { x.ceil() } else { x.floor() } as i32)
    };
    match v {
        Some(IntOrString::Int(i)) => *i,
        Some(IntOrString::String(s)) => pct(s).or_else(|| s.parse().ok()).unwrap_or(0),
        None => pct(default).unwrap_or(0),
    }
}

/// (maxSurge, maxUnavailable) of a workload's rolling update, resolved against its replicas.
pub fn surge_unavailable(w: &Workload) -> (i32, i32) {
    let n = w.desired().max(1);
    match w {
        Workload::Deployment(d) => {
            let ru = d
                .spec
                .as_ref()
                .and_then(|s| s.strategy.as_ref())
                .and_then(|s| s.rolling_update.as_ref());
            let surge = resolve(ru.and_then(|r| r.max_surge.as_ref()), n, "25%", true);
            let mut unav = resolve(ru.and_then(|r| r.max_unavailable.as_ref()), n, "25%", false);
            if surge == 0 && unav == 0 {
                unav = 1;
            }
            (surge, unav)
        }
        Workload::DaemonSet(d) => {
            let ru = d
                .spec
                .as_ref()
                .and_then(|s| s.update_strategy.as_ref())
                .and_then(|s| s.rolling_update.as_ref());
            let surge = resolve(ru.and_then(|r| r.max_surge.as_ref()), n, "0", true);
            let unav = resolve(ru.and_then(|r| r.max_unavailable.as_ref()), n, "1", true);
            (surge, if surge == 0 { unav.max(1) } else { unav })
        }
        Workload::StatefulSet(s) => {
            let unav = s
                .spec
                .as_ref()
                .and_then(|s| s.update_strategy.as_ref())
                .and_then(|s| s.rolling_update.as_ref())
                .and_then(|r| r.max_unavailable.as_ref());
            (0, resolve(unav, n, "1", false).max(1))
        }
    }
}

/// Disruptions a PDB allows: its status when the controller computed one, else from its spec with
/// `healthy` pods out of `expected`, as the disruption controller computes it
/// (`pkg/controller/disruption/disruption.go`, `getExpectedPodCount` and `updatePdbStatus`): desired healthy
/// is `expected - maxUnavailable` (at least 0) or `minAvailable` (a percentage of `expected`, rounded up);
/// nothing is allowed while `expected` is 0.
pub fn pdb_allowed(
    pdb: &PodDisruptionBudget,
    expected: i32,
    healthy: i32,
    use_status: bool,
) -> i32 {
    if use_status {
        if let Some(s) = &pdb.status {
            return s.disruptions_allowed;
        }
    }
    let spec = pdb.spec.clone().unwrap_or_default();
    let desired = if let Some(max) = spec.max_unavailable.as_ref() {
        (expected - resolve(Some(max), expected, "0", true)).max(0)
    } else if let Some(min) = spec.min_available.as_ref() {
        resolve(Some(min), expected, "0", true)
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
/// (`pkg/registry/core/pod/storage/eviction.go`): pending, finished and terminating pods always; a pod that
/// is not Ready when the budget says `unhealthyPodEvictionPolicy: AlwaysAllow`, or (the default
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

/// PDBs that select these pod labels.
pub fn matching_pdbs<'a>(
    pdbs: &'a [PodDisruptionBudget],
    labels: Option<&std::collections::BTreeMap<String, String>>,
) -> Vec<&'a PodDisruptionBudget> {
    pdbs.iter()
        .filter(|p| {
            p.spec
                .as_ref()
                .and_then(|s| s.selector.as_ref())
                .map(Selector::from_label_selector)
                // An empty selector in policy/v1 selects every pod of the namespace.
                .is_some_and(|s| s.matches(labels))
        })
        .collect()
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

/// Who besides people manages this workload: a GitOps tool (managedFields, labels) or an owning operator.
pub fn gitops_owner(w: &Workload) -> Option<String> {
    let meta = w.meta();
    if let Some(o) = crate::meta::controller_or_first_owner(meta) {
        return Some(format!("owned by {} {}", o.kind, o.name));
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

/// Checks one workload before its restart. `evicts`: pods will be replaced through the Eviction API.
pub fn check_workload(
    w: &Workload,
    target: &str,
    pdbs: &[PodDisruptionBudget],
    hpas: &[HorizontalPodAutoscaler],
) -> Vec<Finding> {
    let mut out = Vec::new();
    let kind = w.kind();
    let replicas = w.desired();
    let strategy = w.strategy();
    let mut add = |rule, severity, message: String, fix: String| {
        out.push(Finding {
            rule,
            severity,
            message,
            fix,
        })
    };
    if w.paused() {
        add(
            "deployment-paused",
            Severity::Blocked,
            format!("{target} is paused: the controller would not roll any pod (kubectl refuses it too)"),
            format!("run `kubectl rollout resume {target}` first"),
        );
    }
    if strategy == Strategy::Recreate {
        add(
            "recreate-strategy",
            Severity::Risk,
            format!("{target} uses strategy Recreate: every pod stops before the new ones start (downtime)"),
            "switch to RollingUpdate, or pass --force to accept the downtime".into(),
        );
    } else if replicas == 1 && kind != crate::target::Kind::DaemonSet {
        let (surge, _) = surge_unavailable(w);
        if surge == 0 || strategy == Strategy::OnDelete {
            add(
                "single-replica",
                Severity::Risk,
                format!("{target} has 1 replica and no surge: its only pod goes away before the new one is Ready (downtime)"),
                "set replicas ≥ 2 (or maxSurge ≥ 1 for a Deployment), or pass --force to accept the downtime".into(),
            );
        }
    }
    if replicas > 1 && kind == crate::target::Kind::Deployment && strategy == Strategy::Rolling {
        let (surge, unav) = surge_unavailable(w);
        if surge == 0 && unav >= replicas {
            add(
                "rollout-all-unavailable",
                Severity::Risk,
                format!("{target} has maxSurge 0 and maxUnavailable {unav}: all {replicas} pods may stop at once (downtime)"),
                "lower maxUnavailable or allow a surge, or pass --force to accept the downtime".into(),
            );
        }
    }
    if let Some(t) = w.template() {
        let missing: Vec<&str> = t
            .spec
            .iter()
            .flat_map(|s| s.containers.iter())
            .filter(|c| c.readiness_probe.is_none())
            .map(|c| c.name.as_str())
            .collect();
        if !missing.is_empty() {
            add(
                "readiness-missing",
                Severity::Risk,
                format!(
                    "container{} {} of {target} {} no readiness probe: Ready only means started, so waiting for it proves nothing",
                    if missing.len() == 1 { "" } else { "s" },
                    missing.join(", "),
                    if missing.len() == 1 { "has" } else { "have" }
                ),
                "add a readinessProbe, or pass --force".into(),
            );
        }
    }
    let labels = w
        .template()
        .and_then(|t| t.metadata.as_ref())
        .and_then(|m| m.labels.as_ref());
    if strategy == Strategy::OnDelete {
        let matching = matching_pdbs(pdbs, labels);
        if let Some(f) = overlapping(&matching, target) {
            out.push(f);
        }
        for pdb in matching {
            pdb_findings(pdb, target, replicas, &mut out);
        }
    }
    let name = w.name();
    if let Some(h) = hpas.iter().find(|h| {
        h.spec.as_ref().is_some_and(|s| {
            s.scale_target_ref.name == name && s.scale_target_ref.kind == kind.as_str()
        })
    }) {
        out.push(Finding {
            rule: "hpa-present",
            severity: Severity::Warning,
            message: format!(
                "HorizontalPodAutoscaler {} scales {target}: the replica count may change during the restart",
                h.metadata.name.as_deref().unwrap_or("?")
            ),
            fix: "nothing to do; the wait follows the current replica count".into(),
        });
    }
    if let Some(f) = restart_in_progress(w, target) {
        out.push(f);
    }
    if let Some(who) = gitops_owner(w) {
        out.push(Finding {
            rule: "gitops-managed",
            severity: Severity::Risk,
            message: format!("{target} is managed by a controller ({who}): it may revert the restart annotation"),
            fix: "restart through the controller (e.g. `argocd app actions run … restart`), or pass --force".into(),
        });
    }
    out
}

/// The Eviction API refuses a pod that more than one budget selects (500 "This pod has more than one
/// PodDisruptionBudget, which the eviction subresource does not support", `eviction.go`).
fn overlapping(matching: &[&PodDisruptionBudget], target: &str) -> Option<Finding> {
    if matching.len() < 2 {
        return None;
    }
    let names: Vec<&str> = matching
        .iter()
        .map(|p| p.metadata.name.as_deref().unwrap_or("?"))
        .collect();
    Some(Finding {
        rule: "pdb-overlap",
        severity: Severity::Blocked,
        message: format!(
            "PodDisruptionBudgets {} all select the pods of {target}: the Eviction API refuses a pod with more than one budget",
            names.join(", ")
        ),
        fix: "keep one PodDisruptionBudget per pod (narrow or merge their selectors)".into(),
    })
}

/// Another restart (ours or `kubectl rollout restart`) whose rollout is not complete yet: a second one
/// would take it over.
fn restart_in_progress(w: &Workload, target: &str) -> Option<Finding> {
    let value = w.restarted_at()?;
    let key = format!("f:{}", super::workload::RESTARTED_AT);
    let by = w.meta().managed_fields.iter().flatten().find(|e| {
        matches!(
            e.manager.as_deref(),
            Some(super::trigger::FIELD_MANAGER | "kubectl-rollout")
        ) && e.fields_v1.as_ref().is_some_and(|f| {
            f.0.pointer(&format!(
                "/f:spec/f:template/f:metadata/f:annotations/{}",
                key.replace('~', "~0").replace('/', "~1")
            ))
            .is_some()
        })
    })?;
    let expect = super::status::Expect {
        marker: Some(value.to_string()),
        generation: w.generation(),
        exempt: Default::default(),
    };
    let waiting = match super::status::workload_waiting(w, &expect) {
        Ok(Some(phase)) => phase,
        Ok(None) => return None,
        Err(failed) => failed,
    };
    let manager = by.manager.as_deref().unwrap_or("?");
    Some(Finding {
        rule: "restart-in-progress",
        severity: Severity::Risk,
        message: format!(
            "{target} is being restarted already (restartedAt {value}, written by {}{}; {waiting}): a second restart would take it over",
            if manager == super::trigger::FIELD_MANAGER { "another `kubectl graceful restart`" } else { "`kubectl rollout restart`" },
            by.time.as_ref().map(|t| format!(" at {}", t.0)).unwrap_or_default(),
        ),
        fix: format!("wait for it (`kubectl rollout status {target}`), or pass --force to restart it again"),
    })
}

fn pdb_findings(pdb: &PodDisruptionBudget, target: &str, pods: i32, out: &mut Vec<Finding>) {
    pdb_findings_counted(pdb, target, pods, pods, out)
}

/// `expected`: the pods the budget expects; `covered`: the pods it selects (all healthy at best).
fn pdb_findings_counted(
    pdb: &PodDisruptionBudget,
    target: &str,
    expected: i32,
    covered: i32,
    out: &mut Vec<Finding>,
) {
    let pods = covered;
    let name = pdb.metadata.name.as_deref().unwrap_or("?");
    // Even with every pod healthy, no eviction is allowed: nothing can ever be evicted.
    if pdb_allowed(pdb, expected, covered, false) <= 0 {
        out.push(Finding {
            rule: "pdb-blocks-eviction",
            severity: Severity::Blocked,
            message: format!(
                "PodDisruptionBudget {name} allows no eviction of {target}'s {pods} pod{} even when all are healthy: evictions would wait forever",
                if pods == 1 { "" } else { "s" }
            ),
            fix: format!("relax PodDisruptionBudget {name} (e.g. maxUnavailable: 1) for the restart, or scale up first; a Deployment can instead roll with surge (`kubectl graceful restart deploy/…`)"),
        });
    } else if pdb_allowed(pdb, expected, covered, true) <= 0 {
        out.push(Finding {
            rule: "pdb-blocks-eviction",
            severity: Severity::Warning,
            message: format!(
                "PodDisruptionBudget {name} allows no disruption right now: evictions will wait until pods are healthy"
            ),
            fix: "wait for the pods covered by the budget to become healthy".into(),
        });
    }
}

/// Checks pods replaced one by one through the Eviction API (`pod/NAME`, `--pods`). `namespace_pods`:
/// every pod of the namespace, to count what each budget covers when its status is missing.
pub fn check_pods(
    pods: &[Pod],
    pdbs: &[PodDisruptionBudget],
    namespace_pods: &[Pod],
) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut seen = Vec::new();
    for p in pods {
        let name = p.metadata.name.as_deref().unwrap_or("");
        let target = format!("pod/{name}");
        let owner = crate::meta::controller_of(&p.metadata);
        let matching = matching_pdbs(pdbs, p.metadata.labels.as_ref());
        if let Some(f) = overlapping(&matching, &target).filter(|_| !ignores_budgets(p)) {
            out.push(f);
        }
        for pdb in matching {
            let pdb_name = pdb.metadata.name.clone().unwrap_or_default();
            if seen.contains(&pdb_name) || evictable_without_budget(p, pdb) {
                continue;
            }
            seen.push(pdb_name.clone());
            let selector = pdb
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
                .filter(|q| crate::meta::controller_of(&q.metadata).is_some())
                .count() as i32;
            let all = (covered.len() as i32).max(1);
            let observed = pdb.status.as_ref().filter(|s| {
                s.observed_generation.unwrap_or(0) >= pdb.metadata.generation.unwrap_or(0)
            });
            let expected = match observed {
                Some(s) => s.expected_pods,
                None if counts_only_managed(pdb) => managed,
                None => all,
            };
            if owner.is_none() && counts_only_managed(pdb) && expected <= 0 {
                out.push(Finding {
                    rule: "pdb-blocks-eviction",
                    severity: Severity::Blocked,
                    message: format!(
                        "PodDisruptionBudget {pdb_name} uses maxUnavailable or a percentage, which count only pods with a controller (Kubernetes ≥ 1.23): it expects no pod, so it never allows the eviction of {target}, which has none"
                    ),
                    fix: format!(
                        "give PodDisruptionBudget {pdb_name} an integer minAvailable instead (e.g. minAvailable: 0 for the restart), or run the pod under a Deployment"
                    ),
                });
                continue;
            }
            let before = out.len();
            pdb_findings_counted(pdb, &target, expected, all, &mut out);
            // Name the way out for this pod's owner.
            if let (Some(f), Some(o)) = (out.get_mut(before), owner) {
                if f.severity == Severity::Blocked && o.kind == "ReplicaSet" {
                    let deploy = o.name.rsplit_once('-').map_or(o.name.as_str(), |(d, _)| d);
                    f.fix = format!(
                        "restart its Deployment instead, which rolls with surge and needs no eviction (`kubectl graceful restart deploy/{deploy}`), or relax PodDisruptionBudget {}",
                        pdb.metadata.name.as_deref().unwrap_or("?")
                    );
                }
            }
        }
        if owner.is_none() {
            out.push(Finding {
                rule: "bare-pod",
                severity: Severity::Risk,
                message: format!(
                    "pod {name} has no controller: it is down from its eviction until it is created again (its manifest is saved first)"
                ),
                fix: "run it under a Deployment, or pass --force to accept the downtime".into(),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::workload::from_yaml;
    use super::*;

    fn deploy(extra_spec: &str, container: &str) -> Workload {
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

    fn rules(f: &[Finding]) -> Vec<(&str, Severity)> {
        f.iter().map(|f| (f.rule, f.severity)).collect()
    }

    #[test]
    fn healthy_deployment_has_no_findings() {
        let w = deploy("replicas: 3", PROBED);
        assert_eq!(surge_unavailable(&w), (1, 0));
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
            [("single-replica", Severity::Risk)]
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
                ("deployment-paused", Severity::Blocked),
                ("recreate-strategy", Severity::Risk),
                ("readiness-missing", Severity::Risk)
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
            [("rollout-all-unavailable", Severity::Risk)]
        );
    }

    #[test]
    fn hpa_and_gitops() {
        let mut w = deploy("replicas: 3", PROBED);
        let hpa: HorizontalPodAutoscaler = serde_yaml::from_str(
            "metadata: {name: web}\nspec: {scaleTargetRef: {kind: Deployment, name: web, apiVersion: apps/v1}, maxReplicas: 5}",
        )
        .unwrap();
        if let Workload::Deployment(d) = &mut w {
            d.metadata.managed_fields = Some(
                serde_yaml::from_str("[{manager: argocd-controller, operation: Apply}]").unwrap(),
            );
        }
        let f = check_workload(&w, "deploy/web", &[], &[hpa]);
        assert_eq!(
            rules(&f),
            [
                ("hpa-present", Severity::Warning),
                ("gitops-managed", Severity::Risk)
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
                ("single-replica", Severity::Risk),
                ("pdb-blocks-eviction", Severity::Blocked)
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
        assert_eq!(rules(&f), [("pdb-blocks-eviction", Severity::Blocked)]);
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
            [("bare-pod", Severity::Risk)]
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
                ("pdb-blocks-eviction", Severity::Blocked),
                ("bare-pod", Severity::Risk)
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
            ("pdb-blocks-eviction", Severity::Blocked)
        );
        // An integer minAvailable counts every pod: minAvailable 0 lets it go.
        let zero = pdb("{minAvailable: 0, selector: {matchLabels: {app: solo}}}");
        assert_eq!(
            rules(&check_pods(
                std::slice::from_ref(&solo),
                &[zero],
                std::slice::from_ref(&solo)
            )),
            [("bare-pod", Severity::Risk)]
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
            [("bare-pod", Severity::Risk)]
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
            [("pdb-blocks-eviction", Severity::Blocked)]
        );
        let if_healthy = pdb(&strict.replace("POLICY", "IfHealthyBudget"));
        assert_eq!(
            rules(&check_pods(
                std::slice::from_ref(&unready),
                std::slice::from_ref(&if_healthy),
                &covered
            )),
            [("pdb-blocks-eviction", Severity::Blocked)],
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
        assert_eq!(rules(&f), [("restart-in-progress", Severity::Risk)]);
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
        if let Workload::Deployment(d) = &mut done {
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
        assert_eq!(rules(&f)[0], ("pdb-overlap", Severity::Blocked));
        assert!(f[0].message.contains("db, all"), "{}", f[0].message);
    }

    #[test]
    fn pdb_arithmetic() {
        let p = pdb("{maxUnavailable: 1, selector: {}}");
        assert_eq!(pdb_allowed(&p, 3, 3, false), 1);
        assert_eq!(pdb_allowed(&p, 3, 2, false), 0);
        let p = pdb("{minAvailable: '50%', selector: {}}");
        assert_eq!(pdb_allowed(&p, 3, 3, false), 1);
        // Nothing expected, nothing allowed (updatePdbStatus), however many pods are healthy.
        let p = pdb("{maxUnavailable: 1, selector: {}}");
        assert_eq!(pdb_allowed(&p, 0, 1, false), 0);
        assert_eq!(
            resolve(Some(&IntOrString::String("25%".into())), 1, "0", true),
            1
        );
        assert_eq!(
            resolve(Some(&IntOrString::String("25%".into())), 1, "0", false),
            0
        );
    }
}
