//! `plinth show` (state, or a saved plan file) and `plinth output`.

use clap::Args;
use miette::{miette, IntoDiagnostic};

use super::plan::{Format, PlanFormatArgs};
use super::{StackArgs, EXIT_OK};
use crate::ops::{planfile, Workspace};

/// Arguments of `plinth show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The stack directory, or a plan file saved by `plinth plan --out FILE`.
    #[command(flatten)]
    stack: StackArgs,
    /// Show only this resource (state only).
    #[arg(long)]
    address: Option<String>,
    /// A plan file in any format (`text`, `json`, `markdown`); the state only as text.
    #[command(flatten)]
    output: PlanFormatArgs,
}

/// Prints the state, or a saved plan.
pub async fn run(args: ShowArgs) -> miette::Result<i32> {
    if planfile::is_plan_file(&args.stack.stack) {
        if args.address.is_some() {
            return Err(miette!(
                help = "`plinth show PLANFILE --format json` lists every resource change",
                "--address selects a resource of the state, not of a plan file"
            ));
        }
        let file = planfile::read(&args.stack.stack)?;
        print!("{}", args.output.render(&file.plan));
        return Ok(EXIT_OK);
    }
    if args.output.format != Format::Text {
        return Err(miette!(
            help = "give a plan file (`plinth plan --out FILE`) to show it as JSON or Markdown",
            "the state is shown as text only"
        ));
    }
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
