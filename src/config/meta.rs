//! Resource meta-arguments other than `count`: `depends_on = ["type.name", ...]`,
//! `lifecycle = { prevent_destroy, create_before_destroy, ignore_changes }` and
//! `timeouts = { create = "40m", update = "1h30m", delete = "90s" }`.

use plinth_provider::Schema;

use super::diagnostics::{listing, suggestion, Diagnostics, Problem};
use super::model::{Address, Lifecycle, Origin, Timeouts};
use super::raw::{Node, NodeValue};
use super::references::{Count, ResourceIndex};
use super::sections::{unknown_key, wrong_type};

/// The meta-arguments of one block.
#[derive(Clone, Debug, Default)]
pub(crate) struct MetaArguments {
    pub depends_on: Vec<(Address, Origin)>,
    pub lifecycle: Lifecycle,
    pub timeouts: Timeouts,
}

/// `depends_on = ["type.name", "type.name[0]"]`: every entry must exist.
pub(crate) fn depends_on(
    node: &Node,
    index: &ResourceIndex<'_>,
    scope: &super::expr::Scope<'_>,
    diags: &mut Diagnostics,
) -> Vec<(Address, Origin)> {
    let NodeValue::Array(items) = &node.value else {
        wrong_type(
            node,
            "`depends_on`",
            "a list of resource addresses such as `[\"aws_s3_bucket.backups\"]`",
            diags,
        );
        return Vec::new();
    };
    let mut out = Vec::new();
    for item in items {
        let Some(text) = item.as_str() else {
            wrong_type(
                item,
                "a `depends_on` entry",
                "a string `\"TYPE.NAME\"`",
                diags,
            );
            continue;
        };
        if let Some(call) = super::modules::call_named(text.trim()) {
            match scope.modules.and_then(|m| m.resources_of(call)) {
                Some(addresses) => out.extend(addresses.iter().map(|a| (a.clone(), item.origin))),
                None => diags.push(
                    Problem::new(
                        "plinth::unknown_module",
                        format!("unknown module `{call}` in `depends_on`"),
                    )
                    .at(item.origin, "no such module call here")
                    .help(listing(
                        call,
                        scope.modules.into_iter().flat_map(|m| m.names()),
                        "module calls here",
                    )),
                ),
            }
            continue;
        }
        let Some(address) = Address::parse(text.trim()) else {
            diags.push(
                Problem::new(
                    "plinth::bad_address",
                    format!("`{text}` is not a resource address"),
                )
                .at(item.origin, "expected `TYPE.NAME` or `TYPE.NAME[INDEX]`")
                .help("e.g. `depends_on = [\"aws_rds_instance.primary\"]`"),
            );
            continue;
        };
        let block = address.block();
        let Some(info) = index.get(&block) else {
            diags.push(
                Problem::new(
                    "plinth::unknown_reference",
                    format!("unknown resource `{block}` in `depends_on`"),
                )
                .at(item.origin, "no such resource in this stack")
                .help(listing(
                    &block,
                    index.keys().map(String::as_str),
                    "resources in this stack",
                )),
            );
            continue;
        };
        let address = address.in_module(scope.module.clone());
        match (&info.count, address.index()) {
            (Count::Counted(n), Some(i)) if i >= *n => diags.push(
                Problem::new(
                    "plinth::index_out_of_range",
                    format!("index {i} is out of range for `{block}`"),
                )
                .at(item.origin, format!("`{block}` has {n} instances")),
            ),
            (Count::Single, Some(_)) => diags.push(
                Problem::new(
                    "plinth::unexpected_index",
                    format!("`{block}` has no `count`, so it cannot be indexed"),
                )
                .at(item.origin, "remove the index")
                .help(format!("write `\"{block}\"`")),
            ),
            _ => out.push((address, item.origin)),
        }
    }
    out
}

