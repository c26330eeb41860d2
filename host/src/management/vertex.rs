//! `POST /vertex/import`: a Google service-account JSON key (the raw body) becomes the auth
//! file `vertex-<project>.json` (`?location=` default `us-central1`, `?prefix=`), written like
//! an uploaded auth file (mode 0600, atomically, under the store's write lock) and applied
//! through the reload path before the answer: `{"status":"ok","id","project_id","email",
//! "location"}`. A key that cannot be used is a 400 naming the problem (never the key).

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use bytes::Bytes;
use serde_json::json;

use super::auth_files::write_private;
use super::{Management, ManagementError};
use crate::credential::vertex_file;

/// The Vertex routes.
pub(crate) fn routes() -> Router<Arc<Management>> {
    Router::new().route("/vertex/import", post(import))
}

/// `POST /vertex/import?location=&prefix=`.
async fn import(
    State(management): State<Arc<Management>>,
    Query(query): Query<HashMap<String, String>>,
    body: Bytes,
) -> Result<Response, ManagementError> {
    let imported = vertex_file::import(
        &body,
        query.get("prefix").map(String::as_str),
        query.get("location").map(String::as_str),
    )
    .map_err(ManagementError::BadRequest)?;
    write_private(
        &management.runtime.auth_files,
        imported.file_name.clone(),
        Bytes::from(imported.bytes.clone()),
    )
    .await?;
    management.reload_auth_files().await?;
    Ok(Json(json!({
        "status": "ok",
        "id": imported.file_name,
        "project_id": imported.project_id,
        "email": imported.email,
        "location": imported.location,
    }))
    .into_response())
}
