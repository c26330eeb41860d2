//! Translation between the four protocols, end to end: every client protocol on every upstream
//! kind, streamed and not, with a tool call, through a switchyard in front of the mock; what
//! the upstream received is checked to be its own protocol; errors come in the client's shape;
//! token counts go upstream or are estimated; same-protocol credentials are preferred.

use serde_json::{Value, json};
use switchyard_mock::{Fault, MockUpstream};

use crate::harness::{Proxy, Reply};

/// The client protocols.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Client {
    Chat,
    Responses,
    Claude,
    Gemini,
}

const CLIENTS: [Client; 4] = [
    Client::Chat,
    Client::Responses,
    Client::Claude,
    Client::Gemini,
];

/// One upstream kind: a model it serves, its key, and the path the mock must see.
struct Upstream {
    model: &'static str,
    key: &'static str,
    path: &'static str,
}

const UPSTREAMS: [Upstream; 4] = [
    Upstream {
        model: "claude-sonnet-4",
        key: "claude-key",
        path: "/v1/messages",
    },
    Upstream {
        model: "gpt-5",
        key: "codex-key",
        path: "/v1/responses",
    },
    Upstream {
        model: "gemini-2.5-pro",
        key: "gemini-key",
        path: "/v1beta/models/gemini-2.5-pro:",
    },
    Upstream {
        model: "llama-3",
        key: "compat-key",
        path: "/v1/chat/completions",
    },
];

fn config(base: &str) -> String {
    format!(
        "claude-api-key:\n  - api-key: claude-key\n    base-url: {base}\n\
         gemini-api-key:\n  - api-key: gemini-key\n    base-url: {base}\n\
         codex-api-key:\n  - api-key: codex-key\n    base-url: {base}/v1\n\
         openai-compatibility:\n  - name: compat\n    base-url: {base}/v1\n    api-key-entries:\n      - api-key: compat-key\n    models:\n      - name: llama-3\n"
    )
}

/// The tool every request declares.
fn tool_schema() -> Value {
    json!({"type": "object", "properties": {"reply": {"type": "string"}}, "required": ["reply"]})
}

impl Client {
    /// The path and body of a request for `model`, with a tool when `tool`.
    fn request(self, model: &str, stream: bool, tool: bool) -> (String, Value) {
        match self {
            Client::Chat => {
                let mut body = json!({
                    "model": model,
                    "messages": [{"role": "system", "content": "Be brief."},
                                 {"role": "user", "content": "Say hello"}],
                    "stream": stream,
                });
                if stream {
                    body["stream_options"] = json!({"include_usage": true});
                }
                if tool {
                    body["tools"] = json!([{"type": "function", "function": {
                        "name": "answer", "description": "Answer", "parameters": tool_schema()}}]);
                }
                ("/v1/chat/completions".into(), body)
            }
            Client::Responses => {
                let mut body = json!({
                    "model": model, "instructions": "Be brief.", "input": "Say hello",
                    "stream": stream,
                });
                if tool {
                    body["tools"] = json!([{"type": "function", "name": "answer",
                        "description": "Answer", "parameters": tool_schema()}]);
                }
                ("/v1/responses".into(), body)
            }
            Client::Claude => {
                let mut body = json!({
                    "model": model, "max_tokens": 256, "system": "Be brief.",
                    "messages": [{"role": "user", "content": "Say hello"}],
                    "stream": stream,
                });
                if tool {
                    body["tools"] = json!([{"name": "answer", "description": "Answer",
                        "input_schema": tool_schema()}]);
                }
                ("/v1/messages".into(), body)
            }
            Client::Gemini => {
                let mut body = json!({
                    "systemInstruction": {"parts": [{"text": "Be brief."}]},
                    "contents": [{"role": "user", "parts": [{"text": "Say hello"}]}],
                });
                if tool {
                    body["tools"] = json!([{"functionDeclarations": [{"name": "answer",
                        "description": "Answer", "parameters": tool_schema()}]}]);
                }
                let path = if stream {
                    format!("/v1beta/models/{model}:streamGenerateContent?alt=sse")
                } else {
                    format!("/v1beta/models/{model}:generateContent")
                };
                (path, body)
            }
        }
    }

