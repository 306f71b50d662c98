//! The PostgreSQL backend under the suite, against a throwaway cluster, plus the checks
//! only PostgreSQL has: a dead client releases its advisory lock.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use plinth_state::{
    advisory_key, open_store, Encryption, LockInfo, LockRequest, PostgresSettings, PostgresStore,
    StateError, StateStore,
};
use plinth_testkit::postgres::Postgres;

use crate::suite::{Backend, Suite, ENVIRONMENT};

struct Pg {
    cluster: Postgres,
}

impl Pg {
    fn start() -> Pg {
        Pg {
            cluster: Postgres::start(),
        }
    }

    async fn client(&self) -> tokio_postgres::Client {
        let (client, connection) =
            tokio_postgres::connect(&self.cluster.url(), tokio_postgres::NoTls)
                .await
                .unwrap();
        tokio::spawn(connection);
        client
    }

    fn postgres_store(&self, stack: &str, codec: Arc<Encryption>) -> PostgresStore {
        let settings = PostgresSettings {
            url: self.cluster.url(),
            table: "plinth_state".into(),
            lock_table: "plinth_locks".into(),
        };
        PostgresStore::new(settings, stack, ENVIRONMENT, codec).unwrap()
    }
}

#[async_trait::async_trait]
impl Backend for Pg {
    fn name(&self) -> &'static str {
        "postgres"
    }

    async fn store(&self, stack: &str, codec: Arc<Encryption>) -> Box<dyn StateStore> {
        Box::new(self.postgres_store(stack, codec))
    }

    async fn raw_document(&self, stack: &str) -> Option<Vec<u8>> {
        let row = self
            .client()
            .await
            .query_opt(
                "SELECT document FROM plinth_state WHERE stack = $1 AND environment = $2",
                &[&stack, &ENVIRONMENT],
            )
            .await
            .unwrap();
        row.map(|r| r.get(0))
    }

    async fn raw_all(&self, stack: &str) -> Vec<u8> {
        let mut all = self.raw_document(stack).await.unwrap_or_default();
        let rows = self
            .client()
            .await
            .query(
                "SELECT entries FROM plinth_state_journal WHERE stack = $1",
                &[&stack],
            )
            .await
            .unwrap();
        for row in rows {
            all.extend(row.get::<_, Vec<u8>>(0));
        }
        all
    }

    async fn overwrite_document(&self, stack: &str, bytes: &[u8]) {
        let updated = self
            .client()
            .await
            .execute(
                "UPDATE plinth_state SET document = $3 WHERE stack = $1 AND environment = $2",
                &[&stack, &ENVIRONMENT, &bytes],
            )
            .await
            .unwrap();
        assert_eq!(updated, 1);
    }
}

fn request() -> LockRequest {
    LockRequest {
        operation: "apply".into(),
        lease_seconds: 300,
    }
}

