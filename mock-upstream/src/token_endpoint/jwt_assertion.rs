//! The JWT-bearer assertion check (RFC 7523 §3, as Google's token endpoint applies it): an
//! RS256 JWT signed by a registered service account, for this endpoint, fresh, short-lived,
//! asking for the Cloud Platform scope.

use base64::Engine;
use base64::prelude::BASE64_URL_SAFE_NO_PAD;
use ring::signature::{RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};
use serde_json::Value;

/// The scope a Vertex token must carry.
pub(crate) const CLOUD_PLATFORM_SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";

/// How far in the future `iat` may be (clock skew), in seconds.
const ALLOWED_SKEW: u64 = 60;

/// The longest lifetime (`exp - iat`) an assertion may ask for, in seconds.
const MAX_ASSERTION_LIFETIME: u64 = 3600;

/// An assertion that passed every check.
#[derive(Debug)]
pub(crate) struct VerifiedAssertion {
    /// The service account's email (`iss`).
    pub(crate) issuer: String,
    /// The requested scopes, space-separated.
    pub(crate) scope: String,
}

/// Checks `assertion`: the public key of its issuer comes from `key_of`, its `aud` must be
/// `audience`, and `now` is the Unix time. The error names the failed check.
pub(crate) fn verify(
    assertion: &str,
    key_of: impl FnOnce(&str) -> Option<Vec<u8>>,
    audience: &str,
    now: u64,
) -> Result<VerifiedAssertion, String> {
    let mut parts = assertion.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("the assertion is not a JWT (three dot-separated parts)".to_owned());
    };
    let header_json = decode_json(header, "header")?;
    if header_json.get("alg").and_then(Value::as_str) != Some("RS256") {
        return Err("the assertion's alg must be RS256".to_owned());
    }
    let claims = decode_json(payload, "payload")?;
    let issuer = claims
        .get("iss")
        .and_then(Value::as_str)
        .ok_or("the assertion has no iss")?;
    let key = key_of(issuer).ok_or_else(|| format!("unknown service account {issuer}"))?;
    let signature = BASE64_URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| "the assertion's signature is not base64url".to_owned())?;
    let signed = &assertion[..header.len() + 1 + payload.len()];
    UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, key)
        .verify(signed.as_bytes(), &signature)
        .map_err(|_| "invalid assertion signature".to_owned())?;
    if claims.get("aud").and_then(Value::as_str) != Some(audience) {
        return Err(format!("the assertion's aud must be {audience}"));
    }
    let time = |name: &str| {
        claims
            .get(name)
            .and_then(Value::as_u64)
            .ok_or_else(|| format!("the assertion has no numeric {name}"))
    };
    let (issued_at, expires_at) = (time("iat")?, time("exp")?);
    if issued_at > now + ALLOWED_SKEW {
        return Err("the assertion's iat is in the future".to_owned());
    }
    if expires_at <= now {
        return Err("the assertion has expired (exp)".to_owned());
    }
    if expires_at.saturating_sub(issued_at) > MAX_ASSERTION_LIFETIME || expires_at < issued_at {
        return Err("the assertion's lifetime (exp - iat) exceeds 3600 s".to_owned());
    }
    let scope = claims
        .get("scope")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !scope.split(' ').any(|scope| scope == CLOUD_PLATFORM_SCOPE) {
        return Err(format!(
            "the assertion's scope lacks {CLOUD_PLATFORM_SCOPE}"
        ));
    }
    Ok(VerifiedAssertion {
        issuer: issuer.to_owned(),
        scope: scope.to_owned(),
    })
}

/// A base64url JSON part of the JWT.
fn decode_json(part: &str, name: &str) -> Result<Value, String> {
    BASE64_URL_SAFE_NO_PAD
        .decode(part)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
        .filter(Value::is_object)
        .ok_or_else(|| format!("the assertion's {name} is not base64url JSON"))
}
