//! Triggering a restart exactly as `kubectl rollout restart` does: the pod-template annotation
//! `kubectl.kubernetes.io/restartedAt` set to the current time (RFC 3339, local offset, seconds), sent as a
//! strategic merge patch. Also: who changed it back (managedFields). Pure except for [`patch_restarted_at`].

use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ManagedFieldsEntry;
use kube::api::{Patch, PatchParams};
use kube::Api;
use serde_json::json;

use tokio::time::Instant;

use super::api::{self, Contact, Stop};
use super::workload::{Workload, RESTARTED_AT};
use crate::client::Kube;
use crate::target::Kind;

/// Our field manager name (kubectl uses `kubectl-rollout`).
pub const FIELD_MANAGER: &str = "kubectl-graceful";

/// Formats a time as Go's `time.RFC3339` does (kubectl's format): seconds precision, the zone's offset,
/// `Z` for UTC.
pub fn format_restarted_at(ts: jiff::Timestamp, tz: &jiff::tz::TimeZone) -> String {
    let zoned = ts.to_zoned(tz.clone());
    let s = zoned.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string();
    match s.strip_suffix("+00:00") {
        Some(base) => format!("{base}Z"),
        None => s,
    }
}

/// The value to write now, and how long to wait first. Two restarts within the same second would write
/// the same value (kubectl's "already triggered" case, where nothing rolls): then the value is the next
/// second and we wait for it, so the patch always changes the template.
pub fn next_value(
    now: jiff::Timestamp,
    tz: &jiff::tz::TimeZone,
    current: Option<&str>,
) -> (String, Duration) {
    let value = format_restarted_at(now, tz);
    if current != Some(value.as_str()) {
        return (value, Duration::ZERO);
    }
    let next_second = jiff::Timestamp::from_second(now.as_second() + 1).unwrap_or(now);
    let wait = Duration::try_from(next_second.duration_since(now)).unwrap_or(Duration::ZERO);
    (format_restarted_at(next_second, tz), wait)
}

