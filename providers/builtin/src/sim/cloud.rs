//! The simulated cloud's storage: a directory that outlives the process.
//!
//! ```text
//! <cloud_dir>/resources/<id>.json   one record per resource: id, creation token, attributes
//! <cloud_dir>/names/<name>          the id holding a name (names are unique, like a real cloud's)
//! <cloud_dir>/attempts/<name>.json  create/update/delete call counts, only for failure injection
//! <cloud_dir>/clock                 the counter behind `created_at`
//! <cloud_dir>/calls.log             one line per API call when `record_calls = true`
//! <cloud_dir>/.lock                 exclusive lock around every change
//! ```
//!
//! Every file is written to a temporary name and renamed into place, so a process killed at
//! any moment leaves whole files. Changes hold an exclusive lock (`fs2`) on `.lock` and an
//! in-process mutex, so several threads and processes can share one cloud. Nothing is
//! fsynced: the cloud survives killed processes, not power loss. All methods block; the
//! resource runs them with `spawn_blocking`.

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use fs2::FileExt;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};

use crate::error::SimError;
use crate::sim::calls::{ApiCall, CallLog};

/// One resource as the cloud holds it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoredResource {
    /// The cloud id.
    pub id: String,
    /// The creation token of the create call that made it.
    pub token: String,
    /// Every attribute, inputs and computed ones, as plain JSON.
    pub attributes: Map<String, Json>,
}

impl StoredResource {
    /// The `name` attribute.
    pub fn name(&self) -> &str {
        self.attributes
            .get("name")
            .and_then(Json::as_str)
            .unwrap_or_default()
    }
}

/// Which call counter of a resource to bump.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attempt {
    /// Create calls.
    Create,
    /// Update calls.
    Update,
    /// Delete calls.
    Delete,
}

/// An open simulated cloud.
#[derive(Debug)]
pub struct Cloud {
    root: PathBuf,
    lock: Mutex<File>,
    clock: File,
    calls: Option<CallLog>,
}

