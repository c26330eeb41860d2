//! Translation between the four LLM API protocols switchyard serves: OpenAI chat completions,
//! OpenAI Responses, Anthropic Messages and Gemini `generateContent`.
//!
//! Every protocol has one codec that decodes requests and answers into the hub representation
//! ([`ir`]) and encodes them back out; a translation is one decode and one encode. Nothing
//! here does I/O: the proxy hands in bytes and gets bytes back.
//!
//! - [`translate_request`] turns a client's request into the upstream's, and returns the
//!   [`Exchange`] that translates the answer back: [`Exchange::response`] for a whole body,
//!   [`Exchange::stream`] for a stream (a per-stream state machine, bounded memory);
//!   [`client_error`] with [`upstream_message`] puts an upstream error in the client's shape.
//! - [`count_tokens`] serves `count_tokens` / `countTokens` across protocols.

mod aggregate;
mod base64;
mod chat;
mod claude;
mod error;
mod error_shape;
mod estimate;
mod gemini;
pub mod ir;
mod responses;
mod signature;
pub mod sse;
mod stream;
mod thinking_patch;
mod tool_names;

pub use aggregate::Aggregator;
pub use error::TranslateError;
pub use error_shape::{client_error, upstream_message};
pub use estimate::input_tokens as estimate_input_tokens;
pub use responses::ClientTools;
pub use signature::GEMINI_SKIP_SIGNATURE;
pub use stream::StreamTranslator;
#[doc(hidden)]
pub use stream::testing;
pub use thinking_patch::apply_thinking;
pub use tool_names::NameMap;

use ir::{Part, Request, Thinking};

/// A wire protocol, as a client speaks it or an upstream is called in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// OpenAI chat completions (`/chat/completions`).
    Chat,
    /// OpenAI Responses (`/responses`).
    Responses,
    /// Anthropic Messages (`/v1/messages`).
    Claude,
    /// Gemini `generateContent` / `streamGenerateContent`.
    Gemini,
}

impl Format {
    /// A short name for messages and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Chat => "openai-chat",
            Format::Responses => "openai-responses",
            Format::Claude => "anthropic",
            Format::Gemini => "gemini",
        }
    }

    /// The family whose thinking signatures this protocol carries natively.
    pub fn signature_family(self) -> ir::SignatureFamily {
        match self {
            Format::Chat | Format::Responses => ir::SignatureFamily::OpenAi,
            Format::Claude => ir::SignatureFamily::Claude,
            Format::Gemini => ir::SignatureFamily::Gemini,
        }
    }
}

/// What the client's side of a translated answer needs to know about the client.
#[derive(Debug, Clone, Default)]
pub struct ClientView {
    /// The model name echoed back (the name the client asked for).
    pub model: String,
    /// A unique id for ids the translation must invent (e.g. the request id).
    pub id: String,
    /// Unix seconds of the request, for `created` fields.
    pub created: u64,
    /// OpenAI chat streams: `stream_options.include_usage` asked for a usage chunk.
    pub include_usage: bool,
    /// Gemini streams: `alt=sse` framing (else a JSON array).
    pub gemini_sse: bool,
    /// The request's estimated input tokens (for an Anthropic `message_start` when the
    /// upstream reports input only at the end).
    pub estimated_input_tokens: u64,
    /// A Responses client's freeform and namespaced tools (filled by [`translate_request`]),
    /// so its calls come back in the shape it declared.
    pub responses_tools: ClientTools,
}

/// How to translate one request.
#[derive(Debug, Clone)]
pub struct RequestOptions<'a> {
    /// The model the upstream is asked for.
    pub upstream_model: &'a str,
    /// A thinking setting from the model name's suffix: it overrides the body's.
    pub thinking: Option<Thinking>,
    /// Whether the client asked for a stream, when the body does not say it (Gemini says it in
    /// the URL: `streamGenerateContent`); `None` keeps the body's `stream`.
    pub stream: Option<bool>,
    /// The client's side (its model name, ids, framing).
    pub client: ClientView,
}

/// A translated request and what translates its answer back.
#[derive(Debug)]
pub struct Translated {
    /// The upstream's request body.
    pub body: Vec<u8>,
    /// Whether the upstream is asked to stream.
    pub stream: bool,
    /// Translates the answer back to the client.
    pub exchange: Exchange,
}

/// One request's translation state: which protocols, and the client's tool names.
#[derive(Debug, Clone)]
pub struct Exchange {
    client: Format,
    upstream: Format,
    names: NameMap,
    view: ClientView,
}

