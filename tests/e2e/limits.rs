//! Connection and body limits (`server.*`, `streaming.max-event-mib`): slow request heads and
//! bodies, connections per client address, and upstream SSE events that never end.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Value, json};
use switchyard_mock::{Fault, MockUpstream};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use crate::harness::{Proxy, WAIT, read};

/// `extra`, then the Claude keys `keys` on `mock`, tried in order (falling priorities).
fn claude(mock: &MockUpstream, keys: &[&str], extra: &str) -> String {
    let mut yaml = format!("{extra}routing:\n  strategy: fill-first\nclaude-api-key:\n");
    for (i, key) in keys.iter().enumerate() {
        yaml.push_str(&format!(
            "  - api-key: {key}\n    base-url: {}\n    priority: {}\n",
            mock.base_url(),
            keys.len() - i
        ));
    }
    yaml
}

fn load(counter: &AtomicU64) -> u64 {
    counter.load(Ordering::Relaxed)
}

/// Waits until `done` holds, polling the proxy's state.
async fn until(what: &str, mut done: impl FnMut() -> bool) {
    tokio::time::timeout(WAIT, async {
        while !done() {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("timed out waiting for {what}"));
}

/// Reads until the server closes the connection: what it sent before closing. A reset counts
/// as a close.
async fn read_until_closed(stream: &mut TcpStream) -> Vec<u8> {
    let mut received = Vec::new();
    let outcome = tokio::time::timeout(WAIT, async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) => return,
                Ok(n) => received.extend_from_slice(&buf[..n]),
                Err(error) if error.kind() == std::io::ErrorKind::ConnectionReset => return,
                Err(error) => panic!("reading: {error}"),
            }
        }
    })
    .await;
    assert!(
        outcome.is_ok(),
        "the server kept the connection open; received {:?}",
        String::from_utf8_lossy(&received)
    );
    received
}

/// A connection to `server` from `local` (any port).
async fn connect_from(local: &str, server: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket
        .bind(SocketAddr::new(local.parse::<IpAddr>().unwrap(), 0))
        .unwrap();
    socket.connect(server).await.unwrap()
}

fn server_addr(proxy: &Proxy) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], proxy.port()))
}

#[tokio::test]
async fn a_request_head_that_stops_halfway_is_closed_after_the_header_read_timeout() {
    let proxy = Proxy::start("server:\n  header-read-timeout-ms: 200\n").await;
    let limits = &proxy.runtime().metrics.limits;
    assert_eq!(load(&limits.header_read_timeouts), 0);
    let mut stream = TcpStream::connect(server_addr(&proxy)).await.unwrap();
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: x")
        .await
        .unwrap();
    let received = read_until_closed(&mut stream).await;
    let text = String::from_utf8_lossy(&received);
    assert!(
        received.is_empty() || text.starts_with("HTTP/1.1 408"),
        "expected a close or a 408, got {text:?}"
    );
    until("the header-read timeout to be counted", || {
        load(&limits.header_read_timeouts) >= 1
    })
    .await;
    let metrics = proxy.metrics().await;
    assert!(
        metrics.contains("switchyard_connections_timed_out_total{phase=\"header_read\"} "),
        "{metrics}"
    );
    proxy.shutdown().await;
}

#[tokio::test]
async fn a_silent_connection_is_closed_after_the_header_read_timeout() {
    let proxy = Proxy::start("server:\n  header-read-timeout-ms: 200\n").await;
    let mut stream = TcpStream::connect(server_addr(&proxy)).await.unwrap();
    let received = read_until_closed(&mut stream).await;
    assert!(received.is_empty(), "{received:?}");
    let limits = &proxy.runtime().metrics.limits;
    until("the timeout to be counted", || {
        load(&limits.header_read_timeouts) == 1
    })
    .await;
    proxy.shutdown().await;
}