    /// The text, tool calls (name, arguments) and usage (input, output) of an answer.
    fn read(self, reply: &Reply, stream: bool) -> Answer {
        if stream {
            self.read_stream(&reply.text())
        } else {
            self.read_whole(&reply.json())
        }
    }

    fn read_whole(self, body: &Value) -> Answer {
        let mut answer = Answer::default();
        match self {
            Client::Chat => {
                assert_eq!(body["object"], "chat.completion", "{body}");
                let message = &body["choices"][0]["message"];
                answer.text = message["content"].as_str().unwrap_or_default().to_owned();
                for call in message["tool_calls"].as_array().into_iter().flatten() {
                    answer.call(
                        &call["function"]["name"],
                        call["function"]["arguments"].as_str(),
                    );
                }
                answer.usage(
                    &body["usage"]["prompt_tokens"],
                    &body["usage"]["completion_tokens"],
                );
                answer.finish = body["choices"][0]["finish_reason"]
                    .as_str()
                    .map(str::to_owned);
            }
            Client::Responses => {
                assert_eq!(body["object"], "response", "{body}");
                for item in body["output"].as_array().into_iter().flatten() {
                    match item["type"].as_str() {
                        Some("message") => {
                            for part in item["content"].as_array().into_iter().flatten() {
                                answer
                                    .text
                                    .push_str(part["text"].as_str().unwrap_or_default());
                            }
                        }
                        Some("function_call") => {
                            answer.call(&item["name"], item["arguments"].as_str())
                        }
                        _ => {}
                    }
                }
                answer.usage(
                    &body["usage"]["input_tokens"],
                    &body["usage"]["output_tokens"],
                );
                answer.finish = body["status"].as_str().map(str::to_owned);
            }
            Client::Claude => {
                assert_eq!(body["type"], "message", "{body}");
                for block in body["content"].as_array().into_iter().flatten() {
                    match block["type"].as_str() {
                        Some("text") => answer.text.push_str(block["text"].as_str().unwrap()),
                        Some("tool_use") => {
                            answer.call(&block["name"], Some(&block["input"].to_string()))
                        }
                        _ => {}
                    }
                }
                answer.usage(
                    &body["usage"]["input_tokens"],
                    &body["usage"]["output_tokens"],
                );
                answer.finish = body["stop_reason"].as_str().map(str::to_owned);
            }
            Client::Gemini => {
                let candidate = &body["candidates"][0];
                for part in candidate["content"]["parts"]
                    .as_array()
                    .into_iter()
                    .flatten()
                {
                    if let Some(text) = part["text"].as_str()
                        && part["thought"] != true
                    {
                        answer.text.push_str(text);
                    }
                    if let Some(call) = part.get("functionCall") {
                        answer.call(&call["name"], Some(&call["args"].to_string()));
                    }
                }
                answer.usage(
                    &body["usageMetadata"]["promptTokenCount"],
                    &body["usageMetadata"]["candidatesTokenCount"],
                );
                answer.finish = candidate["finishReason"].as_str().map(str::to_owned);
            }
        }
        answer
    }

