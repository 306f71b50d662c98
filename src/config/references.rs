//! Resource references: the index of resource blocks they are checked against, the check
//! itself (unknown resource or attribute, missing or out-of-range index) and the final
//! [`Reference`] of each `count` instance.

use std::collections::BTreeMap;

use plinth_provider::{Schema, Value};

use super::diagnostics::{listing, Diagnostics, Problem};
use super::expr::Scope;
use super::interpolate::IndexSpec;
use super::model::{Address, InstanceKey, ModulePath, Origin, Reference};

/// What `count` or `for_each` a resource block has, as far as the loader knows.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Count {
    /// No `count`: one instance without an index.
    Single,
    /// `count = n`.
    Counted(usize),
    /// `for_each`: one instance per key (in key order), with its `each.value`.
    Keyed(std::rc::Rc<Vec<(String, Value)>>),
    /// The count was invalid (already reported): do not check indexes.
    Invalid,
}

/// A resource block other expressions may refer to.
#[derive(Clone, Debug)]
pub(crate) struct BlockInfo<'a> {
    pub count: Count,
    /// None when the type is unknown (already reported): references are not checked.
    pub schema: Option<&'a Schema>,
}

/// Every resource block of the stack, keyed by `type.name`.
pub(crate) type ResourceIndex<'a> = BTreeMap<String, BlockInfo<'a>>;

/// A reference checked at load, waiting for its instance index.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct PendingRef {
    pub type_name: String,
    pub name: String,
    pub index: Option<IndexSpec>,
    /// The target's `count`, when it has one.
    pub target_count: Option<usize>,
    /// The target's `for_each` keys, when it has them.
    pub target_keys: Option<std::rc::Rc<Vec<(String, Value)>>>,
    pub path: Vec<String>,
    pub origin: Origin,
    /// The module instance the reference is written in (its target is declared there too).
    pub module: ModulePath,
}

/// The instance an expression is instantiated for: its key (`count.index` or `each.key`) and
/// `each.value`.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Instance {
    pub key: Option<InstanceKey>,
    pub value: Option<Value>,
}

impl Instance {
    /// No `count` and no `for_each`.
    pub(crate) const NONE: Instance = Instance {
        key: None,
        value: None,
    };

    /// `count.index = i`.
    pub(crate) fn index(i: usize) -> Self {
        Instance {
            key: Some(InstanceKey::Index(i)),
            value: None,
        }
    }

    pub(crate) fn count_index(&self) -> Option<usize> {
        match self.key {
            Some(InstanceKey::Index(i)) => Some(i),
            _ => None,
        }
    }

    pub(crate) fn each_key(&self) -> Option<&str> {
        match &self.key {
            Some(InstanceKey::Key(k)) => Some(k),
            _ => None,
        }
    }
}

