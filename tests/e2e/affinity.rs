//! Session affinity end to end: the embedded `session-standard` extractor recognises each kind
//! of client, every turn of a conversation goes to one credential, a failing credential moves
//! the session once, a reload turns affinity off, a stream's end feeds the bindings as a
//! finished attempt does, and the mock's per-credential prompt cache measures what affinity is
//! for.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::Ordering;
use std::time::Duration;

use futures_util::StreamExt;

use serde_json::{Value, json};
use switchyard_mock::{Fault, MockUpstream};

use crate::harness::yaml::claude;
use crate::harness::{Proxy, Reply, guests, read};

const MODEL: &str = "claude-sonnet-4";

/// `claude-api-key` entries `k0`..`k{n-1}` on the mock, and `routing.session-affinity`.
fn config(mock: &MockUpstream, credentials: usize, affinity: bool) -> String {
    let keys: Vec<String> = (0..credentials).map(|i| format!("k{i}")).collect();
    let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
    format!(
        "routing:\n  session-affinity: {affinity}\n{}",
        claude(mock, &keys)
    )
}

/// How a client names (or does not name) its conversation.
#[derive(Debug, Clone)]
enum Client {
    /// Claude Code before 2.x: `metadata.user_id` = `user_<hash>_account__session_<uuid>`.
    ClaudeCodeLegacy(String),
    /// Claude Code 2.x: `metadata.user_id` = `{"device_id":…,"session_id":<uuid>}`.
    ClaudeCodeJson(String),
    /// The header `X-Session-ID`.
    SessionHeader(String),
    /// No id at all: the message hash.
    Anonymous,
}

/// A conversation: its client and its turns so far.
struct Conversation {
    client: Client,
    topic: String,
    messages: Vec<Value>,
}

impl Conversation {
    fn new(client: Client, topic: &str) -> Conversation {
        Conversation {
            client,
            topic: topic.to_owned(),
            messages: Vec::new(),
        }
    }

    /// Sends the next user turn (the whole conversation so far, as clients do), appends the
    /// reply, and returns the answer.
    async fn turn(&mut self, proxy: &Proxy) -> Reply {
        let n = self.messages.len() / 2;
        self.messages.push(json!({
            "role": "user",
            "content": format!("{}: question {n}", self.topic),
        }));
        let mut body = json!({
            "model": MODEL,
            "max_tokens": 64,
            "system": "You are a careful assistant.",
            "messages": self.messages,
        });
        let mut headers: Vec<(&str, String)> = Vec::new();
        match &self.client {
            Client::ClaudeCodeLegacy(uuid) => {
                body["metadata"] = json!({ "user_id": format!("user_{}_account__session_{uuid}", "ab".repeat(32)) });
            }
            Client::ClaudeCodeJson(uuid) => {
                body["metadata"] = json!({
                    "user_id": json!({ "device_id": "d-1", "account_uuid": "", "session_id": uuid }).to_string(),
                });
            }
            Client::SessionHeader(id) => headers.push(("x-session-id", id.clone())),
            Client::Anonymous => {}
        }
        let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let reply = proxy.post_with("/v1/messages", &body, &headers).await;
        if reply.status == 200 {
            let text = reply.json()["content"][0]["text"]
                .as_str()
                .unwrap_or("ok")
                .to_owned();
            self.messages
                .push(json!({ "role": "assistant", "content": text }));
        } else {
            self.messages.pop();
        }
        reply
    }

    /// Sends `turns` turns and returns the credential of each.
    async fn credentials(&mut self, proxy: &Proxy, turns: usize) -> Vec<String> {
        let mut used = Vec::new();
        for _ in 0..turns {
            let reply = self.turn(proxy).await;
            assert_eq!(reply.status, 200, "{:?}: {}", self.client, reply.text());
            used.push(reply.credential());
        }
        used
    }
}

fn uuid(i: usize) -> String {
    format!("{i:08x}-63bd-4fb3-97ba-8da64cb1e344")
}

fn distinct(credentials: &[String]) -> BTreeSet<&str> {
    credentials.iter().map(String::as_str).collect()
}

#[tokio::test]
async fn every_kind_of_client_stays_on_one_credential() {
    let mock = MockUpstream::start().await.unwrap();
    let proxy = Proxy::start(&config(&mock, 4, true)).await;
    let clients = [
        Client::ClaudeCodeLegacy(uuid(1)),
        Client::ClaudeCodeJson(uuid(2)),
        Client::SessionHeader("my-session-3".to_owned()),
        Client::Anonymous,
    ];
    for (i, client) in clients.into_iter().enumerate() {
        let mut conversation = Conversation::new(client.clone(), &format!("topic {i}"));
        let used = conversation.credentials(&proxy, 6).await;
        assert_eq!(distinct(&used).len(), 1, "{client:?} moved: {used:?}");
    }
    // Every turn after the first found its earlier turns in that credential's cache.
    let stats = mock.cache_stats().total;
    assert_eq!((stats.lookups, stats.hits), (4 * 5, 4 * 5), "{stats:?}");
    proxy.shutdown().await;
}

