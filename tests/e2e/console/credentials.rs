//! The Credentials view in the browser: login, the exact list, a cooldown's countdown, logout.

use fantoccini::Locator;
use switchyard_mock::{Fault, MockUpstream};

use super::browser::Browser;
use super::{SECRET, credential_ids, proxy};
use crate::harness::{WAIT, messages};

/// The `data-id` of every row of the credentials table, sorted.
async fn rows(browser: &Browser) -> Vec<String> {
    let mut ids = Vec::new();
    for row in browser
        .client
        .find_all(Locator::Css("#credentials-table tbody tr"))
        .await
        .unwrap_or_default()
    {
        // A row drawn again meanwhile reads as empty: the caller looks again.
        ids.push(row.attr("data-id").await.ok().flatten().unwrap_or_default());
    }
    ids.sort();
    ids
}

#[tokio::test]
async fn an_operator_logs_in_and_sees_each_credential_and_its_cooldown() {
    let mock = MockUpstream::start().await.unwrap();
    let proxy = proxy(&mock, "").await;
    let browser = Browser::acquire().await;
    browser.goto(&proxy.url("/management.html")).await;

    // A wrong key: the API's message, no view.
    browser.log_in("not-the-key").await;
    let message = browser.text_when("#login-error", |t| !t.is_empty()).await;
    assert!(message.to_lowercase().contains("key"), "{message}");
    let nav = browser.client.find(Locator::Id("nav")).await.unwrap();
    assert!(!nav.is_displayed().await.unwrap());

    // The right key: exactly the configured credentials, and the key is not in the URL.
    browser.log_in(SECRET).await;
    browser.view("credentials").await;
    let configured = credential_ids(&proxy);
    let deadline = tokio::time::Instant::now() + WAIT;
    while rows(&browser).await != configured {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{:?}",
            rows(&browser).await
        );
        tokio::task::yield_now().await;
    }
    let url = browser.client.current_url().await.unwrap();
    assert!(!url.as_str().contains(SECRET), "{url}");
    browser.screenshot("credentials").await;

    // The mock answers 429 for one key: its row shows it cooling, with a countdown.
    mock.set_fault("console-a", Fault::status(429).with_retry_after("120"));
    for _ in 0..2 {
        let reply = proxy
            .post("/v1/messages", &messages("claude-sonnet-4"))
            .await;
        assert_eq!(reply.status, 200, "{}", reply.text());
    }
    let cooled = proxy
        .runtime()
        .generation()
        .registry
        .credentials()
        .find(|c| matches!(&c.secret, switchyard::test_util::credential::Secret::ApiKey(k) if k == "console-a"))
        .unwrap()
        .id
        .to_string();
    let state = browser
        .text_when(&format!("tr[data-id=\"{cooled}\"] td.state"), |t| {
            t.starts_with("cooling")
        })
        .await;
    assert!(
        state.contains("claude-sonnet-4") && state.ends_with(" s"),
        "{state}"
    );
    browser.screenshot("credentials-cooling").await;

    // Logging out clears the key: a reload shows the login form again.
    browser.click("#logout").await;
    browser.client.refresh().await.unwrap();
    let login = browser.client.find(Locator::Id("login")).await.unwrap();
    assert!(login.is_displayed().await.unwrap());
    proxy.shutdown().await;
    mock.shutdown().await;
}
