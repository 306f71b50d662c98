//! The value model: every attribute of every resource is a [`Value`].
//!
//! A leaf may be *known*, *unknown* ("known after apply") or *sensitive*. Sensitive leaves
//! keep their plaintext only in memory; whenever a value leaves the process (state, plan
//! file, JSON, terminal) it is replaced by a salted digest ([`Value::Redacted`]) or a mask.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value as Json;
use sha2::{Digest, Sha256};

/// A map of attribute name to value: the shape of a resource's configuration and state.
pub type Object = BTreeMap<String, Value>;

/// The JSON key that marks a redacted sensitive leaf in persisted documents.
pub const REDACTED_KEY: &str = "$sensitive";

/// One attribute value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// Absent / null.
    Null,
    /// A boolean.
    Bool(bool),
    /// A whole number.
    Int(i64),
    /// A floating point number.
    Float(f64),
    /// A string.
    String(String),
    /// An ordered list.
    List(Vec<Value>),
    /// A map with string keys (sorted, so rendering and hashing are deterministic).
    Map(BTreeMap<String, Value>),
    /// Not known until apply (a computed attribute of a resource not yet created).
    Unknown,
    /// A secret; the inner value is never rendered or persisted.
    Sensitive(Box<Value>),
    /// A sensitive value whose plaintext is not kept: only its salted digest.
    Redacted(String),
}

impl Value {
    /// A string value.
    pub fn string(s: impl Into<String>) -> Self {
        Value::String(s.into())
    }

    /// Marks a value as sensitive (idempotent).
    pub fn sensitive(self) -> Self {
        match self {
            Value::Sensitive(_) | Value::Redacted(_) => self,
            other => Value::Sensitive(Box::new(other)),
        }
    }

    /// True for [`Value::Null`].
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// True when this value or any leaf below it is unknown.
    pub fn has_unknown(&self) -> bool {
        match self {
            Value::Unknown => true,
            Value::List(items) => items.iter().any(Value::has_unknown),
            Value::Map(map) => map.values().any(Value::has_unknown),
            Value::Sensitive(inner) => inner.has_unknown(),
            _ => false,
        }
    }

    /// True when this value or any leaf below it is sensitive.
    pub fn has_sensitive(&self) -> bool {
        match self {
            Value::Sensitive(_) | Value::Redacted(_) => true,
            Value::List(items) => items.iter().any(Value::has_sensitive),
            Value::Map(map) => map.values().any(Value::has_sensitive),
            _ => false,
        }
    }

    /// The value with sensitivity marks removed (for handing to a provider).
    /// A redacted leaf has no plaintext and becomes `Null`.
    pub fn reveal(&self) -> Value {
        match self {
            Value::Sensitive(inner) => inner.reveal(),
            Value::Redacted(_) => Value::Null,
            Value::List(items) => Value::List(items.iter().map(Value::reveal).collect()),
            Value::Map(map) => {
                Value::Map(map.iter().map(|(k, v)| (k.clone(), v.reveal())).collect())
            }
            other => other.clone(),
        }
    }

