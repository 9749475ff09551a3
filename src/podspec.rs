//! Pure facts about container specs that both `explain` and `diagnose` reason about: whether PID 1 is a
//! shell that keeps SIGTERM from the app, and how long a preStop hook pauses.

use k8s_openapi::api::core::v1::{Container, LifecycleHandler};

/// The basename of a command word (`/bin/sh` → `sh`).
pub(crate) fn base(word: &str) -> &str {
    word.rsplit('/').next().unwrap_or(word)
}

pub(crate) fn argv(c: &Container) -> Vec<String> {
    c.command
        .iter()
        .flatten()
        .chain(c.args.iter().flatten())
        .cloned()
        .collect()
}

pub(crate) const SHELLS: &[&str] = &["sh", "bash", "ash", "dash", "zsh", "ksh", "busybox"];

/// The script of `sh -c SCRIPT` (also `bash -ec`, `/bin/sh -c`, `busybox sh -c`).
pub(crate) fn shell_script(argv: &[String]) -> Option<String> {
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
pub(crate) fn words(text: &str) -> Vec<String> {
    text.split(|c: char| c.is_whitespace() || ";&|()`\"'".contains(c))
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// Seconds of a `sleep` argument: `5`, `5s`, `1.5`, `1m`.
pub(crate) fn sleep_seconds(arg: &str) -> Option<f64> {
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
pub(crate) struct PreStop {
    /// Seconds the hook pauses (native sleep, or `sleep N` in an exec hook); None: unknown (httpGet, other commands).
    pub pause: Option<i64>,
    /// The native `sleep` action.
    pub native_sleep: bool,
    /// An exec hook that runs `sleep`.
    pub exec_sleep: bool,
    /// The exec hook's words (empty for other handlers).
    pub words: Vec<String>,
}

pub(crate) fn prestop(c: &Container) -> Option<PreStop> {
    c.lifecycle.as_ref()?.pre_stop.as_ref().map(prestop_handler)
}

/// What a preStop handler does (see [`PreStop`]).
pub(crate) fn prestop_handler(h: &LifecycleHandler) -> PreStop {
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

/// The script of a `sh -c` entry point that keeps SIGTERM from the app (see [`shell_pid1`]).
pub(crate) fn shell_swallows(argv: &[String]) -> Option<String> {
    shell_pid1(argv).map(|s| s.script)
}

/// What it takes for SIGTERM to reach the app of a shell entry point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ShellFix {
    /// `exec` before the last command makes the app PID 1.
    Exec,
    /// The script loops: it needs a `trap`, with the sleep in the background so the trap runs at once.
    Trap,
    /// The last command runs in a pipe or in the background: neither `exec` nor a simple trap helps.
    Restructure,
}

/// A shell as PID 1 (possibly behind an init that forwards signals only to it) that does not pass
/// SIGTERM on to the app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ShellPid1 {
    /// `sh`, `bash` …
    pub shell: String,
    pub script: String,
    /// The index of the script in argv (`command` followed by `args`).
    pub script_index: usize,
    /// `tini` or `dumb-init` in front of the shell.
    pub init: Option<String>,
    pub fix: ShellFix,
    /// Byte offset of the script's last command (where `exec` goes).
    pub last_command: usize,
}

/// Inits that forward signals only to their child unless told to signal its process group: tini
/// (`-g`, tini.c), dumb-init with `--single-child`/`-c` (by default it signals the group, dumb-init.c).
fn skip_init(argv: &[String]) -> Option<(usize, Option<String>)> {
    let first = argv.first()?;
    let name = base(first);
    let (is_tini, is_dumb) = (name.starts_with("tini"), name == "dumb-init");
    if !is_tini && !is_dumb {
        return Some((0, None));
    }
    let mut i = 1;
    let mut single_child = is_tini;
    while let Some(w) = argv.get(i) {
        if w == "--" {
            i += 1;
            break;
        }
        if !w.starts_with('-') {
            break;
        }
        if is_tini && w.starts_with('-') && !w.starts_with("--") && w.contains('g') {
            single_child = false; // tini -g: the whole process group gets the signal
        }
        if is_dumb && (w == "-c" || w == "--single-child") {
            single_child = true;
        }
        // Options that take a value (tini -e CODE, -p SIG; dumb-init -r s:r).
        if matches!(w.as_str(), "-e" | "-p" | "-r" | "--rewrite") {
            i += 1;
        }
        i += 1;
    }
    // A group-signalling init delivers SIGTERM to the app itself: nothing swallows it.
    single_child.then(|| (i, Some(name.to_string())))
}

/// The shell of an entry point, its script and the script's index in argv.
fn shell_script_at(argv: &[String]) -> Option<(String, usize, String)> {
    let mut i = 0;
    // `/usr/bin/env [VAR=value …] sh -c …`
    if base(argv.first()?) == "env" {
        i = 1;
        while argv
            .get(i)
            .is_some_and(|w| w.contains('=') || w.starts_with('-'))
        {
            i += 1;
        }
    }
    let shell = base(argv.get(i)?).to_string();
    if !SHELLS.contains(&shell.as_str()) {
        return None;
    }
    i += 1;
    if shell == "busybox" && argv.get(i).is_some_and(|w| SHELLS.contains(&w.as_str())) {
        i += 1;
    }
    let mut saw_c = false;
    while let Some(w) = argv.get(i) {
        if saw_c {
            return Some((shell, i, w.clone()));
        }
        if w.starts_with('-') && !w.starts_with("--") && w.contains('c') {
            saw_c = true;
        } else if !w.starts_with('-') {
            return None; // `sh script.sh`: a script file, not -c
        }
        i += 1;
    }
    None
}

/// The commands of a script: (byte offset, text, the separator after it), outside quotes.
fn commands(script: &str) -> Vec<(usize, &str, &str)> {
    let b = script.as_bytes();
    let mut out = Vec::new();
    let (mut start, mut i, mut quote, mut depth) = (0, 0, None::<u8>, 0i32);
    while i < b.len() {
        let c = b[i];
        match quote {
            Some(q) if c == q => quote = None,
            Some(b'"') if c == b'\\' => i += 1,
            Some(_) => {}
            // `$(…)` and `( … )`: one command, whatever is inside.
            None if c == b'(' => depth += 1,
            None if c == b')' => depth -= 1,
            None if depth > 0 => {}
            None => {
                let two = b.get(i..i + 2);
                let sep = if c == b'\'' || c == b'"' || c == b'`' {
                    quote = Some(c);
                    None
                } else if c == b'#' && (i == 0 || b[i - 1].is_ascii_whitespace()) {
                    // A comment runs to the end of the line.
                    let end = script[i..].find('\n').map_or(b.len(), |e| i + e);
                    out.push((start, &script[start..i], "\n"));
                    start = end;
                    i = end;
                    continue;
                } else if two == Some(b"&&") || two == Some(b"||") {
                    Some(2)
                } else if matches!(c, b'\n' | b';' | b'&' | b'|') {
                    Some(1)
                } else {
                    None
                };
                if let Some(n) = sep {
                    out.push((start, &script[start..i], &script[i..i + n]));
                    start = i + n;
                    i += n;
                    continue;
                }
            }
        }
        i += 1;
    }
    out.push((start, &script[start..], ""));
    out.into_iter()
        .filter(|(_, t, _)| !t.trim().is_empty())
        .map(|(s, t, sep)| {
            let lead = t.len() - t.trim_start().len();
            (s + lead, t.trim(), sep)
        })
        .collect()
}

fn is_loop_word(cmd: &str) -> bool {
    let first = cmd.split_whitespace().next().unwrap_or("");
    matches!(first, "while" | "until" | "for" | "do" | "done")
}

/// The `sh -c` entry point of argv (also behind `env`, tini or dumb-init) when SIGTERM does not reach
/// the app: the shell is PID 1, ignores SIGTERM without a trap, and does not forward it. Not flagged:
/// scripts whose last command is `exec`, scripts with a `trap`, and bash running one simple command
/// (bash execs it in place: `should_suppress_fork`, builtins/evalstring.c; dash 0.5.12 does not, checked
/// with `sh -c 'sleep 2'` on Debian).
pub(crate) fn shell_pid1(argv: &[String]) -> Option<ShellPid1> {
    let (skip, init) = skip_init(argv)?;
    let (shell, idx, script) = shell_script_at(&argv[skip..])?;
    if script.contains("trap ") || script.contains("trap\t") {
        return None; // the script handles signals itself
    }
    let cmds = commands(&script);
    let &(last_at, last, _) = cmds.last()?;
    if last.starts_with("exec ") || last == "exec" {
        return None;
    }
    let background = cmds.iter().any(|(_, _, sep)| *sep == "&" || *sep == "|") || last == "wait";
    if shell == "bash" && cmds.len() == 1 && !background && !is_loop_word(last) {
        return None; // bash -c 'one command' execs it
    }
    let fix = if cmds.iter().any(|(_, c, _)| is_loop_word(c)) && last == "done" {
        ShellFix::Trap
    } else if background {
        ShellFix::Restructure
    } else {
        ShellFix::Exec
    };
    Some(ShellPid1 {
        shell,
        script_index: skip + idx,
        script,
        init,
        fix,
        last_command: last_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    fn fix(v: &[&str]) -> Option<ShellFix> {
        shell_pid1(&s(v)).map(|p| p.fix)
    }

    #[test]
    fn bash_execs_one_command_dash_does_not() {
        assert_eq!(fix(&["bash", "-c", "java -jar app.jar"]), None);
        assert_eq!(fix(&["/bin/bash", "-ec", "npm start"]), None);
        assert_eq!(
            fix(&["sh", "-c", "java -jar app.jar"]),
            Some(ShellFix::Exec)
        );
        assert_eq!(
            fix(&["bash", "-c", "cd /app; npm start"]),
            Some(ShellFix::Exec)
        );
        let p = shell_pid1(&s(&["bash", "-c", "cd /app && npm start"])).unwrap();
        assert_eq!(&p.script[p.last_command..], "npm start");
    }

    #[test]
    fn loops_need_a_trap_pipes_and_background_jobs_more() {
        assert_eq!(
            fix(&["sh", "-c", "while true; do date; sleep 10; done"]),
            Some(ShellFix::Trap)
        );
        assert_eq!(
            fix(&["bash", "-c", "while true; do date; sleep 10; done"]),
            Some(ShellFix::Trap)
        );
        // A wait loop before the real start is fine when the start is exec'd.
        assert_eq!(
            fix(&[
                "sh",
                "-c",
                "until nc -z db 5432; do sleep 1; done; exec ./server"
            ]),
            None
        );
        assert_eq!(
            fix(&["sh", "-c", "./server | tee /log/out"]),
            Some(ShellFix::Restructure)
        );
        assert_eq!(
            fix(&["sh", "-c", "./a & ./b & wait"]),
            Some(ShellFix::Restructure)
        );
        assert_eq!(fix(&["sh", "-c", "trap 'exit 0' TERM; ./a & wait"]), None);
        assert_eq!(
            fix(&[
                "sh",
                "-c",
                "./run --id=$(hostname | cut -d- -f2) `date +%s`"
            ]),
            Some(ShellFix::Exec)
        );
        // Separators inside quotes are not separators.
        let p = shell_pid1(&s(&["sh", "-c", "echo 'a;b' && ./run \"x|y\""])).unwrap();
        assert_eq!(p.fix, ShellFix::Exec);
        assert_eq!(&p.script[p.last_command..], "./run \"x|y\"");
    }

    #[test]
    fn inits_that_forward_only_to_their_child() {
        let p = shell_pid1(&s(&["tini", "--", "sh", "-c", "java -jar app.jar"])).unwrap();
        assert_eq!((p.init.as_deref(), p.script_index), (Some("tini"), 4));
        assert_eq!(
            fix(&["/sbin/tini", "-g", "--", "sh", "-c", "java -jar a"]),
            None
        );
        assert_eq!(fix(&["dumb-init", "sh", "-c", "java -jar a"]), None);
        assert_eq!(
            fix(&[
                "dumb-init",
                "--single-child",
                "--",
                "sh",
                "-c",
                "java -jar a"
            ]),
            Some(ShellFix::Exec)
        );
        assert_eq!(fix(&["tini", "--", "java", "-jar", "a"]), None);
    }
}
