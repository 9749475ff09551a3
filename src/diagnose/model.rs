//! Every type diagnose serialises: the [`DiagnoseReport`] of `-o json|yaml` (its workloads, summary
//! and input errors), the rule documents of `rules` and `--explain` ([`RuleList`], [`OneRule`]; a
//! rule's own fields are its registry entry, [`super::rules::Rule`]) and the Kubernetes version it
//! advises for. The workload model itself is [`crate::workload::Workload`], shared with explain and
//! restart; a finding is [`super::Finding`]. No text for people here (that is `render.rs`).

use std::fmt;

use serde::Serialize;

use super::input::InputError;
use super::rules::{Finding, Rule, Severity, RULES};

/// A Kubernetes `major.minor` version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct KubeVersion {
    pub major: u32,
    pub minor: u32,
}

impl KubeVersion {
    /// The version assumed offline without `--kube-version`.
    pub const DEFAULT: KubeVersion = KubeVersion {
        major: 1,
        minor: 33,
    };

    pub const fn new(major: u32, minor: u32) -> Self {
        KubeVersion { major, minor }
    }

    /// Parses `v1.33.2`, `1.29`, `v1.30.1-gke.100`, `1.28+`.
    pub fn parse(s: &str) -> Option<KubeVersion> {
        let s = s.trim().trim_start_matches(['v', 'V']);
        let mut parts = s.split('.');
        let major = digits(parts.next()?)?;
        let minor = digits(parts.next()?)?;
        Some(KubeVersion { major, minor })
    }

    pub fn at_least(self, major: u32, minor: u32) -> bool {
        self >= KubeVersion::new(major, minor)
    }
}

fn digits(s: &str) -> Option<u32> {
    let d: String = s.chars().take_while(|c| c.is_ascii_digit()).collect();
    d.parse().ok()
}

impl fmt::Display for KubeVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

pub(crate) const API_VERSION: &str = "graceful.kubectl.io/v1alpha1";

/// The machine-readable report (`-o json|yaml`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DiagnoseReport {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub kubernetes_version: String,
    pub workloads: Vec<WorkloadReport>,
    pub summary: Summary,
    pub errors: Vec<InputError>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct WorkloadReport {
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub source: String,
    pub findings: Vec<Finding>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub(crate) struct Summary {
    pub workloads: usize,
    pub errors: usize,
    pub warnings: usize,
    pub infos: usize,
}

impl Summary {
    pub(crate) fn of(workloads: &[WorkloadReport]) -> Summary {
        let mut s = Summary {
            workloads: workloads.len(),
            ..Default::default()
        };
        for f in workloads.iter().flat_map(|w| &w.findings) {
            match f.severity {
                Severity::Error => s.errors += 1,
                Severity::Warning => s.warnings += 1,
                Severity::Info => s.infos += 1,
            }
        }
        s
    }
}

/// `diagnose rules -o json|yaml`: the registry (the rules a plain run checks).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RuleList {
    api_version: &'static str,
    kind: &'static str,
    rules: &'static [Rule],
}

impl RuleList {
    pub(crate) fn all() -> RuleList {
        RuleList {
            api_version: API_VERSION,
            kind: "DiagnoseRuleList",
            rules: RULES,
        }
    }
}

/// `diagnose --explain RULE -o json|yaml`: one rule, restart-only ones included.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OneRule<'a> {
    api_version: &'static str,
    kind: &'static str,
    #[serde(flatten)]
    rule: &'a Rule,
}

impl OneRule<'_> {
    pub(crate) fn of(rule: &Rule) -> OneRule<'_> {
        OneRule {
            api_version: API_VERSION,
            kind: "DiagnoseRule",
            rule,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(KubeVersion::parse("v1.33.2"), Some(KubeVersion::new(1, 33)));
        assert_eq!(KubeVersion::parse("1.29"), Some(KubeVersion::new(1, 29)));
        assert_eq!(
            KubeVersion::parse("v1.30.1-gke.100"),
            Some(KubeVersion::new(1, 30))
        );
        assert_eq!(KubeVersion::parse("1.28+"), Some(KubeVersion::new(1, 28)));
        assert_eq!(KubeVersion::parse("latest"), None);
        assert!(KubeVersion::new(1, 30).at_least(1, 30));
        assert!(!KubeVersion::new(1, 29).at_least(1, 30));
    }
}
