//! `plinth apply` and `plinth destroy`.

use std::sync::Arc;
use std::time::Duration;

use clap::Args;

use super::{parse_duration, StackArgs, EXIT_ERROR, EXIT_OK, EXIT_POLICY};
use crate::ops::{planfile, ApplyOptions, OpenOptions, Workspace};
use crate::plan::{Plan, PlanOptions};
use crate::render::{render_apply_summary, write_plan, Style, TerminalReporter};

/// Arguments of `plinth apply`.
#[derive(Debug, Args)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub stack: StackArgs,
    /// Skip the confirmation prompt (required when stdin is not a terminal).
    #[arg(long)]
    pub auto_approve: bool,
    /// Apply only these resources (and what they depend on). Repeatable.
    #[arg(long = "target", value_name = "ADDRESS")]
    pub targets: Vec<String>,
    /// Force these resources to be replaced. Repeatable.
    #[arg(long = "replace", value_name = "ADDRESS")]
    pub replace: Vec<String>,
    /// At most this many operations in flight (provider limits apply too).
    #[arg(long, default_value_t = crate::DEFAULT_PARALLELISM)]
    pub parallelism: usize,
    /// Wait this long for the state lock (e.g. `30s`, `5m`); default: fail at once.
    #[arg(long, value_parser = parse_duration, default_value = "0s")]
    pub lock_timeout: Duration,
    /// Read live resources before diffing (`--refresh=false` to skip).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    pub refresh: bool,
    /// With a saved plan: apply it even when resources it changes changed in the cloud since
    /// it was made (by default apply re-reads them and refuses).
    #[arg(long)]
    pub accept_drift: bool,
}

/// Arguments of `plinth destroy`.
#[derive(Debug, Args)]
pub struct DestroyArgs {
    #[command(flatten)]
    pub stack: StackArgs,
    /// Skip the confirmation prompt.
    #[arg(long)]
    pub auto_approve: bool,
    /// Destroy only these resources (and what depends on them is kept). Repeatable.
    #[arg(long = "target", value_name = "ADDRESS")]
    pub targets: Vec<String>,
    /// At most this many operations in flight.
    #[arg(long, default_value_t = crate::DEFAULT_PARALLELISM)]
    pub parallelism: usize,
    /// Wait this long for the state lock.
    #[arg(long, value_parser = parse_duration, default_value = "0s")]
    pub lock_timeout: Duration,
}

/// Applies the stack, or a saved plan when the argument is a plan file.
pub async fn run(args: ApplyArgs) -> miette::Result<i32> {
    if planfile::is_plan_file(&args.stack.stack) {
        let file = planfile::read(&args.stack.stack)?;
        planfile::check_arguments(
            &file,
            args.stack.env.as_deref(),
            !args.stack.vars.is_empty() || !args.stack.var_files.is_empty(),
            !args.targets.is_empty() || !args.replace.is_empty(),
        )?;
        let options = OpenOptions {
            load: file.load_options(),
            state_dir: args.stack.state_dir.clone(),
        };
        let workspace = Workspace::open(&file.stack_dir, &options)?;
        return execute(
            &workspace,
            Some((file.plan, file.state_digest)),
            PlanOptions::default(),
            true,
            args.parallelism,
            args.lock_timeout,
            args.accept_drift,
        )
        .await;
    }
    let workspace = Workspace::open(&args.stack.stack, &args.stack.open_options()?)?;
    let plan_options = PlanOptions {
        skip_refresh: !args.refresh,
        targets: args.targets,
        replace: args.replace,
        ..PlanOptions::default()
    };
    execute(
        &workspace,
        None,
        plan_options,
        args.auto_approve,
        args.parallelism,
        args.lock_timeout,
        false,
    )
    .await
}

/// Destroys everything recorded.
pub async fn run_destroy(args: DestroyArgs) -> miette::Result<i32> {
    let workspace = Workspace::open(&args.stack.stack, &args.stack.open_options()?)?;
    let plan_options = PlanOptions {
        destroy: true,
        targets: args.targets,
        ..PlanOptions::default()
    };
    execute(
        &workspace,
        None,
        plan_options,
        args.auto_approve,
        args.parallelism,
        args.lock_timeout,
        false,
    )
    .await
}

async fn execute(
    workspace: &Workspace,
    saved: Option<(Plan, Option<String>)>,
    plan_options: PlanOptions,
    auto_approve: bool,
    parallelism: usize,
    lock_timeout: Duration,
    accept_drift: bool,
) -> miette::Result<i32> {
    let style = Style::detect();
    let reporter = Arc::new(TerminalReporter::for_stack(style, &workspace.stack));
    let ticker = {
        let reporter = Arc::clone(&reporter);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(TerminalReporter::TICK).await;
                reporter.tick();
            }
        })
    };
    let destroy = plan_options.destroy;
    let mut confirm = |plan: &Plan| -> miette::Result<bool> {
        print_plan(plan, style)?;
        if auto_approve {
            return Ok(true);
        }
        if destroy {
            return super::prompt::confirm(
                "Do you really want to destroy all resources?",
                "Plinth will destroy the resources shown above. There is no undo.",
                "destroy",
                "run again with `--auto-approve` when you are sure",
            );
        }
        super::prompt::confirm(
            "Do you want to perform these actions?",
            "Plinth will perform the actions described above.",
            "apply",
            "review the plan, then run again with `--auto-approve`, or apply a saved plan file",
        )
    };
    let options = ApplyOptions {
        plan: plan_options,
        parallelism,
        lock_timeout,
        reporter: &*reporter,
        confirm: &mut confirm,
        notice: &|message| eprintln!("{message}"),
        accept_drift,
    };
    let result = match saved {
        Some((plan, digest)) => crate::ops::apply_saved(workspace, plan, digest, options).await,
        None => crate::ops::apply(workspace, options).await,
    };
    ticker.abort();
    let result = result?;
    let Some(report) = result.report else {
        if result.plan.policy_denied() {
            print_plan(&result.plan, style)?;
            eprintln!(
                "{}",
                crate::render::policy_refusal(
                    &result.plan,
                    if destroy { "destroy" } else { "apply" }
                )
            );
            return Ok(EXIT_POLICY);
        }
        if result.plan.has_changes() {
            // Terraform exits 1 when the answer is not `yes`: a script must not take a
            // declined apply for a successful one.
            println!("{} cancelled.", if destroy { "Destroy" } else { "Apply" });
            return Ok(EXIT_ERROR);
        } else {
            print_plan(&result.plan, style)?;
        }
        return Ok(EXIT_OK);
    };
    print!("\n{}", render_apply_summary(&report, destroy, style));
    Ok(if report.failed() { EXIT_ERROR } else { EXIT_OK })
}

/// The text plan on standard output, written as it is rendered.
fn print_plan(plan: &Plan, style: Style) -> miette::Result<()> {
    write_plan(plan, style, &mut std::io::stdout().lock())
        .map_err(|e| miette::miette!("could not print the plan: {e}"))
}
