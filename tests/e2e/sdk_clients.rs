//! The official Python SDKs — `openai`, `anthropic`, `google-genai`, at the versions pinned in
//! `tests/e2e/sdk_clients/requirements.txt` — against a switchyard in front of the mock: the
//! script `tests/e2e/sdk_clients/clients.py` makes each call a user would (chat plain, streamed
//! and with a tool call; Responses; Messages with the stream helper and count_tokens; Gemini
//! with the SDK's default API version and `v1beta`; model listing and retrieval; a wrong key)
//! and checks what the SDK returns or raises.
//!
//! The SDKs live in a virtual environment `.ci/run` makes (`target/sdk-venv`, or the Python
//! named by `SWITCHYARD_SDK_PYTHON`). Without it the test fails and says how to make it.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use switchyard_mock::MockUpstream;

use crate::harness::Proxy;
use crate::polyglot::toolchain::repo;

/// The client key the script uses (a wrong one must fail).
const CLIENT_KEY: &str = "sk-sdk-test";

/// How long the whole script may take (each SDK call has its own 30 s deadline).
const SCRIPT_DEADLINE: Duration = Duration::from_secs(240);

/// The calls the script makes, each reported as `ok SDK CALL`.
const CALLS: usize = 22;

/// The Python with the pinned SDKs.
fn sdk_python() -> PathBuf {
    let python = std::env::var_os("SWITCHYARD_SDK_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("target/sdk-venv/bin/python"));
    assert!(
        python.is_file(),
        "the SDK test's Python ({}) is missing: run `.ci/run`, or make it by hand with \
         `python3 -m venv target/sdk-venv && target/sdk-venv/bin/pip install -r \
         tests/e2e/sdk_clients/requirements.txt` (or set SWITCHYARD_SDK_PYTHON to a Python \
         that has those packages)",
        python.display()
    );
    python
}

/// A config like the demo's: every provider kind on the mock, one client key.
fn config(mock: &str) -> String {
    format!(
        "api-keys: [{CLIENT_KEY}]\n\
         claude-api-key:\n  - api-key: sdk-claude\n    base-url: {mock}\n\
         codex-api-key:\n  - api-key: sdk-openai\n    base-url: {mock}/v1\n\
         gemini-api-key:\n  - api-key: sdk-gemini\n    base-url: {mock}\n\
         openai-compatibility:\n  - name: sdk-compat\n    base-url: {mock}/v1\n    \
         api-key-entries:\n      - api-key: sdk-compat-1\n    models:\n      \
         - name: llama-3.3-70b\n        alias: demo-llama\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_official_python_sdks_work_through_switchyard() {
    let python = sdk_python();
    let mock = MockUpstream::start().await.unwrap();
    let proxy = Proxy::start(&config(&mock.base_url())).await;
    let script = repo().join("tests/e2e/sdk_clients/clients.py");
    let child = Command::new(&python)
        .arg(&script)
        .arg(proxy.url(""))
        .arg(CLIENT_KEY)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("PYTHONUNBUFFERED", "1")
        // The SDKs must talk to the proxy on loopback, never through a configured proxy.
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env_remove("HTTP_PROXY")
        .env_remove("HTTPS_PROXY")
        .env_remove("ALL_PROXY")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
    let pid = child.id();
    let waited = tokio::time::timeout(
        SCRIPT_DEADLINE,
        tokio::task::spawn_blocking(move || child.wait_with_output()),
    )
    .await;
    let output = match waited {
        Ok(joined) => joined.unwrap().expect("the script's output"),
        Err(_) => {
            let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
            panic!("the SDK script did not finish in {SCRIPT_DEADLINE:?}");
        }
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let report = format!("stdout:\n{stdout}\nstderr:\n{stderr}");
    let ok = stdout.lines().filter(|l| l.starts_with("ok ")).count();
    let failed: Vec<&str> = stdout.lines().filter(|l| l.starts_with("FAIL ")).collect();
    assert!(
        failed.is_empty() && output.status.success(),
        "SDK calls failed ({}):\n{}\n\n{report}",
        output.status,
        failed.join("\n")
    );
    assert_eq!(ok, CALLS, "every call reported ok\n{report}");
    assert!(
        stdout.contains(&format!("{CALLS} passed, 0 failed")),
        "{report}"
    );
    // The calls went through the proxy to the mock, on each upstream protocol.
    let paths: Vec<String> = mock.requests().into_iter().map(|r| r.path).collect();
    for path in [
        "/v1/chat/completions",
        "/v1/responses",
        "/v1/messages",
        "/v1/messages/count_tokens",
        "/v1beta/models/gemini-2.5-flash:generateContent",
        "/v1beta/models/gemini-2.5-flash:streamGenerateContent",
        "/v1beta/models/gemini-2.5-flash:countTokens",
    ] {
        assert!(
            paths.iter().any(|p| p == path),
            "{path} reached the mock: {paths:?}"
        );
    }
    proxy.shutdown().await;
}
