//! # plinth-state: what Plinth remembers
//!
//! - [`StateDocument`]: format version, lineage (fixed at creation), serial (+1 per
//!   compaction), resources by address, outputs, generated secrets.
//! - [`JournalEntry`]: the incremental record written before and after every provider call,
//!   so the cost of persisting grows with the change, not with the state, and a crash leaves
//!   an intent the next run can resolve.
//! - [`StateStore`]: the backend trait (load, append, compact, lock with a lease).
//! - [`LocalStore`]: the default backend, files under the stack's `.plinth/` directory.
//! - `S3Store` (feature `s3`): one object per stack + environment, lock object by
//!   conditional write, state writes with `If-Match`.
//! - `PostgresStore` (feature `postgres`): a row per stack + environment, a journal table,
//!   `pg_try_advisory_lock` per state on a dedicated session, lock metadata in `plinth_locks`.
//! - [`Encryption`]: optional encryption at rest applied by every backend.
//! - [`spawn_renewal`]: keeps a lock's lease alive during a long apply.
//! - [`open_store`]: builds the store a stack's `[backend]` table asks for.
//!
//! ## What the engine and the CLI call
//!
//! | Use | Function |
//! |---|---|
//! | open the `[backend]` store | [`open_store`]`(kind, settings, stack, env, stack_dir/.plinth)` (async) |
//! | plan / apply | [`StateStore::load`], [`StateStore::lock`], [`spawn_renewal`], [`StateStore::append`], [`StateStore::compact`], [`StateStore::unlock`] |
//! | `plinth lock list` | [`StateStore::locks`] ([`LockInfo::describe`] for one line each) |
//! | `plinth force-unlock ID` | [`StateStore::force_unlock`] |
//! | `plinth state list / show / pull` | [`StateStore::load`] |
//! | `plinth state mv / rm` | [`edit`] with [`move_resource`] / [`remove_resources`] |
//! | `plinth state push FILE [--force]` | [`push`] |
//! | `plinth bootstrap` | [`StateStore::ensure_home`] (S3 bucket / PostgreSQL tables / local dir) |
//!
//! ```no_run
//! # async fn demo() -> Result<(), plinth_state::StateError> {
//! use plinth_state::{LocalStore, StateStore};
//! let store = LocalStore::new("stacks/mita/.plinth", "production");
//! let state = store.load().await?;
//! println!("{} resources", state.map(|s| s.resources.len()).unwrap_or(0));
//! # Ok(()) }
//! ```

mod document;
mod edit;
mod encryption;
mod error;
mod identity;
mod lease;
mod local;
mod open;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "postgres")]
mod postgres_lock;
#[cfg(feature = "s3")]
mod s3;
#[cfg(feature = "s3")]
mod s3_home;
mod session;
mod store;

pub use document::{
    now_unix, random_id, DeposedObject, Intent, JournalEntry, ResourceRecord, ResourceStatus,
    StateDocument, FORMAT_VERSION,
};
pub use edit::{edit, move_resource, push, remove_resources, with_lock, EDIT_LEASE_SECONDS};
pub use encryption::{Encryption, Passphrase, PASSPHRASE_ENV, PREVIOUS_PASSPHRASE_ENV};
pub use error::StateError;
pub use identity::{IdentifiedStore, START_EMPTY_ENV};
pub use lease::{spawn_renewal, Renewal, RenewalStatus};
pub use local::{parse_document, write_atomic, LocalStore};
pub use open::{encryption, open_backend, open_store, BackendSettings};
#[cfg(feature = "postgres")]
pub use postgres::{advisory_key, PostgresSettings, PostgresStore};
#[cfg(feature = "s3")]
pub use s3::{S3Settings, S3Store};
pub use session::Session;
pub use store::{ci_run_url, format_unix, owner_name, Backup, LockInfo, LockRequest, StateStore};

/// Runs a future of the (synchronous underneath) local store to completion: a trivial
/// executor is enough for the unit tests.
#[cfg(test)]
pub(crate) fn block_on<F: std::future::Future>(future: F) -> F::Output {
    let waker = std::task::Waker::noop();
    let mut cx = std::task::Context::from_waker(waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let std::task::Poll::Ready(v) = future.as_mut().poll(&mut cx) {
            return v;
        }
    }
}
