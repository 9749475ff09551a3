//! Offline input: manifest files, directories (recursive, sorted) and stdin; multi-document YAML,
//! JSON, `List`s (`kubectl get -o yaml`, `helm template`, `kustomize build`). Bad documents become
//! [`InputError`]s naming the file and line; the good documents of the same file are still used.

use std::path::{Path, PathBuf};

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{Pod, Service};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use serde::Serialize;

use super::model::{Related, Workload};

/// A document that could not be used.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct InputError {
    /// `file:line[:column]`.
    pub source: String,
    pub message: String,
}

/// Everything read from the inputs.
#[derive(Debug, Default)]
pub struct Loaded {
    pub workloads: Vec<Workload>,
    pub related: Related,
    pub errors: Vec<InputError>,
    /// Objects of kinds diagnose does not look at (ConfigMaps, Ingresses, custom resources …).
    pub skipped: usize,
    /// Files read.
    pub files: usize,
}

impl Loaded {
    /// Empty, with known-empty related lists: offline, what the files do not contain does not exist.
    pub fn new() -> Loaded {
        Loaded {
            related: Related {
                pdbs: Some(vec![]),
                hpas: Some(vec![]),
                services: Some(vec![]),
            },
            ..Default::default()
        }
    }
}

/// Built-in API groups: an unknown kind there is a typo, not a custom resource.
const BUILTIN_GROUPS: &[&str] = &[
    "",
    "apps",
    "batch",
    "policy",
    "autoscaling",
    "extensions",
    "networking.k8s.io",
    "rbac.authorization.k8s.io",
    "storage.k8s.io",
    "scheduling.k8s.io",
    "coordination.k8s.io",
    "discovery.k8s.io",
    "node.k8s.io",
    "admissionregistration.k8s.io",
    "apiextensions.k8s.io",
    "certificates.k8s.io",
    "events.k8s.io",
    "flowcontrol.apiserver.k8s.io",
    "resource.k8s.io",
    "storagemigration.k8s.io",
    "apiregistration.k8s.io",
    "authentication.k8s.io",
    "authorization.k8s.io",
];

/// Built-in kinds diagnose skips without comment.
const OTHER_BUILTIN_KINDS: &[&str] = &[
    "ConfigMap",
    "Secret",
    "Namespace",
    "ServiceAccount",
    "PersistentVolumeClaim",
    "PersistentVolume",
    "Endpoints",
    "EndpointSlice",
    "Event",
    "LimitRange",
    "ResourceQuota",
    "Node",
    "PodTemplate",
    "ReplicationController",
    "Binding",
    "ComponentStatus",
    "ControllerRevision",
    "Ingress",
    "IngressClass",
    "NetworkPolicy",
    "ServiceCIDR",
    "IPAddress",
    "Role",
    "RoleBinding",
    "ClusterRole",
    "ClusterRoleBinding",
    "StorageClass",
    "VolumeAttachment",
    "CSIDriver",
    "CSINode",
    "CSIStorageCapacity",
    "VolumeAttributesClass",
    "PriorityClass",
    "Lease",
    "RuntimeClass",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
    "MutatingAdmissionPolicy",
    "MutatingAdmissionPolicyBinding",
    "CustomResourceDefinition",
    "CertificateSigningRequest",
    "ClusterTrustBundle",
    "FlowSchema",
    "PriorityLevelConfiguration",
    "ResourceClaim",
    "ResourceClaimTemplate",
    "DeviceClass",
    "ResourceSlice",
    "APIService",
    "TokenReview",
    "SubjectAccessReview",
    "SelfSubjectAccessReview",
    "SelfSubjectReview",
    "LocalSubjectAccessReview",
    "SelfSubjectRulesReview",
    "StorageVersionMigration",
];

const USED_KINDS: &[&str] = &[
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "Job",
    "CronJob",
    "Pod",
    "PodDisruptionBudget",
    "Service",
    "HorizontalPodAutoscaler",
];

/// The files a list of paths names: directories recursively (`.yaml`, `.yml`, `.json`), sorted;
/// `-` is stdin. Paths that do not exist become errors.
pub fn expand_paths(paths: &[PathBuf], errors: &mut Vec<InputError>) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for p in paths {
        if p.as_os_str() == "-" {
            out.push(p.clone());
        } else if p.is_dir() {
            let mut found = Vec::new();
            walk(p, &mut found, errors);
            found.sort();
            out.extend(found);
        } else if p.exists() {
            out.push(p.clone());
        } else {
            errors.push(InputError {
                source: p.display().to_string(),
                message: "no such file or directory".into(),
            });
        }
    }
    out
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>, errors: &mut Vec<InputError>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            errors.push(InputError {
                source: dir.display().to_string(),
                message: format!("cannot read directory: {e}"),
            });
            return;
        }
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            walk(&path, out, errors);
        } else if path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "yaml" | "yml" | "json"))
        {
            out.push(path);
        }
    }
}

