//! The local file backend (the default): `<dir>/<name>.state.json`, its previous version
//! `<name>.state.json.backup`, an append-only journal `<name>.journal` and a lock file
//! `<name>.lock`. Every write is atomic (temp file, fsync, rename, fsync of the directory) and
//! every file is created with mode 0600.

use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use crate::document::{now_unix, JournalEntry, StateDocument};
use crate::encryption::Encryption;
use crate::error::StateError;
use crate::store::{LockInfo, LockRequest, StateStore};

/// [`LocalStore::commit`] compacts once the journal is larger than this fraction of the state
/// document: writes stay proportional to the change, and a load replays at most about half a
/// document's worth of journal.
pub const COMPACT_AT_JOURNAL_FRACTION: f64 = 0.5;

/// How many committed states [`LocalStore`] keeps under `backups/`.
pub const BACKUPS_KEPT: usize = 5;

/// State kept in local files.
pub struct LocalStore {
    dir: PathBuf,
    name: String,
    journal: Mutex<Option<File>>,
    codec: Arc<Encryption>,
    /// The document serial at the last load (`Some(None)`: there was none), so a compaction
    /// can tell that another writer got in between (lost race).
    loaded: Mutex<Option<Option<u64>>>,
}

impl LocalStore {
    /// A store for state `name` (usually the environment) in `dir`.
    pub fn new(dir: impl Into<PathBuf>, name: &str) -> Self {
        LocalStore {
            dir: dir.into(),
            name: name.to_string(),
            journal: Mutex::new(None),
            codec: Arc::new(Encryption::disabled()),
            loaded: Mutex::new(None),
        }
    }

    /// The same store with encryption at rest (see [`Encryption`]).
    pub fn with_encryption(mut self, codec: Arc<Encryption>) -> Self {
        self.codec = codec;
        self
    }

    /// Path of the journal (one entry, or one encrypted envelope, per line).
    pub fn journal_path(&self) -> PathBuf {
        self.dir.join(format!("{}.journal", self.name))
    }

    /// Path of the lock file.
    pub fn lock_path(&self) -> PathBuf {
        self.dir.join(format!("{}.lock", self.name))
    }

    /// Path of the state document.
    pub fn state_path(&self) -> PathBuf {
        self.dir.join(format!("{}.state.json", self.name))
    }

    fn backup_path(&self) -> PathBuf {
        self.dir.join(format!("{}.state.json.backup", self.name))
    }

    fn ensure_dir(&self) -> Result<(), StateError> {
        fs::create_dir_all(&self.dir)
            .map_err(|e| StateError::io(format!("creating {}", self.dir.display()), e))?;
        let ignore = self.dir.join(".gitignore");
        if !ignore.exists() {
            // The state directory holds secrets and local locks: keep it out of git.
            let _ = fs::write(&ignore, "*\n");
        }
        Ok(())
    }

    fn read_document(&self) -> Result<Option<StateDocument>, StateError> {
        self.read_file(&self.state_path())
    }

    fn read_file(&self, path: &Path) -> Result<Option<StateDocument>, StateError> {
        let path = path.to_path_buf();
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(StateError::io(format!("reading {}", path.display()), e)),
        };
        let bytes = self.codec.open(bytes, &path.display().to_string())?;
        parse_document(&bytes, &path).map(Some)
    }

    fn read_lock(&self) -> Result<Option<LockInfo>, StateError> {
        let path = self.lock_path();
        match fs::read(&path) {
            Ok(bytes) => {
                serde_json::from_slice(&bytes)
                    .map(Some)
                    .map_err(|e| StateError::Corrupt {
                        location: path.display().to_string(),
                        reason: e.to_string(),
                    })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StateError::io(format!("reading {}", path.display()), e)),
        }
    }
}

