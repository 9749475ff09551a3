//! The order of the rules, in one place. Each table is tried top to bottom and the first rule that
//! matches gives the verdict: the order is the logic, so it lives here and nowhere else.

use super::super::model::Verdict;
use super::context::{PodSubject, Subject};
use super::{jobs, probes, removal, scheduling, shutdown, termination, waiting};

/// When a container rule applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// The container is waiting (never started, or between restarts).
    Waiting,
    /// An instance ended: `lastState` after a restart, or `state` when terminated.
    Ended,
    /// Running in a pod being deleted.
    Stopping,
    /// Running now (readiness and startup probes).
    Running,
    /// The pod as a whole.
    Pod,
}

pub struct Rule<F> {
    /// A name for the rule (tests and debugging); not a cause id.
    pub id: &'static str,
    pub stage: Stage,
    pub check: F,
}

pub type ContainerCheck = for<'a, 'b> fn(&'b Subject<'a>) -> Option<Verdict>;
pub type PodCheck = for<'a, 'b> fn(&'b PodSubject<'a>) -> Option<Verdict>;
pub type ContainerRule = Rule<ContainerCheck>;
pub type PodRule = Rule<PodCheck>;

const fn rule(id: &'static str, stage: Stage, check: ContainerCheck) -> ContainerRule {
    Rule { id, stage, check }
}

const fn pod_rule(id: &'static str, check: PodCheck) -> PodRule {
    Rule {
        id,
        stage: Stage::Pod,
        check,
    }
}

use Stage::*;

/// Why a container failed, or what it is doing. Waiting reasons that name their cause come first;
/// then the timeline of the ended instance (kills by the kubelet before what the exit code says);
/// then what a waiting container without a recorded end shows; then a container still stopping.
pub const CONTAINER: &[ContainerRule] = &[
    rule("image-pull", Waiting, waiting::image_pull),
    rule("config-error", Waiting, waiting::config_error),
    rule("create-error", Waiting, waiting::create_error),
    rule("start-error", Waiting, waiting::start_error),
    rule("oom", Ended, termination::oom),
    rule("runtime-could-not-start", Ended, termination::runtime_start),
    rule("container-lost", Ended, termination::container_lost),
    rule("deadline", Ended, termination::deadline),
    rule("post-start-hook", Ended, probes::post_start),
    rule("liveness-probe", Ended, probes::liveness),
    rule("startup-probe", Ended, probes::startup),
    rule("stopped-by-kubelet", Ended, shutdown::stopped),
    rule("exec-format-error", Ended, termination::exec_format),
    rule("completed", Ended, termination::completed),
    rule("exit-126", Ended, termination::not_executable),
    rule("exit-127", Ended, termination::command_not_found),
    rule("exit-137", Ended, termination::sigkill_unexplained),
    rule("exit-143", Ended, termination::sigterm),
    rule("signal", Ended, termination::signal),
    rule("app-error", Ended, termination::app_error),
    rule("mount-failed", Waiting, waiting::mount_failed),
    rule("crash-loop-unrecorded", Waiting, waiting::crashloop_unclear),
    rule("terminating", Stopping, shutdown::terminating),
];

/// What a running container that is not ready shows now; merged with the verdict above (the worse
/// one leads). The last rule only speaks when nothing else did.
pub const NOW: &[ContainerRule] = &[
    rule("startup-pending", Running, probes::startup_pending),
    rule("readiness-probe", Running, probes::readiness),
    rule(NOT_READY_UNRECORDED, Running, probes::not_ready_unclear),
];

pub const NOT_READY_UNRECORDED: &str = "not-ready-unrecorded";

/// Why the pod as a whole failed or was removed. Removals first (they explain their containers'
/// ends), the Job's outcome, then a pod that never got going.
pub const POD: &[PodRule] = &[
    pod_rule("admission-rejected", scheduling::admission),
    pod_rule("evicted", removal::evicted),
    pod_rule("preempted", removal::preempted),
    pod_rule("node-shutdown", removal::node_shutdown),
    pod_rule("taint-manager", removal::taint_manager),
    pod_rule("pod-gc", removal::pod_gc),
    pod_rule("api-eviction", removal::api_eviction),
    pod_rule("node-lost", removal::node_lost),
    pod_rule("deadline-exceeded", jobs::deadline),
    pod_rule("job-failed", jobs::job_failed),
    pod_rule("unschedulable", scheduling::unschedulable),
    pod_rule(
        "not-ready-with-ready-containers",
        scheduling::not_ready_with_ready_containers,
    ),
    pod_rule("init-failed", scheduling::init_failed),
];

/// The first rule of `table` that applies at its stage and matches, with its verdict.
pub fn first_match(
    table: &'static [ContainerRule],
    subject: &Subject,
    applies: impl Fn(Stage) -> bool,
) -> Option<(&'static ContainerRule, Verdict)> {
    table
        .iter()
        .filter(|r| applies(r.stage))
        .find_map(|r| (r.check)(subject).map(|v| (r, v)))
}

/// The pod-level verdict: the first rule of [`POD`] that matches.
pub fn pod_verdict(subject: &PodSubject) -> Option<Verdict> {
    POD.iter().find_map(|r| (r.check)(subject))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_names_are_unique_and_the_order_is_the_documented_one() {
        let names: Vec<&str> = CONTAINER.iter().map(|r| r.id).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), names.len(), "duplicate rule ids: {names:?}");
        let pos = |n: &str| names.iter().position(|x| *x == n).expect(n);
        // A kill the kubelet recorded outranks what the exit code alone suggests.
        assert!(pos("liveness-probe") < pos("exit-137"));
        assert!(pos("stopped-by-kubelet") < pos("exit-143"));
        assert!(pos("oom") < pos("stopped-by-kubelet"));
        // A recorded end outranks the volume events of a container waiting again.
        assert!(pos("app-error") < pos("mount-failed"));
        let pod: Vec<&str> = POD.iter().map(|r| r.id).collect();
        let ppos = |n: &str| pod.iter().position(|x| *x == n).expect(n);
        // A pod rejected with reason Evicted ("The node had condition") is an admission rejection.
        assert!(ppos("admission-rejected") < ppos("evicted"));
        // The taint manager's deletion of a pod on a lost node is told as node-lost by its rule.
        assert!(ppos("taint-manager") < ppos("node-lost"));
    }
}
