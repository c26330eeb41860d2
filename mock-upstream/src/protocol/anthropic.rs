//! Anthropic Messages: the `message` object, the `message_start` … `message_stop` event stream,
//! `count_tokens`, and the Anthropic error shape.

use bytes::{Bytes, BytesMut};
use http::StatusCode;
use serde::Serialize;
use serde_json::Value;

use super::{Answer, Framing, GenerateRequest};
use crate::conversation::{Conversation, Role};
use crate::wire;

/// Parses `{model, system?, messages, stream?, max_tokens}` (`max_tokens` is not required).
pub(super) fn parse(body: &Value) -> Result<GenerateRequest, String> {
    let model = body
        .get("model")
        .and_then(Value::as_str)
        .ok_or("model: Field required")?;
    let messages = body
        .get("messages")
        .and_then(Value::as_array)
        .ok_or("messages: Field required")?;
    let mut conversation = Conversation::default();
    if let Some(system) = body.get("system") {
        conversation.push_content(Role::System, system);
    }
    for message in messages {
        let role = match message.get("role").and_then(Value::as_str) {
            Some("assistant") => Role::Assistant,
            _ => Role::User,
        };
        conversation.push_content(role, message.get("content").unwrap_or(&Value::Null));
    }
    let stream = body.get("stream").and_then(Value::as_bool) == Some(true);
    Ok(GenerateRequest {
        model: model.to_owned(),
        conversation,
        stream: stream.then_some(Framing::Sse),
        include_usage: false,
        tool: None,
    })
}

#[derive(Serialize)]
struct MessageObject<'a> {
    id: String,
    #[serde(rename = "type")]
    kind: &'static str,
    role: &'static str,
    model: &'a str,
    content: Vec<TextBlock<'a>>,
    stop_reason: Option<&'static str>,
    stop_sequence: Option<()>,
    usage: MessageUsage,
}

#[derive(Serialize)]
struct TextBlock<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    text: &'a str,
}

#[derive(Serialize)]
struct MessageUsage {
    input_tokens: u64,
    cache_creation_input_tokens: u64,
    cache_read_input_tokens: u64,
    output_tokens: u64,
}

impl MessageUsage {
    /// Anthropic counts cached input apart: `input_tokens` excludes what was read from cache.
    fn of(answer: &Answer, output_tokens: u64) -> Self {
        MessageUsage {
            input_tokens: answer.usage.input - answer.usage.cached,
            cache_creation_input_tokens: 0,
            cache_read_input_tokens: answer.usage.cached,
            output_tokens,
        }
    }
}

fn message_object(answer: &Answer, complete: bool) -> MessageObject<'_> {
    MessageObject {
        id: format!("msg_mock{}", answer.sequence),
        kind: "message",
        role: "assistant",
        model: &answer.model,
        content: if complete {
            vec![TextBlock {
                kind: "text",
                text: &answer.text,
            }]
        } else {
            Vec::new()
        },
        stop_reason: complete.then_some("end_turn"),
        stop_sequence: None,
        usage: MessageUsage::of(answer, if complete { answer.usage.output } else { 1 }),
    }
}

/// The `message` object.
pub(super) fn answer_body(answer: &Answer) -> Bytes {
    wire::json(&message_object(answer, true))
}

#[derive(Serialize)]
struct InputTokens {
    input_tokens: u64,
}

/// `{"input_tokens": n}`.
pub(super) fn count_tokens_body(tokens: u64) -> Bytes {
    wire::json(&InputTokens {
        input_tokens: tokens,
    })
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum StreamEvent<'a> {
    MessageStart {
        message: MessageObject<'a>,
    },
    ContentBlockStart {
        index: u32,
        content_block: TextBlock<'a>,
    },
    Ping,
    ContentBlockDelta {
        index: u32,
        delta: TextBlock<'a>,
    },
    ContentBlockStop {
        index: u32,
    },
    MessageDelta {
        delta: StopDelta,
        usage: OutputUsage,
    },
    MessageStop,
    Error {
        error: ErrorDetail<'a>,
    },
}

impl StreamEvent<'_> {
    fn name(&self) -> &'static str {
        match self {
            StreamEvent::MessageStart { .. } => "message_start",
            StreamEvent::ContentBlockStart { .. } => "content_block_start",
            StreamEvent::Ping => "ping",
            StreamEvent::ContentBlockDelta { .. } => "content_block_delta",
            StreamEvent::ContentBlockStop { .. } => "content_block_stop",
            StreamEvent::MessageDelta { .. } => "message_delta",
            StreamEvent::MessageStop => "message_stop",
            StreamEvent::Error { .. } => "error",
        }
    }

    fn push(&self, out: &mut BytesMut) {
        wire::push_event(out, Some(self.name()), self);
    }
}

#[derive(Serialize)]
struct StopDelta {
    stop_reason: &'static str,
    stop_sequence: Option<()>,
}

#[derive(Serialize)]
struct OutputUsage {
    output_tokens: u64,
}

/// Streams `message_start`, `content_block_start`, `ping`, one `content_block_delta` per piece,
/// `content_block_stop`, `message_delta` and `message_stop`; or an `error` event.
pub(super) struct EventEncoder {
    answer: Answer,
}

impl EventEncoder {
    pub(super) fn new(answer: Answer) -> Self {
        EventEncoder { answer }
    }
}

impl super::StreamEncoder for EventEncoder {
    fn opening(&mut self, out: &mut BytesMut) {
        StreamEvent::MessageStart {
            message: message_object(&self.answer, false),
        }
        .push(out);
        StreamEvent::ContentBlockStart {
            index: 0,
            content_block: TextBlock {
                kind: "text",
                text: "",
            },
        }
        .push(out);
        StreamEvent::Ping.push(out);
    }

    fn chunk(&mut self, piece: &str, out: &mut BytesMut) {
        StreamEvent::ContentBlockDelta {
            index: 0,
            delta: TextBlock {
                kind: "text_delta",
                text: piece,
            },
        }
        .push(out);
    }

    fn closing(&mut self, out: &mut BytesMut) {
        StreamEvent::ContentBlockStop { index: 0 }.push(out);
        StreamEvent::MessageDelta {
            delta: StopDelta {
                stop_reason: "end_turn",
                stop_sequence: None,
            },
            usage: OutputUsage {
                output_tokens: self.answer.usage.output,
            },
        }
        .push(out);
        StreamEvent::MessageStop.push(out);
    }

    fn error(&mut self, status: StatusCode, message: &str, out: &mut BytesMut) {
        StreamEvent::Error {
            error: ErrorDetail::new(status, message),
        }
        .push(out);
    }
}

#[derive(Serialize)]
struct ErrorDetail<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    message: &'a str,
}

impl<'a> ErrorDetail<'a> {
    fn new(status: StatusCode, message: &'a str) -> Self {
        let kind = match status.as_u16() {
            400 => "invalid_request_error",
            401 => "authentication_error",
            402 => "billing_error",
            403 => "permission_error",
            404 => "not_found_error",
            413 => "request_too_large",
            429 => "rate_limit_error",
            504 => "timeout_error",
            529 => "overloaded_error",
            _ if status.is_client_error() => "invalid_request_error",
            _ => "api_error",
        };
        ErrorDetail { kind, message }
    }
}

#[derive(Serialize)]
struct ErrorEnvelope<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    error: ErrorDetail<'a>,
}

/// `{"type":"error","error":{"type","message"}}`.
pub(super) fn error_body(status: StatusCode, message: &str) -> Bytes {
    wire::json(&ErrorEnvelope {
        kind: "error",
        error: ErrorDetail::new(status, message),
    })
}
