//! Node registration and heartbeats: the Node object with its status (conditions, addresses,
//! capacity, the kubelet's port in `daemonEndpoints`), a Lease in `kube-node-lease` renewed every
//! 10 s (what the node lifecycle controller watches), and the status refreshed every minute.

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::{json, Value};
use std::time::Duration;

pub const NODE_IP: &str = "127.0.0.1";
const LEASE_RENEW: Duration = Duration::from_secs(10);
const STATUS_REFRESH: Duration = Duration::from_secs(60);

fn now() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

fn micro_now() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%S.%6fZ")
        .to_string()
}

fn status(kubelet_port: u16, version: &str, idx: usize, since: &str) -> Value {
    let cond = |typ: &str, st: &str, reason: &str, message: &str| {
        json!({"type": typ, "status": st, "reason": reason, "message": message,
               "lastHeartbeatTime": now(), "lastTransitionTime": since})
    };
    json!({
        "conditions": [
            cond("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
            cond("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
            cond("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
            cond("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
        ],
        "addresses": [{"type": "InternalIP", "address": NODE_IP}, {"type": "Hostname", "address": format!("node-{idx}")}],
        "capacity": {"cpu": "4", "memory": "16375740Ki", "pods": "110", "ephemeral-storage": "102350Mi"},
        "allocatable": {"cpu": "4", "memory": "16273340Ki", "pods": "110", "ephemeral-storage": "102350Mi"},
        "daemonEndpoints": {"kubeletEndpoint": {"Port": kubelet_port}},
        "nodeInfo": {
            "kubeletVersion": version, "kubeProxyVersion": "",
            "containerRuntimeVersion": "containerd://2.1.4",
            "osImage": "Debian GNU/Linux 12 (bookworm)", "kernelVersion": "6.1.0-testbed",
            "architecture": "amd64", "operatingSystem": "linux",
            "machineID": format!("{idx:032x}"), "systemUUID": format!("00000000-0000-0000-0000-{idx:012x}"),
            "bootID": format!("b0000000-0000-0000-0000-{idx:012x}"),
        },
    })
}

/// Create (or take over) Node `node-IDX` and keep it alive until the task is aborted.
pub async fn register(
    client: kube::Client,
    name: String,
    idx: usize,
    kubelet_port: u16,
    version: String,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let nodes: Api<Node> = Api::all(client.clone());
    let node: Node = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "labels": {
            "kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
            "beta.kubernetes.io/os": "linux", "beta.kubernetes.io/arch": "amd64",
        }},
        "spec": {},
    }))?;
    match nodes.create(&PostParams::default(), &node).await {
        Ok(_) => {}
        Err(kube::Error::Api(e)) if e.code == 409 => {}
        Err(e) => return Err(e.into()),
    }
    let since = now();
    let st = status(kubelet_port, &version, idx, &since);
    nodes
        .patch_status(
            &name,
            &PatchParams::default(),
            &Patch::Merge(&json!({"status": st})),
        )
        .await?;

    let leases: Api<Lease> = Api::namespaced(client.clone(), "kube-node-lease");
    let uid = nodes.get(&name).await?.metadata.uid.unwrap_or_default();
    let lease: Lease = serde_json::from_value(json!({
        "metadata": {"name": name, "namespace": "kube-node-lease",
            "ownerReferences": [{"apiVersion": "v1", "kind": "Node", "name": name, "uid": uid}]},
        "spec": {"holderIdentity": name, "leaseDurationSeconds": 40, "renewTime": micro_now()},
    }))?;
    match leases.create(&PostParams::default(), &lease).await {
        Ok(_) => {}
        Err(kube::Error::Api(e)) if e.code == 409 => {}
        Err(e) => return Err(e.into()),
    }
    Ok(tokio::spawn(async move {
        let mut last_status = tokio::time::Instant::now();
        loop {
            tokio::time::sleep(LEASE_RENEW).await;
            let renew = json!({"spec": {"holderIdentity": name, "renewTime": micro_now()}});
            if let Err(e) = leases
                .patch(&name, &PatchParams::default(), &Patch::Merge(&renew))
                .await
            {
                tracing::debug!("renew lease {name}: {e}");
            }
            if last_status.elapsed() >= STATUS_REFRESH {
                last_status = tokio::time::Instant::now();
                let st = status(kubelet_port, &version, idx, &since);
                let _ = nodes
                    .patch_status(
                        &name,
                        &PatchParams::default(),
                        &Patch::Merge(&json!({"status": st})),
                    )
                    .await;
            }
        }
    }))
}
