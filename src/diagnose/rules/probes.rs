//! Probes: readiness, liveness, startup, and their arithmetic. Fixes keep a probe's type (grpc,
//! tcpSocket, exec, httpGet) and never invent an endpoint the app may not have.

use k8s_openapi::api::core::v1::{Container, Probe};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::helpers::*;
use super::Hit;
use crate::diagnose::context::Context;
use crate::diagnose::traffic::serving;
use crate::workload::Workload;

/// A readiness check that cannot fail on a working app: the database's own ping where it is cheap and
/// answers without credentials (pg_isready), else "the port accepts connections".
fn readiness_handler(c: &Container, port: &IntOrString) -> String {
    let img = c.image.as_deref().unwrap_or("").to_ascii_lowercase();
    let repo = img.rsplit('/').next().unwrap_or("");
    if repo.starts_with("postgres") || repo.starts_with("postgis") {
        let n = match port {
            IntOrString::Int(n) => *n,
            IntOrString::String(name) => c
                .ports
                .iter()
                .flatten()
                .find(|p| p.name.as_deref() == Some(name))
                .map_or(5432, |p| p.container_port),
        };
        return format!(
            "exec:\n  command: [\"pg_isready\", \"-h\", \"127.0.0.1\", \"-p\", \"{n}\"]"
        );
    }
    // Databases and brokers speak their own protocol on the port: no HTTP endpoint to suggest.
    const DATABASES: &[&str] = &[
        "redis",
        "valkey",
        "mysql",
        "mariadb",
        "percona",
        "mongo",
        "rabbitmq",
        "memcached",
        "cassandra",
        "zookeeper",
        "kafka",
        "nats",
        "etcd",
        "cockroach",
    ];
    let comment = if DATABASES.iter().any(|d| repo.starts_with(d)) {
        "# the database accepts connections"
    } else {
        "# or httpGet on the app's readiness endpoint, if it has one"
    };
    format!("tcpSocket:   {comment}\n  port: {}", port_yaml(port))
}

pub(super) fn check_readiness_missing(w: &Workload, cx: &Context) -> Vec<Hit> {
    fold(w, readiness_missing(w, cx))
}

fn readiness_missing(w: &Workload, cx: &Context) -> Vec<PerContainer> {
    let cs = containers(w);
    serving(w, cx)
        .into_iter()
        .filter_map(|s| {
            let c = cs.iter().find(|c| c.name == s.container)?;
            if c.readiness_probe.is_some() {
                return None;
            }
            let port = s.ports.first().cloned().unwrap_or(IntOrString::Int(8080));
            Some(PerContainer {
                container: c.name.clone(),
                message: "no readinessProbe on a container that serves traffic: it receives requests before it listens, and a rollout removes old pods before new ones can serve".into(),
                field: "readinessProbe".into(),
                fix: Some(ContainerFix::body(format!(
                    "readinessProbe:\n{}\n  periodSeconds: 5\n  failureThreshold: 2",
                    indent(&readiness_handler(c, &port), 2)
                ))),
            })
        })
        .collect()
}

/// `readiness-missing` fires on this workload (other rules stay quiet then).
pub(super) fn lacks_readiness(w: &Workload, cx: &Context) -> bool {
    !readiness_missing(w, cx).is_empty()
}

pub(super) fn check_liveness_equals_readiness(w: &Workload, _cx: &Context) -> Vec<Hit> {
    let items = containers(w)
        .iter()
        .filter_map(|c| {
            let (l, r) = (c.liveness_probe.as_ref()?, c.readiness_probe.as_ref()?);
            if !probe_handler_eq(l, r) {
                return None;
            }
            let (lb, rb) = (probe_budget(l), probe_budget(r));
            if lb > rb {
                return None; // a more patient liveness on the same check is the usual advice
            }
            let period = l.period_seconds.unwrap_or(10).max(1);
            // Three times readiness's budget, at least a minute.
            let want = rb.saturating_mul(3).max(60);
            let threshold = want.saturating_add(period - 1) / period;
            Some(PerContainer {
                container: c.name.clone(),
                message: format!(
                    "livenessProbe runs the same check as readinessProbe and gives up as soon ({lb}s vs {rb}s): a busy or overloaded app is restarted when it should only be taken out of rotation"
                ),
                field: "livenessProbe".into(),
                fix: Some(ContainerFix::body(format!(
                    "livenessProbe:   # the same check, more patient than readiness\n  failureThreshold: {threshold}   # {}s",
                    threshold.saturating_mul(period)
                ))),
            })
        })
        .collect();
    fold(w, items)
}

fn startup_fix(l: &Probe, start_secs: i32) -> ContainerFix {
    let period = 5;
    let threshold =
        (start_secs.saturating_mul(2).saturating_add(period - 1) / period).clamp(6, 10_000);
    ContainerFix::body(format!(
        "startupProbe:   # allows {}s to start, then liveness takes over\n{}\n  periodSeconds: {period}\n  failureThreshold: {threshold}\nlivenessProbe:\n  initialDelaySeconds: 0   # the startupProbe holds it off",
        threshold.saturating_mul(period),
        indent(&probe_handler_yaml(l), 2)
    ))
}

