//! A client-side token bucket per service, applied under the SDK (every attempt, retries
//! included, takes a token) so a big refresh stays under AWS's API rate limits.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_smithy_runtime_api::client::http::{
    http_client_fn, HttpClient, HttpConnector, HttpConnectorFuture, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use tokio::sync::Mutex;

/// A token bucket: `rate` tokens per second, holding at most `burst`.
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    state: Mutex<(f64, Instant)>,
}

impl fmt::Debug for TokenBucket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenBucket({}/s, burst {})", self.rate, self.burst)
    }
}

impl TokenBucket {
    /// A full bucket refilled at `rate` per second with a burst of `rate` (at least 1).
    pub fn new(rate: f64) -> TokenBucket {
        let burst = rate.max(1.0);
        TokenBucket {
            rate,
            burst,
            state: Mutex::new((burst, Instant::now())),
        }
    }

    /// Waits until a token is available and takes it.
    pub async fn acquire(&self) {
        loop {
            let wait = {
                let mut state = self.state.lock().await;
                let now = Instant::now();
                let refill = now.duration_since(state.1).as_secs_f64() * self.rate;
                state.0 = (state.0 + refill).min(self.burst);
                state.1 = now;
                if state.0 >= 1.0 {
                    state.0 -= 1.0;
                    return;
                }
                Duration::from_secs_f64((1.0 - state.0) / self.rate)
            };
            tokio::time::sleep(wait).await;
        }
    }
}

#[derive(Debug)]
struct LimitedConnector {
    inner: SharedHttpConnector,
    bucket: Arc<TokenBucket>,
}

impl HttpConnector for LimitedConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let inner = self.inner.clone();
        let bucket = self.bucket.clone();
        HttpConnectorFuture::new(async move {
            bucket.acquire().await;
            inner.call(request).await
        })
    }
}

/// Wraps an HTTP client so every request first takes a token from `bucket`.
pub fn limited(client: SharedHttpClient, bucket: Arc<TokenBucket>) -> SharedHttpClient {
    http_client_fn(move |settings, components| {
        let inner = client.http_connector(settings, components);
        SharedHttpConnector::new(LimitedConnector {
            inner,
            bucket: bucket.clone(),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bucket_paces_requests_after_the_burst() {
        let bucket = TokenBucket::new(20.0);
        let start = Instant::now();
        for _ in 0..30 {
            bucket.acquire().await;
        }
        // 20 come from the burst, 10 more need about 0.5 s of refill.
        let elapsed = start.elapsed();
        assert!(elapsed >= Duration::from_millis(400), "{elapsed:?}");
        assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
    }
}
