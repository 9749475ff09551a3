//! `kubesim`: a simulated Kubernetes API server for kubectl-graceful's integration tests.
//!
//! See `README.md` for the scenario format, behaviour annotations and knobs.
#![allow(clippy::too_many_arguments, clippy::needless_range_loop)]

pub mod behavior;
pub mod controllers;
pub mod eviction;
pub mod kubelet;
pub mod patch;
mod pb;
pub mod registry;
pub mod scheduler;
pub mod selectors;
pub(crate) mod server;
pub mod state;
pub mod store;
mod table;
pub mod util;
pub mod watch_cache;

pub use state::RequestRecord;

use anyhow::Context;
use base64::Engine;
use serde_json::{json, Value};
use state::{FailRule, FaultState, Shared, State};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Options for [`Sim::start`].
#[derive(Debug, Clone)]
pub struct SimOptions {
    /// Sim seconds per real second (default 10).
    pub time_scale: f64,
    /// `gitVersion` served at `/version` and as node kubelet version (default `v1.33.2`).
    pub server_version: String,
    /// YAML documents (multi-doc or `List`) loaded at start.
    pub scenario_yaml: Vec<String>,
    /// Number of simulated nodes (`None` → 3, or none when the scenario defines nodes).
    pub nodes: Option<usize>,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            time_scale: 10.0,
            server_version: "v1.33.2".into(),
            scenario_yaml: vec![],
            nodes: None,
        }
    }
}

struct ServerHandle {
    stop: tokio::sync::watch::Sender<bool>,
}

/// A running simulator. Owns its own tokio runtime; dropping it stops the server and removes its temp dir.
pub struct Sim {
    shared: Arc<Shared>,
    rt: Option<tokio::runtime::Runtime>,
    port: u16,
    dir: tempfile::TempDir,
    kubeconfig: PathBuf,
    ca_pem: String,
    tls: Arc<rustls::ServerConfig>,
    server: Mutex<Option<ServerHandle>>,
}

/// Fault injection handle (see [`Sim::faults`]).
#[derive(Clone)]
pub struct Faults {
    shared: Arc<Shared>,
}

impl Faults {
    /// Delay every request by `d` (real time).
    pub fn set_latency(&self, d: Duration) {
        self.shared.faults.lock().unwrap().latency = d;
    }
    /// Answer the next `times` requests whose method matches (`"*"` = any) and whose path+query contains
    /// `path_contains` with `status` (500, 429, 503…).
    pub fn fail(&self, method: &str, path_contains: &str, status: u16, times: usize) {
        self.shared.faults.lock().unwrap().fail.push(FailRule {
            method: method.into(),
            path_contains: path_contains.into(),
            status,
            remaining: times,
        });
    }
    /// Remove latency, failure and hold rules (held requests are answered).
    pub fn clear(&self) {
        let held = self.shared.faults.lock().unwrap().held;
        *self.shared.faults.lock().unwrap() = FaultState {
            held,
            ..FaultState::default()
        };
        self.shared.hang.send_modify(|_| {});
    }
    /// Hold every request whose method matches (`"*"` = any) and whose path+query contains `path_contains`:
    /// it is read but not answered until [`Faults::release`] (a request in flight, for tests that act
    /// while it is).
    pub fn hold(&self, method: &str, path_contains: &str) {
        self.shared
            .faults
            .lock()
            .unwrap()
            .hold
            .push((method.into(), path_contains.into()));
    }
    /// How many requests are held now.
    pub fn held(&self) -> usize {
        self.shared.faults.lock().unwrap().held
    }
    /// Drop the hold rules and answer the held requests.
    pub fn release(&self) {
        self.shared.faults.lock().unwrap().hold.clear();
        self.shared.hang.send_modify(|_| {});
    }
    /// Close every open watch (and log follow) stream.
    pub fn drop_watches(&self) {
        self.shared.drop_watches.send_modify(|g| *g += 1);
    }
    /// Hang: connections are still accepted and requests read, but nothing is answered and open watches
    /// go silent (no events, no bookmarks), like an API server stuck on etcd. `false` answers again
    /// (requests held meanwhile are then served).
    pub fn hang(&self, on: bool) {
        self.shared.hang.send_replace(on);
    }
    /// Watches and continue tokens from any resourceVersion before now get 410 Gone.
    pub fn expire_resource_versions(&self) {
        let mut st = self.shared.lock();
        st.store.floor = st.store.rv;
    }
}

