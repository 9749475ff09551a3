//! Simulated scheduler + kubelet: schedules pods onto nodes and runs their containers on the sim clock.

use crate::behavior::{self, Behavior};
use crate::store::Store;
use crate::util::{self, fmt_ts};
use serde_json::{json, Value};
use std::collections::HashMap;

#[derive(Debug, Clone)]
pub enum Stage {
    Pull,
    ErrPull,
    PullBackoff,
    ConfigError,
}

#[derive(Debug, Clone)]
pub enum CState {
    /// Not started yet (pulling / creating). `next_at`: when the stage advances.
    Pending {
        stage: Stage,
        next_at: i64,
        started_pull: bool,
    },
    Running {
        since: i64,
    },
    Waiting {
        reason: String,
        message: String,
        until: i64,
    },
    Terminated {
        term: Value,
    },
}

#[derive(Debug, Clone)]
pub struct Stop {
    pub sigterm_at: i64,
    pub exit_at: i64,
    pub code: i64,
    pub reason: String,
    /// The runtime failed to kill it by the deadline (`ExceededGracePeriod`).
    pub exceeded: bool,
}

#[derive(Debug, Clone)]
pub struct Ctr {
    pub name: String,
    pub image: String,
    pub is_init: bool,
    pub sidecar: bool,
    pub spec: Value,
    pub beh: Behavior,
    pub state: CState,
    pub restart_count: i64,
    pub last_term: Option<Value>,
    pub container_id: String,
    pub logs: String,
    pub log_start: i64,
    pub prev_logs: Option<String>,
    pub prev_start: i64,
    pub ready: bool,
    pub readiness_next: i64,
    pub liveness_fails: i64,
    pub pull_attempts: i64,
    pub crashes: i64,
    pub stop: Option<Stop>,
}

#[derive(Debug, Clone)]
pub struct PodRt {
    pub uid: String,
    pub ns: String,
    pub name: String,
    pub node: String,
    pub pod_ip: String,
    pub host_ip: String,
    pub start_time: i64,
    pub init: Vec<Ctr>,
    pub ctrs: Vec<Ctr>,
    pub restart_policy: String,
    pub terminating: bool,
    pub finished: bool,
    pub seen_rv: String,
    pub next_wake: i64,
    /// pod-level failure set by the kubelet (reason, message), e.g. DeadlineExceeded
    pub pod_reason: Option<(String, String)>,
}

#[derive(Default)]
pub struct Kubelet {
    pub pods: HashMap<String, PodRt>,
    pub ip_counter: u32,
    /// Earliest sim time at which some pod's state changes by itself.
    pub next_wake: i64,
}

/// Earliest sim time at which this pod's containers change state by themselves.
fn next_wake(rt: &PodRt, now: i64) -> i64 {
    let mut t = i64::MAX;
    for c in rt.init.iter().chain(rt.ctrs.iter()) {
        if let Some(stop) = &c.stop {
            t = t.min(stop.exit_at);
            continue;
        }
        match &c.state {
            CState::Pending {
                next_at,
                started_pull,
                ..
            } => {
                t = t.min(if *started_pull { *next_at } else { now });
            }
            CState::Running { since } => {
                if c.is_init && !c.sidecar {
                    t = t.min(since + c.beh.crash_after.unwrap_or(1000));
                }
                if let Some(ca) = c.beh.crash_after {
                    t = t.min(since + ca);
                }
                if c.beh.startup_fails {
                    t = t.min(
                        since
                            + util::i(&c.spec, "/startupProbe/initialDelaySeconds").unwrap_or(0)
                                * 1000
                            + c.liveness_fails * probe_period(&c.spec, "startupProbe"),
                    );
                }
                if let Some(lfa) = c.beh.liveness_fails_after {
                    t = t.min(
                        since + lfa + c.liveness_fails * probe_period(&c.spec, "livenessProbe"),
                    );
                }
                if c.beh.never_ready {
                    t = t.min(if c.readiness_next == 0 {
                        now
                    } else {
                        c.readiness_next
                    });
                } else if !c.ready {
                    t = t.min(since + c.beh.ready_after);
                }
            }
            CState::Waiting { until, .. } => t = t.min(*until),
            CState::Terminated { .. } => {}
        }
    }
    t.max(now + 1)
}

fn active_deadline_wake(rt: &PodRt, pod: &Value) -> i64 {
    match util::i(pod, "/spec/activeDeadlineSeconds") {
        Some(ads) if rt.pod_reason.is_none() => rt.start_time + ads * 1000,
        _ => i64::MAX,
    }
}

