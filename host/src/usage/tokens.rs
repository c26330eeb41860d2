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

/// In an `event: error` line or an `"error"` key.
static ERROR_WORD: LazyLock<memmem::Finder<'static>> =
    LazyLock::new(|| memmem::Finder::new(b"error"));

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
pub(crate) fn from_body(body: &[u8]) -> Option<Tokens> {
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

/// What a stream said about itself.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct StreamUsage {
    /// The token counts, if the stream carried a usage block.
    pub tokens: Option<Tokens>,
    /// The stream carried an error event (the upstream failed after the first payload).
    pub error: bool,
}

/// Watches a relayed stream for usage blocks and error events.
#[derive(Debug)]
pub(crate) enum StreamScanner {
    /// Server-sent events: every chunk the relay forwards is made of whole events.
    Sse {
        /// The counts seen so far.
        seen: Option<Tokens>,
        /// An error event went by.
        error: bool,
    },
    /// A raw stream (Gemini without `alt=sse`: one JSON array): the tail is kept and searched
    /// at the end.
    Raw {
        /// The last chunks, at most about `RAW_TAIL` bytes.
        tail: VecDeque<Bytes>,
        /// Their length.
        len: usize,
    },
}

impl StreamScanner {
    /// A scanner for an SSE stream (`sse`) or a raw one.
    pub(crate) fn new(sse: bool) -> Self {
        if sse {
            StreamScanner::Sse {
                seen: None,
                error: false,
            }
        } else {
            StreamScanner::Raw {
                tail: VecDeque::new(),
                len: 0,
            }
        }
    }

    /// Looks at one forwarded chunk.
    pub(crate) fn chunk(&mut self, chunk: &Bytes) {
        match self {
            StreamScanner::Sse { seen, error } => {
                let usage = USAGE_KEY.find(chunk).is_some();
                let failure = ERROR_WORD.find(chunk).is_some();
                if !usage && !failure {
                    return;
                }
                for event in chunk.split(|b| *b == b'\n').fold(Vec::new(), events) {
                    if failure && event.is_error() {
                        *error = true;
                    }
                    if usage && let Some(tokens) = event_tokens(&event.data) {
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

    /// What the stream said, once it has ended.
    pub(crate) fn finish(self) -> StreamUsage {
        match self {
            StreamScanner::Sse { seen, error } => StreamUsage {
                tokens: seen,
                error,
            },
            StreamScanner::Raw { tail, .. } => {
                let bytes: Vec<u8> = tail.iter().flat_map(|c| c.iter().copied()).collect();
                StreamUsage {
                    tokens: last_usage_metadata(&bytes),
                    error: raw_error(&bytes),
                }
            }
        }
    }
}

/// One server-sent event: its name and its joined `data` lines.
#[derive(Debug, Default)]
struct Event {
    error_name: bool,
    data: Vec<u8>,
}

impl Event {
    /// `event: error`, or data with an `error` object, `"type": "error"` or (Responses)
    /// `"type": "response.failed"`.
    fn is_error(&self) -> bool {
        if self.error_name {
            return true;
        }
        if ERROR_WORD.find(&self.data).is_none() {
            return false;
        }
        #[derive(Deserialize)]
        struct Probe {
            error: Option<Value>,
            #[serde(rename = "type")]
            kind: Option<Value>,
        }
        serde_json::from_slice::<Probe>(&self.data).is_ok_and(|probe| {
            probe.error.as_ref().is_some_and(Value::is_object)
                || matches!(
                    probe.kind.as_ref().and_then(Value::as_str),
                    Some("error" | "response.failed")
                )
        })
    }
}

/// Folds lines into events (a blank line ends one).
fn events(mut out: Vec<Event>, line: &[u8]) -> Vec<Event> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.is_empty() {
        out.push(Event::default());
        return out;
    }
    if out.is_empty() {
        out.push(Event::default());
    }
    let event = out.last_mut().expect("one event");
    if let Some(data) = line.strip_prefix(b"data:") {
        event
            .data
            .extend_from_slice(data.strip_prefix(b" ").unwrap_or(data));
    } else if let Some(name) = line.strip_prefix(b"event:") {
        event.error_name = name.trim_ascii() == b"error";
    }
    out
}

/// Whether a raw Gemini array ends with an `{"error": {…}}` element.
fn raw_error(bytes: &[u8]) -> bool {
    let Some(at) = memmem::rfind(bytes, b"\"error\"") else {
        return false;
    };
    let Some(open) = bytes[..at].iter().rposition(|b| *b == b'{') else {
        return false;
    };
    let mut values = serde_json::Deserializer::from_slice(&bytes[open..]).into_iter::<Value>();
    matches!(values.next(), Some(Ok(value)) if value.get("error").is_some_and(Value::is_object))
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
        assert_eq!(scanner.finish().tokens, Some(tokens(10, 42, 30, 0)));
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
        assert_eq!(chat.finish().tokens, Some(tokens(4, 2, 1, 6)));
        let mut responses = StreamScanner::new(true);
        responses.chunk(&Bytes::from_static(
            b"event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":{\"usage\":{\"input_tokens\":8,\"output_tokens\":3,\"total_tokens\":11,\"input_tokens_details\":{\"cached_tokens\":2}}}}\n\n",
        ));
        assert_eq!(responses.finish().tokens, Some(tokens(8, 3, 2, 11)));
        assert_eq!(StreamScanner::new(true).finish(), StreamUsage::default());
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
        assert_eq!(
            scanner.finish(),
            StreamUsage {
                tokens: Some(tokens(7, 3, 0, 10)),
                error: false
            }
        );
    }

    #[test]
    fn error_events_mark_the_stream_failed() {
        for stream in [
            &b"event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"api_error\"}}\n\n"[..],
            b"data: {\"error\":{\"message\":\"boom\",\"type\":\"server_error\"}}\n\n",
            b"event: response.failed\ndata: {\"type\":\"response.failed\",\"response\":{\"error\":{}}}\n\n",
        ] {
            let mut scanner = StreamScanner::new(true);
            scanner.chunk(&Bytes::from_static(b"data: {\"choices\":[]}\n\n"));
            scanner.chunk(&Bytes::from_static(stream));
            assert!(scanner.finish().error);
        }
        // The word in content is not an error.
        let mut scanner = StreamScanner::new(true);
        scanner.chunk(&Bytes::from_static(
            b"data: {\"choices\":[{\"delta\":{\"content\":\"an error\"}}]}\n\n",
        ));
        assert!(!scanner.finish().error);
        let mut raw = StreamScanner::new(false);
        raw.chunk(&Bytes::from_static(
            b"[{\"candidates\":[]},\r\n{\"error\":{\"code\":500,\"message\":\"x\"}}]",
        ));
        assert!(raw.finish().error);
    }
}
