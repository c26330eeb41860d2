//! Serde mirrors of the OpenAI Responses wire schema: the request body, its input items,
//! the response object and stream events.
//!
//! Only what the codec reads is declared; unknown fields are ignored. Free-form JSON (tool
//! schemas, tool outputs) stays a [`Value`].

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::Value;

/// A `POST /responses` body.
#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub(crate) struct RequestBody<'a> {
    /// The model.
    #[serde(borrow)]
    pub(crate) model: Option<Cow<'a, str>>,
    /// A string or a list of items.
    pub(crate) input: Option<Value>,
    /// System instructions.
    pub(crate) instructions: Option<Value>,
    /// Tool declarations.
    pub(crate) tools: Option<Vec<Value>>,
    /// The tool choice.
    pub(crate) tool_choice: Option<Value>,
    /// Several calls per turn.
    pub(crate) parallel_tool_calls: Option<bool>,
    /// The token limit.
    pub(crate) max_output_tokens: Option<u64>,
    /// Sampling temperature.
    pub(crate) temperature: Option<f64>,
    /// Nucleus sampling.
    pub(crate) top_p: Option<f64>,
    /// Text output settings (`format`).
    pub(crate) text: Option<TextConfig>,
    /// Reasoning settings.
    pub(crate) reasoning: Option<ReasoningConfig>,
    /// Whether to stream.
    pub(crate) stream: Option<bool>,
    /// The end user (deprecated spelling).
    pub(crate) user: Option<String>,
    /// The end user.
    pub(crate) safety_identifier: Option<String>,
    /// Server-side state: the previous response.
    pub(crate) previous_response_id: Option<Value>,
    /// Server-side state: store the response.
    pub(crate) store: Option<bool>,
    /// Server-side state: a conversation.
    pub(crate) conversation: Option<Value>,
    /// Run in the background (server-side state).
    pub(crate) background: Option<bool>,
    /// A stored prompt template.
    pub(crate) prompt: Option<Value>,
}

/// `text`.
#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub(crate) struct TextConfig {
    /// `text.format`.
    pub(crate) format: Option<Value>,
}

/// `reasoning`.
#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub(crate) struct ReasoningConfig {
    /// `none|minimal|low|medium|high|xhigh`.
    pub(crate) effort: Option<String>,
    /// `auto|concise|detailed` (or `none`).
    pub(crate) summary: Option<String>,
    /// The older spelling of `summary`.
    pub(crate) generate_summary: Option<String>,
}

/// One summary or content text of a reasoning item.
#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub(crate) struct ReasoningText {
    /// `summary_text` / `reasoning_text`.
    #[serde(rename = "type")]
    pub(crate) kind: String,
    /// The text.
    pub(crate) text: String,
}

/// An item of `input` or of a response's `output` (the fields of every type we read).
#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub(crate) struct Item {
    /// The item type; absent means a message.
    #[serde(rename = "type")]
    pub(crate) kind: Option<String>,
    /// The item id.
    pub(crate) id: Option<String>,
    /// Messages: the role.
    pub(crate) role: Option<String>,
    /// Messages: a string or parts; reasoning: reasoning text parts.
    pub(crate) content: Option<Value>,
    /// Calls and outputs: the call id.
    pub(crate) call_id: Option<String>,
    /// Calls: the tool name.
    pub(crate) name: Option<String>,
    /// Calls: the namespace of a namespaced tool.
    pub(crate) namespace: Option<String>,
    /// Function calls: JSON arguments.
    pub(crate) arguments: Option<String>,
    /// Custom tool calls: the raw input.
    pub(crate) input: Option<String>,
    /// Tool outputs: a string or parts.
    pub(crate) output: Option<Value>,
    /// Reasoning: the summary parts.
    pub(crate) summary: Option<Vec<ReasoningText>>,
    /// Reasoning: the opaque state.
    pub(crate) encrypted_content: Option<String>,
    /// `additional_tools` items: the tools.
    pub(crate) tools: Option<Vec<Value>>,
}

