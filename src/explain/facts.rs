//! Small pure helpers: signal names, durations, quantities, and what a container's spec says about
//! probes, hooks, limits and its entry point.

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{
    Container, EphemeralContainer, LifecycleHandler, Pod, Probe, ResourceRequirements,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

/// The name of the signal behind an exit code of 128+N (or of a runtime-reported signal number).
pub(crate) fn signal_name(n: i32) -> Option<String> {
    let name = match n {
        1 => "SIGHUP",
        2 => "SIGINT",
        3 => "SIGQUIT",
        4 => "SIGILL",
        5 => "SIGTRAP",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        10 => "SIGUSR1",
        11 => "SIGSEGV",
        12 => "SIGUSR2",
        13 => "SIGPIPE",
        14 => "SIGALRM",
        15 => "SIGTERM",
        n if (16..=64).contains(&n) => return Some(format!("signal {n}")),
        _ => return None,
    };
    Some(name.to_string())
}

/// The signal of a termination: the runtime's `signal` when set, else derived from an exit code 129..=192.
pub(crate) fn exit_signal(exit_code: i32, signal: Option<i32>) -> Option<String> {
    match signal {
        Some(s) if s > 0 => signal_name(s),
        _ if (129..=192).contains(&exit_code) => signal_name(exit_code - 128),
        _ => None,
    }
}

/// `2m13s`, `1h4m`, `45s`, `3d2h`.
pub(crate) fn human_secs(secs: i64) -> String {
    let neg = secs < 0;
    let s = secs.unsigned_abs();
    let (d, h, m, sec) = (s / 86400, (s % 86400) / 3600, (s % 3600) / 60, s % 60);
    let text = if d > 0 {
        format!("{d}d{h}h")
    } else if h > 0 {
        format!("{h}h{m}m")
    } else if m > 0 {
        if sec > 0 {
            format!("{m}m{sec}s")
        } else {
            format!("{m}m")
        }
    } else {
        format!("{sec}s")
    };
    if neg {
        format!("-{text}")
    } else {
        text
    }
}

pub(crate) fn fmt_time(t: Timestamp) -> String {
    Timestamp::from_second(t.as_second())
        .map(|t| t.to_string())
        .unwrap_or_else(|_| t.to_string())
}

/// Parses a Kubernetes quantity (`256Mi`, `1.5Gi`, `500m`, `1e3`) into a number of base units.
pub(crate) fn parse_quantity(q: &str) -> Option<f64> {
    let q = q.trim();
    let split = q
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == '+'))
        .unwrap_or(q.len());
    let (num, suffix) = q.split_at(split);
    let n: f64 = num.parse().ok()?;
    let mult = match suffix {
        "" => 1.0,
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024.0,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        s if s.starts_with(['e', 'E']) => 10f64.powi(s[1..].parse::<i32>().ok()?),
        _ => return None,
    };
    Some(n * mult)
}

/// What a container's spec says, for init, app and ephemeral containers alike.
#[derive(Debug, Clone, Default)]
pub(crate) struct SpecFacts {
    pub command: Vec<String>,
    pub args: Vec<String>,
    pub liveness: Option<Probe>,
    pub readiness: Option<Probe>,
    pub startup: Option<Probe>,
    pub pre_stop: Option<LifecycleHandler>,
    pub post_start: Option<LifecycleHandler>,
    pub resources: Option<ResourceRequirements>,
    pub termination_message_policy: Option<String>,
    /// `Always` on an init container makes it a native sidecar.
    pub restart_policy: Option<String>,
    pub image: Option<String>,
}

impl SpecFacts {
    pub(crate) fn from_container(c: &Container) -> Self {
        SpecFacts {
            command: c.command.clone().unwrap_or_default(),
            args: c.args.clone().unwrap_or_default(),
            liveness: c.liveness_probe.clone(),
            readiness: c.readiness_probe.clone(),
            startup: c.startup_probe.clone(),
            pre_stop: c.lifecycle.as_ref().and_then(|l| l.pre_stop.clone()),
            post_start: c.lifecycle.as_ref().and_then(|l| l.post_start.clone()),
            resources: c.resources.clone(),
            termination_message_policy: c.termination_message_policy.clone(),
            restart_policy: c.restart_policy.clone(),
            image: c.image.clone(),
        }
    }

