//! `testbed --k8s 1.37 [--nodes 3] [-v]`: starts a real control plane with simulated nodes on
//! 127.0.0.1, prints the admin kubeconfig's path as the first line of stdout, serves until SIGINT
//! or SIGTERM, then stops every process and removes its folder.

use clap::Parser;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "testbed",
    about = "A real Kubernetes control plane with simulated nodes, on 127.0.0.1"
)]
struct Args {
    /// Kubernetes minor to run (the folders tests/go/k8s-*)
    #[arg(long, default_value = "1.37", value_parser = ["1.35", "1.37"])]
    k8s: String,
    /// Number of simulated nodes (node-1 … node-N)
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..=50))]
    nodes: u16,
    /// Print start-up time, memory and where the logs are (stderr)
    #[arg(short, long)]
    verbose: bool,
}

fn main() -> ExitCode {
    let a = Args::parse();
    let tb = match testbed::Testbed::start(testbed::Options {
        k8s: a.k8s.clone(),
        nodes: a.nodes.into(),
    }) {
        Ok(tb) => tb,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::from(1);
        }
    };
    println!("{}", tb.kubeconfig_path().display());
    if a.verbose {
        eprintln!(
            "testbed: Kubernetes {} with {} nodes started in {:.1?}; logs in {}",
            tb.minor(),
            tb.nodes().len(),
            tb.startup_time(),
            tb.dir().display()
        );
        let mem = tb.memory_kib();
        let total: u64 = mem.iter().map(|(_, k)| k).sum();
        for (name, kib) in &mem {
            eprintln!("testbed:   {name:<24} {:>6} MiB", kib / 1024);
        }
        eprintln!("testbed:   {:<24} {:>6} MiB", "total", total / 1024);
        eprintln!(
            "testbed: pods listen on 127.{b}.X.Y for their podIP 10.244.X.Y (curl them there)",
            b = tb.pod_loopback_block()
        );
    }
    eprintln!("testbed: serving (Ctrl-C or SIGTERM to stop)");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    rt.block_on(async {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    });
    eprintln!("testbed: stopping");
    drop(tb);
    ExitCode::SUCCESS
}
