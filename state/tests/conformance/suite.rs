//! The conformance suite every state backend passes (modelled on Terraform's backend test
//! suite). Each case uses its own stack name, so the cases share one emulator.

use std::sync::Arc;
use std::time::Duration;

use plinth_state::{
    spawn_renewal, Encryption, JournalEntry, LockRequest, Passphrase, ResourceRecord,
    ResourceStatus, StateDocument, StateError, StateStore,
};

/// The environment every case uses.
pub const ENVIRONMENT: &str = "prod";
/// A secret that must never appear in the stored bytes of an encrypted state.
const SECRET: &str = "generated-secret-9f1c2e";
/// A plain attribute value that must not appear either.
const ATTRIBUTE: &str = "attribute-value-7d3b1a";

/// What the suite needs from a backend besides the store itself: raw access to what it
/// stored, through the backend's own client (files, S3 objects, table rows).
#[async_trait::async_trait]
pub trait Backend: Send + Sync {
    /// `local`, `s3`, `postgres`.
    fn name(&self) -> &'static str;
    /// A new, independent store (own connections) for `stack`.
    async fn store(&self, stack: &str, codec: Arc<Encryption>) -> Box<dyn StateStore>;
    /// The stored document bytes.
    async fn raw_document(&self, stack: &str) -> Option<Vec<u8>>;
    /// Every stored byte of the state (document and journal).
    async fn raw_all(&self, stack: &str) -> Vec<u8>;
    /// Replaces the stored document bytes.
    async fn overwrite_document(&self, stack: &str, bytes: &[u8]);
}

/// One run of the suite: a backend, plain or encrypted.
pub struct Suite<B: Backend> {
    /// The backend.
    pub backend: B,
    /// Whether stores encrypt.
    pub encrypted: bool,
    codec: Arc<Encryption>,
}

fn passphrase(text: &str) -> Option<Passphrase> {
    Some(Passphrase::new(text, "`TEST_PASSPHRASE`"))
}

fn codec(encrypt: bool, current: Option<&str>, previous: Option<&str>) -> Arc<Encryption> {
    Arc::new(
        Encryption::new(
            encrypt,
            current.and_then(passphrase),
            previous.and_then(passphrase),
        )
        .unwrap(),
    )
}

fn put(address: &str, value: &str) -> JournalEntry {
    let mut attributes = serde_json::Map::new();
    attributes.insert("value".into(), serde_json::Value::from(value));
    JournalEntry::Put(Box::new(ResourceRecord {
        address: address.into(),
        type_name: "sim_resource".into(),
        id: Some(format!("id-{address}")),
        attributes,
        dependencies: vec![],
        status: ResourceStatus::Ready,
        pending: None,
        prevent_destroy: false,
    }))
}

