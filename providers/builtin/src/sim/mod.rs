//! The `sim` provider: `sim_resource`, a simulated cloud for tests and benchmarks.
//!
//! Configured by `[providers.sim]` (see [`SimSettings`]). The cloud is a directory
//! (`cloud_dir`) that several processes can share and that outlives them, so a crash test can
//! kill `plinth apply`, then compare [`list_cloud`] with the state. [`tamper`] and
//! [`delete_behind_back`] create drift; [`call_counts`] (with `record_calls = true`) tells how
//! many API calls of each kind were made.
//!
//! ```toml
//! [providers.sim]
//! cloud_dir = "/tmp/sim-cloud"  # default: `sim-cloud` in the work dir (next to the state)
//! rate_limit = 50               # API calls per second, evenly spaced; 0 = unlimited
//! page_size = 100               # resources per batched read call
//! max_concurrency = 8           # returned by `Provider::limits()`
//! latency_scale = 0.1           # multiplies every `*_ms`
//! record_calls = true           # count calls in `<cloud_dir>/calls.log`
//!
//! [sim_resource.web]
//! name = "web-${env}"           # unique in the cloud; changing it replaces
//! size = 2
//! tags = { team = "web" }
//! zone = "eu-1"                 # changing it replaces
//! create_ms = 500               # also update_ms, delete_ms, read_ms
//! fail_create = 1               # the first create call of `web-…` fails...
//! fail_mode = "retryable"       # ...with an error the engine retries
//! ```
//!
//! Failure counters are kept per name in the cloud directory, so they count across runs:
//! with `fail_create = 1` the first `plinth apply` fails and the next one succeeds.

mod api;
mod calls;
mod cloud;
mod inputs;
mod inspect;
mod rate_limit;
mod resource;
mod settings;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use plinth_provider::{
    async_trait, Provider, ProviderConfig, ProviderError, ProviderFactory, ProviderLimits,
    Resource, Schema,
};

pub use calls::{call_counts, reset_call_counts, ApiCall, CallCounts, CALL_LOG};
pub use inputs::{sim_schema, SIM_TYPE};
pub use inspect::{delete_behind_back, list_cloud, tamper};
pub use settings::SimSettings;

use api::SimApi;
use resource::SimResource;

/// The `sim` provider (`[providers.sim]`): offers `sim_resource`.
#[derive(Clone, Copy, Debug, Default)]
pub struct SimFactory;

#[async_trait]
impl ProviderFactory for SimFactory {
    fn name(&self) -> &'static str {
        "sim"
    }

    fn schemas(&self) -> Vec<Schema> {
        vec![sim_schema()]
    }

    /// Reads the settings and opens (creating) the cloud directory.
    async fn configure(&self, config: &ProviderConfig) -> Result<Arc<dyn Provider>, ProviderError> {
        let settings = SimSettings::from_config(config)?;
        let api = SimApi::open(&settings).map_err(|e| {
            ProviderError::config(format!("`[providers.sim]` cannot open its cloud: {e}"))
        })?;
        Ok(Arc::new(SimProvider {
            resource: Arc::new(SimResource::new(Arc::new(api))),
            limits: ProviderLimits {
                max_concurrency: settings.max_concurrency,
            },
        }))
    }
}

/// The configured `sim` provider.
struct SimProvider {
    resource: Arc<SimResource>,
    limits: ProviderLimits,
}

impl Provider for SimProvider {
    fn resource(&self, type_name: &str) -> Option<Arc<dyn Resource>> {
        (type_name == SIM_TYPE).then(|| self.resource.clone() as Arc<dyn Resource>)
    }

    fn limits(&self) -> ProviderLimits {
        self.limits
    }
}
