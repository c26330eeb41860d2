//! Tables are bounded by the config, not by clients (model states, usage by model, session
//! bindings; judged by their `/metrics` gauges), and time arithmetic never panics (an endless
//! `Retry-After`, an endless session TTL). One test runs the real binary and watches its RSS.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures_util::StreamExt;
use switchyard::test_util::affinity::SessionCache;
use switchyard::test_util::affinity::cache::BindingLimit;
use switchyard::test_util::affinity::redis::RedisCache;
use switchyard::test_util::clock::{Clock, SystemClock};
use switchyard::test_util::credential::state::StateTable;
use switchyard::test_util::credential::{CredentialId, Secret};
use switchyard::test_util::metrics::{Metrics, Table};
use switchyard::test_util::model::tracked::TrackedModels;
use switchyard::test_util::redis_store::{RedisOptions, RedisStore, RedisTarget};
use switchyard_mock::{Fault, MockUpstream};

use crate::harness::{Proxy, WAIT, client, messages};
use crate::redis_server::RedisServer;

/// How many requests run at once when a test sends thousands.
const CONCURRENCY: usize = 8;

/// YAML with two `claude-api-key` credentials `a` and `b` on the mock, `a` tried first.
fn two_keys(mock: &MockUpstream, extra: &str) -> String {
    let base = mock.base_url();
    format!(
        "usage-statistics-enabled: true\nrouting:\n  strategy: fill-first\n{extra}claude-api-key:\n  - api-key: a\n    base-url: {base}\n    priority: 1\n  - api-key: b\n    base-url: {base}\n"
    )
}

/// The value of the unlabelled `/metrics` sample `name`.
fn sample(metrics: &str, name: &str) -> u64 {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no {name} in\n{metrics}"))
        .parse()
        .unwrap()
}

fn evictions(metrics: &str, table: &str) -> u64 {
    sample(
        metrics,
        &format!("switchyard_table_evictions_total{{table=\"{table}\"}}"),
    )
}

