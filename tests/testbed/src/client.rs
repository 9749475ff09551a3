//! kube clients for the test bed's own users (the readiness checks, the simulated kubelet).

use crate::pki::CertPair;
use kube::config::{KubeConfigOptions, Kubeconfig};

/// A client that authenticates with `pair` against `url`, trusting `ca_pem`.
pub async fn for_cert_async(
    url: &str,
    ca_pem: &str,
    pair: &CertPair,
) -> anyhow::Result<kube::Client> {
    let ca = CertPair {
        cert_pem: ca_pem.to_string(),
        key_pem: String::new(),
        cert: Default::default(),
        key: Default::default(),
    };
    let kc = Kubeconfig::from_yaml(&crate::pki::kubeconfig(url, &ca, "user", pair))?;
    let config = kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default()).await?;
    Ok(kube::Client::try_from(config)?)
}
