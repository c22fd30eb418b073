//! Secrets at rest: envelope encryption with XChaCha20-Poly1305.
//!
//! A random 256-bit *data key* encrypts every secret; the data key is stored in the database
//! wrapped (encrypted) by the *master key*, which never touches the database: it comes from
//! `SWITCHBOARD_MASTER_KEY` or a key file in the data directory. Each ciphertext is bound by its
//! associated data to the record and field it belongs to, so a ciphertext copied to another
//! connector or field does not decrypt.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use secrecy::{ExposeSecret, SecretString};
use std::path::Path;
use zeroize::Zeroizing;

use crate::access::secrets::fill_random;

const NONCE_BYTES: usize = 24;
const KEY_BYTES: usize = 32;
/// The key file's name inside the data directory.
pub const KEY_FILE: &str = "master.key";

/// A 256-bit key, wiped from memory when dropped.
#[derive(Clone)]
pub struct KeyBytes(Zeroizing<[u8; KEY_BYTES]>);

impl std::fmt::Debug for KeyBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyBytes(<redacted>)")
    }
}

impl KeyBytes {
    pub fn random() -> KeyBytes {
        let mut key = Zeroizing::new([0u8; KEY_BYTES]);
        fill_random(key.as_mut_slice());
        KeyBytes(key)
    }

    /// Parses base64 of exactly 32 bytes.
    pub fn from_base64(text: &str) -> Result<KeyBytes, VaultError> {
        let bytes = Zeroizing::new(
            B64.decode(text.trim())
                .map_err(|_| VaultError::BadKey("it is not valid base64".into()))?,
        );
        let array: [u8; KEY_BYTES] = bytes.as_slice().try_into().map_err(|_| {
            VaultError::BadKey(format!("it decodes to {} bytes, not 32", bytes.len()))
        })?;
        Ok(KeyBytes(Zeroizing::new(array)))
    }

    pub fn to_base64(&self) -> Zeroizing<String> {
        Zeroizing::new(B64.encode(self.0.as_slice()))
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(Key::from_slice(self.0.as_slice()))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error(
        "the master key is unusable: {0}. It must be 32 random bytes in base64, e.g. from `openssl rand -base64 32`"
    )]
    BadKey(String),
    #[error("cannot read or create the master key file {path}: {source}")]
    KeyFile {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "the master key does not open this database's data key: start with the master key the database was set up with (SWITCHBOARD_MASTER_KEY or the data directory's {KEY_FILE})"
    )]
    WrongMasterKey,
    #[error("a stored secret could not be decrypted ({0}); it was changed or belongs elsewhere")]
    Undecryptable(String),
}

/// Where the master key comes from.
pub enum MasterKeySource {
    /// `SWITCHBOARD_MASTER_KEY`.
    Env(String),
    /// The key file in the data directory, created on first start when `create` is true.
    File { dir: std::path::PathBuf },
}

/// Reads the master key; creates the key file (mode 0600) only when `may_create` — that is, when
/// the database holds no data key yet. A missing key for an existing database is an error, never
/// a fresh key that would silently orphan every stored secret.
pub fn load_master_key(source: &MasterKeySource, may_create: bool) -> Result<KeyBytes, VaultError> {
    match source {
        MasterKeySource::Env(text) => KeyBytes::from_base64(text),
        MasterKeySource::File { dir } => {
            let path = dir.join(KEY_FILE);
            let shown = path.display().to_string();
            let io = |source| VaultError::KeyFile {
                path: shown.clone(),
                source,
            };
            match std::fs::read_to_string(&path) {
                Ok(text) => KeyBytes::from_base64(&text),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && may_create => {
                    let key = KeyBytes::random();
                    write_private(&path, key.to_base64().as_bytes()).map_err(io)?;
                    tracing::info!(path = %shown, "created a new master key file; back it up with the database");
                    Ok(key)
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    Err(VaultError::BadKey(format!(
                        "{shown} is missing, but the database already holds encrypted secrets; restore the key file or set SWITCHBOARD_MASTER_KEY"
                    )))
                }
                Err(e) => Err(io(e)),
            }
        }
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Encrypts `plain` under `key`, bound to `aad`. Output: nonce ‖ ciphertext+tag.
fn seal(key: &KeyBytes, plain: &[u8], aad: &str) -> Vec<u8> {
    let mut nonce = [0u8; NONCE_BYTES];
    fill_random(&mut nonce);
    let sealed = key
        .cipher()
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: plain,
                aad: aad.as_bytes(),
            },
        )
        .expect("XChaCha20-Poly1305 encryption of an in-memory buffer cannot fail");
    let mut out = nonce.to_vec();
    out.extend_from_slice(&sealed);
    out
}

