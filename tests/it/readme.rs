//! Every sample output in the README comes from the real binary (issue 12.7), so it cannot drift.
//!
//! In README.md a fenced block right after a line `<!-- sample: NAME -->` is what the test `NAME`
//! here prints: the commands shown are run with the built `kubectl-graceful` against kubesim (or
//! the files named), and the block must match what they print. Two ways to match:
//! - **exact** (offline inputs, fixed times): the block is the output, line for line;
//! - **shape** (live runs, where pod names, times and counts differ from run to run): both sides
//!   are compared after numbers become `N`, generated name suffixes `-x` and runs of spaces one
//!   space; a README line that is only `…` stands for any number of lines (an elision).
//!
//! `GRACEFUL_UPDATE_README=1 cargo test --test it readme::` writes what the binary prints into the
//! blocks that no longer match (then put elisions back where a sample should stay short, and
//! review the diff).
//! A block that is output but not ours (krew's, a shell's) says why after `<!-- not generated: `;
//! `every_output_block_is_a_sample_or_says_why_not` keeps that list honest.

use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use crate::support::{self, Cluster, Output};
use regex::Regex;

const README: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/README.md");
const UPDATE: &str = "GRACEFUL_UPDATE_README";

#[derive(Clone, Copy, PartialEq, Debug)]
enum Match {
    Exact,
    Shape,
}

/// One README block: where its body starts and ends (line indexes), and its text.
struct Block {
    body: std::ops::Range<usize>,
    text: String,
}

fn readme_lines() -> Vec<String> {
    std::fs::read_to_string(README)
        .expect("README.md")
        .lines()
        .map(str::to_string)
        .collect()
}

/// The fenced block after `<!-- sample: NAME -->`.
fn sample_block(lines: &[String], name: &str) -> Block {
    let marker = format!("<!-- sample: {name} -->");
    let at = lines
        .iter()
        .position(|l| l.trim() == marker)
        .unwrap_or_else(|| panic!("README.md has no `{marker}`"));
    let open = at + 1;
    assert!(
        lines.get(open).is_some_and(|l| l.starts_with("```")),
        "README.md: `{marker}` must be followed by a fenced block"
    );
    let close = (open + 1..lines.len())
        .find(|&i| lines[i].starts_with("```"))
        .unwrap_or_else(|| panic!("README.md: the block after `{marker}` is not closed"));
    Block {
        body: open + 1..close,
        text: lines[open + 1..close].join("\n"),
    }
}

/// The README is read and written under this lock: the tests of this file run in parallel.
static README_WRITE: Mutex<()> = Mutex::new(());

/// Compares sample `name` with what the binary printed (`actual`), or writes it in update mode.
fn check(name: &str, how: Match, actual: &str) {
    let actual = tidy(actual);
    let _guard = README_WRITE.lock().unwrap_or_else(|e| e.into_inner());
    let mut lines = readme_lines();
    let block = sample_block(&lines, name);
    let expected = tidy(&block.text);
    let ok = match how {
        Match::Exact => expected == actual,
        Match::Shape => shape_matches(&expected, &actual),
    };
    if ok {
        return;
    }
    // Update mode rewrites only a sample that no longer matches, so elisions in good ones stay.
    if std::env::var(UPDATE).as_deref() == Ok("1") {
        lines.splice(block.body, actual.lines().map(str::to_string));
        std::fs::write(README, lines.join("\n") + "\n").expect("write README.md");
        return;
    }
    panic!(
        "README sample `{name}` ({how:?}) differs from what the binary prints.\n\
         --- README\n{expected}\n--- binary\n{actual}\n---\n\
         If the change is deliberate: {UPDATE}=1 cargo test --test it readme::{name}, then review the diff."
    );
}

/// Trailing blanks and blank lines at the end do not count.
fn tidy(s: &str) -> String {
    let lines: Vec<&str> = s.lines().map(str::trim_end).collect();
    let end = lines
        .iter()
        .rposition(|l| !l.is_empty())
        .map_or(0, |i| i + 1);
    lines[..end].join("\n")
}

/// Numbers, generated name suffixes and column padding differ between runs; words do not.
fn shape(line: &str) -> String {
    static SUFFIX: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    static NUMBER: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    static SPACES: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    // Kubernetes' generated suffixes (pod-template-hash, generateName) use this alphabet: no
    // vowels, no 0, 1 or 3 (k8s.io/apimachinery/pkg/util/rand.SafeEncodeString).
    let suffix =
        SUFFIX.get_or_init(|| Regex::new(r"-[bcdfghjklmnpqrstvwxz2456789]{5,10}\b").unwrap());
    let number = NUMBER.get_or_init(|| Regex::new(r"\d+(\.\d+)?").unwrap());
    let spaces = SPACES.get_or_init(|| Regex::new(r" {2,}").unwrap());
    let s = suffix.replace_all(line, "-x");
    let s = number.replace_all(&s, "N");
    spaces.replace_all(&s, " ").trim().to_string()
}

