//! The Anthropic Messages codec (`/v1/messages`, `/v1/messages/count_tokens`).
//!
//! - [`decode_request`]: a Claude client's body to the hub. Server tools, anthropic-defined
//!   tools without `input_schema`, server-tool content blocks, `mcp_servers` and `container`
//!   are recorded in `same_protocol_only` (refused toward other protocols).
//! - [`encode_request`]: the hub to a Claude upstream. `max_tokens` defaults to 32,000 (8,192
//!   for Claude 3.5, 4,096 for older Claude 3 models); tool schemas are normalised (spec §3.4),
//!   tool ids sanitised, same-role turns merged, a conversation that starts with the assistant
//!   gets a `"."` user turn in front; thinking is written as adaptive (Claude 4.6 and later)
//!   or as a budget below `max_tokens` (at least 1,024, else no thinking), dropped with a
//!   forced tool choice or when the last assistant turn calls tools without a leading
//!   thinking block; temperature and `top_k` are dropped while thinking, `top_p` below
//!   0.95 too, and `top_p` is dropped next to `temperature`; temperature is clamped to 0..=1. Only Claude signatures are
//!   replayed. JSON response formats and `n > 1` are refused.
//! - [`decode_response`] / [`encode_response`]: whole answers (usage converted: Anthropic's
//!   `input_tokens` excludes the cache).
//! - [`StreamDecoder`] / [`StreamEncoder`]: event streams.
//! - [`encode_count_request`]: the `count_tokens` body.

pub(crate) mod request;
mod response;
mod schema;
mod stream_decode;
mod stream_encode;
mod wire;

pub(crate) use request::{decode_request, encode_count_request, encode_request};
pub(crate) use response::{decode_response, encode_response};
pub(crate) use stream_decode::StreamDecoder;
pub(crate) use stream_encode::StreamEncoder;

/// A `tool_use.input` as hub arguments: JSON text of an object (`{}` for null or a
/// non-object; a string holding an object is unwrapped).
fn input_arguments(input: serde_json::Value) -> String {
    use serde_json::Value;
    match input {
        Value::Object(_) => input.to_string(),
        Value::String(text)
            if serde_json::from_str::<Value>(&text).is_ok_and(|v| v.is_object()) =>
        {
            text
        }
        _ => "{}".to_owned(),
    }
}

#[cfg(test)]
mod tests;
