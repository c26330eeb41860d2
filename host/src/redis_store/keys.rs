//! The names of everything the store keeps in Redis, under `routing.session-store-prefix`.
//!
//! | name | type | content |
//! |---|---|---|
//! | `<p>session:<binding key>` | string, `PX` = binding TTL | the bound credential id |
//! | `<p>bindings:<credential>` | sorted set | binding keys bound to the credential, scored by expiry (unix ms) |
//! | `<p>credentials` | set | credentials that have a `bindings:` index |
//! | `<p>cooldown:<member>` | string, `PX` = until the cooldown ends | the cooldown message (signed JSON, [`super::signing`]) |
//! | `<p>cooldowns` | sorted set | cooldown members (`["<credential>","<model>"]`), scored by end (unix ms) |
//! | `<p>cooldown-events` | pub/sub channel | every cooldown change (signed JSON), cleared ones included |
//! | `<p>token-lock:<credential>` | string, `PX` = lock TTL | the refresh lock's fence (random hex) |
//! | `<p>token-set:<credential>` | string | version (8 bytes, big-endian) ‖ the sealed token set ([`super::token_sync`]) |
//!
//! The scripts derive the `bindings:` names from the prefix and a credential id, so the store
//! needs a single Redis (standalone, or behind Sentinel), not Redis Cluster.

/// The key and channel names under one prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyNames {
    prefix: String,
}

impl KeyNames {
    /// Names under `prefix` (such as `switchyard:`).
    pub fn new(prefix: impl Into<String>) -> Self {
        KeyNames {
            prefix: prefix.into(),
        }
    }

    /// The prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The key of a session binding (`provider::session::model`).
    pub fn binding(&self, binding_key: &str) -> String {
        format!("{}session:{binding_key}", self.prefix)
    }

    /// The start of a credential's binding index name; the credential id follows.
    pub fn binding_index_prefix(&self) -> String {
        format!("{}bindings:", self.prefix)
    }

    /// Every binding key, scored by its last set or refresh (unix µs): the oldest are evicted
    /// beyond `routing.session-affinity-max-bindings`.
    pub fn binding_order(&self) -> String {
        format!("{}binding-order", self.prefix)
    }

    /// The set of credentials that have a binding index.
    pub fn bound_credentials(&self) -> String {
        format!("{}credentials", self.prefix)
    }

    /// The key holding one cooldown.
    pub fn cooldown(&self, member: &str) -> String {
        format!("{}cooldown:{member}", self.prefix)
    }

    /// The start of a cooldown key; the member follows.
    pub fn cooldown_prefix(&self) -> String {
        format!("{}cooldown:", self.prefix)
    }

    /// The index of the cooldowns in force.
    pub fn cooldown_index(&self) -> String {
        format!("{}cooldowns", self.prefix)
    }

    /// The refresh lock of a rotating credential.
    pub fn token_lock(&self, credential: &str) -> String {
        format!("{}token-lock:{credential}", self.prefix)
    }

    /// The newest token set of a rotating credential.
    pub fn token_set(&self, credential: &str) -> String {
        format!("{}token-set:{credential}", self.prefix)
    }

    /// The channel cooldown changes are published on.
    pub fn cooldown_channel(&self) -> String {
        format!("{}cooldown-events", self.prefix)
    }
}
