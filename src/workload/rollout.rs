//! Rollout arithmetic, as the controllers do it: int-or-percent values resolved against a replica count
//! (`intstr.GetScaledValueFromIntOrPercent`), each kind's update strategy with the API's defaults, and
//! maxSurge/maxUnavailable in pods with each controller's rounding. Pure.

use k8s_openapi::api::apps::v1::{
    DaemonSetUpdateStrategy, DeploymentStrategy, StatefulSetUpdateStrategy,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::target::Kind;

/// How a workload replaces its pods, with the API's defaults filled in.
#[derive(Debug, Clone, PartialEq)]
pub enum Strategy {
    /// Deployment `RollingUpdate` (defaults 25%/25%), DaemonSet (0/1), StatefulSet (surge always 0).
    RollingUpdate {
        max_surge: IntOrString,
        max_unavailable: IntOrString,
        /// Whether the user wrote the values (false = API defaults).
        explicit: bool,
    },
    /// Deployment `Recreate`: every old pod goes before any new one starts.
    Recreate,
    /// StatefulSet/DaemonSet `OnDelete`: nothing rolls until pods are deleted.
    OnDelete,
    /// Pods, ReplicaSets, Jobs, CronJobs: no rollout.
    None,
}

impl Strategy {
    /// The strategy's API name (`RollingUpdate`, `Recreate`, `OnDelete`; `None` for kinds without one).
    pub fn name(&self) -> &'static str {
        match self {
            Strategy::RollingUpdate { .. } => "RollingUpdate",
            Strategy::Recreate => "Recreate",
            Strategy::OnDelete => "OnDelete",
            Strategy::None => "None",
        }
    }

    pub fn is_rolling(&self) -> bool {
        matches!(self, Strategy::RollingUpdate { .. })
    }
}

fn pct(s: &str) -> IntOrString {
    IntOrString::String(s.into())
}

/// A Deployment's `spec.strategy`: RollingUpdate 25%/25% unless it says Recreate.
pub fn deployment(s: Option<&DeploymentStrategy>) -> Strategy {
    let s = s.cloned().unwrap_or_default();
    if s.type_.as_deref() == Some("Recreate") {
        return Strategy::Recreate;
    }
    let ru = s.rolling_update.unwrap_or_default();
    Strategy::RollingUpdate {
        explicit: ru.max_surge.is_some() || ru.max_unavailable.is_some(),
        max_surge: ru.max_surge.unwrap_or_else(|| pct("25%")),
        max_unavailable: ru.max_unavailable.unwrap_or_else(|| pct("25%")),
    }
}

/// A StatefulSet's `spec.updateStrategy`: RollingUpdate (no surge, maxUnavailable 1) unless OnDelete.
pub fn statefulset(s: Option<&StatefulSetUpdateStrategy>) -> Strategy {
    let s = s.cloned().unwrap_or_default();
    if s.type_.as_deref() == Some("OnDelete") {
        return Strategy::OnDelete;
    }
    let ru = s.rolling_update.unwrap_or_default();
    Strategy::RollingUpdate {
        explicit: ru.max_unavailable.is_some(),
        max_surge: IntOrString::Int(0),
        max_unavailable: ru.max_unavailable.unwrap_or(IntOrString::Int(1)),
    }
}

/// A DaemonSet's `spec.updateStrategy`: RollingUpdate (maxSurge 0, maxUnavailable 1) unless OnDelete.
pub fn daemonset(s: Option<&DaemonSetUpdateStrategy>) -> Strategy {
    let s = s.cloned().unwrap_or_default();
    if s.type_.as_deref() == Some("OnDelete") {
        return Strategy::OnDelete;
    }
    let ru = s.rolling_update.unwrap_or_default();
    Strategy::RollingUpdate {
        explicit: ru.max_surge.is_some() || ru.max_unavailable.is_some(),
        max_surge: ru.max_surge.unwrap_or(IntOrString::Int(0)),
        max_unavailable: ru.max_unavailable.unwrap_or(IntOrString::Int(1)),
    }
}

/// Resolves an int-or-percent against `total` like the API does (`round_up` for maxSurge). None for a
/// value the API server would refuse (not a number, not an integer percentage).
pub fn resolve_int_or_percent(v: &IntOrString, total: i32, round_up: bool) -> Option<i32> {
    match v {
        IntOrString::Int(i) => Some(*i),
        IntOrString::String(s) => {
            let s = s.trim();
            let pct: i64 = match s.strip_suffix('%') {
                Some(p) => p.trim().parse().ok()?,
                None => s.parse().ok()?,
            };
            if !s.ends_with('%') {
                return i32::try_from(pct).ok();
            }
            let scaled = pct.checked_mul(i64::from(total))?;
            let r = if round_up {
                scaled.checked_add(99)?.div_euclid(100)
            } else {
                scaled.div_euclid(100)
            };
            i32::try_from(r).ok()
        }
    }
}

