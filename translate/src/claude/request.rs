//! Requests: a Claude client's body to the hub, and the hub to a Claude upstream's body.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Value, json};

use super::{schema, wire};
use crate::TranslateError;
use crate::base64;
use crate::ir::{
    Effort, Media, Message, Part, Request, ResponseFormat, Role, Signature, SignatureFamily,
    Thinking, Tool, ToolChoice,
};

/// `max_tokens` when the client gave none (Claude requires it): 32,000, like the reference,
/// except for the Claude 3 models whose output limit is lower (3.5: 8,192; 3 Opus/Sonnet/Haiku:
/// 4,096). Claude 3.7 takes 32,000.
pub(super) fn default_max_tokens(model: &str) -> u64 {
    let model = model.to_ascii_lowercase();
    if model.contains("claude-3-7") {
        32_000
    } else if model.contains("claude-3-5") || model.contains("claude-3.5") {
        8192
    } else if model.contains("claude-3") {
        4096
    } else {
        32_000
    }
}

/// The smallest thinking budget Claude accepts.
const MIN_BUDGET: u64 = 1024;

/// The budget sent for "auto" thinking to a model without adaptive thinking (medium).
const AUTO_BUDGET: u64 = 8192;

/// Content-block types that only Anthropic understands (server tools, MCP, containers).
const SERVER_BLOCKS: &[&str] = &[
    "server_tool_use",
    "web_search_tool_result",
    "web_fetch_tool_result",
    "code_execution_tool_result",
    "bash_code_execution_tool_result",
    "text_editor_code_execution_tool_result",
    "tool_search_tool_result",
    "mcp_tool_use",
    "mcp_tool_result",
    "container_upload",
    "search_result",
];

fn invalid(message: String) -> TranslateError {
    TranslateError::Invalid(message)
}

/// Decodes a Claude client's `/v1/messages` (or `count_tokens`) body.
/// How Claude Code's attribution system block starts.
const ATTRIBUTION: &str = "x-anthropic-billing-header:";

pub(crate) fn decode_request(body: &[u8]) -> Result<Request, TranslateError> {
    let wire: wire::Request<'_> = serde_json::from_slice(body)
        .map_err(|e| invalid(format!("not an Anthropic Messages request: {e}")))?;
    let mut request = Request {
        model: wire.model.unwrap_or_default(),
        max_tokens: wire.max_tokens,
        temperature: wire.temperature,
        top_p: wire.top_p,
        top_k: wire.top_k,
        stop: wire.stop_sequences.unwrap_or_default(),
        stream: wire.stream.unwrap_or(false),
        user: wire.metadata.and_then(|m| m.user_id),
        ..Request::default()
    };
    match wire.system {
        None => {}
        Some(wire::System::Text(text)) if text.is_empty() => {}
        Some(wire::System::Text(text)) => request.system.push(Part::text(text)),
        Some(wire::System::Blocks(blocks)) => {
            for (i, block) in blocks.into_iter().enumerate() {
                if block.kind != "text" {
                    return Err(invalid(format!(
                        "system[{i}]: a system block must be of type text, not {:?}",
                        block.kind
                    )));
                }
                // Blank blocks and Claude Code's per-request attribution block
                // (`x-anthropic-billing-header: …`) mean nothing to another upstream (and the
                // latter would defeat its prompt cache).
                if block.text.trim().is_empty() || block.text.starts_with(ATTRIBUTION) {
                    continue;
                }
                request.system.push(Part::Text {
                    text: block.text,
                    cache_control: block.cache_control,
                });
            }
        }
    }
    for (i, message) in wire.messages.into_iter().enumerate() {
        let role = match message.role.as_str() {
            "user" => Role::User,
            "assistant" => Role::Assistant,
            other => {
                return Err(invalid(format!(
                    "messages[{i}].role: {other:?} is neither user nor assistant"
                )));
            }
        };
        let path = format!("messages[{i}].content");
        let parts =
            decode_message_content(message.content, &path, &mut request.same_protocol_only)?;
        request.messages.push(Message { role, parts });
    }
    for (i, tool) in wire.tools.unwrap_or_default().into_iter().enumerate() {
        match decode_tool(tool, i)? {
            Some(tool) => request.tools.push(tool),
            None => request.same_protocol_only.push(format!("tools[{i}]")),
        }
    }
    if let Some(choice) = wire.tool_choice {
        request.tool_choice =
            Some(match choice.kind.as_str() {
                "auto" => ToolChoice::Auto,
                "any" => ToolChoice::Required,
                "none" => ToolChoice::None,
                "tool" => ToolChoice::Tool(choice.name.ok_or_else(|| {
                    invalid("tool_choice.name: required for type tool".to_owned())
                })?),
                other => {
                    return Err(invalid(format!("tool_choice.type: unknown type {other:?}")));
                }
            });
        if choice.disable_parallel_tool_use == Some(true) {
            request.parallel_tool_calls = Some(false);
        }
    }
    if let Some(thinking) = wire.thinking {
        let effort = wire
            .output_config
            .and_then(|c| c.effort)
            .map(|e| {
                Effort::parse(&e)
                    .ok_or_else(|| invalid(format!("output_config.effort: unknown level {e:?}")))
            })
            .transpose()?;
        let setting = match thinking.kind.as_str() {
            "enabled" => match thinking.budget_tokens {
                Some(budget) => Thinking::from_budget(budget).ok_or_else(|| {
                    invalid(format!("thinking.budget_tokens: {budget} is negative"))
                })?,
                None => Thinking::Auto,
            },
            "adaptive" | "auto" => effort.map_or(Thinking::Auto, Thinking::Effort),
            "disabled" => Thinking::Off,
            other => {
                return Err(invalid(format!("thinking.type: unknown type {other:?}")));
            }
        };
        if setting != Thinking::Off {
            request.include_thoughts = Some(thinking.display.as_deref() != Some("omitted"));
        }
        request.thinking = Some(setting);
    }
    if wire.mcp_servers.is_some() {
        request.same_protocol_only.push("mcp_servers".to_owned());
    }
    if wire.container.is_some() {
        request.same_protocol_only.push("container".to_owned());
    }
    Ok(request)
}

