//! HS256 tokens for the first-party plugin `jwt-hs256`, minted with the same HMAC crates.

use std::time::SystemTime;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

/// The instances' shared secret (32 bytes, the least HS256 accepts).
pub(crate) const SECRET: &str = "s3cret-s3cret-s3cret-s3cret-0123";

/// An HS256 token of `claims` signed with `secret`.
pub(crate) fn mint(claims: &Value, secret: &str) -> String {
    mint_with_header(&json!({ "alg": "HS256", "typ": "JWT" }), claims, secret)
}

/// A token with its own header.
fn mint_with_header(header: &Value, claims: &Value, secret: &str) -> String {
    let signed = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(signed.as_bytes());
    format!(
        "{signed}.{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    )
}

/// Seconds since the epoch of `time`.
pub(crate) fn unix(time: SystemTime) -> i64 {
    time.duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}
