//! Live gathering: the pod (with its events and an early log read, when its name is known, in the
//! same round trip), then everything else at once (log tails, the node, the owning Job, the claims).
//! It returns data only:
//! a 403 or another failure on any of these is recorded as [`Unread`], and only the pod GET can fail
//! the command.

use std::sync::Arc;

use futures::future::{join_all, BoxFuture, FutureExt, Shared};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Event as CoreEvent, Node, PersistentVolumeClaim, Pod};
use k8s_openapi::api::events::v1::Event as NewEvent;
use kube::api::{Api, ListParams, LogParams};

use crate::client::Kube;
use crate::error::{Error, Result};

use super::analyse::{ClaimFacts, EventSource, Extra, Logs, NodeFacts, OwnerFacts, Unread};
use super::events::{EventIndex, EventRecord};

/// What to gather and show; shared by `explain` and by callers such as `restart`.
#[derive(Debug, Clone)]
pub struct ExplainOptions {
    /// Only this container (`-c`).
    pub container: Option<String>,
    /// Log lines per container (`--tail`); None: all of them (`--tail -1`).
    pub tail: Option<u32>,
    /// Fetch log tails at all (`--no-logs` turns this off).
    pub logs: bool,
}

impl Default for ExplainOptions {
    fn default() -> Self {
        ExplainOptions {
            container: None,
            tail: Some(10),
            logs: true,
        }
    }
}

/// Everything read about one pod, ready for the analysis.
pub(crate) struct Gathered {
    pub pod: Pod,
    pub events: Arc<EventIndex>,
    pub logs: Logs,
    pub extra: Extra,
}

/// Events read for one pod or a whole namespace, indexed once; cheap to clone (shared).
#[derive(Clone)]
pub(crate) struct FetchedEvents {
    pub index: Arc<EventIndex>,
    pub source: EventSource,
    pub unread: Option<Unread>,
}

/// One read of a namespace's events, shared by every pod of that namespace in a sweep; it runs
/// alongside the pods' own reads.
pub(crate) type SharedEvents<'a> = Shared<BoxFuture<'a, FetchedEvents>>;

/// The shared read of all events in `ns`.
pub(crate) fn shared_events<'a>(kube: &'a Kube, ns: String) -> SharedEvents<'a> {
    async move { read_events(kube, &ns, None).await }
        .boxed()
        .shared()
}

/// What the early log read (see [`pod_and_events`]) got back; cheap to clone (shared).
#[derive(Clone)]
pub(crate) enum EarlyLog {
    Text(String),
    /// RBAC grants `pods/log` per pod, so every other log read of this pod would be refused too.
    Forbidden(Unread),
    /// Anything else (no previous instance, several containers, a timeout): read as usual.
    Failed,
}

/// The early log read, running alongside the pod GET.
pub(crate) type SharedEarlyLog<'a> = Shared<BoxFuture<'a, EarlyLog>>;

/// GETs a pod while its events are listed and, unless logs are off, while the previous instance's
/// log of the `-c` container (or of the pod's only container, which the API server picks when none
/// is named) is read. A crash-looping pod needs exactly that log, and asking before the pod answers
/// saves the round trip that would otherwise wait for it (3 round trips instead of 4 at a
/// distance). When the pod turns out to need other logs, the early answer is dropped unused.
/// The events and the log keep loading after the pod arrives, so the rest of the reads need not
/// wait for them. A missing pod is the foundation's NotFound error (exit 2).
pub(crate) async fn pod_and_events<'a>(
    kube: &'a Kube,
    ns: &'a str,
    name: &'a str,
    opts: &ExplainOptions,
) -> Result<(Pod, SharedEvents<'a>, Option<SharedEarlyLog<'a>>)> {
    let events = read_events(kube, ns, Some(name)).boxed().shared();
    let early = logs_wanted(opts).then(|| {
        let lp = log_params(opts.container.clone(), true, opts);
        early_log(kube, ns, name, lp).boxed().shared()
    });
    let pods: Api<Pod> = Api::namespaced(kube.client.clone(), ns);
    let what = format!("pod {name}");
    let get = std::pin::pin!(kube.call("get", &what, Some(ns), pods.get(name)));
    let early_done = {
        let early = early.clone();
        async move {
            if let Some(e) = early {
                e.await;
            }
        }
    };
    let mut loading = futures::future::join(events.clone(), early_done).boxed();
    let pod = match futures::future::select(get, &mut loading).await {
        futures::future::Either::Left((pod, _)) => pod,
        futures::future::Either::Right((_, get)) => get.await,
    };
    Ok((pod?, events, early))
}

