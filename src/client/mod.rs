//! The connection to the cluster, made the way kubectl makes it, and API errors turned into [`Error`]s
//! that say what failed and what to do.
//!
//! - [`kubeconfig`]: which kubeconfig, context, cluster and user; kubectl's flags over them.
//! - [`proxy`]: HTTPS_PROXY / NO_PROXY / `proxy-url`, with Go's rules.
//! - [`exec`]: credential plugins, run once per process.
//! - [`transport`]: one HTTP/2 connection (HTTP/1.1 when the server has no h2), CONNECT tunnels.
//! - [`log`]: kubectl's `-v=6` request log.
//!
//! Over the transport, the request stack is kube's own middleware (base URI, auth and token refresh,
//! impersonation headers, retries), so `kube::Client` works as usual on top.

mod errors;
pub(crate) mod exec;
mod kubeconfig;
mod log;
pub(crate) mod proxy;
pub(crate) mod transport;

use std::future::Future;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use kube::client::ConfigExt;
use kube::config::{KubeConfigOptions, Kubeconfig, KubeconfigError};
use kube::{Client, Config};
use tower::ServiceBuilder;

pub(crate) use errors::{error_chain, humanize_forbidden};
pub(crate) use kubeconfig::load_kubeconfig;

use crate::error::{Error, Result};
use crate::settings::ConnectSettings;
use exec::{ExecAuth, ExecTokenLayer};
use proxy::{Proxy, ProxyEnv};
use transport::{Endpoint, Transport};

/// A connected client and where it points.
#[derive(Clone)]
pub(crate) struct Kube {
    pub client: Client,
    /// The namespace to work in: `-n`, else the context's namespace, else `default`.
    pub namespace: String,
    /// The kubeconfig context in use (`in-cluster` without kubeconfig).
    pub context: String,
    /// The API server URL.
    pub server: String,
    /// Per-request limit (`--request-timeout`); watches are not limited.
    pub request_timeout: Option<Duration>,
    /// The same connection as `client`, without kube's automatic retries.
    no_retry: Client,
    proxy: Option<Proxy>,
}

impl std::fmt::Debug for Kube {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kube")
            .field("namespace", &self.namespace)
            .field("context", &self.context)
            .field("server", &self.server)
            .finish()
    }
}

impl Kube {
    /// Connects as kubectl would with the same flags. Nothing is sent yet, but an exec credential
    /// plugin runs now (its certificate, if it returns one, is part of the TLS set-up).
    pub(crate) async fn connect(s: &ConnectSettings) -> Result<Kube> {
        let (mut config, context, proxy_url) = load_config(s).await?;
        if let Some(ns) = &s.namespace {
            config.default_namespace = ns.clone();
        }
        if let Some(u) = &s.impersonate_user {
            config.auth_info.impersonate = Some(u.clone());
        }
        if let Some(uid) = &s.impersonate_uid {
            config.auth_info.impersonate_uid = Some(uid.clone());
        }
        if !s.impersonate_groups.is_empty() {
            config.auth_info.impersonate_groups = Some(s.impersonate_groups.clone());
        }
        // client-go: "requesting uid, groups or user-extra … without impersonating a user".
        if config.auth_info.impersonate.is_none() {
            if config.auth_info.impersonate_groups.is_some() {
                return Err(Error::usage(
                    "--as-group needs --as: impersonating groups requires a user to impersonate",
                ));
            }
            if config.auth_info.impersonate_uid.is_some() {
                return Err(Error::usage(
                    "--as-uid needs --as: impersonating a uid requires a user to impersonate",
                ));
            }
        }
        // Servers see who is calling, as they see `kubectl/v1.33.1 (linux/amd64) kubernetes/8adc0f0`.
        config.headers.push((
            http::header::USER_AGENT,
            http::HeaderValue::from_static(concat!(
                "kubectl-graceful/v",
                env!("CARGO_PKG_VERSION")
            )),
        ));
        let server = config
            .cluster_url
            .to_string()
            .trim_end_matches('/')
            .to_string();
        let endpoint = Endpoint::from_uri(&config.cluster_url, config.tls_server_name.as_deref())
            .map_err(|e| {
            Error::Config(format!("server {server:?} of context {context:?}: {e}"))
        })?;
        let proxy = proxy::proxy_for(
            if endpoint.https { "https" } else { "http" },
            &endpoint.host,
            endpoint.port,
            proxy_url.as_deref(),
            &ProxyEnv::from_process(),
        )
        .map_err(Error::Config)?;
        let exec = prepare_exec(&mut config, &context).await?;
        let tls = match endpoint.https {
            true => Some(config.rustls_client_config().map_err(|e| {
                Error::Config(format!(
                    "cannot set up TLS for context {context:?}: {}",
                    error_chain(&e)
                ))
            })?),
            false => None,
        };
        // The dial limit is client-go's 30 s; `--request-timeout` limits the whole request in `call`.
        let transport = Transport::new(endpoint, proxy.clone(), tls, None);
        let client = build_client(
            &config,
            &transport,
            exec.clone(),
            true,
            s.verbosity,
            &context,
        )?;
        let no_retry = build_client(&config, &transport, exec, false, s.verbosity, &context)?;
        Ok(Kube {
            client,
            no_retry,
            namespace: config.default_namespace.clone(),
            context,
            server,
            request_timeout: s.request_timeout,
            proxy,
        })
    }

