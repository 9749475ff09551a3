//! Rolling a failed restart back: the workload returns to the pod template it had before our patch.
//! Deployments: the previous ReplicaSet scales back up. StatefulSets/DaemonSets: stuck new pods are
//! deleted so they come back on the old template (a StatefulSet never replaces a broken pod by itself),
//! and under OnDelete they are evicted one by one. The writes are one critical section; then the
//! rollback is awaited like a rollout. Deciding *whether* to roll back is `step.rs`'s; the words are
//! `render.rs`'s.

use k8s_openapi::api::core::v1::Pod;
use kube::api::DeleteParams;
use kube::Api;
use tokio::time::Instant;

use super::api::{self, Stop};
use super::render::Note;
use super::status::{self, Expect};
use super::step::{list_pods, Ctx};
use super::undone;
use super::wait::{self, Outcome, RolloutWait};
use crate::target::Kind;
use crate::workload::{Object, Strategy};

/// Returns the workload to the template it had before our patch. Deployments: the previous ReplicaSet
/// scales back up. StatefulSets/DaemonSets: stuck new pods are deleted so they come back on the old
/// template (a StatefulSet never replaces a broken pod by itself). The writes are one critical section.
pub(super) async fn rollback(
    ctx: &Ctx<'_>,
    i: usize,
    ns: &str,
    w: &Object,
    prev: Option<String>,
    bad: &str,
    selector: &str,
) -> std::result::Result<(), Stop> {
    let (kind, name) = (w.kind(), w.name().to_string());
    let target = format!("{}/{name}", kind.short());
    let deadline = Instant::now() + ctx.opts.timeout;
    ctx.tracker.rollback_started(
        i,
        &format!(
            "restoring the previous pod template (restartedAt {})",
            prev.as_deref().unwrap_or("absent")
        ),
    );
    let exempt = list_pods(ctx, ns, w, selector, deadline)
        .await?
        .iter()
        .filter(|p| !status::is_new(p, Some(bad)))
        .map(|p| status::pod_uid(p).to_string())
        .collect();
    let section = ctx
        .interrupt
        .enter(i, undone::rollback_under_way(&target, ns))
        .await;
    let result = async {
        let patched = ctx
            .patch(deadline, (kind, ns, &name), prev.as_deref())
            .await?;
        if kind != Kind::Deployment {
            let api: Api<Pod> = Api::namespaced(ctx.kube.client.clone(), ns);
            for p in list_pods(ctx, ns, w, selector, deadline).await? {
                let stuck = status::is_new(&p, Some(bad)) && !status::is_ready(&p);
                if stuck && !status::is_terminating(&p) {
                    let pn = status::pod_name(&p).to_string();
                    match api::call(
                        ctx.kube,
                        ctx.contact,
                        deadline,
                        ("delete", &format!("pod {pn}"), Some(ns)),
                        api.delete(&pn, &DeleteParams::default()),
                    )
                    .await
                    {
                        Ok(_) => ctx.tracker.note(Note::DeletedStuckPod { pod: &pn }),
                        // Its controller replaced it meanwhile: gone is what we wanted.
                        Err(Stop::Error(e)) if e.is_not_found() => {}
                        Err(e) => return Err(e),
                    }
                }
            }
        }
        Ok::<_, Stop>(patched)
    }
    .await;
    let patched = match result {
        Ok(p) => p,
        Err(e) => {
            ctx.interrupt.close(section);
            return Err(e);
        }
    };
    ctx.interrupt.leave(section).await;
    if kind != Kind::Deployment && patched.strategy() == Strategy::OnDelete {
        let evictor = ctx.evictor(i, ns, deadline);
        for p in list_pods(ctx, ns, w, selector, deadline).await? {
            if status::is_new(&p, Some(bad)) && !status::is_terminating(&p) {
                let o = evictor
                    .replace(&p, selector, Some(prev.as_deref()), (0, 0), None)
                    .await?;
                if let Outcome::Failed { verdict, .. } | Outcome::Unknown { verdict } = o {
                    ctx.tracker
                        .rolled_back(i, false, &format!("rollback failed: {verdict}"));
                    return Ok(());
                }
            }
        }
    }
    let outcome = wait::wait_rollout(RolloutWait {
        kube: ctx.kube,
        contact: ctx.contact,
        ns,
        kind,
        name: &name,
        selector: selector.to_string(),
        expect: Expect {
            marker: prev,
            generation: patched.generation(),
            exempt,
        },
        deadline,
        timeout: ctx.opts.timeout,
        stable_for: None,
        index: i,
        tracker: ctx.tracker,
        rollback: true,
    })
    .await?;
    match outcome {
        Outcome::Complete => {
            ctx.tracker
                .rolled_back(i, true, "rolled back: the previous pods are Ready again")
        }
        Outcome::Failed { verdict, .. } | Outcome::Unknown { verdict } => {
            ctx.tracker
                .rolled_back(i, false, &format!("rollback did not complete: {verdict}"))
        }
        Outcome::Reported => {}
    }
    Ok(())
}
