//! `aws_elasticache_replication_group`: a Redis replication group (primary + replicas,
//! optionally sharded), with persistence (snapshots), failover and encryption.
//!
//! Creates, modifies and deletes wait up to 60 minutes. Refresh is one paginated
//! `DescribeReplicationGroups` plus one paginated `DescribeCacheClusters` (engine version,
//! subnet group, security and parameter groups live on the member clusters) and one
//! `ListTagsForResource` per group (the describe does not carry tags).

use std::collections::HashMap;
use std::sync::Arc;

use aws_sdk_elasticache::types::{CacheCluster, ReplicationGroup as AwsGroup};
use plinth_provider::{
    async_trait, Attribute, CallContext, Created, Object, ProviderError, ReadItem, Resource,
    Schema, Value, ValueType,
};

use crate::attrs::{self, opt_bool, opt_int, opt_string};
use crate::batch::{import_name, index_by};
use crate::clients::Clients;
use crate::elasticache_common::{aws_tags, cache_tags, sync_cache_tags};
use crate::errors::{absent_on, map_sdk};
use crate::tags;
use crate::waiter::{minutes, wait_for, Poll, Wait};

const NOT_FOUND: [&str; 2] = ["ReplicationGroupNotFoundFault", "ReplicationGroupNotFound"];
const CLUSTER_NOT_FOUND: [&str; 2] = ["CacheClusterNotFound", "CacheClusterNotFoundFault"];
/// Attributes only the member clusters report; kept from prior when no cluster is visible.
const CLUSTER_ATTRS: [&str; 4] = [
    "engine_version",
    "subnet_group_name",
    "security_group_ids",
    "parameter_group_name",
];

/// The schema of `aws_elasticache_replication_group`.
pub fn schema() -> Schema {
    use Attribute as A;
    use ValueType as T;
    Schema::new("aws_elasticache_replication_group")
        .describe("An ElastiCache Redis replication group.")
        .attribute(A::required("replication_group_id", T::String).force_new())
        .attribute(A::optional("description", T::String).default("Managed by Plinth"))
        .attribute(
            A::optional("engine", T::String)
                .force_new()
                .default("redis"),
        )
        .attribute(A::optional_computed("engine_version", T::String))
        .attribute(A::optional_computed("node_type", T::String))
        .attribute(A::optional_computed("num_node_groups", T::Int))
        .attribute(A::optional_computed("replicas_per_node_group", T::Int))
        .attribute(A::optional_computed("automatic_failover", T::Bool))
        .attribute(A::optional_computed("multi_az", T::Bool))
        .attribute(A::optional_computed("at_rest_encryption", T::Bool).force_new())
        .attribute(A::optional_computed("transit_encryption", T::Bool))
        .attribute(A::optional("auth_token", T::String).sensitive())
        .attribute(
            A::optional_computed("snapshot_retention_limit", T::Int)
                .describe("Days of snapshots kept."),
        )
        .attribute(A::optional_computed("snapshot_window", T::String))
        .attribute(A::optional_computed("subnet_group_name", T::String))
        .attribute(A::optional_computed("security_group_ids", T::string_list()))
        .attribute(A::optional_computed("parameter_group_name", T::String))
        .attribute(A::optional("tags", T::string_map()))
        .attribute(A::computed("arn", T::String))
        .attribute(A::computed("primary_endpoint", T::String))
        .attribute(A::computed("reader_endpoint", T::String))
        .attribute(A::computed("port", T::Int))
        .attribute(A::computed("status", T::String))
        .stateful()
}

/// The `aws_elasticache_replication_group` implementation.
pub struct ReplicationGroup {
    clients: Arc<Clients>,
    schema: Schema,
}

impl ReplicationGroup {
    /// A resource using `clients`.
    pub fn new(clients: Arc<Clients>) -> Self {
        ReplicationGroup {
            clients,
            schema: schema(),
        }
    }

    async fn describe(&self, id: &str) -> Result<Option<AwsGroup>, ProviderError> {
        let result = self
            .clients
            .elasticache
            .describe_replication_groups()
            .replication_group_id(id)
            .send()
            .await
            .map_err(|e| map_sdk("DescribeReplicationGroups", e));
        Ok(absent_on(result, &NOT_FOUND)?.and_then(|o| o.replication_groups().first().cloned()))
    }

