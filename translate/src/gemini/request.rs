//! Gemini requests: a client's `generateContent` body to the hub request, and the hub request
//! to an upstream's body (and its `countTokens` body).

use std::borrow::Cow;
use std::collections::VecDeque;

use serde_json::value::RawValue;
use serde_json::{Map, Value, json};

use super::schema;
use super::wire::{
    Blob, Content, FileData, FunctionCall, FunctionCallingConfig, FunctionDeclaration,
    FunctionResponse, GenerateContentRequest, GenerationConfig, Json, ThinkingConfig,
    Tool as WireTool, ToolConfig, WirePart,
};
use crate::ir::{
    Effort, Media, Message, Part, Request, ResponseFormat, Role, Signature, SignatureFamily,
    Thinking, Tool, ToolChoice,
};
use crate::{GEMINI_SKIP_SIGNATURE, TranslateError};

fn invalid(message: impl Into<String>) -> TranslateError {
    TranslateError::Invalid(message.into())
}

/// Decodes a client's `generateContent` body.
pub(crate) fn decode_request(body: &[u8]) -> Result<Request, TranslateError> {
    let wire: GenerateContentRequest<'_> = serde_json::from_slice(body)?;
    let mut request = Request {
        model: wire
            .model
            .as_deref()
            .map(|m| m.strip_prefix("models/").unwrap_or(m).to_owned())
            .unwrap_or_default(),
        stream: wire.stream.unwrap_or(false),
        ..Request::default()
    };
    if wire.cached_content.is_some() {
        request.same_protocol_only.push("cachedContent".to_owned());
    }
    if let Some(system) = &wire.system_instruction {
        for part in &system.parts {
            if let Some(text) = &part.text
                && !part.thought
            {
                request.system.push(Part::text(text.clone()));
            }
        }
    }
    decode_contents(&wire.contents, &mut request)?;
    decode_tools(&wire.tools, &mut request)?;
    if let Some(config) = wire
        .tool_config
        .as_ref()
        .and_then(|c| c.function_calling_config.as_ref())
    {
        request.tool_choice = decode_tool_choice(config)?;
    }
    if let Some(config) = &wire.generation_config {
        decode_generation_config(config, &mut request)?;
    }
    Ok(request)
}

/// Calls waiting for their result, oldest first.
#[derive(Default)]
struct Pending {
    calls: VecDeque<(String, String)>,
}

impl Pending {
    /// The id a result answers: its own, else the oldest pending call of the same name, else
    /// the oldest pending call.
    fn answer(&mut self, explicit: Option<&str>, name: &str) -> Option<String> {
        if let Some(id) = explicit {
            self.calls.retain(|(pending, _)| pending != id);
            return Some(id.to_owned());
        }
        let at = self
            .calls
            .iter()
            .position(|(_, n)| n == name)
            .or(if self.calls.is_empty() { None } else { Some(0) })?;
        self.calls.remove(at).map(|(id, _)| id)
    }
}

