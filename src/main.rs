//! The `plinth` binary: parse → ops → render → exit code.

/// mimalloc: the engine allocates many small strings and maps (parsed stacks, state
/// records, attribute values); the system allocator spent ~40% of a large plan's
/// instructions in malloc/free.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let cli = plinth::cli::parse_args();
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
