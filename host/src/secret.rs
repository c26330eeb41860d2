//! Secrets: comparing them in constant time ([`same`]), and the management secret at rest — a
//! plaintext `remote-management.secret-key` is replaced by its bcrypt hash in `config.yaml`
//! (comments and key order kept, written atomically), at start and on every reload, as the
//! reference does — and checked against a key ([`verify`]).
//!
//! bcrypt reads at most 72 bytes of its input (and at exactly 72 loses its terminator), so a
//! secret of 72 bytes or more is pre-hashed: bcrypt gets the standard base64 of its SHA-256
//! (44 bytes). Verification tries that form, then the legacy form (the whole key, which bcrypt
//! truncates) that earlier versions wrote; a legacy match says so ([`Match::Legacy`]) and the
//! caller writes a new hash back. A hash switchyard wrote for such a long secret is not
//! understood by the reference.

use std::borrow::Cow;
use std::path::Path;

use base64::Engine;
use serde_json::Value;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::atomic_file;
use crate::config::yaml_edit::{self, EditError, path};

/// bcrypt cost, as the reference.
const COST: u32 = 10;

/// Why the secret could not be hashed into the file.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SecretError {
    /// The file's YAML could not be edited.
    #[error(transparent)]
    Edit(#[from] EditError),
    /// bcrypt failed.
    #[error("bcrypt: {0}")]
    Hash(#[from] bcrypt::BcryptError),
    /// Reading or writing the file failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Whether two secrets (keys, tokens, passwords) are equal, in time that depends on neither
/// their content nor their length: compares their SHA-256 digests in constant time.
pub(crate) fn same(a: &str, b: &str) -> bool {
    let a = Sha256::digest(a.as_bytes());
    let b = Sha256::digest(b.as_bytes());
    a.ct_eq(&b).into()
}

/// Whether `secret` is already a bcrypt hash (`$2a$`, `$2b$` or `$2y$`).
pub(crate) fn is_hashed(secret: &str) -> bool {
    secret.len() > 4
        && ["$2a$", "$2b$", "$2y$"]
            .iter()
            .any(|p| secret.starts_with(p))
}

/// Secrets of this many bytes or more are pre-hashed before bcrypt.
pub(crate) const PRE_HASH_FROM: usize = 72;

/// The bcrypt input for `secret`: itself below [`PRE_HASH_FROM`] bytes, else the standard
/// base64 of its SHA-256.
pub(crate) fn bcrypt_input(secret: &str) -> Cow<'_, str> {
    if secret.len() < PRE_HASH_FROM {
        Cow::Borrowed(secret)
    } else {
        let digest = Sha256::digest(secret.as_bytes());
        Cow::Owned(base64::engine::general_purpose::STANDARD.encode(digest))
    }
}

/// The bcrypt hash of `plaintext` (pre-hashed when long, see [`bcrypt_input`]).
pub(crate) fn hash(plaintext: &str) -> Result<String, bcrypt::BcryptError> {
    bcrypt::hash(bcrypt_input(plaintext).as_bytes(), COST)
}

/// How a key matched a stored secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Match {
    /// It is not the secret.
    No,
    /// It is the secret.
    Yes,
    /// It matched a hash of the legacy form (a long key that bcrypt truncated): accept it once
    /// and store a new hash.
    Legacy,
}

/// A verification's outcome and the bcrypt runs it took.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Verification {
    /// How the key matched.
    pub outcome: Match,
    /// bcrypt verifications run (0 for a plaintext secret, 2 for a long wrong key).
    pub bcrypt_runs: u32,
}

/// Whether `key` is the secret `stored` (a bcrypt hash, or plaintext compared in constant time).
pub(crate) fn verify(key: &str, stored: &str) -> Verification {
    let matched = |yes| if yes { Match::Yes } else { Match::No };
    if !is_hashed(stored) {
        return Verification {
            outcome: matched(same(key, stored)),
            bcrypt_runs: 0,
        };
    }
    let check = |input: &[u8]| bcrypt::verify(input, stored).unwrap_or(false);
    if check(bcrypt_input(key).as_bytes()) {
        return Verification {
            outcome: Match::Yes,
            bcrypt_runs: 1,
        };
    }
    if key.len() < PRE_HASH_FROM {
        return Verification {
            outcome: Match::No,
            bcrypt_runs: 1,
        };
    }
    Verification {
        outcome: if check(key.as_bytes()) {
            Match::Legacy
        } else {
            Match::No
        },
        bcrypt_runs: 2,
    }
}

/// `text` with `remote-management.secret-key` set to `new_hash` when it still holds
/// `old_hash`; `None` when it holds something else (it changed meanwhile).
pub(crate) fn replace_hash_in_text(
    text: &str,
    old_hash: &str,
    new_hash: &str,
) -> Result<Option<String>, SecretError> {
    let at = path(&["remote-management", "secret-key"]);
    match yaml_edit::value_at(text, &at)? {
        Some(Value::String(current)) if current.trim() == old_hash => Ok(Some(yaml_edit::set(
            text,
            &at,
            &Value::String(new_hash.to_owned()),
        )?)),
        _ => Ok(None),
    }
}

/// `text` with a plaintext `remote-management.secret-key` replaced by its hash, or `None` when
/// there is nothing to hash.
pub(crate) fn hash_in_text(text: &str) -> Result<Option<String>, SecretError> {
    let at = path(&["remote-management", "secret-key"]);
    let Some(Value::String(secret)) = yaml_edit::value_at(text, &at)? else {
        return Ok(None);
    };
    let secret = secret.trim();
    if secret.is_empty() || is_hashed(secret) {
        return Ok(None);
    }
    let hashed = hash(secret)?;
    Ok(Some(yaml_edit::set(text, &at, &Value::String(hashed))?))
}

