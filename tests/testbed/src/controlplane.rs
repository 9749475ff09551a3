//! The real control plane: etcd, kube-apiserver, kube-controller-manager and kube-scheduler, built
//! from the pinned Go modules under `tests/go` (see the `gotools` crate) and run on 127.0.0.1 with
//! upstream defaults, except what a single-machine test bed needs (no leader election, loopback
//! addresses, an audit log, faster API client limits).

use crate::pki::{kubeconfig, Pki};
use crate::procs::{free_port, Proc};
use anyhow::{bail, Context};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub const K8S_COMMANDS: &[&str] = &[
    "k8s.io/kubernetes/cmd/kube-apiserver",
    "k8s.io/kubernetes/cmd/kube-controller-manager",
    "k8s.io/kubernetes/cmd/kube-scheduler",
];
pub const ETCD_MODULE: &str = "etcd-3.6";
pub const ETCD_PACKAGE: &str = "go.etcd.io/etcd/server/v3";

/// The Kubernetes minors the test bed can run: one folder `tests/go/k8s-<minor>` each.
pub const VERSIONS: &[&str] = &["1.35", "1.37"];

/// `"1.37"`, `"v1.37"` or `"1.37.2"` → the minor `"1.37"`, when it is one of [`VERSIONS`].
pub fn minor(version: &str) -> anyhow::Result<&'static str> {
    let v = version.trim().trim_start_matches('v');
    let mut parts = v.split('.');
    let mm = match (parts.next(), parts.next()) {
        (Some(a), Some(b)) => format!("{a}.{b}"),
        _ => String::new(),
    };
    VERSIONS
        .iter()
        .copied()
        .find(|&known| known == mm)
        .with_context(|| {
            format!(
                "unknown Kubernetes version {version:?}: the test bed runs {} (folders tests/go/k8s-*)",
                VERSIONS.join(", ")
            )
        })
}

/// Folders holding the built binaries (built now if the cache under target/go lacks them).
pub struct Binaries {
    pub k8s: PathBuf,
    pub etcd: PathBuf,
}

impl Binaries {
    pub fn build(minor: &str) -> anyhow::Result<Binaries> {
        let k8s =
            gotools::build(&format!("k8s-{minor}"), K8S_COMMANDS).map_err(anyhow::Error::msg)?;
        let etcd = gotools::build(ETCD_MODULE, &[ETCD_PACKAGE]).map_err(anyhow::Error::msg)?;
        Ok(Binaries { k8s, etcd })
    }
}

/// What the started control plane exposes to the rest of the test bed.
pub struct ControlPlane {
    pub url: String,
    pub admin_kubeconfig: PathBuf,
    pub audit_log: PathBuf,
    /// In start order; dropped (stopped) in reverse.
    pub procs: Vec<Proc>,
}

const AUDIT_POLICY: &str = "\
apiVersion: audit.k8s.io/v1
kind: Policy
# Every request at Metadata level (verb, user, user agent, object, URI with dryRun), once, when
# its response is complete: enough to prove which writes a command sent.
omitStages: [RequestReceived]
rules:
- level: Metadata
";

