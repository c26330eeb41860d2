//! Rotating token sets shared between replicas: a lock per credential (`SET NX PX`, fenced by
//! a random token: only its holder may store a set or release it) and the newest set, sealed
//! with AES-256-GCM under a key derived from `routing.session-store-secret` and bound to the
//! credential id and its version, so no replica reads or accepts a set it did not seal.

use std::time::Duration;

use redis::Script;
use switchyard_oauth::{Sealer, TokenSet};

use super::{RedisStore, RedisStoreError};
use crate::credential::CredentialId;

/// The context of the sealing key (its version).
const SEALING_CONTEXT: &str = "switchyard token sets v1";

/// Stores a set only while the caller's fence still holds the lock.
const STORE_IF_HELD: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[2], ARGV[2])
  return 1
end
return 0
";

/// Releases the lock only for its holder.
const RELEASE_IF_HELD: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
";

/// A set from the shared store with its version (1 for the first set stored, +1 per refresh).
#[derive(Debug, Clone)]
pub(crate) struct SharedSet {
    /// Increases with every refresh.
    pub version: u64,
    /// The set.
    pub set: TokenSet,
}

/// A held lock: the random value only its holder knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fence(String);

impl RedisStore {
    fn sealer(&self) -> Sealer {
        Sealer::new(self.shared.target.secret.as_bytes(), SEALING_CONTEXT)
    }

    /// The newest set stored for `id`, if any (one that does not open is treated as none and
    /// counted as rejected).
    pub(crate) async fn token_set(
        &self,
        id: &CredentialId,
    ) -> Result<Option<SharedSet>, RedisStoreError> {
        let key = self.shared.keys.token_set(id.as_str());
        let value: Option<Vec<u8>> = self
            .call(move |mut c| async move { redis::cmd("GET").arg(key).query_async(&mut c).await })
            .await?;
        let Some(value) = value else {
            return Ok(None);
        };
        let opened = value.get(..8).and_then(|version| {
            let version = u64::from_be_bytes(version.try_into().ok()?);
            let plain = self.sealer().open(&value[8..], &aad(id, version))?;
            Some(SharedSet {
                version,
                set: TokenSet::from_json(&plain)?,
            })
        });
        if opened.is_none() {
            self.shared
                .reject(&format_args!("token set of {id} does not open"));
        }
        Ok(opened)
    }

    /// Takes the refresh lock of `id` for `ttl`; `None` when another replica holds it.
    pub(crate) async fn lock_token(
        &self,
        id: &CredentialId,
        ttl: Duration,
    ) -> Result<Option<Fence>, RedisStoreError> {
        let key = self.shared.keys.token_lock(id.as_str());
        let fence = random_fence();
        let value = fence.clone();
        let millis = ttl.as_millis().max(1) as u64;
        let taken: Option<String> = self
            .call(move |mut c| async move {
                redis::cmd("SET")
                    .arg(key)
                    .arg(value)
                    .arg("NX")
                    .arg("PX")
                    .arg(millis)
                    .query_async(&mut c)
                    .await
            })
            .await?;
        Ok(taken.map(|_| Fence(fence)))
    }

    /// Stores `set` as version `version` of `id` while `fence` holds the lock; `false` when the
    /// lock was lost (expired and taken by another replica): nothing is written.
    pub(crate) async fn store_token_set(
        &self,
        id: &CredentialId,
        fence: &Fence,
        version: u64,
        set: &TokenSet,
    ) -> Result<bool, RedisStoreError> {
        let mut value = version.to_be_bytes().to_vec();
        value.extend(self.sealer().seal(&set.to_json(), &aad(id, version)));
        let lock = self.shared.keys.token_lock(id.as_str());
        let key = self.shared.keys.token_set(id.as_str());
        let fence = fence.0.clone();
        let stored: i64 = self
            .call(move |mut c| async move {
                Script::new(STORE_IF_HELD)
                    .key(lock)
                    .key(key)
                    .arg(fence)
                    .arg(value)
                    .invoke_async(&mut c)
                    .await
            })
            .await?;
        Ok(stored == 1)
    }

    /// Releases the lock `fence` holds (nothing when it expired meanwhile).
    pub(crate) async fn unlock_token(
        &self,
        id: &CredentialId,
        fence: &Fence,
    ) -> Result<(), RedisStoreError> {
        let lock = self.shared.keys.token_lock(id.as_str());
        let fence = fence.0.clone();
        let _: i64 = self
            .call(move |mut c| async move {
                Script::new(RELEASE_IF_HELD)
                    .key(lock)
                    .arg(fence)
                    .invoke_async(&mut c)
                    .await
            })
            .await?;
        Ok(())
    }
}

/// What a sealed set is bound to: the credential and the version.
fn aad(id: &CredentialId, version: u64) -> Vec<u8> {
    let mut aad = version.to_be_bytes().to_vec();
    aad.extend_from_slice(id.as_str().as_bytes());
    aad
}

/// 128 random bits, hex.
fn random_fence() -> String {
    use ring::rand::SecureRandom;
    let mut bytes = [0u8; 16];
    ring::rand::SystemRandom::new()
        .fill(&mut bytes)
        .expect("the system random source works");
    hex::encode(bytes)
}