/// The strategic merge patch body that sets (or with `None`, removes) the restart annotation.
pub fn patch_body(value: Option<&str>) -> serde_json::Value {
    json!({"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: value}}}}})
}

/// Who last wrote the pod-template restart annotation, other than us: the field manager from managedFields
/// (e.g. `argocd-controller`, `kustomize-controller`). Falls back to whoever last touched the template.
pub fn reverting_manager(entries: &[ManagedFieldsEntry]) -> Option<String> {
    let key = format!("f:{RESTARTED_AT}");
    let path = ["f:spec", "f:template", "f:metadata", "f:annotations"];
    let owns = |e: &ManagedFieldsEntry, depth: usize, with_key: bool| -> bool {
        let Some(f) = e.fields_v1.as_ref() else {
            return false;
        };
        let mut cur = &f.0;
        for p in &path[..depth] {
            match cur.get(p) {
                Some(next) => cur = next,
                None => return false,
            }
        }
        !with_key || cur.get(&key).is_some()
    };
    let others = || {
        entries
            .iter()
            .filter(|e| e.manager.as_deref() != Some(FIELD_MANAGER))
    };
    let latest = |it: Vec<&ManagedFieldsEntry>| {
        it.into_iter()
            .max_by_key(|e| e.time.as_ref().map(|t| t.0))
            .and_then(|e| e.manager.clone())
    };
    latest(others().filter(|e| owns(e, 4, true)).collect())
        .or_else(|| latest(others().filter(|e| owns(e, 2, false)).collect()))
}

/// Sets (or removes) the restart annotation with a strategic merge patch; returns the patched workload.
/// The request must be answered by `deadline`.
pub async fn patch_restarted_at(
    kube: &Kube,
    contact: &Contact,
    deadline: Instant,
    kind: Kind,
    ns: &str,
    name: &str,
    value: Option<&str>,
) -> Result<Workload, Stop> {
    let pp = PatchParams {
        field_manager: Some(FIELD_MANAGER.into()),
        ..Default::default()
    };
    let patch = Patch::Strategic(patch_body(value));
    let what = format!("{} {name}", kind.lower());
    let c = kube.client.clone();
    let how = ("patch", what.as_str(), Some(ns));
    Ok(match kind {
        Kind::StatefulSet => Workload::StatefulSet(
            api::call(
                kube,
                contact,
                deadline,
                how,
                Api::namespaced(c, ns).patch(name, &pp, &patch),
            )
            .await?,
        ),
        Kind::DaemonSet => Workload::DaemonSet(
            api::call(
                kube,
                contact,
                deadline,
                how,
                Api::namespaced(c, ns).patch(name, &pp, &patch),
            )
            .await?,
        ),
        _ => Workload::Deployment(
            api::call(
                kube,
                contact,
                deadline,
                how,
                Api::namespaced(c, ns).patch(name, &pp, &patch),
            )
            .await?,
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> jiff::Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn kubectl_format() {
        let utc = jiff::tz::TimeZone::UTC;
        assert_eq!(
            format_restarted_at(ts("2026-11-23T15:04:05.987Z"), &utc),
            "2026-11-23T15:04:05Z"
        );
        let plus2 = jiff::tz::TimeZone::fixed(jiff::tz::offset(2));
        assert_eq!(
            format_restarted_at(ts("2026-11-23T15:04:05Z"), &plus2),
            "2026-11-23T17:04:05+02:00"
        );
    }

    #[test]
    fn same_second_moves_to_the_next() {
        let utc = jiff::tz::TimeZone::UTC;
        let now = ts("2026-11-23T15:04:05.250Z");
        assert_eq!(
            next_value(now, &utc, Some("2026-11-23T15:04:04Z")),
            ("2026-11-23T15:04:05Z".to_string(), Duration::ZERO)
        );
        assert_eq!(
            next_value(now, &utc, Some("2026-11-23T15:04:05Z")),
            (
                "2026-11-23T15:04:06Z".to_string(),
                Duration::from_millis(750)
            )
        );
    }

    #[test]
    fn patch_is_kubectls() {
        assert_eq!(
            patch_body(Some("2026-11-23T15:04:05Z")).to_string(),
            r#"{"spec":{"template":{"metadata":{"annotations":{"kubectl.kubernetes.io/restartedAt":"2026-11-23T15:04:05Z"}}}}}"#
        );
        assert_eq!(
            patch_body(None).to_string(),
            r#"{"spec":{"template":{"metadata":{"annotations":{"kubectl.kubernetes.io/restartedAt":null}}}}}"#
        );
    }

    #[test]
    fn finds_the_reverting_manager() {
        let entries: Vec<ManagedFieldsEntry> = serde_yaml::from_str(
            r#"
- manager: kube-controller-manager
  operation: Update
  time: "2026-11-23T15:00:00Z"
  fieldsType: FieldsV1
  fieldsV1: {"f:status": {"f:replicas": {}}}
- manager: kubectl-graceful
  operation: Update
  time: "2026-11-23T15:00:10Z"
  fieldsType: FieldsV1
  fieldsV1: {"f:spec": {"f:template": {"f:metadata": {"f:annotations": {"f:kubectl.kubernetes.io/restartedAt": {}}}}}}
- manager: argocd-controller
  operation: Apply
  time: "2026-11-23T15:00:05Z"
  fieldsType: FieldsV1
  fieldsV1: {"f:spec": {"f:template": {"f:metadata": {"f:annotations": {"f:kubectl.kubernetes.io/restartedAt": {}}}}}}
"#,
        )
        .unwrap();
        assert_eq!(
            reverting_manager(&entries).as_deref(),
            Some("argocd-controller")
        );
        // Nobody else owns the key: whoever last touched the template.
        let entries: Vec<ManagedFieldsEntry> = serde_yaml::from_str(
            r#"
- manager: helm
  operation: Update
  time: "2026-11-23T15:00:00Z"
  fieldsType: FieldsV1
  fieldsV1: {"f:spec": {"f:template": {"f:spec": {}}}}
"#,
        )
        .unwrap();
        assert_eq!(reverting_manager(&entries).as_deref(), Some("helm"));
        assert_eq!(reverting_manager(&[]), None);
    }
}

#[cfg(test)]
mod fixture_tests {
    #[test]
    fn reverted_fixture() {
        let d: k8s_openapi::api::apps::v1::Deployment = serde_json::from_str(include_str!(
            "../../tests/fixtures/restart/reverted-by-argocd.json"
        ))
        .unwrap();
        let mf = d.metadata.managed_fields.clone().unwrap();
        assert_eq!(
            super::reverting_manager(&mf).as_deref(),
            Some("argocd-controller")
        );
    }
}
