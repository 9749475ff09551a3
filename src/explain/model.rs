//! The report types: what `explain` concludes, serialised as the `ExplainReport` schema.
//!
//! ```yaml
//! apiVersion: graceful.kubectl.io/v1alpha1
//! kind: ExplainReport
//! pods:
//! - namespace: shop
//!   name: web-7d4b9c-x2x8k
//!   uid: 5f1c…
//!   phase: Running
//!   node: worker-1
//!   owner: Deployment/web          # optional
//!   ready: 1/2
//!   restarts: 5
//!   healthy: false
//!   verdict: { … }                 # pod-level cause (evicted, unschedulable, …), optional
//!   containers:
//!   - name: app
//!     type: app                    # init | app | ephemeral
//!     image: shop/web:1.4
//!     ready: false
//!     verdict:
//!       cause: oom-killed          # stable id, see `Cause`
//!       severity: failure          # failure | warning | info
//!       summary: …
//!       evidence: [ … ]
//!       action: …
//!     state: { state: waiting, reason: CrashLoopBackOff, message: …, startedAt: … }
//!     lastTermination: { reason: OOMKilled, exitCode: 137, signal: SIGKILL, startedAt, finishedAt, ranForSeconds }
//!     restartCount: 5
//!     backOff: 2m40s
//!     terminationMessage: …
//!     logs: [ … ]                  # tail of the previous (or current) instance's log
//!     logsFrom: previous           # previous | current
//!   events: [ { type, reason, message, count, firstSeen, lastSeen, container } ]
//!   notes: [ … ]                   # degraded sections, expired events, recreated pod, …
//! ```

use serde::Serialize;

pub const API_VERSION: &str = "graceful.kubectl.io/v1alpha1";

/// The top-level machine-readable report.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExplainReport {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub pods: Vec<PodReport>,
}