fn logs_wanted(opts: &ExplainOptions) -> bool {
    opts.logs && opts.tail != Some(0)
}

fn log_params(container: Option<String>, previous: bool, opts: &ExplainOptions) -> LogParams {
    LogParams {
        container,
        previous,
        tail_lines: opts.tail.map(i64::from),
        ..Default::default()
    }
}

async fn early_log(kube: &Kube, ns: &str, name: &str, lp: LogParams) -> EarlyLog {
    let api: Api<Pod> = Api::namespaced(kube.client.clone(), ns);
    let what = format!("logs of pod {name}");
    match kube
        .call("get", &what, Some(ns), async { api.logs(name, &lp).await })
        .await
    {
        Ok(text) => EarlyLog::Text(text),
        Err(e) if e.is_forbidden() => EarlyLog::Forbidden(unread("logs", &e)),
        Err(_) => EarlyLog::Failed,
    }
}

/// The container the early log read asked about: `-c`, or the pod's only container.
fn early_log_container(pod: &Pod, opts: &ExplainOptions) -> Option<String> {
    if let Some(c) = &opts.container {
        return Some(c.clone());
    }
    match pod.spec.as_ref().map(|s| s.containers.as_slice()) {
        Some([only]) => Some(only.name.clone()),
        _ => None,
    }
}

/// Reads what the analysis of `pod` needs besides its events (log tails, node, owner, claims), all
/// at once; `events` are the pod's, or its namespace's, already read or being read.
pub(crate) async fn gather<'a>(
    kube: &'a Kube,
    pod: Pod,
    opts: &ExplainOptions,
    events: impl std::future::Future<Output = FetchedEvents> + 'a,
    early: Option<SharedEarlyLog<'a>>,
) -> Gathered {
    let (ns, name) = namespace_and_name(kube, &pod);
    let (ev, (logs, log_unread), node, owner, claims) = futures::join!(
        events,
        fetch_logs(kube, &pod, &ns, &name, opts, early),
        fetch_node(kube, &pod),
        fetch_owner(kube, &pod, &ns),
        fetch_claims(kube, &pod, &ns),
    );
    let mut unread: Vec<Unread> = ev.unread.into_iter().collect();
    unread.extend(log_unread);
    let (node, u) = node;
    unread.extend(u);
    let (owner, u) = owner;
    unread.extend(u);
    let (claims, u) = claims;
    unread.extend(u);
    Gathered {
        pod,
        events: ev.index,
        logs,
        extra: Extra {
            events: ev.source,
            node,
            owner,
            claims,
            unread,
            container: opts.container.clone(),
        },
    }
}

/// The pod's namespace (the connection's when it has none) and name.
pub(crate) fn namespace_and_name(kube: &Kube, pod: &Pod) -> (String, String) {
    (
        pod.metadata
            .namespace
            .clone()
            .unwrap_or_else(|| kube.namespace.clone()),
        pod.metadata.name.clone().unwrap_or_default(),
    )
}

fn unread(section: &str, e: &Error) -> Unread {
    Unread {
        section: section.to_string(),
        forbidden: e.is_forbidden(),
        error: e.to_string().lines().next().unwrap_or_default().to_string(),
    }
}

/// Events about the pod (or, with `name` None, about everything in the namespace): core/v1 first;
/// events.k8s.io/v1 when core/v1 is forbidden or empty.
pub(crate) async fn read_events(kube: &Kube, ns: &str, name: Option<&str>) -> FetchedEvents {
    let done = |records: Vec<EventRecord>| FetchedEvents {
        index: Arc::new(EventIndex::new(records)),
        source: EventSource::Read,
        unread: None,
    };
    let core: Api<CoreEvent> = Api::namespaced(kube.client.clone(), ns);
    let lp = match name {
        Some(name) => ListParams::default().fields(&format!(
            "involvedObject.name={name},involvedObject.namespace={ns}"
        )),
        None => ListParams::default(),
    };
    let core_err = match kube.call("list", "events", Some(ns), core.list(&lp)).await {
        Ok(list) if !list.items.is_empty() => {
            return done(list.items.iter().map(EventRecord::from_core).collect())
        }
        Ok(_) => None,
        Err(e) => Some(e),
    };
    let new: Api<NewEvent> = Api::namespaced(kube.client.clone(), ns);
    let lp = match name {
        Some(name) => {
            ListParams::default().fields(&format!("regarding.name={name},regarding.namespace={ns}"))
        }
        None => ListParams::default(),
    };
    let new_res = kube
        .call("list", "events.events.k8s.io", Some(ns), new.list(&lp))
        .await;
    match (core_err, new_res) {
        (_, Ok(list)) if !list.items.is_empty() => {
            done(list.items.iter().map(EventRecord::from_new).collect())
        }
        (Some(e), Err(_)) => FetchedEvents {
            index: Arc::new(EventIndex::default()),
            source: EventSource::Unreadable,
            unread: Some(unread("events", &e)),
        },
        _ => done(Vec::new()),
    }
}

