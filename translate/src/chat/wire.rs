//! The OpenAI chat completions wire format: requests, answers and stream chunks.
//!
//! One set of types serves both directions: decoding borrows from the body where it can,
//! encoding skips what is absent.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A `/chat/completions` request.
#[derive(Debug, Default, Deserialize, Serialize)]
pub(crate) struct ChatRequest<'a> {
    /// The model.
    #[serde(borrow, default)]
    pub(crate) model: Cow<'a, str>,
    /// The conversation.
    #[serde(borrow)]
    pub(crate) messages: Vec<ChatMessage<'a>>,
    /// Function tools (and other tool types, kept raw).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) tools: Vec<Value>,
    /// `auto`, `none`, `required` or `{"type":"function","function":{"name":…}}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) tool_choice: Option<Value>,
    /// Several tool calls per turn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) parallel_tool_calls: Option<bool>,
    /// The token limit (older name, still what OpenAI-compatible servers take).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) max_tokens: Option<u64>,
    /// The token limit (newer name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) max_completion_tokens: Option<u64>,
    /// Sampling temperature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) temperature: Option<f64>,
    /// Nucleus sampling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) top_p: Option<f64>,
    /// Top-k sampling (an extension vLLM and others take; never sent upstream).
    #[serde(default, skip_serializing)]
    pub(crate) top_k: Option<u64>,
    /// Stop sequences: a string or an array.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) stop: Option<Value>,
    /// How many choices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) n: Option<u32>,
    /// Text, JSON mode or a JSON schema.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) response_format: Option<Value>,
    /// `none|minimal|low|medium|high|xhigh` (and `auto` for some servers).
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub(crate) reasoning_effort: Option<Cow<'a, str>>,
    /// Stream the answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) stream: Option<bool>,
    /// Stream settings (`include_usage`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) stream_options: Option<StreamOptions>,
    /// The end user.
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub(crate) user: Option<Cow<'a, str>>,
    /// Legacy function declarations (refused).
    #[serde(default, skip_serializing)]
    pub(crate) functions: Option<Value>,
    /// Legacy function choice (refused).
    #[serde(default, skip_serializing)]
    pub(crate) function_call: Option<Value>,
    /// Audio output settings (same protocol only).
    #[serde(default, skip_serializing)]
    pub(crate) audio: Option<Value>,
    /// Output modalities (same protocol only when audio is among them).
    #[serde(default, skip_serializing)]
    pub(crate) modalities: Option<Vec<String>>,
    /// Hosted web search (same protocol only).
    #[serde(default, skip_serializing)]
    pub(crate) web_search_options: Option<Value>,
    /// Token log-probabilities (same protocol only when true).
    #[serde(default, skip_serializing)]
    pub(crate) logprobs: Option<bool>,
    /// Predicted output (same protocol only).
    #[serde(default, skip_serializing)]
    pub(crate) prediction: Option<Value>,
}

/// `stream_options`.
#[derive(Debug, Default, Deserialize, Serialize)]
pub(crate) struct StreamOptions {
    /// Send a last chunk with the usage.
    #[serde(default)]
    pub(crate) include_usage: bool,
}

/// One message of the conversation.
#[derive(Debug, Default, Deserialize, Serialize)]
pub(crate) struct ChatMessage<'a> {
    /// `system|developer|user|assistant|tool|function`.
    #[serde(borrow, default)]
    pub(crate) role: Cow<'a, str>,
    /// A string or content parts (`null` on tool-calling assistant messages).
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub(crate) content: Option<Content<'a>>,
    /// The assistant's reasoning (DeepSeek, Kimi, vLLM…).
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub(crate) reasoning_content: Option<Cow<'a, str>>,
    /// The assistant's reasoning (OpenRouter, Ollama spelling).
    #[serde(borrow, default, skip_serializing)]
    pub(crate) reasoning: Option<Cow<'a, str>>,
    /// The assistant's refusal (structured outputs).
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub(crate) refusal: Option<Cow<'a, str>>,
    /// The assistant's tool calls.
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub(crate) tool_calls: Option<Vec<ToolCall<'a>>>,
    /// A tool message: the call it answers.
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub(crate) tool_call_id: Option<Cow<'a, str>>,
    /// Legacy function call (refused).
    #[serde(default, skip_serializing)]
    pub(crate) function_call: Option<Value>,
    /// Anthropic prompt-caching marker on the message (an extension some clients send).
    #[serde(default, skip_serializing)]
    pub(crate) cache_control: Option<Value>,
}

