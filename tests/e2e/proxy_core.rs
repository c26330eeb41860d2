//! The non-streaming proxy: routes, selection, failover, cooldowns, retries, errors, headers.

use std::time::Duration;

use serde_json::{Value, json};
use switchyard_mock::{Fault, MockUpstream};

use crate::harness::yaml::keys;
use crate::harness::{Proxy, chat, messages};

async fn mock() -> MockUpstream {
    MockUpstream::start().await.expect("mock starts")
}

#[tokio::test]
async fn every_route_reaches_its_upstream() {
    let mock = mock().await;
    let base = mock.base_url();
    let proxy = Proxy::start(&format!(
        "claude-api-key:\n  - api-key: claude-key\n    base-url: {base}\n\
         gemini-api-key:\n  - api-key: gemini-key\n    base-url: {base}\n\
         codex-api-key:\n  - api-key: codex-key\n    base-url: {base}/v1\n\
         openai-compatibility:\n  - name: compat\n    base-url: {base}/v1\n    api-key-entries:\n      - api-key: compat-key\n    models:\n      - name: llama-3\n"
    ))
    .await;

    let reply = proxy.claude_turn().await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.credential(), "claude-key");
    assert_eq!(reply.json()["type"], "message");

    let reply = proxy
        .post("/v1/messages/count_tokens", &messages("claude-sonnet-4"))
        .await;
    assert_eq!(reply.status, 200);
    assert!(reply.json()["input_tokens"].is_number());

    let reply = proxy.post("/v1/chat/completions", &chat("llama-3")).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.credential(), "compat-key");
    assert_eq!(reply.json()["object"], "chat.completion");

    let reply = proxy
        .post(
            "/v1/responses",
            &json!({ "model": "gpt-5", "input": "Hello" }),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.credential(), "codex-key");
    assert_eq!(reply.json()["object"], "response");

    let gemini_body = json!({ "contents": [{ "role": "user", "parts": [{ "text": "Hello" }] }] });
    let reply = proxy
        .post(
            "/v1beta/models/gemini-2.5-pro:generateContent",
            &gemini_body,
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.credential(), "gemini-key");
    assert!(reply.json()["candidates"].is_array());
    let reply = proxy
        .post("/v1beta/models/gemini-2.5-pro:countTokens", &gemini_body)
        .await;
    assert_eq!(
        reply.json()["totalTokens"].as_u64().map(|n| n > 0),
        Some(true)
    );

    let paths: Vec<String> = mock.requests().iter().map(|r| r.path.clone()).collect();
    assert_eq!(
        paths,
        [
            "/v1/messages",
            "/v1/messages/count_tokens",
            "/v1/chat/completions",
            "/v1/responses",
            "/v1beta/models/gemini-2.5-pro:generateContent",
            "/v1beta/models/gemini-2.5-pro:countTokens",
        ]
    );

    let health = proxy.get("/healthz").await;
    assert_eq!(
        (health.status, health.json()),
        (200, json!({ "status": "ok" }))
    );
    assert_eq!(proxy.get("/").await.status, 200);
    let models = proxy.get("/v1/models").await.json();
    let ids: Vec<&str> = models["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    for id in ["claude-sonnet-4", "gemini-2.5-pro", "gpt-5", "llama-3"] {
        assert!(ids.contains(&id), "{id} in {ids:?}");
    }
    let claude_list = proxy
        .client
        .get(proxy.url("/v1/models"))
        .header("user-agent", "claude-cli/2.0.0")
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(claude_list["data"][0]["type"], "model");
    // Every model in every shape: a client of any protocol reaches each, translated.
    let claude_ids: Vec<&str> = claude_list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    for id in ["claude-sonnet-4", "gemini-2.5-pro", "gpt-5", "llama-3"] {
        assert!(claude_ids.contains(&id), "{id} in {claude_ids:?}");
    }
    let gemini_list = proxy.get("/v1beta/models").await.json();
    assert!(
        gemini_list["models"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["name"] == "models/gemini-2.5-pro")
    );
    assert_eq!(proxy.get("/v1beta/models/gemini-2.5-pro").await.status, 200);
    assert_eq!(proxy.get("/nope").await.status, 404);
}

