//! The API server's watch cache window, per resource (k8s.io/apiserver
//! pkg/storage/cacher/watch_cache.go): a watch can resume from a resourceVersion only while the
//! events since then are still cached, else it gets 410 Gone ("too old resource version").
//!
//! Each resource keeps at least 100 events. When its cache is full it doubles (up to 102 400)
//! if the oldest event is younger than 75 s (`eventFreshDuration`), halves (down to 100) if even
//! the newest quarter is older than that, and otherwise drops its oldest event. So a quiet
//! resource remembers a long way back, and a busy one only its last 75 s.

use std::collections::{HashMap, VecDeque};

const LOWER_BOUND: usize = 100;
const UPPER_BOUND: usize = 100 * 1024;
/// `DefaultEventFreshDuration`, in sim milliseconds.
pub const EVENT_FRESH_MS: i64 = 75_000;

#[derive(Debug)]
struct Cache {
    /// (resourceVersion, sim time recorded), oldest first.
    events: VecDeque<(u64, i64)>,
    capacity: usize,
    /// The newest resourceVersion dropped from this cache.
    evicted: u64,
}

impl Default for Cache {
    fn default() -> Self {
        Cache {
            events: VecDeque::new(),
            capacity: LOWER_BOUND,
            evicted: 0,
        }
    }
}

impl Cache {
    fn record(&mut self, rv: u64, at: i64) {
        let full = self.events.len() >= self.capacity;
        if full {
            let oldest = self.events.front().map_or(at, |e| e.1);
            let quarter = self.events.len() - self.capacity / 4;
            if at - oldest < EVENT_FRESH_MS {
                self.capacity = (self.capacity * 2).min(UPPER_BOUND);
            } else if self
                .events
                .get(quarter)
                .is_some_and(|e| at - e.1 > EVENT_FRESH_MS)
            {
                self.capacity = (self.capacity / 2).max(LOWER_BOUND);
            }
        }
        while self.events.len() >= self.capacity {
            if let Some((old, _)) = self.events.pop_front() {
                self.evicted = self.evicted.max(old);
            }
        }
        self.events.push_back((rv, at));
    }
}

/// The watch cache windows of every resource (by storage name).
#[derive(Debug, Default)]
pub struct WatchCaches {
    caches: HashMap<&'static str, Cache>,
}

impl WatchCaches {
    /// An event of `storage` at `rv`, recorded at sim time `at`.
    pub fn record(&mut self, storage: &'static str, rv: u64, at: i64) {
        self.caches.entry(storage).or_default().record(rv, at);
    }

    /// A watch of `storage` from a resourceVersion below this gets 410 Gone.
    pub fn floor(&self, storage: &str) -> u64 {
        self.caches.get(storage).map_or(0, |c| c.evicted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_busy_resource_forgets_what_is_older_than_75_s() {
        let mut w = WatchCaches::default();
        // 1 event a second for 10 minutes: the cache grows while its oldest event is fresh,
        // then holds about the last 75 s to 150 s.
        for i in 0..600u64 {
            w.record("pods", 1_000 + i, i as i64 * 1_000);
        }
        let floor = w.floor("pods");
        assert!(floor > 1_000 + 600 - 160, "{floor}");
        assert!(floor < 1_000 + 600 - 70, "{floor}");
        assert_eq!(
            w.floor("deployments"),
            0,
            "each resource has its own window"
        );
    }

    #[test]
    fn a_quiet_resource_keeps_its_last_100_events_however_old() {
        let mut w = WatchCaches::default();
        for i in 0..100u64 {
            w.record("nodes", 10 + i, i as i64 * 3_600_000);
        }
        assert_eq!(w.floor("nodes"), 0);
        w.record("nodes", 500, 101 * 3_600_000);
        assert_eq!(w.floor("nodes"), 10, "the 101st event pushes out the first");
    }
}
