//! A Google service-account JSON key.

use std::sync::Arc;

use crate::KeyError;
use crate::pem;

/// Where Google's keys send assertions when they name no `token_uri`.
const DEFAULT_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";
/// The longest `type` value quoted back in [`KeyError::WrongType`].
const MAX_QUOTED_TYPE_CHARS: usize = 40;

/// A parsed service-account key: `client_email`, `token_uri`, `project_id`, `private_key_id`
/// and the RSA private key (PEM PKCS#8, parsed with ring when the key is read, so a bad key is
/// reported at load). `Debug` never prints the key.
#[derive(Clone)]
pub struct ServiceAccountKey {
    /// `client_email`: the assertion's issuer.
    pub client_email: String,
    /// `token_uri` (default `https://oauth2.googleapis.com/token` when absent).
    pub token_uri: url::Url,
    /// `project_id`.
    pub project_id: String,
    /// `private_key_id` (the assertion's `kid`), possibly empty.
    pub private_key_id: String,
    key: Arc<ring::signature::RsaKeyPair>,
    /// SHA-256 of the PEM text: two keys are equal when these are.
    fingerprint: [u8; 32],
}

impl ServiceAccountKey {
    /// Reads the Google JSON key (`type` must be `service_account`). `token_uri` must be
    /// `https`, or `http` to a loopback host (tests, local emulators).
    pub fn from_json(json: &serde_json::Value) -> Result<ServiceAccountKey, KeyError> {
        let object = json
            .as_object()
            .ok_or_else(|| KeyError::Json("expected a JSON object".to_owned()))?;
        let text = |field: &'static str| object.get(field).and_then(serde_json::Value::as_str);
        let required = |field: &'static str| {
            text(field)
                .filter(|value| !value.is_empty())
                .ok_or(KeyError::Missing(field))
        };

        let kind = required("type")?;
        if kind != "service_account" {
            let quoted: String = kind
                .chars()
                .filter(|c| !c.is_control())
                .take(MAX_QUOTED_TYPE_CHARS)
                .collect();
            return Err(KeyError::WrongType(quoted));
        }
        let client_email = required("client_email")?.to_owned();
        let project_id = required("project_id")?.to_owned();
        let private_key_id = text("private_key_id").unwrap_or_default().to_owned();
        let token_uri = token_uri(object.get("token_uri"))?;

        let pem_text = required("private_key")?;
        let der = pem::pkcs8_der(pem_text)
            .map_err(|error| KeyError::PrivateKey(error.describe().to_owned()))?;
        let key = ring::signature::RsaKeyPair::from_pkcs8(&der).map_err(|rejected| {
            KeyError::PrivateKey(format!("not an RSA PKCS#8 key ring accepts ({rejected})"))
        })?;
        let digest = ring::digest::digest(&ring::digest::SHA256, pem_text.as_bytes());
        let mut fingerprint = [0u8; 32];
        fingerprint.copy_from_slice(digest.as_ref());

        Ok(ServiceAccountKey {
            client_email,
            token_uri,
            project_id,
            private_key_id,
            key: Arc::new(key),
            fingerprint,
        })
    }

    /// The RSA public key (DER `RSAPublicKey`, as ring gives it): what a token server checks
    /// the assertion with (the mock upstream's, in tests).
    pub fn public_key_der(&self) -> &[u8] {
        self.key.public().as_ref()
    }

    /// Signs `message` with RS256 (RSASSA-PKCS1-v1_5 with SHA-256).
    pub(crate) fn sign(&self, message: &[u8]) -> Vec<u8> {
        let mut signature = vec![0u8; self.key.public().modulus_len()];
        // ring fails only for a buffer of the wrong length (sized from the key just above) or
        // when the operating system's random source fails, which nothing here can recover from.
        self.key
            .sign(
                &ring::signature::RSA_PKCS1_SHA256,
                &ring::rand::SystemRandom::new(),
                message,
                &mut signature,
            )
            .expect("RSA signing with a modulus-sized buffer");
        signature
    }
}