#[tokio::test]
async fn round_robin_spreads_and_fill_first_sticks() {
    let mock = mock().await;
    let proxy = Proxy::start(&keys("claude-api-key", &mock, &["a", "b", "c"])).await;
    let mut seen = Vec::new();
    for _ in 0..6 {
        seen.push(proxy.claude_turn().await.credential());
    }
    let mut counts = std::collections::BTreeMap::new();
    for key in &seen {
        *counts.entry(key.clone()).or_insert(0) += 1;
    }
    assert_eq!(
        counts.values().copied().collect::<Vec<_>>(),
        [2, 2, 2],
        "{seen:?}"
    );
    assert_ne!(seen[0], seen[1]);

    let ff = Proxy::start(&format!(
        "routing:\n  strategy: fill-first\n{}",
        keys("claude-api-key", &mock, &["a", "b", "c"])
    ))
    .await;
    let first = ff.claude_turn().await.credential();
    for _ in 0..4 {
        assert_eq!(ff.claude_turn().await.credential(), first);
    }
}

#[tokio::test]
async fn priority_tiers_are_preferred() {
    let mock = mock().await;
    let base = mock.base_url();
    let proxy = Proxy::start(&format!(
        "claude-api-key:\n  - api-key: low\n    base-url: {base}\n  - api-key: high\n    base-url: {base}\n    priority: 10\n"
    ))
    .await;
    for _ in 0..3 {
        assert_eq!(proxy.claude_turn().await.credential(), "high");
    }
    mock.set_fault("high", Fault::status(500));
    assert_eq!(proxy.claude_turn().await.credential(), "low");
}

#[tokio::test]
async fn failover_cools_the_failed_credential_until_its_cooldown_ends() {
    let mock = mock().await;
    let proxy = Proxy::start(&format!(
        "routing:\n  strategy: fill-first\n{}",
        keys("claude-api-key", &mock, &["a", "b"])
    ))
    .await;
    let first = proxy.claude_turn().await.credential();
    let other = if first == "a" { "b" } else { "a" };
    mock.set_fault(&first, Fault::status(503).times(1));
    let reply = proxy.claude_turn().await;
    assert_eq!((reply.status, reply.credential()), (200, other.to_owned()));
    // The failed credential rests for a minute (fill-first would otherwise pick it again).
    assert_eq!(proxy.claude_turn().await.credential(), other);
    assert_eq!(mock.request_count_for(&first), 2);
    proxy.clock.advance(Duration::from_secs(61));
    assert_eq!(proxy.claude_turn().await.credential(), first);
}

#[tokio::test]
async fn all_credentials_failing_returns_the_last_upstream_error_then_model_cooldown() {
    let mock = mock().await;
    let proxy = Proxy::start(&keys("claude-api-key", &mock, &["a", "b"])).await;
    let body = r#"{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}"#;
    mock.set_fault_for_all(Fault::status(429).with_retry_after("30").with_body(body));
    let reply = proxy.claude_turn().await;
    assert_eq!(reply.status, 429);
    assert_eq!(reply.text(), body, "the upstream body, unchanged");
    assert_eq!(reply.header("retry-after"), Some("30"));
    assert_eq!(mock.request_count(), 2, "both credentials were tried");

    // Both are now in a quota cooldown: the proxy answers without calling upstream.
    let reply = proxy.claude_turn().await;
    assert_eq!(reply.status, 429);
    let error = &reply.json()["error"];
    assert_eq!(error["code"], "model_cooldown");
    assert_eq!(error["model"], "claude-sonnet-4");
    assert_eq!(error["provider"], "claude");
    assert_eq!(error["reset_seconds"], 30);
    assert_eq!(error["reset_time"], "30s");
    assert_eq!(reply.header("retry-after"), Some("30"));
    assert_eq!(mock.request_count(), 2);

    mock.clear_faults();
    proxy.clock.advance(Duration::from_secs(31));
    assert_eq!(proxy.claude_turn().await.status, 200);
}

#[tokio::test]
async fn rate_limits_without_retry_after_back_off_exponentially() {
    let mock = mock().await;
    let proxy = Proxy::start(&keys("claude-api-key", &mock, &["a"])).await;
    mock.set_fault("a", Fault::status(429).times(2));
    assert_eq!(proxy.claude_turn().await.status, 429);
    let cooling = proxy.claude_turn().await;
    assert_eq!(cooling.json()["error"]["reset_seconds"], 1);
    proxy.clock.advance(Duration::from_secs(1));
    assert_eq!(proxy.claude_turn().await.status, 429);
    let cooling = proxy.claude_turn().await;
    assert_eq!(cooling.json()["error"]["reset_seconds"], 2);
    proxy.clock.advance(Duration::from_secs(2));
    assert_eq!(proxy.claude_turn().await.status, 200);
}