impl ControlPlane {
    /// `egress` is the apiserver's egress selector configuration (how it reaches pods and kubelets,
    /// see `kubelet::network`).
    pub fn start(
        dir: &Path,
        bins: &Binaries,
        pki: &Pki,
        egress: &Path,
    ) -> anyhow::Result<ControlPlane> {
        let mut procs = Vec::new();
        let arg = |k: &str, v: &dyn std::fmt::Display| format!("--{k}={v}");
        let p = |path: &Path| path.display().to_string();

        // etcd: no fsync (a test bed's data lives for minutes), quiet logs.
        let (client_port, peer_port) = (free_port()?, free_port()?);
        let etcd_url = format!("http://127.0.0.1:{client_port}");
        let peer_url = format!("http://127.0.0.1:{peer_port}");
        let etcd = Proc::spawn(
            "etcd",
            &bins.etcd.join(gotools::binary_name(ETCD_PACKAGE)),
            &[
                arg("name", &"testbed"),
                arg("data-dir", &p(&dir.join("etcd"))),
                arg("listen-client-urls", &etcd_url),
                arg("advertise-client-urls", &etcd_url),
                arg("listen-peer-urls", &peer_url),
                arg("initial-advertise-peer-urls", &peer_url),
                arg("initial-cluster", &format!("testbed={peer_url}")),
                arg("unsafe-no-fsync", &true),
                arg("log-level", &"warn"),
            ],
            dir.join("etcd.log"),
        )?;
        procs.push(etcd);
        wait_for(&mut procs, Duration::from_secs(30), "etcd /health", || {
            http_get_plain(client_port, "/health")
                .is_some_and(|b| b.contains("\"health\":\"true\""))
        })?;

        let audit_policy = dir.join("audit-policy.yaml");
        std::fs::write(&audit_policy, AUDIT_POLICY)?;
        let audit_log = dir.join("audit.log");
        let port = free_port()?;
        let url = format!("https://127.0.0.1:{port}");
        let k8s = |name: &str| bins.k8s.join(name);
        let apiserver = Proc::spawn(
            "kube-apiserver",
            &k8s("kube-apiserver"),
            &[
                arg("etcd-servers", &etcd_url),
                arg("bind-address", &"127.0.0.1"),
                arg("advertise-address", &"127.0.0.1"),
                // The `kubernetes` Service's endpoints may not be a loopback address; no pod here
                // calls the apiserver through it, so it has none.
                arg("endpoint-reconciler-type", &"none"),
                arg("secure-port", &port),
                arg("cert-dir", &p(&dir.join("apiserver-certs"))),
                arg("tls-cert-file", &p(&pki.apiserver.cert)),
                arg("tls-private-key-file", &p(&pki.apiserver.key)),
                arg("client-ca-file", &p(&pki.ca.cert)),
                arg(
                    "service-account-issuer",
                    &"https://kubernetes.default.svc.cluster.local",
                ),
                arg("service-account-key-file", &p(&pki.sa_pub)),
                arg("service-account-signing-key-file", &p(&pki.sa_key)),
                arg("service-cluster-ip-range", &"10.0.0.0/24"),
                // Upstream's (and kubeadm's) authorization; admission stays at the defaults.
                arg("authorization-mode", &"Node,RBAC"),
                arg("allow-privileged", &true),
                arg(
                    "kubelet-client-certificate",
                    &p(&pki.apiserver_kubelet_client.cert),
                ),
                arg("kubelet-client-key", &p(&pki.apiserver_kubelet_client.key)),
                arg("kubelet-certificate-authority", &p(&pki.ca.cert)),
                arg("kubelet-preferred-address-types", &"InternalIP"),
                arg("egress-selector-config-file", &p(egress)),
                arg("audit-policy-file", &p(&audit_policy)),
                arg("audit-log-path", &p(&audit_log)),
                arg("profiling", &false),
                arg("v", &1),
            ],
            dir.join("kube-apiserver.log"),
        )?;
        procs.push(apiserver);

        let write_kubeconfig = |name: &str, user: &str, pair| -> anyhow::Result<PathBuf> {
            let path = dir.join(format!("{name}.kubeconfig"));
            std::fs::write(&path, kubeconfig(&url, &pki.ca, user, pair))?;
            Ok(path)
        };
        let admin_kubeconfig = write_kubeconfig("admin", "kubernetes-admin", &pki.admin)?;
        let cm_kubeconfig = write_kubeconfig(
            "controller-manager",
            "system:kube-controller-manager",
            &pki.controller_manager,
        )?;
        let sched_kubeconfig =
            write_kubeconfig("scheduler", "system:kube-scheduler", &pki.scheduler)?;

        wait_for(
            &mut procs,
            Duration::from_secs(90),
            "kube-apiserver /readyz",
            || https_get_ok(port, "/readyz", pki),
        )?;

        // What the controller-manager and the scheduler both take: one kubeconfig for the API and
        // for delegated authentication and authorization, a secure port on 127.0.0.1, no leader
        // election, -v=1.
        let component = |kubeconfig: &Path, port: u16| {
            let kubeconfig = p(kubeconfig);
            vec![
                arg("kubeconfig", &kubeconfig),
                arg("authentication-kubeconfig", &kubeconfig),
                arg("authorization-kubeconfig", &kubeconfig),
                arg("bind-address", &"127.0.0.1"),
                arg("secure-port", &port),
                arg("leader-elect", &false),
                arg("v", &1),
            ]
        };
        let cm_port = free_port()?;
        let cm = Proc::spawn(
            "kube-controller-manager",
            &k8s("kube-controller-manager"),
            &[
                component(&cm_kubeconfig, cm_port),
                vec![
                    arg("cert-dir", &p(&dir.join("controller-manager-certs"))),
                    // Each controller acts as its own service account, as kubeadm runs it.
                    arg("use-service-account-credentials", &true),
                    arg("service-account-private-key-file", &p(&pki.sa_key)),
                    arg("root-ca-file", &p(&pki.ca.cert)),
                    arg("cluster-signing-cert-file", &p(&pki.ca.cert)),
                    arg("cluster-signing-key-file", &p(&pki.ca.key)),
                    arg("kube-api-qps", &100),
                    arg("kube-api-burst", &200),
                ],
            ]
            .concat(),
            dir.join("kube-controller-manager.log"),
        )?;
        procs.push(cm);

        let sched_port = free_port()?;
        let sched = Proc::spawn(
            "kube-scheduler",
            &k8s("kube-scheduler"),
            &component(&sched_kubeconfig, sched_port),
            dir.join("kube-scheduler.log"),
        )?;
        procs.push(sched);

        Ok(ControlPlane {
            url,
            admin_kubeconfig,
            audit_log,
            procs,
        })
    }

