//! Whole chat answers: an upstream's `chat.completion` to the hub answer and back out, plus
//! the usage and finish-reason mappings the stream codecs share.

use serde_json::Value;

use super::out::{OutAnswer, OutCall, OutCallFunction, OutChoice, OutCompletion, push_cow};

use super::wire::{ChatUsage, Completion, CompletionDetails, Content, ContentPart, PromptDetails};
use crate::ir::{Finish, Part, Response, Usage};
use crate::{ClientView, TranslateError};

/// Chat usage to the hub's (the same meaning: prompt includes cache, completion reasoning).
pub(super) fn decode_usage(usage: &ChatUsage) -> Usage {
    let prompt = usage.prompt_tokens_details.as_ref();
    Usage {
        input: usage.prompt_tokens,
        cached: prompt.and_then(|p| p.cached_tokens).unwrap_or(0),
        cache_write: prompt.and_then(|p| p.cached_creation_tokens).unwrap_or(0),
        output: usage.completion_tokens,
        reasoning: usage
            .completion_tokens_details
            .as_ref()
            .and_then(|c| c.reasoning_tokens)
            .unwrap_or(0),
    }
}

/// The hub's usage as chat's `usage` object.
pub(super) fn encode_usage(usage: &Usage) -> ChatUsage {
    ChatUsage {
        prompt_tokens: usage.input,
        completion_tokens: usage.output,
        total_tokens: usage.total(),
        prompt_tokens_details: Some(PromptDetails {
            cached_tokens: Some(usage.cached),
            cached_creation_tokens: (usage.cache_write > 0).then_some(usage.cache_write),
        }),
        completion_tokens_details: Some(CompletionDetails {
            reasoning_tokens: Some(usage.reasoning),
        }),
    }
}

/// A chat `finish_reason` in the hub's terms.
pub(super) fn decode_finish(reason: &str) -> Finish {
    match reason {
        "stop" => Finish::Stop,
        "length" | "max_tokens" => Finish::Length,
        "tool_calls" | "function_call" => Finish::ToolCalls,
        "content_filter" => Finish::ContentFilter,
        other => Finish::Other(other.to_owned()),
    }
}

/// The hub's finish as one of the five values the OpenAI SDK accepts; any tool call makes it
/// `tool_calls`.
pub(super) fn encode_finish(finish: &Finish, called_tools: bool) -> &'static str {
    match finish {
        Finish::Length => "length",
        Finish::ContentFilter => "content_filter",
        _ if called_tools => "tool_calls",
        Finish::ToolCalls => "tool_calls",
        Finish::Stop | Finish::StopSequence(_) | Finish::Other(_) => "stop",
    }
}

/// The message of an in-band error object.
pub(super) fn error_message(error: &Value) -> String {
    error
        .get("message")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .unwrap_or_else(|| error.to_string())
}

/// A tool name from a lenient field (a string; anything else is none).
pub(super) fn name_of(value: Option<&Value>) -> Option<&str> {
    value.and_then(Value::as_str).filter(|n| !n.is_empty())
}

/// Arguments text from a lenient field (a string, or an object some servers send).
pub(super) fn arguments_of(value: Option<Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s,
        Some(other) => other.to_string(),
    }
}

