//! How the binary reaches the API server, against kubesim: one HTTP/2 connection per process for every
//! request (watches included), HTTP/1.1 when the server has no h2, proxies with Go's rules (checked at a
//! real forwarding proxy on 127.0.0.1), kubectl's connection flags, exec credential plugins, and the
//! `-v=6` request log.
//!
//! The server is addressed as `0.0.0.0` where a test needs a host that is not loopback for the proxy
//! rules (Go never proxies localhost or 127.0.0.0/8): Linux connects 0.0.0.0 to the local host, so every
//! connection still stays on this machine.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::support::proxy::{Proxy, ProxyOptions};
use crate::support::sim::port;
use crate::support::table::{check, row};
use assert_cmd::Command;
use kubesim::scenarios::{self, CrashLoop};
use kubesim::{Sim, SimOptions};

fn sim() -> Sim {
    Sim::start(SimOptions {
        time_scale: 20.0,
        scenario_yaml: vec![
            CrashLoop {
                previous_logs: Some("panic: assignment to entry in nil map\n".into()),
                ..Default::default()
            }
            .yaml(),
            scenarios::web_deployment("default", 1, "shop/web:1"),
        ],
        ..Default::default()
    })
    .expect("kubesim")
}

/// The binary in a clean environment (no kubeconfig, no proxy variables, no colour).
fn bin() -> Command {
    crate::support::graceful()
}

/// `explain api-0` (crash-looping: exit 1 when it is reached) with the kubeconfig `kc` and `env`.
fn explain_api0(kc: &Path, env: &[(&str, &str)]) -> assert_cmd::assert::Assert {
    let mut c = bin();
    c.args(["explain", "api-0", "--kubeconfig"]).arg(kc);
    for (k, v) in env {
        c.env(k, v);
    }
    c.assert()
}

/// The sim's kubeconfig addressing the server as 0.0.0.0 (not loopback, so the proxy rules apply;
/// the certificate still checked for `localhost`), and the server's port.
fn via_non_loopback(sim: &Sim, dir: &Path) -> (PathBuf, u16) {
    let p = port(sim);
    let kc = kubeconfig(
        sim,
        dir,
        &format!("https://0.0.0.0:{p}"),
        &["tls-server-name: localhost"],
    );
    (kc, p)
}

/// The sim's admin kubeconfig with the server and cluster/user lines changed.
fn kubeconfig(sim: &Sim, dir: &Path, server: &str, cluster_extra: &[&str]) -> PathBuf {
    let text = std::fs::read_to_string(sim.kubeconfig_path()).unwrap();
    let mut lines = format!("    server: {server}");
    for l in cluster_extra {
        lines.push_str(&format!("\n    {l}"));
    }
    let text = text.replace(
        &format!("    server: https://127.0.0.1:{}", port(sim)),
        &lines,
    );
    let path = dir.join(format!("kc-{}", fastrand_name()));
    std::fs::write(&path, text).unwrap();
    path
}

fn fastrand_name() -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    N.fetch_add(1, Ordering::Relaxed).to_string()
}

/// The sim's admin token.
fn admin_token(sim: &Sim) -> String {
    let text = std::fs::read_to_string(sim.kubeconfig_path()).unwrap();
    text.lines()
        .find_map(|l| l.trim().strip_prefix("token: "))
        .unwrap()
        .to_string()
}

fn stderr(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&a.get_output().stderr).into_owned()
}

fn stdout(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&a.get_output().stdout).into_owned()
}

/// Runs the binary and returns the ALPN of every connection it opened to the sim.
fn connections_of(sim: &Sim, cmd: &mut Command) -> (assert_cmd::assert::Assert, Vec<String>) {
    let before = sim.connections().len();
    let a = cmd.assert();
    (a, sim.connections()[before..].to_vec())
}

#[test]
fn every_request_of_a_process_shares_one_http2_connection() {
    let sim = sim();
    let kc = sim.kubeconfig_path();
    // diagnose lists ten kinds at once; explain reads the pod, then its events and the previous log at
    // once; explain -A lists, then reads every unhealthy pod's details.
    for args in [
        &["diagnose"][..],
        &["explain", "api-0"],
        &["explain", "-A"],
        &["diagnose", "-A", "-o", "json"],
    ] {
        sim.clear_requests();
        let (a, conns) = connections_of(&sim, bin().args(args).arg("--kubeconfig").arg(kc));
        let code = a.get_output().status.code();
        assert!(
            matches!(code, Some(0) | Some(1)),
            "{args:?}: {}",
            stderr(&a)
        );
        let requests = sim.requests().len();
        assert!(requests >= 3, "{args:?} made {requests} requests");
        assert_eq!(conns, ["h2"], "{args:?}: {requests} requests");
    }
}

