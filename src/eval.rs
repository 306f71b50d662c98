//! Evaluation of attribute expressions against what is known: planned values during plan,
//! real results during apply.

use std::collections::BTreeMap;

use plinth_provider::{Value, ValueType};

use crate::config::{Address, Expr, Part};

/// What expressions can look up.
pub trait Scope {
    /// The value of `target.path...`; `Value::Unknown` when not known yet.
    fn attribute(&self, target: &Address, path: &[String]) -> Value;
    /// A secret's value, always sensitive; `Sensitive(Unknown)` when unresolved.
    fn secret(&self, name: &str) -> Value;
}

/// References resolved against recorded state (resources not recorded are `Null`).
pub struct StateScope<'a> {
    /// The state.
    pub document: &'a plinth_state::StateDocument,
    /// Secrets of the run.
    pub secrets: &'a crate::secrets::Secrets,
}

impl Scope for StateScope<'_> {
    fn attribute(&self, target: &Address, path: &[String]) -> Value {
        let Some(record) = self.document.resources.get(&target.to_string()) else {
            return Value::Null;
        };
        // Convert only the attribute the path goes into, not the whole record.
        match path.split_first() {
            None => Value::Map(plinth_provider::object_from_json(&record.attributes)),
            Some((first, rest)) => match record.attributes.get(first) {
                Some(json) => lookup_path(&Value::from_json(json), rest),
                None => Value::Null,
            },
        }
    }

    fn secret(&self, name: &str) -> Value {
        self.secrets.value(name)
    }
}

/// References resolved against a map of objects by address (planned values during plan and
/// render); a resource not in the map is not known yet.
pub struct PlannedScope<'a> {
    /// Objects by address.
    pub planned: &'a foldhash::HashMap<String, plinth_provider::Object>,
    /// Secrets of the run.
    pub secrets: &'a crate::secrets::Secrets,
}

impl Scope for PlannedScope<'_> {
    fn attribute(&self, target: &Address, path: &[String]) -> Value {
        match self.planned.get(&target.to_string()) {
            Some(object) => lookup_object(object, path),
            None => Value::Unknown,
        }
    }

    fn secret(&self, name: &str) -> Value {
        self.secrets.value(name)
    }
}

/// Evaluates an expression.
pub fn eval(expr: &Expr, scope: &dyn Scope) -> Value {
    match expr {
        Expr::Literal(value) => value.clone(),
        Expr::Ref(reference) => scope.attribute(&reference.target, &reference.path),
        Expr::Secret(secret) => scope.secret(&secret.name),
        Expr::List(items) => Value::List(items.iter().map(|e| eval(e, scope)).collect()),
        Expr::Map(map) => Value::Map(
            map.iter()
                .map(|(k, e)| (k.clone(), eval(e, scope)))
                .collect(),
        ),
        Expr::Template(parts) => {
            let mut text = String::new();
            let mut sensitive = false;
            for part in parts {
                let value = match part {
                    Part::Text(t) => {
                        text.push_str(t);
                        continue;
                    }
                    Part::Ref(reference) => scope.attribute(&reference.target, &reference.path),
                    Part::Secret(secret) => scope.secret(&secret.name),
                };
                if value.has_unknown() {
                    return if sensitive || value.has_sensitive() {
                        Value::Unknown.sensitive()
                    } else {
                        Value::Unknown
                    };
                }
                sensitive |= value.has_sensitive();
                text.push_str(&interpolated_text(&value.reveal()));
            }
            let value = Value::String(text);
            if sensitive {
                value.sensitive()
            } else {
                value
            }
        }
    }
}

/// How a value reads inside a string.
pub fn interpolated_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => f.to_string(),
        other => other.to_plain_json().to_string(),
    }
}

/// Follows a path into a value (`tags.Name`, list indices as numbers). Anything below a
/// sensitive value is sensitive. Walks by reference and clones only what it returns.
pub fn lookup_path(value: &Value, path: &[String]) -> Value {
    static NULL: Value = Value::Null;
    let mut current = value;
    let mut sensitive = false;
    for key in path {
        let inner = match current {
            Value::Sensitive(inner) => {
                sensitive = true;
                &**inner
            }
            other => other,
        };
        current = match inner {
            Value::Unknown => return Value::Unknown,
            Value::Map(map) => map.get(key).unwrap_or(&NULL),
            Value::List(items) => key
                .parse::<usize>()
                .ok()
                .and_then(|i| items.get(i))
                .unwrap_or(&NULL),
            _ => &NULL,
        };
    }
    if sensitive {
        current.clone().sensitive()
    } else {
        current.clone()
    }
}

/// [`lookup_path`] into an object without wrapping (and cloning) it into a value first.
pub fn lookup_object(object: &plinth_provider::Object, path: &[String]) -> Value {
    match path.split_first() {
        None => Value::Map(object.clone()),
        Some((first, rest)) => match object.get(first) {
            Some(value) => lookup_path(value, rest),
            None => Value::Null,
        },
    }
}

