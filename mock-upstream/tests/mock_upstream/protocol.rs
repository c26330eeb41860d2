//! Each protocol's answer shapes, streamed and not, and credential identification.

use serde_json::{Value, json};
use switchyard_mock::{CREDENTIAL_HEADER, Protocol};

use crate::support::{JsonBody, client, header, json_of, mock, parse_sse, post, read_stream};

#[tokio::test]
async fn openai_chat_answers_a_chat_completion() {
    let mock = mock().await;
    let body = json!({"model": "gpt-test", "messages": [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "hello there"}
    ]});
    let response = post(&mock, "/v1/chat/completions", "key-a", &body).await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, CREDENTIAL_HEADER), Some("key-a"));
    assert_eq!(header(&response, "content-type"), Some("application/json"));
    let answer: Value = json_of(response).await;
    assert_eq!(answer["object"], "chat.completion");
    assert_eq!(answer["model"], "gpt-test");
    assert_eq!(answer["choices"][0]["message"]["role"], "assistant");
    assert_eq!(
        answer["choices"][0]["message"]["content"],
        "mock reply via key-a to: hello there"
    );
    assert_eq!(answer["choices"][0]["finish_reason"], "stop");
    let usage = &answer["usage"];
    assert!(usage["prompt_tokens"].as_u64().unwrap() > 0);
    assert!(usage["completion_tokens"].as_u64().unwrap() > 0);
    assert_eq!(
        usage["total_tokens"].as_u64(),
        Some(
            usage["prompt_tokens"].as_u64().unwrap() + usage["completion_tokens"].as_u64().unwrap()
        )
    );
    assert_eq!(usage["prompt_tokens_details"]["cached_tokens"], 0);
}

#[tokio::test]
async fn openai_chat_streams_chunks_then_done() {
    let mock = mock().await;
    let body = json!({"model": "gpt-test", "stream": true,
        "stream_options": {"include_usage": true},
        "messages": [{"role": "user", "content": "stream please"}]});
    let response = post(&mock, "/chat/completions", "key-a", &body).await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "content-type"), Some("text/event-stream"));
    let (text, aborted) = read_stream(response).await;
    assert!(!aborted);
    let events = parse_sse(&text);
    assert_eq!(events.last().unwrap().data, "[DONE]");
    let chunks: Vec<Value> = events[..events.len() - 1]
        .iter()
        .map(|event| event.json())
        .collect();
    assert!(
        chunks
            .iter()
            .all(|chunk| chunk["object"] == "chat.completion.chunk")
    );
    assert!(chunks.iter().all(|chunk| chunk["model"] == "gpt-test"));
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    let content: String = chunks
        .iter()
        .filter_map(|chunk| chunk["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(content, "mock reply via key-a to: stream please");
    // role chunk + 5 content chunks + finish chunk + usage chunk.
    assert_eq!(chunks.len(), 8);
    assert_eq!(chunks[6]["choices"][0]["finish_reason"], "stop");
    assert_eq!(chunks[7]["choices"], json!([]));
    assert!(chunks[7]["usage"]["prompt_tokens"].as_u64().unwrap() > 0);
}

fn chat_with_tools(stream: bool, tool_choice: Value) -> Value {
    json!({"model": "gpt-test", "stream": stream, "tool_choice": tool_choice,
    "messages": [{"role": "user", "content": "weather in Oslo?"}],
    "tools": [
        {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}},
        {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object"}}}
    ]})
}

#[tokio::test]
async fn openai_chat_answers_tools_with_a_tool_call() {
    let mock = mock().await;
    let response = post(
        &mock,
        "/v1/chat/completions",
        "key-a",
        &chat_with_tools(false, json!("auto")),
    )
    .await;
    assert_eq!(response.status(), 200);
    let answer: Value = json_of(response).await;
    let choice = &answer["choices"][0];
    assert_eq!(choice["finish_reason"], "tool_calls");
    assert_eq!(choice["message"]["content"], Value::Null);
    let calls = choice["message"]["tool_calls"].as_array().unwrap();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0]["type"], "function");
    assert!(calls[0]["id"].as_str().unwrap().starts_with("call_"));
    assert_eq!(calls[0]["function"]["name"], "get_weather");
    let arguments: Value =
        serde_json::from_str(calls[0]["function"]["arguments"].as_str().unwrap()).unwrap();
    assert_eq!(
        arguments,
        json!({"reply": "mock reply via key-a to: weather in Oslo?"})
    );
    // tool_choice names the function; "none" asks for text.
    let named = json!({"type": "function", "function": {"name": "get_time"}});
    let response = post(
        &mock,
        "/v1/chat/completions",
        "key-a",
        &chat_with_tools(false, named),
    )
    .await;
    let answer: Value = json_of(response).await;
    assert_eq!(
        answer["choices"][0]["message"]["tool_calls"][0]["function"]["name"],
        "get_time"
    );
    let response = post(
        &mock,
        "/v1/chat/completions",
        "key-a",
        &chat_with_tools(false, json!("none")),
    )
    .await;
    let answer: Value = json_of(response).await;
    assert_eq!(answer["choices"][0]["finish_reason"], "stop");
    assert!(answer["choices"][0]["message"].get("tool_calls").is_none());
    assert_eq!(
        answer["choices"][0]["message"]["content"],
        "mock reply via key-a to: weather in Oslo?"
    );
}

