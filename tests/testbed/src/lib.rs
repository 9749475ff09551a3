//! `testbed`: a real Kubernetes control plane on 127.0.0.1 for kubectl-graceful's end-to-end tests.
//!
//! etcd, kube-apiserver, kube-controller-manager and kube-scheduler are the upstream binaries,
//! built from the pinned Go modules under `tests/go` (crate `gotools`); the nodes are simulated by
//! a kubelet of ours ([`kubelet`]) that is a client of the real apiserver and runs containers by the
//! `kubesim.io/behavior` annotations. See the README's "Test bed" section.
//!
//! ```no_run
//! let tb = testbed::Testbed::shared("1.37");        // one per test binary and version
//! let ns = tb.namespace("restart-deploy").unwrap();  // one namespace per test
//! std::process::Command::new("kubectl")
//!     .arg("--kubeconfig").arg(tb.kubeconfig_path())
//!     .args(["-n", &ns, "get", "pods"]).status().unwrap();
//! ```

pub mod client;
pub mod controlplane;
pub mod kubelet;
pub mod pki;
pub mod procs;
pub mod trace;

use anyhow::{bail, Context};
use controlplane::{Binaries, ControlPlane};
use k8s_openapi::api::core::v1::{Namespace, Node, ServiceAccount};
use kube::api::{Api, PostParams};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// What to start.
#[derive(Debug, Clone)]
pub struct Options {
    /// Kubernetes minor: one of [`controlplane::VERSIONS`] (`"1.35"`, `"1.37"`).
    pub k8s: String,
    /// Simulated nodes `node-1` … `node-N`.
    pub nodes: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            k8s: "1.37".into(),
            nodes: 3,
        }
    }
}

/// A running test bed. Dropping it stops every process and removes its folder.
pub struct Testbed {
    minor: &'static str,
    dir: PathBuf,
    kubeconfig: PathBuf,
    audit_log: PathBuf,
    nodes: Vec<String>,
    startup: Duration,
    // Field order is drop order: the kubelet's tasks, then its runtime, then the processes.
    kubelet: Option<kubelet::Kubelet>,
    rt: tokio::runtime::Runtime,
    cp: Mutex<ControlPlane>,
}

