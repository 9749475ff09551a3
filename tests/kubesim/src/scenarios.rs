//! Scenario builders shared by kubesim's own tests, the plugin's integration tests and the
//! benchmarks, so that one failure looks the same everywhere it is used.

use std::fmt::Write;

/// A pod whose one container `app` exited 2 (`Error`) `restarts` times and now waits in
/// CrashLoopBackOff, with the status and the BackOff event the kubelet writes for it (the message
/// and the event of kuberuntime_manager.go `doBackOff`). The default is `api-0` of namespace
/// `default`, five restarts in.
#[derive(Debug, Clone)]
pub struct CrashLoop {
    pub name: String,
    pub namespace: String,
    /// The pod's uid (in the back-off message and the event, as the kubelet formats the pod).
    pub uid: String,
    pub image: String,
    pub node: String,
    pub restarts: u32,
    /// `labels: …` of the pod, a flow map (None: no labels).
    pub labels: Option<String>,
    /// The container's memory limit (None: no resources).
    pub memory_limit: Option<String>,
    /// What the previous run printed (kubesim's `kubesim.io/previous-logs`).
    pub previous_logs: Option<String>,
    /// What the current run printed so far (kubesim's `kubesim.io/logs`).
    pub logs: Option<String>,
    /// The count of the BackOff event (None: no event).
    pub back_off_events: Option<u32>,
}

impl Default for CrashLoop {
    fn default() -> Self {
        CrashLoop {
            name: "api-0".into(),
            namespace: "default".into(),
            uid: "6f1c2a7e-1111-4c8e-9a55-0a0a0a0a0a01".into(),
            image: "shop/api:1.4".into(),
            node: "node-1".into(),
            restarts: 5,
            labels: None,
            memory_limit: None,
            previous_logs: None,
            logs: None,
            back_off_events: None,
        }
    }
}

impl CrashLoop {
    /// The back-off before the next start after `restarts` crashes: 10 s doubling per crash, at
    /// most 5 min (kubelet.go: `backOffPeriod`, `MaxContainerBackOff`), as the kubelet prints it.
    pub fn back_off(&self) -> String {
        let secs = 10u64
            .saturating_mul(1 << self.restarts.saturating_sub(1).min(5))
            .min(300);
        match (secs / 60, secs % 60) {
            (0, s) => format!("{s}s"),
            (m, 0) => format!("{m}m0s"),
            (m, s) => format!("{m}m{s}s"),
        }
    }

    /// The pod as `name_namespace(uid)`, how the kubelet names it in messages (format.Pod).
    fn pod_ref(&self) -> String {
        format!("{}_{}({})", self.name, self.namespace, self.uid)
    }

    /// The pod (and its BackOff event, if any) as scenario YAML.
    pub fn yaml(&self) -> String {
        let CrashLoop {
            name,
            namespace,
            uid,
            image,
            node,
            restarts,
            ..
        } = self;
        let mut y = format!(
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\n  namespace: {namespace}\n  uid: {uid}\n"
        );
        if let Some(labels) = &self.labels {
            let _ = writeln!(y, "  labels: {labels}");
        }
        let logs = [
            ("kubesim.io/previous-logs", &self.previous_logs),
            ("kubesim.io/logs", &self.logs),
        ];
        if logs.iter().any(|(_, text)| text.is_some()) {
            y.push_str("  annotations:\n");
            for (key, text) in logs {
                if let Some(text) = text {
                    let _ = writeln!(y, "    {key}: |\n      app: {}", yaml_string(text));
                }
            }
        }
        let _ = writeln!(
            y,
            "spec:\n  nodeName: {node}\n  containers:\n  - name: app\n    image: {image}"
        );
        if let Some(limit) = &self.memory_limit {
            let _ = writeln!(y, "    resources: {{limits: {{memory: {limit}}}}}");
        }
        let _ = write!(
            y,
            r#"status:
  phase: Running
  conditions:
  - {{type: Ready, status: "False"}}
  containerStatuses:
  - name: app
    image: {image}
    ready: false
    restartCount: {restarts}
    state: {{waiting: {{reason: CrashLoopBackOff, message: "back-off {back_off} restarting failed container=app pod={pod}"}}}}
    lastState: {{terminated: {{exitCode: 2, reason: Error, startedAt: "2026-01-01T10:00:00Z", finishedAt: "2026-01-01T10:00:04Z"}}}}
"#,
            back_off = self.back_off(),
            pod = self.pod_ref(),
        );
        if let Some(count) = self.back_off_events {
            let _ = write!(
                y,
                r#"---
apiVersion: v1
kind: Event
metadata: {{namespace: {namespace}, name: {name}.1}}
involvedObject: {{kind: Pod, name: {name}, namespace: {namespace}, uid: {uid}}}
type: Warning
reason: BackOff
message: Back-off restarting failed container app in pod {pod}
count: {count}
firstTimestamp: "2026-01-01T09:40:00Z"
lastTimestamp: "2026-01-01T10:00:10Z"
source: {{component: kubelet, host: {node}}}
"#,
                pod = self.pod_ref(),
            );
        }
        y
    }
}

