//! Pod networking of the simulated nodes: pods that answer.
//!
//! Each pod gets an address in `10.244.0.0/16` in the API (`status.podIP`) and listens, while its
//! container accepts connections (`Container::accepting`: running, and SIGTERM has not reached it or
//! it ignores SIGTERM), on the twin address in `127.B.0.0/16` on each declared container port,
//! answering HTTP 200 with a line naming the pod; once the container stops accepting, the listener is
//! closed and connections are refused.
//!
//! Why two addresses: upstream refuses loopback addresses in EndpointSlices and Endpoints
//! (`ValidateEndpointIP`, pkg/apis/core/validation/validation.go: "may not be in the loopback range
//! (127.0.0.0/8, ::1/128)", applied by pkg/apis/discovery/validation/validation.go), so a pod whose
//! podIP were 127.x would never be an endpoint and the real EndpointSlice controller could not write
//! its slice. The apiserver instead reaches pods the way clusters behind konnectivity do: through its
//! egress selector (`--egress-selector-config-file`, egress `cluster`, `HTTPConnect` over a Unix
//! socket; cmd/kube-apiserver/app/server.go gives that dialer to the "proxy" subresources and to the
//! kubelet client). [`serve_egress`] is that HTTP CONNECT proxy: `10.244.X.Y:P` → `127.B.X.Y:P`, the
//! node address `127.0.0.1` as it is. The service proxy itself (`ResourceLocation`,
//! `proxy.RandomEndpoint`, `isValidAddress` in pkg/registry/core/service/storage/storage.go) accepts
//! 10.244.X.Y: it only checks the endpoint is Ready and names a pod whose podIPs hold the address.
//! The pod proxy (`pods/NAME:PORT/proxy`, pkg/registry/core/pod/strategy.go `ResourceLocation`)
//! refuses a podIP that is not global unicast ("address not allowed"), loopback included: one more
//! reason for the twin.
//!
//! `B` is this test bed's block, held by an exclusive `flock` on a file under `/tmp` for the
//! life of the process: two test beds (of one process or of two test binaries at once) never share a
//! block, so never an address.

use anyhow::{bail, Context};
use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response};
use std::collections::HashMap;
use std::fs::File;
use std::net::Ipv4Addr;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream, UnixListener};
use tokio::task::JoinHandle;

/// The pods' addresses in the API.
const POD_NET: [u8; 2] = [10, 244];
/// Pods per block: the last two octets, skipping `.0` and `.255`.
const PER_BLOCK: u32 = 254 * 256;

/// A block `127.B.0.0/16` held by this process.
pub struct Block {
    pub b: u8,
    // Holding the file holds the lock; the kernel drops it with the process.
    _lock: File,
}

impl Block {
    /// Take a free block: `flock(LOCK_EX | LOCK_NB)` on `/tmp/kubectl-graceful-testbed-net/B.lock`,
    /// B from 2 to 254, starting from one picked by the process id so parallel test binaries rarely
    /// contend.
    pub fn take() -> anyhow::Result<Block> {
        // /tmp itself, not $TMPDIR: test binaries run with different TMPDIRs still meet there.
        let tmp = Path::new("/tmp");
        let base = if tmp.is_dir() {
            tmp.to_path_buf()
        } else {
            std::env::temp_dir()
        };
        let dir = base.join("kubectl-graceful-testbed-net");
        std::fs::create_dir_all(&dir).with_context(|| format!("create {}", dir.display()))?;
        let start = std::process::id() as usize;
        for i in 0..253 {
            let b = 2 + ((start + i) % 253) as u8;
            let path = dir.join(format!("{b}.lock"));
            let file = File::create(&path).with_context(|| format!("create {}", path.display()))?;
            // SAFETY: flock on a file descriptor we own; no memory is passed.
            if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
                return Ok(Block { b, _lock: file });
            }
        }
        bail!(
            "every loopback block 127.2–254.0.0/16 is held by another test bed (locks in {})",
            dir.display()
        )
    }

    /// The `n`-th pod's addresses: (in the API, where it listens).
    pub fn pod_addresses(&self, n: u32) -> (Ipv4Addr, Ipv4Addr) {
        let n = n % PER_BLOCK;
        let (x, y) = ((n / 254) as u8, (n % 254 + 1) as u8);
        (
            Ipv4Addr::new(POD_NET[0], POD_NET[1], x, y),
            Ipv4Addr::new(127, self.b, x, y),
        )
    }

    /// Where `addr` (`HOST:PORT` of a CONNECT) is reached: pods at their loopback twin, the nodes'
    /// `127.0.0.1` as it is; nothing else.
    fn route(&self, addr: &str) -> Option<String> {
        let (host, port) = addr.rsplit_once(':')?;
        let port: u16 = port.parse().ok()?;
        let ip: Ipv4Addr = host.parse().ok()?;
        let o = ip.octets();
        if [o[0], o[1]] == POD_NET {
            return Some(format!("127.{}.{}.{}:{port}", self.b, o[2], o[3]));
        }
        (ip == Ipv4Addr::LOCALHOST).then(|| format!("{ip}:{port}"))
    }
}

