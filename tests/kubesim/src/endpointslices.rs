//! The EndpointSlice controller (`discovery.k8s.io/v1`), after upstream's `pkg/controller/endpointslice`
//! and `staging/src/k8s.io/endpointslice` (`reconciler.go`, `utils.go`, `util/controller_utils.go`):
//!
//! - every Service with a non-empty selector gets slices labelled `kubernetes.io/service-name: NAME` and
//!   `endpointslice.kubernetes.io/managed-by: endpointslice-controller.k8s.io`, owned by the Service;
//! - a pod is in them while it has an IP and is not terminal (`ShouldPodBeInEndpoints(pod, true)`): a
//!   terminating pod stays until its phase is Succeeded/Failed or it is gone;
//! - its conditions (`podToEndpoint`): `serving` = the pod's Ready condition, `terminating` =
//!   `deletionTimestamp` set, `ready` = serving and not terminating (or `publishNotReadyAddresses`);
//! - endpoints are grouped by their resolved ports (a named `targetPort` may resolve differently per pod),
//!   at most 100 per slice; a Service without endpoints keeps one empty placeholder slice;
//! - each write records the field manager `kube-controller-manager` in `managedFields` with the write's
//!   time, as the API server does for an update that changed the object.

use crate::registry;
use crate::selectors::LabelSelector;
use crate::store::{set_managed, Store};
use crate::util;
use serde_json::{json, Value};
use std::collections::BTreeMap;

pub const SERVICE_NAME: &str = "kubernetes.io/service-name";
pub const MANAGED_BY: &str = "endpointslice.kubernetes.io/managed-by";
pub const CONTROLLER: &str = "endpointslice-controller.k8s.io";
const FIELD_MANAGER: &str = "kube-controller-manager";
const HEADLESS: &str = "service.kubernetes.io/headless";
/// `--max-endpoints-per-slice` default.
const MAX_PER_SLICE: usize = 100;

fn is_terminal(p: &Value) -> bool {
    matches!(util::s(p, "/status/phase"), "Succeeded" | "Failed")
}

fn is_pod_ready(p: &Value) -> bool {
    util::condition_true(p, "Ready")
}

/// `ShouldPodBeInEndpoints(pod, includeTerminating: true)`.
pub fn should_be_in_slices(p: &Value) -> bool {
    !is_terminal(p) && !util::s(p, "/status/podIP").is_empty()
}

/// `podToEndpoint`: the pod's endpoint with its ready/serving/terminating conditions.
pub fn endpoint_of(p: &Value, svc: &Value) -> Value {
    let serving = is_pod_ready(p);
    let terminating = p
        .pointer("/metadata/deletionTimestamp")
        .is_some_and(|x| !x.is_null());
    let ready = util::b(svc, "/spec/publishNotReadyAddresses") || (serving && !terminating);
    let mut ep = json!({
        "addresses": [util::s(p, "/status/podIP")],
        "conditions": {"ready": ready, "serving": serving, "terminating": terminating},
        "targetRef": {"kind": "Pod", "namespace": util::ns(p), "name": util::name(p), "uid": util::uid(p)},
    });
    let node = util::s(p, "/spec/nodeName");
    if !node.is_empty() {
        ep["nodeName"] = json!(node);
    }
    let host = util::s(p, "/spec/hostname");
    if !host.is_empty() && util::s(p, "/spec/subdomain") == util::name(svc) {
        ep["hostname"] = json!(host);
    }
    ep
}

/// `FindPort`: a numeric `targetPort` as is, a named one looked up in the pod's containers (and native
/// sidecars) with the same protocol; no `targetPort` means the Service port (the API server's default).
fn find_port(p: &Value, sp: &Value) -> Option<i64> {
    let proto = sp["protocol"].as_str().unwrap_or("TCP");
    match sp.get("targetPort") {
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(name)) => {
            let sidecars = p
                .pointer("/spec/initContainers")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter(|c| c["restartPolicy"] == "Always");
            p.pointer("/spec/containers")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .chain(sidecars)
                .flat_map(|c| c["ports"].as_array().cloned().unwrap_or_default())
                .find(|port| {
                    port["name"].as_str() == Some(name.as_str())
                        && port["protocol"].as_str().unwrap_or("TCP") == proto
                })
                .and_then(|port| port["containerPort"].as_i64())
        }
        _ => sp["port"].as_i64(),
    }
}

