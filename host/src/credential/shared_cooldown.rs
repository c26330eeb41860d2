//! Cooldown changes as replicas share them: what one process learned about a credential (a
//! cooldown on a model, or a success that ended it), handed to a [`CooldownListener`] (the Redis
//! store publishes it) and applied by the other replicas with
//! [`StateTable::apply`](super::state::StateTable::apply).
//!
//! A process without a shared store has no listener, and the cooldown path does nothing more
//! than it always did.

use std::fmt::Debug;
use std::time::SystemTime;

use super::CredentialId;

/// One credential's cooldown on one model changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CooldownChange {
    /// The credential (ids are equal on every replica for the same config).
    pub credential: CredentialId,
    /// The upstream model the cooldown is for.
    pub model: String,
    /// The new cooldown; `None` when a success cleared it (and its backoff level).
    pub cooldown: Option<SharedCooldown>,
}

/// A cooldown as shared between replicas.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SharedCooldown {
    /// When the model becomes available again (wall time, as every replica's clock reads it).
    pub until: SystemTime,
    /// A quota (429) cooldown.
    pub quota: bool,
    /// The 429 backoff level that produced it.
    pub backoff_level: u32,
}

/// Receives the cooldown changes this process makes, to share them.
///
/// Called on the request path while the credential's state is locked (so one credential's
/// changes arrive in the order they were made): implementations must not block nor touch the
/// state table; they queue the change and return.
pub trait CooldownListener: Send + Sync + Debug {
    /// This process recorded `change`.
    fn changed(&self, change: CooldownChange);
}
