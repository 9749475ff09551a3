//! Conformance: the same scenario on kubesim and on the test bed (the real apiserver, controllers
//! and scheduler), each recording what the cluster showed as sequences of normalised status
//! snapshots ([`testbed::trace`]), compared. Run by the e2e runner (`cargo test --test e2e
//! conformance`) on every test bed version, against a kubesim of the same `--server-version` at
//! time scale 1, so behaviour durations mean the same on both.
//!
//! A scenario's steps never panic on a cluster that does not do what upstream does: its waits
//! give up quietly and the trace shows the difference. Differences kubesim keeps on purpose are
//! listed per scenario in `intended` (and in kubesim's README, "Differences from Kubernetes").

use crate::support::manifests::{self, Meta};
use crate::support::Cluster;
use serde_json::{json, Value};
use std::time::Duration;
use testbed::trace::{
    condition, container, deleting, num, pod_ready, tally, text, Aliases, Objects, Recorder, Track,
    DAEMONSETS, DEPLOYMENTS, JOBS, PDBS, PODS, REPLICASETS, STATEFULSETS,
};

pub struct Scenario {
    pub name: &'static str,
    pub tracks: &'static [Track],
    pub run: fn(&Cluster, &Recorder),
    /// Differences kept on purpose: (track, JSON pointers dropped before comparing, why).
    pub intended: &'static [(&'static str, &'static [&'static str], &'static str)],
}

pub const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "deployment_rolling_update",
        tracks: &[DEPLOY_STATUS, RS_STATUS, DEPLOY_PODS],
        run: deployment_rolling_update,
        intended: &[],
    },
    Scenario {
        name: "deployment_recreate",
        tracks: &[DEPLOY_STATUS, RS_STATUS, DEPLOY_PODS],
        run: deployment_recreate,
        intended: &[],
    },
    Scenario {
        name: "deployment_progress_deadline_without_rollout",
        tracks: &[DEPLOY_STATUS],
        run: deployment_progress_deadline,
        intended: &[],
    },
    Scenario {
        name: "statefulset_rolling_update_min_ready_seconds",
        tracks: &[STS_STATUS, STS_PODS],
        run: statefulset_min_ready,
        intended: &[],
    },
    Scenario {
        name: "statefulset_partition",
        tracks: &[STS_STATUS, STS_PODS],
        run: statefulset_partition,
        intended: &[],
    },
    Scenario {
        name: "statefulset_on_delete",
        tracks: &[STS_STATUS, STS_PODS],
        run: statefulset_on_delete,
        intended: &[],
    },
    Scenario {
        name: "statefulset_failed_pod_is_recreated",
        tracks: &[STS_STATUS, STS_PODS],
        run: statefulset_failed_pod,
        intended: &[],
    },
    Scenario {
        name: "daemonset_max_surge",
        tracks: &[DS_STATUS, DS_PODS],
        run: daemonset_max_surge,
        intended: &[],
    },
    Scenario {
        name: "daemonset_max_unavailable",
        tracks: &[DS_STATUS, DS_PODS],
        run: daemonset_max_unavailable,
        intended: &[],
    },
    Scenario {
        name: "pdb_during_a_surge",
        tracks: &[PDB_STATUS, DEPLOY_STATUS],
        run: pdb_during_surge,
        intended: &[],
    },
    Scenario {
        name: "pdb_evictions_bare_and_unready_pods",
        tracks: &[PDB_STATUS, POD_STATES],
        run: pdb_evictions,
        intended: &[],
    },
    Scenario {
        name: "job_backoff_limit_and_completion",
        tracks: &[JOB_STATUS, JOB_PODS],
        run: job_conditions,
        intended: &[],
    },
    Scenario {
        name: "pod_crash_loop",
        tracks: &[POD_STATES],
        run: pod_crash_loop,
        intended: &[],
    },
    Scenario {
        name: "pod_liveness_and_startup_kills",
        tracks: &[POD_STATES],
        run: pod_probe_kills,
        intended: &[],
    },
    Scenario {
        name: "pod_stop_sequence",
        tracks: &[POD_STATES],
        run: pod_stop_sequence,
        intended: &[],
    },
];

