//! The model listing endpoints, in each protocol's own shape.
//!
//! `GET /v1beta/models[/{model}]` always answers in Gemini's shape. `GET /v1/models[/{model}]`
//! is shared by three SDKs, so the shape follows the caller ([`Shape::of`]): Gemini's for a
//! Google API key without `Authorization` (google-genai calls `v1` by default), Anthropic's for
//! `anthropic-version` or Claude Code's User-Agent, OpenAI's otherwise.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, StatusCode, header};
use serde_json::{Value, json};

use super::error::envelope;
use crate::model::registry::ListedModel;
use crate::runtime::Runtime;

/// A fixed creation time for listed models (the reference reports one per model; switchyard
/// has no better number).
const CREATED: u64 = 1_700_000_000;

/// The creation time in Anthropic's shape (an RFC 3339 timestamp).
const CREATED_AT: &str = "2025-01-01T00:00:00Z";

/// The shape a `/v1/models` answer takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    /// `{"object":"list","data":[{id, object, created, owned_by}]}`.
    OpenAi,
    /// `{"data":[{type, id, display_name, created_at}], has_more, first_id, last_id}`.
    Claude,
    /// `{"models":[{name: "models/…", displayName, supportedGenerationMethods}]}`.
    Gemini,
}

impl Shape {
    /// The caller's shape: Gemini's when `x-goog-api-key` or `?key=` is present and
    /// `Authorization` is not; Anthropic's when `anthropic-version` is present or the
    /// User-Agent starts with `claude-cli`; OpenAI's otherwise.
    pub(crate) fn of(headers: &HeaderMap, query: Option<&str>) -> Shape {
        let query_key = query.is_some_and(|query| {
            url::form_urlencoded::parse(query.as_bytes()).any(|(name, _)| name == "key")
        });
        let google_key = headers.contains_key("x-goog-api-key") || query_key;
        if google_key && !headers.contains_key(header::AUTHORIZATION) {
            return Shape::Gemini;
        }
        let claude_cli = headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ua| ua.starts_with("claude-cli"));
        if claude_cli || headers.contains_key("anthropic-version") {
            return Shape::Claude;
        }
        Shape::OpenAi
    }

    /// The models listed in this shape: every model, since a client of any protocol reaches
    /// every model (translated when its credentials speak another protocol).
    fn models(self, runtime: &Runtime) -> Vec<ListedModel> {
        runtime.generation().registry.list()
    }

    /// The list body.
    fn list(self, models: &[ListedModel]) -> Value {
        match self {
            Shape::OpenAi => {
                let data: Vec<Value> = models.iter().map(openai_model).collect();
                json!({ "object": "list", "data": data })
            }
            Shape::Claude => {
                let data: Vec<Value> = models.iter().map(|m| claude_model(&m.id)).collect();
                json!({
                    "data": data,
                    "has_more": false,
                    "first_id": models.first().map(|m| m.id.clone()),
                    "last_id": models.last().map(|m| m.id.clone()),
                })
            }
            Shape::Gemini => {
                let data: Vec<Value> = models.iter().map(|m| gemini_model(&m.id)).collect();
                json!({ "models": data })
            }
        }
    }

    /// The single-model body for `model`, or the shape's 404.
    fn one(self, models: &[ListedModel], model: &str) -> Response {
        // Gemini clients may name the model as the resource `models/{id}`.
        let id = match self {
            Shape::Gemini => model.strip_prefix("models/").unwrap_or(model),
            _ => model,
        };
        let Some(found) = models.iter().find(|m| m.id == id) else {
            return self.not_found(id);
        };
        let body = match self {
            Shape::OpenAi => openai_model(found),
            Shape::Claude => claude_model(&found.id),
            Shape::Gemini => gemini_model(&found.id),
        };
        Json(body).into_response()
    }

    /// The 404 of an unknown model, as each provider words it.
    fn not_found(self, model: &str) -> Response {
        let body: bytes::Bytes = match self {
            Shape::OpenAi => envelope(
                StatusCode::NOT_FOUND,
                &format!("The model '{model}' does not exist"),
            ),
            Shape::Claude => json!({
                "type": "error",
                "error": { "type": "not_found_error", "message": format!("model: {model}") },
            })
            .to_string()
            .into(),
            Shape::Gemini => json!({
                "error": {
                    "code": 404,
                    "message": format!("model {model} not found"),
                    "status": "NOT_FOUND",
                }
            })
            .to_string()
            .into(),
        };
        (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response()
    }
}

