//! Triggering a restart exactly as `kubectl rollout restart` does: the pod-template annotation
//! `kubectl.kubernetes.io/restartedAt` set to the current time (RFC 3339, local offset, seconds), sent as a
//! strategic merge patch. Also: who changed it back (managedFields). Pure except for [`patch_restarted_at`].

use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ManagedFieldsEntry;
use kube::api::{Patch, PatchParams};
use serde_json::json;

use tokio::time::Instant;

use super::api::{self, Contact, Stop};
use crate::client::Kube;
use crate::target::Kind;
use crate::workload::{Object, RESTARTED_AT};

use crate::workload::FIELD_MANAGER;

/// Formats a time as Go's `time.RFC3339` does (kubectl's format): seconds precision, the zone's offset,
/// `Z` for UTC.
pub(crate) fn format_restarted_at(ts: jiff::Timestamp, tz: &jiff::tz::TimeZone) -> String {
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
pub(crate) fn next_value(
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
pub(crate) fn patch_body(value: Option<&str>) -> serde_json::Value {
    json!({"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: value}}}}})
}

/// The latest field manager other than us whose managedFields own `key` under `path`
/// (`["f:spec", "f:template", "f:metadata", "f:annotations"]`, `"f:kubectl.kubernetes.io/restartedAt"`).
pub(crate) fn manager_of(
    entries: &[ManagedFieldsEntry],
    path: &[&str],
    key: &str,
) -> Option<String> {
    latest(
        entries
            .iter()
            .filter(|e| !ours(e) && owns(e, path, Some(key))),
    )
}

fn ours(e: &ManagedFieldsEntry) -> bool {
    e.manager.as_deref() == Some(FIELD_MANAGER)
}

fn owns(e: &ManagedFieldsEntry, path: &[&str], key: Option<&str>) -> bool {
    let Some(f) = e.fields_v1.as_ref() else {
        return false;
    };
    let mut cur = &f.0;
    for p in path {
        match cur.get(p) {
            Some(next) => cur = next,
            None => return false,
        }
    }
    key.is_none_or(|k| cur.get(k).is_some())
}

fn latest<'a>(it: impl Iterator<Item = &'a ManagedFieldsEntry>) -> Option<String> {
    it.max_by_key(|e| e.time.as_ref().map(|t| t.0))
        .and_then(|e| e.manager.clone())
}

const ANNOTATIONS: [&str; 4] = ["f:spec", "f:template", "f:metadata", "f:annotations"];

/// Who changed the restart annotation after our patch, from managedFields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Writer {
    /// This field manager owns the annotation now.
    Manager(String),
    /// Nobody else owns it but our field manager, with a value we did not write: another
    /// `kubectl graceful restart` of the same target.
    OtherRestart,
    /// Nobody owns it (it was removed); this manager wrote the pod template last.
    Probably(String),
    Unknown,
}

/// `removed`: the annotation is gone (a removal leaves no owner; ownership still recorded for it is stale).
pub(crate) fn annotation_writer(entries: &[ManagedFieldsEntry], removed: bool) -> Writer {
    let key = format!("f:{RESTARTED_AT}");
    if let Some(m) = manager_of(entries, &ANNOTATIONS, &key).filter(|_| !removed) {
        return Writer::Manager(m);
    }
    if !removed
        && entries
            .iter()
            .any(|e| ours(e) && owns(e, &ANNOTATIONS, Some(&key)))
    {
        return Writer::OtherRestart;
    }
    // A removal leaves no owner behind: whoever last wrote the template (status writers excluded).
    match latest(entries.iter().filter(|e| {
        !ours(e) && e.subresource.is_none() && owns(e, &["f:spec", "f:template"], None)
    })) {
        Some(m) => Writer::Probably(m),
        None => Writer::Unknown,
    }
}

/// Who last wrote the pod-template restart annotation, other than us: the field manager from managedFields
/// (e.g. `argocd-controller`, `kustomize-controller`). Falls back to whoever last touched the template.
/// The tests' shorthand for [`annotation_writer`] (the wait loop reads its `Writer` itself).
#[cfg(test)]
pub(crate) fn reverting_manager(entries: &[ManagedFieldsEntry]) -> Option<String> {
    match annotation_writer(entries, false) {
        Writer::Manager(m) | Writer::Probably(m) => Some(m),
        Writer::OtherRestart | Writer::Unknown => None,
    }
}

/// What to do when `manager` keeps changing the pod template back.
pub(crate) fn advice_for(manager: &str, target: &str, ns: &str) -> String {
    let m = manager.to_ascii_lowercase();
    if m.starts_with("argocd") {
        format!("Argo CD syncs {target} back to what Git says: restart it through Argo CD (`argocd app actions run APP restart --kind {} --resource-name {}`), or turn off self-heal for the restart", kind_of(target), name_of(target))
    } else if m.starts_with("kustomize-controller")
        || m.starts_with("helm-controller")
        || m.starts_with("flux")
    {
        "Flux reconciles it back: suspend it for the restart (`flux suspend kustomization NAME` or `flux suspend helmrelease NAME`), run the restart, then `flux resume …`".to_string()
    } else if m == "kubectl-rollout" {
        format!("someone ran `kubectl rollout` on {target} meanwhile: follow it with `kubectl rollout status {target} -n {ns}`")
    } else {
        format!("{manager} writes the pod template of {target}: restart it through {manager}, or stop it during the restart")
    }
}

fn kind_of(target: &str) -> &'static str {
    match target.split('/').next() {
        Some("sts") => "StatefulSet",
        Some("ds") => "DaemonSet",
        _ => "Deployment",
    }
}

fn name_of(target: &str) -> &str {
    target.rsplit('/').next().unwrap_or(target)
}

/// Sets (or removes) the restart annotation with a strategic merge patch; returns the patched workload.
/// The request must be answered by `deadline`.
pub(crate) async fn patch_restarted_at(
    kube: &Kube,
    contact: &Contact,
    deadline: Instant,
    (kind, ns, name): (Kind, &str, &str),
    value: Option<&str>,
) -> Result<Object, Stop> {
    let pp = PatchParams {
        field_manager: Some(FIELD_MANAGER.into()),
        ..Default::default()
    };
    let patch = Patch::Strategic(patch_body(value));
    let what = format!("{} {name}", kind.lower());
    let request = crate::workload::fetch::patch(&kube.client, kind, ns, name, pp, patch);
    api::call(kube, contact, deadline, ("patch", &what, Some(ns)), request).await
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

    /// FieldsV1 of the status's replicas, and of the restart annotation.
    const REPLICAS: &str = r#"{"f:status": {"f:replicas": {}}}"#;
    const RESTARTED_AT: &str = r#"{"f:spec": {"f:template": {"f:metadata": {"f:annotations": {"f:kubectl.kubernetes.io/restartedAt": {}}}}}}"#;

    /// A managedFields entry: `manager` wrote `fields` (FieldsV1) by `operation` at `second`
    /// (`:SS`) past 2026-11-23T15:00.
    fn entry(manager: &str, operation: &str, second: &str, fields: &str) -> ManagedFieldsEntry {
        serde_yaml::from_str(&format!(
            r#"{{manager: {manager}, operation: {operation}, time: "2026-11-23T15:00{second}Z", fieldsType: FieldsV1, fieldsV1: {fields}}}"#
        ))
        .unwrap()
    }

    #[test]
    fn finds_the_reverting_manager() {
        let entries = [
            entry("kube-controller-manager", "Update", ":00", REPLICAS),
            entry("kubectl-graceful", "Update", ":10", RESTARTED_AT),
            entry("argocd-controller", "Apply", ":05", RESTARTED_AT),
        ];
        assert_eq!(
            reverting_manager(&entries).as_deref(),
            Some("argocd-controller")
        );
        // Nobody else owns the key: whoever last touched the template.
        let entries = [entry(
            "helm",
            "Update",
            ":00",
            r#"{"f:spec": {"f:template": {"f:spec": {}}}}"#,
        )];
        assert_eq!(reverting_manager(&entries).as_deref(), Some("helm"));
        assert_eq!(reverting_manager(&[]), None);
    }

    #[test]
    fn another_restart_and_the_pause_are_named() {
        // Only our field manager owns the key, with a value this run did not write: another run of ours.
        let mut status = entry("kube-controller-manager", "Update", ":20", REPLICAS);
        status.subresource = Some("status".into());
        let entries = [
            status,
            entry("kubectl-graceful", "Update", ":10", RESTARTED_AT),
            entry(
                "kubectl-rollout",
                "Update",
                ":12",
                r#"{"f:spec": {"f:paused": {}}}"#,
            ),
        ];
        assert_eq!(annotation_writer(&entries, false), Writer::OtherRestart);
        // Removed, the annotation has no owner: ours (stale) is no sign of another restart.
        assert_eq!(annotation_writer(&entries, true), Writer::Unknown);
        assert_eq!(
            manager_of(&entries, &["f:spec"], "f:paused").as_deref(),
            Some("kubectl-rollout")
        );
        assert!(advice_for("argocd-controller", "deploy/web", "shop")
            .contains("argocd app actions run APP restart --kind Deployment --resource-name web"));
        assert!(advice_for("kustomize-controller", "deploy/web", "shop").contains("flux suspend"));
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
