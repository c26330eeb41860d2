//! Whole Responses answers: an upstream's response object into the hub answer, and a hub
//! answer into the response object a client validates as `openai.types.responses.Response`.

use std::borrow::Cow;

use serde_json::{Value, json};

use super::out::{
    Empty2, NullReasoning, OutputItem, OutputText, ReasonOut, ResponseOut, SummaryOut,
    TextFormatText, UsageOut,
};
use super::request::{REDACTED_PREFIX, reasoning_part};
use super::tools::{ClientTools, custom_input};
use super::wire::{ResponseObject, UsageObject};
use crate::ir::{Finish, Part, Response, Signature, SignatureFamily, Usage};
use crate::{ClientView, TranslateError};

/// Hub usage from Responses usage (same meaning as OpenAI's).
pub(crate) fn usage_from_wire(usage: &UsageObject) -> Usage {
    Usage {
        input: usage.input_tokens,
        cached: usage
            .input_tokens_details
            .as_ref()
            .map_or(0, |d| d.cached_tokens),
        cache_write: usage
            .input_tokens_details
            .as_ref()
            .map_or(0, |d| d.cache_write_tokens),
        output: usage.output_tokens,
        reasoning: usage
            .output_tokens_details
            .as_ref()
            .map_or(0, |d| d.reasoning_tokens),
    }
}

/// The finish of a terminal response object (`saw_tool`: a call was in the output).
pub(crate) fn finish_from_wire(response: &ResponseObject, saw_tool: bool) -> Finish {
    match response.status.as_deref() {
        Some("incomplete") => {
            match response
                .incomplete_details
                .as_ref()
                .and_then(|d| d.reason.as_deref())
            {
                Some("max_output_tokens") | Some("max_tokens") => Finish::Length,
                Some("content_filter") => Finish::ContentFilter,
                Some(other) => Finish::Other(other.to_owned()),
                None => Finish::Other("incomplete".to_owned()),
            }
        }
        _ if saw_tool => Finish::ToolCalls,
        _ => Finish::Stop,
    }
}

/// The message of a failed response.
pub(crate) fn failure_message(response: Option<&ResponseObject>) -> String {
    response
        .and_then(|r| r.error.as_ref())
        .and_then(|e| e.message.clone())
        .unwrap_or_else(|| "the upstream response failed".to_owned())
}

/// Decodes an upstream's whole answer (a response object, or a terminal stream event that
/// wraps one).
pub(crate) fn decode_response(body: &[u8]) -> Result<Response, TranslateError> {
    let mut wire: ResponseObject = serde_json::from_slice(body)
        .map_err(|e| TranslateError::Upstream(format!("response body: {e}")))?;
    if let Some(inner) = wire.response.take()
        && inner.get().starts_with('{')
    {
        wire = serde_json::from_str(inner.get())
            .map_err(|e| TranslateError::Upstream(format!("response object: {e}")))?;
    }
    if wire.status.as_deref() == Some("failed") || wire.error.is_some() {
        return Err(TranslateError::Upstream(failure_message(Some(&wire))));
    }
    let mut content = Vec::new();
    let mut refused = false;
    for item in std::mem::take(&mut wire.output) {
        match item.kind.as_deref() {
            Some("message") => {
                let Some(Value::Array(parts)) = item.content else {
                    continue;
                };
                for part in parts {
                    let Value::Object(mut part) = part else {
                        continue;
                    };
                    let key = match part.get("type").and_then(Value::as_str) {
                        Some("output_text") => "text",
                        Some("refusal") => {
                            refused = true;
                            "refusal"
                        }
                        _ => continue,
                    };
                    let text = match part.remove(key) {
                        Some(Value::String(text)) => text,
                        _ => String::new(),
                    };
                    content.push(Part::text(text));
                }
            }
            Some("reasoning") => {
                let part = reasoning_part(&item);
                let keep = match &part {
                    Part::Thinking { text, signature } => !text.is_empty() || signature.is_some(),
                    _ => true,
                };
                if keep {
                    content.push(part);
                }
            }
            Some("function_call") => content.push(Part::ToolCall {
                id: item.call_id.unwrap_or_default(),
                name: item.name.unwrap_or_default(),
                arguments: item.arguments.unwrap_or_default(),
                signature: None,
            }),
            Some("custom_tool_call") => content.push(Part::ToolCall {
                id: item.call_id.unwrap_or_default(),
                name: item.name.unwrap_or_default(),
                arguments: json!({"input": item.input.unwrap_or_default()}).to_string(),
                signature: None,
            }),
            _ => {}
        }
    }
    let saw_tool = content.iter().any(|p| matches!(p, Part::ToolCall { .. }));
    let mut finish = finish_from_wire(&wire, saw_tool);
    if refused && finish == Finish::Stop {
        finish = Finish::ContentFilter;
    }
    Ok(Response {
        id: wire.id.take().unwrap_or_default(),
        model: wire.model.take().unwrap_or_default(),
        created: wire.created_at.filter(|t| *t >= 0.0).map(|t| t as u64),
        content,
        finish,
        usage: wire.usage.as_ref().map(usage_from_wire).unwrap_or_default(),
    })
}

