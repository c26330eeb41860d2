//! Responses requests: a client's body into the hub request, and a hub request into the body
//! of a public Responses API upstream.

use std::borrow::Cow;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::out::{
    ChoiceOut, FormatOut, InputItem, OpenAiSchema, OutputOut, PartOut, ReasoningOut, RequestOut,
    SummaryOut, TextOut, ToolOut,
};
use super::tools::ClientTools;
use super::wire::{ContentPart, Item, RequestBody};
use crate::TranslateError;
use crate::ir::{
    Media, Message, Part, Request, ResponseFormat, Role, Signature, SignatureFamily, Thinking,
    Tool, ToolChoice,
};

/// The `encrypted_content` prefix that carries hidden (redacted) reasoning of another family
/// through a Responses client: `redacted:<family#>data`.
pub(crate) const REDACTED_PREFIX: &str = "redacted:";

/// The schema a custom (freeform) tool gets as a function tool (spec §3.2).
fn custom_tool_schema() -> Value {
    json!({"type": "object", "properties": {"input": {"type": "string"}}, "required": ["input"]})
}

fn invalid(field: &str, why: impl std::fmt::Display) -> TranslateError {
    TranslateError::Invalid(format!("{field}: {why}"))
}

/// Decodes a client's Responses request.
pub(crate) fn decode_request(body: &[u8]) -> Result<Request, TranslateError> {
    let mut wire: RequestBody<'_> = serde_json::from_slice(body)?;
    let mut request = Request {
        model: wire.model.as_deref().unwrap_or_default().to_owned(),
        parallel_tool_calls: wire.parallel_tool_calls,
        max_tokens: wire.max_output_tokens,
        temperature: wire.temperature,
        top_p: wire.top_p,
        stream: wire.stream.unwrap_or(false),
        user: wire.safety_identifier.clone().or_else(|| wire.user.clone()),
        ..Request::default()
    };
    same_protocol_fields(&wire, &mut request);
    match &wire.instructions {
        None | Some(Value::Null) => {}
        Some(Value::String(text)) => {
            if !text.is_empty() {
                request.system.push(Part::text(text.clone()));
            }
        }
        Some(_) => return Err(invalid("instructions", "must be a string")),
    }
    let mut additional_tools = Vec::new();
    match wire.input.take() {
        None | Some(Value::Null) => {}
        Some(Value::String(text)) => push_message(&mut request, Role::User, vec![Part::text(text)]),
        Some(Value::Array(items)) => {
            for (i, item) in items.into_iter().enumerate() {
                decode_item(item, i, &mut request, &mut additional_tools)?;
            }
        }
        Some(_) => return Err(invalid("input", "must be a string or a list of items")),
    }
    decode_tools(
        wire.tools.as_deref().unwrap_or_default(),
        &additional_tools,
        &mut request,
    )?;
    if let Some(choice) = &wire.tool_choice {
        request.tool_choice = decode_tool_choice(choice, &mut request)?;
    }
    if let Some(format) = wire.text.as_ref().and_then(|t| t.format.as_ref()) {
        request.response_format = decode_format(format)?;
    }
    if let Some(reasoning) = &wire.reasoning {
        if let Some(effort) = &reasoning.effort {
            request.thinking = Some(Thinking::from_effort_str(effort).ok_or_else(|| {
                invalid("reasoning.effort", format!("unknown effort {effort:?}"))
            })?);
        }
        if let Some(summary) = reasoning
            .summary
            .as_ref()
            .or(reasoning.generate_summary.as_ref())
        {
            request.include_thoughts = Some(summary != "none");
        }
    }
    Ok(request)
}

/// Records the fields only a Responses upstream understands.
fn same_protocol_fields(wire: &RequestBody<'_>, request: &mut Request) {
    let mut add = |field: &str| request.same_protocol_only.push(field.to_owned());
    if wire
        .previous_response_id
        .as_ref()
        .is_some_and(|v| !v.is_null())
    {
        add("previous_response_id");
    }
    if wire.store == Some(true) {
        add("store");
    }
    if wire.conversation.as_ref().is_some_and(|v| !v.is_null()) {
        add("conversation");
    }
    if wire.background == Some(true) {
        add("background");
    }
    if wire.prompt.as_ref().is_some_and(|v| !v.is_null()) {
        add("prompt");
    }
}

