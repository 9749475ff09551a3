//! The API server's service proxy: `/api/v1/namespaces/NS/services/NAME[:PORT]/proxy/PATH`, after
//! upstream's `ResourceLocation` (`pkg/registry/core/service/storage/storage.go`): the id is `NAME`,
//! `NAME:PORT` or `SCHEME:NAME:PORT`; a numeric PORT names the Service port with that number; the
//! request goes to a *ready* address of the Service's Endpoints that carries that port. Its errors are
//! upstream's: 503 `no service port N found for service "NAME"`, 503 `no endpoints available for service
//! "NAME"`, and, when the dial fails, 503 `error trying to reach service: dial tcp IP:PORT: connect:
//! connection refused` (`k8s.io/apimachinery/pkg/util/proxy/transport.go`).
//!
//! The pod behind the address answers per its behaviour: 200 while the container on that port runs and
//! has not had SIGTERM (an app stops accepting connections on SIGTERM; one that ignores SIGTERM serves
//! until it is killed), connection refused otherwise.
//!
//! Two simplifications: addresses are taken in turn (round-robin, so tests are reproducible) where
//! upstream picks at random; and the proxy routes by the Endpoints as they stood [`Routes::lag_ms`] ago
//! (default 1 s sim), standing in for the seconds every endpoint consumer (kube-proxy, ingress
//! controllers, load balancers) trails the Endpoints by. The real API server reads its own cache,
//! milliseconds behind.

use crate::state::State;
use crate::store::{ApiError, Store};
use crate::util;
use serde_json::Value;
use std::collections::{HashMap, VecDeque};

/// What the proxy routes by: each Service's Endpoints subsets over (sim) time.
pub struct Routes {
    /// How far (sim ms) the proxy's view trails the Endpoints.
    pub lag_ms: i64,
    history: HashMap<(String, String), VecDeque<(i64, Value)>>,
    turn: usize,
}

impl Default for Routes {
    fn default() -> Self {
        Routes {
            lag_ms: 1000,
            history: HashMap::new(),
            turn: 0,
        }
    }
}

impl Routes {
    /// Records the Endpoints' subsets when they change (called on every controller tick).
    pub fn record(&mut self, store: &Store, now: i64) {
        for e in store.iter("endpoints", None) {
            let key = (util::ns(e).to_string(), util::name(e).to_string());
            let subsets = e.get("subsets").cloned().unwrap_or(Value::Null);
            let h = self.history.entry(key).or_default();
            if h.back().map(|(_, s)| s) != Some(&subsets) {
                h.push_back((now, subsets));
            }
            // Only the newest state older than the lag is ever needed.
            while h.len() > 1 && h[1].0 <= now - self.lag_ms {
                h.pop_front();
            }
        }
    }

    /// The subsets the proxy sees now: the newest recorded at least `lag_ms` ago (else the oldest).
    fn view(&self, ns: &str, name: &str, now: i64) -> Option<&Value> {
        let h = self.history.get(&(ns.to_string(), name.to_string()))?;
        h.iter()
            .rev()
            .find(|(t, _)| *t <= now - self.lag_ms)
            .or(h.front())
            .map(|(_, s)| s)
    }
}

fn unavailable(msg: String) -> ApiError {
    ApiError::new(503, "ServiceUnavailable", msg)
}

/// `SplitSchemeNamePort`: `name`, `name:port`, `scheme:name:port`.
fn split_id(id: &str) -> Option<(&str, &str)> {
    let parts: Vec<&str> = id.split(':').collect();
    match parts.as_slice() {
        [n] if !n.is_empty() => Some((n, "")),
        [n, p] if !n.is_empty() => Some((n, p)),
        [s, n, p] if !n.is_empty() && matches!(*s, "" | "http" | "https") => Some((n, p)),
        _ => None,
    }
}

