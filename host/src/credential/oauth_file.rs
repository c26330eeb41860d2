//! The `oauth2` object of an auth file: the operator's own OAuth app, whose bearer tokens
//! switchyard renews itself.
//!
//! ```json
//! "oauth2": {"grant": "refresh_token", "access_token": "…", "refresh_token": "…",
//!            "expires_at": "2026-12-06T10:00:00Z", "token_url": "https://…", "client_id": "…",
//!            "client_secret": "…", "scope": "…", "auth_method": "basic"}
//! ```
//!
//! `grant` `refresh_token` needs `refresh_token` (`client_secret` is optional: public
//! clients); `client_credentials` needs `client_secret` (and may give `audience`).
//! `expires_at` is an RFC 3339 time or Unix seconds; absent, the stored access token counts as
//! expired. Reasons for refusing a file name the field, never its value.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};
use switchyard_oauth::{AuthMethod, ClientCredentials, RefreshGrant, TokenSet};

use crate::config::token_url;
use crate::rfc3339;
use crate::token::TokenSource;

/// The token source an `oauth2` object describes, or why the file is not used.
pub(crate) fn token_source(oauth2: &Value) -> Result<TokenSource, String> {
    let Value::Object(fields) = oauth2 else {
        return Err("oauth2 must be an object".to_owned());
    };
    let grant = required(fields, "grant")?;
    let token_url = token_url::parse(&required(fields, "token_url")?)
        .map_err(|message| format!("oauth2.token_url: {message}"))?;
    let client_id = required(fields, "client_id")?;
    let scope = optional(fields, "scope")?.unwrap_or_default();
    let auth_method = match optional(fields, "auth_method")? {
        None => AuthMethod::default(),
        Some(text) => AuthMethod::parse(&text.to_ascii_lowercase()).ok_or_else(|| {
            format!("oauth2.auth_method {text:?} is unknown (expected basic or post)")
        })?,
    };
    match grant.as_str() {
        "refresh_token" => Ok(TokenSource::RefreshToken {
            grant: RefreshGrant {
                token_url,
                client_id,
                client_secret: optional(fields, "client_secret")?,
                scope,
                auth_method,
            },
            stored: TokenSet {
                access_token: optional(fields, "access_token")?.unwrap_or_default(),
                expires_at: expires_at(fields)?,
                refresh_token: Some(required(fields, "refresh_token")?),
            },
        }),
        "client_credentials" => Ok(TokenSource::ClientCredentials(ClientCredentials {
            token_url,
            client_id,
            client_secret: required(fields, "client_secret")?,
            scope,
            audience: optional(fields, "audience")?.unwrap_or_default(),
            auth_method,
        })),
        other => Err(format!(
            "oauth2.grant {other:?} is unknown (expected refresh_token or client_credentials)"
        )),
    }
}

/// `oauth2.expires_at`: an RFC 3339 time, or Unix seconds (a non-negative number); absent or
/// `null` is the epoch (already expired).
fn expires_at(fields: &Map<String, Value>) -> Result<SystemTime, String> {
    let invalid = || "oauth2.expires_at is not an RFC 3339 time or Unix seconds".to_owned();
    match fields.get("expires_at") {
        None | Some(Value::Null) => Ok(UNIX_EPOCH),
        Some(Value::String(text)) if text.trim().is_empty() => Ok(UNIX_EPOCH),
        Some(Value::String(text)) => rfc3339::parse(text).ok_or_else(invalid),
        Some(Value::Number(number)) => {
            let seconds = number.as_f64().filter(|s| s.is_finite() && *s >= 0.0);
            seconds
                .and_then(|s| Duration::try_from_secs_f64(s).ok())
                .and_then(|d| UNIX_EPOCH.checked_add(d))
                .ok_or_else(invalid)
        }
        Some(_) => Err(invalid()),
    }
}

/// A string field that must be there and not be blank, trimmed.
fn required(fields: &Map<String, Value>, name: &str) -> Result<String, String> {
    optional(fields, name)?.ok_or_else(|| format!("oauth2.{name} is missing"))
}

