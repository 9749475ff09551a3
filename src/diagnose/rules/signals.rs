//! Signals: shells that keep SIGTERM from the app, preStop hooks that send signals themselves.

use super::helpers::*;
use super::Hit;
use crate::diagnose::model::Workload;

pub use crate::podspec::shell_swallows;

pub(super) fn check_shell_swallows(w: &Workload) -> Vec<Hit> {
    containers(w)
        .iter()
        .filter_map(|c| {
            let av = argv(c);
            let script = shell_swallows(&av)?;
            let shell = av.first().map(|s| base(s).to_string()).unwrap_or_default();
            let field = if c.args.is_some() && shell_script(c.command.as_deref().unwrap_or(&[])).is_none() {
                container_field(w, &c.name, "args")
            } else {
                container_field(w, &c.name, "command")
            };
            let fixed = format!("exec {}", script.trim());
            Some(hit(
                Some(&c.name),
                field,
                format!(
                    "runs the app under `{shell} -c` without exec ({:?}): {shell} is PID 1 and does not forward SIGTERM, so the app is SIGKILLed when the grace period ends",
                    short(&script, 60)
                ),
                Some(container_fix(
                    w,
                    &c.name,
                    &format!(
                        "command: [\"{shell}\", \"-c\"]\nargs:\n- {}   # or exec form: command: [\"prog\", \"arg\"]",
                        yaml_scalar(&fixed)
                    ),
                )),
            ))
        })
        .collect()
}

pub(super) fn check_prestop_kills(w: &Workload) -> Vec<Hit> {
    containers(w)
        .iter()
        .filter_map(|c| {
            let p = prestop(c)?;
            let kills = p
                .words
                .iter()
                .any(|w| matches!(base(w), "kill" | "pkill" | "killall" | "SIGTERM" | "-TERM" | "-15"));
            kills.then(|| {
                hit(
                    Some(&c.name),
                    container_field(w, &c.name, "lifecycle.preStop.exec"),
                    "preStop sends a signal itself (kill/pkill): a sign that SIGTERM does not reach the app (shell PID 1?); the kubelet sends SIGTERM right after the hook anyway".into(),
                    Some(container_fix(
                        w,
                        &c.name,
                        &format!(
                            "# run the app so it is PID 1 (exec form, or `exec` in the shell), then pause only:\n{}",
                            pause_fix(w, PAUSE)
                        ),
                    )),
                )
            })
        })
        .collect()
}