impl LocalStore {
    /// Serialises lock changes between processes and tasks: an exclusive `flock` on
    /// `<name>.lock.guard`, released when the returned file is dropped. The critical sections
    /// are a read and a small atomic write, so blocking here is brief.
    fn guard(&self) -> Result<File, StateError> {
        self.ensure_dir()?;
        let path = self.dir.join(format!("{}.lock.guard", self.name));
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(&path)
            .map_err(|e| StateError::io(format!("opening {}", path.display()), e))?;
        fs2::FileExt::lock_exclusive(&file)
            .map_err(|e| StateError::io(format!("locking {}", path.display()), e))?;
        Ok(file)
    }

    /// `document` with the journal at `path` replayed (a torn final line is ignored: its write
    /// was never acknowledged).
    fn replay(
        &self,
        mut document: Option<StateDocument>,
        path: &Path,
    ) -> Result<Option<StateDocument>, StateError> {
        let file = match File::open(path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(document),
            Err(e) => return Err(StateError::io(format!("reading {}", path.display()), e)),
        };
        let mut reader = BufReader::new(file);
        let mut line = Vec::new();
        let mut number = 0;
        loop {
            line.clear();
            let read = reader
                .read_until(b'\n', &mut line)
                .map_err(|e| StateError::io(format!("reading {}", path.display()), e))?;
            if read == 0 {
                break;
            }
            number += 1;
            if line.last() != Some(&b'\n') {
                break;
            }
            let location = format!("{} line {number}", path.display());
            let bytes = self
                .codec
                .open(line[..line.len() - 1].to_vec(), &location)?;
            let entry: JournalEntry =
                serde_json::from_slice(&bytes).map_err(|e| StateError::Corrupt {
                    location,
                    reason: e.to_string(),
                })?;
            let doc = document.get_or_insert_with(|| StateDocument::new(env!("CARGO_PKG_VERSION")));
            doc.apply_owned(entry);
        }
        Ok(document)
    }

    /// Where backups are kept: `<dir>/backups/`.
    fn backup_dir(&self) -> PathBuf {
        self.dir.join("backups")
    }

    /// The two files of the backup of `serial`: the document as it was on disk and the
    /// journal that amended it.
    fn backup_files(&self, serial: u64) -> (PathBuf, PathBuf) {
        let dir = self.backup_dir();
        (
            dir.join(format!("{}.{serial:010}.state.json", self.name)),
            dir.join(format!("{}.{serial:010}.journal", self.name)),
        )
    }

    /// Serials of the kept backups, newest first.
    fn backup_serials(&self) -> Vec<u64> {
        let prefix = format!("{}.", self.name);
        let mut serials: Vec<u64> = fs::read_dir(self.backup_dir())
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|entry| {
                let name = entry.file_name().into_string().ok()?;
                let serial = name.strip_prefix(&prefix)?.strip_suffix(".state.json")?;
                serial.parse().ok()
            })
            .collect();
        serials.sort_unstable_by(|a, b| b.cmp(a));
        serials
    }

    /// Keeps the committed state (document at `serial`) as a backup: a hard link to the
    /// document file (never rewritten in place) and a copy of the journal (bounded by the
    /// compaction threshold), so a backup costs what the change cost. Keeps the newest
    /// [`BACKUPS_KEPT`].
    fn keep_backup(&self, serial: u64) -> Result<(), StateError> {
        let dir = self.backup_dir();
        fs::create_dir_all(&dir)
            .map_err(|e| StateError::io(format!("creating {}", dir.display()), e))?;
        let (document, journal) = self.backup_files(serial);
        let keep = |from: &Path, to: &Path| -> Result<(), StateError> {
            let _ = fs::remove_file(to);
            if !from.exists() {
                return Ok(());
            }
            fs::hard_link(from, to)
                .or_else(|_| fs::copy(from, to).map(|_| ()))
                .map_err(|e| StateError::io(format!("keeping a backup as {}", to.display()), e))
        };
        keep(&self.state_path(), &document)?;
        let _ = fs::remove_file(&journal);
        if self.journal_path().exists() {
            fs::copy(self.journal_path(), &journal).map_err(|e| {
                StateError::io(format!("keeping a backup as {}", journal.display()), e)
            })?;
        }
        for old in self.backup_serials().into_iter().skip(BACKUPS_KEPT) {
            let (document, journal) = self.backup_files(old);
            let _ = fs::remove_file(document);
            let _ = fs::remove_file(journal);
        }
        sync_dir(&dir);
        Ok(())
    }

    fn write_lock(&self, lock: &LockInfo) -> Result<(), StateError> {
        let bytes =
            serde_json::to_vec_pretty(lock).map_err(|e| StateError::Backend(e.to_string()))?;
        write_atomic(&self.lock_path(), &bytes)
    }
}

