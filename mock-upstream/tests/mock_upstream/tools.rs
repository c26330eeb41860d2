//! Tool calls, thinking and usage in each protocol, streamed and not, and the strict checks of
//! a request's shape.

use serde_json::{Value, json};
use switchyard_mock::{MockUpstream, SEQUENCE_HEADER};

use crate::support::{Event, header, json_of, mock, parse_sse, post, read_stream};

/// The arguments every tool call of `key` answering `text` carries.
fn arguments(key: &str, text: &str) -> Value {
    json!({"reply": format!("mock reply via {key} to: {text}")})
}

/// POSTs and returns the status, the sequence number and the JSON body.
async fn call(mock: &MockUpstream, path: &str, body: &Value) -> (u16, u64, Value) {
    let response = post(mock, path, "key-t", body).await;
    let status = response.status().as_u16();
    let sequence = header(&response, SEQUENCE_HEADER)
        .and_then(|value| value.parse().ok())
        .unwrap_or_default();
    (status, sequence, json_of(response).await)
}

/// POSTs a streaming request and returns its events.
async fn events(mock: &MockUpstream, path: &str, body: &Value) -> Vec<Event> {
    let response = post(mock, path, "key-t", body).await;
    assert_eq!(response.status(), 200);
    let (text, aborted) = read_stream(response).await;
    assert!(!aborted);
    parse_sse(&text)
}

fn names(events: &[Event]) -> Vec<&str> {
    events
        .iter()
        .map(|event| event.name.as_deref().unwrap_or(""))
        .collect()
}

fn with_stream(mut body: Value) -> Value {
    body["stream"] = json!(true);
    body
}

// ---- Anthropic -------------------------------------------------------------------------------

fn anthropic_tools(extra: Value) -> Value {
    let mut body = json!({"model": "claude-test", "max_tokens": 4096,
    "messages": [{"role": "user", "content": "weather in Oslo?"}],
    "tools": [
        {"name": "get_weather", "input_schema": {"type": "object"}},
        {"name": "get_time", "input_schema": {"type": "object"}}
    ]});
    for (name, value) in extra.as_object().unwrap() {
        body[name] = value.clone();
    }
    body
}

#[tokio::test]
async fn anthropic_answers_tools_with_a_tool_use_block() {
    let mock = mock().await;
    let (status, sequence, answer) = call(&mock, "/v1/messages", &anthropic_tools(json!({}))).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["stop_reason"], "tool_use");
    assert_eq!(
        answer["content"],
        json!([{"type": "tool_use", "id": format!("toolu_mock_{sequence}"),
            "name": "get_weather", "input": arguments("key-t", "weather in Oslo?")}])
    );
    let named = anthropic_tools(json!({"tool_choice": {"type": "tool", "name": "get_time"}}));
    let (_, _, answer) = call(&mock, "/v1/messages", &named).await;
    assert_eq!(answer["content"][0]["name"], "get_time");
    let none = anthropic_tools(json!({"tool_choice": {"type": "none"}}));
    let (_, _, answer) = call(&mock, "/v1/messages", &none).await;
    assert_eq!(answer["content"][0]["type"], "text");
    assert_eq!(answer["stop_reason"], "end_turn");
}

#[tokio::test]
async fn anthropic_streams_a_tool_use_block() {
    let mock = mock().await;
    let events = events(
        &mock,
        "/v1/messages",
        &with_stream(anthropic_tools(json!({}))),
    )
    .await;
    let expected: Vec<&str> = ["message_start", "content_block_start", "ping"]
        .into_iter()
        .chain(["content_block_delta"; 5])
        .chain(["content_block_stop", "message_delta", "message_stop"])
        .collect();
    assert_eq!(names(&events), expected);
    let start = events[1].json();
    assert_eq!(start["index"], 0);
    assert_eq!(start["content_block"]["type"], "tool_use");
    assert_eq!(start["content_block"]["name"], "get_weather");
    assert_eq!(start["content_block"]["input"], json!({}));
    assert!(
        start["content_block"]["id"]
            .as_str()
            .unwrap()
            .starts_with("toolu_mock_")
    );
    let mut partial = String::new();
    for event in &events[3..8] {
        let data = event.json();
        assert_eq!(data["index"], 0);
        assert_eq!(data["delta"]["type"], "input_json_delta");
        partial.push_str(data["delta"]["partial_json"].as_str().unwrap());
    }
    assert_eq!(
        serde_json::from_str::<Value>(&partial).unwrap(),
        arguments("key-t", "weather in Oslo?")
    );
    assert_eq!(events[9].json()["delta"]["stop_reason"], "tool_use");
}

