//! The `testbed` binary's contract: the admin kubeconfig's path as the first line of stdout, a real
//! control plane behind it, and on SIGTERM every process stopped and the folder removed.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn kubectl(kubectl: &Path, kubeconfig: &str, args: &[&str]) -> String {
    let out = Command::new(kubectl)
        .args(["--kubeconfig", kubeconfig])
        .args(args)
        .env("HOME", std::env::temp_dir())
        .output()
        .expect("kubectl runs");
    assert!(
        out.status.success(),
        "kubectl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn serves_a_real_control_plane_and_cleans_up_on_sigterm() {
    if !gotools::require_go("the testbed binary test") {
        return;
    }
    let Some(kubectl_bin) = kubesim::tools::kubectl("the testbed binary test") else {
        return;
    };
    let kubectl = |kubeconfig: &str, args: &[&str]| kubectl(&kubectl_bin, kubeconfig, args);
    let mut child = Command::new(env!("CARGO_BIN_EXE_testbed"))
        .args(["--k8s", "1.37", "--nodes", "2", "-v"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("testbed starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let kubeconfig = lines.next().expect("a first line").expect("utf-8");
    assert!(kubeconfig.ends_with("admin.kubeconfig"), "{kubeconfig}");
    let dir = std::path::Path::new(&kubeconfig)
        .parent()
        .unwrap()
        .to_path_buf();

    let livez = kubectl(&kubeconfig, &["get", "--raw", "/livez?verbose"]);
    assert!(livez.contains("[+]etcd ok"), "{livez}");
    let resources = kubectl(&kubeconfig, &["api-resources", "-o", "name"]);
    for r in [
        "deployments.apps",
        "poddisruptionbudgets.policy",
        "leases.coordination.k8s.io",
        "events.events.k8s.io",
    ] {
        assert!(
            resources.lines().any(|l| l == r),
            "{r} missing:\n{resources}"
        );
    }
    let version = kubectl(&kubeconfig, &["get", "--raw", "/version"]);
    assert!(version.contains("\"gitVersion\": \"v1.37.2\""), "{version}");
    let nodes = kubectl(&kubeconfig, &["get", "nodes", "-o", "name"]);
    assert_eq!(
        nodes.lines().collect::<Vec<_>>(),
        ["node/node-1", "node/node-2"]
    );

    // SAFETY: signalling the child we started.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        assert!(
            Instant::now() < deadline,
            "testbed still running 60 s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status}");
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(
        stderr.contains("started in") && stderr.contains("kube-apiserver"),
        "-v output: {stderr}"
    );
    assert!(!dir.exists(), "{} left behind", dir.display());
    // No process of it is left (their command lines name the folder).
    let needle = dir.display().to_string();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        assert!(
            !String::from_utf8_lossy(&cmdline).contains(&needle),
            "left running: {}",
            String::from_utf8_lossy(&cmdline)
        );
    }
}
