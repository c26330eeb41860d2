//! Who an upstream error is about: the credential, the model on that credential, a rate limit,
//! a passing fault, or the request itself (`docs/upstream-errors.md`).
//!
//! Only the status and the provider's structured error fields decide — never text that can echo
//! what the client sent (an OpenAI `Unrecognized request argument supplied: <name>`, an
//! Anthropic `<name>: Extra inputs are not permitted`), so no request can make a credential
//! look broken for everyone else.
//!
//! | provider | credential | model on this credential | the request's fault |
//! |---|---|---|---|
//! | Anthropic | `authentication_error`, `permission_error`, 401/402/403 | `not_found_error` (404) | `invalid_request_error`, 413, other 400/422 |
//! | OpenAI / compatible | `invalid_api_key`, `insufficient_quota`, 401/402/403 | `model_not_found` | other 400/404/413/422 |
//! | Gemini | `UNAUTHENTICATED`, `PERMISSION_DENIED`, reason `API_KEY_INVALID`, 401/403 | `NOT_FOUND` | `INVALID_ARGUMENT`, `FAILED_PRECONDITION`, 413, other 4xx |
//! | Vertex AI | as Gemini; an Anthropic-shaped body (a Claude model) as Anthropic | | |
//!
//! 429 is a quota cooldown (except OpenAI's `insufficient_quota`, which is the credential);
//! 408, 5xx, timeouts and unreachable upstreams are transient. Any other 4xx is the request's.

use serde::Deserialize;

use super::ProviderKind;

/// What an upstream error says is wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blame {
    /// The credential itself (revoked, unpaid, not allowed): it cools down (30 min).
    Credential,
    /// The model is not there for this credential: that model cools on it (12 h).
    Model,
    /// A rate limit (429): `Retry-After` or an exponential backoff.
    Quota,
    /// A passing upstream fault (408, 5xx, timeout, unreachable): a short cooldown.
    Transient,
    /// The request is at fault: no cooldown, no failover; the client gets the answer.
    Request,
    /// A token credential has no valid token ([`crate::token`]): fail over; the credential is
    /// blocked by its token state (`token_unavailable`), not by a cooldown.
    Token,
}

impl Blame {
    /// The stable name used in logs and docs.
    pub fn as_str(self) -> &'static str {
        match self {
            Blame::Credential => "credential",
            Blame::Model => "model",
            Blame::Quota => "quota",
            Blame::Transient => "transient",
            Blame::Request => "request",
            Blame::Token => "token",
        }
    }
}

/// The structured fields of an error body, in every provider's shape: Anthropic
/// `{"type":"error","error":{"type"}}`, OpenAI `{"error":{"type","code"}}`, Gemini
/// `{"error":{"code","status","details":[{"reason"}]}}` (also as the first element of an array).
#[derive(Debug, Default, Deserialize)]
struct ErrorFields {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    code: Option<serde_json::Value>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    details: Vec<Detail>,
}

