use clap::Parser;

/// Simulated Kubernetes API server (for kubectl-graceful's tests).
#[derive(Parser)]
#[command(name = "kubesim")]
struct Args {
    /// Scenario YAML files (multi-document or List)
    #[arg(long, num_args = 1..)]
    scenario: Vec<std::path::PathBuf>,
    /// Sim seconds per real second
    #[arg(long, default_value_t = 10.0)]
    time_scale: f64,
    /// Version served at /version
    #[arg(long, default_value = "v1.33.2")]
    server_version: String,
    /// Port (default: any free port)
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Number of simulated nodes
    #[arg(long)]
    nodes: Option<usize>,
    /// Serve the admin endpoint (faults, request log) on this port of 127.0.0.1 (0: any free
    /// port); its URL is printed as the second line of stdout
    #[arg(long)]
    admin_port: Option<u16>,
}

fn main() -> anyhow::Result<()> {
    let a = Args::parse();
    let mut yamls = Vec::new();
    for f in &a.scenario {
        yamls
            .push(std::fs::read_to_string(f).map_err(|e| anyhow::anyhow!("{}: {e}", f.display()))?);
    }
    let opts = kubesim::SimOptions {
        time_scale: a.time_scale,
        server_version: a.server_version,
        scenario_yaml: yamls,
        nodes: a.nodes,
    };
    let sim = kubesim::Sim::start_on_port(opts, a.port)?;
    println!("{}", sim.kubeconfig_path().display());
    if let Some(port) = a.admin_port {
        let url = sim.serve_admin(port)?;
        println!("{url}");
        eprintln!("kubesim admin endpoint at {url}");
    }
    eprintln!("kubesim serving at {} (Ctrl-C to stop)", sim.url());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        // Ctrl-C or SIGTERM: stop and remove the temp dir
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = async {
                match term.as_mut() {
                    Some(t) => { t.recv().await; }
                    None => std::future::pending::<()>().await,
                }
            } => {}
        }
    });
    drop(sim);
    Ok(())
}
