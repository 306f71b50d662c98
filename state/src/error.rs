//! Errors of the state crate.

use crate::store::LockInfo;

/// What can go wrong reading, writing or locking state.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// Another process holds the lock.
    #[error("the state is locked: {}", .0.describe())]
    Locked(Box<LockInfo>),
    /// The stored state changed under us (lost race, or a different lineage).
    #[error("the stored state changed since it was read: {0}")]
    Conflict(String),
    /// The stored document is not valid state.
    #[error("the state at {location} is unreadable: {reason}")]
    Corrupt {
        /// Where.
        location: String,
        /// Why.
        reason: String,
    },
    /// Decryption failed: wrong key or tampered data.
    #[error("cannot decrypt the state at {location}: {reason}")]
    Decrypt {
        /// Where.
        location: String,
        /// Why.
        reason: String,
    },
    /// No lock with that id.
    #[error("no lock with id `{0}`")]
    NoSuchLock(String),
    /// A file-system error.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The error.
        source: std::io::Error,
    },
    /// A state edit (`state mv`, `state rm`, ...) cannot be applied: an unknown address, a
    /// target that exists, no state yet.
    #[error("{0}")]
    Edit(String),
    /// The backend settings are wrong or incomplete (unknown kind, missing key, bad value).
    #[error("state backend configuration: {0}")]
    Config(String),
    /// The backend endpoint does not offer a guarantee Plinth relies on.
    #[error("the state backend at {endpoint} cannot be used safely: {reason}")]
    Unsafe {
        /// The endpoint.
        endpoint: String,
        /// What it failed to do.
        reason: String,
    },
    /// A remote backend error.
    #[error("{0}")]
    Backend(String),
    /// The state found belongs to another stack or environment.
    #[error(
        "the state at {location} belongs to {found}, not to {expected}: it was not used (a wrong \
         `--state-dir`/`PLINTH_STATE_DIR`, a copied file, or a backend setting shared by two stacks)"
    )]
    Foreign {
        /// Where it was read.
        location: String,
        /// `stack `b` environment `dev``.
        found: String,
        /// What this run works on.
        expected: String,
    },
    /// No state document, but signs that one existed: refusing to start from nothing.
    #[error(
        "no state document at {location}, but {evidence}: the state looks deleted or lost, and \
         starting from an empty state would create everything again beside what exists. {restore}"
    )]
    Missing {
        /// Where it was expected.
        location: String,
        /// What shows a state existed.
        evidence: String,
        /// How to restore it, or to start empty deliberately.
        restore: String,
    },
}

impl StateError {
    /// Wraps an I/O error with what was being done.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        StateError::Io {
            context: context.into(),
            source,
        }
    }
}
