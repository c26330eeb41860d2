//! The usage record of one finished request, in CLIProxyAPI's JSON shape.

use serde::Serialize;

/// Token counts of one request, as the upstream's usage block reported them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Tokens {
    /// Prompt tokens (`prompt_tokens`, `input_tokens`, `promptTokenCount`). For Anthropic this
    /// is its `input_tokens`, which leaves out tokens read from the prompt cache.
    pub input_tokens: u64,
    /// Generated tokens (`completion_tokens`, `output_tokens`, `candidatesTokenCount`).
    pub output_tokens: u64,
    /// Reasoning tokens (`reasoning_tokens`, `thoughtsTokenCount`).
    pub reasoning_tokens: u64,
    /// Prompt tokens served from the upstream's prompt cache (`cached_tokens`,
    /// `cache_read_input_tokens`, `cachedContentTokenCount`).
    pub cached_tokens: u64,
    /// The upstream's total, or the sum of the others when it gave none.
    pub total_tokens: u64,
}

impl Tokens {
    /// Takes every non-zero field of `later` (a stream reports input first, output last).
    pub fn merge(&mut self, later: Tokens) {
        for (mine, theirs) in [
            (&mut self.input_tokens, later.input_tokens),
            (&mut self.output_tokens, later.output_tokens),
            (&mut self.reasoning_tokens, later.reasoning_tokens),
            (&mut self.cached_tokens, later.cached_tokens),
            (&mut self.total_tokens, later.total_tokens),
        ] {
            if theirs != 0 {
                *mine = theirs;
            }
        }
    }

    /// Fills `total_tokens` as the reference does: input + output + reasoning, and cached too
    /// when that is still 0.
    pub fn with_total(mut self) -> Tokens {
        if self.total_tokens == 0 {
            self.total_tokens = self
                .input_tokens
                .saturating_add(self.output_tokens)
                .saturating_add(self.reasoning_tokens);
        }
        if self.total_tokens == 0 {
            self.total_tokens = self.cached_tokens;
        }
        self
    }
}

/// One finished request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct UsageRecord {
    /// When the request arrived (RFC 3339, UTC).
    pub timestamp: String,
    /// From arrival to the last byte of the response.
    pub latency_ms: u64,
    /// The credential's label (`unknown` when no credential answered).
    pub source: String,
    /// The credential's short index (see [`crate::credential::Credential::index`]).
    pub auth_index: String,
    /// Token counts.
    pub tokens: Tokens,
    /// The request failed (status ≥ 400, or the stream broke).
    pub failed: bool,
    /// The provider (`claude`, `codex`, `gemini`, `openai-compatibility`, or `unknown`).
    pub provider: String,
    /// The model the client asked for.
    pub model: String,
    /// `"<METHOD> <route>"`, such as `POST /v1/messages`.
    pub endpoint: String,
    /// `apikey`, `oauth` (access token) or `unknown`.
    pub auth_type: String,
    /// Who the client is, as a fingerprint of what the access provider said (for API keys:
    /// of the key): the first 8 hex digits of its SHA-256 ([`fingerprint`]), never the key.
    pub api_key: String,
    /// The request's `x-request-id`.
    pub request_id: String,
    /// switchyard: the credential's id (empty when none answered).
    pub credential: String,
    /// switchyard: the HTTP status the client got.
    pub status: u16,
}

/// The first 8 hex digits of the SHA-256 of `principal` (empty for an empty one): what usage
/// records, the feed and hooks hold instead of a client's key.
pub fn fingerprint(principal: &str) -> String {
    use sha2::{Digest, Sha256};
    use std::fmt::Write as _;
    if principal.is_empty() {
        return String::new();
    }
    let digest = Sha256::digest(principal.as_bytes());
    digest[..4].iter().fold(String::new(), |mut out, byte| {
        let _ = write!(out, "{byte:02x}");
        out
    })
}

/// `time` as RFC 3339 in UTC with milliseconds, such as `2025-01-02T03:04:05.678Z`.
pub(crate) use crate::rfc3339::format_millis as rfc3339;

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::*;

    #[test]
    fn fingerprints_are_the_first_8_hex_digits_of_sha256() {
        // SHA-256("abc") = ba7816bf...
        assert_eq!(fingerprint("abc"), "ba7816bf");
        assert_eq!(fingerprint(""), "");
    }

    #[test]
    fn formats_rfc3339() {
        let at = |secs: u64, ms: u64| {
            rfc3339(SystemTime::UNIX_EPOCH + Duration::from_millis(secs * 1000 + ms))
        };
        assert_eq!(at(0, 0), "1970-01-01T00:00:00.000Z");
        assert_eq!(at(951_782_400, 5), "2000-02-29T00:00:00.005Z");
        assert_eq!(at(1_735_787_045, 678), "2025-01-02T03:04:05.678Z");
    }

    #[test]
    fn totals_follow_the_reference() {
        let tokens = Tokens {
            input_tokens: 3,
            output_tokens: 4,
            ..Tokens::default()
        };
        assert_eq!(tokens.with_total().total_tokens, 7);
        let cached_only = Tokens {
            cached_tokens: 9,
            ..Tokens::default()
        };
        assert_eq!(cached_only.with_total().total_tokens, 9);
        let mut merged = Tokens {
            input_tokens: 10,
            output_tokens: 1,
            ..Tokens::default()
        };
        merged.merge(Tokens {
            output_tokens: 20,
            ..Tokens::default()
        });
        assert_eq!((merged.input_tokens, merged.output_tokens), (10, 20));
    }
}