#[tokio::test]
async fn the_connection_past_the_per_address_cap_is_closed_while_other_addresses_are_served() {
    let mock = MockUpstream::start().await.unwrap();
    // No header-read timeout: the held connections stay open however slow the machine is.
    let proxy = Proxy::start(&claude(
        &mock,
        &["a"],
        "server:\n  max-connections-per-ip: 8\n  header-read-timeout-ms: 0\n",
    ))
    .await;
    let limits = &proxy.runtime().metrics.limits;
    let addr = server_addr(&proxy);
    let mut held = Vec::new();
    for _ in 0..8 {
        held.push(connect_from("127.0.0.2", addr).await);
    }
    until("8 connections open", || load(&limits.open_connections) == 8).await;

    let mut ninth = connect_from("127.0.0.2", addr).await;
    let received = read_until_closed(&mut ninth).await;
    assert!(received.is_empty(), "{received:?}");
    assert_eq!(load(&limits.refused_per_ip), 1);

    // Another address is served: a real request, answered by the upstream.
    let other = reqwest::Client::builder()
        .no_proxy()
        .local_address("127.0.0.3".parse::<IpAddr>().unwrap())
        .build()
        .unwrap();
    let reply = read(
        other
            .post(proxy.url("/v1/messages"))
            .json(&crate::harness::messages("claude-sonnet-4"))
            .send()
            .await
            .expect("served"),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.credential(), "a");

    // A closed connection frees its place for the same address.
    drop(held.pop());
    until("the closed connection to be released", || {
        load(&limits.open_connections) <= 8
    })
    .await;
    let same = reqwest::Client::builder()
        .no_proxy()
        .local_address("127.0.0.2".parse::<IpAddr>().unwrap())
        .build()
        .unwrap();
    let reply = read(
        same.post(proxy.url("/v1/messages"))
            .json(&crate::harness::messages("claude-sonnet-4"))
            .send()
            .await
            .expect("served once there is room"),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text());

    let metrics = proxy.metrics().await;
    assert!(
        metrics.contains(
            "switchyard_connections_refused_total{reason=\"max_connections_per_ip\"} 1\n"
        ),
        "{metrics}"
    );
    drop(held);
    proxy.shutdown().await;
}

#[tokio::test]
async fn a_request_body_that_stalls_gets_408() {
    let proxy = Proxy::start("server:\n  body-read-timeout-ms: 200\n").await;
    let mut stream = TcpStream::connect(server_addr(&proxy)).await.unwrap();
    stream
        .write_all(
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"model\":",
        )
        .await
        .unwrap();
    let received = read_until_closed(&mut stream).await;
    let text = String::from_utf8_lossy(&received);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    let body = text.split("\r\n\r\n").nth(1).expect("a body");
    let error: Value = serde_json::from_str(body).expect("a JSON body");
    assert_eq!(error["error"]["code"], "request_timeout");
    assert_eq!(error["error"]["type"], "invalid_request_error");
    let limits = &proxy.runtime().metrics.limits;
    assert_eq!(load(&limits.body_read_timeouts), 1);
    let metrics = proxy.metrics().await;
    assert!(
        metrics.contains("switchyard_request_body_timeouts_total 1\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("route=\"/v1/chat/completions\",status=\"408\""),
        "{metrics}"
    );
    proxy.shutdown().await;
}

fn streaming_messages() -> Value {
    json!({
        "model": "claude-sonnet-4",
        "max_tokens": 64,
        "stream": true,
        "messages": [{ "role": "user", "content": "hello" }],
    })
}

#[tokio::test]
async fn an_endless_event_before_the_first_byte_fails_over_to_the_next_credential() {
    let mock = MockUpstream::start().await.unwrap();
    mock.set_fault("a", Fault::oversized_event_after(0, 3 << 20));
    let proxy = Proxy::start(&claude(
        &mock,
        &["a", "b"],
        "streaming:\n  max-event-mib: 1\n",
    ))
    .await;
    let response = proxy
        .client
        .post(proxy.url("/v1/messages"))
        .json(&streaming_messages())
        .send()
        .await
        .unwrap();
    let reply = tokio::time::timeout(WAIT, read(response))
        .await
        .expect("the stream completes");
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.credential(), "b");
    let text = reply.text();
    assert!(text.contains("message_stop"), "{text}");
    assert!(!text.contains("xxxx"), "credential a's event leaked");
    assert_eq!(
        mock.request_count_for("a"),
        1,
        "{:?}",
        mock.request_counts()
    );
    let limits = &proxy.runtime().metrics.limits;
    assert_eq!(load(&limits.oversized_events_before_first_byte), 1);
    assert_eq!(load(&limits.oversized_events_after_first_byte), 0);
    let metrics = proxy.metrics().await;
    assert!(
        metrics.contains("switchyard_sse_oversized_events_total{phase=\"before_first_byte\"} 1\n"),
        "{metrics}"
    );
    proxy.shutdown().await;
}

