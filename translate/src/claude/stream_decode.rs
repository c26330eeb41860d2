//! A Claude upstream's event stream to hub events.
//!
//! Claude's events map one to one onto the hub's, with these rules: blocks get the hub's own
//! gap-free indexes (server-tool blocks, which the hub cannot stream, are skipped with their
//! deltas; a `redacted_thinking` block comes whole at its start); a block the upstream leaves open is closed before the next
//! one; `message_stop` gives `Finish` and `End` once; [`StreamDecoder::finish`] closes a stream
//! that ended without `message_stop`, or fails if it never started.

use serde::Deserialize;
use serde_json::Value;

use super::response::finish_from;
use super::wire;
use crate::TranslateError;
use crate::ir::{Block, Delta, Event, Finish, Signature, SignatureFamily};
use crate::sse::Frame;

/// Upstream stream frames to hub events.
#[derive(Debug, Default)]
pub(crate) struct StreamDecoder {
    started: bool,
    ended: bool,
    /// The open block: (upstream index, hub index).
    open: Option<(usize, usize)>,
    next_index: usize,
    finish: Option<Finish>,
}

impl StreamDecoder {
    /// A decoder for one stream.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    fn start(&mut self, id: String, model: String, out: &mut Vec<Event>) {
        if !self.started {
            self.started = true;
            out.push(Event::Start { id, model });
        }
    }

    fn close(&mut self, out: &mut Vec<Event>) {
        if let Some((_, index)) = self.open.take() {
            out.push(Event::BlockStop { index });
        }
    }

    fn end(&mut self, out: &mut Vec<Event>) {
        self.close(out);
        out.push(Event::Finish(self.finish.take().unwrap_or_default()));
        out.push(Event::End);
        self.ended = true;
    }

    /// Decodes one SSE frame: read straight into its wire type (one parse), or through a
    /// value when that fails (errors, unknown events, unexpected field types).
    pub(crate) fn frame(
        &mut self,
        frame: &Frame,
        out: &mut Vec<Event>,
    ) -> Result<(), TranslateError> {
        if self.ended {
            return Ok(());
        }
        let Ok(event) = serde_json::from_str::<wire::FastEvent<'_>>(&frame.data) else {
            return self.frame_value(frame, out);
        };
        match event {
            wire::FastEvent::Ping => {}
            wire::FastEvent::MessageStart { message } => {
                self.message_start(message.id, message.model, message.usage, out)
            }
            wire::FastEvent::ContentBlockStart {
                index,
                content_block,
            } => self.block_start(
                index,
                &|key| content_block.get(key),
                content_block.input.as_ref(),
                out,
            ),
            wire::FastEvent::ContentBlockDelta { index, delta } => {
                self.block_delta(index, &|key| delta.get(key), out)
            }
            wire::FastEvent::ContentBlockStop { index } => self.block_stop(index, out),
            wire::FastEvent::MessageDelta { delta, usage } => self.message_delta(delta, usage, out),
            wire::FastEvent::MessageStop => self.message_stop(out),
        }
        Ok(())
    }

    /// [`StreamDecoder::frame`] through a value.
    fn frame_value(&mut self, frame: &Frame, out: &mut Vec<Event>) -> Result<(), TranslateError> {
        let value: Value = serde_json::from_str(&frame.data).map_err(|e| {
            TranslateError::Upstream(format!("Anthropic stream event is not JSON: {e}"))
        })?;
        let kind = value.get("type").and_then(Value::as_str).unwrap_or("");
        let known = [
            "message_start",
            "content_block_start",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop",
            "ping",
            "error",
        ];
        if !known.contains(&kind) {
            return Ok(());
        }
        let event = wire::StreamEvent::deserialize(&value)
            .map_err(|e| TranslateError::Upstream(format!("Anthropic {kind} event: {e}")))?;
        match event {
            wire::StreamEvent::Ping => {}
            wire::StreamEvent::Error { error } => {
                let message = error
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or("the upstream stream failed");
                return Err(TranslateError::Upstream(message.to_owned()));
            }
            wire::StreamEvent::MessageStart { message } => {
                self.message_start(message.id, message.model, message.usage, out)
            }
            wire::StreamEvent::ContentBlockStart {
                index,
                content_block,
            } => self.block_start(
                index,
                &|key| content_block.get(key).and_then(Value::as_str),
                content_block.get("input"),
                out,
            ),
            wire::StreamEvent::ContentBlockDelta { index, delta } => {
                self.block_delta(index, &|key| delta.get(key).and_then(Value::as_str), out)
            }
            wire::StreamEvent::ContentBlockStop { index } => self.block_stop(index, out),
            wire::StreamEvent::MessageDelta { delta, usage } => {
                self.message_delta(delta, usage, out)
            }
            wire::StreamEvent::MessageStop => self.message_stop(out),
        }
        Ok(())
    }

    fn message_start(
        &mut self,
        id: String,
        model: String,
        usage: Option<wire::Usage>,
        out: &mut Vec<Event>,
    ) {
        self.start(id, model, out);
        if let Some(usage) = usage {
            let usage = usage.to_ir();
            if usage != Default::default() {
                out.push(Event::Usage(usage));
            }
        }
    }

    /// `content_block_start`: `field` reads the block's string fields, `input` is its input.
    fn block_start<'f>(
        &mut self,
        upstream: usize,
        field: &dyn Fn(&str) -> Option<&'f str>,
        input: Option<&Value>,
        out: &mut Vec<Event>,
    ) {
        self.start(String::new(), String::new(), out);
        self.close(out);
        let kind = field("type");
        let text = |key: &str| field(key).filter(|s| !s.is_empty()).map(str::to_owned);
        let (block, first) = match kind {
            Some("text") => (Block::Text, text("text").map(Delta::Text)),
            Some("thinking") => (Block::Thinking, text("thinking").map(Delta::Thinking)),
            Some("redacted_thinking") => (
                Block::RedactedThinking {
                    data: text("data").unwrap_or_default(),
                    family: SignatureFamily::Claude,
                },
                None,
            ),
            Some("tool_use") => {
                let input = input
                    .filter(|v| v.as_object().is_some_and(|m| !m.is_empty()))
                    .map(|v| Delta::Arguments(v.to_string()));
                (
                    Block::ToolCall {
                        id: text("id").unwrap_or_default(),
                        name: text("name").unwrap_or_default(),
                    },
                    input,
                )
            }
            _ => return,
        };
        let index = self.next_index;
        self.next_index += 1;
        self.open = Some((upstream, index));
        out.push(Event::BlockStart { index, block });
        if let Some(delta) = first {
            out.push(Event::Delta { index, delta });
        }
        if kind == Some("thinking")
            && let Some(signature) = text("signature")
        {
            out.push(Event::Delta {
                index,
                delta: Delta::Signature(Signature {
                    family: SignatureFamily::Claude,
                    value: signature,
                }),
            });
        }
    }

    /// `content_block_delta`: `field` reads the delta's string fields.
    fn block_delta<'f>(
        &mut self,
        index: usize,
        field: &dyn Fn(&str) -> Option<&'f str>,
        out: &mut Vec<Event>,
    ) {
        let Some((upstream, hub)) = self.open else {
            return;
        };
        if upstream != index {
            return;
        }
        let index = hub;
        let text = |key: &str| field(key).unwrap_or("");
        let piece = match field("type") {
            Some("text_delta") => Delta::Text(text("text").to_owned()),
            Some("thinking_delta") => Delta::Thinking(text("thinking").to_owned()),
            Some("input_json_delta") => Delta::Arguments(text("partial_json").to_owned()),
            Some("signature_delta") => Delta::Signature(Signature {
                family: SignatureFamily::Claude,
                value: text("signature").to_owned(),
            }),
            _ => return,
        };
        let empty = matches!(&piece, Delta::Text(t) | Delta::Thinking(t) | Delta::Arguments(t) if t.is_empty());
        if !empty {
            out.push(Event::Delta {
                index,
                delta: piece,
            });
        }
    }

    fn block_stop(&mut self, index: usize, out: &mut Vec<Event>) {
        if self.open.is_some_and(|(upstream, _)| upstream == index) {
            self.close(out);
        }
    }

    fn message_delta(
        &mut self,
        delta: wire::MessageDelta,
        usage: Option<wire::Usage>,
        out: &mut Vec<Event>,
    ) {
        self.start(String::new(), String::new(), out);
        if delta.stop_reason.is_some() {
            self.finish = Some(finish_from(
                delta.stop_reason.as_deref(),
                delta.stop_sequence,
            ));
        }
        if let Some(usage) = usage {
            out.push(Event::Usage(usage.to_ir()));
        }
    }

    fn message_stop(&mut self, out: &mut Vec<Event>) {
        self.start(String::new(), String::new(), out);
        self.end(out);
    }

    /// The upstream closed: closes what is open and ends the stream.
    pub(crate) fn finish(&mut self, out: &mut Vec<Event>) -> Result<(), TranslateError> {
        if self.ended {
            return Ok(());
        }
        if !self.started {
            return Err(TranslateError::Upstream(
                "the Anthropic stream ended before its message started".to_owned(),
            ));
        }
        self.end(out);
        Ok(())
    }
}
