//! Node-level events: what a kubelet does to a whole pod or to its node, on request (kubesim
//! has no resource usage or power to run out of). Node-pressure eviction and graceful node
//! shutdown fail a running pod the way the kubelet does (pkg/kubelet/eviction/helpers.go,
//! pkg/kubelet/nodeshutdown): phase Failed, a reason and message, DisruptionTarget
//! `TerminationByKubelet`, containers 137 `ContainerStatusUnknown`; the pod object stays and its
//! controller replaces it. A node turning NotReady gets no new pods.

use super::container::UNKNOWN;
use super::{write, PodRt};
use crate::state::State;
use crate::util::{self, fmt_ts};
use serde_json::json;

/// The eviction manager's message for `resource` pressure and the pod's first container.
pub fn pressure_message(resource: &str, container: &str) -> String {
    format!(
        "The node was low on resource: {resource}. Threshold quantity: 100Mi, available: 28Mi. Container {container} was using 1536Mi, request is 0, has larger consumption of {resource}. "
    )
}

pub const SHUTDOWN_MESSAGE: &str = "Pod was terminated in response to imminent node shutdown.";

/// Fail pod `ns/name` on its node with `reason` and `message` (a Warning event `reason` when
/// `event`). `false` when there is no such pod bound to a node.
pub fn fail_pod(
    st: &mut State,
    ns: &str,
    name: &str,
    reason: &str,
    message: &str,
    event: bool,
) -> bool {
    let now = st.now();
    let Some(pod) = st.store.get("pods", ns, name).cloned() else {
        return false;
    };
    let node = util::s(&pod, "/spec/nodeName").to_string();
    if node.is_empty() {
        return false;
    }
    let uid = util::uid(&pod).to_string();
    let rt = st.kubelet.pods.entry(uid.clone()).or_insert_with(|| {
        st.store.static_uids.remove(&uid);
        PodRt {
            run: super::pod::PodRun::from_status(&pod),
            node: node.clone(),
            host_ip: util::s(&pod, "/status/hostIP").to_string(),
            seen_rv: String::new(),
            next_wake: 0,
        }
    });
    let evs = rt.run.fail(now, reason, message, UNKNOWN, event);
    let written = write(&mut st.store, rt, &pod, evs, now);
    rt.seen_rv = util::s(&written, "/metadata/resourceVersion").to_string();
    rt.next_wake = now + 1;
    true
}

/// Mark node `name` Ready or NotReady (the node lifecycle controller's `Unknown`).
pub fn set_ready(st: &mut State, name: &str, ready: bool) -> bool {
    let now = st.now();
    let Some(mut n) = st.store.get("nodes", "", name).cloned() else {
        return false;
    };
    if let Some(cs) = n
        .pointer_mut("/status/conditions")
        .and_then(|c| c.as_array_mut())
    {
        for c in cs.iter_mut().filter(|c| c["type"] == "Ready") {
            c["status"] = json!(if ready { "True" } else { "Unknown" });
            c["reason"] = json!(if ready {
                "KubeletReady"
            } else {
                "NodeStatusUnknown"
            });
            c["message"] = json!(if ready {
                "kubelet is posting ready status"
            } else {
                "Kubelet stopped posting node status."
            });
            c["lastTransitionTime"] = json!(fmt_ts(now));
        }
    }
    st.store.put("nodes", n);
    true
}
