//! Encryption at rest: a codec every backend applies to the bytes of the document and of
//! each journal entry before they leave the process.
//!
//! - AEAD: XChaCha20-Poly1305 (RustCrypto `chacha20poly1305`), a random 24-byte nonce per
//!   write.
//! - Key: Argon2id over a passphrase read from an environment variable
//!   (`PLINTH_STATE_PASSPHRASE` by default), with a random salt and the cost parameters stored
//!   in the envelope, so they can be raised later without breaking old states.
//! - Envelope: one line of JSON, `{"plinth_encrypted":1,...}`, naming the key id (a digest of
//!   the derived key) so a wrong passphrase is reported as such before any decryption.
//! - Rotation: a fallback passphrase (`PLINTH_STATE_PASSPHRASE_PREVIOUS`) is tried when the
//!   current one does not match; writes always use the current one.
//! - Migration: plain documents are always readable (the next write encrypts); with
//!   `encryption = "off"` and a passphrase still set, encrypted states are read and the next
//!   write is plain.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::error::StateError;

/// Default variable holding the current passphrase.
pub const PASSPHRASE_ENV: &str = "PLINTH_STATE_PASSPHRASE";
/// Default variable holding the previous passphrase (key rotation).
pub const PREVIOUS_PASSPHRASE_ENV: &str = "PLINTH_STATE_PASSPHRASE_PREVIOUS";
/// Version of the envelope format.
pub const ENVELOPE_VERSION: u32 = 1;

/// Argon2id cost: OWASP's minimum recommendation (19 MiB, 2 passes, 1 lane).
const ARGON2_MEMORY_KIB: u32 = 19_456;
const ARGON2_PASSES: u32 = 2;
const ARGON2_LANES: u32 = 1;
const ENVELOPE_PREFIX: &[u8] = b"{\"plinth_encrypted\":";

/// A passphrase, wiped from memory when dropped.
#[derive(Clone)]
pub struct Passphrase {
    value: Zeroizing<String>,
    /// Where it came from (an environment variable name), for messages.
    source: String,
}

impl Passphrase {
    /// A passphrase from `value`, described in messages as `source`.
    pub fn new(value: impl Into<String>, source: impl Into<String>) -> Self {
        Passphrase {
            value: Zeroizing::new(value.into()),
            source: source.into(),
        }
    }

    /// Reads the variable; `None` when unset or empty.
    pub fn from_env(variable: &str) -> Option<Self> {
        std::env::var(variable)
            .ok()
            .filter(|v| !v.is_empty())
            .map(|v| Passphrase::new(v, format!("`{variable}`")))
    }
}

impl std::fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Passphrase(from {})", self.source)
    }
}

/// The encrypted form of a document or journal entry.
#[derive(Serialize, Deserialize)]
struct Envelope {
    /// Must stay the first field: readers detect envelopes by this prefix.
    plinth_encrypted: u32,
    alg: String,
    kdf: String,
    memory_kib: u32,
    passes: u32,
    lanes: u32,
    salt: String,
    key_id: String,
    nonce: String,
    ciphertext: String,
}

/// Cache key of a derived read key: (passphrase slot, salt, memory KiB, passes, lanes).
type ReadKeyId = (u8, Vec<u8>, u32, u32, u32);

/// A derived key and its id.
#[derive(Clone)]
struct DerivedKey {
    key: Zeroizing<[u8; 32]>,
    id: String,
}

/// The codec: encrypts on write when enabled, decrypts whatever it can read.
pub struct Encryption {
    encrypt_writes: bool,
    current: Option<Passphrase>,
    previous: Option<Passphrase>,
    /// Salt and key used for every write of this instance.
    write_key: OnceLock<(Vec<u8>, DerivedKey)>,
    /// Keys derived for reading, by (passphrase slot, salt, cost).
    read_keys: Mutex<HashMap<ReadKeyId, DerivedKey>>,
}

impl std::fmt::Debug for Encryption {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encryption")
            .field("encrypt_writes", &self.encrypt_writes)
            .field("current", &self.current)
            .field("previous", &self.previous)
            .finish()
    }
}

