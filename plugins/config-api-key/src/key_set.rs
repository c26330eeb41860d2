//! The configured keys, compared in constant time.

use sha2::{Digest, Sha256};
use subtle::{ConditionallySelectable, ConstantTimeEq};

/// The normalized keys of one instance with their SHA-256 digests.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct KeySet {
    keys: Vec<String>,
    digests: Vec<[u8; 32]>,
}

impl KeySet {
    /// Parses `{"api-keys": [...]}`. A missing `api-keys` is an empty set; anything that is not
    /// an object, or an `api-keys` that is not a list of strings, is rejected.
    pub fn from_settings(settings_json: &str) -> Result<KeySet, String> {
        let settings: serde_json::Value = serde_json::from_str(settings_json)
            .map_err(|e| format!("settings are not valid JSON: {e}"))?;
        let object = settings
            .as_object()
            .ok_or("settings must be an object such as {\"api-keys\": [\"...\"]}")?;
        let keys = match object.get("api-keys") {
            None | Some(serde_json::Value::Null) => Vec::new(),
            Some(serde_json::Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, item)| {
                    item.as_str()
                        .ok_or_else(|| format!("api-keys[{i}] must be a string"))
                })
                .collect::<Result<Vec<_>, _>>()?,
            Some(_) => return Err("api-keys must be a list of strings".to_owned()),
        };
        Ok(KeySet::new(keys))
    }

    /// Normalizes `keys`: trimmed, empty ones dropped, duplicates dropped (first kept).
    pub fn new<'a>(keys: impl IntoIterator<Item = &'a str>) -> KeySet {
        let mut set = KeySet::default();
        for key in keys.into_iter().map(str::trim) {
            if !key.is_empty() && !set.keys.iter().any(|k| k == key) {
                set.digests.push(Sha256::digest(key.as_bytes()).into());
                set.keys.push(key.to_owned());
            }
        }
        set
    }

    /// The keys in configured order.
    pub fn keys(&self) -> &[String] {
        &self.keys
    }

    /// The configured key equal to `candidate`, if any.
    ///
    /// Every key's digest is compared with the candidate's, without stopping early, so the
    /// time taken reveals neither which key matched nor how much of one did.
    pub fn find(&self, candidate: &str) -> Option<&str> {
        let digest: [u8; 32] = Sha256::digest(candidate.as_bytes()).into();
        let mut found = subtle::Choice::from(0);
        let mut index = 0u64;
        for (i, key) in self.digests.iter().enumerate() {
            let hit = key.ct_eq(&digest) & !found;
            index.conditional_assign(&(i as u64), hit);
            found |= hit;
        }
        bool::from(found).then(|| self.keys[index as usize].as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes() {
        let set = KeySet::new([" a ", "", "b", "a", "  ", "c"]);
        assert_eq!(set.keys(), ["a", "b", "c"]);
    }

    #[test]
    fn finds_exact_matches_only() {
        let set = KeySet::new(["sk-one", "sk-two"]);
        assert_eq!(set.find("sk-two"), Some("sk-two"));
        assert_eq!(set.find("sk-one"), Some("sk-one"));
        assert_eq!(set.find("SK-ONE"), None);
        assert_eq!(set.find("sk-on"), None);
        assert_eq!(KeySet::default().find(""), None);
    }

    #[test]
    fn parses_settings() {
        let set = KeySet::from_settings(r#"{"api-keys": ["x", " y", "x"], "other": 1}"#).unwrap();
        assert_eq!(set.keys(), ["x", "y"]);
        assert_eq!(KeySet::from_settings("{}").unwrap().keys().len(), 0);
        assert!(KeySet::from_settings("[]").unwrap_err().contains("object"));
        assert!(
            KeySet::from_settings(r#"{"api-keys": "x"}"#)
                .unwrap_err()
                .contains("list of strings")
        );
        assert!(
            KeySet::from_settings(r#"{"api-keys": ["x", 3]}"#)
                .unwrap_err()
                .contains("api-keys[1]")
        );
        assert!(KeySet::from_settings("nope").unwrap_err().contains("JSON"));
    }
}