/// Decodes an upstream's whole answer (the first choice).
pub(crate) fn decode_response(body: &[u8]) -> Result<Response, TranslateError> {
    let wire: Completion<'_> = serde_json::from_slice(body)
        .map_err(|e| TranslateError::Upstream(format!("chat completion: {e}")))?;
    if let Some(error) = &wire.error {
        return Err(TranslateError::Upstream(error_message(error)));
    }
    let choice = wire
        .choices
        .unwrap_or_default()
        .into_iter()
        .find(|c| c.index == 0)
        .ok_or_else(|| TranslateError::Upstream("chat completion without choices".to_owned()))?;
    let message = choice.message.unwrap_or_default();
    let mut content = Vec::new();
    if let Some(text) = message
        .reasoning_content
        .or(message.reasoning)
        .filter(|t| !t.is_empty())
    {
        content.push(Part::Thinking {
            text: text.into_owned(),
            signature: None,
        });
    }
    match message.content {
        Some(Content::Text(text)) if !text.is_empty() => content.push(Part::text(text)),
        Some(Content::Parts(parts)) => {
            for part in parts {
                match part {
                    ContentPart::Text { text, .. } | ContentPart::Refusal { refusal: text } => {
                        content.push(Part::text(text))
                    }
                    _ => {}
                }
            }
        }
        _ => {}
    }
    let refused = message.refusal.as_ref().is_some_and(|r| !r.is_empty());
    if let Some(refusal) = message.refusal.filter(|r| !r.is_empty()) {
        content.push(Part::text(refusal));
    }
    for (j, call) in message
        .tool_calls
        .unwrap_or_default()
        .into_iter()
        .enumerate()
    {
        let function = call.function.unwrap_or_default();
        let arguments = arguments_of(function.arguments);
        content.push(Part::ToolCall {
            id: call
                .id
                .map(|id| id.into_owned())
                .filter(|id| !id.is_empty())
                .unwrap_or_else(|| format!("call_{}_{j}", wire.id)),
            name: name_of(function.name.as_ref()).unwrap_or("").to_owned(),
            arguments: if arguments.trim().is_empty() {
                "{}".to_owned()
            } else {
                arguments
            },
            signature: None,
        });
    }
    let called = content.iter().any(|p| matches!(p, Part::ToolCall { .. }));
    let finish = match choice.finish_reason.as_deref().filter(|r| !r.is_empty()) {
        _ if refused => Finish::ContentFilter,
        Some(reason) => match decode_finish(reason) {
            Finish::Stop if called => Finish::ToolCalls,
            other => other,
        },
        None if called => Finish::ToolCalls,
        None => Finish::Stop,
    };
    Ok(Response {
        id: wire.id.into_owned(),
        model: wire.model.into_owned(),
        created: wire.created,
        content,
        finish,
        usage: wire.usage.as_ref().map(decode_usage).unwrap_or_default(),
    })
}

/// The id the client sees: the upstream's when it is a chat id, else one made from the request.
pub(super) fn client_id(upstream: &str, client: &ClientView) -> String {
    if upstream.starts_with("chatcmpl") {
        upstream.to_owned()
    } else {
        format!("chatcmpl-{}", client.id)
    }
}

/// Encodes a whole answer for a chat client.
pub(crate) fn encode_response(response: &Response, client: &ClientView) -> Vec<u8> {
    let mut text = None;
    let mut reasoning = None;
    let mut calls = Vec::new();
    for part in &response.content {
        match part {
            Part::Text { text: t, .. } => push_cow(&mut text, t, ""),
            Part::Thinking { text: t, .. } => push_cow(&mut reasoning, t, ""),
            Part::ToolCall {
                id,
                name,
                arguments,
                ..
            } => calls.push(OutCall {
                id,
                kind: "function",
                function: OutCallFunction { name, arguments },
            }),
            _ => {}
        }
    }
    let text = text.unwrap_or_default();
    let called = !calls.is_empty();
    let id = client_id(&response.id, client);
    let body = OutCompletion {
        id: &id,
        object: "chat.completion",
        created: response.created.unwrap_or(client.created),
        model: &client.model,
        choices: [OutChoice {
            index: 0,
            message: OutAnswer {
                role: "assistant",
                content: (!text.is_empty() || !called).then_some(text),
                refusal: None,
                reasoning_content: reasoning.filter(|r| !r.is_empty()),
                tool_calls: calls,
            },
            logprobs: None,
            finish_reason: encode_finish(&response.finish, called),
        }],
        usage: encode_usage(&response.usage),
    };
    let mut out = Vec::with_capacity(1024);
    let _ = serde_json::to_writer(&mut out, &body);
    out
}
