//! Every error the proxy itself answers with, and its HTTP form: the one place where statuses
//! and bodies are decided (architecture: Errors the client sees).

use std::time::Duration;

use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::header::{CONTENT_TYPE, RETRY_AFTER};
use http::{HeaderValue, StatusCode};
use serde_json::json;

use super::upstream_error::{UpstreamError, UpstreamErrorKind};
use crate::config::go_duration;

/// An error answered to the client.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ProxyError {
    /// The request is malformed (bad JSON, missing model, …).
    #[error("{0}")]
    InvalidRequest(String),
    /// No credential serves the model.
    #[error("unknown provider for model {0}")]
    UnknownModel(String),
    /// The body exceeds `body-limit-mb`.
    #[error("request body exceeds the limit of {limit_mb} MB")]
    BodyTooLarge {
        /// The limit.
        limit_mb: usize,
    },
    /// The client paused longer than `server.body-read-timeout-ms` between request-body bytes.
    #[error("request body not received: nothing arrived for {timeout_ms} ms")]
    BodyReadTimeout {
        /// The limit, in milliseconds.
        timeout_ms: u128,
    },
    /// Every credential for the model is in a quota cooldown.
    #[error("All credentials for model {model} are cooling down")]
    ModelCooldown {
        /// The requested model.
        model: String,
        /// The provider, or empty when mixed.
        provider: String,
        /// Until the first credential is available again.
        reset: Duration,
    },
    /// No credential is available (all tried, or blocked for other reasons).
    #[error("no auth available (providers={provider}, model={model})")]
    NoCredentialAvailable {
        /// The requested model.
        model: String,
        /// The provider(s).
        provider: String,
        /// Until the first blocked credential is available again, if known.
        retry_after: Option<Duration>,
    },
    /// The request may not be served here (an unauthenticated proxy's Host and Origin rules).
    #[error("{message}")]
    Forbidden {
        /// The envelope's `code`.
        code: &'static str,
        /// Why.
        message: String,
    },
    /// The last upstream attempt failed: unreachable, timed out, a stream broken before its
    /// first payload (502, 504, 502), or an error answer passed through unchanged.
    #[error(transparent)]
    Upstream(#[from] UpstreamError),
}

impl ProxyError {
    /// The HTTP status.
    pub(crate) fn status(&self) -> StatusCode {
        match self {
            ProxyError::InvalidRequest(_) => StatusCode::BAD_REQUEST,
            ProxyError::UnknownModel(_) => StatusCode::BAD_GATEWAY,
            ProxyError::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ProxyError::Forbidden { .. } => StatusCode::FORBIDDEN,
            ProxyError::BodyReadTimeout { .. } => StatusCode::REQUEST_TIMEOUT,
            ProxyError::ModelCooldown { .. } => StatusCode::TOO_MANY_REQUESTS,
            ProxyError::NoCredentialAvailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ProxyError::Upstream(error) => error.client_status(),
        }
    }

