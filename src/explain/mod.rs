//! `kubectl graceful explain`: why a pod or container died, or never started — one verdict per
//! container, with the evidence behind it and what to do.
//!
//! *gather* ([`gather`]: the pod, then its events, log tails, node and owner concurrently) →
//! *analyse* ([`analyse::analyse`], pure) → *render* ([`render`] for people, [`model`] for `-o json|yaml`).
//! Offline `-f` ([`offline`]) feeds the same analysis from saved YAML.
//!
//! Reusable entry points (for `restart`): [`explain_pod`] (GET + explain one pod),
//! [`explain_pod_object`] (a pod already listed), [`explain_many`] (many pods, worst first) and
//! [`render_pod_report`] (the human block for one [`PodReport`]); `PodReport::has_findings()` tells
//! whether it explains a failure.
//!
//! ## Cause ids (`verdict.cause` in `-o json|yaml`)
//! `oom-killed`, `node-oom`, `grace-period-exceeded`, `liveness-probe`, `readiness-probe`,
//! `startup-probe`, `post-start-hook`, `pre-stop-hook`, `app-error`, `not-executable`,
//! `command-not-found`, `signal`, `sigterm`, `stopped`, `terminating`, `completed-unexpectedly`, `image-pull`,
//! `config-error`, `create-error`, `start-error`, `mount-failed`, `init-failed`, `unschedulable`,
//! `evicted`, `api-eviction`, `preempted`, `taint-eviction`, `node-shutdown`, `node-lost`, `pod-gc`,
//! `deadline-exceeded`, `admission-rejected`, `container-lost`, `unclear`. See [`model::Cause`].

pub mod analyse;
pub mod events;
pub mod facts;
pub mod gather;
pub mod model;
pub mod offline;
pub mod render;

use std::collections::BTreeMap;
use std::io::Read;

use futures::stream::{self, StreamExt};
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::api::{Api, ListParams};

use crate::cli::{ExplainArgs, GlobalArgs};
use crate::client::Kube;
use crate::error::{Error, Result};
use crate::exit::Exit;
use crate::output::{Printer, Style};
use crate::selector::Selector;
use crate::settings::OutputSettings;
use crate::target::{Kind, Target};

pub use analyse::{analyse, Extra, Logs};
pub use gather::{explain_pod, explain_pod_object, ExplainOptions};
pub use model::{ExplainReport, PodReport};
pub use render::render_pod_report;

/// The target kinds `explain` accepts (a bare name is a pod: [`Kind::Pod`] must stay first).
pub const KINDS: &[Kind] = &[
    Kind::Pod,
    Kind::Deployment,
    Kind::StatefulSet,
    Kind::DaemonSet,
    Kind::ReplicaSet,
    Kind::Job,
];

/// How many pods are explained at once when a target has many.
const PARALLEL: usize = 8;

/// The reports, the line to print when there are none, and the named targets that do not exist.
type Reports = (Vec<PodReport>, Option<String>, Vec<Error>);

/// From this many unhealthy pods in one namespace, its events are read in one list.
const PREFETCH_EVENTS_FROM: usize = 4;

pub async fn run(args: ExplainArgs, global: &GlobalArgs) -> Result<Exit> {
    let printer = Printer::new(OutputSettings::new(args.output, global.no_color));
    let opts = ExplainOptions {
        container: args.container.clone(),
        tail: args.tail,
        logs: !args.no_logs,
    };
    let selector = args.selector.as_deref().map(Selector::parse).transpose()?;
    let targets: Vec<Target> = args
        .targets
        .iter()
        .map(|t| Target::parse(t, Some(Kind::Pod), KINDS))
        .collect::<Result<_>>()?;
    if !targets.is_empty() && selector.is_some() {
        return Err(Error::usage("name targets or use -l/--selector, not both"));
    }
    if args.all_namespaces && !targets.is_empty() {
        return Err(Error::usage(
            "-A/--all-namespaces cannot be used with named targets: name the namespace with -n",
        ));
    }

    let (reports, empty_msg, missing) = match &args.filename {
        Some(path) => offline_reports(path, &targets, selector.as_ref(), &opts)?,
        None => {
            let kube = crate::connect(global).await?;
            live_reports(&kube, &args, &targets, selector.as_ref(), &opts).await?
        }
    };
    print(&printer, &reports, empty_msg.as_deref())?;
    if !missing.is_empty() {
        for e in &missing {
            crate::report(e);
        }
        return Ok(Exit::Error);
    }
    Ok(if reports.iter().any(|r| r.has_findings()) {
        Exit::Findings
    } else {
        Exit::Ok
    })
}