impl Encryption {
    /// No encryption configured: writes plain, and an encrypted state is a clear error.
    pub fn disabled() -> Self {
        Encryption {
            encrypt_writes: false,
            current: None,
            previous: None,
            write_key: OnceLock::new(),
            read_keys: Mutex::new(HashMap::new()),
        }
    }

    /// A codec. `encrypt_writes` needs `current`; `previous` is only ever used to read.
    /// With `encrypt_writes = false` a passphrase still decrypts (migration back to plain).
    pub fn new(
        encrypt_writes: bool,
        current: Option<Passphrase>,
        previous: Option<Passphrase>,
    ) -> Result<Self, StateError> {
        if encrypt_writes && current.is_none() {
            return Err(StateError::Config(format!(
                "state encryption is on but no passphrase is set: export `{PASSPHRASE_ENV}` \
                 (or the variable named by `passphrase_env`)"
            )));
        }
        Ok(Encryption {
            encrypt_writes,
            current,
            previous,
            write_key: OnceLock::new(),
            read_keys: Mutex::new(HashMap::new()),
        })
    }

    /// A codec from environment variables: `passphrase_var` (current) and `previous_var`.
    pub fn from_env(
        encrypt_writes: bool,
        passphrase_var: &str,
        previous_var: &str,
    ) -> Result<Self, StateError> {
        let current = Passphrase::from_env(passphrase_var);
        if encrypt_writes && current.is_none() {
            return Err(StateError::Config(format!(
                "state encryption is on but `{passphrase_var}` is not set: export the passphrase"
            )));
        }
        Encryption::new(encrypt_writes, current, Passphrase::from_env(previous_var))
    }

    /// True when writes are encrypted.
    pub fn encrypts(&self) -> bool {
        self.encrypt_writes
    }

    /// True when `bytes` is an encrypted envelope.
    pub fn is_encrypted(bytes: &[u8]) -> bool {
        let start = bytes
            .iter()
            .position(|b| !b.is_ascii_whitespace())
            .unwrap_or(bytes.len());
        bytes[start..].starts_with(ENVELOPE_PREFIX)
    }

    /// Encodes bytes for storage: an envelope (one line, no newline) when encrypting,
    /// otherwise `plain` unchanged.
    pub fn seal(&self, plain: Vec<u8>) -> Result<Vec<u8>, StateError> {
        if !self.encrypt_writes {
            return Ok(plain);
        }
        let passphrase = self
            .current
            .as_ref()
            .ok_or_else(|| StateError::Config("no passphrase".into()))?;
        let (salt, key) = match self.write_key.get() {
            Some(found) => found.clone(),
            None => {
                let salt: [u8; 16] = rand::random();
                let key = derive(
                    passphrase,
                    &salt,
                    ARGON2_MEMORY_KIB,
                    ARGON2_PASSES,
                    ARGON2_LANES,
                )?;
                self.write_key.get_or_init(|| (salt.to_vec(), key)).clone()
            }
        };
        let nonce_bytes: [u8; 24] = rand::random();
        let cipher = XChaCha20Poly1305::new_from_slice(key.key.as_slice())
            .map_err(|e| StateError::Backend(format!("state encryption key: {e}")))?;
        let aad = associated_data(&key.id);
        let ciphertext = cipher
            .encrypt(
                XNonce::from_slice(&nonce_bytes),
                Payload {
                    msg: &plain,
                    aad: &aad,
                },
            )
            .map_err(|_| StateError::Backend("encrypting the state failed".into()))?;
        let envelope = Envelope {
            plinth_encrypted: ENVELOPE_VERSION,
            alg: "xchacha20poly1305".into(),
            kdf: "argon2id".into(),
            memory_kib: ARGON2_MEMORY_KIB,
            passes: ARGON2_PASSES,
            lanes: ARGON2_LANES,
            salt: BASE64.encode(&salt),
            key_id: key.id,
            nonce: BASE64.encode(nonce_bytes),
            ciphertext: BASE64.encode(ciphertext),
        };
        serde_json::to_vec(&envelope)
            .map_err(|e| StateError::Backend(format!("encoding the envelope: {e}")))
    }

