//! `plinth state list | show | mv | rm | pull | push` and `plinth lock list`: reading and
//! editing the recorded state of one environment. Every command takes the state lock (so it
//! never reads or writes in the middle of an apply), and every edit is written as the next
//! serial through [`plinth_state::edit`] / [`plinth_state::push`].

use std::fmt::Write as _;
use std::path::Path;

use miette::{miette, IntoDiagnostic, Result};
use plinth_state::{
    edit, move_resource, push, remove_resources, with_lock, ResourceStatus, StateDocument,
    StateError,
};

use super::workspace::Workspace;

/// The help shown with lock and edit errors.
const LOCK_HELP: &str = "`plinth lock list` shows who holds the lock; wait for it to finish, or \
                         `plinth force-unlock ID` if its holder is dead";

/// Turns a state error into a diagnostic with a hint.
fn diagnostic(workspace: &Workspace, error: StateError) -> miette::Report {
    match error {
        StateError::Locked(holder) => miette!(
            help = LOCK_HELP,
            "{} is locked: {}",
            workspace.store.describe(),
            holder.describe()
        ),
        StateError::Conflict(reason) => miette!(
            help = "`plinth state pull` shows the stored state",
            "refused: {reason}"
        ),
        other => miette!("{other}"),
    }
}

/// Loads the document under the lock (`state list | show | pull`).
pub async fn read(workspace: &Workspace, operation: &str) -> Result<Option<StateDocument>> {
    let store = &*workspace.store;
    with_lock(store, operation, |_| async move { store.load().await })
        .await
        .map_err(|e| diagnostic(workspace, e))
}

/// `state list`: one address per line, with the id and any status other than ready.
pub fn list(document: Option<&StateDocument>) -> String {
    let Some(document) = document else {
        return String::new();
    };
    let mut out = String::new();
    for (address, record) in &document.resources {
        let _ = write!(
            out,
            "{address}\t{}",
            record.id.as_deref().unwrap_or("(no id)")
        );
        if record.status != ResourceStatus::Ready || record.pending.is_some() {
            let _ = write!(out, "\t{:?}", record.status);
            if let Some(intent) = &record.pending {
                let _ = write!(out, " (interrupted {})", intent.operation);
            }
        }
        out.push('\n');
    }
    for object in document.deposed.values() {
        let _ = writeln!(
            out,
            "{}\t{}\tdeposed object {} ({}; the next apply destroys it)",
            object.address, object.id, object.key, object.reason
        );
    }
    out
}

/// `state restore --list`: the kept backups, newest first.
pub async fn backups(workspace: &Workspace) -> Result<String> {
    let backups = workspace
        .store
        .backups()
        .await
        .map_err(|e| diagnostic(workspace, e))?;
    if backups.is_empty() {
        return Ok(format!(
            "No backups are kept for {}.\n",
            workspace.store.describe()
        ));
    }
    let mut out = String::new();
    for backup in &backups {
        let _ = writeln!(
            out,
            "{}\tserial {}\t{} resources\t{}",
            backup.id, backup.serial, backup.resources, backup.location
        );
    }
    Ok(out)
}

