//! Hot reload of `config.yaml` and `auth-dir`.

use std::time::Duration;

use serde_json::json;
use switchyard_mock::{Fault, MockUpstream};

use crate::harness::Proxy;
use crate::harness::yaml::claude;

async fn answered_by(proxy: &Proxy) -> String {
    let reply = proxy.claude_turn().await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    reply.credential()
}

#[tokio::test]
async fn credential_list_and_strategy_edits_apply_without_restart() {
    let mock = MockUpstream::start().await.unwrap();
    let proxy = Proxy::start(&format!(
        "routing:\n  strategy: fill-first\n{}",
        claude(&mock, &["a"])
    ))
    .await;
    assert_eq!(answered_by(&proxy).await, "a");

    let status = proxy
        .rewrite_config(&format!(
            "routing:\n  strategy: fill-first\n{}",
            claude(&mock, &["b"])
        ))
        .await;
    assert_eq!(status.generation, 2);
    assert_eq!(answered_by(&proxy).await, "b");

    proxy
        .rewrite_config(&format!(
            "routing:\n  strategy: round-robin\n{}",
            claude(&mock, &["a", "b"])
        ))
        .await;
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..4 {
        seen.insert(answered_by(&proxy).await);
    }
    assert_eq!(seen.len(), 2, "round-robin uses both: {seen:?}");
}

#[tokio::test]
async fn broken_yaml_and_wrong_types_keep_the_running_generation() {
    let mock = MockUpstream::start().await.unwrap();
    let good = claude(&mock, &["a"]);
    let proxy = Proxy::start(&good).await;

    let status = proxy
        .rewrite_config(&format!("{good}routing: [unclosed\n"))
        .await;
    assert_eq!((status.generation, status.failures), (1, 1));
    assert!(
        status
            .last_error
            .as_deref()
            .unwrap()
            .contains("invalid YAML"),
        "{status:?}"
    );
    assert_eq!(answered_by(&proxy).await, "a");

    let status = proxy
        .rewrite_config(&format!("{good}request-retry: many\n"))
        .await;
    assert_eq!((status.generation, status.failures), (1, 2));
    let error = status.last_error.unwrap();
    assert!(
        error.contains("request-retry") && error.contains(":7:"),
        "{error}"
    );
    assert_eq!(answered_by(&proxy).await, "a");

    let status = proxy.rewrite_config(&claude(&mock, &["b"])).await;
    assert_eq!((status.generation, status.last_error), (2, None));
    assert_eq!(answered_by(&proxy).await, "b");
}

#[tokio::test]
async fn identical_content_is_not_reapplied() {
    let mock = MockUpstream::start().await.unwrap();
    let yaml = claude(&mock, &["a"]);
    let proxy = Proxy::start(&yaml).await;
    let status = proxy.rewrite_config(&yaml).await;
    assert_eq!(status.generation, 1);
}

#[tokio::test]
async fn auth_files_are_picked_up_and_dropped() {
    let mock = MockUpstream::start().await.unwrap();
    let proxy = Proxy::start("routing:\n  strategy: fill-first\n").await;
    let before = proxy.runtime().reload_status().borrow().generation;
    let file = proxy.auth_dir().join("claude.json");
    std::fs::write(
        &file,
        json!({ "type": "claude", "api_key": "from-file", "base_url": mock.base_url() })
            .to_string(),
    )
    .unwrap();
    proxy.wait_reload(|s| s.generation > before).await;
    assert_eq!(answered_by(&proxy).await, "from-file");

    let before = proxy.runtime().reload_status().borrow().generation;
    std::fs::remove_file(&file).unwrap();
    proxy.wait_reload(|s| s.generation > before).await;
    assert_eq!(proxy.claude_turn().await.status, 502);
}

#[tokio::test]
async fn cooldowns_survive_a_reload() {
    let mock = MockUpstream::start().await.unwrap();
    let proxy = Proxy::start(&format!(
        "routing:\n  strategy: fill-first\n{}",
        claude(&mock, &["a", "b"])
    ))
    .await;
    let first = answered_by(&proxy).await;
    mock.set_fault(&first, Fault::status(500).times(1));
    let other = answered_by(&proxy).await;
    assert_ne!(first, other);
    // An unrelated edit: the cooled credential stays cooled.
    proxy
        .rewrite_config(&format!(
            "debug: false\nrouting:\n  strategy: fill-first\n{}",
            claude(&mock, &["a", "b"])
        ))
        .await;
    assert_eq!(answered_by(&proxy).await, other);
    proxy.clock.advance(Duration::from_secs(61));
    assert_eq!(answered_by(&proxy).await, first);
}
