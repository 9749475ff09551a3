//! Validated settings built from the parsed command line. Commands read these, never raw flags.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use crate::cli::{GlobalArgs, OutputFormat};
use crate::error::{Error, Result};

/// How to reach the cluster: kubectl's connection flags, validated.
#[derive(Debug, Clone, Default)]
pub struct ConnectSettings {
    pub kubeconfig: Option<PathBuf>,
    pub context: Option<String>,
    pub cluster: Option<String>,
    pub user: Option<String>,
    pub namespace: Option<String>,
    pub impersonate_user: Option<String>,
    pub impersonate_groups: Vec<String>,
    /// Limit for each single (non-watch) request; `None` = no limit, as kubectl's `--request-timeout=0`.
    pub request_timeout: Option<Duration>,
}

/// How results are printed.
#[derive(Debug, Clone, Copy)]
pub struct OutputSettings {
    pub format: OutputFormat,
    /// Colour on stdout (a terminal, no `--no-color`, no `NO_COLOR`).
    pub color: bool,
    /// stderr is a terminal: live progress is allowed there.
    pub interactive: bool,
}

impl ConnectSettings {
    pub fn from_args(g: &GlobalArgs) -> Result<Self> {
        let request_timeout = match g.request_timeout.as_deref() {
            None => None,
            Some(s) => parse_duration_opt(s, "--request-timeout")?,
        };
        for (flag, value) in [
            ("--context", &g.context),
            ("--cluster", &g.cluster),
            ("--user", &g.user),
            ("--namespace", &g.namespace),
            ("--as", &g.as_user),
        ] {
            if value.as_deref() == Some("") {
                return Err(Error::usage(format!("{flag} must not be empty")));
            }
        }
        if let Some(ns) = &g.namespace {
            validate_dns_label(ns, "--namespace")?;
        }
        Ok(ConnectSettings {
            kubeconfig: g.kubeconfig.clone(),
            context: g.context.clone(),
            cluster: g.cluster.clone(),
            user: g.user.clone(),
            namespace: g.namespace.clone(),
            impersonate_user: g.as_user.clone(),
            impersonate_groups: g.as_group.clone(),
            request_timeout,
        })
    }
}

impl OutputSettings {
    pub fn new(format: OutputFormat, no_color: bool) -> Self {
        let no_color_env = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        OutputSettings {
            format,
            color: !no_color && !no_color_env && std::io::stdout().is_terminal(),
            interactive: std::io::stderr().is_terminal(),
        }
    }
}

/// Parses a kubectl-style duration (`30s`, `5m`, `1h30m`, `500ms`); a bare number means seconds.
pub fn parse_duration(s: &str, flag: &str) -> Result<Duration> {
    let s = s.trim();
    if let Ok(secs) = s.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    humantime::parse_duration(s).map_err(|e| {
        Error::usage(format!(
            "invalid {flag} value {s:?}: {e} (use a duration like 30s, 5m or 1h)"
        ))
    })
}

/// Like [`parse_duration`], where zero means "no limit".
pub fn parse_duration_opt(s: &str, flag: &str) -> Result<Option<Duration>> {
    let d = parse_duration(s, flag)?;
    Ok((!d.is_zero()).then_some(d))
}

/// Kubernetes names of namespaces are DNS labels: lowercase alphanumerics and '-', at most 63.
pub fn validate_dns_label(s: &str, flag: &str) -> Result<()> {
    let ok = !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(Error::usage(format!(
            "invalid {flag} {s:?}: must be a lowercase DNS label (a-z, 0-9, '-', at most 63 characters)"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s", "x").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("5m", "x").unwrap(), Duration::from_secs(300));
        assert_eq!(parse_duration("45", "x").unwrap(), Duration::from_secs(45));
        assert_eq!(parse_duration_opt("0", "x").unwrap(), None);
        let err = parse_duration("soon", "--timeout").unwrap_err().to_string();
        assert!(err.contains("--timeout") && err.contains("soon"), "{err}");
    }

    #[test]
    fn namespaces() {
        assert!(validate_dns_label("shop-2", "-n").is_ok());
        assert!(validate_dns_label("Shop", "-n").is_err());
        assert!(validate_dns_label("-x", "-n").is_err());
        assert!(validate_dns_label(&"a".repeat(64), "-n").is_err());
    }
}
