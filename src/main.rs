use clap::Parser;

fn main() {
    // A bug must never show a raw panic: one line, the documented error code.
    std::panic::set_hook(Box::new(|info| {
        eprintln!(
            "error: internal error: {info}\n  please report this at https://github.com/kubectl-graceful/kubectl-graceful/issues"
        );
        std::process::exit(2);
    }));
    let cli = kubectl_graceful::cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            std::process::exit(2);
        }
    };
    let exit = runtime.block_on(kubectl_graceful::run(cli));
    std::process::exit(exit.code());
}