fn request(lease_seconds: u64) -> LockRequest {
    LockRequest {
        operation: "apply".into(),
        lease_seconds,
    }
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

impl<B: Backend> Suite<B> {
    /// A suite run; encrypted runs share one codec (one key derivation).
    pub fn new(backend: B, encrypted: bool) -> Self {
        let codec = if encrypted {
            codec(true, Some("conformance passphrase"), None)
        } else {
            codec(false, None, None)
        };
        Suite {
            backend,
            encrypted,
            codec,
        }
    }

    fn stack(&self, case: &str) -> String {
        format!("{case}-{}", if self.encrypted { "enc" } else { "plain" })
    }

    async fn store(&self, stack: &str) -> Box<dyn StateStore> {
        self.backend.store(stack, self.codec.clone()).await
    }

    /// Runs every case; returns how many of 8 concurrent lockers won.
    pub async fn run(&self) -> usize {
        let label = format!(
            "{} ({})",
            self.backend.name(),
            if self.encrypted { "encrypted" } else { "plain" }
        );
        let started = std::time::Instant::now();
        self.empty_read().await;
        self.round_trip().await;
        self.serial_and_lineage().await;
        self.lost_race().await;
        let winners = self.contention().await;
        self.lease_takeover().await;
        self.renewal_keeps_the_lease().await;
        self.force_unlock().await;
        self.corrupt_document().await;
        if self.encrypted {
            self.no_plaintext_at_rest().await;
            self.wrong_key().await;
            self.rotation().await;
            self.migration().await;
        }
        eprintln!(
            "conformance {label}: all cases passed in {:.1}s; {winners} of 8 concurrent lockers won",
            started.elapsed().as_secs_f64()
        );
        winners
    }

    async fn empty_read(&self) {
        let store = self.store(&self.stack("empty")).await;
        assert!(
            store.load().await.unwrap().is_none(),
            "a new state is empty"
        );
        assert!(
            store.locks().await.unwrap().is_empty(),
            "a new state has no locks"
        );
    }

    /// Writes a document with one resource and a secret at serial 1; returns it.
    async fn seed(&self, store: &dyn StateStore) -> StateDocument {
        store.append(&[put("sim.one", ATTRIBUTE)]).await.unwrap();
        store
            .append(&[JournalEntry::Secret {
                name: "db".into(),
                value: SECRET.into(),
            }])
            .await
            .unwrap();
        let mut doc = store
            .load()
            .await
            .unwrap()
            .expect("the journal makes a document");
        doc.serial += 1;
        store.compact(&doc).await.unwrap();
        doc
    }

    async fn round_trip(&self) {
        let stack = self.stack("round-trip");
        let store = self.store(&stack).await;
        let doc = self.seed(store.as_ref()).await;
        assert_eq!(doc.resources.len(), 1);
        assert_eq!(doc.secrets.get("db").map(String::as_str), Some(SECRET));
        let fresh = self.store(&stack).await;
        assert_eq!(
            fresh.load().await.unwrap().as_ref(),
            Some(&doc),
            "a new store reads what was written"
        );
        // Journal entries after a compaction fold into the new document.
        fresh
            .append(&[
                put("sim.two", "two"),
                JournalEntry::Remove {
                    address: "sim.one".into(),
                },
            ])
            .await
            .unwrap();
        let mut again = self.store(&stack).await.load().await.unwrap().unwrap();
        assert_eq!(again.serial, doc.serial, "appends do not change the serial");
        assert_eq!(again.resources.keys().collect::<Vec<_>>(), vec!["sim.two"]);
        again.serial += 1;
        fresh.compact(&again).await.unwrap();
        assert_eq!(
            self.store(&stack).await.load().await.unwrap(),
            Some(again),
            "compaction keeps the journal"
        );
    }

    async fn serial_and_lineage(&self) {
        let stack = self.stack("serial");
        let store = self.store(&stack).await;
        let doc = self.seed(store.as_ref()).await;
        let same = self.store(&stack).await;
        same.load().await.unwrap();
        let result = same.compact(&doc).await;
        assert!(
            matches!(result, Err(StateError::Conflict(_))),
            "same serial is refused: {result:?}"
        );
        let mut older = doc.clone();
        older.serial -= 1;
        assert!(
            matches!(same.compact(&older).await, Err(StateError::Conflict(_))),
            "a lower serial is refused"
        );
        let mut other = StateDocument::new("test");
        other.serial = doc.serial + 5;
        let result = same.compact(&other).await;
        match result {
            Err(StateError::Conflict(message)) => assert!(message.contains("lineage"), "{message}"),
            other => panic!("a different lineage is refused, got {other:?}"),
        }
        assert_eq!(
            self.store(&stack).await.load().await.unwrap(),
            Some(doc),
            "nothing was overwritten"
        );
    }

    async fn lost_race(&self) {
        let stack = self.stack("lost-race");
        let seed = self.store(&stack).await;
        self.seed(seed.as_ref()).await;
        let (a, b) = (self.store(&stack).await, self.store(&stack).await);
        let mut doc_a = a.load().await.unwrap().unwrap();
        let mut doc_b = b.load().await.unwrap().unwrap();
        doc_a.serial += 1;
        doc_a.outputs.insert("winner".into(), "a".into());
        a.compact(&doc_a).await.unwrap();
        doc_b.serial += 2; // even a higher serial must not overwrite what B never saw
        doc_b.outputs.insert("winner".into(), "b".into());
        let result = b.compact(&doc_b).await;
        assert!(
            matches!(result, Err(StateError::Conflict(_))),
            "the second writer loses: {result:?}"
        );
        assert_eq!(
            self.store(&stack).await.load().await.unwrap(),
            Some(doc_a.clone()),
            "the winner's state stays"
        );
        // After reading again, B can write.
        let mut reread = b.load().await.unwrap().unwrap();
        reread.serial += 1;
        b.compact(&reread).await.unwrap();
    }

    async fn contention(&self) -> usize {
        let stack = self.stack("contention");
        let mut stores = Vec::new();
        for _ in 0..8 {
            stores.push(Arc::<dyn StateStore>::from(self.store(&stack).await));
        }
        // Warm every store (connections, endpoint probe) so the lock calls really race.
        for store in &stores {
            store.locks().await.unwrap();
        }
        let barrier = Arc::new(tokio::sync::Barrier::new(stores.len()));
        let tasks: Vec<_> = stores
            .iter()
            .cloned()
            .map(|store| {
                let barrier = barrier.clone();
                tokio::spawn(async move {
                    barrier.wait().await;
                    store.lock(&request(60)).await
                })
            })
            .collect();
        let mut won = Vec::new();
        let mut refused = Vec::new();
        for task in tasks {
            match task.await.unwrap() {
                Ok(lock) => won.push(lock),
                Err(StateError::Locked(holder)) => refused.push(holder),
                Err(other) => panic!("a locker failed with something other than Locked: {other}"),
            }
        }
        assert_eq!(won.len(), 1, "exactly one of 8 concurrent lockers wins");
        assert_eq!(refused.len(), 7);
        for holder in &refused {
            assert_eq!(holder.id, won[0].id, "a refused locker names the winner");
        }
        let listed = stores[3].locks().await.unwrap();
        assert_eq!(
            listed.iter().map(|l| l.id.clone()).collect::<Vec<_>>(),
            vec![won[0].id.clone()]
        );
        for store in &stores {
            store.unlock(&won[0]).await.unwrap();
        }
        assert!(
            stores[0].locks().await.unwrap().is_empty(),
            "unlocked by its holder"
        );
        won.len()
    }

    async fn lease_takeover(&self) {
        let stack = self.stack("lease");
        let (old, new) = (self.store(&stack).await, self.store(&stack).await);
        let stale = old.lock(&request(1)).await.unwrap();
        tokio::time::sleep(Duration::from_millis(2200)).await;
        let taken = new
            .lock(&request(60))
            .await
            .expect("an expired lease is taken over");
        let named = taken
            .took_over
            .clone()
            .expect("took_over names the old holder");
        assert!(
            named.contains(&stale.id) && named.contains(&stale.owner),
            "{named}"
        );
        assert!(
            old.renew(&stale).await.is_err(),
            "the old holder cannot renew a lock it lost"
        );
        old.unlock(&stale).await.unwrap();
        let listed = new.locks().await.unwrap();
        assert_eq!(
            listed.len(),
            1,
            "the old holder's unlock left the new lock alone"
        );
        assert_eq!(listed[0].id, taken.id);
        new.unlock(&taken).await.unwrap();
    }

    async fn renewal_keeps_the_lease(&self) {
        let stack = self.stack("renewal");
        let holder: Arc<dyn StateStore> = Arc::from(self.store(&stack).await);
        let other = self.store(&stack).await;
        let lock = holder.lock(&request(2)).await.unwrap();
        let renewal = spawn_renewal(holder.clone(), lock.clone(), Duration::from_millis(400));
        tokio::time::sleep(Duration::from_millis(3200)).await;
        assert!(renewal.lost().is_none(), "{:?}", renewal.lost());
        match other.lock(&request(60)).await {
            Err(StateError::Locked(current)) => assert_eq!(current.id, lock.id),
            result => panic!("a renewed lease is not taken over: {result:?}"),
        }
        let renewed = renewal.stop().await.unwrap();
        assert!(
            renewed.expires > lock.expires,
            "renewals moved the lease forward"
        );
        holder.unlock(&renewed).await.unwrap();
        assert!(other.locks().await.unwrap().is_empty());
    }

    async fn force_unlock(&self) {
        let stack = self.stack("force-unlock");
        let (holder, admin) = (self.store(&stack).await, self.store(&stack).await);
        let lock = holder.lock(&request(300)).await.unwrap();
        assert!(matches!(
            admin.force_unlock("no-such-id").await,
            Err(StateError::NoSuchLock(_))
        ));
        let listed = admin.locks().await.unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(
            (listed[0].id.as_str(), listed[0].owner.as_str()),
            (lock.id.as_str(), lock.owner.as_str())
        );
        admin.force_unlock(&lock.id).await.unwrap();
        let mut taken = None;
        for _ in 0..50 {
            match admin.lock(&request(60)).await {
                Ok(lock) => {
                    taken = Some(lock);
                    break;
                }
                Err(StateError::Locked(_)) => tokio::time::sleep(Duration::from_millis(100)).await,
                Err(other) => panic!("locking after force-unlock: {other}"),
            }
        }
        let taken = taken.expect("the state can be locked after force-unlock");
        admin.unlock(&taken).await.unwrap();
    }

    async fn corrupt_document(&self) {
        let stack = self.stack("corrupt");
        let store = self.store(&stack).await;
        let doc = self.seed(store.as_ref()).await;
        let original = self.backend.raw_document(&stack).await.unwrap();
        let truncated = &original[..original.len() / 2];
        for broken in [truncated, b"not json at all".as_slice()] {
            self.backend.overwrite_document(&stack, broken).await;
            let fresh = self.store(&stack).await;
            let result = fresh.load().await;
            match &result {
                Err(StateError::Corrupt { location, reason }) => {
                    assert!(!location.is_empty() && !reason.is_empty(), "{result:?}")
                }
                other => panic!("a broken document is a Corrupt error, got {other:?}"),
            }
            let mut next = doc.clone();
            next.serial += 1;
            assert!(
                self.store(&stack).await.compact(&next).await.is_err(),
                "a broken state is not overwritten"
            );
            assert_eq!(
                self.backend.raw_document(&stack).await.unwrap(),
                broken,
                "the bytes stay as they were"
            );
        }
    }

    async fn no_plaintext_at_rest(&self) {
        let stack = self.stack("at-rest");
        let store = self.store(&stack).await;
        self.seed(store.as_ref()).await;
        store
            .append(&[put("sim.journal", ATTRIBUTE)])
            .await
            .unwrap();
        let raw = self.backend.raw_all(&stack).await;
        assert!(!raw.is_empty());
        assert!(
            !contains(&raw, SECRET),
            "the secret is not stored in plaintext"
        );
        assert!(
            !contains(&raw, ATTRIBUTE),
            "attribute values are not stored in plaintext"
        );
        assert!(
            !contains(&raw, "sim.one"),
            "addresses are not stored in plaintext"
        );
        assert!(Encryption::is_encrypted(
            &self.backend.raw_document(&stack).await.unwrap()
        ));
        let loaded = self.store(&stack).await.load().await.unwrap().unwrap();
        assert_eq!(loaded.secrets.get("db").map(String::as_str), Some(SECRET));
        assert!(loaded.resources.contains_key("sim.journal"));
    }

    async fn wrong_key(&self) {
        let stack = self.stack("wrong-key");
        let store = self.store(&stack).await;
        let doc = self.seed(store.as_ref()).await;
        let before = self.backend.raw_document(&stack).await;
        let wrong = self
            .backend
            .store(&stack, codec(true, Some("not the passphrase"), None))
            .await;
        match wrong.load().await {
            Err(StateError::Decrypt { reason, .. }) => {
                assert!(reason.contains("wrong passphrase"), "{reason}")
            }
            other => panic!("a wrong key is a Decrypt error, got {other:?}"),
        }
        let mut next = doc.clone();
        next.serial += 1;
        assert!(
            wrong.compact(&next).await.is_err(),
            "a wrong key never writes"
        );
        let none = self.backend.store(&stack, codec(false, None, None)).await;
        assert!(
            matches!(none.load().await, Err(StateError::Decrypt { .. })),
            "no key at all is a Decrypt error"
        );
        assert_eq!(
            self.backend.raw_document(&stack).await,
            before,
            "the state is untouched"
        );
    }

    async fn rotation(&self) {
        let stack = self.stack("rotation");
        let old = self
            .backend
            .store(&stack, codec(true, Some("old passphrase"), None))
            .await;
        let doc = self.seed(old.as_ref()).await;
        let rotating = self
            .backend
            .store(
                &stack,
                codec(true, Some("new passphrase"), Some("old passphrase")),
            )
            .await;
        let mut loaded = rotating
            .load()
            .await
            .unwrap()
            .expect("the previous key still reads");
        assert_eq!(loaded, doc);
        loaded.serial += 1;
        rotating.compact(&loaded).await.unwrap();
        let new_only = self
            .backend
            .store(&stack, codec(true, Some("new passphrase"), None))
            .await;
        assert_eq!(
            new_only.load().await.unwrap(),
            Some(loaded),
            "the next write used the current key"
        );
        let old_only = self
            .backend
            .store(&stack, codec(true, Some("old passphrase"), None))
            .await;
        assert!(
            matches!(old_only.load().await, Err(StateError::Decrypt { .. })),
            "the old key is retired"
        );
    }

    async fn migration(&self) {
        let stack = self.stack("migration");
        let plain = self.backend.store(&stack, codec(false, None, None)).await;
        let doc = self.seed(plain.as_ref()).await;
        assert!(!Encryption::is_encrypted(
            &self.backend.raw_document(&stack).await.unwrap()
        ));
        // Plain → encrypted: read as is, the next write encrypts.
        let on = self.store(&stack).await;
        let mut loaded = on.load().await.unwrap().unwrap();
        assert_eq!(loaded, doc);
        loaded.serial += 1;
        on.compact(&loaded).await.unwrap();
        assert!(Encryption::is_encrypted(
            &self.backend.raw_document(&stack).await.unwrap()
        ));
        // Encrypted → plain: `encryption = "off"` with the passphrase still set.
        let off = self
            .backend
            .store(&stack, codec(false, Some("conformance passphrase"), None))
            .await;
        let mut loaded = off.load().await.unwrap().unwrap();
        loaded.serial += 1;
        off.compact(&loaded).await.unwrap();
        let raw = self.backend.raw_document(&stack).await.unwrap();
        assert!(
            !Encryption::is_encrypted(&raw) && contains(&raw, SECRET),
            "written plain again"
        );
        assert_eq!(plain.load().await.unwrap(), Some(loaded));
    }
}
