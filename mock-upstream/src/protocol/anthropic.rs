//! Anthropic Messages: the `message` object, the `message_start` … `message_stop` event stream,
//! `count_tokens`, and the Anthropic error shape.
//!
//! A request that defines tools is answered with a `tool_use` block (unless its last message
//! carries `tool_result`s), one that enables thinking opens with a `thinking` block. Requests
//! are checked as strictly as the real API checks them (see [`parse`]).

use std::collections::HashSet;

use bytes::{Bytes, BytesMut};
use http::StatusCode;
use serde::Serialize;
use serde_json::{Value, json};

use super::{Answer, Framing, GenerateRequest, THINKING_TEXT};
use crate::conversation::{Conversation, Role};
use crate::wire;

/// Parses `{model, max_tokens, messages, system?, tools?, tool_choice?, thinking?, stream?}`
/// (`count_tokens` takes no `max_tokens`). A 400 for: a missing `model` or `messages`, or a
/// missing `max_tokens` when `require_max_tokens`; no message; a role other than `user` / `assistant`; a first message that is not
/// the user's; a `tool_result` whose `tool_use_id` is not a `tool_use` of the message right
/// before, or a `tool_use` not answered in the next message; a custom tool without `name` or
/// `input_schema`; a `tool_choice` naming no defined tool; enabled thinking whose
/// `budget_tokens` is under 1024 or not under `max_tokens`. Consecutive messages of one role
/// are allowed, as the API now allows them.
pub(super) fn parse(
    body: &Value,
    count_only: bool,
    require_max_tokens: bool,
) -> Result<GenerateRequest, String> {
    let model = body
        .get("model")
        .and_then(Value::as_str)
        .ok_or("model: Field required")?;
    let max_tokens = body.get("max_tokens").and_then(Value::as_u64);
    if !count_only && require_max_tokens && max_tokens.is_none() {
        return Err("max_tokens: Field required".to_owned());
    }
    let messages = body
        .get("messages")
        .and_then(Value::as_array)
        .ok_or("messages: Field required")?;
    check_messages(messages)?;
    let tools = custom_tools(body)?;
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
    let thinking = thinking(body, max_tokens, count_only)?;
    let answers_a_result = messages
        .last()
        .is_some_and(|message| !tool_ids(message, "tool_result", "tool_use_id").is_empty());
    let tool = match body.get("tool_choice") {
        Some(choice) => match choice.get("type").and_then(Value::as_str) {
            Some("none") => None,
            Some("tool") => {
                let name = choice
                    .get("name")
                    .and_then(Value::as_str)
                    .ok_or("tool_choice.tool.name: Field required")?;
                if !tools.contains(&name) {
                    return Err(format!(
                        "tool_choice: tool '{name}' is not among the defined tools"
                    ));
                }
                Some(name)
            }
            Some("auto" | "any") => tools.first().copied(),
            _ => {
                return Err(
                    "tool_choice: Input tag does not match any of the expected tags: 'auto', 'any', 'tool', 'none'"
                        .to_owned(),
                );
            }
        },
        None => tools.first().copied(),
    };
    let stream = body.get("stream").and_then(Value::as_bool) == Some(true);
    Ok(GenerateRequest {
        model: model.to_owned(),
        conversation,
        stream: stream.then_some(Framing::Sse),
        include_usage: false,
        tool: tool.filter(|_| !answers_a_result).map(str::to_owned),
        thinking,
    })
}

/// The `anthropic_version` Vertex AI requires in the body.
const VERTEX_ANTHROPIC_VERSION: &str = "vertex-2023-10-16";

/// Parses a Vertex AI `rawPredict` (`stream: false`) or `streamRawPredict` (`stream: true`)
/// body for `model` (from the path): the Messages body with `anthropic_version`
/// [`VERTEX_ANTHROPIC_VERSION`], without `model`, and with `"stream": true` exactly when the
/// endpoint streams. Then every check of [`parse`].
pub(super) fn parse_vertex(
    body: &Value,
    model: &str,
    stream: bool,
    require_max_tokens: bool,
) -> Result<GenerateRequest, String> {
    match body.get("anthropic_version").and_then(Value::as_str) {
        Some(VERTEX_ANTHROPIC_VERSION) => {}
        Some(other) => {
            return Err(format!(
                "anthropic_version: {other:?} is not supported, use {VERTEX_ANTHROPIC_VERSION:?}"
            ));
        }
        None => return Err("anthropic_version: Field required".to_owned()),
    }
    if body.get("model").is_some() {
        return Err(
            "model: Extra inputs are not permitted (Vertex AI takes the model from the URL)"
                .to_owned(),
        );
    }
    let streams = body.get("stream").and_then(Value::as_bool) == Some(true);
    if streams != stream {
        return Err(if stream {
            "stream: streamRawPredict requires \"stream\": true".to_owned()
        } else {
            "stream: rawPredict does not stream; use streamRawPredict".to_owned()
        });
    }
    let mut body = body.clone();
    body["model"] = Value::from(model);
    parse(&body, false, require_max_tokens)
}