/// Decodes a client's request of protocol `from` into the hub representation.
pub fn decode_request(from: Format, body: &[u8]) -> Result<Request, TranslateError> {
    match from {
        Format::Chat => chat::decode_request(body),
        Format::Responses => responses::decode_request(body),
        Format::Claude => claude::decode_request(body),
        Format::Gemini => gemini::decode_request(body),
    }
}

/// Encodes a hub request into protocol `to` (names as the upstream knows them).
pub fn encode_request(to: Format, request: &Request) -> Result<Vec<u8>, TranslateError> {
    match to {
        Format::Chat => chat::encode_request(request),
        Format::Responses => responses::encode_request(request),
        Format::Claude => claude::encode_request(request),
        Format::Gemini => gemini::encode_request(request),
    }
}

/// Decodes an upstream's whole answer of protocol `from` into the hub representation.
pub fn decode_response(from: Format, body: &[u8]) -> Result<ir::Response, TranslateError> {
    match from {
        Format::Chat => chat::decode_response(body),
        Format::Responses => responses::decode_response(body),
        Format::Claude => claude::decode_response(body),
        Format::Gemini => gemini::decode_response(body),
    }
}

/// Encodes a hub answer as a client of protocol `to` expects it.
pub fn encode_response(to: Format, response: &ir::Response, client: &ClientView) -> Vec<u8> {
    match to {
        Format::Chat => chat::encode_response(response, client),
        Format::Responses => responses::encode_response(response, client),
        Format::Claude => claude::encode_response(response, client),
        Format::Gemini => gemini::encode_response(response, client),
    }
}

/// Translates a client's request of protocol `from` into protocol `to`.
///
/// Refuses (400, naming the field) what only an upstream of the client's own protocol
/// understands, and parts the target cannot take as sent.
pub fn translate_request(
    from: Format,
    to: Format,
    body: &[u8],
    options: RequestOptions<'_>,
) -> Result<Translated, TranslateError> {
    let mut request = decode_request(from, body)?;
    if from != to
        && let Some(field) = request.same_protocol_only.first()
    {
        return Err(TranslateError::unsupported(
            field.clone(),
            format!(
                "only an upstream that speaks {} can take it; this model is served over {}",
                from.as_str(),
                to.as_str()
            ),
        ));
    }
    if from != to {
        refuse_file_ids(&request)?;
    }
    if let Some(thinking) = options.thinking {
        request.thinking = Some(thinking);
    }
    if let Some(stream) = options.stream {
        request.stream = stream;
    }
    request.model = options.upstream_model.to_owned();
    fill_tool_result_names(&mut request);
    let names = NameMap::new(request.tools.iter().map(|t| t.name.as_str()), to);
    rename_tools(&mut request, &names);
    let mut view = options.client;
    view.include_usage |= request.include_usage;
    // Only an Anthropic client reads it (its stream's `message_start` needs an input count).
    if from == Format::Claude {
        view.estimated_input_tokens = estimate::input_tokens(&request);
    }
    if from == Format::Responses {
        view.responses_tools = responses::client_tools(body);
    }
    let body = encode_request(to, &request)?;
    Ok(Translated {
        body,
        stream: request.stream,
        exchange: Exchange {
            client: from,
            upstream: to,
            names,
            view,
        },
    })
}

impl Exchange {
    /// The client's protocol.
    pub fn client(&self) -> Format {
        self.client
    }

    /// The upstream's protocol.
    pub fn upstream(&self) -> Format {
        self.upstream
    }

    /// Translates a whole (non-streamed) upstream answer for the client.
    pub fn response(&self, body: &[u8]) -> Result<Vec<u8>, TranslateError> {
        let mut response = decode_response(self.upstream, body)?;
        for part in &mut response.content {
            if let Part::ToolCall { name, .. } = part {
                *name = self.names.client(name);
            }
        }
        Ok(self.encode_response(&response))
    }

    /// Encodes a hub answer in the client's protocol.
    pub fn encode_response(&self, response: &ir::Response) -> Vec<u8> {
        encode_response(self.client, response, &self.view)
    }

    /// A translator for the upstream's event stream; frames over `max_frame` bytes fail it.
    pub fn stream(&self, max_frame: usize) -> StreamTranslator {
        StreamTranslator::new(self, max_frame)
    }
}

