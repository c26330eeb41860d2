//! The standard extraction rules, in priority order: explicit signals from headers and body first, the message hash last.

use crate::json_scan;
use crate::message_hash::{self, HashFields};

/// How an id was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The client named its session.
    Explicit,
    /// Computed (the message hash).
    Derived,
}

/// The session of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The id.
    pub primary: String,
    /// The id an earlier turn had.
    pub fallback: Option<String>,
    /// Explicit or derived.
    pub kind: Kind,
}

/// The largest explicit id, in bytes.
const MAX_EXPLICIT_BYTES: usize = 256;

/// Header signals in priority order, each with its key prefix. (The Claude Code `user_id` from
/// the body sits between the first and the second.)
const CLAUDE_HEADER: (&str, &str) = ("x-claude-code-session-id", "claude:");
const HEADERS_AFTER_USER_ID: &[(&str, &str)] = &[
    ("session-id", "codex:"),
    ("session_id", "codex:"),
    ("x-session-id", "header:"),
    ("x-session-affinity", "affinity:"),
    ("x-client-request-id", "clientreq:"),
];

/// Every header field the rules read: the extractor's `header-names`, so the host passes it
/// only these.
pub const HEADER_NAMES: &[&str] = &[
    CLAUDE_HEADER.0,
    HEADERS_AFTER_USER_ID[0].0,
    HEADERS_AFTER_USER_ID[1].0,
    HEADERS_AFTER_USER_ID[2].0,
    HEADERS_AFTER_USER_ID[3].0,
    HEADERS_AFTER_USER_ID[4].0,
];

/// The top-level body members the rules read, in the order of [`Fields`].
const FIELD_NAMES: [&str; 12] = [
    "metadata",
    "session_id",
    "sessionId",
    "prompt_cache_key",
    "conversation",
    "conversation_id",
    "messages",
    "system",
    "systemInstruction",
    "contents",
    "instructions",
    "input",
];

/// The body members the rules read, as raw JSON text (the first occurrence of each).
#[derive(Default)]
struct Fields<'a> {
    metadata: Option<&'a [u8]>,
    session_id: Option<&'a [u8]>,
    session_id_camel: Option<&'a [u8]>,
    prompt_cache_key: Option<&'a [u8]>,
    conversation: Option<&'a [u8]>,
    conversation_id: Option<&'a [u8]>,
    hash: HashFields<'a>,
}