fn make_tls() -> anyhow::Result<(String, Arc<rustls::ServerConfig>)> {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
        KeyPair, KeyUsagePurpose,
    };
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name.push(DnType::CommonName, "kubesim-ca");
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_key = KeyPair::generate()?;
    let ca_cert = ca.self_signed(&ca_key)?;
    let ca_pem = ca_cert.pem();
    let issuer = Issuer::new(ca, ca_key);
    let mut sp = CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])?;
    sp.distinguished_name
        .push(DnType::CommonName, "kube-apiserver");
    sp.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    sp.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    let skey = KeyPair::generate()?;
    let scert = sp.signed_by(&skey, &issuer)?;
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(rustls::pki_types::PrivatePkcs8KeyDer::from(
        skey.serialize_der(),
    ));
    let mut cfg = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_no_client_auth()
    .with_single_cert(vec![scert.der().clone(), ca_cert.der().clone()], key)?;
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok((ca_pem, Arc::new(cfg)))
}

fn node_obj(name: &str, idx: usize, version: &str) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux", "beta.kubernetes.io/arch": "amd64"}},
        "spec": {"podCIDR": format!("10.244.{idx}.0/24"), "podCIDRs": [format!("10.244.{idx}.0/24")]},
        "status": {
            "conditions": [
                {"type": "MemoryPressure", "status": "False", "reason": "KubeletHasSufficientMemory", "message": "kubelet has sufficient memory available"},
                {"type": "DiskPressure", "status": "False", "reason": "KubeletHasNoDiskPressure", "message": "kubelet has no disk pressure"},
                {"type": "PIDPressure", "status": "False", "reason": "KubeletHasSufficientPID", "message": "kubelet has sufficient PID available"},
                {"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "kubelet is posting ready status"},
            ],
            "addresses": [{"type": "InternalIP", "address": format!("10.0.0.{idx}")}, {"type": "Hostname", "address": name}],
            "capacity": {"cpu": "64", "memory": "263975232Ki", "pods": "250", "ephemeral-storage": "102350Mi"},
            "allocatable": {"cpu": "64", "memory": "263872832Ki", "pods": "250", "ephemeral-storage": "102350Mi"},
            "nodeInfo": {"kubeletVersion": version, "kubeProxyVersion": version, "containerRuntimeVersion": "containerd://1.7.24", "osImage": "Debian GNU/Linux 12 (bookworm)", "kernelVersion": "6.1.0-27-amd64", "architecture": "amd64", "operatingSystem": "linux", "machineID": util::rand_hex(32), "systemUUID": util::new_uid(), "bootID": util::new_uid()},
        },
    })
}

/// Parse multi-document YAML (and `List`s) into objects.
pub fn parse_objects(yaml: &str) -> anyhow::Result<Vec<Value>> {
    use serde::Deserialize;
    let mut out = Vec::new();
    for doc in serde_yaml::Deserializer::from_str(yaml) {
        let v = Value::deserialize(doc).context("parsing scenario YAML")?;
        if v.is_null() {
            continue;
        }
        let kind = util::s(&v, "/kind");
        if kind == "List" || (kind.ends_with("List") && v.get("items").is_some()) {
            for it in v["items"].as_array().cloned().unwrap_or_default() {
                out.push(it);
            }
        } else {
            out.push(v);
        }
    }
    Ok(out)
}

