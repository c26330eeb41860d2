//! `GET /v0/management/events`: the live event stream — what it carries (usage, credential and
//! reload events), its limits (8 streams, a slow reader dropped alone) and when it ends (the
//! key rotates, management is turned off).

use serde_json::Value;
use switchyard_mock::{Fault, MockUpstream};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::harness::{Proxy, WAIT, guests, messages, trap_from_four_clients};

const SECRET: &str = "events-admin";
const PATH: &str = "/v0/management/events";

fn config(mock: &MockUpstream, secret: &str, extra: &str) -> String {
    let base = mock.base_url();
    format!(
        "usage-statistics-enabled: true\nremote-management:\n  secret-key: {secret}\n\
         claude-api-key:\n  - api-key: claude-key\n    base-url: {base}\n{extra}"
    )
}

/// One open event stream, read event by event.
struct Events {
    response: reqwest::Response,
    buffer: String,
}

impl Events {
    /// Opens a stream with `key`; panics unless it is accepted.
    async fn open(proxy: &Proxy, key: &str) -> Events {
        let response = proxy
            .client
            .get(proxy.url(PATH))
            .bearer_auth(key)
            .send()
            .await
            .expect("request sent");
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.headers()["content-type"].to_str().unwrap(),
            "text/event-stream"
        );
        let mut events = Events {
            response,
            buffer: String::new(),
        };
        // The first comment says the subscription is in place: later events reach it.
        let first = tokio::time::timeout(WAIT, events.response.chunk())
            .await
            .expect("the opening comment within the deadline")
            .expect("stream readable");
        assert_eq!(first.as_deref(), Some(&b": connected\n\n"[..]));
        events
    }

    /// The next event `(kind, data)`; `None` when the stream ended. Comments are skipped. No
    /// deadline of its own: callers bound it.
    async fn next(&mut self) -> Option<(String, Value)> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut kind = None;
                let mut data = None;
                for line in block.lines() {
                    if let Some(name) = line.strip_prefix("event: ") {
                        kind = Some(name.to_owned());
                    } else if let Some(json) = line.strip_prefix("data: ") {
                        data = Some(serde_json::from_str(json).expect("data is JSON"));
                    }
                }
                match (kind, data) {
                    (Some(kind), Some(data)) => return Some((kind, data)),
                    _ => continue,
                }
            }
            let chunk = self.response.chunk().await.ok()??;
            self.buffer.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }

    /// Reads until an event of `kind` for which `wanted` holds (panics past the deadline).
    async fn until(&mut self, kind: &str, wanted: impl Fn(&Value) -> bool) -> Value {
        let found = async {
            loop {
                match self.next().await {
                    Some((k, data)) if k == kind && wanted(&data) => return data,
                    Some(_) => {}
                    None => panic!("the stream ended before a {kind} event"),
                }
            }
        };
        tokio::time::timeout(WAIT, found)
            .await
            .unwrap_or_else(|_| panic!("no {kind} event within the deadline"))
    }

    /// Reads until the stream ends (panics past the deadline: keepalives do not extend it).
    async fn ended(&mut self) {
        let end = async { while self.next().await.is_some() {} };
        tokio::time::timeout(WAIT, end)
            .await
            .expect("the stream ends within the deadline");
    }
}

/// The `secret-key` the config file holds now (its bcrypt hash once the proxy loaded it):
/// a rewrite that keeps it keeps the login, while writing the plaintext again would store a
/// new hash.
fn stored_secret(proxy: &Proxy) -> String {
    let text = std::fs::read_to_string(proxy.config_path()).unwrap();
    let line = text
        .lines()
        .find_map(|line| line.trim().strip_prefix("secret-key:"))
        .expect("a secret-key line");
    format!("'{}'", line.trim().trim_matches('"').trim_matches('\''))
}

async fn status_of(proxy: &Proxy, key: Option<&str>) -> (u16, String) {
    let mut request = proxy.client.get(proxy.url(PATH));
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    let response = request.send().await.expect("request sent");
    let status = response.status().as_u16();
    if status == 200 {
        // An open stream: its body never ends.
        return (status, String::new());
    }
    (status, response.text().await.unwrap())
}

fn metric(metrics: &str, line_start: &str) -> u64 {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(line_start)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {line_start} in /metrics"))
}

