//! The executor against a state store that stops accepting writes part way: no provider call
//! starts once a state write failed, the apply reports the failure, and the next apply (with
//! a working store) converges without orphans.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use plinth_state::{JournalEntry, LockInfo, LockRequest, StateDocument, StateError, StateStore};

use crate::apply::{FailedAt, Outcome, QuietReporter};
use crate::config::LoadOptions;
use crate::ops::{apply, ApplyOptions, OpenOptions, Workspace};
use crate::plan::PlanOptions;

/// A store whose appends fail once `budget` appends succeeded.
struct FailingStore {
    inner: Arc<dyn StateStore>,
    budget: AtomicUsize,
}

#[async_trait]
impl StateStore for FailingStore {
    fn describe(&self) -> String {
        self.inner.describe()
    }
    async fn load(&self) -> Result<Option<StateDocument>, StateError> {
        self.inner.load().await
    }
    async fn append(&self, entries: &[JournalEntry]) -> Result<(), StateError> {
        if self
            .budget
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |b| b.checked_sub(1))
            .is_err()
        {
            return Err(StateError::Backend("injected: the disk is full".into()));
        }
        self.inner.append(entries).await
    }
    async fn compact(&self, document: &StateDocument) -> Result<(), StateError> {
        self.inner.compact(document).await
    }
    async fn commit(&self, document: &StateDocument) -> Result<(), StateError> {
        self.inner.commit(document).await
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
}

fn workspace(dir: &Path) -> Workspace {
    workspace_with(dir, &[])
}

fn workspace_with(dir: &Path, vars: &[(&str, &str)]) -> Workspace {
    let mut all = vec![("ms".to_string(), "30".to_string())];
    all.extend(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let options = OpenOptions {
        load: LoadOptions {
            vars: all,
            ..LoadOptions::default()
        },
        state_dir: None,
    };
    Workspace::open(dir, &options).expect("workspace")
}

fn copy_fixture(to: &Path) {
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/engine/trust");
    for entry in std::fs::read_dir(from).expect("fixture") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copy");
    }
}

async fn run_apply(workspace: &Workspace) -> miette::Result<crate::ops::ApplyResult> {
    let mut confirm = |_: &crate::plan::Plan| Ok(true);
    apply(
        workspace,
        ApplyOptions {
            plan: PlanOptions::default(),
            parallelism: 1,
            lock_timeout: Duration::from_secs(0),
            reporter: &QuietReporter,
            confirm: &mut confirm,
            notice: &|_| {},
            accept_drift: false,
        },
    )
    .await
}

#[tokio::test]
async fn after_a_failed_state_write_nothing_new_starts_and_the_next_apply_converges() {
    let dir = tempfile::tempdir().expect("dir");
    copy_fixture(dir.path());
    let mut broken = workspace(dir.path());
    // The new state's first write is a compaction; then each create writes an intent and a
    // result. Three appends: two resources' intents and one result get through.
    broken.store = Arc::new(FailingStore {
        inner: broken.store.clone(),
        budget: AtomicUsize::new(3),
    });
    let failed = run_apply(&broken).await;
    assert!(failed.is_err(), "the apply reports the failed write");
    let cloud =
        plinth_builtin::list_cloud(&dir.path().join(".plinth/sim-cloud")).unwrap_or_default();
    assert!(
        cloud.len() < 6,
        "creates stopped once a write failed: {cloud:?}"
    );
    // Every object in the cloud was made by a call whose intent (or result) is durable: no
    // provider call started after the write failed.
    let durable = broken.store.load().await.expect("state").expect("exists");
    for (id, name, token) in &cloud {
        let known = durable.resources.values().any(|r| {
            r.id.as_deref() == Some(id.as_str())
                || r.pending.as_ref().is_some_and(|p| &p.token == token)
        });
        assert!(known, "{name} ({id}) was created without a durable intent");
    }
    drop(broken);

    let working = workspace(dir.path());
    let done = run_apply(&working).await.expect("the next apply");
    assert!(
        !done.report.as_ref().is_some_and(|r| r.failed()),
        "{:?}",
        done.report
    );
    let cloud = plinth_builtin::list_cloud(&dir.path().join(".plinth/sim-cloud")).expect("cloud");
    let names: Vec<&str> = cloud.iter().map(|(_, name, _)| name.as_str()).collect();
    assert_eq!(
        names,
        ["app", "db", "lb-1", "worker-0", "worker-1", "worker-2"],
        "every object once, nothing orphaned"
    );
    let state = working.store.load().await.expect("state").expect("exists");
    let mut ids: Vec<&str> = state
        .resources
        .values()
        .filter_map(|r| r.id.as_deref())
        .collect();
    ids.sort_unstable();
    let mut cloud_ids: Vec<&str> = cloud.iter().map(|(id, _, _)| id.as_str()).collect();
    cloud_ids.sort_unstable();
    assert_eq!(ids, cloud_ids);
}

#[tokio::test]
async fn a_failed_provider_call_reaches_the_report_with_its_kind_and_code() {
    let dir = tempfile::tempdir().expect("dir");
    copy_fixture(dir.path());
    let failing = workspace_with(dir.path(), &[("fail_db", "1")]);
    let result = run_apply(&failing).await.expect("the apply runs");
    let report = result.report.expect("a report");
    let (_, outcome) = report
        .outcomes
        .iter()
        .find(|(address, _)| address == "sim_resource.db")
        .expect("db has an outcome");
    let Outcome::Failed(error) = outcome else {
        panic!("db failed: {outcome:?}");
    };
    assert_eq!(error.code(), Some("InjectedFailure"), "{error}");
    assert!(
        matches!(
            error.at,
            FailedAt::Provider {
                kind: plinth_provider::ErrorKind::Api,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(error.message.starts_with("[sim, declared at "), "{error}");
}
