//! The sentences: how events, exits, signals and times are put into words, and the verdict builder
//! that keeps a message from being said twice. Rules decide; this file phrases.

use jiff::Timestamp;
use k8s_openapi::api::core::v1::ContainerStateTerminated;

use super::super::events::EventRecord;
use super::super::facts;
use super::super::model::{Cause, Severity, Termination, Verdict};

/// A verdict whose evidence never repeats a line, nor an event message another line already quotes.
pub fn verdict(
    cause: Cause,
    severity: Severity,
    summary: impl Into<String>,
    evidence: Vec<String>,
    action: impl Into<String>,
) -> Verdict {
    let mut kept: Vec<String> = Vec::with_capacity(evidence.len());
    for line in evidence {
        let line = line.trim_end().to_string();
        if line.is_empty() {
            continue;
        }
        let quoted = quoted_part(&line);
        if kept
            .iter()
            .any(|k| k == &line || (quoted.len() >= 20 && k.contains(quoted)))
        {
            continue;
        }
        kept.push(line);
    }
    Verdict {
        cause,
        severity,
        summary: summary.into(),
        evidence: kept,
        action: action.into(),
    }
}

/// The message an evidence line quotes: what follows its first `: ` (`event X at T: MESSAGE`).
fn quoted_part(line: &str) -> &str {
    line.split_once(": ").map(|(_, m)| m.trim()).unwrap_or("")
}

/// `event Killing (x3) at 2026-…: Stopping container app`.
pub fn event_line(e: &EventRecord) -> String {
    let count = if e.count > 1 {
        format!(" (x{})", e.count)
    } else {
        String::new()
    };
    let when = e
        .last
        .map(|t| format!(" at {}", facts::fmt_time(t)))
        .unwrap_or_default();
    format!("event {}{count}{when}: {}", e.reason, e.message)
}

pub fn secs_of(t: &Option<k8s_openapi::apimachinery::pkg::apis::meta::v1::Time>) -> Option<i64> {
    t.as_ref().map(|t| t.0.as_second())
}

/// The report's view of one terminated instance.
pub fn termination_info(t: &ContainerStateTerminated) -> Termination {
    // A runtime that never started the process reports the epoch as startedAt.
    let started = secs_of(&t.started_at).filter(|s| *s > 0);
    let finished = secs_of(&t.finished_at);
    Termination {
        reason: t.reason.clone().filter(|r| !r.is_empty()),
        exit_code: t.exit_code,
        signal: facts::exit_signal(t.exit_code, t.signal),
        started_at: t
            .started_at
            .as_ref()
            .filter(|x| x.0.as_second() > 0)
            .map(|x| facts::fmt_time(x.0)),
        finished_at: t.finished_at.as_ref().map(|x| facts::fmt_time(x.0)),
        ran_for_seconds: match (started, finished) {
            (Some(s), Some(f)) if f >= s => Some(f - s),
            _ => None,
        },
        message: t.message.clone().filter(|m| !m.trim().is_empty()),
    }
}

/// `exit code 137 (SIGKILL), reason OOMKilled, after running 20s, finished 2026-…`.
pub fn describe_exit(t: &ContainerStateTerminated) -> String {
    let info = termination_info(t);
    let mut s = format!("exit code {}", t.exit_code);
    if let Some(sig) = &info.signal {
        s.push_str(&format!(" ({sig})"));
    }
    if let Some(r) = &info.reason {
        s.push_str(&format!(", reason {r}"));
    }
    if let Some(ran) = info.ran_for_seconds {
        s.push_str(&format!(", after running {}", facts::human_secs(ran)));
    }
    if let Some(f) = &info.finished_at {
        s.push_str(&format!(", finished {f}"));
    }
    s
}

/// What a plain exit code usually means.
pub fn exit_meaning(code: i32) -> &'static str {
    match code {
        1 => " (a generic error, e.g. an uncaught exception)",
        2 => " (a Go panic, or a shell usage error)",
        255 => " (often exit(-1))",
        _ => "",
    }
}

/// What dying of a signal (exit 128+N) usually means.
pub fn signal_meaning(code: i32) -> &'static str {
    match code {
        134 => "aborted (SIGABRT: a failed assertion, abort(), or a runtime's fatal error)",
        139 => "crashed with a segmentation fault (SIGSEGV: a native bug, bad memory access, or an incompatible native library)",
        135 => "crashed with a bus error (SIGBUS)",
        136 => "crashed with an arithmetic error (SIGFPE)",
        130 => "interrupted (SIGINT)",
        _ => "was killed by a signal",
    }
}

pub fn ts_text(secs: i64) -> String {
    Timestamp::from_second(secs)
        .map(|t| t.to_string())
        .unwrap_or_else(|_| secs.to_string())
}

pub fn nonempty<'a>(s: &'a str, default: &'a str) -> &'a str {
    if s.trim().is_empty() {
        default
    } else {
        s
    }
}

/// `1 restart`, `3 restarts`.
pub fn plural(n: i64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The first quoted name after `key` in a message: `secret "db" not found` → `db` for `secret `.
pub fn quoted_after<'a>(msg: &'a str, key: &str) -> Option<&'a str> {
    let i = msg.find(key)? + key.len();
    let rest = msg[i..].strip_prefix('"')?;
    rest.split('"').next().filter(|s| !s.is_empty())
}

/// `couldn't find key password in Secret shop/db` → (`password`, `Secret`, `shop/db`).
pub fn missing_key(msg: &str) -> Option<(String, String, String)> {
    let i = msg.find("couldn't find key ")?;
    let mut w = msg[i + "couldn't find key ".len()..].split_whitespace();
    let key = w.next()?.to_string();
    (w.next()? == "in").then_some(())?;
    let kind = w.next()?.to_string();
    let obj = w.next()?.trim_end_matches([',', '.']).to_string();
    Some((key, kind, obj))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evidence_never_quotes_the_same_message_twice() {
        let msg =
            "The node was low on resource: memory. Threshold quantity: 100Mi, available: 65536Ki.";
        let v = verdict(
            Cause::Evicted,
            Severity::Failure,
            "s",
            vec![
                format!("pod status: Evicted: {msg}"),
                format!("event Evicted at 2026-11-23T10:00:00Z: {msg}"),
                "a".into(),
                "a".into(),
                String::new(),
            ],
            "x",
        );
        assert_eq!(
            v.evidence,
            vec![format!("pod status: Evicted: {msg}"), "a".to_string()]
        );
    }

    #[test]
    fn names_from_kubelet_messages() {
        assert_eq!(
            quoted_after("secret \"db\" not found", "secret "),
            Some("db")
        );
        assert_eq!(
            missing_key("couldn't find key password in Secret shop/db"),
            Some(("password".into(), "Secret".into(), "shop/db".into()))
        );
        assert_eq!(missing_key("secret \"db\" not found"), None);
    }
}