/// `25%` or `1`, for messages.
pub fn int_or_percent_text(v: &IntOrString) -> String {
    match v {
        IntOrString::Int(i) => i.to_string(),
        IntOrString::String(s) => s.clone(),
    }
}

/// (maxSurge, maxUnavailable) in pods for `replicas`, as the Deployment controller resolves them:
/// surge rounds up, unavailable down, and both 0 means unavailable 1 (`deploymentutil.ResolveFenceposts`).
pub fn deployment_surge_unavailable(
    surge: &IntOrString,
    unavail: &IntOrString,
    replicas: i32,
) -> Option<(i32, i32)> {
    let s = resolve_int_or_percent(surge, replicas, true)?;
    let mut u = resolve_int_or_percent(unavail, replicas, false)?;
    if s == 0 && u == 0 {
        u = 1;
    }
    Some((s, u))
}

/// (maxSurge, maxUnavailable) in pods of a rolling update of `kind` over `replicas` pods (a
/// DaemonSet's: the nodes it runs on), as its controller rounds them; None without a rolling update.
/// A value the API would refuse counts as 0. Upstream: Deployments round unavailable down
/// (`ResolveFenceposts`); DaemonSets round both up and accept one unavailable pod when both are 0
/// (`daemon/update.go`); StatefulSets never surge and round unavailable down, at least 1.
pub fn surge_unavailable(kind: Kind, strategy: &Strategy, replicas: i32) -> Option<(i32, i32)> {
    let Strategy::RollingUpdate {
        max_surge,
        max_unavailable,
        ..
    } = strategy
    else {
        return None;
    };
    let n = replicas.max(1);
    let or0 = |v: &IntOrString, up: bool| resolve_int_or_percent(v, n, up).unwrap_or(0);
    Some(match kind {
        Kind::DaemonSet => {
            let surge = or0(max_surge, true);
            let unav = or0(max_unavailable, true);
            (surge, if surge == 0 { unav.max(1) } else { unav })
        }
        Kind::StatefulSet => (0, or0(max_unavailable, false).max(1)),
        _ => {
            let surge = or0(max_surge, true);
            let unav = or0(max_unavailable, false);
            (surge, if surge == 0 && unav == 0 { 1 } else { unav })
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> IntOrString {
        IntOrString::String(s.into())
    }

    #[test]
    fn percentages_round_like_the_controller() {
        assert_eq!(resolve_int_or_percent(&p("25%"), 2, true), Some(1));
        assert_eq!(resolve_int_or_percent(&p("25%"), 2, false), Some(0));
        assert_eq!(resolve_int_or_percent(&p("50%"), 3, false), Some(1));
        assert_eq!(resolve_int_or_percent(&p("100%"), 4, false), Some(4));
        assert_eq!(
            resolve_int_or_percent(&IntOrString::Int(2), 9, false),
            Some(2)
        );
        assert_eq!(resolve_int_or_percent(&p("x%"), 2, false), None);
    }

    #[test]
    fn deployment_fenceposts() {
        assert_eq!(
            deployment_surge_unavailable(&p("25%"), &p("25%"), 2),
            Some((1, 0))
        );
        assert_eq!(
            deployment_surge_unavailable(&IntOrString::Int(0), &p("10%"), 3),
            Some((0, 1))
        );
        assert_eq!(
            deployment_surge_unavailable(&p("0%"), &p("100%"), 4),
            Some((0, 4))
        );
    }

    #[test]
    fn each_kind_rounds_its_own_way() {
        let rolling = |s: IntOrString, u: IntOrString| Strategy::RollingUpdate {
            max_surge: s,
            max_unavailable: u,
            explicit: true,
        };
        // 25% of 3: a Deployment rounds unavailable down, a DaemonSet up.
        let quarter = rolling(p("25%"), p("25%"));
        assert_eq!(
            surge_unavailable(Kind::Deployment, &quarter, 3),
            Some((1, 0))
        );
        assert_eq!(
            surge_unavailable(Kind::DaemonSet, &quarter, 3),
            Some((1, 1))
        );
        // A DaemonSet without surge accepts one pod down however small the percentage.
        let none = rolling(IntOrString::Int(0), p("0%"));
        assert_eq!(surge_unavailable(Kind::DaemonSet, &none, 3), Some((0, 1)));
        // A StatefulSet never surges, and lets at least one pod go.
        assert_eq!(
            surge_unavailable(Kind::StatefulSet, &statefulset(None), 3),
            Some((0, 1))
        );
        assert_eq!(
            surge_unavailable(Kind::Deployment, &Strategy::Recreate, 3),
            None
        );
        // The API defaults.
        assert_eq!(
            surge_unavailable(Kind::Deployment, &deployment(None), 1),
            Some((1, 0))
        );
    }
}