impl<'a> Fields<'a> {
    /// Finds the members in one lenient pass over `body` (anything but an object has none).
    fn scan(body: &'a [u8]) -> Fields<'a> {
        let [
            metadata,
            session_id,
            session_id_camel,
            prompt_cache_key,
            conversation,
            conversation_id,
            messages,
            system,
            system_instruction,
            contents,
            instructions,
            input,
        ] = json_scan::object_members(body, FIELD_NAMES);
        Fields {
            metadata,
            session_id,
            session_id_camel,
            prompt_cache_key,
            conversation,
            conversation_id,
            hash: HashFields {
                messages,
                system,
                system_instruction,
                contents,
                instructions,
                input,
            },
        }
    }
}

/// Recognises the session of a request from its headers (lower-case names) and body.
pub fn extract(headers: &[(String, String)], body: Option<&[u8]>) -> Option<Session> {
    let explicit = |primary: String, fallback: Option<String>| Session {
        primary,
        fallback,
        kind: Kind::Explicit,
    };
    if let Some(id) = header_signal(headers, CLAUDE_HEADER) {
        return Some(explicit(id, None));
    }
    let fields = body.map(Fields::scan).unwrap_or_default();
    let user_id = fields
        .metadata
        .and_then(|m| json_scan::object_members(m, ["user_id"])[0])
        .map(text_of)
        .unwrap_or_default();
    if let Some(id) = claude_code_session(&user_id) {
        return Some(explicit(format!("claude:{id}"), None));
    }
    for signal in HEADERS_AFTER_USER_ID {
        if let Some(id) = header_signal(headers, *signal) {
            return Some(explicit(id, None));
        }
    }
    for field in [fields.session_id, fields.session_id_camel]
        .into_iter()
        .flatten()
    {
        if let Some(id) = valid(&text_of(field)) {
            return Some(explicit(format!("session:{id}"), None));
        }
    }
    let conversation = fields
        .conversation
        .and_then(|c| match c.first() {
            Some(b'{') => json_scan::object_members(c, ["id"])[0].map(text_of),
            Some(b'"') => Some(text_of(c)),
            _ => None,
        })
        .and_then(|id| valid(&id).map(|id| format!("conv:{id}")));
    if let Some(key) = fields.prompt_cache_key.map(text_of)
        && let Some(key) = valid(&key)
    {
        return Some(explicit(format!("pck:{key}"), conversation));
    }
    if let Some(conversation) = conversation {
        return Some(explicit(conversation, None));
    }
    if let Some(id) = valid(&user_id) {
        return Some(explicit(format!("user:{id}"), None));
    }
    if let Some(id) = fields.conversation_id.map(text_of)
        && let Some(id) = valid(&id)
    {
        return Some(explicit(format!("conv:{id}"), None));
    }
    let (primary, fallback) = message_hash::ids(&fields.hash)?;
    Some(Session {
        primary,
        fallback,
        kind: Kind::Derived,
    })
}

/// The first valid value of `name` (every value of a repeated header is tried), prefixed.
fn header_signal(headers: &[(String, String)], (name, prefix): (&str, &str)) -> Option<String> {
    headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .find_map(|(_, value)| valid(value))
        .map(|id| format!("{prefix}{id}"))
}

/// The session in a Claude Code `user_id`: the JSON form `{"session_id": …}` first, then the
/// legacy `…_session_<uuid>` suffix.
fn claude_code_session(user_id: &str) -> Option<String> {
    let user_id = user_id.trim();
    if user_id.starts_with('{') {
        let session_id = json_scan::object_members(user_id.as_bytes(), ["session_id"])[0]?;
        return json_scan::string(session_id).and_then(|id| valid(&id).map(str::to_owned));
    }
    let at = user_id.rfind("_session_")?;
    let tail = &user_id[at + "_session_".len()..];
    let is_uuid_like = !tail.is_empty()
        && tail
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b) || b == b'-');
    is_uuid_like.then(|| tail.to_owned())
}

/// An explicit id after validation: no control characters, trimmed, 1..=256 bytes.
fn valid(value: &str) -> Option<&str> {
    if value.chars().any(char::is_control) {
        return None;
    }
    let value = value.trim();
    (!value.is_empty() && value.len() <= MAX_EXPLICIT_BYTES).then_some(value)
}

