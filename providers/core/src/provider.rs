//! The provider contract: a [`ProviderFactory`] describes a provider's resource types without
//! any I/O and configures a [`Provider`]; a provider hands out one [`Resource`] per type.
//! Resources do CRUD; the engine decides what to call.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::error::ProviderError;
use crate::schema::Schema;
use crate::value::{Object, Value};

/// What the engine passes when configuring a provider.
#[derive(Clone, Debug, Default)]
pub struct ProviderConfig {
    /// The resolved `[providers.<name>]` table of the stack.
    pub settings: Object,
    /// The environment being planned or applied (`staging`, `production`, ...).
    pub environment: String,
    /// A directory the provider may use for its own files (next to the state).
    pub work_dir: PathBuf,
}

impl ProviderConfig {
    /// A string setting.
    pub fn string(&self, key: &str) -> Option<String> {
        self.settings
            .get(key)
            .and_then(Value::as_str)
            .map(str::to_string)
    }
}

/// Limits the engine honours when calling a provider.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ProviderLimits {
    /// At most this many provider calls in flight at once (None: only `--parallelism`).
    pub max_concurrency: Option<usize>,
}

/// Describes a provider (schemas, no I/O) and configures it.
#[async_trait]
pub trait ProviderFactory: Send + Sync {
    /// Provider name as used in `[providers.<name>]`, e.g. `aws`.
    fn name(&self) -> &'static str;

    /// Schemas of every resource type this provider offers.
    fn schemas(&self) -> Vec<Schema>;

    /// Builds a ready provider from its configuration. Called lazily: only when the engine
    /// needs to talk to the provider's API (refresh or apply), never for `validate`.
    async fn configure(&self, config: &ProviderConfig) -> Result<Arc<dyn Provider>, ProviderError>;
}

/// A configured provider.
#[async_trait]
pub trait Provider: Send + Sync {
    /// The implementation of one resource type.
    fn resource(&self, type_name: &str) -> Option<Arc<dyn Resource>>;

    /// The implementation of one data source, by its schema's type name (`data.aws_vpc`).
    /// The default: the provider offers none.
    fn data_source(&self, type_name: &str) -> Option<Arc<dyn DataSource>> {
        let _ = type_name;
        None
    }

    /// Limits for the engine's scheduler.
    fn limits(&self) -> ProviderLimits {
        ProviderLimits::default()
    }

    /// Checks run once per plan before any resource is planned: preconditions such as a
    /// minimum cluster version. `Err` fails the plan; the returned notes are shown in it
    /// (e.g. "cluster unreachable: client-side diff only").
    async fn preflight(&self, preconditions: &Object) -> Result<Vec<String>, ProviderError> {
        let _ = preconditions;
        Ok(Vec::new())
    }
}

/// Reports progress of long operations (waits) to the apply display.
pub trait Progress: Send + Sync {
    /// A short status line, e.g. `waiting for status available (now: creating)`.
    fn update(&self, message: &str);
}

/// A [`Progress`] that drops everything.
pub struct NoProgress;

impl Progress for NoProgress {
    fn update(&self, _message: &str) {}
}

/// Per-call context.
pub struct CallContext<'a> {
    /// Address of the resource in the stack, e.g. `aws_rds_instance.replica[0]`.
    pub address: &'a str,
    /// An idempotency token recorded in the intent journal before the call; a provider that
    /// can tag or name a resource with it can find it again after a crash ([`Resource::recover`]).
    pub token: &'a str,
    /// Where to report progress.
    pub progress: &'a dyn Progress,
    /// How long a create/update/delete may wait for the resource to settle.
    pub timeout: Option<Duration>,
}

/// What a create returns.
#[derive(Clone, Debug, PartialEq)]
pub struct Created {
    /// The cloud's id of the new resource (what read/update/delete take).
    pub id: String,
    /// All attributes as the cloud reports them, computed ones included.
    pub attributes: Object,
}

/// One resource to read in a batched refresh.
#[derive(Clone, Debug)]
pub struct ReadItem<'a> {
    /// Cloud id.
    pub id: &'a str,
    /// Attributes recorded in state (sensitive ones redacted).
    pub prior: &'a Object,
}

/// The implementation of one resource type. Only `schema`, `create`, `read`, `update` and
/// `delete` are required; batching, import, crash recovery and plan refinement have defaults.
#[async_trait]
pub trait Resource: Send + Sync {
    /// The type's schema (same as the factory's).
    fn schema(&self) -> &Schema;

    /// Whether `create`/`update` receive the desired inputs with secret leaves still wrapped
    /// in [`Value::Sensitive`] instead of revealed. A resource that copies inputs into objects
    /// it manages (e.g. a release keeping env values carrying a secret out of plain manifests
    /// and out of its recorded history) needs to know which leaves are secret; it must reveal
    /// them itself. Default: revealed.
    fn keeps_secret_markers(&self) -> bool {
        false
    }

