//! SIGINT and SIGTERM end every subcommand with its documented code (130, 143), also while the API server
//! hangs. (`restart` has its own signal tests in `restart::faults`.)

use std::time::Duration;

use crate::support::sim::start;
use crate::support::{finish, graceful_process, signal, spawn, LIMIT};

fn spawn_cmd(sim: &kubesim::Sim, args: &[&str]) -> std::process::Child {
    let mut c = graceful_process();
    c.args(args).arg("--kubeconfig").arg(sim.kubeconfig_path());
    spawn(c)
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
        let out = finish(child, LIMIT);
        assert_eq!(out.code, code, "{args:?} {sig}: {out}");
        assert!(out.stderr.contains(says), "{args:?}: {out}");
    }
    sim.faults().hang(false);
}