/// Converts interpolated strings to the attribute's declared type (`"3"` → 3 for an integer).
pub fn coerce(value: Value, value_type: &ValueType) -> Value {
    match (value_type, value) {
        (ty, Value::Sensitive(inner)) => coerce(*inner, ty).sensitive(),
        (ValueType::Int, Value::String(s)) => s.parse().map(Value::Int).unwrap_or(Value::String(s)),
        (ValueType::Float, Value::String(s)) => {
            s.parse().map(Value::Float).unwrap_or(Value::String(s))
        }
        (ValueType::Bool, Value::String(s)) => match s.as_str() {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => Value::String(s),
        },
        (ValueType::String, Value::Int(i)) => Value::String(i.to_string()),
        (ValueType::String, Value::Bool(b)) => Value::String(b.to_string()),
        (ValueType::List(inner), Value::List(items)) => {
            Value::List(items.into_iter().map(|v| coerce(v, inner)).collect())
        }
        (ValueType::Map(inner), Value::Map(map)) => Value::Map(
            map.into_iter()
                .map(|(k, v)| (k, coerce(v, inner)))
                .collect(),
        ),
        (ValueType::Object(fields), Value::Map(map)) => Value::Map(
            map.into_iter()
                .map(|(k, v)| {
                    let v = match fields.iter().find(|f| f.name == k) {
                        Some(field) => coerce(v, &field.value_type),
                        None => v,
                    };
                    (k, v)
                })
                .collect::<BTreeMap<_, _>>(),
        ),
        (_, other) => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Origin, Reference, SecretRef};

    struct Fixed;
    impl Scope for Fixed {
        fn attribute(&self, target: &Address, _path: &[String]) -> Value {
            if target.name == "known" {
                Value::string("db.example")
            } else {
                Value::Unknown
            }
        }
        fn secret(&self, _name: &str) -> Value {
            Value::string("pw").sensitive()
        }
    }

    fn origin() -> Origin {
        Origin {
            file: 0,
            span: (0, 0).into(),
        }
    }

    fn reference(name: &str) -> Part {
        Part::Ref(Reference {
            target: Address::new("t", name),
            path: vec!["endpoint".into()],
            origin: origin(),
        })
    }

    #[test]
    fn templates_join_known_parts_and_mark_secrets() {
        let expr = Expr::Template(vec![
            Part::Text("pg://u:".into()),
            Part::Secret(SecretRef {
                name: "db".into(),
                origin: origin(),
            }),
            Part::Text("@".into()),
            reference("known"),
        ]);
        let value = eval(&expr, &Fixed);
        assert!(matches!(value, Value::Sensitive(_)));
        assert_eq!(value.reveal(), Value::string("pg://u:pw@db.example"));
    }

    #[test]
    fn an_unknown_part_makes_the_string_unknown() {
        let expr = Expr::Template(vec![Part::Text("x".into()), reference("later")]);
        assert_eq!(eval(&expr, &Fixed), Value::Unknown);
    }

    #[test]
    fn lookups_follow_paths_and_keep_sensitivity() {
        let mut object = plinth_provider::Object::new();
        object.insert(
            "tags".into(),
            Value::Map([("Name".to_string(), Value::string("web"))].into()),
        );
        object.insert(
            "secret".into(),
            Value::Map([("inner".to_string(), Value::string("pw"))].into()).sensitive(),
        );
        object.insert("later".into(), Value::Unknown);
        object.insert(
            "list".into(),
            Value::List(vec![Value::Int(1), Value::Int(2)]),
        );
        let path = |p: &[&str]| p.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            lookup_object(&object, &path(&["tags", "Name"])),
            Value::string("web")
        );
        assert_eq!(lookup_object(&object, &path(&["list", "1"])), Value::Int(2));
        assert_eq!(lookup_object(&object, &path(&["list", "x"])), Value::Null);
        assert_eq!(
            lookup_object(&object, &path(&["missing", "a"])),
            Value::Null
        );
        assert_eq!(
            lookup_object(&object, &path(&["secret", "inner"])),
            Value::string("pw").sensitive()
        );
        assert_eq!(
            lookup_object(&object, &path(&["secret", "nothing"])),
            Value::Null.sensitive()
        );
        assert_eq!(
            lookup_object(&object, &path(&["later", "a"])),
            Value::Unknown
        );
        assert_eq!(lookup_object(&object, &[]), Value::Map(object.clone()));
    }

    #[test]
    fn coercion_follows_the_schema() {
        assert_eq!(coerce(Value::string("3"), &ValueType::Int), Value::Int(3));
        assert_eq!(
            coerce(Value::string("true"), &ValueType::Bool),
            Value::Bool(true)
        );
        assert_eq!(
            coerce(Value::string("x"), &ValueType::Int),
            Value::string("x")
        );
    }
}
