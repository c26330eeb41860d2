//! A Responses upstream's event stream into hub events.

use super::response::{failure_message, finish_from_wire, usage_from_wire};
use super::wire::{Item, StreamEvent};
use crate::TranslateError;
use crate::ir::{Block, Delta, Event, Finish, Signature, SignatureFamily};
use crate::sse::Frame;

/// What the open block is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Open {
    Text,
    Thinking,
    Call,
    /// A custom tool call: its raw input is streamed inside `{"input":"…"}`.
    Custom,
}

/// Where an item sits: its id and output index, when the upstream gives them.
#[derive(Debug, Clone, Default)]
struct Place {
    id: Option<String>,
    output_index: Option<u64>,
}

impl Place {
    /// Whether both name the same item (by id, else by output index).
    fn same(&self, other: &Place) -> bool {
        match (&self.id, &other.id) {
            (Some(a), Some(b)) => a == b,
            _ => matches!((self.output_index, other.output_index), (Some(a), Some(b)) if a == b),
        }
    }

    fn known(&self) -> bool {
        self.id.is_some() || self.output_index.is_some()
    }
}

/// A tool call announced while another call's block was open: the hub has one open block at
/// a time, so its arguments wait here until the open call is done.
#[derive(Debug)]
struct HeldCall {
    place: Place,
    block: Block,
    custom: bool,
    /// Arguments received so far (for a custom call, already JSON-string escaped).
    arguments: String,
    streamed: bool,
    /// The item is done; its final arguments (escaped likewise) when none streamed.
    done: Option<String>,
}

