//! A request's conversation, normalized across the four protocols, and the keys and token
//! estimates the prompt-cache model derives from it.
//!
//! Each protocol maps its body onto the same list of [`Turn`]s: system text (OpenAI `system` /
//! `developer` messages, Anthropic `system`, Gemini `systemInstruction`, Responses
//! `instructions`) becomes [`Role::System`] turns, Gemini's `model` and Responses' tool-call items
//! become [`Role::Assistant`], and so on. Consecutive assistant turns collapse into one, so an
//! answer the client resends as several items (reasoning + message, say) is still one turn.

use serde_json::Value;

/// Who spoke a turn, after normalizing the protocols' role names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    /// System text, wherever the protocol puts it.
    System,
    /// The end user.
    User,
    /// The model (OpenAI/Anthropic `assistant`, Gemini `model`, tool calls).
    Assistant,
    /// A tool result the client sends back (OpenAI `tool`, Responses `function_call_output`).
    Tool,
}

impl Role {
    fn tag(self) -> u8 {
        match self {
            Role::System => b's',
            Role::User => b'u',
            Role::Assistant => b'a',
            Role::Tool => b't',
        }
    }
}

/// One normalized message: its role and its text (text parts joined; any non-text part is
/// represented by its JSON, so two different images or tool results do not look alike).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Turn {
    pub(crate) role: Role,
    pub(crate) text: String,
}

/// The normalized conversation of one request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Conversation {
    turns: Vec<Turn>,
}

/// A rough token count: one token per four bytes of text, plus four per turn.
fn estimate_tokens(text: &str) -> u64 {
    (text.len() as u64).div_ceil(4) + 4
}

impl Conversation {
    /// Appends a turn; an assistant turn right after another assistant turn merges into it.
    pub(crate) fn push(&mut self, role: Role, text: String) {
        if role == Role::Assistant
            && let Some(last) = self.turns.last_mut()
            && last.role == Role::Assistant
        {
            if !text.is_empty() {
                if !last.text.is_empty() {
                    last.text.push('\n');
                }
                last.text.push_str(&text);
            }
            return;
        }
        self.turns.push(Turn { role, text });
    }

    /// Appends a turn whose content is a JSON value (a string, an array of parts, anything).
    pub(crate) fn push_content(&mut self, role: Role, content: &Value) {
        self.push(role, content_text(content));
    }

    /// The turns, in order.
    #[cfg(test)]
    pub(crate) fn turns(&self) -> &[Turn] {
        &self.turns
    }

    /// The text of the last user turn (or, failing that, of the last turn of any role).
    pub(crate) fn last_user_text(&self) -> &str {
        self.turns
            .iter()
            .rev()
            .find(|turn| turn.role == Role::User)
            .or(self.turns.last())
            .map_or("", |turn| turn.text.as_str())
    }

    /// The cache key of everything before the last turn, or `None` when that prefix holds no
    /// turn other than system text (a first turn has nothing to look up).
    pub(crate) fn prefix_key(&self, model: &str) -> Option<u64> {
        let (_, prefix) = self.turns.split_last()?;
        if prefix.iter().all(|turn| turn.role == Role::System) {
            return None;
        }
        Some(key_of(model, prefix))
    }

    /// The cache key the next turn's prefix will have: this whole conversation followed by the
    /// assistant's reply. Assistant text never enters a key (see [`key_of`]), so the reply's
    /// wording, and whatever the client does to it, cannot matter.
    pub(crate) fn continuation_key(&self, model: &str) -> u64 {
        let mut hasher = Fnv1a::new(model);
        for turn in &self.turns {
            hasher.turn(turn);
        }
        if self.turns.last().map(|turn| turn.role) != Some(Role::Assistant) {
            hasher.assistant();
        }
        hasher.finish()
    }

    /// Estimated input tokens of the whole conversation.
    pub(crate) fn input_tokens(&self) -> u64 {
        self.turns
            .iter()
            .map(|turn| estimate_tokens(&turn.text))
            .sum()
    }

    /// Estimated input tokens of everything before the last turn (what a cache hit covers).
    pub(crate) fn prefix_tokens(&self) -> u64 {
        self.turns.split_last().map_or(0, |(_, prefix)| {
            prefix.iter().map(|turn| estimate_tokens(&turn.text)).sum()
        })
    }
}

