//! Reading the kubeconfig and applying kubectl's flags over it, with client-go's precedence
//! (`k8s.io/client-go/tools/clientcmd/client_config.go`: `getCluster`, `getAuthInfo`).

use std::path::{Path, PathBuf};

use kube::config::{
    AuthInfo, Cluster, Context, Kubeconfig, NamedAuthInfo, NamedCluster, NamedContext,
};

use super::errors::error_chain;
use crate::error::{Error, Result};
use crate::settings::{ConnectSettings, Overrides};

/// The context name used when there is no kubeconfig and the flags (`--server` …) say everything.
pub(crate) const FLAGS_CONTEXT: &str = "(from flags)";

/// Reads kubeconfig like kubectl: `--kubeconfig` is exactly that file; else every file in `KUBECONFIG`
/// that exists, merged (first wins); else `~/.kube/config`. `Ok(None)` when there is none at all.
pub(crate) fn load_kubeconfig(explicit: Option<&Path>) -> Result<Option<Kubeconfig>> {
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
    Kubeconfig::read_from(path).map_err(|e| {
        // kube's read error repeats the path ("failed to read kubeconfig from '…': …"): keep the cause.
        let reason = match &e {
            kube::config::KubeconfigError::ReadConfig(io, _) => match io.kind() {
                std::io::ErrorKind::InvalidData => "not a text file (invalid UTF-8)".to_string(),
                _ => {
                    let s = io.to_string();
                    s.split(" (os error").next().unwrap_or(&s).to_lowercase()
                }
            },
            _ => error_chain(&e),
        };
        Error::Kubeconfig {
            path: path.display().to_string(),
            reason,
        }
    })
}

/// The context to use: `--context`, else `current-context`; errors name the contexts there are.
pub(crate) fn pick_context(kc: &Kubeconfig, s: &ConnectSettings) -> Result<String> {
    if kc.contexts.is_empty() && s.context.is_none() {
        return Err(Error::Config(
            "the kubeconfig has no contexts (is it empty?): point KUBECONFIG or --kubeconfig at a \
             kubeconfig, or pass --server"
                .into(),
        ));
    }
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

/// Checks `--cluster` and `--user` name entries that exist.
pub(crate) fn check_names(kc: &Kubeconfig, s: &ConnectSettings) -> Result<()> {
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
    Ok(())
}

pub(crate) fn names<'a>(it: impl Iterator<Item = &'a str>) -> String {
    let v: Vec<&str> = it.collect();
    if v.is_empty() {
        "none".into()
    } else {
        v.join(", ")
    }
}

/// A kubeconfig made of the flags alone (kubectl works with `--server` and no kubeconfig file).
pub(crate) fn from_flags() -> Kubeconfig {
    Kubeconfig {
        clusters: vec![NamedCluster {
            name: FLAGS_CONTEXT.into(),
            cluster: Some(Cluster::default()),
            ..NamedCluster::default()
        }],
        auth_infos: vec![NamedAuthInfo {
            name: FLAGS_CONTEXT.into(),
            auth_info: Some(AuthInfo::default()),
            ..NamedAuthInfo::default()
        }],
        contexts: vec![NamedContext {
            name: FLAGS_CONTEXT.into(),
            context: Some(Context {
                cluster: FLAGS_CONTEXT.into(),
                user: Some(FLAGS_CONTEXT.into()),
                ..Context::default()
            }),
            ..NamedContext::default()
        }],
        current_context: Some(FLAGS_CONTEXT.into()),
        ..Kubeconfig::default()
    }
}

/// Writes the flags over the cluster and user that `context` (with `--cluster`/`--user`) selects.
pub(crate) fn apply_overrides(
    kc: &mut Kubeconfig,
    context: &str,
    s: &ConnectSettings,
) -> Result<()> {
    let o = &s.overrides;
    let ctx = kc
        .contexts
        .iter()
        .find(|c| c.name == context)
        .and_then(|c| c.context.clone())
        .unwrap_or_default();
    let cluster_name = s.cluster.clone().unwrap_or(ctx.cluster.clone());
    let user_name = s.user.clone().or(ctx.user.clone());

    if o.server.is_some()
        || o.certificate_authority.is_some()
        || o.insecure_skip_tls_verify
        || o.tls_server_name.is_some()
    {
        let entry = match kc.clusters.iter_mut().find(|c| c.name == cluster_name) {
            Some(e) => e,
            None => {
                kc.clusters.push(NamedCluster {
                    name: cluster_name.clone(),
                    cluster: Some(Cluster::default()),
                    ..NamedCluster::default()
                });
                kc.clusters.last_mut().expect("just pushed")
            }
        };
        let cluster = entry.cluster.get_or_insert_with(Cluster::default);
        apply_cluster(cluster, o)?;
    }
    if o.token.is_some() || o.client_certificate.is_some() || o.client_key.is_some() {
        let name = user_name.unwrap_or_default();
        let entry = match kc.auth_infos.iter_mut().find(|u| u.name == name) {
            Some(e) => e,
            None => {
                kc.auth_infos.push(NamedAuthInfo {
                    name: name.clone(),
                    auth_info: Some(AuthInfo::default()),
                    ..NamedAuthInfo::default()
                });
                // The context must point at the user we just made.
                if let Some(c) = kc.contexts.iter_mut().find(|c| c.name == context) {
                    if let Some(cc) = c.context.as_mut() {
                        cc.user = Some(name.clone());
                    }
                }
                kc.auth_infos.last_mut().expect("just pushed")
            }
        };
        let user = entry.auth_info.get_or_insert_with(AuthInfo::default);
        apply_user(user, o);
    }
    Ok(())
}

