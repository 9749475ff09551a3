//! Rules for a container that cannot start: the image, its configuration, the runtime, its volumes.
//! Each reads the message, not only the waiting reason, and names the object the message names.

use super::super::events::EventRecord;
use super::super::model::{Cause, Severity, Verdict};
use super::context::Subject;
use super::termination::node_arch;
use super::words::{event_line, missing_key, nonempty, quoted_after, verdict};

const PULL_REASONS: &[&str] = &[
    "ErrImagePull",
    "ImagePullBackOff",
    "InvalidImageName",
    "ErrImageNeverPull",
];

/// What went wrong with a pull, read from the registry's or the kubelet's own words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pull {
    PolicyNever,
    Invalid,
    Platform,
    NotFoundOrDenied,
    NotFound,
    Unauthorized,
    RateLimited,
    Tls,
    Unreachable,
    Other,
}

fn classify_pull(reason: &str, text: &str) -> Pull {
    let low = text.to_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| low.contains(w));
    if reason == "ErrImageNeverPull" || has(&["pull policy of never"]) {
        Pull::PolicyNever
    } else if reason == "InvalidImageName"
        || has(&[
            "invalid reference format",
            "failed to apply default image tag",
        ])
    {
        Pull::Invalid
    } else if has(&["no match for platform in manifest"]) {
        Pull::Platform
    } else if has(&["repository does not exist or may require"]) {
        // Docker Hub answers both cases the same way.
        Pull::NotFoundOrDenied
    } else if has(&["toomanyrequests", "too many requests", "rate limit"]) {
        Pull::RateLimited
    } else if has(&[
        "unauthorized",
        "authorization failed",
        "authentication required",
        "no basic auth credentials",
        "access denied",
        "denied:",
        "403 forbidden",
        "failed to fetch anonymous token",
    ]) {
        Pull::Unauthorized
    } else if has(&["not found", "manifest unknown", "name unknown", "404"]) {
        Pull::NotFound
    } else if has(&["x509", "certificate", "tls:"]) {
        Pull::Tls
    } else if has(&[
        "i/o timeout",
        "dial tcp",
        "no such host",
        "connection refused",
        "context deadline exceeded",
        "network is unreachable",
        "registry is unavailable",
        "connection reset",
    ]) {
        Pull::Unreachable
    } else {
        Pull::Other
    }
}

/// Events that carry the pull's real error (not the generic `Error: ErrImagePull` / `Back-off pulling`).
fn informative_pull_event(e: &EventRecord) -> bool {
    (e.reason == "Failed" && e.message.starts_with("Failed to pull image"))
        || e.reason == "InspectFailed"
        || e.reason == "ErrImageNeverPull"
}

/// `registry.example.com/shop/web:1.4` → `registry.example.com`; Docker Hub names → `docker.io`.
fn registry_of(image: &str) -> String {
    match image.split_once('/') {
        Some((host, _)) if host.contains('.') || host.contains(':') || host == "localhost" => {
            host.to_string()
        }
        _ => "docker.io".into(),
    }
}