fn open(key: &KeyBytes, sealed: &[u8], aad: &str) -> Option<Zeroizing<Vec<u8>>> {
    if sealed.len() < NONCE_BYTES {
        return None;
    }
    let (nonce, body) = sealed.split_at(NONCE_BYTES);
    key.cipher()
        .decrypt(
            XNonce::from_slice(nonce),
            Payload {
                msg: body,
                aad: aad.as_bytes(),
            },
        )
        .ok()
        .map(Zeroizing::new)
}

fn data_key_aad(version: i64) -> String {
    format!("switchboard data key v{version}")
}

/// Wraps a data key under the master key, as stored in the database (base64).
pub fn wrap_data_key(master: &KeyBytes, data_key: &KeyBytes, version: i64) -> String {
    B64.encode(seal(master, data_key.0.as_slice(), &data_key_aad(version)))
}

pub fn unwrap_data_key(
    master: &KeyBytes,
    wrapped: &str,
    version: i64,
) -> Result<KeyBytes, VaultError> {
    let sealed = B64
        .decode(wrapped)
        .map_err(|_| VaultError::WrongMasterKey)?;
    let plain = open(master, &sealed, &data_key_aad(version)).ok_or(VaultError::WrongMasterKey)?;
    let array: [u8; KEY_BYTES] = plain
        .as_slice()
        .try_into()
        .map_err(|_| VaultError::WrongMasterKey)?;
    Ok(KeyBytes(Zeroizing::new(array)))
}

/// The unwrapped data key of one version, ready to seal and open secrets.
#[derive(Clone, Debug)]
pub struct Vault {
    pub key_version: i64,
    data_key: KeyBytes,
}

impl Vault {
    pub fn new(key_version: i64, data_key: KeyBytes) -> Vault {
        Vault {
            key_version,
            data_key,
        }
    }

    /// The associated data binding a secret to its record and field.
    pub fn aad(record: &str, field: &str) -> String {
        format!("{record}/{field}")
    }

    /// Encrypts a secret for `record`'s `field`; base64 for storage.
    pub fn encrypt(&self, secret: &SecretString, record: &str, field: &str) -> String {
        B64.encode(seal(
            &self.data_key,
            secret.expose_secret().as_bytes(),
            &Self::aad(record, field),
        ))
    }

    pub fn decrypt(
        &self,
        stored: &str,
        record: &str,
        field: &str,
    ) -> Result<SecretString, VaultError> {
        let sealed = B64
            .decode(stored)
            .map_err(|_| VaultError::Undecryptable(format!("{record}/{field}: not base64")))?;
        let plain = open(&self.data_key, &sealed, &Self::aad(record, field))
            .ok_or_else(|| VaultError::Undecryptable(format!("{record}/{field}")))?;
        let text = String::from_utf8(plain.to_vec())
            .map_err(|_| VaultError::Undecryptable(format!("{record}/{field}: not UTF-8")))?;
        Ok(SecretString::from(text))
    }
}

/// Opens the vault at start-up: unwraps the newest data key with the master key, or, on a
/// database without one, creates the data key (and, for the key-file source, the key file).
/// Several replicas starting at once agree on one data key: the loser of the insert re-reads.
pub async fn open_vault(
    store: &crate::storage::Store,
    source: &MasterKeySource,
) -> Result<Vault, String> {
    let stored = store
        .latest_vault_key()
        .await
        .map_err(|e| format!("cannot read the vault keys: {e}"))?;
    let master = load_master_key(source, stored.is_none()).map_err(|e| e.to_string())?;
    let (version, wrapped) = match stored {
        Some(found) => found,
        None => {
            let data_key = KeyBytes::random();
            let wrapped = wrap_data_key(&master, &data_key, 1);
            let inserted = store
                .insert_vault_key(1, &wrapped)
                .await
                .map_err(|e| format!("cannot store the vault's data key: {e}"))?;
            if inserted {
                return Ok(Vault::new(1, data_key));
            }
            store
                .latest_vault_key()
                .await
                .map_err(|e| format!("cannot read the vault keys: {e}"))?
                .ok_or("the vault key vanished while starting")?
        }
    };
    let result = unwrap_data_key(&master, &wrapped, version);
    if let (Err(VaultError::WrongMasterKey), MasterKeySource::File { dir }) = (&result, source)
        && let Some(data_key) = finish_interrupted_rotation(dir, &wrapped, version)?
    {
        return Ok(Vault::new(version, data_key));
    }
    result
        .map(|data_key| Vault::new(version, data_key))
        .map_err(|e| e.to_string())
}

