//! The official Python SDKs — `openai`, `anthropic`, `google-genai`, at the versions pinned in
//! `tests/e2e/sdk_clients/requirements.txt` — against a switchyard in front of the mock:
//!
//! - `tests/e2e/sdk_clients/clients.py` makes each call a user would on a model of the SDK's
//!   own protocol (chat plain, streamed and with a tool call; Responses; Messages with the
//!   stream helper and count_tokens; Gemini with the SDK's default API version and `v1beta`;
//!   model listing and retrieval; a wrong key) and checks what the SDK returns or raises;
//! - `tests/e2e/sdk_clients/translated.py` makes them on models of another protocol, which
//!   switchyard translates: tool calls streamed and not (through the SDKs' stream helpers),
//!   two-turn tool conversations, thinking, token counts (upstream or estimated), an upstream
//!   400 raised as each SDK's own error;
//! - the scripts in `translate/tests/sdk/` validate the golden translation fixtures' client
//!   outputs (`tests/fixtures/translation/<client>-to-*/`) with the SDKs' own types.
//!
//! The SDKs live in a virtual environment `.ci/run` makes (`target/sdk-venv`, or the Python
//! named by `SWITCHYARD_SDK_PYTHON`). Without it the tests fail and say how to make it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use switchyard_mock::{Fault, MockUpstream};

use crate::harness::Proxy;
use crate::polyglot::toolchain::repo;

/// The client key the script uses (a wrong one must fail).
const CLIENT_KEY: &str = "sk-sdk-test";

/// How long the whole script may take (each SDK call has its own 30 s deadline).
const SCRIPT_DEADLINE: Duration = Duration::from_secs(240);

/// The calls `clients.py` makes, each reported as `ok SDK CALL`.
const CALLS: usize = 22;

/// The calls `translated.py` makes, each reported as `ok SDK CALL`.
const TRANSLATED_CALLS: usize = 21;

/// The upstream key of the model whose upstream answers every request with a 400.
const FAULTY_KEY: &str = "sdk-faulty-1";

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

/// A config like the demo's: every provider kind on the mock, one client key; and an
/// OpenAI-compatible model `broken-llama` on its own key, [`FAULTY_KEY`].
fn config(mock: &str) -> String {
    format!(
        "api-keys: [{CLIENT_KEY}]\n\
         claude-api-key:\n  - api-key: sdk-claude\n    base-url: {mock}\n\
         codex-api-key:\n  - api-key: sdk-openai\n    base-url: {mock}/v1\n\
         gemini-api-key:\n  - api-key: sdk-gemini\n    base-url: {mock}\n\
         openai-compatibility:\n  - name: sdk-compat\n    base-url: {mock}/v1\n    \
         api-key-entries:\n      - api-key: sdk-compat-1\n    models:\n      \
         - name: llama-3.3-70b\n        alias: demo-llama\n  \
         - name: sdk-faulty\n    base-url: {mock}/v1\n    \
         api-key-entries:\n      - api-key: {FAULTY_KEY}\n    models:\n      \
         - name: broken-llama\n"
    )
}

/// Runs a Python script with `args`, killed after [`SCRIPT_DEADLINE`].
fn run_python(python: &Path, script: &Path, args: &[&str]) -> Output {
    let child = Command::new(python)
        .arg(script)
        .args(args)
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
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let pid = child.id();
    std::thread::spawn(move || {
        let _ = done_tx.send(child.wait_with_output());
    });
    match done_rx.recv_timeout(SCRIPT_DEADLINE) {
        Ok(output) => output.expect("the script's output"),
        Err(_) => {
            let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
            panic!("{} did not finish in {SCRIPT_DEADLINE:?}", script.display());
        }
    }
}

/// Runs an SDK script against the proxy and checks it reported `calls` calls, all ok.
async fn run_sdk_script(name: &str, proxy: &Proxy, calls: usize) {
    let python = sdk_python();
    let script = repo().join("tests/e2e/sdk_clients").join(name);
    let url = proxy.url("");
    let output =
        tokio::task::spawn_blocking(move || run_python(&python, &script, &[&url, CLIENT_KEY]))
            .await
            .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let report = format!("stdout:\n{stdout}\nstderr:\n{stderr}");
    let ok = stdout.lines().filter(|l| l.starts_with("ok ")).count();
    let failed: Vec<&str> = stdout.lines().filter(|l| l.starts_with("FAIL ")).collect();
    assert!(
        failed.is_empty() && output.status.success(),
        "{name}: SDK calls failed ({}):\n{}\n\n{report}",
        output.status,
        failed.join("\n")
    );
    assert_eq!(ok, calls, "{name}: every call reported ok\n{report}");
    assert!(
        stdout.contains(&format!("{calls} passed, 0 failed")),
        "{report}"
    );
}

/// The SDKs on models of their own protocol: every call a user would make works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_official_python_sdks_work_through_switchyard() {
    let mock = MockUpstream::start().await.unwrap();
    let proxy = Proxy::start(&config(&mock.base_url())).await;
    run_sdk_script("clients.py", &proxy, CALLS).await;
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