/// Run `s` on `c` while recording; the trace once the cluster has settled.
pub fn record(c: &Cluster, s: &Scenario) -> testbed::trace::Trace {
    let rec = Recorder::start(&c.kubeconfig, &c.namespace, s.tracks)
        .unwrap_or_else(|e| panic!("[{}] recorder: {e:#}", c.backend));
    (s.run)(c, &rec);
    rec.settle(Duration::from_secs(3), Duration::from_secs(30));
    let mut t = rec.finish();
    for (track, paths, _) in s.intended {
        testbed::trace::ignore(&mut t, track, paths);
    }
    t
}

// ---------- tracks ----------

const DEPLOY_STATUS: Track = Track {
    name: "deployment",
    kind: DEPLOYMENTS,
    project: |objs, _| {
        let Some(d) = objs.values().next() else {
            return Value::Null;
        };
        json!({
            "observed": num(d, "/status/observedGeneration") >= num(d, "/metadata/generation"),
            "replicas": num(d, "/status/replicas"),
            "updated": num(d, "/status/updatedReplicas"),
            "ready": num(d, "/status/readyReplicas"),
            "available": num(d, "/status/availableReplicas"),
            "unavailable": num(d, "/status/unavailableReplicas"),
            "Available": condition(d, "Available"),
            "Progressing": progressing(d, num(d, "/status/replicas") + num(d, "/status/updatedReplicas") == 0),
        })
    },
    split: false,
};

/// The Progressing condition, its in-progress reasons as one: whether the real controller
/// writes `NewReplicaSetCreated` or goes on to `ReplicaSetUpdated` before the new pods are
/// Ready depends on how its status writes interleave with the ReplicaSet's (both seen on the
/// same version from run to run). With no pod at all (`empty`: a Recreate between its old and
/// new ReplicaSets) a completed rollout's `NewReplicaSetAvailable` counts as in progress too:
/// the real controller estimates progress only if it saw the old ReplicaSet's count go down in
/// steps, which depends on how the pod deletions reach it. `ProgressDeadlineExceeded` and a
/// `NewReplicaSetAvailable` with pods stay.
fn progressing(d: &Value, empty: bool) -> String {
    let c = condition(d, "Progressing");
    match c.as_str() {
        "True/NewReplicaSetCreated" | "True/FoundNewReplicaSet" | "True/ReplicaSetUpdated" => {
            "True/(rollout in progress)".into()
        }
        "True/NewReplicaSetAvailable" if empty => "True/(rollout in progress)".into(),
        _ => c,
    }
}

fn hash_alias(o: &Value, al: &mut Aliases) -> String {
    al.of("rs", text(o, "/metadata/labels/pod-template-hash"))
}

const RS_STATUS: Track = Track {
    name: "replicasets",
    kind: REPLICASETS,
    project: |objs, al| {
        let mut m = serde_json::Map::new();
        for rs in objs.values() {
            m.insert(
                hash_alias(rs, al),
                json!({
                    "spec": num(rs, "/spec/replicas"),
                    "replicas": num(rs, "/status/replicas"),
                    "ready": num(rs, "/status/readyReplicas"),
                    "available": num(rs, "/status/availableReplicas"),
                }),
            );
        }
        Value::Object(m)
    },
    split: true,
};

/// A pod in one word: `revision/ready|unready[/deleting][/Phase when terminal]`.
fn pod_word(p: &Value, revision: String) -> String {
    let mut w = format!(
        "{revision}/{}",
        if pod_ready(p) { "ready" } else { "unready" }
    );
    if deleting(p) {
        w.push_str("/deleting");
    }
    let phase = text(p, "/status/phase");
    if phase == "Succeeded" || phase == "Failed" {
        w.push('/');
        w.push_str(phase);
    }
    w
}

