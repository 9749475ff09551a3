//! The shutdown timeline: preStop pause vs grace period, the endpoint-removal race, grace period sizes.

use k8s_openapi::api::core::v1::Container;

use super::helpers::*;
use super::Hit;
use crate::diagnose::context::Context;
use crate::diagnose::traffic::{serving, Served, Via};
use crate::workload::Workload;

pub(super) fn check_prestop_exceeds_grace(w: &Workload, _cx: &Context) -> Vec<Hit> {
    let g = grace(w);
    let items = containers(w)
        .iter()
        .filter_map(|c| {
            let pause = prestop(c)?.pause?;
            (pause >= g && g > 0).then(|| PerContainer {
                container: c.name.clone(),
                message: format!(
                    "preStop pauses {pause}s but terminationGracePeriodSeconds is {g}s: the container is SIGKILLed during the hook and never gets SIGTERM"
                ),
                field: "lifecycle.preStop".into(),
                fix: Some(ContainerFix::default().with_pod(grace_for_pause(w, pause))),
            })
        })
        .collect();
    fold(w, items)
}

pub(super) fn check_drain_budget_short(w: &Workload, _cx: &Context) -> Vec<Hit> {
    let g = grace(w);
    if g < SHORT_GRACE {
        return vec![]; // grace-period-short / grace-period-zero say it
    }
    let items = containers(w)
        .iter()
        .filter_map(|c| {
            let pause = prestop(c)?.pause?;
            let left = g.saturating_sub(pause);
            (pause > 0 && pause < g && left < MIN_DRAIN).then(|| PerContainer {
                container: c.name.clone(),
                message: format!(
                    "preStop pauses {pause}s of a {g}s grace period: only {left}s remain after SIGTERM to finish in-flight requests (want at least {MIN_DRAIN}s)"
                ),
                field: "lifecycle.preStop".into(),
                fix: Some(ContainerFix::default().with_pod(grace_for_pause(w, pause))),
            })
        })
        .collect();
    fold(w, items)
}