/// `lifecycle = { prevent_destroy = bool, create_before_destroy = bool, ignore_changes = [..] }`.
pub(crate) fn lifecycle(
    node: &Node,
    schema: &Schema,
    variables: &std::collections::BTreeMap<String, plinth_provider::Value>,
    diags: &mut Diagnostics,
) -> Lifecycle {
    let mut out = Lifecycle::default();
    let Some(table) = node.as_table() else {
        wrong_type(
            node,
            "`lifecycle`",
            "a table such as `{ prevent_destroy = true }`",
            diags,
        );
        return out;
    };
    for item in &table.entries {
        // `prevent_destroy = "${var.protect}"`: a variable known at load time, so production
        // can be protected while staging is not.
        let from_variable =
            super::expr::lone_variable(&item.value).map(|name| match variables.get(&name) {
                Some(plinth_provider::Value::Bool(b)) => Ok(*b),
                Some(plinth_provider::Value::String(t)) if t == "true" || t == "false" => {
                    Ok(t == "true")
                }
                Some(_) => Err(format!("`var.{name}` is not `true` or `false`")),
                None => Err(format!("unknown variable `{name}`")),
            });
        let value = match (&item.value.value, from_variable) {
            (NodeValue::Boolean(b), _) => Some(*b),
            (_, Some(Ok(b))) => Some(b),
            (_, Some(Err(message))) if item.key != "ignore_changes" => {
                diags.push(
                    Problem::new(
                        "plinth::wrong_type",
                        format!("`{}` must be `true` or `false`", item.key),
                    )
                    .at(item.value.origin, message)
                    .help("declare the variable with a boolean default, e.g. `protect = { default = true, staging = false }`"),
                );
                continue;
            }
            _ => None,
        };
        match (item.key.as_str(), value, &item.value.value) {
            ("prevent_destroy", Some(b), _) => out.prevent_destroy = b,
            ("create_before_destroy", Some(b), _) => out.create_before_destroy = b,
            ("prevent_destroy" | "create_before_destroy", None, _) => wrong_type(
                &item.value,
                &format!("`{}`", item.key),
                "`true` or `false`",
                diags,
            ),
            ("ignore_changes", _, NodeValue::Array(names)) => {
                for name in names {
                    match name.as_str() {
                        Some(n) if schema.get(n).is_some() => {
                            out.ignore_changes.push(n.to_string())
                        }
                        Some(n) => diags.push(
                            Problem::new(
                                "plinth::unknown_attribute",
                                format!("`{}` has no attribute `{n}`", schema.type_name),
                            )
                            .at(name.origin, "not an attribute of this type")
                            .help(suggestion(
                                n,
                                schema.input_names(),
                                &format!("attributes of `{}`", schema.type_name),
                            )),
                        ),
                        None => wrong_type(
                            name,
                            "an `ignore_changes` entry",
                            "an attribute name",
                            diags,
                        ),
                    }
                }
            }
            ("ignore_changes", _, _) => wrong_type(
                &item.value,
                "`ignore_changes`",
                "a list of attribute names",
                diags,
            ),
            _ => unknown_key(
                item,
                "`lifecycle`",
                &["prevent_destroy", "create_before_destroy", "ignore_changes"],
                diags,
            ),
        }
    }
    out
}

/// `timeouts = { create = "40m", update = "1h30m", delete = "90s" }` (or whole seconds).
pub(crate) fn timeouts(node: &Node, diags: &mut Diagnostics) -> Timeouts {
    let mut out = Timeouts::default();
    let Some(table) = node.as_table() else {
        wrong_type(
            node,
            "`timeouts`",
            "a table such as `{ create = \"40m\" }`",
            diags,
        );
        return out;
    };
    for item in &table.entries {
        let slot = match item.key.as_str() {
            "create" => &mut out.create,
            "update" => &mut out.update,
            "delete" => &mut out.delete,
            _ => {
                unknown_key(item, "`timeouts`", &["create", "update", "delete"], diags);
                continue;
            }
        };
        let seconds = match &item.value.value {
            NodeValue::Integer(n) if *n > 0 => Some(*n as u64),
            NodeValue::String(s) => parse_duration(s),
            _ => None,
        };
        match seconds {
            Some(s) => *slot = Some(s),
            None => diags.push(
                Problem::new("plinth::bad_timeout", format!("`{}` is not a duration", item.key))
                    .at(item.value.origin, "expected a duration such as \"40m\"")
                    .help("write a duration like `\"1h30m\"`, `\"40m\"`, `\"90s\"`, `\"250ms\"` or `\"1d\"`, or whole seconds"),
            ),
        }
    }
    out
}

/// Parses a timeout (`"250ms"`, `"90s"`, `"40m"`, `"1h30m"`, `"2d"`, the grammar of
/// [`crate::duration`]) into whole seconds, rounded up; `None` unless more than zero.
pub(crate) fn parse_duration(text: &str) -> Option<u64> {
    let seconds = crate::duration::whole_seconds_up(crate::duration::parse(text).ok()?);
    (seconds > 0).then_some(seconds)
}

#[cfg(test)]
mod tests {
    use super::parse_duration;

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("40m"), Some(2400));
        assert_eq!(parse_duration("1h30m"), Some(5400));
        assert_eq!(parse_duration("90s"), Some(90));
        assert_eq!(parse_duration("1d"), Some(86_400));
        // Regression (issue 14): `"250ms"` was refused; timeouts are whole seconds, rounded up.
        assert_eq!(parse_duration("250ms"), Some(1));
        assert_eq!(parse_duration("40"), Some(40));
        assert_eq!(parse_duration("m"), None);
        assert_eq!(parse_duration("0s"), None);
        assert_eq!(parse_duration("5x"), None);
    }
}
