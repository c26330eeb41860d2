//! The management API: enabling, authentication and bans, local versus remote clients, config
//! edits that keep comments, and that changes reach the proxy path.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use switchyard_mock::MockUpstream;

use crate::harness::yaml::claude;
use crate::harness::{Proxy, Reply, ban_seconds_left, chat, messages, read, remote_client};

const SECRET: &str = "s3cret-admin";

/// The client key of the configs with an `auth:` block.
const CLIENT: &[(&str, &str)] = &[("authorization", "Bearer t1")];

/// Sends a management request with `key` (as `Authorization: Bearer`).
async fn call(
    proxy: &Proxy,
    client: &reqwest::Client,
    method: Method,
    path: &str,
    key: Option<&str>,
    body: Option<Value>,
) -> Reply {
    let mut request = client.request(method, proxy.url(&format!("/v0/management{path}")));
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    read(request.send().await.expect("request sent")).await
}

/// A local management request with the right key.
async fn admin(proxy: &Proxy, method: Method, path: &str, body: Option<Value>) -> Reply {
    call(proxy, &proxy.client, method, path, Some(SECRET), body).await
}

fn managed(extra: &str) -> String {
    format!("remote-management:\n  allow-remote: false\n  secret-key: {SECRET}\n{extra}")
}

/// The credential that answers a Messages request (sent with the client key `t1`, which the
/// configs with an `auth:` block accept).
async fn answered_by(proxy: &Proxy, model: &str) -> String {
    let reply = proxy
        .post_with(
            "/v1/messages",
            &messages(model),
            &[("authorization", "Bearer t1")],
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    reply.credential()
}

fn config_text(proxy: &Proxy) -> String {
    std::fs::read_to_string(proxy.config_path()).unwrap()
}

#[tokio::test]
async fn without_a_secret_there_is_no_management_api() {
    let mock = MockUpstream::start().await.unwrap();
    let proxy = Proxy::start(&claude(&mock, &["a"])).await;
    for (method, path) in [
        (Method::GET, "/config"),
        (Method::PUT, "/api-keys"),
        (Method::GET, "/usage"),
        (Method::GET, "/auth-files"),
    ] {
        let reply = call(&proxy, &proxy.client, method, path, Some("anything"), None).await;
        assert_eq!((reply.status, reply.text()), (404, String::new()), "{path}");
    }
    // Metrics need the key from local clients too (unless `metrics.public`): none can exist.
    assert_eq!(proxy.get("/metrics").await.status, 404);
    let remote = remote_client()
        .get(proxy.url("/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(remote.status(), 404);
}

#[tokio::test]
async fn a_plaintext_secret_is_hashed_in_place_and_keys_are_checked() {
    let mock = MockUpstream::start().await.unwrap();
    let yaml = format!(
        "# admin settings\nremote-management:\n  allow-remote: false   # local only\n  secret-key: {SECRET}  # replaced by its hash\n{}",
        claude(&mock, &["a"])
    );
    let proxy = Proxy::start(&yaml).await;
    let text = config_text(&proxy);
    let line = text
        .lines()
        .find(|l| l.contains("secret-key:"))
        .unwrap()
        .to_owned();
    assert!(line.starts_with("  secret-key: \"$2"), "{line}");
    assert!(line.ends_with("\"  # replaced by its hash"), "{line}");
    assert!(!text.contains(SECRET));
    let hash = line.split('"').nth(1).unwrap();
    let written = format!("host: 127.0.0.1\nport: 0\npassthrough-headers: true\n{yaml}");
    assert_eq!(
        text,
        written.replace(
            &format!("secret-key: {SECRET}"),
            &format!("secret-key: \"{hash}\"")
        ),
        "only the value changed"
    );

    let reply = admin(&proxy, Method::GET, "/config", None).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert!(reply.header("x-switchyard-version").is_some());
    let config = reply.json();
    assert_eq!(config["claude-api-key"][0]["api-key"], "a");
    assert_eq!(config["routing"]["strategy"], "round-robin");
    for hidden in ["host", "port", "remote-management", "auth-dir"] {
        assert!(config.get(hidden).is_none(), "{hidden}");
    }
    let by_header = proxy
        .client
        .get(proxy.url("/v0/management/config"))
        .header("x-management-key", SECRET)
        .send()
        .await
        .unwrap();
    assert_eq!(by_header.status(), 200);
    let raw = proxy
        .client
        .get(proxy.url("/v0/management/config"))
        .header("authorization", SECRET)
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 200);

    let missing = call(&proxy, &proxy.client, Method::GET, "/config", None, None).await;
    assert_eq!(
        (missing.status, missing.json()),
        (401, json!({ "error": "missing management key" }))
    );
    let wrong = call(
        &proxy,
        &proxy.client,
        Method::GET,
        "/config",
        Some("nope"),
        None,
    )
    .await;
    assert_eq!(
        (wrong.status, wrong.json()),
        (401, json!({ "error": "invalid management key" }))
    );
}

#[tokio::test]
async fn five_failures_ban_an_address_for_thirty_minutes() {
    let mock = MockUpstream::start().await.unwrap();
    let proxy = Proxy::start(&format!(
        "remote-management:\n  allow-remote: true\n  secret-key: {SECRET}\n{}",
        claude(&mock, &["a"])
    ))
    .await;
    for _ in 0..5 {
        let reply = call(
            &proxy,
            &proxy.client,
            Method::GET,
            "/config",
            Some("wrong"),
            None,
        )
        .await;
        assert_eq!(reply.status, 401);
    }
    let banned = admin(&proxy, Method::GET, "/config", None).await;
    assert_eq!(banned.status, 403);
    // The remaining time, rounded to the second, is 30m0s unless the machine is very slow.
    let left = ban_seconds_left(banned.json()["error"].as_str().unwrap());
    assert!((1790..=1800).contains(&left), "{left}");
    // Another address is not affected.
    let other = call(
        &proxy,
        &remote_client(),
        Method::GET,
        "/config",
        Some(SECRET),
        None,
    )
    .await;
    assert_eq!(other.status, 200);

    proxy.clock.advance(Duration::from_secs(29 * 60));
    let still = admin(&proxy, Method::GET, "/config", None).await;
    let left = ban_seconds_left(still.json()["error"].as_str().unwrap());
    assert!((50..=60).contains(&left), "{left}");
    proxy.clock.advance(Duration::from_secs(61));
    assert_eq!(
        admin(&proxy, Method::GET, "/config", None).await.status,
        200
    );
}

/// A counter's value on `/metrics` (read as a local client, which needs no key).
async fn metric(proxy: &Proxy, name: &str) -> u64 {
    let text = proxy.metrics().await;
    text.lines()
        .find_map(|line| line.strip_prefix(&format!("{name} ")))
        .unwrap_or_else(|| panic!("{name} missing from /metrics"))
        .parse()
        .unwrap()
}

#[tokio::test]
async fn concurrent_wrong_keys_cost_five_bcrypt_checks_then_meet_the_ban() {
    let mock = MockUpstream::start().await.unwrap();
    let proxy = Proxy::start(&managed(&claude(&mock, &["a"]))).await;
    let mut requests = tokio::task::JoinSet::new();
    for n in 0..200 {
        let request = proxy
            .request(Method::GET, "/v0/management/config")
            .bearer_auth(format!("wrong-{n}"));
        requests.spawn(async move { read(request.send().await.expect("request sent")).await });
    }
    let (mut refused, mut banned) = (0, 0);
    while let Some(reply) = requests.join_next().await {
        let reply = reply.unwrap();
        match reply.status {
            401 => refused += 1,
            403 => {
                ban_seconds_left(reply.json()["error"].as_str().unwrap());
                banned += 1;
            }
            other => panic!("unexpected {other}: {}", reply.text()),
        }
    }
    assert_eq!((refused, banned), (5, 195));
    let runs = metric(&proxy, "switchyard_management_bcrypt_verifications_total").await;
    assert!(runs <= 5, "{runs} bcrypt verifications");
    assert_eq!(metric(&proxy, "switchyard_management_bans_total").await, 1);
    // The right key is banned too, without another bcrypt run.
    let reply = admin(&proxy, Method::GET, "/config", None).await;
    assert_eq!(reply.status, 403);
    let left = ban_seconds_left(reply.json()["error"].as_str().unwrap());
    assert!((1790..=1800).contains(&left), "{left}");
    assert_eq!(
        metric(&proxy, "switchyard_management_bcrypt_verifications_total").await,
        runs
    );
}

#[tokio::test]
async fn requests_without_a_key_are_not_failures() {
    let mock = MockUpstream::start().await.unwrap();
    let proxy = Proxy::start(&managed(&claude(&mock, &["a"]))).await;
    for _ in 0..10 {
        let missing = call(&proxy, &proxy.client, Method::GET, "/config", None, None).await;
        assert_eq!(
            (missing.status, missing.json()),
            (401, json!({ "error": "missing management key" }))
        );
    }
    assert_eq!(
        admin(&proxy, Method::GET, "/config", None).await.status,
        200
    );
}

/// A 100-byte secret, and a key that shares its first 72 bytes.
fn long_secret_pair() -> (String, String) {
    let secret = format!("{}{}", "k".repeat(72), "s".repeat(28));
    let imposter = format!("{}{}", "k".repeat(72), "x".repeat(28));
    (secret, imposter)
}

#[tokio::test]
async fn long_secrets_are_told_apart_beyond_72_bytes() {
    let mock = MockUpstream::start().await.unwrap();
    let (secret, imposter) = long_secret_pair();
    let proxy = Proxy::start(&format!(
        "remote-management:\n  secret-key: {secret}\n{}",
        claude(&mock, &["a"])
    ))
    .await;
    assert!(config_text(&proxy).contains("secret-key: \"$2"));
    let right = call(
        &proxy,
        &proxy.client,
        Method::GET,
        "/config",
        Some(&secret),
        None,
    )
    .await;
    assert_eq!(right.status, 200, "{}", right.text());
    let wrong = call(
        &proxy,
        &proxy.client,
        Method::GET,
        "/config",
        Some(&imposter),
        None,
    )
    .await;
    assert_eq!(wrong.status, 401);
}

#[tokio::test]
async fn a_legacy_hash_of_a_long_secret_is_accepted_once_and_replaced() {
    let mock = MockUpstream::start().await.unwrap();
    let (secret, imposter) = long_secret_pair();
    // What earlier versions (and the reference) wrote: bcrypt of the truncated secret.
    let legacy = bcrypt::hash(&secret, 4).unwrap();
    let proxy = Proxy::start(&format!(
        "remote-management:\n  secret-key: \"{legacy}\"  # rotated in 2025\n{}",
        claude(&mock, &["a"])
    ))
    .await;
    let generation = proxy.runtime().generation().number;
    let right = call(
        &proxy,
        &proxy.client,
        Method::GET,
        "/config",
        Some(&secret),
        None,
    )
    .await;
    assert_eq!(right.status, 200, "{}", right.text());
    // Written back (before the answer) through the config write path, comment kept.
    let text = config_text(&proxy);
    let line = text.lines().find(|l| l.contains("secret-key:")).unwrap();
    assert!(line.ends_with("\"  # rotated in 2025"), "{line}");
    let stored = line.split('"').nth(1).unwrap();
    assert!(stored.starts_with("$2") && stored != legacy, "{line}");
    assert!(proxy.runtime().generation().number > generation, "reloaded");
    // The legacy form is gone: a key sharing the first 72 bytes no longer gets in.
    let wrong = call(
        &proxy,
        &proxy.client,
        Method::GET,
        "/config",
        Some(&imposter),
        None,
    )
    .await;
    assert_eq!(wrong.status, 401);
    let again = call(
        &proxy,
        &proxy.client,
        Method::GET,
        "/config",
        Some(&secret),
        None,
    )
    .await;
    assert_eq!(again.status, 200);
    assert_eq!(config_text(&proxy), text, "rewritten once");
}

#[tokio::test]
async fn clients_that_are_not_local_need_allow_remote() {
    let mock = MockUpstream::start().await.unwrap();
    let proxy = Proxy::start(&managed(&claude(&mock, &["a"]))).await;
    let remote = remote_client();
    let refused = remote
        .get(proxy.url("/v0/management/config"))
        .bearer_auth(SECRET)
        .header("x-forwarded-for", "127.0.0.1")
        .header("forwarded", "for=127.0.0.1")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    assert_eq!(
        refused.json::<Value>().await.unwrap(),
        json!({ "error": "remote management disabled" })
    );
    // Metrics need the key from others, too.
    let metrics = remote.get(proxy.url("/metrics")).send().await.unwrap();
    assert_eq!(metrics.status(), 403);

    let text = config_text(&proxy).replace("allow-remote: false", "allow-remote: true");
    let put = proxy
        .client
        .put(proxy.url("/v0/management/config.yaml"))
        .bearer_auth(SECRET)
        .body(text)
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 200);
    let allowed = call(&proxy, &remote, Method::GET, "/config", Some(SECRET), None).await;
    assert_eq!(allowed.status, 200);
    let wrong = call(&proxy, &remote, Method::GET, "/config", Some("nope"), None).await;
    assert_eq!(wrong.status, 401);
    let metrics = remote
        .get(proxy.url("/metrics"))
        .bearer_auth(SECRET)
        .send()
        .await
        .unwrap();
    assert_eq!(metrics.status(), 200);
}

#[tokio::test]
async fn a_local_password_works_alone_and_only_from_loopback() {
    let mock = MockUpstream::start().await.unwrap();
    let proxy = Proxy::start_with(
        &format!(
            "remote-management:\n  allow-remote: true\n{}",
            claude(&mock, &["a"])
        ),
        |options| options.with_local_password("local-pw"),
    )
    .await;
    let local = call(
        &proxy,
        &proxy.client,
        Method::GET,
        "/config",
        Some("local-pw"),
        None,
    )
    .await;
    assert_eq!(local.status, 200, "{}", local.text());
    let wrong = call(
        &proxy,
        &proxy.client,
        Method::GET,
        "/config",
        Some("nope"),
        None,
    )
    .await;
    assert_eq!(wrong.status, 401);
    let remote = call(
        &proxy,
        &remote_client(),
        Method::GET,
        "/config",
        Some("local-pw"),
        None,
    )
    .await;
    assert_eq!(
        (remote.status, remote.json()),
        (403, json!({ "error": "remote management key not set" }))
    );
}

#[tokio::test]
async fn management_password_lets_remote_clients_in() {
    let mock = MockUpstream::start().await.unwrap();
    let proxy = Proxy::start_with(&claude(&mock, &["a"]), |options| {
        options.with_management_password("env-pw")
    })
    .await;
    let remote = remote_client();
    let reply = call(
        &proxy,
        &remote,
        Method::GET,
        "/config",
        Some("env-pw"),
        None,
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let wrong = call(&proxy, &remote, Method::GET, "/config", Some("nope"), None).await;
    assert_eq!(wrong.status, 401);
}

#[tokio::test]
async fn config_yaml_is_validated_before_anything_is_written() {
    let mock = MockUpstream::start().await.unwrap();
    let proxy = Proxy::start(&managed(&format!(
        "routing:\n  strategy: fill-first\n{}",
        claude(&mock, &["a"])
    )))
    .await;
    let original = config_text(&proxy);
    let reply = admin(&proxy, Method::GET, "/config.yaml", None).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.text(), original);
    assert_eq!(
        reply.header("content-type"),
        Some("application/yaml; charset=utf-8")
    );
    assert_eq!(reply.header("cache-control"), Some("no-store"));

    let put = |body: String| async {
        read(
            proxy
                .client
                .put(proxy.url("/v0/management/config.yaml"))
                .bearer_auth(SECRET)
                .body(body)
                .send()
                .await
                .unwrap(),
        )
        .await
    };
    let generation = proxy.runtime().generation().number;
    let bad_yaml = put(format!("{original}routing: [unclosed\n")).await;
    assert_eq!(bad_yaml.status, 400);
    assert_eq!(bad_yaml.json()["error"], "invalid_yaml");
    let bad_config =
        put(original.replace("api-key: a\n", "api-key: a\n    weight: 1000001\n")).await;
    assert_eq!(bad_config.status, 422, "{}", bad_config.text());
    assert_eq!(bad_config.json()["error"], "invalid_config");
    assert!(
        bad_config.json()["message"]
            .as_str()
            .unwrap()
            .contains("claude-api-key[0].weight"),
        "{}",
        bad_config.text()
    );
    // Valid as a config, refused when applied: no client authentication on every interface.
    let unsafe_host = put(original.replace("host: 127.0.0.1", "host: 0.0.0.0")).await;
    assert_eq!(unsafe_host.status, 422, "{}", unsafe_host.text());
    assert!(unsafe_host.text().contains("refusing to serve"));
    assert_eq!(config_text(&proxy), original, "nothing was written");
    assert_eq!(proxy.runtime().generation().number, generation);
    assert_eq!(answered_by(&proxy, "claude-sonnet-4").await, "a");

    let replaced = original.replace("api-key: a", "api-key: b");
    let ok = put(replaced.clone()).await;
    assert_eq!(
        (ok.status, ok.json()),
        (200, json!({ "ok": true, "changed": ["config"] }))
    );
    // Applied before the answer.
    assert!(proxy.runtime().generation().number > generation);
    assert_eq!(answered_by(&proxy, "claude-sonnet-4").await, "b");
    assert_eq!(config_text(&proxy), replaced);
}

/// The identity of the file at `path` (its inode and modification time): an atomic write
/// replaces it, even with the same bytes.
fn file_identity(path: &std::path::Path) -> (u64, std::time::SystemTime) {
    use std::os::unix::fs::MetadataExt;
    let metadata = std::fs::metadata(path).unwrap();
    (metadata.ino(), metadata.modified().unwrap())
}

#[tokio::test]
async fn a_write_the_preparation_refuses_never_touches_the_file() {
    let mock = MockUpstream::start().await.unwrap();
    let proxy = Proxy::start(&managed(&format!(
        "auth:\n  providers:\n    - name: team\n      type: config-api-key\n      api-keys: [t1]\n{}",
        claude(&mock, &["a"])
    )))
    .await;
    let original = config_text(&proxy);
    let identity = file_identity(&proxy.config_path());
    let generation = proxy.runtime().generation().number;
    let failures = proxy.runtime().reload_status().borrow().failures;
    // Valid YAML and a valid config, but an instance of a type nobody provides: the next
    // generation cannot be prepared.
    let unknown = original.replace("type: config-api-key", "type: no-such-provider");
    let reply = read(
        proxy
            .client
            .put(proxy.url("/v0/management/config.yaml"))
            .bearer_auth(SECRET)
            .body(unknown)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(reply.status, 422, "{}", reply.text());
    assert!(
        reply.text().contains("no-such-provider"),
        "{}",
        reply.text()
    );
    assert_eq!(config_text(&proxy), original);
    assert_eq!(
        file_identity(&proxy.config_path()),
        identity,
        "the file was never written (not written and put back)"
    );
    assert_eq!(proxy.runtime().generation().number, generation);
    let status = proxy.runtime().reload_status().borrow().clone();
    assert_eq!(status.failures, failures + 1, "one refused attempt");
    assert!(status.last_error.unwrap().contains("no-such-provider"));
    assert_eq!(answered_by(&proxy, "claude-sonnet-4").await, "a");
}

#[tokio::test]
async fn put_routing_strategy_takes_weighted_round_robin() {
    let mock = MockUpstream::start().await.unwrap();
    let base = mock.base_url();
    let proxy = Proxy::start(&managed(&format!(
        "routing:\n  strategy: fill-first   # for now\n\
         claude-api-key:\n  - api-key: a\n    base-url: {base}\n    weight: 3\n  - api-key: b\n    base-url: {base}\n"
    )))
    .await;
    let before = config_text(&proxy);
    let reply = admin(
        &proxy,
        Method::PUT,
        "/routing/strategy",
        Some(json!({ "value": "wrr" })),
    )
    .await;
    assert_eq!(
        (reply.status, reply.json()),
        (200, json!({ "status": "ok" }))
    );
    assert_eq!(
        config_text(&proxy),
        before.replace(
            "strategy: fill-first   #",
            "strategy: weighted-round-robin   #"
        )
    );
    assert_eq!(
        admin(&proxy, Method::GET, "/routing/strategy", None)
            .await
            .json(),
        json!({ "strategy": "weighted-round-robin" })
    );
    // Applied: a answers three requests of every four.
    let mut counts = std::collections::BTreeMap::new();
    for _ in 0..8 {
        let reply = proxy.claude_turn().await;
        *counts.entry(reply.credential()).or_insert(0) += 1;
    }
    assert_eq!(
        counts,
        std::collections::BTreeMap::from([("a".to_owned(), 6), ("b".to_owned(), 2)])
    );
    // The weights are in the config view.
    let config = admin(&proxy, Method::GET, "/config", None).await.json();
    assert_eq!(config["claude-api-key"][0]["weight"], 3);
    assert_eq!(config["claude-api-key"][1]["weight"], 1);
    for alias in ["weighted-round-robin", "WeightedRoundRobin"] {
        let reply = admin(
            &proxy,
            Method::PATCH,
            "/routing/strategy",
            Some(json!({ "value": alias })),
        )
        .await;
        assert_eq!(reply.status, 200, "{alias}: {}", reply.text());
    }
}

#[tokio::test]
async fn setting_writes_change_only_their_value() {
    let mock = MockUpstream::start().await.unwrap();
    let yaml = format!(
        "# routing settings\nrouting:\n  strategy: round-robin   # rotate\n  # affinity comes later\nrequest-retry: 0  # no retries\n\
         remote-management:\n  secret-key: {SECRET}\n{}\
         auth:\n  providers:\n    - name: team   # kept as it is\n      type: config-api-key\n      api-keys: [t1]\n# the end\n",
        claude(&mock, &["a", "b"])
    );
    let proxy = Proxy::start(&yaml).await;
    let before = config_text(&proxy);

    let reply = admin(
        &proxy,
        Method::PUT,
        "/routing/strategy",
        Some(json!({ "value": "ff" })),
    )
    .await;
    assert_eq!(
        (reply.status, reply.json()),
        (200, json!({ "status": "ok" }))
    );
    let after = config_text(&proxy);
    assert_eq!(
        after,
        before.replace("strategy: round-robin", "strategy: fill-first")
    );
    assert_eq!(
        admin(&proxy, Method::GET, "/routing/strategy", None)
            .await
            .json(),
        json!({ "strategy": "fill-first" })
    );
    // The proxy path follows: fill-first always takes the same credential.
    let first = answered_by(&proxy, "claude-sonnet-4").await;
    for _ in 0..3 {
        assert_eq!(answered_by(&proxy, "claude-sonnet-4").await, first);
    }

    let before = after;
    let reply = admin(
        &proxy,
        Method::PATCH,
        "/request-retry",
        Some(json!({ "value": 2 })),
    )
    .await;
    assert_eq!(reply.status, 200);
    let after = config_text(&proxy);
    assert_eq!(
        after,
        before.replace("request-retry: 0  #", "request-retry: 2  #")
    );
    assert_eq!(proxy.runtime().generation().config.retry.request_retry, 2);

    // A missing key is added after the last top-level entry; nothing else moves.
    let before = after;
    let reply = admin(
        &proxy,
        Method::PUT,
        "/disable-cooling",
        Some(json!({ "value": true })),
    )
    .await;
    assert_eq!(reply.status, 200);
    let after = config_text(&proxy);
    assert_eq!(
        after,
        before.replace(
            "      api-keys: [t1]\n",
            "      api-keys: [t1]\ndisable-cooling: true\n"
        )
    );
    assert!(after.contains("    - name: team   # kept as it is\n"));
    assert_eq!(
        admin(&proxy, Method::GET, "/disable-cooling", None)
            .await
            .json(),
        json!({ "disable-cooling": true })
    );

    for (path, value) in [
        ("/usage-statistics-enabled", json!(true)),
        ("/routing/session-affinity", json!(true)),
        ("/max-retry-interval", json!(7)),
        ("/max-retry-credentials", json!(1)),
    ] {
        let reply = admin(&proxy, Method::PUT, path, Some(json!({ "value": value }))).await;
        assert_eq!(reply.status, 200, "{path}: {}", reply.text());
        let key = path.rsplit('/').next().unwrap();
        let read_back = admin(&proxy, Method::GET, path, None).await.json();
        assert_eq!(read_back[key], value, "{path}");
    }

    let bad = admin(
        &proxy,
        Method::PUT,
        "/routing/strategy",
        Some(json!({ "value": "sideways" })),
    )
    .await;
    assert_eq!(
        (bad.status, bad.json()),
        (400, json!({ "error": "invalid strategy" }))
    );
    for body in [json!({ "value": "two" }), json!({}), json!([1])] {
        let bad = admin(&proxy, Method::PUT, "/request-retry", Some(body)).await;
        assert_eq!(
            (bad.status, bad.json()),
            (400, json!({ "error": "invalid body" }))
        );
    }
}

#[tokio::test]
async fn api_key_list_edits_follow_the_reference_shapes() {
    let mock = MockUpstream::start().await.unwrap();
    let proxy = Proxy::start(&managed(&format!(
        "api-keys:\n  - k1   # first\n  - k2\n{}",
        claude(&mock, &["a"])
    )))
    .await;
    let keys = |reply: Reply| reply.json()["api-keys"].clone();
    assert_eq!(
        keys(admin(&proxy, Method::GET, "/api-keys", None).await),
        json!(["k1", "k2"])
    );
    let before = config_text(&proxy);
    let reply = admin(
        &proxy,
        Method::PATCH,
        "/api-keys",
        Some(json!({ "index": 1, "value": "K2" })),
    )
    .await;
    assert_eq!(reply.status, 200);
    assert_eq!(config_text(&proxy), before.replace("  - k2\n", "  - K2\n"));

    let edits: Vec<(Method, &str, Option<Value>, Value)> = vec![
        (
            Method::PUT,
            "/api-keys",
            Some(json!(["a1", "b1", "c1"])),
            json!(["a1", "b1", "c1"]),
        ),
        (
            Method::PUT,
            "/api-keys",
            Some(json!({ "items": ["a", "b", "c"] })),
            json!(["a", "b", "c"]),
        ),
        (
            Method::PATCH,
            "/api-keys",
            Some(json!({ "old": "c", "new": "C" })),
            json!(["a", "b", "C"]),
        ),
        (
            Method::PATCH,
            "/api-keys",
            Some(json!({ "old": "zz", "new": "d" })),
            json!(["a", "b", "C", "d"]),
        ),
        (
            Method::DELETE,
            "/api-keys?index=0",
            None,
            json!(["b", "C", "d"]),
        ),
        (
            Method::DELETE,
            "/api-keys?value=%20d%20",
            None,
            json!(["b", "C"]),
        ),
    ];
    for (method, path, body, expected) in edits {
        let reply = admin(&proxy, method.clone(), path, body).await;
        assert_eq!(reply.status, 200, "{method} {path}: {}", reply.text());
        assert_eq!(
            keys(admin(&proxy, Method::GET, "/api-keys", None).await),
            expected,
            "{method} {path}"
        );
    }
    // The running config (the config-inline access instance) follows.
    assert_eq!(proxy.runtime().generation().config.api_keys, ["b", "C"]);

    for (method, path, body, error) in [
        (
            Method::PUT,
            "/api-keys",
            Some(json!({ "items": [] })),
            "invalid body",
        ),
        (Method::PUT, "/api-keys", Some(json!("x")), "invalid body"),
        (
            Method::PATCH,
            "/api-keys",
            Some(json!({ "index": 9, "value": "x" })),
            "missing fields",
        ),
        (Method::DELETE, "/api-keys", None, "missing index or value"),
    ] {
        let reply = admin(&proxy, method, path, body).await;
        assert_eq!(
            (reply.status, reply.json()),
            (400, json!({ "error": error }))
        );
    }
}

/// The status a Messages request sent with the client key `key` gets.
async fn status_with_key(proxy: &Proxy, key: &str) -> u16 {
    proxy
        .post_with(
            "/v1/messages",
            &messages("claude-sonnet-4"),
            &[("x-api-key", key)],
        )
        .await
        .status
}

#[tokio::test]
async fn api_key_edits_reach_the_config_api_key_instance_and_its_clients() {
    let mock = MockUpstream::start().await.unwrap();
    // The reference's example (`default`) plus a legacy top-level list that differs.
    let proxy = Proxy::start(&managed(&format!(
        "# from an old setup\napi-keys:\n  - legacy\n{}\
         auth:\n  providers:\n    - name: default   # the client keys\n      type: config-api-key\n      api-keys:\n        - k1   # first\n        - k2\n# the end\n",
        claude(&mock, &["a"])
    )))
    .await;
    let keys = |reply: Reply| reply.json()["api-keys"].clone();
    let generation = || proxy.runtime().generation();
    // The instance is authoritative: `legacy` is no client key, and there is no config-inline.
    assert_eq!(status_with_key(&proxy, "legacy").await, 401);
    assert_eq!(status_with_key(&proxy, "k1").await, 200);
    assert_eq!(
        keys(admin(&proxy, Method::GET, "/api-keys", None).await),
        json!(["k1", "k2"])
    );
    let names: Vec<String> = generation()
        .config
        .access_providers
        .iter()
        .map(|i| i.name.clone())
        .collect();
    assert_eq!(names, ["default"]);

    // Added through the API: in both places, comments kept, and clients may use it.
    let reply = admin(
        &proxy,
        Method::PATCH,
        "/api-keys",
        Some(json!({ "old": "absent", "new": "k3" })),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let text = config_text(&proxy);
    assert!(
        text.contains("# from an old setup\napi-keys:\n  - k1\n  - k2\n  - k3\nclaude-api-key:\n"),
        "the top-level list mirrors the instance: {text}"
    );
    assert!(
        text.contains(
            "    - name: default   # the client keys\n      type: config-api-key\n      api-keys:\n        - k1   # first\n        - k2\n        - k3\n# the end\n"
        ),
        "{text}"
    );
    assert_eq!(generation().config.api_keys, ["k1", "k2", "k3"]);
    assert_eq!(status_with_key(&proxy, "k3").await, 200);
    assert_eq!(
        keys(admin(&proxy, Method::GET, "/api-keys", None).await),
        json!(["k1", "k2", "k3"])
    );

    // Revoked through the API: 200 before, 401 after; only the two lines of `k1` go.
    assert_eq!(status_with_key(&proxy, "k1").await, 200);
    let before = config_text(&proxy);
    let reply = admin(&proxy, Method::DELETE, "/api-keys?value=k1", None).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(
        config_text(&proxy),
        before
            .replacen("  - k1\n", "", 1)
            .replace("        - k1   # first\n", "")
    );
    assert_eq!(status_with_key(&proxy, "k1").await, 401);
    assert_eq!(status_with_key(&proxy, "k2").await, 200);

    // Replaced, then emptied: a config-api-key instance without keys admits nobody.
    let reply = admin(&proxy, Method::PUT, "/api-keys", Some(json!(["n1"]))).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(status_with_key(&proxy, "k2").await, 401);
    assert_eq!(status_with_key(&proxy, "n1").await, 200);
    let reply = admin(&proxy, Method::DELETE, "/api-keys?index=0", None).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(
        keys(admin(&proxy, Method::GET, "/api-keys", None).await),
        json!([])
    );
    let refused = proxy
        .post_with(
            "/v1/messages",
            &messages("claude-sonnet-4"),
            &[("x-api-key", "n1")],
        )
        .await;
    assert_eq!(
        (refused.status, refused.json()),
        (401, json!({ "error": "Missing API key" }))
    );
    assert!(config_text(&proxy).contains("# the end\n"));
}

#[tokio::test]
async fn provider_key_lists_drive_the_proxy() {
    let mock = MockUpstream::start().await.unwrap();
    let base = mock.base_url();
    let auth_block = "auth:\n  providers:\n    - name: team   # the team's keys\n      type: config-api-key\n      api-keys: [t1]\n";
    let proxy = Proxy::start(&managed(&format!(
        "routing:\n  strategy: fill-first\n{}{auth_block}",
        claude(&mock, &["a"])
    )))
    .await;
    let listed = admin(&proxy, Method::GET, "/claude-api-key", None).await;
    assert_eq!(
        listed.json(),
        json!({ "claude-api-key": [{ "api-key": "a", "base-url": base }] })
    );

    let reply = admin(
        &proxy,
        Method::PUT,
        "/claude-api-key",
        Some(json!([{ "api-key": "b", "base-url": base }])),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(answered_by(&proxy, "claude-sonnet-4").await, "b");
    assert!(config_text(&proxy).contains(auth_block), "auth: kept");

    let reply = admin(
        &proxy,
        Method::PATCH,
        "/claude-api-key",
        Some(json!({ "match": "b", "value": { "prefix": "team", "priority": 3 } })),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(answered_by(&proxy, "team/claude-sonnet-4").await, "b");
    let entry = &admin(&proxy, Method::GET, "/claude-api-key", None)
        .await
        .json()["claude-api-key"][0];
    assert_eq!(
        (entry["prefix"].clone(), entry["priority"].clone()),
        (json!("team"), json!(3))
    );

    // Two entries with the same key: a match needs the base URL (or an index).
    let second = format!("{base}/second");
    let reply = admin(
        &proxy,
        Method::PUT,
        "/claude-api-key",
        Some(json!({ "items": [
            { "api-key": "b", "base-url": base },
            { "api-key": "b", "base-url": second },
        ] })),
    )
    .await;
    assert_eq!(reply.status, 200);
    let ambiguous = admin(
        &proxy,
        Method::PATCH,
        "/claude-api-key",
        Some(json!({ "match": "b", "value": { "priority": 1 } })),
    )
    .await;
    assert_eq!(
        (ambiguous.status, ambiguous.json()),
        (
            400,
            json!({ "error": "multiple items match; index is required" })
        )
    );
    let narrowed = admin(
        &proxy,
        Method::PATCH,
        &format!("/claude-api-key?base-url={second}"),
        Some(json!({ "match": "b", "value": { "priority": 1 } })),
    )
    .await;
    assert_eq!(narrowed.status, 200, "{}", narrowed.text());
    for body in [
        json!({ "match": "zz", "value": { "priority": 1 } }),
        json!({ "index": 7, "value": { "priority": 1 } }),
    ] {
        let missing = admin(&proxy, Method::PATCH, "/claude-api-key", Some(body)).await;
        assert_eq!(
            (missing.status, missing.json()),
            (404, json!({ "error": "item not found" }))
        );
    }
    let deleted = admin(
        &proxy,
        Method::DELETE,
        &format!("/claude-api-key?api-key=b&base-url={second}"),
        None,
    )
    .await;
    assert_eq!(deleted.status, 200);
    let left = admin(&proxy, Method::GET, "/claude-api-key", None)
        .await
        .json();
    assert_eq!(left["claude-api-key"].as_array().unwrap().len(), 1);
    assert_eq!(
        admin(&proxy, Method::DELETE, "/claude-api-key?api-key=zz", None)
            .await
            .status,
        404
    );
    assert_eq!(
        admin(&proxy, Method::DELETE, "/claude-api-key", None)
            .await
            .json(),
        json!({ "error": "missing api-key or index" })
    );

    let reply = admin(
        &proxy,
        Method::PUT,
        "/openai-compatibility",
        Some(json!([{
            "name": "router",
            "base-url": format!("{base}/v1"),
            "api-key-entries": [{ "api-key": "c" }],
            "models": [{ "name": "llama-3", "alias": "mini" }],
        }])),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let reply = proxy
        .post_with("/v1/chat/completions", &chat("mini"), CLIENT)
        .await;
    assert_eq!((reply.status, reply.credential()), (200, "c".to_owned()));
    let reply = admin(
        &proxy,
        Method::PATCH,
        "/openai-compatibility",
        Some(json!({ "name": "router", "value": { "api-key-entries": [{ "api-key": "d" }] } })),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let reply = proxy
        .post_with("/v1/chat/completions", &chat("mini"), CLIENT)
        .await;
    assert_eq!(reply.credential(), "d");
    let reply = admin(
        &proxy,
        Method::DELETE,
        "/openai-compatibility?name=router",
        None,
    )
    .await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        proxy
            .post_with("/v1/chat/completions", &chat("mini"), CLIENT)
            .await
            .status,
        502
    );
    assert!(config_text(&proxy).contains(auth_block), "auth: kept");
}

#[tokio::test]
async fn auth_files_are_listed_uploaded_toggled_and_deleted() {
    let mock = MockUpstream::start().await.unwrap();
    let base = mock.base_url();
    let proxy = Proxy::start(&managed("routing:\n  strategy: fill-first\n")).await;
    let file = |key: &str| json!({ "type": "claude", "api_key": key, "base_url": base, "email": format!("{key}@example.com") });

    let upload = proxy
        .client
        .post(proxy.url("/v0/management/auth-files?name=one.json"))
        .bearer_auth(SECRET)
        .body(file("f1").to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(upload.status(), 200);
    assert_eq!(
        crate::harness::read(upload).await.json(),
        json!({ "status": "ok" })
    );
    let mode = std::fs::metadata(proxy.auth_dir().join("one.json"))
        .map(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o777)
        .unwrap();
    assert_eq!(mode, 0o600);
    // Applied before the answer.
    assert_eq!(answered_by(&proxy, "claude-sonnet-4").await, "f1");

    let form = reqwest::multipart::Form::new()
        .part(
            "file",
            reqwest::multipart::Part::text(file("f2").to_string()).file_name("two.json"),
        )
        .part(
            "file",
            reqwest::multipart::Part::text("{}").file_name("notes.txt"),
        );
    let multi = read(
        proxy
            .client
            .post(proxy.url("/v0/management/auth-files"))
            .bearer_auth(SECRET)
            .multipart(form)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(multi.status, 207, "{}", multi.text());
    assert_eq!(multi.json()["uploaded"], 1);
    assert_eq!(multi.json()["failed"][0]["error"], "file must be .json");

    for (name, error) in [
        ("../x.json", "invalid name"),
        ("a%2Fb.json", "invalid name"),
        ("x.txt", "name must end with .json"),
        ("", "invalid name"),
    ] {
        let reply = read(
            proxy
                .client
                .post(proxy.url(&format!("/v0/management/auth-files?name={name}")))
                .bearer_auth(SECRET)
                .body("{}")
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(
            (reply.status, reply.json()),
            (400, json!({ "error": error })),
            "{name}"
        );
    }

    // A failure shows up in the list as a count and a cooldown.
    mock.set_fault("f1", switchyard_mock::Fault::status(500).times(1));
    assert_eq!(answered_by(&proxy, "claude-sonnet-4").await, "f2");
    let list = admin(&proxy, Method::GET, "/auth-files", None).await.json();
    let files = list["files"].as_array().unwrap();
    let names: Vec<_> = files.iter().map(|f| f["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["one.json", "two.json"]);
    let one = &files[0];
    assert_eq!(one["status"], "cooldown");
    assert_eq!(one["unavailable"], true);
    assert_eq!(
        (one["success"].clone(), one["failed"].clone()),
        (json!(1), json!(1))
    );
    assert_eq!(one["cooldowns"]["claude-sonnet-4"]["status"], 500);
    assert_eq!(one["email"], "f1@example.com");
    assert_eq!(one["provider"], "claude");
    let two = &files[1];
    assert_eq!(
        (two["status"].clone(), two["success"].clone()),
        (json!("active"), json!(1))
    );
    let filtered = admin(&proxy, Method::GET, "/auth-files?name=two.json", None).await;
    assert_eq!(filtered.json()["files"].as_array().unwrap().len(), 1);

    let download = admin(
        &proxy,
        Method::GET,
        "/auth-files/download?name=two.json",
        None,
    )
    .await;
    assert_eq!(download.status, 200);
    assert_eq!(
        download.header("content-disposition"),
        Some("attachment; filename=\"two.json\"")
    );
    assert_eq!(download.json(), file("f2"));
    let missing = admin(
        &proxy,
        Method::GET,
        "/auth-files/download?name=zz.json",
        None,
    )
    .await;
    assert_eq!(missing.status, 404);

    proxy.clock.advance(Duration::from_secs(120));
    let disable = admin(
        &proxy,
        Method::PATCH,
        "/auth-files/status",
        Some(json!({ "name": "one.json", "disabled": true })),
    )
    .await;
    assert_eq!(
        (disable.status, disable.json()),
        (200, json!({ "status": "ok", "disabled": true }))
    );
    let saved: Value =
        serde_json::from_slice(&std::fs::read(proxy.auth_dir().join("one.json")).unwrap()).unwrap();
    assert_eq!(saved["disabled"], true);
    for _ in 0..3 {
        assert_eq!(answered_by(&proxy, "claude-sonnet-4").await, "f2");
    }
    let list = admin(&proxy, Method::GET, "/auth-files", None).await.json();
    assert_eq!(list["files"][0]["status"], "disabled");
    for (body, status, error) in [
        (json!({ "disabled": true }), 400, "name is required"),
        (json!({ "name": "one.json" }), 400, "disabled is required"),
        (
            json!({ "name": "zz.json", "disabled": true }),
            404,
            "auth file not found",
        ),
    ] {
        let reply = admin(&proxy, Method::PATCH, "/auth-files/status", Some(body)).await;
        assert_eq!(
            (reply.status, reply.json()),
            (status, json!({ "error": error }))
        );
    }

    let deleted = admin(&proxy, Method::DELETE, "/auth-files?name=two.json", None).await;
    assert_eq!(deleted.status, 200);
    assert!(!proxy.auth_dir().join("two.json").exists());
    assert_eq!(
        proxy.claude_turn().await.status,
        502,
        "no enabled credential is left"
    );
    let gone = admin(&proxy, Method::DELETE, "/auth-files?name=two.json", None).await;
    assert_eq!(
        (gone.status, gone.json()),
        (404, json!({ "error": "file not found" }))
    );
    let all = admin(&proxy, Method::DELETE, "/auth-files?all=true", None).await;
    assert_eq!(all.json(), json!({ "status": "ok", "deleted": 1 }));
    let list = admin(&proxy, Method::GET, "/auth-files", None).await.json();
    assert_eq!(list, json!({ "files": [] }));
}

#[tokio::test]
async fn sessions_report_bindings_and_drop_a_credentials() {
    let mock = MockUpstream::start().await.unwrap();
    let proxy = Proxy::start(&managed(&format!(
        "routing:\n  session-affinity: true\n{}",
        claude(&mock, &["a"])
    )))
    .await;
    let report = admin(&proxy, Method::GET, "/sessions", None).await;
    assert_eq!(
        report.json(),
        json!({
            "store": "memory", "degraded": false, "bindings": 0, "by-credential": {},
            "hits": 0, "misses": 0, "rebinds": 0, "inherited": 0,
        })
    );
    let affinity = proxy.runtime().generation().affinity.clone().unwrap();
    let (x, y) = (
        switchyard::test_util::credential::CredentialId::new("cred-x"),
        switchyard::test_util::credential::CredentialId::new("cred-y"),
    );
    affinity.cache().set("claude::s1::m", &x).await;
    affinity.cache().set("claude::s2::m", &x).await;
    affinity.cache().set("claude::s3::m", &y).await;
    let report = admin(&proxy, Method::GET, "/sessions", None).await.json();
    assert_eq!(report["bindings"], 3);
    assert_eq!(report["by-credential"], json!({ "cred-x": 2, "cred-y": 1 }));

    let dropped = admin(&proxy, Method::DELETE, "/sessions?credential=cred-x", None).await;
    assert_eq!(dropped.json(), json!({ "status": "ok" }));
    let report = admin(&proxy, Method::GET, "/sessions", None).await.json();
    assert_eq!(report["by-credential"], json!({ "cred-y": 1 }));
    let missing = admin(&proxy, Method::DELETE, "/sessions", None).await;
    assert_eq!(
        (missing.status, missing.json()),
        (400, json!({ "error": "credential is required" }))
    );
}

/// `git` in the checkout the tests were built from (`None` when there is no checkout or no
/// `git`).
fn git(args: &[&str]) -> Option<String> {
    let output = std::process::Command::new("git")
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("TZ", "UTC")
        .output()
        .ok()?;
    let text = String::from_utf8(output.stdout).ok()?.trim().to_owned();
    (output.status.success() && !text.is_empty()).then_some(text)
}

#[tokio::test]
async fn every_management_answer_names_the_build() {
    let dir = tempfile::tempdir().unwrap();
    let binary = crate::harness::Binary::start(
        dir.path(),
        &format!("host: 127.0.0.1\nport: 0\n{}", managed("")),
        &[],
    );
    // What the binary was built from: the checkout's HEAD and when it moved there.
    let commit = git(&["rev-parse", "HEAD"]);
    let date = git(&[
        "reflog",
        "-1",
        "--date=format-local:%Y-%m-%dT%H:%M:%SZ",
        "--format=%gd",
    ])
    .and_then(|selector| {
        selector
            .strip_prefix("HEAD@{")?
            .strip_suffix('}')
            .map(str::to_owned)
    });
    let get = |key: Option<&str>| {
        let mut request =
            crate::harness::client().get(format!("{}/v0/management/config", binary.base));
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        async move { read(request.send().await.unwrap()).await }
    };
    let answers = [
        get(Some(SECRET)).await,
        get(None).await,
        get(Some("wrong")).await,
    ];
    assert_eq!(
        answers.iter().map(|r| r.status).collect::<Vec<_>>(),
        [200, 401, 401]
    );
    for reply in &answers {
        let version = env!("CARGO_PKG_VERSION");
        assert_eq!(reply.header("x-switchyard-version"), Some(version));
        assert_eq!(reply.header("x-cpa-version"), Some(version));
        assert_eq!(
            reply.header("x-cpa-commit"),
            Some(commit.as_deref().unwrap_or("unknown"))
        );
        assert_eq!(
            reply.header("x-cpa-build-date"),
            Some(date.as_deref().unwrap_or("unknown"))
        );
    }
}

#[tokio::test]
async fn auth_file_writes_go_through_one_lock() {
    let mock = MockUpstream::start().await.unwrap();
    let base = mock.base_url();
    let proxy = Proxy::start(&managed("")).await;
    let file = json!({ "type": "claude", "api_key": "f1", "base_url": base });
    let upload = |body: String| {
        proxy
            .client
            .post(proxy.url("/v0/management/auth-files?name=one.json"))
            .bearer_auth(SECRET)
            .body(body)
            .send()
    };
    assert_eq!(upload(file.to_string()).await.unwrap().status(), 200);
    let path = proxy.auth_dir().join("one.json");
    let files = proxy.runtime().auth_files.clone();
    assert_eq!(files.dir(), proxy.auth_dir());

    // While the runtime's store is locked, a status change and an upload of the same file
    // both wait for it, and the file stays as it was.
    let (release, released) = std::sync::mpsc::channel::<()>();
    let (locked, is_locked) = std::sync::mpsc::channel();
    let holder = std::thread::spawn({
        let files = files.clone();
        move || {
            let _held = files.lock_writes();
            locked.send(()).unwrap();
            let _ = released.recv();
        }
    });
    is_locked.recv_timeout(crate::harness::WAIT).unwrap();
    let toggle = admin(
        &proxy,
        Method::PATCH,
        "/auth-files/status",
        Some(json!({ "name": "one.json", "disabled": true })),
    );
    let mut renamed = file.clone();
    renamed["label"] = json!("renamed");
    let replace = upload(renamed.to_string());
    tokio::pin!(toggle, replace);
    let both_wait = async {
        while files.writes_waiting() < 2 {
            tokio::task::yield_now().await;
        }
    };
    tokio::select! {
        reply = &mut toggle => panic!("the status write went past the lock: {reply:?}"),
        reply = &mut replace => panic!("the upload went past the lock: {reply:?}"),
        waited = tokio::time::timeout(crate::harness::WAIT, both_wait) => {
            waited.expect("both writes wait for the lock");
        }
    }
    assert_eq!(files.writes_waiting(), 2);
    let before: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(before, file);
    release.send(()).unwrap();
    holder.join().unwrap();
    let (toggle, replace) = tokio::join!(toggle, replace);
    assert_eq!(toggle.status, 200, "{}", toggle.text());
    assert_eq!(replace.unwrap().status(), 200);
    // One of them wrote last, whole.
    let after: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert!(after == renamed || after["disabled"] == true, "{after}");
}
