//! Session bindings in this process's memory, with a background sweep of expired entries and
//! a bound on their number: beyond `routing.session-affinity-max-bindings` the binding set or
//! refreshed least recently is evicted.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use parking_lot::{Mutex, RwLock};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::cache::{BindingLimit, BindingStats, SessionCache};
use crate::clock::{Clock, saturating_add};
use crate::credential::CredentialId;
use crate::lru::Lru;

/// The longest wait between two sweeps of expired entries.
const MAX_SWEEP_INTERVAL: Duration = Duration::from_secs(3600);

#[derive(Debug, Clone)]
struct Entry {
    credential: CredentialId,
    expires_at: SystemTime,
}

/// The in-memory [`SessionCache`].
#[derive(Debug)]
pub struct MemoryCache {
    inner: Arc<Inner>,
    stop: watch::Sender<bool>,
    sweeper: Mutex<Option<JoinHandle<()>>>,
}

#[derive(Debug)]
struct Inner {
    entries: RwLock<Lru<Entry>>,
    ttl: Duration,
    clock: Arc<dyn Clock>,
    limit: BindingLimit,
}

impl Inner {
    fn live(&self, entry: &Entry) -> bool {
        self.clock.now() < entry.expires_at
    }

    fn expiry(&self, now: SystemTime) -> SystemTime {
        saturating_add(now, self.ttl)
    }

    fn sweep(&self) {
        let now = self.clock.now();
        self.entries.write().retain(|_, e| now < e.expires_at);
    }
}

impl MemoryCache {
    /// A cache whose entries live `ttl` after their last set or refresh, at most the default
    /// number of them (see [`MemoryCache::with_limit`]).
    pub fn new(ttl: Duration, clock: Arc<dyn Clock>) -> Self {
        MemoryCache::with_limit(ttl, clock, BindingLimit::default())
    }

    /// A cache whose entries live `ttl` after their last set or refresh, at most `limit.max`
    /// of them. When called inside a tokio runtime, a task sweeps expired entries every
    /// `ttl / 2` until [`SessionCache::stop`].
    pub fn with_limit(ttl: Duration, clock: Arc<dyn Clock>, limit: BindingLimit) -> Self {
        let inner = Arc::new(Inner {
            entries: RwLock::new(Lru::new()),
            ttl,
            clock,
            limit,
        });
        let (stop, mut stopped) = watch::channel(false);
        let sweeper = tokio::runtime::Handle::try_current().ok().map(|runtime| {
            let inner = Arc::downgrade(&inner);
            let every = (ttl / 2).clamp(Duration::from_millis(10), MAX_SWEEP_INTERVAL);
            runtime.spawn(async move {
                let mut ticks = tokio::time::interval(every);
                ticks.tick().await;
                loop {
                    tokio::select! {
                        _ = ticks.tick() => match inner.upgrade() {
                            Some(inner) => inner.sweep(),
                            None => break,
                        },
                        _ = stopped.wait_for(|s| *s) => break,
                    }
                }
            })
        });
        MemoryCache {
            inner,
            stop,
            sweeper: Mutex::new(sweeper),
        }
    }

    /// Whether the sweep task has ended (it does after [`SessionCache::stop`]).
    pub fn sweeper_finished(&self) -> bool {
        self.sweeper
            .lock()
            .as_ref()
            .is_none_or(JoinHandle::is_finished)
    }

    fn lookup(&self, key: &str, refresh: bool) -> Option<CredentialId> {
        if key.is_empty() {
            return None;
        }
        if !refresh {
            let entries = self.inner.entries.read();
            let entry = entries.get(key)?;
            return self.inner.live(entry).then(|| entry.credential.clone());
        }
        let mut entries = self.inner.entries.write();
        let entry = entries.get_mut(key)?;
        if !self.inner.live(entry) {
            entries.remove(key);
            return None;
        }
        entry.expires_at = self.inner.expiry(self.inner.clock.now());
        let credential = entry.credential.clone();
        entries.touch(key);
        Some(credential)
    }
}

