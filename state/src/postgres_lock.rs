//! The PostgreSQL backend's locks, compaction transaction and connection settings.
//!
//! A lock is `pg_try_advisory_lock(key)` on a session opened for it and kept until unlock:
//! PostgreSQL releases it when that session ends, so a client that dies cannot leave the
//! state locked. The lock's metadata lives in the lock table, keyed by (stack, environment),
//! with the holder's backend pid so a row left by a dead session is recognised as stale.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use tokio_postgres::config::SslMode;
use tokio_postgres::{Client, Config, GenericClient};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::document::StateDocument;
use crate::error::StateError;
use crate::postgres::{pg_error, PostgresStore};
use crate::store::{LockInfo, LockRequest};

/// A lock held by this store, with the session that holds the advisory lock.
pub(crate) struct Held {
    pub(crate) lock: LockInfo,
    pub(crate) client: Client,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Held {
    fn drop(&mut self) {
        // Ending the session releases the advisory lock on the server.
        self.task.abort();
    }
}

/// Parses the URL into a client configuration and a rustls connector.
/// `sslmode=verify-ca|verify-full` become `require` (rustls always verifies), and
/// `sslrootcert=PATH` adds that PEM bundle to the system roots.
pub(crate) fn client_config(url: &str) -> Result<(Config, MakeRustlsConnect), StateError> {
    let mut root_cert = None;
    let cleaned = match url.split_once('?') {
        Some((base, query)) => {
            let mut kept = Vec::new();
            for pair in query.split('&') {
                match pair.split_once('=') {
                    Some(("sslrootcert", path)) => root_cert = Some(path.to_string()),
                    Some(("sslmode", "verify-ca" | "verify-full")) => {
                        kept.push("sslmode=require".to_string())
                    }
                    _ => kept.push(pair.to_string()),
                }
            }
            if kept.is_empty() {
                base.to_string()
            } else {
                format!("{base}?{}", kept.join("&"))
            }
        }
        None => url.to_string(),
    };
    let config = Config::from_str(&cleaned)
        .map_err(|e| StateError::Config(format!("the PostgreSQL `url` is not valid: {e}")))?;
    let mut roots = rustls::RootCertStore::empty();
    if config.get_ssl_mode() != SslMode::Disable {
        for cert in rustls_native_certs::load_native_certs().certs {
            let _ = roots.add(cert);
        }
        if let Some(path) = root_cert {
            let certs = CertificateDer::pem_file_iter(&path)
                .map_err(|e| StateError::Config(format!("reading `sslrootcert` {path}: {e}")))?;
            for cert in certs {
                let cert = cert.map_err(|e| {
                    StateError::Config(format!("reading `sslrootcert` {path}: {e}"))
                })?;
                roots
                    .add(cert)
                    .map_err(|e| StateError::Config(format!("`sslrootcert` {path}: {e}")))?;
            }
        }
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| StateError::Config(format!("TLS setup: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok((config, MakeRustlsConnect::new(tls)))
}

/// The compaction transaction: checks lineage, serial and that the row is still what this
/// store read, writes the row, empties the journal.
pub(crate) async fn write_document(
    store: &PostgresStore,
    client: &mut Client,
    document: &StateDocument,
    serial: i64,
    bytes: &[u8],
    expected: Option<(u64, String)>,
) -> Result<(), StateError> {
    let table = &store.settings.table;
    let tx = client
        .transaction()
        .await
        .map_err(|e| pg_error("starting a transaction", e))?;
    let row = tx
        .query_opt(
            &format!("SELECT lineage, serial FROM {table} WHERE stack = $1 AND environment = $2 FOR UPDATE"),
            &[&store.stack, &store.environment],
        )
        .await
        .map_err(|e| pg_error("reading the state row", e))?;
    let stored: Option<(String, i64)> = row.map(|r| (r.get(0), r.get(1)));
    let where_ = format!("{}/{} in {table}", store.stack, store.environment);
    if let Some((lineage, stored_serial)) = &stored {
        if *lineage != document.lineage {
            return Err(StateError::Conflict(format!(
                "{where_} has lineage {lineage}, this run has {}",
                document.lineage
            )));
        }
        if *stored_serial >= serial {
            return Err(StateError::Conflict(format!(
                "{where_} is at serial {stored_serial}, this run would write serial {serial}"
            )));
        }
    }
    let seen = expected.as_ref().map(|(s, _)| *s as i64);
    if stored.as_ref().map(|(_, s)| *s) != seen {
        return Err(StateError::Conflict(format!(
            "{where_} was changed by another run since this one read it (lost race); nothing was \
             overwritten: plan again"
        )));
    }
    let written = if stored.is_some() {
        tx.execute(
            &format!(
                "UPDATE {table} SET lineage = $3, serial = $4, document = $5, updated_at = now() \
                 WHERE stack = $1 AND environment = $2"
            ),
            &[&store.stack, &store.environment, &document.lineage, &serial, &bytes],
        )
        .await
    } else {
        tx.execute(
            &format!(
                "INSERT INTO {table} (stack, environment, lineage, serial, document) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT DO NOTHING"
            ),
            &[&store.stack, &store.environment, &document.lineage, &serial, &bytes],
        )
        .await
    }
    .map_err(|e| pg_error("writing the state row", e))?;
    if written != 1 {
        return Err(StateError::Conflict(format!(
            "{where_} was created by another run at the same time (lost race); nothing was overwritten"
        )));
    }
    tx.execute(
        &format!(
            "DELETE FROM {} WHERE stack = $1 AND environment = $2",
            store.journal_table()
        ),
        &[&store.stack, &store.environment],
    )
    .await
    .map_err(|e| pg_error("clearing the journal", e))?;
    tx.commit()
        .await
        .map_err(|e| pg_error("committing the state", e))
}

/// The backend pid holding this state's advisory lock, if any.
async fn advisory_holder(
    store: &PostgresStore,
    client: &impl GenericClient,
) -> Result<Option<i32>, StateError> {
    let key = store.key as u64;
    let (high, low) = ((key >> 32) as i64, (key & 0xffff_ffff) as i64);
    let row = client
        .query_opt(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1 \
             AND classid::bigint = $1 AND objid::bigint = $2 LIMIT 1",
            &[&high, &low],
        )
        .await
        .map_err(|e| pg_error("looking up the lock holder", e))?;
    Ok(row.map(|r| r.get(0)))
}

/// The metadata row: the lock and the backend pid that wrote it.
async fn lock_row(
    store: &PostgresStore,
    client: &impl GenericClient,
) -> Result<Option<(LockInfo, i32)>, StateError> {
    let row = client
        .query_opt(
            &format!(
                "SELECT info, backend_pid FROM {} WHERE stack = $1 AND environment = $2",
                store.settings.lock_table
            ),
            &[&store.stack, &store.environment],
        )
        .await
        .map_err(|e| pg_error("reading the lock", e))?;
    let Some(row) = row else { return Ok(None) };
    let info: String = row.get(0);
    let lock = serde_json::from_str(&info).map_err(|e| StateError::Corrupt {
        location: format!(
            "{} row {}/{}",
            store.settings.lock_table, store.stack, store.environment
        ),
        reason: e.to_string(),
    })?;
    Ok(Some((lock, row.get(1))))
}

/// A lock record for a session that holds the advisory lock without a metadata row
/// (a client of another tool, or a Plinth between its two statements).
async fn foreign_holder(client: &Client, pid: i32) -> LockInfo {
    let row = client
        .query_opt(
            "SELECT coalesce(usename, '?'), coalesce(host(client_addr), 'local'), \
             coalesce(extract(epoch FROM backend_start)::bigint, 0) FROM pg_stat_activity WHERE pid = $1",
            &[&pid],
        )
        .await
        .ok()
        .flatten();
    let (user, address, started): (String, String, i64) = row
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .unwrap_or(("?".into(), "?".into(), 0));
    LockInfo {
        id: format!("pg-{pid}"),
        owner: format!("{user}@{address}"),
        pid: pid as u32,
        operation: "unknown (a PostgreSQL session holds the advisory lock without Plinth's record)"
            .into(),
        created: started as u64,
        expires: started as u64,
        lease_seconds: 0,
        ci_run: None,
        took_over: None,
    }
}

/// Takes the lock; see the module docs.
pub(crate) async fn lock(
    store: &PostgresStore,
    request: &LockRequest,
) -> Result<LockInfo, StateError> {
    let (session, task) = store.connect().await?;
    let mut took_over = None;
    let mut acquired = false;
    for _attempt in 0..40 {
        acquired = session
            .query_one("SELECT pg_try_advisory_lock($1)", &[&store.key])
            .await
            .map_err(|e| pg_error("taking the advisory lock", e))?
            .get(0);
        if acquired {
            break;
        }
        let Some(holder_pid) = advisory_holder(store, &session).await? else {
            continue;
        };
        match lock_row(store, &session).await? {
            Some((holder, pid)) if pid == holder_pid && !holder.expired() => {
                return Err(StateError::Locked(Box::new(holder)));
            }
            Some((holder, pid)) if pid == holder_pid => {
                // An expired lease: end the holder's session, which frees the lock and stops
                // the old holder from writing.
                session
                    .execute("SELECT pg_terminate_backend($1)", &[&pid])
                    .await
                    .map_err(|e| pg_error("ending the expired lock holder's session", e))?;
                took_over = Some(holder.describe());
            }
            // The holder is between taking the advisory lock and writing its row.
            _ => tokio::time::sleep(Duration::from_millis(50)).await,
        }
        if took_over.is_some() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    if !acquired {
        let holder = match advisory_holder(store, &session).await? {
            Some(pid) => match lock_row(store, &session).await? {
                Some((holder, row_pid)) if row_pid == pid => holder,
                _ => foreign_holder(&session, pid).await,
            },
            None => {
                return Err(StateError::Conflict(
                    "the lock kept changing hands; try again".into(),
                ))
            }
        };
        return Err(StateError::Locked(Box::new(holder)));
    }
    let pid: i32 = session
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .map_err(|e| pg_error("reading the session pid", e))?
        .get(0);
    let mut lock = LockInfo::for_this_process(request);
    if took_over.is_none() {
        // A row left by a holder whose session died: the lock was free, but say whose it was.
        if let Some((stale, _)) = lock_row(store, &session).await? {
            took_over = Some(format!("{} (its session had ended)", stale.describe()));
        }
    }
    lock.took_over = took_over;
    write_row(store, &session, &lock, pid).await?;
    *store.held.lock().await = Some(Held {
        lock: lock.clone(),
        client: session,
        task,
    });
    Ok(lock)
}

async fn write_row(
    store: &PostgresStore,
    client: &Client,
    lock: &LockInfo,
    pid: i32,
) -> Result<(), StateError> {
    let info = serde_json::to_string(lock)
        .map_err(|e| StateError::Backend(format!("encoding the lock: {e}")))?;
    let expires = lock.expires as i64;
    client
        .execute(
            &format!(
                "INSERT INTO {} (stack, environment, id, backend_pid, expires, info) VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (stack, environment) DO UPDATE SET id = $3, backend_pid = $4, expires = $5, info = $6",
                store.settings.lock_table
            ),
            &[&store.stack, &store.environment, &lock.id, &pid, &expires, &info],
        )
        .await
        .map_err(|e| pg_error("recording the lock", e))?;
    Ok(())
}

/// Extends the lease, on the lock's own session.
pub(crate) async fn renew(
    store: &PostgresStore,
    lock: &LockInfo,
    now: u64,
) -> Result<LockInfo, StateError> {
    let mut held = store.held.lock().await;
    let Some(current) = held.as_mut().filter(|h| h.lock.id == lock.id) else {
        return Err(StateError::NoSuchLock(lock.id.clone()));
    };
    let mut renewed = current.lock.clone();
    renewed.expires = now + lock.lease();
    let info = serde_json::to_string(&renewed)
        .map_err(|e| StateError::Backend(format!("encoding the lock: {e}")))?;
    let updated = current
        .client
        .execute(
            &format!(
                "UPDATE {} SET expires = $4, info = $5 WHERE stack = $1 AND environment = $2 AND id = $3 \
                 AND backend_pid = pg_backend_pid()",
                store.settings.lock_table
            ),
            &[&store.stack, &store.environment, &lock.id, &(renewed.expires as i64), &info],
        )
        .await;
    match updated {
        Ok(1) => {
            current.lock = renewed.clone();
            Ok(renewed)
        }
        _ => {
            // The session was ended (takeover, force-unlock) or the row now names another
            // holder: the lock is lost.
            *held = None;
            drop(held);
            let (client, _task) = store.connect().await?;
            match lock_row(store, &client).await? {
                Some((other, _)) if other.id != lock.id => Err(StateError::Locked(Box::new(other))),
                _ => Err(StateError::NoSuchLock(lock.id.clone())),
            }
        }
    }
}

/// Releases a lock this store holds (a no-op for any other).
pub(crate) async fn unlock(store: &PostgresStore, lock: &LockInfo) -> Result<(), StateError> {
    let mut held = store.held.lock().await;
    let Some(current) = held.as_ref().filter(|h| h.lock.id == lock.id) else {
        return Ok(());
    };
    if !current.client.is_closed() {
        current
            .client
            .execute(
                &format!(
                    "DELETE FROM {} WHERE stack = $1 AND environment = $2 AND id = $3",
                    store.settings.lock_table
                ),
                &[&store.stack, &store.environment, &lock.id],
            )
            .await
            .map_err(|e| pg_error("removing the lock record", e))?;
        current
            .client
            .execute("SELECT pg_advisory_unlock($1)", &[&store.key])
            .await
            .map_err(|e| pg_error("releasing the advisory lock", e))?;
    }
    *held = None;
    Ok(())
}

/// The lock records whose session still holds the advisory lock.
pub(crate) async fn live_locks(
    store: &PostgresStore,
    client: &Client,
) -> Result<Vec<LockInfo>, StateError> {
    let Some(pid) = advisory_holder(store, client).await? else {
        return Ok(Vec::new());
    };
    match lock_row(store, client).await? {
        Some((lock, row_pid)) if row_pid == pid => Ok(vec![lock]),
        _ => Ok(vec![foreign_holder(client, pid).await]),
    }
}

/// Ends the holder's session (releasing the advisory lock) and removes the record.
pub(crate) async fn force_unlock(
    store: &PostgresStore,
    client: &Client,
    id: &str,
) -> Result<(), StateError> {
    let holder = advisory_holder(store, client).await?;
    let row = lock_row(store, client).await?;
    let target = match (&row, holder) {
        (Some((lock, pid)), _) if lock.id == id => Some(*pid).filter(|pid| Some(*pid) == holder),
        _ if id.strip_prefix("pg-").and_then(|p| p.parse::<i32>().ok()) == holder
            && holder.is_some() =>
        {
            holder
        }
        _ => return Err(StateError::NoSuchLock(id.to_string())),
    };
    if let Some(pid) = target {
        client
            .execute("SELECT pg_terminate_backend($1)", &[&pid])
            .await
            .map_err(|e| pg_error("ending the lock holder's session", e))?;
    }
    client
        .execute(
            &format!(
                "DELETE FROM {} WHERE stack = $1 AND environment = $2 AND id = $3",
                store.settings.lock_table
            ),
            &[&store.stack, &store.environment, &id],
        )
        .await
        .map_err(|e| pg_error("removing the lock record", e))?;
    let mut held = store.held.lock().await;
    if held.as_ref().is_some_and(|h| h.lock.id == id) {
        *held = None;
    }
    Ok(())
}
