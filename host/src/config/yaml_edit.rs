//! Comment-preserving edits of a YAML document: replace the value at a key path, insert a missing
//! key, append to a list, remove an entry. Everything outside the edited value stays byte for byte.
//!
//! serde does not keep comments, so the editor works on the text: the document is parsed with
//! `saphyr-parser`, whose events carry source positions, into a small tree of spans (mappings,
//! sequences, scalars). An edit then splices new text into exactly one range of the original:
//!
//! - a scalar or flow value (`key: value`, `key: [a, b]`) is replaced in place;
//! - a block collection is replaced from its first item to the end of its last value, indented
//!   as it was;
//! - a missing key is inserted after the last entry of its mapping, at that mapping's indent
//!   (missing parent mappings are created on the way);
//! - a list item or a mapping entry is removed with its lines (comments above it stay);
//! - a flow collection (`{…}`, `[…]`) that changes shape is re-emitted whole, in flow style.
//!
//! New values are emitted from JSON: scalars inline (strings plain when unambiguous, otherwise
//! double-quoted with JSON escapes, which YAML reads the same way), non-empty collections in
//! block style below their key (flow style where the surrounding collection is flow).
//!
//! Limits: one document per file; complex keys (collections as keys), tags and anchors on an
//! edited node are not preserved (an anchor's aliases keep their old value); comments *inside* a
//! replaced value are dropped with it; object keys of emitted values come out sorted (serde_json's
//! map order).

use saphyr_parser::{Event, Parser, ScalarStyle};
use serde_json::{Map, Value};

/// One step of a path into a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Seg {
    /// A mapping key.
    Key(String),
    /// A list position.
    Index(usize),
}

impl Seg {
    /// A key step.
    pub(crate) fn key(key: &str) -> Seg {
        Seg::Key(key.to_owned())
    }
}

/// Builds a path of keys, such as `path(&["routing", "strategy"])`.
pub(crate) fn path(keys: &[&str]) -> Vec<Seg> {
    keys.iter().map(|k| Seg::key(k)).collect()
}

/// Why an edit could not be made.
#[derive(Debug, thiserror::Error)]
pub(crate) enum EditError {
    /// The document is not YAML the editor understands.
    #[error("invalid YAML: {0}")]
    Syntax(String),
    /// The path goes through something that is not a mapping or not a list.
    #[error("{0}: not a mapping or list where the path continues")]
    Shape(String),
    /// A list position past the end.
    #[error("{path}: index {index} out of range")]
    OutOfRange {
        /// The list's path.
        path: String,
        /// The position asked for.
        index: usize,
    },
    /// Several documents, complex keys and similar constructs.
    #[error("unsupported YAML: {0}")]
    Unsupported(String),
}

/// The value at `at`, as JSON; `None` when the path does not exist.
pub(crate) fn value_at(text: &str, at: &[Seg]) -> Result<Option<Value>, EditError> {
    let whole = document_json(text)?;
    Ok(json_at(&whole, at).cloned())
}

/// Sets the value at `at` to `value`, creating missing mapping keys on the way.
pub(crate) fn set(text: &str, at: &[Seg], value: &Value) -> Result<String, EditError> {
    let doc = Doc::parse(text)?;
    let edit = doc.set(at, value)?;
    Ok(doc.apply(edit))
}

/// Removes the mapping entry or list item at `at`; a missing path changes nothing.
pub(crate) fn remove(text: &str, at: &[Seg]) -> Result<String, EditError> {
    let doc = Doc::parse(text)?;
    match doc.remove(at)? {
        Some(edit) => Ok(doc.apply(edit)),
        None => Ok(text.to_owned()),
    }
}

/// Appends `value` to the list at `at`, creating the list when the path does not exist.
pub(crate) fn push(text: &str, at: &[Seg], value: &Value) -> Result<String, EditError> {
    let doc = Doc::parse(text)?;
    let edit = doc.push(at, value)?;
    Ok(doc.apply(edit))
}

/// The whole document as JSON (`null` for an empty one).
fn document_json(text: &str) -> Result<Value, EditError> {
    if text.trim().is_empty() {
        return Ok(Value::Null);
    }
    serde_yaml_ng::from_str::<Value>(text).map_err(|e| EditError::Syntax(e.to_string()))
}

fn json_at<'v>(mut value: &'v Value, at: &[Seg]) -> Option<&'v Value> {
    for seg in at {
        value = match (seg, value) {
            (Seg::Key(key), Value::Object(map)) => map.get(key)?,
            (Seg::Index(i), Value::Array(list)) => list.get(*i)?,
            _ => return None,
        };
    }
    Some(value)
}