    pub(crate) fn from_ephemeral(c: &EphemeralContainer) -> Self {
        SpecFacts {
            command: c.command.clone().unwrap_or_default(),
            args: c.args.clone().unwrap_or_default(),
            liveness: None,
            readiness: None,
            startup: None,
            pre_stop: None,
            post_start: None,
            resources: c.resources.clone(),
            termination_message_policy: c.termination_message_policy.clone(),
            restart_policy: None,
            image: c.image.clone(),
        }
    }

    /// Finds the spec of a container by name in any of the pod's container lists.
    pub(crate) fn find(pod: &Pod, name: &str) -> Option<SpecFacts> {
        let spec = pod.spec.as_ref()?;
        spec.containers
            .iter()
            .chain(spec.init_containers.iter().flatten())
            .find(|c| c.name == name)
            .map(SpecFacts::from_container)
            .or_else(|| {
                spec.ephemeral_containers
                    .iter()
                    .flatten()
                    .find(|c| c.name == name)
                    .map(SpecFacts::from_ephemeral)
            })
    }

    fn resource(&self, which: &str, key: &str) -> Option<String> {
        let r = self.resources.as_ref()?;
        let m = if which == "limits" {
            r.limits.as_ref()
        } else {
            r.requests.as_ref()
        }?;
        m.get(key).map(|q| q.0.clone())
    }

    pub(crate) fn memory_limit(&self) -> Option<String> {
        self.resource("limits", "memory")
    }

    pub(crate) fn memory_request(&self) -> Option<String> {
        self.resource("requests", "memory")
    }

    /// `File` unless set.
    pub(crate) fn message_policy(&self) -> &str {
        self.termination_message_policy.as_deref().unwrap_or("File")
    }

