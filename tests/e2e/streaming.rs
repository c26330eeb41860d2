//! Streaming pass-through: chunks as they arrive, failover before the first byte, terminal
//! error events after it, cancellation, keep-alives and framing.

use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use serde_json::{Value, json};
use switchyard_mock::{Fault, MockUpstream};

use crate::harness::yaml::claude;
use crate::harness::{Proxy, WAIT, client, read};

/// The Claude keys `keys` on the mock, tried in order (`fill-first`).
fn fill_first(mock: &MockUpstream, keys: &[&str]) -> String {
    format!("routing:\n  strategy: fill-first\n{}", claude(mock, keys))
}

fn all_protocols(mock: &MockUpstream) -> String {
    let base = mock.base_url();
    format!(
        "claude-api-key:\n  - api-key: k\n    base-url: {base}\n\
         gemini-api-key:\n  - api-key: k\n    base-url: {base}\n\
         codex-api-key:\n  - api-key: k\n    base-url: {base}/v1\n\
         openai-compatibility:\n  - name: compat\n    base-url: {base}/v1\n    api-key-entries:\n      - api-key: k\n    models:\n      - name: llama-3\n"
    )
}

/// A streaming Messages request paced by the mock: `chunks` chunks, `interval_ms` apart.
fn slow_messages(chunks: u32, interval_ms: u64) -> Value {
    json!({
        "model": "claude-sonnet-4",
        "max_tokens": 64,
        "stream": true,
        "messages": [{ "role": "user", "content": "Tell me a story" }],
        "mock": { "chunks": chunks, "chunk_interval_ms": interval_ms },
    })
}

async fn open_stream(proxy: &Proxy, path: &str, body: &Value) -> reqwest::Response {
    proxy
        .client
        .post(proxy.url(path))
        .json(body)
        .send()
        .await
        .expect("stream opens")
}

/// Reads the next body chunk, as text.
async fn next_chunk(
    stream: &mut (impl futures_util::Stream<Item = reqwest::Result<Bytes>> + Unpin),
) -> Option<String> {
    let chunk = tokio::time::timeout(WAIT, stream.next())
        .await
        .expect("a chunk in time")?;
    Some(String::from_utf8_lossy(&chunk.expect("chunk")).into_owned())
}