/// Message content: a string or parts.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub(crate) enum Content<'a> {
    /// Plain text.
    Text(Cow<'a, str>),
    /// Typed parts.
    Parts(Vec<ContentPart<'a>>),
}

/// Reads a string or an array straight from the input (an untagged derive would buffer the
/// whole content first to try each variant).
impl<'de: 'a, 'a> Deserialize<'de> for Content<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        /// The visitor.
        struct ContentVisitor<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for ContentVisitor<'a> {
            type Value = Content<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string or an array of content parts")
            }
            fn visit_borrowed_str<E: serde::de::Error>(
                self,
                v: &'de str,
            ) -> Result<Self::Value, E> {
                Ok(Content::Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Content::Text(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Content::Text(Cow::Owned(v)))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Self::Value, A::Error> {
                let mut parts = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
                while let Some(part) = seq.next_element()? {
                    parts.push(part);
                }
                Ok(Content::Parts(parts))
            }
        }
        d.deserialize_any(ContentVisitor(std::marker::PhantomData))
    }
}

/// One content part.
#[derive(Debug, Deserialize, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum ContentPart<'a> {
    /// Text.
    Text {
        /// The text.
        #[serde(borrow)]
        text: Cow<'a, str>,
        /// Anthropic prompt-caching marker (extension).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cache_control: Option<Value>,
    },
    /// An image by URL or data URL.
    ImageUrl {
        /// The image.
        #[serde(borrow)]
        image_url: ImageUrl<'a>,
        /// Anthropic prompt-caching marker (extension).
        #[serde(default, skip_serializing)]
        cache_control: Option<Value>,
    },
    /// A file (PDF) inline or by id.
    File {
        /// The file.
        #[serde(borrow)]
        file: FilePart<'a>,
    },
    /// Audio input.
    InputAudio {
        /// The audio (kept raw).
        input_audio: Value,
    },
    /// A refusal (assistant history).
    Refusal {
        /// The refusal text.
        #[serde(borrow)]
        refusal: Cow<'a, str>,
    },
    /// Anything else.
    #[serde(other)]
    Unknown,
}

/// `image_url`: an object, or (leniently) a bare string.
#[derive(Debug, Deserialize, Serialize)]
#[serde(untagged)]
pub(crate) enum ImageUrl<'a> {
    /// `{"url": …, "detail": …}`.
    Object {
        /// The URL or data URL.
        #[serde(borrow)]
        url: Cow<'a, str>,
        /// `auto|low|high`.
        #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
        detail: Option<Cow<'a, str>>,
    },
    /// A bare URL.
    Bare(#[serde(borrow)] Cow<'a, str>),
}

/// `file`.
#[derive(Debug, Default, Deserialize, Serialize)]
pub(crate) struct FilePart<'a> {
    /// Base64 data or a data URL.
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub(crate) file_data: Option<Cow<'a, str>>,
    /// An uploaded file's id.
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub(crate) file_id: Option<Cow<'a, str>>,
    /// The file name.
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub(crate) filename: Option<Cow<'a, str>>,
}

/// An assistant's tool call (whole, or a stream fragment).
#[derive(Debug, Default, Deserialize, Serialize)]
pub(crate) struct ToolCall<'a> {
    /// The position among the message's calls (streams only).
    #[serde(
        deserialize_with = "lenient_option",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub(crate) index: Option<u64>,
    /// The call id.
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub(crate) id: Option<Cow<'a, str>>,
    /// Always `function` (absent on later stream fragments).
    #[serde(
        borrow,
        default,
        rename = "type",
        skip_serializing_if = "Option::is_none"
    )]
    pub(crate) kind: Option<Cow<'a, str>>,
    /// The function and its arguments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) function: Option<FunctionCall>,
}

