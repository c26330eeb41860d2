//! Usage records for every protocol (whole and streamed), the totals endpoint, and `/metrics`.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use sha2::Digest;
use switchyard_mock::{Fault, MockUpstream};

use crate::harness::{Proxy, Reply, chat, messages, read};

const SECRET: &str = "usage-admin";

fn config(mock: &MockUpstream, statistics: bool) -> String {
    let base = mock.base_url();
    format!(
        "usage-statistics-enabled: {statistics}\nremote-management:\n  secret-key: {SECRET}\n\
         claude-api-key:\n  - api-key: claude-key\n    base-url: {base}\n\
         gemini-api-key:\n  - api-key: gemini-key\n    base-url: {base}\n\
         codex-api-key:\n  - api-key: codex-key\n    base-url: {base}/v1\n\
         openai-compatibility:\n  - name: compat\n    base-url: {base}/v1\n    api-key-entries:\n      - api-key: compat-key\n    models:\n      - name: llama-3\n"
    )
}

/// The oldest record in the feed.
fn pop(proxy: &Proxy) -> Value {
    let now = proxy.runtime().clock.now();
    let records = proxy.runtime().usage.feed.pop(1, now);
    let record = records.first().expect("a usage record");
    serde_json::from_str(record).unwrap()
}

fn feed_is_empty(proxy: &Proxy) -> bool {
    proxy.runtime().usage.feed.is_empty()
}

/// `(input, output, cached, total)` as a response's usage block states them.
fn stated(protocol: &str, body: &Value) -> (u64, u64, u64, u64) {
    let n = |v: &Value| v.as_u64().unwrap_or(0);
    match protocol {
        "claude" => {
            let u = &body["usage"];
            let (input, output) = (n(&u["input_tokens"]), n(&u["output_tokens"]));
            (
                input,
                output,
                n(&u["cache_read_input_tokens"]),
                input + output,
            )
        }
        "chat" => {
            let u = &body["usage"];
            (
                n(&u["prompt_tokens"]),
                n(&u["completion_tokens"]),
                n(&u["prompt_tokens_details"]["cached_tokens"]),
                n(&u["total_tokens"]),
            )
        }
        "responses" => {
            let u = &body["usage"];
            (
                n(&u["input_tokens"]),
                n(&u["output_tokens"]),
                n(&u["input_tokens_details"]["cached_tokens"]),
                n(&u["total_tokens"]),
            )
        }
        _ => {
            let u = &body["usageMetadata"];
            (
                n(&u["promptTokenCount"]),
                n(&u["candidatesTokenCount"]),
                n(&u["cachedContentTokenCount"]),
                n(&u["totalTokenCount"]),
            )
        }
    }
}

fn recorded(record: &Value) -> (u64, u64, u64, u64) {
    let t = &record["tokens"];
    let n = |k: &str| t[k].as_u64().unwrap();
    (
        n("input_tokens"),
        n("output_tokens"),
        n("cached_tokens"),
        n("total_tokens"),
    )
}

async fn post(proxy: &Proxy, path: &str, body: &Value) -> Reply {
    let reply = proxy.post(path, body).await;
    assert_eq!(reply.status, 200, "{path}: {}", reply.text());
    reply
}

