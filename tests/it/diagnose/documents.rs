//! Shared by the corpus and fix round-trip tests: manifests as documents, diagnose over them, and fixes
//! applied the way a user applies them (a strategic-merge patch pasted into the object, new objects
//! added, objects deleted).

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use kubectl_graceful::diagnose::input::{self, InputError, Loaded};
use kubectl_graceful::diagnose::{
    check, Finding, FixTarget, KubeVersion, Origin, RelatedIndex, Workload,
};
use serde_yaml::{Mapping, Value};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The kinds diagnose reads (the documents a round trip needs; the rest is left out).
const USED: &[&str] = &[
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "ReplicationController",
    "Job",
    "CronJob",
    "Pod",
    "PodDisruptionBudget",
    "Service",
    "HorizontalPodAutoscaler",
];

/// One object as read: where, and its YAML.
#[derive(Debug, Clone)]
pub struct Doc {
    pub origin: Origin,
    pub value: Value,
}

impl Doc {
    pub fn kind(&self) -> &str {
        self.value.get("kind").and_then(Value::as_str).unwrap_or("")
    }
    pub fn name(&self) -> &str {
        self.value
            .get("metadata")
            .and_then(|m| m.get("name"))
            .and_then(Value::as_str)
            .unwrap_or("")
    }
    pub fn namespace(&self) -> &str {
        self.value
            .get("metadata")
            .and_then(|m| m.get("namespace"))
            .and_then(Value::as_str)
            .unwrap_or("default")
    }
}

/// The objects of the kinds diagnose reads in `files` (List items unpacked), in file order.
pub fn documents(files: &[(String, String)]) -> Vec<Doc> {
    let mut out = Vec::new();
    for (name, text) in files {
        for d in input::parse_documents(name, text).into_iter().flatten() {
            let (line, value) = d;
            let kind = value.get("kind").and_then(Value::as_str).unwrap_or("");
            if kind.ends_with("List") {
                if let Some(items) = value.get("items").and_then(Value::as_sequence) {
                    for (i, item) in items.iter().enumerate() {
                        out.push(Doc {
                            origin: Origin::file(name, line, Some(i)),
                            value: item.clone(),
                        });
                    }
                }
                continue;
            }
            if USED.contains(&kind) {
                out.push(Doc {
                    origin: Origin::file(name, line, None),
                    value,
                });
            }
        }
    }
    out
}

/// The files under a directory (recursive, sorted), with their text, named relative to the crate.
pub fn read_dir(dir: &Path) -> Vec<(String, String)> {
    let mut errors = vec![];
    let files = input::expand_paths(&[dir.to_path_buf()], &mut errors);
    assert!(errors.is_empty(), "{errors:?}");
    files
        .into_iter()
        .filter_map(|f| {
            let bytes = std::fs::read(&f).unwrap();
            let text = input::decode(&bytes).ok()?;
            let rel = f.strip_prefix(root()).unwrap_or(&f).display().to_string();
            Some((rel, text))
        })
        .collect()
}

/// The documents that load on their own (the unusable ones are the corpus test's business).
pub fn usable(docs: Vec<Doc>, version: KubeVersion) -> Vec<Doc> {
    docs.into_iter()
        .filter(|d| load(std::slice::from_ref(d), version).errors.is_empty())
        .collect()
}

pub fn load(docs: &[Doc], version: KubeVersion) -> Loaded {
    let mut loaded = Loaded::new("default", version);
    for d in docs {
        input::load_value(&d.origin, d.value.clone(), &mut loaded);
    }
    loaded
}

/// Every workload of the documents with its findings.
pub fn diagnose(
    docs: &[Doc],
    version: KubeVersion,
) -> (Vec<(Workload, Vec<Finding>)>, Vec<InputError>) {
    let loaded = load(docs, version);
    let idx = RelatedIndex::new(&loaded.related);
    let out = loaded
        .workloads
        .iter()
        .map(|w| (w.clone(), check(w, &idx.context(w, version))))
        .collect();
    (out, loaded.errors)
}

/// A strategic-merge patch as `kubectl patch --type strategic` applies it, for what fixes use: maps
/// merge, `null` deletes, lists of named maps (containers) merge by name and honour `$patch: delete`,
/// other lists are replaced.
pub fn merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Mapping(t), Value::Mapping(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else if let Some(tv) = t.get_mut(k) {
                    merge(tv, v);
                } else {
                    t.insert(k.clone(), v.clone());
                }
            }
        }
        (Value::Sequence(t), Value::Sequence(p))
            if !p.is_empty() && p.iter().all(|i| i.get("name").is_some()) =>
        {
            for item in p {
                let name = item.get("name");
                let delete = item.get("$patch").and_then(Value::as_str) == Some("delete");
                let at = t.iter().position(|x| x.get("name") == name);
                match (at, delete) {
                    (Some(i), true) => {
                        t.remove(i);
                    }
                    (None, true) => {}
                    (Some(i), false) => merge(&mut t[i], item),
                    (None, false) => t.push(item.clone()),
                }
            }
        }
        (t, p) => *t = p.clone(),
    }
}

fn same_object(d: &Doc, kind: &str, name: &str, ns: &str) -> bool {
    d.kind() == kind && d.name() == name && d.namespace() == ns
}

