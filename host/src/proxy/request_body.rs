//! The client's JSON body, parsed once: where its `model` is and whether it asks to stream.
//!
//! The body is forwarded as the client's bytes; only when the upstream knows the model by another
//! name is the `model` value spliced in place. Nothing else is re-encoded.

use std::ops::Range;

use bytes::{Bytes, BytesMut};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::error::ProxyError;

/// A parsed request body.
#[derive(Debug, Clone)]
pub(crate) struct RequestBody {
    /// The bytes as received.
    pub bytes: Bytes,
    /// The top-level `model` string, if present.
    pub model: Option<String>,
    /// Where the `model` value (a JSON string, quotes included) sits in `bytes`.
    model_span: Option<Range<usize>>,
    /// `stream: true`.
    pub stream: bool,
}

/// The fields the proxy reads; everything else is skipped (but still syntax-checked).
#[derive(Deserialize)]
struct Head<'a> {
    #[serde(borrow, default)]
    model: Option<&'a RawValue>,
    #[serde(default)]
    stream: Option<serde_json::Value>,
}

impl RequestBody {
    /// Parses `bytes` as a JSON object. A syntax error, a non-object or a non-string `model`
    /// is an [`ProxyError::InvalidRequest`].
    pub(crate) fn parse(bytes: Bytes) -> Result<Self, ProxyError> {
        if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            return Err(ProxyError::InvalidRequest(
                "the request body must be a JSON object".to_owned(),
            ));
        }
        let head: Head<'_> = serde_json::from_slice(&bytes)
            .map_err(|e| ProxyError::InvalidRequest(format!("invalid JSON body: {e}")))?;
        let (model, model_span) = match head.model {
            None => (None, None),
            Some(raw) => {
                let text = raw.get();
                if text == "null" {
                    (None, None)
                } else {
                    let value: String = serde_json::from_str(text).map_err(|_| {
                        ProxyError::InvalidRequest("model must be a string".to_owned())
                    })?;
                    let start = text.as_ptr() as usize - bytes.as_ptr() as usize;
                    (Some(value), Some(start..start + text.len()))
                }
            }
        };
        let stream = match head.stream {
            None | Some(serde_json::Value::Null) => false,
            Some(serde_json::Value::Bool(b)) => b,
            Some(_) => {
                return Err(ProxyError::InvalidRequest(
                    "stream must be a boolean".to_owned(),
                ));
            }
        };
        Ok(RequestBody {
            model,
            model_span,
            stream,
            bytes,
        })
    }

    /// The body with `model` set to `upstream`; the same bytes when it already is.
    pub(crate) fn with_model(&self, upstream: &str) -> Bytes {
        match (&self.model, &self.model_span) {
            (Some(model), Some(span)) if model != upstream => {
                let value = serde_json::to_string(upstream).expect("strings serialize");
                let mut out = BytesMut::with_capacity(self.bytes.len() + value.len());
                out.extend_from_slice(&self.bytes[..span.start]);
                out.extend_from_slice(value.as_bytes());
                out.extend_from_slice(&self.bytes[span.end..]);
                out.freeze()
            }
            _ => self.bytes.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<RequestBody, ProxyError> {
        RequestBody::parse(Bytes::copy_from_slice(text.as_bytes()))
    }

    #[test]
    fn reads_model_and_stream() {
        let body =
            parse(r#"{"messages":[{"role":"user","content":"hi"}],"model":"gpt-5","stream":true}"#)
                .unwrap();
        assert_eq!(body.model.as_deref(), Some("gpt-5"));
        assert!(body.stream);
        assert!(!parse(r#"{"model":"x"}"#).unwrap().stream);
    }

    #[test]
    fn rewrites_only_the_model_value() {
        let text = r#"{ "model" : "sonnet(8192)", "max_tokens": 5, "x": "model" }"#;
        let body = parse(text).unwrap();
        let rewritten = body.with_model("claude-sonnet-4-20250514");
        assert_eq!(
            std::str::from_utf8(&rewritten).unwrap(),
            r#"{ "model" : "claude-sonnet-4-20250514", "max_tokens": 5, "x": "model" }"#
        );
        // Same name: the very same bytes.
        let same = parse(r#"{"model":"gpt-5"}"#).unwrap();
        assert_eq!(same.with_model("gpt-5").as_ptr(), same.bytes.as_ptr());
    }

    #[test]
    fn escaped_model_names_are_decoded_and_replaced_whole() {
        let body = parse(r#"{"model":"a\u002fb"}"#).unwrap();
        assert_eq!(body.model.as_deref(), Some("a/b"));
        assert_eq!(&body.with_model("c")[..], br#"{"model":"c"}"#);
    }

    #[test]
    fn rejects_bad_json_and_bad_types() {
        for bad in [
            "{",
            "[]",
            r#"{"model":1}"#,
            r#"{"model":"x","stream":"yes"}"#,
            r#"{"a":1} x"#,
        ] {
            assert!(
                matches!(parse(bad), Err(ProxyError::InvalidRequest(_))),
                "{bad}"
            );
        }
    }

    /// Arbitrary bytes, or JSON objects with arbitrary `model` and `stream` values.
    fn bodies() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
        use proptest::prelude::*;
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..256),
            (any::<String>(), any::<Option<bool>>(), any::<String>()).prop_map(
                |(model, stream, other)| {
                    let mut body = serde_json::json!({ "model": model, "x": other });
                    if let Some(stream) = stream {
                        body["stream"] = stream.into();
                    }
                    body.to_string().into_bytes()
                }
            ),
        ]
    }

    /// Parsing never panics; a parsed model is replaced whole and the result is JSON again.
    fn parse_property(bytes: Vec<u8>, upstream: &str) {
        match RequestBody::parse(Bytes::from(bytes)) {
            Err(error) => assert!(matches!(error, ProxyError::InvalidRequest(_))),
            Ok(body) => {
                let rewritten = body.with_model(upstream);
                if body.model.is_some() {
                    let again = RequestBody::parse(rewritten).expect("still a JSON object");
                    assert_eq!(again.model.as_deref(), Some(upstream));
                    assert_eq!(again.stream, body.stream);
                }
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config::with_cases(256))]

        #[test]
        fn any_bytes_parse_or_are_a_400(bytes in bodies(), upstream in ".{0,40}") {
            parse_property(bytes, &upstream);
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config::with_cases(200_000))]

        /// The long run (`cargo test -- --ignored`), the stable stand-in for `cargo fuzz`.
        #[test]
        #[ignore = "long-running property test"]
        fn any_bytes_parse_or_are_a_400_long(bytes in bodies(), upstream in ".{0,40}") {
            parse_property(bytes, &upstream);
        }
    }
}
