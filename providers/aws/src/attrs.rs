//! Small helpers to read desired attributes and build the attribute objects resources return.

use plinth_provider::{Object, ProviderError, Value};

/// A string attribute, if set.
pub fn string(o: &Object, key: &str) -> Option<String> {
    o.get(key).and_then(Value::as_str).map(str::to_string)
}

/// A required string attribute.
pub fn required(o: &Object, key: &str) -> Result<String, ProviderError> {
    string(o, key)
        .ok_or_else(|| ProviderError::api("MissingAttribute", format!("`{key}` must be set")))
}

/// An integer attribute, if set.
pub fn int(o: &Object, key: &str) -> Option<i64> {
    o.get(key).and_then(Value::as_i64)
}

/// An `i32` attribute, if set (AWS APIs take 32-bit numbers).
pub fn int32(o: &Object, key: &str) -> Option<i32> {
    int(o, key).and_then(|i| i32::try_from(i).ok())
}

/// A boolean attribute, if set.
pub fn boolean(o: &Object, key: &str) -> Option<bool> {
    o.get(key).and_then(Value::as_bool)
}

/// A list of strings, if set.
pub fn strings(o: &Object, key: &str) -> Option<Vec<String>> {
    o.get(key).and_then(Value::as_list).map(|l| {
        l.iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect()
    })
}

/// A table of strings (tags, parameters), if set. Numbers and bools are written as strings.
pub fn string_map(o: &Object, key: &str) -> Option<Vec<(String, String)>> {
    o.get(key).and_then(Value::as_map).map(|m| {
        m.iter()
            .filter_map(|(k, v)| match v {
                Value::Int(i) => Some((k.clone(), i.to_string())),
                Value::Bool(b) => Some((k.clone(), b.to_string())),
                Value::Float(f) => Some((k.clone(), f.to_string())),
                other => other.as_str().map(|s| (k.clone(), s.to_string())),
            })
            .collect()
    })
}

/// A nested table, if set.
pub fn table<'a>(o: &'a Object, key: &str) -> Option<&'a Object> {
    o.get(key).and_then(Value::as_map)
}

/// `Value::String` or `Null`.
pub fn opt_string(s: Option<&str>) -> Value {
    s.map(Value::string).unwrap_or(Value::Null)
}

/// `Value::Int` or `Null`.
pub fn opt_int(i: Option<i32>) -> Value {
    i.map(|i| Value::Int(i.into())).unwrap_or(Value::Null)
}

/// `Value::Bool` or `Null`.
pub fn opt_bool(b: Option<bool>) -> Value {
    b.map(Value::Bool).unwrap_or(Value::Null)
}

/// A list of strings, sorted when the API's order is meaningless (ids of subnets, groups).
pub fn string_list<I: IntoIterator<Item = S>, S: Into<String>>(items: I, sort: bool) -> Value {
    let mut list: Vec<String> = items.into_iter().map(Into::into).collect();
    if sort {
        list.sort();
    }
    Value::List(list.into_iter().map(Value::String).collect())
}

/// The same list of strings sorted, for comparing unordered id lists.
pub fn sorted(mut list: Vec<String>) -> Vec<String> {
    list.sort();
    list
}

/// Copies attributes the API cannot read back (passwords, tokens) from the prior state, so
/// they do not show as drift.
pub fn carry(out: &mut Object, prior: &Object, keys: &[&str]) {
    for key in keys {
        if let Some(v) = prior.get(*key) {
            out.insert((*key).to_string(), v.clone());
        }
    }
}

/// Inputs the user set that the API does not report (write-only behaviour flags such as
/// `force_destroy` or `final_snapshot_identifier`), copied from `from`.
pub fn keep_inputs(out: &mut Object, from: &Object, keys: &[&str]) {
    for key in keys {
        out.insert(
            (*key).to_string(),
            from.get(*key).cloned().unwrap_or(Value::Null),
        );
    }
}

/// Live ids in the user's order when they are the same set (the API's order is arbitrary).
pub fn ordered_like<'a>(prior: &Object, key: &str, live: impl Iterator<Item = &'a str>) -> Value {
    let live: Vec<String> = live.map(str::to_string).collect();
    if let Some(want) = strings(prior, key) {
        if sorted(want.clone()) == sorted(live.clone()) {
            return string_list(want, false);
        }
    }
    string_list(live, true)
}

/// True when `key` holds a non-null value (a key recorded as null counts as unset).
pub fn is_set(o: &Object, key: &str) -> bool {
    o.get(key).is_some_and(|v| !v.is_null())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_lists_keep_the_users_order_only_when_they_are_the_same_set() {
        let mut prior = Object::new();
        prior.insert(
            "ids".into(),
            Value::List(vec![Value::string("b"), Value::string("a")]),
        );
        assert_eq!(
            ordered_like(&prior, "ids", ["a", "b"].into_iter()),
            prior["ids"]
        );
        let changed = ordered_like(&prior, "ids", ["c", "a"].into_iter());
        assert_eq!(
            changed,
            Value::List(vec![Value::string("a"), Value::string("c")])
        );
        assert!(!is_set(
            &Object::from([("x".to_string(), Value::Null)]),
            "x"
        ));
    }
}
