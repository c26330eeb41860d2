//! Whole answers: a Claude upstream's message to the hub, and the hub to a Claude client's.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Value, json};

use super::wire;
use crate::ir::{Finish, Part, Response, Signature, SignatureFamily, Usage};
use crate::{ClientView, TranslateError};

/// The hub's reason for Claude's `stop_reason` (and `stop_sequence`).
pub(super) fn finish_from(stop_reason: Option<&str>, stop_sequence: Option<String>) -> Finish {
    match stop_reason {
        None | Some("end_turn") => Finish::Stop,
        Some("max_tokens") | Some("model_context_window_exceeded") => Finish::Length,
        Some("stop_sequence") => Finish::StopSequence(stop_sequence),
        Some("tool_use") => Finish::ToolCalls,
        Some("refusal") => Finish::ContentFilter,
        Some(other) => Finish::Other(other.to_owned()),
    }
}

/// Claude's `stop_reason` and `stop_sequence` for the hub's reason. `tool_use` only when the
/// answer has a tool call; a natural stop with tool calls is `tool_use`.
pub(super) fn stop_reason(finish: &Finish, has_tool_use: bool) -> (&'static str, Option<String>) {
    match finish {
        Finish::ToolCalls | Finish::Stop if has_tool_use => ("tool_use", None),
        Finish::Stop | Finish::ToolCalls => ("end_turn", None),
        Finish::StopSequence(sequence) => ("stop_sequence", sequence.clone()),
        Finish::Length => ("max_tokens", None),
        Finish::ContentFilter => ("refusal", None),
        Finish::Other(reason) => match reason.as_str() {
            "pause_turn" => ("pause_turn", None),
            "model_context_window_exceeded" => ("model_context_window_exceeded", None),
            _ => ("end_turn", None),
        },
    }
}

/// Claude's usage object for the hub's counts (input without cache reads and writes).
pub(super) fn usage_json(usage: &Usage) -> Value {
    json!({
        "input_tokens": usage.uncached_input(),
        "output_tokens": usage.output,
        "cache_creation_input_tokens": usage.cache_write,
        "cache_read_input_tokens": usage.cached,
    })
}

/// A content block of an answer, as the hub holds it (`None` for server-tool blocks).
pub(super) fn decode_block(value: &Value) -> Result<Option<Part>, TranslateError> {
    let kind = value.get("type").and_then(Value::as_str).unwrap_or("");
    if !matches!(kind, "text" | "thinking" | "redacted_thinking" | "tool_use") {
        return Ok(None);
    }
    let block = wire::Block::deserialize(value)
        .map_err(|e| TranslateError::Upstream(format!("content block {kind}: {e}")))?;
    Ok(answer_part(block))
}

/// A content block of an answer read flat: `Some(None)` for blocks an answer does not carry,
/// `None` when a field its type needs is missing (read it through a value then).
fn answer_flat(flat: wire::FlatBlock<'_>) -> Option<Option<Part>> {
    let block = match &*flat.kind {
        "text" => wire::Block::Text {
            text: flat.text?,
            cache_control: None,
        },
        // A null `thinking` is refused by the value path: only a string is read here.
        "thinking" => wire::Block::Thinking {
            thinking: flat.thinking?,
            signature: flat.signature,
        },
        "redacted_thinking" => wire::Block::RedactedThinking { data: flat.data? },
        "tool_use" => wire::Block::ToolUse {
            id: flat.id?,
            name: flat.name?,
            input: flat.input.unwrap_or(Value::Null),
        },
        _ => return Some(None),
    };
    Some(answer_part(block))
}

/// A content block of an answer read into its wire type, as the hub holds it (`None` for
/// blocks an answer does not carry).
fn answer_part(block: wire::Block) -> Option<Part> {
    Some(match block {
        wire::Block::Text { text, .. } => Part::text(text),
        wire::Block::Thinking {
            thinking,
            signature,
        } => Part::Thinking {
            text: thinking,
            signature: signature.filter(|s| !s.is_empty()).map(|value| Signature {
                family: SignatureFamily::Claude,
                value,
            }),
        },
        wire::Block::RedactedThinking { data } => Part::RedactedThinking {
            data,
            family: SignatureFamily::Claude,
        },
        wire::Block::ToolUse { id, name, input } => Part::ToolCall {
            id,
            name,
            arguments: super::input_arguments(input),
            signature: None,
        },
        _ => return None,
    })
}

/// Decodes a Claude upstream's whole answer: read straight from the body, or, when that
/// fails (an error body, a malformed answer), through a value for the exact message.
pub(crate) fn decode_response(body: &[u8]) -> Result<Response, TranslateError> {
    match serde_json::from_slice::<wire::RawResponse<'_>>(body) {
        Ok(wire) if wire.kind.as_deref() != Some("error") => {
            let mut content = Vec::with_capacity(wire.content.len());
            for raw in wire.content {
                let flat = serde_json::from_str::<wire::FlatBlock<'_>>(raw.get()).ok();
                let part = match flat.and_then(answer_flat) {
                    Some(part) => part,
                    None => {
                        let value: Value = serde_json::from_str(raw.get()).unwrap_or(Value::Null);
                        decode_block(&value)?
                    }
                };
                content.extend(part);
            }
            Ok(Response {
                id: wire.id,
                model: wire.model,
                created: None,
                content,
                finish: finish_from(wire.stop_reason.as_deref(), wire.stop_sequence),
                usage: wire.usage.map(|u| u.to_ir()).unwrap_or_default(),
            })
        }
        _ => decode_response_value(body),
    }
}

