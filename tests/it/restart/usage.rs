//! restart's usage errors and a missing kubeconfig: exit 2 before any cluster is touched.

use super::common::*;
use predicates::prelude::*;

#[test]
fn usage_errors_exit_2_before_touching_a_cluster() {
    for (args, needle) in [
        (vec!["restart"], "nothing to restart"),
        (vec!["restart", "deploy/a", "-l", "app=a"], "either TARGETs"),
        (vec!["restart", "deploy/a", "--all"], "either TARGETs"),
        (vec!["restart", "deploy/a", "--pods"], "--pods"),
        (vec!["restart", "deploy/a", "--parallel", "0"], "--parallel"),
        (
            vec!["restart", "deploy/a", "-o", "yaml"],
            "[possible values: table, json]",
        ),
        (vec!["restart", "-A", "deploy/a"], "NAMESPACE/KIND/NAME"),
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
        let out = graceful().args(&args).assert().code(2);
        let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(err.starts_with("error: "), "{args:?}: {err}");
    }
}

#[test]
fn no_kubeconfig_is_an_environment_error() {
    graceful()
        .args(["restart", "deploy/a"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no kubeconfig found"));
}
