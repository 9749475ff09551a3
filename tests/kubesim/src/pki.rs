//! A throwaway certificate authority (rcgen) for servers on 127.0.0.1 and their clients: kubesim's
//! serving certificate ([`crate::serving`]), and the test bed's cluster PKI (its `pki.rs` writes
//! these as kubeadm names the files).

use rcgen::{
    BasicConstraints, Certificate, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};

/// A self-signed CA: its certificate, and its key as the issuer of what it signs.
pub struct Ca {
    pub cert: Certificate,
    issuer: Issuer<'static, KeyPair>,
}

/// A certificate the CA signed, and its key.
pub struct Issued {
    pub cert: Certificate,
    pub key: KeyPair,
}

impl Ca {
    /// A new CA whose subject is `cn`.
    pub fn new(cn: &str) -> anyhow::Result<Ca> {
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, cn);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let key = KeyPair::generate()?;
        let cert = params.self_signed(&key)?;
        Ok(Ca {
            cert,
            issuer: Issuer::new(params, key),
        })
    }

    /// The CA's private key (the controller-manager signs with it too).
    pub fn key(&self) -> &KeyPair {
        self.issuer.key()
    }

    /// A serving certificate for `cn`, valid for `sans` (IP addresses or DNS names).
    pub fn serving(&self, cn: &str, sans: &[&str]) -> anyhow::Result<Issued> {
        self.issue(cn, sans, &[], ExtendedKeyUsagePurpose::ServerAuth)
    }

    /// A client certificate: the apiserver maps its CN to the user and each O to a group.
    pub fn client(&self, cn: &str, groups: &[&str]) -> anyhow::Result<Issued> {
        self.issue(cn, &[], groups, ExtendedKeyUsagePurpose::ClientAuth)
    }

    fn issue(
        &self,
        cn: &str,
        sans: &[&str],
        organizations: &[&str],
        usage: ExtendedKeyUsagePurpose,
    ) -> anyhow::Result<Issued> {
        let mut params =
            CertificateParams::new(sans.iter().map(|s| s.to_string()).collect::<Vec<_>>())?;
        params.distinguished_name.push(DnType::CommonName, cn);
        for o in organizations {
            params.distinguished_name.push(DnType::OrganizationName, *o);
        }
        params.extended_key_usages = vec![usage];
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        let key = KeyPair::generate()?;
        let cert = params.signed_by(&key, &self.issuer)?;
        Ok(Issued { cert, key })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::client::danger::ServerCertVerifier;
    use rustls::pki_types::{ServerName, UnixTime};
    use std::sync::Arc;

    #[test]
    fn serving_and_client_certificates_verify_against_the_ca_for_their_use_only() {
        let ca = Ca::new("test-ca").unwrap();
        let server = ca
            .serving("kube-apiserver", &["127.0.0.1", "localhost"])
            .unwrap();
        let client = ca.client("alice", &["system:masters"]).unwrap();
        let mut roots = rustls::RootCertStore::empty();
        roots.add(ca.cert.der().clone()).unwrap();
        let roots = Arc::new(roots);
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let servers = rustls::client::WebPkiServerVerifier::builder_with_provider(
            roots.clone(),
            provider.clone(),
        )
        .build()
        .unwrap();
        let as_server = |cert: &Issued, name: &str| {
            let name = ServerName::try_from(name.to_string()).unwrap();
            servers.verify_server_cert(cert.cert.der(), &[], &name, &[], UnixTime::now())
        };
        assert!(as_server(&server, "127.0.0.1").is_ok());
        assert!(as_server(&server, "localhost").is_ok());
        assert!(
            as_server(&server, "example.com").is_err(),
            "not in its SANs"
        );
        assert!(
            as_server(&client, "127.0.0.1").is_err(),
            "a client certificate"
        );
        let clients = rustls::server::WebPkiClientVerifier::builder_with_provider(roots, provider)
            .build()
            .unwrap();
        let as_client =
            |cert: &Issued| clients.verify_client_cert(cert.cert.der(), &[], UnixTime::now());
        assert!(as_client(&client).is_ok());
        assert!(as_client(&server).is_err(), "a serving certificate");
    }
}
