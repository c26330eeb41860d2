//! Sharing cooldowns: this process's changes go to Redis (a key per cooldown with its TTL, the
//! index, a message on the channel), the other replicas' changes come back as messages (or, after
//! a (re)connection, from the index) and are applied to the local state table.
//!
//! Changes are published by one task, in the order they were made; while the store is degraded
//! they wait (the latest per credential and model) and go out when it is back. Each published
//! change is applied locally again, so this process ends where every replica ends: at the last
//! change in Redis' order.
//!
//! Messages are signed ([`super::signing`]); what comes back is checked before it is read, and
//! the resynchronisation walks the index in `ZSCAN` batches, so it never runs one long call.

use std::sync::Arc;
use std::sync::LazyLock;
use std::time::{Duration, SystemTime};

use redis::Script;
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, watch};

use super::{RedisStoreError, Shared};
use crate::clock::unix_millis;
use crate::credential::CredentialId;
use crate::credential::shared_cooldown::{CooldownChange, CooldownListener, SharedCooldown};

/// Stores (or clears) one cooldown, trims the index (at most [`TRIM_PER_CALL`] ended members)
/// and publishes the message.
///
/// `KEYS[1]` the cooldown key, `KEYS[2]` the index; `ARGV`: member, signed message, TTL in ms (0:
/// the cooldown was cleared), end (unix ms), channel, now (unix ms), the most members trimmed.
static PUBLISH: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if tonumber(ARGV[3]) > 0 then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])
else
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[2], ARGV[1])
end
local ended = redis.call('ZCOUNT', KEYS[2], '-inf', '(' .. ARGV[6])
if ended > 0 then
  redis.call('ZREMRANGEBYRANK', KEYS[2], 0, math.min(ended, tonumber(ARGV[7])) - 1)
end
return redis.call('PUBLISH', ARGV[5], ARGV[2])
",
    )
});

/// The most ended index members one publication trims.
const TRIM_PER_CALL: usize = 64;

/// How many index members one resynchronisation call reads (`ZSCAN … COUNT`).
const LOAD_BATCH: usize = 100;

/// The furthest in the future a remote cooldown may end: the longest wait switchyard itself sets
/// (an upstream's `Retry-After` is clamped to this, and it exceeds every cooldown of the table).
pub(super) const MAX_REMOTE_COOLDOWN: Duration = crate::proxy::upstream::MAX_RETRY_AFTER;

/// A cooldown change on the wire (channel message and key value alike).
#[derive(Debug, Serialize, Deserialize)]
struct Message {
    /// The publishing store's tag.
    origin: String,
    credential: String,
    model: String,
    /// The cooldown's end (unix ms); absent when a success cleared it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    until_ms: Option<u64>,
    #[serde(default)]
    quota: bool,
    #[serde(default)]
    backoff_level: u32,
}

impl Message {
    fn change(&self) -> CooldownChange {
        CooldownChange {
            credential: CredentialId::new(self.credential.as_str()),
            model: self.model.clone(),
            cooldown: self.until_ms.map(|ms| SharedCooldown {
                until: SystemTime::UNIX_EPOCH + Duration::from_millis(ms),
                quota: self.quota,
                backoff_level: self.backoff_level,
            }),
        }
    }
}

/// The [`CooldownListener`] of a store: queues changes for the publishing task.
#[derive(Debug)]
pub(super) struct Publisher {
    queue: mpsc::UnboundedSender<CooldownChange>,
}

impl Publisher {
    pub(super) fn new(queue: mpsc::UnboundedSender<CooldownChange>) -> Self {
        Publisher { queue }
    }
}

impl CooldownListener for Publisher {
    fn changed(&self, change: CooldownChange) {
        // Fails only once the store has stopped; then nobody shares anything.
        let _ = self.queue.send(change);
    }
}

