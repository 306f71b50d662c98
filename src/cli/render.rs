//! `plinth render`.

use clap::Args;

use super::{StackArgs, EXIT_OK};
use crate::ops::Workspace;

/// Arguments of `plinth render`.
#[derive(Debug, Args)]
pub struct RenderArgs {
    #[command(flatten)]
    pub stack: StackArgs,
    /// Only this release (e.g. `app_release.backend`).
    #[arg(long, value_name = "ADDRESS")]
    pub release: Option<String>,
}

/// Prints the manifests of the stack's `app_release` resources as YAML.
pub async fn run(args: RenderArgs) -> miette::Result<i32> {
    let workspace = Workspace::open(&args.stack.stack, &args.stack.open_options()?)?;
    let releases =
        crate::ops::manifests::render_releases(&workspace, args.release.as_deref()).await?;
    print!("{}", crate::render::render_manifests(&releases));
    Ok(EXIT_OK)
}