const DEPLOY_PODS: Track = Track {
    name: "pods",
    kind: PODS,
    project: |objs, al| {
        let words: Vec<String> = objs
            .values()
            .map(|p| {
                let rev = hash_alias(p, al);
                pod_word(p, rev)
            })
            .collect();
        tally(words)
    },
    split: false,
};

fn rev_alias(al: &mut Aliases, raw: &str) -> String {
    al.of("rev", raw)
}

const STS_STATUS: Track = Track {
    name: "statefulset",
    kind: STATEFULSETS,
    project: |objs, al| {
        let Some(s) = objs.values().next() else {
            return Value::Null;
        };
        json!({
            "observed": num(s, "/status/observedGeneration") >= num(s, "/metadata/generation"),
            "replicas": num(s, "/status/replicas"),
            "ready": num(s, "/status/readyReplicas"),
            "available": num(s, "/status/availableReplicas"),
            "current": num(s, "/status/currentReplicas"),
            "updated": num(s, "/status/updatedReplicas"),
            "currentRevision": rev_alias(al, text(s, "/status/currentRevision")),
            "updateRevision": rev_alias(al, text(s, "/status/updateRevision")),
        })
    },
    split: false,
};

const STS_PODS: Track = Track {
    name: "pods",
    kind: PODS,
    project: |objs, al| {
        let mut m = serde_json::Map::new();
        for (name, p) in objs {
            let rev = rev_alias(al, text(p, "/metadata/labels/controller-revision-hash"));
            m.insert(name.clone(), json!(pod_word(p, rev)));
        }
        Value::Object(m)
    },
    split: true,
};

const DS_STATUS: Track = Track {
    name: "daemonset",
    kind: DAEMONSETS,
    project: |objs, _| {
        let Some(d) = objs.values().next() else {
            return Value::Null;
        };
        json!({
            "observed": num(d, "/status/observedGeneration") >= num(d, "/metadata/generation"),
            "desired": num(d, "/status/desiredNumberScheduled"),
            "current": num(d, "/status/currentNumberScheduled"),
            "updated": num(d, "/status/updatedNumberScheduled"),
            "ready": num(d, "/status/numberReady"),
            "available": num(d, "/status/numberAvailable"),
            "unavailable": num(d, "/status/numberUnavailable"),
            "misscheduled": num(d, "/status/numberMisscheduled"),
        })
    },
    split: false,
};

/// Per node the words of its pods (sorted), tallied over the nodes: which node goes first does
/// not matter, how many pods a node has at a time does.
const DS_PODS: Track = Track {
    name: "nodes",
    kind: PODS,
    project: |objs, al| {
        let mut by_node: std::collections::BTreeMap<String, Vec<String>> = Default::default();
        for p in objs.values() {
            let rev = al.of("rev", text(p, "/metadata/labels/controller-revision-hash"));
            // Bound, or for the node its affinity names (daemon pods go through the scheduler).
            let node = p
                .pointer("/spec/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution/nodeSelectorTerms/0/matchFields/0/values/0")
                .and_then(Value::as_str)
                .unwrap_or_else(|| text(p, "/spec/nodeName"));
            by_node
                .entry(node.to_string())
                .or_default()
                .push(pod_word(p, rev));
        }
        tally(by_node.into_values().map(|mut w| {
            w.sort();
            w.join(",")
        }))
    },
    split: false,
};

