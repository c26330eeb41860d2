//! OpenAI Chat Completions: `chat.completion`, `chat.completion.chunk` + `[DONE]`, the OpenAI
//! error shape (shared with the Responses API) and the model list. A request that defines
//! tools is answered with a call of the one `tool_choice` names or of the first (its arguments
//! stream like text), unless its last message is a `tool` result; `reasoning_effort` adds
//! `reasoning_content`.

use bytes::{Bytes, BytesMut};
use http::StatusCode;
use serde::Serialize;
use serde_json::Value;

use super::{Answer, Framing, GenerateRequest, THINKING_TEXT};
use crate::conversation::{Conversation, Role};
use crate::wire;

/// Parses `{model, messages: [{role, content}], stream?, stream_options?, tools?, tool_choice?,
/// reasoning_effort?}`. A 400 for: a missing `model` or `messages`; no message; an unknown
/// role; a `tool` message whose `tool_call_id` answers no call of the assistant message before
/// it; an assistant's `tool_calls` not all answered by the `tool` messages that follow it; a
/// function tool without a name.
pub(super) fn parse(body: &Value) -> Result<GenerateRequest, String> {
    let model = body
        .get("model")
        .and_then(Value::as_str)
        .ok_or("you must provide a model parameter")?;
    let messages = body
        .get("messages")
        .and_then(Value::as_array)
        .ok_or("'messages' must be an array")?;
    check_messages(messages)?;
    let tools = function_tools(body)?;
    let mut conversation = Conversation::default();
    for message in messages {
        let role = match message.get("role").and_then(Value::as_str) {
            Some("system" | "developer") => Role::System,
            Some("assistant") => Role::Assistant,
            Some("tool" | "function") => Role::Tool,
            _ => Role::User,
        };
        conversation.push_content(role, message.get("content").unwrap_or(&Value::Null));
    }
    let stream = body.get("stream").and_then(Value::as_bool) == Some(true);
    let include_usage = body
        .pointer("/stream_options/include_usage")
        .and_then(Value::as_bool)
        == Some(true);
    let answers_a_result =
        messages.last().and_then(|message| message.get("role")) == Some(&Value::from("tool"));
    let thinking = body
        .get("reasoning_effort")
        .and_then(Value::as_str)
        .is_some_and(|effort| effort != "none");
    Ok(GenerateRequest {
        model: model.to_owned(),
        conversation,
        stream: stream.then_some(Framing::Sse),
        include_usage,
        tool: called_tool(body, &tools).filter(|_| !answers_a_result),
        thinking,
    })
}

/// Roles and the pairing of `tool_calls` with `tool` messages.
fn check_messages(messages: &[Value]) -> Result<(), String> {
    if messages.is_empty() {
        return Err("'messages' must contain at least one message".to_owned());
    }
    // The calls of the last assistant message still waiting for their `tool` message.
    let mut pending: Vec<&str> = Vec::new();
    for (index, message) in messages.iter().enumerate() {
        let role = message.get("role").and_then(Value::as_str);
        if role == Some("tool") {
            let id = message
                .get("tool_call_id")
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    format!("Missing required parameter: 'messages[{index}].tool_call_id'.")
                })?;
            let Some(position) = pending.iter().position(|pending| *pending == id) else {
                return Err(format!(
                    "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls' (messages[{index}], tool_call_id {id})."
                ));
            };
            pending.remove(position);
            continue;
        }
        if !pending.is_empty() {
            return Err(format!(
                "An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: {}",
                pending.join(", ")
            ));
        }
        match role {
            Some("assistant") => {
                pending = message
                    .get("tool_calls")
                    .and_then(Value::as_array)
                    .map_or(&[][..], Vec::as_slice)
                    .iter()
                    .filter_map(|call| call.get("id").and_then(Value::as_str))
                    .collect();
            }
            Some("system" | "developer" | "user" | "function") => {}
            _ => {
                return Err(format!(
                    "Invalid value for 'messages[{index}].role': expected one of 'system', 'assistant', 'user', 'tool', 'function' or 'developer'."
                ));
            }
        }
    }
    if !pending.is_empty() {
        return Err(format!(
            "An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: {}",
            pending.join(", ")
        ));
    }
    Ok(())
}

