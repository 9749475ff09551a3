//! Shared simulator state.

use crate::controllers::Ctrl;
use crate::kubelet::Kubelet;
use crate::store::Store;
use crate::util::Clock;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// One served request.
#[derive(Debug, Clone)]
pub struct RequestRecord {
    pub method: String,
    pub path: String,
    pub query: String,
    /// The request's `Accept` header (metadata-only and Table lists ask by it).
    pub accept: String,
    pub user: String,
    pub status: u16,
    pub watch: bool,
    pub at: Instant,
}

#[derive(Debug, Clone)]
pub struct FailRule {
    pub method: String,
    pub path_contains: String,
    pub status: u16,
    pub remaining: usize,
}

#[derive(Debug, Default)]
pub struct FaultState {
    pub latency: Duration,
    pub fail: Vec<FailRule>,
    /// (method or "*", path_contains): matching requests get no answer until released.
    pub hold: Vec<(String, String)>,
    /// Requests being held now.
    pub held: usize,
}

pub struct State {
    pub store: Store,
    pub clock: Clock,
    pub kubelet: Kubelet,
    pub ctrl: Ctrl,
    /// token → user
    pub tokens: HashMap<String, String>,
    /// (user, verb, resource)
    pub deny: Vec<(String, String, String)>,
    pub version: String,
}

impl State {
    pub fn now(&self) -> i64 {
        self.clock.now_ms()
    }
}

pub struct Shared {
    pub state: Mutex<State>,
    pub wake: tokio::sync::Notify,
    pub requests: Mutex<Vec<RequestRecord>>,
    pub faults: Mutex<FaultState>,
    pub drop_watches: tokio::sync::watch::Sender<u64>,
    /// While true the server accepts connections and reads requests but answers nothing, and open
    /// watches send nothing (a hung API server).
    pub hang: tokio::sync::watch::Sender<bool>,
    /// The ALPN protocol of each accepted TLS connection ("h2", "http/1.1", "" for none).
    pub connections: Mutex<Vec<String>>,
}

impl Shared {
    /// Resolves once the server is not hung (at once when it is not).
    pub async fn unhung(&self) {
        let mut rx = self.hang.subscribe();
        let _ = rx.wait_for(|h| !*h).await;
    }

    pub fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}
