//! Events as the kubelet records them: core/v1 Events from component `kubelet` on the node's host,
//! `involvedObject.fieldPath` naming the container, repeats folded into one event whose `count`
//! and `lastTimestamp` grow (client-go's event correlator).

use k8s_openapi::api::core::v1::Event;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;
use std::collections::HashMap;
use tokio::sync::mpsc;

/// One event to record about a pod.
#[derive(Debug, Clone)]
pub struct Record {
    pub namespace: String,
    pub pod: String,
    pub uid: String,
    pub resource_version: String,
    pub node: String,
    pub field_path: Option<String>,
    pub warning: bool,
    pub reason: String,
    pub message: String,
}

/// Starts the recorder task; send it [`Record`]s, they are written in order.
pub fn start(client: kube::Client) -> mpsc::UnboundedSender<Record> {
    let (tx, mut rx) = mpsc::unbounded_channel::<Record>();
    tokio::spawn(async move {
        // (pod uid, fieldPath, reason, message) → (event name, count)
        let mut seen: HashMap<(String, String, String, String), (String, i32)> = HashMap::new();
        while let Some(r) = rx.recv().await {
            let api: Api<Event> = Api::namespaced(client.clone(), &r.namespace);
            let now = jiff::Timestamp::now();
            let stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
            let key = (
                r.uid.clone(),
                r.field_path.clone().unwrap_or_default(),
                r.reason.clone(),
                r.message.clone(),
            );
            if let Some((name, count)) = seen.get_mut(&key) {
                *count += 1;
                let patch = json!({"count": *count, "lastTimestamp": stamp});
                if api
                    .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
                    .await
                    .is_ok()
                {
                    continue;
                }
            }
            let name = format!("{}.{:x}", r.pod, now.as_nanosecond());
            let mut involved = json!({
                "apiVersion": "v1", "kind": "Pod", "namespace": r.namespace, "name": r.pod,
                "uid": r.uid, "resourceVersion": r.resource_version,
            });
            if let Some(fp) = &r.field_path {
                involved["fieldPath"] = json!(fp);
            }
            let ev = json!({
                "apiVersion": "v1", "kind": "Event",
                "metadata": {"name": name, "namespace": r.namespace},
                "involvedObject": involved,
                "reason": r.reason, "message": r.message,
                "type": if r.warning { "Warning" } else { "Normal" },
                "source": {"component": "kubelet", "host": r.node},
                "reportingComponent": "kubelet", "reportingInstance": r.node,
                "firstTimestamp": stamp, "lastTimestamp": stamp, "count": 1,
            });
            let Ok(ev) = serde_json::from_value::<Event>(ev) else {
                continue;
            };
            match api.create(&PostParams::default(), &ev).await {
                Ok(_) => {
                    seen.insert(key, (name, 1));
                }
                Err(e) => tracing::debug!("event {}: {e}", r.reason),
            }
        }
    });
    tx
}
