//! One attempt: a request to one credential's upstream, classified as success or failure.

use std::time::{Duration, SystemTime};

use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use http::header::RETRY_AFTER;
use http::{HeaderMap, StatusCode};

use super::chunk_stream::ChunkStream;
use super::ctx::Ctx;
use super::endpoint::Endpoint;
use super::headers;
use super::request_body::RequestBody;
use super::stream_event::{ErrorStyle, last_event_end, last_event_end_since};
use super::upstream_client::{UpstreamClient, UpstreamResponse};
use super::upstream_error::{Phase, UpstreamError};
use crate::credential::candidate::Candidate;
use crate::credential::{ProviderKind, Secret};
use crate::metrics::LimitCounters;
use crate::runtime::Runtime;
use crate::session::SessionIds;
use crate::token::cell::NoToken;

/// The largest upstream error body kept (the rest is dropped).
const MAX_ERROR_BODY: usize = 1 << 20;

/// The longest `Retry-After` honoured: longer ones (or dates further ahead) count as this.
pub(crate) const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);

/// What the client asked for, independent of the credential that will serve it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Call<'a> {
    /// The operation.
    pub endpoint: Endpoint,
    /// The client's body.
    pub body: &'a RequestBody,
    /// The client's headers (filtered before they go upstream).
    pub client_headers: &'a HeaderMap,
    /// For Gemini streams: SSE framing (`alt=sse`).
    pub sse: bool,
    /// The client asked for a stream: success means a first payload, not just a 2xx head.
    pub stream: bool,
    /// The request's session, for affinity.
    pub session: Option<&'a SessionIds>,
    /// The model name as the client sent it (prefix and thinking suffix included).
    pub requested_model: &'a str,
    /// The thinking setting of the model name's suffix (`model(high)`), which overrides the
    /// body's.
    pub thinking: Option<switchyard_translate::ir::Thinking>,
}

/// A successful upstream answer: its head, and for streams the first payload already read.
pub(crate) struct Answer {
    /// The upstream status (2xx).
    pub status: StatusCode,
    /// The upstream headers (filter before returning them).
    pub headers: HeaderMap,
    /// For streams: the first non-empty chunk, read to decide success.
    pub first: Option<Bytes>,
    /// The remaining body.
    pub rest: ChunkStream,
}

impl std::fmt::Debug for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Answer")
            .field("status", &self.status)
            .field("first", &self.first.as_ref().map(Bytes::len))
            .finish_non_exhaustive()
    }
}

/// Sends `call` to `candidate` and waits for the response head (and, for a stream, its first
/// payload). 2xx is a success; anything else is read whole and returned as an
/// [`UpstreamError`], as is a stream that ends or fails before its first payload or opens with
/// an error event. For a credential whose upstream speaks the client's protocol (the
/// dispatch loop sends the others through `translated`).
pub(crate) async fn attempt(
    ctx: Ctx<'_>,
    candidate: &Candidate,
    call: &Call<'_>,
) -> Result<Answer, UpstreamError> {
    let credential = &candidate.credential;
    let client = call.endpoint.protocol();
    let body = match client {
        crate::protocol::Protocol::Gemini => call.body.bytes.clone(),
        _ => call.body.with_model(&candidate.upstream_model),
    };
    let body = match call.thinking {
        Some(thinking) => switchyard_translate::apply_thinking(
            client.format(),
            &candidate.upstream_model,
            &body,
            thinking,
        )
        .map(Bytes::from)
        .map_err(|e| {
            UpstreamError::refused(
                StatusCode::BAD_REQUEST,
                super::error::ProxyError::InvalidRequest(e.to_string()).body_for(None),
            )
        })?,
        None => body,
    };
    let mut outgoing = Outgoing {
        endpoint: call.endpoint,
        sse: call.sse,
        stream: call.stream,
        headers: headers::upstream_request_headers(call.client_headers, credential, false),
        body,
    };
    super::vertex::adapt(
        credential,
        outgoing.endpoint,
        &mut outgoing.headers,
        &mut outgoing.body,
    );
    send(ctx, candidate, outgoing).await
}

