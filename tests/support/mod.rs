//! Shared support for the integration tests (`tests/it`) and the end-to-end suite (`tests/e2e.rs`):
//! one environment-isolation policy for every command they run ([`isolate`]), the plugin and kubectl
//! run under it, output that names the command, stdout and stderr when an assertion fails
//! ([`Output`]), a cluster to run against (kubesim or the real-control-plane test bed, [`Cluster`]),
//! kubesim starters and scenario builders ([`sim`]), and a forwarding proxy ([`proxy`]).
//!
//! ```ignore
//! let c = support::Cluster::testbed("1.37", "restart-web").unwrap(); // None: skipped (no go/kubectl)
//! c.apply(DEPLOYMENT);
//! c.wait_ready("app=web", 3);
//! let out = c.graceful(&["restart", "deploy/web"]);
//! assert_eq!(out.code, 0, "{out}");
//! ```
#![allow(dead_code)]

pub mod fake_api;
pub mod manifests;
pub mod proxy;
pub mod sim;
pub mod table;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The real kubectl the tests use as a client and as a judge: `$KUBECTL`, else `/usr/bin/kubectl`
/// (the policy of `kubesim::tools::kubectl`, which says what to do when it is missing).
pub fn kubectl_path() -> PathBuf {
    std::env::var_os("KUBECTL")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/kubectl"))
}

/// The plugin binary under test.
pub const GRACEFUL: &str = env!("CARGO_BIN_EXE_kubectl-graceful");

/// How long a command of the integration tests may run before it is killed (a hang is a failure,
/// not a stalled test run).
pub const LIMIT: Duration = Duration::from_secs(120);

/// A HOME that does not exist: no `~/.kube/config`, no kubectl cache, nothing of the developer's is
/// read or written. (A [`Cluster`] gives kubectl a HOME of its own instead, for its cache.)
pub const NO_HOME: &str = "/nonexistent/kubectl-graceful-tests-home";

/// Variables removed from every command the tests run, because each changes what the plugin or
/// kubectl does: which cluster (KUBECONFIG, in-cluster config), proxies (Go's and the plugin's
/// rules, incl. the CGI guard), logging, colour and terminal size, XDG directories. Every
/// `KUBECTL_*` variable goes too ([`isolate`]).
pub const REMOVED_VARS: &[&str] = &[
    "KUBECONFIG",
    "KUBERNETES_SERVICE_HOST",
    "KUBERNETES_SERVICE_PORT",
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "NO_PROXY",
    "no_proxy",
    "ALL_PROXY",
    "all_proxy",
    "REQUEST_METHOD",
    "RUST_LOG",
    "CLICOLOR",
    "CLICOLOR_FORCE",
    "FORCE_COLOR",
    "TERM",
    "COLUMNS",
    "LINES",
    "XDG_CONFIG_HOME",
    "XDG_CACHE_HOME",
    "XDG_DATA_HOME",
];

/// The one isolation policy, applied to every command the tests run: the variables of
/// [`REMOVED_VARS`] and every `KUBECTL_*` removed, `HOME` = `home`, `NO_COLOR=1`, restart's saved
/// manifests under [`state_dir`] (XDG_STATE_HOME), stdin empty. A test that needs one of them
/// sets it after this (the last `env` wins).
pub fn isolate<'c>(c: &'c mut Command, home: &Path) -> &'c mut Command {
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("KUBECTL_") {
            c.env_remove(name);
        }
    }
    for v in REMOVED_VARS {
        c.env_remove(v);
    }
    c.env("HOME", home)
        .env("NO_COLOR", "1")
        .env("XDG_STATE_HOME", state_dir())
        .stdin(Stdio::null())
}

/// `program` under the isolation policy, with `home` as HOME.
pub fn isolated(program: &Path, home: &Path) -> Command {
    let mut c = Command::new(program);
    isolate(&mut c, home);
    c
}

/// Where the tests' runs save bare pods' manifests (XDG_STATE_HOME; not the developer's
/// ~/.local/state).
pub fn state_dir() -> PathBuf {
    std::env::temp_dir().join("kubectl-graceful-tests")
}

/// The plugin binary, isolated, for assertions with `assert_cmd` (which prints the command, the
/// exit code, stdout and stderr when one fails); killed after [`LIMIT`].
pub fn graceful() -> assert_cmd::Command {
    let mut c = assert_cmd::Command::from_std(graceful_process());
    c.timeout(LIMIT);
    c
}

