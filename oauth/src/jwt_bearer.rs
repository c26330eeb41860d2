//! The JWT-bearer grant (RFC 7523) of a service account.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::{ServiceAccountKey, TokenRequest};

/// How long an assertion is valid (Google accepts at most one hour).
pub(crate) const ASSERTION_LIFETIME_SECS: u64 = 3600;

/// The grant type of RFC 7523.
pub const JWT_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// An RS256 JWT: header `{"alg":"RS256","typ":"JWT","kid"}` (no `kid` when empty), claims
/// `{"iss": client_email, "scope", "aud": token_uri, "iat", "exp": iat + 3600}`, base64url
/// without padding.
pub fn assertion(key: &ServiceAccountKey, scope: &str, now: SystemTime) -> String {
    let mut header = serde_json::json!({ "alg": "RS256", "typ": "JWT" });
    if !key.private_key_id.is_empty() {
        header["kid"] = key.private_key_id.as_str().into();
    }
    let issued_at = now
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since_epoch| since_epoch.as_secs());
    let claims = serde_json::json!({
        "iss": key.client_email,
        "scope": scope,
        "aud": key.token_uri.as_str(),
        "iat": issued_at,
        "exp": issued_at + ASSERTION_LIFETIME_SECS,
    });
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let signature = key.sign(signing_input.as_bytes());
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

impl TokenRequest {
    /// The JWT-bearer token request of `key` for `scope` at `now`: `POST token_uri` with
    /// `grant_type` and `assertion`.
    pub fn jwt_bearer(key: &ServiceAccountKey, scope: &str, now: SystemTime) -> TokenRequest {
        TokenRequest {
            url: key.token_uri.clone(),
            form: vec![
                ("grant_type", JWT_BEARER_GRANT.to_owned()),
                ("assertion", assertion(key, scope, now)),
            ],
            basic: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use ring::signature::{RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};

    use super::*;

    const FIXTURE: &str = include_str!("../../tests/fixtures/oauth/service-account.json");
    const NOW_SECS: u64 = 1_800_000_000;

    fn key_with(edit: impl FnOnce(&mut serde_json::Value)) -> ServiceAccountKey {
        let mut json: serde_json::Value = serde_json::from_str(FIXTURE).unwrap();
        edit(&mut json);
        ServiceAccountKey::from_json(&json).unwrap()
    }

    fn now() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(NOW_SECS)
    }

    fn decode_part(part: &str) -> serde_json::Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
    }

    fn verifies(key: &ServiceAccountKey, jwt: &str) -> bool {
        let (signing_input, signature) = jwt.rsplit_once('.').unwrap();
        let Ok(signature) = URL_SAFE_NO_PAD.decode(signature) else {
            return false;
        };
        UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, key.public_key_der())
            .verify(signing_input.as_bytes(), &signature)
            .is_ok()
    }

    #[test]
    fn the_assertion_is_an_rs256_jwt_with_the_expected_claims() {
        let key = key_with(|_| {});
        let jwt = assertion(&key, crate::CLOUD_PLATFORM_SCOPE, now());
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3);
        assert!(!jwt.contains('=') && !jwt.contains('+') && !jwt.contains('/'));
        assert_eq!(
            decode_part(parts[0]),
            serde_json::json!({"alg": "RS256", "typ": "JWT", "kid": "test-key-1"})
        );
        assert_eq!(
            decode_part(parts[1]),
            serde_json::json!({
                "iss": key.client_email,
                "scope": "https://www.googleapis.com/auth/cloud-platform",
                "aud": "http://127.0.0.1:1/oauth/token",
                "iat": NOW_SECS,
                "exp": NOW_SECS + 3600,
            })
        );
        assert!(verifies(&key, &jwt));
    }

    #[test]
    fn a_tampered_assertion_does_not_verify() {
        let key = key_with(|_| {});
        let jwt = assertion(&key, "scope-a", now());
        let parts: Vec<&str> = jwt.split('.').collect();
        let forged_claims = URL_SAFE_NO_PAD.encode(
            decode_part(parts[1])
                .to_string()
                .replace("scope-a", "scope-b"),
        );
        let forged = format!("{}.{}.{}", parts[0], forged_claims, parts[2]);
        assert!(!verifies(&key, &forged));

        let mut signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
        signature[10] ^= 1;
        let flipped = format!(
            "{}.{}.{}",
            parts[0],
            parts[1],
            URL_SAFE_NO_PAD.encode(signature)
        );
        assert!(!verifies(&key, &flipped));
    }

    #[test]
    fn no_kid_when_the_key_has_no_id() {
        let key = key_with(|json| {
            json.as_object_mut().unwrap().remove("private_key_id");
        });
        let jwt = assertion(&key, "s", now());
        let header = decode_part(jwt.split('.').next().unwrap());
        assert_eq!(header, serde_json::json!({"alg": "RS256", "typ": "JWT"}));
    }

    #[test]
    fn the_request_posts_the_grant_and_assertion_to_token_uri() {
        let key = key_with(|json| json["token_uri"] = "https://oauth2.example.com/token".into());
        let request = TokenRequest::jwt_bearer(&key, "scope x", now());
        assert_eq!(request.url.as_str(), "https://oauth2.example.com/token");
        assert_eq!(request.basic, None);
        assert_eq!(request.form[0], ("grant_type", JWT_BEARER_GRANT.to_owned()));
        assert_eq!(request.form[1].0, "assertion");
        assert_eq!(request.form.len(), 2);
        let jwt = &request.form[1].1;
        assert!(verifies(&key, jwt));
        assert_eq!(
            decode_part(jwt.split('.').nth(1).unwrap())["aud"],
            "https://oauth2.example.com/token"
        );
        assert!(request.body().starts_with(
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion="
        ));
        assert!(!format!("{request:?}").contains(jwt.as_str()));
    }
}
