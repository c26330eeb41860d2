//! The OpenAI chat completions codec: `/chat/completions` as a client protocol and as the
//! OpenAI-compatible upstream wire.
//!
//! - [`request`]: client bodies to the hub request (system and developer messages become
//!   system text, tool messages become tool results in a user turn, `reasoning_content`
//!   becomes thinking) and hub requests to upstream bodies (`max_tokens`, `reasoning_effort`,
//!   `stream_options.include_usage` on streams).
//! - [`response`]: whole answers both ways, usage and finish-reason mappings.
//! - [`stream_decode`]: upstream chunks to hub events (tool calls by index, late ids and
//!   names, finish / usage / `[DONE]` in any order).
//! - [`stream_encode`]: hub events to the chunks the OpenAI SDK reads.

mod out;
mod request;
mod response;
mod stream_decode;
mod stream_encode;
mod wire;

pub(crate) use request::{decode_request, encode_request};
pub(crate) use response::{decode_response, encode_response};
pub(crate) use stream_decode::StreamDecoder;
pub(crate) use stream_encode::StreamEncoder;

#[cfg(test)]
mod tests;