/// Appends parts as a message, merging with the last message of the same role.
fn push_message(request: &mut Request, role: Role, parts: Vec<Part>) {
    if parts.is_empty() {
        return;
    }
    match request.messages.last_mut() {
        Some(last) if last.role == role => last.parts.extend(parts),
        _ => request.messages.push(Message { role, parts }),
    }
}

/// Decodes one `input[i]` item.
fn decode_item(
    value: Value,
    i: usize,
    request: &mut Request,
    additional_tools: &mut Vec<Value>,
) -> Result<(), TranslateError> {
    let path = format!("input[{i}]");
    if !value.is_object() {
        return Err(invalid(&path, "must be an object"));
    }
    let item: Item = serde::Deserialize::deserialize(value).map_err(|e| invalid(&path, e))?;
    match item.kind.as_deref().unwrap_or("message") {
        "message" => {
            let role = item.role.as_deref().unwrap_or("user");
            let parts = decode_content(item.content, &format!("{path}.content"))?;
            match role {
                "system" | "developer" => request.system.extend(parts),
                "user" => push_message(request, Role::User, parts),
                "assistant" => push_message(request, Role::Assistant, parts),
                other => {
                    return Err(invalid(
                        &format!("{path}.role"),
                        format!("unknown role {other:?}"),
                    ));
                }
            }
        }
        kind @ ("function_call" | "custom_tool_call") => {
            let call_id = item
                .call_id
                .ok_or_else(|| invalid(&format!("{path}.call_id"), "missing"))?;
            let name = item
                .name
                .ok_or_else(|| invalid(&format!("{path}.name"), "missing"))?;
            let name = match &item.namespace {
                Some(ns) if !ns.is_empty() => qualified_name(ns, &name),
                _ => name,
            };
            let arguments = if kind == "custom_tool_call" {
                json!({"input": item.input.unwrap_or_default()}).to_string()
            } else {
                item.arguments.unwrap_or_default()
            };
            let part = Part::ToolCall {
                id: call_id,
                name,
                arguments,
                signature: None,
            };
            push_message(request, Role::Assistant, vec![part]);
        }
        "function_call_output" | "custom_tool_call_output" => {
            let call_id = item
                .call_id
                .ok_or_else(|| invalid(&format!("{path}.call_id"), "missing"))?;
            let content = match item.output {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::String(text)) => vec![Part::text(text)],
                output @ Some(Value::Array(_)) => {
                    decode_content(output, &format!("{path}.output"))?
                }
                Some(_) => {
                    return Err(invalid(
                        &format!("{path}.output"),
                        "must be a string or a list of parts",
                    ));
                }
            };
            let part = Part::ToolResult {
                call_id,
                name: None,
                content,
                is_error: false,
            };
            push_message(request, Role::User, vec![part]);
        }
        "reasoning" => {
            let part = reasoning_part(&item);
            // A Gemini thought signature bound to a function call comes to the client as a
            // signature-only reasoning item right after the call (see `response.rs`): it goes
            // back onto that call.
            if let Part::Thinking {
                text,
                signature: Some(signature),
            } = &part
                && text.is_empty()
                && signature.family == SignatureFamily::Gemini
                && let Some(Part::ToolCall {
                    signature: call_signature @ None,
                    ..
                }) = request
                    .messages
                    .last_mut()
                    .filter(|m| m.role == Role::Assistant)
                    .and_then(|m| m.parts.last_mut())
            {
                *call_signature = Some(signature.clone());
                return Ok(());
            }
            push_message(request, Role::Assistant, vec![part]);
        }
        "additional_tools" => additional_tools.extend(item.tools.unwrap_or_default()),
        _ => request.same_protocol_only.push(path),
    }
    Ok(())
}

