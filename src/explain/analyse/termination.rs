//! Rules for a terminated instance that nobody stopped: out of memory, the runtime failing to start
//! it, exit codes and signals, and the application's own errors.

use super::super::facts;
use super::super::model::{Cause, ContainerType, Severity, Verdict};
use super::context::Subject;
use super::waiting::{exec_format_action, runtime_action};
use super::words::{exit_meaning, nonempty, signal_meaning, verdict};

pub fn oom(s: &Subject) -> Option<Verdict> {
    let i = s.instance.as_ref()?;
    if i.reason() != "OOMKilled" {
        return None;
    }
    let mut ev = vec![i.line()];
    Some(match s.spec.memory_limit() {
        Some(limit) => {
            ev.push(format!(
                "memory limit {limit}, request {}",
                s.spec
                    .memory_request()
                    .unwrap_or_else(|| "not set (defaults to the limit)".into())
            ));
            verdict(
                Cause::OomKilled,
                Severity::Failure,
                format!("OOMKilled: the container used more than its memory limit of {limit}"),
                ev,
                format!("raise resources.limits.memory above the peak use (now {limit}) or reduce the app's memory (heap size, caches, leaks)"),
            )
        }
        None => {
            ev.push("no memory limit is set: the kernel's OOM killer chose this process because the node (or the pod's cgroup) ran out of memory".into());
            verdict(
                Cause::NodeOom,
                Severity::Failure,
                "OOMKilled without a memory limit: the node ran out of memory",
                ev,
                "set resources.requests.memory to the real use (so the scheduler reserves it) and a memory limit",
            )
        }
    })
}

/// The runtime reported that it could not start the process (the instance never ran).
pub fn runtime_start(s: &Subject) -> Option<Verdict> {
    let i = s.instance.as_ref()?;
    if !matches!(i.reason(), "ContainerCannotRun" | "StartError") {
        return None;
    }
    let m = i.message();
    Some(verdict(
        Cause::StartError,
        Severity::Failure,
        format!(
            "the runtime could not start the process: {}",
            super::waiting::short_runtime_error(nonempty(m, i.reason()))
        ),
        vec![
            i.line(),
            format!("runtime message: {m}"),
            format!("command: {}", s.command_text()),
        ],
        runtime_action(s, m),
    ))
}

pub fn container_lost(s: &Subject) -> Option<Verdict> {
    let i = s.instance.as_ref()?;
    if i.reason() != "ContainerStatusUnknown" {
        return None;
    }
    Some(verdict(
        Cause::ContainerLost,
        Severity::Failure,
        "the container could not be located when the pod was terminated (its node or runtime lost it)",
        vec![i.line()],
        "check the node's health (`kubectl describe node`); the exit code 137 here is set by the kubelet, not a real kill",
    ))
}

pub fn deadline(s: &Subject) -> Option<Verdict> {
    let i = s.instance.as_ref()?;
    if i.reason() != "DeadlineExceeded" {
        return None;
    }
    Some(verdict(
        Cause::DeadlineExceeded,
        Severity::Failure,
        "stopped because the pod's activeDeadlineSeconds ran out",
        vec![i.line()],
        "raise activeDeadlineSeconds, or make the work finish sooner",
    ))
}

/// `exec /app: exec format error` in the log or message: the binary was built for another CPU.
pub fn exec_format(s: &Subject) -> Option<Verdict> {
    let i = s.instance.as_ref()?;
    if i.code() == 0 {
        return None;
    }
    let line = std::iter::once(i.message())
        .chain(s.log_lines.iter().map(String::as_str))
        .flat_map(str::lines)
        .find(|l| l.contains("exec format error"))?
        .trim()
        .to_string();
    let mut ev = vec![i.line(), format!("output: {line}")];
    if let Some(a) = node_arch(s) {
        ev.push(format!("node {} is {a}", s.ctx.node_name().unwrap_or("")));
    }
    Some(verdict(
        Cause::StartError,
        Severity::Failure,
        "exec format error: the image's program is built for another CPU architecture than the node's",
        ev,
        exec_format_action(s),
    ))
}

pub fn node_arch(s: &Subject) -> Option<String> {
    s.ctx
        .extra
        .node
        .as_ref()
        .and_then(|n| n.architecture.clone())
}

/// Exit 0 where the kubelet restarts the container whenever it exits.
pub fn completed(s: &Subject) -> Option<Verdict> {
    let i = s.instance.as_ref()?;
    if i.code() != 0 || !s.restart_always() {
        return None;
    }
    let what = if s.ctype == ContainerType::Init {
        "this sidecar (an init container with restartPolicy Always)"
    } else {
        "this container (the pod's restartPolicy is Always)"
    };
    Some(verdict(
        Cause::CompletedUnexpectedly,
        Severity::Failure,
        "the process exited 0: it finished, where a long-running server was expected",
        vec![
            i.line(),
            format!("{what} is restarted whenever it exits, even successfully"),
            format!("command: {}", s.command_text()),
        ],
        "make the command run in the foreground (no daemonising, no `&`), or run one-off work as a Job",
    ))
}