impl Testbed {
    /// Build (or reuse) the binaries and start everything; returns once the nodes are Ready and
    /// the controllers have created the `default` service account.
    pub fn start(opts: Options) -> anyhow::Result<Testbed> {
        let minor = controlplane::minor(&opts.k8s)?;
        let bins = Binaries::build(minor)?;
        let started = Instant::now();
        let dir = tempfile::Builder::new()
            .prefix(&format!("testbed-{minor}-"))
            .tempdir()
            .context("create the test bed's temp dir")?
            .keep();
        procs::remove_at_exit(&dir);
        let pki = pki::Pki::generate(&dir.join("pki"))?;
        let mut cp = ControlPlane::start(&dir, &bins, &pki)?;

        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name(format!("testbed-{minor}"))
            .enable_all()
            .build()?;
        let kubelet_config = dir.join("kubelet.kubeconfig");
        std::fs::write(
            &kubelet_config,
            pki::kubeconfig(&cp.url, &pki.ca, "testbed-kubelet", &pki.kubelet_client),
        )?;
        let url = cp.url.clone();
        let kubelet = rt.block_on(async {
            let client =
                client::for_cert_async(&url, &pki.ca.cert_pem, &pki.kubelet_client).await?;
            kubelet::Kubelet::start(
                client,
                opts.nodes,
                &pki.kubelet_serving.cert_pem,
                &pki.kubelet_serving.key_pem,
            )
            .await
        })?;
        let nodes = kubelet.nodes.clone();
        let admin = pki.admin_client_parts();
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            cp.check_alive()?;
            let ready = rt.block_on(async {
                let client = client::for_cert_async(&url, &admin.0, &admin.1).await?;
                anyhow::Ok(cluster_ready(&client, &nodes).await)
            })?;
            if ready {
                break;
            }
            if Instant::now() > deadline {
                bail!(
                    "the test bed's nodes did not become schedulable, or the controllers did not create \
                     the default service account, within 120 s; logs in {}",
                    dir.display()
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        Ok(Testbed {
            minor,
            kubeconfig: cp.admin_kubeconfig.clone(),
            audit_log: cp.audit_log.clone(),
            dir,
            nodes,
            startup: started.elapsed(),
            kubelet: Some(kubelet),
            rt,
            cp: Mutex::new(cp),
        })
    }

    /// The test bed of `k8s` for this process, started on first use (one control plane per test
    /// binary and version); it lives until the process exits.
    pub fn shared(k8s: &str) -> &'static Testbed {
        static ALL: OnceLock<Mutex<HashMap<&'static str, &'static Testbed>>> = OnceLock::new();
        let minor = controlplane::minor(k8s).unwrap_or_else(|e| panic!("{e:#}"));
        let mut all = ALL
            .get_or_init(Mutex::default)
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(tb) = all.get(minor) {
            return tb;
        }
        let tb = Testbed::start(Options {
            k8s: minor.into(),
            nodes: 3,
        })
        .unwrap_or_else(|e| panic!("start the Kubernetes {minor} test bed: {e:#}"));
        let tb: &'static Testbed = Box::leak(Box::new(tb));
        all.insert(minor, tb);
        tb
    }

    /// The admin kubeconfig (user `kubernetes-admin`, group `system:masters`, namespace `default`).
    pub fn kubeconfig_path(&self) -> &Path {
        &self.kubeconfig
    }

    /// The apiserver's audit log (JSON lines, level Metadata, one line per finished request).
    pub fn audit_log_path(&self) -> &Path {
        &self.audit_log
    }

    /// The Kubernetes minor (`"1.37"`).
    pub fn minor(&self) -> &str {
        self.minor
    }

    pub fn nodes(&self) -> &[String] {
        &self.nodes
    }

    /// The folder with the PKI, kubeconfigs, etcd data and every process's log.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// How long the start took (after the binaries were built).
    pub fn startup_time(&self) -> Duration {
        self.startup
    }

    /// Resident memory of each process (KiB), this process included (the simulated kubelet).
    pub fn memory_kib(&self) -> Vec<(String, u64)> {
        let cp = self.cp.lock().unwrap();
        let mut out: Vec<(String, u64)> = cp
            .procs
            .iter()
            .map(|p| (p.name.clone(), p.rss_kib()))
            .collect();
        let own = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let kib = own
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0);
        out.push(("testbed (kubelet)".into(), kib));
        out
    }

    /// Run `f` with an admin client on the test bed's runtime.
    pub fn block_on<F, T>(&self, f: impl FnOnce(kube::Client) -> F) -> anyhow::Result<T>
    where
        F: std::future::Future<Output = anyhow::Result<T>>,
    {
        let path = self.kubeconfig.clone();
        self.rt.block_on(async move {
            let kc = kube::config::Kubeconfig::read_from(&path)?;
            let config = kube::Config::from_custom_kubeconfig(
                kc,
                &kube::config::KubeConfigOptions::default(),
            )
            .await?;
            f(kube::Client::try_from(config)?).await
        })
    }

    /// Stop (`false`: SIGSTOP) or resume (`true`: SIGCONT) the kube-apiserver process: a hung API
    /// server, whose connections are accepted by the kernel and never answered. It affects every
    /// namespace: the e2e runner runs such scenarios alone.
    pub fn set_apiserver_running(&self, running: bool) -> anyhow::Result<()> {
        let mut cp = self.cp.lock().unwrap_or_else(|e| e.into_inner());
        cp.procs
            .iter_mut()
            .find(|p| p.name == "kube-apiserver")
            .context("no kube-apiserver process")?
            .set_running(running)
    }

