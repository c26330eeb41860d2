//! OpenAI Responses: the `response` object and the `response.*` event stream. Errors use the
//! OpenAI shape (see `openai_chat`).
//!
//! A request that defines function tools is answered with a `function_call` item (unless its
//! last input item is a `function_call_output`); one that sets `reasoning.effort` gets a
//! `reasoning` item first.

use bytes::{Bytes, BytesMut};
use http::StatusCode;
use serde::Serialize;
use serde_json::{Value, json};

use super::{Answer, Framing, GenerateRequest, THINKING_TEXT};
use crate::conversation::{Conversation, Role};
use crate::wire;

/// Parses `{model, input (string or items), instructions?, tools?, tool_choice?, reasoning?,
/// stream?}`. A 400 for: a missing `model` or `input`; a message item with an unknown role; a
/// `function_call_output` whose `call_id` names no earlier `function_call` of the input (unless
/// `previous_response_id` holds the calls); a function tool without a name.
pub(super) fn parse(body: &Value) -> Result<GenerateRequest, String> {
    let model = body
        .get("model")
        .and_then(Value::as_str)
        .ok_or("you must provide a model parameter")?;
    let mut conversation = Conversation::default();
    if let Some(instructions) = body.get("instructions").and_then(Value::as_str)
        && !instructions.is_empty()
    {
        conversation.push(Role::System, instructions.to_owned());
    }
    let mut answers_a_result = false;
    match body.get("input") {
        Some(Value::String(text)) => conversation.push(Role::User, text.clone()),
        Some(Value::Array(items)) => {
            check_items(items, body.get("previous_response_id").is_some())?;
            for item in items {
                push_item(&mut conversation, item);
            }
            answers_a_result = items.last().is_some_and(|item| {
                matches!(
                    item_kind(item),
                    "function_call_output" | "custom_tool_call_output"
                )
            });
        }
        _ => return Err("'input' must be a string or an array of items".to_owned()),
    }
    let tools = function_tools(body)?;
    let choice = body.get("tool_choice");
    let tool = if choice.and_then(Value::as_str) == Some("none") || answers_a_result {
        None
    } else {
        choice
            .filter(|choice| choice.get("type").and_then(Value::as_str) == Some("function"))
            .and_then(|choice| choice.get("name"))
            .and_then(Value::as_str)
            .or_else(|| tools.first().copied())
            .map(str::to_owned)
    };
    let thinking = body
        .pointer("/reasoning/effort")
        .and_then(Value::as_str)
        .is_some_and(|effort| effort != "none");
    let stream = body.get("stream").and_then(Value::as_bool) == Some(true);
    Ok(GenerateRequest {
        model: model.to_owned(),
        conversation,
        stream: stream.then_some(Framing::Sse),
        include_usage: false,
        tool,
        thinking,
    })
}

fn item_kind(item: &Value) -> &str {
    item.get("type")
        .and_then(Value::as_str)
        .unwrap_or("message")
}

