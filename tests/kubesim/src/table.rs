//! Server-side `Table` rendering for `kubectl get`.

use crate::registry::ResDef;
use crate::util::{self, human_duration, parse_ts};
use serde_json::{json, Value};

fn col(name: &str, typ: &str, priority: i64) -> Value {
    let format = if name == "Name" { "name" } else { "" };
    json!({"name": name, "type": typ, "format": format, "description": name, "priority": priority})
}

/// Column definitions: `shown` by default, `wide` only with `-o wide` (priority 1); all strings.
fn columns(shown: &[&str], wide: &[&str]) -> Vec<Value> {
    let shown = shown.iter().map(|name| col(name, "string", 0));
    shown
        .chain(wide.iter().map(|name| col(name, "string", 1)))
        .collect()
}

/// One row of cells per item.
fn rows_of(items: &[Value], cells: impl Fn(&Value) -> Vec<Value>) -> Vec<Vec<Value>> {
    items.iter().map(cells).collect()
}

fn age(o: &Value, now: i64) -> String {
    match parse_ts(util::s(o, "/metadata/creationTimestamp")) {
        Some(t) => human_duration(now - t),
        None => "<unknown>".into(),
    }
}

fn ago(ts: &str, now: i64) -> String {
    match parse_ts(ts) {
        Some(t) => human_duration(now - t),
        None => "<unknown>".into(),
    }
}

/// kubectl's pod STATUS column.
pub fn pod_status(p: &Value) -> (String, i64, i64, i64, String) {
    let mut reason = util::s(p, "/status/phase").to_string();
    if !util::s(p, "/status/reason").is_empty() {
        reason = util::s(p, "/status/reason").to_string();
    }
    let cs = p
        .pointer("/status/containerStatuses")
        .and_then(|c| c.as_array())
        .cloned()
        .unwrap_or_default();
    let ics = p
        .pointer("/status/initContainerStatuses")
        .and_then(|c| c.as_array())
        .cloned()
        .unwrap_or_default();
    let total = p
        .pointer("/spec/containers")
        .and_then(|c| c.as_array())
        .map(|a| a.len())
        .unwrap_or(0) as i64;
    let mut restarts = 0;
    let mut ready = 0;
    let mut last_restart: Option<i64> = None;
    let mut initializing = false;
    let n_init = p
        .pointer("/spec/initContainers")
        .and_then(|c| c.as_array())
        .map(|a| a.len())
        .unwrap_or(0);
    for (i, c) in ics.iter().enumerate() {
        restarts += util::i(c, "/restartCount").unwrap_or(0);
        if let Some(t) = parse_ts(util::s(c, "/lastState/terminated/finishedAt")) {
            last_restart = Some(last_restart.map_or(t, |l: i64| l.max(t)));
        }
        if let Some(t) = c.pointer("/state/terminated") {
            if util::i(t, "/exitCode") == Some(0) {
                continue;
            }
        }
        if util::s(c, "/state/waiting/reason").is_empty()
            && c.pointer("/state/running").is_some()
            && util::s(&p["spec"]["initContainers"][i], "/restartPolicy") == "Always"
        {
            continue;
        }
        let w = util::s(c, "/state/waiting/reason");
        let t = c.pointer("/state/terminated");
        reason = if let Some(t) = t {
            let r = util::s(t, "/reason");
            if r.is_empty() {
                format!("Init:ExitCode:{}", util::i(t, "/exitCode").unwrap_or(0))
            } else {
                format!("Init:{r}")
            }
        } else if !w.is_empty() && w != "PodInitializing" {
            format!("Init:{w}")
        } else {
            format!("Init:{i}/{n_init}")
        };
        initializing = true;
        break;
    }
    if !initializing {
        restarts = 0;
        let mut has_running = false;
        for c in cs.iter().rev() {
            restarts += util::i(c, "/restartCount").unwrap_or(0);
            if let Some(t) = parse_ts(util::s(c, "/lastState/terminated/finishedAt")) {
                last_restart = Some(last_restart.map_or(t, |l: i64| l.max(t)));
            }
            let w = util::s(c, "/state/waiting/reason");
            if !w.is_empty() {
                reason = w.to_string();
            } else if let Some(t) = c.pointer("/state/terminated") {
                let r = util::s(t, "/reason");
                reason = if !r.is_empty() {
                    r.to_string()
                } else if util::i(t, "/signal").unwrap_or(0) != 0 {
                    format!("Signal:{}", util::i(t, "/signal").unwrap_or(0))
                } else {
                    format!("ExitCode:{}", util::i(t, "/exitCode").unwrap_or(0))
                };
            } else if c.pointer("/state/running").is_some() && util::b(c, "/ready") {
                has_running = true;
                ready += 1;
            }
        }
        if reason == "Completed" && has_running {
            reason = if util::condition_true(p, "Ready") {
                "Running".into()
            } else {
                "NotReady".into()
            };
        }
    }
    if p.pointer("/metadata/deletionTimestamp")
        .is_some_and(|x| !x.is_null())
    {
        reason = if util::s(p, "/status/reason") == "NodeLost" {
            "Unknown".into()
        } else {
            "Terminating".into()
        };
    }
    (
        reason,
        ready,
        total,
        restarts,
        last_restart.map(|t| t.to_string()).unwrap_or_default(),
    )
}

