//! What a signal does to a running restart. The first SIGINT/SIGTERM stops every wait at once, but a
//! *critical section* (a write whose answer we need, or an evicted bare pod that is not created again yet)
//! is finished first: nothing is left half changed. No new write starts after the first signal. A second
//! signal stops at once, and the open critical sections say what is left to do by hand.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use tokio::sync::watch;

use crate::signal::Signal;

/// One open critical section: what a person must do if the tool stops inside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Open {
    id: u64,
    /// Which target it belongs to (step index).
    pub index: usize,
    /// The instruction to print if it is abandoned ("pod default/solo was evicted …: create it with …").
    pub if_abandoned: String,
}

/// Shared by every running target.
pub(crate) struct Interrupt {
    signal: Mutex<Option<Signal>>,
    open: watch::Sender<Vec<Open>>,
    next: AtomicU64,
}

impl Default for Interrupt {
    fn default() -> Self {
        Interrupt {
            signal: Mutex::new(None),
            open: watch::Sender::new(Vec::new()),
            next: AtomicU64::new(0),
        }
    }
}

/// A handle on an open critical section; pass it to [`Interrupt::leave`].
#[derive(Debug)]
#[must_use = "a critical section must be left"]
pub(crate) struct Section(u64);

impl Interrupt {
    /// The first signal received, if any.
    pub(crate) fn signal(&self) -> Option<Signal> {
        self.signal.lock().map(|s| *s).unwrap_or(None)
    }

    /// Records the first signal (later ones are ignored here; the caller stops at once on a second one).
    pub(crate) fn set(&self, s: Signal) {
        if let Ok(mut cur) = self.signal.lock() {
            cur.get_or_insert(s);
        }
    }

    /// Opens a critical section before a write. After a signal no write starts: this then never returns,
    /// and the restart stops where it is.
    pub(crate) async fn enter(&self, index: usize, if_abandoned: String) -> Section {
        if self.signal().is_some() {
            std::future::pending::<()>().await;
        }
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        self.open.send_modify(|v| {
            v.push(Open {
                id,
                index,
                if_abandoned,
            })
        });
        Section(id)
    }

    /// Changes what a section says if it is abandoned (e.g. once the eviction was accepted).
    pub(crate) fn update(&self, s: &Section, if_abandoned: String) {
        self.open.send_modify(|v| {
            if let Some(o) = v.iter_mut().find(|o| o.id == s.0) {
                o.if_abandoned = if_abandoned;
            }
        });
    }

    /// Closes a critical section. After a signal this never returns: the work is stopped right here, with
    /// nothing half done.
    pub(crate) async fn leave(&self, s: Section) {
        self.close(s);
        if self.signal().is_some() {
            std::future::pending::<()>().await;
        }
    }

    /// Closes a critical section without stopping (for paths that return right after).
    pub(crate) fn close(&self, s: Section) {
        self.open.send_modify(|v| v.retain(|o| o.id != s.0));
    }

    /// The critical sections still open.
    pub(crate) fn open_sections(&self) -> Vec<Open> {
        self.open.borrow().clone()
    }

    /// Resolves once no critical section is open.
    pub(crate) async fn idle(&self) {
        let mut rx = self.open.subscribe();
        let _ = rx.wait_for(|v| v.is_empty()).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn no_write_starts_after_a_signal_and_sections_finish_first() {
        let i = Interrupt::default();
        let s = i.enter(0, "create pod x again".into()).await;
        assert_eq!(i.open_sections().len(), 1);
        assert!(
            tokio::time::timeout(Duration::from_millis(20), i.idle())
                .await
                .is_err(),
            "not idle while a section is open"
        );
        i.set(Signal::Term);
        i.set(Signal::Int);
        assert_eq!(i.signal(), Some(Signal::Term), "the first signal counts");
        // Leaving after the signal stops the work there …
        assert!(tokio::time::timeout(Duration::from_millis(20), i.leave(s))
            .await
            .is_err());
        // … and the restart is idle.
        i.idle().await;
        // A new write never starts.
        assert!(
            tokio::time::timeout(Duration::from_millis(20), i.enter(0, "x".into()))
                .await
                .is_err()
        );
        assert!(i.open_sections().is_empty());
    }

    #[tokio::test]
    async fn without_a_signal_sections_come_and_go() {
        let i = Interrupt::default();
        let a = i.enter(0, "a".into()).await;
        let b = i.enter(1, "b".into()).await;
        i.update(&b, "b2".into());
        i.leave(a).await;
        let open = i.open_sections();
        assert_eq!(open.len(), 1);
        assert_eq!((open[0].index, open[0].if_abandoned.as_str()), (1, "b2"));
        i.close(b);
        i.idle().await;
    }
}