/// A function tool, or `None` for a tool only Anthropic runs (server tools, anthropic-defined
/// tools without `input_schema`).
fn decode_tool(tool: Value, i: usize) -> Result<Option<Tool>, TranslateError> {
    let Value::Object(mut tool) = tool else {
        return Err(invalid(format!("tools[{i}]: not an object")));
    };
    let kind = tool.get("type").and_then(Value::as_str);
    if !matches!(kind, None | Some("custom")) || !tool.contains_key("input_schema") {
        return Ok(None);
    }
    let name = match tool.remove("name") {
        Some(Value::String(name)) => name,
        _ => return Err(invalid(format!("tools[{i}].name: a string is required"))),
    };
    let description = match tool.remove("description") {
        Some(Value::String(text)) => Some(text),
        None | Some(Value::Null) => None,
        Some(_) => return Err(invalid(format!("tools[{i}].description: not a string"))),
    };
    Ok(Some(Tool {
        name,
        description,
        parameters: tool
            .remove("input_schema")
            .unwrap_or_else(|| json!({"type": "object"})),
        strict: tool.get("strict").and_then(Value::as_bool),
        cache_control: tool.remove("cache_control"),
    }))
}

/// A message's content.
fn decode_message_content(
    content: wire::MessageContent<'_>,
    path: &str,
    foreign: &mut Vec<String>,
) -> Result<Vec<Part>, TranslateError> {
    let blocks = match content {
        wire::MessageContent::Text(text) => return Ok(vec![Part::text(text)]),
        wire::MessageContent::Blocks(blocks) => blocks,
    };
    let mut parts = Vec::with_capacity(blocks.len());
    for (j, raw) in blocks.into_iter().enumerate() {
        let here = || format!("{path}[{j}]");
        // A known block type read straight from the body (the common case).
        if let Ok(flat) = serde_json::from_str::<wire::FlatBlock<'_>>(raw.get())
            && let Some(part) = decode_flat(flat, &here, foreign)?
        {
            parts.push(part);
            continue;
        }
        // Anything else is read as before, through a value, to name it.
        let value: Value = serde_json::from_str(raw.get()).unwrap_or(Value::Null);
        decode_value_block(&value, here(), foreign, &mut parts)?;
    }
    Ok(parts)
}

