//! The plugins a generation resolves instance types in: an immutable snapshot by type name.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::{Plugin, PluginOrigin};

/// Plugins by the type name they declare: what one generation's chains were built from.
///
/// Immutable and cheap to clone. A reload stages the next catalog (embedded plugins, then the
/// plugins folder over them), prepares the next generation against it, and only when that
/// succeeded is the catalog installed together with the generation; a failed reload leaves the
/// serving catalog untouched.
#[derive(Clone, Default)]
pub struct PluginCatalog {
    plugins: Arc<BTreeMap<String, Plugin>>,
}

impl PluginCatalog {
    /// A catalog of `plugins`; of two with the same name, the later one wins.
    pub fn new(plugins: impl IntoIterator<Item = Plugin>) -> PluginCatalog {
        PluginCatalog {
            plugins: Arc::new(
                plugins
                    .into_iter()
                    .map(|p| (p.name().to_owned(), p))
                    .collect(),
            ),
        }
    }

    /// The plugin of type `name`.
    pub fn get(&self, name: &str) -> Option<&Plugin> {
        self.plugins.get(name)
    }

    /// Every plugin, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = &Plugin> {
        self.plugins.values()
    }

    /// How many plugins there are.
    pub fn len(&self) -> usize {
        self.plugins.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.plugins.is_empty()
    }

    /// Whether both hold the same names for the same component content from the same origin
    /// (then a generation built from one would be built identically from the other).
    pub fn same_as(&self, other: &PluginCatalog) -> bool {
        Arc::ptr_eq(&self.plugins, &other.plugins)
            || (self.plugins.len() == other.plugins.len()
                && self.plugins.iter().zip(other.plugins.iter()).all(
                    |((name_a, a), (name_b, b))| {
                        name_a == name_b
                            && a.content_hash() == b.content_hash()
                            && a.origin() == b.origin()
                    },
                ))
    }

    /// This catalog with `plugin` as its type, following [`super::PluginHost::install`]'s
    /// precedence (an embedded plugin does not replace a file's). `None` when it does not.
    pub(crate) fn with(&self, plugin: Plugin) -> Option<PluginCatalog> {
        if let Some(existing) = self.plugins.get(plugin.name())
            && plugin.origin() == &PluginOrigin::Embedded
            && matches!(existing.origin(), PluginOrigin::File(_))
        {
            return None;
        }
        let mut plugins = (*self.plugins).clone();
        plugins.insert(plugin.name().to_owned(), plugin);
        Some(PluginCatalog {
            plugins: Arc::new(plugins),
        })
    }

    /// This catalog without the type `name`, and the plugin removed.
    pub(crate) fn without(&self, name: &str) -> (PluginCatalog, Option<Plugin>) {
        if !self.plugins.contains_key(name) {
            return (self.clone(), None);
        }
        let mut plugins = (*self.plugins).clone();
        let removed = plugins.remove(name);
        (
            PluginCatalog {
                plugins: Arc::new(plugins),
            },
            removed,
        )
    }
}

impl std::fmt::Debug for PluginCatalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.plugins.values()).finish()
    }
}
