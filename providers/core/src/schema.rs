//! Resource schemas: which attributes a resource type has, which the user sets, which the
//! cloud computes, which force a replacement and which are secret.

use crate::value::Value;

/// The type of an attribute's value.
#[derive(Clone, Debug, PartialEq)]
pub enum ValueType {
    /// A string.
    String,
    /// A whole number.
    Int,
    /// A number (integers accepted).
    Float,
    /// A boolean.
    Bool,
    /// A list of one element type.
    List(Box<ValueType>),
    /// A table with arbitrary keys and one value type.
    Map(Box<ValueType>),
    /// A table with known fields (a nested block such as a health check).
    Object(Vec<Attribute>),
    /// Anything (e.g. `plinth_data.input` or a Kubernetes manifest).
    Any,
}

impl ValueType {
    /// A list of strings, the most common list.
    pub fn string_list() -> Self {
        ValueType::List(Box::new(ValueType::String))
    }

    /// A map of strings (tags, labels).
    pub fn string_map() -> Self {
        ValueType::Map(Box::new(ValueType::String))
    }

    /// A name for messages, e.g. `list of string`.
    pub fn describe(&self) -> String {
        match self {
            ValueType::String => "string".into(),
            ValueType::Int => "integer".into(),
            ValueType::Float => "number".into(),
            ValueType::Bool => "bool".into(),
            ValueType::List(inner) => format!("list of {}", inner.describe()),
            ValueType::Map(inner) => format!("table of {}", inner.describe()),
            ValueType::Object(_) => "table".into(),
            ValueType::Any => "any value".into(),
        }
    }

    /// Checks a value against this type. Unknown and sensitive leaves pass (their inner value
    /// is checked). Returns the path and a message of the first mismatch.
    pub fn check(&self, value: &Value) -> Result<(), TypeMismatch> {
        match (self, value) {
            (_, Value::Unknown)
            | (_, Value::Null)
            | (ValueType::Any, _)
            | (_, Value::Redacted(_)) => Ok(()),
            (ty, Value::Sensitive(inner)) => ty.check(inner),
            (ValueType::String, Value::String(_)) => Ok(()),
            // Numbers and bools written inside interpolations arrive as strings.
            (ValueType::Int, Value::Int(_)) => Ok(()),
            (ValueType::Int, Value::String(s)) if s.parse::<i64>().is_ok() => Ok(()),
            (ValueType::Float, Value::Int(_) | Value::Float(_)) => Ok(()),
            (ValueType::Float, Value::String(s)) if s.parse::<f64>().is_ok() => Ok(()),
            (ValueType::Bool, Value::Bool(_)) => Ok(()),
            (ValueType::Bool, Value::String(s)) if s == "true" || s == "false" => Ok(()),
            (ValueType::List(inner), Value::List(items)) => {
                for (i, item) in items.iter().enumerate() {
                    inner.check(item).map_err(|e| e.under(&format!("[{i}]")))?;
                }
                Ok(())
            }
            (ValueType::Map(inner), Value::Map(map)) => {
                for (k, v) in map {
                    inner.check(v).map_err(|e| e.under(&format!(".{k}")))?;
                }
                Ok(())
            }
            (ValueType::Object(fields), Value::Map(map)) => {
                for (k, v) in map {
                    match fields.iter().find(|f| &f.name == k) {
                        Some(field) => field
                            .value_type
                            .check(v)
                            .map_err(|e| e.under(&format!(".{k}")))?,
                        None => {
                            return Err(TypeMismatch {
                                path: format!(".{k}"),
                                message: format!(
                                    "unknown field `{k}`; expected one of: {}",
                                    fields
                                        .iter()
                                        .map(|f| format!("`{}`", f.name))
                                        .collect::<Vec<_>>()
                                        .join(", ")
                                ),
                            })
                        }
                    }
                }
                for field in fields.iter().filter(|f| f.mode == AttributeMode::Required) {
                    if !map.contains_key(&field.name) {
                        return Err(TypeMismatch {
                            path: String::new(),
                            message: format!("missing required field `{}`", field.name),
                        });
                    }
                }
                Ok(())
            }
            (ty, v) => Err(TypeMismatch {
                path: String::new(),
                message: format!("expected {}, found {}", ty.describe(), v.kind_name()),
            }),
        }
    }
}

/// Where a value does not fit its type.
#[derive(Clone, Debug, PartialEq)]
pub struct TypeMismatch {
    /// Path below the attribute, e.g. `.health_check.port`.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl TypeMismatch {
    fn under(mut self, prefix: &str) -> Self {
        self.path = format!("{prefix}{}", self.path);
        self
    }
}

/// Who sets an attribute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttributeMode {
    /// The user must set it.
    Required,
    /// The user may set it; otherwise the default (or nothing).
    Optional,
    /// The user may set it; otherwise the cloud chooses and the value is read back.
    OptionalComputed,
    /// Only the cloud sets it (ids, ARNs, endpoints).
    Computed,
}

