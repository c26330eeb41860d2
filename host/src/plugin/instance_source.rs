//! What a configured plugin instance (an access provider or a session extractor) was made
//! from, so that the next generation's chain reuses an instance whose type, settings and
//! limits did not change, with its live instances, counters and quarantine.

use std::sync::Arc;

use super::Plugin;
use crate::config::{InstanceConfig, PluginLimits};

/// The identity of a chain entry: its instance config, the default limits it was built under,
/// and its type — a native factory (by pointer) or a Wasm component (by content hash).
/// `F` is the factory trait object of the chain's kind.
pub(crate) struct InstanceSource<F: ?Sized> {
    config: InstanceConfig,
    defaults: PluginLimits,
    origin: TypeOrigin<F>,
}

enum TypeOrigin<F: ?Sized> {
    Native(Arc<F>),
    Wasm([u8; 32]),
}

impl<F: ?Sized> InstanceSource<F> {
    /// An instance of a native type made by `factory`.
    pub(crate) fn native(
        config: &InstanceConfig,
        defaults: &PluginLimits,
        factory: &Arc<F>,
    ) -> Self {
        Self::new(config, defaults, TypeOrigin::Native(factory.clone()))
    }

    /// An instance of the Wasm component `plugin`.
    pub(crate) fn wasm(config: &InstanceConfig, defaults: &PluginLimits, plugin: &Plugin) -> Self {
        Self::new(config, defaults, TypeOrigin::Wasm(plugin.content_hash()))
    }

    fn new(config: &InstanceConfig, defaults: &PluginLimits, origin: TypeOrigin<F>) -> Self {
        InstanceSource {
            config: config.clone(),
            defaults: *defaults,
            origin,
        }
    }

    /// The first of `entries` made from this same source (`source_of` reads an entry's).
    pub(crate) fn find_in<'a, E>(
        &self,
        entries: &'a [E],
        source_of: impl Fn(&E) -> Option<&InstanceSource<F>>,
    ) -> Option<&'a E> {
        entries.iter().find(|e| source_of(e) == Some(self))
    }
}

impl<F: ?Sized> Clone for InstanceSource<F> {
    fn clone(&self) -> Self {
        InstanceSource {
            config: self.config.clone(),
            defaults: self.defaults,
            origin: match &self.origin {
                TypeOrigin::Native(factory) => TypeOrigin::Native(factory.clone()),
                TypeOrigin::Wasm(hash) => TypeOrigin::Wasm(*hash),
            },
        }
    }
}

impl<F: ?Sized> PartialEq for InstanceSource<F> {
    fn eq(&self, other: &Self) -> bool {
        let same_type = match (&self.origin, &other.origin) {
            (TypeOrigin::Native(a), TypeOrigin::Native(b)) => Arc::ptr_eq(a, b),
            (TypeOrigin::Wasm(a), TypeOrigin::Wasm(b)) => a == b,
            _ => false,
        };
        same_type && self.config == other.config && self.defaults == other.defaults
    }
}
