//! `aws_lb`: an application or network load balancer.
//!
//! Creates wait until the state is `active`; deletes wait until it is gone. Refresh is one
//! paginated `DescribeLoadBalancers`, `DescribeTags` per 20 ARNs, and
//! `DescribeLoadBalancerAttributes` per load balancer (attributes have no batch call).

use std::sync::Arc;

use aws_sdk_elasticloadbalancingv2::types::{
    LoadBalancer as AwsLb, LoadBalancerAttribute, LoadBalancerSchemeEnum, LoadBalancerTypeEnum,
};
use plinth_provider::{
    async_trait, Attribute, CallContext, Created, Object, ProviderError, ReadItem, Resource,
    Schema, Value, ValueType,
};

use crate::attrs::{self, opt_string, ordered_like};
use crate::batch::{found_ids, index_by};
use crate::clients::Clients;
use crate::errors::{absent_on, map_sdk};
use crate::lb_common::{aws_tags, sync_tags, tags_of};
use crate::tags;
use crate::waiter::{minutes, wait_for, Poll, Wait};

const NOT_FOUND: [&str; 1] = ["LoadBalancerNotFound"];

/// The schema of `aws_lb`.
pub fn schema() -> Schema {
    use Attribute as A;
    use ValueType as T;
    Schema::new("aws_lb")
        .describe("An Elastic Load Balancing v2 load balancer (ALB or NLB).")
        .attribute(A::required("name", T::String).force_new())
        .attribute(A::optional("internal", T::Bool).force_new().default(false))
        .attribute(
            A::optional("load_balancer_type", T::String)
                .force_new()
                .default("application"),
        )
        .attribute(A::required("subnets", T::string_list()))
        .attribute(A::optional_computed("security_groups", T::string_list()))
        .attribute(A::optional_computed("deletion_protection", T::Bool))
        .attribute(A::optional_computed("idle_timeout", T::Int).describe("seconds"))
        .attribute(A::optional("tags", T::string_map()))
        .attribute(A::computed("arn", T::String))
        .attribute(A::computed("dns_name", T::String))
        .attribute(A::computed("zone_id", T::String))
        .attribute(A::computed("vpc_id", T::String))
        .serves_traffic()
}

/// The `aws_lb` implementation.
pub struct LoadBalancer {
    clients: Arc<Clients>,
    schema: Schema,
}

impl LoadBalancer {
    /// A resource using `clients`.
    pub fn new(clients: Arc<Clients>) -> Self {
        LoadBalancer {
            clients,
            schema: schema(),
        }
    }

    async fn describe(&self, name_or_arn: &str) -> Result<Option<AwsLb>, ProviderError> {
        let request = self.clients.elbv2.describe_load_balancers();
        let request = if name_or_arn.starts_with("arn:") {
            request.load_balancer_arns(name_or_arn)
        } else {
            request.names(name_or_arn)
        };
        let result = request
            .send()
            .await
            .map_err(|e| map_sdk("DescribeLoadBalancers", e));
        Ok(absent_on(result, &NOT_FOUND)?.and_then(|o| o.load_balancers().first().cloned()))
    }

    async fn attributes(&self, arn: &str) -> Result<Vec<(String, String)>, ProviderError> {
        let out = self
            .clients
            .elbv2
            .describe_load_balancer_attributes()
            .load_balancer_arn(arn)
            .send()
            .await
            .map_err(|e| map_sdk("DescribeLoadBalancerAttributes", e))?;
        Ok(out
            .attributes()
            .iter()
            .filter_map(|a| Some((a.key()?.to_string(), a.value()?.to_string())))
            .collect())
    }

    async fn full(
        &self,
        lb: &AwsLb,
        live_tags: Vec<(String, String)>,
        prior: &Object,
    ) -> Result<Object, ProviderError> {
        let attributes = self
            .attributes(lb.load_balancer_arn().unwrap_or_default())
            .await?;
        Ok(to_object(lb, &attributes, live_tags, prior))
    }

    async fn wait(
        &self,
        ctx: &CallContext<'_>,
        arn: &str,
        gone: bool,
    ) -> Result<Option<AwsLb>, ProviderError> {
        let what = format!("load balancer `{arn}`");
        let target = if gone { "deletion" } else { "state active" };
        let wait = Wait {
            what: &what,
            target,
            interval: self.clients.poll_interval,
            default_timeout: minutes(10),
        };
        wait_for(ctx, wait, || async {
            let lb = self.describe(arn).await?;
            let state = lb
                .as_ref()
                .and_then(|l| l.state())
                .and_then(|s| s.code())
                .map(|c| c.as_str().to_string());
            Ok(match (lb, gone) {
                (None, true) => Poll::Ready(None),
                (None, false) => Poll::Pending("not visible yet".into()),
                (Some(lb), false) if state.as_deref() == Some("active") => Poll::Ready(Some(lb)),
                (Some(_), false) if state.as_deref() == Some("failed") => {
                    Poll::Failed("failed".into())
                }
                (Some(_), _) => Poll::Pending(state.unwrap_or_else(|| "unknown".into())),
            })
        })
        .await
    }

