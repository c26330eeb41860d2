//! Starting a proxy against the mock upstream and talking to it.

pub(crate) mod jwt;
pub(crate) mod plugins;
pub(crate) mod yaml;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::HeaderMap;
use serde_json::Value;
use std::io::BufRead;
use switchyard::test_util::clock::ManualClock;
use switchyard::test_util::runtime::{ReloadStatus, Runtime};
use switchyard::test_util::server::{RunningServer, ServerOptions};
use tempfile::TempDir;

/// The test guests (`plugins/testing/*` and `jwt-hs256`), built by `switchyard-test-guests`:
/// a constant per guest. Dead code is denied here, so a guest that no test uses does not
/// compile: remove it from `test-guests/build.rs` or write its test.
#[deny(dead_code)]
pub(crate) mod guests {
    use std::path::PathBuf;

    /// A component of the plugins workspace that the tests load.
    #[derive(Debug, Clone, Copy)]
    pub(crate) struct Guest {
        /// Its cargo package (and plugin type, unless it declares another).
        pub package: &'static str,
        /// Its component file.
        path: &'static str,
    }

    impl Guest {
        /// The component's bytes.
        pub(crate) fn bytes(&self) -> Vec<u8> {
            std::fs::read(self.path).expect("built guest")
        }

        /// The component's file.
        pub(crate) fn path(&self) -> PathBuf {
            PathBuf::from(self.path)
        }
    }

    macro_rules! guest {
        ($name:ident, $package:literal, $component:ident) => {
            #[doc = concat!("The test guest `", $package, "`.")]
            pub(crate) const $name: Guest = Guest {
                package: $package,
                path: switchyard_test_guests::$component,
            };
        };
    }
    switchyard_test_guests::foreach_guest!(guest);
}

/// How long any wait for an event may take before the test fails.
pub(crate) const WAIT: Duration = Duration::from_secs(15);

/// A running proxy with its own folder, clock and HTTP client.
pub(crate) struct Proxy {
    server: Option<RunningServer>,
    /// The folder holding `config.yaml` and `auths/`.
    pub dir: TempDir,
    /// The proxy's clock; tests advance it instead of waiting.
    pub clock: Arc<ManualClock>,
    /// A client for the proxy.
    pub client: reqwest::Client,
    base: String,
}

/// An HTTP answer, read whole.
#[derive(Debug)]
pub(crate) struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    /// The body as JSON (panics with the body when it is not).
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    /// The body as text.
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// A header's value.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The credential that answered, as the mock reports it.
    pub(crate) fn credential(&self) -> String {
        self.header(switchyard_mock::CREDENTIAL_HEADER)
            .unwrap_or_else(|| {
                panic!(
                    "no credential header; status {} body {}",
                    self.status,
                    self.text()
                )
            })
            .to_owned()
    }
}

/// `host: 127.0.0.1` and `port: 0` unless the YAML sets them, and `passthrough-headers: true`
/// (so the mock's `x-mock-credential` reaches the test) unless it sets that.
fn with_defaults(yaml: &str) -> String {
    let mut out = String::new();
    if !yaml.contains("\nhost:") && !yaml.starts_with("host:") {
        out.push_str("host: 127.0.0.1\n");
    }
    if !yaml.contains("\nport:") && !yaml.starts_with("port:") {
        out.push_str("port: 0\n");
    }
    if !yaml.contains("passthrough-headers:") {
        out.push_str("passthrough-headers: true\n");
    }
    out.push_str(yaml);
    out
}

impl Proxy {
    /// Starts a proxy on `yaml` (see [`with_defaults`]), panicking on failure.
    pub(crate) async fn start(yaml: &str) -> Proxy {
        Self::try_start(yaml)
            .await
            .unwrap_or_else(|e| panic!("server did not start: {e}"))
    }

    /// Starts a proxy on `yaml`.
    pub(crate) async fn try_start(
        yaml: &str,
    ) -> Result<Proxy, switchyard::test_util::server::ServerError> {
        Self::try_start_with(yaml, |options| options).await
    }

    /// Starts a proxy on `yaml`, with `customize` applied to the server options.
    pub(crate) async fn start_with(
        yaml: &str,
        customize: impl FnOnce(ServerOptions) -> ServerOptions,
    ) -> Proxy {
        Self::try_start_with(yaml, customize)
            .await
            .unwrap_or_else(|e| panic!("server did not start: {e}"))
    }

