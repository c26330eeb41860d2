//! The OpenAI Responses codec: `POST /responses` as a client protocol and as the public
//! Responses API upstream wire.
//!
//! - [`request`]: `input` (string or items: messages of every role, function and custom tool
//!   calls and outputs, reasoning items) and settings into the hub request; the hub request
//!   into a public-API body (`store:false`, call ids over 64 characters shortened stably).
//! - [`response`]: whole response objects both ways.
//! - [`stream_decode`] / [`stream_encode`]: the Responses event stream both ways.
//! - [`wire`]: serde mirrors of the schema.
//!
//! Decisions toward the public Responses API upstream (never a first-party client's
//! impersonation): `stream` only when the client streams; no tools added; `store:false`
//! always (switchyard keeps no server-side state for translated clients, and
//! `previous_response_id`/`conversation`/`store:true` are refused as same-protocol-only);
//! `include:["reasoning.encrypted_content"]` only when reasoning is asked for or a reasoning
//! item is replayed (without stored state, encrypted content is the only way to replay it; a
//! non-reasoning model would reject the include). Thinking of other families is not replayed.
//! `stop` and `n > 1` are refused (the API has neither). Custom (freeform) tools and their
//! calls become function tools with an `{"input": string}` schema (spec §3.2); namespaced tools
//! are flattened to `<namespace>__<name>`. Answers to a Responses client give both back as it
//! declared them ([`tools::ClientTools`]): `custom_tool_call` with the raw input, and
//! `function_call` with `name` + `namespace`.
//! Hidden reasoning of another family reaches a Responses client as a reasoning item whose
//! `encrypted_content` is `redacted:<family#>data`, and is read back the same way.

mod out;
mod request;
mod response;
mod stream_decode;
mod stream_encode;
mod tools;
mod wire;

pub(crate) use request::{client_tools, decode_request, encode_request};
pub(crate) use response::{decode_response, encode_response};
pub(crate) use stream_decode::StreamDecoder;
pub(crate) use stream_encode::StreamEncoder;
pub use tools::ClientTools;

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::sse::Frame;

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = decode_request(&bytes);
            let _ = decode_response(&bytes);
            let mut decoder = StreamDecoder::new();
            let mut out = Vec::new();
            let frame = Frame { event: None, data: String::from_utf8_lossy(&bytes).into_owned() };
            let _ = decoder.frame(&frame, &mut out);
            let _ = decoder.finish(&mut out);
        }

        #[test]
        fn arbitrary_json_never_panics(
            kind in prop::sample::select(vec![
                "response.created", "response.output_item.added", "response.output_item.done",
                "response.output_text.delta", "response.function_call_arguments.delta",
                "response.custom_tool_call_input.delta", "response.reasoning_summary_part.added",
                "response.completed", "response.incomplete", "message", "function_call",
                "reasoning", "custom_tool_call", "function_call_output", "input_image",
            ]),
            text in ".{0,12}",
            number in any::<i64>(),
        ) {
            let item = serde_json::json!({"type": kind, "role": text, "content": [{"type": kind, "text": text}],
                "call_id": text, "name": text, "output": [{"type": kind}], "summary": [{"text": text}],
                "encrypted_content": text});
            let bodies = [
                serde_json::json!({"input": [item], "tools": [item], "tool_choice": item, "text": {"format": item}}),
                serde_json::json!({"input": text, "reasoning": {"effort": text}, "max_output_tokens": number}),
                serde_json::json!({"status": kind, "output": [item], "usage": {"input_tokens": number}}),
            ];
            for body in &bodies {
                let bytes = body.to_string().into_bytes();
                if let Ok(request) = decode_request(&bytes) {
                    let _ = encode_request(&request);
                }
                if let Ok(response) = decode_response(&bytes) {
                    let _ = encode_response(&response, &crate::ClientView::default());
                }
            }
            let mut decoder = StreamDecoder::new();
            let mut out = Vec::new();
            for data in [
                serde_json::json!({"type": kind, "item": item, "delta": text, "response": bodies[2]}),
                serde_json::json!({"type": "response.output_item.done", "item": item}),
            ] {
                let _ = decoder.frame(&Frame { event: None, data: data.to_string() }, &mut out);
            }
            let _ = decoder.finish(&mut out);
            let mut encoder = StreamEncoder::new(&crate::ClientView::default());
            let mut bytes = Vec::new();
            for event in &out {
                encoder.event(event, &mut bytes);
            }
        }
    }
}
