//! The foundation, tested through the built binary: help and version, kubectl plugin discovery, connection
//! flags and kubeconfig handling, error messages and exit codes. A tiny fake API server on 127.0.0.1
//! records which server, namespace and credentials a request actually used.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::support::fake_api::{FakeApi, Fallback};
use assert_cmd::Command;
use predicates::prelude::*;

fn bin() -> Command {
    crate::support::graceful()
}

/// A kubeconfig with two contexts on two servers and two namespaces: `alpha` (current, namespace `shop`,
/// token `alpha-token`) and `beta` (namespace `data`, token `beta-token`).
fn two_context_kubeconfig(dir: &Path, alpha: &str, beta: &str) -> PathBuf {
    let path = dir.join("config");
    std::fs::write(
        &path,
        format!(
            r#"apiVersion: v1
kind: Config
current-context: alpha
clusters:
- name: alpha-cluster
  cluster: {{server: "{alpha}"}}
- name: beta-cluster
  cluster: {{server: "{beta}"}}
users:
- name: alpha-user
  user: {{token: alpha-token}}
- name: beta-user
  user: {{token: beta-token}}
contexts:
- name: alpha
  context: {{cluster: alpha-cluster, user: alpha-user, namespace: shop}}
- name: beta
  context: {{cluster: beta-cluster, user: beta-user, namespace: data}}
- name: nons
  context: {{cluster: alpha-cluster, user: alpha-user}}
"#
        ),
    )
    .unwrap();
    path
}

fn not_found() -> FakeApi {
    FakeApi::answering(Fallback::Status(
        404,
        "NotFound",
        r#"pods \"web-1\" not found"#,
    ))
}

/// Runs `explain web-1` with extra args; returns the request paths the fake servers saw.
fn explain_web1(kubeconfig: &Path, args: &[&str]) -> assert_cmd::assert::Assert {
    bin()
        .args(["explain", "web-1", "--kubeconfig"])
        .arg(kubeconfig)
        .args(args)
        .assert()
}

#[test]
fn help_shows_plugin_usage_examples_and_exit_codes() {
    let out = bin().arg("--help").assert().success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(text.contains("Usage: kubectl graceful"), "{text}");
    for needle in [
        "kubectl graceful explain",
        "kubectl graceful diagnose",
        "kubectl graceful restart",
        "Exit codes:",
        "130",
        "--kubeconfig",
        "--as-group",
        "--request-timeout",
    ] {
        assert!(text.contains(needle), "--help lacks {needle:?}:\n{text}");
    }
    for sub in ["explain", "diagnose", "restart"] {
        bin()
            .args([sub, "--help"])
            .assert()
            .success()
            .stdout(predicate::str::contains(format!("kubectl graceful {sub}")))
            .stdout(predicate::str::contains("Examples:"))
            .stdout(predicate::str::contains("-o, --output"));
    }
}

#[test]
fn version_prints_the_crate_version() {
    bin()
        .arg("--version")
        .assert()
        .success()
        .stdout(predicate::str::contains(env!("CARGO_PKG_VERSION")));
}