fn print(p: &Printer, reports: &[PodReport], empty_msg: Option<&str>) -> Result<()> {
    if p.is_machine() {
        return p.data(&ExplainReport::new(reports.to_vec()));
    }
    if reports.is_empty() {
        if let Some(m) = empty_msg {
            p.line(&p.paint(m, Style::Ok))?;
        }
        return Ok(());
    }
    let mut first = true;
    for r in reports {
        if !first && !r.healthy {
            p.line("")?;
        }
        first = false;
        p.print(&render_pod_report(p, r))?;
    }
    if let Some(s) = render::render_summary(reports) {
        p.line("")?;
        p.line(&p.paint(&s, Style::Bold))?;
    }
    Ok(())
}

/// Worst first: failures, then warnings, then healthy pods; more restarts first.
fn sort_worst_first(reports: &mut [PodReport]) {
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

fn quick(pod: &Pod, opts: &ExplainOptions) -> PodReport {
    gather::quick_report(pod, opts)
}

fn looks_healthy(pod: &Pod, opts: &ExplainOptions) -> bool {
    let r = quick(pod, opts);
    r.healthy && r.restarts == 0
}

async fn live_reports(
    kube: &Kube,
    args: &ExplainArgs,
    targets: &[Target],
    selector: Option<&Selector>,
    opts: &ExplainOptions,
) -> Result<Reports> {
    let ns = kube.namespace.clone();
    let where_ = if args.all_namespaces {
        "all namespaces".to_string()
    } else {
        format!("namespace {ns}")
    };
    if targets.is_empty() {
        let lp = match (selector, &args.selector) {
            (Some(_), Some(s)) => ListParams::default().labels(s),
            _ => ListParams::default(),
        };
        let api: Api<Pod> = if args.all_namespaces {
            Api::all(kube.client.clone())
        } else {
            Api::namespaced(kube.client.clone(), &ns)
        };
        let ns_opt = (!args.all_namespaces).then_some(ns.as_str());
        let pods = kube
            .call("list", "pods", ns_opt, api.list(&lp))
            .await?
            .items;
        let total = pods.len();
        // With -l every matching pod is reported (healthy ones in one line); without, only the unhealthy.
        let only_unhealthy = selector.is_none();
        let reports = explain_many(kube, pods, opts, only_unhealthy).await;
        let msg = if total == 0 {
            match &args.selector {
                Some(s) => format!("no pods match {s} in {where_}"),
                None => format!("no pods in {where_}"),
            }
        } else {
            format!("all {total} pods in {where_} are healthy")
        };
        return Ok((reports, Some(msg), Vec::new()));
    }
    // Named targets are explained concurrently; a missing one does not hide the others.
    let results = futures::future::join_all(targets.iter().map(|t| {
        let ns = ns.clone();
        async move {
            if t.kind == Kind::Pod {
                return explain_pod(kube, &ns, &t.name, opts).await.map(|r| vec![r]);
            }
            let pods = workload_pods(kube, &ns, t).await?;
            if pods.is_empty() {
                crate::output::warn(&format!("{} {} has no pods", t.kind.lower(), t.name));
            }
            Ok(explain_many(kube, pods, opts, false).await)
        }
    }))
    .await;
    let mut all = Vec::new();
    let mut missing = Vec::new();
    for r in results {
        match r {
            Ok(reports) => all.extend(reports),
            Err(e) if e.is_not_found() => missing.push(e),
            Err(e) => return Err(e),
        }
    }
    if all.is_empty() && !missing.is_empty() {
        return Err(missing.remove(0));
    }
    Ok((all, None, missing))
}

/// Explains many pods concurrently (healthy-looking ones without any API call), worst first;
/// with `only_unhealthy`, healthy pods are left out. For callers such as `restart`.
pub async fn explain_many(
    kube: &Kube,
    pods: Vec<Pod>,
    opts: &ExplainOptions,
    only_unhealthy: bool,
) -> Vec<PodReport> {
    let mut healthy = Vec::new();
    let mut sick = Vec::new();
    for p in pods {
        if opts.container.is_some() && gather::check_container(&p, opts).is_err() {
            continue;
        }
        if looks_healthy(&p, opts) {
            if !only_unhealthy {
                healthy.push(quick(&p, opts));
            }
        } else {
            sick.push(p);
        }
    }
    // Many pods in a namespace: one events list for the namespace instead of one per pod, read
    // alongside the pods' logs.
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
        .map(|p| {
            let ev = shared
                .get(p.metadata.namespace.as_deref().unwrap_or(""))
                .cloned();
            gather::explain_pod_with(kube, p, opts, ev)
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

/// The pods a workload selects.
async fn workload_pods(kube: &Kube, ns: &str, t: &Target) -> Result<Vec<Pod>> {
    let what = format!("{} {}", t.kind.lower(), t.name);
    let c = kube.client.clone();
    let selector: Option<LabelSelector> = match t.kind {
        Kind::Deployment => {
            let api: Api<Deployment> = Api::namespaced(c, ns);
            kube.call("get", &what, Some(ns), api.get(&t.name))
                .await?
                .spec
                .map(|s| s.selector)
        }
        Kind::StatefulSet => {
            let api: Api<StatefulSet> = Api::namespaced(c, ns);
            kube.call("get", &what, Some(ns), api.get(&t.name))
                .await?
                .spec
                .map(|s| s.selector)
        }
        Kind::DaemonSet => {
            let api: Api<DaemonSet> = Api::namespaced(c, ns);
            kube.call("get", &what, Some(ns), api.get(&t.name))
                .await?
                .spec
                .map(|s| s.selector)
        }
        Kind::ReplicaSet => {
            let api: Api<ReplicaSet> = Api::namespaced(c, ns);
            kube.call("get", &what, Some(ns), api.get(&t.name))
                .await?
                .spec
                .map(|s| s.selector)
        }
        Kind::Job => {
            let api: Api<Job> = Api::namespaced(c, ns);
            kube.call("get", &what, Some(ns), api.get(&t.name))
                .await?
                .spec
                .and_then(|s| s.selector)
        }
        _ => None,
    };
    let Some(sel) = selector.filter(|s| s.match_labels.is_some() || s.match_expressions.is_some())
    else {
        return Err(Error::other(
            format!("find the pods of {what}"),
            "it has no label selector",
        ));
    };
    let api: Api<Pod> = Api::namespaced(kube.client.clone(), ns);
    let lp = ListParams::default().labels(&crate::selector::to_query(&sel)?);
    let pods = kube
        .call("list", &format!("pods of {what}"), Some(ns), api.list(&lp))
        .await?
        .items;
    // Belt and braces: a server that ignores the selector must not make us blame other pods.
    let s = Selector::from_label_selector(&sel);
    Ok(pods
        .into_iter()
        .filter(|p| s.matches(p.metadata.labels.as_ref()))
        .collect())
}

fn offline_reports(
    path: &std::path::Path,
    targets: &[Target],
    selector: Option<&Selector>,
    opts: &ExplainOptions,
) -> Result<Reports> {
    let (text, shown) = if path.as_os_str() == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| Error::input("stdin", format!("cannot read: {e}")))?;
        (s, "stdin".to_string())
    } else {
        let shown = path.display().to_string();
        let s = std::fs::read_to_string(path)
            .map_err(|e| Error::input(&shown, format!("cannot read: {e}")))?;
        (s, shown)
    };
    let loaded = offline::parse(&text, &shown)?;
    if let Some(t) = targets.iter().find(|t| t.kind != Kind::Pod) {
        return Err(Error::usage(format!(
            "with -f only pod names can be given, not {}/{}",
            t.kind.short(),
            t.name
        )));
    }
    if loaded.pods.is_empty() {
        return Err(Error::input(
            &shown,
            "no Pod in the file: save one with `kubectl get pod NAME -o yaml` (add events with `kubectl get pod,events -o yaml`)",
        ));
    }
    let mut pods: Vec<&Pod> = loaded
        .pods
        .iter()
        .filter(|p| {
            targets.is_empty()
                || targets
                    .iter()
                    .any(|t| p.metadata.name.as_deref() == Some(t.name.as_str()))
        })
        .filter(|p| selector.is_none_or(|s| s.matches(p.metadata.labels.as_ref())))
        .collect();
    for t in targets {
        if !loaded
            .pods
            .iter()
            .any(|p| p.metadata.name.as_deref() == Some(t.name.as_str()))
        {
            return Err(Error::input(
                &shown,
                format!("no pod named {} in the file", t.name),
            ));
        }
    }
    if opts.container.is_some() {
        if pods.len() == 1 {
            gather::check_container(pods[0], opts)?;
        }
        pods.retain(|p| gather::check_container(p, opts).is_ok());
    }
    let mut notes = Vec::new();
    if !loaded.had_events {
        notes.push(format!(
            "{shown} holds no events: the verdict rests on the pod's status alone (save them too with `kubectl get pod,events -o yaml`)"
        ));
    }
    let mut reports: Vec<PodReport> = pods
        .into_iter()
        .map(|p| {
            let extra = Extra {
                events_available: loaded.had_events,
                notes: notes.clone(),
                container: opts.container.clone(),
                ..Default::default()
            };
            analyse(p, &loaded.events, &Logs::default(), &extra)
        })
        .collect();
    sort_worst_first(&mut reports);
    Ok((
        reports,
        Some(format!("no matching pods in {shown}")),
        Vec::new(),
    ))
}