/// Message roles, and each tool output answering a call made earlier in the input.
fn check_items(items: &[Value], continues_a_response: bool) -> Result<(), String> {
    let mut calls: Vec<&str> = Vec::new();
    for (index, item) in items.iter().enumerate() {
        match item_kind(item) {
            "message" => match item.get("role").and_then(Value::as_str) {
                Some("user" | "assistant" | "system" | "developer") => {}
                _ => {
                    return Err(format!(
                        "Invalid value for 'input[{index}].role'. Supported values are: 'assistant', 'system', 'developer', and 'user'."
                    ));
                }
            },
            "function_call" | "custom_tool_call" => {
                let call_id = item.get("call_id").and_then(Value::as_str).ok_or_else(|| {
                    format!("Missing required parameter: 'input[{index}].call_id'.")
                })?;
                calls.push(call_id);
            }
            "function_call_output" | "custom_tool_call_output" => {
                let call_id = item.get("call_id").and_then(Value::as_str).ok_or_else(|| {
                    format!("Missing required parameter: 'input[{index}].call_id'.")
                })?;
                if !continues_a_response && !calls.contains(&call_id) {
                    return Err(format!(
                        "No tool call found for function call output with call_id {call_id}."
                    ));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// The names of the function tools, each checked for a name.
fn function_tools(body: &Value) -> Result<Vec<&str>, String> {
    body.get("tools")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice)
        .iter()
        .enumerate()
        .filter(|(_, tool)| tool.get("type").and_then(Value::as_str) == Some("function"))
        .map(|(index, tool)| {
            tool.get("name")
                .and_then(Value::as_str)
                .ok_or_else(|| format!("Missing required parameter: 'tools[{index}].name'."))
        })
        .collect()
}

/// One `input` item: a message (typed `message` or just carrying a `role`), a tool call or
/// reasoning (the assistant's), a tool output (the client's), or anything else as user input.
fn push_item(conversation: &mut Conversation, item: &Value) {
    match item_kind(item) {
        "message" => {
            let role = match item.get("role").and_then(Value::as_str) {
                Some("system" | "developer") => Role::System,
                Some("assistant") => Role::Assistant,
                _ => Role::User,
            };
            conversation.push_content(role, item.get("content").unwrap_or(&Value::Null));
        }
        "function_call_output" | "custom_tool_call_output" => {
            conversation.push_content(Role::Tool, item.get("output").unwrap_or(&Value::Null));
        }
        "function_call" | "custom_tool_call" | "reasoning" | "web_search_call" => {
            conversation.push(Role::Assistant, item.to_string());
        }
        _ => conversation.push(Role::User, item.to_string()),
    }
}

#[derive(Serialize)]
struct Response<'a> {
    id: String,
    object: &'static str,
    created_at: u64,
    status: &'static str,
    error: Option<()>,
    incomplete_details: Option<()>,
    model: &'a str,
    output: Vec<Value>,
    parallel_tool_calls: bool,
    tool_choice: &'static str,
    tools: [(); 0],
    usage: Option<ResponseUsage>,
}

#[derive(Serialize)]
struct OutputText<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    text: &'a str,
    annotations: [(); 0],
}

#[derive(Serialize)]
struct ResponseUsage {
    input_tokens: u64,
    input_tokens_details: InputTokensDetails,
    output_tokens: u64,
    output_tokens_details: OutputTokensDetails,
    total_tokens: u64,
}

#[derive(Serialize)]
struct InputTokensDetails {
    cached_tokens: u64,
    /// The mock writes no cache entries it would bill for.
    cache_write_tokens: u64,
}

#[derive(Serialize)]
struct OutputTokensDetails {
    reasoning_tokens: u64,
}

fn response_id(answer: &Answer) -> String {
    format!("resp_mock{}", answer.sequence)
}

/// The id of the answer item: a message, or a function call.
fn item_id(answer: &Answer) -> String {
    match answer.tool {
        Some(_) => format!("fc_mock{}", answer.sequence),
        None => format!("msg_mock{}", answer.sequence),
    }
}

fn reasoning_id(answer: &Answer) -> String {
    format!("rs_mock{}", answer.sequence)
}

fn output_text(text: &str) -> OutputText<'_> {
    OutputText {
        kind: "output_text",
        text,
        annotations: [],
    }
}

/// The `reasoning` item; `complete: false` gives the one `output_item.added` carries.
fn reasoning_item(answer: &Answer, complete: bool) -> Value {
    let summary = if complete {
        json!([{"type": "summary_text", "text": THINKING_TEXT}])
    } else {
        json!([])
    };
    json!({"type": "reasoning", "id": reasoning_id(answer), "summary": summary,
        "encrypted_content": format!("mock-openai-sig-{}", answer.sequence)})
}

/// The answer item (a `message` or a `function_call`); `complete: false` gives the one
/// `output_item.added` carries (no text, empty arguments).
fn answer_item(answer: &Answer, complete: bool) -> Value {
    let status = if complete { "completed" } else { "in_progress" };
    match &answer.tool {
        Some(name) => json!({"type": "function_call", "id": item_id(answer),
            "call_id": format!("call_mock_{}", answer.sequence), "name": name,
            "arguments": if complete { answer.text.as_str() } else { "" }, "status": status}),
        None => {
            let content: Vec<OutputText<'_>> = complete
                .then(|| output_text(&answer.text))
                .into_iter()
                .collect();
            json!({"type": "message", "id": item_id(answer), "status": status,
                "role": "assistant", "content": content})
        }
    }
}

/// The `response` object; `complete: false` gives the in-progress form the stream opens with.
fn response<'a>(answer: &'a Answer, complete: bool) -> Response<'a> {
    let mut output = Vec::new();
    if complete {
        if answer.thinking {
            output.push(reasoning_item(answer, true));
        }
        output.push(answer_item(answer, true));
    }
    Response {
        id: response_id(answer),
        object: "response",
        created_at: answer.created,
        status: if complete { "completed" } else { "in_progress" },
        error: None,
        incomplete_details: None,
        model: &answer.model,
        output,
        parallel_tool_calls: true,
        tool_choice: "auto",
        tools: [],
        // Input includes the cached tokens, output the reasoning ones.
        usage: complete.then(|| ResponseUsage {
            input_tokens: answer.usage.input,
            input_tokens_details: InputTokensDetails {
                cached_tokens: answer.usage.cached,
                cache_write_tokens: 0,
            },
            output_tokens: answer.usage.output_with_reasoning(),
            output_tokens_details: OutputTokensDetails {
                reasoning_tokens: answer.usage.reasoning,
            },
            total_tokens: answer.usage.total(),
        }),
    }
}