    /// The string inside, when this is a known (possibly sensitive) string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            Value::Sensitive(inner) => inner.as_str(),
            _ => None,
        }
    }

    /// The integer inside (floats with no fraction count).
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::Float(f) if f.fract() == 0.0 => Some(*f as i64),
            Value::String(s) => s.parse().ok(),
            Value::Sensitive(inner) => inner.as_i64(),
            _ => None,
        }
    }

    /// The boolean inside.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            Value::String(s) if s == "true" => Some(true),
            Value::String(s) if s == "false" => Some(false),
            Value::Sensitive(inner) => inner.as_bool(),
            _ => None,
        }
    }

    /// The list inside.
    pub fn as_list(&self) -> Option<&[Value]> {
        match self {
            Value::List(items) => Some(items),
            Value::Sensitive(inner) => inner.as_list(),
            _ => None,
        }
    }

    /// The map inside.
    pub fn as_map(&self) -> Option<&BTreeMap<String, Value>> {
        match self {
            Value::Map(map) => Some(map),
            Value::Sensitive(inner) => inner.as_map(),
            _ => None,
        }
    }

    /// A short name of the value's kind, for error messages.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Int(_) => "integer",
            Value::Float(_) => "float",
            Value::String(_) => "string",
            Value::List(_) => "list",
            Value::Map(_) => "table",
            Value::Unknown => "unknown",
            Value::Sensitive(_) | Value::Redacted(_) => "sensitive",
        }
    }

    /// Converts plain JSON (from a provider or a document) into a value.
    /// `{"$sensitive": "<digest>"}` becomes [`Value::Redacted`].
    pub fn from_json(json: &Json) -> Value {
        match json {
            Json::Null => Value::Null,
            Json::Bool(b) => Value::Bool(*b),
            Json::Number(n) => match n.as_i64() {
                Some(i) => Value::Int(i),
                None => Value::Float(n.as_f64().unwrap_or(0.0)),
            },
            Json::String(s) => Value::String(s.clone()),
            Json::Array(items) => Value::List(items.iter().map(Value::from_json).collect()),
            Json::Object(map) => {
                if map.len() == 1 {
                    if let Some(Json::String(digest)) = map.get(REDACTED_KEY) {
                        return Value::Redacted(digest.clone());
                    }
                }
                Value::Map(
                    map.iter()
                        .map(|(k, v)| (k.clone(), Value::from_json(v)))
                        .collect(),
                )
            }
        }
    }

    /// Plain JSON with plaintext secrets (only for handing to a provider SDK, never persisted).
    /// Unknown leaves become `null`.
    pub fn to_plain_json(&self) -> Json {
        match self {
            Value::Null | Value::Unknown | Value::Redacted(_) => Json::Null,
            Value::Bool(b) => Json::Bool(*b),
            Value::Int(i) => Json::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f)
                .map(Json::Number)
                .unwrap_or(Json::Null),
            Value::String(s) => Json::String(s.clone()),
            Value::List(items) => Json::Array(items.iter().map(Value::to_plain_json).collect()),
            Value::Map(map) => Json::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), v.to_plain_json()))
                    .collect(),
            ),
            Value::Sensitive(inner) => inner.to_plain_json(),
        }
    }

    /// JSON safe to persist: every sensitive leaf becomes `{"$sensitive": digest}` using `salt`.
    pub fn to_persisted_json(&self, salt: &str) -> Json {
        match self {
            Value::Sensitive(inner) => redacted_json(&inner.digest(salt)),
            Value::Redacted(digest) => redacted_json(digest),
            Value::List(items) => {
                Json::Array(items.iter().map(|v| v.to_persisted_json(salt)).collect())
            }
            Value::Map(map) => Json::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), v.to_persisted_json(salt)))
                    .collect(),
            ),
            other => other.to_plain_json(),
        }
    }

    /// A salted digest of the value (its plaintext), `sha256:<hex>`.
    pub fn digest(&self, salt: &str) -> String {
        let mut hasher = Sha256::new();
        hasher.update(salt.as_bytes());
        hasher.update([0u8]);
        hasher.update(self.reveal().to_plain_json().to_string().as_bytes());
        format!("sha256:{}", hex::encode(&hasher.finalize()[..16]))
    }

    /// Compares a desired value with a recorded one, seeing through sensitivity:
    /// a sensitive value equals a redacted one when their digests match.
    pub fn same_as(&self, other: &Value, salt: &str) -> bool {
        match (self, other) {
            (Value::Sensitive(a), Value::Sensitive(b)) => a.same_as(b, salt),
            (Value::Sensitive(a), Value::Redacted(d))
            | (Value::Redacted(d), Value::Sensitive(a)) => &a.digest(salt) == d,
            (Value::Sensitive(a), b) | (b, Value::Sensitive(a)) => a.same_as(b, salt),
            (Value::Redacted(a), Value::Redacted(b)) => a == b,
            (Value::Redacted(d), b) | (b, Value::Redacted(d)) => &b.digest(salt) == d,
            (Value::Int(a), Value::Float(b)) | (Value::Float(b), Value::Int(a)) => {
                (*a as f64) == *b
            }
            (Value::List(a), Value::List(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.same_as(y, salt))
            }
            (Value::Map(a), Value::Map(b)) => {
                // A key holding null is the same as an absent key.
                a.iter()
                    .all(|(k, x)| x.same_as(b.get(k).unwrap_or(&Value::Null), salt))
                    && b.iter()
                        .filter(|(k, _)| !a.contains_key(*k))
                        .all(|(_, y)| Value::Null.same_as(y, salt))
            }
            (a, b) => a == b,
        }
    }
}

fn redacted_json(digest: &str) -> Json {
    let mut map = serde_json::Map::new();
    map.insert(REDACTED_KEY.to_string(), Json::String(digest.to_string()));
    Json::Object(map)
}

/// Renders a value for people: strings quoted, secrets masked, unknowns spelled out.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => write!(f, "null"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{x}"),
            Value::String(s) => write!(f, "{s:?}"),
            Value::List(items) => {
                write!(f, "[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{item}")?;
                }
                write!(f, "]")
            }
            Value::Map(map) => {
                write!(f, "{{ ")?;
                for (i, (k, v)) in map.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{k} = {v}")?;
                }
                write!(f, " }}")
            }
            Value::Unknown => write!(f, "(known after apply)"),
            Value::Sensitive(_) | Value::Redacted(_) => write!(f, "(sensitive)"),
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_string())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}
impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

/// Converts a whole object to persisted JSON (see [`Value::to_persisted_json`]).
pub fn object_to_persisted_json(object: &Object, salt: &str) -> serde_json::Map<String, Json> {
    object
        .iter()
        .map(|(k, v)| (k.clone(), v.to_persisted_json(salt)))
        .collect()
}

/// Converts a JSON object into an [`Object`].
pub fn object_from_json(map: &serde_json::Map<String, Json>) -> Object {
    map.iter()
        .map(|(k, v)| (k.clone(), Value::from_json(v)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sensitive_values_persist_as_digests_and_still_compare() {
        let secret = Value::string("hunter2").sensitive();
        let persisted = secret.to_persisted_json("salt");
        assert!(!persisted.to_string().contains("hunter2"));
        let back = Value::from_json(&persisted);
        assert!(matches!(back, Value::Redacted(_)));
        assert!(secret.same_as(&back, "salt"));
        assert!(!Value::string("other").sensitive().same_as(&back, "salt"));
        assert!(!secret.same_as(&back, "another salt"));
    }

    #[test]
    fn display_masks_secrets_and_names_unknowns() {
        let v = Value::List(vec![Value::string("a").sensitive(), Value::Unknown]);
        assert_eq!(v.to_string(), "[(sensitive), (known after apply)]");
    }

    #[test]
    fn null_map_entries_equal_absent_ones() {
        let mut a = BTreeMap::new();
        a.insert("x".to_string(), Value::Null);
        assert!(Value::Map(a).same_as(&Value::Map(BTreeMap::new()), ""));
        assert!(Value::Int(2).same_as(&Value::Float(2.0), ""));
    }
}
