//! The Redis-protocol usage feed on the main port, driven by the real `redis-cli`, and HTTP on
//! the same port.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use switchyard_mock::MockUpstream;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::harness::{Proxy, SelfSigned, WAIT, ban_seconds_left, messages, read};

const SECRET: &str = "feed-admin";

/// The reference's first message of a `usage` subscription.
const SUPPORT_REFRESH: &str = r#"{"support_refresh":true}"#;

/// The answer to `SUBSCRIBE usage`: the confirmation, then the `support_refresh` message.
const SUBSCRIBED: &str = "*3\r\n$9\r\nsubscribe\r\n$5\r\nusage\r\n:1\r\n\
     *3\r\n$7\r\nmessage\r\n$5\r\nusage\r\n$24\r\n{\"support_refresh\":true}\r\n";

fn config(mock: &MockUpstream) -> String {
    format!(
        "usage-statistics-enabled: true\nremote-management:\n  secret-key: {SECRET}\n\
         claude-api-key:\n  - api-key: claude-key\n    base-url: {}\n",
        mock.base_url()
    )
}

/// Runs `redis-cli -p <port> --raw <args>` and returns its stdout and stderr, trimmed.
async fn redis_cli(port: u16, args: &[&str]) -> (String, String) {
    let mut command = Command::new("redis-cli");
    command
        .args(["-h", "127.0.0.1", "-p", &port.to_string(), "--raw"])
        .args(args);
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .expect("redis-cli runs (install redis-tools)");
    (
        String::from_utf8_lossy(&output.stdout).trim().to_owned(),
        String::from_utf8_lossy(&output.stderr).trim().to_owned(),
    )
}

/// `redis-cli -a SECRET …`.
async fn authed(port: u16, args: &[&str]) -> String {
    let mut all = vec!["-a", SECRET, "--no-auth-warning"];
    all.extend_from_slice(args);
    redis_cli(port, &all).await.0
}

#[tokio::test]
async fn redis_cli_authenticates_and_pops_usage_records() {
    let mock = MockUpstream::start().await.unwrap();
    let proxy = Proxy::start(&config(&mock)).await;
    let port = proxy.port();

    let (out, _) = redis_cli(port, &["LPOP", "usage"]).await;
    assert_eq!(out, "NOAUTH Authentication required.");
    let (out, err) = redis_cli(port, &["-a", "wrong", "--no-auth-warning", "PING"]).await;
    assert!(
        format!("{out}{err}").contains("invalid management key"),
        "{out} / {err}"
    );
    assert_eq!(authed(port, &["PING"]).await, "PONG");
    assert_eq!(authed(port, &["LPOP", "usage"]).await, "", "nothing yet");

    let reply = proxy.claude_turn().await;
    assert_eq!(reply.status, 200);
    let popped = authed(port, &["LPOP", "usage"]).await;
    let record: Value = serde_json::from_str(&popped).expect("a JSON record");
    assert_eq!(record["model"], "claude-sonnet-4");
    assert_eq!(record["provider"], "claude");
    assert_eq!(record["request_id"].as_str(), reply.header("x-request-id"));
    assert!(record["tokens"]["input_tokens"].as_u64().unwrap() > 0);
    assert_eq!(authed(port, &["LPOP", "usage"]).await, "");

    for _ in 0..2 {
        proxy.claude_turn().await;
    }
    let popped = authed(port, &["RPOP", "usage", "10"]).await;
    assert_eq!(popped.lines().count(), 2, "{popped}");
    assert!(
        popped
            .lines()
            .all(|l| serde_json::from_str::<Value>(l).is_ok())
    );
    assert_eq!(
        authed(port, &["LPOP", "queue"]).await,
        "ERR unsupported channel 'queue'"
    );
    assert_eq!(
        authed(port, &["LPOP", "usage", "0"]).await,
        "ERR value is not an integer or out of range"
    );
    assert_eq!(
        authed(port, &["GET", "x"]).await,
        "ERR unknown command 'get'"
    );
}