#[tokio::test]
async fn invalid_requests_are_not_retried_on_other_credentials() {
    let mock = mock().await;
    let proxy = Proxy::start(&keys("claude-api-key", &mock, &["a", "b", "c"])).await;
    let body = r#"{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: field required"}}"#;
    mock.set_fault_for_all(Fault::status(400).with_body(body));
    let reply = proxy.claude_turn().await;
    assert_eq!((reply.status, reply.text()), (400, body.to_owned()));
    assert_eq!(mock.request_count(), 1);
}

#[tokio::test]
async fn max_retry_credentials_limits_the_attempts() {
    let mock = mock().await;
    let proxy = Proxy::start(&format!(
        "max-retry-credentials: 2\n{}",
        keys("claude-api-key", &mock, &["a", "b", "c"])
    ))
    .await;
    mock.set_fault_for_all(Fault::status(500));
    assert_eq!(proxy.claude_turn().await.status, 500);
    assert_eq!(mock.request_count(), 2);
}

#[tokio::test]
async fn request_retry_waits_for_a_short_cooldown() {
    let mock = mock().await;
    let proxy = Proxy::start(&format!(
        "request-retry: 1\nmax-retry-interval: 5\n{}",
        keys("claude-api-key", &mock, &["a"])
    ))
    .await;
    mock.set_fault("a", Fault::status(429).with_retry_after("1").times(1));
    let started = std::time::Instant::now();
    let reply = proxy.claude_turn().await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(mock.request_count(), 2);
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "it waited for the cooldown"
    );
}

#[tokio::test]
async fn disable_cooling_keeps_failed_credentials_in_rotation() {
    let mock = mock().await;
    let proxy = Proxy::start(&format!(
        "disable-cooling: true\nrouting:\n  strategy: fill-first\n{}",
        keys("claude-api-key", &mock, &["a"])
    ))
    .await;
    mock.set_fault("a", Fault::status(500).times(1));
    assert_eq!(proxy.claude_turn().await.status, 500);
    assert_eq!(proxy.claude_turn().await.status, 200);
}

#[tokio::test]
async fn only_allowlisted_headers_reach_the_upstream() {
    let mock = mock().await;
    let base = mock.base_url();
    let proxy = Proxy::start(&format!(
        "claude-api-key:\n  - api-key: upstream-key\n    base-url: {base}\n    headers:\n      X-Team: blue\n"
    ))
    .await;
    let reply = proxy
        .post_with(
            "/v1/messages?key=client-secret&auth_token=client-secret",
            &messages("claude-sonnet-4"),
            &[
                ("authorization", "Bearer client-secret"),
                ("x-api-key", "client-secret"),
                ("x-goog-api-key", "client-secret"),
                ("cookie", "session=client-secret"),
                ("x-forwarded-for", "10.1.2.3"),
                ("forwarded", "for=10.1.2.3"),
                ("anthropic-beta", "tools-2024-04-04"),
                ("x-stainless-lang", "js"),
                ("idempotency-key", "idem-1"),
                ("x-unknown", "nope"),
            ],
        )
        .await;
    assert_eq!(reply.status, 200);
    let seen = &mock.requests()[0];
    assert_eq!(seen.header("x-api-key"), Some("upstream-key"));
    assert_eq!(seen.header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(seen.header("anthropic-beta"), Some("tools-2024-04-04"));
    assert_eq!(seen.header("x-stainless-lang"), Some("js"));
    assert_eq!(seen.header("idempotency-key"), Some("idem-1"));
    assert_eq!(seen.header("x-team"), Some("blue"));
    for name in [
        "authorization",
        "x-goog-api-key",
        "cookie",
        "x-forwarded-for",
        "forwarded",
        "x-unknown",
    ] {
        assert_eq!(seen.header(name), None, "{name} must not be forwarded");
    }
    assert_eq!(seen.query, None, "no client query parameter is forwarded");
    for (name, value) in &seen.headers {
        assert!(
            !value.to_str().unwrap_or("").contains("client-secret"),
            "{name} carries the client's secret"
        );
    }
    assert!(reply.header("x-request-id").is_some());
}

#[tokio::test]
async fn unknown_models_and_models_of_another_protocol() {
    let mock = mock().await;
    let proxy = Proxy::start(&keys("claude-api-key", &mock, &["a"])).await;
    let reply = proxy.post("/v1/messages", &messages("gpt-5")).await;
    assert_eq!(reply.status, 502);
    assert_eq!(
        reply.json(),
        json!({ "error": { "message": "unknown provider for model gpt-5", "type": "server_error", "code": "internal_server_error" } })
    );
    assert_eq!(mock.request_count(), 0);
    // A Claude model asked for in chat completions is translated to Anthropic Messages.
    let reply = proxy
        .post("/v1/chat/completions", &chat("claude-sonnet-4"))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.json()["object"], "chat.completion");
    assert_eq!(mock.requests()[0].path, "/v1/messages");
}

