//! Retries of provider calls that failed with a retryable error (throttling, 5xx), with
//! exponential backoff and jitter. Retries happen at one layer: an error the provider
//! already retried ([`ProviderError::already_retried`], e.g. every AWS SDK error, which the
//! SDK retried up to its `max_attempts`) is returned at once.

use std::future::Future;
use std::time::Duration;

use plinth_provider::ProviderError;

/// Attempts per call (the first try included).
pub const ATTEMPTS: u32 = 4;

/// Runs `call` until it succeeds, fails permanently (or after the provider's own retries),
/// or [`ATTEMPTS`] run out.
pub async fn with_retries<T, F, Fut>(mut call: F) -> Result<T, ProviderError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, ProviderError>>,
{
    let base = base_delay();
    let mut attempt = 0;
    loop {
        attempt += 1;
        match call().await {
            Err(e) if e.engine_may_retry() && attempt < ATTEMPTS => {
                let backoff = base * 2u32.pow(attempt - 1);
                let jitter = backoff.mul_f64(rand::random::<f64>() * 0.5);
                tracing::debug!(attempt, error = %e, "retrying a provider call after {:?}", backoff + jitter);
                tokio::time::sleep(backoff + jitter).await;
            }
            other => return other,
        }
    }
}

/// `PLINTH_RETRY_BASE_MS` (default 500 ms); tests shrink it.
fn base_delay() -> Duration {
    std::env::var("PLINTH_RETRY_BASE_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map(Duration::from_millis)
        .unwrap_or(Duration::from_millis(500))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test]
    async fn retries_retryable_errors_then_succeeds() {
        std::env::set_var("PLINTH_RETRY_BASE_MS", "1");
        let calls = AtomicU32::new(0);
        let result = with_retries(|| async {
            if calls.fetch_add(1, Ordering::SeqCst) < 2 {
                Err(ProviderError::retryable("Throttling", "slow down"))
            } else {
                Ok(7)
            }
        })
        .await;
        assert_eq!(result, Ok(7));
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn errors_the_provider_already_retried_are_not_retried_again() {
        // Regression (issue 14): the engine's 4 attempts wrapped the AWS SDK's 8, so one
        // throttled call was tried up to 32 times.
        std::env::set_var("PLINTH_RETRY_BASE_MS", "1");
        let calls = AtomicU32::new(0);
        let result: Result<(), _> = with_retries(|| async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(ProviderError::retryable("Throttling", "slow down").after_retries())
        })
        .await;
        assert!(result.unwrap_err().is_retryable());
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn permanent_errors_are_not_retried() {
        let calls = AtomicU32::new(0);
        let result: Result<(), _> = with_retries(|| async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(ProviderError::api("Invalid", "no"))
        })
        .await;
        assert!(result.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
}
