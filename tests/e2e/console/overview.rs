//! The Overview view in the browser: after a few proxied requests it shows them with units and
//! the credentials by state; how long the page takes to show data on loopback; light and dark
//! screenshots; the Overview, Sessions and Usage views fit a 390 px wide screen.

use std::time::Duration;

use serde_json::Value;
use switchyard_mock::MockUpstream;

use super::browser::Browser;
use super::{SECRET, proxy};

/// A number the page's script answers.
async fn number(browser: &Browser, script: &str) -> f64 {
    let value: Value = browser.client.execute(script, vec![]).await.expect(script);
    value
        .as_f64()
        .or_else(|| value.as_str().and_then(|s| s.parse().ok()))
        .unwrap_or_else(|| panic!("{script} answered {value}"))
}

#[tokio::test]
async fn the_overview_shows_recent_traffic_and_credentials_by_state() {
    let mock = MockUpstream::start().await.unwrap();
    let proxy = proxy(&mock, "usage-statistics-enabled: true\n").await;
    // Requests over a minute of the proxy's clock: one window of 10 s after another.
    for requests in [2, 1, 3, 2, 4, 3] {
        for _ in 0..requests {
            let reply = proxy.claude_turn().await;
            assert_eq!(reply.status, 200, "{}", reply.text());
        }
        proxy.clock.advance(Duration::from_secs(10));
    }
    let browser = Browser::acquire().await;
    browser
        .open_console(&proxy.url("/management.html"), SECRET)
        .await;
    browser.view("overview").await;

    let requests = browser
        .text_when("#overview-requests-now", |t| {
            t.contains("15 requests in 15 min")
        })
        .await;
    assert!(requests.contains(" req/s"), "{requests}");
    let errors = browser.text_when("#overview-errors-now", |_| true).await;
    assert!(errors.starts_with("0.0 %"), "{errors}");
    let upstream = browser.text_when("#overview-upstream-now", |_| true).await;
    assert!(
        upstream.starts_with("p50 ") && (upstream.contains(" ms") || upstream.contains(" µs")),
        "{upstream}"
    );
    let tokens = browser
        .text_when("#overview-tokens-now", |t| !t.starts_with("0 tokens in"))
        .await;
    assert!(tokens.contains("tokens out in 15 min"), "{tokens}");
    let states = browser
        .text_when("#overview-credentials-list", |t| !t.is_empty())
        .await;
    assert_eq!(states, "2 active");
    let affinity = browser
        .text_when("#overview-affinity", |t| t.contains("Off"))
        .await;
    assert!(affinity.contains("Hits\n0 picks"), "{affinity}");
    let link = browser
        .client
        .find(fantoccini::Locator::Css(
            "#overview-credentials-list li[data-state=active] a",
        ))
        .await
        .unwrap();
    assert_eq!(
        link.attr("href").await.unwrap().as_deref(),
        Some("#credentials")
    );
    // The requests chart draws them.
    let lines = browser
        .client
        .find_all(fantoccini::Locator::Css(
            "#overview-requests-chart polyline",
        ))
        .await
        .unwrap();
    assert!(!lines.is_empty());

    // First render on loopback: a reload with the key kept in the tab.
    browser.client.refresh().await.unwrap();
    browser
        .text_when("#overview-requests-now", |t| t.contains("15 requests"))
        .await;
    let dom_ready = number(
        &browser,
        "return performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd",
    )
    .await;
    let loaded = number(
        &browser,
        "return performance.getEntriesByType('navigation')[0].loadEventEnd",
    )
    .await;
    let first_render = number(&browser, "return document.body.dataset.firstRender").await;
    eprintln!(
        "overview first render: DOMContentLoaded {dom_ready:.1} ms, load {loaded:.1} ms, \
         data shown {first_render:.1} ms after navigation"
    );
    assert!(first_render > 0.0);

    browser.screenshot("overview-light").await;
    browser.set_dark(true).await;
    browser.screenshot("overview-dark").await;
    browser.set_dark(false).await;

    // A reload that fails shows as the last reload's result (the reload event brings it).
    let status = proxy.rewrite_config("routing: [not yaml\n").await;
    assert_eq!(status.failures, 1);
    let result = browser
        .text_when("#overview-reload-result", |t| t.contains("failed"))
        .await;
    assert!(result.contains("invalid YAML"), "{result}");
    let detail = browser.text_when("#overview-reload-detail", |_| true).await;
    assert!(detail.contains("1 failure"), "{detail}");
    browser.screenshot("overview-reload-failed").await;

    // A state's count leads to the Credentials view, filtered to that state.
    browser
        .click("#overview-credentials-list li[data-state=active] a")
        .await;
    let credentials = browser
        .client
        .find(fantoccini::Locator::Css("section#credentials"))
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + crate::harness::WAIT;
    while !credentials.is_displayed().await.unwrap() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no Credentials view"
        );
        tokio::task::yield_now().await;
    }
    let filter = browser
        .client
        .find(fantoccini::Locator::Id("filter"))
        .await
        .unwrap();
    assert_eq!(
        filter.prop("value").await.unwrap().as_deref(),
        Some("active")
    );

    // A phone-sized screen: no view of these scrolls sideways.
    browser.set_width(390).await;
    for id in ["overview", "sessions", "usage"] {
        // A long view left the page scrolled; the menu is at the top.
        browser
            .client
            .execute("window.scrollTo(0, 0)", vec![])
            .await
            .unwrap();
        browser.view(id).await;
        browser
            .text_when(&format!("section#{id} h2"), |t| !t.is_empty())
            .await;
        assert!(!browser.overflows().await, "{id} overflows at 390 px");
        browser.screenshot(&format!("{id}-390")).await;
    }
    proxy.shutdown().await;
    mock.shutdown().await;
}
