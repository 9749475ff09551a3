//! One pod on a simulated node: init containers in order, then the app containers; deletion runs
//! every container's stop sequence (sidecars after the app containers); the pod status the kubelet
//! would write (pkg/kubelet/kubelet_pods.go `generateAPIPodStatus`, `getPhase`; status_manager.go).
//! Pure, like [`super::container`]: a kubelet (kubesim's, or the test bed's) calls
//! [`PodRun::step`] and writes [`PodRun::status`] ([`super::status`]).

use super::container::{Container, Ev, PodKill, Probe, Spec, State};
use crate::behavior::{self, Behavior};
use serde_json::Value;

/// An event about the pod, or one of its containers when `field_path` is set.
#[derive(Debug, Clone, PartialEq)]
pub struct PodEv {
    pub field_path: Option<String>,
    pub ev: Ev,
}

pub struct PodRun {
    pub init: Vec<Container>,
    pub app: Vec<Container>,
    restart_policy: String,
    pub(super) start_time: i64,
    deleting: Option<i64>,
    deletion_grace_ms: i64,
    /// All containers have stopped and the pod is terminal (Succeeded/Failed).
    pub terminal: bool,
    /// The kubelet failed the pod itself: (status.reason, status.message), e.g. `Evicted`.
    pub(super) failure: Option<(String, String)>,
    pub pod_ip: String,
}

fn probe(c: &Value, key: &str) -> Option<Probe> {
    let p = c.get(key)?;
    Some(Probe {
        period_ms: p["periodSeconds"].as_i64().unwrap_or(10) * 1000,
        failure_threshold: p["failureThreshold"].as_i64().unwrap_or(3),
        grace_ms: p["terminationGracePeriodSeconds"]
            .as_i64()
            .map(|s| s * 1000),
    })
}

/// What the kubelet reads from a container's spec. A behaviour that scripts a hook or a probe
/// the spec lacks (`preStop: 5s`, `postStartFails`, `livenessFailsAfter`, `startupFails`) gets
/// one with the API's defaults (period 10 s, failure threshold 3), so a scenario need not spell
/// it out.
fn spec_of(c: &Value, init: bool, b: &behavior::Behavior) -> Spec {
    let default_probe = Probe {
        period_ms: 10_000,
        failure_threshold: 3,
        grace_ms: None,
    };
    Spec {
        name: c["name"].as_str().unwrap_or_default().to_string(),
        image: c["image"].as_str().unwrap_or_default().to_string(),
        init,
        sidecar: init && c["restartPolicy"] == "Always",
        has_pre_stop: c.pointer("/lifecycle/preStop").is_some()
            || b.pre_stop.is_some()
            || b.pre_stop_fails,
        pre_stop_ms: behavior::pre_stop_ms(c).unwrap_or(0),
        has_post_start: c.pointer("/lifecycle/postStart").is_some() || b.post_start_fails,
        readiness: probe(c, "readinessProbe"),
        liveness: probe(c, "livenessProbe")
            .or((b.liveness_fails_after.is_some()).then_some(default_probe)),
        startup: probe(c, "startupProbe").or(b.startup_fails.then_some(default_probe)),
        fallback_to_logs: c["terminationMessagePolicy"] == "FallbackToLogsOnError",
    }
}

/// `pod_NS(UID)` as the kubelet names a pod in back-off messages.
fn pod_ref(pod: &Value) -> String {
    format!(
        "{}_{}({})",
        pod["metadata"]["name"].as_str().unwrap_or_default(),
        pod["metadata"]["namespace"].as_str().unwrap_or_default(),
        pod["metadata"]["uid"].as_str().unwrap_or_default()
    )
}

pub use super::status::merge_conditions;

impl PodRun {
    /// `pod` as JSON (the API object); `now` in Unix milliseconds.
    pub fn new(pod: &Value, pod_ip: String, now: i64) -> PodRun {
        let has_init = pod["spec"]["initContainers"]
            .as_array()
            .is_some_and(|a| !a.is_empty());
        let make = |spec: Spec, b, pod_ref, i| {
            // Init containers run one after another, the app containers after the last of them.
            if (spec.init && i > 0) || (!spec.init && has_init) {
                Container::new_blocked(spec, b, pod_ref)
            } else {
                Container::new(spec, b, pod_ref, now)
            }
        };
        PodRun::with_containers(pod, make, now, false, pod_ip)
    }