fn images(o: &Value) -> (String, String) {
    let cs = o
        .pointer("/spec/template/spec/containers")
        .and_then(|c| c.as_array())
        .cloned()
        .unwrap_or_default();
    (
        cs.iter()
            .map(|c| util::s(c, "/name").to_string())
            .collect::<Vec<_>>()
            .join(","),
        cs.iter()
            .map(|c| util::s(c, "/image").to_string())
            .collect::<Vec<_>>()
            .join(","),
    )
}

/// The string map at `ptr` as `k=v,k=v` (`<none>` when absent or empty).
fn key_values(o: &Value, ptr: &str) -> String {
    o.pointer(ptr)
        .and_then(|x| x.as_object())
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                .collect::<Vec<_>>()
                .join(",")
        })
        .filter(|s| !s.is_empty())
        .unwrap_or("<none>".into())
}

/// The first of the string fields at `ptrs` that is set ("" when none is).
fn first_set(o: &Value, ptrs: &[&str]) -> String {
    ptrs.iter()
        .map(|p| util::s(o, p))
        .find(|s| !s.is_empty())
        .unwrap_or("")
        .to_string()
}

fn selector_str(o: &Value) -> String {
    o.pointer("/spec/selector")
        .map(|s| crate::selectors::LabelSelector::from_json(s).to_query())
        .unwrap_or_else(|| "<none>".into())
}

/// `READY/REPLICAS` of a workload, as its Ready column shows it.
fn ready_of_replicas(o: &Value) -> String {
    format!(
        "{}/{}",
        util::i(o, "/status/readyReplicas").unwrap_or(0),
        util::i(o, "/spec/replicas").unwrap_or(1)
    )
}

/// The columns and rows of a workload kind: Name, the kind's own columns (`own`, cells from
/// `cells`), Age, and for `-o wide` the template's Containers and Images, and the Selector unless
/// the kind has none there (StatefulSet; kubectl's printers.go).
fn workloads(
    items: &[Value],
    now: i64,
    own: &[(&str, &str)],
    cells: impl Fn(&Value) -> Vec<Value>,
    with_selector: bool,
) -> (Vec<Value>, Vec<Vec<Value>>) {
    let mut cols = vec![col("Name", "string", 0)];
    cols.extend(own.iter().map(|(name, typ)| col(name, typ, 0)));
    cols.push(col("Age", "string", 0));
    cols.extend(["Containers", "Images", "Selector"].map(|name| col(name, "string", 1)));
    if !with_selector {
        cols.pop();
    }
    let rows = items
        .iter()
        .map(|d| {
            let (containers, images) = images(d);
            let mut row = vec![json!(util::name(d))];
            row.extend(cells(d));
            row.extend([json!(age(d, now)), json!(containers), json!(images)]);
            if with_selector {
                row.push(json!(selector_str(d)));
            }
            row
        })
        .collect();
    (cols, rows)
}

