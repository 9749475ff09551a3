//! The shutdown timeline: preStop pause vs grace period, the endpoint-removal race, grace period sizes.

use super::helpers::*;
use super::Hit;
use crate::diagnose::model::Workload;

pub(super) fn check_prestop_exceeds_grace(w: &Workload) -> Vec<Hit> {
    let g = grace(w);
    containers(w)
        .iter()
        .filter_map(|c| {
            let pause = prestop(c)?.pause?;
            (pause >= g && g > 0).then(|| {
                let want = pause.saturating_add(MIN_DRAIN.max(15));
                hit(
                    Some(&c.name),
                    container_field(w, &c.name, "lifecycle.preStop"),
                    format!(
                        "preStop pauses {pause}s but terminationGracePeriodSeconds is {g}s: the container is SIGKILLed during the hook and never gets SIGTERM"
                    ),
                    Some(pod_spec_fix(
                        w,
                        &format!("terminationGracePeriodSeconds: {want}   # preStop {pause}s + time to drain"),
                    )),
                )
            })
        })
        .collect()
}

pub(super) fn check_drain_budget_short(w: &Workload) -> Vec<Hit> {
    let g = grace(w);
    if g < SHORT_GRACE {
        return vec![]; // grace-period-short / grace-period-zero say it
    }
    containers(w)
        .iter()
        .filter_map(|c| {
            let pause = prestop(c)?.pause?;
            let left = g.saturating_sub(pause);
            (pause > 0 && pause < g && left < MIN_DRAIN).then(|| {
                hit(
                    Some(&c.name),
                    format!("{}.terminationGracePeriodSeconds", w.pod_spec_field()),
                    format!(
                        "preStop pauses {pause}s of a {g}s grace period: only {left}s remain after SIGTERM to finish in-flight requests (want at least {MIN_DRAIN}s)"
                    ),
                    Some(pod_spec_fix(
                        w,
                        &format!(
                            "terminationGracePeriodSeconds: {}   # preStop {pause}s + drain",
                            pause.saturating_add(20)
                        ),
                    )),
                )
            })
        })
        .collect()
}

pub(super) fn check_prestop_missing(w: &Workload) -> Vec<Hit> {
    serving_containers(w)
        .iter()
        .filter(|c| prestop(c).is_none())
        .map(|c| {
            let why = if w.services.as_ref().is_some_and(|s| !s.is_empty()) {
                let names: Vec<String> = w
                    .services
                    .iter()
                    .flatten()
                    .filter_map(|s| s.metadata.name.clone())
                    .collect();
                format!("Service {} sends it traffic", names.join(", "))
            } else {
                "it declares ports".to_string()
            };
            hit(
                Some(&c.name),
                container_field(w, &c.name, "lifecycle.preStop"),
                format!(
                    "no preStop pause although {why}: SIGTERM arrives while endpoints still route requests to the pod (errors on every rollout)"
                ),
                Some(container_fix(w, &c.name, &pause_fix(w, PAUSE))),
            )
        })
        .collect()
}

pub(super) fn check_prestop_no_pause(w: &Workload) -> Vec<Hit> {
    serving_containers(w)
        .iter()
        .filter_map(|c| {
            let p = prestop(c)?;
            if p.pause.is_some() || p.words.is_empty() {
                return None; // a pause, or an httpGet/tcp hook that may wait itself
            }
            let shown = short(&p.words.join(" "), 50);
            Some(hit(
                Some(&c.name),
                container_field(w, &c.name, "lifecycle.preStop.exec"),
                format!(
                    "preStop runs `{shown}` without a pause: unless that command waits for the endpoint removal, the app stops while traffic still arrives"
                ),
                Some(container_fix(
                    w,
                    &c.name,
                    &format!(
                        "lifecycle:\n  preStop:\n    exec:\n      command: [\"sh\", \"-c\", \"sleep {PAUSE} && {}\"]",
                        shown.replace('"', "\\\"")
                    ),
                )),
            ))
        })
        .collect()
}

pub(super) fn check_prestop_pause_short(w: &Workload) -> Vec<Hit> {
    serving_containers(w)
        .iter()
        .filter_map(|c| {
            let pause = prestop(c)?.pause?;
            (pause < MIN_PAUSE).then(|| {
                hit(
                    Some(&c.name),
                    container_field(w, &c.name, "lifecycle.preStop"),
                    format!(
                        "preStop pauses only {pause}s: endpoint removal reaches kube-proxy, ingress controllers and load balancers in several seconds, so requests still arrive after SIGTERM"
                    ),
                    Some(container_fix(w, &c.name, &pause_fix(w, PAUSE))),
                )
            })
        })
        .collect()
}

pub(super) fn check_grace_zero(w: &Workload) -> Vec<Hit> {
    if grace(w) != 0 {
        return vec![];
    }
    vec![hit(
        None,
        format!("{}.terminationGracePeriodSeconds", w.pod_spec_field()),
        "terminationGracePeriodSeconds is 0: every container is SIGKILLed at once, no preStop, no drain".into(),
        Some(pod_spec_fix(w, "terminationGracePeriodSeconds: 30")),
    )]
}

pub(super) fn check_grace_short(w: &Workload) -> Vec<Hit> {
    let g = grace(w);
    if !(1..SHORT_GRACE).contains(&g) {
        return vec![];
    }
    vec![hit(
        None,
        format!("{}.terminationGracePeriodSeconds", w.pod_spec_field()),
        format!(
            "terminationGracePeriodSeconds is {g}s: too short for a preStop pause and a drain; the app is SIGKILLed mid-request"
        ),
        Some(pod_spec_fix(w, "terminationGracePeriodSeconds: 30")),
    )]
}

pub(super) fn check_grace_long(w: &Workload) -> Vec<Hit> {
    let g = grace(w);
    if g <= LONG_GRACE {
        return vec![];
    }
    let reps = w.replicas.unwrap_or(1).max(1);
    let extra = if reps > 1 {
        format!(
            "; a one-at-a-time rollout of {reps} pods that hang can take {}",
            human(g.saturating_mul(i64::from(reps)))
        )
    } else {
        String::new()
    };
    vec![hit(
        None,
        format!("{}.terminationGracePeriodSeconds", w.pod_spec_field()),
        format!(
            "terminationGracePeriodSeconds is {g}s ({}): a pod that ignores SIGTERM holds every rollout and node drain that long{extra}",
            human(g)
        ),
        Some(pod_spec_fix(w, "terminationGracePeriodSeconds: 60   # preStop pause + the longest request you must finish")),
    )]
}

fn human(secs: i64) -> String {
    let (h, m, s) = (secs / 3600, (secs % 3600) / 60, secs % 60);
    match (h, m, s) {
        (0, 0, s) => format!("{s}s"),
        (0, m, 0) => format!("{m}m"),
        (0, m, s) => format!("{m}m{s}s"),
        (h, 0, 0) => format!("{h}h"),
        (h, m, _) => format!("{h}h{m}m"),
    }
}
