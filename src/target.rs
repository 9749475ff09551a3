//! Parsing `KIND/NAME` targets the way kubectl spells them (`deploy/web`, `deployment.apps/web`, …).
//! Pure: fetching a target is [`crate::workload::fetch`].

use std::fmt;

use serde::Serialize;

use crate::error::{Error, Result};

/// The workload kinds the commands understand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Kind {
    Pod,
    Deployment,
    StatefulSet,
    DaemonSet,
    ReplicaSet,
    Job,
    CronJob,
}

impl Kind {
    /// Accepts kubectl's names: singular, plural, short, and `.group` suffixed (case-insensitive).
    pub fn parse(s: &str) -> Option<Kind> {
        let lower = s.to_ascii_lowercase();
        let base = lower.split('.').next().unwrap_or("");
        Some(match base {
            "po" | "pod" | "pods" => Kind::Pod,
            "deploy" | "deployment" | "deployments" => Kind::Deployment,
            "sts" | "statefulset" | "statefulsets" => Kind::StatefulSet,
            "ds" | "daemonset" | "daemonsets" => Kind::DaemonSet,
            "rs" | "replicaset" | "replicasets" => Kind::ReplicaSet,
            "job" | "jobs" => Kind::Job,
            "cj" | "cronjob" | "cronjobs" => Kind::CronJob,
            _ => return None,
        })
    }

    /// The API kind (`Deployment`).
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Pod => "Pod",
            Kind::Deployment => "Deployment",
            Kind::StatefulSet => "StatefulSet",
            Kind::DaemonSet => "DaemonSet",
            Kind::ReplicaSet => "ReplicaSet",
            Kind::Job => "Job",
            Kind::CronJob => "CronJob",
        }
    }

    /// The short form users type (`deploy`).
    pub fn short(self) -> &'static str {
        match self {
            Kind::Pod => "pod",
            Kind::Deployment => "deploy",
            Kind::StatefulSet => "sts",
            Kind::DaemonSet => "ds",
            Kind::ReplicaSet => "rs",
            Kind::Job => "job",
            Kind::CronJob => "cronjob",
        }
    }

    /// Lower-case singular, for messages (`deployment web`).
    pub fn lower(self) -> &'static str {
        match self {
            Kind::Pod => "pod",
            Kind::Deployment => "deployment",
            Kind::StatefulSet => "statefulset",
            Kind::DaemonSet => "daemonset",
            Kind::ReplicaSet => "replicaset",
            Kind::Job => "job",
            Kind::CronJob => "cronjob",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One `KIND/NAME` a user named.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Target {
    pub kind: Kind,
    pub name: String,
}

impl Target {
    /// Parses `KIND/NAME`; a bare `NAME` takes `bare` (explain: Pod), or is an error when `bare` is None.
    /// `allowed` limits the kinds a command accepts.
    pub fn parse(s: &str, bare: Option<Kind>, allowed: &[Kind]) -> Result<Target> {
        let s = s.trim();
        let (kind, name) = match s.split_once('/') {
            Some((k, n)) => {
                let kind = Kind::parse(k).ok_or_else(|| {
                    Error::usage(format!(
                        "unknown kind {k:?} in {s:?}: use one of {}",
                        kinds_list(allowed)
                    ))
                })?;
                (kind, n)
            }
            None => match bare {
                Some(k) => (k, s),
                None => {
                    return Err(Error::usage(format!(
                        "target {s:?} needs a kind: write KIND/NAME, e.g. deploy/{s} (kinds: {})",
                        kinds_list(allowed)
                    )))
                }
            },
        };
        if !allowed.contains(&kind) {
            return Err(Error::usage(format!(
                "{} targets are not supported here: use one of {}",
                kind.lower(),
                kinds_list(allowed)
            )));
        }
        if !valid_name(name) {
            return Err(Error::usage(format!(
                "invalid name {name:?} in {s:?}: Kubernetes names are lowercase letters, digits, '-' and '.'"
            )));
        }
        Ok(Target {
            kind,
            name: name.to_string(),
        })
    }
}

impl Target {
    /// Parses `KIND/NAME` or `NAMESPACE/KIND/NAME` (a target in another namespace than `-n`'s).
    pub fn parse_qualified(s: &str, allowed: &[Kind]) -> Result<(Option<String>, Target)> {
        let s = s.trim();
        match s.splitn(3, '/').collect::<Vec<_>>()[..] {
            [ns, kind, name] => {
                if !valid_label(ns) {
                    return Err(Error::usage(format!(
                        "invalid namespace {ns:?} in {s:?}: write NAMESPACE/KIND/NAME, e.g. shop/deploy/web"
                    )));
                }
                Ok((
                    Some(ns.to_string()),
                    Target::parse(&format!("{kind}/{name}"), None, allowed)?,
                ))
            }
            _ => Ok((None, Target::parse(s, None, allowed)?)),
        }
    }
}

/// DNS labels (what namespaces are named): lowercase letters, digits and '-', at most 63.
pub fn valid_label(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.kind.short(), self.name)
    }
}

fn kinds_list(allowed: &[Kind]) -> String {
    allowed
        .iter()
        .map(|k| format!("{}/", k.short()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// DNS subdomain names (what pods and workloads are named).
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;
    const ALL: &[Kind] = &[
        Kind::Pod,
        Kind::Deployment,
        Kind::StatefulSet,
        Kind::DaemonSet,
    ];

    #[test]
    fn kubectl_spellings() {
        for s in [
            "deploy/web",
            "deployment/web",
            "deployments.apps/web",
            "Deployment/web",
        ] {
            let t = Target::parse(s, None, ALL).unwrap();
            assert_eq!((t.kind, t.name.as_str()), (Kind::Deployment, "web"), "{s}");
        }
        assert_eq!(
            Target::parse("web-1", Some(Kind::Pod), ALL).unwrap().kind,
            Kind::Pod
        );
        assert_eq!(
            Target::parse("sts/db", None, ALL).unwrap().to_string(),
            "sts/db"
        );
    }

    #[test]
    fn namespace_qualified_targets() {
        let (ns, t) = Target::parse_qualified("shop/deploy/web", ALL).unwrap();
        assert_eq!(
            (ns.as_deref(), t.to_string().as_str()),
            (Some("shop"), "deploy/web")
        );
        let (ns, t) = Target::parse_qualified("sts/db", ALL).unwrap();
        assert_eq!((ns, t.to_string().as_str()), (None, "sts/db"));
        let e = Target::parse_qualified("Shop/deploy/web", ALL)
            .unwrap_err()
            .to_string();
        assert!(e.contains("NAMESPACE/KIND/NAME"), "{e}");
        assert!(Target::parse_qualified("shop/svc/web", ALL).is_err());
        assert!(Target::parse_qualified("shop/deploy/a/b", ALL).is_err());
    }

    #[test]
    fn bad_targets_say_what_to_do() {
        let e = Target::parse("web", None, ALL).unwrap_err().to_string();
        assert!(e.contains("deploy/web"), "{e}");
        let e = Target::parse("svc/web", None, ALL).unwrap_err().to_string();
        assert!(e.contains("unknown kind"), "{e}");
        let e = Target::parse("job/x", None, ALL).unwrap_err().to_string();
        assert!(e.contains("not supported"), "{e}");
        assert!(Target::parse("deploy/Web_1", None, ALL).is_err());
        assert!(Target::parse("deploy/", None, ALL).is_err());
    }
}
