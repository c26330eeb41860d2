//! Codec-level tests: request round trips, refusals and a no-panic property.

use proptest::prelude::*;
use serde_json::{Value, json};

use super::*;
use crate::TranslateError;
use crate::ir::{Part, Role, Thinking, ToolChoice};
use crate::sse::Frame;

fn decode(value: Value) -> Result<crate::ir::Request, TranslateError> {
    decode_request(value.to_string().as_bytes())
}

fn encode(request: &crate::ir::Request) -> Value {
    serde_json::from_slice(&encode_request(request).unwrap()).unwrap()
}

#[test]
fn snake_case_calls_pair_fifo_by_name() {
    let request = decode(json!({
        "system_instruction": {"parts": [{"text": "be brief"}]},
        "contents": [
            {"role": "user", "parts": [{"text": "go"}]},
            {"role": "model", "parts": [
                {"function_call": {"name": "a", "args": {"x": 1}}, "thought_signature": "s1"},
                {"function_call": {"name": "b", "args": {}}},
                {"function_call": {"name": "a", "args": {"x": 2}}}
            ]},
            {"role": "function", "parts": [
                {"function_response": {"name": "b", "response": {"result": "B"}}},
                {"function_response": {"name": "a", "response": {"v": 1}}},
                {"function_response": {"name": "a", "response": {"error": "boom"}}}
            ]}
        ],
        "generation_config": {"max_output_tokens": 9, "thinking_config": {"thinking_budget": 0, "include_thoughts": true}},
        "tool_config": {"function_calling_config": {"mode": "ANY", "allowed_function_names": ["a"]}}
    }))
    .unwrap();
    assert_eq!(request.system, vec![Part::text("be brief")]);
    assert_eq!(request.messages.len(), 3);
    let ids: Vec<&str> = request.messages[1]
        .parts
        .iter()
        .map(|p| match p {
            Part::ToolCall { id, .. } => id.as_str(),
            _ => "",
        })
        .collect();
    assert_eq!(
        ids,
        ["call_gemini_1_0", "call_gemini_1_1", "call_gemini_1_2"]
    );
    let answered: Vec<(String, String, bool)> = request.messages[2]
        .parts
        .iter()
        .filter_map(|p| match p {
            Part::ToolResult {
                call_id,
                content,
                is_error,
                ..
            } => match content.first() {
                Some(Part::Text { text, .. }) => Some((call_id.clone(), text.clone(), *is_error)),
                _ => None,
            },
            _ => None,
        })
        .collect();
    assert_eq!(
        answered,
        [
            ("call_gemini_1_1".to_owned(), "B".to_owned(), false),
            ("call_gemini_1_0".to_owned(), "{\"v\":1}".to_owned(), false),
            ("call_gemini_1_2".to_owned(), "boom".to_owned(), true),
        ]
    );
    assert_eq!(request.messages[2].role, Role::User);
    assert_eq!(request.thinking, Some(Thinking::Off));
    assert_eq!(request.include_thoughts, Some(true));
    assert_eq!(request.max_tokens, Some(9));
    assert_eq!(request.tool_choice, Some(ToolChoice::Tool("a".into())));
}

#[test]
fn explicit_ids_are_kept_and_builtin_tools_are_same_protocol_only() {
    let request = decode(json!({
        "contents": [
            {"role": "model", "parts": [{"functionCall": {"id": "x1", "name": "a"}}]},
            {"role": "user", "parts": [{"functionResponse": {"id": "x1", "name": "a", "response": {}}}]}
        ],
        "tools": [{"googleSearch": {}}, {"functionDeclarations": [{"name": "a", "parameters": {"type": "OBJECT"}}]}],
        "cachedContent": "cachedContents/1"
    }))
    .unwrap();
    assert!(matches!(&request.messages[0].parts[0], Part::ToolCall { id, .. } if id == "x1"));
    assert!(
        matches!(&request.messages[1].parts[0], Part::ToolResult { call_id, .. } if call_id == "x1")
    );
    assert_eq!(
        request.same_protocol_only,
        ["cachedContent", "tools[0].googleSearch"]
    );
    assert_eq!(request.tools[0].parameters, json!({"type": "object"}));
}

#[test]
fn malformed_requests_are_invalid() {
    for body in [
        json!({"contents": "x"}),
        json!({"contents": [{"role": "robot", "parts": []}]}),
        json!({"generationConfig": {"thinkingConfig": {"thinkingBudget": -5}}}),
        json!({"generationConfig": {"thinkingConfig": {"thinkingLevel": "huge"}}}),
        json!({"toolConfig": {"functionCallingConfig": {"mode": "SOMETIMES"}}}),
    ] {
        assert!(
            matches!(decode(body.clone()), Err(TranslateError::Invalid(_))),
            "{body}"
        );
    }
    assert!(matches!(
        decode(json!({"contents": [{"parts": [{"inlineData": {"mimeType": "audio/wav", "data": "AA"}}]}]})),
        Err(TranslateError::Unsupported { field, .. }) if field == "contents[0].parts[0]"
    ));
}

