//! `plinth state list | show | mv | rm | pull | push | restore`: read and edit the recorded state.
//! Every subcommand takes the state lock; edits are written as the next serial.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::{StackArgs, EXIT_OK};
use crate::ops::Workspace;

/// Arguments of `plinth state`.
#[derive(Debug, Args)]
pub struct StateArgs {
    /// What to do.
    #[command(subcommand)]
    command: StateCommand,
}

/// `plinth state` subcommands.
#[derive(Debug, Subcommand)]
enum StateCommand {
    /// List the recorded resources: address, id (and status when not ready).
    List(ListArgs),
    /// Show one recorded resource with its attributes (sensitive ones as digests).
    Show(ShowArgs),
    /// Rename a resource in the state (after renaming its block), without touching the cloud.
    Mv(MoveArgs),
    /// Forget resources: they stay in the cloud, no longer managed.
    Rm(RemoveArgs),
    /// Print the state document as JSON (sensitive values are digests).
    Pull(ListArgs),
    /// Replace the stored state with a JSON file (e.g. an edited `state pull`).
    Push(PushArgs),
    /// Restore a kept backup (the newest by default): after a lost or unreadable state
    /// document. The local backend keeps the last 5 committed states under
    /// `.plinth/backups/`; the S3 and PostgreSQL backends keep none (use bucket versioning or
    /// database backups, then `state push`).
    Restore(RestoreArgs),
}

#[derive(Debug, Args)]
struct RestoreArgs {
    /// The backup to restore (a serial from `--list`); default: the newest.
    #[arg(long, value_name = "SERIAL")]
    serial: Option<String>,
    /// List the kept backups instead.
    #[arg(long)]
    list: bool,
    #[command(flatten)]
    stack: StackArgs,
}

#[derive(Debug, Args)]
struct ListArgs {
    #[command(flatten)]
    stack: StackArgs,
}

#[derive(Debug, Args)]
struct ShowArgs {
    /// The resource address, e.g. `sim_resource.web[0]`.
    address: String,
    #[command(flatten)]
    stack: StackArgs,
}

#[derive(Debug, Args)]
struct MoveArgs {
    /// The current address.
    from: String,
    /// The new address.
    to: String,
    #[command(flatten)]
    stack: StackArgs,
}

/// `state rm ADDRESS... [STACK]`: the addresses, then optionally the stack directory, like
/// every other command. The last argument is the stack when there are at least two and it
/// names an existing directory (a resource address never does); `--stack DIR` still works.
#[derive(Debug, Args)]
struct RemoveArgs {
    /// The addresses to forget (all must be in the state, or nothing is removed), then
    /// optionally the stack directory (default: `.`).
    #[arg(required = true, value_name = "ADDRESS... [STACK]")]
    arguments: Vec<String>,
    /// The stack directory (the same as a last positional directory; kept for scripts).
    #[arg(long = "stack", short = 'C', value_name = "DIR")]
    stack_dir: Option<PathBuf>,
    /// The environment (may be omitted when the stack has only one).
    #[arg(long, short = 'e', env = "PLINTH_ENV")]
    env: Option<String>,
    /// Set a variable: `--var NAME=VALUE`.
    #[arg(long = "var", value_name = "NAME=VALUE")]
    vars: Vec<String>,
    /// Read variables from a TOML file of `name = value` lines (later files win).
    #[arg(long = "var-file", value_name = "FILE")]
    var_files: Vec<PathBuf>,
    /// Where the local backend keeps state (default: `<stack>/.plinth`).
    #[arg(long, env = "PLINTH_STATE_DIR", value_name = "DIR")]
    state_dir: Option<PathBuf>,
}

impl RemoveArgs {
    /// The addresses and the stack directory.
    fn split(self) -> miette::Result<(Vec<String>, StackArgs)> {
        let mut addresses = self.arguments;
        let positional_stack = match addresses.last() {
            Some(last) if addresses.len() > 1 && std::path::Path::new(last).is_dir() => {
                addresses.pop().map(PathBuf::from)
            }
            _ => None,
        };
        let stack = match (positional_stack, self.stack_dir) {
            (Some(positional), Some(flag)) => {
                return Err(miette::miette!(
                    help = "give the stack once: `plinth state rm ADDRESS... STACK`",
                    "the stack is given twice: `{}` and `--stack {}`",
                    positional.display(),
                    flag.display()
                ))
            }
            (Some(dir), None) | (None, Some(dir)) => dir,
            (None, None) => PathBuf::from("."),
        };
        let stack = StackArgs {
            stack,
            env: self.env,
            vars: self.vars,
            var_files: self.var_files,
            state_dir: self.state_dir,
            max_resources: None,
            max_count: None,
            max_file_size: None,
            max_string_size: None,
            max_depth: None,
            max_expansion: None,
        };
        Ok((addresses, stack))
    }
}

#[derive(Debug, Args)]
struct PushArgs {
    /// The state file (JSON, as written by `state pull`).
    file: PathBuf,
    #[command(flatten)]
    stack: StackArgs,
    /// Write it even when its serial is not above the stored one (a different lineage is
    /// always refused).
    #[arg(long)]
    force: bool,
}

fn open(stack: &StackArgs) -> miette::Result<Workspace> {
    Workspace::open(&stack.stack, &stack.open_options()?)
}

/// Runs `plinth state ...`.
pub async fn run(args: StateArgs) -> miette::Result<i32> {
    use crate::ops::state;
    match args.command {
        StateCommand::List(args) => {
            let workspace = open(&args.stack)?;
            let document = state::read(&workspace, "state list").await?;
            print!("{}", state::list(document.as_ref()));
        }
        StateCommand::Show(args) => {
            let workspace = open(&args.stack)?;
            let document = state::read(&workspace, "state show").await?;
            print!(
                "{}",
                crate::ops::inspect::show_state(document.as_ref(), Some(&args.address))?
            );
        }
        StateCommand::Mv(args) => {
            let workspace = open(&args.stack)?;
            print!("{}", state::mv(&workspace, &args.from, &args.to).await?);
        }
        StateCommand::Rm(args) => {
            let (addresses, stack) = args.split()?;
            let workspace = open(&stack)?;
            print!("{}", state::rm(&workspace, &addresses).await?);
        }
        StateCommand::Pull(args) => {
            let workspace = open(&args.stack)?;
            let document = state::read(&workspace, "state pull").await?;
            print!("{}", state::pull(document.as_ref())?);
        }
        StateCommand::Restore(args) => {
            let workspace = open(&args.stack)?;
            if args.list {
                print!("{}", state::backups(&workspace).await?);
            } else {
                print!(
                    "{}",
                    state::restore(&workspace, args.serial.as_deref()).await?
                );
            }
        }
        StateCommand::Push(args) => {
            let workspace = open(&args.stack)?;
            print!(
                "{}",
                state::push_file(&workspace, &args.file, args.force).await?
            );
        }
    }
    Ok(EXIT_OK)
}