fn display(at: &[Seg]) -> String {
    let mut out = String::new();
    for seg in at {
        match seg {
            Seg::Key(key) if out.is_empty() => out.push_str(key),
            Seg::Key(key) => {
                out.push('.');
                out.push_str(key);
            }
            Seg::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    if out.is_empty() {
        out.push_str("<root>");
    }
    out
}

/// A node of the span tree. Positions are byte offsets into the text.
#[derive(Debug)]
struct Node {
    /// The first character: a scalar's first character (quote included), a flow collection's
    /// bracket, a block mapping's first key, a block sequence's first dash.
    start: usize,
    /// Just past the last character of the value's content (not its trailing comment).
    end: usize,
    /// A flow collection, or a scalar.
    inline: bool,
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    Scalar { empty: bool },
    Mapping(Vec<Entry>),
    Sequence(Vec<Item>),
}

#[derive(Debug)]
struct Entry {
    key: String,
    key_start: usize,
    key_end: usize,
    value: Node,
}

#[derive(Debug)]
struct Item {
    /// The `-` of a block sequence item.
    dash: Option<usize>,
    value: Node,
}

impl Node {
    fn is_collection(&self) -> bool {
        !matches!(self.kind, Kind::Scalar { .. })
    }

    fn is_empty_collection(&self) -> bool {
        match &self.kind {
            Kind::Mapping(entries) => entries.is_empty(),
            Kind::Sequence(items) => items.is_empty(),
            Kind::Scalar { .. } => false,
        }
    }

    fn is_null(&self) -> bool {
        matches!(self.kind, Kind::Scalar { empty: true })
    }
}

/// Where a node sits in its parent.
#[derive(Debug, Clone, Copy)]
enum Place {
    Root,
    /// The value of a mapping entry; `colon_end` is just past the `:`.
    Entry {
        key_start: usize,
        colon_end: usize,
        parent_inline: bool,
    },
    /// A list item.
    Item {
        dash: Option<usize>,
        parent_inline: bool,
    },
}

impl Place {
    fn parent_inline(self) -> bool {
        match self {
            Place::Root => false,
            Place::Entry { parent_inline, .. } | Place::Item { parent_inline, .. } => parent_inline,
        }
    }
}

/// One splice of the text.
#[derive(Debug)]
struct Splice {
    start: usize,
    end: usize,
    with: String,
}

/// A parsed document.
struct Doc<'t> {
    text: &'t str,
    root: Option<Node>,
    newline: &'static str,
}

enum Frame {
    Map {
        start: usize,
        inline: bool,
        entries: Vec<Entry>,
        key: Option<(String, usize, usize)>,
    },
    Seq {
        start: Option<usize>,
        open: usize,
        inline: bool,
        items: Vec<Item>,
    },
}

impl<'t> Doc<'t> {
    fn parse(text: &'t str) -> Result<Doc<'t>, EditError> {
        // Character index → byte offset.
        let mut offsets: Vec<usize> = text.char_indices().map(|(at, _)| at).collect();
        offsets.push(text.len());
        let byte = |index: usize| offsets.get(index).copied().unwrap_or(text.len());
        let mut stack: Vec<Frame> = Vec::new();
        let mut root: Option<Node> = None;
        let mut documents = 0;
        for next in Parser::new_from_str(text) {
            let (event, span) = next.map_err(|e| EditError::Syntax(e.to_string()))?;
            let start = byte(span.start.index());
            let node = match event {
                Event::DocumentStart(_) => {
                    documents += 1;
                    if documents > 1 {
                        return Err(EditError::Unsupported("more than one document".into()));
                    }
                    continue;
                }
                Event::Scalar(value, style, ..) => {
                    let end = scalar_end(text, style, start, byte(span.end.index()));
                    if let Some(Frame::Map { key, .. }) = stack.last_mut()
                        && key.is_none()
                    {
                        *key = Some((value.into_owned(), start, end));
                        continue;
                    }
                    Node {
                        start,
                        end,
                        // A block scalar (`|`, `>`) spans lines like a block collection.
                        inline: !matches!(style, ScalarStyle::Literal | ScalarStyle::Folded),
                        kind: Kind::Scalar {
                            empty: value.is_empty() && style == ScalarStyle::Plain,
                        },
                    }
                }
                Event::Alias(_) => Node {
                    start,
                    end: byte(span.end.index()),
                    inline: true,
                    kind: Kind::Scalar { empty: false },
                },
                Event::MappingStart(..) | Event::SequenceStart(..) => {
                    if let Some(Frame::Map { key: None, .. }) = stack.last() {
                        return Err(EditError::Unsupported("a collection used as a key".into()));
                    }
                    let mapping = matches!(event, Event::MappingStart(..));
                    let bracket = if mapping { b'{' } else { b'[' };
                    let parent_inline = match stack.last() {
                        Some(Frame::Map { inline, .. } | Frame::Seq { inline, .. }) => *inline,
                        None => false,
                    };
                    let inline = parent_inline || text.as_bytes().get(start) == Some(&bracket);
                    stack.push(if mapping {
                        Frame::Map {
                            start,
                            inline,
                            entries: Vec::new(),
                            key: None,
                        }
                    } else {
                        Frame::Seq {
                            start: None,
                            open: start,
                            inline,
                            items: Vec::new(),
                        }
                    });
                    continue;
                }
                Event::MappingEnd | Event::SequenceEnd => {
                    let frame = stack.pop().expect("balanced events");
                    // The end marker runs over spaces and a comment after `}` / `]`.
                    let close = byte(span.start.index()) + 1;
                    match frame {
                        Frame::Map {
                            start,
                            inline,
                            entries,
                            ..
                        } => Node {
                            start,
                            end: if inline {
                                close
                            } else {
                                entries.last().map_or(start, |e| e.value.end)
                            },
                            inline,
                            kind: Kind::Mapping(entries),
                        },
                        Frame::Seq {
                            start,
                            open,
                            inline,
                            items,
                        } => {
                            let start = if inline { open } else { start.unwrap_or(open) };
                            Node {
                                start,
                                end: if inline {
                                    close
                                } else {
                                    items.last().map_or(start, |i| i.value.end)
                                },
                                inline,
                                kind: Kind::Sequence(items),
                            }
                        }
                    }
                }
                _ => continue,
            };
            attach(text, &mut stack, &mut root, node);
        }
        let root = root.filter(|node| !node.is_null());
        let newline = if text.contains("\r\n") { "\r\n" } else { "\n" };
        Ok(Doc {
            text,
            root,
            newline,
        })
    }

    fn apply(&self, splice: Splice) -> String {
        let mut out = String::with_capacity(self.text.len() + splice.with.len());
        out.push_str(&self.text[..splice.start]);
        out.push_str(&splice.with);
        out.push_str(&self.text[splice.end..]);
        out
    }

    /// Finds `at`: the node and where it sits, or the deepest existing node on the way.
    fn locate<'d>(&'d self, at: &[Seg]) -> Result<Located<'d>, EditError> {
        let Some(mut node) = self.root.as_ref() else {
            return Ok(Located::Missing {
                parent: None,
                depth: 0,
            });
        };
        let mut place = Place::Root;
        for (depth, seg) in at.iter().enumerate() {
            let next = match (seg, &node.kind) {
                (Seg::Key(key), Kind::Mapping(entries)) => {
                    entries.iter().find(|e| &e.key == key).map(|entry| {
                        let colon_end = colon_end(self.text, entry.key_end);
                        (
                            &entry.value,
                            Place::Entry {
                                key_start: entry.key_start,
                                colon_end,
                                parent_inline: node.inline,
                            },
                        )
                    })
                }
                (Seg::Index(i), Kind::Sequence(items)) => match items.get(*i) {
                    Some(item) => Some((
                        &item.value,
                        Place::Item {
                            dash: item.dash,
                            parent_inline: node.inline,
                        },
                    )),
                    None => {
                        return Err(EditError::OutOfRange {
                            path: display(&at[..depth]),
                            index: *i,
                        });
                    }
                },
                (Seg::Key(_), Kind::Scalar { empty: true }) => None,
                _ => return Err(EditError::Shape(display(&at[..depth]))),
            };
            match next {
                Some((child, child_place)) => {
                    node = child;
                    place = child_place;
                }
                None => {
                    return Ok(Located::Missing {
                        parent: Some((node, place)),
                        depth,
                    });
                }
            }
        }
        Ok(Located::Found { node, place })
    }

    fn set(&self, at: &[Seg], value: &Value) -> Result<Splice, EditError> {
        match self.locate(at)? {
            Located::Found { node, place } => Ok(self.replace(node, place, value)),
            Located::Missing { parent, depth } => {
                let Seg::Key(key) = &at[depth] else {
                    unreachable!("a missing index is reported as out of range")
                };
                let nested =
                    nest(&at[depth + 1..], value.clone()).ok_or_else(|| EditError::OutOfRange {
                        path: display(&at[..depth + 1]),
                        index: 0,
                    })?;
                match parent {
                    None => Ok(self.append_root(key, &nested)),
                    Some((node, place)) => {
                        self.insert_entry(node, place, &at[..depth], key, nested)
                    }
                }
            }
        }
    }

    fn push(&self, at: &[Seg], value: &Value) -> Result<Splice, EditError> {
        let (node, place) = match self.locate(at)? {
            Located::Found { node, place } => (node, place),
            Located::Missing { .. } => return self.set(at, &Value::Array(vec![value.clone()])),
        };
        match &node.kind {
            Kind::Scalar { empty: true } => {
                Ok(self.replace(node, place, &Value::Array(vec![value.clone()])))
            }
            Kind::Sequence(items) if !node.inline && !items.is_empty() => {
                let dash = items[0].dash.unwrap_or(node.start);
                let indent = self.col(dash);
                let at_end = self.line_end(node.end);
                let with = format!(
                    "{nl}{pad}- {item}",
                    nl = self.newline,
                    pad = " ".repeat(indent),
                    item = self.item_text(value, indent + 2)
                );
                Ok(Splice {
                    start: at_end,
                    end: at_end,
                    with,
                })
            }
            Kind::Sequence(_) => {
                let mut list = self.json(at)?;
                if let Value::Array(items) = &mut list {
                    items.push(value.clone());
                }
                Ok(self.replace(node, place, &list))
            }
            _ => Err(EditError::Shape(display(at))),
        }
    }

    fn remove(&self, at: &[Seg]) -> Result<Option<Splice>, EditError> {
        let Some((last, parent_path)) = at.split_last() else {
            return Ok(Some(Splice {
                start: 0,
                end: self.text.len(),
                with: String::new(),
            }));
        };
        let (parent, parent_place) = match self.locate(parent_path) {
            Ok(Located::Found { node, place }) => (node, place),
            Ok(Located::Missing { .. }) | Err(EditError::OutOfRange { .. }) => return Ok(None),
            Err(e) => return Err(e),
        };
        match (last, &parent.kind) {
            (Seg::Key(key), Kind::Mapping(entries)) => {
                let Some(at_entry) = entries.iter().position(|e| &e.key == key) else {
                    return Ok(None);
                };
                let entry = &entries[at_entry];
                if parent.inline {
                    let mut map = self.json(parent_path)?;
                    if let Value::Object(map) = &mut map {
                        map.remove(key);
                    }
                    return Ok(Some(self.replace(parent, parent_place, &map)));
                }
                if entries.len() == 1 && !matches!(parent_place, Place::Root) {
                    return Ok(Some(self.replace(
                        parent,
                        parent_place,
                        &Value::Object(Map::new()),
                    )));
                }
                if self.starts_line(entry.key_start) {
                    return Ok(Some(self.delete_lines(entry.key_start, entry.value.end)));
                }
                // The first entry of a mapping that starts after a list dash.
                let next = &entries[at_entry + 1];
                Ok(Some(Splice {
                    start: entry.key_start,
                    end: next.key_start,
                    with: String::new(),
                }))
            }
            (Seg::Index(i), Kind::Sequence(items)) => {
                let Some(item) = items.get(*i) else {
                    return Ok(None);
                };
                if parent.inline || items.len() == 1 {
                    let mut list = self.json(parent_path)?;
                    if let Value::Array(list) = &mut list {
                        list.remove(*i);
                    }
                    return Ok(Some(self.replace(parent, parent_place, &list)));
                }
                match item.dash {
                    Some(dash) if self.starts_line(dash) => {
                        Ok(Some(self.delete_lines(dash, item.value.end)))
                    }
                    _ => {
                        let mut list = self.json(parent_path)?;
                        if let Value::Array(list) = &mut list {
                            list.remove(*i);
                        }
                        Ok(Some(self.replace(parent, parent_place, &list)))
                    }
                }
            }
            (_, Kind::Scalar { empty: true }) => Ok(None),
            _ => Err(EditError::Shape(display(parent_path))),
        }
    }

    /// Replaces `node` (at `place`) with `value`.
    fn replace(&self, node: &Node, place: Place, value: &Value) -> Splice {
        let keep_flow = node.is_collection() && node.inline && !node.is_empty_collection();
        if place.parent_inline() || keep_flow {
            return Splice {
                start: node.start,
                end: node.end,
                with: flow(value),
            };
        }
        if !needs_block(value) {
            if node.inline {
                let mut with = flow(value);
                if node.start > 0
                    && node.start == node.end
                    && matches!(self.text.as_bytes()[node.start - 1], b':' | b'-')
                {
                    with.insert(0, ' ');
                }
                return Splice {
                    start: node.start,
                    end: node.end,
                    with,
                };
            }
            // A block collection becomes an inline value after its key or dash.
            let anchor = match place {
                Place::Entry { colon_end, .. } => colon_end,
                Place::Item {
                    dash: Some(dash), ..
                } => dash + 1,
                Place::Item { dash: None, .. } | Place::Root => {
                    return Splice {
                        start: node.start,
                        end: node.end,
                        with: flow(value),
                    };
                }
            };
            return Splice {
                start: anchor,
                end: node.end,
                with: format!(" {}", flow(value)),
            };
        }
        match place {
            Place::Entry {
                key_start,
                colon_end,
                ..
            } if node.inline || !node.is_collection() => {
                // `key: scalar` becomes `key:` with a block below; a comment after the old
                // value stays on the key's line.
                let line_end = self.line_end(node.end);
                let rest = self.text[node.end..line_end].trim();
                let comment = if rest.starts_with('#') {
                    format!(" {rest}")
                } else {
                    String::new()
                };
                let indent = self.col(key_start) + 2;
                Splice {
                    start: colon_end,
                    end: line_end,
                    with: format!(
                        "{comment}{nl}{pad}{block}",
                        nl = self.newline,
                        pad = " ".repeat(indent),
                        block = self.block(value, indent)
                    ),
                }
            }
            _ => {
                let after_bare_dash = node.start > 0
                    && node.start == node.end
                    && self.text.as_bytes()[node.start - 1] == b'-';
                let indent = self.col(node.start) + usize::from(after_bare_dash);
                let mut with = self.block(value, indent);
                if after_bare_dash {
                    with.insert(0, ' ');
                }
                Splice {
                    start: node.start,
                    end: node.end,
                    with,
                }
            }
        }
    }

    /// Adds `key: value` to the mapping `node` (at `place`, path `node_path`).
    fn insert_entry(
        &self,
        node: &Node,
        place: Place,
        node_path: &[Seg],
        key: &str,
        value: Value,
    ) -> Result<Splice, EditError> {
        match &node.kind {
            Kind::Mapping(entries) if !node.inline && !entries.is_empty() => {
                let indent = self.col(entries[0].key_start);
                let at_end = self.line_end(node.end);
                Ok(Splice {
                    start: at_end,
                    end: at_end,
                    with: format!(
                        "{nl}{pad}{entry}",
                        nl = self.newline,
                        pad = " ".repeat(indent),
                        entry = self.entry_text(key, &value, indent)
                    ),
                })
            }
            Kind::Mapping(_) => {
                let mut map = match self.json(node_path)? {
                    Value::Object(map) => map,
                    _ => Map::new(),
                };
                map.insert(key.to_owned(), value);
                Ok(self.replace(node, place, &Value::Object(map)))
            }
            Kind::Scalar { empty: true } => {
                let mut map = Map::new();
                map.insert(key.to_owned(), value);
                Ok(self.replace(node, place, &Value::Object(map)))
            }
            _ => Err(EditError::Shape(display(node_path))),
        }
    }

    /// Appends a top-level `key: value` to a document without a root mapping.
    fn append_root(&self, key: &str, value: &Value) -> Splice {
        let mut with = String::new();
        if !self.text.is_empty() && !self.text.ends_with('\n') {
            with.push_str(self.newline);
        }
        with.push_str(&self.entry_text(key, value, 0));
        with.push_str(self.newline);
        Splice {
            start: self.text.len(),
            end: self.text.len(),
            with,
        }
    }

    fn json(&self, at: &[Seg]) -> Result<Value, EditError> {
        Ok(json_at(&document_json(self.text)?, at)
            .cloned()
            .unwrap_or(Value::Null))
    }

    /// Deletes the lines from the one holding `from` to the one holding `to`, newline included.
    fn delete_lines(&self, from: usize, to: usize) -> Splice {
        let start = self.line_start(from);
        let mut end = self.line_end(to);
        if self.text[end..].starts_with("\r\n") {
            end += 2;
        } else if self.text[end..].starts_with('\n') {
            end += 1;
        }
        Splice {
            start,
            end,
            with: String::new(),
        }
    }

    fn line_start(&self, at: usize) -> usize {
        self.text[..at].rfind('\n').map_or(0, |nl| nl + 1)
    }

    /// The end of the line holding `at` (before its `\r\n` or `\n`).
    fn line_end(&self, at: usize) -> usize {
        let end = self.text[at..]
            .find('\n')
            .map_or(self.text.len(), |nl| at + nl);
        if end > at && self.text.as_bytes()[end - 1] == b'\r' {
            end - 1
        } else {
            end
        }
    }

    /// The column of `at`, in characters.
    fn col(&self, at: usize) -> usize {
        self.text[self.line_start(at)..at].chars().count()
    }

    /// Whether only spaces precede `at` on its line.
    fn starts_line(&self, at: usize) -> bool {
        self.text[self.line_start(at)..at]
            .bytes()
            .all(|b| b == b' ' || b == b'\t')
    }

    /// `value` in block style at `indent`; the first line is not indented (the caller places it).
    fn block(&self, value: &Value, indent: usize) -> String {
        let separator = format!("{}{}", self.newline, " ".repeat(indent));
        match value {
            Value::Object(map) if !map.is_empty() => map
                .iter()
                .map(|(k, v)| self.entry_text(k, v, indent))
                .collect::<Vec<_>>()
                .join(&separator),
            Value::Array(list) if !list.is_empty() => list
                .iter()
                .map(|item| format!("- {}", self.item_text(item, indent + 2)))
                .collect::<Vec<_>>()
                .join(&separator),
            other => flow(other),
        }
    }

    fn entry_text(&self, key: &str, value: &Value, indent: usize) -> String {
        if needs_block(value) {
            format!(
                "{}:{}{}{}",
                scalar(key),
                self.newline,
                " ".repeat(indent + 2),
                self.block(value, indent + 2)
            )
        } else {
            format!("{}: {}", scalar(key), flow(value))
        }
    }

    fn item_text(&self, value: &Value, indent: usize) -> String {
        match value {
            Value::Object(map) if !map.is_empty() => self.block(value, indent),
            other => flow(other),
        }
    }
}

