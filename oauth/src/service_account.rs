//! A Google service-account JSON key.

use std::sync::Arc;

use crate::KeyError;

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
        todo!()
    }

    /// The RSA public key (DER `RSAPublicKey`, as ring gives it): what a token server checks
    /// the assertion with (the mock upstream's, in tests).
    pub fn public_key_der(&self) -> &[u8] {
        todo!()
    }

    /// Signs `message` with RS256 (RSASSA-PKCS1-v1_5 with SHA-256).
    pub(crate) fn sign(&self, message: &[u8]) -> Vec<u8> {
        todo!()
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
        todo!()
    }
}
