//! Lowering `[TYPE.NAME]` blocks: `count`, attributes checked against the type's schema,
//! and expansion into one [`ResourceConfig`] per instance. The meta-arguments `depends_on`,
//! `lifecycle` and `timeouts` are in `meta`.

use std::collections::BTreeMap;

use plinth_provider::{AttributeMode, Schema, Value, DATA_PREFIX};

use super::diagnostics::{nearest, one_of, suggestion, Diagnostics, Problem};
use super::document::RawResource;
use super::expr::{check_view, instantiate, lone_variable, lower, lowered_size, Lowered, Scope};
use super::limits::{show_size, Budget, Limit, HELD_COPIES};
use super::meta;
use super::model::{Expr, ResourceConfig};
use super::raw::Node;
use super::references::{BlockInfo, Count, Instance, ResourceIndex};
use super::sections::known;

/// Keys of a resource block that are not attributes.
pub(crate) const META_ARGUMENTS: [&str; 5] =
    ["count", "for_each", "depends_on", "lifecycle", "timeouts"];

/// Evaluates every block's `count` and builds the index references are checked against.
pub(crate) fn index<'a>(
    resources: &[RawResource],
    schemas: &'a BTreeMap<String, Schema>,
    scope: &Scope<'_>,
    diags: &mut Diagnostics,
) -> ResourceIndex<'a> {
    let mut out = ResourceIndex::new();
    for resource in resources {
        let count = repetition(resource.entry.value.as_table(), scope, diags);
        let key = format!("{}.{}", resource.type_name, resource.entry.key);
        out.insert(
            key,
            BlockInfo {
                count,
                schema: schemas.get(&resource.type_name),
            },
        );
    }
    out
}

/// The `count` or `for_each` of a block (resource or module call).
pub(crate) fn repetition(
    body: Option<&super::raw::Table>,
    scope: &Scope<'_>,
    diags: &mut Diagnostics,
) -> Count {
    let count = body.and_then(|t| t.get("count"));
    let for_each = body.and_then(|t| t.get("for_each"));
    match (count, for_each) {
        (Some(count), Some(for_each)) => {
            diags.push(
                Problem::new(
                    "plinth::count_and_for_each",
                    "a block cannot have both `count` and `for_each`",
                )
                .at(for_each.key_origin, "`for_each` here")
                .also(count.key_origin, "`count` here")
                .help("keep one: `count = N` numbers the instances, `for_each` names them"),
            );
            Count::Invalid
        }
        (Some(entry), None) => evaluate_count(&entry.value, scope, diags),
        (None, Some(entry)) => evaluate_for_each(&entry.value, scope, diags),
        (None, None) => Count::Single,
    }
}

/// `for_each = { key = value, ... }` or `["a", "b"]` (a set of strings), known at load.
fn evaluate_for_each(node: &Node, scope: &Scope<'_>, diags: &mut Diagnostics) -> Count {
    let for_each_scope = Scope {
        secrets: None,
        resources: None,
        counted: false,
        keyed: false,
        modules: None,
        place: "in `for_each`",
        ..*scope
    };
    let value = known(node, &for_each_scope, diags);
    let keys: Vec<(String, Value)> = match value {
        Value::Unknown => return Count::Invalid,
        Value::Map(map) => map.into_iter().collect(),
        Value::List(items) => {
            let mut keys = Vec::new();
            for item in items {
                match item {
                    Value::String(s) => keys.push((s.clone(), Value::String(s))),
                    other => {
                        diags.push(
                            Problem::new(
                                "plinth::bad_for_each",
                                "bad for_each: a list must hold strings (a set of keys)",
                            )
                            .at(node.origin, format!("it holds a {}", other.kind_name()))
                            .help("use a table `{ key = value }` to give each instance a value"),
                        );
                        return Count::Invalid;
                    }
                }
            }
            keys.sort_by(|a, b| a.0.cmp(&b.0));
            keys.dedup_by(|a, b| a.0 == b.0);
            keys
        }
        other => {
            diags.push(
                Problem::new(
                    "plinth::bad_for_each",
                    "bad for_each: it must be a table or a list of strings",
                )
                .at(node.origin, format!("this is {other}"))
                .help("write `for_each = { logs = \"...\", assets = \"...\" }`, `for_each = [\"a\", \"b\"]` or `for_each = \"${var.NAME}\"`"),
            );
            return Count::Invalid;
        }
    };
    let max_count = scope.budget.limits.max_count;
    if keys.len() > max_count {
        diags.push(
            Problem::new(
                "plinth::count_too_large",
                format!(
                    "`for_each` has {} keys, more than the limit of {max_count} instances of one block",
                    keys.len()
                ),
            )
            .at(node.origin, format!("{} instances", keys.len()))
            .help(Limit::Count.how_to_raise(keys.len())),
        );
        return Count::Invalid;
    }
    Count::Keyed(std::rc::Rc::new(keys))
}

