//! The sub-configurations of an S3 bucket (lifecycle rules, encryption, public access block,
//! policy) converted between the TOML shape and the S3 API types.

use std::collections::BTreeMap;

use aws_sdk_s3::types::{
    BucketLifecycleConfiguration, ExpirationStatus, LifecycleExpiration, LifecycleRule,
    LifecycleRuleFilter, NoncurrentVersionExpiration, PublicAccessBlockConfiguration,
    ServerSideEncryption, ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration,
    ServerSideEncryptionRule, Transition, TransitionStorageClass,
};
use plinth_provider::{Attribute, Object, ProviderError, Value, ValueType};
use serde_json::Value as Json;

use crate::attrs::{self, opt_int, opt_string};

/// The fields of one `lifecycle_rules` entry.
pub fn lifecycle_rule_type() -> ValueType {
    use Attribute as A;
    use ValueType as T;
    T::List(Box::new(T::Object(vec![
        A::required("id", T::String),
        A::optional("prefix", T::String),
        A::optional("enabled", T::Bool).default(true),
        A::optional("expiration_days", T::Int),
        A::optional("noncurrent_version_expiration_days", T::Int),
        A::optional("transition_days", T::Int),
        A::optional("transition_storage_class", T::String),
    ])))
}

/// The fields of `object_lock`: the default retention of new object versions.
pub fn object_lock_type() -> ValueType {
    use Attribute as A;
    use ValueType as T;
    T::Object(vec![
        A::optional("mode", T::String)
            .default("GOVERNANCE")
            .describe("`GOVERNANCE` (privileged users may shorten or lift it) or `COMPLIANCE`"),
        A::required("days", T::Int).describe("default retention of each new object version"),
    ])
}

/// `object_lock` → the API's configuration (`None` when unset).
pub fn object_lock_to_aws(
    desired: &Object,
) -> Result<Option<aws_sdk_s3::types::ObjectLockConfiguration>, ProviderError> {
    use aws_sdk_s3::types::{
        DefaultRetention, ObjectLockConfiguration, ObjectLockEnabled, ObjectLockRetentionMode,
        ObjectLockRule,
    };
    let Some(lock) = attrs::table(desired, "object_lock") else {
        return Ok(None);
    };
    let mode = attrs::string(lock, "mode").unwrap_or_else(|| "GOVERNANCE".into());
    let mode = match mode.to_ascii_uppercase().as_str() {
        "GOVERNANCE" => ObjectLockRetentionMode::Governance,
        "COMPLIANCE" => ObjectLockRetentionMode::Compliance,
        other => {
            return Err(ProviderError::config(format!(
                "object_lock.mode: `{other}` is neither GOVERNANCE nor COMPLIANCE"
            )))
        }
    };
    let days = attrs::int32(lock, "days")
        .filter(|d| *d > 0)
        .ok_or_else(|| ProviderError::config("object_lock.days: a positive number of days"))?;
    Ok(Some(
        ObjectLockConfiguration::builder()
            .object_lock_enabled(ObjectLockEnabled::Enabled)
            .rule(
                ObjectLockRule::builder()
                    .default_retention(DefaultRetention::builder().mode(mode).days(days).build())
                    .build(),
            )
            .build(),
    ))
}

/// The live Object Lock configuration as the attribute value (`Null` when off).
pub fn object_lock_from_aws(live: Option<&aws_sdk_s3::types::ObjectLockConfiguration>) -> Value {
    let Some(retention) = live
        .filter(|c| c.object_lock_enabled().is_some())
        .and_then(|c| c.rule())
        .and_then(|r| r.default_retention())
    else {
        return Value::Null;
    };
    let mut o = Object::new();
    o.insert(
        "mode".into(),
        opt_string(retention.mode().map(|m| m.as_str())),
    );
    o.insert("days".into(), opt_int(retention.days()));
    Value::Map(o)
}

/// The fields of `public_access_block`.
pub fn public_access_block_type() -> ValueType {
    use Attribute as A;
    use ValueType as T;
    T::Object(vec![
        A::optional("block_public_acls", T::Bool),
        A::optional("block_public_policy", T::Bool),
        A::optional("ignore_public_acls", T::Bool),
        A::optional("restrict_public_buckets", T::Bool),
    ])
}

fn invalid(e: impl std::fmt::Display) -> ProviderError {
    ProviderError::api("InvalidRequest", e.to_string())
}

