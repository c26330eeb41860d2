//! Thinking signatures carry their family through clients of other protocols.
//!
//! A signature is replayed only to the family that issued it. When an answer from one family
//! reaches a client of another protocol, its signature is written with a `<family>#` prefix;
//! when the client sends it back, the prefix says where it came from. An unprefixed signature
//! belongs to the family of the protocol it arrived in.

use crate::ir::{Signature, SignatureFamily};

impl SignatureFamily {
    fn prefix(self) -> &'static str {
        match self {
            SignatureFamily::Claude => "claude#",
            SignatureFamily::OpenAi => "openai#",
            SignatureFamily::Gemini => "gemini#",
        }
    }
}

impl Signature {
    /// Reads a signature a client or upstream of family `native` sent.
    pub fn read(text: &str, native: SignatureFamily) -> Signature {
        for family in [
            SignatureFamily::Claude,
            SignatureFamily::OpenAi,
            SignatureFamily::Gemini,
        ] {
            if let Some(value) = text.strip_prefix(family.prefix()) {
                return Signature {
                    family,
                    value: value.to_owned(),
                };
            }
        }
        Signature {
            family: native,
            value: text.to_owned(),
        }
    }

    /// The text to write toward a party of family `native`: the bare value for its own
    /// family, else prefixed with the issuer.
    pub fn write(&self, native: SignatureFamily) -> String {
        if self.family == native {
            self.value.clone()
        } else {
            format!("{}{}", self.family.prefix(), self.value)
        }
    }

    /// The value when it may be replayed to an upstream of family `upstream`.
    pub fn for_upstream(&self, upstream: SignatureFamily) -> Option<&str> {
        (self.family == upstream).then_some(self.value.as_str())
    }
}

/// What a Gemini upstream accepts in place of a signature it did not issue.
pub const GEMINI_SKIP_SIGNATURE: &str = "skip_thought_signature_validator";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_foreign_signature_round_trips_through_a_client() {
        let gemini = Signature::read("abc", SignatureFamily::Gemini);
        let through_claude_client = gemini.write(SignatureFamily::Claude);
        assert_eq!(through_claude_client, "gemini#abc");
        let back = Signature::read(&through_claude_client, SignatureFamily::Claude);
        assert_eq!(back, gemini);
        assert_eq!(back.for_upstream(SignatureFamily::Claude), None);
        assert_eq!(back.for_upstream(SignatureFamily::Gemini), Some("abc"));
        assert_eq!(gemini.write(SignatureFamily::Gemini), "abc");
    }
}
