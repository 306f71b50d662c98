//! # plinth-kubernetes: the Kubernetes provider
//!
//! Applies objects with server-side apply (field manager `plinth`), plans with server-side
//! dry runs when the cluster answers, waits for rollouts and Jobs, and releases applications
//! atomically with their revision history kept in Plinth's state.
//!
//! - [`connection`]: kubeconfig / context / in-cluster; configuring never needs a cluster.
//! - [`objects`]: any object by apiVersion/kind through discovery (`DynamicObject`).
//! - [`wait`]: Deployment rollouts, Job completion, deletions, with deadlines and progress.
//! - Resource types: [`k8s_object`], [`k8s_namespace`], [`k8s_secret`], [`k8s_config_map`],
//!   [`k8s_network_policy`] (through [`object_resource`]) and [`app_release`]
//!   ([`render`] → [`rollout`]).
//!
//! ```
//! use plinth_provider::{Object, ProviderFactory, Value};
//! let factory = plinth_kubernetes::KubernetesFactory;
//! assert!(factory.schemas().iter().any(|s| s.type_name == "app_release"));
//! let mut release = Object::new();
//! release.insert("name".into(), Value::string("backend"));
//! release.insert("namespace".into(), Value::string("mita-production"));
//! release.insert("image".into(), Value::string("ghcr.io/mita-finance/backend:v1.0.0"));
//! let objects = plinth_kubernetes::render_release(&release).unwrap();
//! assert!(objects.iter().any(|o| o["kind"] == "Deployment"));
//! ```

pub mod app_release;
pub mod connection;
pub mod error;
pub mod k8s_config_map;
pub mod k8s_namespace;
pub mod k8s_network_policy;
pub mod k8s_object;
pub mod k8s_secret;
pub mod manifest;
pub mod object_resource;
pub mod objects;
pub mod release_spec;
pub mod render;
pub mod rollout;
pub mod typed;
pub mod wait;

use std::path::PathBuf;
use std::sync::Arc;

use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, ListParams};
use plinth_provider::{
    async_trait, CallContext, Object, Provider, ProviderConfig, ProviderError, ProviderFactory,
    Resource, Schema, Value,
};

pub use app_release::AppRelease;
pub use connection::Connection;
pub use error::KubeError;
pub use render::{render_release, render_release_yaml};

use object_resource::{ObjectKind, ObjectResource};

/// The provider factory registered as `kubernetes`.
pub struct KubernetesFactory;

#[async_trait]
impl ProviderFactory for KubernetesFactory {
    fn name(&self) -> &'static str {
        "kubernetes"
    }

    fn schemas(&self) -> Vec<Schema> {
        vec![
            k8s_object::K8sObject.schema(),
            k8s_namespace::kind().schema(),
            k8s_secret::kind().schema(),
            k8s_config_map::kind().schema(),
            k8s_network_policy::kind().schema(),
            app_release::schema(),
        ]
    }

    async fn configure(&self, config: &ProviderConfig) -> Result<Arc<dyn Provider>, ProviderError> {
        let connection = Connection::from_settings(config).await?;
        Ok(Arc::new(KubernetesProvider::new(connection)))
    }
}

/// A configured provider (possibly without a reachable cluster).
pub struct KubernetesProvider {
    objects: Arc<objects::Objects>,
}

impl KubernetesProvider {
    /// A provider over a connection.
    pub fn new(connection: Connection) -> KubernetesProvider {
        KubernetesProvider {
            objects: Arc::new(objects::Objects::new(Arc::new(connection))),
        }
    }

    /// A provider for an explicit kubeconfig file and context (tests, tools).
    pub async fn from_kubeconfig(path: PathBuf, context: Option<String>) -> KubernetesProvider {
        KubernetesProvider::new(Connection::from_kubeconfig(path, context).await)
    }

    /// The `app_release` implementation (for `plinth rollback`).
    pub fn app_release(&self) -> AppRelease {
        AppRelease::new(self.objects.clone())
    }
}