/// A reasoning item as a thinking part (summary texts, else content texts; the
/// `encrypted_content` as an OpenAI signature unless it carries another family's).
pub(crate) fn reasoning_part(item: &Item) -> Part {
    let mut texts: Vec<&str> = item
        .summary
        .iter()
        .flatten()
        .map(|s| s.text.as_str())
        .filter(|t| !t.is_empty())
        .collect();
    if texts.is_empty()
        && let Some(Value::Array(parts)) = &item.content
    {
        texts = parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .filter(|t| !t.is_empty())
            .collect();
    }
    let text = texts.join("\n\n");
    let encrypted = item.encrypted_content.as_deref().filter(|s| !s.is_empty());
    if let Some(rest) = encrypted.and_then(|e| e.strip_prefix(REDACTED_PREFIX)) {
        let signature = Signature::read(rest, SignatureFamily::OpenAi);
        return Part::RedactedThinking {
            data: signature.value,
            family: signature.family,
        };
    }
    Part::Thinking {
        text,
        signature: encrypted.map(|e| Signature::read(e, SignatureFamily::OpenAi)),
    }
}

/// Decodes a message's (or tool output's) content: a string or a list of parts.
fn decode_content(content: Option<Value>, path: &str) -> Result<Vec<Part>, TranslateError> {
    let parts = match content {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::String(text)) => return Ok(vec![Part::text(text)]),
        Some(Value::Array(parts)) => parts,
        Some(_) => return Err(invalid(path, "must be a string or a list of parts")),
    };
    let mut out = Vec::with_capacity(parts.len());
    for (j, value) in parts.into_iter().enumerate() {
        let path = format!("{path}[{j}]");
        let part: ContentPart =
            serde::Deserialize::deserialize(value).map_err(|e| invalid(&path, e))?;
        match part.kind.as_deref().unwrap_or("input_text") {
            "input_text" | "output_text" | "text" | "summary_text" | "reasoning_text" => {
                out.push(Part::text(part.text.unwrap_or_default()));
            }
            "refusal" => out.push(Part::text(part.refusal.unwrap_or_default())),
            "input_image" => {
                let url = match &part.image_url {
                    Some(Value::String(url)) => Some(url.as_str()),
                    Some(Value::Object(o)) => o.get("url").and_then(Value::as_str),
                    _ => None,
                };
                let media = match (url, part.file_id) {
                    (Some(url), _) => media_from_url(url, None),
                    (None, Some(id)) => Media::FileId(id),
                    (None, None) => {
                        return Err(invalid(&path, "input_image needs image_url or file_id"));
                    }
                };
                out.push(Part::Image(media));
            }
            "input_file" => {
                let title = part.filename.clone();
                let media = if let Some(data) = part.file_data {
                    media_from_url(&data, part.filename.as_deref())
                } else if let Some(url) = part.file_url {
                    Media::Url(url)
                } else if let Some(id) = part.file_id {
                    Media::FileId(id)
                } else {
                    return Err(invalid(
                        &path,
                        "input_file needs file_data, file_url or file_id",
                    ));
                };
                out.push(Part::Document { media, title });
            }
            other => {
                return Err(TranslateError::unsupported(
                    path,
                    format!("content part {other:?} cannot be translated"),
                ));
            }
        }
    }
    Ok(out)
}

/// A data URL as inline bytes, bare base64 (files) as inline bytes typed by the file name,
/// anything else as a URL.
fn media_from_url(url: &str, filename: Option<&str>) -> Media {
    if let Some(rest) = url.strip_prefix("data:")
        && let Some((meta, data)) = rest.split_once(',')
    {
        let media_type = meta.strip_suffix(";base64").unwrap_or(meta);
        return Media::Base64 {
            media_type: media_type.to_owned(),
            data: data.to_owned(),
        };
    }
    if filename.is_some() || !url.contains("://") {
        let media_type = match filename
            .and_then(|f| f.rsplit_once('.'))
            .map(|(_, e)| e.to_ascii_lowercase())
        {
            Some(e) if e == "txt" => "text/plain",
            Some(e) if e == "png" => "image/png",
            Some(e) if e == "jpg" || e == "jpeg" => "image/jpeg",
            _ => "application/pdf",
        };
        if !url.contains("://") {
            return Media::Base64 {
                media_type: media_type.to_owned(),
                data: url.to_owned(),
            };
        }
    }
    Media::Url(url.to_owned())
}

