//! The fix for a verdict that is not ok, in `diagnose`'s words: its findings (rule id, message, YAML to
//! paste) on the target's spec, so a restart and `kubectl graceful diagnose` say the same thing.
//!
//! The surface of `diagnose` used, and only this: `diagnose::Workload` (its `from_*` constructors and
//! the `template` field), `diagnose::Context` (the Services that select the target, the version),
//! `diagnose::check` → `Finding { rule, container, message, fix }` (the fix as its text), and the
//! `diagnose::rules::PAUSE` constant (the pause its fixes paste).
//!
//! - A race: the shutdown findings of the raced containers (`prestop-missing`, `prestop-without-pause`,
//!   `prestop-pause-short`). When diagnose sees a pause but the rollout shows it too short for the margin
//!   (or the hook failed), the YAML is diagnose's `prestop-missing` fix on a copy of the spec without
//!   that hook. The pause is diagnose's (10 s), or the margin when that is longer.
//! - The grace period that goes with that pause: diagnose's `prestop-exceeds-grace` /
//!   `drain-budget-short` / `grace-period-*` findings on a copy of the spec with the pause in place.
//! - Ready endpoints lost: `recreate-strategy`, `rollout-all-unavailable`, `single-replica`.

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::{Lifecycle, LifecycleHandler, SleepAction};

use super::judge::fmt_secs;
use crate::diagnose::rules::PAUSE;
use crate::diagnose::{check, Context, Finding, Workload};

/// What the rollout showed, for the fix.
#[derive(Debug, Clone, Default)]
pub(crate) struct Problems {
    pub raced_containers: BTreeSet<String>,
    pub prestop_failed: bool,
    /// `--endpoint-margin`, seconds.
    pub margin: f64,
    pub capacity_lost: bool,
}

const PAUSE_RULES: &[&str] = &[
    "prestop-missing",
    "prestop-without-pause",
    "prestop-pause-short",
];
const GRACE_RULES: &[&str] = &[
    "prestop-exceeds-grace",
    "drain-budget-short",
    "grace-period-zero",
    "grace-period-short",
];
const CAPACITY_RULES: &[&str] = &[
    "recreate-strategy",
    "rollout-all-unavailable",
    "single-replica",
];

/// The pause that covers the margin: diagnose's, or the margin rounded up when that is longer.
pub(crate) fn pause_for(margin: f64) -> i64 {
    PAUSE.max(margin.ceil() as i64)
}

/// diagnose's fix YAML with its pause replaced by `seconds`.
fn with_pause(yaml: &str, seconds: i64) -> String {
    if seconds == PAUSE {
        return yaml.to_string();
    }
    yaml.replace(&format!("seconds: {PAUSE}"), &format!("seconds: {seconds}"))
        .replace(
            &format!("\"sleep\", \"{PAUSE}\""),
            &format!("\"sleep\", \"{seconds}\""),
        )
        .replace(&format!("sleep {PAUSE} "), &format!("sleep {seconds} "))
}

/// A copy of the spec where `containers` have `handler` as preStop (None: no preStop at all).
fn with_prestop(
    w: &Workload,
    containers: &BTreeSet<String>,
    handler: Option<LifecycleHandler>,
) -> Workload {
    let mut copy = w.clone();
    if let Some(spec) = copy.template.spec.as_mut() {
        for c in spec
            .containers
            .iter_mut()
            .filter(|c| containers.contains(&c.name))
        {
            let lc = c.lifecycle.get_or_insert_with(Lifecycle::default);
            lc.pre_stop = handler.clone();
        }
    }
    copy
}

struct Item {
    rule: String,
    container: Option<String>,
    message: String,
    fix: Option<String>,
}

impl Item {
    fn of(f: &Finding) -> Item {
        Item {
            rule: f.rule.clone(),
            container: f.container.clone(),
            message: f.message.clone(),
            fix: f.fix.as_ref().map(|x| x.text()),
        }
    }
}

