//! Scenarios: YAML documents loaded as objects (static when they carry a status), and the
//! default nodes.

use crate::state::State;
use crate::{registry, server, util};
use anyhow::Context;
use serde_json::{json, Value};

pub(crate) fn node_obj(name: &str, idx: usize, version: &str) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux", "beta.kubernetes.io/arch": "amd64"}},
        "spec": {"podCIDR": format!("10.244.{idx}.0/24"), "podCIDRs": [format!("10.244.{idx}.0/24")]},
        "status": {
            "conditions": [
                {"type": "MemoryPressure", "status": "False", "reason": "KubeletHasSufficientMemory", "message": "kubelet has sufficient memory available"},
                {"type": "DiskPressure", "status": "False", "reason": "KubeletHasNoDiskPressure", "message": "kubelet has no disk pressure"},
                {"type": "PIDPressure", "status": "False", "reason": "KubeletHasSufficientPID", "message": "kubelet has sufficient PID available"},
                {"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "kubelet is posting ready status"},
            ],
            "addresses": [{"type": "InternalIP", "address": format!("10.0.0.{idx}")}, {"type": "Hostname", "address": name}],
            "capacity": {"cpu": "64", "memory": "263975232Ki", "pods": "250", "ephemeral-storage": "102350Mi"},
            "allocatable": {"cpu": "64", "memory": "263872832Ki", "pods": "250", "ephemeral-storage": "102350Mi"},
            "nodeInfo": {"kubeletVersion": version, "kubeProxyVersion": version, "containerRuntimeVersion": "containerd://1.7.24", "osImage": "Debian GNU/Linux 12 (bookworm)", "kernelVersion": "6.1.0-27-amd64", "architecture": "amd64", "operatingSystem": "linux", "machineID": util::rand_hex(32), "systemUUID": util::new_uid(), "bootID": util::new_uid()},
        },
    })
}

/// Parse multi-document YAML (and `List`s) into objects.
pub fn parse_objects(yaml: &str) -> anyhow::Result<Vec<Value>> {
    use serde::Deserialize;
    let mut out = Vec::new();
    for doc in serde_yaml::Deserializer::from_str(yaml) {
        let v = Value::deserialize(doc).context("parsing scenario YAML")?;
        if v.is_null() {
            continue;
        }
        let kind = util::s(&v, "/kind");
        if kind == "List" || (kind.ends_with("List") && v.get("items").is_some()) {
            for it in v["items"].as_array().cloned().unwrap_or_default() {
                out.push(it);
            }
        } else {
            out.push(v);
        }
    }
    Ok(out)
}

pub(crate) fn load_objects(st: &mut State, objs: Vec<Value>) -> anyhow::Result<()> {
    let now = st.now();
    for mut o in objs {
        let av = util::s(&o, "/apiVersion").to_string();
        let kind = util::s(&o, "/kind").to_string();
        let def = registry::by_kind(&av, &kind)
            .with_context(|| format!("unsupported object {av}/{kind}"))?;
        let def = registry::by_storage(def.storage);
        if def.storage == "events"
            && o.get("involvedObject").is_none()
            && o.get("regarding").is_some()
        {
            o = server_unview_event(o);
        }
        if def.storage == "events" && util::name(&o).is_empty() {
            let n = format!(
                "{}.{}",
                util::s(&o, "/involvedObject/name"),
                util::rand_hex(16)
            );
            util::obj_at(&mut o, &["metadata"]).insert("name".into(), json!(n));
        }
        if def.storage != "events" {
            o = server::prepare_create(def, o);
        }
        let ns = if def.namespaced {
            util::ns(&o).to_string()
        } else {
            String::new()
        };
        let ns = if def.namespaced && ns.is_empty() {
            "default".to_string()
        } else {
            ns
        };
        if st.store.get(def.storage, &ns, util::name(&o)).is_some() {
            // replace: keep uid/creationTimestamp of the stored object unless given
            let cur = st
                .store
                .get(def.storage, &ns, util::name(&o))
                .cloned()
                .unwrap();
            let m = util::obj_at(&mut o, &["metadata"]);
            m.insert("namespace".into(), json!(ns));
            for k in ["uid", "creationTimestamp"] {
                if !m.contains_key(k) {
                    if let Some(v) = cur.pointer(&format!("/metadata/{k}")) {
                        m.insert(k.into(), v.clone());
                    }
                }
            }
            if !m.contains_key("generation") && def.has_generation() {
                let g = util::i(&cur, "/metadata/generation").unwrap_or(1);
                let changed = o.get("spec") != cur.get("spec");
                util::obj_at(&mut o, &["metadata"])
                    .insert("generation".into(), json!(if changed { g + 1 } else { g }));
            }
            o["apiVersion"] = json!(def.api_version());
            o["kind"] = json!(def.kind);
            let has_status = o
                .get("status")
                .is_some_and(|s| s.as_object().is_some_and(|m| !m.is_empty()));
            if !has_status {
                if let Some(s) = cur.get("status") {
                    o["status"] = s.clone();
                }
                st.store.static_uids.remove(util::uid(&o));
            } else {
                st.store.static_uids.insert(util::uid(&o).to_string());
            }
            st.store.put(def.storage, o);
        } else {
            st.store.create(def, o, now, None, true)?;
        }
    }
    Ok(())
}

fn server_unview_event(o: Value) -> Value {
    let def = registry::find("events.k8s.io", "v1", "events").unwrap();
    server::unview(def, o)
}