    async fn member_cluster(
        &self,
        group: &AwsGroup,
    ) -> Result<Option<CacheCluster>, ProviderError> {
        let Some(first) = group.member_clusters().first() else {
            return Ok(None);
        };
        let result = self
            .clients
            .elasticache
            .describe_cache_clusters()
            .cache_cluster_id(first)
            .send()
            .await
            .map_err(|e| map_sdk("DescribeCacheClusters", e));
        Ok(
            absent_on(result, &CLUSTER_NOT_FOUND)?
                .and_then(|o| o.cache_clusters().first().cloned()),
        )
    }

    async fn tags_of(&self, group: &AwsGroup) -> Result<Vec<(String, String)>, ProviderError> {
        match group.arn() {
            Some(arn) => cache_tags(&self.clients, arn).await,
            None => Ok(Vec::new()),
        }
    }

    async fn full(&self, group: &AwsGroup, prior: &Object) -> Result<Object, ProviderError> {
        let cluster = self.member_cluster(group).await?;
        let tags = self.tags_of(group).await?;
        Ok(to_object(group, cluster.as_ref(), tags, prior))
    }

    async fn wait(
        &self,
        ctx: &CallContext<'_>,
        id: &str,
        gone: bool,
    ) -> Result<Option<AwsGroup>, ProviderError> {
        let what = format!("ElastiCache replication group `{id}`");
        let target = if gone { "deletion" } else { "status available" };
        let wait = Wait {
            what: &what,
            target,
            interval: self.clients.poll_interval,
            default_timeout: minutes(60),
        };
        wait_for(ctx, wait, || async {
            Ok(match (self.describe(id).await?, gone) {
                (None, true) => Poll::Ready(None),
                (None, false) => Poll::Pending("not visible yet".to_string()),
                (Some(g), false) if g.status() == Some("available") => Poll::Ready(Some(g)),
                (Some(g), _) if g.status() == Some("create-failed") => {
                    Poll::Failed("create-failed".into())
                }
                (Some(g), _) => Poll::Pending(g.status().unwrap_or("unknown").to_string()),
            })
        })
        .await
    }

    async fn wait_available(
        &self,
        ctx: &CallContext<'_>,
        id: &str,
    ) -> Result<AwsGroup, ProviderError> {
        self.wait(ctx, id, false).await?.ok_or_else(|| {
            ProviderError::not_found(format!("replication group `{id}` disappeared"))
        })
    }
}