    /// Starts a proxy on `yaml` with customized server options.
    pub(crate) async fn try_start_with(
        yaml: &str,
        customize: impl FnOnce(ServerOptions) -> ServerOptions,
    ) -> Result<Proxy, switchyard::test_util::server::ServerError> {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("config.yaml"), with_defaults(yaml)).expect("write config");
        let clock = Arc::new(ManualClock::new());
        let options = customize(
            ServerOptions::from_file(dir.path().join("config.yaml"))
                .with_clock(clock.clone())
                .with_shutdown_grace(Duration::from_secs(5)),
        );
        let server = RunningServer::start(options).await?;
        let base = format!("http://{}", server.local_addr());
        Ok(Proxy {
            server: Some(server),
            dir,
            clock,
            client: client(),
            base,
        })
    }

    /// The server.
    pub(crate) fn server(&self) -> &RunningServer {
        self.server.as_ref().expect("running")
    }

    /// The runtime (generation, states, clock).
    pub(crate) fn runtime(&self) -> &Arc<Runtime> {
        self.server().runtime()
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The port the proxy listens on.
    pub(crate) fn port(&self) -> u16 {
        self.server().local_addr().port()
    }

    /// A request to `path` with the proxy's client.
    pub(crate) fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client.request(method, self.url(path))
    }

    /// The config file.
    pub(crate) fn config_path(&self) -> PathBuf {
        self.dir.path().join("config.yaml")
    }

    /// The auth folder.
    pub(crate) fn auth_dir(&self) -> PathBuf {
        self.dir.path().join("auths")
    }

    /// POSTs JSON to `path`.
    pub(crate) async fn post(&self, path: &str, body: &Value) -> Reply {
        self.post_with(path, body, &[]).await
    }

    /// POSTs JSON to `path` with extra headers.
    pub(crate) async fn post_with(
        &self,
        path: &str,
        body: &Value,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut request = self.client.post(self.url(path)).json(body);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        read(request.send().await.expect("request sent")).await
    }

    /// POSTs a Messages request for `claude-sonnet-4` to `/v1/messages`: the request most
    /// tests send.
    pub(crate) async fn claude_turn(&self) -> Reply {
        self.post("/v1/messages", &messages("claude-sonnet-4"))
            .await
    }

    /// POSTs JSON to `path` and returns the status alone.
    pub(crate) async fn status(&self, path: &str, body: &Value) -> u16 {
        self.post(path, body).await.status
    }

    /// The `/metrics` page as the server renders it (read in-process: over HTTP it needs the
    /// management key unless `metrics.public: true`).
    pub(crate) async fn metrics(&self) -> String {
        switchyard::test_util::management::report::render(self.runtime()).await
    }

    /// GETs `path`.
    pub(crate) async fn get(&self, path: &str) -> Reply {
        read(
            self.client
                .get(self.url(path))
                .send()
                .await
                .expect("request sent"),
        )
        .await
    }

    /// Replaces `config.yaml` atomically (as an editor does) and waits until the proxy has
    /// processed a reload attempt after it. Returns the reload status.
    pub(crate) async fn rewrite_config(&self, yaml: &str) -> ReloadStatus {
        let before = self.runtime().reload_status().borrow().attempts;
        let temp = self.dir.path().join(".config.yaml.tmp");
        std::fs::write(&temp, with_defaults(yaml)).expect("write config");
        std::fs::rename(&temp, self.config_path()).expect("replace config");
        self.wait_reload(|s| s.attempts > before).await
    }

    /// Waits until the reload status satisfies `done`.
    pub(crate) async fn wait_reload(
        &self,
        done: impl FnMut(&ReloadStatus) -> bool,
    ) -> ReloadStatus {
        let mut status = self.runtime().reload_status();
        tokio::time::timeout(WAIT, status.wait_for(done))
            .await
            .expect("reload within the deadline")
            .expect("runtime alive")
            .clone()
    }

    /// Stops the server gracefully.
    pub(crate) async fn shutdown(mut self) {
        if let Some(server) = self.server.take() {
            server.shutdown().await;
        }
    }
}

