//! Golden translation fixtures: `tests/fixtures/translation/<client>-to-<upstream>/*.json`.
//!
//! Each fixture is one JSON object:
//!
//! ```json
//! {
//!   "about": "what it shows, and the spec section it comes from",
//!   "kind": "request" | "response" | "stream",
//!   "options": {"upstream_model": "m", "thinking": "high", "client_model": "m",
//!               "include_usage": true, "gemini_sse": true},
//!   "client_request": { … },
//!   "input": …,
//!   "expected": …
//! }
//! ```
//!
//! - `request`: `input` is the client's body, `expected` the upstream's body, or
//!   `{"error": {"status": 400, "field": "…"}}` for a refused request.
//! - `response`: `input` is the upstream's whole answer, `expected` the client's.
//! - `stream`: `input` is the upstream's SSE frames (each `{"event"?: name, "data": json or
//!   "[DONE]"}`), `expected` the client's frames in the same form; for a Gemini client without
//!   `gemini_sse`, `expected` is the JSON array the client reads. When the translation fails
//!   the stream (an upstream error event, a cut-off stream), the frames written before are
//!   followed by `{"stream_error": {"status", "message"}}`: the proxy then ends the client's
//!   stream with its protocol's error event.
//!
//! For `response` and `stream`, `client_request` (default `{"model": "m",
//! "messages": [{"role": "user", "content": "hi"}]}` in the client's protocol, see
//! [`default_request`]) is translated first so that tool names map back as they would.
//! Ids and timestamps the translation invents come from a fixed client view: id `req_1`,
//! created `1700000000`. Set `SWITCHYARD_BLESS=1` to write the actual output as `expected`
//! (then read every change before committing it).

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use switchyard_translate::ir::Thinking;
use switchyard_translate::{ClientView, Format, RequestOptions, translate_request};

fn format(name: &str) -> Format {
    match name {
        "chat" => Format::Chat,
        "responses" => Format::Responses,
        "claude" => Format::Claude,
        "gemini" => Format::Gemini,
        other => panic!("unknown protocol {other:?} in a fixture folder name"),
    }
}

/// The smallest request of each protocol.
fn default_request(client: Format) -> Value {
    match client {
        Format::Chat => json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]}),
        Format::Responses => json!({"model": "m", "input": "hi"}),
        Format::Claude => {
            json!({"model": "m", "max_tokens": 100, "messages": [{"role": "user", "content": "hi"}]})
        }
        Format::Gemini => json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}),
    }
}

fn fixtures_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/translation")
}

/// Every fixture file, sorted.
fn fixtures() -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(dirs) = std::fs::read_dir(fixtures_root()) else {
        return out;
    };
    for dir in dirs.flatten() {
        if !dir.path().is_dir() {
            continue;
        }
        for file in std::fs::read_dir(dir.path()).unwrap().flatten() {
            if file.path().extension().is_some_and(|e| e == "json") {
                out.push(file.path());
            }
        }
    }
    out.sort();
    out
}

fn options<'a>(fixture: &'a Value, client: Format) -> RequestOptions<'a> {
    let o = &fixture["options"];
    let client_model = o["client_model"].as_str().unwrap_or("m").to_owned();
    RequestOptions {
        upstream_model: o["upstream_model"].as_str().unwrap_or("m"),
        thinking: o["thinking"]
            .as_str()
            .map(|t| Thinking::from_suffix(t).expect("thinking")),
        stream: o["stream"].as_bool(),
        client: ClientView {
            model: client_model,
            id: "req_1".to_owned(),
            created: 1_700_000_000,
            include_usage: o["include_usage"].as_bool().unwrap_or(false),
            gemini_sse: o["gemini_sse"]
                .as_bool()
                .unwrap_or(client != Format::Gemini),
            estimated_input_tokens: 0,
            ..ClientView::default()
        },
    }
}

fn frames_to_bytes(frames: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    for frame in frames
        .as_array()
        .expect("stream input is an array of frames")
    {
        if let Some(event) = frame["event"].as_str() {
            out.extend_from_slice(format!("event: {event}\n").as_bytes());
        }
        let data = match &frame["data"] {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        };
        out.extend_from_slice(format!("data: {data}\n\n").as_bytes());
    }
    out
}

