//! `kubectl graceful explain`: why a pod or container died, or never started — one verdict per
//! container, with the evidence behind it and what to do.
//!
//! *gather* ([`gather`]: the pod and its events together, then log tails, node, owner and claims
//! concurrently; data only) → *analyse* ([`analyse::analyse`], pure: ordered rule tables) → *render*
//! ([`render`] for people, [`model`] for `-o json|yaml`). Offline `-f` ([`offline`]) feeds the same
//! analysis from saved YAML. Events are indexed once per read ([`events::EventIndex`]), so a sweep of
//! many pods stays linear.
//!
//! Reusable entry points (for `restart`): [`explain_pod`] (GET + explain one pod),
//! [`explain_many`] (many pods, worst first) and [`render_pod_report`] (the human block for one
//! [`PodReport`]); `PodReport::has_findings()` tells whether it explains a failure.
//!
//! ## Cause ids (`verdict.cause` in `-o json|yaml`)
//! `oom-killed`, `node-oom`, `grace-period-exceeded`, `liveness-probe`, `readiness-probe`,
//! `startup-probe`, `post-start-hook`, `pre-stop-hook`, `app-error`, `not-executable`,
//! `command-not-found`, `signal`, `sigterm`, `stopped`, `terminating`, `completed-unexpectedly`, `image-pull`,
//! `config-error`, `create-error`, `start-error`, `mount-failed`, `init-failed`, `unschedulable`,
//! `evicted`, `api-eviction`, `preempted`, `taint-eviction`, `node-shutdown`, `node-lost`, `pod-gc`,
//! `deadline-exceeded`, `job-failed`, `admission-rejected`, `container-lost`, `unclear`. See
//! [`model::Cause`].

pub mod analyse;
pub mod events;
pub(crate) mod facts;
pub mod gather;
pub mod model;
pub mod offline;
pub(crate) mod options;
pub(crate) mod render;
pub(crate) mod targets;

use std::collections::BTreeMap;

use futures::stream::{self, StreamExt};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};

use crate::client::Kube;
use crate::error::{Error, Result};
use crate::exit::Exit;
use crate::output::Printer;
use crate::target::Kind;

pub(crate) use analyse::analyse_indexed;
pub use analyse::{analyse, Extra, Logs};
pub use gather::ExplainOptions;
pub use model::{ExplainReport, PodReport};
pub(crate) use options::{Options, KINDS};
pub(crate) use render::render_pod_report;

/// How many pods are explained at once when a target has many.
const PARALLEL: usize = 8;

/// What a run found: the reports, the line to print when there are none, the named targets that do not
/// exist, and warnings about the targets (a workload without pods).
#[derive(Debug, Default)]
pub(crate) struct Reports {
    pub reports: Vec<PodReport>,
    pub empty_msg: Option<String>,
    pub missing: Vec<Error>,
    pub warnings: Vec<String>,
}

/// From this many unhealthy pods in one namespace, its events are read in one list.
const PREFETCH_EVENTS_FROM: usize = 4;

pub(crate) async fn run(o: Options) -> Result<Exit> {
    let printer = Printer::new(o.output);
    let selector = o.selector.as_ref().map(|(s, _)| s);
    let Reports {
        reports,
        empty_msg,
        missing,
        warnings,
    } = match &o.filename {
        Some(path) => {
            let (text, shown) = read_input(path)?;
            offline::reports(&text, &shown, &o.targets, selector, &o.explain)?
        }
        None => {
            let kube = o.global.connect().await?;
            live_reports(&kube, &o).await?
        }
    };
    render::warnings(&warnings);
    render::reports(&printer, &reports, empty_msg.as_deref())?;
    if !missing.is_empty() {
        render::errors(&missing);
        return Ok(Exit::Error);
    }
    // Never green on what could not be checked: an unexplained pod whose reads failed is exit 2.
    let unchecked: Vec<&PodReport> = reports.iter().filter(|r| !r.unchecked.is_empty()).collect();
    if !unchecked.is_empty() {
        render::unchecked(&unchecked);
        return Ok(Exit::Error);
    }
    Ok(if reports.iter().any(|r| r.has_findings()) {
        Exit::Findings
    } else {
        Exit::Ok
    })
}

fn read_input(path: &std::path::Path) -> Result<(String, String)> {
    let shown = crate::source::shown(path);
    let text = crate::source::read_text(path).map_err(|why| Error::input(&shown, why))?;
    Ok((text, shown))
}

/// Worst first: failures, then warnings, then healthy pods; more restarts first.
pub(crate) fn sort_worst_first(reports: &mut [PodReport]) {
    reports.sort_by_key(|r| {
        (
            r.healthy,
            std::cmp::Reverse(r.worst()),
            std::cmp::Reverse(r.restarts),
            r.namespace.clone(),
            r.name.clone(),
        )
    });
}

/// The report from the pod object alone (no API calls): enough to tell a healthy pod.
pub(crate) fn quick_report(pod: &Pod, opts: &ExplainOptions) -> PodReport {
    let extra = Extra {
        container: opts.container.clone(),
        ..Default::default()
    };
    analyse(pod, &[], &Logs::default(), &extra)
}

fn looks_healthy(pod: &Pod, opts: &ExplainOptions) -> bool {
    let r = quick_report(pod, opts);
    r.healthy && r.restarts == 0
}

