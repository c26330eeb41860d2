//! Session bindings in the shared Redis store, so a conversation keeps its credential whichever
//! replica receives the turn.
//!
//! A binding is the key `<prefix>session:<binding key>` holding the credential id, with the
//! binding TTL (`PX`), refreshed on a hit. Each credential has an index of its bindings
//! (`<prefix>bindings:<credential>`, a sorted set scored by expiry), kept in step with the
//! bindings by the scripts below, so dropping a credential's bindings and counting them never
//! scans the keyspace; index members whose binding expired are trimmed lazily (on a new binding
//! and when counting). Every read-modify-write is one Lua script, so two replicas racing on a
//! binding cannot undo each other (`touch` and `compare_and_delete` act only while the key still
//! names their credential). Scripts read Redis' own clock for index scores.
//!
//! The number of bindings is bounded by `routing.session-affinity-max-bindings`: every binding
//! key is also in `<prefix>binding-order`, scored by its last set or refresh, and a new binding
//! beyond the bound evicts the oldest ones (at most [`EVICT_PER_CALL`] per call, so every script
//! call stays short) in the same script.
//!
//! Every binding is also written to a local [`MemoryCache`]: while the store is degraded,
//! bindings are served from it (per replica), starting from what this replica last saw.

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use redis::Script;

use super::cache::{BindingLimit, BindingStats, SessionCache};
use super::memory_cache::MemoryCache;
use crate::clock::Clock;
use crate::credential::CredentialId;
use crate::redis_store::RedisStore;

/// Helpers every binding script starts with.
const PRELUDE: &str = r"
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function score(ms)
  return string.format('%.0f', ms)
end
-- The eviction order's score: Redis' clock in microseconds (finer than ms, so bindings set in
-- one millisecond keep their order).
local function now_us()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000000 + tonumber(t[2])
end
-- An index lives at least as long as the bindings it lists.
local function outlive(key, ttl)
  local left = redis.call('PTTL', key)
  if left == -1 or (left >= 0 and left < ttl) then
    redis.call('PEXPIRE', key, ttl)
  end
end
-- Refreshes a binding's expiry, its index entry and its place in the eviction order.
local function refresh(key, credential, ttl, index_prefix, credentials, order)
  redis.call('PEXPIRE', key, ttl)
  local index = index_prefix .. credential
  local now = now_ms()
  redis.call('ZADD', index, score(now + ttl), key)
  redis.call('ZADD', order, 'XX', score(now_us()), key)
  outlive(index, ttl)
  outlive(credentials, ttl)
  outlive(order, ttl)
end
";

/// The most bindings one `set` evicts (a lowered bound is reached over several calls).
pub const EVICT_PER_CALL: usize = 16;

fn script(body: &str) -> Script {
    Script::new(&format!("{PRELUDE}{body}"))
}

/// `set`: `KEYS[1]` binding; `ARGV`: credential, TTL ms, index prefix, credentials set,
/// eviction order, the most bindings, the most evictions in this call. Returns how many live
/// bindings it evicted.
static BIND: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
local ttl = tonumber(ARGV[2])
local old = redis.call('GET', KEYS[1])
redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl)
if old and old ~= ARGV[1] then
  redis.call('ZREM', ARGV[3] .. old, KEYS[1])
end
local now = now_ms()
local index = ARGV[3] .. ARGV[1]
redis.call('ZREMRANGEBYSCORE', index, '-inf', '(' .. score(now))
redis.call('ZADD', index, score(now + ttl), KEYS[1])
redis.call('SADD', ARGV[4], ARGV[1])
outlive(index, ttl)
outlive(ARGV[4], ttl)
local order = ARGV[5]
redis.call('ZADD', order, score(now_us()), KEYS[1])
outlive(order, ttl)
local over = redis.call('ZCARD', order) - tonumber(ARGV[6])
if over <= 0 then
  return 0
end
over = math.min(over, tonumber(ARGV[7]))
local evicted = 0
for _, key in ipairs(redis.call('ZRANGE', order, 0, over - 1)) do
  local credential = redis.call('GET', key)
  if credential then
    redis.call('DEL', key)
    redis.call('ZREM', ARGV[3] .. credential, key)
    evicted = evicted + 1
  end
end
redis.call('ZREMRANGEBYRANK', order, 0, over - 1)
return evicted
",
    )
});

/// `get_and_refresh`: `KEYS[1]` binding; `ARGV`: TTL ms, index prefix, credentials set,
/// eviction order. Returns the credential or nil.
static GET_AND_REFRESH: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
local credential = redis.call('GET', KEYS[1])
if not credential then
  return false
end
refresh(KEYS[1], credential, tonumber(ARGV[1]), ARGV[2], ARGV[3], ARGV[4])
return credential
",
    )
});

/// `touch`: `KEYS[1]` binding; `ARGV`: credential, TTL ms, index prefix, credentials set,
/// eviction order. Returns 1 when refreshed.
static TOUCH: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
refresh(KEYS[1], ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4], ARGV[5])
return 1
",
    )
});

