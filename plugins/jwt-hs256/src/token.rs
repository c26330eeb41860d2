//! Checking one HS256 token (RFC 7519, RFC 7515 compact serialization).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde_json::{Map, Value};
use sha2::Sha256;

use crate::settings::Settings;

/// The longest token looked at, in bytes; longer ones are refused unread.
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// What a token says about the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Not a JWT (not three base64url segments): some other provider's credential.
    NotAToken,
    /// A JWT this instance refuses, and why (for the debug log; never sent to the client).
    Invalid(Reason),
    /// A valid token: the principal and the facts recorded beside it.
    Valid {
        /// The value of the principal claim.
        principal: String,
        /// `(key, value)` facts: `source`, and `issuer` when the token has one.
        metadata: Vec<(String, String)>,
    },
}

/// Why a token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// Longer than [`MAX_TOKEN_BYTES`].
    TooLong,
    /// The header is not base64url JSON.
    MalformedHeader,
    /// `alg` is not `HS256`.
    Algorithm,
    /// The header lists critical extensions, which this provider does not understand.
    Critical,
    /// The signature does not match.
    Signature,
    /// The payload is not a base64url JSON object.
    MalformedClaims,
    /// No numeric `exp` claim.
    MissingExpiry,
    /// `exp` is past (beyond the leeway).
    Expired,
    /// `nbf` is not numeric.
    MalformedNotBefore,
    /// `nbf` is in the future (beyond the leeway).
    NotYetValid,
    /// `iss` differs from the configured issuer.
    Issuer,
    /// `aud` names none of the configured audiences, or is present while none is configured.
    Audience,
    /// The principal claim is missing, empty, or neither a string nor an integer.
    Principal,
}

impl Reason {
    /// A short description for logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::TooLong => "token too long",
            Reason::MalformedHeader => "malformed header",
            Reason::Algorithm => "algorithm is not HS256",
            Reason::Critical => "unsupported critical header parameters",
            Reason::Signature => "signature mismatch",
            Reason::MalformedClaims => "malformed claims",
            Reason::MissingExpiry => "no exp claim",
            Reason::Expired => "expired",
            Reason::MalformedNotBefore => "malformed nbf claim",
            Reason::NotYetValid => "not yet valid",
            Reason::Issuer => "wrong issuer",
            Reason::Audience => "wrong audience",
            Reason::Principal => "principal claim missing",
        }
    }
}

/// An instance's settings with the HMAC key schedule computed once.
#[derive(Clone)]
pub struct Verifier {
    settings: Settings,
    mac: Hmac<Sha256>,
}

impl Verifier {
    /// A verifier for `settings`.
    pub fn new(settings: Settings) -> Verifier {
        let mac = Hmac::<Sha256>::new_from_slice(&settings.secret)
            .expect("HMAC accepts keys of any length");
        Verifier { settings, mac }
    }

    /// The settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Checks `token` for a request that arrived at `arrival_ms` (unix milliseconds).
    pub fn verify(&self, token: &str, arrival_ms: u64) -> Verdict {
        if !looks_like_jwt(token) {
            return Verdict::NotAToken;
        }
        match self.check(token, arrival_ms) {
            Ok((principal, metadata)) => Verdict::Valid {
                principal,
                metadata,
            },
            Err(reason) => Verdict::Invalid(reason),
        }
    }