/// Upstream stream frames to hub events.
#[derive(Debug, Default)]
pub(crate) struct StreamDecoder {
    /// The item of the open call block.
    open_place: Place,
    /// Calls interleaved with the open one, in the order they were announced.
    held: Vec<HeldCall>,
    started: bool,
    ended: bool,
    open: Option<(usize, Open)>,
    next_index: usize,
    /// Something arrived for the open block (text or arguments deltas).
    streamed: bool,
    /// Summary parts seen in the open thinking block.
    summary_parts: u64,
    saw_tool: bool,
    /// A refusal came (the finish is then content_filter, as for a whole answer).
    refused: bool,
    /// Item ids and call ids of the calls the stream announced (the terminal event's output
    /// may hold calls it never streamed).
    seen_calls: Vec<String>,
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
        if self.ended || frame.data.trim() == "[DONE]" || frame.data.trim().is_empty() {
            return Ok(());
        }
        let event: StreamEvent = serde_json::from_str(&frame.data)
            .map_err(|e| TranslateError::Upstream(format!("stream event: {e}")))?;
        let kind = if event.kind.is_empty() {
            frame.event.as_deref().unwrap_or_default()
        } else {
            event.kind.as_str()
        };
        match kind {
            "error" => {
                let message = event
                    .message
                    .clone()
                    .or_else(|| event.error.as_ref().and_then(|e| e.message.clone()))
                    .unwrap_or_else(|| "upstream stream error".to_owned());
                return Err(TranslateError::Upstream(message));
            }
            "response.failed" => {
                return Err(TranslateError::Upstream(failure_message(
                    event.response.as_ref(),
                )));
            }
            "response.created" | "response.in_progress" | "response.queued" => {
                let response = event.response.as_ref();
                self.start(
                    response.and_then(|r| r.id.clone()).unwrap_or_default(),
                    response.and_then(|r| r.model.clone()).unwrap_or_default(),
                    out,
                );
            }
            "response.output_item.added" => {
                self.start(String::new(), String::new(), out);
                if let Some(item) = &event.item {
                    self.saw_call(item);
                    let place = Place {
                        id: item.id.clone(),
                        output_index: event.output_index,
                    };
                    if !self.hold(item, &place) {
                        self.item_added(item, out);
                        self.open_place = place;
                    }
                }
            }
            "response.content_part.added"
            | "response.output_text.delta"
            | "response.refusal.delta" => {
                self.refused |= kind == "response.refusal.delta";
                self.start(String::new(), String::new(), out);
                self.ensure(Open::Text, out);
                if let Some(delta) = event.delta.filter(|d| !d.is_empty()) {
                    self.streamed = true;
                    out.push(self.delta(Delta::Text(delta)));
                }
            }
            "response.reasoning_summary_part.added" => {
                self.start(String::new(), String::new(), out);
                self.ensure(Open::Thinking, out);
                self.summary_parts += 1;
                if self.summary_parts > 1 && self.streamed {
                    out.push(self.delta(Delta::Thinking("\n\n".to_owned())));
                }
            }
            "response.reasoning_summary_text.delta" | "response.reasoning_text.delta" => {
                self.start(String::new(), String::new(), out);
                self.ensure(Open::Thinking, out);
                if let Some(delta) = event.delta.filter(|d| !d.is_empty()) {
                    self.streamed = true;
                    out.push(self.delta(Delta::Thinking(delta)));
                }
            }
            "response.function_call_arguments.delta"
            | "response.custom_tool_call_input.delta"
            | "response.function_call_arguments.done"
                if self.held_at(&event).is_some() =>
            {
                let custom = kind == "response.custom_tool_call_input.delta";
                let held = self.held_at(&event).expect("checked");
                if kind.ends_with(".done") {
                    if let Some(arguments) = event.arguments.filter(|a| !a.is_empty())
                        && !held.streamed
                    {
                        held.arguments = arguments;
                        held.streamed = true;
                    }
                } else if let Some(delta) = event.delta {
                    held.streamed = true;
                    held.arguments += &if custom {
                        json_string_body(&delta)
                    } else {
                        delta
                    };
                }
            }
            "response.function_call_arguments.delta" => {
                if let (Some((_, Open::Call)), Some(delta)) = (self.open, event.delta) {
                    self.streamed = true;
                    out.push(self.delta(Delta::Arguments(delta)));
                }
            }
            "response.custom_tool_call_input.delta" => {
                if let (Some((_, Open::Custom)), Some(delta)) = (self.open, event.delta) {
                    self.streamed = true;
                    out.push(self.delta(Delta::Arguments(json_string_body(&delta))));
                }
            }
            "response.function_call_arguments.done" => {
                if let (Some((_, Open::Call)), Some(arguments)) = (self.open, event.arguments)
                    && !self.streamed
                    && !arguments.is_empty()
                {
                    self.streamed = true;
                    out.push(self.delta(Delta::Arguments(arguments)));
                }
            }
            "response.output_item.done" => {
                if let Some(item) = &event.item {
                    let place = Place {
                        id: item.id.clone(),
                        output_index: event.output_index,
                    };
                    self.saw_call(item);
                    if let Some(held) = self.held.iter_mut().find(|h| h.place.same(&place)) {
                        let last = if held.custom {
                            item.input.as_deref().map(json_string_body)
                        } else {
                            item.arguments.clone()
                        };
                        held.done = Some(last.unwrap_or_default());
                        // A call held for its name gets it now.
                        if let Block::ToolCall { id, name } = &mut held.block {
                            if id.is_empty()
                                && let Some(call_id) = &item.call_id
                            {
                                id.clone_from(call_id);
                            }
                            if name.is_empty()
                                && let Some(given) = &item.name
                            {
                                name.clone_from(given);
                            }
                        }
                        if self.open.is_none() {
                            self.release(out);
                        }
                    } else {
                        let was_call = matches!(self.open, Some((_, Open::Call | Open::Custom)));
                        self.item_done(item, out);
                        if was_call && self.open.is_none() {
                            self.release(out);
                        }
                    }
                }
            }
            "response.completed" | "response.incomplete" => {
                self.start(String::new(), String::new(), out);
                self.close_all(out);
                let response = event.response.unwrap_or_default();
                // Calls only the final output holds (never streamed) come out whole here.
                for item in &response.output {
                    let call = matches!(
                        item.kind.as_deref(),
                        Some("function_call" | "custom_tool_call")
                    );
                    let seen = [&item.id, &item.call_id]
                        .into_iter()
                        .flatten()
                        .any(|id| self.seen_calls.contains(id));
                    if call && !seen {
                        self.item_done(item, out);
                    }
                }
                if let Some(usage) = &response.usage {
                    out.push(Event::Usage(usage_from_wire(usage)));
                }
                let mut finish = finish_from_wire(&response, self.saw_tool);
                if self.refused && finish == Finish::Stop {
                    finish = Finish::ContentFilter;
                }
                if kind == "response.incomplete" && finish == Finish::Stop {
                    finish = Finish::Other("incomplete".to_owned());
                }
                self.end(finish, out);
            }
            _ => {}
        }
        Ok(())
    }

    /// The upstream closed: closes what is open and ends the stream.
    pub(crate) fn finish(&mut self, out: &mut Vec<Event>) -> Result<(), TranslateError> {
        if self.ended {
            return Ok(());
        }
        if !self.started {
            return Err(TranslateError::Upstream(
                "the upstream stream ended before any event".to_owned(),
            ));
        }
        self.close_all(out);
        let finish = if self.saw_tool {
            Finish::ToolCalls
        } else if self.refused {
            Finish::ContentFilter
        } else {
            Finish::Stop
        };
        self.end(finish, out);
        Ok(())
    }

    /// The held call an arguments event belongs to, if any.
    fn held_at(&mut self, event: &StreamEvent) -> Option<&mut HeldCall> {
        let place = Place {
            id: event.item_id.clone(),
            output_index: event.output_index,
        };
        if !place.known() {
            return None;
        }
        self.held.iter_mut().find(|h| h.place.same(&place))
    }

    /// Notes the ids of a call item.
    fn saw_call(&mut self, item: &Item) {
        if matches!(
            item.kind.as_deref(),
            Some("function_call" | "custom_tool_call")
        ) {
            for id in [&item.id, &item.call_id].into_iter().flatten() {
                if !self.seen_calls.contains(id) {
                    self.seen_calls.push(id.clone());
                }
            }
        }
    }

    /// Holds back a call announced while another call is open (interleaved parallel calls).
    fn hold(&mut self, item: &Item, place: &Place) -> bool {
        let custom = match item.kind.as_deref() {
            Some("function_call") => false,
            Some("custom_tool_call") => true,
            _ => return false,
        };
        let open_call = matches!(self.open, Some((_, Open::Call | Open::Custom)));
        // A call announced without its name waits for it (it comes with the item's done).
        let nameless = item.name.as_deref().is_none_or(str::is_empty);
        if (!open_call && self.held.is_empty() && !nameless)
            || !place.known()
            || self.open_place.same(place)
        {
            return false;
        }
        self.saw_tool = true;
        let initial = if custom {
            item.input.as_deref().map(json_string_body)
        } else {
            item.arguments.clone()
        };
        let arguments = initial.unwrap_or_default();
        self.held.push(HeldCall {
            place: place.clone(),
            block: Block::ToolCall {
                id: item.call_id.clone().unwrap_or_default(),
                name: item.name.clone().unwrap_or_default(),
            },
            custom,
            streamed: !arguments.is_empty(),
            arguments,
            done: None,
        });
        true
    }

    /// Opens the held calls in order: finished ones are written whole, the first unfinished
    /// one stays open for the deltas still to come.
    fn release(&mut self, out: &mut Vec<Event>) {
        while !self.held.is_empty() {
            let nameless =
                matches!(&self.held[0].block, Block::ToolCall { name, .. } if name.is_empty());
            if nameless && self.held[0].done.is_none() {
                return;
            }
            let held = self.held.remove(0);
            let kind = if held.custom {
                Open::Custom
            } else {
                Open::Call
            };
            self.open_block(kind, held.block, out);
            self.open_place = held.place;
            if held.custom {
                out.push(self.delta(Delta::Arguments("{\"input\":\"".to_owned())));
            }
            let mut arguments = held.arguments;
            if !held.streamed
                && let Some(last) = &held.done
            {
                arguments.clone_from(last);
            }
            if !arguments.is_empty() {
                self.streamed = true;
                out.push(self.delta(Delta::Arguments(arguments)));
            }
            if held.done.is_none() {
                return;
            }
            self.close(out);
        }
    }

    /// Closes the open block and writes out every held call.
    fn close_all(&mut self, out: &mut Vec<Event>) {
        self.close(out);
        while !self.held.is_empty() {
            self.release(out);
            self.close(out);
        }
    }

    fn start(&mut self, id: String, model: String, out: &mut Vec<Event>) {
        if !self.started {
            self.started = true;
            out.push(Event::Start { id, model });
        }
    }

    fn end(&mut self, finish: Finish, out: &mut Vec<Event>) {
        out.push(Event::Finish(finish));
        out.push(Event::End);
        self.ended = true;
    }

    fn delta(&self, delta: Delta) -> Event {
        Event::Delta {
            index: self.open.map_or(0, |(i, _)| i),
            delta,
        }
    }

    fn open_block(&mut self, kind: Open, block: Block, out: &mut Vec<Event>) {
        self.close(out);
        let index = self.next_index;
        self.next_index += 1;
        self.open = Some((index, kind));
        self.streamed = false;
        self.summary_parts = 0;
        out.push(Event::BlockStart { index, block });
    }

    /// Opens a text or thinking block unless one of that kind is open.
    fn ensure(&mut self, kind: Open, out: &mut Vec<Event>) {
        if self.open.map(|(_, k)| k) != Some(kind) {
            let block = if kind == Open::Text {
                Block::Text
            } else {
                Block::Thinking
            };
            self.open_block(kind, block, out);
        }
    }

    fn close(&mut self, out: &mut Vec<Event>) {
        if let Some((index, kind)) = self.open.take() {
            if kind == Open::Custom {
                out.push(Event::Delta {
                    index,
                    delta: Delta::Arguments("\"}".to_owned()),
                });
            }
            out.push(Event::BlockStop { index });
        }
    }

    fn item_added(&mut self, item: &Item, out: &mut Vec<Event>) {
        match item.kind.as_deref() {
            // The thinking block opens with its first text or signature: a reasoning item
            // with neither (summaries off, no encrypted content) yields no empty block.
            Some("reasoning") => self.close(out),
            Some(kind @ ("function_call" | "custom_tool_call")) => {
                self.saw_tool = true;
                let block = Block::ToolCall {
                    id: item.call_id.clone().unwrap_or_default(),
                    name: item.name.clone().unwrap_or_default(),
                };
                if kind == "custom_tool_call" {
                    self.open_block(Open::Custom, block, out);
                    out.push(self.delta(Delta::Arguments("{\"input\":\"".to_owned())));
                    if let Some(input) = item.input.as_deref().filter(|i| !i.is_empty()) {
                        self.streamed = true;
                        out.push(self.delta(Delta::Arguments(json_string_body(input))));
                    }
                } else {
                    self.open_block(Open::Call, block, out);
                    if let Some(arguments) = item.arguments.as_deref().filter(|a| !a.is_empty()) {
                        self.streamed = true;
                        out.push(self.delta(Delta::Arguments(arguments.to_owned())));
                    }
                }
            }
            Some("message") => self.close(out),
            _ => {}
        }
    }

    fn item_done(&mut self, item: &Item, out: &mut Vec<Event>) {
        match item.kind.as_deref() {
            Some("reasoning") => {
                let open = self.open.map(|(_, k)| k) == Some(Open::Thinking);
                let text = if open && self.streamed {
                    String::new()
                } else {
                    let texts: Vec<&str> = item
                        .summary
                        .iter()
                        .flatten()
                        .map(|s| s.text.as_str())
                        .collect();
                    texts.join("\n\n")
                };
                let encrypted = item
                    .encrypted_content
                    .as_deref()
                    .is_some_and(|e| !e.is_empty());
                if !open {
                    if !encrypted && text.is_empty() {
                        return;
                    }
                    self.start(String::new(), String::new(), out);
                    self.open_block(Open::Thinking, Block::Thinking, out);
                }
                if !text.is_empty() {
                    out.push(self.delta(Delta::Thinking(text)));
                }
                if let Some(encrypted) = item.encrypted_content.as_deref().filter(|e| !e.is_empty())
                {
                    let signature = Signature::read(encrypted, SignatureFamily::OpenAi);
                    out.push(self.delta(Delta::Signature(signature)));
                }
                self.close(out);
            }
            Some("message") => {
                if !self.streamed || self.open.map(|(_, k)| k) != Some(Open::Text) {
                    // No delta came for this item: its whole text, once.
                    let text = message_text(item);
                    if !text.is_empty() {
                        self.start(String::new(), String::new(), out);
                        self.ensure(Open::Text, out);
                        out.push(self.delta(Delta::Text(text)));
                    }
                }
                if self.open.map(|(_, k)| k) == Some(Open::Text) {
                    self.close(out);
                }
            }
            Some("function_call") => {
                if self.open.map(|(_, k)| k) == Some(Open::Call) {
                    if !self.streamed
                        && let Some(arguments) = item.arguments.as_deref().filter(|a| !a.is_empty())
                    {
                        out.push(self.delta(Delta::Arguments(arguments.to_owned())));
                    }
                    self.close(out);
                } else {
                    self.start(String::new(), String::new(), out);
                    self.item_added(item, out);
                    self.close(out);
                }
            }
            Some("custom_tool_call") => {
                if self.open.map(|(_, k)| k) == Some(Open::Custom) {
                    if !self.streamed
                        && let Some(input) = item.input.as_deref().filter(|i| !i.is_empty())
                    {
                        out.push(self.delta(Delta::Arguments(json_string_body(input))));
                    }
                    self.close(out);
                } else {
                    self.start(String::new(), String::new(), out);
                    self.item_added(item, out);
                    self.close(out);
                }
            }
            _ => {}
        }
    }
}