    /// Creates the resource from the desired inputs (secrets revealed unless
    /// [`Resource::keeps_secret_markers`], no unknowns).
    async fn create(
        &self,
        ctx: &CallContext<'_>,
        desired: &Object,
    ) -> Result<Created, ProviderError>;

    /// Reads the live resource; `None` when it no longer exists.
    async fn read(
        &self,
        ctx: &CallContext<'_>,
        id: &str,
        prior: &Object,
    ) -> Result<Option<Object>, ProviderError>;

    /// Whether [`Resource::read_many`] is a real batch (one API call per page).
    fn batches_reads(&self) -> bool {
        false
    }

    /// Reads many resources of this type, ideally in few API calls. The result has one entry
    /// per item, in order. The default reads them one by one.
    async fn read_many(
        &self,
        ctx: &CallContext<'_>,
        items: &[ReadItem<'_>],
    ) -> Result<Vec<Option<Object>>, ProviderError> {
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            out.push(self.read(ctx, item.id, item.prior).await?);
        }
        Ok(out)
    }

    /// Updates the resource in place. `changed` names the input attributes that differ.
    async fn update(
        &self,
        ctx: &CallContext<'_>,
        id: &str,
        prior: &Object,
        desired: &Object,
        changed: &[String],
    ) -> Result<Object, ProviderError>;

    /// Deletes the resource and waits until it is gone. Deleting what is already gone is Ok.
    async fn delete(
        &self,
        ctx: &CallContext<'_>,
        id: &str,
        prior: &Object,
    ) -> Result<(), ProviderError>;

    /// Adopts an existing resource by its cloud id (`plinth import`). Defaults to `read`.
    async fn import(
        &self,
        ctx: &CallContext<'_>,
        id: &str,
    ) -> Result<Option<Object>, ProviderError> {
        self.read(ctx, id, &BTreeMap::new()).await
    }

    /// After a crash between "intent recorded" and "result recorded", finds the resource a
    /// create may have made, by its token or natural key. `None`: it does not exist.
    /// `Err(Unsupported)`: the provider cannot tell (the engine then warns and creates again).
    async fn recover(
        &self,
        ctx: &CallContext<'_>,
        desired: &Object,
    ) -> Result<Option<Created>, ProviderError> {
        let _ = desired;
        Err(ProviderError::unsupported(format!(
            "{} cannot look up a resource by its creation token",
            ctx.address
        )))
    }

    /// Replacement rules beyond the schema's `force_new` (like Terraform's `CustomizeDiff`
    /// with `ForceNew`): given the prior attributes and the desired inputs of a resource that
    /// would be updated, the input attributes whose change cannot be made in place — e.g. an
    /// engine downgrade where only upgrades are in place. No I/O. The default: none.
    fn replacement_required(&self, prior: &Object, desired: &Object) -> Vec<String> {
        let _ = (prior, desired);
        Vec::new()
    }

    /// For an in-place update of `changed` input attributes: how the cloud interrupts the
    /// resource to make it (a reboot, a failover), in words for the plan, or `None` when it
    /// stays available. The plan tags such an update `DOWNTIME` — an update, never a
    /// replacement. No I/O. The default: none.
    fn update_interruption(
        &self,
        prior: &Object,
        desired: &Object,
        changed: &[String],
    ) -> Option<String> {
        let _ = (prior, desired, changed);
        None
    }

    /// Optional plan refinement: given the prior state (None on create) and the planned
    /// attributes (inputs as desired, computed ones `Unknown` or carried from `prior`), fills in
    /// what the provider can predict — e.g. server defaults from a dry run. Must not change the
    /// live resource. The default changes nothing.
    async fn refine_plan(
        &self,
        ctx: &CallContext<'_>,
        prior: Option<&Object>,
        planned: &mut Object,
    ) -> Result<(), ProviderError> {
        let _ = (ctx, prior, planned);
        Ok(())
    }
}

/// The schema type name of a data source: `data.` and the source's name (`data.aws_vpc`), as
/// stacks write `[data.aws_vpc.main]` and `${data.aws_vpc.main.id}`.
pub const DATA_PREFIX: &str = "data.";

/// One lookup of a data source: the block's address and its arguments (known, secrets
/// revealed).
#[derive(Clone, Debug)]
pub struct DataRequest<'a> {
    /// `data.aws_vpc.main`.
    pub address: &'a str,
    /// The arguments as configured.
    pub arguments: &'a Object,
}

/// Reads what a stack does not own (a VPC, subnets, a certificate), during plan. Never
/// writes to the cloud.
#[async_trait]
pub trait DataSource: Send + Sync {
    /// The source's schema (`data.TYPE`): arguments are inputs, results are computed.
    fn schema(&self) -> &Schema;

    /// Reads every request, ideally in one batch of API calls for all of them. The result has
    /// one entry per request, in order: the attributes (arguments included), or why the
    /// lookup failed (no match, more than one match, an API error).
    async fn read(&self, requests: &[DataRequest<'_>]) -> Vec<Result<Object, ProviderError>>;
}
