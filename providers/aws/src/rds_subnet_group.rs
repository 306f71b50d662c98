//! `aws_rds_subnet_group`: the subnets an RDS instance may be placed in.
//!
//! Refresh is one paginated `DescribeDBSubnetGroups` plus `ListTagsForResource` per group
//! (the describe does not carry tags).

use std::collections::HashMap;
use std::sync::Arc;

use aws_sdk_rds::types::DbSubnetGroup;
use plinth_provider::{
    async_trait, Attribute, CallContext, Created, Object, ProviderError, ReadItem, Resource,
    Schema, Value, ValueType,
};

use crate::attrs::{self, opt_string, ordered_like};
use crate::clients::Clients;
use crate::errors::{absent_on, map_sdk};
use crate::rds_common::{aws_tags, rds_tags, sync_rds_tags};
use crate::tags;

const NOT_FOUND: [&str; 2] = ["DBSubnetGroupNotFoundFault", "DBSubnetGroupNotFound"];

/// The schema of `aws_rds_subnet_group`.
pub fn schema() -> Schema {
    use Attribute as A;
    use ValueType as T;
    Schema::new("aws_rds_subnet_group")
        .describe("An RDS DB subnet group.")
        .attribute(A::required("name", T::String).force_new())
        .attribute(A::optional("description", T::String).default("Managed by Plinth"))
        .attribute(A::required("subnet_ids", T::string_list()))
        .attribute(A::optional("tags", T::string_map()))
        .attribute(A::computed("arn", T::String))
        .attribute(A::computed("vpc_id", T::String))
}

/// The `aws_rds_subnet_group` implementation.
pub struct RdsSubnetGroup {
    clients: Arc<Clients>,
    schema: Schema,
}

impl RdsSubnetGroup {
    /// A resource using `clients`.
    pub fn new(clients: Arc<Clients>) -> Self {
        RdsSubnetGroup {
            clients,
            schema: schema(),
        }
    }

    async fn describe(&self, name: &str) -> Result<Option<DbSubnetGroup>, ProviderError> {
        let result = self
            .clients
            .rds
            .describe_db_subnet_groups()
            .db_subnet_group_name(name)
            .send()
            .await
            .map_err(|e| map_sdk("DescribeDBSubnetGroups", e));
        Ok(absent_on(result, &NOT_FOUND)?.and_then(|o| o.db_subnet_groups().first().cloned()))
    }

    async fn to_object(&self, g: &DbSubnetGroup, prior: &Object) -> Result<Object, ProviderError> {
        let live_tags = match g.db_subnet_group_arn() {
            Some(arn) => rds_tags(&self.clients, arn).await?,
            None => Vec::new(),
        };
        let mut o = Object::new();
        o.insert("name".into(), opt_string(g.db_subnet_group_name()));
        o.insert(
            "description".into(),
            opt_string(g.db_subnet_group_description()),
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
        o.insert("arn".into(), opt_string(g.db_subnet_group_arn()));
        o.insert("vpc_id".into(), opt_string(g.vpc_id()));
        Ok(o)
    }
}

#[async_trait]
impl Resource for RdsSubnetGroup {
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
            .rds
            .create_db_subnet_group()
            .db_subnet_group_name(&name)
            .db_subnet_group_description(
                attrs::string(desired, "description").unwrap_or_else(|| "Managed by Plinth".into()),
            )
            .set_subnet_ids(attrs::strings(desired, "subnet_ids"))
            .set_tags(Some(aws_tags(&tags::desired(desired))))
            .send()
            .await
            .map_err(|e| map_sdk("CreateDBSubnetGroup", e))?;
        let group = out
            .db_subnet_group()
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
        let mut live: HashMap<String, DbSubnetGroup> = HashMap::new();
        let mut pages = self
            .clients
            .rds
            .describe_db_subnet_groups()
            .max_records(100)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| map_sdk("DescribeDBSubnetGroups", e))?;
            for g in page.db_subnet_groups() {
                if let Some(name) = g.db_subnet_group_name() {
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
        prior: &Object,
        desired: &Object,
        changed: &[String],
    ) -> Result<Object, ProviderError> {
        if changed
            .iter()
            .any(|c| c == "description" || c == "subnet_ids")
        {
            self.clients
                .rds
                .modify_db_subnet_group()
                .db_subnet_group_name(id)
                .set_db_subnet_group_description(attrs::string(desired, "description"))
                .set_subnet_ids(attrs::strings(desired, "subnet_ids"))
                .send()
                .await
                .map_err(|e| map_sdk("ModifyDBSubnetGroup", e))?;
        }
        let group = self
            .describe(id)
            .await?
            .ok_or_else(|| ProviderError::not_found(format!("DB subnet group `{id}` is gone")))?;
        if changed.iter().any(|c| c == "tags") {
            let arn = group.db_subnet_group_arn().unwrap_or_default();
            let live = rds_tags(&self.clients, arn).await?;
            sync_rds_tags(&self.clients, arn, &live, &tags::desired(desired)).await?;
        }
        let _ = prior;
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
            .rds
            .delete_db_subnet_group()
            .db_subnet_group_name(id)
            .send()
            .await
            .map_err(|e| map_sdk("DeleteDBSubnetGroup", e));
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
