//! `/api-keys`: the client keys, read and edited where the config keeps them.
//!
//! The set is the one the access chain uses (`config::client_keys`): the keys of the first
//! `config-api-key` instance of `auth.providers` when it has any, else the top-level
//! `api-keys`. An edit writes it to both places, the instance's `api-keys` and the top-level
//! list, so the two mirror each other as in the reference (its `SyncInlineAPIKeys`), and a key
//! added or removed here is added or removed for clients on the reload that follows.
//!
//! Edits keep the rest of `config.yaml` byte for byte (`yaml_edit`). A place that does not hold
//! the set yet (the top-level list differs, an instance keeps its keys under `config:`) is
//! rewritten to it first; once both places agree, a `PATCH` or `DELETE` touches only the items
//! it changes, so comments on the other items stay.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Management, ManagementError, json_body, ok};
use crate::config::client_keys::first_key_instance;
use crate::config::yaml_edit::{self, Seg, path};

const KEY: &str = "api-keys";

/// The `/api-keys` routes.
pub(crate) fn routes() -> Router<Arc<Management>> {
    Router::new().route(
        "/api-keys",
        get(list).put(replace).patch(patch).delete(delete),
    )
}

/// The client keys of one config text and the lists that hold them.
struct KeySet {
    /// The keys as written (strings; other scalars as their text).
    keys: Vec<String>,
    /// The top-level `api-keys`, as written.
    top: Vec<String>,
    /// The authoritative instance, when `auth.providers` has one.
    instance: Option<Instance>,
}

/// The first `config-api-key` entry of `auth.providers`.
struct Instance {
    /// Its position in `auth.providers`.
    at: usize,
    /// Its `api-keys` shorthand, as written.
    shorthand: Vec<String>,
    /// Its `config.api-keys`, as written.
    in_config: Vec<String>,
}

impl Instance {
    fn shorthand_path(&self) -> Vec<Seg> {
        vec![
            Seg::key("auth"),
            Seg::key("providers"),
            Seg::Index(self.at),
            Seg::key(KEY),
        ]
    }

    fn config_path(&self) -> Vec<Seg> {
        vec![
            Seg::key("auth"),
            Seg::key("providers"),
            Seg::Index(self.at),
            Seg::key("config"),
            Seg::key(KEY),
        ]
    }
}

impl KeySet {
    fn read(text: &str) -> Result<KeySet, ManagementError> {
        let top = strings(yaml_edit::value_at(text, &path(&[KEY]))?.as_ref());
        let providers = match yaml_edit::value_at(text, &path(&["auth", "providers"]))? {
            Some(Value::Array(items)) => items,
            _ => Vec::new(),
        };
        let kinds = providers
            .iter()
            .map(|entry| entry.get("type").and_then(Value::as_str).unwrap_or(""));
        let instance = first_key_instance(kinds).map(|at| Instance {
            at,
            shorthand: strings(providers[at].get(KEY)),
            in_config: strings(providers[at].get("config").and_then(|c| c.get(KEY))),
        });
        let keys = match &instance {
            Some(instance) => {
                let own: Vec<String> = instance
                    .shorthand
                    .iter()
                    .chain(&instance.in_config)
                    .cloned()
                    .collect();
                if own.iter().any(|key| !key.trim().is_empty()) {
                    own
                } else {
                    top.clone()
                }
            }
            None => top.clone(),
        };
        Ok(KeySet {
            keys,
            top,
            instance,
        })
    }

    /// The lists an edit writes: the instance's shorthand (when there is an instance) and the
    /// top-level list.
    fn places(&self) -> Vec<Vec<Seg>> {
        let mut places = vec![path(&[KEY])];
        if let Some(instance) = &self.instance {
            places.push(instance.shorthand_path());
        }
        places
    }

    /// `text` with every place holding exactly the set (unchanged when they already do).
    fn aligned(&self, text: &str) -> Result<String, ManagementError> {
        let set = Value::from(self.keys.clone());
        let mut text = text.to_owned();
        if self.top != self.keys {
            text = yaml_edit::set(&text, &path(&[KEY]), &set)?;
        }
        if let Some(instance) = &self.instance {
            if !instance.in_config.is_empty() {
                text = yaml_edit::remove(&text, &instance.config_path())?;
            }
            if instance.shorthand != self.keys || !instance.in_config.is_empty() {
                text = yaml_edit::set(&text, &instance.shorthand_path(), &set)?;
            }
        }
        Ok(text)
    }
}

