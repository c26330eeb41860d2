//! Token sets sealed for a shared store: AES-256-GCM with a key derived from the store's
//! secret, so another replica can read them and nobody else can read or forge them.

use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};

/// HKDF's salt: fixed, so that every replica with the same secret derives the same key.
const KEY_DERIVATION_SALT: &[u8] = b"switchyard token sealing v1";
/// The length of AES-GCM's authentication tag.
const TAG_LEN: usize = 16;

/// Seals and opens byte strings with one key. `Debug` never prints it.
pub struct Sealer {
    key: ring::aead::LessSafeKey,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(<key>)")
    }
}

impl Sealer {
    /// A sealer whose key is HKDF-SHA256 of `secret` (salt: a fixed switchyard label; info:
    /// `context`, such as `"token-set:v1"`). An empty secret still gives a key (the store then
    /// only authenticates what replicas of the same config wrote).
    pub fn new(secret: &[u8], context: &str) -> Sealer {
        let info = [context.as_bytes()];
        let pseudorandom_key =
            ring::hkdf::Salt::new(ring::hkdf::HKDF_SHA256, KEY_DERIVATION_SALT).extract(secret);
        let key_material = pseudorandom_key
            .expand(&info, &AES_256_GCM)
            .expect("a 32-byte key is far below HKDF-SHA256's output limit");
        Sealer {
            key: LessSafeKey::new(UnboundKey::from(key_material)),
        }
    }

    /// `nonce ‖ ciphertext ‖ tag` of `plaintext`, bound to `aad` (say the credential id), with
    /// a fresh random 96-bit nonce.
    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        // Fails only when the operating system's random source does: no safe nonce can be had.
        SystemRandom::new()
            .fill(&mut nonce)
            .expect("the system random source works");
        let mut sealed = Vec::with_capacity(NONCE_LEN + plaintext.len() + TAG_LEN);
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(plaintext);
        let tag = self
            .key
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad),
                &mut sealed[NONCE_LEN..],
            )
            .expect("AES-GCM seals any input shorter than 64 GiB");
        sealed.extend_from_slice(tag.as_ref());
        sealed
    }

    /// The plaintext of [`Sealer::seal`]'s output, when it was sealed with this key and `aad`;
    /// `None` when anything differs (another key, another `aad`, a changed byte, too short).
    pub fn open(&self, sealed: &[u8], aad: &[u8]) -> Option<Vec<u8>> {
        if sealed.len() < NONCE_LEN + TAG_LEN {
            return None;
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut in_out = ciphertext.to_vec();
        let plaintext = self
            .key
            .open_in_place(nonce, Aad::from(aad), &mut in_out)
            .ok()?;
        Some(plaintext.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLAINTEXT: &[u8] = br#"{"access_token":"tok","expires_at_ms":1}"#;

    fn sealer() -> Sealer {
        Sealer::new(b"session-store-secret", "token-set:v1")
    }

    #[test]
    fn what_is_sealed_opens_with_the_same_key_and_aad() {
        let sealed = sealer().seal(PLAINTEXT, b"cred-1");
        assert_eq!(sealed.len(), NONCE_LEN + PLAINTEXT.len() + TAG_LEN);
        assert!(!sealed.windows(3).any(|window| window == b"tok"));
        // Another sealer derived from the same secret and context: another replica.
        assert_eq!(sealer().open(&sealed, b"cred-1"), Some(PLAINTEXT.to_vec()));
        let empty = sealer().seal(b"", b"");
        assert_eq!(sealer().open(&empty, b""), Some(Vec::new()));
    }

    #[test]
    fn another_aad_secret_or_context_does_not_open() {
        let sealed = sealer().seal(PLAINTEXT, b"cred-1");
        assert_eq!(sealer().open(&sealed, b"cred-2"), None);
        assert_eq!(
            Sealer::new(b"other-secret", "token-set:v1").open(&sealed, b"cred-1"),
            None
        );
        assert_eq!(
            Sealer::new(b"session-store-secret", "token-set:v2").open(&sealed, b"cred-1"),
            None
        );
    }

    #[test]
    fn any_changed_byte_or_truncation_does_not_open() {
        let sealed = sealer().seal(PLAINTEXT, b"cred-1");
        for at in 0..sealed.len() {
            let mut tampered = sealed.clone();
            tampered[at] ^= 0x01;
            assert_eq!(sealer().open(&tampered, b"cred-1"), None, "byte {at}");
        }
        for length in 0..sealed.len() {
            assert_eq!(
                sealer().open(&sealed[..length], b"cred-1"),
                None,
                "length {length}"
            );
        }
    }

    #[test]
    fn two_seals_of_the_same_text_differ() {
        let first = sealer().seal(PLAINTEXT, b"cred-1");
        let second = sealer().seal(PLAINTEXT, b"cred-1");
        assert_ne!(first, second);
        assert_ne!(first[..NONCE_LEN], second[..NONCE_LEN]);
    }

    #[test]
    fn debug_never_shows_the_key() {
        assert_eq!(format!("{:?}", sealer()), "Sealer(<key>)");
    }
}