    /// The full command line as written (command + args).
    pub(crate) fn command_line(&self) -> String {
        self.command
            .iter()
            .chain(self.args.iter())
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// True when PID 1 is a shell running a script that does not `exec` the app: the shell does not
    /// forward SIGTERM. None when the spec does not say (the image's entry point is used).
    pub(crate) fn shell_without_exec(&self) -> Option<bool> {
        let argv: Vec<String> = self
            .command
            .iter()
            .chain(self.args.iter())
            .cloned()
            .collect();
        if argv.is_empty() {
            return None;
        }
        Some(crate::podspec::shell_swallows(&argv).is_some())
    }

    /// How long the preStop hook is expected to take, when the spec says (a sleep action or `sleep N`).
    pub(crate) fn pre_stop_seconds(&self) -> Option<i64> {
        crate::podspec::prestop_handler(self.pre_stop.as_ref()?).pause
    }

    pub(crate) fn pre_stop_text(&self) -> Option<String> {
        self.pre_stop.as_ref().map(handler_text)
    }
}

/// `exec [sh -c sleep 20]`, `httpGet :8080/drain`, `sleep 20s`.
pub(crate) fn handler_text(h: &LifecycleHandler) -> String {
    if let Some(s) = &h.sleep {
        return format!("sleep {}s", s.seconds);
    }
    if let Some(e) = &h.exec {
        return format!("exec [{}]", e.command.clone().unwrap_or_default().join(" "));
    }
    if let Some(g) = &h.http_get {
        return format!(
            "httpGet :{}{}",
            port_text(&g.port),
            g.path.as_deref().unwrap_or("/")
        );
    }
    if let Some(t) = &h.tcp_socket {
        return format!("tcpSocket :{}", port_text(&t.port));
    }
    "handler".into()
}

fn port_text(p: &IntOrString) -> String {
    match p {
        IntOrString::Int(i) => i.to_string(),
        IntOrString::String(s) => s.clone(),
    }
}

/// `httpGet :8080/healthz every 10s, timeout 1s, 3 failures to act`.
pub(crate) fn probe_text(p: &Probe) -> String {
    let handler = if let Some(g) = &p.http_get {
        format!(
            "httpGet :{}{}",
            port_text(&g.port),
            g.path.as_deref().unwrap_or("/")
        )
    } else if let Some(t) = &p.tcp_socket {
        format!("tcpSocket :{}", port_text(&t.port))
    } else if let Some(e) = &p.exec {
        format!("exec [{}]", e.command.clone().unwrap_or_default().join(" "))
    } else if let Some(g) = &p.grpc {
        format!("grpc :{}", g.port)
    } else {
        "probe".into()
    };
    format!(
        "{handler} every {}s, timeout {}s, {} failures to act{}",
        p.period_seconds.unwrap_or(10),
        p.timeout_seconds.unwrap_or(1),
        p.failure_threshold.unwrap_or(3),
        match p.initial_delay_seconds {
            Some(d) if d > 0 => format!(", initial delay {d}s"),
            _ => String::new(),
        }
    )
}

/// True when two probes check the same thing the same way (a liveness probe copied from readiness).
pub(crate) fn same_probe(a: &Probe, b: &Probe) -> bool {
    a.http_get == b.http_get && a.tcp_socket == b.tcp_socket && a.exec == b.exec && a.grpc == b.grpc
}

/// Lines of a log tail that look like the error (last `max` of them).
pub(crate) fn error_lines(lines: &[String], max: usize) -> Vec<String> {
    const MARKERS: &[&str] = &[
        "error",
        "exception",
        "panic",
        "fatal",
        "traceback",
        "failed",
        "failure",
        "cannot",
        "could not",
        "couldn't",
        "unable to",
        "refused",
        "denied",
        "segmentation fault",
        "not found",
        "no such file",
        "killed",
        "abort",
        "out of memory",
    ];
    let hits: Vec<String> = lines
        .iter()
        .filter(|l| {
            let low = l.to_lowercase();
            MARKERS.iter().any(|m| low.contains(m))
        })
        .cloned()
        .collect();
    let skip = hits.len().saturating_sub(max);
    hits.into_iter().skip(skip).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_from_exit_codes() {
        assert_eq!(exit_signal(137, None).as_deref(), Some("SIGKILL"));
        assert_eq!(exit_signal(143, None).as_deref(), Some("SIGTERM"));
        assert_eq!(exit_signal(139, None).as_deref(), Some("SIGSEGV"));
        assert_eq!(exit_signal(134, None).as_deref(), Some("SIGABRT"));
        assert_eq!(exit_signal(1, None), None);
        assert_eq!(exit_signal(255, None), None);
        assert_eq!(exit_signal(0, Some(9)).as_deref(), Some("SIGKILL"));
    }

    #[test]
    fn durations_read_like_kubectl() {
        assert_eq!(human_secs(45), "45s");
        assert_eq!(human_secs(133), "2m13s");
        assert_eq!(human_secs(120), "2m");
        assert_eq!(human_secs(3900), "1h5m");
        assert_eq!(human_secs(2 * 86400 + 7200), "2d2h");
    }

    #[test]
    fn quantities() {
        assert_eq!(parse_quantity("256Mi"), Some(256.0 * 1024.0 * 1024.0));
        assert_eq!(parse_quantity("1Gi"), Some(1024.0 * 1024.0 * 1024.0));
        assert_eq!(parse_quantity("500m"), Some(0.5));
        assert_eq!(parse_quantity("1e3"), Some(1000.0));
        assert_eq!(parse_quantity("12x"), None);
    }

    fn spec(yaml: &str) -> SpecFacts {
        let c: Container = serde_yaml::from_str(yaml).expect("fixture parses");
        SpecFacts::from_container(&c)
    }

    #[test]
    fn shell_form_entry_points_are_detected() {
        assert_eq!(
            spec("name: a\ncommand: [sh, -c, 'java -jar app.jar']").shell_without_exec(),
            Some(true)
        );
        assert_eq!(
            spec("name: a\ncommand: [/bin/sh, -c, 'exec java -jar app.jar']").shell_without_exec(),
            Some(false)
        );
        assert_eq!(
            spec("name: a\ncommand: [java, -jar, app.jar]").shell_without_exec(),
            Some(false)
        );
        assert_eq!(spec("name: a").shell_without_exec(), None);
    }

    #[test]
    fn pre_stop_duration_from_sleep_action_or_command() {
        let s = spec("name: a\nlifecycle: {preStop: {exec: {command: [sh, -c, 'sleep 45']}}}");
        assert_eq!(s.pre_stop_seconds(), Some(45));
        let s = spec("name: a\nlifecycle: {preStop: {sleep: {seconds: 20}}}");
        assert_eq!(s.pre_stop_seconds(), Some(20));
        assert_eq!(s.pre_stop_text().as_deref(), Some("sleep 20s"));
    }

    #[test]
    fn error_lines_pick_the_last_matching_lines() {
        let lines: Vec<String> = [
            "starting",
            "Error: db down",
            "retrying",
            "FATAL: giving up",
            "bye",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(error_lines(&lines, 1), vec!["FATAL: giving up".to_string()]);
        assert_eq!(error_lines(&lines, 5).len(), 2);
    }
}
