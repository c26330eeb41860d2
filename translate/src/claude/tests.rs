//! Unit tests of the Claude codec.

use serde_json::{Value, json};

use super::*;
use crate::ClientView;
use crate::ir::{
    Block, Delta, Effort, Event, Finish, Message, Part, Request, Role, Signature, SignatureFamily,
    Thinking, Tool, ToolChoice, Usage,
};
use crate::sse::{Frame, SseReader};

fn decode(body: Value) -> Request {
    decode_request(body.to_string().as_bytes()).expect("decodes")
}

fn encode(request: &Request) -> Value {
    serde_json::from_slice(&encode_request(request).expect("encodes")).unwrap()
}

fn user(text: &str) -> Message {
    Message {
        role: Role::User,
        parts: vec![Part::text(text)],
    }
}

fn base(model: &str) -> Request {
    Request {
        model: model.to_owned(),
        messages: vec![user("hi")],
        ..Request::default()
    }
}

#[test]
fn decodes_system_content_tools_and_settings() {
    let request = decode(json!({
        "model": "claude-sonnet-4-5", "max_tokens": 100, "stream": true,
        "system": [{"type": "text", "text": "be brief", "cache_control": {"type": "ephemeral"}}],
        "messages": [
            {"role": "user", "content": [
                {"type": "text", "text": "look"},
                {"type": "image", "source": {"type": "url", "url": "https://x/y.png"}},
                {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "hi"}}
            ]},
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": "hm", "signature": "sig"},
                {"type": "tool_use", "id": "toolu_1", "name": "get", "input": {"a": 1}}
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": "ok", "is_error": true}
            ]}
        ],
        "tools": [
            {"name": "get", "input_schema": {"type": "object"}},
            {"type": "web_search_20250305", "name": "web_search"}
        ],
        "tool_choice": {"type": "any", "disable_parallel_tool_use": true},
        "thinking": {"type": "enabled", "budget_tokens": 2048},
        "metadata": {"user_id": "u1"},
        "mcp_servers": []
    }));
    assert_eq!(
        request.system[0],
        Part::Text {
            text: "be brief".into(),
            cache_control: Some(json!({"type": "ephemeral"}))
        }
    );
    assert_eq!(request.messages.len(), 3);
    assert_eq!(
        request.messages[0].parts[2],
        Part::Document {
            media: crate::ir::Media::Base64 {
                media_type: "text/plain".into(),
                data: "aGk=".into()
            },
            title: None,
        }
    );
    assert_eq!(
        request.messages[1].parts[0],
        Part::Thinking {
            text: "hm".into(),
            signature: Some(Signature {
                family: SignatureFamily::Claude,
                value: "sig".into()
            }),
        }
    );
    assert!(
        matches!(&request.messages[2].parts[0], Part::ToolResult { is_error: true, content, .. } if content == &vec![Part::text("ok")])
    );
    assert_eq!(request.tools.len(), 1);
    assert_eq!(request.tool_choice, Some(ToolChoice::Required));
    assert_eq!(request.parallel_tool_calls, Some(false));
    assert_eq!(request.thinking, Some(Thinking::Budget(2048)));
    assert_eq!(request.user.as_deref(), Some("u1"));
    assert!(request.stream);
    assert_eq!(request.same_protocol_only, vec!["tools[1]", "mcp_servers"]);
}

#[test]
fn adaptive_thinking_and_count_bodies() {
    let request = decode(json!({
        "model": "m", "messages": [{"role": "user", "content": "hi"}],
        "thinking": {"type": "adaptive"}, "output_config": {"effort": "high"}
    }));
    assert_eq!(request.thinking, Some(Thinking::Effort(Effort::High)));
    assert_eq!(request.max_tokens, None);
    let count: Value = serde_json::from_slice(&encode_count_request(&request).unwrap()).unwrap();
    assert!(count.get("max_tokens").is_none() && count.get("stream").is_none());
    assert_eq!(count["thinking"]["budget_tokens"], 24576);
}