/// `state restore [ID]`: makes a kept backup (the newest by default) the state again, as the
/// next serial, under the lock. Works when the document is missing or unreadable.
pub async fn restore(workspace: &Workspace, id: Option<&str>) -> Result<String> {
    let store = &*workspace.store;
    let restored = with_lock(store, "state restore", |_| async move {
        let backups = store.backups().await?;
        let chosen = match id {
            Some(id) => backups
                .iter()
                .find(|b| b.id == id)
                .cloned()
                .ok_or_else(|| {
                    StateError::Edit(format!(
                        "no backup `{id}`; `plinth state restore --list` lists them"
                    ))
                })?,
            None => backups.first().cloned().ok_or_else(|| {
                StateError::Edit(format!("no backups are kept for {}", store.describe()))
            })?,
        };
        let mut document = store.read_backup(&chosen.id).await?;
        let current = match store.load().await {
            Ok(current) => current.map(|d| d.serial),
            Err(StateError::Missing { .. } | StateError::Corrupt { .. }) => None,
            Err(e) => return Err(e),
        };
        document.serial = document.serial.max(current.unwrap_or(0)) + 1;
        store.compact(&document).await?;
        Ok((chosen, document))
    })
    .await
    .map_err(|e| diagnostic(workspace, e))?;
    let (backup, document) = restored;
    Ok(format!(
        "Restored the backup of serial {} ({} resources) from {}; the state is now at serial {}. Run `plinth plan` \
         to compare it with the cloud.\n",
        backup.serial,
        document.resources.len(),
        backup.location,
        document.serial
    ))
}

/// `state pull`: the document as pretty JSON (sensitive values are digests already).
pub fn pull(document: Option<&StateDocument>) -> Result<String> {
    let document = document
        .ok_or_else(|| miette!("no state yet: nothing has been applied to this environment"))?;
    serde_json::to_string_pretty(document)
        .map(|text| text + "\n")
        .into_diagnostic()
}

/// `state mv FROM TO`: renames a resource address (and the dependencies naming it).
pub async fn mv(workspace: &Workspace, from: &str, to: &str) -> Result<String> {
    let document = edit(&*workspace.store, "state mv", |document| {
        move_resource(document, from, to)
    })
    .await
    .map_err(|e| diagnostic(workspace, e))?;
    Ok(format!(
        "Moved `{from}` to `{to}` (state serial {}).\n",
        document.serial
    ))
}

/// `state rm ADDRESS...`: forgets resources; they stay in the cloud, no longer managed.
pub async fn rm(workspace: &Workspace, addresses: &[String]) -> Result<String> {
    let mut removed = Vec::new();
    let document = edit(&*workspace.store, "state rm", |document| {
        removed = remove_resources(document, addresses)?;
        Ok(())
    })
    .await
    .map_err(|e| diagnostic(workspace, e))?;
    let mut out = String::new();
    for record in &removed {
        let _ = writeln!(
            out,
            "Removed `{}` (id {}) from the state; it still exists in the cloud.",
            record.address,
            record.id.as_deref().unwrap_or("none")
        );
    }
    let _ = writeln!(out, "State serial {}.", document.serial);
    Ok(out)
}

/// `state push FILE [--force]`: replaces the stored state with the file's document.
/// A different lineage is always refused; a serial not above the stored one needs `force`.
pub async fn push_file(workspace: &Workspace, file: &Path, force: bool) -> Result<String> {
    let bytes = std::fs::read(file)
        .map_err(|e| miette!("cannot read the state file `{}`: {e}", file.display()))?;
    let document = plinth_state::parse_document(&bytes, file)
        .map_err(|e| miette!(help = "push a file written by `plinth state pull`", "{e}"))?;
    let written = push(&*workspace.store, document, force)
        .await
        .map_err(|e| diagnostic(workspace, e))?;
    Ok(format!(
        "Pushed {} resources to {} (lineage {}, serial {}).\n",
        written.resources.len(),
        workspace.store.describe(),
        written.lineage,
        written.serial
    ))
}

/// `lock list`: every lock the backend holds for this stack + environment.
pub async fn lock_list(workspace: &Workspace) -> Result<String> {
    let locks = workspace
        .store
        .locks()
        .await
        .map_err(|e| diagnostic(workspace, e))?;
    if locks.is_empty() {
        return Ok(format!("No locks on {}.\n", workspace.store.describe()));
    }
    let mut out = String::new();
    for lock in &locks {
        let expired = if lock.expired() {
            " (lease expired: the next apply takes it over)"
        } else {
            ""
        };
        let _ = writeln!(out, "{}{expired}", lock.describe());
    }
    Ok(out)
}
