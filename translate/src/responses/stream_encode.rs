//! Hub events into the event stream the OpenAI SDK's `responses.stream()` reads.
//!
//! Every event carries `sequence_number` (from 0, one per event); output items get contiguous
//! `output_index`es. The terminal `response.completed` / `response.incomplete` carries the
//! whole response object, so the finished items are kept (as the protocol requires); the open
//! item keeps only its own text or arguments.

use serde_json::{Value, json};

use super::response::{
    call_item, encrypted_for_client, item_id, message_item, reasoning_item, redacted_for_client,
    response_id, response_json, status,
};
use crate::ClientView;
use crate::ir::{Block, Delta, Event, Finish, Usage};
use crate::sse;

/// The open output item.
#[derive(Debug)]
enum OpenItem {
    Message {
        id: String,
        text: String,
    },
    Reasoning {
        id: String,
        text: String,
        part_open: bool,
        encrypted: Option<String>,
    },
    /// A call; a freeform tool's arguments are kept whole and sent at its end as the raw
    /// `input`.
    Call {
        call_id: String,
        name: String,
        arguments: String,
        custom: bool,
        /// The call's own signature (Gemini): a signature-only reasoning item follows it.
        signature: Option<String>,
    },
}

/// Hub events to the client's stream bytes (boxed: the state is large next to other
/// encoders).
#[derive(Debug)]
pub(crate) struct StreamEncoder(Box<State>);

impl StreamEncoder {
    /// An encoder for one stream to `client`.
    pub(crate) fn new(client: &ClientView) -> Self {
        StreamEncoder(Box::new(State {
            client: client.clone(),
            ..State::default()
        }))
    }

    /// Encodes one event.
    pub(crate) fn event(&mut self, event: &Event, out: &mut Vec<u8>) {
        self.0.event(event, out);
    }
}

/// A text or arguments delta event, serialized from borrowed pieces (the most frequent events:
/// no `Value` tree per delta).
#[derive(serde::Serialize)]
struct DeltaEvent<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    sequence_number: u64,
    item_id: &'a str,
    output_index: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    content_index: Option<u32>,
    delta: &'a str,
    /// `[]` on text deltas.
    #[serde(skip_serializing_if = "Option::is_none")]
    logprobs: Option<[u8; 0]>,
}

/// The encoder's state.
#[derive(Debug, Default)]
struct State {
    client: ClientView,
    id: String,
    sequence: u64,
    open: Option<OpenItem>,
    output: Vec<Value>,
    usage: Usage,
    finish: Finish,
    started: bool,
    /// The last output item's `output_item.done` waits for what comes next: at the end of a
    /// truncated or filtered answer the item is `incomplete`, not `completed`.
    held_done: bool,
}

impl State {
    fn emit(&mut self, out: &mut Vec<u8>, kind: &str, mut body: Value) {
        body["type"] = json!(kind);
        body["sequence_number"] = json!(self.sequence);
        self.sequence += 1;
        sse::write_json(out, Some(kind), &body);
    }

    fn index(&self) -> usize {
        self.output.len()
    }

    fn response(&self, status: &str, incomplete: Value, usage: Option<&Usage>) -> Value {
        response_json(
            &self.id,
            self.client.created,
            &self.client,
            status,
            incomplete,
            self.output.clone(),
            usage,
        )
    }

    fn event(&mut self, event: &Event, out: &mut Vec<u8>) {
        match event {
            Event::Start { id, .. } => self.start(id, out),
            Event::BlockStart { index, block } => {
                self.start("", out);
                // Consecutive text blocks are one message, as in a whole answer.
                if *block == Block::Text && matches!(self.open, Some(OpenItem::Message { .. })) {
                    return;
                }
                self.close(out);
                self.open(*index, block, out);
            }
            Event::Delta { delta, .. } => self.delta(delta, out),
            // A message stays open until something else starts (or the end).
            Event::BlockStop { .. } if matches!(self.open, Some(OpenItem::Message { .. })) => {}
            Event::BlockStop { .. } => self.close(out),
            Event::Usage(usage) => self.usage.merge(usage),
            Event::Finish(finish) => self.finish = finish.clone(),
            Event::End => {
                self.start("", out);
                self.close(out);
                let (status, incomplete) = status(&self.finish);
                self.release(status != "completed", out);
                let response = self.response(status, incomplete, Some(&self.usage.clone()));
                let kind = if status == "completed" {
                    "response.completed"
                } else {
                    "response.incomplete"
                };
                self.emit(out, kind, json!({ "response": response }));
            }
        }
    }

    fn start(&mut self, upstream_id: &str, out: &mut Vec<u8>) {
        if self.started {
            return;
        }
        self.started = true;
        self.id = response_id(upstream_id, &self.client);
        let response = self.response("in_progress", Value::Null, None);
        self.emit(out, "response.created", json!({ "response": response }));
        self.emit(out, "response.in_progress", json!({ "response": response }));
    }