const PDB_STATUS: Track = Track {
    name: "pdbs",
    kind: PDBS,
    project: |objs: &Objects, _| {
        let mut m = serde_json::Map::new();
        for (name, p) in objs {
            m.insert(
                name.clone(),
                json!({
                    "observed": num(p, "/status/observedGeneration") >= num(p, "/metadata/generation"),
                    "expected": num(p, "/status/expectedPods"),
                    "healthy": num(p, "/status/currentHealthy"),
                    "desired": num(p, "/status/desiredHealthy"),
                    "allowed": num(p, "/status/disruptionsAllowed"),
                    "DisruptionAllowed": condition(p, "DisruptionAllowed"),
                }),
            );
        }
        Value::Object(m)
    },
    split: true,
};

const JOB_STATUS: Track = Track {
    name: "jobs",
    kind: JOBS,
    project: |objs, _| {
        let mut m = serde_json::Map::new();
        for (name, j) in objs {
            let conds: Vec<String> = j
                .pointer("/status/conditions")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|c| {
                    format!(
                        "{}/{}/{}",
                        c["type"].as_str().unwrap_or(""),
                        c["status"].as_str().unwrap_or(""),
                        c["reason"].as_str().unwrap_or("")
                    )
                })
                .collect();
            m.insert(
                name.clone(),
                json!({
                    "active": num(j, "/status/active"),
                    "succeeded": num(j, "/status/succeeded"),
                    "failed": num(j, "/status/failed"),
                    "ready": num(j, "/status/ready"),
                    "terminating": num(j, "/status/terminating"),
                    "conditions": conds,
                }),
            );
        }
        Value::Object(m)
    },
    split: true,
};

const JOB_PODS: Track = Track {
    name: "pods",
    kind: PODS,
    project: |objs, _| {
        tally(objs.values().map(|p| {
            format!(
                "{}/{}{}",
                text(p, "/metadata/labels/job-name"),
                text(p, "/status/phase"),
                if deleting(p) { "/deleting" } else { "" }
            )
        }))
    },
    split: false,
};

/// Every pod by name: phase, Ready, deletion, its containers' states, and whether a container
/// finished after the deletion deadline (the kubelet's 2 s after a preStop that used it all).
const POD_STATES: Track = Track {
    name: "pods",
    kind: PODS,
    project: |objs, _| {
        let mut m = serde_json::Map::new();
        for (name, p) in objs {
            let containers: Vec<Value> = p
                .pointer("/status/containerStatuses")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(container)
                .collect();
            let deadline = text(p, "/metadata/deletionTimestamp");
            let overran = p
                .pointer("/status/containerStatuses")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|c| c.pointer("/state/terminated/finishedAt")?.as_str())
                .any(|f| !deadline.is_empty() && f > deadline);
            m.insert(
                name.clone(),
                json!({
                    "phase": text(p, "/status/phase"),
                    "ready": pod_ready(p),
                    "deleting": deleting(p),
                    "containers": containers,
                    "pastDeadline": overran,
                }),
            );
        }
        Value::Object(m)
    },
    split: true,
};

// ---------- manifests ----------

const SURGE: &str = "{type: RollingUpdate, rollingUpdate: {maxSurge: 1, maxUnavailable: 0}}";

/// The behaviour's annotation, flow-map entries for a template.
fn behavior_annotation(b: &str) -> String {
    format!("kubesim.io/behavior: '{b}'")
}

/// A Deployment (surge 1) whose pods run `behavior`, with one more spec line `extra_spec`.
fn deployment(name: &str, replicas: u32, extra_spec: &str, behavior: &str) -> String {
    let meta = Meta {
        extra_spec: Some(extra_spec),
        ..Meta::default()
    };
    manifests::deployment(&meta, name, replicas, SURGE, &behavior_annotation(behavior))
}

fn statefulset(name: &str, replicas: u32, strategy: &str, extra_spec: &str) -> String {
    let meta = Meta {
        extra_spec: Some(extra_spec),
        ..Meta::default()
    };
    manifests::statefulset(&meta, name, replicas, strategy)
}