/// A rotation that committed but stopped before replacing the key file left the new key in
/// `master.key.new`; if that key opens the data key, promote it.
fn finish_interrupted_rotation(
    dir: &Path,
    wrapped: &str,
    version: i64,
) -> Result<Option<KeyBytes>, String> {
    let pending = std::fs::read_to_string(dir.join(NEW_KEY_FILE))
        .ok()
        .and_then(|text| KeyBytes::from_base64(&text).ok())
        .and_then(|key| unwrap_data_key(&key, wrapped, version).ok());
    if pending.is_some() {
        promote_new_key_file(dir).map_err(|e| format!("cannot finish the key rotation: {e}"))?;
        tracing::warn!(
            "finished an interrupted key rotation: the new master key file is now in use"
        );
    }
    Ok(pending)
}

/// What a rotation did.
#[derive(Debug)]
pub struct Rotation {
    pub version: i64,
    pub secrets: usize,
}

/// Re-encrypts every secret under a fresh data key wrapped by `new_master`, in one transaction,
/// and drops the old data keys. `current` must open the database's data keys. Stop the servers
/// first: a running one keeps the old data key in memory.
pub async fn rotate_master_key(
    store: &crate::storage::Store,
    current: &KeyBytes,
    new_master: &KeyBytes,
) -> Result<Rotation, String> {
    let (version, wrapped) = store
        .latest_vault_key()
        .await
        .map_err(|e| format!("cannot read the vault keys: {e}"))?
        .ok_or("this database has no data key yet: start the server once, then rotate")?;
    let old = Vault::new(
        version,
        unwrap_data_key(current, &wrapped, version).map_err(|e| e.to_string())?,
    );
    let next = Vault::new(version + 1, KeyBytes::random());
    let stored = store
        .connector_secrets()
        .await
        .map_err(|e| format!("cannot read the stored secrets: {e}"))?;
    let mut swaps = Vec::with_capacity(stored.len());
    for stored in stored {
        let id = stored.id;
        for (_, key_version) in stored.secret.iter().chain(&stored.header_secrets) {
            if *key_version != version {
                return Err(format!(
                    "connector {id} is encrypted under data key v{key_version}, not the current v{version}"
                ));
            }
        }
        let record = crate::connectors::record_aad(&id);
        let reseal = |ciphertext: &str, field: &str| -> Result<String, String> {
            let plain = old
                .decrypt(ciphertext, &record, field)
                .map_err(|e| e.to_string())?;
            Ok(next.encrypt(&plain, &record, field))
        };
        let (secret, header_secrets) = (
            stored.secret.map(|(text, _)| text),
            stored.header_secrets.map(|(text, _)| text),
        );
        swaps.push(crate::storage::ConnectorSwap {
            secret: secret
                .as_deref()
                .map(|c| reseal(c, crate::connectors::SECRET_FIELD))
                .transpose()?,
            header_secrets: header_secrets
                .as_deref()
                .map(|c| reseal(c, crate::connectors::HEADER_SECRETS_FIELD))
                .transpose()?,
            old_secret: secret,
            old_header_secrets: header_secrets,
            id,
        });
    }
    let mut webhooks = Vec::new();
    for hook in store
        .webhook_secrets()
        .await
        .map_err(|e| format!("cannot read the stored webhook secrets: {e}"))?
    {
        let id = &hook.workflow_id;
        if hook.key_version != version {
            return Err(format!(
                "the webhook of workflow {id} is encrypted under data key v{}, not the current v{version}",
                hook.key_version
            ));
        }
        let reseal = |ciphertext: &str, field: &str| -> Result<String, String> {
            let plain = old
                .decrypt(ciphertext, id, field)
                .map_err(|e| e.to_string())?;
            Ok(next.encrypt(&plain, id, field))
        };
        webhooks.push(crate::storage::WebhookSwap {
            workflow_id: id.clone(),
            token: reseal(&hook.token_ciphertext, crate::triggers::TOKEN_FIELD)?,
            secret: hook
                .secret_ciphertext
                .as_deref()
                .map(|c| reseal(c, crate::triggers::SECRET_FIELD))
                .transpose()?,
            old_token: hook.token_ciphertext,
            old_secret: hook.secret_ciphertext,
        });
    }
    store
        .replace_vault_key(
            next.key_version,
            &wrap_data_key(new_master, &next.data_key, next.key_version),
            &swaps,
            &webhooks,
        )
        .await
        .map_err(|e| format!("the rotation was rolled back: {e}"))?;
    Ok(Rotation {
        version: next.key_version,
        secrets: swaps.len() + webhooks.len(),
    })
}