#[tokio::test]
async fn anthropic_thinks_first_when_thinking_is_on() {
    let mock = mock().await;
    for thinking in [
        json!({"type": "enabled", "budget_tokens": 2048}),
        json!({"type": "adaptive"}),
    ] {
        let body = json!({"model": "claude-test", "max_tokens": 4096, "thinking": thinking,
            "messages": [{"role": "user", "content": "think"}]});
        let (status, sequence, answer) = call(&mock, "/v1/messages", &body).await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(
            answer["content"][0],
            json!({"type": "thinking", "thinking": "mock thinking",
                "signature": format!("mock-claude-sig-{sequence}")})
        );
        assert_eq!(answer["content"][1]["type"], "text");
        assert_eq!(
            answer["content"][1]["text"],
            "mock reply via key-t to: think"
        );
    }
    // Output tokens include thinking.
    let plain = json!({"model": "claude-test", "max_tokens": 4096,
        "messages": [{"role": "user", "content": "think"}]});
    let (_, _, without) = call(&mock, "/v1/messages", &plain).await;
    let mut thinking = plain.clone();
    thinking["thinking"] = json!({"type": "adaptive"});
    let (_, _, with) = call(&mock, "/v1/messages", &thinking).await;
    assert!(with["usage"]["output_tokens"].as_u64() > without["usage"]["output_tokens"].as_u64());
}

#[tokio::test]
async fn anthropic_streams_thinking_then_the_tool_call() {
    let mock = mock().await;
    let body = with_stream(anthropic_tools(
        json!({"thinking": {"type": "enabled", "budget_tokens": 1024}}),
    ));
    let events = events(&mock, "/v1/messages", &body).await;
    let expected: Vec<&str> = [
        "message_start",
        "content_block_start",
        "ping",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "content_block_start",
    ]
    .into_iter()
    .chain(["content_block_delta"; 5])
    .chain(["content_block_stop", "message_delta", "message_stop"])
    .collect();
    assert_eq!(names(&events), expected);
    assert_eq!(events[1].json()["content_block"]["type"], "thinking");
    assert_eq!(
        events[3].json()["delta"],
        json!({"type": "thinking_delta", "thinking": "mock thinking"})
    );
    let signature = events[4].json();
    assert_eq!(signature["delta"]["type"], "signature_delta");
    assert!(
        signature["delta"]["signature"]
            .as_str()
            .unwrap()
            .starts_with("mock-claude-sig-")
    );
    assert_eq!(events[5].json()["index"], 0);
    let tool = events[6].json();
    assert_eq!(tool["index"], 1);
    assert_eq!(tool["content_block"]["type"], "tool_use");
    assert!(events[7..12].iter().all(|event| event.json()["index"] == 1));
    assert_eq!(events[12].json()["index"], 1);
    assert_eq!(events[13].json()["delta"]["stop_reason"], "tool_use");
}

#[tokio::test]
async fn anthropic_answers_a_tool_result_with_text() {
    let mock = mock().await;
    let mut body = anthropic_tools(json!({}));
    body["messages"] = json!([
        {"role": "user", "content": "weather in Oslo?"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1",
            "name": "get_weather", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1",
            "content": "sunny"}]}
    ]);
    let (status, _, answer) = call(&mock, "/v1/messages", &body).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["stop_reason"], "end_turn");
    assert_eq!(answer["content"][0]["type"], "text");
    assert!(
        answer["content"][0]["text"]
            .as_str()
            .unwrap()
            .starts_with("mock reply via key-t to: ")
    );
}

