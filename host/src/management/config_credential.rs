//! Enabling and disabling a credential defined in `config.yaml` (`PATCH /auth-files/status`
//! with a config credential's id), by the reference's rule: disabling adds the pattern `"*"`
//! to its entry's `excluded-models` (the key is added when absent), enabling removes that
//! pattern only, keeping the others (and the key goes when nothing else is left). Comments
//! and order of the file are kept.
//!
//! An `openai-compatibility` entry has one `excluded-models` for all its `api-key-entries`, so
//! toggling one of its credentials toggles all of them.

use std::path::Path;

use serde_json::{Value, json};

use super::{Management, ManagementError};
use crate::config::Config;
use crate::config::yaml_edit::{self, Seg};
use crate::credential::{CredentialSource, config_source};

/// The `excluded-models` pattern that excludes every model.
pub(crate) const EVERY_MODEL: &str = "*";

/// How the answer says the change was made.
pub(crate) const VIA: &str = "config:excluded-models";

/// Disables (or enables) the config credential `id` in `config.yaml`, through the config write
/// path (applied before it returns).
pub(crate) async fn set_disabled(
    management: &Management,
    id: &str,
    disabled: bool,
) -> Result<(), ManagementError> {
    let path = management.config_path()?;
    management
        .edit_config(|text| {
            let entry = entry_of(text, &path, id)?;
            toggle(text, &entry, disabled)
        })
        .await
}

/// The path of the list entry of `config.yaml` (as `text`) that defines the credential `id`.
fn entry_of(text: &str, path: &Path, id: &str) -> Result<Vec<Seg>, ManagementError> {
    let dir = path.parent().map(Path::to_owned).unwrap_or_default();
    let config = Config::parse(text, Some(path.to_owned()), dir)
        .map_err(ManagementError::Config)?
        .config;
    config_source::credentials(&config)
        .into_iter()
        .find(|credential| credential.id.as_str() == id)
        .and_then(|credential| match credential.source {
            CredentialSource::Config { entry } => list_entry(&entry),
            _ => None,
        })
        .ok_or_else(|| ManagementError::NotFound("auth file not found".into()))
}

/// `claude-api-key[2]` → `[claude-api-key, 2]`; `openai-compatibility[1].api-key-entries[0]`
/// → `[openai-compatibility, 1]` (the entry that holds `excluded-models`).
fn list_entry(entry: &str) -> Option<Vec<Seg>> {
    let (list, rest) = entry.split_once('[')?;
    let (index, _) = rest.split_once(']')?;
    Some(vec![Seg::key(list), Seg::Index(index.parse().ok()?)])
}

/// `text` with the pattern `"*"` added to (`disabled`) or removed from the `excluded-models`
/// of the mapping at `entry`.
fn toggle(text: &str, entry: &[Seg], disabled: bool) -> Result<String, ManagementError> {
    let mut at = entry.to_vec();
    at.push(Seg::key("excluded-models"));
    let patterns = match yaml_edit::value_at(text, &at)? {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items,
        Some(_) => {
            return Err(ManagementError::BadRequest(
                "excluded-models is not a list".into(),
            ));
        }
    };
    let is_every = |p: &Value| p.as_str().is_some_and(|p| p.trim() == EVERY_MODEL);
    if disabled {
        return Ok(match patterns.iter().any(is_every) {
            true => text.to_owned(),
            false if patterns.is_empty() => yaml_edit::set(text, &at, &json!([EVERY_MODEL]))?,
            false => yaml_edit::push(text, &at, &json!(EVERY_MODEL))?,
        });
    }
    if patterns.iter().all(is_every) {
        return Ok(yaml_edit::remove(text, &at)?);
    }
    let mut text = text.to_owned();
    for (index, _) in patterns
        .iter()
        .enumerate()
        .rev()
        .filter(|(_, p)| is_every(p))
    {
        let mut item = at.clone();
        item.push(Seg::Index(index));
        text = yaml_edit::remove(&text, &item)?;
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The second `claude-api-key` entry.
    fn entry() -> Vec<Seg> {
        entry_at("claude-api-key", 1)
    }

    #[test]
    fn entries_name_their_list_item() {
        assert_eq!(
            list_entry("claude-api-key[2]"),
            Some(entry_at("claude-api-key", 2))
        );
        assert_eq!(
            list_entry("openai-compatibility[1].api-key-entries[0]"),
            Some(entry_at("openai-compatibility", 1))
        );
        assert_eq!(list_entry("store"), None);
    }

    fn entry_at(list: &str, index: usize) -> Vec<Seg> {
        vec![Seg::key(list), Seg::Index(index)]
    }

    #[test]
    fn disabling_adds_the_key_and_enabling_removes_it_again() {
        let text = "# keys\nclaude-api-key:\n  - api-key: a # first\n  - api-key: b\n    priority: 2\nport: 1\n";
        let disabled = toggle(text, &entry(), true).unwrap();
        assert_eq!(
            yaml_edit::value_at(&disabled, &[Seg::key("claude-api-key"), Seg::Index(1)]).unwrap(),
            Some(json!({ "api-key": "b", "priority": 2, "excluded-models": ["*"] }))
        );
        assert!(disabled.starts_with("# keys\nclaude-api-key:\n  - api-key: a # first\n"));
        assert_eq!(
            toggle(&disabled, &entry(), true).unwrap(),
            disabled,
            "idempotent"
        );
        assert_eq!(toggle(&disabled, &entry(), false).unwrap(), text);
    }

    #[test]
    fn other_patterns_stay() {
        let text = "claude-api-key:\n  - api-key: a\n  - api-key: b\n    excluded-models: [claude-opus-*]\n";
        let disabled = toggle(text, &entry(), true).unwrap();
        let at = [
            Seg::key("claude-api-key"),
            Seg::Index(1),
            Seg::key("excluded-models"),
        ];
        assert_eq!(
            yaml_edit::value_at(&disabled, &at).unwrap(),
            Some(json!(["claude-opus-*", "*"]))
        );
        let enabled = toggle(&disabled, &entry(), false).unwrap();
        assert_eq!(
            yaml_edit::value_at(&enabled, &at).unwrap(),
            Some(json!(["claude-opus-*"]))
        );
    }
}
