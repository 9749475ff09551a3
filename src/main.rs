use clap::Parser;

fn main() {
    // A bug must never show a raw panic: one line, the documented error code.
    std::panic::set_hook(Box::new(|info| {
        eprintln!(
            "error: internal error: {info}\n  please report this at https://github.com/kubectl-graceful/kubectl-graceful/issues"
        );
        std::process::exit(2);
    }));
    // `__complete WORDS…` (shell completion, also for kubectl): answered before clap and without the
    // async runtime, which it starts only for a lookup in the cluster.
    let mut args = std::env::args_os().skip(1);
    if args
        .next()
        .is_some_and(|a| a == kubectl_graceful::complete::COMPLETE_ARG)
    {
        let words: Vec<String> = args.map(|a| a.to_string_lossy().into_owned()).collect();
        std::process::exit(kubectl_graceful::complete::run_complete(&words));
    }
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
