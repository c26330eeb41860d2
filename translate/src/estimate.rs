//! Token estimates for protocols without a counting endpoint.
//!
//! The estimate is the UTF-8 length of every text the model reads (system, messages, tool
//! calls and results, tool names, descriptions and schemas) divided by 4, rounded up — the
//! usual rule of thumb for English text and code under OpenAI's and Anthropic's tokenizers.
//! Images and documents count a flat 1,000 tokens each (they are not inspected).

use crate::ir::{Part, Request};

/// Tokens counted for an image or a document.
const PER_MEDIA: u64 = 1000;

/// The estimated input tokens of `request`.
pub fn input_tokens(request: &Request) -> u64 {
    let mut bytes = 0u64;
    let mut media = 0u64;
    let add = |part: &Part, bytes: &mut u64, media: &mut u64| match part {
        Part::Text { text, .. } | Part::Thinking { text, .. } => *bytes += text.len() as u64,
        Part::Image(_) | Part::Document { .. } => *media += 1,
        Part::ToolCall {
            name, arguments, ..
        } => *bytes += (name.len() + arguments.len()) as u64,
        Part::ToolResult { .. } | Part::RedactedThinking { .. } => {}
    };
    for part in &request.system {
        add(part, &mut bytes, &mut media);
    }
    for message in &request.messages {
        for part in &message.parts {
            if let Part::ToolResult { content, .. } = part {
                for inner in content {
                    add(inner, &mut bytes, &mut media);
                }
            } else {
                add(part, &mut bytes, &mut media);
            }
        }
    }
    for tool in &request.tools {
        bytes += tool.name.len() as u64;
        bytes += tool.description.as_ref().map_or(0, String::len) as u64;
        bytes += json_len(&tool.parameters);
    }
    bytes.div_ceil(4) + media * PER_MEDIA
}

/// The length of `value`'s compact JSON text, without building the text.
fn json_len(value: &serde_json::Value) -> u64 {
    struct Count(u64);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len() as u64;
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    // Writing to a counter cannot fail.
    let _ = serde_json::to_writer(&mut count, value);
    count.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{Message, Role};

    #[test]
    fn four_bytes_a_token_rounded_up() {
        let request = Request {
            system: vec![Part::text("abcd")],
            messages: vec![Message {
                role: Role::User,
                parts: vec![Part::text("efghi")],
            }],
            ..Request::default()
        };
        assert_eq!(input_tokens(&request), 3);
    }
}
