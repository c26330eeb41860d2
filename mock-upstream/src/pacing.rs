//! How a streamed answer is paced: how many content chunks, and the pause between them.

use std::time::Duration;

use http::HeaderMap;
use serde_json::Value;

use crate::{CHUNK_INTERVAL_MS_HEADER, CHUNKS_HEADER};

/// The pacing of a streamed answer. The first chunk goes out at once; chunk `i` is due
/// `i × interval` after it, and the closing events follow the last chunk immediately.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Pacing {
    /// Content chunks in a complete answer (at least one).
    pub(crate) chunks: u32,
    /// The pause between consecutive chunks.
    pub(crate) interval: Duration,
}

impl Default for Pacing {
    fn default() -> Self {
        Pacing {
            chunks: 5,
            interval: Duration::ZERO,
        }
    }
}

impl Pacing {
    /// This pacing, overridden by the request's [`CHUNKS_HEADER`] / [`CHUNK_INTERVAL_MS_HEADER`]
    /// headers, or else by its body's `mock.chunks` / `mock.chunk_interval_ms` fields.
    pub(crate) fn for_request(self, headers: &HeaderMap, body: &Value) -> Self {
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|value| value.to_str().ok())
                .and_then(|value| value.trim().parse::<u64>().ok())
        };
        let body_field = |name: &str| body.get("mock").and_then(|mock| mock.get(name))?.as_u64();
        let chunks = header(CHUNKS_HEADER).or_else(|| body_field("chunks"));
        let interval_ms =
            header(CHUNK_INTERVAL_MS_HEADER).or_else(|| body_field("chunk_interval_ms"));
        Pacing {
            chunks: chunks.map_or(self.chunks, |n| u32::try_from(n).unwrap_or(u32::MAX)),
            interval: interval_ms.map_or(self.interval, Duration::from_millis),
        }
        .normalized()
    }

    /// At least one chunk.
    pub(crate) fn normalized(self) -> Self {
        Pacing {
            chunks: self.chunks.max(1),
            ..self
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;
    use serde_json::json;

    #[test]
    fn header_beats_body_beats_default() {
        let default = Pacing::default();
        let body = json!({"mock": {"chunks": 7, "chunk_interval_ms": 20}});
        let mut headers = HeaderMap::new();
        assert_eq!(
            default.for_request(&headers, &body),
            Pacing {
                chunks: 7,
                interval: Duration::from_millis(20)
            }
        );
        headers.insert(CHUNKS_HEADER, HeaderValue::from_static("2"));
        assert_eq!(default.for_request(&headers, &body).chunks, 2);
        headers.insert(CHUNKS_HEADER, HeaderValue::from_static("0"));
        assert_eq!(default.for_request(&headers, &json!({})).chunks, 1);
        assert_eq!(default.for_request(&HeaderMap::new(), &json!({})), default);
    }
}