/// A message item's texts.
fn message_text(item: &Item) -> String {
    let mut text = String::new();
    if let Some(serde_json::Value::Array(parts)) = &item.content {
        for part in parts {
            if let Some(t) = part.get("text").and_then(serde_json::Value::as_str) {
                text.push_str(t);
            }
        }
    }
    text
}

/// `text` escaped as the inside of a JSON string (without the quotes).
fn json_string_body(text: &str) -> String {
    let quoted = serde_json::Value::String(text.to_owned()).to_string();
    quoted[1..quoted.len() - 1].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(frames: &[&str]) -> Result<Vec<Event>, TranslateError> {
        let mut decoder = StreamDecoder::new();
        let mut out = Vec::new();
        for data in frames {
            let frame = Frame {
                event: None,
                data: (*data).to_owned(),
            };
            decoder.frame(&frame, &mut out)?;
        }
        decoder.finish(&mut out)?;
        Ok(out)
    }

    #[test]
    fn failed_and_error_events_are_upstream_errors() {
        let failed = run(&[
            r#"{"type":"response.created","response":{"id":"resp_1"}}"#,
            r#"{"type":"response.failed","response":{"status":"failed","error":{"code":"server_error","message":"boom"}}}"#,
        ]);
        assert_eq!(failed, Err(TranslateError::Upstream("boom".to_owned())));
        let error = run(&[r#"{"type":"error","code":"rate_limit","message":"slow down"}"#]);
        assert_eq!(error, Err(TranslateError::Upstream("slow down".to_owned())));
    }

    #[test]
    fn an_empty_stream_is_an_error_and_finish_is_idempotent() {
        assert!(run(&[]).is_err());
        let events = run(&[
            r#"{"type":"response.created","response":{"id":"resp_1","model":"g"}}"#,
            r#"{"type":"response.output_text.delta","delta":"a"}"#,
            r#"{"type":"response.completed","response":{"status":"completed"}}"#,
            r#"{"type":"response.completed","response":{"status":"completed"}}"#,
        ])
        .unwrap();
        assert_eq!(events.iter().filter(|e| **e == Event::End).count(), 1);
        assert_eq!(events.last(), Some(&Event::End));
        assert_eq!(
            events[0],
            Event::Start {
                id: "resp_1".into(),
                model: "g".into()
            }
        );
    }

    #[test]
    fn custom_tool_input_is_wrapped_as_json_arguments() {
        let events = run(&[
            r#"{"type":"response.output_item.added","item":{"type":"custom_tool_call","call_id":"c","name":"p","input":""}}"#,
            r#"{"type":"response.custom_tool_call_input.delta","delta":"say \"hi\"\n"}"#,
            r#"{"type":"response.output_item.done","item":{"type":"custom_tool_call","call_id":"c","name":"p","input":"say \"hi\"\n"}}"#,
            r#"{"type":"response.completed","response":{"status":"completed"}}"#,
        ])
        .unwrap();
        let arguments: String = events
            .iter()
            .filter_map(|e| match e {
                Event::Delta {
                    delta: Delta::Arguments(a),
                    ..
                } => Some(a.as_str()),
                _ => None,
            })
            .collect();
        let value: serde_json::Value = serde_json::from_str(&arguments).unwrap();
        assert_eq!(value["input"], "say \"hi\"\n");
        assert!(events.contains(&Event::Finish(Finish::ToolCalls)));
    }

    #[test]
    fn a_reasoning_item_without_content_opens_no_block() {
        let events = run(&[
            r#"{"type":"response.output_item.added","item":{"type":"reasoning","summary":[]}}"#,
            r#"{"type":"response.output_item.done","item":{"type":"reasoning","summary":[]}}"#,
            r#"{"type":"response.output_item.added","item":{"type":"reasoning","summary":[]}}"#,
            r#"{"type":"response.output_item.done","item":{"type":"reasoning","summary":[],"encrypted_content":"e"}}"#,
            r#"{"type":"response.completed","response":{"status":"completed"}}"#,
        ])
        .unwrap();
        let starts = events
            .iter()
            .filter(|e| matches!(e, Event::BlockStart { .. }))
            .count();
        assert_eq!(starts, 1);
        assert!(events.iter().any(|e| matches!(
            e,
            Event::Delta {
                delta: Delta::Signature(_),
                ..
            }
        )));
    }

    #[test]
    fn blocks_are_contiguous_and_one_at_a_time() {
        let events = run(&[
            r#"{"type":"response.output_item.added","item":{"type":"reasoning"}}"#,
            r#"{"type":"response.reasoning_summary_text.delta","delta":"t"}"#,
            r#"{"type":"response.output_text.delta","delta":"x"}"#,
            r#"{"type":"response.output_item.added","item":{"type":"function_call","call_id":"c","name":"f"}}"#,
            r#"{"type":"response.function_call_arguments.delta","delta":"{}"}"#,
        ])
        .unwrap();
        let mut open = None;
        let mut next = 0;
        for event in &events {
            match event {
                Event::BlockStart { index, .. } => {
                    assert_eq!(open, None);
                    assert_eq!(*index, next);
                    open = Some(*index);
                    next += 1;
                }
                Event::BlockStop { index } => {
                    assert_eq!(open, Some(*index));
                    open = None;
                }
                _ => {}
            }
        }
        assert_eq!(next, 3);
        assert_eq!(open, None);
    }

    #[test]
    fn interleaved_calls_are_serialized_with_their_own_arguments() {
        let events = run(&[
            r#"{"type":"response.output_item.added","output_index":0,"item":{"type":"function_call","id":"fc_a","call_id":"a","name":"f","arguments":""}}"#,
            r#"{"type":"response.output_item.added","output_index":1,"item":{"type":"custom_tool_call","id":"ct_b","call_id":"b","name":"p","input":""}}"#,
            r#"{"type":"response.output_item.added","output_index":2,"item":{"type":"function_call","id":"fc_c","call_id":"c","name":"f","arguments":""}}"#,
            r#"{"type":"response.function_call_arguments.delta","output_index":2,"item_id":"fc_c","delta":"{\"x\":"}"#,
            r#"{"type":"response.custom_tool_call_input.delta","output_index":1,"item_id":"ct_b","delta":"hi"}"#,
            r#"{"type":"response.function_call_arguments.delta","output_index":0,"item_id":"fc_a","delta":"{\"x\":1}"}"#,
            r#"{"type":"response.output_item.done","output_index":1,"item":{"type":"custom_tool_call","id":"ct_b","call_id":"b","name":"p","input":"hi"}}"#,
            r#"{"type":"response.output_item.done","output_index":0,"item":{"type":"function_call","id":"fc_a","call_id":"a","name":"f","arguments":"{\"x\":1}"}}"#,
            r#"{"type":"response.function_call_arguments.delta","output_index":2,"item_id":"fc_c","delta":"3}"}"#,
            r#"{"type":"response.completed","response":{"status":"completed"}}"#,
        ])
        .unwrap();
        let mut calls: Vec<(String, String)> = Vec::new();
        let mut open = None;
        for event in &events {
            match event {
                Event::BlockStart {
                    index,
                    block: Block::ToolCall { id, .. },
                } => {
                    assert!(open.is_none(), "one block at a time");
                    open = Some(*index);
                    calls.push((id.clone(), String::new()));
                }
                Event::Delta {
                    index,
                    delta: Delta::Arguments(a),
                } => {
                    assert_eq!(Some(*index), open);
                    calls.last_mut().unwrap().1 += a;
                }
                Event::BlockStop { .. } => open = None,
                _ => {}
            }
        }
        assert_eq!(
            calls,
            vec![
                ("a".to_owned(), "{\"x\":1}".to_owned()),
                ("b".to_owned(), "{\"input\":\"hi\"}".to_owned()),
                ("c".to_owned(), "{\"x\":3}".to_owned()),
            ]
        );
        assert!(events.contains(&Event::Finish(Finish::ToolCalls)));
    }

    #[test]
    fn a_streamed_refusal_finishes_as_content_filter() {
        let events = run(&[
            r#"{"type":"response.refusal.delta","item_id":"m","output_index":0,"delta":"no"}"#,
            r#"{"type":"response.completed","response":{"status":"completed"}}"#,
        ])
        .unwrap();
        assert!(events.contains(&Event::Finish(Finish::ContentFilter)));
    }

    #[test]
    fn nameless_calls_wait_and_terminal_only_calls_come_out() {
        let events = run(&[
            r#"{"type":"response.output_item.added","output_index":0,"item":{"type":"function_call","id":"fa","call_id":"a"}}"#,
            r#"{"type":"response.function_call_arguments.delta","item_id":"fa","output_index":0,"delta":"{\"a\":1}"}"#,
            r#"{"type":"response.output_item.done","output_index":0,"item":{"type":"function_call","id":"fa","call_id":"a","name":"f","arguments":"{\"a\":1}"}}"#,
            r#"{"type":"response.completed","response":{"status":"completed","output":[{"type":"function_call","id":"fa","call_id":"a","name":"f","arguments":"{\"a\":1}"},{"type":"function_call","id":"fc","call_id":"c","name":"h","arguments":"{}"}]}}"#,
        ])
        .unwrap();
        let mut calls: Vec<(String, String, String)> = Vec::new();
        for event in &events {
            match event {
                Event::BlockStart {
                    block: Block::ToolCall { id, name },
                    ..
                } => calls.push((id.clone(), name.clone(), String::new())),
                Event::Delta {
                    delta: Delta::Arguments(a),
                    ..
                } => calls.last_mut().unwrap().2.push_str(a),
                _ => {}
            }
        }
        assert_eq!(
            calls,
            [
                ("a".into(), "f".into(), "{\"a\":1}".into()),
                ("c".into(), "h".into(), "{}".into()),
            ]
        );
        assert!(events.contains(&Event::Finish(Finish::ToolCalls)));
    }
}