/// `getEndpointPorts`: the Service's ports as this pod resolves them.
fn ports_of(p: &Value, svc: &Value) -> Vec<Value> {
    svc.pointer("/spec/ports")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|sp| {
            let port = find_port(p, sp)?;
            let mut e = json!({
                "name": sp["name"].as_str().unwrap_or(""),
                "port": port,
                "protocol": sp["protocol"].as_str().unwrap_or("TCP"),
            });
            if let Some(a) = sp.get("appProtocol") {
                e["appProtocol"] = a.clone();
            }
            Some(e)
        })
        .collect()
}

/// The slices' labels: the Service's, plus the reserved ones (`setEndpointSliceLabels`).
fn labels_for(svc: &Value) -> Value {
    let mut l = util::labels(svc);
    l.retain(|k, _| ![SERVICE_NAME, MANAGED_BY, HEADLESS].contains(&k.as_str()));
    let cip = util::s(svc, "/spec/clusterIP");
    if cip.is_empty() || cip == "None" {
        l.insert(HEADLESS.into(), json!(""));
    }
    l.insert(SERVICE_NAME.into(), json!(util::name(svc)));
    l.insert(MANAGED_BY.into(), json!(CONTROLLER));
    Value::Object(l)
}

fn owned_by(slice: &Value, svc_uid: &str) -> bool {
    slice
        .pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .is_some_and(|o| {
            o.iter()
                .any(|r| r["kind"] == "Service" && r["uid"].as_str() == Some(svc_uid))
        })
}

fn managed(slice: &Value) -> bool {
    util::s(
        slice,
        "/metadata/labels/endpointslice.kubernetes.io~1managed-by",
    ) == CONTROLLER
}

/// Reconciles every Service's slices, and deletes the managed slices of Services that are gone.
pub fn sync(store: &mut Store, now: i64) {
    let svcs: Vec<Value> = store.iter("services", None).cloned().collect();
    for svc in &svcs {
        reconcile(store, svc, now);
    }
    let orphans: Vec<(String, String)> = store
        .iter("endpointslices", None)
        .filter(|s| managed(s))
        .filter(|s| {
            !svcs.iter().any(|svc| {
                util::ns(svc) == util::ns(s)
                    && owned_by(s, util::uid(svc))
                    && has_selector(svc)
                    && !store.static_uids.contains(util::uid(svc))
            })
        })
        .map(|s| (util::ns(s).to_string(), util::name(s).to_string()))
        .collect();
    for (ns, name) in orphans {
        store.remove("endpointslices", &ns, &name);
    }
}

fn has_selector(svc: &Value) -> bool {
    svc.pointer("/spec/selector")
        .and_then(Value::as_object)
        .is_some_and(|m| !m.is_empty())
}

/// The slices one Service should have: (ports, endpoints) chunks, sorted for stable writes.
pub fn desired_slices(store: &Store, svc: &Value) -> Vec<(Vec<Value>, Vec<Value>)> {
    let sel = LabelSelector::from_json(&json!({"matchLabels": svc["spec"]["selector"]}));
    let mut by_ports: BTreeMap<String, (Vec<Value>, Vec<Value>)> = BTreeMap::new();
    for p in store.iter("pods", Some(util::ns(svc))) {
        if !sel.matches_obj(p) || !should_be_in_slices(p) {
            continue;
        }
        let ports = ports_of(p, svc);
        let key = serde_json::to_string(&ports).unwrap_or_default();
        by_ports
            .entry(key)
            .or_insert_with(|| (ports, vec![]))
            .1
            .push(endpoint_of(p, svc));
    }
    let mut out = vec![];
    for (_, (ports, eps)) in by_ports {
        for chunk in eps.chunks(MAX_PER_SLICE) {
            out.push((ports.clone(), chunk.to_vec()));
        }
    }
    if out.is_empty() {
        // The placeholder slice: no endpoints, no ports.
        out.push((vec![], vec![]));
    }
    out
}

