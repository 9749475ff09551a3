//! One event type for both APIs: core/v1 `Event` and events.k8s.io/v1 `Event` are normalised into
//! [`EventRecord`] so the analysis never cares which one the server had.

use std::cell::Cell;
use std::collections::HashMap;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Event as CoreEvent, ObjectReference};
use k8s_openapi::api::events::v1::Event as NewEvent;

/// An event about a pod (or one of its containers), whatever API it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct EventRecord {
    /// `Normal` or `Warning`.
    pub type_: String,
    pub reason: String,
    pub message: String,
    /// How many times it happened (at least 1).
    pub count: i32,
    pub first: Option<Timestamp>,
    pub last: Option<Timestamp>,
    pub object_kind: String,
    pub object_name: String,
    pub object_namespace: Option<String>,
    pub object_uid: Option<String>,
    /// `spec.containers{app}` and the like: names the container.
    pub field_path: Option<String>,
}

impl EventRecord {
    /// The container an event is about: from `fieldPath`, else from the message's wording.
    pub(crate) fn container(&self) -> Option<String> {
        if let Some(fp) = &self.field_path {
            if let (Some(open), Some(close)) = (fp.find('{'), fp.rfind('}')) {
                if open < close {
                    return Some(fp[open + 1..close].to_string());
                }
            }
        }
        // "Container app failed liveness probe", "Stopping container app",
        // "Back-off restarting failed container app in pod …", "… container=app pod=…"
        let m = &self.message;
        for key in ["container=", "Container ", "container "] {
            if let Some(i) = m.find(key) {
                // Older kubelets quote it: `for Container "app" in Pod …`.
                let rest = m[i + key.len()..].trim_start_matches('"');
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '.')
                    .collect();
                if !name.is_empty() {
                    return Some(name);
                }
            }
        }
        None
    }

    /// True when the event is about this container (or about no container in particular is false).
    pub(crate) fn is_for_container(&self, name: &str) -> bool {
        self.container().as_deref() == Some(name)
    }

    /// The latest time the event is known to have happened.
    pub(crate) fn when(&self) -> Option<Timestamp> {
        self.last.or(self.first)
    }

    pub(crate) fn from_core(e: &CoreEvent) -> EventRecord {
        let series = e.series.as_ref();
        record(
            Said {
                type_: e.type_.as_deref(),
                reason: e.reason.as_deref(),
                message: e.message.as_deref(),
            },
            Times {
                first: e.first_timestamp.as_ref().map(|t| t.0),
                event_time: e.event_time.as_ref().map(|t| t.0),
                series_last: series.and_then(|s| s.last_observed_time.as_ref().map(|t| t.0)),
                last: e.last_timestamp.as_ref().map(|t| t.0),
                series_count: series.and_then(|s| s.count),
                count: e.count,
            },
            Some(&e.involved_object),
        )
    }

    pub(crate) fn from_new(e: &NewEvent) -> EventRecord {
        let series = e.series.as_ref();
        record(
            Said {
                type_: e.type_.as_deref(),
                reason: e.reason.as_deref(),
                message: e.note.as_deref(),
            },
            Times {
                first: e.deprecated_first_timestamp.as_ref().map(|t| t.0),
                event_time: e.event_time.as_ref().map(|t| t.0),
                series_last: series.map(|s| s.last_observed_time.0),
                last: e.deprecated_last_timestamp.as_ref().map(|t| t.0),
                series_count: series.map(|s| s.count),
                count: e.deprecated_count,
            },
            e.regarding.as_ref(),
        )
    }
}

/// What an event says, from either API (events.k8s.io calls the message `note`).
struct Said<'a> {
    type_: Option<&'a str>,
    reason: Option<&'a str>,
    message: Option<&'a str>,
}

/// When an event happened and how often, as either API records it (events.k8s.io's `deprecated*`
/// fields are core/v1's first/last timestamp and count).
struct Times {
    first: Option<Timestamp>,
    event_time: Option<Timestamp>,
    series_last: Option<Timestamp>,
    last: Option<Timestamp>,
    series_count: Option<i32>,
    count: Option<i32>,
}

