//! Turns what went wrong on the wire into an [`Error`] that says what failed and what to do.

use super::exec::ExecError;
use super::proxy::Proxy;
use super::transport::ConnectError;
use crate::error::Error;

/// Every message in an error's source chain, joined, without repeats.
pub(crate) fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        // Some errors (YAML parsers) render a multi-line snippet: keep the first line.
        let s = err
            .to_string()
            .lines()
            .next()
            .unwrap_or("")
            .trim()
            .to_string();
        if !s.is_empty() && !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
        cur = err.source();
    }
    parts.join(": ")
}

/// The first error of type `T` in the source chain.
pub(crate) fn find<'a, T: std::error::Error + 'static>(
    e: &'a (dyn std::error::Error + 'static),
) -> Option<&'a T> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(t) = err.downcast_ref::<T>() {
            return Some(t);
        }
        cur = err.source();
    }
    None
}

/// Where the failing connection was going, for messages.
pub(crate) struct Target<'a> {
    pub server: &'a str,
    pub context: &'a str,
    pub proxy: Option<&'a Proxy>,
}

/// A connection or credential failure anywhere in `e`'s chain, as an actionable error.
pub(crate) fn transport_error(e: &(dyn std::error::Error + 'static), t: &Target) -> Option<Error> {
    if let Some(x) = find::<ExecError>(e) {
        return Some(credentials_error(x, t.context));
    }
    let c = find::<ConnectError>(e)?;
    let through_proxy = |reason: String, hint: &str| {
        t.proxy.map(|p| Error::Proxy {
            server: t.server.to_string(),
            proxy: p.display.clone(),
            setting: p.source.clone(),
            reason,
            hint: hint.to_string(),
        })
    };
    let proxy_hint = match t.proxy.map(|p| p.source.as_str()) {
        Some(s) if s.contains("kubeconfig") => {
            "check the cluster's proxy-url in the kubeconfig".to_string()
        }
        Some(var) => {
            format!("check {var}, or add the server's host to NO_PROXY to connect directly")
        }
        None => String::new(),
    };
    Some(match c {
        ConnectError::Dial {
            via_proxy: true,
            source,
            ..
        } => through_proxy(io_reason(source), &proxy_hint)?,
        ConnectError::Timeout {
            what,
            after,
            via_proxy: true,
        } => through_proxy(
            format!(
                "{what} timed out after {}",
                crate::settings::fmt_duration(*after)
            ),
            &proxy_hint,
        )?,
        ConnectError::Tls {
            with_proxy: true,
            source,
            ..
        } => through_proxy(
            format!("TLS with the proxy: {}", tls_reason(source).0),
            &proxy_hint,
        )?,
        ConnectError::ProxyRefused { status } => {
            let hint = if status.starts_with("407") {
                "the proxy wants credentials: put them in the proxy URL (http://user:password@host:port)"
                    .to_string()
            } else {
                proxy_hint.clone()
            };
            through_proxy(format!("the proxy refused the tunnel: {status}"), &hint)?
        }
        ConnectError::ProxyProtocol(m) => through_proxy(m.clone(), &proxy_hint)?,
        ConnectError::Tls { source, .. } => {
            let (reason, hint) = tls_reason(source);
            Error::Tls {
                server: t.server.to_string(),
                reason,
                hint,
                context: t.context.to_string(),
            }
        }
        ConnectError::Dial { source, .. } => Error::Unreachable {
            server: t.server.to_string(),
            reason: io_reason(source),
            context: t.context.to_string(),
        },
        ConnectError::Timeout { what, after, .. } => Error::Unreachable {
            server: t.server.to_string(),
            reason: format!(
                "{what} timed out after {}",
                crate::settings::fmt_duration(*after)
            ),
            context: t.context.to_string(),
        },
        ConnectError::Handshake(h) => Error::Unreachable {
            server: t.server.to_string(),
            reason: format!("HTTP handshake failed: {h}"),
            context: t.context.to_string(),
        },
    })
}

pub(crate) fn credentials_error(e: &ExecError, context: &str) -> Error {
    let tail = match e {
        // Its own explanation is already on stderr, above this line.
        ExecError::Failed { .. } => " (its own message is above)",
        _ => "",
    };
    Error::Config(format!(
        "cannot get credentials for context {context}: {e}{tail}"
    ))
}

/// "connection refused", "no such host" … from an io::Error, without "(os error 111)".
fn io_reason(e: &std::io::Error) -> String {
    let s = e.to_string();
    let s = match s.find(" (os error") {
        Some(i) => &s[..i],
        None => &s,
    };
    let lower = s.to_lowercase();
    if lower.contains("failed to lookup address") || lower.contains("name or service not known") {
        return format!("no such host ({lower})");
    }
    lower
}

/// What the TLS failure means, and what to do about it.
fn tls_reason(e: &std::io::Error) -> (String, String) {
    use rustls::{CertificateError, Error as Tls};
    let Some(tls) = e.get_ref().and_then(|inner| inner.downcast_ref::<Tls>()) else {
        return (
            format!("TLS handshake failed: {e}"),
            "check the server URL".into(),
        );
    };
    let ca_hint =
        "the server's certificate is not signed by the certificate-authority of the kubeconfig: \
                   fix certificate-authority(-data), or pass --certificate-authority";
    match tls {
        // BadSignature: an issuer of the same name but another key (Go: "signed by unknown authority").
        Tls::InvalidCertificate(CertificateError::UnknownIssuer)
        | Tls::InvalidCertificate(CertificateError::BadSignature) => (
            "certificate not trusted: unknown issuer".into(),
            ca_hint.into(),
        ),
        Tls::InvalidCertificate(CertificateError::NotValidForName)
        | Tls::InvalidCertificate(CertificateError::NotValidForNameContext { .. }) => (
            "certificate not valid for this server name".into(),
            "connect by a name the certificate carries, or set tls-server-name (--tls-server-name)"
                .into(),
        ),
        Tls::InvalidCertificate(CertificateError::Expired)
        | Tls::InvalidCertificate(CertificateError::ExpiredContext { .. }) => (
            "certificate expired".into(),
            "the server's certificate has expired; renew it, or check this machine's clock".into(),
        ),
        Tls::InvalidCertificate(other) => (
            format!("certificate not trusted: {other:?}"),
            ca_hint.into(),
        ),
        other => (
            format!("TLS handshake failed: {other}"),
            "check that the server URL points at a Kubernetes API server (https)".into(),
        ),
    }
}

/// Shortens the API server's RBAC message
/// `pods "web-1" is forbidden: User "alice" cannot get resource "pods/log" in API group "" in the namespace "shop"`
/// to `user alice cannot get pods/log in namespace shop`; other messages are kept as they are.
pub(crate) fn humanize_forbidden(message: &str) -> String {
    let Some((_, rest)) = message.split_once(" is forbidden: ") else {
        return message.to_string();
    };
    let quoted = |s: &str, after: &str| -> Option<String> {
        let i = s.find(after)? + after.len();
        let s = &s[i..];
        let s = s.strip_prefix('"')?;
        Some(s[..s.find('"')?].to_string())
    };
    let (Some(user), Some(resource)) = (quoted(rest, "User "), quoted(rest, "resource ")) else {
        return rest.to_string();
    };
    let verb = rest
        .split_once(" cannot ")
        .and_then(|(_, r)| r.split_whitespace().next())
        .unwrap_or("access");
    let group = quoted(rest, "API group ").filter(|g| !g.is_empty());
    let resource = match group {
        Some(g) => format!("{resource}.{g}"),
        None => resource,
    };
    let scope = match quoted(rest, "the namespace ") {
        Some(ns) => format!("in namespace {ns}"),
        None => "at the cluster scope".to_string(),
    };
    format!("user {user} cannot {verb} {resource} {scope}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forbidden_messages_are_shortened() {
        assert_eq!(
            humanize_forbidden(
                r#"pods "web-1" is forbidden: User "alice" cannot get resource "pods/log" in API group "" in the namespace "shop""#
            ),
            "user alice cannot get pods/log in namespace shop"
        );
        assert_eq!(
            humanize_forbidden(
                r#"deployments.apps is forbidden: User "system:serviceaccount:ci:bot" cannot list resource "deployments" in API group "apps" at the cluster scope"#
            ),
            "user system:serviceaccount:ci:bot cannot list deployments.apps at the cluster scope"
        );
        assert_eq!(humanize_forbidden("nope"), "nope");
    }

    #[test]
    fn error_chain_keeps_first_lines_without_repeats() {
        let e = std::io::Error::other("outer\n  detail");
        assert_eq!(error_chain(&e), "outer");
    }

    #[test]
    fn unknown_issuer_says_so() {
        let e = std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer),
        );
        let (reason, hint) = tls_reason(&e);
        assert_eq!(reason, "certificate not trusted: unknown issuer");
        assert!(hint.contains("--certificate-authority"), "{hint}");
        assert_eq!(
            io_reason(&std::io::Error::from_raw_os_error(111)),
            "connection refused"
        );
    }
}