fn load_objects(st: &mut State, objs: Vec<Value>) -> anyhow::Result<()> {
    let now = st.now();
    for mut o in objs {
        let av = util::s(&o, "/apiVersion").to_string();
        let kind = util::s(&o, "/kind").to_string();
        let def = registry::by_kind(&av, &kind)
            .with_context(|| format!("unsupported object {av}/{kind}"))?;
        let def = registry::by_storage(def.storage);
        if def.storage == "events"
            && o.get("involvedObject").is_none()
            && o.get("regarding").is_some()
        {
            o = server_unview_event(o);
        }
        if def.storage == "events" && util::name(&o).is_empty() {
            let n = format!(
                "{}.{}",
                util::s(&o, "/involvedObject/name"),
                util::rand_hex(16)
            );
            util::obj_at(&mut o, &["metadata"]).insert("name".into(), json!(n));
        }
        if def.storage != "events" {
            o = server::prepare_create(def, o);
        }
        let ns = if def.namespaced {
            util::ns(&o).to_string()
        } else {
            String::new()
        };
        let ns = if def.namespaced && ns.is_empty() {
            "default".to_string()
        } else {
            ns
        };
        if st.store.get(def.storage, &ns, util::name(&o)).is_some() {
            // replace: keep uid/creationTimestamp of the stored object unless given
            let cur = st
                .store
                .get(def.storage, &ns, util::name(&o))
                .cloned()
                .unwrap();
            let m = util::obj_at(&mut o, &["metadata"]);
            m.insert("namespace".into(), json!(ns));
            for k in ["uid", "creationTimestamp"] {
                if !m.contains_key(k) {
                    if let Some(v) = cur.pointer(&format!("/metadata/{k}")) {
                        m.insert(k.into(), v.clone());
                    }
                }
            }
            if !m.contains_key("generation") && def.has_generation() {
                let g = util::i(&cur, "/metadata/generation").unwrap_or(1);
                let changed = o.get("spec") != cur.get("spec");
                util::obj_at(&mut o, &["metadata"])
                    .insert("generation".into(), json!(if changed { g + 1 } else { g }));
            }
            o["apiVersion"] = json!(def.api_version());
            o["kind"] = json!(def.kind);
            let has_status = o
                .get("status")
                .is_some_and(|s| s.as_object().is_some_and(|m| !m.is_empty()));
            if !has_status {
                if let Some(s) = cur.get("status") {
                    o["status"] = s.clone();
                }
                st.store.static_uids.remove(util::uid(&o));
            } else {
                st.store.static_uids.insert(util::uid(&o).to_string());
            }
            st.store.put(def.storage, o);
        } else {
            st.store.create(def, o, now, None, true)?;
        }
    }
    Ok(())
}

fn server_unview_event(o: Value) -> Value {
    let def = registry::find("events.k8s.io", "v1", "events").unwrap();
    server::unview(def, o)
}

async fn serve(
    ctx: Arc<server::Ctx>,
    listener: tokio::net::TcpListener,
    tls: Arc<rustls::ServerConfig>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    loop {
        let (sock, _) = tokio::select! {
            r = listener.accept() => match r { Ok(x) => x, Err(_) => continue },
            _ = stop.changed() => return,
        };
        let acceptor = acceptor.clone();
        let ctx = ctx.clone();
        let mut stop = stop.clone();
        tokio::spawn(async move {
            let tls = tokio::select! {
                r = acceptor.accept(sock) => match r { Ok(t) => t, Err(_) => return },
                _ = stop.changed() => return,
            };
            let svc = hyper::service::service_fn(move |req| server::handle(ctx.clone(), req));
            let builder =
                hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new());
            let conn = builder.serve_connection(hyper_util::rt::TokioIo::new(tls), svc);
            tokio::select! {
                _ = conn => {}
                _ = stop.changed() => {}
            }
        });
    }
}

async fn control_loop(shared: Arc<Shared>) {
    let mut last_rv = 0u64;
    let mut last_ctrl = std::time::Instant::now();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(25)) => {}
            _ = shared.wake.notified() => {}
        }
        let mut g = shared.lock();
        let now = g.now();
        let st = &mut *g;
        st.store.now_ms = now;
        let changed = st.store.rv != last_rv;
        // controllers: on any change, and every 250 ms for time-based conditions (minReadySeconds,
        // progress deadlines); the kubelet: on any change or when a container timer is due
        let mut run_ctrl = changed || last_ctrl.elapsed() >= Duration::from_millis(250);
        if !run_ctrl && now < st.kubelet.next_wake {
            continue;
        }
        for _ in 0..4 {
            st.store.dirty = false;
            if run_ctrl {
                st.ctrl.tick(&mut st.store, now);
                last_ctrl = std::time::Instant::now();
            }
            st.kubelet.tick(&mut st.store, now);
            if !st.store.dirty {
                break;
            }
            run_ctrl = true;
        }
        last_rv = st.store.rv;
    }
}

impl Sim {
    /// Start a simulator on a free port.
    pub fn start(opts: SimOptions) -> anyhow::Result<Sim> {
        Self::start_on_port(opts, 0)
    }

