//! Which proxy a request to the API server goes through, decided exactly as kubectl decides it.
//!
//! - The kubeconfig's `proxy-url` (client-go `clientcmd`: `http.ProxyURL`) is used for every request,
//!   with no exception, not even for NO_PROXY or loopback.
//! - Otherwise the environment (Go's `http.ProxyFromEnvironment`, i.e. `golang.org/x/net/http/httpproxy`,
//!   wrapped by apimachinery's `NewProxierWithNoProxyCIDR`): `HTTPS_PROXY` for https servers, `HTTP_PROXY`
//!   for http ones (upper case first, then lower case; an empty value counts as unset), never for
//!   `localhost` or a loopback IP, and not for hosts that `NO_PROXY` matches: `*`; an IP, optionally with
//!   a port; a CIDR; a domain, which matches itself and its subdomains (`.domain` and `*.domain` only
//!   subdomains), optionally with a port.

use std::net::IpAddr;

/// A proxy to reach the server through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Proxy {
    /// `http` or `https` (how we talk to the proxy itself).
    pub scheme: String,
    pub host: String,
    pub port: u16,
    /// `user:password` from the URL, percent-decoded, for `Proxy-Authorization: Basic`.
    pub userinfo: Option<String>,
    /// Where the setting came from, for messages: `HTTPS_PROXY`, `proxy-url in the kubeconfig` ….
    pub source: String,
    /// The URL as given (credentials removed), for messages.
    pub display: String,
}

/// The environment variables that decide the proxy, read once.
#[derive(Debug, Clone, Default)]
pub(crate) struct ProxyEnv {
    /// (variable name, value) of HTTPS_PROXY / https_proxy, the first one set.
    pub https: Option<(String, String)>,
    pub http: Option<(String, String)>,
    pub no_proxy: String,
    /// `REQUEST_METHOD` is set: Go refuses HTTP_PROXY in a CGI environment.
    pub cgi: bool,
}

impl ProxyEnv {
    pub(crate) fn from_process() -> Self {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    pub(crate) fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Self {
        let any = |names: [&str; 2]| {
            names
                .iter()
                .find_map(|n| get(n).filter(|v| !v.is_empty()).map(|v| (n.to_string(), v)))
        };
        ProxyEnv {
            https: any(["HTTPS_PROXY", "https_proxy"]),
            http: any(["HTTP_PROXY", "http_proxy"]),
            no_proxy: any(["NO_PROXY", "no_proxy"])
                .map(|(_, v)| v)
                .unwrap_or_default(),
            cgi: get("REQUEST_METHOD").is_some_and(|v| !v.is_empty()),
        }
    }
}

/// The proxy for a server at `scheme://host:port`, or `None` to connect directly.
/// `kubeconfig_proxy` is the cluster's `proxy-url`. Errors name the setting that is unusable.
pub(crate) fn proxy_for(
    scheme: &str,
    host: &str,
    port: u16,
    kubeconfig_proxy: Option<&str>,
    env: &ProxyEnv,
) -> Result<Option<Proxy>, String> {
    if let Some(url) = kubeconfig_proxy.filter(|u| !u.is_empty()) {
        return parse_kubeconfig_proxy(url).map(Some);
    }
    let setting = match scheme {
        "https" => env.https.as_ref(),
        _ => env.http.as_ref(),
    };
    let Some((name, value)) = setting else {
        return Ok(None);
    };
    if scheme == "http" && env.cgi {
        return Err(format!(
            "refusing to use {name} in a CGI environment (REQUEST_METHOD is set); see golang.org/s/cgihttpproxy"
        ));
    }
    if !use_proxy(host, port, &env.no_proxy) {
        return Ok(None);
    }
    // Go ignores a value it cannot parse (the request then goes direct); we say so instead of guessing.
    parse_env_proxy(value)
        .map(|p| {
            Some(Proxy {
                source: name.clone(),
                ..p
            })
        })
        .map_err(|e| format!("{name}={value:?} is not a usable proxy URL: {e}"))
}

/// client-go's `parseProxyURL`: the scheme must be http, https or socks5, nothing is guessed.
fn parse_kubeconfig_proxy(url: &str) -> Result<Proxy, String> {
    let bad = |why: &str| format!("proxy-url {url:?} in the kubeconfig: {why}");
    let (scheme, _) = url
        .split_once("://")
        .ok_or_else(|| bad("not a URL (expected http://host:port)"))?;
    match scheme {
        "http" | "https" => {}
        "socks5" => {
            return Err(bad(
                "socks5 proxies are not supported by kubectl-graceful; use an http or https proxy",
            ))
        }
        other => {
            return Err(bad(&format!(
                "unsupported scheme {other:?} (kubectl accepts http, https and socks5)"
            )))
        }
    }
    let mut p = parse_url(url).map_err(|e| bad(&e))?;
    p.source = "proxy-url in the kubeconfig".into();
    Ok(p)
}

/// httpproxy's `parseProxy`: a value without an http/https/socks5 scheme is read as `http://VALUE`.
fn parse_env_proxy(value: &str) -> Result<Proxy, String> {
    let scheme = value.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
    match scheme.as_deref() {
        Some("http") | Some("https") => parse_url(value),
        Some("socks5") => Err(
            "socks5 proxies are not supported by kubectl-graceful; use an http or https proxy"
                .into(),
        ),
        _ => parse_url(&format!("http://{value}")),
    }
}

fn parse_url(url: &str) -> Result<Proxy, String> {
    let uri: http::Uri = url.parse().map_err(|e| format!("{e}"))?;
    let scheme = uri.scheme_str().unwrap_or("http").to_ascii_lowercase();
    let authority = uri
        .authority()
        .ok_or_else(|| "no host in it".to_string())?
        .as_str();
    let (userinfo, hostport) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, authority),
    };
    let (host, port) = split_host_port(hostport);
    if host.is_empty() {
        return Err("no host in it".into());
    }
    let port = match port {
        Some(p) => p.parse::<u16>().map_err(|_| format!("bad port {p:?}"))?,
        None if scheme == "https" => 443,
        None => 80,
    };
    let userinfo = userinfo.map(|u| {
        percent_encoding::percent_decode_str(u)
            .decode_utf8_lossy()
            .into_owned()
    });
    let display = format!("{scheme}://{hostport}");
    Ok(Proxy {
        scheme,
        host: host.to_string(),
        port,
        userinfo,
        source: String::new(),
        display,
    })
}

