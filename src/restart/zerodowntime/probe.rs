//! `--probe svc/NAME:PORT[/PATH]`: while a target restarts, a GET every 150 ms through the API server's
//! service proxy (`/api/v1/namespaces/NS/services/NAME:PORT/proxy/PATH`), counting the failures (an
//! answer ≥ 500, a connection error, no answer within 2 s). It measures the path through the API
//! server, which picks a ready endpoint itself: not the users' path through kube-proxy, an ingress or a
//! load balancer. Requests are sent without the client's retries (a retried 503 would hide a failure).

use std::time::Duration;

use k8s_openapi::api::core::v1::Service;
use kube::Api;
use tokio::sync::watch as signal;
use tokio::time::{Instant, MissedTickBehavior};

use super::ProbeStats;
use crate::client::Kube;
use crate::error::{Error, Result};
use crate::restart::api::{self, Contact, Stop};

/// Every request goes out this often.
pub(crate) const INTERVAL: Duration = Duration::from_millis(150);
/// A request without an answer by then failed.
pub(crate) const PATIENCE: Duration = Duration::from_secs(2);
/// How many failures are kept as examples.
const EXAMPLES: usize = 3;

/// `svc/NAME:PORT[/PATH]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ProbeTarget {
    pub service: String,
    /// A port number or name of the Service.
    pub port: String,
    /// Without the leading slash.
    pub path: String,
}

impl ProbeTarget {
    pub(crate) fn parse(s: &str) -> Result<ProbeTarget> {
        let bad = |why: &str| {
            Error::usage(format!(
                "--probe {s:?}: {why}; expected svc/NAME:PORT[/PATH], e.g. svc/web:80/healthz"
            ))
        };
        let rest = ["svc/", "service/", "services/"]
            .iter()
            .find_map(|p| s.strip_prefix(p))
            .ok_or_else(|| bad("not a Service"))?;
        let (id, path) = rest.split_once('/').unwrap_or((rest, ""));
        let (service, port) = id.split_once(':').ok_or_else(|| bad("no port"))?;
        if !crate::target::valid_name(service) {
            return Err(bad("not a valid Service name"));
        }
        if port.is_empty() || !port.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(bad("not a valid port number or name"));
        }
        Ok(ProbeTarget {
            service: service.into(),
            port: port.into(),
            path: path.into(),
        })
    }

    pub(crate) fn url(&self, ns: &str) -> String {
        format!(
            "/api/v1/namespaces/{ns}/services/{}:{}/proxy/{}",
            self.service, self.port, self.path
        )
    }
}

impl std::fmt::Display for ProbeTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "svc/{}:{}", self.service, self.port)?;
        if !self.path.is_empty() {
            write!(f, "/{}", self.path)?;
        }
        Ok(())
    }
}

/// Before anything is changed: the Service exists and has the port.
pub(crate) async fn check(
    kube: &Kube,
    contact: &Contact,
    deadline: Instant,
    ns: &str,
    t: &ProbeTarget,
) -> Result<()> {
    let api: Api<Service> = Api::namespaced(kube.client.clone(), ns);
    let svc = api::call(
        kube,
        contact,
        deadline,
        ("get", &format!("service {}", t.service), Some(ns)),
        api.get(&t.service),
    )
    .await
    .map_err(|e| match e {
        Stop::Error(e) if e.is_not_found() => Error::usage(format!(
            "--probe {t}: service {} not found in namespace {ns}",
            t.service
        )),
        e => e.into_error(),
    })?;
    let ports: Vec<String> = svc
        .spec
        .iter()
        .flat_map(|s| s.ports.iter().flatten())
        .flat_map(|p| [Some(p.port.to_string()), p.name.clone()])
        .flatten()
        .collect();
    if !ports.contains(&t.port) {
        return Err(Error::usage(format!(
            "--probe {t}: service {} has no port {} (ports: {})",
            t.service,
            t.port,
            ports.join(", ")
        )));
    }
    Ok(())
}

/// One request's outcome: Ok(latency) or Err(what failed); `Err(None)` = not a failure (4xx).
async fn once(kube: &Kube, url: &str) -> std::result::Result<(), Option<String>> {
    let req = http::Request::get(url)
        .body(Vec::new())
        .map_err(|e| Some(e.to_string()))?;
    match tokio::time::timeout(PATIENCE, kube.client.request_text(req)).await {
        Err(_) => Err(Some(format!(
            "no answer in {}",
            humantime::format_duration(PATIENCE)
        ))),
        Ok(Ok(_)) => Ok(()),
        Ok(Err(kube::Error::Api(s))) if s.code >= 500 => {
            Err(Some(format!("{}: {}", s.code, s.message.trim())))
        }
        Ok(Err(kube::Error::Api(_))) => Err(None),
        Ok(Err(e)) => Err(Some(crate::client::error_chain(&e))),
    }
}

/// Sends requests until `stop` turns true (or its sender goes away).
pub(crate) async fn run(
    kube: &Kube,
    ns: &str,
    t: &ProbeTarget,
    mut stop: signal::Receiver<bool>,
) -> ProbeStats {
    let url = t.url(ns);
    let mut stats = ProbeStats {
        path: format!("{url} (through the API server, not your ingress)"),
        ..Default::default()
    };
    let mut tick = tokio::time::interval(INTERVAL);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            _ = tick.tick() => {}
        }
        if *stop.borrow() {
            break;
        }
        let started = Instant::now();
        let r = tokio::select! {
            r = once(kube, &url) => r,
            _ = stop.changed() => break,
        };
        stats.requests += 1;
        stats.worst_latency_ms = stats
            .worst_latency_ms
            .max(started.elapsed().as_millis() as u64);
        match r {
            Ok(()) | Err(None) => {}
            Err(Some(why)) => {
                stats.failed += 1;
                if stats.failures.len() < EXAMPLES {
                    stats.failures.push(why);
                }
            }
        }
    }
    stats
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_like_the_issue_writes_them() {
        assert_eq!(
            ProbeTarget::parse("svc/web:80/healthz/live").unwrap(),
            ProbeTarget {
                service: "web".into(),
                port: "80".into(),
                path: "healthz/live".into()
            }
        );
        let t = ProbeTarget::parse("service/web:http").unwrap();
        assert_eq!((t.port.as_str(), t.path.as_str()), ("http", ""));
        assert_eq!(
            t.url("shop"),
            "/api/v1/namespaces/shop/services/web:http/proxy/"
        );
        assert_eq!(t.to_string(), "svc/web:http");
        for (bad, why) in [
            ("web:80", "not a Service"),
            ("svc/web", "no port"),
            ("svc/Web_1:80", "not a valid Service name"),
            ("svc/web:", "not a valid port"),
            ("deploy/web:80", "not a Service"),
        ] {
            let e = ProbeTarget::parse(bad).unwrap_err().to_string();
            assert!(
                e.contains(why) && e.contains("svc/NAME:PORT[/PATH]"),
                "{bad}: {e}"
            );
        }
    }
}
