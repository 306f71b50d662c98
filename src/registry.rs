//! The provider registry: which factory serves which resource type, the schemas for the
//! loader, and lazily configured providers (a provider is configured only when the engine has
//! to talk to its API, so `validate` and a plan of a new environment need no network).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use plinth_provider::{Provider, ProviderConfig, ProviderError, ProviderFactory, Resource, Schema};
use tokio::sync::OnceCell;

use crate::config::Stack;

/// Every provider factory known to this build.
pub fn builtin_factories() -> Vec<Arc<dyn ProviderFactory>> {
    vec![
        Arc::new(plinth_builtin::BuiltinFactory),
        Arc::new(plinth_builtin::SimFactory),
        Arc::new(plinth_aws::AwsFactory),
        Arc::new(plinth_kubernetes::KubernetesFactory),
    ]
}

/// Resource type → factory, plus the configured providers of one run.
pub struct Registry {
    factories: Vec<Arc<dyn ProviderFactory>>,
    by_type: BTreeMap<String, usize>,
    schemas: BTreeMap<String, Schema>,
    configured: Vec<OnceCell<Arc<dyn Provider>>>,
}

impl Registry {
    /// A registry of the given factories.
    pub fn new(factories: Vec<Arc<dyn ProviderFactory>>) -> Self {
        let mut by_type = BTreeMap::new();
        let mut schemas = BTreeMap::new();
        for (index, factory) in factories.iter().enumerate() {
            for schema in factory.schemas() {
                by_type.insert(schema.type_name.clone(), index);
                schemas.insert(schema.type_name.clone(), schema);
            }
        }
        // The engine's own lookup: another stack's outputs, from its backend.
        let outputs = crate::stack_outputs::schema();
        schemas.insert(outputs.type_name.clone(), outputs);
        let configured = factories.iter().map(|_| OnceCell::new()).collect();
        Registry {
            factories,
            by_type,
            schemas,
            configured,
        }
    }

    /// The default registry of this build.
    pub fn default_registry() -> Self {
        Self::new(builtin_factories())
    }

    /// Every resource schema by type name.
    pub fn schemas(&self) -> &BTreeMap<String, Schema> {
        &self.schemas
    }

    /// The schema of a type.
    pub fn schema(&self, type_name: &str) -> Option<&Schema> {
        self.schemas.get(type_name)
    }

    /// The provider name serving a type (`aws`, `kubernetes`, ...).
    pub fn provider_name(&self, type_name: &str) -> Option<&'static str> {
        self.by_type
            .get(type_name)
            .map(|&i| self.factories[i].name())
    }

    /// Names of the providers used by a set of types.
    pub fn provider_names<'a>(&self, types: impl Iterator<Item = &'a str>) -> Vec<&'static str> {
        let mut names: Vec<&'static str> = types.filter_map(|t| self.provider_name(t)).collect();
        names.sort_unstable();
        names.dedup();
        names
    }

    /// The configured provider serving `type_name`, configuring it on first use.
    pub async fn provider_for(
        &self,
        type_name: &str,
        stack: &Stack,
        work_dir: &std::path::Path,
    ) -> Result<Arc<dyn Provider>, ProviderError> {
        let index = *self.by_type.get(type_name).ok_or_else(|| {
            ProviderError::config(format!("no provider offers resource type `{type_name}`"))
        })?;
        self.configured[index]
            .get_or_try_init(|| async {
                let factory = &self.factories[index];
                let settings = stack
                    .providers
                    .get(factory.name())
                    .map(|p| p.settings.clone())
                    .unwrap_or_default();
                let config = ProviderConfig {
                    settings,
                    environment: stack.environment.clone(),
                    work_dir: PathBuf::from(work_dir),
                };
                factory.configure(&config).await
            })
            .await
            .cloned()
    }

    /// The resource implementation of a type.
    pub async fn resource_for(
        &self,
        type_name: &str,
        stack: &Stack,
        work_dir: &std::path::Path,
    ) -> Result<Arc<dyn Resource>, ProviderError> {
        let provider = self.provider_for(type_name, stack, work_dir).await?;
        provider.resource(type_name).ok_or_else(|| {
            ProviderError::config(format!("the provider does not implement `{type_name}`"))
        })
    }

    /// The data source implementation of a `data.TYPE` schema name.
    pub async fn data_source_for(
        &self,
        type_name: &str,
        stack: &Stack,
        work_dir: &std::path::Path,
    ) -> Result<Arc<dyn plinth_provider::DataSource>, ProviderError> {
        if type_name == crate::stack_outputs::TYPE {
            return Ok(Arc::new(crate::stack_outputs::StackOutputs::new(
                &stack.dir,
                &stack.environment,
                &stack.backend,
            )));
        }
        let provider = self.provider_for(type_name, stack, work_dir).await?;
        provider.data_source(type_name).ok_or_else(|| {
            ProviderError::config(format!("the provider does not implement `{type_name}`"))
        })
    }

    /// Providers configured so far (for limits and preflight).
    pub fn configured_provider(&self, name: &str) -> Option<Arc<dyn Provider>> {
        let index = self.factories.iter().position(|f| f.name() == name)?;
        self.configured[index].get().cloned()
    }
}