/// Asserts an Anthropic 400 whose message contains `needle`.
async fn anthropic_rejects(mock: &MockUpstream, path: &str, body: &Value, needle: &str) {
    let (status, _, error) = call(mock, path, body).await;
    assert_eq!(status, 400, "{body} → {error}");
    assert_eq!(error["type"], "error");
    assert_eq!(error["error"]["type"], "invalid_request_error");
    let message = error["error"]["message"].as_str().unwrap();
    assert!(message.contains(needle), "{message:?} lacks {needle:?}");
}

#[tokio::test]
async fn anthropic_rejects_malformed_requests() {
    let mock = mock().await;
    let body = |messages: Value| json!({"model": "c", "max_tokens": 16, "messages": messages});
    let orphan = body(json!([
        {"role": "user", "content": "q"},
        {"role": "assistant", "content": "no tool use here"},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_x"}]}
    ]));
    anthropic_rejects(&mock, "/v1/messages", &orphan, "toolu_x").await;
    let unanswered = body(json!([
        {"role": "user", "content": "q"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_y", "name": "f",
            "input": {}}]},
        {"role": "user", "content": "never mind"}
    ]));
    anthropic_rejects(&mock, "/v1/messages", &unanswered, "toolu_y").await;
    let assistant_first = body(json!([{"role": "assistant", "content": "hi"}]));
    anthropic_rejects(&mock, "/v1/messages", &assistant_first, "first message").await;
    anthropic_rejects(&mock, "/v1/messages", &body(json!([])), "at least one").await;
    let bad_role = body(json!([{"role": "system", "content": "x"}]));
    anthropic_rejects(&mock, "/v1/messages", &bad_role, "messages.0.role").await;
    let no_model = json!({"max_tokens": 16, "messages": [{"role": "user", "content": "q"}]});
    anthropic_rejects(&mock, "/v1/messages", &no_model, "model").await;
    let small_budget = json!({"model": "c", "max_tokens": 4096,
        "thinking": {"type": "enabled", "budget_tokens": 100},
        "messages": [{"role": "user", "content": "q"}]});
    anthropic_rejects(&mock, "/v1/messages", &small_budget, "budget_tokens").await;
    let over_budget = json!({"model": "c", "max_tokens": 2000,
        "thinking": {"type": "enabled", "budget_tokens": 2000},
        "messages": [{"role": "user", "content": "q"}]});
    anthropic_rejects(&mock, "/v1/messages", &over_budget, "max_tokens").await;
    let schemaless = json!({"model": "c", "max_tokens": 16, "tools": [{"name": "f"}],
        "messages": [{"role": "user", "content": "q"}]});
    anthropic_rejects(&mock, "/v1/messages", &schemaless, "input_schema").await;
    let unknown_choice = anthropic_tools(json!({"tool_choice": {"type": "tool", "name": "nope"}}));
    anthropic_rejects(&mock, "/v1/messages", &unknown_choice, "nope").await;
    // Roles need not alternate any more.
    let consecutive = body(json!([
        {"role": "user", "content": "one"},
        {"role": "user", "content": "two"}
    ]));
    assert_eq!(call(&mock, "/v1/messages", &consecutive).await.0, 200);
    // count_tokens takes no max_tokens, and checks the messages too.
    let count = json!({"model": "c", "messages": [{"role": "user", "content": "count"}]});
    let (status, _, counted) = call(&mock, "/v1/messages/count_tokens", &count).await;
    assert_eq!(status, 200);
    assert!(counted["input_tokens"].as_u64().unwrap() > 0);
    anthropic_rejects(&mock, "/v1/messages/count_tokens", &orphan, "toolu_x").await;
}

#[tokio::test]
async fn anthropic_max_tokens_is_required_when_asked() {
    let lenient = mock().await;
    let body = json!({"model": "c", "messages": [{"role": "user", "content": "q"}]});
    assert_eq!(call(&lenient, "/v1/messages", &body).await.0, 200);
    let strict = MockUpstream::builder()
        .require_max_tokens(true)
        .start()
        .await
        .unwrap();
    anthropic_rejects(&strict, "/v1/messages", &body, "max_tokens: Field required").await;
    assert_eq!(
        call(&strict, "/v1/messages/count_tokens", &body).await.0,
        200
    );
    // The rejected request is recorded like any other.
    assert_eq!(strict.requests()[0].path, "/v1/messages");
}

