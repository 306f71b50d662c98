//! Building the store a stack's `[backend]` table asks for.
//!
//! ```toml
//! [backend]
//! kind = "s3"                     # "local" (default) | "s3" | "postgres"
//! bucket = "acme-plinth-state"    # s3: bucket (required), prefix (default "plinth"),
//! region = "eu-west-1"            #     region, endpoint (S3-compatible servers)
//! encrypt = true                  # every backend: encryption at rest
//! # passphrase_env = "PLINTH_STATE_PASSPHRASE"                   (default)
//! # previous_passphrase_env = "PLINTH_STATE_PASSPHRASE_PREVIOUS" (key rotation)
//! ```
//!
//! - `local`: `path` (default: the stack's `.plinth/` directory; relative paths are taken
//!   from the stack directory).
//! - `postgres`: `url`, or `url_env` naming the variable that holds it (keeps the password
//!   out of the stack file); `table` (default `plinth_state`), `lock_table` (default
//!   `plinth_locks`).
//! - Encryption: `encrypt = true` (or `encryption = "on"`) encrypts every write and needs
//!   the passphrase variable; `encryption = "off"` writes plain but still reads an encrypted
//!   state while a passphrase is set (the way back to plain). Unset: plain, and an encrypted
//!   state is readable when the passphrase variable is set.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use serde_json::Value as Json;

use crate::encryption::{Encryption, PASSPHRASE_ENV, PREVIOUS_PASSPHRASE_ENV};
use crate::error::StateError;
use crate::local::LocalStore;
use crate::store::StateStore;

/// The `[backend]` keys other than `kind`, as JSON values.
pub type BackendSettings = BTreeMap<String, Json>;

const ENCRYPTION_KEYS: [&str; 4] = [
    "encrypt",
    "encryption",
    "passphrase_env",
    "previous_passphrase_env",
];

/// Opens the store for `stack` / `environment` described by `kind` and `settings`.
/// `default_dir` is the stack's `.plinth/` directory (used by `local`). Unknown kinds,
/// unknown keys and missing required keys are [`StateError::Config`] errors.
///
/// Nothing is contacted here (remote backends connect at first use), so this is cheap and
/// synchronous. The result converts into the `Arc<dyn StateStore>` that
/// [`crate::spawn_renewal`] takes with `Arc::from(store)`.
pub fn open_store(
    kind: &str,
    settings: &BackendSettings,
    stack: &str,
    environment: &str,
    default_dir: &Path,
) -> Result<Box<dyn StateStore>, StateError> {
    let inner = open_backend(kind, settings, stack, environment, default_dir)?;
    Ok(Box::new(crate::identity::IdentifiedStore::new(
        inner,
        stack,
        environment,
    )))
}