/// A block read flat, when its type is known and has the fields it needs (`None`: read it
/// through a value).
fn decode_flat(
    flat: wire::FlatBlock<'_>,
    here: &dyn Fn() -> String,
    foreign: &mut Vec<String>,
) -> Result<Option<Part>, TranslateError> {
    let block = match (&*flat.kind, flat.source) {
        ("text", _) => match flat.text {
            Some(text) => wire::Block::Text {
                text,
                cache_control: flat.cache_control,
            },
            None => return Ok(None),
        },
        ("image", Some(source)) => wire::Block::Image { source },
        ("document", Some(source)) => wire::Block::Document {
            source,
            title: flat.title,
        },
        ("tool_use", _) => match (flat.id, flat.name) {
            (Some(id), Some(name)) => wire::Block::ToolUse {
                id,
                name,
                input: flat.input.unwrap_or(Value::Null),
            },
            _ => return Ok(None),
        },
        ("tool_result", _) => {
            let Some(tool_use_id) = flat.tool_use_id else {
                return Ok(None);
            };
            let parts = match flat.content {
                None => Vec::new(),
                Some(content) => {
                    decode_message_content(content, &format!("{}.content", here()), foreign)?
                }
            };
            return Ok(Some(tool_result(
                tool_use_id,
                parts,
                flat.is_error,
                flat.cache_control,
            )));
        }
        // A null `thinking` is refused by the value path: only a string is read here.
        ("thinking", _) => match flat.thinking {
            Some(thinking) => wire::Block::Thinking {
                thinking,
                signature: flat.signature,
            },
            None => return Ok(None),
        },
        ("redacted_thinking", _) => match flat.data {
            Some(data) => wire::Block::RedactedThinking { data },
            None => return Ok(None),
        },
        _ => return Ok(None),
    };
    decode_block(block, here, foreign).map(Some)
}

/// A tool result with its decoded content (`cache_control` kept on its last text).
fn tool_result(
    call_id: String,
    mut parts: Vec<Part>,
    is_error: Option<bool>,
    cache_control: Option<Value>,
) -> Part {
    if cache_control.is_some()
        && let Some(Part::Text {
            cache_control: slot @ None,
            ..
        }) = parts
            .iter_mut()
            .rev()
            .find(|p| matches!(p, Part::Text { .. }))
    {
        *slot = cache_control;
    }
    Part::ToolResult {
        call_id,
        name: None,
        content: parts,
        is_error: is_error.unwrap_or(false),
    }
}

/// A tool result's content.
fn decode_content(
    content: wire::Content,
    path: &str,
    foreign: &mut Vec<String>,
) -> Result<Vec<Part>, TranslateError> {
    let blocks = match content {
        wire::Content::Text(text) => return Ok(vec![Part::text(text)]),
        wire::Content::Blocks(blocks) => blocks,
    };
    let mut parts = Vec::with_capacity(blocks.len());
    for (j, value) in blocks.iter().enumerate() {
        decode_value_block(value, format!("{path}[{j}]"), foreign, &mut parts)?;
    }
    Ok(parts)
}

/// One content block given as a value, onto `parts` (or its path onto `foreign`).
fn decode_value_block(
    value: &Value,
    here: String,
    foreign: &mut Vec<String>,
    parts: &mut Vec<Part>,
) -> Result<(), TranslateError> {
    let kind = value.get("type").and_then(Value::as_str).unwrap_or("");
    let block = match wire::Block::deserialize(value) {
        Ok(block) => block,
        Err(error) => match kind {
            "text" | "tool_use" | "tool_result" | "thinking" | "redacted_thinking" => {
                return Err(invalid(format!("{here}: {error}")));
            }
            "" => return Err(invalid(format!("{here}.type: missing"))),
            // Other sources (`content`), server-tool blocks, new block types.
            _ => {
                foreign.push(here);
                return Ok(());
            }
        },
    };
    if SERVER_BLOCKS.contains(&kind) {
        foreign.push(here);
        return Ok(());
    }
    parts.push(decode_block(block, &|| here.clone(), foreign)?);
    Ok(())
}

fn decode_media(source: wire::Source) -> Result<Media, TranslateError> {
    Ok(match source {
        wire::Source::Base64 { media_type, data } => Media::Base64 { media_type, data },
        wire::Source::Url { url } => Media::Url(url),
        wire::Source::File { file_id } => Media::FileId(file_id),
        wire::Source::Text { data } => Media::Base64 {
            media_type: "text/plain".to_owned(),
            data: base64::encode(data.as_bytes()),
        },
    })
}