/// A string field, trimmed; absent, `null` or blank is `None`, another type is an error.
fn optional(fields: &Map<String, Value>, name: &str) -> Result<Option<String>, String> {
    match fields.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => {
            let text = text.trim();
            Ok((!text.is_empty()).then(|| text.to_owned()))
        }
        Some(_) => Err(format!("oauth2.{name} must be a string")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn refresh_file() -> Value {
        json!({
            "grant": "refresh_token",
            "access_token": "at-secret-1",
            "refresh_token": "rt-secret-1",
            "expires_at": "2026-12-06T10:00:00Z",
            "token_url": "https://login.example.com/token",
            "client_id": "app-1",
            "client_secret": "cs-secret-1",
            "scope": "api.read"
        })
    }

    fn client_file() -> Value {
        json!({
            "grant": "client_credentials",
            "token_url": "http://127.0.0.1:9/token",
            "client_id": "app-2",
            "client_secret": "cs-secret-2",
            "scope": "s",
            "audience": "aud"
        })
    }

    fn without(mut value: Value, field: &str) -> Value {
        value.as_object_mut().unwrap().remove(field);
        value
    }

    fn with(mut value: Value, field: &str, new: Value) -> Value {
        value.as_object_mut().unwrap().insert(field.to_owned(), new);
        value
    }

    fn unix(time: SystemTime) -> f64 {
        time.duration_since(UNIX_EPOCH).unwrap().as_secs_f64()
    }

    #[test]
    fn a_refresh_token_grant_carries_its_stored_token_set() {
        let TokenSource::RefreshToken { grant, stored } = token_source(&refresh_file()).unwrap()
        else {
            panic!("not a refresh-token source");
        };
        assert_eq!(grant.token_url.as_str(), "https://login.example.com/token");
        assert_eq!(grant.client_id, "app-1");
        assert_eq!(grant.client_secret.as_deref(), Some("cs-secret-1"));
        assert_eq!(grant.scope, "api.read");
        assert_eq!(grant.auth_method, AuthMethod::Basic);
        assert_eq!(stored.access_token, "at-secret-1");
        assert_eq!(stored.refresh_token.as_deref(), Some("rt-secret-1"));
        assert_eq!(unix(stored.expires_at), 1_796_551_200.0);
    }

    #[test]
    fn a_public_client_needs_no_secret_and_an_access_token_may_be_absent() {
        let file = without(without(refresh_file(), "client_secret"), "access_token");
        let TokenSource::RefreshToken { grant, stored } = token_source(&file).unwrap() else {
            panic!("not a refresh-token source");
        };
        assert_eq!(grant.client_secret, None);
        assert_eq!(stored.access_token, "");
    }

    #[test]
    fn a_client_credentials_grant_becomes_client_credentials() {
        let TokenSource::ClientCredentials(client) = token_source(&client_file()).unwrap() else {
            panic!("not client credentials");
        };
        assert_eq!(client.token_url.as_str(), "http://127.0.0.1:9/token");
        assert_eq!(client.client_id, "app-2");
        assert_eq!(client.client_secret, "cs-secret-2");
        assert_eq!(client.scope, "s");
        assert_eq!(client.audience, "aud");
        assert_eq!(client.auth_method, AuthMethod::Basic);
    }

    #[test]
    fn auth_method_post_is_read_and_an_unknown_one_refused() {
        let file = with(client_file(), "auth_method", json!("POST"));
        let TokenSource::ClientCredentials(client) = token_source(&file).unwrap() else {
            panic!("not client credentials");
        };
        assert_eq!(client.auth_method, AuthMethod::Post);
        let wrong = token_source(&with(client_file(), "auth_method", json!("jwt"))).unwrap_err();
        assert_eq!(
            wrong,
            "oauth2.auth_method \"jwt\" is unknown (expected basic or post)"
        );
    }

    #[test]
    fn expires_at_reads_rfc3339_and_unix_seconds_and_absent_is_expired() {
        let at = |value: Value| {
            let file = with(refresh_file(), "expires_at", value);
            match token_source(&file).unwrap() {
                TokenSource::RefreshToken { stored, .. } => unix(stored.expires_at),
                other => panic!("{other:?}"),
            }
        };
        assert_eq!(at(json!("2026-12-06T12:00:00+02:00")), 1_796_551_200.0);
        assert_eq!(at(json!("2026-12-06T10:00:00.5Z")), 1_796_551_200.5);
        assert_eq!(at(json!(1_796_551_200u64)), 1_796_551_200.0);
        assert_eq!(at(json!(1_796_551_200.25)), 1_796_551_200.25);
        assert_eq!(at(Value::Null), 0.0);
        assert_eq!(at(json!("")), 0.0);
        let absent = without(refresh_file(), "expires_at");
        match token_source(&absent).unwrap() {
            TokenSource::RefreshToken { stored, .. } => assert_eq!(stored.expires_at, UNIX_EPOCH),
            other => panic!("{other:?}"),
        }
        for bad in [json!("tomorrow"), json!(-5), json!(true), json!([1])] {
            let file = with(refresh_file(), "expires_at", bad.clone());
            assert_eq!(
                token_source(&file).unwrap_err(),
                "oauth2.expires_at is not an RFC 3339 time or Unix seconds",
                "{bad}"
            );
        }
    }

    #[test]
    fn every_missing_field_is_named_and_no_secret_is_repeated() {
        let cases = [
            (without(refresh_file(), "grant"), "oauth2.grant is missing"),
            (
                without(refresh_file(), "token_url"),
                "oauth2.token_url is missing",
            ),
            (
                without(refresh_file(), "client_id"),
                "oauth2.client_id is missing",
            ),
            (
                without(refresh_file(), "refresh_token"),
                "oauth2.refresh_token is missing",
            ),
            (
                with(refresh_file(), "refresh_token", json!("  ")),
                "oauth2.refresh_token is missing",
            ),
            (
                without(client_file(), "client_secret"),
                "oauth2.client_secret is missing",
            ),
            (
                with(refresh_file(), "refresh_token", json!(42)),
                "oauth2.refresh_token must be a string",
            ),
            (
                with(refresh_file(), "grant", json!("password")),
                "oauth2.grant \"password\" is unknown (expected refresh_token or client_credentials)",
            ),
            (
                with(
                    refresh_file(),
                    "token_url",
                    json!("http://login.example.com/token"),
                ),
                "oauth2.token_url: must be an https:// URL (http:// only to a loopback address)",
            ),
            (json!("rt-secret-1"), "oauth2 must be an object"),
        ];
        for (file, reason) in cases {
            let got = token_source(&file).unwrap_err();
            assert_eq!(got, reason);
            assert!(!got.contains("secret-"), "{got}");
        }
    }
}
