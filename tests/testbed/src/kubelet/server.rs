//! The kubelet API over TLS, as far as `kubectl logs [--previous]` needs it: the apiserver proxies
//! `pods/log` to `https://<node InternalIP>:<daemonEndpoints port>/containerLogs/NS/POD/CONTAINER`.
//! Which instance a request gets follows the kubelet's `validateContainerLogStatus`
//! (pkg/kubelet/kubelet_pods.go), error messages included.

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response, StatusCode};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// What the log endpoint knows of one container: its state and its instances' logs.
#[derive(Debug, Clone, Default)]
pub struct ContainerLogs {
    /// `running`, `terminated` or `waiting`.
    pub state: &'static str,
    pub waiting_reason: String,
    /// The instance in `state` (running or terminated).
    pub current: Option<String>,
    /// The instance in `lastState.terminated`.
    pub previous: Option<String>,
}

/// (namespace, pod) → container → logs.
pub type LogStore = Arc<Mutex<HashMap<(String, String), HashMap<String, ContainerLogs>>>>;

fn text(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "text/plain")
        .body(Full::new(Bytes::from(body)))
        .expect("response")
}

fn query(req: &Request<hyper::body::Incoming>) -> HashMap<String, String> {
    req.uri()
        .query()
        .unwrap_or("")
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The log text for one request, or the kubelet's error.
pub fn select(
    logs: &ContainerLogs,
    pod: &str,
    container: &str,
    previous: bool,
) -> Result<String, String> {
    if previous {
        return logs.previous.clone().ok_or_else(|| {
            format!("previous terminated container \"{container}\" in pod \"{pod}\" not found")
        });
    }
    match (logs.state, &logs.current, &logs.previous) {
        ("running" | "terminated", Some(l), _) => Ok(l.clone()),
        (_, _, Some(l)) => Ok(l.clone()),
        _ => {
            let detail = match logs.waiting_reason.as_str() {
                "ErrImagePull" => "image can't be pulled".to_string(),
                "ImagePullBackOff" => "trying and failing to pull image".to_string(),
                r => r.to_string(),
            };
            Err(format!(
                "container \"{container}\" in pod \"{pod}\" is waiting to start: {detail}"
            ))
        }
    }
}

fn tail(text: &str, n: Option<usize>) -> String {
    let Some(n) = n else { return text.to_string() };
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    lines[lines.len().saturating_sub(n)..].concat()
}

async fn handle(store: LogStore, req: Request<hyper::body::Incoming>) -> Response<Full<Bytes>> {
    let path = req.uri().path().to_string();
    if path == "/healthz" {
        return text(StatusCode::OK, "ok".into());
    }
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let ["containerLogs", ns, pod, container] = parts.as_slice() else {
        return text(StatusCode::NOT_FOUND, format!("404 page not found: {path}"));
    };
    let q = query(&req);
    let previous = q.get("previous").is_some_and(|v| v == "true");
    let tail_lines = q.get("tailLines").and_then(|v| v.parse().ok());
    let found = store
        .lock()
        .unwrap()
        .get(&(ns.to_string(), pod.to_string()))
        .map(|m| m.get(*container).cloned());
    match found {
        None => text(
            StatusCode::NOT_FOUND,
            format!("pod \"{pod}\" in namespace \"{ns}\" not found"),
        ),
        Some(None) => text(
            StatusCode::BAD_REQUEST,
            format!("container \"{container}\" in pod \"{pod}\" is not available"),
        ),
        Some(Some(logs)) => match select(&logs, pod, container, previous) {
            Ok(l) => text(StatusCode::OK, tail(&l, tail_lines)),
            Err(e) => text(StatusCode::BAD_REQUEST, e),
        },
    }
}

/// Serve on 127.0.0.1 (any port); returns the port.
pub async fn serve(
    cert_pem: &str,
    key_pem: &str,
    store: LogStore,
) -> anyhow::Result<(u16, tokio::task::JoinHandle<()>)> {
    use rustls::pki_types::pem::PemObject;
    let certs = rustls::pki_types::CertificateDer::pem_slice_iter(cert_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()?;
    let key = rustls::pki_types::PrivateKeyDer::from_pem_slice(key_pem.as_bytes())?;
    let mut cfg = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_no_client_auth()
    .with_single_cert(certs, key)?;
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(cfg));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let task = tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            let acceptor = acceptor.clone();
            let store = store.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let svc = hyper::service::service_fn(move |req| {
                    let store = store.clone();
                    async move { Ok::<_, std::convert::Infallible>(handle(store, req).await) }
                });
                let _ = hyper_util::server::conn::auto::Builder::new(
                    hyper_util::rt::TokioExecutor::new(),
                )
                .serve_connection(hyper_util::rt::TokioIo::new(tls), svc)
                .await;
            });
        }
    });
    Ok((port, task))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn logs(state: &'static str, current: Option<&str>, previous: Option<&str>) -> ContainerLogs {
        ContainerLogs {
            state,
            waiting_reason: if state == "waiting" {
                "CrashLoopBackOff".into()
            } else {
                String::new()
            },
            current: current.map(String::from),
            previous: previous.map(String::from),
        }
    }

    #[test]
    fn instance_selection_follows_validate_container_log_status() {
        let l = logs("running", Some("now\n"), Some("before\n"));
        assert_eq!(select(&l, "p", "app", false).unwrap(), "now\n");
        assert_eq!(select(&l, "p", "app", true).unwrap(), "before\n");
        // In back-off: the last terminated instance, with or without --previous.
        let l = logs("waiting", None, Some("crashed\n"));
        assert_eq!(select(&l, "p", "app", false).unwrap(), "crashed\n");
        let l = logs("running", Some("first\n"), None);
        assert_eq!(
            select(&l, "p", "app", true).unwrap_err(),
            "previous terminated container \"app\" in pod \"p\" not found"
        );
        let mut l = logs("waiting", None, None);
        l.waiting_reason = "ImagePullBackOff".into();
        assert_eq!(
            select(&l, "p", "app", false).unwrap_err(),
            "container \"app\" in pod \"p\" is waiting to start: trying and failing to pull image"
        );
        assert_eq!(tail("a\nb\nc\n", Some(2)), "b\nc\n");
    }
}
