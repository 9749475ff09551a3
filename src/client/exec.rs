//! Exec credential plugins (`users[].user.exec` in the kubeconfig), run the way client-go runs them
//! (`k8s.io/client-go/plugin/pkg/client/auth/exec/exec.go`): the plugin's stderr goes straight to ours,
//! its stdin is ours only when it may be interactive, `KUBERNETES_EXEC_INFO` describes the request, and
//! the credential is cached for the whole process until it expires. One run per process, however many
//! clients share the connection.

use std::io::IsTerminal;
use std::process::{Command, Stdio};
use std::sync::Arc;

use base64::Engine;
use kube::config::{ExecConfig, ExecInteractiveMode};
use serde::Deserialize;

/// What a plugin gave us.
#[derive(Clone)]
pub(crate) struct Credential {
    pub token: Option<String>,
    /// (certificate PEM, key PEM).
    pub client_cert: Option<(String, String)>,
    pub expires: Option<jiff::Timestamp>,
}

impl Credential {
    fn expired(&self) -> bool {
        self.expires.is_some_and(|t| jiff::Timestamp::now() >= t)
    }

    /// The certificate and key base64-encoded, as the kubeconfig's `client-*-data` fields hold them.
    pub(crate) fn client_cert_data(&self) -> Option<(String, String)> {
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s.as_bytes());
        self.client_cert.as_ref().map(|(c, k)| (b64(c), b64(k)))
    }
}

