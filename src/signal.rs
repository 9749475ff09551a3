//! SIGINT (Ctrl-C) and SIGTERM (CI cancellation, `timeout`, `kill`) for every subcommand. Both are caught
//! from the start of the run, so a command always gets to say where it stopped: exit 130 for SIGINT, 143
//! for SIGTERM (128 + the signal number, as shells report a process killed by it).

use crate::exit::Exit;

/// The signals that stop a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Signal {
    Int,
    Term,
}

impl Signal {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Signal::Int => "SIGINT",
            Signal::Term => "SIGTERM",
        }
    }

    /// The exit code a command stopped by this signal reports.
    pub(crate) fn exit(self) -> Exit {
        match self {
            Signal::Int => Exit::Interrupted,
            Signal::Term => Exit::Terminated,
        }
    }
}

/// Listens for SIGINT and SIGTERM. Creating it replaces their default action (die at once).
pub(crate) struct Signals {
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
}

impl Signals {
    /// Starts listening; must run inside the tokio runtime.
    pub(crate) fn new() -> std::io::Result<Signals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Ok(Signals {
                int: signal(SignalKind::interrupt())?,
                term: signal(SignalKind::terminate())?,
            })
        }
        #[cfg(not(unix))]
        {
            Ok(Signals {})
        }
    }

    /// The next signal.
    pub(crate) async fn recv(&mut self) -> Signal {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.int.recv() => Signal::Int,
                _ = self.term.recv() => Signal::Term,
            }
        }
        #[cfg(not(unix))]
        {
            // Windows has no SIGTERM; Ctrl-C and Ctrl-Break arrive as ctrl_c.
            let _ = tokio::signal::ctrl_c().await;
            Signal::Int
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_are_128_plus_the_signal_number() {
        assert_eq!(Signal::Int.exit().code(), 130);
        assert_eq!(Signal::Term.exit().code(), 143);
        assert_eq!(Signal::Term.name(), "SIGTERM");
    }
}