/// One upstream request, ready to send.
pub(crate) struct Outgoing {
    /// The upstream operation (its URL).
    pub endpoint: Endpoint,
    /// For Gemini streams: SSE framing (`alt=sse`).
    pub sse: bool,
    /// Success means a first payload, not just a 2xx head.
    pub stream: bool,
    /// The request headers.
    pub headers: HeaderMap,
    /// The request body.
    pub body: Bytes,
}

/// Sends `outgoing` to `candidate`'s upstream and classifies the answer (see [`attempt`]).
pub(crate) async fn send(
    ctx: Ctx<'_>,
    candidate: &Candidate,
    outgoing: Outgoing,
) -> Result<Answer, UpstreamError> {
    let Ctx {
        runtime,
        generation,
    } = ctx;
    let config = &generation.config;
    let credential = &candidate.credential;
    let client = runtime
        .clients
        .upstream_for(credential, config)
        .map_err(|e| UpstreamError::connect("", Some(Box::new(e))))?;
    let url = outgoing
        .endpoint
        .upstream_uri(
            credential,
            &candidate.upstream_model,
            outgoing.sse,
            outgoing.stream,
        )
        .ok_or_else(|| {
            UpstreamError::connect(format!("invalid upstream URL for {}", credential.id), None)
        })?;
    let first_byte = config.upstream_timeouts.first_byte;
    let token_cell = match &credential.secret {
        Secret::Managed(_) => Some(runtime.tokens.cell(&credential.id).ok_or_else(|| {
            UpstreamError::token_unavailable(format!("{} has no token cell", credential.id))
        })?),
        _ => None,
    };
    let token = match &token_cell {
        Some(cell) => Some(
            cell.bearer(runtime.clock.now(), first_byte)
                .await
                .map_err(|NoToken(why)| UpstreamError::token_unavailable(why))?,
        ),
        None => None,
    };
    let (endpoint, sse, stream) = (outgoing.endpoint, outgoing.sse, outgoing.stream);
    let mut headers = outgoing.headers;
    if let Some(token) = &token {
        headers.insert(http::header::AUTHORIZATION, token.header.clone());
    }
    // Kept for the one retry a refused token gets (token credentials only).
    let again = token
        .is_some()
        .then(|| (url.clone(), headers.clone(), outgoing.body.clone()));
    let mut response = post(&client, &url, headers, outgoing.body, first_byte).await?;
    if response.status == StatusCode::UNAUTHORIZED
        && let (Some(cell), Some(used), Some((url, mut headers, body))) =
            (&token_cell, &token, again)
    {
        // The token was refused: renewed once, the request tried once more on this credential.
        let fresh = cell
            .rejected(used, first_byte)
            .await
            .map_err(|NoToken(why)| UpstreamError::token_unavailable(why))?;
        tracing::debug!(credential = %credential.id, "upstream refused the token: renewed, retrying once");
        headers.insert(http::header::AUTHORIZATION, fresh.header.clone());
        response = post(&client, &url, headers, body, first_byte).await?;
    }
    let status = response.status;
    if !status.is_success() {
        return Err(failed_response(response, ctx, credential.provider).await);
    }
    let UpstreamResponse {
        headers,
        body: mut rest,
        ..
    } = response;
    let first = if stream {
        let sse = ErrorStyle::of(endpoint, sse).is_sse();
        let provider = credential.provider;
        Some(first_payload(&mut rest, ctx, &headers, sse, provider).await?)
    } else {
        None
    };
    Ok(Answer {
        status,
        headers,
        first,
        rest,
    })
}

/// POSTs `body` with `headers` to `url` through `client`, waiting at most `first_byte` for the
/// response head.
async fn post(
    client: &UpstreamClient,
    url: &http::Uri,
    headers: HeaderMap,
    body: Bytes,
    first_byte: Duration,
) -> Result<UpstreamResponse, UpstreamError> {
    match tokio::time::timeout(first_byte, client.post(url, headers, body)).await {
        Err(_) => Err(UpstreamError::timeout(
            Phase::Head,
            format!("no response within {} ms", first_byte.as_millis()),
            None,
        )),
        Ok(answer) => answer,
    }
}

