//! Serde mirrors of the Anthropic Messages wire schema: what the codec reads.
//!
//! Requests are read into these types; free-form JSON (schemas, tool inputs, `cache_control`)
//! stays a [`Value`]. Unknown fields are ignored, unknown content-block types are kept as
//! [`Block::Other`] so the decoder can name them.

use std::borrow::Cow;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{Deserializer, SeqAccess, Visitor};
use serde_json::Value;
use serde_json::value::RawValue;

/// A `/v1/messages` request body.
#[derive(Debug, Deserialize)]
pub(super) struct Request<'a> {
    /// The model name.
    #[serde(default)]
    pub model: Option<String>,
    /// The most tokens to generate.
    #[serde(default)]
    pub max_tokens: Option<u64>,
    /// The conversation.
    #[serde(borrow)]
    pub messages: Vec<Message<'a>>,
    /// System instructions.
    #[serde(default)]
    pub system: Option<System>,
    /// Tools (function tools and server tools, told apart by `input_schema` / `type`).
    #[serde(default)]
    pub tools: Option<Vec<Value>>,
    /// How to use the tools.
    #[serde(default)]
    pub tool_choice: Option<ToolChoice>,
    /// Extended thinking.
    #[serde(default)]
    pub thinking: Option<Thinking>,
    /// `output_config.effort` for adaptive thinking.
    #[serde(default)]
    pub output_config: Option<OutputConfig>,
    /// Sampling temperature.
    #[serde(default)]
    pub temperature: Option<f64>,
    /// Nucleus sampling.
    #[serde(default)]
    pub top_p: Option<f64>,
    /// Top-k sampling.
    #[serde(default)]
    pub top_k: Option<u64>,
    /// Stop sequences.
    #[serde(default)]
    pub stop_sequences: Option<Vec<String>>,
    /// Stream the answer.
    #[serde(default)]
    pub stream: Option<bool>,
    /// `metadata.user_id`.
    #[serde(default)]
    pub metadata: Option<Metadata>,
    /// Remote MCP servers (Anthropic only).
    #[serde(default)]
    pub mcp_servers: Option<Value>,
    /// A code-execution container (Anthropic only).
    #[serde(default)]
    pub container: Option<Value>,
}

/// `metadata`.
#[derive(Debug, Deserialize)]
pub(super) struct Metadata {
    /// The end user.
    #[serde(default)]
    pub user_id: Option<String>,
}

/// `output_config`.
#[derive(Debug, Deserialize)]
pub(super) struct OutputConfig {
    /// `low|medium|high|max`.
    #[serde(default)]
    pub effort: Option<String>,
}

/// `system`: a string or text blocks.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum System {
    /// One string.
    Text(String),
    /// Text blocks.
    Blocks(Vec<TextBlock>),
}

/// A system text block.
#[derive(Debug, Deserialize)]
pub(super) struct TextBlock {
    /// Must be `text`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The text.
    #[serde(default)]
    pub text: String,
    /// Prompt-caching marker.
    #[serde(default)]
    pub cache_control: Option<Value>,
}

/// One message.
#[derive(Debug, Deserialize)]
pub(super) struct Message<'a> {
    /// `user` or `assistant`.
    pub role: String,
    /// A string or content blocks.
    #[serde(borrow)]
    pub content: MessageContent<'a>,
}

/// A message's content, its blocks left as raw JSON to be read one by one (so an unknown type
/// can be named) without building a `Value` tree.
#[derive(Debug)]
pub(super) enum MessageContent<'a> {
    /// One string.
    Text(String),
    /// Blocks, as the body holds them.
    Blocks(Vec<&'a RawValue>),
}

impl<'de: 'a, 'a> Deserialize<'de> for MessageContent<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ContentVisitor<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for ContentVisitor<'a> {
            type Value = MessageContent<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string or an array of content blocks")
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Self::Value, E> {
                Ok(MessageContent::Text(text.to_owned()))
            }
            fn visit_string<E: serde::de::Error>(self, text: String) -> Result<Self::Value, E> {
                Ok(MessageContent::Text(text))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut blocks = Vec::with_capacity(seq.size_hint().unwrap_or(4));
                while let Some(block) = seq.next_element::<&'a RawValue>()? {
                    blocks.push(block);
                }
                Ok(MessageContent::Blocks(blocks))
            }
        }
        deserializer.deserialize_any(ContentVisitor(PhantomData))
    }
}