    fn read_stream(self, text: &str) -> Answer {
        let events = sse_events(text);
        let mut answer = Answer::default();
        match self {
            Client::Chat => {
                assert_eq!(
                    events.last().map(|e| e.1.as_str()),
                    Some("[DONE]"),
                    "{text}"
                );
                let mut calls: Vec<(String, String)> = Vec::new();
                for (_, data) in &events[..events.len() - 1] {
                    let chunk: Value = serde_json::from_str(data).unwrap();
                    assert_eq!(chunk["object"], "chat.completion.chunk", "{chunk}");
                    if let Some(choice) = chunk["choices"].get(0) {
                        let delta = &choice["delta"];
                        answer
                            .text
                            .push_str(delta["content"].as_str().unwrap_or_default());
                        for call in delta["tool_calls"].as_array().into_iter().flatten() {
                            let index = call["index"].as_u64().unwrap() as usize;
                            if calls.len() <= index {
                                calls.resize(index + 1, Default::default());
                            }
                            if let Some(name) = call["function"]["name"].as_str() {
                                calls[index].0 = name.to_owned();
                            }
                            calls[index].1.push_str(
                                call["function"]["arguments"].as_str().unwrap_or_default(),
                            );
                        }
                        if let Some(finish) = choice["finish_reason"].as_str() {
                            answer.finish = Some(finish.to_owned());
                        }
                    }
                    if chunk["usage"].is_object() {
                        answer.usage(
                            &chunk["usage"]["prompt_tokens"],
                            &chunk["usage"]["completion_tokens"],
                        );
                    }
                }
                for (name, arguments) in calls {
                    answer.call(&json!(name), Some(&arguments));
                }
            }
            Client::Responses => {
                let (name, last) = events.last().expect("events");
                assert_eq!(name.as_deref(), Some("response.completed"), "{text}");
                let done: Value = serde_json::from_str(last).unwrap();
                let mut deltas = String::new();
                for (name, data) in &events {
                    if name.as_deref() == Some("response.output_text.delta") {
                        let event: Value = serde_json::from_str(data).unwrap();
                        deltas.push_str(event["delta"].as_str().unwrap());
                    }
                }
                answer = Client::Responses.read_whole(&done["response"]);
                assert_eq!(deltas, answer.text, "the deltas add up to the final text");
            }
            Client::Claude => {
                let names: Vec<_> = events
                    .iter()
                    .map(|e| e.0.clone().unwrap_or_default())
                    .collect();
                assert_eq!(
                    names.first().map(String::as_str),
                    Some("message_start"),
                    "{text}"
                );
                assert_eq!(
                    names.last().map(String::as_str),
                    Some("message_stop"),
                    "{text}"
                );
                let mut calls: Vec<(String, String)> = Vec::new();
                let mut input = Value::Null;
                for (name, data) in &events {
                    let event: Value = serde_json::from_str(data).unwrap();
                    match name.as_deref() {
                        Some("message_start") => {
                            input = event["message"]["usage"]["input_tokens"].clone()
                        }
                        Some("content_block_start")
                            if event["content_block"]["type"] == "tool_use" =>
                        {
                            calls.push((
                                event["content_block"]["name"].as_str().unwrap().to_owned(),
                                String::new(),
                            ));
                        }
                        Some("content_block_delta") => match event["delta"]["type"].as_str() {
                            Some("text_delta") => answer
                                .text
                                .push_str(event["delta"]["text"].as_str().unwrap()),
                            Some("input_json_delta") => calls
                                .last_mut()
                                .expect("a tool block is open")
                                .1
                                .push_str(event["delta"]["partial_json"].as_str().unwrap()),
                            _ => {}
                        },
                        Some("message_delta") => {
                            answer.finish =
                                event["delta"]["stop_reason"].as_str().map(str::to_owned);
                            let input =
                                event["usage"].get("input_tokens").unwrap_or(&input).clone();
                            answer.usage(&input, &event["usage"]["output_tokens"]);
                        }
                        _ => {}
                    }
                }
                for (name, arguments) in calls {
                    answer.call(&json!(name), Some(&arguments));
                }
            }
            Client::Gemini => {
                for (_, data) in &events {
                    let chunk: Value = serde_json::from_str(data).unwrap();
                    let part_answer = Client::Gemini.read_whole(&chunk);
                    answer.text.push_str(&part_answer.text);
                    answer.calls.extend(part_answer.calls);
                    if part_answer.finish.is_some() {
                        answer.finish = part_answer.finish;
                    }
                    if part_answer.input.is_some() {
                        answer.input = part_answer.input;
                        answer.output = part_answer.output;
                    }
                }
            }
        }
        answer
    }
}

/// What a client made of an answer.
#[derive(Debug, Default)]
struct Answer {
    text: String,
    /// (name, arguments as JSON).
    calls: Vec<(String, Value)>,
    input: Option<u64>,
    output: Option<u64>,
    finish: Option<String>,
}

impl Answer {
    fn call(&mut self, name: &Value, arguments: Option<&str>) {
        let arguments = serde_json::from_str(arguments.unwrap_or("{}"))
            .unwrap_or_else(|e| panic!("tool arguments are JSON: {e}: {arguments:?}"));
        self.calls
            .push((name.as_str().expect("a tool name").to_owned(), arguments));
    }