/// `<namespace>__<child>`, unless the child already carries the namespace or `mcp__`, or the
/// namespace ends with `__` (spec §3.2).
fn qualified_name(namespace: &str, child: &str) -> String {
    if child.starts_with(namespace) || child.starts_with("mcp__") {
        child.to_owned()
    } else if namespace.ends_with("__") {
        format!("{namespace}{child}")
    } else {
        format!("{namespace}__{child}")
    }
}

/// Tools: function and custom tools, namespaces flattened; top-level declarations win over
/// `additional_tools`, direct ones over namespace children, then the first. Returns what the
/// client declared beyond plain functions (to restore its calls in answers).
fn decode_tools(
    tools: &[Value],
    additional: &[Value],
    request: &mut Request,
) -> Result<ClientTools, TranslateError> {
    // (tool, rank, custom, namespace and child): rank 0 direct top-level, 1 top-level
    // namespace child, 2 additional direct, 3 additional namespace child.
    type Found = (Tool, u8, bool, Option<(String, String)>);
    let mut found: Vec<Found> = Vec::new();
    let mut add = |entry: Found| {
        if let Some(existing) = found.iter_mut().find(|e| e.0.name == entry.0.name) {
            if entry.1 < existing.1 {
                *existing = entry;
            }
        } else {
            found.push(entry);
        }
    };
    let is_custom = |v: &Value| v.get("type").and_then(Value::as_str) == Some("custom");
    for (source, list, base) in [("tools", tools, 0u8), ("additional_tools", additional, 2)] {
        for (i, value) in list.iter().enumerate() {
            let path = format!("{source}[{i}]");
            match value.get("type").and_then(Value::as_str) {
                Some("namespace") => {
                    let ns = value
                        .get("name")
                        .and_then(Value::as_str)
                        .unwrap_or_default();
                    let children = value.get("tools").and_then(Value::as_array);
                    for (j, child) in children.into_iter().flatten().enumerate() {
                        let child_path = format!("{path}.tools[{j}]");
                        match function_tool(child, &child_path)? {
                            Some(mut tool) => {
                                let split = (ns.to_owned(), tool.name.clone());
                                tool.name = qualified_name(ns, &tool.name);
                                let namespaced = (tool.name != split.1).then_some(split);
                                add((tool, base + 1, is_custom(child), namespaced));
                            }
                            None => request.same_protocol_only.push(child_path),
                        }
                    }
                }
                _ => match function_tool(value, &path)? {
                    Some(tool) => add((tool, base, is_custom(value), None)),
                    None => request.same_protocol_only.push(path),
                },
            }
        }
    }
    let mut declared = ClientTools::default();
    for (tool, _, custom, namespaced) in &found {
        if *custom {
            declared.custom.push(tool.name.clone());
        }
        if let Some((ns, child)) = namespaced {
            declared
                .namespaced
                .push((tool.name.clone(), ns.clone(), child.clone()));
        }
    }
    request.tools = found.into_iter().map(|e| e.0).collect();
    Ok(declared)
}

/// The tools a Responses client declared beyond plain functions, read from its request body
/// (empty when the body does not decode).
pub(crate) fn client_tools(body: &[u8]) -> ClientTools {
    #[derive(serde::Deserialize, Default)]
    #[serde(default)]
    struct Declarations {
        tools: Option<Vec<Value>>,
        input: Option<Value>,
    }
    #[derive(serde::Deserialize, Default)]
    #[serde(default)]
    struct TopLevel {
        tools: Option<Vec<Value>>,
    }
    let has = |needle: &[u8]| memchr::memmem::find(body, needle).is_some();
    // Only freeform and namespaced tools make a difference, and `type` values are written
    // without escapes in practice; a body that has an escape anywhere takes the full path.
    // This spares a second parse of the whole body (a 100 KB request's `input` as a tree).
    if !has(b"custom") && !has(b"namespace") && !has(b"\\u") {
        return ClientTools::default();
    }
    let wire = if has(b"additional_tools") {
        serde_json::from_slice::<Declarations>(body)
    } else {
        serde_json::from_slice::<TopLevel>(body).map(|top| Declarations {
            tools: top.tools,
            input: None,
        })
    };
    let Ok(wire) = wire else {
        return ClientTools::default();
    };
    let mut additional = Vec::new();
    if let Some(Value::Array(items)) = &wire.input {
        for item in items {
            if item.get("type").and_then(Value::as_str) == Some("additional_tools")
                && let Some(Value::Array(tools)) = item.get("tools")
            {
                additional.extend(tools.iter().cloned());
            }
        }
    }
    let mut scratch = Request::default();
    decode_tools(
        wire.tools.as_deref().unwrap_or_default(),
        &additional,
        &mut scratch,
    )
    .unwrap_or_default()
}

