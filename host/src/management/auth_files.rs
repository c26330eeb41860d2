//! `/auth-files`: the credential files in `auth-dir` — list them with their
//! runtime state, upload, delete, download, enable or disable. Every change is applied through
//! the reload path before the answer.
//!
//! Files are opened beneath the `auth-dir` handle ([`ConfinedDir`]): a symlink that stays inside
//! the folder works, one that leads outside is never read, written or deleted (403
//! `outside_auth_dir`, and the listing shows it as an error).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{FromRequest, Multipart, RawQuery, Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch};
use bytes::Bytes;
use http::{HeaderValue, StatusCode, header};
use serde_json::{Map, Value, json};

use super::{Management, ManagementError, config_credential, json_body, ok};
use crate::confined_dir::{self, ConfinedDir};
use crate::credential::file_store::{self, FileStore};
use crate::credential::{Credential, CredentialSource};
use crate::usage::record::rfc3339;

/// The auth-file routes.
pub(crate) fn routes() -> Router<Arc<Management>> {
    Router::new()
        .route("/auth-files", get(list).post(upload).delete(delete))
        .route("/auth-files/download", get(download))
        .route("/auth-files/status", patch(set_status))
}

/// Checks an auth file name: a plain `*.json` name, no folders.
fn check_name(name: &str, extension_error: &str) -> Result<(), ManagementError> {
    let name = name.trim();
    if name.is_empty()
        || name.contains(['/', '\\', ':', '\0'])
        || name == "."
        || name == ".."
        || name.starts_with('.')
    {
        return Err(ManagementError::BadRequest("invalid name".into()));
    }
    if !name.to_ascii_lowercase().ends_with(".json") {
        return Err(ManagementError::BadRequest(extension_error.into()));
    }
    Ok(())
}

/// The values of `key` in a query string (repeatable).
fn query_values(query: Option<&str>, key: &str) -> Vec<String> {
    url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
        .collect()
}

fn auth_dir(management: &Management) -> PathBuf {
    management.runtime.generation().config.auth_dir.clone()
}

/// The management error for a failed auth-file operation; refusals are logged.
fn file_error(error: std::io::Error) -> ManagementError {
    if confined_dir::is_outside(&error) {
        tracing::warn!("auth file refused: {error}");
        ManagementError::OutsideAuthDir(error.to_string())
    } else if error.kind() == std::io::ErrorKind::NotFound {
        ManagementError::NotFound("file not found".into())
    } else {
        ManagementError::WriteFailed(error.to_string())
    }
}

/// `GET /auth-files[?name=]`: `{"files": [...]}`, sorted by name.
async fn list(State(management): State<Arc<Management>>, RawQuery(query): RawQuery) -> Json<Value> {
    let generation = management.runtime.generation();
    let now = management.runtime.clock.now();
    let only = query_values(query.as_deref(), "name");
    let dir = ConfinedDir::open(&generation.config.auth_dir).ok();
    let dir = dir.as_ref();
    let mut files: Vec<Value> = Vec::new();
    for credential in generation.registry.credentials() {
        if let CredentialSource::File { path } = &credential.source {
            let state = management
                .runtime
                .states
                .state_for(&credential.id)
                .snapshot();
            files.push(credential_entry(credential, path, &state, now, dir));
        }
    }
    for (path, reason) in &generation.skipped_files {
        let name = file_name(path);
        files.push(json!({
            "id": name,
            "auth_index": crate::credential::index_of(&name),
            "name": name,
            "type": read_type(dir, path),
            "provider": "",
            "label": "",
            "status": "error",
            "status_message": reason,
            "disabled": false,
            "unavailable": true,
            "runtime_only": false,
            "source": "file",
            "size": file_size(dir, path),
            "success": 0,
            "failed": 0,
            "path": path.display().to_string(),
        }));
    }
    files.retain(|f| only.is_empty() || only.iter().any(|n| f["name"] == n.as_str()));
    files.sort_by_key(|f| f["name"].as_str().unwrap_or("").to_lowercase());
    Json(json!({ "files": files }))
}

