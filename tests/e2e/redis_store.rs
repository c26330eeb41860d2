//! The Redis session store (`routing.session-store: redis://…`) against a real `redis-server`:
//! the binding scripts' semantics, TTLs and invalidation at the library level; then replicas
//! sharing bindings and cooldowns, and carrying on when Redis dies and comes back.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use serde_json::{Value, json};
use switchyard::test_util::affinity::SessionCache;
use switchyard::test_util::affinity::cache::BindingLimit;
use switchyard::test_util::affinity::redis::RedisCache;
use switchyard::test_util::clock::{Clock, SystemClock};
use switchyard::test_util::credential::blame::Blame;
use switchyard::test_util::credential::cooldown::Failure;
use switchyard::test_util::credential::state::StateTable;
use switchyard::test_util::credential::{CredentialId, Secret};
use switchyard::test_util::model::tracked::TrackedModels;
use switchyard::test_util::model::tracked::Tracking;
use switchyard::test_util::redis_store::{RedisOptions, RedisStore, RedisTarget, StoreSecret};
use switchyard_mock::{Fault, MockUpstream};

use crate::harness::{Proxy, Reply, WAIT, messages, read};
use crate::redis_server::RedisServer;

const MODEL: &str = "claude-sonnet-4";
const PASSWORD: &str = "store-admin";

fn id(text: &str) -> CredentialId {
    CredentialId::new(text)
}

/// A store for `url` with the default options.
async fn store_at(url: String, prefix: &str) -> Arc<RedisStore> {
    store_with(url, prefix, RedisOptions::default()).await
}

/// A store for `url` with `options`.
async fn store_with(url: String, prefix: &str, options: RedisOptions) -> Arc<RedisStore> {
    let target = RedisTarget {
        url,
        prefix: prefix.to_owned(),
        secret: Default::default(),
    };
    let store = RedisStore::connect(
        target,
        options,
        StateTable::new(Arc::new(TrackedModels::new(1000, Arc::default()))),
        Arc::new(SystemClock),
    )
    .await
    .expect("a valid URL");
    Arc::new(store)
}

async fn connected_store(server: &RedisServer, prefix: &str) -> Arc<RedisStore> {
    let store = store_at(server.url(), prefix).await;
    assert!(!store.degraded(), "connected");
    store
}

async fn raw(server: &RedisServer) -> redis::aio::MultiplexedConnection {
    server
        .client()
        .get_multiplexed_async_connection()
        .await
        .expect("raw connection")
}

async fn query<T: redis::FromRedisValue>(
    connection: &mut redis::aio::MultiplexedConnection,
    command: &[&str],
) -> T {
    let mut cmd = redis::cmd(command[0]);
    for arg in &command[1..] {
        cmd.arg(*arg);
    }
    cmd.query_async(connection).await.expect("raw command")
}

/// The binding keys in `credential`'s index.
async fn index(
    connection: &mut redis::aio::MultiplexedConnection,
    prefix: &str,
    credential: &str,
) -> Vec<String> {
    query(
        connection,
        &[
            "ZRANGE",
            &format!("{prefix}bindings:{credential}"),
            "0",
            "-1",
        ],
    )
    .await
}

