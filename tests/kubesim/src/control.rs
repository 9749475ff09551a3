//! The control loop: runs the controllers and the kubelet on the sim clock.

use crate::state::{Shared, State};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub(crate) async fn control_loop(shared: Arc<Shared>) {
    let mut passes = Passes::default();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(25)) => {}
            _ = shared.wake.notified() => {}
        }
        let mut g = shared.lock();
        let now = g.now();
        passes.run(&mut g, now);
    }
}

/// What the loop remembers from one pass to the next, to work only when there is work.
struct Passes {
    /// The store's resourceVersion after the last pass.
    last_rv: u64,
    /// The store's resourceVersion when the kubelet last finished.
    kubelet_rv: Option<u64>,
    last_ctrl: Instant,
}

impl Default for Passes {
    fn default() -> Self {
        Passes {
            last_rv: 0,
            kubelet_rv: None,
            last_ctrl: Instant::now(),
        }
    }
}

impl Passes {
    /// One pass at sim time `now`. Controllers run on any change, and every 250 ms for time-based
    /// conditions (minReadySeconds, progress deadlines). The kubelet runs on any change or when a
    /// pod's timer is due: its pods follow the store and their own timers alone, so with neither
    /// changed nor due a pass over every pod would find nothing to do (at 10,000 pods that pass held
    /// the store's lock every 250 ms). Returns how many times the kubelet ran.
    fn run(&mut self, st: &mut State, now: i64) -> usize {
        st.store.now_ms = now;
        let changed = st.store.rv != self.last_rv;
        let mut run_ctrl = changed || self.last_ctrl.elapsed() >= Duration::from_millis(250);
        if !run_ctrl && now < st.kubelet.next_wake {
            return 0;
        }
        let mut kubelet_runs = 0;
        for _ in 0..4 {
            st.store.dirty = false;
            if run_ctrl {
                st.ctrl.tick(&mut st.store, now);
                self.last_ctrl = Instant::now();
            }
            if self.kubelet_rv != Some(st.store.rv) || now >= st.kubelet.next_wake {
                st.kubelet.tick(&mut st.store, now);
                self.kubelet_rv = Some(st.store.rv);
                kubelet_runs += 1;
            }
            if !st.store.dirty {
                break;
            }
            run_ctrl = true;
        }
        self.last_rv = st.store.rv;
        kubelet_runs
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry;
    use serde_json::json;

    fn state() -> State {
        State {
            store: crate::store::Store::new(),
            clock: crate::util::Clock::new(10.0),
            kubelet: Default::default(),
            ctrl: Default::default(),
            tokens: Default::default(),
            deny: vec![],
            version: "v1.33.2".into(),
        }
    }

    fn pod(name: &str, sigterm_exit: &str) -> serde_json::Value {
        json!({
            "metadata": {"name": name, "namespace": "default",
                "annotations": {"kubesim.io/behavior": format!("{{sigtermExit: {sigterm_exit}}}")}},
            "spec": {"nodeName": "node-1", "containers": [{"name": "app", "image": "app:1"}]},
        })
    }

    #[test]
    fn the_kubelet_rests_until_the_store_changes_or_a_timer_falls_due() {
        let mut st = state();
        let pods = registry::by_storage("pods");
        let mut passes = Passes::default();
        let mut now = st.now();
        st.store
            .create(pods, pod("web", "5s"), now, None, false)
            .unwrap();
        assert!(passes.run(&mut st, now) >= 1, "a new pod is started");
        // Running and Ready later on: let every start-up timer fall due.
        for _ in 0..20 {
            now += 1_000;
            passes.run(&mut st, now);
        }
        assert_eq!(
            st.store.get("pods", "default", "web").unwrap()["status"]["phase"],
            "Running"
        );
        // Nothing changed and nothing due: the controllers' periodic pass leaves the kubelet out.
        passes.last_ctrl = Instant::now() - Duration::from_secs(1);
        assert_eq!(passes.run(&mut st, now + 1), 0);
        // A deletion is a change: the kubelet starts the stop at once…
        crate::controllers::delete_pod(&mut st.store, "default", "web", None, now + 1);
        assert!(passes.run(&mut st, now + 1) >= 1);
        assert!(st.store.get("pods", "default", "web").is_some());
        // …and its timer (the app exits 5 s after SIGTERM) wakes it with nothing else changed.
        passes.last_ctrl = Instant::now() - Duration::from_secs(1);
        assert_eq!(passes.run(&mut st, now + 2_000), 0, "not due yet");
        assert!(passes.run(&mut st, now + 6_100) >= 1, "due");
        assert!(
            st.store.get("pods", "default", "web").is_none(),
            "gone once the app exited"
        );
    }
}