/// A DaemonSet whose pods start after 1 s and are Ready 3 s later.
fn daemonset(name: &str, strategy: &str) -> String {
    let starts = behavior_annotation("{startDelay: 1s, readyAfter: 3s}");
    manifests::daemonset(&Meta::default(), name, strategy, Some(&starts))
}

/// A bare pod (label `app: NAME`, plus `group`) running `behavior`; `container_extra` goes into
/// its container, `spec_extra` into its spec.
fn pod(name: &str, group: &str, behavior: &str, spec_extra: &str, container_extra: &str) -> String {
    format!(
        r#"
apiVersion: v1
kind: Pod
metadata:
  name: {name}
  labels: {{app: {name}, group: {group}}}
  annotations: {{kubesim.io/behavior: '{behavior}'}}
spec:
  {spec_extra}
  containers:
  - name: app
    image: registry.example/{name}:1.0
    {container_extra}
"#
    )
}

fn pdb(name: &str, selector: &str, spec: &str) -> String {
    manifests::pdb(&Meta::default(), name, selector, spec)
}

// ---------- steps ----------

const LONG: Duration = Duration::from_secs(60);

fn ready_pods(c: &Cluster, selector: &str) -> usize {
    c.pods(selector)
        .iter()
        .filter(|p| crate::support::is_ready(p))
        .count()
}

fn restart(c: &Cluster, target: &str) {
    let out = c.kubectl(&["rollout", "restart", target]);
    assert_eq!(out.code, 0, "[{}] {out}", c.backend);
}

fn rollout_done(c: &Cluster, target: &str, timeout: &str) -> bool {
    c.kubectl(&["rollout", "status", target, &format!("--timeout={timeout}")])
        .code
        == 0
}

fn patch_template(c: &Cluster, target: &str) {
    // What `kubectl rollout restart` sends, for kinds where it would refuse (none here), and to
    // keep each scenario's write explicit.
    let patch =
        r#"{"spec":{"template":{"metadata":{"annotations":{"conformance/revision":"2"}}}}}"#;
    let out = c.kubectl(&["patch", target, "--type=merge", "-p", patch]);
    assert_eq!(out.code, 0, "[{}] {out}", c.backend);
}

// ---------- scenarios ----------

fn deployment_rolling_update(c: &Cluster, _: &Recorder) {
    c.apply(&deployment(
        "web",
        3,
        "",
        "{startDelay: 1s, readyAfter: 1s}",
    ));
    c.wait_soft(LONG, |c| ready_pods(c, "app=web") == 3);
    restart(c, "deploy/web");
    rollout_done(c, "deploy/web", "60s");
}

fn deployment_recreate(c: &Cluster, _: &Recorder) {
    // recreate.go: every old pod gone (terminated, 2 s each here) before the new ReplicaSet.
    c.apply(
        &deployment(
            "rec",
            2,
            "",
            "{startDelay: 1s, readyAfter: 1s, sigtermExit: 2s}",
        )
        .replace(SURGE, "{type: Recreate}"),
    );
    c.wait_soft(LONG, |c| ready_pods(c, "app=rec") == 2);
    restart(c, "deploy/rec");
    rollout_done(c, "deploy/rec", "60s");
}

fn deployment_progress_deadline(c: &Cluster, rec: &Recorder) {
    // Pods take 5 s to be Ready and the deadline is 1 s: the first rollout times out and then
    // completes. A pod deleted afterwards is replaced as slowly, but that is no rollout: upstream
    // (progress.go) estimates no progress once the new ReplicaSet is complete.
    c.apply(&deployment(
        "slow",
        1,
        "progressDeadlineSeconds: 1",
        "{startDelay: 1s, readyAfter: 4s}",
    ));
    c.wait_soft(LONG, |c| ready_pods(c, "app=slow") == 1);
    rec.settle(Duration::from_secs(1), Duration::from_secs(10));
    let pods = c.pods("app=slow");
    if let Some(name) = pods.first().and_then(|p| p["metadata"]["name"].as_str()) {
        c.kubectl(&["delete", "pod", name, "--wait=false"]);
    }
    std::thread::sleep(Duration::from_secs(1));
    c.wait_soft(LONG, |c| {
        ready_pods(c, "app=slow") == 1 && c.pods("app=slow").len() == 1
    });
}

