//! Version-aware advice: native preStop sleep, native sidecars.

use k8s_openapi::api::core::v1::Container;

use super::helpers::*;
use super::Hit;
use crate::diagnose::model::Workload;
use crate::target::Kind;

pub(super) fn check_prestop_sleep_native(w: &Workload) -> Vec<Hit> {
    if !native_sleep_supported(w) {
        return vec![];
    }
    containers(w)
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
            only_sleep.then(|| {
                hit(
                    Some(&c.name),
                    container_field(w, &c.name, "lifecycle.preStop.exec"),
                    format!(
                        "preStop runs a `sleep {pause}` binary: Kubernetes {} has the native sleep action, which needs no shell or sleep in the image (distroless) and cannot fail to exec",
                        w.version
                    ),
                    Some(container_fix(w, &c.name, &pause_fix(w, pause))),
                )
            })
        })
        .collect()
}

pub(super) fn check_prestop_sleep_unsupported(w: &Workload) -> Vec<Hit> {
    if native_sleep_supported(w) {
        return vec![];
    }
    containers(w)
        .iter()
        .filter_map(|c| {
            let p = prestop(c)?;
            p.native_sleep.then(|| {
                hit(
                    Some(&c.name),
                    container_field(w, &c.name, "lifecycle.preStop.sleep"),
                    format!(
                        "lifecycle.preStop.sleep needs Kubernetes 1.30 (beta, on by default); this cluster is {}: the field is dropped or rejected, so there is no pause",
                        w.version
                    ),
                    Some(container_fix(
                        w,
                        &c.name,
                        &format!(
                            "lifecycle:\n  preStop:\n    exec:\n      command: [\"sleep\", \"{}\"]",
                            p.pause.unwrap_or(PAUSE)
                        ),
                    )),
                )
            })
        })
        .collect()
}

const SIDECARS: &[&str] = &[
    "istio-proxy",
    "envoy",
    "linkerd-proxy",
    "cloud-sql-proxy",
    "cloudsql-proxy",
    "oauth2-proxy",
    "vault-agent",
    "fluent-bit",
    "fluentd",
    "filebeat",
    "otel-collector",
    "opentelemetry-collector",
    "datadog-agent",
    "log-shipper",
];

fn is_helper(c: &Container) -> bool {
    let img = c.image.as_deref().unwrap_or("").to_ascii_lowercase();
    let name = c.name.to_ascii_lowercase();
    SIDECARS.iter().any(|s| name.contains(s) || img.contains(s))
        || name.ends_with("-sidecar")
        || name.ends_with("-proxy")
}

pub(super) fn check_sidecar_not_native(w: &Workload) -> Vec<Hit> {
    if !w.version.at_least(1, 29) {
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
    cs.iter()
        .filter(|c| is_helper(c))
        .map(|c| {
            hit(
                Some(&c.name),
                format!("{}.containers[{}]", w.pod_spec_field(), c.name),
                format!(
                    "helper container {} is a regular container: on shutdown it gets SIGTERM together with {} and may stop first, failing their in-flight requests{}; a native sidecar (Kubernetes {} supports them) starts before and stops after the app",
                    c.name,
                    apps.iter().map(|a| a.name.as_str()).collect::<Vec<_>>().join(", "),
                    if w.kind == Kind::Job || w.kind == Kind::CronJob { " (and keeps a Job's pod from completing)" } else { "" },
                    w.version
                ),
                Some(pod_spec_fix(
                    w,
                    &format!(
                        "initContainers:   # move it here from containers\n- name: {}\n  image: {}\n  restartPolicy: Always",
                        c.name,
                        c.image.as_deref().unwrap_or("IMAGE")
                    ),
                )),
            )
        })
        .collect()
}

pub(super) fn check_native_sidecar_unsupported(w: &Workload) -> Vec<Hit> {
    if w.version.at_least(1, 29) {
        return vec![];
    }
    w.pod_spec()
        .init_containers
        .iter()
        .flatten()
        .filter(|c| c.restart_policy.as_deref() == Some("Always"))
        .map(|c| {
            hit(
                Some(&c.name),
                format!("{}.initContainers[{}].restartPolicy", w.pod_spec_field(), c.name),
                format!(
                    "native sidecars (initContainers with restartPolicy: Always) need Kubernetes 1.29 (on by default; GA 1.33); on {} the field is dropped and the pod waits forever for this init container",
                    w.version
                ),
                Some("# on this version: run the helper as a regular container, or upgrade the cluster to 1.29+\n".into()),
            )
        })
        .collect()
}