fn is_elision(line: &str) -> bool {
    line.trim() == "…"
}

/// `expected`'s lines match `actual`'s by shape, an elision line matching any number of lines.
fn shape_matches(expected: &str, actual: &str) -> bool {
    let e: Vec<String> = expected
        .lines()
        .map(|l| {
            if is_elision(l) {
                "…".to_string()
            } else {
                shape(l)
            }
        })
        .collect();
    let a: Vec<String> = actual.lines().map(shape).collect();
    fn go(e: &[String], a: &[String]) -> bool {
        match e.split_first() {
            None => a.is_empty(),
            Some((first, rest)) if first == "…" => (0..=a.len()).any(|k| go(rest, &a[k..])),
            Some((first, rest)) => a.first() == Some(first) && go(rest, &a[1..]),
        }
    }
    go(&e, &a)
}

/// `$ COMMAND` and what it printed (stdout, then stderr).
fn transcript(shown: &str, out: &Output) -> String {
    format!("$ {shown}\n{}{}", out.stdout, out.stderr)
}

/// `kubectl graceful ARGS` on `c` with stdout and stderr in one file, in the order a terminal
/// would show them (both are the same open file, so writes keep their order); `$ shown` first.
fn merged(c: &Cluster, shown: &str, args: &[&str]) -> (i32, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("out");
    let file = std::fs::File::create(&path).expect("output file");
    let mut cmd = support::isolated(
        Path::new(env!("CARGO_BIN_EXE_kubectl-graceful")),
        dir.path(),
    );
    cmd.args(args)
        .arg("--kubeconfig")
        .arg(&c.kubeconfig)
        .args(["-n", &c.namespace])
        .env("XDG_STATE_HOME", dir.path())
        .stdout(file.try_clone().expect("dup"))
        .stderr(file);
    let status = cmd.status().expect("kubectl-graceful runs");
    let text = std::fs::read_to_string(&path).expect("read output");
    (status.code().unwrap_or(-1), format!("$ {shown}\n{text}"))
}

