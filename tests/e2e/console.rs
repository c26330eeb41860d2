//! The operator console: how it is served (HTTP), and what an operator sees in a real Chromium
//! driven through chromedriver (WebDriver) — one browser session for the browser scenarios.

use std::process::{Child, Command, Stdio};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use switchyard_mock::{Fault, MockUpstream};

use crate::harness::{Proxy, WAIT, client, messages, read};
use crate::redis_server::RedisServer;

/// The management key of these tests.
const SECRET: &str = "console-secret-key";

/// A proxy with the management key and two Claude keys on `mock`, plus `extra` YAML.
async fn proxy(mock: &MockUpstream, extra: &str) -> Proxy {
    Proxy::start(&format!(
        "remote-management:\n  secret-key: {SECRET}\n{extra}claude-api-key:\n  - api-key: console-a\n    base-url: {base}\n  - api-key: console-b\n    base-url: {base}\n",
        base = mock.base_url()
    ))
    .await
}

#[tokio::test]
async fn the_console_is_served_with_a_strict_policy_only_where_management_is() {
    let mock = MockUpstream::start().await.unwrap();
    let proxy = proxy(&mock, "").await;
    for path in ["/management.html", "/console/"] {
        let reply = read(client().get(proxy.url(path)).send().await.unwrap()).await;
        assert_eq!(reply.status, 200, "{path}");
        assert!(reply.text().contains("<form id=\"login-form\">"), "{path}");
        let policy = reply.header("content-security-policy").unwrap();
        assert!(policy.contains("script-src 'self'") && policy.contains("connect-src 'self'"));
        assert!(!policy.contains("unsafe-inline"), "{policy}");
        assert_eq!(reply.header("x-frame-options"), Some("DENY"));
        assert_eq!(reply.header("referrer-policy"), Some("no-referrer"));
    }
    let script = read(
        client()
            .get(proxy.url("/console/console.js"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(script.status, 200);
    assert!(
        script
            .header("content-type")
            .unwrap()
            .starts_with("text/javascript")
    );
    assert!(script.text().contains("Authorization"));
    let unknown = client()
        .get(proxy.url("/console/other.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    // The whole console stays far below the 250 KB budget.
    let mut total = 0;
    for path in ["/console/", "/console/console.js", "/console/console.css"] {
        let response = client().get(proxy.url(path)).send().await.unwrap();
        total += response.bytes().await.unwrap().len();
    }
    assert!(total < 250 * 1024, "{total} bytes");

    // disable-control-panel: 404, while the API stays.
    proxy
        .rewrite_config(&format!(
            "remote-management:\n  secret-key: {SECRET}\n  disable-control-panel: true\nclaude-api-key:\n  - api-key: console-a\n    base-url: {}\n",
            mock.base_url()
        ))
        .await;
    let off = client()
        .get(proxy.url("/management.html"))
        .send()
        .await
        .unwrap();
    assert_eq!(off.status(), 404);
    let api = client()
        .get(proxy.url("/v0/management/credentials"))
        .bearer_auth(SECRET)
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), 200);
    proxy.shutdown().await;

    // Without a management secret there is no console.
    let bare = Proxy::start(&format!(
        "claude-api-key:\n  - api-key: console-a\n    base-url: {}\n",
        mock.base_url()
    ))
    .await;
    let none = client().get(bare.url("/console/")).send().await.unwrap();
    assert_eq!(none.status(), 404);
    bare.shutdown().await;
    mock.shutdown().await;
}

/// chromedriver on a free loopback port, and one headless Chromium session through it.
struct Browser {
    driver: Child,
    client: Client,
}

impl Browser {
    async fn start() -> Browser {
        let port = RedisServer::unused_port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver (Debian's chromium-driver; .ci/run installs it)");
        let url = format!("http://127.0.0.1:{port}");
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let ready = client().get(format!("{url}/status")).send().await;
            if ready.is_ok_and(|r| r.status().is_success()) {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "chromedriver did not start"
            );
            tokio::task::yield_now().await;
        }
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({"args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                            "--window-size=1280,900"]}),
        );
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&url)
            .await
            .expect("a Chromium session");
        Browser { driver, client }
    }

    /// Saves a screenshot as `target/console-screens/<name>.png`.
    async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.expect("screenshot");
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/console-screens");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }

    /// The text of `#id`, once `done` accepts it (within the harness deadline).
    async fn text_when(&self, id: &str, done: impl Fn(&str) -> bool) -> String {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let element = self.client.find(Locator::Id(id)).await.expect(id);
            let text = element.text().await.unwrap_or_default();
            if done(&text) {
                return text;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "#{id} never satisfied the condition; last text {text:?}"
            );
            tokio::task::yield_now().await;
        }
    }

    /// The `data-id` of every row of the credentials table.
    async fn rows(&self) -> Vec<String> {
        let mut ids = Vec::new();
        for row in self
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

    async fn log_in(&self, key: &str) {
        let field = self.client.find(Locator::Id("key")).await.unwrap();
        field.clear().await.unwrap();
        field.send_keys(key).await.unwrap();
        self.client
            .find(Locator::Css("#login-form button[type=submit]"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
    }

    async fn stop(mut self) {
        let _ = self.client.close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

#[tokio::test]
async fn an_operator_logs_in_and_sees_each_credential_and_its_cooldown() {
    let mock = MockUpstream::start().await.unwrap();
    let proxy = proxy(&mock, "").await;
    let browser = Browser::start().await;
    browser
        .client
        .goto(&proxy.url("/management.html"))
        .await
        .unwrap();

    // A wrong key: the API's message, no table.
    browser.log_in("not-the-key").await;
    let message = browser.text_when("login-error", |t| !t.is_empty()).await;
    assert!(message.to_lowercase().contains("key"), "{message}");
    let credentials = browser
        .client
        .find(Locator::Id("credentials"))
        .await
        .unwrap();
    assert!(!credentials.is_displayed().await.unwrap());

    // The right key: exactly the configured credentials, and the key is not in the URL.
    browser.log_in(SECRET).await;
    let configured: Vec<String> = {
        let mut ids: Vec<String> = proxy
            .runtime()
            .generation()
            .registry
            .credentials()
            .map(|c| c.id.to_string())
            .collect();
        ids.sort();
        ids
    };
    let deadline = tokio::time::Instant::now() + WAIT;
    while browser.rows().await != configured {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{:?}",
            browser.rows().await
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
    let deadline = tokio::time::Instant::now() + WAIT;
    // The table is drawn again every second (the countdown): an element found may be gone by
    // the time it is read, which only means looking again.
    let cell = format!("tr[data-id=\"{cooled}\"] td.state");
    let state = loop {
        let text = match browser.client.find(Locator::Css(&cell)).await {
            Ok(element) => element.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        if text.starts_with("cooling") {
            break text;
        }
        assert!(tokio::time::Instant::now() < deadline, "{text}");
        tokio::task::yield_now().await;
    };
    assert!(
        state.contains("claude-sonnet-4") && state.ends_with(" s"),
        "{state}"
    );
    browser.screenshot("credentials-cooling").await;

    // Logging out clears the key: a reload shows the login form again.
    browser
        .client
        .find(Locator::Id("logout"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser.client.refresh().await.unwrap();
    let login = browser.client.find(Locator::Id("login")).await.unwrap();
    assert!(login.is_displayed().await.unwrap());
    browser.stop().await;
    proxy.shutdown().await;
    mock.shutdown().await;
}
