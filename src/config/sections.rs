//! Lowering the non-resource sections: `[stack]`, the environment choice, `[backend]`,
//! `[providers.*]`, `[secrets]`, `[outputs]` and `[preconditions.*]`.

use std::collections::BTreeMap;
use std::path::Path;

use plinth_provider::Value;

use super::diagnostics::{suggestion, Diagnostics, Problem};
use super::expr::{check_view, instantiate, lower, Scope};
use super::model::{BackendConfig, LoadOptions, Origin, OutputConfig, ProviderBlock};
use super::raw::{Entry, Node, NodeValue, Table};

/// Backend kinds the engine knows.
pub(crate) const BACKEND_KINDS: [&str; 3] = ["local", "s3", "postgres"];

/// `[stack]`, lowered.
pub(crate) struct StackHeader {
    pub name: String,
    pub environments: Vec<String>,
    /// The `environments` value, for errors about the environment choice.
    pub environments_origin: Option<Origin>,
}

/// The table inside an entry, or an error.
pub(crate) fn table<'a>(
    entry: &'a Entry,
    what: &str,
    diags: &mut Diagnostics,
) -> Option<&'a Table> {
    match &entry.value.value {
        NodeValue::Table(t) => Some(t),
        _ => {
            diags.push(
                Problem::new(
                    "plinth::not_a_table",
                    format!("{what} `{}` must be a table", entry.key),
                )
                .at(
                    entry.value.origin,
                    format!("this is a {}", entry.value.kind_name()),
                )
                .help(format!("write `{} = {{ ... }}`", entry.key)),
            );
            None
        }
    }
}

/// An unknown key in a fixed-shape table.
pub(crate) fn unknown_key(entry: &Entry, place: &str, valid: &[&str], diags: &mut Diagnostics) {
    diags.push(
        Problem::new(
            "plinth::unknown_key",
            format!("unknown key `{}` in {place}", entry.key),
        )
        .at(entry.key_origin, "not a valid key here")
        .help(suggestion(&entry.key, valid.iter().copied(), "valid keys")),
    );
}

/// A wrong-typed value in a fixed-shape table.
pub(crate) fn wrong_type(node: &Node, what: &str, expected: &str, diags: &mut Diagnostics) {
    diags.push(
        Problem::new("plinth::wrong_type", format!("{what} must be {expected}"))
            .at(node.origin, format!("this is a {}", node.kind_name())),
    );
}

/// A value that must be known at load time (no references, no secrets).
pub(crate) fn known(node: &Node, scope: &Scope<'_>, diags: &mut Diagnostics) -> Value {
    check_view(&instantiate(
        &lower(node, scope, diags),
        &super::references::Instance::NONE,
        diags,
    ))
}

/// `[stack] name, environments` (name defaults to the directory name, environments to
/// `["default"]`).
pub(crate) fn stack_header(
    entry: Option<&Entry>,
    dir: &Path,
    diags: &mut Diagnostics,
) -> StackHeader {
    let dir_name = dir
        .canonicalize()
        .ok()
        .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "stack".to_string());
    let mut header = StackHeader {
        name: dir_name,
        environments: vec!["default".to_string()],
        environments_origin: None,
    };
    let Some(table) = entry.and_then(|e| table(e, "section", diags)) else {
        return header;
    };
    for item in &table.entries {
        match item.key.as_str() {
            "name" => match item.value.as_str() {
                Some(name) if !name.is_empty() => header.name = name.to_string(),
                _ => wrong_type(&item.value, "`[stack] name`", "a non-empty string", diags),
            },
            "environments" => {
                header.environments_origin = Some(item.value.origin);
                let names: Option<Vec<String>> = match &item.value.value {
                    NodeValue::Array(items) if !items.is_empty() => items
                        .iter()
                        .map(|n| n.as_str().filter(|s| !s.is_empty()).map(str::to_string))
                        .collect(),
                    _ => None,
                };
                match names {
                    Some(names) => header.environments = names,
                    None => wrong_type(
                        &item.value,
                        "`[stack] environments`",
                        "a non-empty list of names",
                        diags,
                    ),
                }
            }
            "description" => {}
            _ => unknown_key(
                item,
                "`[stack]`",
                &["name", "environments", "description"],
                diags,
            ),
        }
    }
    header
}