#[test]
fn a_restart_with_its_watches_uses_one_connection() {
    let sim = sim();
    assert!(sim.wait_until(Duration::from_secs(30), |s| s
        .get("apps/v1", "Deployment", Some("default"), "web")
        .is_some_and(|d| d["status"]["readyReplicas"] == 1)));
    sim.clear_requests();
    let (a, conns) = connections_of(
        &sim,
        bin()
            .args(["restart", "deploy/web", "--timeout", "60s", "--kubeconfig"])
            .arg(sim.kubeconfig_path()),
    );
    assert_eq!(a.get_output().status.code(), Some(0), "{}", stderr(&a));
    let watches = sim.requests().iter().filter(|r| r.watch).count();
    assert!(watches >= 1, "the restart waited with watches");
    assert_eq!(conns, ["h2"]);
}

#[test]
fn without_h2_on_the_server_http1_is_used() {
    let sim = sim();
    sim.set_alpn(&["http/1.1"]);
    let (a, conns) = connections_of(
        &sim,
        bin()
            .args(["diagnose", "--kubeconfig"])
            .arg(sim.kubeconfig_path()),
    );
    assert!(
        matches!(a.get_output().status.code(), Some(0) | Some(1)),
        "{}",
        stderr(&a)
    );
    assert!(
        !conns.is_empty() && conns.iter().all(|c| c == "http/1.1"),
        "{conns:?}"
    );
    let (a, conns) = connections_of(
        &sim,
        bin()
            .args(["explain", "api-0", "--kubeconfig"])
            .arg(sim.kubeconfig_path()),
    );
    assert_eq!(a.get_output().status.code(), Some(1), "{}", stderr(&a));
    assert!(stdout(&a).contains("panic: assignment to entry in nil map"));
    assert!(conns.iter().all(|c| c == "http/1.1"), "{conns:?}");
}

#[test]
fn https_proxy_tunnels_every_request_through_one_connection() {
    let sim = sim();
    let dir = tempfile::tempdir().unwrap();
    let (kc, p) = via_non_loopback(&sim, dir.path());
    for var in ["HTTPS_PROXY", "https_proxy"] {
        let proxy = Proxy::start(ProxyOptions::default());
        let (a, conns) = connections_of(
            &sim,
            bin()
                .env(var, proxy.url())
                .args(["diagnose", "--kubeconfig"])
                .arg(&kc),
        );
        assert!(
            matches!(a.get_output().status.code(), Some(0) | Some(1)),
            "{}",
            stderr(&a)
        );
        let seen = proxy.seen();
        assert_eq!(seen.len(), 1, "{var}: {seen:?}");
        assert_eq!(
            (seen[0].method.as_str(), seen[0].target.clone()),
            ("CONNECT", format!("0.0.0.0:{p}"))
        );
        assert_eq!(proxy.connections(), 1);
        assert_eq!(conns, ["h2"], "{var}: HTTP/2 inside the tunnel");
    }
    // Upper case wins over lower case (a dead lower-case proxy is not used).
    let proxy = Proxy::start(ProxyOptions::default());
    explain_api0(
        &kc,
        &[
            ("HTTPS_PROXY", &proxy.url()),
            ("https_proxy", "http://127.0.0.1:1"),
        ],
    )
    .code(1);
    assert_eq!(proxy.seen().len(), 1);
    // HTTP_PROXY is not for https servers.
    let proxy = Proxy::start(ProxyOptions::default());
    explain_api0(&kc, &[("HTTP_PROXY", &proxy.url())]).code(1);
    assert!(proxy.seen().is_empty());
}

