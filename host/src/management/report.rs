//! Reports: `GET /v0/management/usage` (usage totals), `GET /v0/management/reload` (what the
//! last reloads did, and which changes wait for a restart) and `GET /metrics` (Prometheus text,
//! with the management key, or open to all with `metrics.public: true`).

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::{HeaderValue, header};

use super::{Management, ManagementError, auth, client_of};
use crate::metrics;
use crate::usage::Summary;

/// The report routes under `/v0/management`.
pub fn routes() -> Router<Arc<Management>> {
    Router::new()
        .route("/usage", get(usage))
        .route("/reload", get(reload))
}

/// `GET /v0/management/reload`: `{"generation", "attempts", "failures", "last-error",
/// "restart-required"}`.
async fn reload(State(management): State<Arc<Management>>) -> Json<serde_json::Value> {
    let status = management.runtime.reload_status().borrow().clone();
    Json(serde_json::json!({
        "generation": status.generation,
        "attempts": status.attempts,
        "failures": status.failures,
        "last-error": status.last_error,
        "restart-required": status.restart_required,
    }))
}

/// `GET /v0/management/usage`: `{"total", "by-credential", "by-model"}`.
async fn usage(State(management): State<Arc<Management>>) -> Json<Summary> {
    Json(management.runtime.usage.summary())
}

/// `GET /metrics`: the management key is needed (from local clients too) unless
/// `metrics.public: true`.
pub async fn metrics(
    State(management): State<Arc<Management>>,
    request: Request,
) -> Result<Response, ManagementError> {
    let config = management.runtime.generation().config.clone();
    if !config.metrics_public {
        let client = client_of(&request, &config);
        let key = auth::key_from_headers(request.headers());
        management.authenticate(client, &key).await?;
    }
    let mut response = metrics::render(&management.runtime).await.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    Ok(response)
}
