//! The Gemini generateContent codec (placeholder: every entry point refuses until the codec is written).

use crate::ir::{Event, Request, Response};
use crate::sse::Frame;
use crate::{ClientView, TranslateError};

fn not_written() -> TranslateError {
    TranslateError::unsupported(
        "model",
        "translation to or from Gemini generateContent is not written yet",
    )
}

/// Decodes a client's request.
pub(crate) fn decode_request(_body: &[u8]) -> Result<Request, TranslateError> {
    Err(not_written())
}

/// Encodes a request for an upstream (`request.stream` says whether to stream).
pub(crate) fn encode_request(_request: &Request) -> Result<Vec<u8>, TranslateError> {
    Err(not_written())
}

/// Decodes an upstream's whole answer.
pub(crate) fn decode_response(_body: &[u8]) -> Result<Response, TranslateError> {
    Err(TranslateError::Upstream("not written yet".to_owned()))
}

/// Encodes a whole answer for a client.
pub(crate) fn encode_response(_response: &Response, _client: &ClientView) -> Vec<u8> {
    Vec::new()
}

/// Upstream stream frames to hub events.
#[derive(Debug, Default)]
pub(crate) struct StreamDecoder {}

impl StreamDecoder {
    /// A decoder for one stream.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Decodes one SSE frame.
    pub(crate) fn frame(
        &mut self,
        _frame: &Frame,
        _out: &mut Vec<Event>,
    ) -> Result<(), TranslateError> {
        Err(TranslateError::Upstream("not written yet".to_owned()))
    }

    /// The upstream closed: closes what is open and ends the stream.
    pub(crate) fn finish(&mut self, _out: &mut Vec<Event>) -> Result<(), TranslateError> {
        Err(TranslateError::Upstream("not written yet".to_owned()))
    }
}

/// Hub events to the client's stream bytes.
#[derive(Debug, Default)]
pub(crate) struct StreamEncoder {}

impl StreamEncoder {
    /// An encoder for one stream to `client`.
    pub(crate) fn new(_client: &ClientView) -> Self {
        Self::default()
    }

    /// Encodes one event.
    pub(crate) fn event(&mut self, _event: &Event, _out: &mut Vec<u8>) {}
}

/// Encodes a token-count request for an upstream.
pub(crate) fn encode_count_request(_request: &Request) -> Result<Vec<u8>, TranslateError> {
    Err(not_written())
}
