//! Unit tests of the chat codec.

use serde_json::{Value, json};

use super::*;
use crate::ClientView;
use crate::ir::{Block, Delta, Event, Finish, Media, Part, Role, Thinking, Usage};
use crate::sse::Frame;

fn decode(body: Value) -> Result<crate::ir::Request, crate::TranslateError> {
    decode_request(body.to_string().as_bytes())
}

fn frames(chunks: &[Value]) -> Result<Vec<Event>, crate::TranslateError> {
    let mut decoder = StreamDecoder::new();
    let mut out = Vec::new();
    for chunk in chunks {
        let data = match chunk {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        decoder.frame(&Frame { event: None, data }, &mut out)?;
    }
    decoder.finish(&mut out)?;
    Ok(out)
}

fn chunk(delta: Value, finish: Value) -> Value {
    json!({"id": "chatcmpl-1", "object": "chat.completion.chunk", "model": "m",
           "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
}

#[test]
fn roles_tools_and_results_decode() {
    let request = decode(json!({
        "model": "m",
        "max_tokens": 10, "max_completion_tokens": 20,
        "reasoning_effort": "high",
        "messages": [
            {"role": "developer", "content": "be brief"},
            {"role": "user", "content": [
                {"type": "text", "text": "look"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
                {"type": "image_url", "image_url": {"url": "https://x/y.png"}},
                {"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBE", "filename": "a.pdf"}}
            ]},
            {"role": "assistant", "content": null, "reasoning_content": "hmm",
             "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{\"a\":1}"}},
                            {"id": "c2", "type": "function", "function": {"name": "f", "arguments": ""}}]},
            {"role": "tool", "tool_call_id": "c1", "content": "one"},
            {"role": "tool", "tool_call_id": "c2", "content": [{"type": "text", "text": "two"}]},
            {"role": "user", "content": "go on"}
        ]
    }))
    .unwrap();
    assert_eq!(request.max_tokens, Some(10));
    assert_eq!(
        request.thinking,
        Some(Thinking::Effort(crate::ir::Effort::High))
    );
    assert_eq!(request.system, vec![Part::text("be brief")]);
    assert_eq!(request.messages.len(), 3);
    assert!(matches!(
        &request.messages[0].parts[1],
        Part::Image(Media::Base64 { media_type, data }) if media_type == "image/png" && data == "AAAA"
    ));
    assert!(matches!(
        &request.messages[0].parts[2],
        Part::Image(Media::Url(_))
    ));
    assert!(matches!(
        &request.messages[0].parts[3],
        Part::Document { .. }
    ));
    assert!(matches!(&request.messages[1].parts[0], Part::Thinking { text, .. } if text == "hmm"));
    assert!(
        matches!(&request.messages[1].parts[2], Part::ToolCall { arguments, .. } if arguments == "{}")
    );
    let last = &request.messages[2];
    assert_eq!(last.role, Role::User);
    assert!(matches!(&last.parts[0], Part::ToolResult { call_id, .. } if call_id == "c1"));
    assert!(matches!(&last.parts[1], Part::ToolResult { call_id, .. } if call_id == "c2"));
    assert_eq!(last.parts[2], Part::text("go on"));
}

#[test]
fn refusals_and_invalid_fields_name_the_field() {
    let err = decode(
        json!({"model": "m", "messages": [{"role": "user", "content": [
        {"type": "input_audio", "input_audio": {"data": "x", "format": "wav"}}]}]}),
    )
    .unwrap_err();
    assert!(
        matches!(err, crate::TranslateError::Unsupported { ref field, .. } if field == "messages[0].content[0]")
    );
    let err = decode(json!({"model": "m", "messages": [], "functions": []})).unwrap_err();
    assert!(
        matches!(err, crate::TranslateError::Unsupported { ref field, .. } if field == "functions")
    );
    let err =
        decode(json!({"model": "m", "messages": [], "reasoning_effort": "huge"})).unwrap_err();
    assert!(err.to_string().contains("reasoning_effort"));
    let err =
        decode(json!({"model": "m", "messages": [{"role": "tool", "content": "x"}]})).unwrap_err();
    assert!(err.to_string().contains("messages[0].tool_call_id"));
    let request = decode(
        json!({"model": "m", "messages": [], "web_search_options": {},
        "tools": [{"type": "custom", "custom": {"name": "x"}}]}),
    )
    .unwrap();
    assert_eq!(
        request.same_protocol_only,
        vec!["tools[0]", "web_search_options"]
    );
}