/// Which log each container needs: the previous instance's after a restart, the current one's
/// when it terminated and was not restarted.
pub(crate) fn log_requests(pod: &Pod, opts: &ExplainOptions) -> Vec<(String, bool)> {
    let Some(st) = pod.status.as_ref() else {
        return Vec::new();
    };
    st.init_container_statuses
        .iter()
        .flatten()
        .chain(st.container_statuses.iter().flatten())
        .chain(st.ephemeral_container_statuses.iter().flatten())
        .filter(|c| opts.container.as_deref().is_none_or(|n| n == c.name))
        .filter_map(|c| {
            let last_t = c.last_state.as_ref().and_then(|s| s.terminated.as_ref());
            let cur_t = c.state.as_ref().and_then(|s| s.terminated.as_ref());
            if c.restart_count > 0 && last_t.is_some() {
                Some((c.name.clone(), true))
            } else if cur_t.is_some_and(|t| t.exit_code != 0) {
                Some((c.name.clone(), false))
            } else {
                None
            }
        })
        .collect()
}

async fn fetch_logs(
    kube: &Kube,
    pod: &Pod,
    ns: &str,
    name: &str,
    opts: &ExplainOptions,
    early: Option<SharedEarlyLog<'_>>,
) -> (Logs, Vec<Unread>) {
    let mut logs = Logs::default();
    let mut failed = Vec::new();
    if !logs_wanted(opts) {
        return (logs, failed);
    }
    let mut wanted = log_requests(pod, opts);
    // The early read answers for its container's previous log when that is one of the logs wanted.
    let early = early
        .zip(early_log_container(pod, opts))
        .and_then(|(e, c)| {
            let at = wanted.iter().position(|(w, prev)| *prev && *w == c)?;
            Some((wanted.remove(at), e))
        });
    let (early, results) = futures::join!(
        async {
            match early {
                Some((req, e)) => Some((req, e.await)),
                None => None,
            }
        },
        read_logs(kube, ns, name, opts, &wanted)
    );
    let mut answers: Vec<((String, bool), Result<String>)> =
        wanted.into_iter().zip(results).collect();
    let mut early_forbidden = None;
    match early {
        Some((req, EarlyLog::Text(text))) => answers.push((req, Ok(text))),
        Some((_, EarlyLog::Forbidden(u))) => early_forbidden = Some(u),
        Some((req, EarlyLog::Failed)) => {
            // Read it again by name: the answer says what went wrong in this container's words.
            let again = read_logs(kube, ns, name, opts, std::slice::from_ref(&req)).await;
            answers.extend(std::iter::once(req).zip(again));
        }
        None => {}
    }
    let mut forbidden = false;
    for ((c, previous), res) in answers {
        match res {
            Ok(text) => {
                let lines: Vec<String> = text.lines().map(str::to_string).collect();
                if previous {
                    logs.previous.insert(c, lines);
                } else {
                    logs.current.insert(c, lines);
                }
            }
            Err(e) if e.is_forbidden() => {
                if !forbidden {
                    failed.push(unread("logs", &e));
                }
                forbidden = true;
            }
            Err(e) => failed.push(unread(&format!("logs of container {c}"), &e)),
        }
    }
    if let Some(u) = early_forbidden.filter(|_| !forbidden) {
        failed.push(u);
    }
    (logs, failed)
}

/// Reads each wanted log tail at once, answers in the order asked.
async fn read_logs(
    kube: &Kube,
    ns: &str,
    name: &str,
    opts: &ExplainOptions,
    wanted: &[(String, bool)],
) -> Vec<Result<String>> {
    let api: Api<Pod> = Api::namespaced(kube.client.clone(), ns);
    join_all(wanted.iter().map(|(c, previous)| {
        let lp = log_params(Some(c.clone()), *previous, opts);
        let api = api.clone();
        async move {
            kube.call(
                "get",
                &format!("logs of pod {name} container {c}"),
                Some(ns),
                async move { api.logs(name, &lp).await },
            )
            .await
        }
    }))
    .await
}

