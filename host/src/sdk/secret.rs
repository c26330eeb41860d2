//! Comparing secrets without leaking through timing.

/// Whether two secrets (client keys, tokens) are equal, in time that depends on neither
/// their content nor their length: compares SHA-256 digests in constant time. Native access
/// providers should compare keys with it rather than `==`.
///
/// ```
/// assert!(switchyard::secrets_equal("sk-team-a", "sk-team-a"));
/// assert!(!switchyard::secrets_equal("sk-team-a", "sk-team-b"));
/// ```
pub fn secrets_equal(a: &str, b: &str) -> bool {
    crate::secret::same(a, b)
}