// ---- OpenAI Responses ------------------------------------------------------------------------

fn responses_tools(extra: Value) -> Value {
    let mut body = json!({"model": "gpt-5", "input": "weather in Oslo?", "tools": [
        {"type": "function", "name": "get_weather", "parameters": {"type": "object"}},
        {"type": "function", "name": "get_time", "parameters": {"type": "object"}}
    ]});
    for (name, value) in extra.as_object().unwrap() {
        body[name] = value.clone();
    }
    body
}

#[tokio::test]
async fn responses_answers_tools_with_a_function_call() {
    let mock = mock().await;
    let (status, sequence, answer) =
        call(&mock, "/v1/responses", &responses_tools(json!({}))).await;
    assert_eq!(status, 200, "{answer}");
    let output = answer["output"].as_array().unwrap();
    assert_eq!(output.len(), 1);
    assert_eq!(output[0]["type"], "function_call");
    assert_eq!(output[0]["call_id"], format!("call_mock_{sequence}"));
    assert_eq!(output[0]["name"], "get_weather");
    assert_eq!(output[0]["status"], "completed");
    let arguments_text = output[0]["arguments"].as_str().unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(arguments_text).unwrap(),
        arguments("key-t", "weather in Oslo?")
    );
    let named = responses_tools(json!({"tool_choice": {"type": "function", "name": "get_time"}}));
    assert_eq!(
        call(&mock, "/v1/responses", &named).await.2["output"][0]["name"],
        "get_time"
    );
    let none = responses_tools(json!({"tool_choice": "none"}));
    assert_eq!(
        call(&mock, "/v1/responses", &none).await.2["output"][0]["type"],
        "message"
    );
}

#[tokio::test]
async fn responses_streams_a_function_call() {
    let mock = mock().await;
    let events = events(
        &mock,
        "/v1/responses",
        &with_stream(responses_tools(json!({}))),
    )
    .await;
    let expected: Vec<&str> = [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
    ]
    .into_iter()
    .chain(["response.function_call_arguments.delta"; 5])
    .chain([
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.completed",
    ])
    .collect();
    assert_eq!(names(&events), expected);
    for (index, event) in events.iter().enumerate() {
        assert_eq!(event.json()["sequence_number"], index as u64);
    }
    let added = events[2].json();
    assert_eq!(added["item"]["type"], "function_call");
    assert_eq!(added["item"]["arguments"], "");
    let item_id = added["item"]["id"].as_str().unwrap().to_owned();
    let streamed: String = events[3..8]
        .iter()
        .map(|event| {
            let data = event.json();
            assert_eq!(data["item_id"], item_id.as_str());
            assert_eq!(data["output_index"], 0);
            data["delta"].as_str().unwrap().to_owned()
        })
        .collect();
    let done = events[8].json();
    assert_eq!(done["arguments"], streamed.as_str());
    assert_eq!(done["name"], "get_weather");
    let completed = events[10].json();
    let output = &completed["response"]["output"];
    assert_eq!(output.as_array().unwrap().len(), 1);
    assert_eq!(output[0]["type"], "function_call");
    assert_eq!(output[0]["arguments"], streamed.as_str());
    assert_eq!(output[0], events[9].json()["item"]);
}

