//! Shared by the Elastic Load Balancing v2 types: tags (batched `DescribeTags`, 20 ARNs per
//! call), the by-ARN batched refresh of listeners and rules ([`ReadByArn`]) and listener /
//! rule actions in their TOML shape:
//!
//! ```toml
//! default_action = { type = "forward", target_group_arn = "${aws_lb_target_group.app.arn}" }
//! default_action = { type = "redirect", redirect = { protocol = "HTTPS", port = "443", status_code = "HTTP_301" } }
//! default_action = { type = "fixed_response", fixed_response = { status_code = "404", content_type = "text/plain" } }
//! ```

use std::collections::HashMap;

use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, FixedResponseActionConfig, RedirectActionConfig,
    RedirectActionStatusCodeEnum, Tag,
};
use plinth_provider::{async_trait, Attribute, Object, ProviderError, ReadItem, Value, ValueType};

use crate::attrs::{self, opt_string};
use crate::clients::Clients;
use crate::errors::map_sdk;
use crate::tags;

/// How many ARNs one `DescribeListeners` / `DescribeRules` call accepts.
const ARN_BATCH: usize = 20;

/// A type refreshed by ARN, 20 at a time (listeners and rules cannot be listed region-wide).
#[async_trait]
pub trait ReadByArn: Sync {
    /// The SDK's description of one.
    type Live: Send + Sync;
    /// The ones named by `arns`; `None` when one of them is gone and the API refuses the batch.
    async fn describe(&self, arns: &[String]) -> Result<Option<Vec<Self::Live>>, ProviderError>;
    /// The ARN of a live one.
    fn arn(live: &Self::Live) -> Option<&str>;
    /// A live one as attributes.
    fn to_object(live: &Self::Live, prior: &Object) -> Object;
}

/// Reads the one named `arn`.
pub async fn read_by_arn<R: ReadByArn>(
    r: &R,
    arn: &str,
    prior: &Object,
) -> Result<Option<Object>, ProviderError> {
    Ok(r.describe(&[arn.to_string()])
        .await?
        .and_then(|found| found.into_iter().next())
        .map(|live| R::to_object(&live, prior)))
}

