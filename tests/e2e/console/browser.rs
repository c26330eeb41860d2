//! One headless Chromium session, driven through chromedriver (WebDriver on loopback), shared
//! by every browser test of the binary: tests take turns on it.
//!
//! Each `#[tokio::test]` has its own runtime, and a fantoccini session lives on the runtime
//! that opened it; so the session is opened on a thread of its own that keeps its runtime
//! alive until the process exits, and the tests talk to it through its (runtime-independent)
//! command channel. When the process exits, chromedriver and Chromium are ended with it.

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use tokio::sync::{MutexGuard, OnceCell};

use crate::harness::{WAIT, client};
use crate::redis_server::RedisServer;

/// The window every test starts with.
const WIDTH: u32 = 1280;
const HEIGHT: u32 = 900;

/// The shared session, opened by the first test that needs it.
static SESSION: OnceCell<Session> = OnceCell::const_new();

struct Session {
    client: Client,
    /// The watchdog holding chromedriver (and so Chromium) in its process group: it ends the
    /// group when its stdin, held here until the process exits, closes.
    _watchdog: Child,
    /// chromedriver's URL and the session's id, for the commands fantoccini has no call for.
    session_url: String,
    turn: tokio::sync::Mutex<()>,
}

/// The browser, held by one test at a time.
pub(crate) struct Browser {
    /// The WebDriver client.
    pub client: Client,
    session_url: &'static str,
    _turn: MutexGuard<'static, ()>,
}

impl Browser {
    /// Waits for the shared session, opening it the first time, and resets it to a light
    /// 1280 × 900 window.
    pub(crate) async fn acquire() -> Browser {
        let session = SESSION.get_or_init(open).await;
        let turn = session.turn.lock().await;
        let browser = Browser {
            client: session.client.clone(),
            session_url: &session.session_url,
            _turn: turn,
        };
        browser
            .cdp("Emulation.clearDeviceMetricsOverride", json!({}))
            .await;
        browser.set_dark(false).await;
        browser
    }

    /// Sends a Chrome DevTools command through chromedriver.
    async fn cdp(&self, command: &str, params: Value) {
        let reply = client()
            .post(format!("{}/goog/cdp/execute", self.session_url))
            .json(&json!({ "cmd": command, "params": params }))
            .send()
            .await
            .expect("chromedriver");
        assert!(reply.status().is_success(), "{command}: {}", reply.status());
    }

    /// Emulates `prefers-color-scheme: dark` (or light).
    pub(crate) async fn set_dark(&self, dark: bool) {
        let scheme = if dark { "dark" } else { "light" };
        self.cdp(
            "Emulation.setEmulatedMedia",
            json!({ "features": [{ "name": "prefers-color-scheme", "value": scheme }] }),
        )
        .await;
    }

    /// Emulates a phone-sized viewport `width` CSS pixels wide.
    pub(crate) async fn set_width(&self, width: u32) {
        self.cdp(
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": width, "height": 844, "deviceScaleFactor": 1, "mobile": true }),
        )
        .await;
    }

    /// Whether the page is wider than the viewport (it scrolls sideways).
    pub(crate) async fn overflows(&self) -> bool {
        let wider = self
            .client
            .execute(
                "return document.documentElement.scrollWidth > window.innerWidth",
                vec![],
            )
            .await
            .expect("script");
        wider.as_bool().expect("a boolean")
    }

    /// Saves a screenshot as `target/console-screens/<name>.png`.
    pub(crate) async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.expect("screenshot");
        let dir = screens_dir();
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }

    /// Opens `url` in the browser.
    pub(crate) async fn goto(&self, url: &str) {
        self.client.goto(url).await.expect("navigation");
    }

    /// The text of the element `css` matches, once `done` accepts it (within the harness
    /// deadline). A view drawn again meanwhile only means reading again.
    pub(crate) async fn text_when(&self, css: &str, done: impl Fn(&str) -> bool) -> String {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let text = match self.client.find(Locator::Css(css)).await {
                Ok(element) => element.text().await.unwrap_or_default(),
                Err(_) => String::new(),
            };
            if done(&text) {
                return text;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{css} never satisfied the condition; last text {text:?}"
            );
            tokio::task::yield_now().await;
        }
    }

    /// Waits until an element matches `css` and clicks it.
    pub(crate) async fn click(&self, css: &str) {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            if let Ok(element) = self.client.find(Locator::Css(css)).await
                && element.click().await.is_ok()
            {
                return;
            }
            assert!(tokio::time::Instant::now() < deadline, "no {css} to click");
            tokio::task::yield_now().await;
        }
    }

    /// Types `text` into the (cleared) field `css`.
    pub(crate) async fn fill(&self, css: &str, text: &str) {
        let field = self.client.find(Locator::Css(css)).await.expect(css);
        field.clear().await.unwrap();
        field.send_keys(text).await.unwrap();
    }

    /// Submits the login form with `key`.
    pub(crate) async fn log_in(&self, key: &str) {
        self.fill("#key", key).await;
        self.click("#login-form button[type=submit]").await;
    }

    /// Opens the console at `base` (a proxy's URL), logs in with `key` and waits for the
    /// status line.
    pub(crate) async fn open_console(&self, page_url: &str, key: &str) {
        self.goto(page_url).await;
        self.log_in(key).await;
        self.text_when("#live-state", |t| !t.is_empty()).await;
    }

    /// Shows view `id` through the menu.
    pub(crate) async fn view(&self, id: &str) {
        self.click(&format!("#views a[href=\"#{id}\"]")).await;
        let section = format!("section#{id}");
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let shown = match self.client.find(Locator::Css(&section)).await {
                Ok(element) => element.is_displayed().await.unwrap_or(false),
                Err(_) => false,
            };
            if shown {
                return;
            }
            assert!(tokio::time::Instant::now() < deadline, "{id} not shown");
            tokio::task::yield_now().await;
        }
    }
}

/// Where screenshots go: `target/console-screens/`.
pub(crate) fn screens_dir() -> PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/console-screens")
}

/// Starts chromedriver on a free loopback port and opens the session, on a thread of its own.
async fn open() -> Session {
    let (sender, receiver) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("browser".into())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let session = start_driver_and_session().await;
                let _ = sender.send(session);
                // Keeps the session's connection task running until the process exits.
                std::future::pending::<()>().await;
            });
        })
        .unwrap();
    receiver.await.expect("the browser thread")
}

async fn start_driver_and_session() -> Session {
    let port = RedisServer::unused_port();
    // chromedriver and the Chromium it starts share the watchdog's new process group; when
    // this process exits, for whatever reason, the watchdog's stdin closes and it ends the
    // group, so no browser outlives the tests.
    let watchdog = Command::new("bash")
        .args([
            "-c",
            "chromedriver --port=\"$1\" >/dev/null 2>&1 & cat >/dev/null; kill -TERM -- -$$",
            "watchdog",
        ])
        .arg(port.to_string())
        .process_group(0)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("bash");
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
                        format!("--window-size={WIDTH},{HEIGHT}")]}),
    );
    let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(&url)
        .await
        .expect("a Chromium session");
    let id = client
        .session_id()
        .await
        .expect("session id")
        .expect("a session");
    Session {
        client,
        _watchdog: watchdog,
        session_url: format!("{url}/session/{id}"),
        turn: tokio::sync::Mutex::new(()),
    }
}