/// The completed `response` object.
pub(super) fn answer_body(answer: &Answer) -> Bytes {
    wire::json(&response(answer, true))
}

/// The data of one Responses event: its `type`, its `sequence_number`, and its own fields.
#[derive(Serialize)]
struct Event<'a, T: Serialize> {
    #[serde(rename = "type")]
    kind: &'a str,
    sequence_number: u64,
    #[serde(flatten)]
    fields: T,
}

#[derive(Serialize)]
struct WithResponse<'a> {
    response: Response<'a>,
}

#[derive(Serialize)]
struct WithItem {
    output_index: u32,
    item: Value,
}

#[derive(Serialize)]
struct WithPart<'a> {
    item_id: &'a str,
    output_index: u32,
    content_index: u32,
    part: OutputText<'a>,
}

#[derive(Serialize)]
struct WithDelta<'a> {
    item_id: &'a str,
    output_index: u32,
    content_index: u32,
    delta: &'a str,
    logprobs: [(); 0],
}

#[derive(Serialize)]
struct WithText<'a> {
    item_id: &'a str,
    output_index: u32,
    content_index: u32,
    text: &'a str,
    logprobs: [(); 0],
}

#[derive(Serialize)]
struct WithArgumentsDelta<'a> {
    item_id: &'a str,
    output_index: u32,
    delta: &'a str,
}

#[derive(Serialize)]
struct WithArguments<'a> {
    item_id: &'a str,
    output_index: u32,
    name: &'a str,
    arguments: &'a str,
}

#[derive(Serialize)]
struct WithSummaryPart<'a> {
    item_id: &'a str,
    output_index: u32,
    summary_index: u32,
    part: Value,
}

#[derive(Serialize)]
struct WithSummaryDelta<'a> {
    item_id: &'a str,
    output_index: u32,
    summary_index: u32,
    delta: &'a str,
}

#[derive(Serialize)]
struct WithSummaryText<'a> {
    item_id: &'a str,
    output_index: u32,
    summary_index: u32,
    text: &'a str,
}

#[derive(Serialize)]
struct WithError<'a> {
    code: &'static str,
    message: &'a str,
    param: Option<()>,
}

/// Streams the Responses events: `response.created`, `response.in_progress`; when reasoning, the
/// `reasoning` item at output index 0 (`response.output_item.added`,
/// `response.reasoning_summary_part.added`, `response.reasoning_summary_text.delta`,
/// `response.reasoning_summary_text.done`, `response.reasoning_summary_part.done`,
/// `response.output_item.done`); then the answer item: for a message
/// `response.output_item.added`, `response.content_part.added`, one
/// `response.output_text.delta` per piece, `response.output_text.done`,
/// `response.content_part.done`, `response.output_item.done`; for a function call
/// `response.output_item.added`, one `response.function_call_arguments.delta` per piece,
/// `response.function_call_arguments.done`, `response.output_item.done`; then
/// `response.completed` with the full output. Or an `error` event.
pub(super) struct EventEncoder {
    answer: Answer,
    item_id: String,
    /// The answer item's output index (1 after a reasoning item).
    output_index: u32,
    sequence_number: u64,
}

impl EventEncoder {
    pub(super) fn new(answer: Answer) -> Self {
        let item_id = item_id(&answer);
        let output_index = u32::from(answer.thinking);
        EventEncoder {
            answer,
            item_id,
            output_index,
            sequence_number: 0,
        }
    }

    fn push<T: Serialize>(out: &mut BytesMut, sequence_number: &mut u64, kind: &str, fields: T) {
        let event = Event {
            kind,
            sequence_number: *sequence_number,
            fields,
        };
        *sequence_number += 1;
        wire::push_event(out, Some(kind), &event);
    }

