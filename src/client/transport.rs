//! The one connection to the API server that every request of the process shares, watches included.
//!
//! TLS offers `h2` and `http/1.1` by ALPN, as kubectl (Go's net/http) does. When the server picks h2,
//! every request is a stream on that single connection; connecting happens once, while concurrent
//! requests wait for it, so parallel reads never open a second socket. When the server only speaks
//! HTTP/1.1 (or the server URL is plain http), requests use a small pool of HTTP/1.1 connections, one
//! request at a time each, like Go's HTTP/1.1 transport. Proxies: a CONNECT tunnel for https servers
//! (through an http or https proxy), and absolute-form requests for plain http servers, as Go does.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use http::{header, HeaderValue, Request, Response, Uri};
use hyper::body::Incoming;
use hyper::client::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo};
use kube::client::Body;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use super::proxy::Proxy;

/// How long a TCP connect may take (client-go's dialer: 30 s).
const DIAL_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a TLS handshake may take (client-go's transport: 10 s).
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

trait Io: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Io for T {}
type BoxIo = Box<dyn Io>;

/// Why a connection could not be made. Each variant is something the user can act on.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ConnectError {
    #[error("{addr}: {source}")]
    Dial {
        /// `host:port` dialled (the proxy's when there is one).
        addr: String,
        via_proxy: bool,
        source: std::io::Error,
    },
    #[error("{what} timed out after {after:?}")]
    Timeout {
        what: &'static str,
        after: Duration,
        via_proxy: bool,
    },
    #[error("TLS handshake with {server}: {source}")]
    Tls {
        server: String,
        /// The handshake was with the proxy, not the API server.
        with_proxy: bool,
        source: std::io::Error,
    },
    #[error("the proxy answered the CONNECT with {status}")]
    ProxyRefused { status: String },
    #[error("the proxy: {0}")]
    ProxyProtocol(String),
    #[error("HTTP handshake: {0}")]
    Handshake(hyper::Error),
}

/// Where the API server is.
#[derive(Debug, Clone)]
pub(crate) struct Endpoint {
    pub https: bool,
    pub host: String,
    pub port: u16,
    /// The name the server's certificate must carry (`tls-server-name`, else the host).
    pub server_name: String,
}

impl Endpoint {
    pub(crate) fn from_uri(uri: &Uri, tls_server_name: Option<&str>) -> Result<Endpoint, String> {
        let https = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            other => {
                return Err(format!(
                    "unsupported scheme {:?} in the server URL (http or https)",
                    other.unwrap_or("")
                ))
            }
        };
        let host = uri
            .host()
            .ok_or("no host in the server URL")?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        let server_name = tls_server_name
            .filter(|s| !s.is_empty())
            .unwrap_or(&host)
            .to_string();
        Ok(Endpoint {
            https,
            host,
            port,
            server_name,
        })
    }
}

/// The shared connection (cheap to clone; clones share it).
#[derive(Clone)]
pub(crate) struct Transport {
    inner: Arc<Inner>,
}

struct Inner {
    endpoint: Endpoint,
    proxy: Option<Proxy>,
    tls: Option<Arc<rustls::ClientConfig>>,
    /// Only one request at a time opens a connection; everyone else waits for its result.
    pool: tokio::sync::Mutex<Pool>,
    connect_timeout: Duration,
}

enum Pool {
    Empty,
    H2(http2::SendRequest<Body>),
    H1(Vec<http1::SendRequest<Body>>),
}

enum Fresh {
    H2(http2::SendRequest<Body>),
    H1(http1::SendRequest<Body>),
}

impl Transport {
    /// `tls` must be set for an https endpoint; its ALPN list is set here.
    pub(crate) fn new(
        endpoint: Endpoint,
        proxy: Option<Proxy>,
        tls: Option<rustls::ClientConfig>,
        connect_timeout: Option<Duration>,
    ) -> Transport {
        let tls = tls.map(|mut c| {
            c.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
            Arc::new(c)
        });
        Transport {
            inner: Arc::new(Inner {
                endpoint,
                proxy,
                tls,
                pool: tokio::sync::Mutex::new(Pool::Empty),
                connect_timeout: connect_timeout.unwrap_or(DIAL_TIMEOUT),
            }),
        }
    }
}