fn statefulset_min_ready(c: &Cluster, _: &Recorder) {
    c.apply(&statefulset(
        "db",
        3,
        "{type: RollingUpdate}",
        "minReadySeconds: 4",
    ));
    c.wait_soft(LONG, |c| ready_pods(c, "app=db") == 3);
    restart(c, "sts/db");
    rollout_done(c, "sts/db", "90s");
    // rollout status does not wait for availability (minReadySeconds after the last Ready).
    c.wait_soft(LONG, |c| {
        c.get(&["sts", "db"])["status"]["availableReplicas"] == 3
    });
}

fn statefulset_partition(c: &Cluster, rec: &Recorder) {
    c.apply(&statefulset(
        "part",
        3,
        "{type: RollingUpdate, rollingUpdate: {partition: 2}}",
        "",
    ));
    c.wait_soft(LONG, |c| ready_pods(c, "app=part") == 3);
    restart(c, "sts/part");
    // Only part-2 is replaced; nothing says when the controller is done but the trace.
    c.wait_soft(LONG, |c| {
        let p = c.pods("app=part");
        p.len() == 3
            && p.iter().all(crate::support::is_ready)
            && p.iter().any(|p| crate::support::restarted_at(p).is_some())
    });
    rec.settle(Duration::from_secs(2), Duration::from_secs(10));
}

fn statefulset_on_delete(c: &Cluster, rec: &Recorder) {
    c.apply(&statefulset("od", 2, "{type: OnDelete}", ""));
    c.wait_soft(LONG, |c| ready_pods(c, "app=od") == 2);
    patch_template(c, "sts/od");
    rec.settle(Duration::from_secs(1), Duration::from_secs(10));
    for name in ["od-1", "od-0"] {
        let uid = c.get(&["pod", name])["metadata"]["uid"].clone();
        c.kubectl(&["delete", "pod", name, "--wait=false"]);
        c.wait_soft(LONG, |c| {
            let out = c.kubectl(&["get", "pod", name, "-o", "json"]);
            let p: Value = serde_json::from_str(&out.stdout).unwrap_or(Value::Null);
            p["metadata"]["uid"] != uid && crate::support::is_ready(&p)
        });
    }
    rec.settle(Duration::from_secs(2), Duration::from_secs(10));
}

fn statefulset_failed_pod(c: &Cluster, _: &Recorder) {
    c.apply(&statefulset("fp", 2, "{type: RollingUpdate}", ""));
    c.wait_soft(LONG, |c| ready_pods(c, "app=fp") == 2);
    let uid = c.get(&["pod", "fp-1"])["metadata"]["uid"].clone();
    c.evict_for_node_pressure("fp-1", "memory");
    // Upstream deletes a Failed replica and creates it again (stateful_set_control.go
    // processReplica).
    c.wait_soft(Duration::from_secs(30), |c| {
        let out = c.kubectl(&["get", "pod", "fp-1", "-o", "json"]);
        let p: Value = serde_json::from_str(&out.stdout).unwrap_or(Value::Null);
        p["metadata"]["uid"] != uid && crate::support::is_ready(&p)
    });
}

fn daemonset_max_surge(c: &Cluster, _: &Recorder) {
    c.apply(&daemonset(
        "surge",
        "{type: RollingUpdate, rollingUpdate: {maxSurge: 1, maxUnavailable: 0}}",
    ));
    c.wait_soft(LONG, |c| ready_pods(c, "app=surge") == 3);
    restart(c, "ds/surge");
    rollout_done(c, "ds/surge", "90s");
    c.wait_soft(LONG, |c| c.pods("app=surge").len() == 3);
}