fn credential_entry(
    credential: &Credential,
    path: &Path,
    state: &crate::credential::state::StateSnapshot,
    now: std::time::SystemTime,
    dir: Option<&ConfinedDir>,
) -> Value {
    let mut cooldowns = Map::new();
    let mut next_retry: Option<std::time::SystemTime> = None;
    let mut models: Vec<_> = state.models.iter().collect();
    models.sort_by(|a, b| a.0.cmp(b.0));
    for (model, model_state) in models {
        let Some(until) = model_state.next_retry_after.filter(|until| *until > now) else {
            continue;
        };
        next_retry = Some(next_retry.map_or(until, |n| n.max(until)));
        cooldowns.insert(
            model.clone(),
            json!({
                "next_retry_after": rfc3339(until),
                "quota": model_state.quota,
                "status": model_state.last_status,
            }),
        );
    }
    let status = if credential.disabled {
        "disabled"
    } else if next_retry.is_some() {
        "cooldown"
    } else {
        "active"
    };
    let metadata = credential.metadata.as_ref();
    let field = |key: &str| {
        metadata
            .and_then(|m| m.get(key))
            .cloned()
            .unwrap_or(Value::Null)
    };
    let name = file_name(path);
    let mut entry = json!({
        "id": credential.id.as_str(),
        "auth_index": credential.index,
        "name": name,
        "type": field("type"),
        "provider": credential.provider.as_str(),
        "label": credential.label,
        "status": status,
        "status_message": "",
        "disabled": credential.disabled,
        "unavailable": next_retry.is_some(),
        "runtime_only": false,
        "source": "file",
        "size": file_size(dir, path),
        "success": state.successes,
        "failed": state.failures,
        "cooldowns": cooldowns,
        "path": path.display().to_string(),
        "priority": credential.priority,
        "weight": credential.weight,
    });
    let object = entry.as_object_mut().expect("an object");
    if let Some(until) = next_retry {
        object.insert("next_retry_after".into(), json!(rfc3339(until)));
    }
    for key in ["email", "note"] {
        if let Some(value) = credential.attributes.get(key) {
            object.insert(key.into(), json!(value));
        }
    }
    if let Some(modified) = metadata_of(dir, path).and_then(|m| m.modified().ok()) {
        object.insert("modtime".into(), json!(rfc3339(modified)));
    }
    entry
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The metadata of an auth file, opened beneath the folder (`None` for a file refused or gone).
fn metadata_of(dir: Option<&ConfinedDir>, path: &Path) -> Option<std::fs::Metadata> {
    dir?.open_file(path.file_name()?).ok()?.metadata().ok()
}

fn file_size(dir: Option<&ConfinedDir>, path: &Path) -> u64 {
    metadata_of(dir, path).map_or(0, |m| m.len())
}

fn read_type(dir: Option<&ConfinedDir>, path: &Path) -> Value {
    dir.zip(path.file_name())
        .and_then(|(dir, name)| dir.read(name).ok())
        .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
        .and_then(|v| v.get("type").cloned())
        .unwrap_or(Value::Null)
}

/// Writes one uploaded file (mode 0600, atomically, beneath the folder, after the store's
/// other writes) after checking its JSON.
async fn store(files: &Arc<FileStore>, name: &str, bytes: Bytes) -> Result<(), ManagementError> {
    let Ok(Value::Object(metadata)) = serde_json::from_slice::<Value>(&bytes) else {
        return Err(ManagementError::BadRequest(format!(
            "{name}: not a JSON object"
        )));
    };
    // As the reference saves: an invalid weight writes nothing.
    file_store::weight_field(&metadata)
        .map_err(|reason| ManagementError::BadRequest(format!("{name}: {reason}")))?;
    write_private(files, name.trim().to_owned(), bytes).await
}

/// Writes `bytes` as the file `name` of the store's folder (created 0700 when missing), mode
/// 0600, atomically, under the store's write lock.
pub(super) async fn write_private(
    files: &Arc<FileStore>,
    name: String,
    bytes: Bytes,
) -> Result<(), ManagementError> {
    locked(files, move |dir| {
        file_store::ensure_private_dir(dir)?;
        ConfinedDir::open(dir)?.write(name.as_ref(), &bytes, 0o600)
    })
    .await?
    .map_err(|e| match file_error(e) {
        ManagementError::NotFound(message) => ManagementError::WriteFailed(message),
        other => other,
    })
}

/// Runs `write` on a blocking thread, with the folder, holding the store's write lock.
async fn locked<T: Send + 'static>(
    files: &Arc<FileStore>,
    write: impl FnOnce(&Path) -> T + Send + 'static,
) -> Result<T, ManagementError> {
    let files = files.clone();
    tokio::task::spawn_blocking(move || files.locked(write))
        .await
        .map_err(|e| ManagementError::WriteFailed(e.to_string()))
}