impl tower::Service<Request<Body>> for Transport {
    type Response = Response<Incoming>;
    type Error = tower::BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(
        &mut self,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        let inner = self.inner.clone();
        Box::pin(async move { inner.send(req).await })
    }
}

impl Inner {
    async fn send(&self, mut req: Request<Body>) -> Result<Response<Incoming>, tower::BoxError> {
        // A request that never left (the connection had just closed) is sent again on a new one.
        let mut attempts = 0;
        loop {
            attempts += 1;
            let mut pool = self.pool.lock().await;
            match &mut *pool {
                Pool::H2(tx) if !tx.is_closed() => {
                    let mut tx = tx.clone();
                    drop(pool);
                    match tx.try_send_request(req).await {
                        Ok(res) => return Ok(res),
                        Err(mut e) => match e.take_message() {
                            Some(back) if attempts < 3 => {
                                req = back;
                                self.forget_h2(&tx).await;
                                continue;
                            }
                            _ => return Err(e.into_error().into()),
                        },
                    }
                }
                Pool::H1(conns) => {
                    conns.retain(|c| !c.is_closed());
                    if let Some(c) = conns.iter_mut().find(|c| c.is_ready()) {
                        let fut = c.try_send_request(self.for_http1(req));
                        drop(pool);
                        match fut.await {
                            Ok(res) => return Ok(res),
                            Err(mut e) => match e.take_message() {
                                Some(back) if attempts < 3 => {
                                    req = self.undo_http1(back);
                                    continue;
                                }
                                _ => return Err(e.into_error().into()),
                            },
                        }
                    }
                }
                _ => {}
            }
            // Connect while holding the lock: concurrent requests wait for this one connection.
            match self.open().await? {
                Fresh::H2(tx) => {
                    *pool = Pool::H2(tx);
                    drop(pool);
                }
                Fresh::H1(mut tx) => {
                    // A fresh HTTP/1.1 connection takes this request at once (it is not "ready"
                    // until its task has run, but accepts one buffered request).
                    let fut = tx.try_send_request(self.for_http1(req));
                    match &mut *pool {
                        Pool::H1(conns) => conns.push(tx),
                        other => *other = Pool::H1(vec![tx]),
                    }
                    drop(pool);
                    match fut.await {
                        Ok(res) => return Ok(res),
                        Err(mut e) => match e.take_message() {
                            Some(back) if attempts < 3 => req = self.undo_http1(back),
                            _ => return Err(e.into_error().into()),
                        },
                    }
                }
            }
        }
    }

    /// Drops the h2 connection `dead` from the pool unless it was already replaced.
    async fn forget_h2(&self, dead: &http2::SendRequest<Body>) {
        let mut pool = self.pool.lock().await;
        if let Pool::H2(tx) = &*pool {
            if tx.is_closed() || dead.is_closed() {
                *pool = Pool::Empty;
            }
        }
    }

    /// HTTP/1.1 wants a Host header and, unless a forward proxy takes it, the origin-form target.
    fn for_http1(&self, mut req: Request<Body>) -> Request<Body> {
        let uri = req.uri().clone();
        if !req.headers().contains_key(header::HOST) {
            if let Some(a) = uri.authority() {
                if let Ok(v) = HeaderValue::from_str(a.as_str()) {
                    req.headers_mut().insert(header::HOST, v);
                }
            }
        }
        if self.forwards() {
            if let Some(auth) = self.proxy.as_ref().and_then(proxy_authorization) {
                req.headers_mut().insert(header::PROXY_AUTHORIZATION, auth);
            }
        } else if let Some(pq) = uri.path_and_query() {
            if let Ok(origin) = pq.as_str().parse::<Uri>() {
                req.extensions_mut().insert(AbsoluteUri(uri));
                *req.uri_mut() = origin;
            }
        }
        req
    }

