//! The `plinth` binary: parse → ops → render → exit code.

use clap::Parser;

fn main() {
    let cli = plinth::cli::Cli::parse();
    // The AWS SDK and kube build on rustls with `ring`, the PostgreSQL backend with
    // `aws-lc-rs`: with both compiled in, rustls cannot pick a process default by itself and
    // panics on the first TLS client (a kubeconfig is enough). Choose one explicitly.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            std::process::exit(plinth::cli::EXIT_ERROR);
        }
    };
    let code = match runtime.block_on(plinth::cli::run(cli)) {
        Ok(code) => code,
        Err(report) => {
            eprintln!("{report:?}");
            plinth::cli::EXIT_ERROR
        }
    };
    std::process::exit(code);
}