pub(super) fn check_liveness_without_startup(w: &Workload, _cx: &Context) -> Vec<Hit> {
    let items = containers(w)
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
            Some(PerContainer {
                container: c.name.clone(),
                message: format!(
                    "slow start (livenessProbe.initialDelaySeconds {delay}s) without a startupProbe: a start slower than {budget}s ({delay} + {} × {}s) is killed and restarts in a loop, and every restart waits {delay}s before liveness checks anything",
                    l.failure_threshold.unwrap_or(3),
                    l.period_seconds.unwrap_or(10)
                ),
                field: "livenessProbe.initialDelaySeconds".into(),
                fix: Some(startup_fix(l, delay)),
            })
        })
        .collect();
    fold(w, items)
}

pub(super) fn check_liveness_kills_before_ready(w: &Workload, _cx: &Context) -> Vec<Hit> {
    let items = containers(w)
        .iter()
        .filter_map(|c| {
            let l = c.liveness_probe.as_ref()?;
            let r = c.readiness_probe.as_ref()?;
            if c.startup_probe.is_some() {
                return None;
            }
            let budget = probe_kill_budget(l);
            let ready_delay = r.initial_delay_seconds.unwrap_or(0);
            (ready_delay >= budget).then(|| PerContainer {
                container: c.name.clone(),
                message: format!(
                    "the liveness kill budget is {budget}s ({} + {} × {}s) but readiness only starts checking after {ready_delay}s: an app that needs that long to start is killed before it is ever Ready",
                    l.initial_delay_seconds.unwrap_or(0),
                    l.failure_threshold.unwrap_or(3),
                    l.period_seconds.unwrap_or(10)
                ),
                field: "livenessProbe".into(),
                fix: Some(startup_fix(l, ready_delay)),
            })
        })
        .collect();
    fold(w, items)
}

pub(super) fn check_readiness_slow_removal(w: &Workload, _cx: &Context) -> Vec<Hit> {
    let items = containers(w)
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
                // Out of rotation within ~10s; a liveness on the same check keeps being more patient.
                let live_same = c
                    .liveness_probe
                    .as_ref()
                    .is_some_and(|l| probe_handler_eq(l, r) && probe_budget(l) <= 10);
                let body = if live_same {
                    "readinessProbe:\n  periodSeconds: 5\n  failureThreshold: 2   # out of rotation within ~10s\nlivenessProbe:\n  failureThreshold: 6\n  periodSeconds: 10"
                } else {
                    "readinessProbe:\n  periodSeconds: 5\n  failureThreshold: 2   # out of rotation within ~10s"
                };
                PerContainer {
                    container: c.name.clone(),
                    message: format!(
                        "a failing pod stays in Service endpoints for up to {secs}s ({ft} failures × {p}s period + {t}s timeout) while requests to it fail"
                    ),
                    field: "readinessProbe".into(),
                    fix: Some(ContainerFix::body(body)),
                }
            })
        })
        .collect();
    fold(w, items)
}

const HEAVY: &[&str] = &[
    "java", "jcmd", "jps", "jstat", "python", "python3", "python2", "node", "ruby", "php", "perl",
    "dotnet", "kubectl", "rails", "bundle", "npm", "npx", "mvn", "gradle",
];

/// The port a probe of this container can check instead: the first declared port that is not for
/// metrics.
fn probe_port(c: &Container) -> Option<IntOrString> {
    let p = c.ports.iter().flatten().find(|p| {
        !p.name
            .as_deref()
            .is_some_and(|n| n.to_ascii_lowercase().contains("metric"))
    })?;
    Some(match &p.name {
        Some(n) if !n.is_empty() => IntOrString::String(n.clone()),
        _ => IntOrString::Int(p.container_port),
    })
}

pub(super) fn check_exec_probe_heavy(w: &Workload, _cx: &Context) -> Vec<Hit> {
    let mut items = Vec::new();
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
            let Some(heavy) = ws.iter().map(|w| base(w)).find(|w| HEAVY.contains(w)) else {
                continue;
            };
            let period = p.as_ref().and_then(|p| p.period_seconds).unwrap_or(10);
            // Without a port to check there is no replacement that keeps the probe's meaning.
            let fix = probe_port(c).map(|port| {
                ContainerFix::body(format!(
                    "{name}:\n  tcpSocket:   # or httpGet/grpc on a health endpoint the app serves\n    port: {}{}",
                    port_yaml(&port),
                    clear_probe_handlers(p.as_ref(), "tcpSocket")
                ))
            });
            items.push(PerContainer {
                container: c.name.clone(),
                message: format!(
                    "{name} starts `{heavy}` every {period}s: a runtime start-up per probe burns CPU, and under load it times out and fails the probe"
                ),
                field: format!("{name}.exec"),
                fix,
            });
        }
    }
    fold(w, items)
}
