//! `/api-keys`: the top-level client key list (reference §5.4), which becomes the
//! `config-inline` access-provider instance.

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
use crate::config::yaml_edit::{self, Seg, path};

const KEY: &str = "api-keys";

/// The `/api-keys` routes.
pub fn routes() -> Router<Arc<Management>> {
    Router::new().route(
        "/api-keys",
        get(list).put(replace).patch(patch).delete(delete),
    )
}

/// The list as written in the file (strings; other scalars as their text).
fn keys_in(text: &str) -> Result<Vec<String>, ManagementError> {
    Ok(match yaml_edit::value_at(text, &path(&[KEY]))? {
        Some(Value::Array(items)) => items
            .into_iter()
            .map(|item| match item {
                Value::String(s) => s,
                other => other.to_string(),
            })
            .collect(),
        _ => Vec::new(),
    })
}

async fn list(State(management): State<Arc<Management>>) -> Result<Response, ManagementError> {
    let keys = keys_in(&management.config_text().await?)?;
    Ok(Json(json!({ KEY: keys })).into_response())
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
        .edit_config(|text| Ok(yaml_edit::set(text, &path(&[KEY]), &Value::Array(items))?))
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
            let keys = keys_in(text)?;
            if let (Some(index), Some(value)) = (patch.index, &patch.value)
                && index >= 0
                && (index as usize) < keys.len()
            {
                let at = [Seg::key(KEY), Seg::Index(index as usize)];
                return Ok(yaml_edit::set(text, &at, &json!(value))?);
            }
            if let (Some(old), Some(new)) = (&patch.old, &patch.new) {
                return Ok(match keys.iter().position(|k| k == old) {
                    Some(at) => {
                        yaml_edit::set(text, &[Seg::key(KEY), Seg::Index(at)], &json!(new))?
                    }
                    None => yaml_edit::push(text, &path(&[KEY]), &json!(new))?,
                });
            }
            Err(ManagementError::BadRequest("missing fields".into()))
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
            let keys = keys_in(text)?;
            if let Some(index) = selector
                .index
                .as_deref()
                .and_then(|i| i.trim().parse::<usize>().ok())
                && index < keys.len()
            {
                return Ok(yaml_edit::remove(
                    text,
                    &[Seg::key(KEY), Seg::Index(index)],
                )?);
            }
            if let Some(value) = selector
                .value
                .as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
            {
                let mut text = text.to_owned();
                for (at, key) in keys.iter().enumerate().rev() {
                    if key.trim() == value {
                        text = yaml_edit::remove(&text, &[Seg::key(KEY), Seg::Index(at)])?;
                    }
                }
                return Ok(text);
            }
            Err(ManagementError::BadRequest("missing index or value".into()))
        })
        .await?;
    Ok(ok())
}
