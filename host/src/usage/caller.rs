//! Who sent a proxied request, as the usage record names it.

use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::FromRequestParts;
use http::request::Parts;

use crate::server::RequestId;

/// The client as the access layer identified it (for API keys: the key). The access middleware
/// inserts it into the request's extensions when it admits a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientPrincipal(pub Arc<str>);

/// The request id and the client principal of a request, from its extensions (cheap clones:
/// they become strings only when a usage record is made).
#[derive(Debug, Clone, Default)]
pub struct Caller {
    /// The `x-request-id`.
    pub request_id: Option<RequestId>,
    /// The [`ClientPrincipal`], when the request was authenticated.
    pub principal: Option<ClientPrincipal>,
}

impl Caller {
    /// The request id as text (empty when there is none).
    pub fn request_id_text(&self) -> String {
        self.request_id
            .as_ref()
            .map(|id| String::from_utf8_lossy(id.0.as_bytes()).into_owned())
            .unwrap_or_default()
    }

    /// The principal as text (empty when there is none).
    pub fn principal_text(&self) -> String {
        self.principal
            .as_ref()
            .map(|p| p.0.to_string())
            .unwrap_or_default()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Caller {
            request_id: parts.extensions.get::<RequestId>().cloned(),
            principal: parts.extensions.get::<ClientPrincipal>().cloned(),
        })
    }
}
