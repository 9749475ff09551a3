//! One container's report: its state, last termination, back-off and log tail, and the verdict of
//! the rule tables ([`super::rules`]) with what it shows now merged in.

use k8s_openapi::api::core::v1::{ContainerState, ContainerStatus};

use super::super::facts::{self, SpecFacts};
use super::super::model::{ContainerReport, ContainerType, StateInfo, Verdict};
use super::context::{Ctx, Subject};
use super::inputs::Logs;
use super::rules::{self, Stage};
use super::termination::attach_output;
use super::timeline::{expected_back_off, parse_back_off, Instance};
use super::words::{plural, termination_info};

fn state_info(s: Option<&ContainerState>) -> StateInfo {
    let unknown = StateInfo {
        state: "unknown".into(),
        ..Default::default()
    };
    let Some(s) = s else { return unknown };
    if let Some(w) = &s.waiting {
        StateInfo {
            state: "waiting".into(),
            reason: w.reason.clone(),
            message: w.message.clone(),
            ..Default::default()
        }
    } else if let Some(r) = &s.running {
        StateInfo {
            state: "running".into(),
            started_at: r.started_at.as_ref().map(|t| facts::fmt_time(t.0)),
            ..Default::default()
        }
    } else if let Some(t) = &s.terminated {
        StateInfo {
            state: "terminated".into(),
            reason: t.reason.clone(),
            message: t.message.clone(),
            started_at: t.started_at.as_ref().map(|x| facts::fmt_time(x.0)),
            termination: Some(termination_info(t)),
        }
    } else {
        unknown
    }
}

pub fn report(
    ctx: &Ctx,
    name: &str,
    ctype: ContainerType,
    spec: &SpecFacts,
    st: Option<&ContainerStatus>,
    logs: &Logs,
) -> ContainerReport {
    let state = st.and_then(|s| s.state.as_ref());
    let last_t = st
        .and_then(|s| s.last_state.as_ref())
        .and_then(|s| s.terminated.as_ref());
    let cur_t = state.and_then(|s| s.terminated.as_ref());
    let restart_count = st.map(|s| s.restart_count).unwrap_or(0);
    let back_off = state
        .and_then(|s| s.waiting.as_ref())
        .filter(|w| w.reason.as_deref() == Some("CrashLoopBackOff"))
        .map(|w| {
            w.message
                .as_deref()
                .and_then(parse_back_off)
                .unwrap_or_else(|| expected_back_off(restart_count))
        });
    let (log_lines, logs_from) = match logs.previous.get(name).filter(|_| last_t.is_some()) {
        Some(l) => (l.clone(), Some("previous".to_string())),
        None => match logs.current.get(name) {
            Some(l) => (l.clone(), Some("current".to_string())),
            None => (Vec::new(), None),
        },
    };
    // The instance to explain: the current one when it has ended, else the one before the restart.
    let instance = match (cur_t, last_t) {
        (Some(t), _) => Some(Instance::new(ctx, name, t, false)),
        (None, Some(t)) => Some(Instance::new(ctx, name, t, true)),
        _ => None,
    };
    let subject = Subject {
        ctx,
        name,
        ctype,
        spec,
        status: st,
        events: ctx
            .events
            .iter()
            .filter(|e| e.is_for_container(name))
            .collect(),
        instance,
        log_lines: &log_lines,
    };
    let verdict = judge(&subject, restart_count, back_off.as_deref());
    ContainerReport {
        name: name.to_string(),
        type_: ctype,
        image: Some(subject.image()).filter(|i| !i.is_empty()),
        ready: subject.ready(),
        verdict,
        state: state_info(state),
        last_termination: last_t.map(termination_info),
        restart_count,
        back_off,
        termination_message: last_t
            .or(cur_t)
            .and_then(|t| t.message.clone())
            .filter(|m| !m.trim().is_empty()),
        logs: log_lines.clone(),
        logs_from,
    }
}

fn applies(s: &Subject, stage: Stage) -> bool {
    match stage {
        Stage::Waiting => s.waiting().is_some(),
        Stage::Ended => s.instance.is_some(),
        Stage::Stopping => s.ctx.deletion.is_some() && s.running_since().is_some(),
        Stage::Running => s.running_since().is_some(),
        Stage::Pod => false,
    }
}

/// The container table's verdict, what the container shows now, and the back-off.
fn judge(s: &Subject, restart_count: i32, back_off: Option<&str>) -> Option<Verdict> {
    let mut v = rules::first_match(rules::CONTAINER, s, |st| applies(s, st)).map(|(r, mut v)| {
        if r.stage == Stage::Ended {
            attach_output(s, &mut v);
        }
        v
    });
    let now = rules::first_match(rules::NOW, s, |st| applies(s, st))
        .filter(|(r, _)| v.is_none() || r.id != rules::NOT_READY_UNRECORDED)
        .map(|(_, v)| v);
    match (&mut v, now) {
        (None, n) => v = n,
        (Some(cur), Some(mut n)) => {
            if cur.severity < n.severity {
                // A clean stop earlier matters less than what fails now.
                n.evidence.push(format!("earlier: {}", cur.summary));
                v = Some(n);
            } else {
                cur.evidence.push(format!("now: {}", n.summary));
            }
        }
        _ => {}
    }
    if let (Some(b), Some(vd)) = (back_off, v.as_mut()) {
        vd.evidence.push(format!(
            "{}; the kubelet waits {b} before the next start (CrashLoopBackOff)",
            plural(restart_count.into(), "restart", "restarts")
        ));
    }
    v
}
