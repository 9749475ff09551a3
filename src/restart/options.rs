//! The command line of `restart`, and the only code of it that sees clap: [`RestartArgs`] → validated
//! [`Options`] (targets, selection, durations, zero-downtime settings, output, the flags a resume repeats).
//! No API calls here: resolving the targets is [`super::plan`].

use std::time::Duration;

use crate::cli::RestartArgs;
use crate::error::{Error, Result};
use crate::settings::{parse_duration, parse_duration_opt, Global, OutputSettings};
use crate::target::{Kind, Target};

/// Validated options.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    /// Named targets, each with its namespace when qualified (`NS/KIND/NAME`).
    pub targets: Vec<(Option<String>, Target)>,
    pub selector: Option<String>,
    pub all: bool,
    /// `-A`: `-l` / `--all` / `--pods -l` look in every namespace.
    pub all_namespaces: bool,
    pub pods: bool,
    pub parallel: usize,
    pub stable_for: Option<Duration>,
    pub timeout: Duration,
    pub dry_run: bool,
    pub force: bool,
    pub rollback: bool,
    /// `--no-endpoint-check`, `--endpoint-margin`, `--probe`.
    pub zero: super::zerodowntime::Settings,
    /// `-o`, colour.
    pub output: OutputSettings,
    /// The flags a command that resumes this run repeats (` --stable-for 30s --force` …).
    pub resume_flags: String,
    /// The connection and `-n`.
    pub global: Global,
}

/// The target kinds `restart` accepts.
pub(crate) const KINDS: &[Kind] = &[
    Kind::Deployment,
    Kind::StatefulSet,
    Kind::DaemonSet,
    Kind::Pod,
];

impl Options {
    pub(crate) fn new(a: &RestartArgs, global: &Global) -> Result<Options> {
        let targets = a
            .targets
            .iter()
            .map(|t| Target::parse_qualified(t, KINDS))
            .collect::<Result<Vec<_>>>()?;
        if let Some(s) = &a.selector {
            crate::selector::Selector::parse(s)?;
        }
        let sources = [!targets.is_empty(), a.selector.is_some(), a.all]
            .iter()
            .filter(|b| **b)
            .count();
        if sources == 0 {
            return Err(Error::usage(
                "nothing to restart: name targets (deploy/NAME sts/NAME ds/NAME pod/NAME), or use -l SELECTOR or --all",
            ));
        }
        if sources > 1 {
            return Err(Error::usage(
                "use either TARGETs, -l SELECTOR or --all, not several of them",
            ));
        }
        if a.all_namespaces && a.selector.is_none() && !a.all {
            return Err(Error::usage(
                "-A works with -l SELECTOR or --all; name targets of other namespaces as NAMESPACE/KIND/NAME (e.g. shop/deploy/web)",
            ));
        }
        if a.pods
            && a.selector.is_none()
            && (targets.is_empty() || targets.iter().any(|(_, t)| t.kind != Kind::Pod))
        {
            return Err(Error::usage(
                "--pods replaces pods selected with -l SELECTOR (or pod/NAME targets); with workload targets, drop --pods",
            ));
        }
        if a.parallel == 0 {
            return Err(Error::usage("--parallel must be at least 1"));
        }
        let timeout = parse_duration(&a.timeout, "--timeout")?;
        if timeout.is_zero() {
            return Err(Error::usage(
                "--timeout must be positive (e.g. 5m): a restart never waits forever",
            ));
        }
        let stable_for = match &a.stable_for {
            Some(s) => parse_duration_opt(s, "--stable-for")?,
            None => None,
        };
        const LONGEST: Duration = Duration::from_secs(7 * 24 * 3600);
        for (flag, d) in [("--timeout", Some(timeout)), ("--stable-for", stable_for)] {
            if d.is_some_and(|d| d > LONGEST) {
                return Err(Error::usage(format!("{flag} may be at most 7 days")));
            }
        }
        let margin = parse_duration(&a.endpoint_margin, "--endpoint-margin")?;
        if margin > Duration::from_secs(600) {
            return Err(Error::usage("--endpoint-margin may be at most 10m"));
        }
        let probe = a
            .probe
            .as_deref()
            .map(super::zerodowntime::probe::ProbeTarget::parse)
            .transpose()?;
        let mut seen = Vec::new();
        for t in &targets {
            if seen.contains(t) {
                let shown = match &t.0 {
                    Some(ns) => format!("{ns}/{}", t.1),
                    None => t.1.to_string(),
                };
                return Err(Error::usage(format!("{shown} is named twice")));
            }
            seen.push(t.clone());
        }
        Ok(Options {
            targets,
            selector: a.selector.clone(),
            all: a.all,
            all_namespaces: a.all_namespaces,
            pods: a.pods,
            parallel: a.parallel,
            stable_for,
            timeout,
            dry_run: a.dry_run,
            force: a.force,
            rollback: a.rollback_on_failure,
            zero: super::zerodowntime::Settings {
                enabled: !a.no_endpoint_check,
                margin,
                probe,
            },
            output: global.output(a.output.into()),
            resume_flags: resume_flags(a),
            global: global.clone(),
        })
    }
}