#[tokio::test]
async fn responses_reasons_first_when_effort_is_set() {
    let mock = mock().await;
    let body = json!({"model": "gpt-5", "input": "think", "reasoning": {"effort": "low"}});
    let (_, sequence, answer) = call(&mock, "/v1/responses", &body).await;
    let output = answer["output"].as_array().unwrap();
    assert_eq!(output.len(), 2);
    assert_eq!(output[0]["type"], "reasoning");
    assert_eq!(
        output[0]["summary"],
        json!([{"type": "summary_text", "text": "mock thinking"}])
    );
    assert_eq!(
        output[0]["encrypted_content"],
        format!("mock-openai-sig-{sequence}")
    );
    assert_eq!(output[1]["type"], "message");
    let usage = &answer["usage"];
    let reasoning = usage["output_tokens_details"]["reasoning_tokens"]
        .as_u64()
        .unwrap();
    assert!(reasoning > 0);
    assert!(usage["output_tokens"].as_u64().unwrap() > reasoning);
    assert_eq!(
        usage["total_tokens"].as_u64().unwrap(),
        usage["input_tokens"].as_u64().unwrap() + usage["output_tokens"].as_u64().unwrap()
    );
    let none = json!({"model": "gpt-5", "input": "think", "reasoning": {"effort": "none"}});
    let (_, _, answer) = call(&mock, "/v1/responses", &none).await;
    assert_eq!(answer["output"][0]["type"], "message");
    assert_eq!(
        answer["usage"]["output_tokens_details"]["reasoning_tokens"],
        0
    );
}

#[tokio::test]
async fn responses_streams_reasoning_then_the_message() {
    let mock = mock().await;
    let body = json!({"model": "gpt-5", "input": "think", "stream": true,
        "reasoning": {"effort": "high"}});
    let events = events(&mock, "/v1/responses", &body).await;
    let expected: Vec<&str> = [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.reasoning_summary_part.added",
        "response.reasoning_summary_text.delta",
        "response.reasoning_summary_text.done",
        "response.reasoning_summary_part.done",
        "response.output_item.done",
        "response.output_item.added",
        "response.content_part.added",
    ]
    .into_iter()
    .chain(["response.output_text.delta"; 5])
    .chain([
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ])
    .collect();
    assert_eq!(names(&events), expected);
    assert_eq!(events[2].json()["item"]["type"], "reasoning");
    assert_eq!(events[4].json()["delta"], "mock thinking");
    assert_eq!(
        events[7].json()["item"]["summary"][0]["text"],
        "mock thinking"
    );
    assert!(events[..8].iter().all(|event| {
        let data = event.json();
        data.get("output_index").is_none() || data["output_index"] == 0
    }));
    assert!(
        events[8..18]
            .iter()
            .all(|event| event.json()["output_index"] == 1)
    );
    let completed = events[18].json();
    assert_eq!(completed["response"]["output"][0]["type"], "reasoning");
    assert_eq!(completed["response"]["output"][1]["type"], "message");
}

#[tokio::test]
async fn responses_answers_a_function_call_output_with_text_and_checks_call_ids() {
    let mock = mock().await;
    let mut body = responses_tools(json!({}));
    body["input"] = json!([
        {"role": "user", "content": "weather in Oslo?"},
        {"type": "function_call", "call_id": "call_1", "name": "get_weather", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "call_1", "output": "sunny"}
    ]);
    let (status, _, answer) = call(&mock, "/v1/responses", &body).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["output"][0]["type"], "message");
    body["input"][2]["call_id"] = json!("call_2");
    let (status, _, error) = call(&mock, "/v1/responses", &body).await;
    assert_eq!(status, 400);
    assert_eq!(error["error"]["type"], "invalid_request_error");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("No tool call found for function call output with call_id call_2")
    );
    // With previous_response_id the calls live upstream.
    body["previous_response_id"] = json!("resp_1");
    assert_eq!(call(&mock, "/v1/responses", &body).await.0, 200);
    let (status, _, error) = call(&mock, "/v1/responses", &json!({"input": "x"})).await;
    assert_eq!(status, 400);
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("model")
    );
}

// ---- Gemini ----------------------------------------------------------------------------------

const GEMINI: &str = "/v1beta/models/gemini-test:generateContent";
const GEMINI_STREAM: &str = "/v1beta/models/gemini-test:streamGenerateContent?alt=sse";

fn gemini_tools(extra: Value) -> Value {
    let mut body = json!({
    "contents": [{"role": "user", "parts": [{"text": "weather in Oslo?"}]}],
    "tools": [{"functionDeclarations": [
        {"name": "get_weather", "parameters": {"type": "object"}},
        {"name": "get_time", "parameters": {"type": "object"}}
    ]}]});
    for (name, value) in extra.as_object().unwrap() {
        body[name] = value.clone();
    }
    body
}