/// Reads every path (files, directories, `-` for stdin) into workloads and related objects.
/// `default_namespace` is given to objects without one.
pub fn load_paths(paths: &[PathBuf], default_namespace: &str) -> Loaded {
    let mut loaded = Loaded::new();
    let files = expand_paths(paths, &mut loaded.errors);
    for f in files {
        let (name, text) = if f.as_os_str() == "-" {
            let mut s = String::new();
            match std::io::Read::read_to_string(&mut std::io::stdin(), &mut s) {
                Ok(_) => ("<stdin>".to_string(), s),
                Err(e) => {
                    loaded.errors.push(InputError {
                        source: "<stdin>".into(),
                        message: format!("cannot read: {e}"),
                    });
                    continue;
                }
            }
        } else {
            let name = f.display().to_string();
            match std::fs::read(&f) {
                Ok(bytes) => match String::from_utf8(bytes) {
                    Ok(s) => (name, s),
                    Err(_) => {
                        loaded.errors.push(InputError {
                            source: name,
                            message: "not a text file (invalid UTF-8)".into(),
                        });
                        continue;
                    }
                },
                Err(e) => {
                    loaded.errors.push(InputError {
                        source: name,
                        message: format!("cannot read: {e}"),
                    });
                    continue;
                }
            }
        };
        loaded.files += 1;
        load_text(&name, &text, default_namespace, &mut loaded);
    }
    loaded
}

/// One document of a YAML stream: its text and the line (1-based) it starts on.
fn split_documents(text: &str) -> Vec<(usize, String)> {
    let mut docs = Vec::new();
    let mut cur = String::new();
    let mut start = 1;
    for (i, line) in text.lines().enumerate() {
        let t = line.trim_end();
        let is_sep = t == "---" || t.starts_with("--- ") || t == "...";
        if is_sep {
            docs.push((start, std::mem::take(&mut cur)));
            start = i + 2;
            // `--- {…}`: content on the separator line.
            if let Some(rest) = t.strip_prefix("--- ") {
                cur.push_str(rest);
                cur.push('\n');
                start = i + 1;
            }
            continue;
        }
        cur.push_str(line);
        cur.push('\n');
    }
    docs.push((start, cur));
    docs
}

/// The first line of a document that holds content (skipping blank lines and comments).
fn content_line(start: usize, doc: &str) -> usize {
    doc.lines()
        .position(|l| {
            let t = l.trim();
            !t.is_empty() && !t.starts_with('#')
        })
        .map_or(start, |p| start + p)
}

/// Parses one file's text. Public for tests.
pub fn load_text(name: &str, text: &str, default_namespace: &str, loaded: &mut Loaded) {
    for (start, doc) in split_documents(text) {
        let value: serde_yaml::Value = match serde_yaml::from_str(&doc) {
            Ok(v) => v,
            Err(e) => {
                let (line, col) = e
                    .location()
                    .map_or((start, 1), |l| (start + l.line() - 1, l.column()));
                let msg = e.to_string();
                let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
                loaded.errors.push(InputError {
                    source: format!("{name}:{line}:{col}"),
                    message: format!("not valid YAML: {msg}"),
                });
                continue;
            }
        };
        if value.is_null() {
            continue;
        }
        let at = format!("{name}:{}", content_line(start, &doc));
        load_value(&at, value, default_namespace, loaded);
    }
}