/// A function or custom tool; `None` for hosted tools.
fn function_tool(value: &Value, path: &str) -> Result<Option<Tool>, TranslateError> {
    let kind = value
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let name = || {
        value
            .get("name")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| invalid(&format!("{path}.name"), "missing"))
    };
    let description = value
        .get("description")
        .and_then(Value::as_str)
        .map(str::to_owned);
    Ok(match kind {
        "function" => Some(Tool {
            name: name()?,
            description,
            parameters: match value.get("parameters") {
                Some(p) if p.is_object() => p.clone(),
                _ => json!({"type": "object"}),
            },
            strict: value.get("strict").and_then(Value::as_bool),
            cache_control: None,
        }),
        "custom" => Some(Tool {
            name: name()?,
            description,
            parameters: custom_tool_schema(),
            strict: None,
            cache_control: None,
        }),
        _ => None,
    })
}

fn decode_tool_choice(
    choice: &Value,
    request: &mut Request,
) -> Result<Option<ToolChoice>, TranslateError> {
    Ok(Some(match choice {
        Value::Null => return Ok(None),
        Value::String(s) => match s.as_str() {
            "auto" => ToolChoice::Auto,
            "none" => ToolChoice::None,
            "required" => ToolChoice::Required,
            other => return Err(invalid("tool_choice", format!("unknown value {other:?}"))),
        },
        Value::Object(o) => match o.get("type").and_then(Value::as_str) {
            Some("function" | "custom") => {
                let name = o
                    .get("name")
                    .and_then(Value::as_str)
                    .ok_or_else(|| invalid("tool_choice.name", "missing"))?;
                let name = match o.get("namespace").and_then(Value::as_str) {
                    Some(ns) if !ns.is_empty() => qualified_name(ns, name),
                    _ => name.to_owned(),
                };
                ToolChoice::Tool(name)
            }
            Some("allowed_tools") => match o.get("mode").and_then(Value::as_str) {
                Some("required") => ToolChoice::Required,
                _ => ToolChoice::Auto,
            },
            _ => {
                request.same_protocol_only.push("tool_choice".to_owned());
                return Ok(None);
            }
        },
        _ => return Err(invalid("tool_choice", "must be a string or an object")),
    }))
}

fn decode_format(format: &Value) -> Result<Option<ResponseFormat>, TranslateError> {
    Ok(match format.get("type").and_then(Value::as_str) {
        Some("text") => Some(ResponseFormat::Text),
        Some("json_object") => Some(ResponseFormat::JsonObject),
        Some("json_schema") => Some(ResponseFormat::JsonSchema {
            name: format
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("response")
                .to_owned(),
            schema: format
                .get("schema")
                .cloned()
                .ok_or_else(|| invalid("text.format.schema", "missing"))?,
            strict: format.get("strict").and_then(Value::as_bool),
        }),
        _ => {
            return Err(invalid(
                "text.format.type",
                "must be text, json_object or json_schema",
            ));
        }
    })
}

/// A call id the Responses API accepts: ids over 64 characters become their first 47
/// characters, `_` and 16 hex digits of their SHA-256 (stable, so calls and outputs match).
/// Ids that need no shortening are borrowed.
fn short_call_id(id: &str) -> Cow<'_, str> {
    if id.len() <= 64 {
        return Cow::Borrowed(id);
    }
    let digest = Sha256::digest(id.as_bytes());
    let mut cut = 47;
    while !id.is_char_boundary(cut) {
        cut -= 1;
    }
    Cow::Owned(format!("{}_{}", &id[..cut], &hex::encode(digest)[..16]))
}

