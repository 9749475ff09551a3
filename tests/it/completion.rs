//! Shell completion: the static scripts, and `kubectl graceful <TAB>` through the REAL kubectl, which runs
//! `kubectl_complete-graceful` from PATH (kubectl >= 1.26), which runs `kubectl-graceful __complete`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use kubesim::Sim;

use crate::support::GRACEFUL as MAIN;
const HELPER: &str = env!("CARGO_BIN_EXE_kubectl_complete-graceful");

/// A directory holding the plugin and its completion helper, linked like krew links them, and the
/// real kubectl that runs them.
struct PluginDir {
    dir: tempfile::TempDir,
    kubectl: PathBuf,
}

impl PluginDir {
    /// `None` (after a note) when kubectl is missing outside CI.
    fn new() -> Option<Self> {
        let kubectl = kubesim::tools::kubectl("completion through the real kubectl")?;
        let dir = tempfile::tempdir().expect("temp dir");
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(MAIN, dir.path().join("kubectl-graceful")).expect("link");
            std::os::unix::fs::symlink(HELPER, dir.path().join("kubectl_complete-graceful"))
                .expect("link");
        }
        Some(PluginDir { dir, kubectl })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `kubectl __complete graceful WORDS…` with only this directory and /usr/bin on PATH.
    fn kubectl(&self, words: &[&str], kubeconfig: Option<&Path>) -> Output {
        let mut c = Command::new(&self.kubectl);
        c.arg("__complete").arg("graceful").args(words);
        isolate(&mut c, self.path(), kubeconfig);
        c.output().expect("kubectl runs")
    }
}

/// The tests' isolation policy with this PATH, this kubeconfig (or none) and `path_dir` as HOME.
fn isolate(c: &mut Command, path_dir: &Path, kubeconfig: Option<&Path>) {
    crate::support::isolate(c, path_dir)
        .env("PATH", format!("{}:/usr/bin:/bin", path_dir.display()))
        .env(
            "KUBECONFIG",
            kubeconfig.unwrap_or(Path::new("/nonexistent/kubeconfig")),
        );
}

/// `kubectl-graceful __complete WORDS…` directly.
fn direct(words: &[&str], kubeconfig: Option<&Path>) -> Output {
    let mut c = crate::support::graceful_process();
    c.arg("__complete").args(words);
    let tmp = std::env::temp_dir();
    isolate(&mut c, &tmp, kubeconfig);
    c.output().expect("kubectl-graceful runs")
}

/// The completions (values without descriptions) and the directive, checking the protocol's shape.
fn parse(out: &Output) -> (Vec<String>, u32) {
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout.clone()).expect("stdout is UTF-8");
    let mut lines: Vec<&str> = text.lines().collect();
    let last = lines.pop().unwrap_or_default();
    let directive = last
        .strip_prefix(':')
        .and_then(|d| d.parse().ok())
        .unwrap_or_else(|| panic!("last line is not :<directive>: {text:?}"));
    let values = lines
        .iter()
        .map(|l| l.split('\t').next().unwrap_or_default().to_string())
        .collect();
    (values, directive)
}

fn has_all(values: &[String], want: &[&str]) {
    for w in want {
        assert!(values.iter().any(|v| v == w), "{w} missing in {values:?}");
    }
}

fn two_contexts(dir: &Path) -> PathBuf {
    let p = dir.join("two-contexts.yaml");
    std::fs::write(
        &p,
        "apiVersion: v1
kind: Config
current-context: alpha
clusters:
- name: c-alpha
  cluster: {server: 'https://127.0.0.1:1'}
- name: c-beta
  cluster: {server: 'https://127.0.0.1:1'}
users:
- name: u1
  user: {token: t}
contexts:
- name: alpha
  context: {cluster: c-alpha, user: u1}
- name: beta
  context: {cluster: c-beta, user: u1, namespace: shop}
",
    )
    .expect("write kubeconfig");
    p
}

