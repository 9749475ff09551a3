//! Release packaging: the committed krew manifest, the release workflow's matrix, and `dist` for real —
//! the archive it builds from the test binary validates like krew-index, and the unpacked plugin is found
//! and run by the real kubectl.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use xtask::archive;
use xtask::dist::{self, Options};
use xtask::platform::{self, PLATFORMS};
use xtask::render::{self, Shas};
use xtask::validate;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

const VERSION: &str = env!("CARGO_PKG_VERSION");

#[test]
fn committed_manifest_is_the_rendered_template_and_valid() {
    let committed = std::fs::read_to_string(root().join(render::COMMITTED)).unwrap();
    let rendered = render::render_file(&root(), VERSION, None, &Shas::Unreleased).unwrap();
    assert!(
        committed == rendered.text,
        "{} is not what the renderer makes of {} for version {VERSION}: run `{}`",
        render::COMMITTED,
        render::TEMPLATE,
        render::REGENERATE
    );
    let problems = validate::validate_file(&root().join(render::COMMITTED), None, Some(VERSION));
    assert_eq!(problems, Vec::<String>::new());

    // Every release platform, each with the placeholder sha256 and its release archive's URL.
    let report = validate::check_manifest(&committed, "graceful", Some(VERSION));
    let got: BTreeSet<(&str, &str)> = report
        .platforms
        .iter()
        .flat_map(|p| p.matches.clone())
        .collect();
    let want: BTreeSet<(&str, &str)> = PLATFORMS.iter().map(|p| (p.os, p.arch)).collect();
    assert_eq!(got, want);
    for p in &report.platforms {
        assert_eq!(p.sha256, render::PLACEHOLDER_SHA256);
        let plat = PLATFORMS
            .iter()
            .find(|x| p.matches == [(x.os, x.arch)])
            .unwrap();
        assert_eq!(
            p.uri,
            format!(
                "https://github.com/kubectl-graceful/kubectl-graceful/releases/download/v{VERSION}/{}",
                platform::archive_name(VERSION, plat.triple)
            )
        );
        assert_eq!(p.bin, platform::exe(platform::BIN, plat.triple));
    }
}

#[test]
fn workflow_matrix_is_the_platform_map() {
    let path = root().join(".github/workflows/release.yml");
    let wf: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let include = wf["jobs"]["dist"]["strategy"]["matrix"]["include"]
        .as_sequence()
        .expect("jobs.dist.strategy.matrix.include");
    let mut triples: Vec<&str> = include
        .iter()
        .map(|e| e["target"].as_str().unwrap())
        .collect();
    let mut want: Vec<&str> = PLATFORMS.iter().map(|p| p.triple).collect();
    triples.sort();
    want.sort();
    assert_eq!(
        triples, want,
        "the release matrix and krew/src/platform.rs PLATFORMS differ"
    );

    assert_eq!(wf["on"]["push"]["tags"][0].as_str(), Some("v*"));
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(&format!("krew_template_file: {}", render::TEMPLATE)));
    assert!(text.contains("cargo xtask validate dist/graceful.yaml --archives dist"));
}

fn host_bin_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_kubectl-graceful"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn run_dist(target: &str, bin_dir: &Path, out_dir: &Path) -> dist::Output {
    dist::dist(&Options {
        root: root(),
        target: target.to_string(),
        out_dir: out_dir.to_path_buf(),
        bin_dir: Some(bin_dir.to_path_buf()),
        base_url: None,
        mtime: archive::DEFAULT_MTIME,
    })
    .unwrap()
}

/// `kubectl` with only `dir` and /usr/bin on PATH, and HOME/KUBECONFIG in a temp dir.
fn kubectl(kubectl: &Path, dir: &Path, home: &Path, args: &[&str]) -> std::process::Output {
    Command::new(kubectl)
        .args(args)
        .env_clear()
        .env("PATH", format!("{}:/usr/bin", dir.display()))
        .env("HOME", home)
        .env("KUBECONFIG", home.join("kubeconfig"))
        .output()
        .unwrap()
}

