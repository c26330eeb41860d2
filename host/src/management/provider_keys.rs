//! The provider credential lists: `claude-api-key`, `codex-api-key`, `gemini-api-key` and
//! `openai-compatibility`. Entries are read and written in the file's own
//! shape (kebab-case keys), so indices match what `GET` shows.
//!
//! - `GET` → `{"<list>": [...]}`.
//! - `PUT` → a JSON array of entries, or `{"items": [...]}`: replaces the list.
//! - `PATCH` → `{"index": n}` or `{"match": "<api-key>"}` (`openai-compatibility`: the entry's
//!   `name`, also as `{"name": …}`), with `?base-url=` to narrow a match, plus
//!   `{"value": {…}}`: the given fields are set (`null` removes one), the others kept; `oauth`
//!   is merged the same way into the stored mapping.
//!
//! An entry's `oauth.client-secret` is masked in answers; sending the masked value back keeps
//! the stored secret (`masked_secret`).
//! - `DELETE` → `?index=n`, or `?api-key=` (`?name=`) with an optional `?base-url=`: removes the
//!   matching entries.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use serde_json::{Map, Value};

use super::{Management, ManagementError, json_body, masked_secret, ok};
use crate::config::yaml_edit::{self, Seg, path};

/// A provider list and the field its entries are matched by.
#[derive(Debug, Clone, Copy)]
struct List {
    key: &'static str,
    match_field: &'static str,
}

const LISTS: &[List] = &[
    List {
        key: "claude-api-key",
        match_field: "api-key",
    },
    List {
        key: "codex-api-key",
        match_field: "api-key",
    },
    List {
        key: "gemini-api-key",
        match_field: "api-key",
    },
    List {
        key: "openai-compatibility",
        match_field: "name",
    },
];

/// The provider-list routes.
pub(crate) fn routes() -> Router<Arc<Management>> {
    let mut router = Router::new();
    for list in LISTS {
        router = router.route(
            &format!("/{}", list.key),
            get(move |state| read(state, list))
                .put(move |state, body| replace(state, list, body))
                .patch(move |state, query, body| patch(state, list, query, body))
                .delete(move |state, query| delete(state, list, query)),
        );
    }
    router
}

fn entries_in(text: &str, list: &List) -> Result<Vec<Value>, ManagementError> {
    Ok(match yaml_edit::value_at(text, &path(&[list.key]))? {
        Some(Value::Array(items)) => items,
        _ => Vec::new(),
    })
}

async fn read(
    State(management): State<Arc<Management>>,
    list: &'static List,
) -> Result<Response, ManagementError> {
    let mut entries = entries_in(&management.config_text().await?, list)?;
    entries.iter_mut().for_each(masked_secret::mask_entry);
    let mut body = Map::new();
    body.insert(list.key.to_owned(), Value::Array(entries));
    Ok(Json(Value::Object(body)).into_response())
}

async fn replace(
    State(management): State<Arc<Management>>,
    list: &'static List,
    body: Bytes,
) -> Result<Response, ManagementError> {
    let invalid = || ManagementError::BadRequest("invalid body".into());
    let items = match json_body(&body)? {
        Value::Array(items) => items,
        Value::Object(mut map) => match map.remove("items") {
            Some(Value::Array(items)) => items,
            _ => return Err(invalid()),
        },
        _ => return Err(invalid()),
    };
    if !items.iter().all(Value::is_object) {
        return Err(invalid());
    }
    management
        .edit_config(|text| {
            let stored = entries_in(text, list)?;
            let mut items = items;
            for item in &mut items {
                masked_secret::restore_entry(item, &stored).map_err(ManagementError::BadRequest)?;
            }
            Ok(yaml_edit::set(
                text,
                &path(&[list.key]),
                &Value::Array(items),
            )?)
        })
        .await?;
    Ok(ok())
}