/// The backend alone, without the stack identity checks of [`open_store`].
pub fn open_backend(
    kind: &str,
    settings: &BackendSettings,
    stack: &str,
    environment: &str,
    default_dir: &Path,
) -> Result<Box<dyn StateStore>, StateError> {
    let allowed: &[&str] = match kind {
        "local" => &["path"],
        "s3" => &["bucket", "prefix", "region", "endpoint"],
        "postgres" => &["url", "url_env", "table", "lock_table"],
        other => {
            return Err(StateError::Config(format!(
                "unknown backend kind `{other}`: use `local`, `s3` or `postgres`"
            )))
        }
    };
    for key in settings.keys() {
        if key != "kind"
            && !allowed.contains(&key.as_str())
            && !ENCRYPTION_KEYS.contains(&key.as_str())
        {
            let mut known: Vec<&str> = allowed.to_vec();
            known.extend(ENCRYPTION_KEYS);
            return Err(StateError::Config(format!(
                "unknown key `{key}` for the `{kind}` backend; known keys: {}",
                known
                    .iter()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
    }
    let codec = Arc::new(encryption(settings)?);
    let _ = stack; // Only the remote backends key their state by stack name.
    match kind {
        "local" => {
            let dir = match optional_string(settings, "path")? {
                Some(path) if Path::new(&path).is_absolute() => path.into(),
                Some(path) => default_dir.parent().unwrap_or(Path::new(".")).join(path),
                None => default_dir.to_path_buf(),
            };
            Ok(Box::new(LocalStore::new(dir, environment).with_encryption(codec)))
        }
        #[cfg(feature = "s3")]
        "s3" => {
            let settings = crate::s3::S3Settings {
                bucket: required_string(settings, "bucket", kind)?,
                prefix: optional_string(settings, "prefix")?.unwrap_or_else(|| "plinth".into()),
                region: optional_string(settings, "region")?,
                endpoint: optional_string(settings, "endpoint")?,
            };
            Ok(Box::new(crate::s3::S3Store::new(settings, stack, environment, codec)))
        }
        #[cfg(feature = "postgres")]
        "postgres" => {
            let url = match (optional_string(settings, "url")?, optional_string(settings, "url_env")?) {
                (Some(url), None) => url,
                (None, Some(variable)) => std::env::var(&variable).map_err(|_| {
                    StateError::Config(format!("`url_env` names `{variable}`, which is not set"))
                })?,
                (Some(_), Some(_)) => {
                    return Err(StateError::Config("set either `url` or `url_env` for the `postgres` backend, not both".into()))
                }
                (None, None) => {
                    return Err(StateError::Config(
                        "the `postgres` backend needs `url` (or `url_env` naming a variable that holds it)".into(),
                    ))
                }
            };
            let settings = crate::postgres::PostgresSettings {
                url,
                table: optional_string(settings, "table")?.unwrap_or_else(|| "plinth_state".into()),
                lock_table: optional_string(settings, "lock_table")?.unwrap_or_else(|| "plinth_locks".into()),
            };
            Ok(Box::new(crate::postgres::PostgresStore::new(settings, stack, environment, codec)?))
        }
        other => Err(StateError::Config(format!(
            "this build of Plinth has no `{other}` backend (cargo feature `{other}` of plinth-state is off)"
        ))),
    }
}

/// The codec the encryption keys ask for.
pub fn encryption(settings: &BackendSettings) -> Result<Encryption, StateError> {
    let encrypt = match settings.get("encrypt") {
        None => None,
        Some(Json::Bool(on)) => Some(*on),
        Some(other) => {
            return Err(StateError::Config(format!(
                "`encrypt` must be true or false, not {other}"
            )))
        }
    };
    let mode = optional_string(settings, "encryption")?;
    let encrypt_writes = match (encrypt, mode.as_deref()) {
        (Some(true), Some("off")) | (Some(false), Some("on")) => {
            return Err(StateError::Config(
                "`encrypt` and `encryption` disagree; set only one".into(),
            ))
        }
        (Some(on), _) => on,
        (None, Some("on")) => true,
        (None, Some("off")) | (None, None) => false,
        (None, Some(other)) => {
            return Err(StateError::Config(format!(
                "`encryption` must be \"on\" or \"off\", not \"{other}\""
            )))
        }
    };
    let current =
        optional_string(settings, "passphrase_env")?.unwrap_or_else(|| PASSPHRASE_ENV.into());
    let previous = optional_string(settings, "previous_passphrase_env")?
        .unwrap_or_else(|| PREVIOUS_PASSPHRASE_ENV.into());
    Encryption::from_env(encrypt_writes, &current, &previous)
}

fn optional_string(settings: &BackendSettings, key: &str) -> Result<Option<String>, StateError> {
    match settings.get(key) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::String(text)) if text.is_empty() => Ok(None),
        Some(Json::String(text)) => Ok(Some(text.clone())),
        Some(other) => Err(StateError::Config(format!(
            "`{key}` must be a string, not {other}"
        ))),
    }
}

#[cfg_attr(not(feature = "s3"), allow(dead_code))]
fn required_string(
    settings: &BackendSettings,
    key: &str,
    kind: &str,
) -> Result<String, StateError> {
    optional_string(settings, key)?.ok_or_else(|| {
        StateError::Config(format!("the `{kind}` backend needs `{key}` in `[backend]`"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pairs: &[(&str, Json)]) -> BackendSettings {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    fn error_of(kind: &str, pairs: &[(&str, Json)]) -> String {
        match open_store(
            kind,
            &settings(pairs),
            "app",
            "dev",
            Path::new("/tmp/x/.plinth"),
        ) {
            Ok(store) => panic!("expected an error, opened {}", store.describe()),
            Err(error) => error.to_string(),
        }
    }

    #[test]
    fn unknown_kinds_keys_and_missing_keys_are_clear_errors() {
        assert!(error_of("etcd", &[]).contains("unknown backend kind `etcd`"));
        assert!(error_of("local", &[("bucket", Json::from("b"))]).contains("unknown key `bucket`"));
        assert!(error_of("s3", &[]).contains("needs `bucket`"));
        assert!(error_of("postgres", &[]).contains("needs `url`"));
        assert!(error_of("local", &[("encrypt", Json::from("yes"))]).contains("true or false"));
        let missing = error_of(
            "local",
            &[
                ("encrypt", Json::from(true)),
                ("passphrase_env", Json::from("PLINTH_TEST_UNSET_VAR")),
            ],
        );
        assert!(
            missing.contains("`PLINTH_TEST_UNSET_VAR` is not set"),
            "{missing}"
        );
    }

    #[test]
    fn local_defaults_to_the_stack_state_directory() {
        let dir = Path::new("/s/app/.plinth");
        let store = open_store("local", &BackendSettings::new(), "app", "dev", dir).unwrap();
        assert_eq!(store.describe(), "local file /s/app/.plinth/dev.state.json");
        let path = settings(&[("path", Json::from("state"))]);
        let store = open_store("local", &path, "app", "dev", dir).unwrap();
        assert_eq!(store.describe(), "local file /s/app/state/dev.state.json");
    }
}
