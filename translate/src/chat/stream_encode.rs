//! Hub events to a chat client's stream: `data:` chunks, a usage chunk when asked for, and
//! `data: [DONE]`.

use super::response::{client_id, encode_finish, encode_usage};
use super::wire::ChatUsage;
use crate::ClientView;
use crate::ir::{Block, Delta, Event, Usage};
use crate::sse::{write_frame, write_json};

/// A `chat.completion.chunk` with one choice, as written.
#[derive(serde::Serialize)]
struct Chunk<'a> {
    id: &'a str,
    object: &'static str,
    created: u64,
    model: &'a str,
    choices: [ChunkChoice<'a>; 1],
}

/// The chunk's choice.
#[derive(serde::Serialize)]
struct ChunkChoice<'a> {
    index: u32,
    delta: ChunkDelta<'a>,
    /// Always `null`.
    logprobs: Option<()>,
    finish_reason: Option<&'a str>,
}

/// The last chunk: no choice, the usage.
#[derive(serde::Serialize)]
struct UsageChunk<'a> {
    id: &'a str,
    object: &'static str,
    created: u64,
    model: &'a str,
    choices: [(); 0],
    usage: ChatUsage,
}

/// A chunk's delta, as written (absent fields left out).
#[derive(Default, serde::Serialize)]
struct ChunkDelta<'a> {
    /// `assistant` on the first chunk.
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<&'static str>,
    /// Text.
    #[serde(skip_serializing_if = "Option::is_none")]
    content: Option<&'a str>,
    /// Reasoning text.
    #[serde(skip_serializing_if = "Option::is_none")]
    reasoning_content: Option<&'a str>,
    /// One tool call piece.
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_calls: Option<[CallDelta<'a>; 1]>,
}

impl<'a> ChunkDelta<'a> {
    /// A piece of the arguments of call `index`.
    fn arguments(index: u64, arguments: &'a str) -> Self {
        ChunkDelta {
            tool_calls: Some([CallDelta {
                index,
                id: None,
                kind: None,
                function: FunctionDelta {
                    name: None,
                    arguments,
                },
            }]),
            ..ChunkDelta::default()
        }
    }
}

/// A tool call piece.
#[derive(serde::Serialize)]
struct CallDelta<'a> {
    /// The call's position.
    index: u64,
    /// The call id (first piece).
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a str>,
    /// `function` (first piece).
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    kind: Option<&'static str>,
    /// Name and arguments.
    function: FunctionDelta<'a>,
}

/// A tool call piece's function.
#[derive(serde::Serialize)]
struct FunctionDelta<'a> {
    /// The name (first piece).
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    /// Arguments text.
    arguments: &'a str,
}

/// Hub events to the client's stream bytes.
#[derive(Debug, Default)]
pub(crate) struct StreamEncoder {
    /// The id every chunk carries.
    id: String,
    /// The model name echoed to the client.
    model: String,
    /// The `created` every chunk carries.
    created: u64,
    /// Whether the client asked for a usage chunk.
    include_usage: bool,
    /// The client's view (for ids).
    client: ClientView,
    /// Usage merged so far.
    usage: Usage,
    /// The chat `index` of the open tool call, when one is open.
    tool: Option<u64>,
    /// Tool calls sent so far.
    tools: u64,
    /// Arguments were sent for the open tool call.
    tool_arguments: bool,
}

impl StreamEncoder {
    /// An encoder for one stream to `client`.
    pub(crate) fn new(client: &ClientView) -> Self {
        StreamEncoder {
            id: format!("chatcmpl-{}", client.id),
            model: client.model.clone(),
            created: client.created,
            include_usage: client.include_usage,
            client: client.clone(),
            ..Self::default()
        }
    }

    /// Writes one chunk with one choice (serialized from borrowed fields: no tree is built
    /// around the delta for each chunk).
    fn chunk(&self, delta: ChunkDelta<'_>, finish: Option<&str>, out: &mut Vec<u8>) {
        write_json(
            out,
            None,
            &Chunk {
                id: &self.id,
                object: "chat.completion.chunk",
                created: self.created,
                model: &self.model,
                choices: [ChunkChoice {
                    index: 0,
                    delta,
                    logprobs: None,
                    finish_reason: finish,
                }],
            },
        );
    }

    /// Encodes one event.
    pub(crate) fn event(&mut self, event: &Event, out: &mut Vec<u8>) {
        match event {
            Event::Start { id, .. } => {
                self.id = client_id(id, &self.client);
                self.chunk(
                    ChunkDelta {
                        role: Some("assistant"),
                        content: Some(""),
                        ..ChunkDelta::default()
                    },
                    None,
                    out,
                );
            }
            Event::BlockStart {
                block: Block::ToolCall { id, name },
                ..
            } => {
                let index = self.tools;
                self.tools += 1;
                self.tool = Some(index);
                self.tool_arguments = false;
                self.chunk(
                    ChunkDelta {
                        tool_calls: Some([CallDelta {
                            index,
                            id: Some(id),
                            kind: Some("function"),
                            function: FunctionDelta {
                                name: Some(name),
                                arguments: "",
                            },
                        }]),
                        ..ChunkDelta::default()
                    },
                    None,
                    out,
                );
            }
            Event::BlockStart { .. } => {}
            Event::Delta { delta, .. } => match delta {
                Delta::Text(text) => self.chunk(
                    ChunkDelta {
                        content: Some(text),
                        ..ChunkDelta::default()
                    },
                    None,
                    out,
                ),
                Delta::Thinking(text) => self.chunk(
                    ChunkDelta {
                        reasoning_content: Some(text),
                        ..ChunkDelta::default()
                    },
                    None,
                    out,
                ),
                Delta::Arguments(arguments) => {
                    if let Some(index) = self.tool {
                        self.tool_arguments |= !arguments.is_empty();
                        self.chunk(ChunkDelta::arguments(index, arguments), None, out);
                    }
                }
                Delta::Signature(_) => {}
            },
            Event::BlockStop { .. } => {
                // A call that streamed no arguments (a Claude tool_use without input deltas,
                // an empty Responses call) still hands the client a JSON object.
                if let Some(index) = self.tool.take()
                    && !self.tool_arguments
                {
                    self.chunk(ChunkDelta::arguments(index, "{}"), None, out);
                }
            }
            Event::Usage(usage) => self.usage.merge(usage),
            Event::Finish(finish) => {
                let reason = encode_finish(finish, self.tools > 0);
                self.chunk(ChunkDelta::default(), Some(reason), out);
            }
            Event::End => {
                if self.include_usage {
                    write_json(
                        out,
                        None,
                        &UsageChunk {
                            id: &self.id,
                            object: "chat.completion.chunk",
                            created: self.created,
                            model: &self.model,
                            choices: [],
                            usage: encode_usage(&self.usage),
                        },
                    );
                }
                write_frame(out, None, b"[DONE]");
            }
        }
    }
}
