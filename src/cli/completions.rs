//! `plinth completions SHELL` and `plinth man`: generated from the clap definition, so they
//! never drift from the real arguments.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, CommandFactory};
use clap_complete::Shell;

use super::{Cli, EXIT_OK};

/// Arguments of `plinth completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell: `bash`, `zsh`, `fish`, `elvish` or `powershell`.
    #[arg(value_enum)]
    shell: Shell,
}

/// Prints the completion script for the shell, e.g. `plinth completions bash >
/// ~/.local/share/bash-completion/completions/plinth`.
pub fn run(args: CompletionsArgs) -> miette::Result<i32> {
    let mut command = Cli::command();
    // Into memory first: clap_complete panics when its writer fails (`| head`).
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "plinth", &mut script);
    write_stdout(&script, "the completion script")?;
    Ok(EXIT_OK)
}

/// Writes to standard output; a reader that went away (`| head`) ends Plinth with 141, as
/// SIGPIPE would, not with an error.
fn write_stdout(bytes: &[u8], what: &str) -> miette::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            std::process::exit(super::panic::EXIT_CLOSED_PIPE)
        }
        Err(e) => Err(miette::miette!("writing {what}: {e}")),
    }
}

/// Arguments of `plinth man`.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write one page per command into this directory (`plinth.1`, `plinth-plan.1`,
    /// `plinth-state-rm.1`, ...) instead of printing `plinth.1`.
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
}

/// Prints the man page (roff), e.g. `plinth man > /usr/local/share/man/man1/plinth.1`, or
/// writes every page with `--dir`.
pub fn run_man(args: ManArgs) -> miette::Result<i32> {
    let fail = |e: std::io::Error| miette::miette!("writing the man pages: {e}");
    match args.dir {
        Some(dir) => {
            std::fs::create_dir_all(&dir).map_err(fail)?;
            clap_mangen::generate_to(Cli::command(), &dir).map_err(fail)?;
            eprintln!("Wrote the man pages to {}.", dir.display());
        }
        None => {
            let mut page = Vec::new();
            clap_mangen::Man::new(Cli::command())
                .render(&mut page)
                .map_err(fail)?;
            write_stdout(&page, "the man page")?;
        }
    }
    Ok(EXIT_OK)
}
