//! Zero downtime, verified: while a target restarts, the EndpointSlices of the Services that select it are
//! watched together with its pods, and the rollout is judged: could it have dropped traffic?
//!
//! - [`observe`]: the watches (EndpointSlices `discovery.k8s.io/v1` by their `kubernetes.io/service-name`
//!   label, the target's pods) and the timeline they record, in the API server's time (object
//!   timestamps, each slice write's `managedFields` time) so it holds against any API server;
//! - [`judge`]: pure: a timeline → a verdict (margin, preStop pause, exits, ready endpoints against
//!   maxUnavailable), with its evidence;
//! - [`fix`]: what to change, in `diagnose`'s words;
//! - [`probe`]: `--probe svc/NAME:PORT[/PATH]`, requests through the API server's service proxy.
//!
//! The verdict lands in the summary (`zeroDowntime` of each target, see `restart`'s JSON schema).

pub(crate) mod fix;
pub(crate) mod judge;
pub(crate) mod observe;
pub(crate) mod probe;

use serde::Serialize;

/// How the rollout fared for the traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Verdict {
    /// No race, ready endpoints never below what maxUnavailable allows.
    Ok,
    /// A race by the timing (not observed as a failure), or fewer ready endpoints than allowed.
    AtRisk,
    /// A container observed to exit while still routed, a Service without ready endpoints, or failed
    /// probe requests.
    Violated,
    /// No Service selects the target's pods.
    NotApplicable,
    /// It could not be watched (e.g. 403 on endpointslices).
    Unknown,
}

impl Verdict {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Verdict::Ok => "ok",
            Verdict::AtRisk => "at-risk",
            Verdict::Violated => "violated",
            Verdict::NotApplicable => "not-applicable",
            Verdict::Unknown => "unknown",
        }
    }
}

/// What `--probe` saw through the API server's service proxy.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ProbeStats {
    pub requests: u64,
    /// Answers with status ≥ 500, connection errors and requests without an answer.
    pub failed: u64,
    pub worst_latency_ms: u64,
    /// The first few failures, as seen (`503: error trying to reach service: …`).
    pub failures: Vec<String>,
    /// The path the requests took (the API server's service proxy, not the users' ingress).
    pub path: String,
    /// Why the probe stopped early (forbidden …), if it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped: Option<String>,
}

/// A target's zero-downtime verdict (`zeroDowntime` in the JSON summary).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ZeroDowntime {
    pub verdict: Verdict,
    pub pods_replaced: usize,
    pub raced: usize,
    /// The fewest ready endpoints of a selecting Service during the restart (null: not observed).
    pub min_ready_endpoints: Option<usize>,
    pub desired_replicas: i32,
    /// The smallest time between leaving the ready endpoints and stopping to serve (null: no routed pod
    /// was replaced).
    pub worst_margin_seconds: Option<f64>,
    /// `--endpoint-margin`.
    pub margin_seconds: f64,
    /// The Services that select the target.
    pub services: Vec<String>,
    /// One line: what was seen, or why there is no verdict.
    pub summary: String,
    pub evidence: Vec<String>,
    /// What to change (diagnose's rule wording and YAML), for a verdict that is not ok.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
    pub probe: Option<ProbeStats>,
}

impl ZeroDowntime {
    /// A verdict without a timeline (`not-applicable`, `unknown`).
    pub(crate) fn without_timeline(
        verdict: Verdict,
        summary: String,
        desired: i32,
        margin: f64,
        services: Vec<String>,
        probe: Option<ProbeStats>,
    ) -> ZeroDowntime {
        ZeroDowntime {
            verdict,
            pods_replaced: 0,
            raced: 0,
            min_ready_endpoints: None,
            desired_replicas: desired,
            worst_margin_seconds: None,
            margin_seconds: margin,
            services,
            summary,
            evidence: vec![],
            fix: None,
            probe,
        }
    }

    /// The judgement of a timeline, with the fix worded by `diagnose` for `workload`.
    pub(crate) fn judged(
        t: &judge::Timeline,
        workload: &crate::diagnose::Workload,
        cx: &crate::diagnose::Context,
        lost: Option<String>,
    ) -> ZeroDowntime {
        let services: Vec<String> = t.services.iter().map(|s| s.name.clone()).collect();
        if let Some(why) = lost {
            return ZeroDowntime::without_timeline(
                Verdict::Unknown,
                why,
                t.desired,
                t.margin,
                services,
                t.probe.clone(),
            );
        }
        let j = judge::judge(t);
        let fix = match j.verdict {
            Verdict::AtRisk | Verdict::Violated => fix::fix(
                workload,
                cx,
                &fix::Problems {
                    raced_containers: j.raced_containers.clone(),
                    prestop_failed: j.prestop_failed,
                    margin: t.margin,
                    capacity_lost: j.capacity_lost || j.min_ready_endpoints == Some(0),
                },
            ),
            _ => None,
        };
        ZeroDowntime {
            verdict: j.verdict,
            pods_replaced: j.pods_replaced,
            raced: j.raced,
            min_ready_endpoints: j.min_ready_endpoints,
            desired_replicas: t.desired,
            worst_margin_seconds: j.worst_margin_seconds,
            margin_seconds: t.margin,
            services,
            summary: j.summary,
            evidence: j.evidence,
            fix,
            probe: t.probe.clone(),
        }
    }
}

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use super::api::Contact;
use super::plan::{Step, Subject};
use super::track::Tracker;
use crate::client::Kube;
use crate::diagnose::{Context, KubeVersion, Workload as Spec};
use crate::workload::Strategy;

