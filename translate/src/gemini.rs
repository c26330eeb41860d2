//! The Gemini `generateContent` codec.
//!
//! - [`decode_request`]: a client's body (camelCase or snake_case keys) to the hub request.
//!   Gemini calls carry no ids: a call without one gets `call_gemini_<content>_<part>` (its
//!   position, stable across turns), and each `functionResponse` answers its explicit `id`,
//!   else the oldest pending call of the same name, else the oldest pending call (spec §3.3).
//!   Built-in tools (`googleSearch`, `codeExecution`, `urlContext` …), `cachedContent`,
//!   non-text output modalities and speech settings are same-protocol-only; inline audio and
//!   video are refused.
//! - [`encode_request`]: the hub request to an upstream's body. Tool schemas are cleaned
//!   (spec §3.4, [`schema`]) and sent as `parametersJsonSchema` (JSON Schema; `parameters`
//!   would need the narrower OpenAPI subset). Calls and signed text get a `thoughtSignature`:
//!   Gemini's own, else the skip sentinel on calls; reasoning Gemini did not sign is not
//!   replayed. A conversation opening with a model turn gets an empty user turn first. A URL
//!   that is not a Gemini file URI or `data:` URL is refused (switchyard never fetches).
//!   `n > 1` is refused: switchyard reads one candidate. The model travels in the URL.
//! - [`encode_count_request`]: `{"generateContentRequest": {"model": "models/<m>", …}}`.
//! - [`decode_response`] / [`encode_response`]: whole answers (first candidate), usage
//!   converted (Gemini's candidates exclude thoughts, the hub's output includes them).
//! - [`StreamDecoder`] / [`StreamEncoder`]: `alt=sse` chunks in; `data:` frames or one JSON
//!   array out.

mod request;
mod response;
mod schema;
mod signature;
mod stream_decode;
mod stream_encode;
mod wire;

pub(crate) use request::{decode_request, encode_count_request, encode_request};
pub(crate) use response::{decode_response, encode_response};
pub(crate) use stream_decode::StreamDecoder;
pub(crate) use stream_encode::StreamEncoder;

#[cfg(test)]
mod tests;
