//! The client-facing API protocols and which upstream providers speak them.

use std::fmt;

/// An API protocol a request arrives in, or an upstream is called in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Protocol {
    /// OpenAI Chat Completions (`/v1/chat/completions`).
    OpenAiChat,
    /// OpenAI Responses (`/v1/responses`).
    OpenAiResponses,
    /// Anthropic Messages (`/v1/messages`).
    ClaudeMessages,
    /// Gemini `generateContent` (`/v1beta/models/{model}:…`).
    Gemini,
}

impl Protocol {
    /// The name shown in error messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::OpenAiChat => "OpenAI chat completions (/v1/chat/completions)",
            Protocol::OpenAiResponses => "OpenAI Responses (/v1/responses)",
            Protocol::ClaudeMessages => "Anthropic Messages (/v1/messages)",
            Protocol::Gemini => "Gemini (/v1beta/models/{model}:generateContent)",
        }
    }

    /// The translation crate's name for this protocol.
    pub(crate) fn format(self) -> switchyard_translate::Format {
        match self {
            Protocol::OpenAiChat => switchyard_translate::Format::Chat,
            Protocol::OpenAiResponses => switchyard_translate::Format::Responses,
            Protocol::ClaudeMessages => switchyard_translate::Format::Claude,
            Protocol::Gemini => switchyard_translate::Format::Gemini,
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
