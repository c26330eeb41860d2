//! The request flow of every proxied call: read and parse the body once, resolve the model,
//! dispatch over the credentials, and stream the upstream answer back.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, post};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, header};
use http_body_util::{BodyExt, LengthLimitError, Limited};

use super::access_gate::Admitted;
use super::ctx::{ClientCall, Ctx};
use super::dispatch::{self, Dispatched};
use super::endpoint::Endpoint;
use super::error::ProxyError;
use super::headers::client_response_headers;
use super::idle_timeout::IdleTimeout;
use super::outcome::StreamOutcome;
use super::request_body::RequestBody;
use super::stream_event::ErrorStyle;
use super::stream_relay::{EventLimit, StreamRelay};
use super::upstream::Call;
use crate::model::name::ModelName;
use crate::model::{Resolution, safe_name};
use crate::runtime::Runtime;
use crate::server::BodyReadTimedOut;
use crate::server::RequestId;
use crate::server::request_log::LoggedByMeter;
use crate::usage::{Caller, Meter};

/// The handler of an endpoint with a fixed path (the model is in the body).
pub(crate) fn fixed_path(endpoint: Endpoint) -> MethodRouter<Arc<Runtime>> {
    post(
        move |State(runtime): State<Arc<Runtime>>,
              admitted: Admitted,
              caller: Caller,
              headers: HeaderMap,
              body: Body| async move {
            let call = ClientCall {
                endpoint,
                path_model: None,
                sse: false,
            };
            forward(&runtime, admitted, caller, call, headers, body).await
        },
    )
}

/// `POST /v1beta/models/{model}:{action}` and its `v1` twin `POST /v1/models/{model}:{action}`.
pub(crate) async fn gemini(
    State(runtime): State<Arc<Runtime>>,
    admitted: Admitted,
    Path(model_action): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    caller: Caller,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Some((model, action)) = model_action.rsplit_once(':') else {
        return ProxyError::InvalidRequest(format!(
            "expected /v1beta/models/{{model}}:{{action}} or /v1/models/{{model}}:{{action}}, got {model_action:?}"
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
    let call = ClientCall {
        endpoint,
        path_model: Some(model.to_owned()),
        sse,
    };
    forward(&runtime, admitted, caller, call, headers, body).await
}

async fn forward(
    runtime: &Runtime,
    admitted: Admitted,
    caller: Caller,
    call: ClientCall,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let ctx = Ctx {
        runtime,
        generation: &admitted.generation,
    };
    let mut meter = Meter::start(ctx, call.endpoint, caller);
    let result = try_forward(ctx, &admitted, &mut meter, call, &headers, body).await;
    let mut response = match result {
        Ok(response) => response,
        Err(error) => {
            meter.failed(error.status());
            error.into_response_for(admitted.request_id.as_ref().map(RequestId::as_str))
        }
    };
    response.extensions_mut().insert(LoggedByMeter);
    response
}

async fn try_forward(
    ctx: Ctx<'_>,
    admitted: &Admitted,
    meter: &mut Meter,
    call: ClientCall,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, ProxyError> {
    let ClientCall {
        endpoint,
        path_model,
        sse,
    } = call;
    let generation = ctx.generation;
    let config = &generation.config;
    let bytes = read_body(body, headers, config.body_limit_bytes).await?;
    let body = RequestBody::parse(bytes)?;
    let requested = match path_model.as_deref().or(body.model.as_deref()) {
        Some(model) if !model.trim().is_empty() => model,
        _ => return Err(ProxyError::InvalidRequest("model is required".to_owned())),
    };
    // Before any credential is chosen: a model name is data, never path.
    safe_name::check(requested)
        .map_err(|reason| ProxyError::InvalidRequest(format!("invalid model name: {reason}")))?;
    meter.model(requested);
    let resolved = match generation.registry.resolve(endpoint.protocol(), requested) {
        Resolution::Found(resolved) => resolved,
        Resolution::Unknown => return Err(ProxyError::UnknownModel(requested.to_owned())),
    };
    // A valid thinking suffix (`model(high)`) overrides the body's setting; another is ignored.
    let thinking = ModelName::parse(requested)
        .thinking
        .and_then(switchyard_translate::ir::Thinking::from_suffix);
    let stream = body.stream || endpoint == Endpoint::GeminiStream;
    // Recognising the session costs an extractor call (a Wasm plugin scanning the body): only
    // while affinity is on.
    let session = match (&generation.affinity, &admitted.head) {
        (Some(_), Some(head)) => generation.extractors.extract(head, &body.bytes).await,
        _ => None,
    };
    let call = Call {
        endpoint,
        body: &body,
        client_headers: headers,
        sse,
        stream,
        session: session.as_ref(),
        requested_model: requested,
        thinking,
    };
    meter.provider(&resolved.provider);
    meter.tracking(resolved.tracking);
    let dispatched_at = Instant::now();
    let Dispatched {
        answer,
        candidate,
        session,
        stream_outcome,
    } = dispatch::dispatch(ctx, &resolved, &call).await?;
    meter.served(&candidate.credential, dispatched_at.elapsed());
    meter.session(session);
    tracing::debug!(credential = %candidate.credential.id, model = %candidate.upstream_model, "upstream answered");
    let mut response_headers = client_response_headers(&answer.headers, config.passthrough_headers);
    let idle = config.upstream_timeouts.idle;
    // A stream's outcome comes with it (`call.stream`), reported when the relay ends.
    let body = if let Some(attempt) = stream_outcome {
        let style = ErrorStyle::of(endpoint, sse);
        if style.is_sse() {
            response_headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/event-stream"),
            );
        }
        response_headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        response_headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
        let outcome = StreamOutcome {
            usage: meter.take().stream_observer(answer.status, style.is_sse()),
            attempt,
        };
        Body::from_stream(
            StreamRelay::new(
                answer.first,
                answer.rest,
                style,
                idle,
                config.streaming.keepalive,
                Box::new(outcome),
            )
            .with_event_limit(config.streaming.max_event_bytes.map(|max_bytes| {
                EventLimit {
                    max_bytes,
                    metrics: ctx.runtime.metrics.clone(),
                }
            })),
        )
    } else {
        let length = answer
            .headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        let tapped = meter.take().body(answer.status, answer.rest);
        Body::new(IdleTimeout::new(tapped, idle, length))
    };
    let mut out = Response::new(body);
    *out.status_mut() = answer.status;
    *out.headers_mut() = response_headers;
    Ok(out)
}

/// Reads the whole body, refusing more than `limit` bytes with a 413 and a body that stalled
/// past `server.body-read-timeout-ms` with a 408.
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
        // The connection's `server.body-read-timeout-ms` passed between two body frames.
        Err(e) if let Some(timed_out) = BodyReadTimedOut::find(&*e).copied() => {
            Err(ProxyError::BodyReadTimeout {
                timeout_ms: timed_out.timeout.as_millis(),
            })
        }
        Err(e) => Err(ProxyError::InvalidRequest(format!(
            "cannot read the request body: {e}"
        ))),
    }
}
