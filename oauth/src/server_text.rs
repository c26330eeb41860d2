//! Bounding text a token endpoint sends: what may go into an HTTP header, an error code, a
//! log line.

/// The longest `error` code kept.
const MAX_CODE_CHARS: usize = 64;
/// The longest `error_description` kept.
const MAX_DESCRIPTION_CHARS: usize = 200;
/// The code reported in place of one that is too long or has characters outside visible ASCII.
const INVALID_CODE: &str = "invalid";

/// Whether `token` is non-empty visible ASCII (`!` to `~`): safe as an HTTP header value.
pub(crate) fn is_header_safe_token(token: &str) -> bool {
    !token.is_empty() && token.bytes().all(|byte| byte.is_ascii_graphic())
}

/// An RFC 6749 `error` code as reported: itself when it is at most 64 visible ASCII
/// characters, `"invalid"` otherwise.
pub(crate) fn error_code(code: &str) -> String {
    if code.len() <= MAX_CODE_CHARS && is_header_safe_token(code) {
        code.to_owned()
    } else {
        INVALID_CODE.to_owned()
    }
}

/// An `error_description` as reported: control characters removed, at most 200 characters.
pub(crate) fn error_description(description: &str) -> String {
    description
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_DESCRIPTION_CHARS)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_safe_tokens_are_non_empty_visible_ascii() {
        assert!(is_header_safe_token("ya29.a0-_~+/="));
        assert!(!is_header_safe_token(""));
        assert!(!is_header_safe_token("two words"));
        assert!(!is_header_safe_token("line\r\nX-Injected: 1"));
        assert!(!is_header_safe_token("tok\u{7f}"));
        assert!(!is_header_safe_token("jeton-é"));
    }

    #[test]
    fn error_codes_are_kept_when_short_and_visible_else_replaced() {
        assert_eq!(error_code("invalid_grant"), "invalid_grant");
        assert_eq!(error_code(&"a".repeat(64)), "a".repeat(64));
        assert_eq!(error_code(&"a".repeat(65)), "invalid");
        assert_eq!(error_code("bad code"), "invalid");
        assert_eq!(error_code("bad\ncode"), "invalid");
        assert_eq!(error_code(""), "invalid");
    }

    #[test]
    fn descriptions_lose_control_characters_and_are_bounded_in_characters() {
        assert_eq!(error_description("a\r\nb\tc\u{1b}[31m"), "abc[31m");
        let long = "é".repeat(300);
        assert_eq!(error_description(&long).chars().count(), 200);
    }
}