pub fn table(
    def: &ResDef,
    items: &[Value],
    now: i64,
    rv: &str,
    cont: Option<&str>,
    full: bool,
) -> Value {
    let i0 = |o: &Value, p: &str| util::i(o, p).unwrap_or(0);
    let (cols, rows): (Vec<Value>, Vec<Vec<Value>>) = match def.kind {
        "Pod" => (
            columns(
                &["Name", "Ready", "Status", "Restarts", "Age"],
                &["IP", "Node", "Nominated Node", "Readiness Gates"],
            ),
            rows_of(items, |p| {
                let (reason, ready, total, restarts, last) = pod_status(p);
                let rs = match last.parse::<i64>() {
                    Ok(t) if restarts > 0 => {
                        format!("{restarts} ({} ago)", human_duration(now - t))
                    }
                    _ => restarts.to_string(),
                };
                let ip = util::s(p, "/status/podIP");
                let node = util::s(p, "/spec/nodeName");
                vec![
                    json!(util::name(p)),
                    json!(format!("{ready}/{total}")),
                    json!(reason),
                    json!(rs),
                    json!(age(p, now)),
                    json!(if ip.is_empty() { "<none>" } else { ip }),
                    json!(if node.is_empty() { "<none>" } else { node }),
                    json!("<none>"),
                    json!("<none>"),
                ]
            }),
        ),
        "Deployment" => workloads(
            items,
            now,
            &[
                ("Ready", "string"),
                ("Up-to-date", "integer"),
                ("Available", "integer"),
            ],
            |d| {
                vec![
                    json!(ready_of_replicas(d)),
                    json!(i0(d, "/status/updatedReplicas")),
                    json!(i0(d, "/status/availableReplicas")),
                ]
            },
            true,
        ),
        "ReplicaSet" => workloads(
            items,
            now,
            &[
                ("Desired", "integer"),
                ("Current", "integer"),
                ("Ready", "integer"),
            ],
            |d| {
                vec![
                    json!(util::i(d, "/spec/replicas").unwrap_or(1)),
                    json!(i0(d, "/status/replicas")),
                    json!(i0(d, "/status/readyReplicas")),
                ]
            },
            true,
        ),
        "StatefulSet" => workloads(
            items,
            now,
            &[("Ready", "string")],
            |d| vec![json!(ready_of_replicas(d))],
            false,
        ),
        "DaemonSet" => workloads(
            items,
            now,
            &[
                ("Desired", "integer"),
                ("Current", "integer"),
                ("Ready", "integer"),
                ("Up-to-date", "integer"),
                ("Available", "integer"),
                ("Node Selector", "string"),
            ],
            |d| {
                let ns = key_values(d, "/spec/template/spec/nodeSelector");
                vec![
                    json!(i0(d, "/status/desiredNumberScheduled")),
                    json!(i0(d, "/status/currentNumberScheduled")),
                    json!(i0(d, "/status/numberReady")),
                    json!(i0(d, "/status/updatedNumberScheduled")),
                    json!(i0(d, "/status/numberAvailable")),
                    json!(ns),
                ]
            },
            true,
        ),
        "Node" => (
            columns(
                &["Name", "Status", "Roles", "Age", "Version"],
                &["Internal-IP"],
            ),
            rows_of(items, |n| {
                let mut status = if util::condition_true(n, "Ready") {
                    "Ready".to_string()
                } else {
                    "NotReady".to_string()
                };
                if util::b(n, "/spec/unschedulable") {
                    status.push_str(",SchedulingDisabled");
                }
                vec![
                    json!(util::name(n)),
                    json!(status),
                    json!("<none>"),
                    json!(age(n, now)),
                    json!(util::s(n, "/status/nodeInfo/kubeletVersion")),
                    json!(util::s(n, "/status/addresses/0/address")),
                ]
            }),
        ),
        "Namespace" => (
            columns(&["Name", "Status", "Age"], &[]),
            rows_of(items, |n| {
                vec![
                    json!(util::name(n)),
                    json!(util::s(n, "/status/phase")),
                    json!(age(n, now)),
                ]
            }),
        ),
        "Event" => (
            vec![
                col("Last Seen", "string", 0),
                col("Type", "string", 0),
                col("Reason", "string", 0),
                col("Object", "string", 0),
                col("Subobject", "string", 1),
                col("Source", "string", 1),
                col("Message", "string", 0),
                col("First Seen", "string", 1),
                col("Count", "string", 1),
                col("Name", "string", 1),
            ],
            rows_of(items, |e| {
                let io = if e.get("regarding").is_some() {
                    "/regarding"
                } else {
                    "/involvedObject"
                };
                let last = first_set(
                    e,
                    &[
                        "/lastTimestamp",
                        "/deprecatedLastTimestamp",
                        "/eventTime",
                        "/metadata/creationTimestamp",
                    ],
                );
                let first = first_set(
                    e,
                    &["/firstTimestamp", "/deprecatedFirstTimestamp", "/eventTime"],
                );
                let msg = if e.get("note").is_some() {
                    util::s(e, "/note")
                } else {
                    util::s(e, "/message")
                };
                vec![
                    json!(ago(&last, now)),
                    json!(util::s(e, "/type")),
                    json!(util::s(e, "/reason")),
                    json!(format!(
                        "{}/{}",
                        util::s(e, &format!("{io}/kind")).to_lowercase(),
                        util::s(e, &format!("{io}/name"))
                    )),
                    json!(util::s(e, &format!("{io}/fieldPath"))),
                    json!(util::s(e, "/source/component")),
                    json!(msg),
                    json!(ago(&first, now)),
                    json!(util::i(e, "/count")
                        .or(util::i(e, "/deprecatedCount"))
                        .unwrap_or(1)
                        .to_string()),
                    json!(util::name(e)),
                ]
            }),
        ),
        "Service" => (
            columns(
                &[
                    "Name",
                    "Type",
                    "Cluster-IP",
                    "External-IP",
                    "Port(s)",
                    "Age",
                ],
                &["Selector"],
            ),
            rows_of(items, |sv| {
                let ports = sv
                    .pointer("/spec/ports")
                    .and_then(|p| p.as_array())
                    .map(|a| {
                        a.iter()
                            .map(|p| format!("{}/{}", i0(p, "/port"), util::s(p, "/protocol")))
                            .collect::<Vec<_>>()
                            .join(",")
                    })
                    .filter(|s| !s.is_empty())
                    .unwrap_or("<none>".into());
                let sel = key_values(sv, "/spec/selector");
                let cip = util::s(sv, "/spec/clusterIP");
                vec![
                    json!(util::name(sv)),
                    json!(util::s(sv, "/spec/type")),
                    json!(if cip.is_empty() { "<none>" } else { cip }),
                    json!("<none>"),
                    json!(ports),
                    json!(age(sv, now)),
                    json!(sel),
                ]
            }),
        ),
        "PodDisruptionBudget" => (
            {
                let names = [
                    "Name",
                    "Min Available",
                    "Max Unavailable",
                    "Allowed Disruptions",
                ];
                let mut cols = columns(&names, &[]);
                cols[3]["type"] = json!("integer");
                cols.push(col("Age", "string", 0));
                cols
            },
            rows_of(items, |p| {
                let s = |ptr: &str| {
                    p.pointer(ptr)
                        .map(|v| v.as_str().map(String::from).unwrap_or(v.to_string()))
                        .unwrap_or("N/A".into())
                };
                vec![
                    json!(util::name(p)),
                    json!(s("/spec/minAvailable")),
                    json!(s("/spec/maxUnavailable")),
                    json!(i0(p, "/status/disruptionsAllowed")),
                    json!(age(p, now)),
                ]
            }),
        ),
        _ => (
            columns(&["Name", "Age"], &[]),
            rows_of(items, |o| vec![json!(util::name(o)), json!(age(o, now))]),
        ),
    };
    let rows: Vec<Value> = rows
        .into_iter()
        .zip(items.iter())
        .map(|(cells, o)| {
            if full {
                json!({"cells": cells, "object": o})
            } else {
                json!({"cells": cells, "object": {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": o.get("metadata").cloned().unwrap_or(json!({}))}})
            }
        })
        .collect();
    let mut meta = json!({"resourceVersion": rv});
    if let Some(c) = cont {
        meta["continue"] = json!(c);
    }
    json!({"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": meta, "columnDefinitions": cols, "rows": rows})
}
