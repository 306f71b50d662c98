//! Keeping a lock's lease alive while a long operation runs.
//!
//! Every backend's lock carries a lease ([`LockInfo::expires`]); a lock whose lease ran out
//! may be taken over by the next process (its [`LockInfo::took_over`] then names the old
//! holder). A running apply calls [`spawn_renewal`] right after locking; the task renews the
//! lease every `interval` (pick a third of the lease or less) and reports through
//! [`Renewal::lost`] when the lock was taken over or could not be renewed, so the engine can
//! stop before writing state it no longer owns.
//!
//! ```no_run
//! # async fn demo(store: std::sync::Arc<dyn plinth_state::StateStore>) -> Result<(), plinth_state::StateError> {
//! use std::time::Duration;
//! use plinth_state::{spawn_renewal, LockRequest};
//! let lock = store.lock(&LockRequest { operation: "apply".into(), lease_seconds: 60 }).await?;
//! let renewal = spawn_renewal(store.clone(), lock, Duration::from_secs(20));
//! // ... apply, checking `renewal.lost()` between steps ...
//! let lock = renewal.stop().await?;
//! store.unlock(&lock).await?;
//! # Ok(()) }
//! ```

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::error::StateError;
use crate::store::{LockInfo, StateStore};

/// What the renewal task last saw.
#[derive(Clone, Debug)]
pub enum RenewalStatus {
    /// The lease is current; the latest lock record.
    Held(LockInfo),
    /// The lock is gone: taken over, force-unlocked, or renewals kept failing until the lease
    /// ran out. The message says which.
    Lost(String),
}

/// A running renewal task. Dropping it stops the task (the lock itself stays held).
pub struct Renewal {
    status: watch::Receiver<RenewalStatus>,
    task: Option<JoinHandle<()>>,
}

/// Starts renewing `lock` on `store` every `interval` on the current tokio runtime.
/// `store` must be the store that took the lock (the PostgreSQL backend renews on the
/// session that holds it).
///
/// A failed renewal is retried at the next tick while the lease still has time left; when
/// the backend says another process holds the lock, or the lease expires without a
/// successful renewal, the status becomes [`RenewalStatus::Lost`] and the task ends.
pub fn spawn_renewal(store: Arc<dyn StateStore>, lock: LockInfo, interval: Duration) -> Renewal {
    let (sender, status) = watch::channel(RenewalStatus::Held(lock.clone()));
    let task = tokio::spawn(async move {
        let mut current = lock;
        let mut ticker = tokio::time::interval(interval.max(Duration::from_millis(10)));
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticker.tick().await;
        loop {
            ticker.tick().await;
            match store.renew(&current).await {
                Ok(renewed) => {
                    current = renewed;
                    if sender.send(RenewalStatus::Held(current.clone())).is_err() {
                        return;
                    }
                }
                Err(StateError::Locked(other)) => {
                    let _ = sender.send(RenewalStatus::Lost(format!(
                        "the lock was taken over: {}",
                        other.describe()
                    )));
                    return;
                }
                Err(StateError::NoSuchLock(_)) => {
                    let _ = sender.send(RenewalStatus::Lost(format!(
                        "lock {} was removed (force-unlock?)",
                        current.id
                    )));
                    return;
                }
                Err(error) if current.expired() => {
                    let _ = sender.send(RenewalStatus::Lost(format!(
                        "the lease of lock {} ran out while renewals failed: {error}",
                        current.id
                    )));
                    return;
                }
                Err(_) => {} // Transient: try again at the next tick, the lease has time left.
            }
        }
    });
    Renewal {
        status,
        task: Some(task),
    }
}

impl Renewal {
    /// `Some(reason)` once the lock is lost; check it between steps of a long operation.
    pub fn lost(&self) -> Option<String> {
        match &*self.status.borrow() {
            RenewalStatus::Lost(reason) => Some(reason.clone()),
            RenewalStatus::Held(_) => None,
        }
    }

    /// The latest status.
    pub fn status(&self) -> RenewalStatus {
        self.status.borrow().clone()
    }

    /// Waits until the status changes (a renewal or a loss).
    pub async fn changed(&mut self) -> RenewalStatus {
        let _ = self.status.changed().await;
        self.status()
    }

    /// Stops renewing and returns the latest lock record (to unlock with), or
    /// [`StateError::Conflict`] when the lock was lost meanwhile.
    pub async fn stop(mut self) -> Result<LockInfo, StateError> {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
        match self.status() {
            RenewalStatus::Held(lock) => Ok(lock),
            RenewalStatus::Lost(reason) => Err(StateError::Conflict(reason)),
        }
    }
}

impl Drop for Renewal {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
