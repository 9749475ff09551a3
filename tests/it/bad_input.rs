//! Bad input and faults, one row each, across the three subcommands: the exit code and the exact
//! first line of stderr. Every row runs the real binary; the cluster rows run against kubesim, the
//! proxy rows through the test proxy on 127.0.0.1. The README's "Exit codes by situation" table is
//! this table in prose.
//!
//! All mismatches are reported together, so one run shows every row that changed.

use std::path::{Path, PathBuf};

use crate::support::proxy::{Proxy, ProxyOptions};
use crate::support::table::{check, row, Row};
use kubesim::scenarios::CrashLoop;
use kubesim::{Sim, SimOptions};

/// The pod web-1 (Ready, on node-1) and the Deployment web.
const SCENARIO: &str = include_str!("../fixtures/bad-input/cluster.yaml");

/// A row whose stderr must begin with `first_line`, exactly ("" = nothing on stderr).
fn case(name: &'static str, args: &[&str], code: i32, first_line: impl Into<String>) -> Row {
    row(name, args, code).first_line(first_line)
}

fn p(path: &Path) -> String {
    path.display().to_string()
}

/// A server that accepts and never answers.
fn silent_server() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in l.incoming().flatten() {
            held.push(s);
        }
    });
    port
}

fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// The sim's kubeconfig with `from` replaced by `to`.
fn edited(sim: &Sim, dir: &Path, name: &str, edits: &[(&str, &str)]) -> PathBuf {
    let mut text = std::fs::read_to_string(sim.kubeconfig_path()).unwrap();
    for (from, to) in edits {
        assert!(text.contains(from), "{from} not in the kubeconfig");
        text = text.replace(from, to);
    }
    write(dir, name, text.as_bytes())
}

fn exec_script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = write(dir, name, format!("#!/bin/sh\n{body}").as_bytes());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    path
}

