//! `x-request-id`: the client's when it sent a sane one, else switchyard's own; returned in the
//! response and attached to every log line of the request (the span's `request_id`). A request
//! the proxy's meter does not cover gets its summary line here ([`super::request_log`]).

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use http::HeaderValue;
use tracing::Instrument;

use super::request_log::{self, LoggedByMeter};

/// The header name.
pub(super) const HEADER: &str = "x-request-id";

/// The id of the request being served, stored in the request's extensions.
#[derive(Debug, Clone)]
pub(crate) struct RequestId(pub HeaderValue);

impl RequestId {
    /// The id as text (ids are checked to be `[A-Za-z0-9._:-]` or generated as hex).
    pub(crate) fn as_str(&self) -> &str {
        self.0.to_str().unwrap_or_default()
    }
}

/// Assigns the id, runs the request inside a span that carries it, and echoes it back.
pub(super) async fn assign(mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = request
        .headers()
        .get(HEADER)
        .filter(|v| is_sane(v.as_bytes()))
        .cloned()
        .unwrap_or_else(generate);
    request.extensions_mut().insert(RequestId(id.clone()));
    let span = tracing::info_span!(
        "request",
        request_id = %String::from_utf8_lossy(id.as_bytes()),
        method = %request.method(),
        path = %request.uri().path()
    );
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let mut response = next.run(request).instrument(span.clone()).await;
    if response.extensions().get::<LoggedByMeter>().is_none() {
        span.in_scope(|| {
            request_log::other_request(
                method.as_str(),
                &path,
                response.status().as_u16(),
                started.elapsed(),
            );
        });
    }
    response.headers_mut().insert(HEADER, id);
    response
}

/// 1..=128 characters of `[A-Za-z0-9._:-]`.
fn is_sane(id: &[u8]) -> bool {
    (1..=128).contains(&id.len())
        && id
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

/// A new id: a per-process random prefix and a counter, 24 hex digits.
fn generate() -> HeaderValue {
    static PREFIX: OnceLock<u32> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let prefix = *PREFIX.get_or_init(|| {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or_default();
        nanos ^ std::process::id().rotate_left(16)
    });
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    HeaderValue::from_str(&format!("{prefix:08x}{n:016x}")).expect("hex is a valid header")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanity() {
        assert!(is_sane(b"abc-123_x.y:z"));
        assert!(!is_sane(b""));
        assert!(!is_sane(b"has space"));
        assert!(!is_sane(&[b'a'; 129]));
        assert_ne!(generate(), generate());
    }
}