#[test]
fn no_proxy_and_loopback_connect_directly() {
    let sim = sim();
    let dir = tempfile::tempdir().unwrap();
    let (kc, p) = via_non_loopback(&sim, dir.path());
    for (var, value) in [
        ("NO_PROXY", "0.0.0.0".to_string()),
        ("NO_PROXY", "example.com, 0.0.0.0/8".to_string()),
        ("NO_PROXY", format!("0.0.0.0:{p}")),
        ("no_proxy", "0.0.0.0".to_string()),
        ("NO_PROXY", "*".to_string()),
    ] {
        let proxy = Proxy::start(ProxyOptions::default());
        let a = explain_api0(&kc, &[("HTTPS_PROXY", &proxy.url()), (var, &value)]);
        assert_eq!(
            a.get_output().status.code(),
            Some(1),
            "{var}={value}: {}",
            stderr(&a)
        );
        assert!(
            proxy.seen().is_empty() && proxy.connections() == 0,
            "{var}={value}"
        );
    }
    // NO_PROXY that does not cover the server: through the proxy.
    let proxy = Proxy::start(ProxyOptions::default());
    explain_api0(
        &kc,
        &[
            ("HTTPS_PROXY", &proxy.url()),
            (
                "NO_PROXY",
                &format!("0.0.0.0:{}, .example.com, 10.0.0.0/8", p + 1),
            ),
        ],
    )
    .code(1);
    assert_eq!(proxy.seen().len(), 1);
    // Loopback never goes through a proxy from the environment (the issue's case: a dead proxy).
    explain_api0(
        sim.kubeconfig_path(),
        &[
            ("HTTPS_PROXY", "http://127.0.0.1:9"),
            ("NO_PROXY", "127.0.0.1"),
        ],
    )
    .code(1);
    explain_api0(
        sim.kubeconfig_path(),
        &[("HTTPS_PROXY", "http://127.0.0.1:9")],
    )
    .code(1);
}

#[test]
fn kubeconfig_proxy_url_is_used_even_for_loopback() {
    let sim = sim();
    let dir = tempfile::tempdir().unwrap();
    let proxy = Proxy::start(ProxyOptions::default());
    let kc = kubeconfig(
        &sim,
        dir.path(),
        &sim.url(),
        &[&format!("proxy-url: {}", proxy.url())],
    );
    explain_api0(&kc, &[("NO_PROXY", "*")]).code(1);
    let seen = proxy.seen();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].target, format!("127.0.0.1:{}", port(&sim)));
}

#[test]
fn proxy_credentials_and_refusals() {
    let sim = sim();
    let dir = tempfile::tempdir().unwrap();
    let kc = kubeconfig(
        &sim,
        dir.path(),
        &format!("https://0.0.0.0:{}", port(&sim)),
        &["tls-server-name: localhost"],
    );
    // user "u", password "p@ss" (percent-encoded in the URL): Basic base64("u:p@ss").
    let proxy = Proxy::start(ProxyOptions {
        require_authorization: Some("Basic dTpwQHNz".into()),
        ..ProxyOptions::default()
    });
    explain_api0(
        &kc,
        &[(
            "HTTPS_PROXY",
            &format!("http://u:p%40ss@127.0.0.1:{}", proxy.port),
        )],
    )
    .code(1);
    assert_eq!(proxy.seen()[0].status, 200);
    let a = explain_api0(&kc, &[("HTTPS_PROXY", &proxy.url())]).code(2);
    let err = stderr(&a);
    assert!(
        err.starts_with(&format!(
            "error: cannot reach https://0.0.0.0:{} through the proxy {} (HTTPS_PROXY): the proxy refused the tunnel: 407 Proxy Authentication Required",
            port(&sim),
            proxy.url()
        )),
        "{err}"
    );
    assert!(err.contains("http://user:password@host:port"), "{err}");
    // A dead proxy is named as the problem, not the server.
    let a = explain_api0(&kc, &[("HTTPS_PROXY", "http://127.0.0.1:1")]).code(2);
    assert!(
        stderr(&a)
            .contains("through the proxy http://127.0.0.1:1 (HTTPS_PROXY): connection refused"),
        "{}",
        stderr(&a)
    );
}

/// A plain-http API server that answers 404 to everything (for the forward-proxy case).
fn plain_http_server() -> u16 {
    use std::io::{BufRead, BufReader, Write};
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            std::thread::spawn(move || {
                let mut r = BufReader::new(s.try_clone().unwrap());
                let mut s = s;
                loop {
                    let mut line = String::new();
                    loop {
                        line.clear();
                        if r.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        if line.trim_end().is_empty() {
                            break;
                        }
                    }
                    let body = r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"pods \"web-1\" not found","reason":"NotFound","code":404}"#;
                    let _ = write!(
                        s,
                        "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                        body.len()
                    );
                }
            });
        }
    });
    port
}

