//! Live gathering: after the pod GET, everything else at once (events of both APIs, log tails, the
//! node, the owning Job). A 403 on any of these degrades that section with a note; only the pod GET
//! can fail the command.

use futures::future::{join_all, BoxFuture, FutureExt, Shared};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Event as CoreEvent, Node, Pod};
use k8s_openapi::api::events::v1::Event as NewEvent;
use kube::api::{Api, ListParams, LogParams};

use crate::client::Kube;
use crate::error::{Error, Result};

use super::analyse::{analyse, Extra, Logs, NodeFacts, OwnerFacts};
use super::events::EventRecord;
use super::model::PodReport;

/// What to gather and show; shared by `explain` and by callers such as `restart`.
#[derive(Debug, Clone)]
pub struct ExplainOptions {
    /// Only this container (`-c`).
    pub container: Option<String>,
    /// Log lines per container (`--tail`).
    pub tail: u32,
    /// Fetch log tails at all (`--no-logs` turns this off).
    pub logs: bool,
}

impl Default for ExplainOptions {
    fn default() -> Self {
        ExplainOptions {
            container: None,
            tail: 10,
            logs: true,
        }
    }
}

/// GETs a pod and explains it. A missing pod is the foundation's NotFound error (exit 2).
pub async fn explain_pod(
    kube: &Kube,
    ns: &str,
    name: &str,
    opts: &ExplainOptions,
) -> Result<PodReport> {
    let pods: Api<Pod> = Api::namespaced(kube.client.clone(), ns);
    let pod = kube
        .call("get", &format!("pod {name}"), Some(ns), pods.get(name))
        .await?;
    check_container(&pod, opts)?;
    // A pod that is Running with every container ready and no restarts needs nothing more.
    let quick = quick_report(&pod, opts);
    if quick.healthy && quick.restarts == 0 {
        return Ok(quick);
    }
    Ok(explain_pod_object(kube, pod, opts).await)
}

/// The report from the pod object alone (no API calls): enough to tell a healthy pod.
pub fn quick_report(pod: &Pod, opts: &ExplainOptions) -> PodReport {
    let extra = Extra {
        events_available: false,
        container: opts.container.clone(),
        ..Default::default()
    };
    analyse(pod, &[], &Logs::default(), &extra)
}

/// `-c NAME` must name a container of the pod.
pub fn check_container(pod: &Pod, opts: &ExplainOptions) -> Result<()> {
    let Some(c) = &opts.container else {
        return Ok(());
    };
    let names = container_names(pod);
    if names.iter().any(|n| n == c) {
        Ok(())
    } else {
        Err(Error::usage(format!(
            "container {c:?} is not in pod {} (containers: {})",
            pod.metadata.name.clone().unwrap_or_default(),
            names.join(", ")
        )))
    }
}

pub fn container_names(pod: &Pod) -> Vec<String> {
    let Some(s) = pod.spec.as_ref() else {
        return Vec::new();
    };
    s.init_containers
        .iter()
        .flatten()
        .chain(s.containers.iter())
        .map(|c| c.name.clone())
        .chain(
            s.ephemeral_containers
                .iter()
                .flatten()
                .map(|c| c.name.clone()),
        )
        .collect()
}

/// Explains a pod already in hand (from a list): gathers its events, logs, node and owner concurrently.
pub async fn explain_pod_object(kube: &Kube, pod: Pod, opts: &ExplainOptions) -> PodReport {
    explain_pod_with(kube, pod, opts, None).await
}

/// Events already read for the pod's namespace (when many pods are explained at once).
pub type FetchedEvents = (Vec<EventRecord>, bool, Vec<String>);

/// One read of a namespace's events, shared by every pod of that namespace in a sweep; it runs
/// alongside the pods' own reads.
pub type SharedEvents<'a> = Shared<BoxFuture<'a, FetchedEvents>>;

