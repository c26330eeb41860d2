//! The mock's answers, streamed and not, parsed by the official SDKs' own types (pydantic
//! `model_validate`). Runs when `SWITCHYARD_SDK_PYTHON` names a Python with `openai`,
//! `anthropic` and `google-genai` installed; skipped (with a note) otherwise.

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::{Value, json};
use switchyard_mock::MockUpstream;

use crate::support::{json_of, mock, parse_sse, post, read_stream};

/// Validates each `[kind, payload]` pair with the SDK type for `kind`; prints what failed.
const VALIDATOR: &str = r#"
import json, sys, typing
from pydantic import TypeAdapter
import anthropic.types as A
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from openai.types.responses import Response, ResponseStreamEvent
from google.genai import types as G
kinds = {
    "anthropic": A.Message,
    "anthropic_event": TypeAdapter(A.RawMessageStreamEvent),
    "chat": ChatCompletion,
    "chat_chunk": ChatCompletionChunk,
    "responses": Response,
    # Each Responses event by the class its `type` names (the union's own errors are noise).
    **{"responses_event " + typing.get_args(event.model_fields["type"].annotation)[0]: event
       for event in typing.get_args(typing.get_args(ResponseStreamEvent)[0])},
    "gemini": G.GenerateContentResponse,
}
failed = 0
for kind, payload in json.load(sys.stdin):
    if kind == "anthropic_event" and payload["type"] == "ping":
        continue  # not part of the SDK's event union; its stream skips it
    if kind == "responses_event":
        kind += " " + payload["type"]
    validator = kinds[kind]
    try:
        if isinstance(validator, TypeAdapter):
            validator.validate_python(payload)
        else:
            validator.model_validate(payload)
    except Exception as error:
        failed += 1
        print(kind, json.dumps(payload), error, sep="\n")
print("validated", flush=True)
sys.exit(1 if failed else 0)
"#;

/// A body for each protocol in three flavours: text, a tool call, thinking.
fn bodies() -> Vec<(&'static str, &'static str, Value)> {
    let mut cases = Vec::new();
    let user = "weather in Oslo?";
    for (chat, responses, anthropic, gemini) in [
        (json!({}), json!({}), json!({}), json!({})),
        (
            json!({"tools": [{"type": "function", "function": {"name": "get_weather",
                "parameters": {"type": "object"}}}]}),
            json!({"tools": [{"type": "function", "name": "get_weather",
                "parameters": {"type": "object"}}]}),
            json!({"tools": [{"name": "get_weather", "input_schema": {"type": "object"}}]}),
            json!({"tools": [{"functionDeclarations": [{"name": "get_weather"}]}]}),
        ),
        (
            json!({"reasoning_effort": "low"}),
            json!({"reasoning": {"effort": "low"}}),
            json!({"thinking": {"type": "enabled", "budget_tokens": 1024}}),
            json!({"generationConfig": {"thinkingConfig": {"includeThoughts": true}}}),
        ),
    ] {
        let merge = |mut base: Value, extra: Value| {
            for (name, value) in extra.as_object().unwrap() {
                base[name] = value.clone();
            }
            base
        };
        cases.push((
            "chat",
            "/v1/chat/completions",
            merge(
                json!({"model": "m", "messages": [{"role": "user", "content": user}],
                    "stream_options": {"include_usage": true}}),
                chat,
            ),
        ));
        cases.push((
            "responses",
            "/v1/responses",
            merge(json!({"model": "m", "input": user}), responses),
        ));
        cases.push((
            "anthropic",
            "/v1/messages",
            merge(
                json!({"model": "m", "max_tokens": 2048,
                    "messages": [{"role": "user", "content": user}]}),
                anthropic,
            ),
        ));
        cases.push((
            "gemini",
            "/v1beta/models/m:generateContent",
            merge(
                json!({"contents": [{"role": "user", "parts": [{"text": user}]}]}),
                gemini,
            ),
        ));
    }
    cases
}

/// Every answer of [`bodies`], whole and streamed, as `[kind, payload]` pairs.
async fn payloads(mock: &MockUpstream) -> Vec<Value> {
    let mut payloads = Vec::new();
    for (kind, path, body) in bodies() {
        let response = post(mock, path, "key-s", &body).await;
        assert_eq!(response.status(), 200, "{body}");
        payloads.push(json!([kind, json_of::<Value>(response).await]));
        let (path, event_kind) = match kind {
            "gemini" => (
                "/v1beta/models/m:streamGenerateContent?alt=sse".to_owned(),
                "gemini",
            ),
            "chat" => (path.to_owned(), "chat_chunk"),
            "responses" => (path.to_owned(), "responses_event"),
            _ => (path.to_owned(), "anthropic_event"),
        };
        let mut streamed = body.clone();
        if kind != "gemini" {
            streamed["stream"] = json!(true);
        }
        let (text, aborted) = read_stream(post(mock, &path, "key-s", &streamed).await).await;
        assert!(!aborted);
        for event in parse_sse(&text) {
            if event.data != "[DONE]" {
                payloads.push(json!([event_kind, event.json()]));
            }
        }
    }
    payloads
}

#[tokio::test]
async fn sdk_types_accept_every_answer_and_event() {
    let Some(python) = std::env::var_os("SWITCHYARD_SDK_PYTHON") else {
        eprintln!("SWITCHYARD_SDK_PYTHON is not set: the SDK type check is skipped");
        return;
    };
    let mock = mock().await;
    let payloads = payloads(&mock).await;
    assert!(payloads.len() > 50);
    let mut child = Command::new(python)
        .args(["-c", VALIDATOR])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting the SDK Python");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(Value::from(payloads).to_string().as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("validated"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