fn evaluate_count(node: &Node, scope: &Scope<'_>, diags: &mut Diagnostics) -> Count {
    let count_scope = Scope {
        secrets: None,
        resources: None,
        counted: false,
        keyed: false,
        modules: None,
        place: "in `count`",
        ..*scope
    };
    let value = known(node, &count_scope, diags);
    let number = match &value {
        Value::Int(n) => Some(*n),
        Value::String(s) => s.trim().parse::<i64>().ok(),
        Value::Unknown => return Count::Invalid,
        _ => None,
    };
    let max_count = scope.budget.limits.max_count;
    match number {
        Some(n) if n >= 0 && (n as u64) > max_count as u64 => {
            diags.push(
                Problem::new(
                    "plinth::count_too_large",
                    format!("`count = {n}` is more than the limit of {max_count} instances of one block"),
                )
                .at(node.origin, format!("{n} instances"))
                .help(format!(
                    "check the number (a typo?); {}",
                    Limit::Count.how_to_raise(n)
                )),
            );
            Count::Invalid
        }
        Some(n) if n >= 0 => Count::Counted(n as usize),
        _ => {
            let shown = match &value {
                Value::String(s) => format!("{s:?}"),
                other => other.to_string(),
            };
            diags.push(
                Problem::new("plinth::bad_count", "bad count: `count` must be a whole number, 0 or more")
                    .at(node.origin, format!("this is {shown}"))
                    .help("write `count = 3` or `count = \"${var.NAME}\"` with a variable holding a whole number"),
            );
            Count::Invalid
        }
    }
}

/// Checks that the blocks' instances, all counted, stay within `max_resources`; reports the
/// block where the total passes the limit.
pub(crate) fn within_resource_limit(
    resources: &[RawResource],
    index: &ResourceIndex<'_>,
    max_resources: usize,
    diags: &mut Diagnostics,
) -> bool {
    let instances = |count: Option<&Count>| match count {
        Some(Count::Counted(n)) => *n,
        Some(Count::Keyed(keys)) => keys.len(),
        Some(Count::Single) => 1,
        _ => 0,
    };
    // The common case without a key per block: the index holds every block once.
    let sum = index.values().fold(0usize, |sum, b| {
        sum.saturating_add(instances(Some(&b.count)))
    });
    if sum <= max_resources {
        return true;
    }
    let mut total: usize = 0;
    let mut over: Option<&RawResource> = None;
    for resource in resources {
        let key = format!("{}.{}", resource.type_name, resource.entry.key);
        total = total.saturating_add(instances(index.get(&key).map(|b| &b.count)));
        if total > max_resources && over.is_none() {
            over = Some(resource);
        }
    }
    let Some(resource) = over else {
        return true;
    };
    diags.push(
        Problem::new(
            "plinth::too_many_resources",
            format!(
                "the stack has {total} resource instances, more than the limit of {max_resources}"
            ),
        )
        .at(
            resource.entry.value.origin,
            format!(
                "instance {} is in this block",
                max_resources.saturating_add(1)
            ),
        )
        .help(format!(
            "check the `count`s (a typo?); {}",
            Limit::Resources.how_to_raise(total)
        )),
    );
    false
}

/// Lowers every resource block with a known type into its instances.
pub(crate) fn lower_all(
    resources: &[RawResource],
    index: &ResourceIndex<'_>,
    scope: &Scope<'_>,
    diags: &mut Diagnostics,
) -> Vec<ResourceConfig> {
    let mut out = Vec::new();
    for resource in resources {
        let key = format!("{}.{}", resource.type_name, resource.entry.key);
        let Some(block) = index.get(&key) else {
            continue;
        };
        let Some(schema) = block.schema else { continue };
        out.extend(lower_block(
            resource,
            schema,
            &block.count,
            index,
            scope,
            diags,
        ));
    }
    out
}

