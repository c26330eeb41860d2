//! Why a translation failed.

use std::fmt;

/// A request or answer that cannot be translated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TranslateError {
    /// The client's body is not a valid request of its protocol (HTTP 400).
    Invalid(String),
    /// The request uses something the target protocol cannot take as sent (HTTP 400).
    Unsupported {
        /// Where it is in the client's body, e.g. `messages[2].content[0]` or
        /// `previous_response_id`.
        field: String,
        /// Why it cannot be sent.
        reason: String,
    },
    /// The upstream's answer is not valid in its protocol (HTTP 502).
    Upstream(String),
}

impl TranslateError {
    /// A 400 for a field the target cannot take.
    pub fn unsupported(field: impl Into<String>, reason: impl Into<String>) -> Self {
        TranslateError::Unsupported {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// The HTTP status the client gets.
    pub fn status(&self) -> u16 {
        match self {
            TranslateError::Invalid(_) | TranslateError::Unsupported { .. } => 400,
            TranslateError::Upstream(_) => 502,
        }
    }
}

impl fmt::Display for TranslateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TranslateError::Invalid(message) => write!(f, "invalid request: {message}"),
            TranslateError::Unsupported { field, reason } => write!(f, "{field}: {reason}"),
            TranslateError::Upstream(message) => write!(f, "invalid upstream answer: {message}"),
        }
    }
}

impl std::error::Error for TranslateError {}

impl From<serde_json::Error> for TranslateError {
    fn from(e: serde_json::Error) -> Self {
        TranslateError::Invalid(format!("invalid JSON body: {e}"))
    }
}
