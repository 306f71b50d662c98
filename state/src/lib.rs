//! # plinth-state: what Plinth remembers
//!
//! - [`StateDocument`]: format version, lineage (fixed at creation), serial (+1 per
//!   compaction), resources by address, outputs, generated secrets.
//! - [`JournalEntry`]: the incremental record written before and after every provider call,
//!   so the cost of persisting grows with the change, not with the state, and a crash leaves
//!   an intent the next run can resolve.
//! - [`StateStore`]: the backend trait (load, append, compact, lock with a lease).
//! - [`LocalStore`]: the default backend, files under the stack's `.plinth/` directory.
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
mod error;
mod local;
mod store;

pub use document::{
    now_unix, random_id, Intent, JournalEntry, ResourceRecord, ResourceStatus, StateDocument,
    FORMAT_VERSION,
};
pub use error::StateError;
pub use local::{parse_document, write_atomic, LocalStore};
pub use store::{ci_run_url, format_unix, owner_name, LockInfo, LockRequest, StateStore};
