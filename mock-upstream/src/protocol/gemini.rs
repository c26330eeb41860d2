//! Gemini: `GenerateContentResponse`, its stream (SSE with `alt=sse`, otherwise one JSON array),
//! `countTokens`, and the Google error shape.
//!
//! A request that declares functions is answered with a `functionCall` part (unless its last
//! content carries `functionResponse`s); one whose `thinkingConfig` sets `includeThoughts`
//! gets a thought part first.

use base64::Engine;
use base64::prelude::BASE64_STANDARD;
use bytes::{BufMut, Bytes, BytesMut};
use http::StatusCode;
use serde::Serialize;
use serde_json::{Value, json};

use super::{Answer, Framing, GenerateRequest, THINKING_TEXT};
use crate::conversation::{Conversation, Role};
use crate::wire;

/// A field by its camelCase name or, as the REST API also takes, its snake_case one.
fn field<'a>(object: &'a Value, camel: &str, snake: &str) -> Option<&'a Value> {
    object.get(camel).or_else(|| object.get(snake))
}

/// Parses `{contents: [{role, parts}], systemInstruction?, tools?, toolConfig?,
/// generationConfig?}`; the model and whether to stream come from the path. A 400 for: no
/// `contents`; a role other than `user` / `model` (or the legacy `function`); a content without
/// parts; a function-call turn that does not follow a user or function-response turn; a
/// function-response turn whose part count differs from the call count of the turn before it;
/// a function declaration without a name.
pub(super) fn parse(
    body: &Value,
    model: &str,
    stream: Option<Framing>,
) -> Result<GenerateRequest, String> {
    let contents = body
        .get("contents")
        .and_then(Value::as_array)
        .filter(|contents| !contents.is_empty())
        .ok_or("* GenerateContentRequest.contents: contents is not specified")?;
    check_contents(contents)?;
    let functions = declared_functions(body)?;
    let mut conversation = Conversation::default();
    if let Some(parts) = field(body, "systemInstruction", "system_instruction")
        .and_then(|system| system.get("parts"))
    {
        conversation.push_content(Role::System, parts);
    }
    for content in contents {
        let role = match content.get("role").and_then(Value::as_str) {
            Some("model") => Role::Assistant,
            Some("function") => Role::Tool,
            _ => Role::User,
        };
        conversation.push_content(role, content.get("parts").unwrap_or(&Value::Null));
    }
    let answers_a_result = contents
        .last()
        .is_some_and(|content| count_parts(content, "functionResponse", "function_response") > 0);
    let calling = field(body, "toolConfig", "tool_config")
        .and_then(|config| field(config, "functionCallingConfig", "function_calling_config"));
    let mode = calling
        .and_then(|calling| calling.get("mode"))
        .and_then(Value::as_str);
    let allowed = calling
        .and_then(|calling| field(calling, "allowedFunctionNames", "allowed_function_names"))
        .and_then(|names| names.get(0))
        .and_then(Value::as_str);
    let tool = if mode == Some("NONE") || answers_a_result {
        None
    } else {
        allowed
            .or_else(|| functions.first().copied())
            .map(str::to_owned)
    };
    let thinking = field(body, "generationConfig", "generation_config")
        .and_then(|config| field(config, "thinkingConfig", "thinking_config"))
        .and_then(|thinking| field(thinking, "includeThoughts", "include_thoughts"))
        .and_then(Value::as_bool)
        == Some(true);
    Ok(GenerateRequest {
        model: model.to_owned(),
        conversation,
        stream,
        include_usage: false,
        tool,
        thinking,
    })
}

/// How many parts of a content carry `camel` (or `snake`).
fn count_parts(content: &Value, camel: &str, snake: &str) -> usize {
    content
        .get("parts")
        .and_then(Value::as_array)
        .map_or(0, |parts| {
            parts
                .iter()
                .filter(|part| field(part, camel, snake).is_some())
                .count()
        })
}

/// Roles, parts, and the pairing of function calls with function responses.
fn check_contents(contents: &[Value]) -> Result<(), String> {
    // The number of calls of the previous turn (0 when it was no function-call turn), and
    // whether that turn was the model's.
    let mut previous: Option<(usize, bool)> = None;
    for (index, content) in contents.iter().enumerate() {
        let role = content.get("role").and_then(Value::as_str);
        if !matches!(role, None | Some("user" | "model" | "function")) {
            return Err("Please use a valid role: user, model.".to_owned());
        }
        if content
            .get("parts")
            .and_then(Value::as_array)
            .is_none_or(Vec::is_empty)
        {
            return Err(format!(
                "* GenerateContentRequest.contents[{index}].parts: contents.parts must not be empty."
            ));
        }
        let calls = count_parts(content, "functionCall", "function_call");
        let responses = count_parts(content, "functionResponse", "function_response");
        let from_model = role == Some("model");
        if calls > 0 && previous.is_none_or(|(_, model)| model) {
            return Err("Please ensure that function call turn comes immediately after a user turn or after a function response turn.".to_owned());
        }
        if responses > 0 && previous.is_none_or(|(previous_calls, _)| previous_calls != responses) {
            return Err("Please ensure that the number of function response parts is equal to the number of function call parts of the function call turn.".to_owned());
        }
        previous = Some((if from_model { calls } else { 0 }, from_model));
    }
    Ok(())
}

