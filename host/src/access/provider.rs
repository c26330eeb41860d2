//! The provider trait: one configured instance's decision about a request.

use std::future::Future;
use std::pin::Pin;

use super::{AccessOutcome, RequestHead};
use crate::plugin::{Fault, InstanceStats};

/// The future a [`AccessProvider`] returns.
pub type AccessFuture<'a> = Pin<Box<dyn Future<Output = Result<AccessOutcome, Fault>> + Send + 'a>>;

/// A configured access-provider instance.
///
/// `Ok` is an answer (including refusals); `Err` is a [`Fault`]: the provider could not answer
/// at all (a Wasm trap, deadline or memory overflow, or a quarantine), which fails the request
/// closed with 503.
pub trait AccessProvider: Send + Sync + 'static {
    /// Decides about one request.
    fn authenticate<'a>(&'a self, head: &'a RequestHead) -> AccessFuture<'a>;

    /// Call and fault counters, for providers that keep them (Wasm instances do).
    fn stats(&self) -> Option<InstanceStats> {
        None
    }
}
