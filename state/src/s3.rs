//! The S3 backend: one object per stack + environment, journal entries as small objects,
//! a lock object created with a conditional write.
//!
//! Layout under `<prefix>/<stack>/`:
//! - `<env>.state.json`: the document (plain JSON or an encryption envelope), written with
//!   `If-Match` on the ETag it was read at (or `If-None-Match: *` when new), so a lost race
//!   is a [`StateError::Conflict`] and never an overwrite;
//! - `<env>.journal/<base>-<seq>.json`: one object per `append` (a JSON array of entries),
//!   where `<base>` is the serial of the document it amends plus one (0 before the first
//!   compaction). Loading folds in the objects of the current base only, so journal objects
//!   a crashed compaction failed to delete are ignored, then deleted by the next compaction;
//! - `<env>.lock.json`: the lock, created with `If-None-Match: *`; an expired lease is taken
//!   over with `If-Match` on the old lock's ETag, and renewals and unlocks are conditional
//!   the same way. The lock record is metadata (owner, pid, times) and is never encrypted.
//!
//! Before first use the store checks that the endpoint honours conditional writes (some
//! S3-compatible servers silently ignore `If-None-Match`) and refuses to work when it does not.

use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_s3::Client;
use tokio::sync::{Mutex, OnceCell};

use crate::document::{JournalEntry, StateDocument};
use crate::encryption::Encryption;
use crate::error::StateError;
use crate::local::parse_document;
use crate::store::{Backup, LockInfo, LockRequest, StateStore};

/// Earlier versions of the document listed as backups (the bucket may keep more).
const KEPT_VERSIONS: usize = 5;
/// Versions read to find them (newest first by listing time).
const READ_VERSIONS: usize = 20;

mod objects;

/// Where an S3 state lives (the `[backend]` table with `kind = "s3"`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct S3Settings {
    /// Bucket name.
    pub bucket: String,
    /// Key prefix (may be empty); objects go under `<prefix>/<stack>/`.
    pub prefix: String,
    /// Region; the standard chain (`AWS_REGION`, profile) when `None`, else `us-east-1`.
    pub region: Option<String>,
    /// Endpoint override (S3-compatible servers, emulators); path-style addressing then.
    pub endpoint: Option<String>,
}

/// What the store last read: the base for conditional writes and journal names.
#[derive(Clone, Debug, Default)]
struct Cursor {
    etag: Option<String>,
    serial: Option<u64>,
    lineage: Option<String>,
    base: u64,
    next_seq: u64,
}

/// The result of a conditional write.
enum Written {
    /// Stored; the new ETag when the server returned one.
    Stored(Option<String>),
    /// The precondition failed (412, or 409 for a concurrent conditional write).
    PreconditionFailed,
}

/// State in an S3 bucket.
pub struct S3Store {
    client: OnceCell<Client>,
    settings: S3Settings,
    stack: String,
    environment: String,
    codec: Arc<Encryption>,
    probed: OnceCell<()>,
    cursor: Mutex<Option<Cursor>>,
}

impl S3Store {
    /// A store for `stack` / `environment`. The client (standard AWS credential chain,
    /// `AWS_REGION`, `AWS_ENDPOINT_URL` ...) is built at first use, so opening is cheap and
    /// synchronous.
    pub fn new(
        settings: S3Settings,
        stack: &str,
        environment: &str,
        codec: Arc<Encryption>,
    ) -> Self {
        S3Store {
            client: OnceCell::new(),
            settings,
            stack: stack.to_string(),
            environment: environment.to_string(),
            codec,
            probed: OnceCell::new(),
            cursor: Mutex::new(None),
        }
    }

    /// A store using an existing client (an engine that shares one, or tests).
    pub fn with_client(
        client: Client,
        settings: S3Settings,
        stack: &str,
        environment: &str,
        codec: Arc<Encryption>,
    ) -> Self {
        let store = S3Store::new(settings, stack, environment, codec);
        let _ = store.client.set(client);
        store
    }