    /// An error naming the first process that has exited, with the end of its log.
    pub fn check_alive(&mut self) -> anyhow::Result<()> {
        check_alive(&mut self.procs)
    }
}

impl Drop for ControlPlane {
    fn drop(&mut self) {
        // Stop in reverse order: the controllers first, etcd last.
        while let Some(mut p) = self.procs.pop() {
            p.stop(Duration::from_secs(5));
        }
    }
}

fn check_alive(procs: &mut [Proc]) -> anyhow::Result<()> {
    for p in procs.iter_mut() {
        if let Some(status) = p.exited() {
            bail!(
                "{} exited ({status}); the end of {}:\n{}",
                p.name,
                p.log.display(),
                p.log_tail(30)
            );
        }
    }
    Ok(())
}

/// Poll `ready` every 100 ms until it holds, a process dies, or `timeout` passes.
fn wait_for(
    procs: &mut [Proc],
    timeout: Duration,
    what: &str,
    mut ready: impl FnMut() -> bool,
) -> anyhow::Result<()> {
    let start = Instant::now();
    loop {
        check_alive(procs)?;
        if ready() {
            return Ok(());
        }
        if start.elapsed() > timeout {
            let last = procs.last().expect("a process");
            bail!(
                "{what} not ready after {timeout:?}; the end of {}:\n{}",
                last.log.display(),
                last.log_tail(30)
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A plain-HTTP GET on 127.0.0.1 (etcd's client port); the body, when the answer is 200.
fn http_get_plain(port: u16, path: &str) -> Option<String> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    out.starts_with("HTTP/1.0 200")
        .then(|| out.split("\r\n\r\n").nth(1).unwrap_or("").to_string())
}

/// An HTTPS GET with the admin certificate; `true` on 200.
fn https_get_ok(port: u16, path: &str, pki: &Pki) -> bool {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    rt.block_on(async {
        let Ok(client) = crate::client::for_cert_async(
            &format!("https://127.0.0.1:{port}"),
            &pki.ca.cert_pem,
            &pki.admin,
        )
        .await
        else {
            return false;
        };
        let req = http::Request::get(path).body(Vec::new()).expect("request");
        tokio::time::timeout(Duration::from_secs(3), client.request_text(req))
            .await
            .is_ok_and(|r| r.is_ok())
    })
}