/// `host:port`, `[v6]:port`, `host` → (host without brackets, port).
fn split_host_port(s: &str) -> (&str, Option<&str>) {
    if let Some(rest) = s.strip_prefix('[') {
        if let Some((h, after)) = rest.split_once(']') {
            return (h, after.strip_prefix(':'));
        }
    }
    match s.rsplit_once(':') {
        // More than one ':' without brackets: a bare IPv6 address.
        Some((h, p)) if !h.contains(':') => (h, Some(p)),
        _ => (s, None),
    }
}

/// httpproxy's `useProxy`: false for localhost, loopback IPs and hosts NO_PROXY matches.
pub(crate) fn use_proxy(host: &str, port: u16, no_proxy: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host == "localhost" {
        return false;
    }
    let ip: Option<IpAddr> = host.parse().ok();
    // Go sees an IPv4-mapped IPv6 address as IPv4 (::ffff:127.0.0.1 is loopback).
    if ip.is_some_and(|ip| ip.to_canonical().is_loopback()) {
        return false;
    }
    let host = host.trim().to_ascii_lowercase();
    let port = port.to_string();
    for entry in no_proxy.split(',') {
        let p = entry.trim().to_ascii_lowercase();
        if p.is_empty() {
            continue;
        }
        if p == "*" {
            return false;
        }
        if let Some((net, bits)) = parse_cidr(&p) {
            if ip.is_some_and(|ip| cidr_contains(net, bits, ip)) {
                return false;
            }
            continue;
        }
        let (phost, pport) = match split_host_port(&p) {
            (h, Some(pp)) if !h.is_empty() => (h.to_string(), Some(pp.to_string())),
            ("", Some(_)) => continue, // ":80": no host part, ignored like Go
            (h, _) => (h.to_string(), None),
        };
        let port_ok = pport.as_deref().is_none_or(|pp| pp == port);
        if let Ok(pip) = phost.parse::<IpAddr>() {
            if ip == Some(pip) && port_ok {
                return false;
            }
            continue;
        }
        // domain.com matches itself and sub.domain.com; .domain.com and *.domain.com only subdomains.
        let phost = phost.strip_prefix('*').unwrap_or(&phost);
        let (suffix, match_host) = match phost.strip_prefix('.') {
            Some(_) => (phost.to_string(), false),
            None => (format!(".{phost}"), true),
        };
        if (host.ends_with(&suffix) || (match_host && host == suffix[1..])) && port_ok {
            return false;
        }
    }
    true
}

fn parse_cidr(s: &str) -> Option<(IpAddr, u8)> {
    let (addr, bits) = s.split_once('/')?;
    let addr: IpAddr = addr.parse().ok()?;
    let bits: u8 = bits.parse().ok()?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    (bits <= max).then_some((addr, bits))
}

