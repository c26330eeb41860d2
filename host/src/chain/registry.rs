//! The types of a role by name (the reference SDK's `Register`): native factories and Wasm
//! plugins.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::RwLock;

use super::Role;
use crate::config::InstanceConfig;
use crate::plugin::{Plugin, PluginError, PluginHost};

/// Builds configured instances of a native (Rust) type of the role `R`. A closure
/// `Fn(&InstanceConfig) -> Result<Arc<R::Native>, String>` is one.
pub trait NativeFactory<R: Role>: Send + Sync + 'static {
    /// Builds the instance `config` (its `name`, `settings`...). An error rejects the settings
    /// and is shown to the operator.
    fn build(&self, config: &InstanceConfig) -> Result<Arc<R::Native>, String>;
}

impl<R: Role, F> NativeFactory<R> for F
where
    F: Fn(&InstanceConfig) -> Result<Arc<R::Native>, String> + Send + Sync + 'static,
{
    fn build(&self, config: &InstanceConfig) -> Result<Arc<R::Native>, String> {
        self(config)
    }
}

/// A type of the role `R`: how its configured instances are made.
pub enum InstanceType<R: Role> {
    /// Native Rust code.
    Native(Arc<dyn NativeFactory<R>>),
    /// A loaded plugin of the role's world.
    Wasm(Plugin),
}

impl<R: Role> Clone for InstanceType<R> {
    fn clone(&self) -> Self {
        match self {
            InstanceType::Native(factory) => InstanceType::Native(factory.clone()),
            InstanceType::Wasm(plugin) => InstanceType::Wasm(plugin.clone()),
        }
    }
}

impl<R: Role> std::fmt::Debug for InstanceType<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InstanceType::Native(_) => f.write_str("Native"),
            InstanceType::Wasm(plugin) => f.debug_tuple("Wasm").field(plugin).finish(),
        }
    }
}

/// The types of the role `R` by name, in registration order.
///
/// Types registered here take precedence over the plugins of the role's world installed in the
/// [`PluginHost`] (embedded and plugins-folder ones), which are found when no registered type
/// has the name. Shared and changed through `&self`; a change takes effect at the next
/// [`super::InstanceChain::prepare`].
pub struct TypeRegistry<R: Role> {
    inner: RwLock<Inner<R>>,
}

struct Inner<R: Role> {
    order: Vec<String>,
    types: HashMap<String, InstanceType<R>>,
    exclusive: Option<String>,
}

impl<R: Role> Default for TypeRegistry<R> {
    fn default() -> Self {
        TypeRegistry {
            inner: RwLock::new(Inner {
                order: Vec::new(),
                types: HashMap::new(),
                exclusive: None,
            }),
        }
    }
}

impl<R: Role> std::fmt::Debug for TypeRegistry<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let inner = self.inner.read();
        f.debug_struct("TypeRegistry")
            .field("role", &R::NAME)
            .field("order", &inner.order)
            .field("exclusive", &inner.exclusive)
            .finish()
    }
}

impl<R: Role> TypeRegistry<R> {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `instance_type` under `name` (trimmed; an empty name is ignored). The first
    /// registration of a name fixes its position; registering it again replaces the type and
    /// keeps the position.
    pub fn register(&self, name: &str, instance_type: InstanceType<R>) {
        let name = name.trim();
        if name.is_empty() {
            return;
        }
        let mut inner = self.inner.write();
        if inner.types.insert(name.to_owned(), instance_type).is_none() {
            inner.order.push(name.to_owned());
        }
    }

    /// Registers a native type.
    pub fn register_native(&self, name: &str, factory: impl NativeFactory<R>) {
        self.register(name, InstanceType::Native(Arc::new(factory)));
    }

    /// Registers a plugin of the role's world under the name it declares.
    pub fn register_plugin(&self, plugin: Plugin) -> Result<(), PluginError> {
        if plugin.world() != R::WORLD {
            return Err(PluginError::WrongWorld {
                expected: R::WORLD,
                actual: plugin.world(),
            });
        }
        let name = plugin.name().to_owned();
        self.register(&name, InstanceType::Wasm(plugin));
        Ok(())
    }

    /// Removes the type `name` and its position; returns it.
    pub fn unregister(&self, name: &str) -> Option<InstanceType<R>> {
        let name = name.trim();
        let mut inner = self.inner.write();
        inner.order.retain(|n| n != name);
        inner.types.remove(name)
    }

    /// While `name` is set here and resolvable, chains keep only instances of that type
    /// (as CLIProxyAPI's exclusive provider).
    pub fn set_exclusive(&self, name: &str) {
        self.inner.write().exclusive = Some(name.trim().to_owned());
    }

    /// Clears the exclusive type.
    pub fn clear_exclusive(&self) {
        self.inner.write().exclusive = None;
    }

    /// The registered type `name`.
    pub fn get(&self, name: &str) -> Option<InstanceType<R>> {
        self.inner.read().types.get(name.trim()).cloned()
    }

    /// The registered types in registration order; only the exclusive one while it is set
    /// and registered.
    pub fn registered(&self) -> Vec<(String, InstanceType<R>)> {
        let inner = self.inner.read();
        if let Some(exclusive) = &inner.exclusive
            && let Some(instance_type) = inner.types.get(exclusive)
        {
            return vec![(exclusive.clone(), instance_type.clone())];
        }
        inner
            .order
            .iter()
            .map(|name| (name.clone(), inner.types[name].clone()))
            .collect()
    }

    /// The type `name`: registered here, else a plugin of the role's world installed in
    /// `host`.
    pub fn resolve(&self, name: &str, host: &PluginHost) -> Option<InstanceType<R>> {
        self.get(name).or_else(|| {
            host.plugin(name)
                .filter(|p| p.world() == R::WORLD)
                .map(InstanceType::Wasm)
        })
    }

    /// The exclusive type, when one is set and resolvable.
    pub fn exclusive(&self, host: &PluginHost) -> Option<String> {
        let exclusive = self.inner.read().exclusive.clone()?;
        self.resolve(&exclusive, host).map(|_| exclusive)
    }

    /// Every resolvable type name: registered ones in order, then the host's plugins of the
    /// role's world.
    pub fn known(&self, host: &PluginHost) -> Vec<String> {
        let mut names = self.inner.read().order.clone();
        for plugin in host.plugins() {
            if plugin.world() == R::WORLD && !names.iter().any(|n| n == plugin.name()) {
                names.push(plugin.name().to_owned());
            }
        }
        names
    }
}