fn decode_contents(contents: &[Content<'_>], request: &mut Request) -> Result<(), TranslateError> {
    let mut pending = Pending::default();
    let mut previous: Option<Role> = None;
    for (ci, content) in contents.iter().enumerate() {
        let role = match content.role.as_deref() {
            Some("model") | Some("assistant") => Role::Assistant,
            Some("user") | Some("function") | Some("tool") => Role::User,
            None | Some("") => match previous {
                Some(Role::User) => Role::Assistant,
                _ => Role::User,
            },
            Some(other) => {
                return Err(invalid(format!(
                    "contents[{ci}].role: unknown role {other:?}"
                )));
            }
        };
        previous = Some(role);
        let mut parts = Vec::new();
        for (pi, part) in content.parts.iter().enumerate() {
            decode_part(part, role, ci, pi, &mut pending, &mut parts)?;
        }
        if parts.is_empty() {
            continue;
        }
        match request.messages.last_mut() {
            Some(last) if last.role == role => last.parts.extend(parts),
            _ => request.messages.push(Message { role, parts }),
        }
    }
    Ok(())
}

fn decode_part(
    part: &WirePart<'_>,
    role: Role,
    ci: usize,
    pi: usize,
    pending: &mut Pending,
    out: &mut Vec<Part>,
) -> Result<(), TranslateError> {
    let path = || format!("contents[{ci}].parts[{pi}]");
    if let Some(hidden) = part
        .thought_signature
        .as_deref()
        .and_then(super::signature::read_redacted)
    {
        out.push(Part::RedactedThinking {
            data: hidden.value,
            family: hidden.family,
        });
        return Ok(());
    }
    let signature = part
        .thought_signature
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(super::signature::read);
    if let Some(call) = &part.function_call {
        if role != Role::Assistant {
            return Err(invalid(format!(
                "{}: a functionCall in a user turn",
                path()
            )));
        }
        let id = match call.id.as_deref().filter(|id| !id.is_empty()) {
            Some(id) => id.to_owned(),
            None => generated_call_id(ci, pi),
        };
        pending.calls.push_back((id.clone(), call.name.clone()));
        out.push(Part::ToolCall {
            id,
            name: call.name.clone(),
            arguments: arguments_text(call.args.as_ref().and_then(|a| a.value())),
            signature,
        });
        return Ok(());
    }
    if let Some(response) = &part.function_response {
        let explicit = response.id.as_deref().filter(|id| !id.is_empty());
        let call_id = pending
            .answer(explicit, &response.name)
            .unwrap_or_else(|| format!("gemini_result_{ci}_{pi}"));
        let (text, is_error) = result_text(response.response.as_ref().and_then(|r| r.value()));
        out.push(Part::ToolResult {
            call_id,
            name: (!response.name.is_empty()).then(|| response.name.clone()),
            content: vec![Part::text(text)],
            is_error,
        });
        return Ok(());
    }
    if let Some(blob) = &part.inline_data {
        out.push(media_part(
            &blob.mime_type,
            Media::Base64 {
                media_type: blob.mime_type.to_string(),
                data: blob.data.to_string(),
            },
            path,
        )?);
        return Ok(());
    }
    if let Some(file) = &part.file_data {
        let mime = file.mime_type.clone().unwrap_or_default();
        out.push(media_part(&mime, Media::Url(file.file_uri.clone()), path)?);
        return Ok(());
    }
    let text = part.text.as_deref().unwrap_or_default();
    if part.thought || (text.is_empty() && signature.is_some()) {
        push_thinking(out, text, signature);
    } else {
        // A signature on a plain part signs the reasoning before it: kept as an empty
        // thinking part, which encoding puts back on the part that follows.
        if signature.is_some() {
            push_thinking(out, "", signature);
        }
        if !text.is_empty() {
            out.push(Part::text(text));
        }
    }
    Ok(())
}

/// Adds reasoning. A signature-only part of another family (sent back through a Gemini
/// client, base64-wrapped) joins the unsigned reasoning before it: its issuer verifies the
/// signature against that text. Gemini's own keep their position.
fn push_thinking(out: &mut Vec<Part>, text: &str, signature: Option<Signature>) {
    if text.is_empty() && signature.is_none() {
        return;
    }
    if text.is_empty()
        && let Some(incoming) = &signature
        && incoming.family != SignatureFamily::Gemini
        && let Some(Part::Thinking {
            signature: previous @ None,
            ..
        }) = out.last_mut()
    {
        *previous = signature;
        return;
    }
    out.push(Part::Thinking {
        text: text.to_owned(),
        signature,
    });
}

/// A stable id for a call without one: its position in the conversation, which later turns
/// keep.
fn generated_call_id(ci: usize, pi: usize) -> String {
    format!("call_gemini_{ci}_{pi}")
}

fn arguments_text(args: Option<&Value>) -> String {
    match args {
        Some(value @ Value::Object(_)) => value.to_string(),
        _ => "{}".to_owned(),
    }
}

/// A function response's text: the `result`/`output` string when that is all it holds, else
/// the object as JSON. An `error` key alone marks a failure.
fn result_text(response: Option<&Value>) -> (String, bool) {
    let Some(value) = response else {
        return (String::new(), false);
    };
    if let Value::Object(map) = value
        && map.len() == 1
    {
        for (key, is_error) in [("result", false), ("output", false), ("error", true)] {
            if let Some(inner) = map.get(key) {
                let text = match inner {
                    Value::String(text) => text.clone(),
                    other => other.to_string(),
                };
                return (text, is_error);
            }
        }
    }
    (value.to_string(), false)
}

fn media_part(mime: &str, media: Media, path: impl Fn() -> String) -> Result<Part, TranslateError> {
    let mime = mime.to_ascii_lowercase();
    if mime.starts_with("image/") {
        Ok(Part::Image(media))
    } else if (mime.is_empty() && matches!(media, Media::Url(_)))
        || mime == "application/pdf"
        || mime.starts_with("text/")
        || mime == "application/json"
    {
        Ok(Part::Document { media, title: None })
    } else {
        Err(TranslateError::unsupported(
            path(),
            format!("{mime:?} data (audio, video, other files) cannot be translated"),
        ))
    }
}

fn decode_tools(tools: &[WireTool], request: &mut Request) -> Result<(), TranslateError> {
    for (ti, tool) in tools.iter().enumerate() {
        for key in tool.other.keys() {
            request
                .same_protocol_only
                .push(format!("tools[{ti}].{key}"));
        }
        for (fi, declaration) in tool.function_declarations.iter().flatten().enumerate() {
            if declaration.name.is_empty() {
                return Err(invalid(format!(
                    "tools[{ti}].functionDeclarations[{fi}].name is missing"
                )));
            }
            let parameters = match (&declaration.parameters_json_schema, &declaration.parameters) {
                (Some(schema), _) => schema.clone(),
                (None, Some(openapi)) => schema::from_openapi(openapi),
                (None, None) => json!({"type": "object", "properties": {}}),
            };
            request.tools.push(Tool {
                name: declaration.name.clone(),
                description: declaration.description.clone(),
                parameters,
                strict: None,
                cache_control: None,
            });
        }
    }
    Ok(())
}

fn decode_tool_choice(
    config: &FunctionCallingConfig,
) -> Result<Option<ToolChoice>, TranslateError> {
    let Some(mode) = config.mode.as_deref() else {
        return Ok(None);
    };
    Ok(Some(match mode.to_ascii_uppercase().as_str() {
        "AUTO" | "VALIDATED" | "MODE_UNSPECIFIED" => ToolChoice::Auto,
        "NONE" => ToolChoice::None,
        "ANY" => match config.allowed_function_names.as_slice() {
            [only] => ToolChoice::Tool(only.clone()),
            _ => ToolChoice::Required,
        },
        other => {
            return Err(invalid(format!(
                "toolConfig.functionCallingConfig.mode: unknown mode {other:?}"
            )));
        }
    }))
}

fn decode_generation_config(
    config: &GenerationConfig,
    request: &mut Request,
) -> Result<(), TranslateError> {
    request.max_tokens = config.max_output_tokens;
    request.temperature = config.temperature;
    request.top_p = config.top_p;
    request.top_k = config.top_k;
    request.stop = config.stop_sequences.clone();
    request.n = config.candidate_count;
    let schema = config
        .response_json_schema
        .clone()
        .or_else(|| config.response_schema.as_ref().map(schema::from_openapi));
    request.response_format = match config.response_mime_type.as_deref() {
        Some("application/json") => Some(match schema {
            Some(schema) => ResponseFormat::JsonSchema {
                name: "response".to_owned(),
                schema,
                strict: None,
            },
            None => ResponseFormat::JsonObject,
        }),
        Some("text/plain") => Some(ResponseFormat::Text),
        Some(_) => {
            request
                .same_protocol_only
                .push("generationConfig.responseMimeType".to_owned());
            None
        }
        None => None,
    };
    if config
        .response_modalities
        .iter()
        .any(|m| !m.eq_ignore_ascii_case("text"))
    {
        request
            .same_protocol_only
            .push("generationConfig.responseModalities".to_owned());
    }
    if config.speech_config.is_some() {
        request
            .same_protocol_only
            .push("generationConfig.speechConfig".to_owned());
    }
    if let Some(thinking) = &config.thinking_config {
        request.include_thoughts = thinking.include_thoughts;
        if let Some(level) = &thinking.thinking_level {
            request.thinking = Some(Thinking::from_effort_str(level).ok_or_else(|| {
                invalid(format!(
                    "generationConfig.thinkingConfig.thinkingLevel: unknown level {level:?}"
                ))
            })?);
        } else if let Some(budget) = thinking.thinking_budget {
            request.thinking = Some(Thinking::from_budget(budget).ok_or_else(|| {
                invalid(format!(
                    "generationConfig.thinkingConfig.thinkingBudget: {budget} is neither -1, 0 nor positive"
                ))
            })?);
        }
    }
    Ok(())
}

/// Encodes a request for a Gemini upstream (the model goes in the URL, not the body).
pub(crate) fn encode_request(request: &Request) -> Result<Vec<u8>, TranslateError> {
    let wire = encode_wire(request)?;
    Ok(serde_json::to_vec(&wire).unwrap_or_default())
}

/// Encodes a `countTokens` body: the whole request wrapped in `generateContentRequest`.
pub(crate) fn encode_count_request(request: &Request) -> Result<Vec<u8>, TranslateError> {
    let mut wire = encode_wire(request)?;
    let model = request
        .model
        .strip_prefix("models/")
        .unwrap_or(&request.model);
    wire.model = Some(format!("models/{model}"));
    wire.tool_config = None;
    let body = json!({ "generateContentRequest": wire });
    Ok(serde_json::to_vec(&body).unwrap_or_default())
}

fn encode_wire(request: &Request) -> Result<GenerateContentRequest<'_>, TranslateError> {
    if let Some(n) = request.n
        && n > 1
    {
        return Err(TranslateError::unsupported(
            "n",
            "switchyard translates one Gemini candidate; ask for one answer",
        ));
    }
    let mut system: Vec<WirePart<'_>> = request
        .system
        .iter()
        .filter_map(|part| match part {
            Part::Text { text, .. } if !text.is_empty() => Some(WirePart {
                text: Some(text.as_str().into()),
                ..WirePart::default()
            }),
            _ => None,
        })
        .collect();
    let mut contents: Vec<Content<'_>> = Vec::new();
    // The ids of the latest assistant turn's calls: Gemini pairs the function responses of
    // parallel calls with the calls by position.
    let mut calls: Vec<&str> = Vec::new();
    for (mi, message) in request.messages.iter().enumerate() {
        let role = match message.role {
            Role::User => "user",
            Role::Assistant => "model",
        };
        let order = part_order(message, &calls);
        if message.role == Role::Assistant {
            calls = message
                .parts
                .iter()
                .filter_map(|p| match p {
                    Part::ToolCall { id, .. } => Some(id.as_str()),
                    _ => None,
                })
                .collect();
        }
        let parts = encode_parts(message, mi, order)?;
        if parts.is_empty() {
            continue;
        }
        match contents.last_mut() {
            Some(last) if last.role.as_deref() == Some(role) => last.parts.extend(parts),
            _ => contents.push(Content {
                role: Some(role.to_owned()),
                parts,
            }),
        }
    }
    // Gemini refuses a conversation that ends on a model turn (an assistant prefill): the
    // trailing model content is dropped (spec §4.7, §6.2.11).
    while contents.len() > 1
        && contents
            .last()
            .is_some_and(|c| c.role.as_deref() == Some("model"))
    {
        contents.pop();
    }
    if contents.is_empty() {
        // Gemini needs one content: a request that is only instructions sends them as the
        // user's turn.
        if system.is_empty() {
            return Err(TranslateError::unsupported(
                "messages",
                "Gemini needs at least one message with content",
            ));
        }
        contents.push(Content {
            role: Some("user".to_owned()),
            parts: std::mem::take(&mut system),
        });
    }
    if contents
        .first()
        .is_some_and(|c| c.role.as_deref() == Some("model"))
    {
        // Gemini wants the conversation to open with a user turn.
        contents.insert(
            0,
            Content {
                role: Some("user".to_owned()),
                parts: vec![WirePart {
                    text: Some("".into()),
                    ..WirePart::default()
                }],
            },
        );
    }
    let tools = if request.tools.is_empty() {
        Vec::new()
    } else {
        vec![WireTool {
            function_declarations: Some(
                request
                    .tools
                    .iter()
                    .map(|tool| FunctionDeclaration {
                        name: tool.name.clone(),
                        description: tool.description.clone(),
                        parameters: None,
                        parameters_json_schema: Some(schema::clean(&tool.parameters)),
                    })
                    .collect(),
            ),
            other: Map::new(),
        }]
    };
    let tool_config = request.tool_choice.as_ref().map(|choice| {
        let (mode, allowed) = match choice {
            ToolChoice::Auto => ("AUTO", Vec::new()),
            ToolChoice::None => ("NONE", Vec::new()),
            ToolChoice::Required => ("ANY", Vec::new()),
            ToolChoice::Tool(name) => ("ANY", vec![name.clone()]),
        };
        ToolConfig {
            function_calling_config: Some(FunctionCallingConfig {
                mode: Some(mode.to_owned()),
                allowed_function_names: allowed,
            }),
        }
    });
    Ok(GenerateContentRequest {
        model: None,
        contents,
        system_instruction: (!system.is_empty()).then_some(Content {
            role: None,
            parts: system,
        }),
        tools,
        tool_config,
        generation_config: generation_config(request),
        cached_content: None,
        stream: None,
    })
}

