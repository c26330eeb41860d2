//! An RFC 6749 §5.2 error answer.

use http::header::WWW_AUTHENTICATE;
use http::{HeaderValue, Response, StatusCode};
use serde_json::json;

use super::json_response;
use crate::paced_body::MockBody;

/// A token request the endpoint refuses: status, `error` code and `error_description`.
#[derive(Debug)]
pub(crate) struct OAuthError {
    status: StatusCode,
    code: &'static str,
    description: String,
}

impl OAuthError {
    /// An error with any status and code.
    pub(crate) fn new(status: StatusCode, code: &'static str, description: String) -> Self {
        OAuthError {
            status,
            code,
            description,
        }
    }

    /// 400 `invalid_request`: a malformed request.
    pub(crate) fn invalid_request(description: impl Into<String>) -> Self {
        OAuthError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            description.into(),
        )
    }

    /// 400 `invalid_grant`: the assertion or refresh token is not accepted.
    pub(crate) fn invalid_grant(description: impl Into<String>) -> Self {
        OAuthError::new(StatusCode::BAD_REQUEST, "invalid_grant", description.into())
    }

    /// 401 `invalid_client`: client authentication failed.
    pub(crate) fn invalid_client(description: impl Into<String>) -> Self {
        OAuthError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            description.into(),
        )
    }

    /// The answer.
    pub(crate) fn response(&self) -> Response<MockBody> {
        let body = json!({"error": self.code, "error_description": self.description});
        let mut response = json_response(self.status, &body);
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"switchyard-mock\""),
            );
        }
        response
    }
}