#[tokio::test]
async fn aliases_prefixes_and_thinking_suffixes() {
    let mock = mock().await;
    let base = mock.base_url();
    let proxy = Proxy::start(&format!(
        "claude-api-key:\n  - api-key: plain\n    base-url: {base}\n\
         \x20 - api-key: team\n    base-url: {base}\n    prefix: teamA\n    models:\n      - name: claude-sonnet-4-20250514\n        alias: sonnet\n"
    ))
    .await;
    let reply = proxy.post("/v1/messages", &messages("teamA/sonnet")).await;
    assert_eq!((reply.status, reply.credential()), (200, "team".to_owned()));
    assert_eq!(
        mock.requests()[0].body_json().unwrap()["model"],
        "claude-sonnet-4-20250514"
    );

    let reply = proxy
        .post("/v1/messages", &messages("claude-sonnet-4(8192)"))
        .await;
    assert_eq!(
        reply.credential(),
        "plain",
        "only the plain credential serves built-in models"
    );
    assert_eq!(
        mock.requests()[1].body_json().unwrap()["model"],
        "claude-sonnet-4"
    );

    // The body is forwarded byte for byte when the name needs no change.
    let raw = r#"{"model":"claude-sonnet-4","max_tokens":16,  "messages":[{"role":"user","content":"Hi"}]}"#;
    let reply = proxy
        .client
        .post(proxy.url("/v1/messages"))
        .header("content-type", "application/json")
        .body(raw)
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200);
    assert_eq!(&mock.requests()[2].body[..], raw.as_bytes());

    assert_eq!(
        proxy
            .status("/v1/messages", &messages("teamB/sonnet"))
            .await,
        502
    );
}

#[tokio::test]
async fn malformed_and_oversized_requests() {
    let mock = mock().await;
    let proxy = Proxy::start(&format!(
        "body-limit-mb: 1\n{}",
        keys("claude-api-key", &mock, &["a"])
    ))
    .await;
    let reply = crate::harness::read(
        proxy
            .client
            .post(proxy.url("/v1/messages"))
            .body("{not json")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.json()["error"]["type"], "invalid_request_error");
    let reply = proxy.post("/v1/messages", &json!({ "messages": [] })).await;
    assert_eq!(
        (reply.status, reply.json()["error"]["message"].clone()),
        (400, json!("model is required"))
    );

    let big = json!({ "model": "claude-sonnet-4", "messages": [{ "role": "user", "content": "x".repeat(1_100_000) }] });
    let reply = proxy.post("/v1/messages", &big).await;
    assert_eq!(reply.status, 413);
    assert_eq!(reply.json()["error"]["type"], "invalid_request_error");
    assert_eq!(mock.request_count(), 0);
}

#[tokio::test]
async fn a_hung_upstream_times_out_with_504_and_cools_down() {
    let mock = mock().await;
    let proxy = Proxy::start(&format!(
        "upstream-timeouts:\n  first-byte-ms: 300\nrouting:\n  strategy: fill-first\n{}",
        keys("claude-api-key", &mock, &["a", "b"])
    ))
    .await;
    mock.set_fault_for_all(Fault::hang());
    let reply = proxy.claude_turn().await;
    assert_eq!(reply.status, 504);
    assert_eq!(reply.json()["error"]["type"], "server_error");
    // Both are cooling as transient failures: the next request is refused at once.
    mock.clear_faults();
    let reply = proxy.claude_turn().await;
    assert_eq!(reply.status, 503, "{}", reply.text());
    assert!(reply.header("retry-after").is_some());
    proxy.clock.advance(Duration::from_secs(61));
    assert_eq!(proxy.claude_turn().await.status, 200);
}

#[tokio::test]
async fn unreachable_upstream_is_a_502_envelope() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = listener.local_addr().unwrap();
    drop(listener);
    let proxy = Proxy::start(&format!(
        "claude-api-key:\n  - api-key: a\n    base-url: http://{dead}\n"
    ))
    .await;
    let reply = proxy.claude_turn().await;
    assert_eq!(reply.status, 502);
    // The body names the request; the address and the error chain go to the log only.
    let id = reply.header("x-request-id").unwrap().to_owned();
    assert_eq!(
        reply.json(),
        json!({"error": {
            "message": format!("upstream unreachable (request {id})"),
            "type": "server_error",
            "code": "upstream_unreachable",
        }})
    );
    assert!(!reply.text().contains("127.0.0.1"), "{}", reply.text());
}

