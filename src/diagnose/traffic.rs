//! Who serves traffic. A container serves requests only when a Service that selects the pod sends one of
//! its ports there (a numeric `targetPort` the container declares, or a named one it defines), when a
//! selector-less Service's endpoints point at it, or when it takes connections on the node itself
//! (`hostPort`, or `hostNetwork`). Declaring a port is not serving: exporters, reloaders and queue
//! workers with a metrics port get no traffic findings. Metrics ports (scraped, not user traffic) do not
//! count either.
//!
//! Upstream: a named `targetPort` resolves only against the container ports that carry that name
//! (`podutil.FindPort`, pkg/api/v1/pod/util.go); a pod without it gets no endpoint for that port.

use k8s_openapi::api::core::v1::{Container, ContainerPort, PodSpec, Service, ServicePort};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::context::Context;
use crate::workload::Workload;

/// How requests reach a container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Via {
    /// Through these Services (names), which route to the pod's endpoints.
    Services(Vec<String>),
    /// On the node's own address: `hostPort` (or `hostNetwork`) ports, no Service in between.
    Node(Vec<i32>),
}

/// A container that takes requests, and how they reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Served {
    pub container: String,
    pub via: Via,
    /// The container ports requests reach (a name the container defines, or a number).
    pub ports: Vec<IntOrString>,
}

/// Helper containers that sit next to an app (proxies, log shippers, agents).
const SIDECARS: &[&str] = &[
    "istio-proxy",
    "envoy",
    "linkerd-proxy",
    "cloud-sql-proxy",
    "cloudsql-proxy",
    "oauth2-proxy",
    "vault-agent",
    "fluent-bit",
    "fluentd",
    "filebeat",
    "otel-collector",
    "opentelemetry-collector",
    "datadog-agent",
    "log-shipper",
];

/// Sidecars whose ports serve metrics or configuration reloads, never user requests.
const METRICS_SIDECARS: &[&str] = &[
    "kube-rbac-proxy",
    "config-reloader",
    "configmap-reload",
    "prometheus-config-reloader",
    "reloader",
    "exporter",
];

/// A helper container (proxy, shipper, agent) rather than the app.
pub(crate) fn is_helper(c: &Container) -> bool {
    let img = c.image.as_deref().unwrap_or("").to_ascii_lowercase();
    let name = c.name.to_ascii_lowercase();
    SIDECARS.iter().any(|s| name.contains(s) || img.contains(s))
        || name.ends_with("-sidecar")
        || name.ends_with("-proxy")
}

/// A sidecar that only exposes metrics or a reload endpoint.
pub(crate) fn is_metrics_sidecar(c: &Container) -> bool {
    let img = c.image.as_deref().unwrap_or("").to_ascii_lowercase();
    let name = c.name.to_ascii_lowercase();
    METRICS_SIDECARS
        .iter()
        .any(|s| name.contains(s) || image_name(&img).contains(s))
}

/// The image's repository name without registry and tag (`quay.io/brancz/kube-rbac-proxy:v1` →
/// `kube-rbac-proxy`).
fn image_name(img: &str) -> &str {
    let last = img.rsplit('/').next().unwrap_or(img);
    last.split([':', '@']).next().unwrap_or(last)
}

/// A port name that says metrics (`metrics`, `http-metrics`, `prometheus`, `exporter-port` …).
fn metrics_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.contains("metric") || n.contains("exporter") || n == "prometheus" || n == "prom"
}

/// A Service that exists to be scraped: named or labelled as an exporter or metrics endpoint.
fn metrics_service(s: &Service) -> bool {
    let name = s.metadata.name.as_deref().unwrap_or("");
    let component = s
        .metadata
        .labels
        .as_ref()
        .and_then(|l| l.get("app.kubernetes.io/component"))
        .map(String::as_str);
    name.ends_with("-metrics") || name.contains("exporter") || component == Some("exporter")
}

fn port_named<'a>(c: &'a Container, name: &str) -> Option<&'a ContainerPort> {
    c.ports
        .iter()
        .flatten()
        .find(|p| p.name.as_deref() == Some(name))
}

fn port_numbered(c: &Container, n: i32) -> bool {
    c.ports.iter().flatten().any(|p| p.container_port == n)
}

/// The container a numeric pod port reaches: the one that declares it; else, as any container may
/// listen on an undeclared port, the app (the only container, or the first that is not a helper).
fn container_for_number(spec: &PodSpec, n: i32) -> Option<&Container> {
    spec.containers
        .iter()
        .find(|c| port_numbered(c, n))
        .or_else(|| {
            spec.containers
                .iter()
                .find(|c| !is_helper(c) && !is_metrics_sidecar(c))
        })
}