    fn open(&mut self, index: usize, block: &Block, out: &mut Vec<u8>) {
        self.release(false, out);
        let output_index = self.index();
        let item = match block {
            Block::Text => {
                let id = item_id("msg", &self.id, output_index);
                let item = json!({"id": id, "type": "message", "status": "in_progress", "role": "assistant", "content": []});
                self.open = Some(OpenItem::Message {
                    id,
                    text: String::new(),
                });
                item
            }
            Block::Thinking => {
                let id = item_id("rs", &self.id, output_index);
                let item = reasoning_item(&id, "", None);
                self.open = Some(OpenItem::Reasoning {
                    id,
                    text: String::new(),
                    part_open: false,
                    encrypted: None,
                });
                item
            }
            Block::RedactedThinking { data, family } => {
                let id = item_id("rs", &self.id, output_index);
                let encrypted = Some(redacted_for_client(data, *family));
                let item = reasoning_item(&id, "", encrypted.clone());
                self.open = Some(OpenItem::Reasoning {
                    id,
                    text: String::new(),
                    part_open: false,
                    encrypted,
                });
                item
            }
            Block::ToolCall { id, name } => {
                let call_id = if id.is_empty() {
                    format!("call_{}_{index}", self.client.id)
                } else {
                    id.clone()
                };
                let tools = &self.client.responses_tools;
                let item = call_item(&call_id, name, "", "in_progress", tools);
                self.open = Some(OpenItem::Call {
                    call_id,
                    name: name.clone(),
                    arguments: String::new(),
                    custom: tools.is_custom(name),
                    signature: None,
                });
                item
            }
        };
        self.emit(
            out,
            "response.output_item.added",
            json!({"output_index": output_index, "item": item}),
        );
        if let Some(OpenItem::Message { id, .. }) = &self.open {
            let body = json!({
                "item_id": id, "output_index": output_index, "content_index": 0,
                "part": {"type": "output_text", "text": "", "annotations": [], "logprobs": []},
            });
            self.emit(out, "response.content_part.added", body);
        }
    }

    fn delta(&mut self, delta: &Delta, out: &mut Vec<u8>) {
        let output_index = self.index();
        let Some(open) = &mut self.open else { return };
        let (kind, body) = match (open, delta) {
            (OpenItem::Message { id, text }, Delta::Text(piece)) => {
                text.push_str(piece);
                let kind = "response.output_text.delta";
                let event = DeltaEvent {
                    kind,
                    sequence_number: self.sequence,
                    item_id: id,
                    output_index,
                    content_index: Some(0),
                    delta: piece,
                    logprobs: Some([]),
                };
                self.sequence += 1;
                sse::write_json(out, Some(kind), &event);
                return;
            }
            (
                OpenItem::Reasoning {
                    id,
                    text,
                    part_open,
                    ..
                },
                Delta::Thinking(piece),
            ) => {
                let id = id.clone();
                text.push_str(piece);
                if !*part_open {
                    *part_open = true;
                    let body = json!({"item_id": id, "output_index": output_index, "summary_index": 0, "part": {"type": "summary_text", "text": ""}});
                    self.emit(out, "response.reasoning_summary_part.added", body);
                }
                let body = json!({"item_id": id, "output_index": output_index, "summary_index": 0, "delta": piece});
                ("response.reasoning_summary_text.delta", body)
            }
            (OpenItem::Reasoning { encrypted, .. }, Delta::Signature(signature))
            | (
                OpenItem::Call {
                    signature: encrypted,
                    ..
                },
                Delta::Signature(signature),
            ) => {
                *encrypted = Some(encrypted_for_client(signature));
                return;
            }
            (
                OpenItem::Call {
                    call_id,
                    arguments,
                    custom,
                    ..
                },
                Delta::Arguments(piece),
            ) => {
                arguments.push_str(piece);
                if *custom {
                    return;
                }
                let kind = "response.function_call_arguments.delta";
                let item_id = format!("fc_{call_id}");
                let event = DeltaEvent {
                    kind,
                    sequence_number: self.sequence,
                    item_id: &item_id,
                    output_index,
                    content_index: None,
                    delta: piece,
                    logprobs: None,
                };
                self.sequence += 1;
                sse::write_json(out, Some(kind), &event);
                return;
            }
            _ => return,
        };
        self.emit(out, kind, body);
    }

