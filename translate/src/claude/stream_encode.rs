//! Hub events to a Claude client's event stream, as the Anthropic SDK reads it.
//!
//! `message_start` is written when the first block opens (or at the end), so that input
//! tokens an upstream reports right after its start are in it; when none are known it carries
//! the request's estimate (`ClientView::estimated_input_tokens`). Then `content_block_start`,
//! deltas (`text_delta`, `thinking_delta`, `signature_delta`, `input_json_delta`),
//! `content_block_stop`; at the end one `message_delta` (stop reason and usage, input without
//! cache) and one `message_stop`. Nothing of the answer is buffered.

use serde_json::{Value, json};

use super::response::{message_id, stop_reason, usage_json};
use crate::ClientView;
use crate::ir::{Block, Delta, Event, Finish, SignatureFamily, Usage};
use crate::sse::write_json;

/// A `content_block_delta` event, serialized from borrowed pieces (the most frequent event:
/// no `Value` tree per delta).
#[derive(serde::Serialize)]
struct BlockDeltaEvent<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    index: usize,
    delta: BlockDelta<'a>,
}

/// The `delta` of a `content_block_delta`.
#[derive(serde::Serialize)]
#[serde(tag = "type")]
enum BlockDelta<'a> {
    #[serde(rename = "text_delta")]
    Text { text: &'a str },
    #[serde(rename = "thinking_delta")]
    Thinking { thinking: &'a str },
    #[serde(rename = "input_json_delta")]
    InputJson { partial_json: &'a str },
    #[serde(rename = "signature_delta")]
    Signature { signature: String },
}

/// Hub events to the client's stream bytes.
#[derive(Debug, Default)]
pub(crate) struct StreamEncoder {
    model: String,
    fallback_id: String,
    estimated_input: u64,
    /// The upstream's id, until `message_start` is written.
    id: String,
    started: bool,
    message_started: bool,
    ended: bool,
    usage: Usage,
    finish: Option<Finish>,
    /// The open block's client index.
    open: Option<usize>,
    next_index: usize,
    has_tool_use: bool,
}

impl StreamEncoder {
    /// An encoder for one stream to `client`.
    pub(crate) fn new(client: &ClientView) -> Self {
        StreamEncoder {
            model: client.model.clone(),
            fallback_id: client.id.clone(),
            estimated_input: client.estimated_input_tokens,
            ..Self::default()
        }
    }

    fn message_start(&mut self, out: &mut Vec<u8>) {
        if self.message_started {
            return;
        }
        self.message_started = true;
        let mut usage = usage_json(&self.usage);
        if self.usage.input == 0 {
            usage["input_tokens"] = json!(self.estimated_input);
        }
        let id = message_id(
            &self.id,
            &ClientView {
                id: self.fallback_id.clone(),
                ..ClientView::default()
            },
        );
        write_json(
            out,
            Some("message_start"),
            &json!({
                "type": "message_start",
                "message": {
                    "id": id,
                    "type": "message",
                    "role": "assistant",
                    "model": self.model,
                    "content": [],
                    "stop_reason": Value::Null,
                    "stop_sequence": Value::Null,
                    "usage": usage,
                },
            }),
        );
    }

    fn close(&mut self, out: &mut Vec<u8>) {
        if let Some(index) = self.open.take() {
            write_json(
                out,
                Some("content_block_stop"),
                &json!({"type": "content_block_stop", "index": index}),
            );
        }
    }

    /// Encodes one event.
    pub(crate) fn event(&mut self, event: &Event, out: &mut Vec<u8>) {
        if self.ended {
            return;
        }
        match event {
            Event::Start { id, .. } => {
                if !self.started {
                    self.started = true;
                    self.id = id.clone();
                }
            }
            Event::Usage(usage) => self.usage.merge(usage),
            Event::BlockStart { block, .. } => {
                self.message_start(out);
                self.close(out);
                let content_block = match block {
                    Block::Text => json!({"type": "text", "text": ""}),
                    Block::Thinking => json!({"type": "thinking", "thinking": "", "signature": ""}),
                    Block::RedactedThinking { data, family } => {
                        let data = crate::ir::Signature {
                            family: *family,
                            value: data.clone(),
                        }
                        .write(SignatureFamily::Claude);
                        json!({"type": "redacted_thinking", "data": data})
                    }
                    Block::ToolCall { id, name } => {
                        self.has_tool_use = true;
                        let id = if id.is_empty() {
                            format!("toolu_{}_{}", self.fallback_id, self.next_index)
                        } else {
                            // Claude takes `[A-Za-z0-9_-]` only.
                            super::request::sanitize_id(id)
                        };
                        json!({"type": "tool_use", "id": id, "name": name, "input": {}})
                    }
                };
                let index = self.next_index;
                self.next_index += 1;
                self.open = Some(index);
                write_json(
                    out,
                    Some("content_block_start"),
                    &json!({"type": "content_block_start", "index": index, "content_block": content_block}),
                );
            }
            Event::Delta { delta, .. } => {
                let Some(index) = self.open else {
                    return;
                };
                let delta = match delta {
                    Delta::Text(text) if !text.is_empty() => BlockDelta::Text { text },
                    Delta::Thinking(text) if !text.is_empty() => {
                        BlockDelta::Thinking { thinking: text }
                    }
                    Delta::Arguments(json) if !json.is_empty() => {
                        BlockDelta::InputJson { partial_json: json }
                    }
                    Delta::Signature(signature) => BlockDelta::Signature {
                        signature: signature.write(SignatureFamily::Claude),
                    },
                    _ => return,
                };
                write_json(
                    out,
                    Some("content_block_delta"),
                    &BlockDeltaEvent {
                        kind: "content_block_delta",
                        index,
                        delta,
                    },
                );
            }
            Event::BlockStop { .. } => self.close(out),
            Event::Finish(finish) => {
                if self.finish.is_none() {
                    self.finish = Some(finish.clone());
                }
            }
            Event::End => {
                self.message_start(out);
                self.close(out);
                let finish = self.finish.take().unwrap_or_default();
                let (reason, sequence) = stop_reason(&finish, self.has_tool_use);
                // Input counts only when known: the SDK takes them over message_start's.
                let usage = if self.usage.input == 0 {
                    json!({"output_tokens": self.usage.output})
                } else {
                    usage_json(&self.usage)
                };
                write_json(
                    out,
                    Some("message_delta"),
                    &json!({
                        "type": "message_delta",
                        "delta": {"stop_reason": reason, "stop_sequence": sequence},
                        "usage": usage,
                    }),
                );
                write_json(out, Some("message_stop"), &json!({"type": "message_stop"}));
                self.ended = true;
            }
        }
    }
}