impl ExplainReport {
    pub fn new(pods: Vec<PodReport>) -> Self {
        ExplainReport {
            api_version: API_VERSION,
            kind: "ExplainReport",
            pods,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodReport {
    pub namespace: String,
    pub name: String,
    pub uid: String,
    pub phase: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// Ready app containers / app containers, as `kubectl get` prints it.
    pub ready: String,
    pub restarts: i32,
    pub healthy: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verdict: Option<Verdict>,
    pub containers: Vec<ContainerReport>,
    pub events: Vec<EventSummary>,
    pub notes: Vec<String>,
    /// Sections that could not be read while the pod is left unexplained (exit code 2).
    #[serde(skip)]
    pub unchecked: Vec<String>,
}

impl PodReport {
    /// The worst severity among the pod's verdicts (None: nothing to report).
    pub fn worst(&self) -> Option<Severity> {
        self.verdict
            .iter()
            .chain(self.containers.iter().filter_map(|c| c.verdict.as_ref()))
            .map(|v| v.severity)
            .max()
    }

    /// True when a failure (or a warning, like a failing readiness probe) was explained, or the pod
    /// failed: this makes the exit code 1. A pod that is only still starting has no findings.
    pub fn has_findings(&self) -> bool {
        self.worst().is_some_and(|s| s >= Severity::Warning) || self.phase == "Failed"
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ContainerType {
    Init,
    App,
    Ephemeral,
}

impl ContainerType {
    pub fn as_str(self) -> &'static str {
        match self {
            ContainerType::Init => "init",
            ContainerType::App => "app",
            ContainerType::Ephemeral => "ephemeral",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerReport {
    pub name: String,
    #[serde(rename = "type")]
    pub type_: ContainerType,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    pub ready: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verdict: Option<Verdict>,
    pub state: StateInfo,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_termination: Option<Termination>,
    pub restart_count: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub back_off: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub termination_message: Option<String>,
    pub logs: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logs_from: Option<String>,
}

impl ContainerReport {
    /// Whether this container deserves a block in the human report.
    pub fn matters(&self) -> bool {
        self.verdict.is_some() || self.restart_count > 0
    }
}

/// A container's current state.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StateInfo {
    /// running | waiting | terminated | unknown
    pub state: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    /// When the current state is `terminated`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub termination: Option<Termination>,
}

/// One terminated container instance.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Termination {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub exit_code: i32,
    /// The signal that killed it, derived from the exit code (128+N) when the runtime did not set it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signal: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ran_for_seconds: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Nothing failed, but worth knowing (a clean shutdown).
    Info,
    /// Not working as intended, nothing restarted (readiness failing, still starting).
    Warning,
    /// A container died, restarts, or never started.
    Failure,
}

/// One cause with the evidence that supports it and what to do.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Verdict {
    pub cause: Cause,
    pub severity: Severity,
    pub summary: String,
    pub evidence: Vec<String>,
    pub action: String,
}

/// The stable cause ids of the JSON schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(strum::EnumCount))]
#[serde(rename_all = "kebab-case")]
pub enum Cause {
    /// The container hit its memory limit (reason OOMKilled with a limit set).
    OomKilled,
    /// OOMKilled without a memory limit: the node (or pod cgroup) ran out of memory.
    NodeOom,
    /// SIGKILLed at the end of the termination grace period.
    GracePeriodExceeded,
    /// Restarted by a failing liveness probe.
    LivenessProbe,
    /// Not ready because the readiness probe fails (never restarts anything).
    ReadinessProbe,
    /// The startup probe never succeeded.
    StartupProbe,
    /// The postStart hook failed and the container was killed.
    PostStartHook,
    /// The preStop hook failed.
    PreStopHook,
    /// The application exited with an error code (1, 2, 255, …).
    AppError,
    /// Exit 126: the command is not executable.
    NotExecutable,
    /// Exit 127: the command was not found.
    CommandNotFound,
    /// Died of a signal (SIGSEGV, SIGABRT, SIGKILL from outside, …).
    Signal,
    /// Exit 143 without the kubelet stopping it: something else sent SIGTERM, and the app did not handle it.
    Sigterm,
    /// The kubelet stopped it and the app shut down on its own (exit 0/143): not a failure.
    Stopped,
    /// Still running in a pod being deleted (a warning when it will likely be SIGKILLed at the deadline).
    Terminating,
    /// Exit 0 where restartPolicy Always expects a server that keeps running.
    CompletedUnexpectedly,
    /// The image cannot be pulled.
    ImagePull,
    /// CreateContainerConfigError: a missing Secret/ConfigMap or key, or a runAsNonRoot violation.
    ConfigError,
    /// CreateContainerError.
    CreateError,
    /// The runtime could not start the process (StartError, ContainerCannotRun, RunContainerError), or
    /// the program is built for another CPU architecture (exec format error).
    StartError,
    /// A volume cannot be mounted.
    MountFailed,
    /// An init container fails, so the app containers never start.
    InitFailed,
    /// The scheduler finds no node (the reasons are read from its message).
    Unschedulable,
    /// The kubelet evicted the pod: node pressure (memory, disk, inodes, PIDs) or a storage limit
    /// (the pod's, an emptyDir's, a container's).
    Evicted,
    /// Evicted through the Eviction API (drain, descheduler, …).
    ApiEviction,
    /// Preempted for a higher-priority pod.
    Preempted,
    /// Deleted by the taint eviction controller for a NoExecute taint that is not the node
    /// lifecycle controller's (those make it `node-lost`).
    TaintEviction,
    /// Terminated because the node shut down.
    NodeShutdown,
    /// The node went NotReady, unreachable or disappeared (also when the taint eviction controller
    /// deleted the pod for it).
    NodeLost,
    /// Deleted by the pod garbage collector (node gone, or terminated pods over the limit).
    PodGc,
    /// activeDeadlineSeconds ran out (Job or pod).
    DeadlineExceeded,
    /// The owning Job failed (backoff limit, pod failure policy): this pod is one of its failed attempts.
    JobFailed,
    /// The kubelet rejected the pod at admission (OutOfcpu, NodeAffinity, …).
    AdmissionRejected,
    /// The container could not be located when the pod was terminated (ContainerStatusUnknown).
    ContainerLost,
    /// The evidence does not support a single cause: what was seen, and what to check.
    Unclear,
}

impl Cause {
    /// Every cause, in the order the README and the JSON schema list them.
    pub const ALL: &'static [Cause] = &[
        Cause::OomKilled,
        Cause::NodeOom,
        Cause::GracePeriodExceeded,
        Cause::LivenessProbe,
        Cause::ReadinessProbe,
        Cause::StartupProbe,
        Cause::PostStartHook,
        Cause::PreStopHook,
        Cause::AppError,
        Cause::NotExecutable,
        Cause::CommandNotFound,
        Cause::Signal,
        Cause::Sigterm,
        Cause::Stopped,
        Cause::Terminating,
        Cause::CompletedUnexpectedly,
        Cause::ImagePull,
        Cause::ConfigError,
        Cause::CreateError,
        Cause::StartError,
        Cause::MountFailed,
        Cause::InitFailed,
        Cause::Unschedulable,
        Cause::Evicted,
        Cause::ApiEviction,
        Cause::Preempted,
        Cause::TaintEviction,
        Cause::NodeShutdown,
        Cause::NodeLost,
        Cause::PodGc,
        Cause::DeadlineExceeded,
        Cause::JobFailed,
        Cause::AdmissionRejected,
        Cause::ContainerLost,
        Cause::Unclear,
    ];

    pub fn id(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    }
}

/// An event as shown in the report.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EventSummary {
    #[serde(rename = "type")]
    pub type_: String,
    pub reason: String,
    pub message: String,
    pub count: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_seen: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Backticked words of `text` between `from` and `to`.
    fn backticked(text: &str, from: &str, to: &str) -> Vec<String> {
        let start = text.find(from).expect(from) + from.len();
        let end = start + text[start..].find(to).expect(to);
        text[start..end]
            .split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn cause_ids_agree_in_code_readme_schema_and_module_docs() {
        let ids: Vec<String> = Cause::ALL.iter().map(|c| c.id()).collect();
        let mut unique = ids.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), ids.len(), "duplicate ids");
        // As many distinct causes as variants: every variant is in `Cause::ALL`.
        assert_eq!(
            ids.len(),
            <Cause as strum::EnumCount>::COUNT,
            "a cause missing from Cause::ALL"
        );

        let readme = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"));
        assert_eq!(
            backticked(readme, "Cause ids (`verdict.cause`):", ".\n"),
            ids,
            "README's list of cause ids"
        );
        // The ExplainReport schema in the README lists them as `# cause: a | b | …`.
        let start = readme.find("    # cause: ").expect("schema cause line");
        let schema: Vec<String> = readme[start..]
            .lines()
            .take_while(|l| l.trim_start().starts_with('#'))
            .collect::<Vec<_>>()
            .join(" ")
            .replace('#', " ")
            .replace("cause:", " ")
            .split('|')
            .map(|s| s.trim().to_string())
            .collect();
        assert_eq!(schema, ids, "README's ExplainReport schema");

        let module = include_str!("mod.rs");
        assert_eq!(
            backticked(
                module,
                "## Cause ids (`verdict.cause` in `-o json|yaml`)\n",
                "[`model::Cause`]"
            ),
            ids,
            "src/explain/mod.rs docs"
        );
    }
}
