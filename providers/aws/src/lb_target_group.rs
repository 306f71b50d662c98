//! `aws_lb_target_group`: a target group with its health check.
//!
//! Refresh is one paginated `DescribeTargetGroups` plus `DescribeTags` per 20 ARNs.

use std::sync::Arc;

use aws_sdk_elasticloadbalancingv2::types::{
    Matcher, ProtocolEnum, TargetGroup as AwsGroup, TargetTypeEnum,
};
use plinth_provider::{
    async_trait, Attribute, CallContext, Created, Object, ProviderError, ReadItem, Resource,
    Schema, Value, ValueType,
};

use crate::attrs::{self, opt_bool, opt_int, opt_string};
use crate::batch::{found_ids, index_by};
use crate::clients::Clients;
use crate::errors::{absent_on, map_sdk};
use crate::lb_common::{aws_tags, sync_tags, tags_of};
use crate::tags;

const NOT_FOUND: [&str; 1] = ["TargetGroupNotFound"];

/// The fields of `health_check`.
fn health_check_type() -> ValueType {
    use Attribute as A;
    use ValueType as T;
    T::Object(vec![
        A::optional("enabled", T::Bool),
        A::optional("path", T::String),
        A::optional("port", T::String),
        A::optional("protocol", T::String),
        A::optional("interval", T::Int),
        A::optional("timeout", T::Int),
        A::optional("healthy_threshold", T::Int),
        A::optional("unhealthy_threshold", T::Int),
        A::optional("matcher", T::String),
    ])
}

/// The schema of `aws_lb_target_group`.
pub fn schema() -> Schema {
    use Attribute as A;
    use ValueType as T;
    Schema::new("aws_lb_target_group")
        .describe("A load balancer target group.")
        .attribute(A::required("name", T::String).force_new())
        .attribute(
            A::optional("protocol", T::String)
                .force_new()
                .default("HTTP"),
        )
        .attribute(A::required("port", T::Int).force_new())
        .attribute(A::required("vpc_id", T::String).force_new())
        .attribute(
            A::optional("target_type", T::String)
                .force_new()
                .default("ip"),
        )
        .attribute(A::optional_computed("health_check", health_check_type()))
        .attribute(A::optional("tags", T::string_map()))
        .attribute(A::computed("arn", T::String))
}

/// The `aws_lb_target_group` implementation.
pub struct TargetGroup {
    clients: Arc<Clients>,
    schema: Schema,
}

impl TargetGroup {
    /// A resource using `clients`.
    pub fn new(clients: Arc<Clients>) -> Self {
        TargetGroup {
            clients,
            schema: schema(),
        }
    }

    async fn describe(&self, name_or_arn: &str) -> Result<Option<AwsGroup>, ProviderError> {
        let request = self.clients.elbv2.describe_target_groups();
        let request = if name_or_arn.starts_with("arn:") {
            request.target_group_arns(name_or_arn)
        } else {
            request.names(name_or_arn)
        };
        let result = request
            .send()
            .await
            .map_err(|e| map_sdk("DescribeTargetGroups", e));
        Ok(absent_on(result, &NOT_FOUND)?.and_then(|o| o.target_groups().first().cloned()))
    }

    async fn read_one(&self, id: &str, prior: &Object) -> Result<Option<Object>, ProviderError> {
        let Some(group) = self.describe(id).await? else {
            return Ok(None);
        };
        let arn = group.target_group_arn().unwrap_or_default().to_string();
        let live_tags = tags_of(&self.clients, std::slice::from_ref(&arn))
            .await?
            .remove(&arn)
            .unwrap_or_default();
        Ok(Some(to_object(&group, live_tags, prior)))
    }
}