fn fixture(rel: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn kubesim(opts: kubesim::SimOptions, namespace: &str) -> Option<Cluster> {
    support::require_kubectl("the README samples").then(|| Cluster::start_kubesim(opts, namespace))
}

// ---------------------------------------------------------------------------------------------
// The samples, in README order.

#[test]
fn explain_samples() {
    let docs = [
        "readme/crashy.yaml",
        "explain/pull-401.yaml",
        "explain/healthy.yaml",
    ];
    let Some(c) = kubesim(
        kubesim::SimOptions {
            scenario_yaml: docs.iter().map(|d| fixture(d)).collect(),
            ..Default::default()
        },
        "default",
    ) else {
        return;
    };
    // A pod caught while being deleted is gone once its containers stopped (on a real cluster as in
    // kubesim), so the first sample reads it from the saved YAML, as a user would.
    let saved =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/explain/grace-shell.yaml");
    let offline = c.graceful(&["explain", "-f", saved.to_str().expect("utf-8 path")]);
    assert_eq!(offline.code, 1, "{offline}");
    let mut runs = vec![transcript(
        "kubectl graceful explain -f api-5c9f-abcde.yaml     # saved with kubectl get pod,events -o yaml",
        &offline,
    )];
    for target in ["deploy/crashy", "partsgo-7c9f-2xk4p", "fine-1"] {
        let out = c.graceful(&["explain", target]);
        assert!(out.code == 0 || out.code == 1, "{out}");
        runs.push(transcript(
            &format!("kubectl graceful explain {target}"),
            &out,
        ));
    }
    check("explain", Match::Exact, &runs.join("\n"));
}

#[test]
fn diagnose_sample() {
    let Some(c) = kubesim(
        kubesim::SimOptions {
            server_version: "v1.29.3".into(),
            scenario_yaml: vec![fixture("readme/shop.yaml")],
            ..Default::default()
        },
        "shop",
    ) else {
        return;
    };
    let out = c.graceful(&["diagnose"]);
    assert_eq!(out.code, 1, "{out}");
    check(
        "diagnose",
        Match::Exact,
        &transcript(
            "kubectl graceful diagnose -n shop          # cluster v1.29.3",
            &out,
        ),
    );
}

/// kubesim with 3 nodes running `fixture` (time 5× faster), once `ready` (selector, pods) hold.
fn running(fixture_name: &str, ready: &[(&str, usize)]) -> Option<Cluster> {
    let c = kubesim(
        kubesim::SimOptions {
            time_scale: 5.0,
            nodes: Some(3),
            scenario_yaml: vec![fixture(fixture_name)],
            ..Default::default()
        },
        "default",
    )?;
    for (selector, n) in ready {
        c.wait_ready(selector, *n);
    }
    Some(c)
}

/// deploy/api (3, surge 1), sts/db (2), ds/agent (3 nodes), all Ready.
fn three_targets() -> Option<Cluster> {
    running(
        "readme/three-targets.yaml",
        &[("app=api", 3), ("app=db", 2), ("app=agent", 3)],
    )
}

#[test]
fn restart_samples() {
    let Some(c) = three_targets() else { return };
    let targets = ["deploy/api", "sts/db", "ds/agent"];
    let mut dry = vec!["restart"];
    dry.extend(targets);
    dry.push("--dry-run");
    let shown = format!("kubectl graceful restart {}", targets.join(" "));
    let (code, plan) = merged(&c, &format!("{shown} --dry-run"), &dry);
    assert_eq!(code, 0, "{plan}");
    let (code, run) = merged(&c, &shown, &dry[..dry.len() - 1]);
    assert_eq!(code, 0, "{run}");
    check("restart", Match::Shape, &format!("{plan}\n{run}"));
}

#[test]
fn restart_failure_sample() {
    let Some(c) = running("readme/bad-release.yaml", &[("app=api", 3), ("app=web", 2)]) else {
        return;
    };
    let args = ["restart", "deploy/api", "deploy/web"];
    let (code, text) = merged(&c, "kubectl graceful restart deploy/api deploy/web", &args);
    assert_eq!(code, 1, "{text}");
    check("restart-failure", Match::Shape, &text);
}

#[test]
fn restart_sigterm_sample() {
    let Some(c) = running("readme/two-deployments.yaml", &[("app=a", 3), ("app=b", 1)]) else {
        return;
    };
    let child = c.spawn_graceful(&["restart", "deploy/a", "deploy/b"]);
    // SIGTERM while deploy/a rolls: once its template carries restartedAt.
    c.wait(Duration::from_secs(30), "deploy/a patched", |c| {
        support::restarted_at(&c.get(&["deploy", "a"])).is_some()
    });
    support::signal(&child, "TERM");
    let out = support::finish(child, Duration::from_secs(60));
    assert_eq!(out.code, 143, "{out}");
    // The sample is the message; the table before it is the other samples' business.
    let from = out
        .stderr
        .find("terminated (SIGTERM)")
        .unwrap_or_else(|| panic!("no SIGTERM message: {out}"));
    check("restart-sigterm", Match::Shape, &out.stderr[from..]);
}

/// kubesim running deploy/web behind svc/web, settled, its service proxy trailing the endpoints by
/// 5 s like the endpoint consumers the margin stands for (as in tests/restart_zerodowntime.rs).
fn web_behind_service() -> Option<Cluster> {
    let c = running("readme/web-behind-service.yaml", &[("app=web", 3)])?;
    let sim = c.sim.as_ref().expect("own kubesim");
    std::thread::sleep(sim.real(Duration::from_secs(2)));
    sim.set_proxy_lag(Duration::from_secs(5));
    Some(c)
}

#[test]
fn zero_downtime_samples() {
    let Some(c) = web_behind_service() else {
        return;
    };
    let args = ["restart", "deploy/web", "--probe", "svc/web:80/"];
    let (code, text) = merged(
        &c,
        "kubectl graceful restart deploy/web --probe svc/web:80/",
        &args,
    );
    assert_eq!(code, 0, "{text}");
    // Progress lines come and go with the timing; the sample starts at the table.
    let table = text.find("TARGET ").expect("summary table");
    let text = format!(
        "$ kubectl graceful restart deploy/web --probe svc/web:80/\n{}",
        &text[table..]
    );
    check("zero-downtime", Match::Shape, &text);

    // The same restart again, without --probe, as JSON: its events and its zeroDowntime.
    let out = c.graceful(&["restart", "deploy/web", "-o", "json"]);
    assert_eq!(out.code, 0, "{out}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    let of_type = |t: &str| {
        lines
            .iter()
            .find(|l| l.contains(&format!("\"type\":\"{t}\"")))
            .unwrap_or_else(|| panic!("no {t} event: {out}"))
            .to_string()
    };
    check(
        "restart-events",
        Match::Shape,
        &format!("{}\n{}", of_type("TargetStarted"), of_type("PodReady")),
    );
    let summary: serde_json::Value =
        serde_json::from_str(lines.last().expect("events")).expect("JSON");
    let zd = &summary["targets"][0]["zeroDowntime"];
    check(
        "zero-downtime-json",
        Match::Shape,
        &serde_json::to_string_pretty(zd).expect("JSON"),
    );
}

#[test]
fn error_samples() {
    let Some(c) = kubesim(Default::default(), "default") else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let first_error = |args: &[&str], kubeconfig: Option<&Path>| -> String {
        let mut cmd = support::isolated(
            Path::new(env!("CARGO_BIN_EXE_kubectl-graceful")),
            dir.path(),
        );
        if let Some(k) = kubeconfig {
            cmd.env("KUBECONFIG", k);
        }
        cmd.args(args);
        let out = support::run(cmd, Duration::from_secs(60));
        assert_eq!(out.code, 2, "{out}");
        out.stderr.lines().next().unwrap_or_default().to_string()
    };
    // The simulator's kubeconfig with its context called prod.
    let prod = dir.path().join("prod.yaml");
    std::fs::copy(&c.kubeconfig, &prod).expect("copy kubeconfig");
    let renamed = c.kubectl(&[
        "config",
        "rename-context",
        "kubesim",
        "prod",
        "--kubeconfig",
        prod.to_str().expect("utf-8 path"),
    ]);
    assert_eq!(renamed.code, 0, "{renamed}");
    // A port nothing listens on, in a context kind-dev.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let kind = dir.path().join("kind.yaml");
    std::fs::write(
        &kind,
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: kind-dev\n\
             clusters: [{{name: kind-dev, cluster: {{server: 'https://127.0.0.1:{closed}', insecure-skip-tls-verify: true}}}}]\n\
             users: [{{name: kind-dev, user: {{token: t}}}}]\n\
             contexts: [{{name: kind-dev, context: {{cluster: kind-dev, user: kind-dev}}}}]\n"
        ),
    )
    .expect("write");
    let two = dir.path().join("two.yaml");
    std::fs::write(
        &two,
        "apiVersion: v1\nkind: Config\ncurrent-context: dev\n\
         clusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\n\
         users: [{name: u, user: {token: t}}]\n\
         contexts: [{name: dev, context: {cluster: c, user: u}}, {name: staging, context: {cluster: c, user: u}}]\n",
    )
    .expect("write");
    let errors = [
        first_error(&["explain", "web-1"], None),
        first_error(&["explain", "web-1", "-n", "shop"], Some(&prod)),
        first_error(&["explain", "web-1"], Some(&kind)),
        first_error(&["explain", "web-1", "--context", "prod"], Some(&two)),
    ];
    check("errors", Match::Shape, &errors.join("\n"));
}