#[tokio::test]
async fn different_conversations_spread_over_the_credentials() {
    let mock = MockUpstream::start().await.unwrap();
    let proxy = Proxy::start(&config(&mock, 4, true)).await;
    let mut first_credentials = BTreeMap::new();
    for i in 0..8 {
        let client = match i % 4 {
            0 => Client::ClaudeCodeLegacy(uuid(i)),
            1 => Client::ClaudeCodeJson(uuid(i)),
            2 => Client::SessionHeader(format!("s-{i}")),
            _ => Client::Anonymous,
        };
        let mut conversation = Conversation::new(client, &format!("conversation {i}"));
        let used = conversation.credentials(&proxy, 2).await;
        assert_eq!(used[0], used[1]);
        *first_credentials.entry(used[0].clone()).or_insert(0) += 1;
    }
    assert_eq!(first_credentials.len(), 4, "{first_credentials:?}");
    proxy.shutdown().await;
}

#[tokio::test]
async fn a_429_moves_the_session_to_one_other_credential_and_it_stays() {
    let mock = MockUpstream::start().await.unwrap();
    let proxy = Proxy::start(&config(&mock, 4, true)).await;
    for client in [
        Client::ClaudeCodeJson(uuid(7)),
        Client::SessionHeader("moving".to_owned()),
        Client::Anonymous,
    ] {
        mock.clear_faults();
        let mut conversation = Conversation::new(client.clone(), &format!("{client:?}"));
        let bound = conversation.credentials(&proxy, 2).await[0].clone();
        let before = mock.request_count_for(&bound);
        mock.set_fault(&bound, Fault::status(429).with_retry_after("600"));
        let moved = conversation.credentials(&proxy, 1).await[0].clone();
        assert_ne!(moved, bound, "{client:?}");
        assert_eq!(
            mock.request_count_for(&bound),
            before + 1,
            "one failed attempt"
        );
        // It stays on the new credential, also once the old one has recovered.
        let after = conversation.credentials(&proxy, 3).await;
        assert_eq!(
            distinct(&after),
            BTreeSet::from([moved.as_str()]),
            "{client:?}"
        );
        mock.clear_fault(&bound);
        proxy.clock.advance(std::time::Duration::from_secs(601));
        let recovered = conversation.credentials(&proxy, 3).await;
        assert_eq!(
            distinct(&recovered),
            BTreeSet::from([moved.as_str()]),
            "{client:?}"
        );
        assert_eq!(mock.request_count_for(&bound), before + 1, "{client:?}");
    }
    proxy.shutdown().await;
}

/// A streaming turn of the conversation `session` (named by `X-Session-ID`), paced by the
/// mock: `chunks` chunks, `interval_ms` apart.
async fn open_stream_turn(
    proxy: &Proxy,
    session: &str,
    chunks: u32,
    interval_ms: u64,
) -> reqwest::Response {
    let body = json!({
        "model": MODEL,
        "max_tokens": 64,
        "stream": true,
        "messages": [{ "role": "user", "content": "Tell me a story" }],
        "mock": { "chunks": chunks, "chunk_interval_ms": interval_ms },
    });
    proxy
        .client
        .post(proxy.url("/v1/messages"))
        .header("x-session-id", session)
        .json(&body)
        .send()
        .await
        .expect("stream opens")
}

/// The affinity decisions so far: (hits, misses, rebinds).
fn decisions(proxy: &Proxy) -> (u64, u64, u64) {
    let counters = &proxy.runtime().affinity_counters;
    (
        counters.hits.load(Ordering::Relaxed),
        counters.misses.load(Ordering::Relaxed),
        counters.rebinds.load(Ordering::Relaxed),
    )
}

#[tokio::test]
async fn a_stream_failing_after_its_first_byte_unbinds_its_session_as_a_failed_attempt_does() {
    let mock = MockUpstream::start().await.unwrap();
    // No cooldown: the bound credential stays available, so only the binding decides.
    let proxy = Proxy::start(&format!(
        "disable-cooling: true\n{}",
        config(&mock, 2, true)
    ))
    .await;
    let first = read(open_stream_turn(&proxy, "streaming", 3, 0).await).await;
    assert_eq!(first.status, 200, "{}", first.text());
    let bound = first.credential();

    mock.set_fault(&bound, Fault::close_after(2));
    let failed = read(open_stream_turn(&proxy, "streaming", 5, 0).await).await;
    assert_eq!(failed.credential(), bound, "the binding held");
    assert!(failed.text().contains("event: error"), "{}", failed.text());
    mock.clear_fault(&bound);

    // The failure removed the binding: the next turn is a new pick, not a hit.
    let (hits, misses, rebinds) = decisions(&proxy);
    let next = read(open_stream_turn(&proxy, "streaming", 3, 0).await).await;
    assert_eq!(next.status, 200, "{}", next.text());
    assert_eq!(decisions(&proxy), (hits, misses + 1, rebinds));
    proxy.shutdown().await;
}