/// The stdout of `cmd` (an `assert_cmd` command, e.g. [`graceful`]), which must exit `code`; a
/// failure prints the command, its exit code, stdout and stderr.
pub fn stdout_of(cmd: &mut assert_cmd::Command, code: i32) -> Vec<u8> {
    cmd.assert().code(code).get_output().stdout.clone()
}

/// The plugin binary, isolated, as a plain process (to spawn, signal, or run in a terminal).
pub fn graceful_process() -> Command {
    isolated(Path::new(GRACEFUL), Path::new(NO_HOME))
}

/// The real kubectl, isolated.
pub fn kubectl_process() -> Command {
    isolated(&kubectl_path(), Path::new(NO_HOME))
}

/// Start `cmd` with stdout and stderr piped, for a test that signals it or acts while it runs;
/// [`finish`] collects it.
pub fn spawn(mut cmd: Command) -> std::process::Child {
    cmd.stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("start {}: {e}", describe(&cmd)))
}

/// The command line, as a failure message shows it.
pub fn describe(cmd: &Command) -> String {
    std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// `true` when kubectl is there ([`kubectl_path`]). Without it: under `CI=true` this panics (CI
/// must not pass by skipping); otherwise it prints a note naming `what` and returns `false`.
pub fn require_kubectl(what: &str) -> bool {
    kubesim::tools::kubectl(what).is_some()
}

/// What a command printed and how it ended.
#[derive(Debug, Clone)]
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub command: String,
}

impl Output {
    /// stdout and stderr together, for `contains` checks.
    pub fn text(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }

    /// A restart whose end the plugin could not observe because the API server stopped answering:
    /// exit 2, `could not observe TARGET` with the last answer's time, `Unknown` in TARGET's row, and
    /// no failure verdict made up from stale data.
    #[track_caller]
    pub fn assert_unobserved(&self, target: &str) {
        assert_eq!(self.code, 2, "{self}");
        assert!(
            self.stderr.contains(&format!("could not observe {target}")),
            "{self}"
        );
        assert!(
            self.stderr
                .contains("the API server stopped answering (last answer at "),
            "{self}"
        );
        let row = self
            .stdout
            .lines()
            .find(|l| l.starts_with(target))
            .unwrap_or_default();
        assert!(row.contains("Unknown"), "{self}");
        assert!(!self.stderr.contains("FAILED"), "{self}");
    }
}

impl std::fmt::Display for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "`{}` exited {}\n--- stdout\n{}--- stderr\n{}",
            self.command, self.code, self.stdout, self.stderr
        )
    }
}

/// Run `cmd` to the end (at most `timeout`; then it is killed and the output says so).
pub fn run(cmd: Command, timeout: Duration) -> Output {
    run_with_input(cmd, None, timeout)
}

/// [`run`], writing `input` to the command's stdin first (None: stdin stays as `cmd` has it).
pub fn run_with_input(mut cmd: Command, input: Option<&[u8]>, timeout: Duration) -> Output {
    let command = describe(&cmd);
    if input.is_some() {
        cmd.stdin(Stdio::piped());
    }
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("start {command}: {e}"));
    if let Some(bytes) = input {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        // A command that exits without reading all of it is the command's business, not a failure.
        let _ = stdin.write_all(bytes);
    }
    let out_pipe = child.stdout.take().expect("stdout");
    let err_pipe = child.stderr.take().expect("stderr");
    let read = |mut p: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = p.read_to_string(&mut s);
            s
        })
    };
    let (o, e) = (read(Box::new(out_pipe)), read(Box::new(err_pipe)));
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(st) = child.try_wait().expect("wait") {
            break Some(st);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = e.join().unwrap_or_default();
    let code = match status {
        Some(st) => st.code().unwrap_or(-1),
        None => {
            stderr.push_str(&format!("\n[support: killed after {timeout:?}]\n"));
            -1
        }
    };
    Output {
        code,
        stdout: o.join().unwrap_or_default(),
        stderr,
        command,
    }
}

/// A cluster and one namespace of it.
pub struct Cluster {
    pub kubeconfig: PathBuf,
    pub namespace: String,
    /// `"kubesim"` or the test bed's minor (`"1.37"`).
    pub backend: String,
    pub audit_log: Option<PathBuf>,
    /// The test bed behind it (None for kubesim): kubelet-side faults such as
    /// `evict_for_node_pressure`.
    pub testbed: Option<&'static testbed::Testbed>,
    /// A simulator this cluster owns (see [`Cluster::start_kubesim`]); dropped with it.
    pub sim: Option<kubesim::Sim>,
    home: tempfile::TempDir,
}

