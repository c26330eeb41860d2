//! Errors in each client protocol's shape, keeping the upstream's status and message.
//!
//! | client | body |
//! |---|---|
//! | OpenAI chat, Responses | `{"error":{"message","type","code"}}` |
//! | Anthropic | `{"type":"error","error":{"type","message"}}` |
//! | Gemini | `{"error":{"code","message","status"}}` |

use serde_json::{Value, json};

use crate::Format;

/// The longest upstream message kept in a translated error.
const MAX_MESSAGE: usize = 4096;

/// The error body a `client` gets for `status` with `message`.
pub fn client_error(client: Format, status: u16, message: &str) -> Vec<u8> {
    let body = match client {
        Format::Chat | Format::Responses => {
            let (kind, code) = openai_type(status);
            json!({"error": {"message": message, "type": kind, "code": code}})
        }
        Format::Claude => {
            json!({"type": "error", "error": {"type": claude_type(status), "message": message}})
        }
        Format::Gemini => {
            json!({"error": {"code": status, "message": message, "status": gemini_status(status)}})
        }
    };
    serde_json::to_vec(&body).unwrap_or_default()
}

/// The message of an upstream error body in any of the four shapes (`error.message`,
/// `error` as a string, top-level `message`), else the body's text; at most 4 KiB.
pub fn upstream_message(body: &[u8]) -> String {
    let from_json = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|value| {
            let value = match value {
                // Gemini sometimes answers a one-element array.
                Value::Array(mut items) if !items.is_empty() => items.swap_remove(0),
                other => other,
            };
            match value.get("error") {
                Some(Value::String(text)) => Some(text.clone()),
                Some(error) => error
                    .get("message")
                    .and_then(Value::as_str)
                    .or_else(|| error.get("code").and_then(Value::as_str))
                    .map(str::to_owned),
                None => value
                    .get("message")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            }
        });
    let mut text = from_json.unwrap_or_else(|| String::from_utf8_lossy(body).trim().to_owned());
    if text.len() > MAX_MESSAGE {
        let mut at = MAX_MESSAGE;
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        text.truncate(at);
    }
    if text.is_empty() {
        text = "the upstream answered with an error".to_owned();
    }
    text
}

/// OpenAI's `type` and `code` for a status.
fn openai_type(status: u16) -> (&'static str, Value) {
    match status {
        401 => ("authentication_error", json!("invalid_api_key")),
        403 => ("permission_error", json!("insufficient_quota")),
        404 => ("invalid_request_error", json!("model_not_found")),
        408 => ("invalid_request_error", json!("request_timeout")),
        429 => ("rate_limit_error", json!("rate_limit_exceeded")),
        s if s >= 500 => ("server_error", json!("internal_server_error")),
        _ => ("invalid_request_error", Value::Null),
    }
}

/// Anthropic's error `type` for a status.
fn claude_type(status: u16) -> &'static str {
    match status {
        401 => "authentication_error",
        402 => "billing_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        504 => "timeout_error",
        529 => "overloaded_error",
        s if s >= 500 => "api_error",
        _ => "invalid_request_error",
    }
}

/// Google's canonical status name for an HTTP status.
fn gemini_status(status: u16) -> &'static str {
    match status {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        408 | 504 => "DEADLINE_EXCEEDED",
        409 => "ABORTED",
        429 => "RESOURCE_EXHAUSTED",
        499 => "CANCELLED",
        501 => "UNIMPLEMENTED",
        503 | 529 => "UNAVAILABLE",
        s if s >= 500 => "INTERNAL",
        _ => "FAILED_PRECONDITION",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(bytes: Vec<u8>) -> Value {
        serde_json::from_slice(&bytes).unwrap()
    }

    #[test]
    fn each_client_gets_its_shape() {
        let chat = parse(client_error(Format::Chat, 429, "slow down"));
        assert_eq!(chat["error"]["type"], "rate_limit_error");
        assert_eq!(chat["error"]["code"], "rate_limit_exceeded");
        let claude = parse(client_error(Format::Claude, 529, "busy"));
        assert_eq!(claude["type"], "error");
        assert_eq!(claude["error"]["type"], "overloaded_error");
        let gemini = parse(client_error(Format::Gemini, 404, "no such model"));
        assert_eq!(gemini["error"]["code"], 404);
        assert_eq!(gemini["error"]["status"], "NOT_FOUND");
    }

    #[test]
    fn upstream_messages_in_every_shape() {
        assert_eq!(
            upstream_message(br#"{"type":"error","error":{"type":"x","message":"claude says"}}"#),
            "claude says"
        );
        assert_eq!(
            upstream_message(
                br#"{"error":{"code":429,"message":"gemini says","status":"RESOURCE_EXHAUSTED"}}"#
            ),
            "gemini says"
        );
        assert_eq!(
            upstream_message(br#"[{"error":{"message":"array"}}]"#),
            "array"
        );
        assert_eq!(upstream_message(br#"{"error":"plain"}"#), "plain");
        assert_eq!(upstream_message(b"Bad Gateway"), "Bad Gateway");
    }
}
