//! Diagnosability: what a crash leaves behind.

use super::helpers::*;
use super::Hit;
use crate::diagnose::model::Workload;

pub(super) fn check_termination_message(w: &Workload) -> Vec<Hit> {
    containers(w)
        .iter()
        .filter(|c| c.termination_message_policy.as_deref() != Some("FallbackToLogsOnError"))
        .map(|c| {
            hit(
                Some(&c.name),
                container_field(w, &c.name, "terminationMessagePolicy"),
                format!(
                    "terminationMessagePolicy is {}: when the app crashes without writing /dev/termination-log, `kubectl describe` shows no reason",
                    c.termination_message_policy.as_deref().unwrap_or("File (default)")
                ),
                Some(container_fix(w, &c.name, "terminationMessagePolicy: FallbackToLogsOnError")),
            )
        })
        .collect()
}
