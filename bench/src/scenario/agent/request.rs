//! The coding agent's request: a Messages request of about 100 KB as a coding agent sends it
//! late in a session — a long system prompt, then alternating user and assistant turns (the
//! user's carry file contents, the assistant's its explanations), the session named in
//! `metadata.user_id` in Claude Code's JSON form, which the standard extractor reads (so
//! affinity applies).

use bytes::Bytes;
use serde_json::{Value, json};

use crate::load::Spec;

/// The smallest body built: 100 KiB.
pub(crate) const TARGET_BYTES: usize = 100 * 1024;
/// The session the request names.
pub(crate) const SESSION_ID: &str = "7d1f0c52-4be8-4a31-9b55-0d4cfa6e12a9";
/// The system prompt's size.
const SYSTEM_BYTES: usize = 16 * 1024;
/// A user turn's file excerpt.
const FILE_BYTES: usize = 3 * 1024;
/// An assistant turn's text.
const ANSWER_BYTES: usize = 700;

/// The request, built once: the body is one shared buffer every request sends.
pub(crate) fn agent_request() -> Spec {
    let system = filler(
        "You are a coding agent working in the user's repository. Read files before editing \
         them, keep changes small, run the tests after each change and report what you did. ",
        SYSTEM_BYTES,
    );
    let user_id = json!({
        "device_id": "bench-device-0001",
        "account_uuid": "",
        "session_id": SESSION_ID,
    })
    .to_string();
    let mut messages: Vec<Value> = Vec::new();
    let body = |messages: &[Value], question: &Value| {
        let mut all = messages.to_vec();
        all.push(question.clone());
        json!({
            "model": "claude-sonnet-4",
            "max_tokens": 16,
            "system": [{ "type": "text", "text": system, "cache_control": { "type": "ephemeral" } }],
            "messages": all,
            "metadata": { "user_id": user_id },
        })
    };
    let question = json!({
        "role": "user",
        "content": [{ "type": "text", "text": "Now run the tests again and fix what fails." }],
    });
    let mut turn = 0;
    loop {
        let bytes = serde_json::to_vec(&body(&messages, &question)).expect("JSON");
        if bytes.len() >= TARGET_BYTES {
            return Spec {
                path: "/v1/messages",
                body: Bytes::from(bytes),
            };
        }
        messages.push(json!({
            "role": "user",
            "content": [{
                "type": "text",
                "text": filler(&format!("Here is src/module_{turn}.rs:\nfn step_{turn}(input: &[u8]) -> usize {{ input.len() }}\n"), FILE_BYTES),
            }],
        }));
        messages.push(json!({
            "role": "assistant",
            "content": [{
                "type": "text",
                "text": filler(&format!("I read module {turn}; the function counts bytes and needs a test. "), ANSWER_BYTES),
            }],
        }));
        turn += 1;
    }
}

/// `seed` repeated up to `bytes` bytes (cut at a character boundary).
fn filler(seed: &str, bytes: usize) -> String {
    let mut text = seed.repeat(bytes / seed.len() + 1);
    let mut end = bytes.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    text
}

#[cfg(test)]
mod tests {
    use session_standard::extract::{Kind, extract};

    use super::*;

    fn parsed() -> Value {
        serde_json::from_slice(&agent_request().body).unwrap()
    }

    #[test]
    fn the_body_is_about_100_kb_of_valid_json() {
        let spec = agent_request();
        assert_eq!(spec.path, "/v1/messages");
        assert!(
            (TARGET_BYTES..TARGET_BYTES + 8 * 1024).contains(&spec.body.len()),
            "{} bytes",
            spec.body.len()
        );
        let body = parsed();
        assert_eq!(body["model"], "claude-sonnet-4");
        let system = body["system"][0]["text"].as_str().unwrap();
        assert_eq!(system.len(), SYSTEM_BYTES);
    }

    #[test]
    fn turns_alternate_from_user_to_a_last_user_question() {
        let body = parsed();
        let messages = body["messages"].as_array().unwrap();
        assert!(messages.len() >= 21, "{} turns", messages.len());
        for (i, message) in messages.iter().enumerate() {
            let expected = if i % 2 == 0 { "user" } else { "assistant" };
            assert_eq!(message["role"], expected, "turn {i}");
            assert!(!message["content"][0]["text"].as_str().unwrap().is_empty());
        }
        assert_eq!(messages.last().unwrap()["role"], "user");
    }

    #[test]
    fn the_standard_extractor_recognises_the_session() {
        let spec = agent_request();
        let session = extract(&[], Some(&spec.body)).expect("a session");
        assert_eq!(session.primary, format!("claude:{SESSION_ID}"));
        assert!(matches!(session.kind, Kind::Explicit), "{:?}", session.kind);
    }

    #[test]
    fn filler_is_exactly_the_size_asked() {
        assert_eq!(filler("abc", 7), "abcabca");
        assert_eq!(filler("é", 3), "é", "cut at a character boundary");
    }
}
