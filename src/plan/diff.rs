//! Attribute-level diffs and the planned objects of creates and updates.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use plinth_provider::{Attribute, AttributeMode, Object, Schema, Value};

use super::model::{AttributeDiff, DiffValue};

/// The planned object of a new resource: desired inputs plus unknown computed attributes.
pub(crate) fn planned_after_create(schema: &Schema, desired: &Object) -> Object {
    let mut after = desired.clone();
    for attribute in &schema.attributes {
        match attribute.mode {
            AttributeMode::Computed => {
                after.insert(attribute.name.clone(), Value::Unknown);
            }
            AttributeMode::OptionalComputed
                if desired.get(&attribute.name).is_none_or(Value::is_null) =>
            {
                after.insert(attribute.name.clone(), Value::Unknown);
            }
            _ => {}
        }
    }
    after
}

/// The planned object of an in-place update: prior with the desired inputs laid over it.
pub(crate) fn planned_after_update(schema: &Schema, prior: &Object, desired: &Object) -> Object {
    let mut after = prior.clone();
    for attribute in schema.attributes.iter().filter(|a| a.is_input()) {
        match desired.get(&attribute.name) {
            Some(value) if !value.is_null() => {
                after.insert(attribute.name.clone(), value.clone());
            }
            _ if attribute.mode == AttributeMode::OptionalComputed => {}
            _ => {
                after.remove(&attribute.name);
            }
        }
    }
    after
}

/// Diffs shown for a create: every set input, and computed attributes (unknown unless the
/// provider predicted them). A table or list holding a secret or a value known only after
/// apply is shown leaf by leaf, so only those leaves are masked or unknown and the rest stays
/// readable (a manifest naming a target group ARN still shows its kind, name and ports).
pub(crate) fn creation_diffs(schema: &Schema, planned: &Object) -> Vec<AttributeDiff> {
    let mut diffs = Vec::with_capacity(schema.attributes.len());
    for attribute in &schema.attributes {
        let after = match planned.get(&attribute.name) {
            Some(value) if partly_hidden(value) => {
                let mut path = attribute.name.clone();
                creation_leaves(&mut path, value, &mut diffs);
                continue;
            }
            Some(value) if !value.is_null() => DiffValue::of(value),
            _ if attribute.mode == AttributeMode::Computed => DiffValue::Unknown,
            _ => continue,
        };
        diffs.push(AttributeDiff {
            path: attribute.name.clone(),
            before: DiffValue::Absent,
            after,
            forces_replacement: false,
        });
    }
    diffs
}

/// A table or list some of whose leaves are secret or unknown (not the whole of it).
fn partly_hidden(value: &Value) -> bool {
    match value {
        Value::Map(map) => map.values().any(|v| v.has_sensitive() || v.has_unknown()),
        Value::List(items) => items.iter().any(|v| v.has_sensitive() || v.has_unknown()),
        _ => false,
    }
}

/// The leaves of a partly hidden table or list, their paths written onto `path` (which is
/// left as it was found).
fn creation_leaves(path: &mut String, value: &Value, out: &mut Vec<AttributeDiff>) {
    let base = path.len();
    match value {
        Value::Map(map) => {
            for (key, v) in map {
                path.push('.');
                // Writing into a `String` cannot fail.
                let _ = crate::render::value_diff::write_key(path, key);
                creation_leaf(path, v, out);
                path.truncate(base);
            }
        }
        // The selectors of `list_pairs(&[], items)`, written straight onto the path.
        Value::List(items) => match merge_names(items) {
            Some(names) => {
                for (name, v) in names.into_iter().zip(items) {
                    path.push_str("[name=");
                    path.push_str(&serde_json::Value::from(name).to_string());
                    path.push(']');
                    creation_leaf(path, v, out);
                    path.truncate(base);
                }
            }
            None => {
                for (i, v) in items.iter().enumerate() {
                    // Writing into a `String` cannot fail.
                    let _ = write!(path, "[{i}]");
                    creation_leaf(path, v, out);
                    path.truncate(base);
                }
            }
        },
        _ => {}
    }
}