enum Located<'d> {
    Found {
        node: &'d Node,
        place: Place,
    },
    /// `at[depth]` is missing from `parent` (`None`: the document has no root mapping).
    Missing {
        parent: Option<(&'d Node, Place)>,
        depth: usize,
    },
}

/// Adds a finished node to the collection being built (or makes it the root).
fn attach(text: &str, stack: &mut [Frame], root: &mut Option<Node>, mut node: Node) {
    match stack.last_mut() {
        None => *root = Some(node),
        Some(Frame::Map { entries, key, .. }) => {
            let (key, key_start, key_end) = key.take().expect("a key precedes its value");
            if node.is_null() {
                // `key:` with nothing after it: the empty value sits right after the colon.
                let at = colon_end(text, key_end);
                node.start = at;
                node.end = at;
            } else if !node.inline && !node.is_collection() {
                node.start = skip_spaces(text, colon_end(text, key_end));
            }
            entries.push(Entry {
                key,
                key_start,
                key_end,
                value: node,
            });
        }
        Some(Frame::Seq {
            start,
            inline,
            items,
            ..
        }) => {
            let dash = if *inline {
                None
            } else {
                let before = text[..node.start].trim_end_matches([' ', '\t']);
                before.ends_with('-').then(|| before.len() - 1)
            };
            if start.is_none() {
                *start = dash;
            }
            if let Some(dash) = dash {
                if node.is_null() {
                    node.start = dash + 1;
                    node.end = dash + 1;
                } else if !node.inline && !node.is_collection() {
                    node.start = skip_spaces(text, dash + 1);
                }
            }
            items.push(Item { dash, value: node });
        }
    }
}

