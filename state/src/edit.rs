//! State edits for `plinth state mv | rm | push`: each runs under the state lock, loads the
//! current document, changes it, and compacts it as the next serial, so the edit obeys the
//! same lineage, serial and lost-race checks as an apply.
//!
//! The other state commands need no helper: `state list | show | pull` is
//! [`StateStore::load`], `lock list` is [`StateStore::locks`], `force-unlock ID` is
//! [`StateStore::force_unlock`] and `bootstrap` is [`StateStore::ensure_home`].

use std::future::Future;

use crate::document::{ResourceRecord, StateDocument};
use crate::error::StateError;
use crate::store::{LockInfo, LockRequest, StateStore};

/// Lease of the lock taken by a state edit (edits are short; nothing renews it).
pub const EDIT_LEASE_SECONDS: u64 = 120;

/// Runs `work` while holding the lock for `operation`, and always unlocks afterwards.
pub async fn with_lock<T, F, Fut>(
    store: &dyn StateStore,
    operation: &str,
    work: F,
) -> Result<T, StateError>
where
    F: FnOnce(LockInfo) -> Fut,
    Fut: Future<Output = Result<T, StateError>>,
{
    let request = LockRequest {
        operation: operation.to_string(),
        lease_seconds: EDIT_LEASE_SECONDS,
    };
    let lock = store.lock(&request).await?;
    let result = work(lock.clone()).await;
    let unlocked = store.unlock(&lock).await;
    let value = result?;
    unlocked?;
    Ok(value)
}

/// Locks, loads, applies `change`, writes the result as the next serial, unlocks.
/// Returns the written document. No state yet is [`StateError::Edit`].
pub async fn edit<F>(
    store: &dyn StateStore,
    operation: &str,
    change: F,
) -> Result<StateDocument, StateError>
where
    F: FnOnce(&mut StateDocument) -> Result<(), StateError>,
{
    with_lock(store, operation, |_| async move {
        let document = store.load().await?.ok_or_else(|| {
            StateError::Edit(format!("there is no state yet in {}", store.describe()))
        })?;
        let mut session =
            crate::session::Session::open(store, Some(document), env!("CARGO_PKG_VERSION")).await?;
        change(session.document_mut())?;
        session.compact().await
    })
    .await
}

/// `state mv FROM TO`: renames a resource address, and the dependencies that name it.
pub fn move_resource(document: &mut StateDocument, from: &str, to: &str) -> Result<(), StateError> {
    if document.resources.contains_key(to) {
        return Err(StateError::Edit(format!(
            "`{to}` is already in the state; remove it first"
        )));
    }
    let mut record = document
        .resources
        .remove(from)
        .ok_or_else(|| StateError::Edit(format!("`{from}` is not in the state")))?;
    record.address = to.to_string();
    if let Some(intent) = record.pending.as_mut() {
        intent.address = to.to_string();
    }
    document.resources.insert(to.to_string(), record);
    for other in document.resources.values_mut() {
        for dependency in other.dependencies.iter_mut().filter(|d| d.as_str() == from) {
            *dependency = to.to_string();
        }
    }
    Ok(())
}

/// `state rm ADDRESS...`: forgets resources (they stay in the cloud, unmanaged).
/// All addresses must exist; nothing is removed otherwise.
pub fn remove_resources(
    document: &mut StateDocument,
    addresses: &[String],
) -> Result<Vec<ResourceRecord>, StateError> {
    let missing: Vec<&str> = addresses
        .iter()
        .filter(|a| !document.resources.contains_key(*a))
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        return Err(StateError::Edit(format!(
            "not in the state: `{}`",
            missing.join("`, `")
        )));
    }
    Ok(addresses
        .iter()
        .filter_map(|a| document.resources.remove(a))
        .collect())
}