    /// The client, built from the shared AWS configuration at first use.
    async fn client(&self) -> &Client {
        self.client
            .get_or_init(|| async {
                let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
                if let Some(region) = &self.settings.region {
                    loader = loader.region(aws_config::Region::new(region.clone()));
                }
                let shared = loader.load().await;
                let mut config = aws_sdk_s3::config::Builder::from(&shared);
                if shared.region().is_none() {
                    config = config.region(aws_config::Region::new("us-east-1"));
                }
                if let Some(endpoint) = &self.settings.endpoint {
                    config = config.endpoint_url(endpoint.clone()).force_path_style(true);
                }
                Client::from_conf(config.build())
            })
            .await
    }

    fn base_key(&self) -> String {
        let prefix = self.settings.prefix.trim_matches('/');
        if prefix.is_empty() {
            format!("{}/{}", self.stack, self.environment)
        } else {
            format!("{prefix}/{}/{}", self.stack, self.environment)
        }
    }

    /// Key of the state document.
    pub fn state_key(&self) -> String {
        format!("{}.state.json", self.base_key())
    }

    /// Key prefix of the journal objects.
    pub fn journal_prefix(&self) -> String {
        format!("{}.journal/", self.base_key())
    }

    /// Key of the lock object.
    pub fn lock_key(&self) -> String {
        format!("{}.lock.json", self.base_key())
    }

    fn location(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.settings.bucket)
    }

    fn endpoint(&self) -> String {
        match &self.settings.endpoint {
            Some(endpoint) => format!("{endpoint} (bucket `{}`)", self.settings.bucket),
            None => format!("AWS S3 bucket `{}`", self.settings.bucket),
        }
    }

    /// Reads the document (decoded and parsed) and its ETag.
    async fn read_document(&self) -> Result<Option<(StateDocument, Option<String>)>, StateError> {
        let key = self.state_key();
        let Some((bytes, etag)) = self.get(&key).await? else {
            return Ok(None);
        };
        let location = self.location(&key);
        let bytes = self.codec.open(bytes, &location)?;
        let document = parse_document(&bytes, std::path::Path::new(&location))?;
        Ok(Some((document, etag)))
    }

    /// Journal objects by base: `(base, seq, key)`, sorted.
    async fn journal_objects(&self) -> Result<Vec<(u64, u64, String)>, StateError> {
        let prefix = self.journal_prefix();
        let mut objects: Vec<(u64, u64, String)> = self
            .list(&prefix)
            .await?
            .into_iter()
            .filter_map(|key| {
                let name = key.strip_prefix(&prefix)?.strip_suffix(".json")?;
                let (base, seq) = name.split_once('-')?;
                Some((base.parse().ok()?, seq.parse().ok()?, key.clone()))
            })
            .collect();
        objects.sort();
        Ok(objects)
    }

    async fn cursor_from_store(&self) -> Result<Cursor, StateError> {
        let document = self.read_document().await?;
        let base = document.as_ref().map(|(d, _)| d.serial + 1).unwrap_or(0);
        let next_seq = self
            .journal_objects()
            .await?
            .iter()
            .filter(|(b, _, _)| *b == base)
            .map(|(_, seq, _)| seq + 1)
            .max()
            .unwrap_or(0);
        Ok(Cursor {
            etag: document.as_ref().and_then(|(_, etag)| etag.clone()),
            serial: document.as_ref().map(|(d, _)| d.serial),
            lineage: document.map(|(d, _)| d.lineage),
            base,
            next_seq,
        })
    }

    async fn read_lock(&self) -> Result<Option<(LockInfo, Option<String>)>, StateError> {
        let key = self.lock_key();
        let Some((bytes, etag)) = self.get(&key).await? else {
            return Ok(None);
        };
        let lock = serde_json::from_slice(&bytes).map_err(|e| StateError::Corrupt {
            location: self.location(&key),
            reason: e.to_string(),
        })?;
        Ok(Some((lock, etag)))
    }

    /// The earlier documents the versioned bucket keeps (at most [`KEPT_VERSIONS`]), newest
    /// first, with the version id each came from.
    async fn earlier_documents(&self) -> Result<Vec<(String, StateDocument)>, StateError> {
        let key = self.state_key();
        let location = self.location(&key);
        let mut out = Vec::new();
        for (version, latest, marker) in self.versions(&key).await? {
            if marker || latest {
                continue; // a deletion, or the current document itself
            }
            let bytes = self.get_version(&key, &version).await?;
            let bytes = self.codec.open(bytes, &location)?;
            out.push((
                version,
                parse_document(&bytes, std::path::Path::new(&location))?,
            ));
            if out.len() == READ_VERSIONS {
                break;
            }
        }
        // Listing times have a second's precision: order by serial.
        out.sort_by_key(|(_, document)| std::cmp::Reverse(document.serial));
        out.truncate(KEPT_VERSIONS);
        Ok(out)
    }

    fn lock_bytes(lock: &LockInfo) -> Result<Vec<u8>, StateError> {
        serde_json::to_vec_pretty(lock)
            .map_err(|e| StateError::Backend(format!("encoding the lock: {e}")))
    }
}

