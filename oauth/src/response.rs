//! Reading a token endpoint's answer (RFC 6749 §5.1 and §5.2).

use std::time::{Duration, SystemTime};

use serde_json::{Map, Value};

use crate::server_text::{error_code, error_description, is_header_safe_token};
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
    if body.len() > MAX_TOKEN_RESPONSE {
        return Err(TokenError::Malformed("larger than 64 KiB".to_owned()));
    }
    let object = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(object)) => Some(object),
        _ => None,
    };
    if !(200..300).contains(&status) {
        return Err(object
            .as_ref()
            .and_then(|object| rejection(status, object))
            .unwrap_or(TokenError::Status(status)));
    }
    let object = object.ok_or_else(|| malformed("not a JSON object"))?;
    let access_token = match object.get("access_token") {
        Some(Value::String(token)) if is_header_safe_token(token) => token.clone(),
        Some(Value::String(token)) if !token.is_empty() => {
            return Err(malformed(
                "access_token has characters outside visible ASCII",
            ));
        }
        // Some servers answer 200 with an error body; it means what it says.
        _ => {
            return Err(rejection(status, &object).unwrap_or_else(|| malformed("no access_token")));
        }
    };
    match object.get("token_type") {
        None | Some(Value::Null) => {}
        Some(Value::String(kind)) if kind.eq_ignore_ascii_case("bearer") => {}
        Some(_) => return Err(malformed("token_type is not bearer")),
    }
    let refresh_token = match object.get("refresh_token") {
        None | Some(Value::Null) => None,
        Some(Value::String(token)) if token.is_empty() => None,
        Some(Value::String(token)) => Some(token.clone()),
        Some(_) => return Err(malformed("refresh_token is not a string")),
    };
    let lifetime_granted = match object.get("expires_in").and_then(seconds) {
        Some(seconds) => duration_of(seconds, lifetime.max),
        None => lifetime.default,
    };
    // `max` wins over `min` should a caller ever set them the wrong way round.
    let believed = lifetime_granted.max(lifetime.min).min(lifetime.max);
    Ok(TokenSet {
        access_token,
        expires_at: asked_at.checked_add(believed).unwrap_or(asked_at),
        refresh_token,
    })
}

/// [`TokenError::Malformed`] with `why`.
fn malformed(why: &str) -> TokenError {
    TokenError::Malformed(why.to_owned())
}

/// The RFC 6749 §5.2 error in `object`, if it has a string `error`.
fn rejection(status: u16, object: &Map<String, Value>) -> Option<TokenError> {
    let code = object.get("error")?.as_str()?;
    let description = object
        .get("error_description")
        .and_then(Value::as_str)
        .unwrap_or_default();
    Some(TokenError::Rejected {
        status,
        code: error_code(code),
        description: error_description(description),
    })
}

/// `expires_in` as seconds: a JSON number or a numeric string. Anything else is treated as
/// absent (the default lifetime applies).
fn seconds(value: &Value) -> Option<f64> {
    match value {
        Value::Number(number) => number.as_f64(),
        Value::String(text) => text.trim().parse::<f64>().ok(),
        _ => None,
    }
    .filter(|seconds| !seconds.is_nan())
}

