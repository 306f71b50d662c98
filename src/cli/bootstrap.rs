//! `plinth bootstrap`: create the remote state home, migrate a local state into it, then
//! plan and apply the stack. Running it again is harmless.

use std::time::Duration;

use clap::Args;

use super::apply::ApplyArgs;
use super::{parse_duration, StackArgs};
use crate::ops::bootstrap::Migration;
use crate::ops::Workspace;

/// Arguments of `plinth bootstrap`.
#[derive(Debug, Args)]
pub struct BootstrapArgs {
    #[command(flatten)]
    stack: StackArgs,
    /// Apply without the confirmation prompt (required when stdin is not a terminal).
    #[arg(long)]
    auto_approve: bool,
    /// Wait this long for the state lock.
    #[arg(long, value_parser = parse_duration, default_value = "0s")]
    lock_timeout: Duration,
}

/// Prepares the backend, migrates, applies.
pub async fn run(args: BootstrapArgs) -> miette::Result<i32> {
    let workspace = Workspace::open(&args.stack.stack, &args.stack.open_options()?)?;
    let done = crate::ops::bootstrap::bootstrap(&workspace).await?;
    println!("State home ready: {}.", done.store);
    match &done.migration {
        Migration::LocalBackend | Migration::NoLocalState => {}
        Migration::Copied {
            lineage,
            serial,
            resources,
        } => println!(
            "Migrated the local state {} (lineage {lineage}, serial {serial}, {resources} resources) into it; \
             the local file is no longer used and can be deleted.",
            done.local_state.display()
        ),
        Migration::AlreadyThere { lineage } => println!(
            "The local state {} (lineage {lineage}) was migrated before; the remote copy is used.",
            done.local_state.display()
        ),
    }
    drop(workspace);
    super::apply::run(ApplyArgs {
        stack: args.stack,
        auto_approve: args.auto_approve,
        targets: Vec::new(),
        replace: Vec::new(),
        parallelism: crate::DEFAULT_PARALLELISM,
        lock_timeout: args.lock_timeout,
        refresh: true,
        accept_drift: false,
    })
    .await
}
