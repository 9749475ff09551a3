//! The simulated kubelet of every node, on the sim clock.
//!
//! - [`container`]: one container's state machine (pull, start, readiness, crashes, probes, the
//!   stop sequence, back-off), unit-tested;
//! - [`pod`]: a pod's containers together (init order, sidecars, deletion, kubelet failures);
//! - [`status`]: the status the kubelet writes for it;
//! - [`node`]: node-level events (node-pressure eviction, graceful node shutdown, NotReady);
//! - this module: the driver over the store — schedule pending pods ([`crate::scheduler`]), step
//!   each pod when it changed or a timer fell due, record its events, write its status, and
//!   remove it once a graceful deletion has stopped every container.
//!
//! `container`, `pod` and `status` are pure and shared with the test bed's kubelet (a client of the real
//! apiserver), so both back-ends run containers by the same rules.

pub mod container;
pub mod node;
pub mod pod;
pub mod status;

use crate::scheduler::{self, Capacity};
use crate::store::Store;
use crate::util::{self, fmt_ts};
use container::{State, KILLED};
use pod::{merge_conditions, PodEv, PodRun};
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};

/// A pod this kubelet runs.
pub struct PodRt {
    pub run: PodRun,
    pub node: String,
    pub host_ip: String,
    /// The resourceVersion of the pod as last written (a change means someone else wrote it).
    pub seen_rv: String,
    /// When a container changes by itself next.
    pub next_wake: i64,
}

#[derive(Default)]
pub struct Kubelet {
    /// By pod UID.
    pub pods: HashMap<String, PodRt>,
    pub ip_counter: u32,
    /// Earliest sim time at which some pod's state changes by itself.
    pub next_wake: i64,
}

const DEADLINE_MESSAGE: &str = "Pod was active on the node longer than the specified deadline";

fn deleting(p: &Value) -> bool {
    p.pointer("/metadata/deletionTimestamp")
        .is_some_and(|x| !x.is_null())
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
                    deleting(p),
                )
            })
            .collect();
        let live: HashSet<&str> = keys.iter().map(|k| k.2.as_str()).collect();
        self.pods.retain(|k, _| live.contains(k.as_str()));
        let mut cap: Option<Capacity> = None;
        self.next_wake = i64::MAX;
        for (ns, name, uid, rv, is_deleting) in keys {
            if let Some(rt) = self.pods.get(&uid) {
                if rt.seen_rv == rv && now < rt.next_wake {
                    self.next_wake = self.next_wake.min(rt.next_wake);
                    continue;
                }
            } else if store.static_uids.contains(&uid) && !is_deleting {
                continue;
            }
            let Some(mut pod) = store.get("pods", &ns, &name).cloned() else {
                continue;
            };
            let cap = cap.get_or_insert_with(|| Capacity::of(store));
            let mut node = util::s(&pod, "/spec/nodeName").to_string();
            if node.is_empty() {
                if is_deleting {
                    store.remove("pods", &ns, &name);
                    continue;
                }
                match scheduler::schedule(store, cap, &pod, now) {
                    Some(n) => node = n,
                    None => continue,
                }
                pod = store.get("pods", &ns, &name).cloned().unwrap_or(pod);
            }
            if !self.pods.contains_key(&uid) {
                let rt = self.admit(store, cap, &pod, &node, now);
                self.pods.insert(uid.clone(), rt);
            }
            let rt = self.pods.get_mut(&uid).expect("admitted");
            let evs = sync(rt, &pod, now);
            let pod = write(store, rt, &pod, evs, now);
            if rt.run.terminal && rt.run.is_deleting() {
                // status_manager: every container stopped, so the pod object can go.
                store.remove("pods", &ns, &name);
                self.pods.remove(&uid);
                continue;
            }
            rt.seen_rv = util::s(&pod, "/metadata/resourceVersion").to_string();
            rt.next_wake = wake(rt, &pod, now);
            self.next_wake = self.next_wake.min(rt.next_wake);
        }
    }

    /// A pod new to this kubelet: a static one (loaded with a status, now being deleted) as its
    /// status shows it, any other from its spec with a fresh IP.
    fn admit(
        &mut self,
        store: &mut Store,
        cap: &Capacity,
        pod: &Value,
        node: &str,
        now: i64,
    ) -> PodRt {
        let node_idx: u32 = node
            .trim_start_matches(|c: char| !c.is_ascii_digit())
            .parse()
            .unwrap_or(1);
        let host_ip = cap
            .host_ip(node)
            .or_else(|| {
                let h = util::s(pod, "/status/hostIP");
                (!h.is_empty()).then(|| h.to_string())
            })
            .unwrap_or_else(|| format!("10.0.0.{node_idx}"));
        let uid = util::uid(pod);
        let run = if store.static_uids.remove(uid) {
            PodRun::from_status(pod)
        } else {
            self.ip_counter += 1;
            let ip = format!("10.244.{}.{}", node_idx, 2 + self.ip_counter % 250);
            let ip = if util::b(pod, "/spec/hostNetwork") {
                host_ip.clone()
            } else {
                ip
            };
            PodRun::new(pod, ip, now)
        };
        PodRt {
            run,
            node: node.to_string(),
            host_ip,
            seen_rv: String::new(),
            next_wake: 0,
        }
    }
}

