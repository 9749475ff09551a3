//! Scripted container behaviour (`kubesim.io/behavior` annotation).

use crate::util::{parse_duration_ms, parse_duration_str};
use serde_json::Value;

pub const BEHAVIOR: &str = "kubesim.io/behavior";
pub const ROLLOUT_BEHAVIOR: &str = "kubesim.io/rollout-behavior";
pub const LOGS: &str = "kubesim.io/logs";
pub const PREVIOUS_LOGS: &str = "kubesim.io/previous-logs";

#[derive(Debug, Clone, PartialEq)]
pub struct Behavior {
    pub ready_after: i64,
    pub crash_after: Option<i64>,
    pub exit_code: Option<i64>,
    pub reason: Option<String>,
    pub message: Option<String>,
    pub never_ready: bool,
    pub liveness_fails_after: Option<i64>,
    pub image_pull_error: Option<String>,
    pub config_error: Option<String>,
    pub logs: Option<String>,
    pub previous_logs: Option<String>,
    /// ms the app needs after SIGTERM; None = ignores SIGTERM.
    pub sigterm_exit: Option<i64>,
    pub sigterm_exit_code: Option<i64>,
    pub dies_on_sigterm: bool,
    pub pre_stop_fails: bool,
    pub exceeds_grace_period: bool,
    pub startup_fails: bool,
    pub post_start_fails: bool,
    pub pre_stop: Option<i64>,
    pub start_delay: i64,
}

impl Default for Behavior {
    fn default() -> Self {
        Behavior {
            ready_after: 1000,
            crash_after: None,
            exit_code: None,
            reason: None,
            message: None,
            never_ready: false,
            liveness_fails_after: None,
            image_pull_error: None,
            config_error: None,
            logs: None,
            previous_logs: None,
            sigterm_exit: Some(0),
            sigterm_exit_code: None,
            dies_on_sigterm: false,
            pre_stop_fails: false,
            exceeds_grace_period: false,
            startup_fails: false,
            post_start_fails: false,
            pre_stop: None,
            start_delay: 1000,
        }
    }
}

const FIELDS: &[&str] = &[
    "readyAfter",
    "crashAfter",
    "exitCode",
    "reason",
    "message",
    "neverReady",
    "livenessFailsAfter",
    "imagePullError",
    "configError",
    "logs",
    "previousLogs",
    "sigtermExit",
    "sigtermExitCode",
    "diesOnSigterm",
    "preStopFails",
    "exceedsGracePeriod",
    "startupFails",
    "postStartFails",
    "preStop",
    "startDelay",
];

fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

impl Behavior {
    pub fn apply_map(&mut self, m: &serde_json::Map<String, Value>) {
        if let Some(d) = m.get("readyAfter").and_then(parse_duration_ms) {
            self.ready_after = d;
        }
        if let Some(d) = m.get("startDelay").and_then(parse_duration_ms) {
            self.start_delay = d;
        }
        if let Some(d) = m.get("crashAfter").and_then(parse_duration_ms) {
            self.crash_after = Some(d);
        }
        if let Some(c) = m.get("exitCode").and_then(|x| x.as_i64()) {
            self.exit_code = Some(c);
        }
        if let Some(r) = text(m.get("reason")) {
            self.reason = Some(r);
        }
        if let Some(r) = text(m.get("message")) {
            self.message = Some(r);
        }
        if let Some(b) = m.get("neverReady").and_then(|x| x.as_bool()) {
            self.never_ready = b;
        }
        if let Some(d) = m.get("livenessFailsAfter").and_then(parse_duration_ms) {
            self.liveness_fails_after = Some(d);
        }
        if let Some(r) = text(m.get("imagePullError")) {
            self.image_pull_error = Some(r);
        }
        if let Some(r) = text(m.get("configError")) {
            self.config_error = Some(r);
        }
        if let Some(r) = text(m.get("logs")) {
            self.logs = Some(r);
        }
        if let Some(r) = text(m.get("previousLogs")) {
            self.previous_logs = Some(r);
        }
        match m.get("sigtermExit") {
            Some(Value::String(s)) if s == "never" => self.sigterm_exit = None,
            Some(v) => {
                if let Some(d) = parse_duration_ms(v) {
                    self.sigterm_exit = Some(d)
                }
            }
            None => {}
        }
        if let Some(c) = m.get("sigtermExitCode").and_then(|x| x.as_i64()) {
            self.sigterm_exit_code = Some(c);
        }
        if let Some(b) = m.get("diesOnSigterm").and_then(|x| x.as_bool()) {
            self.dies_on_sigterm = b;
        }
        if let Some(b) = m.get("preStopFails").and_then(|x| x.as_bool()) {
            self.pre_stop_fails = b;
        }
        if let Some(b) = m.get("postStartFails").and_then(|x| x.as_bool()) {
            self.post_start_fails = b;
        }
        if let Some(b) = m.get("startupFails").and_then(|x| x.as_bool()) {
            self.startup_fails = b;
        }
        if let Some(b) = m.get("exceedsGracePeriod").and_then(|x| x.as_bool()) {
            self.exceeds_grace_period = b;
        }
        if let Some(d) = m.get("preStop").and_then(parse_duration_ms) {
            self.pre_stop = Some(d);
        }
    }