fn daemonset_max_unavailable(c: &Cluster, _: &Recorder) {
    c.apply(&daemonset(
        "agent",
        "{type: RollingUpdate, rollingUpdate: {maxUnavailable: 1}}",
    ));
    c.wait_soft(LONG, |c| ready_pods(c, "app=agent") == 3);
    restart(c, "ds/agent");
    rollout_done(c, "ds/agent", "90s");
    c.wait_soft(LONG, |c| c.pods("app=agent").len() == 3);
}

fn pdb_during_surge(c: &Cluster, _: &Recorder) {
    // disruption.go: expectedPods is the owner's scale (3), not the pods counted during a surge.
    c.apply(
        &(deployment("web", 3, "", "{startDelay: 1s, readyAfter: 3s}")
            + "---\n"
            + &pdb("web", "{app: web}", "maxUnavailable: 1")),
    );
    c.wait_soft(LONG, |c| ready_pods(c, "app=web") == 3);
    restart(c, "deploy/web");
    rollout_done(c, "deploy/web", "60s");
}

fn pdb_evictions(c: &Cluster, rec: &Recorder) {
    let ready = "{startDelay: 1s, readyAfter: 1s, sigtermExit: 0s}";
    let unready = "{startDelay: 1s, neverReady: true}";
    let grace = "terminationGracePeriodSeconds: 2";
    let yaml = [
        // A bare pod under maxUnavailable: ignored by the disruption controller since 1.23.
        pod("bare", "bare", ready, grace, ""),
        pdb("bare", "{group: bare}", "maxUnavailable: 1"),
        // One Ready and one unready pod, minAvailable 1 (IfHealthyBudget, the default).
        pod("mix-ready", "mix", ready, grace, ""),
        pod("mix-unready", "mix", unready, grace, ""),
        pdb("mix", "{group: mix}", "minAvailable: 1"),
        // The same, minAvailable 2 and AlwaysAllow: the unready pod may go although unhealthy.
        pod("alw-ready", "alw", ready, grace, ""),
        pod("alw-unready", "alw", unready, grace, ""),
        pdb(
            "alw",
            "{group: alw}",
            "minAvailable: 2, unhealthyPodEvictionPolicy: AlwaysAllow",
        ),
    ];
    c.apply(&yaml.join("\n---\n"));
    c.wait_soft(LONG, |c| {
        ready_pods(c, "group in (bare,mix,alw)") == 3
            && c.pods("group in (bare,mix,alw)")
                .iter()
                .all(|p| p["status"]["phase"] == "Running")
    });
    rec.settle(Duration::from_secs(2), Duration::from_secs(15));
    for name in ["bare", "mix-ready", "mix-unready", "alw-unready"] {
        let out = c.evict(name);
        let answer = if out.code == 0 {
            "evicted".to_string()
        } else {
            // `Error from server (TooManyRequests): …`
            out.stderr
                .split_once('(')
                .and_then(|(_, r)| r.split_once(')'))
                .map_or(out.stderr.trim().to_string(), |(r, _)| r.to_string())
        };
        rec.note("evictions", json!({"pod": name, "answer": answer}));
        rec.settle(Duration::from_secs(1), Duration::from_secs(10));
    }
}

