//! The Kubernetes version diagnose advises for. The workload model itself is
//! [`crate::workload::Workload`], shared with explain and restart.

use std::fmt;

use serde::Serialize;

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