/// `state push FILE`: replaces the stored state with `document` under the lock.
///
/// The lineage must match the stored one (a different lineage is another state: refused,
/// even with `force`). The serial must be higher than the stored one; with `force` it is
/// raised to the stored serial + 1 instead of refusing.
pub async fn push(
    store: &dyn StateStore,
    mut document: StateDocument,
    force: bool,
) -> Result<StateDocument, StateError> {
    with_lock(store, "state push", |_| async move {
        if let Some(current) = store.load().await? {
            if current.lineage != document.lineage {
                return Err(StateError::Conflict(format!(
                    "the pushed state has lineage {}, the stored one {}: it is a different state",
                    document.lineage, current.lineage
                )));
            }
            if document.serial <= current.serial {
                if !force {
                    return Err(StateError::Conflict(format!(
                        "the pushed state has serial {}, not newer than the stored serial {}; pass --force \
                         to write it anyway",
                        document.serial, current.serial
                    )));
                }
                document.serial = current.serial + 1;
            }
        }
        store.compact(&document).await?;
        Ok(document)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::ResourceStatus;
    use crate::local::LocalStore;

    fn record(address: &str, dependencies: &[&str]) -> ResourceRecord {
        ResourceRecord {
            address: address.into(),
            type_name: "sim".into(),
            id: Some("id".into()),
            attributes: serde_json::Map::new(),
            dependencies: dependencies.iter().map(|d| d.to_string()).collect(),
            status: ResourceStatus::Ready,
            pending: None,
            prevent_destroy: false,
        }
    }

    #[test]
    fn mv_renames_the_record_and_its_dependents() {
        let mut doc = StateDocument::new("test");
        doc.resources.insert("a.old".into(), record("a.old", &[]));
        doc.resources
            .insert("b.user".into(), record("b.user", &["a.old"]));
        move_resource(&mut doc, "a.old", "a.new").unwrap();
        assert_eq!(doc.resources["a.new"].address, "a.new");
        assert_eq!(
            doc.resources["b.user"].dependencies,
            vec!["a.new".to_string()]
        );
        assert!(matches!(
            move_resource(&mut doc, "a.gone", "a.x"),
            Err(StateError::Edit(_))
        ));
        assert!(matches!(
            move_resource(&mut doc, "a.new", "b.user"),
            Err(StateError::Edit(_))
        ));
        let removed = remove_resources(&mut doc, &["a.new".into()]).unwrap();
        assert_eq!(removed.len(), 1);
        assert!(remove_resources(&mut doc, &["b.user".into(), "nope".into()]).is_err());
        assert!(
            doc.resources.contains_key("b.user"),
            "nothing is removed when one address is unknown"
        );
    }

    #[tokio::test]
    async fn edits_and_pushes_go_through_the_lock_and_the_serial() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path(), "dev");
        assert!(matches!(
            edit(&store, "state rm", |_| Ok(())).await,
            Err(StateError::Edit(_))
        ));
        let mut doc = StateDocument::new("test");
        doc.resources.insert("a.one".into(), record("a.one", &[]));
        doc.serial = 1;
        // A document that names its stack (one that does not is written whole first, as
        // its own serial: see `Session::open`).
        doc.stack = Some("s".into());
        doc.environment = Some("dev".into());
        let pushed = push(&store, doc.clone(), false).await.unwrap();
        assert_eq!(pushed.serial, 1);
        assert!(matches!(
            push(&store, doc.clone(), false).await,
            Err(StateError::Conflict(_))
        ));
        assert_eq!(push(&store, doc.clone(), true).await.unwrap().serial, 2);
        let edited = edit(&store, "state mv", |d| move_resource(d, "a.one", "a.two"))
            .await
            .unwrap();
        assert_eq!(edited.serial, 3);
        assert!(store.locks().await.unwrap().is_empty(), "the edit unlocked");
        let held = store
            .lock(&LockRequest {
                operation: "apply".into(),
                lease_seconds: 60,
            })
            .await
            .unwrap();
        assert!(matches!(
            edit(&store, "state rm", |_| Ok(())).await,
            Err(StateError::Locked(_))
        ));
        store.unlock(&held).await.unwrap();
    }
}