fn job_conditions(c: &Cluster, _: &Recorder) {
    let job = |name: &str, spec: &str, behavior: &str| {
        format!(
            r#"
apiVersion: batch/v1
kind: Job
metadata: {{name: {name}}}
spec:
  {spec}
  template:
    metadata: {{annotations: {{kubesim.io/behavior: '{behavior}'}}}}
    spec:
      restartPolicy: Never
      terminationGracePeriodSeconds: 2
      containers: [{{name: work, image: registry.example/{name}:1.0}}]
"#
        )
    };
    c.apply(
        &[
            job(
                "fails",
                "backoffLimit: 1",
                "{startDelay: 1s, crashAfter: 1s, exitCode: 3}",
            ),
            job(
                "works",
                "completions: 2\n  parallelism: 1",
                "{startDelay: 1s, crashAfter: 1s, exitCode: 0}",
            ),
        ]
        .join("\n---\n"),
    );
    c.wait_soft(LONG, |c| {
        let jobs = c.get(&["jobs"]);
        let done = |j: &Value| {
            j.pointer("/status/conditions")
                .and_then(Value::as_array)
                .is_some_and(|cs| {
                    cs.iter().any(|c| {
                        (c["type"] == "Complete" || c["type"] == "Failed") && c["status"] == "True"
                    })
                })
        };
        jobs["items"]
            .as_array()
            .is_some_and(|a| a.len() == 2 && a.iter().all(done))
    });
}

fn pod_crash_loop(c: &Cluster, _: &Recorder) {
    // kuberuntime_manager.go doBackOff: the first restart is immediate, the second waits 10 s.
    c.apply(&pod(
        "crashy",
        "crash",
        "{startDelay: 1s, readyAfter: 1s, crashAfter: 2s, exitCode: 2}",
        "",
        "",
    ));
    c.wait_soft(LONG, |c| {
        c.pods("app=crashy").first().is_some_and(|p| {
            p.pointer("/status/containerStatuses/0/state/waiting/reason")
                .and_then(Value::as_str)
                == Some("CrashLoopBackOff")
        })
    });
}

fn pod_probe_kills(c: &Cluster, _: &Recorder) {
    // Liveness and startup failures stop the container normally (killContainer): the app
    // handles SIGTERM and exits 0 here.
    c.apply(
        &[
            pod(
                "alive",
                "probe",
                "{startDelay: 1s, readyAfter: 1s, livenessFailsAfter: 2s, sigtermExit: 0s}",
                "terminationGracePeriodSeconds: 5",
                "livenessProbe: {httpGet: {path: /healthz, port: 8080}, periodSeconds: 1, failureThreshold: 2}",
            ),
            pod(
                "starting",
                "probe",
                "{startDelay: 1s, startupFails: true, sigtermExit: 0s}",
                "terminationGracePeriodSeconds: 5",
                "startupProbe: {httpGet: {path: /healthz, port: 8080}, periodSeconds: 1, failureThreshold: 2}",
            ),
        ]
        .join("\n---\n"),
    );
    c.wait_soft(LONG, |c| {
        c.pods("group=probe").iter().all(|p| {
            p.pointer("/status/containerStatuses/0/restartCount")
                .and_then(Value::as_i64)
                .unwrap_or(0)
                >= 1
        })
    });
}

fn pod_stop_sequence(c: &Cluster, _: &Recorder) {
    c.apply(
        &[
            // Stays Ready while its 5 s preStop runs, then exits on SIGTERM.
            pod(
                "graceful",
                "stop",
                "{startDelay: 1s, readyAfter: 1s, sigtermExit: 0s}",
                "terminationGracePeriodSeconds: 10",
                "lifecycle: {preStop: {sleep: {seconds: 5}}}",
            ),
            // Its preStop outlasts the 2 s grace period and it ignores SIGTERM: killed 2 s after
            // the deadline (kuberuntime_container.go minimumGracePeriodInSeconds).
            pod(
                "stubborn",
                "stop",
                "{startDelay: 1s, readyAfter: 1s, sigtermExit: never}",
                "terminationGracePeriodSeconds: 2",
                "lifecycle: {preStop: {exec: {command: [sleep, '30']}}}",
            ),
        ]
        .join("\n---\n"),
    );
    c.wait_soft(LONG, |c| ready_pods(c, "group=stop") == 2);
    c.kubectl(&["delete", "pod", "graceful", "stubborn", "--wait=false"]);
    c.wait_soft(LONG, |c| c.pods("group=stop").is_empty());
}
