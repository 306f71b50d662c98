//! The PostgreSQL backend: a row per stack + environment, a journal table, and locks that a
//! dead client cannot leave behind.
//!
//! - `<table>` (default `plinth_state`): `(stack, environment)` → lineage, serial and the
//!   document bytes (plain JSON or an encryption envelope). Compaction is one transaction:
//!   check lineage and serial (`SELECT ... FOR UPDATE`), write the row, empty the journal.
//! - `<table>_journal`: one row per `append` (a JSON array of entries), replayed in order.
//! - Locks: `pg_try_advisory_lock(key)` with `key` = [`advisory_key`] of (table, stack,
//!   environment), taken on a dedicated session held for the lock's life: when the client
//!   dies, PostgreSQL ends the session and the lock is free. While locked, every write goes
//!   through that session, so a holder whose lock was taken over cannot write any more.
//!   The lock's metadata (owner, lease, backend pid) is a row of `plinth_locks`, shown by
//!   `plinth lock list`; an expired lease is taken over by terminating the old session.

use std::str::FromStr;
use std::sync::Arc;

use async_trait::async_trait;
use sha2::{Digest, Sha256};
use tokio::sync::{Mutex, OnceCell};
use tokio_postgres::{Client, Config};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::document::{now_unix, JournalEntry, StateDocument};
use crate::encryption::Encryption;
use crate::error::StateError;
use crate::local::parse_document;
use crate::postgres_lock::Held;
use crate::store::{LockInfo, LockRequest, StateStore};

/// Where a PostgreSQL state lives (the `[backend]` table with `kind = "postgres"`).
#[derive(Clone, PartialEq, Eq)]
pub struct PostgresSettings {
    /// libpq-style URL, `postgresql://user:password@host:port/db?sslmode=require`.
    /// `sslmode` may be `disable`, `prefer` (default), `require`, `verify-ca` or `verify-full`;
    /// TLS always verifies the server certificate (system roots, plus `sslrootcert=PATH`).
    pub url: String,
    /// State table (default `plinth_state`); the journal is `<table>_journal`.
    pub table: String,
    /// Lock metadata table (default `plinth_locks`).
    pub lock_table: String,
}

impl std::fmt::Debug for PostgresSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the URL: it may hold a password.
        f.debug_struct("PostgresSettings")
            .field("table", &self.table)
            .field("lock_table", &self.lock_table)
            .finish()
    }
}

/// The 64-bit advisory-lock key of one state: the first 8 bytes of
/// SHA-256(`plinth-state`, table, stack, environment). Never one global key.
pub fn advisory_key(table: &str, stack: &str, environment: &str) -> i64 {
    let mut digest = Sha256::new();
    for part in ["plinth-state", table, stack, environment] {
        digest.update(part.as_bytes());
        digest.update([0u8]);
    }
    let bytes = digest.finalize();
    let mut key = [0u8; 8];
    key.copy_from_slice(&bytes[..8]);
    i64::from_be_bytes(key)
}

/// State in a PostgreSQL database.
pub struct PostgresStore {
    pub(crate) config: Config,
    tls: MakeRustlsConnect,
    pub(crate) settings: PostgresSettings,
    pub(crate) stack: String,
    pub(crate) environment: String,
    pub(crate) key: i64,
    codec: Arc<Encryption>,
    schema: OnceCell<()>,
    general: Mutex<Option<Client>>,
    /// The lock this store holds, with its session.
    pub(crate) held: Mutex<Option<Held>>,
    /// (serial, lineage) of the row at the last load; `Some(None)` when there was none.
    loaded: Mutex<Option<Option<(u64, String)>>>,
}

