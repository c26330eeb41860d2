//! The Plugins view in the browser: a folder plugin that traps for many clients shows as
//! quarantined, light and dark, and the view fits a phone's width.

use switchyard_mock::MockUpstream;

use super::SECRET;
use super::browser::Browser;
use crate::harness::{Proxy, guests, trap_from_four_clients};

#[tokio::test]
async fn a_folder_plugin_trapping_for_many_clients_shows_as_quarantined() {
    let mock = MockUpstream::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("misbehave.wasm"), guests::MISBEHAVE.bytes()).unwrap();
    let proxy = Proxy::start(&format!(
        "remote-management:\n  secret-key: {SECRET}\nplugins:\n  dir: {}\nauth:\n  providers:\n    - name: flaky\n      type: misbehave\n      config: {{mode: panic}}\nclaude-api-key:\n  - api-key: upstream\n    base-url: {}\n",
        dir.path().display(),
        mock.base_url()
    ))
    .await;
    let browser = Browser::acquire().await;
    browser
        .open_console(&proxy.url("/management.html"), SECRET)
        .await;
    browser.view("plugins").await;
    let row = "#plugins-table tr[data-name=\"misbehave.wasm\"] td.state";
    browser.text_when(row, |t| t == "active").await;

    // Every call traps, from four client addresses: the instance is quarantined.
    trap_from_four_clients(&proxy, 10).await;
    let stats = proxy.runtime().generation().access.entries()[0]
        .stats()
        .unwrap();
    assert_eq!(stats.quarantines, 1, "{stats:?}");
    let state = browser
        .text_when(row, |t| t.starts_with("quarantined"))
        .await;
    let faults = browser
        .text_when(
            "#plugins-table tr[data-name=\"misbehave.wasm\"] td:nth-child(9)",
            |t| !t.is_empty(),
        )
        .await;
    assert_eq!(faults, "10", "{state}");
    browser.screenshot("plugins-light").await;
    browser.set_dark(true).await;
    browser.screenshot("plugins-dark").await;

    browser.set_width(390).await;
    assert!(
        !browser.overflows().await,
        "the Plugins view overflows at 390 px"
    );
    browser.screenshot("plugins-390").await;
    proxy.shutdown().await;
    mock.shutdown().await;
}
