//! `plinth graph`.

use clap::Args;

use super::{StackArgs, EXIT_OK};
use crate::ops::Workspace;

/// Arguments of `plinth graph`.
#[derive(Debug, Args)]
pub struct GraphArgs {
    #[command(flatten)]
    stack: StackArgs,
}

/// Prints the dependency graph as DOT.
pub fn run(args: GraphArgs) -> miette::Result<i32> {
    let workspace = Workspace::open(&args.stack.stack, &args.stack.open_options()?)?;
    print!("{}", workspace.graph.to_dot());
    Ok(EXIT_OK)
}