impl Cloud {
    /// Opens the cloud at `root`, creating its directories; `record_calls` turns on the call log.
    pub fn open(root: &Path, record_calls: bool) -> Result<Self, SimError> {
        for dir in ["resources", "names", "attempts"] {
            let path = root.join(dir);
            fs::create_dir_all(&path).map_err(|e| SimError::io(path, e))?;
        }
        let lock_path = root.join(".lock");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| SimError::io(lock_path, e))?;
        let clock_path = root.join("clock");
        let clock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&clock_path)
            .map_err(|e| SimError::io(clock_path, e))?;
        let calls = if record_calls {
            Some(CallLog::open(root)?)
        } else {
            None
        };
        Ok(Cloud {
            root: root.to_path_buf(),
            lock: Mutex::new(lock),
            clock,
            calls,
        })
    }

    /// Counts one API call (when recording is on).
    pub fn record(&self, call: ApiCall, subject: &str, in_flight: usize) -> Result<(), SimError> {
        match &self.calls {
            Some(log) => log.record(call, subject, in_flight),
            None => Ok(()),
        }
    }

    /// Runs `change` holding the cloud's exclusive lock.
    pub fn locked<R>(
        &self,
        change: impl FnOnce(&Self) -> Result<R, SimError>,
    ) -> Result<R, SimError> {
        let file = self
            .lock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let lock_path = self.root.join(".lock");
        FileExt::lock_exclusive(&*file).map_err(|e| SimError::io(&lock_path, e))?;
        let result = change(self);
        let unlocked = FileExt::unlock(&*file).map_err(|e| SimError::io(&lock_path, e));
        let value = result?;
        unlocked?;
        Ok(value)
    }

    /// The record of `id`, if the resource exists.
    pub fn get(&self, id: &str) -> Result<Option<StoredResource>, SimError> {
        let path = self.resource_path(id);
        match read_optional(&path)? {
            Some(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| SimError::Corrupt { path, source: e }),
            None => Ok(None),
        }
    }

    /// The resource holding `name`, if any.
    pub fn by_name(&self, name: &str) -> Result<Option<StoredResource>, SimError> {
        let Some(id) = read_optional(&self.name_path(name))? else {
            return Ok(None);
        };
        let id = String::from_utf8_lossy(&id).trim().to_string();
        if id.is_empty() {
            return Ok(None);
        }
        // A stale index entry (a create killed between its two writes) holds no resource.
        Ok(self.get(&id)?.filter(|record| record.name() == name))
    }

    /// Stores a new resource: its name index first, then its record, so a process killed in
    /// between leaves a stale (or empty) index entry, which is ignored, and never an unindexed
    /// resource. Call under [`Cloud::locked`].
    pub fn insert(&self, record: &StoredResource) -> Result<(), SimError> {
        let index = self.name_path(record.name());
        fs::write(&index, record.id.as_bytes()).map_err(|e| SimError::io(index, e))?;
        self.put(record)
    }

    /// Overwrites the record of an existing resource. Call under [`Cloud::locked`].
    pub fn put(&self, record: &StoredResource) -> Result<(), SimError> {
        let path = self.resource_path(&record.id);
        let bytes = serde_json::to_vec(record).map_err(|e| SimError::Corrupt {
            path: path.clone(),
            source: e,
        })?;
        write_atomic(&path, &bytes)
    }

    /// Deletes a resource; true when it existed. Call under [`Cloud::locked`].
    pub fn remove(&self, id: &str) -> Result<bool, SimError> {
        let Some(record) = self.get(id)? else {
            return Ok(false);
        };
        remove_optional(&self.resource_path(id))?;
        let index = self.name_path(record.name());
        if read_optional(&index)?.is_some_and(|held| held == id.as_bytes()) {
            remove_optional(&index)?;
        }
        Ok(true)
    }

    /// Every resource in the cloud, sorted by name, then id.
    pub fn list(&self) -> Result<Vec<StoredResource>, SimError> {
        let dir = self.root.join("resources");
        let mut records: Vec<StoredResource> = Vec::new();
        for entry in fs::read_dir(&dir).map_err(|e| SimError::io(&dir, e))? {
            let entry = entry.map_err(|e| SimError::io(&dir, e))?;
            let file_name = entry.file_name();
            let file_name = file_name.to_string_lossy();
            if file_name.starts_with('.') || !file_name.ends_with(".json") {
                continue;
            }
            let path = entry.path();
            // A resource deleted since the directory was listed is simply gone.
            if let Some(bytes) = read_optional(&path)? {
                records.push(
                    serde_json::from_slice(&bytes)
                        .map_err(|e| SimError::Corrupt { path, source: e })?,
                );
            }
        }
        records.sort_by(|a, b| (a.name(), &a.id).cmp(&(b.name(), &b.id)));
        Ok(records)
    }

    /// The next value of the cloud's clock (1, 2, 3...). Call under [`Cloud::locked`].
    ///
    /// The clock file holds a fixed-width number rewritten in place: one small write, which a
    /// killed process cannot tear.
    pub fn tick(&self) -> Result<i64, SimError> {
        let mut file = &self.clock;
        let mut text = String::new();
        let io = |e| SimError::io(self.root.join("clock"), e);
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        file.read_to_string(&mut text).map_err(io)?;
        let now = text.trim().parse::<i64>().unwrap_or(0) + 1;
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        file.write_all(format!("{now:020}\n").as_bytes())
            .map_err(io)?;
        Ok(now)
    }

    /// Counts one more create, update or delete call of the resource named `name` and returns the
    /// count (1 for the first). Call under [`Cloud::locked`].
    pub fn bump_attempt(&self, name: &str, attempt: Attempt) -> Result<u64, SimError> {
        let path = self
            .root
            .join("attempts")
            .join(format!("{}.json", file_key(name)));
        let mut counts: Map<String, Json> = match read_optional(&path)? {
            Some(bytes) => serde_json::from_slice(&bytes).map_err(|e| SimError::Corrupt {
                path: path.clone(),
                source: e,
            })?,
            None => Map::new(),
        };
        let key = match attempt {
            Attempt::Create => "create",
            Attempt::Update => "update",
            Attempt::Delete => "delete",
        };
        let count = counts.get(key).and_then(Json::as_u64).unwrap_or(0) + 1;
        counts.insert(key.to_string(), Json::from(count));
        write_atomic(&path, Json::Object(counts).to_string().as_bytes())?;
        Ok(count)
    }

    fn resource_path(&self, id: &str) -> PathBuf {
        self.root
            .join("resources")
            .join(format!("{}.json", file_key(id)))
    }

    fn name_path(&self, name: &str) -> PathBuf {
        self.root.join("names").join(file_key(name))
    }
}

