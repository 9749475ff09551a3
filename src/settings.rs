//! Validated global settings built from the parsed command line (context, namespace, output, the
//! connection flags), and connecting on demand. Commands read these, never raw flags; each command's own
//! flags are its `options.rs`.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use crate::cli::{GlobalArgs, OutputFormat};
use crate::error::{Error, Result};

/// The global flags as every command reads them: the namespace asked for, colour, and the connection.
/// The connection flags are validated when a command connects (offline `-f` never does), as before.
#[derive(Debug, Clone, Default)]
pub(crate) struct Global {
    args: GlobalArgs,
}

impl Global {
    pub(crate) fn new(args: GlobalArgs) -> Global {
        Global { args }
    }

    /// `-n`, when given.
    pub(crate) fn namespace(&self) -> Option<&str> {
        self.args.namespace.as_deref()
    }

    /// How results print in `format` (colour unless `--no-color`, `NO_COLOR`, `TERM=dumb` or a pipe).
    pub(crate) fn output(&self, format: OutputFormat) -> OutputSettings {
        OutputSettings::new(format, self.args.no_color)
    }

    /// Validates the connection flags and connects, as kubectl does.
    pub(crate) async fn connect(&self) -> Result<crate::client::Kube> {
        crate::client::Kube::connect(&ConnectSettings::from_args(&self.args)?).await
    }
}

/// How to reach the cluster: kubectl's connection flags, validated.
#[derive(Debug, Clone, Default)]
pub(crate) struct ConnectSettings {
    pub kubeconfig: Option<PathBuf>,
    pub context: Option<String>,
    pub cluster: Option<String>,
    pub user: Option<String>,
    pub namespace: Option<String>,
    /// Flags that override the kubeconfig's cluster and user (`--server`, `--token` …).
    pub overrides: Overrides,
    pub impersonate_user: Option<String>,
    pub impersonate_uid: Option<String>,
    pub impersonate_groups: Vec<String>,
    /// Limit for each single (non-watch) request; `None` = no limit, as kubectl's `--request-timeout=0`.
    pub request_timeout: Option<Duration>,
    /// kubectl's `-v` level (0 = quiet).
    pub verbosity: u8,
}

/// kubectl's flags that replace a field of the kubeconfig's cluster or user (client-go `ConfigOverrides`).
#[derive(Debug, Clone, Default)]
pub(crate) struct Overrides {
    pub server: Option<String>,
    pub token: Option<String>,
    pub certificate_authority: Option<PathBuf>,
    pub client_certificate: Option<PathBuf>,
    pub client_key: Option<PathBuf>,
    /// `--insecure-skip-tls-verify` (true only when given as true).
    pub insecure_skip_tls_verify: bool,
    pub tls_server_name: Option<String>,
}

/// How results are printed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OutputSettings {
    pub format: OutputFormat,
    /// Colour on stdout (a terminal, no `--no-color`, no `NO_COLOR`, no `TERM=dumb`).
    pub color: bool,
    /// stderr is a terminal: live progress is allowed there.
    pub interactive: bool,
}

impl ConnectSettings {
    pub(crate) fn from_args(g: &GlobalArgs) -> Result<Self> {
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
            ("--as-uid", &g.as_uid),
            ("--server", &g.server),
            ("--token", &g.token),
            ("--tls-server-name", &g.tls_server_name),
        ] {
            if value.as_deref() == Some("") {
                return Err(Error::usage(format!("{flag} must not be empty")));
            }
        }
        if let Some(ns) = &g.namespace {
            validate_dns_label(ns, "--namespace")?;
        }
        for (flag, path) in [
            ("--kubeconfig", &g.kubeconfig),
            ("--certificate-authority", &g.certificate_authority),
            ("--client-certificate", &g.client_certificate),
            ("--client-key", &g.client_key),
        ] {
            if path.as_ref().is_some_and(|p| p.as_os_str().is_empty()) {
                return Err(Error::usage(format!("{flag} must not be empty")));
            }
        }
        if g.as_group.iter().any(String::is_empty) {
            return Err(Error::usage("--as-group must not be empty"));
        }
        Ok(ConnectSettings {
            kubeconfig: g.kubeconfig.clone(),
            context: g.context.clone(),
            cluster: g.cluster.clone(),
            user: g.user.clone(),
            namespace: g.namespace.clone(),
            overrides: Overrides {
                server: g.server.clone(),
                token: g.token.clone(),
                certificate_authority: g.certificate_authority.clone(),
                client_certificate: g.client_certificate.clone(),
                client_key: g.client_key.clone(),
                insecure_skip_tls_verify: g.insecure_skip_tls_verify == Some(true),
                tls_server_name: g.tls_server_name.clone(),
            },
            impersonate_user: g.as_user.clone(),
            impersonate_uid: g.as_uid.clone(),
            impersonate_groups: g.as_group.clone(),
            request_timeout,
            verbosity: g.verbose.unwrap_or(0),
        })
    }
}

