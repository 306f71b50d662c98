//! Counting the simulated API's calls, across processes.
//!
//! With `record_calls = true` every call appends one line (`<kind> <subject> <in flight>`) to
//! `<cloud_dir>/calls.log` under an exclusive file lock; [`call_counts`] tallies the log, so a
//! test can check how many calls of each kind a `plinth` run made. Off by default: counting
//! costs a write per call.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, ErrorKind, Write};
use std::path::Path;
use std::sync::Mutex;

use fs2::FileExt;

use crate::error::SimError;

/// The log's file name inside the cloud directory.
pub const CALL_LOG: &str = "calls.log";

/// One kind of simulated API call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApiCall {
    /// Create one resource.
    Create,
    /// Read one resource.
    Read,
    /// Read one page of up to `page_size` resources.
    ReadPage,
    /// Update one resource.
    Update,
    /// Delete one resource.
    Delete,
    /// Look a resource up by creation token (crash recovery).
    Find,
}

impl ApiCall {
    /// The word written to the log.
    pub fn as_str(self) -> &'static str {
        match self {
            ApiCall::Create => "create",
            ApiCall::Read => "read",
            ApiCall::ReadPage => "read_page",
            ApiCall::Update => "update",
            ApiCall::Delete => "delete",
            ApiCall::Find => "find",
        }
    }
}

/// How many calls of each kind the cloud has served (failed calls included).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CallCounts {
    /// Creates.
    pub create: u64,
    /// Single reads.
    pub read: u64,
    /// Batched read calls (one per page).
    pub read_page: u64,
    /// Updates.
    pub update: u64,
    /// Deletes.
    pub delete: u64,
    /// Lookups by creation token.
    pub find: u64,
    /// The most resource operations one provider had in flight at once (the engine's
    /// concurrency as the cloud saw it; compare with `max_concurrency`).
    pub peak_in_flight: u64,
}

impl CallCounts {
    /// All calls together.
    pub fn total(&self) -> u64 {
        self.create + self.read + self.read_page + self.update + self.delete + self.find
    }

    fn add(&mut self, line: &str) {
        let mut words = line.split_whitespace();
        match words.next() {
            Some("create") => self.create += 1,
            Some("read") => self.read += 1,
            Some("read_page") => self.read_page += 1,
            Some("update") => self.update += 1,
            Some("delete") => self.delete += 1,
            Some("find") => self.find += 1,
            _ => return,
        }
        let in_flight = words
            .nth(1)
            .and_then(|w| w.parse::<u64>().ok())
            .unwrap_or(0);
        self.peak_in_flight = self.peak_in_flight.max(in_flight);
    }
}

/// Tallies `<cloud_dir>/calls.log`. A cloud that never recorded a call counts zero everywhere.
pub fn call_counts(cloud_dir: &Path) -> Result<CallCounts, SimError> {
    let path = cloud_dir.join(CALL_LOG);
    let file = match File::open(&path) {
        Ok(file) => file,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(CallCounts::default()),
        Err(e) => return Err(SimError::io(path, e)),
    };
    FileExt::lock_shared(&file).map_err(|e| SimError::io(&path, e))?;
    let mut counts = CallCounts::default();
    for line in BufReader::new(&file).lines() {
        let line = line.map_err(|e| SimError::io(&path, e))?;
        counts.add(&line);
    }
    Ok(counts)
}

/// Clears the log (between phases of a test).
pub fn reset_call_counts(cloud_dir: &Path) -> Result<(), SimError> {
    let path = cloud_dir.join(CALL_LOG);
    match OpenOptions::new().write(true).open(&path) {
        Ok(file) => {
            FileExt::lock_exclusive(&file).map_err(|e| SimError::io(&path, e))?;
            file.set_len(0).map_err(|e| SimError::io(&path, e))
        }
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
        Err(e) => Err(SimError::io(path, e)),
    }
}

/// The append side of the log, held open by a configured provider.
#[derive(Debug)]
pub struct CallLog {
    file: Mutex<File>,
    path: std::path::PathBuf,
}

impl CallLog {
    /// Opens (creating) the log of `cloud_dir`.
    pub fn open(cloud_dir: &Path) -> Result<Self, SimError> {
        let path = cloud_dir.join(CALL_LOG);
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| SimError::io(&path, e))?;
        Ok(CallLog {
            file: Mutex::new(file),
            path,
        })
    }

    /// Appends one call, made while `in_flight` operations were under way. Blocking: run it
    /// off the async runtime.
    pub fn record(&self, call: ApiCall, subject: &str, in_flight: usize) -> Result<(), SimError> {
        let file = self
            .file
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        FileExt::lock_exclusive(&*file).map_err(|e| SimError::io(&self.path, e))?;
        let subject = subject.replace(char::is_whitespace, "_");
        let line = format!("{} {subject} {in_flight}\n", call.as_str());
        let written = (&*file).write_all(line.as_bytes());
        let unlocked = FileExt::unlock(&*file);
        written
            .and(unlocked)
            .map_err(|e| SimError::io(&self.path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_survive_reopening_and_reset() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(call_counts(dir.path()).unwrap(), CallCounts::default());
        let log = CallLog::open(dir.path()).unwrap();
        log.record(ApiCall::Create, "a b", 1).unwrap();
        log.record(ApiCall::ReadPage, "3", 4).unwrap();
        drop(log);
        let other = CallLog::open(dir.path()).unwrap();
        other.record(ApiCall::Create, "c", 2).unwrap();
        let counts = call_counts(dir.path()).unwrap();
        assert_eq!((counts.create, counts.read_page, counts.total()), (2, 1, 3));
        assert_eq!(counts.peak_in_flight, 4);
        reset_call_counts(dir.path()).unwrap();
        assert_eq!(call_counts(dir.path()).unwrap().total(), 0);
        other.record(ApiCall::Delete, "c", 1).unwrap();
        assert_eq!(call_counts(dir.path()).unwrap().delete, 1);
    }
}
