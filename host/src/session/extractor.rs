//! The extractor trait: one configured instance's recognition of a request's session.

use std::future::Future;
use std::pin::Pin;

use super::SessionIds;
use crate::plugin::{Fault, InstanceStats, RequestHead};

/// The future an [`SessionExtractor`] returns.
pub type ExtractorFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Option<SessionIds>, Fault>> + Send + 'a>>;

/// A configured session-id extractor instance.
///
/// `Ok(None)`: the extractor found no session; `Ok(Some(ids))`: an explicit or derived id pair
/// (validated by the chain: an invalid id is ignored). `Err` is a [`Fault`]: the extractor could
/// not answer (a Wasm trap, deadline or memory overflow, or a quarantine); the chain skips it
/// for that request (fail open) and counts it.
pub trait SessionExtractor: Send + Sync + 'static {
    /// Whether [`SessionExtractor::extract`] reads the body; when false it always gets `None`.
    fn needs_body(&self) -> bool {
        true
    }

    /// Recognises the session of one request. `body` is the complete request body when
    /// [`SessionExtractor::needs_body`] is true, else `None`.
    fn extract<'a>(&'a self, head: &'a RequestHead, body: Option<&'a [u8]>) -> ExtractorFuture<'a>;

    /// Call and fault counters, for extractors that keep them (Wasm instances do).
    fn stats(&self) -> Option<InstanceStats> {
        None
    }
}
