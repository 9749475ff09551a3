//! The scheduler: binds each pending pod to a Ready, schedulable node that matches its
//! `nodeSelector` and has room for its requests (the fewest pods first), or records
//! `FailedScheduling` with the default scheduler's message.

use crate::store::Store;
use crate::util::{self, fmt_ts};
use serde_json::{json, Value};
use std::collections::HashMap;

/// What the nodes hold, computed once per pass over the pods.
#[derive(Default)]
pub struct Capacity {
    nodes: Vec<Value>,
    counts: HashMap<String, usize>,
    used: HashMap<String, (f64, f64)>,
}

impl Capacity {
    pub fn of(store: &Store) -> Capacity {
        let mut c = Capacity {
            nodes: store.iter("nodes", None).cloned().collect(),
            ..Capacity::default()
        };
        for p in store.iter("pods", None) {
            let n = util::s(p, "/spec/nodeName");
            if n.is_empty() {
                continue;
            }
            *c.counts.entry(n.to_string()).or_default() += 1;
            let ph = util::s(p, "/status/phase");
            if ph != "Succeeded" && ph != "Failed" {
                let (cpu, mem) = pod_requests(p);
                let e = c.used.entry(n.to_string()).or_default();
                e.0 += cpu;
                e.1 += mem;
            }
        }
        c
    }

    /// The address of node `name` (its first status address).
    pub fn host_ip(&self, name: &str) -> Option<String> {
        self.nodes
            .iter()
            .find(|n| util::name(n) == name)
            .and_then(|n| {
                n.pointer("/status/addresses/0/address")?
                    .as_str()
                    .map(String::from)
            })
    }
}

/// Bind `pod` (unscheduled) if a node fits: `Some(node)`, the pod written with `spec.nodeName`
/// and `PodScheduled`, a `Scheduled` event. `None`: `PodScheduled` False `Unschedulable` and a
/// `FailedScheduling` event when the message changed.
pub fn schedule(store: &mut Store, cap: &mut Capacity, pod: &Value, now: i64) -> Option<String> {
    match pick_node(&cap.nodes, &cap.counts, &cap.used, pod) {
        Some(n) => {
            *cap.counts.entry(n.clone()).or_default() += 1;
            let (c, m) = pod_requests(pod);
            let e = cap.used.entry(n.clone()).or_default();
            e.0 += c;
            e.1 += m;
            let mut p = pod.clone();
            p["spec"]["nodeName"] = json!(n);
            let conds = json!([{"type": "PodScheduled", "status": "True", "lastProbeTime": null, "lastTransitionTime": fmt_ts(now)}]);
            let st = util::obj_at(&mut p, &["status"]);
            st.insert("phase".into(), json!("Pending"));
            st.insert("conditions".into(), conds);
            st.insert("qosClass".into(), json!(qos(pod)));
            let p = store.put("pods", p);
            store.record_event(
                &p,
                None,
                "Normal",
                "Scheduled",
                &format!(
                    "Successfully assigned {}/{} to {}",
                    util::ns(&p),
                    util::name(&p),
                    n
                ),
                "default-scheduler",
                "",
                now,
            );
            Some(n)
        }
        None => {
            let mut p = pod.clone();
            let msg = unschedulable_message(&cap.nodes, &cap.used, pod);
            let st = util::obj_at(&mut p, &["status"]);
            st.insert("phase".into(), json!("Pending"));
            let prev = pod
                .pointer("/status/conditions/0/lastTransitionTime")
                .cloned()
                .unwrap_or(json!(fmt_ts(now)));
            st.insert("conditions".into(), json!([{"type": "PodScheduled", "status": "False", "lastProbeTime": null, "lastTransitionTime": prev, "reason": "Unschedulable", "message": msg}]));
            if store.put("pods", p) != *pod {
                store.record_event(
                    pod,
                    None,
                    "Warning",
                    "FailedScheduling",
                    &msg,
                    "default-scheduler",
                    "",
                    now,
                );
            }
            None
        }
    }
}

