//! Release packaging for kubectl-graceful (`cargo xtask …`): the release archives, the krew manifest
//! rendered from the krew-release-bot template `krew/.krew.yaml`, krew-index's own validator and the
//! krew CLI as the judges of a manifest ([`krew_index`]), and the project's own checks that krew does not
//! make ([`validate`]).

pub mod archive;
pub mod dist;
pub mod krew_index;
pub mod platform;
pub mod render;
pub mod validate;

use std::fmt;
use std::path::{Path, PathBuf};

/// A packaging error: a message for the user.
#[derive(Debug)]
pub struct Error(String);

impl Error {
    pub fn new(msg: impl Into<String>) -> Self {
        Error(msg.into())
    }

    pub(crate) fn io(path: &Path, e: std::io::Error) -> Self {
        Error(format!("{}: {e}", path.display()))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error(e.to_string())
    }
}

pub type Result<T> = std::result::Result<T, Error>;

/// The repository root (the directory of the root `Cargo.toml`), as seen when this crate was compiled.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(".."))
}

/// The `[package] version` of the root `Cargo.toml` in `root`.
pub fn cargo_version(root: &Path) -> Result<String> {
    let path = root.join("Cargo.toml");
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
    package_version(&text)
        .ok_or_else(|| Error::new(format!("{}: no [package] version = \"…\"", path.display())))
}

fn package_version(cargo_toml: &str) -> Option<String> {
    let mut in_package = false;
    for line in cargo_toml.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_package = line == "[package]";
            continue;
        }
        if !in_package {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        if key.trim() == "version" {
            let value = value.trim();
            let v = value.strip_prefix('"')?.split('"').next()?;
            return (!v.is_empty()).then(|| v.to_string());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_package_version_only() {
        let toml = "[workspace]\nversion = \"9\"\n[package]\nname = \"x\"\nversion = \"1.2.3\" # c\n[dependencies]\nversion = \"7\"\n";
        assert_eq!(package_version(toml).as_deref(), Some("1.2.3"));
        assert_eq!(package_version("[package]\nname = \"x\"\n"), None);
        assert_eq!(
            package_version("[package]\nversion.workspace = true\n"),
            None
        );
    }

    #[test]
    fn reads_this_repository() {
        let v = cargo_version(&repo_root()).unwrap();
        assert!(v.split('.').count() >= 3, "{v}");
    }
}
