//! Assembling the files of a stack into one document: the top-level tables of every file are
//! sorted into sections (`[stack]`, `[variables]`, ...) and resource blocks (`[TYPE.NAME]`).
//! Tables may be split across files, but every definition (the `[stack]` and `[backend]`
//! tables, each variable, secret, output, provider and precondition block, each resource)
//! must be written once: a second one is an error pointing at both.

use std::collections::BTreeMap;

use foldhash::{HashMap, HashMapExt};

use plinth_provider::Schema;

use super::diagnostics::{suggestion, Diagnostics, Problem};
use super::model::Origin;
use super::raw::{Entry, NodeValue, Table};
use plinth_provider::DATA_PREFIX;

/// The reserved top-level tables.
pub(crate) const SECTIONS: [&str; 12] = [
    "stack",
    "module",
    "data",
    "backend",
    "providers",
    "variables",
    "secrets",
    "outputs",
    "preconditions",
    "waivers",
    "moved",
    "removed",
];

/// `[TYPE.NAME]`.
#[derive(Clone, Debug)]
pub(crate) struct RawResource {
    pub type_name: String,
    /// The entry under the type: its key is the resource name, its value the body.
    pub entry: Entry,
}

/// Every file's definitions, sorted into sections (each in file order, files in name order).
#[derive(Clone, Debug, Default)]
pub(crate) struct RawStack {
    pub stack: Option<Entry>,
    pub backend: Option<Entry>,
    pub providers: Vec<Entry>,
    pub variables: Vec<Entry>,
    pub secrets: Vec<Entry>,
    pub outputs: Vec<Entry>,
    pub preconditions: Vec<Entry>,
    pub waivers: Vec<Entry>,
    /// The tables of `[[moved]]` and `[[removed]]`, in file order.
    pub moved: Vec<super::raw::Node>,
    pub removed: Vec<super::raw::Node>,
    pub resources: Vec<RawResource>,
    /// `[module.NAME]` calls.
    pub modules: Vec<Entry>,
}

/// Sorts the top-level tables of every file into a [`RawStack`].
pub(crate) fn assemble(
    files: Vec<Table>,
    schemas: &BTreeMap<String, Schema>,
    diags: &mut Diagnostics,
) -> RawStack {
    let mut raw = RawStack::default();
    let mut seen: HashMap<String, Origin> = HashMap::new();
    for root in files {
        for entry in root.entries {
            match entry.key.as_str() {
                "stack" | "backend" => {
                    if !is_table(&entry, diags) || duplicate(&mut seen, &entry.key, &entry, diags) {
                        continue;
                    }
                    if entry.key == "stack" {
                        raw.stack = Some(entry);
                    } else {
                        raw.backend = Some(entry);
                    }
                }
                section @ ("providers" | "variables" | "secrets" | "outputs" | "preconditions"
                | "waivers") => {
                    if !is_table(&entry, diags) {
                        continue;
                    }
                    let section = section.to_string();
                    let NodeValue::Table(table) = entry.value.value else {
                        continue;
                    };
                    for item in table.entries {
                        if duplicate(&mut seen, &format!("{section}.{}", item.key), &item, diags) {
                            continue;
                        }
                        match section.as_str() {
                            "providers" => raw.providers.push(item),
                            "variables" => raw.variables.push(item),
                            "secrets" => raw.secrets.push(item),
                            "outputs" => raw.outputs.push(item),
                            "waivers" => raw.waivers.push(item),
                            _ => raw.preconditions.push(item),
                        }
                    }
                }
                "moved" | "removed" => match entry.value.value {
                    NodeValue::Array(items) => {
                        if entry.key == "moved" {
                            raw.moved.extend(items);
                        } else {
                            raw.removed.extend(items);
                        }
                    }
                    _ => diags.push(
                        Problem::new(
                            "plinth::bad_moved",
                            format!(
                                "`{}` must be written as `[[{}]]` tables",
                                entry.key, entry.key
                            ),
                        )
                        .at(entry.key_origin, "not an array of tables")
                        .help(format!(
                            "write `[[{}]]` then `from = \"TYPE.NAME\"`{}",
                            entry.key,
                            if entry.key == "moved" {
                                " and `to = \"TYPE.NEW\"`"
                            } else {
                                ""
                            }
                        )),
                    ),
                },
                "module" => {
                    if !is_table(&entry, diags) {
                        continue;
                    }
                    let NodeValue::Table(table) = entry.value.value else {
                        continue;
                    };
                    for call in table.entries {
                        if !is_table(&call, diags)
                            || duplicate(&mut seen, &format!("module.{}", call.key), &call, diags)
                        {
                            continue;
                        }
                        raw.modules.push(call);
                    }
                }
                "data" => {
                    if !is_table(&entry, diags) {
                        continue;
                    }
                    let NodeValue::Table(table) = entry.value.value else {
                        continue;
                    };
                    for source in table.entries {
                        let type_name = format!("{DATA_PREFIX}{}", source.key);
                        resource_blocks(type_name, source, schemas, &mut seen, &mut raw, diags);
                    }
                }
                type_name => {
                    let type_name = type_name.to_string();
                    resource_blocks(type_name, entry, schemas, &mut seen, &mut raw, diags);
                }
            }
        }
    }
    raw
}

