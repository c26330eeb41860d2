//! A complete (non-streamed) answer in the hub representation.

use super::request::Part;
use super::usage::Usage;

/// The model's answer.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Response {
    /// The upstream's id for the answer (empty when it gave none).
    pub id: String,
    /// The model the upstream says answered.
    pub model: String,
    /// Unix seconds, when the upstream said.
    pub created: Option<u64>,
    /// The content: text, thinking and tool-call parts, in order.
    pub content: Vec<Part>,
    /// Why generation stopped.
    pub finish: Finish,
    /// Token counts.
    pub usage: Usage,
}

/// Why generation stopped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Finish {
    /// A natural end.
    #[default]
    Stop,
    /// A stop sequence matched (which one, when known).
    StopSequence(Option<String>),
    /// The token limit was reached.
    Length,
    /// The model called tools.
    ToolCalls,
    /// The answer was filtered or refused.
    ContentFilter,
    /// Anything else: the upstream's own word.
    Other(String),
}
