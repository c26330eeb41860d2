//! What a plugin role supplies to the generic chain: its name, its WIT world, the trait its
//! configured instances answer to, and how a Wasm instance of it is made.

use std::future::Future;
use std::sync::Arc;

use crate::config::{InstanceConfig, PluginLimits};
use crate::plugin::{InstanceStats, Plugin, PluginError, PluginHost, PluginWorld};

/// A plugin role: access providers, session extractors, or the next WIT world.
///
/// Implementing this is all a role needs to get a type registry ([`super::TypeRegistry`]), a
/// chain prepared from instance configs with unchanged instances reused
/// ([`super::InstanceChain::prepare`]), one preparation error ([`super::PrepareError`]) and its
/// Wasm instances in the plugin status. The per-request policy (how the chain's instances are
/// asked, in which order, what a fault does) is the role's own: inherent methods on
/// `InstanceChain<Self>` in the role's module.
pub trait Role: Sized + Send + Sync + 'static {
    /// What the role is called in messages (`"access provider"`).
    const NAME: &'static str;

    /// The WIT world whose plugins are this role's Wasm types.
    const WORLD: PluginWorld;

    /// What a configured instance is to the chain, native or Wasm: the role's trait object
    /// (`dyn AccessProvider`, `dyn SessionExtractor`).
    type Native: ?Sized + Send + Sync + 'static;

    /// A configured Wasm instance of the role, which the role's policy may call directly
    /// (without boxing a future).
    type Wasm: Send + Sync + 'static;

    /// What the role keeps per entry beside the instance (the access role's `on-fault`, the
    /// extractor role's body need and skip counter); an unchanged entry reused by the next
    /// chain keeps it.
    type State: Clone + Send + Sync + 'static;

    /// Creates a configured instance of `plugin` (a plugin of [`Role::WORLD`]) from `config`;
    /// `defaults` are the limits when the instance has none of its own.
    fn instantiate(
        host: &PluginHost,
        plugin: &Plugin,
        config: &InstanceConfig,
        defaults: &PluginLimits,
    ) -> impl Future<Output = Result<Self::Wasm, PluginError>> + Send;

    /// The Wasm instance as the role's trait object.
    fn as_native(wasm: Arc<Self::Wasm>) -> Arc<Self::Native>;

    /// The instance's call and fault counters, when it keeps them (Wasm instances do).
    fn stats(instance: &Self::Native) -> Option<InstanceStats>;

    /// The state of a new entry for `instance`, made from `config` (`None`: an instance built
    /// outside a config, by an embedding program or a test).
    fn state(instance: &Self::Native, config: Option<&InstanceConfig>) -> Self::State;
}
