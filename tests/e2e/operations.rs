//! Operations: TLS, graceful shutdown, request ids.

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::json;
use switchyard_mock::MockUpstream;

use crate::harness::yaml::claude;
use crate::harness::{Proxy, SelfSigned, WAIT, messages};

#[tokio::test]
async fn tls_serves_http2_and_http1_with_the_configured_certificate() {
    let mock = MockUpstream::start().await.unwrap();
    let tls = SelfSigned::generate();
    let proxy = Proxy::start(&format!("{}{}", tls.config(), claude(&mock, &["a"]))).await;
    let root = tls.root();
    let url = proxy.url("/v1/messages").replace("http://", "https://");
    for http1_only in [false, true] {
        let mut builder = reqwest::Client::builder()
            .no_proxy()
            .tls_certs_only([root.clone()]);
        if http1_only {
            builder = builder.http1_only();
        }
        let client = builder.build().unwrap();
        let response = client
            .post(&url)
            .json(&messages("claude-sonnet-4"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let expected = if http1_only {
            http::Version::HTTP_11
        } else {
            http::Version::HTTP_2
        };
        assert_eq!(response.version(), expected);
    }
    // Plain HTTP to the TLS port does not get an answer.
    assert!(
        proxy
            .client
            .get(proxy.url("/healthz"))
            .send()
            .await
            .is_err()
    );
}

#[tokio::test]
async fn a_missing_certificate_is_a_start_error_naming_the_file() {
    let error = Proxy::try_start(
        "tls:\n  enable: true\n  cert: /nonexistent/cert.pem\n  key: /nonexistent/key.pem\n",
    )
    .await
    .err()
    .expect("refused");
    assert!(
        error.to_string().contains("/nonexistent/cert.pem"),
        "{error}"
    );
}

#[tokio::test]
async fn shutdown_lets_an_open_stream_finish_and_stops_accepting() {
    let mock = MockUpstream::start().await.unwrap();
    let proxy = Proxy::start(&claude(&mock, &["a"])).await;
    let url = proxy.url("/v1/messages");
    let body = json!({
        "model": "claude-sonnet-4", "max_tokens": 8, "stream": true,
        "messages": [{ "role": "user", "content": "Hi" }],
        "mock": { "chunks": 6, "chunk_interval_ms": 100 },
    });
    let response = proxy.client.post(&url).json(&body).send().await.unwrap();
    let mut stream = response.bytes_stream();
    let first = tokio::time::timeout(WAIT, stream.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(!first.is_empty());
    let shutdown = tokio::spawn(proxy.shutdown());
    let mut rest = Vec::new();
    while let Some(chunk) = tokio::time::timeout(WAIT, stream.next()).await.unwrap() {
        rest.extend_from_slice(&chunk.unwrap());
    }
    let rest = String::from_utf8(rest).unwrap();
    assert!(
        rest.ends_with("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"),
        "{rest}"
    );
    tokio::time::timeout(WAIT, shutdown).await.unwrap().unwrap();
    let refused = crate::harness::client()
        .get(url)
        .timeout(Duration::from_secs(5))
        .send()
        .await;
    assert!(refused.is_err(), "the listener is closed");
}

#[tokio::test]
async fn request_ids_are_echoed_or_generated() {
    let proxy = Proxy::start("").await;
    let reply = proxy
        .post_with(
            "/v1/messages",
            &messages("x"),
            &[("x-request-id", "client-id-1")],
        )
        .await;
    assert_eq!(reply.header("x-request-id"), Some("client-id-1"));
    let reply = proxy
        .post_with(
            "/v1/messages",
            &messages("x"),
            &[("x-request-id", "bad id with spaces")],
        )
        .await;
    let generated = reply.header("x-request-id").unwrap();
    assert_eq!(generated.len(), 24);
    assert!(generated.chars().all(|c| c.is_ascii_hexdigit()));
}