/// The live group as attributes, normalised to the TOML shape.
pub fn to_object(
    g: &AwsGroup,
    cluster: Option<&CacheCluster>,
    live_tags: Vec<(String, String)>,
    prior: &Object,
) -> Object {
    let mut o = Object::new();
    o.insert(
        "replication_group_id".into(),
        opt_string(g.replication_group_id()),
    );
    o.insert("description".into(), opt_string(g.description()));
    o.insert("engine".into(), opt_string(g.engine().or(Some("redis"))));
    o.insert("node_type".into(), opt_string(g.cache_node_type()));
    let groups = g.node_groups();
    o.insert("num_node_groups".into(), Value::Int(groups.len() as i64));
    let replicas = groups
        .first()
        .map(|n| n.node_group_members().len().saturating_sub(1) as i64);
    o.insert(
        "replicas_per_node_group".into(),
        replicas.map(Value::Int).unwrap_or(Value::Null),
    );
    let enabled = |s: Option<&str>| {
        s.map(|s| Value::Bool(s == "enabled" || s == "enabling"))
            .unwrap_or(Value::Null)
    };
    o.insert(
        "automatic_failover".into(),
        enabled(g.automatic_failover().map(|s| s.as_str())),
    );
    o.insert("multi_az".into(), enabled(g.multi_az().map(|s| s.as_str())));
    o.insert(
        "at_rest_encryption".into(),
        opt_bool(g.at_rest_encryption_enabled()),
    );
    o.insert(
        "transit_encryption".into(),
        opt_bool(g.transit_encryption_enabled()),
    );
    o.insert(
        "snapshot_retention_limit".into(),
        opt_int(g.snapshot_retention_limit()),
    );
    o.insert("snapshot_window".into(), opt_string(g.snapshot_window()));
    match cluster {
        Some(c) => {
            let version = match (attrs::string(prior, "engine_version"), c.engine_version()) {
                (Some(want), Some(live)) if live.starts_with(&format!("{want}.")) => {
                    Value::String(want)
                }
                (_, live) => opt_string(live),
            };
            o.insert("engine_version".into(), version);
            o.insert(
                "subnet_group_name".into(),
                opt_string(c.cache_subnet_group_name()),
            );
            o.insert(
                "security_group_ids".into(),
                attrs::ordered_like(
                    prior,
                    "security_group_ids",
                    c.security_groups()
                        .iter()
                        .filter_map(|s| s.security_group_id()),
                ),
            );
            o.insert(
                "parameter_group_name".into(),
                opt_string(
                    c.cache_parameter_group()
                        .and_then(|p| p.cache_parameter_group_name()),
                ),
            );
        }
        None => attrs::keep_inputs(&mut o, prior, &CLUSTER_ATTRS),
    }
    o.insert("tags".into(), tags::value_or_null(live_tags, prior));
    o.insert("arn".into(), opt_string(g.arn()));
    let primary = groups
        .first()
        .and_then(|n| n.primary_endpoint())
        .or(g.configuration_endpoint());
    o.insert(
        "primary_endpoint".into(),
        opt_string(primary.and_then(|e| e.address())),
    );
    o.insert(
        "reader_endpoint".into(),
        opt_string(
            groups
                .first()
                .and_then(|n| n.reader_endpoint())
                .and_then(|e| e.address()),
        ),
    );
    o.insert("port".into(), opt_int(primary.and_then(|e| e.port())));
    o.insert("status".into(), opt_string(g.status()));
    attrs::keep_inputs(&mut o, prior, &["auth_token"]);
    o
}

#[async_trait]
impl Resource for ReplicationGroup {
    fn schema(&self) -> &Schema {
        &self.schema
    }

    /// ElastiCache upgrades the engine in place but cannot downgrade it: a lower
    /// `engine_version` needs a new replication group.
    fn replacement_required(&self, prior: &Object, desired: &Object) -> Vec<String> {
        engine_downgrade(prior, desired)
    }

    async fn create(
        &self,
        ctx: &CallContext<'_>,
        desired: &Object,
    ) -> Result<Created, ProviderError> {
        let d = desired;
        let id = attrs::required(d, "replication_group_id")?;
        self.clients
            .elasticache
            .create_replication_group()
            .replication_group_id(&id)
            .replication_group_description(
                attrs::string(d, "description").unwrap_or_else(|| "Managed by Plinth".into()),
            )
            .engine(attrs::string(d, "engine").unwrap_or_else(|| "redis".into()))
            .set_engine_version(attrs::string(d, "engine_version"))
            .set_cache_node_type(attrs::string(d, "node_type"))
            .set_num_node_groups(attrs::int32(d, "num_node_groups"))
            .set_replicas_per_node_group(attrs::int32(d, "replicas_per_node_group"))
            .set_automatic_failover_enabled(attrs::boolean(d, "automatic_failover"))
            .set_multi_az_enabled(attrs::boolean(d, "multi_az"))
            .set_at_rest_encryption_enabled(attrs::boolean(d, "at_rest_encryption"))
            .set_transit_encryption_enabled(attrs::boolean(d, "transit_encryption"))
            .set_auth_token(attrs::string(d, "auth_token"))
            .set_snapshot_retention_limit(attrs::int32(d, "snapshot_retention_limit"))
            .set_snapshot_window(attrs::string(d, "snapshot_window"))
            .set_cache_subnet_group_name(attrs::string(d, "subnet_group_name"))
            .set_security_group_ids(attrs::strings(d, "security_group_ids"))
            .set_cache_parameter_group_name(attrs::string(d, "parameter_group_name"))
            .set_tags(Some(aws_tags(&tags::desired(d))))
            .send()
            .await
            .map_err(|e| map_sdk("CreateReplicationGroup", e))?;
        let group = self.wait_available(ctx, &id).await?;
        let mut attributes = self.full(&group, d).await?;
        if let Some(token) = d.get("auth_token").filter(|v| !v.is_null()) {
            attributes.insert("auth_token".into(), token.clone().sensitive());
        }
        Ok(Created { id, attributes })
    }

