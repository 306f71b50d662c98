//! `[module.NAME]`: a directory of stack files used as a block, once or per `count`/`for_each`
//! instance. A module is expanded while the stack is loaded: its resources join the stack with
//! addresses under the call (`module.api.aws_rds_instance.primary`, `module.api["eu"]...`),
//! its inputs become its variables (a value holding a reference or a secret stays an
//! expression), and `${module.NAME.OUTPUT}` is the output's expression. The plan, the graph
//! and the state then see ordinary resources: a reference across a module boundary is an
//! edge like any other, and a cycle through one is reported as every cycle is.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

use foldhash::{HashMap, HashMapExt};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;

use plinth_provider::{Schema, Value};

use super::diagnostics::{listing, suggestion, Diagnostics, Problem};
use super::document::RawStack;
use super::expr::{from_expr, instantiate, lower, Lowered, Scope};
use super::interpolate::IndexSpec;
use super::model::{Address, Expr, InstanceKey, Origin, OutputConfig, ResourceConfig};
use super::raw::Entry;
use super::references::{key_list, Count};
use super::{resources, sections, variables};

mod source;

use source::{call_order, repository_of};

/// Keys of a `[module.NAME]` table that are not inputs.
pub(crate) const CALL_KEYS: [&str; 4] = ["source", "count", "for_each", "depends_on"];

/// How deep modules may call modules.
const MAX_DEPTH: usize = 16;

/// What a module call produced, for the expressions of its caller.
#[derive(Clone, Debug)]
pub(crate) struct CallInfo {
    count: Count,
    /// Each instance's outputs.
    outputs: BTreeMap<Option<InstanceKey>, BTreeMap<String, OutputConfig>>,
    /// The output names the module declares.
    declared_outputs: Vec<String>,
    /// Every resource instance of every instance of the call.
    resources: Vec<Address>,
}

/// The module calls of one stack or module body, by name.
#[derive(Clone, Debug, Default)]
pub(crate) struct ModuleIndex {
    calls: BTreeMap<String, CallInfo>,
}

impl ModuleIndex {
    /// Every resource of the call `name` (all its instances); None when there is no such call.
    pub(crate) fn resources_of(&self, name: &str) -> Option<&[Address]> {
        self.calls.get(name).map(|c| c.resources.as_slice())
    }

    /// The call names.
    pub(crate) fn names(&self) -> impl Iterator<Item = &str> {
        self.calls.keys().map(String::as_str)
    }
}