/// Whether colour may be used at all: no `--no-color`, no `NO_COLOR`, and a terminal that can show it
/// (`TERM=dumb` cannot). Whether the stream is a terminal is the caller's check.
pub(crate) fn color_allowed(no_color_flag: bool) -> bool {
    let no_color_env = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let dumb = std::env::var("TERM").is_ok_and(|t| t == "dumb");
    !no_color_flag && !no_color_env && !dumb
}

impl OutputSettings {
    pub(crate) fn new(format: OutputFormat, no_color: bool) -> Self {
        OutputSettings {
            format,
            color: color_allowed(no_color) && std::io::stdout().is_terminal(),
            // A dumb terminal cannot redraw a progress line either.
            interactive: std::io::stderr().is_terminal()
                && !std::env::var("TERM").is_ok_and(|t| t == "dumb"),
        }
    }
}

/// Parses a kubectl-style duration (`30s`, `5m`, `1h30m`, `500ms`); a bare number means seconds.
pub(crate) fn parse_duration(s: &str, flag: &str) -> Result<Duration> {
    let s = s.trim();
    if s.starts_with('-') {
        return Err(Error::usage(format!(
            "invalid {flag} value {s:?}: a duration cannot be negative (use e.g. 30s, 5m or 1h)"
        )));
    }
    if let Ok(secs) = s.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    humantime::parse_duration(s).map_err(|e| {
        Error::usage(format!(
            "invalid {flag} value {s:?}: {e} (use a duration like 30s, 5m or 1h)"
        ))
    })
}

/// A duration the way it is usually written: `1ms`, `1.5s`, `30s`, `1m30s`, `2h`.
pub(crate) fn fmt_duration(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        let ms = d.as_secs_f64() * 1000.0;
        return if ms.fract() == 0.0 {
            format!("{ms}ms")
        } else {
            format!("{}ms", (ms * 1000.0).round() / 1000.0)
        };
    }
    let total = d.as_secs();
    let (h, m, s) = (total / 3600, total / 60 % 60, total % 60);
    let frac = d.subsec_millis();
    let secs = if frac > 0 {
        format!("{}s", (s as f64 + frac as f64 / 1000.0))
    } else if s > 0 {
        format!("{s}s")
    } else {
        String::new()
    };
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    out + &secs
}

/// Like [`parse_duration`], where zero means "no limit".
pub(crate) fn parse_duration_opt(s: &str, flag: &str) -> Result<Option<Duration>> {
    let d = parse_duration(s, flag)?;
    Ok((!d.is_zero()).then_some(d))
}

/// Kubernetes names of namespaces are DNS labels: lowercase alphanumerics and '-', at most 63.
pub(crate) fn validate_dns_label(s: &str, flag: &str) -> Result<()> {
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
        for (text, want) in [
            ("1ms", "1ms"),
            ("1s", "1s"),
            ("90s", "1m30s"),
            ("1h", "1h"),
            ("1500ms", "1.5s"),
        ] {
            assert_eq!(fmt_duration(parse_duration(text, "x").unwrap()), want);
        }
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