#[test]
fn malformed_requests_name_the_field() {
    for (body, field) in [
        (
            json!({"messages": [{"role": "system", "content": "x"}]}),
            "messages[0].role",
        ),
        (
            json!({"messages": [{"role": "user", "content": [{"type": "tool_use"}]}]}),
            "messages[0].content[0]",
        ),
        (
            json!({"messages": [], "tool_choice": {"type": "tool"}}),
            "tool_choice.name",
        ),
        (
            json!({"messages": [], "thinking": {"type": "on"}}),
            "thinking.type",
        ),
        (
            json!({"messages": [], "system": [{"type": "image"}]}),
            "system[0]",
        ),
    ] {
        match decode_request(body.to_string().as_bytes()) {
            Err(crate::TranslateError::Invalid(message)) => {
                assert!(message.contains(field), "{message}")
            }
            other => panic!("{body}: {other:?}"),
        }
    }
}

#[test]
fn default_max_tokens_follow_the_model() {
    assert_eq!(encode(&base("claude-sonnet-4-5"))["max_tokens"], 32000);
    assert_eq!(encode(&base("claude-3-5-haiku-latest"))["max_tokens"], 8192);
    assert_eq!(encode(&base("claude-3-haiku-20240307"))["max_tokens"], 4096);
    assert_eq!(
        encode(&base("claude-3-7-sonnet-latest"))["max_tokens"],
        32000
    );
}

#[test]
fn thinking_budget_stays_below_max_tokens_and_drops_sampling() {
    let mut request = base("claude-sonnet-4-5");
    request.max_tokens = Some(4000);
    request.thinking = Some(Thinking::Effort(Effort::High));
    request.temperature = Some(0.2);
    request.top_p = Some(0.5);
    request.top_k = Some(5);
    let body = encode(&request);
    assert_eq!(
        body["thinking"],
        json!({"type": "enabled", "budget_tokens": 3999})
    );
    assert!(
        body.get("temperature").is_none()
            && body.get("top_p").is_none()
            && body.get("top_k").is_none()
    );
    // Too small to think.
    request.max_tokens = Some(1000);
    assert!(encode(&request).get("thinking").is_none());
    // Without thinking: temperature kept, top_p dropped next to it.
    request.thinking = None;
    let body = encode(&request);
    assert_eq!(body["temperature"], 0.2);
    request.temperature = Some(1.7);
    assert_eq!(encode(&request)["temperature"], 1.0);
    assert!(body.get("top_p").is_none());
}

#[test]
fn adaptive_models_get_effort_and_forced_tools_drop_thinking() {
    let mut request = base("claude-opus-4-6");
    request.thinking = Some(Thinking::Effort(Effort::XHigh));
    let body = encode(&request);
    assert_eq!(body["thinking"], json!({"type": "adaptive"}));
    assert_eq!(body["output_config"], json!({"effort": "max"}));
    request.tools = vec![Tool {
        name: "get".into(),
        description: None,
        parameters: json!({}),
        strict: None,
        cache_control: None,
    }];
    request.tool_choice = Some(ToolChoice::Tool("get".into()));
    let body = encode(&request);
    assert!(body.get("thinking").is_none());
    assert_eq!(body["tool_choice"], json!({"type": "tool", "name": "get"}));
    assert_eq!(
        body["tools"][0]["input_schema"],
        json!({"type": "object", "properties": {}})
    );
}

#[test]
fn messages_are_merged_sanitised_and_start_with_the_user() {
    let mut request = base("m");
    request.messages = vec![
        Message {
            role: Role::Assistant,
            parts: vec![
                Part::Thinking {
                    text: "t".into(),
                    signature: Some(Signature {
                        family: SignatureFamily::OpenAi,
                        value: "x".into(),
                    }),
                },
                Part::ToolCall {
                    id: "call.1".into(),
                    name: "get".into(),
                    arguments: String::new(),
                    signature: None,
                },
            ],
        },
        user("first"),
        Message {
            role: Role::User,
            parts: vec![Part::ToolResult {
                call_id: "call.1".into(),
                name: None,
                content: vec![Part::text("r")],
                is_error: false,
            }],
        },
    ];
    let body = encode(&request);
    assert_eq!(
        body["messages"],
        json!([
            {"role": "user", "content": [{"type": "text", "text": "."}]},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "call_1", "name": "get", "input": {}}]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "call_1", "content": [{"type": "text", "text": "r"}]},
                {"type": "text", "text": "first"}
            ]}
        ])
    );
}

