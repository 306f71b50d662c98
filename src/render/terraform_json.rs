//! The plan as Terraform's `terraform show -json` document (`format_version` "1.2"), for the
//! tools of that ecosystem (checkov's `terraform_plan` framework, OPA/conftest policies,
//! infracost, tfcmt).
//!
//! Plinth types and attributes are renamed to the Terraform AWS provider's where the meaning
//! is the same ([`type_name`], [`attribute_name`]; the table is in the README) and keep their
//! own names otherwise. Unlike Terraform, secrets never appear: a sensitive value is left out
//! of `before`/`after` and flagged in `before_sensitive`/`after_sensitive`; the salted digests
//! of redacted values in the prior record are left out the same way.

use serde_json::{json, Map, Value as Json};

use super::value_diff::path_segments;
use crate::plan::{Action, AttributeDiff, DiffValue, Drift, Plan, ReplaceOrder, ResourceChange};

/// The Terraform resource type for a Plinth type, where the two are the same resource.
pub fn type_name(plinth: &str) -> &str {
    match plinth {
        "aws_rds_instance" => "aws_db_instance",
        "aws_rds_parameter_group" => "aws_db_parameter_group",
        "aws_rds_subnet_group" => "aws_db_subnet_group",
        other => other,
    }
}

/// The Terraform attribute name for a Plinth attribute of a Plinth type, where exact.
pub fn attribute_name<'a>(plinth_type: &str, attribute: &'a str) -> &'a str {
    match (plinth_type, attribute) {
        ("aws_rds_instance", "backup_retention_days") => "backup_retention_period",
        ("aws_rds_instance", "master_username") => "username",
        ("aws_rds_instance", "master_password") => "password",
        ("aws_elasticache_replication_group", "automatic_failover") => "automatic_failover_enabled",
        ("aws_elasticache_replication_group", "multi_az") => "multi_az_enabled",
        ("aws_elasticache_replication_group", "at_rest_encryption") => "at_rest_encryption_enabled",
        ("aws_elasticache_replication_group", "transit_encryption") => "transit_encryption_enabled",
        ("aws_elasticache_replication_group", "primary_endpoint") => "primary_endpoint_address",
        ("aws_elasticache_replication_group", "reader_endpoint") => "reader_endpoint_address",
        ("aws_lb", "deletion_protection") => "enable_deletion_protection",
        (_, other) => other,
    }
}

/// `(name, index)` of an address `type.name`, `type.name[0]` or `type.name["key"]`.
fn name_and_index(address: &str) -> (String, Option<Json>) {
    if let Some(parsed) = crate::config::Address::parse(address) {
        let index = parsed.key.map(|key| match key {
            crate::config::InstanceKey::Index(i) => Json::from(i as u64),
            crate::config::InstanceKey::Key(k) => Json::from(k),
        });
        return (parsed.name, index);
    }
    let rest = address.split_once('.').map_or(address, |(_, r)| r);
    match rest.split_once('[') {
        Some((name, index)) => {
            let index = index.trim_end_matches(']');
            let index = index
                .parse::<u64>()
                .map(Json::from)
                .or_else(|_| serde_json::from_str::<Json>(index))
                .unwrap_or_else(|_| Json::from(index));
            (name.to_string(), Some(index))
        }
        None => (rest.to_string(), None),
    }
}

/// The module part of an address (`module.edge` of `module.edge.aws_lb.web`), if any.
fn module_address(address: &str) -> Option<String> {
    crate::config::Address::parse(address)
        .filter(|a| !a.module.is_root())
        .map(|a| a.module.to_string())
}

/// The Terraform-format address of a Plinth address (`aws_rds_instance.db` -> `aws_db_instance.db`,
/// `module.api.aws_rds_instance.db` -> `module.api.aws_db_instance.db`).
pub fn tf_address(plinth_type: &str, address: &str) -> String {
    if let Some(parsed) = crate::config::Address::parse(address) {
        let tf = crate::config::Address {
            type_name: type_name(plinth_type).to_string(),
            ..parsed
        };
        return tf.to_string();
    }
    let rest = address.split_once('.').map_or(address, |(_, r)| r);
    format!("{}.{rest}", type_name(plinth_type))
}