fn generation_config(request: &Request) -> Option<GenerationConfig> {
    let mut config = GenerationConfig {
        max_output_tokens: request.max_tokens,
        temperature: request.temperature,
        top_p: request.top_p,
        top_k: request.top_k,
        stop_sequences: request.stop.clone(),
        ..GenerationConfig::default()
    };
    match &request.response_format {
        Some(ResponseFormat::JsonObject) => {
            config.response_mime_type = Some("application/json".to_owned());
        }
        Some(ResponseFormat::JsonSchema { schema, .. }) => {
            config.response_mime_type = Some("application/json".to_owned());
            config.response_json_schema = Some(schema.clone());
        }
        Some(ResponseFormat::Text) | None => {}
    }
    config.thinking_config = thinking_config(request);
    let empty = config.max_output_tokens.is_none()
        && config.temperature.is_none()
        && config.top_p.is_none()
        && config.top_k.is_none()
        && config.stop_sequences.is_empty()
        && config.response_mime_type.is_none()
        && config.thinking_config.is_none();
    (!empty).then_some(config)
}

/// §3.1.5: a level as `thinkingLevel` for Gemini 3 models (which take levels), as the table's
/// budget for older ones; a budget as `thinkingBudget`; auto -1; off 0, except on Gemini 3
/// (which cannot switch thinking off) the lowest level (`minimal` on Flash, else `low`).
fn thinking_config(request: &Request) -> Option<ThinkingConfig> {
    let levels = request.model.contains("gemini-3");
    let mut config = ThinkingConfig::default();
    match request.thinking {
        Some(Thinking::Off) if levels => {
            let lowest = if request.model.contains("flash") {
                "minimal"
            } else {
                "low"
            };
            config.thinking_level = Some(lowest.to_owned());
        }
        Some(Thinking::Effort(effort)) if levels => {
            config.thinking_level = Some(
                match effort {
                    Effort::XHigh | Effort::Max => "high",
                    other => other.as_str(),
                }
                .to_owned(),
            );
        }
        Some(thinking) => config.thinking_budget = Some(thinking.budget()),
        None => {}
    }
    config.include_thoughts = match (request.include_thoughts, request.thinking) {
        (_, Some(Thinking::Off)) => None,
        (include, _) => include,
    };
    (config.thinking_budget.is_some()
        || config.thinking_level.is_some()
        || config.include_thoughts.is_some())
    .then_some(config)
}