fn apply_cluster(cluster: &mut Cluster, o: &Overrides) -> Result<()> {
    if let Some(server) = &o.server {
        cluster.server = Some(normalize_server(server, o)?);
    }
    // client-go: --insecure-skip-tls-verify=true or --certificate-authority replace all three CA
    // settings (else a kubeconfig CA plus the insecure flag would be "both set").
    if o.insecure_skip_tls_verify || o.certificate_authority.is_some() {
        cluster.insecure_skip_tls_verify = Some(o.insecure_skip_tls_verify);
        cluster.certificate_authority = o
            .certificate_authority
            .as_ref()
            .map(|p| absolute(p).display().to_string());
        cluster.certificate_authority_data = None;
    }
    // --server clears the kubeconfig's tls-server-name unless --tls-server-name is given too.
    if o.tls_server_name.is_some() || o.server.is_some() {
        cluster.tls_server_name = o.tls_server_name.clone();
    }
    Ok(())
}

fn apply_user(user: &mut AuthInfo, o: &Overrides) {
    if let Some(token) = &o.token {
        user.token = Some(token.clone().into());
        user.token_file = None;
    }
    // client-go: a flag for the certificate or the key replaces both the path and the data of it.
    if let Some(cert) = &o.client_certificate {
        user.client_certificate = Some(absolute(cert).display().to_string());
        user.client_certificate_data = None;
    }
    if let Some(key) = &o.client_key {
        user.client_key = Some(absolute(key).display().to_string());
        user.client_key_data = None;
    }
}

/// rest.DefaultServerURL: a server without a scheme gets https:// when TLS is configured, else http://.
fn normalize_server(server: &str, o: &Overrides) -> Result<String> {
    let with_scheme = if server.contains("://") {
        server.to_string()
    } else {
        let tls = o.certificate_authority.is_some()
            || o.client_certificate.is_some()
            || o.insecure_skip_tls_verify;
        format!("{}://{server}", if tls { "https" } else { "http" })
    };
    let uri: http::Uri = with_scheme.parse().map_err(|e| {
        Error::usage(format!(
            "invalid --server {server:?}: {e} (expected https://HOST:PORT)"
        ))
    })?;
    match (uri.scheme_str(), uri.host()) {
        (Some("https") | Some("http"), Some(h)) if !h.is_empty() => Ok(with_scheme),
        _ => Err(Error::usage(format!(
            "invalid --server {server:?}: expected https://HOST:PORT"
        ))),
    }
}

/// Paths from flags are relative to the working directory (kube would read them relative to the
/// kubeconfig's directory).
fn absolute(p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|d| d.join(p))
            .unwrap_or_else(|_| p.to_path_buf())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kc() -> Kubeconfig {
        Kubeconfig::from_yaml(
            r#"
apiVersion: v1
kind: Config
current-context: a
clusters:
- name: c
  cluster: {server: "https://1.2.3.4:6443", certificate-authority-data: Zm9v, tls-server-name: kube.internal}
users:
- name: u
  user: {token: from-file, client-certificate-data: Y2VydA==, client-key-data: a2V5}
contexts:
- name: a
  context: {cluster: c, user: u}
"#,
        )
        .unwrap()
    }

    fn settings(o: Overrides) -> ConnectSettings {
        ConnectSettings {
            overrides: o,
            ..ConnectSettings::default()
        }
    }

    #[test]
    fn flags_replace_kubeconfig_fields_like_client_go() {
        let mut k = kc();
        let o = Overrides {
            server: Some("https://5.6.7.8:443".into()),
            token: Some("flag-token".into()),
            insecure_skip_tls_verify: true,
            client_key: Some("/k.pem".into()),
            ..Overrides::default()
        };
        apply_overrides(&mut k, "a", &settings(o)).unwrap();
        let c = k.clusters[0].cluster.as_ref().unwrap();
        assert_eq!(c.server.as_deref(), Some("https://5.6.7.8:443"));
        // --insecure-skip-tls-verify clears the CA; --server clears tls-server-name.
        assert_eq!(c.certificate_authority_data, None);
        assert_eq!(c.insecure_skip_tls_verify, Some(true));
        assert_eq!(c.tls_server_name, None);
        let u = k.auth_infos[0].auth_info.as_ref().unwrap();
        use secrecy::ExposeSecret;
        assert_eq!(u.token.as_ref().unwrap().expose_secret(), "flag-token");
        // The key flag replaces the key data, the certificate stays.
        assert_eq!(u.client_key.as_deref(), Some("/k.pem"));
        assert!(u.client_key_data.is_none());
        assert_eq!(u.client_certificate_data.as_deref(), Some("Y2VydA=="));
    }

    #[test]
    fn tls_server_name_survives_without_server_flag() {
        let mut k = kc();
        let o = Overrides {
            token: Some("t".into()),
            ..Overrides::default()
        };
        apply_overrides(&mut k, "a", &settings(o)).unwrap();
        let c = k.clusters[0].cluster.as_ref().unwrap();
        assert_eq!(c.tls_server_name.as_deref(), Some("kube.internal"));
        assert_eq!(c.certificate_authority_data.as_deref(), Some("Zm9v"));
    }

    #[test]
    fn server_without_scheme_follows_default_server_url() {
        let plain = Overrides::default();
        assert_eq!(normalize_server("h:8080", &plain).unwrap(), "http://h:8080");
        let tls = Overrides {
            insecure_skip_tls_verify: true,
            ..Overrides::default()
        };
        assert_eq!(normalize_server("h:6443", &tls).unwrap(), "https://h:6443");
        assert!(normalize_server("https://", &plain).is_err());
        assert!(normalize_server("ftp://x", &plain).is_err());
    }
}
