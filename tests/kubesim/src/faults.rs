//! Faults injected into the API server's answers: latency, failures, held and hung requests,
//! dropped watches, expired resourceVersions (see [`crate::Sim::faults`], and the admin
//! endpoint's `/faults/…` routes).

use crate::state::{FailRule, FaultState, Shared};
use std::sync::Arc;
use std::time::Duration;

/// Fault injection handle (see [`Sim::faults`]).
#[derive(Clone)]
pub struct Faults {
    pub(crate) shared: Arc<Shared>,
}

impl Faults {
    /// Delay every request by `d` (real time).
    pub fn set_latency(&self, d: Duration) {
        self.shared.faults.lock().unwrap().latency = d;
    }
    /// Answer the next `times` requests whose method matches (`"*"` = any) and whose path+query contains
    /// `path_contains` with `status` (500, 429, 503…).
    pub fn fail(&self, method: &str, path_contains: &str, status: u16, times: usize) {
        self.shared.faults.lock().unwrap().fail.push(FailRule {
            method: method.into(),
            path_contains: path_contains.into(),
            status,
            remaining: times,
        });
    }
    /// Remove latency, failure and hold rules (held requests are answered).
    pub fn clear(&self) {
        let held = self.shared.faults.lock().unwrap().held;
        *self.shared.faults.lock().unwrap() = FaultState {
            held,
            ..FaultState::default()
        };
        self.shared.hang.send_modify(|_| {});
    }
    /// Hold every request whose method matches (`"*"` = any) and whose path+query contains `path_contains`:
    /// it is read but not answered until [`Faults::release`] (a request in flight, for tests that act
    /// while it is).
    pub fn hold(&self, method: &str, path_contains: &str) {
        self.shared
            .faults
            .lock()
            .unwrap()
            .hold
            .push((method.into(), path_contains.into()));
    }
    /// How many requests are held now.
    pub fn held(&self) -> usize {
        self.shared.faults.lock().unwrap().held
    }
    /// Drop the hold rules and answer the held requests.
    pub fn release(&self) {
        self.shared.faults.lock().unwrap().hold.clear();
        self.shared.hang.send_modify(|_| {});
    }
    /// Close every open watch (and log follow) stream.
    pub fn drop_watches(&self) {
        self.shared.drop_watches.send_modify(|g| *g += 1);
    }
    /// Hang: connections are still accepted and requests read, but nothing is answered and open watches
    /// go silent (no events, no bookmarks), like an API server stuck on etcd. `false` answers again
    /// (requests held meanwhile are then served).
    pub fn hang(&self, on: bool) {
        self.shared.hang.send_replace(on);
    }
    /// Watches and continue tokens from any resourceVersion before now get 410 Gone.
    pub fn expire_resource_versions(&self) {
        let mut st = self.shared.lock();
        st.store.floor = st.store.rv;
    }
}