    /// A pod as loaded with a status (kubesim's static pods): its containers as their statuses
    /// show them, logs from the `kubesim.io/logs` / `kubesim.io/previous-logs` annotations.
    pub fn from_status(pod: &Value) -> PodRun {
        let ann = pod.pointer("/metadata/annotations");
        let make = |spec: Spec, b, pod_ref, _| {
            let statuses = if spec.init {
                "initContainerStatuses"
            } else {
                "containerStatuses"
            };
            let st = pod["status"][statuses]
                .as_array()
                .and_then(|a| a.iter().find(|s| s["name"] == spec.name.as_str()))
                .cloned()
                .unwrap_or(Value::Null);
            let logs = behavior::annotation_logs(ann, behavior::LOGS, &spec.name);
            let prev = behavior::annotation_logs(ann, behavior::PREVIOUS_LOGS, &spec.name);
            Container::from_status(spec, b, pod_ref, &st, logs, prev)
        };
        let status = |key: &str| pod["status"][key].as_str().unwrap_or("");
        let started = crate::util::parse_ts(status("startTime")).unwrap_or(0);
        let terminal = matches!(status("phase"), "Succeeded" | "Failed");
        PodRun::with_containers(pod, make, started, terminal, status("podIP").into())
    }

    /// The pod with its containers made by `make` (from each one's spec and behaviour, the pod
    /// as the kubelet names it, and its index among the init or the app containers).
    fn with_containers(
        pod: &Value,
        make: impl Fn(Spec, Behavior, String, usize) -> Container,
        start_time: i64,
        terminal: bool,
        pod_ip: String,
    ) -> PodRun {
        let ann = pod.pointer("/metadata/annotations");
        let pod_ref = pod_ref(pod);
        let grace = pod["spec"]["terminationGracePeriodSeconds"]
            .as_i64()
            .unwrap_or(30)
            * 1000;
        let containers = |key: &str, init: bool| -> Vec<Container> {
            let list = pod["spec"][key].as_array().into_iter().flatten();
            list.enumerate()
                .map(|(i, c)| {
                    let b = behavior::for_container(ann, c["name"].as_str().unwrap_or_default());
                    let spec = spec_of(c, init, &b);
                    let mut ctr = make(spec, b, pod_ref.clone(), i);
                    ctr.pod_grace_ms = grace;
                    ctr
                })
                .collect()
        };
        PodRun {
            init: containers("initContainers", true),
            app: containers("containers", false),
            restart_policy: pod["spec"]["restartPolicy"]
                .as_str()
                .unwrap_or("Always")
                .to_string(),
            start_time,
            deleting: None,
            deletion_grace_ms: grace,
            terminal,
            failure: None,
            pod_ip,
        }
    }

    /// When the pod started on the node.
    pub fn start_time(&self) -> i64 {
        self.start_time
    }

    /// The pod got a deletionTimestamp (grace from `deletionGracePeriodSeconds`).
    pub fn delete(&mut self, now: i64, grace_ms: i64) {
        if self.deleting.is_none() {
            self.deleting = Some(now);
            self.deletion_grace_ms = grace_ms;
        }
    }

    /// The kubelet fails the pod: every container killed (`how`), phase Failed with `reason` and
    /// `message`, a Warning event `reason` about the pod when `event`; the pod object stays.
    /// Node-pressure eviction (`Evicted`) and graceful node shutdown (`Terminated`) also get the
    /// condition DisruptionTarget (TerminationByKubelet); `DeadlineExceeded`
    /// (activeDeadlineSeconds) does not.
    pub fn fail(
        &mut self,
        now: i64,
        reason: &str,
        message: &str,
        how: PodKill,
        event: bool,
    ) -> Vec<PodEv> {
        let mut out = Vec::new();
        if event {
            out.push(PodEv {
                field_path: None,
                ev: Ev {
                    warning: true,
                    reason: reason.to_string(),
                    message: message.trim_end().to_string(),
                },
            });
        }
        for c in self.app.iter_mut().chain(self.init.iter_mut()) {
            let mut evs = Vec::new();
            c.kill_for_pod_failure(now, how, &mut evs);
            tag(c, evs, &mut out);
        }
        self.failure = Some((reason.to_string(), message.to_string()));
        self.terminal = true;
        out
    }

    pub fn is_deleting(&self) -> bool {
        self.deleting.is_some()
    }

    pub fn next_wake(&self) -> Option<i64> {
        self.init
            .iter()
            .chain(&self.app)
            .filter_map(|c| c.next_wake())
            .min()
    }

    pub(super) fn inits_done(&self) -> bool {
        self.init.iter().all(|c| c.init_complete())
    }

