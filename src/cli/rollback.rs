//! `plinth rollback`.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use miette::miette;

use super::{parse_duration, StackArgs, EXIT_OK};
use crate::ops::Workspace;
use crate::render::{render_rollback, Style, TerminalReporter};

/// Arguments of `plinth rollback`.
#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// The release, e.g. `app_release.backend`.
    #[arg(value_name = "RELEASE-ADDRESS")]
    pub address: String,
    /// The revision to re-apply (default: the one before the current). When it is not a
    /// number it is taken as the stack directory.
    #[arg(value_name = "REVISION")]
    pub revision: Option<String>,
    #[command(flatten)]
    pub stack: StackArgs,
    /// Wait this long for the state lock (e.g. `30s`, `5m`); default: fail at once.
    #[arg(long, value_parser = parse_duration, default_value = "0s")]
    pub lock_timeout: Duration,
}

impl RollbackArgs {
    /// `(revision, stack directory)`: `rollback ADDR STACK` works as well as
    /// `rollback ADDR 3 STACK`.
    fn revision_and_stack(&self) -> miette::Result<(Option<i64>, PathBuf)> {
        let Some(text) = &self.revision else {
            return Ok((None, self.stack.stack.clone()));
        };
        match text.parse::<i64>() {
            Ok(revision) if revision >= 1 => Ok((Some(revision), self.stack.stack.clone())),
            Ok(_) => Err(miette!("revisions start at 1, not `{text}`")),
            Err(_) if self.stack.stack.as_os_str() == "." => Ok((None, PathBuf::from(text))),
            Err(_) => Err(miette!(
                help = "write it as `plinth rollback ADDRESS [REVISION] [STACK]`",
                "`{text}` is not a revision number"
            )),
        }
    }
}

/// Re-applies an earlier revision of a release and records it.
pub async fn run(args: RollbackArgs) -> miette::Result<i32> {
    let (revision, stack) = args.revision_and_stack()?;
    let workspace = Workspace::open(&stack, &args.stack.open_options()?)?;
    let style = Style::detect();
    let reporter = TerminalReporter::for_stack(style, &workspace.stack);
    let result = crate::ops::rollback::rollback(
        &workspace,
        &args.address,
        revision,
        args.lock_timeout,
        &reporter,
        &|message| eprintln!("{message}"),
    )
    .await?;
    print!("{}", render_rollback(&result, style));
    Ok(EXIT_OK)
}