fn load_value(at: &str, value: serde_yaml::Value, default_ns: &str, loaded: &mut Loaded) {
    let err = |loaded: &mut Loaded, message: String| {
        loaded.errors.push(InputError {
            source: at.to_string(),
            message,
        })
    };
    let Some(map) = value.as_mapping() else {
        return err(
            loaded,
            "not a Kubernetes object: expected a mapping with apiVersion and kind".into(),
        );
    };
    let get = |k: &str| map.get(k).and_then(|v| v.as_str()).map(str::to_string);
    let (Some(api_version), Some(kind)) = (get("apiVersion"), get("kind")) else {
        return err(
            loaded,
            "not a Kubernetes object: apiVersion and kind are required".into(),
        );
    };
    // Lists: `kind: List` or `DeploymentList` … with items.
    if kind.ends_with("List") {
        if let Some(items) = map.get("items").and_then(|v| v.as_sequence()) {
            for (i, item) in items.iter().enumerate() {
                load_value(
                    &format!("{at} (item {i})"),
                    item.clone(),
                    default_ns,
                    loaded,
                );
            }
            return;
        }
    }
    let group = api_version
        .rsplit_once('/')
        .map_or("", |(g, _)| g)
        .to_string();
    if !USED_KINDS.contains(&kind.as_str()) {
        if BUILTIN_GROUPS.contains(&group.as_str()) && !OTHER_BUILTIN_KINDS.contains(&kind.as_str())
        {
            let near = USED_KINDS
                .iter()
                .chain(OTHER_BUILTIN_KINDS)
                .find(|k| k.eq_ignore_ascii_case(&kind) || similar(k, &kind));
            let hint = near
                .map(|k| format!(" (did you mean {k}?)"))
                .unwrap_or_default();
            return err(
                loaded,
                format!("unknown kind {kind:?} in {api_version}{hint}"),
            );
        }
        tracing::debug!("{at}: skipping {api_version} {kind}");
        loaded.skipped += 1;
        return;
    }
    // The API version diagnose reads each kind as; older served versions are read the same way,
    // removed ones are an error that says so.
    let current = match kind.as_str() {
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" => "apps/v1",
        "Job" | "CronJob" => "batch/v1",
        "PodDisruptionBudget" => "policy/v1",
        "HorizontalPodAutoscaler" => "autoscaling/v2",
        _ => "v1",
    };
    if api_version != current {
        let removed = match (api_version.as_str(), kind.as_str()) {
            ("autoscaling/v1", _) => None,
            ("extensions/v1beta1" | "apps/v1beta1" | "apps/v1beta2", _) => Some("1.16"),
            ("policy/v1beta1" | "batch/v1beta1" | "autoscaling/v2beta1", _) => Some("1.25"),
            ("autoscaling/v2beta2", _) => Some("1.26"),
            _ => Some("?"),
        };
        match removed {
            None => {}
            Some("?") => {
                return err(
                    loaded,
                    format!("{kind} in {api_version}: unknown API version (expected {current})"),
                )
            }
            Some(v) => {
                return err(
                    loaded,
                    format!(
                        "{kind} in {api_version} was removed in Kubernetes {v}: use apiVersion {current}"
                    ),
                )
            }
        }
    }
    let mut json = match serde_json::to_value(&value) {
        Ok(j) => j,
        Err(e) => return err(loaded, format!("cannot read {kind}: {e}")),
    };
    if let Some(obj) = json.as_object_mut() {
        obj.insert("apiVersion".into(), current.into());
    }
    macro_rules! typed {
        ($t:ty) => {
            match serde_json::from_value::<$t>(json) {
                Ok(o) => o,
                Err(e) => return err(loaded, format!("invalid {kind}: {e}")),
            }
        };
    }
    let workload = match kind.as_str() {
        "Deployment" => Workload::from_deployment(&typed!(Deployment)),
        "StatefulSet" => Workload::from_statefulset(&typed!(StatefulSet)),
        "DaemonSet" => Workload::from_daemonset(&typed!(DaemonSet)),
        "ReplicaSet" => Workload::from_replicaset(&typed!(ReplicaSet)),
        "Job" => Workload::from_job(&typed!(Job)),
        "CronJob" => Workload::from_cronjob(&typed!(CronJob)),
        "Pod" => Workload::from_pod(&typed!(Pod)),
        "PodDisruptionBudget" => {
            let mut p = typed!(PodDisruptionBudget);
            p.metadata
                .namespace
                .get_or_insert_with(|| default_ns.to_string());
            loaded.related.pdbs.get_or_insert_with(Vec::new).push(p);
            return;
        }
        "Service" => {
            let mut s = typed!(Service);
            s.metadata
                .namespace
                .get_or_insert_with(|| default_ns.to_string());
            loaded.related.services.get_or_insert_with(Vec::new).push(s);
            return;
        }
        "HorizontalPodAutoscaler" => {
            let mut h = typed!(HorizontalPodAutoscaler);
            h.metadata
                .namespace
                .get_or_insert_with(|| default_ns.to_string());
            loaded.related.hpas.get_or_insert_with(Vec::new).push(h);
            return;
        }
        _ => return,
    };
    if workload.name.is_empty() {
        return err(loaded, format!("{kind} has no metadata.name"));
    }
    let mut workload = workload.from_file(at, default_ns);
    // `kubectl get -o yaml` output: the object was served by a cluster, with every default filled in
    // (replicas, 25%/25%), so judge it as a live object.
    workload.live = map
        .get("metadata")
        .and_then(|m| m.get("uid"))
        .is_some_and(|u| !u.is_null());
    loaded.workloads.push(workload);
}

