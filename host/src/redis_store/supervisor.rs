//! The store's supervisor: connects, keeps the cooldown subscription, and decides when the store
//! is healthy.
//!
//! Healthy means: subscribed to the cooldown channel, the shared connection answers, and the
//! cooldowns in force have been loaded (after subscribing, so no change falls in between). When
//! the subscription drops or a call fails, the store is degraded; the supervisor tries again
//! every retry interval until it is healthy again.

use std::sync::Arc;

use futures_util::StreamExt;
use redis::aio::PubSubStream;
use tokio::sync::watch;

use super::{RedisStoreError, Shared, cooldown_sync};

/// Runs until the store stops.
pub(super) async fn run(shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    loop {
        let limit = shared.options.connect_timeout;
        let synced = tokio::select! {
            synced = tokio::time::timeout(limit, sync(&shared)) => {
                synced.unwrap_or(Err(RedisStoreError::Timeout(limit)))
            }
            _ = stop.wait_for(|stopped| *stopped) => return,
        };
        match synced {
            Ok(stream) => {
                shared.health.up();
                if !listen(&shared, stream, &mut stop).await {
                    return;
                }
            }
            Err(error) => {
                shared
                    .errors
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                shared.health.down(&error);
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(shared.options.retry_interval) => {}
            _ = stop.wait_for(|stopped| *stopped) => return,
        }
    }
}

/// Subscribes, checks the shared connection, loads the cooldowns in force.
async fn sync(shared: &Shared) -> Result<PubSubStream, RedisStoreError> {
    let mut pubsub = shared.client.get_async_pubsub().await?;
    pubsub.subscribe(shared.keys.cooldown_channel()).await?;
    // A shared connection broken by a restart reconnects after its first failure: try twice.
    if ping(shared).await.is_err() {
        ping(shared).await?;
    }
    let loaded = cooldown_sync::load(
        shared,
        shared.connection.clone(),
        shared.options.call_timeout,
    )
    .await?;
    if loaded > 0 {
        tracing::info!(loaded, "session store: cooldowns of other replicas applied");
    }
    Ok(pubsub.into_on_message())
}

async fn ping(shared: &Shared) -> Result<(), RedisStoreError> {
    let timeout = shared.options.call_timeout;
    let mut connection = shared.connection.clone();
    tokio::time::timeout(
        timeout,
        redis::cmd("PING").query_async::<()>(&mut connection),
    )
    .await
    .map_err(|_| RedisStoreError::Timeout(timeout))?
    .map_err(RedisStoreError::from)
}

/// Applies the channel's messages until the subscription drops or a call degrades the store
/// (returns `true`: sync again) or the store stops (`false`).
async fn listen(
    shared: &Shared,
    mut stream: PubSubStream,
    stop: &mut watch::Receiver<bool>,
) -> bool {
    let mut degraded = shared.health.subscribe();
    loop {
        tokio::select! {
            message = stream.next() => match message {
                Some(message) => {
                    cooldown_sync::receive(shared, message.get_payload_bytes());
                }
                None => {
                    shared.health.down(&"the subscription connection closed");
                    return true;
                }
            },
            degraded = degraded.wait_for(|degraded| *degraded) => return degraded.is_ok(),
            _ = stop.wait_for(|stopped| *stopped) => return false,
        }
    }
}