/// A JSON value as text, the way gjson's `String()` reads it: strings unquoted, other scalars
/// and composites as their JSON text, `null` as empty.
fn text_of(raw: &[u8]) -> String {
    if raw.first() == Some(&b'"') {
        json_scan::string(raw).map(String::from).unwrap_or_default()
    } else if raw == b"null" {
        String::new()
    } else {
        String::from_utf8_lossy(raw).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn run(headers: &[(&str, &str)], body: serde_json::Value) -> Option<Session> {
        let headers: Vec<(String, String)> = headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        extract(&headers, Some(body.to_string().as_bytes()))
    }

    fn primary(headers: &[(&str, &str)], body: serde_json::Value) -> String {
        run(headers, body).expect("a session").primary
    }

    #[test]
    fn header_names_cover_every_header_rule() {
        assert_eq!(HEADER_NAMES.len(), 1 + HEADERS_AFTER_USER_ID.len());
        for (name, _) in std::iter::once(&CLAUDE_HEADER).chain(HEADERS_AFTER_USER_ID) {
            assert!(HEADER_NAMES.contains(name), "{name}");
        }
    }

    #[test]
    fn claude_code_user_ids() {
        let old = "user_abc123_account__session_ac980658-63bd-4fb3-97ba-8da64cb1e344";
        assert_eq!(
            primary(&[], json!({ "metadata": { "user_id": old } })),
            "claude:ac980658-63bd-4fb3-97ba-8da64cb1e344"
        );
        let new = r#"{"device_id":"d","session_id":"s-1"}"#;
        assert_eq!(
            primary(&[], json!({ "metadata": { "user_id": new } })),
            "claude:s-1"
        );
        let not_hex = "user_xxx_account__session_failover-test-uuid";
        assert_eq!(
            primary(&[], json!({ "metadata": { "user_id": not_hex } })),
            format!("user:{not_hex}")
        );
        let no_session = r#"{"device_id":"abc123"}"#;
        assert_eq!(
            primary(&[], json!({ "metadata": { "user_id": no_session } })),
            format!("user:{no_session}")
        );
    }

    #[test]
    fn precedence() {
        let body = json!({
            "metadata": { "user_id": r#"{"session_id":"cc"}"# },
            "session_id": "body",
            "messages": [{ "role": "user", "content": "Hello world" }],
        });
        assert_eq!(
            primary(&[("x-claude-code-session-id", "hdr")], body.clone()),
            "claude:hdr"
        );
        assert_eq!(primary(&[("x-session-id", "x")], body.clone()), "claude:cc");
        let no_user =
            json!({ "session_id": "body", "messages": [{ "role": "user", "content": "Hi" }] });
        for (header, expected) in [
            ("session-id", "codex:v"),
            ("session_id", "codex:v"),
            ("x-session-id", "header:v"),
            ("x-session-affinity", "affinity:v"),
            ("x-client-request-id", "clientreq:v"),
        ] {
            assert_eq!(primary(&[(header, "v")], no_user.clone()), expected);
        }
        assert_eq!(
            primary(
                &[("Session-Id", "a"), ("X-Session-ID", "b")],
                no_user.clone()
            ),
            "codex:a"
        );
        assert_eq!(primary(&[], no_user), "session:body");
        assert_eq!(primary(&[], json!({ "sessionId": 42 })), "session:42");
    }

    #[test]
    fn prompt_cache_key_and_conversations() {
        let s = run(
            &[],
            json!({ "prompt_cache_key": "p", "conversation": { "id": "c" } }),
        )
        .unwrap();
        assert_eq!(
            (s.primary.as_str(), s.fallback.as_deref()),
            ("pck:p", Some("conv:c"))
        );
        assert_eq!(primary(&[], json!({ "conversation": "c2" })), "conv:c2");
        assert_eq!(primary(&[], json!({ "conversation_id": 123 })), "conv:123");
        assert_eq!(
            primary(&[], json!({ "metadata": { "user_id": 7 } })),
            "user:7"
        );
    }

    #[test]
    fn invalid_explicit_ids_fall_through() {
        let body = json!({ "messages": [{ "role": "user", "content": "Hello world" }] });
        let long = "x".repeat(257);
        assert_eq!(
            primary(&[("x-session-id", "bad\u{1}id")], body.clone()),
            "msg:6f3af82650710693"
        );
        assert_eq!(
            primary(
                &[("x-session-id", &long), ("x-session-affinity", " ok ")],
                body.clone()
            ),
            "affinity:ok"
        );
        assert_eq!(
            primary(&[("x-session-id", "   ")], body),
            "msg:6f3af82650710693"
        );
    }

    #[test]
    fn message_hash_ids_are_derived() {
        let turn1 = run(
            &[],
            json!({ "messages": [{ "role": "user", "content": "Hello world" }] }),
        )
        .unwrap();
        assert_eq!(
            turn1,
            Session {
                primary: "msg:6f3af82650710693".into(),
                fallback: None,
                kind: Kind::Derived
            }
        );
        let turn2 = run(
            &[],
            json!({ "messages": [
                { "role": "user", "content": "Hello world" },
                { "role": "assistant", "content": "Hi! How can I help?" },
                { "role": "user", "content": "More" },
            ] }),
        )
        .unwrap();
        assert_eq!(turn2.primary, "msg:0964de51a03c0514");
        assert_eq!(turn2.fallback.as_deref(), Some("msg:6f3af82650710693"));
        let claude = run(
            &[],
            json!({ "system": "You are helpful", "messages": [
                { "role": "user", "content": [{ "type": "text", "text": "Hello" }, { "type": "image", "source": {} }] },
                { "role": "assistant", "content": "Hi there!" },
            ] }),
        )
        .unwrap();
        assert_eq!(claude.primary, "msg:46d2b383fc6205a1");
        assert!(extract(&[], Some(b"{}")).is_none());
        assert!(extract(&[], None).is_none());
    }

    #[test]
    fn gemini_and_responses_bodies() {
        let gemini = json!({
            "systemInstruction": { "parts": [{ "text": "You are a helpful assistant." }] },
            "contents": [
                { "role": "user", "parts": [{ "text": "Hello Gemini" }] },
                { "role": "model", "parts": [{ "text": "Hi there!" }] },
            ],
        });
        assert_eq!(primary(&[], gemini), "msg:03517aa800cda8f7");
        let responses = json!({
            "instructions": "You are Codex, based on GPT-5.",
            "input": [
                { "type": "reasoning", "summary": [] },
                { "role": "developer", "content": "ignored: instructions win" },
                { "type": "message", "role": "user", "content": [{ "type": "input_text", "text": "hi" }] },
                { "role": "assistant", "content": [{ "type": "output_text", "text": "Hello!" }] },
                { "type": "function_call", "name": "x" },
            ],
        });
        assert_eq!(primary(&[], responses), "msg:bae4ad1b6626e0e5");
    }

    #[test]
    fn members_are_found_past_large_and_escaped_content() {
        let file = "fn main() {\n    println!(\"hi \\\"there\\\"\");\n}\n".repeat(500);
        let body = json!({
            "tools": [{ "name": "Read", "input_schema": { "type": "object", "required": ["a"] } }],
            "messages": [
                { "role": "user", "content": [{ "type": "text", "text": "Read it" }] },
                { "role": "assistant", "content": [
                    { "type": "text", "text": "Reading." },
                    { "type": "tool_use", "id": "t1", "name": "Read", "input": { "path": "/a\"b" } },
                ] },
                { "role": "user", "content": [{ "type": "tool_result", "tool_use_id": "t1", "content": file }] },
            ],
            "metadata": { "user_id": r#"{"device_id":"d","session_id":"s-9"}"# },
        });
        assert_eq!(primary(&[], body.clone()), "claude:s-9");
        let mut anonymous = body;
        anonymous.as_object_mut().unwrap().remove("metadata");
        let session = run(&[], anonymous).unwrap();
        assert_eq!(session.kind, Kind::Derived);
        assert_eq!(
            session.primary,
            message_hash::ids(&HashFields {
                messages: Some(
                    br#"[{"role":"user","content":"Read it"},{"role":"assistant","content":"Reading."}]"#
                ),
                ..HashFields::default()
            })
            .unwrap()
            .0
        );
    }

    #[test]
    fn the_first_of_repeated_members_counts() {
        let body = br#"{"session_id":"first","session_id":"second"}"#;
        assert_eq!(extract(&[], Some(body)).unwrap().primary, "session:first");
        // What is not a JSON object has no members.
        assert_eq!(extract(&[], Some(b"[1,2]")), None);
        assert_eq!(extract(&[], Some(b"not json")), None);
    }

    #[test]
    fn texts_are_cut_at_100_bytes() {
        let long = "€".repeat(40);
        let a = run(
            &[],
            json!({ "messages": [{ "role": "user", "content": long }] }),
        )
        .unwrap();
        let cut = String::from_utf8_lossy(&long.as_bytes()[..100]).into_owned();
        let b = run(
            &[],
            json!({ "messages": [{ "role": "user", "content": format!("{long}tail") }] }),
        )
        .unwrap();
        assert_eq!(a.primary, b.primary);
        assert_ne!(
            a.primary,
            run(
                &[],
                json!({ "messages": [{ "role": "user", "content": cut }] })
            )
            .unwrap()
            .primary
        );
    }
}