    /// Decodes stored bytes: plain bytes pass through, envelopes are decrypted with the
    /// current or the previous passphrase. `location` names the object in errors.
    pub fn open(&self, bytes: Vec<u8>, location: &str) -> Result<Vec<u8>, StateError> {
        if !Encryption::is_encrypted(&bytes) {
            return Ok(bytes);
        }
        let fail = |reason: String| StateError::Decrypt {
            location: location.to_string(),
            reason,
        };
        let envelope: Envelope =
            serde_json::from_slice(&bytes).map_err(|e| StateError::Corrupt {
                location: location.into(),
                reason: format!("broken envelope: {e}"),
            })?;
        if envelope.plinth_encrypted != ENVELOPE_VERSION
            || envelope.alg != "xchacha20poly1305"
            || envelope.kdf != "argon2id"
        {
            return Err(fail(format!(
                "envelope version {} ({}, {}) is not supported by this Plinth; upgrade Plinth",
                envelope.plinth_encrypted, envelope.alg, envelope.kdf
            )));
        }
        if self.current.is_none() && self.previous.is_none() {
            return Err(fail(format!(
                "the state is encrypted (key id {}) but no passphrase is set: export `{PASSPHRASE_ENV}`",
                envelope.key_id
            )));
        }
        let decode = |field: &str, text: &str| {
            BASE64.decode(text).map_err(|e| StateError::Corrupt {
                location: location.into(),
                reason: format!("envelope field `{field}`: {e}"),
            })
        };
        let salt = decode("salt", &envelope.salt)?;
        let nonce = decode("nonce", &envelope.nonce)?;
        let ciphertext = decode("ciphertext", &envelope.ciphertext)?;
        if nonce.len() != 24 {
            return Err(StateError::Corrupt {
                location: location.into(),
                reason: "nonce is not 24 bytes".into(),
            });
        }
        let mut tried = Vec::new();
        for (slot, passphrase) in [(0u8, &self.current), (1u8, &self.previous)] {
            let Some(passphrase) = passphrase else {
                continue;
            };
            let key = self.read_key(slot, passphrase, &salt, &envelope)?;
            if key.id != envelope.key_id {
                tried.push(format!("{} (key id {})", passphrase.source, key.id));
                continue;
            }
            let cipher = XChaCha20Poly1305::new_from_slice(key.key.as_slice())
                .map_err(|e| StateError::Backend(format!("state encryption key: {e}")))?;
            let aad = associated_data(&key.id);
            return cipher
                .decrypt(
                    XNonce::from_slice(&nonce),
                    Payload {
                        msg: &ciphertext,
                        aad: &aad,
                    },
                )
                .map_err(|_| {
                    fail(format!(
                        "authentication failed with {}: the data was altered",
                        passphrase.source
                    ))
                });
        }
        Err(fail(format!(
            "wrong passphrase: the state was encrypted with key id {}, tried {}",
            envelope.key_id,
            tried.join(" and ")
        )))
    }

    fn read_key(
        &self,
        slot: u8,
        passphrase: &Passphrase,
        salt: &[u8],
        envelope: &Envelope,
    ) -> Result<DerivedKey, StateError> {
        let cache_key = (
            slot,
            salt.to_vec(),
            envelope.memory_kib,
            envelope.passes,
            envelope.lanes,
        );
        if let Ok(cache) = self.read_keys.lock() {
            if let Some(found) = cache.get(&cache_key) {
                return Ok(found.clone());
            }
        }
        if slot == 0 {
            if let Some((write_salt, key)) = self.write_key.get() {
                let default_cost = (ARGON2_MEMORY_KIB, ARGON2_PASSES, ARGON2_LANES);
                if write_salt == salt
                    && (envelope.memory_kib, envelope.passes, envelope.lanes) == default_cost
                {
                    return Ok(key.clone());
                }
            }
        }
        let key = derive(
            passphrase,
            salt,
            envelope.memory_kib,
            envelope.passes,
            envelope.lanes,
        )?;
        if let Ok(mut cache) = self.read_keys.lock() {
            cache.insert(cache_key, key.clone());
        }
        Ok(key)
    }
}