/// The indices of the entries whose match field equals `wanted` (and whose base URL equals
/// `base_url`, when given).
fn matching(entries: &[Value], list: &List, wanted: &str, base_url: Option<&str>) -> Vec<usize> {
    let norm = |s: &str| s.trim().trim_end_matches('/').to_owned();
    entries
        .iter()
        .enumerate()
        .filter(|(_, entry)| {
            entry
                .get(list.match_field)
                .and_then(Value::as_str)
                .map(str::trim)
                == Some(wanted.trim())
        })
        .filter(|(_, entry)| {
            base_url.is_none_or(|url| {
                entry.get("base-url").and_then(Value::as_str).map(norm) == Some(norm(url))
            })
        })
        .map(|(i, _)| i)
        .collect()
}

async fn patch(
    State(management): State<Arc<Management>>,
    list: &'static List,
    Query(query): Query<HashMap<String, String>>,
    body: Bytes,
) -> Result<Response, ManagementError> {
    let invalid = || ManagementError::BadRequest("invalid body".into());
    let body = json_body(&body)?;
    let Some(Value::Object(fields)) = body.get("value").cloned() else {
        return Err(invalid());
    };
    let index = body
        .get("index")
        .map(|i| i.as_u64().ok_or_else(invalid))
        .transpose()?;
    let wanted = body
        .get("match")
        .or_else(|| body.get(list.match_field))
        .or_else(|| body.get("name"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let base_url = query.get("base-url").cloned();
    management
        .edit_config(|text| {
            let entries = entries_in(text, list)?;
            let not_found = || ManagementError::NotFound("item not found".into());
            let at = match (index, &wanted) {
                (Some(index), _) => {
                    let index = index as usize;
                    if index >= entries.len() {
                        return Err(not_found());
                    }
                    index
                }
                (None, Some(wanted)) => {
                    match matching(&entries, list, wanted, base_url.as_deref())[..] {
                        [] => return Err(not_found()),
                        [one] => one,
                        _ => {
                            return Err(ManagementError::BadRequest(
                                "multiple items match; index is required".into(),
                            ));
                        }
                    }
                }
                (None, None) => return Err(invalid()),
            };
            let mut text = text.to_owned();
            for (field, value) in &fields {
                let field_path = [Seg::key(list.key), Seg::Index(at), Seg::key(field)];
                let value = &match field.as_str() {
                    "oauth" => masked_secret::merge_oauth(value, &entries[at])
                        .map_err(ManagementError::BadRequest)?,
                    _ => value.clone(),
                };
                text = match value {
                    Value::Null => yaml_edit::remove(&text, &field_path)?,
                    value => yaml_edit::set(&text, &field_path, value)?,
                };
            }
            Ok(text)
        })
        .await?;
    Ok(ok())
}

async fn delete(
    State(management): State<Arc<Management>>,
    list: &'static List,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, ManagementError> {
    let wanted = query
        .get(list.match_field)
        .or_else(|| query.get("match"))
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty());
    let index = query
        .get("index")
        .and_then(|i| i.trim().parse::<usize>().ok());
    if wanted.is_none() && index.is_none() {
        return Err(ManagementError::BadRequest(format!(
            "missing {} or index",
            list.match_field
        )));
    }
    let base_url = query.get("base-url").cloned();
    management
        .edit_config(|text| {
            let entries = entries_in(text, list)?;
            let remove: Vec<usize> = match (&wanted, index) {
                (Some(wanted), _) => matching(&entries, list, wanted, base_url.as_deref()),
                (None, Some(index)) if index < entries.len() => vec![index],
                _ => Vec::new(),
            };
            if remove.is_empty() {
                return Err(ManagementError::NotFound("item not found".into()));
            }
            let mut text = text.to_owned();
            for at in remove.into_iter().rev() {
                text = yaml_edit::remove(&text, &[Seg::key(list.key), Seg::Index(at)])?;
            }
            Ok(text)
        })
        .await?;
    Ok(ok())
}