/// The order in which a message's parts are sent: tool results in the order of the calls
/// they answer (`calls`, the previous assistant turn's call ids), then everything else.
fn part_order(message: &Message, calls: &[&str]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..message.parts.len()).collect();
    order.sort_by_key(|&i| match &message.parts[i] {
        Part::ToolResult { call_id, .. } => (
            0,
            calls
                .iter()
                .position(|c| c == call_id)
                .unwrap_or(calls.len()),
        ),
        _ => (1, 0),
    });
    order
}

fn encode_parts(
    message: &Message,
    mi: usize,
    order: Vec<usize>,
) -> Result<Vec<WirePart<'_>>, TranslateError> {
    let mut out: Vec<WirePart<'_>> = Vec::new();
    // A Gemini signature carried by an empty thinking part belongs to the next part.
    let mut carried: Option<Cow<'_, str>> = None;
    fn gemini_signature(s: &Option<Signature>) -> Option<Cow<'_, str>> {
        s.as_ref()
            .and_then(|s| s.for_upstream(SignatureFamily::Gemini))
            .map(Cow::Borrowed)
    }
    for pi in order {
        let part = &message.parts[pi];
        let path = || format!("messages[{mi}].content[{pi}]");
        match part {
            Part::Text { text, .. } => {
                if text.is_empty() && carried.is_none() {
                    continue;
                }
                out.push(WirePart {
                    text: Some(text.as_str().into()),
                    thought_signature: carried.take(),
                    ..WirePart::default()
                });
            }
            Part::Image(media) | Part::Document { media, .. } => {
                let mut wire = media_wire(media, path)?;
                wire.thought_signature = carried.take();
                out.push(wire);
            }
            Part::ToolCall {
                name,
                arguments,
                signature,
                ..
            } => {
                // Checked, not parsed: the text is written as it is.
                let args = match serde_json::from_str::<&RawValue>(arguments) {
                    Ok(raw) if raw.get().starts_with('{') => Json::Raw(raw),
                    Ok(_) | Err(_) if arguments.trim().is_empty() => Json::EmptyObject,
                    _ => {
                        return Err(TranslateError::unsupported(
                            path(),
                            "the tool call's arguments are not a JSON object",
                        ));
                    }
                };
                let signature = gemini_signature(signature)
                    .or_else(|| carried.take())
                    .unwrap_or(Cow::Borrowed(GEMINI_SKIP_SIGNATURE));
                out.push(WirePart {
                    function_call: Some(FunctionCall {
                        id: None,
                        name: name.clone(),
                        args: Some(args),
                    }),
                    thought_signature: Some(signature),
                    ..WirePart::default()
                });
            }
            Part::ToolResult {
                call_id,
                name,
                content,
                is_error,
            } => {
                let Some(name) = name else {
                    return Err(TranslateError::unsupported(
                        path(),
                        format!(
                            "the result of call {call_id:?} answers no call in the conversation, and Gemini needs the function's name"
                        ),
                    ));
                };
                let mut texts = Vec::new();
                let mut media = Vec::new();
                for (ri, inner) in content.iter().enumerate() {
                    match inner {
                        Part::Text { text, .. } => texts.push(text.as_str()),
                        Part::Image(m) | Part::Document { media: m, .. } => {
                            media.push(media_wire(m, || format!("{}.content[{ri}]", path()))?)
                        }
                        _ => {}
                    }
                }
                let text: Cow<'_, str> = match texts.as_slice() {
                    [one] => Cow::Borrowed(one),
                    _ => Cow::Owned(texts.join("\n")),
                };
                let response = if *is_error {
                    Json::Wrapped("error", text)
                } else if !text.trim_start().starts_with('{') {
                    // Not an object: no need to try parsing it.
                    Json::Wrapped("result", text)
                } else {
                    match text {
                        Cow::Borrowed(borrowed) => {
                            match serde_json::from_str::<&RawValue>(borrowed) {
                                Ok(raw) => Json::Raw(raw),
                                Err(_) => Json::Wrapped("result", text),
                            }
                        }
                        Cow::Owned(owned) => match serde_json::from_str::<Value>(&owned) {
                            Ok(object @ Value::Object(_)) => Json::Value(object),
                            _ => Json::Wrapped("result", Cow::Owned(owned)),
                        },
                    }
                };
                out.push(WirePart {
                    function_response: Some(FunctionResponse {
                        id: None,
                        name: name.clone(),
                        response: Some(response),
                    }),
                    ..WirePart::default()
                });
                out.extend(media);
            }
            Part::Thinking { text, signature } => match gemini_signature(signature) {
                Some(signature) if text.is_empty() => carried = Some(signature),
                Some(signature) => out.push(WirePart {
                    text: Some(text.as_str().into()),
                    thought: true,
                    thought_signature: Some(signature),
                    ..WirePart::default()
                }),
                // Reasoning Gemini did not sign cannot be verified: it is not replayed.
                None => {}
            },
            Part::RedactedThinking { .. } => {}
        }
    }
    if let Some(signature) = carried {
        out.push(WirePart {
            thought_signature: Some(signature),
            text: Some("".into()),
            ..WirePart::default()
        });
    }
    Ok(out)
}