#[tokio::test]
async fn openai_chat_streams_a_tool_call() {
    let mock = mock().await;
    let response = post(
        &mock,
        "/v1/chat/completions",
        "key-a",
        &chat_with_tools(true, json!("auto")),
    )
    .await;
    assert_eq!(response.status(), 200);
    let (text, aborted) = read_stream(response).await;
    assert!(!aborted);
    let events = parse_sse(&text);
    assert_eq!(events.last().unwrap().data, "[DONE]");
    let chunks: Vec<Value> = events[..events.len() - 1]
        .iter()
        .map(|event| event.json())
        .collect();
    let opening = &chunks[0]["choices"][0]["delta"];
    assert_eq!(opening["role"], "assistant");
    assert_eq!(opening["tool_calls"][0]["index"], 0);
    assert_eq!(opening["tool_calls"][0]["type"], "function");
    assert_eq!(opening["tool_calls"][0]["function"]["name"], "get_weather");
    let id = opening["tool_calls"][0]["id"].as_str().unwrap();
    assert!(id.starts_with("call_"));
    let mut arguments = String::new();
    for chunk in &chunks[1..chunks.len() - 1] {
        let call = &chunk["choices"][0]["delta"]["tool_calls"][0];
        assert_eq!(call["index"], 0, "{chunk}");
        assert!(
            call.get("id").is_none(),
            "only the opening names the call: {chunk}"
        );
        assert!(
            chunk["choices"][0]["delta"].get("content").is_none(),
            "{chunk}"
        );
        arguments.push_str(call["function"]["arguments"].as_str().unwrap());
    }
    assert!(chunks.len() > 3, "the arguments arrive in pieces");
    assert_eq!(
        serde_json::from_str::<Value>(&arguments).unwrap(),
        json!({"reply": "mock reply via key-a to: weather in Oslo?"})
    );
    assert_eq!(
        chunks.last().unwrap()["choices"][0]["finish_reason"],
        "tool_calls"
    );
}

#[tokio::test]
async fn responses_answers_a_response_object() {
    let mock = mock().await;
    let body = json!({"model": "gpt-5", "instructions": "be brief", "input": "what now"});
    let response = post(&mock, "/v1/responses", "key-r", &body).await;
    assert_eq!(response.status(), 200);
    let answer: Value = json_of(response).await;
    assert_eq!(answer["object"], "response");
    assert_eq!(answer["status"], "completed");
    assert_eq!(answer["model"], "gpt-5");
    assert_eq!(answer["output"][0]["type"], "message");
    assert_eq!(answer["output"][0]["role"], "assistant");
    assert_eq!(answer["output"][0]["content"][0]["type"], "output_text");
    assert_eq!(
        answer["output"][0]["content"][0]["text"],
        "mock reply via key-r to: what now"
    );
    assert!(answer["usage"]["input_tokens"].as_u64().unwrap() > 0);
    assert!(answer["usage"]["output_tokens"].as_u64().unwrap() > 0);
    assert_eq!(answer["usage"]["input_tokens_details"]["cached_tokens"], 0);
}