fn cidr_contains(net: IpAddr, bits: u8, ip: IpAddr) -> bool {
    // Go compares an IPv4-mapped IPv6 address as IPv4.
    let as_v4 = |a: IpAddr| match a {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(a),
        v4 => v4,
    };
    match (as_v4(net), as_v4(ip)) {
        (IpAddr::V4(n), IpAddr::V4(i)) => {
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits)
            };
            u32::from(n) & mask == u32::from(i) & mask
        }
        (IpAddr::V6(n), IpAddr::V6(i)) => {
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - bits)
            };
            u128::from(n) & mask == u128::from(i) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> ProxyEnv {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        ProxyEnv::from_lookup(|k| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()))
    }

    fn via(url: &str, e: &ProxyEnv) -> Option<String> {
        let uri: http::Uri = url.parse().unwrap();
        let scheme = uri.scheme_str().unwrap();
        let port = uri
            .port_u16()
            .unwrap_or(if scheme == "https" { 443 } else { 80 });
        let host = uri.host().unwrap();
        proxy_for(scheme, host, port, None, e)
            .unwrap()
            .map(|p| format!("{}:{}", p.host, p.port))
    }

    // Cases from golang.org/x/net/http/httpproxy/proxy_test.go (proxyForURLTests, useProxyTests).
    #[test]
    fn environment_rules_match_go() {
        let e = env(&[
            ("HTTPS_PROXY", "proxy.corp:3128"),
            ("HTTP_PROXY", "http://h:80"),
        ]);
        assert_eq!(
            via("https://api.example.com:6443", &e).as_deref(),
            Some("proxy.corp:3128")
        );
        assert_eq!(via("http://api.example.com", &e).as_deref(), Some("h:80"));
        // Never for localhost or loopback, whatever NO_PROXY says.
        assert_eq!(via("https://localhost:6443", &e), None);
        assert_eq!(via("https://127.0.0.1:6443", &e), None);
        assert_eq!(via("https://127.0.0.2:6443", &e), None);
        assert_eq!(via("https://[::1]:6443", &e), None);
        // Upper case wins; an empty upper-case value falls back to lower case.
        let e = env(&[("HTTPS_PROXY", ""), ("https_proxy", "lower:1")]);
        assert_eq!(via("https://a.b", &e).as_deref(), Some("lower:1"));
        let e = env(&[("https_proxy", "lower:1"), ("HTTPS_PROXY", "upper:2")]);
        assert_eq!(via("https://a.b", &e).as_deref(), Some("upper:2"));
        // HTTP_PROXY is not used for https.
        let e = env(&[("HTTP_PROXY", "h:1")]);
        assert_eq!(via("https://a.b", &e), None);
        // CGI: HTTP_PROXY refused.
        let e = env(&[("HTTP_PROXY", "h:1"), ("REQUEST_METHOD", "GET")]);
        assert!(proxy_for("http", "a.b", 80, None, &e).is_err());
    }

    #[test]
    fn no_proxy_forms_match_go() {
        let np = "foobar.com, .barbaz.net, *.qux.com, 10.0.0.0/8, 192.168.1.1, 2001:db8::/32, [2001:db8::52]:81, example.org:8443";
        for (host, port, proxied) in [
            ("foobar.com", 443, false),
            ("www.foobar.com", 443, false),
            ("xfoobar.com", 443, true),
            ("barbaz.net", 443, true),
            ("www.barbaz.net", 443, false),
            ("qux.com", 443, true),
            ("a.qux.com", 443, false),
            ("10.1.2.3", 6443, false),
            ("11.1.2.3", 6443, true),
            ("192.168.1.1", 443, false),
            ("192.168.1.2", 443, true),
            ("2001:db8::1", 443, false),
            ("2001:db8::52", 81, false),
            ("example.org", 8443, false),
            ("example.org", 443, true),
            ("api.example.org", 8443, false),
            ("FOOBAR.COM", 443, false),
        ] {
            assert_eq!(use_proxy(host, port, np), proxied, "{host}:{port}");
        }
        assert!(!use_proxy("anything.at.all", 1, "*"));
        assert!(use_proxy("a.b", 1, " , :80, "));
        // An IP entry with a port only matches that port.
        assert!(use_proxy("192.168.1.1", 80, "192.168.1.1:443"));
        assert!(!use_proxy("192.168.1.1", 443, "192.168.1.1:443"));
    }

    #[test]
    fn kubeconfig_proxy_url_wins_and_is_strict() {
        let e = env(&[("HTTPS_PROXY", "env:1"), ("NO_PROXY", "*")]);
        let p = proxy_for(
            "https",
            "127.0.0.1",
            6443,
            Some("http://u%40x:p@kp:3128"),
            &e,
        )
        .unwrap()
        .unwrap();
        assert_eq!((p.host.as_str(), p.port), ("kp", 3128));
        assert_eq!(p.userinfo.as_deref(), Some("u@x:p"));
        assert_eq!(p.display, "http://kp:3128");
        assert!(proxy_for("https", "a", 1, Some("kp:3128"), &e).is_err());
        assert!(proxy_for("https", "a", 1, Some("ftp://kp:21"), &e).is_err());
        let p = proxy_for("https", "a", 1, Some("https://kp"), &e)
            .unwrap()
            .unwrap();
        assert_eq!((p.scheme.as_str(), p.port), ("https", 443));
    }

    #[test]
    fn env_values_without_scheme_are_http() {
        let e = env(&[("HTTPS_PROXY", "user:pw@proxy:8080")]);
        let p = proxy_for("https", "a.b", 443, None, &e).unwrap().unwrap();
        assert_eq!(
            (
                p.scheme.as_str(),
                p.host.as_str(),
                p.port,
                p.userinfo.as_deref()
            ),
            ("http", "proxy", 8080, Some("user:pw"))
        );
        assert_eq!(p.source, "HTTPS_PROXY");
    }
}
