//! Every fault kind, observed over HTTP.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use switchyard_mock::{CHUNK_INTERVAL_MS_HEADER, CHUNKS_HEADER, Fault};

use crate::support::{
    JsonBody, WAIT, chat_body, client, header, json_of, mock, parse_sse, post, read_stream,
    read_until,
};

#[tokio::test]
async fn status_fault_with_retry_after_in_the_protocols_shape() {
    let mock = mock().await;
    mock.set_fault("key-a", Fault::status(429).with_retry_after("7"));
    let response = post(
        &mock,
        "/v1/messages",
        "key-a",
        &chat_body("claude", &["hi"], false),
    )
    .await;
    assert_eq!(response.status(), 429);
    assert_eq!(header(&response, "retry-after"), Some("7"));
    assert_eq!(header(&response, "x-mock-credential"), Some("key-a"));
    let error: Value = json_of(response).await;
    assert_eq!(error["type"], "error");
    assert_eq!(error["error"]["type"], "rate_limit_error");

    let response = post(
        &mock,
        "/v1/chat/completions",
        "key-a",
        &chat_body("m", &["hi"], false),
    )
    .await;
    let error: Value = json_of(response).await;
    assert_eq!(error["error"]["code"], "rate_limit_exceeded");

    // Other credentials are healthy.
    let response = post(
        &mock,
        "/v1/messages",
        "key-b",
        &chat_body("claude", &["hi"], false),
    )
    .await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn status_fault_with_a_body_override() {
    let mock = mock().await;
    mock.set_fault("k", Fault::status(503).with_body(r#"{"custom":true}"#));
    let response = post(
        &mock,
        "/v1/chat/completions",
        "k",
        &chat_body("m", &["hi"], false),
    )
    .await;
    assert_eq!(response.status(), 503);
    assert_eq!(response.text().await.unwrap(), r#"{"custom":true}"#);
}

#[tokio::test]
async fn fault_for_the_next_n_requests_only() {
    let mock = mock().await;
    mock.set_fault("k", Fault::status(500).times(2));
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let response = post(
            &mock,
            "/v1/chat/completions",
            "k",
            &chat_body("m", &["hi"], false),
        )
        .await;
        statuses.push(response.status().as_u16());
    }
    assert_eq!(statuses, [500, 500, 200]);
}

#[tokio::test]
async fn wildcard_fault_applies_to_every_credential_own_fault_first() {
    let mock = mock().await;
    mock.set_fault_for_all(Fault::status(502));
    mock.set_fault("special", Fault::status(418));
    let status = |key: &'static str| {
        let mock = &mock;
        async move {
            post(
                mock,
                "/v1/chat/completions",
                key,
                &chat_body("m", &["hi"], false),
            )
            .await
            .status()
            .as_u16()
        }
    };
    assert_eq!(status("any").await, 502);
    assert_eq!(status("special").await, 418);
    mock.clear_fault("special");
    assert_eq!(status("special").await, 502);
    mock.clear_faults();
    assert_eq!(status("any").await, 200);
}

#[tokio::test]
async fn delay_holds_the_response_head() {
    let mock = mock().await;
    let delay = Duration::from_millis(300);
    mock.set_fault("slow", Fault::delay(delay));
    let started = Instant::now();
    let response = post(
        &mock,
        "/v1/chat/completions",
        "slow",
        &chat_body("m", &["hi"], false),
    )
    .await;
    assert_eq!(response.status(), 200);
    assert!(
        started.elapsed() >= delay,
        "answered after {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn hang_ends_when_the_client_goes_away() {
    let mock = mock().await;
    mock.set_fault("stuck", Fault::hang());
    let url = format!("{}/v1/chat/completions", mock.base_url());
    let request = tokio::spawn(
        client()
            .post(url)
            .header("x-api-key", "stuck")
            .json_body(&chat_body("m", &["hi"], false))
            .send(),
    );
    mock.wait_for_requests(1, WAIT).await.unwrap();
    assert_eq!(mock.disconnect_count(), 0);
    request.abort();
    mock.wait_for_disconnects(1, WAIT).await.unwrap();
}

#[tokio::test]
async fn hang_ends_at_shutdown() {
    let mock = mock().await;
    mock.set_fault_for_all(Fault::hang());
    let url = format!("{}/v1/chat/completions", mock.base_url());
    let request = tokio::spawn(
        client()
            .post(url)
            .header("x-api-key", "k")
            .json_body(&chat_body("m", &["hi"], false))
            .send(),
    );
    mock.wait_for_requests(1, WAIT).await.unwrap();
    tokio::time::timeout(WAIT, mock.shutdown())
        .await
        .expect("shutdown is prompt");
    let outcome = tokio::time::timeout(WAIT, request).await.unwrap().unwrap();
    assert!(outcome.is_err(), "the hung request is closed, not answered");
}

#[tokio::test]
async fn stream_error_after_k_chunks_openai_and_anthropic() {
    let mock = mock().await;
    mock.set_fault("k", Fault::stream_error_after(2, 529, "overloaded now"));

    let response = post(
        &mock,
        "/v1/messages",
        "k",
        &chat_body("claude", &["hi"], true),
    )
    .await;
    assert_eq!(response.status(), 200);
    let (text, aborted) = read_stream(response).await;
    assert!(!aborted, "an error event ends the stream cleanly");
    let events = parse_sse(&text);
    let names: Vec<&str> = events
        .iter()
        .map(|event| event.name.as_deref().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "message_start",
            "content_block_start",
            "ping",
            "content_block_delta",
            "content_block_delta",
            "error"
        ]
    );
    let error = events.last().unwrap().json();
    assert_eq!(error["type"], "error");
    assert_eq!(error["error"]["type"], "overloaded_error");
    assert_eq!(error["error"]["message"], "overloaded now");

    let response = post(
        &mock,
        "/v1/chat/completions",
        "k",
        &chat_body("m", &["hi"], true),
    )
    .await;
    let (text, _) = read_stream(response).await;
    let events = parse_sse(&text);
    // role chunk, two content chunks, the error; no [DONE].
    assert_eq!(events.len(), 4);
    assert_eq!(events[3].json()["error"]["type"], "server_error");
    assert!(events.iter().all(|event| event.data != "[DONE]"));
}

#[tokio::test]
async fn stream_error_in_gemini_and_responses() {
    let mock = mock().await;
    mock.set_fault("k", Fault::stream_error_after(1, 500, "boom"));
    let response = client()
        .post(format!(
            "{}/v1beta/models/g:streamGenerateContent?alt=sse",
            mock.base_url()
        ))
        .header("x-goog-api-key", "k")
        .json_body(&json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}))
        .send()
        .await
        .unwrap();
    let (text, _) = read_stream(response).await;
    let events = parse_sse(&text);
    assert_eq!(events.len(), 2);
    assert_eq!(events[1].json()["error"]["status"], "INTERNAL");

    let response = client()
        .post(format!(
            "{}/v1beta/models/g:streamGenerateContent",
            mock.base_url()
        ))
        .header("x-goog-api-key", "k")
        .json_body(&json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}))
        .send()
        .await
        .unwrap();
    let elements: Vec<Value> = json_of(response).await;
    assert_eq!(elements.len(), 2);
    assert_eq!(elements[1]["error"]["code"], 500);

    let body = json!({"model": "gpt-5", "input": "hi", "stream": true});
    let (text, _) = read_stream(post(&mock, "/v1/responses", "k", &body).await).await;
    let events = parse_sse(&text);
    assert_eq!(events.last().unwrap().name.as_deref(), Some("error"));
    assert_eq!(events.last().unwrap().json()["message"], "boom");
}

