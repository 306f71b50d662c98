//! `plinth rollback`: re-applies an earlier revision of an `app_release` from the history kept
//! in state (like `helm rollback`), under the state lock, and records the result as a new
//! revision. Jobs are not re-run; the configuration is not changed, so the next `plan` shows
//! the way back to what the stack says.

use std::time::{Duration, Instant};

use miette::{miette, IntoDiagnostic, Result};
use plinth_provider::{
    object_from_json, object_to_persisted_json, CallContext, ProviderConfig, Value,
};
use plinth_state::{
    now_unix, random_id, Intent, JournalEntry, ResourceRecord, ResourceStatus, Session,
};

use super::apply::evaluate_outputs;
use super::manifests::RELEASE_TYPE;
use super::workspace::Workspace;
use crate::apply::{ProgressTo, Reporter};
use crate::secrets::Secrets;

/// What a rollback did.
#[derive(Clone, Debug, PartialEq)]
pub struct RollbackResult {
    /// The release's address.
    pub address: String,
    /// The revision recorded before.
    pub from_revision: i64,
    /// The revision whose values were re-applied.
    pub restored_revision: i64,
    /// The new revision recorded.
    pub new_revision: i64,
    /// The image now running.
    pub image: String,
    /// Wall time.
    pub elapsed: Duration,
}

/// Rolls `address` back to `revision` (default: the one before the recorded revision).
pub async fn rollback(
    workspace: &Workspace,
    address: &str,
    revision: Option<i64>,
    lock_timeout: Duration,
    reporter: &dyn Reporter,
    notice: &dyn Fn(&str),
) -> Result<RollbackResult> {
    let lock = workspace.lock("rollback", lock_timeout, notice).await?;
    let interval = Duration::from_millis((lock.lease() * 1000 / 3).max(100));
    let renewal = plinth_state::spawn_renewal(workspace.store.clone(), lock, interval);
    let result = rollback_locked(workspace, address, revision, reporter).await;
    match renewal.stop().await {
        Ok(lock) => {
            workspace.store.unlock(&lock).await.into_diagnostic()?;
            result
        }
        Err(lost) => Err(miette!(
            "the state lock was lost during the rollback ({lost}); run `plinth plan` to see where it stands"
        )),
    }
}

async fn rollback_locked(
    workspace: &Workspace,
    address: &str,
    revision: Option<i64>,
    reporter: &dyn Reporter,
) -> Result<RollbackResult> {
    let loaded = workspace
        .store
        .load()
        .await
        .into_diagnostic()?
        .ok_or_else(|| {
            miette!(
                help = "apply the stack first",
                "no state: nothing has been applied to {}",
                workspace.store.describe()
            )
        })?;
    let mut session = Session::open(&*workspace.store, Some(loaded), env!("CARGO_PKG_VERSION"))
        .await
        .into_diagnostic()?;
    let document = session.document().clone();
    let releases: Vec<String> = document
        .resources
        .values()
        .filter(|r| r.type_name == RELEASE_TYPE)
        .map(|r| format!("`{}`", r.address))
        .collect();
    let record = document
        .resources
        .get(address)
        .filter(|r| r.type_name == RELEASE_TYPE)
        .cloned()
        .ok_or_else(|| {
            miette!(
                help = if releases.is_empty() {
                    "the state records no app_release".to_string()
                } else {
                    format!("releases in the state: {}", releases.join(", "))
                },
                "no `{RELEASE_TYPE}` at `{address}` in the state"
            )
        })?;
    let id = record
        .id
        .clone()
        .ok_or_else(|| miette!("`{address}` was never created (its create was interrupted)"))?;
    let current = object_from_json(&record.attributes);
    let from_revision = current.get("revision").and_then(Value::as_i64).unwrap_or(0);
    let restored_revision = revision.unwrap_or(from_revision - 1);

    let config = ProviderConfig {
        settings: workspace
            .stack
            .providers
            .get("kubernetes")
            .map(|p| p.settings.clone())
            .unwrap_or_default(),
        environment: workspace.stack.environment.clone(),
        work_dir: workspace.work_dir.clone(),
    };
    let timeout = workspace
        .stack
        .resources
        .iter()
        .find(|r| r.address.to_string() == address)
        .and_then(|r| r.timeouts.update)
        .map(Duration::from_secs);
    let intent = Intent {
        address: address.to_string(),
        type_name: record.type_name.clone(),
        operation: "update".into(),
        token: random_id(),
        dependencies: record.dependencies.clone(),
        started: now_unix(),
    };
    session
        .append(&[JournalEntry::Intent(intent.clone())])
        .await
        .into_diagnostic()?;
    let started = Instant::now();
    reporter.started(address, "Rolling back");
    let progress = ProgressTo { address, reporter };
    let ctx = CallContext {
        address,
        token: &intent.token,
        progress: &progress,
        timeout,
    };
    let outcome =
        plinth_kubernetes::rollback(&config, &ctx, &current, Some(restored_revision)).await;
    let (attributes, error) = match outcome {
        Ok(attributes) => (object_to_persisted_json(&attributes, &document.salt), None),
        // The release is as before (a failed rollout is not recorded): keep the record.
        Err(error) => (record.attributes.clone(), Some(error)),
    };
    let put = JournalEntry::Put(Box::new(ResourceRecord {
        attributes,
        status: ResourceStatus::Ready,
        pending: None,
        prevent_destroy: false,
        id: Some(id.clone()),
        ..record
    }));
    session
        .append(std::slice::from_ref(&put))
        .await
        .into_diagnostic()?;
    reporter.finished(
        address,
        "Rollback",
        started.elapsed(),
        Some(&id),
        error.as_ref().map(|e| e.to_string()).as_deref(),
    );
    if let Some(error) = error {
        session.compact().await.into_diagnostic()?;
        return Err(miette!(
            help = "`plinth show --address ADDRESS` lists the revisions in `history`",
            "rolling back {address} to revision {restored_revision}: {error}"
        ));
    }
    let secrets = Secrets::resolve(&workspace.stack, &session.document().secrets);
    let outputs = evaluate_outputs(workspace, session.document(), &secrets);
    session.document_mut().outputs = outputs;
    let document = session.compact().await.into_diagnostic()?;
    let recorded = document
        .resources
        .get(address)
        .map(|r| object_from_json(&r.attributes))
        .unwrap_or_default();
    Ok(RollbackResult {
        address: address.to_string(),
        from_revision,
        restored_revision,
        new_revision: recorded
            .get("revision")
            .and_then(Value::as_i64)
            .unwrap_or(from_revision + 1),
        image: recorded
            .get("image")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        elapsed: started.elapsed(),
    })
}