fn provider_name(provider: &str) -> String {
    let short = match provider {
        "k8s" => "kubernetes",
        other => other,
    };
    format!("registry.terraform.io/plinth/{short}")
}

/// A value with every redacted secret (`{"$sensitive": digest}`) removed, and its sensitivity
/// map (`true` where a secret was, as Terraform's `*_sensitive`).
fn scrub(value: &Json) -> (Json, Json) {
    match value {
        Json::Object(map) if map.contains_key("$sensitive") => (Json::Null, Json::Bool(true)),
        Json::Object(map) => {
            let mut clean = Map::new();
            let mut marks = Map::new();
            for (k, v) in map {
                let (c, m) = scrub(v);
                if m == Json::Bool(true) {
                    marks.insert(k.clone(), m);
                    continue;
                }
                clean.insert(k.clone(), c);
                if !is_empty_mark(&m) {
                    marks.insert(k.clone(), m);
                }
            }
            (Json::Object(clean), Json::Object(marks))
        }
        Json::Array(items) => {
            let (clean, marks): (Vec<Json>, Vec<Json>) = items.iter().map(scrub).unzip();
            if marks.iter().all(is_empty_mark) {
                (Json::Array(clean), Json::Array(Vec::new()))
            } else {
                (Json::Array(clean), Json::Array(marks))
            }
        }
        other => (other.clone(), Json::Bool(false)),
    }
}

fn is_empty_mark(mark: &Json) -> bool {
    match mark {
        Json::Bool(b) => !b,
        Json::Object(m) => m.is_empty(),
        Json::Array(v) => v.is_empty(),
        _ => true,
    }
}

/// The child of `node` at one path segment (`key`, `[0]`, `[name="app"]`), created as a table
/// when `create`.
fn child<'a>(node: &'a mut Json, segment: &str, create: bool) -> Option<&'a mut Json> {
    if let Some(selector) = segment.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
        // A create shown leaf by leaf (a list holding an unknown or a secret) builds the
        // list as it goes.
        if create && !node.is_array() {
            *node = Json::Array(Vec::new());
        }
        let items = node.as_array_mut()?;
        if let Ok(i) = selector.parse::<usize>() {
            if create && items.len() <= i {
                items.resize(i + 1, Json::Null);
            }
            return items.get_mut(i);
        }
        let (key, value) = selector.split_once('=')?;
        let value: Json = serde_json::from_str(value).ok()?;
        let at = items.iter().position(|item| item.get(key) == Some(&value));
        return match at {
            Some(i) => items.get_mut(i),
            None if create => {
                items.push(serde_json::json!({ key: value }));
                items.last_mut()
            }
            None => None,
        };
    }
    if !node.is_object() {
        if !create {
            return None;
        }
        *node = Json::Object(Map::new());
    }
    let map = node.as_object_mut()?;
    if create {
        Some(map.entry(segment.to_string()).or_insert(Json::Null))
    } else {
        map.get_mut(segment)
    }
}

/// Sets (or with `None` removes) the value at `path` inside `root`.
fn set(root: &mut Json, path: &[String], value: Option<Json>) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut node = root;
    for segment in parents {
        match child(node, segment, value.is_some()) {
            Some(next) => node = next,
            None => return,
        }
    }
    match value {
        Some(v) => {
            if let Some(slot) = child(node, last, true) {
                *slot = v;
            }
        }
        None => {
            if let Some(map) = node.as_object_mut() {
                map.remove(last);
            } else if let Some(slot) = child(node, last, false) {
                *slot = Json::Null;
            }
        }
    }
}

