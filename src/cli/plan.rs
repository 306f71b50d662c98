//! `plinth plan` and `plinth drift`.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::{StackArgs, EXIT_CHANGES, EXIT_DRIFT, EXIT_ERROR, EXIT_OK, EXIT_POLICY};
use crate::ops::planfile::{self, PlanFile};
use crate::ops::Workspace;
use crate::plan::{Plan, PlanOptions};
use crate::render::{
    render_plan, render_plan_json, render_plan_markdown, MarkdownOptions, Style, DEFAULT_MAX_CHARS,
};

/// Output formats of a plan.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Format {
    /// For people (Terraform-like).
    Text,
    /// The versioned plan JSON (`docs/plan.schema.json`).
    Json,
    /// A pull-request comment that fits `--max-chars`.
    Markdown,
    /// `terraform show -json`'s document (format 1.2), for checkov, conftest and other tools
    /// of the Terraform ecosystem; secrets left out.
    TerraformJson,
}

/// How a plan is printed (shared by `plan`, `drift` and `show PLANFILE`).
#[derive(Debug, Args, Clone)]
pub struct PlanFormatArgs {
    /// Output format: `text`, `json` (versioned, see docs/plan.schema.json), `markdown`
    /// (a pull-request comment) or `terraform-json` (`terraform show -json`'s document).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Markdown only: the most characters (Unicode characters, as GitHub counts) the comment
    /// may have. It is shortened deterministically to fit — attribute details first, then
    /// list lines — and says what it left out. Limits: GitHub 65,536 (the default);
    /// Bitbucket 32,768; Azure DevOps 150,000; GitLab 1,000,000. At least 1,000.
    #[arg(
        long,
        value_name = "N",
        default_value_t = DEFAULT_MAX_CHARS as u64,
        value_parser = clap::value_parser!(u64).range(1000..)
    )]
    pub max_chars: u64,
    /// Markdown only: where the full plan is, named when the comment is shortened (a URL, or
    /// words such as "in the artifact `plan.json` of this run"). Default: the workflow
    /// artifact `plan.json`.
    #[arg(long, value_name = "URL")]
    pub full_plan_url: Option<String>,
}

impl PlanFormatArgs {
    /// The plan in the chosen format.
    pub fn render(&self, plan: &Plan) -> String {
        match self.format {
            Format::Text => render_plan(plan, Style::detect()),
            Format::Json => render_plan_json(plan),
            Format::TerraformJson => crate::render::render_terraform_json(plan),
            Format::Markdown => {
                let options = MarkdownOptions {
                    max_chars: usize::try_from(self.max_chars).unwrap_or(usize::MAX),
                    full_plan: self.full_plan_url.clone(),
                };
                render_plan_markdown(plan, &options).text
            }
        }
    }
}

/// Arguments of `plinth plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub stack: StackArgs,
    /// Exit 2 when there are changes, 3 when only drift, 0 when none (1 is an error).
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
    /// Only report changes made outside Plinth (see also `plinth drift`).
    #[arg(long)]
    pub refresh_only: bool,
    /// Read live resources before diffing (`--refresh=false` to skip).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    pub refresh: bool,
    /// Accepted for symmetry with apply; planning reads in parallel per resource type.
    #[arg(long, default_value_t = crate::DEFAULT_PARALLELISM)]
    pub parallelism: usize,
    /// Save the plan for `plinth apply FILE` (mode 0600, no secret values; applies once, and
    /// only to the state it was made against).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub output: PlanFormatArgs,
}

/// Arguments of `plinth drift`.
#[derive(Debug, Args)]
pub struct DriftArgs {
    #[command(flatten)]
    pub stack: StackArgs,
    #[command(flatten)]
    pub output: PlanFormatArgs,
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
    let (plan, state) = crate::ops::plan(&workspace, &plan_options).await?;
    print!("{}", args.output.render(&plan));
    if let Some(out) = &args.out {
        let file = PlanFile::new(
            args.stack.stack.clone(),
            &options.load,
            plan.clone(),
            state.as_ref(),
        );
        planfile::write(out, &file)?;
        if args.output.format == Format::Text {
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
    if plan.policy_denied() {
        if args.output.format == Format::Text {
            eprintln!("{}", crate::render::policy_refusal(&plan, "plan"));
        }
        return Ok(EXIT_POLICY);
    }
    if !args.detailed_exitcode {
        return Ok(EXIT_OK);
    }
    Ok(exit_code(&plan))
}

/// `plinth drift`: a refresh-only plan with detailed exit codes (0 none, 3 drift, 1 error).
pub async fn run_drift(args: DriftArgs) -> miette::Result<i32> {
    let options = args.stack.open_options()?;
    let workspace = Workspace::open(&args.stack.stack, &options)?;
    let plan_options = PlanOptions {
        refresh_only: true,
        ..PlanOptions::default()
    };
    let (plan, _) = crate::ops::plan(&workspace, &plan_options).await?;
    print!("{}", args.output.render(&plan));
    Ok(exit_code(&plan))
}

fn exit_code(plan: &Plan) -> i32 {
    match crate::ops::detailed_exit_code(plan) {
        2 => EXIT_CHANGES,
        3 => EXIT_DRIFT,
        _ => EXIT_OK,
    }
}
