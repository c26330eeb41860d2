//! The message-hash fallback (reference §1.4): a stable id for clients that name no session,
//! from the first system, user and assistant texts of the conversation.

use std::borrow::Cow;

use serde::Deserialize;
use serde::de::{IgnoredAny, SeqAccess, Visitor};
use serde_json::value::RawValue;

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

/// The parts of a body the hash reads, still unparsed.
#[derive(Default)]
pub struct HashFields<'a> {
    /// OpenAI / Claude `messages`.
    pub messages: Option<&'a RawValue>,
    /// Claude `system`.
    pub system: Option<&'a RawValue>,
    /// Gemini `systemInstruction`.
    pub system_instruction: Option<&'a RawValue>,
    /// Gemini `contents`.
    pub contents: Option<&'a RawValue>,
    /// Responses `instructions`.
    pub instructions: Option<&'a RawValue>,
    /// Responses `input`.
    pub input: Option<&'a RawValue>,
}

/// A message-like item: a role, a content, and (Responses) a type.
#[derive(Deserialize)]
struct Item<'a> {
    #[serde(borrow, default)]
    role: Option<Cow<'a, str>>,
    #[serde(borrow, default, rename = "type")]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    content: Option<&'a RawValue>,
    #[serde(borrow, default)]
    parts: Option<&'a RawValue>,
}

/// A content part: a type and a text.
#[derive(Deserialize)]
struct Part<'a> {
    #[serde(borrow, default, rename = "type")]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    text: Option<Cow<'a, str>>,
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
            && let Ok(item) = serde_json::from_str::<Item<'_>>(instruction.get())
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
            && let Ok(text) = serde_json::from_str::<Cow<'_, str>>(instructions.get())
            && !text.is_empty()
        {
            texts.sys = truncate(text);
        }
        if let Some(input) = fields.input
            && input.get().starts_with('[')
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

/// Visits the items of a JSON array in order until `visit` returns true; the rest is skipped
/// without being parsed into values.
fn for_each_item<'a>(array: &'a RawValue, visit: impl FnMut(Item<'a>) -> bool) {
    struct Walk<F>(F);
    impl<'de, F: FnMut(Item<'de>) -> bool> Visitor<'de> for Walk<F> {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an array")
        }
        fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
            let mut done = false;
            while !done {
                match seq.next_element::<MaybeItem<'de>>()? {
                    None => return Ok(()),
                    Some(MaybeItem(Some(item))) => done = (self.0)(item),
                    Some(MaybeItem(None)) => {}
                }
            }
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(())
        }
    }
    let mut de = serde_json::Deserializer::from_str(array.get());
    let _ = serde::Deserializer::deserialize_seq(&mut de, Walk(visit));
}

/// An array element that is an object with the item fields, or anything else (skipped).
struct MaybeItem<'a>(Option<Item<'a>>);

impl<'de> Deserialize<'de> for MaybeItem<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = <&'de RawValue>::deserialize(deserializer)?;
        Ok(MaybeItem(serde_json::from_str(raw.get()).ok()))
    }
}

/// A string content as is; an array content's texts of the accepted part types, joined by one
/// space. `None` when empty.
fn content_text<'a>(content: &'a RawValue, types: &[&str]) -> Option<Cow<'a, str>> {
    let raw = content.get();
    if raw.starts_with('"') {
        let text: Cow<'a, str> = serde_json::from_str(raw).ok()?;
        return (!text.is_empty()).then_some(text);
    }
    if !raw.starts_with('[') {
        return None;
    }
    let parts: Vec<MaybePart<'a>> = serde_json::from_str(raw).ok()?;
    let mut joined = String::new();
    for part in parts.into_iter().filter_map(|p| p.0) {
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

/// A content part, or anything else (skipped).
struct MaybePart<'a>(Option<Part<'a>>);

impl<'de> Deserialize<'de> for MaybePart<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = <&'de RawValue>::deserialize(deserializer)?;
        Ok(MaybePart(serde_json::from_str(raw.get()).ok()))
    }
}

/// Claude's `system`: a string, or the first element of an array with a non-empty `text`.
fn system_text(system: &RawValue) -> Option<Cow<'_, str>> {
    let raw = system.get();
    if raw.starts_with('"') {
        let text: Cow<'_, str> = serde_json::from_str(raw).ok()?;
        return (!text.is_empty()).then_some(text);
    }
    first_part_text(system)
}

/// The first element of an array with a non-empty `text`.
fn first_part_text(parts: &RawValue) -> Option<Cow<'_, str>> {
    let parts: Vec<MaybePart<'_>> = serde_json::from_str(parts.get()).ok()?;
    parts
        .into_iter()
        .filter_map(|p| p.0)
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
