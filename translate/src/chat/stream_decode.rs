//! An upstream's chat stream (`data:` chunks, then `[DONE]`) to hub events.
//!
//! Chat has no block events: blocks are opened when their first piece arrives and closed when
//! another kind of piece arrives. Parallel tool calls come as fragments keyed by `index`; a
//! call's id and name may come late, so its block opens once both are known (or, when the
//! next call or the finish shows none will come, with an id and name made up). Calls open in
//! index order. Some servers interleave the fragments of parallel calls: a later call's block
//! opens only once the open call's arguments form a whole JSON value, so an interleaved call
//! is buffered instead of cutting the open one short. `finish_reason`, the usage-only chunk and `[DONE]` may come in any order: the
//! finish is held until `[DONE]` (or the end of the body), so late usage still counts.

use super::response::{arguments_of, decode_finish, decode_usage, error_message, name_of};
use super::wire::{Completion, Content, ContentPart, ToolCall};
use crate::TranslateError;
use crate::ir::{Block, Delta, Event, Finish};
use crate::sse::Frame;

/// What the open block is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Open {
    /// Answer text.
    Text,
    /// Reasoning.
    Thinking,
    /// The tool call at this position of `calls`.
    Tool(usize),
}

/// Where a tool call stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CallState {
    /// Its block has not opened: fragments are buffered.
    Waiting,
    /// Its block is open.
    Open,
    /// Its block is closed; more arguments are an error.
    Closed,
}

/// One tool call of the answer.
#[derive(Debug)]
struct Call {
    /// The upstream's `index`.
    index: u64,
    /// The call id (made up when the upstream never sends one).
    id: String,
    /// The tool name (`tool_<index>` when the upstream never sends one).
    name: String,
    /// Arguments received while waiting.
    pending: String,
    /// Whether any argument text was sent.
    sent_arguments: bool,
    /// Where its argument text stands as JSON.
    shape: JsonShape,
    /// Its block's state.
    state: CallState,
}

/// Upstream stream frames to hub events.
#[derive(Debug, Default)]
pub(crate) struct StreamDecoder {
    /// The first chunk came (and `Start` went out).
    started: bool,
    /// `End` went out; later frames are ignored.
    ended: bool,
    /// The upstream's answer id.
    id: String,
    /// The next block index.
    next_block: usize,
    /// The open block: its kind and index.
    open: Option<(Open, usize)>,
    /// The answer's tool calls, by upstream index.
    calls: Vec<Call>,
    /// The upstream's `finish_reason`, held until the end.
    finish: Option<Finish>,
    /// The model refused (structured outputs): the finish is a content filter.
    refused: bool,
}

impl StreamDecoder {
    /// A decoder for one stream.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Decodes one SSE frame.
    pub(crate) fn frame(
        &mut self,
        frame: &Frame,
        out: &mut Vec<Event>,
    ) -> Result<(), TranslateError> {
        if self.ended {
            return Ok(());
        }
        let data = frame.data.trim();
        if frame.event.as_deref() == Some("error") {
            let message = serde_json::from_str::<serde_json::Value>(data)
                .ok()
                .and_then(|v| v.get("error").map(error_message))
                .unwrap_or_else(|| data.to_owned());
            return Err(TranslateError::Upstream(message));
        }
        if data == "[DONE]" {
            return self.end(out);
        }
        if data.is_empty() {
            return Ok(());
        }
        let chunk: Completion<'_> = serde_json::from_str(data)
            .map_err(|e| TranslateError::Upstream(format!("chat stream chunk: {e}")))?;
        if let Some(error) = &chunk.error {
            return Err(TranslateError::Upstream(error_message(error)));
        }
        if !self.started {
            self.started = true;
            self.id = chunk.id.to_string();
            out.push(Event::Start {
                id: chunk.id.to_string(),
                model: chunk.model.to_string(),
            });
        }
        for choice in chunk.choices.unwrap_or_default() {
            if choice.index != 0 {
                continue;
            }
            if let Some(delta) = choice.delta.or(choice.message) {
                if let Some(text) = delta.reasoning_content.or(delta.reasoning)
                    && !text.is_empty()
                {
                    self.piece(Open::Thinking, Delta::Thinking(text.into_owned()), out);
                }
                match delta.content {
                    Some(Content::Text(text)) if !text.is_empty() => {
                        self.piece(Open::Text, Delta::Text(text.into_owned()), out)
                    }
                    Some(Content::Parts(parts)) => {
                        for part in parts {
                            if let ContentPart::Text { text, .. } = part
                                && !text.is_empty()
                            {
                                self.piece(Open::Text, Delta::Text(text.into_owned()), out);
                            }
                        }
                    }
                    _ => {}
                }
                if let Some(refusal) = delta.refusal.filter(|r| !r.is_empty()) {
                    self.refused = true;
                    self.piece(Open::Text, Delta::Text(refusal.into_owned()), out);
                }
                for (position, call) in delta.tool_calls.unwrap_or_default().into_iter().enumerate()
                {
                    self.tool_fragment(call, position as u64, out)?;
                }
            }
            if let Some(reason) = choice.finish_reason.filter(|r| !r.is_empty()) {
                self.close(out);
                self.advance(true, out);
                self.close(out);
                self.finish = Some(decode_finish(&reason));
            }
        }
        if let Some(usage) = &chunk.usage {
            out.push(Event::Usage(decode_usage(usage)));
        }
        Ok(())
    }

