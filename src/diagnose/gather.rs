//! Live mode: the API calls. Lists every workload kind plus PDBs, HPAs and Services concurrently, and
//! reads the server version for version-aware advice. A 403 on one list is a warning, not a failure.

use std::fmt::Debug;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{Pod, Service};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::NamespaceResourceScope;
use kube::api::{Api, ListParams};
use kube::Resource;
use serde::de::DeserializeOwned;

use super::input::InputError;
use super::model::{KubeVersion, Related, Workload};
use crate::client::Kube;
use crate::error::Result;
use crate::output;
use crate::target::{Kind, Target};

/// What live mode found.
#[derive(Debug, Default)]
pub struct Gathered {
    pub workloads: Vec<Workload>,
    pub related: Related,
    pub version: Option<KubeVersion>,
    /// Named targets that do not exist.
    pub errors: Vec<InputError>,
}

fn api<K>(kube: &Kube, ns: Option<&str>) -> Api<K>
where
    K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>,
{
    match ns {
        Some(n) => Api::namespaced(kube.client.clone(), n),
        None => Api::all(kube.client.clone()),
    }
}

/// Lists one kind; `Ok(None)` when forbidden (warned on stderr).
async fn list<K>(
    kube: &Kube,
    ns: Option<&str>,
    lp: &ListParams,
    what: &str,
) -> Result<Option<Vec<K>>>
where
    K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>
        + Clone
        + DeserializeOwned
        + Debug,
{
    let a: Api<K> = api(kube, ns);
    match kube.call("list", what, ns, a.list(lp)).await {
        Ok(l) => Ok(Some(l.items)),
        Err(e) if e.is_forbidden() => {
            output::warn(&format!(
                "cannot list {what} in {}: forbidden; the checks that need them are skipped",
                ns.unwrap_or("all namespaces")
            ));
            Ok(None)
        }
        // An API the server does not serve (autoscaling/v2 before 1.23, say): nothing to read.
        Err(e) if e.is_not_found() => {
            output::warn(&format!(
                "the server does not serve {what}; the checks that need them are skipped"
            ));
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// The server version, or None (warned) when it cannot be read.
pub async fn server_version(kube: &Kube) -> Option<KubeVersion> {
    match kube
        .call(
            "get",
            "server version",
            None,
            kube.client.apiserver_version(),
        )
        .await
    {
        Ok(info) => KubeVersion::parse(&info.git_version)
            .or_else(|| KubeVersion::parse(&format!("{}.{}", info.major, info.minor))),
        Err(e) => {
            output::warn(&format!(
                "cannot read the server version ({e}); advising for Kubernetes {}",
                KubeVersion::DEFAULT
            ));
            None
        }
    }
}

fn owned_by(meta: &ObjectMeta, kinds: &[&str]) -> bool {
    meta.owner_references
        .iter()
        .flatten()
        .any(|o| kinds.is_empty() || kinds.contains(&o.kind.as_str()))
}

/// Reads the PDBs, HPAs and Services of a namespace (`None` = all namespaces), concurrently.
pub async fn related(kube: &Kube, ns: Option<&str>) -> Result<Related> {
    let lp = ListParams::default();
    let (pdbs, hpas, services) = futures::try_join!(
        list::<PodDisruptionBudget>(kube, ns, &lp, "poddisruptionbudgets"),
        list::<HorizontalPodAutoscaler>(kube, ns, &lp, "horizontalpodautoscalers"),
        list::<Service>(kube, ns, &lp, "services"),
    )?;
    Ok(Related {
        pdbs,
        hpas,
        services,
    })
}

/// Every workload of a namespace (`None` = all namespaces), with `-l` applied to the workloads:
/// Deployments, StatefulSets, DaemonSets, ReplicaSets and Jobs not owned by another controller, CronJobs,
/// and bare pods. Related objects and the version are read at the same time.
pub async fn all(kube: &Kube, ns: Option<&str>, selector: Option<&str>) -> Result<Gathered> {
    let lp = match selector {
        Some(s) => ListParams::default().labels(s),
        None => ListParams::default(),
    };
    let (lists, related, version) = futures::join!(
        async {
            futures::try_join!(
                list::<Deployment>(kube, ns, &lp, "deployments"),
                list::<StatefulSet>(kube, ns, &lp, "statefulsets"),
                list::<DaemonSet>(kube, ns, &lp, "daemonsets"),
                list::<ReplicaSet>(kube, ns, &lp, "replicasets"),
                list::<Job>(kube, ns, &lp, "jobs"),
                list::<CronJob>(kube, ns, &lp, "cronjobs"),
                list::<Pod>(kube, ns, &lp, "pods"),
            )
        },
        related(kube, ns),
        server_version(kube),
    );
    let (deps, stss, dss, rss, jobs, cjs, pods) = lists?;
    let related = related?;
    let mut workloads = Vec::new();
    workloads.extend(deps.iter().flatten().map(Workload::from_deployment));
    workloads.extend(stss.iter().flatten().map(Workload::from_statefulset));
    workloads.extend(dss.iter().flatten().map(Workload::from_daemonset));
    workloads.extend(
        rss.iter()
            .flatten()
            .filter(|r| !owned_by(&r.metadata, &[]))
            .map(Workload::from_replicaset),
    );
    workloads.extend(
        jobs.iter()
            .flatten()
            .filter(|j| !owned_by(&j.metadata, &[]))
            .map(Workload::from_job),
    );
    workloads.extend(cjs.iter().flatten().map(Workload::from_cronjob));
    workloads.extend(
        pods.iter()
            .flatten()
            .filter(|p| !owned_by(&p.metadata, &[]))
            .map(Workload::from_pod),
    );
    Ok(Gathered {
        workloads,
        related,
        version,
        errors: vec![],
    })
}

async fn get_one(kube: &Kube, ns: &str, t: &Target) -> Result<Workload> {
    let what = format!("{} {}", t.kind.lower(), t.name);
    let n = t.name.as_str();
    let ns_opt = Some(ns);
    Ok(match t.kind {
        Kind::Deployment => {
            let a: Api<Deployment> = api(kube, ns_opt);
            Workload::from_deployment(&kube.call("get", &what, ns_opt, a.get(n)).await?)
        }
        Kind::StatefulSet => {
            let a: Api<StatefulSet> = api(kube, ns_opt);
            Workload::from_statefulset(&kube.call("get", &what, ns_opt, a.get(n)).await?)
        }
        Kind::DaemonSet => {
            let a: Api<DaemonSet> = api(kube, ns_opt);
            Workload::from_daemonset(&kube.call("get", &what, ns_opt, a.get(n)).await?)
        }
        Kind::ReplicaSet => {
            let a: Api<ReplicaSet> = api(kube, ns_opt);
            Workload::from_replicaset(&kube.call("get", &what, ns_opt, a.get(n)).await?)
        }
        Kind::Job => {
            let a: Api<Job> = api(kube, ns_opt);
            Workload::from_job(&kube.call("get", &what, ns_opt, a.get(n)).await?)
        }
        Kind::CronJob => {
            let a: Api<CronJob> = api(kube, ns_opt);
            Workload::from_cronjob(&kube.call("get", &what, ns_opt, a.get(n)).await?)
        }
        Kind::Pod => {
            let a: Api<Pod> = api(kube, ns_opt);
            Workload::from_pod(&kube.call("get", &what, ns_opt, a.get(n)).await?)
        }
    })
}

/// The named workloads of one namespace, plus related objects and the version, concurrently.
/// A target that does not exist is reported in `errors` and the others are still checked.
pub async fn targets(kube: &Kube, ns: &str, targets: &[Target]) -> Result<Gathered> {
    let (results, related, version) = futures::join!(
        futures::future::join_all(targets.iter().map(|t| get_one(kube, ns, t))),
        related(kube, Some(ns)),
        server_version(kube),
    );
    let mut g = Gathered {
        related: related?,
        version,
        ..Default::default()
    };
    for (t, r) in targets.iter().zip(results) {
        match r {
            Ok(w) => g.workloads.push(w),
            Err(e) if e.is_not_found() => g.errors.push(InputError {
                source: t.to_string(),
                message: e.to_string(),
            }),
            Err(e) => return Err(e),
        }
    }
    Ok(g)
}

/// One live workload, ready for [`super::check_workload`]: read, related to its namespace's PDBs,
/// HPAs and Services, and set to the server's version (restart's preflight uses this).
pub async fn one(kube: &Kube, ns: &str, target: &Target) -> Result<Workload> {
    let (w, related, version) = futures::join!(
        get_one(kube, ns, target),
        related(kube, Some(ns)),
        server_version(kube),
    );
    let mut w = w?;
    w.relate(&related?);
    w.version = version.unwrap_or(KubeVersion::DEFAULT);
    Ok(w)
}
