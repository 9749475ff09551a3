//! What the restart tests share beyond `support`: running `restart` against a kubesim, in the
//! foreground or in the background, and reading its JSON event stream.

use std::path::Path;

pub use crate::support::sim::*;
pub use crate::support::{finish, graceful, is_ready, restarted_at, signal, Output, LIMIT};
use kubesim::Sim;
use serde_json::Value;

/// `kubectl graceful restart ARGS… --kubeconfig SIM`, asserted on by the caller.
pub fn run(sim: &Sim, args: &[&str]) -> assert_cmd::assert::Assert {
    graceful()
        .arg("restart")
        .args(args)
        .arg("--kubeconfig")
        .arg(sim.kubeconfig_path())
        .assert()
}

/// The JSON lines of `-o json`, one event each.
pub fn events(stdout: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

/// The `TargetFailed` event of `restart ARGS… -o json`, which must exit 1.
pub fn target_failed(sim: &Sim, args: &[&str]) -> Value {
    let out = run(sim, args).code(1);
    events(&out.get_output().stdout)
        .into_iter()
        .find(|e| e["type"] == "TargetFailed")
        .unwrap_or_else(|| panic!("no TargetFailed event: {out}"))
}

/// `restart ARGS…` started in the background; [`finish`] collects it.
pub fn spawn(sim: &Sim, args: &[&str]) -> std::process::Child {
    spawn_saving_to(sim, args, &crate::support::state_dir())
}

/// The same, saving manifests of bare pods under `state` (XDG_STATE_HOME).
pub fn spawn_saving_to(sim: &Sim, args: &[&str], state: &Path) -> std::process::Child {
    let mut c = crate::support::graceful_process();
    c.arg("restart")
        .args(args)
        .arg("--kubeconfig")
        .arg(sim.kubeconfig_path())
        .env("XDG_STATE_HOME", state);
    crate::support::spawn(c)
}

/// [`spawn`], returning once the restart's PATCH reached the simulator.
pub fn spawn_until_patched(sim: &Sim, args: &[&str]) -> std::process::Child {
    let child = spawn(sim, args);
    wait_for_request(sim, |r| r.method == "PATCH");
    child
}

/// Wait for a run started by [`spawn`] (killed after [`LIMIT`]).
pub fn done(child: std::process::Child) -> Output {
    finish(child, LIMIT)
}