/// GETs a pod (and its events, in parallel) and explains it. A missing pod is the foundation's
/// NotFound error (exit 2); a healthy one needs nothing more.
pub(crate) async fn explain_pod(
    kube: &Kube,
    ns: &str,
    name: &str,
    opts: &ExplainOptions,
) -> Result<PodReport> {
    let (pod, events, early) = gather::pod_and_events(kube, ns, name, opts).await?;
    targets::check_container(&pod, opts)?;
    let quick = quick_report(&pod, opts);
    if quick.healthy && quick.restarts == 0 {
        return Ok(quick);
    }
    let g = gather::gather(kube, pod, opts, events, early).await;
    Ok(analyse_indexed(&g.pod, &g.events, &g.logs, &g.extra))
}

async fn live_reports(kube: &Kube, o: &Options) -> Result<Reports> {
    let ns = kube.namespace.clone();
    let opts = &o.explain;
    let where_ = if o.all_namespaces {
        "all namespaces".to_string()
    } else {
        format!("namespace {ns}")
    };
    if o.targets.is_empty() {
        let lp = match &o.selector {
            Some((_, s)) => ListParams::default().labels(s),
            None => ListParams::default(),
        };
        let api: Api<Pod> = if o.all_namespaces {
            Api::all(kube.client.clone())
        } else {
            Api::namespaced(kube.client.clone(), &ns)
        };
        let ns_opt = (!o.all_namespaces).then_some(ns.as_str());
        let pods = kube
            .call("list", "pods", ns_opt, api.list(&lp))
            .await?
            .items;
        targets::check_container_in(&pods, opts, &format!("any pod in {where_}"))?;
        let total = pods.len();
        // With -l every matching pod is reported (healthy ones in one line); without, only the unhealthy.
        let only_unhealthy = o.selector.is_none();
        let reports = explain_many(kube, pods, opts, only_unhealthy).await;
        let msg = if total == 0 {
            match &o.selector {
                Some((_, s)) => format!("no pods match {s} in {where_}"),
                None => format!("no pods in {where_}"),
            }
        } else {
            format!("all {total} pods in {where_} are healthy")
        };
        return Ok(Reports {
            reports,
            empty_msg: Some(msg),
            ..Default::default()
        });
    }
    // Named targets are explained concurrently; a missing one does not hide the others.
    let results = futures::future::join_all(o.targets.iter().map(|t| {
        let ns = ns.clone();
        async move {
            if t.kind == Kind::Pod {
                let r = explain_pod(kube, &ns, &t.name, opts).await?;
                return Ok::<_, Error>((vec![r], None));
            }
            let pods = targets::workload_pods(kube, &ns, t).await?;
            let what = format!("{} {}", t.kind.lower(), t.name);
            let warning = pods.is_empty().then(|| format!("{what} has no pods"));
            targets::check_container_in(&pods, opts, &what)?;
            Ok((explain_many(kube, pods, opts, false).await, warning))
        }
    }))
    .await;
    let mut out = Reports::default();
    for r in results {
        match r {
            Ok((reports, warning)) => {
                out.reports.extend(reports);
                out.warnings.extend(warning);
            }
            Err(e) if e.is_not_found() => out.missing.push(e),
            Err(e) => return Err(e),
        }
    }
    if out.reports.is_empty() && !out.missing.is_empty() {
        return Err(out.missing.remove(0));
    }
    Ok(out)
}

/// Explains many pods concurrently (healthy-looking ones without any API call), worst first;
/// with `only_unhealthy`, healthy pods are left out. For callers such as `restart`.
pub(crate) async fn explain_many(
    kube: &Kube,
    pods: Vec<Pod>,
    opts: &ExplainOptions,
    only_unhealthy: bool,
) -> Vec<PodReport> {
    let mut healthy = Vec::new();
    let mut sick = Vec::new();
    for p in pods {
        if opts.container.is_some() && targets::check_container(&p, opts).is_err() {
            continue;
        }
        if looks_healthy(&p, opts) {
            if !only_unhealthy {
                healthy.push(quick_report(&p, opts));
            }
        } else {
            sick.push(p);
        }
    }
    // Many pods in a namespace: one events list for the namespace instead of one per pod, read
    // alongside the pods' logs and indexed once for all of them.
    let mut per_ns: BTreeMap<String, usize> = BTreeMap::new();
    for p in &sick {
        *per_ns
            .entry(p.metadata.namespace.clone().unwrap_or_default())
            .or_default() += 1;
    }
    let shared: BTreeMap<String, gather::SharedEvents<'_>> = per_ns
        .into_iter()
        .filter(|(_, n)| *n >= PREFETCH_EVENTS_FROM)
        .map(|(ns, _)| (ns.clone(), gather::shared_events(kube, ns)))
        .collect();
    let shared = &shared;
    let mut reports: Vec<PodReport> = stream::iter(sick)
        .map(|p| async move {
            let ns = p.metadata.namespace.clone().unwrap_or_default();
            let g = match shared.get(&ns) {
                Some(ev) => gather::gather(kube, p, opts, ev.clone(), None).await,
                None => {
                    let name = p.metadata.name.clone().unwrap_or_default();
                    let ns = if ns.is_empty() {
                        kube.namespace.clone()
                    } else {
                        ns
                    };
                    let events = async move { gather::read_events(kube, &ns, Some(&name)).await };
                    gather::gather(kube, p, opts, events, None).await
                }
            };
            analyse_indexed(&g.pod, &g.events, &g.logs, &g.extra)
        })
        .buffer_unordered(PARALLEL)
        .collect()
        .await;
    if only_unhealthy {
        reports.retain(|r| !r.healthy);
    }
    reports.extend(healthy);
    sort_worst_first(&mut reports);
    reports
}