/// Where a rotation that reported an error left the database. An error can come after the
/// commit went through (the connection broke while it was acknowledged): the new key must then
/// be kept, or every secret is under a key nobody has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RotationOutcome {
    /// The newest data key still opens with the current master key: nothing changed.
    RolledBack,
    /// The newest data key opens with the new master key: the rotation committed.
    Committed,
    /// The database cannot be read, or neither key opens its data key.
    Unknown,
}

/// Reads which master key opens the database's newest data key, after a rotation's error.
pub async fn rotation_outcome(
    store: &crate::storage::Store,
    current: &KeyBytes,
    new_master: &KeyBytes,
) -> RotationOutcome {
    let Ok(Some((version, wrapped))) = store.latest_vault_key().await else {
        return RotationOutcome::Unknown;
    };
    if unwrap_data_key(current, &wrapped, version).is_ok() {
        RotationOutcome::RolledBack
    } else if unwrap_data_key(new_master, &wrapped, version).is_ok() {
        RotationOutcome::Committed
    } else {
        RotationOutcome::Unknown
    }
}

/// The key file a rotation writes before it commits; promoted over the key file after.
pub const NEW_KEY_FILE: &str = "master.key.new";

/// Replaces the key file with the rotated one (after the database committed the rotation).
pub fn promote_new_key_file(dir: &Path) -> std::io::Result<()> {
    std::fs::rename(dir.join(NEW_KEY_FILE), dir.join(KEY_FILE))
}

/// Writes the new master key beside the current one, mode 0600, before the rotation commits.
pub fn write_new_key_file(dir: &Path, key: &KeyBytes) -> std::io::Result<()> {
    let path = dir.join(NEW_KEY_FILE);
    match std::fs::remove_file(&path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    write_private(&path, key.to_base64().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_round_trip_and_are_bound_to_their_place() {
        let vault = Vault::new(1, KeyBytes::random());
        let secret = SecretString::from("canary-7f3a".to_owned());
        let stored = vault.encrypt(&secret, "connector:abc", "auth");
        assert!(!stored.contains("canary"));
        let back = vault.decrypt(&stored, "connector:abc", "auth").unwrap();
        assert_eq!(back.expose_secret(), "canary-7f3a");
        // Same plaintext, fresh nonce: different ciphertext.
        assert_ne!(stored, vault.encrypt(&secret, "connector:abc", "auth"));
        // Moved to another record or field, or tampered with: refused.
        assert!(vault.decrypt(&stored, "connector:xyz", "auth").is_err());
        assert!(vault.decrypt(&stored, "connector:abc", "other").is_err());
        let mut bytes = B64.decode(&stored).unwrap();
        *bytes.last_mut().unwrap() ^= 1;
        assert!(
            vault
                .decrypt(&B64.encode(bytes), "connector:abc", "auth")
                .is_err()
        );
        // Another data key cannot open it.
        let other = Vault::new(1, KeyBytes::random());
        assert!(other.decrypt(&stored, "connector:abc", "auth").is_err());
    }

    #[test]
    fn data_keys_unwrap_only_with_their_master_key() {
        let master = KeyBytes::random();
        let data = KeyBytes::random();
        let wrapped = wrap_data_key(&master, &data, 1);
        let back = unwrap_data_key(&master, &wrapped, 1).unwrap();
        assert_eq!(back.0.as_slice(), data.0.as_slice());
        assert!(matches!(
            unwrap_data_key(&KeyBytes::random(), &wrapped, 1),
            Err(VaultError::WrongMasterKey)
        ));
        assert!(matches!(
            unwrap_data_key(&master, &wrapped, 2),
            Err(VaultError::WrongMasterKey)
        ));
    }

    #[test]
    fn master_keys_parse_from_base64_of_32_bytes() {
        let key = KeyBytes::random();
        assert!(KeyBytes::from_base64(&key.to_base64()).is_ok());
        let short = KeyBytes::from_base64("AAAA").unwrap_err().to_string();
        assert!(short.contains("3 bytes, not 32"), "{short}");
        assert!(KeyBytes::from_base64("not base64!").is_err());
        assert!(!format!("{key:?}").contains(key.to_base64().as_str()));
    }

    #[test]
    fn the_key_file_is_created_once_private_and_never_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let source = MasterKeySource::File {
            dir: dir.path().join("data"),
        };
        assert!(
            load_master_key(&source, false).is_err(),
            "missing and not allowed to create"
        );
        let first = load_master_key(&source, true).unwrap();
        let again = load_master_key(&source, true).unwrap();
        assert_eq!(first.0.as_slice(), again.0.as_slice());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("data").join(KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