/// Several files' outcome: 200 when all succeeded, 207 otherwise.
fn batch(count_key: &str, done: Vec<String>, failed: Vec<(String, String)>) -> Response {
    let status = if failed.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::MULTI_STATUS
    };
    let mut body = json!({
        "status": if failed.is_empty() { "ok" } else { "partial" },
        count_key: done.len(),
        "files": done,
    });
    if !failed.is_empty() {
        body["failed"] = failed
            .into_iter()
            .map(|(name, error)| json!({ "name": name, "error": error }))
            .collect();
    }
    (status, Json(body)).into_response()
}

/// `POST /auth-files`: multipart files, or a raw body with `?name=x.json`.
async fn upload(
    State(management): State<Arc<Management>>,
    request: Request,
) -> Result<Response, ManagementError> {
    let files = &management.runtime.auth_files;
    let multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"));
    if !multipart {
        let name = query_values(request.uri().query(), "name")
            .into_iter()
            .next()
            .unwrap_or_default();
        check_name(&name, "name must end with .json")?;
        let body = Bytes::from_request(request, &())
            .await
            .map_err(|e| ManagementError::BadRequest(e.body_text()))?;
        store(files, &name, body).await?;
        management.reload_auth_files().await?;
        return Ok(ok());
    }
    let mut form = Multipart::from_request(request, &())
        .await
        .map_err(|e| ManagementError::BadRequest(e.body_text()))?;
    let mut done = Vec::new();
    let mut failed = Vec::new();
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|e| ManagementError::BadRequest(e.body_text()))?
    {
        let Some(name) = field.file_name().map(str::to_owned) else {
            continue;
        };
        let bytes = field
            .bytes()
            .await
            .map_err(|e| ManagementError::BadRequest(e.body_text()))?;
        let result = match check_name(&name, "file must be .json") {
            Ok(()) => store(files, &name, bytes).await,
            Err(error) => Err(error),
        };
        match result {
            Ok(()) => done.push(name),
            Err(error) => failed.push((name, error)),
        }
    }
    if done.is_empty() && failed.is_empty() {
        return Err(ManagementError::BadRequest("no files uploaded".into()));
    }
    if !done.is_empty() {
        management.reload_auth_files().await?;
    }
    if done.len() + failed.len() == 1 {
        return match failed.pop() {
            Some((_, error)) => Err(error),
            None => Ok(ok()),
        };
    }
    let failed = failed
        .into_iter()
        .map(|(n, e)| (n, e.to_string()))
        .collect();
    Ok(batch("uploaded", done, failed))
}

/// `DELETE /auth-files`: `?all=true`, or names from `?name=` (repeatable), a JSON array body,
/// or `{"name": …, "names": […]}`.
async fn delete(
    State(management): State<Arc<Management>>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Result<Response, ManagementError> {
    let files = &management.runtime.auth_files;
    let all = query_values(query.as_deref(), "all")
        .iter()
        .any(|v| matches!(v.as_str(), "true" | "1" | "*"));
    if all {
        let (deleted, refused) = locked(files, remove_all).await??;
        management.reload_auth_files().await?;
        if refused.is_empty() {
            return Ok(Json(json!({ "status": "ok", "deleted": deleted })).into_response());
        }
        let body = json!({ "status": "partial", "deleted": deleted, "failed": refused });
        return Ok((StatusCode::MULTI_STATUS, Json(body)).into_response());
    }
    let mut names = query_values(query.as_deref(), "name");
    if names.is_empty() && !body.is_empty() {
        match json_body(&body)? {
            Value::Array(items) => {
                names.extend(items.iter().filter_map(Value::as_str).map(str::to_owned));
            }
            Value::Object(map) => {
                names.extend(map.get("name").and_then(Value::as_str).map(str::to_owned));
                if let Some(Value::Array(items)) = map.get("names") {
                    names.extend(items.iter().filter_map(Value::as_str).map(str::to_owned));
                }
            }
            _ => {}
        }
    }
    if names.is_empty() {
        return Err(ManagementError::BadRequest("name is required".into()));
    }
    let single = names.len() == 1;
    let outcomes = locked(files, move |dir| remove_names(dir, names)).await??;
    if single {
        let (_, outcome) = outcomes.into_iter().next().expect("one name");
        outcome?;
        management.reload_auth_files().await?;
        return Ok(ok());
    }
    let mut done = Vec::new();
    let mut failed = Vec::new();
    for (name, outcome) in outcomes {
        match outcome {
            Ok(()) => done.push(name),
            Err(error) => failed.push((name, error.to_string())),
        }
    }
    if !done.is_empty() {
        management.reload_auth_files().await?;
    }
    Ok(batch("deleted", done, failed))
}

/// Removes every auth file of `dir`: how many, and those refused (outside the folder).
fn remove_all(dir: &Path) -> Result<(usize, Vec<Value>), ManagementError> {
    let folder = ConfinedDir::open(dir).map_err(file_error)?;
    let mut deleted = 0;
    let mut refused = Vec::new();
    for name in file_store::json_names(&folder).map_err(file_error)? {
        match folder.remove(&name) {
            Ok(()) => deleted += 1,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) if confined_dir::is_outside(&e) => {
                tracing::warn!("auth file refused: {e}");
                refused.push(json!({
                    "name": name.to_string_lossy(),
                    "error": e.to_string(),
                }));
            }
            Err(e) => return Err(ManagementError::WriteFailed(e.to_string())),
        }
    }
    Ok((deleted, refused))
}

