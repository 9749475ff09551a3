//! What surrounds a workload: the PodDisruptionBudgets and Services whose selectors match its pods, the
//! HorizontalPodAutoscalers that scale it, endpoints of selector-less Services that point at its pods,
//! and the Kubernetes version to advise for. [`Related`] holds them before matching; [`RelatedIndex`]
//! matches many workloads against them in linear time (indexed by namespace and one label of each
//! selector); [`Context`] is one workload's share, which the rules read.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};

use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{Pod, Service};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;

use super::model::KubeVersion;
use crate::selector::{Requirement, Selector};
use crate::workload::{Object, Workload};

/// PDBs, HPAs and Services of a namespace (or several), before matching. `None` = could not be read.
#[derive(Debug, Clone, Default)]
pub struct Related {
    pub pdbs: Option<Vec<PodDisruptionBudget>>,
    pub hpas: Option<Vec<HorizontalPodAutoscaler>>,
    pub services: Option<Vec<Service>>,
    /// Live: endpoints of Services without a selector, resolved to the workload their pods belong to.
    pub manual_endpoints: Vec<ManualEndpoints>,
}

impl Related {
    /// Known-empty lists: offline, what the files do not contain does not exist.
    pub fn empty() -> Related {
        Related {
            pdbs: Some(vec![]),
            hpas: Some(vec![]),
            services: Some(vec![]),
            manual_endpoints: vec![],
        }
    }
}

/// A Service without a selector whose EndpointSlices (kept by hand or by another controller) list pods
/// of one workload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManualEndpoints {
    pub namespace: String,
    /// The workload the pods belong to (`Deployment`, name).
    pub kind: String,
    pub name: String,
    pub service: String,
    /// The endpoint ports: (name, port number on the pod).
    pub ports: Vec<(Option<String>, i32)>,
}

/// What the rules know about a workload's surroundings.
#[derive(Debug, Clone)]
pub struct Context {
    /// The Kubernetes version advice is for.
    pub version: KubeVersion,
    /// PDBs whose selector matches the pod template's labels (None: unknown, could not be read).
    pub pdbs: Option<Vec<PodDisruptionBudget>>,
    /// HPAs whose scaleTargetRef names this workload (None: unknown).
    pub hpas: Option<Vec<HorizontalPodAutoscaler>>,
    /// Services whose selector matches the pod template's labels (None: unknown).
    pub services: Option<Vec<Service>>,
    /// Selector-less Services whose endpoints point at this workload's pods.
    pub manual_endpoints: Vec<ManualEndpoints>,
}

impl Context {
    /// Nothing known about the surroundings (every related list unknown).
    pub fn unknown(version: KubeVersion) -> Context {
        Context {
            version,
            pdbs: None,
            hpas: None,
            services: None,
            manual_endpoints: vec![],
        }
    }

    /// The lowest replica count the workload runs at: the HPA's minReplicas when an HPA scales it.
    pub fn min_replicas(&self, w: &Workload) -> Option<i32> {
        let hpa_min = self
            .hpas
            .iter()
            .flatten()
            .filter_map(|h| h.spec.as_ref())
            .map(|s| s.min_replicas.unwrap_or(1))
            .min();
        hpa_min.or(w.replicas)
    }

    /// An HPA scales the workload.
    pub fn has_hpa(&self) -> bool {
        self.hpas.as_ref().is_some_and(|h| !h.is_empty())
    }
}

/// A restart about to happen (`kubectl graceful restart`'s preflight): what the rules that look ahead
/// at one read besides the spec.
#[derive(Debug, Clone)]
pub struct Restart {
    /// The target as restart shows it (`deploy/web`, `pod/solo`).
    pub target: String,
    /// The object as served: status, managedFields, owners.
    pub object: Object,
    /// Every pod of its namespace: what each budget covers when the budget has no status (pod targets).
    pub namespace_pods: Vec<Pod>,
}

/// Selectors grouped by namespace, each filed under one `key=value` it requires (those without one
/// are scanned): a workload only meets the selectors that can match its labels.
#[derive(Default)]
struct SelectorIndex {
    selectors: Vec<(Selector, usize)>,
    by_label: HashMap<(String, String, String), Vec<usize>>,
    scan: HashMap<String, Vec<usize>>,
}

impl SelectorIndex {
    fn add(&mut self, namespace: &str, selector: Selector, item: usize) {
        let slot = self.selectors.len();
        let key = selector.0.iter().find_map(|r| match r {
            Requirement::Eq(k, v) => Some((namespace.to_string(), k.clone(), v.clone())),
            Requirement::In(k, vs) if vs.len() == 1 => {
                Some((namespace.to_string(), k.clone(), vs[0].clone()))
            }
            _ => None,
        });
        match key {
            Some(k) => self.by_label.entry(k).or_default().push(slot),
            None => self
                .scan
                .entry(namespace.to_string())
                .or_default()
                .push(slot),
        }
        self.selectors.push((selector, item));
    }