/// POSTs `count` Claude requests to `base` (`body(i)`, `headers(i)`), [`CONCURRENCY`] at a
/// time; every one must succeed.
async fn send_many(
    base: &str,
    count: usize,
    body: impl Fn(usize) -> serde_json::Value,
    header: impl Fn(usize) -> Option<(&'static str, String)>,
) {
    let http = client();
    let url = format!("{base}/v1/messages");
    futures_util::stream::iter(0..count)
        .map(|i| {
            let mut request = http.post(&url).json(&body(i));
            if let Some((name, value)) = header(i) {
                request = request.header(name, value);
            }
            async move {
                let response = request.send().await.expect("sent");
                let status = response.status();
                let text = response.text().await.unwrap_or_default();
                assert_eq!(status, 200, "request {i}: {text}");
            }
        })
        .buffer_unordered(CONCURRENCY)
        .collect::<Vec<()>>()
        .await;
}

fn credential_id(proxy: &Proxy, key: &str) -> CredentialId {
    proxy
        .runtime()
        .generation()
        .registry
        .credentials()
        .find(|c| matches!(&c.secret, Secret::ApiKey(k) if k == key))
        .map(|c| c.id.clone())
        .expect("configured")
}

#[tokio::test]
async fn two_thousand_family_names_stay_within_max_tracked_models() {
    let mock = MockUpstream::start().await.unwrap();
    let proxy = Proxy::start(&two_keys(&mock, "  max-tracked-models: 50\n")).await;
    // Every model 404s on `a` (a model cooldown each), and `b` answers.
    mock.set_fault("a", Fault::status(404));
    let listed = proxy.claude_turn().await;
    assert_eq!((listed.status, listed.credential()), (200, "b".to_owned()));
    send_many(
        &proxy.url(""),
        2000,
        |i| messages(&format!("claude-x-{i}")),
        |_| None,
    )
    .await;
    assert_eq!(mock.request_count_for("a"), 2001, "each name tried on a");
    let metrics = proxy.metrics().await;
    // 50 tracked names on `a`, plus the built-in name, which is kept freely.
    assert_eq!(sample(&metrics, "switchyard_model_states"), 51);
    assert_eq!(sample(&metrics, "switchyard_usage_models"), 51);
    assert_eq!(evictions(&metrics, "model_states"), 2000 - 50);
    assert_eq!(evictions(&metrics, "usage_models"), 2000 - 50);
    let a = credential_id(&proxy, "a");
    let state = proxy.runtime().states.state_for(&a);
    let now = proxy.clock.now();
    assert!(
        state.block("claude-sonnet-4", now).is_some(),
        "listed: kept"
    );
    assert!(
        state.block("claude-x-0", now).is_none(),
        "the oldest: forgotten"
    );
    let totals = proxy.runtime().usage.summary();
    assert_eq!(
        totals.total.requests, 2001,
        "the overall totals keep everything"
    );
    assert!(totals.by_model.contains_key("claude-sonnet-4"));
}

#[tokio::test]
async fn the_default_bound_is_a_thousand_names() {
    let mock = MockUpstream::start().await.unwrap();
    let proxy = Proxy::start(&two_keys(&mock, "")).await;
    mock.set_fault("a", Fault::status(404));
    send_many(
        &proxy.url(""),
        1100,
        |i| messages(&format!("claude-default-{i}")),
        |_| None,
    )
    .await;
    let metrics = proxy.metrics().await;
    assert_eq!(sample(&metrics, "switchyard_model_states"), 1000);
    assert_eq!(sample(&metrics, "switchyard_usage_models"), 1000);
    assert_eq!(evictions(&metrics, "model_states"), 100);
}

#[tokio::test]
async fn session_ids_stay_within_max_bindings() {
    let mock = MockUpstream::start().await.unwrap();
    let proxy = Proxy::start(&two_keys(
        &mock,
        "  session-affinity: true\n  session-affinity-max-bindings: 20\n",
    ))
    .await;
    send_many(
        &proxy.url(""),
        500,
        |_| messages("claude-sonnet-4"),
        |i| Some(("x-session-id", format!("session-{i}"))),
    )
    .await;
    let metrics = proxy.metrics().await;
    assert_eq!(sample(&metrics, "switchyard_session_bindings"), 20);
    assert_eq!(evictions(&metrics, "session_bindings"), 480);
}

#[tokio::test]
async fn redis_bindings_stay_within_max_bindings() {
    let server = RedisServer::start();
    let store = RedisStore::connect(
        RedisTarget {
            url: server.url(),
            prefix: "bound:".to_owned(),
            secret: Default::default(),
        },
        RedisOptions::default(),
        StateTable::new(Arc::new(TrackedModels::new(1000, Arc::default()))),
        Arc::new(SystemClock),
    )
    .await
    .expect("a valid URL");
    assert!(!store.degraded(), "connected");
    let metrics = Arc::new(Metrics::default());
    let cache = RedisCache::with_limit(
        Arc::new(store),
        Duration::from_secs(3600),
        Arc::new(SystemClock),
        BindingLimit::new(100, metrics.clone()),
    );
    let (a, b) = (CredentialId::new("a"), CredentialId::new("b"));
    for i in 0..3000 {
        let credential = if i % 2 == 0 { &a } else { &b };
        cache.set(&format!("session-{i}"), credential).await;
        if i % 50 == 0 {
            // Refreshed more often than 100 sets: never the oldest.
            assert_eq!(
                cache.get_and_refresh("session-0").await,
                Some(a.clone()),
                "after {i}"
            );
        }
    }
    assert_eq!(cache.stats().await.bindings, 100);
    assert_eq!(metrics.evictions(Table::SessionBindings), 2900);
    let mut raw = server
        .client()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("bound:session:*")
        .query_async(&mut raw)
        .await
        .unwrap();
    assert_eq!(keys.len(), 100, "evicted bindings are deleted in Redis");
    let order: usize = redis::cmd("ZCARD")
        .arg("bound:binding-order")
        .query_async(&mut raw)
        .await
        .unwrap();
    assert_eq!(order, 100);
    assert_eq!(cache.get("session-0").await, Some(a.clone()));
    assert_eq!(cache.get("session-2999").await, Some(b.clone()));
    assert_eq!(cache.get("session-1").await, None, "the oldest went first");
}

#[tokio::test]
async fn an_endless_retry_after_cools_for_a_day_and_fails_over() {
    let mock = MockUpstream::start().await.unwrap();
    let proxy = Proxy::start(&two_keys(&mock, "")).await;
    mock.set_fault(
        "a",
        Fault::status(429).with_retry_after("18446744073709551615"),
    );
    let reply = proxy.claude_turn().await;
    assert_eq!((reply.status, reply.credential()), (200, "b".to_owned()));
    assert_eq!(mock.request_count_for("a"), 1);
    let a = credential_id(&proxy, "a");
    let now = proxy.clock.now();
    let block = proxy
        .runtime()
        .states
        .state_for(&a)
        .block("claude-sonnet-4", now)
        .expect("a cools down");
    assert!(block.quota);
    let left = block.until.duration_since(now).unwrap();
    let day = Duration::from_secs(24 * 3600);
    assert!(
        left <= day && left > day - Duration::from_secs(60),
        "{left:?}"
    );
    let metrics = proxy.metrics().await;
    assert_eq!(sample(&metrics, "switchyard_retry_after_clamped_total"), 1);
    // The next day, `a` serves again.
    mock.clear_fault("a");
    proxy.clock.advance(day);
    let reply = proxy.claude_turn().await;
    assert_eq!((reply.status, reply.credential()), (200, "a".to_owned()));
}

#[tokio::test]
async fn a_retry_after_date_is_read_against_the_proxy_clock() {
    let mock = MockUpstream::start().await.unwrap();
    let proxy = Proxy::start(&two_keys(&mock, "")).await;
    proxy.clock.advance(Duration::from_secs(2 * 3600));
    // Three hours of real time ahead: one hour ahead of the proxy's clock.
    let date = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(3 * 3600));
    mock.set_fault("a", Fault::status(429).with_retry_after(date));
    let reply = proxy.claude_turn().await;
    assert_eq!((reply.status, reply.credential()), (200, "b".to_owned()));
    let now = proxy.clock.now();
    let block = proxy
        .runtime()
        .states
        .state_for(&credential_id(&proxy, "a"))
        .block("claude-sonnet-4", now)
        .expect("a cools down");
    let left = block.until.duration_since(now).unwrap();
    assert!(
        left <= Duration::from_secs(3600) && left > Duration::from_secs(3500),
        "{left:?}"
    );
}

