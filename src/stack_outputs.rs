//! `[data.plinth_stack.NAME]`: the outputs of another stack's environment, read from its
//! backend during plan (Terraform's `terraform_remote_state`), read-only: no lock is taken
//! and nothing is written. A network stack's subnet ids feed an app stack.
//!
//! ```toml
//! [data.plinth_stack.network]
//! stack       = "network"                                    # the other stack's `[stack] name`
//! environment = "${env}"                                     # default: this environment
//! backend     = { kind = "local", path = "../network/.plinth" } # default: this stack's backend
//! ```
//!
//! Outputs the other stack marks sensitive are kept there as digests only: they arrive here
//! as sensitive values whose text is not available.

use std::path::{Path, PathBuf};

use plinth_provider::{
    async_trait, object_from_json, Attribute, DataRequest, DataSource, Object, ProviderError,
    Schema, Value, ValueType,
};
use plinth_state::BackendSettings;

use crate::config::BackendConfig;

/// The schema name of the lookup.
pub const TYPE: &str = "data.plinth_stack";

/// The schema of `data.plinth_stack`.
pub fn schema() -> Schema {
    use Attribute as A;
    use ValueType as T;
    Schema::new(TYPE)
        .describe("The outputs of another stack's environment, read from its backend.")
        .attribute(A::required("stack", T::String).describe("The other stack's name."))
        .attribute(
            A::optional("environment", T::String).describe("Default: this stack's environment."),
        )
        .attribute(A::optional("backend", T::Map(Box::new(T::Any))).describe(
            "Where its state is, as a `[backend]` table (`kind`, ...); default: this stack's backend. A local `path` is relative to this stack.",
        ))
        .attribute(A::computed("outputs", T::Any).describe("Its outputs by name."))
        .attribute(A::computed("serial", T::Int).describe("The serial of its state."))
}

/// The lookup for one stack: its directory, environment and backend are the defaults.
pub struct StackOutputs {
    schema: Schema,
    dir: PathBuf,
    environment: String,
    backend: BackendConfig,
}

impl StackOutputs {
    /// The lookup as the stack in `dir` (environment, backend) makes it.
    pub fn new(dir: &Path, environment: &str, backend: &BackendConfig) -> Self {
        StackOutputs {
            schema: schema(),
            dir: dir.to_path_buf(),
            environment: environment.to_string(),
            backend: backend.clone(),
        }
    }

    /// The backend kind, its settings and the local directory a request asks for.
    fn backend_of(
        &self,
        arguments: &Object,
    ) -> Result<(String, BackendSettings, PathBuf), ProviderError> {
        let mut settings: BackendSettings = match arguments.get("backend") {
            Some(Value::Map(table)) => table
                .iter()
                .map(|(k, v)| (k.clone(), v.to_plain_json()))
                .collect(),
            _ => self
                .backend
                .settings
                .iter()
                .map(|(k, v)| (k.clone(), v.to_plain_json()))
                .chain(std::iter::once((
                    "kind".to_string(),
                    serde_json::Value::String(self.backend.kind.clone()),
                )))
                .collect(),
        };
        let kind = settings
            .remove("kind")
            .and_then(|k| k.as_str().map(str::to_string))
            .unwrap_or_else(|| "local".to_string());
        let path = settings.remove("path");
        if kind == "local" && path.is_none() {
            return Err(ProviderError::config(
                "a local backend needs `path`, the other stack's state directory: `backend = { kind = \"local\", path = \"../network/.plinth\" }`",
            ));
        }
        let local = self
            .dir
            .join(path.as_ref().and_then(|p| p.as_str()).unwrap_or(".plinth"));
        Ok((kind, settings, local))
    }

    async fn read_one(&self, request: &DataRequest<'_>) -> Result<Object, ProviderError> {
        let arguments = request.arguments;
        let stack = arguments
            .get("stack")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                ProviderError::config(format!("{}: `stack` is required", request.address))
            })?;
        let environment = arguments
            .get("environment")
            .and_then(Value::as_str)
            .unwrap_or(&self.environment)
            .to_string();
        let (kind, settings, local) = self.backend_of(arguments)?;
        let store = plinth_state::open_store(&kind, &settings, stack, &environment, &local)
            .map_err(|e| ProviderError::config(format!("{}: {e}", request.address)))?;
        // A read without the lock: the other stack's last committed state.
        let document = store
            .load()
            .await
            .map_err(|e| ProviderError::api("StateUnreadable", format!("{}: {e}", request.address)))?
            .ok_or_else(|| {
                ProviderError::not_found(format!(
                    "{}: stack `{stack}` has no state for environment `{environment}` in {}; apply it first",
                    request.address,
                    store.describe()
                ))
            })?;
        let outputs: serde_json::Map<String, serde_json::Value> =
            document.outputs.into_iter().collect();
        let mut out = arguments.clone();
        out.insert("outputs".into(), Value::Map(object_from_json(&outputs)));
        out.insert(
            "serial".into(),
            Value::Int(i64::try_from(document.serial).unwrap_or(i64::MAX)),
        );
        Ok(out)
    }
}

#[async_trait]
impl DataSource for StackOutputs {
    fn schema(&self) -> &Schema {
        &self.schema
    }

    async fn read(&self, requests: &[DataRequest<'_>]) -> Vec<Result<Object, ProviderError>> {
        let mut out = Vec::with_capacity(requests.len());
        for request in requests {
            out.push(self.read_one(request).await);
        }
        out
    }
}