    /// The upstream closed: closes what is open and ends the stream.
    pub(crate) fn finish(&mut self, out: &mut Vec<Event>) -> Result<(), TranslateError> {
        if self.ended {
            return Ok(());
        }
        self.end(out)
    }

    /// `[DONE]` or the end of the body: everything open closes, then the finish and the end.
    fn end(&mut self, out: &mut Vec<Event>) -> Result<(), TranslateError> {
        if !self.started {
            return Err(TranslateError::Upstream(
                "the chat stream ended before any chunk".to_owned(),
            ));
        }
        self.close(out);
        self.advance(true, out);
        self.close(out);
        let called = !self.calls.is_empty();
        let finish = match self.finish.take() {
            _ if self.refused => Finish::ContentFilter,
            Some(Finish::Stop) | None if called => Finish::ToolCalls,
            Some(finish) => finish,
            None => Finish::Stop,
        };
        out.push(Event::Finish(finish));
        out.push(Event::End);
        self.ended = true;
        Ok(())
    }

    /// Closes the open block (a tool call without arguments gets `{}`).
    fn close(&mut self, out: &mut Vec<Event>) {
        if let Some((open, index)) = self.open.take() {
            if let Open::Tool(at) = open
                && let Some(call) = self.calls.get_mut(at)
            {
                if !call.sent_arguments {
                    out.push(Event::Delta {
                        index,
                        delta: Delta::Arguments("{}".to_owned()),
                    });
                }
                call.state = CallState::Closed;
            }
            out.push(Event::BlockStop { index });
        }
    }

    /// Opens a block of `kind` unless one is open.
    fn open_block(&mut self, kind: Open, block: Block, out: &mut Vec<Event>) -> usize {
        if let Some((open, index)) = self.open
            && open == kind
        {
            return index;
        }
        self.close(out);
        let index = self.next_block;
        self.next_block += 1;
        out.push(Event::BlockStart { index, block });
        self.open = Some((kind, index));
        index
    }

    /// A text or reasoning piece.
    fn piece(&mut self, kind: Open, delta: Delta, out: &mut Vec<Event>) {
        let block = if kind == Open::Text {
            Block::Text
        } else {
            Block::Thinking
        };
        let index = self.open_block(kind, block, out);
        out.push(Event::Delta { index, delta });
    }