    async fn read(
        &self,
        _ctx: &CallContext<'_>,
        id: &str,
        prior: &Object,
    ) -> Result<Option<Object>, ProviderError> {
        match self.describe(id).await? {
            Some(group) => Ok(Some(self.full(&group, prior).await?)),
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
        let groups = self
            .clients
            .elasticache
            .describe_replication_groups()
            .max_records(100)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| map_sdk("DescribeReplicationGroups", e))?;
        let groups = index_by(groups, AwsGroup::replication_group_id);
        let mut clusters: HashMap<String, CacheCluster> = HashMap::new();
        let mut pages = self
            .clients
            .elasticache
            .describe_cache_clusters()
            .max_records(100)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| map_sdk("DescribeCacheClusters", e))?;
            for c in page.cache_clusters() {
                if let Some(group) = c.replication_group_id() {
                    clusters
                        .entry(group.to_string())
                        .or_insert_with(|| c.clone());
                }
            }
        }
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            out.push(match groups.get(item.id) {
                Some(g) => Some(to_object(
                    g,
                    clusters.get(item.id),
                    self.tags_of(g).await?,
                    item.prior,
                )),
                None => None,
            });
        }
        Ok(out)
    }

    async fn update(
        &self,
        ctx: &CallContext<'_>,
        id: &str,
        prior: &Object,
        desired: &Object,
        changed: &[String],
    ) -> Result<Object, ProviderError> {
        let d = desired;
        let has = |k: &str| changed.iter().any(|c| c == k);
        let pick_str = |k: &str| if has(k) { attrs::string(d, k) } else { None };
        let pick_bool = |k: &str| if has(k) { attrs::boolean(d, k) } else { None };
        let ec = &self.clients.elasticache;
        const MODIFIED: [&str; 11] = [
            "description",
            "engine_version",
            "node_type",
            "automatic_failover",
            "multi_az",
            "transit_encryption",
            "auth_token",
            "snapshot_retention_limit",
            "snapshot_window",
            "security_group_ids",
            "parameter_group_name",
        ];
        if changed.iter().any(|c| c != "tags") {
            // A group that is busy (snapshotting, modifying) refuses modifications.
            self.wait_available(ctx, id).await?;
        }
        if MODIFIED.iter().any(|k| has(k)) {
            let token = pick_str("auth_token");
            ec.modify_replication_group()
                .replication_group_id(id)
                .apply_immediately(true)
                .set_replication_group_description(pick_str("description"))
                .set_engine_version(pick_str("engine_version"))
                .set_cache_node_type(pick_str("node_type"))
                .set_automatic_failover_enabled(pick_bool("automatic_failover"))
                .set_multi_az_enabled(pick_bool("multi_az"))
                .set_transit_encryption_enabled(pick_bool("transit_encryption"))
                .set_auth_token_update_strategy(
                    token
                        .as_ref()
                        .map(|_| aws_sdk_elasticache::types::AuthTokenUpdateStrategyType::Rotate),
                )
                .set_auth_token(token)
                .set_snapshot_retention_limit(if has("snapshot_retention_limit") {
                    attrs::int32(d, "snapshot_retention_limit")
                } else {
                    None
                })
                .set_snapshot_window(pick_str("snapshot_window"))
                .set_security_group_ids(if has("security_group_ids") {
                    attrs::strings(d, "security_group_ids")
                } else {
                    None
                })
                .set_cache_parameter_group_name(pick_str("parameter_group_name"))
                .send()
                .await
                .map_err(|e| map_sdk("ModifyReplicationGroup", e))?;
            self.wait_available(ctx, id).await?;
        }
        if has("replicas_per_node_group") {
            let want = attrs::int32(d, "replicas_per_node_group").unwrap_or(0);
            let have = attrs::int32(prior, "replicas_per_node_group").unwrap_or(0);
            if want > have {
                ec.increase_replica_count()
                    .replication_group_id(id)
                    .apply_immediately(true)
                    .new_replica_count(want)
                    .send()
                    .await
                    .map_err(|e| map_sdk("IncreaseReplicaCount", e))?;
            } else {
                ec.decrease_replica_count()
                    .replication_group_id(id)
                    .apply_immediately(true)
                    .new_replica_count(want)
                    .send()
                    .await
                    .map_err(|e| map_sdk("DecreaseReplicaCount", e))?;
            }
            self.wait_available(ctx, id).await?;
        }
        if has("num_node_groups") {
            ec.modify_replication_group_shard_configuration()
                .replication_group_id(id)
                .apply_immediately(true)
                .set_node_group_count(attrs::int32(d, "num_node_groups"))
                .send()
                .await
                .map_err(|e| map_sdk("ModifyReplicationGroupShardConfiguration", e))?;
            self.wait_available(ctx, id).await?;
        }
        let group = self.wait_available(ctx, id).await?;
        if has("tags") {
            let arn = group.arn().unwrap_or_default();
            sync_cache_tags(&self.clients, arn, &tags::desired(d)).await?;
        }
        let mut attributes = self.full(&group, d).await?;
        attrs::carry(&mut attributes, prior, &["auth_token"]);
        if has("auth_token") {
            attributes.insert(
                "auth_token".into(),
                d.get("auth_token")
                    .cloned()
                    .unwrap_or(Value::Null)
                    .sensitive(),
            );
        }
        Ok(attributes)
    }

    async fn delete(
        &self,
        ctx: &CallContext<'_>,
        id: &str,
        _prior: &Object,
    ) -> Result<(), ProviderError> {
        let result = self
            .clients
            .elasticache
            .delete_replication_group()
            .replication_group_id(id)
            .send()
            .await
            .map_err(|e| map_sdk("DeleteReplicationGroup", e));
        if absent_on(result, &NOT_FOUND)?.is_none() {
            return Ok(());
        }
        self.wait(ctx, id, true).await.map(|_| ())
    }

    async fn import(
        &self,
        ctx: &CallContext<'_>,
        id: &str,
    ) -> Result<Option<Object>, ProviderError> {
        self.read(ctx, import_name(id), &Object::new()).await
    }

    async fn recover(
        &self,
        ctx: &CallContext<'_>,
        desired: &Object,
    ) -> Result<Option<Created>, ProviderError> {
        let id = attrs::required(desired, "replication_group_id")?;
        if self.describe(&id).await?.is_none() {
            return Ok(None);
        }
        let group = self.wait_available(ctx, &id).await?;
        Ok(Some(Created {
            attributes: self.full(&group, desired).await?,
            id,
        }))
    }
}

