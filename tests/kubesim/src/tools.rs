//! The one policy for tools the tests run but do not build (kubectl, zsh, fish): when one is missing,
//! a test fails at once under `CI=true` (CI must not pass by skipping) and names what to install;
//! elsewhere it prints a note saying what is skipped and the caller returns early.

use std::path::PathBuf;

/// The real kubectl: `$KUBECTL`, else `/usr/bin/kubectl` (the machine image has 1.32/1.33 there).
/// `None` (after the note) when it is missing outside CI; `what` names the check being skipped.
pub fn kubectl(what: &str) -> Option<PathBuf> {
    let path = std::env::var_os("KUBECTL")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/kubectl"));
    let found = path.is_file();
    required(
        found,
        what,
        &format!(
            "kubectl is not at {} (install kubectl 1.32 there or set KUBECTL)",
            path.display()
        ),
    )
    .then_some(path)
}

/// A program on PATH that runs `args` successfully (e.g. `zsh -c 'exit 0'`).
pub fn program(name: &str, args: &[&str], what: &str, install: &str) -> bool {
    let found = std::process::Command::new(name)
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success());
    required(found, what, &format!("{name} is not installed ({install})"))
}

/// The policy itself: `found` passes; otherwise panic under `CI=true`, or print
/// `note: skipped: WHAT: WHY` and return false.
pub fn required(found: bool, what: &str, why: &str) -> bool {
    if found {
        return true;
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{what}: {why}; CI=true, so this fails instead of skipping");
    }
    eprintln!("note: skipped: {what}: {why}");
    false
}