/// The apiserver's egress selector configuration: egress `cluster` (pods, services, kubelets)
/// through the HTTP CONNECT proxy on the Unix socket `sock`.
pub fn egress_config(sock: &Path) -> String {
    format!(
        "apiVersion: apiserver.k8s.io/v1beta1\n\
         kind: EgressSelectorConfiguration\n\
         egressSelections:\n\
         - name: cluster\n  \
           connection:\n    \
             proxyProtocol: HTTPConnect\n    \
             transport:\n      \
               uds:\n        \
                 udsName: {}\n",
        sock.display()
    )
}

/// Serve the HTTP CONNECT proxy on `sock` (bound before this returns, so the apiserver can start).
pub fn serve_egress(sock: PathBuf, block: std::sync::Arc<Block>) -> anyhow::Result<JoinHandle<()>> {
    let _ = std::fs::remove_file(&sock);
    let std_listener = std::os::unix::net::UnixListener::bind(&sock)
        .with_context(|| format!("bind {}", sock.display()))?;
    std_listener.set_nonblocking(true)?;
    Ok(tokio::spawn(async move {
        let listener = match UnixListener::from_std(std_listener) {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!("egress proxy {}: {e}", sock.display());
                return;
            }
        };
        loop {
            let Ok((conn, _)) = listener.accept().await else {
                continue;
            };
            tokio::spawn(tunnel(conn, block.clone()));
        }
    }))
}

/// One CONNECT: read the request, dial, answer 200 and splice; or answer 503 with the dial error
/// as the reason phrase (the apiserver quotes it: "proxy error from … while dialing …, code 503:
/// 503 dial tcp …: connect: connection refused").
async fn tunnel(conn: tokio::net::UnixStream, block: std::sync::Arc<Block>) {
    let mut conn = BufReader::new(conn);
    let mut line = String::new();
    if conn.read_line(&mut line).await.is_err() {
        return;
    }
    // Headers up to the blank line.
    loop {
        let mut h = String::new();
        match conn.read_line(&mut h).await {
            Ok(0) | Err(_) => return,
            Ok(_) if h == "\r\n" || h == "\n" => break,
            Ok(_) => {}
        }
    }
    let target = line
        .strip_prefix("CONNECT ")
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or_default()
        .to_string();
    let Some(to) = block.route(&target) else {
        let _ = conn
            .get_mut()
            .write_all(
                format!("HTTP/1.1 403 no route to {target} from the test bed\r\n\r\n").as_bytes(),
            )
            .await;
        return;
    };
    match TcpStream::connect(&to).await {
        Ok(mut upstream) => {
            if conn
                .get_mut()
                .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                .await
                .is_err()
            {
                return;
            }
            let _ = tokio::io::copy_bidirectional(&mut conn, &mut upstream).await;
        }
        Err(e) => {
            let reason = format!("dial tcp {to}: connect: {}", io_reason(&e));
            let _ = conn
                .get_mut()
                .write_all(format!("HTTP/1.1 503 {reason}\r\n\r\n").as_bytes())
                .await;
        }
    }
}

/// Go's wording of a dial error.
fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::ConnectionRefused => "connection refused".into(),
        _ => e.to_string(),
    }
}

/// One pod's listeners: container port → (container, the serving task while it accepts).
pub struct PodServer {
    pod: String,
    addr: Ipv4Addr,
    ports: Vec<(u16, String)>,
    listening: HashMap<u16, JoinHandle<()>>,
}

impl PodServer {
    /// The TCP ports the app containers of `pod` declare, served at `addr`.
    pub fn new(pod: &serde_json::Value, addr: Ipv4Addr) -> PodServer {
        let mut ports = Vec::new();
        for c in pod
            .pointer("/spec/containers")
            .and_then(|c| c.as_array())
            .into_iter()
            .flatten()
        {
            let name = c["name"].as_str().unwrap_or_default().to_string();
            for p in c["ports"].as_array().into_iter().flatten() {
                let tcp = p["protocol"].as_str().is_none_or(|p| p == "TCP");
                if let (Some(port), true) = (p["containerPort"].as_u64(), tcp) {
                    ports.push((port as u16, name.clone()));
                }
            }
        }
        PodServer {
            pod: pod["metadata"]["name"].as_str().unwrap_or_default().into(),
            addr,
            ports,
            listening: HashMap::new(),
        }
    }