/// A PostgreSQL error with the server's message, without the connection URL.
pub(crate) fn pg_error(what: &str, error: tokio_postgres::Error) -> StateError {
    match error.as_db_error() {
        Some(db) => StateError::Backend(format!(
            "PostgreSQL: {what}: {} ({})",
            db.message(),
            db.code().code()
        )),
        None => {
            // Append the causes (e.g. the TLS verification failure behind "error performing
            // TLS handshake").
            let mut message = format!("PostgreSQL: {what}: {error}");
            let mut source = std::error::Error::source(&error);
            while let Some(cause) = source {
                message.push_str(&format!(": {cause}"));
                source = cause.source();
            }
            StateError::Backend(message)
        }
    }
}

fn valid_identifier(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 48
        && name.split('.').count() <= 2
        && name.split('.').all(|part| {
            part.chars()
                .next()
                .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
                && part
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        })
}

impl PostgresStore {
    /// A store for `stack` / `environment`. Connects lazily, at first use.
    pub fn new(
        settings: PostgresSettings,
        stack: &str,
        environment: &str,
        codec: Arc<Encryption>,
    ) -> Result<Self, StateError> {
        for name in [&settings.table, &settings.lock_table] {
            if !valid_identifier(name) {
                return Err(StateError::Config(format!(
                    "`{name}` is not a usable table name (lowercase letters, digits, `_`, optional `schema.`)"
                )));
            }
        }
        let (config, tls) = crate::postgres_lock::client_config(&settings.url)?;
        Ok(PostgresStore {
            config,
            tls,
            key: advisory_key(&settings.table, stack, environment),
            settings,
            stack: stack.to_string(),
            environment: environment.to_string(),
            codec,
            schema: OnceCell::new(),
            general: Mutex::new(None),
            held: Mutex::new(None),
            loaded: Mutex::new(None),
        })
    }

    /// `user@host:port/db`, for messages (never the password).
    pub fn server(&self) -> String {
        let host = match self.config.get_hosts().first() {
            Some(tokio_postgres::config::Host::Tcp(host)) => host.clone(),
            Some(tokio_postgres::config::Host::Unix(path)) => path.display().to_string(),
            None => "localhost".into(),
        };
        let port = self.config.get_ports().first().copied().unwrap_or(5432);
        format!(
            "{}@{host}:{port}/{}",
            self.config.get_user().unwrap_or("?"),
            self.config.get_dbname().unwrap_or("postgres")
        )
    }

    /// Opens a new session.
    pub(crate) async fn connect(
        &self,
    ) -> Result<(Client, tokio::task::JoinHandle<()>), StateError> {
        let (client, connection) = self
            .config
            .connect(self.tls.clone())
            .await
            .map_err(|e| pg_error(&format!("connecting to {}", self.server()), e))?;
        let task = tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok((client, task))
    }