/// [`decode_response`] through a value.
fn decode_response_value(body: &[u8]) -> Result<Response, TranslateError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| TranslateError::Upstream(format!("Anthropic answer is not JSON: {e}")))?;
    if value.get("type").and_then(Value::as_str) == Some("error") {
        return Err(TranslateError::Upstream(crate::upstream_message(body)));
    }
    let wire = wire::Response::deserialize(&value)
        .map_err(|e| TranslateError::Upstream(format!("Anthropic answer: {e}")))?;
    let mut content = Vec::with_capacity(wire.content.len());
    for block in &wire.content {
        if let Some(part) = decode_block(block)? {
            content.push(part);
        }
    }
    Ok(Response {
        id: wire.id,
        model: wire.model,
        created: None,
        content,
        finish: finish_from(wire.stop_reason.as_deref(), wire.stop_sequence),
        usage: wire.usage.map(|u| u.to_ir()).unwrap_or_default(),
    })
}

/// The `msg_…` id of an answer: the upstream's, else one made from the client view.
pub(super) fn message_id(id: &str, client: &ClientView) -> String {
    if id.is_empty() {
        format!("msg_{}", client.id)
    } else {
        id.to_owned()
    }
}

/// Claude's usage object, written from the hub's counts.
#[derive(Serialize)]
struct OutUsage {
    input_tokens: u64,
    output_tokens: u64,
    cache_creation_input_tokens: u64,
    cache_read_input_tokens: u64,
}

/// A whole answer as a Claude client reads it, borrowing from the hub's.
#[derive(Serialize)]
struct OutResponse<'a> {
    id: String,
    #[serde(rename = "type")]
    kind: &'static str,
    role: &'static str,
    model: &'a str,
    content: Vec<OutBlock<'a>>,
    stop_reason: &'static str,
    stop_sequence: Option<String>,
    usage: OutUsage,
}

/// A content block of an answer.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum OutBlock<'a> {
    Text {
        text: &'a str,
    },
    Thinking {
        thinking: &'a str,
        signature: Cow<'a, str>,
    },
    RedactedThinking {
        data: Cow<'a, str>,
    },
    ToolUse {
        id: Cow<'a, str>,
        name: &'a str,
        #[serde(serialize_with = "super::request::write_input")]
        input: Option<&'a RawValue>,
    },
}

/// A signature or opaque payload as a Claude client gets it (bare when Claude's own).
fn written<'a>(family: SignatureFamily, value: &'a str) -> Cow<'a, str> {
    if family == SignatureFamily::Claude {
        Cow::Borrowed(value)
    } else {
        Cow::Owned(
            Signature {
                family,
                value: value.to_owned(),
            }
            .write(SignatureFamily::Claude),
        )
    }
}

/// Encodes a whole answer for a Claude client.
pub(crate) fn encode_response(response: &Response, client: &ClientView) -> Vec<u8> {
    let mut content = Vec::with_capacity(response.content.len());
    let mut has_tool_use = false;
    let mut size = 512;
    for (i, part) in response.content.iter().enumerate() {
        match part {
            Part::Text { text, .. } => {
                size += text.len() + 32;
                content.push(OutBlock::Text { text });
            }
            Part::Thinking { text, signature } => {
                size += text.len() + 64;
                content.push(OutBlock::Thinking {
                    thinking: text,
                    signature: signature
                        .as_ref()
                        .map(|s| written(s.family, &s.value))
                        .unwrap_or_default(),
                });
            }
            Part::RedactedThinking { data, family } => {
                size += data.len() + 64;
                content.push(OutBlock::RedactedThinking {
                    data: written(*family, data),
                });
            }
            Part::ToolCall {
                id,
                name,
                arguments,
                ..
            } => {
                has_tool_use = true;
                size += arguments.len() + 128;
                let id = if id.is_empty() {
                    Cow::Owned(format!("toolu_{}_{i}", client.id))
                } else {
                    // Claude takes `[A-Za-z0-9_-]` only.
                    super::request::sanitize_id_cow(id)
                };
                content.push(OutBlock::ToolUse {
                    id,
                    name,
                    input: super::request::input_object(arguments),
                });
            }
            Part::Image(_) | Part::Document { .. } | Part::ToolResult { .. } => {}
        }
    }
    let (reason, sequence) = stop_reason(&response.finish, has_tool_use);
    let usage = &response.usage;
    let body = OutResponse {
        id: message_id(&response.id, client),
        kind: "message",
        role: "assistant",
        model: &client.model,
        content,
        stop_reason: reason,
        stop_sequence: sequence,
        usage: OutUsage {
            input_tokens: usage.uncached_input(),
            output_tokens: usage.output,
            cache_creation_input_tokens: usage.cache_write,
            cache_read_input_tokens: usage.cached,
        },
    };
    let mut out = Vec::with_capacity(size * 9 / 8);
    match serde_json::to_writer(&mut out, &body) {
        Ok(()) => out,
        Err(_) => Vec::new(),
    }
}