/// `NAME` of a `depends_on` entry `module.NAME`.
pub(crate) fn call_named(text: &str) -> Option<&str> {
    let name = text.strip_prefix("module.")?;
    (!name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'))
    .then_some(name)
}

/// `${module.NAME[KEY].OUTPUT.path}` as an expression.
pub(crate) fn output(
    name: &str,
    index: Option<IndexSpec>,
    output: &str,
    path: &[String],
    here: Origin,
    scope: &Scope<'_>,
    diags: &mut Diagnostics,
) -> Option<Lowered> {
    let Some(modules) = scope.modules else {
        diags.push(
            Problem::new(
                "plinth::reference_not_allowed",
                format!("module output used {}", scope.place),
            )
            .at(
                here,
                format!("`module.{name}` is not known while the stack is loaded"),
            )
            .help("module outputs may be used in resource attributes, module inputs and outputs"),
        );
        return None;
    };
    let Some(call) = modules.calls.get(name) else {
        return unknown_call(name, modules, here, diags);
    };
    if call.count == Count::Invalid {
        // The call itself is in error (reported): what it would output is not checked.
        return None;
    }
    if !call.declared_outputs.iter().any(|o| o == output) {
        diags.push(
            Problem::new(
                "plinth::unknown_output",
                format!("module `{name}` has no output `{output}`"),
            )
            .at(here, format!("not an output of `module.{name}`"))
            .help(listing(
                output,
                call.declared_outputs.iter().map(String::as_str),
                &format!("outputs of `module.{name}`"),
            )),
        );
        return None;
    }
    let key = match (&call.count, index) {
        (Count::Invalid, _) => return None,
        (Count::Single, None) => None,
        (Count::Counted(n), Some(IndexSpec::Literal(i))) if i < *n => Some(InstanceKey::Index(i)),
        (Count::Keyed(keys), Some(IndexSpec::Key(k))) if keys.iter().any(|(key, _)| *key == k) => {
            Some(InstanceKey::Key(k))
        }
        (Count::Single, Some(_)) => {
            diags.push(
                Problem::new(
                    "plinth::unexpected_index",
                    format!(
                        "module `{name}` has no `count` or `for_each`, so it cannot be indexed"
                    ),
                )
                .at(here, "remove the index")
                .help(format!("write `${{module.{name}.{output}}}`")),
            );
            return None;
        }
        (Count::Counted(_), Some(IndexSpec::CountIndex))
        | (Count::Keyed(_), Some(IndexSpec::EachKey)) => {
            let wanted = if matches!(call.count, Count::Counted(_)) {
                scope.counted
            } else {
                scope.keyed
            };
            if !wanted {
                diags.push(
                    Problem::new(
                        "plinth::count_index",
                        format!("the instance of `module.{name}` is chosen by the block's own instance, which it does not have"),
                    )
                    .at(
                        here,
                        format!(
                            "only valid in a block with the call's `{}`",
                            if matches!(call.count, Count::Counted(_)) { "count" } else { "for_each" }
                        ),
                    )
                    .help("give the block the call's `count` or `for_each`, or write a literal index or key"),
                );
                return None;
            }
            let mut choices = BTreeMap::new();
            for (key, outputs) in &call.outputs {
                let (Some(key), Some(out)) = (key, outputs.get(output)) else {
                    continue;
                };
                let value = follow(&out.value, path, here, diags)?;
                choices.insert(key.clone(), from_expr(&value));
            }
            return Some(Lowered::ByInstance {
                call: format!("module.{name}"),
                choices,
                origin: here,
            });
        }
        (_, Some(IndexSpec::CountIndex | IndexSpec::EachKey)) => {
            diags.push(
                Problem::new(
                    "plinth::wrong_index",
                    format!(
                        "`module.{name}` is indexed by {}",
                        match call.count {
                            Count::Counted(_) => "number (`count`): use `[count.index]`",
                            _ => "key (`for_each`): use `[each.key]`",
                        }
                    ),
                )
                .at(here, "the other kind of index"),
            );
            return None;
        }
        (count, _) => {
            let which = match count {
                Count::Counted(n) => format!("an index from 0 to {}", n.saturating_sub(1)),
                Count::Keyed(keys) => format!("one of its keys: {}", key_list(keys)),
                _ => String::new(),
            };
            diags.push(
                Problem::new(
                    "plinth::missing_index",
                    format!("`module.{name}` has instances: the reference needs {which}"),
                )
                .at(here, "which instance?")
                .help(format!(
                    "e.g. `${{module.{name}[0].{output}}}` or `[\"KEY\"]`"
                )),
            );
            return None;
        }
    };
    let value = &call.outputs.get(&key)?.get(output)?.value;
    let value = follow(value, path, here, diags)?;
    Some(from_expr(&value))
}

fn unknown_call(
    name: &str,
    modules: &ModuleIndex,
    here: Origin,
    diags: &mut Diagnostics,
) -> Option<Lowered> {
    diags.push(
        Problem::new(
            "plinth::unknown_module",
            format!("unknown module `module.{name}`"),
        )
        .at(here, "no such module call here")
        .help(listing(name, modules.names(), "module calls here")),
    );
    None
}

/// `path` applied to an output's value: a reference gets longer, a table is looked into.
fn follow(expr: &Expr, path: &[String], here: Origin, diags: &mut Diagnostics) -> Option<Expr> {
    let Some((first, rest)) = path.split_first() else {
        return Some(expr.clone());
    };
    match expr {
        Expr::Ref(r) => {
            let mut r = r.clone();
            r.path.extend(path.iter().cloned());
            Some(Expr::Ref(r))
        }
        Expr::Map(map) if map.contains_key(first) => follow(&map[first], rest, here, diags),
        Expr::Literal(Value::Map(map)) if map.contains_key(first) => {
            follow(&Expr::Literal(map[first].clone()), rest, here, diags)
        }
        _ => {
            diags.push(
                Problem::new(
                    "plinth::unknown_reference",
                    format!("the output has no key `{first}`"),
                )
                .at(here, "not a key of this output"),
            );
            None
        }
    }
}

/// What lowering a stack or module body produced.
pub(crate) struct Body {
    /// Resources and data sources of the body and of the modules it calls.
    pub resources: Vec<ResourceConfig>,
    pub outputs: BTreeMap<String, OutputConfig>,
}

/// Loads and expands modules for one load of a stack.
pub(crate) struct Modules<'a> {
    pub schemas: &'a BTreeMap<String, Schema>,
    pub limits: &'a super::limits::Limits,
    /// Modules may live anywhere below this directory (the repository of the stack).
    boundary: PathBuf,
    /// The root stack's environments (a module's variables may have a value per environment).
    environments: &'a [String],
    /// Each module directory read, parsed once (by canonical path; None: it failed).
    cache: RefCell<HashMap<PathBuf, Option<Rc<RawStack>>>>,
    /// `(file name, text)` of every module file read, for the configuration digest.
    pub files: RefCell<Vec<(String, Arc<String>)>>,
}

