//! The store every engine command uses: any backend wrapped so that a state is only ever
//! read and written as the state of one stack and environment.
//!
//! - A document that names another stack or environment is refused on read
//!   ([`StateError::Foreign`]) and on write (`state push` of another stack's state).
//! - A document read in an older format is upgraded in memory ([`StateDocument::upgrade`]);
//!   every write stamps the stack, the environment and the current format version.
//! - No document where the backend holds evidence of an earlier one (a journal, backups) is
//!   refused ([`StateError::Missing`]) with the restore command, unless the user asks to start
//!   empty ([`START_EMPTY_ENV`]).
//! - An unreadable document's error names the newest backup and how to restore it.

use std::borrow::Cow;

use async_trait::async_trait;

use crate::document::{JournalEntry, StateDocument, FORMAT_VERSION};
use crate::error::StateError;
use crate::store::{Backup, LockInfo, LockRequest, StateStore};

/// Set to `1` to start from an empty state although evidence of an earlier one exists.
pub const START_EMPTY_ENV: &str = "PLINTH_START_EMPTY_STATE";

/// A backend bound to one stack and environment (see the module documentation).
pub struct IdentifiedStore {
    inner: Box<dyn StateStore>,
    stack: String,
    environment: String,
}

impl IdentifiedStore {
    /// Binds `inner` to `stack` / `environment`.
    pub fn new(inner: Box<dyn StateStore>, stack: &str, environment: &str) -> Self {
        IdentifiedStore {
            inner,
            stack: stack.to_string(),
            environment: environment.to_string(),
        }
    }

    fn expected(&self) -> String {
        format!("stack `{}` environment `{}`", self.stack, self.environment)
    }

    /// Refuses a document of another stack or environment. A document that names neither
    /// (format 1) is accepted: it is stamped at its next write.
    fn check(&self, document: &StateDocument) -> Result<(), StateError> {
        let stack_differs = document.stack.as_ref().is_some_and(|s| *s != self.stack);
        let env_differs = document
            .environment
            .as_ref()
            .is_some_and(|e| *e != self.environment);
        if stack_differs || env_differs {
            return Err(StateError::Foreign {
                location: self.inner.describe(),
                found: format!(
                    "stack `{}` environment `{}`",
                    document.stack.as_deref().unwrap_or("?"),
                    document.environment.as_deref().unwrap_or("?")
                ),
                expected: self.expected(),
            });
        }
        Ok(())
    }

    /// The document as it is written: checked, and carrying this stack's identity and the
    /// current format. Borrowed when it already does (every write after the first), so a
    /// large state is not copied on each commit.
    fn stamped<'d>(
        &self,
        document: &'d StateDocument,
    ) -> Result<Cow<'d, StateDocument>, StateError> {
        self.check(document)?;
        if document.stack.as_deref() == Some(self.stack.as_str())
            && document.environment.as_deref() == Some(self.environment.as_str())
            && document.format_version == FORMAT_VERSION
        {
            return Ok(Cow::Borrowed(document));
        }
        let mut document = document.clone();
        document.stack = Some(self.stack.clone());
        document.environment = Some(self.environment.clone());
        document.format_version = FORMAT_VERSION;
        Ok(Cow::Owned(document))
    }

    /// How to get back the newest backup, for error messages.
    async fn restore_hint(&self) -> String {
        match self.inner.backups().await {
            Ok(backups) if !backups.is_empty() => {
                let newest = &backups[0];
                format!(
                    "The newest backup is serial {} ({} resources) at {}: restore it with `plinth state \
                     restore` (or `plinth state restore --list` to choose one).",
                    newest.serial, newest.resources, newest.location
                )
            }
            _ => "Restore the document from your own copy with `plinth state push FILE`.".into(),
        }
    }
}

#[async_trait]
impl StateStore for IdentifiedStore {
    fn describe(&self) -> String {
        self.inner.describe()
    }

