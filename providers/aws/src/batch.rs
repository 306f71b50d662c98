//! The glue every batched refresh shares: list everything once (the caller pages through
//! the service's `Describe*`), index the answer by id, then answer each [`ReadItem`] in order.

use std::collections::HashMap;

use plinth_provider::ReadItem;

/// `live` indexed by the id `key` reads, skipping entries without one (a later duplicate wins).
pub fn index_by<T>(live: Vec<T>, key: impl Fn(&T) -> Option<&str>) -> HashMap<String, T> {
    let mut out = HashMap::with_capacity(live.len());
    for entry in live {
        if let Some(id) = key(&entry).map(str::to_string) {
            out.insert(id, entry);
        }
    }
    out
}

/// The ids of `items` that `live` holds, in the items' order (for follow-up calls such as
/// reading tags only for what exists).
pub fn found_ids<T>(items: &[ReadItem<'_>], live: &HashMap<String, T>) -> Vec<String> {
    items
        .iter()
        .filter(|i| live.contains_key(i.id))
        .map(|i| i.id.to_string())
        .collect()
}

/// The name an import id refers to: the last `:`-separated part of an ARN, or the id itself.
pub fn import_name(id: &str) -> &str {
    id.rsplit(':').next().unwrap_or(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_skips_unnamed_and_import_takes_the_arn_tail() {
        let live = vec![(Some("a"), 1), (None, 2), (Some("b"), 3), (Some("a"), 4)];
        let index = index_by(live, |e| e.0);
        assert_eq!(index.len(), 2);
        assert_eq!(index["a"].1, 4);
        assert_eq!(import_name("arn:aws:rds:us-east-1:1:subgrp:web"), "web");
        assert_eq!(import_name("web"), "web");
    }
}