    /// Node-pressure eviction of a running pod, as the kubelet's eviction manager does it
    /// (pkg/kubelet/eviction/helpers.go messages): phase Failed, reason `Evicted`, an `Evicted`
    /// event, containers killed; the pod object stays and its controller replaces it.
    pub fn evict_for_node_pressure(
        &self,
        ns: &str,
        pod: &str,
        resource: &str,
    ) -> anyhow::Result<()> {
        let container = self.block_on(|client| {
            let (ns, pod) = (ns.to_string(), pod.to_string());
            async move {
                let p = Api::<k8s_openapi::api::core::v1::Pod>::namespaced(client, &ns)
                    .get(&pod)
                    .await?;
                Ok(p.spec
                    .and_then(|s| s.containers.first().map(|c| c.name.clone()))
                    .unwrap_or_default())
            }
        })?;
        let message = format!(
            "The node was low on resource: {resource}. Threshold quantity: 100Mi, available: 51200Ki. \
             Container {container} was using 300Mi, request is 0, has larger consumption of {resource}. "
        );
        self.fail_pod(ns, pod, "Evicted", &message)
    }

    /// Graceful node shutdown of a running pod: phase Failed, reason `Terminated`, "Pod was
    /// terminated in response to imminent node shutdown." (the node itself stays Ready here).
    pub fn terminate_for_node_shutdown(&self, ns: &str, pod: &str) -> anyhow::Result<()> {
        self.fail_pod(
            ns,
            pod,
            "Terminated",
            "Pod was terminated in response to imminent node shutdown.",
        )
    }

    fn fail_pod(&self, ns: &str, pod: &str, reason: &str, message: &str) -> anyhow::Result<()> {
        let kubelet = self.kubelet.as_ref().context("the kubelet is stopped")?;
        if !kubelet.fail_pod(ns, pod, reason, message) {
            bail!("pod {ns}/{pod} does not run on a node of the test bed");
        }
        Ok(())
    }

    /// Create namespace `name` and wait until its `default` service account exists (pods are
    /// refused before that). Returns the name.
    pub fn namespace(&self, name: &str) -> anyhow::Result<String> {
        let name = name.to_string();
        self.block_on(|client| async move {
            let api: Api<Namespace> = Api::all(client.clone());
            let ns: Namespace = serde_json::from_value(serde_json::json!({
                "metadata": {"name": name, "labels": {"testbed": "e2e"}}
            }))?;
            match api.create(&PostParams::default(), &ns).await {
                Ok(_) => {}
                Err(kube::Error::Api(e)) if e.code == 409 => {}
                Err(e) => return Err(e).context(format!("create namespace {name}")),
            }
            let sas: Api<ServiceAccount> = Api::namespaced(client, &name);
            let deadline = Instant::now() + Duration::from_secs(60);
            while sas.get_opt("default").await?.is_none() {
                if Instant::now() > deadline {
                    bail!("namespace {name}: no default service account after 60 s");
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Ok(name)
        })
    }
}

impl pki::Pki {
    fn admin_client_parts(&self) -> (String, pki::CertPair) {
        (
            self.ca.cert_pem.clone(),
            pki::CertPair {
                cert_pem: self.admin.cert_pem.clone(),
                key_pem: self.admin.key_pem.clone(),
                cert: self.admin.cert.clone(),
                key: self.admin.key.clone(),
            },
        )
    }
}

/// Every node Ready without the not-ready taint, and the `default` service account created.
async fn cluster_ready(client: &kube::Client, nodes: &[String]) -> bool {
    let api: Api<Node> = Api::all(client.clone());
    for n in nodes {
        let Ok(node) = api.get(n).await else {
            return false;
        };
        let ready = node
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
        let tainted = node
            .spec
            .as_ref()
            .and_then(|s| s.taints.as_ref())
            .is_some_and(|t| t.iter().any(|t| t.key.starts_with("node.kubernetes.io/")));
        if !ready || tainted {
            return false;
        }
    }
    let sas: Api<ServiceAccount> = Api::namespaced(client.clone(), "default");
    matches!(sas.get_opt("default").await, Ok(Some(_)))
}

impl Drop for Testbed {
    fn drop(&mut self) {
        if let Some(k) = self.kubelet.take() {
            let _guard = self.rt.enter();
            drop(k);
        }
        if let Ok(mut cp) = self.cp.lock() {
            for mut p in cp.procs.drain(..).rev() {
                p.stop(Duration::from_secs(5));
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
