//! `plinth force-unlock`.

use clap::Args;

use super::{StackArgs, EXIT_ERROR, EXIT_OK};
use crate::ops::Workspace;

/// Arguments of `plinth force-unlock`.
#[derive(Debug, Args)]
pub struct ForceUnlockArgs {
    /// The lock id (shown in the "is locked" error).
    id: String,
    #[command(flatten)]
    stack: StackArgs,
    /// Remove the lock without asking (required when stdin is not a terminal).
    #[arg(long, short = 'f')]
    force: bool,
}

/// Asks for confirmation (unless `--force`), then removes the lock.
pub async fn run(args: ForceUnlockArgs) -> miette::Result<i32> {
    let workspace = Workspace::open(&args.stack.stack, &args.stack.open_options()?)?;
    if !args.force
        && !super::prompt::confirm(
            &format!("Do you really want to force-unlock lock `{}`?", args.id),
            "Plinth will remove the lock on the state. If the process holding it is still \
             running, two processes may then write the state at once.",
            "remove the lock",
            "run again with `--force` when you are sure",
        )?
    {
        println!("Force-unlock cancelled.");
        return Ok(EXIT_ERROR);
    }
    eprint!(
        "{}",
        crate::ops::inspect::force_unlock(&workspace, &args.id).await?
    );
    Ok(EXIT_OK)
}
