//! The admin endpoint: kubesim's fault controls and request log over plain HTTP on 127.0.0.1, for
//! what is not Rust (shell scripts, benchmarks, people with curl). `kubesim --admin-port 0`
//! serves it; the routes are listed in the README ("Admin endpoint") and in [`route`].
//! Bodies are JSON; answers are JSON (`{"error": …}` with 400/404 when the request is wrong).

use crate::faults::Faults;
use crate::serving::Serving;
use crate::state::Shared;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response};
use serde_json::{json, Value};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A running admin endpoint; dropping it stops it.
pub struct Admin {
    port: u16,
    stop: tokio::sync::watch::Sender<bool>,
}

impl Admin {
    pub(crate) fn start(
        shared: Arc<Shared>,
        serving: Arc<Serving>,
        rt: &tokio::runtime::Handle,
        port: u16,
    ) -> anyhow::Result<Admin> {
        let listener = {
            let _g = rt.enter();
            let l = std::net::TcpListener::bind(("127.0.0.1", port))?;
            l.set_nonblocking(true)?;
            tokio::net::TcpListener::from_std(l)?
        };
        let port = listener.local_addr()?.port();
        let (stop, mut stopped) = tokio::sync::watch::channel(false);
        let ctx = Arc::new(Ctx {
            shared,
            serving,
            started: Instant::now(),
        });
        rt.spawn(async move {
            loop {
                let (sock, _) = tokio::select! {
                    r = listener.accept() => match r { Ok(x) => x, Err(_) => continue },
                    _ = stopped.changed() => return,
                };
                let ctx = ctx.clone();
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(move |req| handle(ctx.clone(), req));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(sock), svc)
                        .await;
                });
            }
        });
        Ok(Admin { port, stop })
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Admin {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

struct Ctx {
    shared: Arc<Shared>,
    serving: Arc<Serving>,
    started: Instant,
}

type Body = Full<Bytes>;

fn reply(code: u16, v: &Value) -> Response<Body> {
    Response::builder()
        .status(code)
        .header("Content-Type", "application/json")
        .body(Full::new(Bytes::from(format!("{v}\n"))))
        .expect("response")
}

async fn handle(
    ctx: Arc<Ctx>,
    req: Request<hyper::body::Incoming>,
) -> Result<Response<Body>, Infallible> {
    let method = req.method().to_string();
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let body: Value = if body.is_empty() {
        json!({})
    } else {
        match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(e) => {
                return Ok(reply(
                    400,
                    &json!({"error": format!("the body is not JSON: {e}")}),
                ))
            }
        }
    };
    Ok(match route(&ctx, &method, &path, &query, &body).await {
        Ok(v) => reply(200, &v),
        Err((code, msg)) => reply(code, &json!({"error": msg})),
    })
}

fn field<'a>(body: &'a Value, k: &str) -> Result<&'a Value, (u16, String)> {
    body.get(k)
        .ok_or_else(|| (400, format!("the body needs the field {k:?}")))
}

fn text<'a>(body: &'a Value, k: &str) -> Result<&'a str, (u16, String)> {
    field(body, k)?
        .as_str()
        .ok_or_else(|| (400, format!("{k:?} must be a string")))
}

fn number(body: &Value, k: &str) -> Result<f64, (u16, String)> {
    field(body, k)?
        .as_f64()
        .ok_or_else(|| (400, format!("{k:?} must be a number")))
}