/// The documents after a finding's fix is applied to workload `w` (its object is the last document
/// with its kind, namespace and name: what `kubectl apply` leaves).
pub fn apply_fix(docs: &[Doc], w: &Workload, f: &Finding) -> Vec<Doc> {
    let mut out = docs.to_vec();
    let fix = f.fix.as_ref().expect("a fix");
    let own = out
        .iter()
        .rposition(|d| same_object(d, w.kind_name, d.name(), &w.namespace) && doc_name(d, w))
        .unwrap_or_else(|| panic!("no document for {}", w.display_name()));
    for part in &fix.parts {
        let patch: Value = serde_yaml::from_str(&part.yaml)
            .unwrap_or_else(|e| panic!("{}: fix is not YAML ({e}):\n{}", f.rule, part.yaml));
        match &part.target {
            FixTarget::Workload => merge(&mut out[own].value, &patch),
            FixTarget::Object { kind, name } => {
                let i = out
                    .iter()
                    .rposition(|d| same_object(d, kind, name, &w.namespace))
                    .unwrap_or_else(|| panic!("{}: no {kind} {name} to patch", f.rule));
                merge(&mut out[i].value, &patch);
            }
            FixTarget::New => out.push(Doc {
                origin: Origin::file("fix.yaml", 1, None),
                value: patch,
            }),
            FixTarget::Delete { kind, name } => {
                out.retain(|d| !same_object(d, kind, name, &w.namespace));
            }
            FixTarget::Replace => {
                // Earlier definitions of the replaced object were superseded: they go with it.
                let (kind, ns) = (w.kind_name, w.namespace.clone());
                out[own].value = patch;
                let mut i = 0;
                out.retain(|d| {
                    let at = i;
                    i += 1;
                    at >= own || !(d.kind() == kind && doc_name(d, w) && d.namespace() == ns)
                });
            }
        }
    }
    out
}

/// The kind a workload has after a fix (a replaced Pod becomes a Deployment or a Job).
pub fn kind_after(w: &Workload, f: &Finding) -> String {
    f.fix
        .iter()
        .flat_map(|x| &x.parts)
        .find(|p| p.target == FixTarget::Replace)
        .and_then(|p| serde_yaml::from_str::<Value>(&p.yaml).ok())
        .and_then(|v| v.get("kind").and_then(Value::as_str).map(str::to_string))
        .unwrap_or_else(|| w.kind_name.to_string())
}

/// The document's name matches the workload's (generateName objects carry `prefix*`).
fn doc_name(d: &Doc, w: &Workload) -> bool {
    if let Some(prefix) = w.name.strip_suffix('*') {
        d.value
            .get("metadata")
            .and_then(|m| m.get("generateName"))
            .and_then(Value::as_str)
            == Some(prefix)
    } else {
        d.name() == w.name
    }
}

/// What the API server would refuse in a patched pod spec: a probe or hook with other than one
/// handler, duplicate container names, a Deployment whose selector misses its template, a
/// podFailurePolicy without restartPolicy Never.
pub fn invalid(doc: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let kind = doc.get("kind").and_then(Value::as_str).unwrap_or("");
    let spec_path: &[&str] = match kind {
        "Pod" => &["spec"],
        "CronJob" => &["spec", "jobTemplate", "spec", "template", "spec"],
        _ => &["spec", "template", "spec"],
    };
    let mut pod = Some(doc);
    for k in spec_path {
        pod = pod.and_then(|v| v.get(*k));
    }
    let Some(pod) = pod else {
        return out;
    };
    let mut names = Vec::new();
    for list in ["initContainers", "containers"] {
        for c in pod
            .get(list)
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
        {
            let name = c
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_string();
            if names.contains(&name) {
                out.push(format!("container {name} twice"));
            }
            names.push(name.clone());
            for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
                if let Some(p) = c.get(probe) {
                    let n = ["exec", "httpGet", "tcpSocket", "grpc"]
                        .iter()
                        .filter(|h| p.get(**h).is_some())
                        .count();
                    if n != 1 {
                        out.push(format!("{name}.{probe} has {n} handlers"));
                    }
                }
            }
            for hook in ["preStop", "postStart"] {
                if let Some(h) = c.get("lifecycle").and_then(|l| l.get(hook)) {
                    let n = ["exec", "httpGet", "tcpSocket", "sleep"]
                        .iter()
                        .filter(|k| h.get(**k).is_some())
                        .count();
                    if n != 1 {
                        out.push(format!("{name}.lifecycle.{hook} has {n} handlers"));
                    }
                }
            }
        }
    }
    if kind == "Deployment" {
        let sel = doc
            .get("spec")
            .and_then(|s| s.get("selector"))
            .and_then(|s| s.get("matchLabels"))
            .and_then(Value::as_mapping);
        let labels = doc
            .get("spec")
            .and_then(|s| s.get("template"))
            .and_then(|t| t.get("metadata"))
            .and_then(|m| m.get("labels"))
            .and_then(Value::as_mapping);
        let empty = Mapping::new();
        for (k, v) in sel.unwrap_or(&empty) {
            if labels.and_then(|l| l.get(k)) != Some(v) {
                out.push(format!("selector {k:?} not in the template's labels"));
            }
        }
    }
    let job_spec = match kind {
        "Job" => doc.get("spec"),
        "CronJob" => doc
            .get("spec")
            .and_then(|s| s.get("jobTemplate"))
            .and_then(|j| j.get("spec")),
        _ => None,
    };
    if job_spec.and_then(|j| j.get("podFailurePolicy")).is_some()
        && pod.get("restartPolicy").and_then(Value::as_str) != Some("Never")
    {
        out.push("podFailurePolicy without restartPolicy Never".into());
    }
    out
}
