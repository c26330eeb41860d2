//! The client-credentials grant (RFC 6749 §4.4).

use crate::TokenRequest;

/// How the client authenticates to the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuthMethod {
    /// HTTP Basic (`client_secret_basic`), the default.
    #[default]
    Basic,
    /// `client_id` and `client_secret` in the form (`client_secret_post`).
    Post,
}

impl AuthMethod {
    /// Parses `basic` or `post`.
    pub fn parse(text: &str) -> Option<AuthMethod> {
        todo!()
    }
}

/// An OAuth client allowed the client-credentials grant. `Debug` never prints the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientCredentials {
    /// The token endpoint.
    pub token_url: url::Url,
    /// The client id.
    pub client_id: String,
    /// The client secret.
    pub client_secret: String,
    /// `scope`, sent when not empty.
    pub scope: String,
    /// `audience`, sent when not empty (some servers want it instead of a scope).
    pub audience: String,
    /// How the client authenticates.
    pub auth_method: AuthMethod,
}

impl std::fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        todo!()
    }
}

impl ClientCredentials {
    /// The token request: `grant_type=client_credentials`, `scope` / `audience` when set, the
    /// client authenticated as [`ClientCredentials::auth_method`] says.
    pub fn request(&self) -> TokenRequest {
        todo!()
    }
}