    /// Move every container to `now`; the events recorded on the way.
    pub fn step(&mut self, now: i64) -> Vec<PodEv> {
        let mut out = Vec::new();
        let policy = self.restart_policy.clone();
        let deleting = self.deleting.is_some();
        let app_restarts = move |_: &Container, code: i32| {
            !deleting && (policy == "Always" || (policy == "OnFailure" && code != 0))
        };
        let policy = self.restart_policy.clone();
        let init_restarts = move |c: &Container, code: i32| {
            !deleting && (c.spec.sidecar || (code != 0 && policy != "Never"))
        };

        if let Some(began) = self.deleting {
            let grace = self.deletion_grace_ms;
            for c in &mut self.app {
                let mut evs = Vec::new();
                c.stop_for_deletion(began, grace, &mut evs);
                tag(c, evs, &mut out);
            }
            // Sidecars stop after the app containers, with what is left of the grace period.
            if self.app.iter().all(|c| !c.is_running()) {
                let left = (began + grace - now).max(0);
                for c in &mut self.init {
                    let mut evs = Vec::new();
                    c.stop_for_deletion(now, left, &mut evs);
                    tag(c, evs, &mut out);
                }
            }
        }

        // Init containers in order: each starts when the ones before it are complete.
        for i in 0..self.init.len() {
            if i > 0 && self.init[i - 1].init_complete() && !self.is_deleting() {
                self.init[i].unblock(now);
            }
            let evs = self.init[i].step(now, &init_restarts);
            tag(&self.init[i], evs, &mut out);
        }
        if self.inits_done() && !self.is_deleting() {
            for c in &mut self.app {
                c.unblock(now);
            }
        }
        for c in &mut self.app {
            let evs = c.step(now, &app_restarts);
            tag(c, evs, &mut out);
        }
        if let Some(began) = self.deleting {
            // The sidecars may stop now that the app containers are gone.
            if self.app.iter().all(|c| !c.is_running()) && self.init.iter().any(|c| c.is_running())
            {
                let left = (began + self.deletion_grace_ms - now).max(0);
                for c in &mut self.init {
                    let mut evs = Vec::new();
                    c.stop_for_deletion(now, left, &mut evs);
                    evs.extend(c.step(now, &init_restarts));
                    tag(c, evs, &mut out);
                }
            }
            if self.init.iter().chain(&self.app).all(|c| !c.is_running()) {
                self.terminal = true;
            }
        } else if self.restart_policy != "Always" {
            let all_done = self.app.iter().all(|c| c.is_done());
            let init_failed = self
                .init
                .iter()
                .any(|c| c.is_done() && !c.init_complete() && !c.spec.sidecar);
            if all_done || init_failed {
                self.terminal = true;
            }
        }
        out
    }

    /// `status.phase` (getPhase).
    pub fn phase(&self) -> &'static str {
        let terminated_ok =
            |c: &Container| matches!(&c.state, State::Terminated(t) if t.exit_code == 0);
        if self.failure.is_some() {
            return "Failed";
        }
        if self.terminal {
            let inits_ok = self.init.iter().all(|c| c.spec.sidecar || terminated_ok(c));
            return if inits_ok && self.app.iter().all(terminated_ok) {
                "Succeeded"
            } else {
                "Failed"
            };
        }
        if !self.inits_done() || self.app.iter().any(|c| !c.ever_ran()) {
            return "Pending";
        }
        "Running"
    }
}

