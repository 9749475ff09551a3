//! The `kubesim` binary prints a kubeconfig path and serves the scenario.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[test]
fn binary_serves_a_scenario() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("s.yaml");
    std::fs::write(
        &f,
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: hello, namespace: demo}\ndata: {a: b}\n",
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_kubesim"))
        .args(["--scenario"])
        .arg(&f)
        .args(["--time-scale", "5", "--server-version", "v1.30.4"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let kc = std::path::PathBuf::from(line.trim());
    let text = std::fs::read_to_string(&kc).unwrap();
    assert!(
        text.contains("current-context: kubesim")
            && text.contains("certificate-authority-data:")
            && text.contains("namespace: default")
    );
    if let Some(kubectl) = kubesim::tools::kubectl("the kubesim binary through kubectl") {
        let o = Command::new(&kubectl)
            .arg("--kubeconfig")
            .arg(&kc)
            .args([
                "-n",
                "demo",
                "get",
                "configmap",
                "hello",
                "-o",
                "jsonpath={.data.a}",
            ])
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&o.stdout),
            "b",
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        let o = Command::new(&kubectl)
            .arg("--kubeconfig")
            .arg(&kc)
            .args(["version", "-o", "json"])
            .output()
            .unwrap();
        assert!(String::from_utf8_lossy(&o.stdout).contains("v1.30.4"));
    }
    // Ctrl-C: the binary stops and removes its temp dir
    let _ = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    let t = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if t.elapsed() > std::time::Duration::from_secs(5) {
            child.kill().unwrap();
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(!kc.exists(), "temp dir removed on SIGTERM");
}

/// The admin endpoint from outside Rust: `scripts/admin-demo.sh` starts the binary, injects
/// faults with curl and reads the request log.
#[test]
fn a_shell_script_injects_faults_and_reads_the_request_log() {
    let what = "the admin endpoint's script test";
    if !kubesim::tools::program("curl", &["--version"], what, "apt-get install curl") {
        return;
    }
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/admin-demo.sh");
    let out = Command::new("bash")
        .arg(&script)
        .arg(env!("CARGO_BIN_EXE_kubesim"))
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    assert!(text.contains("admin endpoint: all checks passed"), "{text}");
}
