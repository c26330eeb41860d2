//! Token sets sealed for a shared store: AES-256-GCM with a key derived from the store's
//! secret, so another replica can read them and nobody else can read or forge them.

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
        todo!()
    }

    /// `nonce ‖ ciphertext ‖ tag` of `plaintext`, bound to `aad` (say the credential id), with
    /// a fresh random 96-bit nonce.
    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Vec<u8> {
        todo!()
    }

    /// The plaintext of [`Sealer::seal`]'s output, when it was sealed with this key and `aad`;
    /// `None` when anything differs (another key, another `aad`, a changed byte, too short).
    pub fn open(&self, sealed: &[u8], aad: &[u8]) -> Option<Vec<u8>> {
        todo!()
    }
}