/// The client-facing response id: the upstream's when it is a Responses id, else one made
/// from the request's id.
pub(crate) fn response_id(upstream: &str, client: &ClientView) -> String {
    if upstream.starts_with("resp_") {
        upstream.to_owned()
    } else if !client.id.is_empty() {
        format!("resp_{}", client.id)
    } else if !upstream.is_empty() {
        format!("resp_{upstream}")
    } else {
        "resp_0".to_owned()
    }
}

/// The id of the `n`th synthesized item (`msg_…`, `rs_…`) of response `id`.
pub(crate) fn item_id(prefix: &str, response_id: &str, n: usize) -> String {
    format!(
        "{prefix}_{}_{n}",
        response_id.strip_prefix("resp_").unwrap_or(response_id)
    )
}

/// The `usage` object.
pub(crate) fn usage_json(usage: &Usage) -> Value {
    json!({
        "input_tokens": usage.input,
        "input_tokens_details": {"cached_tokens": usage.cached, "cache_write_tokens": usage.cache_write},
        "output_tokens": usage.output,
        "output_tokens_details": {"reasoning_tokens": usage.reasoning},
        "total_tokens": usage.total(),
    })
}

/// `status` and `incomplete_details` for a finish.
pub(crate) fn status(finish: &Finish) -> (&'static str, Value) {
    match finish {
        Finish::Length => ("incomplete", json!({"reason": "max_output_tokens"})),
        Finish::ContentFilter => ("incomplete", json!({"reason": "content_filter"})),
        _ => ("completed", Value::Null),
    }
}

/// A response object; `status` `in_progress` has no usage.
pub(crate) fn response_json(
    id: &str,
    created: u64,
    client: &ClientView,
    status: &str,
    incomplete: Value,
    output: Vec<Value>,
    usage: Option<&Usage>,
) -> Value {
    json!({
        "id": id,
        "object": "response",
        "created_at": created,
        "status": status,
        "background": false,
        "error": null,
        "incomplete_details": incomplete,
        "instructions": null,
        "max_output_tokens": null,
        "model": client.model,
        "output": output,
        "parallel_tool_calls": true,
        "previous_response_id": null,
        "reasoning": {"effort": null, "summary": null},
        "store": false,
        "temperature": null,
        "text": {"format": {"type": "text"}},
        "tool_choice": "auto",
        "tools": [],
        "top_p": null,
        "truncation": "disabled",
        "usage": usage.map(usage_json),
        "user": null,
        "metadata": {},
    })
}

/// A message item holding one text.
pub(crate) fn message_item(id: &str, text: &str, status: &str) -> Value {
    json!({
        "id": id,
        "type": "message",
        "status": status,
        "role": "assistant",
        "content": [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}],
    })
}

/// A reasoning item.
pub(crate) fn reasoning_item(id: &str, text: &str, encrypted: Option<String>) -> Value {
    let summary: Vec<Value> = if text.is_empty() {
        Vec::new()
    } else {
        vec![json!({"type": "summary_text", "text": text})]
    };
    let mut item = json!({"id": id, "type": "reasoning", "summary": summary});
    if let Some(encrypted) = encrypted {
        item["encrypted_content"] = json!(encrypted);
    }
    item
}

/// A tool call item in the shape the client declared the tool: `custom_tool_call` with the
/// raw input for freeform tools, `function_call` (with `namespace` for namespaced tools)
/// otherwise.
pub(crate) fn call_item(
    call_id: &str,
    name: &str,
    arguments: &str,
    status: &str,
    tools: &ClientTools,
) -> Value {
    let custom = tools.is_custom(name);
    let (namespace, name) = match tools.split(name) {
        Some((ns, child)) => (Some(ns), child),
        None => (None, name),
    };
    let mut item = if custom {
        json!({
            "id": format!("ctc_{call_id}"),
            "type": "custom_tool_call",
            "status": status,
            "call_id": call_id,
            "name": name,
            "input": custom_input(arguments),
        })
    } else {
        json!({
            "id": format!("fc_{call_id}"),
            "type": "function_call",
            "status": status,
            "call_id": call_id,
            "name": name,
            "arguments": arguments,
        })
    };
    if let Some(ns) = namespace {
        item["namespace"] = json!(ns);
    }
    item
}

/// How a thinking signature is written for a Responses client.
pub(crate) fn encrypted_for_client(signature: &Signature) -> String {
    signature.write(SignatureFamily::OpenAi)
}

/// How hidden reasoning of any family is carried through a Responses client.
pub(crate) fn redacted_for_client(data: &str, family: SignatureFamily) -> String {
    let signature = Signature {
        family,
        value: data.to_owned(),
    };
    format!(
        "{REDACTED_PREFIX}{}",
        signature.write(SignatureFamily::OpenAi)
    )
}