/// `text`, read from the config file at `file`, with a plaintext secret-key replaced by its
/// hash, which is also written back to the file (keeping its mode). A file whose YAML cannot
/// be edited is returned as it is (the config parser reports it); one that cannot be written
/// is logged.
pub(crate) fn hash_in_read_file(file: &Path, text: String) -> String {
    match hash_in_text(&text) {
        Ok(Some(hashed)) => {
            let mode = atomic_file::mode_of(file).unwrap_or(0o600);
            if let Err(error) = atomic_file::write(file, hashed.as_bytes(), mode) {
                tracing::warn!("cannot write the hashed secret-key back: {error}");
            }
            hashed
        }
        Ok(None) | Err(_) => text,
    }
}

/// Hashes a plaintext secret in the file at `path`; returns whether the file changed.
pub(crate) fn hash_in_file(file: &Path) -> Result<bool, SecretError> {
    let text = std::fs::read_to_string(file)?;
    match hash_in_text(&text)? {
        Some(hashed) => {
            let mode = atomic_file::mode_of(file).unwrap_or(0o600);
            atomic_file::write(file, hashed.as_bytes(), mode)?;
            Ok(true)
        }
        None => Ok(false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plaintext_secrets_are_hashed_in_place() {
        let text = "# admin\nremote-management:\n  allow-remote: true   # yes\n  secret-key: hunter2  # change me\nport: 1\n";
        let hashed = hash_in_text(text).unwrap().unwrap();
        let stored = yaml_edit::value_at(&hashed, &path(&["remote-management", "secret-key"]))
            .unwrap()
            .unwrap();
        let stored = stored.as_str().unwrap();
        assert!(is_hashed(stored));
        assert_eq!(verify("hunter2", stored).outcome, Match::Yes);
        assert_eq!(verify("hunter3", stored).outcome, Match::No);
        assert_eq!(
            hashed,
            text.replace("secret-key: hunter2", &format!("secret-key: \"{stored}\""))
        );
        assert_eq!(hash_in_text(&hashed).unwrap(), None);
        assert_eq!(hash_in_text("port: 1\n").unwrap(), None);
        assert_eq!(
            hash_in_text("remote-management:\n  secret-key: ''\n").unwrap(),
            None
        );
    }

    #[test]
    fn plaintext_comparison_without_a_hash() {
        assert_eq!(verify("abc", "abc").outcome, Match::Yes);
        assert_eq!(verify("abd", "abc").outcome, Match::No);
        assert_eq!(verify("", "abc").outcome, Match::No);
        assert_eq!(verify("abc", "abc").bcrypt_runs, 0);
    }

    /// A 100-byte secret and a key that shares its first 72 bytes.
    fn long_pair() -> (String, String) {
        let secret = format!("{}{}", "k".repeat(72), "s".repeat(28));
        let imposter = format!("{}{}", "k".repeat(72), "x".repeat(28));
        (secret, imposter)
    }

    #[test]
    fn long_secrets_are_pre_hashed_and_only_the_right_one_matches() {
        let (secret, imposter) = long_pair();
        let stored = bcrypt::hash(bcrypt_input(&secret).as_bytes(), 4).unwrap();
        assert_eq!(verify(&secret, &stored).outcome, Match::Yes);
        assert_eq!(verify(&imposter, &stored).outcome, Match::No);
        // A secret of exactly 72 bytes is pre-hashed too: bcrypt drops its terminator there.
        let exact = "e".repeat(72);
        assert_ne!(bcrypt_input(&exact), exact.as_str());
        let stored = bcrypt::hash(bcrypt_input(&exact).as_bytes(), 4).unwrap();
        assert_eq!(verify(&format!("{exact}!"), &stored).outcome, Match::No);
        assert_eq!(verify(&exact, &stored).outcome, Match::Yes);
        // Short secrets are bcrypt's input as they are (hashes stay the reference's).
        assert_eq!(bcrypt_input("hunter2"), "hunter2");
        let hashed = hash_in_text(&format!("remote-management:\n  secret-key: {secret}\n"))
            .unwrap()
            .unwrap();
        let stored = yaml_edit::value_at(&hashed, &path(&["remote-management", "secret-key"]))
            .unwrap()
            .unwrap();
        let stored = stored.as_str().unwrap();
        assert_eq!(verify(&secret, stored).outcome, Match::Yes);
        assert_eq!(verify(&imposter, stored).outcome, Match::No);
        assert!(
            !bcrypt::verify(&secret, stored).unwrap(),
            "not the legacy form"
        );
    }

    #[test]
    fn a_legacy_hash_of_a_long_secret_matches_as_legacy() {
        let (secret, imposter) = long_pair();
        let legacy = bcrypt::hash(&secret, 4).unwrap();
        let verification = verify(&secret, &legacy);
        assert_eq!(verification.outcome, Match::Legacy);
        assert_eq!(verification.bcrypt_runs, 2);
        // What the legacy form could not tell apart (the reason to replace it).
        assert_eq!(verify(&imposter, &legacy).outcome, Match::Legacy);
        let text = format!("remote-management:\n  secret-key: \"{legacy}\"  # kept\n");
        let replaced = replace_hash_in_text(&text, &legacy, "$2b$new")
            .unwrap()
            .unwrap();
        assert_eq!(
            replaced,
            "remote-management:\n  secret-key: \"$2b$new\"  # kept\n"
        );
        assert_eq!(
            replace_hash_in_text(&text, "$2b$other", "$2b$new").unwrap(),
            None
        );
    }
}