    fn close(&mut self, out: &mut Vec<u8>) {
        let output_index = self.index();
        let Some(open) = self.open.take() else { return };
        let mut call_signature = None;
        let item = match open {
            OpenItem::Message { id, text } => {
                let body = json!({"item_id": id, "output_index": output_index, "content_index": 0, "text": text, "logprobs": []});
                self.emit(out, "response.output_text.done", body);
                let body = json!({
                    "item_id": id, "output_index": output_index, "content_index": 0,
                    "part": {"type": "output_text", "text": text, "annotations": [], "logprobs": []},
                });
                self.emit(out, "response.content_part.done", body);
                message_item(&id, &text, "completed")
            }
            OpenItem::Reasoning {
                id,
                text,
                part_open,
                encrypted,
            } => {
                if part_open {
                    let body = json!({"item_id": id, "output_index": output_index, "summary_index": 0, "text": text});
                    self.emit(out, "response.reasoning_summary_text.done", body);
                    let body = json!({"item_id": id, "output_index": output_index, "summary_index": 0, "part": {"type": "summary_text", "text": text}});
                    self.emit(out, "response.reasoning_summary_part.done", body);
                }
                reasoning_item(&id, &text, encrypted)
            }
            OpenItem::Call {
                call_id,
                name,
                arguments,
                custom,
                signature,
            } => {
                call_signature = signature;
                let arguments = if arguments.is_empty() {
                    "{}".to_owned()
                } else {
                    arguments
                };
                let item = call_item(
                    &call_id,
                    &name,
                    &arguments,
                    "completed",
                    &self.client.responses_tools,
                );
                if custom {
                    let item_id = format!("ctc_{call_id}");
                    let input = item["input"].clone();
                    if input.as_str().is_some_and(|i| !i.is_empty()) {
                        let body = json!({"item_id": item_id, "output_index": output_index, "delta": input});
                        self.emit(out, "response.custom_tool_call_input.delta", body);
                    }
                    let body =
                        json!({"item_id": item_id, "output_index": output_index, "input": input});
                    self.emit(out, "response.custom_tool_call_input.done", body);
                } else {
                    let body = json!({"item_id": format!("fc_{call_id}"), "output_index": output_index, "name": item["name"], "arguments": arguments});
                    self.emit(out, "response.function_call_arguments.done", body);
                }
                item
            }
        };
        self.output.push(item);
        self.held_done = true;
        if let Some(encrypted) = call_signature {
            // As in a whole answer: the call's signature follows as a reasoning item.
            self.release(false, out);
            let output_index = self.index();
            let item = reasoning_item(&item_id("rs", &self.id, output_index), "", Some(encrypted));
            self.emit(
                out,
                "response.output_item.added",
                json!({"output_index": output_index, "item": item}),
            );
            self.output.push(item);
            self.held_done = true;
        }
    }

    /// Emits the held `output_item.done` (`incomplete`: the answer was cut short).
    fn release(&mut self, incomplete: bool, out: &mut Vec<u8>) {
        if !std::mem::take(&mut self.held_done) {
            return;
        }
        let output_index = self.output.len().saturating_sub(1);
        let Some(item) = self.output.get_mut(output_index) else {
            return;
        };
        if incomplete && item.get("status").is_some() {
            item["status"] = json!("incomplete");
        }
        let body = json!({"output_index": output_index, "item": item.clone()});
        self.emit(out, "response.output_item.done", body);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::Signature;

    fn frames(events: &[Event]) -> Vec<Value> {
        let client = ClientView {
            model: "m".into(),
            id: "req_1".into(),
            created: 1,
            ..ClientView::default()
        };
        let mut encoder = StreamEncoder::new(&client);
        let mut out = Vec::new();
        for event in events {
            encoder.event(event, &mut out);
        }
        String::from_utf8(out)
            .unwrap()
            .split("\n\n")
            .filter_map(|f| {
                f.split_once("data: ")
                    .map(|(_, d)| serde_json::from_str(d).unwrap())
            })
            .collect()
    }

    #[test]
    fn text_call_text_gets_contiguous_indexes_and_sequence_numbers() {
        let out = frames(&[
            Event::Start {
                id: "msg_x".into(),
                model: "claude".into(),
            },
            Event::BlockStart {
                index: 0,
                block: Block::Text,
            },
            Event::Delta {
                index: 0,
                delta: Delta::Text("a".into()),
            },
            Event::BlockStop { index: 0 },
            Event::BlockStart {
                index: 1,
                block: Block::ToolCall {
                    id: "toolu_1".into(),
                    name: "f".into(),
                },
            },
            Event::BlockStop { index: 1 },
            Event::BlockStart {
                index: 2,
                block: Block::Thinking,
            },
            Event::Delta {
                index: 2,
                delta: Delta::Signature(Signature::read(
                    "claude#s",
                    crate::ir::SignatureFamily::OpenAi,
                )),
            },
            Event::BlockStop { index: 2 },
            Event::Finish(Finish::ToolCalls),
            Event::End,
        ]);
        for (n, frame) in out.iter().enumerate() {
            assert_eq!(frame["sequence_number"], n);
        }
        let added: Vec<u64> = out
            .iter()
            .filter(|f| f["type"] == "response.output_item.added")
            .map(|f| f["output_index"].as_u64().unwrap())
            .collect();
        assert_eq!(added, [0, 1, 2]);
        let last = out.last().unwrap();
        assert_eq!(last["type"], "response.completed");
        assert_eq!(last["response"]["id"], "resp_req_1");
        assert_eq!(last["response"]["output"][1]["arguments"], "{}");
        assert_eq!(
            last["response"]["output"][2]["encrypted_content"],
            "claude#s"
        );
    }

    #[test]
    fn content_filter_ends_incomplete() {
        let out = frames(&[
            Event::Start {
                id: String::new(),
                model: String::new(),
            },
            Event::Finish(Finish::ContentFilter),
            Event::End,
        ]);
        let last = out.last().unwrap();
        assert_eq!(last["type"], "response.incomplete");
        assert_eq!(
            last["response"]["incomplete_details"]["reason"],
            "content_filter"
        );
    }
}
