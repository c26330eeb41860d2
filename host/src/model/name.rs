//! A requested model name: `[prefix/]model[(thinking)]`.

/// The parts of a model name as a client sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ModelName<'a> {
    /// The name exactly as sent.
    pub full: &'a str,
    /// The name without the thinking suffix (still with any prefix).
    pub base: &'a str,
    /// The thinking suffix's value, `8192` in `claude-sonnet-4(8192)`.
    pub thinking: Option<&'a str>,
}

impl<'a> ModelName<'a> {
    /// Splits off a thinking suffix: the text before the last `(` when the name ends with `)`.
    pub(crate) fn parse(full: &'a str) -> Self {
        let trimmed = full.trim();
        if let Some(inner) = trimmed.strip_suffix(')')
            && let Some(open) = inner.rfind('(')
            && open > 0
        {
            return ModelName {
                full,
                base: &trimmed[..open],
                thinking: Some(&inner[open + 1..]),
            };
        }
        ModelName {
            full,
            base: trimmed,
            thinking: None,
        }
    }

    /// Splits `prefix/rest` when the first segment is one of `prefixes`.
    pub(crate) fn split_prefix(
        &self,
        is_prefix: impl Fn(&str) -> bool,
    ) -> (Option<&'a str>, &'a str) {
        match self.base.split_once('/') {
            Some((prefix, rest)) if !rest.is_empty() && is_prefix(prefix) => (Some(prefix), rest),
            _ => (None, self.base),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_the_thinking_suffix() {
        let name = ModelName::parse("claude-sonnet-4(8192)");
        assert_eq!(name.base, "claude-sonnet-4");
        assert_eq!(name.thinking, Some("8192"));
        let plain = ModelName::parse("gpt-5");
        assert_eq!((plain.base, plain.thinking), ("gpt-5", None));
        assert_eq!(ModelName::parse("(x)").base, "(x)");
        assert_eq!(ModelName::parse("a(b)c").base, "a(b)c");
    }

    #[test]
    fn splits_known_prefixes_only() {
        let name = ModelName::parse("teamA/gpt-5(high)");
        assert_eq!(
            name.split_prefix(|p| p == "teamA"),
            (Some("teamA"), "gpt-5")
        );
        let org = ModelName::parse("meta-llama/Llama-3");
        assert_eq!(
            org.split_prefix(|p| p == "teamA"),
            (None, "meta-llama/Llama-3")
        );
    }
}