/// A call's function name and JSON arguments.
#[derive(Debug, Default, Deserialize, Serialize)]
pub(crate) struct FunctionCall {
    /// The tool name (lenient: some servers send `null` or non-strings on fragments).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) name: Option<Value>,
    /// JSON text of the arguments (or a fragment of it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) arguments: Option<Value>,
}

/// A whole answer (`chat.completion`) or a stream chunk (`chat.completion.chunk`).
#[derive(Debug, Default, Deserialize, Serialize)]
pub(crate) struct Completion<'a> {
    /// The answer's id.
    #[serde(borrow, default)]
    pub(crate) id: Cow<'a, str>,
    /// `chat.completion` or `chat.completion.chunk`.
    #[serde(borrow, default)]
    pub(crate) object: Cow<'a, str>,
    /// Unix seconds.
    #[serde(deserialize_with = "lenient_option", default)]
    pub(crate) created: Option<u64>,
    /// The model that answered.
    #[serde(borrow, default)]
    pub(crate) model: Cow<'a, str>,
    /// The choices (empty on a usage-only chunk).
    #[serde(borrow, default)]
    pub(crate) choices: Option<Vec<Choice<'a>>>,
    /// Token counts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) usage: Option<ChatUsage>,
    /// An in-band error (some servers send it in a 200 answer or a stream frame).
    #[serde(default, skip_serializing)]
    pub(crate) error: Option<Value>,
}

/// One choice of an answer or chunk.
#[derive(Debug, Default, Deserialize, Serialize)]
pub(crate) struct Choice<'a> {
    /// The choice's position.
    #[serde(deserialize_with = "lenient_count", default)]
    pub(crate) index: u64,
    /// Whole answers: the message.
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub(crate) message: Option<ChatMessage<'a>>,
    /// Stream chunks: the piece.
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub(crate) delta: Option<ChatMessage<'a>>,
    /// Why generation stopped (`null` until the end).
    #[serde(borrow, default)]
    pub(crate) finish_reason: Option<Cow<'a, str>>,
    /// Always `null` here.
    #[serde(default)]
    pub(crate) logprobs: Option<Value>,
}

/// `usage`.
#[derive(Debug, Default, Deserialize, Serialize)]
pub(crate) struct ChatUsage {
    /// All prompt tokens, cached included.
    #[serde(deserialize_with = "lenient_count", default)]
    pub(crate) prompt_tokens: u64,
    /// Generated tokens, reasoning included.
    #[serde(deserialize_with = "lenient_count", default)]
    pub(crate) completion_tokens: u64,
    /// The sum.
    #[serde(deserialize_with = "lenient_count", default)]
    pub(crate) total_tokens: u64,
    /// Prompt details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) prompt_tokens_details: Option<PromptDetails>,
    /// Completion details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) completion_tokens_details: Option<CompletionDetails>,
}

/// `prompt_tokens_details`.
#[derive(Debug, Default, Deserialize, Serialize)]
pub(crate) struct PromptDetails {
    /// Read from the prompt cache.
    #[serde(deserialize_with = "lenient_option", default)]
    pub(crate) cached_tokens: Option<u64>,
    /// Written to the prompt cache (a non-standard field some proxies send).
    #[serde(
        deserialize_with = "lenient_option",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub(crate) cached_creation_tokens: Option<u64>,
}

/// `completion_tokens_details`.
#[derive(Debug, Default, Deserialize, Serialize)]
pub(crate) struct CompletionDetails {
    /// Reasoning tokens.
    #[serde(deserialize_with = "lenient_option", default)]
    pub(crate) reasoning_tokens: Option<u64>,
}

/// A count that may be missing, `null`, a float or a numeric string on lenient servers.
fn lenient_option<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Number(n) => n
            .as_u64()
            .or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    })
}

/// [`lenient_option`], 0 when absent.
fn lenient_count<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    lenient_option(d).map(Option::unwrap_or_default)
}
