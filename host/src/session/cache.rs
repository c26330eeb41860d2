//! Where session bindings live: a trait so one process's memory and a shared Redis can serve.

use std::collections::BTreeMap;
use std::fmt::Debug;

use futures_util::future::BoxFuture;

use crate::credential::CredentialId;

/// Counts for reports (`GET /v0/management/sessions`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BindingStats {
    /// Live bindings.
    pub bindings: usize,
    /// Live bindings per credential id.
    pub by_credential: BTreeMap<String, usize>,
}

/// A map `session key → credential` whose entries expire after the TTL unless refreshed.
pub trait SessionCache: Send + Sync + Debug {
    /// The credential bound to `key`, if live. Does not refresh.
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Option<CredentialId>>;

    /// The credential bound to `key`, if live, and refreshes its TTL.
    fn get_and_refresh<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Option<CredentialId>>;

    /// Binds `key` to `credential` with a fresh TTL.
    fn set<'a>(&'a self, key: &'a str, credential: &'a CredentialId) -> BoxFuture<'a, ()>;

    /// Refreshes the TTL of `key` only while it is still bound to `credential`.
    fn touch<'a>(&'a self, key: &'a str, credential: &'a CredentialId) -> BoxFuture<'a, ()>;

    /// Removes `key` only while it is still bound to `credential`.
    fn compare_and_delete<'a>(
        &'a self,
        key: &'a str,
        credential: &'a CredentialId,
    ) -> BoxFuture<'a, ()>;

    /// Removes one binding.
    fn invalidate<'a>(&'a self, key: &'a str) -> BoxFuture<'a, ()>;

    /// Removes every binding to `credential`.
    fn invalidate_credential<'a>(&'a self, credential: &'a CredentialId) -> BoxFuture<'a, ()>;

    /// Counts the live bindings.
    fn stats(&self) -> BoxFuture<'_, BindingStats>;

    /// Stops background work (expiry sweeps). Idempotent.
    fn stop(&self);
}
