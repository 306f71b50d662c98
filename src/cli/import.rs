//! `plinth import ADDRESS ID`: adopt an existing cloud resource, then show the plan.

use clap::Args;

use super::{StackArgs, EXIT_OK};
use crate::ops::Workspace;
use crate::plan::PlanOptions;
use crate::render::{render_plan, Style};

/// Arguments of `plinth import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The resource address in the stack, e.g. `aws_s3_bucket.assets`.
    address: String,
    /// The cloud id the provider reads it by (e.g. the bucket name, the RDS identifier).
    id: String,
    #[command(flatten)]
    stack: StackArgs,
}

/// Imports, then prints the plan against the configuration.
pub async fn run(args: ImportArgs) -> miette::Result<i32> {
    let workspace = Workspace::open(&args.stack.stack, &args.stack.open_options()?)?;
    let imported = crate::ops::import::import(&workspace, &args.address, &args.id).await?;
    println!(
        "Imported `{}` (id {}, {} attributes) into {} at serial {}.\n",
        imported.address,
        imported.id,
        imported.attributes,
        workspace.store.describe(),
        imported.serial
    );
    let (plan, _) = crate::ops::plan(&workspace, &PlanOptions::default()).await?;
    print!("{}", render_plan(&plan, Style::detect()));
    Ok(EXIT_OK)
}
