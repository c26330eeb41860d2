//! The management secret at rest: a plaintext `remote-management.secret-key` is replaced by its
//! bcrypt hash in `config.yaml` (comments and key order kept, written atomically), at start and
//! on every reload, as the reference does.

use std::path::Path;

use serde_json::Value;

use crate::atomic_file;
use crate::config::yaml_edit::{self, EditError, path};

/// bcrypt cost, as the reference.
const COST: u32 = 10;

/// Why the secret could not be hashed into the file.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
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

/// Whether `secret` is already a bcrypt hash (`$2a$`, `$2b$` or `$2y$`).
pub fn is_hashed(secret: &str) -> bool {
    secret.len() > 4
        && ["$2a$", "$2b$", "$2y$"]
            .iter()
            .any(|p| secret.starts_with(p))
}

/// The bcrypt hash of `plaintext`.
pub fn hash(plaintext: &str) -> Result<String, bcrypt::BcryptError> {
    bcrypt::hash(plaintext, COST)
}

/// Whether `key` is the secret `stored` (a bcrypt hash, or plaintext compared in constant time).
pub fn verify(key: &str, stored: &str) -> bool {
    if is_hashed(stored) {
        bcrypt::verify(key, stored).unwrap_or(false)
    } else {
        super::auth::same(key, stored)
    }
}

/// `text` with a plaintext `remote-management.secret-key` replaced by its hash, or `None` when
/// there is nothing to hash.
pub fn hash_in_text(text: &str) -> Result<Option<String>, SecretError> {
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

/// Hashes a plaintext secret in the file at `path`; returns whether the file changed.
pub fn hash_in_file(file: &Path) -> Result<bool, SecretError> {
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
        assert!(verify("hunter2", stored));
        assert!(!verify("hunter3", stored));
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
        assert!(verify("abc", "abc"));
        assert!(!verify("abd", "abc"));
        assert!(!verify("", "abc"));
    }
}
