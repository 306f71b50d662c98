//! `plinth force-unlock`.

use clap::Args;

use super::{StackArgs, EXIT_OK};
use crate::ops::Workspace;

/// Arguments of `plinth force-unlock`.
#[derive(Debug, Args)]
pub struct ForceUnlockArgs {
    /// The lock id (shown in the "is locked" error).
    id: String,
    #[command(flatten)]
    stack: StackArgs,
}

/// Removes the lock.
pub async fn run(args: ForceUnlockArgs) -> miette::Result<i32> {
    let workspace = Workspace::open(&args.stack.stack, &args.stack.open_options()?)?;
    eprint!(
        "{}",
        crate::ops::inspect::force_unlock(&workspace, &args.id).await?
    );
    Ok(EXIT_OK)
}
