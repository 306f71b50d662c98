//! Waiting for objects to settle: Deployment rollouts, Job completion, deletions. Each wait
//! runs against a [`Deadline`] (from `ctx.timeout`) and reports through `ctx.progress`.

use std::time::{Duration, Instant};

use plinth_provider::Progress;
use serde_json::Value as Json;

use crate::error::KubeError;
use crate::objects::{ObjectRef, Objects};

/// How long an operation may wait when the engine gives no timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15 * 60);

/// A time budget plus the place to report progress.
pub struct Deadline<'a> {
    start: Instant,
    limit: Duration,
    progress: &'a dyn Progress,
    poll: Duration,
}

impl<'a> Deadline<'a> {
    /// A fresh budget of `limit` (default 15 minutes).
    pub fn new(limit: Option<Duration>, progress: &'a dyn Progress) -> Deadline<'a> {
        let poll = std::env::var("PLINTH_K8S_POLL_MS")
            .ok()
            .and_then(|ms| ms.parse().ok())
            .map(Duration::from_millis)
            .unwrap_or(Duration::from_millis(500));
        Deadline {
            start: Instant::now(),
            limit: limit.unwrap_or(DEFAULT_TIMEOUT),
            progress,
            poll,
        }
    }

    /// Reports `what` and fails with `Timeout` when the budget is spent.
    pub fn check(&self, what: &str) -> Result<(), KubeError> {
        let elapsed = self.start.elapsed();
        if elapsed >= self.limit {
            return Err(KubeError::Timeout(format!(
                "{what} (after {}s)",
                self.limit.as_secs()
            )));
        }
        self.progress
            .update(&format!("{what} ({}s)", elapsed.as_secs()));
        Ok(())
    }

    /// Sleeps one poll interval (never past the deadline by much).
    pub async fn sleep(&self, at_most: Duration) {
        tokio::time::sleep(self.poll.min(at_most.max(Duration::from_millis(50)))).await;
    }

    /// Reports a status line.
    pub fn report(&self, message: &str) {
        self.progress.update(message);
    }
}

fn int(value: &Json, pointer: &str) -> i64 {
    value.pointer(pointer).and_then(Json::as_i64).unwrap_or(0)
}

fn condition<'v>(object: &'v Json, kind: &str) -> Option<&'v Json> {
    object
        .pointer("/status/conditions")
        .and_then(Json::as_array)
        .and_then(|list| {
            list.iter()
                .find(|c| c.get("type").and_then(Json::as_str) == Some(kind))
        })
}

fn condition_text(condition: &Json) -> String {
    let field = |name: &str| {
        condition
            .get(name)
            .and_then(Json::as_str)
            .unwrap_or("")
            .to_string()
    };
    [field("reason"), field("message")]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(": ")
}

/// Waits until a Deployment has rolled out: observedGeneration ≥ generation and every
/// replica updated and available. `ProgressDeadlineExceeded` is a failure.
pub async fn deployment_rollout(
    objects: &Objects,
    deployment: &ObjectRef,
    deadline: &Deadline<'_>,
) -> Result<(), KubeError> {
    loop {
        let live = objects.get(deployment).await?.ok_or_else(|| {
            KubeError::Failed(format!(
                "{} disappeared during its rollout",
                deployment.describe()
            ))
        })?;
        let generation = int(&live, "/metadata/generation");
        let observed = int(&live, "/status/observedGeneration");
        let wanted = live
            .pointer("/spec/replicas")
            .and_then(Json::as_i64)
            .unwrap_or(1);
        let updated = int(&live, "/status/updatedReplicas");
        let available = int(&live, "/status/availableReplicas");
        let total = int(&live, "/status/replicas");
        if let Some(progressing) = condition(&live, "Progressing") {
            if progressing.get("reason").and_then(Json::as_str) == Some("ProgressDeadlineExceeded")
                && observed >= generation
            {
                return Err(KubeError::Failed(format!(
                    "rollout of {} failed: {}",
                    deployment.describe(),
                    condition_text(progressing)
                )));
            }
        }
        if observed >= generation && updated >= wanted && available >= wanted && total <= updated {
            deadline.report(&format!(
                "{} rolled out ({available}/{wanted} available)",
                deployment.describe()
            ));
            return Ok(());
        }
        deadline.check(&format!(
            "waiting for rollout of {}: {updated}/{wanted} updated, {available} available",
            deployment.describe()
        ))?;
        deadline.sleep(Duration::from_secs(2)).await;
    }
}

/// Waits until a Job completes; a `Failed` condition is an error carrying its reason.
pub async fn job_completion(
    objects: &Objects,
    job: &ObjectRef,
    deadline: &Deadline<'_>,
) -> Result<(), KubeError> {
    loop {
        let live = objects.get(job).await?.ok_or_else(|| {
            KubeError::Failed(format!("{} disappeared before completing", job.describe()))
        })?;
        if let Some(failed) = job_failed(&live) {
            return Err(KubeError::Failed(format!(
                "{} failed: {failed}",
                job.describe()
            )));
        }
        if condition(&live, "Complete")
            .and_then(|c| c.get("status"))
            .and_then(Json::as_str)
            == Some("True")
        {
            deadline.report(&format!("{} completed", job.describe()));
            return Ok(());
        }
        deadline.check(&format!("waiting for {} to complete", job.describe()))?;
        deadline.sleep(Duration::from_secs(2)).await;
    }
}

/// The failure text of a failed Job, if it failed.
pub fn job_failed(live: &Json) -> Option<String> {
    condition(live, "Failed")
        .filter(|c| c.get("status").and_then(Json::as_str) == Some("True"))
        .map(condition_text)
}
