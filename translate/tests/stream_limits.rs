//! A translated stream holds bounded memory: a content block may not grow past the frame
//! limit, however small each of its frames is.

use switchyard_translate::{ClientView, Format, RequestOptions, translate_request};

fn claude_stream_with_arguments(pieces: usize) -> Vec<u8> {
    let mut out = String::new();
    let mut frame = |event: &str, data: &str| {
        out.push_str(&format!("event: {event}\ndata: {data}\n\n"));
    };
    frame(
        "message_start",
        r#"{"type":"message_start","message":{"id":"m1","type":"message","role":"assistant","model":"c","content":[],"usage":{"input_tokens":3,"output_tokens":1}}}"#,
    );
    frame(
        "content_block_start",
        r#"{"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"t1","name":"get","input":{}}}"#,
    );
    for _ in 0..pieces {
        frame(
            "content_block_delta",
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"aaaaaaaaaaaaaaaa"}}"#,
        );
    }
    out.into_bytes()
}

#[test]
fn a_block_may_not_grow_past_the_frame_limit() {
    for client in [Format::Chat, Format::Gemini, Format::Responses] {
        let request = match client {
            Format::Gemini => r#"{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}"#,
            Format::Responses => r#"{"model":"m","input":"hi"}"#,
            _ => r#"{"model":"m","messages":[{"role":"user","content":"hi"}]}"#,
        };
        let options = RequestOptions {
            upstream_model: "c",
            thinking: None,
            stream: Some(true),
            client: ClientView::default(),
        };
        let translated =
            translate_request(client, Format::Claude, request.as_bytes(), options).unwrap();
        let mut out = Vec::new();
        // 16 bytes a piece: 4 pieces fit a 64-byte limit, 5 do not.
        let mut small = translated.exchange.stream(64);
        small
            .push(&claude_stream_with_arguments(4), &mut out)
            .unwrap();
        let mut large = translated.exchange.stream(64);
        let error = large
            .push(&claude_stream_with_arguments(5), &mut out)
            .unwrap_err();
        assert!(
            error.to_string().contains("64 bytes"),
            "{client:?}: {error}"
        );
    }
}