#[async_trait]
impl StateStore for S3Store {
    fn describe(&self) -> String {
        match &self.settings.endpoint {
            Some(endpoint) => format!(
                "S3 object {} at {endpoint}",
                self.location(&self.state_key())
            ),
            None => format!("S3 object {}", self.location(&self.state_key())),
        }
    }

    async fn load(&self) -> Result<Option<StateDocument>, StateError> {
        self.probe().await?;
        let stored = self.read_document().await?;
        let base = stored.as_ref().map(|(d, _)| d.serial + 1).unwrap_or(0);
        let mut cursor = Cursor {
            etag: stored.as_ref().and_then(|(_, etag)| etag.clone()),
            serial: stored.as_ref().map(|(d, _)| d.serial),
            lineage: stored.as_ref().map(|(d, _)| d.lineage.clone()),
            base,
            next_seq: 0,
        };
        let mut document = stored.map(|(d, _)| d);
        for (_, seq, key) in self
            .journal_objects()
            .await?
            .into_iter()
            .filter(|(b, _, _)| *b == base)
        {
            cursor.next_seq = seq + 1;
            let Some((bytes, _)) = self.get(&key).await? else {
                continue;
            };
            let location = self.location(&key);
            let bytes = self.codec.open(bytes, &location)?;
            let entries: Vec<JournalEntry> =
                serde_json::from_slice(&bytes).map_err(|e| StateError::Corrupt {
                    location: location.clone(),
                    reason: e.to_string(),
                })?;
            let doc = document.get_or_insert_with(|| StateDocument::new(env!("CARGO_PKG_VERSION")));
            for entry in entries {
                doc.apply_owned(entry);
            }
        }
        *self.cursor.lock().await = Some(cursor);
        Ok(document)
    }

    async fn append(&self, entries: &[JournalEntry]) -> Result<(), StateError> {
        if entries.is_empty() {
            return Ok(());
        }
        self.probe().await?;
        let plain = serde_json::to_vec(entries)
            .map_err(|e| StateError::Backend(format!("encoding journal: {e}")))?;
        let bytes = self.codec.seal(plain)?;
        let mut guard = self.cursor.lock().await;
        if guard.is_none() {
            *guard = Some(self.cursor_from_store().await?);
        }
        let cursor = guard
            .as_mut()
            .ok_or_else(|| StateError::Backend("journal cursor missing".into()))?;
        for _ in 0..64 {
            let key = format!(
                "{}{:020}-{:010}.json",
                self.journal_prefix(),
                cursor.base,
                cursor.next_seq
            );
            cursor.next_seq += 1;
            if let Written::Stored(_) = self.put(&key, bytes.clone(), None).await? {
                return Ok(());
            }
        }
        Err(StateError::Conflict(format!(
            "another writer keeps appending to the journal under {}; is the state locked?",
            self.location(&self.journal_prefix())
        )))
    }