#[derive(Debug, Default, Deserialize)]
struct Detail {
    #[serde(default)]
    reason: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct Envelope {
    #[serde(default)]
    error: Option<ErrorFields>,
}

/// The structured error fields of `body`, when it is a JSON error envelope.
fn fields(body: &[u8]) -> ErrorFields {
    // Checked first: serde would also read an array into the struct, by position.
    let is_array = body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[');
    let envelope = if is_array {
        serde_json::from_slice::<Vec<Envelope>>(body)
            .ok()
            .and_then(|list| list.into_iter().next())
    } else {
        serde_json::from_slice::<Envelope>(body).ok()
    };
    envelope.and_then(|e| e.error).unwrap_or_default()
}

/// Whom the upstream answer `status` (`None`: unreachable or timed out) with `body` blames.
pub(crate) fn classify(provider: ProviderKind, status: Option<u16>, body: &[u8]) -> Blame {
    let Some(status) = status else {
        return Blame::Transient;
    };
    if status == 408 || status >= 500 {
        return Blame::Transient;
    }
    if !(400..500).contains(&status) {
        return Blame::Request;
    }
    let fields = fields(body);
    let kind = fields.kind.as_deref().unwrap_or_default();
    let code = match &fields.code {
        Some(serde_json::Value::String(code)) => code.as_str(),
        _ => "",
    };
    // Vertex answers in Google's shape, but a Claude model's errors can come from Anthropic's
    // own API behind it: an `error.type` without a Google `status` is Anthropic's.
    let anthropic_on_vertex =
        provider == ProviderKind::Vertex && fields.status.is_none() && fields.kind.is_some();
    match provider {
        ProviderKind::Claude => anthropic(status, kind),
        ProviderKind::Vertex if anthropic_on_vertex => anthropic(status, kind),
        ProviderKind::Codex | ProviderKind::OpenAiCompatibility => {
            if matches!(code, "invalid_api_key" | "insufficient_quota")
                || kind == "insufficient_quota"
                || (401..=403).contains(&status)
            {
                Blame::Credential
            } else if code == "model_not_found" {
                Blame::Model
            } else if status == 429 {
                Blame::Quota
            } else {
                Blame::Request
            }
        }
        ProviderKind::Gemini | ProviderKind::Vertex => {
            let key_invalid = fields
                .details
                .iter()
                .any(|d| d.reason.as_deref() == Some("API_KEY_INVALID"));
            match fields.status.as_deref().unwrap_or_default() {
                "UNAUTHENTICATED" | "PERMISSION_DENIED" => Blame::Credential,
                _ if key_invalid || matches!(status, 401 | 403) => Blame::Credential,
                "NOT_FOUND" => Blame::Model,
                _ if status == 429 => Blame::Quota,
                _ => Blame::Request,
            }
        }
    }
}

/// Anthropic's error types.
fn anthropic(status: u16, kind: &str) -> Blame {
    match (status, kind) {
        (_, "authentication_error" | "permission_error") | (401..=403, _) => Blame::Credential,
        (404, "not_found_error") => Blame::Model,
        (429, _) => Blame::Quota,
        _ => Blame::Request,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use ProviderKind::{Claude, Codex, Gemini, OpenAiCompatibility, Vertex};

    fn anthropic(kind: &str) -> Vec<u8> {
        format!(r#"{{"type":"error","error":{{"type":"{kind}","message":"x"}}}}"#).into_bytes()
    }

    fn openai(kind: &str, code: &str) -> Vec<u8> {
        format!(r#"{{"error":{{"message":"x","type":"{kind}","param":null,"code":"{code}"}}}}"#)
            .into_bytes()
    }

    fn gemini(code: u16, status: &str) -> Vec<u8> {
        format!(r#"{{"error":{{"code":{code},"message":"x","status":"{status}"}}}}"#).into_bytes()
    }

    #[test]
    fn anthropic_table() {
        for (status, kind, blame) in [
            (401, "authentication_error", Blame::Credential),
            (403, "permission_error", Blame::Credential),
            (402, "billing_error", Blame::Credential),
            (404, "not_found_error", Blame::Model),
            (400, "invalid_request_error", Blame::Request),
            (413, "request_too_large", Blame::Request),
            (422, "x", Blame::Request),
            (404, "", Blame::Request),
            (429, "rate_limit_error", Blame::Quota),
            (529, "overloaded_error", Blame::Transient),
        ] {
            assert_eq!(
                classify(Claude, Some(status), &anthropic(kind)),
                blame,
                "{status} {kind}"
            );
        }
    }

    #[test]
    fn openai_table() {
        for provider in [Codex, OpenAiCompatibility] {
            for (status, kind, code, blame) in [
                (
                    401,
                    "invalid_request_error",
                    "invalid_api_key",
                    Blame::Credential,
                ),
                (
                    429,
                    "insufficient_quota",
                    "insufficient_quota",
                    Blame::Credential,
                ),
                (403, "x", "", Blame::Credential),
                (
                    404,
                    "invalid_request_error",
                    "model_not_found",
                    Blame::Model,
                ),
                (
                    400,
                    "invalid_request_error",
                    "model_not_found",
                    Blame::Model,
                ),
                (404, "invalid_request_error", "", Blame::Request),
                (
                    400,
                    "invalid_request_error",
                    "unknown_parameter",
                    Blame::Request,
                ),
                (413, "", "", Blame::Request),
                (422, "", "", Blame::Request),
                (429, "requests", "rate_limit_exceeded", Blame::Quota),
                (500, "server_error", "", Blame::Transient),
            ] {
                assert_eq!(
                    classify(provider, Some(status), &openai(kind, code)),
                    blame,
                    "{status} {code}"
                );
            }
        }
    }

    #[test]
    fn gemini_table() {
        for (status, name, blame) in [
            (401, "UNAUTHENTICATED", Blame::Credential),
            (403, "PERMISSION_DENIED", Blame::Credential),
            (404, "NOT_FOUND", Blame::Model),
            (400, "INVALID_ARGUMENT", Blame::Request),
            (400, "FAILED_PRECONDITION", Blame::Request),
            (413, "", Blame::Request),
            (429, "RESOURCE_EXHAUSTED", Blame::Quota),
            (503, "UNAVAILABLE", Blame::Transient),
        ] {
            assert_eq!(classify(Gemini, Some(status), &gemini(status, name)), blame);
        }
        let key_invalid = br#"[{"error":{"code":400,"message":"API key not valid.","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID"}]}}]"#;
        assert_eq!(classify(Gemini, Some(400), key_invalid), Blame::Credential);
    }

    #[test]
    fn vertex_answers_classify_as_google_or_as_anthropic_by_their_shape() {
        for (status, name, blame) in [
            (401, "UNAUTHENTICATED", Blame::Credential),
            (403, "PERMISSION_DENIED", Blame::Credential),
            (404, "NOT_FOUND", Blame::Model),
            (400, "INVALID_ARGUMENT", Blame::Request),
            (429, "RESOURCE_EXHAUSTED", Blame::Quota),
            (503, "UNAVAILABLE", Blame::Transient),
        ] {
            assert_eq!(classify(Vertex, Some(status), &gemini(status, name)), blame);
        }
        for (status, kind, blame) in [
            (404, "not_found_error", Blame::Model),
            (400, "invalid_request_error", Blame::Request),
            (401, "authentication_error", Blame::Credential),
            (400, "permission_error", Blame::Credential),
            (429, "rate_limit_error", Blame::Quota),
            (529, "overloaded_error", Blame::Transient),
        ] {
            assert_eq!(
                classify(Vertex, Some(status), &anthropic(kind)),
                blame,
                "{status} {kind}"
            );
        }
        // A Google 404 without a status field is not a model error; Anthropic's would be.
        assert_eq!(
            classify(
                Vertex,
                Some(404),
                br#"{"error":{"code":404,"message":"x"}}"#
            ),
            Blame::Request
        );
    }

    #[test]
    fn text_that_echoes_the_request_blames_the_request() {
        // The old phrase list matched these; now only structured fields count.
        let echo = br#"{"error":{"message":"Unrecognized request argument supplied: model_not_supported","type":"invalid_request_error","param":null,"code":null}}"#;
        assert_eq!(classify(Codex, Some(400), echo), Blame::Request);
        let echo = br#"{"type":"error","error":{"type":"invalid_request_error","message":"model_not_supported: Extra inputs are not permitted; authentication_error"}}"#;
        assert_eq!(classify(Claude, Some(400), echo), Blame::Request);
        let echo = br#"{"error":{"code":400,"message":"Unknown name \"NOT_FOUND\": UNAUTHENTICATED","status":"INVALID_ARGUMENT"}}"#;
        assert_eq!(classify(Gemini, Some(400), echo), Blame::Request);
    }

    #[test]
    fn bodies_that_are_not_envelopes_fall_back_to_the_status() {
        for provider in [Claude, Codex, Gemini, OpenAiCompatibility, Vertex] {
            assert_eq!(classify(provider, Some(401), b"nope"), Blame::Credential);
            assert_eq!(classify(provider, Some(400), b""), Blame::Request);
            assert_eq!(classify(provider, Some(418), b"[1,2"), Blame::Request);
            assert_eq!(classify(provider, Some(429), b"slow down"), Blame::Quota);
            assert_eq!(classify(provider, Some(502), b"<html>"), Blame::Transient);
            assert_eq!(classify(provider, None, b""), Blame::Transient);
        }
    }
}
