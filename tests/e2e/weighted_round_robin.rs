//! `routing.strategy: weighted-round-robin` end to end: real requests follow the credentials'
//! `weight`s (config entries and auth files), weight 0 is never used (all zero is 503), a reload
//! keeps the rotation, a session bound to a credential whose weight drops to 0 moves, and an
//! unknown strategy name loads as round-robin.

use std::collections::BTreeMap;

use serde_json::json;
use switchyard_mock::MockUpstream;

use crate::harness::{Proxy, Reply, messages, read};

const MODEL: &str = "claude-sonnet-4";

/// `claude-api-key` entries on the mock, one per `(key, weight)`; `None` leaves `weight` out.
fn keys(mock: &MockUpstream, keys: &[(&str, Option<i64>)]) -> String {
    let mut yaml = String::from("claude-api-key:\n");
    for (key, weight) in keys {
        yaml.push_str(&format!(
            "  - api-key: {key}\n    base-url: {}\n",
            mock.base_url()
        ));
        if let Some(weight) = weight {
            yaml.push_str(&format!("    weight: {weight}\n"));
        }
    }
    yaml
}

fn config(strategy: &str, mock: &MockUpstream, credentials: &[(&str, Option<i64>)]) -> String {
    format!(
        "routing:\n  strategy: {strategy}\n{}",
        keys(mock, credentials)
    )
}

/// The credential that answers each of `n` requests, in order.
async fn answers(proxy: &Proxy, n: usize) -> Vec<String> {
    let mut used = Vec::with_capacity(n);
    for _ in 0..n {
        let reply = proxy.post("/v1/messages", &messages(MODEL)).await;
        assert_eq!(reply.status, 200, "{}", reply.text());
        used.push(reply.credential());
    }
    used
}

fn counts(used: &[String]) -> BTreeMap<&str, usize> {
    let mut counts = BTreeMap::new();
    for key in used {
        *counts.entry(key.as_str()).or_insert(0) += 1;
    }
    counts
}

/// Asserts the smooth 5:1:1 cycle of `a` against two weight-1 credentials: a, a, x, a, y, a, a
/// with {x, y} the two others (their order is their ids').
fn assert_smooth_5_1_1(cycle: &[String]) {
    let shape: String = cycle
        .iter()
        .map(|k| if k == "a" { 'a' } else { '.' })
        .collect();
    assert_eq!(shape, "aa.a.aa", "{cycle:?}");
    let mut others = [cycle[2].as_str(), cycle[4].as_str()];
    others.sort_unstable();
    assert_eq!(others, ["b", "c"], "{cycle:?}");
}

#[tokio::test]
async fn requests_follow_the_weights_smoothly_and_weight_zero_is_never_used() {
    let mock = MockUpstream::start().await.unwrap();
    let proxy = Proxy::start(&config(
        "wrr",
        &mock,
        &[("a", Some(5)), ("b", None), ("c", Some(1)), ("z", Some(0))],
    ))
    .await;
    let used = answers(&proxy, 21).await;
    assert_smooth_5_1_1(&used[..7]);
    assert_eq!(used[..7], used[7..14], "the cycle repeats");
    assert_eq!(used[..7], used[14..], "the cycle repeats");
    assert_eq!(
        counts(&used),
        BTreeMap::from([("a", 15), ("b", 3), ("c", 3)])
    );
    assert_eq!(mock.request_count_for("z"), 0);
    proxy.shutdown().await;
}

#[tokio::test]
async fn all_weights_zero_answer_503_and_round_robin_ignores_weights() {
    let mock = MockUpstream::start().await.unwrap();
    let zero = [("a", Some(0)), ("b", Some(0))];
    let proxy = Proxy::start(&config("weighted-round-robin", &mock, &zero)).await;
    let reply = proxy.post("/v1/messages", &messages(MODEL)).await;
    assert_eq!(reply.status, 503, "{}", reply.text());
    // The proxy's answer when no credential is available (the reference's `auth_unavailable`).
    assert_eq!(
        reply.json(),
        json!({"error": {
            "message": "no auth available (providers=claude, model=claude-sonnet-4)",
            "type": "server_error",
            "code": "internal_server_error",
        }})
    );
    assert_eq!(mock.request_count_for("a") + mock.request_count_for("b"), 0);

    // Weights mean nothing to the other strategies.
    let status = proxy
        .rewrite_config(&config("round-robin", &mock, &zero))
        .await;
    assert_eq!((status.generation, status.failures), (2, 0), "{status:?}");
    assert_eq!(
        counts(&answers(&proxy, 4).await),
        BTreeMap::from([("a", 2), ("b", 2)])
    );
    proxy.shutdown().await;
}

#[tokio::test]
async fn the_rotation_survives_a_reload() {
    let mock = MockUpstream::start().await.unwrap();
    let weighted = [("a", Some(5)), ("b", Some(1)), ("c", Some(1))];
    let proxy = Proxy::start(&config("wrr", &mock, &weighted)).await;
    let mut used = answers(&proxy, 3).await;
    // Another strategy for a while, then back: the weighted picks go on where they were.
    proxy
        .rewrite_config(&config("fill-first", &mock, &weighted))
        .await;
    answers(&proxy, 2).await;
    let status = proxy
        .rewrite_config(&config("weighted-round-robin", &mock, &weighted))
        .await;
    assert_eq!((status.generation, status.failures), (3, 0), "{status:?}");
    used.extend(answers(&proxy, 4).await);
    assert_smooth_5_1_1(&used);
    proxy.shutdown().await;
}

