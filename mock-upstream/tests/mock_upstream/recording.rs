//! Recording, counters, waits, disconnect detection and pacing.

use std::time::Duration;

use http::Method;
use serde_json::json;
use switchyard_mock::{
    CHUNK_INTERVAL_MS_HEADER, CHUNKS_HEADER, MockUpstream, Protocol, SEQUENCE_HEADER,
};

use crate::support::{
    JsonBody, WAIT, chat_body, client, header, mock, parse_sse, post, read_stream, read_until,
};

#[tokio::test]
async fn records_every_request_as_received() {
    let mock = mock().await;
    let body = json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]});
    let response = client()
        .post(format!(
            "{}/v1beta/models/g-1:generateContent?alt=json",
            mock.base_url()
        ))
        .header("x-goog-api-key", "key-g")
        .header("x-custom", "yes")
        .json_body(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(header(&response, SEQUENCE_HEADER), Some("1"));
    post(
        &mock,
        "/v1/chat/completions",
        "key-a",
        &chat_body("m", &["x"], false),
    )
    .await;
    post(
        &mock,
        "/v1/chat/completions",
        "key-a",
        &chat_body("m", &["y"], false),
    )
    .await;

    let requests = mock.requests();
    assert_eq!(requests.len(), 3);
    let first = &requests[0];
    assert_eq!(first.sequence, 1);
    assert_eq!(first.method, Method::POST);
    assert_eq!(first.path, "/v1beta/models/g-1:generateContent");
    assert_eq!(first.query.as_deref(), Some("alt=json"));
    assert_eq!(first.header("x-custom"), Some("yes"));
    assert_eq!(first.header("x-goog-api-key"), Some("key-g"));
    assert_eq!(first.credential.as_deref(), Some("key-g"));
    assert_eq!(first.protocol, Some(Protocol::Gemini));
    assert_eq!(first.body_json(), Some(body));
    assert_eq!(requests[2].sequence, 3);
    assert_eq!(requests[2].protocol, Some(Protocol::OpenAiChat));

    assert_eq!(mock.request_count(), 3);
    assert_eq!(mock.request_count_for("key-a"), 2);
    assert_eq!(mock.request_count_for("nobody"), 0);
    let counts = mock.request_counts();
    assert_eq!(counts.get("key-g"), Some(&1));
    assert_eq!(counts.get("key-a"), Some(&2));
}

#[tokio::test]
async fn waits_wake_on_the_event_and_time_out_otherwise() {
    let mock = mock().await;
    let timeout = mock
        .wait_for_requests(1, Duration::from_millis(20))
        .await
        .unwrap_err();
    assert_eq!((timeout.expected, timeout.observed), (1, 0));

    let url = format!("{}/v1/chat/completions", mock.base_url());
    let sender = tokio::spawn(async move {
        for key in ["a", "b", "b"] {
            client()
                .post(&url)
                .header("x-api-key", key)
                .json_body(&chat_body("m", &["hi"], false))
                .send()
                .await
                .unwrap();
        }
    });
    mock.wait_for_requests(3, WAIT).await.unwrap();
    mock.wait_for_requests_for("b", 2, WAIT).await.unwrap();
    sender.await.unwrap();
    let error = mock
        .wait_for_requests_for("a", 2, Duration::from_millis(20))
        .await
        .unwrap_err();
    assert!(error.to_string().contains("credential a"), "{error}");
}

#[tokio::test]
async fn recording_off_keeps_counting() {
    let mock = MockUpstream::builder()
        .record_requests(false)
        .start()
        .await
        .unwrap();
    post(
        &mock,
        "/v1/chat/completions",
        "k",
        &chat_body("m", &["hi"], false),
    )
    .await;
    mock.wait_for_requests(1, WAIT).await.unwrap();
    assert!(mock.requests().is_empty());
    assert_eq!(mock.request_count_for("k"), 1);
}

