//! Builds the Go commands the tests need (the Kubernetes control plane, etcd, krew) from pinned Go
//! modules committed under `tests/go/<module>/` (go.mod + go.sum), and caches the binaries under
//! `target/go/<module>-<key>/`, where the key hashes the Go version, go.mod, go.sum and the package
//! list. Only the first build pays; a changed pin builds anew.
//!
//! Several test binaries may ask for the same module at once: a lock file serialises them, and a
//! build goes to a temporary folder that is renamed into place, so a half-built cache never exists.
//!
//! Where `go` is missing, [`require_go`] fails under `CI=true` and otherwise skips with a note.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use sha2::{Digest, Sha256};

/// The repository's root (this crate lives in `tests/gotools`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repository root")
}

/// The cargo target folder (`CARGO_TARGET_DIR` when set, else `<root>/target`).
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(d) if !d.is_empty() => {
            let d = PathBuf::from(d);
            if d.is_absolute() {
                d
            } else {
                repo_root().join(d)
            }
        }
        _ => repo_root().join("target"),
    }
}

/// The `go` command's version line, or `None` when there is no usable `go` on PATH.
pub fn go_version() -> Option<String> {
    let out = Command::new("go")
        .arg("version")
        .env("GOTOOLCHAIN", "local")
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// `true` when `go` can be used. Without it: under `CI=true` this panics with what to install
/// (CI must not pass by skipping); otherwise it prints a note naming `what` and returns `false`,
/// so the caller returns early.
pub fn require_go(what: &str) -> bool {
    if go_version().is_some() {
        return true;
    }
    let msg = format!(
        "{what} needs Go (1.26 or newer, with the Go module proxy) to build its Go commands, \
         and `go` is not on PATH; install Go (https://go.dev/doc/install) and run again"
    );
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{msg}");
    }
    eprintln!("note: skipped: {msg}");
    false
}

/// Builds `packages` (import paths) of the pinned module `tests/go/<module>` and returns the folder
/// holding the binaries (each named after its package's last element).
pub fn build(module: &str, packages: &[&str]) -> Result<PathBuf, String> {
    let module_dir = repo_root().join("tests/go").join(module);
    let go_mod = read(&module_dir.join("go.mod"))?;
    let go_sum = read(&module_dir.join("go.sum"))?;
    let go = go_version().ok_or("`go` is not on PATH")?;
    let ldflags = version_ldflags(&String::from_utf8_lossy(&go_mod)).unwrap_or_default();

    let mut h = Sha256::new();
    for part in [
        go.as_bytes(),
        &go_mod,
        &go_sum,
        packages.join("\n").as_bytes(),
        ldflags.as_bytes(),
    ] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part);
    }
    let key: String = h
        .finalize()
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect();

    let cache = target_dir().join("go");
    fs::create_dir_all(&cache).map_err(|e| format!("create {}: {e}", cache.display()))?;
    let out = cache.join(format!("{module}-{key}"));
    let done = |dir: &Path| packages.iter().all(|p| dir.join(binary_name(p)).is_file());
    if done(&out) {
        return Ok(out);
    }

    // One builder at a time per module; the others wait, then find the cache filled.
    let lock_path = cache.join(format!("{module}.lock"));
    let lock = File::create(&lock_path).map_err(|e| format!("{}: {e}", lock_path.display()))?;
    lock.lock()
        .map_err(|e| format!("lock {}: {e}", lock_path.display()))?;
    if done(&out) {
        return Ok(out);
    }

    let tmp = cache.join(format!("{module}-{key}.building"));
    let _ = fs::remove_dir_all(&tmp);
    fs::create_dir_all(&tmp).map_err(|e| format!("create {}: {e}", tmp.display()))?;
    let started = Instant::now();
    let mut stderr = std::io::stderr();
    let _ = writeln!(
        stderr,
        "gotools: building {} from tests/go/{module} ({go}); the first build takes minutes, later runs reuse {}",
        packages.join(" "),
        out.display()
    );
    let status = Command::new("go")
        .current_dir(&module_dir)
        .args(["build", "-trimpath", "-mod=readonly"])
        .arg(format!("-ldflags={ldflags}"))
        .arg("-o")
        .arg(&tmp)
        .args(packages)
        // The pinned toolchain is the machine's; never fetch another one behind the tests' back.
        .env("GOTOOLCHAIN", "local")
        .env("CGO_ENABLED", "0")
        .env("GOFLAGS", "-mod=readonly")
        .status()
        .map_err(|e| format!("run go build: {e}"))?;
    if !status.success() {
        return Err(format!(
            "go build of {} in tests/go/{module} failed ({status}); see the compiler output above",
            packages.join(" ")
        ));
    }
    let _ = fs::remove_dir_all(&out);
    fs::rename(&tmp, &out).map_err(|e| format!("rename {} into place: {e}", tmp.display()))?;
    let _ = writeln!(
        stderr,
        "gotools: built tests/go/{module} in {:.0?}",
        started.elapsed()
    );
    Ok(out)
}