    /// Listen on each port whose container accepts connections now, close the others.
    pub fn update(&mut self, accepting: impl Fn(&str) -> bool) {
        for (port, container) in &self.ports {
            let on = accepting(container);
            match (on, self.listening.contains_key(port)) {
                (true, false) => match listen(self.addr, *port, &self.pod, container) {
                    Ok(task) => {
                        self.listening.insert(*port, task);
                    }
                    Err(e) => tracing::warn!("pod {} {}:{port}: {e:#}", self.pod, self.addr),
                },
                (false, true) => {
                    if let Some(t) = self.listening.remove(port) {
                        t.abort();
                    }
                }
                _ => {}
            }
        }
    }
}

impl Drop for PodServer {
    fn drop(&mut self) {
        for (_, t) in self.listening.drain() {
            t.abort();
        }
    }
}

/// Bind `addr:port` now (so a connection right after is accepted) and serve it until aborted:
/// the listener goes with the task, and the kernel refuses connections from then on. The open
/// connections go with it too: an app that stops on SIGTERM closes its keep-alive connections
/// (the apiserver's proxy keeps idle ones to each pod and would otherwise reach a stopped app).
fn listen(addr: Ipv4Addr, port: u16, pod: &str, container: &str) -> anyhow::Result<JoinHandle<()>> {
    let std_listener = std::net::TcpListener::bind((addr, port))?;
    std_listener.set_nonblocking(true)?;
    let listener = TcpListener::from_std(std_listener)?;
    let body = format!("answered by container {container} of pod {pod}\n");
    Ok(tokio::spawn(async move {
        // Dropped with this task: every connection closes.
        let mut connections = tokio::task::JoinSet::new();
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            while connections.try_join_next().is_some() {}
            let body = body.clone();
            let service = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                let text = format!("{} {}: {body}", req.method(), req.uri().path());
                async move {
                    Ok::<_, std::convert::Infallible>(
                        Response::builder()
                            .header("content-type", "text/plain")
                            .body(Full::new(Bytes::from(text)))
                            .expect("response"),
                    )
                }
            });
            connections.spawn(async move {
                let io = hyper_util::rt::TokioIo::new(stream);
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(io, service)
                    .await;
            });
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pods_map_to_their_loopback_twin_and_nodes_stay() {
        let block = Block::take().unwrap();
        let b = block.b;
        let (api, lo) = block.pod_addresses(300);
        assert_eq!(api, Ipv4Addr::new(10, 244, 1, 47));
        assert_eq!(lo, Ipv4Addr::new(127, b, 1, 47));
        assert_eq!(
            block.route("10.244.1.47:8080"),
            Some(format!("127.{b}.1.47:8080"))
        );
        assert_eq!(
            block.route("127.0.0.1:10250").as_deref(),
            Some("127.0.0.1:10250")
        );
        assert_eq!(block.route("192.168.1.1:80"), None);
        // A second block in the same process is another one.
        let other = Block::take().unwrap();
        assert_ne!(other.b, b);
    }

    async fn get(addr: Ipv4Addr) -> std::io::Result<String> {
        use tokio::io::AsyncReadExt;
        let mut s = TcpStream::connect((addr, 8080)).await?;
        s.write_all(b"GET /hi HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await?;
        let mut out = String::new();
        s.read_to_string(&mut out).await?;
        Ok(out)
    }

    #[tokio::test]
    async fn a_pod_answers_while_its_container_accepts_and_refuses_after() {
        let block = Block::take().unwrap();
        let (_, lo) = block.pod_addresses(7);
        let pod = serde_json::json!({
            "metadata": {"name": "web-1"},
            "spec": {"containers": [
                {"name": "app", "ports": [{"containerPort": 8080}]},
                {"name": "metrics", "ports": [{"containerPort": 9090, "protocol": "UDP"}]},
            ]},
        });
        let mut server = PodServer::new(&pod, lo);
        assert_eq!(
            server.ports,
            vec![(8080, "app".to_string())],
            "TCP ports only"
        );
        server.update(|c| c == "app");
        let answer = get(lo).await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
        assert!(
            answer.ends_with("GET /hi: answered by container app of pod web-1\n"),
            "{answer}"
        );
        // A keep-alive connection open when the container stops is closed with it.
        let mut kept = TcpStream::connect((lo, 8080)).await.unwrap();
        kept.write_all(b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut buf = [0u8; 512];
        use tokio::io::AsyncReadExt;
        assert!(kept.read(&mut buf).await.unwrap() > 0);
        server.update(|_| false);
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let closed = tokio::time::timeout(std::time::Duration::from_secs(2), kept.read(&mut buf))
            .await
            .expect("the kept connection closed, not left open");
        assert!(matches!(closed, Ok(0) | Err(_)), "{closed:?}");
        let refused = get(lo).await.unwrap_err();
        assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
        // Accepting again (a restarted container): listening again.
        server.update(|_| true);
        assert!(get(lo).await.unwrap().starts_with("HTTP/1.1 200 OK"));
    }
}