/// "Service web sends it traffic" / "clients reach it on the node (hostPort 80)".
fn how_served(s: &Served) -> String {
    match &s.via {
        Via::Services(names) => format!(
            "Service{} {} send{} it traffic",
            if names.len() == 1 { "" } else { "s" },
            names.join(", "),
            if names.len() == 1 { "s" } else { "" }
        ),
        Via::Node(ports) => format!(
            "clients reach it on the node ({} {})",
            if ports.len() == 1 { "port" } else { "ports" },
            ports
                .iter()
                .map(i32::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn serving_containers(w: &Workload, cx: &Context) -> Vec<(Served, Container)> {
    let cs = containers(w);
    serving(w, cx)
        .into_iter()
        .filter_map(|s| {
            let c = cs.iter().find(|c| c.name == s.container)?.clone();
            Some((s, c))
        })
        .collect()
}

pub(super) fn check_prestop_missing(w: &Workload, cx: &Context) -> Vec<Hit> {
    let items = serving_containers(w, cx)
        .into_iter()
        .filter(|(_, c)| prestop(c).is_none())
        .map(|(s, c)| {
            let message = match &s.via {
                Via::Services(_) => format!(
                    "no preStop pause although {}: SIGTERM arrives while endpoints still route requests to the pod (errors on every rollout)",
                    how_served(&s)
                ),
                Via::Node(_) => format!(
                    "no preStop pause although {}: at SIGTERM the port closes while external load balancers and DNS still send connections to the node; a pause lets their health checks take it out first",
                    how_served(&s)
                ),
            };
            PerContainer {
                container: c.name.clone(),
                message,
                field: "lifecycle.preStop".into(),
                fix: Some(
                    ContainerFix::body(pause_body(cx, &c, PAUSE))
                        .with_pod(grace_for_pause(w, PAUSE)),
                ),
            }
        })
        .collect();
    fold(w, items)
}

pub(super) fn check_prestop_no_pause(w: &Workload, cx: &Context) -> Vec<Hit> {
    let items = serving_containers(w, cx)
        .into_iter()
        .filter_map(|(_, c)| {
            let p = prestop(&c)?;
            if p.pause.is_some() || p.words.is_empty() {
                return None; // a pause, or an httpGet/tcp hook that may wait itself
            }
            let cmd = prestop_command(&c);
            let script = shell_script(&cmd).unwrap_or_else(|| shell_join(&cmd));
            let shown = short(&p.words.join(" "), 50);
            let new_cmd = yaml_list(&[
                "sh".to_string(),
                "-c".to_string(),
                format!("sleep {PAUSE} && {}", script.trim()),
            ]);
            Some(PerContainer {
                container: c.name.clone(),
                message: format!(
                    "preStop runs `{shown}` without a pause: unless that command waits for the endpoint removal, the app stops while traffic still arrives"
                ),
                field: "lifecycle.preStop.exec".into(),
                fix: Some(
                    ContainerFix::body(format!(
                        "{}   # needs sh and sleep in the image",
                        exec_prestop_body(&c, &new_cmd)
                    ))
                    .with_pod(grace_for_pause(w, PAUSE)),
                ),
            })
        })
        .collect();
    fold(w, items)
}

/// The command of an exec preStop hook (empty for other handlers).
fn prestop_command(c: &Container) -> Vec<String> {
    c.lifecycle
        .as_ref()
        .and_then(|l| l.pre_stop.as_ref())
        .and_then(|h| h.exec.as_ref())
        .and_then(|e| e.command.clone())
        .unwrap_or_default()
}

/// argv as one shell command line (words with spaces or quotes single-quoted).
fn shell_join(argv: &[String]) -> String {
    argv.iter()
        .map(|a| {
            if !a.is_empty()
                && a.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@%+".contains(c))
            {
                a.clone()
            } else {
                format!("'{}'", a.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

pub(super) fn check_prestop_pause_short(w: &Workload, cx: &Context) -> Vec<Hit> {
    let items = serving_containers(w, cx)
        .into_iter()
        .filter_map(|(_, c)| {
            let p = prestop(&c)?;
            let pause = p.pause?;
            if pause >= MIN_PAUSE {
                return None;
            }
            // A hook that does more than sleep keeps its commands: only the sleep grows.
            let only_sleep = p.native_sleep
                || p.words.iter().all(|w| {
                    matches!(base(w), "sleep" | "sh" | "bash" | "ash" | "-c" | "exec")
                        || sleep_seconds(w).is_some()
                });
            let body = if only_sleep {
                pause_body(cx, &c, PAUSE)
            } else {
                let cmd = prestop_command(&c);
                let longer: Vec<String> = cmd.iter().map(|a| lengthen_sleep(a)).collect();
                exec_prestop_body(&c, &yaml_list(&longer))
            };
            Some(PerContainer {
                container: c.name.clone(),
                message: format!(
                    "preStop pauses only {pause}s: endpoint removal reaches kube-proxy, ingress controllers and load balancers in several seconds, so requests still arrive after SIGTERM"
                ),
                field: "lifecycle.preStop".into(),
                fix: Some(ContainerFix::body(body).with_pod(grace_for_pause(w, PAUSE))),
            })
        })
        .collect();
    fold(w, items)
}

/// `sleep 1 && nginx -s quit` → `sleep 10 && nginx -s quit`.
fn lengthen_sleep(arg: &str) -> String {
    let mut out = Vec::new();
    let mut after_sleep = false;
    for part in arg.split(' ') {
        if after_sleep && sleep_seconds(part).is_some() {
            out.push(PAUSE.to_string());
        } else {
            out.push(part.to_string());
        }
        after_sleep = base(part) == "sleep";
    }
    out.join(" ")
}

pub(super) fn check_grace_zero(w: &Workload, _cx: &Context) -> Vec<Hit> {
    if grace(w) != 0 {
        return vec![];
    }
    vec![hit(
        format!("{}.terminationGracePeriodSeconds", w.pod_spec_field()),
        "terminationGracePeriodSeconds is 0: every container is SIGKILLed at once, no preStop, no drain".into(),
        Some(pod_spec_fix(w, &format!("terminationGracePeriodSeconds: {}", fitting_grace(w, DEFAULT_GRACE)))),
    )]
}

/// A grace period of at least `want` that also fits every preStop pause plus a drain.
fn fitting_grace(w: &Workload, want: i64) -> i64 {
    containers(w)
        .iter()
        .filter_map(|c| prestop(c)?.pause)
        .map(|p| p.saturating_add(DRAIN))
        .fold(want, i64::max)
}

pub(super) fn check_grace_short(w: &Workload, _cx: &Context) -> Vec<Hit> {
    let g = grace(w);
    if !(1..SHORT_GRACE).contains(&g) {
        return vec![];
    }
    vec![hit(
        format!("{}.terminationGracePeriodSeconds", w.pod_spec_field()),
        format!(
            "terminationGracePeriodSeconds is {g}s: too short for a preStop pause and a drain; the app is SIGKILLed mid-request"
        ),
        Some(pod_spec_fix(w, &format!("terminationGracePeriodSeconds: {}", fitting_grace(w, DEFAULT_GRACE)))),
    )]
}

pub(super) fn check_grace_long(w: &Workload, _cx: &Context) -> Vec<Hit> {
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
    let want = fitting_grace(w, 60).min(LONG_GRACE);
    vec![hit(
        format!("{}.terminationGracePeriodSeconds", w.pod_spec_field()),
        format!(
            "terminationGracePeriodSeconds is {g}s ({}): a pod that ignores SIGTERM holds every rollout and node drain that long{extra}",
            human(g)
        ),
        Some(pod_spec_fix(w, &format!("terminationGracePeriodSeconds: {want}   # preStop pause + the longest request you must finish"))),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_sleep_of_a_hook_grows() {
        assert_eq!(
            lengthen_sleep("sleep 1 && nginx -s quit"),
            "sleep 10 && nginx -s quit"
        );
        assert_eq!(lengthen_sleep("1"), "1");
        assert_eq!(
            shell_join(&["/bin/stop".into(), "a b".into()]),
            "/bin/stop 'a b'"
        );
    }
}