/// The names of the function tools, each checked for a name.
fn function_tools(body: &Value) -> Result<Vec<&str>, String> {
    let tools = body
        .get("tools")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    tools
        .iter()
        .enumerate()
        .filter(|(_, tool)| tool.get("type").and_then(Value::as_str) == Some("function"))
        .map(|(index, tool)| {
            tool.pointer("/function/name")
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    format!("Missing required parameter: 'tools[{index}].function.name'.")
                })
        })
        .collect()
}

/// The function the answer calls: the one `tool_choice` names, else the first of `tools`;
/// none when `tool_choice` is `"none"` or no function tool is defined.
fn called_tool(body: &Value, tools: &[&str]) -> Option<String> {
    let choice = body.get("tool_choice");
    if choice.and_then(Value::as_str) == Some("none") {
        return None;
    }
    choice
        .and_then(|choice| choice.pointer("/function/name"))
        .and_then(Value::as_str)
        .or_else(|| tools.first().copied())
        .map(str::to_owned)
}

#[derive(Serialize)]
struct Completion<'a> {
    id: String,
    object: &'static str,
    created: u64,
    model: &'a str,
    choices: [Choice<'a>; 1],
    usage: CompletionUsage,
}

#[derive(Serialize)]
struct Choice<'a> {
    index: u32,
    message: Message<'a>,
    finish_reason: &'static str,
}

#[derive(Serialize)]
struct Message<'a> {
    role: &'static str,
    /// `null` when the answer is a tool call.
    content: Option<&'a str>,
    /// The thinking, when the request set `reasoning_effort`.
    #[serde(skip_serializing_if = "Option::is_none")]
    reasoning_content: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_calls: Option<[ToolCall<'a>; 1]>,
}

#[derive(Serialize)]
struct ToolCall<'a> {
    id: String,
    #[serde(rename = "type")]
    kind: &'static str,
    function: FunctionCall<'a>,
}

#[derive(Serialize)]
struct FunctionCall<'a> {
    name: &'a str,
    arguments: &'a str,
}

#[derive(Serialize)]
struct CompletionUsage {
    prompt_tokens: u64,
    completion_tokens: u64,
    total_tokens: u64,
    prompt_tokens_details: PromptTokensDetails,
    completion_tokens_details: CompletionTokensDetails,
}

#[derive(Serialize)]
struct CompletionTokensDetails {
    reasoning_tokens: u64,
}

#[derive(Serialize)]
struct PromptTokensDetails {
    cached_tokens: u64,
}

impl CompletionUsage {
    /// `prompt_tokens` includes the cached ones; `completion_tokens` includes reasoning.
    fn of(answer: &Answer) -> Self {
        CompletionUsage {
            prompt_tokens: answer.usage.input,
            completion_tokens: answer.usage.output_with_reasoning(),
            total_tokens: answer.usage.total(),
            prompt_tokens_details: PromptTokensDetails {
                cached_tokens: answer.usage.cached,
            },
            completion_tokens_details: CompletionTokensDetails {
                reasoning_tokens: answer.usage.reasoning,
            },
        }
    }
}

fn completion_id(answer: &Answer) -> String {
    format!("chatcmpl-mock-{}", answer.sequence)
}

fn tool_call_id(answer: &Answer) -> String {
    format!("call_mock_{}", answer.sequence)
}

/// `tool_calls` for a tool answer, `stop` for a text one.
fn finish_reason(answer: &Answer) -> &'static str {
    if answer.tool.is_some() {
        "tool_calls"
    } else {
        "stop"
    }
}