/// `\n\n`-joined texts, borrowed when there is one.
fn joined<'a>(texts: &[&'a str], separator: &str) -> Cow<'a, str> {
    match texts {
        [one] => Cow::Borrowed(one),
        _ => Cow::Owned(texts.join(separator)),
    }
}

/// Encodes a hub request for a public Responses API upstream.
///
/// Sends `store:false` (switchyard keeps no server-side state for translated clients) and
/// asks for `include:["reasoning.encrypted_content"]` only when reasoning is requested or
/// replayed, since without stored state reasoning can only be replayed encrypted. Never
/// forces `stream`, adds no tools.
pub(crate) fn encode_request(request: &Request) -> Result<Vec<u8>, TranslateError> {
    if request.n.is_some_and(|n| n > 1) {
        return Err(TranslateError::unsupported(
            "n",
            "the Responses API gives one answer per request",
        ));
    }
    if !request.stop.is_empty() {
        return Err(TranslateError::unsupported(
            "stop",
            "the Responses API has no stop sequences",
        ));
    }
    let mut instructions = Vec::new();
    for (i, part) in request.system.iter().enumerate() {
        match part {
            Part::Text { text, .. } => instructions.push(text.as_str()),
            _ => {
                return Err(TranslateError::unsupported(
                    format!("system[{i}]"),
                    "Responses instructions take text only",
                ));
            }
        }
    }
    let mut replays_reasoning = false;
    let mut input = Vec::new();
    for (m, message) in request.messages.iter().enumerate() {
        encode_message(message, m, &mut input, &mut replays_reasoning)?;
    }
    let tools = request
        .tools
        .iter()
        .map(|t| ToolOut {
            kind: "function",
            name: &t.name,
            parameters: OpenAiSchema {
                value: &t.parameters,
                root: true,
            },
            description: t.description.as_deref(),
            strict: t.strict.unwrap_or(false),
        })
        .collect();
    let tool_choice = request.tool_choice.as_ref().map(|choice| match choice {
        ToolChoice::Auto => ChoiceOut::Mode("auto"),
        ToolChoice::None => ChoiceOut::Mode("none"),
        ToolChoice::Required => ChoiceOut::Mode("required"),
        ToolChoice::Tool(name) => ChoiceOut::Function {
            kind: "function",
            name,
        },
    });
    let mut reasoning = ReasoningOut::default();
    let thinking_on = match request.thinking {
        Some(Thinking::Off) => {
            reasoning.effort = Some("none");
            false
        }
        Some(Thinking::Auto) => true,
        Some(other) => {
            if let Some(effort) = other.effort() {
                reasoning.effort = Some(effort.openai());
            }
            true
        }
        None => false,
    };
    let summary = request
        .include_thoughts
        .unwrap_or(thinking_on && request.thinking.is_some());
    if summary && request.thinking != Some(Thinking::Off) {
        reasoning.summary = Some("auto");
    }
    let text = request.response_format.as_ref().map(|format| TextOut {
        format: match format {
            ResponseFormat::Text => FormatOut {
                kind: "text",
                name: None,
                schema: None,
                strict: None,
            },
            ResponseFormat::JsonObject => FormatOut {
                kind: "json_object",
                name: None,
                schema: None,
                strict: None,
            },
            ResponseFormat::JsonSchema {
                name,
                schema,
                strict,
            } => FormatOut {
                kind: "json_schema",
                name: Some(name),
                schema: Some(schema),
                strict: *strict,
            },
        },
    });
    let body = RequestOut {
        model: &request.model,
        instructions: (!instructions.is_empty()).then(|| joined(&instructions, "\n\n")),
        input,
        stream: request.stream.then_some(true),
        store: false,
        tools,
        tool_choice,
        parallel_tool_calls: request.parallel_tool_calls,
        max_output_tokens: request.max_tokens,
        temperature: request.temperature,
        top_p: request.top_p,
        reasoning: (reasoning.effort.is_some() || reasoning.summary.is_some()).then_some(reasoning),
        include: (thinking_on || replays_reasoning).then_some(["reasoning.encrypted_content"]),
        text,
        safety_identifier: request.user.as_deref(),
    };
    let mut out = Vec::with_capacity(4096);
    serde_json::to_writer(&mut out, &body)
        .map_err(|e| TranslateError::Invalid(format!("request: {e}")))?;
    Ok(out)
}