fn decode_block(
    block: wire::Block,
    here: &dyn Fn() -> String,
    foreign: &mut Vec<String>,
) -> Result<Part, TranslateError> {
    Ok(match block {
        wire::Block::Text {
            text,
            cache_control,
        } => Part::Text {
            text,
            cache_control,
        },
        wire::Block::Image { source } => {
            if matches!(source, wire::Source::Text { .. }) {
                return Err(invalid(format!(
                    "{}.source: an image cannot have a text source",
                    here()
                )));
            }
            Part::Image(decode_media(source)?)
        }
        wire::Block::Document { source, title } => Part::Document {
            media: decode_media(source)?,
            title,
        },
        wire::Block::ToolUse { id, name, input } => Part::ToolCall {
            id,
            name,
            arguments: super::input_arguments(input),
            signature: None,
        },
        wire::Block::ToolResult {
            tool_use_id,
            content,
            is_error,
            cache_control,
        } => {
            let parts = match content {
                None => Vec::new(),
                Some(content) => decode_content(content, &format!("{}.content", here()), foreign)?,
            };
            tool_result(tool_use_id, parts, is_error, cache_control)
        }
        wire::Block::Thinking {
            thinking,
            signature,
        } => Part::Thinking {
            text: thinking,
            signature: signature
                .filter(|s| !s.is_empty())
                .map(|s| Signature::read(&s, SignatureFamily::Claude)),
        },
        wire::Block::RedactedThinking { data } => {
            // A foreign family's opaque reasoning comes back prefixed (see `signature`).
            let carried = Signature::read(&data, SignatureFamily::Claude);
            Part::RedactedThinking {
                data: carried.value,
                family: carried.family,
            }
        }
    })
}

/// Claude tool ids: `[A-Za-z0-9_-]`, others become `_` (on calls and results alike, so pairs
/// still match).
pub(super) fn sanitize_id(id: &str) -> String {
    if id.is_empty() {
        return "toolu_missing".to_owned();
    }
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Whether `model` takes adaptive thinking (`thinking.type=adaptive` + `output_config.effort`):
/// Claude 4.6 and later.
pub(crate) fn adaptive_capable(model: &str) -> bool {
    let model = model.to_ascii_lowercase();
    for family in ["opus-", "sonnet-", "haiku-"] {
        let Some(at) = model.find(family) else {
            continue;
        };
        let mut numbers = model[at + family.len()..]
            .split(['-', '.', '@'])
            .map(|n| n.parse::<u64>().ok());
        let major = numbers.next().flatten().unwrap_or(0);
        let minor = numbers.next().flatten().filter(|m| *m < 100).unwrap_or(0);
        return major > 4 || (major == 4 && minor >= 6);
    }
    false
}

pub(crate) fn encode_request(request: &Request) -> Result<Vec<u8>, TranslateError> {
    let body = encode_body(request, false)?;
    let mut out = Vec::with_capacity(body_capacity(request));
    serde_json::to_writer(&mut out, &body)?;
    Ok(out)
}

/// Encodes an upstream `/v1/messages/count_tokens` body: model, system, messages, tools,
/// tool_choice and thinking (no `max_tokens`, no `stream`, no sampling).
pub(crate) fn encode_count_request(request: &Request) -> Result<Vec<u8>, TranslateError> {
    let body = encode_body(request, true)?;
    Ok(serde_json::to_vec(&body)?)
}

/// A first guess at the encoded body's size (the text it carries), so the buffer grows rarely.
fn body_capacity(request: &Request) -> usize {
    fn parts(list: &[Part]) -> usize {
        list.iter()
            .map(|part| match part {
                Part::Text { text, .. } => text.len() + 32,
                Part::ToolCall { arguments, .. } => arguments.len() + 96,
                Part::ToolResult { content, .. } => parts(content) + 96,
                Part::Thinking { text, .. } => text.len() + 64,
                _ => 64,
            })
            .sum()
    }
    let messages: usize = request.messages.iter().map(|m| parts(&m.parts) + 32).sum();
    let tools: usize = request
        .tools
        .iter()
        .map(|t| t.name.len() + t.description.as_ref().map_or(0, String::len) + 512)
        .sum();
    (parts(&request.system) + messages + tools + 256) * 9 / 8
}

/// The upstream body, borrowing from the hub request.
#[derive(Serialize)]
struct Body<'a> {
    model: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_tokens: Option<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    system: Vec<OutBlock<'a>>,
    messages: Vec<OutMessage<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tools: Vec<OutTool<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_choice: Option<OutChoice<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    thinking: Option<OutThinking>,
    #[serde(skip_serializing_if = "Option::is_none")]
    output_config: Option<OutEffort>,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    top_p: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    top_k: Option<u64>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    stop_sequences: &'a [String],
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    stream: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    metadata: Option<OutMetadata<'a>>,
}

