//! The crate's error type: failures of the simulated cloud's storage.

use std::path::PathBuf;

use plinth_provider::ProviderError;

/// What can go wrong while reading or writing the simulated cloud on disk.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// A file or directory of the cloud could not be read or written.
    #[error("simulated cloud: cannot access `{path}`: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// A resource record or counter file is not valid JSON (edited by hand or truncated).
    #[error("simulated cloud: `{path}` is corrupt: {source}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// The parser's error.
        #[source]
        source: serde_json::Error,
    },
    /// A test helper named a resource that the cloud does not hold.
    #[error("simulated cloud: no resource named `{0}`")]
    NoSuchName(String),
    /// A blocking storage task panicked or was cancelled.
    #[error("simulated cloud: storage task failed: {0}")]
    Task(String),
}

impl SimError {
    /// Wraps an I/O error with the path it concerns.
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        SimError::Io {
            path: path.into(),
            source,
        }
    }
}

impl From<SimError> for ProviderError {
    /// Storage failures look like a server-side fault of the cloud: an API error the engine
    /// reports, with the code `InternalFailure`.
    fn from(error: SimError) -> Self {
        ProviderError::api("InternalFailure", error.to_string())
    }
}