    async fn set_attributes(
        &self,
        arn: &str,
        desired: &Object,
        which: &[&str],
    ) -> Result<(), ProviderError> {
        let mut list = Vec::new();
        if which.contains(&"deletion_protection") {
            if let Some(b) = attrs::boolean(desired, "deletion_protection") {
                list.push(
                    LoadBalancerAttribute::builder()
                        .key("deletion_protection.enabled")
                        .value(b.to_string())
                        .build(),
                );
            }
        }
        if which.contains(&"idle_timeout") {
            if let Some(t) = attrs::int(desired, "idle_timeout") {
                list.push(
                    LoadBalancerAttribute::builder()
                        .key("idle_timeout.timeout_seconds")
                        .value(t.to_string())
                        .build(),
                );
            }
        }
        if list.is_empty() {
            return Ok(());
        }
        self.clients
            .elbv2
            .modify_load_balancer_attributes()
            .load_balancer_arn(arn)
            .set_attributes(Some(list))
            .send()
            .await
            .map_err(|e| map_sdk("ModifyLoadBalancerAttributes", e))?;
        Ok(())
    }
}

/// The live load balancer as attributes.
pub fn to_object(
    lb: &AwsLb,
    attributes: &[(String, String)],
    live_tags: Vec<(String, String)>,
    prior: &Object,
) -> Object {
    let attribute = |key: &str| {
        attributes
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    let mut o = Object::new();
    o.insert("name".into(), opt_string(lb.load_balancer_name()));
    o.insert(
        "internal".into(),
        Value::Bool(lb.scheme() == Some(&LoadBalancerSchemeEnum::Internal)),
    );
    o.insert(
        "load_balancer_type".into(),
        opt_string(lb.r#type().map(|t| t.as_str())),
    );
    o.insert(
        "subnets".into(),
        ordered_like(
            prior,
            "subnets",
            lb.availability_zones().iter().filter_map(|z| z.subnet_id()),
        ),
    );
    o.insert(
        "security_groups".into(),
        ordered_like(
            prior,
            "security_groups",
            lb.security_groups().iter().map(String::as_str),
        ),
    );
    o.insert(
        "deletion_protection".into(),
        Value::Bool(attribute("deletion_protection.enabled") == Some("true")),
    );
    o.insert(
        "idle_timeout".into(),
        attribute("idle_timeout.timeout_seconds")
            .and_then(|v| v.parse().ok())
            .map(Value::Int)
            .unwrap_or(Value::Int(60)),
    );
    o.insert("tags".into(), tags::value_or_null(live_tags, prior));
    o.insert("arn".into(), opt_string(lb.load_balancer_arn()));
    o.insert("dns_name".into(), opt_string(lb.dns_name()));
    o.insert("zone_id".into(), opt_string(lb.canonical_hosted_zone_id()));
    o.insert("vpc_id".into(), opt_string(lb.vpc_id()));
    o
}

#[async_trait]
impl Resource for LoadBalancer {
    fn schema(&self) -> &Schema {
        &self.schema
    }

    async fn create(
        &self,
        ctx: &CallContext<'_>,
        desired: &Object,
    ) -> Result<Created, ProviderError> {
        let d = desired;
        let name = attrs::required(d, "name")?;
        let scheme = if attrs::boolean(d, "internal").unwrap_or(false) {
            LoadBalancerSchemeEnum::Internal
        } else {
            LoadBalancerSchemeEnum::InternetFacing
        };
        let kind = LoadBalancerTypeEnum::from(
            attrs::string(d, "load_balancer_type")
                .unwrap_or_else(|| "application".into())
                .as_str(),
        );
        let out = self
            .clients
            .elbv2
            .create_load_balancer()
            .name(&name)
            .scheme(scheme)
            .r#type(kind)
            .set_subnets(attrs::strings(d, "subnets"))
            .set_security_groups(attrs::strings(d, "security_groups"))
            .set_tags(Some(aws_tags(&tags::desired(d))).filter(|t| !t.is_empty()))
            .send()
            .await
            .map_err(|e| map_sdk("CreateLoadBalancer", e))?;
        let arn = out
            .load_balancers()
            .first()
            .and_then(|l| l.load_balancer_arn())
            .ok_or_else(|| {
                ProviderError::not_found("CreateLoadBalancer returned no load balancer")
            })?
            .to_string();
        self.set_attributes(&arn, d, &["deletion_protection", "idle_timeout"])
            .await?;
        let lb = self
            .wait(ctx, &arn, false)
            .await?
            .ok_or_else(|| ProviderError::not_found("load balancer vanished"))?;
        let live_tags = tags_of(&self.clients, std::slice::from_ref(&arn))
            .await?
            .remove(&arn)
            .unwrap_or_default();
        Ok(Created {
            attributes: self.full(&lb, live_tags, d).await?,
            id: arn,
        })
    }

    async fn read(
        &self,
        _ctx: &CallContext<'_>,
        id: &str,
        prior: &Object,
    ) -> Result<Option<Object>, ProviderError> {
        let Some(lb) = self.describe(id).await? else {
            return Ok(None);
        };
        let live_tags = tags_of(&self.clients, &[id.to_string()])
            .await?
            .remove(id)
            .unwrap_or_default();
        Ok(Some(self.full(&lb, live_tags, prior).await?))
    }

    fn batches_reads(&self) -> bool {
        true
    }

    async fn read_many(
        &self,
        _ctx: &CallContext<'_>,
        items: &[ReadItem<'_>],
    ) -> Result<Vec<Option<Object>>, ProviderError> {
        let lbs = self
            .clients
            .elbv2
            .describe_load_balancers()
            .page_size(400)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| map_sdk("DescribeLoadBalancers", e))?;
        let live = index_by(lbs, AwsLb::load_balancer_arn);
        let mut all_tags = tags_of(&self.clients, &found_ids(items, &live)).await?;
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            out.push(match live.get(item.id) {
                Some(lb) => Some(
                    self.full(lb, all_tags.remove(item.id).unwrap_or_default(), item.prior)
                        .await?,
                ),
                None => None,
            });
        }
        Ok(out)
    }

    async fn update(
        &self,
        _ctx: &CallContext<'_>,
        id: &str,
        _prior: &Object,
        desired: &Object,
        changed: &[String],
    ) -> Result<Object, ProviderError> {
        let has = |k: &str| changed.iter().any(|c| c == k);
        let elbv2 = &self.clients.elbv2;
        if has("subnets") {
            elbv2
                .set_subnets()
                .load_balancer_arn(id)
                .set_subnets(attrs::strings(desired, "subnets"))
                .send()
                .await
                .map_err(|e| map_sdk("SetSubnets", e))?;
        }
        if has("security_groups") {
            elbv2
                .set_security_groups()
                .load_balancer_arn(id)
                .set_security_groups(attrs::strings(desired, "security_groups"))
                .send()
                .await
                .map_err(|e| map_sdk("SetSecurityGroups", e))?;
        }
        let which: Vec<&str> = changed.iter().map(String::as_str).collect();
        self.set_attributes(id, desired, &which).await?;
        if has("tags") {
            sync_tags(&self.clients, id, desired).await?;
        }
        let lb = self
            .describe(id)
            .await?
            .ok_or_else(|| ProviderError::not_found(format!("load balancer `{id}` is gone")))?;
        let live_tags = tags_of(&self.clients, &[id.to_string()])
            .await?
            .remove(id)
            .unwrap_or_default();
        self.full(&lb, live_tags, desired).await
    }

    async fn delete(
        &self,
        ctx: &CallContext<'_>,
        id: &str,
        _prior: &Object,
    ) -> Result<(), ProviderError> {
        let result = self
            .clients
            .elbv2
            .delete_load_balancer()
            .load_balancer_arn(id)
            .send()
            .await
            .map_err(|e| map_sdk("DeleteLoadBalancer", e));
        if absent_on(result, &NOT_FOUND)?.is_none() {
            return Ok(());
        }
        self.wait(ctx, id, true).await.map(|_| ())
    }

    async fn recover(
        &self,
        ctx: &CallContext<'_>,
        desired: &Object,
    ) -> Result<Option<Created>, ProviderError> {
        let name = attrs::required(desired, "name")?;
        let Some(lb) = self.describe(&name).await? else {
            return Ok(None);
        };
        let arn = lb.load_balancer_arn().unwrap_or_default().to_string();
        let lb = self.wait(ctx, &arn, false).await?.unwrap_or(lb);
        let live_tags = tags_of(&self.clients, std::slice::from_ref(&arn))
            .await?
            .remove(&arn)
            .unwrap_or_default();
        Ok(Some(Created {
            attributes: self.full(&lb, live_tags, desired).await?,
            id: arn,
        }))
    }
}