#[tokio::test]
async fn a_stream_carries_usage_credential_and_reload_events() {
    let mock = MockUpstream::start().await.unwrap();
    let proxy = Proxy::start(&config(&mock, SECRET, "")).await;
    let mut events = Events::open(&proxy, SECRET).await;

    assert_eq!(proxy.claude_turn().await.status, 200);
    let usage = events
        .until("usage", |u| u["model"] == "claude-sonnet-4")
        .await;
    assert_eq!(usage["failed"], false);
    let credential = usage["credential"].as_str().unwrap().to_owned();
    assert!(!credential.is_empty());

    mock.set_fault("claude-key", Fault::status(429).times(1));
    assert_eq!(proxy.claude_turn().await.status, 429);
    let cooling = events.until("credential", |_| true).await;
    assert_eq!(cooling["id"], credential.as_str());
    assert_eq!(cooling["state"], "cooling");
    assert_eq!(cooling["model"], "claude-sonnet-4");
    assert_eq!(cooling["reason"], "quota");
    assert!(cooling["until"].as_str().unwrap().ends_with('Z'));

    let status = proxy
        .rewrite_config(&config(&mock, &stored_secret(&proxy), "request-retry: 2\n"))
        .await;
    let reload = events
        .until("reload", |r| r["generation"] == status.generation)
        .await;
    assert_eq!(reload["failures"], 0);
    assert_eq!(reload["last_error"], Value::Null);

    // A config that does not load is a reload event too, with its error.
    let status = proxy.rewrite_config("port: [not a port\n").await;
    assert_eq!(status.failures, 1);
    let failed = events.until("reload", |r| r["failures"] == 1).await;
    assert!(failed["last_error"].as_str().is_some_and(|e| !e.is_empty()));
    proxy.shutdown().await;
}

#[tokio::test]
async fn a_stream_carries_plugin_quarantines_and_failed_files() {
    let mock = MockUpstream::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("misbehave.wasm"), guests::MISBEHAVE.bytes()).unwrap();
    let plugins = format!(
        "plugins:\n  dir: {}\nauth:\n  providers:\n    - name: flaky\n      type: misbehave\n      config: {{mode: panic}}\n",
        dir.path().display()
    );
    let proxy = Proxy::start(&config(&mock, SECRET, &plugins)).await;
    let mut events = Events::open(&proxy, SECRET).await;

    // Every call traps, from four client addresses: the instance is quarantined.
    trap_from_four_clients(&proxy, 10).await;
    let quarantined = events
        .until("plugin", |p| p["state"] == "quarantined")
        .await;
    assert_eq!(quarantined["plugin"], "misbehave");
    assert_eq!(quarantined["instance"], "flaky");
    assert!(
        quarantined["until"].as_str().unwrap().ends_with('Z'),
        "{quarantined}"
    );

    // A file that is no component: a `failed` event naming it.
    std::fs::write(dir.path().join("broken.wasm"), b"not a component").unwrap();
    let failed = events.until("plugin", |p| p["state"] == "failed").await;
    assert_eq!(failed["file"], "broken.wasm");
    assert!(!failed["error"].as_str().unwrap().is_empty(), "{failed}");
}

#[tokio::test]
async fn a_quiet_stream_gets_keepalive_comments_and_still_carries_events() {
    let mock = MockUpstream::start().await.unwrap();
    let proxy = Proxy::start_with(&config(&mock, SECRET, ""), |options| {
        options.with_event_keepalive(std::time::Duration::from_millis(100))
    })
    .await;
    let mut events = Events::open(&proxy, SECRET).await;
    // Nothing happens: two keepalive comments in a row.
    for _ in 0..2 {
        let chunk = tokio::time::timeout(WAIT, events.response.chunk())
            .await
            .expect("a keepalive within the deadline")
            .expect("stream readable");
        assert_eq!(chunk.as_deref(), Some(&b": keepalive\n\n"[..]));
    }
    // The stream still carries what happens next.
    assert_eq!(proxy.claude_turn().await.status, 200);
    let usage = events
        .until("usage", |u| u["model"] == "claude-sonnet-4")
        .await;
    assert_eq!(usage["failed"], false);
}

#[tokio::test]
async fn without_a_valid_key_the_stream_is_refused() {
    let mock = MockUpstream::start().await.unwrap();
    let proxy = Proxy::start(&config(&mock, SECRET, "")).await;
    let (status, body) = status_of(&proxy, None).await;
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("missing management key"), "{body}");
    let (status, body) = status_of(&proxy, Some("wrong")).await;
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("invalid management key"), "{body}");
    assert_eq!(proxy.runtime().events.subscribers(), 0);
}

#[tokio::test]
async fn the_ninth_stream_is_refused_and_a_closed_one_frees_its_slot() {
    let mock = MockUpstream::start().await.unwrap();
    let proxy = Proxy::start(&config(&mock, SECRET, "")).await;
    let mut open = Vec::new();
    for _ in 0..8 {
        open.push(Events::open(&proxy, SECRET).await);
    }
    let (status, body) = status_of(&proxy, Some(SECRET)).await;
    assert_eq!(status, 429);
    let error: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(error["error"], "too many event streams (at most 8)");
    assert_eq!(
        metric(
            &proxy.metrics().await,
            "switchyard_event_streams_refused_total"
        ),
        1
    );

    // Closing one (the client goes away) frees its slot once the server sees the connection
    // close: the next stream is accepted.
    drop(open.pop());
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut tries = 0;
    loop {
        tries += 1;
        let response = proxy
            .client
            .get(proxy.url(PATH))
            .bearer_auth(SECRET)
            .send()
            .await
            .unwrap();
        if response.status() == 200 {
            break;
        }
        assert_eq!(response.status(), 429);
        assert!(
            tokio::time::Instant::now() < deadline,
            "slot not freed after {tries} tries"
        );
        // Each try is a full round trip; give the server's connection task a turn.
        tokio::task::yield_now().await;
    }
    eprintln!("slot freed after {tries} tries");
    drop(open);
    proxy.shutdown().await;
}

