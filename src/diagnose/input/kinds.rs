//! The kinds and API versions `-f` understands: which kinds diagnose reads, which it skips, and which API
//! versions a Kubernetes release no longer serves (the Deprecated API Migration Guide,
//! kubernetes.io/docs/reference/using-api/deprecation-guide).

use crate::diagnose::model::KubeVersion;

/// Built-in API groups: an unknown kind there is a typo, not a custom resource.
pub(super) const BUILTIN_GROUPS: &[&str] = &[
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
pub(super) const OTHER_BUILTIN_KINDS: &[&str] = &[
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

/// The kinds diagnose reads, with the API version it reads each as.
pub(super) const USED_KINDS: &[(&str, &str)] = &[
    ("Deployment", "apps/v1"),
    ("StatefulSet", "apps/v1"),
    ("DaemonSet", "apps/v1"),
    ("ReplicaSet", "apps/v1"),
    ("ReplicationController", "v1"),
    ("Job", "batch/v1"),
    ("CronJob", "batch/v1"),
    ("Pod", "v1"),
    ("PodDisruptionBudget", "policy/v1"),
    ("Service", "v1"),
    ("HorizontalPodAutoscaler", "autoscaling/v2"),
];

/// The API version diagnose reads `kind` as.
pub(super) fn current_version(kind: &str) -> Option<&'static str> {
    USED_KINDS.iter().find(|(k, _)| *k == kind).map(|(_, v)| *v)
}

/// The apiVersion and kind a YAML document seems to have, from its top-level `apiVersion:` and `kind:`
/// lines, without parsing it: only to pick the type to read it as. Reading checks them (k8s-openapi
/// refuses another apiVersion or kind, [`crate::source::typed`] requires both keys), so a wrong guess
/// costs only the time of a second, ordinary read.
pub(super) fn guess(doc: &str) -> Option<(&str, &str)> {
    let (mut api_version, mut kind) = (None, None);
    for line in doc.lines() {
        let (key, value) = match line.split_once(':') {
            Some(kv) => kv,
            None => continue,
        };
        let slot = match key {
            "apiVersion" => &mut api_version,
            "kind" => &mut kind,
            _ => continue,
        };
        let value = value.split(" #").next().unwrap_or_default().trim();
        let value = value.trim_matches(|c| c == '"' || c == '\'');
        slot.get_or_insert(value);
        if let (Some(a), Some(k)) = (api_version, kind) {
            return Some((a, k));
        }
    }
    None
}

/// Kinds that no API version serves any more: (kind, removed in, what it was).
const REMOVED_KINDS: &[(&str, KubeVersion, &str)] = &[
    (
        "PodSecurityPolicy",
        KubeVersion::new(1, 25),
        "use Pod Security Admission",
    ),
    (
        "InitializerConfiguration",
        KubeVersion::new(1, 14),
        "use admission webhooks",
    ),
    (
        "PodPreset",
        KubeVersion::new(1, 20),
        "set the fields in the pod templates",
    ),
    ("AuditSink", KubeVersion::new(1, 19), "use an audit webhook"),
];

/// API versions that are no longer served: (apiVersion, kind or "" for every kind, removed in).
const REMOVED_VERSIONS: &[(&str, &str, KubeVersion)] = &[
    ("extensions/v1beta1", "Ingress", KubeVersion::new(1, 22)),
    ("extensions/v1beta1", "", KubeVersion::new(1, 16)),
    ("apps/v1beta1", "", KubeVersion::new(1, 16)),
    ("apps/v1beta2", "", KubeVersion::new(1, 16)),
    ("batch/v2alpha1", "", KubeVersion::new(1, 21)),
    ("batch/v1beta1", "", KubeVersion::new(1, 25)),
    ("policy/v1beta1", "", KubeVersion::new(1, 25)),
    ("autoscaling/v2beta1", "", KubeVersion::new(1, 25)),
    ("autoscaling/v2beta2", "", KubeVersion::new(1, 26)),
    ("discovery.k8s.io/v1beta1", "", KubeVersion::new(1, 25)),
    ("events.k8s.io/v1beta1", "", KubeVersion::new(1, 25)),
    ("node.k8s.io/v1beta1", "", KubeVersion::new(1, 25)),
    ("networking.k8s.io/v1beta1", "", KubeVersion::new(1, 22)),
    (
        "rbac.authorization.k8s.io/v1beta1",
        "",
        KubeVersion::new(1, 22),
    ),
    (
        "rbac.authorization.k8s.io/v1alpha1",
        "",
        KubeVersion::new(1, 22),
    ),
    (
        "storage.k8s.io/v1beta1",
        "CSIStorageCapacity",
        KubeVersion::new(1, 27),
    ),
    ("storage.k8s.io/v1beta1", "", KubeVersion::new(1, 22)),
    ("scheduling.k8s.io/v1beta1", "", KubeVersion::new(1, 22)),
    ("scheduling.k8s.io/v1alpha1", "", KubeVersion::new(1, 22)),
    ("coordination.k8s.io/v1beta1", "", KubeVersion::new(1, 22)),
    ("certificates.k8s.io/v1beta1", "", KubeVersion::new(1, 22)),
    (
        "admissionregistration.k8s.io/v1beta1",
        "",
        KubeVersion::new(1, 22),
    ),
    ("apiextensions.k8s.io/v1beta1", "", KubeVersion::new(1, 22)),
    (
        "apiregistration.k8s.io/v1beta1",
        "",
        KubeVersion::new(1, 22),
    ),
    ("authentication.k8s.io/v1beta1", "", KubeVersion::new(1, 22)),
    ("authorization.k8s.io/v1beta1", "", KubeVersion::new(1, 22)),
    (
        "flowcontrol.apiserver.k8s.io/v1beta1",
        "",
        KubeVersion::new(1, 26),
    ),
    (
        "flowcontrol.apiserver.k8s.io/v1beta2",
        "",
        KubeVersion::new(1, 29),
    ),
    (
        "flowcontrol.apiserver.k8s.io/v1beta3",
        "",
        KubeVersion::new(1, 32),
    ),
];

/// Where a removed API version's objects live now.
fn replacement(api_version: &str, kind: &str) -> Option<&'static str> {
    if let Some(v) = current_version(kind) {
        return Some(v);
    }
    Some(match (api_version.split('/').next().unwrap_or(""), kind) {
        (_, "Ingress" | "IngressClass" | "NetworkPolicy") => "networking.k8s.io/v1",
        ("rbac.authorization.k8s.io", _) => "rbac.authorization.k8s.io/v1",
        ("storage.k8s.io", _) => "storage.k8s.io/v1",
        ("scheduling.k8s.io", _) => "scheduling.k8s.io/v1",
        ("coordination.k8s.io", _) => "coordination.k8s.io/v1",
        ("certificates.k8s.io", _) => "certificates.k8s.io/v1",
        ("admissionregistration.k8s.io", _) => "admissionregistration.k8s.io/v1",
        ("apiextensions.k8s.io", _) => "apiextensions.k8s.io/v1",
        ("apiregistration.k8s.io", _) => "apiregistration.k8s.io/v1",
        ("discovery.k8s.io", _) => "discovery.k8s.io/v1",
        ("events.k8s.io", _) => "events.k8s.io/v1",
        ("node.k8s.io", _) => "node.k8s.io/v1",
        ("flowcontrol.apiserver.k8s.io", _) => "flowcontrol.apiserver.k8s.io/v1",
        _ => return None,
    })
}