#[test]
fn request_log_sample() {
    let Some(c) = kubesim(
        kubesim::SimOptions {
            scenario_yaml: vec![fixture("explain/healthy.yaml")],
            ..Default::default()
        },
        "default",
    ) else {
        return;
    };
    let out = c.graceful(&["explain", "fine-1", "-v=6"]);
    assert_eq!(out.code, 0, "{out}");
    let line = out
        .stderr
        .lines()
        .find(|l| l.contains("\"Response\"") && l.contains("/pods/fine-1\""))
        .unwrap_or_else(|| panic!("no response line for the pod: {out}"));
    check("request-log", Match::Shape, line);
}

#[test]
fn kubectl_complete_samples() {
    let Some(c) = kubesim(
        kubesim::SimOptions {
            scenario_yaml: vec![fixture("readme/web-behind-service.yaml")],
            ..Default::default()
        },
        "default",
    ) else {
        return;
    };
    // kubectl finds the helper on PATH, as after `cargo install`.
    let dir = tempfile::tempdir().expect("temp dir");
    for bin in [
        env!("CARGO_BIN_EXE_kubectl-graceful"),
        env!("CARGO_BIN_EXE_kubectl_complete-graceful"),
    ] {
        let name = Path::new(bin).file_name().expect("file name");
        #[cfg(unix)]
        std::os::unix::fs::symlink(bin, dir.path().join(name)).expect("link");
    }
    let mut runs = Vec::new();
    for words in [["diagnose", "--fa"], ["restart", "deploy/"]] {
        let mut cmd = support::isolated(&support::kubectl_path(), dir.path());
        cmd.env("PATH", format!("{}:/usr/bin:/bin", dir.path().display()))
            .env("KUBECONFIG", &c.kubeconfig)
            .args(["__complete", "graceful"])
            .args(words);
        let out = support::run(cmd, Duration::from_secs(60));
        assert_eq!(out.code, 0, "{out}");
        runs.push(format!(
            "$ kubectl __complete graceful {}\n{}",
            words.join(" "),
            out.stdout
        ));
    }
    check("kubectl-complete", Match::Exact, &runs.join(""));
}

