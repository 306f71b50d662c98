//! The one error type providers return.

use std::fmt;

/// What kind of failure a provider call met.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The API refused the request (validation, conflict, quota...). Not retried.
    Api,
    /// Throttled or a server-side fault: the engine may retry.
    Retryable,
    /// The resource does not exist.
    NotFound,
    /// Waiting for the resource to settle took longer than its timeout.
    Timeout,
    /// Bad provider configuration or credentials.
    Config,
    /// The operation is not supported by this resource type.
    Unsupported,
}

/// A provider failure, carrying the cloud's error code where there is one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProviderError {
    /// The kind.
    pub kind: ErrorKind,
    /// The API's error code, e.g. `DBInstanceAlreadyExists`.
    pub code: Option<String>,
    /// What happened, in the API's or provider's words.
    pub message: String,
}

impl ProviderError {
    /// A refused API request with its code.
    pub fn api(code: impl Into<String>, message: impl Into<String>) -> Self {
        ProviderError {
            kind: ErrorKind::Api,
            code: Some(code.into()),
            message: message.into(),
        }
    }

    /// A transient failure the engine may retry.
    pub fn retryable(code: impl Into<String>, message: impl Into<String>) -> Self {
        ProviderError {
            kind: ErrorKind::Retryable,
            code: Some(code.into()),
            message: message.into(),
        }
    }

    /// The resource is gone.
    pub fn not_found(message: impl Into<String>) -> Self {
        ProviderError {
            kind: ErrorKind::NotFound,
            code: None,
            message: message.into(),
        }
    }

    /// A wait ran out of time.
    pub fn timeout(message: impl Into<String>) -> Self {
        ProviderError {
            kind: ErrorKind::Timeout,
            code: None,
            message: message.into(),
        }
    }

    /// Bad configuration.
    pub fn config(message: impl Into<String>) -> Self {
        ProviderError {
            kind: ErrorKind::Config,
            code: None,
            message: message.into(),
        }
    }

    /// Not supported.
    pub fn unsupported(message: impl Into<String>) -> Self {
        ProviderError {
            kind: ErrorKind::Unsupported,
            code: None,
            message: message.into(),
        }
    }

    /// True when a retry may succeed.
    pub fn is_retryable(&self) -> bool {
        self.kind == ErrorKind::Retryable
    }
}

impl fmt::Display for ProviderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.code {
            Some(code) => write!(f, "{code}: {}", self.message),
            None => write!(f, "{}", self.message),
        }
    }
}

impl std::error::Error for ProviderError {}