/// The fix text, or None when diagnose has nothing to say about it.
pub(crate) fn fix(w: &Workload, cx: &Context, p: &Problems) -> Option<String> {
    let pause = pause_for(p.margin);
    let findings = check(w, cx);
    let mine = |f: &&Finding| {
        f.container
            .as_ref()
            .is_none_or(|c| p.raced_containers.contains(c))
    };
    let mut items: Vec<Item> = vec![];
    if !p.raced_containers.is_empty() {
        let pauses: Vec<Item> = findings
            .iter()
            .filter(|f| PAUSE_RULES.contains(&f.rule.as_str()))
            .filter(mine)
            .map(Item::of)
            .collect();
        let covered: BTreeSet<String> = pauses.iter().filter_map(|i| i.container.clone()).collect();
        items.extend(pauses);
        // diagnose accepts the pause, the rollout says otherwise: its YAML from a spec without the hook.
        let rest: BTreeSet<String> = p.raced_containers.difference(&covered).cloned().collect();
        if !rest.is_empty() {
            for f in check(&with_prestop(w, &rest, None), cx)
                .iter()
                .filter(|f| f.rule == "prestop-missing")
                .filter(|f| f.container.as_ref().is_some_and(|c| rest.contains(c)))
            {
                let c = f.container.clone().unwrap_or_default();
                let message = if p.prestop_failed {
                    "its preStop hook failed (FailedPreStopHook), so SIGTERM came without a pause: endpoints still routed requests to the pod; a native sleep action needs nothing in the image".to_string()
                } else {
                    format!("its preStop pause ends sooner than endpoint removal reaches kube-proxy, ingress controllers and load balancers ({} assumed, --endpoint-margin)", fmt_secs(p.margin))
                };
                items.push(Item {
                    rule: if p.prestop_failed {
                        "prestop-missing".into()
                    } else {
                        "prestop-pause-short".into()
                    },
                    container: Some(c),
                    message,
                    fix: f.fix.as_ref().map(|x| x.text()),
                });
            }
        }
        for i in items.iter_mut() {
            i.fix = i.fix.as_deref().map(|y| with_pause(y, pause));
        }
        // The grace period the new pause needs.
        let sleep = LifecycleHandler {
            sleep: Some(SleepAction { seconds: pause }),
            ..Default::default()
        };
        let paused = with_prestop(w, &p.raced_containers, Some(sleep));
        items.extend(
            check(&paused, cx)
                .iter()
                .filter(|f| GRACE_RULES.contains(&f.rule.as_str()))
                .filter(mine)
                .map(|f| {
                    let mut i = Item::of(f);
                    i.message = format!("with that pause: {}", f.message);
                    i
                }),
        );
    }
    if p.capacity_lost {
        items.extend(
            findings
                .iter()
                .filter(|f| CAPACITY_RULES.contains(&f.rule.as_str()))
                .map(Item::of),
        );
    }
    if items.is_empty() {
        return None;
    }
    let mut out = String::new();
    for i in items {
        let who = i
            .container
            .as_ref()
            .map(|c| format!("container {c}: "))
            .unwrap_or_default();
        out.push_str(&format!("[{}] {who}{}\n", i.rule, i.message));
        if let Some(y) = i.fix {
            out.push_str(y.trim_end());
            out.push('\n');
        }
    }
    Some(out.trim_end().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::apps::v1::Deployment;
    use k8s_openapi::api::core::v1::Service;

    fn workload(yaml: &str, version: (u32, u32)) -> (Workload, Context) {
        let d: Deployment = serde_yaml::from_str(yaml).unwrap();
        let w = Workload::from_deployment(&d);
        let mut cx = Context::unknown(crate::diagnose::KubeVersion {
            major: version.0,
            minor: version.1,
        });
        cx.services = Some(vec![serde_yaml::from_str::<Service>(
            "metadata: {name: web}\nspec: {selector: {app: web}, ports: [{port: 80, targetPort: 8080}]}",
        )
        .unwrap()]);
        (w, cx)
    }

    fn fix_for(w: &(Workload, Context), p: &Problems) -> Option<String> {
        super::fix(&w.0, &w.1, p)
    }

    const NO_PRESTOP: &str = "metadata: {name: web}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 12
      containers:
      - {name: app, image: web:1, ports: [{containerPort: 8080}]}";

    fn raced(margin: f64) -> Problems {
        Problems {
            raced_containers: BTreeSet::from(["app".to_string()]),
            margin,
            ..Default::default()
        }
    }

    #[test]
    fn a_missing_pause_gets_diagnoses_words_and_the_grace_to_go_with_it() {
        let fix = fix_for(&workload(NO_PRESTOP, (1, 33)), &raced(5.0)).unwrap();
        // diagnose's own finding, verbatim.
        assert!(fix.starts_with("[prestop-missing] container app: no preStop pause although Service web sends it traffic: SIGTERM arrives while endpoints still route requests to the pod (errors on every rollout)\n"), "{fix}");
        assert!(fix.contains("      - name: app\n        lifecycle:\n          preStop:\n            sleep:\n              seconds: 10"), "{fix}");
        // A 12 s grace period leaves 2 s after a 10 s pause: diagnose's drain-budget-short.
        assert!(fix.contains("[drain-budget-short] container app: with that pause: preStop pauses 10s of a 12s grace period"), "{fix}");
        assert!(fix.contains("terminationGracePeriodSeconds: 30"), "{fix}");
        // Before 1.30 diagnose pastes an exec sleep.
        let old = fix_for(&workload(NO_PRESTOP, (1, 29)), &raced(5.0)).unwrap();
        assert!(old.contains("command: [\"sleep\", \"10\"]"), "{old}");
    }

    #[test]
    fn a_margin_longer_than_diagnoses_pause_sets_the_pause() {
        let fix = fix_for(&workload(NO_PRESTOP, (1, 33)), &raced(15.0)).unwrap();
        assert!(fix.contains("seconds: 15"), "{fix}");
        assert!(!fix.contains("seconds: 10"), "{fix}");
        // 15 s pause ≥ 12 s grace: diagnose's prestop-exceeds-grace names the grace period.
        assert!(fix.contains("[prestop-exceeds-grace] container app: with that pause: preStop pauses 15s but terminationGracePeriodSeconds is 12s"), "{fix}");
        assert!(fix.contains("terminationGracePeriodSeconds: 30"), "{fix}");
        assert_eq!(pause_for(5.0), 10);
        assert_eq!(pause_for(12.5), 13);
    }

    #[test]
    fn a_pause_diagnose_accepts_but_the_margin_does_not() {
        let four = NO_PRESTOP.replace(
            "ports: [{containerPort: 8080}]}",
            "ports: [{containerPort: 8080}], lifecycle: {preStop: {sleep: {seconds: 4}}}}",
        );
        let fix = fix_for(&workload(&four, (1, 33)), &raced(5.0)).unwrap();
        assert!(fix.starts_with("[prestop-pause-short] container app: its preStop pause ends sooner than endpoint removal reaches kube-proxy, ingress controllers and load balancers (5s assumed, --endpoint-margin)\n"), "{fix}");
        assert!(fix.contains("seconds: 10"), "{fix}");
        let failed = fix_for(
            &workload(&four, (1, 33)),
            &Problems {
                prestop_failed: true,
                ..raced(5.0)
            },
        )
        .unwrap();
        assert!(
            failed.starts_with(
                "[prestop-missing] container app: its preStop hook failed (FailedPreStopHook)"
            ),
            "{failed}"
        );
    }

    #[test]
    fn lost_endpoints_get_the_rollout_rules() {
        let recreate = NO_PRESTOP.replace(
            "  replicas: 3\n",
            "  replicas: 3\n  strategy: {type: Recreate}\n",
        );
        let fix = fix_for(
            &workload(&recreate, (1, 33)),
            &Problems {
                capacity_lost: true,
                margin: 5.0,
                ..Default::default()
            },
        )
        .unwrap();
        assert!(fix.starts_with("[recreate-strategy] "), "{fix}");
        assert!(fix.contains("type: RollingUpdate"), "{fix}");
        assert_eq!(
            fix_for(&workload(NO_PRESTOP, (1, 33)), &Problems::default()),
            None
        );
    }
}