impl Cluster {
    /// Namespace `namespace` on the shared test bed of Kubernetes `k8s` (started on first use).
    /// `None` when Go or kubectl is missing outside CI (a note is printed); under `CI=true` that
    /// panics instead.
    pub fn testbed(k8s: &str, namespace: &str) -> Option<Cluster> {
        if !gotools::require_go("the test bed (real control plane)")
            || !require_kubectl("the test bed tests")
        {
            return None;
        }
        let tb = testbed::Testbed::shared(k8s);
        let ns = tb
            .namespace(namespace)
            .unwrap_or_else(|e| panic!("namespace {namespace}: {e:#}"));
        Some(Cluster {
            kubeconfig: tb.kubeconfig_path().to_path_buf(),
            namespace: ns,
            backend: tb.minor().to_string(),
            audit_log: Some(tb.audit_log_path().to_path_buf()),
            testbed: Some(tb),
            sim: None,
            home: tempfile::tempdir().expect("temp HOME"),
        })
    }

    /// Namespace `namespace` of a running kubesim.
    pub fn kubesim(sim: &kubesim::Sim, namespace: &str) -> Cluster {
        Cluster {
            kubeconfig: sim.kubeconfig_path().to_path_buf(),
            namespace: namespace.to_string(),
            backend: "kubesim".into(),
            audit_log: None,
            testbed: None,
            sim: None,
            home: tempfile::tempdir().expect("temp HOME"),
        }
    }

    /// A kubesim of its own (started with `opts`), namespace `namespace`.
    pub fn start_kubesim(opts: kubesim::SimOptions, namespace: &str) -> Cluster {
        let sim = kubesim::Sim::start(opts).unwrap_or_else(|e| panic!("kubesim starts: {e:#}"));
        let mut c = Cluster::kubesim(&sim, namespace);
        c.sim = Some(sim);
        c
    }

    /// `kubectl graceful ARGS… --kubeconfig K -n NS` (the built plugin binary), at most 5 minutes.
    pub fn graceful(&self, args: &[&str]) -> Output {
        let mut c = isolated(Path::new(GRACEFUL), self.home.path());
        c.args(args)
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .args(["-n", &self.namespace]);
        run(c, Duration::from_secs(300))
    }

    /// `kubectl graceful ARGS…` started in the background (stdout and stderr piped), for tests
    /// that signal it or act on the cluster while it runs; [`finish`] collects it.
    pub fn spawn_graceful(&self, args: &[&str]) -> std::process::Child {
        let mut c = isolated(Path::new(GRACEFUL), self.home.path());
        c.args(args)
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .args(["-n", &self.namespace])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start kubectl-graceful")
    }

    /// `kubectl ARGS… --kubeconfig K -n NS`, at most 2 minutes.
    pub fn kubectl(&self, args: &[&str]) -> Output {
        let mut c = isolated(&kubectl_path(), self.home.path());
        c.arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .args(["-n", &self.namespace])
            .args(args);
        run(c, Duration::from_secs(120))
    }

    /// `kubectl apply -f -` of `yaml`; panics when kubectl refuses it.
    pub fn apply(&self, yaml: &str) {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("apply.yaml");
        std::fs::write(&file, yaml).expect("write manifest");
        let out = self.kubectl(&["apply", "-f", file.to_str().expect("utf-8 path")]);
        assert_eq!(out.code, 0, "{out}");
    }

    /// `kubectl get ARGS -o json` as JSON.
    pub fn get(&self, args: &[&str]) -> Value {
        let mut a = vec!["get"];
        a.extend_from_slice(args);
        a.extend_from_slice(&["-o", "json"]);
        let out = self.kubectl(&a);
        assert_eq!(out.code, 0, "{out}");
        serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"))
    }