/// The items of a YAML list as strings (other scalars as their text); nothing for a non-list.
fn strings(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| match item {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// `path` extended by one step.
fn at(path: &[Seg], step: Seg) -> Vec<Seg> {
    let mut out = path.to_vec();
    out.push(step);
    out
}

async fn list(State(management): State<Arc<Management>>) -> Result<Response, ManagementError> {
    let set = KeySet::read(&management.config_text().await?)?;
    Ok(Json(json!({ KEY: set.keys })).into_response())
}

/// `PUT`: a JSON array of strings, or `{"items": [...]}` (not empty).
async fn replace(
    State(management): State<Arc<Management>>,
    body: Bytes,
) -> Result<Response, ManagementError> {
    let invalid = || ManagementError::BadRequest("invalid body".into());
    let body = json_body(&body)?;
    let items = match &body {
        Value::Array(items) => items.clone(),
        Value::Object(map) => match map.get("items") {
            Some(Value::Array(items)) if !items.is_empty() => items.clone(),
            _ => return Err(invalid()),
        },
        _ => return Err(invalid()),
    };
    if !items.iter().all(Value::is_string) {
        return Err(invalid());
    }
    management
        .edit_config(|text| {
            let set = KeySet::read(text)?;
            let mut text = set.aligned(text)?;
            for place in set.places() {
                text = yaml_edit::set(&text, &place, &Value::Array(items.clone()))?;
            }
            Ok(text)
        })
        .await?;
    Ok(ok())
}

#[derive(Deserialize)]
struct Patch {
    index: Option<i64>,
    value: Option<String>,
    old: Option<String>,
    new: Option<String>,
}

/// `PATCH`: `{"index": i, "value": "k"}` replaces position `i`; `{"old": "a", "new": "b"}`
/// replaces the first `a`, or appends `b` when there is none.
async fn patch(
    State(management): State<Arc<Management>>,
    body: Bytes,
) -> Result<Response, ManagementError> {
    let patch: Patch = serde_json::from_slice(&body)
        .map_err(|_| ManagementError::BadRequest("invalid body".into()))?;
    management
        .edit_config(|text| {
            let set = KeySet::read(text)?;
            let keys = &set.keys;
            let edit = if let (Some(index), Some(value)) = (patch.index, &patch.value)
                && index >= 0
                && (index as usize) < keys.len()
            {
                (Some(index as usize), json!(value))
            } else if let (Some(old), Some(new)) = (&patch.old, &patch.new) {
                (keys.iter().position(|k| k == old), json!(new))
            } else {
                return Err(ManagementError::BadRequest("missing fields".into()));
            };
            let mut text = set.aligned(text)?;
            for place in set.places() {
                text = match edit {
                    (Some(index), ref value) => {
                        yaml_edit::set(&text, &at(&place, Seg::Index(index)), value)?
                    }
                    (None, ref value) => yaml_edit::push(&text, &place, value)?,
                };
            }
            Ok(text)
        })
        .await?;
    Ok(ok())
}

#[derive(Deserialize)]
struct Selector {
    index: Option<String>,
    value: Option<String>,
}

/// `DELETE ?index=i` removes position `i`; `?value=k` removes every entry equal to `k`
/// (both trimmed).
async fn delete(
    State(management): State<Arc<Management>>,
    Query(selector): Query<Selector>,
) -> Result<Response, ManagementError> {
    management
        .edit_config(|text| {
            let set = KeySet::read(text)?;
            let doomed: Vec<usize> = if let Some(index) = selector
                .index
                .as_deref()
                .and_then(|i| i.trim().parse::<usize>().ok())
                && index < set.keys.len()
            {
                vec![index]
            } else if let Some(value) = selector
                .value
                .as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
            {
                (0..set.keys.len())
                    .filter(|&i| set.keys[i].trim() == value)
                    .collect()
            } else {
                return Err(ManagementError::BadRequest("missing index or value".into()));
            };
            let mut text = set.aligned(text)?;
            for place in set.places() {
                for &index in doomed.iter().rev() {
                    text = yaml_edit::remove(&text, &at(&place, Seg::Index(index)))?;
                }
            }
            Ok(text)
        })
        .await?;
    Ok(ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn aligned(text: &str) -> (Vec<String>, String) {
        let set = KeySet::read(text).unwrap();
        (set.keys.clone(), set.aligned(text).unwrap())
    }

    #[test]
    fn without_an_instance_the_top_level_list_is_the_set() {
        let text = "api-keys:\n  - a   # one\n  - b\nauth:\n  providers:\n    - name: jwt\n      type: jwt-hs256\n";
        assert_eq!(aligned(text), (vec!["a".into(), "b".into()], text.into()));
        assert_eq!(KeySet::read(text).unwrap().places(), [path(&[KEY])]);
    }

    #[test]
    fn places_that_agree_are_left_alone() {
        let text = "api-keys: [a, b]   # mirrored\nauth:\n  providers:\n    - type: config-api-key   # first\n      api-keys: [a, b]\n";
        assert_eq!(aligned(text), (vec!["a".into(), "b".into()], text.into()));
    }

    #[test]
    fn the_instance_wins_and_the_top_level_list_is_created_or_rewritten() {
        let text = "auth:\n  providers:\n    - name: x\n      type: other\n    - name: default\n      type: config-api-key\n      api-keys: [k1, k2]\n";
        let (keys, out) = aligned(text);
        assert_eq!(keys, ["k1", "k2"]);
        assert_eq!(out, format!("{text}api-keys:\n  - k1\n  - k2\n"));
        let set = KeySet::read(&out).unwrap();
        assert_eq!(set.instance.as_ref().unwrap().at, 1);

        let text = "api-keys: [legacy]\nauth:\n  providers:\n    - name: default\n      type: config-api-key\n      api-keys: [k1]\n";
        let (keys, out) = aligned(text);
        assert_eq!(keys, ["k1"]);
        assert_eq!(out, text.replace("[legacy]", "[k1]"));
    }

    #[test]
    fn an_empty_instance_is_filled_from_the_top_level_list() {
        let text = "api-keys: [legacy]\nauth:\n  providers:\n    - name: default\n      type: config-api-key\n";
        let (keys, out) = aligned(text);
        assert_eq!(keys, ["legacy"]);
        assert_eq!(out, format!("{text}      api-keys:\n        - legacy\n"));
    }

    #[test]
    fn keys_under_config_move_to_the_shorthand() {
        let text = "auth:\n  providers:\n    - name: default\n      type: config-api-key\n      api-keys: [a]\n      config:\n        api-keys: [b]\n        other: 1\napi-keys: [a, b]\n";
        let (keys, out) = aligned(text);
        assert_eq!(keys, ["a", "b"]);
        assert_eq!(
            out,
            "auth:\n  providers:\n    - name: default\n      type: config-api-key\n      api-keys: [a, b]\n      config:\n        other: 1\napi-keys: [a, b]\n"
        );
        // Aligned once, the next read finds nothing to rewrite.
        assert_eq!(aligned(&out).1, out);
    }
}