/// Reads `items` in batches of 20 ARNs, one by one for a batch the API refuses because one of
/// them is gone.
pub async fn read_many_by_arn<R: ReadByArn>(
    r: &R,
    items: &[ReadItem<'_>],
) -> Result<Vec<Option<Object>>, ProviderError> {
    let mut out = Vec::with_capacity(items.len());
    for chunk in items.chunks(ARN_BATCH) {
        let arns: Vec<String> = chunk.iter().map(|i| i.id.to_string()).collect();
        match r.describe(&arns).await? {
            Some(found) => {
                for item in chunk {
                    out.push(
                        found
                            .iter()
                            .find(|live| R::arn(live) == Some(item.id))
                            .map(|live| R::to_object(live, item.prior)),
                    );
                }
            }
            None => {
                for item in chunk {
                    out.push(read_by_arn(r, item.id, item.prior).await?);
                }
            }
        }
    }
    Ok(out)
}

/// The type of an action table.
pub fn action_type() -> ValueType {
    use Attribute as A;
    use ValueType as T;
    T::Object(vec![
        A::required("type", T::String).describe("`forward`, `redirect` or `fixed_response`"),
        A::optional("target_group_arn", T::String),
        A::optional(
            "redirect",
            T::Object(vec![
                A::optional("protocol", T::String),
                A::optional("port", T::String),
                A::optional("host", T::String),
                A::optional("path", T::String),
                A::optional("query", T::String),
                A::required("status_code", T::String),
            ]),
        ),
        A::optional(
            "fixed_response",
            T::Object(vec![
                A::required("status_code", T::String),
                A::optional("content_type", T::String),
                A::optional("message_body", T::String),
            ]),
        ),
    ])
}

/// An action table → the API's action.
pub fn action_to_aws(table: &Object) -> Result<Action, ProviderError> {
    let kind = attrs::string(table, "type").unwrap_or_default();
    match kind.as_str() {
        "forward" => Ok(Action::builder()
            .r#type(ActionTypeEnum::Forward)
            .set_target_group_arn(attrs::string(table, "target_group_arn"))
            .build()),
        "redirect" => {
            let r = attrs::table(table, "redirect").cloned().unwrap_or_default();
            let config = RedirectActionConfig::builder()
                .set_protocol(attrs::string(&r, "protocol"))
                .set_port(attrs::string(&r, "port"))
                .set_host(attrs::string(&r, "host"))
                .set_path(attrs::string(&r, "path"))
                .set_query(attrs::string(&r, "query"))
                .status_code(RedirectActionStatusCodeEnum::from(
                    attrs::string(&r, "status_code")
                        .unwrap_or_else(|| "HTTP_301".into())
                        .as_str(),
                ))
                .build();
            Ok(Action::builder()
                .r#type(ActionTypeEnum::Redirect)
                .redirect_config(config)
                .build())
        }
        "fixed_response" => {
            let f = attrs::table(table, "fixed_response")
                .cloned()
                .unwrap_or_default();
            let config = FixedResponseActionConfig::builder()
                .set_status_code(attrs::string(&f, "status_code"))
                .set_content_type(attrs::string(&f, "content_type"))
                .set_message_body(attrs::string(&f, "message_body"))
                .build();
            Ok(Action::builder()
                .r#type(ActionTypeEnum::FixedResponse)
                .fixed_response_config(config)
                .build())
        }
        other => Err(ProviderError::api(
            "InvalidAction",
            format!("action type `{other}`: expected `forward`, `redirect` or `fixed_response`"),
        )),
    }
}

/// The action table at `key` of `desired` (`default_action`, `action`) for the API.
pub fn desired_action(desired: &Object, key: &str) -> Result<Action, ProviderError> {
    let table = attrs::table(desired, key)
        .ok_or_else(|| ProviderError::api("MissingAttribute", format!("`{key}` must be set")))?;
    action_to_aws(table)
}

/// The first of the API's `actions` as the attribute `key` (null when there is none).
pub fn action_value(actions: &[Action], prior: &Object, key: &str) -> Value {
    actions
        .first()
        .map(|a| action_from_aws(a, attrs::table(prior, key)))
        .unwrap_or(Value::Null)
}

/// The API's action → an action table; fields the user did not write and AWS fills with
/// its defaults (`#{host}`, `/#{path}`, `#{query}`) are left out.
pub fn action_from_aws(action: &Action, prior: Option<&Object>) -> Value {
    let mut o = Object::new();
    let prior_sub = |key: &str| {
        prior
            .and_then(|p| attrs::table(p, key))
            .cloned()
            .unwrap_or_default()
    };
    match action.r#type() {
        Some(ActionTypeEnum::Redirect) => {
            o.insert("type".into(), Value::string("redirect"));
            let want = prior_sub("redirect");
            let mut r = Object::new();
            if let Some(c) = action.redirect_config() {
                let defaults = [
                    ("host", "#{host}"),
                    ("path", "/#{path}"),
                    ("query", "#{query}"),
                    ("port", "#{port}"),
                    ("protocol", "#{protocol}"),
                ];
                let fields = [
                    ("protocol", c.protocol()),
                    ("port", c.port()),
                    ("host", c.host()),
                    ("path", c.path()),
                    ("query", c.query()),
                ];
                for (key, live) in fields {
                    let is_default = defaults.iter().any(|(k, d)| *k == key && live == Some(*d));
                    if !is_default || want.contains_key(key) {
                        r.insert(key.into(), opt_string(live));
                    }
                }
                r.insert(
                    "status_code".into(),
                    opt_string(c.status_code().map(|s| s.as_str())),
                );
            }
            o.insert("redirect".into(), Value::Map(r));
        }
        Some(ActionTypeEnum::FixedResponse) => {
            o.insert("type".into(), Value::string("fixed_response"));
            let mut f = Object::new();
            if let Some(c) = action.fixed_response_config() {
                f.insert("status_code".into(), opt_string(c.status_code()));
                f.insert("content_type".into(), opt_string(c.content_type()));
                f.insert("message_body".into(), opt_string(c.message_body()));
            }
            o.insert("fixed_response".into(), Value::Map(f));
        }
        other => {
            o.insert(
                "type".into(),
                Value::string(other.map(|t| t.as_str()).unwrap_or("forward")),
            );
            let target = action.target_group_arn().or_else(|| {
                action
                    .forward_config()
                    .and_then(|f| f.target_groups().first())
                    .and_then(|t| t.target_group_arn())
            });
            o.insert("target_group_arn".into(), opt_string(target));
        }
    }
    Value::Map(o)
}

