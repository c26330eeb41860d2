//! Shared helpers: an HTTP client, request builders and an SSE parser.

use std::sync::Once;
use std::time::Duration;

use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use switchyard_mock::MockUpstream;

/// A generous deadline for waits on events that normally happen within milliseconds.
pub(crate) const WAIT: Duration = Duration::from_secs(10);

/// An HTTP client. The workspace's reqwest is built without a TLS crypto provider and insists
/// on one even for plain `http://`, so the tests install `ring`'s.
pub(crate) fn client() -> reqwest::Client {
    static PROVIDER: Once = Once::new();
    PROVIDER.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("building the test HTTP client")
}

/// A started mock with default options.
pub(crate) async fn mock() -> MockUpstream {
    MockUpstream::start().await.expect("starting the mock")
}

/// `POST base + path` with `body` as JSON and the credential in `x-api-key`.
pub(crate) async fn post(
    mock: &MockUpstream,
    path: &str,
    key: &str,
    body: &Value,
) -> reqwest::Response {
    client()
        .post(format!("{}{path}", mock.base_url()))
        .header("x-api-key", key)
        .json_body(body)
        .send()
        .await
        .expect("sending the request")
}

/// An OpenAI chat body with these user/assistant texts (alternating, user first).
pub(crate) fn chat_body(model: &str, texts: &[&str], stream: bool) -> Value {
    let messages: Vec<Value> = texts
        .iter()
        .enumerate()
        .map(|(index, text)| {
            let role = if index % 2 == 0 { "user" } else { "assistant" };
            json!({"role": role, "content": text})
        })
        .collect();
    json!({"model": model, "messages": messages, "stream": stream})
}

/// One server-sent event: its `event:` name (if any) and its `data:`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Event {
    pub name: Option<String>,
    pub data: String,
}

impl Event {
    /// The data as JSON.
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.data)
            .unwrap_or_else(|error| panic!("event data is not JSON ({error}): {}", self.data))
    }
}

/// Parses an SSE body into events (every event must end with a blank line).
pub(crate) fn parse_sse(body: &str) -> Vec<Event> {
    assert!(
        body.is_empty() || body.ends_with("\n\n"),
        "an SSE body ends with a blank line: {body:?}"
    );
    body.split("\n\n")
        .filter(|block| !block.is_empty())
        .map(|block| {
            let mut event = Event {
                name: None,
                data: String::new(),
            };
            for line in block.lines() {
                if let Some(name) = line.strip_prefix("event: ") {
                    event.name = Some(name.to_owned());
                } else if let Some(data) = line.strip_prefix("data: ") {
                    event.data.push_str(data);
                } else {
                    panic!("unexpected SSE line {line:?}");
                }
            }
            event
        })
        .collect()
}

/// Reads a streamed body until it ends, returning the bytes read and whether it ended with an
/// error (an abrupt close).
pub(crate) async fn read_stream(response: reqwest::Response) -> (String, bool) {
    let mut body = Vec::new();
    let mut frames = response.bytes_stream();
    while let Some(frame) = frames.next().await {
        match frame {
            Ok(bytes) => body.extend_from_slice(&bytes),
            Err(_) => return (String::from_utf8(body).unwrap(), true),
        }
    }
    (String::from_utf8(body).unwrap(), false)
}

/// A header's value as a string.
pub(crate) fn header<'a>(response: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    response
        .headers()
        .get(name)
        .and_then(|value| value.to_str().ok())
}

/// Reads a streamed body until what arrived contains `needle` and ends at an event boundary;
/// returns it (the rest of the body stays unread).
pub(crate) async fn read_until(response: &mut reqwest::Response, needle: &str) -> String {
    let mut received = String::new();
    while !(received.contains(needle) && received.ends_with("\n\n")) {
        let chunk = tokio::time::timeout(WAIT, response.chunk())
            .await
            .expect("the next chunk arrives")
            .expect("reading the stream")
            .unwrap_or_else(|| panic!("the stream ended before {needle:?}: {received:?}"));
        received.push_str(std::str::from_utf8(&chunk).unwrap());
    }
    received
}

/// A JSON request body (the workspace's reqwest has no `json` feature).
pub(crate) trait JsonBody {
    /// Sends `body` as `application/json`.
    fn json_body(self, body: &Value) -> Self;
}

impl JsonBody for reqwest::RequestBuilder {
    fn json_body(self, body: &Value) -> Self {
        self.header("content-type", "application/json")
            .body(body.to_string())
    }
}

/// A JSON response body.
pub(crate) trait IntoJson {
    /// Reads the body and parses it as JSON.
    fn into_json<T: DeserializeOwned>(self) -> impl Future<Output = T>;
}

impl IntoJson for reqwest::Response {
    async fn into_json<T: DeserializeOwned>(self) -> T {
        json_of(self).await
    }
}

/// Reads a response body and parses it as JSON.
pub(crate) async fn json_of<T: DeserializeOwned>(response: reqwest::Response) -> T {
    let bytes = response.bytes().await.expect("reading the body");
    serde_json::from_slice(&bytes).unwrap_or_else(|error| {
        panic!(
            "the body is not the expected JSON ({error}): {}",
            String::from_utf8_lossy(&bytes)
        )
    })
}