/// The node a pod is bound to, or the one its required node affinity names by
/// `matchFields metadata.name` (a daemon pod not bound yet: daemon/util GetTargetNodeName).
pub fn target_node(pod: &Value) -> &str {
    let bound = util::s(pod, "/spec/nodeName");
    if !bound.is_empty() {
        return bound;
    }
    pod.pointer("/spec/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution/nodeSelectorTerms/0/matchFields")
        .and_then(Value::as_array)
        .and_then(|fs| fs.iter().find(|f| f["key"] == "metadata.name"))
        .and_then(|f| f.pointer("/values/0"))
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// The node matches the pod's `nodeSelector` and required node affinity (terms ORed, their
/// requirements ANDed; `matchFields` on `metadata.name`, `matchExpressions` on labels).
fn selects(pod: &Value, node: &Value) -> bool {
    let labels = util::labels(node);
    let sel_ok = pod
        .pointer("/spec/nodeSelector")
        .and_then(Value::as_object)
        .is_none_or(|sel| sel.iter().all(|(k, v)| labels.get(k) == Some(v)));
    let Some(terms) = pod
        .pointer("/spec/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution/nodeSelectorTerms")
        .and_then(Value::as_array)
    else {
        return sel_ok;
    };
    let requirement = |r: &Value, value: Option<&str>| {
        let values: Vec<&str> = r["values"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        match r["operator"].as_str().unwrap_or("") {
            "In" => value.is_some_and(|v| values.contains(&v)),
            "NotIn" => value.is_none_or(|v| !values.contains(&v)),
            "Exists" => value.is_some(),
            "DoesNotExist" => value.is_none(),
            _ => false,
        }
    };
    let term = |t: &Value| {
        let fields = t["matchFields"]
            .as_array()
            .into_iter()
            .flatten()
            .all(|f| f["key"] == "metadata.name" && requirement(f, Some(util::name(node))));
        let exprs = t["matchExpressions"]
            .as_array()
            .into_iter()
            .flatten()
            .all(|e| {
                let key = e["key"].as_str().unwrap_or("");
                requirement(e, labels.get(key).and_then(Value::as_str))
            });
        fields && exprs
    };
    sel_ok && terms.iter().any(term)
}

/// The pod's QoS class (what the API server sets at creation).
pub fn qos(pod: &Value) -> &'static str {
    let cs = pod
        .pointer("/spec/containers")
        .and_then(|x| x.as_array())
        .cloned()
        .unwrap_or_default();
    let any = cs.iter().any(|c| {
        c.pointer("/resources/requests").is_some() || c.pointer("/resources/limits").is_some()
    });
    if !any {
        return "BestEffort";
    }
    let guaranteed = cs.iter().all(|c| {
        let l = c.pointer("/resources/limits");
        let r = c.pointer("/resources/requests").or(l);
        l.is_some()
            && l.and_then(|l| l.get("cpu")).is_some()
            && l.and_then(|l| l.get("memory")).is_some()
            && r == l
    });
    if guaranteed {
        "Guaranteed"
    } else {
        "Burstable"
    }
}

/// Parse a resource quantity (`500m`, `2`, `256Mi`, `1G`, `16272232Ki`) into cores / bytes.
pub fn quantity(v: &Value) -> f64 {
    let s = match v {
        Value::Number(n) => return n.as_f64().unwrap_or(0.0),
        Value::String(s) => s.trim(),
        _ => return 0.0,
    };
    let units: [(&str, f64); 13] = [
        ("Ki", 1024.0),
        ("Mi", 1024.0f64.powi(2)),
        ("Gi", 1024.0f64.powi(3)),
        ("Ti", 1024.0f64.powi(4)),
        ("Pi", 1024.0f64.powi(5)),
        ("m", 0.001),
        ("k", 1e3),
        ("K", 1e3),
        ("M", 1e6),
        ("G", 1e9),
        ("T", 1e12),
        ("P", 1e15),
        ("E", 1e18),
    ];
    for (u, f) in units {
        if let Some(n) = s.strip_suffix(u) {
            return n.parse::<f64>().unwrap_or(0.0) * f;
        }
    }
    s.parse().unwrap_or(0.0)
}

/// (cpu cores, memory bytes) a pod requests (requests, or limits when no requests).
pub fn pod_requests(pod: &Value) -> (f64, f64) {
    let mut cpu = 0.0;
    let mut mem = 0.0;
    for c in pod
        .pointer("/spec/containers")
        .and_then(|c| c.as_array())
        .into_iter()
        .flatten()
    {
        let get = |k: &str| {
            c.pointer(&format!("/resources/requests/{k}"))
                .or_else(|| c.pointer(&format!("/resources/limits/{k}")))
        };
        cpu += get("cpu").map(quantity).unwrap_or(0.0);
        mem += get("memory").map(quantity).unwrap_or(0.0);
    }
    (cpu, mem)
}

fn insufficient(
    node: &Value,
    used: &HashMap<String, (f64, f64)>,
    req: (f64, f64),
) -> Option<&'static str> {
    let (uc, um) = used.get(util::name(node)).copied().unwrap_or((0.0, 0.0));
    let ac = node
        .pointer("/status/allocatable/cpu")
        .map(quantity)
        .unwrap_or(f64::MAX);
    let am = node
        .pointer("/status/allocatable/memory")
        .map(quantity)
        .unwrap_or(f64::MAX);
    if req.0 > 0.0 && uc + req.0 > ac {
        Some("Insufficient cpu")
    } else if req.1 > 0.0 && um + req.1 > am {
        Some("Insufficient memory")
    } else {
        None
    }
}

