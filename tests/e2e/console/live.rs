//! The console's live updates in the browser: while no event stream can be had (eight are
//! open already) it says so and keeps its views current by polling every 5 s; once a slot
//! frees it goes live again.

use switchyard_mock::{Fault, MockUpstream};

use super::browser::Browser;
use super::{SECRET, hold_every_event_stream, proxy};
use crate::harness::messages;

#[tokio::test]
async fn without_an_event_stream_the_console_polls_and_goes_live_when_it_can() {
    let mock = MockUpstream::start().await.unwrap();
    let proxy = proxy(&mock, "").await;
    // Eight streams held elsewhere: the console's own is refused (429).
    let mut held = hold_every_event_stream(&proxy).await;
    let browser = Browser::acquire().await;
    browser
        .open_console(&proxy.url("/management.html"), SECRET)
        .await;
    browser.view("credentials").await;
    let badge = browser
        .text_when("#live-state", |t| t.starts_with("polling"))
        .await;
    assert_eq!(badge, "polling every 5 s");

    // A cooldown still reaches the page, by polling.
    mock.set_fault("console-a", Fault::status(429).with_retry_after("120"));
    for _ in 0..2 {
        let reply = proxy
            .post("/v1/messages", &messages("claude-sonnet-4"))
            .await;
        assert_eq!(reply.status, 200, "{}", reply.text());
    }
    browser
        .text_when("#credentials-table td.state-cooling", |t| {
            t.starts_with("cooling claude-sonnet-4")
        })
        .await;
    assert_eq!(
        browser.text_when("#live-state", |t| !t.is_empty()).await,
        "polling every 5 s"
    );
    browser.screenshot("credentials-polling").await;

    // A slot frees: the console's retry gets a stream.
    held.clear();
    browser.text_when("#live-state", |t| t == "live").await;
    proxy.shutdown().await;
    mock.shutdown().await;
}
