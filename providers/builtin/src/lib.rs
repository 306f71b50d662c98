//! # plinth-builtin: providers that need no cloud
//!
//! Two provider factories:
//!
//! - [`BuiltinFactory`] (`[providers.builtin]`, no settings) offers `plinth_data`, a value kept
//!   in state like Terraform's `terraform_data`: `input` is echoed as `output` after apply,
//!   `triggers_replace` forces a replacement. No I/O at all.
//! - [`SimFactory`] (`[providers.sim]`) offers `sim_resource`, a simulated cloud resource for
//!   tests and benchmarks: latency, rate limits, batched reads, failure injection, unique
//!   names and idempotent creates, in a cloud directory that outlives processes. The
//!   functions [`list_cloud`], [`tamper`], [`delete_behind_back`] and [`call_counts`] let tests
//!   look at and meddle with that cloud.
//!
//! ```
//! use plinth_builtin::{list_cloud, tamper, BuiltinFactory, SimFactory};
//! use plinth_provider::{CallContext, NoProgress, Object, ProviderConfig, ProviderFactory, Value};
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let dir = tempfile::tempdir().unwrap();
//! let config = ProviderConfig { work_dir: dir.path().to_path_buf(), ..Default::default() };
//! let ctx = CallContext { address: "sim_resource.web", token: "token-1", progress: &NoProgress, timeout: None };
//!
//! // plinth_data echoes its input.
//! let data = BuiltinFactory.configure(&config).await?.resource("plinth_data").unwrap();
//! let desired = Object::from([("input".to_string(), Value::string("hello"))]);
//! assert_eq!(data.create(&ctx, &desired).await?.attributes["output"], Value::string("hello"));
//!
//! // sim_resource lives in `<work_dir>/sim-cloud` and can be changed behind Plinth's back.
//! let sim = SimFactory.configure(&config).await?.resource("sim_resource").unwrap();
//! let desired = Object::from([("name".to_string(), Value::string("web")), ("size".to_string(), Value::Int(2))]);
//! let created = sim.create(&ctx, &desired).await?;
//! let cloud_dir = dir.path().join("sim-cloud");
//! assert_eq!(list_cloud(&cloud_dir).unwrap(), vec![(created.id.clone(), "web".into(), "token-1".into())]);
//! tamper(&cloud_dir, "web", "size", 3).unwrap();
//! let live = sim.read(&ctx, &created.id, &created.attributes).await?.unwrap();
//! assert_eq!(live["size"], Value::Int(3));
//! # Ok::<(), plinth_provider::ProviderError>(())
//! # }).unwrap();
//! ```

mod data;
mod error;
mod sim;

use std::sync::Arc;

use plinth_provider::ProviderFactory;

pub use data::{data_schema, BuiltinFactory, DATA_TYPE};
pub use error::SimError;
pub use sim::{
    call_counts, delete_behind_back, list_cloud, reset_call_counts, sim_schema, tamper, ApiCall,
    CallCounts, SimFactory, SimSettings, CALL_LOG, SIM_TYPE,
};

/// Both factories of this crate, for the engine's provider registry.
pub fn factories() -> Vec<Arc<dyn ProviderFactory>> {
    vec![Arc::new(BuiltinFactory), Arc::new(SimFactory)]
}