    /// The shared session for reads and unlocked writes, reconnecting when it closed.
    async fn general(&self) -> Result<tokio::sync::MutexGuard<'_, Option<Client>>, StateError> {
        let mut guard = self.general.lock().await;
        if guard.as_ref().is_none_or(|c| c.is_closed()) {
            let (client, _task) = self.connect().await?;
            *guard = Some(client);
        }
        Ok(guard)
    }

    pub(crate) fn journal_table(&self) -> String {
        format!("{}_journal", self.settings.table)
    }

    /// Creates the tables when missing (once per store; serialised between clients).
    pub(crate) async fn ensure_schema(&self) -> Result<(), StateError> {
        self.schema
            .get_or_try_init(|| async {
                let mut guard = self.general().await?;
                let client = guard.as_mut().ok_or_else(|| StateError::Backend("no PostgreSQL session".into()))?;
                let tx = client.transaction().await.map_err(|e| pg_error("starting a transaction", e))?;
                let ddl_key = advisory_key(&self.settings.table, "", "plinth-schema");
                tx.execute("SELECT pg_advisory_xact_lock($1)", &[&ddl_key])
                    .await
                    .map_err(|e| pg_error("serialising table creation", e))?;
                let (state, journal, locks) = (&self.settings.table, self.journal_table(), &self.settings.lock_table);
                let sql = format!(
                    "CREATE TABLE IF NOT EXISTS {state} (stack text NOT NULL, environment text NOT NULL, \
                       lineage text NOT NULL, serial bigint NOT NULL, document bytea NOT NULL, \
                       updated_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (stack, environment));
                     CREATE TABLE IF NOT EXISTS {journal} (stack text NOT NULL, environment text NOT NULL, \
                       seq bigserial NOT NULL, entries bytea NOT NULL, \
                       written_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (stack, environment, seq));
                     CREATE TABLE IF NOT EXISTS {locks} (stack text NOT NULL, environment text NOT NULL, \
                       id text NOT NULL, backend_pid integer NOT NULL, expires bigint NOT NULL, \
                       info text NOT NULL, PRIMARY KEY (stack, environment));"
                );
                tx.batch_execute(&sql).await.map_err(|e| pg_error("creating the state tables", e))?;
                tx.commit().await.map_err(|e| pg_error("creating the state tables", e))
            })
            .await
            .map(|_| ())
    }

    fn location(&self) -> String {
        format!(
            "postgres {} table {} ({}/{})",
            self.server(),
            self.settings.table,
            self.stack,
            self.environment
        )
    }

    /// Reads the row and the journal in one snapshot.
    async fn read_all(
        &self,
        client: &mut Client,
    ) -> Result<(Option<StateDocument>, Option<(u64, String)>), StateError> {
        let tx = client
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await
            .map_err(|e| pg_error("starting a read", e))?;
        let row = tx
            .query_opt(
                &format!(
                    "SELECT document FROM {} WHERE stack = $1 AND environment = $2",
                    self.settings.table
                ),
                &[&self.stack, &self.environment],
            )
            .await
            .map_err(|e| pg_error("reading the state", e))?;
        let mut document = match row {
            Some(row) => {
                let bytes: Vec<u8> = row.get(0);
                let bytes = self.codec.open(bytes, &self.location())?;
                Some(parse_document(
                    &bytes,
                    std::path::Path::new(&self.location()),
                )?)
            }
            None => None,
        };
        let base = document.as_ref().map(|d| (d.serial, d.lineage.clone()));
        let rows = tx
            .query(
                &format!(
                    "SELECT seq, entries FROM {} WHERE stack = $1 AND environment = $2 ORDER BY seq",
                    self.journal_table()
                ),
                &[&self.stack, &self.environment],
            )
            .await
            .map_err(|e| pg_error("reading the journal", e))?;
        for row in rows {
            let seq: i64 = row.get(0);
            let location = format!("{} journal row {seq}", self.location());
            let bytes = self.codec.open(row.get(1), &location)?;
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
        tx.commit()
            .await
            .map_err(|e| pg_error("finishing a read", e))?;
        Ok((document, base))
    }

    /// The lock's session when this store holds a lock (so a holder whose lock was taken
    /// over cannot write), else the shared session.
    async fn write_session(&self) -> Result<Session<'_>, StateError> {
        let held = self.held.lock().await;
        if let Some(lock) = held.as_ref() {
            if lock.client.is_closed() {
                return Err(StateError::Conflict(format!(
                    "the session holding lock {} ended (taken over or force-unlocked); not writing",
                    lock.lock.id
                )));
            }
            return Ok(Session::Held(held));
        }
        drop(held);
        Ok(Session::General(self.general().await?))
    }
}

/// A borrowed session: the lock's or the shared one.
enum Session<'a> {
    Held(tokio::sync::MutexGuard<'a, Option<Held>>),
    General(tokio::sync::MutexGuard<'a, Option<Client>>),
}

impl Session<'_> {
    fn client(&mut self) -> Result<&mut Client, StateError> {
        let client = match self {
            Session::Held(guard) => guard.as_mut().map(|held| &mut held.client),
            Session::General(guard) => guard.as_mut(),
        };
        client.ok_or_else(|| StateError::Backend("no PostgreSQL session".into()))
    }
}

#[async_trait]
impl StateStore for PostgresStore {
    fn describe(&self) -> String {
        self.location()
    }

