//! The Usage view in the browser: a request made with curl shows in the live usage tail, with
//! its model and credential, and in the totals by credential.

use std::process::Command;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use switchyard_mock::{CREDENTIAL_HEADER, MockUpstream};

use super::browser::Browser;
use super::{SECRET, hold_every_event_stream, proxy};
use crate::harness::{Proxy, messages};

/// The id of the credential whose upstream key is `key`.
pub(crate) fn credential_with_key(proxy: &Proxy, key: &str) -> String {
    proxy
        .runtime()
        .generation()
        .registry
        .credentials()
        .find(|c| matches!(&c.secret, switchyard::test_util::credential::Secret::ApiKey(k) if k == key))
        .unwrap_or_else(|| panic!("no credential with key {key}"))
        .id
        .to_string()
}

/// What curl printed (the response headers), and when it exited.
struct Curl {
    headers: String,
    exited: Instant,
    exited_at: SystemTime,
}

/// POSTs a Messages request to `url` with curl (the proxy takes no client key here).
async fn curl_messages(url: String) -> Curl {
    let body = messages("claude-sonnet-4").to_string();
    tokio::task::spawn_blocking(move || {
        let output = Command::new("curl")
            .args(["-sS", "--fail", "-o", "/dev/null", "-D", "-", "-X", "POST"])
            .args([
                "-H",
                "content-type: application/json",
                "--data-binary",
                &body,
                &url,
            ])
            .output()
            .expect("curl runs");
        let (exited, exited_at) = (Instant::now(), SystemTime::now());
        assert!(
            output.status.success(),
            "curl: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        Curl {
            headers: String::from_utf8_lossy(&output.stdout).into_owned(),
            exited,
            exited_at,
        }
    })
    .await
    .expect("curl thread")
}

#[tokio::test]
async fn the_live_usage_tail_shows_a_request_made_with_curl() {
    let mock = MockUpstream::start().await.unwrap();
    let proxy = proxy(&mock, "usage-statistics-enabled: true\n").await;
    let browser = Browser::acquire().await;
    browser
        .open_console(&proxy.url("/management.html"), SECRET)
        .await;
    browser.view("usage").await;
    // The tail only sees records published while the stream is open.
    browser.text_when("#live-state", |t| t == "live").await;
    let state = browser
        .text_when("#usage-tail-state", |t| t.starts_with("Live"))
        .await;
    assert!(state.contains("100"), "{state}");
    let notice = browser
        .client
        .find(fantoccini::Locator::Id("usage-disabled"))
        .await
        .unwrap();
    assert!(!notice.is_displayed().await.unwrap());

    let curl = curl_messages(proxy.url("/v1/messages")).await;
    let key = curl
        .headers
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case(CREDENTIAL_HEADER)
                .then(|| value.trim().to_owned())
        })
        .unwrap_or_else(|| panic!("no {CREDENTIAL_HEADER} in {}", curl.headers));
    let credential = credential_with_key(&proxy, &key);

    let row = "#usage-tail tbody tr[data-request-id]";
    let model = browser
        .text_when(&format!("{row} td.model"), |t| !t.is_empty())
        .await;
    let seen = Instant::now();
    assert_eq!(model, "claude-sonnet-4");
    let shown_credential = browser
        .text_when(&format!("{row} td.credential"), |_| true)
        .await;
    assert_eq!(shown_credential, credential);
    let status = browser
        .text_when(&format!("{row} td.http-status"), |_| true)
        .await;
    assert_eq!(status, "200");
    // When the page added the row (its clock, this machine's), against curl's exit.
    let received_ms: u128 = browser
        .client
        .find(fantoccini::Locator::Css(row))
        .await
        .unwrap()
        .attr("data-received-at")
        .await
        .unwrap()
        .expect("data-received-at")
        .parse()
        .unwrap();
    let exited_ms = curl
        .exited_at
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis();
    eprintln!(
        "usage tail: the row appeared {} ms after curl exited (page clock: {} ms after)",
        seen.duration_since(curl.exited).as_millis(),
        received_ms as i128 - exited_ms as i128
    );

    // The totals by credential count it too.
    let totals = browser
        .text_when(
            &format!("#usage-by-credential tr[data-id=\"{credential}\"]"),
            |t| t.contains("1 request "),
        )
        .await;
    assert!(totals.contains("tokens"), "{totals}");
    browser.screenshot("usage").await;
    proxy.shutdown().await;
    mock.shutdown().await;
}

#[tokio::test]
async fn without_the_event_stream_the_usage_view_says_the_tail_is_paused_and_keeps_polling() {
    let mock = MockUpstream::start().await.unwrap();
    let proxy = proxy(&mock, "usage-statistics-enabled: true\n").await;
    // Every event stream slot taken: the console's stream is refused (429).
    let mut held = hold_every_event_stream(&proxy).await;
    let browser = Browser::acquire().await;
    browser
        .open_console(&proxy.url("/management.html"), SECRET)
        .await;
    browser.view("usage").await;
    let state = browser
        .text_when("#usage-tail-state", |t| t.contains("paused"))
        .await;
    assert!(state.contains("totals refresh every 5 s"), "{state}");

    // The totals still follow the traffic, by polling.
    curl_messages(proxy.url("/v1/messages")).await;
    browser
        .text_when("#usage-total tbody", |t| t.starts_with("1 request "))
        .await;
    browser.screenshot("usage-paused").await;

    // A slot frees: the console reconnects and the tail is live again.
    held.clear();
    browser
        .text_when("#usage-tail-state", |t| t.starts_with("Live"))
        .await;
    proxy.shutdown().await;
    mock.shutdown().await;
}
