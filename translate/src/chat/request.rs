//! Chat requests: a client's body to the hub request, and the hub request to an upstream's body.

use std::borrow::Cow;

use serde_json::{Value, json};

use super::out::{
    IncludeUsage, NameOnly, OpenAiSchema, OutCall, OutCallFunction, OutContent, OutFile, OutFormat,
    OutFunction, OutImage, OutMessage, OutPart, OutRequest, OutSchemaSpec, OutTool, OutToolChoice,
    UrlOrData, push_cow,
};

use super::wire::{ChatMessage, ChatRequest, Content, ContentPart, FilePart, ImageUrl};
use crate::TranslateError;
use crate::ir::{
    Media, Message, Part, Request, ResponseFormat, Role, SignatureFamily, Thinking, Tool,
    ToolChoice,
};

/// A 400 for a malformed request.
fn invalid(message: impl Into<String>) -> TranslateError {
    TranslateError::Invalid(message.into())
}

/// Decodes a client's `/chat/completions` body.
pub(crate) fn decode_request(body: &[u8]) -> Result<Request, TranslateError> {
    let wire: ChatRequest<'_> = serde_json::from_slice(body)?;
    if wire.functions.is_some() || wire.function_call.is_some() {
        let field = if wire.functions.is_some() {
            "functions"
        } else {
            "function_call"
        };
        return Err(TranslateError::unsupported(
            field,
            "legacy function calling is not translated; declare `tools` instead",
        ));
    }
    let mut request = Request {
        model: wire.model.into_owned(),
        max_tokens: wire.max_tokens.or(wire.max_completion_tokens),
        temperature: wire.temperature,
        top_p: wire.top_p,
        top_k: wire.top_k,
        n: wire.n,
        stream: wire.stream.unwrap_or(false),
        include_usage: wire
            .stream_options
            .as_ref()
            .is_some_and(|o| o.include_usage),
        user: wire.user.map(|u| u.into_owned()),
        parallel_tool_calls: wire.parallel_tool_calls,
        ..Request::default()
    };
    if let Some(effort) = &wire.reasoning_effort {
        let thinking = Thinking::from_effort_str(effort).ok_or_else(|| {
            invalid(format!(
                "reasoning_effort: unknown level {effort:?} (none|minimal|low|medium|high|xhigh)"
            ))
        })?;
        request.thinking = Some(thinking);
        request.include_thoughts = Some(thinking != Thinking::Off);
    }
    request.stop = match wire.stop {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) => vec![s],
        Some(Value::Array(items)) => items
            .into_iter()
            .map(|item| match item {
                Value::String(s) => Ok(s),
                _ => Err(invalid("stop: every stop sequence must be a string")),
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(invalid("stop: a string or an array of strings")),
    };
    request.response_format = wire
        .response_format
        .as_ref()
        .map(decode_response_format)
        .transpose()?;
    for (i, tool) in wire.tools.into_iter().enumerate() {
        match decode_tool(tool, i)? {
            Some(tool) => request.tools.push(tool),
            None => request.same_protocol_only.push(format!("tools[{i}]")),
        }
    }
    request.tool_choice = match &wire.tool_choice {
        None | Some(Value::Null) => None,
        Some(choice) => match decode_tool_choice(choice)? {
            Some(choice) => Some(choice),
            None => {
                request.same_protocol_only.push("tool_choice".to_owned());
                None
            }
        },
    };
    if wire.audio.is_some() {
        request.same_protocol_only.push("audio".to_owned());
    }
    if wire
        .modalities
        .as_ref()
        .is_some_and(|m| m.iter().any(|m| m == "audio"))
    {
        request.same_protocol_only.push("modalities".to_owned());
    }
    if wire.web_search_options.is_some() {
        request
            .same_protocol_only
            .push("web_search_options".to_owned());
    }
    if wire.logprobs == Some(true) {
        request.same_protocol_only.push("logprobs".to_owned());
    }
    if wire.prediction.is_some() {
        request.same_protocol_only.push("prediction".to_owned());
    }
    decode_messages(wire.messages, &mut request)?;
    Ok(request)
}

/// `response_format` in the hub's terms.
fn decode_response_format(value: &Value) -> Result<ResponseFormat, TranslateError> {
    match value.get("type").and_then(Value::as_str) {
        Some("text") => Ok(ResponseFormat::Text),
        Some("json_object") => Ok(ResponseFormat::JsonObject),
        Some("json_schema") => {
            let spec = value
                .get("json_schema")
                .ok_or_else(|| invalid("response_format.json_schema is required"))?;
            Ok(ResponseFormat::JsonSchema {
                name: spec
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("response")
                    .to_owned(),
                schema: spec
                    .get("schema")
                    .cloned()
                    .unwrap_or_else(|| json!({"type": "object"})),
                strict: spec.get("strict").and_then(Value::as_bool),
            })
        }
        _ => Err(invalid(
            "response_format.type: one of text, json_object, json_schema",
        )),
    }
}

/// A function tool (taken apart, its schema moved, not copied); `None` for other tool types
/// (only a chat upstream knows them).
fn decode_tool(mut tool: Value, i: usize) -> Result<Option<Tool>, TranslateError> {
    if tool.get("type").and_then(Value::as_str) != Some("function") {
        return Ok(None);
    }
    let outer_cache = tool.get_mut("cache_control").map(Value::take);
    let function = tool
        .get_mut("function")
        .ok_or_else(|| invalid(format!("tools[{i}].function is required")))?;
    let name = function
        .get("name")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| invalid(format!("tools[{i}].function.name is required")))?
        .to_owned();
    let mut take = |key: &str| function.get_mut(key).map(Value::take);
    let parameters = match take("parameters") {
        Some(p @ Value::Object(_)) => p,
        None | Some(Value::Null) => json!({"type": "object", "properties": {}}),
        Some(_) => {
            return Err(invalid(format!(
                "tools[{i}].function.parameters must be an object"
            )));
        }
    };
    let description = match take("description") {
        Some(Value::String(d)) => Some(d),
        _ => None,
    };
    let strict = take("strict").as_ref().and_then(Value::as_bool);
    let cache_control = outer_cache.or_else(|| take("cache_control"));
    Ok(Some(Tool {
        name,
        description,
        parameters,
        strict,
        cache_control,
    }))
}