pub fn image_pull(s: &Subject) -> Option<Verdict> {
    let (reason, msg) = s.waiting()?;
    if !PULL_REASONS.contains(&reason) {
        return None;
    }
    let image = s.image();
    // Evidence by information, not recency: the registry's errors, newest first, one per message.
    let mut informative: Vec<&EventRecord> = Vec::new();
    for e in s
        .events
        .iter()
        .rev()
        .copied()
        .filter(|e| informative_pull_event(e))
    {
        if !informative.iter().any(|k| k.message == e.message) {
            informative.push(e);
        }
    }
    informative.truncate(2);
    informative.reverse();
    // The waiting message carries the error itself on recent kubelets
    // (`Back-off pulling image "x": ErrImagePull: …`); the events do on all of them.
    let text = std::iter::once(msg)
        .chain(informative.iter().map(|e| e.message.as_str()))
        .max_by_key(|m| m.len())
        .unwrap_or(msg);
    let problem = classify_pull(reason, text);
    // The waiting message often repeats an event's text: then the event (with its count) says it.
    let repeated =
        !msg.trim().is_empty() && informative.iter().any(|e| e.message.contains(msg.trim()));
    let mut ev = vec![if repeated {
        format!("waiting: {reason}")
    } else {
        format!("waiting: {reason}: {}", nonempty(msg, "(no message)"))
    }];
    ev.extend(informative.iter().map(|e| event_line(e)));
    let registry = registry_of(&image);
    let node = s.ctx.node_name().unwrap_or("the node").to_string();
    let (what, action) = match problem {
        Pull::PolicyNever => (
            "imagePullPolicy is Never and the image is not on the node".to_string(),
            format!("load the image onto {node} (e.g. `kind load docker-image`, `minikube image load`), or set imagePullPolicy: IfNotPresent so the kubelet pulls it"),
        ),
        Pull::Invalid => (
            "the image reference is malformed".into(),
            "fix spec.containers[].image (lowercase repository, one tag after a colon, or a digest after @)".into(),
        ),
        Pull::Platform => {
            let arch = node_arch(s);
            if let Some(a) = &arch {
                ev.push(format!("node {node} is {a}"));
            }
            (
                format!(
                    "the image has no build for the node's platform{}",
                    arch.map(|a| format!(" (linux/{a})")).unwrap_or_default()
                ),
                "publish the image for the node's architecture (a multi-arch build, e.g. `docker buildx build --platform linux/amd64,linux/arm64`), or schedule the pod on nodes of an architecture the image has (nodeSelector kubernetes.io/arch)".into(),
            )
        }
        Pull::NotFoundOrDenied => (
            "the repository does not exist, or it is private and the pull has no credentials".into(),
            format!("check the image name for a typo; if it is private, add imagePullSecrets with credentials for {registry} to the pod or its ServiceAccount"),
        ),
        Pull::NotFound => (
            "the image or tag does not exist".into(),
            format!("the image or tag does not exist in {registry}: fix the name/tag in spec.containers[].image (list the tags with `crane ls` or the registry's UI)"),
        ),
        Pull::Unauthorized => (
            format!("{registry} refuses the pull (no or wrong credentials)"),
            format!("the registry refuses access: add or fix imagePullSecrets with credentials for {registry} (on the pod or its ServiceAccount), or the node's registry credentials"),
        ),
        Pull::RateLimited => (
            format!("{registry} rate-limits the pulls"),
            "authenticate the pulls with imagePullSecrets (higher limits), or mirror the image to a registry you run".into(),
        ),
        Pull::Tls => (
            format!("the node does not trust {registry}'s TLS certificate"),
            format!("give the node's container runtime the CA that signed {registry}'s certificate (containerd: certs.d/hosts.toml), or fix the registry's certificate"),
        ),
        Pull::Unreachable => (
            format!("the node cannot reach {registry}"),
            format!("check the node's DNS, egress firewall and proxy settings for {registry}, and that the registry is up"),
        ),
        Pull::Other => (
            "see the registry's error".into(),
            "check the image name, tag and registry reachability from the node; private registries need imagePullSecrets".into(),
        ),
    };
    Some(verdict(
        Cause::ImagePull,
        Severity::Failure,
        format!("the image {image} cannot be pulled: {what}"),
        ev,
        action,
    ))
}

pub fn config_error(s: &Subject) -> Option<Verdict> {
    let (reason, msg) = s.waiting()?;
    if reason != "CreateContainerConfigError" {
        return None;
    }
    let ns = s.ctx.namespace();
    let (summary, action) = if msg.contains("runAsNonRoot") && msg.contains("non-numeric user") {
        let user = msg
            .split("non-numeric user (")
            .nth(1)
            .and_then(|r| r.split(')').next())
            .unwrap_or("a name");
        (
            format!("runAsNonRoot is set and the image's user is a name ({user}), which the kubelet cannot check"),
            "set securityContext.runAsUser to the user's numeric UID (e.g. 1000), or make the image's USER numeric".to_string(),
        )
    } else if msg.contains("runAsNonRoot") {
        (
            "runAsNonRoot is set but the image runs as root".to_string(),
            "set securityContext.runAsUser to a non-zero UID the image works with, or use an image whose USER is not root".to_string(),
        )
    } else if let Some((key, kind, obj)) = missing_key(msg) {
        (
            format!("key {key} is not in {kind} {obj}"),
            format!("add key {key} to {kind} {obj} (`kubectl get {} {} -o yaml`), fix the key name in the env/volume reference, or mark it `optional: true`", kind.to_lowercase(), obj.rsplit('/').next().unwrap_or(&obj)),
        )
    } else if let Some(name) = quoted_after(msg, "secret ") {
        (
            format!("Secret {name} does not exist in namespace {ns}"),
            format!("create Secret {name} in namespace {ns} (or fix the name in the pod's env/envFrom), or mark the reference `optional: true`"),
        )
    } else if let Some(name) = quoted_after(msg, "configmap ") {
        (
            format!("ConfigMap {name} does not exist in namespace {ns}"),
            format!("create ConfigMap {name} in namespace {ns} (or fix the name in the pod's env/envFrom), or mark the reference `optional: true`"),
        )
    } else {
        (
            format!(
                "the container cannot be configured: {}",
                nonempty(msg, "no message")
            ),
            "fix what the message names in the container's env, volumes or securityContext"
                .to_string(),
        )
    };
    Some(verdict(
        Cause::ConfigError,
        Severity::Failure,
        summary,
        vec![format!("waiting: CreateContainerConfigError: {msg}")],
        action,
    ))
}

