//! The simulated kubelet: a client of the real apiserver that runs N nodes. No container runtime
//! can run here, so containers follow the `kubesim.io/behavior` annotations (kubesim's parser, so
//! a scenario means the same on both) in real wall-clock time.
//!
//! - [`node`]: Node objects, status and Lease heartbeats;
//! - [`container`] and [`podrun`]: the pure state machines, kubesim's own (`kubesim::kubelet`),
//!   so both back-ends run containers by the same rules;
//! - this module: the pod watch and one worker task per pod, which writes the status through the
//!   status subresource, records events ([`events`]) and finishes a graceful deletion with a DELETE
//!   at grace period 0 and a UID precondition (status_manager.go);
//! - [`server`]: the kubelet API for `kubectl logs [--previous]`.

mod events;
pub mod node;
pub mod server;
pub use kubesim::kubelet::{container, pod as podrun};

use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, Patch, PatchParams, Preconditions};
use kube::runtime::{watcher, WatchStreamExt};
use podrun::PodRun;
use serde_json::{json, Value};
use server::{ContainerLogs, LogStore};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use container::State;

/// The running kubelet; dropping it stops every task (the apiserver keeps the objects).
pub struct Kubelet {
    pub nodes: Vec<String>,
    pub port: u16,
    shared: Arc<Shared>,
    tasks: Vec<JoinHandle<()>>,
}

/// What a pod's worker is told.
enum Msg {
    /// The pod as the watch last saw it.
    Update(Value),
    /// The pod object is gone.
    Deleted,
    /// The kubelet fails the pod: (status.reason, status.message).
    Fail(String, String),
}

impl Drop for Kubelet {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

struct Shared {
    client: kube::Client,
    nodes: Vec<String>,
    logs: LogStore,
    events: mpsc::UnboundedSender<events::Record>,
    /// Workload → the pod-template hash of the first pod seen: pods of any other template get
    /// `kubesim.io/rollout-behavior` (kubesim's rule: "the first template the controller saw").
    first_templates: Mutex<HashMap<String, String>>,
    ips: Mutex<u32>,
    /// (namespace, name) → the pod's worker.
    workers: Mutex<HashMap<(String, String), mpsc::UnboundedSender<Msg>>>,
}

fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

impl Kubelet {
    /// Register `n` nodes (`node-1` … `node-n`) and start serving them.
    pub async fn start(
        client: kube::Client,
        n: usize,
        serving_cert: &str,
        serving_key: &str,
    ) -> anyhow::Result<Kubelet> {
        let version = client.apiserver_version().await?.git_version;
        let logs: LogStore = Arc::default();
        let (port, server_task) = server::serve(serving_cert, serving_key, logs.clone()).await?;
        let mut tasks = vec![server_task];
        let nodes: Vec<String> = (1..=n).map(|i| format!("node-{i}")).collect();
        for (i, name) in nodes.iter().enumerate() {
            tasks.push(
                node::register(client.clone(), name.clone(), i + 1, port, version.clone()).await?,
            );
        }
        let shared = Arc::new(Shared {
            client: client.clone(),
            nodes: nodes.clone(),
            logs,
            events: events::start(client.clone()),
            first_templates: Mutex::default(),
            ips: Mutex::new(0),
            workers: Mutex::default(),
        });
        tasks.push(tokio::spawn(watch_pods(shared.clone())));
        Ok(Kubelet {
            nodes,
            port,
            shared,
            tasks,
        })
    }