/// `None` for choices only a chat upstream understands (`allowed_tools`, custom tools).
fn decode_tool_choice(choice: &Value) -> Result<Option<ToolChoice>, TranslateError> {
    match choice {
        Value::String(s) => match s.as_str() {
            "auto" => Ok(Some(ToolChoice::Auto)),
            "none" => Ok(Some(ToolChoice::None)),
            "required" => Ok(Some(ToolChoice::Required)),
            other => Err(invalid(format!(
                "tool_choice: unknown value {other:?} (auto|none|required or an object)"
            ))),
        },
        Value::Object(object) => match object.get("type").and_then(Value::as_str) {
            Some("function") => object
                .get("function")
                .and_then(|f| f.get("name"))
                .and_then(Value::as_str)
                .map(|name| Some(ToolChoice::Tool(name.to_owned())))
                .ok_or_else(|| invalid("tool_choice.function.name is required")),
            _ => Ok(None),
        },
        _ => Err(invalid("tool_choice: a string or an object")),
    }
}

/// Splits a `data:<type>;base64,<data>` URL.
pub(super) fn parse_data_url(url: &str) -> Option<(String, String)> {
    let rest = url.strip_prefix("data:")?;
    let (meta, data) = rest.split_once(',')?;
    let media_type = meta.strip_suffix(";base64")?;
    let media_type = if media_type.is_empty() {
        "application/octet-stream"
    } else {
        media_type
    };
    Some((media_type.to_owned(), data.to_owned()))
}

/// An `image_url` part: a data URL is inline bytes, anything else a URL.
fn decode_image(image: &ImageUrl<'_>) -> Media {
    let url = match image {
        ImageUrl::Object { url, .. } | ImageUrl::Bare(url) => url,
    };
    match parse_data_url(url) {
        Some((media_type, data)) => Media::Base64 { media_type, data },
        None => Media::Url(url.to_string()),
    }
}

