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
    /// The provider already retried this call as far as it should be (e.g. the AWS SDK's
    /// retry policy gave up after `max_attempts`): the engine must not retry it again, or
    /// retries multiply (the engine's 4 attempts around the SDK's 8 made 32).
    pub already_retried: bool,
}

impl ProviderError {
    /// A refused API request with its code.
    pub fn api(code: impl Into<String>, message: impl Into<String>) -> Self {
        ProviderError {
            kind: ErrorKind::Api,
            code: Some(code.into()),
            message: message.into(),
            already_retried: false,
        }
    }

    /// A transient failure the engine may retry.
    pub fn retryable(code: impl Into<String>, message: impl Into<String>) -> Self {
        ProviderError {
            kind: ErrorKind::Retryable,
            code: Some(code.into()),
            message: message.into(),
            already_retried: false,
        }
    }

    /// The resource is gone.
    pub fn not_found(message: impl Into<String>) -> Self {
        ProviderError {
            kind: ErrorKind::NotFound,
            code: None,
            message: message.into(),
            already_retried: false,
        }
    }

    /// A wait ran out of time.
    pub fn timeout(message: impl Into<String>) -> Self {
        ProviderError {
            kind: ErrorKind::Timeout,
            code: None,
            message: message.into(),
            already_retried: false,
        }
    }

    /// Bad configuration.
    pub fn config(message: impl Into<String>) -> Self {
        ProviderError {
            kind: ErrorKind::Config,
            code: None,
            message: message.into(),
            already_retried: false,
        }
    }

    /// Not supported.
    pub fn unsupported(message: impl Into<String>) -> Self {
        ProviderError {
            kind: ErrorKind::Unsupported,
            code: None,
            message: message.into(),
            already_retried: false,
        }
    }

    /// True when a retry may succeed.
    pub fn is_retryable(&self) -> bool {
        self.kind == ErrorKind::Retryable
    }

    /// Marks the error as already retried by the provider (its own client retried the call),
    /// so the engine does not retry it once more.
    pub fn after_retries(mut self) -> Self {
        self.already_retried = true;
        self
    }

    /// True when the engine should retry: a retryable error the provider did not already
    /// retry. Retries happen at one layer only.
    pub fn engine_may_retry(&self) -> bool {
        self.is_retryable() && !self.already_retried
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