#[tokio::test]
async fn gemini_answers_tools_with_a_function_call() {
    let mock = mock().await;
    let (status, _, answer) = call(&mock, GEMINI, &gemini_tools(json!({}))).await;
    assert_eq!(status, 200, "{answer}");
    let candidate = &answer["candidates"][0];
    assert_eq!(candidate["finishReason"], "STOP");
    assert_eq!(
        candidate["content"]["parts"],
        json!([{"functionCall": {"name": "get_weather",
            "args": arguments("key-t", "weather in Oslo?")}}])
    );
    let allowed = gemini_tools(json!({"toolConfig": {"functionCallingConfig":
        {"mode": "ANY", "allowedFunctionNames": ["get_time"]}}}));
    let (_, _, answer) = call(&mock, GEMINI, &allowed).await;
    assert_eq!(
        answer["candidates"][0]["content"]["parts"][0]["functionCall"]["name"],
        "get_time"
    );
    let none = gemini_tools(json!({"toolConfig": {"functionCallingConfig": {"mode": "NONE"}}}));
    let (_, _, answer) = call(&mock, GEMINI, &none).await;
    assert!(answer["candidates"][0]["content"]["parts"][0]["text"].is_string());
}

#[tokio::test]
async fn gemini_streams_a_function_call_whole() {
    let mock = mock().await;
    let events = events(&mock, GEMINI_STREAM, &gemini_tools(json!({}))).await;
    assert_eq!(events.len(), 1);
    let chunk = events[0].json();
    assert_eq!(
        chunk["candidates"][0]["content"]["parts"],
        json!([{"functionCall": {"name": "get_weather",
            "args": arguments("key-t", "weather in Oslo?")}}])
    );
    assert_eq!(chunk["candidates"][0]["finishReason"], "STOP");
    assert!(chunk["usageMetadata"]["totalTokenCount"].as_u64().unwrap() > 0);
}

#[tokio::test]
async fn gemini_thinks_first_when_thoughts_are_asked_for() {
    let mock = mock().await;
    let body = json!({"contents": [{"role": "user", "parts": [{"text": "think"}]}],
        "generationConfig": {"thinkingConfig": {"includeThoughts": true, "thinkingBudget": 1024}}});
    let (_, sequence, answer) = call(&mock, GEMINI, &body).await;
    let parts = &answer["candidates"][0]["content"]["parts"];
    assert_eq!(parts[0]["text"], "mock thinking");
    assert_eq!(parts[0]["thought"], true);
    // Bytes, base64 on the wire.
    use base64::Engine;
    let signature = base64::prelude::BASE64_STANDARD
        .decode(parts[0]["thoughtSignature"].as_str().unwrap())
        .unwrap();
    assert_eq!(
        signature,
        format!("mock-gemini-sig-{sequence}").into_bytes()
    );
    assert_eq!(parts[1]["text"], "mock reply via key-t to: think");
    let usage = &answer["usageMetadata"];
    let thoughts = usage["thoughtsTokenCount"].as_u64().unwrap();
    assert!(thoughts > 0);
    assert_eq!(
        usage["totalTokenCount"].as_u64().unwrap(),
        usage["promptTokenCount"].as_u64().unwrap()
            + usage["candidatesTokenCount"].as_u64().unwrap()
            + thoughts
    );
    let events = events(&mock, GEMINI_STREAM, &body).await;
    assert_eq!(events.len(), 7, "thought, five pieces, the finish");
    assert_eq!(
        events[0].json()["candidates"][0]["content"]["parts"][0]["thought"],
        true
    );
    assert!(
        events[0].json()["candidates"][0]
            .get("finishReason")
            .is_none()
    );
    // Without includeThoughts: no thought, no thoughtsTokenCount.
    let plain = json!({"contents": [{"role": "user", "parts": [{"text": "think"}]}],
        "generationConfig": {"thinkingConfig": {"thinkingBudget": 1024}}});
    let (_, _, answer) = call(&mock, GEMINI, &plain).await;
    assert!(
        answer["candidates"][0]["content"]["parts"][0]
            .get("thought")
            .is_none()
    );
    assert!(answer["usageMetadata"].get("thoughtsTokenCount").is_none());
}