/// The `chat.completion` object.
pub(super) fn answer_body(answer: &Answer) -> Bytes {
    wire::json(&Completion {
        id: completion_id(answer),
        object: "chat.completion",
        created: answer.created,
        model: &answer.model,
        choices: [Choice {
            index: 0,
            message: match &answer.tool {
                None => Message {
                    role: "assistant",
                    content: Some(&answer.text),
                    reasoning_content: answer.thinking.then_some(THINKING_TEXT),
                    tool_calls: None,
                },
                Some(name) => Message {
                    role: "assistant",
                    content: None,
                    reasoning_content: answer.thinking.then_some(THINKING_TEXT),
                    tool_calls: Some([ToolCall {
                        id: tool_call_id(answer),
                        kind: "function",
                        function: FunctionCall {
                            name,
                            arguments: &answer.text,
                        },
                    }]),
                },
            },
            finish_reason: finish_reason(answer),
        }],
        usage: CompletionUsage::of(answer),
    })
}

#[derive(Serialize)]
struct Chunk<'a> {
    id: &'a str,
    object: &'static str,
    created: u64,
    model: &'a str,
    choices: Vec<ChunkChoice<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    usage: Option<CompletionUsage>,
}

#[derive(Serialize)]
struct ChunkChoice<'a> {
    index: u32,
    delta: Delta<'a>,
    finish_reason: Option<&'static str>,
}

#[derive(Serialize, Default)]
struct Delta<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    content: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reasoning_content: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_calls: Option<[ToolCallDelta<'a>; 1]>,
}

/// One piece of a streamed tool call: the first carries its id, type and name.
#[derive(Serialize)]
struct ToolCallDelta<'a> {
    index: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a str>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    kind: Option<&'static str>,
    function: FunctionDelta<'a>,
}

#[derive(Serialize)]
struct FunctionDelta<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    arguments: &'a str,
}

/// Streams `data: {chat.completion.chunk}` events: a role chunk, a `reasoning_content` chunk
/// when the request set `reasoning_effort`, one chunk per piece, a
/// `finish_reason: "stop"` chunk, a usage chunk when `stream_options.include_usage` asked for
/// it, then `data: [DONE]`. A tool answer opens its call in the role chunk, streams the
/// arguments as the pieces and finishes with `tool_calls`.
pub(super) struct ChunkEncoder {
    answer: Answer,
    id: String,
    call_id: String,
}

impl ChunkEncoder {
    pub(super) fn new(answer: Answer) -> Self {
        let id = completion_id(&answer);
        let call_id = tool_call_id(&answer);
        ChunkEncoder {
            answer,
            id,
            call_id,
        }
    }

    /// The delta of a tool answer's call: `arguments` is the piece (empty at the opening,
    /// which also names the call).
    fn tool_delta<'a>(
        &'a self,
        opening: bool,
        arguments: &'a str,
    ) -> Option<[ToolCallDelta<'a>; 1]> {
        let name = self.answer.tool.as_deref()?;
        Some([ToolCallDelta {
            index: 0,
            id: opening.then_some(self.call_id.as_str()),
            kind: opening.then_some("function"),
            function: FunctionDelta {
                name: opening.then_some(name),
                arguments,
            },
        }])
    }

    fn push(
        &self,
        out: &mut BytesMut,
        choices: Vec<ChunkChoice<'_>>,
        usage: Option<CompletionUsage>,
    ) {
        let chunk = Chunk {
            id: &self.id,
            object: "chat.completion.chunk",
            created: self.answer.created,
            model: &self.answer.model,
            choices,
            usage,
        };
        wire::push_event(out, None, &chunk);
    }
}