/// The shared read of all events in `ns`.
pub fn shared_events<'a>(kube: &'a Kube, ns: String) -> SharedEvents<'a> {
    async move { fetch_events(kube, &ns, None).await }
        .boxed()
        .shared()
}

/// As [`explain_pod_object`], with the namespace's events read once for many pods when `events` is given.
pub async fn explain_pod_with(
    kube: &Kube,
    pod: Pod,
    opts: &ExplainOptions,
    events: Option<SharedEvents<'_>>,
) -> PodReport {
    let ns = pod
        .metadata
        .namespace
        .clone()
        .unwrap_or_else(|| kube.namespace.clone());
    let name = pod.metadata.name.clone().unwrap_or_default();
    let ev_fut = async {
        match events {
            Some(e) => e.await,
            None => fetch_events(kube, &ns, Some(&name)).await,
        }
    };
    let (ev, logs, node, owner) = futures::join!(
        ev_fut,
        fetch_logs(kube, &pod, &ns, &name, opts),
        fetch_node(kube, &pod),
        fetch_owner(kube, &pod, &ns),
    );
    let (events, events_available, mut notes) = ev;
    let (logs, log_notes) = logs;
    notes.extend(log_notes);
    let (node, node_note) = node;
    notes.extend(node_note);
    let (owner, owner_note) = owner;
    notes.extend(owner_note);
    let extra = Extra {
        events_available,
        node,
        owner,
        notes,
        container: opts.container.clone(),
    };
    analyse(&pod, &events, &logs, &extra)
}

fn degraded(section: &str, e: &Error) -> String {
    if e.is_forbidden() {
        format!(
            "{section}: forbidden ({e}); this section is left out",
            e = first_line(e)
        )
    } else {
        format!("{section}: could not be read ({})", first_line(e))
    }
}

fn first_line(e: &Error) -> String {
    e.to_string().lines().next().unwrap_or_default().to_string()
}

/// Events about the pod (or, with `name` None, about everything in the namespace): core/v1 first;
/// events.k8s.io/v1 when core/v1 is forbidden or empty.
pub async fn fetch_events(kube: &Kube, ns: &str, name: Option<&str>) -> FetchedEvents {
    let core: Api<CoreEvent> = Api::namespaced(kube.client.clone(), ns);
    let lp = match name {
        Some(name) => ListParams::default().fields(&format!(
            "involvedObject.name={name},involvedObject.namespace={ns}"
        )),
        None => ListParams::default(),
    };
    let mut notes = Vec::new();
    let core_res = kube.call("list", "events", Some(ns), core.list(&lp)).await;
    let core_err = match core_res {
        Ok(list) if !list.items.is_empty() => {
            return (
                list.items.iter().map(EventRecord::from_core).collect(),
                true,
                notes,
            )
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
        (_, Ok(list)) if !list.items.is_empty() => (
            list.items.iter().map(EventRecord::from_new).collect(),
            true,
            notes,
        ),
        (None, _) => (Vec::new(), true, notes),
        (Some(_), Ok(_)) => (Vec::new(), true, notes),
        (Some(e), Err(_)) => {
            notes.push(format!(
                "{}: the verdict rests on the pod's status alone",
                degraded("events", &e)
            ));
            (Vec::new(), false, notes)
        }
    }
}

/// Which log each container needs: the previous instance's after a restart, the current one's
/// when it terminated and was not restarted.
pub fn log_requests(pod: &Pod, opts: &ExplainOptions) -> Vec<(String, bool)> {
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
) -> (Logs, Vec<String>) {
    let mut logs = Logs::default();
    let mut notes = Vec::new();
    if !opts.logs || opts.tail == 0 {
        return (logs, notes);
    }
    let api: Api<Pod> = Api::namespaced(kube.client.clone(), ns);
    let wanted = log_requests(pod, opts);
    let results = join_all(wanted.iter().map(|(c, previous)| {
        let lp = LogParams {
            container: Some(c.clone()),
            previous: *previous,
            tail_lines: Some(opts.tail as i64),
            ..Default::default()
        };
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
    .await;
    let mut forbidden = false;
    for ((c, previous), res) in wanted.into_iter().zip(results) {
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
                    notes.push(format!(
                        "{}: run with a user allowed to get pods/log to see the log tails",
                        degraded("logs", &e)
                    ));
                }
                forbidden = true;
            }
            Err(e) => notes.push(degraded(&format!("logs of container {c}"), &e)),
        }
    }
    (logs, notes)
}

/// The node matters when the pod's state may be the node's fault.
fn node_matters(pod: &Pod) -> bool {
    let st = pod.status.as_ref();
    let phase = st.and_then(|s| s.phase.as_deref()).unwrap_or("");
    let reason = st.and_then(|s| s.reason.as_deref()).unwrap_or("");
    let lost_container = st
        .and_then(|s| s.container_statuses.as_ref())
        .into_iter()
        .flatten()
        .any(|c| {
            c.state
                .as_ref()
                .and_then(|s| s.terminated.as_ref())
                .and_then(|t| t.reason.as_deref())
                == Some("ContainerStatusUnknown")
        });
    // A NotReady node's pods are marked not Ready by the node controller while their container
    // statuses, no longer updated by the kubelet, still say ready.
    let statuses: Vec<&k8s_openapi::api::core::v1::ContainerStatus> = st
        .and_then(|s| s.container_statuses.as_ref())
        .into_iter()
        .flatten()
        .collect();
    let pod_not_ready = st
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status != "True"));
    let not_ready_running = phase == "Running"
        && pod_not_ready
        && !statuses.is_empty()
        && statuses.iter().all(|c| c.ready);
    phase == "Unknown"
        || reason == "NodeLost"
        || lost_container
        || pod.metadata.deletion_timestamp.is_some()
        || not_ready_running
}