#[test]
fn refusals() {
    let mut request = base("m");
    request.n = Some(2);
    assert!(
        matches!(encode_request(&request), Err(crate::TranslateError::Unsupported { field, .. }) if field == "n")
    );
    let mut request = base("m");
    request.messages = vec![Message {
        role: Role::Assistant,
        parts: vec![Part::Image(crate::ir::Media::Url("u".into()))],
    }];
    assert!(
        matches!(encode_request(&request), Err(crate::TranslateError::Unsupported { field, .. }) if field == "messages[0].content[0]")
    );
    let mut request = base("m");
    request.messages.clear();
    assert!(encode_request(&request).is_err());
}

fn frames(text: &str) -> Vec<Frame> {
    let mut reader = SseReader::new(1 << 20);
    let mut out = Vec::new();
    reader.push(text.as_bytes(), &mut out).unwrap();
    reader.finish(&mut out);
    out
}

#[test]
fn stream_decoder_orders_events_and_closes_a_cut_stream() {
    let text = concat!(
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"model\":\"c\",\"content\":[],\"usage\":{\"input_tokens\":5,\"cache_read_input_tokens\":3,\"output_tokens\":1}}}\n\n",
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"server_tool_use\",\"id\":\"s\",\"name\":\"web_search\",\"input\":{}}}\n\n",
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n",
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"get\",\"input\":{}}}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{}\"}}\n\n",
    );
    let mut decoder = StreamDecoder::new();
    let mut events = Vec::new();
    for frame in frames(text) {
        decoder.frame(&frame, &mut events).unwrap();
    }
    decoder.finish(&mut events).unwrap();
    decoder.finish(&mut events).unwrap();
    assert_eq!(
        events,
        vec![
            Event::Start {
                id: "msg_1".into(),
                model: "c".into()
            },
            Event::Usage(Usage {
                input: 8,
                cached: 3,
                output: 1,
                ..Usage::default()
            }),
            Event::BlockStart {
                index: 0,
                block: Block::ToolCall {
                    id: "t".into(),
                    name: "get".into()
                }
            },
            Event::Delta {
                index: 0,
                delta: Delta::Arguments("{}".into())
            },
            Event::BlockStop { index: 0 },
            Event::Finish(Finish::Stop),
            Event::End,
        ]
    );
    let mut decoder = StreamDecoder::new();
    assert!(decoder.finish(&mut Vec::new()).is_err());
    let error = frames(
        "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n",
    );
    assert_eq!(
        StreamDecoder::new().frame(&error[0], &mut Vec::new()),
        Err(crate::TranslateError::Upstream("Overloaded".into()))
    );
}

#[test]
fn stream_encoder_writes_each_frame_once_with_the_estimate() {
    let client = ClientView {
        model: "cm".into(),
        id: "req".into(),
        estimated_input_tokens: 42,
        ..ClientView::default()
    };
    let mut encoder = StreamEncoder::new(&client);
    let mut out = Vec::new();
    for event in [
        Event::Start {
            id: String::new(),
            model: String::new(),
        },
        Event::BlockStart {
            index: 0,
            block: Block::Text,
        },
        Event::Delta {
            index: 0,
            delta: Delta::Text("hi".into()),
        },
        Event::BlockStop { index: 0 },
        Event::Usage(Usage {
            output: 3,
            ..Usage::default()
        }),
        Event::Finish(Finish::Length),
        Event::End,
        Event::End,
    ] {
        encoder.event(&event, &mut out);
    }
    let names: Vec<_> = frames(std::str::from_utf8(&out).unwrap())
        .into_iter()
        .map(|f| f.event.unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "message_start",
            "content_block_start",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ]
    );
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("\"input_tokens\":42"));
    assert!(text.contains("\"id\":\"msg_req\""));
    assert!(text.contains("\"stop_reason\":\"max_tokens\""));
}