#[test]
fn bash_script_parses_and_completes() {
    let out = crate::support::graceful_process()
        .args(["completion", "bash"])
        .env("KUBECONFIG", "/nonexistent/kubeconfig")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0));
    let script = String::from_utf8(out.stdout).expect("UTF-8");
    assert!(script.contains("complete -F") && script.contains("kubectl-graceful"));
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("kubectl-graceful.bash");
    std::fs::write(&file, &script).expect("write");
    let syntax = shell_cmd("bash")
        .arg("-n")
        .arg(&file)
        .output()
        .expect("bash");
    assert!(
        syntax.status.success(),
        "{}",
        String::from_utf8_lossy(&syntax.stderr)
    );
    // Drive it as bash would on `kubectl-graceful di<TAB>` and `kubectl-graceful explain -o <TAB>`.
    let drive = |line: &str| -> String {
        let program = format!(
            r#"source '{}'
COMP_LINE='{line}'; COMP_POINT=${{#COMP_LINE}}; read -ra COMP_WORDS <<< "$COMP_LINE"
[[ "$COMP_LINE" == *' ' ]] && COMP_WORDS+=('')
COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))
f=$(complete -p kubectl-graceful | sed -E 's/.*-F ([^ ]+).*/\1/')
"$f" kubectl-graceful "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD-1]}}"
printf '%s\n' "${{COMPREPLY[@]}}""#,
            file.display()
        );
        let out = shell_cmd("bash")
            .arg("-c")
            .arg(program)
            .output()
            .expect("bash");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert_eq!(drive("kubectl-graceful di").trim(), "diagnose");
    let o = drive("kubectl-graceful explain -o ");
    for v in ["table", "wide", "json", "yaml"] {
        assert!(o.lines().any(|l| l == v), "{v}: {o}");
    }
}

