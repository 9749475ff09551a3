//! Offline input: manifest files, directories (recursive, sorted) and stdin; multi-document YAML,
//! JSON, `List`s (`kubectl get -o yaml`, `helm template`, `kustomize build`), as kubectl reads them (BOMs,
//! UTF-16, CRLF). Bad documents become [`InputError`]s naming the file and line; the good documents of the
//! same file are still used. An object defined twice is checked once: the last definition, which is
//! what `kubectl apply` leaves.
//!
//! Reading, encodings, document splitting and `List` items are the shared loader's ([`crate::source`]);
//! this module decides which kinds diagnose reads ([`kinds`]) and turns objects into workloads and the
//! objects around them.

mod kinds;

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{Pod, ReplicationController, Service};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;

use super::context::Related;
use super::model::KubeVersion;
use crate::source::Origin;
use crate::workload::Workload;

pub use crate::source::documents::parse as parse_documents;
pub use crate::source::{decode, InputError};

/// One object defined more than once: (`Kind/namespace/name`, the sources, first to last).
pub type Duplicate = (String, Vec<String>);

/// An object's slot, its entry in `duplicates` once it has one, and where it was first defined.
type Seen = (Slot, Option<usize>, String);

#[derive(Debug, Clone, Copy)]
enum Slot {
    Workload(usize),
    Pdb(usize),
    Service(usize),
    Hpa(usize),
}

/// Everything read from the inputs.
#[derive(Debug)]
pub struct Loaded {
    pub workloads: Vec<Workload>,
    pub related: Related,
    pub errors: Vec<InputError>,
    /// Objects of kinds diagnose does not look at (ConfigMaps, Ingresses, custom resources …).
    pub skipped: usize,
    /// Files read.
    pub files: usize,
    /// Objects defined more than once (each is checked once, as its last definition).
    pub duplicates: Vec<Duplicate>,
    /// Documents read straight into their typed objects (the others took the long way).
    pub direct: usize,
    /// The version whose removed APIs are errors.
    version: KubeVersion,
    default_namespace: String,
    seen: HashMap<(String, String, String), Seen>,
}

impl Loaded {
    /// Empty, with known-empty related lists: offline, what the files do not contain does not exist.
    pub fn new(default_namespace: &str, version: KubeVersion) -> Loaded {
        Loaded {
            workloads: vec![],
            related: Related::empty(),
            errors: vec![],
            skipped: 0,
            files: 0,
            duplicates: vec![],
            direct: 0,
            version,
            default_namespace: default_namespace.to_string(),
            seen: HashMap::new(),
        }
    }

    fn error(&mut self, at: &str, message: impl Into<String>) {
        self.errors.push(InputError {
            source: at.to_string(),
            message: message.into(),
        });
    }

    /// Files the object under its key; a second definition replaces the first in place.
    fn place(&mut self, kind: &str, ns: &str, name: &str, at: &str, slot: Slot) -> Option<Slot> {
        // `generateName` objects are new objects on every create: never duplicates.
        if name.is_empty() || name.ends_with('*') {
            return None;
        }
        let key = (kind.to_string(), ns.to_string(), name.to_string());
        match self.seen.get_mut(&key) {
            Some((old, dup, first)) => {
                let i = match dup {
                    Some(i) => *i,
                    None => {
                        self.duplicates
                            .push((format!("{kind}/{ns}/{name}"), vec![first.clone()]));
                        *dup = Some(self.duplicates.len() - 1);
                        self.duplicates.len() - 1
                    }
                };
                self.duplicates[i].1.push(at.to_string());
                Some(*old)
            }
            None => {
                self.seen.insert(key, (slot, None, at.to_string()));
                None
            }
        }
    }
}