/// `["engine_version"]` when `desired` asks for a lower engine version than `prior` has.
fn engine_downgrade(prior: &Object, desired: &Object) -> Vec<String> {
    let version = |o: &Object| {
        o.get("engine_version")
            .and_then(Value::as_str)
            .map(version_parts)
    };
    match (version(prior), version(desired)) {
        (Some(before), Some(after)) if after < before => vec!["engine_version".to_string()],
        _ => Vec::new(),
    }
}

/// `"7.1"` → `[7, 1]`, for ordering engine versions.
fn version_parts(text: &str) -> Vec<u64> {
    text.split('.')
        .map(|part| part.trim().parse().unwrap_or(0))
        .collect()
}

#[cfg(test)]
mod replacement_tests {
    use super::*;

    fn with_version(version: &str) -> Object {
        let mut object = Object::new();
        object.insert("engine_version".into(), Value::string(version));
        object
    }

    #[test]
    fn an_engine_downgrade_needs_a_new_group_but_an_upgrade_does_not() {
        assert_eq!(
            engine_downgrade(&with_version("7.1"), &with_version("6.2")),
            vec!["engine_version"]
        );
        assert!(engine_downgrade(&with_version("6.2"), &with_version("7.1")).is_empty());
        assert!(engine_downgrade(&with_version("7.1"), &with_version("7.1")).is_empty());
        assert_eq!(version_parts("7.10"), vec![7, 10]);
        assert!(version_parts("7.10") > version_parts("7.9"));
    }
}
