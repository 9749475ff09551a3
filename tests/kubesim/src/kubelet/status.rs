//! The pod status the kubelet writes (pkg/kubelet/kubelet_pods.go `generateAPIPodStatus`,
//! `getPhase`, `convertToAPIContainerStatuses`; status_manager.go for the conditions' times):
//! phase, conditions, container statuses, IPs, from a [`PodRun`].

use super::container::{Container, State, Terminated};
use super::pod::PodRun;
use serde_json::{json, Value};

fn ts(ms: i64) -> String {
    crate::util::fmt_ts(ms)
}

/// `kubectl logs`' image digest for an image name (stable per name).
pub fn image_id(image: &str) -> String {
    let h1 = crate::util::fnv32a(image);
    let h2 = crate::util::fnv32a(&format!("{image}#"));
    let hex = format!("{h1:08x}{h2:08x}").repeat(4);
    let repo = image.split(':').next().unwrap_or(image);
    let repo = if repo.contains('/') {
        repo.to_string()
    } else {
        format!("library/{repo}")
    };
    let repo = if repo.split('/').next().is_some_and(|x| x.contains('.')) {
        repo
    } else {
        format!("docker.io/{repo}")
    };
    format!("{repo}@sha256:{hex}")
}

/// The conditions `ours` (without times) merged into the pod's: others' (PodScheduled,
/// DisruptionTarget) are kept, and a condition's lastTransitionTime moves only when its status
/// changes (status_manager.go).
pub fn merge_conditions(pod: &Value, ours: &Value, now: &str) -> Value {
    let old: Vec<Value> = pod
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let ours = ours.as_array().cloned().unwrap_or_default();
    let mut out: Vec<Value> = old
        .iter()
        .filter(|c| !ours.iter().any(|o| o["type"] == c["type"]))
        .cloned()
        .collect();
    for mut c in ours {
        let prev = old.iter().find(|o| o["type"] == c["type"]);
        let since = match prev {
            Some(p) if p["status"] == c["status"] => p["lastTransitionTime"].clone(),
            _ => json!(now),
        };
        c["lastTransitionTime"] = since;
        c["lastProbeTime"] = Value::Null;
        out.push(c);
    }
    Value::Array(out)
}

impl PodRun {
    /// The pod's status as the kubelet writes it (the fields it owns).
    pub fn status(&self, node_ip: &str) -> Value {
        let phase = self.phase();
        let terminal = self.terminal;
        let statuses = |list: &[Container]| -> Vec<Value> {
            list.iter().map(|c| container_status(c, terminal)).collect()
        };
        let not_ready: Vec<&str> = self
            .app
            .iter()
            .filter(|c| !c.ready)
            .map(|c| c.spec.name.as_str())
            .collect();
        let incomplete: Vec<&str> = self
            .init
            .iter()
            .filter(|c| !c.init_complete())
            .map(|c| c.spec.name.as_str())
            .collect();
        let cond = |typ: &str, ok: bool, reason: &str, message: String| {
            if ok {
                json!({"type": typ, "status": "True"})
            } else {
                json!({"type": typ, "status": "False", "reason": reason, "message": message})
            }
        };
        let containers_ready = not_ready.is_empty() && !terminal;
        let (reason, msg) = if terminal {
            ("PodCompleted", String::new())
        } else {
            (
                "ContainersNotReady",
                format!("containers with unready status: [{}]", not_ready.join(" ")),
            )
        };
        let mut conditions = vec![
            cond("PodReadyToStartContainers", !terminal, "", String::new()),
            cond(
                "Initialized",
                incomplete.is_empty() || terminal && self.inits_done(),
                if terminal && !self.inits_done() {
                    "PodCompleted"
                } else {
                    "ContainersNotInitialized"
                },
                format!(
                    "containers with incomplete status: [{}]",
                    incomplete.join(" ")
                ),
            ),
            cond("Ready", containers_ready, reason, msg.clone()),
            cond("ContainersReady", containers_ready, reason, msg),
        ];
        if terminal {
            // A completed pod's PodReadyToStartContainers is False without a reason.
            conditions[0] = json!({"type": "PodReadyToStartContainers", "status": "False"});
        }
        let mut status = json!({
            "phase": phase,
            "conditions": conditions,
            "hostIP": node_ip,
            "hostIPs": [{"ip": node_ip}],
            "startTime": ts(self.start_time),
            "containerStatuses": statuses(&self.app),
        });
        if let Some((reason, message)) = &self.failure {
            status["reason"] = json!(reason);
            status["message"] = json!(message);
            if reason != "DeadlineExceeded" {
                status["conditions"]
                    .as_array_mut()
                    .expect("conditions")
                    .push(json!({
                        "type": "DisruptionTarget", "status": "True",
                        "reason": "TerminationByKubelet", "message": message.trim_end(),
                    }));
            }
        }
        if !self.pod_ip.is_empty() {
            status["podIP"] = json!(self.pod_ip);
            status["podIPs"] = json!([{"ip": self.pod_ip}]);
        }
        if !self.init.is_empty() {
            status["initContainerStatuses"] = json!(statuses(&self.init));
        }
        status
    }
}

fn terminated_json(t: &Terminated) -> Value {
    let mut v = json!({
        "exitCode": t.exit_code,
        "reason": t.reason,
        "startedAt": ts(t.started_at),
        "finishedAt": ts(t.finished_at),
    });
    if let Some(m) = &t.message {
        v["message"] = json!(m);
    }
    if let Some(id) = &t.container_id {
        v["containerID"] = json!(id);
    }
    v
}

fn container_status(c: &Container, pod_terminal: bool) -> Value {
    let state = match &c.state {
        State::Running { started_at } => json!({"running": {"startedAt": ts(*started_at)}}),
        State::Terminated(t) => json!({"terminated": terminated_json(t)}),
        // A terminal pod's containers that never ran: the kubelet's ContainerStatusUnknown.
        State::Waiting { .. } if pod_terminal => json!({"terminated": {
            "exitCode": 137,
            "reason": "ContainerStatusUnknown",
            "message": "The container could not be located when the pod was terminated",
            "startedAt": null, "finishedAt": null,
        }}),
        State::Waiting { reason, message } => {
            let mut w = json!({"reason": reason});
            if let Some(m) = message {
                w["message"] = json!(m);
            }
            json!({"waiting": w})
        }
    };
    let last = c
        .last_state
        .as_ref()
        .map_or(json!({}), |t| json!({"terminated": terminated_json(t)}));
    let mut v = json!({
        "name": c.spec.name,
        "image": c.spec.image,
        "imageID": if c.ever_ran() { image_id(&c.spec.image) } else { String::new() },
        "ready": c.ready || (c.spec.init && !c.spec.sidecar && c.init_complete()),
        "started": c.started,
        "restartCount": c.restart_count,
        "state": state,
        "lastState": last,
    });
    let id = match &c.state {
        State::Running { .. } => c.current.as_ref().map(|i| i.id.clone()),
        State::Terminated(t) => t.container_id.clone(),
        State::Waiting { .. } => None,
    };
    if let Some(id) = id {
        v["containerID"] = json!(id);
    }
    v
}