/// The `[TYPE.NAME]` blocks under one type's table (`data.TYPE` for `[data.TYPE.NAME]`).
fn resource_blocks(
    type_name: String,
    entry: Entry,
    schemas: &BTreeMap<String, Schema>,
    seen: &mut HashMap<String, Origin>,
    raw: &mut RawStack,
    diags: &mut Diagnostics,
) {
    let NodeValue::Table(table) = entry.value.value else {
        diags.push(
            Problem::new(
                "plinth::unexpected_key",
                format!("unexpected top-level key `{type_name}`"),
            )
            .at(
                entry.key_origin,
                "a top-level key must be a section or a resource type",
            )
            .help(format!(
                "resources are written as `[TYPE.NAME]` tables; the sections are {}",
                SECTIONS.map(|s| format!("`[{s}]`")).join(", ")
            )),
        );
        return;
    };
    let known = schemas.contains_key(&type_name);
    let top = entry.value.origin;
    let mut reported_at_top = false;
    for item in table.entries {
        let is_table = matches!(item.value.value, NodeValue::Table(_));
        if !known {
            // A misspelt section (`[variable]`) is reported once, at its header.
            let at = if is_table { item.value.origin } else { top };
            if is_table || !reported_at_top {
                diags.push(unknown_type(&type_name, at, schemas));
            }
            reported_at_top |= !is_table;
        }
        if !is_table {
            if known {
                diags.push(
                    Problem::new(
                        "plinth::not_a_table",
                        format!("resource `{type_name}.{}` must be a table", item.key),
                    )
                    .at(
                        item.value.origin,
                        format!("this is a {}", item.value.kind_name()),
                    )
                    .help(format!(
                        "write `[{type_name}.{}]` followed by its attributes",
                        item.key
                    )),
                );
            }
            continue;
        }
        if duplicate(seen, &format!("{type_name}.{}", item.key), &item, diags) {
            continue;
        }
        raw.resources.push(RawResource {
            type_name: type_name.clone(),
            entry: item,
        });
    }
}

fn unknown_type(type_name: &str, at: Origin, schemas: &BTreeMap<String, Schema>) -> Problem {
    let candidates = schemas.keys().map(String::as_str).chain(SECTIONS);
    Problem::new(
        "plinth::unknown_type",
        format!("unknown resource type `{type_name}`"),
    )
    .at(at, format!("`{type_name}` is not a type of any provider"))
    .help(suggestion(
        type_name,
        candidates,
        "known types and sections",
    ))
}

fn is_table(entry: &Entry, diags: &mut Diagnostics) -> bool {
    if matches!(entry.value.value, NodeValue::Table(_)) {
        return true;
    }
    diags.push(
        Problem::new(
            "plinth::not_a_table",
            format!("`{}` must be a table", entry.key),
        )
        .at(
            entry.value.origin,
            format!("this is a {}", entry.value.kind_name()),
        )
        .help(format!("write `[{}]` followed by its keys", entry.key)),
    );
    false
}

/// Records a definition; true (and an error pointing at both) when it was already defined.
fn duplicate(
    seen: &mut HashMap<String, Origin>,
    name: &str,
    entry: &Entry,
    diags: &mut Diagnostics,
) -> bool {
    let here = definition_origin(entry);
    match seen.get(name) {
        Some(first) => {
            diags.push(
                Problem::new("plinth::duplicate_definition", format!("`{name}` is defined twice"))
                    .at(here, "defined again here")
                    .also(*first, "first defined here")
                    .help("keep one definition (tables may be split across files, but each one only once)"),
            );
            true
        }
        None => {
            seen.insert(name.to_string(), here);
            false
        }
    }
}

/// The `[header]` of a table defined by one, else the key.
fn definition_origin(entry: &Entry) -> Origin {
    match entry.value.value {
        NodeValue::Table(_)
            if entry.value.origin.span.offset() < entry.key_origin.span.offset() =>
        {
            entry.value.origin
        }
        _ => entry.key_origin,
    }
}
