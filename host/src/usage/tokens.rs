//! Reading token counts out of upstream responses, for all four protocols, without slowing the
//! relay down: a whole body is parsed once when it ends; a stream is only searched (one SIMD
//! scan per chunk) for the events that carry a usage block, and only those are parsed.
//!
//! Where the counts are:
//!
//! | protocol | non-streaming | streaming |
//! |---|---|---|
//! | OpenAI chat | `usage` | the last chunk's `usage` (with `stream_options.include_usage`) |
//! | OpenAI Responses | `usage` | `response.completed` → `response.usage` |
//! | Anthropic | `usage` | `message_start` → `message.usage` (input, cache), `message_delta` → `usage` (output) |
//! | Gemini | `usageMetadata` | each chunk's `usageMetadata` (cumulative; the last one wins) |

use std::collections::VecDeque;
use std::sync::LazyLock;

use bytes::Bytes;
use memchr::memmem;
use serde::Deserialize;
use serde_json::Value;

use super::record::Tokens;

/// How much of a raw (non-SSE) stream's tail is kept to find its usage block.
const RAW_TAIL: usize = 64 << 10;

/// `"usage` — also the start of `"usageMetadata`.
static USAGE_KEY: LazyLock<memmem::Finder<'static>> =
    LazyLock::new(|| memmem::Finder::new(b"\"usage"));

/// The parts of a response (or of one stream event) that can hold a usage block.
#[derive(Deserialize)]
struct Envelope {
    usage: Option<Value>,
    #[serde(rename = "usageMetadata")]
    usage_metadata: Option<Value>,
    message: Option<Inner>,
    response: Option<Inner>,
}

#[derive(Deserialize)]
struct Inner {
    usage: Option<Value>,
}

impl Envelope {
    fn tokens(self) -> Option<Tokens> {
        [
            self.usage,
            self.usage_metadata,
            self.message.and_then(|m| m.usage),
            self.response.and_then(|r| r.usage),
        ]
        .into_iter()
        .flatten()
        .find_map(|usage| from_usage(&usage))
    }
}

/// The token counts of a whole JSON response body.
pub fn from_body(body: &[u8]) -> Option<Tokens> {
    USAGE_KEY.find(body)?;
    serde_json::from_slice::<Envelope>(body).ok()?.tokens()
}

/// The counts in one usage object, whichever protocol's names it uses.
fn from_usage(usage: &Value) -> Option<Tokens> {
    let usage = usage.as_object()?;
    let int = |path: &[&str]| -> u64 {
        let mut value = usage.get(path[0]);
        for key in &path[1..] {
            value = value.and_then(|v| v.get(key));
        }
        value.and_then(Value::as_u64).unwrap_or(0)
    };
    let first = |paths: &[&[&str]]| paths.iter().map(|p| int(p)).find(|n| *n != 0).unwrap_or(0);
    Some(Tokens {
        input_tokens: first(&[&["prompt_tokens"], &["input_tokens"], &["promptTokenCount"]]),
        output_tokens: first(&[
            &["completion_tokens"],
            &["output_tokens"],
            &["candidatesTokenCount"],
        ]),
        reasoning_tokens: first(&[
            &["completion_tokens_details", "reasoning_tokens"],
            &["output_tokens_details", "reasoning_tokens"],
            &["thoughtsTokenCount"],
        ]),
        cached_tokens: first(&[
            &["prompt_tokens_details", "cached_tokens"],
            &["input_tokens_details", "cached_tokens"],
            &["cache_read_input_tokens"],
            &["cachedContentTokenCount"],
        ]),
        total_tokens: first(&[&["total_tokens"], &["totalTokenCount"]]),
    })
}

/// Watches a relayed stream for usage blocks.
#[derive(Debug)]
pub enum StreamScanner {
    /// Server-sent events: every chunk the relay forwards is made of whole events.
    Sse {
        /// The counts seen so far.
        seen: Option<Tokens>,
    },
    /// A raw stream (Gemini without `alt=sse`: one JSON array): the tail is kept and searched
    /// at the end.
    Raw {
        /// The last chunks, at most about [`RAW_TAIL`] bytes.
        tail: VecDeque<Bytes>,
        /// Their length.
        len: usize,
    },
}

impl StreamScanner {
    /// A scanner for an SSE stream (`sse`) or a raw one.
    pub fn new(sse: bool) -> Self {
        if sse {
            StreamScanner::Sse { seen: None }
        } else {
            StreamScanner::Raw {
                tail: VecDeque::new(),
                len: 0,
            }
        }
    }

    /// Looks at one forwarded chunk.
    pub fn chunk(&mut self, chunk: &Bytes) {
        match self {
            StreamScanner::Sse { seen } => {
                if USAGE_KEY.find(chunk).is_none() {
                    return;
                }
                for event in chunk.split(|b| *b == b'\n').fold(Vec::new(), events) {
                    if let Some(tokens) = event_tokens(&event) {
                        seen.get_or_insert_with(Tokens::default).merge(tokens);
                    }
                }
            }
            StreamScanner::Raw { tail, len } => {
                tail.push_back(chunk.clone());
                *len += chunk.len();
                while *len > RAW_TAIL && tail.len() > 1 {
                    let dropped = tail.pop_front().expect("not empty");
                    *len -= dropped.len();
                }
            }
        }
    }

    /// The counts, once the stream has ended.
    pub fn finish(self) -> Option<Tokens> {
        match self {
            StreamScanner::Sse { seen } => seen,
            StreamScanner::Raw { tail, .. } => {
                let bytes: Vec<u8> = tail.iter().flat_map(|c| c.iter().copied()).collect();
                last_usage_metadata(&bytes)
            }
        }
    }
}

