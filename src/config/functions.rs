//! The collection functions of `${...}`: `length`, `join`, `concat`, `keys`, `values`,
//! `merge` and `lookup`. They are evaluated when the stack is loaded, on what is known then
//! (variables, literals, the instances a splat lists), so a function never hides a
//! dependency: `join(",", aws_x.y[*].arn)` is a template of the instances' references.
//!
//! Operands: a quoted string (`","`), a number, `var.NAME`, a reference or splat, or another
//! call. `file(...)` is not one of these: it is read like a variable (`interpolate.rs`).

use std::collections::BTreeMap;

use plinth_provider::Value;

use super::diagnostics::{Diagnostics, Problem};
use super::expr::{operand, Lowered, Piece, Scope};
use super::model::Origin;

/// The functions, for messages.
pub(crate) const FUNCTIONS: [&str; 7] = [
    "length", "join", "concat", "keys", "values", "merge", "lookup",
];

/// `name(args)` when `inner` is a call of one of [`FUNCTIONS`].
fn split_call(inner: &str) -> Option<(&str, &str)> {
    let open = inner.find('(')?;
    let name = inner[..open].trim();
    if !FUNCTIONS.contains(&name) {
        return None;
    }
    let args = inner[open + 1..].trim_end().strip_suffix(')')?;
    Some((name, args))
}

/// Splits arguments at the commas outside quotes and brackets.
pub(crate) fn split_args(args: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut quoted = false;
    let mut escaped = false;
    let mut current = String::new();
    for c in args.chars() {
        if quoted {
            current.push(c);
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => quoted = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => {
                quoted = true;
                current.push(c);
            }
            '(' | '[' => {
                depth += 1;
                current.push(c);
            }
            ')' | ']' => {
                depth -= 1;
                if depth < 0 {
                    return Err("unbalanced `)` or `]`".into());
                }
                current.push(c);
            }
            ',' if depth == 0 => out.push(std::mem::take(&mut current).trim().to_string()),
            c => current.push(c),
        }
    }
    if quoted || depth != 0 {
        return Err("an argument is not closed (a quote or a bracket)".into());
    }
    if !current.trim().is_empty() || !out.is_empty() {
        out.push(current.trim().to_string());
    }
    Ok(out)
}

/// A literal operand: a quoted string or a number.
fn literal(arg: &str) -> Option<Value> {
    if let Some(text) = arg.strip_prefix('"').and_then(|a| a.strip_suffix('"')) {
        return Some(Value::String(
            text.replace("\\\"", "\"").replace("\\\\", "\\"),
        ));
    }
    if let Ok(i) = arg.parse::<i64>() {
        return Some(Value::Int(i));
    }
    None
}

fn lower_arg(arg: &str, here: Origin, scope: &Scope<'_>, diags: &mut Diagnostics) -> Lowered {
    match literal(arg) {
        Some(v) => Lowered::Value(v),
        None => operand(arg, here, scope, diags),
    }
}

/// The items of a list operand, when its length is known at load.
fn items(lowered: &Lowered) -> Option<Vec<Lowered>> {
    match lowered {
        Lowered::List(items) => Some(items.clone()),
        Lowered::Value(Value::List(items)) => {
            Some(items.iter().cloned().map(Lowered::Value).collect())
        }
        _ => None,
    }
}

/// The entries of a map operand known at load.
fn entries(lowered: &Lowered) -> Option<BTreeMap<String, Lowered>> {
    match lowered {
        Lowered::Map(map) => Some(map.clone()),
        Lowered::Value(Value::Map(map)) => Some(
            map.iter()
                .map(|(k, v)| (k.clone(), Lowered::Value(v.clone())))
                .collect(),
        ),
        _ => None,
    }
}

fn is_unknown(lowered: &Lowered) -> bool {
    matches!(lowered, Lowered::Value(Value::Unknown))
}