/// Why `kind` in `api_version` cannot be used on `version`, when it was removed by then.
pub(super) fn removed(api_version: &str, kind: &str, version: KubeVersion) -> Option<String> {
    if let Some((_, when, instead)) = REMOVED_KINDS.iter().find(|(k, _, _)| *k == kind) {
        return (version >= *when).then(|| {
            format!("{kind} was removed in Kubernetes {when} ({instead}); advising for {version}")
        });
    }
    // The kube-scheduler's old policy file looks like an object but never was one.
    if kind == "Policy" && api_version == "v1" {
        return Some(
            "kind Policy in v1 is a kube-scheduler policy file, not an API object (and that format was removed in Kubernetes 1.23)".into(),
        );
    }
    let when = REMOVED_VERSIONS
        .iter()
        .find(|(v, k, _)| *v == api_version && (k.is_empty() || *k == kind))
        .map(|(_, _, when)| *when)?;
    if version < when {
        return None;
    }
    Some(match replacement(api_version, kind) {
        Some(r) => format!(
            "{kind} in {api_version} was removed in Kubernetes {when} (advising for {version}): use apiVersion {r}"
        ),
        None => format!("{kind} in {api_version} was removed in Kubernetes {when} (advising for {version})"),
    })
}

/// One edit apart, or the same letters in another case: a likely typo.
pub(super) fn similar(a: &str, b: &str) -> bool {
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

    #[test]
    fn guesses_apiversion_and_kind_from_top_level_lines() {
        assert_eq!(
            guess("# c\nkind: Deployment  # web\nmetadata:\n  kind: x\napiVersion: \"apps/v1\"\n"),
            Some(("apps/v1", "Deployment"))
        );
        assert_eq!(guess("  kind: Pod\napiVersion: v1\n"), None);
        assert_eq!(guess("{kind: Pod, apiVersion: v1}\n"), None);
    }

    #[test]
    fn removals_depend_on_the_version() {
        let v = KubeVersion::new;
        let m = removed("extensions/v1beta1", "Deployment", v(1, 33)).unwrap();
        assert!(
            m.contains("removed in Kubernetes 1.16") && m.contains("use apiVersion apps/v1"),
            "{m}"
        );
        assert!(removed("extensions/v1beta1", "Ingress", v(1, 21)).is_none());
        assert!(removed("extensions/v1beta1", "Ingress", v(1, 22))
            .unwrap()
            .contains("networking.k8s.io/v1"));
        assert!(removed("policy/v1beta1", "PodDisruptionBudget", v(1, 24)).is_none());
        assert!(removed("policy/v1beta1", "PodDisruptionBudget", v(1, 25)).is_some());
        let psp = removed("policy/v1beta1", "PodSecurityPolicy", v(1, 33)).unwrap();
        assert!(
            psp.starts_with("PodSecurityPolicy was removed in Kubernetes 1.25"),
            "{psp}"
        );
        assert!(removed(
            "admissionregistration.k8s.io/v1alpha1",
            "InitializerConfiguration",
            v(1, 33)
        )
        .unwrap()
        .contains("1.14"));
        assert!(removed("v1", "Policy", v(1, 33))
            .unwrap()
            .contains("kube-scheduler"));
        assert!(removed("apps/v1", "Deployment", v(1, 33)).is_none());
        assert!(removed("storage.k8s.io/v1beta1", "StorageClass", v(1, 33))
            .unwrap()
            .contains("storage.k8s.io/v1"));
    }
}