/// Just past the `:` that follows a key ending at `key_end`.
fn colon_end(text: &str, key_end: usize) -> usize {
    let rest = &text[key_end..];
    match rest.find(':') {
        Some(at) if rest[..at].trim().is_empty() => key_end + at + 1,
        _ => key_end,
    }
}

fn skip_spaces(text: &str, from: usize) -> usize {
    from + text[from..].len() - text[from..].trim_start_matches([' ', '\t']).len()
}

/// Where a scalar really ends: the parser's end marker runs past the closing quote of quoted
/// scalars (over trailing spaces and comments) and includes the final line break of block
/// scalars.
fn scalar_end(text: &str, style: ScalarStyle, start: usize, parser_end: usize) -> usize {
    let bytes = text.as_bytes();
    match style {
        ScalarStyle::Plain => parser_end,
        ScalarStyle::DoubleQuoted => {
            let mut at = start + 1;
            while at < bytes.len() {
                match bytes[at] {
                    b'\\' => at += 2,
                    b'"' => return at + 1,
                    _ => at += 1,
                }
            }
            parser_end
        }
        ScalarStyle::SingleQuoted => {
            let mut at = start + 1;
            while at < bytes.len() {
                if bytes[at] == b'\'' {
                    if bytes.get(at + 1) == Some(&b'\'') {
                        at += 2;
                        continue;
                    }
                    return at + 1;
                }
                at += 1;
            }
            parser_end
        }
        ScalarStyle::Literal | ScalarStyle::Folded => text[..parser_end.min(text.len())]
            .trim_end()
            .len()
            .max(start),
    }
}

