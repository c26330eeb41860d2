//! One request/response exchange: route, identify the credential, record, apply the fault,
//! consult the prompt cache, answer.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::{Bytes, BytesMut};
use http::header::{CACHE_CONTROL, CONTENT_TYPE, RETRY_AFTER};
use http::{HeaderMap, HeaderValue, Request, Response, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use serde_json::Value;

use crate::conversation::output_tokens;
use crate::credential::{Access, Identified, identify};
use crate::disconnect::DisconnectGuard;
use crate::fault::{FaultBehavior, TriggeredFault};
use crate::paced_body::{DeliberateClose, Ending, MockBody, StreamPlan, full_body, paced_body};
use crate::prompt_cache::CacheOutcome;
use crate::protocol::{self, Answer, Framing, GenerateRequest, Protocol, Route, RouteError, Usage};
use crate::recorder::RequestParts;
use crate::state::MockState;
use crate::token_endpoint::{self, TOKEN_PATH};
use crate::vertex_route;
use crate::{CACHE_HEADER, CREDENTIAL_HEADER, SEQUENCE_HEADER};

/// How many characters of the last user text the reply quotes.
const QUOTED_CHARS: usize = 40;

/// What the server does with an exchange: send a response, or (`Err`) drop the connection.
type Outcome = Result<Response<MockBody>, DeliberateClose>;

/// The reply text: deterministic for a given credential and last user text.
pub(crate) fn reply_text(credential: &str, last_user_text: &str) -> String {
    let quoted: String = last_user_text.chars().take(QUOTED_CHARS).collect();
    format!("mock reply via {credential} to: {quoted}")
}

/// Handles one request.
pub(crate) async fn handle(state: Arc<MockState>, request: Request<Incoming>) -> Outcome {
    if request.uri().path() == TOKEN_PATH {
        return token_endpoint::handle(&state, request).await;
    }
    let (head, body) = request.into_parts();
    // A body that cannot be read means the client is gone.
    let body = body
        .collect()
        .await
        .map_err(|_| DeliberateClose)?
        .to_bytes();
    let path = head.uri.path();
    let query = head.uri.query();
    let (route, access) = match vertex_route::resolve(&head.method, path, query) {
        Some(Ok((route, access))) => (Ok(route), access),
        Some(Err(error)) => (Err(error), Access::Any),
        None => (Route::resolve(&head.method, path, query), Access::Any),
    };
    let Identified {
        key: credential,
        refused,
    } = identify(&head.headers, query, access, &state.tokens);
    let sequence = state.recorder.record(RequestParts {
        method: &head.method,
        path,
        query,
        headers: &head.headers,
        body: &body,
        credential: credential.as_deref(),
        protocol: route.as_ref().ok().map(Route::protocol),
    });
    let mut exchange = Exchange {
        guard: DisconnectGuard::new(Arc::clone(&state)),
        state,
        sequence,
        credential,
    };
    let route = match route {
        Ok(route) => route,
        Err(RouteError::NotFound(protocol)) => {
            let message = format!("mock upstream has no endpoint {path}");
            return Ok(exchange.error(protocol, StatusCode::NOT_FOUND, &message));
        }
        Err(RouteError::MethodNotAllowed(protocol)) => {
            let message = format!("{} is not allowed on {path}", head.method);
            return Ok(exchange.error(protocol, StatusCode::METHOD_NOT_ALLOWED, &message));
        }
    };
    if let Some(reason) = refused {
        return Ok(exchange.error(route.protocol(), StatusCode::UNAUTHORIZED, reason));
    }
    if exchange.credential.is_none() {
        let message = "missing API key: send x-api-key, Authorization: Bearer, or x-goog-api-key";
        return Ok(exchange.error(route.protocol(), StatusCode::UNAUTHORIZED, message));
    }
    let stream_fault = match exchange.apply_fault(route.protocol()).await {
        AfterFault::Finished(outcome) => return outcome,
        AfterFault::Answer { stream_fault } => stream_fault,
    };
    exchange
        .serve(route, &head.headers, &body, stream_fault)
        .await
}

/// What is left to do after the credential's fault (if any) took effect.
enum AfterFault {
    /// Answer the request; a stream fault (if any) shapes the answer.
    Answer { stream_fault: Option<FaultBehavior> },
    /// The fault settled the exchange.
    Finished(Outcome),
}

/// An exchange whose request is recorded.
struct Exchange {
    state: Arc<MockState>,
    sequence: u64,
    credential: Option<String>,
    guard: DisconnectGuard,
}

impl Exchange {
    /// The credential key (empty only before the 401 check).
    fn credential_key(&self) -> &str {
        self.credential.as_deref().unwrap_or_default()
    }

    /// Applies the credential's fault: the head delay, then its behavior.
    async fn apply_fault(&mut self, protocol: Protocol) -> AfterFault {
        let Some(TriggeredFault {
            behavior,
            head_delay,
        }) = self.state.faults.trigger(self.credential_key())
        else {
            return AfterFault::Answer { stream_fault: None };
        };
        if !head_delay.is_zero() {
            tokio::select! {
                () = tokio::time::sleep(head_delay) => {}
                () = self.state.shutdown_begun() => return AfterFault::Finished(self.close()),
            }
        }
        match behavior {
            FaultBehavior::Answer => AfterFault::Answer { stream_fault: None },
            FaultBehavior::Status {
                status,
                body,
                retry_after,
            } => {
                let mut response = match body {
                    Some(body) => self.respond(status, "application/json", body),
                    None => {
                        let message = format!("mock fault: status {}", status.as_u16());
                        self.error(protocol, status, &message)
                    }
                };
                if let Some(value) =
                    retry_after.and_then(|value| HeaderValue::from_str(&value).ok())
                {
                    response.headers_mut().insert(RETRY_AFTER, value);
                }
                AfterFault::Finished(Ok(response))
            }
            FaultBehavior::Hang => AfterFault::Finished(self.hang().await),
            stream_fault => AfterFault::Answer {
                stream_fault: Some(stream_fault),
            },
        }
    }

    /// Serves the endpoint.
    async fn serve(
        mut self,
        route: Route,
        headers: &HeaderMap,
        body: &Bytes,
        stream_fault: Option<FaultBehavior>,
    ) -> Outcome {
        let protocol = route.protocol();
        if route == Route::ListModels {
            let body = protocol::model_list_body(unix_now());
            return Ok(self.respond(StatusCode::OK, "application/json", body));
        }
        let json: Value = match serde_json::from_slice(body) {
            Ok(json) => json,
            Err(error) => {
                let message = format!("the request body is not valid JSON: {error}");
                return Ok(self.error(protocol, StatusCode::BAD_REQUEST, &message));
            }
        };
        if let Some(name) = self
            .state
            .unknown_fields
            .iter()
            .find(|name| json.get(name.as_str()).is_some())
        {
            let message = protocol.unknown_field_message(name);
            return Ok(self.error(protocol, StatusCode::BAD_REQUEST, &message));
        }
        let request = match Protocol::parse(&route, &json, self.state.require_max_tokens) {
            Ok(request) => request,
            Err(message) => return Ok(self.error(protocol, StatusCode::BAD_REQUEST, &message)),
        };
        if matches!(
            route,
            Route::MessagesCountTokens | Route::GeminiCountTokens { .. }
        ) {
            let body = protocol.count_tokens_body(request.conversation.input_tokens());
            return Ok(self.respond(StatusCode::OK, "application/json", body));
        }
        // A stream fault on a non-streaming request acts before the head.
        if let (None, Some(fault)) = (request.stream, &stream_fault) {
            return match fault {
                FaultBehavior::StreamError {
                    status, message, ..
                } => Ok(self.error(protocol, *status, message)),
                FaultBehavior::StreamStall { .. } => self.hang().await,
                _ => self.close(),
            };
        }
        let framing = request.stream;
        let (answer, outcome) = self.generate(request, stream_fault.is_none());
        let mut response = match framing {
            None => {
                let body = protocol.answer_body(&answer);
                self.respond(StatusCode::OK, "application/json", body)
            }
            Some(framing) => {
                let pacing = self.state.pacing.for_request(headers, &json);
                let plan = stream_plan(protocol, answer, framing, pacing.chunks, stream_fault);
                self.stream(framing, plan, pacing.interval)
            }
        };
        response
            .headers_mut()
            .insert(CACHE_HEADER, HeaderValue::from_static(outcome.as_str()));
        Ok(response)
    }

    /// Consults the prompt cache and composes the answer (and, when `cache_reply`, caches the
    /// conversation with its reply for the next turn).
    fn generate(&self, request: GenerateRequest, cache_reply: bool) -> (Answer, CacheOutcome) {
        let credential = self.credential_key();
        let conversation = &request.conversation;
        let cache = &self.state.prompt_cache;
        let outcome = cache.look_up(credential, &request.model, conversation);
        if cache_reply {
            cache.remember(credential, &request.model, conversation);
        }
        let reply = reply_text(credential, conversation.last_user_text());
        // A tool call carries the reply in its arguments, so it still names the credential.
        let text = match &request.tool {
            Some(_) => serde_json::json!({ "reply": reply }).to_string(),
            None => reply,
        };
        let usage = Usage {
            input: conversation.input_tokens(),
            cached: match outcome {
                CacheOutcome::Hit => conversation.prefix_tokens(),
                CacheOutcome::Miss | CacheOutcome::NoLookup => 0,
            },
            output: output_tokens(&text),
            reasoning: if request.thinking {
                output_tokens(protocol::THINKING_TEXT)
            } else {
                0
            },
        };
        let answer = Answer {
            sequence: self.sequence,
            model: request.model,
            text,
            created: unix_now(),
            usage,
            include_usage: request.include_usage,
            tool: request.tool,
            thinking: request.thinking,
        };
        (answer, outcome)
    }

    /// A whole response with the mock's headers; the exchange is settled.
    fn respond(
        &mut self,
        status: StatusCode,
        content_type: &'static str,
        body: Bytes,
    ) -> Response<MockBody> {
        self.guard.settle();
        let mut response = Response::new(full_body(body));
        *response.status_mut() = status;
        self.add_headers(response.headers_mut(), content_type);
        response
    }

    /// The protocol's error response.
    fn error(
        &mut self,
        protocol: Protocol,
        status: StatusCode,
        message: &str,
    ) -> Response<MockBody> {
        let body = protocol.error_body(status, message);
        self.respond(status, "application/json", body)
    }

    /// A streamed response following `plan`; the body settles the exchange when it ends.
    fn stream(self, framing: Framing, plan: StreamPlan, interval: Duration) -> Response<MockBody> {
        let mut headers = HeaderMap::new();
        self.add_headers(&mut headers, framing.content_type());
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        let mut response = Response::new(paced_body(plan, interval, &self.state, self.guard));
        *response.headers_mut() = headers;
        response
    }

    /// Never answers: waits for the client to leave (the server then drops this future, which
    /// counts a disconnect) or for the mock to shut down.
    async fn hang(&mut self) -> Outcome {
        self.state.shutdown_begun().await;
        self.close()
    }

    /// Closes the connection without answering (the mock's own doing, not a disconnect).
    fn close(&mut self) -> Outcome {
        self.guard.settle();
        Err(DeliberateClose)
    }

    fn add_headers(&self, headers: &mut HeaderMap, content_type: &'static str) {
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
        headers.insert(SEQUENCE_HEADER, HeaderValue::from(self.sequence));
        if let Some(value) = self
            .credential
            .as_deref()
            .and_then(|credential| HeaderValue::from_str(credential).ok())
        {
            headers.insert(CREDENTIAL_HEADER, value);
        }
    }
}

/// Lays out a streamed answer: the opening and the first chunk at once, one chunk per
/// interval, then the closing with the last chunk; or, under a stream fault, its ending after
/// `after_chunks` chunks.
fn stream_plan(
    protocol: Protocol,
    answer: Answer,
    framing: Framing,
    chunks: u32,
    fault: Option<FaultBehavior>,
) -> StreamPlan {
    let text = answer.text.clone();
    let pieces = protocol::split_reply(&text, protocol.stream_pieces(&answer, chunks));
    let mut encoder = protocol.stream_encoder(answer, framing);
    let sent = match &fault {
        Some(
            FaultBehavior::StreamError { after_chunks, .. }
            | FaultBehavior::StreamStall { after_chunks }
            | FaultBehavior::OversizedEvent { after_chunks, .. }
            | FaultBehavior::Close { after_chunks },
        ) => (*after_chunks as usize).min(pieces.len()),
        _ => pieces.len(),
    };
    let mut first = BytesMut::new();
    let endless_from_the_start = matches!(
        fault,
        Some(FaultBehavior::OversizedEvent {
            after_chunks: 0,
            ..
        })
    );
    if !endless_from_the_start {
        encoder.opening(&mut first);
    }
    let mut paced: Vec<BytesMut> = Vec::with_capacity(sent);
    for (index, piece) in pieces[..sent].iter().enumerate() {
        if index == 0 {
            encoder.chunk(piece, &mut first);
        } else {
            let mut frame = BytesMut::new();
            encoder.chunk(piece, &mut frame);
            paced.push(frame);
        }
    }
    let ending = match fault {
        Some(FaultBehavior::StreamError {
            status, message, ..
        }) => {
            let mut frame = BytesMut::new();
            encoder.error(status, &message, &mut frame);
            paced.push(frame);
            Ending::Complete
        }
        Some(FaultBehavior::StreamStall { .. }) => Ending::Stall,
        Some(FaultBehavior::OversizedEvent { bytes, .. }) => {
            let mut frame = BytesMut::with_capacity(bytes);
            frame.extend_from_slice(&b"data: "[..bytes.min(6)]);
            frame.resize(bytes, b'x');
            if endless_from_the_start {
                first.extend_from_slice(&frame);
            } else {
                paced.push(frame);
            }
            Ending::Stall
        }
        Some(FaultBehavior::Close { .. }) => Ending::Close,
        _ => {
            encoder.closing(paced.last_mut().unwrap_or(&mut first));
            Ending::Complete
        }
    };
    StreamPlan {
        first: first.freeze(),
        paced: paced.into_iter().map(BytesMut::freeze).collect(),
        ending,
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}
