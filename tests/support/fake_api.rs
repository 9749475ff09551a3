//! A scripted fake API server on 127.0.0.1 (plain HTTP/1.1): answers each request by its route, or
//! by a fallback (a Kubernetes `Status` error, or no answer at all), and records what it saw. For
//! what kubesim cannot pin: the exact call sequence and timing, the credentials and headers a
//! request carried, a server that never answers.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One scripted answer: `status` and `body` for `method path` (the path without the query), after
/// `delay`.
#[derive(Clone)]
pub struct Route {
    pub method: &'static str,
    pub path: String,
    pub status: u16,
    pub body: String,
    pub delay: Duration,
}

impl Route {
    /// `GET path` answered 200 with `body`.
    pub fn get(path: &str, body: String) -> Route {
        Route {
            method: "GET",
            path: path.to_string(),
            status: 200,
            body,
            delay: Duration::ZERO,
        }
    }

    /// The same route answered `code` with a Kubernetes `Status` (403 Forbidden, else NotFound).
    pub fn status(mut self, code: u16) -> Route {
        let reason = if code == 403 { "Forbidden" } else { "NotFound" };
        self.status = code;
        self.body = status_body(code, reason, "denied by the fake");
        self
    }

    /// The same route answered after `d`.
    pub fn delay(mut self, d: Duration) -> Route {
        self.delay = d;
        self
    }
}

/// A Kubernetes `Status` failure, as the API server writes it (metav1.Status).
pub fn status_body(code: u16, reason: &str, message: &str) -> String {
    format!(
        r#"{{"kind":"Status","apiVersion":"v1","metadata":{{}},"status":"Failure","message":"{message}","reason":"{reason}","code":{code}}}"#
    )
}

/// What a request without a route gets.
#[derive(Clone)]
pub enum Fallback {
    /// This `Status` failure (code, reason, message; the message as JSON string content).
    Status(u16, &'static str, &'static str),
    /// No answer: the connection is held open for 30 s, then closed.
    Hang,
}

/// One request the server saw.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    /// The request target: path and query.
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub arrived: Instant,
    pub answered: Instant,
}

impl Seen {
    /// The path, without the query.
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }

    /// The value of header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A running fake server; it lives as long as the test process.
pub struct FakeApi {
    port: u16,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl FakeApi {
    /// A server answering `routes`, and 404 to anything else.
    pub fn start(routes: Vec<Route>) -> FakeApi {
        Self::with_fallback(
            routes,
            Fallback::Status(404, "NotFound", "denied by the fake"),
        )
    }

    /// A server answering every request with `fallback`.
    pub fn answering(fallback: Fallback) -> FakeApi {
        Self::with_fallback(vec![], fallback)
    }

    fn with_fallback(routes: Vec<Route>, fallback: Fallback) -> FakeApi {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let seen2 = seen.clone();
        let script = Arc::new((routes, fallback));
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (seen, script) = (seen2.clone(), script.clone());
                std::thread::spawn(move || serve(stream, &seen, &script.0, &script.1));
            }
        });
        FakeApi { port, seen }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The requests so far, in the order they arrived.
    pub fn seen(&self) -> Vec<Seen> {
        let mut v = self.seen.lock().expect("lock").clone();
        v.sort_by_key(|s| s.arrived);
        v
    }

    /// A kubeconfig in `dir` whose one context (namespace `default`, a token) is this server.
    pub fn kubeconfig(&self, dir: &Path) -> PathBuf {
        let path = dir.join("config");
        std::fs::write(
            &path,
            format!(
                "apiVersion: v1\nkind: Config\ncurrent-context: fake\nclusters:\n- name: fake\n  cluster: {{server: \"{}\"}}\nusers:\n- name: u\n  user: {{token: t}}\ncontexts:\n- name: fake\n  context: {{cluster: fake, user: u, namespace: default}}\n",
                self.url()
            ),
        )
        .expect("write kubeconfig");
        path
    }
}

/// A request's line and headers.
struct Request {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
}

/// Reads one request head and body (the body is dropped), None when the client is gone.
fn read_request(reader: &mut impl BufRead) -> Option<Request> {
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let target = parts.next().unwrap_or("").to_string();
    let mut headers = Vec::new();
    let mut len = 0usize;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 {
            return None;
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                len = v.trim().parse().unwrap_or(0);
            }
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let mut body = vec![0; len];
    let _ = reader.read_exact(&mut body);
    Some(Request {
        method,
        target,
        headers,
    })
}

fn serve(stream: TcpStream, seen: &Mutex<Vec<Seen>>, routes: &[Route], fallback: &Fallback) {
    let Ok(clone) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(clone);
    let mut stream = stream;
    while let Some(Request {
        method,
        target,
        headers,
    }) = read_request(&mut reader)
    {
        let arrived = Instant::now();
        let path = target.split('?').next().unwrap_or("").to_string();
        let route = routes
            .iter()
            .find(|r| r.method == method && r.path == path)
            .cloned();
        let route = match (route, fallback) {
            (Some(route), _) => route,
            (None, Fallback::Status(code, reason, message)) => Route {
                status: *code,
                body: status_body(*code, reason, message),
                ..Route::get(&path, String::new())
            },
            (None, Fallback::Hang) => {
                let answered = Instant::now();
                seen.lock().expect("lock").push(Seen {
                    method,
                    target,
                    headers,
                    arrived,
                    answered,
                });
                std::thread::sleep(Duration::from_secs(30));
                return;
            }
        };
        std::thread::sleep(route.delay);
        let content_type = if path.ends_with("/log") && route.status == 200 {
            "text/plain"
        } else {
            "application/json"
        };
        let resp = format!(
            "HTTP/1.1 {} X\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n{}",
            route.status,
            route.body.len(),
            route.body
        );
        seen.lock().expect("lock").push(Seen {
            method,
            target,
            headers,
            arrived,
            answered: Instant::now(),
        });
        if stream.write_all(resp.as_bytes()).is_err() {
            return;
        }
    }
}
