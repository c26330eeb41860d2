//! The message-hash fallback: a stable id for clients that name no session,
//! from the first system, user and assistant texts of the conversation.

use std::borrow::Cow;

use crate::json_scan::{self, array_items, array_objects, object_members};

/// Each collected text is cut to this many bytes (a byte cut: hash the raw bytes).
const TEXT_LIMIT: usize = 100;

/// The first system, user and assistant texts.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Texts {
    /// First system text.
    pub sys: Vec<u8>,
    /// First user text.
    pub usr: Vec<u8>,
    /// First assistant text.
    pub ast: Vec<u8>,
}

/// The body members the hash reads, as raw JSON text.
#[derive(Default)]
pub struct HashFields<'a> {
    /// OpenAI / Claude `messages`.
    pub messages: Option<&'a [u8]>,
    /// Claude `system`.
    pub system: Option<&'a [u8]>,
    /// Gemini `systemInstruction`.
    pub system_instruction: Option<&'a [u8]>,
    /// Gemini `contents`.
    pub contents: Option<&'a [u8]>,
    /// Responses `instructions`.
    pub instructions: Option<&'a [u8]>,
    /// Responses `input`.
    pub input: Option<&'a [u8]>,
}

/// A message-like item: a role, a content, and (Responses) a type.
struct Item<'a> {
    role: Option<Cow<'a, str>>,
    kind: Option<Cow<'a, str>>,
    content: Option<&'a [u8]>,
    parts: Option<&'a [u8]>,
}

/// The members an item is read from.
const ITEM_MEMBERS: [&str; 4] = ["role", "type", "content", "parts"];

impl<'a> Item<'a> {
    /// An object with the item members; `None` for anything else, or when `role` or `type`
    /// is present but not a string (`null` counts as absent).
    fn parse(raw: &'a [u8]) -> Option<Item<'a>> {
        if raw.first() != Some(&b'{') {
            return None;
        }
        Item::from_members(object_members(raw, ITEM_MEMBERS))
    }

    /// The item of an object's [`ITEM_MEMBERS`].
    fn from_members([role, kind, content, parts]: [Option<&'a [u8]>; 4]) -> Option<Item<'a>> {
        Some(Item {
            role: optional_string(role)?,
            kind: optional_string(kind)?,
            content: content.filter(|c| *c != b"null"),
            parts: parts.filter(|p| *p != b"null"),
        })
    }
}

/// A content part: a type and a text.
struct Part<'a> {
    kind: Option<Cow<'a, str>>,
    text: Option<Cow<'a, str>>,
}

impl<'a> Part<'a> {
    /// An object with the part members; `None` for anything else, or when `type` or `text` is
    /// present but not a string.
    fn parse(raw: &'a [u8]) -> Option<Part<'a>> {
        if raw.first() != Some(&b'{') {
            return None;
        }
        let [kind, text] = object_members(raw, ["type", "text"]);
        Some(Part {
            kind: optional_string(kind)?,
            text: optional_string(text)?,
        })
    }
}

/// `Some(None)` for an absent or `null` member, `Some(Some(text))` for a string, `None` for
/// any other value.
fn optional_string(raw: Option<&[u8]>) -> Option<Option<Cow<'_, str>>> {
    match raw {
        None | Some(b"null") => Some(None),
        Some(raw) => json_scan::string(raw).map(Some),
    }
}

/// `msg:<16 hex>` ids: `(primary, fallback)`. `None` when neither a system nor a user text exists.
pub fn ids(fields: &HashFields<'_>) -> Option<(String, Option<String>)> {
    let texts = collect(fields);
    if texts.sys.is_empty() && texts.usr.is_empty() {
        return None;
    }
    let short = key(&texts.sys, &texts.usr, &[]);
    if texts.ast.is_empty() {
        Some((short, None))
    } else {
        Some((key(&texts.sys, &texts.usr, &texts.ast), Some(short)))
    }
}

/// The texts the hash is made of, by the reference's passes.
pub fn collect(fields: &HashFields<'_>) -> Texts {
    let mut texts = Texts::default();
    // 1. OpenAI / Claude `messages`.
    if let Some(messages) = fields.messages {
        for_each_item(messages, |item| {
            let Some(role) = item.role.as_deref() else {
                return false;
            };
            let slot = match role {
                "system" => &mut texts.sys,
                "user" => &mut texts.usr,
                "assistant" => &mut texts.ast,
                _ => return false,
            };
            if slot.is_empty()
                && let Some(text) = item.content.and_then(|c| content_text(c, &["text"]))
            {
                *slot = truncate(text);
            }
            !texts.sys.is_empty() && !texts.usr.is_empty() && !texts.ast.is_empty()
        });
    }
    // 2. Claude top-level `system`.
    if texts.sys.is_empty()
        && let Some(system) = fields.system
        && let Some(text) = system_text(system)
    {
        texts.sys = truncate(text);
    }
    // 3. Gemini.
    if texts.sys.is_empty() && texts.usr.is_empty() {
        if let Some(instruction) = fields.system_instruction
            && let Some(item) = Item::parse(instruction)
            && let Some(text) = item.parts.and_then(first_part_text)
        {
            texts.sys = truncate(text);
        }
        if let Some(contents) = fields.contents {
            for_each_item(contents, |item| {
                let slot = match item.role.as_deref() {
                    Some("user") => &mut texts.usr,
                    Some("model") => &mut texts.ast,
                    _ => return false,
                };
                if slot.is_empty()
                    && let Some(text) = item.parts.and_then(first_part_text)
                {
                    *slot = truncate(text);
                }
                !texts.usr.is_empty() && !texts.ast.is_empty()
            });
        }
    }
    // 4. OpenAI Responses.
    if texts.sys.is_empty() && texts.usr.is_empty() {
        if let Some(instructions) = fields.instructions
            && let Some(text) = json_scan::string(instructions)
            && !text.is_empty()
        {
            texts.sys = truncate(text);
        }
        if let Some(input) = fields.input
            && input.first() == Some(&b'[')
        {
            for_each_item(input, |item| {
                match item.kind.as_deref() {
                    Some("reasoning") => return false,
                    Some(kind) if !kind.is_empty() && kind != "message" => return false,
                    _ => {}
                }
                let slot = match item.role.as_deref() {
                    Some("developer" | "system") => &mut texts.sys,
                    Some("user") => &mut texts.usr,
                    Some("assistant") => &mut texts.ast,
                    _ => return false,
                };
                if slot.is_empty()
                    && let Some(text) = item
                        .content
                        .and_then(|c| content_text(c, &["input_text", "output_text", "text"]))
                {
                    *slot = truncate(text);
                }
                !texts.usr.is_empty() && !texts.ast.is_empty()
            });
        }
    }
    texts
}

/// Visits the items of a JSON array in order until `visit` returns true; the rest is not
/// looked at. Items that are not item objects are skipped.
fn for_each_item<'a>(array: &'a [u8], mut visit: impl FnMut(Item<'a>) -> bool) {
    let items = array_objects(array, ITEM_MEMBERS).flatten();
    for item in items.filter_map(Item::from_members) {
        if visit(item) {
            return;
        }
    }
}

/// A string content as is; an array content's texts of the accepted part types, joined by one
/// space. `None` when empty.
fn content_text<'a>(content: &'a [u8], types: &[&str]) -> Option<Cow<'a, str>> {
    match content.first() {
        Some(b'"') => json_scan::string(content).filter(|t| !t.is_empty()),
        Some(b'[') => {
            let mut joined = String::new();
            for part in array_items(content).filter_map(Part::parse) {
                if part.kind.as_deref().is_some_and(|k| types.contains(&k))
                    && let Some(text) = part.text
                {
                    if !joined.is_empty() {
                        joined.push(' ');
                    }
                    joined.push_str(&text);
                }
            }
            (!joined.is_empty()).then_some(Cow::Owned(joined))
        }
        _ => None,
    }
}