/// Adds container `c`'s events to `out`, each with the container's field path
/// (`spec.containers{app}`), as the kubelet's events name it.
fn tag(c: &Container, evs: Vec<Ev>, out: &mut Vec<PodEv>) {
    let kind = if c.spec.init {
        "initContainers"
    } else {
        "containers"
    };
    out.extend(evs.into_iter().map(|ev| PodEv {
        field_path: Some(format!("spec.{kind}{{{}}}", c.spec.name)),
        ev,
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(yaml: &str) -> Value {
        serde_yaml::from_str(yaml).unwrap()
    }

    fn run_until(r: &mut PodRun, until: i64) -> Vec<PodEv> {
        let mut out = r.step(0);
        while let Some(t) = r.next_wake().filter(|&t| t <= until) {
            out.extend(r.step(t));
        }
        out
    }

    fn cond<'a>(st: &'a Value, typ: &str) -> &'a Value {
        st["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["type"] == typ)
            .unwrap()
    }

    /// The state (`running`, `terminated`, `waiting`) of the first init container and of the
    /// first app container.
    fn states(r: &PodRun) -> [String; 2] {
        let st = r.status("127.0.0.1");
        ["initContainerStatuses", "containerStatuses"].map(|list| {
            let state = st[list][0]["state"].as_object();
            state
                .and_then(|m| m.keys().next().cloned())
                .unwrap_or_default()
        })
    }

    const WITH_INIT: &str = r#"
metadata: {name: web-1, namespace: shop, uid: u1, annotations: {kubesim.io/behavior: "{startDelay: 0s, readyAfter: 1s}"}}
spec:
  initContainers: [{name: migrate, image: m:1}]
  containers: [{name: app, image: a:1}]
"#;

    #[test]
    fn init_containers_run_before_the_app_containers() {
        let mut r = PodRun::new(&pod(WITH_INIT), "10.244.1.2".into(), 0);
        run_until(&mut r, 500);
        let st = r.status("127.0.0.1");
        assert_eq!(st["phase"], "Pending");
        assert_eq!(cond(&st, "Initialized")["status"], "False");
        assert_eq!(
            st["containerStatuses"][0]["state"]["waiting"]["reason"],
            "PodInitializing"
        );
        // The init container runs 1 s, exits 0; then the app starts and is Ready 1 s later.
        run_until(&mut r, 2_000);
        let st = r.status("127.0.0.1");
        assert_eq!(
            st["initContainerStatuses"][0]["state"]["terminated"]["reason"],
            "Completed"
        );
        assert_eq!(st["phase"], "Running");
        assert_eq!(cond(&st, "Initialized")["status"], "True");
        assert_eq!(cond(&st, "Ready")["status"], "True");
        assert_eq!(st["podIP"], "10.244.1.2");
    }

    #[test]
    fn deletion_ends_in_a_terminal_phase_with_every_container_stopped() {
        let mut r = PodRun::new(&pod(WITH_INIT), "10.244.1.2".into(), 0);
        run_until(&mut r, 3_000);
        r.delete(3_000, 30_000);
        let evs = run_until(&mut r, 3_000);
        assert!(evs
            .iter()
            .any(|e| e.ev.reason == "Killing"
                && e.field_path.as_deref() == Some("spec.containers{app}")));
        assert!(r.terminal, "the app exits at once on SIGTERM by default");
        let st = r.status("127.0.0.1");
        assert_eq!(st["phase"], "Succeeded");
        assert_eq!(cond(&st, "Ready")["reason"], "PodCompleted");
    }

    #[test]
    fn a_job_pod_that_fails_is_failed_without_restarts() {
        let p = pod(r#"
metadata: {name: j-1, namespace: shop, uid: u2, annotations: {kubesim.io/behavior: "{startDelay: 0s, crashAfter: 1s, exitCode: 3}"}}
spec:
  restartPolicy: Never
  containers: [{name: work, image: w:1}]
"#);
        let mut r = PodRun::new(&p, String::new(), 0);
        run_until(&mut r, 60_000);
        assert!(r.terminal);
        let st = r.status("127.0.0.1");
        assert_eq!(st["phase"], "Failed");
        assert_eq!(st["containerStatuses"][0]["restartCount"], 0);
        assert_eq!(
            st["containerStatuses"][0]["state"]["terminated"]["exitCode"],
            3
        );
    }

    #[test]
    fn native_sidecar_runs_beside_the_app_and_stops_after_it() {
        let p = pod(r#"
metadata: {name: s-1, namespace: shop, uid: u3, annotations: {kubesim.io/behavior: "{startDelay: 0s, readyAfter: 1s, sigtermExit: 1s}"}}
spec:
  initContainers: [{name: proxy, image: p:1, restartPolicy: Always}]
  containers: [{name: app, image: a:1}]
"#);
        let mut r = PodRun::new(&p, String::new(), 0);
        run_until(&mut r, 2_000);
        // The sidecar counts as initialized once started; it keeps running beside the app.
        assert_eq!(states(&r), ["running", "running"]);
        assert_eq!(r.status("127.0.0.1")["phase"], "Running");
        r.delete(2_000, 30_000);
        run_until(&mut r, 2_999);
        assert_eq!(states(&r), ["running", "running"], "app still stopping");
        run_until(&mut r, 3_000);
        assert_eq!(
            states(&r),
            ["running", "terminated"],
            "sidecar stops after the app"
        );
        run_until(&mut r, 4_000);
        assert!(r.terminal);
        let st = r.status("127.0.0.1");
        assert_eq!(
            st["initContainerStatuses"][0]["state"]["terminated"]["finishedAt"],
            crate::util::fmt_ts(4_000)
        );
    }

    #[test]
    fn node_pressure_eviction_fails_the_pod_with_the_kubelet_condition() {
        let mut r = PodRun::new(&pod(WITH_INIT), "10.244.1.2".into(), 0);
        run_until(&mut r, 3_000);
        let evs = r.fail(
            3_000,
            "Evicted",
            "The node was low on resource: memory. ",
            crate::kubelet::container::UNKNOWN,
            true,
        );
        assert_eq!(evs[0].ev.reason, "Evicted");
        let st = r.status("127.0.0.1");
        assert_eq!(st["phase"], "Failed");
        assert_eq!(st["reason"], "Evicted");
        assert_eq!(
            cond(&st, "DisruptionTarget")["reason"],
            "TerminationByKubelet"
        );
        let t = &st["containerStatuses"][0]["state"]["terminated"];
        assert_eq!(t["exitCode"], 137);
        assert_eq!(t["reason"], "ContainerStatusUnknown");
    }
}
