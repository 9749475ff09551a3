//! Label and field selectors.

use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq)]
pub enum Req {
    Eq(String, String),
    Ne(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct LabelSelector(pub Vec<Req>);

fn split_top(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 0;
    let mut cur = String::new();
    for c in s.chars() {
        match c {
            '(' => {
                depth += 1;
                cur.push(c)
            }
            ')' => {
                depth -= 1;
                cur.push(c)
            }
            ',' if depth == 0 => {
                out.push(std::mem::take(&mut cur));
            }
            _ => cur.push(c),
        }
    }
    if !cur.trim().is_empty() {
        out.push(cur);
    }
    out
}

fn set_values(s: &str) -> Result<Vec<String>, String> {
    let s = s.trim();
    let inner = s
        .strip_prefix('(')
        .and_then(|x| x.strip_suffix(')'))
        .ok_or_else(|| format!("unable to parse requirement: found '{s}', expected: '('"))?;
    Ok(inner
        .split(',')
        .map(|x| x.trim().to_string())
        .filter(|x| !x.is_empty())
        .collect())
}

impl LabelSelector {
    pub fn parse(s: &str) -> Result<LabelSelector, String> {
        let mut reqs = Vec::new();
        for part in split_top(s) {
            let p = part.trim();
            if p.is_empty() {
                continue;
            }
            if let Some(k) = p.strip_prefix('!') {
                reqs.push(Req::NotExists(k.trim().to_string()));
            } else if let Some((k, v)) = p.split_once("!=") {
                reqs.push(Req::Ne(k.trim().into(), v.trim().into()));
            } else if let Some((k, v)) = p.split_once("==") {
                reqs.push(Req::Eq(k.trim().into(), v.trim().into()));
            } else if let Some((k, v)) = p.split_once('=') {
                reqs.push(Req::Eq(k.trim().into(), v.trim().into()));
            } else if let Some(idx) = p.find(" notin ") {
                reqs.push(Req::NotIn(
                    p[..idx].trim().into(),
                    set_values(&p[idx + 7..])?,
                ));
            } else if let Some(idx) = p.find(" in ") {
                reqs.push(Req::In(p[..idx].trim().into(), set_values(&p[idx + 4..])?));
            } else if p.contains(' ') || p.contains('(') {
                return Err(format!("unable to parse requirement: {p}"));
            } else {
                reqs.push(Req::Exists(p.to_string()));
            }
        }
        Ok(LabelSelector(reqs))
    }

    /// From a `metav1.LabelSelector` JSON object. `None`/null selects nothing for workloads, but
    /// here an empty selector matches everything.
    pub fn from_json(v: &Value) -> LabelSelector {
        let mut reqs = Vec::new();
        if let Some(m) = v.get("matchLabels").and_then(|m| m.as_object()) {
            for (k, x) in m {
                reqs.push(Req::Eq(k.clone(), x.as_str().unwrap_or("").to_string()));
            }
        }
        if let Some(a) = v.get("matchExpressions").and_then(|m| m.as_array()) {
            for e in a {
                let k = e["key"].as_str().unwrap_or("").to_string();
                let vals: Vec<String> = e["values"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|x| x.as_str().map(String::from))
                            .collect()
                    })
                    .unwrap_or_default();
                match e["operator"].as_str().unwrap_or("") {
                    "In" => reqs.push(Req::In(k, vals)),
                    "NotIn" => reqs.push(Req::NotIn(k, vals)),
                    "Exists" => reqs.push(Req::Exists(k)),
                    "DoesNotExist" => reqs.push(Req::NotExists(k)),
                    _ => {}
                }
            }
        }
        LabelSelector(reqs)
    }

    pub fn matches(&self, labels: &Map<String, Value>) -> bool {
        let get = |k: &str| labels.get(k).and_then(|v| v.as_str());
        self.0.iter().all(|r| match r {
            Req::Eq(k, v) => get(k) == Some(v.as_str()),
            Req::Ne(k, v) => get(k) != Some(v.as_str()),
            Req::In(k, vs) => get(k).is_some_and(|x| vs.iter().any(|v| v == x)),
            Req::NotIn(k, vs) => get(k).is_none_or(|x| !vs.iter().any(|v| v == x)),
            Req::Exists(k) => get(k).is_some(),
            Req::NotExists(k) => get(k).is_none(),
        })
    }

    pub fn matches_obj(&self, obj: &Value) -> bool {
        if self.0.is_empty() {
            return true;
        }
        let l = obj
            .pointer("/metadata/labels")
            .and_then(|l| l.as_object())
            .cloned()
            .unwrap_or_default();
        self.matches(&l)
    }