#[test]
fn encoding_signatures_thinking_and_a_leading_model_turn() {
    let mut request = decode(json!({
        "contents": [
            {"role": "model", "parts": [
                {"text": "thought", "thought": true, "thoughtSignature": "g1"},
                {"text": "answer", "thoughtSignature": "g2"},
                {"functionCall": {"name": "f", "args": {}}}
            ]},
            {"role": "user", "parts": [{"functionResponse": {"name": "f", "response": {"result": "ok"}}}]}
        ]
    }))
    .unwrap();
    request.model = "gemini-3-pro".into();
    request.thinking = Some(Thinking::Effort(crate::ir::Effort::XHigh));
    let body = encode(&request);
    assert_eq!(
        body["contents"][0],
        json!({"role": "user", "parts": [{"text": ""}]})
    );
    let parts = &body["contents"][1]["parts"];
    assert_eq!(
        parts[0],
        json!({"text": "thought", "thought": true, "thoughtSignature": "g1"})
    );
    assert_eq!(
        parts[1],
        json!({"text": "answer", "thoughtSignature": "g2"})
    );
    assert_eq!(parts[2]["thoughtSignature"], crate::GEMINI_SKIP_SIGNATURE);
    assert_eq!(
        body["contents"][2]["parts"][0],
        json!({"functionResponse": {"name": "f", "response": {"result": "ok"}}})
    );
    assert_eq!(
        body["generationConfig"]["thinkingConfig"],
        json!({"thinkingLevel": "high"})
    );
    assert_eq!(body.get("model"), None);
    request.model = "gemini-2.5-flash".into();
    assert_eq!(
        encode(&request)["generationConfig"]["thinkingConfig"],
        json!({"thinkingBudget": 32768})
    );
    let count: Value = serde_json::from_slice(&encode_count_request(&request).unwrap()).unwrap();
    assert_eq!(
        count["generateContentRequest"]["model"],
        "models/gemini-2.5-flash"
    );
}

#[test]
fn foreign_urls_and_many_candidates_are_refused() {
    let mut request = crate::ir::Request::default();
    request.messages.push(crate::ir::Message {
        role: Role::User,
        parts: vec![
            Part::text("x"),
            Part::Image(crate::ir::Media::Url("https://e.com/a.png".into())),
        ],
    });
    assert!(matches!(
        encode_request(&request),
        Err(TranslateError::Unsupported { field, .. }) if field == "messages[0].content[1]"
    ));
    let request = crate::ir::Request {
        n: Some(2),
        ..Default::default()
    };
    assert!(
        matches!(encode_request(&request), Err(TranslateError::Unsupported { field, .. }) if field == "n")
    );
}

