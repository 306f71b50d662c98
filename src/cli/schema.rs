//! `plinth schema`: the JSON Schema of stack files, for editors (see [`crate::schema`]).

use std::path::PathBuf;

use clap::Args;

use super::EXIT_OK;
use crate::registry::Registry;

/// Arguments of `plinth schema`.
#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// Write it to this file instead of standard output (e.g. `docs/stack.schema.json`, which
    /// stack files name in a `#:schema` comment on their first line).
    #[arg(long, short = 'o', value_name = "FILE")]
    out: Option<PathBuf>,
}

/// Prints (or writes) the schema.
pub fn run(args: SchemaArgs) -> miette::Result<i32> {
    let registry = Registry::default_registry();
    let schema = crate::schema::stack_schema(registry.schemas().values());
    let mut text = serde_json::to_string_pretty(&schema)
        .map_err(|e| miette::miette!("serialising the schema: {e}"))?;
    text.push('\n');
    match args.out {
        Some(path) => std::fs::write(&path, text)
            .map_err(|e| miette::miette!("cannot write `{}`: {e}", path.display()))?,
        None => print!("{text}"),
    }
    Ok(EXIT_OK)
}