#[tokio::test]
async fn stream_error_on_a_non_streaming_request_is_an_error_response() {
    let mock = mock().await;
    mock.set_fault("k", Fault::stream_error_after(2, 503, "unavailable"));
    let response = post(
        &mock,
        "/v1/messages",
        "k",
        &chat_body("claude", &["hi"], false),
    )
    .await;
    assert_eq!(response.status(), 503);
}

#[tokio::test]
async fn close_after_k_chunks_cuts_the_connection() {
    let mock = mock().await;
    mock.set_fault("k", Fault::close_after(2));
    let response = post(
        &mock,
        "/v1/chat/completions",
        "k",
        &chat_body("m", &["hi"], true),
    )
    .await;
    assert_eq!(response.status(), 200);
    let (text, aborted) = read_stream(response).await;
    assert!(aborted, "the body ends in an error, not a clean end");
    let events = parse_sse(&text);
    assert_eq!(
        events.len(),
        3,
        "role chunk and two content chunks arrived first"
    );
    assert_eq!(
        mock.disconnect_count(),
        0,
        "the mock's own close is not a disconnect"
    );
}

#[tokio::test]
async fn close_without_answering() {
    let mock = mock().await;
    mock.set_fault("k", Fault::close().times(1));
    let url = format!("{}/v1/chat/completions", mock.base_url());
    let outcome = client()
        .post(&url)
        .header("x-api-key", "k")
        .json_body(&chat_body("m", &["hi"], false))
        .send()
        .await;
    assert!(outcome.is_err(), "no response at all: {outcome:?}");
    let response = post(
        &mock,
        "/v1/chat/completions",
        "k",
        &chat_body("m", &["hi"], false),
    )
    .await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn stall_keeps_the_stream_open_until_the_client_leaves() {
    let mock = mock().await;
    mock.set_fault("k", Fault::stall_after(1));
    let response = client()
        .post(format!("{}/v1/messages", mock.base_url()))
        .header("x-api-key", "k")
        .json_body(&chat_body("claude", &["hi"], true))
        .send()
        .await
        .unwrap();
    let mut response = response;
    let first = read_until(&mut response, "content_block_delta").await;
    let events = parse_sse(&first);
    assert_eq!(
        events.last().unwrap().name.as_deref(),
        Some("content_block_delta")
    );
    assert_eq!(mock.open_streams(), 1);
    drop(response);
    mock.wait_for_disconnects(1, WAIT).await.unwrap();
    assert_eq!(mock.open_streams(), 0);
}

#[tokio::test]
async fn delayed_stream_fault_combines_delay_and_behavior() {
    let mock = mock().await;
    let delay = Duration::from_millis(100);
    mock.set_fault(
        "k",
        Fault::stream_error_after(0, 500, "x").with_delay(delay),
    );
    let started = Instant::now();
    let response = client()
        .post(format!("{}/v1/messages", mock.base_url()))
        .header("x-api-key", "k")
        .header(CHUNKS_HEADER, "3")
        .header(CHUNK_INTERVAL_MS_HEADER, "0")
        .json_body(&chat_body("claude", &["hi"], true))
        .send()
        .await
        .unwrap();
    assert!(started.elapsed() >= delay);
    let (text, _) = read_stream(response).await;
    let names: Vec<String> = parse_sse(&text)
        .into_iter()
        .filter_map(|event| event.name)
        .collect();
    assert_eq!(
        names,
        ["message_start", "content_block_start", "ping", "error"]
    );
}

/// Reads a stream until `total` bytes arrived.
async fn read_bytes(response: &mut reqwest::Response, total: usize) -> Vec<u8> {
    let mut received = Vec::new();
    while received.len() < total {
        let chunk = tokio::time::timeout(WAIT, response.chunk())
            .await
            .expect("the next chunk arrives")
            .expect("reading the stream")
            .unwrap_or_else(|| panic!("the stream ended after {} bytes", received.len()));
        received.extend_from_slice(&chunk);
    }
    received
}

#[tokio::test]
async fn oversized_event_from_the_first_byte_never_ends_and_stalls() {
    let mock = mock().await;
    mock.set_fault("k", Fault::oversized_event_after(0, 100_000));
    let mut response = client()
        .post(format!("{}/v1/chat/completions", mock.base_url()))
        .header("x-api-key", "k")
        .json_body(&chat_body("m", &["hi"], true))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body = read_bytes(&mut response, 100_000).await;
    assert_eq!(body.len(), 100_000, "nothing after the event");
    assert!(body.starts_with(b"data: xxx"), "no opening before it");
    assert!(body.iter().all(|b| *b != b'\n'), "the event never ends");
    // Then the stream stalls, open, until the client leaves.
    assert_eq!(mock.open_streams(), 1);
    drop(response);
    mock.wait_for_disconnects(1, WAIT).await.unwrap();
}

#[tokio::test]
async fn oversized_event_after_chunks_follows_complete_events() {
    let mock = mock().await;
    mock.set_fault("k", Fault::oversized_event_after(1, 50_000));
    let mut response = client()
        .post(format!("{}/v1/messages", mock.base_url()))
        .header("x-api-key", "k")
        .header(CHUNK_INTERVAL_MS_HEADER, "0")
        .json_body(&chat_body("claude", &["hi"], true))
        .send()
        .await
        .unwrap();
    // Whatever the network's chunking: complete events, then 50,000 bytes that never end.
    let mut received = Vec::new();
    let tail_at = |received: &[u8]| {
        received
            .windows(2)
            .rposition(|w| w == b"\n\n")
            .map_or(0, |at| at + 2)
    };
    while received.len() - tail_at(&received) < 50_000 {
        let chunk = tokio::time::timeout(WAIT, response.chunk())
            .await
            .expect("the next chunk arrives")
            .expect("reading the stream")
            .expect("the stream stays open");
        received.extend_from_slice(&chunk);
    }
    let (events, rest) = received.split_at(tail_at(&received));
    let events = std::str::from_utf8(events).unwrap();
    assert!(events.starts_with("event: message_start"), "{events}");
    assert!(events.contains("content_block_delta"), "{events}");
    assert_eq!(rest.len(), 50_000);
    assert!(rest.starts_with(b"data: xxx"));
    assert_eq!(mock.open_streams(), 1);
}
