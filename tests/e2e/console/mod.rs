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

use switchyard_mock::MockUpstream;

use crate::harness::Proxy;

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
