//! The settings of one configured instance, checked by `configure`.

use serde_json::{Map, Value};

/// The shortest secret accepted, in bytes: RFC 7518 §3.2 asks for a key at least as long as
/// the hash output (256 bits for HS256).
pub const MIN_SECRET_BYTES: usize = 32;

/// The longest clock skew accepted, in seconds (one day).
pub const MAX_LEEWAY_SECONDS: u64 = 86_400;

/// The claim that names the caller when `principal-claim` is not set.
pub const DEFAULT_PRINCIPAL_CLAIM: &str = "sub";

/// The validated settings of an instance.
#[derive(Clone, PartialEq, Eq)]
pub struct Settings {
    /// The HMAC key (the UTF-8 bytes of `secret`).
    pub secret: Vec<u8>,
    /// The `iss` a token must carry, if set.
    pub issuer: Option<String>,
    /// The audiences this instance accepts (a token's `aud` must name one), if set.
    pub audience: Option<Vec<String>>,
    /// Clock skew allowed when checking `exp` and `nbf`, in seconds.
    pub leeway_seconds: u64,
    /// The claim whose value becomes the principal.
    pub principal_claim: String,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("secret", &"<redacted>")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("leeway_seconds", &self.leeway_seconds)
            .field("principal_claim", &self.principal_claim)
            .finish()
    }
}

/// The keys `configure` understands.
const KEYS: &[&str] = &[
    "secret",
    "issuer",
    "audience",
    "leeway-seconds",
    "principal-claim",
];

impl Settings {
    /// Parses and checks the settings JSON:
    /// `{"secret": "...", "issuer"?: "...", "audience"?: "..." | ["...", ...],
    ///   "leeway-seconds"?: 0, "principal-claim"?: "sub"}`.
    ///
    /// Every error is one sentence naming the setting, shown to the operator as it is.
    pub fn parse(settings_json: &str) -> Result<Settings, String> {
        let value: Value = serde_json::from_str(settings_json)
            .map_err(|e| format!("settings are not valid JSON: {e}"))?;
        let Value::Object(object) = value else {
            return Err(
                "settings must be an object such as {\"secret\": \"...\", \"issuer\": \"...\"}"
                    .to_owned(),
            );
        };
        if let Some(unknown) = object.keys().find(|k| !KEYS.contains(&k.as_str())) {
            return Err(format!(
                "unknown setting {unknown:?} (known: {})",
                KEYS.join(", ")
            ));
        }
        let secret = match object.get("secret") {
            None | Some(Value::Null) => {
                return Err(format!(
                    "secret is required: the shared HMAC key, at least {MIN_SECRET_BYTES} bytes"
                ));
            }
            Some(Value::String(secret)) if secret.len() < MIN_SECRET_BYTES => {
                return Err(format!(
                    "secret is {} bytes; HS256 needs at least {MIN_SECRET_BYTES} (RFC 7518 §3.2)",
                    secret.len()
                ));
            }
            Some(Value::String(secret)) => secret.as_bytes().to_vec(),
            Some(_) => return Err("secret must be a string".to_owned()),
        };
        let issuer = optional_text(&object, "issuer")?;
        let audience = match object.get("audience") {
            None | Some(Value::Null) => None,
            Some(Value::String(one)) if !one.is_empty() => Some(vec![one.clone()]),
            Some(Value::Array(items)) if !items.is_empty() => Some(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| match item {
                        Value::String(s) if !s.is_empty() => Ok(s.clone()),
                        _ => Err(format!("audience[{i}] must be a non-empty string")),
                    })
                    .collect::<Result<_, _>>()?,
            ),
            Some(_) => {
                return Err(
                    "audience must be a non-empty string or a non-empty list of strings".to_owned(),
                );
            }
        };
        let leeway_seconds = match object.get("leeway-seconds") {
            None | Some(Value::Null) => 0,
            Some(Value::Number(n)) => match n.as_u64() {
                Some(seconds) if seconds <= MAX_LEEWAY_SECONDS => seconds,
                _ => {
                    return Err(format!(
                        "leeway-seconds must be a whole number from 0 to {MAX_LEEWAY_SECONDS}, not {n}"
                    ));
                }
            },
            Some(_) => return Err("leeway-seconds must be a number of seconds".to_owned()),
        };
        let principal_claim = optional_text(&object, "principal-claim")?
            .unwrap_or_else(|| DEFAULT_PRINCIPAL_CLAIM.to_owned());
        Ok(Settings {
            secret,
            issuer,
            audience,
            leeway_seconds,
            principal_claim,
        })
    }
}

/// The non-empty string setting `key`, if present.
fn optional_text(object: &Map<String, Value>, key: &str) -> Result<Option<String>, String> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) if !text.is_empty() => Ok(Some(text.clone())),
        Some(_) => Err(format!("{key} must be a non-empty string")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn defaults_and_full_settings() {
        let settings = Settings::parse(&format!(r#"{{"secret":"{SECRET}"}}"#)).unwrap();
        assert_eq!(settings.principal_claim, "sub");
        assert_eq!(settings.leeway_seconds, 0);
        assert_eq!((settings.issuer, settings.audience), (None, None));
        let settings = Settings::parse(&format!(
            r#"{{"secret":"{SECRET}","issuer":"i","audience":["a","b"],"leeway-seconds":30,"principal-claim":"email"}}"#
        ))
        .unwrap();
        assert_eq!(settings.audience, Some(vec!["a".into(), "b".into()]));
        assert_eq!(settings.leeway_seconds, 30);
    }

    #[test]
    fn bad_settings_are_named() {
        for (json, needle) in [
            ("{}", "secret is required"),
            (r#"{"secret":"short"}"#, "at least 32"),
            (r#"{"secret":5}"#, "secret must be a string"),
            ("[]", "must be an object"),
            ("nope", "not valid JSON"),
        ] {
            let error = Settings::parse(json).unwrap_err();
            assert!(error.contains(needle), "{json}: {error}");
        }
        for (extra, needle) in [
            (r#""issuers":"x""#, "unknown setting \"issuers\""),
            (r#""issuer":"""#, "issuer must be a non-empty string"),
            (r#""audience":[]"#, "audience must be"),
            (r#""audience":[1]"#, "audience[0]"),
            (
                r#""leeway-seconds":-1"#,
                "leeway-seconds must be a whole number",
            ),
            (r#""leeway-seconds":"5""#, "leeway-seconds must be a number"),
            (r#""principal-claim":7"#, "principal-claim must be"),
        ] {
            let error =
                Settings::parse(&format!(r#"{{"secret":"{SECRET}",{extra}}}"#)).unwrap_err();
            assert!(error.contains(needle), "{extra}: {error}");
        }
    }
}