    fn check(
        &self,
        token: &str,
        arrival_ms: u64,
    ) -> Result<(String, Vec<(String, String)>), Reason> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(Reason::TooLong);
        }
        let (signed, signature) = token.rsplit_once('.').ok_or(Reason::MalformedHeader)?;
        let (header, payload) = signed.split_once('.').ok_or(Reason::MalformedHeader)?;
        let header = decode_object(header).ok_or(Reason::MalformedHeader)?;
        if header.get("alg").and_then(Value::as_str) != Some("HS256") {
            return Err(Reason::Algorithm);
        }
        if header.contains_key("crit") {
            return Err(Reason::Critical);
        }
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| Reason::Signature)?;
        let mut mac = self.mac.clone();
        mac.update(signed.as_bytes());
        // `verify_slice` compares in constant time.
        mac.verify_slice(&signature)
            .map_err(|_| Reason::Signature)?;

        let claims = decode_object(payload).ok_or(Reason::MalformedClaims)?;
        let leeway_ms = self.settings.leeway_seconds as f64 * 1000.0;
        let now_ms = arrival_ms as f64;
        let expiry = claims
            .get("exp")
            .and_then(Value::as_f64)
            .ok_or(Reason::MissingExpiry)?;
        if now_ms >= expiry * 1000.0 + leeway_ms {
            return Err(Reason::Expired);
        }
        match claims.get("nbf") {
            None => {}
            Some(value) => {
                let not_before = value.as_f64().ok_or(Reason::MalformedNotBefore)?;
                if now_ms + leeway_ms < not_before * 1000.0 {
                    return Err(Reason::NotYetValid);
                }
            }
        }
        let issuer = claims.get("iss").and_then(Value::as_str);
        if let Some(expected) = &self.settings.issuer
            && issuer != Some(expected.as_str())
        {
            return Err(Reason::Issuer);
        }
        check_audience(claims.get("aud"), self.settings.audience.as_deref())?;
        let principal = match claims.get(&self.settings.principal_claim) {
            Some(Value::String(text)) if !text.is_empty() => text.clone(),
            Some(Value::Number(n)) if n.is_i64() || n.is_u64() => n.to_string(),
            _ => return Err(Reason::Principal),
        };
        let mut metadata = vec![("source".to_owned(), "jwt".to_owned())];
        if let Some(issuer) = issuer {
            metadata.push(("issuer".to_owned(), issuer.to_owned()));
        }
        Ok((principal, metadata))
    }
}

/// The `aud` rule of RFC 7519 §4.1.3: with audiences configured, `aud` (a string or a list of
/// strings) must name one of them; without, a token that has an `aud` is refused.
fn check_audience(claim: Option<&Value>, accepted: Option<&[String]>) -> Result<(), Reason> {
    let names = |value: &str| accepted.is_some_and(|list| list.iter().any(|a| a == value));
    match claim {
        None | Some(Value::Null) if accepted.is_none() => Ok(()),
        Some(Value::String(aud)) if names(aud) => Ok(()),
        Some(Value::Array(items)) if items.iter().filter_map(Value::as_str).any(names) => Ok(()),
        _ => Err(Reason::Audience),
    }
}

/// Three non-empty segments of the base64url alphabet, separated by dots.
fn looks_like_jwt(token: &str) -> bool {
    let mut segments = 0;
    for segment in token.split('.') {
        segments += 1;
        let base64url = segment
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if segment.is_empty() || !base64url {
            return false;
        }
    }
    segments == 3
}

/// A base64url (unpadded) segment holding a JSON object.
fn decode_object(segment: &str) -> Option<Map<String, Value>> {
    let bytes = URL_SAFE_NO_PAD.decode(segment).ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(object) => Some(object),
        _ => None,
    }
}