/// `metadata`.
#[derive(Serialize)]
struct OutMetadata<'a> {
    user_id: &'a str,
}

/// `output_config`.
#[derive(Serialize)]
struct OutEffort {
    effort: &'static str,
}

/// `thinking`.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum OutThinking {
    Disabled,
    Adaptive,
    Enabled { budget_tokens: u64 },
}

/// `tool_choice`.
#[derive(Serialize)]
struct OutChoice<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    disable_parallel_tool_use: bool,
}

/// A tool.
#[derive(Serialize)]
struct OutTool<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    input_schema: schema::Normalized<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cache_control: Option<&'a Value>,
}

/// One message.
#[derive(Serialize)]
struct OutMessage<'a> {
    role: &'static str,
    content: Vec<OutBlock<'a>>,
}

/// A content block.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum OutBlock<'a> {
    Text {
        text: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        cache_control: Option<&'a Value>,
    },
    Image {
        source: OutSource<'a>,
    },
    Document {
        source: OutSource<'a>,
        #[serde(skip_serializing_if = "Option::is_none")]
        title: Option<&'a str>,
    },
    ToolUse {
        id: Cow<'a, str>,
        name: &'a str,
        #[serde(serialize_with = "write_input")]
        input: Option<&'a RawValue>,
    },
    ToolResult {
        tool_use_id: Cow<'a, str>,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        content: Vec<OutBlock<'a>>,
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        is_error: bool,
    },
    Thinking {
        thinking: &'a str,
        signature: &'a str,
    },
    RedactedThinking {
        data: &'a str,
    },
}

/// An image's or document's source.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum OutSource<'a> {
    Base64 {
        media_type: &'a str,
        data: &'a str,
    },
    Text {
        media_type: &'static str,
        data: String,
    },
    Url {
        url: &'a str,
    },
    File {
        file_id: &'a str,
    },
}

/// Tool-call arguments as Claude's `input`: the JSON object text as given (validated), `None`
/// (written `{}`) for empty, invalid (e.g. cut off by a length limit) or non-object arguments.
pub(super) fn input_object(arguments: &str) -> Option<&RawValue> {
    serde_json::from_str::<&RawValue>(arguments.trim())
        .ok()
        .filter(|raw| raw.get().starts_with('{'))
}

/// Writes an [`input_object`]: the object, or `{}`.
pub(super) fn write_input<S: serde::Serializer>(
    input: &Option<&RawValue>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    match input {
        Some(raw) => raw.serialize(serializer),
        None => serializer.serialize_map(Some(0))?.end(),
    }
}

/// [`sanitize_id`], borrowing the id when it is already clean.
pub(super) fn sanitize_id_cow(id: &str) -> Cow<'_, str> {
    if !id.is_empty()
        && id
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-')
    {
        Cow::Borrowed(id)
    } else {
        Cow::Owned(sanitize_id(id))
    }
}

