//! Turning TOML values into expressions: variables, `${env}`, `${stack}` are substituted;
//! resource references and secrets are checked and kept symbolic; `${count.index}` is left as a
//! placeholder until [`instantiate`] is called once per `count` instance.

use std::collections::{BTreeMap, BTreeSet};

use plinth_provider::Value;

use super::diagnostics::{suggestion, Diagnostics, Problem};
use super::interpolate::{parse_target, split, substitute_names, Segment, Target};
use super::limits::{show_size, value_size, Budget, Limit};
use super::model::{ModulePath, Origin, Reference, SecretRef};
use super::raw::{origin, Node, NodeValue};
use super::references::{check_reference, PendingRef, ResourceIndex};

pub(crate) use super::instantiate::{check_view, from_expr, instantiate};

/// The `place` of the scope variable declarations are lowered in.
pub(crate) const VARIABLES_PLACE: &str = "in `[variables]`";

/// What an expression may use where it is written.
pub(crate) struct Scope<'a> {
    pub stack: &'a str,
    pub environment: &'a str,
    pub variables: &'a BTreeMap<String, Value>,
    /// Declared secrets; None where secrets are not allowed.
    pub secrets: Option<&'a BTreeSet<String>>,
    /// Resource blocks; None where references are not allowed.
    pub resources: Option<&'a ResourceIndex<'a>>,
    /// Inside a resource with `count`.
    pub counted: bool,
    /// Where we are, for messages: "in `[backend]`".
    pub place: &'a str,
    /// What substitution may still build, and the longest string it may make.
    pub budget: &'a Budget,
    /// Reads `${file("...")}`; None where files may not be read.
    pub files: Option<&'a super::files::FileReader<'a>>,
    /// Inside a block with `for_each`.
    pub keyed: bool,
    /// The module instance being lowered (empty: the root stack).
    pub module: &'a ModulePath,
    /// Module inputs known only during plan or apply (they hold references or secrets).
    pub inputs: Option<&'a BTreeMap<String, Lowered>>,
    /// The module calls whose outputs may be used; None where they may not.
    pub modules: Option<&'a super::modules::ModuleIndex>,
    /// What the module call's `depends_on` adds to every resource inside it.
    pub inherited_depends_on: &'a [(super::model::Address, Origin)],
}

/// A piece of a string after substitution.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Piece {
    Text(String),
    CountIndex,
    /// `${each.key}`.
    EachKey,
    /// `${each.value}` (and the keys after it).
    EachValue(Vec<String>),
    Ref(PendingRef),
    /// A reference that is final already: it came through a module input or output.
    Resolved(Reference),
    Secret(SecretRef),
}

/// An expression with `${count.index}` and `${each.*}` still open.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Lowered {
    Value(Value),
    /// A string that is exactly one interpolation.
    Single(Piece),
    Template(Vec<Piece>),
    List(Vec<Lowered>),
    Map(BTreeMap<String, Lowered>),
    /// `${module.NAME[each.key].OUTPUT}` (or `[count.index]`): the output of the module
    /// instance of the same key, chosen when the block's instance is.
    ByInstance {
        /// `module.NAME`, for the message when the key has no instance.
        call: String,
        choices: BTreeMap<super::model::InstanceKey, Lowered>,
        origin: Origin,
    },
}

/// A TOML value as a plain value (no interpolation).
pub(crate) fn plain_value(node: &Node) -> Value {
    match &node.value {
        NodeValue::String(s) | NodeValue::Datetime(s) => Value::String(s.clone()),
        NodeValue::Integer(i) => Value::Int(*i),
        NodeValue::Float(f) => Value::Float(*f),
        NodeValue::Boolean(b) => Value::Bool(*b),
        NodeValue::Array(items) => Value::List(items.iter().map(plain_value).collect()),
        NodeValue::Table(t) => Value::Map(
            t.entries
                .iter()
                .map(|e| (e.key.clone(), plain_value(&e.value)))
                .collect(),
        ),
    }
}

/// Lowers a TOML value in a scope, reporting every problem.
pub(crate) fn lower(node: &Node, scope: &Scope<'_>, diags: &mut Diagnostics) -> Lowered {
    match &node.value {
        NodeValue::String(s) => lower_string(node, s, scope, diags),
        NodeValue::Array(items) => {
            Lowered::List(items.iter().map(|n| lower(n, scope, diags)).collect())
        }
        NodeValue::Table(t) => Lowered::Map(
            t.entries
                .iter()
                .map(|e| (e.key.clone(), lower(&e.value, scope, diags)))
                .collect(),
        ),
        _ => Lowered::Value(plain_value(node)),
    }
}