/// A content part of a message or tool output.
#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub(crate) struct ContentPart {
    /// The part type.
    #[serde(rename = "type")]
    pub(crate) kind: Option<String>,
    /// Text parts.
    pub(crate) text: Option<String>,
    /// Refusals.
    pub(crate) refusal: Option<String>,
    /// Images: URL or data URL.
    pub(crate) image_url: Option<Value>,
    /// Images and files: a provider file id.
    pub(crate) file_id: Option<String>,
    /// Files: a data URL or bare base64.
    pub(crate) file_data: Option<String>,
    /// Files: a URL.
    pub(crate) file_url: Option<String>,
    /// Files: the file name.
    pub(crate) filename: Option<String>,
}

/// A response object (whole answer, or the `response` of a stream event).
#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub(crate) struct ResponseObject {
    /// `resp_…`.
    pub(crate) id: Option<String>,
    /// The model.
    pub(crate) model: Option<String>,
    /// Unix seconds.
    pub(crate) created_at: Option<f64>,
    /// `completed|incomplete|failed|in_progress|…`.
    pub(crate) status: Option<String>,
    /// Why it is incomplete.
    pub(crate) incomplete_details: Option<IncompleteDetails>,
    /// A failure.
    pub(crate) error: Option<ErrorObject>,
    /// The output items.
    pub(crate) output: Vec<Item>,
    /// Token counts.
    pub(crate) usage: Option<UsageObject>,
    /// A terminal stream event sent as a whole body wraps the response object here (kept
    /// raw: it is read only when it is an object).
    pub(crate) response: Option<Box<serde_json::value::RawValue>>,
}

/// `incomplete_details`.
#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub(crate) struct IncompleteDetails {
    /// `max_output_tokens|content_filter`.
    pub(crate) reason: Option<String>,
}

/// An error object.
#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub(crate) struct ErrorObject {
    /// The message.
    pub(crate) message: Option<String>,
    /// The code.
    pub(crate) code: Option<Value>,
}

/// Responses usage.
#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub(crate) struct UsageObject {
    /// All prompt tokens.
    pub(crate) input_tokens: u64,
    /// Details of the prompt tokens.
    pub(crate) input_tokens_details: Option<InputDetails>,
    /// All generated tokens.
    pub(crate) output_tokens: u64,
    /// Details of the generated tokens.
    pub(crate) output_tokens_details: Option<OutputDetails>,
}

/// `input_tokens_details`.
#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub(crate) struct InputDetails {
    /// Read from the cache.
    pub(crate) cached_tokens: u64,
    /// Written to the cache.
    pub(crate) cache_write_tokens: u64,
}

/// `output_tokens_details`.
#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub(crate) struct OutputDetails {
    /// Reasoning tokens.
    pub(crate) reasoning_tokens: u64,
}

/// One stream event (the fields of every event type we read).
#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub(crate) struct StreamEvent {
    /// The event type, e.g. `response.output_text.delta`.
    #[serde(rename = "type")]
    pub(crate) kind: String,
    /// Lifecycle events: the response.
    pub(crate) response: Option<ResponseObject>,
    /// Item events: the item.
    pub(crate) item: Option<Item>,
    /// Delta events: the piece.
    pub(crate) delta: Option<String>,
    /// `…arguments.done`: the whole arguments.
    pub(crate) arguments: Option<String>,
    /// `…text.done`: the whole text.
    pub(crate) text: Option<String>,
    /// Summary part events: which part.
    pub(crate) summary_index: Option<u64>,
    /// Item events: the id of the item they belong to.
    pub(crate) item_id: Option<String>,
    /// Item events: the position of the item in the output.
    pub(crate) output_index: Option<u64>,
    /// `error` events: the message.
    pub(crate) message: Option<String>,
    /// `error` events: the code.
    pub(crate) code: Option<Value>,
    /// `error` events (some servers nest it).
    pub(crate) error: Option<ErrorObject>,
}
