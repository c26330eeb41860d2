//! The refresh-token grant (RFC 6749 §6).

use crate::{AuthMethod, TokenRequest};

/// An OAuth client holding a refresh token. `Debug` never prints a secret.
#[derive(Clone, PartialEq, Eq)]
pub struct RefreshGrant {
    /// The token endpoint.
    pub token_url: url::Url,
    /// The client id (sent in the form, or by Basic when there is a secret and the method is
    /// basic).
    pub client_id: String,
    /// The client secret, for confidential clients.
    pub client_secret: Option<String>,
    /// `scope`, sent when not empty.
    pub scope: String,
    /// How a confidential client authenticates (a public client always sends `client_id` in
    /// the form).
    pub auth_method: AuthMethod,
}

impl std::fmt::Debug for RefreshGrant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        todo!()
    }
}

impl RefreshGrant {
    /// The token request that trades `refresh_token` for a new set.
    pub fn request(&self, refresh_token: &str) -> TokenRequest {
        todo!()
    }
}
