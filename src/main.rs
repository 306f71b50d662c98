//! The `plinth` binary: parse → ops → render → exit code.

use clap::Parser;

fn main() {
    let cli = plinth::cli::Cli::parse();
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
