//! What every rule looks at: the pod with its own events ([`Ctx`]) and, for container rules, one
//! container with its spec, status, events and the instance being explained ([`Subject`]).

use k8s_openapi::api::core::v1::{ContainerStatus, Pod, PodCondition};

use super::super::events::EventRecord;
use super::super::facts::SpecFacts;
use super::super::model::{ContainerReport, ContainerType};
use super::inputs::Extra;
use super::timeline::Instance;

/// The pod being explained, its events (only its own, in time order) and the facts around it.
pub struct Ctx<'a> {
    pub pod: &'a Pod,
    pub events: Vec<EventRecord>,
    pub extra: &'a Extra,
    /// The pod's restartPolicy (`Always` unless set).
    pub restart_policy: String,
    /// terminationGracePeriodSeconds (30 unless set).
    pub grace: i64,
    /// When deletion was requested (deletionTimestamp − deletionGracePeriodSeconds) and that grace.
    pub deletion: Option<(i64, i64)>,
}

impl<'a> Ctx<'a> {
    pub fn new(pod: &'a Pod, events: Vec<EventRecord>, extra: &'a Extra) -> Ctx<'a> {
        let spec = pod.spec.as_ref();
        let grace = spec
            .and_then(|s| s.termination_grace_period_seconds)
            .unwrap_or(30);
        let meta = &pod.metadata;
        let deletion = meta.deletion_timestamp.as_ref().map(|d| {
            let g = meta.deletion_grace_period_seconds.unwrap_or(grace);
            (d.0.as_second().saturating_sub(g), g)
        });
        Ctx {
            pod,
            events,
            extra,
            restart_policy: spec
                .and_then(|s| s.restart_policy.clone())
                .unwrap_or_else(|| "Always".into()),
            grace,
            deletion,
        }
    }

    /// `NAME -n NAMESPACE`, for commands to paste.
    pub fn pod_name(&self) -> String {
        let n = self.pod.metadata.name.clone().unwrap_or_default();
        match &self.pod.metadata.namespace {
            Some(ns) => format!("{n} -n {ns}"),
            None => n,
        }
    }

    pub fn namespace(&self) -> &str {
        self.pod.metadata.namespace.as_deref().unwrap_or("default")
    }

    pub fn node_name(&self) -> Option<&str> {
        self.pod.spec.as_ref().and_then(|s| s.node_name.as_deref())
    }

    pub fn phase(&self) -> &str {
        self.pod
            .status
            .as_ref()
            .and_then(|s| s.phase.as_deref())
            .unwrap_or("")
    }

    /// `status.reason` and `status.message` of the pod.
    pub fn status_reason(&self) -> (&str, &str) {
        let s = self.pod.status.as_ref();
        (
            s.and_then(|s| s.reason.as_deref()).unwrap_or(""),
            s.and_then(|s| s.message.as_deref()).unwrap_or(""),
        )
    }

    pub fn cond(&self, type_: &str) -> Option<&'a PodCondition> {
        self.pod
            .status
            .as_ref()?
            .conditions
            .as_ref()?
            .iter()
            .find(|c| c.type_ == type_)
    }

    /// The DisruptionTarget condition when True: who is removing the pod, and why.
    pub fn disruption(&self) -> Option<(&'a str, &'a str)> {
        self.cond("DisruptionTarget")
            .filter(|c| c.status == "True")
            .map(|c| {
                (
                    c.reason.as_deref().unwrap_or(""),
                    c.message.as_deref().unwrap_or(""),
                )
            })
    }

    /// The pod's events with this reason.
    pub fn events_with(&self, reason: &str) -> Vec<&EventRecord> {
        self.events.iter().filter(|e| e.reason == reason).collect()
    }

    pub fn container_statuses(&self) -> impl Iterator<Item = &'a ContainerStatus> {
        self.pod
            .status
            .as_ref()
            .and_then(|s| s.container_statuses.as_ref())
            .into_iter()
            .flatten()
    }
}

/// One container as a rule sees it.
pub struct Subject<'a> {
    pub ctx: &'a Ctx<'a>,
    pub name: &'a str,
    pub ctype: ContainerType,
    pub spec: &'a SpecFacts,
    pub status: Option<&'a ContainerStatus>,
    /// Every event about this container.
    pub events: Vec<&'a EventRecord>,
    /// The terminated instance to explain: `lastState` when waiting or running again, `state` when
    /// terminated.
    pub instance: Option<Instance<'a>>,
    /// The log tail shown for this container.
    pub log_lines: &'a [String],
}

impl<'a> Subject<'a> {
    /// The waiting reason and message.
    pub fn waiting(&self) -> Option<(&'a str, &'a str)> {
        let w = self.status?.state.as_ref()?.waiting.as_ref()?;
        Some((
            w.reason.as_deref().unwrap_or(""),
            w.message.as_deref().unwrap_or(""),
        ))
    }

    /// Some(start time) when running now.
    pub fn running_since(&self) -> Option<Option<i64>> {
        let r = self.status?.state.as_ref()?.running.as_ref()?;
        Some(r.started_at.as_ref().map(|t| t.0.as_second()))
    }

    pub fn ready(&self) -> bool {
        self.status.is_some_and(|s| s.ready)
    }

    /// True when the kubelet restarts this container whenever it exits (app containers of a
    /// restartPolicy Always pod, native sidecars).
    pub fn restart_always(&self) -> bool {
        match self.ctype {
            ContainerType::App => self.ctx.restart_policy == "Always",
            ContainerType::Init => self.spec.restart_policy.as_deref() == Some("Always"),
            ContainerType::Ephemeral => false,
        }
    }

    /// The image, from the status or the spec.
    pub fn image(&self) -> String {
        self.status
            .map(|s| s.image.clone())
            .filter(|i| !i.is_empty())
            .or_else(|| self.spec.image.clone())
            .unwrap_or_default()
    }

    /// `(the image's entry point)` when the spec sets no command.
    pub fn command_text(&self) -> String {
        let c = self.spec.command_line();
        if c.trim().is_empty() {
            "(the image's entry point)".into()
        } else {
            c
        }
    }
}

/// The pod as a pod-level rule sees it: with its container reports already made.
pub struct PodSubject<'a> {
    pub ctx: &'a Ctx<'a>,
    pub containers: &'a [ContainerReport],
}
