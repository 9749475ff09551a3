//! Release packaging: the committed krew manifest, the release workflow's matrix, and `dist` for real —
//! the archive it builds from the test binary validates like krew-index, and the unpacked plugin is found
//! and run by the real kubectl.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use xtask::archive;
use xtask::dist::{self, Options};
use xtask::krew_index;
use xtask::platform::{self, PLATFORMS};
use xtask::render::{self, Shas};
use xtask::validate;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn os_arch(os: &str, arch: &str) -> (String, String) {
    (os.to_string(), arch.to_string())
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
    let report = validate::check_manifest(&committed, Some(VERSION));
    let got: BTreeSet<(String, String)> = report
        .platforms
        .iter()
        .flat_map(|p| p.matches.clone())
        .collect();
    let want: BTreeSet<(String, String)> =
        PLATFORMS.iter().map(|p| os_arch(p.os, p.arch)).collect();
    assert_eq!(got, want);
    for p in &report.platforms {
        assert_eq!(p.sha256, render::PLACEHOLDER_SHA256);
        let plat = PLATFORMS
            .iter()
            .find(|x| p.matches == [os_arch(x.os, x.arch)])
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
    let report = validate::check_manifest(&text, Some(VERSION));
    assert_eq!(report.problems, Vec::<String>::new());
    assert_eq!(report.platforms.len(), 1, "{text}");
    let linux = &report.platforms[0];
    assert_eq!(linux.matches, [os_arch("linux", "amd64")]);
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
    let report = validate::check_manifest(&text, Some(VERSION));
    assert_eq!(report.problems, Vec::<String>::new());
    assert_eq!(report.platforms.len(), 1);
    assert_eq!(report.platforms[0].matches, [os_arch("windows", "amd64")]);
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

// ---------------------------------------------------------------------------------------------------
// krew itself as the judge: krew-index's validate-krew-manifest and the krew CLI, built from
// sigs.k8s.io/krew v0.4.3 (tests/go/krew-0.4.3) with Go. No network: archives come from a local folder
// (served on 127.0.0.1 for the validator's install step) or are given to krew with --archive.

/// The pinned krew tools, or `None` (the test returns early) when Go is missing outside CI.
fn krew_tools() -> Option<krew_index::Tools> {
    if !gotools::require_go(
        "the krew tests (krew and validate-krew-manifest are built from source)",
    ) {
        return None;
    }
    Some(krew_index::tools().unwrap_or_else(|e| panic!("{e}")))
}

/// The real kubectl, or `None` (the test returns early) when it is missing outside CI.
fn real_kubectl() -> Option<PathBuf> {
    let p = PathBuf::from("/usr/bin/kubectl");
    if p.is_file() {
        return Some(p);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "kubectl is required under CI=true but /usr/bin/kubectl is missing"
    );
    eprintln!("note: skipped: needs kubectl at /usr/bin/kubectl");
    None
}

#[test]
fn krew_index_validator_accepts_the_committed_manifest_and_refuses_an_unquoted_sha256() {
    let Some(tools) = krew_tools() else { return };
    let committed = root().join(render::COMMITTED);
    let out = krew_index::validate(&tools, &committed, None).unwrap_or_else(|e| panic!("{e}"));
    assert!(out.contains("structural validation OK"), "{out}");
    assert!(
        !out.contains("exceeds"),
        "krew warns about line lengths: {out}"
    );

    // The same manifest with its placeholder unquoted, as it was committed before: krew reads the
    // sha256 as the number 0 and refuses it, and so do our own checks.
    let dir = tempfile::tempdir().unwrap();
    let unquoted = dir.path().join("graceful.yaml");
    let text = std::fs::read_to_string(&committed).unwrap().replace(
        &format!("\"{}\"", render::PLACEHOLDER_SHA256),
        render::PLACEHOLDER_SHA256,
    );
    std::fs::write(&unquoted, &text).unwrap();
    let err = krew_index::validate(&tools, &unquoted, None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("`sha256` value 0 is not valid"), "{err}");
    let ours = validate::validate_file(&unquoted, None, Some(VERSION));
    assert_eq!(ours.len(), 5, "{ours:?}");
    assert!(ours[0].contains("read as a number"), "{ours:?}");
}

/// Archives for every release platform: the host's real binaries stand in for linux/amd64 (musl),
/// stand-ins for the others (krew's validator unpacks each and looks for `bin` and a LICENSE; it never
/// runs them).
fn release_dist(out: &Path) {
    let fakes = tempfile::tempdir().unwrap();
    for p in PLATFORMS {
        let bins = if p.triple == "x86_64-unknown-linux-musl" {
            host_bin_dir()
        } else {
            let dir = fakes.path().join(p.triple);
            std::fs::create_dir_all(&dir).unwrap();
            for bin in platform::BINS {
                std::fs::write(dir.join(platform::exe(bin, p.triple)), b"stand-in binary").unwrap();
            }
            dir
        };
        run_dist(p.triple, &bins, out);
    }
}

#[test]
fn every_release_platform_installs_with_krew_index_validator() {
    let Some(tools) = krew_tools() else { return };
    let Some(_) = real_kubectl() else { return };
    let out = tempfile::tempdir().unwrap();
    release_dist(out.path());
    let manifest = out.path().join(dist::MANIFEST);
    assert_eq!(
        validate::validate_file(&manifest, Some(out.path()), Some(VERSION)),
        Vec::<String>::new()
    );
    // The validator installs each platform with `kubectl krew install` (KREW_OS/KREW_ARCH set),
    // downloading its archive from the uri (here 127.0.0.1) and checking the sha256, bin and LICENSE.
    let log =
        krew_index::validate(&tools, &manifest, Some(out.path())).unwrap_or_else(|e| panic!("{e}"));
    let n = PLATFORMS.len();
    assert!(
        log.contains(&format!("all {n} spec.platforms installed fine")),
        "{log}"
    );

    // A tampered archive is refused by krew's own sha256 check.
    let victim = out
        .path()
        .join(platform::archive_name(VERSION, "aarch64-apple-darwin"));
    let mut bytes = std::fs::read(&victim).unwrap();
    bytes.push(0);
    std::fs::write(&victim, bytes).unwrap();
    let err = krew_index::validate(&tools, &manifest, Some(out.path()))
        .unwrap_err()
        .to_string();
    assert!(
        err.to_lowercase().contains("checksum") || err.contains("sha256"),
        "{err}"
    );
}

/// `kubectl` as a krew user runs it: krew's bin folder and `kubectl-krew` on PATH, HOME and
/// KREW_ROOT in temp folders.
struct KrewUser {
    home: tempfile::TempDir,
    path: String,
}

impl KrewUser {
    fn new(tools: &krew_index::Tools) -> KrewUser {
        let home = tempfile::tempdir().unwrap();
        let krew_bin = krew_index::krew_on_path(tools, home.path()).unwrap();
        // `krew list` insists on a cloned plugin index (`kubectl krew update` clones krew-index from
        // GitHub); with no network an empty git repository stands in for it: no plugins to offer,
        // which `install --manifest` and `list` do not need.
        let index = home.path().join("krew/index/default");
        std::fs::create_dir_all(index.join("plugins")).unwrap();
        let git = Command::new("git")
            .args(["init", "-q"])
            .current_dir(&index)
            .status()
            .expect("git is needed to stand in for krew's plugin index");
        assert!(git.success());
        // krew's own setup instructions: put $KREW_ROOT/bin on PATH.
        let path = format!(
            "{}:{}:/usr/bin:/bin",
            home.path().join("krew/bin").display(),
            krew_bin.display()
        );
        KrewUser { home, path }
    }

    fn kubectl(&self, args: &[&str]) -> (bool, String, String) {
        let out = Command::new("/usr/bin/kubectl")
            .args(args)
            .env_clear()
            .env("PATH", &self.path)
            .env("HOME", self.home.path())
            .env("KREW_ROOT", self.home.path().join("krew"))
            .env("KREW_NO_UPGRADE_CHECK", "1")
            .env("KUBECONFIG", self.home.path().join("kubeconfig"))
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

#[test]
fn krew_installs_runs_and_uninstalls_the_plugin() {
    let Some(tools) = krew_tools() else { return };
    let Some(_) = real_kubectl() else { return };
    let out = tempfile::tempdir().unwrap();
    let triple = "x86_64-unknown-linux-gnu";
    let d = run_dist(triple, &host_bin_dir(), out.path());
    let user = KrewUser::new(&tools);

    let manifest = d.manifest.to_str().unwrap();
    let archive = d.archive.to_str().unwrap();
    let (ok, stdout, stderr) = user.kubectl(&[
        "krew",
        "install",
        &format!("--manifest={manifest}"),
        &format!("--archive={archive}"),
    ]);
    assert!(ok, "krew install failed:\n{stdout}{stderr}");
    let said = format!("{stdout}{stderr}");
    assert!(said.contains("Installed plugin: graceful"), "{said}");
    // krew prints the manifest's caveats after installing.
    assert!(
        said.contains("kubectl graceful completion kubectl"),
        "{said}"
    );

    let (ok, stdout, stderr) = user.kubectl(&["krew", "list"]);
    assert!(ok, "{stdout}{stderr}");
    // A plugin installed from a manifest file is listed under krew's "detached" index.
    assert!(
        stdout
            .lines()
            .any(|l| l.split_whitespace().next() == Some("detached/graceful")),
        "{stdout}"
    );

    let (ok, stdout, stderr) = user.kubectl(&["graceful", "--version"]);
    assert!(ok, "{stdout}{stderr}");
    assert_eq!(stdout.trim(), format!("kubectl-graceful {VERSION}"));

    let (ok, stdout, stderr) = user.kubectl(&["plugin", "list"]);
    assert!(ok, "{stdout}{stderr}");
    let installed = user.home.path().join("krew/bin/kubectl-graceful");
    assert!(stdout.contains(installed.to_str().unwrap()), "{stdout}");
    assert!(
        !format!("{stdout}{stderr}")
            .to_lowercase()
            .contains("warning"),
        "{stdout}{stderr}"
    );

    let (ok, stdout, stderr) = user.kubectl(&["krew", "uninstall", "graceful"]);
    assert!(ok, "{stdout}{stderr}");
    assert!(
        !installed.exists(),
        "{} is still there",
        installed.display()
    );
    let (_, stdout, _) = user.kubectl(&["plugin", "list"]);
    assert!(!stdout.contains("kubectl-graceful"), "{stdout}");
}