#[tokio::test]
async fn every_protocol_records_the_upstream_token_counts() {
    let mock = MockUpstream::start().await.unwrap();
    let proxy = Proxy::start(&config(&mock, true)).await;
    let gemini = json!({ "contents": [{ "role": "user", "parts": [{ "text": "Hello there" }] }] });
    let responses = json!({ "model": "gpt-5", "input": "Hello there" });
    let cases: Vec<(&str, &str, Value, &str, &str)> = vec![
        (
            "claude",
            "/v1/messages",
            messages("claude-sonnet-4"),
            "claude",
            "claude-sonnet-4",
        ),
        (
            "chat",
            "/v1/chat/completions",
            chat("llama-3"),
            "openai-compatibility",
            "llama-3",
        ),
        ("responses", "/v1/responses", responses, "codex", "gpt-5"),
        (
            "gemini",
            "/v1beta/models/gemini-2.5-pro:generateContent",
            gemini,
            "gemini",
            "gemini-2.5-pro",
        ),
    ];
    for (protocol, path, body, provider, model) in cases {
        let reply = post(&proxy, path, &body).await;
        let record = pop(&proxy);
        let expected = stated(protocol, &reply.json());
        assert!(expected.0 > 0 && expected.1 > 0, "{protocol}: {expected:?}");
        assert_eq!(recorded(&record), expected, "{protocol}: {record}");
        assert_eq!(record["provider"], provider);
        assert_eq!(record["model"], model);
        assert_eq!(record["failed"], false);
        assert_eq!(record["status"], 200);
        assert_eq!(record["auth_type"], "apikey");
        assert_eq!(
            record["request_id"].as_str(),
            reply.header("x-request-id"),
            "{protocol}"
        );
        assert_eq!(record["auth_index"].as_str().unwrap().len(), 16);
        assert!(record["timestamp"].as_str().unwrap().ends_with('Z'));
        assert!(record["latency_ms"].is_u64());
        assert!(feed_is_empty(&proxy));
    }
    let record = {
        post(&proxy, "/v1/messages", &messages("claude-sonnet-4")).await;
        pop(&proxy)
    };
    assert_eq!(record["endpoint"], "POST /v1/messages");
    assert_eq!(record["source"], "claude-api-key[0]");
    assert!(
        record["credential"]
            .as_str()
            .unwrap()
            .starts_with("claude:apikey:")
    );
}

#[tokio::test]
async fn streams_record_tokens_including_cached_ones() {
    let mock = MockUpstream::start().await.unwrap();
    let proxy = Proxy::start(&config(&mock, true)).await;

    // Turn 1, then turn 2 with turn 1 as its prefix: the mock's prompt cache hits.
    let turn1 = messages("claude-sonnet-4");
    let reply1 = post(&proxy, "/v1/messages", &turn1).await;
    pop(&proxy);
    let answer = reply1.json()["content"][0]["text"].clone();
    let turn2 = |stream: bool| {
        json!({
            "model": "claude-sonnet-4",
            "max_tokens": 16,
            "stream": stream,
            "messages": [
                { "role": "user", "content": "Hello" },
                { "role": "assistant", "content": answer },
                { "role": "user", "content": "And then?" },
            ],
        })
    };
    let whole = post(&proxy, "/v1/messages", &turn2(false)).await;
    let expected = stated("claude", &whole.json());
    assert!(expected.2 > 0, "a cache hit: {expected:?}");
    assert_eq!(recorded(&pop(&proxy)), expected);

    let streamed = post(&proxy, "/v1/messages", &turn2(true)).await;
    assert!(streamed.text().contains("message_stop"));
    let record = pop(&proxy);
    assert_eq!(recorded(&record), expected, "{record}");
    assert_eq!(record["failed"], false);

    // OpenAI chat streams carry usage only when asked.
    let mut body = chat("llama-3");
    body["stream"] = json!(true);
    body["stream_options"] = json!({ "include_usage": true });
    let whole = post(&proxy, "/v1/chat/completions", &chat("llama-3")).await;
    let expected = stated("chat", &whole.json());
    pop(&proxy);
    post(&proxy, "/v1/chat/completions", &body).await;
    assert_eq!(recorded(&pop(&proxy)), expected);

    // Responses (response.completed) and Gemini, with SSE framing and as a raw JSON array.
    let mut body = json!({ "model": "gpt-5", "input": "Hello there" });
    let whole = post(&proxy, "/v1/responses", &body).await;
    let expected = stated("responses", &whole.json());
    pop(&proxy);
    body["stream"] = json!(true);
    post(&proxy, "/v1/responses", &body).await;
    assert_eq!(recorded(&pop(&proxy)), expected);

    let gemini = json!({ "contents": [{ "role": "user", "parts": [{ "text": "Hello there" }] }] });
    let whole = post(
        &proxy,
        "/v1beta/models/gemini-2.5-pro:generateContent",
        &gemini,
    )
    .await;
    let expected = stated("gemini", &whole.json());
    pop(&proxy);
    for path in [
        "/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse",
        "/v1beta/models/gemini-2.5-pro:streamGenerateContent",
    ] {
        post(&proxy, path, &gemini).await;
        assert_eq!(recorded(&pop(&proxy)), expected, "{path}");
    }
}