/// Parses a state document, rejecting unknown format versions.
pub fn parse_document(bytes: &[u8], path: &Path) -> Result<StateDocument, StateError> {
    let document: StateDocument =
        serde_json::from_slice(bytes).map_err(|e| StateError::Corrupt {
            location: path.display().to_string(),
            reason: e.to_string(),
        })?;
    if document.format_version > crate::document::FORMAT_VERSION {
        return Err(StateError::Corrupt {
            location: path.display().to_string(),
            reason: format!(
                "format version {} is newer than this Plinth understands ({}); upgrade Plinth",
                document.format_version,
                crate::document::FORMAT_VERSION
            ),
        });
    }
    Ok(document)
}

/// Writes `bytes` to `path` atomically: temp file in the same directory (mode 0600),
/// fsync, rename over, fsync the directory.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StateError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.tmp-{}-{}",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("state"),
        std::process::id(),
        &crate::document::random_id()[..8]
    ));
    let context = |what: &str| format!("{what} {}", tmp.display());
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| StateError::io(context("creating"), e))?;
    file.write_all(bytes)
        .map_err(|e| StateError::io(context("writing"), e))?;
    file.sync_all()
        .map_err(|e| StateError::io(context("syncing"), e))?;
    drop(file);
    fs::rename(&tmp, path)
        .map_err(|e| StateError::io(format!("renaming onto {}", path.display()), e))?;
    sync_dir(dir);
    Ok(())
}

fn sync_dir(dir: &Path) {
    if let Ok(handle) = File::open(dir) {
        let _ = handle.sync_all();
    }
}

/// True when a process with this pid exists on this machine.
fn process_alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

#[async_trait]
impl StateStore for LocalStore {
    fn describe(&self) -> String {
        format!("local file {}", self.state_path().display())
    }

    async fn load(&self) -> Result<Option<StateDocument>, StateError> {
        let document = self.read_document()?;
        if let Ok(mut loaded) = self.loaded.lock() {
            *loaded = Some(document.as_ref().map(|d| d.serial));
        }
        self.replay(document, &self.journal_path())
    }

    async fn append(&self, entries: &[JournalEntry]) -> Result<(), StateError> {
        if entries.is_empty() {
            return Ok(());
        }
        let mut buffer = Vec::with_capacity(entries.len() * 256);
        for entry in entries {
            let bytes = serde_json::to_vec(entry)
                .map_err(|e| StateError::Backend(format!("encoding journal entry: {e}")))?;
            buffer.extend_from_slice(&self.codec.seal(bytes)?);
            buffer.push(b'\n');
        }
        let mut guard = self
            .journal
            .lock()
            .map_err(|_| StateError::Backend("journal lock poisoned".into()))?;
        if guard.is_none() {
            self.ensure_dir()?;
            let path = self.journal_path();
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .mode(0o600)
                .open(&path)
                .map_err(|e| StateError::io(format!("opening {}", path.display()), e))?;
            *guard = Some(file);
        }
        let file = guard
            .as_mut()
            .ok_or_else(|| StateError::Backend("journal not open".into()))?;
        file.write_all(&buffer)
            .and_then(|_| file.sync_data())
            .map_err(|e| {
                StateError::io(format!("appending to {}", self.journal_path().display()), e)
            })
    }