/// Why a plugin gave us nothing usable. Its own stderr has already been shown.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ExecError {
    #[error("exec plugin {command}: executable not found{hint}")]
    NotFound { command: String, hint: String },
    #[error("exec plugin {command}: {source}")]
    Start {
        command: String,
        source: std::io::Error,
    },
    #[error("exec plugin {command} failed with {status}")]
    Failed { command: String, status: String },
    #[error("exec plugin {command}: {message}")]
    Output { command: String, message: String },
    #[error("exec plugin {command}: {message}")]
    Config { command: String, message: String },
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExecCredential {
    api_version: Option<String>,
    status: Option<Status>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Status {
    token: Option<String>,
    client_certificate_data: Option<String>,
    client_key_data: Option<String>,
    expiration_timestamp: Option<String>,
}

/// One plugin configuration and its cached credential.
pub(crate) struct ExecAuth {
    config: ExecConfig,
    cached: tokio::sync::Mutex<Option<Credential>>,
}

impl ExecAuth {
    pub(crate) fn new(config: ExecConfig) -> Self {
        ExecAuth {
            config,
            cached: tokio::sync::Mutex::new(None),
        }
    }

    /// The cached credential, or a fresh one when there is none or it expired. Concurrent callers
    /// wait for the one run (the plugin may be interactive).
    pub(crate) async fn credential(&self) -> Result<Credential, ExecError> {
        let mut cached = self.cached.lock().await;
        if let Some(c) = cached.as_ref().filter(|c| !c.expired()) {
            return Ok(c.clone());
        }
        let config = self.config.clone();
        let fresh = tokio::task::spawn_blocking(move || run(&config))
            .await
            .map_err(|e| ExecError::Config {
                command: self.command(),
                message: format!("the plugin's task failed: {e}"),
            })??;
        *cached = Some(fresh.clone());
        Ok(fresh)
    }

    fn command(&self) -> String {
        self.config.command.clone().unwrap_or_default()
    }
}

fn run(config: &ExecConfig) -> Result<Credential, ExecError> {
    let command = config.command.clone().unwrap_or_default();
    let err_config = |message: String| ExecError::Config {
        command: command.clone(),
        message,
    };
    if command.is_empty() {
        return Err(err_config(
            "the kubeconfig's exec section has no command".into(),
        ));
    }
    let api_version = config.api_version.clone().unwrap_or_default();
    if !matches!(
        api_version.as_str(),
        "client.authentication.k8s.io/v1" | "client.authentication.k8s.io/v1beta1"
    ) {
        return Err(err_config(format!(
            "unsupported apiVersion {api_version:?} (client.authentication.k8s.io/v1 or v1beta1)"
        )));
    }
    // client-go: v1 requires interactiveMode; IfAvailable (the v1beta1 default) means "if stdin is a
    // terminal"; Always fails without one.
    let stdin_tty = std::io::stdin().is_terminal();
    let interactive = match config.interactive_mode {
        Some(ExecInteractiveMode::Never) => false,
        Some(ExecInteractiveMode::Always) => {
            if !stdin_tty {
                return Err(err_config(
                    "interactiveMode is Always but standard input is not a terminal".into(),
                ));
            }
            true
        }
        Some(ExecInteractiveMode::IfAvailable) => stdin_tty,
        None if api_version.ends_with("/v1") => {
            return Err(err_config(
                "interactiveMode must be set for client.authentication.k8s.io/v1 (Never, IfAvailable or Always)".into(),
            ))
        }
        None => stdin_tty,
    };
    let mut spec = serde_json::json!({ "interactive": interactive });
    if config.provide_cluster_info {
        if let Some(cluster) = &config.cluster {
            spec["cluster"] = serde_json::to_value(cluster).unwrap_or_default();
        }
    }
    let info = serde_json::json!({
        "apiVersion": api_version,
        "kind": "ExecCredential",
        "spec": spec,
    });

    let mut cmd = Command::new(&command);
    cmd.args(config.args.iter().flatten())
        .env("KUBERNETES_EXEC_INFO", info.to_string())
        .stdout(Stdio::piped())
        // The plugin talks to the user on stderr ("run `cloud login`"): pass it through, as kubectl does.
        .stderr(Stdio::inherit())
        .stdin(if interactive {
            Stdio::inherit()
        } else {
            Stdio::null()
        });
    for pair in config.env.iter().flatten() {
        if let (Some(name), Some(value)) = (pair.get("name"), pair.get("value")) {
            cmd.env(name, value);
        }
    }
    for name in config.drop_env.iter().flatten() {
        cmd.env_remove(name);
    }
    let out = cmd.output().map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            ExecError::NotFound {
                command: command.clone(),
                hint: config
                    .install_hint
                    .as_deref()
                    .map(|h| format!("\n  {}", h.trim().replace('\n', "\n  ")))
                    .unwrap_or_default(),
            }
        } else {
            ExecError::Start {
                command: command.clone(),
                source: e,
            }
        }
    })?;
    if !out.status.success() {
        let status = match out.status.code() {
            Some(code) => format!("exit code {code}"),
            None => "a signal".to_string(),
        };
        return Err(ExecError::Failed { command, status });
    }
    parse(&out.stdout, &api_version).map_err(|message| ExecError::Output { command, message })
}

/// Reads the plugin's stdout with client-go's checks (`refreshCredsLocked`).
fn parse(stdout: &[u8], api_version: &str) -> Result<Credential, String> {
    let text = String::from_utf8_lossy(stdout);
    // client-go decodes with a YAML-tolerant decoder; JSON is YAML.
    let cred: ExecCredential =
        serde_yaml::from_str(&text).map_err(|e| format!("decoding stdout: {e}"))?;
    let got = cred.api_version.unwrap_or_default();
    if got != api_version {
        return Err(format!(
            "the plugin is configured for API version {api_version}, it returned {got:?}"
        ));
    }
    let status = cred
        .status
        .ok_or("the plugin didn't return a status field")?;
    let token = status.token.filter(|t| !t.is_empty());
    let cert = status.client_certificate_data.filter(|c| !c.is_empty());
    let key = status.client_key_data.filter(|k| !k.is_empty());
    if token.is_none() && cert.is_none() && key.is_none() {
        return Err("the plugin didn't return a token or cert/key pair".into());
    }
    if cert.is_some() != key.is_some() {
        return Err("the plugin returned only a certificate or a key, not both".into());
    }
    let expires = match status.expiration_timestamp {
        Some(ts) => Some(
            ts.parse::<jiff::Timestamp>()
                .map_err(|e| format!("bad expirationTimestamp {ts:?}: {e}"))?,
        ),
        None => None,
    };
    Ok(Credential {
        token,
        client_cert: cert.zip(key),
        expires,
    })
}