/// Move a pod's containers to `now`: a deletion in progress, `activeDeadlineSeconds`, timers.
fn sync(rt: &mut PodRt, pod: &Value, now: i64) -> Vec<PodEv> {
    let mut evs = Vec::new();
    if let Some(deadline) = pod
        .pointer("/metadata/deletionTimestamp")
        .and_then(Value::as_str)
        .and_then(util::parse_ts)
    {
        let grace = util::i(pod, "/metadata/deletionGracePeriodSeconds").unwrap_or(30) * 1000;
        // The stop began when the deletion was requested, even if this tick came later.
        rt.run.delete((deadline - grace).min(now), grace);
    } else if let Some(ads) = util::i(pod, "/spec/activeDeadlineSeconds") {
        let at = rt.run.start_time() + ads * 1000;
        if now >= at && !rt.run.terminal {
            evs = rt
                .run
                .fail(at, "DeadlineExceeded", DEADLINE_MESSAGE, KILLED, true);
        }
    }
    evs.extend(rt.run.step(now));
    evs
}

/// Record `evs` and write the pod's status; the pod as stored.
pub(crate) fn write(
    store: &mut Store,
    rt: &PodRt,
    pod: &Value,
    evs: Vec<PodEv>,
    now: i64,
) -> Value {
    for e in &evs {
        store.record_event(
            pod,
            e.field_path.as_deref(),
            if e.ev.warning { "Warning" } else { "Normal" },
            &e.ev.reason,
            &e.ev.message,
            "kubelet",
            &rt.node,
            now,
        );
    }
    let mut p = pod.clone();
    p["status"] = status(rt, pod, now);
    store.put("pods", p)
}

/// The status the kubelet writes: its own fields, conditions merged with the ones others own
/// (PodScheduled, DisruptionTarget), the API server's qosClass kept.
fn status(rt: &PodRt, pod: &Value, now: i64) -> Value {
    let mut st = rt.run.status(&rt.host_ip);
    st["conditions"] = merge_conditions(pod, &st["conditions"], &fmt_ts(now));
    st["qosClass"] = json!(scheduler::qos(pod));
    for k in ["reason", "message"] {
        if st.get(k).is_none() {
            if let Some(v) = pod.pointer(&format!("/status/{k}")) {
                st[k] = v.clone();
            }
        }
    }
    st
}

/// When the pod changes by itself next (a container timer, `activeDeadlineSeconds`).
fn wake(rt: &PodRt, pod: &Value, now: i64) -> i64 {
    let mut t = rt.run.next_wake().unwrap_or(i64::MAX);
    if let Some(ads) = util::i(pod, "/spec/activeDeadlineSeconds") {
        if !rt.run.terminal && !rt.run.is_deleting() {
            t = t.min(rt.run.start_time() + ads * 1000);
        }
    }
    t.max(now + 1)
}

/// Logs of a container: (text, start ms of the instance, still running). `Err((code, message))`
/// as the kubelet answers.
pub fn logs_of(
    kl: &Kubelet,
    pod: &Value,
    container: &str,
    previous: bool,
) -> Result<(String, i64, bool), (u16, String)> {
    use crate::behavior;
    let pname = util::name(pod);
    let not_found = || {
        (
            400,
            format!("previous terminated container \"{container}\" in pod \"{pname}\" not found"),
        )
    };
    if let Some(rt) = kl.pods.get(util::uid(pod)) {
        let Some(c) = rt
            .run
            .app
            .iter()
            .chain(rt.run.init.iter())
            .find(|c| c.spec.name == container)
        else {
            return Err((
                400,
                format!("container {container} is not valid for pod {pname}"),
            ));
        };
        if previous {
            return match (&c.previous, &c.behavior.previous_logs) {
                (Some(i), _) => Ok((i.log.clone(), i.started_at, false)),
                (None, Some(l)) => Ok((l.clone(), 0, false)),
                (None, None) => Err(not_found()),
            };
        }
        return match (&c.state, &c.current) {
            (State::Running { .. }, Some(i)) => Ok((i.log.clone(), i.started_at, true)),
            (_, Some(i)) => Ok((i.log.clone(), i.started_at, false)),
            (State::Waiting { .. }, None) if c.previous.is_some() => {
                let i = c.previous.as_ref().expect("previous");
                Ok((i.log.clone(), i.started_at, false))
            }
            (State::Waiting { reason, .. }, None) => Err((
                400,
                format!(
                    "container \"{container}\" in pod \"{pname}\" is waiting to start: {reason}"
                ),
            )),
            _ => Ok((String::new(), 0, false)),
        };
    }
    // A static pod: its annotations.
    let ann = pod.pointer("/metadata/annotations");
    let beh = behavior::for_container(ann, container);
    let status = pod
        .pointer("/status/containerStatuses")
        .and_then(Value::as_array)
        .and_then(|a| a.iter().find(|s| util::s(s, "/name") == container).cloned());
    let start = status
        .as_ref()
        .map(|s| util::parse_ts(util::s(s, "/state/running/startedAt")).unwrap_or(0))
        .unwrap_or(0);
    if previous {
        let prev = behavior::annotation_logs(ann, behavior::PREVIOUS_LOGS, container)
            .or(beh.previous_logs);
        let has_last = status
            .as_ref()
            .is_some_and(|s| s.pointer("/lastState/terminated").is_some());
        return match prev {
            Some(p) => Ok((p, start, false)),
            None if has_last => Ok((String::new(), start, false)),
            None => Err(not_found()),
        };
    }
    let cur = behavior::annotation_logs(ann, behavior::LOGS, container)
        .or(beh.logs)
        .unwrap_or_default();
    Ok((cur, start, false))
}