#[async_trait]
impl Provider for KubernetesProvider {
    fn resource(&self, type_name: &str) -> Option<Arc<dyn Resource>> {
        let objects = self.objects.clone();
        Some(match type_name {
            "k8s_object" => Arc::new(ObjectResource::new(k8s_object::K8sObject, objects)),
            "k8s_namespace" => Arc::new(ObjectResource::new(k8s_namespace::kind(), objects)),
            "k8s_secret" => Arc::new(ObjectResource::new(k8s_secret::kind(), objects)),
            "k8s_config_map" => Arc::new(ObjectResource::new(k8s_config_map::kind(), objects)),
            "k8s_network_policy" => {
                Arc::new(ObjectResource::new(k8s_network_policy::kind(), objects))
            }
            "app_release" => Arc::new(AppRelease::new(objects)),
            _ => return None,
        })
    }

    /// Checks `min_version` (e.g. `"1.25"`) and `min_ready_nodes` (e.g. `3`). Without a
    /// cluster the plan goes on with a note: client-side diff only.
    async fn preflight(&self, preconditions: &Object) -> Result<Vec<String>, ProviderError> {
        let client = match self.objects.connection().client().await {
            Ok(client) => client,
            Err(error) => {
                let mut notes = vec![format!("{error}: client-side diff only")];
                if !preconditions.is_empty() {
                    notes.push("cluster preconditions were not checked".to_string());
                }
                return Ok(notes);
            }
        };
        let mut notes = Vec::new();
        if let Some(wanted) = preconditions.get("min_version").and_then(Value::as_str) {
            let info = client.apiserver_version().await.map_err(KubeError::from)?;
            let have = (leading_number(&info.major), leading_number(&info.minor));
            let want = parse_version(wanted).ok_or_else(|| {
                ProviderError::config(format!(
                    "`min_version` must look like \"1.25\", not `{wanted}`"
                ))
            })?;
            if have < want {
                return Err(ProviderError::api(
                    "PreconditionFailed",
                    format!(
                        "cluster version {}.{} is older than the required {wanted}",
                        have.0, have.1
                    ),
                ));
            }
            notes.push(format!(
                "cluster version {}.{} (needs ≥ {wanted})",
                have.0, have.1
            ));
        }
        if let Some(wanted) = preconditions.get("min_ready_nodes").and_then(Value::as_i64) {
            let nodes: Api<Node> = Api::all(client);
            let list = nodes
                .list(&ListParams::default())
                .await
                .map_err(KubeError::from)?;
            let ready = list
                .items
                .iter()
                .filter(|node| {
                    node.status
                        .as_ref()
                        .and_then(|s| s.conditions.as_ref())
                        .is_some_and(|conditions| {
                            conditions
                                .iter()
                                .any(|c| c.type_ == "Ready" && c.status == "True")
                        })
                })
                .count() as i64;
            if ready < wanted {
                return Err(ProviderError::api(
                    "PreconditionFailed",
                    format!(
                        "the cluster has {ready} Ready node(s); at least {wanted} are required"
                    ),
                ));
            }
            notes.push(format!("{ready} Ready nodes (needs ≥ {wanted})"));
        }
        Ok(notes)
    }
}

fn leading_number(text: &str) -> u32 {
    text.chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap_or(0)
}

fn parse_version(text: &str) -> Option<(u32, u32)> {
    let mut parts = text.trim_start_matches('v').split('.');
    Some((
        parts.next()?.parse().ok()?,
        parts.next().unwrap_or("0").parse().ok()?,
    ))
}

/// `plinth rollback <release> [REVISION]`: configures the provider from `config` and
/// re-applies revision `to` (default: the previous one) of the release whose recorded
/// attributes are `current`. Returns the attributes to record (a new revision).
pub async fn rollback(
    config: &ProviderConfig,
    ctx: &CallContext<'_>,
    current: &Object,
    to: Option<i64>,
) -> Result<Object, ProviderError> {
    let provider = KubernetesProvider::new(Connection::from_settings(config).await?);
    provider.app_release().rollback(ctx, current, to).await
}
