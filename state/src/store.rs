//! The storage trait every backend implements, and the lock records they keep.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::document::{JournalEntry, StateDocument};
use crate::error::StateError;

/// Where a stack's state lives. One store serves one stack + environment.
///
/// The engine loads the document, takes the lock, appends a journal entry before and after
/// every provider call (cost proportional to the change), and commits the new serial at the
/// end of an apply (see [`StateStore::commit`]).
#[async_trait]
pub trait StateStore: Send + Sync {
    /// A human description, e.g. `local file stacks/mita/.plinth/production.state.json`.
    fn describe(&self) -> String;

    /// Reads the document with any journal replayed; `None` when no state exists yet.
    async fn load(&self) -> Result<Option<StateDocument>, StateError>;

    /// Appends entries durably (all of them or none), in order.
    async fn append(&self, entries: &[JournalEntry]) -> Result<(), StateError>;

    /// Replaces the stored document with `document` and clears the journal, atomically.
    /// Refuses when the stored lineage differs or the stored serial is not lower
    /// (someone else wrote in between).
    async fn compact(&self, document: &StateDocument) -> Result<(), StateError>;

    /// Ends an apply that changed something: `document` (its serial one above the stored
    /// one's) becomes the state. The default compacts; a backend may instead append a
    /// [`JournalEntry::Serial`] and compact only once its journal has grown large, so that what
    /// an apply writes stays proportional to what it changed.
    async fn commit(&self, document: &StateDocument) -> Result<(), StateError> {
        self.compact(document).await
    }

    /// Takes the lock, or fails at once with [`StateError::Locked`] naming the holder.
    /// An expired lease is taken over (the returned lock's `took_over` names the old holder).
    async fn lock(&self, request: &LockRequest) -> Result<LockInfo, StateError>;

    /// Extends the lease of a lock this process holds.
    async fn renew(&self, lock: &LockInfo) -> Result<LockInfo, StateError>;

    /// Releases a lock this process holds.
    async fn unlock(&self, lock: &LockInfo) -> Result<(), StateError>;

    /// The locks currently held (at most one for a single-state store).
    async fn locks(&self) -> Result<Vec<LockInfo>, StateError>;

    /// Removes a lock by id whoever holds it.
    async fn force_unlock(&self, id: &str) -> Result<(), StateError>;

    /// Signs that a state existed here although no document was found (a journal, backups),
    /// one description each. A missing document with evidence is refused by
    /// [`crate::IdentifiedStore`]. The default knows none.
    async fn evidence(&self) -> Result<Vec<String>, StateError> {
        Ok(Vec::new())
    }

    /// Earlier documents kept as backups, newest first. The default keeps none.
    async fn backups(&self) -> Result<Vec<Backup>, StateError> {
        Ok(Vec::new())
    }

    /// Reads the document of one backup (an id from [`StateStore::backups`]).
    async fn read_backup(&self, id: &str) -> Result<StateDocument, StateError> {
        Err(StateError::Edit(format!(
            "no backup `{id}`: {} keeps no backups",
            self.describe()
        )))
    }

    /// Prepares the state's home, idempotently (`plinth bootstrap`): the local directory, the
    /// S3 bucket (versioning, default encryption, public access blocked) or the PostgreSQL
    /// tables. The default does nothing.
    async fn ensure_home(&self) -> Result<(), StateError> {
        Ok(())
    }
}

/// One kept earlier document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Backup {
    /// What `plinth state restore` takes (the serial, as text).
    pub id: String,
    /// Its serial.
    pub serial: u64,
    /// Where it is.
    pub location: String,
    /// Resources it records.
    pub resources: usize,
}

/// What a process asks for when it locks.
#[derive(Clone, Debug)]
pub struct LockRequest {
    /// `plan`, `apply`, `destroy`, `state mv`, ...
    pub operation: String,
    /// Lease length in seconds; the holder renews before it runs out.
    pub lease_seconds: u64,
}

/// A held lock, as stored by the backend.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockInfo {
    /// Random id (what `plinth force-unlock` takes).
    pub id: String,
    /// `user@host`.
    pub owner: String,
    /// Process id of the holder.
    pub pid: u32,
    /// What the holder is doing.
    pub operation: String,
    /// Unix seconds when taken.
    pub created: u64,
    /// Unix seconds when the lease runs out unless renewed.
    pub expires: u64,
    /// The CI run holding it, when the CI environment says (`GITHUB_SERVER_URL` ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ci_run: Option<String>,
    /// Lease length in seconds (each renewal extends `expires` to now + this).
    #[serde(default)]
    pub lease_seconds: u64,
    /// When this lock was taken over from an expired one: that one's holder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub took_over: Option<String>,
}

impl LockInfo {
    /// A new lock record for this process.
    pub fn for_this_process(request: &LockRequest) -> Self {
        let now = crate::document::now_unix();
        LockInfo {
            id: crate::document::random_id()[..16].to_string(),
            owner: owner_name(),
            pid: std::process::id(),
            operation: request.operation.clone(),
            created: now,
            expires: now + request.lease_seconds,
            lease_seconds: request.lease_seconds,
            ci_run: ci_run_url(),
            took_over: None,
        }
    }

    /// The lease length: `lease_seconds`, or for records written without it, the initial
    /// span from `created` to `expires` (at least one second).
    pub fn lease(&self) -> u64 {
        if self.lease_seconds > 0 {
            self.lease_seconds
        } else {
            self.expires.saturating_sub(self.created).max(1)
        }
    }

    /// True when the lease has run out.
    pub fn expired(&self) -> bool {
        crate::document::now_unix() > self.expires
    }

    /// One line for messages: `id 1a2b (apply by ci@runner, pid 42, since 12:00:00 UTC)`.
    pub fn describe(&self) -> String {
        let mut text = format!(
            "lock {} held by {} (pid {}) for `{}` since {}, lease until {}",
            self.id,
            self.owner,
            self.pid,
            self.operation,
            format_unix(self.created),
            format_unix(self.expires)
        );
        if let Some(run) = &self.ci_run {
            text.push_str(&format!(", CI run {run}"));
        }
        text
    }
}

/// `user@host` of this process.
pub fn owner_name() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "unknown".into());
    let host = std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".into());
    format!("{user}@{host}")
}

/// The URL of the CI run, from GitHub Actions or GitLab CI variables.
pub fn ci_run_url() -> Option<String> {
    if let (Ok(server), Ok(repo), Ok(run)) = (
        std::env::var("GITHUB_SERVER_URL"),
        std::env::var("GITHUB_REPOSITORY"),
        std::env::var("GITHUB_RUN_ID"),
    ) {
        return Some(format!("{server}/{repo}/actions/runs/{run}"));
    }
    std::env::var("CI_JOB_URL").ok()
}

/// Formats Unix seconds as `YYYY-MM-DD HH:MM:SS UTC`.
pub fn format_unix(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_unix_time() {
        assert_eq!(super::format_unix(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(super::format_unix(1_700_000_000), "2023-11-14 22:13:20 UTC");
    }
}