pub fn not_executable(s: &Subject) -> Option<Verdict> {
    let i = s.instance.as_ref()?;
    (i.code() == 126).then(|| {
        verdict(
            Cause::NotExecutable,
            Severity::Failure,
            "exit 126: the command is not executable",
            vec![i.line(), format!("command: {}", s.command_text())],
            "make the file executable in the image (chmod +x, or COPY --chmod=755), or check the user it runs as can read and execute it",
        )
    })
}

pub fn command_not_found(s: &Subject) -> Option<Verdict> {
    let i = s.instance.as_ref()?;
    (i.code() == 127).then(|| {
        verdict(
            Cause::CommandNotFound,
            Severity::Failure,
            "exit 127: the command was not found",
            vec![i.line(), format!("command: {}", s.command_text())],
            "fix command/args (a typo, a missing binary, or PATH) or use an image that has it",
        )
    })
}

/// Exit 137 that no Killing event, deletion or OOM explains: say so, never guess OOM.
pub fn sigkill_unexplained(s: &Subject) -> Option<Verdict> {
    let i = s.instance.as_ref()?;
    if i.code() != 137 {
        return None;
    }
    let events = &s.ctx.extra.events;
    let seen = if events.seen() {
        "no Killing event during this instance's life: the kubelet did not stop it (unless the event expired)".to_string()
    } else {
        format!(
            "{}: a Killing event would tell whether the kubelet stopped it",
            events.why_unseen()
        )
    };
    Some(verdict(
        Cause::Unclear,
        Severity::Failure,
        "killed by SIGKILL (exit 137), cause not recorded",
        vec![
            i.line(),
            format!(
                "reason is {}, not OOMKilled: this is not the memory limit",
                nonempty(i.reason(), "empty")
            ),
            seen,
        ],
        "check for `kill -9` in the app or a supervisor, the node's kernel log (OOM outside the container's cgroup), and whether the pod was being deleted",
    ))
}

pub fn sigterm(s: &Subject) -> Option<Verdict> {
    let i = s.instance.as_ref()?;
    (i.code() == 143).then(|| {
        verdict(
            Cause::Sigterm,
            Severity::Failure,
            "exit 143: the process died of SIGTERM without the kubelet stopping it",
            vec![
                i.line(),
                "no Killing event and no pod deletion during this instance's life".into(),
            ],
            "find what sent SIGTERM (a process manager, a script's `kill`, a timeout wrapper); handle SIGTERM in the app to exit cleanly",
        )
    })
}

pub fn signal(s: &Subject) -> Option<Verdict> {
    let i = s.instance.as_ref()?;
    let sig = facts::exit_signal(i.code(), i.t.signal)?;
    Some(verdict(
        Cause::Signal,
        Severity::Failure,
        format!("exit {}: the process {}", i.code(), signal_meaning(i.code())),
        vec![i.line(), format!("signal: {sig}")],
        "read the log before the crash; for native crashes check the image's libraries and architecture",
    ))
}

pub fn app_error(s: &Subject) -> Option<Verdict> {
    let i = s.instance.as_ref()?;
    let code = i.code();
    if code == 0 {
        return None;
    }
    // The line of the termination message that looks like the error (else its last line), else
    // the last log line that looks like one.
    let message: Vec<String> = i.message().lines().map(str::to_string).collect();
    let said = facts::error_lines(&message, 1)
        .pop()
        .or_else(|| message.iter().rev().find(|l| !l.trim().is_empty()).cloned())
        .or_else(|| facts::error_lines(s.log_lines, 1).pop())
        .map(|l| format!(": {}", l.trim()))
        .unwrap_or_default();
    Some(verdict(
        Cause::AppError,
        Severity::Failure,
        format!(
            "the application exited with code {code}{}{said}",
            exit_meaning(code)
        ),
        vec![i.line()],
        "fix the error the application reports (see the termination message and log below)",
    ))
}

/// Evidence every verdict about an ended instance gets: its termination message (or why there is
/// none), and the log lines that look like the error.
pub fn attach_output(s: &Subject, v: &mut Verdict) {
    let Some(i) = s.instance.as_ref() else { return };
    let app_like = matches!(
        v.cause,
        Cause::AppError
            | Cause::Signal
            | Cause::Unclear
            | Cause::Sigterm
            | Cause::NotExecutable
            | Cause::CommandNotFound
            | Cause::CompletedUnexpectedly
    );
    let msg = i.message();
    if !msg.trim().is_empty() {
        let bytes = msg.len();
        let lines = msg.lines().count();
        let fallback = s.spec.message_policy() == "FallbackToLogsOnError";
        if bytes >= 4096 || (fallback && (bytes >= 2048 || lines >= 80)) {
            v.evidence.push(format!(
                "the termination message looks truncated ({bytes} bytes, {lines} lines: the kubelet keeps at most 4096 bytes of the file, 2048 bytes or 80 lines of a log fallback)"
            ));
        }
    } else if i.code() != 0 && app_like && s.spec.message_policy() == "File" {
        v.evidence.push(
            "no termination message: terminationMessagePolicy is File and the app wrote nothing to its termination-log file".into(),
        );
        v.action.push_str(
            "; set terminationMessagePolicy: FallbackToLogsOnError so the next crash leaves its log tail in the status",
        );
    }
    if app_like || v.cause == Cause::OomKilled {
        for l in facts::error_lines(s.log_lines, 3) {
            v.evidence.push(format!("log: {l}"));
        }
    }
}