/// The Deployment `web` of `replicas` in `namespace`: rolling one pod at a time (surge 1,
/// unavailable 0), its pods up 1 s after start and Ready 1 s later (a readiness probe on :8080),
/// 5 s of grace.
pub fn web_deployment(namespace: &str, replicas: u32, image: &str) -> String {
    format!(
        r#"apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: {namespace}}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: web}}}}
  strategy: {{rollingUpdate: {{maxSurge: 1, maxUnavailable: 0}}}}
  template:
    metadata:
      labels: {{app: web}}
      annotations:
        kubesim.io/behavior: |
          app: {{readyAfter: 1s, startDelay: 1s}}
    spec:
      terminationGracePeriodSeconds: 5
      containers:
      - name: app
        image: {image}
        readinessProbe: {{httpGet: {{path: /, port: 8080}}}}
"#
    )
}

/// `yaml` with `patch` (YAML) merged into its documents as a JSON merge patch (RFC 7386), which is
/// how a test states what it changes in a shared fixture. A patch that names a `kind` changes only
/// the documents of that kind. Panics on YAML that does not parse (a test's own typo).
pub fn patched(yaml: &str, patch: &str) -> String {
    let patch: serde_json::Value = serde_yaml::from_str(patch).expect("the patch is YAML");
    let docs = crate::parse_objects(yaml).expect("the fixture is YAML");
    docs.into_iter()
        .map(|mut doc| {
            if patch.get("kind").is_none_or(|k| *k == doc["kind"]) {
                crate::patch::merge_patch(&mut doc, &patch);
            }
            serde_yaml::to_string(&doc).expect("an object serialises")
        })
        .collect::<Vec<_>>()
        .join("---\n")
}

/// `text` as a double-quoted YAML scalar on one line.
fn yaml_string(text: &str) -> String {
    serde_json::to_string(text).expect("a string serialises")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_off_doubles_from_10s_to_at_most_5m() {
        let after = |restarts| {
            CrashLoop {
                restarts,
                ..Default::default()
            }
            .back_off()
        };
        assert_eq!(after(1), "10s");
        assert_eq!(after(4), "1m20s");
        assert_eq!(after(5), "2m40s");
        assert_eq!(after(6), "5m0s");
        assert_eq!(after(40), "5m0s");
    }

    #[test]
    fn yaml_is_a_crash_looping_pod_and_its_event() {
        let c = CrashLoop {
            labels: Some("{app: api}".into()),
            memory_limit: Some("256Mi".into()),
            previous_logs: Some("panic: x\n".into()),
            back_off_events: Some(31),
            ..Default::default()
        };
        let objs = crate::parse_objects(&c.yaml()).unwrap();
        assert_eq!(objs.len(), 2);
        let pod = &objs[0];
        assert_eq!(pod["metadata"]["labels"]["app"], "api");
        assert_eq!(
            pod["metadata"]["annotations"]["kubesim.io/previous-logs"],
            "app: \"panic: x\\n\"\n"
        );
        assert_eq!(
            pod["spec"]["containers"][0]["resources"]["limits"]["memory"],
            "256Mi"
        );
        let status = &pod["status"]["containerStatuses"][0];
        assert_eq!(status["restartCount"], 5);
        assert_eq!(
            status["state"]["waiting"]["message"],
            "back-off 2m40s restarting failed container=app pod=api-0_default(6f1c2a7e-1111-4c8e-9a55-0a0a0a0a0a01)"
        );
        assert_eq!(status["lastState"]["terminated"]["exitCode"], 2);
        assert_eq!(objs[1]["kind"], "Event");
        assert_eq!(objs[1]["count"], 31);
        assert_eq!(objs[1]["involvedObject"]["uid"], pod["metadata"]["uid"]);
    }

    #[test]
    fn patched_changes_only_the_documents_of_the_patch_kind() {
        let two = format!(
            "{}---\nkind: Service\nmetadata: {{name: web}}\n",
            web_deployment("shop", 2, "a:1")
        );
        let objs = crate::parse_objects(&patched(
            &two,
            "{kind: Deployment, spec: {replicas: 5, paused: true}}",
        ))
        .unwrap();
        assert_eq!(objs[0]["spec"]["replicas"], 5);
        assert_eq!(objs[0]["spec"]["paused"], true);
        // What the patch does not name stays as it was.
        assert_eq!(objs[0]["spec"]["strategy"]["rollingUpdate"]["maxSurge"], 1);
        assert_eq!(
            objs[1],
            serde_json::json!({"kind": "Service", "metadata": {"name": "web"}})
        );
        // Without a kind, every document; null removes.
        let objs = crate::parse_objects(&patched(
            &two,
            "metadata: {namespace: null, labels: {a: b}}",
        ))
        .unwrap();
        assert!(objs.iter().all(|o| o["metadata"]["labels"]["a"] == "b"));
        assert!(objs[0]["metadata"].get("namespace").is_none());
    }

    #[test]
    fn web_deployment_is_one_object() {
        let objs = crate::parse_objects(&web_deployment("shop", 2, "shop/web:2.0")).unwrap();
        assert_eq!(objs.len(), 1);
        assert_eq!(objs[0]["metadata"]["namespace"], "shop");
        assert_eq!(objs[0]["spec"]["replicas"], 2);
        let template = &objs[0]["spec"]["template"];
        assert_eq!(template["spec"]["containers"][0]["image"], "shop/web:2.0");
        assert_eq!(
            template["metadata"]["annotations"]["kubesim.io/behavior"],
            "app: {readyAfter: 1s, startDelay: 1s}\n"
        );
    }
}