/// One edit apart, or the same letters in another case: a likely typo.
fn similar(a: &str, b: &str) -> bool {
    let (a, b) = (a.to_ascii_lowercase(), b.to_ascii_lowercase());
    if a.len().abs_diff(b.len()) > 2 {
        return false;
    }
    let mut sa: Vec<char> = a.chars().collect();
    let mut sb: Vec<char> = b.chars().collect();
    sa.sort_unstable();
    sb.sort_unstable();
    if sa == sb {
        return true; // transposed letters
    }
    let common = a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count();
    let common_end = a
        .chars()
        .rev()
        .zip(b.chars().rev())
        .take_while(|(x, y)| x == y)
        .count();
    common + common_end + 2 >= a.len().max(b.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Loaded {
        let mut l = Loaded::default();
        load_text("f.yaml", text, "default", &mut l);
        l
    }

    #[test]
    fn multi_document_with_positions() {
        let l = load(
            "# Source: chart/templates/a.yaml\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\nspec: {template: {spec: {containers: [{name: c}]}}}\n---\n\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {selector: {app: a}}\n",
        );
        assert_eq!(l.errors, vec![]);
        assert_eq!(l.workloads.len(), 1);
        assert_eq!(l.workloads[0].source, "f.yaml:2");
        assert_eq!(l.workloads[0].namespace, "default");
        assert_eq!(l.skipped, 1);
        assert_eq!(l.related.services.as_ref().map(Vec::len), Some(1));
    }

    #[test]
    fn bad_documents_name_file_and_line_and_others_survive() {
        let l = load(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\n---\nkey: [unclosed\n---\n- just\n- a list\n---\nfoo: bar\n---\napiVersion: apps/v1\nkind: Deploymnet\nmetadata: {name: b}\n---\napiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n",
        );
        assert_eq!(l.workloads.len(), 1, "{:?}", l.errors);
        let srcs: Vec<&str> = l.errors.iter().map(|e| e.source.as_str()).collect();
        assert_eq!(srcs.len(), 4, "{:?}", l.errors);
        assert!(
            srcs[0].starts_with("f.yaml:5:") || srcs[0].starts_with("f.yaml:6:"),
            "{srcs:?}"
        );
        assert!(
            l.errors[0].message.starts_with("not valid YAML"),
            "{:?}",
            l.errors[0]
        );
        assert_eq!(srcs[1], "f.yaml:7");
        assert!(l.errors[1].message.contains("not a Kubernetes object"));
        assert_eq!(srcs[2], "f.yaml:10");
        assert!(l.errors[2].message.contains("apiVersion and kind"));
        assert_eq!(srcs[3], "f.yaml:12");
        assert!(
            l.errors[3].message.contains("did you mean Deployment"),
            "{:?}",
            l.errors[3]
        );
        assert_eq!(l.skipped, 1);
    }

    #[test]
    fn lists_and_json() {
        let l = load(
            r#"{"apiVersion": "v1", "kind": "List", "items": [
                {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db", "namespace": "data"}, "spec": {"serviceName": "db", "selector": {}, "template": {}}},
                {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "p"}, "spec": {}}
            ]}"#,
        );
        assert_eq!(l.errors, vec![]);
        assert_eq!(l.workloads[0].namespace, "data");
        assert_eq!(l.workloads[0].source, "f.yaml:1 (item 0)");
        assert_eq!(l.related.pdbs.as_ref().map(Vec::len), Some(1));
    }

    #[test]
    fn api_versions() {
        let l = load("apiVersion: autoscaling/v1\nkind: HorizontalPodAutoscaler\nmetadata: {name: h}\nspec: {scaleTargetRef: {kind: Deployment, name: a}, maxReplicas: 3, targetCPUUtilizationPercentage: 50}\n---\napiVersion: extensions/v1beta1\nkind: Deployment\nmetadata: {name: a}\n---\napiVersion: apps/v2\nkind: Deployment\nmetadata: {name: b}\n");
        assert_eq!(
            l.related.hpas.as_ref().map(Vec::len),
            Some(1),
            "{:?}",
            l.errors
        );
        assert_eq!(l.errors.len(), 2);
        assert!(
            l.errors[0]
                .message
                .contains("removed in Kubernetes 1.16: use apiVersion apps/v1"),
            "{:?}",
            l.errors
        );
        assert!(
            l.errors[1].message.contains("unknown API version"),
            "{:?}",
            l.errors
        );
    }

    #[test]
    fn invalid_typed_fields() {
        let l = load(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\nspec: {replicas: many}\n",
        );
        assert_eq!(l.workloads.len(), 0);
        assert!(
            l.errors[0].message.starts_with("invalid Deployment"),
            "{:?}",
            l.errors
        );
    }
}
