//! A mock LLM upstream: a real HTTP server on loopback that speaks the four upstream protocols
//! switchyard calls (OpenAI Chat Completions, OpenAI Responses, Anthropic Messages, Gemini
//! `generateContent`), for the end-to-end tests, the benchmark and `switchyard demo`.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use std::time::Duration;
//! use switchyard_mock::{Fault, MockUpstream};
//!
//! let mock = MockUpstream::start().await?;
//! // Point an upstream credential at `mock.base_url()`, then steer and observe it:
//! mock.set_fault("key-a", Fault::status(429).with_retry_after("7").times(1));
//! // ... send traffic ...
//! mock.wait_for_requests(2, Duration::from_secs(10)).await.unwrap();
//! println!("{:?}", mock.cache_stats());
//! mock.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! What it does, per request:
//!
//! 1. Identifies the answering credential from `x-api-key`, `Authorization: Bearer …`,
//!    `x-goog-api-key` or `?key=` (none: 401 in the protocol's error shape). Every response names
//!    it in the `x-mock-credential` header, and the reply text names it too:
//!    `mock reply via <key> to: <first 40 characters of the last user text>`.
//! 2. Records the request (see [`RecordedRequest`]) and wakes the waits
//!    ([`MockUpstream::wait_for_requests`] and friends).
//! 3. Applies the [`Fault`] set for that credential (or for all credentials), if any.
//! 4. Consults the credential's prompt cache (see [`CacheStats`] for the model) and answers, as one
//!    JSON body or as a paced stream in the protocol's real SSE shape.
//!
//! Knobs a request can carry (they override the mock's defaults for that request only):
//! [`CHUNKS_HEADER`] / [`CHUNK_INTERVAL_MS_HEADER`], or the same numbers in a top-level body field
//! `"mock": {"chunks": N, "chunk_interval_ms": M}` (which survives a proxy that drops unknown
//! headers). Response headers a test can read: [`CREDENTIAL_HEADER`], [`CACHE_HEADER`],
//! [`SEQUENCE_HEADER`].
//!
//! Streams: the opening events and the first content chunk leave at once; each further chunk
//! one interval later; the closing events (`[DONE]`, `message_stop`, `response.completed`, …)
//! right after the last chunk. The mock speaks HTTP/1.1 and HTTP/2 (prior knowledge).

mod conversation;
mod credential;
mod disconnect;
mod exchange;
mod fault;
mod paced_body;
mod pacing;
mod prompt_cache;
mod protocol;
mod recorder;
mod server;
mod state;
mod upstream;
mod wire;

pub use fault::{Fault, FaultBehavior};
pub use prompt_cache::{CacheCounts, CacheStats};
pub use protocol::Protocol;
pub use recorder::{RecordedRequest, WaitTimeout};
pub use upstream::{MockUpstream, MockUpstreamBuilder};

/// Request header that overrides the number of content chunks of one streamed answer.
pub const CHUNKS_HEADER: &str = "x-mock-chunks";

/// Request header that overrides the pause, in milliseconds, between the content chunks of one
/// streamed answer.
pub const CHUNK_INTERVAL_MS_HEADER: &str = "x-mock-chunk-interval-ms";

/// Response header naming the credential that answered.
pub const CREDENTIAL_HEADER: &str = "x-mock-credential";

/// Response header with the prompt-cache outcome of a generation request: `hit`, `miss`, or
/// `none` (the conversation had no earlier turn to look up).
pub const CACHE_HEADER: &str = "x-mock-cache";

/// Response header with the request's sequence number, matching [`RecordedRequest::sequence`].
pub const SEQUENCE_HEADER: &str = "x-mock-sequence";
