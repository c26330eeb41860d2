//! The session-extractor role: what the generic chain needs to make extractor instances, what
//! each entry keeps, the names of its registry, and the factory of native extractors.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use super::{SessionExtractor, WasmExtractor};
use crate::chain::{NativeFactory, Role, TypeRegistry};
use crate::config::{InstanceConfig, PluginLimits};
use crate::plugin::{InstanceStats, Plugin, PluginError, PluginHost, PluginWorld};

/// The session-extractor role: instances answer to [`SessionExtractor`], Wasm ones are plugins of the
/// `session-extractor` world, and each entry keeps an [`ExtractorState`].
#[derive(Debug)]
pub struct ExtractorRole;

impl Role for ExtractorRole {
    const NAME: &'static str = "session extractor";
    const WORLD: PluginWorld = PluginWorld::SessionExtractor;
    type Native = dyn SessionExtractor;
    type Wasm = WasmExtractor;
    type State = ExtractorState;

    async fn instantiate(
        host: &PluginHost,
        plugin: &Plugin,
        config: &InstanceConfig,
        defaults: &PluginLimits,
    ) -> Result<WasmExtractor, PluginError> {
        host.instance(plugin, config, defaults)
            .await
            .map(WasmExtractor::new)
    }

    fn as_native(wasm: Arc<WasmExtractor>) -> Arc<dyn SessionExtractor> {
        wasm
    }

    fn stats(instance: &dyn SessionExtractor) -> Option<InstanceStats> {
        instance.stats()
    }

    fn state(instance: &dyn SessionExtractor, _config: Option<&InstanceConfig>) -> ExtractorState {
        ExtractorState {
            needs_body: instance.needs_body(),
            skipped: Arc::default(),
        }
    }
}

/// What an extractor entry keeps beside its instance (read through the entry:
/// [`crate::chain::Entry::needs_body`], [`crate::chain::Entry::skipped`]).
#[derive(Debug, Clone)]
pub struct ExtractorState {
    /// Whether the extractor is handed the request body.
    pub(super) needs_body: bool,
    /// Calls skipped because the extractor faulted or was quarantined; shared with the chains
    /// that reuse the entry.
    pub(super) skipped: Arc<AtomicU64>,
}

/// Session-extractor types by name, in registration order (native ones registered here, the
/// session-extractor plugins installed in the host found beside them).
pub type ExtractorRegistry = TypeRegistry<ExtractorRole>;

/// Builds configured instances of a native extractor type. A closure
/// `Fn(&InstanceConfig) -> Result<Arc<dyn SessionExtractor>, String>` is one.
pub trait SessionExtractorFactory: NativeFactory<ExtractorRole> {}

impl<F: NativeFactory<ExtractorRole>> SessionExtractorFactory for F {}