#[tokio::test]
async fn first_chunk_goes_out_at_once_and_a_dropped_stream_is_noticed() {
    let mock = mock().await;
    // A minute between chunks: the test only passes if the first chunk does not wait.
    let mut response = client()
        .post(format!("{}/v1/chat/completions", mock.base_url()))
        .header("x-api-key", "k")
        .header(CHUNKS_HEADER, "3")
        .header(CHUNK_INTERVAL_MS_HEADER, "60000")
        .json_body(&chat_body("m", &["slow"], true))
        .send()
        .await
        .unwrap();
    let first = read_until(&mut response, "\"content\":\"mock ").await;
    assert!(!first.contains("[DONE]"));
    assert_eq!(mock.open_streams(), 1);
    assert_eq!(mock.disconnect_count(), 0);
    drop(response);
    mock.wait_for_disconnects(1, WAIT).await.unwrap();
    assert_eq!(mock.open_streams(), 0);
}

#[tokio::test]
async fn a_completed_stream_is_not_a_disconnect() {
    let mock = mock().await;
    let response = post(
        &mock,
        "/v1/messages",
        "k",
        &chat_body("claude", &["hi"], true),
    )
    .await;
    let (_, aborted) = read_stream(response).await;
    assert!(!aborted);
    // A later request is answered after the first exchange ended, so its count is settled.
    post(
        &mock,
        "/v1/messages",
        "k",
        &chat_body("claude", &["hi"], false),
    )
    .await;
    assert_eq!(mock.disconnect_count(), 0);
    assert_eq!(mock.open_streams(), 0);
}

#[tokio::test]
async fn pacing_comes_from_the_builder_headers_or_body() {
    let mock = MockUpstream::builder()
        .chunks(2)
        .chunk_interval(Duration::from_millis(1))
        .start()
        .await
        .unwrap();
    let deltas = |text: &str| {
        parse_sse(text)
            .into_iter()
            .filter(|event| event.name.as_deref() == Some("content_block_delta"))
            .count()
    };
    let (text, _) =
        read_stream(post(&mock, "/v1/messages", "k", &chat_body("c", &["hi"], true)).await).await;
    assert_eq!(deltas(&text), 2);

    let mut body = chat_body("c", &["hi"], true);
    body["mock"] = json!({"chunks": 7, "chunk_interval_ms": 0});
    let (text, _) = read_stream(post(&mock, "/v1/messages", "k", &body).await).await;
    assert_eq!(deltas(&text), 7);

    let response = client()
        .post(format!("{}/v1/messages", mock.base_url()))
        .header("x-api-key", "k")
        .header(CHUNKS_HEADER, "4")
        .json_body(&body)
        .send()
        .await
        .unwrap();
    let (text, _) = read_stream(response).await;
    assert_eq!(deltas(&text), 4, "the header beats the body");
}

#[tokio::test]
async fn paced_stream_takes_its_intervals() {
    let mock = mock().await;
    let started = std::time::Instant::now();
    let response = client()
        .post(format!("{}/v1/chat/completions", mock.base_url()))
        .header("x-api-key", "k")
        .header(CHUNKS_HEADER, "4")
        .header(CHUNK_INTERVAL_MS_HEADER, "50")
        .json_body(&chat_body("m", &["hi"], true))
        .send()
        .await
        .unwrap();
    let (text, _) = read_stream(response).await;
    assert!(
        started.elapsed() >= Duration::from_millis(150),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(parse_sse(&text).last().unwrap().data, "[DONE]");
}

#[tokio::test]
async fn shutdown_stops_the_server() {
    let mock = mock().await;
    let url = format!("{}/v1/chat/completions", mock.base_url());
    post(
        &mock,
        "/v1/chat/completions",
        "k",
        &chat_body("m", &["hi"], false),
    )
    .await;
    tokio::time::timeout(WAIT, mock.shutdown())
        .await
        .expect("shutdown is prompt");
    let outcome = client()
        .post(&url)
        .header("x-api-key", "k")
        .json_body(&chat_body("m", &["hi"], false))
        .send()
        .await;
    assert!(outcome.is_err(), "nobody listens any more: {outcome:?}");
}