    async fn compact(&self, document: &StateDocument) -> Result<(), StateError> {
        self.probe().await?;
        let mut guard = self.cursor.lock().await;
        if guard.is_none() {
            *guard = Some(self.cursor_from_store().await?);
        }
        let cursor = guard
            .clone()
            .ok_or_else(|| StateError::Backend("state cursor missing".into()))?;
        let key = self.state_key();
        if let Some(lineage) = &cursor.lineage {
            if *lineage != document.lineage {
                return Err(StateError::Conflict(format!(
                    "{} has lineage {lineage}, this run has {}",
                    self.location(&key),
                    document.lineage
                )));
            }
        }
        if let Some(serial) = cursor.serial {
            if serial >= document.serial {
                return Err(StateError::Conflict(format!(
                    "{} is at serial {serial}, this run would write serial {}",
                    self.location(&key),
                    document.serial
                )));
            }
        }
        let plain = serde_json::to_vec_pretty(document)
            .map_err(|e| StateError::Backend(format!("encoding state: {e}")))?;
        let bytes = self.codec.seal(plain)?;
        let written = match (&cursor.etag, cursor.serial) {
            (Some(etag), _) => self.put(&key, bytes, Some(etag)).await?,
            (None, None) => self.put(&key, bytes, None).await?,
            (None, Some(_)) => {
                return Err(StateError::Backend(format!(
                    "{} returned no ETag; cannot write it safely",
                    self.endpoint()
                )))
            }
        };
        let Written::Stored(etag) = written else {
            *guard = None;
            if self
                .read_document()
                .await
                .ok()
                .flatten()
                .is_some_and(|(stored, _)| stored == *document)
            {
                // Our write was stored but its answer lost; the SDK's retry was refused.
                return Ok(());
            }
            return Err(StateError::Conflict(format!(
                "{} was changed by another run since this one read it (lost race); nothing was \
                 overwritten: plan again",
                self.location(&key)
            )));
        };
        let base = document.serial + 1;
        *guard = Some(Cursor {
            etag: etag.clone(),
            serial: Some(document.serial),
            lineage: Some(document.lineage.clone()),
            base,
            next_seq: 0,
        });
        if etag.is_none() {
            *guard = None;
        }
        drop(guard);
        // The folded journal is now ignored at load (older base); delete it. A failure here
        // leaves harmless leftovers for the next compaction.
        if let Ok(objects) = self.journal_objects().await {
            for (_, _, key) in objects.into_iter().filter(|(b, _, _)| *b < base) {
                let _ = self.delete(&key, None).await;
            }
        }
        Ok(())
    }

    async fn lock(&self, request: &LockRequest) -> Result<LockInfo, StateError> {
        self.probe().await?;
        let key = self.lock_key();
        let mut lock = LockInfo::for_this_process(request);
        for _ in 0..8 {
            lock.took_over = None;
            if let Written::Stored(_) = self.put(&key, Self::lock_bytes(&lock)?, None).await? {
                return Ok(lock);
            }
            let Some((holder, etag)) = self.read_lock().await? else {
                continue;
            };
            if holder.id == lock.id {
                // Our first attempt was stored but its answer lost; the SDK's retry was refused.
                return Ok(lock);
            }
            if !holder.expired() {
                return Err(StateError::Locked(Box::new(holder)));
            }
            let Some(etag) = etag else {
                return Err(StateError::Locked(Box::new(holder)));
            };
            lock.took_over = Some(holder.describe());
            if let Written::Stored(_) = self
                .put(&key, Self::lock_bytes(&lock)?, Some(&etag))
                .await?
            {
                return Ok(lock);
            }
            // Someone else took it over first: report them.
            if let Some((current, _)) = self.read_lock().await? {
                return Err(StateError::Locked(Box::new(current)));
            }
        }
        Err(StateError::Conflict(format!(
            "the lock {} kept changing; try again",
            self.location(&key)
        )))
    }

