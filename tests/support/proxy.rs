//! A small forwarding proxy on 127.0.0.1 for the tests, speaking what Go's and our clients send:
//! `CONNECT host:port` (a tunnel, for https servers) and absolute-form requests (`GET http://host/…`,
//! for plain http servers). It records every request it gets, so a test can check that the client went
//! through it, or around it, and how many TCP connections it opened.
//!
//! Upstream connections go only to 127.0.0.1 / 0.0.0.0 (the local host): any other target is answered
//! 502, so a test can never reach the network through it.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One request the proxy received.
#[derive(Debug, Clone)]
pub struct Seen {
    /// `CONNECT`, `GET` …
    pub method: String,
    /// `host:port` for CONNECT, the absolute URL otherwise.
    pub target: String,
    pub proxy_authorization: Option<String>,
    /// The proxy's answer.
    pub status: u16,
}

#[derive(Debug, Clone, Default)]
pub struct ProxyOptions {
    /// Answer 407 unless `Proxy-Authorization` is exactly this (e.g. `Basic dTpw`).
    pub require_authorization: Option<String>,
    /// Answer every request with this status (e.g. 403), connecting nowhere.
    pub refuse_with: Option<u16>,
}

pub struct Proxy {
    pub port: u16,
    seen: Arc<Mutex<Vec<Seen>>>,
    connections: Arc<Mutex<usize>>,
}

impl Proxy {
    pub fn start(opts: ProxyOptions) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the test proxy");
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(Mutex::new(0));
        let (seen2, conns2) = (seen.clone(), connections.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                *conns2.lock().unwrap() += 1;
                let (seen, opts) = (seen2.clone(), opts.clone());
                std::thread::spawn(move || {
                    let _ = handle(stream, &seen, &opts);
                });
            }
        });
        Proxy {
            port,
            seen,
            connections,
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// TCP connections accepted from clients so far.
    pub fn connections(&self) -> usize {
        *self.connections.lock().unwrap()
    }
}

fn handle(client: TcpStream, seen: &Mutex<Vec<Seen>>, opts: &ProxyOptions) -> std::io::Result<()> {
    client.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut reader = BufReader::new(client.try_clone()?);
    let mut client = client;
    loop {
        let mut head = Vec::new();
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let request_line = line.trim_end().to_string();
        head.extend_from_slice(line.as_bytes());
        let mut auth = None;
        let mut content_length = 0usize;
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h)? == 0 {
                return Ok(());
            }
            head.extend_from_slice(h.as_bytes());
            let t = h.trim_end();
            if t.is_empty() {
                break;
            }
            if let Some((k, v)) = t.split_once(':') {
                if k.eq_ignore_ascii_case("proxy-authorization") {
                    auth = Some(v.trim().to_string());
                }
                if k.eq_ignore_ascii_case("content-length") {
                    content_length = v.trim().parse().unwrap_or(0);
                }
            }
        }
        let mut parts = request_line.split_whitespace();
        let method = parts.next().unwrap_or_default().to_string();
        let target = parts.next().unwrap_or_default().to_string();
        let status = if let Some(s) = opts.refuse_with {
            s
        } else if opts
            .require_authorization
            .as_ref()
            .is_some_and(|want| auth.as_deref() != Some(want.as_str()))
        {
            407
        } else {
            200
        };
        let upstream_addr = if method == "CONNECT" {
            target.clone()
        } else {
            // http://host:port/path → host:port
            target
                .split_once("://")
                .map(|(_, r)| r.split('/').next().unwrap_or_default().to_string())
                .unwrap_or_default()
        };
        let upstream = if status == 200 {
            local_only(&upstream_addr).and_then(|a| TcpStream::connect(a).ok())
        } else {
            None
        };
        let status = if status == 200 && upstream.is_none() {
            502
        } else {
            status
        };
        seen.lock().unwrap().push(Seen {
            method: method.clone(),
            target: target.clone(),
            proxy_authorization: auth,
            status,
        });
        let Some(mut upstream) = upstream else {
            let reason = match status {
                407 => "Proxy Authentication Required",
                403 => "Forbidden",
                _ => "Bad Gateway",
            };
            let extra = if status == 407 {
                "Proxy-Authenticate: Basic realm=\"test\"\r\n"
            } else {
                ""
            };
            client.write_all(
                format!("HTTP/1.1 {status} {reason}\r\n{extra}Content-Length: 0\r\n\r\n")
                    .as_bytes(),
            )?;
            if method == "CONNECT" {
                return Ok(());
            }
            continue;
        };
        if method == "CONNECT" {
            client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")?;
            let buffered = reader.buffer().to_vec();
            upstream.write_all(&buffered)?;
            return pipe(client, upstream);
        }
        // Absolute-form request: pass it on as received (hyper servers accept the absolute form) and
        // its answer back, one request per upstream connection.
        let mut body = vec![0; content_length];
        reader.read_exact(&mut body)?;
        upstream.write_all(&head)?;
        upstream.write_all(&body)?;
        relay_one_response(&mut upstream, &mut client)?;
    }
}

/// Only the local host: 127.0.0.1 and 0.0.0.0 (which Linux connects to the local host).
fn local_only(addr: &str) -> Option<String> {
    let (host, port) = addr.rsplit_once(':')?;
    let port: u16 = port.parse().ok()?;
    matches!(host, "127.0.0.1" | "0.0.0.0" | "localhost").then(|| format!("127.0.0.1:{port}"))
}

fn relay_one_response(upstream: &mut TcpStream, client: &mut TcpStream) -> std::io::Result<()> {
    let mut reader = BufReader::new(upstream.try_clone()?);
    let mut head = Vec::new();
    let mut len = 0usize;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 {
            break;
        }
        head.extend_from_slice(h.as_bytes());
        if let Some((k, v)) = h.trim_end().split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                len = v.trim().parse().unwrap_or(0);
            }
        }
        if h.trim_end().is_empty() {
            break;
        }
    }
    let mut body = vec![0; len];
    reader.read_exact(&mut body)?;
    client.write_all(&head)?;
    client.write_all(&body)
}

fn pipe(a: TcpStream, b: TcpStream) -> std::io::Result<()> {
    let (mut a2, mut b2) = (a.try_clone()?, b.try_clone()?);
    let (mut a1, mut b1) = (a, b);
    a1.set_read_timeout(None)?;
    let t = std::thread::spawn(move || {
        let _ = std::io::copy(&mut a1, &mut b1);
        let _ = b1.shutdown(Shutdown::Write);
    });
    let _ = std::io::copy(&mut b2, &mut a2);
    let _ = a2.shutdown(Shutdown::Write);
    let _ = t.join();
    Ok(())
}
