//! Shell completion.
//!
//! * `kubectl-graceful completion bash|zsh|fish|powershell` prints clap's static script for the binary.
//! * `kubectl-graceful __complete WORDS…` answers in cobra's protocol, which kubectl (≥ 1.26) uses for
//!   plugins through an executable `kubectl_complete-graceful` on PATH: one `value[\tdescription]` per
//!   line, then `:<directive>`. `completion kubectl` prints such a helper as a shell script.
//!
//! The engine is pure ([`engine`]); [`dynamic`] looks up names in the kubeconfig and the cluster only
//! when the word needs them, so the static cases never start the async runtime.

pub(crate) mod dynamic;
pub(crate) mod engine;

use std::io::Write;

use clap::CommandFactory;

use crate::cli::{Cli, CompletionShell};
use crate::exit::Exit;

/// The first argument that makes the binary answer completion requests instead of running a command.
pub const COMPLETE_ARG: &str = "__complete";

/// The binary name the static scripts complete.
const BIN: &str = "kubectl-graceful";

/// The completions for `words` (the words after `kubectl graceful`, the last one being completed),
/// with dynamic lookups as needed.
pub(crate) fn completions(words: &[String]) -> engine::Completions {
    let mut root = Cli::command();
    root.build();
    let parsed = engine::parse(&root, words);
    let needs = parsed.needs();
    let snapshot = if needs == engine::Needs::default() {
        engine::Snapshot::default()
    } else {
        dynamic::lookup(&needs, &parsed.connection())
    };
    engine::complete(&parsed, &snapshot)
}

/// `kubectl-graceful __complete WORDS…`: prints the completions, always exits 0.
pub fn run_complete(words: &[String]) -> i32 {
    let out = completions(words).render();
    let mut stdout = std::io::stdout().lock();
    // A closed pipe (the shell gave up) is not worth an error.
    let _ = stdout.write_all(out.as_bytes());
    let _ = stdout.flush();
    0
}

/// `kubectl-graceful completion SHELL`.
pub(crate) fn print_script(shell: CompletionShell) -> Exit {
    let script = script(shell);
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(&script).and_then(|_| stdout.flush()) {
        Ok(()) => Exit::Ok,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Exit::Ok,
        Err(e) => {
            eprintln!("error: cannot write the completion script: {e}");
            Exit::Error
        }
    }
}

/// The script for a shell.
pub(crate) fn script(shell: CompletionShell) -> Vec<u8> {
    use clap_complete::Shell;
    let shell = match shell {
        CompletionShell::Bash => Shell::Bash,
        CompletionShell::Zsh => Shell::Zsh,
        CompletionShell::Fish => Shell::Fish,
        CompletionShell::Powershell => Shell::PowerShell,
        CompletionShell::Kubectl => return KUBECTL_HELPER.as_bytes().to_vec(),
    };
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, BIN, &mut out);
    if shell == Shell::Bash {
        out = fix_bash_labels(out);
    }
    out
}

/// clap_complete's bash script tracks the subcommand as `kubectl__graceful__subcmd__explain` but labels
/// its cases `kubectl__subcmd__graceful__subcmd__explain` when the binary name has a hyphen, so no
/// subcommand flag or value ever completes (clap-rs/clap#6421). Spell the labels like the tracker; a
/// no-op once clap_complete is fixed.
fn fix_bash_labels(script: Vec<u8>) -> Vec<u8> {
    let broken = format!("{}__subcmd__{}", "kubectl", "graceful");
    match String::from_utf8(script) {
        Ok(s) => s.replace(&broken, "kubectl__graceful").into_bytes(),
        Err(e) => e.into_bytes(),
    }
}

/// `completion kubectl`: the `kubectl_complete-graceful` helper as a POSIX sh script, for installs
/// that put only `kubectl-graceful` on PATH (krew).
pub(crate) const KUBECTL_HELPER: &str = r#"#!/bin/sh
# kubectl_complete-graceful: lets kubectl's shell completion (kubectl >= 1.26) complete
# `kubectl graceful ...`. kubectl runs it with the words after `graceful`; it answers in cobra's format.
# Install (a directory on PATH):
#   kubectl graceful completion kubectl > ~/.local/bin/kubectl_complete-graceful
#   chmod +x ~/.local/bin/kubectl_complete-graceful
if command -v kubectl-graceful >/dev/null 2>&1; then
  exec kubectl-graceful __complete "$@"
fi
# kubectl-graceful is not on PATH: no completions, and no file names either.
echo ':4'
"#;

#[cfg(test)]
mod tests;
