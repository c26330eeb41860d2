//! Token counts with one meaning, whatever the protocol.

/// Token counts, in OpenAI's meaning: `input` includes cached tokens, `output` includes
/// reasoning tokens. Codecs convert: Anthropic's `input_tokens` excludes cache reads and
/// writes; Gemini's `candidatesTokenCount` excludes thoughts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// All prompt tokens, cached ones included.
    pub input: u64,
    /// Of `input`: read from the prompt cache.
    pub cached: u64,
    /// Of `input`: written to the prompt cache (Anthropic's cache creation).
    pub cache_write: u64,
    /// All generated tokens, reasoning included.
    pub output: u64,
    /// Of `output`: reasoning.
    pub reasoning: u64,
}

impl Usage {
    /// `input + output`.
    pub fn total(&self) -> u64 {
        self.input + self.output
    }

    /// Anthropic's `input_tokens`: the prompt tokens neither read from nor written to the cache.
    pub fn uncached_input(&self) -> u64 {
        self.input.saturating_sub(self.cached + self.cache_write)
    }

    /// Gemini's `candidatesTokenCount`: generated tokens that are not thoughts.
    pub fn visible_output(&self) -> u64 {
        self.output.saturating_sub(self.reasoning)
    }

    /// Takes every count `later` has (non-zero) over this one's: stream events report usage
    /// in pieces (Anthropic's input at the start, output at the end).
    pub fn merge(&mut self, later: &Usage) {
        let take = |mine: &mut u64, theirs: u64| {
            if theirs != 0 {
                *mine = theirs;
            }
        };
        take(&mut self.input, later.input);
        take(&mut self.cached, later.cached);
        take(&mut self.cache_write, later.cache_write);
        take(&mut self.output, later.output);
        take(&mut self.reasoning, later.reasoning);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anthropic_and_gemini_views() {
        let usage = Usage {
            input: 100,
            cached: 30,
            cache_write: 10,
            output: 50,
            reasoning: 20,
        };
        assert_eq!(usage.uncached_input(), 60);
        assert_eq!(usage.visible_output(), 30);
        assert_eq!(usage.total(), 150);
    }

    #[test]
    fn merge_keeps_what_the_later_report_lacks() {
        let mut usage = Usage {
            input: 10,
            ..Usage::default()
        };
        usage.merge(&Usage {
            output: 7,
            ..Usage::default()
        });
        assert_eq!((usage.input, usage.output), (10, 7));
    }
}
