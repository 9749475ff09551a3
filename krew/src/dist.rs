//! `dist`: build (or take) the binaries, pack the release archive, and write the manifest for it.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::archive::{self, Entry};
use crate::platform::{self, BINS};
use crate::render::{self, Shas};
use crate::{validate, Error, Result};

/// The manifest's file name (krew: the plugin name + `.yaml`).
pub const MANIFEST: &str = "graceful.yaml";

#[derive(Debug, Clone)]
pub struct Options {
    /// The repository root (root `Cargo.toml`, `LICENSE`, `README.md`, `krew/.krew.yaml`).
    pub root: PathBuf,
    pub target: String,
    pub out_dir: PathBuf,
    /// Take the binaries from here instead of running `cargo build --release --target`.
    pub bin_dir: Option<PathBuf>,
    /// Directory URL of the archives in the manifest; `None` = the template's (the GitHub release of the tag).
    pub base_url: Option<String>,
    /// Timestamp of every archive entry.
    pub mtime: u64,
}

#[derive(Debug, Clone)]
pub struct Output {
    pub archive: PathBuf,
    pub sha256: String,
    pub manifest: PathBuf,
    /// Platforms of the manifest that had no archive, or used a local one.
    pub warnings: Vec<String>,
}

/// Runs `dist`: see the crate's README section in `cargo xtask dist --help`.
pub fn dist(opts: &Options) -> Result<Output> {
    let version = crate::cargo_version(&opts.root)?;
    let bin_dir = match &opts.bin_dir {
        Some(dir) => dir.clone(),
        None => build(&opts.root, &opts.target)?,
    };
    let entries = stage(&opts.root, &bin_dir, &opts.target)?;
    std::fs::create_dir_all(&opts.out_dir).map_err(|e| Error::io(&opts.out_dir, e))?;
    let name = platform::archive_name(&version, &opts.target);
    let archive = opts.out_dir.join(&name);
    archive::write(&archive, &entries, opts.mtime)?;
    let sha256 = archive::sha256_file(&archive)?;
    let sum_file = opts.out_dir.join(format!("{name}.sha256"));
    std::fs::write(&sum_file, format!("{sha256}  {name}\n"))
        .map_err(|e| Error::io(&sum_file, e))?;

    let (manifest, warnings) = write_manifest(opts, &version)?;
    Ok(Output {
        archive,
        sha256,
        manifest,
        warnings,
    })
}

/// Writes `OUT_DIR/graceful.yaml` for every archive of `version` in OUT_DIR and validates it with them.
fn write_manifest(opts: &Options, version: &str) -> Result<(PathBuf, Vec<String>)> {
    let shas = Shas::Archives {
        dir: opts.out_dir.clone(),
        allow_missing: true,
        local_substitutes: true,
    };
    let rendered = render::render_file(&opts.root, version, opts.base_url.as_deref(), &shas)?;
    let path = opts.out_dir.join(MANIFEST);
    std::fs::write(&path, &rendered.text).map_err(|e| Error::io(&path, e))?;
    let problems = validate::validate_file(&path, Some(&opts.out_dir), Some(version));
    if !problems.is_empty() {
        return Err(Error::new(format!(
            "{} does not validate:\n  {}",
            path.display(),
            problems.join("\n  ")
        )));
    }
    Ok((path, rendered.warnings))
}

/// `cargo build --release --locked --target TARGET --bins` in `root`; returns the directory of the binaries.
fn build(root: &Path, target: &str) -> Result<PathBuf> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(&cargo)
        .current_dir(root)
        .args([
            "build",
            "--release",
            "--locked",
            "--target",
            target,
            "--bins",
        ])
        .status()
        .map_err(|e| Error::new(format!("running {}: {e}", cargo.to_string_lossy())))?;
    if !status.success() {
        return Err(Error::new(format!(
            "cargo build --release --target {target} failed ({status})"
        )));
    }
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|d| if d.is_absolute() { d } else { root.join(d) })
        .unwrap_or_else(|| root.join("target"));
    Ok(target_dir.join(target).join("release"))
}

/// The archive's files: the binaries (mode 0755), `LICENSE` and `README.md` (0644).
fn stage(root: &Path, bin_dir: &Path, target: &str) -> Result<Vec<Entry>> {
    let read = |path: &Path| std::fs::read(path).map_err(|e| Error::io(path, e));
    let mut entries = Vec::new();
    for bin in BINS {
        let name = platform::exe(bin, target);
        let path = bin_dir.join(&name);
        if !path.is_file() {
            return Err(Error::new(format!(
                "{name} not found in {}",
                bin_dir.display()
            )));
        }
        entries.push(Entry {
            name,
            data: read(&path)?,
            mode: 0o755,
        });
    }
    for doc in ["LICENSE", "README.md"] {
        entries.push(Entry {
            name: doc.to_string(),
            data: read(&root.join(doc))?,
            mode: 0o644,
        });
    }
    Ok(entries)
}
