//! Fills a [`Snapshot`] for the completion engine: kubeconfig names (no cluster call) and, only when
//! needed, namespaces and object names from the cluster through the normal connection code, within
//! [`LOOKUP_TIMEOUT`]. Every failure leaves the snapshot empty: the static completions still print.

use std::path::PathBuf;
use std::time::Duration;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{Namespace, Pod};
use k8s_openapi::NamespaceResourceScope;
use kube::api::{Api, ListParams};
use kube::Resource;
use serde::de::DeserializeOwned;

use super::engine::{Connection, Needs, Snapshot};
use crate::cli::GlobalArgs;
use crate::client::{self, Kube};
use crate::error::{Error, Result};
use crate::target::Kind;

/// How long a completion may wait for the cluster in total (connect + lists).
pub(crate) const LOOKUP_TIMEOUT: Duration = Duration::from_secs(2);

/// Reads what `needs` asks for. Problems are reported on stderr only with `-v`.
pub(crate) fn lookup(needs: &Needs, conn: &Connection) -> Snapshot {
    let mut snap = Snapshot::default();
    let say = |e: &Error| {
        if conn.verbose > 0 {
            eprintln!("kubectl-graceful __complete: {e}");
        }
    };
    if needs.kubeconfig {
        match client::load_kubeconfig(conn.kubeconfig.as_deref().map(std::path::Path::new)) {
            Ok(Some(kc)) => {
                snap.contexts = kc.contexts.iter().map(|c| c.name.clone()).collect();
                snap.clusters = kc.clusters.iter().map(|c| c.name.clone()).collect();
                snap.users = kc.auth_infos.iter().map(|u| u.name.clone()).collect();
            }
            Ok(None) => {}
            Err(e) => say(&e),
        }
    }
    if needs.cluster() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build();
        match runtime {
            Ok(rt) => {
                let res = rt.block_on(async {
                    match tokio::time::timeout(LOOKUP_TIMEOUT, from_cluster(needs, conn)).await {
                        Ok(r) => r,
                        Err(_) => Err(Error::Config(format!(
                            "no answer from the cluster within {}s",
                            LOOKUP_TIMEOUT.as_secs()
                        ))),
                    }
                });
                match res {
                    Ok((namespaces, names)) => {
                        snap.namespaces = namespaces;
                        snap.names = names;
                    }
                    Err(e) => say(&e),
                }
                // Do not wait for connections still being torn down.
                rt.shutdown_background();
            }
            Err(e) => say(&Error::Config(format!(
                "cannot start the async runtime: {e}"
            ))),
        }
    }
    snap
}

type Found = (Vec<String>, std::collections::BTreeMap<Kind, Vec<String>>);

async fn from_cluster(needs: &Needs, conn: &Connection) -> Result<Found> {
    let global = GlobalArgs {
        kubeconfig: conn.kubeconfig.as_ref().map(PathBuf::from),
        context: conn.context.clone(),
        cluster: conn.cluster.clone(),
        user: conn.user.clone(),
        namespace: conn.namespace.clone(),
        request_timeout: Some(format!("{}s", LOOKUP_TIMEOUT.as_secs())),
        ..GlobalArgs::default()
    };
    let kube = crate::settings::Global::new(global).connect().await?;
    let mut namespaces = Vec::new();
    if needs.namespaces {
        let api: Api<Namespace> = Api::all(kube.client.clone());
        let list = kube
            .call("list", "namespaces", None, api.list(&ListParams::default()))
            .await?;
        namespaces = list
            .items
            .into_iter()
            .filter_map(|n| n.metadata.name)
            .collect();
    }
    let mut names = std::collections::BTreeMap::new();
    for kind in &needs.kinds {
        let found = match kind {
            Kind::Pod => names_of::<Pod>(&kube, "pods").await?,
            Kind::Deployment => names_of::<Deployment>(&kube, "deployments").await?,
            Kind::StatefulSet => names_of::<StatefulSet>(&kube, "statefulsets").await?,
            Kind::DaemonSet => names_of::<DaemonSet>(&kube, "daemonsets").await?,
            Kind::ReplicaSet => names_of::<ReplicaSet>(&kube, "replicasets").await?,
            Kind::Job => names_of::<Job>(&kube, "jobs").await?,
            Kind::CronJob => names_of::<CronJob>(&kube, "cronjobs").await?,
        };
        names.insert(*kind, found);
    }
    Ok((namespaces, names))
}

async fn names_of<K>(kube: &Kube, plural: &str) -> Result<Vec<String>>
where
    K: Resource<Scope = NamespaceResourceScope> + Clone + DeserializeOwned + std::fmt::Debug,
    K::DynamicType: Default,
{
    let ns = kube.namespace.as_str();
    let api: Api<K> = Api::namespaced(kube.client.clone(), ns);
    let list = kube
        .call("list", plural, Some(ns), api.list(&ListParams::default()))
        .await?;
    let mut names: Vec<String> = list
        .items
        .into_iter()
        .filter_map(|o| o.meta().name.clone())
        .collect();
    names.sort();
    Ok(names)
}
