//! Standard base64, as the codecs carry bytes inside JSON text (plain-text documents toward
//! Anthropic, foreign thinking signatures inside Gemini's `thoughtSignature`).

use base64::Engine;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};

/// Decodes with or without padding.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// Encodes bytes (standard alphabet, padded).
pub(crate) fn encode(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// Decodes text in the standard or URL-safe alphabet, padding optional, whitespace ignored;
/// `None` when it is not base64.
pub(crate) fn decode(text: &str) -> Option<Vec<u8>> {
    let plain = !text
        .bytes()
        .any(|b| matches!(b, b'-' | b'_' | b' ' | b'\n' | b'\r' | b'\t'));
    if plain {
        return LENIENT.decode(text).ok();
    }
    let normalized: String = text
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .map(|c| match c {
            '-' => '+',
            '_' => '/',
            other => other,
        })
        .collect();
    LENIENT.decode(normalized).ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn round_trips_and_leniency() {
        for text in ["", "a", "ab", "abc", "abcd", "héllo wörld"] {
            let encoded = super::encode(text.as_bytes());
            assert_eq!(super::decode(&encoded).unwrap(), text.as_bytes());
        }
        assert_eq!(super::encode(b"hi"), "aGk=");
        assert_eq!(super::decode("aGk").unwrap(), b"hi");
        assert_eq!(super::decode("aG\nk=").unwrap(), b"hi");
        assert_eq!(super::decode("-_8").unwrap(), super::decode("+/8").unwrap());
        assert!(super::decode("a*b").is_none());
    }
}