/// A `file` part: a document inline (data URL or bare base64, PDF assumed) or by id.
fn decode_file(file: &FilePart<'_>, path: &str) -> Result<Part, TranslateError> {
    let title = file.filename.as_ref().map(|f| f.to_string());
    let media = if let Some(data) = &file.file_data {
        match parse_data_url(data) {
            Some((media_type, data)) => Media::Base64 { media_type, data },
            None if data.starts_with("data:") => {
                return Err(invalid(format!(
                    "{path}.file.file_data: not a base64 data URL"
                )));
            }
            None => Media::Base64 {
                media_type: "application/pdf".to_owned(),
                data: data.to_string(),
            },
        }
    } else if let Some(id) = &file.file_id {
        Media::FileId(id.to_string())
    } else {
        return Err(invalid(format!(
            "{path}.file: file_data or file_id is required"
        )));
    };
    Ok(Part::Document { media, title })
}

/// The parts of a message's content; `path` is `messages[i]`.
fn decode_content(content: Option<Content<'_>>, path: &str) -> Result<Vec<Part>, TranslateError> {
    let mut parts = Vec::new();
    match content {
        None => {}
        Some(Content::Text(text)) if text.is_empty() => {}
        Some(Content::Text(text)) => parts.push(Part::text(text)),
        Some(Content::Parts(items)) => {
            for (j, item) in items.into_iter().enumerate() {
                let at = format!("{path}.content[{j}]");
                match item {
                    ContentPart::Text {
                        text,
                        cache_control,
                    } => parts.push(Part::Text {
                        text: text.into_owned(),
                        cache_control,
                    }),
                    ContentPart::Refusal { refusal } => parts.push(Part::text(refusal)),
                    ContentPart::ImageUrl { image_url, .. } => {
                        parts.push(Part::Image(decode_image(&image_url)))
                    }
                    ContentPart::File { file } => parts.push(decode_file(&file, &at)?),
                    ContentPart::InputAudio { .. } => {
                        return Err(TranslateError::unsupported(
                            at,
                            "audio input is not translated",
                        ));
                    }
                    ContentPart::Unknown => {
                        return Err(invalid(format!("{at}.type: unknown content part type")));
                    }
                }
            }
        }
    }
    Ok(parts)
}

/// Puts `cache_control` on the last part that has none of its own.
fn mark_last(parts: &mut [Part], cache_control: Option<Value>) {
    if let (Some(mark), Some(Part::Text { cache_control, .. })) = (cache_control, parts.last_mut())
        && cache_control.is_none()
    {
        *cache_control = Some(mark);
    }
}

