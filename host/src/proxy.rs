//! The client-facing API: routes, the forwarding flow, and the upstream calls.

pub(crate) mod access_gate;
pub(crate) mod chunk_stream;
pub(crate) mod client_pool;
pub(crate) mod ctx;
pub(crate) mod dispatch;
pub(crate) mod endpoint;
pub(crate) mod error;
pub(crate) mod example_key;
pub(crate) mod forward;
pub(crate) mod headers;
pub(crate) mod idle_timeout;
pub(crate) mod model_list;
pub(crate) mod outcome;
pub(crate) mod request_body;
pub(crate) mod stream_event;
pub(crate) mod stream_relay;
pub(crate) mod translated;
pub(crate) mod unauthenticated_guard;
pub(crate) mod upstream;
pub(crate) mod upstream_client;
pub(crate) mod upstream_error;
pub(crate) mod vertex;

use std::sync::Arc;

use axum::Router;
use axum::routing::get;

use crate::runtime::Runtime;
use endpoint::Endpoint;

/// The proxy routes: `/v1/*` and `/v1beta/*`, behind the access chain.
/// `/v1/models/{model}:{action}` is the Gemini API's `v1` twin of the `v1beta` route (the
/// version google-genai calls by default); the rest of the model name may hold `/` (a prefix).
pub(crate) fn routes(runtime: Arc<Runtime>) -> Router<Arc<Runtime>> {
    Router::new()
        .route("/v1/models", get(model_list::list))
        .route(
            "/v1/models/{*model_action}",
            get(model_list::one).post(forward::gemini),
        )
        .route(
            "/v1/chat/completions",
            forward::fixed_path(Endpoint::ChatCompletions),
        )
        .route("/v1/messages", forward::fixed_path(Endpoint::Messages))
        .route(
            "/v1/messages/count_tokens",
            forward::fixed_path(Endpoint::CountTokens),
        )
        .route("/v1/responses", forward::fixed_path(Endpoint::Responses))
        .route("/v1beta/models", get(model_list::gemini))
        .route(
            "/v1beta/models/{model_action}",
            get(model_list::gemini_one).post(forward::gemini),
        )
        .layer(axum::middleware::from_fn_with_state(
            runtime,
            access_gate::require_access,
        ))
}
