//! Builds a Kubernetes client from kubeconfig the way kubectl does, and turns API errors into
//! [`Error`]s that say what failed and what to do.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;

use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

use crate::error::{Error, Result};
use crate::settings::ConnectSettings;

/// A connected client and where it points.
#[derive(Clone)]
pub struct Kube {
    pub client: Client,
    /// The namespace to work in: `-n`, else the context's namespace, else `default`.
    pub namespace: String,
    /// The kubeconfig context in use (`in-cluster` without kubeconfig).
    pub context: String,
    /// The API server URL.
    pub server: String,
    /// Per-request limit (`--request-timeout`); watches are not limited.
    pub request_timeout: Option<Duration>,
    /// The configuration the client was built from (to derive variants of it).
    config: Config,
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

/// Reads kubeconfig like kubectl: `--kubeconfig` is exactly that file; else every file in `KUBECONFIG`
/// that exists, merged (first wins); else `~/.kube/config`. `Ok(None)` when there is none at all.
pub fn load_kubeconfig(explicit: Option<&Path>) -> Result<Option<Kubeconfig>> {
    if let Some(path) = explicit {
        if !path.exists() {
            return Err(Error::Kubeconfig {
                path: path.display().to_string(),
                reason: "no such file (check --kubeconfig)".into(),
            });
        }
        return read_one(path).map(Some);
    }
    let paths: Vec<PathBuf> = match std::env::var_os("KUBECONFIG") {
        Some(v) if !v.is_empty() => std::env::split_paths(&v)
            .filter(|p| !p.as_os_str().is_empty())
            .collect(),
        _ => home_kubeconfig().into_iter().collect(),
    };
    let mut merged: Option<Kubeconfig> = None;
    for path in paths.iter().filter(|p| p.exists()) {
        let kc = read_one(path)?;
        merged = Some(match merged {
            None => kc,
            Some(m) => m.merge(kc).map_err(|e| Error::Kubeconfig {
                path: path.display().to_string(),
                reason: e.to_string(),
            })?,
        });
    }
    Ok(merged)
}

fn home_kubeconfig() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(|h| PathBuf::from(h).join(".kube").join("config"))
}

fn read_one(path: &Path) -> Result<Kubeconfig> {
    Kubeconfig::read_from(path).map_err(|e| Error::Kubeconfig {
        path: path.display().to_string(),
        reason: error_chain(&e),
    })
}

/// Every message in an error's source chain, joined, without repeats.
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
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

impl Kube {
    /// Connects as kubectl would with the same flags.
    pub async fn connect(s: &ConnectSettings) -> Result<Kube> {
        let (mut config, context) = match load_kubeconfig(s.kubeconfig.as_deref())? {
            Some(kc) => {
                let context = pick_context(&kc, s)?;
                let opts = KubeConfigOptions {
                    context: Some(context.clone()),
                    cluster: s.cluster.clone(),
                    user: s.user.clone(),
                };
                if let Some(cluster) = &s.cluster {
                    if !kc.clusters.iter().any(|c| &c.name == cluster) {
                        return Err(Error::Config(format!(
                            "cluster {cluster:?} not found in kubeconfig (clusters: {})",
                            names(kc.clusters.iter().map(|c| c.name.as_str()))
                        )));
                    }
                }
                if let Some(user) = &s.user {
                    if !kc.auth_infos.iter().any(|u| &u.name == user) {
                        return Err(Error::Config(format!(
                            "user {user:?} not found in kubeconfig (users: {})",
                            names(kc.auth_infos.iter().map(|u| u.name.as_str()))
                        )));
                    }
                }
                let config = Config::from_custom_kubeconfig(kc, &opts)
                    .await
                    .map_err(|e| {
                        Error::Config(format!(
                            "cannot use context {context:?}: {}",
                            error_chain(&e)
                        ))
                    })?;
                (config, context)
            }
            None if std::env::var_os("KUBERNETES_SERVICE_HOST").is_some() => {
                let config = Config::incluster().map_err(|e| {
                    Error::Config(format!("in-cluster configuration: {}", error_chain(&e)))
                })?;
                (config, "in-cluster".to_string())
            }
            None => return Err(Error::NoKubeconfig),
        };
        if let Some(ns) = &s.namespace {
            config.default_namespace = ns.clone();
        }
        if let Some(u) = &s.impersonate_user {
            config.auth_info.impersonate = Some(u.clone());
        }
        if !s.impersonate_groups.is_empty() {
            if s.impersonate_user.is_none() {
                return Err(Error::usage(
                    "--as-group needs --as: impersonating groups requires a user to impersonate",
                ));
            }
            config.auth_info.impersonate_groups = Some(s.impersonate_groups.clone());
        }
        // No global read timeout: it would cut watches. Single requests are limited in `call`.
        config.read_timeout = None;
        config.write_timeout = s.request_timeout;
        if let Some(t) = s.request_timeout {
            config.connect_timeout = Some(t);
        }
        let server = config
            .cluster_url
            .to_string()
            .trim_end_matches('/')
            .to_string();
        let namespace = config.default_namespace.clone();
        let client = build_client(config.clone(), &context)?;
        Ok(Kube {
            client,
            namespace,
            context,
            server,
            request_timeout: s.request_timeout,
            config,
        })
    }

