//! One error type for the whole tool. Every variant renders as one or two lines that say what failed and
//! what to do; [`Error::exit`] maps it to the documented exit code.

use crate::exit::Exit;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("no kubeconfig found: set KUBECONFIG or pass --kubeconfig")]
    NoKubeconfig,

    #[error("cannot read kubeconfig {path}: {reason}")]
    Kubeconfig { path: String, reason: String },

    #[error("{0}")]
    Config(String),

    #[error("{what} not found in namespace {namespace} (context {context})")]
    NotFound {
        what: String,
        namespace: String,
        context: String,
    },

    #[error("forbidden: {message}\n  ask your cluster admin for access, or use a context that has it (--context)")]
    Forbidden { message: String },

    #[error("unauthorized: the server at {server} rejected the credentials of context {context}\n  log in again or refresh the token in your kubeconfig")]
    Unauthorized { server: String, context: String },

    #[error("cannot reach {server}: {reason} — is the context right? (context {context})")]
    Unreachable {
        server: String,
        reason: String,
        context: String,
    },

    #[error("cannot reach {server} through the proxy {proxy} ({setting}): {reason}\n  {hint}")]
    Proxy {
        server: String,
        proxy: String,
        /// Where the proxy comes from: `HTTPS_PROXY`, `proxy-url in the kubeconfig`.
        setting: String,
        reason: String,
        hint: String,
    },

    #[error("cannot connect to {server}: {reason} (context {context})\n  {hint}")]
    Tls {
        server: String,
        reason: String,
        hint: String,
        context: String,
    },

    #[error("{action}: the API server answered {code} {reason}: {message}")]
    Api {
        action: String,
        code: u16,
        reason: String,
        message: String,
    },

    #[error("{action}: timed out after {after} (--request-timeout)")]
    Timeout { action: String, after: String },

    #[error("{0}")]
    Usage(String),

    #[error("{path}: {message}")]
    Input { path: String, message: String },

    #[error("{action}: {reason}")]
    Other { action: String, reason: String },

    #[error("interrupted")]
    Interrupted,
}

impl Error {
    /// The documented exit code for this error.
    pub fn exit(&self) -> Exit {
        match self {
            Error::Interrupted => Exit::Interrupted,
            _ => Exit::Error,
        }
    }

    pub fn usage(msg: impl Into<String>) -> Self {
        Error::Usage(msg.into())
    }

    pub fn input(path: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Input {
            path: path.into(),
            message: message.into(),
        }
    }

    /// `action` ran out of `--request-timeout`; the limit is shown as it was given (`1ms`, `30s`).
    pub fn timeout(action: impl Into<String>, limit: std::time::Duration) -> Self {
        Error::Timeout {
            action: action.into(),
            after: crate::settings::fmt_duration(limit),
        }
    }

    pub fn other(action: impl Into<String>, reason: impl std::fmt::Display) -> Self {
        Error::Other {
            action: action.into(),
            reason: reason.to_string(),
        }
    }

    /// True when this is a 403 from the API server (callers degrade a section instead of failing).
    pub fn is_forbidden(&self) -> bool {
        matches!(self, Error::Forbidden { .. })
    }

    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::NotFound { .. })
    }
}