/// `lifecycle_rules` → the API's configuration (`None` when there are no rules).
pub fn lifecycle_to_aws(
    desired: &Object,
) -> Result<Option<BucketLifecycleConfiguration>, ProviderError> {
    let Some(list) = desired.get("lifecycle_rules").and_then(Value::as_list) else {
        return Ok(None);
    };
    if list.is_empty() {
        return Ok(None);
    }
    let mut rules = Vec::new();
    for item in list {
        let Some(rule) = item.as_map() else { continue };
        let enabled = attrs::boolean(rule, "enabled").unwrap_or(true);
        let mut builder = LifecycleRule::builder()
            .set_id(attrs::string(rule, "id"))
            .filter(
                LifecycleRuleFilter::builder()
                    .prefix(attrs::string(rule, "prefix").unwrap_or_default())
                    .build(),
            )
            .status(if enabled {
                ExpirationStatus::Enabled
            } else {
                ExpirationStatus::Disabled
            });
        if let Some(days) = attrs::int32(rule, "expiration_days") {
            builder = builder.expiration(LifecycleExpiration::builder().days(days).build());
        }
        if let Some(days) = attrs::int32(rule, "noncurrent_version_expiration_days") {
            builder = builder.noncurrent_version_expiration(
                NoncurrentVersionExpiration::builder()
                    .noncurrent_days(days)
                    .build(),
            );
        }
        if let Some(days) = attrs::int32(rule, "transition_days") {
            let class = attrs::string(rule, "transition_storage_class")
                .unwrap_or_else(|| "STANDARD_IA".into());
            builder = builder.transitions(
                Transition::builder()
                    .days(days)
                    .storage_class(TransitionStorageClass::from(class.as_str()))
                    .build(),
            );
        }
        rules.push(builder.build().map_err(invalid)?);
    }
    Ok(Some(
        BucketLifecycleConfiguration::builder()
            .set_rules(Some(rules))
            .build()
            .map_err(invalid)?,
    ))
}

/// The API's lifecycle rules → `lifecycle_rules` in the TOML shape.
pub fn lifecycle_from_aws(rules: &[LifecycleRule], prior: &Object) -> Value {
    let prior_rules: Vec<&Object> = prior
        .get("lifecycle_rules")
        .and_then(Value::as_list)
        .map(|l| l.iter().filter_map(Value::as_map).collect())
        .unwrap_or_default();
    Value::List(
        rules
            .iter()
            .map(|r| {
                let mut o = Object::new();
                o.insert("id".into(), opt_string(r.id()));
                let prefix = r
                    .filter()
                    .and_then(|f| f.prefix())
                    .filter(|p| !p.is_empty());
                o.insert("prefix".into(), opt_string(prefix));
                let enabled = r.status() == &ExpirationStatus::Enabled;
                // `enabled` defaults to true: left out when the user's rule leaves it out.
                let written = prior_rules
                    .iter()
                    .find(|p| attrs::string(p, "id").as_deref() == r.id())
                    .is_none_or(|p| p.contains_key("enabled"));
                if !enabled || written {
                    o.insert("enabled".into(), Value::Bool(enabled));
                }
                o.insert(
                    "expiration_days".into(),
                    opt_int(r.expiration().and_then(|e| e.days())),
                );
                o.insert(
                    "noncurrent_version_expiration_days".into(),
                    opt_int(
                        r.noncurrent_version_expiration()
                            .and_then(|e| e.noncurrent_days()),
                    ),
                );
                let transition = r.transitions().first();
                o.insert(
                    "transition_days".into(),
                    opt_int(transition.and_then(|t| t.days())),
                );
                o.insert(
                    "transition_storage_class".into(),
                    opt_string(
                        transition
                            .and_then(|t| t.storage_class())
                            .map(|c| c.as_str()),
                    ),
                );
                Value::Map(o)
            })
            .collect(),
    )
}

/// `server_side_encryption` (+ `kms_key_id`, `bucket_key_enabled`) → the API's configuration.
pub fn encryption_to_aws(
    desired: &Object,
) -> Result<Option<ServerSideEncryptionConfiguration>, ProviderError> {
    let Some(algorithm) = attrs::string(desired, "server_side_encryption") else {
        return Ok(None);
    };
    let default = ServerSideEncryptionByDefault::builder()
        .sse_algorithm(ServerSideEncryption::from(algorithm.as_str()))
        .set_kms_master_key_id(attrs::string(desired, "kms_key_id"))
        .build()
        .map_err(invalid)?;
    let rule = ServerSideEncryptionRule::builder()
        .apply_server_side_encryption_by_default(default)
        .set_bucket_key_enabled(attrs::boolean(desired, "bucket_key_enabled"))
        .build();
    Ok(Some(
        ServerSideEncryptionConfiguration::builder()
            .rules(rule)
            .build()
            .map_err(invalid)?,
    ))
}

/// The first encryption rule → (`server_side_encryption`, `kms_key_id`, `bucket_key_enabled`).
pub fn encryption_from_aws(rule: Option<&ServerSideEncryptionRule>) -> (Value, Value, Value) {
    let default = rule.and_then(|r| r.apply_server_side_encryption_by_default());
    (
        opt_string(default.map(|d| d.sse_algorithm().as_str())),
        opt_string(default.and_then(|d| d.kms_master_key_id())),
        Value::Bool(rule.and_then(|r| r.bucket_key_enabled()).unwrap_or(false)),
    )
}

