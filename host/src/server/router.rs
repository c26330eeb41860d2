//! The whole HTTP application: open routes, proxy routes, and the layers around them.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::{Method, StatusCode, Uri};
use serde_json::json;

use super::{cors, request_id};
use crate::management::{self, Management};
use crate::proxy;
use crate::runtime::Runtime;

/// The application for `runtime`.
pub(super) fn app(runtime: Arc<Runtime>, management: Arc<Management>) -> Router {
    Router::new()
        .route(
            "/healthz",
            get(|| async { Json(json!({ "status": "ok" })) }),
        )
        .route("/", get(root))
        .merge(proxy::routes(runtime.clone()))
        // Management and metrics: outside the access chain, behind the management gate.
        .nest(management::PREFIX, management::routes(management.clone()))
        // The operator console: under the management API's rules, needing no key to load.
        .merge(management::console::routes(management.clone()))
        .route(
            "/metrics",
            get(management::report::metrics).with_state(management),
        )
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(runtime.clone(), cors::apply))
        .layer(middleware::from_fn(request_id::assign))
        .with_state(runtime)
}

async fn root() -> Json<serde_json::Value> {
    Json(json!({
        "message": "switchyard LLM API proxy",
        "endpoints": [
            "POST /v1/chat/completions",
            "POST /v1/responses",
            "POST /v1/messages",
            "POST /v1/messages/count_tokens",
            "GET /v1/models",
            "POST /v1beta/models/{model}:generateContent",
            "POST /v1beta/models/{model}:streamGenerateContent",
            "GET /v1beta/models",
            "POST /v1/models/{model}:generateContent",
            "POST /v1/models/{model}:streamGenerateContent",
            "GET /v1/models/{model}",
        ],
    }))
}

async fn not_found(method: Method, uri: Uri) -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({ "error": { "message": format!("no route for {method} {}", uri.path()), "type": "invalid_request_error" } })),
    )
        .into_response()
}