/// The diff path with its first segment renamed to Terraform's attribute name.
fn tf_path(plinth_type: &str, path: &str) -> Vec<String> {
    let mut segments = path_segments(path);
    if let Some(first) = segments.first_mut() {
        *first = attribute_name(plinth_type, first).to_string();
    }
    segments
}

fn rename_top(plinth_type: &str, object: Json) -> Json {
    match object {
        Json::Object(map) => Json::Object(
            map.into_iter()
                .map(|(k, v)| (attribute_name(plinth_type, &k).to_string(), v))
                .collect(),
        ),
        other => other,
    }
}

struct Sides {
    before: Json,
    after: Json,
    after_unknown: Json,
    before_sensitive: Json,
    after_sensitive: Json,
}

fn sides(
    plinth_type: &str,
    prior: Option<&Map<String, Json>>,
    diffs: &[AttributeDiff],
    deleted: bool,
) -> Sides {
    let (before, before_sensitive) = match prior {
        Some(attributes) => {
            let (clean, marks) = scrub(&Json::Object(attributes.clone()));
            (
                rename_top(plinth_type, clean),
                rename_top(plinth_type, marks),
            )
        }
        None => (Json::Null, Json::Bool(false)),
    };
    if deleted {
        return Sides {
            before,
            after: Json::Null,
            after_unknown: Json::Object(Map::new()),
            before_sensitive,
            after_sensitive: Json::Bool(false),
        };
    }
    let mut after = if before.is_object() {
        before.clone()
    } else {
        Json::Object(Map::new())
    };
    let mut after_sensitive = if before_sensitive.is_object() {
        before_sensitive.clone()
    } else {
        Json::Object(Map::new())
    };
    let mut after_unknown = Json::Object(Map::new());
    for diff in diffs {
        let path = tf_path(plinth_type, &diff.path);
        match &diff.after {
            DiffValue::Known(value) => {
                set(&mut after, &path, Some(value.clone()));
                set(&mut after_sensitive, &path, None);
            }
            DiffValue::Absent => set(&mut after, &path, None),
            DiffValue::Unknown => {
                set(&mut after, &path, None);
                set(&mut after_unknown, &path, Some(Json::Bool(true)));
            }
            DiffValue::Sensitive => {
                set(&mut after, &path, None);
                set(&mut after_sensitive, &path, Some(Json::Bool(true)));
            }
        }
    }
    Sides {
        before,
        after,
        after_unknown,
        before_sensitive,
        after_sensitive,
    }
}

fn actions(change: &ResourceChange) -> Vec<&'static str> {
    match change.action {
        Action::NoOp => vec!["no-op"],
        Action::Create => vec!["create"],
        Action::Update => vec!["update"],
        Action::Delete => vec!["delete"],
        Action::Replace {
            order: ReplaceOrder::CreateThenDelete,
        } => vec!["create", "delete"],
        Action::Replace {
            order: ReplaceOrder::DeleteThenCreate,
        } => vec!["delete", "create"],
    }
}

fn identity(plinth_type: &str, address: &str, provider: &str) -> Map<String, Json> {
    let (name, index) = name_and_index(address);
    let mut m = Map::new();
    m.insert("address".into(), json!(tf_address(plinth_type, address)));
    if let Some(module) = module_address(address) {
        m.insert("module_address".into(), json!(module));
    }
    m.insert("mode".into(), json!("managed"));
    m.insert("type".into(), json!(type_name(plinth_type)));
    m.insert("name".into(), json!(name));
    if let Some(index) = index {
        m.insert("index".into(), index);
    }
    m.insert("provider_name".into(), json!(provider_name(provider)));
    m
}