fn lower_block(
    resource: &RawResource,
    schema: &Schema,
    count: &Count,
    index: &ResourceIndex<'_>,
    scope: &Scope<'_>,
    diags: &mut Diagnostics,
) -> Vec<ResourceConfig> {
    let header = resource.entry.value.origin;
    let Some(body) = resource.entry.value.as_table() else {
        return Vec::new();
    };
    let place = format!("in `{}.{}`", resource.type_name, resource.entry.key);
    let scope = Scope {
        resources: Some(index),
        // An invalid count or for_each is reported already: nothing more about its instances.
        counted: matches!(count, Count::Counted(_) | Count::Invalid),
        keyed: matches!(count, Count::Keyed(_) | Count::Invalid),
        place: &place,
        ..*scope
    };
    let mut attributes: Vec<(&str, &Node, Lowered)> = Vec::new();
    let mut meta_args = meta::MetaArguments::default();
    for entry in &body.entries {
        match entry.key.as_str() {
            "count" | "for_each" => {}
            "depends_on" => {
                meta_args.depends_on = meta::depends_on(&entry.value, index, &scope, diags)
            }
            "lifecycle" => {
                meta_args.lifecycle = meta::lifecycle(&entry.value, schema, scope.variables, diags)
            }
            "timeouts" => meta_args.timeouts = meta::timeouts(&entry.value, diags),
            name => match schema.get(name) {
                None => {
                    let near = nearest(name, schema.input_names().chain(META_ARGUMENTS));
                    let help = if near.is_empty() {
                        suggestion(
                            name,
                            schema.input_names(),
                            &format!("attributes of `{}`", schema.type_name),
                        )
                    } else {
                        format!("did you mean {}?", one_of(&near))
                    };
                    diags.push(
                        Problem::new(
                            "plinth::unknown_attribute",
                            format!("`{}` has no attribute `{name}`", schema.type_name),
                        )
                        .at(entry.key_origin, "unknown attribute")
                        .help(help),
                    );
                }
                Some(attribute) if attribute.mode == AttributeMode::Computed => {
                    diags.push(
                        Problem::new(
                            "plinth::computed_attribute",
                            format!("`{name}` is computed by the provider and cannot be set"),
                        )
                        .at(entry.key_origin, "computed attribute")
                        .help(format!(
                            "remove it; read it elsewhere as `${{{}.{}.{name}}}`",
                            resource.type_name, resource.entry.key
                        )),
                    );
                }
                Some(_) => {
                    attributes.push((name, &entry.value, lower(&entry.value, &scope, diags)))
                }
            },
        }
    }
    for attribute in schema
        .attributes
        .iter()
        .filter(|a| a.mode == AttributeMode::Required)
    {
        if body.get(&attribute.name).is_none() {
            diags.push(
                Problem::new(
                    "plinth::missing_attribute",
                    format!(
                        "`{}.{}` is missing the required attribute `{}`",
                        resource.type_name, resource.entry.key, attribute.name
                    ),
                )
                .at(header, format!("`{}` is required", attribute.name))
                .help(format!(
                    "add `{} = <{}>`",
                    attribute.name,
                    attribute.value_type.describe()
                )),
            );
        }
    }
    let instances = match count {
        Count::Single => 1,
        Count::Counted(n) => *n as u64,
        Count::Keyed(keys) => keys.len() as u64,
        Count::Invalid => 0,
    };
    let each: u64 = attributes
        .iter()
        .map(|(name, _, lowered)| name.len() as u64 + lowered_size(lowered))
        .sum::<u64>()
        + 256;
    let cost = instances.saturating_mul(each);
    if !scope.budget.take(cost) {
        if scope.budget.first_overrun() {
            let held = Budget::charge(cost);
            diags.push(
                Problem::new(
                    "plinth::expansion_too_large",
                    format!(
                        "`{}.{}` would hold about {} in the plan ({instances} instances of {}, each held {HELD_COPIES} times), more than the limit of {}",
                        resource.type_name,
                        resource.entry.key,
                        show_size(held),
                        show_size(each),
                        show_size(scope.budget.limit()),
                    ),
                )
                .at(header, "expanded here")
                .help(format!(
                    "lower the `count` or shorten the values; {}",
                    Limit::Expansion.how_to_raise(format!(
                        "{}MiB",
                        (scope.budget.used().saturating_add(held)) / (1024 * 1024) + 1
                    ))
                )),
            );
        }
        return Vec::new();
    }
    let mut out = Vec::new();
    for instance in instances_of(count) {
        let mut values = BTreeMap::new();
        for (name, node, lowered) in &attributes {
            let Some(attribute) = schema.get(name) else {
                continue;
            };
            let expr = instantiate(lowered, &instance, diags);
            if let Err(mismatch) = attribute.value_type.check(&check_view(&expr)) {
                let at = node.find(&mismatch.path);
                diags.push(
                    Problem::new(
                        "plinth::wrong_type",
                        format!(
                            "wrong type for `{name}{}`: {}",
                            mismatch.path, mismatch.message
                        ),
                    )
                    .at(at.origin, mismatch.message.clone())
                    .help(type_help(
                        name,
                        schema,
                        attribute,
                        node,
                        scope.variables,
                    )),
                );
            }
            let expr = if attribute.sensitive {
                mark_sensitive(expr)
            } else {
                expr
            };
            values.insert(name.to_string(), expr);
        }
        for attribute in &schema.attributes {
            if let (Some(default), false) =
                (&attribute.default, values.contains_key(&attribute.name))
            {
                let expr = Expr::Literal(default.clone());
                let expr = if attribute.sensitive {
                    mark_sensitive(expr)
                } else {
                    expr
                };
                values.insert(attribute.name.clone(), expr);
            }
        }
        let address = super::model::Address::new(&resource.type_name, &resource.entry.key)
            .with_key(instance.key)
            .in_module(scope.module.clone());
        let mut depends_on = meta_args.depends_on.clone();
        depends_on.extend(scope.inherited_depends_on.iter().cloned());
        out.push(ResourceConfig {
            address,
            attributes: values,
            depends_on,
            lifecycle: meta_args.lifecycle.clone(),
            timeouts: meta_args.timeouts,
            origin: header,
        });
    }
    out
}