    /// One tool-call fragment of a delta (`position` when it has no `index`).
    fn tool_fragment(
        &mut self,
        fragment: ToolCall<'_>,
        position: u64,
        out: &mut Vec<Event>,
    ) -> Result<(), TranslateError> {
        let mut index = fragment.index.unwrap_or(position);
        // Some servers send every call whole at the same index (or none): a different id at
        // a taken index is a new call, after the others.
        if let Some(id) = fragment.id.as_deref().filter(|id| !id.is_empty())
            && self
                .calls
                .iter()
                .any(|c| c.index == index && !c.id.is_empty() && c.id != id)
        {
            index = match self.calls.iter().find(|c| c.id == id) {
                Some(same) => same.index,
                None => self.calls.iter().map(|c| c.index + 1).max().unwrap_or(0),
            };
        }
        let at = match self.calls.iter().position(|c| c.index == index) {
            Some(at) => at,
            None => {
                let at = self
                    .calls
                    .iter()
                    .position(|c| c.index > index)
                    .unwrap_or(self.calls.len());
                self.calls.insert(
                    at,
                    Call {
                        index,
                        id: String::new(),
                        name: String::new(),
                        pending: String::new(),
                        sent_arguments: false,
                        shape: JsonShape::default(),
                        state: CallState::Waiting,
                    },
                );
                // The open block may refer to a call that moved.
                if let Some((Open::Tool(open), block)) = self.open
                    && open >= at
                {
                    self.open = Some((Open::Tool(open + 1), block));
                }
                at
            }
        };
        let function = fragment.function.unwrap_or_default();
        let arguments = arguments_of(function.arguments);
        let call = &mut self.calls[at];
        call.shape.push(&arguments);
        if call.id.is_empty()
            && let Some(id) = fragment.id.as_deref().filter(|id| !id.is_empty())
        {
            call.id = id.to_owned();
        }
        if call.name.is_empty()
            && let Some(name) = name_of(function.name.as_ref())
        {
            call.name = name.to_owned();
        }
        match call.state {
            CallState::Closed if !arguments.is_empty() => {
                return Err(TranslateError::Upstream(format!(
                    "tool call {index} continued after another block began"
                )));
            }
            CallState::Closed => {}
            CallState::Open => {
                if !arguments.is_empty() {
                    call.sent_arguments = true;
                    if let Some((_, block)) = self.open {
                        out.push(Event::Delta {
                            index: block,
                            delta: Delta::Arguments(arguments),
                        });
                    }
                    // Calls buffered behind this one may open now.
                    self.advance(false, out);
                }
            }
            CallState::Waiting => {
                call.pending.push_str(&arguments);
                self.advance(false, out);
            }
        }
        Ok(())
    }

    /// Opens waiting calls in index order: one whose id and name are known, or, with `force`
    /// or once a later call exists, any (with a made-up id and name). A call opened because a
    /// later one exists is closed again at once. Without `force`, nothing opens while the open
    /// call's arguments are not yet a whole JSON value (its fragments are still coming).
    fn advance(&mut self, force: bool, out: &mut Vec<Event>) {
        if !force
            && let Some((Open::Tool(open), _)) = self.open
            && self.calls.get(open).is_some_and(|c| !c.shape.complete())
        {
            return;
        }
        let mut at = 0;
        while at < self.calls.len() {
            if self.calls[at].state != CallState::Waiting {
                at += 1;
                continue;
            }
            let later = at + 1 < self.calls.len();
            let call = &self.calls[at];
            let known = !call.id.is_empty() && !call.name.is_empty();
            if !(known || force || later) {
                break;
            }
            let call = &mut self.calls[at];
            if call.id.is_empty() {
                call.id = format!("call_{}_{}", self.id, call.index);
            }
            if call.name.is_empty() {
                call.name = format!("tool_{}", call.index);
            }
            let block = Block::ToolCall {
                id: call.id.clone(),
                name: call.name.clone(),
            };
            let pending = std::mem::take(&mut call.pending);
            call.state = CallState::Open;
            self.close(out);
            let index = self.next_block;
            self.next_block += 1;
            out.push(Event::BlockStart { index, block });
            self.open = Some((Open::Tool(at), index));
            if !pending.is_empty() {
                self.calls[at].sent_arguments = true;
                out.push(Event::Delta {
                    index,
                    delta: Delta::Arguments(pending),
                });
            }
            at += 1;
        }
    }
}

/// Tracks whether a stream of JSON text is one whole value yet (bounded memory: a depth and
/// two flags).
#[derive(Debug, Default, Clone, Copy)]
struct JsonShape {
    /// Open objects and arrays.
    depth: usize,
    /// Inside a string.
    in_string: bool,
    /// The previous character was a backslash inside a string.
    escaped: bool,
}

impl JsonShape {
    /// Takes in more text.
    fn push(&mut self, text: &str) {
        for c in text.chars() {
            if self.in_string {
                match c {
                    _ if self.escaped => self.escaped = false,
                    '\\' => self.escaped = true,
                    '"' => self.in_string = false,
                    _ => {}
                }
                continue;
            }
            match c {
                '{' | '[' => self.depth += 1,
                '}' | ']' => self.depth = self.depth.saturating_sub(1),
                '"' => self.in_string = true,
                _ => {}
            }
        }
    }

    /// Whether the text so far is a whole value (or nothing at all: a call without arguments).
    fn complete(&self) -> bool {
        !self.in_string && self.depth == 0
    }
}
