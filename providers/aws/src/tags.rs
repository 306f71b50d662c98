//! Tags: the TOML table `tags = { team = "mita" }` ⇄ AWS key/value pairs, and the difference
//! between two tag sets.

use std::collections::BTreeMap;

use plinth_provider::{Object, Value};

use crate::attrs;

/// The desired tags as pairs (empty when unset).
pub fn desired(o: &Object) -> Vec<(String, String)> {
    attrs::string_map(o, "tags").unwrap_or_default()
}

/// AWS tags given as `(key, value)` as pairs: a tag without a key is skipped, a missing value
/// is empty.
pub fn pairs<'a>(
    tags: impl IntoIterator<Item = (Option<&'a str>, Option<&'a str>)>,
) -> Vec<(String, String)> {
    tags.into_iter()
        .filter_map(|(k, v)| Some((k?.to_string(), v.unwrap_or_default().to_string())))
        .collect()
}

/// Tags as the TOML table value.
pub fn to_value<I: IntoIterator<Item = (String, String)>>(pairs: I) -> Value {
    Value::Map(
        pairs
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect(),
    )
}

/// Live tags as the attribute value: `Null` when there are none and `prior` left `tags`
/// unset, so an absent table does not show as drift.
pub fn value_or_null(live: Vec<(String, String)>, prior: &Object) -> Value {
    if live.is_empty() && !attrs::is_set(prior, "tags") {
        Value::Null
    } else {
        to_value(live)
    }
}

/// What to change to go from `live` tags to `desired`: pairs to set and keys to remove.
pub fn diff(
    live: &[(String, String)],
    desired: &[(String, String)],
) -> (Vec<(String, String)>, Vec<String>) {
    let live: BTreeMap<&String, &String> = live.iter().map(|(k, v)| (k, v)).collect();
    let want: BTreeMap<&String, &String> = desired.iter().map(|(k, v)| (k, v)).collect();
    let set = want
        .iter()
        .filter(|(k, v)| live.get(*k) != Some(*v))
        .map(|(k, v)| ((*k).clone(), (*v).clone()))
        .collect();
    let remove = live
        .keys()
        .filter(|k| !want.contains_key(*k))
        .map(|k| (*k).clone())
        .collect();
    (set, remove)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_sets_changed_and_removes_dropped() {
        let p = |k: &str, v: &str| (k.to_string(), v.to_string());
        let (set, remove) = diff(
            &[p("a", "1"), p("b", "2")],
            &[p("a", "1"), p("b", "3"), p("c", "4")],
        );
        assert_eq!(set, vec![p("b", "3"), p("c", "4")]);
        assert!(remove.is_empty());
        let (set, remove) = diff(&[p("a", "1")], &[]);
        assert!(set.is_empty());
        assert_eq!(remove, vec!["a".to_string()]);
    }
}