/// A file name for any string: ASCII letters, digits, `-` and `_` stay, everything else
/// becomes `%XX` (so `.` and `/` cannot escape the directory or hide the file).
pub fn file_key(text: &str) -> String {
    let mut key = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_' {
            key.push(char::from(byte));
        } else {
            key.push_str(&format!("%{byte:02X}"));
        }
    }
    key
}

fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, SimError> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(SimError::io(path, e)),
    }
}

fn remove_optional(path: &Path) -> Result<(), SimError> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
        Err(e) => Err(SimError::io(path, e)),
    }
}

/// Writes `bytes` to a temporary file beside `path` and renames it into place.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), SimError> {
    static SEQUENCE: AtomicU64 = AtomicU64::new(0);
    let file_name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let temp = path.with_file_name(format!(
        ".{file_name}.{}.{}.tmp",
        std::process::id(),
        SEQUENCE.fetch_add(1, Ordering::Relaxed)
    ));
    let written = File::create(&temp).and_then(|mut file| file.write_all(bytes));
    if let Err(e) = written.and_then(|()| fs::rename(&temp, path)) {
        let _ = fs::remove_file(&temp);
        return Err(SimError::io(path, e));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str, name: &str) -> StoredResource {
        let mut attributes = Map::new();
        attributes.insert("name".into(), Json::from(name));
        StoredResource {
            id: id.into(),
            token: format!("token-{id}"),
            attributes,
        }
    }

    #[test]
    fn keys_keep_names_inside_the_directory() {
        assert_eq!(file_key("web-1_a"), "web-1_a");
        assert_eq!(file_key("../x y"), "%2E%2E%2Fx%20y");
    }

    #[test]
    fn records_persist_and_are_found_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let cloud = Cloud::open(dir.path(), false).unwrap();
        cloud
            .locked(|c| c.insert(&record("sim-1", "web/a")))
            .unwrap();
        drop(cloud);
        let cloud = Cloud::open(dir.path(), false).unwrap();
        assert_eq!(cloud.by_name("web/a").unwrap().unwrap().id, "sim-1");
        assert_eq!(cloud.list().unwrap(), vec![record("sim-1", "web/a")]);
        assert!(cloud.locked(|c| c.remove("sim-1")).unwrap());
        assert!(!cloud.locked(|c| c.remove("sim-1")).unwrap());
        assert_eq!(cloud.by_name("web/a").unwrap(), None);
        assert!(cloud.list().unwrap().is_empty());
    }

    #[test]
    fn a_stale_name_index_holds_no_resource() {
        let dir = tempfile::tempdir().unwrap();
        let cloud = Cloud::open(dir.path(), false).unwrap();
        write_atomic(&cloud.name_path("a"), b"sim-gone").unwrap();
        assert_eq!(cloud.by_name("a").unwrap(), None);
    }

    #[test]
    fn clock_and_attempts_count_across_openings() {
        let dir = tempfile::tempdir().unwrap();
        let first = Cloud::open(dir.path(), false).unwrap();
        assert_eq!(first.locked(|c| c.tick()).unwrap(), 1);
        assert_eq!(
            first
                .locked(|c| c.bump_attempt("a", Attempt::Create))
                .unwrap(),
            1
        );
        let second = Cloud::open(dir.path(), false).unwrap();
        assert_eq!(second.locked(|c| c.tick()).unwrap(), 2);
        assert_eq!(
            second
                .locked(|c| c.bump_attempt("a", Attempt::Create))
                .unwrap(),
            2
        );
        assert_eq!(
            second
                .locked(|c| c.bump_attempt("a", Attempt::Update))
                .unwrap(),
            1
        );
    }

    #[test]
    fn corrupt_records_are_reported_with_their_path() {
        let dir = tempfile::tempdir().unwrap();
        let cloud = Cloud::open(dir.path(), false).unwrap();
        fs::write(dir.path().join("resources/sim-x.json"), b"{").unwrap();
        let err = cloud.get("sim-x").unwrap_err();
        assert!(err.to_string().contains("sim-x.json` is corrupt"), "{err}");
    }
}
