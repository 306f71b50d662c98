//! The crate's error type and its mapping onto [`ProviderError`].

use plinth_provider::ProviderError;

/// Everything that can go wrong talking to a cluster or rendering a release.
#[derive(Debug, thiserror::Error)]
pub enum KubeError {
    /// No usable cluster configuration or the API server did not answer.
    #[error("cluster unreachable: {0}")]
    Unreachable(String),
    /// The API server refused a request (`reason` is the Kubernetes reason, e.g. `Conflict`).
    #[error("{reason}: {message}")]
    Api {
        /// HTTP status code.
        code: u16,
        /// Kubernetes reason, e.g. `NotFound`, `Conflict`, `Invalid`.
        reason: String,
        /// The server's message.
        message: String,
    },
    /// A transport-level failure (connection reset, TLS, timeout on the wire).
    #[error("transport: {0}")]
    Transport(String),
    /// The user's attributes or manifest are not valid.
    #[error("invalid configuration: {0}")]
    Invalid(String),
    /// A workload did not become ready or a Job failed.
    #[error("{0}")]
    Failed(String),
    /// A wait ran past its deadline.
    #[error("timed out: {0}")]
    Timeout(String),
}

impl KubeError {
    /// Wraps a kube client error.
    pub fn from_kube(error: kube::Error) -> KubeError {
        match error {
            kube::Error::Api(status) => KubeError::Api {
                code: status.code,
                reason: if status.reason.is_empty() {
                    format!("HTTP {}", status.code)
                } else {
                    status.reason.clone()
                },
                message: status.message.clone(),
            },
            other => KubeError::Transport(other.to_string()),
        }
    }

    /// True for a 404.
    pub fn is_not_found(&self) -> bool {
        matches!(self, KubeError::Api { code: 404, .. })
    }
}

impl From<kube::Error> for KubeError {
    fn from(error: kube::Error) -> Self {
        KubeError::from_kube(error)
    }
}

impl From<KubeError> for ProviderError {
    fn from(error: KubeError) -> Self {
        match &error {
            KubeError::Unreachable(_) => ProviderError::config(error.to_string()),
            KubeError::Api {
                code: 404, message, ..
            } => ProviderError::not_found(message.clone()),
            KubeError::Api {
                code,
                reason,
                message,
            } if *code == 429 || *code >= 500 => {
                ProviderError::retryable(reason.clone(), message.clone())
            }
            KubeError::Api {
                reason, message, ..
            } => ProviderError::api(reason.clone(), message.clone()),
            KubeError::Transport(message) => ProviderError::retryable("Transport", message.clone()),
            KubeError::Invalid(message) => ProviderError::config(message.clone()),
            KubeError::Failed(message) => ProviderError::api("ReleaseFailed", message.clone()),
            KubeError::Timeout(message) => ProviderError::timeout(message.clone()),
        }
    }
}