proptest! {
    #[test]
    fn no_panic_on_arbitrary_input(bytes in proptest::collection::vec(any::<u8>(), 0..256), text in ".{0,128}") {
        let _ = decode_request(&bytes);
        let _ = decode_request(text.as_bytes());
        let _ = decode_response(&bytes);
        let _ = decode_response(text.as_bytes());
        let mut decoder = StreamDecoder::new();
        let mut out = Vec::new();
        let _ = decoder.frame(&Frame { event: None, data: text.clone() }, &mut out);
        let _ = decoder.finish(&mut out);
    }

    #[test]
    fn no_panic_on_arbitrary_json(value in arb_json()) {
        let body = value.to_string();
        let wrapped = json!({"contents": [{"role": "model", "parts": [value.clone()]}], "generationConfig": value.clone(), "tools": [{"functionDeclarations": [{"name": "f", "parameters": value.clone()}]}]}).to_string();
        for input in [&body, &wrapped] {
            if let Ok(request) = decode_request(input.as_bytes()) {
                let _ = encode_request(&request);
            }
            let _ = decode_response(input.as_bytes());
            let mut decoder = StreamDecoder::new();
            let mut out = Vec::new();
            let _ = decoder.frame(&Frame { event: None, data: input.clone() }, &mut out);
            let _ = decoder.finish(&mut out);
        }
        let _ = schema::clean(&value);
    }
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        "[a-zA-Z$_-]{0,8}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map(
                prop_oneof![
                    Just("text".to_owned()),
                    Just("functionCall".to_owned()),
                    Just("type".to_owned()),
                    Just("anyOf".to_owned()),
                    Just("properties".to_owned()),
                    Just("$ref".to_owned()),
                    Just("enum".to_owned()),
                    Just("candidates".to_owned()),
                    Just("args".to_owned()),
                    "[a-z]{1,6}"
                ],
                inner,
                0..4
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

#[test]
fn wire_text_borrows_from_the_input() {
    let body = br#"{"candidates":[{"content":{"parts":[{"text":"plain","thoughtSignature":"c2ln"},{"inlineData":{"mimeType":"image/png","data":"AAAA"}}]}}]}"#;
    let chunk = response::parse(body).unwrap();
    let parts = &chunk.candidates[0].content.as_ref().unwrap().parts;
    assert!(matches!(
        parts[0].text,
        Some(std::borrow::Cow::Borrowed("plain"))
    ));
    assert!(matches!(
        parts[0].thought_signature,
        Some(std::borrow::Cow::Borrowed(_))
    ));
    assert!(matches!(
        parts[1].inline_data.as_ref().map(|b| &b.data),
        Some(std::borrow::Cow::Borrowed(_))
    ));
    // Escapes need an owned string, and still decode.
    let body = br#"{"candidates":[{"content":{"parts":[{"text":"a\nb"}]}}]}"#;
    let chunk = response::parse(body).unwrap();
    assert_eq!(
        chunk.candidates[0].content.as_ref().unwrap().parts[0]
            .text
            .as_deref(),
        Some("a\nb")
    );
}

#[test]
fn a_foreign_signature_sent_back_joins_its_reasoning() {
    let claude = crate::ir::Signature {
        family: crate::ir::SignatureFamily::Claude,
        value: "EqQB".to_owned(),
    };
    let wrapped = signature::write(&claude).into_owned();
    let request = decode(json!({"contents": [
        {"role": "user", "parts": [{"text": "q"}]},
        {"role": "model", "parts": [
            {"text": "pondering", "thought": true},
            {"text": "", "thought": true, "thoughtSignature": wrapped},
            {"text": "answer", "thoughtSignature": "R2VtaW5p"}
        ]}
    ]}))
    .unwrap();
    assert_eq!(
        request.messages[1].parts,
        vec![
            Part::Thinking {
                text: "pondering".into(),
                signature: Some(claude)
            },
            Part::Thinking {
                text: String::new(),
                signature: Some(crate::ir::Signature {
                    family: crate::ir::SignatureFamily::Gemini,
                    value: "R2VtaW5p".into()
                })
            },
            Part::text("answer"),
        ]
    );
}

#[test]
fn results_follow_the_calls_order_and_a_trailing_model_turn_is_dropped() {
    use crate::ir::Message;
    let call = |id: &str, q: &str| Part::ToolCall {
        id: id.into(),
        name: "get".into(),
        arguments: format!(r#"{{"q":"{q}"}}"#),
        signature: None,
    };
    let result = |id: &str, text: &str| Part::ToolResult {
        call_id: id.into(),
        name: Some("get".into()),
        content: vec![Part::text(text)],
        is_error: false,
    };
    let request = crate::ir::Request {
        model: "m".into(),
        messages: vec![
            Message {
                role: Role::User,
                parts: vec![Part::text("A and B?")],
            },
            Message {
                role: Role::Assistant,
                parts: vec![call("a", "A"), call("b", "B")],
            },
            Message {
                role: Role::User,
                parts: vec![Part::text("also"), result("b", "rain"), result("a", "sun")],
            },
            Message {
                role: Role::Assistant,
                parts: vec![Part::text("prefill")],
            },
        ],
        ..Default::default()
    };
    let body = encode(&request);
    let contents = body["contents"].as_array().unwrap();
    assert_eq!(contents.len(), 3, "{body}");
    let parts = &contents[2]["parts"];
    assert_eq!(parts[0]["functionResponse"]["response"]["result"], "sun");
    assert_eq!(parts[1]["functionResponse"]["response"]["result"], "rain");
    assert_eq!(parts[2]["text"], "also");
}

#[test]
fn instructions_alone_become_the_user_turn() {
    let request = crate::ir::Request {
        model: "g".to_owned(),
        system: vec![Part::text("say hi")],
        ..crate::ir::Request::default()
    };
    let body = encode(&request);
    assert_eq!(
        body["contents"],
        json!([{"role": "user", "parts": [{"text": "say hi"}]}])
    );
    assert!(body.get("systemInstruction").is_none());
    let empty = crate::ir::Request {
        model: "g".to_owned(),
        ..crate::ir::Request::default()
    };
    assert!(encode_request(&empty).is_err());
}
