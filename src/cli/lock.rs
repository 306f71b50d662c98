//! `plinth lock list`: who holds the state lock of an environment.

use clap::{Args, Subcommand};

use super::{StackArgs, EXIT_OK};
use crate::ops::Workspace;

/// Arguments of `plinth lock`.
#[derive(Debug, Args)]
pub struct LockArgs {
    /// What to do.
    #[command(subcommand)]
    command: LockCommand,
}

/// `plinth lock` subcommands.
#[derive(Debug, Subcommand)]
enum LockCommand {
    /// List the locks held on the state (holder, pid, operation, since, lease end, CI run).
    List(ListArgs),
}

/// Arguments of `plinth lock list`.
#[derive(Debug, Args)]
struct ListArgs {
    #[command(flatten)]
    stack: StackArgs,
}

/// Runs `plinth lock ...`.
pub async fn run(args: LockArgs) -> miette::Result<i32> {
    match args.command {
        LockCommand::List(args) => {
            let workspace = Workspace::open(&args.stack.stack, &args.stack.open_options()?)?;
            print!("{}", crate::ops::state::lock_list(&workspace).await?);
            Ok(EXIT_OK)
        }
    }
}