    async fn renew(&self, lock: &LockInfo) -> Result<LockInfo, StateError> {
        let key = self.lock_key();
        match self.read_lock().await? {
            Some((current, Some(etag))) if current.id == lock.id => {
                let mut renewed = current;
                renewed.expires = crate::document::now_unix() + lock.lease();
                match self
                    .put(&key, Self::lock_bytes(&renewed)?, Some(&etag))
                    .await?
                {
                    Written::Stored(_) => Ok(renewed),
                    Written::PreconditionFailed => match self.read_lock().await? {
                        Some((other, _)) => Err(StateError::Locked(Box::new(other))),
                        None => Err(StateError::NoSuchLock(lock.id.clone())),
                    },
                }
            }
            Some((other, _)) => Err(StateError::Locked(Box::new(other))),
            None => Err(StateError::NoSuchLock(lock.id.clone())),
        }
    }

    async fn unlock(&self, lock: &LockInfo) -> Result<(), StateError> {
        match self.read_lock().await? {
            Some((current, etag)) if current.id == lock.id => {
                self.delete(&self.lock_key(), etag.as_deref()).await?;
                Ok(())
            }
            _ => Ok(()),
        }
    }

    async fn locks(&self) -> Result<Vec<LockInfo>, StateError> {
        Ok(self
            .read_lock()
            .await?
            .map(|(lock, _)| lock)
            .into_iter()
            .collect())
    }

    async fn force_unlock(&self, id: &str) -> Result<(), StateError> {
        match self.read_lock().await? {
            Some((current, etag)) if current.id == id => {
                if self.delete(&self.lock_key(), etag.as_deref()).await? {
                    Ok(())
                } else {
                    Err(StateError::Conflict(format!(
                        "lock {id} changed while it was being removed; look again"
                    )))
                }
            }
            _ => Err(StateError::NoSuchLock(id.to_string())),
        }
    }

    async fn evidence(&self) -> Result<Vec<String>, StateError> {
        let mut evidence = Vec::new();
        let journal = self.journal_objects().await?;
        if !journal.is_empty() {
            evidence.push(format!(
                "{} journal object(s) of it exist under {}",
                journal.len(),
                self.location(&self.journal_prefix())
            ));
        }
        // A lock object is no evidence: the run asking holds the lock itself while it loads.
        let key = self.state_key();
        let versions = self.versions(&key).await?;
        let earlier = versions.iter().filter(|(_, _, marker)| !marker).count();
        if earlier > 0 {
            evidence.push(format!(
                "the bucket keeps {earlier} earlier version(s) of {}{}",
                self.location(&key),
                if versions.first().is_some_and(|v| v.2) {
                    " (the current one is a deletion)"
                } else {
                    ""
                }
            ));
        }
        Ok(evidence)
    }

    async fn backups(&self) -> Result<Vec<Backup>, StateError> {
        let key = self.state_key();
        Ok(self
            .earlier_documents()
            .await?
            .into_iter()
            .map(|(version, document)| Backup {
                id: document.serial.to_string(),
                serial: document.serial,
                location: format!("{} (version {version})", self.location(&key)),
                resources: document.resources.len(),
            })
            .collect())
    }

    async fn read_backup(&self, id: &str) -> Result<StateDocument, StateError> {
        let serial: u64 = id
            .parse()
            .map_err(|_| StateError::Edit(format!("`{id}` is not a backup serial")))?;
        self.earlier_documents()
            .await?
            .into_iter()
            .map(|(_, document)| document)
            .find(|d| d.serial == serial)
            .ok_or_else(|| {
                StateError::Edit(format!(
                    "no earlier version of {} has serial {serial}",
                    self.location(&self.state_key())
                ))
            })
    }

    async fn ensure_home(&self) -> Result<(), StateError> {
        crate::s3_home::ensure_bucket(self.client().await, &self.settings).await?;
        self.probe().await
    }
}