impl SessionCache for MemoryCache {
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Option<CredentialId>> {
        futures_util::future::ready(self.lookup(key, false)).boxed()
    }

    fn get_and_refresh<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Option<CredentialId>> {
        futures_util::future::ready(self.lookup(key, true)).boxed()
    }

    fn set<'a>(&'a self, key: &'a str, credential: &'a CredentialId) -> BoxFuture<'a, ()> {
        if !key.is_empty() && !credential.as_str().is_empty() {
            let now = self.inner.clock.now();
            let mut entries = self.inner.entries.write();
            entries.insert(
                key,
                Entry {
                    credential: credential.clone(),
                    expires_at: self.inner.expiry(now),
                },
            );
            let mut evicted = 0;
            while entries.len() > self.inner.limit.max {
                match entries.pop_oldest() {
                    Some((_, entry)) => evicted += u64::from(now < entry.expires_at),
                    None => break,
                }
            }
            drop(entries);
            self.inner.limit.evicted(evicted);
        }
        futures_util::future::ready(()).boxed()
    }

    fn touch<'a>(&'a self, key: &'a str, credential: &'a CredentialId) -> BoxFuture<'a, ()> {
        let now = self.inner.clock.now();
        let mut entries = self.inner.entries.write();
        if let Some(entry) = entries.get_mut(key)
            && entry.credential == *credential
            && now < entry.expires_at
        {
            entry.expires_at = self.inner.expiry(now);
            entries.touch(key);
        }
        futures_util::future::ready(()).boxed()
    }

    fn compare_and_delete<'a>(
        &'a self,
        key: &'a str,
        credential: &'a CredentialId,
    ) -> BoxFuture<'a, ()> {
        let mut entries = self.inner.entries.write();
        if entries
            .get(key)
            .is_some_and(|e| e.credential == *credential)
        {
            entries.remove(key);
        }
        futures_util::future::ready(()).boxed()
    }

    fn invalidate<'a>(&'a self, key: &'a str) -> BoxFuture<'a, ()> {
        self.inner.entries.write().remove(key);
        futures_util::future::ready(()).boxed()
    }

    fn invalidate_credential<'a>(&'a self, credential: &'a CredentialId) -> BoxFuture<'a, ()> {
        self.inner
            .entries
            .write()
            .retain(|_, e| e.credential != *credential);
        futures_util::future::ready(()).boxed()
    }

    fn stats(&self) -> BoxFuture<'_, BindingStats> {
        let entries = self.inner.entries.read();
        let mut stats = BindingStats::default();
        for (_, entry) in entries.iter().filter(|(_, e)| self.inner.live(e)) {
            stats.bindings += 1;
            *stats
                .by_credential
                .entry(entry.credential.to_string())
                .or_default() += 1;
        }
        futures_util::future::ready(stats).boxed()
    }

    fn stop(&self) {
        self.stop.send_replace(true);
    }
}