/// Message content.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum Content {
    /// One string.
    Text(String),
    /// Blocks (read one by one so an unknown type can be named).
    Blocks(Vec<Value>),
}

/// A content block of a request or an answer.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(super) enum Block {
    /// Text.
    Text {
        /// The text.
        text: String,
        /// Prompt-caching marker.
        #[serde(default)]
        cache_control: Option<Value>,
    },
    /// An image.
    Image {
        /// Where its bytes are.
        source: Source,
    },
    /// A document.
    Document {
        /// Where its bytes are.
        source: Source,
        /// Its title.
        #[serde(default)]
        title: Option<String>,
    },
    /// A tool call.
    ToolUse {
        /// The call id.
        id: String,
        /// The tool.
        name: String,
        /// The arguments (an object).
        #[serde(default)]
        input: Value,
    },
    /// A tool result.
    ToolResult {
        /// The call it answers.
        tool_use_id: String,
        /// A string or blocks.
        #[serde(default)]
        content: Option<Content>,
        /// The tool failed.
        #[serde(default)]
        is_error: Option<bool>,
        /// Prompt-caching marker (kept on the result's text).
        #[serde(default)]
        cache_control: Option<Value>,
    },
    /// Reasoning.
    Thinking {
        /// The reasoning text.
        #[serde(default)]
        thinking: String,
        /// Its signature.
        #[serde(default)]
        signature: Option<String>,
    },
    /// Hidden reasoning.
    RedactedThinking {
        /// The opaque payload.
        data: String,
    },
}

/// A message's content block read flat, straight from the body: every field any known block
/// type has (`None` when absent or null). The decoder builds the block from the fields its type
/// needs, and reads the block through a value instead when one is missing or this fails.
#[derive(Debug, Deserialize)]
pub(super) struct FlatBlock<'a> {
    /// The block type.
    #[serde(rename = "type", borrow)]
    pub kind: Cow<'a, str>,
    /// `text`.
    #[serde(default)]
    pub text: Option<String>,
    /// Prompt-caching marker.
    #[serde(default)]
    pub cache_control: Option<Value>,
    /// An image's or document's source.
    #[serde(default)]
    pub source: Option<Source>,
    /// A document's title.
    #[serde(default)]
    pub title: Option<String>,
    /// A tool call's id.
    #[serde(default)]
    pub id: Option<String>,
    /// A tool call's tool.
    #[serde(default)]
    pub name: Option<String>,
    /// A tool call's arguments.
    #[serde(default)]
    pub input: Option<Value>,
    /// The call a tool result answers.
    #[serde(default)]
    pub tool_use_id: Option<String>,
    /// A tool result's content.
    #[serde(default, borrow)]
    pub content: Option<MessageContent<'a>>,
    /// The tool failed.
    #[serde(default)]
    pub is_error: Option<bool>,
    /// Reasoning text.
    #[serde(default)]
    pub thinking: Option<String>,
    /// Its signature.
    #[serde(default)]
    pub signature: Option<String>,
    /// Redacted reasoning's payload.
    #[serde(default)]
    pub data: Option<String>,
}

/// An image's or document's source.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(super) enum Source {
    /// Inline bytes.
    Base64 {
        /// MIME type.
        media_type: String,
        /// Base64 data.
        data: String,
    },
    /// A URL.
    Url {
        /// The URL.
        url: String,
    },
    /// Plain text (documents).
    Text {
        /// The text.
        data: String,
    },
    /// A Files API id.
    File {
        /// The id.
        file_id: String,
    },
}

/// `tool_choice`.
#[derive(Debug, Deserialize)]
pub(super) struct ToolChoice {
    /// `auto|any|tool|none`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The tool, for `tool`.
    #[serde(default)]
    pub name: Option<String>,
    /// One tool call at most.
    #[serde(default)]
    pub disable_parallel_tool_use: Option<bool>,
}

