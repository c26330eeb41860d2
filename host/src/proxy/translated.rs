//! An attempt on a credential whose upstream speaks another protocol than the client: the
//! request is translated (`switchyard-translate`), and so are the answer, its stream and its
//! errors, so the client sees only its own protocol.
//!
//! Token counts go to the upstream when it has a counting endpoint (Anthropic, Gemini) and
//! are estimated otherwise, without an upstream call.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use switchyard_translate::{
    ClientView, Exchange, Format, RequestOptions, StreamTranslator, TranslateError, count_tokens,
};

use super::chunk_stream::{ChunkError, ChunkStream};
use super::ctx::Ctx;
use super::endpoint::Endpoint;
use super::headers;
use super::upstream::{self, Answer, Call, Outgoing};
use super::upstream_error::UpstreamError;
use crate::credential::candidate::Candidate;
use crate::protocol::Protocol;

/// The largest translated answer read whole (a non-streamed answer must be parsed at once).
const MAX_ANSWER: usize = 64 << 20;

/// The largest upstream stream event a translation holds while it is incomplete, when
/// `streaming.max-event-mib` sets none.
const MAX_EVENT: usize = 16 << 20;

/// Translates `call` for `candidate`'s upstream, which speaks `target`, and its answer back.
pub(crate) async fn attempt(
    ctx: Ctx<'_>,
    candidate: &Candidate,
    call: &Call<'_>,
    target: Protocol,
) -> Result<Answer, UpstreamError> {
    let client = call.endpoint.protocol().format();
    match call.endpoint {
        Endpoint::CountTokens | Endpoint::GeminiCountTokens => {
            count(ctx, candidate, call, client, target.format()).await
        }
        _ => generate(ctx, candidate, call, client, target).await,
    }
}

/// A generation request (streamed or not).
async fn generate(
    ctx: Ctx<'_>,
    candidate: &Candidate,
    call: &Call<'_>,
    client: Format,
    target: Protocol,
) -> Result<Answer, UpstreamError> {
    let upstream = target.format();
    let options = RequestOptions {
        upstream_model: &candidate.upstream_model,
        thinking: call.thinking,
        stream: Some(call.stream),
        client: ClientView {
            model: call.requested_model.to_owned(),
            id: invented_id(),
            created: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            gemini_sse: call.sse,
            ..ClientView::default()
        },
    };
    let translated =
        switchyard_translate::translate_request(client, upstream, &call.body.bytes, options)
            .map_err(|e| refused(client, &e))?;
    let stream = call.stream;
    let endpoint = generation_endpoint(target, stream);
    let mut outgoing = Outgoing {
        endpoint,
        // A translated Gemini stream is always read as SSE.
        sse: stream && upstream == Format::Gemini,
        stream,
        headers: headers::upstream_request_headers(
            call.client_headers,
            &candidate.credential,
            true,
        ),
        body: Bytes::from(translated.body),
    };
    super::vertex::adapt(
        &candidate.credential,
        outgoing.endpoint,
        &mut outgoing.headers,
        &mut outgoing.body,
    );
    let exchange = translated.exchange;
    let answer = upstream::send(ctx, candidate, outgoing)
        .await
        .map_err(|e| client_shaped(e, client))?;
    let config = &ctx.generation.config;
    let idle = config.upstream_timeouts.idle;
    if stream {
        let max_event = config.streaming.max_event_bytes.unwrap_or(MAX_EVENT);
        stream_answer(answer, &exchange, max_event, idle, call.sse).await
    } else {
        let body = read_whole(answer.rest, idle).await?;
        let out = exchange.response(&body).map_err(|e| {
            UpstreamError::stream(format!("cannot translate the answer: {e}"), None)
        })?;
        Ok(json_answer(answer.headers, Bytes::from(out)))
    }
}

