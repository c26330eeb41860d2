//! What a token credential mints its bearer tokens with.

use std::time::SystemTime;

use switchyard_oauth::{
    ClientCredentials, RefreshGrant, ServiceAccountKey, TokenRequest, TokenSet,
};

/// How a credential obtains its bearer token. Equality compares the definition only: a
/// refresh credential's current token set is state (it rotates), not part of it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum TokenSource {
    /// A Google service account: JWT-bearer grant (RFC 7523) for `scope`.
    ServiceAccount {
        /// The service-account key.
        key: ServiceAccountKey,
        /// The scope asked for.
        scope: String,
    },
    /// OAuth2 client credentials (RFC 6749 §4.4).
    ClientCredentials(ClientCredentials),
    /// A refresh token (RFC 6749 §6) from an auth file's `oauth2` object, rotated when the
    /// server rotates it.
    RefreshToken {
        /// The client and token endpoint.
        grant: RefreshGrant,
        /// The token set the definition carries (the file's `access_token`, `refresh_token`,
        /// `expires_at`); the access token may be empty.
        stored: TokenSet,
    },
}

impl PartialEq for TokenSource {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (
                TokenSource::ServiceAccount { key, scope },
                TokenSource::ServiceAccount {
                    key: other_key,
                    scope: other_scope,
                },
            ) => key == other_key && scope == other_scope,
            (TokenSource::ClientCredentials(a), TokenSource::ClientCredentials(b)) => a == b,
            (
                TokenSource::RefreshToken { grant, .. },
                TokenSource::RefreshToken { grant: other, .. },
            ) => grant == other,
            _ => false,
        }
    }
}

impl Eq for TokenSource {}

impl TokenSource {
    /// The grant's name in reports and metrics: `jwt_bearer`, `client_credentials` or
    /// `refresh_token`.
    pub fn grant(&self) -> &'static str {
        match self {
            TokenSource::ServiceAccount { .. } => "jwt_bearer",
            TokenSource::ClientCredentials(_) => "client_credentials",
            TokenSource::RefreshToken { .. } => "refresh_token",
        }
    }

    /// Whether a renewal spends the refresh token it uses (so replicas must take turns).
    pub fn rotates(&self) -> bool {
        matches!(self, TokenSource::RefreshToken { .. })
    }

    /// The token request at `now`; for a refresh credential, with `refresh_token`.
    pub(crate) fn request(&self, refresh_token: &str, now: SystemTime) -> TokenRequest {
        match self {
            TokenSource::ServiceAccount { key, scope } => TokenRequest::jwt_bearer(key, scope, now),
            TokenSource::ClientCredentials(client) => client.request(),
            TokenSource::RefreshToken { grant, .. } => grant.request(refresh_token),
        }
    }
}