#[test]
fn bad_input_table() {
    let sim = Sim::start(SimOptions {
        // web-1 Ready, api-0 crash-looping, the Deployment web.
        scenario_yaml: vec![SCENARIO.to_string(), CrashLoop::default().yaml()],
        ..Default::default()
    })
    .expect("kubesim");
    let other = Sim::start(SimOptions::default()).expect("second kubesim");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let kc = p(sim.kubeconfig_path());
    let url = sim.url();
    let port: u16 = url.rsplit(':').next().unwrap().parse().unwrap();
    let server_line = format!("server: {url}");
    let token = std::fs::read_to_string(&kc)
        .unwrap()
        .lines()
        .find_map(|l| l.trim().strip_prefix("token: ").map(str::to_string))
        .unwrap();

    // Users the API server refuses things to.
    let [no_pods, no_logs, no_events, no_patch, no_pdbs, no_pod_list] = [
        ("no-pods", "get", "pods"),
        ("no-logs", "get", "pods/log"),
        ("no-events", "list", "events"),
        ("no-patch", "patch", "deployments"),
        ("no-pdbs", "list", "poddisruptionbudgets"),
        ("no-pod-list", "list", "pods"),
    ]
    .map(|(user, verb, what)| {
        let kubeconfig = p(&sim.add_user(user));
        sim.deny(user, verb, what);
        kubeconfig
    });

    // Kubeconfigs.
    let empty = p(&write(d, "empty", b""));
    let binary = p(&write(d, "binary", &[0u8, 159, 146, 150, 255, 0, 1, 2]));
    let malformed = p(&write(d, "malformed", b"clusters: [ {name: x\n  - : :\n"));
    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend(std::fs::read(&kc).unwrap());
    let bom_kc = p(&write(d, "bom", &bom));
    let no_current = p(&edited(
        &sim,
        d,
        "no-current",
        &[("current-context: kubesim", "current-context: gone")],
    ));
    let closed = closed_port();
    let closed_kc = p(&edited(
        &sim,
        d,
        "closed",
        &[(&server_line, &format!("server: https://127.0.0.1:{closed}"))],
    ));
    let silent = silent_server();
    let silent_kc = p(&edited(
        &sim,
        d,
        "silent",
        &[(&server_line, &format!("server: https://127.0.0.1:{silent}"))],
    ));
    let bad_token = p(&edited(&sim, d, "bad-token", &[(&token, "not-a-token")]));
    let other_ca = p(&write(d, "other-ca.pem", other.ca_pem().as_bytes()));
    let zero_kc = p(&edited(
        &sim,
        d,
        "zero",
        &[(
            &server_line,
            &format!("server: https://0.0.0.0:{port}\n    tls-server-name: localhost"),
        )],
    ));
    let socks_kc = p(&edited(
        &sim,
        d,
        "socks",
        &[(
            &server_line,
            &format!("{server_line}\n    proxy-url: socks5://127.0.0.1:1080"),
        )],
    ));
    let ftp_kc = p(&edited(
        &sim,
        d,
        "ftp",
        &[(
            &server_line,
            &format!("{server_line}\n    proxy-url: ftp://127.0.0.1:21"),
        )],
    ));
    let failing_plugin = exec_script(
        d,
        "fail.sh",
        "echo 'error: token expired; run: mycloud login' >&2\nexit 1\n",
    );
    let exec_user = |plugin: &str| {
        format!("    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: {plugin}\n      interactiveMode: Never")
    };
    let token_line = format!("    token: {token}");
    let exec_fail_kc = p(&edited(
        &sim,
        d,
        "exec-fail",
        &[(&token_line, &exec_user(&p(&failing_plugin)))],
    ));
    let exec_missing_kc = p(&edited(
        &sim,
        d,
        "exec-missing",
        &[(&token_line, &exec_user("/nonexistent/mycloud-auth"))],
    ));
    let proxy_407 = Proxy::start(ProxyOptions {
        require_authorization: Some("Basic dTpw".into()),
        ..ProxyOptions::default()
    });
    let proxy_403 = Proxy::start(ProxyOptions {
        refuse_with: Some(403),
        ..ProxyOptions::default()
    });

    // Input files.
    let pod_yaml = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/explain/app-error.yaml"
    ))
    .unwrap();
    let mut pod_bom = b"\xEF\xBB\xBF".to_vec();
    pod_bom.extend(&pod_yaml);
    let pod_bom = p(&write(d, "pod-bom.yaml", &pod_bom));
    let deploy_yaml = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api}\nspec:\n  replicas: 2\n  selector: {matchLabels: {app: api}}\n  template:\n    metadata: {labels: {app: api}}\n    spec:\n      containers: [{name: app, image: x, readinessProbe: {httpGet: {path: /, port: 80}}}]\n";
    let mut deploy_bom = b"\xEF\xBB\xBF".to_vec();
    deploy_bom.extend(deploy_yaml.as_bytes());
    let deploy_bom = p(&write(d, "deploy-bom.yaml", &deploy_bom));
    // 50 MiB of YAML comments after a real document.
    let mut huge = deploy_yaml.as_bytes().to_vec();
    let filler =
        "# padding padding padding padding padding padding padding padding padding padding\n";
    while huge.len() < 50 << 20 {
        huge.extend(filler.as_bytes());
    }
    let huge = p(&write(d, "huge.yaml", &huge));
    let missing = p(&d.join("missing.yaml"));
    let nonexistent_kc = "/nonexistent/kubeconfig";

    let cases = vec![
        // Usage.
        case("unknown subcommand", &["frobnicate"], 2, "error: unrecognized subcommand 'frobnicate'"),
        case("bad output format", &["explain", "web-1", "-o", "xml"], 2, "error: invalid value 'xml' for '--output <OUTPUT>'"),
        case("bad --request-timeout", &["explain", "web-1", "--request-timeout", "soon"], 2,
            "error: invalid --request-timeout value \"soon\": expected number at 0 (use a duration like 30s, 5m or 1h)"),
        case("bad namespace", &["explain", "web-1", "-n", "Bad_NS"], 2,
            "error: invalid --namespace \"Bad_NS\": must be a lowercase DNS label (a-z, 0-9, '-', at most 63 characters)"),
        case("bad -v level", &["explain", "web-1", "-v=many"], 2, "error: invalid value 'many' for '--v <LEVEL>': invalid digit found in string"),
        case("bad --tail", &["explain", "web-1", "--tail", "lots"], 2, "error: invalid value 'lots' for '--tail <N>': invalid digit found in string"),
        case("bad target kind", &["explain", "frob/x"], 2, "error: unknown kind \"frob\" in \"frob/x\": use one of pod/, deploy/, sts/, ds/, rs/, job/"),
        case("bad selector", &["explain", "-l", "app in (a"], 2, "error: invalid label selector \"app in (a\": cannot parse \"app in (a\"; write key=value, key!=value, key in (a,b), key notin (a), key or !key, joined by commas"),
        case("restart without targets", &["restart"], 2, "error: nothing to restart: name targets (deploy/NAME sts/NAME ds/NAME pod/NAME), or use -l SELECTOR or --all"),
        case("restart bad --timeout", &["restart", "deploy/web", "--timeout", "soon"], 2, "error: invalid --timeout value \"soon\": expected number at 0 (use a duration like 30s, 5m or 1h)"),
        case("restart negative --stable-for", &["restart", "deploy/web", "--stable-for", "-5s"], 2, "error: invalid --stable-for value \"-5s\": a duration cannot be negative (use e.g. 30s, 5m or 1h)"),
        case("restart --parallel 0", &["restart", "deploy/web", "--parallel", "0"], 2, "error: --parallel must be at least 1"),
        case("restart -o yaml", &["restart", "deploy/web", "-o", "yaml"], 2, "error: invalid value 'yaml' for '--output <OUTPUT>'"),
        case("diagnose bad --fail-on", &["diagnose", "--fail-on", "sometimes"], 2, "error: invalid value 'sometimes' for '--fail-on <FAIL_ON>'"),
        case("diagnose bad --kube-version", &["diagnose", "-f", &deploy_bom, "--kube-version", "latest"], 2, "error: invalid --kube-version \"latest\": use MAJOR.MINOR, e.g. 1.30 or v1.33.2"),
        case("diagnose unknown rule", &["diagnose", "--explain", "no-such-rule"], 2, "error: --explain: unknown rule \"no-such-rule\": see `kubectl graceful diagnose rules`"),
        case("unknown completion shell", &["completion", "tcsh"], 2, "error: invalid value 'tcsh' for '<SHELL>'"),
        case("--as-group without --as", &["explain", "web-1", "--kubeconfig", &kc, "--as-group", "devs"], 2,
            "error: --as-group needs --as: impersonating groups requires a user to impersonate"),
        case("--server not a URL", &["explain", "web-1", "--server", "ftp://x"], 2, "error: invalid --server \"ftp://x\": expected https://HOST:PORT"),
        case("empty --token", &["explain", "web-1", "--server", &url, "--token="], 2, "error: --token must not be empty"),
        // Kubeconfig.
        case("no kubeconfig", &["explain", "web-1"], 2, "error: no kubeconfig found: set KUBECONFIG or pass --kubeconfig"),
        case("--kubeconfig missing", &["explain", "web-1", "--kubeconfig", nonexistent_kc], 2,
            "error: cannot read kubeconfig /nonexistent/kubeconfig: no such file (check --kubeconfig)"),
        case("empty kubeconfig", &["explain", "web-1", "--kubeconfig", &empty], 2, "error: the kubeconfig has no contexts (is it empty?): point KUBECONFIG or --kubeconfig at a kubeconfig, or pass --server"),
        case("binary kubeconfig", &["explain", "web-1", "--kubeconfig", &binary], 2, format!("error: cannot read kubeconfig {binary}: not a text file (invalid UTF-8)")),
        case("malformed kubeconfig", &["explain", "web-1", "--kubeconfig", &malformed], 2, format!("error: cannot read kubeconfig {malformed}: failed to parse kubeconfig YAML: error: line 1 column 13: unclosed bracket '{{'")),
        case("kubeconfig with a BOM works", &["explain", "web-1", "--kubeconfig", &bom_kc], 0, ""),
        case("unknown context", &["explain", "web-1", "--kubeconfig", &kc, "--context", "prod"], 2,
            "error: context \"prod\" not found in kubeconfig (contexts: kubesim); see `kubectl config get-contexts`"),
        case("unknown cluster", &["explain", "web-1", "--kubeconfig", &kc, "--cluster", "prod"], 2,
            "error: cluster \"prod\" not found in kubeconfig (clusters: kubesim)"),
        case("unknown user", &["explain", "web-1", "--kubeconfig", &kc, "--user", "root"], 2,
            "error: user \"root\" not found in kubeconfig (users: kubernetes-admin)"),
        case("current-context missing", &["explain", "web-1", "--kubeconfig", &no_current], 2,
            "error: current-context \"gone\" does not exist in kubeconfig (contexts: kubesim); pass --context"),
        // The cluster.
        case("closed port", &["explain", "web-1", "--kubeconfig", &closed_kc], 2,
            format!("error: cannot reach https://127.0.0.1:{closed}: connection refused — is the context right? (context kubesim)")),
        case("unknown CA", &["explain", "web-1", "--kubeconfig", &kc, "--certificate-authority", &other_ca], 2,
            format!("error: cannot connect to {url}: certificate not trusted: unknown issuer (context kubesim)")),
        case("wrong server name", &["explain", "web-1", "--kubeconfig", &kc, "--server", &format!("https://0.0.0.0:{port}")], 2,
            format!("error: cannot connect to https://0.0.0.0:{port}: certificate not valid for this server name (context kubesim)")),
        case("401", &["explain", "web-1", "--kubeconfig", &bad_token], 2,
            format!("error: unauthorized: the server at {url} rejected the credentials of context kubesim")),
        case("403 on the pod", &["explain", "web-1", "--kubeconfig", &no_pods], 2, "error: forbidden: user no-pods cannot get pods in namespace default"),
        case("403 on logs degrades", &["explain", "api-0", "--kubeconfig", &no_logs], 1, ""),
        case("403 on events degrades", &["explain", "api-0", "--kubeconfig", &no_events], 1, ""),
        case("403 on the restart patch", &["restart", "deploy/web", "--kubeconfig", &no_patch], 2, "restart failed at deploy/web"),
        case("unknown pod", &["explain", "nope", "--kubeconfig", &kc], 2, "error: pod nope not found in namespace default (context kubesim)"),
        case("unknown namespace", &["explain", "web-1", "--kubeconfig", &kc, "-n", "nowhere"], 2,
            "error: pod web-1 not found in namespace nowhere (context kubesim)"),
        case("explain unknown workload", &["explain", "deploy/nope", "--kubeconfig", &kc], 2, "error: deployment nope not found in namespace default (context kubesim)"),
        case("restart unknown workload", &["restart", "deploy/nope", "--kubeconfig", &kc], 2, "error: deployment nope not found in namespace default (context kubesim)"),
        case("diagnose unknown workload", &["diagnose", "deploy/nope", "--kubeconfig", &kc], 2, "error: deploy/nope: deployment nope not found in namespace default (context kubesim)"),
        case("--request-timeout 1ms", &["explain", "web-1", "--kubeconfig", &silent_kc, "--request-timeout", "1ms"], 2,
            "error: get pod web-1: timed out after 1ms (--request-timeout)"),
        case("failing exec plugin", &["explain", "web-1", "--kubeconfig", &exec_fail_kc], 2, "error: token expired; run: mycloud login"),
        case("missing exec plugin", &["explain", "web-1", "--kubeconfig", &exec_missing_kc], 2,
            "error: cannot get credentials for context kubesim: exec plugin /nonexistent/mycloud-auth: executable not found"),
        // Proxies.
        case("dead HTTPS_PROXY", &["explain", "web-1", "--kubeconfig", &zero_kc], 2,
            format!("error: cannot reach https://0.0.0.0:{port} through the proxy http://127.0.0.1:{closed} (HTTPS_PROXY): connection refused"))
            .env("HTTPS_PROXY", format!("http://127.0.0.1:{closed}")),
        case("dead https_proxy, server in NO_PROXY", &["explain", "web-1", "--kubeconfig", &zero_kc], 0, "")
            .env("https_proxy", format!("http://127.0.0.1:{closed}"))
            .env("no_proxy", "localhost,0.0.0.0"),
        case("dead HTTPS_PROXY, loopback server", &["explain", "web-1", "--kubeconfig", &kc], 0, "")
            .env("HTTPS_PROXY", "http://127.0.0.1:9"),
        case("proxy wants credentials", &["explain", "web-1", "--kubeconfig", &zero_kc], 2,
            format!("error: cannot reach https://0.0.0.0:{port} through the proxy {} (HTTPS_PROXY): the proxy refused the tunnel: 407 Proxy Authentication Required", proxy_407.url()))
            .env("HTTPS_PROXY", proxy_407.url()),
        case("proxy forbids the server", &["explain", "web-1", "--kubeconfig", &zero_kc], 2,
            format!("error: cannot reach https://0.0.0.0:{port} through the proxy {} (HTTPS_PROXY): the proxy refused the tunnel: 403 Forbidden", proxy_403.url()))
            .env("HTTPS_PROXY", proxy_403.url()),
        case("socks5 proxy-url", &["explain", "web-1", "--kubeconfig", &socks_kc], 2,
            "error: proxy-url \"socks5://127.0.0.1:1080\" in the kubeconfig: socks5 proxies are not supported by kubectl-graceful; use an http or https proxy"),
        case("ftp proxy-url", &["explain", "web-1", "--kubeconfig", &ftp_kc], 2,
            "error: proxy-url \"ftp://127.0.0.1:21\" in the kubeconfig: unsupported scheme \"ftp\" (kubectl accepts http, https and socks5)"),
        // Input files.
        case("explain -f missing", &["explain", "-f", &missing], 2, format!("error: {missing}: no such file or directory")),
        case("explain -f empty", &["explain", "-f", &empty], 2, format!("error: {empty}: no Pod in the file: save one with `kubectl get pod NAME -o yaml` (add events with `kubectl get pod,events -o yaml`)")),
        case("explain -f binary", &["explain", "-f", &binary], 2, format!("error: {binary}: not a text file (invalid UTF-8)")),
        case("explain -f with a BOM works", &["explain", "-f", &pod_bom], 1, ""),
        case("explain -f - empty stdin", &["explain", "-f", "-"], 2, "error: <stdin>: no Pod in the file: save one with `kubectl get pod NAME -o yaml` (add events with `kubectl get pod,events -o yaml`)").stdin(b""),
        case("diagnose -f missing", &["diagnose", "-f", &missing], 2, format!("error: {missing}: no such file or directory")),
        case("diagnose -f binary", &["diagnose", "-f", &binary], 2, format!("error: {binary}: not a text file (invalid UTF-8)")),
        case("diagnose -f 50 MiB", &["diagnose", "-f", &huge], 0, ""),
        case("diagnose -f empty", &["diagnose", "-f", &empty], 2, format!("error: {empty}: no Kubernetes objects in the input: nothing was checked (is it empty?)")),
        case("diagnose -f unknown target", &["diagnose", "-f", &deploy_bom, "deploy/nope"], 2, "error: deploy/nope: deployment nope not found in the input"),
        // Never green on what could not be checked.
        case("explain -c a container the workload lacks", &["explain", "deploy/web", "-c", "nope", "--kubeconfig", &kc], 2,
            "error: container \"nope\" is not in deployment web (containers: app)"),
        case("--tail -1 means all lines", &["explain", "api-0", "--tail", "-1", "--kubeconfig", &kc], 1, ""),
        case("--tail below -1", &["explain", "api-0", "--tail", "-2", "--kubeconfig", &kc], 2, "error: --tail -2: give a number of lines, or -1 for all of them"),
        case("diagnose with PDBs forbidden", &["diagnose", "--kubeconfig", &no_pdbs], 2,
            "error: cannot list poddisruptionbudgets in namespace default: user no-pdbs cannot list poddisruptionbudgets.policy in namespace default; not checked: pdb-missing, pdb-blocks-eviction, pdb-unhealthy-eviction, pdb-overlap, pdb-no-spread"),
        case("diagnose with pods forbidden", &["diagnose", "--kubeconfig", &no_pod_list], 2,
            "error: cannot list pods in namespace default: user no-pod-list cannot list pods in namespace default; not checked: bare-pod (pods without a controller were not checked)"),
    ];
    assert!(cases.len() >= 40, "{} rows", cases.len());

    check(&cases);
}
