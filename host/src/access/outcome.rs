//! A provider's answer, and the caller a chain admits.

use crate::plugin::{Denial, Grant, WitOutcome};

/// A provider's answer for one request (the WIT variant `outcome`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccessOutcome {
    /// Admit the request as `principal`; ends the chain.
    Allow {
        /// Who the caller is (logs, usage records).
        principal: String,
        /// Extra facts, such as `("source", "authorization")`.
        metadata: Vec<(String, String)>,
    },
    /// The provider does not apply; ask the next.
    NotHandled,
    /// No credential the provider understands; ask the next.
    NoCredentials,
    /// A credential the provider understands, but wrong; ask the next.
    InvalidCredential,
    /// Refuse now with this status (400..=599) and message; ends the chain.
    Deny {
        /// The HTTP status.
        status: u16,
        /// Sent as `{"error":"<message>"}`.
        message: String,
    },
    /// The provider could not decide; ends the chain with status 500.
    Error(String),
}

impl From<WitOutcome> for AccessOutcome {
    fn from(outcome: WitOutcome) -> AccessOutcome {
        match outcome {
            WitOutcome::Allow(Grant {
                principal,
                metadata,
            }) => AccessOutcome::Allow {
                principal,
                metadata,
            },
            WitOutcome::NotHandled => AccessOutcome::NotHandled,
            WitOutcome::NoCredentials => AccessOutcome::NoCredentials,
            WitOutcome::InvalidCredential => AccessOutcome::InvalidCredential,
            WitOutcome::Deny(Denial { status, message }) => AccessOutcome::Deny { status, message },
            WitOutcome::Error(message) => AccessOutcome::Error(message),
        }
    }
}

/// A caller the chain admitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The name of the provider instance that admitted it (`config-inline`, ...).
    pub provider: String,
    /// Who the caller is, as the provider said (for `config-api-key`, the matched key).
    pub principal: String,
    /// The provider's extra facts about the caller.
    pub metadata: Vec<(String, String)>,
}

impl Principal {
    /// The value of metadata `key`.
    pub fn metadata(&self, key: &str) -> Option<&str> {
        self.metadata
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}
