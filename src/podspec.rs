//! Pure facts about container specs that both `explain` and `diagnose` reason about: whether PID 1 is a
//! shell that keeps SIGTERM from the app, and how long a preStop hook pauses.

use k8s_openapi::api::core::v1::{Container, LifecycleHandler};

/// The basename of a command word (`/bin/sh` → `sh`).
pub fn base(word: &str) -> &str {
    word.rsplit('/').next().unwrap_or(word)
}

pub fn argv(c: &Container) -> Vec<String> {
    c.command
        .iter()
        .flatten()
        .chain(c.args.iter().flatten())
        .cloned()
        .collect()
}

pub const SHELLS: &[&str] = &["sh", "bash", "ash", "dash", "zsh", "ksh", "busybox"];

/// The script of `sh -c SCRIPT` (also `bash -ec`, `/bin/sh -c`, `busybox sh -c`).
pub fn shell_script(argv: &[String]) -> Option<String> {
    let mut it = argv.iter().peekable();
    let mut first = it.next()?;
    // `/usr/bin/env [VAR=value …] sh -c …`
    if base(first) == "env" {
        while it
            .peek()
            .is_some_and(|w| w.contains('=') || w.starts_with('-'))
        {
            it.next();
        }
        first = it.next()?;
    }
    if !SHELLS.contains(&base(first)) {
        return None;
    }
    if base(first) == "busybox" && it.peek().is_some_and(|w| SHELLS.contains(&w.as_str())) {
        it.next();
    }
    let mut saw_c = false;
    for w in it {
        if !saw_c {
            if w.starts_with('-') && !w.starts_with("--") && w.contains('c') {
                saw_c = true;
            } else if !w.starts_with('-') {
                // `sh script.sh`: a script file, not -c.
                return None;
            }
            continue;
        }
        return Some(w.clone());
    }
    None
}

/// Words of a shell script or argv, split on whitespace and shell operators.
pub fn words(text: &str) -> Vec<String> {
    text.split(|c: char| c.is_whitespace() || ";&|()`\"'".contains(c))
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// Seconds of a `sleep` argument: `5`, `5s`, `1.5`, `1m`.
pub fn sleep_seconds(arg: &str) -> Option<f64> {
    let (num, mult) = match arg.chars().last()? {
        's' => (&arg[..arg.len() - 1], 1.0),
        'm' => (&arg[..arg.len() - 1], 60.0),
        'h' => (&arg[..arg.len() - 1], 3600.0),
        _ => (arg, 1.0),
    };
    num.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v >= 0.0)
        .map(|v| v * mult)
}

/// What a preStop hook does, as far as the spec tells.
#[derive(Debug, Clone, PartialEq)]
pub struct PreStop {
    /// Seconds the hook pauses (native sleep, or `sleep N` in an exec hook); None: unknown (httpGet, other commands).
    pub pause: Option<i64>,
    /// The native `sleep` action.
    pub native_sleep: bool,
    /// An exec hook that runs `sleep`.
    pub exec_sleep: bool,
    /// The exec hook's words (empty for other handlers).
    pub words: Vec<String>,
}

pub fn prestop(c: &Container) -> Option<PreStop> {
    c.lifecycle.as_ref()?.pre_stop.as_ref().map(prestop_handler)
}

/// What a preStop handler does (see [`PreStop`]).
pub fn prestop_handler(h: &LifecycleHandler) -> PreStop {
    if let Some(s) = &h.sleep {
        return PreStop {
            pause: Some(s.seconds.max(0)),
            native_sleep: true,
            exec_sleep: false,
            words: vec![],
        };
    }
    if let Some(e) = &h.exec {
        let cmd = e.command.clone().unwrap_or_default();
        let ws: Vec<String> = match shell_script(&cmd) {
            Some(script) => words(&script),
            None => cmd.iter().flat_map(|a| words(a)).collect(),
        };
        let mut total = 0.0;
        let mut found = false;
        for (i, w) in ws.iter().enumerate() {
            if base(w) == "sleep" {
                if let Some(s) = ws.get(i + 1).and_then(|a| sleep_seconds(a)) {
                    total += s;
                    found = true;
                }
            }
        }
        return PreStop {
            pause: found.then_some(total.ceil() as i64),
            native_sleep: false,
            exec_sleep: found,
            words: ws,
        };
    }
    PreStop {
        pause: None,
        native_sleep: false,
        exec_sleep: false,
        words: vec![],
    }
}

/// The shell of a `sh -c` entry point that keeps SIGTERM from the app, with the script.
pub fn shell_swallows(argv: &[String]) -> Option<String> {
    let script = shell_script(argv)?;
    if script.contains("trap ") || script.contains("trap\t") {
        return None; // the script handles signals itself
    }
    let last = script
        .split(['\n', ';'])
        .flat_map(|s| s.split("&&"))
        .flat_map(|s| s.split("||"))
        .map(str::trim)
        .filter(|s| !s.is_empty() && !s.starts_with('#'))
        .last()?;
    if last.starts_with("exec ") || last == "exec" {
        return None;
    }
    Some(script)
}