/// Reads the first payload of a stream (the bootstrap phase): the first non-empty chunk, or
/// for an SSE stream everything up to the end of its first complete event. An SSE event that
/// grows past `streaming.max-event-mib` before it completes fails the attempt (the next
/// credential is tried).
async fn first_payload(
    rest: &mut ChunkStream,
    ctx: Ctx<'_>,
    headers: &HeaderMap,
    sse: bool,
    provider: ProviderKind,
) -> Result<Bytes, UpstreamError> {
    let (runtime, config) = (ctx.runtime, &ctx.generation.config);
    let metrics = &runtime.metrics;
    let idle = config.upstream_timeouts.idle;
    let max_event = config.streaming.max_event_bytes;
    // An SSE stream's first event so far, when it came in several chunks.
    let mut held = BytesMut::new();
    loop {
        let chunk = match tokio::time::timeout(idle, rest.next()).await {
            Err(_) => {
                return Err(UpstreamError::timeout(
                    Phase::FirstPayload,
                    format!("no stream data within {} ms", idle.as_millis()),
                    None,
                ));
            }
            Ok(None) if held.is_empty() => {
                return Err(UpstreamError::stream(
                    "upstream stream closed before the first payload",
                    None,
                ));
            }
            // The stream ended inside its first event: the relay forwards what there is.
            Ok(None) => return Ok(held.freeze()),
            Ok(Some(Err(e))) => return Err(UpstreamError::stream("", Some(e))),
            Ok(Some(Ok(chunk))) if chunk.is_empty() => continue,
            Ok(Some(Ok(chunk))) => chunk,
        };
        // A raw stream, or an SSE chunk that completes an event by itself, is the payload.
        let whole = !sse || (held.is_empty() && last_event_end(&chunk).is_some());
        let first = if whole {
            chunk
        } else {
            let scanned = held.len();
            held.extend_from_slice(&chunk);
            if last_event_end_since(&held, scanned).is_none() {
                if let Some(max) = max_event
                    && held.len() > max
                {
                    LimitCounters::bump(&metrics.limits.oversized_events_before_first_byte);
                    return Err(UpstreamError::stream(
                        format!(
                            "upstream event larger than streaming.max-event-mib ({} MiB) before the first payload",
                            max >> 20
                        ),
                        None,
                    ));
                }
                continue;
            }
            std::mem::take(&mut held).freeze()
        };
        return match super::stream_event::opening_error(&first) {
            None => Ok(first),
            Some((status, body)) => Err(UpstreamError::status(
                provider,
                status,
                upstream_retry_after(runtime, headers),
                json_content_type(),
                body,
            )),
        };
    }
}

fn json_content_type() -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    headers
}

/// Reads an error response and classifies it.
async fn failed_response(
    mut response: UpstreamResponse,
    ctx: Ctx<'_>,
    provider: ProviderKind,
) -> UpstreamError {
    let (runtime, config) = (ctx.runtime, &ctx.generation.config);
    let status = response.status;
    let retry_after = upstream_retry_after(runtime, &response.headers);
    let client_headers =
        headers::client_response_headers(&response.headers, config.passthrough_headers);
    let mut body = BytesMut::new();
    let idle = config.upstream_timeouts.idle;
    while body.len() < MAX_ERROR_BODY {
        match tokio::time::timeout(idle, response.body.next()).await {
            Ok(Some(Ok(chunk))) => body.extend_from_slice(&chunk),
            _ => break,
        }
    }
    body.truncate(MAX_ERROR_BODY);
    UpstreamError::status(provider, status, retry_after, client_headers, body.freeze())
}

/// A wait an upstream asked for, at most [`MAX_RETRY_AFTER`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RetryAfter {
    /// How long to wait.
    pub wait: Duration,
    /// The upstream asked for longer than [`MAX_RETRY_AFTER`].
    pub clamped: bool,
}

/// A `Retry-After` header in seconds or as an HTTP date (read against `now`), at most
/// [`MAX_RETRY_AFTER`]; `None` when absent or unreadable. Never panics, whatever the value.
pub(crate) fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<RetryAfter> {
    parse_retry_after(headers.get(RETRY_AFTER)?.to_str().ok()?, now)
}

/// A `Retry-After` value (see [`retry_after`]).
pub(crate) fn parse_retry_after(text: &str, now: SystemTime) -> Option<RetryAfter> {
    let text = text.trim();
    let wait = if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        // Any number of digits: one too large for a u64 is still "very long".
        Duration::from_secs(text.parse::<u64>().unwrap_or(u64::MAX))
    } else {
        let date = httpdate::parse_http_date(text).ok()?;
        date.duration_since(now).unwrap_or(Duration::ZERO)
    };
    Some(RetryAfter {
        wait: wait.min(MAX_RETRY_AFTER),
        clamped: wait > MAX_RETRY_AFTER,
    })
}