/// Roles, the first message, and `tool_use` / `tool_result` pairing.
fn check_messages(messages: &[Value]) -> Result<(), String> {
    if messages.is_empty() {
        return Err("messages: at least one message is required".to_owned());
    }
    for (index, message) in messages.iter().enumerate() {
        match message.get("role").and_then(Value::as_str) {
            Some("user" | "assistant") => {}
            _ => {
                return Err(format!(
                    "messages.{index}.role: Input should be 'user' or 'assistant'"
                ));
            }
        }
        match message.get("content") {
            Some(Value::String(_) | Value::Array(_)) => {}
            _ => return Err(format!("messages.{index}.content: Field required")),
        }
    }
    if messages[0].get("role").and_then(Value::as_str) != Some("user") {
        return Err("messages: first message must use the \"user\" role".to_owned());
    }
    let mut previous_uses: Vec<String> = Vec::new();
    for (index, message) in messages.iter().enumerate() {
        let results = tool_ids(message, "tool_result", "tool_use_id");
        if let Some(orphan) = results.iter().find(|id| !previous_uses.contains(id)) {
            return Err(format!(
                "messages.{index}.content: unexpected `tool_use_id` found in `tool_result` blocks: {orphan}. Each `tool_result` block must have a corresponding `tool_use` block in the previous message."
            ));
        }
        if let Some(unanswered) = previous_uses.iter().find(|id| !results.contains(id)) {
            return Err(format!(
                "messages.{}: `tool_use` ids were found without `tool_result` blocks immediately after: {unanswered}. Each `tool_use` block must have a corresponding `tool_result` block in the next message.",
                index - 1
            ));
        }
        previous_uses = if message.get("role").and_then(Value::as_str) == Some("assistant") {
            tool_ids(message, "tool_use", "id")
        } else {
            Vec::new()
        };
    }
    Ok(())
}

/// The `field` of each content block of type `kind` in a message.
fn tool_ids(message: &Value, kind: &str, field: &str) -> Vec<String> {
    message
        .get("content")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice)
        .iter()
        .filter(|block| block.get("type").and_then(Value::as_str) == Some(kind))
        .map(|block| {
            block
                .get(field)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

/// The names of the custom tools (no `type`, or `custom`; server tools have a versioned type),
/// each checked for `name` and `input_schema`.
fn custom_tools(body: &Value) -> Result<Vec<&str>, String> {
    let Some(tools) = body.get("tools") else {
        return Ok(Vec::new());
    };
    let tools = tools
        .as_array()
        .ok_or("tools: Input should be a valid list")?;
    let mut names = Vec::new();
    let mut seen = HashSet::new();
    for (index, tool) in tools.iter().enumerate() {
        let kind = tool.get("type").and_then(Value::as_str);
        if kind.is_some_and(|kind| kind != "custom") {
            continue;
        }
        let name = tool
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("tools.{index}.custom.name: Field required"))?;
        if !tool.get("input_schema").is_some_and(Value::is_object) {
            return Err(format!("tools.{index}.custom.input_schema: Field required"));
        }
        if !seen.insert(name) {
            return Err(format!("tools: Tool names must be unique: {name}"));
        }
        names.push(name);
    }
    Ok(names)
}

/// Whether `thinking` is on (`enabled` or `adaptive`), checking an enabled budget.
fn thinking(body: &Value, max_tokens: Option<u64>, count_only: bool) -> Result<bool, String> {
    let Some(thinking) = body.get("thinking") else {
        return Ok(false);
    };
    match thinking.get("type").and_then(Value::as_str) {
        Some("enabled") => {
            let budget = thinking
                .get("budget_tokens")
                .and_then(Value::as_u64)
                .ok_or("thinking.enabled.budget_tokens: Field required")?;
            if budget < 1024 {
                return Err(
                    "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024"
                        .to_owned(),
                );
            }
            if !count_only && max_tokens.is_some_and(|max| max <= budget) {
                return Err("`max_tokens` must be greater than `thinking.budget_tokens`".to_owned());
            }
            Ok(true)
        }
        Some("adaptive") => Ok(true),
        Some("disabled") => Ok(false),
        _ => Err(
            "thinking: Input tag does not match any of the expected tags: 'enabled', 'disabled', 'adaptive'"
                .to_owned(),
        ),
    }
}

#[derive(Serialize)]
struct MessageObject<'a> {
    id: String,
    #[serde(rename = "type")]
    kind: &'static str,
    role: &'static str,
    model: &'a str,
    content: Vec<Value>,
    stop_reason: Option<&'static str>,
    stop_sequence: Option<()>,
    usage: MessageUsage,
}

#[derive(Serialize)]
struct MessageUsage {
    input_tokens: u64,
    cache_creation_input_tokens: u64,
    cache_read_input_tokens: u64,
    output_tokens: u64,
}

impl MessageUsage {
    /// Anthropic counts cached input apart: `input_tokens` excludes what was read from cache;
    /// `output_tokens` includes thinking.
    fn of(answer: &Answer, output_tokens: u64) -> Self {
        MessageUsage {
            input_tokens: answer.usage.input - answer.usage.cached,
            cache_creation_input_tokens: 0,
            cache_read_input_tokens: answer.usage.cached,
            output_tokens,
        }
    }
}

