//! Offline input: what `kubectl get pod NAME -o yaml` or `kubectl get pod,events -o yaml` printed
//! (multi-document YAML, JSON, or a `List`, read by the shared loader [`crate::source`]), turned into
//! pods and normalised events; Nodes, Jobs and PersistentVolumeClaims in the same input give the facts a
//! live run would read.

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Event as CoreEvent, Node, PersistentVolumeClaim, Pod};
use k8s_openapi::api::events::v1::Event as NewEvent;

use crate::error::{Error, Result};
use crate::selector::Selector;
use crate::target::{Kind, Target};

use super::analyse::{
    analyse_indexed, ClaimFacts, EventSource, Extra, Logs, NodeFacts, OwnerFacts,
};
use super::events::{EventIndex, EventRecord};
use super::gather::ExplainOptions;
use super::model::PodReport;
use super::targets;
use super::Reports;

/// The objects found in a file.
#[derive(Debug, Default)]
pub struct Loaded {
    pub pods: Vec<Pod>,
    pub events: Vec<EventRecord>,
    /// Whether the file held any Event object.
    pub had_events: bool,
    pub nodes: Vec<Node>,
    pub jobs: Vec<Job>,
    pub claims: Vec<PersistentVolumeClaim>,
    /// Kinds that were skipped (neither Pod nor Event).
    pub skipped: Vec<String>,
}

/// Reads YAML or JSON text through the shared manifest loader ([`crate::source::each_object`]). The
/// first object that cannot be used stops the reading: an [`Error::input`] at its `file:line[:column]`.
pub fn parse(text: &str, path: &str) -> Result<Loaded> {
    let mut loaded = Loaded::default();
    let mut failed: Option<Error> = None;
    crate::source::each_object(path, text, |o| {
        if failed.is_some() {
            return;
        }
        let taken = match o {
            Ok((origin, value)) => serde_json::to_value(&value)
                .map_err(|e| Error::input(origin.text(), e.to_string()))
                .and_then(|json| take(json, &origin.text(), &mut loaded)),
            Err(e) => Err(e.into_error()),
        };
        failed = taken.err();
    });
    match failed {
        Some(e) => Err(e),
        None => Ok(loaded),
    }
}

/// One object (List items come one by one), read at `at` (`file:line`).
fn take(v: serde_json::Value, at: &str, out: &mut Loaded) -> Result<()> {
    let kind = v
        .get("kind")
        .and_then(|k| k.as_str())
        .unwrap_or("")
        .to_string();
    let api_version = v
        .get("apiVersion")
        .and_then(|k| k.as_str())
        .unwrap_or("")
        .to_string();
    let name = v
        .pointer("/metadata/name")
        .and_then(|n| n.as_str())
        .unwrap_or("")
        .to_string();
    let bad = |e: serde_json::Error| {
        Error::input(
            at,
            format!("{kind} {name:?} does not match the Kubernetes schema: {e}"),
        )
    };
    match kind.as_str() {
        "Pod" => out.pods.push(serde_json::from_value(v).map_err(bad)?),
        "Node" => out.nodes.push(serde_json::from_value(v).map_err(bad)?),
        "Job" => out.jobs.push(serde_json::from_value(v).map_err(bad)?),
        "PersistentVolumeClaim" => out.claims.push(serde_json::from_value(v).map_err(bad)?),
        "Event" if api_version.starts_with("events.k8s.io/") => {
            let e: NewEvent = serde_json::from_value(v).map_err(bad)?;
            out.events.push(EventRecord::from_new(&e));
            out.had_events = true;
        }
        "Event" => {
            let e: CoreEvent = serde_json::from_value(v).map_err(bad)?;
            out.events.push(EventRecord::from_core(&e));
            out.had_events = true;
        }
        "" => return Err(Error::input(
            at,
            "no kind: expected a Pod, Event or List (as `kubectl get pod,events -o yaml` prints)",
        )),
        other => out.skipped.push(other.to_string()),
    }
    Ok(())
}

/// The reports for the pods of a saved file (named `shown`) and the line to print when none match (a
/// missing name is an input error, not a missing target).
pub(crate) fn reports(
    text: &str,
    shown: &str,
    names: &[Target],
    selector: Option<&Selector>,
    opts: &ExplainOptions,
) -> Result<Reports> {
    reports_from(&parse(text, shown)?, shown, names, selector, opts)
}