#[tokio::test]
async fn a_session_leaves_a_credential_whose_weight_drops_to_zero() {
    let mock = MockUpstream::start().await.unwrap();
    let affinity = |weights: &[(&str, Option<i64>)]| {
        format!(
            "routing:\n  strategy: wrr\n  session-affinity: true\n{}",
            keys(&mock, weights)
        )
    };
    let proxy = Proxy::start(&affinity(&[("a", Some(1)), ("b", Some(1))])).await;
    let turn = |session: &'static str| {
        let proxy = &proxy;
        async move {
            let reply = proxy
                .post_with(
                    "/v1/messages",
                    &messages(MODEL),
                    &[("x-session-id", session)],
                )
                .await;
            assert_eq!(reply.status, 200, "{}", reply.text());
            reply.credential()
        }
    };
    let bound = turn("s-1").await;
    assert_eq!(turn("s-1").await, bound, "affinity holds");
    let other = if bound == "a" { "b" } else { "a" };

    // A reload sets the bound credential's weight to 0.
    let zeroed: Vec<(&str, Option<i64>)> = [("a", Some(1)), ("b", Some(1))]
        .into_iter()
        .map(|(key, weight)| (key, if key == bound { Some(0) } else { weight }))
        .collect();
    let status = proxy.rewrite_config(&affinity(&zeroed)).await;
    assert_eq!((status.generation, status.failures), (2, 0), "{status:?}");
    let before = mock.request_count_for(&bound);
    for _ in 0..3 {
        assert_eq!(turn("s-1").await, other, "re-bound");
    }
    // New sessions never get it either, and it gets no request at all.
    assert_eq!(turn("s-2").await, other);
    assert_eq!(turn("s-3").await, other);
    assert_eq!(mock.request_count_for(&bound), before);
    let counters = &proxy.runtime().affinity_counters;
    assert_eq!(
        counters.rebinds.load(std::sync::atomic::Ordering::Relaxed),
        1
    );
    proxy.shutdown().await;
}

#[tokio::test]
async fn an_unknown_strategy_loads_as_round_robin() {
    let mock = MockUpstream::start().await.unwrap();
    let credentials = [("a", Some(5)), ("b", Some(1))];
    let proxy = Proxy::start(&config("wrr", &mock, &credentials)).await;
    // A later reference strategy switchyard does not know: applied, as round-robin.
    let status = proxy
        .rewrite_config(&config("sideways", &mock, &credentials))
        .await;
    assert_eq!((status.generation, status.failures), (2, 0), "{status:?}");
    assert_eq!(
        counts(&answers(&proxy, 4).await),
        BTreeMap::from([("a", 2), ("b", 2)])
    );
    proxy.shutdown().await;
}

/// Uploads an auth file through the management API.
async fn upload(proxy: &Proxy, name: &str, body: serde_json::Value) -> Reply {
    read(
        proxy
            .client
            .post(proxy.url(&format!("/v0/management/auth-files?name={name}")))
            .bearer_auth("admin-secret")
            .body(body.to_string())
            .send()
            .await
            .unwrap(),
    )
    .await
}

#[tokio::test]
async fn auth_file_weights_count_and_a_bad_one_is_refused() {
    let mock = MockUpstream::start().await.unwrap();
    let proxy =
        Proxy::start("remote-management:\n  secret-key: admin-secret\nrouting:\n  strategy: wrr\n")
            .await;
    let file = |key: &str| json!({ "type": "claude", "api_key": key, "base_url": mock.base_url() });
    let mut heavy = file("heavy");
    heavy["weight"] = json!(3);
    assert_eq!(upload(&proxy, "heavy.json", heavy).await.status, 200);
    assert_eq!(
        upload(&proxy, "light.json", file("light")).await.status,
        200
    );
    let mut off = file("off");
    off["weight"] = json!("0");
    assert_eq!(upload(&proxy, "off.json", off).await.status, 200);
    // Ids are the file names: heavy, light, off.
    assert_eq!(
        answers(&proxy, 8).await.join(","),
        "heavy,heavy,light,heavy,heavy,heavy,light,heavy"
    );

    let mut fraction = file("fraction");
    fraction["weight"] = json!(1.5);
    let refused = upload(&proxy, "fraction.json", fraction).await;
    assert_eq!(
        (refused.status, refused.json()),
        (
            400,
            json!({ "error": "fraction.json: weight 1.5 is not an integer from 0 to 1000000" })
        )
    );
    assert!(!proxy.auth_dir().join("fraction.json").exists());

    let list = read(
        proxy
            .client
            .get(proxy.url("/v0/management/auth-files"))
            .bearer_auth("admin-secret")
            .send()
            .await
            .unwrap(),
    )
    .await
    .json();
    let weights: Vec<_> = list["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["name"].as_str().unwrap().to_owned(), f["weight"].clone()))
        .collect();
    assert_eq!(
        weights,
        [
            ("heavy.json".to_owned(), json!(3)),
            ("light.json".to_owned(), json!(1)),
            ("off.json".to_owned(), json!(0)),
        ]
    );
    proxy.shutdown().await;
}
