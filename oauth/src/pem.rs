//! The body of a PEM `PRIVATE KEY` block (PKCS#8), decoded.

use base64::Engine as _;

const BEGIN: &str = "-----BEGIN PRIVATE KEY-----";
const END: &str = "-----END PRIVATE KEY-----";

/// Why a PEM text gave no PKCS#8 bytes. The texts never quote the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PemError {
    /// No `BEGIN PRIVATE KEY` … `END PRIVATE KEY` armour (PKCS#1 `RSA PRIVATE KEY` included).
    NoPrivateKeyBlock,
    /// The armoured body is not base64.
    NotBase64,
}

impl PemError {
    /// A short, key-free explanation.
    pub(crate) fn describe(self) -> &'static str {
        match self {
            PemError::NoPrivateKeyBlock => {
                "not a PEM \"PRIVATE KEY\" (PKCS#8) block; PKCS#1 \"RSA PRIVATE KEY\" must be converted"
            }
            PemError::NotBase64 => "the PEM body is not valid base64",
        }
    }
}

/// The DER bytes between the `PRIVATE KEY` armour lines of `pem`.
pub(crate) fn pkcs8_der(pem: &str) -> Result<Vec<u8>, PemError> {
    let after_begin = pem
        .find(BEGIN)
        .map(|at| &pem[at + BEGIN.len()..])
        .ok_or(PemError::NoPrivateKeyBlock)?;
    let body = after_begin
        .find(END)
        .map(|at| &after_begin[..at])
        .ok_or(PemError::NoPrivateKeyBlock)?;
    let compact: String = body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    if compact.is_empty() {
        return Err(PemError::NoPrivateKeyBlock);
    }
    base64::engine::general_purpose::STANDARD
        .decode(compact)
        .map_err(|_| PemError::NotBase64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_the_body_across_lines_and_ignores_text_around_the_block() {
        let pem =
            "junk\n-----BEGIN PRIVATE KEY-----\naGVs\r\nbG8=\n-----END PRIVATE KEY-----\ntrailer";
        assert_eq!(pkcs8_der(pem), Ok(b"hello".to_vec()));
    }

    #[test]
    fn rejects_missing_armour_pkcs1_and_bad_base64() {
        assert_eq!(pkcs8_der("aGVsbG8="), Err(PemError::NoPrivateKeyBlock));
        assert_eq!(
            pkcs8_der("-----BEGIN PRIVATE KEY-----\naGVsbG8=\n"),
            Err(PemError::NoPrivateKeyBlock)
        );
        assert_eq!(
            pkcs8_der("-----BEGIN RSA PRIVATE KEY-----\naGVsbG8=\n-----END RSA PRIVATE KEY-----"),
            Err(PemError::NoPrivateKeyBlock)
        );
        assert_eq!(
            pkcs8_der("-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----"),
            Err(PemError::NoPrivateKeyBlock)
        );
        assert_eq!(
            pkcs8_der("-----BEGIN PRIVATE KEY-----\n!!not*base64\n-----END PRIVATE KEY-----"),
            Err(PemError::NotBase64)
        );
    }
}
