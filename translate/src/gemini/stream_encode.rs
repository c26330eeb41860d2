//! Hub events to a Gemini client's stream: one `GenerateContentResponse` per text, thought
//! or call, as `data:` frames (`alt=sse`) or as one JSON array written piece by piece (`[`,
//! chunks separated by `,\r\n`, `]`). Only the open tool call's arguments are buffered
//! (Gemini sends a call whole); usage and the finish reason go on the last chunk.

use crate::ClientView;
use crate::ir::{Block, Delta, Event, Finish, Signature, Usage};
use crate::sse;

use super::response::{arguments_object, finish_reason, usage_metadata};
use super::wire::{Candidate, Content, FunctionCall, GenerateContentResponse, WirePart};

/// The tool call being assembled.
#[derive(Debug)]
struct OpenCall {
    id: String,
    name: String,
    arguments: String,
    signature: Option<Signature>,
}

/// Hub events to the client's stream bytes (boxed: the crate keeps encoders in one enum).
#[derive(Debug)]
pub(crate) struct StreamEncoder(Box<State>);

/// The encoder's state.
#[derive(Debug, Default)]
struct State {
    sse: bool,
    model: String,
    id: String,
    /// Array framing: whether `[` (and a chunk) has been written.
    opened: bool,
    call: Option<OpenCall>,
    in_thinking: bool,
    usage: Usage,
    /// Whether the upstream reported any usage: without it the last chunk carries none
    /// (zeros would claim a free answer).
    usage_seen: bool,
    finish: Option<Finish>,
}

impl StreamEncoder {
    /// An encoder for one stream to `client`.
    pub(crate) fn new(client: &ClientView) -> Self {
        StreamEncoder(Box::new(State {
            sse: client.gemini_sse,
            model: client.model.clone(),
            id: client.id.clone(),
            ..State::default()
        }))
    }

    /// Encodes one event.
    pub(crate) fn event(&mut self, event: &Event, out: &mut Vec<u8>) {
        self.0.event(event, out);
    }
}

impl State {
    fn write(&mut self, chunk: &GenerateContentResponse<'_>, out: &mut Vec<u8>) {
        if self.sse {
            sse::write_json(out, None, chunk);
            return;
        }
        out.extend_from_slice(if self.opened { b",\r\n" } else { b"[" });
        self.opened = true;
        // Serializing typed structs into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, chunk);
    }

    fn chunk<'a>(&self, parts: Vec<WirePart<'a>>) -> GenerateContentResponse<'a> {
        GenerateContentResponse {
            candidates: vec![Candidate {
                content: Some(Content {
                    role: Some("model".to_owned()),
                    parts,
                }),
                finish_reason: None,
                index: Some(0),
            }],
            model_version: Some(self.model.clone()),
            response_id: Some(self.id.clone()),
            ..GenerateContentResponse::default()
        }
    }

    fn part(&mut self, part: WirePart<'_>, out: &mut Vec<u8>) {
        let chunk = self.chunk(vec![part]);
        self.write(&chunk, out);
    }

    fn event(&mut self, event: &Event, out: &mut Vec<u8>) {
        match event {
            Event::Start { id, .. } => {
                if !id.is_empty() {
                    self.id = id.clone();
                }
            }
            Event::BlockStart { block, .. } => match block {
                Block::ToolCall { id, name } => {
                    self.call = Some(OpenCall {
                        id: id.clone(),
                        name: name.clone(),
                        arguments: String::new(),
                        signature: None,
                    });
                }
                Block::Thinking => self.in_thinking = true,
                Block::Text => self.in_thinking = false,
                // Hidden reasoning travels whole as a carrier part (no deltas follow).
                Block::RedactedThinking { data, family } => {
                    self.in_thinking = false;
                    self.part(super::response::redacted_part(data, *family), out);
                }
            },
            Event::Delta { delta, .. } => match delta {
                Delta::Text(text) => self.part(
                    WirePart {
                        text: Some(text.as_str().into()),
                        ..WirePart::default()
                    },
                    out,
                ),
                Delta::Thinking(text) => self.part(
                    WirePart {
                        text: Some(text.as_str().into()),
                        thought: true,
                        ..WirePart::default()
                    },
                    out,
                ),
                Delta::Arguments(piece) => {
                    if let Some(call) = &mut self.call {
                        call.arguments.push_str(piece);
                    }
                }
                Delta::Signature(signature) => {
                    if let Some(call) = &mut self.call {
                        call.signature = Some(signature.clone());
                    } else {
                        self.part(
                            WirePart {
                                text: Some("".into()),
                                thought: self.in_thinking,
                                thought_signature: Some(super::signature::write(signature)),
                                ..WirePart::default()
                            },
                            out,
                        );
                    }
                }
            },
            Event::BlockStop { .. } => {
                self.in_thinking = false;
                if let Some(call) = self.call.take() {
                    self.part(
                        WirePart {
                            function_call: Some(FunctionCall {
                                id: Some(call.id),
                                name: call.name,
                                args: Some(arguments_object(&call.arguments)),
                            }),
                            thought_signature: call.signature.as_ref().map(super::signature::write),
                            ..WirePart::default()
                        },
                        out,
                    );
                }
            }
            Event::Usage(usage) => {
                self.usage.merge(usage);
                self.usage_seen = true;
            }
            Event::Finish(finish) => self.finish = Some(finish.clone()),
            Event::End => {
                let mut chunk = self.chunk(Vec::new());
                if let Some(candidate) = chunk.candidates.first_mut() {
                    candidate.finish_reason =
                        Some(finish_reason(self.finish.as_ref().unwrap_or(&Finish::Stop)));
                }
                chunk.usage_metadata = self.usage_seen.then(|| usage_metadata(&self.usage));
                self.write(&chunk, out);
                if !self.sse {
                    out.push(b']');
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(sse: bool, events: &[Event]) -> String {
        let mut encoder = StreamEncoder::new(&ClientView {
            model: "m".into(),
            id: "req_1".into(),
            gemini_sse: sse,
            ..ClientView::default()
        });
        let mut out = Vec::new();
        for event in events {
            encoder.event(event, &mut out);
        }
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn array_framing_and_whole_calls() {
        let events = [
            Event::Start {
                id: String::new(),
                model: String::new(),
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
                    id: "c".into(),
                    name: "f".into(),
                },
            },
            Event::Delta {
                index: 1,
                delta: Delta::Arguments("{\"x\":".into()),
            },
            Event::Delta {
                index: 1,
                delta: Delta::Arguments("1}".into()),
            },
            Event::BlockStop { index: 1 },
            Event::Finish(Finish::ToolCalls),
            Event::End,
        ];
        let text = encode(false, &events);
        assert!(text.starts_with('[') && text.ends_with(']'));
        let chunks: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
        assert_eq!(chunks.len(), 3);
        assert_eq!(text.matches(",\r\n").count(), 2);
        assert_eq!(
            chunks[1]["candidates"][0]["content"]["parts"][0]["functionCall"]["args"]["x"],
            1
        );
        assert_eq!(chunks[2]["candidates"][0]["finishReason"], "STOP");
        let sse = encode(true, &events);
        assert_eq!(sse.matches("data: ").count(), 3);
    }
}
