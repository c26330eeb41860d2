//! Thought signatures as Gemini clients see them.
//!
//! Gemini's `thoughtSignature` is base64 bytes (the official SDKs refuse anything else), so a
//! signature of another family cannot travel as the crate's `<family>#value` text: toward a
//! Gemini client it is written as the base64 of that text, and read back the same way.

use std::borrow::Cow;

use crate::ir::{Signature, SignatureFamily};

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// The `thoughtSignature` a Gemini client gets (Gemini's own borrowed as it is).
pub(crate) fn write(signature: &Signature) -> Cow<'_, str> {
    match signature.family {
        SignatureFamily::Gemini => Cow::Borrowed(signature.value.as_str()),
        _ => Cow::Owned(encode(signature.write(SignatureFamily::Gemini).as_bytes())),
    }
}

/// Reads a `thoughtSignature` (a client's or an upstream's).
pub(crate) fn read(text: &str) -> Signature {
    if let Some(inner) = decode(text).and_then(|bytes| String::from_utf8(bytes).ok())
        && ["claude#", "openai#", "gemini#"]
            .iter()
            .any(|prefix| inner.starts_with(prefix))
    {
        return Signature::read(&inner, SignatureFamily::Gemini);
    }
    Signature::read(text, SignatureFamily::Gemini)
}

/// Hidden (redacted) reasoning of another family, carried to a Gemini client as the
/// `thoughtSignature` of an empty thought part: the base64 of `redacted:<family#>data`.
pub(crate) fn write_redacted(data: &str, family: SignatureFamily) -> String {
    let signature = Signature {
        family,
        value: data.to_owned(),
    };
    encode(format!("{REDACTED}{}", signature.write(SignatureFamily::Gemini)).as_bytes())
}

/// The hidden reasoning a `thoughtSignature` carries back, if it is such a carrier.
pub(crate) fn read_redacted(text: &str) -> Option<Signature> {
    let inner = String::from_utf8(decode(text)?).ok()?;
    let rest = inner.strip_prefix(REDACTED)?;
    Some(Signature::read(rest, SignatureFamily::Gemini))
}

const REDACTED: &str = "redacted:";

fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn decode(text: &str) -> Option<Vec<u8>> {
    let text = text.trim_end_matches('=');
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for c in text.bytes() {
        let v = ALPHABET.iter().position(|&a| a == c)? as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn foreign_signatures_travel_as_base64() {
        let claude = Signature {
            family: SignatureFamily::Claude,
            value: "EqQBCkgIARAB".to_owned(),
        };
        let written = write(&claude);
        assert_eq!(decode(&written).unwrap(), b"claude#EqQBCkgIARAB");
        assert_eq!(read(&written), claude);
        let gemini = read("CiQBjz1rX2U=");
        assert_eq!(gemini.family, SignatureFamily::Gemini);
        assert_eq!(write(&gemini), "CiQBjz1rX2U=");
        assert_eq!(encode(b"ab"), "YWI=");
        assert_eq!(encode(b"a"), "YQ==");
        let carried = write_redacted("c2VjcmV0", SignatureFamily::Claude);
        assert_eq!(decode(&carried).unwrap(), b"redacted:claude#c2VjcmV0");
        assert_eq!(read_redacted(&carried), Some(claude_redacted()));
        assert_eq!(read_redacted(&written), None);
    }

    fn claude_redacted() -> Signature {
        Signature {
            family: SignatureFamily::Claude,
            value: "c2VjcmV0".to_owned(),
        }
    }
}