fn encode_body(request: &Request, count: bool) -> Result<Body<'_>, TranslateError> {
    if let Some(n) = request.n
        && n > 1
    {
        return Err(TranslateError::unsupported(
            "n",
            "Anthropic Messages gives one answer per request",
        ));
    }
    match &request.response_format {
        None | Some(ResponseFormat::Text) => {}
        Some(_) => {
            return Err(TranslateError::unsupported(
                "response_format",
                "Anthropic Messages has no JSON mode switchyard can request",
            ));
        }
    }
    let max_tokens = request
        .max_tokens
        .unwrap_or_else(|| default_max_tokens(&request.model));
    let mut system = Vec::new();
    for (i, part) in request.system.iter().enumerate() {
        match part {
            Part::Text {
                text,
                cache_control,
            } => {
                if !text.is_empty() {
                    system.push(text_block(text, cache_control.as_ref()));
                }
            }
            _ => {
                return Err(TranslateError::unsupported(
                    format!("system[{i}]"),
                    "Claude takes only text as system instructions",
                ));
            }
        }
    }
    let no_content = request.messages.iter().all(|m| {
        m.parts
            .iter()
            .all(|p| matches!(p, Part::Text { text, .. } if text.is_empty()))
    });
    let messages = if !system.is_empty() && no_content {
        // Only instructions: Claude needs a message, so they become the user's turn.
        vec![OutMessage {
            role: "user",
            content: std::mem::take(&mut system),
        }]
    } else {
        encode_messages(&request.messages)?
    };
    let unthinking_tool_turn = unthinking_tool_turn(&messages);
    let has_tools = !request.tools.is_empty();
    let tools: Vec<OutTool<'_>> = request
        .tools
        .iter()
        .map(|tool| OutTool {
            name: &tool.name,
            description: tool.description.as_deref(),
            input_schema: schema::Normalized::new(&tool.parameters),
            cache_control: tool.cache_control.as_ref(),
        })
        .collect();
    let forced = matches!(
        request.tool_choice,
        Some(ToolChoice::Required | ToolChoice::Tool(_))
    );
    let mut tool_choice = None;
    if has_tools {
        let choice = |kind, name| OutChoice {
            kind,
            name,
            disable_parallel_tool_use: false,
        };
        tool_choice = match &request.tool_choice {
            None => None,
            Some(ToolChoice::Auto) => Some(choice("auto", None)),
            Some(ToolChoice::None) => Some(choice("none", None)),
            Some(ToolChoice::Required) => Some(choice("any", None)),
            Some(ToolChoice::Tool(name)) => Some(choice("tool", Some(name.as_str()))),
        };
        if request.parallel_tool_calls == Some(false)
            && request.tool_choice != Some(ToolChoice::None)
        {
            tool_choice
                .get_or_insert_with(|| choice("auto", None))
                .disable_parallel_tool_use = true;
        }
    }
    let mut body = Body {
        model: &request.model,
        max_tokens: (!count).then_some(max_tokens),
        system,
        messages,
        tools,
        tool_choice,
        thinking: None,
        output_config: None,
        temperature: None,
        top_p: None,
        top_k: None,
        stop_sequences: &[],
        stream: false,
        metadata: None,
    };
    // Claude refuses thinking with a forced tool choice, and when the last assistant turn
    // calls tools without starting with a thinking block (history from a client that does
    // not replay Claude thinking): thinking is dropped then.
    let thinking = if forced || unthinking_tool_turn {
        None
    } else {
        request.thinking
    };
    let adaptive = adaptive_capable(&request.model);
    let mut thinking_on = false;
    match thinking {
        None => {}
        Some(Thinking::Off) => body.thinking = Some(OutThinking::Disabled),
        Some(setting) if adaptive => {
            thinking_on = true;
            body.thinking = Some(OutThinking::Adaptive);
            if let Some(effort) = setting.effort()
                && !count
            {
                let mut level = effort.claude();
                if level == "max" && !request.model.to_ascii_lowercase().contains("opus") {
                    level = "high";
                }
                // The count endpoint takes no generation settings.
                body.output_config = Some(OutEffort { effort: level });
            }
        }
        Some(setting) => {
            let wanted = match setting {
                Thinking::Budget(n) => n,
                Thinking::Effort(effort) => effort.budget(),
                _ => AUTO_BUDGET,
            }
            .max(MIN_BUDGET);
            // The budget must stay below max_tokens; below Claude's minimum, no thinking.
            let budget = if count {
                wanted
            } else {
                wanted.min(max_tokens.saturating_sub(1))
            };
            if budget >= MIN_BUDGET {
                thinking_on = true;
                body.thinking = Some(OutThinking::Enabled {
                    budget_tokens: budget,
                });
            }
        }
    }
    if count {
        return Ok(body);
    }
    // Sampling: Claude refuses temperature with thinking and takes top_p only ≥ 0.95 then;
    // without thinking, recent models refuse temperature and top_p together (top_p dropped).
    if let Some(t) = request.temperature
        && !thinking_on
    {
        // Claude's range is 0..=1 (OpenAI's goes to 2).
        body.temperature = Some(t.clamp(0.0, 1.0));
    }
    if let Some(p) = request.top_p {
        let keep = if thinking_on {
            p >= 0.95
        } else {
            request.temperature.is_none()
        };
        if keep {
            body.top_p = Some(p);
        }
    }
    if !thinking_on {
        body.top_k = request.top_k;
    }
    body.stop_sequences = &request.stop;
    body.stream = request.stream;
    body.metadata = request
        .user
        .as_deref()
        .map(|user_id| OutMetadata { user_id });
    Ok(body)
}