/// The environment for this run: `--env`, or the only one.
pub(crate) fn select_environment(
    options: &LoadOptions,
    header: &StackHeader,
    diags: &mut Diagnostics,
) -> String {
    let names = header.environments.join("`, `");
    match &options.environment {
        Some(env) if header.environments.contains(env) => env.clone(),
        Some(env) => {
            let mut problem = Problem::new(
                "plinth::unknown_environment",
                format!("environment `{env}` is not declared by this stack"),
            )
            .help(format!(
                "{} (declared: `{names}`)",
                suggestion(
                    env,
                    header.environments.iter().map(String::as_str),
                    "environments"
                )
            ));
            if let Some(at) = header.environments_origin {
                problem = problem.at(at, "the stack's environments");
            }
            diags.push(problem);
            env.clone()
        }
        None if header.environments.len() == 1 => header.environments[0].clone(),
        None => {
            let mut problem = Problem::new(
                "plinth::no_environment",
                "this stack has several environments; choose one",
            )
            .help(format!(
                "pass `--env NAME` or set `PLINTH_ENV` (one of `{names}`)"
            ));
            if let Some(at) = header.environments_origin {
                problem = problem.at(at, "declared here");
            }
            diags.push(problem);
            header.environments[0].clone()
        }
    }
}

/// `[backend]`: `kind` (default `local`) and its settings.
pub(crate) fn backend(
    entry: Option<&Entry>,
    scope: &Scope<'_>,
    diags: &mut Diagnostics,
) -> BackendConfig {
    let mut config = BackendConfig {
        kind: "local".to_string(),
        settings: BTreeMap::new(),
        origin: None,
    };
    let Some(entry) = entry else { return config };
    config.origin = Some(entry.value.origin);
    let Some(table) = table(entry, "section", diags) else {
        return config;
    };
    for item in &table.entries {
        if item.key == "kind" {
            match item.value.as_str() {
                Some(kind) if BACKEND_KINDS.contains(&kind) => config.kind = kind.to_string(),
                Some(kind) => diags.push(
                    Problem::new(
                        "plinth::unknown_backend",
                        format!("unknown backend kind `{kind}`"),
                    )
                    .at(item.value.origin, "not a backend Plinth has")
                    .help(suggestion(kind, BACKEND_KINDS, "backend kinds")),
                ),
                None => wrong_type(&item.value, "`[backend] kind`", "a string", diags),
            }
        } else {
            config
                .settings
                .insert(item.key.clone(), known(&item.value, scope, diags));
        }
    }
    config
}

/// `[providers.<name>]` tables.
pub(crate) fn providers(
    entries: &[Entry],
    scope: &Scope<'_>,
    diags: &mut Diagnostics,
) -> BTreeMap<String, ProviderBlock> {
    let mut out = BTreeMap::new();
    for entry in entries {
        let Some(table) = table(entry, "provider block", diags) else {
            continue;
        };
        let settings = table
            .entries
            .iter()
            .map(|i| (i.key.clone(), known(&i.value, scope, diags)))
            .collect();
        out.insert(
            entry.key.clone(),
            ProviderBlock {
                settings,
                origin: Some(entry.value.origin),
            },
        );
    }
    out
}

/// `[preconditions.<provider>]` tables.
pub(crate) fn preconditions(
    entries: &[Entry],
    scope: &Scope<'_>,
    diags: &mut Diagnostics,
) -> BTreeMap<String, BTreeMap<String, Value>> {
    let mut out = BTreeMap::new();
    for entry in entries {
        let Some(table) = table(entry, "precondition block", diags) else {
            continue;
        };
        let checks = table
            .entries
            .iter()
            .map(|i| (i.key.clone(), known(&i.value, scope, diags)))
            .collect();
        out.insert(entry.key.clone(), checks);
    }
    out
}

/// `[outputs]`: `name = "${...}"` or `name = { value = ..., sensitive = true }`.
pub(crate) fn outputs(
    entries: &[Entry],
    scope: &Scope<'_>,
    diags: &mut Diagnostics,
) -> BTreeMap<String, OutputConfig> {
    let mut out = BTreeMap::new();
    for entry in entries {
        let (value_node, sensitive) = match entry.value.as_table() {
            Some(table) => {
                let mut sensitive = false;
                for item in &table.entries {
                    match (item.key.as_str(), &item.value.value) {
                        ("value", _) | ("description", NodeValue::String(_)) => {}
                        ("sensitive", NodeValue::Boolean(b)) => sensitive = *b,
                        ("sensitive", _) => {
                            wrong_type(&item.value, "`sensitive`", "`true` or `false`", diags)
                        }
                        _ => unknown_key(
                            item,
                            &format!("output `{}`", entry.key),
                            &["value", "sensitive", "description"],
                            diags,
                        ),
                    }
                }
                match table.get("value") {
                    Some(v) => (&v.value, sensitive),
                    None => {
                        diags.push(
                            Problem::new("plinth::bad_output", format!("output `{}` has no `value`", entry.key))
                                .at(entry.key_origin, "missing `value`")
                                .help("write `name = { value = \"${TYPE.NAME.ATTRIBUTE}\", sensitive = true }`"),
                        );
                        continue;
                    }
                }
            }
            None => (&entry.value, false),
        };
        let value = instantiate(
            &lower(value_node, scope, diags),
            &super::references::Instance::NONE,
            diags,
        );
        let sensitive = sensitive || !value.secrets().is_empty();
        let value = if sensitive {
            super::resources::mark_sensitive(value)
        } else {
            value
        };
        out.insert(
            entry.key.clone(),
            OutputConfig {
                value,
                sensitive,
                origin: entry.key_origin,
            },
        );
    }
    out
}