#[test]
fn encoding_writes_max_tokens_effort_and_usage_option() {
    let mut request = decode(
        json!({"model": "m", "stream": true, "max_completion_tokens": 50,
        "reasoning_effort": "max",
        "messages": [{"role": "user", "content": "hi"}]}),
    )
    .unwrap();
    request.model = "up".into();
    let body: Value = serde_json::from_slice(&encode_request(&request).unwrap()).unwrap();
    assert_eq!(body["max_tokens"], 50);
    assert_eq!(body["reasoning_effort"], "xhigh");
    assert_eq!(body["stream_options"]["include_usage"], true);
    assert_eq!(
        body["messages"][0],
        json!({"role": "user", "content": "hi"})
    );
    request.n = Some(2);
    assert!(
        matches!(encode_request(&request), Err(crate::TranslateError::Unsupported { ref field, .. }) if field == "n")
    );
}

#[test]
fn tool_choice_is_sent_only_with_tools() {
    let mut request = decode(json!({"model": "m", "tool_choice": "required",
        "messages": [{"role": "user", "content": "hi"}]}))
    .unwrap();
    let body: Value = serde_json::from_slice(&encode_request(&request).unwrap()).unwrap();
    assert!(body.get("tool_choice").is_none(), "{body}");
    request.tools.push(crate::ir::Tool {
        name: "get".into(),
        description: None,
        parameters: json!({"type": "object"}),
        strict: None,
        cache_control: None,
    });
    let body: Value = serde_json::from_slice(&encode_request(&request).unwrap()).unwrap();
    assert_eq!(body["tool_choice"], "required");
}

