//! Label selectors: the `-l` string syntax and `metav1.LabelSelector`, matched against labels.
//! Pure functions, used offline (manifests) and to relate PDBs/Services/HPAs to workloads.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Requirement {
    Eq(String, String),
    NotEq(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
}

/// A parsed selector; all requirements must hold. An empty selector matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Selector(pub Vec<Requirement>);

impl Selector {
    /// Parses kubectl's `-l` syntax: `a=b,c!=d,e in (f,g),h notin (i),j,!k`.
    pub(crate) fn parse(s: &str) -> Result<Selector> {
        let bad = |why: &str| Error::usage(format!("invalid label selector {s:?}: {why}"));
        let mut reqs = Vec::new();
        let mut rest = s.trim();
        while !rest.is_empty() {
            // Split off one requirement, keeping commas inside parentheses.
            let mut depth = 0;
            let mut end = rest.len();
            for (i, c) in rest.char_indices() {
                match c {
                    '(' => depth += 1,
                    ')' => depth -= 1,
                    ',' if depth == 0 => {
                        end = i;
                        break;
                    }
                    _ => {}
                }
            }
            let part = rest[..end].trim();
            rest = rest.get(end + 1..).unwrap_or("").trim();
            if part.is_empty() {
                return Err(bad("empty requirement"));
            }
            reqs.push(
                parse_requirement(part).ok_or_else(|| {
                    bad(&format!(
                        "cannot parse {part:?}; write key=value, key!=value, key in (a,b), key notin (a), key or !key, joined by commas"
                    ))
                })?,
            );
        }
        Ok(Selector(reqs))
    }

    /// From an API `LabelSelector`. Note: a *missing* selector selects nothing in most APIs; callers decide.
    pub(crate) fn from_label_selector(ls: &LabelSelector) -> Selector {
        let mut reqs = Vec::new();
        for (k, v) in ls.match_labels.iter().flatten() {
            reqs.push(Requirement::Eq(k.clone(), v.clone()));
        }
        for e in ls.match_expressions.iter().flatten() {
            let vals = e.values.clone().unwrap_or_default();
            reqs.push(match e.operator.as_str() {
                "In" => Requirement::In(e.key.clone(), vals),
                "NotIn" => Requirement::NotIn(e.key.clone(), vals),
                "Exists" => Requirement::Exists(e.key.clone()),
                // Unknown operators select nothing, like the API server would reject them.
                "DoesNotExist" => Requirement::NotExists(e.key.clone()),
                _ => Requirement::In(e.key.clone(), vec![]),
            });
        }
        Selector(reqs)
    }

    /// From a plain map (a Service's `spec.selector`).
    pub(crate) fn from_map(m: &BTreeMap<String, String>) -> Selector {
        Selector(
            m.iter()
                .map(|(k, v)| Requirement::Eq(k.clone(), v.clone()))
                .collect(),
        )
    }

    pub(crate) fn matches(&self, labels: Option<&BTreeMap<String, String>>) -> bool {
        let empty = BTreeMap::new();
        let labels = labels.unwrap_or(&empty);
        self.0.iter().all(|r| match r {
            Requirement::Eq(k, v) => labels.get(k) == Some(v),
            Requirement::NotEq(k, v) => labels.get(k) != Some(v),
            Requirement::In(k, vs) => labels.get(k).is_some_and(|l| vs.contains(l)),
            Requirement::NotIn(k, vs) => labels.get(k).is_none_or(|l| !vs.contains(l)),
            Requirement::Exists(k) => labels.contains_key(k),
            Requirement::NotExists(k) => !labels.contains_key(k),
        })
    }
}

/// A `LabelSelector` in the API's query syntax (`app=web,tier in (a,b),!canary`), by kube's own
/// conversion. An empty selector gives an empty string (which selects everything: callers decide).
pub(crate) fn to_query(ls: &LabelSelector) -> Result<String> {
    kube::core::Selector::try_from(ls.clone())
        .map(|s| s.to_string())
        .map_err(|e| Error::other("read a label selector", e))
}

fn parse_requirement(p: &str) -> Option<Requirement> {
    let key_ok = |k: &str| {
        !k.is_empty()
            && k.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c))
    };
    if let Some(k) = p.strip_prefix('!') {
        let k = k.trim();
        return key_ok(k).then(|| Requirement::NotExists(k.into()));
    }
    for (op, ctor) in [
        (
            "!=",
            Requirement::NotEq as fn(String, String) -> Requirement,
        ),
        ("==", Requirement::Eq),
        ("=", Requirement::Eq),
    ] {
        if let Some((k, v)) = p.split_once(op) {
            let (k, v) = (k.trim(), v.trim());
            return (key_ok(k) && !v.contains(['(', ')', ' '])).then(|| ctor(k.into(), v.into()));
        }
    }
    for (op, set) in [(" notin ", false), (" in ", true)] {
        if let Some((k, v)) = p.split_once(op) {
            let k = k.trim();
            let v = v.trim().strip_prefix('(')?.strip_suffix(')')?;
            let vals: Vec<String> = v.split(',').map(|s| s.trim().to_string()).collect();
            if !key_ok(k) {
                return None;
            }
            return Some(if set {
                Requirement::In(k.into(), vals)
            } else {
                Requirement::NotIn(k.into(), vals)
            });
        }
    }
    key_ok(p).then(|| Requirement::Exists(p.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn parse_and_match() {
        let l = labels(&[("app", "web"), ("tier", "front")]);
        for (sel, want) in [
            ("app=web", true),
            ("app==web,tier=front", true),
            ("app!=web", false),
            ("app in (web, api)", true),
            ("tier notin (front)", false),
            ("app", true),
            ("!app", false),
            ("!canary", true),
            ("", true),
        ] {
            assert_eq!(
                Selector::parse(sel).unwrap().matches(Some(&l)),
                want,
                "{sel}"
            );
        }
        assert!(Selector::parse("a=(b").is_err());
        assert!(Selector::parse("app in web").is_err());
        assert!(Selector::parse(",").is_err());
    }

    #[test]
    fn label_selectors_in_query_syntax() {
        let ls: LabelSelector = serde_yaml::from_str(
            "matchLabels: {app: web}\nmatchExpressions:\n- {key: tier, operator: In, values: [a, b]}\n- {key: canary, operator: DoesNotExist}\n",
        )
        .unwrap();
        let q = to_query(&ls).unwrap();
        // What we send, our own parser reads back the same.
        assert_eq!(
            Selector::parse(&q).unwrap(),
            Selector::from_label_selector(&ls),
            "{q}"
        );
        let bad: LabelSelector =
            serde_yaml::from_str("matchExpressions: [{key: a, operator: Sometimes}]").unwrap();
        assert!(to_query(&bad).is_err());
    }

    #[test]
    fn api_selector() {
        let ls: LabelSelector = serde_yaml::from_str(
            "matchLabels: {app: web}\nmatchExpressions: [{key: track, operator: NotIn, values: [canary]}]",
        )
        .unwrap();
        let s = Selector::from_label_selector(&ls);
        assert!(s.matches(Some(&labels(&[("app", "web")]))));
        assert!(!s.matches(Some(&labels(&[("app", "web"), ("track", "canary")]))));
        assert!(!s.matches(None));
    }
}