pub fn create_error(s: &Subject) -> Option<Verdict> {
    let (reason, msg) = s.waiting()?;
    if reason != "CreateContainerError" {
        return None;
    }
    let low = msg.to_lowercase();
    let action = if low.contains("is reserved for") {
        "the runtime is still creating an earlier attempt (a slow disk or an overloaded node): it usually clears by itself; if not, check containerd/CRI-O on the node"
    } else if low.contains("executable file not found")
        || low.contains("no such file or directory") && low.contains("exec")
    {
        "the command does not exist in the image: fix command/args or the image"
    } else if low.contains("subpath") {
        "fix the subPath mount: the path must exist in the volume (and not be a symlink leaving it)"
    } else {
        "fix what the message names (a duplicate name, a bad volume or device, a missing file in a subPath mount)"
    };
    Some(verdict(
        Cause::CreateError,
        Severity::Failure,
        format!(
            "the runtime cannot create the container: {}",
            short_runtime_error(msg)
        ),
        vec![format!("waiting: CreateContainerError: {msg}")],
        action,
    ))
}

pub fn start_error(s: &Subject) -> Option<Verdict> {
    let (reason, msg) = s.waiting()?;
    if !matches!(
        reason,
        "RunContainerError" | "StartError" | "ContainerCannotRun"
    ) {
        return None;
    }
    let mut ev = vec![format!("waiting: {reason}: {msg}")];
    let mut runtime = msg.to_string();
    if let Some(i) = &s.instance {
        ev.push(format!("last attempt: {}", i.exit()));
        if !i.message().is_empty() {
            ev.push(format!("runtime message: {}", i.message()));
            runtime.push(' ');
            runtime.push_str(i.message());
        }
    }
    ev.push(format!("command: {}", s.command_text()));
    Some(verdict(
        Cause::StartError,
        Severity::Failure,
        format!(
            "the runtime cannot start the process: {}",
            short_runtime_error(msg)
        ),
        ev,
        runtime_action(s, &runtime),
    ))
}

/// The telling part of a runtime's error (the full text is in the evidence): `exec: "/x": permission
/// denied` out of runc's wrapping, or a plain phrase for containerd's name reservation.
pub fn short_runtime_error(msg: &str) -> String {
    let msg = msg.trim();
    if msg.is_empty() {
        return "no message".into();
    }
    if msg.contains("failed to reserve container name") {
        return "an earlier attempt still holds the container's name".into();
    }
    if let Some(i) = msg.rfind("exec: ").or_else(|| msg.rfind("exec ")) {
        return msg[i..].trim_end_matches(": unknown").trim().to_string();
    }
    if msg.chars().count() > 120 {
        let cut: String = msg.chars().take(117).collect();
        return format!("{cut}…");
    }
    msg.to_string()
}

/// What to do about a runtime's start error, from its message.
pub fn runtime_action(s: &Subject, msg: &str) -> String {
    let low = msg.to_lowercase();
    if low.contains("exec format error") {
        exec_format_action(s)
    } else if low.contains("permission denied") {
        "the entry point is not executable for the container's user: fix its file mode in the image (chmod +x / COPY --chmod=755) or the securityContext's runAsUser".into()
    } else if low.contains("no such file") || low.contains("not found") {
        "the command does not exist in the image: fix command/args or the image".into()
    } else {
        "fix the container's command, working directory or security context as the runtime message says".into()
    }
}

pub fn exec_format_action(s: &Subject) -> String {
    match node_arch(s) {
        Some(a) => format!("the node is {a}: publish the image for linux/{a} (a multi-arch build), or schedule the pod on nodes of the image's architecture (nodeSelector kubernetes.io/arch)"),
        None => "publish the image for the node's architecture (check `kubectl get node -L kubernetes.io/arch`; a multi-arch build covers all), or schedule the pod on nodes of the image's architecture".into(),
    }
}