/// The zero-downtime flags.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// Off with `--no-endpoint-check`.
    pub enabled: bool,
    /// `--endpoint-margin`.
    pub margin: Duration,
    pub probe: Option<probe::ProbeTarget>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            enabled: true,
            margin: Duration::from_secs(5),
            probe: None,
        }
    }
}

/// What the check runs with.
pub(crate) struct Env<'a> {
    pub kube: &'a Kube,
    /// The same connection without the client's retries (for the probe).
    pub probe_kube: &'a Kube,
    pub contact: &'a Contact,
    pub tracker: &'a Tracker,
    pub settings: &'a Settings,
    /// Where `--probe`'s Service is (the run's namespace).
    pub namespace: &'a str,
}

/// The observation's view of a step, and its spec as `diagnose` reads it (for the fix).
fn subject_of(step: &Step, margin: f64) -> Option<(observe::Subject, Spec)> {
    let (pod_selector, labels, desired, max_unavailable, spec) = match &step.subject {
        Subject::Workload(w) => {
            let labels = w
                .template()
                .and_then(|t| t.metadata.as_ref())
                .and_then(|m| m.labels.clone())
                .unwrap_or_default();
            let desired = w.desired();
            let max_unavailable = match w.strategy() {
                Strategy::Recreate => desired,
                Strategy::OnDelete => 1,
                _ => w
                    .surge_unavailable()
                    .map_or(1, |(_, unavailable)| unavailable),
            };
            let spec = w.workload();
            (
                super::step::label_selector(w).ok()?,
                labels,
                desired,
                max_unavailable,
                spec,
            )
        }
        Subject::Pod(p) => (
            super::step::pod_selector(p),
            p.metadata.labels.clone().unwrap_or_default(),
            1,
            1,
            Spec::from_pod(p),
        ),
    };
    Some((
        observe::Subject {
            ns: step.ns.clone(),
            pod_selector,
            labels,
            desired,
            max_unavailable,
            margin,
        },
        spec,
    ))
}

/// The server's version, for the fix's YAML (diagnose's default when it cannot be read soon).
async fn server_version(env: &Env<'_>, deadline: Instant) -> KubeVersion {
    let by = deadline.min(Instant::now() + super::evict::FINAL_READ);
    super::api::call(
        env.kube,
        env.contact,
        by,
        ("get", "server version", None),
        env.kube.client.apiserver_version(),
    )
    .await
    .ok()
    .and_then(|i| KubeVersion::parse(&i.git_version))
    .unwrap_or(KubeVersion::DEFAULT)
}

/// Runs `work` (the step) while the Services' endpoints are watched and `--probe` sends its requests;
/// returns its output and the verdict (None with `--no-endpoint-check`). The watches start, and list
/// what is there, before `work` does; they stop (after a short drain) when `work` is done, so the
/// check adds no wait of its own beyond that.
pub(crate) async fn alongside<F: Future>(
    env: &Env<'_>,
    step: &Step,
    deadline: Instant,
    work: F,
) -> (F::Output, Option<ZeroDowntime>) {
    let margin = env.settings.margin.as_secs_f64();
    let subject = match subject_of(step, margin) {
        Some(s) if env.settings.enabled => s,
        _ => return (work.await, None),
    };
    let (subject, spec) = subject;
    let desired = subject.desired;
    let begun = observe::begin(env.kube, env.contact, env.tracker, deadline, subject).await;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let work = async {
        let out = work.await;
        let _ = stop_tx.send(true);
        out
    };
    let probing = async {
        match &env.settings.probe {
            Some(t) => Some(probe::run(env.probe_kube, env.namespace, t, stop_rx.clone()).await),
            None => None,
        }
    };
    match begun {
        observe::Begin::Watching(o) => {
            let selected = o.selected_services();
            let (out, (mut timeline, lost), probe) = tokio::join!(
                work,
                o.follow(stop_rx.clone(), env.contact, env.tracker),
                probing
            );
            timeline.probe = probe;
            // diagnose's context for the fix: the Services seen; PDBs and HPAs unknown (not read).
            let mut cx = Context::unknown(server_version(env, deadline).await);
            cx.services = Some(selected);
            (out, Some(ZeroDowntime::judged(&timeline, &spec, &cx, lost)))
        }
        observe::Begin::NotApplicable(why) => {
            let (out, probe) = tokio::join!(work, probing);
            let zd = ZeroDowntime::without_timeline(
                Verdict::NotApplicable,
                why,
                desired,
                margin,
                vec![],
                probe,
            );
            (out, Some(zd))
        }
        observe::Begin::Unknown { services, reason } => {
            let (out, probe) = tokio::join!(work, probing);
            let zd = ZeroDowntime::without_timeline(
                Verdict::Unknown,
                reason,
                desired,
                margin,
                services,
                probe,
            );
            (out, Some(zd))
        }
    }
}
