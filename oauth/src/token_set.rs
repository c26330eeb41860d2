//! What a grant yields.

use std::time::SystemTime;

/// An access token with its expiry, and the refresh token when the server sent one.
/// `Debug` never prints a token.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenSet {
    /// The bearer token.
    pub access_token: String,
    /// When it stops being valid (the server's `expires_in` clamped, from the time asked).
    pub expires_at: SystemTime,
    /// The refresh token the server returned (a rotation), if any.
    pub refresh_token: Option<String>,
}

impl std::fmt::Debug for TokenSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        todo!()
    }
}

impl TokenSet {
    /// The set as JSON (`access_token`, `expires_at` in Unix milliseconds, `refresh_token`),
    /// for sealing into a shared store.
    pub fn to_json(&self) -> Vec<u8> {
        todo!()
    }

    /// Reads [`TokenSet::to_json`]'s output; `None` when it is not that.
    pub fn from_json(bytes: &[u8]) -> Option<TokenSet> {
        todo!()
    }
}