/// The live target group as attributes.
pub fn to_object(g: &AwsGroup, live_tags: Vec<(String, String)>, prior: &Object) -> Object {
    let mut o = Object::new();
    o.insert("name".into(), opt_string(g.target_group_name()));
    o.insert(
        "protocol".into(),
        opt_string(g.protocol().map(|p| p.as_str())),
    );
    o.insert("port".into(), opt_int(g.port()));
    o.insert("vpc_id".into(), opt_string(g.vpc_id()));
    o.insert(
        "target_type".into(),
        opt_string(g.target_type().map(|t| t.as_str())),
    );
    let mut h = Object::new();
    h.insert("enabled".into(), opt_bool(g.health_check_enabled()));
    h.insert("path".into(), opt_string(g.health_check_path()));
    h.insert("port".into(), opt_string(g.health_check_port()));
    h.insert(
        "protocol".into(),
        opt_string(g.health_check_protocol().map(|p| p.as_str())),
    );
    h.insert(
        "interval".into(),
        opt_int(g.health_check_interval_seconds()),
    );
    h.insert("timeout".into(), opt_int(g.health_check_timeout_seconds()));
    h.insert(
        "healthy_threshold".into(),
        opt_int(g.healthy_threshold_count()),
    );
    h.insert(
        "unhealthy_threshold".into(),
        opt_int(g.unhealthy_threshold_count()),
    );
    h.insert(
        "matcher".into(),
        opt_string(g.matcher().and_then(|m| m.http_code())),
    );
    // Only the fields the user wrote are compared; AWS fills the rest with defaults.
    if let Some(want) = attrs::table(prior, "health_check") {
        h.retain(|k, _| want.contains_key(k));
    }
    o.insert("health_check".into(), Value::Map(h));
    o.insert("tags".into(), tags::value_or_null(live_tags, prior));
    o.insert("arn".into(), opt_string(g.target_group_arn()));
    o
}

#[async_trait]
impl Resource for TargetGroup {
    fn schema(&self) -> &Schema {
        &self.schema
    }

    async fn create(
        &self,
        _ctx: &CallContext<'_>,
        desired: &Object,
    ) -> Result<Created, ProviderError> {
        let d = desired;
        let name = attrs::required(d, "name")?;
        let h = attrs::table(d, "health_check").cloned().unwrap_or_default();
        let out = self
            .clients
            .elbv2
            .create_target_group()
            .name(&name)
            .protocol(ProtocolEnum::from(
                attrs::string(d, "protocol")
                    .unwrap_or_else(|| "HTTP".into())
                    .as_str(),
            ))
            .set_port(attrs::int32(d, "port"))
            .set_vpc_id(attrs::string(d, "vpc_id"))
            .target_type(TargetTypeEnum::from(
                attrs::string(d, "target_type")
                    .unwrap_or_else(|| "ip".into())
                    .as_str(),
            ))
            .set_health_check_enabled(attrs::boolean(&h, "enabled"))
            .set_health_check_path(attrs::string(&h, "path"))
            .set_health_check_port(attrs::string(&h, "port"))
            .set_health_check_protocol(
                attrs::string(&h, "protocol").map(|p| ProtocolEnum::from(p.as_str())),
            )
            .set_health_check_interval_seconds(attrs::int32(&h, "interval"))
            .set_health_check_timeout_seconds(attrs::int32(&h, "timeout"))
            .set_healthy_threshold_count(attrs::int32(&h, "healthy_threshold"))
            .set_unhealthy_threshold_count(attrs::int32(&h, "unhealthy_threshold"))
            .set_matcher(
                attrs::string(&h, "matcher").map(|m| Matcher::builder().http_code(m).build()),
            )
            .set_tags(Some(aws_tags(&tags::desired(d))).filter(|t| !t.is_empty()))
            .send()
            .await
            .map_err(|e| map_sdk("CreateTargetGroup", e))?;
        let group = out
            .target_groups()
            .first()
            .cloned()
            .ok_or_else(|| ProviderError::not_found("no target group returned"))?;
        let arn = group.target_group_arn().unwrap_or_default().to_string();
        let live_tags = tags_of(&self.clients, std::slice::from_ref(&arn))
            .await?
            .remove(&arn)
            .unwrap_or_default();
        Ok(Created {
            attributes: to_object(&group, live_tags, d),
            id: arn,
        })
    }

