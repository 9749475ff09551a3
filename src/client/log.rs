//! kubectl's request log for `-v=6` and up, in klog's format so the same greps work:
//!
//! ```text
//! I1130 02:50:54.017329    4600 round_trippers.go:632] "Response" verb="GET" url="https://…/api/v1/namespaces/default/pods/p1" status="200 OK" milliseconds=47
//! ```
//!
//! (`kubectl get pod p1 -v=6`, kubectl 1.33.) From `-v=7` the request line with its headers comes first,
//! the bearer token masked, as kubectl prints it.

use std::future::Future;
use std::io::Write;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use http::{Request, Response};

/// The kubectl verbosity from which each request is logged.
pub(crate) const LOG_REQUESTS: u8 = 6;
/// The verbosity from which request headers are logged too.
pub(crate) const LOG_HEADERS: u8 = 7;

#[derive(Clone)]
pub(crate) struct LogLayer {
    pub level: u8,
}

impl<S> tower::Layer<S> for LogLayer {
    type Service = Log<S>;
    fn layer(&self, inner: S) -> Log<S> {
        Log {
            inner,
            level: self.level,
        }
    }
}

#[derive(Clone)]
pub(crate) struct Log<S> {
    inner: S,
    level: u8,
}

impl<S, B, R> tower::Service<Request<B>> for Log<S>
where
    S: tower::Service<Request<B>, Response = Response<R>>,
    S::Future: Send + 'static,
    S::Error: std::fmt::Display,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let level = self.level;
        let verb = req.method().to_string();
        let url = req.uri().to_string();
        if level >= LOG_HEADERS {
            let mut headers = String::new();
            for (name, value) in req.headers() {
                let value = if name == http::header::AUTHORIZATION {
                    mask(value.to_str().unwrap_or_default())
                } else {
                    String::from_utf8_lossy(value.as_bytes()).into_owned()
                };
                headers.push_str(&format!("\t{}: {value}\n", title_case(name.as_str())));
            }
            line(&format!(
                "\"Request\" verb={verb:?} url={url:?} headers=<\n{headers} >"
            ));
        }
        let start = Instant::now();
        let fut = self.inner.call(req);
        Box::pin(async move {
            let res = fut.await;
            if level >= LOG_REQUESTS {
                let ms = start.elapsed().as_millis();
                match &res {
                    Ok(r) => {
                        let s = r.status();
                        let status = format!("{} {}", s.as_u16(), s.canonical_reason().unwrap_or(""));
                        let status = status.trim_end();
                        if level >= LOG_HEADERS {
                            line(&format!("\"Response\" status={status:?} milliseconds={ms}"));
                        } else {
                            line(&format!(
                                "\"Response\" verb={verb:?} url={url:?} status={status:?} milliseconds={ms}"
                            ));
                        }
                    }
                    Err(e) => line(&format!(
                        "\"Response\" verb={verb:?} url={url:?} status=\"\" milliseconds={ms} err={:?}",
                        e.to_string()
                    )),
                }
            }
            res
        })
    }
}

/// `Bearer <masked>` as client-go masks it (`maskValue` in round_trippers.go).
fn mask(value: &str) -> String {
    match value.split_once(' ') {
        Some((kind, _)) => format!("{kind} <masked>"),
        None => "<masked>".to_string(),
    }
}

/// `user-agent` → `User-Agent` (Go canonicalises header names).
fn title_case(name: &str) -> String {
    name.split('-')
        .map(|part| {
            let mut c = part.chars();
            match c.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join("-")
}

/// One klog line on stderr: `I<MMDD> <hh:mm:ss.micros> <pid> transport.rs] <message>`.
fn line(message: &str) {
    let now = jiff::Zoned::now();
    let header = format!(
        "I{} {} {:>7} transport.rs]",
        now.strftime("%m%d"),
        now.strftime("%H:%M:%S.%6f"),
        std::process::id()
    );
    let _ = writeln!(std::io::stderr().lock(), "{header} {message}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_masked_and_names_canonical() {
        assert_eq!(mask("Bearer abc.def"), "Bearer <masked>");
        assert_eq!(mask("secret"), "<masked>");
        assert_eq!(title_case("user-agent"), "User-Agent");
        assert_eq!(title_case("accept"), "Accept");
    }
}