/// The files a list of paths names: directories recursively (`.yaml`, `.yml`, `.json`), sorted;
/// `-` is stdin. Paths that do not exist become errors.
pub fn expand_paths(paths: &[PathBuf], errors: &mut Vec<InputError>) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for p in paths {
        if p.as_os_str() == "-" {
            out.push(p.clone());
        } else if p.is_dir() {
            let mut found = Vec::new();
            walk(p, &mut found, errors);
            found.sort();
            out.extend(found);
        } else if p.exists() {
            out.push(p.clone());
        } else {
            errors.push(InputError {
                source: p.display().to_string(),
                message: "no such file or directory".into(),
            });
        }
    }
    out
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>, errors: &mut Vec<InputError>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            errors.push(InputError {
                source: dir.display().to_string(),
                message: format!("cannot read directory: {e}"),
            });
            return;
        }
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            walk(&path, out, errors);
        } else if path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "yaml" | "yml" | "json"))
        {
            out.push(path);
        }
    }
}

/// Reads every path (files, directories, `-` for stdin) into workloads and related objects.
/// `default_namespace` is given to objects without one; API versions removed by `version` are errors.
pub fn load_paths(paths: &[PathBuf], default_namespace: &str, version: KubeVersion) -> Loaded {
    let mut loaded = Loaded::new(default_namespace, version);
    let mut errors = Vec::new();
    let files = expand_paths(paths, &mut errors);
    loaded.errors.extend(errors);
    for f in files {
        let name = crate::source::shown(&f);
        let text = match crate::source::read_text(&f) {
            Ok(t) => t,
            Err(why) => {
                loaded.error(&name, why);
                continue;
            }
        };
        loaded.files += 1;
        load_text(&name, &text, &mut loaded);
    }
    loaded
}

/// Parses one file's text into `loaded`. Public for tests.
pub fn load_text(name: &str, text: &str, loaded: &mut Loaded) {
    // Memory holds the workloads, not the parsed file (a large file's text once more while it is
    // read ahead). A document of a kind diagnose reads goes straight into its typed object when
    // that reads it exactly as the long way would ([`load_direct`], read ahead on every core for a
    // large file); every other document takes the long way ([`load_value`]), one at a time.
    let threads = super::parallel::cores();
    let ahead = if text.len() < AHEAD_BYTES {
        Ahead::new()
    } else {
        read_ahead(text, loaded.version, threads)
    };
    let unused = load_text_ahead(name, text, loaded, ahead);
    debug_assert_eq!(unused, 0, "a document read ahead was not offered");
}

/// [`load_text`] with what was read ahead; answers how much of it went unused (none: every document
/// read ahead is offered to [`load_direct`] once).
fn load_text_ahead(name: &str, text: &str, loaded: &mut Loaded, mut ahead: Ahead) -> usize {
    let loaded = RefCell::new(loaded);
    crate::source::each_object_or_direct(
        name,
        text,
        |origin, doc| load_direct(origin, doc, &mut loaded.borrow_mut(), &mut ahead),
        |o| match o {
            Ok((origin, value)) => load_value(&origin, value, &mut loaded.borrow_mut()),
            Err(e) => loaded.borrow_mut().errors.push(e),
        },
    );
    ahead.len()
}

