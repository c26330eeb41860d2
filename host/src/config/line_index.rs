//! Where each key of a YAML document sits, so messages can name a line.
//!
//! serde reports the line of a type error itself; this index serves the checks that run after
//! deserialization (values, cross-field rules) and the unknown-key warnings.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser};

/// Maps a key path such as `claude-api-key[0].base-url` to its 1-based line and column (where
/// the key, or the list item, starts).
#[derive(Debug, Default)]
pub(crate) struct LineIndex {
    lines: HashMap<String, (usize, usize)>,
}

/// One open collection while walking the events.
enum Frame {
    /// A mapping; `key` is set between a key scalar and its value.
    Mapping { path: String, key: Option<String> },
    /// A sequence and the index of its next item.
    Sequence { path: String, next: usize },
}

impl LineIndex {
    /// Indexes `source`. A document that does not parse yields an empty index (serde reports
    /// the syntax error with its own position).
    pub(crate) fn build(source: &str) -> Self {
        let mut index = LineIndex::default();
        let mut stack: Vec<Frame> = Vec::new();
        for next in Parser::new_from_str(source) {
            let Ok((event, span)) = next else { break };
            // saphyr counts lines from 1 and columns from 0.
            let position = (span.start.line(), span.start.col() + 1);
            match event {
                Event::Scalar(value, ..) => {
                    if let Some(Frame::Mapping { path, key }) = stack.last_mut()
                        && key.is_none()
                    {
                        let child = join_key(path, &value);
                        index.lines.entry(child.clone()).or_insert(position);
                        *key = Some(child);
                        continue;
                    }
                    index.value_at(&mut stack, position);
                }
                Event::Alias(_) => {
                    index.value_at(&mut stack, position);
                }
                Event::MappingStart(..) => {
                    let path = index.value_at(&mut stack, position);
                    stack.push(Frame::Mapping { path, key: None });
                }
                Event::SequenceStart(..) => {
                    let path = index.value_at(&mut stack, position);
                    stack.push(Frame::Sequence { path, next: 0 });
                }
                Event::MappingEnd | Event::SequenceEnd => {
                    stack.pop();
                }
                _ => {}
            }
        }
        index
    }

    /// The line of `path`, or of its nearest indexed ancestor.
    pub(crate) fn line_of(&self, path: &str) -> Option<usize> {
        self.position_of(path).map(|(line, _)| line)
    }

    /// The line and column of `path`, or of its nearest indexed ancestor.
    pub(crate) fn position_of(&self, path: &str) -> Option<(usize, usize)> {
        let mut path = path;
        loop {
            if let Some(position) = self.lines.get(path) {
                return Some(*position);
            }
            let cut = path.rfind(['.', '['])?;
            path = &path[..cut];
        }
    }

    /// Records a value that starts at `position` in the current collection and returns its
    /// path.
    fn value_at(&mut self, stack: &mut [Frame], position: (usize, usize)) -> String {
        match stack.last_mut() {
            None => String::new(),
            Some(Frame::Mapping { key, path }) => key.take().unwrap_or_else(|| path.clone()),
            Some(Frame::Sequence { path, next }) => {
                let child = format!("{path}[{next}]");
                *next += 1;
                self.lines.entry(child.clone()).or_insert(position);
                child
            }
        }
    }
}

/// `parent.key`, or `key` at the root.
pub(crate) fn join_key(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_owned()
    } else {
        format!("{parent}.{key}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_nested_keys_and_sequence_items() {
        let src = "host: ''\nport: 8317\nclaude-api-key:\n  - api-key: a\n    base-url: x\n  - api-key: b\nrouting:\n  strategy: ff\n";
        let index = LineIndex::build(src);
        assert_eq!(index.line_of("port"), Some(2));
        assert_eq!(index.line_of("claude-api-key[0].base-url"), Some(5));
        assert_eq!(index.line_of("claude-api-key[1]"), Some(6));
        assert_eq!(index.line_of("claude-api-key[1].api-key"), Some(6));
        assert_eq!(index.line_of("routing.strategy"), Some(8));
        assert_eq!(index.position_of("routing.strategy"), Some((8, 3)));
        assert_eq!(index.position_of("claude-api-key[1]"), Some((6, 5)));
        // An unknown child falls back to its parent.
        assert_eq!(index.line_of("routing.nope"), Some(7));
        assert_eq!(index.line_of("nowhere"), None);
    }

    #[test]
    fn flow_collections_are_indexed() {
        let index = LineIndex::build("api-keys: [a, b]\nmodels:\n  - {name: x, alias: y}\n");
        assert_eq!(index.line_of("api-keys[1]"), Some(1));
        assert_eq!(index.line_of("models[0].alias"), Some(3));
    }
}