/// One attribute of a resource type.
#[derive(Clone, Debug, PartialEq)]
pub struct Attribute {
    /// Attribute name as written in TOML.
    pub name: String,
    /// Value type.
    pub value_type: ValueType,
    /// Who sets it.
    pub mode: AttributeMode,
    /// Changing it requires a new resource.
    pub force_new: bool,
    /// Paths inside a table-valued attribute whose change requires a new resource
    /// (e.g. `kind` and `metadata.name` of a Kubernetes manifest), when not all of it does.
    pub force_new_keys: Vec<String>,
    /// Used only when the resource is created (a restore source): a later change is not
    /// planned as an update or a replacement, and the plan says it was left alone.
    pub create_only: bool,
    /// Its value is secret.
    pub sensitive: bool,
    /// Default used when the user does not set it.
    pub default: Option<Value>,
    /// One line of documentation.
    pub description: String,
}

impl Attribute {
    fn new(name: &str, value_type: ValueType, mode: AttributeMode) -> Self {
        Attribute {
            name: name.to_string(),
            value_type,
            mode,
            force_new: false,
            force_new_keys: Vec::new(),
            create_only: false,
            sensitive: false,
            default: None,
            description: String::new(),
        }
    }

    /// A required attribute.
    pub fn required(name: &str, value_type: ValueType) -> Self {
        Self::new(name, value_type, AttributeMode::Required)
    }

    /// An optional attribute.
    pub fn optional(name: &str, value_type: ValueType) -> Self {
        Self::new(name, value_type, AttributeMode::Optional)
    }

    /// An optional attribute whose value the cloud picks when unset.
    pub fn optional_computed(name: &str, value_type: ValueType) -> Self {
        Self::new(name, value_type, AttributeMode::OptionalComputed)
    }

    /// A computed attribute.
    pub fn computed(name: &str, value_type: ValueType) -> Self {
        Self::new(name, value_type, AttributeMode::Computed)
    }

    /// Marks the attribute as forcing replacement when it changes.
    pub fn force_new(mut self) -> Self {
        self.force_new = true;
        self
    }

    /// Marks the attribute as read only on create (see [`Attribute::create_only`]).
    pub fn create_only(mut self) -> Self {
        self.create_only = true;
        self
    }

    /// Marks a path inside this table-valued attribute (dot-separated, e.g. `metadata.name`)
    /// as forcing replacement when it changes.
    pub fn force_new_key(mut self, path: &str) -> Self {
        self.force_new_keys.push(path.to_string());
        self
    }

    /// True when a change at `path` below this attribute (`""` for the whole value) forces a
    /// replacement.
    pub fn forces_replacement_at(&self, path: &str) -> bool {
        self.force_new
            || self.force_new_keys.iter().any(|key| {
                path == key
                    || path.starts_with(&format!("{key}."))
                    || key.starts_with(&format!("{path}."))
                    || path.is_empty()
            })
    }

    /// Marks the attribute as secret.
    pub fn sensitive(mut self) -> Self {
        self.sensitive = true;
        self
    }

    /// Sets a default value.
    pub fn default(mut self, value: impl Into<Value>) -> Self {
        self.default = Some(value.into());
        self
    }

    /// Sets the description.
    pub fn describe(mut self, text: &str) -> Self {
        self.description = text.to_string();
        self
    }

    /// True when the user may write this attribute.
    pub fn is_input(&self) -> bool {
        self.mode != AttributeMode::Computed
    }
}

/// The schema of one resource type.
#[derive(Clone, Debug, PartialEq)]
pub struct Schema {
    /// Type name, e.g. `aws_rds_instance`.
    pub type_name: String,
    /// Attributes in documentation order.
    pub attributes: Vec<Attribute>,
    /// Data-bearing resource (database, cache, bucket): deletion or replacement loses data.
    pub stateful: bool,
    /// Serves traffic: delete-before-create causes downtime.
    pub serves_traffic: bool,
    /// One line of documentation.
    pub description: String,
}

impl Schema {
    /// A new schema with no attributes.
    pub fn new(type_name: &str) -> Self {
        Schema {
            type_name: type_name.to_string(),
            attributes: Vec::new(),
            stateful: false,
            serves_traffic: false,
            description: String::new(),
        }
    }

    /// Adds an attribute.
    pub fn attribute(mut self, attribute: Attribute) -> Self {
        self.attributes.push(attribute);
        self
    }

    /// Marks the type as holding data.
    pub fn stateful(mut self) -> Self {
        self.stateful = true;
        self
    }

    /// Marks the type as serving traffic.
    pub fn serves_traffic(mut self) -> Self {
        self.serves_traffic = true;
        self
    }

    /// Sets the description.
    pub fn describe(mut self, text: &str) -> Self {
        self.description = text.to_string();
        self
    }

    /// Looks an attribute up by name.
    pub fn get(&self, name: &str) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.name == name)
    }

    /// Names of the attributes a user may write.
    pub fn input_names(&self) -> impl Iterator<Item = &str> {
        self.attributes
            .iter()
            .filter(|a| a.is_input())
            .map(|a| a.name.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_check_reports_the_path_of_a_mismatch() {
        let ty = ValueType::List(Box::new(ValueType::Int));
        let v = Value::List(vec![Value::Int(1), Value::Bool(true)]);
        let err = ty.check(&v).unwrap_err();
        assert_eq!(err.path, "[1]");
        assert_eq!(err.message, "expected integer, found bool");
    }

    #[test]
    fn object_fields_are_checked() {
        let ty = ValueType::Object(vec![Attribute::required("port", ValueType::Int)]);
        let mut map = std::collections::BTreeMap::new();
        map.insert("prt".to_string(), Value::Int(1));
        assert!(ty
            .check(&Value::Map(map))
            .unwrap_err()
            .message
            .contains("unknown field `prt`"));
    }
}
