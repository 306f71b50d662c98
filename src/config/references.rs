//! Resource references: the index of resource blocks they are checked against, the check
//! itself (unknown resource or attribute, missing or out-of-range index) and the final
//! [`Reference`] of each `count` instance.

use std::collections::BTreeMap;

use plinth_provider::Schema;

use super::diagnostics::{listing, Diagnostics, Problem};
use super::expr::Scope;
use super::interpolate::IndexSpec;
use super::model::{Address, InstanceKey, Origin, Reference};

/// What `count` a resource block has, as far as the loader knows.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Count {
    /// No `count`: one instance without an index.
    Single,
    /// `count = n`.
    Counted(usize),
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
    pub path: Vec<String>,
    pub origin: Origin,
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
    let target_count = match (block.count, index) {
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
        (Count::Counted(n), _) => Some(n),
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
        path,
        origin: here,
    })
}

/// The reference of one instance (`index` is its `count.index`).
pub(crate) fn reference(
    r: &PendingRef,
    index: Option<usize>,
    diags: &mut Diagnostics,
) -> Option<Reference> {
    let target_index = match r.index {
        None => None,
        Some(IndexSpec::Literal(i)) => Some(i),
        Some(IndexSpec::CountIndex) => {
            let i = index.unwrap_or(0);
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
            Some(i)
        }
    };
    let target = Address::new(&r.type_name, &r.name).with_key(target_index.map(InstanceKey::Index));
    Some(Reference {
        target,
        path: r.path.clone(),
        origin: r.origin,
    })
}
