//! Where a program embedding switchyard keeps session bindings: a [`SessionStore`] opens the
//! [`SessionCache`] each routing setup uses.

use std::sync::Arc;
use std::time::Duration;

use super::SessionCache;

/// Opens the cache of session bindings (session key → credential) when session affinity is
/// on, in place of switchyard's in-memory one; installed with
/// [`crate::SwitchyardBuilder::session_store`].
///
/// A cache is opened whenever the routing settings change (strategy, affinity, TTL): the
/// previous cache is then [stopped](SessionCache::stop) and its bindings are not carried
/// over. `routing.session-store: redis://…` in the config takes precedence over a
/// program-supplied store.
pub trait SessionStore: Send + Sync + 'static {
    /// A cache whose bindings live `ttl` after their last set or refresh.
    fn open(&self, ttl: Duration) -> Arc<dyn SessionCache>;
}

impl<F> SessionStore for F
where
    F: Fn(Duration) -> Arc<dyn SessionCache> + Send + Sync + 'static,
{
    fn open(&self, ttl: Duration) -> Arc<dyn SessionCache> {
        self(ttl)
    }
}

impl std::fmt::Debug for dyn SessionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionStore")
    }
}