/// Tags of many ELBv2 resources, 20 ARNs per `DescribeTags` call.
pub async fn tags_of(
    clients: &Clients,
    arns: &[String],
) -> Result<HashMap<String, Vec<(String, String)>>, ProviderError> {
    let mut out = HashMap::new();
    for chunk in arns.chunks(20) {
        let result = clients
            .elbv2
            .describe_tags()
            .set_resource_arns(Some(chunk.to_vec()))
            .send()
            .await
            .map_err(|e| map_sdk("DescribeTags", e))?;
        for description in result.tag_descriptions() {
            let pairs = tags::pairs(description.tags().iter().map(|t| (t.key(), t.value())));
            if let Some(arn) = description.resource_arn() {
                out.insert(arn.to_string(), pairs);
            }
        }
    }
    Ok(out)
}

/// Desired tags as ELBv2 tags.
pub fn aws_tags(pairs: &[(String, String)]) -> Vec<Tag> {
    pairs
        .iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

/// Brings an ELBv2 resource's tags to `desired`.
pub async fn sync_tags(
    clients: &Clients,
    arn: &str,
    desired: &Object,
) -> Result<(), ProviderError> {
    let live = tags_of(clients, &[arn.to_string()])
        .await?
        .remove(arn)
        .unwrap_or_default();
    let (set, remove) = tags::diff(&live, &tags::desired(desired));
    if !remove.is_empty() {
        clients
            .elbv2
            .remove_tags()
            .resource_arns(arn)
            .set_tag_keys(Some(remove))
            .send()
            .await
            .map_err(|e| map_sdk("RemoveTags", e))?;
    }
    if !set.is_empty() {
        clients
            .elbv2
            .add_tags()
            .resource_arns(arn)
            .set_tags(Some(aws_tags(&set)))
            .send()
            .await
            .map_err(|e| map_sdk("AddTags", e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_round_trips_without_aws_defaults() {
        let mut r = Object::new();
        r.insert("protocol".into(), Value::string("HTTPS"));
        r.insert("port".into(), Value::string("443"));
        r.insert("status_code".into(), Value::string("HTTP_301"));
        let mut table = Object::new();
        table.insert("type".into(), Value::string("redirect"));
        table.insert("redirect".into(), Value::Map(r));
        let mut aws = action_to_aws(&table).unwrap();
        // AWS fills host/path/query with placeholders.
        let config = aws.redirect_config().unwrap().clone();
        aws = Action::builder()
            .r#type(ActionTypeEnum::Redirect)
            .redirect_config(
                RedirectActionConfig::builder()
                    .set_protocol(config.protocol().map(String::from))
                    .set_port(config.port().map(String::from))
                    .host("#{host}")
                    .path("/#{path}")
                    .query("#{query}")
                    .status_code(RedirectActionStatusCodeEnum::Http301)
                    .build(),
            )
            .build();
        assert!(action_from_aws(&aws, Some(&table)).same_as(&Value::Map(table.clone()), ""));
    }
}
