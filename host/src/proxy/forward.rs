//! The request flow of every proxied call: read and parse the body once, resolve the model,
//! dispatch over the credentials, and stream the upstream answer back.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, post};
use bytes::{Bytes, BytesMut};
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
    meter.provider(resolved.provider);
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

/// The most a request body's buffer is reserved beyond what has arrived.
const UPFRONT_BUFFER: usize = 1 << 20;

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
    let mut body = Limited::new(body, limit);
    // A body that arrives as one frame is kept as it is; more frames are appended to one
    // buffer, sized by `Content-Length` when the client sent one (up to
    // [`UPFRONT_BUFFER`]: a client that stalls holds no more than it sent, plus that).
    let mut first: Option<Bytes> = None;
    let mut joined: Option<BytesMut> = None;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| body_read_error(e, too_large))?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        if let Some(joined) = &mut joined {
            joined.extend_from_slice(&data);
        } else if let Some(earlier) = first.take() {
            let received = earlier.len() + data.len();
            let size = declared
                .unwrap_or(0)
                .min(received + UPFRONT_BUFFER)
                .max(received);
            let mut buffer = BytesMut::with_capacity(size);
            buffer.extend_from_slice(&earlier);
            buffer.extend_from_slice(&data);
            joined = Some(buffer);
        } else {
            first = Some(data);
        }
    }
    Ok(match joined {
        Some(joined) => joined.freeze(),
        None => first.unwrap_or_default(),
    })
}

/// What a failed body read means for the client.
fn body_read_error(
    error: Box<dyn std::error::Error + Send + Sync>,
    too_large: impl FnOnce() -> ProxyError,
) -> ProxyError {
    if error.downcast_ref::<LengthLimitError>().is_some() {
        return too_large();
    }
    // The connection's `server.body-read-timeout-ms` passed between two body frames.
    if let Some(timed_out) = BodyReadTimedOut::find(&*error).copied() {
        return ProxyError::BodyReadTimeout {
            timeout_ms: timed_out.timeout.as_millis(),
        };
    }
    ProxyError::InvalidRequest(format!("cannot read the request body: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A body sent as `frames`, one frame each.
    fn body_of(frames: &[&'static [u8]]) -> Body {
        let frames: Vec<Result<Bytes, std::io::Error>> =
            frames.iter().map(|f| Ok(Bytes::from_static(f))).collect();
        Body::from_stream(futures_util::stream::iter(frames))
    }

    fn length(n: usize) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(n));
        headers
    }

    #[tokio::test]
    async fn a_body_in_one_frame_is_kept_without_a_copy() {
        let frame: &'static [u8] = br#"{"model":"m"}"#;
        let read = read_body(body_of(&[frame]), &HeaderMap::new(), 1 << 20)
            .await
            .unwrap();
        assert_eq!(read, frame);
        assert_eq!(
            read.as_ptr(),
            frame.as_ptr(),
            "the frame itself, not a copy"
        );
    }

    #[tokio::test]
    async fn frames_are_joined_in_order() {
        let frames: [&'static [u8]; 3] = [b"{\"model\":", b"\"m\",\"x\":", b"1}"];
        for headers in [HeaderMap::new(), length(22), length(5)] {
            let read = read_body(body_of(&frames), &headers, 1 << 20)
                .await
                .unwrap();
            assert_eq!(read, &b"{\"model\":\"m\",\"x\":1}"[..]);
        }
        let empty = read_body(body_of(&[]), &HeaderMap::new(), 10)
            .await
            .unwrap();
        assert!(empty.is_empty());
    }

    #[tokio::test]
    async fn too_large_bodies_are_refused_whether_declared_or_sent() {
        let declared = read_body(body_of(&[b"{}"]), &length(11), 10).await;
        assert!(matches!(declared, Err(ProxyError::BodyTooLarge { .. })));
        let sent = read_body(body_of(&[b"0123456", b"789ab"]), &HeaderMap::new(), 10).await;
        assert!(matches!(sent, Err(ProxyError::BodyTooLarge { .. })));
        let at_limit = read_body(body_of(&[b"01234", b"56789"]), &HeaderMap::new(), 10).await;
        assert_eq!(at_limit.unwrap(), &b"0123456789"[..]);
    }
}