/// One record from what either API's event says, when, and what it is about. First: the first
/// timestamp, else the event time; last: the series' last observation, else the last timestamp, else
/// the first; the count: the series', else the event's, at least 1.
fn record(said: Said, t: Times, about: Option<&ObjectReference>) -> EventRecord {
    let first = t.first.or(t.event_time);
    let about = about.cloned().unwrap_or_default();
    EventRecord {
        type_: said.type_.unwrap_or("Normal").to_string(),
        reason: said.reason.unwrap_or_default().to_string(),
        message: said.message.unwrap_or_default().trim().to_string(),
        count: t.series_count.or(t.count).unwrap_or(1).max(1),
        first,
        last: t.series_last.or(t.last).or(first),
        object_kind: about.kind.unwrap_or_default(),
        object_name: about.name.unwrap_or_default(),
        object_namespace: about.namespace,
        object_uid: about.uid.filter(|u| !u.is_empty()),
        field_path: about.field_path.filter(|f| !f.is_empty()),
    }
}

/// The events of a namespace (or of a file, or of one pod's read), indexed once so that each pod's
/// events are found without scanning the rest: by the involved object's uid, and by namespace and
/// name for events that carry no uid. Building it is linear in the events; each lookup is linear in
/// the events of that pod, so explaining N pods among M events costs O(N + M), not O(N × M).
#[derive(Debug, Default)]
pub(crate) struct EventIndex {
    events: Vec<EventRecord>,
    /// Positions of pod events that carry a uid, by uid.
    by_uid: HashMap<String, Vec<usize>>,
    /// Positions of pod events by (namespace, name), with or without a uid.
    by_name: HashMap<(String, String), Vec<usize>>,
}

thread_local! {
    /// Events indexed or looked at on this thread: the work a test holds to linear growth.
    static WORK: Cell<usize> = const { Cell::new(0) };
}

/// How many events this thread has indexed or examined so far (see [`EventIndex`]).
#[cfg(test)]
pub(crate) fn work_on_this_thread() -> usize {
    WORK.with(Cell::get)
}

fn count_work(n: usize) {
    WORK.with(|w| w.set(w.get().saturating_add(n)));
}

impl EventIndex {
    pub(crate) fn new(events: Vec<EventRecord>) -> EventIndex {
        let mut by_uid: HashMap<String, Vec<usize>> = HashMap::new();
        let mut by_name: HashMap<(String, String), Vec<usize>> = HashMap::new();
        for (i, e) in events.iter().enumerate() {
            if !(e.object_kind.is_empty() || e.object_kind == "Pod") {
                continue;
            }
            if let Some(u) = &e.object_uid {
                by_uid.entry(u.clone()).or_default().push(i);
            }
            let ns = e.object_namespace.clone().unwrap_or_default();
            by_name
                .entry((ns, e.object_name.clone()))
                .or_default()
                .push(i);
        }
        count_work(events.len());
        EventIndex {
            events,
            by_uid,
            by_name,
        }
    }

    /// The events about one pod (by uid when the event carries it, else by namespace and name), in
    /// time order, and whether events of an earlier pod with the same name were left out.
    pub(crate) fn for_pod(
        &self,
        namespace: &str,
        name: &str,
        uid: Option<&str>,
    ) -> (Vec<EventRecord>, bool) {
        let mut positions: Vec<usize> = Vec::new();
        // Events without a namespace in their reference belong to whichever namespace was read.
        for ns in [namespace, ""] {
            if let Some(v) = self.by_name.get(&(ns.to_string(), name.to_string())) {
                positions.extend(v);
            }
            if namespace.is_empty() {
                break;
            }
        }
        if let Some(u) = uid {
            // An event that names the pod's uid but another name (renamed reference) still counts.
            positions.extend(self.by_uid.get(u).into_iter().flatten());
        }
        positions.sort_unstable();
        positions.dedup();
        count_work(positions.len());
        let mut other_uid = false;
        let mut out: Vec<EventRecord> = positions
            .into_iter()
            .map(|i| &self.events[i])
            .filter(|e| match (uid, e.object_uid.as_deref()) {
                (Some(u), Some(eu)) if u != eu => {
                    other_uid = true;
                    false
                }
                _ => true,
            })
            .cloned()
            .collect();
        sort(&mut out);
        (out, other_uid)
    }
}

/// Keeps the events about one pod from a list (see [`EventIndex::for_pod`]); for a single pod the
/// index costs what one scan costs.
#[cfg(test)]
pub(crate) fn for_pod(
    events: &[EventRecord],
    namespace: &str,
    name: &str,
    uid: Option<&str>,
) -> (Vec<EventRecord>, bool) {
    EventIndex::new(events.to_vec()).for_pod(namespace, name, uid)
}