/// A reasoning item for a whole answer.
fn reasoning_out<'a>(id: String, text: &'a str, encrypted: Option<String>) -> OutputItem<'a> {
    let summary = if text.is_empty() {
        Vec::new()
    } else {
        vec![SummaryOut {
            kind: "summary_text",
            text,
        }]
    };
    OutputItem::Reasoning {
        id,
        kind: "reasoning",
        summary,
        encrypted_content: encrypted,
    }
}

/// A call item for a whole answer, in the shape the client declared the tool (see
/// [`call_item`]).
fn call_out<'a>(
    call_id: Cow<'a, str>,
    name: &'a str,
    arguments: &'a str,
    tools: &'a ClientTools,
) -> OutputItem<'a> {
    let custom = tools.is_custom(name);
    let (namespace, name) = match tools.split(name) {
        Some((ns, child)) => (Some(ns), child),
        None => (None, name),
    };
    let (id, kind, arguments, input) = if custom {
        (
            format!("ctc_{call_id}"),
            "custom_tool_call",
            None,
            Some(custom_input(arguments)),
        )
    } else {
        (
            format!("fc_{call_id}"),
            "function_call",
            Some(arguments),
            None,
        )
    };
    OutputItem::Call {
        id,
        kind,
        status: "completed",
        call_id,
        name,
        arguments,
        input,
        namespace,
    }
}

/// Encodes a whole answer for a Responses client: consecutive texts form one message item.
pub(crate) fn encode_response<'r>(response: &'r Response, client: &'r ClientView) -> Vec<u8> {
    let id = response_id(&response.id, client);
    let (status, incomplete) = match response.finish {
        Finish::Length => ("incomplete", Some("max_output_tokens")),
        Finish::ContentFilter => ("incomplete", Some("content_filter")),
        _ => ("completed", None),
    };
    let item_status = status;
    let mut output: Vec<OutputItem<'r>> = Vec::new();
    let mut texts: Vec<&'r str> = Vec::new();
    let mut in_text = false;
    let flush = |texts: &mut Vec<&'r str>, in_text: &mut bool, output: &mut Vec<OutputItem<'r>>| {
        if *in_text {
            let n = output.len();
            let text = match texts.as_slice() {
                [one] => Cow::Borrowed(*one),
                _ => Cow::Owned(texts.concat()),
            };
            output.push(OutputItem::Message {
                id: item_id("msg", &id, n),
                kind: "message",
                status: item_status,
                role: "assistant",
                content: [OutputText {
                    kind: "output_text",
                    text,
                    annotations: [],
                    logprobs: [],
                }],
            });
            texts.clear();
            *in_text = false;
        }
    };
    for (i, part) in response.content.iter().enumerate() {
        match part {
            Part::Text { text: t, .. } => {
                texts.push(t);
                in_text = true;
            }
            Part::Thinking { text: t, signature } => {
                flush(&mut texts, &mut in_text, &mut output);
                let n = output.len();
                output.push(reasoning_out(
                    item_id("rs", &id, n),
                    t,
                    signature.as_ref().map(encrypted_for_client),
                ));
            }
            Part::RedactedThinking { data, family } => {
                flush(&mut texts, &mut in_text, &mut output);
                let n = output.len();
                output.push(reasoning_out(
                    item_id("rs", &id, n),
                    "",
                    Some(redacted_for_client(data, *family)),
                ));
            }
            Part::ToolCall {
                id: call_id,
                name,
                arguments,
                signature,
            } => {
                flush(&mut texts, &mut in_text, &mut output);
                let call_id = if call_id.is_empty() {
                    Cow::Owned(format!("call_{}_{i}", client.id))
                } else {
                    Cow::Borrowed(call_id.as_str())
                };
                let arguments = if arguments.is_empty() {
                    "{}"
                } else {
                    arguments.as_str()
                };
                output.push(call_out(call_id, name, arguments, &client.responses_tools));
                // A call's own signature (Gemini binds one to a function call) has no field
                // in a call item: it follows as a signature-only reasoning item, which the
                // request decoder puts back onto the call.
                if let Some(signature) = signature {
                    let n = output.len();
                    output.push(reasoning_out(
                        item_id("rs", &id, n),
                        "",
                        Some(encrypted_for_client(signature)),
                    ));
                }
            }
            _ => {}
        }
    }
    flush(&mut texts, &mut in_text, &mut output);
    let created = response.created.unwrap_or(client.created);
    let body = ResponseOut {
        id: &id,
        object: "response",
        created_at: created,
        status,
        background: false,
        error: None,
        incomplete_details: incomplete.map(|reason| ReasonOut { reason }),
        instructions: None,
        max_output_tokens: None,
        model: &client.model,
        output,
        parallel_tool_calls: true,
        previous_response_id: None,
        reasoning: NullReasoning::default(),
        store: false,
        temperature: None,
        text: TextFormatText::default(),
        tool_choice: "auto",
        tools: [],
        top_p: None,
        truncation: "disabled",
        usage: Some(UsageOut::from(&response.usage)),
        user: None,
        metadata: Empty2::default(),
    };
    let mut out = Vec::with_capacity(1024);
    let _ = serde_json::to_writer(&mut out, &body);
    out
}
