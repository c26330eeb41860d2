//! The access-provider role: what the generic chain needs to make access-provider instances,
//! the names of its registry, and the factory of native providers.

use std::sync::Arc;

use super::{AccessProvider, WasmProvider};
use crate::chain::{InstanceType, NativeFactory, Role, TypeRegistry};
use crate::config::{InstanceConfig, OnFault, PluginLimits};
use crate::plugin::{InstanceStats, Plugin, PluginError, PluginHost, PluginWorld};

/// The access-provider role: instances answer to [`AccessProvider`], Wasm ones are plugins of the
/// `access-provider` world, and each entry keeps its `on-fault`.
#[derive(Debug)]
pub struct AccessRole;

impl Role for AccessRole {
    const NAME: &'static str = "access provider";
    const WORLD: PluginWorld = PluginWorld::AccessProvider;
    type Native = dyn AccessProvider;
    type Wasm = WasmProvider;
    type State = OnFault;

    async fn instantiate(
        host: &PluginHost,
        plugin: &Plugin,
        config: &InstanceConfig,
        defaults: &PluginLimits,
    ) -> Result<WasmProvider, PluginError> {
        host.instance(plugin, config, defaults)
            .await
            .map(WasmProvider::new)
    }

    fn as_native(wasm: Arc<WasmProvider>) -> Arc<dyn AccessProvider> {
        wasm
    }

    fn stats(instance: &dyn AccessProvider) -> Option<InstanceStats> {
        instance.stats()
    }

    /// A fault of an instance built outside a config denies the request.
    fn state(_instance: &dyn AccessProvider, config: Option<&InstanceConfig>) -> OnFault {
        config.map_or(OnFault::Deny, |config| config.on_fault)
    }
}

/// Access-provider types by name, in registration order (native ones registered here, the
/// access-provider plugins installed in the host found beside them).
pub type ProviderRegistry = TypeRegistry<AccessRole>;

/// An access-provider type: how its configured instances are made.
pub type ProviderType = InstanceType<AccessRole>;

/// Builds configured instances of a native access-provider type. A closure
/// `Fn(&InstanceConfig) -> Result<Arc<dyn AccessProvider>, String>` is one.
pub trait AccessProviderFactory: NativeFactory<AccessRole> {}

impl<F: NativeFactory<AccessRole>> AccessProviderFactory for F {}