/// The node matters when the pod's state may be the node's fault, or its architecture matters.
pub fn node_matters(pod: &Pod) -> bool {
    let st = pod.status.as_ref();
    let phase = st.and_then(|s| s.phase.as_deref()).unwrap_or("");
    let reason = st.and_then(|s| s.reason.as_deref()).unwrap_or("");
    let statuses: Vec<&k8s_openapi::api::core::v1::ContainerStatus> = st
        .into_iter()
        .flat_map(|s| {
            s.container_statuses
                .iter()
                .flatten()
                .chain(s.init_container_statuses.iter().flatten())
        })
        .collect();
    let terminated = |c: &&k8s_openapi::api::core::v1::ContainerStatus| {
        [c.state.as_ref(), c.last_state.as_ref()]
            .into_iter()
            .flatten()
            .filter_map(|s| s.terminated.clone())
            .collect::<Vec<_>>()
    };
    let lost_container = statuses.iter().any(|c| {
        terminated(c)
            .iter()
            .any(|t| t.reason.as_deref() == Some("ContainerStatusUnknown"))
    });
    // The node's architecture tells a platform mismatch of the image.
    let arch_question = statuses.iter().any(|c| {
        let waiting = c.state.as_ref().and_then(|s| s.waiting.as_ref());
        waiting.is_some_and(|w| {
            matches!(
                w.reason.as_deref(),
                Some("ErrImagePull" | "ImagePullBackOff")
            ) || w
                .message
                .as_deref()
                .is_some_and(|m| m.contains("exec format error"))
        }) || terminated(c).iter().any(|t| {
            t.message
                .as_deref()
                .is_some_and(|m| m.contains("exec format error"))
        })
    });
    // A NotReady node's pods are marked not Ready by the node controller while their container
    // statuses, no longer updated by the kubelet, still say ready.
    let pod_not_ready = st
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status != "True"));
    let apps: Vec<_> = st
        .and_then(|s| s.container_statuses.as_ref())
        .into_iter()
        .flatten()
        .collect();
    let not_ready_running =
        phase == "Running" && pod_not_ready && !apps.is_empty() && apps.iter().all(|c| c.ready);
    phase == "Unknown"
        || reason == "NodeLost"
        || lost_container
        || arch_question
        || pod.metadata.deletion_timestamp.is_some()
        || not_ready_running
}

async fn fetch_node(kube: &Kube, pod: &Pod) -> (Option<NodeFacts>, Option<Unread>) {
    let Some(node) = pod.spec.as_ref().and_then(|s| s.node_name.clone()) else {
        return (None, None);
    };
    if !node_matters(pod) {
        return (None, None);
    }
    let api: Api<Node> = Api::all(kube.client.clone());
    match kube
        .call("get", &format!("node {node}"), None, api.get(&node))
        .await
    {
        Ok(n) => (Some(NodeFacts::from_node(&n)), None),
        Err(e) if e.is_not_found() => (Some(NodeFacts::missing(&node)), None),
        // Reading nodes is a cluster-scoped permission many users lack: say so quietly.
        Err(e) => (None, Some(unread(&format!("node {node}"), &e))),
    }
}

async fn fetch_owner(kube: &Kube, pod: &Pod, ns: &str) -> (Option<OwnerFacts>, Option<Unread>) {
    let Some(owner) = crate::workload::owner::controller_of(&pod.metadata) else {
        return (None, None);
    };
    let facts = OwnerFacts {
        kind: owner.kind.clone(),
        name: owner.name.clone(),
        ..Default::default()
    };
    let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
    if owner.kind != "Job"
        || !(phase == Some("Failed") || pod.metadata.deletion_timestamp.is_some())
    {
        return (Some(facts), None);
    }
    let api: Api<Job> = Api::namespaced(kube.client.clone(), ns);
    match kube
        .call(
            "get",
            &format!("job {}", owner.name),
            Some(ns),
            api.get(&owner.name),
        )
        .await
    {
        Ok(job) => (Some(OwnerFacts::from_job(&job)), None),
        Err(e) if e.is_not_found() => (Some(facts), None),
        Err(e) => (
            Some(facts),
            Some(unread(&format!("job {}", owner.name), &e)),
        ),
    }
}

/// The claims of a pod that waits on volumes: unschedulable for a claim, or not started yet.
pub(crate) fn claims_matter(pod: &Pod) -> Vec<String> {
    let claims = ClaimFacts::names_in(pod);
    let st = pod.status.as_ref();
    let pending = st.and_then(|s| s.phase.as_deref()) == Some("Pending");
    let waiting_for_volumes = st
        .and_then(|s| s.conditions.as_ref())
        .into_iter()
        .flatten()
        .any(|c| {
            c.type_ == "PodScheduled"
                && c.status == "False"
                && c.message
                    .as_deref()
                    .is_some_and(|m| m.to_lowercase().contains("persistentvolumeclaim"))
        });
    if pending || waiting_for_volumes {
        claims
    } else {
        Vec::new()
    }
}