    /// Start on a given port (0 = any free port).
    pub fn start_on_port(opts: SimOptions, port: u16) -> anyhow::Result<Sim> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("kubesim")
            .enable_all()
            .build()?;
        let (ca_pem, tls) = make_tls()?;
        let admin_token = format!("kubesim-admin-{}", util::rand_hex(24));
        let mut st = State {
            store: store::Store::new(),
            clock: util::Clock::new(if opts.time_scale > 0.0 {
                opts.time_scale
            } else {
                10.0
            }),
            kubelet: Default::default(),
            ctrl: controllers::Ctrl::for_version(&opts.server_version),
            tokens: [(admin_token.clone(), "kubernetes-admin".to_string())]
                .into_iter()
                .collect(),
            deny: vec![],
            version: opts.server_version.clone(),
        };
        let now = st.now();
        for n in ["default", "kube-system", "kube-public", "kube-node-lease"] {
            st.store.ensure_namespace(n, now);
        }
        let mut objs = Vec::new();
        for y in &opts.scenario_yaml {
            objs.extend(parse_objects(y)?);
        }
        let scenario_nodes = objs.iter().any(|o| util::s(o, "/kind") == "Node");
        if !scenario_nodes {
            for i in 1..=opts.nodes.unwrap_or(3) {
                let n = node_obj(&format!("node-{i}"), i, &opts.server_version);
                st.store
                    .create(registry::by_storage("nodes"), n, now, None, true)?;
            }
        }
        load_objects(&mut st, objs)?;
        let (drop_tx, _) = tokio::sync::watch::channel(0u64);
        let shared = Arc::new(Shared {
            state: Mutex::new(st),
            wake: tokio::sync::Notify::new(),
            requests: Mutex::new(vec![]),
            faults: Mutex::new(FaultState::default()),
            drop_watches: drop_tx,
            hang: tokio::sync::watch::Sender::new(false),
        });
        let dir = tempfile::Builder::new().prefix("kubesim-").tempdir()?;
        let std_l = bind(port, &rt)?;
        let port = std_l.local_addr()?.port();
        let kubeconfig = dir.path().join("kubeconfig");
        std::fs::write(
            &kubeconfig,
            kubeconfig_yaml(port, &ca_pem, "kubernetes-admin", &admin_token),
        )?;
        rt.spawn(control_loop(shared.clone()));
        let sim = Sim {
            shared,
            rt: Some(rt),
            port,
            dir,
            kubeconfig,
            ca_pem,
            tls,
            server: Mutex::new(None),
        };
        sim.spawn_server(std_l);
        Ok(sim)
    }

    fn spawn_server(&self, l: tokio::net::TcpListener) {
        let (tx, rx) = tokio::sync::watch::channel(false);
        let ctx = Arc::new(server::Ctx {
            shared: self.shared.clone(),
            port: self.port,
        });
        self.rt
            .as_ref()
            .unwrap()
            .spawn(serve(ctx, l, self.tls.clone(), rx));
        *self.server.lock().unwrap() = Some(ServerHandle { stop: tx });
    }

    /// `Sim::start` with default options plus `yaml` as scenario; panics on error.
    pub fn with_scenario(yaml: &str) -> Sim {
        Sim::start(SimOptions {
            scenario_yaml: vec![yaml.to_string()],
            ..Default::default()
        })
        .expect("starting kubesim")
    }

    /// Kubeconfig for the admin user (context `kubesim`, namespace `default`).
    pub fn kubeconfig_path(&self) -> &Path {
        &self.kubeconfig
    }

    /// `https://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }

    /// PEM of the CA that signed the server certificate.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// Create-or-replace objects (multi-doc / List). Objects with a status are served as loaded.
    pub fn apply_yaml(&self, yaml: &str) -> anyhow::Result<()> {
        let objs = parse_objects(yaml)?;
        let mut st = self.shared.lock();
        load_objects(&mut st, objs)?;
        drop(st);
        self.shared.wake.notify_one();
        Ok(())
    }

    fn def_for(api_version: &str, kind: &str) -> Option<&'static registry::ResDef> {
        registry::by_kind(api_version, kind)
    }

    /// Get an object (as served under `api_version`).
    pub fn get(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
        name: &str,
    ) -> Option<Value> {
        let def = Self::def_for(api_version, kind)?;
        let st = self.shared.lock();
        let ns = if def.namespaced {
            namespace.unwrap_or("default")
        } else {
            ""
        };
        st.store
            .get(def.storage, ns, name)
            .cloned()
            .map(|o| server::view(def, o))
    }

    /// List objects of a kind (`namespace: None` = all namespaces).
    pub fn list(&self, api_version: &str, kind: &str, namespace: Option<&str>) -> Vec<Value> {
        let Some(def) = Self::def_for(api_version, kind) else {
            return vec![];
        };
        let st = self.shared.lock();
        let ns = if def.namespaced { namespace } else { None };
        st.store
            .iter(def.storage, ns)
            .cloned()
            .map(|o| server::view(def, o))
            .collect()
    }

    /// Delete an object like an API DELETE (pods terminate gracefully).
    pub fn delete(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
        name: &str,
    ) -> bool {
        let Some(def) = Self::def_for(api_version, kind) else {
            return false;
        };
        let mut st = self.shared.lock();
        let now = st.now();
        let ns = if def.namespaced {
            namespace.unwrap_or("default")
        } else {
            ""
        };
        let r = controllers::cascade_delete(&mut st.store, def.storage, ns, name, now).is_some();
        drop(st);
        self.shared.wake.notify_one();
        r
    }

    /// Record an event about an object (like a component would).
    pub fn record_event(
        &self,
        involved: &Value,
        typ: &str,
        reason: &str,
        message: &str,
        component: &str,
    ) {
        let mut st = self.shared.lock();
        let now = st.now();
        st.store
            .record_event(involved, None, typ, reason, message, component, "", now);
    }

    /// Delete events whose last occurrence is older than `older_than` (sim time), like the API server's
    /// event TTL (1 h by default on real clusters). `Duration::ZERO` deletes all events. Returns how many.
    pub fn expire_events(&self, older_than: Duration) -> usize {
        let mut st = self.shared.lock();
        let cutoff = st.now() - older_than.as_millis() as i64;
        let victims: Vec<(String, String)> = st
            .store
            .iter("events", None)
            .filter(|e| {
                let t = [
                    "/lastTimestamp",
                    "/eventTime",
                    "/series/lastObservedTime",
                    "/firstTimestamp",
                    "/metadata/creationTimestamp",
                ]
                .iter()
                .filter_map(|p| util::parse_ts(util::s(e, p)))
                .max()
                .unwrap_or(0);
                older_than.is_zero() || t < cutoff
            })
            .map(|e| (util::ns(e).to_string(), util::name(e).to_string()))
            .collect();
        for (ns, name) in &victims {
            st.store.remove("events", ns, name);
        }
        let live: std::collections::HashSet<(String, String)> = st
            .store
            .iter("events", None)
            .map(|e| (util::ns(e).to_string(), util::name(e).to_string()))
            .collect();
        st.store.event_keys.retain(|_, v| live.contains(v));
        victims.len()
    }

    /// Simulate a kubelet node-pressure eviction of a running pod: phase `Failed`, reason `Evicted`,
    /// containers terminated (137 `ContainerStatusUnknown`), `DisruptionTarget` (`TerminationByKubelet`),
    /// `Evicted` + `Killing` events. The pod object stays (like real evicted pods); its controller
    /// replaces it. `resource`: `memory`, `ephemeral-storage`, …
    pub fn evict_for_node_pressure(&self, namespace: &str, name: &str, resource: &str) -> bool {
        let first = self
            .get("v1", "Pod", Some(namespace), name)
            .map(|p| util::s(&p, "/spec/containers/0/name").to_string())
            .unwrap_or_default();
        let msg = kubelet::node::pressure_message(resource, &first);
        self.with_state(|st| kubelet::node::fail_pod(st, namespace, name, "Evicted", &msg, true))
    }

    /// Simulate graceful node shutdown terminating a pod: phase `Failed`, reason `Terminated`, message
    /// "Pod was terminated in response to imminent node shutdown.", `DisruptionTarget`
    /// (`TerminationByKubelet`), containers 137 `ContainerStatusUnknown`; its node is marked NotReady.
    pub fn terminate_for_node_shutdown(&self, namespace: &str, name: &str) -> bool {
        let node = self
            .get("v1", "Pod", Some(namespace), name)
            .map(|p| util::s(&p, "/spec/nodeName").to_string())
            .unwrap_or_default();
        let ok = self.with_state(|st| {
            kubelet::node::fail_pod(
                st,
                namespace,
                name,
                "Terminated",
                kubelet::node::SHUTDOWN_MESSAGE,
                false,
            )
        });
        if ok && !node.is_empty() {
            self.set_node_ready(&node, false);
        }
        ok
    }

    /// Mark a node Ready / NotReady (NotReady nodes get no new pods).
    pub fn set_node_ready(&self, name: &str, ready: bool) -> bool {
        self.with_state(|st| kubelet::node::set_ready(st, name, ready))
    }

    /// Run `f` on the state, then wake the controllers and the kubelet.
    fn with_state<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        let mut st = self.shared.lock();
        let out = f(&mut st);
        drop(st);
        self.shared.wake.notify_one();
        out
    }

    /// New token for `user`; returns the path of a kubeconfig for that user.
    pub fn add_user(&self, user: &str) -> PathBuf {
        let token = format!(
            "kubesim-{}-{}",
            user.replace(|c: char| !c.is_ascii_alphanumeric(), "-"),
            util::rand_hex(16)
        );
        self.shared
            .lock()
            .tokens
            .insert(token.clone(), user.to_string());
        let safe: String = user
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        let path = self
            .dir
            .path()
            .join(format!("kubeconfig-{safe}-{}", util::rand_hex(4)));
        std::fs::write(
            &path,
            kubeconfig_yaml(self.port, &self.ca_pem, user, &token),
        )
        .expect("writing kubeconfig");
        path
    }

    /// Deny `verb` (`get`, `list`, `watch`, `create`, `update`, `patch`, `delete`, `*`) on `resource`
    /// (`pods`, `pods/log`, `*`…) for `user` → 403.
    pub fn deny(&self, user: &str, verb: &str, resource: &str) {
        self.shared
            .lock()
            .deny
            .push((user.into(), verb.into(), resource.into()));
    }

    /// Requests served so far.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.shared.requests.lock().unwrap().clone()
    }

    pub fn clear_requests(&self) {
        self.shared.requests.lock().unwrap().clear();
    }

    pub fn faults(&self) -> Faults {
        Faults {
            shared: self.shared.clone(),
        }
    }

    /// Stop serving (state kept; clients get connection refused).
    pub fn stop_server(&self) {
        if let Some(h) = self.server.lock().unwrap().take() {
            let _ = h.stop.send(true);
        }
        self.faults().drop_watches();
        std::thread::sleep(Duration::from_millis(50));
    }

    /// Serve again on the same port.
    pub fn restart_server(&self) {
        self.stop_server();
        let mut tries = 0;
        loop {
            match bind(self.port, self.rt.as_ref().unwrap()) {
                Ok(l) => {
                    self.spawn_server(l);
                    return;
                }
                Err(e) => {
                    tries += 1;
                    if tries > 100 {
                        panic!("kubesim: cannot rebind port {}: {e}", self.port);
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
        }
    }

    /// The sim clock.
    pub fn now(&self) -> jiff::Timestamp {
        let ms = self.shared.lock().now();
        jiff::Timestamp::from_millisecond(ms).unwrap()
    }

    /// Sim time scale.
    pub fn time_scale(&self) -> f64 {
        self.shared.lock().clock.scale
    }

    /// Poll `f` every 20 ms (real) until it returns true or `timeout` passes.
    pub fn wait_until(&self, timeout: Duration, f: impl Fn(&Sim) -> bool) -> bool {
        let end = std::time::Instant::now() + timeout;
        loop {
            if f(self) {
                return true;
            }
            if std::time::Instant::now() >= end {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Change the time scale from now on (sim time stays continuous).
    pub fn set_time_scale(&self, scale: f64) {
        if scale > 0.0 {
            self.shared.lock().clock.set_scale(scale);
            self.shared.wake.notify_one();
        }
    }

    /// Jump the sim clock forward (timers that fall due fire at once, e.g. a progress deadline or
    /// a crash-loop back-off).
    pub fn advance(&self, sim: Duration) {
        self.shared.lock().clock.advance(sim.as_millis() as i64);
        self.shared.wake.notify_one();
    }

    /// Real duration corresponding to a sim duration.
    pub fn real(&self, sim: Duration) -> Duration {
        self.shared.lock().clock.real_for(sim.as_millis() as i64)
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        if let Some(h) = self.server.lock().unwrap().take() {
            let _ = h.stop.send(true);
        }
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

fn bind(port: u16, rt: &tokio::runtime::Runtime) -> anyhow::Result<tokio::net::TcpListener> {
    let _g = rt.enter();
    let sock = tokio::net::TcpSocket::new_v4()?;
    sock.set_reuseaddr(true)?;
    sock.bind(std::net::SocketAddr::from(([127, 0, 0, 1], port)))?;
    Ok(sock.listen(1024)?)
}

fn kubeconfig_yaml(port: u16, ca_pem: &str, user: &str, token: &str) -> String {
    let ca = base64::engine::general_purpose::STANDARD.encode(ca_pem);
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: kubesim\n  cluster:\n    server: https://127.0.0.1:{port}\n    certificate-authority-data: {ca}\nusers:\n- name: {user:?}\n  user:\n    token: {token}\ncontexts:\n- name: kubesim\n  context:\n    cluster: kubesim\n    user: {user:?}\n    namespace: default\ncurrent-context: kubesim\npreferences: {{}}\n"
    )
}