fn bytes_to_frames(bytes: &[u8]) -> Value {
    let mut reader = switchyard_translate::sse::SseReader::new(usize::MAX);
    let mut frames = Vec::new();
    reader.push(bytes, &mut frames).unwrap();
    reader.finish(&mut frames);
    Value::Array(
        frames
            .into_iter()
            .map(|f| {
                let data = serde_json::from_str(&f.data).unwrap_or(Value::String(f.data));
                match f.event {
                    Some(event) => json!({"event": event, "data": data}),
                    None => json!({"data": data}),
                }
            })
            .collect(),
    )
}

/// Runs one fixture and returns what the translation produced.
fn run(path: &Path, fixture: &Value) -> Value {
    let dir = path
        .parent()
        .unwrap()
        .file_name()
        .unwrap()
        .to_str()
        .unwrap();
    let (client, upstream) = dir
        .split_once("-to-")
        .expect("folder <client>-to-<upstream>");
    let (client, upstream) = (format(client), format(upstream));
    let options = options(fixture, client);
    match fixture["kind"].as_str().expect("kind") {
        "request" => {
            let body = fixture["input"].to_string();
            match translate_request(client, upstream, body.as_bytes(), options) {
                Ok(translated) => serde_json::from_slice(&translated.body).unwrap(),
                Err(error) => {
                    let field = match &error {
                        switchyard_translate::TranslateError::Unsupported { field, .. } => {
                            json!(field)
                        }
                        _ => Value::Null,
                    };
                    json!({"error": {"status": error.status(), "field": field}})
                }
            }
        }
        kind @ ("response" | "stream") => {
            let request = match &fixture["client_request"] {
                Value::Null => default_request(client),
                given => given.clone(),
            };
            let translated =
                translate_request(client, upstream, request.to_string().as_bytes(), options)
                    .expect("client_request translates");
            let exchange = translated.exchange;
            if kind == "response" {
                let body = fixture["input"].to_string();
                let out = exchange
                    .response(body.as_bytes())
                    .expect("response translates");
                serde_json::from_slice(&out).unwrap()
            } else {
                let mut stream = exchange.stream(1 << 20);
                let mut out = Vec::new();
                // Byte by byte: a translation must not depend on where chunks split.
                let mut failed = None;
                for byte in frames_to_bytes(&fixture["input"]) {
                    if let Err(error) = stream.push(&[byte], &mut out) {
                        failed = Some(error);
                        break;
                    }
                }
                if failed.is_none() {
                    failed = stream.finish(&mut out).err();
                }
                let gemini_array = client == Format::Gemini
                    && !fixture["options"]["gemini_sse"].as_bool().unwrap_or(false);
                let mut frames = if gemini_array && failed.is_none() {
                    serde_json::from_slice(&out).expect("a JSON array")
                } else if gemini_array {
                    json!([{"partial": String::from_utf8_lossy(&out)}])
                } else {
                    bytes_to_frames(&out)
                };
                if let Some(error) = failed {
                    frames.as_array_mut().unwrap().push(json!({"stream_error": {
                        "status": error.status(),
                        "message": error.to_string(),
                    }}));
                }
                frames
            }
        }
        other => panic!("unknown kind {other:?}"),
    }
}

#[test]
fn golden_fixtures() {
    let bless = std::env::var_os("SWITCHYARD_BLESS").is_some();
    let mut failures = Vec::new();
    let all = fixtures();
    for path in &all {
        let text = std::fs::read_to_string(path).unwrap();
        let mut fixture: Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let actual = run(path, &fixture);
        if actual != fixture["expected"] {
            if bless {
                fixture["expected"] = actual;
                let text = serde_json::to_string_pretty(&fixture).unwrap() + "\n";
                std::fs::write(path, text).unwrap();
            } else {
                failures.push(format!(
                    "{}\n  expected: {}\n  actual:   {}",
                    path.display(),
                    fixture["expected"],
                    actual
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} fixtures differ:\n{}",
        failures.len(),
        all.len(),
        failures.join("\n")
    );
}