/// Estimated tokens of a reply text.
pub(crate) fn output_tokens(text: &str) -> u64 {
    (text.len() as u64).div_ceil(4).max(1)
}

/// The cache key of a run of turns: FNV-1a 64 over the model and, per turn, its role and (except
/// for assistant turns) its text.
fn key_of(model: &str, turns: &[Turn]) -> u64 {
    let mut hasher = Fnv1a::new(model);
    for turn in turns {
        hasher.turn(turn);
    }
    hasher.finish()
}

/// FNV-1a 64-bit, fed with length-delimited fields so that no two turn lists collide by
/// concatenation.
struct Fnv1a(u64);

impl Fnv1a {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;

    fn new(model: &str) -> Self {
        let mut hasher = Fnv1a(Self::OFFSET);
        hasher.field(model.as_bytes());
        hasher
    }

    fn bytes(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 ^= u64::from(byte);
            self.0 = self.0.wrapping_mul(Self::PRIME);
        }
    }

    fn field(&mut self, bytes: &[u8]) {
        self.bytes(&(bytes.len() as u64).to_le_bytes());
        self.bytes(bytes);
    }

    fn turn(&mut self, turn: &Turn) {
        if turn.role == Role::Assistant {
            self.assistant();
        } else {
            self.bytes(&[turn.role.tag()]);
            self.field(turn.text.as_bytes());
        }
    }

    fn assistant(&mut self) {
        self.bytes(&[Role::Assistant.tag()]);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// The text of a message content: a string as is; an array of parts with each part's `text`
/// (or, for a part without text, its JSON) joined by newlines; `null` as empty; anything else as
/// its JSON.
pub(crate) fn content_text(content: &Value) -> String {
    match content {
        Value::Null => String::new(),
        Value::String(text) => text.clone(),
        Value::Array(parts) => {
            let mut text = String::new();
            for part in parts {
                if !text.is_empty() {
                    text.push('\n');
                }
                match part {
                    Value::String(piece) => text.push_str(piece),
                    _ => match part.get("text").and_then(Value::as_str) {
                        Some(piece) => text.push_str(piece),
                        None => text.push_str(&part.to_string()),
                    },
                }
            }
            text
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn conversation(turns: &[(Role, &str)]) -> Conversation {
        let mut conversation = Conversation::default();
        for (role, text) in turns {
            conversation.push(*role, (*text).to_owned());
        }
        conversation
    }

    #[test]
    fn next_turn_prefix_matches_continuation_whatever_the_assistant_said() {
        let first = conversation(&[(Role::System, "be brief"), (Role::User, "hello")]);
        let second = conversation(&[
            (Role::System, "be brief"),
            (Role::User, "hello"),
            (Role::Assistant, "any reply at all"),
            (Role::User, "and then?"),
        ]);
        assert_eq!(first.prefix_key("m"), None);
        assert_eq!(
            second.prefix_key("m"),
            Some(first.continuation_key("m")),
            "the second turn's prefix is the first turn plus its reply"
        );
        assert_ne!(
            second.prefix_key("other-model"),
            Some(first.continuation_key("m"))
        );
    }

    #[test]
    fn different_user_text_gives_a_different_key() {
        let a = conversation(&[(Role::User, "a"), (Role::Assistant, "x"), (Role::User, "q")]);
        let b = conversation(&[(Role::User, "b"), (Role::Assistant, "x"), (Role::User, "q")]);
        assert_ne!(a.prefix_key("m"), b.prefix_key("m"));
    }

    #[test]
    fn consecutive_assistant_turns_collapse() {
        let split = conversation(&[
            (Role::User, "u"),
            (Role::Assistant, "thinking"),
            (Role::Assistant, "answer"),
            (Role::User, "next"),
        ]);
        assert_eq!(split.turns().len(), 3);
        assert_eq!(split.turns()[1].text, "thinking\nanswer");
    }

    #[test]
    fn content_text_joins_text_parts_and_keeps_other_parts_as_json() {
        assert_eq!(content_text(&json!("plain")), "plain");
        assert_eq!(
            content_text(
                &json!([{"type": "text", "text": "a"}, {"type": "input_text", "text": "b"}])
            ),
            "a\nb"
        );
        assert_eq!(
            content_text(&json!([{"type": "image", "source": 1}])),
            r#"{"source":1,"type":"image"}"#
        );
        assert_eq!(content_text(&Value::Null), "");
    }
}
