//! The operator console: how it is served (HTTP), and what an operator sees in a real Chromium
//! driven through chromedriver (WebDriver), one browser session shared by the browser tests.

mod actions;
mod browser;
mod config;
mod credentials;
mod keyboard;
mod live;
mod overview;
mod plugins;
mod serving;
mod sessions;
mod usage;

use fantoccini::Locator;
use switchyard_mock::MockUpstream;

use crate::harness::{Proxy, WAIT};
use browser::Browser;

/// The management key of these tests.
pub(crate) const SECRET: &str = "console-secret-key";

/// A proxy with the management key and two Claude keys on `mock`, plus `extra` YAML.
pub(crate) async fn proxy(mock: &MockUpstream, extra: &str) -> Proxy {
    Proxy::start(&format!(
        "remote-management:\n  secret-key: {SECRET}\n{extra}claude-api-key:\n  - api-key: console-a\n    base-url: {base}\n  - api-key: console-b\n    base-url: {base}\n",
        base = mock.base_url()
    ))
    .await
}

/// The ids of the running credentials, sorted.
pub(crate) fn credential_ids(proxy: &Proxy) -> Vec<String> {
    let mut ids: Vec<String> = proxy
        .runtime()
        .generation()
        .registry
        .credentials()
        .map(|c| c.id.to_string())
        .collect();
    ids.sort();
    ids
}

/// Takes all 8 event-stream slots of `proxy` (the console's own stream is then refused);
/// dropping the answers frees them.
pub(crate) async fn hold_every_event_stream(proxy: &Proxy) -> Vec<reqwest::Response> {
    let mut held = Vec::new();
    for _ in 0..8 {
        let stream = proxy
            .client
            .get(proxy.url("/v0/management/events"))
            .bearer_auth(SECRET)
            .send()
            .await
            .unwrap();
        assert_eq!(stream.status(), 200);
        held.push(stream);
    }
    held
}

/// The `data-id` of every row of the credentials table, sorted. A row drawn again meanwhile
/// reads as empty: callers look again.
pub(crate) async fn credential_rows(browser: &Browser) -> Vec<String> {
    let mut ids = Vec::new();
    for row in browser
        .client
        .find_all(Locator::Css("#credentials-table tbody tr"))
        .await
        .unwrap_or_default()
    {
        ids.push(row.attr("data-id").await.ok().flatten().unwrap_or_default());
    }
    ids.sort();
    ids
}

/// Waits until the credentials table lists exactly `expected` (sorted).
pub(crate) async fn wait_for_rows(browser: &Browser, expected: &[String]) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while credential_rows(browser).await != expected {
        assert!(
            tokio::time::Instant::now() < deadline,
            "rows {:?}, expected {expected:?}",
            credential_rows(browser).await
        );
        tokio::task::yield_now().await;
    }
}