#[tokio::test]
async fn failures_are_recorded_and_totalled() {
    let mock = MockUpstream::start().await.unwrap();
    let proxy = Proxy::start(&config(&mock, true)).await;
    post(&proxy, "/v1/messages", &messages("claude-sonnet-4")).await;
    let ok = pop(&proxy);
    mock.set_fault("claude-key", Fault::status(500).times(1));
    let failed = proxy.claude_turn().await;
    assert_eq!(failed.status, 500);
    let record = pop(&proxy);
    assert_eq!(record["failed"], true);
    assert_eq!(record["status"], 500);
    assert_eq!(record["provider"], "claude");
    assert_eq!(record["credential"], "");
    // A stream that breaks after its first event is a failure too.
    mock.set_fault(
        "compat-key",
        Fault::stream_error_after(1, 500, "boom").times(1),
    );
    let mut body = chat("llama-3");
    body["stream"] = json!(true);
    let broken = post(&proxy, "/v1/chat/completions", &body).await;
    assert!(broken.text().contains("boom"));
    let record = pop(&proxy);
    assert_eq!(record["failed"], true, "{record}");
    // So is one whose upstream connection drops.
    mock.set_fault("compat-key", Fault::close_after(1).times(1));
    let dropped = post(&proxy, "/v1/chat/completions", &body).await;
    assert!(dropped.text().contains("error"), "{}", dropped.text());
    let record = pop(&proxy);
    assert_eq!(record["failed"], true, "{record}");

    let totals = read(
        proxy
            .request(Method::GET, "/v0/management/usage")
            .bearer_auth(SECRET)
            .send()
            .await
            .unwrap(),
    )
    .await
    .json();
    let (input, output, _, _) = recorded(&ok);
    assert_eq!(totals["total"]["requests"], 4);
    assert_eq!(totals["total"]["failed"], 3);
    let claude = &totals["by-model"]["claude-sonnet-4"];
    assert_eq!(
        (claude["requests"].clone(), claude["failed"].clone()),
        (json!(2), json!(1))
    );
    assert_eq!(claude["input_tokens"], input);
    assert_eq!(claude["output_tokens"], output);
    let by_credential = &totals["by-credential"][ok["credential"].as_str().unwrap()];
    assert_eq!(by_credential["requests"], 1);
}

