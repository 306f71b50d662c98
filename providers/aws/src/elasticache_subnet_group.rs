//! `aws_elasticache_subnet_group`: the subnets an ElastiCache replication group uses.
//!
//! Refresh is one paginated `DescribeCacheSubnetGroups` plus `ListTagsForResource` per group.

use std::collections::HashMap;
use std::sync::Arc;

use aws_sdk_elasticache::types::CacheSubnetGroup as AwsGroup;
use plinth_provider::{
    async_trait, Attribute, CallContext, Created, Object, ProviderError, ReadItem, Resource,
    Schema, Value, ValueType,
};

use crate::attrs::{self, opt_string, ordered_like};
use crate::clients::Clients;
use crate::elasticache_common::{aws_tags, cache_tags, sync_cache_tags};
use crate::errors::{absent_on, map_sdk};
use crate::tags;

const NOT_FOUND: [&str; 2] = ["CacheSubnetGroupNotFoundFault", "CacheSubnetGroupNotFound"];

/// The schema of `aws_elasticache_subnet_group`.
pub fn schema() -> Schema {
    use Attribute as A;
    use ValueType as T;
    Schema::new("aws_elasticache_subnet_group")
        .describe("An ElastiCache subnet group.")
        .attribute(A::required("name", T::String).force_new())
        .attribute(A::optional("description", T::String).default("Managed by Plinth"))
        .attribute(A::required("subnet_ids", T::string_list()))
        .attribute(A::optional("tags", T::string_map()))
        .attribute(A::computed("arn", T::String))
        .attribute(A::computed("vpc_id", T::String))
}

/// The `aws_elasticache_subnet_group` implementation.
pub struct CacheSubnetGroup {
    clients: Arc<Clients>,
    schema: Schema,
}

impl CacheSubnetGroup {
    /// A resource using `clients`.
    pub fn new(clients: Arc<Clients>) -> Self {
        CacheSubnetGroup {
            clients,
            schema: schema(),
        }
    }

    async fn describe(&self, name: &str) -> Result<Option<AwsGroup>, ProviderError> {
        let result = self
            .clients
            .elasticache
            .describe_cache_subnet_groups()
            .cache_subnet_group_name(name)
            .send()
            .await
            .map_err(|e| map_sdk("DescribeCacheSubnetGroups", e));
        Ok(absent_on(result, &NOT_FOUND)?.and_then(|o| o.cache_subnet_groups().first().cloned()))
    }

    async fn to_object(&self, g: &AwsGroup, prior: &Object) -> Result<Object, ProviderError> {
        let live_tags = match g.arn() {
            Some(arn) => cache_tags(&self.clients, arn).await?,
            None => Vec::new(),
        };
        let mut o = Object::new();
        o.insert("name".into(), opt_string(g.cache_subnet_group_name()));
        o.insert(
            "description".into(),
            opt_string(g.cache_subnet_group_description()),
        );
        o.insert(
            "subnet_ids".into(),
            ordered_like(
                prior,
                "subnet_ids",
                g.subnets().iter().filter_map(|s| s.subnet_identifier()),
            ),
        );
        let t = if live_tags.is_empty() && !attrs::is_set(prior, "tags") {
            Value::Null
        } else {
            tags::to_value(live_tags)
        };
        o.insert("tags".into(), t);
        o.insert("arn".into(), opt_string(g.arn()));
        o.insert("vpc_id".into(), opt_string(g.vpc_id()));
        Ok(o)
    }
}

#[async_trait]
impl Resource for CacheSubnetGroup {
    fn schema(&self) -> &Schema {
        &self.schema
    }

    async fn create(
        &self,
        _ctx: &CallContext<'_>,
        desired: &Object,
    ) -> Result<Created, ProviderError> {
        let name = attrs::required(desired, "name")?;
        let out = self
            .clients
            .elasticache
            .create_cache_subnet_group()
            .cache_subnet_group_name(&name)
            .cache_subnet_group_description(
                attrs::string(desired, "description").unwrap_or_else(|| "Managed by Plinth".into()),
            )
            .set_subnet_ids(attrs::strings(desired, "subnet_ids"))
            .set_tags(Some(aws_tags(&tags::desired(desired))))
            .send()
            .await
            .map_err(|e| map_sdk("CreateCacheSubnetGroup", e))?;
        let group = out
            .cache_subnet_group()
            .cloned()
            .ok_or_else(|| ProviderError::not_found("no subnet group returned"))?;
        Ok(Created {
            attributes: self.to_object(&group, desired).await?,
            id: name,
        })
    }

    async fn read(
        &self,
        _ctx: &CallContext<'_>,
        id: &str,
        prior: &Object,
    ) -> Result<Option<Object>, ProviderError> {
        match self.describe(id).await? {
            Some(g) => Ok(Some(self.to_object(&g, prior).await?)),
            None => Ok(None),
        }
    }

    fn batches_reads(&self) -> bool {
        true
    }

    async fn read_many(
        &self,
        _ctx: &CallContext<'_>,
        items: &[ReadItem<'_>],
    ) -> Result<Vec<Option<Object>>, ProviderError> {
        let mut live: HashMap<String, AwsGroup> = HashMap::new();
        let mut pages = self
            .clients
            .elasticache
            .describe_cache_subnet_groups()
            .max_records(100)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| map_sdk("DescribeCacheSubnetGroups", e))?;
            for g in page.cache_subnet_groups() {
                if let Some(name) = g.cache_subnet_group_name() {
                    live.insert(name.to_string(), g.clone());
                }
            }
        }
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            out.push(match live.get(item.id) {
                Some(g) => Some(self.to_object(g, item.prior).await?),
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
        let ec = &self.clients.elasticache;
        if changed
            .iter()
            .any(|c| c == "description" || c == "subnet_ids")
        {
            ec.modify_cache_subnet_group()
                .cache_subnet_group_name(id)
                .set_cache_subnet_group_description(attrs::string(desired, "description"))
                .set_subnet_ids(attrs::strings(desired, "subnet_ids"))
                .send()
                .await
                .map_err(|e| map_sdk("ModifyCacheSubnetGroup", e))?;
        }
        let group = self.describe(id).await?.ok_or_else(|| {
            ProviderError::not_found(format!("cache subnet group `{id}` is gone"))
        })?;
        if changed.iter().any(|c| c == "tags") {
            let arn = group.arn().unwrap_or_default();
            sync_cache_tags(&self.clients, arn, &tags::desired(desired)).await?;
        }
        self.to_object(&group, desired).await
    }

    async fn delete(
        &self,
        _ctx: &CallContext<'_>,
        id: &str,
        _prior: &Object,
    ) -> Result<(), ProviderError> {
        let result = self
            .clients
            .elasticache
            .delete_cache_subnet_group()
            .cache_subnet_group_name(id)
            .send()
            .await
            .map_err(|e| map_sdk("DeleteCacheSubnetGroup", e));
        absent_on(result, &NOT_FOUND).map(|_| ())
    }

    async fn import(
        &self,
        ctx: &CallContext<'_>,
        id: &str,
    ) -> Result<Option<Object>, ProviderError> {
        self.read(ctx, id.rsplit(':').next().unwrap_or(id), &Object::new())
            .await
    }

    async fn recover(
        &self,
        _ctx: &CallContext<'_>,
        desired: &Object,
    ) -> Result<Option<Created>, ProviderError> {
        let name = attrs::required(desired, "name")?;
        match self.describe(&name).await? {
            Some(g) => Ok(Some(Created {
                attributes: self.to_object(&g, desired).await?,
                id: name,
            })),
            None => Ok(None),
        }
    }
}
