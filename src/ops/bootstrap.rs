//! `plinth bootstrap`: prepares the state's home and moves a local state into it, so a team
//! can start on a shared backend (S3 or PostgreSQL) from the first apply.
//!
//! 1. [`plinth_state::StateStore::ensure_home`]: the S3 bucket (versioning, default
//!    encryption, public access blocked), the PostgreSQL tables, or the local directory.
//!    Idempotent.
//! 2. When the backend is remote and `<stack>/.plinth/<env>.state.json` exists: copy it into
//!    the remote store if the remote holds no state yet; do nothing when the remote already
//!    holds the same lineage; refuse when the lineages differ (two different states).
//! 3. The CLI then plans and applies the stack like `plinth apply` (a second bootstrap finds no
//!    changes).

use std::sync::Arc;

use miette::{miette, Result};
use plinth_state::{LocalStore, StateError, StateStore};

use super::workspace::Workspace;

/// What happened to a local state during bootstrap.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Migration {
    /// The backend is the local one: nothing to move.
    LocalBackend,
    /// No local state existed.
    NoLocalState,
    /// The local state was copied into the remote store (lineage, serial, resources).
    Copied {
        /// Lineage of the copied state.
        lineage: String,
        /// Its serial.
        serial: u64,
        /// Its resource count.
        resources: usize,
    },
    /// The remote store already holds this lineage (a previous bootstrap copied it).
    AlreadyThere {
        /// The lineage both hold.
        lineage: String,
    },
}

/// What bootstrap did before planning.
#[derive(Clone, Debug)]
pub struct Bootstrapped {
    /// The backend's description.
    pub store: String,
    /// Where the local state is (or would be).
    pub local_state: std::path::PathBuf,
    /// The migration outcome.
    pub migration: Migration,
}

/// Creates the state home and migrates a local state into a remote backend.
pub async fn bootstrap(workspace: &Workspace) -> Result<Bootstrapped> {
    let store = &*workspace.store;
    store.ensure_home().await.map_err(|e| {
        miette!(
            help = "check the `[backend]` settings and the credentials (AWS_* variables for S3, the URL \
                    for PostgreSQL): bootstrap needs permission to create the bucket or tables",
            "preparing {}: {e}",
            store.describe()
        )
    })?;
    let local = local_store(workspace)?;
    let local_state = local.state_path();
    if workspace.stack.backend.kind == "local" {
        return Ok(Bootstrapped {
            store: store.describe(),
            local_state,
            migration: Migration::LocalBackend,
        });
    }
    let Some(document) = local.load().await.map_err(|e| miette!("{e}"))? else {
        return Ok(Bootstrapped {
            store: store.describe(),
            local_state,
            migration: Migration::NoLocalState,
        });
    };
    let lineage = document.lineage.clone();
    let (serial, resources) = (document.serial, document.resources.len());
    let migration = plinth_state::with_lock(store, "bootstrap", |_| async move {
        match store.load().await? {
            Some(remote) if remote.lineage == document.lineage => Ok(Migration::AlreadyThere {
                lineage: remote.lineage,
            }),
            Some(remote) => Err(StateError::Conflict(format!(
                "the local state has lineage {} and the remote one {}: they are different states",
                document.lineage, remote.lineage
            ))),
            None => {
                store.compact(&document).await?;
                Ok(Migration::Copied {
                    lineage,
                    serial,
                    resources,
                })
            }
        }
    })
    .await
    .map_err(|e| match e {
        StateError::Conflict(reason) => miette!(
            help = format!(
                "keep one of them: move `{}` away to keep the remote state, or `plinth state push` the \
                 local file into an empty backend",
                local_state.display()
            ),
            "refusing to migrate: {reason}"
        ),
        other => miette!("{other}"),
    })?;
    Ok(Bootstrapped {
        store: store.describe(),
        local_state,
        migration,
    })
}

/// The local store that `kind = "local"` would use, with the stack's encryption settings (a
/// local state written encrypted is read with the same passphrase).
fn local_store(workspace: &Workspace) -> Result<LocalStore> {
    let settings: plinth_state::BackendSettings = workspace
        .stack
        .backend
        .settings
        .iter()
        .map(|(key, value)| (key.clone(), value.to_plain_json()))
        .collect();
    let mut encryption_only = plinth_state::BackendSettings::new();
    for key in ["passphrase_env", "previous_passphrase_env"] {
        if let Some(value) = settings.get(key) {
            encryption_only.insert(key.to_string(), value.clone());
        }
    }
    // Reading only: an encrypted local state opens when the passphrase is set.
    let codec = plinth_state::encryption(&encryption_only).map_err(|e| miette!("{e}"))?;
    Ok(
        LocalStore::new(&workspace.work_dir, &workspace.stack.environment)
            .with_encryption(Arc::new(codec)),
    )
}