/// Keys of a `[waivers.<name>]` table.
const WAIVER_KEYS: [&str; 5] = ["policy", "address", "reason", "expires", "environments"];

/// `[waivers.<name>]`: `policy`, `address`, `reason`, `expires` (`YYYY-MM-DD`, a TOML date or
/// a string) and optionally `environments` (default: every environment). Only the waivers of
/// the selected environment are kept.
pub(crate) fn waivers(
    entries: &[Entry],
    scope: &Scope<'_>,
    diags: &mut Diagnostics,
) -> Vec<super::model::Waiver> {
    let mut out = Vec::new();
    for entry in entries {
        let Some(table) = table(entry, "waiver", diags) else {
            continue;
        };
        let mut fields: BTreeMap<&str, String> = BTreeMap::new();
        let mut environments: Option<Vec<String>> = None;
        for item in &table.entries {
            let Some(key) = WAIVER_KEYS.iter().find(|k| **k == item.key) else {
                unknown_key(
                    item,
                    &format!("waiver `{}`", entry.key),
                    &WAIVER_KEYS,
                    diags,
                );
                continue;
            };
            match (key, known(&item.value, scope, diags)) {
                (&"environments", Value::List(items)) => {
                    let names: Option<Vec<String>> = items
                        .into_iter()
                        .map(|v| match v {
                            Value::String(s) => Some(s),
                            _ => None,
                        })
                        .collect();
                    match names {
                        Some(names) => environments = Some(names),
                        None => wrong_type(
                            &item.value,
                            "`environments`",
                            "a list of environment names",
                            diags,
                        ),
                    }
                }
                (&"environments", _) => wrong_type(
                    &item.value,
                    "`environments`",
                    "a list of environment names",
                    diags,
                ),
                (key, Value::String(text)) if !text.trim().is_empty() => {
                    if *key == "expires" && !is_date(&text) {
                        diags.push(
                            Problem::new(
                                "plinth::bad_waiver",
                                format!("waiver `{}`: `expires` is not a date", entry.key),
                            )
                            .at(item.value.origin, "expected YYYY-MM-DD")
                            .help(
                                "write the last day the waiver holds, e.g. `expires = 2027-03-31`",
                            ),
                        );
                        continue;
                    }
                    fields.insert(key, text);
                }
                (key, _) => wrong_type(
                    &item.value,
                    &format!("`{key}`"),
                    "a non-empty string",
                    diags,
                ),
            }
        }
        let missing: Vec<&str> = WAIVER_KEYS[..4]
            .iter()
            .copied()
            .filter(|k| !fields.contains_key(k))
            .collect();
        if !missing.is_empty() {
            if table
                .entries
                .iter()
                .all(|i| WAIVER_KEYS.contains(&i.key.as_str()))
            {
                diags.push(
                    Problem::new(
                        "plinth::bad_waiver",
                        format!(
                            "waiver `{}` lacks {}",
                            entry.key,
                            missing.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")
                        ),
                    )
                    .at(entry.key_origin, "incomplete waiver")
                    .help(
                        "a waiver names the policy, the resource address, a reason and the last day it holds: \
                         `policy = \"mita.encryption\"`, `address = \"aws_s3_bucket.logs\"`, \
                         `reason = \"...\"`, `expires = 2027-03-31`",
                    ),
                );
            }
            continue;
        }
        if let Some(environments) = &environments {
            if !environments.iter().any(|e| e == scope.environment) {
                continue;
            }
        }
        let mut take = |k: &str| fields.remove(k).unwrap_or_default();
        out.push(super::model::Waiver {
            name: entry.key.clone(),
            policy: take("policy"),
            address: take("address"),
            reason: take("reason"),
            expires: take("expires"),
        });
    }
    out
}

/// `YYYY-MM-DD`, a real calendar day.
pub(crate) fn is_date(text: &str) -> bool {
    text.len() == 10 && humantime::parse_rfc3339(&format!("{text}T00:00:00Z")).is_ok()
}