/// Volume events are about the pod, not a container: any FailedMount/FailedAttachVolume blocks them all.
pub fn mount_failed(s: &Subject) -> Option<Verdict> {
    s.waiting()?;
    let mounts: Vec<&EventRecord> = s
        .ctx
        .events
        .iter()
        .filter(|e| e.reason == "FailedMount" || e.reason == "FailedAttachVolume")
        .collect();
    let last = *mounts.last()?;
    // The most telling one: a Multi-Attach error outranks the generic timeout that follows it.
    let key = mounts
        .iter()
        .rev()
        .find(|e| e.message.contains("Multi-Attach"))
        .or_else(|| {
            mounts
                .iter()
                .rev()
                .find(|e| e.message.contains("MountVolume.SetUp failed"))
        })
        .copied()
        .unwrap_or(last);
    let mut ev: Vec<String> = vec![event_line(key)];
    if key.message != last.message {
        ev.push(event_line(last));
    }
    let m = &key.message;
    let (what, action) = if m.contains("Multi-Attach") {
        let volume = quoted_after(m, "for volume ").unwrap_or("the volume");
        let users = m
            .split("already used by pod(s) ")
            .nth(1)
            .map(|p| format!(" (in use by {})", p.trim()))
            .unwrap_or_default();
        (
            format!("volume {volume} is still attached to another node{users}"),
            "a ReadWriteOnce volume attaches to one node at a time: let the old pod on the other node finish (a pod stuck Terminating on a lost node holds it: check the node, then force-delete that pod), avoid overlapping old and new pods (Recreate strategy, StatefulSet), or use a ReadWriteMany volume".to_string(),
        )
    } else if let Some(secret) = quoted_after(m, ": secret ") {
        (
            format!("Secret {secret} does not exist in namespace {}", s.ctx.namespace()),
            format!("create Secret {secret}, fix the secretName of the volume, or mark it `optional: true`"),
        )
    } else if let Some(cm) = quoted_after(m, ": configmap ") {
        (
            format!("ConfigMap {cm} does not exist in namespace {}", s.ctx.namespace()),
            format!("create ConfigMap {cm}, fix the name of the volume's configMap, or mark it `optional: true`"),
        )
    } else {
        let volume = quoted_after(m, "for volume ")
            .map(|v| format!("volume {v}"))
            .unwrap_or_else(|| "a volume".into());
        (
            format!("{volume} cannot be mounted"),
            "fix the volume: check the claims (`kubectl describe pvc`), the storage driver's pods and the node".to_string(),
        )
    };
    // What the claims say, when they were read.
    for c in &s.ctx.extra.claims {
        ev.push(super::scheduling::claim_line(c));
    }
    Some(verdict(
        Cause::MountFailed,
        Severity::Failure,
        what,
        ev,
        action,
    ))
}

pub fn crashloop_unclear(s: &Subject) -> Option<Verdict> {
    let (reason, msg) = s.waiting()?;
    (reason == "CrashLoopBackOff").then(|| {
        verdict(
            Cause::Unclear,
            Severity::Failure,
            "the container is in a crash loop, but its last termination is not recorded",
            vec![format!("waiting: CrashLoopBackOff: {msg}")],
            format!(
                "read `kubectl logs {} -c {} --previous`",
                s.ctx.pod_name(),
                s.name
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pull_errors_are_told_apart_by_their_words() {
        let c = |m: &str| classify_pull("ErrImagePull", m);
        assert_eq!(
            c("failed to resolve reference \"x\": x: not found"),
            Pull::NotFound
        );
        assert_eq!(c("unexpected status from HEAD request to https://r/v2/x/manifests/1: 401 Unauthorized"), Pull::Unauthorized);
        assert_eq!(
            c("no match for platform in manifest: not found"),
            Pull::Platform
        );
        assert_eq!(
            c("tls: failed to verify certificate: x509: certificate signed by unknown authority"),
            Pull::Tls
        );
        assert_eq!(c("dial tcp 10.0.0.5:443: i/o timeout"), Pull::Unreachable);
        assert_eq!(c("429 Too Many Requests - Server message: toomanyrequests: You have reached your pull rate limit."), Pull::RateLimited);
        assert_eq!(c("pull access denied for acme/app, repository does not exist or may require 'docker login'"), Pull::NotFoundOrDenied);
        assert_eq!(classify_pull("ErrImageNeverPull", ""), Pull::PolicyNever);
        assert_eq!(registry_of("nginx:1.25"), "docker.io");
        assert_eq!(registry_of("ghcr.io/acme/app:1"), "ghcr.io");
        assert_eq!(registry_of("localhost:5000/app"), "localhost:5000");
    }
}