/// A stream whose client never reads: a socket with a small receive buffer that sent its
/// request and then reads nothing.
async fn never_reading_stream(proxy: &Proxy) -> tokio::net::TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stream = socket
        .connect(format!("127.0.0.1:{}", proxy.port()).parse().unwrap())
        .await
        .unwrap();
    stream
        .write_all(
            format!(
                "GET {PATH} HTTP/1.1\r\nhost: localhost\r\nauthorization: Bearer {SECRET}\r\n\r\n"
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    // Read the head and the opening comment (the subscription is in place), then nothing more.
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b": connected\n\n") {
        let read = tokio::time::timeout(WAIT, stream.read(&mut byte))
            .await
            .expect("the head within the deadline")
            .unwrap();
        assert_eq!(read, 1, "closed early: {}", String::from_utf8_lossy(&head));
        head.push(byte[0]);
    }
    assert!(
        head.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&head)
    );
    stream
}

#[tokio::test]
async fn a_reader_that_falls_behind_is_dropped_alone() {
    let mock = MockUpstream::start().await.unwrap();
    // Larger events (a long model alias) fill the slow client's socket and the server's write
    // buffer sooner.
    let model = format!("claude-{}", "x".repeat(240));
    let base = mock.base_url();
    let proxy = Proxy::start(&format!(
        "usage-statistics-enabled: true\nremote-management:\n  secret-key: {SECRET}\n\
         claude-api-key:\n  - api-key: claude-key\n    base-url: {base}\n    models:\n\
         \x20     - name: claude-sonnet-4\n        alias: {model}\n"
    ))
    .await;
    let mut fast = Events::open(&proxy, SECRET).await;
    let slow = never_reading_stream(&proxy).await;
    let runtime = proxy.runtime().clone();
    assert_eq!(runtime.events.subscribers(), 2);

    // The fast reader keeps reading on its own task and counts the usage events it sees.
    let (seen_tx, mut seen) = tokio::sync::mpsc::unbounded_channel();
    let reader = tokio::spawn(async move {
        while let Some((kind, _)) = fast.next().await {
            if kind == "usage" {
                let _ = seen_tx.send(());
            }
        }
    });

    // Requests go on until the hub drops the slow subscriber.
    let body = messages(&model);
    let deadline = tokio::time::Instant::now() + WAIT * 4;
    let mut sent = 0u64;
    while runtime.events.dropped_slow() == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "slow stream not dropped after {sent} requests"
        );
        let batch = (0..32).map(|_| proxy.post("/v1/messages", &body));
        for reply in futures_util::future::join_all(batch).await {
            assert_eq!(reply.status, 200, "{}", reply.text());
            sent += 1;
        }
    }
    eprintln!("slow stream dropped after {sent} requests");
    assert_eq!(runtime.events.dropped_slow(), 1);
    assert_eq!(runtime.events.subscribers(), 1, "the fast stream stays");
    assert_eq!(
        metric(
            &proxy.metrics().await,
            "switchyard_event_streams_closed_total{reason=\"slow\"}"
        ),
        1
    );

    // The fast reader saw every request's usage event, and sees the next one too.
    assert_eq!(proxy.post("/v1/messages", &body).await.status, 200);
    for _ in 0..=sent {
        tokio::time::timeout(WAIT, seen.recv())
            .await
            .expect("a usage event within the deadline")
            .expect("the fast stream still open");
    }
    drop(slow);
    reader.abort();
    proxy.shutdown().await;
}

#[tokio::test]
async fn a_stream_ends_when_the_key_rotates_or_management_is_turned_off() {
    let mock = MockUpstream::start().await.unwrap();
    let proxy = Proxy::start(&config(&mock, SECRET, "")).await;
    let mut old = Events::open(&proxy, SECRET).await;
    proxy
        .rewrite_config(&config(&mock, "rotated-key", ""))
        .await;
    old.ended().await;
    let metrics = proxy.metrics().await;
    assert_eq!(
        metric(
            &metrics,
            "switchyard_event_streams_closed_total{reason=\"revoked\"}"
        ),
        1
    );

    // A reload that keeps the key keeps the stream; one that turns management off ends it.
    let mut current = Events::open(&proxy, "rotated-key").await;
    let status = proxy
        .rewrite_config(&config(&mock, &stored_secret(&proxy), "request-retry: 2\n"))
        .await;
    current
        .until("reload", |r| r["generation"] == status.generation)
        .await;
    assert_eq!(proxy.runtime().events.subscribers(), 1, "still open");
    let base = mock.base_url();
    proxy
        .rewrite_config(&format!(
            "claude-api-key:\n  - api-key: claude-key\n    base-url: {base}\n"
        ))
        .await;
    current.ended().await;
    assert_eq!(proxy.runtime().events.subscribers(), 0);
    proxy.shutdown().await;
}