#[test]
fn http_proxy_forwards_requests_to_a_plain_http_server() {
    let port = plain_http_server();
    let proxy = Proxy::start(ProxyOptions::default());
    bin()
        .env("HTTP_PROXY", format!("127.0.0.1:{}", proxy.port)) // no scheme: http:// is assumed, as in Go
        .args([
            "explain",
            "web-1",
            "--server",
            &format!("http://0.0.0.0:{port}"),
        ])
        .assert()
        .code(2)
        .stderr(predicates::str::starts_with(
            "error: pod web-1 not found in namespace default",
        ));
    // The pod's GET went through the proxy in absolute form. (Not necessarily first in `seen`: the
    // proxy records a request once it has connected upstream, one thread per connection.)
    let seen = proxy.seen();
    let pod_url = format!("http://0.0.0.0:{port}/api/v1/namespaces/default/pods/web-1");
    assert!(
        seen.iter()
            .any(|s| s.method == "GET" && s.target.starts_with(&pod_url)),
        "{seen:?}"
    );
}

#[test]
fn connection_flags_replace_the_kubeconfig() {
    let sim = sim();
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, sim.ca_pem()).unwrap();
    let token = admin_token(&sim);
    let ca = ca.display().to_string();
    let empty = dir.path().join("empty");
    std::fs::write(&empty, "").unwrap();
    let empty = empty.display().to_string();
    let zero = format!("https://0.0.0.0:{}", port(&sim));
    // A kubeconfig with a wrong token and server.
    let kc = kubeconfig(&sim, dir.path(), "https://127.0.0.1:1", &[]);
    let text = std::fs::read_to_string(&kc)
        .unwrap()
        .replace(&token, "wrong-token");
    std::fs::write(&kc, text).unwrap();
    let kc = kc.display().to_string();
    let url = sim.url();
    #[rustfmt::skip]
    let rows = [
        row("the flags say everything", &["explain", "api-0", "--server", &url, "--token", &token, "--certificate-authority", &ca], 1),
        // As in kubectl.
        row("an empty kubeconfig", &["explain", "api-0", "--server", &url, "--token", &token, "--kubeconfig", &empty, "--certificate-authority", &ca], 1),
        row("--insecure-skip-tls-verify instead of the CA", &["explain", "api-0", "--server", &url, "--token", &token, "--insecure-skip-tls-verify"], 1),
        row("--tls-server-name for a host the certificate lacks", &["explain", "api-0", "--server", &zero, "--token", &token, "--tls-server-name", "localhost", "--certificate-authority", &ca], 1),
        row("a host the certificate lacks", &["explain", "api-0", "--server", &zero, "--token", &token, "--certificate-authority", &ca], 2)
            .stderr_has("certificate not valid for this server name"),
        row("the flags win over the kubeconfig", &["explain", "api-0", "--server", &url, "--token", &token, "--kubeconfig", &kc], 1),
        row("the kubeconfig's wrong token", &["explain", "api-0", "--server", &url, "--kubeconfig", &kc], 2)
            .stderr_begins("error: unauthorized"),
    ];
    check(&rows);
}

