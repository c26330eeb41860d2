//! `excluded-models` patterns: exact names or `*` wildcards (`*x`, `x*`, `*x*`, `a*b`).

/// Whether the lower-cased `pattern` matches `model` (compared case-insensitively).
pub(crate) fn matches(pattern: &str, model: &str) -> bool {
    let model = model.to_ascii_lowercase();
    if !pattern.contains('*') {
        return pattern == model;
    }
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = model.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return true;
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn wildcards() {
        assert!(matches("gpt-5", "GPT-5"));
        assert!(!matches("gpt-5", "gpt-5-mini"));
        assert!(matches("gpt-5*", "gpt-5-mini"));
        assert!(matches("*-mini", "gpt-5-mini"));
        assert!(matches("*preview*", "gemini-2.5-pro-preview-05"));
        assert!(matches("claude-*-4", "claude-opus-4"));
        assert!(!matches("claude-*-4", "claude-opus-4-1"));
        assert!(matches("*", "anything"));
        assert!(!matches("a*a", "a"));
    }
}
