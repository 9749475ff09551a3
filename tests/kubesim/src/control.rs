//! The control loop: runs the controllers and the kubelet on the sim clock.

use crate::state::Shared;
use std::sync::Arc;
use std::time::Duration;

pub(crate) async fn control_loop(shared: Arc<Shared>) {
    let mut last_rv = 0u64;
    let mut last_ctrl = std::time::Instant::now();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(25)) => {}
            _ = shared.wake.notified() => {}
        }
        let mut g = shared.lock();
        let now = g.now();
        let st = &mut *g;
        st.store.now_ms = now;
        let changed = st.store.rv != last_rv;
        // controllers: on any change, and every 250 ms for time-based conditions (minReadySeconds,
        // progress deadlines); the kubelet: on any change or when a container timer is due
        let mut run_ctrl = changed || last_ctrl.elapsed() >= Duration::from_millis(250);
        if !run_ctrl && now < st.kubelet.next_wake {
            continue;
        }
        for _ in 0..4 {
            st.store.dirty = false;
            if run_ctrl {
                st.ctrl.tick(&mut st.store, now);
                last_ctrl = std::time::Instant::now();
            }
            st.kubelet.tick(&mut st.store, now);
            if !st.store.dirty {
                break;
            }
            run_ctrl = true;
        }
        last_rv = st.store.rv;
    }
}