/// The container one Service port sends requests to, and the port there (None: a metrics port, or a
/// name no container has).
fn target_of<'a>(
    spec: &'a PodSpec,
    svc: &Service,
    sp: &ServicePort,
) -> Option<(&'a Container, IntOrString)> {
    let target = sp.target_port.clone().unwrap_or(IntOrString::Int(sp.port));
    if sp.name.as_deref().is_some_and(metrics_name) || metrics_service(svc) {
        return None;
    }
    let c = match &target {
        IntOrString::Int(n) => container_for_number(spec, *n)?,
        IntOrString::String(name) => {
            if metrics_name(name) {
                return None;
            }
            spec.containers
                .iter()
                .find(|c| port_named(c, name).is_some())?
        }
    };
    (!is_metrics_sidecar(c)).then_some((c, target))
}

/// The containers of a workload that take requests, each once, in pod-spec order.
pub(crate) fn serving(w: &Workload, cx: &Context) -> Vec<Served> {
    if !w.long_running() {
        return vec![];
    }
    let spec = w.pod_spec();
    // container → (Services, ports)
    type Routes = Vec<(String, Vec<String>, Vec<IntOrString>)>;
    let mut by_container: Routes = Vec::new();
    let mut add = |c: &Container, svc: &str, port: IntOrString| {
        let i = match by_container.iter().position(|(n, _, _)| *n == c.name) {
            Some(i) => i,
            None => {
                by_container.push((c.name.clone(), vec![], vec![]));
                by_container.len() - 1
            }
        };
        let (_, svcs, ports) = &mut by_container[i];
        if !svcs.iter().any(|s| s == svc) {
            svcs.push(svc.to_string());
        }
        if !ports.contains(&port) {
            ports.push(port);
        }
    };
    for svc in cx.services.iter().flatten() {
        let name = svc.metadata.name.as_deref().unwrap_or("");
        for sp in svc.spec.iter().flat_map(|s| s.ports.iter().flatten()) {
            if let Some((c, port)) = target_of(spec, svc, sp) {
                add(c, name, port);
            }
        }
    }
    for m in &cx.manual_endpoints {
        for (port_name, n) in &m.ports {
            if port_name.as_deref().is_some_and(metrics_name) {
                continue;
            }
            if let Some(c) = container_for_number(spec, *n).filter(|c| !is_metrics_sidecar(c)) {
                add(c, &m.service, IntOrString::Int(*n));
            }
        }
    }
    let host_network = spec.host_network == Some(true);
    let mut out: Vec<Served> = Vec::new();
    for c in &spec.containers {
        if let Some((_, svcs, ports)) = by_container.iter().find(|(n, _, _)| *n == c.name) {
            out.push(Served {
                container: c.name.clone(),
                via: Via::Services(svcs.clone()),
                ports: ports.clone(),
            });
            continue;
        }
        // Clients reach the node: hostPort, or every port with hostNetwork.
        let node_ports: Vec<(i32, i32)> = c
            .ports
            .iter()
            .flatten()
            .filter(|p| !p.name.as_deref().is_some_and(metrics_name))
            .filter_map(|p| match p.host_port {
                Some(h) if h > 0 => Some((h, p.container_port)),
                _ if host_network => Some((p.container_port, p.container_port)),
                _ => None,
            })
            .collect();
        if !node_ports.is_empty() && !is_metrics_sidecar(c) {
            out.push(Served {
                container: c.name.clone(),
                via: Via::Node(node_ports.iter().map(|(h, _)| *h).collect()),
                ports: node_ports
                    .iter()
                    .map(|(_, p)| IntOrString::Int(*p))
                    .collect(),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::context::{ManualEndpoints, Related, RelatedIndex};
    use crate::diagnose::model::KubeVersion;
    use k8s_openapi::api::apps::v1::Deployment;

    fn served(deploy: &str, services: &[&str], manual: Vec<ManualEndpoints>) -> Vec<Served> {
        let d: Deployment = serde_yaml::from_str(deploy).unwrap();
        let w = Workload::from_deployment(&d).from_file(Default::default(), "default");
        let related = Related {
            services: Some(
                services
                    .iter()
                    .map(|s| serde_yaml::from_str(s).unwrap())
                    .collect(),
            ),
            pdbs: Some(vec![]),
            hpas: Some(vec![]),
            manual_endpoints: manual,
        };
        serving(
            &w,
            &RelatedIndex::new(&related).context(&w, KubeVersion::DEFAULT),
        )
    }

    const POD: &str = r#"
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: app
        ports: [{name: http, containerPort: 8080}, {name: metrics, containerPort: 9090}]
      - name: exporter
        image: prom/statsd-exporter:v0.26
        ports: [{name: exp, containerPort: 9102}]
      - name: kube-rbac-proxy
        image: quay.io/brancz/kube-rbac-proxy:v0.18
        ports: [{name: https, containerPort: 8443}]
      - name: worker
"#;

    fn names(s: &[Served]) -> Vec<&str> {
        s.iter().map(|s| s.container.as_str()).collect()
    }

    #[test]
    fn only_containers_a_service_targets_serve() {
        // No Service: declared ports are not traffic.
        assert!(served(POD, &[], vec![]).is_empty());
        // A named targetPort reaches the container that defines it; a numeric one the declaring container.
        let named = "metadata: {name: web, namespace: default}\nspec: {selector: {app: web}, ports: [{port: 80, targetPort: http}]}";
        let numeric = "metadata: {name: web, namespace: default}\nspec: {selector: {app: web}, ports: [{port: 80, targetPort: 8080}]}";
        let default_target = "metadata: {name: web, namespace: default}\nspec: {selector: {app: web}, ports: [{port: 8080}]}";
        for svc in [named, numeric, default_target] {
            let s = served(POD, &[svc], vec![]);
            assert_eq!(names(&s), ["app"], "{svc}");
            assert_eq!(s[0].via, Via::Services(vec!["web".into()]));
        }
        // A Service of another app, or in another namespace, does not select these pods.
        let other = "metadata: {name: api, namespace: default}\nspec: {selector: {app: api}, ports: [{port: 80}]}";
        let elsewhere = "metadata: {name: web, namespace: prod}\nspec: {selector: {app: web}, ports: [{port: 80}]}";
        assert!(served(POD, &[other, elsewhere], vec![]).is_empty());
        // A named port no container has: no endpoint, no traffic.
        let missing = "metadata: {name: web, namespace: default}\nspec: {selector: {app: web}, ports: [{port: 80, targetPort: grpc}]}";
        assert!(served(POD, &[missing], vec![]).is_empty());
        // An undeclared number goes to the app, not to a helper.
        let undeclared = "metadata: {name: web, namespace: default}\nspec: {selector: {app: web}, clusterIP: None, ports: [{port: 7000}]}";
        assert_eq!(names(&served(POD, &[undeclared], vec![])), ["app"]);
    }

    #[test]
    fn metrics_ports_and_metrics_sidecars_are_not_request_traffic() {
        for svc in [
            // A port named for metrics.
            "metadata: {name: web, namespace: default}\nspec: {selector: {app: web}, ports: [{name: metrics, port: 9090}]}",
            "metadata: {name: web, namespace: default}\nspec: {selector: {app: web}, ports: [{port: 9090, targetPort: metrics}]}",
            // A Service that exists to be scraped.
            "metadata: {name: web-metrics, namespace: default}\nspec: {selector: {app: web}, ports: [{name: http, port: 8080}]}",
            "metadata: {name: web, namespace: default, labels: {app.kubernetes.io/component: exporter}}\nspec: {selector: {app: web}, ports: [{port: 8080}]}",
            // kube-rbac-proxy in front of metrics; an exporter sidecar.
            "metadata: {name: web, namespace: default}\nspec: {selector: {app: web}, ports: [{name: https, port: 8443, targetPort: https}]}",
            "metadata: {name: web, namespace: default}\nspec: {selector: {app: web}, ports: [{name: statsd, port: 9102, targetPort: 9102}]}",
        ] {
            assert!(served(POD, &[svc], vec![]).is_empty(), "{svc}");
        }
    }

    #[test]
    fn selectorless_service_endpoints_and_host_ports() {
        let manual = ManualEndpoints {
            namespace: "default".into(),
            kind: "Deployment".into(),
            name: "web".into(),
            service: "legacy".into(),
            ports: vec![(Some("http".into()), 8080)],
        };
        let s = served(POD, &[], vec![manual]);
        assert_eq!(names(&s), ["app"]);
        assert_eq!(s[0].via, Via::Services(vec!["legacy".into()]));

        let host = r#"
metadata: {name: lb}
spec:
  selector: {matchLabels: {app: lb}}
  template:
    metadata: {labels: {app: lb}}
    spec:
      containers:
      - name: nginx
        ports: [{containerPort: 80, hostPort: 80}, {name: metrics, containerPort: 10254, hostPort: 10254}]
      - name: agent
"#;
        let s = served(host, &[], vec![]);
        assert_eq!(names(&s), ["nginx"]);
        assert_eq!(s[0].via, Via::Node(vec![80]));
        let host_net = host.replace("containers:", "hostNetwork: true\n      containers:");
        let host_net = host_net.replace(", hostPort: 80}", "}");
        assert_eq!(served(&host_net, &[], vec![])[0].via, Via::Node(vec![80]));
    }
}
