//! The process exit codes, documented in the README and in `--help`.

/// What the process reports to its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Everything worked and there is nothing to report.
    Ok = 0,
    /// The command worked and found something the user must act on: a failure explained, findings at or
    /// above `--fail-on`, a restart that failed.
    Findings = 1,
    /// Usage or environment error: bad flags, no kubeconfig, unreachable cluster, forbidden, bad input.
    Error = 2,
    /// Interrupted by Ctrl-C (SIGINT).
    Interrupted = 130,
    /// Stopped by SIGTERM (CI cancellation, `timeout`, `kill`).
    Terminated = 143,
}

impl Exit {
    pub fn code(self) -> i32 {
        self as i32
    }
}

/// The exit-code table shown at the end of `--help`.
pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0    success, nothing to report
  1    findings: a failure was explained, diagnose found issues at or above --fail-on, a restart failed
  2    usage or environment error (bad flags, kubeconfig, unreachable or forbidden API, bad input)
  130  interrupted (Ctrl-C, SIGINT)
  143  terminated (SIGTERM)";
