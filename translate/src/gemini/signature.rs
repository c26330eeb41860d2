//! Thought signatures as Gemini clients see them.
//!
//! Gemini's `thoughtSignature` is base64 bytes (the official SDKs refuse anything else), so a
//! signature of another family cannot travel as the crate's `<family>#value` text: toward a
//! Gemini client it is written as the base64 of that text, and read back the same way.

use std::borrow::Cow;

use crate::base64::{decode, encode};
use crate::ir::{Signature, SignatureFamily};

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
