//! Conversions between Plinth values and Kubernetes JSON, and the projection that reads a
//! live object back in the shape the user wrote (so server defaults are not drift).

use plinth_provider::Value;
use serde_json::Value as Json;
use sha2::{Digest, Sha256};

/// Plain JSON of a value with secrets revealed (for the API only, never printed).
pub fn to_json(value: &Value) -> Json {
    value.to_plain_json()
}

/// Reads `live` in the shape of `shape`: only the keys the user wrote are kept, lists keep
/// their length when it matches, and leaves that were sensitive stay sensitive.
pub fn project(live: &Json, shape: &Value) -> Value {
    match shape {
        Value::Sensitive(inner) => project(live, inner).sensitive(),
        Value::Redacted(_) => Value::from_json(live).sensitive(),
        Value::Map(wanted) => match live {
            Json::Object(found) => Value::Map(
                wanted
                    .iter()
                    .filter_map(|(key, inner)| {
                        found.get(key).map(|v| (key.clone(), project(v, inner)))
                    })
                    .collect(),
            ),
            _ => Value::from_json(live),
        },
        Value::List(wanted) => match live {
            Json::Array(found) if found.len() == wanted.len() => Value::List(
                found
                    .iter()
                    .zip(wanted)
                    .map(|(v, s)| project(v, s))
                    .collect(),
            ),
            _ => Value::from_json(live),
        },
        // Numbers written as strings (and back) compare by their text.
        Value::String(text) => match live {
            Json::Number(n) if n.to_string() == *text => Value::String(text.clone()),
            _ => Value::from_json(live),
        },
        Value::Int(i) => match live {
            Json::String(s) if s == &i.to_string() => Value::Int(*i),
            _ => Value::from_json(live),
        },
        _ => Value::from_json(live),
    }
}

/// The live object without what the server owns (status, managedFields, uid, versions...),
/// used when importing an object nobody described yet.
pub fn strip_server_fields(live: &Json) -> Json {
    let mut object = live.clone();
    if let Some(map) = object.as_object_mut() {
        map.remove("status");
    }
    if let Some(meta) = object.get_mut("metadata").and_then(Json::as_object_mut) {
        for key in [
            "uid",
            "resourceVersion",
            "generation",
            "creationTimestamp",
            "managedFields",
            "selfLink",
        ] {
            meta.remove(key);
        }
    }
    object
}

/// `sha256:` + the first 16 bytes (hex) of the SHA-256 of a JSON document.
pub fn json_digest(json: &Json) -> String {
    let mut hasher = Sha256::new();
    hasher.update(json.to_string().as_bytes());
    format!("sha256:{}", hex::encode(&hasher.finalize()[..16]))
}

/// Sets `value` at a JSON pointer, creating the objects on the way.
pub fn set_pointer(target: &mut Json, pointer: &str, value: Json) {
    let mut current = target;
    for part in pointer.trim_start_matches('/').split('/') {
        if !current.is_object() {
            *current = Json::Object(serde_json::Map::new());
        }
        let Json::Object(map) = current else { return };
        current = map.entry(part.to_string()).or_insert(Json::Null);
    }
    *current = value;
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn projection_keeps_the_users_shape_and_sensitivity() {
        let live = json!({"metadata": {"name": "a", "uid": "u"}, "data": {"k": "v"}, "spec": {"replicas": 3}});
        let shape =
            Value::from_json(&json!({"metadata": {"name": "a"}, "spec": {"replicas": "3"}}));
        let mut shape_map = shape.as_map().unwrap().clone();
        shape_map.insert("data".into(), Value::Redacted("sha256:x".into()));
        let projected = project(&live, &Value::Map(shape_map));
        let map = projected.as_map().unwrap();
        assert_eq!(map["metadata"], Value::from_json(&json!({"name": "a"})));
        assert!(matches!(map["data"], Value::Sensitive(_)));
        assert_eq!(map["spec"], Value::from_json(&json!({"replicas": "3"})));
    }

    #[test]
    fn set_pointer_builds_nested_objects() {
        let mut doc = json!({"kind": "X"});
        set_pointer(&mut doc, "/spec/podSelector/matchLabels", json!({"a": "b"}));
        assert_eq!(doc["spec"]["podSelector"]["matchLabels"]["a"], "b");
    }
}
