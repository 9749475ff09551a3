//! Signals: shells that keep SIGTERM from the app, preStop hooks that send signals themselves.

use k8s_openapi::api::core::v1::Container;

use super::helpers::*;
use super::Hit;
use crate::diagnose::context::Context;
use crate::podspec::{shell_pid1, ShellFix, ShellPid1};
use crate::workload::Workload;

pub(super) fn check_shell_swallows(w: &Workload, _cx: &Context) -> Vec<Hit> {
    let items = containers(w)
        .iter()
        .filter_map(|c| {
            let p = shell_pid1(&argv(c))?;
            let (field, fix) = shell_fix(c, &p);
            let shown = short(&p.script, 60);
            let shell = &p.shell;
            let who = match &p.init {
                Some(init) => format!(
                    "{init} forwards SIGTERM only to its child, `{shell} -c`, which does not pass it on"
                ),
                // bash 5.1+ also execs the last command of a simple list; older bash does not.
                None if shell == "bash" && p.fix == ShellFix::Exec => {
                    "bash is PID 1 and does not forward SIGTERM (bash 5.1+ may exec the last command itself; older bash and other shells do not)".to_string()
                }
                None => format!("{shell} is PID 1 and does not forward SIGTERM"),
            };
            let message = match p.fix {
                ShellFix::Exec => format!(
                    "runs the app under `{shell} -c` without exec ({shown:?}): {who}, so the app is SIGKILLed when the grace period ends"
                ),
                ShellFix::Trap => format!(
                    "runs a loop under `{shell} -c` without a trap ({shown:?}): {who}, and the loop never ends, so the pod waits out the whole grace period and is SIGKILLed"
                ),
                ShellFix::Restructure => format!(
                    "runs the app in a pipe or in the background under `{shell} -c` ({shown:?}): {who}, so the app is SIGKILLed when the grace period ends; run it in the foreground with exec (log to stdout instead of piping)"
                ),
            };
            Some(PerContainer {
                container: c.name.clone(),
                message,
                field,
                fix,
            })
        })
        .collect();
    fold(w, items)
}

/// The field that holds the script (`command` or `args`) and the fix: that list with the script
/// rewritten (the other list is left alone, so an image entrypoint in front still runs).
fn shell_fix(c: &Container, p: &ShellPid1) -> (String, Option<ContainerFix>) {
    let command = c.command.clone().unwrap_or_default();
    let (field, mut list, at) = if p.script_index < command.len() {
        ("command", command, p.script_index)
    } else {
        (
            "args",
            c.args.clone().unwrap_or_default(),
            p.script_index - command.len(),
        )
    };
    let new_script = match p.fix {
        ShellFix::Exec => format!(
            "{}exec {}",
            &p.script[..p.last_command],
            &p.script[p.last_command..]
        ),
        // The sleep goes to the background so that `wait` returns at once when the trap fires.
        ShellFix::Trap => format!("trap 'exit 0' TERM\n{}", background_sleeps(&p.script)),
        ShellFix::Restructure => return (field.to_string(), None),
    };
    let Some(slot) = list.get_mut(at) else {
        return (field.to_string(), None);
    };
    *slot = new_script;
    let body = format!(
        "{field}:\n{}",
        list.iter()
            .map(|a| format!("- {}", yaml_scalar(a)))
            .collect::<Vec<_>>()
            .join("\n")
    );
    (field.to_string(), Some(ContainerFix::body(body)))
}

/// `sleep 10` → `sleep 10 & wait $!` (a shell runs a trap only after a foreground command ends).
fn background_sleeps(script: &str) -> String {
    let mut out = String::new();
    let mut rest = script;
    while let Some(at) = rest.find("sleep ") {
        let (before, from) = rest.split_at(at);
        out.push_str(before);
        let end = from[6..]
            .find([';', '\n', '&', '|'])
            .map_or(from.len(), |e| e + 6);
        let cmd = from[..end].trim_end();
        out.push_str(cmd);
        out.push_str(" & wait $!");
        rest = &from[cmd.len()..];
    }
    out.push_str(rest);
    out
}

pub(super) fn check_prestop_kills(w: &Workload, cx: &Context) -> Vec<Hit> {
    let items = containers(w)
        .iter()
        .filter_map(|c| {
            let p = prestop(c)?;
            let kills = p.words.iter().any(|w| {
                matches!(
                    base(w),
                    "kill" | "pkill" | "killall" | "SIGTERM" | "-TERM" | "-15"
                )
            });
            kills.then(|| PerContainer {
                container: c.name.clone(),
                message: "preStop sends a signal itself (kill/pkill): a sign that SIGTERM does not reach the app (shell PID 1?); the kubelet sends SIGTERM right after the hook anyway".into(),
                field: "lifecycle.preStop.exec".into(),
                fix: Some(ContainerFix::body(format!(
                    "# run the app so it is PID 1 (exec form, or `exec` in the shell), then pause only:\n{}",
                    pause_body(cx, c, PAUSE)
                )).with_pod(grace_for_pause(w, PAUSE))),
            })
        })
        .collect();
    fold(w, items)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sleeps_go_to_the_background() {
        assert_eq!(
            background_sleeps("while true; do date; sleep 10; done"),
            "while true; do date; sleep 10 & wait $!; done"
        );
        assert_eq!(
            background_sleeps("while :\ndo\n  sleep 3600\ndone"),
            "while :\ndo\n  sleep 3600 & wait $!\ndone"
        );
    }
}