/// The declared function names, each checked for a name.
fn declared_functions(body: &Value) -> Result<Vec<&str>, String> {
    let mut names = Vec::new();
    for (tool_index, tool) in body
        .get("tools")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice)
        .iter()
        .enumerate()
    {
        let declarations = field(tool, "functionDeclarations", "function_declarations")
            .and_then(Value::as_array)
            .map_or(&[][..], Vec::as_slice);
        for (index, declaration) in declarations.iter().enumerate() {
            let name = declaration
                .get("name")
                .and_then(Value::as_str)
                .filter(|name| !name.is_empty())
                .ok_or_else(|| {
                    format!(
                        "* GenerateContentRequest.tools[{tool_index}].function_declarations[{index}].name: Function name cannot be empty."
                    )
                })?;
            names.push(name);
        }
    }
    Ok(names)
}

/// Parses a `countTokens` body: `{contents}` or `{generateContentRequest: {contents, …}}`.
pub(super) fn parse_count_tokens(body: &Value, model: &str) -> Result<GenerateRequest, String> {
    let request = field(body, "generateContentRequest", "generate_content_request");
    if request.is_some() && body.get("contents").is_some() {
        return Err(
            "* CountTokensRequest: contents and generate_content_request are mutually exclusive"
                .to_owned(),
        );
    }
    parse(request.unwrap_or(body), model, None)
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
    parts: Vec<Part<'a>>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum Part<'a> {
    Text { text: &'a str },
    Other(Value),
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct UsageMetadata {
    prompt_token_count: u64,
    candidates_token_count: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    thoughts_token_count: Option<u64>,
    total_token_count: u64,
    cached_content_token_count: u64,
}

/// The thought part the answer opens with. Its `thoughtSignature` is bytes, base64 on the
/// wire (as the SDKs require): the encoding of `mock-gemini-sig-<sequence>`.
fn thought_part(answer: &Answer) -> Part<'static> {
    let signature = BASE64_STANDARD.encode(format!("mock-gemini-sig-{}", answer.sequence));
    Part::Other(json!({"text": THINKING_TEXT, "thought": true, "thoughtSignature": signature}))
}

/// The function-call part (Gemini gives calls no id).
fn call_part(answer: &Answer) -> Option<Part<'static>> {
    let name = answer.tool.as_deref()?;
    Some(Part::Other(
        json!({"functionCall": {"name": name, "args": answer.arguments()}}),
    ))
}

/// One response: `parts`, and (when `finished`) `finishReason: STOP` and the usage.
fn response<'a>(
    answer: &'a Answer,
    response_id: &'a str,
    parts: Vec<Part<'a>>,
    finished: bool,
) -> GenerateContentResponse<'a> {
    let usage = &answer.usage;
    GenerateContentResponse {
        candidates: [Candidate {
            content: Content {
                role: "model",
                parts,
            },
            finish_reason: finished.then_some("STOP"),
            index: 0,
        }],
        // `promptTokenCount` includes the cached tokens; `candidatesTokenCount` excludes the
        // thoughts, counted apart.
        usage_metadata: finished.then(|| UsageMetadata {
            prompt_token_count: usage.input,
            candidates_token_count: usage.output,
            thoughts_token_count: (usage.reasoning > 0).then_some(usage.reasoning),
            total_token_count: usage.total(),
            cached_content_token_count: usage.cached,
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
    let mut parts = Vec::with_capacity(2);
    if answer.thinking {
        parts.push(thought_part(answer));
    }
    parts.push(call_part(answer).unwrap_or(Part::Text { text: &answer.text }));
    wire::json(&response(answer, &id, parts, true))
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

/// Streams `GenerateContentResponse`s: the thought part first (when asked), then for a text
/// answer one response per piece and a last one with an empty text, `finishReason: STOP` and
/// the `usageMetadata`; for a function call one response with the whole call, `STOP` and the
/// usage. With SSE framing each is a `data:` event (no `[DONE]`); otherwise they are the
/// elements of one JSON array. An error is one more element / event: `{"error":{…}}`.
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
        if self.answer.thinking {
            let parts = vec![thought_part(&self.answer)];
            let element = response(&self.answer, &self.response_id, parts, false);
            Self::push(self.framing, &mut self.elements, out, &element);
        }
    }

    fn chunk(&mut self, piece: &str, out: &mut BytesMut) {
        // A function call goes whole in the closing response.
        if self.answer.tool.is_some() {
            return;
        }
        let parts = vec![Part::Text { text: piece }];
        let element = response(&self.answer, &self.response_id, parts, false);
        Self::push(self.framing, &mut self.elements, out, &element);
    }

    fn closing(&mut self, out: &mut BytesMut) {
        let part = call_part(&self.answer).unwrap_or(Part::Text { text: "" });
        let element = response(&self.answer, &self.response_id, vec![part], true);
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