    /// The events of the whole `reasoning` item, at output index 0.
    fn reasoning(&mut self, out: &mut BytesMut) {
        let seq = &mut self.sequence_number;
        let answer = &self.answer;
        let item_id = reasoning_id(answer);
        let item = |complete| WithItem {
            output_index: 0,
            item: reasoning_item(answer, complete),
        };
        Self::push(out, seq, "response.output_item.added", item(false));
        let part = |text| WithSummaryPart {
            item_id: &item_id,
            output_index: 0,
            summary_index: 0,
            part: json!({"type": "summary_text", "text": text}),
        };
        Self::push(out, seq, "response.reasoning_summary_part.added", part(""));
        let delta = WithSummaryDelta {
            item_id: &item_id,
            output_index: 0,
            summary_index: 0,
            delta: THINKING_TEXT,
        };
        Self::push(out, seq, "response.reasoning_summary_text.delta", delta);
        let done = WithSummaryText {
            item_id: &item_id,
            output_index: 0,
            summary_index: 0,
            text: THINKING_TEXT,
        };
        Self::push(out, seq, "response.reasoning_summary_text.done", done);
        Self::push(
            out,
            seq,
            "response.reasoning_summary_part.done",
            part(THINKING_TEXT),
        );
        Self::push(out, seq, "response.output_item.done", item(true));
    }
}

impl super::StreamEncoder for EventEncoder {
    fn opening(&mut self, out: &mut BytesMut) {
        for kind in ["response.created", "response.in_progress"] {
            let fields = WithResponse {
                response: response(&self.answer, false),
            };
            Self::push(out, &mut self.sequence_number, kind, fields);
        }
        if self.answer.thinking {
            self.reasoning(out);
        }
        let seq = &mut self.sequence_number;
        let item = WithItem {
            output_index: self.output_index,
            item: answer_item(&self.answer, false),
        };
        Self::push(out, seq, "response.output_item.added", item);
        if self.answer.tool.is_none() {
            let part = WithPart {
                item_id: &self.item_id,
                output_index: self.output_index,
                content_index: 0,
                part: output_text(""),
            };
            Self::push(out, seq, "response.content_part.added", part);
        }
    }

    fn chunk(&mut self, piece: &str, out: &mut BytesMut) {
        let seq = &mut self.sequence_number;
        if self.answer.tool.is_some() {
            let delta = WithArgumentsDelta {
                item_id: &self.item_id,
                output_index: self.output_index,
                delta: piece,
            };
            Self::push(out, seq, "response.function_call_arguments.delta", delta);
        } else {
            let delta = WithDelta {
                item_id: &self.item_id,
                output_index: self.output_index,
                content_index: 0,
                delta: piece,
                logprobs: [],
            };
            Self::push(out, seq, "response.output_text.delta", delta);
        }
    }

    fn closing(&mut self, out: &mut BytesMut) {
        let seq = &mut self.sequence_number;
        let answer = &self.answer;
        let output_index = self.output_index;
        match &answer.tool {
            Some(name) => {
                let done = WithArguments {
                    item_id: &self.item_id,
                    output_index,
                    name,
                    arguments: &answer.text,
                };
                Self::push(out, seq, "response.function_call_arguments.done", done);
            }
            None => {
                let text = WithText {
                    item_id: &self.item_id,
                    output_index,
                    content_index: 0,
                    text: &answer.text,
                    logprobs: [],
                };
                Self::push(out, seq, "response.output_text.done", text);
                let part = WithPart {
                    item_id: &self.item_id,
                    output_index,
                    content_index: 0,
                    part: output_text(&answer.text),
                };
                Self::push(out, seq, "response.content_part.done", part);
            }
        }
        let item = WithItem {
            output_index,
            item: answer_item(answer, true),
        };
        Self::push(out, seq, "response.output_item.done", item);
        let fields = WithResponse {
            response: response(answer, true),
        };
        Self::push(out, seq, "response.completed", fields);
    }

    fn error(&mut self, status: StatusCode, message: &str, out: &mut BytesMut) {
        let code = match status.as_u16() {
            429 => "rate_limit_exceeded",
            500.. => "server_error",
            _ => "invalid_request_error",
        };
        let fields = WithError {
            code,
            message,
            param: None,
        };
        Self::push(out, &mut self.sequence_number, "error", fields);
    }
}
