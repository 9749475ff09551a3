//! Version-aware advice: native preStop sleep, native sidecars.

use k8s_openapi::api::core::v1::Container;

use super::fix::Fix;
use super::helpers::*;
use super::Hit;
use crate::diagnose::context::Context;
use crate::diagnose::traffic::{is_helper, is_metrics_sidecar};
use crate::target::Kind;
use crate::workload::Workload;

pub(super) fn check_prestop_sleep_native(w: &Workload, cx: &Context) -> Vec<Hit> {
    if !native_sleep_supported(cx) {
        return vec![];
    }
    let items = containers(w)
        .iter()
        .filter_map(|c| {
            let p = prestop(c)?;
            let pause = p.pause?;
            // Only a hook that does nothing but sleep can be replaced.
            let only_sleep = p.exec_sleep
                && p.words.iter().all(|w| {
                    matches!(base(w), "sleep" | "sh" | "bash" | "ash" | "-c" | "exec")
                        || sleep_seconds(w).is_some()
                });
            only_sleep.then(|| PerContainer {
                container: c.name.clone(),
                message: format!(
                    "preStop runs a `sleep {pause}` binary: Kubernetes {} has the native sleep action, which needs no shell or sleep in the image (distroless) and cannot fail to exec",
                    cx.version
                ),
                field: "lifecycle.preStop.exec".into(),
                fix: Some(ContainerFix::body(pause_body(cx, c, pause))),
            })
        })
        .collect();
    fold(w, items)
}

pub(super) fn check_prestop_sleep_unsupported(w: &Workload, cx: &Context) -> Vec<Hit> {
    if native_sleep_supported(cx) {
        return vec![];
    }
    let items = containers(w)
        .iter()
        .filter_map(|c| {
            let p = prestop(c)?;
            p.native_sleep.then(|| PerContainer {
                container: c.name.clone(),
                message: format!(
                    "lifecycle.preStop.sleep needs Kubernetes 1.30 (beta, on by default); this cluster is {}: the field is dropped or rejected, so there is no pause",
                    cx.version
                ),
                field: "lifecycle.preStop.sleep".into(),
                fix: Some(ContainerFix::body(pause_body(cx, c, p.pause.unwrap_or(PAUSE)))),
            })
        })
        .collect();
    fold(w, items)
}

/// A container as YAML for a list item (`- …`).
fn container_item(c: &Container) -> String {
    let yaml = serde_yaml::to_string(c).unwrap_or_default();
    let mut lines = yaml.trim_end().lines();
    let mut out = String::new();
    if let Some(first) = lines.next() {
        out.push_str(&format!("- {first}\n"));
    }
    for l in lines {
        out.push_str(&format!("  {l}\n"));
    }
    out
}

pub(super) fn check_sidecar_not_native(w: &Workload, cx: &Context) -> Vec<Hit> {
    if !cx.version.at_least(1, 29) {
        return vec![];
    }
    let cs = containers(w);
    if cs.len() < 2 {
        return vec![];
    }
    let apps: Vec<&Container> = cs.iter().filter(|c| !is_helper(c)).collect();
    if apps.is_empty() {
        return vec![];
    }
    // A metrics proxy (kube-rbac-proxy) that stops first fails a scrape, not the app's requests.
    cs.iter()
        .filter(|c| is_helper(c) && !is_metrics_sidecar(c))
        .map(|c| {
            let mut native = c.clone();
            native.restart_policy = Some("Always".into());
            Hit {
                containers: vec![c.name.clone()],
                field: format!("{}.containers[{}]", w.pod_spec_field(), c.name),
                message: format!(
                    "helper container {} is a regular container: on shutdown it gets SIGTERM together with {} and may stop first, failing their in-flight requests{}; a native sidecar (Kubernetes {} supports them) starts before and stops after the app",
                    c.name,
                    apps.iter().map(|a| a.name.as_str()).collect::<Vec<_>>().join(", "),
                    if w.kind == Kind::Job || w.kind == Kind::CronJob { " (and keeps a Job's pod from completing)" } else { "" },
                    cx.version
                ),
                fix: Some(move_container(w, c, &native, "containers", "initContainers", "a native sidecar: moved from containers to initContainers")),
                advice: None,
            }
        })
        .collect()
}

/// A patch that moves a container from one list of the pod spec to the other (`$patch: delete` removes
/// it from the first, as `kubectl patch --type strategic` does).
fn move_container(
    w: &Workload,
    c: &Container,
    new: &Container,
    from: &str,
    to: &str,
    why: &str,
) -> Fix {
    pod_spec_fix(
        w,
        &format!(
            "{from}:\n- name: {}\n  $patch: delete   # {why}\n{to}:\n{}",
            c.name,
            container_item(new).trim_end()
        ),
    )
}

pub(super) fn check_native_sidecar_unsupported(w: &Workload, cx: &Context) -> Vec<Hit> {
    if cx.version.at_least(1, 29) {
        return vec![];
    }
    w.pod_spec()
        .init_containers
        .iter()
        .flatten()
        .filter(|c| c.restart_policy.as_deref() == Some("Always"))
        .map(|c| {
            let mut regular = c.clone();
            regular.restart_policy = None;
            Hit {
                containers: vec![c.name.clone()],
                field: format!("{}.initContainers[{}].restartPolicy", w.pod_spec_field(), c.name),
                message: format!(
                    "native sidecars (initContainers with restartPolicy: Always) need Kubernetes 1.29 (on by default; GA 1.33); on {} the field is dropped and the pod waits forever for this init container",
                    cx.version
                ),
                fix: Some(move_container(w, c, &regular, "initContainers", "containers", "a regular container on this version")),
                advice: None,
            }
        })
        .collect()
}