fn creation_leaf(path: &mut String, value: &Value, out: &mut Vec<AttributeDiff>) {
    match value {
        Value::Null => {}
        v if partly_hidden(v) => creation_leaves(path, v, out),
        v => out.push(AttributeDiff {
            path: path.clone(),
            before: DiffValue::Absent,
            after: DiffValue::of(v),
            forces_replacement: false,
        }),
    }
}

/// The create-only attributes (a restore source) whose configured value differs from what the
/// object was created with; they are left alone (a set value only: removing one after the
/// create is how a restored instance goes on as an ordinary one).
pub fn create_only_changes(
    schema: &Schema,
    before: &Object,
    after: &Object,
    salt: &str,
) -> Vec<String> {
    schema
        .attributes
        .iter()
        .filter(|a| a.create_only)
        .filter(|a| {
            let new = after.get(&a.name).unwrap_or(&Value::Null);
            let old = before.get(&a.name).unwrap_or(&Value::Null);
            !new.is_null() && !new.has_unknown() && !new.same_as(old, salt)
        })
        .map(|a| a.name.clone())
        .collect()
}

/// The plan's note for a create-only attribute changed on an existing object.
pub fn left_alone_note(address: &str, attribute: &str) -> String {
    format!(
        "`{address}`: `{attribute}` is used only when the object is created, so changing it does nothing to the existing one; `--replace {address}` creates it again from the new value"
    )
}

/// Input-attribute differences between `before` and `after`, tables diffed per key.
/// With `desired_side`, `after` is the configuration: unset optional-computed attributes are
/// the cloud's to choose, and `ignore` lists attributes not to compare.
pub fn attribute_diffs(
    schema: &Schema,
    before: &Object,
    after: &Object,
    salt: &str,
    ignore: &[String],
    desired_side: bool,
) -> Vec<AttributeDiff> {
    let mut diffs = Vec::new();
    for attribute in schema.attributes.iter().filter(|a| a.is_input()) {
        if ignore.iter().any(|i| i == &attribute.name) {
            continue;
        }
        // Read only when the object is created (a restore source): never an update.
        if desired_side && attribute.create_only {
            continue;
        }
        let old = before.get(&attribute.name).unwrap_or(&Value::Null);
        let new = after.get(&attribute.name).unwrap_or(&Value::Null);
        if desired_side && new.is_null() && attribute.mode == AttributeMode::OptionalComputed {
            continue;
        }
        // An unresolved secret on an existing resource: assume it has not changed.
        if desired_side
            && matches!(new, Value::Sensitive(inner) if inner.has_unknown())
            && old.has_sensitive()
        {
            continue;
        }
        if !new.has_unknown() && new.same_as(old, salt) {
            continue;
        }
        diff_value(attribute, &attribute.name, old, new, salt, &mut diffs);
    }
    diffs
}

fn diff_value(
    attribute: &Attribute,
    path: &str,
    old: &Value,
    new: &Value,
    salt: &str,
    out: &mut Vec<AttributeDiff>,
) {
    if let (Value::Map(a), Value::Map(b)) = (old, new) {
        let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
        for key in keys {
            let x = a.get(key).unwrap_or(&Value::Null);
            let y = b.get(key).unwrap_or(&Value::Null);
            if y.has_unknown() || !x.same_as(y, salt) {
                let path = format!("{path}.{}", crate::render::value_diff::key_text(key));
                diff_value(attribute, &path, x, y, salt, out);
            }
        }
        return;
    }
    // A list holding a secret or a value known only after apply: diffed element-wise so only
    // those leaves are masked or unknown and the rest of the change stays readable
    // (Kubernetes lists matched by `name`).
    if let (Value::List(a), Value::List(b)) = (old, new) {
        if old.has_sensitive() || new.has_sensitive() || new.has_unknown() {
            for (selector, x, y) in list_pairs(a, b) {
                if y.has_unknown() || !x.same_as(y, salt) {
                    diff_value(attribute, &format!("{path}{selector}"), x, y, salt, out);
                }
            }
            return;
        }
    }
    let inner = path
        .strip_prefix(attribute.name.as_str())
        .unwrap_or(path)
        .trim_start_matches('.');
    out.push(AttributeDiff {
        path: path.to_string(),
        before: DiffValue::of(old),
        after: DiffValue::of(new),
        forces_replacement: attribute.forces_replacement_at(inner),
    });
}