/// Each name of a removal, with its outcome.
type Removals = Vec<(String, Result<(), ManagementError>)>;

/// Removes the files `names` of `dir`, each with its outcome.
fn remove_names(dir: &Path, names: Vec<String>) -> Result<Removals, ManagementError> {
    let folder = ConfinedDir::open(dir).map_err(file_error)?;
    Ok(names
        .into_iter()
        .map(|name| {
            let outcome = check_name(&name, "name must end with .json")
                .and_then(|()| folder.remove(name.trim().as_ref()).map_err(file_error));
            (name, outcome)
        })
        .collect())
}

/// `GET /auth-files/download?name=x.json`: the file as an attachment.
async fn download(
    State(management): State<Arc<Management>>,
    RawQuery(query): RawQuery,
) -> Result<Response, ManagementError> {
    let name = query_values(query.as_deref(), "name")
        .into_iter()
        .next()
        .unwrap_or_default();
    check_name(&name, "name must end with .json")?;
    let name = name.trim().to_owned();
    let dir = auth_dir(&management);
    let file = name.clone();
    let bytes = tokio::task::spawn_blocking(move || ConfinedDir::open(&dir)?.read(file.as_ref()))
        .await
        .map_err(|e| ManagementError::WriteFailed(e.to_string()))?
        .map_err(|e| match file_error(e) {
            refused @ ManagementError::OutsideAuthDir(_) => refused,
            _ => ManagementError::NotFound("file not found".into()),
        })?;
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

/// `PATCH /auth-files/status` `{"name": "x.json", "disabled": true}`: `name` is an auth file's
/// name or a credential's id (as `GET /credentials` lists it). A file credential's file gets
/// the flag (`{"status":"ok","disabled":bool}`); a config credential gets the pattern `"*"` in
/// its entry's `excluded-models` ([`config_credential`]), answered with
/// `"via":"config:excluded-models"`.
async fn set_status(
    State(management): State<Arc<Management>>,
    body: Bytes,
) -> Result<Response, ManagementError> {
    let body = json_body(&body)?;
    let name = body
        .get("name")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| ManagementError::BadRequest("name is required".into()))?
        .to_owned();
    let disabled = body
        .get("disabled")
        .and_then(Value::as_bool)
        .ok_or_else(|| ManagementError::BadRequest("disabled is required".into()))?;
    let generation = management.runtime.generation();
    let credentials = || generation.registry.credentials();
    let credential = credentials()
        .find(|c| matches!(&c.source, CredentialSource::File { path } if file_name(path) == name))
        .or_else(|| credentials().find(|c| c.id.as_str() == name))
        .ok_or_else(|| ManagementError::NotFound("auth file not found".into()))?;
    match &credential.source {
        CredentialSource::File { .. } => {}
        CredentialSource::Config { .. } => {
            let id = credential.id.as_str().to_owned();
            config_credential::set_disabled(&management, &id, disabled).await?;
            return Ok(Json(json!({
                "status": "ok",
                "disabled": disabled,
                "via": config_credential::VIA,
            }))
            .into_response());
        }
        CredentialSource::Store => {
            return Err(ManagementError::BadRequest(
                "a credential of the program's store is enabled or disabled by the program".into(),
            ));
        }
    }
    let mut changed = Credential::clone(credential);
    changed.disabled = disabled;
    // The runtime's store: its lock orders this write after the others of the folder.
    let store = management.runtime.auth_files.clone();
    tokio::task::spawn_blocking(move || store.save(&changed))
        .await
        .map_err(|e| ManagementError::WriteFailed(e.to_string()))?
        .map_err(|e| ManagementError::WriteFailed(e.to_string()))?;
    management.reload_auth_files().await?;
    Ok(Json(json!({ "status": "ok", "disabled": disabled })).into_response())
}
