//! `plinth plan`.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use miette::IntoDiagnostic;

use super::{StackArgs, EXIT_CHANGES, EXIT_DRIFT, EXIT_ERROR, EXIT_OK};
use crate::ops::planfile::{self, PlanFile, PLAN_FILE_KIND};
use crate::ops::Workspace;
use crate::plan::PlanOptions;
use crate::render::{render_plan, Style};

/// Output formats of a plan.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Format {
    /// For people (Terraform-like).
    Text,
    /// The versioned plan JSON.
    Json,
}

/// Arguments of `plinth plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub stack: StackArgs,
    /// Exit 2 when there are changes, 3 when only drift, 0 when none.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Plan only these resources (and what they depend on). Repeatable.
    #[arg(long = "target", value_name = "ADDRESS")]
    pub targets: Vec<String>,
    /// Force these resources to be replaced. Repeatable.
    #[arg(long = "replace", value_name = "ADDRESS")]
    pub replace: Vec<String>,
    /// Plan the destruction of everything in state.
    #[arg(long)]
    pub destroy: bool,
    /// Only report changes made outside Plinth.
    #[arg(long)]
    pub refresh_only: bool,
    /// Read live resources before diffing (`--refresh=false` to skip).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    pub refresh: bool,
    /// Accepted for symmetry with apply; planning reads in parallel per resource type.
    #[arg(long, default_value_t = crate::DEFAULT_PARALLELISM)]
    pub parallelism: usize,
    /// Save the plan for `plinth apply FILE`.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// Makes and prints the plan.
pub async fn run(args: PlanArgs) -> miette::Result<i32> {
    let options = args.stack.open_options()?;
    let workspace = Workspace::open(&args.stack.stack, &options)?;
    let plan_options = PlanOptions {
        skip_refresh: !args.refresh,
        destroy: args.destroy,
        refresh_only: args.refresh_only,
        targets: args.targets.clone(),
        replace: args.replace.clone(),
    };
    let (plan, _) = crate::ops::plan(&workspace, &plan_options).await?;
    match args.format {
        Format::Text => print!("{}", render_plan(&plan, Style::detect())),
        Format::Json => println!("{}", serde_json::to_string_pretty(&plan).into_diagnostic()?),
    }
    if let Some(out) = &args.out {
        let file = PlanFile {
            kind: PLAN_FILE_KIND.to_string(),
            stack_dir: args.stack.stack.clone(),
            vars: options.load.vars.clone(),
            var_files: options.load.var_files.clone(),
            plan: plan.clone(),
        };
        planfile::write(out, &file)?;
        if args.format == Format::Text {
            println!(
                "\nSaved the plan to {}. Apply exactly this plan with `plinth apply {}`.",
                out.display(),
                out.display()
            );
        }
    }
    if plan.has_blocked() {
        return Ok(EXIT_ERROR);
    }
    if !args.detailed_exitcode {
        return Ok(EXIT_OK);
    }
    Ok(match crate::ops::detailed_exit_code(&plan) {
        2 => EXIT_CHANGES,
        3 => EXIT_DRIFT,
        _ => EXIT_OK,
    })
}
