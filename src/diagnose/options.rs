//! The command line of `diagnose`, and the only code of it that sees clap: [`DiagnoseArgs`] → validated
//! [`Options`]: what to do ([`Mode`]: list the rules, explain one, or check workloads), which workloads
//! (live targets, `-l`, `-A`, or `-f` inputs), which rules to leave out, the threshold of the exit code
//! and the output. No API calls and no reading of files here.

use std::path::PathBuf;

use super::model::KubeVersion;
use super::rules::{self, Rule, Severity};
use crate::cli::{DiagnoseArgs, DiagnoseOutput, FailOn};
use crate::error::{Error, Result};
use crate::selector::Selector;
use crate::settings::{Global, OutputSettings};
use crate::target::{Kind, Target};

/// The target kinds `diagnose` accepts live.
pub(crate) const KINDS: &[Kind] = &[
    Kind::Deployment,
    Kind::StatefulSet,
    Kind::DaemonSet,
    Kind::Pod,
    Kind::ReplicaSet,
    Kind::Job,
    Kind::CronJob,
];

/// What a `diagnose` run does.
#[derive(Debug)]
pub(crate) enum Mode {
    /// `diagnose rules`: list every rule.
    Rules,
    /// `diagnose --explain RULE`.
    Explain(&'static Rule),
    /// Check workloads.
    Check(Check),
}

/// Which workloads to check, and how.
#[derive(Debug, Clone)]
pub(crate) struct Check {
    pub targets: Vec<Target>,
    /// `-l`, parsed, and as typed (sent to the API server as it is).
    pub selector: Option<(Selector, String)>,
    pub all_namespaces: bool,
    /// `-f` inputs (files, directories, `-`); empty: live.
    pub filenames: Vec<PathBuf>,
    /// The version advice is for offline (`--kube-version`, else the default).
    pub kube_version: KubeVersion,
    /// `--kube-version` given live, where the server's version counts.
    pub kube_version_ignored: bool,
    /// `--ignore` rule ids.
    pub ignore: Vec<String>,
    /// The lowest severity that makes the exit code 1 (None: `--fail-on never`).
    pub fail_on: Option<Severity>,
    /// `-o sarif`.
    pub sarif: bool,
}

/// Validated options of one `diagnose` run.
#[derive(Debug)]
pub(crate) struct Options {
    pub mode: Mode,
    pub output: OutputSettings,
    /// The connection and `-n`.
    pub global: Global,
}

impl Options {
    pub(crate) fn new(args: &DiagnoseArgs, global: &Global) -> Result<Options> {
        let output = global.output(args.output.format());
        let with = |mode| {
            Ok(Options {
                mode,
                output,
                global: global.clone(),
            })
        };
        // `diagnose rules` and `--explain RULE` need nothing else.
        if args.targets.first().map(String::as_str) == Some("rules") {
            if args.targets.len() > 1 {
                return Err(Error::usage(
                    "`diagnose rules` takes no targets: use `diagnose --explain RULE` for one rule",
                ));
            }
            return with(Mode::Rules);
        }
        if let Some(id) = &args.explain {
            return with(Mode::Explain(rule_or_usage(id, "--explain")?));
        }
        let ignore: Vec<String> = args
            .ignore
            .iter()
            .flat_map(|s| s.split(','))
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
        for id in &ignore {
            rule_or_usage(id, "--ignore")?;
        }
        let targets = args
            .targets
            .iter()
            .map(|t| Target::parse(t, None, KINDS))
            .collect::<Result<Vec<_>>>()?;
        let selector = match &args.selector {
            Some(s) => Some((Selector::parse(s)?, s.clone())),
            None => None,
        };
        let offline = !args.filenames.is_empty();
        if !offline && selector.is_some() && !targets.is_empty() {
            return Err(Error::usage(
                "name cannot be provided when a selector is specified: use KIND/NAME targets or -l",
            ));
        }
        if args.all_namespaces && !targets.is_empty() {
            return Err(Error::usage(
                "-A cannot be combined with KIND/NAME targets: name the namespace with -n",
            ));
        }
        let kube_version = match (&args.kube_version, offline) {
            (Some(v), true) => KubeVersion::parse(v).ok_or_else(|| {
                Error::usage(format!(
                    "invalid --kube-version {v:?}: use MAJOR.MINOR, e.g. 1.30 or v1.33.2"
                ))
            })?,
            _ => KubeVersion::DEFAULT,
        };
        with(Mode::Check(Check {
            targets,
            selector,
            all_namespaces: args.all_namespaces,
            filenames: args.filenames.clone(),
            kube_version,
            kube_version_ignored: !offline && args.kube_version.is_some(),
            ignore,
            fail_on: match args.fail_on {
                FailOn::Info => Some(Severity::Info),
                FailOn::Warning => Some(Severity::Warning),
                FailOn::Error => Some(Severity::Error),
                FailOn::Never => None,
            },
            sarif: args.output == DiagnoseOutput::Sarif,
        }))
    }
}

/// The rule `id`, or a usage error that names the nearest ones.
fn rule_or_usage(id: &str, flag: &str) -> Result<&'static Rule> {
    rules::find_rule(id).ok_or_else(|| {
        let near = rules::near_rules(id);
        let hint = if near.is_empty() {
            "see `kubectl graceful diagnose rules`".to_string()
        } else {
            format!("did you mean {}?", near.join(", "))
        };
        Error::usage(format!("{flag}: unknown rule {id:?}: {hint}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(extra: &[&str]) -> Result<Options> {
        use clap::Parser;
        let mut v = vec!["kubectl-graceful", "diagnose"];
        v.extend_from_slice(extra);
        match crate::cli::Cli::try_parse_from(v).unwrap().command {
            crate::cli::Command::Diagnose(a) => Options::new(&a, &Global::default()),
            _ => unreachable!(),
        }
    }

    fn check(extra: &[&str]) -> Check {
        match options(extra).unwrap().mode {
            Mode::Check(c) => c,
            m => panic!("{m:?}"),
        }
    }

    #[test]
    fn modes_and_validation() {
        assert!(matches!(options(&["rules"]).unwrap().mode, Mode::Rules));
        assert!(matches!(
            options(&["--explain", "bare-pod"]).unwrap().mode,
            Mode::Explain(r) if r.id == "bare-pod"
        ));
        // A restart-only rule is a rule too.
        assert!(matches!(
            options(&["--explain", "gitops-managed"]).unwrap().mode,
            Mode::Explain(r) if r.restart_only()
        ));
        let c = check(&[
            "-f",
            "x.yaml",
            "--kube-version",
            "1.29",
            "--ignore",
            "pdb-missing,bare-pod",
        ]);
        assert_eq!(c.kube_version, KubeVersion::new(1, 29));
        assert_eq!(c.ignore, ["pdb-missing", "bare-pod"]);
        assert_eq!(c.fail_on, Some(Severity::Error));
        // Live, --kube-version is not parsed: a warning says it is ignored.
        let c = check(&["--kube-version", "junk"]);
        assert!(c.kube_version_ignored);
        assert_eq!(check(&["--fail-on", "never"]).fail_on, None);
        for (bad, needle) in [
            (vec!["rules", "deploy/x"], "takes no targets"),
            (
                vec!["--explain", "prestop-mising"],
                "did you mean prestop-missing",
            ),
            (vec!["--ignore", "nope"], "--ignore: unknown rule"),
            (vec!["deploy/a", "-l", "app=x"], "selector is specified"),
            (vec!["-A", "deploy/a"], "-A cannot be combined"),
            (
                vec!["-f", "x", "--kube-version", "one"],
                "invalid --kube-version",
            ),
            (vec!["web"], "needs a kind"),
        ] {
            let e = options(&bad).unwrap_err().to_string();
            assert!(e.contains(needle), "{bad:?}: {e}");
        }
    }
}
