//! Server-sent events as the relay needs them: where an event ends, whether a stream opens
//! with an error, and the terminal error event of each protocol.

use bytes::Bytes;
use http::StatusCode;
use memchr::memmem;
use serde_json::{Value, json};

use super::endpoint::Endpoint;
use super::error::envelope;

/// How a stream reports an error after its headers are sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ErrorStyle {
    /// OpenAI chat and Responses: `data: {"error":{…}}`.
    OpenAi,
    /// Anthropic: `event: error` with `{"type":"error","error":{…}}`.
    Claude,
    /// Gemini with `alt=sse`: `event: error` with the Gemini error JSON.
    GeminiSse,
    /// Gemini without SSE framing: the bare error JSON.
    GeminiRaw,
}

impl ErrorStyle {
    /// The style of `endpoint`; `sse` tells a Gemini stream's framing.
    pub(crate) fn of(endpoint: Endpoint, sse: bool) -> Self {
        match endpoint {
            Endpoint::ChatCompletions | Endpoint::Responses => ErrorStyle::OpenAi,
            Endpoint::Messages | Endpoint::CountTokens => ErrorStyle::Claude,
            _ if sse => ErrorStyle::GeminiSse,
            _ => ErrorStyle::GeminiRaw,
        }
    }

    /// Whether the stream is made of SSE events (and may carry keep-alive comments).
    pub(crate) fn is_sse(self) -> bool {
        self != ErrorStyle::GeminiRaw
    }
}

/// The end of the last complete event in `buf`: just past its blank line (`\n\n` or
/// `\r\n\r\n`).
pub(crate) fn last_event_end(buf: &[u8]) -> Option<usize> {
    let lf = memmem::rfind(buf, b"\n\n").map(|at| at + 2);
    let crlf = memmem::rfind(buf, b"\r\n\r\n").map(|at| at + 4);
    lf.max(crlf)
}

/// The end of the last complete event in `buf`, whose first `scanned` bytes are known to hold
/// no event end: only `buf[scanned - 3..]` is searched (the 3 bytes before catch a `\n\n` or
/// `\r\n\r\n` split across chunks). Equals [`last_event_end`] of the whole buffer.
pub(crate) fn last_event_end_since(buf: &[u8], scanned: usize) -> Option<usize> {
    let from = scanned.saturating_sub(3).min(buf.len());
    last_event_end(&buf[from..]).map(|end| from + end)
}

/// The terminal error event for `message` in `style`.
pub(crate) fn terminal_error(style: ErrorStyle, message: &str) -> Bytes {
    match style {
        ErrorStyle::OpenAi => {
            let body = envelope(StatusCode::BAD_GATEWAY, message);
            let mut out = Vec::with_capacity(body.len() + 8);
            out.extend_from_slice(b"data: ");
            out.extend_from_slice(&body);
            out.extend_from_slice(b"\n\n");
            Bytes::from(out)
        }
        ErrorStyle::Claude => {
            let data =
                json!({ "type": "error", "error": { "type": "api_error", "message": message } });
            Bytes::from(format!("event: error\ndata: {data}\n\n"))
        }
        ErrorStyle::GeminiSse => {
            Bytes::from(format!("event: error\ndata: {}\n\n", gemini_error(message)))
        }
        ErrorStyle::GeminiRaw => Bytes::from(gemini_error(message).to_string()),
    }
}

fn gemini_error(message: &str) -> Value {
    json!({ "error": { "code": 502, "message": message, "status": "UNAVAILABLE" } })
}

/// If the stream's first event is an error, its HTTP status and JSON body.
pub(crate) fn opening_error(chunk: &[u8]) -> Option<(StatusCode, Bytes)> {
    let end = memmem::find(chunk, b"\n\n").unwrap_or(chunk.len());
    let event = std::str::from_utf8(&chunk[..end]).ok()?;
    let mut named_error = false;
    let mut data = String::new();
    for line in event.lines() {
        if let Some(name) = line.strip_prefix("event:") {
            named_error = name.trim() == "error";
        } else if let Some(value) = line.strip_prefix("data:") {
            data.push_str(value.trim_start());
        }
    }
    let value: Value = serde_json::from_str(&data).ok()?;
    let error = value.get("error");
    let is_error = named_error
        || error.is_some_and(Value::is_object)
        || value.get("type").and_then(Value::as_str) == Some("error");
    if !is_error {
        return None;
    }
    Some((error_status(&value), Bytes::from(data)))
}