    /// The items whose selector matches `labels` in `namespace`, in the order they were added.
    fn matching(
        &self,
        namespace: &str,
        labels: Option<&BTreeMap<String, String>>,
        evaluations: &AtomicU64,
    ) -> Vec<usize> {
        let mut slots: Vec<usize> = Vec::new();
        if let Some(l) = labels {
            for (k, v) in l {
                // A lookup without allocating a key would need a borrowed tuple type; labels are few.
                let key = (namespace.to_string(), k.clone(), v.clone());
                if let Some(found) = self.by_label.get(&key) {
                    slots.extend(found);
                }
            }
        }
        if let Some(found) = self.scan.get(namespace) {
            slots.extend(found);
        }
        slots.sort_unstable();
        slots.dedup();
        evaluations.fetch_add(slots.len() as u64, Ordering::Relaxed);
        slots
            .into_iter()
            .filter(|s| self.selectors[*s].0.matches(labels))
            .map(|s| self.selectors[s].1)
            .collect()
    }
}

/// [`Related`] indexed for matching many workloads.
pub struct RelatedIndex<'a> {
    related: &'a Related,
    pdbs: SelectorIndex,
    services: SelectorIndex,
    hpas: HashMap<(String, String, String), Vec<usize>>,
    manual: HashMap<(String, String, String), Vec<usize>>,
    evaluations: AtomicU64,
}

impl<'a> RelatedIndex<'a> {
    pub fn new(related: &'a Related) -> Self {
        let mut pdbs = SelectorIndex::default();
        // A PDB with a nil selector selects nothing; an empty one selects every pod (policy/v1).
        for (i, p) in related.pdbs.iter().flatten().enumerate() {
            if let Some(sel) = p.spec.as_ref().and_then(|s| s.selector.as_ref()) {
                let ns = p.metadata.namespace.as_deref().unwrap_or("");
                pdbs.add(ns, Selector::from_label_selector(sel), i);
            }
        }
        let mut services = SelectorIndex::default();
        // A Service without a selector (ExternalName, manual endpoints) selects no pods.
        for (i, s) in related.services.iter().flatten().enumerate() {
            if let Some(sel) = s
                .spec
                .as_ref()
                .and_then(|s| s.selector.as_ref())
                .filter(|m| !m.is_empty())
            {
                let ns = s.metadata.namespace.as_deref().unwrap_or("");
                services.add(ns, Selector::from_map(sel), i);
            }
        }
        let mut hpas: HashMap<(String, String, String), Vec<usize>> = HashMap::new();
        for (i, h) in related.hpas.iter().flatten().enumerate() {
            if let Some(t) = h.spec.as_ref().map(|s| &s.scale_target_ref) {
                let ns = h.metadata.namespace.clone().unwrap_or_default();
                hpas.entry((ns, t.kind.clone(), t.name.clone()))
                    .or_default()
                    .push(i);
            }
        }
        let mut manual: HashMap<(String, String, String), Vec<usize>> = HashMap::new();
        for (i, m) in related.manual_endpoints.iter().enumerate() {
            manual
                .entry((m.namespace.clone(), m.kind.clone(), m.name.clone()))
                .or_default()
                .push(i);
        }
        RelatedIndex {
            related,
            pdbs,
            services,
            hpas,
            manual,
            evaluations: AtomicU64::new(0),
        }
    }

    /// How many selectors were evaluated so far (the work matching does; tests check it stays linear).
    pub fn evaluations(&self) -> u64 {
        self.evaluations.load(Ordering::Relaxed)
    }

