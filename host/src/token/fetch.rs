//! One call to a token endpoint, bounded like any upstream call: the credential's client (its
//! `proxy-url`, the connect timeout), the first-byte timeout for the answer's head, the idle
//! timeout between its chunks, and at most [`MAX_TOKEN_RESPONSE`] bytes.

use std::time::{Duration, SystemTime};

use futures_util::StreamExt;
use http::header;
use switchyard_oauth::{Lifetime, MAX_TOKEN_RESPONSE, TokenError, TokenRequest, TokenSet};

/// How a token endpoint is called.
#[derive(Debug, Clone)]
pub(crate) struct Endpoint {
    /// The credential's outbound client.
    pub client: reqwest::Client,
    /// `upstream-timeouts.first-byte`.
    pub first_byte: Duration,
    /// `upstream-timeouts.idle`.
    pub idle: Duration,
    /// The range `expires_in` is clamped to.
    pub lifetime: Lifetime,
}

/// Why a renewal failed. The text names no token, secret or URL query.
#[derive(Debug, Clone, thiserror::Error)]
pub(crate) enum FetchError {
    /// No answer: unreachable, timed out, cut off.
    #[error("token endpoint unreachable: {0}")]
    Unreachable(String),
    /// The answer was read and refused or unusable.
    #[error("token endpoint: {0}")]
    Token(#[from] TokenError),
}

impl FetchError {
    /// Whether the server rejected a refresh token as used or revoked.
    pub(crate) fn is_invalid_grant(&self) -> bool {
        matches!(self, FetchError::Token(e) if e.is_invalid_grant())
    }
}

impl Endpoint {
    /// Sends `request` at `now` and reads the token set.
    pub(crate) async fn fetch(
        &self,
        request: &TokenRequest,
        now: SystemTime,
    ) -> Result<TokenSet, FetchError> {
        let mut builder = self
            .client
            .post(request.url.clone())
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT, "application/json")
            .body(request.body());
        if let Some(basic) = request.authorization() {
            let mut value = http::HeaderValue::from_str(&basic).map_err(|_| {
                FetchError::Unreachable("client credentials are not a valid header".into())
            })?;
            value.set_sensitive(true);
            builder = builder.header(header::AUTHORIZATION, value);
        }
        let response = match tokio::time::timeout(self.first_byte, builder.send()).await {
            Err(_) => {
                return Err(FetchError::Unreachable(format!(
                    "no answer within {} ms",
                    self.first_byte.as_millis()
                )));
            }
            Ok(Err(e)) => return Err(FetchError::Unreachable(without_url(e))),
            Ok(Ok(response)) => response,
        };
        let status = response.status().as_u16();
        let mut body = Vec::new();
        let mut chunks = response.bytes_stream();
        loop {
            let next = tokio::time::timeout(self.idle, chunks.next()).await;
            match next {
                Err(_) => return Err(FetchError::Unreachable("answer stalled".into())),
                Ok(None) => break,
                Ok(Some(Err(e))) => return Err(FetchError::Unreachable(without_url(e))),
                Ok(Some(Ok(chunk))) => {
                    if body.len() + chunk.len() > MAX_TOKEN_RESPONSE {
                        return Err(TokenError::Malformed(format!(
                            "answer larger than {MAX_TOKEN_RESPONSE} bytes"
                        ))
                        .into());
                    }
                    body.extend_from_slice(&chunk);
                }
            }
        }
        Ok(switchyard_oauth::parse_token_response(
            status,
            &body,
            now,
            self.lifetime,
        )?)
    }
}

/// A client error's text without the URL it carries.
fn without_url(error: reqwest::Error) -> String {
    let error = error.without_url();
    let mut text = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}