/// The conversation: system and developer text hoisted, tool messages grouped as tool results in one user turn that the next user text joins.
fn decode_messages(
    messages: Vec<ChatMessage<'_>>,
    request: &mut Request,
) -> Result<(), TranslateError> {
    // Whether the last hub message holds tool results that later user text may join.
    let mut after_tool_results = false;
    // The tool calls of the last assistant turn: (id, whether the id was made up here).
    let mut calls: Vec<(String, bool)> = Vec::new();
    for (i, message) in messages.into_iter().enumerate() {
        let path = format!("messages[{i}]");
        if message.function_call.is_some() {
            return Err(TranslateError::unsupported(
                format!("{path}.function_call"),
                "legacy function calling is not translated; use tool_calls",
            ));
        }
        match message.role.as_ref() {
            "system" | "developer" => {
                let mut parts = decode_content(message.content, &path)?;
                if parts.iter().any(|p| !matches!(p, Part::Text { .. })) {
                    return Err(invalid(format!("{path}.content: system text only")));
                }
                mark_last(&mut parts, message.cache_control);
                request.system.extend(parts);
            }
            "user" => {
                let mut parts = decode_content(message.content, &path)?;
                mark_last(&mut parts, message.cache_control);
                if after_tool_results && let Some(last) = request.messages.last_mut() {
                    last.parts.extend(parts);
                } else if !parts.is_empty() {
                    request.messages.push(Message {
                        role: Role::User,
                        parts,
                    });
                }
                after_tool_results = false;
            }
            "assistant" => {
                calls.clear();
                let mut parts = Vec::new();
                let reasoning = message.reasoning_content.or(message.reasoning);
                if let Some(text) = reasoning.filter(|t| !t.is_empty()) {
                    parts.push(Part::Thinking {
                        text: text.into_owned(),
                        signature: None,
                    });
                }
                let content = decode_content(message.content, &path)?;
                if content.iter().any(|p| !matches!(p, Part::Text { .. })) {
                    return Err(invalid(format!("{path}.content: assistant text only")));
                }
                parts.extend(content);
                if let Some(refusal) = message.refusal.filter(|r| !r.is_empty()) {
                    parts.push(Part::text(refusal));
                }
                mark_last(&mut parts, message.cache_control);
                for (j, call) in message
                    .tool_calls
                    .unwrap_or_default()
                    .into_iter()
                    .enumerate()
                {
                    let at = format!("{path}.tool_calls[{j}]");
                    let function = call
                        .function
                        .ok_or_else(|| invalid(format!("{at}.function is required")))?;
                    let name = match function.name {
                        Some(Value::String(name)) if !name.is_empty() => name,
                        _ => return Err(invalid(format!("{at}.function.name is required"))),
                    };
                    let arguments = match function.arguments {
                        Some(Value::String(a)) if !a.trim().is_empty() => a,
                        None | Some(Value::Null) | Some(Value::String(_)) => "{}".to_owned(),
                        Some(other) => other.to_string(),
                    };
                    let given = call
                        .id
                        .map(|id| id.into_owned())
                        .filter(|id| !id.is_empty());
                    let made_up = given.is_none();
                    let id = given.unwrap_or_else(|| format!("call_{i}_{j}"));
                    calls.push((id.clone(), made_up));
                    parts.push(Part::ToolCall {
                        id,
                        name,
                        arguments,
                        signature: None,
                    });
                }
                if !parts.is_empty() {
                    request.messages.push(Message {
                        role: Role::Assistant,
                        parts,
                    });
                }
                after_tool_results = false;
            }
            "tool" => {
                let mut call_id = message
                    .tool_call_id
                    .map(|id| id.into_owned())
                    .ok_or_else(|| invalid(format!("{path}.tool_call_id is required")))?;
                // A call that came without an id got one made up above, which the client
                // cannot know: a result naming no call of the last assistant turn answers the
                // first such call still unanswered.
                if !calls.iter().any(|(id, _)| *id == call_id)
                    && let Some(made_up) = calls.iter().position(|(_, made_up)| *made_up)
                {
                    call_id = calls.remove(made_up).0;
                }
                let mut content = decode_content(message.content, &path)?;
                // A tool message's cache_control marks its result (the last text of it).
                mark_last(&mut content, message.cache_control);
                let result = Part::ToolResult {
                    call_id,
                    name: None,
                    content,
                    is_error: false,
                };
                match request.messages.last_mut() {
                    Some(last) if after_tool_results => last.parts.push(result),
                    _ => request.messages.push(Message {
                        role: Role::User,
                        parts: vec![result],
                    }),
                }
                after_tool_results = true;
            }
            "function" => {
                return Err(TranslateError::unsupported(
                    format!("{path}.role"),
                    "legacy function messages are not translated; use role tool",
                ));
            }
            other => return Err(invalid(format!("{path}.role: unknown role {other:?}"))),
        }
    }
    Ok(())
}