/// `public_access_block` → the API's configuration.
pub fn public_access_block_to_aws(desired: &Object) -> Option<PublicAccessBlockConfiguration> {
    let table = attrs::table(desired, "public_access_block")?;
    Some(
        PublicAccessBlockConfiguration::builder()
            .block_public_acls(attrs::boolean(table, "block_public_acls").unwrap_or(false))
            .block_public_policy(attrs::boolean(table, "block_public_policy").unwrap_or(false))
            .ignore_public_acls(attrs::boolean(table, "ignore_public_acls").unwrap_or(false))
            .restrict_public_buckets(
                attrs::boolean(table, "restrict_public_buckets").unwrap_or(false),
            )
            .build(),
    )
}

/// The API's public access block → the TOML table.
/// Keys the user left out of their table (all default to false) are left out too.
pub fn public_access_block_from_aws(
    config: &PublicAccessBlockConfiguration,
    prior: &Object,
) -> Value {
    let mut o = Object::new();
    let b = |v: Option<bool>| Value::Bool(v.unwrap_or(false));
    o.insert("block_public_acls".into(), b(config.block_public_acls()));
    o.insert(
        "block_public_policy".into(),
        b(config.block_public_policy()),
    );
    o.insert("ignore_public_acls".into(), b(config.ignore_public_acls()));
    o.insert(
        "restrict_public_buckets".into(),
        b(config.restrict_public_buckets()),
    );
    if let Some(want) = attrs::table(prior, "public_access_block") {
        o.retain(|k, v| want.contains_key(k) || v != &Value::Bool(false));
    }
    Value::Map(o)
}

/// A policy document with keys sorted and whitespace removed, so key order and formatting
/// are not a change. Invalid JSON is returned as written.
pub fn canonical_policy(text: &str) -> String {
    fn sort(json: Json) -> Json {
        match json {
            Json::Object(map) => {
                let sorted: BTreeMap<String, Json> =
                    map.into_iter().map(|(k, v)| (k, sort(v))).collect();
                Json::Object(sorted.into_iter().collect())
            }
            Json::Array(items) => Json::Array(items.into_iter().map(sort).collect()),
            other => other,
        }
    }
    match serde_json::from_str::<Json>(text) {
        Ok(json) => sort(json).to_string(),
        Err(_) => text.to_string(),
    }
}

/// The live policy in the user's spelling when it is structurally the same.
pub fn policy_value(live: Option<&str>, prior: &Object) -> Value {
    let Some(live) = live else { return Value::Null };
    match attrs::string(prior, "policy") {
        Some(want) if canonical_policy(&want) == canonical_policy(live) => Value::String(want),
        _ => Value::String(canonical_policy(live)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_compare_structurally() {
        let a = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:*"}]}"#;
        let b = "{\n  \"Statement\": [ { \"Action\": \"s3:*\", \"Effect\": \"Deny\" } ],\n  \"Version\": \"2012-10-17\" }";
        assert_eq!(canonical_policy(a), canonical_policy(b));
        let mut prior = Object::new();
        prior.insert("policy".into(), Value::string(b));
        assert_eq!(policy_value(Some(a), &prior), Value::string(b));
        let c = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*"}]}"#;
        assert_ne!(policy_value(Some(c), &prior), Value::string(b));
    }

    #[test]
    fn lifecycle_round_trips() {
        let mut rule = Object::new();
        rule.insert("id".into(), Value::string("expire"));
        rule.insert("prefix".into(), Value::string("logs/"));
        rule.insert("enabled".into(), Value::Bool(true));
        rule.insert("expiration_days".into(), Value::Int(30));
        rule.insert("transition_days".into(), Value::Int(7));
        rule.insert("transition_storage_class".into(), Value::string("GLACIER"));
        let mut desired = Object::new();
        desired.insert(
            "lifecycle_rules".into(),
            Value::List(vec![Value::Map(rule.clone())]),
        );
        let aws = lifecycle_to_aws(&desired).unwrap().unwrap();
        let back = lifecycle_from_aws(aws.rules(), &desired);
        assert!(
            back.same_as(&Value::List(vec![Value::Map(rule)]), ""),
            "{back}"
        );
    }

    #[test]
    fn partial_public_access_block_is_not_drift() {
        let mut table = Object::new();
        table.insert("block_public_acls".into(), Value::Bool(true));
        let mut prior = Object::new();
        prior.insert("public_access_block".into(), Value::Map(table.clone()));
        let live = public_access_block_to_aws(&prior).unwrap();
        assert_eq!(
            public_access_block_from_aws(&live, &prior),
            Value::Map(table)
        );
        // A flag turned on by hand still shows.
        let drifted = PublicAccessBlockConfiguration::builder()
            .block_public_acls(true)
            .block_public_policy(true)
            .build();
        let got = public_access_block_from_aws(&drifted, &prior);
        assert_eq!(
            got.as_map().unwrap().get("block_public_policy"),
            Some(&Value::Bool(true))
        );
    }
}
