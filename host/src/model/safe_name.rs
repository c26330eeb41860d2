//! Which model names a client may send: model names are data, never path (architecture: Trust boundaries).
//!
//! Every requested name passes [`check`] before any credential is chosen. A name that only a
//! provider's family rule serves (no `models` entry, not in the built-in list) must also be a
//! [`is_family_name`], with a thinking suffix that is an [`is_thinking_value`]; a name that
//! matches a configured `models` entry is accepted as the operator configured it
//! (`meta-llama/Llama-3`, `ft:gpt-4o-mini:org::id`, `claude-sonnet-4-5@20250929`).

/// The longest model name accepted, in bytes.
pub(crate) const MAX_MODEL_NAME_BYTES: usize = 256;

/// The longest name a family rule serves, in bytes.
const MAX_FAMILY_NAME_BYTES: usize = 128;

/// The longest thinking suffix value on a family name, in bytes.
const MAX_THINKING_BYTES: usize = 32;

/// Why a requested model name is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum UnsafeModelName {
    /// Longer than [`MAX_MODEL_NAME_BYTES`].
    #[error("model name longer than {MAX_MODEL_NAME_BYTES} bytes")]
    TooLong,
    /// Contains a control character.
    #[error("model name contains a control character")]
    ControlCharacter,
    /// Contains one of `? # % \`.
    #[error("model name contains {0:?}")]
    Forbidden(char),
    /// Has a `.` or `..` path segment.
    #[error("model name contains a '.' or '..' segment")]
    DotSegment,
}

/// Checks the rules every requested model name must meet.
pub(crate) fn check(name: &str) -> Result<(), UnsafeModelName> {
    if name.len() > MAX_MODEL_NAME_BYTES {
        return Err(UnsafeModelName::TooLong);
    }
    if let Some(c) = name
        .chars()
        .find(|c| c.is_control() || matches!(c, '?' | '#' | '%' | '\\'))
    {
        return Err(match c {
            '?' | '#' | '%' | '\\' => UnsafeModelName::Forbidden(c),
            _ => UnsafeModelName::ControlCharacter,
        });
    }
    if name.split('/').any(|segment| matches!(segment, "." | "..")) {
        return Err(UnsafeModelName::DotSegment);
    }
    Ok(())
}

/// Whether `name` (without prefix and thinking suffix) may be served by a family rule:
/// `[A-Za-z0-9._-]{1,128}`, and no `..`.
pub(crate) fn is_family_name(name: &str) -> bool {
    (1..=MAX_FAMILY_NAME_BYTES).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        && !name.contains("..")
}

/// Whether `value` may be the thinking suffix of a family name: `[A-Za-z0-9-]{1,32}`.
pub(crate) fn is_thinking_value(value: &str) -> bool {
    (1..=MAX_THINKING_BYTES).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configured_shapes_pass_the_general_rules() {
        for name in [
            "meta-llama/Llama-3",
            "llama3.1:8b",
            "ft:gpt-4o-mini:org::id",
            "claude-sonnet-4-5@20250929",
            "teamA/gpt-5(high)",
            "gemini-2.5-pro",
        ] {
            assert_eq!(check(name), Ok(()), "{name}");
        }
    }

    #[test]
    fn path_characters_and_dot_segments_are_refused() {
        assert_eq!(
            check("gemini-x/../gemini-2.5-pro"),
            Err(UnsafeModelName::DotSegment)
        );
        assert_eq!(check("./gpt-5"), Err(UnsafeModelName::DotSegment));
        assert_eq!(check("a/.."), Err(UnsafeModelName::DotSegment));
        for (name, c) in [("a?b", '?'), ("a#b", '#'), ("a%2e", '%'), ("a\\b", '\\')] {
            assert_eq!(check(name), Err(UnsafeModelName::Forbidden(c)), "{name}");
        }
        assert_eq!(check("a\nb"), Err(UnsafeModelName::ControlCharacter));
        assert_eq!(check("a\u{7f}"), Err(UnsafeModelName::ControlCharacter));
        assert_eq!(check(&"a".repeat(257)), Err(UnsafeModelName::TooLong));
        assert_eq!(check(&"a".repeat(256)), Ok(()));
        // Dots inside a segment are a version, not a path.
        assert_eq!(check("gpt-4.1..x"), Ok(()));
    }

    #[test]
    fn family_names_are_a_strict_charset() {
        assert!(is_family_name("claude-sonnet-4-5"));
        assert!(is_family_name("gemini-2.5-flash_lite"));
        assert!(!is_family_name(""));
        assert!(!is_family_name("gemini-x/y"));
        assert!(!is_family_name("claude-4@2025"));
        assert!(!is_family_name("gpt-5:beta"));
        assert!(!is_family_name("gemini-x..y"));
        assert!(!is_family_name(&"g".repeat(129)));
        assert!(is_thinking_value("high"));
        assert!(is_thinking_value("8192"));
        assert!(!is_thinking_value(""));
        assert!(!is_thinking_value("a b"));
        assert!(!is_thinking_value(&"1".repeat(33)));
    }
}