impl super::StreamEncoder for ChunkEncoder {
    fn opening(&mut self, out: &mut BytesMut) {
        let tool_calls = self.tool_delta(true, "");
        let mut deltas = Vec::with_capacity(3);
        if self.answer.thinking {
            deltas.push(Delta {
                role: Some("assistant"),
                content: Some(""),
                ..Delta::default()
            });
            deltas.push(Delta {
                reasoning_content: Some(THINKING_TEXT),
                ..Delta::default()
            });
            if tool_calls.is_some() {
                deltas.push(Delta {
                    tool_calls,
                    ..Delta::default()
                });
            }
        } else {
            deltas.push(Delta {
                role: Some("assistant"),
                content: tool_calls.is_none().then_some(""),
                tool_calls,
                ..Delta::default()
            });
        }
        for delta in deltas {
            self.push(
                out,
                vec![ChunkChoice {
                    index: 0,
                    delta,
                    finish_reason: None,
                }],
                None,
            );
        }
    }

    fn chunk(&mut self, piece: &str, out: &mut BytesMut) {
        let tool_calls = self.tool_delta(false, piece);
        let delta = Delta {
            content: tool_calls.is_none().then_some(piece),
            tool_calls,
            ..Delta::default()
        };
        self.push(
            out,
            vec![ChunkChoice {
                index: 0,
                delta,
                finish_reason: None,
            }],
            None,
        );
    }

    fn closing(&mut self, out: &mut BytesMut) {
        let finish = ChunkChoice {
            index: 0,
            delta: Delta::default(),
            finish_reason: Some(finish_reason(&self.answer)),
        };
        self.push(out, vec![finish], None);
        if self.answer.include_usage {
            self.push(out, Vec::new(), Some(CompletionUsage::of(&self.answer)));
        }
        wire::push_raw_data(out, "[DONE]");
    }

    fn error(&mut self, status: StatusCode, message: &str, out: &mut BytesMut) {
        wire::push_event(out, None, &ErrorEnvelope::new(status, message));
    }
}

#[derive(Serialize)]
pub(super) struct ErrorEnvelope<'a> {
    error: ErrorDetail<'a>,
}

#[derive(Serialize)]
struct ErrorDetail<'a> {
    message: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<&'static str>,
}

impl<'a> ErrorEnvelope<'a> {
    /// `{"error":{"message","type","code"}}`, with type and code chosen by status as OpenAI (and
    /// CLIProxyAPI) do.
    pub(super) fn new(status: StatusCode, message: &'a str) -> Self {
        let (kind, code) = match status.as_u16() {
            401 => ("authentication_error", Some("invalid_api_key")),
            403 => ("permission_error", Some("insufficient_quota")),
            404 => ("invalid_request_error", Some("model_not_found")),
            429 => ("rate_limit_error", Some("rate_limit_exceeded")),
            500.. => ("server_error", Some("internal_server_error")),
            _ => ("invalid_request_error", None),
        };
        ErrorEnvelope {
            error: ErrorDetail {
                message,
                kind,
                code,
            },
        }
    }
}

/// The OpenAI error body.
pub(super) fn error_body(status: StatusCode, message: &str) -> Bytes {
    wire::json(&ErrorEnvelope::new(status, message))
}

/// Models listed by `GET /v1/models`.
const LISTED_MODELS: [&str; 4] = [
    "mock-model",
    "gpt-4o-mini",
    "claude-sonnet-4-5",
    "gemini-2.5-pro",
];

#[derive(Serialize)]
struct ModelList {
    object: &'static str,
    data: Vec<ModelEntry>,
}

#[derive(Serialize)]
struct ModelEntry {
    id: &'static str,
    object: &'static str,
    created: u64,
    owned_by: &'static str,
}

/// `{"object":"list","data":[{id, object, created, owned_by}]}`.
pub(super) fn model_list_body(created: u64) -> Bytes {
    wire::json(&ModelList {
        object: "list",
        data: LISTED_MODELS
            .iter()
            .map(|id| ModelEntry {
                id,
                object: "model",
                created,
                owned_by: "switchyard-mock",
            })
            .collect(),
    })
}