    pub fn to_query(&self) -> String {
        self.0
            .iter()
            .map(|r| match r {
                Req::Eq(k, v) => format!("{k}={v}"),
                Req::Ne(k, v) => format!("{k}!={v}"),
                Req::In(k, vs) => format!("{k} in ({})", vs.join(",")),
                Req::NotIn(k, vs) => format!("{k} notin ({})", vs.join(",")),
                Req::Exists(k) => k.clone(),
                Req::NotExists(k) => format!("!{k}"),
            })
            .collect::<Vec<_>>()
            .join(",")
    }
}

#[derive(Debug, Clone, Default)]
pub struct FieldSelector(pub Vec<(String, bool, String)>);

impl FieldSelector {
    pub fn parse(s: &str) -> Result<FieldSelector, String> {
        let mut out = Vec::new();
        for p in s.split(',') {
            let p = p.trim();
            if p.is_empty() {
                continue;
            }
            if let Some((k, v)) = p.split_once("!=") {
                out.push((k.trim().to_string(), false, v.trim().to_string()));
            } else if let Some((k, v)) = p.split_once("==") {
                out.push((k.trim().to_string(), true, v.trim().to_string()));
            } else if let Some((k, v)) = p.split_once('=') {
                out.push((k.trim().to_string(), true, v.trim().to_string()));
            } else {
                return Err(format!("invalid selector: '{s}'; can't understand '{p}'"));
            }
        }
        Ok(FieldSelector(out))
    }

    /// Validate field names for a resource, like the real server (400 on unknown fields).
    pub fn validate(&self, kind: &str) -> Result<(), String> {
        for (k, _, _) in &self.0 {
            let ok = match k.as_str() {
                "metadata.name" | "metadata.namespace" => true,
                _ => match kind {
                    "Pod" => matches!(
                        k.as_str(),
                        "spec.nodeName"
                            | "status.phase"
                            | "spec.restartPolicy"
                            | "spec.schedulerName"
                            | "spec.serviceAccountName"
                            | "status.podIP"
                            | "status.nominatedNodeName"
                            | "spec.hostNetwork"
                    ),
                    "Event" => {
                        k.starts_with("involvedObject.")
                            || k.starts_with("regarding.")
                            || matches!(
                                k.as_str(),
                                "reason"
                                    | "type"
                                    | "source"
                                    | "reportingComponent"
                                    | "reportingController"
                            )
                    }
                    "Node" => k == "spec.unschedulable",
                    "Namespace" => k == "status.phase",
                    "ReplicaSet" => k == "status.replicas",
                    "Secret" => k == "type",
                    _ => false,
                },
            };
            if !ok {
                return Err(format!("field label not supported: {k}"));
            }
        }
        Ok(())
    }

    pub fn matches(&self, obj: &Value) -> bool {
        self.0.iter().all(|(k, eq, v)| {
            let path = match k.as_str() {
                "source" => "/source/component".to_string(),
                "reportingController" => "/reportingComponent".to_string(),
                _ => {
                    let k = k
                        .strip_prefix("regarding.")
                        .map(|r| format!("involvedObject.{r}"))
                        .unwrap_or(k.clone());
                    format!("/{}", k.replace('.', "/"))
                }
            };
            let actual = match obj.pointer(&path) {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Bool(b)) => b.to_string(),
                Some(Value::Number(n)) => n.to_string(),
                _ => {
                    if k == "spec.unschedulable" || k == "spec.hostNetwork" {
                        "false".into()
                    } else {
                        String::new()
                    }
                }
            };
            (actual == *v) == *eq
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    #[test]
    fn label_selectors() {
        let l = json!({"app": "web", "tier": "fe"});
        let l = l.as_object().unwrap();
        let t = |s: &str| LabelSelector::parse(s).unwrap().matches(l);
        assert!(t("app=web"));
        assert!(t("app==web,tier=fe"));
        assert!(!t("app!=web"));
        assert!(t("app in (web,api)"));
        assert!(!t("app notin (web,api)"));
        assert!(t("tier"));
        assert!(!t("!tier"));
        assert!(t("!missing"));
        assert!(t("missing notin (x)"));
        assert!(!t("missing in (x)"));
        assert!(t(""));
        let sel = LabelSelector::from_json(
            &json!({"matchLabels": {"app": "web"}, "matchExpressions": [{"key": "tier", "operator": "In", "values": ["fe"]}]}),
        );
        assert!(sel.matches(l));
    }
    #[test]
    fn field_selectors() {
        let ev = json!({"involvedObject": {"kind": "Pod", "name": "p"}, "metadata": {"name": "e", "namespace": "x"}});
        assert!(
            FieldSelector::parse("involvedObject.name=p,involvedObject.kind=Pod")
                .unwrap()
                .matches(&ev)
        );
        assert!(FieldSelector::parse("regarding.name=p")
            .unwrap()
            .matches(&ev));
        assert!(!FieldSelector::parse("metadata.namespace!=x")
            .unwrap()
            .matches(&ev));
        assert!(FieldSelector::parse("spec.foo=bar")
            .unwrap()
            .validate("Pod")
            .is_err());
    }
}