impl PartialEq for ServiceAccountKey {
    fn eq(&self, other: &Self) -> bool {
        self.fingerprint == other.fingerprint
            && self.client_email == other.client_email
            && self.token_uri == other.token_uri
    }
}

impl Eq for ServiceAccountKey {}

impl std::fmt::Debug for ServiceAccountKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccountKey")
            .field("client_email", &self.client_email)
            .field("private_key_id", &self.private_key_id)
            .field("project_id", &self.project_id)
            .field("token_uri", &self.token_uri.as_str())
            .finish_non_exhaustive()
    }
}

/// The key's `token_uri`, or Google's when absent: `https`, or `http` to a loopback host.
fn token_uri(value: Option<&serde_json::Value>) -> Result<url::Url, KeyError> {
    let text = match value {
        None | Some(serde_json::Value::Null) => DEFAULT_TOKEN_URI,
        Some(serde_json::Value::String(text)) if !text.is_empty() => text,
        Some(_) => return Err(KeyError::TokenUri("not a non-empty string".to_owned())),
    };
    let url = url::Url::parse(text)
        .map_err(|error| KeyError::TokenUri(format!("not a URL ({error})")))?;
    match url.scheme() {
        "https" if url.host().is_some() => Ok(url),
        "http" if is_loopback(&url) => Ok(url),
        "http" => Err(KeyError::TokenUri(
            "http is allowed only to a loopback address or localhost".to_owned(),
        )),
        scheme => Err(KeyError::TokenUri(format!(
            "scheme {scheme:?} is not https"
        ))),
    }
}