/// `count_tokens` / `countTokens`: the upstream's count when it has an endpoint, else the
/// estimate.
async fn count(
    ctx: Ctx<'_>,
    candidate: &Candidate,
    call: &Call<'_>,
    client: Format,
    upstream: Format,
) -> Result<Answer, UpstreamError> {
    let endpoint = match upstream {
        Format::Claude => Endpoint::CountTokens,
        Format::Gemini => Endpoint::GeminiCountTokens,
        Format::Chat | Format::Responses => {
            let tokens = count_tokens::estimate(client, &call.body.bytes)
                .map_err(|e| refused(client, &e))?;
            return Ok(json_answer(
                HeaderMap::new(),
                Bytes::from(count_tokens::answer(client, tokens)),
            ));
        }
    };
    let body = count_tokens::request(
        client,
        upstream,
        &call.body.bytes,
        &candidate.upstream_model,
    )
    .map_err(|e| refused(client, &e))?;
    let mut outgoing = Outgoing {
        endpoint,
        sse: false,
        stream: false,
        headers: headers::upstream_request_headers(
            call.client_headers,
            &candidate.credential,
            true,
        ),
        body: Bytes::from(body),
    };
    super::vertex::adapt(
        &candidate.credential,
        outgoing.endpoint,
        &mut outgoing.headers,
        &mut outgoing.body,
    );
    let answer = upstream::send(ctx, candidate, outgoing)
        .await
        .map_err(|e| client_shaped(e, client))?;
    let headers = answer.headers;
    let body = read_whole(answer.rest, ctx.generation.config.upstream_timeouts.idle).await?;
    let tokens = count_tokens::read_answer(upstream, &body)
        .map_err(|e| UpstreamError::stream(e.to_string(), None))?;
    Ok(json_answer(
        headers,
        Bytes::from(count_tokens::answer(client, tokens)),
    ))
}

/// The upstream operation that generates in `target`.
fn generation_endpoint(target: Protocol, stream: bool) -> Endpoint {
    match target {
        Protocol::OpenAiChat => Endpoint::ChatCompletions,
        Protocol::OpenAiResponses => Endpoint::Responses,
        Protocol::ClaudeMessages => Endpoint::Messages,
        Protocol::Gemini if stream => Endpoint::GeminiStream,
        Protocol::Gemini => Endpoint::GeminiGenerate,
    }
}

/// A request that cannot be translated: 400 in the client's shape, no failover.
fn refused(client: Format, error: &TranslateError) -> UpstreamError {
    let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::BAD_REQUEST);
    let body = switchyard_translate::client_error(client, status.as_u16(), &error.to_string());
    UpstreamError::refused(status, Bytes::from(body))
}

/// An upstream error answer in the `client`'s shape: the status, the upstream's message and
/// the other headers (`Retry-After`, pass-through) kept.
fn client_shaped(mut error: UpstreamError, client: Format) -> UpstreamError {
    let status = error.upstream_status().unwrap_or(502);
    if let Some(answer) = &mut error.answer {
        let message = switchyard_translate::upstream_message(&answer.body);
        answer.body = Bytes::from(switchyard_translate::client_error(client, status, &message));
        answer.headers.remove(header::CONTENT_LENGTH);
        answer.headers.remove(header::CONTENT_ENCODING);
        answer.headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
    }
    error
}

/// Reads a whole answer body, at most [`MAX_ANSWER`] bytes, each chunk within `idle`.
async fn read_whole(mut rest: ChunkStream, idle: Duration) -> Result<Bytes, UpstreamError> {
    let mut body = BytesMut::new();
    loop {
        match tokio::time::timeout(idle, rest.next()).await {
            Err(_) => {
                return Err(UpstreamError::stream(
                    format!("no answer data within {} ms", idle.as_millis()),
                    None,
                ));
            }
            Ok(None) => return Ok(body.freeze()),
            Ok(Some(Err(e))) => return Err(UpstreamError::stream("", Some(e))),
            Ok(Some(Ok(chunk))) => {
                if body.len() + chunk.len() > MAX_ANSWER {
                    return Err(UpstreamError::stream(
                        format!("upstream answer larger than {} MiB", MAX_ANSWER >> 20),
                        None,
                    ));
                }
                body.extend_from_slice(&chunk);
            }
        }
    }
}

