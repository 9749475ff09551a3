//! `kubesim`: a simulated Kubernetes API server for kubectl-graceful's integration tests.
//!
//! See `README.md` for the scenario format, behaviour annotations and knobs.
#![allow(clippy::too_many_arguments, clippy::needless_range_loop)]

pub mod admin;
pub mod behavior;
mod control;
pub mod controllers;
pub mod endpointslices;
pub mod eviction;
mod faults;
pub mod kubelet;
pub mod metadata;
pub mod patch;
mod pb;
pub mod pki;
pub mod registry;
mod scenario;
pub mod scenarios;
pub mod scheduler;
pub mod selectors;
pub(crate) mod server;
pub mod serving;
pub mod state;
pub mod store;
pub mod svcproxy;
mod table;
pub mod tools;
pub mod util;
pub mod watch_cache;

pub use faults::Faults;
pub use scenario::parse_objects;
pub use state::RequestRecord;

use scenario::{load_objects, node_obj};
use serde_json::Value;
use serving::{bind, kubeconfig_yaml, make_tls, Serving};
use state::{FaultState, Shared, State};
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

/// A running simulator. Owns its own tokio runtime; dropping it stops the server and removes its temp dir.
pub struct Sim {
    shared: Arc<Shared>,
    serving: Arc<Serving>,
    rt: Option<tokio::runtime::Runtime>,
    port: u16,
    dir: tempfile::TempDir,
    kubeconfig: PathBuf,
    ca_pem: String,
    admin: Mutex<Option<admin::Admin>>,
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
            connections: Mutex::new(vec![]),
        });
        let dir = tempfile::Builder::new().prefix("kubesim-").tempdir()?;
        let std_l = bind(port, rt.handle())?;
        let port = std_l.local_addr()?.port();
        let kubeconfig = dir.path().join("kubeconfig");
        std::fs::write(
            &kubeconfig,
            kubeconfig_yaml(port, &ca_pem, "kubernetes-admin", &admin_token),
        )?;
        rt.spawn(control::control_loop(shared.clone()));
        let serving = Arc::new(Serving::new(shared.clone(), port, tls, rt.handle().clone()));
        serving.spawn(std_l);
        Ok(Sim {
            shared,
            serving,
            rt: Some(rt),
            port,
            dir,
            kubeconfig,
            ca_pem,
            admin: Mutex::new(None),
        })
    }

    /// `Sim::start` with default options plus `yaml` as scenario; panics on error.
    pub fn with_scenario(yaml: &str) -> Sim {
        Sim::with_scenario_at(yaml, SimOptions::default().time_scale)
    }

    /// [`Sim::with_scenario`] running `time_scale` simulated seconds a real second; panics on error.
    pub fn with_scenario_at(yaml: &str, time_scale: f64) -> Sim {
        Sim::start(SimOptions {
            time_scale,
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
        self.serving.stop();
    }

    /// The ALPN protocol the server agreed on for each TLS connection accepted so far, in order
    /// ("h2", "http/1.1", or "" when the client offered none).
    pub fn connections(&self) -> Vec<String> {
        self.shared.connections.lock().unwrap().clone()
    }

    /// Serve again, offering only these ALPN protocols (default: h2 and http/1.1), e.g. `&["http/1.1"]`
    /// for a server without HTTP/2.
    pub fn set_alpn(&self, protocols: &[&str]) {
        self.serving.set_alpn(protocols);
    }

    /// Serve again on the same port.
    pub fn restart_server(&self) {
        self.serving.restart();
    }

    /// Serve the admin endpoint (plain HTTP on 127.0.0.1, `port` 0 = any free one): the fault
    /// controls and the request log for shell scripts, benchmarks and people (see the README,
    /// "Admin endpoint"). Returns its URL.
    pub fn serve_admin(&self, port: u16) -> anyhow::Result<String> {
        let a = admin::Admin::start(
            self.shared.clone(),
            self.serving.clone(),
            self.rt.as_ref().expect("runtime").handle(),
            port,
        )?;
        let url = a.url();
        *self.admin.lock().unwrap() = Some(a);
        Ok(url)
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

    /// How far (sim time) the service proxy's view of a Service's Endpoints trails them (default 1 s):
    /// the propagation lag of endpoint consumers, during which a removed pod still gets requests.
    pub fn set_proxy_lag(&self, sim: Duration) {
        self.shared.lock().ctrl.proxy.lag_ms = sim.as_millis() as i64;
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
        self.admin.lock().unwrap().take();
        self.serving.stop();
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}