#[test]
fn an_unknown_certificate_authority_is_named() {
    let sim = sim();
    // Another kubesim's CA: same name, other key (Go: "x509: certificate signed by unknown authority").
    let other = Sim::start(SimOptions::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("other-ca.pem");
    std::fs::write(&ca, other.ca_pem()).unwrap();
    let a = bin()
        .args(["explain", "api-0", "--kubeconfig"])
        .arg(sim.kubeconfig_path())
        .arg("--certificate-authority")
        .arg(&ca)
        .assert()
        .code(2);
    let err = stderr(&a);
    assert_eq!(
        err.lines().next().unwrap(),
        format!(
            "error: cannot connect to {}: certificate not trusted: unknown issuer (context kubesim)",
            sim.url()
        ),
        "{err}"
    );
}

#[test]
fn verbosity_six_logs_each_request_like_kubectl() {
    let sim = sim();
    let url = format!("{}/api/v1/namespaces/default/pods/api-0", sim.url());
    for flag in [&["-v=6"][..], &["--v=6"], &["-v", "6"], &["--v", "8"]] {
        let a = bin()
            .args(["explain", "api-0", "--kubeconfig"])
            .arg(sim.kubeconfig_path())
            .args(flag)
            .assert()
            .code(1);
        let err = stderr(&a);
        // kubectl 1.33: I1130 02:50:54.028299    4600 round_trippers.go:632] "Response" verb="GET" url="…" status="200 OK" milliseconds=0
        // At 6 each response names its request (at 7+ the request line does). The pod GET and the
        // events LIST go out together: look for the pod's own line.
        let level6 = flag.iter().any(|f| f.ends_with('6'));
        let line = err
            .lines()
            .find(|l| {
                l.contains("\"Response\"")
                    && l.contains("status=\"200 OK\"")
                    && (!level6 || l.contains(&format!("url=\"{url}\"")))
            })
            .unwrap_or_else(|| panic!("{flag:?}: {err}"));
        if level6 {
            assert!(
                line.contains(&format!("verb=\"GET\" url=\"{url}\"")),
                "{line}"
            );
        }
        assert!(line.starts_with('I'), "{line}");
        assert!(line.contains("\"Response\""), "{line}");
        assert!(line.contains("status=\"200 OK\" milliseconds="), "{line}");
    }
    // 7: the request headers too, the token masked.
    let a = bin()
        .args(["explain", "api-0", "-v=7", "--kubeconfig"])
        .arg(sim.kubeconfig_path())
        .assert()
        .code(1);
    let err = stderr(&a);
    assert!(
        err.contains(&format!("\"Request\" verb=\"GET\" url=\"{url}\" headers=<")),
        "{err}"
    );
    assert!(err.contains("Authorization: Bearer <masked>"), "{err}");
    assert!(!err.contains(&admin_token(&sim)), "the token leaked: {err}");
    // Below 6: no request lines.
    let a = bin()
        .args(["explain", "api-0", "-v=5", "--kubeconfig"])
        .arg(sim.kubeconfig_path())
        .assert()
        .code(1);
    assert!(!stderr(&a).contains("\"Response\""), "{}", stderr(&a));
}

fn exec_kubeconfig(sim: &Sim, dir: &Path, script_body: &str) -> (PathBuf, PathBuf) {
    let script = dir.join("cred.sh");
    let counter = dir.join("runs");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho run >> '{}'\n{script_body}",
            counter.display()
        ),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let text = std::fs::read_to_string(sim.kubeconfig_path()).unwrap();
    let token_line = text
        .lines()
        .find(|l| l.trim().starts_with("token: "))
        .unwrap();
    let text = text.replace(
        token_line,
        &format!(
            "    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: {}\n      interactiveMode: Never",
            script.display()
        ),
    );
    let kc = dir.join("kubeconfig");
    std::fs::write(&kc, text).unwrap();
    (kc, counter)
}

#[test]
fn an_exec_plugin_runs_once_per_process_and_its_stderr_is_shown() {
    let sim = sim();
    let dir = tempfile::tempdir().unwrap();
    let token = admin_token(&sim);
    let (kc, counter) = exec_kubeconfig(
        &sim,
        dir.path(),
        &format!(
            "echo 'cred-plugin: using cached login' >&2\necho '{{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",\"status\":{{\"token\":\"{token}\"}}}}'\n"
        ),
    );
    // restart builds two clients (one without retries); diagnose makes ten requests at once.
    for args in [&["diagnose"][..], &["restart", "deploy/web", "--dry-run"]] {
        let _ = std::fs::remove_file(&counter);
        let a = bin().args(args).arg("--kubeconfig").arg(&kc).assert();
        assert!(
            matches!(a.get_output().status.code(), Some(0) | Some(1)),
            "{args:?}: {}",
            stderr(&a)
        );
        assert!(
            stderr(&a).contains("cred-plugin: using cached login"),
            "{}",
            stderr(&a)
        );
        let runs = std::fs::read_to_string(&counter).unwrap().lines().count();
        assert_eq!(runs, 1, "{args:?}");
    }
    // --token wins: the plugin does not run.
    let _ = std::fs::remove_file(&counter);
    bin()
        .args(["explain", "api-0", "--token", &token, "--kubeconfig"])
        .arg(&kc)
        .assert()
        .code(1);
    assert!(!counter.exists());
}

#[test]
fn a_failing_exec_plugin_shows_its_own_message_first() {
    let sim = sim();
    let dir = tempfile::tempdir().unwrap();
    let (kc, _) = exec_kubeconfig(
        &sim,
        dir.path(),
        "echo 'error: you must be logged in to the server (run: mycloud login)' >&2\nexit 3\n",
    );
    let a = explain_api0(&kc, &[]).code(2);
    let err = stderr(&a);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(
        lines,
        [
            "error: you must be logged in to the server (run: mycloud login)",
            &format!(
                "error: cannot get credentials for context kubesim: exec plugin {} failed with exit code 3 (its own message is above)",
                dir.path().join("cred.sh").display()
            ),
        ],
        "{err}"
    );
    assert!(!err.contains("KUBERNETES_EXEC_INFO"));
}