    async fn read(
        &self,
        _ctx: &CallContext<'_>,
        id: &str,
        prior: &Object,
    ) -> Result<Option<Object>, ProviderError> {
        self.read_one(id, prior).await
    }

    fn batches_reads(&self) -> bool {
        true
    }

    async fn read_many(
        &self,
        _ctx: &CallContext<'_>,
        items: &[ReadItem<'_>],
    ) -> Result<Vec<Option<Object>>, ProviderError> {
        let groups = self
            .clients
            .elbv2
            .describe_target_groups()
            .page_size(400)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| map_sdk("DescribeTargetGroups", e))?;
        let live = index_by(groups, AwsGroup::target_group_arn);
        let mut all_tags = tags_of(&self.clients, &found_ids(items, &live)).await?;
        Ok(items
            .iter()
            .map(|item| {
                live.get(item.id)
                    .map(|g| to_object(g, all_tags.remove(item.id).unwrap_or_default(), item.prior))
            })
            .collect())
    }

    async fn update(
        &self,
        _ctx: &CallContext<'_>,
        id: &str,
        _prior: &Object,
        desired: &Object,
        changed: &[String],
    ) -> Result<Object, ProviderError> {
        if changed.iter().any(|c| c == "health_check") {
            let h = attrs::table(desired, "health_check")
                .cloned()
                .unwrap_or_default();
            self.clients
                .elbv2
                .modify_target_group()
                .target_group_arn(id)
                .set_health_check_enabled(attrs::boolean(&h, "enabled"))
                .set_health_check_path(attrs::string(&h, "path"))
                .set_health_check_port(attrs::string(&h, "port"))
                .set_health_check_protocol(
                    attrs::string(&h, "protocol").map(|p| ProtocolEnum::from(p.as_str())),
                )
                .set_health_check_interval_seconds(attrs::int32(&h, "interval"))
                .set_health_check_timeout_seconds(attrs::int32(&h, "timeout"))
                .set_healthy_threshold_count(attrs::int32(&h, "healthy_threshold"))
                .set_unhealthy_threshold_count(attrs::int32(&h, "unhealthy_threshold"))
                .set_matcher(
                    attrs::string(&h, "matcher").map(|m| Matcher::builder().http_code(m).build()),
                )
                .send()
                .await
                .map_err(|e| map_sdk("ModifyTargetGroup", e))?;
        }
        if changed.iter().any(|c| c == "tags") {
            sync_tags(&self.clients, id, desired).await?;
        }
        self.read_one(id, desired)
            .await?
            .ok_or_else(|| ProviderError::not_found(format!("target group `{id}` is gone")))
    }

    async fn delete(
        &self,
        _ctx: &CallContext<'_>,
        id: &str,
        _prior: &Object,
    ) -> Result<(), ProviderError> {
        let result = self
            .clients
            .elbv2
            .delete_target_group()
            .target_group_arn(id)
            .send()
            .await
            .map_err(|e| map_sdk("DeleteTargetGroup", e));
        absent_on(result, &NOT_FOUND).map(|_| ())
    }

    async fn recover(
        &self,
        _ctx: &CallContext<'_>,
        desired: &Object,
    ) -> Result<Option<Created>, ProviderError> {
        let name = attrs::required(desired, "name")?;
        let Some(group) = self.describe(&name).await? else {
            return Ok(None);
        };
        let arn = group.target_group_arn().unwrap_or_default().to_string();
        let live_tags = tags_of(&self.clients, std::slice::from_ref(&arn))
            .await?
            .remove(&arn)
            .unwrap_or_default();
        Ok(Some(Created {
            attributes: to_object(&group, live_tags, desired),
            id: arn,
        }))
    }
}
