//! Fixes: YAML to paste, each part saying which object it changes. A part on the workload is a
//! strategic-merge patch of its object (paste it into the manifest, or `kubectl patch --type strategic`):
//! maps merge, `containers` merge by name, `null` removes a field, `$patch: delete` removes a container.
//! Tests apply every fix and run diagnose again (`tests/it/diagnose/fixes.rs`).

use serde::{Serialize, Serializer};

/// What one part of a fix applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FixTarget {
    /// A strategic-merge patch of the workload's own object.
    Workload,
    /// A strategic-merge patch of another object (`PodDisruptionBudget`, name).
    Object { kind: String, name: String },
    /// A new object to add (the YAML is the whole object).
    New,
    /// An object to delete (no YAML).
    Delete { kind: String, name: String },
    /// A whole object that replaces the workload's (a bare Pod becomes a Deployment).
    Replace,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixPart {
    pub target: FixTarget,
    /// YAML, with comments for people.
    pub yaml: String,
}

/// A fix: one or more parts, shown as one YAML text (parts separated by `---`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Fix {
    pub parts: Vec<FixPart>,
}

impl Fix {
    pub fn workload(yaml: impl Into<String>) -> Fix {
        Fix::default().and(FixTarget::Workload, yaml)
    }

    /// Adds a part.
    pub fn and(mut self, target: FixTarget, yaml: impl Into<String>) -> Fix {
        self.parts.push(FixPart {
            target,
            yaml: yaml.into(),
        });
        self
    }

    /// The text people read and paste.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for (i, p) in self.parts.iter().enumerate() {
            if i > 0 {
                out.push_str("---\n");
            }
            match &p.target {
                FixTarget::Workload => {}
                FixTarget::Object { kind, name } => {
                    out.push_str(&format!("# {kind} {name}\n"));
                }
                FixTarget::New => out.push_str("# a new object\n"),
                FixTarget::Delete { kind, name } => {
                    out.push_str(&format!(
                        "# delete {kind} {name} (kubectl delete {} {name})\n",
                        kind.to_ascii_lowercase()
                    ));
                }
                FixTarget::Replace => out.push_str("# instead of this object\n"),
            }
            out.push_str(&p.yaml);
            if !p.yaml.is_empty() && !p.yaml.ends_with('\n') {
                out.push('\n');
            }
        }
        out
    }
}

impl Serialize for Fix {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_names_each_part() {
        let f = Fix::workload("spec:\n  replicas: 2")
            .and(
                FixTarget::Object {
                    kind: "PodDisruptionBudget".into(),
                    name: "web".into(),
                },
                "spec:\n  maxUnavailable: 1\n",
            )
            .and(
                FixTarget::Delete {
                    kind: "PodDisruptionBudget".into(),
                    name: "old".into(),
                },
                "",
            );
        assert_eq!(
            f.text(),
            "spec:\n  replicas: 2\n---\n# PodDisruptionBudget web\nspec:\n  maxUnavailable: 1\n---\n# delete PodDisruptionBudget old (kubectl delete poddisruptionbudget old)\n"
        );
    }
}