/// The upstream's `Retry-After`, read against the runtime's clock; a clamped value is counted.
fn upstream_retry_after(runtime: &Runtime, headers: &HeaderMap) -> Option<Duration> {
    let parsed = retry_after(headers, runtime.clock.now())?;
    if parsed.clamped {
        runtime.metrics.record_retry_after_clamped();
    }
    Some(parsed.wait)
}

#[cfg(test)]
mod tests {
    use super::*;

    use proptest::prelude::*;

    fn wait(text: &str, now: SystemTime) -> Option<Duration> {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, text.parse().unwrap());
        retry_after(&h, now).map(|r| r.wait)
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        assert_eq!(wait("17", SystemTime::now()), Some(Duration::from_secs(17)));
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let later = httpdate::fmt_http_date(now + Duration::from_secs(30));
        assert_eq!(wait(&later, now), Some(Duration::from_secs(30)));
        let earlier = httpdate::fmt_http_date(now - Duration::from_secs(30));
        assert_eq!(wait(&earlier, now), Some(Duration::ZERO));
        assert_eq!(wait("soon", now), None);
        assert_eq!(wait("-5", now), None);
        assert_eq!(wait("", now), None);
    }

    #[test]
    fn retry_after_is_clamped_to_a_day() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let day = RetryAfter {
            wait: MAX_RETRY_AFTER,
            clamped: true,
        };
        for text in [
            "18446744073709551615",
            "18446744073709551616",
            "99999999999999999999999999999999",
            "86401",
        ] {
            assert_eq!(parse_retry_after(text, now), Some(day), "{text}");
        }
        assert_eq!(
            parse_retry_after("86400", now),
            Some(RetryAfter {
                wait: MAX_RETRY_AFTER,
                clamped: false
            })
        );
        let far = httpdate::fmt_http_date(now + Duration::from_secs(400 * 86_400));
        assert_eq!(parse_retry_after(&far, now), Some(day));
        // A date read against a clock far in the past is still at most a day away.
        assert_eq!(
            parse_retry_after("Fri, 31 Dec 9999 23:59:59 GMT", SystemTime::UNIX_EPOCH),
            Some(day)
        );
    }

    /// Checks one arbitrary `Retry-After` value: never a panic, never more than a day.
    fn check_retry_after(text: &str, now_secs: u64) -> Result<(), TestCaseError> {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(now_secs);
        if let Some(parsed) = parse_retry_after(text, now) {
            prop_assert!(parsed.wait <= MAX_RETRY_AFTER);
            prop_assert!(!parsed.clamped || parsed.wait == MAX_RETRY_AFTER);
        }
        Ok(())
    }

    /// Arbitrary strings, numbers of any size and HTTP dates of any year the format allows,
    /// against clocks from 1970 to 2200.
    fn retry_after_values() -> impl Strategy<Value = (String, u64)> {
        let now = 0u64..7_258_118_400;
        let value = prop_oneof![
            any::<String>(),
            "[ \t]*[0-9]{1,40}[ \t]*",
            any::<u64>().prop_map(|n| n.to_string()),
            any::<u128>().prop_map(|n| n.to_string()),
            (0u64..253_402_300_799).prop_map(|secs| {
                httpdate::fmt_http_date(SystemTime::UNIX_EPOCH + Duration::from_secs(secs))
            }),
            "(Mon|Tue|Sun), [0-9]{2} (Jan|Feb|Dec) [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} GMT",
        ];
        (value, now)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn retry_after_never_panics_nor_exceeds_a_day((text, now) in retry_after_values()) {
            check_retry_after(&text, now)?;
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1_000_000))]

        /// The long-running variant: `cargo test -p switchyard --lib -- --ignored retry_after`.
        #[test]
        #[ignore = "long-running; the fuzzing stand-in"]
        fn retry_after_never_panics_nor_exceeds_a_day_long((text, now) in retry_after_values()) {
            check_retry_after(&text, now)?;
        }
    }
}