/// As [`reports`], on objects already read.
pub(crate) fn reports_from(
    loaded: &Loaded,
    shown: &str,
    names: &[Target],
    selector: Option<&Selector>,
    opts: &ExplainOptions,
) -> Result<Reports> {
    if let Some(t) = names.iter().find(|t| t.kind != Kind::Pod) {
        return Err(Error::usage(format!(
            "with -f only pod names can be given, not {}/{}",
            t.kind.short(),
            t.name
        )));
    }
    if loaded.pods.is_empty() {
        return Err(Error::input(
            shown,
            "no Pod in the file: save one with `kubectl get pod NAME -o yaml` (add events with `kubectl get pod,events -o yaml`)",
        ));
    }
    for t in names {
        if !loaded
            .pods
            .iter()
            .any(|p| p.metadata.name.as_deref() == Some(t.name.as_str()))
        {
            return Err(Error::input(
                shown,
                format!("no pod named {} in the file", t.name),
            ));
        }
    }
    let mut pods: Vec<&Pod> = loaded
        .pods
        .iter()
        .filter(|p| {
            names.is_empty()
                || names
                    .iter()
                    .any(|t| p.metadata.name.as_deref() == Some(t.name.as_str()))
        })
        .filter(|p| selector.is_none_or(|s| s.matches(p.metadata.labels.as_ref())))
        .collect();
    if opts.container.is_some() {
        if let [one] = pods.as_slice() {
            targets::check_container(one, opts)?;
        }
        let owned: Vec<Pod> = pods.iter().map(|p| (*p).clone()).collect();
        targets::check_container_in(&owned, opts, &format!("any pod in {shown}"))?;
        pods.retain(|p| targets::check_container(p, opts).is_ok());
    }
    // One index for every pod in the file.
    let index = EventIndex::new(loaded.events.clone());
    let mut reports: Vec<PodReport> = pods
        .into_iter()
        .map(|p| {
            let extra = loaded.extra_for(p, shown, opts.container.clone());
            analyse_indexed(p, &index, &Logs::default(), &extra)
        })
        .collect();
    super::sort_worst_first(&mut reports);
    Ok(Reports {
        reports,
        empty_msg: Some(format!("no matching pods in {shown}")),
        ..Default::default()
    })
}