#[tokio::test]
async fn the_first_chunk_arrives_while_the_upstream_is_still_streaming() {
    let mock = MockUpstream::start().await.unwrap();
    let proxy = Proxy::start(&fill_first(&mock, &["a"])).await;
    let response = open_stream(&proxy, "/v1/messages", &slow_messages(20, 200)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let mut body = response.bytes_stream();
    let first = next_chunk(&mut body).await.unwrap();
    assert!(first.contains("message_start"), "{first}");
    // The upstream has 19 chunks (≈ 4 s) still to send: the proxy did not wait for them.
    assert_eq!(mock.open_streams(), 1, "the upstream stream is still open");
    drop(body);
}

#[tokio::test]
async fn streams_pass_through_byte_for_byte_in_every_protocol() {
    let mock = MockUpstream::start().await.unwrap();
    let proxy = Proxy::start(&all_protocols(&mock)).await;
    let direct = client();
    let gemini = json!({ "contents": [{ "role": "user", "parts": [{ "text": "Hello" }] }] });
    let cases: Vec<(&str, String, Value, (&str, &str))> = vec![
        (
            "/v1/messages",
            format!("{}/v1/messages", mock.base_url()),
            json!({ "model": "claude-sonnet-4", "max_tokens": 8, "stream": true, "messages": [{ "role": "user", "content": "Hi" }] }),
            ("x-api-key", "k"),
        ),
        (
            "/v1/chat/completions",
            format!("{}/v1/chat/completions", mock.base_url()),
            json!({ "model": "llama-3", "stream": true, "messages": [{ "role": "user", "content": "Hi" }] }),
            ("authorization", "Bearer k"),
        ),
        (
            "/v1/responses",
            format!("{}/v1/responses", mock.base_url()),
            json!({ "model": "gpt-5", "stream": true, "input": "Hi" }),
            ("authorization", "Bearer k"),
        ),
        (
            "/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse",
            format!(
                "{}/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse",
                mock.base_url()
            ),
            gemini,
            ("x-goog-api-key", "k"),
        ),
    ];
    for (path, upstream_url, body, (auth_name, auth_value)) in cases {
        let through = read(open_stream(&proxy, path, &body).await).await;
        assert_eq!(through.status, 200, "{path}: {}", through.text());
        let expected = read(
            direct
                .post(&upstream_url)
                .header(auth_name, auth_value)
                .json(&body)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(normalized(&through), normalized(&expected), "{path}");
        if path.contains("chat/completions") {
            assert!(through.text().ends_with("data: [DONE]\n\n"));
        }
        if path.contains("messages") {
            assert!(through.text().contains("event: message_stop"));
        }
    }
}

/// The body with what differs between two identical requests blanked: the mock's sequence
/// number in ids and the creation time.
fn normalized(reply: &crate::harness::Reply) -> String {
    let sequence = reply
        .header(switchyard_mock::SEQUENCE_HEADER)
        .expect("sequence header");
    let mut text = reply
        .text()
        .replace(&format!("mock{sequence}"), "mockN")
        .replace(&format!("mock-{sequence}"), "mock-N");
    for field in ["\"created\":", "\"created_at\":"] {
        let mut out = String::with_capacity(text.len());
        let mut rest = text.as_str();
        while let Some(at) = rest.find(field) {
            let (head, tail) = rest.split_at(at + field.len());
            out.push_str(head);
            out.push('0');
            rest = tail.trim_start_matches(|c: char| c.is_ascii_digit());
        }
        out.push_str(rest);
        text = out;
    }
    text
}

#[tokio::test]
async fn a_failure_before_the_first_byte_fails_over() {
    let mock = MockUpstream::start().await.unwrap();
    // `a` in the higher tier, so fill-first always tries it first (ids are hashes).
    let proxy = Proxy::start(&fill_first(&mock, &["a", "b"]).replacen(
        "    base-url",
        "    priority: 1\n    base-url",
        1,
    ))
    .await;
    mock.set_fault("a", Fault::status(529));
    let reply = read(open_stream(&proxy, "/v1/messages", &slow_messages(3, 0)).await).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.credential(), "b");
    assert!(reply.text().contains("message_stop"));
    assert_eq!(mock.request_count_for("a"), 1, "a was tried first");

    // A stream that ends before any payload (a 200 with an empty body) fails over too.
    mock.clear_faults();
    proxy.clock.advance(Duration::from_secs(3600));
    mock.set_fault("a", Fault::status(200).with_body(""));
    let reply = read(open_stream(&proxy, "/v1/messages", &slow_messages(3, 0)).await).await;
    assert_eq!((reply.status, reply.credential()), (200, "b".to_owned()));
    assert_eq!(mock.request_count_for("a"), 2, "a was tried first again");
}

#[tokio::test]
async fn an_error_before_the_first_byte_is_a_real_status_when_nothing_is_left() {
    let mock = MockUpstream::start().await.unwrap();
    let proxy = Proxy::start(&fill_first(&mock, &["a"])).await;
    mock.set_fault("a", Fault::status(429).with_retry_after("12"));
    let reply = read(open_stream(&proxy, "/v1/messages", &slow_messages(3, 0)).await).await;
    assert_eq!(reply.status, 429);
    assert_eq!(reply.header("retry-after"), Some("12"));
    assert_eq!(reply.json()["type"], "error");
}

#[tokio::test]
async fn a_failure_after_the_first_byte_ends_with_the_protocol_error_event() {
    let mock = MockUpstream::start().await.unwrap();
    let proxy = Proxy::start(&all_protocols(&mock)).await;
    mock.set_fault("k", Fault::close_after(2));
    let claude = read(open_stream(&proxy, "/v1/messages", &slow_messages(5, 0)).await).await;
    assert_eq!(claude.status, 200);
    let text = claude.text();
    assert!(text.contains("message_start"), "{text}");
    let last = text.trim_end().rsplit("\n\n").next().unwrap();
    assert!(last.starts_with("event: error\ndata: "), "{last}");
    let data: Value =
        serde_json::from_str(last.trim_start_matches("event: error\ndata: ")).unwrap();
    assert_eq!(data["type"], "error");

    proxy.clock.advance(Duration::from_secs(3600));
    let chat = json!({ "model": "llama-3", "stream": true, "messages": [{ "role": "user", "content": "Hi" }], "mock": { "chunks": 5 } });
    let openai = read(open_stream(&proxy, "/v1/chat/completions", &chat).await).await;
    let text = openai.text();
    let last = text.trim_end().rsplit("\n\n").next().unwrap();
    let data: Value = serde_json::from_str(last.trim_start_matches("data: ")).unwrap();
    assert!(data["error"]["message"].is_string(), "{last}");
    assert!(!text.contains("[DONE]"));

    proxy.clock.advance(Duration::from_secs(3600));
    let gemini = json!({ "contents": [{ "role": "user", "parts": [{ "text": "Hi" }] }], "mock": { "chunks": 5 } });
    let reply = read(
        open_stream(
            &proxy,
            "/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse",
            &gemini,
        )
        .await,
    )
    .await;
    let text = reply.text();
    let last = text.trim_end().rsplit("\n\n").next().unwrap();
    assert!(last.starts_with("event: error\ndata: {"), "{last}");
}

#[tokio::test]
async fn a_client_disconnect_cancels_the_upstream() {
    let mock = MockUpstream::start().await.unwrap();
    let proxy = Proxy::start(&fill_first(&mock, &["a"])).await;
    let response = open_stream(&proxy, "/v1/messages", &slow_messages(50, 200)).await;
    let mut body = response.bytes_stream();
    next_chunk(&mut body).await.unwrap();
    drop(body);
    mock.wait_for_disconnects(1, WAIT)
        .await
        .expect("the upstream saw the disconnect");
}

#[tokio::test]
async fn keepalive_comments_fill_quiet_periods() {
    let mock = MockUpstream::start().await.unwrap();
    let proxy = Proxy::start(&format!(
        "streaming:\n  keepalive-seconds: 1\n{}",
        fill_first(&mock, &["a"])
    ))
    .await;
    mock.set_fault("a", Fault::stall_after(1));
    let response = open_stream(&proxy, "/v1/messages", &slow_messages(5, 0)).await;
    let mut body = response.bytes_stream();
    let mut seen = String::new();
    while !seen.contains(": keep-alive\n\n") {
        seen.push_str(&next_chunk(&mut body).await.expect("stream open"));
    }
    assert!(seen.contains("message_start"));
}

#[tokio::test]
async fn bootstrap_retries_run_the_whole_loop_again_for_a_stream() {
    let mock = MockUpstream::start().await.unwrap();
    // Cooling off, so the credential stays available and only bootstrap retries try it again.
    let proxy = Proxy::start(&format!(
        "disable-cooling: true\nstreaming:\n  bootstrap-retries: 2\n{}",
        fill_first(&mock, &["a"])
    ))
    .await;
    let stream =
        || async { read(open_stream(&proxy, "/v1/messages", &slow_messages(3, 0)).await).await };

    // Two server errors, then an answer: the third run streams it.
    mock.set_fault("a", Fault::status(503).times(2));
    let reply = stream().await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert!(reply.text().contains("message_stop"));
    assert_eq!(mock.request_count_for("a"), 3);

    // No status at all (a stream that ends before its first payload) counts too.
    mock.set_fault("a", Fault::status(200).with_body("").times(2));
    assert_eq!(stream().await.status, 200);
    assert_eq!(mock.request_count_for("a"), 6);

    // At most `bootstrap-retries` extra runs: the third error is the client's.
    mock.set_fault("a", Fault::status(500).times(3));
    assert_eq!(stream().await.status, 500);
    assert_eq!(mock.request_count_for("a"), 9);

    // A status no retry cures is not retried.
    mock.set_fault("a", Fault::status(404).times(1));
    assert_eq!(stream().await.status, 404);
    assert_eq!(mock.request_count_for("a"), 10);

    // Nor is a request that does not stream.
    mock.set_fault("a", Fault::status(503).times(1));
    let reply = proxy
        .post("/v1/messages", &crate::harness::messages("claude-sonnet-4"))
        .await;
    assert_eq!(reply.status, 503);
    assert_eq!(mock.request_count_for("a"), 11);
}

#[tokio::test]
async fn bootstrap_retries_skip_cooling_credentials() {
    let mock = MockUpstream::start().await.unwrap();
    let proxy = Proxy::start(&format!(
        "streaming:\n  bootstrap-retries: 3\n{}",
        fill_first(&mock, &["a"])
    ))
    .await;
    // The 503 cools `a`; the retry finds nothing to try and the stream's own server error
    // stands (the reference's rule).
    mock.set_fault("a", Fault::status(503).times(1));
    let reply = read(open_stream(&proxy, "/v1/messages", &slow_messages(3, 0)).await).await;
    assert_eq!(reply.status, 503);
    assert_eq!(reply.json()["type"], "error", "the upstream's body");
    assert_eq!(
        mock.request_count_for("a"),
        1,
        "the cooling credential was skipped"
    );

    // A 429 cools it too; a status below 500 gives way to why nothing could be tried.
    proxy.clock.advance(Duration::from_secs(3600));
    mock.set_fault("a", Fault::status(429).with_retry_after("12").times(1));
    let reply = read(open_stream(&proxy, "/v1/messages", &slow_messages(3, 0)).await).await;
    assert_eq!(reply.status, 429);
    assert_eq!(
        reply.json()["error"]["code"],
        "model_cooldown",
        "{}",
        reply.text()
    );
    assert_eq!(reply.header("retry-after"), Some("12"));
    assert_eq!(mock.request_count_for("a"), 2);
}