    /// The workload's share of the related objects, for `version`.
    pub fn context(&self, w: &Workload, version: KubeVersion) -> Context {
        let ns = w.namespace.as_str();
        let labels = w.pod_labels();
        let r = self.related;
        fn pick<T: Clone>(
            list: &Option<Vec<T>>,
            idx: &SelectorIndex,
            ns: &str,
            labels: Option<&BTreeMap<String, String>>,
            evaluations: &AtomicU64,
        ) -> Option<Vec<T>> {
            list.as_ref().map(|all| {
                idx.matching(ns, labels, evaluations)
                    .into_iter()
                    .filter_map(|i| all.get(i).cloned())
                    .collect()
            })
        }
        let key = (ns.to_string(), w.kind_name.to_string(), w.name.clone());
        let hpas = r.hpas.as_ref().map(|all| {
            self.hpas
                .get(&key)
                .into_iter()
                .flatten()
                .filter_map(|i| all.get(*i).cloned())
                .collect()
        });
        let manual_endpoints = self
            .manual
            .get(&key)
            .into_iter()
            .flatten()
            .filter_map(|i| r.manual_endpoints.get(*i).cloned())
            .collect();
        Context {
            version,
            pdbs: pick(&r.pdbs, &self.pdbs, ns, labels, &self.evaluations),
            hpas,
            services: pick(&r.services, &self.services, ns, labels, &self.evaluations),
            manual_endpoints,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::apps::v1::Deployment;

    fn yaml<T: serde::de::DeserializeOwned>(s: &str) -> T {
        serde_yaml::from_str(s).unwrap()
    }

    #[test]
    fn relates_by_namespace_selector_and_scale_target() {
        let d: Deployment = yaml(
            "metadata: {name: web, namespace: shop}\nspec: {selector: {}, template: {metadata: {labels: {app: web, tier: front}}}}",
        );
        let w = Workload::from_deployment(&d);
        let related = Related {
            pdbs: Some(vec![
                yaml("metadata: {name: match, namespace: shop}\nspec: {selector: {matchLabels: {app: web}}}"),
                yaml("metadata: {name: other-ns, namespace: prod}\nspec: {selector: {matchLabels: {app: web}}}"),
                yaml("metadata: {name: nil-selector, namespace: shop}\nspec: {}"),
                yaml("metadata: {name: empty-selects-all, namespace: shop}\nspec: {selector: {}}"),
                yaml("metadata: {name: other-app, namespace: shop}\nspec: {selector: {matchLabels: {app: api}}}"),
                yaml("metadata: {name: expr, namespace: shop}\nspec: {selector: {matchExpressions: [{key: tier, operator: In, values: [front, back]}]}}"),
            ]),
            hpas: Some(vec![
                yaml("metadata: {name: h, namespace: shop}\nspec: {scaleTargetRef: {kind: Deployment, name: web}, minReplicas: 3, maxReplicas: 5}"),
                yaml("metadata: {name: h2, namespace: shop}\nspec: {scaleTargetRef: {kind: StatefulSet, name: web}, maxReplicas: 5}"),
            ]),
            services: Some(vec![
                yaml("metadata: {name: web, namespace: shop}\nspec: {selector: {app: web}}"),
                yaml("metadata: {name: external, namespace: shop}\nspec: {type: ExternalName, externalName: x.example.com}"),
            ]),
            manual_endpoints: vec![],
        };
        let idx = RelatedIndex::new(&related);
        let cx = idx.context(&w, KubeVersion::DEFAULT);
        let names = |v: Vec<String>| v.join(",");
        assert_eq!(
            names(
                cx.pdbs
                    .iter()
                    .flatten()
                    .filter_map(|p| p.metadata.name.clone())
                    .collect()
            ),
            "match,empty-selects-all,expr"
        );
        assert_eq!(
            names(
                cx.services
                    .iter()
                    .flatten()
                    .filter_map(|s| s.metadata.name.clone())
                    .collect()
            ),
            "web"
        );
        assert_eq!(cx.hpas.as_ref().map(Vec::len), Some(1));
        assert_eq!(cx.min_replicas(&w), Some(3));
        // Unknown (forbidden) lists stay unknown.
        let unknown = Related::default();
        let cx = RelatedIndex::new(&unknown).context(&w, KubeVersion::DEFAULT);
        assert!(cx.pdbs.is_none() && cx.services.is_none() && cx.hpas.is_none());
        assert_eq!(cx.min_replicas(&w), Some(1));
    }

    #[test]
    fn matching_is_linear_in_workloads_and_selectors() {
        // 10,000 workloads and 10,000 Services, each Service selecting one workload: every workload meets
        // only the selectors filed under its own labels, not all 10,000.
        let n = 10_000;
        let services: Vec<Service> = (0..n)
            .map(|i| {
                yaml(&format!(
                    "metadata: {{name: s{i}, namespace: ns{}}}\nspec: {{selector: {{app: a{i}}}}}",
                    i % 50
                ))
            })
            .collect();
        let related = Related {
            services: Some(services),
            pdbs: Some(vec![]),
            hpas: Some(vec![]),
            manual_endpoints: vec![],
        };
        let idx = RelatedIndex::new(&related);
        let mut matched = 0;
        for i in 0..n {
            let d: Deployment = yaml(&format!(
                "metadata: {{name: w{i}, namespace: ns{}}}\nspec: {{selector: {{}}, template: {{metadata: {{labels: {{app: a{i}, tier: web}}}}}}}}",
                i % 50
            ));
            let cx = idx.context(&Workload::from_deployment(&d), KubeVersion::DEFAULT);
            matched += cx.services.map_or(0, |s| s.len());
        }
        assert_eq!(matched, n);
        // One evaluation per workload (its own Service), where a scan would do n × n = 10^8.
        assert_eq!(idx.evaluations(), n as u64);
    }
}
