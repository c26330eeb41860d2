//! The upstream endpoints switchyard forwards to, and their URLs per provider.

use crate::credential::{Credential, ProviderKind};
use crate::protocol::Protocol;

/// The upstream paths that do not depend on the request.
const FIXED_PATHS: &[&str] = &[
    "/v1/messages",
    "/v1/messages/count_tokens",
    "/chat/completions",
    "/responses",
];

/// One client-facing operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// `POST /v1/chat/completions`.
    ChatCompletions,
    /// `POST /v1/responses`.
    Responses,
    /// `POST /v1/messages`.
    Messages,
    /// `POST /v1/messages/count_tokens`.
    CountTokens,
    /// `POST /v1beta/models/{model}:generateContent`.
    GeminiGenerate,
    /// `POST /v1beta/models/{model}:streamGenerateContent`.
    GeminiStream,
    /// `POST /v1beta/models/{model}:countTokens`.
    GeminiCountTokens,
}

impl Endpoint {
    /// The protocol of the endpoint.
    pub fn protocol(self) -> Protocol {
        match self {
            Endpoint::ChatCompletions => Protocol::OpenAiChat,
            Endpoint::Responses => Protocol::OpenAiResponses,
            Endpoint::Messages | Endpoint::CountTokens => Protocol::ClaudeMessages,
            Endpoint::GeminiGenerate | Endpoint::GeminiStream | Endpoint::GeminiCountTokens => {
                Protocol::Gemini
            }
        }
    }

    /// The client-facing route, for logs and usage records.
    pub fn route(self) -> &'static str {
        match self {
            Endpoint::ChatCompletions => "/v1/chat/completions",
            Endpoint::Responses => "/v1/responses",
            Endpoint::Messages => "/v1/messages",
            Endpoint::CountTokens => "/v1/messages/count_tokens",
            Endpoint::GeminiGenerate => "/v1beta/models:generateContent",
            Endpoint::GeminiStream => "/v1beta/models:streamGenerateContent",
            Endpoint::GeminiCountTokens => "/v1beta/models:countTokens",
        }
    }

    /// The Gemini action for a path suffix such as `generateContent`.
    pub fn gemini_action(action: &str) -> Option<Self> {
        match action {
            "generateContent" => Some(Endpoint::GeminiGenerate),
            "streamGenerateContent" => Some(Endpoint::GeminiStream),
            "countTokens" => Some(Endpoint::GeminiCountTokens),
            _ => None,
        }
    }

    /// The upstream URL for `credential`. `sse` asks a Gemini stream for SSE framing. Fixed
    /// URLs are parsed once per credential.
    pub fn upstream_url(
        self,
        credential: &Credential,
        upstream_model: &str,
        sse: bool,
    ) -> Option<url::Url> {
        let text = self.upstream_url_text(credential, upstream_model, sse);
        if credential.provider == ProviderKind::Gemini {
            return url::Url::parse(&text).ok();
        }
        let path = &text[credential.base_url.as_str().trim_end_matches('/').len()..];
        credential
            .urls
            .get(&credential.base_url, FIXED_PATHS, path)
            .or_else(|| url::Url::parse(&text).ok())
    }

    /// The upstream URL as text.
    pub fn upstream_url_text(
        self,
        credential: &Credential,
        upstream_model: &str,
        sse: bool,
    ) -> String {
        let base = credential.base_url.as_str().trim_end_matches('/');
        let path = match (credential.provider, self) {
            (ProviderKind::Claude, Endpoint::CountTokens) => "/v1/messages/count_tokens",
            (ProviderKind::Claude, _) => "/v1/messages",
            (ProviderKind::Gemini, _) => {
                let action = match self {
                    Endpoint::GeminiStream => "streamGenerateContent",
                    Endpoint::GeminiCountTokens => "countTokens",
                    _ => "generateContent",
                };
                let alt = if sse { "?alt=sse" } else { "" };
                return format!("{base}/v1beta/models/{upstream_model}:{action}{alt}");
            }
            (_, Endpoint::ChatCompletions) => "/chat/completions",
            (_, _) => "/responses",
        };
        format!("{base}{path}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credential::testing::credential;

    #[test]
    fn parsed_urls_match_their_text_and_are_cached() {
        let mut c = credential("a", 0);
        for provider in [
            ProviderKind::Claude,
            ProviderKind::Codex,
            ProviderKind::Gemini,
        ] {
            c.provider = provider;
            c.urls = Default::default();
            for endpoint in [
                Endpoint::Messages,
                Endpoint::CountTokens,
                Endpoint::Responses,
                Endpoint::GeminiStream,
            ] {
                let parsed = endpoint.upstream_url(&c, "m", true).unwrap();
                assert_eq!(parsed.as_str(), endpoint.upstream_url_text(&c, "m", true));
            }
        }
    }

    #[test]
    fn urls_per_provider() {
        let mut c = credential("a", 0);
        assert_eq!(
            Endpoint::Messages.upstream_url_text(&c, "m", false),
            "http://127.0.0.1:9/v1/messages"
        );
        assert_eq!(
            Endpoint::CountTokens.upstream_url_text(&c, "m", false),
            "http://127.0.0.1:9/v1/messages/count_tokens"
        );
        c.provider = ProviderKind::Gemini;
        assert_eq!(
            Endpoint::GeminiStream.upstream_url_text(&c, "gemini-2.5-pro", true),
            "http://127.0.0.1:9/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse"
        );
        c.provider = ProviderKind::OpenAiCompatibility;
        c.base_url = url::Url::parse("http://127.0.0.1:9/v1/").unwrap();
        assert_eq!(
            Endpoint::ChatCompletions.upstream_url_text(&c, "m", false),
            "http://127.0.0.1:9/v1/chat/completions"
        );
        c.provider = ProviderKind::Codex;
        assert_eq!(
            Endpoint::Responses.upstream_url_text(&c, "m", false),
            "http://127.0.0.1:9/v1/responses"
        );
    }
}
