//! `plinth validate`.

use clap::{Args, ValueEnum};
use serde_json::json;

use super::{StackArgs, EXIT_ERROR, EXIT_OK};
use crate::ops::Workspace;

/// Output formats of `validate`.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ValidateFormat {
    /// For people: a summary per environment, problems rendered with their source.
    Text,
    /// For editors and CI: `{"valid", "environments": [{"name", "valid", "diagnostics"}]}`,
    /// each diagnostic with code, severity, message, help and file/line/column spans.
    Json,
}

/// Arguments of `plinth validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    stack: StackArgs,
    /// Output format: `text` or `json`.
    #[arg(long, value_enum, default_value_t = ValidateFormat::Text)]
    format: ValidateFormat,
}

/// The version of the `validate --format json` document.
pub const VALIDATE_JSON_FORMAT_VERSION: u32 = 1;

/// Loads and checks the stack; every problem is reported at once. Without `--env`, a stack
/// with several environments is checked in each of them.
pub fn run(args: ValidateArgs) -> miette::Result<i32> {
    let declared = match &args.stack.env {
        Some(_) => Vec::new(),
        None => crate::config::declared_environments(&args.stack.stack),
    };
    let environments: Vec<Option<String>> = if declared.len() < 2 {
        vec![args.stack.env.clone()]
    } else {
        declared.into_iter().map(Some).collect()
    };
    let mut results = Vec::new();
    let as_module = crate::config::is_module_directory(&args.stack.stack);
    for environment in &environments {
        let mut options = args.stack.open_options()?;
        options.load.environment = environment.clone();
        options.load.as_module = as_module;
        // The policies must parse too (their evaluation needs a plan).
        results.push(
            Workspace::open(&args.stack.stack, &options).and_then(|workspace| {
                let dir = workspace.stack.dir.join(crate::policy::POLICY_DIR);
                if dir.is_dir() {
                    crate::policy::PolicySet::load(&dir)?;
                }
                Ok(workspace)
            }),
        );
    }
    match args.format {
        ValidateFormat::Json => Ok(print_json(&environments, &results)),
        ValidateFormat::Text if results.len() == 1 => {
            if let Some(result) = results.pop() {
                println!("{}", crate::ops::inspect::validate_summary(&result?));
            }
            Ok(EXIT_OK)
        }
        ValidateFormat::Text => Ok(print_text(&environments, &results)),
    }
}

fn print_text(environments: &[Option<String>], results: &[miette::Result<Workspace>]) -> i32 {
    // The same problem (a syntax error, an unknown attribute) is usually found in every
    // environment: print each distinct report once, naming the environments it holds for.
    let mut failures: Vec<(String, Vec<&str>)> = Vec::new();
    for (environment, result) in environments.iter().zip(results) {
        let name = environment.as_deref().unwrap_or_default();
        match result {
            Ok(workspace) => println!("{}", crate::ops::inspect::validate_summary(workspace)),
            Err(report) => {
                let text = crate::render::render_error(report.as_ref());
                match failures.iter_mut().find(|(seen, _)| *seen == text) {
                    Some((_, names)) => names.push(name),
                    None => failures.push((text, vec![name])),
                }
            }
        }
    }
    if failures.is_empty() {
        return EXIT_OK;
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
    EXIT_ERROR
}

fn print_json(environments: &[Option<String>], results: &[miette::Result<Workspace>]) -> i32 {
    let entries: Vec<serde_json::Value> = environments
        .iter()
        .zip(results)
        .map(|(environment, result)| match result {
            Ok(workspace) => json!({
                "name": workspace.stack.environment,
                "valid": true,
                "summary": crate::ops::inspect::validate_summary(workspace),
                "diagnostics": [],
            }),
            Err(report) => json!({
                "name": environment,
                "valid": false,
                "diagnostics": crate::render::diagnostics_json(report.as_ref()),
            }),
        })
        .collect();
    let valid = results.iter().all(Result::is_ok);
    let document = json!({
        "format_version": VALIDATE_JSON_FORMAT_VERSION,
        "valid": valid,
        "environments": entries,
    });
    println!(
        "{}",
        serde_json::to_string_pretty(&document).unwrap_or_default()
    );
    if valid {
        EXIT_OK
    } else {
        EXIT_ERROR
    }
}
