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
const DECLARATION_KEYS: [&str; 3] = ["default", "description", "type"];

/// The values of `type = "..."` in a variable declaration.
pub(crate) const VARIABLE_TYPES: [&str; 6] = ["string", "number", "bool", "list", "map", "any"];

/// Where the variable values come from besides the stack.
pub(crate) struct VariableInputs<'a> {
    pub options: &'a LoadOptions,
    /// Parsed `--var-file`s, in command-line order (None: unreadable or invalid, reported).
    pub var_files: &'a [Option<Table>],
    /// Reads an environment variable.
    pub getenv: &'a dyn Fn(&str) -> Option<String>,
    /// The load's budget.
    pub budget: &'a super::limits::Budget,
    /// A module directory validated on its own: inputs without a value are unknown.
    pub missing_is_unknown: bool,
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
    let root = super::model::ModulePath::root();
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
        keyed: false,
        module: &root,
        inputs: None,
        modules: None,
        inherited_depends_on: &[],
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
                // A value of the wrong type is unknown: what uses it is not reported again.
                let v = if check_type(entry, &v, None, diags) {
                    v
                } else {
                    Value::Unknown
                };
                values.insert(name.clone(), v);
            }
            None if inputs.missing_is_unknown => {
                values.insert(name.clone(), Value::Unknown);
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
pub(crate) fn declared_value(
    entry: &Entry,
    environment: &str,
    environments: &[String],
    scope: &Scope<'_>,
    diags: &mut Diagnostics,
) -> Option<Value> {
    let known = |node: &Node, diags: &mut Diagnostics| {
        instantiate(
            &lower(node, scope, diags),
            &super::references::Instance::NONE,
            diags,
        )
    };
    let NodeValue::Table(table) = &entry.value.value else {
        return literal(known(&entry.value, diags));
    };
    let mut chosen = None;
    let mut default = None;
    for key in &table.entries {
        match key.key.as_str() {
            "default" => default = Some(&key.value),
            "type" => {
                if !key
                    .value
                    .as_str()
                    .is_some_and(|t| VARIABLE_TYPES.contains(&t))
                {
                    diags.push(
                        Problem::new(
                            "plinth::wrong_type",
                            "a variable `type` must be one of the type names",
                        )
                        .at(key.value.origin, "not a type name")
                        .help(format!(
                            "write one of {}",
                            VARIABLE_TYPES.map(|t| format!("`\"{t}\"`")).join(", ")
                        )),
                    );
                }
            }
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

/// The declared `type` of a variable and where it is written.
fn declared_type(entry: &Entry) -> Option<(&str, Origin)> {
    let node = entry.value.as_table()?.get("type")?;
    let name = node.value.as_str()?;
    VARIABLE_TYPES
        .contains(&name)
        .then_some((name, node.value.origin))
}

/// Whether `value` has the kind `type_name` names (unknown values pass).
pub(crate) fn has_type(type_name: &str, value: &Value) -> bool {
    matches!(
        (type_name, value),
        (_, Value::Unknown | Value::Sensitive(_) | Value::Redacted(_))
            | ("any", _)
            | ("string", Value::String(_))
            | ("number", Value::Int(_) | Value::Float(_))
            | ("bool", Value::Bool(_))
            | ("list", Value::List(_))
            | ("map", Value::Map(_))
    )
}

/// Reports a value that is not of the declared `type` (`given`: where a module call gives it).
/// True when it is.
pub(crate) fn check_type(
    entry: &Entry,
    value: &Value,
    given: Option<Origin>,
    diags: &mut Diagnostics,
) -> bool {
    let Some((type_name, declared_at)) = declared_type(entry) else {
        return true;
    };
    if has_type(type_name, value) {
        return true;
    }
    let shown = match value {
        Value::String(s) if s.len() <= 40 => format!("the string {s:?}"),
        other => format!("a {}", other.kind_name()),
    };
    let problem = Problem::new(
        "plinth::wrong_type",
        format!(
            "variable `{}` must be a {type_name}, not {shown}",
            entry.key
        ),
    );
    let problem = match given {
        Some(at) => problem
            .at(at, format!("{shown} given here"))
            .also(declared_at, format!("declared `type = \"{type_name}\"`")),
        None => problem.at(declared_at, format!("declared `type = \"{type_name}\"`")),
    };
    diags.push(problem.help(format!("give `{}` a {type_name}", entry.key)));
    false
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
