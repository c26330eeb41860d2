//! The registry of access-provider types (reference §2.2): the SDK's `Register`.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::RwLock;

use super::Provider;
use crate::config::PluginInstanceConfig;
use crate::plugin::{Plugin, PluginError, PluginHost, PluginWorld};

/// Builds configured instances of a native (Rust) provider type.
pub trait NativeFactory: Send + Sync + 'static {
    /// Builds the instance `config` (its `name`, `settings`...). An error rejects the settings
    /// and is shown to the operator.
    fn build(&self, config: &PluginInstanceConfig) -> Result<Arc<dyn Provider>, String>;
}

impl<F> NativeFactory for F
where
    F: Fn(&PluginInstanceConfig) -> Result<Arc<dyn Provider>, String> + Send + Sync + 'static,
{
    fn build(&self, config: &PluginInstanceConfig) -> Result<Arc<dyn Provider>, String> {
        self(config)
    }
}

/// A provider type: how its configured instances are made.
#[derive(Clone)]
pub enum ProviderType {
    /// Native Rust code.
    Native(Arc<dyn NativeFactory>),
    /// A loaded access-provider plugin.
    Wasm(Plugin),
}

impl std::fmt::Debug for ProviderType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProviderType::Native(_) => f.write_str("Native"),
            ProviderType::Wasm(plugin) => f.debug_tuple("Wasm").field(plugin).finish(),
        }
    }
}

/// Provider types by name, in registration order.
///
/// Types registered here take precedence over the plugins installed in the [`PluginHost`]
/// (embedded and plugins-folder ones), which are found when no registered type has the name.
/// Shared and changed through `&self`; a change takes effect at the next
/// [`super::AccessChain::prepare`].
#[derive(Debug, Default)]
pub struct ProviderRegistry {
    inner: RwLock<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    order: Vec<String>,
    types: HashMap<String, ProviderType>,
    exclusive: Option<String>,
}

impl ProviderRegistry {
    /// An empty registry.
    pub fn new() -> ProviderRegistry {
        ProviderRegistry::default()
    }

    /// Registers `provider` under `name` (trimmed; an empty name is ignored). The first
    /// registration of a name fixes its position; registering it again replaces the type
    /// and keeps the position.
    pub fn register(&self, name: &str, provider: ProviderType) {
        let name = name.trim();
        if name.is_empty() {
            return;
        }
        let mut inner = self.inner.write();
        if inner.types.insert(name.to_owned(), provider).is_none() {
            inner.order.push(name.to_owned());
        }
    }

    /// Registers a native provider type.
    pub fn register_native(&self, name: &str, factory: impl NativeFactory) {
        self.register(name, ProviderType::Native(Arc::new(factory)));
    }

    /// Registers an access-provider plugin under the name it declares.
    pub fn register_plugin(&self, plugin: Plugin) -> Result<(), PluginError> {
        if plugin.world() != PluginWorld::AccessProvider {
            return Err(PluginError::WrongWorld {
                expected: PluginWorld::AccessProvider,
                actual: plugin.world(),
            });
        }
        let name = plugin.name().to_owned();
        self.register(&name, ProviderType::Wasm(plugin));
        Ok(())
    }

    /// Removes the type `name` and its position; returns it.
    pub fn unregister(&self, name: &str) -> Option<ProviderType> {
        let name = name.trim();
        let mut inner = self.inner.write();
        inner.order.retain(|n| n != name);
        inner.types.remove(name)
    }

    /// While `name` is set here and resolvable, chains keep only instances of that type
    /// (reference [HEAD] `set_exclusive_provider`).
    pub fn set_exclusive(&self, name: &str) {
        self.inner.write().exclusive = Some(name.trim().to_owned());
    }

    /// Clears the exclusive type.
    pub fn clear_exclusive(&self) {
        self.inner.write().exclusive = None;
    }

    /// The registered type `name`.
    pub fn get(&self, name: &str) -> Option<ProviderType> {
        self.inner.read().types.get(name.trim()).cloned()
    }

    /// The registered types in registration order; only the exclusive one while it is set
    /// and registered.
    pub fn registered(&self) -> Vec<(String, ProviderType)> {
        let inner = self.inner.read();
        if let Some(exclusive) = &inner.exclusive
            && let Some(provider) = inner.types.get(exclusive)
        {
            return vec![(exclusive.clone(), provider.clone())];
        }
        inner
            .order
            .iter()
            .map(|name| (name.clone(), inner.types[name].clone()))
            .collect()
    }

    /// The type `name`: registered here, else an access-provider plugin installed in `host`.
    pub fn resolve(&self, name: &str, host: &PluginHost) -> Option<ProviderType> {
        self.get(name).or_else(|| {
            host.plugin(name)
                .filter(|p| p.world() == PluginWorld::AccessProvider)
                .map(ProviderType::Wasm)
        })
    }

    /// The exclusive type, when one is set and resolvable.
    pub fn exclusive(&self, host: &PluginHost) -> Option<String> {
        let exclusive = self.inner.read().exclusive.clone()?;
        self.resolve(&exclusive, host).map(|_| exclusive)
    }

    /// Every resolvable type name: registered ones in order, then the host's access plugins.
    pub fn known(&self, host: &PluginHost) -> Vec<String> {
        let mut names = self.inner.read().order.clone();
        for plugin in host.plugins() {
            if plugin.world() == PluginWorld::AccessProvider
                && !names.iter().any(|n| n == plugin.name())
            {
                names.push(plugin.name().to_owned());
            }
        }
        names
    }
}