    fn usage(&mut self, input: &Value, output: &Value) {
        self.input = input.as_u64();
        self.output = output.as_u64();
    }
}

/// `(event name, data)` of every SSE frame.
fn sse_events(text: &str) -> Vec<(Option<String>, String)> {
    text.split("\n\n")
        .filter_map(|frame| {
            let mut name = None;
            let mut data = None::<String>;
            for line in frame.lines() {
                if let Some(value) = line.strip_prefix("event:") {
                    name = Some(value.trim().to_owned());
                } else if let Some(value) = line.strip_prefix("data:") {
                    data = Some(value.trim_start().to_owned());
                }
            }
            data.map(|d| (name, d))
        })
        .collect()
}

async fn mock() -> MockUpstream {
    MockUpstream::start().await.expect("mock starts")
}

/// Every client protocol on every upstream kind, streamed and not, with a tool: the client
/// gets its own protocol with the tool call and usage; the upstream got its own protocol.
#[tokio::test]
async fn every_client_reaches_every_upstream_with_tools() {
    let mock = mock().await;
    let proxy = Proxy::start(&config(&mock.base_url())).await;
    let mut failures = Vec::new();
    for client in CLIENTS {
        for upstream in &UPSTREAMS {
            for stream in [false, true] {
                let case = format!(
                    "{client:?} client on {} upstream, stream {stream}",
                    upstream.key
                );
                let before = mock.requests().len();
                let (path, body) = client.request(upstream.model, stream, true);
                let reply = proxy.post(&path, &body).await;
                if reply.status != 200 {
                    failures.push(format!("{case}: status {} {}", reply.status, reply.text()));
                    continue;
                }
                assert_eq!(reply.credential(), upstream.key, "{case}");
                let seen = &mock.requests()[before..];
                assert_eq!(seen.len(), 1, "{case}: one upstream call");
                assert!(
                    seen[0].path.starts_with(upstream.path),
                    "{case}: the upstream was called at {}",
                    seen[0].path
                );
                let answer = client.read(&reply, stream);
                let call = answer.calls.first();
                if call.map(|c| c.0.as_str()) != Some("answer")
                    || call
                        .and_then(|c| c.1["reply"].as_str())
                        .is_none_or(|r| !r.contains(upstream.key))
                {
                    failures.push(format!(
                        "{case}: no tool call `answer` naming the key: {answer:?}"
                    ));
                    continue;
                }
                if answer.input.is_none_or(|n| n == 0) || answer.output.is_none_or(|n| n == 0) {
                    failures.push(format!("{case}: no usage: {answer:?}"));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Plain text answers across protocols, streamed and not, name the answering key.
#[tokio::test]
async fn text_answers_cross_every_protocol() {
    let mock = mock().await;
    let proxy = Proxy::start(&config(&mock.base_url())).await;
    for client in CLIENTS {
        for upstream in &UPSTREAMS {
            for stream in [false, true] {
                let case = format!(
                    "{client:?} client on {} upstream, stream {stream}",
                    upstream.key
                );
                let (path, body) = client.request(upstream.model, stream, false);
                let reply = proxy.post(&path, &body).await;
                assert_eq!(reply.status, 200, "{case}: {}", reply.text());
                let answer = client.read(&reply, stream);
                assert!(
                    answer.text.contains(upstream.key) && answer.text.contains("Say hello"),
                    "{case}: {answer:?}"
                );
                assert!(answer.calls.is_empty(), "{case}");
            }
        }
    }
}

/// An upstream error reaches a translated client in the client's error shape with the
/// upstream's status and message.
#[tokio::test]
async fn upstream_errors_come_in_the_client_shape() {
    let mock = mock().await;
    let proxy = Proxy::start(&config(&mock.base_url())).await;
    mock.set_fault("claude-key", Fault::status(400));
    let (path, body) = Client::Chat.request("claude-sonnet-4", false, false);
    let reply = proxy.post(&path, &body).await;
    assert_eq!(reply.status, 400, "{}", reply.text());
    let error = reply.json();
    assert_eq!(error["error"]["type"], "invalid_request_error", "{error}");
    assert!(error["error"]["message"].is_string(), "{error}");
    assert!(
        error.get("type").is_none(),
        "not the Anthropic envelope: {error}"
    );

    mock.set_fault("gemini-key", Fault::status(400));
    let (path, body) = Client::Claude.request("gemini-2.5-pro", false, false);
    let reply = proxy.post(&path, &body).await;
    assert_eq!(reply.status, 400, "{}", reply.text());
    let error = reply.json();
    assert_eq!(error["type"], "error", "{error}");
    assert_eq!(error["error"]["type"], "invalid_request_error", "{error}");

    mock.set_fault("compat-key", Fault::status(400));
    let (path, body) = Client::Gemini.request("llama-3", false, false);
    let reply = proxy.post(&path, &body).await;
    assert_eq!(reply.status, 400, "{}", reply.text());
    let error = reply.json();
    assert_eq!(error["error"]["code"], 400, "{error}");
    assert_eq!(error["error"]["status"], "INVALID_ARGUMENT", "{error}");
}

/// What only an upstream of the client's own protocol understands is refused, naming the
/// field, before any upstream is called; the same request on its own protocol passes.
#[tokio::test]
async fn same_protocol_only_fields_are_refused_elsewhere() {
    let mock = mock().await;
    let proxy = Proxy::start(&config(&mock.base_url())).await;
    let body = json!({"model": "claude-sonnet-4", "input": "hi", "previous_response_id": "resp_1"});
    let reply = proxy.post("/v1/responses", &body).await;
    assert_eq!(reply.status, 400, "{}", reply.text());
    assert!(
        reply.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("previous_response_id"),
        "{}",
        reply.text()
    );
    assert_eq!(mock.requests().len(), 0, "no upstream was called");
    let body = json!({"model": "gpt-5", "input": "hi", "previous_response_id": "resp_1"});
    assert_eq!(proxy.post("/v1/responses", &body).await.status, 200);
}

/// Token counts: upstream where it counts (Anthropic, Gemini), estimated elsewhere (no call).
#[tokio::test]
async fn token_counts_go_upstream_or_are_estimated() {
    let mock = mock().await;
    let proxy = Proxy::start(&config(&mock.base_url())).await;
    let claude_count = |model: &str| json!({"model": model, "messages": [{"role": "user", "content": "Say hello to the whole wide world"}]});
    // A Claude client counting on a Gemini model: Gemini's countTokens.
    let before = mock.requests().len();
    let reply = proxy
        .post("/v1/messages/count_tokens", &claude_count("gemini-2.5-pro"))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert!(reply.json()["input_tokens"].as_u64().unwrap() > 0);
    let seen = &mock.requests()[before..];
    assert_eq!(seen.len(), 1);
    assert!(seen[0].path.ends_with(":countTokens"), "{}", seen[0].path);
    // On an OpenAI-compatible model: estimated, no upstream call.
    let before = mock.requests().len();
    let reply = proxy
        .post("/v1/messages/count_tokens", &claude_count("llama-3"))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert!(reply.json()["input_tokens"].as_u64().unwrap() > 0);
    assert_eq!(
        mock.requests().len(),
        before,
        "estimated without an upstream call"
    );
    // A Gemini client counting on a Claude model: Anthropic's count_tokens.
    let body = json!({"contents": [{"role": "user", "parts": [{"text": "Say hello"}]}]});
    let reply = proxy
        .post("/v1beta/models/claude-sonnet-4:countTokens", &body)
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert!(
        reply.json()["totalTokens"].as_u64().unwrap() > 0,
        "{}",
        reply.text()
    );
    assert!(
        mock.requests()
            .last()
            .unwrap()
            .path
            .ends_with("/count_tokens")
    );
}

/// One model served by credentials of two kinds: the client's own protocol is preferred in
/// the tier; when it cools, the other kind serves, translated.
#[tokio::test]
async fn same_protocol_credentials_are_preferred_then_others_serve() {
    let mock = mock().await;
    let base = mock.base_url();
    let proxy = Proxy::start(&format!(
        "claude-api-key:\n  - api-key: claude-key\n    base-url: {base}\n    models:\n      - name: shared-model\n\
         openai-compatibility:\n  - name: compat\n    base-url: {base}/v1\n    api-key-entries:\n      - api-key: compat-key\n    models:\n      - name: shared-model\n"
    ))
    .await;
    for _ in 0..4 {
        let (path, body) = Client::Claude.request("shared-model", false, false);
        let reply = proxy.post(&path, &body).await;
        assert_eq!(
            reply.credential(),
            "claude-key",
            "a Claude client stays native"
        );
        let (path, body) = Client::Chat.request("shared-model", false, false);
        let reply = proxy.post(&path, &body).await;
        assert_eq!(
            reply.credential(),
            "compat-key",
            "a chat client stays native"
        );
    }
    mock.set_fault("claude-key", Fault::status(429));
    let (path, body) = Client::Claude.request("shared-model", false, false);
    let reply = proxy.post(&path, &body).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(
        reply.credential(),
        "compat-key",
        "fails over to the other kind"
    );
    assert_eq!(reply.json()["type"], "message", "still an Anthropic answer");
}

/// `protocol: both` keeps today's pass-through of Responses requests to an
/// OpenAI-compatible upstream; the default (`chat`) translates them to chat completions.
#[tokio::test]
async fn compat_protocol_decides_the_upstream_path() {
    let mock = mock().await;
    let base = mock.base_url();
    let proxy = Proxy::start(&format!(
        "openai-compatibility:\n  - name: chat-only\n    base-url: {base}/v1\n    api-key-entries:\n      - api-key: chat-key\n    models:\n      - name: chat-model\n\
         \x20 - name: both\n    protocol: both\n    base-url: {base}/v1\n    api-key-entries:\n      - api-key: both-key\n    models:\n      - name: both-model\n"
    ))
    .await;
    let reply = proxy
        .post(
            "/v1/responses",
            &json!({"model": "chat-model", "input": "hi"}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.json()["object"], "response");
    assert_eq!(mock.requests().last().unwrap().path, "/v1/chat/completions");
    let reply = proxy
        .post(
            "/v1/responses",
            &json!({"model": "both-model", "input": "hi"}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(mock.requests().last().unwrap().path, "/v1/responses");
    let reply = proxy
        .post("/v1/chat/completions", &crate::harness::chat("both-model"))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(mock.requests().last().unwrap().path, "/v1/chat/completions");
}

/// A thinking suffix (`model(high)`) becomes the target's thinking setting: written into a
/// pass-through body (which otherwise keeps its bytes) and into a translated one.
#[tokio::test]
async fn a_thinking_suffix_becomes_the_upstream_setting() {
    let mock = mock().await;
    let proxy = Proxy::start(&config(&mock.base_url())).await;
    let last_body = |mock: &MockUpstream| mock.requests().last().unwrap().body_json().unwrap();

    // Same protocol: Anthropic Messages to a Claude credential.
    let (path, mut body) = Client::Claude.request("claude-sonnet-4(8192)", false, false);
    body["max_tokens"] = json!(16000);
    assert_eq!(proxy.post(&path, &body).await.status, 200);
    let sent = last_body(&mock);
    assert_eq!(sent["model"], "claude-sonnet-4");
    assert_eq!(
        sent["thinking"],
        json!({"type": "enabled", "budget_tokens": 8192})
    );
    assert_eq!(sent["system"], "Be brief.", "the rest is the client's");

    // Same protocol: chat to an OpenAI-compatible credential.
    let (path, body) = Client::Chat.request("llama-3(high)", false, false);
    assert_eq!(proxy.post(&path, &body).await.status, 200);
    let sent = last_body(&mock);
    assert_eq!(sent["model"], "llama-3");
    assert_eq!(sent["reasoning_effort"], "high");

    // Translated: chat to Gemini, the level as Gemini's thinking setting.
    let (path, body) = Client::Chat.request("gemini-2.5-pro(low)", false, false);
    let reply = proxy.post(&path, &body).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let sent = last_body(&mock);
    let thinking = &sent["generationConfig"]["thinkingConfig"];
    assert!(
        thinking["thinkingBudget"] == 1024 || thinking["thinkingLevel"] == "low",
        "{sent}"
    );
    assert_eq!(
        reply.json()["model"],
        "gemini-2.5-pro(low)",
        "the client's name is echoed"
    );
}