/// `value` wrapped in mappings for the remaining key path; `None` if the path has an index.
fn nest(rest: &[Seg], value: Value) -> Option<Value> {
    let mut value = value;
    for seg in rest.iter().rev() {
        let Seg::Key(key) = seg else { return None };
        let mut map = Map::new();
        map.insert(key.clone(), value);
        value = Value::Object(map);
    }
    Some(value)
}

fn needs_block(value: &Value) -> bool {
    match value {
        Value::Object(map) => !map.is_empty(),
        Value::Array(list) => !list.is_empty(),
        _ => false,
    }
}

/// `value` in flow style.
fn flow(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => scalar(s),
        Value::Array(list) => format!("[{}]", list.iter().map(flow).collect::<Vec<_>>().join(", ")),
        Value::Object(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(k, v)| format!("{}: {}", scalar(k), flow(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// A string as a YAML scalar: plain when that reads back as the same string in any context,
/// otherwise double-quoted (JSON escapes are valid YAML escapes).
fn scalar(text: &str) -> String {
    let first_ok = text
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '/');
    let plain = first_ok
        && !text.ends_with(' ')
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/' | '+' | '@'))
        && !matches!(
            text.to_ascii_lowercase().as_str(),
            "true" | "false" | "yes" | "no" | "on" | "off" | "y" | "n" | "null"
        );
    if plain {
        text.to_owned()
    } else {
        serde_json::to_string(text).expect("strings serialize")
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const SAMPLE: &str = "# switchyard config
host: \"127.0.0.1\"   # where to listen
port: 8317

# client keys
api-keys:
  - \"k1\"   # first
  - k2

routing: {strategy: rr}   # inline
remote-management:
  allow-remote: false
  secret-key: \"\"  # set me

claude-api-key:
- api-key: 'a'
  models:
    - name: x
      alias: y
  # a comment inside the first entry's block
- api-key: b   # second
  priority: 2

auth:
  providers:
    - name: jwt   # keep me
      type: jwt-hs256
# the end
";

    fn json_of(text: &str) -> Value {
        document_json(text).unwrap()
    }

    /// Asserts that `after` equals `before` with `old` replaced by `new` exactly once.
    fn assert_only(before: &str, after: &str, old: &str, new: &str) {
        assert_eq!(before.matches(old).count(), 1, "{old:?} must be unique");
        assert_eq!(
            after,
            before.replacen(old, new, 1),
            "\n--- got ---\n{after}"
        );
    }

    #[test]
    fn replaces_a_scalar_in_place() {
        let out = set(SAMPLE, &path(&["port"]), &json!(9000)).unwrap();
        assert_only(SAMPLE, &out, "port: 8317", "port: 9000");
        let out = set(SAMPLE, &path(&["host"]), &json!("0.0.0.0")).unwrap();
        assert_only(SAMPLE, &out, "\"127.0.0.1\"", "\"0.0.0.0\"");
        let out = set(
            SAMPLE,
            &path(&["remote-management", "secret-key"]),
            &json!("$2b$10$abc"),
        )
        .unwrap();
        assert_only(
            SAMPLE,
            &out,
            "secret-key: \"\"  # set me",
            "secret-key: \"$2b$10$abc\"  # set me",
        );
    }

    #[test]
    fn edits_inside_flow_collections() {
        let out = set(
            SAMPLE,
            &path(&["routing", "strategy"]),
            &json!("fill-first"),
        )
        .unwrap();
        assert_only(SAMPLE, &out, "{strategy: rr}", "{strategy: fill-first}");
        let out = set(
            SAMPLE,
            &path(&["routing", "session-affinity"]),
            &json!(true),
        )
        .unwrap();
        assert_only(
            SAMPLE,
            &out,
            "{strategy: rr}",
            "{session-affinity: true, strategy: rr}",
        );
    }

    #[test]
    fn list_items_are_replaced_appended_and_removed() {
        let out = set(SAMPLE, &[Seg::key("api-keys"), Seg::Index(1)], &json!("k3")).unwrap();
        assert_only(SAMPLE, &out, "  - k2\n", "  - k3\n");
        let out = push(SAMPLE, &path(&["api-keys"]), &json!("k 3")).unwrap();
        assert_only(SAMPLE, &out, "  - k2\n", "  - k2\n  - \"k 3\"\n");
        let out = remove(SAMPLE, &[Seg::key("api-keys"), Seg::Index(0)]).unwrap();
        assert_only(SAMPLE, &out, "  - \"k1\"   # first\n", "");
        let out = remove(SAMPLE, &[Seg::key("claude-api-key"), Seg::Index(1)]).unwrap();
        assert_only(SAMPLE, &out, "- api-key: b   # second\n  priority: 2\n", "");
        assert_eq!(json_of(&out)["claude-api-key"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn fields_of_a_list_entry_are_set_and_removed() {
        let at = |key: &str| vec![Seg::key("claude-api-key"), Seg::Index(0), Seg::key(key)];
        let out = set(SAMPLE, &at("prefix"), &json!("team")).unwrap();
        assert_only(
            SAMPLE,
            &out,
            "  # a comment inside the first entry's block\n",
            "  prefix: team\n  # a comment inside the first entry's block\n",
        );
        // Removing the entry's first key keeps the dash on the next key.
        let out = remove(SAMPLE, &at("api-key")).unwrap();
        assert_only(SAMPLE, &out, "- api-key: 'a'\n  models:", "- models:");
        let out = set(SAMPLE, &at("models"), &json!([{"name": "z"}])).unwrap();
        assert_only(
            SAMPLE,
            &out,
            "    - name: x\n      alias: y\n",
            "    - name: z\n",
        );
        assert_eq!(json_of(&out)["claude-api-key"][0]["models"][0]["name"], "z");
    }

    #[test]
    fn missing_keys_and_parents_are_inserted() {
        let out = set(SAMPLE, &path(&["request-retry"]), &json!(3)).unwrap();
        assert_only(
            SAMPLE,
            &out,
            "      type: jwt-hs256\n",
            "      type: jwt-hs256\nrequest-retry: 3\n",
        );
        let out = set(
            SAMPLE,
            &path(&["streaming", "keepalive-seconds"]),
            &json!(15),
        )
        .unwrap();
        assert_only(
            SAMPLE,
            &out,
            "      type: jwt-hs256\n",
            "      type: jwt-hs256\nstreaming:\n  keepalive-seconds: 15\n",
        );
        let out = set(
            SAMPLE,
            &path(&["remote-management", "allow-remote"]),
            &json!(true),
        )
        .unwrap();
        assert_only(SAMPLE, &out, "allow-remote: false", "allow-remote: true");
        let out = set("", &path(&["a", "b"]), &json!("c")).unwrap();
        assert_eq!(out, "a:\n  b: c\n");
        let out = set("# only a comment", &path(&["a"]), &json!([1])).unwrap();
        assert_eq!(out, "# only a comment\na:\n  - 1\n");
    }

    #[test]
    fn whole_lists_switch_between_block_and_flow() {
        let list = json!([{"api-key": "nk", "base-url": "http://127.0.0.1:1/v1"}]);
        let out = set(SAMPLE, &path(&["claude-api-key"]), &list).unwrap();
        assert_eq!(json_of(&out)["claude-api-key"], list);
        assert!(
            out.contains(
                "claude-api-key:\n- api-key: nk\n  base-url: \"http://127.0.0.1:1/v1\"\n\nauth:"
            ),
            "{out}"
        );
        let out = set(SAMPLE, &path(&["claude-api-key"]), &json!([])).unwrap();
        assert!(out.contains("claude-api-key: []\n\nauth:"), "{out}");
        let grown = set(&out, &path(&["claude-api-key"]), &list).unwrap();
        assert!(
            grown.contains("claude-api-key:\n  - api-key: nk\n"),
            "{grown}"
        );
        let out = set("keys: [a, b] # c\n", &path(&["keys"]), &json!(["x"])).unwrap();
        assert_eq!(out, "keys: [x] # c\n");
        let out = set("keys: x # c\nz: 1\n", &path(&["keys"]), &json!(["x", "w"])).unwrap();
        assert_eq!(out, "keys: # c\n  - x\n  - w\nz: 1\n");
    }

    #[test]
    fn empty_values_are_filled() {
        let out = set("a:\nb: 1\n", &path(&["a"]), &json!("x")).unwrap();
        assert_eq!(out, "a: x\nb: 1\n");
        let out = set("a:\nb: 1\n", &path(&["a", "c"]), &json!(true)).unwrap();
        assert_eq!(out, "a:\n  c: true\nb: 1\n");
        let out = push("a:\n", &path(&["a"]), &json!("k")).unwrap();
        assert_eq!(out, "a:\n  - k\n");
    }

    #[test]
    fn block_scalars_are_replaced_with_their_indicator() {
        let text = "t: |\n  a\n  b\nz: 1\n";
        assert_eq!(
            set(text, &path(&["t"]), &json!("x")).unwrap(),
            "t: x\nz: 1\n"
        );
        assert_eq!(
            set(text, &path(&["t"]), &json!(["a"])).unwrap(),
            "t:\n  - a\nz: 1\n"
        );
    }

    #[test]
    fn removing_the_last_entry_leaves_an_empty_collection() {
        let out = remove("a:\n  - x\nb: 1\n", &[Seg::key("a"), Seg::Index(0)]).unwrap();
        assert_eq!(out, "a: []\nb: 1\n");
        let out = remove("a:\n  b: 1\nc: 2\n", &path(&["a", "b"])).unwrap();
        assert_eq!(out, "a: {}\nc: 2\n");
        let out = remove("a: 1\nc: 2\n", &path(&["c"])).unwrap();
        assert_eq!(out, "a: 1\n");
        assert_eq!(remove("a: 1\n", &path(&["zz", "y"])).unwrap(), "a: 1\n");
    }

    #[test]
    fn strings_are_quoted_only_when_needed() {
        for (text, expected) in [
            ("round-robin", "round-robin"),
            ("sk-abc_1.2", "sk-abc_1.2"),
            ("true", "\"true\""),
            ("123", "\"123\""),
            ("", "\"\""),
            ("a: b", "\"a: b\""),
            ("x #y", "\"x #y\""),
            ("line\nbreak", "\"line\\nbreak\""),
            ("-dash", "\"-dash\""),
            ("$2b$10$x", "\"$2b$10$x\""),
        ] {
            assert_eq!(scalar(text), expected);
            let doc = format!("k: {}\n", scalar(text));
            assert_eq!(json_of(&doc)["k"], json!(text), "{doc}");
        }
    }

    #[test]
    fn every_edit_reads_back_as_intended() {
        let edits: Vec<(Vec<Seg>, Value)> = vec![
            (path(&["api-keys"]), json!(["a", "b c", "#d"])),
            (
                path(&["routing"]),
                json!({"strategy": "ff", "session-affinity": true}),
            ),
            (path(&["auth", "providers"]), json!([])),
            (
                path(&["new", "deep", "key"]),
                json!({"x": [1, {"y": null}]}),
            ),
            (
                vec![
                    Seg::key("claude-api-key"),
                    Seg::Index(0),
                    Seg::key("models"),
                ],
                json!([]),
            ),
        ];
        for (at, value) in edits {
            let out = set(SAMPLE, &at, &value).unwrap();
            assert_eq!(value_at(&out, &at).unwrap(), Some(value.clone()), "{out}");
            // Everything else is unchanged.
            let mut expected = json_of(SAMPLE);
            let mut cursor = &mut expected;
            for seg in &at[..at.len() - 1] {
                cursor = match seg {
                    Seg::Key(k) => cursor
                        .as_object_mut()
                        .unwrap()
                        .entry(k.clone())
                        .or_insert(json!({})),
                    Seg::Index(i) => &mut cursor[*i],
                };
            }
            match at.last().unwrap() {
                Seg::Key(k) => {
                    cursor.as_object_mut().unwrap().insert(k.clone(), value);
                }
                Seg::Index(i) => cursor[*i] = value,
            }
            assert_eq!(json_of(&out), expected, "{out}");
        }
    }

    #[test]
    fn a_real_cliproxyapi_config_is_edited_in_place() {
        let text = include_str!("../../../examples/cliproxyapi-config.yaml");
        let out = set(text, &path(&["routing", "strategy"]), &json!("fill-first")).unwrap();
        assert_only(
            text,
            &out,
            "strategy: \"weighted-round-robin\"",
            "strategy: fill-first",
        );
        let out = set(
            text,
            &path(&["remote-management", "secret-key"]),
            &json!("$2b$10$h"),
        )
        .unwrap();
        assert_only(text, &out, "secret-key: \"\"", "secret-key: \"$2b$10$h\"");
        let out = push(text, &path(&["api-keys"]), &json!("k3")).unwrap();
        assert_only(
            text,
            &out,
            "\n  - \"your-api-key-2\"\n",
            "\n  - \"your-api-key-2\"\n  - k3\n",
        );
        let entry = json!({ "api-key": "new", "priority": 2 });
        let out = push(text, &path(&["gemini-api-key"]), &entry).unwrap();
        let list = value_at(&out, &path(&["gemini-api-key"])).unwrap().unwrap();
        assert_eq!(list.as_array().unwrap().last(), Some(&entry));
        let mut expected = json_of(text);
        expected["gemini-api-key"]
            .as_array_mut()
            .unwrap()
            .push(entry);
        assert_eq!(json_of(&out), expected);
    }

    #[test]
    fn crlf_documents_keep_their_line_endings() {
        let text = "a: 1\r\nb:\r\n  - x\r\n";
        let out = push(text, &path(&["b"]), &json!("z")).unwrap();
        assert_eq!(out, "a: 1\r\nb:\r\n  - x\r\n  - z\r\n");
        let out = set(text, &path(&["c"]), &json!(2)).unwrap();
        assert_eq!(out, "a: 1\r\nb:\r\n  - x\r\nc: 2\r\n");
    }

    #[test]
    fn errors_name_the_path() {
        assert!(matches!(
            set(SAMPLE, &path(&["port", "x"]), &json!(1)),
            Err(EditError::Shape(p)) if p == "port"
        ));
        assert!(matches!(
            set(SAMPLE, &[Seg::key("api-keys"), Seg::Index(5)], &json!(1)),
            Err(EditError::OutOfRange { index: 5, .. })
        ));
        assert!(matches!(
            set("a: [", &path(&["a"]), &json!(1)),
            Err(EditError::Syntax(_))
        ));
    }
}