/// Checks a `${TYPE.NAME[i].ATTR}` reference against the stack's resource blocks.
pub(crate) fn check_reference(
    type_name: String,
    name: String,
    index: Option<IndexSpec>,
    path: Vec<String>,
    here: Origin,
    scope: &Scope<'_>,
    diags: &mut Diagnostics,
) -> Option<PendingRef> {
    let block_key = format!("{type_name}.{name}");
    let Some(resources) = scope.resources else {
        diags.push(
            Problem::new(
                "plinth::reference_not_allowed",
                format!("resource reference used {}", scope.place),
            )
            .at(
                here,
                format!("`{block_key}` is not known while the stack is loaded"),
            )
            .help("only `${var.NAME}`, `${env}` and `${stack}` can be used here"),
        );
        return None;
    };
    let Some(block) = resources.get(&block_key) else {
        diags.push(
            Problem::new(
                "plinth::unknown_reference",
                format!("unknown resource `{block_key}`"),
            )
            .at(here, "no such resource in this stack")
            .help(listing(
                &block_key,
                resources.keys().map(String::as_str),
                "resources in this stack",
            )),
        );
        return None;
    };
    let schema = block.schema?;
    let attribute = &path[0];
    if schema.get(attribute).is_none() {
        diags.push(
            Problem::new(
                "plinth::unknown_reference",
                format!("`{type_name}` has no attribute `{attribute}`"),
            )
            .at(here, format!("unknown attribute of `{block_key}`"))
            .help(listing(
                attribute,
                schema.attributes.iter().map(|a| a.name.as_str()),
                &format!("attributes of `{type_name}`"),
            )),
        );
        return None;
    }
    let mut target_keys = None;
    let target_count = match (&block.count, &index) {
        (Count::Counted(n), None) => {
            let example = format!("{block_key}[0].{}", path.join("."));
            diags.push(
                Problem::new(
                    "plinth::missing_index",
                    format!("`{block_key}` has `count`, so a reference to it needs an index"),
                )
                .at(here, format!("which of the {n} instances?"))
                .help(format!("add `[0]`: `${{{example}}}`")),
            );
            return None;
        }
        (Count::Counted(n), Some(IndexSpec::Literal(i))) if i >= n => {
            diags.push(
                Problem::new(
                    "plinth::index_out_of_range",
                    format!("index {i} is out of range for `{block_key}`"),
                )
                .at(here, format!("`{block_key}` has {n} instances"))
                .help(match n {
                    0 => "its count is 0, so it has no instances".to_string(),
                    _ => format!("use an index from 0 to {}", n - 1),
                }),
            );
            return None;
        }
        (Count::Counted(_), Some(IndexSpec::Key(_) | IndexSpec::EachKey)) => {
            diags.push(
                Problem::new(
                    "plinth::wrong_index",
                    format!("`{block_key}` has `count`, so its instances are numbered"),
                )
                .at(here, "a key, not a number")
                .help(format!(
                    "write `${{{block_key}[0].{}}}` (or `[count.index]`)",
                    path.join(".")
                )),
            );
            return None;
        }
        (Count::Counted(n), _) => Some(*n),
        (Count::Keyed(keys), None | Some(IndexSpec::Literal(_) | IndexSpec::CountIndex)) => {
            let example = keys.first().map(|(k, _)| k.as_str()).unwrap_or("KEY");
            diags.push(
                Problem::new(
                    "plinth::missing_index",
                    format!("`{block_key}` has `for_each`, so a reference to it needs a key"),
                )
                .at(here, format!("which of the {} instances?", keys.len()))
                .help(format!(
                    "write `${{{block_key}[\"{example}\"].{}}}` or `[each.key]`; its keys: {}",
                    path.join("."),
                    key_list(keys)
                )),
            );
            return None;
        }
        (Count::Keyed(keys), Some(IndexSpec::Key(k))) if !keys.iter().any(|(key, _)| key == k) => {
            diags.push(
                Problem::new(
                    "plinth::index_out_of_range",
                    format!("`{block_key}` has no instance `[\"{k}\"]`"),
                )
                .at(here, format!("`{block_key}` has {} instances", keys.len()))
                .help(format!("its keys: {}", key_list(keys))),
            );
            return None;
        }
        (Count::Keyed(keys), _) => {
            target_keys = Some(std::rc::Rc::clone(keys));
            None
        }
        (Count::Single, Some(_)) => {
            diags.push(
                Problem::new(
                    "plinth::unexpected_index",
                    format!("`{block_key}` has no `count`, so it cannot be indexed"),
                )
                .at(here, "remove the index")
                .help(format!("write `${{{block_key}.{}}}`", path.join("."))),
            );
            return None;
        }
        (Count::Single, None) | (Count::Invalid, _) => None,
    };
    if index == Some(IndexSpec::EachKey) && !scope.keyed {
        diags.push(
            Problem::new(
                "plinth::each_outside_for_each",
                format!("`each.key` used {}", scope.place),
            )
            .at(here, "only valid inside a block with `for_each`")
            .help("use a literal key such as `[\"logs\"]`"),
        );
        return None;
    }
    if index == Some(IndexSpec::CountIndex) && !scope.counted {
        diags.push(
            Problem::new(
                "plinth::count_index",
                format!("`count.index` used {}", scope.place),
            )
            .at(here, "only valid inside a resource with `count`")
            .help("use a literal index such as `[0]`"),
        );
        return None;
    }
    Some(PendingRef {
        type_name,
        name,
        index,
        target_count,
        target_keys,
        path,
        origin: here,
        module: scope.module.clone(),
    })
}

/// `"a", "b"` (the first few keys of a `for_each`).
pub(crate) fn key_list(keys: &[(String, Value)]) -> String {
    let mut shown: Vec<String> = keys.iter().take(8).map(|(k, _)| format!("`{k}`")).collect();
    if keys.len() > 8 {
        shown.push(format!("and {} more", keys.len() - 8));
    }
    if shown.is_empty() {
        "none (its `for_each` is empty)".to_string()
    } else {
        shown.join(", ")
    }
}

/// The reference of one instance.
pub(crate) fn reference(
    r: &PendingRef,
    instance: &Instance,
    diags: &mut Diagnostics,
) -> Option<Reference> {
    let target_key = match &r.index {
        None => None,
        Some(IndexSpec::Literal(i)) => Some(InstanceKey::Index(*i)),
        Some(IndexSpec::Key(k)) => Some(InstanceKey::Key(k.clone())),
        Some(IndexSpec::CountIndex) => {
            let i = instance.count_index().unwrap_or(0);
            if let Some(n) = r.target_count.filter(|n| i >= *n) {
                diags.push(
                    Problem::new(
                        "plinth::index_out_of_range",
                        format!("index {i} is out of range for `{}.{}`", r.type_name, r.name),
                    )
                    .at(
                        r.origin,
                        format!(
                            "`count.index` reaches {i} but `{}.{}` has {n} instances",
                            r.type_name, r.name
                        ),
                    )
                    .help("give both resources the same `count`"),
                );
                return None;
            }
            Some(InstanceKey::Index(i))
        }
        Some(IndexSpec::EachKey) => {
            let key = instance.each_key().unwrap_or_default();
            if let Some(keys) = r
                .target_keys
                .as_ref()
                .filter(|keys| !keys.iter().any(|(k, _)| k == key))
            {
                diags.push(
                    Problem::new(
                        "plinth::index_out_of_range",
                        format!("`{}.{}` has no instance `[\"{key}\"]`", r.type_name, r.name),
                    )
                    .at(r.origin, format!("`each.key` is `{key}` here"))
                    .help(format!(
                        "give both blocks the same `for_each`; its keys: {}",
                        key_list(keys)
                    )),
                );
                return None;
            }
            Some(InstanceKey::Key(key.to_string()))
        }
    };
    let target = Address::new(&r.type_name, &r.name)
        .with_key(target_key)
        .in_module(r.module.clone());
    Some(Reference {
        target,
        path: r.path.clone(),
        origin: r.origin,
    })
}
