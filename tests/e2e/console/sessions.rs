//! The Sessions view in the browser: a session's binding shows for its credential; dropping
//! the credential's bindings (after a confirmation that Escape cancels) removes it.

use fantoccini::Locator;
use switchyard_mock::MockUpstream;

use super::browser::Browser;
use super::usage::credential_with_key;
use super::{SECRET, proxy};
use crate::harness::{Proxy, messages};

/// The live bindings as GET /v0/management/sessions reports them.
async fn bindings(proxy: &Proxy) -> u64 {
    let reply = proxy
        .client
        .get(proxy.url("/v0/management/sessions"))
        .bearer_auth(SECRET)
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = reply.json().await.unwrap();
    body["bindings"].as_u64().expect("bindings")
}

#[tokio::test]
async fn a_sessions_binding_shows_for_its_credential_and_dropping_removes_it() {
    let mock = MockUpstream::start().await.unwrap();
    let proxy = proxy(&mock, "routing:\n  session-affinity: true\n").await;
    let reply = proxy
        .post_with(
            "/v1/messages",
            &messages("claude-sonnet-4"),
            &[("x-session-id", "console-session-1")],
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let credential = credential_with_key(&proxy, &reply.credential());
    assert_eq!(bindings(&proxy).await, 1);
    // The same session again finds its binding: one miss, then one hit.
    let again = proxy
        .post_with(
            "/v1/messages",
            &messages("claude-sonnet-4"),
            &[("x-session-id", "console-session-1")],
        )
        .await;
    assert_eq!(again.credential(), reply.credential());

    let browser = Browser::acquire().await;
    browser
        .open_console(&proxy.url("/management.html"), SECRET)
        .await;
    browser.view("sessions").await;
    let row = format!("#sessions-table tr[data-id=\"{credential}\"]");
    let count = browser
        .text_when(&format!("{row} td.bindings"), |t| !t.is_empty())
        .await;
    assert_eq!(count, "1 session");
    assert_eq!(
        browser.text_when("#sessions-store", |_| true).await,
        "memory"
    );
    assert_eq!(
        browser.text_when("#sessions-bindings", |_| true).await,
        "1 session"
    );
    let share = browser.text_when("#sessions-hit-share", |_| true).await;
    assert!(
        share.starts_with("50.0 % (1 hit, 1 miss, 0 rebinds"),
        "{share}"
    );
    browser.screenshot("sessions").await;

    // Escape cancels the confirmation: nothing is dropped.
    let drop = format!("button.drop[data-id=\"{credential}\"]");
    browser.click(&drop).await;
    let dialog = browser
        .client
        .find(Locator::Id("sessions-confirm"))
        .await
        .unwrap();
    assert!(dialog.is_displayed().await.unwrap());
    let text = browser
        .text_when("#sessions-confirm-text", |t| !t.is_empty())
        .await;
    assert!(text.contains(&credential), "{text}");
    browser.screenshot("sessions-confirm").await;
    browser
        .client
        .find(Locator::Id("sessions-confirm-cancel"))
        .await
        .unwrap()
        .send_keys("\u{E00C}")
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + crate::harness::WAIT;
    while dialog.is_displayed().await.unwrap() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "Escape left the dialog open"
        );
        tokio::task::yield_now().await;
    }
    assert_eq!(bindings(&proxy).await, 1);

    // Confirmed: the binding is gone, in the API and on the page.
    browser.click(&drop).await;
    browser.click("#sessions-confirm-drop").await;
    browser
        .text_when("#sessions-empty", |t| t.contains("No session"))
        .await;
    assert_eq!(bindings(&proxy).await, 0);
    assert!(browser.client.find(Locator::Css(&row)).await.is_err());
    assert_eq!(
        browser.text_when("#sessions-bindings", |_| true).await,
        "0 sessions"
    );

    // Usage statistics are off here: the Usage view says so.
    browser.view("usage").await;
    browser
        .text_when("#usage-disabled", |t| {
            t.contains("usage-statistics-enabled: false")
        })
        .await;
    proxy.shutdown().await;
    mock.shutdown().await;
}
