//! The console from the keyboard alone: log in with Enter, reach a view through the menu with
//! Tab and Enter.

use fantoccini::key::Key;
use switchyard_mock::MockUpstream;

use super::browser::Browser;
use super::{SECRET, proxy};
use crate::harness::WAIT;

#[tokio::test]
async fn an_operator_can_log_in_and_change_views_with_the_keyboard() {
    let mock = MockUpstream::start().await.unwrap();
    let proxy = proxy(&mock, "").await;
    let browser = Browser::acquire().await;
    browser.goto(&proxy.url("/management.html")).await;
    browser.click("#key").await;
    let field = browser.client.active_element().await.unwrap();
    field
        .send_keys(&format!("{SECRET}{}", char::from(Key::Enter)))
        .await
        .unwrap();
    browser.text_when("#live-state", |t| !t.is_empty()).await;

    // Tab from the top of the page until the Plugins link has the focus, then Enter.
    browser
        .client
        .execute("document.activeElement.blur()", vec![])
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let body = browser.client.active_element().await.unwrap();
        body.send_keys(&char::from(Key::Tab).to_string())
            .await
            .unwrap();
        let focused = browser.client.active_element().await.unwrap();
        if focused.attr("href").await.unwrap().as_deref() == Some("#plugins") {
            focused
                .send_keys(&char::from(Key::Enter).to_string())
                .await
                .unwrap();
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "Tab never reached the Plugins link"
        );
    }
    browser
        .text_when("#plugins-table tbody", |t| t.contains("config-api-key"))
        .await;
    proxy.shutdown().await;
    mock.shutdown().await;
}
