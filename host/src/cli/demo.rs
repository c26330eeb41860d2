//! `switchyard demo`: the mock upstream in-process with a few fake credentials, the proxy in
//! front of it, and ready-to-paste `curl` lines, so a newcomer sees it work with no account.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use switchyard_mock::MockUpstream;

use super::logging;
use crate::config::LogFormat;
use crate::{SdkError, Switchyard};

/// The client key the demo accepts.
pub(super) const DEMO_CLIENT_KEY: &str = "sk-switchyard-demo";

/// Why the demo did not start.
#[derive(Debug, thiserror::Error)]
pub(super) enum DemoError {
    /// The mock upstream did not start.
    #[error("cannot start the mock upstream: {0}")]
    Mock(std::io::Error),
    /// Writing the demo config failed.
    #[error("cannot write the demo config: {0}")]
    Write(std::io::Error),
    /// The proxy did not start (or the generated config is invalid, a bug).
    #[error(transparent)]
    Server(#[from] SdkError),
}

/// A running demo: the mock, the proxy, and the folder holding the generated config.
#[derive(Debug)]
pub(super) struct Demo {
    /// The mock upstream.
    pub mock: MockUpstream,
    /// The proxy, serving.
    pub server: Switchyard,
    /// Where the proxy listens.
    pub addr: SocketAddr,
    /// The generated `config.yaml` (edit it to see a hot reload).
    pub config_path: PathBuf,
    _dir: tempfile::TempDir,
}

impl Demo {
    /// Starts the mock and the proxy on `127.0.0.1:port` (0 picks a free port).
    pub(super) async fn start(port: u16) -> Result<Demo, DemoError> {
        let mock = MockUpstream::builder()
            .chunk_interval(Duration::from_millis(120))
            .chunks(8)
            .record_requests(false)
            .start()
            .await
            .map_err(DemoError::Mock)?;
        let dir = tempfile::Builder::new()
            .prefix("switchyard-demo-")
            .tempdir()
            .map_err(DemoError::Write)?;
        let config_path = dir.path().join("config.yaml");
        std::fs::write(&config_path, config_yaml(&mock.base_url(), port))
            .map_err(DemoError::Write)?;
        let server = Switchyard::builder()
            .config_file(&config_path)
            .build()
            .await?;
        let addr = server.listen().await?;
        Ok(Demo {
            mock,
            server,
            addr,
            config_path,
            _dir: dir,
        })
    }

    /// The lines printed for the user: what runs, and curl commands to paste.
    pub(super) fn instructions(&self) -> String {
        let base = format!("http://{}", self.addr);
        let key = DEMO_CLIENT_KEY;
        let credential = "| grep -i x-mock-credential";
        let messages = |session: &str, turns: &str| {
            format!(
                "curl -s -o /dev/null -D - {base}/v1/messages -H 'x-api-key: {key}'{session} -H 'content-type: application/json' -d '{{\"model\":\"claude-sonnet-4\",\"max_tokens\":64,\"messages\":[{turns}]}}' {credential}"
            )
        };
        let user = |text: &str| format!("{{\"role\":\"user\",\"content\":\"{text}\"}}");
        let assistant = |text: &str| format!("{{\"role\":\"assistant\",\"content\":\"{text}\"}}");
        let session = " -H 'x-session-id: demo-conversation-1'";
        let turn_1 = messages(session, &user("Plan a trip to Lisbon"));
        let turn_2 = messages(
            session,
            &[
                user("Plan a trip to Lisbon"),
                assistant("How many days?"),
                user("Three"),
            ]
            .join(","),
        );
        let other_a = messages("", &user("Explain tides"));
        let other_b = messages("", &user("Write a haiku"));
        format!(
            "switchyard demo: a mock upstream with 3 Claude, 2 OpenAI, 2 Gemini and 1 OpenAI-compatible fake credentials\n\
             config: {config} (edit it: the proxy reloads it live); session affinity is on\n\
             \n\
             # 1. a plain request (Anthropic Messages):\n\
             curl -s {base}/v1/messages -H 'x-api-key: {key}' -H 'content-type: application/json' -d '{{\"model\":\"claude-sonnet-4\",\"max_tokens\":64,\"messages\":[{{\"role\":\"user\",\"content\":\"Hello\"}}]}}'\n\
             \n\
             # 2. a streaming request (OpenAI chat completions):\n\
             curl -sN {base}/v1/chat/completions -H 'authorization: Bearer {key}' -H 'content-type: application/json' -d '{{\"model\":\"demo-llama\",\"stream\":true,\"messages\":[{{\"role\":\"user\",\"content\":\"Stream please\"}}]}}'\n\
             \n\
             # 3. which credential answered: run it again and the same one answers, because identical\n\
             #    messages hash to one session (change \"Hi\" and a new session may get another):\n\
             curl -s -o /dev/null -D - {base}/v1/responses -H 'authorization: Bearer {key}' -H 'content-type: application/json' -d '{{\"model\":\"gpt-5\",\"input\":[{{\"role\":\"user\",\"content\":\"Hi\"}}]}}' {credential}\n\
             \n\
             # 4. session affinity: two turns of one conversation (same X-Session-ID) show the same credential,\n\
             {turn_1}\n\
             {turn_2}\n\
             #    while two conversations with different first messages may show different ones:\n\
             {other_a}\n\
             {other_b}\n\
             \n\
             Ctrl-C stops the demo.",
            config = self.config_path.display(),
        )
    }

    /// Stops the proxy (gracefully) and the mock.
    pub(super) async fn shutdown(self) {
        self.server.shutdown().await;
        self.mock.shutdown().await;
    }
}

/// Runs the demo on `127.0.0.1:port` until a shutdown signal.
pub(super) async fn run(port: u16, log_format: Option<LogFormat>) -> Result<(), String> {
    logging::init(false, log_format.unwrap_or_default());
    let demo = Demo::start(port)
        .await
        .map_err(|e| format!("{e} (is port {port} taken? try `switchyard demo --port 0`)"))?;
    println!("switchyard listening on http://{}", demo.addr);
    println!("{}", demo.instructions());
    super::shutdown_signal().await;
    demo.shutdown().await;
    Ok(())
}

/// The demo's config: fake credentials on the mock, the demo client key, session affinity on,
/// headers passed through so the mock's `x-mock-credential` shows which credential answered.
fn config_yaml(mock: &str, port: u16) -> String {
    let mut yaml = format!(
        "host: 127.0.0.1\nport: {port}\napi-keys:\n  - {DEMO_CLIENT_KEY}\npassthrough-headers: true\n\
         routing:\n  session-affinity: true\n\
         streaming:\n  keepalive-seconds: 15\nclaude-api-key:\n"
    );
    for n in 1..=3 {
        yaml.push_str(&format!(
            "  - api-key: demo-claude-{n}\n    base-url: {mock}\n"
        ));
    }
    yaml.push_str("codex-api-key:\n");
    for n in 1..=2 {
        yaml.push_str(&format!(
            "  - api-key: demo-openai-{n}\n    base-url: {mock}/v1\n"
        ));
    }
    yaml.push_str("gemini-api-key:\n");
    for n in 1..=2 {
        yaml.push_str(&format!(
            "  - api-key: demo-gemini-{n}\n    base-url: {mock}\n"
        ));
    }
    yaml.push_str(&format!(
        "openai-compatibility:\n  - name: demo-compat\n    base-url: {mock}/v1\n    api-key-entries:\n      - api-key: demo-compat-1\n    models:\n      - name: llama-3.3-70b\n        alias: demo-llama\n"
    ));
    yaml
}