/// The publishing task: runs until the store stops.
pub(super) async fn publish(
    shared: Arc<Shared>,
    mut queued: mpsc::UnboundedReceiver<CooldownChange>,
    mut stop: watch::Receiver<bool>,
) {
    let mut pending: Vec<CooldownChange> = Vec::new();
    let mut health = shared.health.subscribe();
    loop {
        tokio::select! {
            change = queued.recv() => {
                let Some(change) = change else { return };
                enqueue(&mut pending, change);
                while let Ok(more) = queued.try_recv() {
                    enqueue(&mut pending, more);
                }
            }
            changed = health.changed() => {
                if changed.is_err() {
                    return;
                }
            }
            _ = stop.wait_for(|stopped| *stopped) => return,
        }
        while let Some(change) = pending.first() {
            if shared.health.is_degraded() {
                break;
            }
            match publish_one(&shared, change).await {
                Ok(()) => {
                    let change = pending.remove(0);
                    shared.states.apply(&change);
                }
                Err(error) if error.is_unavailable() => break,
                Err(error) => {
                    tracing::warn!(credential = %change.credential, "cooldown not shared: {error}");
                    pending.remove(0);
                }
            }
        }
    }
}

/// Adds `change`, replacing an older one for the same credential and model.
fn enqueue(pending: &mut Vec<CooldownChange>, change: CooldownChange) {
    pending.retain(|p| p.credential != change.credential || p.model != change.model);
    pending.push(change);
}

async fn publish_one(shared: &Shared, change: &CooldownChange) -> Result<(), RedisStoreError> {
    let now = unix_millis(shared.clock.now());
    let until_ms = change.cooldown.map(|c| unix_millis(c.until));
    let ttl_ms = until_ms.map_or(0, |until| until.saturating_sub(now));
    if until_ms.is_some() && ttl_ms == 0 {
        return Ok(());
    }
    let member = serde_json::to_string(&(change.credential.as_str(), &change.model))
        .expect("strings serialize");
    let message = serde_json::to_string(&Message {
        origin: shared.origin.clone(),
        credential: change.credential.to_string(),
        model: change.model.clone(),
        until_ms,
        quota: change.cooldown.is_some_and(|c| c.quota),
        backoff_level: change.cooldown.map_or(0, |c| c.backoff_level),
    })
    .expect("the message serializes");
    let message = shared.signer.sign(&message);
    let keys = &shared.keys;
    let (key, index, channel) = (
        keys.cooldown(&member),
        keys.cooldown_index(),
        keys.cooldown_channel(),
    );
    shared
        .call(|mut connection| async move {
            let mut invocation = PUBLISH.prepare_invoke();
            invocation
                .key(&key)
                .key(&index)
                .arg(&member)
                .arg(&message)
                .arg(ttl_ms)
                .arg(until_ms.unwrap_or(0))
                .arg(&channel)
                .arg(now)
                .arg(TRIM_PER_CALL);
            invocation.invoke_async::<i64>(&mut connection).await
        })
        .await
        .map(drop)
}

/// Applies the cooldowns in force in Redis (other replicas' ones); returns how many. Used by the
/// supervisor while (re)connecting, on `connection`, each call within `timeout`.
///
/// The index is walked from here in batches (`ZSCAN … COUNT`), so no single Redis call is long
/// however big the index; members whose cooldown ended or whose key is gone are dropped.
pub(super) async fn load(
    shared: &Shared,
    mut connection: redis::aio::ConnectionManager,
    timeout: Duration,
) -> Result<usize, RedisStoreError> {
    let now = unix_millis(shared.clock.now());
    let (index, prefix) = (shared.keys.cooldown_index(), shared.keys.cooldown_prefix());
    let mut applied = 0;
    let mut cursor: u64 = 0;
    loop {
        let (next, flat): (u64, Vec<Vec<u8>>) = within(
            timeout,
            redis::cmd("ZSCAN")
                .arg(&index)
                .arg(cursor)
                .arg("COUNT")
                .arg(LOAD_BATCH)
                .query_async(&mut connection),
        )
        .await?;
        let members: Vec<(Vec<u8>, u64)> = flat
            .chunks_exact(2)
            .map(|pair| {
                let end = std::str::from_utf8(&pair[1])
                    .ok()
                    .and_then(|s| s.parse::<f64>().ok())
                    .unwrap_or(0.0);
                // Scores are unix ms; a float beyond u64 saturates.
                (pair[0].clone(), end.max(0.0) as u64)
            })
            .collect();
        if !members.is_empty() {
            let mut get = redis::cmd("MGET");
            for (member, _) in &members {
                let mut key = prefix.clone().into_bytes();
                key.extend_from_slice(member);
                get.arg(key);
            }
            let messages: Vec<Option<Vec<u8>>> =
                within(timeout, get.query_async(&mut connection)).await?;
            let mut ended = Vec::new();
            for ((member, end), message) in members.iter().zip(messages) {
                match message {
                    Some(message) if *end >= now => {
                        applied += usize::from(receive(shared, &message));
                    }
                    _ => ended.push(member),
                }
            }
            if !ended.is_empty() {
                within(
                    timeout,
                    redis::cmd("ZREM")
                        .arg(&index)
                        .arg(ended)
                        .query_async::<i64>(&mut connection),
                )
                .await?;
            }
        }
        if next == 0 {
            return Ok(applied);
        }
        cursor = next;
    }
}

