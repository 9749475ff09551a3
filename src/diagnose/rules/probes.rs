//! Probes: readiness, liveness, startup, and their arithmetic.

use k8s_openapi::api::core::v1::{Container, Probe};

use super::helpers::*;
use super::Hit;
use crate::diagnose::model::Workload;

pub(super) fn check_readiness_missing(w: &Workload) -> Vec<Hit> {
    serving_containers(w)
        .iter()
        .filter(|c| c.readiness_probe.is_none())
        .map(|c| {
            let port = first_port(c).unwrap_or_else(|| "8080".into());
            let port_yaml = if port.parse::<i32>().is_ok() {
                port.clone()
            } else {
                yaml_scalar(&port)
            };
            hit(
                Some(&c.name),
                container_field(w, &c.name, "readinessProbe"),
                "no readinessProbe on a container that serves traffic: it receives requests before it listens, and a rollout removes old pods before new ones can serve".into(),
                Some(container_fix(
                    w,
                    &c.name,
                    &format!(
                        "readinessProbe:\n  httpGet:\n    path: /ready   # an endpoint that answers when the app can serve\n    port: {port_yaml}\n  periodSeconds: 5\n  failureThreshold: 2"
                    ),
                )),
            )
        })
        .collect()
}

pub(super) fn check_liveness_equals_readiness(w: &Workload) -> Vec<Hit> {
    containers(w)
        .iter()
        .filter_map(|c| {
            let (l, r) = (c.liveness_probe.as_ref()?, c.readiness_probe.as_ref()?);
            probe_handler_eq(l, r).then(|| {
                hit(
                    Some(&c.name),
                    container_field(w, &c.name, "livenessProbe"),
                    "livenessProbe checks the same endpoint as readinessProbe: a busy or overloaded app is restarted instead of just taken out of rotation".into(),
                    Some(container_fix(
                        w,
                        &c.name,
                        "livenessProbe:\n  httpGet:\n    path: /livez   # only \"the process is not stuck\", no dependencies\n    port: http\n  periodSeconds: 10\n  failureThreshold: 6",
                    )),
                )
            })
        })
        .collect()
}

fn startup_fix(w: &Workload, c: &Container, l: &Probe, start_secs: i32) -> String {
    let period = 5;
    let threshold =
        (start_secs.saturating_mul(2).saturating_add(period - 1) / period).clamp(6, 10_000);
    container_fix(
        w,
        &c.name,
        &format!(
            "startupProbe:   # allows {}s to start, then liveness takes over\n{}\n  periodSeconds: {period}\n  failureThreshold: {threshold}\nlivenessProbe:\n  initialDelaySeconds: 0   # the startupProbe holds it off",
            threshold.saturating_mul(period),
            indent(&probe_handler_yaml(l), 2)
        ),
    )
}

pub(super) fn check_liveness_without_startup(w: &Workload) -> Vec<Hit> {
    containers(w)
        .iter()
        .filter_map(|c| {
            let l = c.liveness_probe.as_ref()?;
            if c.startup_probe.is_some() {
                return None;
            }
            let delay = l.initial_delay_seconds.unwrap_or(0);
            if delay < SLOW_START {
                return None;
            }
            let budget = probe_kill_budget(l);
            Some(hit(
                Some(&c.name),
                container_field(w, &c.name, "livenessProbe.initialDelaySeconds"),
                format!(
                    "slow start (livenessProbe.initialDelaySeconds {delay}s) without a startupProbe: a start slower than {budget}s ({delay} + {} × {}s) is killed and restarts in a loop, and every restart waits {delay}s before liveness checks anything",
                    l.failure_threshold.unwrap_or(3),
                    l.period_seconds.unwrap_or(10)
                ),
                Some(startup_fix(w, c, l, delay)),
            ))
        })
        .collect()
}

pub(super) fn check_liveness_kills_before_ready(w: &Workload) -> Vec<Hit> {
    containers(w)
        .iter()
        .filter_map(|c| {
            let l = c.liveness_probe.as_ref()?;
            let r = c.readiness_probe.as_ref()?;
            if c.startup_probe.is_some() {
                return None;
            }
            let budget = probe_kill_budget(l);
            let ready_delay = r.initial_delay_seconds.unwrap_or(0);
            (ready_delay >= budget).then(|| {
                hit(
                    Some(&c.name),
                    container_field(w, &c.name, "livenessProbe"),
                    format!(
                        "the liveness kill budget is {budget}s ({} + {} × {}s) but readiness only starts checking after {ready_delay}s: an app that needs that long to start is killed before it is ever Ready",
                        l.initial_delay_seconds.unwrap_or(0),
                        l.failure_threshold.unwrap_or(3),
                        l.period_seconds.unwrap_or(10)
                    ),
                    Some(startup_fix(w, c, l, ready_delay)),
                )
            })
        })
        .collect()
}

pub(super) fn check_readiness_slow_removal(w: &Workload) -> Vec<Hit> {
    containers(w)
        .iter()
        .filter_map(|c| {
            let r = c.readiness_probe.as_ref()?;
            let (ft, p, t) = (
                r.failure_threshold.unwrap_or(3),
                r.period_seconds.unwrap_or(10),
                r.timeout_seconds.unwrap_or(1),
            );
            let removal = ft.saturating_mul(p);
            let secs = removal.saturating_add(t);
            (removal > SLOW_REMOVAL).then(|| {
                hit(
                    Some(&c.name),
                    container_field(w, &c.name, "readinessProbe"),
                    format!(
                        "a failing pod stays in Service endpoints for up to {secs}s ({ft} failures × {p}s period + {t}s timeout) while requests to it fail"
                    ),
                    Some(container_fix(
                        w,
                        &c.name,
                        "readinessProbe:\n  periodSeconds: 5\n  failureThreshold: 2   # out of rotation within ~10s",
                    )),
                )
            })
        })
        .collect()
}

const HEAVY: &[&str] = &[
    "java", "jcmd", "jps", "jstat", "python", "python3", "python2", "node", "ruby", "php", "perl",
    "dotnet", "kubectl", "rails", "bundle", "npm", "npx", "mvn", "gradle",
];

pub(super) fn check_exec_probe_heavy(w: &Workload) -> Vec<Hit> {
    let mut out = Vec::new();
    for c in containers(w) {
        for (name, p) in [
            ("livenessProbe", &c.liveness_probe),
            ("readinessProbe", &c.readiness_probe),
            ("startupProbe", &c.startup_probe),
        ] {
            let Some(cmd) = p
                .as_ref()
                .and_then(|p| p.exec.as_ref())
                .and_then(|e| e.command.clone())
            else {
                continue;
            };
            let ws: Vec<String> = match shell_script(&cmd) {
                Some(s) => words(&s),
                None => cmd.iter().flat_map(|a| words(a)).collect(),
            };
            if let Some(heavy) = ws.iter().map(|w| base(w)).find(|w| HEAVY.contains(w)) {
                let period = p.as_ref().and_then(|p| p.period_seconds).unwrap_or(10);
                out.push(hit(
                    Some(&c.name),
                    container_field(w, &c.name, &format!("{name}.exec")),
                    format!(
                        "{name} starts `{heavy}` every {period}s: a runtime start-up per probe burns CPU, and under load it times out and fails the probe"
                    ),
                    Some(container_fix(
                        w,
                        &c.name,
                        &format!("{name}:\n  httpGet:   # or tcpSocket / grpc: served by the running app\n    path: /healthz\n    port: http"),
                    )),
                ));
            }
        }
    }
    out
}