/// The HTTP status an in-stream error stands for.
fn error_status(value: &Value) -> StatusCode {
    let error = value.get("error").unwrap_or(value);
    if let Some(code) = error.get("code").and_then(Value::as_u64)
        && let Ok(status) = StatusCode::from_u16(code as u16)
        && status.as_u16() >= 400
    {
        return status;
    }
    let kind = ["type", "code", "status"]
        .iter()
        .filter_map(|k| error.get(*k).and_then(Value::as_str))
        .find(|k| *k != "error")
        .unwrap_or("");
    let status = match kind {
        "invalid_request_error" | "INVALID_ARGUMENT" => 400,
        "authentication_error" | "invalid_api_key" | "UNAUTHENTICATED" => 401,
        "permission_error" | "PERMISSION_DENIED" => 403,
        "not_found_error" | "NOT_FOUND" => 404,
        "request_too_large" => 413,
        "rate_limit_error"
        | "rate_limit_exceeded"
        | "insufficient_quota"
        | "RESOURCE_EXHAUSTED" => 429,
        "api_error" | "server_error" | "INTERNAL" => 500,
        "overloaded_error" => 529,
        "UNAVAILABLE" => 503,
        _ => 502,
    };
    StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_blank_line_split_across_chunks_is_found_in_the_new_bytes() {
        // `\r\n\r\n` with three of its bytes already held.
        assert_eq!(last_event_end_since(b"data: a\r\n\r\n", 10), Some(11));
        assert_eq!(last_event_end_since(b"data: a\n\n", 8), Some(9));
        // Nothing new: nothing found, and no panic on short buffers.
        assert_eq!(last_event_end_since(b"ab", 2), None);
        assert_eq!(last_event_end_since(b"", 0), None);
    }

    #[test]
    fn finds_event_boundaries() {
        assert_eq!(last_event_end(b"data: a\n\ndata: b"), Some(9));
        assert_eq!(last_event_end(b"data: a\n\ndata: b\n\n"), Some(18));
        assert_eq!(last_event_end(b"data: a\r\n\r\n"), Some(11));
        assert_eq!(last_event_end(b"data: partial"), None);
    }

    #[test]
    fn recognises_opening_errors_per_protocol() {
        let claude = b"event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"busy\"}}\n\n";
        assert_eq!(opening_error(claude).unwrap().0.as_u16(), 529);
        let openai =
            b"data: {\"error\":{\"message\":\"slow down\",\"type\":\"rate_limit_error\"}}\n\n";
        let (status, body) = opening_error(openai).unwrap();
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        assert!(body.starts_with(b"{\"error\""));
        let gemini =
            b"data: {\"error\":{\"code\":503,\"message\":\"x\",\"status\":\"UNAVAILABLE\"}}\n\n";
        assert_eq!(opening_error(gemini).unwrap().0.as_u16(), 503);
        let fine = b"event: message_start\ndata: {\"type\":\"message_start\"}\n\n";
        assert!(opening_error(fine).is_none());
        assert!(opening_error(b"data: {\"choices\":[]}\n\n").is_none());
        assert!(opening_error(b"[{\"candidates\":[]}").is_none());
    }

    #[test]
    fn terminal_errors_per_protocol() {
        let openai = terminal_error(ErrorStyle::OpenAi, "upstream idle timeout");
        assert!(openai.starts_with(b"data: {\"error\":{\"message\":\"upstream idle timeout\""));
        assert!(openai.ends_with(b"\n\n"));
        let claude = terminal_error(ErrorStyle::Claude, "boom");
        assert!(claude.starts_with(b"event: error\ndata: {"));
        let raw = terminal_error(ErrorStyle::GeminiRaw, "boom");
        let value: Value = serde_json::from_slice(&raw).unwrap();
        assert_eq!(value["error"]["code"], 502);
    }
}
