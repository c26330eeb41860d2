//! What a grant yields.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::server_text::is_header_safe_token;

/// [`TokenSet`]'s JSON form.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenSetJson {
    access_token: String,
    expires_at_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
}

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
        f.debug_struct("TokenSet")
            .field("expires_at_ms", &unix_millis(self.expires_at))
            .field("has_refresh_token", &self.refresh_token.is_some())
            .finish_non_exhaustive()
    }
}

impl TokenSet {
    /// The set as JSON (`access_token`, `expires_at` in Unix milliseconds, `refresh_token`),
    /// for sealing into a shared store.
    /// The field is `expires_at_ms`; times before 1970 are written as 0.
    pub fn to_json(&self) -> Vec<u8> {
        let json = TokenSetJson {
            access_token: self.access_token.clone(),
            expires_at_ms: unix_millis(self.expires_at),
            refresh_token: self.refresh_token.clone(),
        };
        serde_json::to_vec(&json).expect("strings and integers always serialize")
    }

    /// Reads [`TokenSet::to_json`]'s output; `None` when it is not that.
    /// Unknown fields, an access token that is not visible ASCII and an empty refresh token
    /// are all "not that".
    pub fn from_json(bytes: &[u8]) -> Option<TokenSet> {
        let json: TokenSetJson = serde_json::from_slice(bytes).ok()?;
        if !is_header_safe_token(&json.access_token)
            || json.refresh_token.as_ref().is_some_and(String::is_empty)
        {
            return None;
        }
        Some(TokenSet {
            access_token: json.access_token,
            expires_at: UNIX_EPOCH.checked_add(Duration::from_millis(json.expires_at_ms))?,
            refresh_token: json.refresh_token,
        })
    }
}

/// Milliseconds from the Unix epoch to `time` (0 before it, saturating far after it).
fn unix_millis(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |since| {
        u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(refresh_token: Option<&str>) -> TokenSet {
        TokenSet {
            access_token: "access-token-value".to_owned(),
            expires_at: UNIX_EPOCH + Duration::from_millis(1_700_000_000_123),
            refresh_token: refresh_token.map(str::to_owned),
        }
    }

    #[test]
    fn json_round_trips_with_millisecond_expiry() {
        for set in [set(Some("refresh-token-value")), set(None)] {
            assert_eq!(TokenSet::from_json(&set.to_json()), Some(set));
        }
        let json: serde_json::Value = serde_json::from_slice(&set(None).to_json()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"access_token": "access-token-value", "expires_at_ms": 1_700_000_000_123u64})
        );
    }

    #[test]
    fn from_json_rejects_anything_else() {
        for bytes in [
            &b"not json"[..],
            br#"{"access_token":"t"}"#,
            br#"{"expires_at_ms":1}"#,
            br#"{"access_token":"t","expires_at_ms":-1}"#,
            br#"{"access_token":"t","expires_at_ms":"1"}"#,
            br#"{"access_token":"","expires_at_ms":1}"#,
            br#"{"access_token":"a b","expires_at_ms":1}"#,
            br#"{"access_token":"t","expires_at_ms":1,"refresh_token":""}"#,
            br#"{"access_token":"t","expires_at_ms":1,"refresh_token":3}"#,
            br#"{"access_token":"t","expires_at_ms":1,"extra":true}"#,
            br#"[]"#,
        ] {
            assert_eq!(
                TokenSet::from_json(bytes),
                None,
                "{}",
                String::from_utf8_lossy(bytes)
            );
        }
        assert!(TokenSet::from_json(br#"{"access_token":"t","expires_at_ms":1}"#).is_some());
    }

    #[test]
    fn debug_shows_expiry_and_refresh_presence_never_tokens() {
        let shown = format!("{:?}", set(Some("refresh-token-value")));
        assert!(shown.contains("1700000000123"));
        assert!(shown.contains("has_refresh_token: true"));
        assert!(!shown.contains("access-token-value"));
        assert!(!shown.contains("refresh-token-value"));
        assert!(format!("{:?}", set(None)).contains("has_refresh_token: false"));
    }
}