    async fn load(&self) -> Result<Option<StateDocument>, StateError> {
        self.ensure_schema().await?;
        let mut guard = self.general().await?;
        let client = guard
            .as_mut()
            .ok_or_else(|| StateError::Backend("no PostgreSQL session".into()))?;
        let (document, base) = self.read_all(client).await?;
        *self.loaded.lock().await = Some(base);
        Ok(document)
    }

    async fn append(&self, entries: &[JournalEntry]) -> Result<(), StateError> {
        if entries.is_empty() {
            return Ok(());
        }
        self.ensure_schema().await?;
        let plain = serde_json::to_vec(entries)
            .map_err(|e| StateError::Backend(format!("encoding journal: {e}")))?;
        let bytes = self.codec.seal(plain)?;
        let sql = format!(
            "INSERT INTO {} (stack, environment, entries) VALUES ($1, $2, $3)",
            self.journal_table()
        );
        let mut session = self.write_session().await?;
        session
            .client()?
            .execute(&sql, &[&self.stack, &self.environment, &bytes])
            .await
            .map(|_| ())
            .map_err(|e| pg_error("appending to the journal", e))
    }

    async fn compact(&self, document: &StateDocument) -> Result<(), StateError> {
        self.ensure_schema().await?;
        let expected = match self.loaded.lock().await.clone() {
            Some(base) => base,
            None => {
                // Not loaded by this store: read (and validate) what is there first, so a
                // corrupt or undecryptable state is reported instead of overwritten.
                let mut guard = self.general().await?;
                let client = guard
                    .as_mut()
                    .ok_or_else(|| StateError::Backend("no PostgreSQL session".into()))?;
                self.read_all(client).await?.1
            }
        };
        let plain = serde_json::to_vec_pretty(document)
            .map_err(|e| StateError::Backend(format!("encoding state: {e}")))?;
        let bytes = self.codec.seal(plain)?;
        let serial = i64::try_from(document.serial).map_err(|_| {
            StateError::Backend(format!("serial {} is out of range", document.serial))
        })?;
        let mut session = self.write_session().await?;
        crate::postgres_lock::write_document(
            self,
            session.client()?,
            document,
            serial,
            &bytes,
            expected,
        )
        .await?;
        drop(session);
        *self.loaded.lock().await = Some(Some((document.serial, document.lineage.clone())));
        Ok(())
    }

    async fn lock(&self, request: &LockRequest) -> Result<LockInfo, StateError> {
        self.ensure_schema().await?;
        crate::postgres_lock::lock(self, request).await
    }

    async fn renew(&self, lock: &LockInfo) -> Result<LockInfo, StateError> {
        crate::postgres_lock::renew(self, lock, now_unix()).await
    }

    async fn unlock(&self, lock: &LockInfo) -> Result<(), StateError> {
        crate::postgres_lock::unlock(self, lock).await
    }

    async fn locks(&self) -> Result<Vec<LockInfo>, StateError> {
        self.ensure_schema().await?;
        let mut guard = self.general().await?;
        let client = guard
            .as_mut()
            .ok_or_else(|| StateError::Backend("no PostgreSQL session".into()))?;
        crate::postgres_lock::live_locks(self, client).await
    }

    async fn force_unlock(&self, id: &str) -> Result<(), StateError> {
        self.ensure_schema().await?;
        let mut guard = self.general().await?;
        let client = guard
            .as_mut()
            .ok_or_else(|| StateError::Backend("no PostgreSQL session".into()))?;
        crate::postgres_lock::force_unlock(self, client, id).await
    }

    async fn ensure_home(&self) -> Result<(), StateError> {
        self.ensure_schema().await
    }
}

impl FromStr for PostgresSettings {
    type Err = StateError;

    /// Settings with the default table names for `url`.
    fn from_str(url: &str) -> Result<Self, StateError> {
        Ok(PostgresSettings {
            url: url.to_string(),
            table: "plinth_state".into(),
            lock_table: "plinth_locks".into(),
        })
    }
}
