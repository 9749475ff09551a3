//! The workload manifests every suite is made of — a Deployment, StatefulSet, DaemonSet and
//! PodDisruptionBudget of the same template — written once. The suites differ only in what [`Meta`]
//! holds: kubesim's scenarios ([`super::sim`]) name the namespace, e2e labels its workloads
//! `tier: backend`, conformance adds a spec line. Conformance compares traces of what these
//! produce, so a change here changes every suite's YAML: keep it to what all of them want.

/// What a suite adds to every manifest it builds.
#[derive(Debug, Clone, Copy, Default)]
pub struct Meta<'a> {
    /// `metadata.namespace`; None: the namespace of the command that applies it.
    pub namespace: Option<&'a str>,
    /// `metadata.labels`, a flow map (`{tier: backend}`).
    pub labels: Option<&'a str>,
    /// One more line of `spec` after the strategy (e.g. `minReadySeconds: 3`); `Some("")` writes an
    /// empty line.
    pub extra_spec: Option<&'a str>,
}

impl Meta<'_> {
    /// `{name: NAME, namespace: NS, labels: LABELS}`, with what is set.
    fn metadata(&self, name: &str) -> String {
        let mut m = format!("{{name: {name}");
        if let Some(ns) = self.namespace {
            m += &format!(", namespace: {ns}");
        }
        if let Some(labels) = self.labels {
            m += &format!(", labels: {labels}");
        }
        m + "}"
    }

    /// The extra spec line, indented, with its newline; empty when there is none.
    fn extra_spec(&self) -> String {
        self.extra_spec
            .map(|line| format!("  {line}\n"))
            .unwrap_or_default()
    }
}

/// A workload's pod template, labelled `app: NAME`, its annotations `annotations` (flow-map entries;
/// None: no `annotations` key): one container `container` of image `registry.example/NAME:1.0`,
/// `probe` its readiness probe (a flow map), 5 s grace.
fn template(name: &str, annotations: Option<&str>, container: &str, probe: &str) -> String {
    let metadata = match annotations {
        Some(a) => format!("\n      labels: {{app: {name}}}\n      annotations: {{{a}}}"),
        None => format!(" {{labels: {{app: {name}}}}}"),
    };
    format!(
        r#"  template:
    metadata:{metadata}
    spec:
      terminationGracePeriodSeconds: 5
      containers:
      - name: {container}
        image: registry.example/{name}:1.0
        readinessProbe: {probe}
"#
    )
}

/// A Deployment `name` of `replicas` (label `app: name`, an HTTP readiness probe, 5 s grace) with
/// `strategy` (a flow map), its template annotated with `annotations` (flow-map entries).
pub fn deployment(
    meta: &Meta,
    name: &str,
    replicas: u32,
    strategy: &str,
    annotations: &str,
) -> String {
    let probe = "{httpGet: {path: /ready, port: 8080}, periodSeconds: 1}";
    format!(
        r#"
apiVersion: apps/v1
kind: Deployment
metadata: {}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: {name}}}}}
  strategy: {strategy}
{}{}"#,
        meta.metadata(name),
        meta.extra_spec(),
        template(name, Some(annotations), "app", probe),
    )
}

/// A StatefulSet `name` of `replicas` (service `name`, a TCP readiness probe, 5 s grace) with
/// `updateStrategy: strategy` (a flow map).
pub fn statefulset(meta: &Meta, name: &str, replicas: u32, strategy: &str) -> String {
    let probe = "{tcpSocket: {port: 5432}, periodSeconds: 1}";
    format!(
        r#"
apiVersion: apps/v1
kind: StatefulSet
metadata: {}
spec:
  replicas: {replicas}
  serviceName: {name}
  selector: {{matchLabels: {{app: {name}}}}}
  updateStrategy: {strategy}
{}{}"#,
        meta.metadata(name),
        meta.extra_spec(),
        template(name, None, "db", probe),
    )
}

/// A DaemonSet `name` (an HTTP readiness probe, 5 s grace) with `updateStrategy: strategy` (a flow
/// map), its template annotated with `annotations` (flow-map entries) when there are any.
pub fn daemonset(meta: &Meta, name: &str, strategy: &str, annotations: Option<&str>) -> String {
    let probe = "{httpGet: {path: /healthz, port: 9100}, periodSeconds: 1}";
    format!(
        r#"
apiVersion: apps/v1
kind: DaemonSet
metadata: {}
spec:
  selector: {{matchLabels: {{app: {name}}}}}
  updateStrategy: {strategy}
{}{}"#,
        meta.metadata(name),
        meta.extra_spec(),
        template(name, annotations, "agent", probe),
    )
}

/// A PodDisruptionBudget `name` for the pods matching `match_labels` (a flow map) with `spec`
/// (flow-map entries, e.g. `maxUnavailable: 0`).
pub fn pdb(meta: &Meta, name: &str, match_labels: &str, spec: &str) -> String {
    format!(
        "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {}\nspec: {{selector: {{matchLabels: {match_labels}}}, {spec}}}\n",
        meta.metadata(name)
    )
}

/// The zero-downtime scenario: a Deployment `web` of 3 (an app on 8080 with a readiness probe,
/// `grace` seconds to stop, `lifecycle` its container's) with `strategy`, behind a Service `web` (port
/// 80 → 8080).
pub fn web_behind_service(
    meta: &Meta,
    strategy: &str,
    grace: u32,
    image: &str,
    lifecycle: &str,
) -> String {
    let metadata = meta.metadata("web");
    format!(
        r#"
apiVersion: apps/v1
kind: Deployment
metadata: {metadata}
spec:
  replicas: 3
  selector: {{matchLabels: {{app: web}}}}
  strategy: {strategy}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      terminationGracePeriodSeconds: {grace}
      containers:
      - name: app
        image: {image}
        ports: [{{containerPort: 8080}}]
        readinessProbe: {{httpGet: {{path: /ready, port: 8080}}, periodSeconds: 1}}
        lifecycle: {lifecycle}
---
apiVersion: v1
kind: Service
metadata: {metadata}
spec:
  selector: {{app: web}}
  ports: [{{port: 80, targetPort: 8080}}]
"#
    )
}
