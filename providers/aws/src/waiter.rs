//! Waiting for a resource to settle: polls with exponential backoff and jitter until the
//! resource reaches the target status or is gone, within the call's timeout, reporting
//! progress on the way.

use std::future::Future;
use std::time::{Duration, Instant};

use plinth_provider::{CallContext, ProviderError};
use rand::Rng;

/// The longest pause between two polls.
const MAX_INTERVAL: Duration = Duration::from_secs(30);

/// What one poll found.
#[derive(Debug)]
pub enum Poll<T> {
    /// Settled: stop waiting.
    Ready(T),
    /// Still changing; the current status for the progress line.
    Pending(String),
    /// Reached a status it will not leave (e.g. `failed`).
    Failed(String),
}

/// How to wait.
#[derive(Clone, Copy, Debug)]
pub struct Wait<'a> {
    /// What is waited on, e.g. `RDS instance mita-db`.
    pub what: &'a str,
    /// What it waits for, e.g. `status available`.
    pub target: &'a str,
    /// The first interval (grows ×1.5 per poll, ±20% jitter, at most 30 s).
    pub interval: Duration,
    /// Used when the call context carries no timeout.
    pub default_timeout: Duration,
}

/// Polls `poll` until it is ready, failed or the timeout passes. Retryable errors (throttling,
/// 5xx) while polling count as "still pending".
pub async fn wait_for<T, F, Fut>(
    ctx: &CallContext<'_>,
    wait: Wait<'_>,
    mut poll: F,
) -> Result<T, ProviderError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Poll<T>, ProviderError>>,
{
    let timeout = ctx.timeout.unwrap_or(wait.default_timeout);
    let start = Instant::now();
    let mut interval = wait.interval;
    loop {
        let status = match poll().await {
            Ok(Poll::Ready(value)) => return Ok(value),
            Ok(Poll::Pending(status)) => status,
            Ok(Poll::Failed(status)) => {
                return Err(ProviderError::api(
                    "ResourceFailed",
                    format!(
                        "{} reached status `{status}` while waiting for {}",
                        wait.what, wait.target
                    ),
                ))
            }
            Err(e) if e.is_retryable() => format!("retrying after {e}"),
            Err(e) => return Err(e),
        };
        let elapsed = start.elapsed();
        if elapsed >= timeout {
            return Err(ProviderError::timeout(format!(
                "{} did not reach {} within {}s (last status: {status}); raise the resource's timeout or check the console",
                wait.what,
                wait.target,
                timeout.as_secs()
            )));
        }
        ctx.progress.update(&format!(
            "waiting for {} of {} (now: {status}, {}s elapsed)",
            wait.target,
            wait.what,
            elapsed.as_secs()
        ));
        let jitter = rand::rng().random_range(0.8..1.2);
        let pause = interval
            .mul_f64(jitter)
            .min(timeout.saturating_sub(elapsed));
        tokio::time::sleep(pause).await;
        interval = interval.mul_f64(1.5).min(MAX_INTERVAL);
    }
}

/// A timeout of `minutes` minutes (Terraform's defaults are quoted in minutes).
pub fn minutes(minutes: u64) -> Duration {
    Duration::from_secs(minutes * 60)
}

#[cfg(test)]
mod tests {
    use super::*;
    use plinth_provider::NoProgress;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn ctx(timeout: Option<Duration>) -> CallContext<'static> {
        CallContext {
            address: "test",
            token: "t",
            progress: &NoProgress,
            timeout,
        }
    }

    #[tokio::test]
    async fn polls_until_ready_and_survives_retryable_errors() {
        let calls = AtomicU32::new(0);
        let wait = Wait {
            what: "x",
            target: "available",
            interval: Duration::from_millis(1),
            default_timeout: minutes(1),
        };
        let out = wait_for(&ctx(None), wait, || async {
            match calls.fetch_add(1, Ordering::SeqCst) {
                0 => Ok(Poll::Pending("creating".to_string())),
                1 => Err(ProviderError::retryable("Throttling", "slow down")),
                _ => Ok(Poll::Ready(7)),
            }
        })
        .await
        .unwrap();
        assert_eq!(out, 7);
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn times_out_with_the_last_status() {
        let wait = Wait {
            what: "db",
            target: "available",
            interval: Duration::from_millis(5),
            default_timeout: minutes(1),
        };
        let err = wait_for(&ctx(Some(Duration::from_millis(30))), wait, || async {
            Ok::<Poll<()>, ProviderError>(Poll::Pending("modifying".to_string()))
        })
        .await
        .unwrap_err();
        assert_eq!(err.kind, plinth_provider::ErrorKind::Timeout);
        assert!(err.message.contains("modifying"), "{err}");
    }
}
