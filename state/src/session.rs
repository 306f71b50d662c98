//! One run's hold on a state document, and the only place its serial and Plinth version are
//! bumped. Apply, import, rollback and the state edits all go through it:
//!
//! 1. [`Session::open`]: a new state is persisted empty first (its lineage is fixed before
//!    any cloud change), and a document of an older format is written whole first (naming
//!    its stack), so the journal of this run amends exactly what it read;
//! 2. [`Session::append`] (intent → result, durable before the next provider call) or
//!    [`Session::document_mut`] for whole-document edits;
//! 3. [`Session::commit`] (the next serial as a small journal entry, the backend compacting
//!    when its journal has grown) or [`Session::compact`] (the whole document as the next
//!    serial).

use crate::document::{JournalEntry, StateDocument};
use crate::error::StateError;
use crate::store::StateStore;

/// A state document being changed by one run (the caller holds the lock).
pub struct Session<'s> {
    store: &'s dyn StateStore,
    document: StateDocument,
    version: String,
}

impl<'s> Session<'s> {
    /// Starts changing `loaded` (what [`StateStore::load`] returned) as Plinth `version`.
    pub async fn open(
        store: &'s dyn StateStore,
        loaded: Option<StateDocument>,
        version: &str,
    ) -> Result<Self, StateError> {
        let document = match loaded {
            None => {
                let document = StateDocument::new(version);
                store.compact(&document).await?;
                store.load().await?.unwrap_or(document)
            }
            Some(mut document) if document.stack.is_none() => {
                document.serial += 1;
                document.plinth_version = version.to_string();
                store.compact(&document).await?;
                store.load().await?.ok_or_else(|| {
                    StateError::Backend("the state vanished while it was upgraded".into())
                })?
            }
            Some(document) => document,
        };
        Ok(Session {
            store,
            document,
            version: version.to_string(),
        })
    }

    /// The document as this run knows it.
    pub fn document(&self) -> &StateDocument {
        &self.document
    }

    /// The document, for a whole-document edit written by [`Session::compact`].
    pub fn document_mut(&mut self) -> &mut StateDocument {
        &mut self.document
    }

    /// Takes the document back from a writer that kept it up to date with what it made
    /// durable (the apply's journal writer).
    pub fn replace(&mut self, document: StateDocument) {
        self.document = document;
    }

    /// Makes `entries` durable, then applies them to the document.
    pub async fn append(&mut self, entries: &[JournalEntry]) -> Result<(), StateError> {
        self.store.append(entries).await?;
        for entry in entries {
            self.document.apply(entry);
        }
        Ok(())
    }

    fn bump(&mut self) {
        self.document.serial += 1;
        self.document.plinth_version = self.version.clone();
    }

    /// Ends a run that changed something through the journal: the next serial.
    pub async fn commit(mut self) -> Result<StateDocument, StateError> {
        self.bump();
        self.store.commit(&self.document).await?;
        Ok(self.document)
    }

    /// Ends a run that edited the document: the whole document as the next serial.
    pub async fn compact(mut self) -> Result<StateDocument, StateError> {
        self.bump();
        self.store.compact(&self.document).await?;
        Ok(self.document)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block_on;
    use crate::document::{ResourceRecord, ResourceStatus};
    use crate::identity::IdentifiedStore;
    use crate::local::LocalStore;

    fn put(address: &str) -> JournalEntry {
        JournalEntry::Put(Box::new(ResourceRecord {
            address: address.into(),
            type_name: "sim".into(),
            id: Some("id".into()),
            attributes: Default::default(),
            dependencies: vec![],
            status: ResourceStatus::Ready,
            pending: None,
            prevent_destroy: false,
        }))
    }

    #[test]
    fn a_new_state_is_persisted_before_changes_and_each_end_is_the_next_serial() {
        let dir = tempfile::tempdir().unwrap();
        let store = IdentifiedStore::new(Box::new(LocalStore::new(dir.path(), "dev")), "s", "dev");
        let mut session = block_on(Session::open(&store, None, "9.9.9")).unwrap();
        let lineage = session.document().lineage.clone();
        // Persisted empty at serial 0, naming its stack.
        let stored = block_on(store.load()).unwrap().unwrap();
        assert_eq!(
            (stored.serial, stored.lineage.as_str()),
            (0, lineage.as_str())
        );
        assert_eq!(stored.stack.as_deref(), Some("s"));
        block_on(session.append(&[put("a.b")])).unwrap();
        assert!(session.document().resources.contains_key("a.b"));
        let committed = block_on(session.commit()).unwrap();
        assert_eq!(committed.serial, 1);
        let again = block_on(store.load()).unwrap().unwrap();
        assert_eq!(again, committed);
        // A whole-document edit is the next serial again.
        let mut edit = block_on(Session::open(&store, Some(again), "9.9.9")).unwrap();
        edit.document_mut().resources.clear();
        assert_eq!(block_on(edit.compact()).unwrap().serial, 2);
    }

    #[test]
    fn an_older_document_is_written_whole_before_the_run_changes_it() {
        let dir = tempfile::tempdir().unwrap();
        let raw = LocalStore::new(dir.path(), "dev");
        let mut old = StateDocument::new("0.1.0");
        old.format_version = 1;
        old.serial = 4;
        block_on(raw.compact(&old)).unwrap();
        let store = IdentifiedStore::new(Box::new(LocalStore::new(dir.path(), "dev")), "s", "dev");
        let loaded = block_on(store.load()).unwrap();
        let session = block_on(Session::open(&store, loaded, "9.9.9")).unwrap();
        assert_eq!(session.document().serial, 5);
        let stored = block_on(raw.load()).unwrap().unwrap();
        assert_eq!(stored.stack.as_deref(), Some("s"));
        assert_eq!(stored.format_version, crate::document::FORMAT_VERSION);
    }
}