/// Asserts a Gemini 400 whose message contains `needle`.
async fn gemini_rejects(mock: &MockUpstream, path: &str, body: &Value, needle: &str) {
    let (status, _, error) = call(mock, path, body).await;
    assert_eq!(status, 400, "{body} → {error}");
    assert_eq!(error["error"]["code"], 400);
    assert_eq!(error["error"]["status"], "INVALID_ARGUMENT");
    let message = error["error"]["message"].as_str().unwrap();
    assert!(message.contains(needle), "{message:?} lacks {needle:?}");
}

#[tokio::test]
async fn gemini_pairs_function_responses_with_calls() {
    let mock = mock().await;
    let mut body = gemini_tools(json!({}));
    body["contents"] = json!([
        {"role": "user", "parts": [{"text": "weather in Oslo and Bergen?"}]},
        {"role": "model", "parts": [
            {"functionCall": {"name": "get_weather", "args": {"city": "Oslo"}}},
            {"functionCall": {"name": "get_weather", "args": {"city": "Bergen"}}}
        ]},
        {"role": "user", "parts": [
            {"functionResponse": {"name": "get_weather", "response": {"sky": "sunny"}}},
            {"functionResponse": {"name": "get_weather", "response": {"sky": "rain"}}}
        ]}
    ]);
    let (status, _, answer) = call(&mock, GEMINI, &body).await;
    assert_eq!(status, 200, "{answer}");
    assert!(answer["candidates"][0]["content"]["parts"][0]["text"].is_string());
    let mut one_short = body.clone();
    one_short["contents"][2]["parts"]
        .as_array_mut()
        .unwrap()
        .pop();
    gemini_rejects(
        &mock,
        GEMINI,
        &one_short,
        "number of function response parts",
    )
    .await;
    let mut no_call = body.clone();
    no_call["contents"][1] = json!({"role": "model", "parts": [{"text": "hmm"}]});
    gemini_rejects(&mock, GEMINI, &no_call, "number of function response parts").await;
    gemini_rejects(&mock, GEMINI, &json!({}), "contents is not specified").await;
    let empty_parts = json!({"contents": [{"role": "user", "parts": []}]});
    gemini_rejects(&mock, GEMINI, &empty_parts, "parts must not be empty").await;
    let bad_role = json!({"contents": [{"role": "assistant", "parts": [{"text": "x"}]}]});
    gemini_rejects(&mock, GEMINI, &bad_role, "valid role").await;
}

#[tokio::test]
async fn gemini_counts_tokens_of_both_body_forms() {
    let mock = mock().await;
    let path = "/v1beta/models/gemini-test:countTokens";
    let contents = json!([{"role": "user", "parts": [{"text": "count these words"}]}]);
    let (status, _, direct) = call(&mock, path, &json!({"contents": contents})).await;
    assert_eq!(status, 200);
    let wrapped = json!({"generateContentRequest": {"model": "models/gemini-test",
        "contents": contents}});
    let (status, _, nested) = call(&mock, path, &wrapped).await;
    assert_eq!(status, 200);
    assert!(direct["totalTokens"].as_u64().unwrap() > 0);
    assert_eq!(direct, nested);
    gemini_rejects(&mock, path, &json!({}), "contents is not specified").await;
    let both = json!({"contents": contents, "generateContentRequest": {"contents": contents}});
    gemini_rejects(&mock, path, &both, "mutually exclusive").await;
}

// ---- OpenAI chat -----------------------------------------------------------------------------

