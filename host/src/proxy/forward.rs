//! The request flow of every proxied call: read and parse the body once, resolve the model,
//! dispatch over the credentials, and stream the upstream answer back.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::{HeaderMap, header};
use http_body_util::{BodyExt, LengthLimitError, Limited};

use super::dispatch::{self, Dispatched};
use super::endpoint::Endpoint;
use super::error::ProxyError;
use super::headers::client_response_headers;
use super::idle_timeout::IdleTimeout;
use super::request_body::RequestBody;
use super::upstream::Call;
use crate::model::Resolution;
use crate::runtime::Runtime;

/// `POST /v1/chat/completions`.
pub async fn chat_completions(
    State(runtime): State<Arc<Runtime>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    forward(&runtime, Endpoint::ChatCompletions, None, false, headers, body).await
}

/// `POST /v1/messages`.
pub async fn messages(
    State(runtime): State<Arc<Runtime>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    forward(&runtime, Endpoint::Messages, None, false, headers, body).await
}

/// `POST /v1/messages/count_tokens`.
pub async fn count_tokens(
    State(runtime): State<Arc<Runtime>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    forward(&runtime, Endpoint::CountTokens, None, false, headers, body).await
}

/// `POST /v1/responses`.
pub async fn responses(
    State(runtime): State<Arc<Runtime>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    forward(&runtime, Endpoint::Responses, None, false, headers, body).await
}

/// `POST /v1beta/models/{model}:{action}`.
pub async fn gemini(
    State(runtime): State<Arc<Runtime>>,
    Path(model_action): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Some((model, action)) = model_action.rsplit_once(':') else {
        return ProxyError::InvalidRequest(format!(
            "expected /v1beta/models/{{model}}:{{action}}, got {model_action:?}"
        ))
        .into_response();
    };
    let Some(endpoint) = Endpoint::gemini_action(action) else {
        return ProxyError::InvalidRequest(format!("unsupported Gemini action {action:?}"))
            .into_response();
    };
    let sse = query
        .get("alt")
        .or_else(|| query.get("$alt"))
        .is_some_and(|alt| alt == "sse");
    forward(&runtime, endpoint, Some(model.to_owned()), sse, headers, body).await
}

async fn forward(
    runtime: &Runtime,
    endpoint: Endpoint,
    path_model: Option<String>,
    sse: bool,
    headers: HeaderMap,
    body: Body,
) -> Response {
    match try_forward(runtime, endpoint, path_model, sse, &headers, body).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

async fn try_forward(
    runtime: &Runtime,
    endpoint: Endpoint,
    path_model: Option<String>,
    sse: bool,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, ProxyError> {
    let generation = runtime.generation();
    let config = &generation.config;
    let bytes = read_body(body, headers, config.body_limit_bytes).await?;
    let body = RequestBody::parse(bytes)?;
    let requested = match path_model.as_deref().or(body.model.as_deref()) {
        Some(model) if !model.trim().is_empty() => model,
        _ => return Err(ProxyError::InvalidRequest("model is required".to_owned())),
    };
    let resolved = match generation.registry.resolve(endpoint.protocol(), requested) {
        Resolution::Found(resolved) => resolved,
        Resolution::WrongProtocol { served_by } => {
            return Err(ProxyError::WrongProtocol {
                model: requested.to_owned(),
                served_by,
            });
        }
        Resolution::Unknown => return Err(ProxyError::UnknownModel(requested.to_owned())),
    };
    let call = Call {
        endpoint,
        body: &body,
        client_headers: headers,
        sse,
    };
    let Dispatched { response, candidate } =
        dispatch::dispatch(runtime, &generation, &resolved, &call).await?;
    tracing::debug!(credential = %candidate.credential.id, model = %candidate.upstream_model, "upstream answered");
    let status = response.status();
    let response_headers = client_response_headers(response.headers(), config.passthrough_headers);
    let stream = IdleTimeout::new(response.bytes_stream(), config.upstream_timeouts.idle);
    let mut out = Response::new(Body::from_stream(stream));
    *out.status_mut() = status;
    *out.headers_mut() = response_headers;
    Ok(out)
}

/// Reads the whole body, refusing more than `limit` bytes with a 413.
async fn read_body(body: Body, headers: &HeaderMap, limit: usize) -> Result<Bytes, ProxyError> {
    let too_large = || ProxyError::BodyTooLarge {
        limit_mb: limit >> 20,
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|len| len > limit) {
        return Err(too_large());
    }
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => Err(too_large()),
        Err(e) => Err(ProxyError::InvalidRequest(format!(
            "cannot read the request body: {e}"
        ))),
    }
}