    /// The `Retry-After` the client should see, if any.
    pub(crate) fn retry_after(&self) -> Option<Duration> {
        match self {
            ProxyError::ModelCooldown { reset, .. } => Some(*reset),
            ProxyError::NoCredentialAvailable { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// The JSON body (the upstream's bytes for [`ProxyError::Upstream`]).
    #[cfg(test)]
    pub(crate) fn body(&self) -> Bytes {
        self.body_for(None)
    }

    /// The JSON body for the request `request_id`. An unreachable upstream or a broken stream
    /// is named without its details (which can hold internal URLs and addresses): those go to
    /// the log line with the same id.
    pub(crate) fn body_for(&self, request_id: Option<&str>) -> Bytes {
        let with_id = |what: &str| match request_id {
            Some(id) => format!("{what} (request {id})"),
            None => what.to_owned(),
        };
        match self {
            ProxyError::Upstream(error) => match (&error.kind, &error.answer) {
                (UpstreamErrorKind::Connect, _) => envelope_parts(
                    &with_id("upstream unreachable"),
                    "server_error",
                    Some("upstream_unreachable"),
                ),
                (UpstreamErrorKind::Stream, _) => envelope_parts(
                    &with_id("upstream stream failed"),
                    "server_error",
                    Some("upstream_stream_failed"),
                ),
                (UpstreamErrorKind::Token, _) => envelope_parts(
                    &with_id("no upstream token could be had"),
                    "server_error",
                    Some("token_unavailable"),
                ),
                (_, Some(answer)) => answer.body.clone(),
                (_, None) => envelope(error.client_status(), &error.detail()),
            },
            ProxyError::Forbidden { code, message } => {
                envelope_parts(message, "permission_error", Some(code))
            }
            ProxyError::ModelCooldown {
                model,
                provider,
                reset,
            } => {
                let seconds = ceil_seconds(*reset);
                let mut message = format!("All credentials for model {model} are cooling down");
                let mut error = serde_json::Map::new();
                error.insert("code".into(), json!("model_cooldown"));
                if !provider.is_empty() && provider != "mixed" {
                    message.push_str(&format!(" via provider {provider}"));
                }
                error.insert("message".into(), json!(message));
                error.insert("model".into(), json!(model));
                if !provider.is_empty() && provider != "mixed" {
                    error.insert("provider".into(), json!(provider));
                }
                error.insert("reset_seconds".into(), json!(seconds));
                error.insert(
                    "reset_time".into(),
                    json!(go_duration::format_seconds(seconds)),
                );
                Bytes::from(json!({ "error": error }).to_string())
            }
            other => envelope(other.status(), &other.to_string()),
        }
    }
}

impl IntoResponse for ProxyError {
    fn into_response(self) -> Response {
        self.into_response_for(None)
    }
}

impl ProxyError {
    /// The response for the request `request_id` (see [`ProxyError::body_for`]); the details
    /// left out of the body are logged here.
    pub(crate) fn into_response_for(self, request_id: Option<&str>) -> Response {
        if let ProxyError::Upstream(error) = &self
            && matches!(
                error.kind,
                UpstreamErrorKind::Connect | UpstreamErrorKind::Stream | UpstreamErrorKind::Token
            )
        {
            tracing::warn!(request_id, "{}: {}", self.status(), error.detail());
        }
        let status = self.status();
        let body = self.body_for(request_id);
        let retry_after = self.retry_after();
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        match self {
            ProxyError::Upstream(UpstreamError {
                answer: Some(answer),
                ..
            }) => headers.extend(*answer.headers),
            _ => {
                headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            }
        }
        if let Some(wait) = retry_after
            && !headers.contains_key(RETRY_AFTER)
        {
            headers.insert(RETRY_AFTER, HeaderValue::from(ceil_seconds(wait)));
        }
        response
    }
}

/// The reference envelope `{"error":{"message","type","code"}}` for a proxy-made error.
pub(crate) fn envelope(status: StatusCode, message: &str) -> Bytes {
    let (kind, code) = match status.as_u16() {
        401 => ("authentication_error", Some("invalid_api_key")),
        403 => ("permission_error", Some("insufficient_quota")),
        404 => ("invalid_request_error", Some("model_not_found")),
        408 => ("invalid_request_error", Some("request_timeout")),
        429 => ("rate_limit_error", Some("rate_limit_exceeded")),
        500.. => ("server_error", Some("internal_server_error")),
        _ => ("invalid_request_error", None),
    };
    envelope_parts(message, kind, code)
}

/// `{"error":{"message","type","code"}}` with the given type and code.
fn envelope_parts(message: &str, kind: &str, code: Option<&str>) -> Bytes {
    /// Serialized in field order, as the reference does.
    #[derive(serde::Serialize)]
    struct Envelope<'a> {
        error: Inner<'a>,
    }
    #[derive(serde::Serialize)]
    struct Inner<'a> {
        message: &'a str,
        #[serde(rename = "type")]
        kind: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        code: Option<&'a str>,
    }
    let body = Envelope {
        error: Inner {
            message,
            kind,
            code,
        },
    };
    Bytes::from(serde_json::to_vec(&body).expect("envelopes serialize"))
}

/// Whole seconds, rounded up, at least 1.
pub(crate) fn ceil_seconds(wait: Duration) -> u64 {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    seconds.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cooldown_body_has_sorted_keys_and_go_durations() {
        let error = ProxyError::ModelCooldown {
            model: "claude-sonnet-4".into(),
            provider: "claude".into(),
            reset: Duration::from_millis(59_200),
        };
        assert_eq!(
            std::str::from_utf8(&error.body()).unwrap(),
            r#"{"error":{"code":"model_cooldown","message":"All credentials for model claude-sonnet-4 are cooling down via provider claude","model":"claude-sonnet-4","provider":"claude","reset_seconds":60,"reset_time":"1m0s"}}"#
        );
        let response = error.into_response();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[RETRY_AFTER], "60");
    }

    #[test]
    fn mixed_providers_are_left_out() {
        let error = ProxyError::ModelCooldown {
            model: "gpt-5".into(),
            provider: "mixed".into(),
            reset: Duration::from_millis(300),
        };
        let body: serde_json::Value = serde_json::from_slice(&error.body()).unwrap();
        assert_eq!(
            body["error"]["message"],
            "All credentials for model gpt-5 are cooling down"
        );
        assert!(body["error"].get("provider").is_none());
        assert_eq!(body["error"]["reset_time"], "1s");
    }

    #[test]
    fn envelopes_follow_the_reference_table() {
        let unknown = ProxyError::UnknownModel("x".into());
        assert_eq!(unknown.status(), StatusCode::BAD_GATEWAY);
        assert_eq!(
            std::str::from_utf8(&unknown.body()).unwrap(),
            r#"{"error":{"message":"unknown provider for model x","type":"server_error","code":"internal_server_error"}}"#
        );
        let unreachable = ProxyError::from(UpstreamError::connect(
            "error sending request for url (http://10.0.0.7/v1/messages)",
            None,
        ));
        assert_eq!(unreachable.status(), StatusCode::BAD_GATEWAY);
        assert_eq!(
            std::str::from_utf8(&unreachable.body_for(Some("r-1"))).unwrap(),
            r#"{"error":{"message":"upstream unreachable (request r-1)","type":"server_error","code":"upstream_unreachable"}}"#
        );
        let slow = ProxyError::BodyReadTimeout { timeout_ms: 200 };
        assert_eq!(slow.status(), StatusCode::REQUEST_TIMEOUT);
        assert_eq!(
            std::str::from_utf8(&slow.body()).unwrap(),
            r#"{"error":{"message":"request body not received: nothing arrived for 200 ms","type":"invalid_request_error","code":"request_timeout"}}"#
        );
        let bad = ProxyError::InvalidRequest("bad".into());
        assert_eq!(
            std::str::from_utf8(&bad.body()).unwrap(),
            r#"{"error":{"message":"bad","type":"invalid_request_error"}}"#
        );
    }
}
