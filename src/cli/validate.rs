//! `plinth validate`.

use clap::Args;

use super::{StackArgs, EXIT_ERROR, EXIT_OK};
use crate::ops::Workspace;

/// Arguments of `plinth validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    stack: StackArgs,
}

/// Loads and checks the stack; every problem is reported at once. Without `--env`, a stack
/// with several environments is checked in each of them.
pub fn run(args: ValidateArgs) -> miette::Result<i32> {
    let environments = crate::config::declared_environments(&args.stack.stack);
    if args.stack.env.is_some() || environments.len() < 2 {
        let workspace = Workspace::open(&args.stack.stack, &args.stack.open_options()?)?;
        println!("{}", crate::ops::inspect::validate_summary(&workspace));
        return Ok(EXIT_OK);
    }
    // The same problem (a syntax error, an unknown attribute) is usually found in every
    // environment: print each distinct report once, naming the environments it holds for.
    let mut failures: Vec<(String, Vec<&str>)> = Vec::new();
    for environment in &environments {
        let mut options = args.stack.open_options()?;
        options.load.environment = Some(environment.clone());
        match Workspace::open(&args.stack.stack, &options) {
            Ok(workspace) => println!("{}", crate::ops::inspect::validate_summary(&workspace)),
            Err(report) => {
                let text = format!("{report:?}");
                match failures.iter_mut().find(|(seen, _)| *seen == text) {
                    Some((_, names)) => names.push(environment),
                    None => failures.push((text, vec![environment])),
                }
            }
        }
    }
    if failures.is_empty() {
        return Ok(EXIT_OK);
    }
    let mut invalid = Vec::new();
    for (text, names) in &failures {
        eprintln!("In environment `{}`:\n{text}", names.join("`, `"));
        invalid.extend(names.iter().copied());
    }
    eprintln!(
        "The stack is invalid in {} of {} environments: `{}`.",
        invalid.len(),
        environments.len(),
        invalid.join("`, `")
    );
    Ok(EXIT_ERROR)
}
