//! Session bindings in the shared Redis store, so a conversation keeps its credential whichever
//! replica receives the turn.
//!
//! A binding is the key `<prefix>session:<binding key>` holding the credential id, with the
//! binding TTL (`PX`), refreshed on a hit. Each credential has an index of its bindings
//! (`<prefix>bindings:<credential>`, a sorted set scored by expiry), kept in step with the
//! bindings by the scripts below, so dropping a credential's bindings and counting them never
//! scans the keyspace; index members whose binding expired are trimmed lazily and a few at a
//! time (on a new binding and when counting). Dropping a credential's bindings and counting
//! them walk the indexes from here in batches of [`WALK_BATCH`] (`ZSCAN`/`SSCAN`, one short
//! script per batch), so no single Redis call grows with the number of bindings. Every read-modify-write is one Lua script, so two replicas racing on a
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
use super::memory::MemoryCache;
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
-- Drops at most `most` members of `index` (scored by expiry) whose expiry is before `now`: the
-- lowest ranks, so the call stays short however many ended. Returns how many it dropped and
-- how many ended ones are left.
local function trim(index, now, most)
  local ended = redis.call('ZCOUNT', index, '-inf', '(' .. now)
  local n = math.min(ended, most)
  if n > 0 then
    redis.call('ZREMRANGEBYRANK', index, 0, n - 1)
  end
  return n, ended - n
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
pub(crate) const EVICT_PER_CALL: usize = 16;

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
trim(index, score(now), tonumber(ARGV[7]))
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

/// How many index members one call of an index walk handles (`ZSCAN`/`SSCAN … COUNT`, then
/// one short script per batch): no Redis call is long however many bindings there are.
pub(crate) const WALK_BATCH: usize = 32;

/// The most ended index members one `stats` batch trims in total.
const TRIM_PER_STATS_CALL: usize = 100;

/// One batch of `invalidate_credential`: `KEYS` the binding keys (read from the credential's
/// index); `ARGV`: credential, its index, eviction order, credentials set. Deletes the bindings
/// still naming the credential, drops the batch from the index (and the credential from the set
/// once its index is empty); returns how many bindings it deleted.
static INVALIDATE_BATCH: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
local values = redis.call('MGET', unpack(KEYS))
local doomed = {}
for i, key in ipairs(KEYS) do
  if values[i] == ARGV[1] then
    doomed[#doomed + 1] = key
  end
end
if #doomed > 0 then
  redis.call('DEL', unpack(doomed))
  redis.call('ZREM', ARGV[3], unpack(doomed))
end
redis.call('ZREM', ARGV[2], unpack(KEYS))
if redis.call('EXISTS', ARGV[2]) == 0 then
  redis.call('SREM', ARGV[4], ARGV[1])
end
return #doomed
",
    )
});

/// One batch of `stats`: `ARGV[1]` the index prefix, `ARGV[2]` credentials set, `ARGV[3]` the
/// most ended members trimmed in this call, then the credentials (read from the set). Counts
/// each index's live members, trims ended ones (within the budget), drops empty indexes from the
/// set; returns `[credential, count, …]` for the non-empty ones.
static STATS_BATCH: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
local now = score(now_ms())
local budget = tonumber(ARGV[3])
local out = {}
for i = 4, #ARGV do
  local credential = ARGV[i]
  local index = ARGV[1] .. credential
  local dropped, left = trim(index, now, budget)
  budget = budget - dropped
  local count = redis.call('ZCOUNT', index, now, '+inf')
  if count == 0 and left == 0 then
    redis.call('SREM', ARGV[2], credential)
  elseif count > 0 then
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

/// One step of `SCAN`-family `command` over `key` from `cursor`, at most about [`WALK_BATCH`]
/// elements: the next cursor (0: done) and the elements. `None` when Redis was skipped or failed.
async fn scan(
    store: &RedisStore,
    command: &'static str,
    key: &str,
    cursor: u64,
) -> Option<(u64, Vec<String>)> {
    store
        .call(|mut connection| async move {
            redis::cmd(command)
                .arg(key)
                .arg(cursor)
                .arg("COUNT")
                .arg(WALK_BATCH)
                .query_async(&mut connection)
                .await
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

    /// Walks the credential's index in batches (`ZSCAN`), deleting each batch's bindings that
    /// still name it with one short script. A binding made during the walk may survive it.
    fn invalidate_credential<'a>(&'a self, credential: &'a CredentialId) -> BoxFuture<'a, ()> {
        async move {
            self.local.invalidate_credential(credential).await;
            let names = self.store.keys();
            let index = format!("{}{credential}", names.binding_index_prefix());
            let (order, credentials) = (names.binding_order(), names.bound_credentials());
            let mut cursor = 0;
            loop {
                let Some((next, flat)) = scan(&self.store, "ZSCAN", &index, cursor).await else {
                    return;
                };
                // `ZSCAN` answers member, score, member, score, …
                let batch: Vec<&str> = flat.iter().step_by(2).map(String::as_str).collect();
                if !batch.is_empty() {
                    let deleted: Option<i64> = self
                        .run(
                            &INVALIDATE_BATCH,
                            &batch,
                            &[credential.as_str(), &index, &order, &credentials],
                        )
                        .await;
                    if deleted.is_none() {
                        return;
                    }
                }
                if next == 0 {
                    return;
                }
                cursor = next;
            }
        }
        .boxed()
    }

    /// Walks the credentials set in batches (`SSCAN`), counting each batch's live bindings with
    /// one short script (which also trims a bounded number of ended index members).
    fn stats(&self) -> BoxFuture<'_, BindingStats> {
        async move {
            let names = self.store.keys();
            let (set, index_prefix) = (names.bound_credentials(), names.binding_index_prefix());
            let budget = TRIM_PER_STATS_CALL.to_string();
            let mut stats = BindingStats::default();
            let mut cursor = 0;
            loop {
                let Some((next, batch)) = scan(&self.store, "SSCAN", &set, cursor).await else {
                    return self.local.stats().await;
                };
                if !batch.is_empty() {
                    let mut args = vec![index_prefix.as_str(), set.as_str(), budget.as_str()];
                    args.extend(batch.iter().map(String::as_str));
                    let Some(counts) = self
                        .run::<Vec<(String, usize)>>(&STATS_BATCH, &[], &args)
                        .await
                    else {
                        return self.local.stats().await;
                    };
                    // `SSCAN` may return a member twice: the last count wins.
                    stats.by_credential.extend(counts);
                }
                if next == 0 {
                    break;
                }
                cursor = next;
            }
            stats.bindings = stats.by_credential.values().sum();
            stats
        }
        .boxed()
    }

    fn stop(&self) {
        self.local.stop();
    }
}
