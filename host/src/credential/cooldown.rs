//! How long a credential rests after a failure (reference §3.3, design §2 "Cooldown and retry").

use std::time::Duration;

/// 401, 402, 403: the credential is likely revoked or out of funds.
pub const AUTH_FAILURE_COOLDOWN: Duration = Duration::from_secs(30 * 60);
/// 404 and unsupported models: the model is not there for this credential.
pub const NOT_FOUND_COOLDOWN: Duration = Duration::from_secs(12 * 3600);
/// 408, 5xx, timeouts, unreachable upstreams.
pub const TRANSIENT_COOLDOWN: Duration = Duration::from_secs(60);
/// The longest 429 backoff without `Retry-After`.
pub const MAX_BACKOFF: Duration = Duration::from_secs(30 * 60);

/// Phrases in a 400/422 body that mean "this credential cannot serve this model".
const MODEL_SUPPORT_PHRASES: &[&str] = &[
    "model_not_supported",
    "requested model is not supported",
    "requested model is unsupported",
    "requested model is unavailable",
    "model is not supported",
    "model not supported",
    "unsupported model",
    "model unavailable",
    "not available for your plan",
    "not available for your account",
];

/// What a failed attempt tells the cooldown table.
#[derive(Debug, Clone, Copy)]
pub struct Failure<'a> {
    /// The upstream status; `None` when the upstream was unreachable or timed out.
    pub status: Option<u16>,
    /// The upstream's error text (body), for the model-support phrases.
    pub message: &'a str,
    /// The upstream's `Retry-After`.
    pub retry_after: Option<Duration>,
}

/// The decision for one failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// How long the model stays blocked on this credential; `None` = retry at once.
    pub cooldown: Option<Duration>,
    /// Whether this is a quota (429) cooldown: only those produce the `model_cooldown` error.
    pub quota: bool,
    /// The 429 backoff level to store.
    pub backoff_level: u32,
}

/// The cooldown for `failure`, given the credential's current 429 backoff level.
pub fn decide(failure: &Failure<'_>, backoff_level: u32) -> Decision {
    let plain = |cooldown| Decision {
        cooldown,
        quota: false,
        backoff_level,
    };
    match failure.status {
        None => plain(Some(TRANSIENT_COOLDOWN)),
        Some(400 | 422) if is_model_support_error(failure.message) => {
            plain(Some(NOT_FOUND_COOLDOWN))
        }
        Some(401..=403) => plain(Some(AUTH_FAILURE_COOLDOWN)),
        Some(404) => plain(Some(NOT_FOUND_COOLDOWN)),
        Some(429) => match failure.retry_after {
            Some(wait) => Decision {
                cooldown: Some(wait),
                quota: true,
                backoff_level,
            },
            None => {
                let (wait, level) = backoff(backoff_level);
                Decision {
                    cooldown: Some(wait),
                    quota: true,
                    backoff_level: level,
                }
            }
        },
        Some(408 | 500 | 502 | 503 | 504) => plain(Some(TRANSIENT_COOLDOWN)),
        Some(_) => plain(None),
    }
}

/// `1 s · 2^level`, at least 1 s; at 30 min it stays there and the level stops growing.
pub fn backoff(level: u32) -> (Duration, u32) {
    let seconds = 1u64.checked_shl(level).unwrap_or(u64::MAX);
    let wait = Duration::from_secs(seconds.max(1));
    if wait >= MAX_BACKOFF {
        (MAX_BACKOFF, level)
    } else {
        (wait, level + 1)
    }
}

/// Whether a 400/422 body says the model is not supported for this credential.
pub fn is_model_support_error(message: &str) -> bool {
    let lower = message.to_ascii_lowercase();
    MODEL_SUPPORT_PHRASES.iter().any(|p| lower.contains(p))
}

/// Whether the failure is the client's fault, so no other credential would do better:
/// 400 with `invalid_request_error` (but not a model-support error) or any 422.
pub fn is_request_invalid(status: u16, message: &str) -> bool {
    match status {
        422 => true,
        400 => message.contains("invalid_request_error") && !is_model_support_error(message),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(status: u16) -> Failure<'static> {
        Failure {
            status: Some(status),
            message: "",
            retry_after: None,
        }
    }

    #[test]
    fn status_table() {
        for (status, expected) in [
            (401, Some(AUTH_FAILURE_COOLDOWN)),
            (402, Some(AUTH_FAILURE_COOLDOWN)),
            (403, Some(AUTH_FAILURE_COOLDOWN)),
            (404, Some(NOT_FOUND_COOLDOWN)),
            (408, Some(TRANSIENT_COOLDOWN)),
            (500, Some(TRANSIENT_COOLDOWN)),
            (502, Some(TRANSIENT_COOLDOWN)),
            (503, Some(TRANSIENT_COOLDOWN)),
            (504, Some(TRANSIENT_COOLDOWN)),
            (400, None),
            (409, None),
            (501, None),
        ] {
            let decision = decide(&failure(status), 0);
            assert_eq!(decision.cooldown, expected, "status {status}");
            assert!(!decision.quota);
        }
        let unreachable = Failure {
            status: None,
            message: "",
            retry_after: None,
        };
        assert_eq!(decide(&unreachable, 0).cooldown, Some(TRANSIENT_COOLDOWN));
    }

    #[test]
    fn retry_after_wins_for_429() {
        let decision = decide(
            &Failure {
                status: Some(429),
                message: "",
                retry_after: Some(Duration::from_secs(7)),
            },
            3,
        );
        assert_eq!(decision.cooldown, Some(Duration::from_secs(7)));
        assert!(decision.quota);
        assert_eq!(decision.backoff_level, 3);
    }

    #[test]
    fn backoff_doubles_then_caps_at_thirty_minutes() {
        let mut level = 0;
        let mut waits = Vec::new();
        for _ in 0..13 {
            let decision = decide(&failure(429), level);
            waits.push(decision.cooldown.unwrap().as_secs());
            level = decision.backoff_level;
        }
        assert_eq!(
            waits,
            [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 1800, 1800]
        );
        assert_eq!(level, 11);
    }

    #[test]
    fn model_support_errors_rest_twelve_hours() {
        let decision = decide(
            &Failure {
                status: Some(400),
                message: r#"{"error":{"message":"The requested model is not supported."}}"#,
                retry_after: None,
            },
            0,
        );
        assert_eq!(decision.cooldown, Some(NOT_FOUND_COOLDOWN));
    }

    #[test]
    fn request_invalid_classification() {
        assert!(is_request_invalid(422, ""));
        assert!(is_request_invalid(
            400,
            r#"{"error":{"type":"invalid_request_error","message":"bad"}}"#
        ));
        assert!(!is_request_invalid(400, "plain bad request"));
        assert!(!is_request_invalid(
            400,
            r#"{"type":"invalid_request_error","message":"model not supported"}"#
        ));
        assert!(!is_request_invalid(500, "invalid_request_error"));
    }
}