impl<'a> Modules<'a> {
    pub(crate) fn new(
        schemas: &'a BTreeMap<String, Schema>,
        limits: &'a super::limits::Limits,
        stack_dir: &Path,
        environments: &'a [String],
    ) -> Self {
        Modules {
            schemas,
            limits,
            boundary: repository_of(stack_dir),
            environments,
            cache: RefCell::new(HashMap::new()),
            files: RefCell::new(Vec::new()),
        }
    }

    /// Lowers a body: its module calls (each expanded), its resources and its outputs.
    /// `chain` holds the module directories being expanded (a module calling itself is an
    /// error, not a stack overflow).
    pub(crate) fn lower_body(
        &self,
        raw: &RawStack,
        index: &super::references::ResourceIndex<'_>,
        dir: &Path,
        scope: &Scope<'_>,
        chain: &[PathBuf],
        diags: &mut Diagnostics,
    ) -> Body {
        let mut out = Vec::new();
        let modules = self.calls(raw, dir, scope, index, chain, &mut out, diags);
        let body_scope = Scope {
            resources: Some(index),
            modules: Some(&modules),
            ..*scope
        };
        out.extend(resources::lower_all(
            &raw.resources,
            index,
            &body_scope,
            diags,
        ));
        let output_scope = Scope {
            place: "in `[outputs]`",
            ..body_scope
        };
        let outputs = sections::outputs(&raw.outputs, &output_scope, diags);
        Body {
            resources: out,
            outputs,
        }
    }

    /// Expands every `[module.NAME]` call of a body, in the order their references need.
    #[allow(clippy::too_many_arguments)]
    fn calls(
        &self,
        raw: &RawStack,
        dir: &Path,
        scope: &Scope<'_>,
        index: &super::references::ResourceIndex<'_>,
        chain: &[PathBuf],
        out: &mut Vec<ResourceConfig>,
        diags: &mut Diagnostics,
    ) -> ModuleIndex {
        let mut expanded = ModuleIndex::default();
        if raw.modules.is_empty() {
            return expanded;
        }
        for i in call_order(&raw.modules, diags) {
            let call = &raw.modules[i];
            let info = self.expand(call, dir, scope, index, &expanded, chain, out, diags);
            expanded.calls.insert(call.key.clone(), info);
        }
        expanded
    }

