//! Gemini: `GenerateContentResponse`, its stream (SSE with `alt=sse`, otherwise one JSON array),
//! `countTokens`, and the Google error shape.

use bytes::{BufMut, Bytes, BytesMut};
use http::StatusCode;
use serde::Serialize;
use serde_json::Value;

use super::{Answer, Framing, GenerateRequest};
use crate::conversation::{Conversation, Role};
use crate::wire;

/// Parses `{contents: [{role, parts: [{text}]}], systemInstruction?}`; the model and whether to
/// stream come from the path.
pub(super) fn parse(body: &Value, model: &str, stream: Option<Framing>) -> GenerateRequest {
    let mut conversation = Conversation::default();
    let system = body
        .get("systemInstruction")
        .or_else(|| body.get("system_instruction"));
    if let Some(parts) = system.and_then(|system| system.get("parts")) {
        conversation.push_content(Role::System, parts);
    }
    for content in body
        .get("contents")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice)
    {
        let role = match content.get("role").and_then(Value::as_str) {
            Some("model") => Role::Assistant,
            Some("function" | "tool") => Role::Tool,
            _ => Role::User,
        };
        conversation.push_content(role, content.get("parts").unwrap_or(&Value::Null));
    }
    GenerateRequest {
        model: model.to_owned(),
        conversation,
        stream,
        include_usage: false,
        tool: None,
    }
}

/// Parses a `countTokens` body: `{contents}` or `{generateContentRequest: {contents, …}}`.
pub(super) fn parse_count_tokens(body: &Value, model: &str) -> GenerateRequest {
    let request = body.get("generateContentRequest").unwrap_or(body);
    parse(request, model, None)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GenerateContentResponse<'a> {
    candidates: [Candidate<'a>; 1],
    #[serde(skip_serializing_if = "Option::is_none")]
    usage_metadata: Option<UsageMetadata>,
    model_version: &'a str,
    response_id: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Candidate<'a> {
    content: Content<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    finish_reason: Option<&'static str>,
    index: u32,
}

#[derive(Serialize)]
struct Content<'a> {
    role: &'static str,
    parts: [Part<'a>; 1],
}

#[derive(Serialize)]
struct Part<'a> {
    text: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct UsageMetadata {
    prompt_token_count: u64,
    candidates_token_count: u64,
    total_token_count: u64,
    cached_content_token_count: u64,
}

fn response<'a>(
    answer: &'a Answer,
    response_id: &'a str,
    text: &'a str,
    finished: bool,
) -> GenerateContentResponse<'a> {
    GenerateContentResponse {
        candidates: [Candidate {
            content: Content {
                role: "model",
                parts: [Part { text }],
            },
            finish_reason: finished.then_some("STOP"),
            index: 0,
        }],
        usage_metadata: finished.then(|| UsageMetadata {
            prompt_token_count: answer.usage.input,
            candidates_token_count: answer.usage.output,
            total_token_count: answer.usage.input + answer.usage.output,
            cached_content_token_count: answer.usage.cached,
        }),
        model_version: &answer.model,
        response_id,
    }
}

fn response_id(answer: &Answer) -> String {
    format!("mock-{}", answer.sequence)
}

/// The `GenerateContentResponse`.
pub(super) fn answer_body(answer: &Answer) -> Bytes {
    let id = response_id(answer);
    wire::json(&response(answer, &id, &answer.text, true))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TotalTokens {
    total_tokens: u64,
}

/// `{"totalTokens": n}`.
pub(super) fn count_tokens_body(tokens: u64) -> Bytes {
    wire::json(&TotalTokens {
        total_tokens: tokens,
    })
}

/// Streams one `GenerateContentResponse` per piece, then a last one with `finishReason: STOP`
/// and the `usageMetadata`. With SSE framing each is a `data:` event (no `[DONE]`); otherwise
/// they are the elements of one JSON array. An error is one more element / event:
/// `{"error":{…}}`.
pub(super) struct ChunkEncoder {
    answer: Answer,
    response_id: String,
    framing: Framing,
    elements: u32,
}

impl ChunkEncoder {
    pub(super) fn new(answer: Answer, framing: Framing) -> Self {
        let response_id = response_id(&answer);
        ChunkEncoder {
            answer,
            response_id,
            framing,
            elements: 0,
        }
    }

    /// Writes one element: an SSE `data:` event, or the next array element.
    fn push(framing: Framing, elements: &mut u32, out: &mut BytesMut, element: &impl Serialize) {
        match framing {
            Framing::Sse => wire::push_event(out, None, element),
            Framing::JsonArray => {
                if *elements > 0 {
                    out.put_slice(b",\r\n");
                }
                wire::push_json(out, element);
            }
        }
        *elements += 1;
    }

    fn end_array(&self, out: &mut BytesMut) {
        if self.framing == Framing::JsonArray {
            out.put_slice(b"]");
        }
    }
}

impl super::StreamEncoder for ChunkEncoder {
    fn opening(&mut self, out: &mut BytesMut) {
        if self.framing == Framing::JsonArray {
            out.put_slice(b"[");
        }
    }

    fn chunk(&mut self, piece: &str, out: &mut BytesMut) {
        let element = response(&self.answer, &self.response_id, piece, false);
        Self::push(self.framing, &mut self.elements, out, &element);
    }

    fn closing(&mut self, out: &mut BytesMut) {
        let element = response(&self.answer, &self.response_id, "", true);
        Self::push(self.framing, &mut self.elements, out, &element);
        self.end_array(out);
    }

    fn error(&mut self, status: StatusCode, message: &str, out: &mut BytesMut) {
        Self::push(
            self.framing,
            &mut self.elements,
            out,
            &ErrorEnvelope::new(status, message),
        );
        self.end_array(out);
    }
}

#[derive(Serialize)]
struct ErrorEnvelope<'a> {
    error: ErrorDetail<'a>,
}

#[derive(Serialize)]
struct ErrorDetail<'a> {
    code: u16,
    message: &'a str,
    status: &'static str,
}

impl<'a> ErrorEnvelope<'a> {
    fn new(status: StatusCode, message: &'a str) -> Self {
        let status_name = match status.as_u16() {
            400 => "INVALID_ARGUMENT",
            401 => "UNAUTHENTICATED",
            403 => "PERMISSION_DENIED",
            404 => "NOT_FOUND",
            409 => "ABORTED",
            429 => "RESOURCE_EXHAUSTED",
            499 => "CANCELLED",
            500 => "INTERNAL",
            501 => "UNIMPLEMENTED",
            503 => "UNAVAILABLE",
            504 => "DEADLINE_EXCEEDED",
            _ if status.is_client_error() => "FAILED_PRECONDITION",
            _ => "UNKNOWN",
        };
        ErrorEnvelope {
            error: ErrorDetail {
                code: status.as_u16(),
                message,
                status: status_name,
            },
        }
    }
}

/// `{"error":{"code","message","status"}}`.
pub(super) fn error_body(status: StatusCode, message: &str) -> Bytes {
    wire::json(&ErrorEnvelope::new(status, message))
}