/// `seconds` as a duration: zero when negative, at most `ceiling` (absurd values included).
fn duration_of(seconds: f64, ceiling: Duration) -> Duration {
    if seconds <= 0.0 {
        Duration::ZERO
    } else if seconds >= ceiling.as_secs_f64() {
        ceiling
    } else {
        Duration::from_secs_f64(seconds)
    }
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use super::*;

    fn asked_at() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_700_000_000)
    }

    fn parse(status: u16, body: &str) -> Result<TokenSet, TokenError> {
        parse_token_response(status, body.as_bytes(), asked_at(), Lifetime::default())
    }

    fn lifetime_of(body: &str) -> Duration {
        parse(200, body)
            .unwrap()
            .expires_at
            .duration_since(asked_at())
            .unwrap()
    }

    #[test]
    fn a_bearer_answer_gives_the_token_its_expiry_and_the_rotated_refresh_token() {
        let set = parse(
            200,
            r#"{"access_token":"ya29.abc","token_type":"Bearer","expires_in":3599,"refresh_token":"rt-2","scope":"x"}"#,
        )
        .unwrap();
        assert_eq!(set.access_token, "ya29.abc");
        assert_eq!(set.expires_at, asked_at() + Duration::from_secs(3599));
        assert_eq!(set.refresh_token.as_deref(), Some("rt-2"));
        let without_refresh = parse(201, r#"{"access_token":"t","token_type":"bearer"}"#).unwrap();
        assert_eq!(without_refresh.refresh_token, None);
        let empty_refresh = parse(200, r#"{"access_token":"t","refresh_token":""}"#).unwrap();
        assert_eq!(empty_refresh.refresh_token, None);
    }

    #[test]
    fn expires_in_is_clamped_at_both_ends() {
        let prefix = r#"{"access_token":"t","expires_in":"#;
        assert_eq!(
            lifetime_of(&format!("{prefix}5}}")),
            Duration::from_secs(60)
        );
        assert_eq!(
            lifetime_of(&format!("{prefix}0}}")),
            Duration::from_secs(60)
        );
        assert_eq!(
            lifetime_of(&format!("{prefix}-100}}")),
            Duration::from_secs(60)
        );
        assert_eq!(
            lifetime_of(&format!("{prefix}999999999}}")),
            Duration::from_secs(86_400)
        );
        assert_eq!(
            lifetime_of(&format!("{prefix}1e300}}")),
            Duration::from_secs(86_400)
        );
        assert_eq!(
            lifetime_of(&format!("{prefix}18446744073709551615}}")),
            Duration::from_secs(86_400)
        );
        assert_eq!(
            lifetime_of(&format!("{prefix}61}}")),
            Duration::from_secs(61)
        );
        assert_eq!(
            lifetime_of(&format!("{prefix}86400}}")),
            Duration::from_secs(86_400)
        );
    }

    #[test]
    fn expires_in_may_be_a_numeric_string() {
        assert_eq!(
            lifetime_of(r#"{"access_token":"t","expires_in":"3600"}"#),
            Duration::from_secs(3600)
        );
        assert_eq!(
            lifetime_of(r#"{"access_token":"t","expires_in":" 120 "}"#),
            Duration::from_secs(120)
        );
        assert_eq!(
            lifetime_of(r#"{"access_token":"t","expires_in":"10"}"#),
            Duration::from_secs(60)
        );
    }

    #[test]
    fn a_missing_or_unreadable_expires_in_gets_the_default_lifetime_clamped() {
        assert_eq!(
            lifetime_of(r#"{"access_token":"t"}"#),
            Duration::from_secs(3600)
        );
        assert_eq!(
            lifetime_of(r#"{"access_token":"t","expires_in":"soon"}"#),
            Duration::from_secs(3600)
        );
        let short_default = Lifetime {
            default: Duration::from_secs(1),
            ..Lifetime::default()
        };
        let set = parse_token_response(200, br#"{"access_token":"t"}"#, asked_at(), short_default)
            .unwrap();
        assert_eq!(set.expires_at, asked_at() + Duration::from_secs(60));
    }

    #[test]
    fn a_token_type_other_than_bearer_is_malformed() {
        for body in [
            r#"{"access_token":"t","token_type":"mac"}"#,
            r#"{"access_token":"t","token_type":"DPoP"}"#,
            r#"{"access_token":"t","token_type":7}"#,
        ] {
            assert!(
                matches!(parse(200, body), Err(TokenError::Malformed(_))),
                "{body}"
            );
        }
    }

    #[test]
    fn an_access_token_must_be_a_non_empty_visible_ascii_string() {
        for body in [
            r#"{"access_token":""}"#,
            r#"{"access_token":5}"#,
            r#"{"token_type":"bearer"}"#,
            r#"{"access_token":"a\r\nX-Evil: 1"}"#,
            r#"{"access_token":"with space"}"#,
            r#"{"access_token":"caf\u00e9"}"#,
            r#"{"access_token":"nul\u0000"}"#,
            r#"["access_token"]"#,
            "not json",
            r#"{"access_token":"t","refresh_token":5}"#,
        ] {
            let error = parse(200, body).unwrap_err();
            assert!(
                matches!(error, TokenError::Malformed(_)),
                "{body}: {error:?}"
            );
        }
    }

    #[test]
    fn error_bodies_become_rejections_with_bounded_text() {
        assert_eq!(
            parse(
                400,
                r#"{"error":"invalid_grant","error_description":"Refresh token\r\nwas used"}"#
            ),
            Err(TokenError::Rejected {
                status: 400,
                code: "invalid_grant".into(),
                description: "Refresh tokenwas used".into(),
            })
        );
        assert!(
            parse(400, r#"{"error":"invalid_grant"}"#)
                .unwrap_err()
                .is_invalid_grant()
        );
        let odd = parse(
            401,
            &format!(
                r#"{{"error":"{}","error_description":"{}"}}"#,
                "x".repeat(65),
                "d".repeat(500)
            ),
        )
        .unwrap_err();
        let TokenError::Rejected {
            status,
            code,
            description,
        } = odd
        else {
            panic!("{odd:?}")
        };
        assert_eq!((status, code.as_str()), (401, "invalid"));
        assert_eq!(description.len(), 200);
        assert_eq!(
            parse(400, r#"{"error":"bad\u0001code","error_description":5}"#),
            Err(TokenError::Rejected {
                status: 400,
                code: "invalid".into(),
                description: String::new(),
            })
        );
    }

    #[test]
    fn other_failures_are_the_bare_status() {
        assert_eq!(
            parse(503, "Service Unavailable"),
            Err(TokenError::Status(503))
        );
        assert_eq!(
            parse(500, r#"{"message":"oops"}"#),
            Err(TokenError::Status(500))
        );
        assert_eq!(
            parse(400, r#"{"error":{"code":400}}"#),
            Err(TokenError::Status(400))
        );
        assert_eq!(
            parse(302, r#"{"access_token":"t"}"#),
            Err(TokenError::Status(302))
        );
    }

    #[test]
    fn a_success_status_with_an_error_body_is_that_rejection() {
        assert!(
            parse(200, r#"{"error":"invalid_grant"}"#)
                .unwrap_err()
                .is_invalid_grant()
        );
    }

    #[test]
    fn an_oversized_body_is_malformed_whatever_it_holds() {
        let padding = " ".repeat(MAX_TOKEN_RESPONSE);
        let body = format!(r#"{{"access_token":"t"}}{padding}"#);
        assert!(matches!(parse(200, &body), Err(TokenError::Malformed(_))));
        let error_body = format!(r#"{{"error":"invalid_grant"}}{padding}"#);
        assert!(matches!(
            parse(400, &error_body),
            Err(TokenError::Malformed(_))
        ));
        let at_limit = r#"{"access_token":"t"}"#.to_owned();
        let at_limit = format!(
            "{at_limit}{}",
            " ".repeat(MAX_TOKEN_RESPONSE - at_limit.len())
        );
        assert!(parse(200, &at_limit).is_ok());
    }

    #[test]
    fn errors_never_show_the_token() {
        let error = parse(
            200,
            r#"{"access_token":"secret token","token_type":"bearer"}"#,
        )
        .unwrap_err();
        assert!(!format!("{error} {error:?}").contains("secret"));
        let error =
            parse(200, r#"{"access_token":"secret-token","token_type":"mac"}"#).unwrap_err();
        assert!(!format!("{error} {error:?}").contains("secret"));
    }
}
