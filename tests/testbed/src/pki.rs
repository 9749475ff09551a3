//! The cluster's PKI, generated per test bed with kubesim's CA ([`kubesim::pki`]): one CA that signs
//! the apiserver's and the kubelet's serving certificates and every client certificate, and the
//! service-account signing key. Files are written as kubeadm names them (`ca.crt`,
//! `apiserver.crt`, …) in the test bed's folder.

use anyhow::Context;
use kubesim::pki::{Ca, Issued};
use rcgen::KeyPair;
use std::path::{Path, PathBuf};

/// A certificate and its key, PEM, and where they were written.
pub struct CertPair {
    pub cert_pem: String,
    pub key_pem: String,
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Every file the control plane needs.
pub struct Pki {
    pub ca: CertPair,
    pub apiserver: CertPair,
    /// Client certificate the apiserver shows the kubelet (`--kubelet-client-certificate`).
    pub apiserver_kubelet_client: CertPair,
    /// Serving certificate of the simulated kubelet API (127.0.0.1).
    pub kubelet_serving: CertPair,
    pub admin: CertPair,
    pub controller_manager: CertPair,
    pub scheduler: CertPair,
    pub kubelet_client: CertPair,
    /// Service-account token signing key (private) and its public half.
    pub sa_key: PathBuf,
    pub sa_pub: PathBuf,
}

/// The apiserver's in-cluster names, so its certificate is valid however it is addressed.
const APISERVER_NAMES: &[&str] = &[
    "127.0.0.1",
    "localhost",
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    "kubernetes.default.svc.cluster.local",
    "10.0.0.1",
];

impl Pki {
    pub fn generate(dir: &Path) -> anyhow::Result<Pki> {
        std::fs::create_dir_all(dir)?;
        let ca = Ca::new("testbed-ca")?;
        let ca_pair = write(dir, "ca", ca.cert.pem(), ca.key().serialize_pem())?;
        let serving =
            |name: &str, cn: &str, sans: &[&str]| written(dir, name, ca.serving(cn, sans)?);
        let client =
            |name: &str, cn: &str, groups: &[&str]| written(dir, name, ca.client(cn, groups)?);

        let sa = KeyPair::generate()?;
        let sa_key = dir.join("sa.key");
        let sa_pub = dir.join("sa.pub");
        std::fs::write(&sa_key, sa.serialize_pem())?;
        std::fs::write(&sa_pub, sa.public_key_pem())?;

        Ok(Pki {
            apiserver: serving("apiserver", "kube-apiserver", APISERVER_NAMES)?,
            kubelet_serving: serving("kubelet", "testbed-kubelet", &["127.0.0.1", "localhost"])?,
            apiserver_kubelet_client: client(
                "apiserver-kubelet-client",
                "kube-apiserver-kubelet-client",
                &["system:masters"],
            )?,
            admin: client("admin", "kubernetes-admin", &["system:masters"])?,
            controller_manager: client(
                "controller-manager",
                "system:kube-controller-manager",
                &[],
            )?,
            scheduler: client("scheduler", "system:kube-scheduler", &[])?,
            // One client runs every simulated node, so it cannot be one node's identity
            // (system:node:NAME); it is a cluster admin under a name of its own, which the audit
            // log shows.
            kubelet_client: client("kubelet-client", "testbed-kubelet", &["system:masters"])?,
            ca: ca_pair,
            sa_key,
            sa_pub,
        })
    }
}

fn written(dir: &Path, name: &str, issued: Issued) -> anyhow::Result<CertPair> {
    write(dir, name, issued.cert.pem(), issued.key.serialize_pem())
}

fn write(dir: &Path, name: &str, cert_pem: String, key_pem: String) -> anyhow::Result<CertPair> {
    let cert = dir.join(format!("{name}.crt"));
    let key = dir.join(format!("{name}.key"));
    std::fs::write(&cert, &cert_pem).with_context(|| format!("write {}", cert.display()))?;
    std::fs::write(&key, &key_pem).with_context(|| format!("write {}", key.display()))?;
    Ok(CertPair {
        cert_pem,
        key_pem,
        cert,
        key,
    })
}

/// A kubeconfig for `user` with its client certificate, against `server`, namespace `default`.
pub fn kubeconfig(server: &str, ca: &CertPair, user: &str, pair: &CertPair) -> String {
    use base64::Engine as _;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    format!(
        "apiVersion: v1
kind: Config
clusters:
- name: testbed
  cluster:
    server: {server}
    certificate-authority-data: {ca}
users:
- name: {user}
  user:
    client-certificate-data: {cert}
    client-key-data: {key}
contexts:
- name: testbed
  context:
    cluster: testbed
    user: {user}
    namespace: default
current-context: testbed
",
        ca = b64(&ca.cert_pem),
        cert = b64(&pair.cert_pem),
        key = b64(&pair.key_pem),
    )
}
