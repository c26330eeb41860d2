//! The OpenAI Responses codec: `POST /responses` as a client protocol and as the public
//! Responses API upstream wire.
//!
//! - [`request`]: `input` (string or items: messages of every role, function and custom tool
//!   calls and outputs, reasoning items) and settings into the hub request; the hub request
//!   into a public-API body (`store:false`, call ids over 64 characters shortened stably).
//! - [`response`]: whole response objects both ways.
//! - [`stream_decode`] / [`stream_encode`]: the Responses event stream both ways.
//! - [`wire`]: serde mirrors of the schema.

mod request;
mod response;
mod stream_decode;
mod stream_encode;
mod wire;

pub(crate) use request::{decode_request, encode_request};
pub(crate) use response::{decode_response, encode_response};
pub(crate) use stream_decode::StreamDecoder;
pub(crate) use stream_encode::StreamEncoder;
