//! The krew manifest template is valid for krew, and the release script renders it completely.

use std::collections::HashSet;
use std::process::Command;

fn manifest() -> serde_yaml::Value {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/krew/graceful.yaml"))
        .unwrap();
    serde_yaml::from_str(&text).unwrap()
}

#[test]
fn manifest_follows_krew_rules() {
    let m = manifest();
    assert_eq!(
        m["apiVersion"].as_str(),
        Some("krew.googlecontainertools.github.com/v1alpha2")
    );
    assert_eq!(m["kind"].as_str(), Some("Plugin"));
    assert_eq!(
        m["metadata"]["name"].as_str(),
        Some("graceful"),
        "name = file name"
    );
    let spec = &m["spec"];
    assert!(spec["version"].as_str().unwrap().starts_with('v'));
    let short = spec["shortDescription"].as_str().unwrap();
    assert!(
        short.len() <= 50,
        "shortDescription too long: {}",
        short.len()
    );
    assert!(spec["homepage"].as_str().unwrap().starts_with("https://"));
    let mut seen = HashSet::new();
    for p in spec["platforms"].as_sequence().unwrap() {
        let labels = p["selector"]["matchLabels"].as_mapping().unwrap();
        let keys: HashSet<&str> = labels.keys().map(|k| k.as_str().unwrap()).collect();
        assert_eq!(
            keys,
            HashSet::from(["os", "arch"]),
            "selector on os/arch only"
        );
        let os = labels[&serde_yaml::Value::from("os")]
            .as_str()
            .unwrap()
            .to_string();
        let arch = labels[&serde_yaml::Value::from("arch")]
            .as_str()
            .unwrap()
            .to_string();
        assert!(seen.insert((os.clone(), arch)), "overlapping selectors");
        let uri = p["uri"].as_str().unwrap();
        assert!(uri.ends_with(".tar.gz") || uri.ends_with(".zip"), "{uri}");
        let bin = p["bin"].as_str().unwrap();
        assert_eq!(bin.ends_with(".exe"), os == "windows", "{bin}");
    }
}

#[test]
fn render_fills_every_url_and_sha256() {
    let dist = tempfile::tempdir().unwrap();
    for t in [
        "x86_64-unknown-linux-musl.tar.gz",
        "aarch64-unknown-linux-musl.tar.gz",
        "x86_64-apple-darwin.tar.gz",
        "aarch64-apple-darwin.tar.gz",
        "x86_64-pc-windows-msvc.zip",
    ] {
        std::fs::write(dist.path().join(format!("kubectl-graceful-v1.2.3-{t}")), t).unwrap();
    }
    let out = Command::new("bash")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/krew/render.sh"))
        .args(["1.2.3"])
        .arg(dist.path())
        .arg("https://example.invalid/releases/v1.2.3")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let m: serde_yaml::Value = serde_yaml::from_slice(&out.stdout).unwrap();
    assert_eq!(m["spec"]["version"].as_str(), Some("v1.2.3"));
    for p in m["spec"]["platforms"].as_sequence().unwrap() {
        let sum = p["sha256"].as_str().unwrap();
        assert!(
            sum.len() == 64
                && sum
                    .chars()
                    .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()),
            "{sum}"
        );
        assert!(p["uri"]
            .as_str()
            .unwrap()
            .starts_with("https://example.invalid/releases/v1.2.3/kubectl-graceful-v1.2.3-"));
    }
    // A missing archive is an error, not a manifest with a placeholder.
    std::fs::remove_file(
        dist.path()
            .join("kubectl-graceful-v1.2.3-x86_64-pc-windows-msvc.zip"),
    )
    .unwrap();
    let out = Command::new("bash")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/krew/render.sh"))
        .args(["1.2.3"])
        .arg(dist.path())
        .arg("https://example.invalid")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("x86_64-pc-windows-msvc"));
}