fn resource_change(change: &ResourceChange) -> Json {
    let s = sides(
        &change.type_name,
        change.prior.as_ref().map(|p| &p.attributes),
        &change.diffs,
        change.action == Action::Delete,
    );
    let mut m = identity(&change.type_name, &change.address, &change.provider);
    if let Some(key) = &change.deposed {
        m.insert("deposed".into(), json!(key));
    }
    if let Some(from) = &change.moved_from {
        m.insert(
            "previous_address".into(),
            json!(tf_address(&change.type_name, from)),
        );
    }
    let mut c = Map::new();
    c.insert("actions".into(), json!(actions(change)));
    c.insert("before".into(), s.before);
    c.insert("after".into(), s.after);
    c.insert("after_unknown".into(), s.after_unknown);
    c.insert("before_sensitive".into(), s.before_sensitive);
    c.insert("after_sensitive".into(), s.after_sensitive);
    if change.action.is_replace() {
        let paths: Vec<Json> = change
            .diffs
            .iter()
            .filter(|d| d.forces_replacement)
            .map(|d| json!(tf_path(&change.type_name, &d.path)))
            .collect();
        c.insert("replace_paths".into(), Json::Array(paths));
    }
    m.insert("change".into(), Json::Object(c));
    Json::Object(m)
}

fn drift_change(drift: &Drift, change: Option<&ResourceChange>) -> Json {
    let provider = change.map_or("plinth", |c| c.provider.as_str());
    let mut m = identity(&drift.type_name, &drift.address, provider);
    // The drift diffs are recorded → live; before is what state recorded as far as the diffs
    // tell, after is live.
    let mut before = Json::Object(Map::new());
    let mut before_sensitive = Json::Object(Map::new());
    for diff in &drift.diffs {
        let path = tf_path(&drift.type_name, &diff.path);
        match &diff.before {
            DiffValue::Known(v) => set(&mut before, &path, Some(v.clone())),
            DiffValue::Sensitive => set(&mut before_sensitive, &path, Some(Json::Bool(true))),
            _ => {}
        }
    }
    let s = sides(&drift.type_name, None, &drift.diffs, drift.deleted);
    let mut c = Map::new();
    c.insert(
        "actions".into(),
        json!([if drift.deleted { "delete" } else { "update" }]),
    );
    c.insert("before".into(), before);
    c.insert("after".into(), s.after);
    c.insert("after_unknown".into(), s.after_unknown);
    c.insert("before_sensitive".into(), before_sensitive);
    c.insert("after_sensitive".into(), s.after_sensitive);
    m.insert("change".into(), Json::Object(c));
    Json::Object(m)
}

fn output_change(before: &DiffValue, after: &DiffValue) -> Json {
    let side = |v: &DiffValue| match v {
        DiffValue::Known(j) => j.clone(),
        _ => Json::Null,
    };
    let action = match (before, after) {
        (DiffValue::Absent, _) => "create",
        (_, DiffValue::Absent) => "delete",
        (a, b) if a == b => "no-op",
        _ => "update",
    };
    json!({
        "actions": [action],
        "before": side(before),
        "after": side(after),
        "after_unknown": matches!(after, DiffValue::Unknown),
        "before_sensitive": matches!(before, DiffValue::Sensitive),
        "after_sensitive": matches!(after, DiffValue::Sensitive),
    })
}

