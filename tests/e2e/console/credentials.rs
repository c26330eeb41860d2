//! The Credentials view in the browser: login, the exact list, a cooldown's countdown, logout.

use fantoccini::Locator;
use switchyard_mock::{Fault, MockUpstream};

use super::browser::Browser;
use super::{SECRET, credential_ids, proxy, wait_for_rows};
use crate::harness::messages;

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
    wait_for_rows(&browser, &credential_ids(&proxy)).await;
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
    // Its last error says what the upstream answered; the other key has none.
    let error = browser
        .text_when(&format!("tr[data-id=\"{cooled}\"] td.last-error"), |t| {
            t != "—" && !t.is_empty()
        })
        .await;
    assert_eq!(error, "claude-sonnet-4: upstream 429");
    let others: Vec<String> = credential_ids(&proxy)
        .into_iter()
        .filter(|id| *id != cooled)
        .collect();
    let other = browser
        .text_when(
            &format!("tr[data-id=\"{}\"] td.last-error", others[0]),
            |t| !t.is_empty(),
        )
        .await;
    assert_eq!(other, "—");
    browser.screenshot("credentials-cooling").await;

    // Logging out clears the key: a reload shows the login form again.
    browser.click("#logout").await;
    browser.client.refresh().await.unwrap();
    let login = browser.client.find(Locator::Id("login")).await.unwrap();
    assert!(login.is_displayed().await.unwrap());
    proxy.shutdown().await;
    mock.shutdown().await;
}
