//! `cargo xtask`: release packaging for kubectl-graceful.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use xtask::render::{self, Shas};
use xtask::{archive, dist, krew_index, validate, Error, Result};

#[derive(Parser)]
#[command(
    name = "cargo xtask",
    about = "Release packaging for kubectl-graceful",
    version
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Build the release archive for a target and write OUT_DIR/graceful.yaml for it.
    ///
    /// Packs kubectl-graceful[.exe] (and kubectl_complete-graceful[.exe] when built), LICENSE and README.md
    /// into OUT_DIR/kubectl-graceful-vVERSION-TARGET.tar.gz (.zip for Windows) with NAME.sha256 beside it,
    /// reproducibly (sorted entries, fixed mtime = SOURCE_DATE_EPOCH or 1980-01-01). Then renders the
    /// manifest for every archive of VERSION in OUT_DIR and validates it against them. A target outside
    /// the release map (e.g. x86_64-unknown-linux-gnu) stands in for the os/arch its triple names when
    /// that platform's release archive is not in OUT_DIR.
    Dist {
        /// Rust target triple, e.g. x86_64-unknown-linux-musl.
        #[arg(long)]
        target: String,
        #[arg(long, default_value = "dist")]
        out_dir: PathBuf,
        /// Take the binaries from DIR instead of running cargo build --release --target.
        #[arg(long, value_name = "DIR")]
        bin_dir: Option<PathBuf>,
        /// URL of the directory holding the archives (default: the GitHub release of vVERSION).
        #[arg(long, value_name = "URL")]
        base_url: Option<String>,
    },
    /// Render the krew manifest from krew/.krew.yaml with each archive's sha256.
    Manifest {
        /// Version without the leading v (default: Cargo.toml's).
        #[arg(long)]
        version: Option<String>,
        /// Directory holding the release archives.
        #[arg(long, value_name = "DIR", required_unless_present = "unreleased")]
        dist: Option<PathBuf>,
        /// URL of the directory holding the archives (default: the template's, the GitHub release of vVERSION).
        #[arg(long, value_name = "URL")]
        base_url: Option<String>,
        /// Write here instead of stdout (with --unreleased: default krew/graceful.yaml).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Leave out platforms whose archive is missing (with a warning) instead of failing.
        #[arg(long)]
        allow_missing: bool,
        /// Placeholder sha256 values (64 zeros) for the committed manifest before a release.
        #[arg(long, conflicts_with_all = ["dist", "allow_missing"])]
        unreleased: bool,
    },
    /// Check a manifest (and, with --archives, its archives) with this project's rules; with --krew
    /// also with krew-index's own validator.
    ///
    /// This project's rules cover only what krew's validator does not: version = Cargo.toml's, a
    /// shortDescription of at most 50 characters, https uris, os/arch in matchLabels, .exe on Windows,
    /// values krew's YAML parser would not read as strings, and (with --archives) each archive's sha256,
    /// bin and LICENSE. --krew builds krew v0.4.3 and validate-krew-manifest with Go (tests/go/krew-0.4.3)
    /// and runs the validator; with --archives it also installs every platform with the real krew,
    /// serving the archives on 127.0.0.1 (needs kubectl on PATH).
    Validate {
        file: PathBuf,
        /// Directory holding the archives named by the uris: checks sha256, bin and LICENSE in each.
        #[arg(long, value_name = "DIR")]
        archives: Option<PathBuf>,
        /// The version the manifest must have (without the leading v).
        #[arg(long, value_name = "VERSION")]
        expect_version: Option<String>,
        /// Also run krew-index's validate-krew-manifest (needs Go; installs every platform with
        /// --archives).
        #[arg(long)]
        krew: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.cmd) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(cmd: Cmd) -> Result<ExitCode> {
    let root = xtask::repo_root();
    match cmd {
        Cmd::Dist {
            target,
            out_dir,
            bin_dir,
            base_url,
        } => {
            let out = dist::dist(&dist::Options {
                root,
                target,
                out_dir,
                bin_dir,
                base_url,
                mtime: archive::mtime_from_env()?,
            })?;
            for w in &out.warnings {
                eprintln!("warning: {w}");
            }
            let size = std::fs::metadata(&out.archive)
                .map(|m| m.len())
                .unwrap_or(0);
            println!("archive:  {} ({size} bytes)", out.archive.display());
            println!("sha256:   {}", out.sha256);
            println!("manifest: {}", out.manifest.display());
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Manifest {
            version,
            dist,
            base_url,
            out,
            allow_missing,
            unreleased,
        } => {
            let version = match version {
                Some(v) => v.strip_prefix('v').unwrap_or(&v).to_string(),
                None => xtask::cargo_version(&root)?,
            };
            let shas = match dist {
                Some(dir) if !unreleased => Shas::Archives {
                    dir,
                    allow_missing,
                    local_substitutes: false,
                },
                _ => Shas::Unreleased,
            };
            let out = match out {
                Some(o) => Some(o),
                None if unreleased => Some(root.join(render::COMMITTED)),
                None => None,
            };
            let rendered = render::render_file(&root, &version, base_url.as_deref(), &shas)?;
            for w in &rendered.warnings {
                eprintln!("warning: {w}");
            }
            let report = validate::check_manifest(&rendered.text, Some(&version));
            if !report.problems.is_empty() {
                return Err(Error::new(format!(
                    "the rendered manifest does not validate:\n  {}",
                    report.problems.join("\n  ")
                )));
            }
            match out {
                Some(path) => {
                    std::fs::write(&path, &rendered.text)
                        .map_err(|e| Error::new(format!("{}: {e}", path.display())))?;
                    eprintln!("wrote {}", path.display());
                }
                None => print!("{}", rendered.text),
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Validate {
            file,
            archives,
            expect_version,
            krew,
        } => {
            let mut problems =
                validate::validate_file(&file, archives.as_deref(), expect_version.as_deref());
            if krew {
                let checked = krew_index::tools()
                    .and_then(|t| krew_index::validate(&t, &file, archives.as_deref()));
                match checked {
                    Ok(_) => println!("{}: krew-index's validator accepts it", file.display()),
                    Err(e) => problems.push(e.to_string()),
                }
            }
            if problems.is_empty() {
                let with = archives.map(|a| format!(" with the archives in {}", a.display()));
                println!("{}: valid{}", file.display(), with.unwrap_or_default());
                Ok(ExitCode::SUCCESS)
            } else {
                for p in &problems {
                    println!("{}: {p}", file.display());
                }
                eprintln!("{} problem(s) found", problems.len());
                Ok(ExitCode::FAILURE)
            }
        }
    }
}