    async fn load(&self) -> Result<Option<StateDocument>, StateError> {
        let loaded = match self.inner.load().await {
            Ok(loaded) => loaded,
            Err(StateError::Corrupt { location, reason }) => {
                let hint = self.restore_hint().await;
                return Err(StateError::Corrupt {
                    location,
                    reason: format!("{reason}. {hint}"),
                });
            }
            Err(e) => return Err(e),
        };
        match loaded {
            Some(mut document) => {
                self.check(&document)?;
                document.upgrade();
                Ok(Some(document))
            }
            None => {
                if std::env::var(START_EMPTY_ENV).is_ok_and(|v| v == "1") {
                    return Ok(None);
                }
                let evidence = self.inner.evidence().await?;
                if evidence.is_empty() {
                    return Ok(None);
                }
                Err(StateError::Missing {
                    location: self.inner.describe(),
                    evidence: evidence.join(", "),
                    restore: format!(
                        "{} To start from nothing deliberately, set {START_EMPTY_ENV}=1.",
                        self.restore_hint().await
                    ),
                })
            }
        }
    }

    async fn append(&self, entries: &[JournalEntry]) -> Result<(), StateError> {
        self.inner.append(entries).await
    }

    async fn compact(&self, document: &StateDocument) -> Result<(), StateError> {
        self.inner.compact(&*self.stamped(document)?).await
    }

    async fn commit(&self, document: &StateDocument) -> Result<(), StateError> {
        let stamped = self.stamped(document)?;
        if document.stack.is_none() || document.format_version != FORMAT_VERSION {
            // The stored document does not name its stack yet: write it whole.
            self.inner.compact(&stamped).await
        } else {
            self.inner.commit(&stamped).await
        }
    }

    async fn lock(&self, request: &LockRequest) -> Result<LockInfo, StateError> {
        self.inner.lock(request).await
    }

    async fn renew(&self, lock: &LockInfo) -> Result<LockInfo, StateError> {
        self.inner.renew(lock).await
    }

    async fn unlock(&self, lock: &LockInfo) -> Result<(), StateError> {
        self.inner.unlock(lock).await
    }

    async fn locks(&self) -> Result<Vec<LockInfo>, StateError> {
        self.inner.locks().await
    }

    async fn force_unlock(&self, id: &str) -> Result<(), StateError> {
        self.inner.force_unlock(id).await
    }

    async fn evidence(&self) -> Result<Vec<String>, StateError> {
        self.inner.evidence().await
    }

    async fn backups(&self) -> Result<Vec<Backup>, StateError> {
        self.inner.backups().await
    }

    async fn read_backup(&self, id: &str) -> Result<StateDocument, StateError> {
        let document = self.inner.read_backup(id).await?;
        self.check(&document)?;
        Ok(document)
    }

    async fn ensure_home(&self) -> Result<(), StateError> {
        self.inner.ensure_home().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block_on;
    use crate::local::LocalStore;

    fn store(dir: &std::path::Path, stack: &str) -> IdentifiedStore {
        IdentifiedStore::new(Box::new(LocalStore::new(dir, "dev")), stack, "dev")
    }

    #[test]
    fn writes_stamp_the_stack_and_reads_refuse_another_stacks_state() {
        let dir = tempfile::tempdir().unwrap();
        let b = store(dir.path(), "b");
        let mut doc = StateDocument::new("test");
        doc.serial = 1;
        block_on(b.compact(&doc)).unwrap();
        let read = block_on(b.load()).unwrap().unwrap();
        assert_eq!(read.stack.as_deref(), Some("b"));
        assert_eq!(read.environment.as_deref(), Some("dev"));
        let a = store(dir.path(), "a");
        let refused = block_on(a.load()).unwrap_err().to_string();
        assert!(
            refused.contains("belongs to stack `b` environment `dev`, not to stack `a`"),
            "{refused}"
        );
        // Writing b's document through a's store (a push) is refused too.
        let mut pushed = read.clone();
        pushed.serial = 2;
        assert!(matches!(
            block_on(a.compact(&pushed)),
            Err(StateError::Foreign { .. })
        ));
    }

    #[test]
    fn a_document_of_format_one_is_accepted_and_stamped_at_commit() {
        let dir = tempfile::tempdir().unwrap();
        let raw = LocalStore::new(dir.path(), "dev");
        let mut doc = StateDocument::new("test");
        doc.format_version = 1;
        doc.serial = 3;
        block_on(raw.compact(&doc)).unwrap();
        let a = store(dir.path(), "a");
        let mut read = block_on(a.load()).unwrap().unwrap();
        assert_eq!(read.stack, None);
        read.serial = 4;
        block_on(a.commit(&read)).unwrap();
        let again = block_on(a.load()).unwrap().unwrap();
        assert_eq!(again.stack.as_deref(), Some("a"));
        assert_eq!(again.format_version, FORMAT_VERSION);
    }
}
