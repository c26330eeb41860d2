//! Reasoning settings and the level ↔ budget tables every protocol shares.

/// A reasoning effort level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Effort {
    /// The least reasoning.
    Minimal,
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
    /// Extra high.
    XHigh,
    /// The most the model allows.
    Max,
}

/// How much the model should reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Thinking {
    /// No reasoning.
    Off,
    /// The model decides.
    Auto,
    /// An effort level (OpenAI, Gemini 3, Claude adaptive).
    Effort(Effort),
    /// A token budget (Claude, Gemini 2.5).
    Budget(u64),
}

impl Effort {
    /// Reads `minimal|low|medium|high|xhigh|max` (any case).
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text.to_ascii_lowercase().as_str() {
            "minimal" => Effort::Minimal,
            "low" => Effort::Low,
            "medium" => Effort::Medium,
            "high" => Effort::High,
            "xhigh" => Effort::XHigh,
            "max" => Effort::Max,
            _ => return None,
        })
    }

    /// The lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Effort::Minimal => "minimal",
            Effort::Low => "low",
            Effort::Medium => "medium",
            Effort::High => "high",
            Effort::XHigh => "xhigh",
            Effort::Max => "max",
        }
    }

    /// The token budget of a level (the reference's table).
    pub fn budget(self) -> u64 {
        match self {
            Effort::Minimal => 512,
            Effort::Low => 1024,
            Effort::Medium => 8192,
            Effort::High => 24576,
            Effort::XHigh => 32768,
            Effort::Max => 128_000,
        }
    }

    /// The level of a positive budget: 1..=512 minimal, ..=1024 low, ..=8192 medium,
    /// ..=24576 high, above xhigh.
    pub fn from_budget(budget: u64) -> Self {
        match budget {
            0..=512 => Effort::Minimal,
            513..=1024 => Effort::Low,
            1025..=8192 => Effort::Medium,
            8193..=24576 => Effort::High,
            _ => Effort::XHigh,
        }
    }

    /// OpenAI's `reasoning_effort` / `reasoning.effort` accept `minimal|low|medium|high|xhigh`:
    /// `max` is sent as `xhigh`.
    pub fn openai(self) -> &'static str {
        match self {
            Effort::Max => "xhigh",
            other => other.as_str(),
        }
    }

    /// Anthropic's adaptive `output_config.effort` (`low|medium|high|max`).
    pub fn claude(self) -> &'static str {
        match self {
            Effort::Minimal | Effort::Low => "low",
            Effort::Medium => "medium",
            Effort::High => "high",
            Effort::XHigh | Effort::Max => "max",
        }
    }
}

impl Thinking {
    /// Reads an OpenAI-style effort string: `none` off, `auto` auto, else a level.
    pub fn from_effort_str(text: &str) -> Option<Self> {
        match text.to_ascii_lowercase().as_str() {
            "none" => Some(Thinking::Off),
            "auto" => Some(Thinking::Auto),
            other => Effort::parse(other).map(Thinking::Effort),
        }
    }

    /// Reads a budget: 0 off, -1 auto, positive a budget; other negatives are invalid.
    pub fn from_budget(budget: i64) -> Option<Self> {
        match budget {
            0 => Some(Thinking::Off),
            -1 => Some(Thinking::Auto),
            n if n > 0 => Some(Thinking::Budget(n as u64)),
            _ => None,
        }
    }

    /// The thinking suffix of a model name, `model(high)` or `model(8192)`: `none`, `auto`,
    /// `-1`, a level or a non-negative budget. Anything else is no setting.
    pub fn from_suffix(suffix: &str) -> Option<Self> {
        let suffix = suffix.trim();
        if let Ok(budget) = suffix.parse::<i64>() {
            return Self::from_budget(budget);
        }
        Self::from_effort_str(suffix)
    }

    /// As an effort level for protocols that take levels (`None` for off; auto is `None` too).
    pub fn effort(self) -> Option<Effort> {
        match self {
            Thinking::Effort(effort) => Some(effort),
            Thinking::Budget(budget) => Some(Effort::from_budget(budget)),
            Thinking::Off | Thinking::Auto => None,
        }
    }

    /// As a token budget for protocols that take budgets: 0 off, -1 auto.
    pub fn budget(self) -> i64 {
        match self {
            Thinking::Off => 0,
            Thinking::Auto => -1,
            Thinking::Effort(effort) => effort.budget() as i64,
            Thinking::Budget(budget) => budget.min(i64::MAX as u64) as i64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn level_and_budget_tables() {
        assert_eq!(Effort::High.budget(), 24576);
        assert_eq!(Effort::from_budget(512), Effort::Minimal);
        assert_eq!(Effort::from_budget(513), Effort::Low);
        assert_eq!(Effort::from_budget(8192), Effort::Medium);
        assert_eq!(Effort::from_budget(24577), Effort::XHigh);
        assert_eq!(Effort::Minimal.claude(), "low");
        assert_eq!(Effort::XHigh.claude(), "max");
    }

    #[test]
    fn suffixes() {
        assert_eq!(
            Thinking::from_suffix("high"),
            Some(Thinking::Effort(Effort::High))
        );
        assert_eq!(
            Thinking::from_suffix("HIGH"),
            Some(Thinking::Effort(Effort::High))
        );
        assert_eq!(Thinking::from_suffix("0"), Some(Thinking::Off));
        assert_eq!(Thinking::from_suffix("-1"), Some(Thinking::Auto));
        assert_eq!(
            Thinking::from_suffix("0008192"),
            Some(Thinking::Budget(8192))
        );
        assert_eq!(Thinking::from_suffix("none"), Some(Thinking::Off));
        assert_eq!(Thinking::from_suffix("-2"), None);
        assert_eq!(Thinking::from_suffix("fast"), None);
    }
}