/// Puts the plugin's token on each request that carries no Authorization yet (client-go: a token
/// from `--token` wins over the plugin).
#[derive(Clone)]
pub(crate) struct ExecTokenLayer(pub Arc<ExecAuth>);

impl<S> tower::Layer<S> for ExecTokenLayer {
    type Service = ExecToken<S>;
    fn layer(&self, inner: S) -> ExecToken<S> {
        ExecToken {
            inner,
            auth: self.0.clone(),
        }
    }
}

#[derive(Clone)]
pub(crate) struct ExecToken<S> {
    inner: S,
    auth: Arc<ExecAuth>,
}

impl<S, R> tower::Service<http::Request<kube::client::Body>> for ExecToken<S>
where
    S: tower::Service<http::Request<kube::client::Body>, Response = R, Error = tower::BoxError>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    type Response = R;
    type Error = tower::BoxError;
    type Future =
        std::pin::Pin<Box<dyn std::future::Future<Output = Result<R, tower::BoxError>> + Send>>;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: http::Request<kube::client::Body>) -> Self::Future {
        // The clone is not ready yet; the ready one (self.inner) goes into the future.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let auth = self.auth.clone();
        Box::pin(async move {
            if !req.headers().contains_key(http::header::AUTHORIZATION) {
                if let Some(token) = auth.credential().await?.token {
                    let mut v =
                        http::HeaderValue::from_str(&format!("Bearer {token}")).map_err(|e| {
                            format!("the exec plugin's token is not a valid header: {e}")
                        })?;
                    v.set_sensitive(true);
                    req.headers_mut().insert(http::header::AUTHORIZATION, v);
                }
            }
            inner.call(req).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const V1: &str = "client.authentication.k8s.io/v1";

    #[test]
    fn parses_what_client_go_accepts() {
        let c = parse(
            br#"{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"t","expirationTimestamp":"2030-01-01T00:00:00Z"}}"#,
            V1,
        )
        .unwrap();
        assert_eq!(c.token.as_deref(), Some("t"));
        assert!(!c.expired());
        // YAML is accepted too.
        let c = parse(
            b"apiVersion: client.authentication.k8s.io/v1\nkind: ExecCredential\nstatus:\n  clientCertificateData: C\n  clientKeyData: K\n",
            V1,
        )
        .unwrap();
        assert_eq!(c.client_cert, Some(("C".into(), "K".into())));
    }

    #[test]
    fn rejects_what_client_go_rejects() {
        for (out, needle) in [
            (
                r#"{"apiVersion":"client.authentication.k8s.io/v1"}"#,
                "status",
            ),
            (
                r#"{"apiVersion":"client.authentication.k8s.io/v1beta1","status":{"token":"t"}}"#,
                "API version",
            ),
            (
                r#"{"apiVersion":"client.authentication.k8s.io/v1","status":{}}"#,
                "token or cert/key",
            ),
            (
                r#"{"apiVersion":"client.authentication.k8s.io/v1","status":{"clientKeyData":"k"}}"#,
                "not both",
            ),
            ("not: [json", "decoding stdout"),
        ] {
            let e = parse(out.as_bytes(), V1).err().unwrap();
            assert!(e.contains(needle), "{out}: {e}");
        }
    }

    #[test]
    fn an_expired_credential_is_refreshed() {
        let c = Credential {
            token: Some("t".into()),
            client_cert: None,
            expires: Some("2001-01-01T00:00:00Z".parse().unwrap()),
        };
        assert!(c.expired());
    }
}