#[tokio::test]
async fn touch_and_compare_and_delete_act_only_on_their_own_binding() {
    let server = RedisServer::start();
    let store = connected_store(&server, "t1:").await;
    let cache = Arc::new(RedisCache::new(
        store,
        Duration::from_secs(60),
        Arc::new(SystemClock),
    ));
    let mut redis = raw(&server).await;

    cache.set("k", &id("a")).await;
    cache.set("k", &id("b")).await;
    assert_eq!(cache.get("k").await, Some(id("b")));
    assert!(index(&mut redis, "t1:", "a").await.is_empty(), "moved away");
    assert_eq!(index(&mut redis, "t1:", "b").await, ["t1:session:k"]);

    // A late result for "a" neither refreshes nor removes the binding that now names "b".
    let _: () = query(&mut redis, &["PEXPIRE", "t1:session:k", "5000"]).await;
    assert_eq!(cache.touch_now("k", &id("a")).await, Some(false));
    cache.compare_and_delete("k", &id("a")).await;
    let ttl: i64 = query(&mut redis, &["PTTL", "t1:session:k"]).await;
    assert!((0..=5000).contains(&ttl), "not refreshed: {ttl}");
    assert_eq!(cache.get("k").await, Some(id("b")));
    // Its own credential's result does.
    assert_eq!(cache.touch_now("k", &id("b")).await, Some(true));
    let ttl: i64 = query(&mut redis, &["PTTL", "t1:session:k"]).await;
    assert!(ttl > 5000, "refreshed: {ttl}");
    // The trait's touch refreshes in the background (a success does not wait for it).
    let _: () = query(&mut redis, &["PEXPIRE", "t1:session:k", "5000"]).await;
    cache.touch("k", &id("b")).await;
    let deadline = Instant::now() + WAIT;
    loop {
        let ttl: i64 = query(&mut redis, &["PTTL", "t1:session:k"]).await;
        if ttl > 5000 {
            break;
        }
        assert!(Instant::now() < deadline, "refreshed in the background");
        tokio::task::yield_now().await;
    }
    cache.compare_and_delete("k", &id("b")).await;
    assert_eq!(cache.get("k").await, None);
    assert!(index(&mut redis, "t1:", "b").await.is_empty());

    // Racing rebinds, refreshes and removals leave every index in step with the bindings.
    let mut tasks = Vec::new();
    for task in 0..8usize {
        let cache = cache.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..60usize {
                let key = format!("r{}", i % 5);
                let credential = id(&format!("c{}", (task + i) % 4));
                match (task + i) % 3 {
                    0 => cache.set(&key, &credential).await,
                    1 => drop(cache.touch_now(&key, &credential).await),
                    _ => cache.compare_and_delete(&key, &credential).await,
                }
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let mut bound = 0;
    for r in 0..5 {
        let key = format!("t1:session:r{r}");
        let value: Option<String> = query(&mut redis, &["GET", &key]).await;
        bound += usize::from(value.is_some());
        for c in 0..4 {
            let credential = format!("c{c}");
            let listed = index(&mut redis, "t1:", &credential).await.contains(&key);
            assert_eq!(
                listed,
                value.as_deref() == Some(credential.as_str()),
                "{key} = {value:?}, index of {credential}"
            );
        }
    }
    assert_eq!(cache.stats().await.bindings, bound);
}

#[tokio::test]
async fn bindings_expire_on_redis_clock_unless_refreshed() {
    let server = RedisServer::start();
    let store = connected_store(&server, "t2:").await;
    let cache = RedisCache::new(store, Duration::from_secs(1), Arc::new(SystemClock));
    let mut redis = raw(&server).await;

    cache.set("k", &id("a")).await;
    // A hit refreshes the TTL; a plain get does not.
    let _: () = query(&mut redis, &["PEXPIRE", "t2:session:k", "400"]).await;
    assert_eq!(cache.get("k").await, Some(id("a")));
    let ttl: i64 = query(&mut redis, &["PTTL", "t2:session:k"]).await;
    assert!(ttl <= 400, "get does not refresh: {ttl}");
    assert_eq!(cache.get_and_refresh("k").await, Some(id("a")));
    let index_ttl: i64 = query(&mut redis, &["PTTL", "t2:bindings:a"]).await;
    let ttl: i64 = query(&mut redis, &["PTTL", "t2:session:k"]).await;
    assert!(ttl > 500, "refreshed to the TTL: {ttl}");
    assert!(
        (ttl..=1000).contains(&index_ttl),
        "the index outlives the binding: {index_ttl} vs {ttl}"
    );

    // Expiry is the feature here: wait (briefly) for Redis to drop the binding.
    let deadline = Instant::now() + WAIT;
    while cache.get("k").await.is_some() {
        assert!(Instant::now() < deadline, "the binding expires");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(cache.get_and_refresh("k").await, None);
    let stats = cache.stats().await;
    assert_eq!(stats.bindings, 0);
    assert!(stats.by_credential.is_empty());
    let listed: i64 = query(&mut redis, &["ZCARD", "t2:bindings:a"]).await;
    assert_eq!(listed, 0, "the counting trimmed the expired member");
}

#[tokio::test]
async fn a_credentials_bindings_are_dropped_through_its_index() {
    let server = RedisServer::start();
    let store = connected_store(&server, "t3:").await;
    let cache = RedisCache::new(store, Duration::from_secs(60), Arc::new(SystemClock));
    let mut redis = raw(&server).await;

    for (key, credential) in [("k1", "a"), ("k2", "a"), ("k3", "b"), ("k4", "a")] {
        cache.set(key, &id(credential)).await;
    }
    // k4 moves to b: dropping a's bindings must leave it.
    cache.set("k4", &id("b")).await;
    let stats = cache.stats().await;
    assert_eq!(stats.bindings, 4);
    assert_eq!(stats.by_credential["a"], 2);
    assert_eq!(stats.by_credential["b"], 2);

    cache.invalidate_credential(&id("a")).await;
    assert_eq!(cache.get("k1").await, None);
    assert_eq!(cache.get("k2").await, None);
    assert_eq!(cache.get("k3").await, Some(id("b")));
    assert_eq!(cache.get("k4").await, Some(id("b")));
    let exists: i64 = query(&mut redis, &["EXISTS", "t3:bindings:a"]).await;
    assert_eq!(exists, 0);
    let members: BTreeSet<String> = query(&mut redis, &["SMEMBERS", "t3:credentials"]).await;
    assert_eq!(members, BTreeSet::from(["b".to_owned()]));

    cache.invalidate("k3").await;
    let stats = cache.stats().await;
    assert_eq!((stats.bindings, stats.by_credential["b"]), (1, 1));
    assert_eq!(index(&mut redis, "t3:", "b").await, ["t3:session:k4"]);
}

#[tokio::test]
async fn a_store_degrades_without_redis_and_recovers_when_it_is_back() {
    let mut server = RedisServer::start();
    let store = connected_store(&server, "t4:").await;
    let cache = RedisCache::new(
        store.clone(),
        Duration::from_secs(60),
        Arc::new(SystemClock),
    );
    cache.set("k", &id("a")).await;
    let mut degraded = store.degraded_changes();

    server.kill();
    // Answers come from memory, without waiting on the dead server.
    let started = Instant::now();
    assert_eq!(cache.get_and_refresh("k").await, Some(id("a")));
    cache.set("k2", &id("b")).await;
    assert_eq!(cache.get("k2").await, Some(id("b")));
    assert!(started.elapsed() < Duration::from_secs(1), "bounded waits");
    tokio::time::timeout(WAIT, degraded.wait_for(|d| *d))
        .await
        .expect("degraded")
        .unwrap();
    let started = Instant::now();
    for _ in 0..100 {
        cache.get("k").await;
    }
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "Redis is skipped while degraded: {:?}",
        started.elapsed()
    );
    assert_eq!(cache.stats().await.bindings, 2, "local counts");

    server.restart();
    tokio::time::timeout(WAIT, degraded.wait_for(|d| !*d))
        .await
        .expect("back")
        .unwrap();
    cache.set("k3", &id("c")).await;
    let mut redis = raw(&server).await;
    let value: Option<String> = query(&mut redis, &["GET", "t4:session:k3"]).await;
    assert_eq!(value.as_deref(), Some("c"));
    store.stop();
    stopped(&store).await;
}

#[tokio::test]
async fn an_unreachable_redis_starts_degraded_and_is_picked_up_later() {
    let port = RedisServer::unused_port();
    let started = Instant::now();
    let store = store_at(format!("redis://127.0.0.1:{port}"), "t5:").await;
    assert!(store.degraded());
    assert!(started.elapsed() < Duration::from_secs(5));
    let mut degraded = store.degraded_changes();
    let _server = RedisServer::start_on(port);
    tokio::time::timeout(WAIT, degraded.wait_for(|d| !*d))
        .await
        .expect("connected once Redis is there")
        .unwrap();
}

// --- replicas -----------------------------------------------------------------------------

/// `routing` with the Redis store and `claude-api-key` entries `k0`..`k{n-1}` on the mock.
fn replica_config(
    redis: &RedisServer,
    mock: &MockUpstream,
    credentials: usize,
    affinity: bool,
) -> String {
    let mut yaml = format!(
        "routing:\n  session-affinity: {affinity}\n  session-store: {}\nclaude-api-key:\n",
        redis.url()
    );
    for i in 0..credentials {
        yaml.push_str(&format!(
            "  - api-key: k{i}\n    base-url: {}\n",
            mock.base_url()
        ));
    }
    yaml
}

async fn replicas(yaml: &str, n: usize) -> Vec<Proxy> {
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(Proxy::start_with(yaml, |o| o.with_local_password(PASSWORD)).await);
    }
    out
}

fn store_of(proxy: &Proxy) -> Arc<RedisStore> {
    proxy
        .runtime()
        .generation()
        .store
        .clone()
        .expect("the Redis store")
}

/// The credential id of the `claude-api-key` entry with `key`.
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

async fn sessions_report(proxy: &Proxy) -> Value {
    read(
        proxy
            .client
            .get(proxy.url("/v0/management/sessions"))
            .bearer_auth(PASSWORD)
            .send()
            .await
            .expect("sent"),
    )
    .await
    .json()
}

/// A conversation: an `X-Session-ID` client, or one recognised by its message hash.
struct Conversation {
    header: Option<String>,
    topic: String,
    messages: Vec<Value>,
}

impl Conversation {
    fn with_header(id: &str) -> Conversation {
        Conversation {
            header: Some(id.to_owned()),
            topic: id.to_owned(),
            messages: Vec::new(),
        }
    }

    fn anonymous(topic: &str) -> Conversation {
        Conversation {
            header: None,
            topic: topic.to_owned(),
            messages: Vec::new(),
        }
    }

    /// Sends the next turn (the whole conversation so far) and keeps the answer.
    async fn turn(&mut self, proxy: &Proxy) -> Reply {
        let n = self.messages.len() / 2;
        self.messages.push(json!({
            "role": "user",
            "content": format!("{}: question {n}", self.topic),
        }));
        let body = json!({
            "model": MODEL,
            "max_tokens": 64,
            "system": "You are a careful assistant.",
            "messages": self.messages,
        });
        let headers: Vec<(&str, &str)> = match &self.header {
            Some(id) => vec![("x-session-id", id.as_str())],
            None => Vec::new(),
        };
        let reply = proxy.post_with("/v1/messages", &body, &headers).await;
        assert_eq!(reply.status, 200, "{}", reply.text());
        let text = reply.json()["content"][0]["text"]
            .as_str()
            .unwrap_or("ok")
            .to_owned();
        self.messages
            .push(json!({ "role": "assistant", "content": text }));
        reply
    }

    /// Sends one turn to each of `proxies` in turn, `rounds` times; the credential of each.
    async fn alternate(&mut self, proxies: &[&Proxy], rounds: usize) -> Vec<String> {
        let mut used = Vec::new();
        for _ in 0..rounds {
            for proxy in proxies {
                used.push(self.turn(proxy).await.credential());
            }
        }
        used
    }
}

fn distinct(credentials: &[String]) -> BTreeSet<&str> {
    credentials.iter().map(String::as_str).collect()
}

#[tokio::test]
async fn a_conversation_alternating_between_replicas_stays_on_one_credential() {
    let redis = RedisServer::start();
    let mock = MockUpstream::start().await.unwrap();
    let proxies = replicas(&replica_config(&redis, &mock, 4, true), 3).await;
    let all: Vec<&Proxy> = proxies.iter().collect();

    let mut used = BTreeSet::new();
    for n in 0..4 {
        let mut header = Conversation::with_header(&format!("header-session-{n}"));
        let credentials = header.alternate(&all, 2).await;
        assert_eq!(distinct(&credentials).len(), 1, "{credentials:?}");
        used.insert(credentials[0].clone());
        let mut hashed = Conversation::anonymous(&format!("hashed conversation {n}"));
        let credentials = hashed.alternate(&all, 2).await;
        assert_eq!(distinct(&credentials).len(), 1, "{credentials:?}");
        used.insert(credentials[0].clone());
    }
    assert!(
        used.len() > 1,
        "sessions spread over the credentials: {used:?}"
    );

    let report = sessions_report(&proxies[2]).await;
    assert_eq!(report["store"], "redis");
    assert_eq!(report["degraded"], false);
    assert!(report["bindings"].as_u64().unwrap() >= 8, "{report}");
}

#[tokio::test]
async fn a_429_seen_by_one_replica_cools_the_credential_on_all() {
    let redis = RedisServer::start();
    let mock = MockUpstream::start().await.unwrap();
    let proxies = replicas(&replica_config(&redis, &mock, 3, false), 2).await;
    let (a, b) = (&proxies[0], &proxies[1]);
    let k0 = credential_id(a, "k0");
    let mut b_applied = store_of(b).applied_changes();
    let mut a_applied = store_of(a).applied_changes();

    mock.set_fault("k0", Fault::status(429).with_retry_after("30"));
    // Round robin through A reaches k0 within three requests; each is answered by another.
    for _ in 0..3 {
        let reply = a.post("/v1/messages", &messages(MODEL)).await;
        assert_eq!(reply.status, 200, "{}", reply.text());
        assert_ne!(reply.credential(), "k0");
        if mock.request_count_for("k0") > 0 {
            break;
        }
    }
    assert_eq!(mock.request_count_for("k0"), 1);

    tokio::time::timeout(WAIT, b_applied.wait_for(|n| *n >= 1))
        .await
        .expect("B hears of A's cooldown")
        .unwrap();
    let block = b
        .runtime()
        .states
        .state_for(&k0)
        .block(MODEL, b.clock.now())
        .expect("k0 cools down on B");
    assert!(block.quota);
    for _ in 0..6 {
        let reply = b.post("/v1/messages", &messages(MODEL)).await;
        assert_eq!(reply.status, 200, "{}", reply.text());
        assert_ne!(reply.credential(), "k0");
    }
    assert_eq!(mock.request_count_for("k0"), 1, "B never tried k0");

    // B's clock passes the cooldown; k0 answers through B, and that success ends the cooldown
    // on A too (whose clock still reads inside it).
    mock.clear_faults();
    b.clock.advance(Duration::from_secs(31));
    let mut recovered = false;
    for _ in 0..3 {
        let reply = b.post("/v1/messages", &messages(MODEL)).await;
        if reply.credential() == "k0" {
            recovered = true;
            break;
        }
    }
    assert!(recovered, "B uses k0 again");
    tokio::time::timeout(WAIT, a_applied.wait_for(|n| *n >= 1))
        .await
        .expect("A hears of the success")
        .unwrap();
    assert_eq!(
        a.runtime()
            .states
            .state_for(&k0)
            .block(MODEL, a.clock.now()),
        None
    );
    let mut answered = BTreeSet::new();
    for _ in 0..3 {
        answered.insert(a.post("/v1/messages", &messages(MODEL)).await.credential());
    }
    assert!(answered.contains("k0"), "{answered:?}");
}

#[tokio::test]
async fn killing_redis_keeps_every_request_answered_and_a_restart_restores_sharing() {
    let mut redis = RedisServer::start();
    let mock = MockUpstream::start().await.unwrap();
    let proxies = replicas(&replica_config(&redis, &mock, 3, true), 2).await;
    let (a, b) = (&proxies[0], &proxies[1]);
    let both = [a, b];

    let mut kept = Conversation::with_header("kept-through-the-outage");
    let credentials = kept.alternate(&both, 1).await;
    assert_eq!(distinct(&credentials).len(), 1);
    let bound = credentials[0].clone();

    let mut degraded: Vec<_> = both
        .iter()
        .map(|p| store_of(p).degraded_changes())
        .collect();
    redis.kill();
    // Every request is answered; each replica keeps the session where it last saw it.
    let during = kept.alternate(&both, 3).await;
    assert_eq!(distinct(&during), BTreeSet::from([bound.as_str()]));
    for n in 0..3 {
        let mut fresh = Conversation::with_header(&format!("new-during-outage-{n}"));
        for proxy in both {
            let first = fresh.turn(proxy).await.credential();
            assert_eq!(fresh.turn(proxy).await.credential(), first, "per replica");
        }
    }
    for watch in &mut degraded {
        tokio::time::timeout(WAIT, watch.wait_for(|d| *d))
            .await
            .expect("degraded")
            .unwrap();
    }
    let report = sessions_report(a).await;
    assert_eq!(
        (report["store"].as_str(), report["degraded"].as_bool()),
        (Some("redis"), Some(true))
    );
    let metrics = read(
        a.client
            .get(a.url("/metrics"))
            .bearer_auth(PASSWORD)
            .send()
            .await
            .unwrap(),
    )
    .await
    .text();
    assert!(
        metrics.contains("switchyard_session_store_degraded 1"),
        "{metrics}"
    );

    redis.restart();
    for watch in &mut degraded {
        tokio::time::timeout(WAIT, watch.wait_for(|d| !*d))
            .await
            .expect("Redis is used again")
            .unwrap();
    }
    assert_eq!(sessions_report(b).await["degraded"], false);

    // Bindings are shared again…
    let mut after = Conversation::with_header("after-the-outage");
    let credentials = after.alternate(&both, 3).await;
    assert_eq!(distinct(&credentials).len(), 1, "{credentials:?}");
    // …and so are cooldowns: the session's credential fails through A, the session moves, and
    // B both knows the cooldown and follows the move.
    let failing = credentials[0].clone();
    let failing_id = credential_id(a, &failing);
    let mut b_applied = store_of(b).applied_changes();
    let before = *b_applied.borrow_and_update();
    mock.set_fault(&failing, Fault::status(429).with_retry_after("30"));
    let moved = after.turn(a).await.credential();
    assert_ne!(moved, failing);
    tokio::time::timeout(WAIT, b_applied.wait_for(|n| *n > before))
        .await
        .expect("B hears of the cooldown")
        .unwrap();
    assert!(
        b.runtime()
            .states
            .state_for(&failing_id)
            .block(MODEL, b.clock.now())
            .is_some()
    );
    assert_eq!(after.turn(b).await.credential(), moved);
}

/// Waits until `store`'s tasks have ended.
async fn stopped(store: &RedisStore) {
    tokio::time::timeout(WAIT, async {
        while !store.finished() {
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("the store's tasks end");
}

#[tokio::test]
async fn a_reload_that_changes_the_store_rebuilds_it() {
    let redis = RedisServer::start();
    let mock = MockUpstream::start().await.unwrap();
    let memory = format!(
        "routing:\n  session-affinity: true\nclaude-api-key:\n  - api-key: k0\n    base-url: {}\n",
        mock.base_url()
    );
    let proxy = Proxy::start(&memory).await;
    assert!(proxy.runtime().generation().store.is_none());

    let shared = replica_config(&redis, &mock, 1, true);
    assert_eq!(proxy.rewrite_config(&shared).await.last_error, None);
    let first = store_of(&proxy);
    assert!(!first.degraded());
    assert_eq!(first.target().prefix, "switchyard:");
    // A change elsewhere keeps the store, its connection and the bindings' cache.
    let affinity = proxy.runtime().generation().affinity.clone().unwrap();
    let status = proxy
        .rewrite_config(&format!("{shared}request-retry: 2\n"))
        .await;
    assert_eq!(status.last_error, None);
    assert!(Arc::ptr_eq(&first, &store_of(&proxy)));
    assert!(Arc::ptr_eq(
        &affinity,
        proxy.runtime().generation().affinity.as_ref().unwrap()
    ));

    // Another prefix: a new store, the old one stops, bindings go under the new prefix.
    let prefixed = shared.replace(
        "routing:\n",
        "routing:\n  session-store-prefix: \"other:\"\n",
    );
    assert_eq!(proxy.rewrite_config(&prefixed).await.last_error, None);
    let second = store_of(&proxy);
    assert!(!Arc::ptr_eq(&first, &second));
    assert_eq!(second.target().prefix, "other:");
    stopped(&first).await;
    let cache = proxy.runtime().generation().affinity.clone().unwrap();
    cache.cache().set("claude::s::m", &id("c")).await;
    let mut raw = raw(&redis).await;
    let value: Option<String> = query(&mut raw, &["GET", "other:session:claude::s::m"]).await;
    assert_eq!(value.as_deref(), Some("c"));

    // Back to memory: the store stops.
    assert_eq!(proxy.rewrite_config(&memory).await.last_error, None);
    assert!(proxy.runtime().generation().store.is_none());
    stopped(&second).await;
}

// --- trust and cost ---------------------------------------------------------------------------

const SECRET: &str = "0123456789abcdef0123456789abcdef";

/// A store with `secret` whose table knows `known`, publishing its own changes.
async fn trusting_store(
    server: &RedisServer,
    prefix: &str,
    secret: &str,
    known: &[&str],
) -> (Arc<RedisStore>, Arc<StateTable>) {
    let states = StateTable::new(Arc::new(TrackedModels::new(1000, Arc::default())));
    for credential in known {
        states.state_for(&id(credential));
    }
    let store = RedisStore::connect(
        RedisTarget {
            url: server.url(),
            prefix: prefix.to_owned(),
            secret: StoreSecret::new(secret),
        },
        RedisOptions::default(),
        states.clone(),
        Arc::new(SystemClock),
    )
    .await
    .expect("a valid URL");
    assert!(!store.degraded(), "connected");
    states.set_listener(Some(store.listener()));
    (Arc::new(store), states)
}

/// The wire form docs/security.md describes, computed independently: `v1.<hex MAC>.<body>`,
/// the MAC keyed by `HMAC(secret, domain)` over the prefix's length (u64 BE), the prefix and
/// the body.
fn signed(secret: &str, prefix: &str, body: &str) -> String {
    use hmac::{Hmac, Mac};
    type H = Hmac<sha2::Sha256>;
    let mut derive = H::new_from_slice(secret.as_bytes()).unwrap();
    derive.update(b"switchyard redis-store cooldown messages v1");
    let key = derive.finalize().into_bytes();
    let mut mac = H::new_from_slice(&key).unwrap();
    mac.update(&(prefix.len() as u64).to_be_bytes());
    mac.update(prefix.as_bytes());
    mac.update(body.as_bytes());
    format!("v1.{}.{body}", hex::encode(mac.finalize().into_bytes()))
}

fn cooldown_body(credential: &str, until_ms: u64) -> String {
    json!({"origin": "forger", "credential": credential, "model": MODEL, "until_ms": until_ms})
        .to_string()
}

fn now_ms() -> u64 {
    u64::try_from(
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

/// Waits until `value()` reaches at least `want`.
async fn until_at_least(what: &str, want: u64, value: impl Fn() -> u64) {
    let deadline = Instant::now() + WAIT;
    while value() < want {
        assert!(Instant::now() < deadline, "{what}: {} < {want}", value());
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn blocked_until(states: &StateTable, credential: &str) -> Option<SystemTime> {
    states
        .state_for(&id(credential))
        .block(MODEL, SystemTime::now())
        .map(|block| block.until)
}

fn cool(states: &StateTable, credential: &str) {
    states.state_for(&id(credential)).record_failure(
        MODEL,
        Tracking::Listed,
        &Failure {
            blame: Blame::Quota,
            status: Some(429),
            retry_after: Some(Duration::from_secs(600)),
        },
        SystemTime::now(),
        false,
    );
}

#[tokio::test]
async fn only_cooldown_messages_signed_with_the_shared_secret_are_applied() {
    let server = RedisServer::start();
    let prefix = "trust:";
    let (_a, a_states) = trusting_store(&server, prefix, SECRET, &["c1", "c2"]).await;
    let (b, b_states) = trusting_store(&server, prefix, SECRET, &["c1", "c2"]).await;
    let (_c, c_states) =
        trusting_store(&server, prefix, "another-secret-of-16+", &["c1", "c2"]).await;
    let mut raw = raw(&server).await;
    let channel = format!("{prefix}cooldown-events");

    // A forged, unsigned message: ignored and counted.
    let forged = cooldown_body("c1", now_ms() + 3_600_000);
    let _: i64 = query(&mut raw, &["PUBLISH", &channel, &forged]).await;
    until_at_least("rejected", 1, || b.rejected()).await;
    // A replica with another secret: its messages are ignored too.
    cool(&c_states, "c2");
    until_at_least("rejected", 2, || b.rejected()).await;
    // A replica with the same secret: applied.
    let applied = *b.applied_changes().borrow();
    cool(&a_states, "c1");
    let mut changes = b.applied_changes();
    tokio::time::timeout(WAIT, changes.wait_for(|n| *n > applied))
        .await
        .expect("the signed change arrives")
        .unwrap();
    assert!(
        blocked_until(&b_states, "c1").is_some(),
        "a signed change cools c1"
    );
    assert_eq!(
        blocked_until(&b_states, "c2"),
        None,
        "c2 cooled by a forger"
    );
    assert_eq!(b.rejected(), 2);
}

#[tokio::test]
async fn a_resync_ignores_forged_cooldown_keys_and_clamps_far_ends() {
    let server = RedisServer::start();
    let prefix = "resync:";
    let mut raw = raw(&server).await;
    let year_ten_million_ms = 315_569_520_000_000_000u64;
    let entries = [
        ("c1", cooldown_body("c1", now_ms() + 3_600_000)),
        (
            "c2",
            signed(SECRET, prefix, &cooldown_body("c2", year_ten_million_ms)),
        ),
    ];
    for (credential, value) in &entries {
        let member = json!([credential, MODEL]).to_string();
        let key = format!("{prefix}cooldown:{member}");
        let _: () = query(&mut raw, &["SET", &key, value, "PX", "3600000"]).await;
        let end = (now_ms() + 3_600_000).to_string();
        let _: i64 = query(
            &mut raw,
            &["ZADD", &format!("{prefix}cooldowns"), &end, &member],
        )
        .await;
    }
    let (b, b_states) = trusting_store(&server, prefix, SECRET, &["c1", "c2"]).await;
    assert_eq!(
        blocked_until(&b_states, "c1"),
        None,
        "a forged key cools nothing"
    );
    assert_eq!(b.rejected(), 1, "the forged key is counted");
    let until = blocked_until(&b_states, "c2").expect("the signed key is applied");
    let day = Duration::from_secs(24 * 3600);
    assert!(
        until <= SystemTime::now() + day,
        "clamped to a day: {until:?}"
    );
    assert!(until > SystemTime::now() + day - Duration::from_secs(600));
}

/// Writes `n` bindings of `credential` in the cache's key layout (`keys.rs`), pipelined.
async fn bulk_bindings(
    connection: &mut redis::aio::MultiplexedConnection,
    prefix: &str,
    credential: &str,
    n: usize,
) {
    let ttl_ms = 3_600_000u64;
    let expiry = now_ms() + ttl_ms;
    let order_score = now_ms() * 1000;
    for chunk in (0..n).collect::<Vec<_>>().chunks(5_000) {
        let mut pipe = redis::pipe();
        let keys: Vec<String> = chunk
            .iter()
            .map(|i| format!("{prefix}session:claude::{credential}-{i}::{MODEL}"))
            .collect();
        for key in &keys {
            pipe.cmd("SET")
                .arg(key)
                .arg(credential)
                .arg("PX")
                .arg(ttl_ms)
                .ignore();
        }
        for part in keys.chunks(500) {
            let index = pipe
                .cmd("ZADD")
                .arg(format!("{prefix}bindings:{credential}"));
            for key in part {
                index.arg(expiry).arg(key);
            }
            index.ignore();
            let order = pipe.cmd("ZADD").arg(format!("{prefix}binding-order"));
            for key in part {
                order.arg(order_score).arg(key);
            }
            order.ignore();
        }
        pipe.cmd("SADD")
            .arg(format!("{prefix}credentials"))
            .arg(credential)
            .ignore();
        let () = pipe.query_async(connection).await.expect("bulk bindings");
    }
}

/// How many times Redis has run `command` (lowercase) since its statistics were reset
/// (`INFO commandstats`).
async fn command_calls(connection: &mut redis::aio::MultiplexedConnection, command: &str) -> u64 {
    let info: String = query(connection, &["INFO", "commandstats"]).await;
    let prefix = format!("cmdstat_{command}:calls=");
    info.lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .and_then(|rest| rest.split(',').next())
        .map_or(0, |calls| calls.parse().expect("a call count"))
}

/// 200,000 bindings of one credential and 20,000 cooldown keys; then a resync, counting the
/// bindings, and dropping the credential's bindings (a rotation, or `DELETE /sessions`).
/// Returns how many `ZSCAN` steps and script runs dropping the bindings took.
async fn walk_200000_bindings(server: &RedisServer, prefix: &str) -> (u64, u64) {
    let mut raw = raw(server).await;
    bulk_bindings(&mut raw, prefix, "hot", 200_000).await;
    bulk_bindings(&mut raw, prefix, "cold", 3).await;
    // 20,000 cooldowns in force (forged: the resync still walks them all).
    let mut pipe = redis::pipe();
    for i in 0..20_000 {
        let member = json!([format!("x{i}"), MODEL]).to_string();
        pipe.cmd("SET")
            .arg(format!("{prefix}cooldown:{member}"))
            .arg(cooldown_body(&format!("x{i}"), now_ms() + 3_600_000))
            .arg("PX")
            .arg(3_600_000)
            .ignore();
        pipe.cmd("ZADD")
            .arg(format!("{prefix}cooldowns"))
            .arg(now_ms() + 3_600_000)
            .arg(member)
            .ignore();
    }
    let () = pipe.query_async(&mut raw).await.expect("bulk cooldowns");
    // The walk's calls are counted, not timed: a loaded test machine must not time them out.
    let patient = RedisOptions {
        call_timeout: Duration::from_secs(30),
        ..RedisOptions::default()
    };
    let store = store_with(server.url(), prefix, patient).await;
    assert!(!store.degraded(), "connected");
    let cache = RedisCache::with_limit(
        store.clone(),
        Duration::from_secs(3600),
        Arc::new(SystemClock),
        BindingLimit::new(1_000_000, Arc::default()),
    );
    // The resync (at connection) walked every cooldown.
    assert_eq!(store.rejected(), 20_000);
    let stats = cache.stats().await;
    assert_eq!(stats.bindings, 200_003);
    assert_eq!(stats.by_credential.get("hot"), Some(&200_000));
    let _: () = query(&mut raw, &["CONFIG", "RESETSTAT"]).await;
    cache.invalidate_credential(&id("hot")).await;
    let steps = command_calls(&mut raw, "zscan").await;
    let scripts = command_calls(&mut raw, "evalsha").await + command_calls(&mut raw, "eval").await;
    let stats = cache.stats().await;
    assert_eq!(stats.bindings, 3, "{stats:?}");
    let left: i64 = query(&mut raw, &["EXISTS", &format!("{prefix}bindings:hot")]).await;
    assert_eq!(left, 0);
    let gone: Option<String> = query(
        &mut raw,
        &[
            "GET",
            &format!("{prefix}session:claude::hot-123456::{MODEL}"),
        ],
    )
    .await;
    assert_eq!(gone, None);
    let cold = cache.get(&format!("claude::cold-1::{MODEL}")).await;
    assert_eq!(cold, Some(id("cold")));
    store.stop();
    (steps, scripts)
}

/// Dropping 200,000 bindings of one credential is a walk of many short calls, never one call
/// over the whole index (which would block Redis for every replica while it runs): each
/// `ZSCAN` step and each script run handles a small batch. Counted, not timed: a batch of at
/// most a few hundred members means at least 1,000 steps and 1,000 script runs.
#[tokio::test]
async fn dropping_200000_bindings_is_a_walk_of_small_calls() {
    let server = RedisServer::start();
    let (steps, scripts) = walk_200000_bindings(&server, "big:").await;
    assert!(steps >= 1_000, "ZSCAN steps: {steps}");
    assert!(scripts >= 1_000, "script runs: {scripts}");
}

#[tokio::test]
async fn a_proxy_applies_only_cooldowns_signed_with_its_configured_secret() {
    let redis = RedisServer::start();
    let mock = MockUpstream::start().await.unwrap();
    let yaml = replica_config(&redis, &mock, 1, false).replace(
        "\nclaude-api-key:",
        &format!("\n  session-store-secret: {SECRET}\nclaude-api-key:"),
    );
    let proxy = &replicas(&yaml, 1).await[0];
    let store = store_of(proxy);
    let k0 = credential_id(proxy, "k0");
    let mut raw = raw(&redis).await;
    let until = proxy.clock.now() + Duration::from_secs(3600);
    let until_ms = u64::try_from(
        until
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap();
    let body = cooldown_body(k0.as_str(), until_ms);

    let _: i64 = query(&mut raw, &["PUBLISH", "switchyard:cooldown-events", &body]).await;
    until_at_least("rejected", 1, || store.rejected()).await;
    let metrics = proxy.metrics().await;
    assert!(
        metrics.contains("switchyard_session_store_rejected_messages_total 1"),
        "{metrics}"
    );
    let reply = proxy.post("/v1/messages", &messages(MODEL)).await;
    assert_eq!(reply.status, 200, "an unsigned message cools nothing");

    let mut applied = store.applied_changes();
    let signed = signed(SECRET, "switchyard:", &body);
    let _: i64 = query(
        &mut raw,
        &["PUBLISH", "switchyard:cooldown-events", &signed],
    )
    .await;
    tokio::time::timeout(WAIT, applied.wait_for(|n| *n >= 1))
        .await
        .expect("the signed message is applied")
        .unwrap();
    // The only credential is benched: nothing reaches the upstream.
    let reply = proxy.post("/v1/messages", &messages(MODEL)).await;
    assert_eq!(reply.status, 503, "{}", reply.text());
    assert_eq!(mock.request_count_for("k0"), 1);
}
