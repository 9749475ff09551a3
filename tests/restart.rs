//! `kubectl graceful restart`, tested through the built binary.

use std::time::Duration;

use assert_cmd::Command;
use predicates::prelude::*;

fn bin() -> Command {
    let mut c = Command::cargo_bin("kubectl-graceful").unwrap();
    c.env_remove("KUBECONFIG")
        .env("HOME", "/nonexistent-home")
        .env_remove("KUBERNETES_SERVICE_HOST")
        .env("NO_COLOR", "1")
        .timeout(Duration::from_secs(120));
    c
}

#[test]
fn usage_errors_exit_2_before_touching_a_cluster() {
    for (args, needle) in [
        (vec!["restart"], "nothing to restart"),
        (vec!["restart", "deploy/a", "-l", "app=a"], "either TARGETs"),
        (vec!["restart", "deploy/a", "--all"], "either TARGETs"),
        (vec!["restart", "deploy/a", "--pods"], "--pods"),
        (vec!["restart", "deploy/a", "--parallel", "0"], "--parallel"),
        (vec!["restart", "deploy/a", "-o", "yaml"], "-o json"),
        (
            vec!["restart", "deploy/a", "--timeout", "soon"],
            "--timeout",
        ),
        (
            vec!["restart", "deploy/a", "--stable-for", "x"],
            "--stable-for",
        ),
        (vec!["restart", "job/a"], "not supported"),
        (vec!["restart", "web"], "deploy/web"),
        (vec!["restart", "-l", "a=(b"], "invalid label selector"),
    ] {
        let out = bin().args(&args).assert().code(2);
        let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(err.starts_with("error: "), "{args:?}: {err}");
    }
}

#[test]
fn no_kubeconfig_is_an_environment_error() {
    bin()
        .args(["restart", "deploy/a"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no kubeconfig found"));
}