/// Answers one proxied request: the app's status and body, or the API server's error.
pub fn respond(
    st: &mut State,
    ns: &str,
    id: &str,
    path: &str,
    method: &str,
) -> Result<(u16, String), ApiError> {
    let (name, port) = split_id(id)
        .ok_or_else(|| ApiError::bad_request(format!("invalid service request {id:?}")))?;
    let svc = st
        .store
        .get("services", ns, name)
        .cloned()
        .ok_or_else(|| ApiError::not_found("services", name))?;
    let port_name = match port.parse::<i64>() {
        Ok(n) => svc
            .pointer("/spec/ports")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|p| p["port"].as_i64() == Some(n))
            .map(|p| p["name"].as_str().unwrap_or("").to_string())
            .ok_or_else(|| {
                unavailable(format!("no service port {n} found for service {name:?}"))
            })?,
        Err(_) => port.to_string(),
    };
    let now = st.now();
    let no_endpoints = || unavailable(format!("no endpoints available for service {name:?}"));
    let subsets = st
        .ctrl
        .proxy
        .view(ns, name, now)
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut candidates: Vec<(String, i64)> = vec![];
    for ss in &subsets {
        let Some(p) = ss["ports"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| p["name"].as_str().unwrap_or("") == port_name)
        else {
            continue;
        };
        let target = p["port"].as_i64().unwrap_or(0);
        for a in ss["addresses"].as_array().into_iter().flatten() {
            candidates.push((util::s(a, "/ip").to_string(), target));
        }
    }
    if candidates.is_empty() {
        return Err(no_endpoints());
    }
    let turn = st.ctrl.proxy.turn;
    st.ctrl.proxy.turn = turn.wrapping_add(1);
    let (ip, target) = candidates[turn % candidates.len()].clone();
    let refused = |why: &str| {
        unavailable(format!(
            "error trying to reach service: dial tcp {ip}:{target}: connect: {why}"
        ))
    };
    let Some(pod) = st
        .store
        .iter("pods", Some(ns))
        .find(|p| util::s(p, "/status/podIP") == ip)
        .cloned()
    else {
        return Err(refused("no route to host"));
    };
    match listening_container(st, &pod, target, now) {
        Some(c) => Ok((
            200,
            format!(
                "{method} /{path}: answered by container {c} of pod {}\n",
                util::name(&pod)
            ),
        )),
        None => Err(refused("connection refused")),
    }
}

/// The container listening on `port` (one that declares it, else the first), if it accepts connections.
fn listening_container(st: &State, pod: &Value, port: i64, now: i64) -> Option<String> {
    let specs = pod.pointer("/spec/containers")?.as_array()?;
    let spec = specs
        .iter()
        .find(|c| {
            c["ports"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|p| p["containerPort"].as_i64() == Some(port))
        })
        .or(specs.first())?;
    let name = spec["name"].as_str()?.to_string();
    let accepting = match st.kubelet.pods.get(util::uid(pod)) {
        Some(rt) => rt
            .run
            .app
            .iter()
            .any(|c| c.spec.name == name && c.accepting(now)),
        // A static pod (served as loaded): its status says whether the container runs.
        None => {
            pod.pointer("/metadata/deletionTimestamp").is_none()
                && pod
                    .pointer("/status/containerStatuses")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .any(|c| c["name"] == name.as_str() && c.pointer("/state/running").is_some())
        }
    };
    accepting.then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_like_upstream() {
        assert_eq!(split_id("web"), Some(("web", "")));
        assert_eq!(split_id("web:80"), Some(("web", "80")));
        assert_eq!(split_id("web:http"), Some(("web", "http")));
        assert_eq!(split_id("https:web:443"), Some(("web", "443")));
        assert_eq!(split_id(":80"), None);
        assert_eq!(split_id("a:b:c:d"), None);
    }

    #[test]
    fn the_view_trails_the_endpoints_by_the_lag() {
        let mut r = Routes {
            lag_ms: 1000,
            ..Default::default()
        };
        let key = ("d".to_string(), "web".to_string());
        let h = r.history.entry(key).or_default();
        h.push_back((0, serde_json::json!(["a"])));
        h.push_back((5000, serde_json::json!(["b"])));
        assert_eq!(r.view("d", "web", 5500), Some(&serde_json::json!(["a"])));
        assert_eq!(r.view("d", "web", 6000), Some(&serde_json::json!(["b"])));
        assert_eq!(r.view("d", "other", 6000), None);
    }
}
