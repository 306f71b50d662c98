//! `plinth validate`.

use clap::Args;

use super::{StackArgs, EXIT_OK};
use crate::ops::Workspace;

/// Arguments of `plinth validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    stack: StackArgs,
}

/// Loads and checks the stack; every problem is reported at once.
pub fn run(args: ValidateArgs) -> miette::Result<i32> {
    let workspace = Workspace::open(&args.stack.stack, &args.stack.open_options()?)?;
    println!("{}", crate::ops::inspect::validate_summary(&workspace));
    Ok(EXIT_OK)
}