#[tokio::test]
async fn a_completed_stream_refreshes_its_binding_when_it_ends_as_a_successful_attempt_does() {
    let mock = MockUpstream::start().await.unwrap();
    let proxy = Proxy::start(&format!(
        "routing:\n  session-affinity: true\n  session-affinity-ttl: 60s\nclaude-api-key:\n  - api-key: k0\n    base-url: {base}\n  - api-key: k1\n    base-url: {base}\n",
        base = mock.base_url()
    ))
    .await;
    // The binding is made (TTL 60 s) when the stream opens; the stream ends 50 s later.
    let response = open_stream_turn(&proxy, "long", 5, 200).await;
    assert_eq!(response.status(), 200);
    let mut body = response.bytes_stream();
    body.next().await.expect("a first chunk").expect("chunk");
    proxy.clock.advance(Duration::from_secs(50));
    while let Some(chunk) = body.next().await {
        chunk.expect("chunk");
    }

    // 70 s after the binding was made, 20 s after the stream ended: still bound.
    proxy.clock.advance(Duration::from_secs(20));
    let (hits, misses, rebinds) = decisions(&proxy);
    let next = read(open_stream_turn(&proxy, "long", 3, 0).await).await;
    assert_eq!(next.status, 200, "{}", next.text());
    assert_eq!(decisions(&proxy), (hits + 1, misses, rebinds));
    proxy.shutdown().await;
}

#[tokio::test]
async fn turning_affinity_off_by_reload_returns_to_round_robin() {
    let mock = MockUpstream::start().await.unwrap();
    let proxy = Proxy::start(&config(&mock, 4, true)).await;
    let mut conversation = Conversation::new(Client::SessionHeader("sticky".into()), "reload");
    assert_eq!(
        distinct(&conversation.credentials(&proxy, 4).await).len(),
        1
    );

    let status = proxy.rewrite_config(&config(&mock, 4, false)).await;
    assert_eq!((status.generation, status.failures), (2, 0), "{status:?}");
    let used = conversation.credentials(&proxy, 4).await;
    assert_eq!(distinct(&used).len(), 4, "round-robin: {used:?}");

    let status = proxy.rewrite_config(&config(&mock, 4, true)).await;
    assert_eq!(status.generation, 3);
    assert_eq!(
        distinct(&conversation.credentials(&proxy, 4).await).len(),
        1
    );
    proxy.shutdown().await;
}

/// Runs `sessions` conversations of `turns` turns each over 8 credentials, the sessions of
/// each round in a shuffled order (as independent clients would arrive), and returns the
/// mock's prompt-cache (hits, lookups).
async fn prompt_cache_run(affinity: bool, sessions: usize, turns: usize) -> (u64, u64) {
    let mock = MockUpstream::start().await.unwrap();
    let proxy = Proxy::start(&config(&mock, 8, affinity)).await;
    let mut conversations: Vec<Conversation> = (0..sessions)
        .map(|i| {
            let client = match i % 4 {
                0 => Client::ClaudeCodeLegacy(uuid(i)),
                1 => Client::ClaudeCodeJson(uuid(i)),
                2 => Client::SessionHeader(format!("session-{i}")),
                _ => Client::Anonymous,
            };
            Conversation::new(client, &format!("conversation {i}"))
        })
        .collect();
    let mut order: Vec<usize> = (0..sessions).collect();
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    for _ in 0..turns {
        // Fisher-Yates with a fixed xorshift generator: the same order every run.
        for i in (1..order.len()).rev() {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            order.swap(i, (seed % (i as u64 + 1)) as usize);
        }
        for &i in &order {
            let reply = conversations[i].turn(&proxy).await;
            assert_eq!(reply.status, 200, "{}", reply.text());
        }
    }
    let stats = mock.cache_stats().total;
    proxy.shutdown().await;
    (stats.hits, stats.lookups)
}