#[test]
fn usage_errors_exit_2() {
    bin().assert().code(2); // no subcommand: help on stderr
    bin().arg("frobnicate").assert().code(2);
    bin().args(["explain", "--output", "xml"]).assert().code(2);
    bin()
        .args(["explain", "x", "--request-timeout", "soon"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--request-timeout"));
    bin()
        .args(["explain", "x", "-n", "Bad_NS"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--namespace"));
}

#[test]
fn kubeconfig_problems_are_one_clear_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    // No kubeconfig anywhere.
    bin()
        .args(["explain", "web-1"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "no kubeconfig found: set KUBECONFIG or pass --kubeconfig",
        ));
    // --kubeconfig names a missing file.
    bin()
        .args(["explain", "web-1", "--kubeconfig", "/nonexistent/kc"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("/nonexistent/kc"))
        .stderr(predicate::str::contains("no such file"));
    // Malformed YAML.
    let bad = dir.path().join("bad");
    std::fs::write(&bad, "clusters: [ {name: x\n  - : :\n").unwrap();
    let out = bin()
        .args(["explain", "web-1", "--kubeconfig"])
        .arg(&bad)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot read kubeconfig"));
    assert!(
        String::from_utf8_lossy(&out.get_output().stderr)
            .lines()
            .count()
            <= 2
    );
    // Unknown context names the ones that exist.
    let kc = two_context_kubeconfig(dir.path(), "http://127.0.0.1:1", "http://127.0.0.1:1");
    explain_web1(&kc, &["--context", "gamma"])
        .code(2)
        .stderr(predicate::str::contains("context \"gamma\" not found"))
        .stderr(predicate::str::contains("alpha, beta"));
    explain_web1(&kc, &["--cluster", "nope"])
        .code(2)
        .stderr(predicate::str::contains("cluster \"nope\" not found"));
    // --as-group without --as.
    explain_web1(&kc, &["--as-group", "devs"])
        .code(2)
        .stderr(predicate::str::contains("--as-group needs --as"));
}

#[test]
fn unreachable_server_says_so_and_exits_2() {
    // A port nobody listens on: bind, read the port, close.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("http://127.0.0.1:{port}");
    let kc = two_context_kubeconfig(dir.path(), &url, &url);
    let out = explain_web1(&kc, &[])
        .code(2)
        .stderr(predicate::str::contains(format!("cannot reach {url}")))
        .stderr(predicate::str::contains("connection refused"))
        .stderr(predicate::str::contains("is the context right?"));
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn current_context_namespace_and_server_are_used() {
    let (a, b) = (not_found(), not_found());
    let dir = tempfile::tempdir().unwrap();
    let kc = two_context_kubeconfig(dir.path(), &a.url(), &b.url());
    explain_web1(&kc, &[])
        .code(2)
        .stderr(predicate::str::contains(
            "pod web-1 not found in namespace shop (context alpha)",
        ));
    let seen = a.seen();
    assert!(
        seen.iter().any(
            |s| s.method == "GET" && s.target.starts_with("/api/v1/namespaces/shop/pods/web-1")
        ),
        "{seen:?}"
    );
    assert_eq!(seen[0].header("authorization"), Some("Bearer alpha-token"));
    assert_eq!(
        seen[0].header("user-agent"),
        Some(concat!("kubectl-graceful/v", env!("CARGO_PKG_VERSION")))
    );
    assert!(b.seen().is_empty());
}

#[test]
fn context_flag_switches_server_namespace_and_user() {
    let (a, b) = (not_found(), not_found());
    let dir = tempfile::tempdir().unwrap();
    let kc = two_context_kubeconfig(dir.path(), &a.url(), &b.url());
    explain_web1(&kc, &["--context", "beta"])
        .code(2)
        .stderr(predicate::str::contains("namespace data (context beta)"));
    assert!(a.seen().is_empty());
    // explain lists the pod's events alongside its GET: find the GET among the requests.
    let seen = b.seen();
    let get = seen
        .iter()
        .find(|s| s.target.starts_with("/api/v1/namespaces/data/pods/web-1"))
        .unwrap_or_else(|| panic!("{seen:?}"));
    assert_eq!(get.header("authorization"), Some("Bearer beta-token"));

    // -n beats the context's namespace; --user switches credentials; a context without namespace → default.
    explain_web1(
        &kc,
        &["--context", "beta", "-n", "other", "--user", "alpha-user"],
    )
    .code(2);
    let seen = b.seen();
    let get = seen
        .iter()
        .rfind(|s| s.target.starts_with("/api/v1/namespaces/other/pods/web-1"))
        .unwrap_or_else(|| panic!("{seen:?}"));
    assert_eq!(get.header("authorization"), Some("Bearer alpha-token"));

    explain_web1(&kc, &["--context", "nons"])
        .code(2)
        .stderr(predicate::str::contains("namespace default (context nons)"));
    // --cluster points the current context at another server.
    let before = b.seen().len();
    explain_web1(&kc, &["--cluster", "beta-cluster"]).code(2);
    let new = &b.seen()[before..];
    assert!(
        !new.is_empty() && new.iter().all(|s| s.target.contains("/namespaces/shop/")),
        "{new:?}"
    );
}

#[test]
fn kubeconfig_env_merges_files_first_wins() {
    let (a, b) = (not_found(), not_found());
    let d1 = tempfile::tempdir().unwrap();
    let d2 = tempfile::tempdir().unwrap();
    // File 1 has only the beta context (as current); file 2 has both, with alpha as current.
    let f2 = two_context_kubeconfig(d2.path(), &a.url(), &b.url());
    let f1 = d1.path().join("first");
    std::fs::write(
        &f1,
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: beta\nclusters:\n- name: beta-cluster\n  cluster: {{server: \"{}\"}}\nusers:\n- name: beta-user\n  user: {{token: first-file-token}}\ncontexts:\n- name: beta\n  context: {{cluster: beta-cluster, user: beta-user, namespace: merged}}\n",
            b.url()
        ),
    )
    .unwrap();
    let missing = d1.path().join("does-not-exist");
    let joined = std::env::join_paths([&missing, &f1, &f2]).unwrap();
    bin()
        .env("KUBECONFIG", &joined)
        .args(["explain", "web-1"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("namespace merged (context beta)"));
    let seen = b.seen();
    assert_eq!(
        seen[0].header("authorization"),
        Some("Bearer first-file-token")
    );
    // The second file's contexts are still there.
    bin()
        .env("KUBECONFIG", &joined)
        .args(["explain", "web-1", "--context", "alpha"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("namespace shop (context alpha)"));
    // --kubeconfig means exactly that file, KUBECONFIG ignored.
    bin()
        .env("KUBECONFIG", &joined)
        .args(["explain", "web-1", "--kubeconfig"])
        .arg(&f2)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("(context alpha)"));
}

#[test]
fn impersonation_headers_are_sent() {
    let a = not_found();
    let dir = tempfile::tempdir().unwrap();
    let kc = two_context_kubeconfig(dir.path(), &a.url(), &a.url());
    explain_web1(
        &kc,
        &["--as", "alice", "--as-group", "devs", "--as-group", "ops"],
    )
    .code(2);
    let s = &a.seen()[0];
    assert_eq!(s.header("impersonate-user"), Some("alice"));
    let groups: Vec<&str> = s
        .headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("impersonate-group"))
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(groups, ["devs", "ops"]);
}

#[test]
fn exec_credential_plugin_supplies_the_token() {
    let a = not_found();
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("cred.sh");
    std::fs::write(
        &script,
        "#!/bin/sh\necho '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",\"status\":{\"token\":\"from-exec\"}}'\n",
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let kc = dir.path().join("config");
    std::fs::write(
        &kc,
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: c\nclusters:\n- name: c\n  cluster: {{server: \"{}\"}}\nusers:\n- name: u\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: {}\n      interactiveMode: Never\ncontexts:\n- name: c\n  context: {{cluster: c, user: u}}\n",
            a.url(),
            script.display()
        ),
    )
    .unwrap();
    explain_web1(&kc, &[]).code(2);
    assert_eq!(
        a.seen()[0].header("authorization"),
        Some("Bearer from-exec")
    );
}

#[test]
fn api_errors_are_mapped_to_actionable_messages() {
    let dir = tempfile::tempdir().unwrap();
    let forbidden = FakeApi::answering(Fallback::Status(
        403,
        "Forbidden",
        r#"pods \"web-1\" is forbidden: User \"alice\" cannot get resource \"pods\" in API group \"\" in the namespace \"shop\""#,
    ));
    let kc = two_context_kubeconfig(dir.path(), &forbidden.url(), &forbidden.url());
    explain_web1(&kc, &[])
        .code(2)
        .stderr(predicate::str::contains("forbidden:"))
        .stderr(predicate::str::contains(
            "forbidden: user alice cannot get pods in namespace shop",
        ));

    let unauthorized = FakeApi::answering(Fallback::Status(401, "Unauthorized", "Unauthorized"));
    let kc = two_context_kubeconfig(dir.path(), &unauthorized.url(), &unauthorized.url());
    explain_web1(&kc, &[])
        .code(2)
        .stderr(predicate::str::contains("unauthorized"))
        .stderr(predicate::str::contains("context alpha"));
}

#[test]
fn request_timeout_limits_a_hanging_server() {
    let hang = FakeApi::answering(Fallback::Hang);
    let dir = tempfile::tempdir().unwrap();
    let kc = two_context_kubeconfig(dir.path(), &hang.url(), &hang.url());
    let start = std::time::Instant::now();
    explain_web1(&kc, &["--request-timeout", "1s"])
        .code(2)
        .stderr(predicate::str::contains("timed out after 1s"));
    assert!(start.elapsed() < Duration::from_secs(20));
}

#[test]
fn ctrl_c_exits_130() {
    let hang = FakeApi::answering(Fallback::Hang);
    let dir = tempfile::tempdir().unwrap();
    let kc = two_context_kubeconfig(dir.path(), &hang.url(), &hang.url());
    let mut cmd = crate::support::graceful_process();
    cmd.args(["explain", "web-1", "--kubeconfig"]).arg(&kc);
    let child = crate::support::spawn(cmd);
    // Wait until the request is in flight, then interrupt.
    let start = std::time::Instant::now();
    while hang.seen().is_empty() && start.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(20));
    }
    crate::support::signal(&child, "INT");
    let out = crate::support::finish(child, crate::support::LIMIT);
    assert_eq!(out.code, 130, "{out}");
    assert!(out.stderr.contains("interrupted"), "{out}");
}

/// `kubectl graceful …` through the real kubectl, with the binary on PATH.
#[test]
fn real_kubectl_finds_and_runs_the_plugin() {
    let Some(kubectl) = kubesim::tools::kubectl("running the plugin through kubectl") else {
        return;
    };
    let kubectl = kubectl.as_path();
    let dir = tempfile::tempdir().unwrap();
    let plugin = dir.path().join("kubectl-graceful");
    std::fs::copy(crate::support::GRACEFUL, &plugin).unwrap();
    let path = format!("{}:/usr/bin:/bin", dir.path().display());
    let kubectl_with_the_plugin = |args: &[&str]| {
        let mut c = crate::support::isolated(kubectl, Path::new(crate::support::NO_HOME));
        c.args(args).env("PATH", &path);
        crate::support::run(c, crate::support::LIMIT)
    };
    let out = kubectl_with_the_plugin(&["graceful", "--help"]);
    assert_eq!(out.code, 0, "{out}");
    assert!(out.stdout.contains("Usage: kubectl graceful"), "{out}");

    let out = kubectl_with_the_plugin(&["plugin", "list"]);
    assert!(out.stdout.contains(plugin.to_str().unwrap()), "{out}");
    assert!(!out.stderr.to_lowercase().contains("warning"), "{out}");

    // Exit codes pass through kubectl unchanged.
    let out = kubectl_with_the_plugin(&[
        "graceful",
        "explain",
        "web-1",
        "--kubeconfig",
        "/nonexistent",
    ]);
    assert_eq!(out.code, 2, "{out}");
}

/// The binary on a pseudo-terminal with TERM=`term` and no NO_COLOR: what it printed.
fn on_a_terminal(term: &str, args: &[&str]) -> Option<String> {
    let (bytes, _) = crate::support::on_terminal(args, term, None, false)?;
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

#[test]
fn term_dumb_means_no_colour() {
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/explain/app-error.yaml"
    );
    let Some(colour) = on_a_terminal("xterm-256color", &["explain", "-f", fixture]) else {
        return;
    };
    assert!(
        colour.contains("\x1b["),
        "a terminal gets colour: {colour:?}"
    );
    let dumb = on_a_terminal("dumb", &["explain", "-f", fixture]).unwrap();
    assert!(!dumb.contains('\x1b'), "TERM=dumb: {dumb:?}");
    assert!(dumb.contains("app-error"), "{dumb}");
    let flag = on_a_terminal("xterm", &["explain", "-f", fixture, "--no-color"]).unwrap();
    assert!(!flag.contains('\x1b'), "--no-color: {flag:?}");
}

#[test]
fn request_timeout_is_reported_as_given() {
    let hang = FakeApi::answering(Fallback::Hang);
    let dir = tempfile::tempdir().unwrap();
    let kc = two_context_kubeconfig(dir.path(), &hang.url(), &hang.url());
    for (given, shown) in [("1ms", "1ms"), ("250ms", "250ms"), ("1.5s", "1.5s")] {
        explain_web1(&kc, &["--request-timeout", given])
            .code(2)
            .stderr(format!(
                "error: get pod web-1: timed out after {shown} (--request-timeout)\n"
            ));
    }
}

#[test]
fn completion_help_examples_are_printed_as_written() {
    // However narrow the terminal, no example line is re-wrapped: a wrapped comment would lose its `#`
    // and a wrapped command would not run.
    for columns in ["40", "80", "200"] {
        let out = bin()
            .args(["completion", "--help"])
            .env("COLUMNS", columns)
            .assert()
            .success();
        let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
        assert!(
            text.contains(concat!(
                "  # `kubectl graceful <TAB>` in kubectl's own completion (kubectl >= 1.26, any shell): kubectl runs an\n",
                "  # executable `kubectl_complete-graceful` from PATH. `cargo install` and the release archives ship it;\n",
                "  # with krew, install the helper script into a directory on PATH:\n",
                "  kubectl graceful completion kubectl > ~/.local/bin/kubectl_complete-graceful\n",
            )),
            "COLUMNS={columns}:\n{text}"
        );
    }
}

#[test]
fn kubectl_verbosity_flags_are_accepted() {
    // -v=6 / --v=6 / -v 6 are kubectl's spellings; a level is required, as in kubectl.
    for args in [&["-v=6"][..], &["--v=6"], &["-v", "6"], &["--v", "0"]] {
        bin()
            .args(["explain", "web-1", "--kubeconfig", "/nonexistent/kc"])
            .args(args)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(
                "cannot read kubeconfig /nonexistent/kc",
            ));
    }
    bin()
        .args(["explain", "web-1", "-v=many"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "invalid value 'many' for '--v <LEVEL>'",
        ));
}
