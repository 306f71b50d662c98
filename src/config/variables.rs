//! `[variables]`: declarations, and the value of each for the selected environment.
//!
//! Precedence, highest first: `--var NAME=VALUE` (later wins), `--var-file FILE` (later files
//! win), the environment variable `PLINTH_VAR_<NAME>` (exact name, then upper case), the
//! `<environment>` key of the declaration, its `default`.

use std::collections::BTreeMap;

use plinth_provider::Value;

use super::diagnostics::{suggestion, Diagnostics, Problem};
use super::expr::{instantiate, lower, plain_value, Scope, VARIABLES_PLACE};
use super::model::{LoadOptions, Origin};
use super::raw::{parse_value_text, Entry, Node, NodeValue, Table};

/// Keys of a variable declaration table other than environment names.
const DECLARATION_KEYS: [&str; 2] = ["default", "description"];

/// Where the variable values come from besides the stack.
pub(crate) struct VariableInputs<'a> {
    pub options: &'a LoadOptions,
    /// Parsed `--var-file`s, in command-line order (None: unreadable or invalid, reported).
    pub var_files: &'a [Option<Table>],
    /// Reads an environment variable.
    pub getenv: &'a dyn Fn(&str) -> Option<String>,
    /// The load's budget.
    pub budget: &'a super::limits::Budget,
}

/// Resolves every declared variable for `environment`.
pub(crate) fn resolve(
    declarations: &[Entry],
    environment: &str,
    environments: &[String],
    stack: &str,
    inputs: &VariableInputs<'_>,
    diags: &mut Diagnostics,
) -> BTreeMap<String, Value> {
    let no_variables = BTreeMap::new();
    let scope = Scope {
        stack,
        environment,
        variables: &no_variables,
        secrets: None,
        resources: None,
        counted: false,
        place: VARIABLES_PLACE,
        budget: inputs.budget,
        files: None,
    };
    let declared: Vec<&str> = declarations.iter().map(|e| e.key.as_str()).collect();
    let max_depth = inputs.options.limits.max_depth;

    // Overrides: var files, then --var (later wins).
    let mut overrides: BTreeMap<String, Value> = BTreeMap::new();
    for table in inputs.var_files.iter().flatten() {
        for entry in &table.entries {
            if declared.contains(&entry.key.as_str()) {
                overrides.insert(entry.key.clone(), plain_value(&entry.value));
            } else {
                diags.push(
                    undeclared(&entry.key, &declared)
                        .at(entry.key_origin, "not declared in `[variables]`"),
                );
            }
        }
    }
    for (name, text) in &inputs.options.vars {
        if declared.contains(&name.as_str()) {
            overrides.insert(name.clone(), parse_text(text, max_depth));
        } else {
            diags.push(undeclared(name, &declared));
        }
    }

    let mut values = BTreeMap::new();
    for entry in declarations {
        let name = &entry.key;
        let from_env = (inputs.getenv)(&format!("PLINTH_VAR_{name}"))
            .or_else(|| (inputs.getenv)(&format!("PLINTH_VAR_{}", name.to_uppercase())));
        let value = match overrides.remove(name) {
            Some(v) => Some(v),
            None => match from_env {
                Some(text) => Some(parse_text(&text, max_depth)),
                None => declared_value(entry, environment, environments, &scope, diags),
            },
        };
        match value {
            Some(v) => {
                values.insert(name.clone(), v);
            }
            None => {
                diags.push(missing(name, environment, entry.key_origin));
                values.insert(name.clone(), Value::Unknown);
            }
        }
    }
    values
}

/// A `--var` or environment value: TOML when it parses as a value, else the text itself.
fn parse_text(text: &str, max_depth: usize) -> Value {
    match parse_value_text(text, max_depth) {
        Some(node) => plain_value(&node),
        None => Value::String(text.to_string()),
    }
}

/// The value the declaration gives for `environment`, checking its keys.
fn declared_value(
    entry: &Entry,
    environment: &str,
    environments: &[String],
    scope: &Scope<'_>,
    diags: &mut Diagnostics,
) -> Option<Value> {
    let known =
        |node: &Node, diags: &mut Diagnostics| instantiate(&lower(node, scope, diags), None, diags);
    let NodeValue::Table(table) = &entry.value.value else {
        return literal(known(&entry.value, diags));
    };
    let mut chosen = None;
    let mut default = None;
    for key in &table.entries {
        match key.key.as_str() {
            "default" => default = Some(&key.value),
            "description" => {
                if key.value.as_str().is_none() {
                    diags.push(
                        Problem::new(
                            "plinth::wrong_type",
                            "a variable description must be a string",
                        )
                        .at(
                            key.value.origin,
                            format!("this is a {}", key.value.kind_name()),
                        ),
                    );
                }
            }
            env if environments.iter().any(|e| e == env) => {
                if env == environment {
                    chosen = Some(&key.value);
                }
            }
            other => {
                let candidates = DECLARATION_KEYS
                    .iter()
                    .copied()
                    .chain(environments.iter().map(String::as_str));
                diags.push(
                    Problem::new(
                        "plinth::unknown_environment",
                        format!("`{other}` is not an environment of this stack"),
                    )
                    .at(
                        key.key_origin,
                        "not `default`, `description` or an environment",
                    )
                    .help(format!(
                        "{}; to give a table as the value, write `{} = {{ default = {{ ... }} }}`",
                        suggestion(other, candidates, "valid keys"),
                        entry.key
                    )),
                );
            }
        }
    }
    chosen
        .or(default)
        .and_then(|node| literal(known(node, diags)))
}

fn literal(expr: super::model::Expr) -> Option<Value> {
    match expr {
        super::model::Expr::Literal(v) => Some(v),
        _ => Some(Value::Unknown),
    }
}

fn undeclared(name: &str, declared: &[&str]) -> Problem {
    Problem::new(
        "plinth::unknown_variable",
        format!("a value is given for `{name}`, which is not declared"),
    )
    .help(format!(
        "declare it in `[variables]` ({})",
        suggestion(name, declared.iter().copied(), "declared variables")
    ))
}

fn missing(name: &str, environment: &str, at: Origin) -> Problem {
    Problem::new("plinth::missing_variable", format!("variable `{name}` has no value for environment `{environment}`"))
        .at(at, format!("no `default` and no `{environment}` value"))
        .help(format!(
            "add `default = ...` or `{environment} = ...` to its declaration, pass `--var {name}=VALUE`, or set `PLINTH_VAR_{name}`"
        ))
}
