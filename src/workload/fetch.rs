//! Reading a workload by kind: the one place that turns a [`Kind`] into a typed API request. The
//! requests are plain futures of [`kube::Error`]; each command runs them through its own error and
//! deadline handling (`Kube::call`, restart's `api::call`).

use futures::future::BoxFuture;
use futures::FutureExt;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Patch, PatchParams};
use kube::Api;

use super::Object;
use crate::target::Kind;

/// Runs `$call` on an `Api` of the kind's type in `$ns`, wrapping the answer in its [`Object`] variant.
macro_rules! by_kind {
    ($kind:expr, $client:expr, $ns:expr, |$api:ident| $call:expr) => {
        match $kind {
            Kind::Deployment => {
                let $api: Api<Deployment> = Api::namespaced($client, $ns);
                $call.await.map(Object::Deployment)
            }
            Kind::StatefulSet => {
                let $api: Api<StatefulSet> = Api::namespaced($client, $ns);
                $call.await.map(Object::StatefulSet)
            }
            Kind::DaemonSet => {
                let $api: Api<DaemonSet> = Api::namespaced($client, $ns);
                $call.await.map(Object::DaemonSet)
            }
            Kind::ReplicaSet => {
                let $api: Api<ReplicaSet> = Api::namespaced($client, $ns);
                $call.await.map(Object::ReplicaSet)
            }
            Kind::Job => {
                let $api: Api<Job> = Api::namespaced($client, $ns);
                $call.await.map(|o| Object::Job(Box::new(o)))
            }
            Kind::CronJob => {
                let $api: Api<CronJob> = Api::namespaced($client, $ns);
                $call.await.map(|o| Object::CronJob(Box::new(o)))
            }
            Kind::Pod => {
                let $api: Api<Pod> = Api::namespaced($client, $ns);
                $call.await.map(Object::Pod)
            }
        }
    };
}

/// `GET` the workload `kind/name` in namespace `ns`.
pub fn get(
    client: &kube::Client,
    kind: Kind,
    ns: &str,
    name: &str,
) -> BoxFuture<'static, Result<Object, kube::Error>> {
    let (client, ns, name) = (client.clone(), ns.to_string(), name.to_string());
    async move { by_kind!(kind, client, &ns, |api| api.get(&name)) }.boxed()
}

/// `PATCH` the workload `kind/name` in namespace `ns`; the answer is the patched object.
pub fn patch(
    client: &kube::Client,
    kind: Kind,
    ns: &str,
    name: &str,
    params: PatchParams,
    patch: Patch<serde_json::Value>,
) -> BoxFuture<'static, Result<Object, kube::Error>> {
    let (client, ns, name) = (client.clone(), ns.to_string(), name.to_string());
    async move { by_kind!(kind, client, &ns, |api| api.patch(&name, &params, &patch)) }.boxed()
}