/// The token of an `Authorization: Bearer <token>` header value (scheme case-insensitive);
/// `None` for any other scheme.
pub fn bearer(value: &str) -> Option<&str> {
    let value = value.trim();
    let (scheme, token) = value.split_once([' ', '\t'])?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
        .filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "0123456789abcdef0123456789abcdef";
    const NOW_MS: u64 = 1_700_000_000_000;

    fn verifier(extra: &str) -> Verifier {
        let json = format!(r#"{{"secret":"{SECRET}"{extra}}}"#);
        Verifier::new(Settings::parse(&json).unwrap())
    }

    fn mint(header: &str, claims: &str, secret: &str) -> String {
        let signed = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(claims)
        );
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(signed.as_bytes());
        format!(
            "{signed}.{}",
            URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
        )
    }

    fn token(claims: &str) -> String {
        mint(r#"{"alg":"HS256","typ":"JWT"}"#, claims, SECRET)
    }

    #[test]
    fn a_valid_token_names_its_subject() {
        let verdict = verifier("").verify(&token(r#"{"sub":"alice","exp":1700000060}"#), NOW_MS);
        assert_eq!(
            verdict,
            Verdict::Valid {
                principal: "alice".into(),
                metadata: vec![("source".into(), "jwt".into())]
            }
        );
    }

    #[test]
    fn time_checks_use_the_arrival_time_and_the_leeway() {
        let expired = token(r#"{"sub":"a","exp":1700000000}"#);
        assert_eq!(
            verifier("").verify(&expired, NOW_MS),
            Verdict::Invalid(Reason::Expired)
        );
        assert!(matches!(
            verifier(r#","leeway-seconds":1"#).verify(&expired, NOW_MS),
            Verdict::Valid { .. }
        ));
        let early = token(r#"{"sub":"a","exp":1800000000,"nbf":1700000010}"#);
        assert_eq!(
            verifier("").verify(&early, NOW_MS),
            Verdict::Invalid(Reason::NotYetValid)
        );
        assert!(matches!(
            verifier(r#","leeway-seconds":10"#).verify(&early, NOW_MS),
            Verdict::Valid { .. }
        ));
        let no_exp = token(r#"{"sub":"a"}"#);
        assert_eq!(
            verifier("").verify(&no_exp, NOW_MS),
            Verdict::Invalid(Reason::MissingExpiry)
        );
    }

    #[test]
    fn issuer_audience_and_principal_claim() {
        let v = verifier(r#","issuer":"idp","audience":"proxy","principal-claim":"email""#);
        let good = token(r#"{"iss":"idp","aud":["x","proxy"],"email":"a@b","exp":1800000000}"#);
        assert!(
            matches!(v.verify(&good, NOW_MS), Verdict::Valid { principal, .. } if principal == "a@b")
        );
        for (claims, reason) in [
            (
                r#"{"iss":"other","aud":"proxy","email":"a","exp":1800000000}"#,
                Reason::Issuer,
            ),
            (
                r#"{"aud":"proxy","email":"a","exp":1800000000}"#,
                Reason::Issuer,
            ),
            (
                r#"{"iss":"idp","aud":"else","email":"a","exp":1800000000}"#,
                Reason::Audience,
            ),
            (
                r#"{"iss":"idp","email":"a","exp":1800000000}"#,
                Reason::Audience,
            ),
            (
                r#"{"iss":"idp","aud":"proxy","sub":"a","exp":1800000000}"#,
                Reason::Principal,
            ),
        ] {
            assert_eq!(
                v.verify(&token(claims), NOW_MS),
                Verdict::Invalid(reason),
                "{claims}"
            );
        }
        // An audience in the token but none configured: refused (RFC 7519 §4.1.3).
        let aud = token(r#"{"sub":"a","aud":"proxy","exp":1800000000}"#);
        assert_eq!(
            verifier("").verify(&aud, NOW_MS),
            Verdict::Invalid(Reason::Audience)
        );
    }

    #[test]
    fn signature_algorithm_and_shape() {
        let claims = r#"{"sub":"a","exp":1800000000}"#;
        let v = verifier("");
        let wrong_key = mint(
            r#"{"alg":"HS256"}"#,
            claims,
            "another-secret-another-secret-xx",
        );
        assert_eq!(
            v.verify(&wrong_key, NOW_MS),
            Verdict::Invalid(Reason::Signature)
        );
        let none = format!(
            "{}.{}.c2ln",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#),
            URL_SAFE_NO_PAD.encode(claims)
        );
        assert_eq!(v.verify(&none, NOW_MS), Verdict::Invalid(Reason::Algorithm));
        let crit = mint(r#"{"alg":"HS256","crit":["x"]}"#, claims, SECRET);
        assert_eq!(v.verify(&crit, NOW_MS), Verdict::Invalid(Reason::Critical));
        let mut tampered = token(claims);
        tampered.insert(tampered.find('.').unwrap() + 2, 'A');
        assert_eq!(
            v.verify(&tampered, NOW_MS),
            Verdict::Invalid(Reason::Signature)
        );
        for not_jwt in ["sk-123", "a.b", "a..c", "a.b.c.d", "a.b.c d"] {
            assert_eq!(v.verify(not_jwt, NOW_MS), Verdict::NotAToken, "{not_jwt}");
        }
    }

    #[test]
    fn bearer_scheme() {
        assert_eq!(bearer("Bearer abc"), Some("abc"));
        assert_eq!(bearer("bearer   abc "), Some("abc"));
        assert_eq!(bearer("Basic abc"), None);
        assert_eq!(bearer("abc"), None);
        assert_eq!(bearer("Bearer "), None);
    }
}