/// The whole document, as a JSON value.
pub fn terraform_plan_json(plan: &Plan) -> Json {
    let version = format!("plinth-{}", plan.plinth_version);
    let mut planned = Vec::new();
    let mut prior = Vec::new();
    let mut changes = Vec::new();
    for change in &plan.changes {
        let rc = resource_change(change);
        let c = &rc["change"];
        if change.deposed.is_none() && change.action != Action::Delete {
            let mut r = identity(&change.type_name, &change.address, &change.provider);
            r.insert("schema_version".into(), json!(0));
            r.insert("values".into(), c["after"].clone());
            r.insert("sensitive_values".into(), c["after_sensitive"].clone());
            planned.push(Json::Object(r));
        }
        if change.prior.is_some() {
            let mut r = identity(&change.type_name, &change.address, &change.provider);
            r.insert("schema_version".into(), json!(0));
            r.insert("values".into(), c["before"].clone());
            r.insert("sensitive_values".into(), c["before_sensitive"].clone());
            prior.push(Json::Object(r));
        }
        changes.push(rc);
    }
    let drift: Vec<Json> = plan
        .drift
        .iter()
        .map(|d| drift_change(d, plan.changes.iter().find(|c| c.address == d.address)))
        .collect();
    let outputs: Map<String, Json> = plan
        .outputs
        .iter()
        .map(|o| (o.name.clone(), output_change(&o.before, &o.after)))
        .collect();
    json!({
        "format_version": "1.2",
        "terraform_version": version,
        "planned_values": { "root_module": { "resources": planned } },
        "resource_drift": drift,
        "resource_changes": changes,
        "output_changes": outputs,
        "prior_state": {
            "format_version": "1.0",
            "terraform_version": version,
            "values": { "root_module": { "resources": prior } },
        },
        "configuration": { "root_module": {} },
        "applyable": plan.changes.iter().any(|c| c.action != Action::NoOp),
        "complete": true,
        "errored": false,
    })
}

/// The document pretty-printed, with a final newline.
pub fn render_terraform_json(plan: &Plan) -> String {
    serde_json::to_string_pretty(&terraform_plan_json(plan)).unwrap_or_default() + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacted_secrets_are_left_out_and_flagged() {
        let value = json!({"a": 1, "pw": {"$sensitive": "digest"}, "env": [{"name": "X", "value": {"$sensitive": "d"}}]});
        let (clean, marks) = scrub(&value);
        assert_eq!(clean, json!({"a": 1, "env": [{"name": "X"}]}));
        assert_eq!(marks, json!({"pw": true, "env": [{"value": true}]}));
        assert!(!clean.to_string().contains("digest"));
    }

    #[test]
    fn set_follows_keys_and_selectors() {
        let mut root = json!({"env": [{"name": "A", "value": "1"}]});
        set(
            &mut root,
            &path_segments(r#"env[name="A"].value"#),
            Some(json!("2")),
        );
        set(&mut root, &path_segments("tags.team"), Some(json!("core")));
        assert_eq!(
            root,
            json!({"env": [{"name": "A", "value": "2"}], "tags": {"team": "core"}})
        );
        set(&mut root, &path_segments("tags.team"), None);
        assert_eq!(root["tags"], json!({}));
    }

    #[test]
    fn names_map_where_exact_and_addresses_follow() {
        assert_eq!(type_name("aws_rds_instance"), "aws_db_instance");
        assert_eq!(
            attribute_name("aws_rds_instance", "backup_retention_days"),
            "backup_retention_period"
        );
        assert_eq!(attribute_name("aws_s3_bucket", "versioning"), "versioning");
        assert_eq!(
            tf_address("aws_rds_instance", "aws_rds_instance.db[3]"),
            "aws_db_instance.db[3]"
        );
        assert_eq!(
            tf_address(
                "aws_rds_instance",
                r#"module.api["eu"].aws_rds_instance.db"#
            ),
            r#"module.api["eu"].aws_db_instance.db"#
        );
        assert_eq!(
            module_address(r#"module.api["eu"].aws_rds_instance.db[1]"#).as_deref(),
            Some(r#"module.api["eu"]"#)
        );
        assert_eq!(
            name_and_index(r#"module.api.aws_rds_instance.db[1]"#),
            ("db".to_string(), Some(json!(1)))
        );
        assert_eq!(
            tf_address("aws_rds_instance", "aws_rds_instance.db[3]"),
            "aws_db_instance.db[3]"
        );
        assert_eq!(name_and_index("a.b[3]"), ("b".to_string(), Some(json!(3))));
        assert_eq!(
            name_and_index(r#"a.b["k"]"#),
            ("b".to_string(), Some(json!("k")))
        );
    }
}
