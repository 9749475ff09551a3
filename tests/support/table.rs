//! Table-driven runs of the plugin: a test is a list of named rows (what is run, the exit code and
//! the text that must come out), all run and all mismatches reported together, so one failing run
//! shows every row that changed.

use std::time::Duration;

/// One row: what is run, and what must come out.
pub struct Row {
    name: &'static str,
    args: Vec<String>,
    env: Vec<(&'static str, String)>,
    stdin: Option<Vec<u8>>,
    code: i32,
    /// The first line of stderr, exactly ("" = nothing on stderr); None: not checked.
    first_line: Option<String>,
    stdout_has: Vec<String>,
    stderr_has: Vec<String>,
    stderr_begins: Option<String>,
    stdout_is: Option<String>,
}

/// The row `name`: `graceful ARGS…` (isolated, see [`super::isolate`]) must exit `code`.
pub fn row(name: &'static str, args: &[&str], code: i32) -> Row {
    Row {
        name,
        args: args.iter().map(|s| s.to_string()).collect(),
        env: vec![],
        stdin: None,
        code,
        first_line: None,
        stdout_has: vec![],
        stderr_has: vec![],
        stderr_begins: None,
        stdout_is: None,
    }
}

impl Row {
    /// Runs with `k=v` in the environment.
    pub fn env(mut self, k: &'static str, v: impl Into<String>) -> Self {
        self.env.push((k, v.into()));
        self
    }

    /// Runs with `bytes` on stdin.
    pub fn stdin(mut self, bytes: &[u8]) -> Self {
        self.stdin = Some(bytes.to_vec());
        self
    }

    /// The first line of stderr is exactly `line` ("" = nothing on stderr).
    pub fn first_line(mut self, line: impl Into<String>) -> Self {
        self.first_line = Some(line.into());
        self
    }

    /// stderr begins with `text`.
    pub fn stderr_begins(mut self, text: impl Into<String>) -> Self {
        self.stderr_begins = Some(text.into());
        self
    }

    /// stdout is exactly `text`.
    pub fn stdout_is(mut self, text: impl Into<String>) -> Self {
        self.stdout_is = Some(text.into());
        self
    }

    /// stdout contains `text`.
    pub fn stdout_has(mut self, text: impl Into<String>) -> Self {
        self.stdout_has.push(text.into());
        self
    }

    /// stderr contains `text`.
    pub fn stderr_has(mut self, text: impl Into<String>) -> Self {
        self.stderr_has.push(text.into());
        self
    }

    /// What differs from the row in `out` (empty: the row holds).
    fn mismatches(&self, out: &super::Output) -> Vec<String> {
        let mut wrong = Vec::new();
        if out.code != self.code {
            wrong.push(format!("exit code {}, want {}", out.code, self.code));
        }
        let first = out.stderr.lines().next().unwrap_or("");
        if let Some(want) = self.first_line.as_deref().filter(|want| first != *want) {
            wrong.push(format!("stderr begins {first:?}, want {want:?}"));
        }
        if let Some(want) = self
            .stderr_begins
            .as_deref()
            .filter(|want| !out.stderr.starts_with(*want))
        {
            wrong.push(format!("stderr does not begin with {want:?}"));
        }
        if let Some(want) = self.stdout_is.as_deref().filter(|want| out.stdout != *want) {
            wrong.push(format!("stdout is not {want:?}"));
        }
        for want in self.stdout_has.iter().filter(|t| !out.stdout.contains(*t)) {
            wrong.push(format!("stdout lacks {want:?}"));
        }
        for want in self.stderr_has.iter().filter(|t| !out.stderr.contains(*t)) {
            wrong.push(format!("stderr lacks {want:?}"));
        }
        wrong
    }
}

/// Runs every row (each at most 60 s: a hang fails its row, not the run) and fails with all the
/// rows that differ, each with what it printed.
pub fn check(rows: &[Row]) {
    let mut failures = Vec::new();
    for r in rows {
        let mut cmd = super::graceful_process();
        cmd.args(&r.args);
        for (k, v) in &r.env {
            cmd.env(k, v);
        }
        let out = super::run_with_input(cmd, r.stdin.as_deref(), Duration::from_secs(60));
        let wrong = r.mismatches(&out);
        if !wrong.is_empty() {
            failures.push(format!(
                "{}: {}\n  (stderr: {:?}; stdout: {:?})",
                r.name,
                wrong.join("; "),
                out.stderr,
                out.stdout
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} rows differ:\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n")
    );
}