/// Locks, retrying while the lock is still held, for up to `seconds`.
async fn lock_within(store: &dyn StateStore, seconds: u64) -> LockInfo {
    let deadline = std::time::Instant::now() + Duration::from_secs(seconds);
    loop {
        match store.lock(&request()).await {
            Ok(lock) => return lock,
            Err(StateError::Locked(holder)) if std::time::Instant::now() < deadline => {
                let _ = holder;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(other) => panic!("the lock was not released within {seconds}s: {other}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_plain() {
    let backend = Pg::start();
    // `plinth bootstrap` creates the tables, and can run again.
    let store = backend
        .store("bootstrap", Arc::new(Encryption::disabled()))
        .await;
    store.ensure_home().await.unwrap();
    store.ensure_home().await.unwrap();
    let tables: i64 = backend
        .client()
        .await
        .query_one(
            "SELECT count(*) FROM pg_tables WHERE tablename IN ('plinth_state', 'plinth_state_journal', 'plinth_locks')",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(tables, 3);
    assert_eq!(Suite::new(backend, false).run().await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_encrypted() {
    assert_eq!(Suite::new(Pg::start(), true).run().await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_dead_clients_release_their_locks() {
    let backend = Pg::start();
    let codec = Arc::new(Encryption::disabled());

    // A client that goes away without unlocking (its connection drops).
    let gone = backend.postgres_store("dead", codec.clone());
    let stale = gone.lock(&request()).await.unwrap();
    let next = backend.postgres_store("dead", codec.clone());
    assert!(matches!(
        next.lock(&request()).await,
        Err(StateError::Locked(_))
    ));
    // The key is per state: another stack is not blocked.
    let elsewhere = backend.postgres_store("elsewhere", codec.clone());
    let other = elsewhere
        .lock(&request())
        .await
        .expect("another state's lock is independent");
    elsewhere.unlock(&other).await.unwrap();
    drop(gone);
    let taken = lock_within(&next, 10).await;
    let named = taken.took_over.clone().expect("the dead holder is named");
    assert!(
        named.contains(&stale.id) && named.contains("session had ended"),
        "{named}"
    );
    next.unlock(&taken).await.unwrap();

    // A process killed while holding the advisory lock (psql, another client entirely).
    let key = advisory_key("plinth_state", "killed", ENVIRONMENT);
    let mut psql = Command::new(backend.cluster.psql())
        .args([
            "-X",
            "-q",
            "-h",
            "127.0.0.1",
            "-p",
            &backend.cluster.port.to_string(),
            "-U",
            "postgres",
            "-d",
            "postgres",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("starting psql");
    let mut stdin = psql.stdin.take().unwrap();
    writeln!(stdin, "SELECT pg_advisory_lock({key});").unwrap();
    stdin.flush().unwrap();
    let store = backend.postgres_store("killed", codec.clone());
    let mut holder = None;
    for _ in 0..100 {
        if let Some(lock) = store.locks().await.unwrap().pop() {
            holder = Some(lock);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let holder = holder.expect("`lock list` shows the psql session holding the lock");
    assert!(
        holder.id.starts_with("pg-") && holder.owner.starts_with("postgres@"),
        "{holder:?}"
    );
    match store.lock(&request()).await {
        Err(StateError::Locked(named)) => assert_eq!(named.id, holder.id),
        other => panic!("expected Locked by the psql session, got {other:?}"),
    }
    psql.kill().unwrap();
    psql.wait().unwrap();
    drop(stdin);
    let taken = lock_within(&store, 10).await;
    store.unlock(&taken).await.unwrap();
    assert!(store.locks().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_through_open_store() {
    let backend = Pg::start();
    std::env::set_var("PLINTH_CONFORMANCE_PG_URL", backend.cluster.url());
    let settings: BTreeMap<String, serde_json::Value> = [
        (
            "url_env".to_string(),
            serde_json::Value::from("PLINTH_CONFORMANCE_PG_URL"),
        ),
        ("table".to_string(), serde_json::Value::from("team_state")),
    ]
    .into_iter()
    .collect();
    let store = open_store(
        "postgres",
        &settings,
        "opened",
        ENVIRONMENT,
        Path::new("/unused"),
    )
    .unwrap();
    assert!(
        !store.describe().contains("PLINTH_CONFORMANCE"),
        "{}",
        store.describe()
    );
    store.ensure_home().await.unwrap();
    assert!(store.load().await.unwrap().is_none());
    let lock = store.lock(&request()).await.unwrap();
    assert_eq!(store.locks().await.unwrap(), vec![lock.clone()]);
    store.unlock(&lock).await.unwrap();
    let bad = [(
        "table".to_string(),
        serde_json::Value::from("x; DROP TABLE y"),
    )];
    let mut settings = settings.clone();
    settings.extend(bad);
    let error = open_store(
        "postgres",
        &settings,
        "opened",
        ENVIRONMENT,
        Path::new("/unused"),
    )
    .err()
    .unwrap();
    assert!(
        error.to_string().contains("not a usable table name"),
        "{error}"
    );
}

/// TLS through rustls: `sslmode=verify-full` with the server's CA verifies and connects;
/// without the CA the same URL is refused (the certificate is really checked).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_over_tls_verifies_the_server() {
    let cluster = Postgres::start_tls();
    let base = format!(
        "postgresql://postgres@127.0.0.1:{}/postgres?sslmode=verify-full",
        cluster.port
    );
    let trusted = format!("{base}&sslrootcert={}", cluster.ca_file().display());
    let settings = |url: String| PostgresSettings {
        url,
        table: "plinth_state".into(),
        lock_table: "plinth_locks".into(),
    };
    let store = PostgresStore::new(
        settings(trusted),
        "tls",
        ENVIRONMENT,
        Arc::new(Encryption::disabled()),
    )
    .unwrap();
    store.ensure_home().await.unwrap();
    store
        .append(&[plinth_state::JournalEntry::Remove {
            address: "x.y".into(),
        }])
        .await
        .unwrap();
    assert!(store.load().await.unwrap().is_some());
    let untrusted = PostgresStore::new(
        settings(base),
        "tls",
        ENVIRONMENT,
        Arc::new(Encryption::disabled()),
    )
    .unwrap();
    let error = untrusted
        .load()
        .await
        .expect_err("an unknown CA is refused");
    assert!(
        error
            .to_string()
            .contains("connecting to postgres@127.0.0.1"),
        "{error}"
    );
    assert!(
        error.to_string().contains("certificate"),
        "the cause is named: {error}"
    );
}
