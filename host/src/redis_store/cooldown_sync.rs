//! Sharing cooldowns: this process's changes go to Redis (a key per cooldown with its TTL, the
//! index, a message on the channel), the other replicas' changes come back as messages (or, after
//! a (re)connection, from the index) and are applied to the local state table.
//!
//! Changes are published by one task, in the order they were made; while the store is degraded
//! they wait (the latest per credential and model) and go out when it is back. Each published
//! change is applied locally again, so this process ends where every replica ends: at the last
//! change in Redis' order.

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

/// Stores (or clears) one cooldown, trims the index and publishes the message.
///
/// `KEYS[1]` the cooldown key, `KEYS[2]` the index; `ARGV`: member, message, TTL in ms (0: the
/// cooldown was cleared), end (unix ms), channel, now (unix ms).
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
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[6])
return redis.call('PUBLISH', ARGV[5], ARGV[2])
",
    )
});

/// The messages of the cooldowns in force, dropping index members that ended.
///
/// `KEYS[1]` the index; `ARGV`: now (unix ms), the cooldown key prefix.
static LOAD: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1])
local out = {}
for _, member in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local message = redis.call('GET', ARGV[2] .. member)
  if message then
    out[#out + 1] = message
  else
    redis.call('ZREM', KEYS[1], member)
  end
end
return out
",
    )
});

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
                .arg(now);
            invocation.invoke_async::<i64>(&mut connection).await
        })
        .await
        .map(drop)
}

/// Applies the cooldowns in force in Redis (other replicas' ones); returns how many. Used by the
/// supervisor while (re)connecting, on `connection`, within `timeout`.
pub(super) async fn load(
    shared: &Shared,
    mut connection: redis::aio::ConnectionManager,
    timeout: Duration,
) -> Result<usize, RedisStoreError> {
    let now = unix_millis(shared.clock.now());
    let mut invocation = LOAD.prepare_invoke();
    invocation
        .key(shared.keys.cooldown_index())
        .arg(now)
        .arg(shared.keys.cooldown_prefix());
    let messages: Vec<Vec<u8>> =
        tokio::time::timeout(timeout, invocation.invoke_async(&mut connection))
            .await
            .map_err(|_| RedisStoreError::Timeout(timeout))??;
    let mut applied = 0;
    for message in messages {
        applied += usize::from(receive(shared, &message));
    }
    Ok(applied)
}

/// Applies one message of another replica; returns whether it was applied.
pub(super) fn receive(shared: &Shared, payload: &[u8]) -> bool {
    let message: Message = match serde_json::from_slice(payload) {
        Ok(message) => message,
        Err(error) => {
            tracing::warn!("session store: ignoring a cooldown message: {error}");
            return false;
        }
    };
    if message.origin == shared.origin {
        return false;
    }
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
