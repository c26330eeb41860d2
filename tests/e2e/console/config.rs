//! The Config view in the browser: a setting applied from its control, the running config with
//! its secrets masked, and the YAML editor — a refused save shows its error at its line and
//! changes nothing; a valid one applies.

use fantoccini::Locator;
use switchyard_mock::MockUpstream;

use super::browser::Browser;
use super::{SECRET, proxy};
use crate::harness::{Proxy, WAIT};

/// The editor's current text.
async fn editor_text(browser: &Browser) -> String {
    let value = browser
        .client
        .execute("return document.getElementById('yaml-text').value", vec![])
        .await
        .unwrap();
    value.as_str().unwrap_or_default().to_owned()
}

/// Waits until the editor holds `done`-satisfying text, and answers it.
async fn editor_when(browser: &Browser, done: impl Fn(&str) -> bool) -> String {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let text = editor_text(browser).await;
        if done(&text) {
            return text;
        }
        assert!(tokio::time::Instant::now() < deadline, "editor: {text:?}");
        tokio::task::yield_now().await;
    }
}

fn generation(proxy: &Proxy) -> u64 {
    proxy.runtime().reload_status().borrow().generation
}

#[tokio::test]
async fn a_config_edit_with_an_error_is_shown_at_its_line_and_a_valid_one_applies() {
    let mock = MockUpstream::start().await.unwrap();
    let proxy = proxy(&mock, "").await;
    let browser = Browser::acquire().await;
    browser
        .open_console(&proxy.url("/management.html"), SECRET)
        .await;
    browser.view("config").await;
    let original = std::fs::read(proxy.config_path()).unwrap();
    let text = editor_when(&browser, |t| !t.is_empty()).await;
    assert_eq!(text.as_bytes(), original.as_slice());

    // The running config masks the provider keys the page received.
    browser.click("#running-config summary").await;
    let running = browser
        .text_when("#running-config-text", |t| t.contains("claude-api-key"))
        .await;
    assert!(running.contains("\"api-key\": \"****\""), "{running}");
    assert!(
        !running.contains("console-a") && !running.contains(SECRET),
        "{running}"
    );

    // A setting applied from its control: written to the file and running.
    let strategy = browser
        .client
        .find(Locator::Id("setting-routing-strategy"))
        .await
        .unwrap();
    strategy.select_by_value("fill-first").await.unwrap();
    browser
        .text_when("#setting-routing-strategy-message", |t| t == "applied")
        .await;
    let written = std::fs::read_to_string(proxy.config_path()).unwrap();
    assert!(written.contains("strategy: fill-first"), "{written}");
    let applied = proxy.runtime().generation().config.routing.strategy;
    assert_eq!(applied.as_str(), "fill-first");

    // A YAML error on line 3 of the editor: shown at its line, nothing written or applied.
    let before = std::fs::read(proxy.config_path()).unwrap();
    let text = editor_when(&browser, |t| t.as_bytes() == before.as_slice()).await;
    let generation_before = generation(&proxy);
    let broken = format!("# edited\ndebug: false\nrequest-retry: 2: 3\n{text}");
    browser.fill("#yaml-text", &broken).await;
    browser.click("#yaml-save").await;
    let message = browser
        .text_when("#yaml-message", |t| t.starts_with("Not saved"))
        .await;
    let line = message
        .split("line ")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or_else(|| panic!("no line in {message:?}"));
    assert_eq!(line, 3, "{message}");
    let marked = browser
        .client
        .find(Locator::Css("#yaml-gutter .error-line"))
        .await
        .unwrap();
    assert_eq!(marked.text().await.unwrap(), line.to_string());
    let selected = browser
        .client
        .execute(
            "const t = document.getElementById('yaml-text'); \
             return t.value.slice(t.selectionStart, t.selectionEnd)",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        selected.as_str().unwrap(),
        broken.lines().nth(line - 1).unwrap()
    );
    assert_eq!(std::fs::read(proxy.config_path()).unwrap(), before);
    assert_eq!(generation(&proxy), generation_before);
    browser.screenshot("config-error").await;
    browser.set_dark(true).await;
    browser.screenshot("config-error-dark").await;
    browser.set_dark(false).await;

    // A value the validation refuses, on line 3: shown there with its key, nothing written.
    let refused = format!("# edited\nplugins:\n  max-file-mib: 0\n{text}");
    browser.fill("#yaml-text", &refused).await;
    browser.click("#yaml-save").await;
    let message = browser
        .text_when("#yaml-message", |t| t.contains("max-file-mib"))
        .await;
    assert!(
        message.starts_with("Not saved (line 3, column 3, key plugins.max-file-mib)"),
        "{message}"
    );
    browser
        .text_when("#yaml-gutter .error-line", |t| t == "3")
        .await;
    assert_eq!(std::fs::read(proxy.config_path()).unwrap(), before);
    assert_eq!(generation(&proxy), generation_before);

    // A valid edit: written, applied in a new generation, visible in its control.
    let valid = format!("request-retry: 7\n{}", String::from_utf8_lossy(&before));
    browser.fill("#yaml-text", &valid).await;
    browser.click("#yaml-save").await;
    browser
        .text_when("#yaml-message", |t| t == "Saved and applied.")
        .await;
    assert_eq!(std::fs::read_to_string(proxy.config_path()).unwrap(), valid);
    assert!(generation(&proxy) > generation_before);
    assert_eq!(proxy.runtime().generation().config.retry.request_retry, 7);
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let control = browser
            .client
            .find(Locator::Id("setting-request-retry"))
            .await
            .unwrap();
        if control.prop("value").await.unwrap().as_deref() == Some("7") {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "retries not shown");
        tokio::task::yield_now().await;
    }

    // At 390 px the view does not overflow sideways.
    browser.set_width(390).await;
    assert!(!browser.overflows().await);
    browser.screenshot("config-390").await;
    proxy.shutdown().await;
    mock.shutdown().await;
}