/// The flags of `a` a resumed run must repeat, as typed.
fn resume_flags(a: &RestartArgs) -> String {
    let mut out = String::new();
    if let Some(d) = &a.stable_for {
        out.push_str(&format!(" --stable-for {d}"));
    }
    if a.timeout != "5m" {
        out.push_str(&format!(" --timeout {}", a.timeout));
    }
    for (on, flag) in [
        (a.force, " --force"),
        (a.rollback_on_failure, " --rollback-on-failure"),
    ] {
        if on {
            out.push_str(flag);
        }
    }
    if a.parallel > 1 {
        out.push_str(&format!(" --parallel {}", a.parallel));
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// `restart EXTRA…` parsed as the command line would be.
    pub(crate) fn args(extra: &[&str]) -> RestartArgs {
        use clap::Parser;
        let mut v = vec!["kubectl-graceful", "restart"];
        v.extend_from_slice(extra);
        match crate::cli::Cli::try_parse_from(v).unwrap().command {
            crate::cli::Command::Restart(a) => a,
            _ => unreachable!(),
        }
    }

    #[test]
    fn option_validation() {
        let o = options(&args(&["deploy/a", "sts/b", "ds/c", "--stable-for", "30s"])).unwrap();
        assert_eq!(o.targets.len(), 3);
        assert_eq!(o.stable_for, Some(Duration::from_secs(30)));
        assert_eq!(o.timeout, Duration::from_secs(300));
        for (bad, needle) in [
            (vec![], "nothing to restart"),
            (vec!["deploy/a", "-l", "app=x"], "either"),
            (vec!["deploy/a", "--pods"], "--pods"),
            (vec!["--all", "--pods"], "--pods"),
            (vec!["deploy/a", "--parallel", "0"], "--parallel"),
            (vec!["-A", "deploy/a"], "NAMESPACE/KIND/NAME"),
            (
                vec!["shop/deploy/a", "shop/deploy/a"],
                "shop/deploy/a is named twice",
            ),
            (vec!["deploy/a", "--timeout", "0"], "--timeout"),
            (
                vec!["deploy/a", "--timeout", "100000000000h"],
                "at most 7 days",
            ),
            (vec!["deploy/a", "--stable-for", "30d"], "at most 7 days"),
            (vec!["deploy/a", "deploy/a"], "twice"),
            (vec!["job/a"], "not supported"),
        ] {
            let e = options(&args(&bad)).unwrap_err().to_string();
            assert!(e.contains(needle), "{bad:?}: {e}");
        }
    }

    /// Options of `restart EXTRA…`, without global flags.
    pub(crate) fn options(a: &RestartArgs) -> Result<Options> {
        Options::new(a, &Global::default())
    }

    /// Options with three flags a resume must repeat: `--stable-for 30s --timeout 10m --force`.
    pub(crate) fn with_flags_to_resume() -> Options {
        options(&args(&[
            "deploy/x",
            "--stable-for",
            "30s",
            "--timeout",
            "10m",
            "--force",
        ]))
        .unwrap()
    }

    #[test]
    fn a_resume_repeats_the_flags_that_matter() {
        let o = with_flags_to_resume();
        assert_eq!(o.resume_flags, " --stable-for 30s --timeout 10m --force");
        assert_eq!(options(&args(&["deploy/x"])).unwrap().resume_flags, "");
    }
}