async fn fetch_node(kube: &Kube, pod: &Pod) -> (Option<NodeFacts>, Option<String>) {
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
        Err(e) => (None, Some(degraded(&format!("node {node}"), &e))),
    }
}

async fn fetch_owner(kube: &Kube, pod: &Pod, ns: &str) -> (Option<OwnerFacts>, Option<String>) {
    let Some(owner) = crate::meta::controller_of(&pod.metadata) else {
        return (None, None);
    };
    let mut facts = OwnerFacts {
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
        Ok(job) => {
            if let Some(c) = job
                .status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .into_iter()
                .flatten()
                .find(|c| c.type_ == "Failed" && c.status == "True")
            {
                facts.failed_reason = c.reason.clone();
                facts.failed_message = c.message.clone();
            }
            (Some(facts), None)
        }
        Err(e) if e.is_not_found() => (Some(facts), None),
        Err(e) => (
            Some(facts),
            Some(degraded(&format!("job {}", owner.name), &e)),
        ),
    }
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
    fn container_filter_must_name_a_container() {
        let p = pod(POD);
        let bad = ExplainOptions {
            container: Some("nope".into()),
            ..Default::default()
        };
        let err = check_container(&p, &bad).expect_err("unknown container");
        assert!(
            err.to_string()
                .contains("init, restarted, died, fine, done"),
            "{err}"
        );
        assert!(check_container(&p, &ExplainOptions::default()).is_ok());
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
    }

    #[test]
    fn a_healthy_pod_needs_no_more_calls() {
        let p = pod(
            "metadata: {name: p}\nspec: {containers: [{name: a}]}\nstatus:\n  phase: Running\n  containerStatuses:\n  - {name: a, image: i, imageID: \"\", ready: true, restartCount: 0, state: {running: {}}}\n",
        );
        let r = quick_report(&p, &ExplainOptions::default());
        assert!(r.healthy);
        assert!(!quick_report(&pod(POD), &ExplainOptions::default()).healthy);
    }
}