    /// The same connection with kube-client's automatic retries off. kube retries 429/503/504 answers by
    /// itself (with back-off, many times), which hides the one answer an eviction must show: "Cannot evict
    /// pod as it would violate the pod's disruption budget".
    pub(crate) fn without_retries(&self) -> Result<Kube> {
        Ok(Kube {
            client: self.no_retry.clone(),
            ..self.clone()
        })
    }

    /// Runs one API request with `--request-timeout` and maps its error. `verb` and `object` name it
    /// for messages: `call("get", "pod web-1", Some("shop"), api.get("web-1"))`.
    pub(crate) async fn call<T, F>(
        &self,
        verb: &str,
        object: &str,
        namespace: Option<&str>,
        fut: F,
    ) -> Result<T>
    where
        F: Future<Output = std::result::Result<T, kube::Error>>,
    {
        let res = match self.request_timeout {
            Some(t) => match tokio::time::timeout(t, fut).await {
                Ok(r) => r,
                Err(_) => return Err(Error::timeout(format!("{verb} {object}"), t)),
            },
            None => fut.await,
        };
        res.map_err(|e| self.map_err(e, verb, object, namespace))
    }

    /// Turns a kube error into one that says what failed and what to do.
    pub(crate) fn map_err(
        &self,
        e: kube::Error,
        verb: &str,
        object: &str,
        namespace: Option<&str>,
    ) -> Error {
        let ns = namespace.unwrap_or("all namespaces").to_string();
        match e {
            kube::Error::Api(status) => match status.code {
                404 => Error::NotFound {
                    what: object.to_string(),
                    namespace: ns,
                    context: self.context.clone(),
                },
                403 => Error::Forbidden {
                    message: if status.message.is_empty() {
                        format!("cannot {verb} {object} in {ns}")
                    } else {
                        humanize_forbidden(&status.message)
                    },
                },
                401 => Error::Unauthorized {
                    server: self.server.clone(),
                    context: self.context.clone(),
                },
                code => Error::Api {
                    action: format!("{verb} {object}"),
                    code,
                    reason: status.reason.clone(),
                    message: status.message.clone(),
                },
            },
            kube::Error::Auth(err) => Error::Config(format!(
                "cannot get credentials for context {}: {}",
                self.context,
                error_chain(&err)
            )),
            kube::Error::HyperError(_) | kube::Error::Service(_) => {
                let target = errors::Target {
                    server: &self.server,
                    context: &self.context,
                    proxy: self.proxy.as_ref(),
                };
                errors::transport_error(&e, &target).unwrap_or_else(|| Error::Unreachable {
                    server: self.server.clone(),
                    reason: connection_reason(&e),
                    context: self.context.clone(),
                })
            }
            other => Error::other(format!("{verb} {object}"), error_chain(&other)),
        }
    }
}