impl Loaded {
    /// What the file tells about the objects around `pod`, as a live run would have read them.
    pub fn extra_for(&self, pod: &Pod, shown: &str, container: Option<String>) -> Extra {
        let ns = pod.metadata.namespace.as_deref().unwrap_or("default");
        let same_ns = |m: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta| {
            m.namespace.as_deref().unwrap_or("default") == ns
        };
        let node = pod
            .spec
            .as_ref()
            .and_then(|s| s.node_name.as_deref())
            .and_then(|n| {
                self.nodes
                    .iter()
                    .find(|x| x.metadata.name.as_deref() == Some(n))
            })
            .map(NodeFacts::from_node);
        let owner = crate::workload::owner::controller_of(&pod.metadata).map(|o| {
            self.jobs
                .iter()
                .filter(|_| o.kind == "Job")
                .find(|j| {
                    j.metadata.name.as_deref() == Some(o.name.as_str()) && same_ns(&j.metadata)
                })
                .map(OwnerFacts::from_job)
                .unwrap_or_else(|| OwnerFacts {
                    kind: o.kind.clone(),
                    name: o.name.clone(),
                    ..Default::default()
                })
        });
        let claims = pod
            .spec
            .as_ref()
            .and_then(|s| s.volumes.as_ref())
            .into_iter()
            .flatten()
            .filter_map(|v| v.persistent_volume_claim.as_ref())
            .filter_map(|c| {
                self.claims.iter().find(|x| {
                    x.metadata.name.as_deref() == Some(c.claim_name.as_str())
                        && same_ns(&x.metadata)
                })
            })
            .map(ClaimFacts::from_claim)
            .collect();
        Extra {
            events: if self.had_events {
                EventSource::File
            } else {
                EventSource::NotInFile(shown.to_string())
            },
            node,
            owner,
            claims,
            unread: Vec::new(),
            container,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::explain::events::EventRecord;

    #[test]
    fn a_list_of_pods_and_both_event_shapes() {
        let text = r#"
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Pod
  metadata: {name: web, namespace: shop, uid: u1}
  spec: {containers: [{name: app, image: web:1}]}
- apiVersion: v1
  kind: Event
  metadata: {name: web.1, namespace: shop}
  involvedObject: {kind: Pod, name: web, namespace: shop, uid: u1}
  reason: Killing
  message: Stopping container app
- apiVersion: events.k8s.io/v1
  kind: Event
  metadata: {name: web.2, namespace: shop}
  regarding: {kind: Pod, name: web, namespace: shop}
  reason: BackOff
  note: Back-off restarting failed container app in pod web_shop(u1)
  eventTime: "2026-11-23T10:00:00.000000Z"
- apiVersion: v1
  kind: Service
  metadata: {name: web}
"#;
        let l = parse(text, "f.yaml").expect("parses");
        assert_eq!(l.pods.len(), 1);
        assert_eq!(l.events.len(), 2);
        assert!(l.had_events);
        assert_eq!(l.skipped, vec!["Service".to_string()]);
    }

    #[test]
    fn multi_document_yaml_and_json() {
        let text = "---\napiVersion: v1\nkind: Pod\nmetadata: {name: a}\n---\n{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"b\"}}\n";
        let l = parse(text, "f").expect("parses");
        assert_eq!(l.pods.len(), 2);
        assert!(!l.had_events);
    }

    #[test]
    fn malformed_yaml_names_the_position() {
        let err = parse("kind: Pod\nmetadata: {name: [\n", "bad.yaml").expect_err("must fail");
        let s = err.to_string();
        assert!(
            s.starts_with("bad.yaml: line 3 column 1: not valid YAML: "),
            "{s}"
        );
    }

    /// `failing` crash-looping pods with three events each, and `others` events about other objects.
    fn sweep(failing: usize, others: usize) -> Loaded {
        let pod = |i: usize| -> Pod {
            serde_json::from_value(serde_json::json!({
                "metadata": {"name": format!("web-{i}"), "namespace": "shop", "uid": format!("u-{i}")},
                "spec": {"containers": [{"name": "app"}]},
                "status": {"phase": "Running", "containerStatuses": [{
                    "name": "app", "image": "i", "imageID": "", "ready": false, "restartCount": 3,
                    "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                    "lastState": {"terminated": {"exitCode": 1, "reason": "Error"}}}]}
            }))
            .expect("pod")
        };
        let event = |kind: &str, name: String, uid: String, reason: &str| -> EventRecord {
            let e: CoreEvent = serde_json::from_value(serde_json::json!({
                "metadata": {"name": format!("{name}.{reason}"), "namespace": "shop"},
                "involvedObject": {"kind": kind, "name": name, "namespace": "shop", "uid": uid,
                                   "fieldPath": "spec.containers{app}"},
                "reason": reason, "message": "Back-off restarting failed container app", "count": 3
            }))
            .expect("event");
            EventRecord::from_core(&e)
        };
        let mut l = Loaded::default();
        for i in 0..failing {
            l.pods.push(pod(i));
            for r in ["Pulled", "Started", "BackOff"] {
                l.events
                    .push(event("Pod", format!("web-{i}"), format!("u-{i}"), r));
            }
        }
        for j in 0..others {
            l.events.push(event(
                "ReplicaSet",
                format!("rs-{j}"),
                format!("r-{j}"),
                "SuccessfulCreate",
            ));
        }
        l.had_events = true;
        l
    }

    #[test]
    fn explaining_many_pods_is_linear_in_pods_and_events() {
        // Work is counted in events indexed or examined (not time): one index for the whole input,
        // each pod's lookup touching only its own events.
        let opts = ExplainOptions::default();
        let work = |failing: usize, others: usize| {
            let l = sweep(failing, others);
            let before = super::super::events::work_on_this_thread();
            let reports = reports_from(&l, "f", &[], None, &opts)
                .expect("reports")
                .reports;
            assert_eq!(reports.len(), failing);
            assert!(
                reports.iter().all(|r| r.events.len() == 3),
                "each pod sees its own events"
            );
            super::super::events::work_on_this_thread() - before
        };
        let small = work(300, 1000);
        let large = work(3000, 10000);
        // Linear: every event indexed once and every pod event looked at once (a per-pod scan or copy of
        // the namespace's events would be 300×1,900 and 3,000×19,000).
        assert_eq!(small, (300 * 3 + 1000) + 300 * 3);
        assert_eq!(large, (3000 * 3 + 10000) + 3000 * 3);
    }

    #[test]
    fn schema_mismatch_is_an_input_error() {
        let err = parse(
            "kind: Pod\napiVersion: v1\nmetadata: {name: a}\nspec: {containers: 3}\n",
            "p.yaml",
        )
        .expect_err("must fail");
        assert!(
            err.to_string()
                .contains("p.yaml:1: Pod \"a\" does not match"),
            "{err}"
        );
    }
}