    /// The same connection with kube-client's automatic retries off. kube retries 429/503/504 answers by
    /// itself (with back-off, many times), which hides the one answer an eviction must show: "Cannot evict
    /// pod as it would violate the pod's disruption budget".
    pub fn without_retries(&self) -> Result<Kube> {
        let mut config = self.config.clone();
        config.default_retry = false;
        Ok(Kube {
            client: build_client(config.clone(), &self.context)?,
            config,
            ..self.clone()
        })
    }

    /// Runs one API request with `--request-timeout` and maps its error. `verb` and `object` name it
    /// for messages: `call("get", "pod web-1", Some("shop"), api.get("web-1"))`.
    pub async fn call<T, F>(
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
                Err(_) => {
                    return Err(Error::Timeout {
                        action: format!("{verb} {object}"),
                        seconds: t.as_secs().max(1),
                    })
                }
            },
            None => fut.await,
        };
        res.map_err(|e| self.map_err(e, verb, object, namespace))
    }

    /// Turns a kube error into one that says what failed and what to do.
    pub fn map_err(
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
            kube::Error::HyperError(_) | kube::Error::Service(_) => Error::Unreachable {
                server: self.server.clone(),
                reason: connection_reason(&e),
                context: self.context.clone(),
            },
            other => Error::other(format!("{verb} {object}"), error_chain(&other)),
        }
    }
}

fn build_client(config: Config, context: &str) -> Result<Client> {
    Client::try_from(config).map_err(|e| {
        Error::Config(format!(
            "cannot build a client for context {context:?}: {}",
            error_chain(&e)
        ))
    })
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

/// Shortens the API server's RBAC message
/// `pods "web-1" is forbidden: User "alice" cannot get resource "pods/log" in API group "" in the namespace "shop"`
/// to `user alice cannot get pods/log in namespace shop`; other messages are kept as they are.
pub fn humanize_forbidden(message: &str) -> String {
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

fn pick_context(kc: &Kubeconfig, s: &ConnectSettings) -> Result<String> {
    let available = || names(kc.contexts.iter().map(|c| c.name.as_str()));
    match &s.context {
        Some(c) if kc.contexts.iter().any(|x| &x.name == c) => Ok(c.clone()),
        Some(c) => Err(Error::Config(format!(
            "context {c:?} not found in kubeconfig (contexts: {}); see `kubectl config get-contexts`",
            available()
        ))),
        None => match kc.current_context.as_deref() {
            Some(c) if !c.is_empty() => {
                if kc.contexts.iter().any(|x| x.name == c) {
                    Ok(c.to_string())
                } else {
                    Err(Error::Config(format!(
                        "current-context {c:?} does not exist in kubeconfig (contexts: {}); pass --context",
                        available()
                    )))
                }
            }
            _ => Err(Error::Config(format!(
                "kubeconfig has no current-context: pass --context (contexts: {})",
                available()
            ))),
        },
    }
}

fn names<'a>(it: impl Iterator<Item = &'a str>) -> String {
    let v: Vec<&str> = it.collect();
    if v.is_empty() {
        "none".into()
    } else {
        v.join(", ")
    }
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
}
