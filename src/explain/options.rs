//! The command line of `explain`, and the only code of it that sees clap: [`ExplainArgs`] → validated
//! [`Options`] (targets, selector, input file, what to gather per pod, output). No API calls here.

use std::path::PathBuf;

use super::gather::ExplainOptions;
use crate::cli::ExplainArgs;
use crate::error::{Error, Result};
use crate::selector::Selector;
use crate::settings::{Global, OutputSettings};
use crate::target::{Kind, Target};

/// The target kinds `explain` accepts (a bare name is a pod: [`Kind::Pod`] must stay first).
pub(crate) const KINDS: &[Kind] = &[
    Kind::Pod,
    Kind::Deployment,
    Kind::StatefulSet,
    Kind::DaemonSet,
    Kind::ReplicaSet,
    Kind::Job,
];

/// Validated options of one `explain` run.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    pub targets: Vec<Target>,
    /// `-l`, parsed, and as typed (sent to the API server as it is, and named in messages).
    pub selector: Option<(Selector, String)>,
    pub all_namespaces: bool,
    /// `-f`: explain what this file (or `-`: stdin) holds, offline.
    pub filename: Option<PathBuf>,
    /// `-c`, `--tail`, `--no-logs`.
    pub explain: ExplainOptions,
    pub output: OutputSettings,
    /// The connection and `-n`.
    pub global: Global,
}

impl Options {
    pub(crate) fn new(args: &ExplainArgs, global: &Global) -> Result<Options> {
        // kubectl's convention: --tail -1 means every line.
        let tail = match args.tail {
            -1 => None,
            n if n < 0 => {
                return Err(Error::usage(format!(
                    "--tail {n}: give a number of lines, or -1 for all of them"
                )))
            }
            n => Some(u32::try_from(n).unwrap_or(u32::MAX)),
        };
        let selector = match &args.selector {
            Some(s) => Some((Selector::parse(s)?, s.clone())),
            None => None,
        };
        let targets: Vec<Target> = args
            .targets
            .iter()
            .map(|t| Target::parse(t, Some(Kind::Pod), KINDS))
            .collect::<Result<_>>()?;
        if !targets.is_empty() && selector.is_some() {
            return Err(Error::usage("name targets or use -l/--selector, not both"));
        }
        if args.all_namespaces && !targets.is_empty() {
            return Err(Error::usage(
                "-A/--all-namespaces cannot be used with named targets: name the namespace with -n",
            ));
        }
        Ok(Options {
            targets,
            selector,
            all_namespaces: args.all_namespaces,
            filename: args.filename.clone(),
            explain: ExplainOptions {
                container: args.container.clone(),
                tail,
                logs: !args.no_logs,
            },
            output: global.output(args.output),
            global: global.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(extra: &[&str]) -> Result<Options> {
        use clap::Parser;
        let mut v = vec!["kubectl-graceful", "explain"];
        v.extend_from_slice(extra);
        match crate::cli::Cli::try_parse_from(v).unwrap().command {
            crate::cli::Command::Explain(a) => Options::new(&a, &Global::default()),
            _ => unreachable!(),
        }
    }

    #[test]
    fn validation() {
        let o = options(&["web-1", "deploy/api", "--tail", "-1", "--no-logs"]).unwrap();
        assert_eq!(o.targets.len(), 2);
        assert_eq!(o.explain.tail, None);
        assert!(!o.explain.logs);
        assert_eq!(options(&["--tail", "3"]).unwrap().explain.tail, Some(3));
        for (bad, needle) in [
            (vec!["--tail", "-2"], "--tail -2"),
            (vec!["web", "-l", "app=x"], "not both"),
            (vec!["-A", "web"], "-A/--all-namespaces"),
            (vec!["cronjob/x"], "not supported"),
            (vec!["-l", "a in (b"], ""),
        ] {
            let e = options(&bad).unwrap_err().to_string();
            assert!(e.contains(needle), "{bad:?}: {e}");
        }
    }
}
