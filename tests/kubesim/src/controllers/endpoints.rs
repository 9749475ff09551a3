//! The Endpoints controller (pkg/controller/endpoint): for each Service with a selector, its
//! pods' addresses (ready ones in `addresses`, the others in `notReadyAddresses`).

use super::*;
use crate::selectors::LabelSelector;

/// Endpoints for a Service with a selector: ready pods in `addresses`, the others in `notReadyAddresses`.
pub(super) fn endpoints(store: &mut Store, svc: &Value, now: i64) {
    let Some(sel) = svc
        .pointer("/spec/selector")
        .and_then(|x| x.as_object())
        .filter(|m| !m.is_empty())
    else {
        return;
    };
    let sel = LabelSelector::from_json(&json!({"matchLabels": sel}));
    let ns = util::ns(svc).to_string();
    let name = util::name(svc).to_string();
    let mut ready = vec![];
    let mut not_ready = vec![];
    for p in store.iter("pods", Some(&ns)) {
        if !sel.matches_obj(p)
            || util::s(p, "/status/podIP").is_empty()
            || !is_active(p) && !is_deleting(p)
        {
            continue;
        }
        let addr = json!({
            "ip": util::s(p, "/status/podIP"), "nodeName": util::s(p, "/spec/nodeName"),
            "targetRef": {"kind": "Pod", "namespace": ns, "name": util::name(p), "uid": util::uid(p)},
        });
        if is_ready(p) && !is_deleting(p) {
            ready.push(addr);
        } else {
            not_ready.push(addr);
        }
    }
    let ports: Vec<Value> = svc
        .pointer("/spec/ports")
        .and_then(|x| x.as_array())
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|p| {
            let mut o = json!({"port": p.get("targetPort").filter(|t| t.is_number()).cloned().or(p.get("port").cloned()).unwrap_or(json!(80)), "protocol": p.get("protocol").cloned().unwrap_or(json!("TCP"))});
            if let Some(n) = p.get("name") {
                o["name"] = n.clone();
            }
            o
        })
        .collect();
    let mut subset = serde_json::Map::new();
    if !ready.is_empty() {
        subset.insert("addresses".into(), json!(ready));
    }
    if !not_ready.is_empty() {
        subset.insert("notReadyAddresses".into(), json!(not_ready));
    }
    let subsets = if subset.is_empty() {
        json!([])
    } else {
        subset.insert("ports".into(), json!(ports));
        json!([subset])
    };
    match store.get("endpoints", &ns, &name).cloned() {
        Some(mut e) => {
            if e.get("subsets") != Some(&subsets) {
                e["subsets"] = subsets;
                store.put("endpoints", e);
            }
        }
        None => {
            let e = json!({"metadata": {"name": name, "namespace": ns, "labels": svc.pointer("/metadata/labels").cloned().unwrap_or(json!({}))}, "subsets": subsets});
            let _ = store.create(
                registry::by_storage("endpoints"),
                e,
                now,
                Some("kube-controller-manager"),
                false,
            );
        }
    }
}