/// Claude's `system`: a string, or the first element of an array with a non-empty `text`.
fn system_text(system: &[u8]) -> Option<Cow<'_, str>> {
    if system.first() == Some(&b'"') {
        return json_scan::string(system).filter(|t| !t.is_empty());
    }
    first_part_text(system)
}

/// The first element of an array with a non-empty `text`.
fn first_part_text(parts: &[u8]) -> Option<Cow<'_, str>> {
    array_items(parts)
        .filter_map(Part::parse)
        .filter_map(|p| p.text)
        .find(|t| !t.is_empty())
}

fn truncate(text: Cow<'_, str>) -> Vec<u8> {
    let bytes = text.as_bytes();
    bytes[..bytes.len().min(TEXT_LIMIT)].to_vec()
}

/// `msg:` + FNV-1a 64 of `sys:…\nusr:…\nast:…\n` (empty parts left out), as 16 hex digits.
fn key(sys: &[u8], usr: &[u8], ast: &[u8]) -> String {
    let mut hash = Fnv1a::default();
    for (label, text) in [(&b"sys:"[..], sys), (b"usr:", usr), (b"ast:", ast)] {
        if !text.is_empty() {
            hash.write(label);
            hash.write(text);
            hash.write(b"\n");
        }
    }
    format!("msg:{:016x}", hash.0)
}

/// FNV-1a, 64 bits.
struct Fnv1a(u64);

impl Default for Fnv1a {
    fn default() -> Self {
        Fnv1a(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv1a {
    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 ^= u64::from(*byte);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(sys: &str, usr: &str, ast: &str) -> String {
        key(sys.as_bytes(), usr.as_bytes(), ast.as_bytes())
    }

    #[test]
    fn golden_vectors() {
        for (sys, usr, ast, expected) in [
            ("", "Hello world", "", "msg:6f3af82650710693"),
            (
                "",
                "Hello world",
                "Hi! How can I help?",
                "msg:0964de51a03c0514",
            ),
            ("", "Hello world", "I see an image!", "msg:d4429f8f5ed22254"),
            ("You are helpful", "Hello", "", "msg:db09d768eef0153d"),
            (
                "You are helpful",
                "Hello",
                "Hi there!",
                "msg:46d2b383fc6205a1",
            ),
            ("You are Claude Code", "Hello", "", "msg:88162f2c043d7252"),
            (
                "You are Claude Code",
                "Hello",
                "Hi!",
                "msg:ea42b59ec89595e0",
            ),
            (
                "You are a helpful assistant.",
                "Hello Gemini",
                "",
                "msg:4e1e37270d99f20b",
            ),
            (
                "You are a helpful assistant.",
                "Hello Gemini",
                "Hi there!",
                "msg:03517aa800cda8f7",
            ),
            (
                "You are Codex, based on GPT-5.",
                "hi",
                "",
                "msg:049d86cbff4d8a84",
            ),
            (
                "You are Codex, based on GPT-5.",
                "hi",
                "Hello!",
                "msg:bae4ad1b6626e0e5",
            ),
            ("Inherit test", "Initial", "", "msg:f9397a9f7613bd0f"),
            ("Inherit test", "Initial", "Reply", "msg:48b16c19ad0c1437"),
        ] {
            assert_eq!(hash(sys, usr, ast), expected, "{sys:?} {usr:?} {ast:?}");
        }
    }
}
