//! Why a key could not be read, or a token could not be had.

/// A service-account key that cannot be used. The text never contains key material.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyError {
    /// Not JSON, or not an object.
    Json(String),
    /// A required field is missing or empty (`private_key`, `client_email`, …).
    Missing(&'static str),
    /// `type` is not `service_account`.
    WrongType(String),
    /// `private_key` is not a PEM PKCS#8 RSA key ring accepts.
    PrivateKey(String),
    /// `token_uri` is not an `https` URL (or `http` on a loopback address).
    TokenUri(String),
}

impl std::fmt::Display for KeyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyError::Json(why) => write!(f, "service-account key is not a JSON object: {why}"),
            KeyError::Missing(field) => {
                write!(f, "service-account key has no `{field}` (missing or empty)")
            }
            KeyError::WrongType(found) => write!(
                f,
                "service-account key has `type` {found:?}, expected \"service_account\""
            ),
            KeyError::PrivateKey(why) => {
                write!(f, "service-account key's `private_key` is unusable: {why}")
            }
            KeyError::TokenUri(why) => {
                write!(f, "service-account key's `token_uri` is not allowed: {why}")
            }
        }
    }
}

impl std::error::Error for KeyError {}

/// Why a token endpoint's answer gave no token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenError {
    /// An RFC 6749 §5.2 error answer: `error` (such as `invalid_grant`) and the
    /// `error_description`, both bounded and stripped of control characters.
    Rejected {
        /// The HTTP status.
        status: u16,
        /// The `error` code.
        code: String,
        /// The `error_description`, at most 200 characters; empty when absent.
        description: String,
    },
    /// Another non-2xx answer (no RFC 6749 error body).
    Status(u16),
    /// A 2xx answer that is not a usable token response (no `access_token`, a `token_type`
    /// other than bearer, not JSON, too large).
    Malformed(String),
}

impl TokenError {
    /// Whether the server rejected the grant itself (`invalid_grant`): for a refresh token,
    /// one that was already used or revoked.
    pub fn is_invalid_grant(&self) -> bool {
        matches!(self, TokenError::Rejected { code, .. } if code == "invalid_grant")
    }
}

impl std::fmt::Display for TokenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TokenError::Rejected {
                status,
                code,
                description,
            } if description.is_empty() => {
                write!(f, "token endpoint refused the grant ({status} {code})")
            }
            TokenError::Rejected {
                status,
                code,
                description,
            } => write!(
                f,
                "token endpoint refused the grant ({status} {code}): {description}"
            ),
            TokenError::Status(status) => write!(f, "token endpoint answered {status}"),
            TokenError::Malformed(why) => write!(f, "unusable token response: {why}"),
        }
    }
}

impl std::error::Error for TokenError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_invalid_grant_rejection_is_invalid_grant() {
        let rejected = |code: &str| TokenError::Rejected {
            status: 400,
            code: code.to_owned(),
            description: String::new(),
        };
        assert!(rejected("invalid_grant").is_invalid_grant());
        assert!(!rejected("invalid_client").is_invalid_grant());
        assert!(!TokenError::Status(400).is_invalid_grant());
        assert!(!TokenError::Malformed("invalid_grant".into()).is_invalid_grant());
    }

    #[test]
    fn display_names_status_code_and_description() {
        let error = TokenError::Rejected {
            status: 400,
            code: "invalid_grant".into(),
            description: "refresh token already used".into(),
        };
        assert_eq!(
            error.to_string(),
            "token endpoint refused the grant (400 invalid_grant): refresh token already used"
        );
        assert_eq!(
            TokenError::Status(503).to_string(),
            "token endpoint answered 503"
        );
        assert_eq!(
            KeyError::Missing("client_email").to_string(),
            "service-account key has no `client_email` (missing or empty)"
        );
    }
}
