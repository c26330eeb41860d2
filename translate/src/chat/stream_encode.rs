//! Hub events to a chat client's stream: `data:` chunks, a usage chunk when asked for, and
//! `data: [DONE]`.

use serde_json::{Value, json};

use super::response::{client_id, encode_finish, encode_usage};
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
    delta: &'a Value,
    /// Always `null`.
    logprobs: Option<()>,
    finish_reason: Option<&'a str>,
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
    fn chunk(&self, delta: Value, finish: Option<&str>, out: &mut Vec<u8>) {
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
                    delta: &delta,
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
                self.chunk(json!({"role": "assistant", "content": ""}), None, out);
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
                    json!({"tool_calls": [{
                        "index": index,
                        "id": id,
                        "type": "function",
                        "function": {"name": name, "arguments": ""},
                    }]}),
                    None,
                    out,
                );
            }
            Event::BlockStart { .. } => {}
            Event::Delta { delta, .. } => match delta {
                Delta::Text(text) => self.chunk(json!({"content": text}), None, out),
                Delta::Thinking(text) => self.chunk(json!({"reasoning_content": text}), None, out),
                Delta::Arguments(arguments) => {
                    if let Some(index) = self.tool {
                        self.tool_arguments |= !arguments.is_empty();
                        self.chunk(
                            json!({"tool_calls": [{
                                "index": index,
                                "function": {"arguments": arguments},
                            }]}),
                            None,
                            out,
                        );
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
                    self.chunk(
                        json!({"tool_calls": [{"index": index, "function": {"arguments": "{}"}}]}),
                        None,
                        out,
                    );
                }
            }
            Event::Usage(usage) => self.usage.merge(usage),
            Event::Finish(finish) => {
                let reason = encode_finish(finish, self.tools > 0);
                self.chunk(json!({}), Some(reason), out);
            }
            Event::End => {
                if self.include_usage {
                    write_json(
                        out,
                        None,
                        &json!({
                            "id": self.id,
                            "object": "chat.completion.chunk",
                            "created": self.created,
                            "model": self.model,
                            "choices": [],
                            "usage": encode_usage(&self.usage),
                        }),
                    );
                }
                write_frame(out, None, b"[DONE]");
            }
        }
    }
}
