//! Serving the API over HTTPS on 127.0.0.1: the generated CA and serving certificate, the
//! listener, and [`Serving`], which stops and resumes it on the same port (state and clock keep
//! running meanwhile).

use crate::server;
use crate::state::Shared;
use base64::Engine;
use std::sync::{Arc, Mutex};
use std::time::Duration;

struct ServerHandle {
    stop: tokio::sync::watch::Sender<bool>,
}

/// The API server's listener: started, stopped and restarted on one port.
pub struct Serving {
    pub(crate) shared: Arc<Shared>,
    pub port: u16,
    tls: Mutex<Arc<rustls::ServerConfig>>,
    rt: tokio::runtime::Handle,
    server: Mutex<Option<ServerHandle>>,
}

impl Serving {
    pub(crate) fn new(
        shared: Arc<Shared>,
        port: u16,
        tls: Arc<rustls::ServerConfig>,
        rt: tokio::runtime::Handle,
    ) -> Serving {
        Serving {
            shared,
            port,
            tls: Mutex::new(tls),
            rt,
            server: Mutex::new(None),
        }
    }

    pub(crate) fn spawn(&self, l: tokio::net::TcpListener) {
        let (tx, rx) = tokio::sync::watch::channel(false);
        let ctx = Arc::new(server::Ctx {
            shared: self.shared.clone(),
            port: self.port,
        });
        self.rt
            .spawn(serve(ctx, l, self.tls.lock().unwrap().clone(), rx));
        *self.server.lock().unwrap() = Some(ServerHandle { stop: tx });
    }

    /// Stop listening and close open watches (clients get connection refused).
    pub fn stop(&self) {
        if let Some(h) = self.server.lock().unwrap().take() {
            let _ = h.stop.send(true);
        }
        self.shared.drop_watches.send_modify(|g| *g += 1);
        std::thread::sleep(Duration::from_millis(50));
    }

    /// Serve again, offering only these ALPN protocols (default: h2 and http/1.1).
    pub fn set_alpn(&self, protocols: &[&str]) {
        {
            let mut tls = self.tls.lock().unwrap();
            let mut cfg = (**tls).clone();
            cfg.alpn_protocols = protocols.iter().map(|p| p.as_bytes().to_vec()).collect();
            *tls = Arc::new(cfg);
        }
        self.restart();
    }

    /// Serve again on the same port (blocking: waits for the port to be free).
    pub fn restart(&self) {
        self.stop();
        let mut tries = 0;
        loop {
            match bind(self.port, &self.rt) {
                Ok(l) => {
                    self.spawn(l);
                    return;
                }
                Err(e) => {
                    tries += 1;
                    if tries > 100 {
                        panic!("kubesim: cannot rebind port {}: {e}", self.port);
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
        }
    }

    /// Whether it is listening.
    pub fn serving(&self) -> bool {
        self.server.lock().unwrap().is_some()
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        if let Some(h) = self.server.lock().unwrap().take() {
            let _ = h.stop.send(true);
        }
    }
}

pub(crate) fn make_tls() -> anyhow::Result<(String, Arc<rustls::ServerConfig>)> {
    let ca = crate::pki::Ca::new("kubesim-ca")?;
    let serving = ca.serving("kube-apiserver", &["127.0.0.1", "localhost"])?;
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(rustls::pki_types::PrivatePkcs8KeyDer::from(
        serving.key.serialize_der(),
    ));
    let mut cfg = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_no_client_auth()
    .with_single_cert(vec![serving.cert.der().clone(), ca.cert.der().clone()], key)?;
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok((ca.cert.pem(), Arc::new(cfg)))
}

async fn serve(
    ctx: Arc<server::Ctx>,
    listener: tokio::net::TcpListener,
    tls: Arc<rustls::ServerConfig>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    loop {
        let (sock, _) = tokio::select! {
            r = listener.accept() => match r { Ok(x) => x, Err(_) => continue },
            _ = stop.changed() => return,
        };
        // As Go's net package does for every TCP connection (the API server's included): without it
        // Nagle's algorithm holds a response's last small segment for the client's delayed ACK (40 ms).
        let _ = sock.set_nodelay(true);
        let acceptor = acceptor.clone();
        let ctx = ctx.clone();
        let mut stop = stop.clone();
        tokio::spawn(async move {
            let tls = tokio::select! {
                r = acceptor.accept(sock) => match r { Ok(t) => t, Err(_) => return },
                _ = stop.changed() => return,
            };
            let alpn = tls.get_ref().1.alpn_protocol().unwrap_or_default();
            ctx.shared
                .connections
                .lock()
                .unwrap()
                .push(String::from_utf8_lossy(alpn).into_owned());
            let svc = hyper::service::service_fn(move |req| server::handle(ctx.clone(), req));
            let builder =
                hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new());
            let conn = builder.serve_connection(hyper_util::rt::TokioIo::new(tls), svc);
            tokio::select! {
                _ = conn => {}
                _ = stop.changed() => {}
            }
        });
    }
}

pub(crate) fn bind(
    port: u16,
    rt: &tokio::runtime::Handle,
) -> anyhow::Result<tokio::net::TcpListener> {
    let _g = rt.enter();
    let sock = tokio::net::TcpSocket::new_v4()?;
    sock.set_reuseaddr(true)?;
    sock.bind(std::net::SocketAddr::from(([127, 0, 0, 1], port)))?;
    Ok(sock.listen(1024)?)
}

pub(crate) fn kubeconfig_yaml(port: u16, ca_pem: &str, user: &str, token: &str) -> String {
    let ca = base64::engine::general_purpose::STANDARD.encode(ca_pem);
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: kubesim\n  cluster:\n    server: https://127.0.0.1:{port}\n    certificate-authority-data: {ca}\nusers:\n- name: {user:?}\n  user:\n    token: {token}\ncontexts:\n- name: kubesim\n  context:\n    cluster: kubesim\n    user: {user:?}\n    namespace: default\ncurrent-context: kubesim\npreferences: {{}}\n"
    )
}
