//! The simulated API's rate limit: at most N calls per second, evenly spaced.
//!
//! A token bucket holding one token (no bursts): each call takes the next free slot, one
//! interval after the previous one, and waits asynchronously until it comes. Twenty calls at
//! 10 per second therefore take at least 1.9 s, wherever they come from in the process.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// Spaces calls at least `1 / rate` seconds apart.
#[derive(Debug)]
pub struct RateLimiter {
    interval: Duration,
    next_slot: Mutex<Option<Instant>>,
}

impl RateLimiter {
    /// A limiter for `calls_per_second`; `None` when the rate is 0 (unlimited).
    pub fn new(calls_per_second: f64) -> Option<Self> {
        if calls_per_second <= 0.0 || !calls_per_second.is_finite() {
            return None;
        }
        Some(RateLimiter {
            interval: Duration::from_secs_f64(1.0 / calls_per_second),
            next_slot: Mutex::new(None),
        })
    }

    /// Waits until this call may go out.
    pub async fn acquire(&self) {
        let now = Instant::now();
        let slot = {
            let mut next = self
                .next_slot
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            let slot = match *next {
                Some(free) if free > now => free,
                _ => now,
            };
            *next = Some(slot + self.interval);
            slot
        };
        if slot > now {
            tokio::time::sleep_until(slot).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn zero_means_unlimited() {
        assert!(RateLimiter::new(0.0).is_none());
        assert!(RateLimiter::new(f64::NAN).is_none());
    }

    #[tokio::test]
    async fn concurrent_calls_are_spaced_by_the_interval() {
        let limiter = Arc::new(RateLimiter::new(20.0).unwrap());
        let started = std::time::Instant::now();
        let tasks: Vec<_> = (0..11)
            .map(|_| {
                let limiter = limiter.clone();
                tokio::spawn(async move { limiter.acquire().await })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        let elapsed = started.elapsed();
        // 11 calls at 20/s: the first goes at once, ten more 50 ms apart.
        assert!(elapsed >= Duration::from_millis(490), "took {elapsed:?}");
        assert!(elapsed < Duration::from_millis(1500), "took {elapsed:?}");
    }

    #[tokio::test]
    async fn an_idle_limiter_does_not_save_up_a_burst() {
        let limiter = RateLimiter::new(10.0).unwrap();
        limiter.acquire().await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let started = std::time::Instant::now();
        limiter.acquire().await;
        limiter.acquire().await;
        assert!(
            started.elapsed() >= Duration::from_millis(95),
            "took {:?}",
            started.elapsed()
        );
    }
}