/// Encodes a hub request for an OpenAI-compatible `/chat/completions` upstream.
pub(crate) fn encode_request(request: &Request) -> Result<Vec<u8>, TranslateError> {
    if request.n.is_some_and(|n| n > 1) {
        return Err(TranslateError::unsupported(
            "n",
            "only one choice is translated back",
        ));
    }
    let has_tools = !request.tools.is_empty();
    let body = OutRequest {
        model: &request.model,
        messages: encode_messages(request)?,
        tools: request
            .tools
            .iter()
            .map(|tool| OutTool {
                kind: "function",
                function: OutFunction {
                    name: &tool.name,
                    description: tool.description.as_deref(),
                    parameters: OpenAiSchema(&tool.parameters),
                    strict: tool.strict,
                },
            })
            .collect(),
        parallel_tool_calls: request.parallel_tool_calls.filter(|_| has_tools),
        // OpenAI refuses a `tool_choice` without `tools` (spec §8.7, orphaned tool_choice).
        tool_choice: request.tool_choice.as_ref().filter(|_| has_tools).map(
            |choice| match choice {
                ToolChoice::Auto => OutToolChoice::Mode("auto"),
                ToolChoice::None => OutToolChoice::Mode("none"),
                ToolChoice::Required => OutToolChoice::Mode("required"),
                ToolChoice::Tool(name) => OutToolChoice::Function {
                    kind: "function",
                    function: NameOnly { name },
                },
            },
        ),
        max_tokens: request.max_tokens,
        temperature: request.temperature,
        top_p: request.top_p,
        stop: &request.stop,
        n: request.n,
        response_format: request.response_format.as_ref().map(|format| match format {
            ResponseFormat::Text => OutFormat::Text,
            ResponseFormat::JsonObject => OutFormat::JsonObject,
            ResponseFormat::JsonSchema {
                name,
                schema,
                strict,
            } => OutFormat::JsonSchema {
                json_schema: OutSchemaSpec {
                    name,
                    schema,
                    strict: *strict,
                },
            },
        }),
        // Automatic thinking is the upstream's own default: no `reasoning_effort` (OpenAI has
        // no `auto` value).
        reasoning_effort: request.thinking.and_then(|thinking| match thinking {
            Thinking::Off => Some("none"),
            Thinking::Auto => None,
            other => Some(other.effort().map_or("medium", |e| e.openai())),
        }),
        user: request.user.as_deref(),
        stream: request.stream,
        stream_options: request.stream.then_some(IncludeUsage {
            include_usage: true,
        }),
    };
    let mut out = Vec::with_capacity(4096);
    serde_json::to_writer(&mut out, &body)?;
    Ok(out)
}

/// A user-side part as a chat content part.
fn encode_part<'a>(part: &'a Part, at: &str) -> Result<OutPart<'a>, TranslateError> {
    Ok(match part {
        Part::Text { text, .. } => OutPart::Text { text },
        Part::Image(Media::Base64 { media_type, data }) => OutPart::ImageUrl {
            image_url: OutImage {
                url: UrlOrData::Data(media_type, data),
            },
        },
        Part::Image(Media::Url(url)) => OutPart::ImageUrl {
            image_url: OutImage {
                url: UrlOrData::Url(url),
            },
        },
        Part::Image(Media::FileId(_)) => {
            return Err(TranslateError::unsupported(
                at,
                "an image by provider file id cannot be sent to a chat completions upstream",
            ));
        }
        Part::Document { media, title } => {
            let file = match media {
                Media::Base64 { media_type, data } => {
                    if media_type != "application/pdf" {
                        return Err(TranslateError::unsupported(
                            at,
                            format!("chat completions takes PDF files only, not {media_type}"),
                        ));
                    }
                    OutFile {
                        filename: Some(title.as_deref().unwrap_or("document.pdf")),
                        file_data: Some(UrlOrData::Data(media_type, data)),
                        file_id: None,
                    }
                }
                Media::FileId(id) => OutFile {
                    filename: None,
                    file_data: None,
                    file_id: Some(id),
                },
                Media::Url(_) => {
                    return Err(TranslateError::unsupported(
                        at,
                        "chat completions takes no document by URL (switchyard never fetches it)",
                    ));
                }
            };
            OutPart::File { file }
        }
        _ => {
            return Err(TranslateError::unsupported(
                at,
                "this kind of content cannot be sent here to a chat completions upstream",
            ));
        }
    })
}