    /// One `[module.NAME]` call: every instance of it, lowered.
    #[allow(clippy::too_many_arguments)]
    fn expand(
        &self,
        call: &Entry,
        dir: &Path,
        scope: &Scope<'_>,
        index: &super::references::ResourceIndex<'_>,
        before: &ModuleIndex,
        chain: &[PathBuf],
        out: &mut Vec<ResourceConfig>,
        diags: &mut Diagnostics,
    ) -> CallInfo {
        let name = &call.key;
        let mut info = CallInfo {
            count: Count::Invalid,
            outputs: BTreeMap::new(),
            declared_outputs: Vec::new(),
            resources: Vec::new(),
        };
        let Some(body) = call.value.as_table() else {
            return info;
        };
        let Some((module_dir, raw)) = self.source(call, dir, chain, diags) else {
            // Without the module its outputs are unknown: references to them are not checked.
            return info;
        };
        info.declared_outputs = raw.outputs.iter().map(|o| o.key.clone()).collect();
        info.count = resources::repetition(Some(body), scope, diags);
        let place = format!("in `module.{name}`");
        let call_scope = Scope {
            resources: Some(index),
            modules: Some(before),
            counted: matches!(info.count, Count::Counted(_)),
            keyed: matches!(info.count, Count::Keyed(_)),
            place: &place,
            ..*scope
        };
        let mut depends_on: Vec<(Address, Origin)> = scope.inherited_depends_on.to_vec();
        if let Some(entry) = body.get("depends_on") {
            depends_on.extend(super::meta::depends_on(
                &entry.value,
                index,
                &call_scope,
                diags,
            ));
        }
        let declared: BTreeMap<&str, &Entry> =
            raw.variables.iter().map(|v| (v.key.as_str(), v)).collect();
        let mut given: Vec<(&Entry, Lowered)> = Vec::new();
        for entry in &body.entries {
            if CALL_KEYS.contains(&entry.key.as_str()) {
                continue;
            }
            if !declared.contains_key(entry.key.as_str()) {
                diags.push(
                    Problem::new(
                        "plinth::unknown_input",
                        format!("module `{name}` has no input `{}`", entry.key),
                    )
                    .at(entry.key_origin, "not a variable of the module")
                    .help(format!(
                        "{}; the keys of a module call are its variables and {}",
                        suggestion(&entry.key, declared.keys().copied(), "its variables"),
                        CALL_KEYS.map(|k| format!("`{k}`")).join(", ")
                    )),
                );
                continue;
            }
            given.push((entry, lower(&entry.value, &call_scope, diags)));
        }
        let no_variables = BTreeMap::new();
        let defaults_scope = Scope {
            variables: &no_variables,
            secrets: None,
            resources: None,
            modules: None,
            inputs: None,
            counted: false,
            keyed: false,
            place: super::expr::VARIABLES_PLACE,
            ..*scope
        };
        let no_secrets = BTreeSet::new();
        let mut chain = chain.to_vec();
        chain.push(module_dir.clone());
        for instance in resources::instances_of(&info.count) {
            let path = scope.module.child(name, instance.key.clone());
            let mut values: BTreeMap<String, Value> = BTreeMap::new();
            let mut inputs: BTreeMap<String, Lowered> = BTreeMap::new();
            for (variable, declaration) in &declared {
                match given.iter().find(|(e, _)| e.key == *variable) {
                    Some((entry, lowered)) => {
                        let expr = instantiate(lowered, &instance, diags);
                        let known = super::expr::check_view(&expr);
                        if !variables::check_type(
                            declaration,
                            &known,
                            Some(entry.value.origin),
                            diags,
                        ) {
                            // Unknown from here on: what uses it is not reported again.
                            values.insert(variable.to_string(), Value::Unknown);
                            continue;
                        }
                        match expr {
                            Expr::Literal(v) => {
                                values.insert(variable.to_string(), v);
                            }
                            expr => {
                                inputs.insert(variable.to_string(), from_expr(&expr));
                            }
                        }
                    }
                    None => match variables::declared_value(
                        declaration,
                        scope.environment,
                        self.environments,
                        &defaults_scope,
                        diags,
                    ) {
                        Some(v) => {
                            let ok = variables::check_type(declaration, &v, None, diags);
                            values
                                .insert(variable.to_string(), if ok { v } else { Value::Unknown });
                        }
                        None => {
                            diags.push(
                                Problem::new(
                                    "plinth::missing_variable",
                                    format!("module `{name}` needs the input `{variable}`"),
                                )
                                .at(call.value.origin, format!("no `{variable}` given"))
                                .also(declaration.key_origin, "declared here without a default")
                                .help(format!("add `{variable} = ...` to `[module.{name}]`")),
                            );
                            values.insert(variable.to_string(), Value::Unknown);
                        }
                    },
                }
            }
            let child = Scope {
                variables: &values,
                secrets: Some(&no_secrets),
                resources: None,
                modules: None,
                inputs: Some(&inputs),
                counted: false,
                keyed: false,
                place: "in a module",
                files: None,
                module: &path,
                inherited_depends_on: &depends_on,
                ..*scope
            };
            let module_index = resources::index(&raw.resources, self.schemas, &child, diags);
            let body = self.lower_body(&raw, &module_index, &module_dir, &child, &chain, diags);
            info.resources
                .extend(body.resources.iter().map(|r| r.address.clone()));
            out.extend(body.resources);
            info.outputs.insert(instance.key.clone(), body.outputs);
            if out.len() > self.limits.max_resources {
                // Stop expanding: the load reports the total (too_many_resources).
                break;
            }
        }
        info
    }
}
