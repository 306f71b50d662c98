//! `[secrets]`: where each secret's value comes from. Values are never read here; the engine
//! reads or generates them at plan/apply time and keeps them out of plans and logs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::diagnostics::{Diagnostics, Problem};
use super::model::{SecretDecl, SecretSource};
use super::raw::{Entry, Node, NodeValue};
use super::sections::{table, unknown_key, wrong_type};

/// `[secrets]`: `{ from = "env:NAME" }`, `{ from = "file:PATH" }` or
/// `{ generate = { length = 32, special = false } }`.
pub(crate) fn secrets(
    entries: &[Entry],
    dir: &Path,
    diags: &mut Diagnostics,
) -> BTreeMap<String, SecretDecl> {
    let mut out = BTreeMap::new();
    let shape = "write `{ from = \"env:NAME\" }`, `{ from = \"file:PATH\" }` or `{ generate = { length = 32 } }`";
    for entry in entries {
        let Some(table) = table(entry, "secret", diags) else {
            continue;
        };
        let mut source = None;
        for item in &table.entries {
            match item.key.as_str() {
                "from" => source = from_source(&item.value, dir, diags),
                "generate" => source = generate_source(&item.value, diags),
                _ => unknown_key(
                    item,
                    &format!("secret `{}`", entry.key),
                    &["from", "generate"],
                    diags,
                ),
            }
        }
        if table
            .entries
            .iter()
            .filter(|i| i.key == "from" || i.key == "generate")
            .count()
            != 1
        {
            diags.push(
                Problem::new(
                    "plinth::bad_secret",
                    format!(
                        "secret `{}` needs exactly one of `from` or `generate`",
                        entry.key
                    ),
                )
                .at(entry.key_origin, "where does its value come from?")
                .help(shape),
            );
            continue;
        }
        if let Some(source) = source {
            let decl = SecretDecl {
                name: entry.key.clone(),
                source,
                origin: entry.key_origin,
            };
            out.insert(entry.key.clone(), decl);
        }
    }
    out
}

fn from_source(node: &Node, dir: &Path, diags: &mut Diagnostics) -> Option<SecretSource> {
    let text = node.as_str().unwrap_or_default();
    match text.split_once(':') {
        Some(("env", name)) if !name.is_empty() => Some(SecretSource::Env(name.to_string())),
        Some(("file", path)) if !path.is_empty() => {
            let path = PathBuf::from(path);
            Some(SecretSource::File(if path.is_absolute() {
                path
            } else {
                dir.join(path)
            }))
        }
        _ => {
            diags.push(
                Problem::new("plinth::bad_secret", "a secret's `from` must be `env:NAME` or `file:PATH`")
                    .at(node.origin, "not `env:NAME` or `file:PATH`")
                    .help("e.g. `from = \"env:JWT_SECRET\"` or `from = \"file:secrets/jwt.txt\"` (relative to the stack directory)"),
            );
            None
        }
    }
}

fn generate_source(node: &Node, diags: &mut Diagnostics) -> Option<SecretSource> {
    let Some(table) = node.as_table() else {
        wrong_type(
            node,
            "`generate`",
            "a table such as `{ length = 32, special = false }`",
            diags,
        );
        return None;
    };
    let (mut length, mut special) = (32usize, false);
    for item in &table.entries {
        match (item.key.as_str(), &item.value.value) {
            ("length", NodeValue::Integer(n)) if (8..=1024).contains(n) => length = *n as usize,
            ("length", _) => wrong_type(
                &item.value,
                "`length`",
                "a whole number from 8 to 1024",
                diags,
            ),
            ("special", NodeValue::Boolean(b)) => special = *b,
            ("special", _) => wrong_type(&item.value, "`special`", "`true` or `false`", diags),
            _ => unknown_key(item, "`generate`", &["length", "special"], diags),
        }
    }
    Some(SecretSource::Generate { length, special })
}
