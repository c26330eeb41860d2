//! The models each provider serves when a credential lists none: a static table (as the
//! reference has) plus the provider's family prefix, so a new model works without a release.

use crate::credential::ProviderKind;

/// Models listed by `/v1/models` for Claude credentials without `models`.
const CLAUDE: &[&str] = &[
    "claude-opus-4-5",
    "claude-opus-4-1",
    "claude-opus-4",
    "claude-sonnet-4-5",
    "claude-sonnet-4",
    "claude-haiku-4-5",
    "claude-3-7-sonnet-latest",
    "claude-3-5-haiku-latest",
];

/// Models listed for Codex (OpenAI key) credentials without `models`.
const CODEX: &[&str] = &[
    "gpt-5.1",
    "gpt-5.1-codex",
    "gpt-5.1-codex-mini",
    "gpt-5",
    "gpt-5-codex",
    "gpt-5-mini",
    "gpt-5-nano",
    "gpt-4.1",
    "gpt-4o",
    "o3",
    "o4-mini",
    "codex-mini-latest",
];

/// Models listed for Gemini credentials without `models`.
const GEMINI: &[&str] = &[
    "gemini-3-pro-preview",
    "gemini-2.5-pro",
    "gemini-2.5-flash",
    "gemini-2.5-flash-lite",
    "gemini-2.0-flash",
];

/// The built-in model list of `provider`.
pub(crate) fn models(provider: ProviderKind) -> &'static [&'static str] {
    match provider {
        ProviderKind::Claude => CLAUDE,
        ProviderKind::Codex => CODEX,
        // Vertex serves Claude models only when a credential lists them (with `@version`).
        ProviderKind::Gemini | ProviderKind::Vertex => GEMINI,
        ProviderKind::OpenAiCompatibility => &[],
    }
}

/// Whether `model` (lower-cased) belongs to `provider`'s family: `claude-…`, `gemini-…` (Gemini
/// and Vertex), `gpt-…` / `codex-…` / `o<digit>…`.
pub(crate) fn in_family(provider: ProviderKind, model: &str) -> bool {
    match provider {
        ProviderKind::Claude => model.starts_with("claude-"),
        ProviderKind::Gemini | ProviderKind::Vertex => model.starts_with("gemini-"),
        ProviderKind::Codex => {
            model.starts_with("gpt-")
                || model.starts_with("codex-")
                || (model.starts_with('o') && model[1..].starts_with(|c: char| c.is_ascii_digit()))
        }
        ProviderKind::OpenAiCompatibility => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_model_is_in_its_family() {
        for provider in [
            ProviderKind::Claude,
            ProviderKind::Codex,
            ProviderKind::Gemini,
            ProviderKind::Vertex,
        ] {
            for model in models(provider) {
                assert!(in_family(provider, model), "{model}");
            }
        }
    }

    #[test]
    fn families() {
        assert!(in_family(ProviderKind::Codex, "o3-pro"));
        assert!(!in_family(ProviderKind::Codex, "openai-x"));
        assert!(!in_family(ProviderKind::Claude, "gemini-2.5-pro"));
        assert!(!in_family(ProviderKind::OpenAiCompatibility, "gpt-5"));
        assert!(in_family(ProviderKind::Vertex, "gemini-2.5-pro"));
        assert!(!in_family(ProviderKind::Vertex, "claude-sonnet-4-5"));
    }
}
