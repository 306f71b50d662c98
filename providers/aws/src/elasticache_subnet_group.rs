//! `aws_elasticache_subnet_group`: the subnets an ElastiCache replication group uses.
//!
//! Refresh is one paginated `DescribeCacheSubnetGroups` plus `ListTagsForResource` per group.
//! The resource itself is the shared [`SubnetGroup`](crate::subnet_group_core::SubnetGroup);
//! this module supplies the ElastiCache calls.

use aws_sdk_elasticache::types::CacheSubnetGroup as AwsGroup;
use plinth_provider::{async_trait, ProviderError, Schema};

use crate::clients::Clients;
use crate::elasticache_common::{aws_tags, cache_tags, sync_cache_tags};
use crate::errors::{absent_on, map_sdk};
use crate::subnet_group_core::{self, LiveGroup, SubnetGroup, SubnetGroupApi};

const NOT_FOUND: [&str; 2] = ["CacheSubnetGroupNotFoundFault", "CacheSubnetGroupNotFound"];

/// The schema of `aws_elasticache_subnet_group`.
pub fn schema() -> Schema {
    subnet_group_core::schema(CacheApi::TYPE_NAME, CacheApi::DESCRIPTION)
}

/// The `aws_elasticache_subnet_group` implementation.
pub type CacheSubnetGroup = SubnetGroup<CacheApi>;

/// The ElastiCache calls behind [`CacheSubnetGroup`].
pub struct CacheApi;

fn live(g: &AwsGroup) -> LiveGroup {
    LiveGroup {
        name: g.cache_subnet_group_name().map(str::to_string),
        description: g.cache_subnet_group_description().map(str::to_string),
        subnet_ids: g
            .subnets()
            .iter()
            .filter_map(|s| s.subnet_identifier())
            .map(str::to_string)
            .collect(),
        arn: g.arn().map(str::to_string),
        vpc_id: g.vpc_id().map(str::to_string),
    }
}

#[async_trait]
impl SubnetGroupApi for CacheApi {
    const TYPE_NAME: &'static str = "aws_elasticache_subnet_group";
    const DESCRIPTION: &'static str = "An ElastiCache subnet group.";
    const NOUN: &'static str = "cache subnet group";

    async fn describe(clients: &Clients, name: &str) -> Result<Option<LiveGroup>, ProviderError> {
        let result = clients
            .elasticache
            .describe_cache_subnet_groups()
            .cache_subnet_group_name(name)
            .send()
            .await
            .map_err(|e| map_sdk("DescribeCacheSubnetGroups", e));
        Ok(absent_on(result, &NOT_FOUND)?.and_then(|o| o.cache_subnet_groups().first().map(live)))
    }

    async fn describe_all(clients: &Clients) -> Result<Vec<LiveGroup>, ProviderError> {
        let groups = clients
            .elasticache
            .describe_cache_subnet_groups()
            .max_records(100)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| map_sdk("DescribeCacheSubnetGroups", e))?;
        Ok(groups.iter().map(live).collect())
    }

    async fn create(
        clients: &Clients,
        name: &str,
        description: String,
        subnet_ids: Option<Vec<String>>,
        tags: &[(String, String)],
    ) -> Result<Option<LiveGroup>, ProviderError> {
        let out = clients
            .elasticache
            .create_cache_subnet_group()
            .cache_subnet_group_name(name)
            .cache_subnet_group_description(description)
            .set_subnet_ids(subnet_ids)
            .set_tags(Some(aws_tags(tags)))
            .send()
            .await
            .map_err(|e| map_sdk("CreateCacheSubnetGroup", e))?;
        Ok(out.cache_subnet_group().map(live))
    }

    async fn modify(
        clients: &Clients,
        name: &str,
        description: Option<String>,
        subnet_ids: Option<Vec<String>>,
    ) -> Result<(), ProviderError> {
        clients
            .elasticache
            .modify_cache_subnet_group()
            .cache_subnet_group_name(name)
            .set_cache_subnet_group_description(description)
            .set_subnet_ids(subnet_ids)
            .send()
            .await
            .map_err(|e| map_sdk("ModifyCacheSubnetGroup", e))?;
        Ok(())
    }

    async fn delete(clients: &Clients, name: &str) -> Result<(), ProviderError> {
        let result = clients
            .elasticache
            .delete_cache_subnet_group()
            .cache_subnet_group_name(name)
            .send()
            .await
            .map_err(|e| map_sdk("DeleteCacheSubnetGroup", e));
        absent_on(result, &NOT_FOUND).map(|_| ())
    }

    async fn tags(clients: &Clients, arn: &str) -> Result<Vec<(String, String)>, ProviderError> {
        cache_tags(clients, arn).await
    }

    async fn sync_tags(
        clients: &Clients,
        arn: &str,
        desired: &[(String, String)],
    ) -> Result<(), ProviderError> {
        sync_cache_tags(clients, arn, desired).await
    }
}