    /// Exit code for a crash.
    pub fn crash_exit(&self) -> (i64, String) {
        let reason = self.reason.clone();
        let code = self.exit_code.unwrap_or(match reason.as_deref() {
            Some("OOMKilled") => 137,
            Some("Completed") => 0,
            _ => 1,
        });
        let reason = reason.unwrap_or_else(|| {
            if code == 0 {
                "Completed".into()
            } else {
                "Error".into()
            }
        });
        (code, reason)
    }

    /// Exit code when the app handles SIGTERM in time.
    pub fn sigterm_code(&self) -> i64 {
        self.sigterm_exit_code
            .unwrap_or(if self.dies_on_sigterm { 143 } else { 0 })
    }
}

/// Parse the annotation value into (container name or "*") → field map.
pub fn parse_annotation(s: &str) -> Vec<(String, serde_json::Map<String, Value>)> {
    let v: Value = match serde_yaml::from_str::<Value>(s) {
        Ok(v) => v,
        Err(_) => return vec![],
    };
    let Some(m) = v.as_object() else {
        return vec![];
    };
    if m.keys().any(|k| FIELDS.contains(&k.as_str())) {
        return vec![("*".into(), m.clone())];
    }
    m.iter()
        .filter_map(|(k, v)| v.as_object().map(|o| (k.clone(), o.clone())))
        .collect()
}

/// Behaviour of `container` given the pod annotations.
pub fn for_container(annotations: Option<&Value>, container: &str) -> Behavior {
    let mut b = Behavior::default();
    let Some(a) = annotations
        .and_then(|a| a.get(BEHAVIOR))
        .and_then(|x| x.as_str())
    else {
        return b;
    };
    let parsed = parse_annotation(a);
    for (k, m) in &parsed {
        if k == "*" {
            b.apply_map(m);
        }
    }
    for (k, m) in &parsed {
        if k == container {
            b.apply_map(m);
        }
    }
    b
}

/// Static-pod logs from annotations `kubesim.io/logs` / `kubesim.io/previous-logs` (mapping container → text, or text).
pub fn annotation_logs(annotations: Option<&Value>, key: &str, container: &str) -> Option<String> {
    let a = annotations?.get(key)?.as_str()?;
    match serde_yaml::from_str::<Value>(a) {
        Ok(Value::Object(m)) => m
            .get(container)
            .or_else(|| m.get("*"))
            .and_then(|x| x.as_str())
            .map(String::from),
        _ => Some(a.to_string()),
    }
}

/// Seconds a preStop hook takes: `sleep.seconds`, or `sleep N` in an exec command.
pub fn pre_stop_ms(container: &Value) -> Option<i64> {
    let ps = container.pointer("/lifecycle/preStop")?;
    if let Some(s) = ps.pointer("/sleep/seconds").and_then(|x| x.as_i64()) {
        return Some(s * 1000);
    }
    if let Some(cmd) = ps.pointer("/exec/command").and_then(|x| x.as_array()) {
        let joined: Vec<String> = cmd
            .iter()
            .filter_map(|x| x.as_str().map(String::from))
            .collect();
        let joined = joined.join(" ");
        if let Some(idx) = joined.find("sleep ") {
            let rest = &joined[idx + 6..];
            let tok: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '.')
                .collect();
            return parse_duration_str(&tok).or(Some(0));
        }
        return Some(0);
    }
    Some(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    #[test]
    fn parse_behaviors() {
        let ann = json!({BEHAVIOR: "{\"*\": {\"readyAfter\": \"2s\"}, \"app\": {\"crashAfter\": \"5s\", \"reason\": \"OOMKilled\"}}"});
        let b = for_container(Some(&ann), "app");
        assert_eq!(b.ready_after, 2000);
        assert_eq!(b.crash_after, Some(5000));
        assert_eq!(b.crash_exit(), (137, "OOMKilled".to_string()));
        let b2 = for_container(Some(&ann), "side");
        assert_eq!(b2.crash_after, None);
        let ann = json!({BEHAVIOR: "sigtermExit: never\nneverReady: true\n"});
        let b = for_container(Some(&ann), "x");
        assert_eq!(b.sigterm_exit, None);
        assert!(b.never_ready);
        let c = json!({"lifecycle": {"preStop": {"exec": {"command": ["sh", "-c", "sleep 15"]}}}});
        assert_eq!(pre_stop_ms(&c), Some(15000));
    }
}
