//! Assembles a streamed answer's events into one [`Response`]: how a non-streaming client is
//! served from a streamed upstream, and how tests check a stream against its non-stream twin.

use crate::ir::{Block, Delta, Event, Part, Response};

/// Collects [`Event`]s into a [`Response`].
#[derive(Debug, Default)]
pub struct Aggregator {
    response: Response,
    ended: bool,
}

impl Aggregator {
    /// An empty answer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies one event.
    pub fn push(&mut self, event: &Event) {
        let content = &mut self.response.content;
        match event {
            Event::Start { id, model } => {
                self.response.id.clone_from(id);
                self.response.model.clone_from(model);
            }
            Event::BlockStart { block, .. } => content.push(match block {
                Block::Text => Part::text(""),
                Block::Thinking => Part::Thinking {
                    text: String::new(),
                    signature: None,
                },
                Block::ToolCall { id, name } => Part::ToolCall {
                    id: id.clone(),
                    name: name.clone(),
                    arguments: String::new(),
                    signature: None,
                },
                Block::RedactedThinking { data, family } => Part::RedactedThinking {
                    data: data.clone(),
                    family: *family,
                },
            }),
            Event::Delta { delta, .. } => match (content.last_mut(), delta) {
                (Some(Part::Text { text, .. }), Delta::Text(piece))
                | (Some(Part::Thinking { text, .. }), Delta::Thinking(piece))
                | (
                    Some(Part::ToolCall {
                        arguments: text, ..
                    }),
                    Delta::Arguments(piece),
                ) => text.push_str(piece),
                (Some(Part::Thinking { signature, .. }), Delta::Signature(value))
                | (Some(Part::ToolCall { signature, .. }), Delta::Signature(value)) => {
                    *signature = Some(value.clone());
                }
                _ => {}
            },
            Event::BlockStop { .. } => {
                if let Some(Part::ToolCall { arguments, .. }) = content.last_mut()
                    && arguments.trim().is_empty()
                {
                    *arguments = "{}".to_owned();
                }
            }
            Event::Usage(usage) => self.response.usage.merge(usage),
            Event::Finish(finish) => self.response.finish = finish.clone(),
            Event::End => self.ended = true,
        }
    }

    /// Whether [`Event::End`] arrived.
    pub fn ended(&self) -> bool {
        self.ended
    }

    /// The assembled answer.
    pub fn finish(self) -> Response {
        self.response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{Finish, Usage};

    #[test]
    fn blocks_become_parts() {
        let mut aggregator = Aggregator::new();
        for event in [
            Event::Start {
                id: "r1".into(),
                model: "m".into(),
            },
            Event::BlockStart {
                index: 0,
                block: Block::Text,
            },
            Event::Delta {
                index: 0,
                delta: Delta::Text("Hi".into()),
            },
            Event::BlockStop { index: 0 },
            Event::BlockStart {
                index: 1,
                block: Block::ToolCall {
                    id: "c1".into(),
                    name: "get".into(),
                },
            },
            Event::Delta {
                index: 1,
                delta: Delta::Arguments("{\"a\":".into()),
            },
            Event::Delta {
                index: 1,
                delta: Delta::Arguments("1}".into()),
            },
            Event::BlockStop { index: 1 },
            Event::Usage(Usage {
                input: 3,
                output: 2,
                ..Usage::default()
            }),
            Event::Finish(Finish::ToolCalls),
            Event::End,
        ] {
            aggregator.push(&event);
        }
        assert!(aggregator.ended());
        let response = aggregator.finish();
        assert_eq!(response.content.len(), 2);
        assert!(
            matches!(&response.content[1], Part::ToolCall { arguments, .. } if arguments == "{\"a\":1}")
        );
        assert_eq!(response.finish, Finish::ToolCalls);
        assert_eq!(response.usage.output, 2);
    }
}