#[tokio::test]
async fn subscribers_receive_records_as_they_happen() {
    let mock = MockUpstream::start().await.unwrap();
    let proxy = Proxy::start(&config(&mock)).await;
    let mut child = Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "-p", &proxy.port().to_string()])
        .args([
            "-a",
            SECRET,
            "--no-auth-warning",
            "--raw",
            "SUBSCRIBE",
            "usage",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("redis-cli runs");
    let stdout = child.stdout.take().unwrap();
    let (lines_tx, mut lines) = tokio::sync::mpsc::unbounded_channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut next = async || {
        tokio::time::timeout(WAIT, lines.recv())
            .await
            .expect("redis-cli printed a line")
            .expect("redis-cli still running")
    };
    // The confirmation: subscribe, usage, 1 — the subscription is registered; then the
    // reference's first message.
    assert_eq!(next().await, "subscribe");
    assert_eq!(next().await, "usage");
    assert_eq!(next().await, "1");
    assert_eq!(next().await, "message");
    assert_eq!(next().await, "usage");
    assert_eq!(next().await, SUPPORT_REFRESH);

    let reply = proxy.claude_turn().await;
    assert_eq!(reply.status, 200);
    assert_eq!(next().await, "message");
    assert_eq!(next().await, "usage");
    let record: Value = serde_json::from_str(&next().await).unwrap();
    assert_eq!(record["request_id"].as_str(), reply.header("x-request-id"));
    // Records went to the subscriber, not the queue.
    assert!(proxy.runtime().usage.feed.is_empty());
    child.kill().unwrap();
    child.wait().unwrap();
}

#[tokio::test]
async fn commands_before_auth_do_not_count_towards_the_shared_ban() {
    let mock = MockUpstream::start().await.unwrap();
    let proxy = Proxy::start(&config(&mock)).await;
    let port = proxy.port();
    // A departure from the reference: `redis-cli` without `-a` cannot ban this machine.
    for _ in 0..6 {
        let (out, _) = redis_cli(port, &["LPOP", "usage"]).await;
        assert_eq!(out, "NOAUTH Authentication required.");
    }
    assert_eq!(authed(port, &["PING"]).await, "PONG");
    // Wrong keys do count, with the same counters as HTTP.
    for _ in 0..5 {
        let (out, err) = redis_cli(port, &["-a", "wrong", "--no-auth-warning", "PING"]).await;
        assert!(
            format!("{out}{err}").contains("invalid management key"),
            "{out} / {err}"
        );
    }
    let (out, _) = redis_cli(port, &["LPOP", "usage"]).await;
    let left = ban_seconds_left(out.strip_prefix("ERR ").unwrap_or(&out));
    assert!((1790..=1800).contains(&left), "{out}");
    // The right key is refused over HTTP too.
    let reply = read(
        proxy
            .request(Method::GET, "/v0/management/config")
            .bearer_auth(SECRET)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(reply.status, 403);
    proxy.clock.advance(Duration::from_secs(30 * 60 + 1));
    assert_eq!(authed(port, &["PING"]).await, "PONG");
}

/// A raw RESP connection.
struct Raw {
    stream: tokio::net::TcpStream,
}

impl Raw {
    async fn connect(port: u16) -> Raw {
        let stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .unwrap();
        Raw { stream }
    }

    /// Sends a command as an array of bulk strings.
    async fn send(&mut self, args: &[&str]) {
        let mut bytes = format!("*{}\r\n", args.len()).into_bytes();
        for arg in args {
            bytes.extend_from_slice(format!("${}\r\n{arg}\r\n", arg.len()).as_bytes());
        }
        self.stream.write_all(&bytes).await.unwrap();
    }

    /// Reads exactly `want`'s length and compares.
    async fn expect(&mut self, want: &str) {
        let mut got = vec![0; want.len()];
        tokio::time::timeout(WAIT, self.stream.read_exact(&mut got))
            .await
            .expect("an answer within the deadline")
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&got), want);
    }

    /// Reads until the server closes the connection.
    async fn until_closed(mut self) -> String {
        let mut rest = Vec::new();
        tokio::time::timeout(WAIT, self.stream.read_to_end(&mut rest))
            .await
            .expect("the server closes the connection")
            .unwrap();
        String::from_utf8_lossy(&rest).into_owned()
    }
}

