//! Live mode: the API calls. Lists run concurrently and page by page (`limit`/`continue`, 500 per page
//! as kubectl does), each page turned into compact [`Workload`]s before the next is read, so memory
//! stays bounded by the workloads, not by the objects. Pods, ReplicaSets and Jobs are read as metadata
//! only (PartialObjectMeta) to find those without a controller; only those are read in full.
//!
//! A read that is forbidden is not a silent gap: it is returned as [`Refused`], which the run reports as
//! an error naming what was not checked, so the exit code is 2 (a CI gate with the wrong service
//! account must not pass). Data only: the wording is in [`super::render`].

use std::collections::{BTreeSet, HashMap};
use std::fmt::Debug;
use std::marker::PhantomData;

use futures::StreamExt;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{Pod, ReplicationController, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::NamespaceResourceScope;
use kube::api::{Api, ListParams};
use kube::core::{ObjectList, PartialObjectMeta};
use kube::Resource;
use serde::de::DeserializeOwned;

use super::context::{ManualEndpoints, Related};
use super::input::InputError;
use super::model::KubeVersion;
use crate::client::Kube;
use crate::error::{Error, Result};
use crate::target::Target;
use crate::workload::Workload;

/// Objects per list request (kubectl's `--chunk-size` default).
pub(crate) const PAGE: u32 = 500;
/// Up to this many pods (ReplicaSets, Jobs) without a controller are read one by one; more, and their
/// kind is listed again in full, page by page, keeping only those.
const GET_EACH_MAX: usize = 50;

/// What live mode found.
#[derive(Debug)]
pub(crate) struct Gathered {
    pub workloads: Vec<Workload>,
    pub related: Related,
    /// The server's version, or why it could not be read.
    pub version: std::result::Result<KubeVersion, String>,
    /// The lists that did not give what they were for.
    pub unread: Unread,
    /// Named targets that do not exist.
    pub missing: Vec<InputError>,
}

/// The reads that did not give what they were for: refused ones (what they feed is not checked) and
/// APIs the server does not serve (nothing there to check). The wording is the renderer's.
#[derive(Debug, Default)]
pub(crate) struct Unread {
    pub refused: Vec<Refused>,
    /// The resources (`horizontalpodautoscalers`) whose API the server does not serve (404).
    pub not_served: Vec<String>,
}

/// A list the server refused (403).
#[derive(Debug)]
pub(crate) struct Refused {
    /// The resource (`poddisruptionbudgets`).
    pub what: String,
    /// The namespace listed; None for all namespaces.
    pub namespace: Option<String>,
    /// The server's message.
    pub why: String,
}

impl Unread {
    fn extend(&mut self, other: Unread) {
        self.refused.extend(other.refused);
        self.not_served.extend(other.not_served);
    }
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

/// A list that could not be read: refused (403) or not served at all (404), recorded in `unread`.
/// Other errors end the run.
fn refused(e: Error, what: &str, ns: Option<&str>, unread: &mut Unread) -> Result<()> {
    if e.is_forbidden() {
        let why = match &e {
            Error::Forbidden { message } => message.clone(),
            other => other.to_string(),
        };
        unread.refused.push(Refused {
            what: what.to_string(),
            namespace: ns.map(str::to_string),
            why,
        });
        return Ok(());
    }
    if e.is_not_found() {
        unread.not_served.push(what.to_string());
        return Ok(());
    }
    Err(e)
}

/// Lists page by page with `fetch` (a full or a metadata-only list), handing each item to `each`.
/// `Ok(false)`: the list was refused (recorded in `errors`).
async fn pages<T, Fut>(
    kube: &Kube,
    ns: Option<&str>,
    lp: &ListParams,
    what: &str,
    errors: &mut Unread,
    fetch: impl Fn(ListParams) -> Fut,
    mut each: impl FnMut(T),
) -> Result<bool>
where
    T: Clone,
    Fut: std::future::Future<Output = std::result::Result<ObjectList<T>, kube::Error>>,
{
    let mut token: Option<String> = None;
    loop {
        let mut page = lp.clone().limit(PAGE);
        if let Some(t) = &token {
            page = page.continue_token(t);
        }
        match kube.call("list", what, ns, fetch(page)).await {
            Ok(list) => {
                token = list.metadata.continue_.filter(|t| !t.is_empty());
                list.items.into_iter().for_each(&mut each);
                if token.is_none() {
                    return Ok(true);
                }
            }
            Err(e) => {
                refused(e, what, ns, errors)?;
                return Ok(false);
            }
        }
    }
}

/// A kind that can be listed in a namespace or in all of them.
trait Listable:
    Resource<Scope = NamespaceResourceScope, DynamicType = ()> + Clone + DeserializeOwned + Debug
{
}
impl<K> Listable for K where
    K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>
        + Clone
        + DeserializeOwned
        + Debug
{
}

/// What one list reads: a kind's whole objects (`each::<Deployment>`) or only their metadata
/// (`each::<Meta<Pod>>`: `Accept: …;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1`).
trait Read {
    type Kind: Listable;
    type Item: Clone;
    fn list(
        api: Api<Self::Kind>,
        lp: ListParams,
    ) -> impl std::future::Future<Output = kube::Result<ObjectList<Self::Item>>>;
}

/// The metadata of a kind's objects (PartialObjectMeta).
struct Meta<K>(PhantomData<K>);

impl<K: Listable> Read for K {
    type Kind = K;
    type Item = K;
    async fn list(api: Api<K>, lp: ListParams) -> kube::Result<ObjectList<K>> {
        api.list(&lp).await
    }
}

impl<K: Listable> Read for Meta<K> {
    type Kind = K;
    type Item = PartialObjectMeta<K>;
    async fn list(api: Api<K>, lp: ListParams) -> kube::Result<ObjectList<PartialObjectMeta<K>>> {
        api.list_metadata(&lp).await
    }
}

/// Lists what `R` reads page by page, handing each item to `each`. `Ok(false)`: the list was refused
/// (recorded in `errors`).
async fn each<R: Read>(
    kube: &Kube,
    ns: Option<&str>,
    lp: &ListParams,
    what: &str,
    errors: &mut Unread,
    each: impl FnMut(R::Item),
) -> Result<bool> {
    let a: Api<R::Kind> = api(kube, ns);
    pages(kube, ns, lp, what, errors, |p| R::list(a.clone(), p), each).await
}

/// Every object of a kind that no controller owns, converted: found by a metadata-only list, then read
/// one by one (few) or by a second full list that keeps only them (many).
async fn unowned<K: Listable>(
    kube: &Kube,
    ns: Option<&str>,
    lp: &ListParams,
    what: &str,
    errors: &mut Unread,
    convert: fn(&K) -> Workload,
) -> Result<Vec<Workload>> {
    let mut names: BTreeSet<(String, String)> = BTreeSet::new();
    let read = each::<Meta<K>>(kube, ns, lp, what, errors, |m| {
        if !owned(&m.metadata) {
            names.insert((
                m.metadata.namespace.clone().unwrap_or_default(),
                m.metadata.name.clone().unwrap_or_default(),
            ));
        }
    })
    .await?;
    if !read || names.is_empty() {
        return Ok(vec![]);
    }
    if names.len() <= GET_EACH_MAX {
        let gets = futures::stream::iter(names.into_iter().map(|(n, name)| async move {
            let a: Api<K> = api(kube, Some(&n));
            let r = kube
                .call("get", &format!("{what} {name}"), Some(&n), a.get(&name))
                .await;
            (name, r)
        }))
        .buffered(8)
        .collect::<Vec<_>>()
        .await;
        let mut out = Vec::new();
        for (_, r) in gets {
            match r {
                Ok(o) => out.push(convert(&o)),
                Err(e) if e.is_not_found() => {} // gone since the list
                Err(e) => return Err(e),
            }
        }
        return Ok(out);
    }
    let mut out = Vec::new();
    each::<K>(kube, ns, lp, what, errors, |o| {
        if !owned(o.meta()) {
            out.push(convert(&o));
        }
    })
    .await?;
    Ok(out)
}

fn owned(meta: &ObjectMeta) -> bool {
    meta.owner_references
        .as_ref()
        .is_some_and(|o| !o.is_empty())
}

/// The server version, or why it could not be read (the caller warns once the reads that matter
/// have succeeded: a server that cannot be reached at all is reported as that, not as a version).
pub(crate) async fn server_version(kube: &Kube) -> std::result::Result<KubeVersion, String> {
    let info = kube
        .call(
            "get",
            "server version",
            None,
            kube.client.apiserver_version(),
        )
        .await
        .map_err(|e| e.to_string())?;
    KubeVersion::parse(&info.git_version)
        .or_else(|| KubeVersion::parse(&format!("{}.{}", info.major, info.minor)))
        .ok_or_else(|| format!("unknown version {:?}", info.git_version))
}

/// Reads the PDBs, HPAs and Services of a namespace (`None` = all namespaces) concurrently, then the
/// EndpointSlices of Services without a selector (only when there are such Services).
async fn related(kube: &Kube, ns: Option<&str>) -> Result<(Related, Unread)> {
    let lp = ListParams::default();
    let (mut e1, mut e2, mut e3) = (Unread::default(), Unread::default(), Unread::default());
    let (mut pdbs, mut hpas, mut services) = (vec![], vec![], vec![]);
    let (p, h, s) = futures::try_join!(
        each::<PodDisruptionBudget>(kube, ns, &lp, "poddisruptionbudgets", &mut e1, |o| pdbs
            .push(o)),
        each::<HorizontalPodAutoscaler>(kube, ns, &lp, "horizontalpodautoscalers", &mut e2, |o| {
            hpas.push(o)
        }),
        each::<Service>(kube, ns, &lp, "services", &mut e3, |o| services.push(o)),
    )?;
    let mut errors = e1;
    errors.extend(e2);
    errors.extend(e3);
    let mut related = Related {
        pdbs: p.then_some(pdbs),
        hpas: h.then_some(hpas),
        services: s.then_some(services),
        manual_endpoints: vec![],
    };
    related.manual_endpoints = manual_endpoints(kube, ns, &related, &mut errors).await?;
    Ok((related, errors))
}

/// Selector-less Services whose EndpointSlices list pods: each resolved to the workload of its pods.
async fn manual_endpoints(
    kube: &Kube,
    ns: Option<&str>,
    related: &Related,
    errors: &mut Unread,
) -> Result<Vec<ManualEndpoints>> {
    let selectorless: BTreeSet<(String, String)> = related
        .services
        .iter()
        .flatten()
        .filter(|s| {
            s.spec.as_ref().is_some_and(|sp| {
                sp.selector.as_ref().is_none_or(|m| m.is_empty())
                    && sp.type_.as_deref() != Some("ExternalName")
            })
        })
        .map(|s| {
            (
                s.metadata.namespace.clone().unwrap_or_default(),
                s.metadata.name.clone().unwrap_or_default(),
            )
        })
        .collect();
    if selectorless.is_empty() {
        return Ok(vec![]);
    }
    // Slices the endpoint controller keeps belong to Services with a selector: leave them out.
    let lp = ListParams::default()
        .labels("endpointslice.kubernetes.io/managed-by!=endpointslice-controller.k8s.io");
    let mut slices: Vec<(String, String, EndpointSlice)> = Vec::new();
    each::<EndpointSlice>(kube, ns, &lp, "endpointslices", errors, |s| {
        let n = s.metadata.namespace.clone().unwrap_or_default();
        let svc = s
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get("kubernetes.io/service-name"))
            .cloned()
            .unwrap_or_default();
        if selectorless.contains(&(n.clone(), svc.clone())) {
            slices.push((n, svc, s));
        }
    })
    .await?;
    if slices.is_empty() {
        return Ok(vec![]);
    }
    let owners = pod_owners(kube, ns, errors).await?;
    let mut out: Vec<ManualEndpoints> = Vec::new();
    for (n, svc, slice) in slices {
        let ports: Vec<(Option<String>, i32)> = slice
            .ports
            .iter()
            .flatten()
            .filter_map(|p| Some((p.name.clone(), p.port?)))
            .collect();
        for ep in &slice.endpoints {
            let Some(r) = ep
                .target_ref
                .as_ref()
                .filter(|r| r.kind.as_deref() == Some("Pod"))
            else {
                continue;
            };
            let pod_ns = r.namespace.clone().unwrap_or_else(|| n.clone());
            let Some((kind, name)) = r
                .name
                .as_ref()
                .and_then(|p| owners.get(&(pod_ns.clone(), p.clone())))
            else {
                continue;
            };
            let m = ManualEndpoints {
                namespace: pod_ns,
                kind: kind.clone(),
                name: name.clone(),
                service: svc.clone(),
                ports: ports.clone(),
            };
            if !out.contains(&m) {
                out.push(m);
            }
        }
    }
    Ok(out)
}

/// Every pod's workload (kind, name), from a metadata-only list: a pod of a ReplicaSet named
/// `<deployment>-<pod-template-hash>` belongs to that Deployment; a pod without a controller to itself.
async fn pod_owners(
    kube: &Kube,
    ns: Option<&str>,
    errors: &mut Unread,
) -> Result<HashMap<(String, String), (String, String)>> {
    let mut owners = HashMap::new();
    each::<Meta<Pod>>(kube, ns, &ListParams::default(), "pods", errors, |m| {
        let meta = m.metadata;
        let pod = (
            meta.namespace.clone().unwrap_or_default(),
            meta.name.clone().unwrap_or_default(),
        );
        let owner = match crate::workload::owner::controller_of(&meta) {
            Some(o) if o.kind == "ReplicaSet" => {
                let hash = meta
                    .labels
                    .as_ref()
                    .and_then(|l| l.get("pod-template-hash"));
                match hash.and_then(|h| o.name.strip_suffix(&format!("-{h}"))) {
                    Some(d) => ("Deployment".to_string(), d.to_string()),
                    None => ("ReplicaSet".to_string(), o.name.clone()),
                }
            }
            Some(o) => (o.kind.clone(), o.name.clone()),
            None => ("Pod".to_string(), pod.1.clone()),
        };
        owners.insert(pod, owner);
    })
    .await?;
    Ok(owners)
}

/// Every workload of a namespace (`None` = all namespaces), with `-l` applied to the workloads:
/// Deployments, StatefulSets, DaemonSets, ReplicationControllers and CronJobs; ReplicaSets, Jobs and
/// pods without a controller. Related objects and the version are read at the same time.
pub(crate) async fn all(kube: &Kube, ns: Option<&str>, selector: Option<&str>) -> Result<Gathered> {
    let lp = match selector {
        Some(s) => ListParams::default().labels(s),
        None => ListParams::default(),
    };
    let mut errs: [Unread; 8] = Default::default();
    let [e0, e1, e2, e3, e4, e5, e6, e7] = &mut errs;
    let (mut deps, mut stss, mut dss, mut rcs, mut cjs) = (vec![], vec![], vec![], vec![], vec![]);
    let (lists, related, version) = futures::join!(
        async {
            futures::try_join!(
                each::<Deployment>(kube, ns, &lp, "deployments", e0, |o| deps
                    .push(Workload::from_deployment(&o))),
                each::<StatefulSet>(kube, ns, &lp, "statefulsets", e1, |o| stss
                    .push(Workload::from_statefulset(&o))),
                each::<DaemonSet>(kube, ns, &lp, "daemonsets", e2, |o| dss
                    .push(Workload::from_daemonset(&o))),
                each::<ReplicationController>(kube, ns, &lp, "replicationcontrollers", e3, |o| {
                    rcs.push(Workload::from_replication_controller(&o))
                }),
                each::<CronJob>(kube, ns, &lp, "cronjobs", e4, |o| cjs
                    .push(Workload::from_cronjob(&o))),
                unowned::<ReplicaSet>(kube, ns, &lp, "replicasets", e5, Workload::from_replicaset),
                unowned::<Job>(kube, ns, &lp, "jobs", e6, Workload::from_job),
                unowned::<Pod>(kube, ns, &lp, "pods", e7, Workload::from_pod),
            )
        },
        related(kube, ns),
        server_version(kube),
    );
    let (_, _, _, _, _, rss, jobs, pods) = lists?;
    let (related, related_errors) = related?;
    let mut workloads = deps;
    workloads.extend(stss);
    workloads.extend(dss);
    workloads.extend(rcs);
    workloads.extend(cjs);
    workloads.extend(rss);
    workloads.extend(jobs);
    workloads.extend(pods);
    let mut unread = Unread::default();
    for e in errs {
        unread.extend(e);
    }
    unread.extend(related_errors);
    Ok(Gathered {
        workloads,
        related,
        version,
        unread,
        missing: Vec::new(),
    })
}

async fn get_one(kube: &Kube, ns: &str, t: &Target) -> Result<Workload> {
    let what = format!("{} {}", t.kind.lower(), t.name);
    let get = crate::workload::fetch::get(&kube.client, t.kind, ns, &t.name);
    Ok(kube.call("get", &what, Some(ns), get).await?.workload())
}

/// The named workloads of one namespace, plus related objects and the version, concurrently.
/// A target that does not exist is reported in `missing` and the others are still checked.
pub(crate) async fn targets(kube: &Kube, ns: &str, targets: &[Target]) -> Result<Gathered> {
    let (results, related, version) = futures::join!(
        futures::future::join_all(targets.iter().map(|t| get_one(kube, ns, t))),
        related(kube, Some(ns)),
        server_version(kube),
    );
    let (related, unread) = related?;
    let mut g = Gathered {
        workloads: Vec::new(),
        related,
        version,
        unread,
        missing: Vec::new(),
    };
    for (t, r) in targets.iter().zip(results) {
        match r {
            Ok(w) => g.workloads.push(w),
            Err(e) if e.is_not_found() => g.missing.push(InputError {
                source: t.to_string(),
                message: e.to_string(),
            }),
            Err(e) => return Err(e),
        }
    }
    Ok(g)
}