fn image_id(image: &str) -> String {
    let h1 = util::fnv32a(image);
    let h2 = util::fnv32a(&format!("{image}#"));
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

fn new_ctr(spec: &Value, is_init: bool, annotations: Option<&Value>) -> Ctr {
    let name = util::s(spec, "/name").to_string();
    let beh = behavior::for_container(annotations, &name);
    let logs = beh.logs.clone().unwrap_or_default();
    let prev = beh.previous_logs.clone();
    Ctr {
        image: util::s(spec, "/image").to_string(),
        is_init,
        sidecar: is_init && util::s(spec, "/restartPolicy") == "Always",
        spec: spec.clone(),
        beh,
        state: CState::Pending {
            stage: Stage::Pull,
            next_at: 0,
            started_pull: false,
        },
        restart_count: 0,
        last_term: None,
        container_id: String::new(),
        logs,
        log_start: 0,
        prev_logs: prev,
        prev_start: 0,
        ready: false,
        readiness_next: 0,
        liveness_fails: 0,
        pull_attempts: 0,
        crashes: 0,
        stop: None,
        name,
    }
}

/// Build the runtime for a pod loaded with a status (static scenario pod being deleted).
fn rt_from_status(pod: &Value, node: &str) -> PodRt {
    let ann = pod.pointer("/metadata/annotations");
    let mut rt = PodRt {
        uid: util::uid(pod).into(),
        ns: util::ns(pod).into(),
        name: util::name(pod).into(),
        node: node.into(),
        pod_ip: util::s(pod, "/status/podIP").into(),
        host_ip: util::s(pod, "/status/hostIP").into(),
        start_time: util::parse_ts(util::s(pod, "/status/startTime")).unwrap_or(0),
        init: vec![],
        ctrs: vec![],
        restart_policy: restart_policy(pod),
        terminating: false,
        finished: false,
        seen_rv: String::new(),
        next_wake: 0,
        pod_reason: None,
    };
    for (field, sfield, is_init) in [
        ("initContainers", "initContainerStatuses", true),
        ("containers", "containerStatuses", false),
    ] {
        for c in pod
            .pointer(&format!("/spec/{field}"))
            .and_then(|x| x.as_array())
            .cloned()
            .unwrap_or_default()
        {
            let mut ctr = new_ctr(&c, is_init, ann);
            if let Some(l) = behavior::annotation_logs(ann, behavior::LOGS, &ctr.name) {
                ctr.logs = l;
            }
            if let Some(l) = behavior::annotation_logs(ann, behavior::PREVIOUS_LOGS, &ctr.name) {
                ctr.prev_logs = Some(l);
            }
            let st = pod
                .pointer(&format!("/status/{sfield}"))
                .and_then(|x| x.as_array())
                .and_then(|a| a.iter().find(|s| util::s(s, "/name") == ctr.name).cloned());
            if let Some(st) = st {
                ctr.restart_count = util::i(&st, "/restartCount").unwrap_or(0);
                ctr.last_term = st.pointer("/lastState/terminated").cloned();
                ctr.container_id = util::s(&st, "/containerID").to_string();
                ctr.ready = util::b(&st, "/ready");
                if let Some(r) = st.pointer("/state/running") {
                    ctr.state = CState::Running {
                        since: util::parse_ts(util::s(r, "/startedAt")).unwrap_or(0),
                    };
                } else if let Some(t) = st.pointer("/state/terminated") {
                    ctr.state = CState::Terminated { term: t.clone() };
                } else if let Some(w) = st.pointer("/state/waiting") {
                    ctr.state = CState::Waiting {
                        reason: util::s(w, "/reason").into(),
                        message: util::s(w, "/message").into(),
                        until: i64::MAX,
                    };
                }
            }
            if is_init {
                rt.init.push(ctr)
            } else {
                rt.ctrs.push(ctr)
            }
        }
    }
    rt
}

fn restart_policy(pod: &Value) -> String {
    let p = util::s(pod, "/spec/restartPolicy");
    if p.is_empty() {
        "Always".into()
    } else {
        p.into()
    }
}

struct Ev {
    field: Option<String>,
    typ: &'static str,
    reason: &'static str,
    msg: String,
}

impl Kubelet {
    pub fn tick(&mut self, store: &mut Store, now: i64) {
        // (ns, name, uid, rv, deleting)
        let keys: Vec<(String, String, String, String, bool)> = store
            .iter("pods", None)
            .map(|p| {
                (
                    util::ns(p).to_string(),
                    util::name(p).to_string(),
                    util::uid(p).to_string(),
                    util::s(p, "/metadata/resourceVersion").to_string(),
                    p.pointer("/metadata/deletionTimestamp")
                        .is_some_and(|x| !x.is_null()),
                )
            })
            .collect();
        let live: std::collections::HashSet<&str> = keys.iter().map(|k| k.2.as_str()).collect();
        self.pods.retain(|k, _| live.contains(k.as_str()));
        let mut nodes: Option<Vec<Value>> = None;
        let mut counts: Option<HashMap<String, usize>> = None;
        let mut used: Option<HashMap<String, (f64, f64)>> = None;
        self.next_wake = i64::MAX;
        for (kns, kname, uid, rv, deleting) in keys {
            if let Some(rt) = self.pods.get(&uid) {
                if rt.seen_rv == rv && now < rt.next_wake {
                    self.next_wake = self.next_wake.min(rt.next_wake);
                    continue;
                }
            } else if store.static_uids.contains(&uid) && !deleting {
                continue;
            }
            let Some(pod) = store.get("pods", &kns, &kname).cloned() else {
                continue;
            };
            if nodes.is_none() {
                nodes = Some(store.iter("nodes", None).cloned().collect());
                let mut c: HashMap<String, usize> = HashMap::new();
                for p in store.iter("pods", None) {
                    let n = util::s(p, "/spec/nodeName");
                    if !n.is_empty() {
                        *c.entry(n.to_string()).or_default() += 1;
                    }
                }
                counts = Some(c);
            }
            if used.is_none() {
                let mut u: HashMap<String, (f64, f64)> = HashMap::new();
                for p in store.iter("pods", None) {
                    let n = util::s(p, "/spec/nodeName");
                    let ph = util::s(p, "/status/phase");
                    if !n.is_empty() && ph != "Succeeded" && ph != "Failed" {
                        let (c, m) = pod_requests(p);
                        let e = u.entry(n.to_string()).or_default();
                        e.0 += c;
                        e.1 += m;
                    }
                }
                used = Some(u);
            }
            let nodes = nodes.as_ref().unwrap();
            let counts = counts.as_mut().unwrap();
            let used = used.as_mut().unwrap();
            let mut node = util::s(&pod, "/spec/nodeName").to_string();
            if node.is_empty() {
                if deleting {
                    store.remove("pods", util::ns(&pod), util::name(&pod));
                    continue;
                }
                match pick_node(nodes, counts, used, &pod) {
                    Some(n) => {
                        *counts.entry(n.clone()).or_default() += 1;
                        let (c, m) = pod_requests(&pod);
                        let e = used.entry(n.clone()).or_default();
                        e.0 += c;
                        e.1 += m;
                        let mut p = pod.clone();
                        p["spec"]["nodeName"] = json!(n);
                        let conds = json!([{"type": "PodScheduled", "status": "True", "lastProbeTime": null, "lastTransitionTime": fmt_ts(now)}]);
                        let st = util::obj_at(&mut p, &["status"]);
                        st.insert("phase".into(), json!("Pending"));
                        st.insert("conditions".into(), conds);
                        st.insert("qosClass".into(), json!(qos(&pod)));
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
                        node = n;
                    }
                    None => {
                        let mut p = pod.clone();
                        let msg = unschedulable_message(nodes, used, &pod);
                        let st = util::obj_at(&mut p, &["status"]);
                        st.insert("phase".into(), json!("Pending"));
                        let prev = pod
                            .pointer("/status/conditions/0/lastTransitionTime")
                            .cloned()
                            .unwrap_or(json!(fmt_ts(now)));
                        st.insert("conditions".into(), json!([{"type": "PodScheduled", "status": "False", "lastProbeTime": null, "lastTransitionTime": prev, "reason": "Unschedulable", "message": msg}]));
                        if store.put("pods", p) != pod {
                            store.record_event(
                                &pod,
                                None,
                                "Warning",
                                "FailedScheduling",
                                &msg,
                                "default-scheduler",
                                "",
                                now,
                            );
                        }
                        continue;
                    }
                }
            }
            let pod = store
                .get("pods", util::ns(&pod), util::name(&pod))
                .cloned()
                .unwrap_or(pod);
            if !self.pods.contains_key(&uid) {
                let rt = if store.static_uids.contains(&uid) {
                    store.static_uids.remove(&uid);
                    rt_from_status(&pod, &node)
                } else {
                    self.ip_counter += 1;
                    let node_idx: u32 = node
                        .trim_start_matches(|c: char| !c.is_ascii_digit())
                        .parse()
                        .unwrap_or(1);
                    let host_ip = nodes
                        .iter()
                        .find(|n| util::name(n) == node)
                        .and_then(|n| {
                            n.pointer("/status/addresses/0/address")
                                .and_then(|a| a.as_str())
                                .map(String::from)
                        })
                        .unwrap_or_else(|| format!("10.0.0.{node_idx}"));
                    let ann = pod.pointer("/metadata/annotations");
                    let mk = |field: &str, init: bool| -> Vec<Ctr> {
                        pod.pointer(&format!("/spec/{field}"))
                            .and_then(|x| x.as_array())
                            .map(|a| a.iter().map(|c| new_ctr(c, init, ann)).collect())
                            .unwrap_or_default()
                    };
                    PodRt {
                        uid: uid.clone(),
                        ns: util::ns(&pod).into(),
                        name: util::name(&pod).into(),
                        node: node.clone(),
                        pod_ip: format!("10.244.{}.{}", node_idx, 2 + self.ip_counter % 250),
                        host_ip,
                        start_time: now,
                        init: mk("initContainers", true),
                        ctrs: mk("containers", false),
                        restart_policy: restart_policy(&pod),
                        terminating: false,
                        finished: false,
                        seen_rv: String::new(),
                        next_wake: 0,
                        pod_reason: None,
                    }
                };
                self.pods.insert(uid.clone(), rt);
            }
            let rt = self.pods.get_mut(&uid).unwrap();
            let evs = step(rt, &pod, now);
            let pod_now = pod.clone();
            for e in &evs {
                store.record_event(
                    &pod_now,
                    e.field.as_deref(),
                    e.typ,
                    e.reason,
                    &e.msg,
                    "kubelet",
                    &rt.node,
                    now,
                );
            }
            let mut p = pod.clone();
            p["status"] = build_status(rt, &pod, now);
            let p = store.put("pods", p);
            if rt.finished {
                store.remove("pods", util::ns(&p), util::name(&p));
                self.pods.remove(&uid);
                continue;
            }
            rt.seen_rv = util::s(&p, "/metadata/resourceVersion").to_string();
            rt.next_wake = next_wake(rt, now).min(active_deadline_wake(rt, &p).max(now + 1));
            self.next_wake = self.next_wake.min(rt.next_wake);
        }
    }
}

fn qos(pod: &Value) -> &'static str {
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
    let sel = pod
        .pointer("/spec/nodeSelector")
        .and_then(|x| x.as_object())
        .cloned()
        .unwrap_or_default();
    let mut reasons: std::collections::BTreeMap<String, usize> = Default::default();
    for n in nodes {
        let ready = n
            .pointer("/status/conditions")
            .and_then(|c| c.as_array())
            .is_some_and(|c| {
                c.iter()
                    .any(|c| c["type"] == "Ready" && c["status"] == "True")
            });
        let l = util::labels(n);
        let r = if !ready {
            "node(s) had untolerated taint {node.kubernetes.io/unreachable: }"
        } else if util::b(n, "/spec/unschedulable") {
            "node(s) were unschedulable"
        } else if !sel.iter().all(|(k, v)| l.get(k) == Some(v)) {
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
    let sel = pod
        .pointer("/spec/nodeSelector")
        .and_then(|x| x.as_object())
        .cloned()
        .unwrap_or_default();
    nodes
        .iter()
        .filter(|n| !util::b(n, "/spec/unschedulable"))
        .filter(|n| {
            n.pointer("/status/conditions")
                .and_then(|c| c.as_array())
                .is_some_and(|c| {
                    c.iter()
                        .any(|c| c["type"] == "Ready" && c["status"] == "True")
                })
        })
        .filter(|n| {
            let l = util::labels(n);
            sel.iter().all(|(k, v)| l.get(k) == Some(v))
        })
        .filter(|n| insufficient(n, used, req).is_none())
        .min_by_key(|n| {
            (
                counts.get(util::name(n)).copied().unwrap_or(0),
                util::name(n).to_string(),
            )
        })
        .map(|n| util::name(n).to_string())
}

fn field(c: &Ctr) -> Option<String> {
    Some(if c.is_init {
        format!("spec.initContainers{{{}}}", c.name)
    } else {
        format!("spec.containers{{{}}}", c.name)
    })
}

fn backoff_ms(n: i64) -> i64 {
    let mut b = 10_000i64;
    for _ in 1..n.max(1) {
        b = (b * 2).min(300_000);
    }
    b.min(300_000)
}

fn probe_period(spec: &Value, probe: &str) -> i64 {
    util::i(spec, &format!("/{probe}/periodSeconds"))
        .unwrap_or(10)
        .max(1)
        * 1000
}

/// Advance one container. `may_start`: init gate passed.
fn step_ctr(
    c: &mut Ctr,
    pod: &Value,
    rt_policy: &str,
    now: i64,
    may_start: bool,
    evs: &mut Vec<Ev>,
) {
    let pod_ref = format!("{}_{}({})", util::name(pod), util::ns(pod), util::uid(pod));
    let f = field(c);
    let ev = |evs: &mut Vec<Ev>, typ: &'static str, reason: &'static str, msg: String| {
        evs.push(Ev {
            field: f.clone(),
            typ,
            reason,
            msg,
        })
    };
    for _ in 0..8 {
        match c.state.clone() {
            CState::Pending {
                stage,
                next_at,
                started_pull,
            } => {
                if !may_start {
                    return;
                }
                if !started_pull {
                    if let Some(msg) = &c.beh.config_error {
                        ev(evs, "Warning", "Failed", format!("Error: {msg}"));
                        c.state = CState::Pending {
                            stage: Stage::ConfigError,
                            next_at: now + 10_000,
                            started_pull: true,
                        };
                        return;
                    }
                    ev(
                        evs,
                        "Normal",
                        "Pulling",
                        format!("Pulling image \"{}\"", c.image),
                    );
                    c.pull_attempts += 1;
                    c.state = CState::Pending {
                        stage: Stage::Pull,
                        next_at: now + c.beh.start_delay / 2,
                        started_pull: true,
                    };
                    continue;
                }
                if now < next_at {
                    return;
                }
                match stage {
                    Stage::Pull => {
                        if let Some(msg) = &c.beh.image_pull_error {
                            ev(
                                evs,
                                "Warning",
                                "Failed",
                                format!("Failed to pull image \"{}\": {msg}", c.image),
                            );
                            ev(evs, "Warning", "Failed", "Error: ErrImagePull".into());
                            c.state = CState::Pending {
                                stage: Stage::ErrPull,
                                next_at: next_at + 1000,
                                started_pull: true,
                            };
                            continue;
                        }
                        let ms = c.beh.start_delay / 2;
                        ev(evs, "Normal", "Pulled", format!("Successfully pulled image \"{}\" in {}ms ({}ms including waiting). Image size: 52428800 bytes.", c.image, ms, ms));
                        start_instance(c, next_at + c.beh.start_delay / 2, evs);
                        return;
                    }
                    Stage::ErrPull => {
                        ev(
                            evs,
                            "Normal",
                            "BackOff",
                            format!("Back-off pulling image \"{}\"", c.image),
                        );
                        ev(evs, "Warning", "Failed", "Error: ImagePullBackOff".into());
                        c.state = CState::Pending {
                            stage: Stage::PullBackoff,
                            next_at: now + backoff_ms(c.pull_attempts),
                            started_pull: true,
                        };
                        return;
                    }
                    Stage::PullBackoff => {
                        c.state = CState::Pending {
                            stage: Stage::Pull,
                            next_at: 0,
                            started_pull: false,
                        };
                        continue;
                    }
                    Stage::ConfigError => {
                        if let Some(msg) = &c.beh.config_error {
                            ev(evs, "Warning", "Failed", format!("Error: {msg}"));
                        }
                        c.state = CState::Pending {
                            stage: Stage::ConfigError,
                            next_at: now + 10_000,
                            started_pull: true,
                        };
                        return;
                    }
                }
            }
            CState::Running { since } => {
                if c.stop.is_some() {
                    c.ready = false;
                    return;
                }
                // init containers complete
                if c.is_init && !c.sidecar {
                    let dur = c.beh.crash_after.unwrap_or(1000);
                    if now >= since + dur {
                        let (code, reason) = if c.beh.crash_after.is_some()
                            && (c.beh.exit_code.is_some() || c.beh.reason.is_some())
                        {
                            c.beh.crash_exit()
                        } else {
                            (0, "Completed".to_string())
                        };
                        exit(
                            c,
                            pod,
                            rt_policy,
                            since + dur,
                            code,
                            &reason,
                            c.beh.message.clone(),
                            &pod_ref,
                            evs,
                        );
                        continue;
                    }
                    return;
                }
                if let Some(ca) = c.beh.crash_after {
                    if now >= since + ca {
                        let (code, reason) = c.beh.crash_exit();
                        exit(
                            c,
                            pod,
                            rt_policy,
                            since + ca,
                            code,
                            &reason,
                            c.beh.message.clone(),
                            &pod_ref,
                            evs,
                        );
                        continue;
                    }
                }
                if c.beh.post_start_fails && !c.is_init {
                    ev(
                        evs,
                        "Warning",
                        "FailedPostStartHook",
                        "PostStartHook failed".into(),
                    );
                    ev(evs, "Normal", "Killing", "FailedPostStartHook".into());
                    exit(c, pod, rt_policy, since, 137, "Error", None, &pod_ref, evs);
                    continue;
                }
                if c.beh.startup_fails {
                    let period = probe_period(&c.spec, "startupProbe");
                    let thr = util::i(&c.spec, "/startupProbe/failureThreshold")
                        .unwrap_or(3)
                        .max(1);
                    let delay =
                        util::i(&c.spec, "/startupProbe/initialDelaySeconds").unwrap_or(0) * 1000;
                    while c.liveness_fails < thr && now >= since + delay + c.liveness_fails * period
                    {
                        c.liveness_fails += 1;
                        ev(
                            evs,
                            "Warning",
                            "Unhealthy",
                            "Startup probe failed: HTTP probe failed with statuscode: 503".into(),
                        );
                    }
                    if c.liveness_fails >= thr {
                        let at = since + delay + (thr - 1) * period;
                        ev(
                            evs,
                            "Normal",
                            "Killing",
                            format!(
                                "Container {} failed startup probe, will be restarted",
                                c.name
                            ),
                        );
                        exit(c, pod, rt_policy, at, 137, "Error", None, &pod_ref, evs);
                        continue;
                    }
                    c.ready = false;
                    return;
                }
                if let Some(lfa) = c.beh.liveness_fails_after {
                    let period = probe_period(&c.spec, "livenessProbe");
                    let thr = util::i(&c.spec, "/livenessProbe/failureThreshold")
                        .unwrap_or(3)
                        .max(1);
                    while c.liveness_fails < thr && now >= since + lfa + c.liveness_fails * period {
                        c.liveness_fails += 1;
                        ev(
                            evs,
                            "Warning",
                            "Unhealthy",
                            "Liveness probe failed: HTTP probe failed with statuscode: 500".into(),
                        );
                    }
                    if c.liveness_fails >= thr {
                        let at = since + lfa + (thr - 1) * period;
                        ev(
                            evs,
                            "Normal",
                            "Killing",
                            format!(
                                "Container {} failed liveness probe, will be restarted",
                                c.name
                            ),
                        );
                        exit(c, pod, rt_policy, at, 137, "Error", None, &pod_ref, evs);
                        continue;
                    }
                }
                if c.beh.never_ready {
                    c.ready = false;
                    if c.readiness_next == 0 {
                        c.readiness_next = since
                            + util::i(&c.spec, "/readinessProbe/initialDelaySeconds").unwrap_or(0)
                                * 1000
                            + c.beh.ready_after.min(1000);
                    }
                    if now >= c.readiness_next {
                        ev(
                            evs,
                            "Warning",
                            "Unhealthy",
                            "Readiness probe failed: HTTP probe failed with statuscode: 503".into(),
                        );
                        c.readiness_next = now + probe_period(&c.spec, "readinessProbe");
                    }
                } else {
                    c.ready = now >= since + c.beh.ready_after && c.liveness_fails == 0;
                }
                return;
            }
            CState::Waiting { until, .. } => {
                if now < until {
                    return;
                }
                ev(
                    evs,
                    "Normal",
                    "Pulled",
                    format!("Container image \"{}\" already present on machine", c.image),
                );
                start_instance(c, now, evs);
                return;
            }
            CState::Terminated { .. } => return,
        }
    }
}

fn start_instance(c: &mut Ctr, at: i64, evs: &mut Vec<Ev>) {
    let f = field(c);
    evs.push(Ev {
        field: f.clone(),
        typ: "Normal",
        reason: "Created",
        msg: format!("Created container: {}", c.name),
    });
    evs.push(Ev {
        field: f,
        typ: "Normal",
        reason: "Started",
        msg: format!("Started container {}", c.name),
    });
    c.container_id = format!("containerd://{}", util::rand_hex(64));
    c.state = CState::Running { since: at };
    c.log_start = at;
    c.logs = c.beh.logs.clone().unwrap_or_default();
    c.liveness_fails = 0;
    c.readiness_next = 0;
    c.ready = false;
}

#[allow(clippy::too_many_arguments)]
fn exit(
    c: &mut Ctr,
    _pod: &Value,
    rt_policy: &str,
    at: i64,
    code: i64,
    reason: &str,
    message: Option<String>,
    pod_ref: &str,
    evs: &mut Vec<Ev>,
) {
    let since = match c.state {
        CState::Running { since } => since,
        _ => at,
    };
    let mut term = json!({"exitCode": code, "reason": reason, "startedAt": fmt_ts(since), "finishedAt": fmt_ts(at), "containerID": c.container_id});
    if let Some(m) = message {
        term["message"] = json!(m);
    }
    c.ready = false;
    let restart = c.sidecar
        || match rt_policy {
            "Never" => false,
            "OnFailure" => code != 0,
            _ => !c.is_init || code != 0,
        };
    if c.is_init && !c.sidecar && code == 0 {
        c.state = CState::Terminated { term };
        return;
    }
    if !restart {
        c.state = CState::Terminated { term };
        return;
    }
    if at - since > 600_000 {
        c.crashes = 0;
    }
    c.crashes += 1;
    c.restart_count += 1;
    c.last_term = Some(term);
    c.prev_logs = Some(c.logs.clone());
    c.prev_start = c.log_start;
    let b = backoff_ms(c.crashes);
    c.state = CState::Waiting {
        reason: "CrashLoopBackOff".into(),
        message: format!(
            "back-off {}s restarting failed container={} pod={}",
            b / 1000,
            c.name,
            pod_ref
        ),
        until: at + b,
    };
    evs.push(Ev {
        field: field(c),
        typ: "Warning",
        reason: "BackOff",
        msg: format!(
            "Back-off restarting failed container {} in pod {}",
            c.name, pod_ref
        ),
    });
}

fn step(rt: &mut PodRt, pod: &Value, now: i64) -> Vec<Ev> {
    let mut evs = Vec::new();
    let policy = rt.restart_policy.clone();
    let deleting = pod
        .pointer("/metadata/deletionTimestamp")
        .and_then(|x| x.as_str())
        .and_then(util::parse_ts);
    if deleting.is_none() && rt.pod_reason.is_none() {
        if let Some(ads) = util::i(pod, "/spec/activeDeadlineSeconds") {
            if now >= rt.start_time + ads * 1000 {
                let msg = "Pod was active on the node longer than the specified deadline";
                evs.push(Ev {
                    field: None,
                    typ: "Warning",
                    reason: "DeadlineExceeded",
                    msg: msg.into(),
                });
                for c in rt.ctrs.iter_mut().chain(rt.init.iter_mut()) {
                    if let CState::Running { since } = c.state {
                        evs.push(Ev {
                            field: field(c),
                            typ: "Normal",
                            reason: "Killing",
                            msg: format!("Stopping container {}", c.name),
                        });
                        c.state = CState::Terminated {
                            term: json!({"exitCode": 137, "reason": "Error", "startedAt": fmt_ts(since), "finishedAt": fmt_ts(now), "containerID": c.container_id}),
                        };
                    } else if !matches!(c.state, CState::Terminated { .. }) {
                        c.state = CState::Terminated {
                            term: json!({"exitCode": 137, "reason": "ContainerStatusUnknown", "message": "The container could not be located when the pod was terminated", "startedAt": null, "finishedAt": fmt_ts(now)}),
                        };
                    }
                    c.ready = false;
                }
                rt.pod_reason = Some(("DeadlineExceeded".into(), msg.into()));
            }
        }
    }
    if rt.pod_reason.is_some() && deleting.is_none() {
        return evs;
    }
    if let Some(deadline) = deleting {
        if !rt.terminating {
            rt.terminating = true;
            let grace = util::i(pod, "/metadata/deletionGracePeriodSeconds").unwrap_or(30) * 1000;
            let start = (deadline - grace).min(now);
            // app containers first; native sidecars get their preStop/SIGTERM once the app containers exited
            let mut apps_done = start;
            for c in rt.ctrs.iter_mut() {
                if let CState::Running { .. } = c.state {
                    plan_stop(c, start, deadline, &mut evs);
                    apps_done = apps_done.max(c.stop.as_ref().map(|s| s.exit_at).unwrap_or(start));
                }
            }
            for c in rt.init.iter_mut() {
                if let CState::Running { .. } = c.state {
                    let from = if c.sidecar {
                        apps_done.min(deadline)
                    } else {
                        start
                    };
                    plan_stop(c, from, deadline, &mut evs);
                }
            }
        }
        let mut all_done = true;
        for c in rt.ctrs.iter_mut().chain(rt.init.iter_mut()) {
            if let Some(stop) = c.stop.clone() {
                c.ready = false;
                if now >= stop.exit_at {
                    let since = match c.state {
                        CState::Running { since } => since,
                        _ => stop.exit_at,
                    };
                    c.state = CState::Terminated {
                        term: json!({"exitCode": stop.code, "reason": stop.reason, "startedAt": fmt_ts(since), "finishedAt": fmt_ts(stop.exit_at), "containerID": c.container_id}),
                    };
                    c.stop = None;
                    if stop.exceeded {
                        evs.push(Ev {
                            field: None,
                            typ: "Warning",
                            reason: "ExceededGracePeriod",
                            msg: "Container runtime did not kill the pod within specified grace period.".into(),
                        });
                    }
                } else {
                    all_done = false;
                }
            } else if let CState::Running { .. } = c.state {
                // started after deletion began: stop at once
                c.state = CState::Terminated {
                    term: json!({"exitCode": 137, "reason": "Error", "startedAt": fmt_ts(now), "finishedAt": fmt_ts(now), "containerID": c.container_id}),
                };
            }
        }
        if all_done {
            rt.finished = true;
        }
        return evs;
    }
    // init containers in order
    let mut gate = true;
    for i in 0..rt.init.len() {
        let c = &mut rt.init[i];
        step_ctr(c, pod, &policy, now, gate, &mut evs);
        let done = match &c.state {
            CState::Terminated { term } => term["exitCode"] == json!(0),
            CState::Running { .. } => c.sidecar,
            _ => false,
        };
        if !done {
            gate = false;
        }
    }
    for c in rt.ctrs.iter_mut() {
        step_ctr(c, pod, &policy, now, gate, &mut evs);
    }
    evs
}

/// Plan a container's shutdown: preStop from `start`, then SIGTERM, exit per behaviour or SIGKILL at `deadline`.
fn plan_stop(c: &mut Ctr, start: i64, deadline: i64, evs: &mut Vec<Ev>) {
    evs.push(Ev {
        field: field(c),
        typ: "Normal",
        reason: "Killing",
        msg: format!("Stopping container {}", c.name),
    });
    let mut pre = c
        .beh
        .pre_stop
        .or_else(|| behavior::pre_stop_ms(&c.spec))
        .unwrap_or(0);
    if c.beh.pre_stop_fails {
        evs.push(Ev {
            field: field(c),
            typ: "Warning",
            reason: "FailedPreStopHook",
            msg: "PreStopHook failed".into(),
        });
        pre = 0;
    }
    let sigterm_at = (start + pre).min(deadline);
    let (exit_at, code, reason) = if c.beh.dies_on_sigterm {
        (
            sigterm_at,
            c.beh.sigterm_exit_code.unwrap_or(143),
            "Error".to_string(),
        )
    } else {
        match c.beh.sigterm_exit {
            Some(d) if sigterm_at + d <= deadline => {
                let code = c.beh.sigterm_code();
                (
                    sigterm_at + d,
                    code,
                    if code == 0 {
                        "Completed".into()
                    } else {
                        "Error".into()
                    },
                )
            }
            _ => (deadline, 137, "Error".into()),
        }
    };
    let exceeded = c.beh.exceeds_grace_period && exit_at >= deadline;
    let exit_at = if exceeded { deadline + 2000 } else { exit_at };
    c.stop = Some(Stop {
        sigterm_at,
        exit_at,
        code,
        reason,
        exceeded,
    });
}

fn ctr_status(c: &Ctr) -> Value {
    let state = match &c.state {
        CState::Pending { stage, .. } => match stage {
            Stage::Pull => {
                json!({"waiting": {"reason": if c.is_init { "PodInitializing" } else { "ContainerCreating" }}})
            }
            Stage::ErrPull => {
                json!({"waiting": {"reason": "ErrImagePull", "message": c.beh.image_pull_error.clone().unwrap_or_default()}})
            }
            Stage::PullBackoff => {
                json!({"waiting": {"reason": "ImagePullBackOff", "message": format!("Back-off pulling image \"{}\": ErrImagePull: {}", c.image, c.beh.image_pull_error.clone().unwrap_or_default())}})
            }
            Stage::ConfigError => {
                json!({"waiting": {"reason": "CreateContainerConfigError", "message": c.beh.config_error.clone().unwrap_or_default()}})
            }
        },
        CState::Running { since } => json!({"running": {"startedAt": fmt_ts(*since)}}),
        CState::Waiting {
            reason, message, ..
        } => json!({"waiting": {"reason": reason, "message": message}}),
        CState::Terminated { term } => json!({"terminated": term}),
    };
    let started = matches!(c.state, CState::Running { .. }) && !c.beh.startup_fails;
    let mut s = json!({
        "name": c.name,
        "state": state,
        "lastState": c.last_term.as_ref().map(|t| json!({"terminated": t})).unwrap_or(json!({})),
        "ready": c.ready,
        "restartCount": c.restart_count,
        "image": c.image,
        "imageID": if c.container_id.is_empty() { String::new() } else { image_id(&c.image) },
        "started": started,
    });
    if !c.container_id.is_empty() {
        s["containerID"] = json!(c.container_id);
    }
    s
}

fn cond(
    old: &Value,
    typ: &str,
    status: bool,
    reason: Option<&str>,
    message: Option<String>,
    now: i64,
) -> Value {
    let st = if status { "True" } else { "False" };
    let prev = old
        .pointer("/status/conditions")
        .and_then(|c| c.as_array())
        .and_then(|a| a.iter().find(|c| c["type"] == typ).cloned());
    let ltt = match &prev {
        Some(p) if p["status"] == st => p["lastTransitionTime"].clone(),
        _ => json!(fmt_ts(now)),
    };
    let mut c =
        json!({"type": typ, "status": st, "lastProbeTime": null, "lastTransitionTime": ltt});
    if let Some(r) = reason {
        c["reason"] = json!(r);
    }
    if let Some(m) = message {
        c["message"] = json!(m);
    }
    c
}

fn build_status(rt: &PodRt, pod: &Value, now: i64) -> Value {
    let init_done = rt.init.iter().all(|c| match &c.state {
        CState::Terminated { term } => term["exitCode"] == json!(0),
        CState::Running { .. } => c.sidecar,
        _ => false,
    }) || rt.terminating && rt.init.is_empty();
    let any_started = rt
        .ctrs
        .iter()
        .any(|c| !matches!(c.state, CState::Pending { .. }));
    let all_term = !rt.ctrs.is_empty()
        && rt
            .ctrs
            .iter()
            .all(|c| matches!(c.state, CState::Terminated { .. }));
    let all_zero = rt
        .ctrs
        .iter()
        .all(|c| matches!(&c.state, CState::Terminated { term } if term["exitCode"] == json!(0)));
    let phase = if rt.pod_reason.is_some() {
        "Failed"
    } else if all_term {
        if all_zero {
            "Succeeded"
        } else {
            "Failed"
        }
    } else if init_done && any_started {
        "Running"
    } else {
        "Pending"
    };
    let unready: Vec<String> = rt
        .ctrs
        .iter()
        .filter(|c| !c.ready)
        .map(|c| c.name.clone())
        .collect();
    let ready = unready.is_empty() && phase == "Running";
    let unready_msg = format!("containers with unready status: [{}]", unready.join(" "));
    let terminal = phase == "Succeeded" || phase == "Failed";
    let mut conds = vec![
        cond(pod, "PodReadyToStartContainers", !terminal, None, None, now),
        if init_done {
            cond(
                pod,
                "Initialized",
                true,
                if terminal && phase == "Succeeded" {
                    Some("PodCompleted")
                } else {
                    None
                },
                None,
                now,
            )
        } else {
            let pending: Vec<String> = rt.init.iter().filter(|c| !matches!(&c.state, CState::Terminated { term } if term["exitCode"] == json!(0))).map(|c| c.name.clone()).collect();
            cond(
                pod,
                "Initialized",
                false,
                Some("ContainersNotInitialized"),
                Some(format!(
                    "containers with incomplete status: [{}]",
                    pending.join(" ")
                )),
                now,
            )
        },
        if ready {
            cond(pod, "Ready", true, None, None, now)
        } else {
            cond(
                pod,
                "Ready",
                false,
                Some(if terminal {
                    "PodCompleted"
                } else {
                    "ContainersNotReady"
                }),
                if terminal {
                    None
                } else {
                    Some(unready_msg.clone())
                },
                now,
            )
        },
        if ready {
            cond(pod, "ContainersReady", true, None, None, now)
        } else {
            cond(
                pod,
                "ContainersReady",
                false,
                Some(if terminal {
                    "PodCompleted"
                } else {
                    "ContainersNotReady"
                }),
                if terminal { None } else { Some(unready_msg) },
                now,
            )
        },
        cond(pod, "PodScheduled", true, None, None, now),
    ];
    if let Some(dt) = pod
        .pointer("/status/conditions")
        .and_then(|c| c.as_array())
        .and_then(|a| a.iter().find(|c| c["type"] == "DisruptionTarget").cloned())
    {
        conds.insert(0, dt);
    }
    let mut st = json!({
        "phase": phase,
        "conditions": conds,
        "hostIP": rt.host_ip,
        "hostIPs": [{"ip": rt.host_ip}],
        "podIP": rt.pod_ip,
        "podIPs": [{"ip": rt.pod_ip}],
        "startTime": fmt_ts(rt.start_time),
        "containerStatuses": rt.ctrs.iter().map(ctr_status).collect::<Vec<_>>(),
        "qosClass": qos(pod),
    });
    if !rt.init.is_empty() {
        st["initContainerStatuses"] = json!(rt.init.iter().map(ctr_status).collect::<Vec<_>>());
    }
    for k in ["reason", "message"] {
        if let Some(v) = pod.pointer(&format!("/status/{k}")) {
            st[k] = v.clone();
        }
    }
    if let Some((r, m)) = &rt.pod_reason {
        st["reason"] = json!(r);
        st["message"] = json!(m);
    }
    st
}

/// Logs of a container: (text, start ms of the instance). `Err((code, message))`.
pub fn logs_of(
    kl: &Kubelet,
    pod: &Value,
    container: &str,
    previous: bool,
) -> Result<(String, i64, bool), (u16, String)> {
    let pname = util::name(pod);
    let ann = pod.pointer("/metadata/annotations");
    if let Some(rt) = kl.pods.get(util::uid(pod)) {
        let c = rt
            .ctrs
            .iter()
            .chain(rt.init.iter())
            .find(|c| c.name == container);
        let Some(c) = c else {
            return Err((
                400,
                format!("container {container} is not valid for pod {pname}"),
            ));
        };
        if previous {
            return match &c.prev_logs {
                Some(l) if c.last_term.is_some() || c.beh.previous_logs.is_some() => Ok((l.clone(), c.prev_start, false)),
                _ => Err((400, format!("previous terminated container \"{container}\" in pod \"{pname}\" not found"))),
            };
        }
        return match &c.state {
            CState::Pending { .. } => {
                let reason = match ctr_status(c).pointer("/state/waiting/reason") {
                    Some(Value::String(r)) => r.clone(),
                    _ => "ContainerCreating".into(),
                };
                Err((400, format!("container \"{container}\" in pod \"{pname}\" is waiting to start: {reason}")))
            }
            CState::Running { .. } => Ok((c.logs.clone(), c.log_start, true)),
            CState::Waiting { .. } => {
                Ok((c.prev_logs.clone().unwrap_or_default(), c.prev_start, false))
            }
            CState::Terminated { .. } => Ok((c.logs.clone(), c.log_start, false)),
        };
    }
    // static pod
    let beh = behavior::for_container(ann, container);
    let start = pod
        .pointer("/status/containerStatuses")
        .and_then(|a| a.as_array())
        .and_then(|a| a.iter().find(|s| util::s(s, "/name") == container).cloned())
        .map(|s| util::parse_ts(util::s(&s, "/state/running/startedAt")).unwrap_or(0))
        .unwrap_or(0);
    if previous {
        let prev = behavior::annotation_logs(ann, behavior::PREVIOUS_LOGS, container)
            .or(beh.previous_logs);
        let has_last = pod
            .pointer("/status/containerStatuses")
            .and_then(|a| a.as_array())
            .and_then(|a| a.iter().find(|s| util::s(s, "/name") == container).cloned())
            .is_some_and(|s| s.pointer("/lastState/terminated").is_some());
        return match prev {
            Some(p) => Ok((p, start, false)),
            None if has_last => Ok((String::new(), start, false)),
            None => Err((
                400,
                format!(
                    "previous terminated container \"{container}\" in pod \"{pname}\" not found"
                ),
            )),
        };
    }
    let cur = behavior::annotation_logs(ann, behavior::LOGS, container)
        .or(beh.logs)
        .unwrap_or_default();
    Ok((cur, start, false))
}