/// `thinking`.
#[derive(Debug, Deserialize)]
pub(super) struct Thinking {
    /// `enabled|adaptive|disabled` (`auto` read as adaptive).
    #[serde(rename = "type")]
    pub kind: String,
    /// The budget, for `enabled`.
    #[serde(default)]
    pub budget_tokens: Option<i64>,
    /// `summarized|omitted`.
    #[serde(default)]
    pub display: Option<String>,
}

/// A whole answer.
#[derive(Debug, Deserialize)]
pub(super) struct Response {
    /// `msg_…`.
    #[serde(default)]
    pub id: String,
    /// The model.
    #[serde(default)]
    pub model: String,
    /// Content blocks (read one by one: server-tool blocks are skipped).
    #[serde(default)]
    pub content: Vec<Value>,
    /// Why it stopped.
    #[serde(default)]
    pub stop_reason: Option<String>,
    /// The matched stop sequence.
    #[serde(default)]
    pub stop_sequence: Option<String>,
    /// Token counts.
    #[serde(default)]
    pub usage: Option<Usage>,
}

/// A whole answer, its content blocks left as raw JSON (read one by one: server-tool blocks
/// are skipped).
#[derive(Debug, Deserialize)]
pub(super) struct RawResponse<'a> {
    /// `message`, or `error` for an error body.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// `msg_…`.
    #[serde(default)]
    pub id: String,
    /// The model.
    #[serde(default)]
    pub model: String,
    /// Content blocks.
    #[serde(default, borrow)]
    pub content: Vec<&'a RawValue>,
    /// Why it stopped.
    #[serde(default)]
    pub stop_reason: Option<String>,
    /// The matched stop sequence.
    #[serde(default)]
    pub stop_sequence: Option<String>,
    /// Token counts.
    #[serde(default)]
    pub usage: Option<Usage>,
}

/// Anthropic usage (input excludes cache reads and writes).
#[derive(Debug, Default, Deserialize)]
pub(super) struct Usage {
    /// Uncached input.
    #[serde(default)]
    pub input_tokens: Option<u64>,
    /// Output.
    #[serde(default)]
    pub output_tokens: Option<u64>,
    /// Written to the cache.
    #[serde(default)]
    pub cache_creation_input_tokens: Option<u64>,
    /// Read from the cache.
    #[serde(default)]
    pub cache_read_input_tokens: Option<u64>,
}

/// A stream event's `data`.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(super) enum StreamEvent {
    /// The message begins.
    MessageStart {
        /// The message so far.
        message: Response,
    },
    /// A block opens.
    ContentBlockStart {
        /// Its index.
        index: usize,
        /// The block (empty text/input).
        content_block: Value,
    },
    /// More of a block.
    ContentBlockDelta {
        /// Its index.
        index: usize,
        /// The piece.
        delta: Value,
    },
    /// A block closes.
    ContentBlockStop {
        /// Its index.
        index: usize,
    },
    /// Stop reason and output usage.
    MessageDelta {
        /// `stop_reason`, `stop_sequence`.
        #[serde(default)]
        delta: MessageDelta,
        /// Cumulative usage.
        #[serde(default)]
        usage: Option<Usage>,
    },
    /// The message is over.
    MessageStop,
    /// Keep-alive.
    Ping,
    /// An error in the stream.
    Error {
        /// `{type, message}`.
        #[serde(default)]
        error: Value,
    },
}

/// A stream event's `data` read straight from the frame (strings borrowed where they need no
/// unescaping). Error events, unknown events and events whose fields have unexpected types
/// fail here and are read through a value ([`StreamEvent`]) instead.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(super) enum FastEvent<'a> {
    /// The message begins.
    MessageStart {
        /// The message so far.
        message: StartMessage,
    },
    /// A block opens.
    ContentBlockStart {
        /// Its index.
        index: usize,
        /// The block (empty text/input).
        #[serde(borrow)]
        content_block: FastBlock<'a>,
    },
    /// More of a block.
    ContentBlockDelta {
        /// Its index.
        index: usize,
        /// The piece.
        #[serde(borrow)]
        delta: FastBlock<'a>,
    },
    /// A block closes.
    ContentBlockStop {
        /// Its index.
        index: usize,
    },
    /// Stop reason and output usage.
    MessageDelta {
        /// `stop_reason`, `stop_sequence`.
        #[serde(default)]
        delta: MessageDelta,
        /// Cumulative usage.
        #[serde(default)]
        usage: Option<Usage>,
    },
    /// The message is over.
    MessageStop,
    /// Keep-alive.
    Ping,
}