/// Text-only parts as a string, else an array of parts.
fn encode_content(mut parts: Vec<OutPart<'_>>) -> OutContent<'_> {
    if parts.len() == 1
        && let Some(OutPart::Text { text }) = parts.first()
    {
        return OutContent::Text(Cow::Borrowed(text));
    }
    parts.shrink_to_fit();
    OutContent::Parts(parts)
}

/// A message with only a role and content.
fn plain<'a>(role: &'static str, content: OutContent<'a>) -> OutMessage<'a> {
    OutMessage {
        role,
        tool_call_id: None,
        content,
        reasoning_content: None,
        tool_calls: Vec::new(),
    }
}

/// The hub conversation as chat messages (system first).
fn encode_messages(request: &Request) -> Result<Vec<OutMessage<'_>>, TranslateError> {
    let mut out = Vec::with_capacity(request.messages.len() + 1);
    if !request.system.is_empty() {
        let mut text = None;
        for part in &request.system {
            if let Part::Text { text: t, .. } = part {
                push_cow(&mut text, t, "\n\n");
            }
        }
        out.push(plain("system", OutContent::Text(text.unwrap_or_default())));
    }
    for (i, message) in request.messages.iter().enumerate() {
        match message.role {
            Role::User => encode_user(message, i, &mut out)?,
            Role::Assistant => out.extend(encode_assistant(message, i)?),
        }
    }
    Ok(out)
}

/// Tool results become `tool` messages first (chat wants them right after the calls), then
/// the rest of the turn as one user message.
fn encode_user<'a>(
    message: &'a Message,
    i: usize,
    out: &mut Vec<OutMessage<'a>>,
) -> Result<(), TranslateError> {
    let mut rest = Vec::new();
    // Images inside tool results: chat tool messages take text only, so they follow as user
    // content.
    let mut result_images = Vec::new();
    for (j, part) in message.parts.iter().enumerate() {
        match part {
            Part::ToolResult {
                call_id, content, ..
            } => {
                let mut text = None;
                for (k, inner) in content.iter().enumerate() {
                    match inner {
                        Part::Text { text: t, .. } => push_cow(&mut text, t, "\n"),
                        other => result_images.push(encode_part(
                            other,
                            &format!("messages[{i}].content[{j}].content[{k}]"),
                        )?),
                    }
                }
                out.push(OutMessage {
                    tool_call_id: Some(call_id),
                    ..plain("tool", OutContent::Text(text.unwrap_or_default()))
                });
            }
            Part::Thinking { .. } | Part::RedactedThinking { .. } => {}
            other => match other {
                Part::Text { text, .. } => rest.push(OutPart::Text { text }),
                _ => rest.push(encode_part(other, &format!("messages[{i}].content[{j}]"))?),
            },
        }
    }
    result_images.extend(rest);
    if !result_images.is_empty() {
        out.push(plain("user", encode_content(result_images)));
    }
    Ok(())
}

/// An assistant turn; `None` when nothing of it can be sent (e.g. only foreign reasoning).
fn encode_assistant(message: &Message, i: usize) -> Result<Option<OutMessage<'_>>, TranslateError> {
    let mut texts = Vec::new();
    let mut reasoning = None;
    let mut calls = Vec::new();
    for (j, part) in message.parts.iter().enumerate() {
        match part {
            Part::Text { text: t, .. } => {
                if !t.is_empty() {
                    texts.push(t.as_str())
                }
            }
            // Reasoning goes back as `reasoning_content` unless it is signed by another family.
            Part::Thinking {
                text: t, signature, ..
            } => {
                // (An empty first piece adds nothing, as a join would.)
                if signature
                    .as_ref()
                    .is_none_or(|s| s.family == SignatureFamily::OpenAi)
                    && (reasoning.is_some() || !t.is_empty())
                {
                    push_cow(&mut reasoning, t, "\n\n");
                }
            }
            Part::RedactedThinking { .. } => {}
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
            _ => {
                return Err(TranslateError::unsupported(
                    format!("messages[{i}].content[{j}]"),
                    "an assistant message to a chat completions upstream holds text and tool calls only",
                ));
            }
        }
    }
    if texts.is_empty() && reasoning.is_none() && calls.is_empty() {
        return Ok(None);
    }
    // Separate text blocks (e.g. around a tool call) stay separate parts, not glued together.
    let content = match texts.as_slice() {
        [] if !calls.is_empty() => OutContent::Null,
        [] => OutContent::Text(Cow::Borrowed("")),
        [one] => OutContent::Text(Cow::Borrowed(one)),
        many => OutContent::Parts(many.iter().map(|text| OutPart::Text { text }).collect()),
    };
    Ok(Some(OutMessage {
        role: "assistant",
        tool_call_id: None,
        content,
        reasoning_content: reasoning,
        tool_calls: calls,
    }))
}