#[tokio::test]
async fn openai_chat_reasons_when_effort_is_set() {
    let mock = mock().await;
    let body = json!({"model": "gpt-test", "reasoning_effort": "medium",
        "messages": [{"role": "user", "content": "think"}]});
    let (_, _, answer) = call(&mock, "/v1/chat/completions", &body).await;
    let message = &answer["choices"][0]["message"];
    assert_eq!(message["reasoning_content"], "mock thinking");
    assert_eq!(message["content"], "mock reply via key-t to: think");
    let usage = &answer["usage"];
    let reasoning = usage["completion_tokens_details"]["reasoning_tokens"]
        .as_u64()
        .unwrap();
    assert!(reasoning > 0);
    assert!(usage["completion_tokens"].as_u64().unwrap() > reasoning);
    let events = events(&mock, "/v1/chat/completions", &with_stream(body)).await;
    let reasoning: String = events
        .iter()
        .filter(|event| event.data != "[DONE]")
        .filter_map(|event| {
            event.json()["choices"][0]["delta"]["reasoning_content"]
                .as_str()
                .map(str::to_owned)
        })
        .collect();
    assert_eq!(reasoning, "mock thinking");
    let none = json!({"model": "gpt-test", "reasoning_effort": "none",
        "messages": [{"role": "user", "content": "think"}]});
    let (_, _, answer) = call(&mock, "/v1/chat/completions", &none).await;
    assert!(
        answer["choices"][0]["message"]
            .get("reasoning_content")
            .is_none()
    );
}

#[tokio::test]
async fn openai_chat_answers_a_tool_result_with_text_and_checks_call_ids() {
    let mock = mock().await;
    let mut body = json!({"model": "gpt-test", "messages": [
        {"role": "user", "content": "weather in Oslo?"},
        {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1",
            "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny"}
    ], "tools": [{"type": "function", "function": {"name": "get_weather"}}]});
    let (status, _, answer) = call(&mock, "/v1/chat/completions", &body).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["choices"][0]["finish_reason"], "stop");
    assert!(answer["choices"][0]["message"]["content"].is_string());
    body["messages"][2]["tool_call_id"] = json!("call_2");
    let (status, _, error) = call(&mock, "/v1/chat/completions", &body).await;
    assert_eq!(status, 400);
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("must be a response to a preceeding message with 'tool_calls'")
    );
    body["messages"][2] = json!({"role": "user", "content": "skip it"});
    let (status, _, error) = call(&mock, "/v1/chat/completions", &body).await;
    assert_eq!(status, 400);
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("call_1")
    );
    let (status, _, error) = call(
        &mock,
        "/v1/chat/completions",
        &json!({"messages": [{"role": "user", "content": "q"}]}),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(error["error"]["type"], "invalid_request_error");
}

// ---- Usage, cached ---------------------------------------------------------------------------

#[tokio::test]
async fn cached_input_has_each_protocols_meaning() {
    let mock = mock().await;
    // Anthropic: a second turn hits; input_tokens excludes what was read from the cache.
    let first = json!({"model": "c", "max_tokens": 16, "system": "a long system prompt",
        "messages": [{"role": "user", "content": "q1"}]});
    let (_, _, one) = call(&mock, "/v1/messages", &first).await;
    let second = json!({"model": "c", "max_tokens": 16, "system": "a long system prompt",
        "messages": [{"role": "user", "content": "q1"},
            {"role": "assistant", "content": "a1"}, {"role": "user", "content": "q2"}]});
    let (_, _, two) = call(&mock, "/v1/messages", &second).await;
    let read = two["usage"]["cache_read_input_tokens"].as_u64().unwrap();
    assert!(read > 0);
    assert!(read > one["usage"]["input_tokens"].as_u64().unwrap());
    // The new user turn alone is left uncached.
    assert!(two["usage"]["input_tokens"].as_u64().unwrap() < read);
    // Gemini: promptTokenCount includes cachedContentTokenCount.
    let turn = |texts: &[&str]| {
        let contents: Vec<Value> = texts
            .iter()
            .enumerate()
            .map(|(index, text)| {
                let role = if index % 2 == 0 { "user" } else { "model" };
                json!({"role": role, "parts": [{"text": text}]})
            })
            .collect();
        json!({ "contents": contents })
    };
    call(&mock, GEMINI, &turn(&["q1"])).await;
    let (_, _, answer) = call(&mock, GEMINI, &turn(&["q1", "a1", "q2"])).await;
    let usage = &answer["usageMetadata"];
    let cached = usage["cachedContentTokenCount"].as_u64().unwrap();
    assert!(cached > 0);
    assert!(usage["promptTokenCount"].as_u64().unwrap() > cached);
}
