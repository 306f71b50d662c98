//! Opening a stack for one environment: load and validate the configuration, build the
//! dependency graph, pick the state store from `[backend]`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use miette::{miette, IntoDiagnostic, Result};
use plinth_state::{LockInfo, LockRequest, StateError, StateStore};

use crate::config::{self, LoadOptions, Stack};
use crate::graph::DependencyGraph;
use crate::registry::Registry;

/// A loaded stack with everything needed to plan or apply it.
pub struct Workspace {
    /// The stack.
    pub stack: Stack,
    /// Its dependency graph.
    pub graph: DependencyGraph,
    /// Providers.
    pub registry: Registry,
    /// The state store.
    pub store: Arc<dyn StateStore>,
    /// Directory for provider files (the local state directory, or `.plinth/` in the stack).
    pub work_dir: PathBuf,
}

/// How to open a workspace.
#[derive(Clone, Debug, Default)]
pub struct OpenOptions {
    /// Loader options (environment, variables).
    pub load: LoadOptions,
    /// Override of the local state directory (`--state-dir` / `PLINTH_STATE_DIR`).
    pub state_dir: Option<PathBuf>,
}

impl Workspace {
    /// Loads the stack in `dir` and opens its state store.
    pub fn open(dir: &Path, options: &OpenOptions) -> Result<Workspace> {
        let registry = Registry::default_registry();
        let stack =
            config::load(dir, &options.load, registry.schemas()).map_err(miette::Report::new)?;
        let graph = DependencyGraph::build(&stack).map_err(|e| miette::Report::new(*e))?;
        let local_dir = match (
            &options.state_dir,
            stack.backend.settings.get("path").and_then(|v| v.as_str()),
        ) {
            (Some(dir), _) => dir.clone(),
            (None, Some(path)) => stack.dir.join(path),
            (None, None) => stack.dir.join(".plinth"),
        };
        // `[backend]` → the store (`local`, `s3`, `postgres`, optionally encrypted). The local
        // directory was resolved above (`--state-dir` wins over `path`), so `path` is dropped.
        let mut settings: plinth_state::BackendSettings = stack
            .backend
            .settings
            .iter()
            .map(|(key, value)| (key.clone(), value.to_plain_json()))
            .collect();
        if stack.backend.kind == "local" {
            settings.remove("path");
        }
        let store: Arc<dyn StateStore> = plinth_state::open_store(
            &stack.backend.kind,
            &settings,
            &stack.name,
            &stack.environment,
            &local_dir,
        )
        .map(Arc::from)
        .map_err(|e| {
            miette!(
                help = "see the `[backend]` section of the README: `kind` is `local`, `s3` or \
                        `postgres`; `encrypt = true` needs `PLINTH_STATE_PASSPHRASE`",
                "{e}"
            )
        })?;
        if crate::logs::enabled() {
            let secrets = crate::secrets::Secrets::resolve(&stack, &Default::default());
            crate::logs::scrub(secrets.known_plaintexts());
        }
        tracing::info!(
            stack = %stack.name,
            environment = %stack.environment,
            resources = stack.resources.len(),
            backend = %stack.backend.kind,
            "opened the stack in {}",
            dir.display()
        );
        Ok(Workspace {
            stack,
            graph,
            registry,
            store,
            work_dir: local_dir,
        })
    }

    /// Takes the state lock, waiting up to `timeout` for another holder to finish; `notice`
    /// hears once about a holder it waits for.
    pub async fn lock(
        &self,
        operation: &str,
        timeout: Duration,
        notice: &dyn Fn(&str),
    ) -> Result<LockInfo> {
        let request = LockRequest {
            operation: operation.to_string(),
            lease_seconds: lease_seconds(),
        };
        let start = Instant::now();
        let mut waiting_for = None;
        loop {
            match self.store.lock(&request).await {
                Ok(lock) => return Ok(lock),
                Err(StateError::Locked(holder)) if start.elapsed() < timeout => {
                    if waiting_for.as_ref() != Some(&holder.id) {
                        notice(&format!(
                            "Waiting up to {}s for the state lock: {}",
                            timeout.as_secs(),
                            holder.describe()
                        ));
                        waiting_for = Some(holder.id.clone());
                    }
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                Err(StateError::Locked(holder)) => {
                    return Err(miette!(
                        help = format!(
                            "wait for it to finish, pass `--lock-timeout 5m` to wait, or if its holder is dead run \
                             `plinth force-unlock {}`",
                            holder.id
                        ),
                        "{} is locked: {}",
                        self.store.describe(),
                        holder.describe()
                    ))
                }
                Err(e) => return Err(e).into_diagnostic(),
            }
        }
    }
}

/// Lock lease in seconds (`PLINTH_LOCK_LEASE_SECONDS`, default 120); an apply renews it every
/// third ([`plinth_state::spawn_renewal`]).
pub fn lease_seconds() -> u64 {
    std::env::var("PLINTH_LOCK_LEASE_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(120)
}