/// `message_start.message`, as the stream decoder reads it (`content`, `stop_reason` and
/// `stop_sequence` are read only to accept what the value path accepts).
#[derive(Debug, Deserialize)]
#[allow(dead_code)]
pub(super) struct StartMessage {
    /// `msg_…`.
    #[serde(default)]
    pub id: String,
    /// The model.
    #[serde(default)]
    pub model: String,
    /// Content blocks (empty at the start; not read).
    #[serde(default)]
    pub content: Vec<serde::de::IgnoredAny>,
    /// Why it stopped.
    #[serde(default)]
    pub stop_reason: Option<String>,
    /// The matched stop sequence.
    #[serde(default)]
    pub stop_sequence: Option<String>,
    /// Token counts.
    #[serde(default)]
    pub usage: Option<Usage>,
}

/// A streamed block's start or delta: its string fields (`None` when absent or null).
#[derive(Debug, Deserialize)]
pub(super) struct FastBlock<'a> {
    /// The block's or delta's type.
    #[serde(default, rename = "type", borrow)]
    pub kind: Option<Cow<'a, str>>,
    /// `text` (text blocks and deltas).
    #[serde(default, borrow)]
    pub text: Option<Cow<'a, str>>,
    /// `thinking`.
    #[serde(default, borrow)]
    pub thinking: Option<Cow<'a, str>>,
    /// `signature`.
    #[serde(default, borrow)]
    pub signature: Option<Cow<'a, str>>,
    /// `partial_json` (input deltas).
    #[serde(default, borrow)]
    pub partial_json: Option<Cow<'a, str>>,
    /// `data` (redacted thinking).
    #[serde(default, borrow)]
    pub data: Option<Cow<'a, str>>,
    /// `id` (tool calls).
    #[serde(default, borrow)]
    pub id: Option<Cow<'a, str>>,
    /// `name` (tool calls).
    #[serde(default, borrow)]
    pub name: Option<Cow<'a, str>>,
    /// `input` (tool calls).
    #[serde(default)]
    pub input: Option<Value>,
}

impl FastBlock<'_> {
    /// A string field by name, as the value-reading path names them.
    pub(super) fn get(&self, key: &str) -> Option<&str> {
        let field = match key {
            "type" => &self.kind,
            "text" => &self.text,
            "thinking" => &self.thinking,
            "signature" => &self.signature,
            "partial_json" => &self.partial_json,
            "data" => &self.data,
            "id" => &self.id,
            "name" => &self.name,
            _ => return None,
        };
        field.as_deref()
    }
}

/// `message_delta.delta`.
#[derive(Debug, Default, Deserialize)]
pub(super) struct MessageDelta {
    /// Why it stopped.
    #[serde(default)]
    pub stop_reason: Option<String>,
    /// The matched stop sequence.
    #[serde(default)]
    pub stop_sequence: Option<String>,
}

impl Usage {
    /// In the hub's meaning (input includes cache).
    pub(super) fn to_ir(&self) -> crate::ir::Usage {
        let cached = self.cache_read_input_tokens.unwrap_or(0);
        let cache_write = self.cache_creation_input_tokens.unwrap_or(0);
        let uncached = self.input_tokens.unwrap_or(0);
        crate::ir::Usage {
            input: if self.input_tokens.is_some() || cached + cache_write > 0 {
                uncached.saturating_add(cached).saturating_add(cache_write)
            } else {
                0
            },
            cached,
            cache_write,
            output: self.output_tokens.unwrap_or(0),
            reasoning: 0,
        }
    }
}