#[tokio::test]
async fn statistics_follow_the_setting_and_the_feed_keeps_sixty_seconds() {
    let mock = MockUpstream::start().await.unwrap();
    let proxy = Proxy::start(&config(&mock, false)).await;
    post(&proxy, "/v1/messages", &messages("claude-sonnet-4")).await;
    assert!(feed_is_empty(&proxy));
    assert_eq!(proxy.runtime().usage.summary().total.requests, 0);

    let reply = read(
        proxy
            .request(Method::PUT, "/v0/management/usage-statistics-enabled")
            .bearer_auth(SECRET)
            .json(&json!({ "value": true }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    post(&proxy, "/v1/messages", &messages("claude-sonnet-4")).await;
    assert_eq!(proxy.runtime().usage.feed.len(), 1);
    proxy.clock.advance(Duration::from_secs(61));
    assert!(
        proxy
            .runtime()
            .usage
            .feed
            .pop(1, proxy.runtime().clock.now())
            .is_empty(),
        "older than the retention"
    );
    assert_eq!(proxy.runtime().usage.summary().total.requests, 1);
}

#[tokio::test]
async fn metrics_count_requests_latency_and_reloads() {
    let mock = MockUpstream::start().await.unwrap();
    let proxy = Proxy::start(&config(&mock, true)).await;
    for _ in 0..2 {
        post(&proxy, "/v1/messages", &messages("claude-sonnet-4")).await;
    }
    let unknown = proxy.post("/v1/messages", &messages("nope-model")).await;
    assert_eq!(unknown.status, 502);
    let credential = proxy
        .runtime()
        .generation()
        .registry
        .credentials()
        .find(|c| c.id.as_str().starts_with("claude:"))
        .unwrap()
        .id
        .to_string();
    let reply = read(
        proxy
            .request(Method::GET, "/metrics")
            .bearer_auth(SECRET)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(reply.status, 200);
    assert!(
        reply
            .header("content-type")
            .unwrap()
            .starts_with("text/plain")
    );
    let text = reply.text();
    for line in [
        format!(
            "switchyard_requests_total{{route=\"/v1/messages\",status=\"200\",credential=\"{credential}\"}} 2"
        ),
        "switchyard_requests_total{route=\"/v1/messages\",status=\"502\",credential=\"\"} 1"
            .to_owned(),
        "switchyard_upstream_latency_seconds_count{provider=\"claude\"} 2".to_owned(),
        "switchyard_upstream_latency_seconds_bucket{provider=\"claude\",le=\"+Inf\"} 2".to_owned(),
        "switchyard_reload_generation 1".to_owned(),
        "# TYPE switchyard_upstream_latency_seconds histogram".to_owned(),
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in\n{text}"
        );
    }
    let input = proxy.runtime().usage.summary().total.input_tokens;
    assert!(input > 0);
    assert!(
        text.lines()
            .any(|l| l == format!("switchyard_usage_tokens_total{{kind=\"input\"}} {input}"))
    );
}

#[tokio::test]
async fn records_name_the_client_the_access_chain_admitted() {
    let mock = MockUpstream::start().await.unwrap();
    let proxy = Proxy::start(&format!(
        "api-keys: [client-one, client-two]\n{}",
        config(&mock, true)
    ))
    .await;
    let denied = proxy.claude_turn().await;
    assert_eq!(denied.status, 401);
    let reply = proxy
        .post_with(
            "/v1/messages",
            &messages("claude-sonnet-4"),
            &[("authorization", "Bearer client-two")],
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    // The refused request never reached the proxy path: one record.
    let record = pop(&proxy);
    // The fingerprint of the key (first 8 hex digits of its SHA-256), never the key.
    let digest = sha2::Sha256::digest(b"client-two");
    let expected: String = digest[..4].iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(record["api_key"], expected.as_str());
    assert!(!record.to_string().contains("client-two"), "{record}");
    assert!(feed_is_empty(&proxy));
    // Management and metrics are outside the access chain.
    let totals = proxy
        .request(Method::GET, "/v0/management/usage")
        .bearer_auth(SECRET)
        .send()
        .await
        .unwrap();
    assert_eq!(totals.status(), 200);
    let metrics = read(
        proxy
            .request(Method::GET, "/metrics")
            .bearer_auth(SECRET)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(metrics.status, 200);
    let text = metrics.text();
    for line in [
        "switchyard_plugin_calls_total{instance=\"config-inline\",type=\"config-api-key\"} 2",
        "switchyard_plugin_faults_total{instance=\"config-inline\",type=\"config-api-key\"} 0",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in\n{text}"
        );
    }
}

/// A translated request records the counts its client was told (in the client protocol's
/// meaning), the provider that served it, and the model the client asked for.
#[tokio::test]
async fn translated_requests_record_what_the_client_was_told() {
    let mock = MockUpstream::start().await.unwrap();
    let proxy = Proxy::start(&config(&mock, true)).await;
    // Two turns of one conversation, so the second reads the mock's prompt cache: cached
    // tokens cross over too.
    let mut body = chat("claude-sonnet-4");
    for turn in 0..2 {
        let reply = post(&proxy, "/v1/chat/completions", &body).await;
        let answer = reply.json()["choices"][0]["message"]["content"].clone();
        body["messages"].as_array_mut().unwrap().extend([
            json!({"role": "assistant", "content": answer}),
            json!({"role": "user", "content": "And more"}),
        ]);
        let record = pop(&proxy);
        let expected = stated("chat", &reply.json());
        assert!(expected.0 > 0 && expected.1 > 0, "{expected:?}");
        assert_eq!(recorded(&record), expected, "turn {turn}: {record}");
        assert_eq!(record["provider"], "claude");
        assert_eq!(record["model"], "claude-sonnet-4");
        if turn == 1 {
            assert!(
                expected.2 > 0,
                "the cache read reaches the chat client: {expected:?}"
            );
        }
    }
    let gemini = json!({ "contents": [{ "role": "user", "parts": [{ "text": "Hello there" }] }] });
    let reply = post(&proxy, "/v1beta/models/gpt-5:generateContent", &gemini).await;
    let record = pop(&proxy);
    assert_eq!(
        recorded(&record),
        stated("gemini", &reply.json()),
        "{record}"
    );
    assert_eq!(record["provider"], "codex");
}