/// The most telling part of a connection error: the innermost cause ("connection refused",
/// "invalid peer certificate: UnknownIssuer", "dns error: …").
fn connection_reason(e: &(dyn std::error::Error + 'static)) -> String {
    let mut innermost = e.to_string();
    let mut cur = e.source();
    while let Some(err) = cur {
        let s = err.to_string();
        if !s.is_empty() {
            innermost = s;
        }
        cur = err.source();
    }
    // io::Error renders as "Connection refused (os error 111)".
    let lower = innermost.to_lowercase();
    match lower.find(" (os error") {
        Some(i) => lower[..i].to_string(),
        None => lower,
    }
}

/// The kubeconfig (or in-cluster) configuration with the flags applied, the context's name and the
/// cluster's `proxy-url` (taken out: the transport handles proxies).
async fn load_config(s: &ConnectSettings) -> Result<(Config, String, Option<String>)> {
    let kc = match load_kubeconfig(s.kubeconfig.as_deref())? {
        // An empty kubeconfig says nothing: with --server the flags say everything, as in kubectl.
        Some(kc) if kc.contexts.is_empty() && s.overrides.server.is_some() => {
            Some(kubeconfig::from_flags())
        }
        Some(kc) => Some(kc),
        // kubectl works from flags alone: `--server https://… --token …`.
        None if s.overrides.server.is_some() => Some(kubeconfig::from_flags()),
        None => None,
    };
    if let Some(mut kc) = kc {
        let context = kubeconfig::pick_context(&kc, s)?;
        kubeconfig::check_names(&kc, s)?;
        kubeconfig::apply_overrides(&mut kc, &context, s)?;
        let proxy_url = take_proxy_url(&mut kc, &context, s);
        let opts = KubeConfigOptions {
            context: Some(context.clone()),
            cluster: s.cluster.clone(),
            user: s.user.clone(),
        };
        let config = Config::from_custom_kubeconfig(kc, &opts)
            .await
            .map_err(|e| config_error(e, &context))?;
        return Ok((config, context, proxy_url));
    }
    if std::env::var_os("KUBERNETES_SERVICE_HOST").is_some() {
        let mut config = Config::incluster()
            .map_err(|e| Error::Config(format!("in-cluster configuration: {}", error_chain(&e))))?;
        // client-go's in-cluster config takes only a token and a CA file from the flags.
        let o = &s.overrides;
        if let Some(token) = &o.token {
            config.auth_info.token = Some(token.clone().into());
            config.auth_info.token_file = None;
        }
        if let Some(ca) = &o.certificate_authority {
            let pem = std::fs::read(ca).map_err(|e| {
                Error::Config(format!(
                    "cannot read --certificate-authority {}: {e}",
                    ca.display()
                ))
            })?;
            config.root_cert = Some(pem_certs(&pem));
            config.root_cert_file = None;
        }
        return Ok((config, "in-cluster".to_string(), None));
    }
    Err(Error::NoKubeconfig)
}

/// Removes the selected cluster's `proxy-url` from the kubeconfig and returns it.
fn take_proxy_url(kc: &mut Kubeconfig, context: &str, s: &ConnectSettings) -> Option<String> {
    let cluster_name = s.cluster.clone().or_else(|| {
        kc.contexts
            .iter()
            .find(|c| c.name == context)
            .and_then(|c| c.context.as_ref())
            .map(|c| c.cluster.clone())
    })?;
    kc.clusters
        .iter_mut()
        .find(|c| c.name == cluster_name)
        .and_then(|c| c.cluster.as_mut())
        .and_then(|c| c.proxy_url.take())
}

fn config_error(e: KubeconfigError, context: &str) -> Error {
    match &e {
        // kube reads HTTPS_PROXY itself and refuses one it cannot parse.
        KubeconfigError::ParseProxyUrl(_) => Error::Config(format!(
            "HTTPS_PROXY is not a usable proxy URL ({}): expected http://HOST:PORT",
            error_chain(&e)
        )),
        _ => Error::Config(format!(
            "cannot use context {context:?}: {}",
            error_chain(&e)
        )),
    }
}

fn pem_certs(pem: &[u8]) -> Vec<Vec<u8>> {
    use rustls::pki_types::pem::PemObject;
    rustls::pki_types::CertificateDer::pem_slice_iter(pem)
        .filter_map(|c| c.ok())
        .map(|c| c.to_vec())
        .collect()
}

/// Runs the user's exec credential plugin, unless a token, basic auth or a client certificate is
/// already there (client-go: "kubectl get --token …" wins over the plugin). A certificate it returns
/// goes into the TLS set-up; a token is added to each request by [`ExecTokenLayer`]. kube must not run
/// the plugin itself, so the exec section is taken out of the config.
async fn prepare_exec(config: &mut Config, context: &str) -> Result<Option<Arc<ExecAuth>>> {
    let Some(exec_config) = config.auth_info.exec.take() else {
        return Ok(None);
    };
    let a = &config.auth_info;
    let has_cert = a.client_certificate.is_some() || a.client_certificate_data.is_some();
    if a.token.is_some() || a.token_file.is_some() || a.username.is_some() || has_cert {
        return Ok(None);
    }
    let auth = shared_exec_auth(exec_config);
    let cred = auth
        .credential()
        .await
        .map_err(|e| errors::credentials_error(&e, context))?;
    if let Some((cert, key)) = cred.client_cert_data() {
        config.auth_info.client_certificate_data = Some(cert);
        config.auth_info.client_key_data = Some(key.into());
    }
    Ok(cred.token.is_some().then_some(auth))
}

/// One [`ExecAuth`] per plugin configuration for the whole process (client-go keeps the same cache).
fn shared_exec_auth(config: kube::config::ExecConfig) -> Arc<ExecAuth> {
    type Cache = Mutex<Vec<(String, Arc<ExecAuth>)>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let key = serde_json::to_string(&config).unwrap_or_default();
    let mut cache = CACHE
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    if let Some((_, a)) = cache.iter().find(|(k, _)| *k == key) {
        return a.clone();
    }
    let auth = Arc::new(ExecAuth::new(config));
    cache.push((key, auth.clone()));
    auth
}

/// kube's request stack (base URI, retries, credentials, impersonation headers) over our transport.
fn build_client(
    config: &Config,
    transport: &Transport,
    exec: Option<Arc<ExecAuth>>,
    retry: bool,
    verbosity: u8,
    context: &str,
) -> Result<Client> {
    let creds = |e: &dyn std::fmt::Display| {
        Error::Config(format!(
            "cannot use the credentials of context {context:?}: {e}"
        ))
    };
    let auth = config.auth_layer().map_err(|e| creds(&error_chain(&e)))?;
    let headers = config
        .extra_headers_layer()
        .map_err(|e| creds(&error_chain(&e)))?;
    let retry = retry
        .then(|| tower::retry::RetryLayer::new(kube::client::retry::RetryPolicy::server_retry()));
    let service = ServiceBuilder::new()
        .layer(config.base_uri_layer())
        .option_layer(retry)
        .option_layer(auth)
        .option_layer(exec.map(ExecTokenLayer))
        .layer(headers)
        .layer(log::LogLayer { level: verbosity })
        .service(transport.clone());
    Ok(Client::new(service, config.default_namespace.clone()))
}