#[test]
fn plugin_list_sample() {
    if !support::require_kubectl("the README's plugin list sample") {
        return;
    }
    // kubectl-graceful in a folder on PATH, as a release archive's user puts it; the folder is
    // shown as /usr/local/bin.
    let dir = tempfile::tempdir().expect("temp dir");
    let bin = dir.path().join("kubectl-graceful");
    #[cfg(unix)]
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_kubectl-graceful"), &bin).expect("link");
    let mut runs = Vec::new();
    for args in [&["plugin", "list"][..], &["graceful", "--version"][..]] {
        let mut cmd = support::isolated(&support::kubectl_path(), dir.path());
        cmd.env("PATH", format!("{}:/usr/bin:/bin", dir.path().display()))
            .args(args);
        let out = support::run(cmd, Duration::from_secs(60));
        assert_eq!(out.code, 0, "{out}");
        runs.push(transcript(&format!("kubectl {}", args.join(" ")), &out));
    }
    let text = runs
        .join("")
        .replace(&dir.path().display().to_string(), "/usr/local/bin");
    check("plugin-list", Match::Exact, &text);
}

/// The output blocks: a fence whose first line is a `$ ` command, or a `console` block, or one
/// that starts with `error: `. Each is a sample or says why it is not.
#[test]
fn every_output_block_is_a_sample_or_says_why_not() {
    let lines = readme_lines();
    let mut unmarked = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let fence = lines[i].trim_start();
        if !fence.starts_with("```") {
            i += 1;
            continue;
        }
        let close = (i + 1..lines.len())
            .find(|&j| lines[j].trim_start().starts_with("```"))
            .unwrap_or(lines.len());
        let first = lines.get(i + 1).map(|l| l.trim_start()).unwrap_or("");
        let is_output =
            fence == "```console" || first.starts_with("$ ") || first.starts_with("error: ");
        let before = if i > 0 { lines[i - 1].trim() } else { "" };
        let said =
            before.starts_with("<!-- sample: ") || before.starts_with("<!-- not generated: ");
        if is_output && !said {
            unmarked.push(format!("README.md:{}: {first}", i + 1));
        }
        i = close + 1;
    }
    assert!(
        unmarked.is_empty(),
        "output blocks that are neither `<!-- sample: NAME -->` (with a test here) nor \
         `<!-- not generated: WHY -->`:\n{}",
        unmarked.join("\n")
    );
    // And every sample marker has its test in this file.
    let this = include_str!("readme.rs");
    for l in &lines {
        if let Some(name) = l
            .trim()
            .strip_prefix("<!-- sample: ")
            .and_then(|r| r.strip_suffix(" -->"))
        {
            let called = Regex::new(&format!(r#""{}",\s*Match::"#, regex::escape(name))).unwrap();
            assert!(
                called.is_match(this),
                "README sample `{name}` has no check in tests/readme.rs"
            );
        }
    }
}

#[test]
fn shape_matching_ignores_numbers_and_generated_names_but_not_words() {
    assert!(shape_matches(
        "deploy/api: complete, 3/3 new pods Ready in 1.2s",
        "deploy/api: complete, 2/2 new pods Ready in 10.8s"
    ));
    assert!(shape_matches(
        "pod web-5d6d5fd6-lz6bf: deleted   at 04:29:53Z",
        "pod web-68d56f55dc-fc5rj: deleted at 05:52:32Z"
    ));
    assert!(!shape_matches("deploy/api: complete", "deploy/api: failed"));
    assert!(!shape_matches("pod web-x: deleted", "pod api-x: deleted"));
    assert!(shape_matches("a\n…\nz", "a\nb\nc\nz"));
    assert!(shape_matches("a\n…\nz", "a\nz"));
    assert!(!shape_matches("a\n…\nz", "a\nb"));
    assert!(!shape_matches("a\nb", "a\nb\nc"));
}