#[test]
fn host_dist_archive_validates_and_kubectl_runs_the_unpacked_plugin() {
    let out = tempfile::tempdir().unwrap();
    let triple = "x86_64-unknown-linux-gnu";
    let d = run_dist(triple, &host_bin_dir(), out.path());

    let name = platform::archive_name(VERSION, triple);
    assert_eq!(d.archive, out.path().join(&name));
    assert_eq!(d.sha256, archive::sha256_file(&d.archive).unwrap());
    let sum_file = std::fs::read_to_string(out.path().join(format!("{name}.sha256"))).unwrap();
    assert_eq!(sum_file, format!("{}  {name}\n", d.sha256));

    // The manifest maps the local gnu build to linux/amd64, with the archive's real sha256.
    assert_eq!(d.manifest, out.path().join("graceful.yaml"));
    let text = std::fs::read_to_string(&d.manifest).unwrap();
    let report = validate::check_manifest(&text, "graceful", Some(VERSION));
    assert_eq!(report.problems, Vec::<String>::new());
    assert_eq!(report.platforms.len(), 1, "{text}");
    let linux = &report.platforms[0];
    assert_eq!(linux.matches, [("linux", "amd64")]);
    assert_eq!(linux.sha256, d.sha256);
    assert_eq!(linux.file_name(), name);
    assert_eq!(
        validate::validate_file(&d.manifest, Some(out.path()), Some(VERSION)),
        Vec::<String>::new()
    );

    // Sorted entries, binaries executable.
    let listed = archive::list(&d.archive).unwrap();
    let names: Vec<&str> = listed.iter().map(|l| l.name.as_str()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    for want in [
        "LICENSE",
        "README.md",
        "kubectl-graceful",
        "kubectl_complete-graceful",
    ] {
        assert!(names.contains(&want), "{names:?}");
    }
    for l in &listed {
        let exec = l.name.starts_with("kubectl");
        assert_eq!(l.mode, Some(if exec { 0o755 } else { 0o644 }), "{}", l.name);
    }

    // Unpacked and put on PATH, the real kubectl finds the plugin and runs it.
    let Some(kubectl_bin) = kubesim::tools::kubectl("the unpacked plugin through kubectl") else {
        return;
    };
    let unpacked = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    archive::unpack(&d.archive, unpacked.path()).unwrap();
    let list = kubectl(
        &kubectl_bin,
        unpacked.path(),
        home.path(),
        &["plugin", "list"],
    );
    let stdout = String::from_utf8_lossy(&list.stdout);
    let stderr = String::from_utf8_lossy(&list.stderr);
    assert!(list.status.success(), "{stdout}{stderr}");
    let plugin = unpacked.path().join("kubectl-graceful");
    assert!(
        stdout.lines().any(|l| l.trim() == plugin.to_str().unwrap()),
        "{stdout}"
    );
    assert!(!stderr.to_lowercase().contains("warning"), "{stderr}");
    assert!(!stdout.to_lowercase().contains("warning"), "{stdout}");

    let version = kubectl(
        &kubectl_bin,
        unpacked.path(),
        home.path(),
        &["graceful", "--version"],
    );
    assert!(version.status.success(), "{version:?}");
    assert_eq!(
        String::from_utf8_lossy(&version.stdout).trim(),
        format!("kubectl-graceful {VERSION}")
    );

    // The archive's completion helper lets kubectl's own completion complete the plugin.
    let complete = kubectl(
        &kubectl_bin,
        unpacked.path(),
        home.path(),
        &["__complete", "graceful", "dia"],
    );
    let stdout = String::from_utf8_lossy(&complete.stdout);
    assert!(complete.status.success(), "{complete:?}");
    assert!(
        stdout.lines().any(|l| l.starts_with("diagnose\t")),
        "{stdout}"
    );
    assert_eq!(stdout.lines().last(), Some(":4"), "{stdout}");
}

fn fake_windows_bins() -> tempfile::TempDir {
    let bins = tempfile::tempdir().unwrap();
    for bin in platform::BINS {
        std::fs::write(
            bins.path().join(format!("{bin}.exe")),
            b"MZ fake windows binary",
        )
        .unwrap();
    }
    bins
}

#[test]
fn dist_without_the_plugin_binary_fails_naming_it() {
    let bins = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let err = dist::dist(&Options {
        root: root(),
        target: "x86_64-pc-windows-msvc".into(),
        out_dir: out.path().into(),
        bin_dir: Some(bins.path().into()),
        base_url: None,
        mtime: archive::DEFAULT_MTIME,
    })
    .unwrap_err()
    .to_string();
    assert!(err.contains("kubectl-graceful.exe not found"), "{err}");
}

#[test]
fn windows_dist_makes_a_zip_with_the_exe() {
    let bins = fake_windows_bins();
    let out = tempfile::tempdir().unwrap();
    let d = run_dist("x86_64-pc-windows-msvc", bins.path(), out.path());
    assert_eq!(
        d.archive.file_name().unwrap().to_str().unwrap(),
        format!("kubectl-graceful-v{VERSION}-x86_64-pc-windows-msvc.zip")
    );
    let names: Vec<String> = archive::list(&d.archive)
        .unwrap()
        .into_iter()
        .map(|l| l.name)
        .collect();
    assert_eq!(
        names,
        [
            "LICENSE",
            "README.md",
            "kubectl-graceful.exe",
            "kubectl_complete-graceful.exe"
        ]
    );

    let text = std::fs::read_to_string(&d.manifest).unwrap();
    let report = validate::check_manifest(&text, "graceful", Some(VERSION));
    assert_eq!(report.problems, Vec::<String>::new());
    assert_eq!(report.platforms.len(), 1);
    assert_eq!(report.platforms[0].matches, [("windows", "amd64")]);
    assert_eq!(report.platforms[0].bin, "kubectl-graceful.exe");
    assert_eq!(report.platforms[0].sha256, d.sha256);

    // Reproducible: the same binaries packed again give the same bytes.
    let again = tempfile::tempdir().unwrap();
    assert_eq!(
        run_dist("x86_64-pc-windows-msvc", bins.path(), again.path()).sha256,
        d.sha256
    );
}

#[test]
fn a_tampered_archive_fails_the_sha256_check() {
    let bins = fake_windows_bins();
    let out = tempfile::tempdir().unwrap();
    let d = run_dist("x86_64-pc-windows-msvc", bins.path(), out.path());
    assert!(validate::validate_file(&d.manifest, Some(out.path()), None).is_empty());

    let mut bytes = std::fs::read(&d.archive).unwrap();
    bytes.push(0);
    std::fs::write(&d.archive, bytes).unwrap();
    let problems = validate::validate_file(&d.manifest, Some(out.path()), None);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].contains("sha256 mismatch"), "{problems:?}");
}

