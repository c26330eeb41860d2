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
        todo!()
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
        todo!()
    }
}

impl std::fmt::Display for TokenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        todo!()
    }
}

impl std::error::Error for TokenError {}
