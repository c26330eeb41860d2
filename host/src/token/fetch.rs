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

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use super::*;

    /// A token endpoint on loopback that answers every request with `head` and then `body`
    /// (written in 16 KiB pieces), then keeps the connection open.
    async fn endpoint(head: &'static str, body: Vec<u8>) -> url::Url {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut request = [0u8; 4096];
            let _ = socket.read(&mut request).await;
            socket.write_all(head.as_bytes()).await.unwrap();
            for piece in body.chunks(16 * 1024) {
                if socket.write_all(piece).await.is_err() {
                    return;
                }
            }
            std::future::pending::<()>().await;
        });
        url::Url::parse(&format!("http://{addr}/token")).unwrap()
    }

    fn caller() -> Endpoint {
        crate::proxy::client_pool::install_crypto_provider();
        Endpoint {
            client: reqwest::Client::builder().no_proxy().build().unwrap(),
            first_byte: Duration::from_secs(5),
            idle: Duration::from_millis(300),
            lifetime: Lifetime::default(),
        }
    }

    fn request(url: url::Url) -> TokenRequest {
        TokenRequest {
            url,
            form: vec![("grant_type", "client_credentials".into())],
            basic: None,
        }
    }

    #[tokio::test]
    async fn an_answer_larger_than_64_kib_is_refused_without_reading_it_all() {
        let body = vec![b' '; 8 << 20];
        let url = endpoint(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 8388608\r\n\r\n",
            body,
        )
        .await;
        let error = caller()
            .fetch(&request(url), SystemTime::now())
            .await
            .unwrap_err();
        assert!(
            matches!(&error, FetchError::Token(TokenError::Malformed(m)) if m.contains("65536")),
            "{error}"
        );
    }

    #[tokio::test]
    async fn an_answer_that_stalls_fails_after_the_idle_timeout() {
        let url = endpoint(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{\"access",
            Vec::new(),
        )
        .await;
        let error = caller()
            .fetch(&request(url), SystemTime::now())
            .await
            .unwrap_err();
        assert!(
            matches!(&error, FetchError::Unreachable(m) if m.contains("stalled")),
            "{error}"
        );
    }

    #[tokio::test]
    async fn a_long_lifetime_is_clamped_to_a_day() {
        let body = br#"{"access_token":"t","token_type":"bearer","expires_in":999999999}"#;
        let url = endpoint(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 65\r\n\r\n",
            body.to_vec(),
        )
        .await;
        let now = SystemTime::now();
        let set = caller().fetch(&request(url), now).await.unwrap();
        assert_eq!(set.expires_at, now + Duration::from_secs(24 * 3600));
    }
}