/// Evaluates `inner` when it is a call; `None` when it is not one.
pub(crate) fn call(
    inner: &str,
    here: Origin,
    scope: &Scope<'_>,
    diags: &mut Diagnostics,
) -> Option<Lowered> {
    let (name, args) = split_call(inner)?;
    let fail = |diags: &mut Diagnostics, message: String, help: &str| {
        diags.push(
            Problem::new("plinth::bad_function", format!("`{name}(...)`: {message}"))
                .at(here, "in this call")
                .help(help.to_string()),
        );
        Some(Lowered::Value(Value::Unknown))
    };
    let args = match split_args(args) {
        Ok(args) => args,
        Err(message) => return fail(diags, message, "write the arguments separated by commas"),
    };
    let arity = match name {
        "length" | "keys" | "values" => 1..=1,
        "join" => 2..=2,
        "lookup" => 2..=3,
        _ => 1..=usize::MAX,
    };
    if !arity.contains(&args.len()) {
        return fail(
            diags,
            format!(
                "takes {} argument(s), got {}",
                arity_text(&arity),
                args.len()
            ),
            usage(name),
        );
    }
    let lowered: Vec<Lowered> = args
        .iter()
        .map(|a| lower_arg(a, here, scope, diags))
        .collect();
    if lowered.iter().any(is_unknown) {
        // Reported where the operand was lowered.
        return Some(Lowered::Value(Value::Unknown));
    }
    let known_list = "a list known when the stack is loaded (a variable, a literal or a splat)";
    let known_map = "a table known when the stack is loaded (a variable or a literal)";
    Some(match name {
        "length" => match (items(&lowered[0]), entries(&lowered[0])) {
            (Some(list), _) => Lowered::Value(Value::Int(list.len() as i64)),
            (_, Some(map)) => Lowered::Value(Value::Int(map.len() as i64)),
            _ => match &lowered[0] {
                Lowered::Value(Value::String(s)) => {
                    Lowered::Value(Value::Int(s.chars().count() as i64))
                }
                _ => {
                    return fail(
                        diags,
                        format!("needs {known_list}, a table or a string"),
                        usage(name),
                    )
                }
            },
        },
        "join" => {
            let Lowered::Value(Value::String(separator)) = &lowered[0] else {
                return fail(diags, "the separator must be a string".into(), usage(name));
            };
            let Some(list) = items(&lowered[1]) else {
                return fail(diags, format!("needs {known_list}"), usage(name));
            };
            let mut pieces = Vec::new();
            for (i, item) in list.into_iter().enumerate() {
                if i > 0 {
                    pieces.push(Piece::Text(separator.clone()));
                }
                match item {
                    Lowered::Single(piece) => pieces.push(piece),
                    Lowered::Template(parts) => pieces.extend(parts),
                    Lowered::Value(Value::String(s)) => pieces.push(Piece::Text(s)),
                    Lowered::Value(Value::Int(n)) => pieces.push(Piece::Text(n.to_string())),
                    Lowered::Value(Value::Bool(b)) => pieces.push(Piece::Text(b.to_string())),
                    _ => {
                        return fail(
                            diags,
                            "only strings, numbers and bools can be joined".into(),
                            usage(name),
                        )
                    }
                }
            }
            // The separator is repeated once per item: counted against the expansion limit.
            let text_bytes: usize = pieces
                .iter()
                .map(|p| match p {
                    Piece::Text(t) => t.len(),
                    _ => 0,
                })
                .sum();
            if !scope.budget.take(text_bytes as u64) {
                return fail(
                    diags,
                    format!(
                        "the joined text passes the limit of {} of values built from variables and `count`",
                        super::limits::show_size(scope.budget.limit())
                    ),
                    "join fewer or shorter items, or raise the limit with `--max-expansion`",
                );
            }
            if pieces.iter().all(|p| matches!(p, Piece::Text(_))) {
                Lowered::Value(Value::String(
                    pieces
                        .iter()
                        .map(|p| match p {
                            Piece::Text(t) => t.as_str(),
                            _ => "",
                        })
                        .collect(),
                ))
            } else {
                Lowered::Template(pieces)
            }
        }
        "concat" => {
            let mut out = Vec::new();
            for arg in &lowered {
                match items(arg) {
                    Some(list) => out.extend(list),
                    None => {
                        return fail(
                            diags,
                            format!("every argument must be {known_list}"),
                            usage(name),
                        )
                    }
                }
            }
            Lowered::List(out)
        }
        "keys" | "values" => match entries(&lowered[0]) {
            Some(map) if name == "keys" => Lowered::List(
                map.into_keys()
                    .map(|k| Lowered::Value(Value::String(k)))
                    .collect(),
            ),
            Some(map) => Lowered::List(map.into_values().collect()),
            None => return fail(diags, format!("needs {known_map}"), usage(name)),
        },
        "merge" => {
            let mut out = BTreeMap::new();
            for arg in &lowered {
                match entries(arg) {
                    Some(map) => out.extend(map),
                    None => {
                        return fail(
                            diags,
                            format!("every argument must be {known_map}"),
                            usage(name),
                        )
                    }
                }
            }
            Lowered::Map(out)
        }
        "lookup" => {
            let Some(map) = entries(&lowered[0]) else {
                return fail(diags, format!("needs {known_map}"), usage(name));
            };
            let Lowered::Value(Value::String(key)) = &lowered[1] else {
                return fail(
                    diags,
                    "the key must be a string known at load".into(),
                    usage(name),
                );
            };
            match (map.get(key), lowered.get(2)) {
                (Some(v), _) => v.clone(),
                (None, Some(default)) => default.clone(),
                (None, None) => {
                    let keys: Vec<String> = map.keys().map(|k| format!("`{k}`")).collect();
                    return fail(
                        diags,
                        format!("no key `{key}` (keys: {})", keys.join(", ")),
                        "add a default as the third argument: `lookup(var.m, \"k\", \"default\")`",
                    );
                }
            }
        }
        _ => return None,
    })
}