/// One hub message as input items, in order: text and media accumulate into a message item,
/// flushed at every call, result or reasoning item.
fn encode_message<'a>(
    message: &'a Message,
    m: usize,
    input: &mut Vec<InputItem<'a>>,
    replays_reasoning: &mut bool,
) -> Result<(), TranslateError> {
    let (role, text_type) = match message.role {
        Role::User => ("user", "input_text"),
        Role::Assistant => ("assistant", "output_text"),
    };
    let mut content: Vec<PartOut<'a>> = Vec::new();
    let flush = |content: &mut Vec<PartOut<'a>>, input: &mut Vec<InputItem<'a>>| {
        if !content.is_empty() {
            input.push(InputItem::Message {
                kind: "message",
                role,
                content: std::mem::take(content),
            });
        }
    };
    for (p, part) in message.parts.iter().enumerate() {
        match part {
            Part::Text { text, .. } => content.push(PartOut {
                text: Some(text),
                ..PartOut::new(text_type)
            }),
            Part::Image(_) | Part::Document { .. } if message.role == Role::Assistant => {
                return Err(TranslateError::unsupported(
                    format!("messages[{m}].content[{p}]"),
                    "Responses assistant messages take text only",
                ));
            }
            Part::Image(media) => content.push(image_part(media)),
            Part::Document { media, title } => content.push(file_part(media, title.as_deref())),
            Part::ToolCall {
                id,
                name,
                arguments,
                ..
            } => {
                flush(&mut content, input);
                let arguments = if arguments.is_empty() {
                    "{}"
                } else {
                    arguments.as_str()
                };
                input.push(InputItem::Call {
                    kind: "function_call",
                    call_id: short_call_id(id),
                    name,
                    arguments,
                });
            }
            Part::ToolResult {
                call_id,
                content: result,
                ..
            } => {
                flush(&mut content, input);
                let output = tool_output(result, m, p)?;
                input.push(InputItem::Output {
                    kind: "function_call_output",
                    call_id: short_call_id(call_id),
                    output,
                });
            }
            Part::Thinking { text, signature } => {
                // Only OpenAI's own encrypted reasoning can be replayed; other families'
                // thinking is dropped (it cannot be verified).
                if let Some(sig) = signature
                    .as_ref()
                    .and_then(|s| s.for_upstream(SignatureFamily::OpenAi))
                {
                    flush(&mut content, input);
                    let summary = if text.is_empty() {
                        Vec::new()
                    } else {
                        vec![SummaryOut {
                            kind: "summary_text",
                            text,
                        }]
                    };
                    input.push(InputItem::Reasoning {
                        kind: "reasoning",
                        summary,
                        encrypted_content: sig,
                    });
                    *replays_reasoning = true;
                }
            }
            Part::RedactedThinking { data, family } => {
                if *family == SignatureFamily::OpenAi {
                    flush(&mut content, input);
                    input.push(InputItem::Reasoning {
                        kind: "reasoning",
                        summary: Vec::new(),
                        encrypted_content: data,
                    });
                    *replays_reasoning = true;
                }
            }
        }
    }
    flush(&mut content, input);
    Ok(())
}

fn image_part(media: &Media) -> PartOut<'_> {
    let mut part = PartOut {
        detail: Some("auto"),
        ..PartOut::new("input_image")
    };
    match media {
        Media::Base64 { media_type, data } => {
            part.image_url = Some(Cow::Owned(format!("data:{media_type};base64,{data}")))
        }
        Media::Url(url) => part.image_url = Some(Cow::Borrowed(url)),
        Media::FileId(id) => part.file_id = Some(id),
    }
    part
}

