//! The registry of session-extractor types: native factories and Wasm plugins by name.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::RwLock;

use super::extractor::Extractor;
use crate::config::PluginInstanceConfig;
use crate::plugin::{Plugin, PluginError, PluginHost, PluginWorld};

/// Builds configured instances of a native (Rust) extractor type.
pub trait ExtractorFactory: Send + Sync + 'static {
    /// Builds the instance `config` (its `name`, `settings`...). An error rejects the settings
    /// and is shown to the operator.
    fn build(&self, config: &PluginInstanceConfig) -> Result<Arc<dyn Extractor>, String>;
}

impl<F> ExtractorFactory for F
where
    F: Fn(&PluginInstanceConfig) -> Result<Arc<dyn Extractor>, String> + Send + Sync + 'static,
{
    fn build(&self, config: &PluginInstanceConfig) -> Result<Arc<dyn Extractor>, String> {
        self(config)
    }
}

/// An extractor type: how its configured instances are made.
#[derive(Clone)]
pub enum ExtractorType {
    /// Native Rust code.
    Native(Arc<dyn ExtractorFactory>),
    /// A loaded session-extractor plugin.
    Wasm(Plugin),
}

impl std::fmt::Debug for ExtractorType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExtractorType::Native(_) => f.write_str("Native"),
            ExtractorType::Wasm(plugin) => f.debug_tuple("Wasm").field(plugin).finish(),
        }
    }
}

/// Extractor types by name, in registration order.
///
/// Types registered here take precedence over the session-extractor plugins installed in the
/// [`PluginHost`] (embedded and plugins-folder ones), which are found when no registered type
/// has the name. Shared and changed through `&self`; a change takes effect at the next
/// [`super::ExtractorChain::prepare`].
#[derive(Debug, Default)]
pub struct ExtractorRegistry {
    inner: RwLock<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    order: Vec<String>,
    types: HashMap<String, ExtractorType>,
}

impl ExtractorRegistry {
    /// An empty registry.
    pub fn new() -> ExtractorRegistry {
        ExtractorRegistry::default()
    }

    /// Registers `extractor` under `name` (trimmed; an empty name is ignored). The first
    /// registration of a name fixes its position; registering it again replaces the type and
    /// keeps the position.
    pub fn register(&self, name: &str, extractor: ExtractorType) {
        let name = name.trim();
        if name.is_empty() {
            return;
        }
        let mut inner = self.inner.write();
        if inner.types.insert(name.to_owned(), extractor).is_none() {
            inner.order.push(name.to_owned());
        }
    }

    /// Registers a native extractor type.
    pub fn register_native(&self, name: &str, factory: impl ExtractorFactory) {
        self.register(name, ExtractorType::Native(Arc::new(factory)));
    }

    /// Registers a session-extractor plugin under the name it declares.
    pub fn register_plugin(&self, plugin: Plugin) -> Result<(), PluginError> {
        if plugin.world() != PluginWorld::SessionExtractor {
            return Err(PluginError::WrongWorld {
                expected: PluginWorld::SessionExtractor,
                actual: plugin.world(),
            });
        }
        let name = plugin.name().to_owned();
        self.register(&name, ExtractorType::Wasm(plugin));
        Ok(())
    }

    /// Removes the type `name` and its position; returns it.
    pub fn unregister(&self, name: &str) -> Option<ExtractorType> {
        let name = name.trim();
        let mut inner = self.inner.write();
        inner.order.retain(|n| n != name);
        inner.types.remove(name)
    }

    /// The registered type `name`.
    pub fn get(&self, name: &str) -> Option<ExtractorType> {
        self.inner.read().types.get(name.trim()).cloned()
    }

    /// The registered types in registration order.
    pub fn registered(&self) -> Vec<(String, ExtractorType)> {
        let inner = self.inner.read();
        inner
            .order
            .iter()
            .map(|name| (name.clone(), inner.types[name].clone()))
            .collect()
    }

    /// The type `name`: registered here, else a session-extractor plugin installed in `host`.
    pub fn resolve(&self, name: &str, host: &PluginHost) -> Option<ExtractorType> {
        self.get(name).or_else(|| {
            host.plugin(name)
                .filter(|p| p.world() == PluginWorld::SessionExtractor)
                .map(ExtractorType::Wasm)
        })
    }

    /// Every resolvable type name: registered ones in order, then the host's extractor
    /// plugins.
    pub fn known(&self, host: &PluginHost) -> Vec<String> {
        let mut names = self.inner.read().order.clone();
        for plugin in host.plugins() {
            if plugin.world() == PluginWorld::SessionExtractor
                && !names.iter().any(|n| n == plugin.name())
            {
                names.push(plugin.name().to_owned());
            }
        }
        names
    }
}
