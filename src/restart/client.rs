//! A client for evictions with kube-client's built-in retry turned off.
//!
//! kube 5 retries 429 answers by itself (up to 15 times, with back-off), which hides the one answer an
//! eviction must show: "Cannot evict pod as it would violate the pod's disruption budget". This builds a
//! second client like the foundation's [`Kube::connect`](crate::client::Kube::connect) does, for the context
//! it already chose, with `default_retry` off, so the eviction loop sees each 429, says why and backs off
//! under `--timeout`. (Lead: a `retry: bool` on the foundation's connect would replace this file.)

use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

use crate::cli::GlobalArgs;
use crate::client::{error_chain, load_kubeconfig, Kube};
use crate::error::{Error, Result};
use crate::settings::ConnectSettings;

/// The config for `kube`'s context, from the same flags, without kube-client's automatic retries.
async fn config(global: &GlobalArgs, kube: &Kube) -> Result<Config> {
    let s = ConnectSettings::from_args(global)?;
    let mut config = match load_kubeconfig(s.kubeconfig.as_deref())? {
        Some(kc) => from_kubeconfig(kc, &s, &kube.context).await?,
        None => Config::incluster()
            .map_err(|e| Error::Config(format!("in-cluster configuration: {}", error_chain(&e))))?,
    };
    config.default_namespace = kube.namespace.clone();
    if let Some(u) = &s.impersonate_user {
        config.auth_info.impersonate = Some(u.clone());
    }
    if !s.impersonate_groups.is_empty() {
        config.auth_info.impersonate_groups = Some(s.impersonate_groups.clone());
    }
    config.read_timeout = None;
    config.write_timeout = s.request_timeout;
    if let Some(t) = s.request_timeout {
        config.connect_timeout = Some(t);
    }
    config.default_retry = false;
    Ok(config)
}

async fn from_kubeconfig(kc: Kubeconfig, s: &ConnectSettings, context: &str) -> Result<Config> {
    let opts = KubeConfigOptions {
        context: Some(context.to_string()),
        cluster: s.cluster.clone(),
        user: s.user.clone(),
    };
    Config::from_custom_kubeconfig(kc, &opts)
        .await
        .map_err(|e| {
            Error::Config(format!(
                "cannot use context {context:?}: {}",
                error_chain(&e)
            ))
        })
}

/// A [`Kube`] like `kube` whose requests are never retried behind our back.
pub async fn without_retries(global: &GlobalArgs, kube: &Kube) -> Result<Kube> {
    let config = config(global, kube).await?;
    let client = Client::try_from(config).map_err(|e| {
        Error::Config(format!(
            "cannot build a client for context {:?}: {}",
            kube.context,
            error_chain(&e)
        ))
    })?;
    Ok(Kube {
        client,
        ..kube.clone()
    })
}