/// A counter's value on `/metrics`.
async fn metric(proxy: &Proxy, line_prefix: &str) -> u64 {
    let text = proxy.metrics().await;
    text.lines()
        .find_map(|line| line.strip_prefix(line_prefix))
        .unwrap_or_else(|| panic!("{line_prefix} missing from /metrics"))
        .trim()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn before_auth_a_command_is_small_and_refused_from_its_declared_size() {
    let mock = MockUpstream::start().await.unwrap();
    let proxy = Proxy::start(&config(&mock)).await;
    let refused = "-ERR before AUTH a command has at most 3 arguments of at most 1 KiB\r\n";
    // Only the headers: the answer comes without any body sent (nothing is allocated for it).
    assert_eq!(
        exchange(proxy.port(), b"*1\r\n$1073741824\r\n").await,
        refused
    );
    assert_eq!(exchange(proxy.port(), b"*1\r\n$2048\r\n").await, refused);
    assert_eq!(
        exchange(
            proxy.port(),
            b"*4\r\n$4\r\nAUTH\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n"
        )
        .await,
        refused
    );
    assert_eq!(
        metric(
            &proxy,
            "switchyard_resp_connections_closed_total{reason=\"oversized\"} "
        )
        .await,
        3
    );
    // After AUTH, larger commands are fine.
    let mut raw = Raw::connect(proxy.port()).await;
    raw.send(&["AUTH", SECRET]).await;
    raw.expect("+OK\r\n").await;
    let big = "b".repeat(2048);
    raw.send(&["PING", &big]).await;
    raw.expect(&format!("$2048\r\n{big}\r\n")).await;
}

#[tokio::test]
async fn connections_that_are_not_subscribed_close_when_idle() {
    let mock = MockUpstream::start().await.unwrap();
    let proxy = Proxy::start_with(&config(&mock), |options| {
        options.with_resp_idle_timeout(Duration::from_millis(300))
    })
    .await;
    // A subscriber is never idle.
    let mut subscriber = Raw::connect(proxy.port()).await;
    subscriber.send(&["AUTH", SECRET]).await;
    subscriber.expect("+OK\r\n").await;
    subscriber.send(&["SUBSCRIBE", "usage"]).await;
    subscriber.expect(SUBSCRIBED).await;
    // Half a command, then nothing: closed.
    let mut partial = Raw::connect(proxy.port()).await;
    partial
        .stream
        .write_all(b"*2\r\n$4\r\nAUTH\r\n")
        .await
        .unwrap();
    assert_eq!(partial.until_closed().await, "");
    // Logged in but quiet: closed too.
    let mut quiet = Raw::connect(proxy.port()).await;
    quiet.send(&["AUTH", SECRET]).await;
    quiet.expect("+OK\r\n").await;
    assert_eq!(quiet.until_closed().await, "");
    assert_eq!(
        metric(
            &proxy,
            "switchyard_resp_connections_closed_total{reason=\"idle\"} "
        )
        .await,
        2
    );
    // The subscriber, quiet for longer than the timeout, still gets records.
    let reply = proxy.claude_turn().await;
    assert_eq!(reply.status, 200);
    subscriber
        .expect("*3\r\n$7\r\nmessage\r\n$5\r\nusage\r\n")
        .await;
}

#[tokio::test]
async fn sessions_end_when_the_management_key_is_rotated() {
    let mock = MockUpstream::start().await.unwrap();
    let proxy = Proxy::start(&config(&mock)).await;
    let mut subscriber = Raw::connect(proxy.port()).await;
    subscriber.send(&["AUTH", SECRET]).await;
    subscriber.expect("+OK\r\n").await;
    subscriber.send(&["SUBSCRIBE", "usage"]).await;
    subscriber.expect(SUBSCRIBED).await;
    let mut poller = Raw::connect(proxy.port()).await;
    poller.send(&["AUTH", SECRET]).await;
    poller.expect("+OK\r\n").await;

    let status = proxy
        .rewrite_config(&config(&mock).replace(SECRET, "rotated-admin"))
        .await;
    assert_eq!(status.last_error, None);
    let revoked = "-ERR the management key or settings changed; authenticate again\r\n";
    assert_eq!(subscriber.until_closed().await, revoked);
    assert_eq!(poller.until_closed().await, revoked);
    assert_eq!(
        metric(
            &proxy,
            "switchyard_resp_connections_closed_total{reason=\"revoked\"} "
        )
        .await,
        2
    );
    // The new key works; the old one does not.
    let mut fresh = Raw::connect(proxy.port()).await;
    fresh.send(&["AUTH", "rotated-admin"]).await;
    fresh.expect("+OK\r\n").await;
    fresh.send(&["AUTH", SECRET]).await;
    fresh.expect("-ERR invalid management key\r\n").await;
}

/// Sends raw bytes and reads until the server closes the connection.
async fn exchange(port: u16, bytes: &[u8]) -> String {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    stream.write_all(bytes).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(WAIT, stream.read_to_end(&mut answer))
        .await
        .expect("the server closes the connection")
        .unwrap();
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn protocol_errors_and_a_disabled_api_close_the_connection() {
    let mock = MockUpstream::start().await.unwrap();
    let proxy = Proxy::start(&config(&mock)).await;
    assert_eq!(
        exchange(proxy.port(), b"*1\r\n-oops\r\n").await,
        "-ERR protocol error\r\n"
    );
    assert_eq!(
        exchange(proxy.port(), b"*1\r\n$4\r\nQUIT\r\n").await,
        "+OK\r\n"
    );
    let unmanaged = Proxy::start(&format!(
        "claude-api-key:\n  - api-key: a\n    base-url: {}\n",
        mock.base_url()
    ))
    .await;
    // A departure from the reference, which closes silently.
    assert_eq!(
        exchange(unmanaged.port(), b"*2\r\n$4\r\nAUTH\r\n$1\r\nx\r\n").await,
        "-ERR the usage feed is off (no management secret)\r\n",
    );
    assert_eq!(
        exchange(unmanaged.port(), b"*1\r\n$4\r\nPING\r\n").await,
        "-ERR the usage feed is off (no management secret)\r\n",
    );
}

#[tokio::test]
async fn http_on_the_same_port_is_unaffected() {
    let mock = MockUpstream::start().await.unwrap();
    let proxy = Proxy::start(&config(&mock)).await;
    // Keep-alive: several requests over one HTTP/1.1 connection.
    let client = reqwest::Client::builder()
        .no_proxy()
        .http1_only()
        .pool_max_idle_per_host(1)
        .build()
        .unwrap();
    for _ in 0..3 {
        let response = client
            .post(proxy.url("/v1/messages"))
            .json(&messages("claude-sonnet-4"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        response.bytes().await.unwrap();
    }
    // A large body goes through whole.
    let big = "x".repeat(3 << 20);
    let body = json!({ "model": "claude-sonnet-4", "max_tokens": 16, "messages": [{ "role": "user", "content": big }] });
    let response = client
        .post(proxy.url("/v1/messages"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let last = mock.requests().pop().unwrap();
    assert!(last.body.len() > 3 << 20);
}

#[tokio::test]
async fn redis_cli_over_tls_and_https_share_the_port() {
    let mock = MockUpstream::start().await.unwrap();
    let tls = SelfSigned::generate();
    let proxy = Proxy::start(&format!("{}{}", tls.config(), config(&mock))).await;
    let (out, err) = redis_cli(
        proxy.port(),
        &[
            "--tls",
            "--cacert",
            tls.cert.to_str().unwrap(),
            "-a",
            SECRET,
            "--no-auth-warning",
            "PING",
        ],
    )
    .await;
    assert_eq!(out, "PONG", "{err}");
    let root = tls.root();
    let client = reqwest::Client::builder()
        .no_proxy()
        .tls_certs_only([root])
        .build()
        .unwrap();
    let response = client
        .post(proxy.url("/v1/messages").replace("http://", "https://"))
        .json(&messages("claude-sonnet-4"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.version(), http::Version::HTTP_2);
    response.bytes().await.unwrap();
    let popped = redis_cli(
        proxy.port(),
        &[
            "--tls",
            "--cacert",
            tls.cert.to_str().unwrap(),
            "-a",
            SECRET,
            "--no-auth-warning",
            "LPOP",
            "usage",
        ],
    )
    .await
    .0;
    assert!(serde_json::from_str::<Value>(&popped).is_ok(), "{popped}");
}

#[tokio::test]
async fn records_carry_a_key_fingerprint_and_a_trusted_proxy_peer_is_not_local() {
    let mock = MockUpstream::start().await.unwrap();
    let proxy = Proxy::start(&format!("api-keys: [resp-client-key]\n{}", config(&mock))).await;
    let port = proxy.port();
    let reply = proxy
        .post_with(
            "/v1/messages",
            &messages("claude-sonnet-4"),
            &[("authorization", "Bearer resp-client-key")],
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let popped = authed(port, &["LPOP", "usage"]).await;
    assert!(!popped.contains("resp-client-key"), "{popped}");
    let record: Value = serde_json::from_str(&popped).expect("a JSON record");
    let digest = <sha2::Sha256 as sha2::Digest>::digest(b"resp-client-key");
    let expected: String = digest[..4].iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(record["api_key"], expected.as_str());

    // RESP has no forwarding headers: a trusted proxy peer is simply not local.
    let proxied = Proxy::start(&format!(
        "trusted-proxies: ['127.0.0.1']\nremote-management:\n  allow-remote: false\n  secret-key: {SECRET}\n"
    ))
    .await;
    let (out, err) = redis_cli(proxied.port(), &["-a", SECRET, "--no-auth-warning", "PING"]).await;
    assert!(
        format!("{out}{err}").contains("remote management disabled"),
        "{out} / {err}"
    );
}

#[tokio::test]
async fn turning_the_feed_off_empties_the_queue_and_ends_subscribers() {
    let mock = MockUpstream::start().await.unwrap();
    let proxy = Proxy::start(&config(&mock)).await;
    // The file as the proxy left it (the secret hashed): the same management key throughout.
    let on = std::fs::read_to_string(proxy.config_path()).unwrap();
    let statistics_off = on.replace(
        "usage-statistics-enabled: true",
        "usage-statistics-enabled: false",
    );
    let management_off: String = on
        .lines()
        .filter(|l| !l.starts_with("remote-management:") && !l.starts_with("  secret-key:"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(statistics_off != on && management_off != on);
    for (off, last_words) in [
        (statistics_off, ""),
        (
            management_off,
            "-ERR the management key or settings changed; authenticate again\r\n",
        ),
    ] {
        // A record waits in the queue; then a subscriber connects.
        let reply = proxy.claude_turn().await;
        assert_eq!(reply.status, 200);
        assert_eq!(proxy.runtime().usage.feed.len(), 1);
        let mut subscriber = Raw::connect(proxy.port()).await;
        subscriber.send(&["AUTH", SECRET]).await;
        subscriber.expect("+OK\r\n").await;
        subscriber.send(&["SUBSCRIBE", "usage"]).await;
        subscriber.expect(SUBSCRIBED).await;

        let status = proxy.rewrite_config(&off).await;
        assert_eq!(status.last_error, None);
        assert_eq!(subscriber.until_closed().await, last_words);
        assert!(proxy.runtime().usage.feed.is_empty());

        // On again: the record is gone for good (the clock has not moved: it would still be
        // within its 60 seconds).
        let status = proxy.rewrite_config(&on).await;
        assert_eq!(status.last_error, None);
        let mut poller = Raw::connect(proxy.port()).await;
        poller.send(&["AUTH", SECRET]).await;
        poller.expect("+OK\r\n").await;
        poller.send(&["LPOP", "usage"]).await;
        poller.expect("$-1\r\n").await;
    }
}
