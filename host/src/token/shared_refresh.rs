//! Renewing a rotating credential that several replicas share through the Redis store.
//!
//! A refresh token is good for one use, so replicas take turns: the newest set is kept in Redis
//! (sealed, versioned); a replica due for renewal first takes a newer set another replica
//! stored, and only when there is none takes the credential's lock, looks once more, refreshes,
//! writes its file, stores the set under the lock's fence, and releases the lock. While the
//! store is degraded nobody refreshes: the token in hand is used until it expires.

use std::time::{Duration, SystemTime};

use super::cell::{Learned, TokenCell};
use super::env::Env;
use crate::redis_store::RedisStore;
use crate::redis_store::token_sync::{Fence, SharedSet};

/// How often a replica waiting for another's refresh looks again.
const LOCK_POLL: Duration = Duration::from_millis(50);

/// The slack a lock holder gets beyond one token call.
const LOCK_SLACK: Duration = Duration::from_secs(10);

/// One renewal of `cell` through `store` at `now`.
pub(crate) async fn renew(
    cell: &TokenCell,
    env: &Env,
    store: &RedisStore,
    now: SystemTime,
) -> Result<(), String> {
    let degraded = || {
        "not refreshed: the shared Redis store (routing.session-store) is unreachable, and a \
         rotating credential is refreshed only through it (another replica may hold its newest \
         refresh token)"
            .to_owned()
    };
    if store.degraded() {
        return Err(degraded());
    }
    // One token call: its head within the first-byte timeout, its body within the idle one.
    let lock_ttl = env.endpoint.first_byte + env.endpoint.idle + LOCK_SLACK;
    let deadline = tokio::time::Instant::now() + lock_ttl;
    loop {
        let remote = store.token_set(&cell.id).await.map_err(|_| degraded())?;
        if let Some(remote) = remote.filter(|r| newer_and_valid(cell, r, now)) {
            return adopt(cell, env, remote, now).await;
        }
        match store
            .lock_token(&cell.id, lock_ttl)
            .await
            .map_err(|_| degraded())?
        {
            Some(fence) => {
                let result = refresh_locked(cell, env, store, &fence, now).await;
                if let Err(e) = store.unlock_token(&cell.id, &fence).await {
                    tracing::debug!(credential = %cell.id, "refresh lock not released: {e}");
                }
                return result;
            }
            None if tokio::time::Instant::now() >= deadline => {
                return Err("another replica holds the refresh lock and stored no new set".into());
            }
            None => tokio::time::sleep(LOCK_POLL).await,
        }
    }
}

/// Whether `remote` is newer than the cell's set and its access token still valid. A set with
/// the cell's own access token is not newer, whatever its version (the cell may have learned
/// it from a file, and a 401 may just have refused it).
fn newer_and_valid(cell: &TokenCell, remote: &SharedSet, now: SystemTime) -> bool {
    remote.version > cell.shared_version() && remote.set.expires_at > now && !held(cell, remote)
}

/// Whether the cell holds `remote`'s access token now.
fn held(cell: &TokenCell, remote: &SharedSet) -> bool {
    cell.current_set()
        .is_some_and(|current| current.set.access_token == remote.set.access_token)
}

/// Takes another replica's set (and writes this replica's copy of the file when it is older).
async fn adopt(
    cell: &TokenCell,
    env: &Env,
    remote: SharedSet,
    now: SystemTime,
) -> Result<(), String> {
    cell.install(remote.set.clone(), now, Learned::Shared)?;
    cell.set_shared_version(remote.version);
    super::persist::write_back(env, &remote.set).await;
    Ok(())
}

/// The refresh itself, with the lock held.
async fn refresh_locked(
    cell: &TokenCell,
    env: &Env,
    store: &RedisStore,
    fence: &Fence,
    now: SystemTime,
) -> Result<(), String> {
    let remote = store
        .token_set(&cell.id)
        .await
        .map_err(|e| format!("the shared Redis store failed: {e}"))?;
    let mut version = cell.shared_version();
    let mut refresh_token = cell.refresh_token();
    if let Some(remote) = remote
        && (remote.version > version || held(cell, &remote))
    {
        if newer_and_valid(cell, &remote, now) {
            return adopt(cell, env, remote, now).await;
        }
        // The newest set's access token is spent (expired, or refused with this cell's): its
        // refresh token is the one to use, and the next version follows it.
        version = version.max(remote.version);
        refresh_token = remote.set.refresh_token.clone().or(refresh_token);
    }
    let Some(used) = refresh_token else {
        return Err("no refresh token".to_owned());
    };
    let request = cell.source.request(&used, now);
    let mut set = match env.endpoint.fetch(&request, now).await {
        Ok(set) => set,
        Err(e) if e.is_invalid_grant() => {
            return Err(format!(
                "{e}: the refresh token was refused as used or revoked although the replicas \
                 share it through Redis: it was revoked, or a process outside this store (another \
                 prefix or secret, or no Redis) refreshed it"
            ));
        }
        Err(e) => return Err(e.to_string()),
    };
    if set.refresh_token.is_none() {
        set.refresh_token = Some(used);
    }
    // The file first: whoever learns this set from Redis finds it written.
    super::persist::write_back(env, &set).await;
    let stored = store
        .store_token_set(&cell.id, fence, version + 1, &set)
        .await
        .unwrap_or(false);
    cell.install(set, now, Learned::Fetched)?;
    if stored {
        cell.set_shared_version(version + 1);
    } else {
        tracing::warn!(
            credential = %cell.id,
            "a refreshed token set could not be stored in Redis (the lock expired): other replicas will not learn it"
        );
    }
    Ok(())
}