/// Whether Gemini resolves this URI itself (Files API or Cloud Storage).
fn gemini_file_uri(uri: &str) -> bool {
    uri.starts_with("https://generativelanguage.googleapis.com/") || uri.starts_with("gs://")
}

fn media_wire(media: &Media, path: impl Fn() -> String) -> Result<WirePart<'_>, TranslateError> {
    match media {
        Media::Base64 { media_type, data } => Ok(WirePart {
            inline_data: Some(Blob {
                mime_type: media_type.as_str().into(),
                data: data.as_str().into(),
            }),
            ..WirePart::default()
        }),
        Media::Url(url) => {
            if let Some(rest) = url.strip_prefix("data:")
                && let Some((mime, data)) = rest.split_once(";base64,")
            {
                return Ok(WirePart {
                    inline_data: Some(Blob {
                        mime_type: mime.into(),
                        data: data.into(),
                    }),
                    ..WirePart::default()
                });
            }
            if gemini_file_uri(url) {
                return Ok(WirePart {
                    file_data: Some(FileData {
                        mime_type: None,
                        file_uri: url.clone(),
                    }),
                    ..WirePart::default()
                });
            }
            Err(TranslateError::unsupported(
                path(),
                "Gemini takes only inline data or its own file URIs; switchyard does not fetch URLs",
            ))
        }
        Media::FileId(id) => {
            if id.starts_with("files/") {
                return Ok(WirePart {
                    file_data: Some(FileData {
                        mime_type: None,
                        file_uri: format!("https://generativelanguage.googleapis.com/v1beta/{id}"),
                    }),
                    ..WirePart::default()
                });
            }
            Err(TranslateError::unsupported(
                path(),
                "a file id of another provider cannot be resolved by Gemini",
            ))
        }
    }
}