#[test]
fn response_round_trip_keeps_usage_meaning() {
    let body = json!({
        "id": "msg_1", "type": "message", "role": "assistant", "model": "c",
        "content": [{"type": "text", "text": "hi"}, {"type": "tool_use", "id": "t", "name": "get", "input": {"a": 1}}],
        "stop_reason": "tool_use", "stop_sequence": null,
        "usage": {"input_tokens": 10, "cache_creation_input_tokens": 2, "cache_read_input_tokens": 3, "output_tokens": 4}
    });
    let response = decode_response(body.to_string().as_bytes()).unwrap();
    assert_eq!(
        response.usage,
        Usage {
            input: 15,
            cached: 3,
            cache_write: 2,
            output: 4,
            reasoning: 0
        }
    );
    assert_eq!(response.finish, Finish::ToolCalls);
    let client = ClientView {
        model: "c".into(),
        ..ClientView::default()
    };
    let back: Value = serde_json::from_slice(&encode_response(&response, &client)).unwrap();
    assert_eq!(back, body);
    assert!(decode_response(br#"{"type":"error","error":{"type":"x","message":"bad"}}"#).is_err());
}

mod no_panic {
    use proptest::prelude::*;

    use super::*;

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            "[a-z_]{0,12}".prop_map(Value::from),
            prop::sample::select(vec![
                "user",
                "assistant",
                "text",
                "image",
                "tool_use",
                "tool_result",
                "thinking",
                "base64",
                "url",
                "enabled",
                "adaptive",
                "message_start",
                "content_block_start",
                "content_block_delta",
                "content_block_stop",
                "message_delta",
                "message_stop",
                "text_delta",
                "input_json_delta"
            ])
            .prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::vec(
                    (
                        prop::sample::select(vec![
                            "type",
                            "role",
                            "content",
                            "messages",
                            "text",
                            "source",
                            "index",
                            "delta",
                            "message",
                            "content_block",
                            "input",
                            "id",
                            "name",
                            "thinking",
                            "usage",
                            "tools",
                            "system",
                            "tool_choice",
                            "partial_json",
                            "data",
                            "media_type"
                        ]),
                        inner
                    ),
                    0..6
                )
                .prop_map(|pairs| Value::Object(
                    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
                )),
            ]
        })
    }

    proptest! {
        #[test]
        fn decoders_never_panic(value in json_value(), bytes in prop::collection::vec(any::<u8>(), 0..64)) {
            let text = value.to_string();
            if let Ok(request) = decode_request(text.as_bytes()) {
                let _ = encode_request(&request);
                let _ = encode_count_request(&request);
            }
            let _ = decode_request(&bytes);
            if let Ok(response) = decode_response(text.as_bytes()) {
                let _ = encode_response(&response, &ClientView::default());
            }
            let _ = decode_response(&bytes);
            let mut decoder = StreamDecoder::new();
            let mut events = Vec::new();
            let _ = decoder.frame(&Frame { event: None, data: text }, &mut events);
            let _ = decoder.frame(&Frame { event: None, data: String::from_utf8_lossy(&bytes).into_owned() }, &mut events);
            let _ = decoder.finish(&mut events);
            let mut encoder = StreamEncoder::new(&ClientView::default());
            let mut out = Vec::new();
            for event in &events {
                encoder.event(event, &mut out);
            }
        }
    }
}

