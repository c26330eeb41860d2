//! Who sent a proxied request, as the usage record names it.

use std::convert::Infallible;

use axum::extract::FromRequestParts;
use http::request::Parts;

use crate::access::Principal;
use crate::server::RequestId;

/// The request id and the client principal of a request, from its extensions (the request id
/// is a cheap clone; both become strings only when a usage record is made).
#[derive(Debug, Clone, Default)]
pub(crate) struct Caller {
    /// The `x-request-id`.
    pub request_id: Option<RequestId>,
    /// Who the access chain admitted (for API keys: the key), when the request went through it.
    pub principal: Option<String>,
}

impl Caller {
    /// The request id as text (empty when there is none).
    pub(crate) fn request_id_text(&self) -> String {
        self.request_id
            .as_ref()
            .map(|id| String::from_utf8_lossy(id.0.as_bytes()).into_owned())
            .unwrap_or_default()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Caller {
            request_id: parts.extensions.get::<RequestId>().cloned(),
            principal: parts
                .extensions
                .get::<Principal>()
                .map(|p| p.principal.clone()),
        })
    }
}
