//! Why an operation of an apply failed: the provider's error kind and code are kept beside
//! the (secret-free) message, so callers can tell a refused API request from a timeout or a
//! state write that failed without parsing text.

use std::fmt;

use plinth_provider::{ErrorKind, ProviderError};

/// Where an operation failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FailedAt {
    /// The provider call failed; its kind and API code as the provider reported them.
    Provider {
        /// The kind (refused, retryable, timeout, ...).
        kind: ErrorKind,
        /// The API's error code, e.g. `DBInstanceAlreadyExists`.
        code: Option<String>,
    },
    /// The provider could not be configured for the call.
    Configuration,
    /// What happened could not be recorded: a state or journal write failed.
    Recording,
    /// The plan, the configuration and the state disagree (a plan applied against a
    /// configuration that changed, an attribute unknown at apply time).
    Inconsistent,
}

/// The error of one operation: where it failed and a message safe to print (secrets
/// scrubbed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpError {
    /// Where it failed.
    pub at: FailedAt,
    /// The message.
    pub message: String,
}

impl OpError {
    /// A failed provider call; `message` is the provider's text, already scrubbed.
    pub fn provider(error: &ProviderError, message: String) -> Self {
        OpError {
            at: FailedAt::Provider {
                kind: error.kind,
                code: error.code.clone(),
            },
            message,
        }
    }

    /// A provider that could not be configured.
    pub fn configuration(message: impl Into<String>) -> Self {
        OpError {
            at: FailedAt::Configuration,
            message: message.into(),
        }
    }

    /// A state or journal write that failed.
    pub fn recording(message: impl Into<String>) -> Self {
        OpError {
            at: FailedAt::Recording,
            message: message.into(),
        }
    }

    /// Plan, configuration and state disagree.
    pub fn inconsistent(message: impl Into<String>) -> Self {
        OpError {
            at: FailedAt::Inconsistent,
            message: message.into(),
        }
    }

    /// The same error with more said after it (where it failed stays the first cause).
    pub fn also(mut self, more: impl fmt::Display) -> Self {
        self.message = format!("{}; {more}", self.message);
        self
    }

    /// The provider's API code, when the provider call failed with one.
    pub fn code(&self) -> Option<&str> {
        match &self.at {
            FailedAt::Provider { code, .. } => code.as_deref(),
            _ => None,
        }
    }
}

impl fmt::Display for OpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for OpError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_provider_error_keeps_its_kind_and_code_through_more_context() {
        let error = ProviderError::api("AlreadyExists", "lb-2 exists");
        let op = OpError::provider(&error, "[sim] AlreadyExists: lb-2 exists".into())
            .also("recording this failure failed too: disk full");
        assert_eq!(op.code(), Some("AlreadyExists"));
        assert!(matches!(
            op.at,
            FailedAt::Provider {
                kind: ErrorKind::Api,
                ..
            }
        ));
        assert_eq!(
            op.to_string(),
            "[sim] AlreadyExists: lb-2 exists; recording this failure failed too: disk full"
        );
        assert_eq!(OpError::recording("x").code(), None);
    }
}