/// `compare_and_delete`: `KEYS[1]` binding; `ARGV`: credential, index prefix, eviction
/// order. Returns 1 when deleted.
static COMPARE_AND_DELETE: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
redis.call('DEL', KEYS[1])
redis.call('ZREM', ARGV[2] .. ARGV[1], KEYS[1])
redis.call('ZREM', ARGV[3], KEYS[1])
return 1
",
    )
});

/// `invalidate`: `KEYS[1]` binding; `ARGV`: index prefix, eviction order. Returns 1 when
/// deleted.
static INVALIDATE: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
redis.call('ZREM', ARGV[2], KEYS[1])
local credential = redis.call('GET', KEYS[1])
if not credential then
  return 0
end
redis.call('DEL', KEYS[1])
redis.call('ZREM', ARGV[1] .. credential, KEYS[1])
return 1
",
    )
});

/// `invalidate_credential`: `KEYS[1]` the credential's index, `KEYS[2]` credentials set;
/// `ARGV`: credential, eviction order. Deletes the bindings still naming it; returns how many.
static INVALIDATE_CREDENTIAL: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
local deleted = 0
for _, key in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if redis.call('GET', key) == ARGV[1] then
    redis.call('DEL', key)
    redis.call('ZREM', ARGV[2], key)
    deleted = deleted + 1
  end
end
redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[2], ARGV[1])
return deleted
",
    )
});

/// `stats`: `KEYS[1]` credentials set; `ARGV`: index prefix. Trims each index of expired
/// members and returns `[credential, count, …]` for the non-empty ones.
static STATS: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
local now = score(now_ms())
local out = {}
for _, credential in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local index = ARGV[1] .. credential
  redis.call('ZREMRANGEBYSCORE', index, '-inf', '(' .. now)
  local count = redis.call('ZCARD', index)
  if count == 0 then
    redis.call('SREM', KEYS[1], credential)
  else
    out[#out + 1] = credential
    out[#out + 1] = count
  end
end
return out
",
    )
});

/// The Redis-backed [`SessionCache`], with a local fallback.
#[derive(Debug)]
pub struct RedisCache {
    store: Arc<RedisStore>,
    ttl_ms: u64,
    limit: BindingLimit,
    local: MemoryCache,
}

impl RedisCache {
    /// Bindings with `ttl` in `store`, at most the default number of them (see
    /// [`RedisCache::with_limit`]); `clock` times the local fallback.
    pub fn new(store: Arc<RedisStore>, ttl: Duration, clock: Arc<dyn Clock>) -> Self {
        RedisCache::with_limit(store, ttl, clock, BindingLimit::default())
    }

    /// Bindings with `ttl` in `store`, at most `limit.max` of them there and in the local
    /// fallback each (the evictions Redis reports are counted); `clock` times the local
    /// fallback.
    pub fn with_limit(
        store: Arc<RedisStore>,
        ttl: Duration,
        clock: Arc<dyn Clock>,
        limit: BindingLimit,
    ) -> Self {
        RedisCache {
            store,
            ttl_ms: u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1),
            // The local copy mirrors Redis: its evictions are not counted again.
            local: MemoryCache::with_limit(
                ttl,
                clock,
                BindingLimit::new(limit.max, Arc::default()),
            ),
            limit,
        }
    }

    /// The store.
    pub fn store(&self) -> &Arc<RedisStore> {
        &self.store
    }

    /// Runs `script` with `keys` and `args`; `None` when Redis was skipped or failed.
    async fn run<T: redis::FromRedisValue>(
        &self,
        script: &'static Script,
        keys: &[&str],
        args: &[&str],
    ) -> Option<T> {
        run_on(&self.store, script, keys, args).await
    }

    /// [`SessionCache::touch`], waiting for Redis' answer: whether the binding was refreshed
    /// there (`None` when Redis was skipped or failed).
    pub async fn touch_now(&self, key: &str, credential: &CredentialId) -> Option<bool> {
        self.local.touch(key, credential).await;
        let names = self.store.keys();
        let ttl = self.ttl_ms.to_string();
        self.run::<i64>(
            &TOUCH,
            &[&names.binding(key)],
            &[
                credential.as_str(),
                &ttl,
                &names.binding_index_prefix(),
                &names.bound_credentials(),
                &names.binding_order(),
            ],
        )
        .await
        .map(|refreshed| refreshed == 1)
    }

    async fn lookup(&self, key: &str, refresh: bool) -> Option<CredentialId> {
        if key.is_empty() {
            return None;
        }
        let names = self.store.keys();
        let binding = names.binding(key);
        let answer: Option<Option<String>> = if refresh {
            let ttl = self.ttl_ms.to_string();
            self.run(
                &GET_AND_REFRESH,
                &[&binding],
                &[
                    &ttl,
                    &names.binding_index_prefix(),
                    &names.bound_credentials(),
                    &names.binding_order(),
                ],
            )
            .await
        } else {
            self.store
                .call(|mut connection| async move {
                    redis::cmd("GET")
                        .arg(&binding)
                        .query_async(&mut connection)
                        .await
                })
                .await
                .ok()
        };
        match answer {
            Some(Some(credential)) => {
                let credential = CredentialId::new(credential);
                self.local.set(key, &credential).await;
                Some(credential)
            }
            Some(None) => {
                self.local.invalidate(key).await;
                None
            }
            None if refresh => self.local.get_and_refresh(key).await,
            None => self.local.get(key).await,
        }
    }
}