/// A plain HTTP client (no proxy, no pooling surprises).
pub(crate) fn client() -> reqwest::Client {
    switchyard::test_util::proxy::client_pool::install_crypto_provider();
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client")
}

/// A client whose connections come from 127.0.0.2: not a local client.
pub(crate) fn remote_client() -> reqwest::Client {
    client_from(2)
}

/// A client whose connections come from `127.0.0.<last>`.
pub(crate) fn client_from(last: u8) -> reqwest::Client {
    switchyard::test_util::proxy::client_pool::install_crypto_provider();
    reqwest::Client::builder()
        .no_proxy()
        .local_address(std::net::IpAddr::from([127, 0, 0, last]))
        .build()
        .expect("client")
}

/// Sends `calls` Claude messages to `proxy`, rotating over four client addresses
/// (127.0.0.2 to .5), each answered 503: an access plugin that traps on every call, driven
/// from several clients, as its quarantine needs.
pub(crate) async fn trap_from_four_clients(proxy: &Proxy, calls: usize) {
    let clients: Vec<_> = (2..=5).map(client_from).collect();
    for call in 0..calls {
        let reply = clients[call % 4]
            .post(proxy.url("/v1/messages"))
            .json(&messages("claude-sonnet-4"))
            .send()
            .await
            .expect("request sent");
        assert_eq!(reply.status(), 503, "call {call}");
    }
}

/// Reads a response whole.
pub(crate) async fn read(response: reqwest::Response) -> Reply {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.bytes().await.expect("body");
    Reply {
        status,
        headers,
        body,
    }
}

/// Checks a ban message and returns the seconds it says are left: the message is
/// `IP banned due to too many failed attempts. Try again in <Go duration>`.
pub(crate) fn ban_seconds_left(message: &str) -> u64 {
    let text = message
        .strip_prefix("IP banned due to too many failed attempts. Try again in ")
        .unwrap_or_else(|| panic!("not a ban message: {message}"));
    let (minutes, seconds) = match text.split_once('m') {
        Some((m, s)) => (m.parse::<u64>().unwrap(), s),
        None => (0, text),
    };
    minutes * 60 + seconds.trim_end_matches('s').parse::<u64>().unwrap()
}

/// A chat completion request for `model`.
pub(crate) fn chat(model: &str) -> Value {
    serde_json::json!({ "model": model, "messages": [{ "role": "user", "content": "Hello" }] })
}

/// An Anthropic Messages request for `model`.
pub(crate) fn messages(model: &str) -> Value {
    serde_json::json!({ "model": model, "max_tokens": 16, "messages": [{ "role": "user", "content": "Hello" }] })
}

/// A self-signed certificate for `localhost` and `127.0.0.1`, written as PEM files into a
/// temporary folder, for TLS tests.
pub(crate) struct SelfSigned {
    _dir: TempDir,
    /// The certificate file.
    pub cert: PathBuf,
    /// The certificate in PEM, to trust it in a client.
    pub cert_pem: String,
    /// The private key file.
    pub key: PathBuf,
}

impl SelfSigned {
    /// Generates and writes the pair.
    pub(crate) fn generate() -> SelfSigned {
        let dir = tempfile::tempdir().unwrap();
        let certified =
            rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()])
                .unwrap();
        let cert = dir.path().join("cert.pem");
        let key = dir.path().join("key.pem");
        std::fs::write(&cert, certified.cert.pem()).unwrap();
        std::fs::write(&key, certified.signing_key.serialize_pem()).unwrap();
        SelfSigned {
            _dir: dir,
            cert,
            cert_pem: certified.cert.pem(),
            key,
        }
    }

    /// The `tls:` block of a config that serves this pair.
    pub(crate) fn config(&self) -> String {
        format!(
            "tls:\n  enable: true\n  cert: {}\n  key: {}\n",
            self.cert.display(),
            self.key.display()
        )
    }

    /// The certificate as a root for a reqwest client.
    pub(crate) fn root(&self) -> reqwest::Certificate {
        reqwest::Certificate::from_pem(self.cert_pem.as_bytes()).unwrap()
    }
}

