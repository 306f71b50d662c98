//! `plinth show` and `plinth output`.

use clap::Args;
use miette::IntoDiagnostic;

use super::{StackArgs, EXIT_OK};
use crate::ops::Workspace;

/// Arguments of `plinth show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    #[command(flatten)]
    stack: StackArgs,
    /// Show only this resource.
    #[arg(long)]
    address: Option<String>,
}

/// Prints the state.
pub async fn run(args: ShowArgs) -> miette::Result<i32> {
    let workspace = Workspace::open(&args.stack.stack, &args.stack.open_options()?)?;
    let state = workspace.store.load().await.into_diagnostic()?;
    print!(
        "{}",
        crate::ops::inspect::show_state(state.as_ref(), args.address.as_deref())?
    );
    Ok(EXIT_OK)
}

/// Arguments of `plinth output`.
#[derive(Debug, Args)]
pub struct OutputArgs {
    #[command(flatten)]
    stack: StackArgs,
    /// One output by name (printed raw).
    #[arg(long)]
    name: Option<String>,
    /// JSON (sensitive outputs masked).
    #[arg(long)]
    json: bool,
}

/// Prints outputs.
pub async fn run_output(args: OutputArgs) -> miette::Result<i32> {
    let workspace = Workspace::open(&args.stack.stack, &args.stack.open_options()?)?;
    let state = workspace.store.load().await.into_diagnostic()?;
    print!(
        "{}",
        crate::ops::inspect::outputs(state.as_ref(), args.name.as_deref(), args.json)?
    );
    Ok(EXIT_OK)
}
