//! Before a pod without a controller is evicted, its manifest is written to a file: if anything stops the
//! restart between the eviction and the pod's creation (a second Ctrl-C, a hung API server, a crash), the
//! pod can be created again by hand with `kubectl create -f FILE`. Nothing is evicted when the file cannot
//! be written.

use std::path::{Path, PathBuf};

use k8s_openapi::api::core::v1::Pod;
use kube::api::ObjectMeta;

use crate::error::{Error, Result};

/// A pod's manifest, ready to create again, and where it is saved.
#[derive(Debug, Clone)]
pub(crate) struct Saved {
    pub pod: Pod,
    pub path: PathBuf,
}

/// The pod as it can be created again: no status, UID, resourceVersion, node or other server-set fields.
/// Ephemeral containers go too: the API refuses them on create.
pub(crate) fn creatable(old: &Pod, ns: &str) -> Pod {
    let m = &old.metadata;
    let mut spec = old.spec.clone().unwrap_or_default();
    spec.node_name = None;
    spec.ephemeral_containers = None;
    Pod {
        metadata: ObjectMeta {
            name: m.name.clone(),
            namespace: Some(ns.to_string()),
            labels: m.labels.clone(),
            annotations: m.annotations.clone(),
            finalizers: m.finalizers.clone(),
            ..Default::default()
        },
        spec: Some(spec),
        status: None,
    }
}

/// Where manifests are saved: `$XDG_STATE_HOME/kubectl-graceful`, else `~/.local/state/kubectl-graceful`,
/// else the system's temporary directory.
pub(crate) fn directory() -> PathBuf {
    let state = std::env::var_os("XDG_STATE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|h| PathBuf::from(h).join(".local").join("state"))
        });
    let preferred = state.map(|s| s.join("kubectl-graceful"));
    match preferred {
        Some(p) if std::fs::create_dir_all(&p).is_ok() => p,
        _ => std::env::temp_dir(),
    }
}

/// Writes the pod's manifest (YAML, with a comment saying how to use it) into `dir`.
pub(crate) fn save_in(dir: &Path, old: &Pod, ns: &str) -> Result<Saved> {
    let pod = creatable(old, ns);
    let name = pod.metadata.name.clone().unwrap_or_default();
    let stamp = jiff::Timestamp::now().strftime("%Y%m%dT%H%M%SZ");
    let path = dir.join(format!("pod-{ns}-{name}-{stamp}.yaml"));
    let mut doc = serde_json::to_value(&pod).map_err(|e| Error::other("save pod manifest", e))?;
    if let Some(m) = doc.as_object_mut() {
        m.insert("apiVersion".into(), "v1".into());
        m.insert("kind".into(), "Pod".into());
    }
    let yaml = serde_yaml::to_string(&doc).map_err(|e| Error::other("save pod manifest", e))?;
    let text = format!(
        "# Pod {ns}/{name}, saved by `kubectl graceful restart` before its eviction ({stamp}).\n\
         # It has no controller: if it is not running again, create it with\n\
         #   kubectl create -f {}\n{yaml}",
        path.display()
    );
    std::fs::write(&path, text).map_err(|e| {
        Error::other(
            format!("save the manifest of pod {name} before evicting it"),
            format!(
                "{}: {e} (nothing was evicted; set XDG_STATE_HOME to a writable directory)",
                path.display()
            ),
        )
    })?;
    Ok(Saved { pod, path })
}

/// [`save_in`] the default [`directory`].
pub(crate) fn save(old: &Pod, ns: &str) -> Result<Saved> {
    save_in(&directory(), old, ns)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saved_manifest_can_be_created_again() {
        let old: Pod = serde_yaml::from_str(
            r#"
metadata:
  name: solo
  namespace: default
  uid: 1234
  resourceVersion: "42"
  creationTimestamp: "2026-11-23T10:00:00Z"
  labels: {app: solo}
  annotations: {note: keep}
  managedFields: [{manager: kubectl, operation: Update}]
spec:
  nodeName: node-1
  containers: [{name: app, image: busybox}]
  ephemeralContainers: [{name: debug, image: busybox}]
status: {phase: Running, podIP: 10.0.0.1}
"#,
        )
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let s = save_in(dir.path(), &old, "default").unwrap();
        let text = std::fs::read_to_string(&s.path).unwrap();
        assert!(
            text.contains(&format!("kubectl create -f {}", s.path.display())),
            "{text}"
        );
        let back: serde_json::Value = serde_yaml::from_str(&text).unwrap();
        assert_eq!(back["kind"], "Pod");
        assert_eq!(back["apiVersion"], "v1");
        assert_eq!(back["metadata"]["name"], "solo");
        assert_eq!(back["metadata"]["labels"]["app"], "solo");
        assert_eq!(back["metadata"]["annotations"]["note"], "keep");
        for gone in [
            "/metadata/uid",
            "/metadata/resourceVersion",
            "/metadata/creationTimestamp",
            "/metadata/managedFields",
            "/spec/nodeName",
            "/spec/ephemeralContainers",
            "/status",
        ] {
            assert!(back.pointer(gone).is_none(), "{gone} in {text}");
        }
        assert_eq!(back["spec"]["containers"][0]["image"], "busybox");
    }

    #[test]
    fn an_unwritable_directory_is_an_error_before_anything_happens() {
        let old: Pod = serde_yaml::from_str("metadata: {name: solo}").unwrap();
        let e = save_in(Path::new("/nonexistent/dir"), &old, "default")
            .unwrap_err()
            .to_string();
        assert!(e.contains("nothing was evicted"), "{e}");
    }
}