    /// Fail a running pod as the kubelet itself does (phase Failed with `reason` and `message`,
    /// DisruptionTarget/TerminationByKubelet, containers killed, an event `reason`). `false` when no
    /// worker runs that pod.
    pub fn fail_pod(&self, namespace: &str, name: &str, reason: &str, message: &str) -> bool {
        let workers = self.shared.workers.lock().unwrap();
        workers
            .get(&(namespace.to_string(), name.to_string()))
            .is_some_and(|tx| tx.send(Msg::Fail(reason.into(), message.into())).is_ok())
    }
}

/// Watch every pod; hand the ones bound to our nodes to their worker (one per pod UID).
async fn watch_pods(shared: Arc<Shared>) {
    let api: Api<Pod> = Api::all(shared.client.clone());
    let stream = watcher(api, watcher::Config::default()).default_backoff();
    futures::pin_mut!(stream);
    // uid of the pod each worker runs (a pod deleted and created again under its name is another).
    let mut uids: HashMap<(String, String), String> = HashMap::new();
    while let Some(ev) = stream.next().await {
        let (pod, deleted) = match ev {
            Ok(watcher::Event::Apply(p) | watcher::Event::InitApply(p)) => (p, false),
            Ok(watcher::Event::Delete(p)) => (p, true),
            Ok(_) => continue,
            Err(e) => {
                tracing::debug!("pod watch: {e}");
                continue;
            }
        };
        let node = pod
            .spec
            .as_ref()
            .and_then(|s| s.node_name.clone())
            .unwrap_or_default();
        if !shared.nodes.contains(&node) {
            continue;
        }
        let uid = pod.metadata.uid.clone().unwrap_or_default();
        let key = (
            pod.metadata.namespace.clone().unwrap_or_default(),
            pod.metadata.name.clone().unwrap_or_default(),
        );
        let mut workers = shared.workers.lock().unwrap();
        workers.retain(|_, tx| !tx.is_closed());
        let same = uids.get(&key) == Some(&uid);
        if deleted {
            if same {
                if let Some(tx) = workers.remove(&key) {
                    let _ = tx.send(Msg::Deleted);
                }
            }
            continue;
        }
        let Ok(value) = serde_json::to_value(&pod) else {
            continue;
        };
        if let Some(tx) = workers.get(&key).filter(|_| same) {
            let _ = tx.send(Msg::Update(value));
            continue;
        }
        // A pod already finished (terminal phase) needs no worker.
        let phase = value.pointer("/status/phase").and_then(Value::as_str);
        if matches!(phase, Some("Succeeded" | "Failed")) {
            continue;
        }
        if let Some(old) = workers.remove(&key) {
            let _ = old.send(Msg::Deleted);
        }
        let (tx, rx) = mpsc::unbounded_channel();
        workers.insert(key.clone(), tx);
        uids.insert(key, uid);
        tokio::spawn(run_pod(shared.clone(), value, node, rx));
    }
}

/// The pod as the behaviour engine sees it: a pod of a later template than the workload's first
/// one runs its `kubesim.io/rollout-behavior` as its behaviour.
fn effective(shared: &Shared, pod: &Value) -> Value {
    use kubesim::behavior::{BEHAVIOR, ROLLOUT_BEHAVIOR};
    let ann = pod.pointer("/metadata/annotations");
    let Some(rollout) = ann
        .and_then(|a| a.get(ROLLOUT_BEHAVIOR))
        .and_then(Value::as_str)
    else {
        return pod.clone();
    };
    let ns = pod["metadata"]["namespace"].as_str().unwrap_or_default();
    let labels = &pod["metadata"]["labels"];
    let owner = pod
        .pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .and_then(|o| o.iter().find(|r| r["controller"] == true))
        .cloned()
        .unwrap_or(Value::Null);
    let owner_name = owner["name"].as_str().unwrap_or_default();
    let (key, hash) = match owner["kind"].as_str() {
        Some("ReplicaSet") => {
            let hash = labels["pod-template-hash"].as_str().unwrap_or_default();
            let deploy = owner_name
                .strip_suffix(&format!("-{hash}"))
                .unwrap_or(owner_name);
            (format!("Deployment/{ns}/{deploy}"), hash)
        }
        Some(kind @ ("StatefulSet" | "DaemonSet")) => (
            format!("{kind}/{ns}/{owner_name}"),
            labels["controller-revision-hash"]
                .as_str()
                .unwrap_or_default(),
        ),
        _ => return pod.clone(),
    };
    let mut first = shared.first_templates.lock().unwrap();
    let first_hash = first.entry(key).or_insert_with(|| hash.to_string());
    if first_hash == hash {
        return pod.clone();
    }
    let mut p = pod.clone();
    p["metadata"]["annotations"][BEHAVIOR] = json!(rollout);
    p
}

fn grace_ms(pod: &Value) -> Option<i64> {
    pod.pointer("/metadata/deletionTimestamp")?;
    Some(
        pod.pointer("/metadata/deletionGracePeriodSeconds")
            .and_then(Value::as_i64)
            .unwrap_or(30)
            * 1000,
    )
}

fn publish_logs(shared: &Shared, ns: &str, name: &str, run: &PodRun) {
    let mut m = HashMap::new();
    for c in run.init.iter().chain(&run.app) {
        let (state, waiting_reason) = match &c.state {
            State::Running { .. } => ("running", String::new()),
            State::Terminated(_) => ("terminated", String::new()),
            State::Waiting { reason, .. } => ("waiting", reason.clone()),
        };
        m.insert(
            c.spec.name.clone(),
            ContainerLogs {
                state,
                waiting_reason,
                current: c.current.as_ref().map(|i| i.log.clone()),
                previous: c
                    .last_state
                    .as_ref()
                    .and(c.previous.as_ref())
                    .map(|i| i.log.clone()),
            },
        );
    }
    shared
        .logs
        .lock()
        .unwrap()
        .insert((ns.to_string(), name.to_string()), m);
}

enum Write {
    Done(Value),
    /// 409: the fresh pod, to write against again.
    Conflict(Value),
    Gone,
    Retry,
}

/// Write `status` through the status subresource, guarded by the pod's resourceVersion.
async fn write_status(api: &Api<Pod>, pod: &Value, status: &Value) -> Write {
    let name = pod["metadata"]["name"].as_str().unwrap_or_default();
    let now = jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let mut st = status.clone();
    st["conditions"] = podrun::merge_conditions(pod, &status["conditions"], &now);
    let patch = json!({
        "metadata": {"resourceVersion": pod["metadata"]["resourceVersion"]},
        "status": st,
    });
    match api
        .patch_status(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
    {
        Ok(p) => serde_json::to_value(p).map_or(Write::Retry, Write::Done),
        Err(kube::Error::Api(e)) if e.code == 404 => Write::Gone,
        Err(kube::Error::Api(e)) if e.code == 409 => match api.get(name).await {
            Ok(p) => serde_json::to_value(p).map_or(Write::Retry, Write::Conflict),
            Err(kube::Error::Api(e)) if e.code == 404 => Write::Gone,
            Err(_) => Write::Retry,
        },
        Err(e) => {
            tracing::debug!("status of {name}: {e}");
            Write::Retry
        }
    }
}

/// One pod's worker: steps its containers at each due time or pod update, writes status and
/// events, and removes the pod once its containers have stopped after a deletion.
async fn run_pod(
    shared: Arc<Shared>,
    mut pod: Value,
    node: String,
    mut rx: mpsc::UnboundedReceiver<Msg>,
) {
    let ns = pod["metadata"]["namespace"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let name = pod["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let uid = pod["metadata"]["uid"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let api: Api<Pod> = Api::namespaced(shared.client.clone(), &ns);
    let ip = {
        let mut n = shared.ips.lock().unwrap();
        *n += 1;
        let node_idx = shared.nodes.iter().position(|x| *x == node).unwrap_or(0) + 1;
        format!("10.244.{node_idx}.{}", (*n % 250) + 2)
    };
    let host_network = pod.pointer("/spec/hostNetwork") == Some(&json!(true));
    let ip = if host_network {
        node::NODE_IP.to_string()
    } else {
        ip
    };
    let mut run = PodRun::new(&effective(&shared, &pod), ip, now_ms());
    let mut written = Value::Null;
    let mut pending = Vec::new();
    loop {
        let now = now_ms();
        if let Some(g) = grace_ms(&pod) {
            run.delete(now, g);
        }
        let mut evs = std::mem::take(&mut pending);
        evs.extend(run.step(now));
        let rv = pod["metadata"]["resourceVersion"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        for e in evs {
            let _ = shared.events.send(events::Record {
                namespace: ns.clone(),
                pod: name.clone(),
                uid: uid.clone(),
                resource_version: rv.clone(),
                node: node.clone(),
                field_path: e.field_path,
                warning: e.ev.warning,
                reason: e.ev.reason,
                message: e.ev.message,
            });
        }
        publish_logs(&shared, &ns, &name, &run);
        let status = run.status(node::NODE_IP);
        let mut retry_at = None;
        if status != written {
            match write_status(&api, &pod, &status).await {
                Write::Done(p) => {
                    pod = p;
                    written = status.clone();
                }
                Write::Conflict(p) => {
                    pod = p;
                    retry_at = Some(now_ms());
                }
                Write::Gone => break,
                Write::Retry => retry_at = Some(now_ms() + 500),
            }
        }
        if run.terminal && run.is_deleting() && status == written {
            // status_manager: every container stopped, so the pod object can go.
            let dp = DeleteParams {
                grace_period_seconds: Some(0),
                preconditions: Some(Preconditions {
                    uid: Some(uid.clone()),
                    resource_version: None,
                }),
                ..DeleteParams::default()
            };
            match api.delete(&name, &dp).await {
                Ok(_) => break,
                Err(kube::Error::Api(e)) if e.code == 404 || e.code == 409 => break,
                Err(_) => retry_at = Some(now_ms() + 500),
            }
        }
        let wake = [run.next_wake(), retry_at].into_iter().flatten().min();
        let sleep = match wake {
            Some(t) => std::time::Duration::from_millis((t - now_ms()).clamp(0, 3_600_000) as u64),
            None => std::time::Duration::from_secs(3600),
        };
        tokio::select! {
            msg = rx.recv() => match msg {
                Some(Msg::Update(p)) => {
                    if p["metadata"]["resourceVersion"] != pod["metadata"]["resourceVersion"] {
                        pod = p;
                    }
                }
                Some(Msg::Fail(reason, message)) => {
                    pending = run.fail(now_ms(), &reason, &message, container::UNKNOWN, true);
                }
                Some(Msg::Deleted) | None => break,
            },
            _ = tokio::time::sleep(sleep) => {}
        }
    }
    shared.logs.lock().unwrap().remove(&(ns, name));
}
