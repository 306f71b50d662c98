//! # plinth-aws: the AWS side of a Plinth stack
//!
//! Resource types for RDS, ElastiCache, S3, Elastic Load Balancing v2 and EC2 security groups, and
//! [`data_sources`] (VPC, subnets, ACM certificate), implemented with
//! the official AWS SDK for Rust. [`AwsFactory`] is the entry point the engine registers:
//! its [`schemas`](plinth_provider::ProviderFactory::schemas) need no network or credentials,
//! and `configure` builds the SDK clients from `[providers.aws]`:
//!
//! ```toml
//! [providers.aws]
//! region = "us-east-1"              # else AWS_REGION / the profile
//! # endpoint_url = "http://127.0.0.1:5000"   # else AWS_ENDPOINT_URL (S3 goes path-style)
//! # profile = "mita"                # standard credential chain otherwise
//! # requests_per_second = { rds = 12 }       # client-side token bucket per service
//! # poll_interval_ms = 5000  retry_initial_backoff_ms = 1000  max_attempts = 8
//! ```
//!
//! Module map: [`settings`] (the table above) → [`clients`] (SDK config, one rustls+ring HTTP
//! stack, [`rate_limit`]ed per service) → one module per resource type, sharing [`waiter`]
//! (backoff + jitter + timeout + progress), [`errors`] (AWS code kept; throttling/5xx
//! retryable), [`attrs`], [`tags`] and [`batch`] (the batched-refresh glue), plus
//! per-service helpers ([`rds_common`], [`elasticache_common`], [`lb_common`] for
//! listener/rule actions and by-ARN refresh, [`s3_config`] for bucket sub-configurations) and
//! [`subnet_group_core`], the one implementation behind both subnet group types.
//!
//! ```
//! use plinth_provider::ProviderFactory;
//! let schemas = plinth_aws::AwsFactory.schemas();
//! assert!(schemas.iter().any(|s| s.type_name == "aws_rds_instance" && s.stateful));
//! ```

pub mod attrs;
pub mod batch;
pub mod clients;
pub mod data_sources;
pub mod elasticache_common;
pub mod elasticache_replication_group;
pub mod elasticache_subnet_group;
pub mod errors;
pub mod lb;
pub mod lb_common;
pub mod lb_listener;
pub mod lb_listener_rule;
pub mod lb_target_group;
pub mod rate_limit;
pub mod rds_common;
pub mod rds_instance;
pub mod rds_parameter_group;
pub mod rds_restore;
pub mod rds_subnet_group;
pub mod s3_bucket;
pub mod s3_config;
pub mod security_group;
pub mod settings;
pub mod sg_rules;
pub mod subnet_group_core;
pub mod tags;
pub mod waiter;

use std::collections::BTreeMap;
use std::sync::Arc;

use plinth_provider::{
    async_trait, DataSource, Provider, ProviderConfig, ProviderError, ProviderFactory, Resource,
    Schema,
};

pub use clients::Clients;
pub use settings::AwsSettings;

/// The AWS provider factory, registered under the name `aws`.
#[derive(Clone, Copy, Debug, Default)]
pub struct AwsFactory;

/// Every resource type: its schema and how to build it from the clients.
type Constructor = fn(Arc<Clients>) -> Arc<dyn Resource>;

fn catalogue() -> Vec<(Schema, Constructor)> {
    vec![
        (rds_instance::schema(), |c| {
            Arc::new(rds_instance::RdsInstance::new(c))
        }),
        (rds_subnet_group::schema(), |c| {
            Arc::new(rds_subnet_group::RdsSubnetGroup::new(c))
        }),
        (rds_parameter_group::schema(), |c| {
            Arc::new(rds_parameter_group::RdsParameterGroup::new(c))
        }),
        (elasticache_replication_group::schema(), |c| {
            Arc::new(elasticache_replication_group::ReplicationGroup::new(c))
        }),
        (elasticache_subnet_group::schema(), |c| {
            Arc::new(elasticache_subnet_group::CacheSubnetGroup::new(c))
        }),
        (s3_bucket::schema(), |c| {
            Arc::new(s3_bucket::S3Bucket::new(c))
        }),
        (security_group::schema(), |c| {
            Arc::new(security_group::SecurityGroup::new(c))
        }),
        (lb::schema(), |c| Arc::new(lb::LoadBalancer::new(c))),
        (lb_target_group::schema(), |c| {
            Arc::new(lb_target_group::TargetGroup::new(c))
        }),
        (lb_listener::schema(), |c| {
            Arc::new(lb_listener::Listener::new(c))
        }),
        (lb_listener_rule::schema(), |c| {
            Arc::new(lb_listener_rule::ListenerRule::new(c))
        }),
    ]
}

#[async_trait]
impl ProviderFactory for AwsFactory {
    fn name(&self) -> &'static str {
        "aws"
    }

    fn schemas(&self) -> Vec<Schema> {
        catalogue()
            .into_iter()
            .map(|(schema, _)| schema)
            .chain(
                data_sources::catalogue()
                    .into_iter()
                    .map(|(schema, _)| schema),
            )
            .collect()
    }

    async fn configure(&self, config: &ProviderConfig) -> Result<Arc<dyn Provider>, ProviderError> {
        let settings = AwsSettings::from_config(config)?;
        Ok(Arc::new(AwsProvider::new(&settings).await?))
    }
}

/// A configured AWS provider: the clients and one resource implementation per type.
pub struct AwsProvider {
    clients: Arc<Clients>,
    resources: BTreeMap<String, Arc<dyn Resource>>,
    data: BTreeMap<String, Arc<dyn DataSource>>,
}

impl AwsProvider {
    /// Builds the clients and resources (no network I/O yet).
    pub async fn new(settings: &AwsSettings) -> Result<AwsProvider, ProviderError> {
        let clients = Arc::new(Clients::build(settings).await?);
        let resources = catalogue()
            .into_iter()
            .map(|(schema, construct)| (schema.type_name.clone(), construct(clients.clone())))
            .collect();
        let data = data_sources::catalogue()
            .into_iter()
            .map(|(schema, construct)| (schema.type_name.clone(), construct(clients.clone())))
            .collect();
        Ok(AwsProvider {
            clients,
            resources,
            data,
        })
    }

    /// The SDK clients (tests use them to change resources behind Plinth's back).
    pub fn clients(&self) -> &Clients {
        &self.clients
    }
}

#[async_trait]
impl Provider for AwsProvider {
    fn resource(&self, type_name: &str) -> Option<Arc<dyn Resource>> {
        self.resources.get(type_name).cloned()
    }

    fn data_source(&self, type_name: &str) -> Option<Arc<dyn DataSource>> {
        self.data.get(type_name).cloned()
    }
}