/// The scheduler's FailedScheduling message for a pod no node fits.
fn unschedulable_message(
    nodes: &[Value],
    used: &HashMap<String, (f64, f64)>,
    pod: &Value,
) -> String {
    let total = nodes.len();
    if total == 0 {
        return "no nodes available to schedule pods".into();
    }
    let mut reasons: std::collections::BTreeMap<String, usize> = Default::default();
    for n in nodes {
        let r = if !util::condition_true(n, "Ready") {
            "node(s) had untolerated taint {node.kubernetes.io/unreachable: }"
        } else if util::b(n, "/spec/unschedulable") {
            "node(s) were unschedulable"
        } else if !selects(pod, n) {
            "node(s) didn't match Pod's node affinity/selector"
        } else {
            insufficient(n, used, pod_requests(pod))
                .unwrap_or("node(s) didn't have free ports for the requested pod ports")
        };
        *reasons.entry(r.to_string()).or_default() += 1;
    }
    let parts: Vec<String> = reasons.iter().map(|(r, c)| format!("{c} {r}")).collect();
    let victims = reasons
        .keys()
        .filter(|r| r.starts_with("Insufficient"))
        .map(|r| reasons[r])
        .sum::<usize>();
    let mut pre = Vec::new();
    if victims > 0 {
        pre.push(format!(
            "{victims} No preemption victims found for incoming pod"
        ));
    }
    if total > victims {
        pre.push(format!(
            "{} Preemption is not helpful for scheduling",
            total - victims
        ));
    }
    format!(
        "0/{total} nodes are available: {}. preemption: 0/{total} nodes are available: {}.",
        parts.join(", "),
        pre.join(", ")
    )
}

fn pick_node(
    nodes: &[Value],
    counts: &HashMap<String, usize>,
    used: &HashMap<String, (f64, f64)>,
    pod: &Value,
) -> Option<String> {
    let req = pod_requests(pod);
    nodes
        .iter()
        .filter(|n| !util::b(n, "/spec/unschedulable"))
        .filter(|n| util::condition_true(n, "Ready"))
        .filter(|n| selects(pod, n))
        .filter(|n| insufficient(n, used, req).is_none())
        .min_by_key(|n| {
            (
                counts.get(util::name(n)).copied().unwrap_or(0),
                util::name(n).to_string(),
            )
        })
        .map(|n| util::name(n).to_string())
}