    fn undo_http1(&self, mut req: Request<Body>) -> Request<Body> {
        if let Some(AbsoluteUri(uri)) = req.extensions_mut().remove::<AbsoluteUri>() {
            *req.uri_mut() = uri;
        }
        req.headers_mut().remove(header::PROXY_AUTHORIZATION);
        req
    }

    /// A plain-http server behind a proxy: requests go to the proxy in absolute form (no tunnel).
    fn forwards(&self) -> bool {
        self.proxy.is_some() && !self.endpoint.https
    }

    async fn open(&self) -> Result<Fresh, ConnectError> {
        let (io, h2) = self.dial().await?;
        let io = TokioIo::new(io);
        if h2 {
            let (tx, conn) = http2::Builder::new(TokioExecutor::new())
                // Go's HTTP/2 transport: 4 MiB per stream, 1 GiB for the connection, so a large list
                // is not throttled by flow control at a distance.
                .initial_stream_window_size(4 << 20)
                .initial_connection_window_size(1 << 30)
                .handshake(io)
                .await
                .map_err(ConnectError::Handshake)?;
            tokio::spawn(async move {
                if let Err(e) = conn.await {
                    tracing::debug!("HTTP/2 connection ended: {e}");
                }
            });
            Ok(Fresh::H2(tx))
        } else {
            let (tx, conn) = http1::Builder::new()
                .handshake(io)
                .await
                .map_err(ConnectError::Handshake)?;
            tokio::spawn(async move {
                if let Err(e) = conn.await {
                    tracing::debug!("HTTP/1.1 connection ended: {e}");
                }
            });
            Ok(Fresh::H1(tx))
        }
    }

    /// TCP, then the proxy (TLS to it when it is https, CONNECT for https servers), then TLS to the
    /// server with ALPN. Returns the stream and whether the server chose h2.
    async fn dial(&self) -> Result<(BoxIo, bool), ConnectError> {
        let ep = &self.endpoint;
        let (host, port, via_proxy) = match &self.proxy {
            Some(p) => (p.host.as_str(), p.port, true),
            None => (ep.host.as_str(), ep.port, false),
        };
        let addr = host_port(host, port);
        let tcp = tokio::time::timeout(self.connect_timeout, TcpStream::connect((host, port)))
            .await
            .map_err(|_| ConnectError::Timeout {
                what: "connecting",
                after: self.connect_timeout,
                via_proxy,
            })?
            .map_err(|source| ConnectError::Dial {
                addr: addr.clone(),
                via_proxy,
                source,
            })?;
        let _ = tcp.set_nodelay(true);
        let mut io: BoxIo = Box::new(tcp);
        if let Some(p) = &self.proxy {
            if p.scheme == "https" {
                let mut cfg = self.tls_config()?.as_ref().clone();
                cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
                io = self.handshake(Arc::new(cfg), &p.host, io, true).await?.0;
            }
            if ep.https {
                io = tunnel(io, ep, p).await?;
            }
        }
        if !ep.https {
            return Ok((io, false));
        }
        let tls = self.tls_config()?.clone();
        self.handshake(tls, &ep.server_name, io, false).await
    }

    fn tls_config(&self) -> Result<&Arc<rustls::ClientConfig>, ConnectError> {
        self.tls.as_ref().ok_or_else(|| ConnectError::Tls {
            server: self.endpoint.host.clone(),
            with_proxy: false,
            source: std::io::Error::other("no TLS configuration"),
        })
    }

