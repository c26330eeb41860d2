//! The JWT-bearer grant (RFC 7523) of a service account.

use std::time::SystemTime;

use crate::{ServiceAccountKey, TokenRequest};

/// How long an assertion is valid (Google accepts at most one hour).
pub(crate) const ASSERTION_LIFETIME_SECS: u64 = 3600;

/// The grant type of RFC 7523.
pub const JWT_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// An RS256 JWT: header `{"alg":"RS256","typ":"JWT","kid"}` (no `kid` when empty), claims
/// `{"iss": client_email, "scope", "aud": token_uri, "iat", "exp": iat + 3600}`, base64url
/// without padding.
pub fn assertion(key: &ServiceAccountKey, scope: &str, now: SystemTime) -> String {
    todo!()
}

impl TokenRequest {
    /// The JWT-bearer token request of `key` for `scope` at `now`: `POST token_uri` with
    /// `grant_type` and `assertion`.
    pub fn jwt_bearer(key: &ServiceAccountKey, scope: &str, now: SystemTime) -> TokenRequest {
        todo!()
    }
}
