//! Why a request was refused.

use bytes::Bytes;
use http::StatusCode;

use crate::plugin::Fault;

/// Why the chain refused a request. [`AccessError::status`] and [`AccessError::body`] are the
/// response (architecture: Errors the client sees).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AccessError {
    /// No provider allowed the request and none saw a wrong credential.
    #[error("Missing API key")]
    MissingCredential,
    /// No provider allowed the request and at least one saw a wrong credential.
    #[error("Invalid API key")]
    InvalidCredential,
    /// A provider refused the request.
    #[error("access provider {provider} denied the request ({status}): {message}")]
    Denied {
        /// The instance name.
        provider: String,
        /// The status it chose.
        status: StatusCode,
        /// Its message.
        message: String,
    },
    /// A provider answered `error`, or an answer that breaks the contract.
    #[error("access provider {provider} error: {message}")]
    ProviderError {
        /// The instance name.
        provider: String,
        /// Its message.
        message: String,
    },
    /// A provider faulted (trap, deadline, memory) or is quarantined: fail closed. A provider
    /// with no free call slot ([`Fault::Busy`]) answers 503 with the code `plugin_busy`.
    #[error("access provider {provider} failed: {fault}")]
    Fault {
        /// The instance name.
        provider: String,
        /// What went wrong.
        fault: Fault,
    },
}

impl AccessError {
    /// The response status.
    pub fn status(&self) -> StatusCode {
        match self {
            AccessError::MissingCredential | AccessError::InvalidCredential => {
                StatusCode::UNAUTHORIZED
            }
            AccessError::Denied { status, .. } => *status,
            AccessError::ProviderError { .. } => StatusCode::INTERNAL_SERVER_ERROR,
            AccessError::Fault { .. } => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The response body (JSON) for the request `request_id`. A fault's body names only the
    /// request; the instance and the reason go to the log line with that id.
    pub fn body(&self, request_id: &str) -> Bytes {
        let body = match self {
            AccessError::MissingCredential | AccessError::InvalidCredential => {
                serde_json::json!({ "error": self.to_string() })
            }
            AccessError::Denied { message, .. } => serde_json::json!({ "error": message }),
            AccessError::ProviderError { message, .. } => {
                let message = if message.is_empty() {
                    "Authentication service error"
                } else {
                    message.as_str()
                };
                serde_json::json!({ "error": message })
            }
            AccessError::Fault {
                fault: Fault::Busy(_),
                ..
            } => serde_json::json!({
                "error": {
                    "message": format!("access check busy, retry later (request {request_id})"),
                    "type": "server_error",
                    "code": "plugin_busy",
                }
            }),
            AccessError::Fault { .. } => serde_json::json!({
                "error": {
                    "message": format!("access check failed (request {request_id})"),
                    "type": "server_error",
                    "code": "plugin_fault",
                }
            }),
        };
        Bytes::from(body.to_string())
    }
}