/// Whether the last assistant turn has a `tool_use` but does not start with (redacted)
/// thinking: Claude refuses such a history while thinking is on.
fn unthinking_tool_turn(messages: &[OutMessage<'_>]) -> bool {
    let Some(last) = messages.iter().rev().find(|m| m.role == "assistant") else {
        return false;
    };
    let starts_thinking = matches!(
        last.content.first(),
        Some(OutBlock::Thinking { .. } | OutBlock::RedactedThinking { .. })
    );
    !starts_thinking
        && last
            .content
            .iter()
            .any(|b| matches!(b, OutBlock::ToolUse { .. }))
}

fn text_block<'a>(text: &'a str, cache_control: Option<&'a Value>) -> OutBlock<'a> {
    OutBlock::Text {
        text,
        cache_control,
    }
}

fn encode_media<'a>(
    media: &'a Media,
    document: bool,
    here: impl FnOnce() -> String,
) -> Result<OutSource<'a>, TranslateError> {
    Ok(match media {
        Media::Base64 { media_type, data } if document && media_type.starts_with("text/") => {
            let text = base64::decode(data)
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .ok_or_else(|| {
                    TranslateError::unsupported(here(), "the text document is not base64 UTF-8")
                })?;
            OutSource::Text {
                media_type: "text/plain",
                data: text,
            }
        }
        Media::Base64 { media_type, .. } if document && media_type != "application/pdf" => {
            return Err(TranslateError::unsupported(
                here(),
                format!("Claude takes PDF and plain-text documents, not {media_type}"),
            ));
        }
        Media::Base64 { media_type, data } => OutSource::Base64 { media_type, data },
        Media::Url(url) if url.starts_with("data:") => {
            return Err(TranslateError::unsupported(
                here(),
                "a data: URL that is not base64 cannot be sent to Claude",
            ));
        }
        Media::Url(url) => OutSource::Url { url },
        Media::FileId(id) => OutSource::File { file_id: id },
    })
}

/// Content blocks of one tool result.
fn encode_result_content<'a>(
    parts: &'a [Part],
    here: &dyn Fn() -> String,
) -> Result<Vec<OutBlock<'a>>, TranslateError> {
    let mut blocks = Vec::with_capacity(parts.len());
    for (k, part) in parts.iter().enumerate() {
        let at = || format!("{}.content[{k}]", here());
        match part {
            Part::Text {
                text,
                cache_control,
            } => {
                if !text.is_empty() {
                    blocks.push(text_block(text, cache_control.as_ref()));
                }
            }
            Part::Image(media) => blocks.push(OutBlock::Image {
                source: encode_media(media, false, at)?,
            }),
            Part::Document { media, title } => {
                blocks.push(document_block(media, title.as_deref(), at)?)
            }
            _ => {
                return Err(TranslateError::unsupported(
                    at(),
                    "a Claude tool result holds text, images and documents only",
                ));
            }
        }
    }
    Ok(blocks)
}

fn document_block<'a>(
    media: &'a Media,
    title: Option<&'a str>,
    here: impl FnOnce() -> String,
) -> Result<OutBlock<'a>, TranslateError> {
    Ok(OutBlock::Document {
        source: encode_media(media, true, here)?,
        title,
    })
}