/// Sorts events by time; events without a time keep their relative order at the end.
pub(crate) fn sort(events: &mut [EventRecord]) {
    events.sort_by(|a, b| match (a.when(), b.when()) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => std::cmp::Ordering::Equal,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn core(yaml: &str) -> EventRecord {
        let e: CoreEvent = serde_yaml::from_str(yaml).expect("fixture parses");
        EventRecord::from_core(&e)
    }

    #[test]
    fn core_event_with_field_path_names_its_container() {
        let e = core(
            r#"
metadata: {name: web.1, namespace: shop}
involvedObject: {kind: Pod, name: web, namespace: shop, uid: u1, fieldPath: "spec.containers{app}"}
reason: Unhealthy
type: Warning
message: "Liveness probe failed: HTTP probe failed with statuscode: 500"
count: 7
firstTimestamp: "2026-11-23T10:00:00Z"
lastTimestamp: "2026-11-23T10:03:00Z"
"#,
        );
        assert_eq!(e.container().as_deref(), Some("app"));
        assert_eq!(e.count, 7);
        assert_eq!(e.object_uid.as_deref(), Some("u1"));
        assert!(e.first < e.last);
    }

    #[test]
    fn container_from_message_when_field_path_is_missing() {
        let e = core(
            r#"
metadata: {name: web.2}
involvedObject: {kind: Pod, name: web}
reason: BackOff
message: "Back-off restarting failed container sidecar-1 in pod web_shop(u1)"
"#,
        );
        assert_eq!(e.container().as_deref(), Some("sidecar-1"));
        assert_eq!(e.count, 1);
        assert_eq!(e.first, None);
    }

    #[test]
    fn container_from_an_older_hook_failure_message() {
        let e = core(
            r#"
metadata: {name: web.4}
involvedObject: {kind: Pod, name: front-1}
reason: FailedPreStopHook
message: 'Exec lifecycle hook ([/bin/sh -c sleep 10]) for Container "front" in Pod "front-1_default(u1)" failed - error: command ''/bin/sh -c sleep 10'' exited with 126: , message: "exec: "/bin/sh": stat /bin/sh: no such file or directory"'
"#,
        );
        assert_eq!(e.container().as_deref(), Some("front"));
    }

    #[test]
    fn events_k8s_io_shape_is_normalised() {
        let e: NewEvent = serde_yaml::from_str(
            r#"
metadata: {name: web.3, namespace: shop}
regarding: {kind: Pod, name: web, namespace: shop, fieldPath: "spec.initContainers{migrate}"}
reason: BackOff
type: Warning
note: "Back-off restarting failed container migrate in pod web_shop(u1)"
eventTime: "2026-11-23T10:00:00.000000Z"
series: {count: 4, lastObservedTime: "2026-11-23T10:05:00.000000Z"}
"#,
        )
        .expect("fixture parses");
        let r = EventRecord::from_new(&e);
        assert_eq!(r.count, 4);
        assert_eq!(r.container().as_deref(), Some("migrate"));
        assert_eq!(
            r.message,
            "Back-off restarting failed container migrate in pod web_shop(u1)"
        );
        assert!(r.first.is_some() && r.last > r.first);
    }

    #[test]
    fn events_of_a_previous_pod_with_the_same_name_are_dropped() {
        let mk = |uid: &str, t: &str| {
            core(&format!(
                "metadata: {{name: x}}\ninvolvedObject: {{kind: Pod, name: db-0, namespace: d, uid: {uid}}}\nreason: Killing\nmessage: Stopping container db\nlastTimestamp: \"{t}\"\n"
            ))
        };
        let all = vec![
            mk("new", "2026-11-23T10:05:00Z"),
            mk("old", "2026-11-23T10:00:00Z"),
        ];
        let (kept, recreated) = for_pod(&all, "d", "db-0", Some("new"));
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].object_uid.as_deref(), Some("new"));
        assert!(recreated);
        let (kept, recreated) = for_pod(&all, "d", "db-0", None);
        assert_eq!(kept.len(), 2);
        assert!(!recreated);
        assert!(kept[0].when() < kept[1].when(), "sorted by time");
    }
}