#[tokio::test]
async fn affinity_keeps_the_prompt_cache_warm() {
    let (sessions, turns) = (50, 10);
    let (hits_on, lookups_on) = prompt_cache_run(true, sessions, turns).await;
    let (hits_off, lookups_off) = prompt_cache_run(false, sessions, turns).await;
    let expected_lookups = (sessions * (turns - 1)) as u64;
    assert_eq!(
        (lookups_on, lookups_off),
        (expected_lookups, expected_lookups)
    );
    let rate_on = hits_on as f64 / lookups_on as f64;
    let rate_off = hits_off as f64 / lookups_off as f64;
    eprintln!(
        "prompt-cache hit rate, {sessions} sessions x {turns} turns over 8 credentials: \
         affinity on {hits_on}/{lookups_on} = {:.1} %, off (round-robin) {hits_off}/{lookups_off} = {:.1} %",
        rate_on * 100.0,
        rate_off * 100.0
    );
    assert!(rate_on >= 0.95, "affinity on: {rate_on}");
    assert!(rate_off < 0.5, "affinity off: {rate_off}");
}

#[tokio::test]
async fn a_user_extractor_from_the_plugins_folder_is_reconfigured_by_reload() {
    let mock = MockUpstream::start().await.unwrap();
    let plugins = tempfile::tempdir().unwrap();
    std::fs::write(
        plugins.path().join("session-echo.wasm"),
        guests::SESSION_ECHO.bytes(),
    )
    .unwrap();
    let with_extractors = |extractors: &str| {
        let credentials = config(&mock, 4, true);
        let credentials = &credentials[credentials.find("claude-api-key:").unwrap()..];
        format!(
            "plugins:\n  dir: {}\nrouting:\n  session-affinity: true\n  session-extractors:\n{extractors}{credentials}",
            plugins.path().display(),
        )
    };
    // Only the standard extractor: two conversations with the same `x-session` header are two
    // sessions (their message hashes differ), so they start on different credentials.
    let proxy = Proxy::start(&with_extractors("    - type: session-standard\n")).await;
    let first_turn = |topic: &'static str| {
        let proxy = &proxy;
        async move {
            let body = json!({
                "model": MODEL,
                "max_tokens": 8,
                "messages": [{ "role": "user", "content": topic }],
            });
            let reply = proxy
                .post_with("/v1/messages", &body, &[("x-session", "team-7")])
                .await;
            assert_eq!(reply.status, 200, "{}", reply.text());
            reply.credential()
        }
    };
    assert_ne!(first_turn("alpha").await, first_turn("beta").await);

    // The user's extractor first: its explicit id wins over the standard hash, so both
    // conversations are one session. Nothing is compiled again.
    let compiled = proxy.runtime().plugins.stats();
    let status = proxy
        .rewrite_config(&with_extractors(
            "    - type: session-echo\n      config: {prefix: 'echo:'}\n    - type: session-standard\n",
        ))
        .await;
    assert_eq!((status.generation, status.failures), (2, 0), "{status:?}");
    assert_eq!(proxy.runtime().plugins.stats(), compiled);
    let kinds: Vec<String> = proxy
        .runtime()
        .generation()
        .extractors
        .entries()
        .iter()
        .map(|e| e.kind().to_owned())
        .collect();
    assert_eq!(kinds, ["session-echo", "session-standard"]);
    let bound = first_turn("gamma").await;
    for topic in ["delta", "epsilon", "zeta"] {
        assert_eq!(first_turn(topic).await, bound, "{topic}");
    }

    // Settings an extractor rejects keep the running generation.
    let status = proxy
        .rewrite_config(&with_extractors(
            "    - type: session-standard\n      config: {unknown: 1}\n",
        ))
        .await;
    assert_eq!((status.generation, status.failures), (2, 1), "{status:?}");
    assert!(
        status
            .last_error
            .as_deref()
            .unwrap()
            .contains("session-standard takes no settings; unknown: unknown"),
        "{status:?}"
    );
    assert_eq!(first_turn("eta").await, bound);

    // An extractor that traps is skipped (the request is still served) and counted.
    let reply = proxy
        .post_with(
            "/v1/messages",
            &json!({"model": MODEL, "max_tokens": 8, "messages": [{"role": "user", "content": "theta"}]}),
            &[("x-session", "team-7"), ("x-echo", "panic")],
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let metrics = proxy.metrics().await;
    let skipped = |kind: &str| {
        metrics
            .lines()
            .find(|l| {
                l.starts_with("switchyard_session_extractor_skipped_total{")
                    && l.contains(&format!("type=\"{kind}\""))
            })
            .unwrap_or_else(|| panic!("no skipped count for {kind} in\n{metrics}"))
            .rsplit(' ')
            .next()
            .unwrap()
            .to_owned()
    };
    assert_eq!(skipped("session-echo"), "1");
    assert_eq!(skipped("session-standard"), "0");
    proxy.shutdown().await;
}