/// `doc` read straight into its object, when it is of a kind and current API version diagnose reads
/// and the typed read takes it exactly as the long way would; pure, so it can run ahead.
fn read_direct(doc: &str, version: KubeVersion) -> Option<Direct> {
    let (api_version, kind) = kinds::guess(doc)?;
    if kinds::current_version(kind) != Some(api_version)
        || kinds::removed(api_version, kind, version).is_some()
    {
        return None;
    }
    macro_rules! direct {
        ($t:ty, $object:expr) => {{
            let o = crate::source::typed::typed::<$t>(doc)?;
            let (name, live) = (o.metadata.name.clone(), o.metadata.uid.is_some());
            (name, live, $object(o))
        }};
    }
    let (name, live, object) = match kind {
        "Deployment" => direct!(Deployment, |o| Object::workload(Workload::from_deployment(
            &o
        ))),
        "StatefulSet" => direct!(StatefulSet, |o| Object::workload(
            Workload::from_statefulset(&o)
        )),
        "DaemonSet" => direct!(DaemonSet, |o| Object::workload(Workload::from_daemonset(
            &o
        ))),
        "ReplicaSet" => direct!(ReplicaSet, |o| Object::workload(Workload::from_replicaset(
            &o
        ))),
        "ReplicationController" => direct!(ReplicationController, |o| Object::workload(
            Workload::from_replication_controller(&o)
        )),
        "Job" => direct!(Job, |o| Object::workload(Workload::from_job(&o))),
        "CronJob" => direct!(CronJob, |o| Object::workload(Workload::from_cronjob(&o))),
        "Pod" => direct!(Pod, |o| Object::workload(Workload::from_pod(&o))),
        "PodDisruptionBudget" => direct!(PodDisruptionBudget, Object::Pdb),
        "Service" => direct!(Service, Object::Service),
        "HorizontalPodAutoscaler" => direct!(HorizontalPodAutoscaler, Object::Hpa),
        _ => return None,
    };
    Some(Direct {
        kind: kind.to_string(),
        name,
        live,
        object,
    })
}

/// A file at least this large has its documents read into typed objects ahead, on every core
/// ([`read_ahead`]); smaller ones are not worth the threads.
const AHEAD_BYTES: usize = 1 << 20;

/// What [`read_direct`] made of one document: None where the long way must read it.
type Ahead = HashMap<usize, Option<Direct>>;

/// A document of a kind diagnose reads, read straight into its object.
struct Direct {
    kind: String,
    name: Option<String>,
    live: bool,
    object: Object,
}

/// Reading documents into typed objects is most of `diagnose -f`'s time on a large file, and each
/// document reads alone: so the offered documents of a large file are read on every core first, by
/// content line; placing them stays one pass in file order ([`load_direct`]), so every count,
/// duplicate and message comes out as before.
fn read_ahead(text: &str, version: KubeVersion, threads: usize) -> Ahead {
    if threads < 2 {
        return Ahead::new();
    }
    let docs = crate::source::documents::offered_documents(text);
    super::parallel::in_order(&docs, threads, |part| {
        part.iter()
            .map(|(line, doc)| (*line, read_direct(doc, version)))
            .collect::<Vec<_>>()
    })
    .into_iter()
    .flatten()
    .collect()
}

/// A document read straight into its typed object ([`crate::source::typed`]), for the kinds and
/// current API versions diagnose reads; false leaves it to [`load_value`], which then reads it (or
/// says what is wrong with it) as before. 10,000 workloads read this way take a third of the time.
fn load_direct(origin: &Origin, doc: &str, loaded: &mut Loaded, ahead: &mut Ahead) -> bool {
    let read = match origin.line.and_then(|l| ahead.remove(&l)) {
        Some(read) => read,
        None => read_direct(doc, loaded.version),
    };
    let Some(Direct {
        kind,
        name,
        live,
        object,
    }) = read
    else {
        return false;
    };
    loaded.direct += 1;
    let at = origin.text();
    if let Some(why) = name.as_deref().and_then(invalid_name) {
        loaded.error(&at, why);
        return true;
    }
    place_object(origin, &at, &kind, object, live, loaded);
    true
}

/// Why the API server would refuse `name` (not a DNS subdomain: `web-{{uid}}`, a template leftover).
fn invalid_name(name: &str) -> Option<String> {
    (!crate::target::valid_name(name)).then(|| format!("invalid metadata.name {name:?}: Kubernetes names are lowercase letters, digits, '-' and '.' (an unrendered template?)"))
}

/// An object of a kind diagnose reads, typed.
enum Object {
    Workload(Box<Workload>),
    Pdb(PodDisruptionBudget),
    Service(Service),
    Hpa(HorizontalPodAutoscaler),
}

impl Object {
    fn workload(w: Workload) -> Object {
        Object::Workload(Box::new(w))
    }
}