/// An outbound HTTP proxy that answers the first request itself: the request line it got.
async fn answering_proxy(answer: &'static str) -> (String, tokio::task::JoinHandle<String>) {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    let seen = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut tcp = BufReader::new(tcp);
        let mut request_line = String::new();
        tcp.read_line(&mut request_line).await.unwrap();
        let mut length = 0;
        loop {
            let mut line = String::new();
            tcp.read_line(&mut line).await.unwrap();
            if line == "\r\n" {
                break;
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap();
            }
        }
        tcp.read_exact(&mut vec![0; length]).await.unwrap();
        let head = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            answer.len()
        );
        tcp.write_all(head.as_bytes()).await.unwrap();
        tcp.write_all(answer.as_bytes()).await.unwrap();
        request_line.trim_end().to_owned()
    });
    (address, seen)
}

#[tokio::test]
async fn a_credential_behind_an_outbound_proxy_is_sent_through_it() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = listener.local_addr().unwrap();
    drop(listener);
    let answer = r#"{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4","content":[{"type":"text","text":"via the proxy"}],"stop_reason":"end_turn","usage":{"input_tokens":1,"output_tokens":1}}"#;
    let (proxy_url, seen) = answering_proxy(answer).await;
    // The upstream itself is unreachable: only the outbound proxy can answer.
    let proxy = Proxy::start(&format!(
        "claude-api-key:\n  - api-key: a\n    base-url: http://{dead}\n    proxy-url: {proxy_url}\n"
    ))
    .await;
    let reply = proxy.claude_turn().await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.json()["content"][0]["text"], "via the proxy");
    // A request for a proxy names the whole target URL.
    assert_eq!(
        seen.await.unwrap(),
        format!("POST http://{dead}/v1/messages HTTP/1.1")
    );
}

#[tokio::test]
async fn cors_headers_only_for_listed_origins() {
    let mock = mock().await;
    let proxy = Proxy::start(&format!(
        "cors:\n  allow-origins: [https://app.example]\n{}",
        keys("claude-api-key", &mock, &["a"])
    ))
    .await;
    let allowed = proxy
        .client
        .request(reqwest::Method::OPTIONS, proxy.url("/v1/messages"))
        .header("origin", "https://app.example")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(allowed.status(), 204);
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://app.example"
    );
    let other = proxy
        .post_with(
            "/v1/messages",
            &messages("claude-sonnet-4"),
            &[("origin", "https://evil.example")],
        )
        .await;
    // Without client authentication an unlisted origin is refused (request_safety.rs).
    assert_eq!(other.status, 403);
    assert!(other.header("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn a_non_loopback_host_without_authentication_refuses_to_start() {
    let error = Proxy::try_start("host: 0.0.0.0\nport: 0\n")
        .await
        .err()
        .expect("refused");
    let message = error.to_string();
    assert!(message.contains("allow-unauthenticated"), "{message}");
    assert!(
        Proxy::try_start("host: 0.0.0.0\nport: 0\nallow-unauthenticated: true\n")
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn auth_files_are_credentials() {
    let mock = mock().await;
    let dir = tempfile::tempdir().unwrap();
    let auths = dir.path().join("auths");
    std::fs::create_dir(&auths).unwrap();
    std::fs::write(
        auths.join("claude-1.json"),
        json!({ "type": "claude", "api_key": "file-key", "base_url": mock.base_url() }).to_string(),
    )
    .unwrap();
    std::fs::write(
        auths.join("oauth.json"),
        r#"{"type":"antigravity","access_token":"x"}"#,
    )
    .unwrap();
    let proxy = Proxy::start(&format!("auth-dir: {}\n", auths.display())).await;
    let reply = proxy.claude_turn().await;
    assert_eq!(
        (reply.status, reply.credential()),
        (200, "file-key".to_owned())
    );
    let generation = proxy.runtime().generation();
    assert_eq!(generation.skipped_files.len(), 1);
    assert!(generation.skipped_files[0].1.contains("unsupported type"));
}

#[tokio::test]
async fn the_binary_explains_a_missing_config() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .args(["--config", "/nonexistent/config.yaml"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("/nonexistent/config.yaml") && stderr.contains("examples/config.yaml"),
        "{stderr}"
    );
}
