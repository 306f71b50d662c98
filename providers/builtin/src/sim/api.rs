//! The simulated API endpoint: every call passes the rate limit, is counted, runs its storage
//! work off the async runtime, and then waits out the resource's simulated latency.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use plinth_provider::{CallContext, ProviderError};

use crate::error::SimError;
use crate::sim::calls::ApiCall;
use crate::sim::cloud::Cloud;
use crate::sim::rate_limit::RateLimiter;
use crate::sim::settings::SimSettings;

/// What every `sim_resource` of one configured provider shares.
#[derive(Debug)]
pub struct SimApi {
    cloud: Arc<Cloud>,
    limiter: Option<RateLimiter>,
    latency_scale: f64,
    page_size: usize,
    in_flight: AtomicUsize,
}

/// One resource operation under way; counted in the call log until dropped.
#[derive(Debug)]
pub struct InFlight<'a>(&'a AtomicUsize);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl SimApi {
    /// Opens the cloud named by the settings.
    pub fn open(settings: &SimSettings) -> Result<Self, SimError> {
        Ok(SimApi {
            cloud: Arc::new(Cloud::open(&settings.cloud_dir, settings.record_calls)?),
            limiter: RateLimiter::new(settings.rate_limit),
            latency_scale: settings.latency_scale,
            page_size: settings.page_size.max(1),
            in_flight: AtomicUsize::new(0),
        })
    }

    /// Resources per batched read call.
    pub fn page_size(&self) -> usize {
        self.page_size
    }

    /// Marks the start of a resource operation (its calls and waits) until the guard drops.
    pub fn enter(&self) -> InFlight<'_> {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        InFlight(&self.in_flight)
    }

    /// Makes one API call: waits for a rate-limit slot, counts the call, then runs `work`
    /// against the cloud on the blocking thread pool.
    pub async fn call<R, F>(
        &self,
        call: ApiCall,
        subject: String,
        work: F,
    ) -> Result<R, ProviderError>
    where
        F: FnOnce(&Cloud) -> Result<R, SimError> + Send + 'static,
        R: Send + 'static,
    {
        if let Some(limiter) = &self.limiter {
            limiter.acquire().await;
        }
        let cloud = self.cloud.clone();
        let in_flight = self.in_flight.load(Ordering::SeqCst);
        let joined = tokio::task::spawn_blocking(move || {
            cloud.record(call, &subject, in_flight)?;
            work(&cloud)
        })
        .await;
        match joined {
            Ok(result) => result.map_err(ProviderError::from),
            Err(e) => Err(SimError::Task(e.to_string()).into()),
        }
    }

    /// Waits `milliseconds` × `latency_scale` for the resource to settle, reporting progress as
    /// `doing`. Zero costs nothing (no timer). A wait longer than the call's timeout sleeps for
    /// the timeout and fails with a timeout error, as a real wait would.
    pub async fn settle(
        &self,
        ctx: &CallContext<'_>,
        doing: &str,
        milliseconds: i64,
    ) -> Result<(), ProviderError> {
        if milliseconds <= 0 || self.latency_scale <= 0.0 {
            return Ok(());
        }
        let delay = Duration::try_from_secs_f64(milliseconds as f64 * self.latency_scale / 1000.0)
            .map_err(|_| {
                ProviderError::api(
                    "InvalidParameterValue",
                    format!(
                        "{}: a latency of {milliseconds} ms × {} is out of range",
                        ctx.address, self.latency_scale
                    ),
                )
            })?;
        if delay.is_zero() {
            return Ok(());
        }
        ctx.progress
            .update(&format!("{doing} (simulated {} ms)", delay.as_millis()));
        match ctx.timeout {
            Some(timeout) if timeout < delay => {
                tokio::time::sleep(timeout).await;
                Err(ProviderError::timeout(format!(
                    "{}: still {doing} after {} ms (simulated latency {} ms)",
                    ctx.address,
                    timeout.as_millis(),
                    delay.as_millis()
                )))
            }
            _ => {
                tokio::time::sleep(delay).await;
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::time::Instant;

    use plinth_provider::{ErrorKind, NoProgress, Progress};

    use super::*;

    struct Recorder(Mutex<Vec<String>>);

    impl Progress for Recorder {
        fn update(&self, message: &str) {
            self.0.lock().unwrap().push(message.to_string());
        }
    }

    fn api(dir: &std::path::Path, latency_scale: f64) -> SimApi {
        let settings = SimSettings {
            cloud_dir: dir.to_path_buf(),
            rate_limit: 0.0,
            page_size: 0,
            max_concurrency: None,
            latency_scale,
            record_calls: false,
        };
        SimApi::open(&settings).unwrap()
    }

    #[tokio::test]
    async fn latency_is_scaled_and_reported() {
        let dir = tempfile::tempdir().unwrap();
        let api = api(dir.path(), 0.5);
        assert_eq!(api.page_size(), 1);
        let progress = Recorder(Mutex::new(Vec::new()));
        let ctx = CallContext {
            address: "sim_resource.a",
            token: "t",
            progress: &progress,
            timeout: None,
        };
        let started = Instant::now();
        api.settle(&ctx, "creating", 200).await.unwrap();
        assert!(started.elapsed() >= Duration::from_millis(100));
        assert_eq!(
            progress.0.lock().unwrap().as_slice(),
            ["creating (simulated 100 ms)"]
        );
        api.settle(&ctx, "creating", 0).await.unwrap();
        assert_eq!(
            progress.0.lock().unwrap().len(),
            1,
            "zero latency reports and waits nothing"
        );
    }

    #[tokio::test]
    async fn a_wait_longer_than_the_timeout_times_out() {
        let dir = tempfile::tempdir().unwrap();
        let api = api(dir.path(), 1.0);
        let ctx = CallContext {
            address: "sim_resource.a",
            token: "t",
            progress: &NoProgress,
            timeout: Some(Duration::from_millis(20)),
        };
        let err = api.settle(&ctx, "deleting", 10_000).await.unwrap_err();
        assert_eq!(err.kind, ErrorKind::Timeout);
        assert!(
            err.message.contains("still deleting after 20 ms"),
            "{}",
            err.message
        );
    }
}
