//! Which header fields a plugin receives: the `header-names` of its self-description.
//!
//! Every header field handed to a plugin is two strings copied into its memory (two calls of
//! its allocator) on every call, so the host passes only the fields a plugin says it reads.
//! Filtering happens per call on borrowed strings: no allocation for up to [`INLINE_HEADERS`]
//! passed fields.

use super::PluginError;

/// Most passed header fields kept on the stack during a call; more spill to the heap.
pub(crate) const INLINE_HEADERS: usize = 8;

/// The header fields a plugin reads.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum HeaderFilter {
    /// Every field (the plugin declared `none`).
    #[default]
    All,
    /// Only the fields with these lowercase names.
    Only(Box<[Box<str>]>),
}

impl HeaderFilter {
    /// The filter of a declared `header-names`: names are trimmed and lowercased, duplicates
    /// dropped. A name that is not an HTTP field name is an error.
    pub(crate) fn from_declared(names: Option<Vec<String>>) -> Result<HeaderFilter, PluginError> {
        let Some(names) = names else {
            return Ok(HeaderFilter::All);
        };
        let mut kept: Vec<Box<str>> = Vec::with_capacity(names.len());
        for name in names {
            let name = name.trim().to_ascii_lowercase();
            if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
                return Err(PluginError::Describe(format!(
                    "header-names: {name:?} is not a header name"
                )));
            }
            if !kept.iter().any(|k| **k == *name) {
                kept.push(name.into_boxed_str());
            }
        }
        Ok(HeaderFilter::Only(kept.into_boxed_slice()))
    }

    /// Whether the field `name` (lowercase) is passed.
    pub fn passes(&self, name: &str) -> bool {
        match self {
            HeaderFilter::All => true,
            HeaderFilter::Only(names) => names.iter().any(|n| **n == *name),
        }
    }

    /// The declared names; `None` for every field.
    pub fn names(&self) -> Option<&[Box<str>]> {
        match self {
            HeaderFilter::All => None,
            HeaderFilter::Only(names) => Some(names),
        }
    }
}

/// Room for the borrowed header fields passed in one call.
pub(crate) struct HeaderSlots<'a> {
    inline: [(&'a str, &'a str); INLINE_HEADERS],
    len: usize,
    spilled: Vec<(&'a str, &'a str)>,
}

impl<'a> HeaderSlots<'a> {
    /// Empty slots.
    pub(crate) fn new() -> HeaderSlots<'a> {
        HeaderSlots {
            inline: [("", ""); INLINE_HEADERS],
            len: 0,
            spilled: Vec::new(),
        }
    }

    /// Fills the slots with the fields of `headers` that `filter` passes, in order, and
    /// returns them.
    pub(crate) fn fill(
        &mut self,
        headers: &'a [(String, String)],
        filter: &HeaderFilter,
    ) -> &[(&'a str, &'a str)] {
        self.len = 0;
        self.spilled.clear();
        for (name, value) in headers {
            if !filter.passes(name) {
                continue;
            }
            let field = (name.as_str(), value.as_str());
            if self.len < INLINE_HEADERS {
                self.inline[self.len] = field;
                self.len += 1;
            } else {
                if self.spilled.is_empty() {
                    self.spilled.extend_from_slice(&self.inline);
                }
                self.spilled.push(field);
            }
        }
        if self.spilled.is_empty() {
            &self.inline[..self.len]
        } else {
            &self.spilled
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(names: &[&str]) -> Vec<(String, String)> {
        names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.to_string(), i.to_string()))
            .collect()
    }

    #[test]
    fn declared_names_are_normalized_and_checked() {
        assert_eq!(
            HeaderFilter::from_declared(None).unwrap(),
            HeaderFilter::All
        );
        let filter = HeaderFilter::from_declared(Some(vec![
            " X-Api-Key ".to_owned(),
            "authorization".to_owned(),
            "x-api-key".to_owned(),
        ]))
        .unwrap();
        assert_eq!(
            filter.names().unwrap(),
            &[Box::<str>::from("x-api-key"), "authorization".into()]
        );
        assert!(filter.passes("x-api-key"));
        assert!(!filter.passes("host"));
        assert!(HeaderFilter::from_declared(Some(vec!["bad name".to_owned()])).is_err());
        assert!(HeaderFilter::from_declared(Some(vec![String::new()])).is_err());
    }

    #[test]
    fn slots_keep_order_and_repeats_and_spill() {
        let all = headers(&["a", "b", "a", "c"]);
        let only = HeaderFilter::from_declared(Some(vec!["a".to_owned()])).unwrap();
        let mut slots = HeaderSlots::new();
        assert_eq!(slots.fill(&all, &only), &[("a", "0"), ("a", "2")]);
        let mut slots = HeaderSlots::new();
        assert_eq!(slots.fill(&all, &HeaderFilter::All).len(), 4);

        let many: Vec<(String, String)> =
            (0..40).map(|i| (format!("h{i}"), i.to_string())).collect();
        let mut slots = HeaderSlots::new();
        let passed = slots.fill(&many, &HeaderFilter::All);
        assert_eq!(passed.len(), 40);
        assert!(
            passed
                .iter()
                .enumerate()
                .all(|(i, (_, v))| *v == i.to_string())
        );
    }
}