    /// The pods matching `selector`, terminating ones included.
    pub fn pods(&self, selector: &str) -> Vec<Value> {
        self.get(&["pods", "-l", selector])["items"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// Poll `check` every 250 ms until it holds; panics naming `what` after `timeout`.
    pub fn wait(&self, timeout: Duration, what: &str, mut check: impl FnMut(&Cluster) -> bool) {
        let start = Instant::now();
        while !check(self) {
            if start.elapsed() > timeout {
                let pods = self.kubectl(&["get", "pods,events", "-o", "wide"]);
                panic!(
                    "[{}] {what}: not after {timeout:?}; namespace {}:\n{}",
                    self.backend, self.namespace, pods.stdout
                );
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// Poll `check` every 250 ms until it holds or `timeout` passes: `false` then, without
    /// panicking (a conformance scenario goes on, and its trace shows what did not happen).
    pub fn wait_soft(&self, timeout: Duration, mut check: impl FnMut(&Cluster) -> bool) -> bool {
        let start = Instant::now();
        while !check(self) {
            if start.elapsed() > timeout {
                return false;
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        true
    }

    /// The kubelet's node-pressure eviction of pod `name`, on either back-end.
    pub fn evict_for_node_pressure(&self, name: &str, resource: &str) {
        if let Some(tb) = self.testbed {
            tb.evict_for_node_pressure(&self.namespace, name, resource)
                .unwrap_or_else(|e| panic!("[{}] evict {name}: {e:#}", self.backend));
        } else if let Some(sim) = &self.sim {
            assert!(
                sim.evict_for_node_pressure(&self.namespace, name, resource),
                "[kubesim] no pod {name} to evict"
            );
        } else {
            panic!("evict_for_node_pressure needs a test bed or a kubesim of the cluster's own");
        }
    }

    /// `POST …/pods/NAME/eviction` through kubectl: (exit code, the answer's text).
    pub fn evict(&self, name: &str) -> Output {
        let eviction = format!(
            r#"{{"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {{"name": "{name}", "namespace": "{}"}}}}"#,
            self.namespace
        );
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("eviction.json");
        std::fs::write(&file, eviction).expect("write eviction");
        let uri = format!("/api/v1/namespaces/{}/pods/{name}/eviction", self.namespace);
        self.kubectl(&[
            "create",
            "--raw",
            &uri,
            "-f",
            file.to_str().expect("utf-8 path"),
        ])
    }

    /// Wait until exactly `n` pods match `selector`, none terminating, all Ready.
    pub fn wait_ready(&self, selector: &str, n: usize) {
        self.wait(
            Duration::from_secs(90),
            &format!("{n} Ready pods {selector}"),
            |c| {
                let pods = c.pods(selector);
                pods.len() == n && pods.iter().all(is_ready)
            },
        );
    }

    /// The test bed's audit events (JSON) about this namespace, oldest first; empty for kubesim
    /// (it keeps a request log of its own).
    pub fn audit_events(&self) -> Vec<Value> {
        let Some(log) = &self.audit_log else {
            return Vec::new();
        };
        let marker = format!("/namespaces/{}/", self.namespace);
        std::fs::read_to_string(log)
            .unwrap_or_default()
            .lines()
            .filter(|l| {
                l.contains(&marker) || l.contains(&format!("\"namespace\":\"{}\"", self.namespace))
            })
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .collect()
    }

    /// Writes (create, update, patch, delete, deletecollection) sent in this namespace by the
    /// admin user with the plugin's user agent: (verb, requestURI).
    pub fn plugin_writes(&self) -> Vec<(String, String)> {
        self.audit_events()
            .into_iter()
            .filter(|e| e["user"]["username"] == "kubernetes-admin")
            // The plugin says who it is (`kubectl-graceful/vX`); kubectl's own agent is `kubectl/vX …`.
            .filter(|e| {
                e["userAgent"]
                    .as_str()
                    .unwrap_or("")
                    .starts_with("kubectl-graceful/")
            })
            .filter(|e| {
                matches!(
                    e["verb"].as_str(),
                    Some("create" | "update" | "patch" | "delete" | "deletecollection")
                )
            })
            .map(|e| {
                (
                    e["verb"].as_str().unwrap_or_default().to_string(),
                    e["requestURI"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect()
    }
}

/// Send `sig` (`"INT"`, `"TERM"`) to a running child.
pub fn signal(child: &std::process::Child, sig: &str) {
    let ok = Command::new("kill")
        .args([&format!("-{sig}"), &child.id().to_string()])
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "kill -{sig} {}", child.id());
}

/// Wait for a child started by [`Cluster::spawn_graceful`] (at most `timeout`; then it is killed).
pub fn finish(mut child: std::process::Child, timeout: Duration) -> Output {
    let deadline = Instant::now() + timeout;
    let mut killed = false;
    while child.try_wait().ok().flatten().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            killed = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().expect("wait");
    let mut stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    if killed {
        stderr.push_str(&format!("\n[support: killed after {timeout:?}]\n"));
    }
    Output {
        code: if killed {
            -1
        } else {
            out.status.code().unwrap_or(-1)
        },
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr,
        command: "kubectl-graceful (spawned)".into(),
    }
}

/// The `zeroDowntime` record of a restart of `web` (3 replicas, surge 1, unavailable 0, no preStop,
/// an app that exits on SIGTERM), whose pods before were `old`: the endpoint removal was raced by
/// every replaced pod, and the fix is diagnose's `prestop-missing`. `on` prefixes the messages (the
/// backend).
#[track_caller]
pub fn assert_no_prestop_race(z: &Value, old: &[String], on: &str) {
    assert!(
        ["at-risk", "violated"].contains(&z["verdict"].as_str().unwrap_or_default()),
        "{on} {z:#}"
    );
    assert_eq!(z["podsReplaced"], 3, "{on} {z:#}");
    assert_eq!(z["raced"], 3, "{on} {z:#}");
    assert_eq!(z["desiredReplicas"], 3, "{on} {z:#}");
    assert!(
        z["minReadyEndpoints"].as_u64().unwrap_or(0) >= 3,
        "{on} surge 1, unavailable 0: {z:#}"
    );
    assert!(
        z["worstMarginSeconds"].as_f64().unwrap_or(99.0) < 5.0,
        "{on} {z:#}"
    );
    assert_eq!(z["services"], serde_json::json!(["web"]), "{on}");
    // Every racing pod named, with its times.
    let evidence = z["evidence"].to_string();
    for p in old {
        assert!(
            evidence.contains(&format!("pod {p}: deleted at ")),
            "{on} {p} not named: {evidence}"
        );
    }
    assert!(evidence.contains("(no preStop pause)"), "{on} {evidence}");
    // The fix, in diagnose's words.
    let fix = z["fix"].as_str().unwrap_or_default();
    assert!(
        fix.starts_with("[prestop-missing] container app: no preStop pause although Service web sends it traffic"),
        "{on} {fix}"
    );
    assert!(fix.contains("sleep:\n"), "{on} {fix}");
}

/// Ready condition True and not being deleted.
pub fn is_ready(p: &Value) -> bool {
    p.pointer("/metadata/deletionTimestamp").is_none()
        && p.pointer("/status/conditions")
            .and_then(Value::as_array)
            .is_some_and(|cs| {
                cs.iter()
                    .any(|c| c["type"] == "Ready" && c["status"] == "True")
            })
}

/// `kubectl.kubernetes.io/restartedAt` of a workload's template or a pod.
pub fn restarted_at(v: &Value) -> Option<String> {
    v.pointer("/metadata/annotations/kubectl.kubernetes.io~1restartedAt")
        .or_else(|| {
            v.pointer("/spec/template/metadata/annotations/kubectl.kubernetes.io~1restartedAt")
        })
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// The plugin on a pseudo-terminal (util-linux `script`), so it sees a terminal on stdout: `args`
/// (joined with spaces: no quoting), `TERM=term`, `size` (columns, rows) set with `stty` when given,
/// `NO_COLOR` only when `no_color`. Returns what the terminal received and the exit code; `None`
/// when `script` is missing (skipped with a note; under `CI=true` that fails instead).
pub fn on_terminal(
    args: &[&str],
    term: &str,
    size: Option<(u16, u16)>,
    no_color: bool,
) -> Option<(Vec<u8>, i32)> {
    if !kubesim::tools::program("script", &["--version"], "a terminal test", "util-linux") {
        return None;
    }
    let stty = size
        .map(|(cols, rows)| format!("stty cols {cols} rows {rows}; "))
        .unwrap_or_default();
    let line = format!("{stty}exec {GRACEFUL} {}", args.join(" "));
    let mut c = Command::new("script");
    isolate(&mut c, Path::new(NO_HOME))
        .args(["-qfec", &line, "/dev/null"])
        .env("TERM", term);
    if !no_color {
        c.env_remove("NO_COLOR");
    }
    let out = run(c, LIMIT);
    assert!(out.code >= 0, "{out}");
    Some((out.stdout.into_bytes(), out.code))
}