/// The elements of two lists paired with their selector: `[name="app"]` when every element
/// on both sides is a table with a distinct string `name` (the merge key of Kubernetes lists
/// of containers, env, ports and volumes), `[0]` by position otherwise.
fn list_pairs<'a>(a: &'a [Value], b: &'a [Value]) -> Vec<(String, &'a Value, &'a Value)> {
    const NULL: &Value = &Value::Null;
    match (merge_names(a), merge_names(b)) {
        (Some(x), Some(y)) => {
            let mut order: Vec<&str> = x.clone();
            order.extend(y.iter().filter(|n| !x.contains(n)));
            order
                .into_iter()
                .map(|n| {
                    let find = |items: &'a [Value]| {
                        items
                            .iter()
                            .find(|v| merge_name(v) == Some(n))
                            .unwrap_or(NULL)
                    };
                    let selector = format!("[name={}]", serde_json::Value::from(n));
                    (selector, find(a), find(b))
                })
                .collect()
        }
        _ => (0..a.len().max(b.len()))
            .map(|i| {
                (
                    format!("[{i}]"),
                    a.get(i).unwrap_or(NULL),
                    b.get(i).unwrap_or(NULL),
                )
            })
            .collect(),
    }
}

/// The `name` of a list element that is a table with a string `name`.
fn merge_name(v: &Value) -> Option<&str> {
    match v {
        Value::Map(m) => match m.get("name") {
            Some(Value::String(s)) => Some(s),
            _ => None,
        },
        _ => None,
    }
}

/// The names of a list's elements, in order, when every element has a distinct one.
fn merge_names(items: &[Value]) -> Option<Vec<&str>> {
    let names: Vec<&str> = items.iter().map(merge_name).collect::<Option<_>>()?;
    let distinct = names.iter().collect::<BTreeSet<_>>().len() == names.len();
    distinct.then_some(names)
}

#[cfg(test)]
mod tests {
    #[test]
    fn create_only_changes_are_left_alone_and_named() {
        use plinth_provider::ValueType;
        let schema = Schema::new("t")
            .attribute(Attribute::optional("restore", ValueType::string_map()).create_only())
            .attribute(Attribute::optional("size", ValueType::Int));
        let obj = |restore: Option<&str>, size: i64| -> Object {
            let mut o = Object::new();
            if let Some(r) = restore {
                o.insert(
                    "restore".into(),
                    Value::Map([("snapshot".to_string(), Value::String(r.into()))].into()),
                );
            }
            o.insert("size".into(), Value::Int(size));
            o
        };
        let before = obj(Some("snap-1"), 1);
        // A new restore source on an existing object: no diff, one note.
        let after = obj(Some("snap-2"), 1);
        assert!(attribute_diffs(&schema, &before, &after, "", &[], true).is_empty());
        assert_eq!(
            create_only_changes(&schema, &before, &after, ""),
            ["restore"]
        );
        // Removed after the create: nothing to say.
        let after = obj(None, 2);
        assert!(create_only_changes(&schema, &before, &after, "").is_empty());
        let diffs = attribute_diffs(&schema, &before, &after, "", &[], true);
        assert_eq!(diffs.len(), 1);
        assert_eq!(diffs[0].path, "size");
        // Unchanged.
        assert!(create_only_changes(&schema, &before, &before, "").is_empty());
        assert!(left_alone_note("a.b", "restore").contains("--replace a.b"));
    }

