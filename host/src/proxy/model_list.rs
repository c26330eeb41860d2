//! The model listing endpoints, in each protocol's own shape.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, StatusCode, header};
use serde_json::{Value, json};

use crate::protocol::Protocol;
use crate::runtime::Runtime;

/// A fixed creation time for listed models (the reference reports one per model; switchyard
/// has no better number).
const CREATED: u64 = 1_700_000_000;

/// `GET /v1/models`: the Claude shape for Claude Code (`User-Agent: claude-cli…`), otherwise
/// OpenAI's.
pub async fn openai_or_claude(
    State(runtime): State<Arc<Runtime>>,
    headers: HeaderMap,
) -> Json<Value> {
    let generation = runtime.generation();
    let is_claude_cli = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ua| ua.starts_with("claude-cli"));
    if is_claude_cli {
        let models = generation.registry.list(Some(Protocol::ClaudeMessages));
        let data: Vec<Value> = models
            .iter()
            .map(|m| {
                json!({
                    "type": "model",
                    "id": m.id,
                    "display_name": m.id,
                    "created_at": "2025-01-01T00:00:00Z",
                })
            })
            .collect();
        return Json(json!({
            "data": data,
            "has_more": false,
            "first_id": models.first().map(|m| m.id.clone()),
            "last_id": models.last().map(|m| m.id.clone()),
        }));
    }
    let data: Vec<Value> = generation
        .registry
        .list(None)
        .into_iter()
        .map(|m| json!({ "id": m.id, "object": "model", "created": CREATED, "owned_by": m.provider }))
        .collect();
    Json(json!({ "object": "list", "data": data }))
}

/// `GET /v1beta/models`.
pub async fn gemini(State(runtime): State<Arc<Runtime>>) -> Json<Value> {
    let models: Vec<Value> = runtime
        .generation()
        .registry
        .list(Some(Protocol::Gemini))
        .into_iter()
        .map(|m| gemini_model(&m.id))
        .collect();
    Json(json!({ "models": models }))
}

/// `GET /v1beta/models/{model}`.
pub async fn gemini_one(
    State(runtime): State<Arc<Runtime>>,
    Path(model): Path<String>,
) -> Response {
    let listed = runtime
        .generation()
        .registry
        .list(Some(Protocol::Gemini))
        .into_iter()
        .any(|m| m.id == model);
    if listed {
        Json(gemini_model(&model)).into_response()
    } else {
        (
            StatusCode::NOT_FOUND,
            Json(json!({ "error": { "code": 404, "message": format!("model {model} not found"), "status": "NOT_FOUND" } })),
        )
            .into_response()
    }
}

fn gemini_model(id: &str) -> Value {
    json!({
        "name": format!("models/{id}"),
        "displayName": id,
        "supportedGenerationMethods": ["generateContent", "streamGenerateContent", "countTokens"],
    })
}