/// Runs the built `switchyard` with `args`: (exit code, stdout, stderr).
pub(crate) fn switchyard(args: &[&str]) -> (i32, String, String) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run switchyard");
    (
        output.status.code().expect("exited"),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The built `switchyard` binary, running, with its stderr lines read as they come; killed
/// when dropped.
pub(crate) struct Binary {
    child: std::process::Child,
    /// `http://127.0.0.1:PORT`, as the binary printed it.
    pub base: String,
    lines: std::sync::mpsc::Receiver<String>,
    /// Every stderr line read so far.
    pub seen: Vec<String>,
}

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Binary {
    /// Starts the binary on `config` (written to `dir/config.yaml`) with `args`, logging at
    /// `info` to a pipe, and waits until it listens.
    pub(crate) fn start(dir: &std::path::Path, config: &str, args: &[&str]) -> Binary {
        let path = dir.join("config.yaml");
        std::fs::write(&path, config).unwrap();
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_switchyard"))
            .arg("--config")
            .arg(&path)
            .args(args)
            .env("RUST_LOG", "info")
            .env_remove("NO_COLOR")
            .env_remove("MANAGEMENT_PASSWORD")
            .env_remove("SWITCHYARD_LOCAL_PASSWORD")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("switchyard starts");
        let stdout = child.stdout.take().unwrap();
        let stderr = child.stderr.take().unwrap();
        let (first_tx, first_rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let first = std::io::BufReader::new(stdout).lines().next();
            let _ = first_tx.send(first);
        });
        let (lines_tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if lines_tx.send(line).is_err() {
                    break;
                }
            }
        });
        let first = first_rx
            .recv_timeout(WAIT)
            .expect("listening within the deadline")
            .expect("a line")
            .unwrap();
        let base = first
            .strip_prefix("switchyard listening on ")
            .unwrap_or_else(|| panic!("{first}"))
            .to_owned();
        Binary {
            child,
            base,
            lines,
            seen: Vec::new(),
        }
    }

    /// Reads stderr until a line satisfies `done`; returns that line.
    pub(crate) fn wait_for_line(&mut self, what: &str, done: impl Fn(&str) -> bool) -> String {
        loop {
            let line = self.lines.recv_timeout(WAIT).unwrap_or_else(|_| {
                panic!(
                    "no log line {what} within the deadline; got:\n{}",
                    self.seen.join("\n")
                )
            });
            self.seen.push(line.clone());
            if done(&line) {
                return line;
            }
        }
    }
}

/// The compiled-component cache the library-level plugin tests share (under `target/`).
pub(crate) fn shared_plugin_cache() -> PathBuf {
    PathBuf::from(env!("SWITCHYARD_PLUGINS_TARGET_DIR")).join("test-cache")
}

/// A plugin host on `clock` with the embedded plugins and the test guests `installed`.
pub(crate) async fn plugin_host(
    clock: Arc<ManualClock>,
    installed: &[guests::Guest],
) -> switchyard::test_util::plugin::PluginHost {
    use switchyard::test_util::plugin::{HostOptions, PluginHost, PluginOrigin};
    let host = PluginHost::new(HostOptions {
        cache_dir: Some(shared_plugin_cache()),
        clock,
        ..HostOptions::default()
    })
    .unwrap();
    host.load_embedded().await.unwrap();
    for guest in installed {
        let plugin = host.load(guest.bytes(), PluginOrigin::Bytes).await.unwrap();
        assert!(host.install(plugin), "{} installs", guest.package);
    }
    host
}

/// A plugin instance config without limits of its own.
pub(crate) fn instance(
    name: &str,
    kind: &str,
    settings: serde_json::Value,
) -> switchyard::test_util::config::InstanceConfig {
    switchyard::test_util::config::InstanceConfig {
        name: name.to_owned(),
        kind: kind.to_owned(),
        settings,
        limits: None,
        on_fault: switchyard::test_util::config::OnFault::Deny,
    }
}

/// A `list` section (e.g. `claude-api-key`) with one entry per key, each on `base`.
pub(crate) fn provider_keys(list: &str, base: &str, keys: &[&str]) -> String {
    let mut yaml = format!("{list}:\n");
    for key in keys {
        yaml.push_str(&format!("  - api-key: {key}\n    base-url: {base}\n"));
    }
    yaml
}