fn reconcile(store: &mut Store, svc: &Value, now: i64) {
    if !has_selector(svc) || store.static_uids.contains(util::uid(svc)) {
        return;
    }
    let ns = util::ns(svc).to_string();
    let mut existing: Vec<Value> = store
        .iter("endpointslices", Some(&ns))
        .filter(|s| managed(s) && owned_by(s, util::uid(svc)))
        .cloned()
        .collect();
    existing.sort_by(|a, b| util::name(a).cmp(util::name(b)));
    let labels = labels_for(svc);
    for (ports, endpoints) in desired_slices(store, svc) {
        // Reuse a slice with the same ports (the reconciler fills existing slices first).
        let pos = existing
            .iter()
            .position(|s| s["ports"].as_array().cloned().unwrap_or_default() == ports);
        match pos.map(|i| existing.remove(i)) {
            Some(mut s) => {
                let eps = json!(endpoints);
                if s["endpoints"] == eps && s.pointer("/metadata/labels") == Some(&labels) {
                    continue;
                }
                s["endpoints"] = eps;
                s["ports"] = json!(ports);
                s["metadata"]["labels"] = labels.clone();
                set_managed(&mut s, FIELD_MANAGER, "Update", now, None);
                store.put("endpointslices", s);
            }
            None => {
                let s = json!({
                    "metadata": {
                        "generateName": format!("{}-", util::name(svc)),
                        "namespace": ns,
                        "labels": labels,
                        "ownerReferences": [util::owner_ref(svc, "Service", "v1")],
                    },
                    "addressType": "IPv4",
                    "endpoints": endpoints,
                    "ports": ports,
                });
                let _ = store.create(
                    registry::by_storage("endpointslices"),
                    s,
                    now,
                    Some(FIELD_MANAGER),
                    false,
                );
            }
        }
    }
    for s in existing {
        store.remove("endpointslices", &ns, util::name(&s));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(extra: Value) -> Value {
        let mut p = json!({
            "metadata": {"name": "web-1", "namespace": "shop", "uid": "u1", "labels": {"app": "web"}},
            "spec": {"nodeName": "node-1", "containers": [{"name": "app", "ports": [{"name": "http", "containerPort": 8080}]}]},
            "status": {"phase": "Running", "podIP": "10.244.1.5", "conditions": [{"type": "Ready", "status": "True"}]},
        });
        if let (Some(p), Some(e)) = (p.as_object_mut(), extra.as_object()) {
            for (k, v) in e {
                if let (Some(Value::Object(dst)), Value::Object(src)) = (p.get_mut(k), v) {
                    dst.extend(src.clone());
                } else {
                    p.insert(k.clone(), v.clone());
                }
            }
        }
        p
    }

    fn svc() -> Value {
        json!({"metadata": {"name": "web", "namespace": "shop", "uid": "s1"},
               "spec": {"selector": {"app": "web"}, "clusterIP": "10.96.0.10", "ports": [{"port": 80, "targetPort": "http"}]}})
    }

    #[test]
    fn conditions_follow_pod_to_endpoint() {
        let e = endpoint_of(&pod(json!({})), &svc());
        assert_eq!(
            e["conditions"],
            json!({"ready": true, "serving": true, "terminating": false})
        );
        assert_eq!(e["targetRef"]["name"], "web-1");
        assert_eq!(e["nodeName"], "node-1");
        // Terminating and still Ready: serving, not ready.
        let t = pod(json!({"metadata": {"deletionTimestamp": "2026-01-01T00:00:30Z"}}));
        assert_eq!(
            endpoint_of(&t, &svc())["conditions"],
            json!({"ready": false, "serving": true, "terminating": true})
        );
        assert!(
            should_be_in_slices(&t),
            "a terminating pod stays in the slice"
        );
        // publishNotReadyAddresses: ready whatever the pod says.
        let mut s = svc();
        s["spec"]["publishNotReadyAddresses"] = json!(true);
        assert_eq!(endpoint_of(&t, &s)["conditions"]["ready"], true);
    }

    #[test]
    fn terminal_or_addressless_pods_leave() {
        assert!(!should_be_in_slices(&pod(
            json!({"status": {"phase": "Succeeded", "podIP": "10.244.1.5"}})
        )));
        let mut pending = pod(json!({"status": {"phase": "Pending"}}));
        pending["status"].as_object_mut().unwrap().remove("podIP");
        assert!(!should_be_in_slices(&pending));
    }

    #[test]
    fn named_target_ports_resolve_per_pod() {
        assert_eq!(
            ports_of(&pod(json!({})), &svc()),
            vec![json!({"name": "", "port": 8080, "protocol": "TCP"})]
        );
        let mut s = svc();
        s["spec"]["ports"] = json!([{"name": "web", "port": 80}]);
        assert_eq!(ports_of(&pod(json!({})), &s)[0]["port"], 80);
        let mut s = svc();
        s["spec"]["ports"] = json!([{"port": 80, "targetPort": "metrics"}]);
        assert!(
            ports_of(&pod(json!({})), &s).is_empty(),
            "an unknown port name is skipped"
        );
    }

    #[test]
    fn labels_carry_the_reserved_keys() {
        let mut s = svc();
        s["metadata"]["labels"] = json!({"team": "a", SERVICE_NAME: "spoofed"});
        assert_eq!(
            labels_for(&s),
            json!({"team": "a", SERVICE_NAME: "web", MANAGED_BY: CONTROLLER})
        );
        s["spec"]["clusterIP"] = json!("None");
        assert_eq!(labels_for(&s)[HEADLESS], "");
    }
}
