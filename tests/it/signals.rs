//! SIGINT and SIGTERM end every subcommand with its documented code (130, 143), also while the API server
//! hangs. (`restart` has its own signal tests in restart_faults.rs.)



use std::time::Duration;

use crate::restart::common::{finish, signal, start};

fn spawn_cmd(sim: &kubesim::Sim, args: &[&str]) -> std::process::Child {
    std::process::Command::new(env!("CARGO_BIN_EXE_kubectl-graceful"))
        .args(args)
        .arg("--kubeconfig")
        .arg(sim.kubeconfig_path())
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("binary runs")
}

#[test]
fn explain_and_diagnose_exit_143_on_sigterm_and_130_on_sigint() {
    let sim = start(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: default}\nspec: {containers: [{name: app, image: x}]}\n",
        10.0,
        None,
    );
    sim.faults().hang(true);
    for (args, sig, code, says) in [
        (&["explain", "p"][..], "TERM", 143, "terminated (SIGTERM)"),
        (&["diagnose"][..], "TERM", 143, "terminated (SIGTERM)"),
        (&["explain", "p"][..], "INT", 130, "interrupted"),
    ] {
        let child = spawn_cmd(&sim, args);
        std::thread::sleep(Duration::from_millis(600));
        signal(&child, sig);
        let (status, _, stderr) = finish(child);
        assert_eq!(status, Some(code), "{args:?} {sig}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
    sim.faults().hang(false);
}
