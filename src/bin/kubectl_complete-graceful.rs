//! `kubectl_complete-graceful`: kubectl (≥ 1.26) runs this executable from PATH to complete
//! `kubectl graceful …`, passing the words after `graceful`. It runs `kubectl-graceful __complete WORDS…`
//! (the binary next to this one, symlinks resolved, else the one on PATH) and passes its output and exit
//! code through. Standard library only, so it starts at once.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::{Command, ExitCode};

const MAIN: &str = "kubectl-graceful";

fn main() -> ExitCode {
    let words: Vec<OsString> = std::env::args_os().skip(1).collect();
    let exe = format!("{MAIN}{}", std::env::consts::EXE_SUFFIX);
    let program = sibling(&exe).unwrap_or_else(|| PathBuf::from(&exe));
    match Command::new(&program)
        .arg("__complete")
        .args(&words)
        .status()
    {
        Ok(status) => ExitCode::from(status.code().map_or(1, |c| c.clamp(0, 255) as u8)),
        Err(e) => {
            // No completions and no file names; the reason only on stderr.
            eprintln!(
                "kubectl_complete-graceful: cannot run {}: {e}",
                program.display()
            );
            println!(":4");
            ExitCode::SUCCESS
        }
    }
}

/// `exe` in the directory of this executable: first where it really is (symlinks resolved), then where
/// it was called through.
fn sibling(exe: &str) -> Option<PathBuf> {
    let me = std::env::current_exe().ok()?;
    let real = std::fs::canonicalize(&me).ok();
    [real, Some(me)]
        .into_iter()
        .flatten()
        .filter_map(|p| p.parent().map(|d| d.join(exe)))
        .find(|p| p.is_file())
}
