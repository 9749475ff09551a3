//! Judging a recorded timeline (pure): could the rollout have dropped traffic?
//!
//! All times are the API server's (object timestamps, seconds precision), never this machine's clock.
//! For each replaced pod that was in a Service's ready endpoints:
//! - it *left* the ready endpoints when a slice write first showed it not ready (or gone);
//! - it *stopped serving* at the earlier of its serving containers' exit and SIGTERM (deletion + its
//!   preStop pause; no pause when the hook failed: an app stops accepting connections on SIGTERM);
//! - its margin is stopped − left: endpoint consumers (kube-proxy, ingress controllers, load balancers)
//!   apply the removal seconds later, so a margin under `--endpoint-margin` is a race;
//! - a container that exited before its endpoint even left the ready ones was observed serving nobody
//!   while still routed.
//!
//! Verdicts: `violated` (an exit observed while routed, a Service with 0 ready endpoints, or failed
//! probe requests), `at-risk` (a race by the timing, or ready endpoints below what maxUnavailable allows),
//! `ok` otherwise.

use std::collections::BTreeSet;

use jiff::Timestamp;

use super::{ProbeStats, Verdict};

/// What was observed of one target's restart.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Timeline {
    pub services: Vec<ServiceTrack>,
    pub pods: Vec<PodTrack>,
    /// The target's desired replicas.
    pub desired: i32,
    /// How many of them the strategy may take down at once.
    pub max_unavailable: i32,
    /// `--endpoint-margin`, in seconds.
    pub margin: f64,
    pub probe: Option<ProbeStats>,
    /// Why part of the timeline is estimated (e.g. no slice write time).
    pub notes: Vec<String>,
}

/// One Service's ready endpoints during the restart.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ServiceTrack {
    pub name: String,
    /// Ready endpoints when the observation began.
    pub baseline: usize,
    /// The fewest ready endpoints seen, and when (the slice write's time).
    pub min: usize,
    pub min_at: Option<Timestamp>,
}

/// One pod of the target that was deleted during the restart.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct PodTrack {
    pub name: String,
    /// When its deletion was requested (`deletionTimestamp` − grace period).
    pub deleted_at: Option<Timestamp>,
    /// It was in some Service's ready endpoints during the observation.
    pub was_ready: bool,
    /// When it left the ready endpoints (the latest over its Services) and of which Service.
    pub left_ready_at: Option<(Timestamp, String)>,
    /// A `FailedPreStopHook` event: the hook did not pause.
    pub prestop_failed: bool,
    /// The containers that serve the Services' ports.
    pub containers: Vec<ContainerTrack>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct ContainerTrack {
    pub name: String,
    /// The preStop pause of its spec, seconds (None: no pause).
    pub pause: Option<i64>,
    pub exited_at: Option<Timestamp>,
}

/// The judgement, before the fix is worded.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Judgement {
    pub verdict: Verdict,
    pub pods_replaced: usize,
    pub raced: usize,
    pub min_ready_endpoints: Option<usize>,
    pub worst_margin_seconds: Option<f64>,
    /// One line: the worst thing seen (or why all is well).
    pub summary: String,
    pub evidence: Vec<String>,
    /// Containers that stopped serving too soon (for the fix).
    pub raced_containers: BTreeSet<String>,
    /// A raced pod's preStop hook failed.
    pub prestop_failed: bool,
    /// Ready endpoints fell below what the strategy allows (for the fix).
    pub capacity_lost: bool,
}

/// `10:04:05Z`: the evidence is about one rollout, the date adds nothing.
pub(crate) fn clock(t: Timestamp) -> String {
    t.strftime("%H:%M:%SZ").to_string()
}

fn secs(a: Timestamp, b: Timestamp) -> f64 {
    a.duration_since(b).as_secs_f64()
}

/// `5s`, `0.5s`, `-2s`.
pub(crate) fn fmt_secs(s: f64) -> String {
    let r = (s * 10.0).round() / 10.0;
    if r.fract() == 0.0 {
        format!("{r:.0}s")
    } else {
        format!("{r:.1}s")
    }
}

/// One pod's race arithmetic.
struct PodRace {
    margin: f64,
    /// A container exited before the endpoint left the ready ones.
    exited_while_routed: bool,
    prestop_failed: bool,
    line: String,
    containers: Vec<String>,
}

