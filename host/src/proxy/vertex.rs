//! What Vertex AI requires of an Anthropic Messages request (`rawPredict`,
//! `streamRawPredict`, `count-tokens:rawPredict`): the API version in the body as
//! `anthropic_version: "vertex-2023-10-16"` instead of the `anthropic-version` header, and no
//! `model` (the URL names it), except in a token count, which keeps it. Both the pass-through
//! and the translated path adapt their request here, just before it is sent.

use bytes::Bytes;
use http::HeaderMap;
use serde_json::Value;

use super::endpoint::Endpoint;
use crate::credential::{Credential, ProviderKind};
use crate::protocol::Protocol;

/// The Anthropic API version Vertex AI accepts.
pub(crate) const ANTHROPIC_VERSION: &str = "vertex-2023-10-16";

/// Adapts a request to `endpoint` for `credential`: a Claude request to a Vertex credential
/// gets the body Vertex wants and loses the `anthropic-version` header; every other request is
/// unchanged. A body that is not a JSON object is left as it is (the upstream refuses it).
pub(crate) fn adapt(
    credential: &Credential,
    endpoint: Endpoint,
    headers: &mut HeaderMap,
    body: &mut Bytes,
) {
    if credential.provider != ProviderKind::Vertex
        || endpoint.protocol() != Protocol::ClaudeMessages
    {
        return;
    }
    headers.remove("anthropic-version");
    if let Some(adapted) = claude_body(body, endpoint == Endpoint::CountTokens) {
        *body = adapted;
    }
}

/// The Messages `body` as Vertex wants it, or `None` when it is not a JSON object.
fn claude_body(body: &[u8], keep_model: bool) -> Option<Bytes> {
    let Ok(Value::Object(mut fields)) = serde_json::from_slice::<Value>(body) else {
        return None;
    };
    if !keep_model {
        fields.remove("model");
    }
    fields.insert(
        "anthropic_version".to_owned(),
        Value::String(ANTHROPIC_VERSION.to_owned()),
    );
    serde_json::to_vec(&fields).ok().map(Bytes::from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credential::testing::credential;
    use http::HeaderValue;
    use serde_json::json;

    /// A request under test.
    struct Request {
        endpoint: Endpoint,
        headers: HeaderMap,
        body: Bytes,
    }

    fn outgoing(endpoint: Endpoint, body: Value) -> Request {
        let mut headers = HeaderMap::new();
        headers.insert("anthropic-version", HeaderValue::from_static("2023-06-01"));
        headers.insert("anthropic-beta", HeaderValue::from_static("x"));
        Request {
            endpoint,
            headers,
            body: Bytes::from(serde_json::to_vec(&body).unwrap()),
        }
    }

    fn adapt(credential: &Credential, request: &mut Request) {
        super::adapt(
            credential,
            request.endpoint,
            &mut request.headers,
            &mut request.body,
        );
    }

    fn body_of(request: &Request) -> Value {
        serde_json::from_slice(&request.body).unwrap()
    }

    fn vertex() -> Credential {
        let mut c = credential("v", 0);
        c.provider = ProviderKind::Vertex;
        c
    }

    #[test]
    fn a_claude_request_to_vertex_carries_the_version_in_the_body_and_no_model() {
        let request = json!({"model": "claude-x@1", "max_tokens": 5, "stream": true,
            "anthropic_version": "2023-06-01", "messages": [{"role": "user", "content": "hi"}]});
        let mut out = outgoing(Endpoint::Messages, request);
        adapt(&vertex(), &mut out);
        assert_eq!(
            body_of(&out),
            json!({"max_tokens": 5, "stream": true, "anthropic_version": ANTHROPIC_VERSION,
                "messages": [{"role": "user", "content": "hi"}]})
        );
        assert!(!out.headers.contains_key("anthropic-version"));
        assert_eq!(out.headers["anthropic-beta"], "x");
    }

    #[test]
    fn a_token_count_keeps_its_model() {
        let mut out = outgoing(
            Endpoint::CountTokens,
            json!({"model": "claude-x@1", "messages": []}),
        );
        adapt(&vertex(), &mut out);
        assert_eq!(
            body_of(&out),
            json!({"model": "claude-x@1", "messages": [], "anthropic_version": ANTHROPIC_VERSION})
        );
        assert!(!out.headers.contains_key("anthropic-version"));
    }

    #[test]
    fn other_requests_are_unchanged() {
        let request = json!({"model": "m", "contents": []});
        // A Gemini request to Vertex.
        let mut out = outgoing(Endpoint::GeminiGenerate, request.clone());
        adapt(&vertex(), &mut out);
        assert_eq!(body_of(&out), request);
        assert!(out.headers.contains_key("anthropic-version"));
        // A Claude request to Anthropic.
        let mut out = outgoing(Endpoint::Messages, request.clone());
        adapt(&credential("c", 0), &mut out);
        assert_eq!(body_of(&out), request);
        assert!(out.headers.contains_key("anthropic-version"));
        // A body that is not an object.
        let mut out = outgoing(Endpoint::Messages, json!([1]));
        adapt(&vertex(), &mut out);
        assert_eq!(body_of(&out), json!([1]));
    }
}