/// `GET /v1/models`, in the caller's [`Shape`].
pub(crate) async fn list(
    State(runtime): State<Arc<Runtime>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Json<Value> {
    let shape = Shape::of(&headers, query.as_deref());
    Json(shape.list(&shape.models(&runtime)))
}

/// `GET /v1/models/{model}`, in the caller's [`Shape`].
pub(crate) async fn one(
    State(runtime): State<Arc<Runtime>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    Path(model): Path<String>,
) -> Response {
    let shape = Shape::of(&headers, query.as_deref());
    shape.one(&shape.models(&runtime), &model)
}

/// `GET /v1beta/models`.
pub(crate) async fn gemini(State(runtime): State<Arc<Runtime>>) -> Json<Value> {
    Json(Shape::Gemini.list(&Shape::Gemini.models(&runtime)))
}

/// `GET /v1beta/models/{model}`.
pub(crate) async fn gemini_one(
    State(runtime): State<Arc<Runtime>>,
    Path(model): Path<String>,
) -> Response {
    Shape::Gemini.one(&Shape::Gemini.models(&runtime), &model)
}

fn openai_model(model: &ListedModel) -> Value {
    json!({ "id": model.id, "object": "model", "created": CREATED, "owned_by": model.provider })
}

fn claude_model(id: &str) -> Value {
    json!({ "type": "model", "id": id, "display_name": id, "created_at": CREATED_AT })
}

fn gemini_model(id: &str) -> Value {
    json!({
        "name": format!("models/{id}"),
        "displayName": id,
        "supportedGenerationMethods": ["generateContent", "streamGenerateContent", "countTokens"],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().unwrap());
        }
        map
    }

    #[test]
    fn the_shape_follows_the_caller() {
        let of = |pairs: &[(&'static str, &'static str)], query| Shape::of(&headers(pairs), query);
        assert_eq!(of(&[], None), Shape::OpenAi);
        assert_eq!(of(&[("authorization", "Bearer k")], None), Shape::OpenAi);
        assert_eq!(of(&[("x-goog-api-key", "k")], None), Shape::Gemini);
        assert_eq!(of(&[], Some("key=k")), Shape::Gemini);
        assert_eq!(of(&[], Some("alt=json&key=k")), Shape::Gemini);
        assert_eq!(of(&[], Some("keys=k")), Shape::OpenAi);
        // Authorization wins over a Google key: an OpenAI client with a stray header.
        assert_eq!(
            of(
                &[("x-goog-api-key", "k"), ("authorization", "Bearer k")],
                None
            ),
            Shape::OpenAi
        );
        assert_eq!(
            of(&[("authorization", "Bearer k")], Some("key=k")),
            Shape::OpenAi
        );
        assert_eq!(
            of(&[("anthropic-version", "2023-06-01")], None),
            Shape::Claude
        );
        assert_eq!(
            of(
                &[("x-api-key", "k"), ("anthropic-version", "2023-06-01")],
                None
            ),
            Shape::Claude
        );
        assert_eq!(
            of(&[("user-agent", "claude-cli/2.1.0")], None),
            Shape::Claude
        );
        assert_eq!(of(&[("user-agent", "curl/8")], None), Shape::OpenAi);
    }

    #[test]
    fn one_model_or_the_shapes_404() {
        let models = vec![ListedModel {
            id: "gemini-2.5-pro".into(),
            provider: "gemini",
        }];
        assert_eq!(
            Shape::Gemini.one(&models, "models/gemini-2.5-pro").status(),
            StatusCode::OK
        );
        assert_eq!(
            Shape::OpenAi.one(&models, "gemini-2.5-pro").status(),
            StatusCode::OK
        );
        for shape in [Shape::OpenAi, Shape::Claude, Shape::Gemini] {
            assert_eq!(shape.one(&models, "nope").status(), StatusCode::NOT_FOUND);
        }
    }
}