fn signature(answer: &Answer) -> String {
    format!("mock-claude-sig-{}", answer.sequence)
}

fn tool_use_id(answer: &Answer) -> String {
    format!("toolu_mock_{}", answer.sequence)
}

fn stop_reason(answer: &Answer) -> &'static str {
    if answer.tool.is_some() {
        "tool_use"
    } else {
        "end_turn"
    }
}

/// The answer's content blocks: thinking (if asked), then the text or the `tool_use`.
fn content_blocks(answer: &Answer) -> Vec<Value> {
    let mut blocks = Vec::with_capacity(2);
    if answer.thinking {
        blocks.push(json!({"type": "thinking", "thinking": THINKING_TEXT,
            "signature": signature(answer)}));
    }
    blocks.push(match &answer.tool {
        Some(name) => json!({"type": "tool_use", "id": tool_use_id(answer), "name": name,
            "input": answer.arguments()}),
        None => json!({"type": "text", "text": answer.text}),
    });
    blocks
}

fn message_object(answer: &Answer, complete: bool) -> MessageObject<'_> {
    MessageObject {
        id: format!("msg_mock{}", answer.sequence),
        kind: "message",
        role: "assistant",
        model: &answer.model,
        content: if complete {
            content_blocks(answer)
        } else {
            Vec::new()
        },
        stop_reason: complete.then(|| stop_reason(answer)),
        stop_sequence: None,
        usage: MessageUsage::of(
            answer,
            if complete {
                answer.usage.output_with_reasoning()
            } else {
                1
            },
        ),
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
        content_block: Value,
    },
    Ping,
    ContentBlockDelta {
        index: u32,
        delta: Delta<'a>,
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

/// A `content_block_delta`'s delta.
#[derive(Serialize)]
#[serde(tag = "type")]
enum Delta<'a> {
    #[serde(rename = "text_delta")]
    Text { text: &'a str },
    #[serde(rename = "input_json_delta")]
    InputJson { partial_json: &'a str },
    #[serde(rename = "thinking_delta")]
    Thinking { thinking: &'a str },
    #[serde(rename = "signature_delta")]
    Signature { signature: &'a str },
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

/// Streams `message_start`, then (when thinking) a `thinking` block at index 0 — its
/// `content_block_start`, a `ping`, a `thinking_delta`, a `signature_delta` and its
/// `content_block_stop` —, then the answer block: `content_block_start` (a `text` block, or a
/// `tool_use` block with empty `input`), a `ping` unless one was sent, one `content_block_delta`
/// per piece (`text_delta` / `input_json_delta`), `content_block_stop`; then `message_delta`
/// (stop reason `end_turn` / `tool_use`, output usage) and `message_stop`. Or an `error` event.
pub(super) struct EventEncoder {
    answer: Answer,
    /// The index of the answer block (1 after a thinking block).
    index: u32,
}

impl EventEncoder {
    pub(super) fn new(answer: Answer) -> Self {
        let index = u32::from(answer.thinking);
        EventEncoder { answer, index }
    }
}

impl super::StreamEncoder for EventEncoder {
    fn opening(&mut self, out: &mut BytesMut) {
        let answer = &self.answer;
        StreamEvent::MessageStart {
            message: message_object(answer, false),
        }
        .push(out);
        if answer.thinking {
            StreamEvent::ContentBlockStart {
                index: 0,
                content_block: json!({"type": "thinking", "thinking": "", "signature": ""}),
            }
            .push(out);
            StreamEvent::Ping.push(out);
            let signature = signature(answer);
            for delta in [
                Delta::Thinking {
                    thinking: THINKING_TEXT,
                },
                Delta::Signature {
                    signature: &signature,
                },
            ] {
                StreamEvent::ContentBlockDelta { index: 0, delta }.push(out);
            }
            StreamEvent::ContentBlockStop { index: 0 }.push(out);
        }
        let content_block = match &answer.tool {
            Some(name) => {
                json!({"type": "tool_use", "id": tool_use_id(answer), "name": name, "input": {}})
            }
            None => json!({"type": "text", "text": ""}),
        };
        StreamEvent::ContentBlockStart {
            index: self.index,
            content_block,
        }
        .push(out);
        if !answer.thinking {
            StreamEvent::Ping.push(out);
        }
    }

    fn chunk(&mut self, piece: &str, out: &mut BytesMut) {
        let delta = match self.answer.tool {
            Some(_) => Delta::InputJson {
                partial_json: piece,
            },
            None => Delta::Text { text: piece },
        };
        StreamEvent::ContentBlockDelta {
            index: self.index,
            delta,
        }
        .push(out);
    }

    fn closing(&mut self, out: &mut BytesMut) {
        StreamEvent::ContentBlockStop { index: self.index }.push(out);
        StreamEvent::MessageDelta {
            delta: StopDelta {
                stop_reason: stop_reason(&self.answer),
                stop_sequence: None,
            },
            usage: OutputUsage {
                output_tokens: self.answer.usage.output_with_reasoning(),
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
