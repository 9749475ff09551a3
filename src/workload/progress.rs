//! Where a workload's own rollout stands, judged from its status like `kubectl rollout status`
//! (`rollout_status.go`: DeploymentStatusViewer, StatefulSetStatusViewer, DaemonSetStatusViewer), and
//! stricter: the controller must have observed the generation asked for, and StatefulSets count
//! *available* replicas and respect a partition. Pure. restart's completion (`restart::status`) adds
//! the pods themselves; restart's preflight asks whether another restart is still rolling.

use super::{Object, Strategy};

/// Where the workload's own rollout stands: `Ok(Some(phase))` while it rolls (kubectl's wording),
/// `Ok(None)` when done, `Err(why)` when it reports failure. `generation`: the one the controller must
/// have observed (a patch's); kinds without a rollout are never waiting.
pub fn waiting(w: &Object, generation: i64) -> Result<Option<String>, String> {
    let kind = w.kind().lower();
    let name = w.name();
    if w.observed_generation() < generation.max(w.generation()) {
        return Ok(Some(format!(
            "waiting for the {kind} controller to observe generation {}",
            generation.max(w.generation())
        )));
    }
    match w {
        Object::Deployment(d) => {
            let replicas = w.desired();
            let s = d.status.clone().unwrap_or_default();
            if let Some(c) = s
                .conditions
                .iter()
                .flatten()
                .find(|c| c.type_ == "Progressing")
            {
                if c.reason.as_deref() == Some("ProgressDeadlineExceeded") {
                    // Why no pod could even be created (quota, admission) is in ReplicaFailure.
                    let creating = s
                        .conditions
                        .iter()
                        .flatten()
                        .find(|c| c.type_ == "ReplicaFailure" && c.status == "True")
                        .map(|c| {
                            format!(
                                "; {}: {}",
                                c.reason.as_deref().unwrap_or("ReplicaFailure"),
                                c.message.as_deref().unwrap_or("")
                            )
                        })
                        .unwrap_or_default();
                    return Err(format!(
                        "deployment {name:?} exceeded its progress deadline{creating}"
                    ));
                }
            }
            let updated = s.updated_replicas.unwrap_or(0);
            let total = s.replicas.unwrap_or(0);
            let available = s.available_replicas.unwrap_or(0);
            if updated < replicas {
                return Ok(Some(format!(
                    "{updated} out of {replicas} new replicas have been updated"
                )));
            }
            if total > updated {
                return Ok(Some(format!(
                    "{} old replicas are pending termination",
                    total - updated
                )));
            }
            if available < updated || available < replicas {
                return Ok(Some(format!(
                    "{available} of {updated} updated replicas are available"
                )));
            }
            Ok(None)
        }
        Object::StatefulSet(st) => {
            let replicas = w.desired();
            let s = st.status.clone().unwrap_or_default();
            let available = s.available_replicas.unwrap_or(0);
            if available < replicas {
                return Ok(Some(format!(
                    "{available} of {replicas} pods are available"
                )));
            }
            let partition = w.partition();
            let want = (replicas - partition).max(0);
            let updated = s.updated_replicas.unwrap_or(0);
            if updated < want {
                return Ok(Some(if partition > 0 {
                    format!(
                        "partitioned roll out: {updated} out of {want} new pods have been updated"
                    )
                } else {
                    format!("{updated} out of {want} new pods have been updated")
                }));
            }
            // Up to 1.35 the controller completes `currentRevision` only for RollingUpdate
            // (`completeRollingUpdate` in pkg/controller/statefulset/stateful_set_utils.go): an OnDelete
            // StatefulSet keeps the old currentRevision after every pod was replaced. Its pods are judged by
            // their `controller-revision-hash` in `assess` instead.
            if partition == 0 && w.strategy() != Strategy::OnDelete {
                if let (Some(cur), Some(upd)) = (&s.current_revision, &s.update_revision) {
                    if cur != upd {
                        return Ok(Some(format!(
                            "waiting for pods to reach revision {upd} (current {cur})"
                        )));
                    }
                }
            }
            Ok(None)
        }
        Object::DaemonSet(d) => {
            let s = d.status.clone().unwrap_or_default();
            let desired = s.desired_number_scheduled;
            let updated = s.updated_number_scheduled.unwrap_or(0);
            let available = s.number_available.unwrap_or(0);
            if updated < desired {
                return Ok(Some(format!(
                    "{updated} out of {desired} new pods have been updated"
                )));
            }
            if available < desired {
                return Ok(Some(format!(
                    "{available} of {desired} updated pods are available"
                )));
            }
            Ok(None)
        }
        _ => Ok(None),
    }
}
