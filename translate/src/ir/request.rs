//! A request in the hub representation.

use serde_json::Value;

use super::thinking::Thinking;

/// A chat request, whatever protocol it arrived in.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Request {
    /// The model the upstream is asked for (set by the caller before encoding).
    pub model: String,
    /// System instructions, in order (text parts; `cache_control` kept where given).
    pub system: Vec<Part>,
    /// The conversation, oldest first. Tool results are parts of `User` messages.
    pub messages: Vec<Message>,
    /// Function tools the model may call.
    pub tools: Vec<Tool>,
    /// How the model must use the tools.
    pub tool_choice: Option<ToolChoice>,
    /// Whether several tool calls may come in one turn.
    pub parallel_tool_calls: Option<bool>,
    /// The most tokens to generate.
    pub max_tokens: Option<u64>,
    /// Sampling temperature.
    pub temperature: Option<f64>,
    /// Nucleus sampling.
    pub top_p: Option<f64>,
    /// Top-k sampling (Claude, Gemini).
    pub top_k: Option<u64>,
    /// Stop sequences.
    pub stop: Vec<String>,
    /// How many choices to generate (only OpenAI chat and Gemini can give more than one).
    pub n: Option<u32>,
    /// Plain text, JSON mode or a JSON schema.
    pub response_format: Option<ResponseFormat>,
    /// Reasoning effort or budget.
    pub thinking: Option<Thinking>,
    /// Whether the client wants to see reasoning (summaries, thoughts).
    pub include_thoughts: Option<bool>,
    /// The client asked for a stream.
    pub stream: bool,
    /// OpenAI chat streams: the client asked for a last chunk with the usage
    /// (`stream_options.include_usage`).
    pub include_usage: bool,
    /// The end user, when the client names one (`user`, `metadata.user_id`).
    pub user: Option<String>,
    /// Fields only an upstream of the client's own protocol understands
    /// (`previous_response_id`, hosted tools, server tools …), by their client-side path.
    /// Translation refuses a request that has any.
    pub same_protocol_only: Vec<String>,
}

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The client (also tool results).
    User,
    /// The model.
    Assistant,
}

/// One turn of the conversation.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// Who wrote it.
    pub role: Role,
    /// Its content, in order.
    pub parts: Vec<Part>,
}

/// One piece of content.
#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    /// Text.
    Text {
        /// The text.
        text: String,
        /// Anthropic prompt-caching marker, kept only toward Claude.
        cache_control: Option<Value>,
    },
    /// An image.
    Image(Media),
    /// A document (PDF or text).
    Document {
        /// Where the bytes are.
        media: Media,
        /// A title or file name, when given.
        title: Option<String>,
    },
    /// A tool call by the assistant.
    ToolCall {
        /// The call id, stable across turns (generated when the protocol has none).
        id: String,
        /// The tool's name as the client declared it.
        name: String,
        /// The arguments: JSON text of an object.
        arguments: String,
        /// A Gemini thought signature attached to the call.
        signature: Option<Signature>,
    },
    /// The result of a tool call, sent back by the client.
    ToolResult {
        /// The id of the call it answers.
        call_id: String,
        /// The tool's name, when known (Gemini needs it; filled from the history otherwise).
        name: Option<String>,
        /// The result: text and image parts.
        content: Vec<Part>,
        /// The tool failed.
        is_error: bool,
    },
    /// Reasoning text (a summary or the model's thoughts).
    Thinking {
        /// The text (may be empty when only a signature is carried).
        text: String,
        /// The opaque signature that lets the issuing family verify it.
        signature: Option<Signature>,
    },
    /// Reasoning the upstream hid: opaque data only its own family can read back.
    RedactedThinking {
        /// The opaque payload.
        data: String,
        /// Which family produced it.
        family: SignatureFamily,
    },
}

impl Part {
    /// A text part without cache marker.
    pub fn text(text: impl Into<String>) -> Self {
        Part::Text {
            text: text.into(),
            cache_control: None,
        }
    }
}

/// Where an image's or document's bytes are.
#[derive(Debug, Clone, PartialEq)]
pub enum Media {
    /// Inline bytes.
    Base64 {
        /// The MIME type, e.g. `image/png`.
        media_type: String,
        /// Base64 data (no `data:` prefix).
        data: String,
    },
    /// A URL the upstream fetches (switchyard never fetches it).
    Url(String),
    /// A provider-side file id (only the issuing provider can resolve it).
    FileId(String),
}

/// The family that issued a thinking signature: signatures are replayed only to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureFamily {
    /// Anthropic (`signature`).
    Claude,
    /// OpenAI (`encrypted_content`).
    OpenAi,
    /// Google (`thoughtSignature`).
    Gemini,
}

/// A thinking signature and the family that issued it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    /// Who issued it.
    pub family: SignatureFamily,
    /// The opaque value, as the issuer sent it.
    pub value: String,
}

/// A function tool.
#[derive(Debug, Clone, PartialEq)]
pub struct Tool {
    /// The name as the client declared it.
    pub name: String,
    /// What it does.
    pub description: Option<String>,
    /// The JSON Schema of its arguments (an object schema; `{"type":"object"}` when absent).
    pub parameters: Value,
    /// OpenAI strict mode.
    pub strict: Option<bool>,
    /// Anthropic prompt-caching marker.
    pub cache_control: Option<Value>,
}

/// How the model must use the tools.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToolChoice {
    /// The model decides.
    Auto,
    /// No tool call.
    None,
    /// At least one tool call.
    Required,
    /// A call to this tool.
    Tool(String),
}

/// The shape of the answer's text.
#[derive(Debug, Clone, PartialEq)]
pub enum ResponseFormat {
    /// Free text.
    Text,
    /// Any JSON object.
    JsonObject,
    /// JSON matching a schema.
    JsonSchema {
        /// The schema's name.
        name: String,
        /// The schema.
        schema: Value,
        /// OpenAI strict mode.
        strict: Option<bool>,
    },
}
