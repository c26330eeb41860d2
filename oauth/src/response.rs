//! Reading a token endpoint's answer (RFC 6749 §5.1 and §5.2).

use std::time::{Duration, SystemTime};

use crate::{TokenError, TokenSet};

/// The most bytes of a token endpoint's answer read; a longer answer is [`TokenError::Malformed`].
pub const MAX_TOKEN_RESPONSE: usize = 64 * 1024;

/// The range `expires_in` is clamped to, and what an answer without one gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetime {
    /// The shortest lifetime believed (default 60 s).
    pub min: Duration,
    /// The longest (default 24 h).
    pub max: Duration,
    /// When the answer has no `expires_in` (default 1 h, then clamped).
    pub default: Duration,
}

impl Default for Lifetime {
    fn default() -> Self {
        Lifetime {
            min: Duration::from_secs(60),
            max: Duration::from_secs(24 * 3600),
            default: Duration::from_secs(3600),
        }
    }
}

/// Reads a token endpoint's answer of `status` with `body` (at most [`MAX_TOKEN_RESPONSE`]
/// bytes), asked at `asked_at`. 2xx: `access_token` (required), `token_type` (absent or
/// `bearer` in any case), `expires_in` (a number or a numeric string, clamped to `lifetime`),
/// `refresh_token` (optional). Otherwise an RFC 6749 error body or the bare status.
pub fn parse_token_response(
    status: u16,
    body: &[u8],
    asked_at: SystemTime,
    lifetime: Lifetime,
) -> Result<TokenSet, TokenError> {
    todo!()
}