    async fn handshake(
        &self,
        cfg: Arc<rustls::ClientConfig>,
        name: &str,
        io: BoxIo,
        with_proxy: bool,
    ) -> Result<(BoxIo, bool), ConnectError> {
        let tls_err = |source: std::io::Error| ConnectError::Tls {
            server: name.to_string(),
            with_proxy,
            source,
        };
        let server_name = rustls::pki_types::ServerName::try_from(name.to_string())
            .map_err(|e| tls_err(std::io::Error::other(format!("bad server name: {e}"))))?;
        let connector = tokio_rustls::TlsConnector::from(cfg);
        let stream =
            tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, connector.connect(server_name, io))
                .await
                .map_err(|_| ConnectError::Timeout {
                    what: "the TLS handshake",
                    after: TLS_HANDSHAKE_TIMEOUT,
                    via_proxy: with_proxy,
                })?
                .map_err(tls_err)?;
        let h2 = stream.get_ref().1.alpn_protocol() == Some(b"h2");
        Ok((Box::new(stream), h2))
    }
}

/// The request's absolute URI while it travels in origin form on HTTP/1.1.
#[derive(Clone)]
struct AbsoluteUri(Uri);

fn host_port(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

fn proxy_authorization(p: &Proxy) -> Option<HeaderValue> {
    use base64::Engine;
    let userinfo = p.userinfo.as_deref()?;
    let encoded = base64::engine::general_purpose::STANDARD.encode(userinfo.as_bytes());
    let mut v = HeaderValue::from_str(&format!("Basic {encoded}")).ok()?;
    v.set_sensitive(true);
    Some(v)
}

/// `CONNECT host:port` through the proxy; the stream is the tunnel when it answers 2xx.
async fn tunnel(mut io: BoxIo, ep: &Endpoint, proxy: &Proxy) -> Result<BoxIo, ConnectError> {
    let target = host_port(&ep.host, ep.port);
    let mut head = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n");
    if let Some(auth) = proxy_authorization(proxy) {
        head.push_str("Proxy-Authorization: ");
        head.push_str(auth.to_str().unwrap_or_default());
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    let io_err = |e: std::io::Error| ConnectError::ProxyProtocol(e.to_string());
    io.write_all(head.as_bytes()).await.map_err(io_err)?;
    io.flush().await.map_err(io_err)?;
    // Read the answer's head byte by byte: nothing after it may be consumed (it is the server's TLS).
    let mut answer = Vec::with_capacity(256);
    let mut byte = [0u8; 1];
    while !answer.ends_with(b"\r\n\r\n") {
        if answer.len() > 16 * 1024 {
            return Err(ConnectError::ProxyProtocol(
                "the answer to CONNECT is too long".into(),
            ));
        }
        if io.read(&mut byte).await.map_err(io_err)? == 0 {
            return Err(ConnectError::ProxyProtocol(
                "the proxy closed the connection during CONNECT".into(),
            ));
        }
        answer.push(byte[0]);
    }
    let text = String::from_utf8_lossy(&answer);
    let status_line = text.lines().next().unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    let code: u16 = parts.next().and_then(|c| c.parse().ok()).unwrap_or(0);
    if !version.starts_with("HTTP/1.") || code == 0 {
        return Err(ConnectError::ProxyProtocol(format!(
            "not an HTTP answer to CONNECT: {status_line:?}"
        )));
    }
    if !(200..300).contains(&code) {
        return Err(ConnectError::ProxyRefused {
            status: status_line
                .split_once(' ')
                .map(|x| x.1)
                .unwrap_or(status_line)
                .to_string(),
        });
    }
    Ok(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints() {
        let e = Endpoint::from_uri(&"https://10.0.0.1:6443".parse().unwrap(), None).unwrap();
        assert!(e.https && e.port == 6443 && e.server_name == "10.0.0.1");
        let e = Endpoint::from_uri(&"https://[::1]".parse().unwrap(), Some("api")).unwrap();
        assert_eq!(
            (e.host.as_str(), e.port, e.server_name.as_str()),
            ("::1", 443, "api")
        );
        let e = Endpoint::from_uri(&"http://h".parse().unwrap(), None).unwrap();
        assert!(!e.https && e.port == 80);
        assert!(Endpoint::from_uri(&"ftp://h".parse().unwrap(), None).is_err());
        assert_eq!(host_port("::1", 443), "[::1]:443");
    }
}