#[tokio::test]
async fn responses_streams_response_events() {
    let mock = mock().await;
    let body = json!({"model": "gpt-5", "stream": true,
        "input": [{"role": "user", "content": [{"type": "input_text", "text": "items"}]}]});
    let response = post(&mock, "/responses", "key-r", &body).await;
    assert_eq!(header(&response, "content-type"), Some("text/event-stream"));
    let (text, aborted) = read_stream(response).await;
    assert!(!aborted);
    let events = parse_sse(&text);
    let names: Vec<&str> = events
        .iter()
        .map(|event| event.name.as_deref().unwrap())
        .collect();
    let deltas = ["response.output_text.delta"; 5];
    let expected: Vec<&str> = [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
    ]
    .into_iter()
    .chain(deltas)
    .chain([
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ])
    .collect();
    assert_eq!(names, expected);
    for (index, event) in events.iter().enumerate() {
        let data = event.json();
        assert_eq!(data["type"], event.name.as_deref().unwrap());
        assert_eq!(data["sequence_number"], index as u64);
    }
    let text: String = events
        .iter()
        .filter(|event| event.name.as_deref() == Some("response.output_text.delta"))
        .map(|event| event.json()["delta"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(text, "mock reply via key-r to: items");
    let completed = events.last().unwrap().json();
    assert_eq!(completed["response"]["status"], "completed");
    assert_eq!(completed["response"]["model"], "gpt-5");
    assert!(
        completed["response"]["usage"]["input_tokens"]
            .as_u64()
            .unwrap()
            > 0
    );
}

#[tokio::test]
async fn anthropic_answers_a_message() {
    let mock = mock().await;
    let body = json!({"model": "claude-test", "max_tokens": 64, "system": "be brief",
        "messages": [{"role": "user", "content": [{"type": "text", "text": "hi claude"}]}]});
    let response = post(&mock, "/v1/messages", "key-c", &body).await;
    assert_eq!(response.status(), 200);
    let answer: Value = json_of(response).await;
    assert_eq!(answer["type"], "message");
    assert_eq!(answer["role"], "assistant");
    assert_eq!(answer["model"], "claude-test");
    assert_eq!(answer["content"][0]["type"], "text");
    assert_eq!(
        answer["content"][0]["text"],
        "mock reply via key-c to: hi claude"
    );
    assert_eq!(answer["stop_reason"], "end_turn");
    assert!(answer["usage"]["input_tokens"].as_u64().unwrap() > 0);
    assert!(answer["usage"]["output_tokens"].as_u64().unwrap() > 0);
    assert_eq!(answer["usage"]["cache_read_input_tokens"], 0);
}

#[tokio::test]
async fn anthropic_streams_message_events() {
    let mock = mock().await;
    let body = json!({"model": "claude-test", "max_tokens": 64, "stream": true,
        "messages": [{"role": "user", "content": "stream it"}]});
    let response = post(&mock, "/v1/messages", "key-c", &body).await;
    let (text, aborted) = read_stream(response).await;
    assert!(!aborted);
    let events = parse_sse(&text);
    let names: Vec<&str> = events
        .iter()
        .map(|event| event.name.as_deref().unwrap())
        .collect();
    let expected: Vec<&str> = ["message_start", "content_block_start", "ping"]
        .into_iter()
        .chain(["content_block_delta"; 5])
        .chain(["content_block_stop", "message_delta", "message_stop"])
        .collect();
    assert_eq!(names, expected);
    for event in &events {
        assert_eq!(event.json()["type"], event.name.as_deref().unwrap());
    }
    let start = events[0].json();
    assert_eq!(start["message"]["model"], "claude-test");
    assert!(start["message"]["usage"]["input_tokens"].as_u64().unwrap() > 0);
    let text: String = events
        .iter()
        .filter(|event| event.name.as_deref() == Some("content_block_delta"))
        .map(|event| {
            let data = event.json();
            assert_eq!(data["delta"]["type"], "text_delta");
            data["delta"]["text"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(text, "mock reply via key-c to: stream it");
    assert_eq!(events[9].json()["delta"]["stop_reason"], "end_turn");
}

#[tokio::test]
async fn anthropic_counts_tokens() {
    let mock = mock().await;
    let body =
        json!({"model": "claude-test", "messages": [{"role": "user", "content": "count me"}]});
    let response = post(&mock, "/v1/messages/count_tokens", "key-c", &body).await;
    assert_eq!(response.status(), 200);
    let answer: Value = json_of(response).await;
    assert!(answer["input_tokens"].as_u64().unwrap() > 0);
    assert_eq!(answer.as_object().unwrap().len(), 1);
}

fn gemini_body(text: &str) -> Value {
    json!({"systemInstruction": {"parts": [{"text": "be brief"}]},
        "contents": [{"role": "user", "parts": [{"text": text}]}]})
}

#[tokio::test]
async fn gemini_generates_content() {
    let mock = mock().await;
    let response = client()
        .post(format!(
            "{}/v1beta/models/gemini-test:generateContent",
            mock.base_url()
        ))
        .header("x-goog-api-key", "key-g")
        .json_body(&gemini_body("hi gemini"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, CREDENTIAL_HEADER), Some("key-g"));
    let answer: Value = json_of(response).await;
    let candidate = &answer["candidates"][0];
    assert_eq!(candidate["content"]["role"], "model");
    assert_eq!(
        candidate["content"]["parts"][0]["text"],
        "mock reply via key-g to: hi gemini"
    );
    assert_eq!(candidate["finishReason"], "STOP");
    assert_eq!(answer["modelVersion"], "gemini-test");
    let usage = &answer["usageMetadata"];
    assert!(usage["promptTokenCount"].as_u64().unwrap() > 0);
    assert!(usage["candidatesTokenCount"].as_u64().unwrap() > 0);
    assert_eq!(usage["cachedContentTokenCount"], 0);
}

#[tokio::test]
async fn gemini_streams_sse_without_done() {
    let mock = mock().await;
    let response = client()
        .post(format!(
            "{}/v1beta/models/gemini-test:streamGenerateContent?alt=sse",
            mock.base_url()
        ))
        .header("x-goog-api-key", "key-g")
        .json_body(&gemini_body("stream gemini"))
        .send()
        .await
        .unwrap();
    assert_eq!(header(&response, "content-type"), Some("text/event-stream"));
    let (text, aborted) = read_stream(response).await;
    assert!(!aborted);
    let events = parse_sse(&text);
    assert_eq!(events.len(), 6);
    assert!(
        events
            .iter()
            .all(|event| event.name.is_none() && event.data != "[DONE]")
    );
    let chunks: Vec<Value> = events.iter().map(|event| event.json()).collect();
    let text: String = chunks
        .iter()
        .map(|chunk| {
            chunk["candidates"][0]["content"]["parts"][0]["text"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert_eq!(text, "mock reply via key-g to: stream gemini");
    let last = chunks.last().unwrap();
    assert_eq!(last["candidates"][0]["finishReason"], "STOP");
    assert!(last["usageMetadata"]["totalTokenCount"].as_u64().unwrap() > 0);
    assert!(
        chunks
            .iter()
            .all(|chunk| chunk["modelVersion"] == "gemini-test")
    );
}

#[tokio::test]
async fn gemini_streams_a_json_array_without_alt_sse() {
    let mock = mock().await;
    let response = client()
        .post(format!(
            "{}/v1beta/models/gemini-test:streamGenerateContent?key=key-q",
            mock.base_url()
        ))
        .json_body(&gemini_body("array"))
        .send()
        .await
        .unwrap();
    assert_eq!(header(&response, "content-type"), Some("application/json"));
    assert_eq!(header(&response, CREDENTIAL_HEADER), Some("key-q"));
    let chunks: Vec<Value> = json_of(response).await;
    assert_eq!(chunks.len(), 6);
    assert_eq!(chunks[5]["candidates"][0]["finishReason"], "STOP");
}

#[tokio::test]
async fn gemini_counts_tokens() {
    let mock = mock().await;
    let response = client()
        .post(format!(
            "{}/v1beta/models/gemini-test:countTokens",
            mock.base_url()
        ))
        .header("x-goog-api-key", "key-g")
        .json_body(&gemini_body("count"))
        .send()
        .await
        .unwrap();
    let answer: Value = json_of(response).await;
    assert!(answer["totalTokens"].as_u64().unwrap() > 0);
}

#[tokio::test]
async fn lists_openai_models() {
    let mock = mock().await;
    let response = client()
        .get(format!("{}/v1/models", mock.base_url()))
        .bearer_auth("key-a")
        .send()
        .await
        .unwrap();
    let list: Value = json_of(response).await;
    assert_eq!(list["object"], "list");
    assert!(
        list["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|model| model["object"] == "model")
    );
}

#[tokio::test]
async fn identifies_the_credential_from_each_header() {
    let mock = mock().await;
    let url = format!("{}/v1/chat/completions", mock.base_url());
    let body = crate::support::chat_body("m", &["who"], false);
    for (name, value, key) in [
        ("x-api-key", "k1", "k1"),
        ("authorization", "Bearer k2", "k2"),
        ("x-goog-api-key", "k3", "k3"),
    ] {
        let response = client()
            .post(&url)
            .header(name, value)
            .json_body(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(header(&response, CREDENTIAL_HEADER), Some(key), "{name}");
        let answer: Value = json_of(response).await;
        assert_eq!(
            answer["choices"][0]["message"]["content"],
            format!("mock reply via {key} to: who")
        );
    }
    assert_eq!(mock.request_count_for("k2"), 1);
}

#[tokio::test]
async fn no_credential_is_401_in_each_protocols_shape() {
    let mock = mock().await;
    let cases = [
        ("/v1/chat/completions", Protocol::OpenAiChat),
        ("/v1/responses", Protocol::OpenAiResponses),
        ("/v1/messages", Protocol::Anthropic),
        ("/v1beta/models/g:generateContent", Protocol::Gemini),
    ];
    for (path, protocol) in cases {
        let response = client()
            .post(format!("{}{path}", mock.base_url()))
            .json_body(&json!({"model": "m", "messages": [], "input": "x"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401, "{path}");
        assert_eq!(header(&response, CREDENTIAL_HEADER), None);
        let error: Value = json_of(response).await;
        match protocol {
            Protocol::OpenAiChat | Protocol::OpenAiResponses => {
                assert_eq!(error["error"]["type"], "authentication_error");
                assert_eq!(error["error"]["code"], "invalid_api_key");
                assert!(error["error"]["message"].is_string());
            }
            Protocol::Anthropic => {
                assert_eq!(error["type"], "error");
                assert_eq!(error["error"]["type"], "authentication_error");
            }
            Protocol::Gemini => {
                assert_eq!(error["error"]["code"], 401);
                assert_eq!(error["error"]["status"], "UNAUTHENTICATED");
            }
            _ => unreachable!(),
        }
    }
    let recorded = mock.requests();
    assert_eq!(recorded.len(), 4);
    assert!(recorded.iter().all(|request| request.credential.is_none()));
}

#[tokio::test]
async fn bad_json_is_400_and_unknown_paths_404() {
    let mock = mock().await;
    let response = client()
        .post(format!("{}/v1/messages", mock.base_url()))
        .header("x-api-key", "k")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let error: Value = json_of(response).await;
    assert_eq!(error["error"]["type"], "invalid_request_error");
    let response = post(&mock, "/v1/nothing", "k", &json!({})).await;
    assert_eq!(response.status(), 404);
    let response = client()
        .get(format!("{}/v1/chat/completions", mock.base_url()))
        .header("x-api-key", "k")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
}