/// A provider-side file id resolves only at the provider that issued it, which speaks the
/// client's protocol: a translated request may not carry one.
fn refuse_file_ids(request: &Request) -> Result<(), TranslateError> {
    let is_file_id = |part: &Part| {
        matches!(
            part,
            Part::Image(ir::Media::FileId(_))
                | Part::Document {
                    media: ir::Media::FileId(_),
                    ..
                }
        )
    };
    for (m, message) in request.messages.iter().enumerate() {
        for (p, part) in message.parts.iter().enumerate() {
            let nested = match part {
                Part::ToolResult { content, .. } => content.iter().any(is_file_id),
                _ => false,
            };
            if is_file_id(part) || nested {
                return Err(TranslateError::unsupported(
                    format!("message {m}, part {p}"),
                    "a file id resolves only at the provider that issued it; send the file inline",
                ));
            }
        }
    }
    Ok(())
}

/// Gives every tool result the name of the call it answers (Gemini needs it; Anthropic and
/// OpenAI results carry only the call id).
fn fill_tool_result_names(request: &mut Request) {
    let mut calls: std::collections::HashMap<String, String> = Default::default();
    for message in &mut request.messages {
        for part in &mut message.parts {
            match part {
                Part::ToolCall { id, name, .. } => {
                    calls.insert(id.clone(), name.clone());
                }
                Part::ToolResult { call_id, name, .. } if name.is_none() => {
                    *name = calls.get(call_id.as_str()).cloned();
                }
                _ => {}
            }
        }
    }
}

/// Writes the upstream's spelling of every tool name into `request`.
fn rename_tools(request: &mut Request, names: &NameMap) {
    let rename = |name: &mut String| {
        let upstream = names.upstream(name);
        if upstream != name {
            *name = upstream.to_owned();
        }
    };
    for tool in &mut request.tools {
        rename(&mut tool.name);
    }
    if let Some(ir::ToolChoice::Tool(name)) = &mut request.tool_choice {
        rename(name);
    }
    for message in &mut request.messages {
        for part in &mut message.parts {
            match part {
                Part::ToolCall { name, .. } => rename(name),
                Part::ToolResult {
                    name: Some(name), ..
                } => rename(name),
                _ => {}
            }
        }
    }
}

/// `count_tokens` / `countTokens` across protocols.
pub mod count_tokens {
    use super::*;

    /// The count request toward an upstream that counts (`to` is Anthropic or Gemini).
    pub fn request(
        from: Format,
        to: Format,
        body: &[u8],
        upstream_model: &str,
    ) -> Result<Vec<u8>, TranslateError> {
        let mut request = decode_count_request(from, body)?;
        request.model = upstream_model.to_owned();
        request.stream = false;
        fill_tool_result_names(&mut request);
        let names = NameMap::new(request.tools.iter().map(|t| t.name.as_str()), to);
        rename_tools(&mut request, &names);
        match to {
            Format::Claude => claude::encode_count_request(&request),
            Format::Gemini => gemini::encode_count_request(&request),
            other => Err(TranslateError::unsupported(
                "model",
                format!("{} has no token-counting endpoint", other.as_str()),
            )),
        }
    }

    /// The token count in an upstream's count answer (Anthropic `input_tokens`, Gemini
    /// `totalTokens`).
    pub fn read_answer(upstream: Format, body: &[u8]) -> Result<u64, TranslateError> {
        let value: serde_json::Value = serde_json::from_slice(body)
            .map_err(|e| TranslateError::Upstream(format!("count answer: {e}")))?;
        let key = match upstream {
            Format::Gemini => "totalTokens",
            _ => "input_tokens",
        };
        value
            .get(key)
            .and_then(serde_json::Value::as_u64)
            .ok_or_else(|| TranslateError::Upstream(format!("count answer without {key}")))
    }

    /// The count answer a `client` expects.
    pub fn answer(client: Format, tokens: u64) -> Vec<u8> {
        let body = match client {
            Format::Gemini => serde_json::json!({
                "totalTokens": tokens,
                "promptTokensDetails": [{"modality": "TEXT", "tokenCount": tokens}],
            }),
            _ => serde_json::json!({ "input_tokens": tokens }),
        };
        serde_json::to_vec(&body).unwrap_or_default()
    }

    /// The estimated input tokens of a client's count request (see the estimate's rule in
    /// `docs/translation.md`).
    pub fn estimate(from: Format, body: &[u8]) -> Result<u64, TranslateError> {
        Ok(estimate::input_tokens(&decode_count_request(from, body)?))
    }

    /// A count request: Gemini's may wrap a whole request in `generateContentRequest`.
    fn decode_count_request(from: Format, body: &[u8]) -> Result<Request, TranslateError> {
        if from == Format::Gemini {
            let value: serde_json::Value = serde_json::from_slice(body)?;
            if let Some(inner) = value.get("generateContentRequest") {
                return decode_request(from, inner.to_string().as_bytes());
            }
        }
        decode_request(from, body)
    }
}