/// Loads one object read at `origin` (the items of a `List` come one by one from [`crate::source::each_object`]).
pub fn load_value(origin: &Origin, value: serde_yaml::Value, loaded: &mut Loaded) {
    let at = origin.text();
    let Some(map) = value.as_mapping() else {
        return loaded.error(
            &at,
            "not a Kubernetes object: expected a mapping with apiVersion and kind",
        );
    };
    let get = |k: &str| map.get(k).and_then(|v| v.as_str()).map(str::to_string);
    let (Some(api_version), Some(kind)) = (get("apiVersion"), get("kind")) else {
        return loaded.error(
            &at,
            "not a Kubernetes object: apiVersion and kind are required",
        );
    };
    if let Some(why) = kinds::removed(&api_version, &kind, loaded.version) {
        return loaded.error(&at, why);
    }
    let group = api_version
        .rsplit_once('/')
        .map_or("", |(g, _)| g)
        .to_string();
    let Some(current) = kinds::current_version(&kind) else {
        if kinds::BUILTIN_GROUPS.contains(&group.as_str())
            && !kinds::OTHER_BUILTIN_KINDS.contains(&kind.as_str())
        {
            let near = kinds::USED_KINDS
                .iter()
                .map(|(k, _)| k)
                .chain(kinds::OTHER_BUILTIN_KINDS)
                .find(|k| k.eq_ignore_ascii_case(&kind) || kinds::similar(k, &kind));
            let hint = near
                .map(|k| format!(" (did you mean {k}?)"))
                .unwrap_or_default();
            return loaded.error(&at, format!("unknown kind {kind:?} in {api_version}{hint}"));
        }
        tracing::debug!("{at}: skipping {api_version} {kind}");
        loaded.skipped += 1;
        return;
    };
    // Older served versions are read as the current one (removed ones were refused above).
    let older = matches!(
        (api_version.as_str(), kind.as_str()),
        (
            "autoscaling/v1" | "autoscaling/v2beta1" | "autoscaling/v2beta2",
            "HorizontalPodAutoscaler"
        ) | ("policy/v1beta1", "PodDisruptionBudget")
            | ("batch/v1beta1" | "batch/v2alpha1", "CronJob")
            | ("extensions/v1beta1" | "apps/v1beta1" | "apps/v1beta2", _)
    );
    if api_version != current && !older {
        return loaded.error(
            &at,
            format!("{kind} in {api_version}: unknown API version (expected {current})"),
        );
    }
    let mut json = match serde_json::to_value(&value) {
        Ok(j) => j,
        // `cell: {{cell}}` is a YAML mapping used as a key: a template that was never rendered.
        Err(e) if e.to_string().contains("key must be a string") => {
            return loaded.error(
                &at,
                format!("cannot read {kind}: a key is not a string (an unrendered template placeholder such as {{{{value}}}}?)"),
            )
        }
        Err(e) => return loaded.error(&at, format!("cannot read {kind}: {e}")),
    };
    // The API server refuses names that are not DNS subdomains (`web-{{uid}}`: a template leftover).
    if let Some(why) = json
        .pointer("/metadata/name")
        .and_then(|n| n.as_str())
        .and_then(invalid_name)
    {
        return loaded.error(&at, why);
    }
    // In policy/v1beta1 an empty selector selects no pods (policy/v1: every pod): drop it.
    if api_version == "policy/v1beta1"
        && json
            .pointer("/spec/selector")
            .is_some_and(|s| s.as_object().is_some_and(|o| o.is_empty()))
    {
        if let Some(spec) = json.get_mut("spec").and_then(|s| s.as_object_mut()) {
            spec.remove("selector");
        }
    }
    if let Some(obj) = json.as_object_mut() {
        obj.insert("apiVersion".into(), current.into());
    }
    macro_rules! typed {
        ($t:ty) => {
            match serde_json::from_value::<$t>(json) {
                Ok(o) => o,
                Err(e) => return loaded.error(&at, format!("invalid {kind}: {e}")),
            }
        };
    }
    let object = match kind.as_str() {
        "Deployment" => Object::workload(Workload::from_deployment(&typed!(Deployment))),
        "StatefulSet" => Object::workload(Workload::from_statefulset(&typed!(StatefulSet))),
        "DaemonSet" => Object::workload(Workload::from_daemonset(&typed!(DaemonSet))),
        "ReplicaSet" => Object::workload(Workload::from_replicaset(&typed!(ReplicaSet))),
        "ReplicationController" => Object::workload(Workload::from_replication_controller(
            &typed!(ReplicationController),
        )),
        "Job" => Object::workload(Workload::from_job(&typed!(Job))),
        "CronJob" => Object::workload(Workload::from_cronjob(&typed!(CronJob))),
        "Pod" => Object::workload(Workload::from_pod(&typed!(Pod))),
        "PodDisruptionBudget" => Object::Pdb(typed!(PodDisruptionBudget)),
        "Service" => Object::Service(typed!(Service)),
        "HorizontalPodAutoscaler" => Object::Hpa(typed!(HorizontalPodAutoscaler)),
        _ => return,
    };
    // `kubectl get -o yaml` output: the object was served by a cluster, with every default filled in
    // (replicas, 25%/25%), so judge it as a live object.
    let live = map
        .get("metadata")
        .and_then(|m| m.get("uid"))
        .is_some_and(|u| !u.is_null());
    place_object(origin, &at, &kind, object, live, loaded);
}

