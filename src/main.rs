//! The `plinth` binary: parse → ops → render → exit code.

use std::panic::{catch_unwind, AssertUnwindSafe};

/// mimalloc: the engine allocates many small strings and maps (parsed stacks, state
/// records, attribute values); the system allocator spent ~40% of a large plan's
/// instructions in malloc/free.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    plinth::cli::panic::install_hook(plinth::cli::panic::command_summary(std::env::args()));
    // A panic has been reported by the hook: exit 1 like any other error, not 101.
    let code = catch_unwind(run).unwrap_or(plinth::cli::EXIT_ERROR);
    std::process::exit(code);
}

fn run() -> i32 {
    let cli = plinth::cli::parse_args();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return plinth::cli::EXIT_ERROR;
        }
    };
    let result = catch_unwind(AssertUnwindSafe(|| runtime.block_on(plinth::cli::run(cli))));
    // Dropping the runtime waits for nothing: tasks still running are cancelled.
    runtime.shutdown_background();
    match result {
        Ok(Ok(code)) => code,
        Ok(Err(report)) => {
            eprintln!("{}", plinth::render::render_error(report.as_ref()));
            plinth::cli::EXIT_ERROR
        }
        Err(_) => plinth::cli::EXIT_ERROR,
    }
}