    use super::*;
    use plinth_provider::ValueType;
    use std::collections::BTreeMap;

    fn manifest(kind: &str, name: &str, replicas: i64) -> Object {
        let mut metadata = BTreeMap::new();
        metadata.insert("name".to_string(), Value::string(name));
        let mut spec = BTreeMap::new();
        spec.insert("replicas".to_string(), Value::Int(replicas));
        let mut m = BTreeMap::new();
        m.insert("kind".to_string(), Value::string(kind));
        m.insert("metadata".to_string(), Value::Map(metadata));
        m.insert("spec".to_string(), Value::Map(spec));
        let mut object = Object::new();
        object.insert("manifest".to_string(), Value::Map(m));
        object
    }

    #[test]
    fn a_secret_inside_a_list_masks_only_its_leaf() {
        let schema =
            Schema::new("k8s_object").attribute(Attribute::required("env", ValueType::Any));
        let var = |name: &str, value: Value| {
            let mut m = BTreeMap::new();
            m.insert("name".to_string(), Value::string(name));
            m.insert("value".to_string(), value);
            Value::Map(m)
        };
        let object = |level: &str, password: &str| {
            let mut o = Object::new();
            o.insert(
                "env".to_string(),
                Value::List(vec![
                    var("LOG_LEVEL", Value::string(level)),
                    var(
                        "DB_PASSWORD",
                        Value::Sensitive(Box::new(Value::string(password))),
                    ),
                ]),
            );
            o
        };
        let diffs = attribute_diffs(
            &schema,
            &object("info", "a"),
            &object("debug", "b"),
            "s",
            &[],
            true,
        );
        let paths: Vec<&str> = diffs.iter().map(|d| d.path.as_str()).collect();
        assert_eq!(
            paths,
            vec![
                r#"env[name="LOG_LEVEL"].value"#,
                r#"env[name="DB_PASSWORD"].value"#
            ]
        );
        assert_eq!(diffs[0].after, DiffValue::Known(serde_json::json!("debug")));
        assert_eq!(diffs[1].before, DiffValue::Sensitive);
        assert_eq!(diffs[1].after, DiffValue::Sensitive);
    }

    #[test]
    fn keys_with_dots_are_quoted_in_paths() {
        let schema =
            Schema::new("k8s_object").attribute(Attribute::required("data", ValueType::Any));
        let object = |v: &str| {
            let mut m = BTreeMap::new();
            m.insert("nginx.conf".to_string(), Value::string(v));
            let mut o = Object::new();
            o.insert("data".to_string(), Value::Map(m));
            o
        };
        let diffs = attribute_diffs(&schema, &object("a"), &object("b"), "", &[], true);
        assert_eq!(diffs[0].path, r#"data."nginx.conf""#);
    }

    #[test]
    fn force_new_keys_replace_only_when_their_path_changes() {
        let schema = Schema::new("k8s_object").attribute(
            Attribute::required("manifest", ValueType::Any)
                .force_new_key("kind")
                .force_new_key("metadata.name"),
        );
        let spec_only = attribute_diffs(
            &schema,
            &manifest("Deployment", "a", 1),
            &manifest("Deployment", "a", 2),
            "",
            &[],
            true,
        );
        assert_eq!(spec_only.len(), 1);
        assert_eq!(spec_only[0].path, "manifest.spec.replicas");
        assert!(!spec_only[0].forces_replacement);
        let renamed = attribute_diffs(
            &schema,
            &manifest("Deployment", "a", 1),
            &manifest("Deployment", "b", 1),
            "",
            &[],
            true,
        );
        assert!(renamed[0].forces_replacement, "{renamed:?}");
        assert_eq!(renamed[0].path, "manifest.metadata.name");
    }
}