/// For a module that pins `k8s.io/kubernetes vX.Y.Z`: the `-X` flags upstream's build stamps the
/// version with (hack/lib/version.sh). Without them the binaries report `v0.0.0-master+$Format:%H$`
/// at /version and as the default user agent, and clients that check the server version (kubectl,
/// the plugin's version-dependent advice) see a wrong one.
pub fn version_ldflags(go_mod: &str) -> Option<String> {
    let version = go_mod.lines().find_map(|l| {
        let l = l.trim().trim_start_matches("require").trim();
        l.strip_prefix("k8s.io/kubernetes v")
            .map(|v| v.split_whitespace().next().unwrap_or(v).to_string())
    })?;
    let mut parts = version.split('.');
    let (major, minor) = (parts.next()?, parts.next()?);
    let mut flags = Vec::new();
    for pkg in [
        "k8s.io/component-base/version",
        "k8s.io/client-go/pkg/version",
    ] {
        flags.push(format!("-X {pkg}.gitVersion=v{version}"));
        flags.push(format!("-X {pkg}.gitMajor={major}"));
        flags.push(format!("-X {pkg}.gitMinor={minor}"));
        flags.push(format!("-X {pkg}.gitTreeState=clean"));
    }
    Some(flags.join(" "))
}

/// The file name `go build -o DIR` gives a package's binary: its last path element (major-version
/// suffixes such as `/v3` are skipped, as the go command does).
pub fn binary_name(package: &str) -> String {
    let mut parts = package.trim_end_matches('/').rsplit('/');
    let last = parts.next().unwrap_or(package);
    let is_major =
        last.len() > 1 && last.starts_with('v') && last[1..].chars().all(|c| c.is_ascii_digit());
    let name = if is_major {
        parts.next().unwrap_or(last)
    } else {
        last
    };
    if cfg!(windows) {
        format!("{name}.exe")
    } else {
        name.to_string()
    }
}

fn read(p: &Path) -> Result<Vec<u8>, String> {
    fs::read(p).map_err(|e| format!("{}: {e}", p.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_names_follow_go_build() {
        assert_eq!(
            binary_name("k8s.io/kubernetes/cmd/kube-apiserver"),
            "kube-apiserver"
        );
        assert_eq!(binary_name("go.etcd.io/etcd/server/v3"), "server");
        assert_eq!(binary_name("sigs.k8s.io/krew/cmd/krew"), "krew");
    }

    #[test]
    fn kubernetes_modules_get_their_version_stamped() {
        let flags = version_ldflags("module x\n\ngo 1.26.0\n\nrequire k8s.io/kubernetes v1.37.2\n")
            .unwrap();
        assert!(
            flags.contains("-X k8s.io/component-base/version.gitVersion=v1.37.2"),
            "{flags}"
        );
        assert!(
            flags.contains("-X k8s.io/component-base/version.gitMinor=37"),
            "{flags}"
        );
        assert!(
            flags.contains("-X k8s.io/client-go/pkg/version.gitMajor=1"),
            "{flags}"
        );
        let pinned = std::fs::read_to_string(repo_root().join("tests/go/k8s-1.35/go.mod")).unwrap();
        assert!(version_ldflags(&pinned)
            .unwrap()
            .contains("gitVersion=v1.35."));
        assert_eq!(
            version_ldflags("module y\nrequire go.etcd.io/etcd/server/v3 v3.6.16\n"),
            None
        );
    }

    #[test]
    fn target_dir_is_under_the_repo_by_default() {
        if std::env::var_os("CARGO_TARGET_DIR").is_none() {
            assert_eq!(target_dir(), repo_root().join("target"));
        }
    }
}