impl Drop for MemoryCache {
    fn drop(&mut self) {
        self.stop.send_replace(true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::metrics::{Metrics, Table};

    fn id(s: &str) -> CredentialId {
        CredentialId::new(s)
    }

    fn cache(ttl_secs: u64) -> (Arc<ManualClock>, MemoryCache) {
        let clock = Arc::new(ManualClock::new());
        (
            clock.clone(),
            MemoryCache::new(Duration::from_secs(ttl_secs), clock),
        )
    }

    #[tokio::test]
    async fn entries_expire_unless_refreshed() {
        let (clock, cache) = cache(60);
        cache.set("k", &id("a")).await;
        clock.advance(Duration::from_secs(50));
        assert_eq!(cache.get_and_refresh("k").await, Some(id("a")));
        clock.advance(Duration::from_secs(50));
        assert_eq!(cache.get("k").await, Some(id("a")), "refreshed 50 s ago");
        clock.advance(Duration::from_secs(11));
        assert_eq!(cache.get("k").await, None);
        assert_eq!(cache.get("").await, None);
    }

    #[tokio::test]
    async fn get_does_not_refresh() {
        let (clock, cache) = cache(60);
        cache.set("k", &id("a")).await;
        clock.advance(Duration::from_secs(40));
        cache.get("k").await;
        clock.advance(Duration::from_secs(21));
        assert_eq!(cache.get("k").await, None);
    }

    #[tokio::test]
    async fn touch_and_compare_and_delete_respect_rebinding() {
        let (clock, cache) = cache(60);
        cache.set("k", &id("a")).await;
        cache.set("k", &id("b")).await;
        clock.advance(Duration::from_secs(50));
        cache.touch("k", &id("a")).await;
        cache.compare_and_delete("k", &id("a")).await;
        assert_eq!(
            cache.get("k").await,
            Some(id("b")),
            "a late result for a changes nothing"
        );
        cache.touch("k", &id("b")).await;
        clock.advance(Duration::from_secs(50));
        assert_eq!(
            cache.get("k").await,
            Some(id("b")),
            "touched by its own credential"
        );
        cache.compare_and_delete("k", &id("b")).await;
        assert_eq!(cache.get("k").await, None);
    }

    #[tokio::test]
    async fn invalidation_and_stats() {
        let (_clock, cache) = cache(60);
        for (key, cred) in [("1", "a"), ("2", "a"), ("3", "b")] {
            cache.set(key, &id(cred)).await;
        }
        let stats = cache.stats().await;
        assert_eq!(stats.bindings, 3);
        assert_eq!(stats.by_credential["a"], 2);
        cache.invalidate_credential(&id("a")).await;
        cache.invalidate("3").await;
        assert_eq!(cache.stats().await.bindings, 0);
    }

    #[tokio::test]
    async fn concurrent_use_is_consistent() {
        let (_clock, cache) = cache(60);
        let cache = Arc::new(cache);
        let mut tasks = Vec::new();
        for t in 0..8 {
            let cache = cache.clone();
            tasks.push(tokio::spawn(async move {
                for i in 0..500 {
                    let key = format!("k{}", i % 50);
                    cache.set(&key, &CredentialId::new(format!("c{t}"))).await;
                    cache.get_and_refresh(&key).await;
                    cache.touch(&key, &CredentialId::new(format!("c{t}"))).await;
                }
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(cache.stats().await.bindings, 50);
    }

    #[tokio::test]
    async fn two_hundred_thousand_sessions_stay_within_the_bound() {
        let clock = Arc::new(ManualClock::new());
        let metrics = Arc::new(Metrics::default());
        let cache = MemoryCache::with_limit(
            Duration::from_secs(3600),
            clock,
            BindingLimit::new(1000, metrics.clone()),
        );
        cache.set("kept", &id("a")).await;
        for i in 0..200_000 {
            cache.set(&format!("session-{i}"), &id("a")).await;
            if i % 500 == 0 {
                // Used often: never the least recently used.
                assert_eq!(cache.get_and_refresh("kept").await, Some(id("a")));
            }
        }
        assert_eq!(cache.stats().await.bindings, 1000);
        assert_eq!(cache.get("kept").await, Some(id("a")));
        assert_eq!(cache.get("session-0").await, None, "the oldest went first");
        assert_eq!(cache.get("session-199999").await, Some(id("a")));
        assert_eq!(metrics.evictions(Table::SessionBindings), 200_001 - 1000);
    }

    #[tokio::test]
    async fn an_endless_ttl_never_overflows() {
        let (clock, _) = cache(1);
        let cache = MemoryCache::new(Duration::MAX, clock);
        cache.set("k", &id("a")).await;
        cache.touch("k", &id("a")).await;
        assert_eq!(cache.get_and_refresh("k").await, Some(id("a")));
    }

    #[tokio::test(start_paused = true)]
    async fn the_sweep_removes_expired_entries_and_stops() {
        let (clock, cache) = cache(2);
        cache.set("k", &id("a")).await;
        clock.advance(Duration::from_secs(3));
        // Let the sweep task run one tick (time is paused: this advances tokio's clock only).
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert!(cache.inner.entries.read().is_empty());
        cache.stop();
        cache.stop();
        tokio::time::sleep(Duration::from_millis(1)).await;
        assert!(cache.sweeper_finished());
    }
}