fn associated_data(key_id: &str) -> Vec<u8> {
    format!("plinth-state-envelope-v{ENVELOPE_VERSION}:{key_id}").into_bytes()
}

/// Argon2id over the passphrase; the key id is a digest of the derived key.
fn derive(
    passphrase: &Passphrase,
    salt: &[u8],
    memory_kib: u32,
    passes: u32,
    lanes: u32,
) -> Result<DerivedKey, StateError> {
    if memory_kib > 4 * 1024 * 1024 || passes > 64 || lanes > 64 {
        return Err(StateError::Config(format!(
            "the envelope asks for an unreasonable key-derivation cost (m={memory_kib} KiB, t={passes}, p={lanes})"
        )));
    }
    let params = argon2::Params::new(memory_kib, passes, lanes, Some(32))
        .map_err(|e| StateError::Config(format!("key-derivation parameters: {e}")))?;
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let mut key = Zeroizing::new([0u8; 32]);
    argon
        .hash_password_into(passphrase.value.as_bytes(), salt, key.as_mut_slice())
        .map_err(|e| {
            StateError::Config(format!(
                "deriving the state key from {}: {e}",
                passphrase.source
            ))
        })?;
    let mut digest = Sha256::new();
    digest.update(b"plinth state key id\0");
    digest.update(key.as_slice());
    let id = hex::encode(&digest.finalize()[..8]);
    Ok(DerivedKey { key, id })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codec(encrypt: bool, current: Option<&str>, previous: Option<&str>) -> Encryption {
        Encryption::new(
            encrypt,
            current.map(|p| Passphrase::new(p, "`CURRENT`")),
            previous.map(|p| Passphrase::new(p, "`PREVIOUS`")),
        )
        .unwrap()
    }

    #[test]
    fn round_trips_and_hides_the_plaintext() {
        let codec = codec(true, Some("correct horse"), None);
        let sealed = codec.seal(b"{\"password\":\"hunter2\"}".to_vec()).unwrap();
        assert!(Encryption::is_encrypted(&sealed));
        assert!(!sealed.windows(7).any(|w| w == b"hunter2"));
        assert!(!sealed.contains(&b'\n'));
        assert_eq!(
            codec.open(sealed, "test").unwrap(),
            b"{\"password\":\"hunter2\"}"
        );
    }

    #[test]
    fn wrong_key_is_a_decrypt_error_and_previous_key_rotates() {
        let old = codec(true, Some("old"), None).seal(b"{}".to_vec()).unwrap();
        let err = codec(true, Some("new"), None)
            .open(old.clone(), "test")
            .unwrap_err();
        assert!(matches!(err, StateError::Decrypt { .. }), "{err}");
        assert!(err.to_string().contains("wrong passphrase"), "{err}");
        assert_eq!(
            codec(true, Some("new"), Some("old"))
                .open(old, "test")
                .unwrap(),
            b"{}"
        );
    }

    #[test]
    fn plain_bytes_pass_through_and_off_still_reads() {
        let on = codec(true, Some("p"), None);
        assert_eq!(
            on.open(b"{\"lineage\":1}".to_vec(), "t").unwrap(),
            b"{\"lineage\":1}"
        );
        let sealed = on.seal(b"x".to_vec()).unwrap();
        let off = codec(false, Some("p"), None);
        assert_eq!(off.seal(b"plain".to_vec()).unwrap(), b"plain");
        assert_eq!(off.open(sealed.clone(), "t").unwrap(), b"x");
        assert!(matches!(
            Encryption::disabled().open(sealed, "t"),
            Err(StateError::Decrypt { .. })
        ));
        assert!(Encryption::new(true, None, None).is_err());
    }
}