fn pod_race(p: &PodTrack, margin: f64, notes: &mut Vec<String>) -> Option<PodRace> {
    if !p.was_ready {
        return None; // never routed: nothing to race
    }
    let deleted = p.deleted_at?;
    let (left, via) = match &p.left_ready_at {
        Some((t, s)) => (*t, s.clone()),
        None => {
            notes.push(format!(
                "pod {}: when its endpoint left was not seen; taken as its deletion",
                p.name
            ));
            (deleted, String::new())
        }
    };
    let mut stopped: Option<(Timestamp, String, String)> = None;
    let mut exited_while_routed = false;
    for c in &p.containers {
        let pause = if p.prestop_failed {
            0
        } else {
            c.pause.unwrap_or(0)
        };
        let sigterm = deleted + jiff::SignedDuration::from_secs(pause);
        let (t, how) = match c.exited_at {
            Some(e) if e < sigterm => (e, format!("exited at {}", clock(e))),
            _ => (
                sigterm,
                format!(
                    "SIGTERM at {} ({})",
                    clock(sigterm),
                    match (p.prestop_failed, c.pause) {
                        (true, _) => "its preStop hook failed: no pause".to_string(),
                        (false, Some(s)) if s > 0 => format!("after a {s}s preStop pause"),
                        _ => "no preStop pause".to_string(),
                    }
                ),
            ),
        };
        exited_while_routed |= c.exited_at.is_some_and(|e| e < left);
        if stopped.as_ref().is_none_or(|(s, _, _)| t < *s) {
            stopped = Some((t, how, c.name.clone()));
        }
    }
    let (stopped, how, container) = stopped?;
    let m = secs(stopped, left);
    let via_text = if via.is_empty() {
        String::new()
    } else {
        format!(" of svc/{via}")
    };
    let line = format!(
        "pod {}: deleted at {}, left the ready endpoints{via_text} at {}, container {container} stopped serving: {how}; {} leaving (margin {})",
        p.name,
        clock(deleted),
        clock(left),
        if m < 0.0 {
            format!("{} before", fmt_secs(-m))
        } else {
            format!("{} after", fmt_secs(m))
        },
        fmt_secs(margin)
    );
    Some(PodRace {
        margin: m,
        exited_while_routed,
        prestop_failed: p.prestop_failed,
        line,
        containers: p.containers.iter().map(|c| c.name.clone()).collect(),
    })
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

pub(crate) fn judge(t: &Timeline) -> Judgement {
    let mut notes = t.notes.clone();
    let replaced: Vec<&PodTrack> = t.pods.iter().filter(|p| p.deleted_at.is_some()).collect();
    let mut in_order = replaced.clone();
    in_order.sort_by_key(|p| (p.deleted_at, p.name.clone()));
    let races: Vec<PodRace> = in_order
        .iter()
        .filter_map(|p| pod_race(p, t.margin, &mut notes))
        .collect();
    let raced: Vec<&PodRace> = races.iter().filter(|r| r.margin < t.margin).collect();
    let observed: Vec<&PodRace> = races.iter().filter(|r| r.exited_while_routed).collect();
    let worst = races.iter().map(|r| r.margin).reduce(f64::min);
    let zero = t.services.iter().find(|s| s.baseline > 0 && s.min == 0);
    let allowed = |s: &ServiceTrack| s.baseline.saturating_sub(t.max_unavailable.max(0) as usize);
    let dip = t.services.iter().find(|s| s.min < allowed(s));
    let failed_probe = t.probe.as_ref().filter(|p| p.failed > 0);

    let mut evidence: Vec<String> = raced.iter().map(|r| r.line.clone()).collect();
    for s in &t.services {
        if s.min < allowed(s) || (s.baseline > 0 && s.min == 0) {
            evidence.push(format!(
                "svc/{}: ready endpoints fell from {} to {}{} (the strategy allows {})",
                s.name,
                s.baseline,
                s.min,
                s.min_at
                    .map(|at| format!(" at {}", clock(at)))
                    .unwrap_or_default(),
                allowed(s)
            ));
        }
    }
    if let Some(p) = failed_probe {
        evidence.push(format!(
            "probe: {} of {} requests failed{}",
            p.failed,
            p.requests,
            p.failures
                .first()
                .map(|f| format!(" (first: {f})"))
                .unwrap_or_default()
        ));
    }
    evidence.extend(notes);

    let services = t
        .services
        .iter()
        .map(|s| format!("svc/{}", s.name))
        .collect::<Vec<_>>()
        .join(", ");
    let race_summary = (!raced.is_empty()).then(|| {
        let worst_raced = raced.iter().map(|r| r.margin).fold(f64::MAX, f64::min);
        format!(
            "{} of {} stopped serving less than {} after leaving the ready endpoints of {services} (worst {}): requests still routed by lagging endpoint consumers fail",
            raced.len(),
            plural(replaced.len(), "replaced pod", "replaced pods"),
            fmt_secs(t.margin),
            fmt_secs(worst_raced)
        )
    });
    let (verdict, summary) = if let Some(s) = zero {
        (
            Verdict::Violated,
            format!(
                "svc/{} had no ready endpoint{}: every request failed meanwhile",
                s.name,
                s.min_at
                    .map(|at| format!(" at {}", clock(at)))
                    .unwrap_or_default()
            ),
        )
    } else if !observed.is_empty() {
        (
            Verdict::Violated,
            format!(
                "{} of {} exited while still in the ready endpoints of {services}",
                observed.len(),
                plural(replaced.len(), "replaced pod", "replaced pods")
            ),
        )
    } else if let Some(p) = failed_probe {
        (
            Verdict::Violated,
            format!(
                "{} of {} probe requests failed during the restart{}",
                p.failed,
                p.requests,
                race_summary
                    .as_ref()
                    .map(|r| format!("; {r}"))
                    .unwrap_or_default()
            ),
        )
    } else if let Some(r) = race_summary {
        (Verdict::AtRisk, r)
    } else if let Some(s) = dip {
        (
            Verdict::AtRisk,
            format!(
                "svc/{} fell to {} ready endpoint{} (from {}), fewer than maxUnavailable allows",
                s.name,
                s.min,
                if s.min == 1 { "" } else { "s" },
                s.baseline
            ),
        )
    } else {
        let kept = match worst {
            Some(w) => format!(
                "{} kept serving at least {} after leaving the ready endpoints of {services} (margin {})",
                plural(races.len(), "replaced pod", "replaced pods"),
                fmt_secs(w),
                fmt_secs(t.margin)
            ),
            None => format!(
                "{} routed by {services}",
                plural(replaced.len(), "replaced pod, none", "replaced pods, none")
            ),
        };
        let floor = t.services.iter().map(|s| s.min).min().unwrap_or(0);
        (
            Verdict::Ok,
            format!("{kept}; ready endpoints never below {floor}"),
        )
    };
    Judgement {
        verdict,
        pods_replaced: replaced.len(),
        raced: raced.len(),
        min_ready_endpoints: t.services.iter().map(|s| s.min).min(),
        worst_margin_seconds: worst.map(|w| (w * 10.0).round() / 10.0),
        summary,
        evidence,
        raced_containers: raced
            .iter()
            .flat_map(|r| r.containers.iter().cloned())
            .collect(),
        prestop_failed: raced.iter().any(|r| r.prestop_failed),
        capacity_lost: dip.is_some(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        format!("2026-11-23T10:00:{s}Z").parse().unwrap()
    }

    /// A pod deleted at :00 that left the ready endpoints of svc/web at `left`, with one container.
    fn pod(name: &str, left: &str, pause: Option<i64>, exited: Option<&str>) -> PodTrack {
        PodTrack {
            name: name.into(),
            deleted_at: Some(at("00")),
            was_ready: true,
            left_ready_at: Some((at(left), "web".into())),
            prestop_failed: false,
            containers: vec![ContainerTrack {
                name: "app".into(),
                pause,
                exited_at: exited.map(at),
            }],
        }
    }

    fn svc(baseline: usize, min: usize) -> ServiceTrack {
        ServiceTrack {
            name: "web".into(),
            baseline,
            min,
            min_at: Some(at("01")),
        }
    }

    fn timeline(pods: Vec<PodTrack>, services: Vec<ServiceTrack>) -> Timeline {
        Timeline {
            services,
            pods,
            desired: 3,
            max_unavailable: 0,
            margin: 5.0,
            probe: None,
            notes: vec![],
        }
    }

    #[test]
    fn no_pause_and_an_exit_at_sigterm_is_a_race() {
        // Deleted at :00, endpoint left at :00, exits at :00 (dies on SIGTERM): margin 0 < 5.
        let j = judge(&timeline(
            vec![
                pod("web-a", "00", None, Some("00")),
                pod("web-b", "00", None, Some("00")),
            ],
            vec![svc(3, 3)],
        ));
        assert_eq!(j.verdict, Verdict::AtRisk, "{j:#?}");
        assert_eq!((j.pods_replaced, j.raced), (2, 2));
        assert_eq!(j.worst_margin_seconds, Some(0.0));
        assert!(j.summary.starts_with("2 of 2 replaced pods stopped serving less than 5s after leaving the ready endpoints of svc/web (worst 0s)"), "{}", j.summary);
        assert_eq!(
            j.evidence[0],
            "pod web-a: deleted at 10:00:00Z, left the ready endpoints of svc/web at 10:00:00Z, container app stopped serving: SIGTERM at 10:00:00Z (no preStop pause); 0s after leaving (margin 5s)"
        );
        assert_eq!(j.raced_containers, BTreeSet::from(["app".to_string()]));
    }

    #[test]
    fn sigterm_counts_even_when_the_app_drains_long() {
        // No pause: the app stops accepting connections at SIGTERM, although it exits 20 s later.
        let j = judge(&timeline(
            vec![pod("web-a", "01", None, Some("20"))],
            vec![svc(3, 3)],
        ));
        assert_eq!(j.verdict, Verdict::AtRisk);
        assert_eq!(j.worst_margin_seconds, Some(-1.0));
        assert!(
            j.evidence[0].contains("; 1s before leaving"),
            "{}",
            j.evidence[0]
        );
    }

    #[test]
    fn a_pause_longer_than_the_margin_is_ok() {
        // preStop 10 s: SIGTERM at :10, the endpoint left at :00 → 10 s ≥ 5 s.
        let j = judge(&timeline(
            vec![pod("web-a", "00", Some(10), Some("10"))],
            vec![svc(3, 3)],
        ));
        assert_eq!(j.verdict, Verdict::Ok, "{j:#?}");
        assert_eq!(j.raced, 0);
        assert_eq!(j.worst_margin_seconds, Some(10.0));
        assert_eq!(
            j.summary,
            "1 replaced pod kept serving at least 10s after leaving the ready endpoints of svc/web (margin 5s); ready endpoints never below 3"
        );
        // A pause exactly at the margin is enough; one second less is not.
        let j = judge(&timeline(
            vec![pod("p", "00", Some(5), None)],
            vec![svc(3, 3)],
        ));
        assert_eq!(j.verdict, Verdict::Ok);
        let j = judge(&timeline(
            vec![pod("p", "00", Some(4), None)],
            vec![svc(3, 3)],
        ));
        assert_eq!(j.verdict, Verdict::AtRisk);
    }

    #[test]
    fn a_failed_prestop_hook_pauses_nothing() {
        let mut p = pod("web-a", "00", Some(10), None);
        p.prestop_failed = true;
        let j = judge(&timeline(vec![p], vec![svc(3, 3)]));
        assert_eq!(j.verdict, Verdict::AtRisk);
        assert!(j.prestop_failed);
        assert!(
            j.evidence[0].contains("its preStop hook failed: no pause"),
            "{}",
            j.evidence[0]
        );
    }

    #[test]
    fn an_exit_before_the_endpoint_left_is_observed() {
        // Exited at :01, the slice still listed it ready until :03.
        let j = judge(&timeline(
            vec![pod("web-a", "03", Some(10), Some("01"))],
            vec![svc(3, 3)],
        ));
        assert_eq!(j.verdict, Verdict::Violated);
        assert_eq!(
            j.summary,
            "1 of 1 replaced pod exited while still in the ready endpoints of svc/web"
        );
    }

    #[test]
    fn zero_ready_endpoints_is_a_violation_and_a_dip_a_risk() {
        let mut t = timeline(vec![], vec![svc(3, 0)]);
        t.max_unavailable = 3; // Recreate
        let j = judge(&t);
        assert_eq!(j.verdict, Verdict::Violated);
        assert_eq!(
            j.evidence,
            ["svc/web: ready endpoints fell from 3 to 0 at 10:00:01Z (the strategy allows 0)"]
        );
        assert_eq!(
            j.summary,
            "svc/web had no ready endpoint at 10:00:01Z: every request failed meanwhile"
        );
        assert_eq!(j.min_ready_endpoints, Some(0));
        // maxUnavailable 1 of 3: 2 is allowed, 1 is not.
        let mut t = timeline(vec![], vec![svc(3, 2)]);
        t.max_unavailable = 1;
        assert_eq!(judge(&t).verdict, Verdict::Ok);
        t.services = vec![svc(3, 1)];
        let j = judge(&t);
        assert_eq!(j.verdict, Verdict::AtRisk);
        assert!(j.capacity_lost);
        assert_eq!(
            j.evidence,
            ["svc/web: ready endpoints fell from 3 to 1 at 10:00:01Z (the strategy allows 2)"]
        );
    }

    #[test]
    fn failed_probe_requests_are_observed_failures() {
        let mut t = timeline(vec![pod("web-a", "00", Some(10), None)], vec![svc(3, 3)]);
        t.probe = Some(ProbeStats {
            requests: 40,
            failed: 2,
            worst_latency_ms: 30,
            failures: vec!["503: error trying to reach service".into()],
            ..Default::default()
        });
        let j = judge(&t);
        assert_eq!(j.verdict, Verdict::Violated);
        assert_eq!(
            j.summary,
            "2 of 40 probe requests failed during the restart"
        );
    }

    #[test]
    fn pods_never_routed_cannot_race() {
        let mut p = pod("web-a", "00", None, Some("00"));
        p.was_ready = false;
        let j = judge(&timeline(vec![p], vec![svc(3, 3)]));
        assert_eq!(j.verdict, Verdict::Ok);
        assert_eq!((j.pods_replaced, j.raced), (1, 0));
        assert_eq!(j.worst_margin_seconds, None);
    }
}
