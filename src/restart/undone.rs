//! What is left undone when a restart stops, in words a person can act on: the command lines that pick
//! up an interrupted run, and for each critical section (a write whose answer is needed, an evicted bare
//! pod not created again yet) what to check or do by hand if the tool stops inside it or the API server
//! stops answering. Every such sentence is worded here, once; they travel as data (the `Interrupted`
//! event's `unfinished` and `resume`, an `Unknown` target's verdict) and [`super::render`] prints them.

use std::path::Path;

use super::model::{State, TargetState};
use super::plan::Step;
use crate::target::Kind;

/// A target state's `KIND/NAME` and namespace (its display may be qualified `NS/KIND/NAME`).
pub(crate) fn unqualified(s: &TargetState) -> (&str, &str) {
    let t = s.target.as_str();
    match t.split_once('/') {
        Some((first, rest)) if rest.contains('/') => (rest, first),
        _ => (t, s.namespace.as_str()),
    }
}

/// The command lines that pick up where an interrupted run stopped.
pub(super) fn resume_hints(
    states: &[TargetState],
    steps: &[Step],
    ns: &str,
    resume_flags: &str,
) -> Vec<String> {
    let mut out = Vec::new();
    for (s, step) in states.iter().zip(steps) {
        if s.state != State::Interrupted {
            continue;
        }
        let (target, tns) = unqualified(s);
        if step.target.kind == Kind::Pod {
            if s.settled {
                out.push(format!(
                    "{}: {}; follow it with `kubectl get pod {} -n {tns} -w`",
                    s.target, s.phase, step.target.name
                ));
            }
        } else if s.strategy != "OnDelete" || s.settled {
            out.push(format!(
                "{}: the controller continues on its own; follow it with `kubectl rollout status {target} -n {tns}`",
                s.target
            ));
        }
    }
    let remaining: Vec<String> = states
        .iter()
        .filter(|s| {
            matches!(s.state, State::Skipped | State::Pending)
                || (s.state == State::Interrupted
                    && !s.settled
                    && matches!(s.strategy.as_str(), "OnDelete" | "Eviction"))
        })
        .map(|s| s.target.clone())
        .collect();
    if !remaining.is_empty() {
        out.push(format!(
            "to resume: kubectl graceful restart {} -n {ns}{resume_flags}",
            remaining.join(" ")
        ));
    }
    out
}

/// Inside the restart patch of `target` (its display), `kind_name` (`deployment/web`) in `ns`.
pub(super) fn patch_sent(target: &str, value: &str, kind_name: &str, ns: &str) -> String {
    format!(
        "the patch of {target} (restartedAt {value}) was sent but not confirmed: check it with `kubectl get {kind_name} -n {ns} -o yaml`"
    )
}

/// The restart patch `action` got no answer.
pub(super) fn patch_unanswered(action: &str, value: &str, kind_name: &str, ns: &str) -> String {
    format!(
        "{action} was sent but not confirmed (check whether its pod template carries restartedAt {value}: `kubectl get {kind_name} -n {ns} -o yaml`)"
    )
}

/// Inside the rollback of `target` (`KIND/NAME`) in `ns`.
pub(super) fn rollback_under_way(target: &str, ns: &str) -> String {
    format!(
        "the rollback of {target} was under way: check it with `kubectl rollout status {target} -n {ns}`, or undo the restart with `kubectl rollout undo {target} -n {ns}`"
    )
}

/// The pod `ns/name` `what` ("was evicted and is not created again yet"); `saved` is where its manifest
/// was saved when it has no controller to replace it.
pub(super) fn evicted_pod(ns: &str, name: &str, what: &str, saved: Option<&Path>) -> String {
    match saved {
        Some(path) => format!(
            "pod {ns}/{name} {what}: once `kubectl get pod {name} -n {ns}` says NotFound, create it again with `kubectl create -f {}`",
            path.display()
        ),
        None => format!(
            "pod {ns}/{name} {what}: its controller replaces it (`kubectl get pod {name} -n {ns}`)"
        ),
    }
}

/// The eviction `action` got no answer; `if_evicted` is [`evicted_pod`]'s instruction.
pub(super) fn eviction_unanswered(action: &str, if_evicted: &str) -> String {
    format!("{action} (sent, not confirmed; {if_evicted})")
}

/// Creating the saved pod `ns/name` again (`action`) got no answer.
pub(super) fn create_unanswered(action: &str, name: &str, ns: &str, saved: &Path) -> String {
    format!(
        "{action} (sent, not confirmed: if `kubectl get pod {name} -n {ns}` says NotFound, create it with `kubectl create -f {}`)",
        saved.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::restart::options::tests::with_flags_to_resume;
    use crate::restart::plan::Subject;
    use crate::target::Target;

    fn step(kind: Kind, name: &str) -> Step {
        let subject = match kind {
            Kind::Pod => Subject::Pod(Box::new(
                serde_yaml::from_str(&format!("metadata: {{name: {name}}}")).unwrap(),
            )),
            _ => Subject::Workload(Box::new(crate::workload::from_yaml(&format!(
                "kind: {}\nmetadata: {{name: {name}}}\nspec: {{selector: {{}}, template: {{}}}}",
                kind.as_str()
            )))),
        };
        Step {
            target: Target {
                kind,
                name: name.into(),
            },
            ns: "shop".into(),
            home: "shop".into(),
            subject,
            findings: vec![],
        }
    }

    #[test]
    fn resume_hints_name_what_is_left() {
        let steps = [
            step(Kind::Deployment, "a"),
            step(Kind::StatefulSet, "b"),
            step(Kind::DaemonSet, "c"),
        ];
        let mut states: Vec<TargetState> = steps
            .iter()
            .map(|s| TargetState::new(s.display(), "shop", s.strategy(), 1))
            .collect();
        states[0].state = State::Complete;
        states[1].state = State::Interrupted;
        states[2].state = State::Skipped;
        let o = with_flags_to_resume();
        let hints = resume_hints(&states, &steps, "shop", &o.resume_flags);
        assert_eq!(
            hints,
            [
                "sts/b: the controller continues on its own; follow it with `kubectl rollout status sts/b -n shop`",
                "to resume: kubectl graceful restart ds/c -n shop --stable-for 30s --timeout 10m --force",
            ]
        );
        // Evictions stop with the tool: an interrupted pod target is resumed, not followed.
        let steps = [step(Kind::Pod, "p")];
        let mut states = vec![TargetState::new("pod/p".into(), "d", "Eviction", 1)];
        states[0].state = State::Interrupted;
        assert_eq!(
            resume_hints(&states, &steps, "d", ""),
            ["to resume: kubectl graceful restart pod/p -n d"]
        );
    }

    #[test]
    fn an_evicted_pod_says_how_to_get_it_back() {
        assert_eq!(
            evicted_pod("d", "solo", "was evicted and is not created again yet", Some(Path::new("/s/solo.yaml"))),
            "pod d/solo was evicted and is not created again yet: once `kubectl get pod solo -n d` says NotFound, create it again with `kubectl create -f /s/solo.yaml`"
        );
        assert_eq!(
            evicted_pod("d", "web-1", "may have been evicted", None),
            "pod d/web-1 may have been evicted: its controller replaces it (`kubectl get pod web-1 -n d`)"
        );
    }
}