async fn fetch_claims(kube: &Kube, pod: &Pod, ns: &str) -> (Vec<ClaimFacts>, Vec<Unread>) {
    let names = claims_matter(pod);
    let api: Api<PersistentVolumeClaim> = Api::namespaced(kube.client.clone(), ns);
    let results = join_all(names.iter().map(|n| {
        let api = api.clone();
        async move {
            kube.call(
                "get",
                &format!("persistentvolumeclaim {n}"),
                Some(ns),
                api.get(n),
            )
            .await
        }
    }))
    .await;
    let mut facts = Vec::new();
    let mut failed = Vec::new();
    for (n, r) in names.iter().zip(results) {
        match r {
            Ok(c) => facts.push(ClaimFacts::from_claim(&c)),
            Err(e) if e.is_not_found() => facts.push(ClaimFacts::missing(n)),
            Err(e) => failed.push(unread(&format!("claim {n}"), &e)),
        }
    }
    (facts, failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(yaml: &str) -> Pod {
        serde_yaml::from_str(yaml).expect("fixture parses")
    }

    const POD: &str = r#"
metadata: {name: p, namespace: d}
spec:
  initContainers: [{name: init}]
  containers: [{name: restarted}, {name: died}, {name: fine}, {name: done}]
status:
  phase: Running
  initContainerStatuses:
  - {name: init, image: i, imageID: "", ready: true, restartCount: 0, state: {terminated: {exitCode: 0}}}
  containerStatuses:
  - {name: restarted, image: i, imageID: "", ready: false, restartCount: 2, state: {waiting: {reason: CrashLoopBackOff}}, lastState: {terminated: {exitCode: 1}}}
  - {name: died, image: i, imageID: "", ready: false, restartCount: 0, state: {terminated: {exitCode: 3}}}
  - {name: fine, image: i, imageID: "", ready: true, restartCount: 0, state: {running: {}}}
  - {name: done, image: i, imageID: "", ready: false, restartCount: 0, state: {terminated: {exitCode: 0}}}
"#;

    #[test]
    fn logs_are_asked_for_restarted_and_failed_containers_only() {
        let p = pod(POD);
        let wanted = log_requests(&p, &ExplainOptions::default());
        assert_eq!(
            wanted,
            vec![("restarted".to_string(), true), ("died".to_string(), false)]
        );
        let only = ExplainOptions {
            container: Some("died".into()),
            ..Default::default()
        };
        assert_eq!(log_requests(&p, &only), vec![("died".to_string(), false)]);
    }

    #[test]
    fn the_node_is_read_only_when_it_may_explain_something() {
        assert!(!node_matters(&pod(POD)));
        assert!(node_matters(&pod(
            "metadata: {name: p}\nstatus: {phase: Unknown, reason: NodeLost}\n"
        )));
        assert!(node_matters(&pod(
            "metadata: {name: p, deletionTimestamp: \"2026-11-23T10:00:00Z\"}\nstatus: {phase: Running}\n"
        )));
        // Containers ready but the pod not: the node controller marked it (node NotReady).
        let stale = "metadata: {name: p}\nstatus:\n  phase: Running\n  conditions: [{type: Ready, status: \"False\"}]\n  containerStatuses:\n  - {name: a, image: i, imageID: \"\", ready: true, restartCount: 0}\n";
        assert!(node_matters(&pod(stale)));
        // A crash-looping container explains the pod's own unreadiness: no node needed.
        let crashing = stale.replace(
            "ready: true, restartCount: 0",
            "ready: false, restartCount: 4",
        );
        assert!(!node_matters(&pod(&crashing)));
        // An image that cannot be pulled may lack the node's platform: its architecture matters.
        assert!(node_matters(&pod(
            "metadata: {name: p}\nstatus:\n  phase: Pending\n  containerStatuses:\n  - {name: a, image: i, imageID: \"\", ready: false, restartCount: 0, state: {waiting: {reason: ImagePullBackOff}}}\n"
        )));
    }

    #[test]
    fn claims_are_read_only_for_a_pod_that_waits() {
        let waiting = "metadata: {name: p}\nspec:\n  containers: [{name: a}]\n  volumes: [{name: data, persistentVolumeClaim: {claimName: data-p}}]\nstatus: {phase: Pending}\n";
        assert_eq!(claims_matter(&pod(waiting)), vec!["data-p".to_string()]);
        assert!(claims_matter(&pod(&waiting.replace("Pending", "Running"))).is_empty());
    }
}
