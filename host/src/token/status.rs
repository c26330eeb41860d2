//! What a token cell reports: expiry, renewals, the last error. Never a token.

use std::time::SystemTime;

/// A token credential's token state, for the management API and `/metrics`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenStatus {
    /// `jwt_bearer`, `client_credentials` or `refresh_token`.
    pub grant: &'static str,
    /// When the current token expires.
    pub expires_at: Option<SystemTime>,
    /// When a token was last obtained or learned from another replica.
    pub last_renewal: Option<SystemTime>,
    /// When a renewal last failed.
    pub last_failure: Option<SystemTime>,
    /// Why the last renewal failed; cleared by a success.
    pub last_error: Option<String>,
    /// Renewals that got a token from the token endpoint.
    pub renewals_ok: u64,
    /// Renewals that failed.
    pub renewals_failed: u64,
    /// Sets learned from another replica instead of renewing.
    pub adopted: u64,
    /// Requests that found no valid token and waited for a renewal (renewing ahead of expiry
    /// keeps this at the first token's waiters).
    pub waited: u64,
}

impl TokenStatus {
    /// The status of a cell that has done nothing yet.
    pub fn new(grant: &'static str) -> Self {
        TokenStatus {
            grant,
            expires_at: None,
            last_renewal: None,
            last_failure: None,
            last_error: None,
            renewals_ok: 0,
            renewals_failed: 0,
            adopted: 0,
            waited: 0,
        }
    }
}