/// The instances of a block: none, one without a key, `count` indexes or `for_each` keys.
pub(crate) fn instances_of(count: &Count) -> Vec<Instance> {
    match count {
        Count::Single => vec![Instance::NONE],
        Count::Counted(n) => (0..*n).map(Instance::index).collect(),
        Count::Keyed(keys) => keys
            .iter()
            .map(|(k, v)| Instance {
                key: Some(super::model::InstanceKey::Key(k.clone())),
                value: Some(v.clone()),
            })
            .collect(),
        Count::Invalid => Vec::new(),
    }
}

fn type_help(
    name: &str,
    schema: &Schema,
    attribute: &plinth_provider::Attribute,
    node: &Node,
    variables: &BTreeMap<String, Value>,
) -> String {
    let mut help = format!(
        "`{name}` of `{}` has type: {}",
        schema.type_name,
        attribute.value_type.describe()
    );
    if let Some(var) = lone_variable(node) {
        if let Some(value) = variables.get(&var) {
            help.push_str(&format!("; the value comes from `var.{var}` = {value}"));
        }
    }
    help
}

/// Wraps the literal leaves of an expression as sensitive values.
pub(crate) fn mark_sensitive(expr: Expr) -> Expr {
    match expr {
        Expr::Literal(v) if !v.is_null() => Expr::Literal(v.sensitive()),
        Expr::List(items) => Expr::List(items.into_iter().map(mark_sensitive).collect()),
        Expr::Map(map) => Expr::Map(
            map.into_iter()
                .map(|(k, e)| (k, mark_sensitive(e)))
                .collect(),
        ),
        other => other,
    }
}

/// Separates the `[data.TYPE.NAME]` blocks from the resources. A data source is read before
/// anything is planned, so its arguments may use variables and other data sources, not
/// resources (reported here).
pub(crate) fn split_data(
    lowered: Vec<ResourceConfig>,
    diags: &mut Diagnostics,
) -> (Vec<ResourceConfig>, Vec<ResourceConfig>) {
    // Most stacks have no data source: keep the vector as it is (no move of every config).
    if !lowered
        .iter()
        .any(|r| r.address.type_name.starts_with(DATA_PREFIX))
    {
        return (Vec::new(), lowered);
    }
    let (data, resources): (Vec<_>, Vec<_>) = lowered
        .into_iter()
        .partition(|r| r.address.type_name.starts_with(DATA_PREFIX));
    for block in &data {
        for expr in block.attributes.values() {
            for reference in expr.references() {
                if reference.target.type_name.starts_with(DATA_PREFIX) {
                    continue;
                }
                diags.push(
                    Problem::new(
                        "plinth::data_depends_on_resource",
                        format!(
                            "`{}` refers to the resource `{}`",
                            block.address, reference.target
                        ),
                    )
                    .at(reference.origin, "known only after apply")
                    .help("data sources are read when the plan starts: their arguments may use variables, `${env}` and other data sources, not resources of the stack"),
                );
            }
        }
        for secret in block.attributes.values().flat_map(|e| e.secrets()) {
            diags.push(
                Problem::new(
                    "plinth::secret_in_data",
                    format!("`{}` uses the secret `{}`", block.address, secret.name),
                )
                .at(secret.origin, "a secret here")
                .help("what a data source reads is shown in plans: look up by names, ids and tags"),
            );
        }
        if !block.depends_on.is_empty() {
            diags.push(
                Problem::new(
                    "plinth::data_depends_on_resource",
                    format!("`{}` has `depends_on`", block.address),
                )
                .at(block.origin, "read when the plan starts")
                .help("data sources are read before anything is planned: remove `depends_on`"),
            );
        }
    }
    (data, resources)
}
