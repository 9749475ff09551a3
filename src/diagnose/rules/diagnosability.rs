//! Diagnosability: what a crash leaves behind.

use super::helpers::*;
use super::Hit;
use crate::diagnose::context::Context;
use crate::workload::Workload;

/// One finding per workload, covering every container without the policy.
pub(super) fn check_termination_message(w: &Workload, _cx: &Context) -> Vec<Hit> {
    let items = containers(w)
        .iter()
        .filter(|c| c.termination_message_policy.as_deref() != Some("FallbackToLogsOnError"))
        .map(|c| PerContainer {
            container: c.name.clone(),
            message: "terminationMessagePolicy is not FallbackToLogsOnError: when the app crashes without writing /dev/termination-log, `kubectl describe` shows no reason".into(),
            field: "terminationMessagePolicy".into(),
            fix: Some(ContainerFix::body("terminationMessagePolicy: FallbackToLogsOnError")),
        })
        .collect();
    fold(w, items)
}
