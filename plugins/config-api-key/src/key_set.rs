//! The configured keys, compared in constant time.

use subtle::{ConditionallySelectable, ConstantTimeEq};

/// The normalized keys of one instance, each zero-padded to the length of the longest.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct KeySet {
    keys: Vec<String>,
    /// Every key zero-padded to `width` bytes.
    padded: Vec<Vec<u8>>,
    /// The length of the longest key.
    width: usize,
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
                set.keys.push(key.to_owned());
            }
        }
        set.width = set.keys.iter().map(String::len).max().unwrap_or(0);
        set.padded = set
            .keys
            .iter()
            .map(|key| {
                let mut padded = key.as_bytes().to_vec();
                padded.resize(set.width, 0);
                padded
            })
            .collect();
        set
    }

    /// Whether there is no key at all.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The keys in configured order.
    pub fn keys(&self) -> &[String] {
        &self.keys
    }

    /// The configured key equal to `candidate`, if any.
    ///
    /// The candidate is compared with every key over the same number of bytes (the longest
    /// key's length; keys and candidate zero-padded, lengths compared separately), without
    /// stopping early, so the time taken reveals neither which key matched, nor how much of
    /// one did, nor a key's length.
    pub fn find(&self, candidate: &str) -> Option<&str> {
        let candidate = candidate.as_bytes();
        let mut padded = vec![0u8; self.width];
        let shown = candidate.len().min(self.width);
        padded[..shown].copy_from_slice(&candidate[..shown]);
        let length = candidate.len() as u64;
        let mut found = subtle::Choice::from(0);
        let mut index = 0u64;
        for (i, (key, bytes)) in self.keys.iter().zip(&self.padded).enumerate() {
            let hit = bytes.as_slice().ct_eq(&padded) & (key.len() as u64).ct_eq(&length) & !found;
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
        let set = KeySet::new(["sk-one", "sk-two", "sk-three-longer"]);
        assert_eq!(set.find("sk-two"), Some("sk-two"));
        assert_eq!(set.find("sk-one"), Some("sk-one"));
        assert_eq!(set.find("sk-three-longer"), Some("sk-three-longer"));
        assert_eq!(set.find("SK-ONE"), None);
        assert_eq!(set.find("sk-on"), None);
        // Zero padding never makes a shorter or longer candidate equal.
        assert_eq!(set.find("sk-one\0"), None);
        assert_eq!(set.find("sk-three-longer-still"), None);
        assert_eq!(set.find(""), None);
        assert_eq!(KeySet::default().find(""), None);
        assert_eq!(KeySet::default().find("x"), None);
    }

    #[test]
    fn parses_settings() {
        let set = KeySet::from_settings(r#"{"api-keys": ["x", " y", "x"], "other": 1}"#).unwrap();
        assert_eq!(set.keys(), ["x", "y"]);
        assert!(KeySet::from_settings("{}").unwrap().is_empty());
        assert!(
            KeySet::from_settings(r#"{"api-keys": [" "]}"#)
                .unwrap()
                .is_empty()
        );
        assert!(!set.is_empty());
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