/// The conversation as Claude takes it: empty text dropped, foreign thinking dropped, tool ids
/// sanitised, consecutive same-role messages merged, tool results first in their message, and
/// a placeholder user turn (`"."`) in front when the conversation starts with the assistant.
fn encode_messages(messages: &[Message]) -> Result<Vec<OutMessage<'_>>, TranslateError> {
    let mut out: Vec<(Role, Vec<OutBlock<'_>>)> = Vec::with_capacity(messages.len() + 1);
    for (i, message) in messages.iter().enumerate() {
        let assistant = message.role == Role::Assistant;
        let mut blocks = Vec::with_capacity(message.parts.len());
        for (j, part) in message.parts.iter().enumerate() {
            let here = || format!("messages[{i}].content[{j}]");
            let only = |ok: bool, what: &str| {
                if ok {
                    Ok(())
                } else {
                    Err(TranslateError::unsupported(
                        here(),
                        format!("Claude takes {what}"),
                    ))
                }
            };
            match part {
                Part::Text {
                    text,
                    cache_control,
                } => {
                    if !text.is_empty() {
                        blocks.push(text_block(text, cache_control.as_ref()));
                    }
                }
                Part::Image(media) => {
                    only(!assistant, "images only from the user")?;
                    blocks.push(OutBlock::Image {
                        source: encode_media(media, false, here)?,
                    });
                }
                Part::Document { media, title } => {
                    only(!assistant, "documents only from the user")?;
                    blocks.push(document_block(media, title.as_deref(), here)?);
                }
                Part::ToolCall {
                    id,
                    name,
                    arguments,
                    ..
                } => {
                    only(assistant, "tool calls only from the assistant")?;
                    blocks.push(OutBlock::ToolUse {
                        id: sanitize_id_cow(id),
                        name,
                        input: input_object(arguments),
                    });
                }
                Part::ToolResult {
                    call_id,
                    content,
                    is_error,
                    ..
                } => {
                    only(!assistant, "tool results only from the user")?;
                    blocks.push(OutBlock::ToolResult {
                        tool_use_id: sanitize_id_cow(call_id),
                        content: encode_result_content(content, &here)?,
                        is_error: *is_error,
                    });
                }
                Part::Thinking { text, signature } => {
                    let signature = signature
                        .as_ref()
                        .and_then(|s| s.for_upstream(SignatureFamily::Claude));
                    if let (true, Some(signature)) = (assistant, signature) {
                        blocks.push(OutBlock::Thinking {
                            thinking: text,
                            signature,
                        });
                    }
                }
                Part::RedactedThinking { data, family } => {
                    if assistant && *family == SignatureFamily::Claude {
                        blocks.push(OutBlock::RedactedThinking { data });
                    }
                }
            }
        }
        if blocks.is_empty() {
            continue;
        }
        match out.last_mut() {
            Some((role, previous)) if *role == message.role => previous.extend(blocks),
            _ => out.push((message.role, blocks)),
        }
    }
    if out.is_empty() {
        return Err(TranslateError::unsupported(
            "messages",
            "Claude needs at least one message with content",
        ));
    }
    if out[0].0 == Role::Assistant {
        out.insert(0, (Role::User, vec![text_block(".", None)]));
    }
    Ok(out
        .into_iter()
        .map(|(role, mut blocks)| {
            if role == Role::User {
                dedup_tool_results(&mut blocks);
                // Stable: tool results first, the rest in order.
                blocks.sort_by_key(|b| !matches!(b, OutBlock::ToolResult { .. }));
            }
            let role = if role == Role::User {
                "user"
            } else {
                "assistant"
            };
            OutMessage {
                role,
                content: blocks,
            }
        })
        .collect())
}

/// The id of a tool result block.
fn result_id<'b>(block: &'b OutBlock<'_>) -> Option<&'b str> {
    match block {
        OutBlock::ToolResult { tool_use_id, .. } => Some(tool_use_id),
        _ => None,
    }
}

/// Claude takes one `tool_result` per `tool_use`: a result repeated for the same id keeps the
/// first one's position and the last one's content.
fn dedup_tool_results(blocks: &mut Vec<OutBlock<'_>>) {
    let results = blocks.iter().filter(|b| result_id(b).is_some()).count();
    if results < 2 {
        return;
    }
    let mut kept: Vec<OutBlock<'_>> = Vec::with_capacity(blocks.len());
    for block in blocks.drain(..) {
        let earlier = result_id(&block).and_then(|id| {
            let id = id.to_owned();
            kept.iter_mut().find(|b| result_id(b) == Some(id.as_str()))
        });
        match earlier {
            Some(earlier) => *earlier = block,
            None => kept.push(block),
        }
    }
    *blocks = kept;
}