fn lower_string(node: &Node, s: &str, scope: &Scope<'_>, diags: &mut Diagnostics) -> Lowered {
    let at = |start: usize, end: usize| match node.content_offset {
        Some(offset) => origin(node.origin.file, offset + start..offset + end),
        None => node.origin,
    };
    let segments = match split(s) {
        Ok(segments) => segments,
        Err(e) => {
            diags.push(
                Problem::new("plinth::bad_interpolation", e.message.clone())
                    .at(at(e.start, e.end), e.message)
                    .help("close it with `}`, or write `$${` for a literal `${`"),
            );
            return Lowered::Value(Value::Unknown);
        }
    };
    if let [Segment::Interpolation { inner, start, end }] = segments.as_slice() {
        return operand(inner, at(*start, *end), scope, diags);
    }
    let mut pieces = Vec::new();
    for segment in &segments {
        match segment {
            Segment::Text(t) => pieces.push(Piece::Text(t.clone())),
            Segment::Interpolation { inner, start, end } => {
                let here = at(*start, *end);
                // A call whose result is text goes into the string like a value.
                let called = inner
                    .contains('(')
                    .then(|| super::functions::call(inner, here, scope, diags))
                    .flatten();
                if let Some(lowered) = called {
                    match lowered {
                        Lowered::Value(Value::Unknown) => {}
                        Lowered::Value(v) if to_text(&v).is_some() => {
                            pieces.push(Piece::Text(to_text(&v).unwrap_or_default()))
                        }
                        Lowered::Single(p) => pieces.push(p),
                        Lowered::Template(parts) => pieces.extend(parts),
                        _ => diags.push(
                            Problem::new(
                                "plinth::bad_interpolation",
                                "cannot put a list or a table inside a string".to_string(),
                            )
                            .at(here, "this call makes a list or a table")
                            .help(
                                "use the call as the whole value (`\"${...}\"`), or `join(...)` it",
                            ),
                        ),
                    }
                    continue;
                }
                match resolve(inner, here, scope, diags) {
                    // Already reported where it came from.
                    Resolved::Value(Value::Unknown) => {}
                    Resolved::Value(v) => match to_text(&v) {
                        Some(text) => pieces.push(Piece::Text(text)),
                        None => {
                            diags.push(
                                Problem::new(
                                    "plinth::bad_interpolation",
                                    format!("cannot put a {} inside a string", v.kind_name()),
                                )
                                .at(here, format!("this is a {}", v.kind_name()))
                                .help("only strings, numbers and bools can be interpolated; use the value on its own (`\"${...}\"`) to keep its type"),
                            );
                        }
                    },
                    Resolved::Piece(p) => pieces.push(p),
                    Resolved::Lowered(Lowered::Single(p)) => pieces.push(p),
                    Resolved::Lowered(Lowered::Template(parts)) => pieces.extend(parts),
                    Resolved::Lowered(Lowered::Value(v)) => match to_text(&v) {
                        Some(text) => pieces.push(Piece::Text(text)),
                        None if matches!(v, Value::Unknown) => {}
                        None => diags.push(
                            Problem::new(
                                "plinth::bad_interpolation",
                                format!("cannot put a {} inside a string", v.kind_name()),
                            )
                            .at(here, format!("this is a {}", v.kind_name()))
                            .help("use the value on its own (`\"${...}\"`) to keep its type"),
                        ),
                    },
                    Resolved::Lowered(Lowered::ByInstance { .. }) => diags.push(
                        Problem::new(
                            "plinth::unsupported",
                            "a module output chosen by `each.key` or `count.index` cannot go inside a longer string yet".to_string(),
                        )
                        .at(here, "inside a string")
                        .help("use it as the whole value (`\"${module.NAME[each.key].OUTPUT}\"`), or output the whole string from the module"),
                    ),
                    Resolved::Lowered(_) => diags.push(
                        Problem::new(
                            "plinth::bad_interpolation",
                            "cannot put a list or a table inside a string".to_string(),
                        )
                        .at(here, "this is a list or a table")
                        .help("use the value on its own (`\"${...}\"`), or `join(...)` it"),
                    ),
                }
            }
        }
    }
    let length: usize = pieces
        .iter()
        .map(|p| match p {
            Piece::Text(t) => t.len(),
            _ => 16,
        })
        .fold(0, usize::saturating_add);
    let max = scope.budget.limits.max_string_bytes;
    if length > max {
        diags.push(
            Problem::new(
                "plinth::string_too_long",
                format!(
                    "this string would be {} long, more than the limit of {}",
                    show_size(length as u64),
                    show_size(max as u64)
                ),
            )
            .at(node.origin, "this string")
            .help(format!(
                "shorten it, or keep large content out of the stack; {}",
                Limit::StringSize.how_to_raise(format!("{}MiB", length / (1024 * 1024) + 1))
            )),
        );
        return Lowered::Value(Value::Unknown);
    }
    if pieces.iter().all(|p| matches!(p, Piece::Text(_))) {
        let text: String = pieces
            .iter()
            .map(|p| {
                if let Piece::Text(t) = p {
                    t.as_str()
                } else {
                    ""
                }
            })
            .collect();
        return Lowered::Value(Value::String(text));
    }
    Lowered::Template(pieces)
}