/// `future` (a Redis call), within `timeout`.
async fn within<T>(
    timeout: Duration,
    future: impl std::future::Future<Output = redis::RedisResult<T>>,
) -> Result<T, RedisStoreError> {
    tokio::time::timeout(timeout, future)
        .await
        .map_err(|_| RedisStoreError::Timeout(timeout))?
        .map_err(RedisStoreError::from)
}

/// Applies one message of another replica; returns whether it was applied. A message whose MAC
/// does not check, or that cannot be read, is ignored and counted; a cooldown ending more than
/// [`MAX_REMOTE_COOLDOWN`] from now is cut to that.
pub(super) fn receive(shared: &Shared, payload: &[u8]) -> bool {
    let Some(body) = shared.signer.verify(payload) else {
        shared.reject(&"bad or missing MAC");
        return false;
    };
    let mut message: Message = match serde_json::from_slice(body) {
        Ok(message) => message,
        Err(error) => {
            shared.reject(&error);
            return false;
        }
    };
    if message.origin == shared.origin {
        return false;
    }
    let latest = unix_millis(shared.clock.now())
        .saturating_add(u64::try_from(MAX_REMOTE_COOLDOWN.as_millis()).unwrap_or(u64::MAX));
    message.until_ms = message.until_ms.map(|until| until.min(latest));
    let change = message.change();
    tracing::debug!(
        credential = %change.credential,
        model = %change.model,
        cleared = change.cooldown.is_none(),
        "cooldown change from another replica"
    );
    shared.states.apply(&change);
    shared.applied.send_modify(|n| *n += 1);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip() {
        let until = SystemTime::UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
        let message = Message {
            origin: "o".into(),
            credential: "claude:apikey:1".into(),
            model: "claude-sonnet-4".into(),
            until_ms: Some(unix_millis(until)),
            quota: true,
            backoff_level: 3,
        };
        let text = serde_json::to_string(&message).unwrap();
        let back: Message = serde_json::from_str(&text).unwrap();
        assert_eq!(
            back.change(),
            CooldownChange {
                credential: CredentialId::new("claude:apikey:1"),
                model: "claude-sonnet-4".into(),
                cooldown: Some(SharedCooldown {
                    until,
                    quota: true,
                    backoff_level: 3
                }),
            }
        );
        let cleared: Message =
            serde_json::from_str(r#"{"origin":"o","credential":"c","model":"m"}"#).unwrap();
        assert_eq!(cleared.change().cooldown, None);
    }

    #[test]
    fn pending_keeps_the_latest_change_per_credential_and_model() {
        let change = |credential: &str, model: &str, cleared: bool| CooldownChange {
            credential: CredentialId::new(credential),
            model: model.into(),
            cooldown: (!cleared).then_some(SharedCooldown {
                until: SystemTime::UNIX_EPOCH,
                quota: false,
                backoff_level: 0,
            }),
        };
        let mut pending = Vec::new();
        enqueue(&mut pending, change("a", "m", false));
        enqueue(&mut pending, change("b", "m", false));
        enqueue(&mut pending, change("a", "m", true));
        enqueue(&mut pending, change("a", "n", false));
        assert_eq!(
            pending,
            [
                change("b", "m", false),
                change("a", "m", true),
                change("a", "n", false)
            ]
        );
    }
}
