//! `aws_rds_subnet_group`: the subnets an RDS instance may be placed in.
//!
//! Refresh is one paginated `DescribeDBSubnetGroups` plus `ListTagsForResource` per group
//! (the describe does not carry tags). The resource itself is the shared
//! [`SubnetGroup`](crate::subnet_group_core::SubnetGroup); this module supplies the RDS calls.

use aws_sdk_rds::types::DbSubnetGroup;
use plinth_provider::{async_trait, ProviderError, Schema};

use crate::clients::Clients;
use crate::errors::{absent_on, map_sdk};
use crate::rds_common::{aws_tags, rds_tags, sync_rds_tags};
use crate::subnet_group_core::{self, LiveGroup, SubnetGroup, SubnetGroupApi};

const NOT_FOUND: [&str; 2] = ["DBSubnetGroupNotFoundFault", "DBSubnetGroupNotFound"];

/// The schema of `aws_rds_subnet_group`.
pub fn schema() -> Schema {
    subnet_group_core::schema(RdsApi::TYPE_NAME, RdsApi::DESCRIPTION)
}

/// The `aws_rds_subnet_group` implementation.
pub type RdsSubnetGroup = SubnetGroup<RdsApi>;

/// The RDS calls behind [`RdsSubnetGroup`].
pub struct RdsApi;

fn live(g: &DbSubnetGroup) -> LiveGroup {
    LiveGroup {
        name: g.db_subnet_group_name().map(str::to_string),
        description: g.db_subnet_group_description().map(str::to_string),
        subnet_ids: g
            .subnets()
            .iter()
            .filter_map(|s| s.subnet_identifier())
            .map(str::to_string)
            .collect(),
        arn: g.db_subnet_group_arn().map(str::to_string),
        vpc_id: g.vpc_id().map(str::to_string),
    }
}

#[async_trait]
impl SubnetGroupApi for RdsApi {
    const TYPE_NAME: &'static str = "aws_rds_subnet_group";
    const DESCRIPTION: &'static str = "An RDS DB subnet group.";
    const NOUN: &'static str = "DB subnet group";

    async fn describe(clients: &Clients, name: &str) -> Result<Option<LiveGroup>, ProviderError> {
        let result = clients
            .rds
            .describe_db_subnet_groups()
            .db_subnet_group_name(name)
            .send()
            .await
            .map_err(|e| map_sdk("DescribeDBSubnetGroups", e));
        Ok(absent_on(result, &NOT_FOUND)?.and_then(|o| o.db_subnet_groups().first().map(live)))
    }

    async fn describe_all(clients: &Clients) -> Result<Vec<LiveGroup>, ProviderError> {
        let groups = clients
            .rds
            .describe_db_subnet_groups()
            .max_records(100)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| map_sdk("DescribeDBSubnetGroups", e))?;
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
            .rds
            .create_db_subnet_group()
            .db_subnet_group_name(name)
            .db_subnet_group_description(description)
            .set_subnet_ids(subnet_ids)
            .set_tags(Some(aws_tags(tags)))
            .send()
            .await
            .map_err(|e| map_sdk("CreateDBSubnetGroup", e))?;
        Ok(out.db_subnet_group().map(live))
    }

    async fn modify(
        clients: &Clients,
        name: &str,
        description: Option<String>,
        subnet_ids: Option<Vec<String>>,
    ) -> Result<(), ProviderError> {
        clients
            .rds
            .modify_db_subnet_group()
            .db_subnet_group_name(name)
            .set_db_subnet_group_description(description)
            .set_subnet_ids(subnet_ids)
            .send()
            .await
            .map_err(|e| map_sdk("ModifyDBSubnetGroup", e))?;
        Ok(())
    }

    async fn delete(clients: &Clients, name: &str) -> Result<(), ProviderError> {
        let result = clients
            .rds
            .delete_db_subnet_group()
            .db_subnet_group_name(name)
            .send()
            .await
            .map_err(|e| map_sdk("DeleteDBSubnetGroup", e));
        absent_on(result, &NOT_FOUND).map(|_| ())
    }

    async fn tags(clients: &Clients, arn: &str) -> Result<Vec<(String, String)>, ProviderError> {
        rds_tags(clients, arn).await
    }

    async fn sync_tags(
        clients: &Clients,
        arn: &str,
        desired: &[(String, String)],
    ) -> Result<(), ProviderError> {
        let live = rds_tags(clients, arn).await?;
        sync_rds_tags(clients, arn, &live, desired).await
    }
}