fn arity_text(arity: &std::ops::RangeInclusive<usize>) -> String {
    match (*arity.start(), *arity.end()) {
        (a, b) if a == b => a.to_string(),
        (a, usize::MAX) => format!("at least {a}"),
        (a, b) => format!("{a} to {b}"),
    }
}

fn usage(name: &str) -> &'static str {
    match name {
        "length" => "`length(LIST)`: e.g. `${length(aws_rds_instance.replica[*].id)}`",
        "join" => {
            "`join(SEPARATOR, LIST)`: e.g. `${join(\",\", aws_rds_instance.replica[*].endpoint)}`"
        }
        "concat" => {
            "`concat(LIST, LIST, ...)`: e.g. `${concat(var.public_cidrs, var.office_cidrs)}`"
        }
        "keys" => "`keys(TABLE)`: e.g. `${keys(var.buckets)}`",
        "values" => "`values(TABLE)`: e.g. `${values(var.buckets)}`",
        "merge" => {
            "`merge(TABLE, TABLE, ...)`: e.g. `${merge(var.default_tags, var.tags)}` (later wins)"
        }
        _ => "`lookup(TABLE, KEY[, DEFAULT])`: e.g. `${lookup(var.sizes, env, \"small\")}`",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_split_at_top_level_commas() {
        assert_eq!(
            split_args(r#"",", aws_x.y[*].arn"#).unwrap(),
            [r#"",""#, "aws_x.y[*].arn"]
        );
        assert_eq!(
            split_args(r#"concat(var.a, var.b), "x\"y,z""#).unwrap(),
            ["concat(var.a, var.b)", r#""x\"y,z""#]
        );
        assert!(split_args("var.a, (var.b").is_err());
        assert!(split_args("\"open").is_err());
        assert_eq!(split_args("").unwrap(), Vec::<String>::new());
        assert_eq!(
            split_call("join(\",\", var.x)"),
            Some(("join", "\",\", var.x"))
        );
        assert_eq!(split_call("file(\"a\")"), None);
        assert_eq!(literal("\"a\\\"b\""), Some(Value::string("a\"b")));
        assert_eq!(literal("42"), Some(Value::Int(42)));
    }
}