#[test]
fn thinking_is_dropped_for_an_unthinking_tool_turn_and_inputs_are_objects() {
    let mut request = base("claude-sonnet-4-5");
    request.thinking = Some(Thinking::Budget(2048));
    request.messages.push(Message {
        role: Role::Assistant,
        parts: vec![Part::ToolCall {
            id: "t".into(),
            name: "get".into(),
            arguments: "{}".into(),
            signature: None,
        }],
    });
    request.messages.push(Message {
        role: Role::User,
        parts: vec![Part::ToolResult {
            call_id: "t".into(),
            name: None,
            content: vec![],
            is_error: false,
        }],
    });
    assert!(encode(&request).get("thinking").is_none());
    request.messages[1].parts.insert(
        0,
        Part::Thinking {
            text: "t".into(),
            signature: Some(Signature {
                family: SignatureFamily::Claude,
                value: "s".into(),
            }),
        },
    );
    assert_eq!(encode(&request)["thinking"]["budget_tokens"], 2048);
    assert_eq!(input_arguments(json!("{\"a\":1}")), "{\"a\":1}");
    assert_eq!(input_arguments(json!([1])), "{}");
    assert_eq!(input_arguments(json!(null)), "{}");
}

#[test]
fn repeated_tool_results_collapse_and_bad_arguments_become_objects() {
    let mut request = base("claude-sonnet-4-5");
    let result = |id: &str, text: &str| Part::ToolResult {
        call_id: id.to_owned(),
        name: None,
        content: vec![Part::text(text)],
        is_error: false,
    };
    let call = |id: &str, arguments: &str| Part::ToolCall {
        id: id.to_owned(),
        name: "f".to_owned(),
        arguments: arguments.to_owned(),
        signature: None,
    };
    request.messages.push(Message {
        role: Role::Assistant,
        parts: vec![call("a", "{cut"), call("b", "[1]")],
    });
    request.messages.push(Message {
        role: Role::User,
        parts: vec![result("a", "old"), result("b", "two"), result("a", "new")],
    });
    let body = encode(&request);
    assert_eq!(body["messages"][1]["content"][0]["input"], json!({}));
    assert_eq!(body["messages"][1]["content"][1]["input"], json!({}));
    let results = body["messages"][2]["content"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    assert_eq!(results[0]["tool_use_id"], "a");
    assert_eq!(results[0]["content"][0]["text"], "new");
    assert_eq!(results[1]["tool_use_id"], "b");
}

#[test]
fn instructions_alone_become_the_user_turn() {
    let mut request = base("claude-sonnet-4-5");
    request.messages.clear();
    request.system = vec![Part::text("say hi")];
    let body = encode(&request);
    assert!(body.get("system").is_none());
    assert_eq!(
        body["messages"],
        json!([{"role": "user", "content": [{"type": "text", "text": "say hi"}]}])
    );
    request.system.clear();
    assert!(encode_request(&request).is_err());
}

#[test]
fn redacted_thinking_streams_through_as_one_block() {
    let text = concat!(
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"model\":\"c\",\"content\":[]}}\n\n",
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"redacted_thinking\",\"data\":\"RA==\"}}\n\n",
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n",
        "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
    );
    let mut decoder = StreamDecoder::new();
    let mut events = Vec::new();
    for frame in frames(text) {
        decoder.frame(&frame, &mut events).unwrap();
    }
    let block = Block::RedactedThinking {
        data: "RA==".into(),
        family: SignatureFamily::Claude,
    };
    assert_eq!(events[1], Event::BlockStart { index: 0, block });
    assert_eq!(events[2], Event::BlockStop { index: 0 });

    let mut encoder = StreamEncoder::new(&ClientView::default());
    let mut out = Vec::new();
    for event in &events {
        encoder.event(event, &mut out);
    }
    let start = frames(std::str::from_utf8(&out).unwrap())
        .into_iter()
        .find(|f| f.event.as_deref() == Some("content_block_start"))
        .unwrap();
    let start: Value = serde_json::from_str(&start.data).unwrap();
    assert_eq!(
        start["content_block"],
        json!({"type": "redacted_thinking", "data": "RA=="})
    );
}
