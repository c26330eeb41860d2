//! Authenticating what replicas share through Redis: every cooldown message (on the channel and
//! in the `cooldown:*` keys) carries an HMAC-SHA256 with a key derived from
//! `routing.session-store-secret`, and a message whose MAC does not check is ignored.
//!
//! The wire form is `v1.<64 hex MAC>.<JSON>`; the MAC covers the key prefix and the JSON, so a
//! message of one prefix is not accepted under another. With no secret configured the key is a
//! fixed, domain-separated constant: the format is the same, but anyone can compute it, so an
//! unset secret authenticates nothing (allowed only for a loopback Redis, see the config).

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// What the signing key is derived from (the domain of cooldown messages, version 1).
const COOLDOWN_DOMAIN: &[u8] = b"switchyard redis-store cooldown messages v1";

/// The wire form's version tag.
const VERSION: &str = "v1.";

/// `routing.session-store-secret`: never printed.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct StoreSecret(String);

impl StoreSecret {
    /// The configured secret (empty: none).
    pub fn new(secret: impl Into<String>) -> Self {
        StoreSecret(secret.into())
    }

    /// Whether a secret is configured.
    pub fn is_set(&self) -> bool {
        !self.0.is_empty()
    }

    /// The secret's bytes, for deriving keys.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for StoreSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.is_set() { "<set>" } else { "<unset>" })
    }
}

/// Signs and checks cooldown messages under one key prefix.
#[derive(Clone)]
pub(super) struct Signer {
    key: [u8; 32],
    prefix: String,
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl Signer {
    /// The signer of `secret` (its key is `HMAC(secret, domain)`) for keys under `prefix`.
    pub(super) fn new(secret: &StoreSecret, prefix: &str) -> Self {
        let mut derive =
            HmacSha256::new_from_slice(secret.0.as_bytes()).expect("HMAC takes any key length");
        derive.update(COOLDOWN_DOMAIN);
        Signer {
            key: derive.finalize().into_bytes().into(),
            prefix: prefix.to_owned(),
        }
    }

    fn mac(&self, body: &[u8]) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(&(self.prefix.len() as u64).to_be_bytes());
        mac.update(self.prefix.as_bytes());
        mac.update(body);
        mac
    }

    /// `body` in the wire form.
    pub(super) fn sign(&self, body: &str) -> String {
        let tag = hex::encode(self.mac(body.as_bytes()).finalize().into_bytes());
        format!("{VERSION}{tag}.{body}")
    }

    /// The body of `payload` when its MAC checks (compared in constant time); `None` otherwise.
    pub(super) fn verify<'a>(&self, payload: &'a [u8]) -> Option<&'a [u8]> {
        let rest = payload.strip_prefix(VERSION.as_bytes())?;
        let (tag, body) = (rest.get(..64)?, rest.get(64..)?);
        let body = body.strip_prefix(b".")?;
        let tag = hex::decode(tag).ok()?;
        self.mac(body).verify_slice(&tag).ok()?;
        Some(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signed_body_verifies_and_any_change_does_not() {
        let signer = Signer::new(&StoreSecret::new("s3cret"), "p:");
        let signed = signer.sign(r#"{"a":1}"#);
        assert_eq!(signer.verify(signed.as_bytes()), Some(&br#"{"a":1}"#[..]));
        let tampered = signed.replace("1}", "2}");
        assert_eq!(signer.verify(tampered.as_bytes()), None);
        assert_eq!(signer.verify(br#"{"a":1}"#), None);
        assert_eq!(signer.verify(b"v1."), None);
        assert_eq!(signer.verify("v1.é".as_bytes()), None);
        // Another secret, another prefix: not accepted.
        let other = Signer::new(&StoreSecret::new("other"), "p:");
        assert_eq!(other.verify(signed.as_bytes()), None);
        let other_prefix = Signer::new(&StoreSecret::new("s3cret"), "q:");
        assert_eq!(other_prefix.verify(signed.as_bytes()), None);
    }

    #[test]
    fn an_unset_secret_still_signs_with_a_fixed_key() {
        let a = Signer::new(&StoreSecret::default(), "p:");
        let b = Signer::new(&StoreSecret::default(), "p:");
        assert_eq!(b.verify(a.sign("{}").as_bytes()), Some(&b"{}"[..]));
        assert_eq!(format!("{:?}", StoreSecret::new("x")), "<set>");
    }
}