/// `${TYPE.NAME[*].ATTR}`: the attribute of every instance of a counted resource, as a list
/// (the count is known at load, so the splat is the list of the instances' references).
pub(crate) fn splat(
    block: &str,
    path: &str,
    here: Origin,
    scope: &Scope<'_>,
    diags: &mut Diagnostics,
) -> Lowered {
    let count = scope
        .resources
        .and_then(|index| index.get(block.trim()))
        .map(|info| info.count.clone());
    let one = |index: String, diags: &mut Diagnostics| match resolve(
        &format!("{}[{index}].{path}", block.trim()),
        here,
        scope,
        diags,
    ) {
        Resolved::Value(v) => Lowered::Value(v),
        Resolved::Piece(p) => Lowered::Single(p),
        Resolved::Lowered(l) => l,
    };
    match count {
        Some(super::references::Count::Counted(n)) => {
            Lowered::List((0..n).map(|i| one(i.to_string(), diags)).collect())
        }
        Some(super::references::Count::Keyed(keys)) => Lowered::List(
            keys.iter()
                .map(|(k, _)| one(format!("{k:?}"), diags))
                .collect(),
        ),
        Some(super::references::Count::Invalid) => Lowered::Value(Value::Unknown),
        Some(super::references::Count::Single) => {
            diags.push(
                Problem::new(
                    "plinth::unexpected_index",
                    format!(
                        "`{}` has no `count`, so `[*]` has nothing to spread",
                        block.trim()
                    ),
                )
                .at(here, "not a counted resource")
                .help(format!("write `${{{}.{path}}}`", block.trim())),
            );
            Lowered::Value(Value::Unknown)
        }
        None => {
            // Reports the unknown resource (or that references are not allowed here).
            let _ = resolve(&format!("{}.{path}", block.trim()), here, scope, diags);
            Lowered::Value(Value::Unknown)
        }
    }
}

/// An estimate of the memory an expression takes (see [`value_size`]).
pub(crate) fn lowered_size(lowered: &Lowered) -> u64 {
    const NODE: u64 = 32;
    match lowered {
        Lowered::Value(v) => value_size(v),
        Lowered::Single(piece) => NODE + piece_size(piece),
        Lowered::Template(pieces) => NODE + pieces.iter().map(piece_size).sum::<u64>(),
        Lowered::List(items) => NODE + items.iter().map(lowered_size).sum::<u64>(),
        Lowered::Map(map) => {
            NODE + map
                .iter()
                .map(|(k, v)| NODE + k.len() as u64 + lowered_size(v))
                .sum::<u64>()
        }
        Lowered::ByInstance { choices, .. } => {
            NODE + choices.values().map(lowered_size).max().unwrap_or(0)
        }
    }
}

fn piece_size(piece: &Piece) -> u64 {
    match piece {
        Piece::Text(t) => 32 + t.len() as u64,
        _ => 128,
    }
}