/// Files a typed object read at `origin` (`at`) as a workload or one of the objects around them; an
/// object defined again replaces the earlier definition.
fn place_object(
    origin: &Origin,
    at: &str,
    kind: &str,
    object: Object,
    live: bool,
    loaded: &mut Loaded,
) {
    let ns_default = loaded.default_namespace.clone();
    let workload = match object {
        Object::Workload(w) => *w,
        Object::Pdb(mut p) => {
            let ns = p.metadata.namespace.get_or_insert(ns_default).clone();
            let name = p.metadata.name.clone().unwrap_or_default();
            let list = loaded.related.pdbs.get_or_insert_with(Vec::new);
            let slot = Slot::Pdb(list.len());
            match loaded.place(kind, &ns, &name, at, slot) {
                Some(Slot::Pdb(i)) => loaded.related.pdbs.get_or_insert_with(Vec::new)[i] = p,
                _ => loaded.related.pdbs.get_or_insert_with(Vec::new).push(p),
            }
            return;
        }
        Object::Service(mut s) => {
            let ns = s.metadata.namespace.get_or_insert(ns_default).clone();
            let name = s.metadata.name.clone().unwrap_or_default();
            let list = loaded.related.services.get_or_insert_with(Vec::new);
            let slot = Slot::Service(list.len());
            match loaded.place(kind, &ns, &name, at, slot) {
                Some(Slot::Service(i)) => {
                    loaded.related.services.get_or_insert_with(Vec::new)[i] = s
                }
                _ => loaded.related.services.get_or_insert_with(Vec::new).push(s),
            }
            return;
        }
        Object::Hpa(mut h) => {
            let ns = h.metadata.namespace.get_or_insert(ns_default).clone();
            let name = h.metadata.name.clone().unwrap_or_default();
            let list = loaded.related.hpas.get_or_insert_with(Vec::new);
            let slot = Slot::Hpa(list.len());
            match loaded.place(kind, &ns, &name, at, slot) {
                Some(Slot::Hpa(i)) => loaded.related.hpas.get_or_insert_with(Vec::new)[i] = h,
                _ => loaded.related.hpas.get_or_insert_with(Vec::new).push(h),
            }
            return;
        }
    };
    if workload.name.is_empty() {
        return loaded.error(
            at,
            format!("{kind} has no metadata.name (nor generateName)"),
        );
    }
    let mut workload = workload.from_file(origin.clone(), &ns_default);
    workload.live = live;
    let slot = Slot::Workload(loaded.workloads.len());
    let (kn, ns, name) = (
        workload.kind_name,
        workload.namespace.clone(),
        workload.name.clone(),
    );
    match loaded.place(kn, &ns, &name, at, slot) {
        Some(Slot::Workload(i)) => loaded.workloads[i] = workload,
        _ => loaded.workloads.push(workload),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Loaded {
        let mut l = Loaded::new("default", KubeVersion::DEFAULT);
        load_text("f.yaml", text, &mut l);
        l
    }

    #[test]
    fn documents_read_ahead_on_several_threads_load_as_one_pass_does() {
        // Every way a document can go: read directly, the long way (a List, a removed API, a kind
        // not read), wrong (a bad name, broken YAML), and defined twice; many times over.
        let docs = [
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web-N}\nspec:\n  replicas: 2\n  selector: {matchLabels: {app: web-N}}\n  template:\n    metadata: {labels: {app: web-N}}\n    spec: {containers: [{name: app, image: web:1}]}\n",
            "apiVersion: v1\nkind: Service\nmetadata: {name: web-N}\nspec: {selector: {app: web-N}, ports: [{port: 80}]}\n",
            "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: policy/v1, kind: PodDisruptionBudget, metadata: {name: pdb-N}, spec: {maxUnavailable: 1, selector: {matchLabels: {app: web-N}}}}\n",
            "apiVersion: extensions/v1beta1\nkind: Deployment\nmetadata: {name: old-N}\n",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm-N}\n",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: Bad_N}\n",
            "apiVersion: v1\nkind: Service\nmetadata: {name: web-N}\nspec: {selector: {app: web-N}, ports: [{port: 81}]}\n",
            "apiVersion: v1\nkind: Service\nmetadata: {name: [broken-N\n",
        ];
        let mut text = String::new();
        for i in 0..2_000 {
            for d in docs {
                text.push_str(&d.replace('N', &i.to_string()));
                text.push_str("---\n");
            }
        }
        let summary = |l: &Loaded| {
            format!(
                "{:?}",
                (
                    &l.workloads,
                    &l.errors,
                    l.skipped,
                    l.files,
                    &l.duplicates,
                    l.direct
                )
            )
        };
        let mut one_pass = Loaded::new("default", KubeVersion::DEFAULT);
        assert_eq!(
            load_text_ahead("f.yaml", &text, &mut one_pass, Ahead::new()),
            0
        );
        let ahead = read_ahead(&text, KubeVersion::DEFAULT, 3);
        assert!(ahead.values().filter(|d| d.is_some()).count() >= 6_000);
        let mut read_ahead = Loaded::new("default", KubeVersion::DEFAULT);
        let unused = load_text_ahead("f.yaml", &text, &mut read_ahead, ahead);
        assert_eq!(unused, 0, "every document read ahead is used");
        assert_eq!(summary(&read_ahead), summary(&one_pass));
        assert!(one_pass.direct >= 6_000 && one_pass.errors.len() >= 4_000);
        assert_eq!(one_pass.duplicates.len(), 2_000);
    }

    #[test]
    fn multi_document_with_positions() {
        let l = load(
            "# Source: chart/templates/a.yaml\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\nspec: {template: {spec: {containers: [{name: c}]}}}\n---\n\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {selector: {app: a}}\n",
        );
        assert_eq!(l.errors, vec![]);
        assert_eq!(l.workloads.len(), 1);
        assert_eq!(l.workloads[0].source, "f.yaml:2");
        assert_eq!(l.workloads[0].namespace, "default");
        assert_eq!(l.skipped, 1);
        assert_eq!(l.related.services.as_ref().map(Vec::len), Some(1));
    }

    #[test]
    fn bad_documents_name_file_and_line_and_others_survive() {
        let l = load(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\n---\nkey: [unclosed\n---\n- just\n- a list\n---\nfoo: bar\n---\napiVersion: apps/v1\nkind: Deploymnet\nmetadata: {name: b}\n---\napiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n",
        );
        assert_eq!(l.workloads.len(), 1, "{:?}", l.errors);
        let srcs: Vec<&str> = l.errors.iter().map(|e| e.source.as_str()).collect();
        assert_eq!(srcs.len(), 4, "{:?}", l.errors);
        assert!(
            srcs[0].starts_with("f.yaml:5:") || srcs[0].starts_with("f.yaml:6:"),
            "{srcs:?}"
        );
        assert!(
            l.errors[0].message.starts_with("not valid YAML"),
            "{:?}",
            l.errors[0]
        );
        assert_eq!(srcs[1], "f.yaml:7");
        assert!(l.errors[1].message.contains("not a Kubernetes object"));
        assert_eq!(srcs[2], "f.yaml:10");
        assert!(l.errors[2].message.contains("apiVersion and kind"));
        assert_eq!(srcs[3], "f.yaml:12");
        assert!(
            l.errors[3].message.contains("did you mean Deployment"),
            "{:?}",
            l.errors[3]
        );
        assert_eq!(l.skipped, 1);
    }

    #[test]
    fn lists_and_json() {
        let l = load(
            r#"{"apiVersion": "v1", "kind": "List", "items": [
                {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db", "namespace": "data"}, "spec": {"serviceName": "db", "selector": {}, "template": {}}},
                {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "p"}, "spec": {}}
            ]}"#,
        );
        assert_eq!(l.errors, vec![]);
        assert_eq!(l.workloads[0].namespace, "data");
        assert_eq!(l.workloads[0].source, "f.yaml:1 (item 0)");
        assert_eq!(l.related.pdbs.as_ref().map(Vec::len), Some(1));
    }

    #[test]
    fn api_versions() {
        let l = load("apiVersion: autoscaling/v1\nkind: HorizontalPodAutoscaler\nmetadata: {name: h}\nspec: {scaleTargetRef: {kind: Deployment, name: a}, maxReplicas: 3, targetCPUUtilizationPercentage: 50}\n---\napiVersion: extensions/v1beta1\nkind: Deployment\nmetadata: {name: a}\n---\napiVersion: apps/v2\nkind: Deployment\nmetadata: {name: b}\n");
        assert_eq!(
            l.related.hpas.as_ref().map(Vec::len),
            Some(1),
            "{:?}",
            l.errors
        );
        assert_eq!(l.errors.len(), 2);
        assert!(
            l.errors[0]
                .message
                .contains("removed in Kubernetes 1.16 (advising for 1.33): use apiVersion apps/v1"),
            "{:?}",
            l.errors
        );
        assert!(
            l.errors[1].message.contains("unknown API version"),
            "{:?}",
            l.errors
        );
    }

    #[test]
    fn documents_of_read_kinds_go_straight_to_typed_objects_as_strictly_as_the_long_way() {
        let deploy = |env_value: &str| {
            format!("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  uid: 5f1d\nspec:\n  replicas: 2\n  template:\n    spec:\n      containers:\n      - name: app\n        env:\n        - name: PORT\n          value: {env_value}\n        lifecycle: {{preStop: {{exec: {{command: [sleep, '5']}}}}}}\n---\napiVersion: v1\nkind: Service\nmetadata: {{name: web}}\nspec: {{selector: {{app: web}}}}\n")
        };
        let l = load(&deploy("\"8080\""));
        assert_eq!((l.errors.clone(), l.direct), (vec![], 2));
        let w = &l.workloads[0];
        assert_eq!(
            (w.source.as_str(), w.replicas, w.live),
            ("f.yaml:1", Some(2), true)
        );
        assert_eq!(l.related.services.as_ref().map(Vec::len), Some(1));
        // A number where the API wants a string: refused as the API server refuses it (the long way
        // says so; serde_yaml alone would read "8080").
        let l = load(&deploy("8080"));
        assert_eq!(l.direct, 1);
        assert_eq!(l.workloads.len(), 0);
        assert_eq!(l.errors[0].source, "f.yaml:1");
        assert!(
            l.errors[0]
                .message
                .starts_with("invalid Deployment: invalid type: integer `8080`, expected a string"),
            "{:?}",
            l.errors
        );
    }

    #[test]
    fn invalid_typed_fields() {
        let l = load(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\nspec: {replicas: many}\n",
        );
        assert_eq!(l.workloads.len(), 0);
        assert!(
            l.errors[0].message.starts_with("invalid Deployment"),
            "{:?}",
            l.errors
        );
    }

    #[test]
    fn same_object_twice_is_checked_once_as_its_last_definition() {
        let l = load(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\nspec: {replicas: 1}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a, namespace: default}\nspec: {replicas: 3}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a, namespace: other}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: s}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {selector: {app: a}}\n---\napiVersion: batch/v1\nkind: Job\nmetadata: {generateName: migrate-}\n---\napiVersion: batch/v1\nkind: Job\nmetadata: {generateName: migrate-}\n",
        );
        assert_eq!(l.errors, vec![]);
        let names: Vec<String> = l
            .workloads
            .iter()
            .map(|w| format!("{}/{}:{:?}", w.namespace, w.name, w.replicas))
            .collect();
        assert_eq!(
            names,
            [
                "default/a:Some(3)",
                "other/a:Some(1)",
                "default/migrate-*:None",
                "default/migrate-*:None"
            ]
        );
        assert_eq!(l.workloads[0].source, "f.yaml:6");
        assert_eq!(l.related.services.as_ref().map(Vec::len), Some(1));
        assert!(l.related.services.as_ref().unwrap()[0].spec.is_some());
        assert_eq!(
            l.duplicates,
            vec![
                (
                    "Deployment/default/a".to_string(),
                    vec!["f.yaml:1".to_string(), "f.yaml:6".to_string()]
                ),
                (
                    "Service/default/s".to_string(),
                    vec!["f.yaml:15".to_string(), "f.yaml:19".to_string()]
                ),
            ]
        );
    }

    #[test]
    fn template_leftovers_are_unusable() {
        let l = load("apiVersion: v1\nkind: Pod\nmetadata: {name: \"web-{{uid}}\"}\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: etcd\n  labels:\n    cell: {{cell}}\n");
        assert_eq!(l.workloads.len(), 0);
        assert!(
            l.errors[0]
                .message
                .starts_with("invalid metadata.name \"web-{{uid}}\""),
            "{:?}",
            l.errors
        );
        assert!(
            l.errors[1].message.contains("unrendered template"),
            "{:?}",
            l.errors
        );
    }

    #[test]
    fn replication_controllers_and_old_pdbs() {
        let l = load("apiVersion: v1\nkind: ReplicationController\nmetadata: {name: rc}\nspec:\n  replicas: 2\n  template: {metadata: {labels: {app: rc}}, spec: {containers: [{name: c}]}}\n");
        assert_eq!(l.errors, vec![]);
        let w = &l.workloads[0];
        assert_eq!(
            (w.kind_name, w.kind),
            ("ReplicationController", crate::target::Kind::ReplicaSet)
        );
        assert_eq!(w.display_name(), "replicationcontroller/rc");
        assert_eq!(
            w.selector
                .as_ref()
                .and_then(|s| s.match_labels.clone())
                .map(|m| m.len()),
            Some(1)
        );
        let pdb = "apiVersion: policy/v1beta1\nkind: PodDisruptionBudget\nmetadata: {name: p}\nspec: {selector: {}, minAvailable: 1}\n";
        let l = load(pdb);
        assert!(
            l.errors[0].message.contains("removed in Kubernetes 1.25"),
            "{:?}",
            l.errors
        );
        let mut old = Loaded::new("default", KubeVersion::new(1, 24));
        load_text("f.yaml", pdb, &mut old);
        assert_eq!(old.errors, vec![]);
        // policy/v1beta1: an empty selector selects no pods.
        let p = &old.related.pdbs.as_ref().unwrap()[0];
        assert!(p.spec.as_ref().unwrap().selector.is_none());
    }
}
