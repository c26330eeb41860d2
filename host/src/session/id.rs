//! The session a request belongs to, as an extractor reported it.

/// How a session id was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SessionKind {
    /// The client named its session (a header, `metadata.user_id`, a body id).
    Explicit,
    /// Computed from the request (the message hash).
    Derived,
}

/// A request's session: a primary id and, when the conversation grew past its first turn, the
/// id the previous turn had, so a new turn inherits the binding of the old one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SessionIds {
    /// The id of this turn's session, such as `claude:…` or `msg:…`.
    pub primary: String,
    /// The id an earlier turn of the same conversation had.
    pub fallback: Option<String>,
    /// Explicit or derived.
    pub kind: SessionKind,
}

/// The largest explicit session id, in bytes.
pub(crate) const MAX_EXPLICIT_ID_BYTES: usize = 256;

/// Validates an explicit id: no control characters (checked before trimming), trimmed, then
/// 1..=256 bytes. `None` means the signal is unusable and the next one is tried.
pub(crate) fn normalize_explicit(value: &str) -> Option<&str> {
    if value.chars().any(char::is_control) {
        return None;
    }
    let trimmed = value.trim();
    (!trimmed.is_empty() && trimmed.len() <= MAX_EXPLICIT_ID_BYTES).then_some(trimmed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_ids_are_validated() {
        assert_eq!(normalize_explicit("  abc  "), Some("abc"));
        assert_eq!(normalize_explicit("a\tb"), None);
        assert_eq!(normalize_explicit("ab\u{7f}"), None);
        assert_eq!(normalize_explicit("   "), None);
        assert_eq!(
            normalize_explicit(&"x".repeat(256)).map(str::len),
            Some(256)
        );
        assert_eq!(normalize_explicit(&"x".repeat(257)), None);
    }
}