pub(crate) fn to_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Int(i) => Some(i.to_string()),
        Value::Float(f) => Some(f.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

enum Resolved {
    Value(Value),
    Piece(Piece),
    /// A module input or output: a whole expression.
    Lowered(Lowered),
}

/// One `${...}` operand as a lowered expression: a splat, or what [`resolve`] gives.
pub(crate) fn operand(
    inner: &str,
    here: Origin,
    scope: &Scope<'_>,
    diags: &mut Diagnostics,
) -> Lowered {
    // A plain reference (`aws_x.y.id`, most of a large stack) has neither `(` nor `*`: one
    // scan instead of a call parse and a substring search per reference.
    let (call, spread) = inner
        .bytes()
        .fold((false, false), |(c, s), b| (c || b == b'(', s || b == b'*'));
    if call {
        if let Some(lowered) = super::functions::call(inner, here, scope, diags) {
            return lowered;
        }
    }
    if spread {
        if let Some((block, path)) = inner.split_once("[*].") {
            return splat(block, path, here, scope, diags);
        }
    }
    match resolve(inner, here, scope, diags) {
        Resolved::Value(v) => Lowered::Value(v),
        Resolved::Piece(p) => Lowered::Single(p),
        Resolved::Lowered(l) => l,
    }
}

fn resolve(inner: &str, here: Origin, scope: &Scope<'_>, diags: &mut Diagnostics) -> Resolved {
    let unknown = Resolved::Value(Value::Unknown);
    let substituted;
    let inner = if inner.as_bytes().contains(&b'$') && inner.contains("${") {
        let value_of = |name: &str| scope.variables.get(name).and_then(to_text);
        match substitute_names(inner, value_of) {
            Ok(text) => {
                substituted = text;
                substituted.as_str()
            }
            Err(message) => {
                diags.push(
                    Problem::new(
                        "plinth::bad_interpolation",
                        format!("invalid interpolation `${{{inner}}}`"),
                    )
                    .at(here, message)
                    .help("a reference may take part of its address from a variable: `${aws_rds_instance.${var.database}.endpoint}`"),
                );
                return unknown;
            }
        }
    } else {
        inner
    };
    let target = match parse_target(inner) {
        Ok(t) => t,
        Err(message) => {
            diags.push(
                Problem::new("plinth::bad_interpolation", format!("invalid interpolation `${{{inner}}}`"))
                    .at(here, message)
                    .help("write `${var.NAME}`, `${secret.NAME}`, `${env}`, `${stack}`, `${count.index}` or `${TYPE.NAME.ATTRIBUTE}`; `$${` is a literal `${`"),
            );
            return unknown;
        }
    };
    match target {
        Target::File(path) => match scope.files {
            Some(reader) => match reader.read(&path, here, diags) {
                Some(text) if scope.budget.take(text.len() as u64) => {
                    Resolved::Value(Value::String(text))
                }
                Some(_) => {
                    if scope.budget.first_overrun() {
                        diags.push(
                            Problem::new(
                                "plinth::expansion_too_large",
                                format!(
                                    "`file(\"{path}\")` passes the limit of {} of values built from variables, files and `count`",
                                    show_size(scope.budget.limit())
                                ),
                            )
                            .at(here, "read here"),
                        );
                    }
                    unknown
                }
                None => unknown,
            },
            None => {
                diags.push(
                    Problem::new(
                        "plinth::bad_interpolation",
                        format!("`file(...)` cannot be used {}", scope.place),
                    )
                    .at(here, "not here")
                    .help("read files in resource attributes and outputs"),
                );
                unknown
            }
        },
        Target::Env => Resolved::Value(Value::String(scope.environment.to_string())),
        Target::Stack => Resolved::Value(Value::String(scope.stack.to_string())),
        Target::Var(name) => {
            match scope.variables.get(&name) {
                Some(v) if !scope.budget.take(value_size(v)) => {
                    if scope.budget.first_overrun() {
                        diags.push(
                            Problem::new(
                                "plinth::expansion_too_large",
                                format!(
                                    "substituting `var.{name}` here passes the limit of {} of values built from variables and `count`",
                                    show_size(scope.budget.limit())
                                ),
                            )
                            .at(here, format!("`var.{name}` is {}", show_size(value_size(v))))
                            .help(format!(
                                "use large variables in fewer places; {}",
                                Limit::Expansion.how_to_raise(format!(
                                    "{}MiB",
                                    scope.budget.limit() / (1024 * 1024) * 2
                                ))
                            )),
                        );
                    }
                    unknown
                }
                Some(v) => Resolved::Value(v.clone()),
                None if scope.inputs.is_some_and(|i| i.contains_key(&name)) => {
                    let input = scope.inputs.and_then(|i| i.get(&name)).cloned();
                    match input {
                        Some(lowered) if scope.resources.is_some() => Resolved::Lowered(lowered),
                        _ => {
                            diags.push(
                                Problem::new(
                                    "plinth::unknown_at_load",
                                    format!("`var.{name}` is not known while the stack is loaded"),
                                )
                                .at(here, format!("needed {}", scope.place))
                                .help(format!(
                                    "the module call gives `{name}` a value that holds a reference or a secret; values used {} must be known at load (literals or variables)",
                                    scope.place
                                )),
                            );
                            unknown
                        }
                    }
                }
                None if scope.place == VARIABLES_PLACE => {
                    diags.push(
                    Problem::new("plinth::unknown_variable", "a variable cannot refer to variables")
                        .at(here, "not allowed in `[variables]`")
                        .help("declared values may use `${env}` and `${stack}`; repeat the value instead"),
                );
                    unknown
                }
                None => {
                    diags.push(
                        Problem::new(
                            "plinth::unknown_variable",
                            format!("unknown variable `{name}`"),
                        )
                        .at(here, "not declared in `[variables]`")
                        .help(suggestion(
                            &name,
                            scope.variables.keys().map(String::as_str),
                            "declared variables",
                        )),
                    );
                    unknown
                }
            }
        }
        Target::CountIndex => {
            if scope.counted {
                Resolved::Piece(Piece::CountIndex)
            } else {
                diags.push(
                    Problem::new(
                        "plinth::count_index",
                        format!("`${{count.index}}` used {}", scope.place),
                    )
                    .at(here, "only valid inside a resource with `count`")
                    .help("add `count = N` to the resource, or remove `${count.index}`"),
                );
                unknown
            }
        }
        Target::EachKey | Target::EachValue(_) if !scope.keyed => {
            diags.push(
                Problem::new(
                    "plinth::each_outside_for_each",
                    format!("`each` used {}", scope.place),
                )
                .at(here, "only valid inside a block with `for_each`")
                .help("add `for_each = ...` to the block, or remove `${each...}`"),
            );
            unknown
        }
        Target::EachKey => Resolved::Piece(Piece::EachKey),
        Target::EachValue(path) => Resolved::Piece(Piece::EachValue(path)),
        Target::Module {
            name,
            index,
            output,
            path,
        } => match super::modules::output(&name, index, &output, &path, here, scope, diags) {
            Some(lowered) => Resolved::Lowered(lowered),
            None => unknown,
        },
        Target::Secret(name) => resolve_secret(name, here, scope, diags),
        Target::Resource {
            type_name,
            name,
            index,
            path,
        } => match check_reference(type_name, name, index, path, here, scope, diags) {
            Some(r) => Resolved::Piece(Piece::Ref(r)),
            None => unknown,
        },
    }
}

fn resolve_secret(
    name: String,
    here: Origin,
    scope: &Scope<'_>,
    diags: &mut Diagnostics,
) -> Resolved {
    let Some(secrets) = scope.secrets else {
        diags.push(
            Problem::new(
                "plinth::secret_not_allowed",
                format!("secrets cannot be used {}", scope.place),
            )
            .at(here, "a secret is not allowed here")
            .help("secrets may be used in resource attributes and outputs"),
        );
        return Resolved::Value(Value::Unknown);
    };
    if !secrets.contains(&name) && !scope.module.is_root() {
        diags.push(
            Problem::new(
                "plinth::unknown_secret",
                format!("a module cannot read the stack's secret `{name}`"),
            )
            .at(here, "secrets are passed to a module as inputs")
            .help(format!(
                "declare a variable (`[variables] {name} = {{ type = \"string\" }}`), use `${{var.{name}}}` here, and give it in the call: `{name} = \"${{secret.{name}}}\"`"
            )),
        );
        return Resolved::Value(Value::Unknown);
    }
    if !secrets.contains(&name) {
        diags.push(
            Problem::new("plinth::unknown_secret", format!("unknown secret `{name}`"))
                .at(here, "not declared in `[secrets]`")
                .help(format!(
                    "declare it, e.g. `[secrets] {name} = {{ from = \"env:{}\" }}`; {}",
                    name.to_uppercase(),
                    suggestion(
                        &name,
                        secrets.iter().map(String::as_str),
                        "declared secrets"
                    )
                )),
        );
        return Resolved::Value(Value::Unknown);
    }
    Resolved::Piece(Piece::Secret(SecretRef { name, origin: here }))
}

/// `var.NAME` when a string is exactly `"${var.NAME}"`.
pub(crate) fn lone_variable(node: &Node) -> Option<String> {
    let text = node.as_str()?;
    // Cheap refusal first: this runs for every instance of a counted block with a type
    // error, and splitting a long string each time made a fuzzed stack take seconds.
    let inner = text.strip_prefix("${")?.strip_suffix('}')?;
    if inner.contains(['{', '}']) {
        return None;
    }
    let segments = split(text).ok()?;
    match segments.as_slice() {
        [Segment::Interpolation { inner, .. }] => match parse_target(inner) {
            Ok(Target::Var(name)) => Some(name),
            _ => None,
        },
        _ => None,
    }
}