fn file_part<'a>(media: &'a Media, title: Option<&'a str>) -> PartOut<'a> {
    let mut part = PartOut::new("input_file");
    match media {
        Media::Base64 { media_type, data } => {
            part.file_data = Some(format!("data:{media_type};base64,{data}"))
        }
        Media::Url(url) => part.file_url = Some(url),
        Media::FileId(id) => part.file_id = Some(id),
    }
    let default_name = match media {
        Media::Base64 { media_type, .. } if media_type == "text/plain" => Some("document.txt"),
        Media::Base64 { .. } => Some("document.pdf"),
        _ => None,
    };
    part.filename = title.or(default_name);
    part
}

/// A tool result: a string when it is text only, else a list of parts.
fn tool_output(parts: &[Part], m: usize, p: usize) -> Result<OutputOut<'_>, TranslateError> {
    if parts.iter().all(|p| matches!(p, Part::Text { .. })) {
        let text: Vec<&str> = parts
            .iter()
            .filter_map(|p| match p {
                Part::Text { text, .. } => Some(text.as_str()),
                _ => None,
            })
            .collect();
        return Ok(OutputOut::Text(match text.as_slice() {
            [] => Cow::Borrowed(""),
            _ => joined(&text, "\n"),
        }));
    }
    let mut out = Vec::new();
    for part in parts {
        match part {
            Part::Text { text, .. } => out.push(PartOut {
                text: Some(text),
                ..PartOut::new("input_text")
            }),
            Part::Image(media) => out.push(image_part(media)),
            Part::Document { media, title } => out.push(file_part(media, title.as_deref())),
            _ => {
                return Err(TranslateError::unsupported(
                    format!("messages[{m}].content[{p}]"),
                    "a tool result holds text, images and files only",
                ));
            }
        }
    }
    Ok(OutputOut::Parts(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gemini_signature_after_a_call_goes_back_onto_the_call() {
        let body = br#"{"input":[{"role":"user","content":"hi"},
            {"type":"function_call","call_id":"c","name":"get","arguments":"{}"},
            {"type":"reasoning","summary":[],"encrypted_content":"gemini#sig"},
            {"type":"reasoning","summary":[],"encrypted_content":"gemini#other"}]}"#;
        let request = decode_request(body).unwrap();
        let parts = &request.messages[1].parts;
        assert_eq!(parts.len(), 2, "{parts:?}");
        assert!(
            matches!(&parts[0], Part::ToolCall { signature: Some(s), .. }
            if s.family == SignatureFamily::Gemini && s.value == "sig")
        );
        assert!(matches!(&parts[1], Part::Thinking { .. }));
    }

    #[test]
    fn long_call_ids_shorten_stably() {
        let long = "x".repeat(80);
        let a = short_call_id(&long);
        assert_eq!(a.len(), 64);
        assert_eq!(a, short_call_id(&long));
        assert_ne!(a, short_call_id(&"y".repeat(80)));
        assert_eq!(short_call_id("call_1"), "call_1");
    }

    #[test]
    fn namespaces_flatten() {
        assert_eq!(qualified_name("fs", "read"), "fs__read");
        assert_eq!(qualified_name("fs", "fs_read"), "fs_read");
        assert_eq!(qualified_name("mcp__srv__", "read"), "mcp__srv__read");
        assert_eq!(qualified_name("fs", "mcp__x"), "mcp__x");
    }

    #[test]
    fn hosted_tools_and_state_are_same_protocol_only() {
        let body = br#"{"model":"m","input":"hi","store":true,"previous_response_id":"resp_1",
            "tools":[{"type":"web_search"},{"type":"function","name":"f"}]}"#;
        let r = decode_request(body).unwrap();
        assert_eq!(
            r.same_protocol_only,
            ["previous_response_id", "store", "tools[0]"]
        );
        assert_eq!(r.tools.len(), 1);
    }

    #[test]
    fn a_bad_effort_names_the_field() {
        let err = decode_request(br#"{"input":"hi","reasoning":{"effort":"huge"}}"#).unwrap_err();
        assert!(err.to_string().contains("reasoning.effort"), "{err}");
    }
}