/// Whether `url`'s host is a loopback IP address or `localhost`.
fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(address)) => address.is_loopback(),
        Some(url::Host::Ipv6(address)) => address.is_loopback(),
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURE: &str = include_str!("../../tests/fixtures/oauth/service-account.json");

    fn fixture() -> serde_json::Value {
        serde_json::from_str(FIXTURE).expect("the fixture is JSON")
    }

    fn with(field: &str, value: serde_json::Value) -> serde_json::Value {
        let mut json = fixture();
        json[field] = value;
        json
    }

    fn without(field: &str) -> serde_json::Value {
        let mut json = fixture();
        json.as_object_mut().unwrap().remove(field);
        json
    }

    fn pem_body_lines() -> Vec<String> {
        let pem = fixture()["private_key"].as_str().unwrap().to_owned();
        pem.lines()
            .filter(|line| !line.starts_with("-----") && !line.is_empty())
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn the_test_key_parses_with_its_fields() {
        let key = ServiceAccountKey::from_json(&fixture()).unwrap();
        assert_eq!(key.project_id, "switchyard-test");
        assert_eq!(key.private_key_id, "test-key-1");
        assert_eq!(
            key.client_email,
            fixture()["client_email"].as_str().unwrap()
        );
        assert_eq!(
            key.token_uri.as_str(),
            fixture()["token_uri"]
                .as_str()
                .unwrap_or("https://oauth2.googleapis.com/token")
        );
        // A 2048-bit RSAPublicKey in DER is a bit more than 256 bytes.
        assert!(key.public_key_der().len() > 256);
        assert_eq!(key.sign(b"message").len(), 256);
    }

    #[test]
    fn token_uri_defaults_to_google() {
        let key = ServiceAccountKey::from_json(&without("token_uri")).unwrap();
        assert_eq!(
            key.token_uri.as_str(),
            "https://oauth2.googleapis.com/token"
        );
    }

    #[test]
    fn token_uri_is_https_or_http_to_loopback_only() {
        for allowed in [
            "https://tokens.example.com/token",
            "http://127.0.0.1:8080/token",
            "http://127.9.9.9/token",
            "http://[::1]:9/token",
            "http://localhost:1234/token",
            "http://LOCALHOST/token",
        ] {
            let key = ServiceAccountKey::from_json(&with("token_uri", allowed.into()));
            assert_eq!(
                key.unwrap().token_uri.as_str(),
                url::Url::parse(allowed).unwrap().as_str()
            );
        }
        for refused in [
            "http://tokens.example.com/token",
            "http://10.0.0.1/token",
            "http://localhost.example.com/token",
            "ftp://127.0.0.1/token",
            "file:///etc/passwd",
            "not a url",
            "",
        ] {
            let error = ServiceAccountKey::from_json(&with("token_uri", refused.into()));
            assert!(
                matches!(error, Err(KeyError::TokenUri(_))),
                "{refused}: {error:?}"
            );
        }
        assert!(matches!(
            ServiceAccountKey::from_json(&with("token_uri", 5.into())),
            Err(KeyError::TokenUri(_))
        ));
    }

    #[test]
    fn wrong_type_and_missing_fields_are_named() {
        assert_eq!(
            ServiceAccountKey::from_json(&with("type", "authorized_user".into())).unwrap_err(),
            KeyError::WrongType("authorized_user".into())
        );
        for field in ["type", "client_email", "private_key", "project_id"] {
            assert_eq!(
                ServiceAccountKey::from_json(&without(field)).unwrap_err(),
                KeyError::Missing(field),
                "{field}"
            );
            assert_eq!(
                ServiceAccountKey::from_json(&with(field, "".into())).unwrap_err(),
                KeyError::Missing(field),
                "{field} empty"
            );
        }
        assert!(matches!(
            ServiceAccountKey::from_json(&serde_json::json!(["not", "an", "object"])),
            Err(KeyError::Json(_))
        ));
        let key = ServiceAccountKey::from_json(&without("private_key_id")).unwrap();
        assert_eq!(key.private_key_id, "");
    }

    #[test]
    fn unusable_private_keys_are_reported_without_key_material() {
        let lines = pem_body_lines();
        // Armour without base64, base64 that is no key, and a truncated real key.
        let truncated = format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
            lines[..lines.len() / 2].join("\n")
        );
        for pem in [
            "garbage".to_owned(),
            "-----BEGIN PRIVATE KEY-----\n%%%%\n-----END PRIVATE KEY-----\n".to_owned(),
            "-----BEGIN PRIVATE KEY-----\naGVsbG8gd29ybGQ=\n-----END PRIVATE KEY-----\n".to_owned(),
            truncated,
        ] {
            let error =
                ServiceAccountKey::from_json(&with("private_key", pem.clone().into())).unwrap_err();
            assert!(matches!(error, KeyError::PrivateKey(_)), "{pem}: {error:?}");
            let shown = format!("{error} {error:?}");
            for line in &lines {
                assert!(!shown.contains(line.as_str()));
            }
            assert!(!shown.contains("aGVsbG8"));
        }
    }

    #[test]
    fn debug_shows_the_email_and_key_id_but_never_the_key() {
        let key = ServiceAccountKey::from_json(&fixture()).unwrap();
        let shown = format!("{key:?}");
        assert!(shown.contains(&key.client_email));
        assert!(shown.contains("test-key-1"));
        assert!(!shown.contains("PRIVATE KEY"));
        for line in pem_body_lines() {
            assert!(!shown.contains(line.as_str()));
        }
    }

    #[test]
    fn keys_are_equal_when_their_pem_email_and_token_uri_are() {
        let key = ServiceAccountKey::from_json(&fixture()).unwrap();
        assert_eq!(key, ServiceAccountKey::from_json(&fixture()).unwrap());
        let other_email =
            ServiceAccountKey::from_json(&with("client_email", "x@example.com".into())).unwrap();
        assert_ne!(key, other_email);
        let pem = fixture()["private_key"].as_str().unwrap().to_owned();
        let same_key_other_text =
            ServiceAccountKey::from_json(&with("private_key", format!("\n{pem}").into())).unwrap();
        assert_ne!(key, same_key_other_text);
    }
}
