//! A Gemini upstream's `alt=sse` stream to hub events.
//!
//! Every `data:` frame is a whole `GenerateContentResponse`. Gemini has no block events: text
//! and thought parts open (or continue) a block, a `functionCall` arrives whole and becomes
//! one block with one arguments delta. `usageMetadata` may come on any chunk (cumulative);
//! `finishReason` comes on the last. The upstream closes without a terminal frame, so
//! [`StreamDecoder::finish`] ends the stream.

use crate::TranslateError;
use crate::ir::{Block, Delta, Event, Finish};
use crate::sse::Frame;

use super::response::{self, CallIds};

/// Which kind of block is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Open {
    Text,
    Thinking,
}

/// Upstream stream frames to hub events.
#[derive(Debug, Default)]
pub(crate) struct StreamDecoder {
    started: bool,
    ended: bool,
    /// The open text or thinking block and its index.
    open: Option<(usize, Open)>,
    next_index: usize,
    calls: usize,
    call_base: Option<String>,
    finish: Option<Finish>,
}

impl StreamDecoder {
    /// A decoder for one stream.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    fn close(&mut self, out: &mut Vec<Event>) {
        if let Some((index, _)) = self.open.take() {
            out.push(Event::BlockStop { index });
        }
    }

    fn open(&mut self, kind: Open, out: &mut Vec<Event>) -> usize {
        if let Some((index, open)) = self.open
            && open == kind
        {
            return index;
        }
        self.close(out);
        let index = self.next_index;
        self.next_index += 1;
        out.push(Event::BlockStart {
            index,
            block: match kind {
                Open::Text => Block::Text,
                Open::Thinking => Block::Thinking,
            },
        });
        self.open = Some((index, kind));
        index
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
        if data.is_empty() {
            return Ok(());
        }
        if data == "[DONE]" {
            return self.finish(out);
        }
        let chunk = response::parse(data.as_bytes())?;
        if let Some(error) = &chunk.error {
            return Err(TranslateError::Upstream(response::error_message(error)));
        }
        if !self.started {
            self.started = true;
            out.push(Event::Start {
                id: chunk.response_id.clone().unwrap_or_default(),
                model: chunk.model_version.clone().unwrap_or_default(),
            });
        }
        if self.call_base.is_none() {
            let ids = CallIds::new(chunk.response_id.as_deref(), data.as_bytes());
            self.call_base = Some(ids.prefix());
        }
        let candidate = chunk.candidates.iter().find(|c| c.index.unwrap_or(0) == 0);
        for part in candidate
            .and_then(|c| c.content.as_ref())
            .map(|c| c.parts.as_slice())
            .unwrap_or_default()
        {
            let signature = part
                .thought_signature
                .as_deref()
                .filter(|s| !s.is_empty())
                .map(super::signature::read);
            if let Some(call) = &part.function_call {
                self.close(out);
                let index = self.next_index;
                self.next_index += 1;
                let id = match call.id.as_deref().filter(|id| !id.is_empty()) {
                    Some(id) => id.to_owned(),
                    None => format!(
                        "{}_{}",
                        self.call_base.as_deref().unwrap_or("call"),
                        self.calls
                    ),
                };
                self.calls += 1;
                out.push(Event::BlockStart {
                    index,
                    block: Block::ToolCall {
                        id,
                        name: call.name.clone(),
                    },
                });
                let arguments = match call.args.as_ref().and_then(|a| a.value()) {
                    Some(value @ serde_json::Value::Object(_)) => value.to_string(),
                    _ => "{}".to_owned(),
                };
                out.push(Event::Delta {
                    index,
                    delta: Delta::Arguments(arguments),
                });
                if let Some(signature) = signature {
                    out.push(Event::Delta {
                        index,
                        delta: Delta::Signature(signature),
                    });
                }
                out.push(Event::BlockStop { index });
                continue;
            }
            let text = part.text.as_deref().unwrap_or_default();
            if part.thought || (text.is_empty() && signature.is_some()) {
                let index = self.open(Open::Thinking, out);
                if !text.is_empty() {
                    out.push(Event::Delta {
                        index,
                        delta: Delta::Thinking(text.to_owned()),
                    });
                }
                if let Some(signature) = signature {
                    out.push(Event::Delta {
                        index,
                        delta: Delta::Signature(signature),
                    });
                }
                continue;
            }
            if let Some(signature) = signature {
                // A signature on answer text signs the reasoning before it.
                let index = self.open(Open::Thinking, out);
                out.push(Event::Delta {
                    index,
                    delta: Delta::Signature(signature),
                });
            }
            if !text.is_empty() {
                let index = self.open(Open::Text, out);
                out.push(Event::Delta {
                    index,
                    delta: Delta::Text(text.to_owned()),
                });
            }
        }
        if let Some(metadata) = &chunk.usage_metadata {
            out.push(Event::Usage(response::usage(metadata)));
        }
        if let Some(reason) = candidate.and_then(|c| c.finish_reason.as_deref()) {
            self.close(out);
            self.finish = Some(response::finish(reason, self.calls > 0));
        } else if chunk
            .prompt_feedback
            .as_ref()
            .is_some_and(|f| f.block_reason.is_some())
        {
            self.finish = Some(Finish::ContentFilter);
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
                "the Gemini stream ended before any answer".to_owned(),
            ));
        }
        self.ended = true;
        self.close(out);
        let finish = self.finish.take().unwrap_or(if self.calls > 0 {
            Finish::ToolCalls
        } else {
            Finish::Stop
        });
        out.push(Event::Finish(finish));
        out.push(Event::End);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(frames: &[&str]) -> Result<Vec<Event>, TranslateError> {
        let mut decoder = StreamDecoder::new();
        let mut out = Vec::new();
        for data in frames {
            decoder.frame(
                &Frame {
                    event: None,
                    data: (*data).to_owned(),
                },
                &mut out,
            )?;
        }
        decoder.finish(&mut out)?;
        decoder.finish(&mut out)?;
        Ok(out)
    }

    #[test]
    fn text_then_call_then_finish() {
        let events = run(&[
            r#"{"candidates":[{"content":{"role":"model","parts":[{"text":"Hi"}]}}],"responseId":"r1","modelVersion":"g"}"#,
            r#"{"candidates":[{"content":{"role":"model","parts":[{"functionCall":{"name":"get","args":{"a":1}},"thoughtSignature":"sig"}]},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":3,"candidatesTokenCount":4}}"#,
        ])
        .unwrap();
        assert_eq!(
            events[0],
            Event::Start {
                id: "r1".into(),
                model: "g".into()
            }
        );
        assert_eq!(
            events[1],
            Event::BlockStart {
                index: 0,
                block: Block::Text
            }
        );
        assert_eq!(events[3], Event::BlockStop { index: 0 });
        assert_eq!(
            events[4],
            Event::BlockStart {
                index: 1,
                block: Block::ToolCall {
                    id: "call_r1_0".into(),
                    name: "get".into()
                }
            }
        );
        assert_eq!(
            events[5],
            Event::Delta {
                index: 1,
                delta: Delta::Arguments(r#"{"a":1}"#.into())
            }
        );
        assert_eq!(events[events.len() - 2], Event::Finish(Finish::ToolCalls));
        assert_eq!(events.last(), Some(&Event::End));
        assert_eq!(events.iter().filter(|e| **e == Event::End).count(), 1);
    }

    #[test]
    fn errors_and_empty_streams() {
        assert!(matches!(
            run(&[r#"{"error":{"code":429,"message":"quota"}}"#]),
            Err(TranslateError::Upstream(m)) if m == "quota"
        ));
        assert!(run(&[]).is_err());
        assert!(run(&["not json"]).is_err());
    }
}