#[test]
fn zsh_fish_powershell_scripts() {
    for (shell, checker) in [
        ("zsh", Some("zsh")),
        ("fish", Some("fish")),
        ("powershell", None),
    ] {
        let out = crate::support::graceful_process()
            .args(["completion", shell])
            .env("KUBECONFIG", "/nonexistent/kubeconfig")
            .output()
            .expect("runs");
        assert_eq!(out.status.code(), Some(0), "{shell}");
        let script = String::from_utf8(out.stdout).expect("UTF-8");
        assert!(script.contains("kubectl-graceful"), "{shell}");
        assert!(script.contains("fail-on"), "{shell}");
        let Some(checker) = checker else { continue };
        let dir = tempfile::tempdir().expect("tmp");
        let file = dir.path().join(format!("script.{shell}"));
        std::fs::write(&file, &script).expect("write");
        if !shell_installed(checker) {
            continue;
        }
        let o = shell_cmd(checker)
            .arg("-n")
            .arg(&file)
            .output()
            .expect("runs");
        assert!(
            o.status.success(),
            "{checker} -n: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
}

/// A shell under the tests' isolation policy, with the temporary directory as HOME (a shell may
/// write its own files there).
fn shell_cmd(name: &str) -> Command {
    crate::support::isolated(Path::new(name), &std::env::temp_dir())
}

/// Whether `shell` can be run. `.ci/run` installs zsh and fish, so under `CI=true` a missing one fails;
/// elsewhere its checks are skipped with a note.
fn shell_installed(shell: &str) -> bool {
    kubesim::tools::program(
        shell,
        &["-c", "exit 0"],
        &format!("the {shell} completion script check"),
        ".ci/run installs it with apt-get",
    )
}

/// fish itself runs the script: `complete -C` prints what fish would offer at the end of a command line.
#[test]
fn fish_completes_with_the_script() {
    if !shell_installed("fish") {
        return;
    }
    let out = crate::support::graceful_process()
        .args(["completion", "fish"])
        .output()
        .expect("runs");
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("kubectl-graceful.fish");
    std::fs::write(&file, &out.stdout).expect("write");
    let offer = |line: &str| -> Vec<String> {
        let o = shell_cmd("fish")
            .arg("--no-config")
            .arg("-c")
            .arg(format!("source {}; complete -C '{line}'", file.display()))
            .env("KUBECONFIG", "/nonexistent/kubeconfig")
            .output()
            .expect("fish runs");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .map(|l| l.split('\t').next().unwrap_or(l).to_string())
            .collect()
    };
    let subs = offer("kubectl-graceful ");
    for want in ["explain", "diagnose", "restart", "completion"] {
        assert!(subs.iter().any(|s| s == want), "{want}: {subs:?}");
    }
    let mut values = offer("kubectl-graceful diagnose --fail-on ");
    values.sort();
    assert_eq!(values, ["error", "info", "never", "warning"]);
    let mut values = offer("kubectl-graceful explain -o ");
    values.sort();
    assert_eq!(values, ["json", "table", "wide", "yaml"]);
}

#[test]
fn unknown_shell_is_a_usage_error() {
    let out = crate::support::graceful_process()
        .args(["completion", "tcsh"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("invalid value 'tcsh'"), "{err}");
    assert!(err.contains("bash, zsh, fish, powershell"), "{err}");
    assert!(out.stdout.is_empty());
}

#[test]
fn kubectl_completes_subcommands_flags_and_values() {
    let Some(plugin) = PluginDir::new() else {
        return;
    };
    let (v, d) = parse(&plugin.kubectl(&[""], None));
    has_all(&v, &["explain", "diagnose", "restart", "completion"]);
    assert_eq!(d, 4, "no file names after `kubectl graceful`");
    assert!(!v.iter().any(|x| x == "__complete"));

    let (v, _) = parse(&plugin.kubectl(&["diagnose", "--fa"], None));
    assert_eq!(v, ["--fail-on"]);

    let (v, _) = parse(&plugin.kubectl(&["explain", "-o", ""], None));
    assert_eq!(v, ["table", "wide", "json", "yaml"]);

    let (v, _) = parse(&plugin.kubectl(&["diagnose", "--fail-on="], None));
    assert_eq!(v, ["info", "warning", "error", "never"]);

    // Descriptions travel through kubectl unchanged.
    let out = plugin.kubectl(&["restart", "--dry"], None);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "--dry-run\tPrint the plan and send no writes\n:4\n"
    );

    // Manifests: kubectl passes the extension filter directive on.
    let (v, d) = parse(&plugin.kubectl(&["diagnose", "-f", ""], None));
    assert_eq!(
        (v, d),
        (vec!["yaml".into(), "yml".into(), "json".into()], 8)
    );

    // Contexts from KUBECONFIG, and from --kubeconfig given on the line.
    let kc = two_contexts(plugin.path());
    let (v, _) = parse(&plugin.kubectl(&["--context", ""], Some(&kc)));
    assert_eq!(v, ["alpha", "beta"]);
    let kc_arg = kc.display().to_string();
    let (v, _) = parse(&plugin.kubectl(
        &["--kubeconfig", &kc_arg, "explain", "--context", "b"],
        None,
    ));
    assert_eq!(v, ["beta"]);
    let (v, _) = parse(&plugin.kubectl(&["--cluster=c-"], Some(&kc)));
    assert_eq!(v, ["c-alpha", "c-beta"]);
}

#[test]
fn direct_complete_same_answers() {
    let (v, d) = parse(&direct(&[""], None));
    has_all(&v, &["explain", "diagnose", "restart", "completion"]);
    assert_eq!(d, 4);
    let (v, _) = parse(&direct(&["diagnose", "--fa"], None));
    assert_eq!(v, ["--fail-on"]);
    let (v, _) = parse(&direct(&["explain", "-o", ""], None));
    assert_eq!(v, ["table", "wide", "json", "yaml"]);
    let dir = tempfile::tempdir().expect("tmp");
    let kc = two_contexts(dir.path());
    let (v, _) = parse(&direct(&["--context", ""], Some(&kc)));
    assert_eq!(v, ["alpha", "beta"]);
    // Targets without a cluster: the kind prefixes, and no space after them.
    let (v, d) = parse(&direct(&["restart", "st"], None));
    assert_eq!((v, d), (vec!["sts/".to_string()], 4 | 2));
    // No kubeconfig at all: still the static part, nothing on stderr.
    let out = direct(&["explain", ""], None);
    let (v, _) = parse(&out);
    has_all(&v, &["deploy/", "sts/"]);
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The pods solo (default) and away (other), the Deployments web (default) and api (other), the
/// StatefulSet db (other).
const SCENARIO: &str = include_str!("../fixtures/completion/cluster.yaml");

#[test]
fn kubectl_completes_names_from_the_cluster() {
    let sim = Sim::with_scenario(SCENARIO);
    let kc = sim.kubeconfig_path().to_path_buf();
    let Some(plugin) = PluginDir::new() else {
        return;
    };

    // The kubeconfig's namespace (default): its pods (bare) and the kind prefixes, not other's pods.
    let (v, d) = parse(&plugin.kubectl(&["explain", ""], Some(&kc)));
    has_all(&v, &["solo", "deploy/", "sts/", "ds/", "rs/", "job/"]);
    assert!(v.iter().any(|x| x.starts_with("web-")), "{v:?}");
    assert!(!v.iter().any(|x| x == "away"), "{v:?}");
    assert_eq!(d, 4);

    let (v, _) = parse(&plugin.kubectl(&["explain", "-n", "other", ""], Some(&kc)));
    has_all(&v, &["away"]);
    assert!(!v.iter().any(|x| x == "solo"), "{v:?}");
    let (v, _) = parse(&plugin.kubectl(&["--namespace=other", "explain", "aw"], Some(&kc)));
    assert_eq!(v, ["away"]);

    let (v, d) = parse(&plugin.kubectl(&["restart", "deploy/"], Some(&kc)));
    assert_eq!((v, d), (vec!["deploy/web".to_string()], 4));
    let (v, _) = parse(&plugin.kubectl(&["-n", "other", "restart", "deploy/"], Some(&kc)));
    assert_eq!(v, ["deploy/api"]);
    let (v, _) = parse(&plugin.kubectl(&["-n", "other", "diagnose", "statefulset/"], Some(&kc)));
    assert_eq!(v, ["statefulset/db"]);

    let (v, _) = parse(&plugin.kubectl(&["-n", ""], Some(&kc)));
    has_all(&v, &["default", "other"]);
    let (v, _) = parse(&plugin.kubectl(&["explain", "--namespace", "o"], Some(&kc)));
    assert_eq!(v, ["other"]);

    // --kubeconfig on the line wins over KUBECONFIG.
    let kc_arg = kc.display().to_string();
    let (v, _) = parse(&plugin.kubectl(&["--kubeconfig", &kc_arg, "restart", "deploy/w"], None));
    assert_eq!(v, ["deploy/web"]);
}

#[test]
fn unreachable_cluster_gives_static_completions_in_time() {
    if PluginDir::new().is_none() {
        return;
    }
    // A server that accepts connections and never answers (the TLS handshake hangs), and a closed port.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = silent.local_addr().expect("addr").port();
    let dir = tempfile::tempdir().expect("tmp");
    for (name, server) in [
        ("silent", format!("https://127.0.0.1:{port}")),
        ("closed", "https://127.0.0.1:1".to_string()),
    ] {
        let kc = dir.path().join(format!("{name}.yaml"));
        std::fs::write(
            &kc,
            format!(
                "apiVersion: v1
kind: Config
current-context: x
clusters: [{{name: x, cluster: {{server: '{server}', insecure-skip-tls-verify: true}}}}]
users: [{{name: x, user: {{token: t}}}}]
contexts: [{{name: x, context: {{cluster: x, user: x}}}}]
"
            ),
        )
        .expect("write");
        let plugin = PluginDir::new().expect("kubectl checked above");
        for words in [&["explain", ""][..], &["-n", ""], &["restart", "deploy/"]] {
            // Through kubectl (which itself waits about 5s for a silent server before it runs the
            // helper, so only once there), then directly.
            let (v, d) = if name == "closed" || words[0] == "explain" {
                parse(&plugin.kubectl(words, Some(&kc)))
            } else {
                parse(&direct(words, Some(&kc)))
            };
            if words[0] == "explain" {
                // Only kind prefixes are left: no space after them.
                assert_eq!(d, 4 | 2, "{name}");
                assert_eq!(v, ["deploy/", "sts/", "ds/", "rs/", "job/"], "{name}");
            } else {
                assert_eq!(d, 4, "{name} {words:?}");
                assert!(v.is_empty(), "{name} {words:?}: {v:?}");
            }
            // Directly: the same, within the lookup timeout (2s) plus start-up, nothing but the
            // protocol on stdout, nothing on stderr without -v …
            let start = Instant::now();
            let out = direct(words, Some(&kc));
            let took = start.elapsed();
            assert!(
                took < Duration::from_secs(4),
                "{name} {words:?}: took {took:?}"
            );
            let (v2, _) = parse(&out);
            assert_eq!(v, v2);
            assert!(
                out.stderr.is_empty(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        // A word that needs no lookup never waits for the cluster.
        let start = Instant::now();
        let (v, _) = parse(&direct(&["diagnose", "--fa"], Some(&kc)));
        assert_eq!(v, ["--fail-on"]);
        let took = start.elapsed();
        assert!(
            took < Duration::from_secs(1),
            "{name}: static took {took:?}"
        );
        // … and the reason with -v.
        let out = direct(&["-v=1", "explain", ""], Some(&kc));
        let (v, _) = parse(&out);
        has_all(&v, &["deploy/"]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("kubectl-graceful __complete:"),
            "{name}: {err}"
        );
    }
    drop(silent);
}

#[test]
fn kubectl_helper_script_for_krew_installs() {
    let Some(kubectl) = kubesim::tools::kubectl("the helper script through the real kubectl")
    else {
        return;
    };
    // krew links only kubectl-graceful onto PATH; the helper comes from `completion kubectl`.
    let dir = tempfile::tempdir().expect("tmp");
    #[cfg(unix)]
    std::os::unix::fs::symlink(MAIN, dir.path().join("kubectl-graceful")).expect("link");
    let out = crate::support::graceful_process()
        .args(["completion", "kubectl"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0));
    let helper = dir.path().join("kubectl_complete-graceful");
    std::fs::write(&helper, &out.stdout).expect("write");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let sh = shell_cmd("sh").arg("-n").arg(&helper).output().expect("sh");
    assert!(
        sh.status.success(),
        "{}",
        String::from_utf8_lossy(&sh.stderr)
    );
    let mut c = Command::new(&kubectl);
    c.args(["__complete", "graceful", "diagnose", "--fail-on", "w"]);
    isolate(&mut c, dir.path(), None);
    let (v, _) = parse(&c.output().expect("kubectl"));
    assert_eq!(v, ["warning"]);
}

#[test]
fn helper_binary_finds_the_plugin_next_to_it_or_on_path() {
    // Next to it, through a symlink: the link's target directory holds kubectl-graceful.
    let lonely = tempfile::tempdir().expect("tmp");
    #[cfg(unix)]
    std::os::unix::fs::symlink(HELPER, lonely.path().join("kubectl_complete-graceful"))
        .expect("link");
    let mut c = Command::new(lonely.path().join("kubectl_complete-graceful"));
    c.arg("");
    isolate(&mut c, Path::new("/nonexistent"), None);
    let (v, _) = parse(&c.output().expect("helper runs"));
    has_all(&v, &["explain", "restart"]);

    // A copy alone in one directory, the plugin in another on PATH.
    let a = tempfile::tempdir().expect("tmp");
    let b = tempfile::tempdir().expect("tmp");
    std::fs::copy(HELPER, a.path().join("kubectl_complete-graceful")).expect("copy");
    #[cfg(unix)]
    std::os::unix::fs::symlink(MAIN, b.path().join("kubectl-graceful")).expect("link");
    let mut c = Command::new(a.path().join("kubectl_complete-graceful"));
    c.args(["explain", "--no-"]);
    isolate(&mut c, b.path(), None);
    let (v, _) = parse(&c.output().expect("helper runs"));
    assert_eq!(v, ["--no-logs", "--no-color"]);

    // No plugin anywhere: a valid answer (no completions, no files) and the reason on stderr.
    let mut c = Command::new(a.path().join("kubectl_complete-graceful"));
    c.arg("");
    isolate(&mut c, Path::new("/nonexistent"), None);
    c.env("PATH", "/nonexistent");
    let out = c.output().expect("helper runs");
    let (v, d) = parse(&out);
    assert_eq!((v.len(), d), (0, 4));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot run"));
}