#[tokio::test]
async fn an_endless_event_after_the_first_byte_ends_with_the_protocols_error_event() {
    let mock = MockUpstream::start().await.unwrap();
    mock.set_fault("a", Fault::oversized_event_after(1, 3 << 20));
    let proxy = Proxy::start(&claude(&mock, &["a"], "streaming:\n  max-event-mib: 1\n")).await;
    let response = proxy
        .client
        .post(proxy.url("/v1/messages"))
        .json(&streaming_messages())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let reply = tokio::time::timeout(WAIT, read(response))
        .await
        .expect("the stream ends");
    let text = reply.text();
    assert!(text.starts_with("event: message_start"), "{text}");
    let error = text
        .split("event: error\ndata: ")
        .nth(1)
        .unwrap_or_else(|| panic!("no error event in {text}"));
    let error: Value = serde_json::from_str(error.trim_end()).unwrap();
    assert_eq!(error["type"], "error");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("streaming.max-event-mib"),
        "{error}"
    );
    assert!(!text.contains("xxxx"), "the endless event leaked");
    let limits = &proxy.runtime().metrics.limits;
    assert_eq!(load(&limits.oversized_events_after_first_byte), 1);
    assert_eq!(load(&limits.oversized_events_before_first_byte), 0);
    proxy.shutdown().await;
}

#[tokio::test]
async fn an_http1_connection_idle_after_its_response_is_closed() {
    // The header-read clock (which hyper also runs between requests) is off: only the idle
    // timeout can close the connection.
    let proxy = Proxy::start(
        "metrics:\n  public: true\nserver:\n  idle-timeout-ms: 200\n  header-read-timeout-ms: 0\n",
    )
    .await;
    let mut stream = TcpStream::connect(server_addr(&proxy)).await.unwrap();
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    let received = read_until_closed(&mut stream).await;
    let text = String::from_utf8_lossy(&received);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    let limits = &proxy.runtime().metrics.limits;
    assert_eq!(load(&limits.idle_timeouts), 1);
    proxy.shutdown().await;
}

#[tokio::test]
async fn an_idle_http2_connection_is_closed() {
    let proxy = Proxy::start(
        "metrics:\n  public: true\nserver:\n  idle-timeout-ms: 200\n  header-read-timeout-ms: 0\n",
    )
    .await;
    let client = reqwest::Client::builder()
        .no_proxy()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let response = client.get(proxy.url("/metrics")).send().await.unwrap();
    assert_eq!(response.version(), reqwest::Version::HTTP_2);
    assert_eq!(response.status(), 200);
    response.bytes().await.unwrap();
    let limits = &proxy.runtime().metrics.limits;
    until("the idle HTTP/2 connection to be closed", || {
        load(&limits.idle_timeouts) == 1 && load(&limits.open_connections) == 0
    })
    .await;
    // The client notices and connects again.
    let again = client.get(proxy.url("/metrics")).send().await.unwrap();
    assert_eq!(again.status(), 200);
    proxy.shutdown().await;
}

#[tokio::test]
async fn past_max_connections_new_connections_wait_until_one_closes() {
    let proxy = Proxy::start(
        "metrics:\n  public: true\nserver:\n  max-connections: 2\n  header-read-timeout-ms: 0\n",
    )
    .await;
    let limits = &proxy.runtime().metrics.limits;
    let addr = server_addr(&proxy);
    let first = TcpStream::connect(addr).await.unwrap();
    let _second = TcpStream::connect(addr).await.unwrap();
    until("2 connections open", || load(&limits.open_connections) == 2).await;
    // The loop that accepted the second pauses (with `server.runtime: per-core` another
    // core's loop may still wait in accept, and holds what it accepts until one closes).
    until("an accept loop to pause", || {
        load(&limits.accept_paused) >= 1
    })
    .await;
    // A third connection waits in the backlog (it is not refused) ...
    let client = crate::harness::client();
    let url = proxy.url("/metrics");
    let waiting = tokio::spawn(async move { client.get(url).send().await });
    assert_eq!(load(&limits.refused_per_ip), 0);
    // ... and is served once one of the two closes.
    drop(first);
    let response = tokio::time::timeout(WAIT, waiting)
        .await
        .expect("served after a close")
        .unwrap()
        .expect("a response");
    assert_eq!(response.status(), 200);
    assert!(load(&limits.open_connections) <= 2);
    proxy.shutdown().await;
}
