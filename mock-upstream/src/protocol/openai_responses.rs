//! OpenAI Responses: the `response` object and the `response.*` event stream. Errors use the
//! OpenAI shape (see `openai_chat`).

use bytes::{Bytes, BytesMut};
use http::StatusCode;
use serde::Serialize;
use serde_json::Value;

use super::{Answer, Framing, GenerateRequest};
use crate::conversation::{Conversation, Role};
use crate::wire;

/// Parses `{model, input (string or items), instructions?, stream?}`.
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
    match body.get("input") {
        Some(Value::String(text)) => conversation.push(Role::User, text.clone()),
        Some(Value::Array(items)) => {
            for item in items {
                push_item(&mut conversation, item);
            }
        }
        _ => return Err("'input' must be a string or an array of items".to_owned()),
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

/// One `input` item: a message (typed `message` or just carrying a `role`), a tool call or
/// reasoning (the assistant's), a tool output (the client's), or anything else as user input.
fn push_item(conversation: &mut Conversation, item: &Value) {
    let kind = item
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("message");
    match kind {
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
    model: &'a str,
    output: Vec<OutputMessage<'a>>,
    usage: Option<ResponseUsage>,
}

#[derive(Serialize)]
struct OutputMessage<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    id: String,
    status: &'static str,
    role: &'static str,
    content: Vec<OutputText<'a>>,
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
}

#[derive(Serialize)]
struct OutputTokensDetails {
    reasoning_tokens: u64,
}

fn response_id(answer: &Answer) -> String {
    format!("resp_mock{}", answer.sequence)
}

fn message_id(answer: &Answer) -> String {
    format!("msg_mock{}", answer.sequence)
}

fn output_text(text: &str) -> OutputText<'_> {
    OutputText {
        kind: "output_text",
        text,
        annotations: [],
    }
}

fn output_message<'a>(
    answer: &Answer,
    status: &'static str,
    text: Option<&'a str>,
) -> OutputMessage<'a> {
    OutputMessage {
        kind: "message",
        id: message_id(answer),
        status,
        role: "assistant",
        content: text.map(output_text).into_iter().collect(),
    }
}

/// The `response` object; `complete: false` gives the in-progress form the stream opens with.
fn response<'a>(answer: &'a Answer, complete: bool) -> Response<'a> {
    Response {
        id: response_id(answer),
        object: "response",
        created_at: answer.created,
        status: if complete { "completed" } else { "in_progress" },
        model: &answer.model,
        output: if complete {
            vec![output_message(answer, "completed", Some(&answer.text))]
        } else {
            Vec::new()
        },
        usage: complete.then(|| ResponseUsage {
            input_tokens: answer.usage.input,
            input_tokens_details: InputTokensDetails {
                cached_tokens: answer.usage.cached,
            },
            output_tokens: answer.usage.output,
            output_tokens_details: OutputTokensDetails {
                reasoning_tokens: 0,
            },
            total_tokens: answer.usage.input + answer.usage.output,
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
struct WithItem<'a> {
    output_index: u32,
    item: OutputMessage<'a>,
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
}

#[derive(Serialize)]
struct WithText<'a> {
    item_id: &'a str,
    output_index: u32,
    content_index: u32,
    text: &'a str,
}

#[derive(Serialize)]
struct WithError<'a> {
    code: &'static str,
    message: &'a str,
    param: Option<()>,
}

/// Streams the Responses events: `response.created`, `response.in_progress`,
/// `response.output_item.added`, `response.content_part.added`, one `response.output_text.delta`
/// per piece, then `response.output_text.done`, `response.content_part.done`,
/// `response.output_item.done` and `response.completed`; or an `error` event.
pub(super) struct EventEncoder {
    answer: Answer,
    item_id: String,
    sequence_number: u64,
}

impl EventEncoder {
    pub(super) fn new(answer: Answer) -> Self {
        let item_id = message_id(&answer);
        EventEncoder {
            answer,
            item_id,
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
}

impl super::StreamEncoder for EventEncoder {
    fn opening(&mut self, out: &mut BytesMut) {
        let seq = &mut self.sequence_number;
        let answer = &self.answer;
        for kind in ["response.created", "response.in_progress"] {
            let fields = WithResponse {
                response: response(answer, false),
            };
            Self::push(out, seq, kind, fields);
        }
        let item = output_message(answer, "in_progress", None);
        Self::push(
            out,
            seq,
            "response.output_item.added",
            WithItem {
                output_index: 0,
                item,
            },
        );
        let part = WithPart {
            item_id: &self.item_id,
            output_index: 0,
            content_index: 0,
            part: output_text(""),
        };
        Self::push(out, seq, "response.content_part.added", part);
    }

    fn chunk(&mut self, piece: &str, out: &mut BytesMut) {
        let delta = WithDelta {
            item_id: &self.item_id,
            output_index: 0,
            content_index: 0,
            delta: piece,
        };
        Self::push(
            out,
            &mut self.sequence_number,
            "response.output_text.delta",
            delta,
        );
    }

    fn closing(&mut self, out: &mut BytesMut) {
        let seq = &mut self.sequence_number;
        let answer = &self.answer;
        let text = WithText {
            item_id: &self.item_id,
            output_index: 0,
            content_index: 0,
            text: &answer.text,
        };
        Self::push(out, seq, "response.output_text.done", text);
        let part = WithPart {
            item_id: &self.item_id,
            output_index: 0,
            content_index: 0,
            part: output_text(&answer.text),
        };
        Self::push(out, seq, "response.content_part.done", part);
        let item = output_message(answer, "completed", Some(&answer.text));
        Self::push(
            out,
            seq,
            "response.output_item.done",
            WithItem {
                output_index: 0,
                item,
            },
        );
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
