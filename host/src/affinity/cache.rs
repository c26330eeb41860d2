//! Where session bindings live: a trait so one process's memory and a shared Redis can serve.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::Arc;

use futures_util::future::BoxFuture;

use crate::credential::CredentialId;
use crate::metrics::{Metrics, Table};

/// Default `routing.session-affinity-max-bindings`.
pub(crate) const DEFAULT_MAX_BINDINGS: usize = 100_000;

/// How many bindings a cache keeps (`routing.session-affinity-max-bindings`), and where it
/// counts the live ones it evicts to stay within that.
#[derive(Debug, Clone)]
pub struct BindingLimit {
    /// The most bindings kept (at least 1); beyond it the least recently set or refreshed
    /// binding is evicted.
    pub max: usize,
    /// Counts evictions as `switchyard_table_evictions_total{table="session_bindings"}`.
    pub metrics: Arc<Metrics>,
}

impl BindingLimit {
    /// At most `max` bindings, evictions counted in `metrics`.
    pub fn new(max: usize, metrics: Arc<Metrics>) -> Self {
        BindingLimit {
            max: max.max(1),
            metrics,
        }
    }

    /// Counts `n` evicted bindings.
    pub fn evicted(&self, n: u64) {
        self.metrics.record_evictions(Table::SessionBindings, n);
    }
}

impl Default for BindingLimit {
    fn default() -> Self {
        BindingLimit::new(DEFAULT_MAX_BINDINGS, Arc::default())
    }
}

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