/// Runs `script` with `keys` and `args` on `store`; `None` when Redis was skipped or failed.
async fn run_on<T: redis::FromRedisValue>(
    store: &RedisStore,
    script: &'static Script,
    keys: &[&str],
    args: &[&str],
) -> Option<T> {
    store
        .call(|mut connection| async move {
            let mut invocation = script.prepare_invoke();
            for key in keys {
                invocation.key(*key);
            }
            for arg in args {
                invocation.arg(*arg);
            }
            invocation.invoke_async(&mut connection).await
        })
        .await
        .ok()
}

impl SessionCache for RedisCache {
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Option<CredentialId>> {
        self.lookup(key, false).boxed()
    }

    fn get_and_refresh<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Option<CredentialId>> {
        self.lookup(key, true).boxed()
    }

    fn set<'a>(&'a self, key: &'a str, credential: &'a CredentialId) -> BoxFuture<'a, ()> {
        async move {
            if key.is_empty() || credential.as_str().is_empty() {
                return;
            }
            self.local.set(key, credential).await;
            let names = self.store.keys();
            let ttl = self.ttl_ms.to_string();
            let evicted: Option<i64> = self
                .run(
                    &BIND,
                    &[&names.binding(key)],
                    &[
                        credential.as_str(),
                        &ttl,
                        &names.binding_index_prefix(),
                        &names.bound_credentials(),
                        &names.binding_order(),
                        &self.limit.max.to_string(),
                        &EVICT_PER_CALL.to_string(),
                    ],
                )
                .await;
            self.limit
                .evicted(evicted.map_or(0, |n| u64::try_from(n).unwrap_or(0)));
        }
        .boxed()
    }

    /// Refreshes the local copy at once and Redis in the background: a success's refresh needs
    /// no answer, so the response does not wait for it (the script still refreshes only while
    /// the binding names `credential`).
    fn touch<'a>(&'a self, key: &'a str, credential: &'a CredentialId) -> BoxFuture<'a, ()> {
        async move {
            self.local.touch(key, credential).await;
            if self.store.degraded() {
                return;
            }
            let names = self.store.keys();
            let (store, binding, credential, ttl, index_prefix, credentials, order) = (
                self.store.clone(),
                names.binding(key),
                credential.to_string(),
                self.ttl_ms.to_string(),
                names.binding_index_prefix(),
                names.bound_credentials(),
                names.binding_order(),
            );
            tokio::spawn(async move {
                let _: Option<i64> = run_on(
                    &store,
                    &TOUCH,
                    &[&binding],
                    &[&credential, &ttl, &index_prefix, &credentials, &order],
                )
                .await;
            });
        }
        .boxed()
    }

    fn compare_and_delete<'a>(
        &'a self,
        key: &'a str,
        credential: &'a CredentialId,
    ) -> BoxFuture<'a, ()> {
        async move {
            self.local.compare_and_delete(key, credential).await;
            let names = self.store.keys();
            let _: Option<i64> = self
                .run(
                    &COMPARE_AND_DELETE,
                    &[&names.binding(key)],
                    &[
                        credential.as_str(),
                        &names.binding_index_prefix(),
                        &names.binding_order(),
                    ],
                )
                .await;
        }
        .boxed()
    }

    fn invalidate<'a>(&'a self, key: &'a str) -> BoxFuture<'a, ()> {
        async move {
            self.local.invalidate(key).await;
            let names = self.store.keys();
            let _: Option<i64> = self
                .run(
                    &INVALIDATE,
                    &[&names.binding(key)],
                    &[&names.binding_index_prefix(), &names.binding_order()],
                )
                .await;
        }
        .boxed()
    }

    fn invalidate_credential<'a>(&'a self, credential: &'a CredentialId) -> BoxFuture<'a, ()> {
        async move {
            self.local.invalidate_credential(credential).await;
            let names = self.store.keys();
            let index = format!("{}{credential}", names.binding_index_prefix());
            let _: Option<i64> = self
                .run(
                    &INVALIDATE_CREDENTIAL,
                    &[&index, &names.bound_credentials()],
                    &[credential.as_str(), &names.binding_order()],
                )
                .await;
        }
        .boxed()
    }

    fn stats(&self) -> BoxFuture<'_, BindingStats> {
        async move {
            let names = self.store.keys();
            let counts: Option<Vec<(String, usize)>> = self
                .run(
                    &STATS,
                    &[&names.bound_credentials()],
                    &[&names.binding_index_prefix()],
                )
                .await;
            match counts {
                Some(counts) => {
                    let mut stats = BindingStats::default();
                    for (credential, count) in counts {
                        stats.bindings += count;
                        stats.by_credential.insert(credential, count);
                    }
                    stats
                }
                None => self.local.stats().await,
            }
        }
        .boxed()
    }

    fn stop(&self) {
        self.local.stop();
    }
}