/// The routes. Every write answers `{"ok": true}` (or what it reports).
async fn route(
    ctx: &Ctx,
    method: &str,
    path: &str,
    query: &str,
    body: &Value,
) -> Result<Value, (u16, String)> {
    let faults = Faults {
        shared: ctx.shared.clone(),
    };
    let ok = json!({"ok": true});
    match (method, path) {
        ("GET", "/healthz") => Ok(ok),
        // The request log: `?since=N` skips the first N records (the answer's `next`).
        ("GET", "/requests") => {
            let since: usize = url::form_urlencoded::parse(query.as_bytes())
                .find(|(k, _)| k == "since")
                .and_then(|(_, v)| v.parse().ok())
                .unwrap_or(0);
            let log = ctx.shared.requests.lock().unwrap();
            let items: Vec<Value> = log
                .iter()
                .skip(since)
                .map(|r| {
                    json!({
                        "method": r.method, "path": r.path, "query": r.query, "user": r.user,
                        "status": r.status, "watch": r.watch,
                        "atMs": r.at.saturating_duration_since(ctx.started).as_millis() as u64,
                    })
                })
                .collect();
            Ok(json!({"requests": items, "next": log.len()}))
        }
        ("DELETE", "/requests") => {
            ctx.shared.requests.lock().unwrap().clear();
            Ok(ok)
        }
        ("POST", "/faults/latency") => {
            faults.set_latency(Duration::from_millis(number(body, "ms")?.max(0.0) as u64));
            Ok(ok)
        }
        ("POST", "/faults/fail") => {
            let status = number(body, "status")? as u16;
            if !(400..600).contains(&status) {
                return Err((400, format!("status {status} is not an HTTP error")));
            }
            faults.fail(
                body.get("method").and_then(Value::as_str).unwrap_or("*"),
                body.get("path").and_then(Value::as_str).unwrap_or(""),
                status,
                body.get("times").and_then(Value::as_u64).unwrap_or(1) as usize,
            );
            Ok(ok)
        }
        ("POST", "/faults/hold") => {
            faults.hold(
                body.get("method").and_then(Value::as_str).unwrap_or("*"),
                text(body, "path")?,
            );
            Ok(ok)
        }
        ("GET", "/faults/held") => Ok(json!({"held": faults.held()})),
        ("POST", "/faults/release") => {
            faults.release();
            Ok(ok)
        }
        ("POST", "/faults/hang") => {
            faults.hang(field(body, "on")?.as_bool().unwrap_or(true));
            Ok(ok)
        }
        ("POST", "/faults/drop-watches") => {
            faults.drop_watches();
            Ok(ok)
        }
        ("POST", "/faults/expire-resource-versions") => {
            faults.expire_resource_versions();
            Ok(ok)
        }
        ("POST", "/faults/deny") => {
            let rule = (
                text(body, "user")?.to_string(),
                text(body, "verb")?.to_string(),
                text(body, "resource")?.to_string(),
            );
            ctx.shared.lock().deny.push(rule);
            Ok(ok)
        }
        ("POST", "/faults/clear") => {
            faults.clear();
            ctx.shared.lock().deny.clear();
            Ok(ok)
        }
        ("GET", "/server") => Ok(json!({"serving": ctx.serving.serving()})),
        ("POST", "/server/stop") => {
            let s = ctx.serving.clone();
            let _ = tokio::task::spawn_blocking(move || s.stop()).await;
            Ok(ok)
        }
        ("POST", "/server/start") => {
            let s = ctx.serving.clone();
            let _ = tokio::task::spawn_blocking(move || {
                if !s.serving() {
                    s.restart()
                }
            })
            .await;
            Ok(ok)
        }
        ("GET", "/clock") => {
            let st = ctx.shared.lock();
            Ok(json!({"now": crate::util::fmt_ts(st.now()), "scale": st.clock.scale}))
        }
        ("POST", "/clock/advance") => {
            let secs = number(body, "seconds")?;
            ctx.shared.lock().clock.advance((secs * 1000.0) as i64);
            ctx.shared.wake.notify_one();
            Ok(ok)
        }
        ("POST", "/clock/scale") => {
            let scale = number(body, "scale")?;
            if scale <= 0.0 {
                return Err((400, "scale must be above 0".into()));
            }
            ctx.shared.lock().clock.set_scale(scale);
            ctx.shared.wake.notify_one();
            Ok(ok)
        }
        (_, p) => Err((404, format!("no admin route {method} {p}"))),
    }
}