/// Folds lines into SSE events' `data` payloads (one entry per event that has data).
fn events(mut out: Vec<Vec<u8>>, line: &[u8]) -> Vec<Vec<u8>> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.is_empty() {
        out.push(Vec::new());
        return out;
    }
    if let Some(data) = line.strip_prefix(b"data:") {
        let data = data.strip_prefix(b" ").unwrap_or(data);
        match out.last_mut() {
            Some(last) => last.extend_from_slice(data),
            None => out.push(data.to_vec()),
        }
    }
    out
}

fn event_tokens(data: &[u8]) -> Option<Tokens> {
    USAGE_KEY.find(data)?;
    serde_json::from_slice::<Envelope>(data).ok()?.tokens()
}

/// The last `"usageMetadata": {…}` object in `bytes`.
fn last_usage_metadata(bytes: &[u8]) -> Option<Tokens> {
    let key = b"\"usageMetadata\"";
    let at = memmem::rfind(bytes, key)? + key.len();
    let rest = &bytes[at..];
    let colon = rest.iter().position(|b| *b == b':')?;
    let mut values = serde_json::Deserializer::from_slice(&rest[colon + 1..]).into_iter::<Value>();
    let usage = values.next()?.ok()?;
    from_usage(&usage)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(input: u64, output: u64, cached: u64, total: u64) -> Tokens {
        Tokens {
            input_tokens: input,
            output_tokens: output,
            cached_tokens: cached,
            total_tokens: total,
            ..Tokens::default()
        }
    }

    #[test]
    fn whole_bodies_of_each_protocol() {
        let chat = br#"{"id":"x","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":5,"total_tokens":17,"prompt_tokens_details":{"cached_tokens":8},"completion_tokens_details":{"reasoning_tokens":2}}}"#;
        let mut expected = tokens(12, 5, 8, 17);
        expected.reasoning_tokens = 2;
        assert_eq!(from_body(chat), Some(expected));
        let responses = br#"{"output":[],"usage":{"input_tokens":12,"input_tokens_details":{"cached_tokens":4},"output_tokens":6,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":18}}"#;
        assert_eq!(from_body(responses), Some(tokens(12, 6, 4, 18)));
        let claude = br#"{"type":"message","content":[],"usage":{"input_tokens":3,"cache_creation_input_tokens":0,"cache_read_input_tokens":9,"output_tokens":7}}"#;
        assert_eq!(from_body(claude), Some(tokens(3, 7, 9, 0)));
        let gemini = br#"{"candidates":[],"usageMetadata":{"promptTokenCount":11,"candidatesTokenCount":2,"totalTokenCount":13,"cachedContentTokenCount":5}}"#;
        assert_eq!(from_body(gemini), Some(tokens(11, 2, 5, 13)));
        assert_eq!(from_body(br#"{"choices":[]}"#), None);
        assert_eq!(from_body(b"not json \"usage\""), None);
    }

    #[test]
    fn claude_streams_combine_start_and_delta() {
        let mut scanner = StreamScanner::new(true);
        scanner.chunk(&Bytes::from_static(
            b"event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":10,\"cache_read_input_tokens\":30,\"output_tokens\":1}}}\n\nevent: ping\ndata: {\"type\":\"ping\"}\n\n",
        ));
        scanner.chunk(&Bytes::from_static(
            b"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"delta\":{\"text\":\"hi\"}}\n\n",
        ));
        scanner.chunk(&Bytes::from_static(
            b"event: message_delta\ndata: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":42}}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
        ));
        assert_eq!(scanner.finish(), Some(tokens(10, 42, 30, 0)));
    }

    #[test]
    fn openai_and_responses_streams() {
        let mut chat = StreamScanner::new(true);
        chat.chunk(&Bytes::from_static(
            b"data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}],\"usage\":null}\n\n",
        ));
        chat.chunk(&Bytes::from_static(
            b"data: {\"choices\":[],\"usage\":{\"prompt_tokens\":4,\"completion_tokens\":2,\"total_tokens\":6,\"prompt_tokens_details\":{\"cached_tokens\":1}}}\r\n\r\ndata: [DONE]\r\n\r\n",
        ));
        assert_eq!(chat.finish(), Some(tokens(4, 2, 1, 6)));
        let mut responses = StreamScanner::new(true);
        responses.chunk(&Bytes::from_static(
            b"event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":{\"usage\":{\"input_tokens\":8,\"output_tokens\":3,\"total_tokens\":11,\"input_tokens_details\":{\"cached_tokens\":2}}}}\n\n",
        ));
        assert_eq!(responses.finish(), Some(tokens(8, 3, 2, 11)));
        assert_eq!(StreamScanner::new(true).finish(), None);
    }

    #[test]
    fn raw_gemini_arrays_use_the_last_usage_block() {
        let mut scanner = StreamScanner::new(false);
        scanner.chunk(&Bytes::from_static(
            b"[{\"candidates\":[],\"usageMetadata\":{\"promptTokenCount\":1}},\r\n{\"candidates\":[],\"usageMeta",
        ));
        scanner.chunk(&Bytes::from_static(
            b"data\":{\"promptTokenCount\":7,\"candidatesTokenCount\":3,\"totalTokenCount\":10}}]",
        ));
        assert_eq!(scanner.finish(), Some(tokens(7, 3, 0, 10)));
    }
}