/// The SDKs on models of another protocol: every call is translated both ways, and the
/// upstream saw its own protocol.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_official_python_sdks_work_on_models_of_other_protocols() {
    let mock = MockUpstream::start().await.unwrap();
    mock.set_fault(FAULTY_KEY, Fault::status(400));
    let proxy = Proxy::start(&config(&mock.base_url())).await;
    run_sdk_script("translated.py", &proxy, TRANSLATED_CALLS).await;
    let requests = mock.requests();
    let reached = |path: &str, key: &str| {
        requests
            .iter()
            .any(|r| r.path == path && r.credential.as_deref() == Some(key))
    };
    let paths: Vec<&str> = requests.iter().map(|r| r.path.as_str()).collect();
    for (path, key) in [
        // Anthropic SDK on the OpenAI-compatible model; the 400 came from upstream.
        ("/v1/chat/completions", "sdk-compat-1"),
        ("/v1/chat/completions", FAULTY_KEY),
        // Anthropic SDK and OpenAI Responses on Gemini.
        (
            "/v1beta/models/gemini-2.5-flash:streamGenerateContent",
            "sdk-gemini",
        ),
        (
            "/v1beta/models/gemini-2.5-flash:generateContent",
            "sdk-gemini",
        ),
        // OpenAI and google-genai on Claude; google-genai's countTokens went upstream.
        ("/v1/messages", "sdk-claude"),
        ("/v1/messages/count_tokens", "sdk-claude"),
    ] {
        assert!(reached(path, key), "{path} via {key}: {paths:?}");
    }
    // The Anthropic count on the chat model was estimated: no chat upstream counts tokens.
    assert!(
        !paths.iter().any(|p| p.contains("count")
            && !p.ends_with(":countTokens")
            && *p != "/v1/messages/count_tokens"),
        "{paths:?}"
    );
    // The second turn of the tool conversation reached the chat upstream as a `tool` message
    // answering the call the first turn made.
    let second_turn = requests
        .iter()
        .filter(|r| r.path == "/v1/chat/completions")
        .filter_map(|r| serde_json::from_slice::<serde_json::Value>(&r.body).ok())
        .find(|body| {
            body["messages"]
                .as_array()
                .is_some_and(|m| m.iter().any(|m| m["role"] == "tool"))
        })
        .expect("the tool result reached the chat upstream");
    let messages = second_turn["messages"].as_array().unwrap();
    let call_id = messages
        .iter()
        .find_map(|m| m["tool_calls"][0]["id"].as_str())
        .expect("the assistant's call replayed");
    let tool = messages.iter().find(|m| m["role"] == "tool").unwrap();
    assert_eq!(tool["tool_call_id"], call_id, "{second_turn}");
    proxy.shutdown().await;
}

/// The fixture scripts of `translate/tests/sdk/`, by the client protocol whose outputs each
/// validates (the `<client>` of `tests/fixtures/translation/<client>-to-<upstream>/`).
const CORPUS_SCRIPTS: [(&str, &str); 4] = [
    ("chat", "check_chat_client.py"),
    ("responses", "check_responses.py"),
    ("claude", "claude_client.py"),
    ("gemini", "check_gemini_client.py"),
];

/// The golden translation outputs form a corpus the SDKs' own types validate: every fixture
/// folder's client has a script, every script runs, and each must exit 0.
#[test]
fn the_golden_corpus_validates_with_the_sdk_types() {
    let python = sdk_python();
    let scripts = repo().join("translate/tests/sdk");
    // Every script is in the table (none is left unrun)…
    for entry in std::fs::read_dir(&scripts).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".py") {
            assert!(
                CORPUS_SCRIPTS.iter().any(|(_, script)| *script == name),
                "translate/tests/sdk/{name} is not in CORPUS_SCRIPTS"
            );
        }
    }
    // …and every fixture folder's client outputs are validated by one.
    let fixtures = repo().join("tests/fixtures/translation");
    let mut folders = 0;
    for entry in std::fs::read_dir(&fixtures).unwrap().flatten() {
        if !entry.path().is_dir() {
            continue;
        }
        let folder = entry.file_name().to_string_lossy().into_owned();
        let client = folder.split("-to-").next().unwrap_or_default();
        assert!(
            CORPUS_SCRIPTS.iter().any(|(c, _)| *c == client),
            "no SDK script validates the client outputs of tests/fixtures/translation/{folder}"
        );
        folders += 1;
    }
    assert!(folders > 0, "no fixture folders in {}", fixtures.display());
    let mut failed = Vec::new();
    for (_, name) in CORPUS_SCRIPTS {
        let output = run_python(&python, &scripts.join(name), &[]);
        if !output.status.success() {
            failed.push(format!(
                "translate/tests/sdk/{name} failed ({}):\nstdout:\n{}\nstderr:\n{}",
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ));
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n\n"));
}