    async fn compact(&self, document: &StateDocument) -> Result<(), StateError> {
        self.ensure_dir()?;
        let stored = self.read_document()?;
        let expected = self.loaded.lock().ok().and_then(|loaded| *loaded);
        if let Some(expected) = expected {
            if stored.as_ref().map(|d| d.serial) != expected {
                return Err(StateError::Conflict(format!(
                    "{} was changed by another run since this one read it (lost race); nothing \
                     was overwritten: plan again",
                    self.state_path().display()
                )));
            }
        }
        if let Some(stored) = stored {
            if stored.lineage != document.lineage {
                return Err(StateError::Conflict(format!(
                    "{} has lineage {}, this run has {}",
                    self.state_path().display(),
                    stored.lineage,
                    document.lineage
                )));
            }
            if stored.serial >= document.serial {
                return Err(StateError::Conflict(format!(
                    "{} is at serial {}, this run would write serial {}",
                    self.state_path().display(),
                    stored.serial,
                    document.serial
                )));
            }
        }
        let bytes = serde_json::to_vec_pretty(document)
            .map_err(|e| StateError::Backend(format!("encoding state: {e}")))?;
        let bytes = self.codec.seal(bytes)?;
        let path = self.state_path();
        if path.exists() {
            let backup = self.backup_path();
            let _ = fs::remove_file(&backup);
            fs::hard_link(&path, &backup)
                .or_else(|_| fs::copy(&path, &backup).map(|_| ()))
                .map_err(|e| {
                    StateError::io(
                        format!("keeping the previous state as {}", backup.display()),
                        e,
                    )
                })?;
        }
        write_atomic(&path, &bytes)?;
        let mut guard = self
            .journal
            .lock()
            .map_err(|_| StateError::Backend("journal lock poisoned".into()))?;
        *guard = None;
        match fs::remove_file(self.journal_path()) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(StateError::io("removing the compacted journal", e)),
        }
        sync_dir(&self.dir);
        if let Ok(mut loaded) = self.loaded.lock() {
            *loaded = Some(Some(document.serial));
        }
        Ok(())
    }

    /// Appends the new serial to the journal; compacts only when the journal has outgrown
    /// [`COMPACT_AT_JOURNAL_FRACTION`] of the document, so a small change to a large state
    /// writes a few entries, not the whole document.
    async fn commit(&self, document: &StateDocument) -> Result<(), StateError> {
        self.append(&[JournalEntry::Serial {
            serial: document.serial,
            plinth_version: document.plinth_version.clone(),
        }])
        .await?;
        let size = |path: PathBuf| fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        let journal = size(self.journal_path());
        let state = size(self.state_path());
        if state == 0 || journal as f64 > state as f64 * COMPACT_AT_JOURNAL_FRACTION {
            self.compact(document).await?;
        }
        self.keep_backup(document.serial)
    }

    async fn evidence(&self) -> Result<Vec<String>, StateError> {
        let mut evidence = Vec::new();
        if self.journal_path().exists() {
            evidence.push(format!(
                "its journal {} exists",
                self.journal_path().display()
            ));
        }
        let backups = self.backup_serials().len();
        if backups > 0 {
            evidence.push(format!(
                "{backups} backup(s) of it are kept in {}",
                self.backup_dir().display()
            ));
        }
        if self.backup_path().exists() {
            evidence.push(format!(
                "its previous version {} exists",
                self.backup_path().display()
            ));
        }
        Ok(evidence)
    }

    async fn backups(&self) -> Result<Vec<crate::store::Backup>, StateError> {
        let mut out = Vec::new();
        for serial in self.backup_serials() {
            let id = serial.to_string();
            let resources = self
                .read_backup(&id)
                .await
                .map(|d| d.resources.len())
                .unwrap_or(0);
            out.push(crate::store::Backup {
                id,
                serial,
                location: self.backup_files(serial).0.display().to_string(),
                resources,
            });
        }
        if out.is_empty() && self.backup_path().exists() {
            if let Ok(Some(doc)) = self.read_file(&self.backup_path()) {
                out.push(crate::store::Backup {
                    id: "previous".into(),
                    serial: doc.serial,
                    location: self.backup_path().display().to_string(),
                    resources: doc.resources.len(),
                });
            }
        }
        Ok(out)
    }

    async fn read_backup(&self, id: &str) -> Result<StateDocument, StateError> {
        if id == "previous" {
            return self.read_file(&self.backup_path())?.ok_or_else(|| {
                StateError::Edit(format!("no backup at {}", self.backup_path().display()))
            });
        }
        let serial: u64 = id
            .parse()
            .map_err(|_| StateError::Edit(format!("`{id}` is not a backup serial")))?;
        let (document, journal) = self.backup_files(serial);
        if !document.exists() && !journal.exists() {
            return Err(StateError::Edit(format!(
                "no backup of serial {serial} in {}",
                self.backup_dir().display()
            )));
        }
        let base = self.read_file(&document)?;
        self.replay(base, &journal)?
            .ok_or_else(|| StateError::Edit(format!("the backup of serial {serial} is empty")))
    }

    async fn lock(&self, request: &LockRequest) -> Result<LockInfo, StateError> {
        self.ensure_dir()?;
        let _guard = self.guard()?;
        let mut lock = LockInfo::for_this_process(request);
        if let Some(holder) = self.read_lock()? {
            let same_host_dead =
                holder.owner == lock.owner && holder.pid != lock.pid && !process_alive(holder.pid);
            if !(holder.expired() || same_host_dead) {
                return Err(StateError::Locked(Box::new(holder)));
            }
            lock.took_over = Some(holder.describe());
        }
        self.write_lock(&lock)?;
        Ok(lock)
    }

    async fn renew(&self, lock: &LockInfo) -> Result<LockInfo, StateError> {
        let _guard = self.guard()?;
        match self.read_lock()? {
            Some(current) if current.id == lock.id => {
                let mut renewed = current;
                renewed.expires = now_unix() + lock.lease();
                self.write_lock(&renewed)?;
                Ok(renewed)
            }
            Some(other) => Err(StateError::Locked(Box::new(other))),
            None => Err(StateError::NoSuchLock(lock.id.clone())),
        }
    }

    async fn unlock(&self, lock: &LockInfo) -> Result<(), StateError> {
        let _guard = self.guard()?;
        match self.read_lock()? {
            Some(current) if current.id == lock.id => fs::remove_file(self.lock_path())
                .map_err(|e| StateError::io(format!("removing {}", self.lock_path().display()), e)),
            _ => Ok(()),
        }
    }

    async fn locks(&self) -> Result<Vec<LockInfo>, StateError> {
        Ok(self.read_lock()?.into_iter().collect())
    }

    async fn force_unlock(&self, id: &str) -> Result<(), StateError> {
        let _guard = self.guard()?;
        match self.read_lock()? {
            Some(current) if current.id == id => fs::remove_file(self.lock_path())
                .map_err(|e| StateError::io(format!("removing {}", self.lock_path().display()), e)),
            _ => Err(StateError::NoSuchLock(id.to_string())),
        }
    }

    async fn ensure_home(&self) -> Result<(), StateError> {
        self.ensure_dir()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block_on;
    use crate::document::{ResourceRecord, ResourceStatus};
    use std::os::unix::fs::PermissionsExt;

    fn record(address: &str) -> JournalEntry {
        JournalEntry::Put(Box::new(ResourceRecord {
            address: address.into(),
            type_name: "sim_resource".into(),
            id: Some(format!("id-{address}")),
            attributes: serde_json::Map::new(),
            dependencies: vec![],
            status: ResourceStatus::Ready,
            pending: None,
            prevent_destroy: false,
        }))
    }

    #[test]
    fn journal_then_compaction_round_trips_with_0600_files() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path(), "dev");
        assert!(block_on(store.load()).unwrap().is_none());
        block_on(store.append(&[record("a.one"), record("a.two")])).unwrap();
        let mut doc = block_on(store.load()).unwrap().unwrap();
        assert_eq!(doc.resources.len(), 2);
        doc.serial += 1;
        block_on(store.compact(&doc)).unwrap();
        assert!(!store.journal_path().exists());
        let again = block_on(store.load()).unwrap().unwrap();
        assert_eq!(again, doc);
        let mode = fs::metadata(store.state_path())
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600);
        // A stale writer is refused.
        assert!(matches!(
            block_on(store.compact(&doc)),
            Err(StateError::Conflict(_))
        ));
    }

    #[test]
    fn commit_appends_the_serial_and_compacts_only_a_large_journal() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path(), "dev");
        let entries: Vec<JournalEntry> = (0..50).map(|i| record(&format!("a.r{i}"))).collect();
        block_on(store.append(&entries)).unwrap();
        let mut doc = block_on(store.load()).unwrap().unwrap();
        doc.serial = 1;
        // No document yet: the first commit compacts.
        block_on(store.commit(&doc)).unwrap();
        assert!(!store.journal_path().exists());
        let document_size = fs::metadata(store.state_path()).unwrap().len();

        // A one-resource change: a journal entry, not a rewrite.
        block_on(store.append(&[record("a.r0")])).unwrap();
        doc = block_on(store.load()).unwrap().unwrap();
        doc.serial = 2;
        block_on(store.commit(&doc)).unwrap();
        assert!(store.journal_path().exists());
        assert_eq!(
            fs::metadata(store.state_path()).unwrap().len(),
            document_size
        );
        let loaded = block_on(store.load()).unwrap().unwrap();
        assert_eq!(loaded.serial, 2);
        assert_eq!(loaded, doc);

        // Once the journal outgrows half the document, the commit compacts.
        let many: Vec<JournalEntry> = (0..40).map(|i| record(&format!("a.r{i}"))).collect();
        block_on(store.append(&many)).unwrap();
        doc = block_on(store.load()).unwrap().unwrap();
        doc.serial = 3;
        block_on(store.commit(&doc)).unwrap();
        assert!(!store.journal_path().exists());
        assert_eq!(block_on(store.load()).unwrap().unwrap(), doc);
        // A stale writer is still refused by the compaction.
        doc.serial = 2;
        assert!(matches!(
            block_on(store.compact(&doc)),
            Err(StateError::Conflict(_))
        ));
    }

    #[test]
    fn a_torn_last_journal_line_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path(), "dev");
        block_on(store.append(&[record("a.one")])).unwrap();
        let mut file = OpenOptions::new()
            .append(true)
            .open(store.journal_path())
            .unwrap();
        file.write_all(b"{\"op\":\"put\",\"addr").unwrap();
        let doc = block_on(store.load()).unwrap().unwrap();
        assert_eq!(doc.resources.len(), 1);
    }

    #[test]
    fn second_locker_is_refused_with_the_holder_named() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path(), "dev");
        let request = LockRequest {
            operation: "apply".into(),
            lease_seconds: 60,
        };
        let held = block_on(store.lock(&request)).unwrap();
        match block_on(store.lock(&request)) {
            Err(StateError::Locked(holder)) => assert_eq!(holder.id, held.id),
            other => panic!("expected Locked, got {other:?}"),
        }
        block_on(store.force_unlock(&held.id)).unwrap();
        assert!(block_on(store.lock(&request)).is_ok());
    }

    #[test]
    fn an_expired_lease_is_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path(), "dev");
        let mut stale = LockInfo::for_this_process(&LockRequest {
            operation: "apply".into(),
            lease_seconds: 0,
        });
        stale.owner = "ci@elsewhere".into();
        stale.expires = 1;
        fs::create_dir_all(dir.path()).unwrap();
        fs::write(store.lock_path(), serde_json::to_vec(&stale).unwrap()).unwrap();
        let lock = block_on(store.lock(&LockRequest {
            operation: "apply".into(),
            lease_seconds: 60,
        }))
        .unwrap();
        assert!(lock.took_over.unwrap().contains("ci@elsewhere"));
    }
}
