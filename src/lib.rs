//! kubectl-graceful: explain why pods died, audit graceful-shutdown settings, restart workloads safely.
//!
//! The binary (`main.rs`) is a thin shell over [`run`]. Every subcommand has the same parts, each in a
//! file of that name inside its module ([`explain`], [`diagnose`], `restart`):
//! *options* (`options.rs`, the only code that sees clap: args → validated options) → *gather* (API
//! calls → data; no text, no printing) → *analyse* (pure: explain's `analyse/`, diagnose's `rules/`,
//! restart's `status.rs`/`preflight.rs`/`zerodowntime/judge.rs`) → *model* (`model.rs`: every type
//! that is serialised) → *render* (`render.rs`: all text, tables, warnings and progress).
//!
//! Shared by the subcommands, and holding no subcommand's logic:
//! - `workload/`: the workload domain: a workload of any kind as served (`Object`) and normalised
//!   (`Workload`), fetching by kind, rollout and PDB arithmetic, owners, rollout progress;
//! - `source/`: reading `-f` inputs (files, stdin, encodings), documents, `List`s and file:line errors;
//! - `client/`: the connection, made as kubectl makes it, and API errors as [`error::Error`];
//! - `settings.rs` (global flags, validated), `target.rs` (`KIND/NAME`), `selector.rs` (`-l`),
//!   `podspec.rs` (facts about a container's entry point and preStop), `signal.rs`, `output.rs` (how
//!   anything prints), [`error`] and [`exit`] (one error type, the documented exit codes);
//! - [`cli`] (clap definitions, no work) and [`complete`] (shell completion).
//!
//! Public API (what another program may use; everything else is crate-private): [`run`] with [`cli`]
//! and [`exit`]; [`complete`]'s entry points; diagnose's rule engine over Kubernetes objects
//! ([`diagnose::check`], [`diagnose::Workload`], [`diagnose::Context`], [`diagnose::RULES`],
//! [`diagnose::input`] for manifests); explain's offline analysis ([`explain::analyse()`],
//! [`explain::offline`], [`explain::model`]).

// The module docs are the developers' map (`cargo doc --document-private-items`): they link private items.
#![allow(rustdoc::private_intra_doc_links)]

pub mod cli;
pub(crate) mod client;
pub mod complete;
pub mod diagnose;
pub mod error;
pub mod exit;
pub mod explain;
pub(crate) mod output;
pub(crate) mod podspec;
pub(crate) mod restart;
pub(crate) mod selector;
pub(crate) mod settings;
pub(crate) mod signal;
pub(crate) mod source;
pub(crate) mod target;
pub(crate) mod workload;

use cli::{Cli, Command, GlobalArgs};
use error::Error;
use exit::Exit;

/// Runs a parsed command line to completion and returns the exit code to report.
pub async fn run(cli: Cli) -> Exit {
    init_logging(&cli.global);
    let global = settings::Global::new(cli.global);
    // Caught from the start: a signal during connection set-up still ends with the documented exit code.
    let mut signals = match signal::Signals::new() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: cannot listen for SIGINT/SIGTERM: {e}");
            return Exit::Error;
        }
    };
    let result = match cli.command {
        // restart handles signals itself: it must say where each target stands and finish what must not
        // be left half done.
        Command::Restart(args) => match restart::Options::new(&args, &global) {
            Ok(opts) => restart::run(opts, &mut signals).await,
            Err(e) => Err(e),
        },
        Command::Explain(args) => match explain::Options::new(&args, &global) {
            Ok(opts) => interruptible(explain::run(opts), &mut signals).await,
            Err(e) => Err(e),
        },
        Command::Diagnose(args) => match diagnose::Options::new(&args, &global) {
            Ok(opts) => interruptible(diagnose::run(opts), &mut signals).await,
            Err(e) => Err(e),
        },
        Command::Completion(args) => Ok(complete::print_script(args.shell)),
    };
    match result {
        Ok(exit) => exit,
        Err(e) => {
            report(&e);
            e.exit()
        }
    }
}

/// Runs a read-only command until it ends or a signal arrives (nothing to finish: it writes nothing).
async fn interruptible(
    fut: impl std::future::Future<Output = error::Result<Exit>>,
    signals: &mut signal::Signals,
) -> error::Result<Exit> {
    tokio::select! {
        r = fut => r,
        s = signals.recv() => match s {
            signal::Signal::Int => Err(Error::Interrupted),
            signal::Signal::Term => {
                eprintln!("error: terminated (SIGTERM)");
                Ok(s.exit())
            }
        },
    }
}

/// Prints an error on stderr: `error: …`, continuation lines indented.
pub(crate) fn report(e: &Error) {
    let text = e.to_string();
    let mut lines = text.lines();
    if let Some(first) = lines.next() {
        eprintln!("error: {first}");
    }
    for l in lines {
        eprintln!("{l}");
    }
}

/// Logging on stderr, by kubectl's `-v` levels: 0 warnings, 1-3 info, 4-5 debug, 6-8 debug plus
/// kubectl's request log (see `client::log`), 9+ trace. `RUST_LOG` overrides the filter.
fn init_logging(g: &GlobalArgs) {
    use std::io::IsTerminal;
    use tracing_subscriber::EnvFilter;
    let level = g.verbose.unwrap_or(0);
    let default = match level {
        0 => "kubectl_graceful=warn",
        1..=3 => "warn,kubectl_graceful=info",
        4..=8 => "info,kubectl_graceful=debug,kube=debug",
        _ => "trace",
    };
    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|v| EnvFilter::try_new(v).ok())
        .unwrap_or_else(|| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal() && settings::color_allowed(g.no_color))
        .with_target(level >= 4)
        .try_init();
}
