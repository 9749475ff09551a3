//! The release platforms: krew's `os`/`arch` pairs ↔ Rust target triples, in one place.
//!
//! The release workflow's build matrix, the krew template's archive names and the manifest renderer all
//! follow [`PLATFORMS`] (a test checks that the workflow's matrix cannot drift from it).

/// The plugin's executable name (without `.exe`); krew's `bin` and the archive's main entry.
pub const BIN: &str = "kubectl-graceful";

/// kubectl's completion helper for the plugin (kubectl ≥ 1.26 runs `kubectl_complete-<plugin>`).
pub const COMPLETION_BIN: &str = "kubectl_complete-graceful";

/// The executables every archive carries (without `.exe`); `dist` refuses to package without any of them.
pub const BINS: [&str; 2] = [BIN, COMPLETION_BIN];

/// One released platform: krew's selector labels and the Rust target that builds for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Platform {
    pub os: &'static str,
    pub arch: &'static str,
    pub triple: &'static str,
}

/// Every platform a release builds, in the order of the manifest.
pub const PLATFORMS: [Platform; 5] = [
    Platform {
        os: "linux",
        arch: "amd64",
        triple: "x86_64-unknown-linux-musl",
    },
    Platform {
        os: "linux",
        arch: "arm64",
        triple: "aarch64-unknown-linux-musl",
    },
    Platform {
        os: "darwin",
        arch: "amd64",
        triple: "x86_64-apple-darwin",
    },
    Platform {
        os: "darwin",
        arch: "arm64",
        triple: "aarch64-apple-darwin",
    },
    Platform {
        os: "windows",
        arch: "amd64",
        triple: "x86_64-pc-windows-msvc",
    },
];

/// The release platform built by `triple`, if it is one of [`PLATFORMS`].
pub fn by_triple(triple: &str) -> Option<&'static Platform> {
    PLATFORMS.iter().find(|p| p.triple == triple)
}

/// The krew `os`/`arch` a binary for `triple` runs on.
///
/// A release triple maps through [`PLATFORMS`]. Any other triple (a local build, e.g. the host's
/// `x86_64-unknown-linux-gnu`) is mapped by parsing it: the architecture is its first component
/// (`x86_64` → `amd64`, `aarch64` → `arm64`), the OS the first of `linux`, `darwin`/`apple`, `windows`
/// found among the remaining components. Anything else is `None`: the archive can be built, but no
/// manifest entry is made for it.
pub fn os_arch(triple: &str) -> Option<(&'static str, &'static str)> {
    if let Some(p) = by_triple(triple) {
        return Some((p.os, p.arch));
    }
    let mut parts = triple.split('-');
    let arch = match parts.next()? {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        _ => return None,
    };
    let os = parts.find_map(|part| match part {
        "linux" => Some("linux"),
        "darwin" | "apple" => Some("darwin"),
        "windows" => Some("windows"),
        _ => None,
    })?;
    Some((os, arch))
}

/// Whether `triple` builds Windows executables (`.exe`, `.zip` archive).
pub fn is_windows(triple: &str) -> bool {
    triple.contains("windows")
}

/// `name` with `.exe` appended for a Windows triple.
pub fn exe(name: &str, triple: &str) -> String {
    if is_windows(triple) {
        format!("{name}.exe")
    } else {
        name.to_string()
    }
}

/// The release archive's file name: `kubectl-graceful-vVERSION-TRIPLE.tar.gz` (`.zip` for Windows).
pub fn archive_name(version: &str, triple: &str) -> String {
    let ext = if is_windows(triple) { "zip" } else { "tar.gz" };
    format!("{BIN}-v{version}-{triple}.{ext}")
}

/// The triple of a release archive's file name for `version`, if the name is one [`archive_name`] makes.
pub fn triple_of_archive(file_name: &str, version: &str) -> Option<String> {
    let rest = file_name.strip_prefix(&format!("{BIN}-v{version}-"))?;
    let triple = rest
        .strip_suffix(".tar.gz")
        .or_else(|| rest.strip_suffix(".zip"))?;
    if triple.is_empty() || archive_name(version, triple) != file_name {
        return None;
    }
    Some(triple.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_triples_map_through_the_table() {
        assert_eq!(
            os_arch("x86_64-unknown-linux-musl"),
            Some(("linux", "amd64"))
        );
        assert_eq!(os_arch("aarch64-apple-darwin"), Some(("darwin", "arm64")));
        assert_eq!(
            os_arch("x86_64-pc-windows-msvc"),
            Some(("windows", "amd64"))
        );
    }

    #[test]
    fn other_triples_are_parsed() {
        assert_eq!(
            os_arch("x86_64-unknown-linux-gnu"),
            Some(("linux", "amd64"))
        );
        assert_eq!(
            os_arch("aarch64-unknown-linux-gnu"),
            Some(("linux", "arm64"))
        );
        assert_eq!(os_arch("x86_64-pc-windows-gnu"), Some(("windows", "amd64")));
        assert_eq!(os_arch("riscv64gc-unknown-linux-gnu"), None);
        assert_eq!(os_arch("x86_64-unknown-freebsd"), None);
    }

    #[test]
    fn archive_names_round_trip() {
        let name = archive_name("1.2.3", "x86_64-pc-windows-msvc");
        assert_eq!(name, "kubectl-graceful-v1.2.3-x86_64-pc-windows-msvc.zip");
        assert_eq!(
            triple_of_archive(&name, "1.2.3").as_deref(),
            Some("x86_64-pc-windows-msvc")
        );
        assert_eq!(
            archive_name("1.2.3", "x86_64-unknown-linux-gnu"),
            "kubectl-graceful-v1.2.3-x86_64-unknown-linux-gnu.tar.gz"
        );
        // Another version, or a Linux triple with a .zip, is not one of ours.
        assert_eq!(triple_of_archive(&name, "1.2.4"), None);
        assert_eq!(
            triple_of_archive(
                "kubectl-graceful-v1.2.3-x86_64-unknown-linux-gnu.zip",
                "1.2.3"
            ),
            None
        );
    }
}
