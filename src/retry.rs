//! Retries of provider calls that failed with a retryable error (throttling, 5xx), with
//! exponential backoff and jitter.

use std::future::Future;
use std::time::Duration;

use plinth_provider::ProviderError;

/// Attempts per call (the first try included).
pub const ATTEMPTS: u32 = 4;

/// Runs `call` until it succeeds, fails permanently, or [`ATTEMPTS`] run out.
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
            Err(e) if e.is_retryable() && attempt < ATTEMPTS => {
                let backoff = base * 2u32.pow(attempt - 1);
                let jitter = backoff.mul_f64(rand::random::<f64>() * 0.5);
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