/// The upstream's headers for a translated body of `content_type`: the body's own headers
/// (type, length, encoding) are the translation's, the rest are kept (for
/// `passthrough-headers`).
fn translated_headers(mut headers: HeaderMap, content_type: &'static str) -> HeaderMap {
    headers.remove(header::CONTENT_LENGTH);
    headers.remove(header::CONTENT_ENCODING);
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers
}

/// A whole JSON answer, with the upstream's other headers.
fn json_answer(upstream_headers: HeaderMap, body: Bytes) -> Answer {
    let headers = translated_headers(upstream_headers, "application/json");
    Answer {
        status: StatusCode::OK,
        headers,
        first: None,
        rest: Box::pin(futures_util::stream::once(async move { Ok(body) })),
    }
}

/// A streamed answer translated chunk by chunk. The first client payload is produced before
/// the answer counts as a success (an upstream that opens and then fails, or whose first events
/// do not translate, fails the attempt and the next credential is tried).
async fn stream_answer(
    answer: Answer,
    exchange: &Exchange,
    max_event: usize,
    idle: Duration,
    gemini_sse: bool,
) -> Result<Answer, UpstreamError> {
    let mut translator = exchange.stream(max_event);
    let mut rest = answer.rest;
    let mut first = Vec::new();
    let untranslatable = |e: TranslateError| {
        UpstreamError::stream(format!("cannot translate the stream: {e}"), None)
    };
    if let Some(chunk) = &answer.first {
        translator.push(chunk, &mut first).map_err(untranslatable)?;
    }
    let mut finished = false;
    while first.is_empty() && !finished {
        match tokio::time::timeout(idle, rest.next()).await {
            Err(_) => {
                return Err(UpstreamError::stream(
                    format!("no stream data within {} ms", idle.as_millis()),
                    None,
                ));
            }
            Ok(None) => {
                translator.finish(&mut first).map_err(untranslatable)?;
                finished = true;
            }
            Ok(Some(Err(e))) => return Err(UpstreamError::stream("", Some(e))),
            Ok(Some(Ok(chunk))) => translator
                .push(&chunk, &mut first)
                .map_err(untranslatable)?,
        }
    }
    let content_type = if exchange.client() == Format::Gemini && !gemini_sse {
        "application/json"
    } else {
        "text/event-stream"
    };
    let headers = translated_headers(answer.headers, content_type);
    let rest: ChunkStream = if finished {
        Box::pin(futures_util::stream::empty())
    } else {
        Box::pin(translated_stream(rest, translator))
    };
    Ok(Answer {
        status: StatusCode::OK,
        headers,
        first: Some(Bytes::from(first)),
        rest,
    })
}

/// The rest of an upstream stream, translated: each upstream chunk gives the client bytes it
/// completes, possibly none — even an empty result goes out, so the relay's idle timer sees
/// that the upstream is alive (pings and other events that translate to nothing); the
/// upstream's end closes the client's stream; a chunk that does not translate ends it with an
/// error.
fn translated_stream(
    upstream: ChunkStream,
    translator: StreamTranslator,
) -> impl futures_util::Stream<Item = Result<Bytes, ChunkError>> + Send {
    futures_util::stream::unfold(Some((upstream, translator)), |state| async move {
        let (mut upstream, mut translator) = state?;
        let mut out = Vec::new();
        match upstream.next().await {
            Some(Ok(chunk)) => {
                if let Err(e) = translator.push(&chunk, &mut out) {
                    return Some((Err(Box::new(e) as ChunkError), None));
                }
                let next = (!translator.ended()).then_some((upstream, translator));
                Some((Ok(Bytes::from(out)), next))
            }
            Some(Err(e)) => Some((Err(e), None)),
            None => match translator.finish(&mut out) {
                Ok(()) => Some((Ok(Bytes::from(out)), None)),
                Err(e) => Some((Err(Box::new(e) as ChunkError), None)),
            },
        }
    })
}

/// A unique id for ids a translation must invent (`sy` + time + counter, hex).
fn invented_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("sy{nanos:x}{n:x}")
}