#[test]
fn parallel_tool_calls_with_late_ids_and_names() {
    let events = frames(&[
        chunk(json!({"role": "assistant", "content": "ok"}), Value::Null),
        chunk(json!({"tool_calls": [{"index": 0, "function": {"arguments": "{\"a\""}}]}), Value::Null),
        chunk(json!({"tool_calls": [{"index": 0, "id": "c0", "function": {"name": "f", "arguments": ":1}"}}]}), Value::Null),
        chunk(json!({"tool_calls": [{"index": 1, "id": "c1", "function": {"name": null, "arguments": ""}}]}), Value::Null),
        chunk(json!({"tool_calls": [{"index": 1, "function": {"name": "g"}}]}), Value::Null),
        chunk(json!({}), json!("tool_calls")),
        json!({"id": "chatcmpl-1", "choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}}),
        json!("[DONE]"),
    ])
    .unwrap();
    assert_eq!(
        events,
        vec![
            Event::Start {
                id: "chatcmpl-1".into(),
                model: "m".into()
            },
            Event::BlockStart {
                index: 0,
                block: Block::Text
            },
            Event::Delta {
                index: 0,
                delta: Delta::Text("ok".into())
            },
            Event::BlockStop { index: 0 },
            Event::BlockStart {
                index: 1,
                block: Block::ToolCall {
                    id: "c0".into(),
                    name: "f".into()
                }
            },
            Event::Delta {
                index: 1,
                delta: Delta::Arguments("{\"a\":1}".into())
            },
            Event::BlockStop { index: 1 },
            Event::BlockStart {
                index: 2,
                block: Block::ToolCall {
                    id: "c1".into(),
                    name: "g".into()
                }
            },
            Event::Delta {
                index: 2,
                delta: Delta::Arguments("{}".into())
            },
            Event::BlockStop { index: 2 },
            Event::Usage(Usage {
                input: 5,
                output: 3,
                ..Usage::default()
            }),
            Event::Finish(Finish::ToolCalls),
            Event::End,
        ]
    );
}

#[test]
fn finish_usage_and_done_in_any_order() {
    let usage = json!({"id": "x", "choices": [], "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}});
    let text = chunk(json!({"content": "a"}), Value::Null);
    let stop = chunk(json!({}), json!("length"));
    for order in [
        vec![text.clone(), stop.clone(), usage.clone(), json!("[DONE]")],
        vec![text.clone(), usage.clone(), stop.clone(), json!("[DONE]")],
        vec![text.clone(), stop.clone(), usage.clone()],
        vec![
            text.clone(),
            stop.clone(),
            json!("[DONE]"),
            usage.clone(),
            json!("[DONE]"),
        ],
    ] {
        let events = frames(&order).unwrap();
        check_order(&events);
        assert_eq!(
            events
                .iter()
                .filter(|e| matches!(e, Event::Finish(Finish::Length)))
                .count(),
            1
        );
        assert_eq!(events.last(), Some(&Event::End));
        let finish_at = events
            .iter()
            .position(|e| matches!(e, Event::Finish(_)))
            .unwrap();
        assert!(
            events[finish_at..]
                .iter()
                .all(|e| matches!(e, Event::Finish(_) | Event::End))
        );
    }
    assert!(frames(&[]).is_err());
    assert!(frames(&[json!({"error": {"message": "boom"}})]).is_err());
    let events = frames(&[text]).unwrap();
    assert_eq!(events.last(), Some(&Event::End));
}

#[test]
fn a_tool_call_resumed_after_another_block_is_refused() {
    let result = frames(&[
        chunk(
            json!({"tool_calls": [{"index": 0, "id": "a", "function": {"name": "f", "arguments": "{"}}]}),
            Value::Null,
        ),
        chunk(json!({"content": "x"}), Value::Null),
        chunk(
            json!({"tool_calls": [{"index": 0, "function": {"arguments": "}"}}]}),
            Value::Null,
        ),
    ]);
    assert!(result.is_err());
}

#[test]
fn client_stream_has_usage_only_when_asked() {
    let view = ClientView {
        model: "cm".into(),
        id: "r1".into(),
        created: 7,
        include_usage: true,
        ..ClientView::default()
    };
    let events = [
        Event::Start {
            id: "up".into(),
            model: "x".into(),
        },
        Event::BlockStart {
            index: 0,
            block: Block::ToolCall {
                id: "c".into(),
                name: "f".into(),
            },
        },
        Event::Delta {
            index: 0,
            delta: Delta::Arguments("{}".into()),
        },
        Event::BlockStop { index: 0 },
        Event::Usage(Usage {
            input: 3,
            output: 2,
            ..Usage::default()
        }),
        Event::Finish(Finish::Stop),
        Event::End,
    ];
    let mut with = Vec::new();
    let mut encoder = StreamEncoder::new(&view);
    for e in &events {
        encoder.event(e, &mut with);
    }
    let text = String::from_utf8(with).unwrap();
    assert!(text.contains("\"finish_reason\":\"tool_calls\""));
    assert!(text.contains("\"prompt_tokens\":3"));
    assert!(text.contains("chatcmpl-r1"));
    assert!(text.ends_with("data: [DONE]\n\n"));
    let mut without = Vec::new();
    let mut encoder = StreamEncoder::new(&ClientView {
        include_usage: false,
        ..view
    });
    for e in &events {
        encoder.event(e, &mut without);
    }
    assert!(
        !String::from_utf8(without)
            .unwrap()
            .contains("prompt_tokens")
    );
}

#[test]
fn whole_answers_round_trip() {
    let body = json!({"id": "chatcmpl-9", "object": "chat.completion", "created": 5, "model": "up",
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant",
            "content": null, "reasoning": "think",
            "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}]}}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 4, "total_tokens": 14,
                  "prompt_tokens_details": {"cached_tokens": 6},
                  "completion_tokens_details": {"reasoning_tokens": 2}}});
    let response = decode_response(body.to_string().as_bytes()).unwrap();
    assert_eq!(response.finish, Finish::ToolCalls);
    assert_eq!(
        response.usage,
        Usage {
            input: 10,
            cached: 6,
            cache_write: 0,
            output: 4,
            reasoning: 2
        }
    );
    assert!(matches!(&response.content[0], Part::Thinking { text, .. } if text == "think"));
    let view = ClientView {
        model: "cm".into(),
        id: "r".into(),
        created: 1,
        ..ClientView::default()
    };
    let out: Value = serde_json::from_slice(&encode_response(&response, &view)).unwrap();
    assert_eq!(out["model"], "cm");
    assert_eq!(out["choices"][0]["finish_reason"], "tool_calls");
    assert_eq!(out["choices"][0]["message"]["content"], Value::Null);
    assert_eq!(out["choices"][0]["message"]["reasoning_content"], "think");
    assert_eq!(out["usage"]["prompt_tokens_details"]["cached_tokens"], 6);
    assert!(decode_response(b"{\"error\":{\"message\":\"no\"}}").is_err());
    assert!(decode_response(b"{\"choices\":[]}").is_err());
}

/// Asserts the order contract of `ir/event.rs`.
fn check_order(events: &[Event]) {
    assert!(
        matches!(events.first(), Some(Event::Start { .. })),
        "{events:?}"
    );
    let mut open: Option<usize> = None;
    let mut next = 0;
    let mut finished = false;
    for (at, event) in events.iter().enumerate().skip(1) {
        match event {
            Event::Start { .. } => panic!("a second start: {events:?}"),
            Event::BlockStart { index, .. } => {
                assert!(!finished && open.is_none() && *index == next, "{events:?}");
                open = Some(*index);
                next += 1;
            }
            Event::Delta { index, .. } => assert_eq!(open, Some(*index), "{events:?}"),
            Event::BlockStop { index } => {
                assert_eq!(open, Some(*index), "{events:?}");
                open = None;
            }
            Event::Usage(_) => assert!(!finished, "{events:?}"),
            Event::Finish(_) => {
                assert!(!finished && open.is_none(), "{events:?}");
                finished = true;
            }
            Event::End => assert!(finished && at == events.len() - 1, "{events:?}"),
        }
    }
    assert_eq!(events.last(), Some(&Event::End));
}

mod no_panics {
    use proptest::prelude::*;

    use super::*;

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            "[a-z_\\[\\]:;,{}\"]{0,12}".prop_map(Value::from),
            prop_oneof![
                Just("user"),
                Just("assistant"),
                Just("tool"),
                Just("system"),
                Just("function"),
                Just("text"),
                Just("image_url"),
                Just("file"),
                Just("tool_calls"),
                Just("stop"),
                Just("data:image/png;base64,AA"),
                Just("[DONE]")
            ]
            .prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                prop::collection::vec(
                    (
                        prop_oneof![
                            Just("model"),
                            Just("messages"),
                            Just("role"),
                            Just("content"),
                            Just("tool_calls"),
                            Just("index"),
                            Just("id"),
                            Just("function"),
                            Just("name"),
                            Just("arguments"),
                            Just("choices"),
                            Just("delta"),
                            Just("finish_reason"),
                            Just("usage"),
                            Just("type"),
                            Just("text"),
                            Just("tools"),
                            Just("tool_choice"),
                            Just("stop"),
                            Just("message"),
                            Just("reasoning_content"),
                            Just("tool_call_id"),
                            Just("image_url"),
                            Just("url"),
                            Just("file"),
                            Just("file_data"),
                            Just("error")
                        ],
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
            let _ = decode_request(text.as_bytes());
            let _ = decode_request(&bytes);
            let _ = decode_response(text.as_bytes());
            let _ = decode_response(&bytes);
            if let Ok(request) = decode_request(text.as_bytes()) {
                let _ = encode_request(&request);
            }
        }

        #[test]
        fn the_stream_decoder_never_panics(chunks in prop::collection::vec(json_value(), 0..6)) {
            let mut decoder = StreamDecoder::new();
            let mut out = Vec::new();
            for chunk in &chunks {
                let data = match chunk { Value::String(s) => s.clone(), other => other.to_string() };
                if decoder.frame(&Frame { event: None, data }, &mut out).is_err() {
                    break;
                }
            }
            let _ = decoder.finish(&mut out);
        }

        #[test]
        fn any_chat_stream_keeps_the_event_order(steps in prop::collection::vec(step(), 1..14)) {
            let mut decoder = StreamDecoder::new();
            let mut out = Vec::new();
            let mut failed = false;
            for data in steps {
                if decoder.frame(&Frame { event: None, data }, &mut out).is_err() {
                    failed = true;
                    break;
                }
            }
            if !failed && decoder.finish(&mut out).is_ok() {
                check_order(&out);
            }
        }
    }

    /// One realistic upstream frame: text, reasoning, a tool-call fragment, a finish, a
    /// usage-only chunk or `[DONE]`.
    fn step() -> impl Strategy<Value = String> {
        let fragment = (
            0u64..3,
            prop::option::of(prop_oneof![Just("c1"), Just("c2"), Just("")]),
            prop::option::of(prop_oneof![
                Just(json!("f")),
                Just(json!(null)),
                Just(json!(3))
            ]),
            prop::option::of(prop_oneof![Just("{"), Just("}"), Just("")]),
        )
            .prop_map(|(index, id, name, arguments)| {
                let mut call = json!({"index": index, "function": {}});
                if let Some(id) = id {
                    call["id"] = json!(id);
                }
                if let Some(name) = name {
                    call["function"]["name"] = name;
                }
                if let Some(arguments) = arguments {
                    call["function"]["arguments"] = json!(arguments);
                }
                chunk(json!({"tool_calls": [call]}), Value::Null).to_string()
            });
        prop_oneof![
            Just(chunk(json!({"content": "a"}), Value::Null).to_string()),
            Just(chunk(json!({"reasoning_content": "r"}), Value::Null).to_string()),
            Just(chunk(json!({"reasoning": "r", "content": "t"}), Value::Null).to_string()),
            fragment,
            Just(chunk(json!({}), json!("tool_calls")).to_string()),
            Just(chunk(json!({}), json!("stop")).to_string()),
            Just(json!({"id": "u", "choices": [], "usage": {"prompt_tokens": 1}}).to_string()),
            Just("[DONE]".to_owned()),
        ]
    }
}

#[test]
fn error_frames_fail_the_stream() {
    let mut decoder = StreamDecoder::new();
    let mut out = Vec::new();
    let frame = Frame {
        event: Some("error".into()),
        data: json!({"error": {"message": "overloaded"}}).to_string(),
    };
    assert_eq!(
        decoder.frame(&frame, &mut out),
        Err(crate::TranslateError::Upstream("overloaded".into()))
    );
}

#[test]
fn tool_result_images_follow_as_user_content_and_foreign_reasoning_is_dropped() {
    use crate::ir::{Message, Request, Signature, SignatureFamily};
    let request = Request {
        model: "m".into(),
        messages: vec![
            Message {
                role: Role::Assistant,
                parts: vec![Part::Thinking {
                    text: "secret".into(),
                    signature: Some(Signature {
                        family: SignatureFamily::Claude,
                        value: "sig".into(),
                    }),
                }],
            },
            Message {
                role: Role::User,
                parts: vec![Part::ToolResult {
                    call_id: "c".into(),
                    name: None,
                    content: vec![
                        Part::text("shot"),
                        Part::Image(Media::Base64 {
                            media_type: "image/png".into(),
                            data: "AA".into(),
                        }),
                    ],
                    is_error: false,
                }],
            },
        ],
        ..Request::default()
    };
    let body: Value = serde_json::from_slice(&encode_request(&request).unwrap()).unwrap();
    assert_eq!(
        body["messages"],
        json!([
            {"role": "tool", "tool_call_id": "c", "content": "shot"},
            {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64,AA"}}]}
        ])
    );
}

#[test]
fn lenient_servers_empty_finish_reasons_and_odd_counts() {
    let events = frames(&[
        chunk(json!({"content": "a"}), json!("")),
        chunk(json!({"content": "b"}), json!("")),
        json!({"id": "x", "choices": [{"index": null, "delta": {}, "finish_reason": "stop"}],
               "usage": {"prompt_tokens": 2.0, "completion_tokens": null, "total_tokens": "2",
                         "prompt_tokens_details": null}}),
    ])
    .unwrap();
    check_order(&events);
    assert_eq!(
        events
            .iter()
            .filter(|e| matches!(e, Event::BlockStart { .. }))
            .count(),
        1
    );
    assert!(events.contains(&Event::Usage(Usage {
        input: 2,
        ..Usage::default()
    })));
    assert!(events.contains(&Event::Finish(Finish::Stop)));
}

#[test]
fn interleaved_parallel_calls_wait_for_the_open_call_to_complete() {
    let call = |index: u64, id: Option<&str>, arguments: &str| {
        let mut c = json!({"index": index, "function": {"arguments": arguments}});
        if let Some(id) = id {
            c["id"] = json!(id);
            c["function"]["name"] = json!("get");
        }
        c
    };
    let events = frames(&[
        chunk(
            json!({"tool_calls": [call(0, Some("a"), "{\"q\":")]}),
            Value::Null,
        ),
        chunk(
            json!({"tool_calls": [call(1, Some("b"), "{\"q\":")]}),
            Value::Null,
        ),
        chunk(
            json!({"tool_calls": [call(0, None, "\"}\"}")]}),
            Value::Null,
        ),
        chunk(
            json!({"tool_calls": [call(1, None, "2}")]}),
            json!("tool_calls"),
        ),
    ])
    .unwrap();
    check_order(&events);
    let arguments: Vec<(usize, &str)> = events
        .iter()
        .filter_map(|e| match e {
            Event::Delta {
                index,
                delta: Delta::Arguments(a),
            } => Some((*index, a.as_str())),
            _ => None,
        })
        .collect();
    assert_eq!(
        arguments,
        [(0, "{\"q\":"), (0, "\"}\"}"), (1, "{\"q\":"), (1, "2}")]
    );
}

#[test]
fn tool_results_pair_with_made_up_ids_and_keep_cache_control() {
    let request = decode(json!({
        "model": "m",
        "messages": [
            {"role": "user", "content": "go"},
            {"role": "assistant", "content": null, "tool_calls": [
                {"type": "function", "function": {"name": "f", "arguments": "{}"}},
                {"id": "c2", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "whatever", "content": "one",
             "cache_control": {"type": "ephemeral"}},
            {"role": "tool", "tool_call_id": "c2", "content": "two"}
        ]
    }))
    .unwrap();
    let Part::ToolCall { id: made_up, .. } = &request.messages[1].parts[0] else {
        panic!("a tool call");
    };
    let results = &request.messages[2].parts;
    let Part::ToolResult {
        call_id, content, ..
    } = &results[0]
    else {
        panic!("a tool result");
    };
    assert_eq!(call_id, made_up);
    assert!(matches!(
        &content[0],
        Part::Text {
            cache_control: Some(_),
            ..
        }
    ));
    assert!(matches!(&results[1], Part::ToolResult { call_id, .. } if call_id == "c2"));
}

#[test]
fn a_tool_call_without_argument_deltas_streams_an_empty_object() {
    let events = [
        Event::Start {
            id: "up".into(),
            model: "x".into(),
        },
        Event::BlockStart {
            index: 0,
            block: Block::ToolCall {
                id: "c".into(),
                name: "f".into(),
            },
        },
        Event::BlockStop { index: 0 },
        Event::Finish(Finish::ToolCalls),
        Event::End,
    ];
    let mut out = Vec::new();
    let mut encoder = StreamEncoder::new(&ClientView::default());
    for e in &events {
        encoder.event(e, &mut out);
    }
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains(r#""arguments":"{}""#), "{text}");
}