#[tokio::test]
async fn an_endless_session_ttl_is_clamped_and_affinity_works() {
    let mock = MockUpstream::start().await.unwrap();
    let proxy = Proxy::start(&two_keys(
        &mock,
        "  session-affinity: true\n  session-affinity-ttl: 3000000000000000h\n",
    ))
    .await;
    let generation = proxy.runtime().generation();
    assert_eq!(
        generation.config.routing.session_affinity_ttl,
        Duration::from_secs(30 * 86_400)
    );
    for _ in 0..3 {
        let reply = proxy
            .post_with(
                "/v1/messages",
                &messages("claude-sonnet-4"),
                &[("x-session-id", "endless")],
            )
            .await;
        assert_eq!(reply.status, 200, "{}", reply.text());
    }
    let metrics = proxy.metrics().await;
    assert_eq!(sample(&metrics, "switchyard_session_bindings"), 1);
}

/// Kills the child when the test ends, pass or fail.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The resident set of process `pid`, in bytes.
fn rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .expect("VmRSS")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .unwrap();
    kib * 1024
}

#[tokio::test]
async fn the_binary_stays_within_thirty_megabytes_under_client_chosen_names() {
    let mock = MockUpstream::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.yaml");
    std::fs::write(
        &config,
        format!(
            "host: 127.0.0.1\nport: 0\nmetrics:\n  public: true\n{}",
            two_keys(
                &mock,
                "  session-affinity: true\n  session-affinity-ttl: 3000000000000000h\n"
            )
        ),
    )
    .unwrap();
    let mut child = Child(
        Command::new(env!("CARGO_BIN_EXE_switchyard"))
            .arg("--config")
            .arg(&config)
            .env("RUST_LOG", "error,switchyard::server=warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("switchyard starts"),
    );
    let stdout = child.0.stdout.take().unwrap();
    let mut stderr = child.0.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let first = BufReader::new(stdout).lines().next();
        let _ = tx.send(first);
    });
    let first = rx
        .recv_timeout(WAIT)
        .expect("listening within the deadline")
        .expect("a line")
        .unwrap();
    let base = first
        .strip_prefix("switchyard listening on ")
        .unwrap_or_else(|| panic!("{first}"))
        .to_owned();
    let pid = child.0.id();
    mock.set_fault("a", Fault::status(404));
    // Warm up: the first requests allocate pools and buffers that stay.
    send_many(&base, 200, |_| messages("claude-sonnet-4"), |_| None).await;
    let start = rss(pid);
    send_many(
        &base,
        2000,
        |i| messages(&format!("claude-rss-{i}")),
        |_| None,
    )
    .await;
    send_many(
        &base,
        5000,
        |_| messages("claude-sonnet-4"),
        |i| Some(("x-session-id", format!("rss-session-{i}"))),
    )
    .await;
    let end = rss(pid);
    assert!(
        end < start + 30 * 1024 * 1024,
        "RSS grew from {start} to {end} bytes"
    );
    let metrics = client()
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(sample(&metrics, "switchyard_model_states") <= 1001);
    // Every request binds: the 5,000 by their id, the others by their message hash per model.
    let bindings = sample(&metrics, "switchyard_session_bindings");
    assert!((5000..=100_000).contains(&bindings), "{bindings}");
    // The endless TTL was clamped, with a warning naming the key.
    drop(child);
    let mut log = String::new();
    stderr.read_to_string(&mut log).unwrap();
    assert!(
        log.contains("routing.session-affinity-ttl") && log.contains("30 days"),
        "{log}"
    );
}