#[test]
fn an_archive_without_license_or_bin_fails_validation() {
    let dir = tempfile::tempdir().unwrap();
    let name = platform::archive_name(VERSION, "x86_64-unknown-linux-musl");
    let manifest_for = |entries: &[archive::Entry]| {
        archive::write(&dir.path().join(&name), entries, archive::DEFAULT_MTIME).unwrap();
        let shas = Shas::Archives {
            dir: dir.path().into(),
            allow_missing: true,
            local_substitutes: false,
        };
        let r = render::render_file(&root(), VERSION, None, &shas).unwrap();
        let path = dir.path().join("graceful.yaml");
        std::fs::write(&path, r.text).unwrap();
        validate::validate_file(&path, Some(dir.path()), Some(VERSION))
    };
    let entry = |name: &str, mode| archive::Entry {
        name: name.into(),
        data: b"x".to_vec(),
        mode,
    };

    let ok = manifest_for(&[entry("kubectl-graceful", 0o755), entry("LICENSE", 0o644)]);
    assert_eq!(ok, Vec::<String>::new());

    let p = manifest_for(&[entry("kubectl-graceful", 0o755), entry("README.md", 0o644)]);
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(p[0].contains("no LICENSE file"), "{p:?}");

    let p = manifest_for(&[entry("kubectl-graceful", 0o644), entry("LICENSE", 0o644)]);
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(p[0].contains("not executable"), "{p:?}");

    let p = manifest_for(&[entry("graceful", 0o755), entry("LICENSE", 0o644)]);
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(p[0].contains("bin \"kubectl-graceful\" is not in"), "{p:?}");
}
