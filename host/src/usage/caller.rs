//! Who sent a proxied request, as the usage record names it.

use std::convert::Infallible;

use axum::extract::FromRequestParts;
use http::request::Parts;

use crate::server::RequestId;

/// The client as the access layer identified it (for API keys: the key). The access middleware
/// inserts it into the request's extensions when it admits a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientPrincipal(pub String);

/// The request id and the client principal of a request, from its extensions.
#[derive(Debug, Clone, Default)]
pub struct Caller {
    /// The `x-request-id`.
    pub request_id: String,
    /// The [`ClientPrincipal`], empty when the request was not authenticated.
    pub principal: String,
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Caller {
            request_id: parts
                .extensions
                .get::<RequestId>()
                .map(|id| String::from_utf8_lossy(id.0.as_bytes()).into_owned())
                .unwrap_or_default(),
            principal: parts
                .extensions
                .get::<ClientPrincipal>()
                .map(|p| p.0.clone())
                .unwrap_or_default(),
        })
    }
}
